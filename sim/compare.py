"""Compare scenarios over the same seeds (common random numbers): KPI means, 95% intervals, paired differences.

A platform's finance share is compared only when every scenario has that platform: a scenario without it
has no such share (not 0, which would read as "no finance revenue"). Shares left out are named under the
printed table and in manifest.json (`left_out`).

A ratio undefined in a run (None in its summary: e.g. `recovery_rate` with nothing written off) is an empty
cell in runs.csv, never a 0: means and intervals are over the seeds that define it, paired differences over
the seeds where both scenarios do, and the count left out is in comparison.csv (`undefined`, `note`), in
manifest.json (`undefined`) and under the printed table.

A star marks a paired difference whose 95% interval excludes 0, each KPI and scenario tested on its own (no
correction for multiplicity): with 16 KPIs and nothing real, at least one star appears about half the time, so
the footnote under a starred table says how many differences were tested and how many stars chance alone gives.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.results import (
    KPI_LABELS,
    NOT_AVAILABLE,
    UNDEFINED_WHEN,
    atomic_folder,
    provenance,
    run_notes,
    scenario_hash,
    summarize,
    undefined_reason,
)
from sim.scenario import Scenario
from sim.scenario_files import Resolved

# two-sided 95% Student t quantiles by degrees of freedom (1..30); scipy beyond (imported only then: it is slow)
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
KPIS = tuple(KPI_LABELS)
SHARES_OF_A_WHOLE = ("bnpl_uptake", "dpd90p_share_end", "reachable_share_6m", "reachable_share_12m")


def t95(n: int) -> float:
    """The two-sided 95% Student t quantile for the mean of `n` values (n - 1 degrees of freedom)."""
    if n < 2:
        return math.nan
    if n <= 31:
        return T95[n - 2]
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1))


def interval(values: np.ndarray, within: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float, float]:
    """Mean and 95% interval of the mean (the interval collapses to the mean for one value; NaN for none:
    callers leave undefined values out first and say so).

    `within`: the values' possible range (a share lies in [0, 1]). The interval is cut to it: the mean lies in
    it too, so the cut interval covers the mean exactly as often, while few seeds can stretch a t-interval
    far past it (a share's at 2 seeds read [-8.5%, 118.5%])."""
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, mean, mean
    half = t95(len(values)) * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    low, high = within
    return mean, max(mean - half, low), min(mean + half, high)


def possible_range(kpi: str) -> tuple[float, float]:
    """Where a KPI's value can lie: every KPI is a count, an amount or a ratio of them, so at least 0; shares of a
    whole at most 1 (not the charge-off or recovery rate: a window's write-offs or recoveries can come from loans
    lent or written off before it)."""
    return (0.0, 1.0) if kpi in SHARES_OF_A_WHOLE or kpi.startswith("finance_share_") else (0.0, math.inf)


def difference_range(kpi: str) -> tuple[float, float]:
    """Where a paired difference of a KPI can lie: two shares differ by at most 1 either way."""
    low, high = possible_range(kpi)
    return low - high, high - low


def shared_platforms(resolved: list[Resolved]) -> tuple[list[str], dict[str, list[str]]]:
    """Platforms every scenario has (in the first one's order), and for each other platform's finance share
    the scenarios without that platform."""
    have = [[p.name for p in r.scenario.platforms] for r in resolved]
    labels = _labels(resolved)
    every = list(dict.fromkeys(n for names in have for n in names))
    shared = [n for n in every if all(n in names for names in have)]
    left_out = {f"finance_share_{n}": [lab for lab, names in zip(labels, have, strict=True) if n not in names]
                for n in every if n not in shared}
    return shared, left_out


def _labels(resolved: list[Resolved]) -> list[str]:
    names = [r.scenario.name for r in resolved]
    return [n if names.count(n) == 1 else f"{n}#{i + 1}" for i, n in enumerate(names)]


def run_all(resolved: list[Resolved], seeds: int, *, quiet: bool) -> tuple[pd.DataFrame, list[str]]:
    """One row per (scenario, seed) with the KPIs (NaN where a ratio is undefined in that run); seed k is the same
    for every scenario. Finance shares only of the platforms every scenario has (see `shared_platforms`). With the
    runs, what `run.py run` notes about them (a licence a platform could not pay for, lenders closed in the
    burn-in): one line per scenario and finding, with the seeds it happened on."""
    from tqdm import tqdm

    from sim import MarketModel

    rows = []
    found: dict[tuple[str, str], list[int]] = {}  # (scenario, note) -> seeds
    labels = _labels(resolved)
    shared, _ = shared_platforms(resolved)
    with tqdm(total=len(resolved) * seeds, desc="runs", disable=quiet, leave=False) as bar:
        for r, name in zip(resolved, labels, strict=True):
            for seed in range(1, seeds + 1):
                s = r.scenario.model_copy(update={"seed": seed, "name": name})
                model = MarketModel(s, rng=seed).run()
                summary = summarize(model)
                for note in run_notes(model):
                    found.setdefault((s.name, note), []).append(seed)
                shares = {f"finance_share_{k}": summary["platform_finance_revenue_share"][k] for k in shared}
                rows.append({"scenario": s.name, "seed": seed, **{k: summary[k] for k in KPIS}, **shares})
                bar.update()
    notes = [f"note: {name}: {note} (seed{'s' if len(on) > 1 else ''} {', '.join(map(str, on))})"
             for (name, note), on in found.items()]
    frame = pd.DataFrame(rows)
    # an undefined ratio (None) becomes NaN explicitly, also in a column that is None in every run (object
    # dtype); counts keep their integer type
    ratios = [c for c in frame if c in UNDEFINED_WHEN or str(c).startswith("finance_share_")]
    frame[ratios] = frame[ratios].astype(float)
    return frame, notes


def kpis_of(frame: pd.DataFrame) -> list[str]:
    """The KPI columns: the summary's, then each platform's finance share of revenue."""
    cols = frame["kpi"].unique() if "kpi" in frame else [c for c in frame if c not in ("scenario", "seed")]
    return [c for c in cols if not (isinstance(c, str) and c in ("scenario", "seed"))]


def label(kpi: str) -> str:
    return KPI_LABELS.get(kpi, kpi.replace("finance_share_", "finance share: "))


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and KPI: mean and 95% interval over the seeds where the KPI is defined (`n`; `undefined`
    seeds left out); per KPI: paired difference from the first scenario over the seeds both define (`n_paired`).
    `note` says what was left out; a KPI undefined for every seed has empty figures and says so."""
    names = list(dict.fromkeys(runs["scenario"]))
    ref = runs[runs["scenario"] == names[0]].set_index("seed")
    rows = []
    for name in names:
        mine = runs[runs["scenario"] == name].set_index("seed")
        for kpi in kpis_of(runs):
            values = mine[kpi].astype(float)
            defined = values[np.isfinite(values)].to_numpy()
            mean, lo, hi = interval(defined, possible_range(kpi))
            paired = (values - ref[kpi].astype(float)).dropna()  # NaN where either run leaves the ratio undefined
            diff = paired.to_numpy(dtype=float)
            d, dlo, dhi = interval(diff, difference_range(kpi))
            rows.append({"scenario": name, "kpi": kpi, "n": len(defined), "undefined": len(values) - len(defined),
                         "mean": mean, "ci_low": lo, "ci_high": hi, "n_paired": len(diff),
                         "diff": d, "diff_low": dlo, "diff_high": dhi,
                         # one seed gives no interval, so no difference can be called significant
                         "significant": bool(name != names[0] and len(diff) > 1 and (dlo > 0 or dhi < 0)),
                         "note": _note(kpi, len(values), len(defined), len(diff), name == names[0])})
    return pd.DataFrame(rows)


def _note(kpi: str, seeds: int, defined: int, paired: int, first: bool) -> str:
    """Why a comparison row leaves seeds out or is empty ('' when every seed counts)."""
    if defined == seeds:
        return "" if first or paired == seeds else (
            f"difference over the {paired} of {seeds} seeds the first scenario defines" if paired else
            "no difference: undefined for every seed of the first scenario")
    why = undefined_reason(kpi)
    if not defined:
        return f"undefined for every seed ({why}): no mean, no difference"
    note = f"undefined for {seeds - defined} of {seeds} seeds ({why}): mean over the other {defined}"
    if first:
        return note
    if not paired:
        return note + "; no difference: no seed where both scenarios define it"
    return note + f"; difference over the {paired} seed{'s' if paired > 1 else ''} both scenarios define"


def _cell(kpi: str, row: pd.Series) -> str:
    if not row["n"]:
        return f"{NOT_AVAILABLE} (every seed)"
    mark = "*" if row["significant"] else " "
    # one value has no spread to go by: its collapsed "interval" would read as certainty
    bounds = "[no interval: 1 seed]" if row["n"] == 1 else f"[{_fmt(kpi, row['ci_low'])}, {_fmt(kpi, row['ci_high'])}]"
    text = f"{_fmt(kpi, row['mean'])} {bounds}{mark}"
    return text + (f" ({row['undefined']} {NOT_AVAILABLE})" if row["undefined"] else "")


def text_table(summary: pd.DataFrame) -> str:
    """KPIs down, scenarios across: mean [95% interval], with * where the difference from the first is real;
    "(k n/a)" where k seeds leave the KPI undefined, explained under the table."""
    names = list(dict.fromkeys(summary["scenario"]))
    cells = {(kpi, name): _cell(kpi, summary[(summary["scenario"] == name) & (summary["kpi"] == kpi)].iloc[0])
             for kpi in kpis_of(summary) for name in names}
    width = max(30, *(len(n) + 2 for n in names), *(len(c) + 2 for c in cells.values()))
    # as wide as the longest label (a platform's finance share is named after it), so the columns stay aligned
    first = max(26, *(len(label(kpi)) + 2 for kpi in kpis_of(summary)))
    lines = [f"{'KPI':<{first}}" + "".join(f"{n:>{width}}" for n in names)]
    for kpi in kpis_of(summary):
        lines.append(f"{label(kpi):<{first}}" + "".join(f"{cells[kpi, name]:>{width}}" for name in names))
    others = summary["scenario"] != names[0]
    if summary["significant"].astype(bool).any():
        lines.append(f"* the paired difference from {names[0]} over the same seeds excludes 0 (95%)")
        lines.append(f"  {multiplicity(summary)}")
    elif len(names) > 1 and not (summary.loc[others, "n_paired"] > 1).any():  # one seed: nothing could be tested
        lines.append(f"no paired difference from {names[0]} tested: it needs at least 2 seeds both scenarios define "
                     "(use --seeds 2 or more)")
    elif len(names) > 1:
        lines.append(f"no paired difference from {names[0]} over the same seeds excludes 0 (95%)")
    return "\n".join([*lines, *undefined_notes(summary)])


def multiplicity(summary: pd.DataFrame) -> str:
    """What a star means when many differences are tested at once: each is a 5% test on its own (no correction),
    so among m differences that are all nothing but noise about m / 20 get a star."""
    tested = int(((summary["scenario"] != summary["scenario"].iloc[0]) & (summary["n_paired"] > 1)).sum())
    return (f"each of the {tested} differences is tested on its own: were none of them real, about {tested / 20:.1f} "
            "would be starred by chance")


def undefined_notes(summary: pd.DataFrame) -> list[str]:
    """One line per KPI that some runs leave undefined: for how many seeds of which scenario, and why."""
    notes = []
    for kpi in kpis_of(summary):
        part = summary[(summary["kpi"] == kpi) & (summary["undefined"] > 0)]
        if len(part):
            where = ", ".join(f"{r['undefined']} of {r['n'] + r['undefined']} seeds of {r['scenario']}"
                              for _, r in part.iterrows())
            notes.append(f"{NOT_AVAILABLE}: {label(kpi)} undefined ({undefined_reason(kpi)}) for {where}; left out "
                         "of means and intervals (empty in runs.csv), differences over seeds both scenarios define")
    return notes


SHARES = tuple(UNDEFINED_WHEN)


def _fmt(kpi: str, v: float) -> str:
    """Shares in percent; money in whole yuan; a mean count with two decimals where it has them ("0.33",
    "57", not "57.00": a count's mean is whole when every seed agrees, and 0.00 read as a rounded share)."""
    if is_share(kpi):
        return f"{100 * v:.2f}%"
    if abs(v) >= 100 or "(RMB" in label(kpi):
        return f"{v:,.0f}"
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def is_share(kpi: str) -> bool:
    return kpi.startswith("finance_share_") or kpi in SHARES


def figure(summary: pd.DataFrame, path: Path) -> None:
    """Write `comparison.png` (`draw`)."""
    fig = draw(summary)  # before pyplot is imported here: `draw` picks the Agg backend first
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)


def draw(summary: pd.DataFrame) -> Any:
    """One small bar chart per KPI: means with 95% intervals, scenarios side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(summary["scenario"]))
    kpis = kpis_of(summary)
    cols = 4
    rows = math.ceil(len(kpis) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), constrained_layout=True)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        part = summary[summary["kpi"] == kpi].set_index("scenario").loc[names]
        scale = 100.0 if is_share(kpi) else 1.0  # shares in percent, as the printed table shows them
        # a scenario where the KPI is undefined for every seed gets no bar but an "n/a" label
        mean = scale * part["mean"].fillna(0.0)
        err = scale * np.vstack([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])  # NaN: no bar
        colors = ["tab:gray", *["tab:red" if s else "tab:blue" for s in part["significant"].iloc[1:]]]
        ax.bar(range(len(names)), mean, yerr=err, capsize=4, color=colors)
        for i, n in enumerate(part["n"]):
            if not n:
                ax.text(i, 0, NOT_AVAILABLE, ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        left_out = int(part["undefined"].sum())
        title = label(kpi) if not left_out else (f"{label(kpi)}\n{left_out} of {left_out + int(part['n'].sum())} "
                                                 f"runs {NOT_AVAILABLE}: {undefined_reason(kpi)}")
        ax.set_title(title, fontsize=10 if not left_out else 8)
        if scale != 1.0:
            ax.set_ylabel("%")
        ax.grid(alpha=0.3, axis="y")
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    seeds = int((summary["n"] + summary["undefined"]).max())
    fig.suptitle(f"Scenario comparison: means and 95% intervals over {seeds} common seeds "
                 "(red: differs from the first)")
    return fig


def undefined_seeds(runs: pd.DataFrame) -> dict[str, dict[str, list[int]]]:
    """KPI -> scenario -> the seeds whose run leaves it undefined (empty cells in runs.csv); only KPIs with any."""
    out: dict[str, dict[str, list[int]]] = {}
    for kpi in kpis_of(runs):
        missing = runs[runs[kpi].isna()]
        if len(missing):
            out[kpi] = {str(k): [int(x) for x in g["seed"]] for k, g in missing.groupby("scenario", sort=False)}
    return out


COMPARE_FILES = frozenset({"runs.csv", "comparison.csv", "manifest.json", "comparison.png"})


@dataclass
class Comparison:
    """Scenarios run over the same seeds: `runs` (one row per scenario and seed: the KPIs, NaN where a run leaves a
    ratio undefined), `table` (per scenario and KPI: mean, 95% interval, paired difference from the first
    scenario; the columns of comparison.csv, docs/outputs.md), `left_out` (finance shares of platforms some
    scenario lacks -> those scenarios), `run_notes` (what `run` notes about a run, with the seeds) and `differences`
    (a note when the scenarios differ in days, burn-in or size, `setup_differences`)."""

    runs: pd.DataFrame
    table: pd.DataFrame
    left_out: dict[str, list[str]]
    run_notes: list[str]
    differences: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """The lines printed under the table."""
        return [*(f"{label(kpi)}: left out (no such platform in {', '.join(lacking)})"
                  for kpi, lacking in self.left_out.items()), *self.differences, *self.run_notes]

    def __str__(self) -> str:
        return "\n".join([text_table(self.table), *self.notes])


# What makes totals and rates of two scenarios not like for like: the recorded window, the loan book's seasoning
# (a short burn-in writes little off in the first recorded months), and the simulated population.
SETUP_KEYS = ("days", "burn_in_days", "consumers.count", "merchants.count")


def setup_differences(resolved: list[Resolved]) -> list[str]:
    """A note naming the setup keys (`SETUP_KEYS`) on which the scenarios differ, with each scenario's value (no
    note when they agree): a difference in the table then also measures that, not only what the scenarios were
    written to contrast."""
    labels = _labels(resolved)
    differ = []
    for key in SETUP_KEYS:
        values = []
        for r in resolved:
            value: Any = r.scenario
            for part in key.split("."):
                value = getattr(value, part)
            values.append(value)
        if len(set(values)) > 1:
            differ.append(f"{key} ({', '.join(f'{n} {v:,}' for n, v in zip(labels, values, strict=True))})")
    if not differ:
        return []
    return [f"note: the scenarios differ in {'; '.join(differ)}: their KPIs are not like for like, and each "
            "difference from the first includes the effect of that too"]


def run_and_compare(resolved: list[Resolved], seeds: int, *, quiet: bool) -> Comparison:
    """Run every scenario over seeds 1..`seeds` and compare them with the first."""
    runs, run_notes = run_all(resolved, seeds, quiet=quiet)
    return Comparison(runs, table(runs), shared_platforms(resolved)[1], run_notes, setup_differences(resolved))


def compare_scenarios(scenarios: Mapping[str, Scenario | str | Path | Mapping[str, Any]]
                      | Sequence[Scenario | str | Path | Mapping[str, Any]],
                      seeds: int = 5, *, progress: bool = False) -> Comparison:
    """`run.py compare` from Python: each scenario (a `Scenario`, a scenario file's path, or a mapping of a
    scenario's keys as `MarketModel` takes it) over seeds 1..`seeds`, seed k the same for every scenario (common
    random numbers), compared with the first. A mapping's keys label the scenarios; otherwise (a list) they go by
    their names. Nothing is written; `print()` the result for the table. Bad input is a one-line `ScenarioError`
    (a ValueError) or TypeError naming the argument."""
    from sim.scenario_files import load, scenario_of
    from sim.scenario_files.common import _show_python, whole_number

    several = "allowed: a list of scenarios or a mapping of label -> scenario"
    if isinstance(scenarios, Scenario | str | os.PathLike):
        given = "a Scenario" if isinstance(scenarios, Scenario) else _show_python(os.fspath(scenarios))
        raise TypeError(f"compare_scenarios: scenarios is one scenario ({given}); {several}")
    if isinstance(scenarios, Mapping):
        keys = [str(k) for k in scenarios]
        if keys and set(keys) <= set(Scenario.model_fields) and \
                not all(isinstance(v, Scenario) for v in scenarios.values()):  # {"consumers": {"count": 2000}}
            raise TypeError(f"compare_scenarios: scenarios has a scenario's own keys ({', '.join(keys)}), not "
                            f"labels; {several}")
        items = [(str(k), f"compare_scenarios(scenarios[{k!r}])", v) for k, v in scenarios.items()]
    elif isinstance(scenarios, Sequence):
        items = [(None, f"compare_scenarios(scenarios[{i}])", v) for i, v in enumerate(scenarios)]
    else:
        raise TypeError(f"compare_scenarios: scenarios {_show_python(scenarios)} is not a list or a mapping; {several}")
    if not items:
        raise ValueError(f"compare_scenarios: scenarios is empty; give at least one scenario ({several})")
    seeds = whole_number(seeds, "compare_scenarios: seeds", 1, "a whole number >= 1 (the runs use seeds 1..seeds)",
                         ">= 1 (the runs use seeds 1..seeds)")
    resolved = []
    for name, label, item in items:
        r = load(os.fspath(item)) if isinstance(item, str | os.PathLike) else Resolved(scenario_of(item, label), [])
        resolved.append(r if name is None else Resolved(r.scenario.model_copy(update={"name": name}), r.files))
    return run_and_compare(resolved, seeds, quiet=not progress)


def compare(resolved: list[Resolved], seeds: int, target: Path, *, quiet: bool = False, unique: bool = False
            ) -> tuple[str, Path]:
    """Run, tabulate and write `COMPARE_FILES` atomically into `target` (with `unique`, the first free name of
    `target`, `target-2`...); return the printed table and where the files went."""
    result = run_and_compare(resolved, seeds, quiet=quiet)
    runs, summary = result.runs, result.table
    folder = atomic_folder(target, unique=unique)
    with folder as tmp:
        runs.to_csv(tmp / "runs.csv", index=False)
        summary.to_csv(tmp / "comparison.csv", index=False)
        meta: dict[str, Any] = {"scenarios": [r.files[-1] for r in resolved], "seeds": list(range(1, seeds + 1)),
                                "overrides": resolved[0].overrides, "left_out": result.left_out,
                                "undefined": undefined_seeds(runs), "notes": result.run_notes,
                                "differences": result.differences,
                                "scenario_hashes": [scenario_hash(r.scenario) for r in resolved], **provenance()}
        (tmp / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        figure(summary, tmp / "comparison.png")
    return str(result), folder.path
