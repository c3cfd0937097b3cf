"""Compare scenarios over the same seeds (common random numbers): KPI means, 95% intervals, paired differences.

A platform's finance share is compared only when every scenario has that platform: a scenario without it
has no such share (not 0, which would read as "no finance revenue"). Shares left out are named under the
printed table and in manifest.json (`left_out`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.results import KPI_LABELS, atomic_folder, summarize
from sim.scenario_files import Resolved

# two-sided 95% Student t quantiles by degrees of freedom (1..30); 1.96 beyond
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
KPIS = tuple(KPI_LABELS)


def t95(n: int) -> float:
    return T95[n - 2] if 2 <= n <= 31 else (1.96 if n > 31 else math.nan)


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% interval of the mean (the interval collapses to the mean for one value)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, mean, mean
    half = t95(len(values)) * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return mean, mean - half, mean + half


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


def run_all(resolved: list[Resolved], seeds: int, *, quiet: bool) -> pd.DataFrame:
    """One row per (scenario, seed) with the KPIs; seed k is the same for every scenario. Finance shares
    only of the platforms every scenario has (see `shared_platforms`)."""
    from tqdm import tqdm

    from sim import MarketModel

    rows = []
    labels = _labels(resolved)
    shared, _ = shared_platforms(resolved)
    with tqdm(total=len(resolved) * seeds, desc="runs", disable=quiet, leave=False) as bar:
        for r, name in zip(resolved, labels, strict=True):
            for seed in range(1, seeds + 1):
                s = r.scenario.model_copy(update={"seed": seed, "name": name})
                summary = summarize(MarketModel(s, rng=seed).run())
                shares = {f"finance_share_{k}": summary["platform_finance_revenue_share"][k] for k in shared}
                rows.append({"scenario": s.name, "seed": seed, **{k: summary[k] for k in KPIS}, **shares})
                bar.update()
    return pd.DataFrame(rows)


def kpis_of(frame: pd.DataFrame) -> list[str]:
    """The KPI columns: the summary's, then each platform's finance share of revenue."""
    cols = frame["kpi"].unique() if "kpi" in frame else [c for c in frame if c not in ("scenario", "seed")]
    return [c for c in cols if not (isinstance(c, str) and c in ("scenario", "seed"))]


def label(kpi: str) -> str:
    return KPI_LABELS.get(kpi, kpi.replace("finance_share_", "finance share: "))


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and KPI: mean and 95% interval; per KPI: paired difference from the first scenario."""
    names = list(dict.fromkeys(runs["scenario"]))
    ref = runs[runs["scenario"] == names[0]].set_index("seed")
    rows = []
    for name in names:
        mine = runs[runs["scenario"] == name].set_index("seed")
        for kpi in kpis_of(runs):
            mean, lo, hi = interval(mine[kpi].to_numpy(dtype=float))
            diff = (mine[kpi] - ref[kpi]).to_numpy(dtype=float)
            d, dlo, dhi = interval(diff)
            rows.append({"scenario": name, "kpi": kpi, "mean": mean, "ci_low": lo, "ci_high": hi,
                         "diff": d, "diff_low": dlo, "diff_high": dhi,
                         # one seed gives no interval, so no difference can be called significant
                         "significant": bool(name != names[0] and len(diff) > 1 and (dlo > 0 or dhi < 0))})
    return pd.DataFrame(rows)


def text_table(summary: pd.DataFrame) -> str:
    """KPIs down, scenarios across: mean [95% interval], with * where the difference from the first is real."""
    names = list(dict.fromkeys(summary["scenario"]))
    width = max(30, *(len(n) + 2 for n in names))
    lines = [f"{'KPI':<26}" + "".join(f"{n:>{width}}" for n in names)]
    for kpi in kpis_of(summary):
        cells = []
        for name in names:
            row = summary[(summary["scenario"] == name) & (summary["kpi"] == kpi)].iloc[0]
            mark = "*" if row["significant"] else " "
            cells.append(f"{_fmt(kpi, row['mean'])} [{_fmt(kpi, row['ci_low'])}, {_fmt(kpi, row['ci_high'])}]{mark}")
        lines.append(f"{label(kpi):<26}" + "".join(f"{c:>{width}}" for c in cells))
    lines.append(f"* the paired difference from {names[0]} over the same seeds excludes 0 (95%)")
    return "\n".join(lines)


SHARES = ("bnpl_uptake", "charge_off_rate", "dpd90p_share_end", "recovery_rate", "reachable_share_6m",
          "reachable_share_12m")


def _fmt(kpi: str, v: float) -> str:
    if kpi.startswith("finance_share_") or kpi in SHARES:
        return f"{100 * v:.2f}%"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def figure(summary: pd.DataFrame, path: Path) -> None:
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
        err = np.vstack([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
        colors = ["tab:gray", *["tab:red" if s else "tab:blue" for s in part["significant"].iloc[1:]]]
        ax.bar(range(len(names)), part["mean"], yerr=err, capsize=4, color=colors)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label(kpi), fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    fig.suptitle("Scenario comparison: means and 95% intervals over common seeds (red: differs from the first)")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def compare(resolved: list[Resolved], seeds: int, target: Path, *, quiet: bool = False) -> str:
    """Run, tabulate and write runs.csv, comparison.csv, manifest.json and comparison.png atomically."""
    runs = run_all(resolved, seeds, quiet=quiet)
    summary = table(runs)
    _, left_out = shared_platforms(resolved)
    with atomic_folder(target) as tmp:
        runs.to_csv(tmp / "runs.csv", index=False)
        summary.to_csv(tmp / "comparison.csv", index=False)
        meta: dict[str, Any] = {"scenarios": [r.files[-1] for r in resolved], "seeds": list(range(1, seeds + 1)),
                                "overrides": resolved[0].overrides, "left_out": left_out}
        (tmp / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        figure(summary, tmp / "comparison.png")
    notes = [f"{label(kpi)}: left out (no such platform in {', '.join(lacking)})" for kpi, lacking in left_out.items()]
    return "\n".join([text_table(summary), *notes])
