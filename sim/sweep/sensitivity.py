"""Global sensitivity of a finished sobol or morris sweep (SALib): indices with 95% intervals, table and charts.

The response of a design point is its KPI mean over the replications (seeds) that finished at every design
point, so each mean is over the same seeds (common random numbers). Indices are computed in the unit cube
the design was drawn in (parameters mapped through their distributions), so Morris mu* is comparable across
parameters. Bootstrap intervals use a fixed seed: the same sweep gives the same table. A KPI undefined at
some design points (a ratio with nothing to divide by) is analysed without the base samples or trajectories
holding those points, and its note says how many were left out.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.results import undefined_reason
from sim.sweep.spec import SweepError
from sim.sweep.store import atomic_write, check_kpi_format, read_definition, remove_stale_figures

COLUMNS = {
    "sobol": ["kpi", "parameter", "S1", "S1_conf", "ST", "ST_conf", "note"],
    "sobol2": ["kpi", "parameter", "parameter_2", "S1", "S1_conf", "ST", "ST_conf", "S2", "S2_conf", "note"],
    "morris": ["kpi", "parameter", "mu_star", "mu_star_conf", "sigma", "mu", "note"],
}
VALUES = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf", "sigma", "mu")}


def _inputs(folder: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    if not (folder / "sweep.json").is_file():
        raise SweepError(f"{folder}: not a sweep folder (no sweep.json)")
    info = read_definition(folder)
    check_kpi_format(folder, info, "its indices would count those as measurements: run the sweep again into "
                     "another --out")
    design = info["sweep"].get("design")
    if design not in VALUES:
        raise SweepError(f"{folder}: design {design!r} has no sensitivity indices; allowed: sobol, morris")
    finish = f"finish the sweep first (run.py sweep ... --out {folder} --resume)"
    if not (folder / "results.parquet").exists():
        raise SweepError(f"{folder}: no results.parquet yet; {finish}")
    results = _parquet(folder / "results.parquet", finish)
    _check_current(folder, info, results, finish)
    return info, _parquet(folder / "design.parquet", finish), results


def _parquet(path: Path, remedy: str) -> pd.DataFrame:
    """A table of the folder, or a one-line `SweepError` naming it (a resume writes both tables again)."""
    from pyarrow import ArrowException

    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise SweepError(f"{path}: missing; {remedy}, which writes it again") from None
    except (OSError, ValueError, ArrowException) as exc:
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise SweepError(f"{path}: damaged, not a Parquet table ({why}); {remedy}, which writes it again") from None


def _check_current(folder: Path, info: dict[str, Any], results: pd.DataFrame, remedy: str) -> None:
    """Refuse a results.parquet written for another plan than sweep.json's: a sweep extended (more replications
    or grid values) and not finished yet keeps the smaller sweep's table, whose indices would pass for the new
    one's."""
    from sim.sweep.plan import fingerprint

    path = folder / "results.parquet"
    if len(results) != info.get("runs", len(results)):
        raise SweepError(f"{path}: out of date: it has {len(results)} rows, sweep.json plans {info['runs']} runs; "
                         f"{remedy}")
    if "run_id" in results and fingerprint(list(results["run_id"]), list(info["parameters"]), list(info["kpis"]),
                                           list(info.get("series", [])),
                                           str(info["sweep"].get("design"))) != info["fingerprint"]:
        raise SweepError(f"{path}: out of date: its runs are not the ones sweep.json plans; {remedy}")


def bootstrap_seed(seed: int) -> int:
    """The seed given to SALib's analyses: never 0, which SALib takes as 'no seed' (unseeded intervals)."""
    return int(seed) + 1


def responses(results: pd.DataFrame, kpi: str, points: int, replications: int) -> tuple[np.ndarray, int, str]:
    """Mean of `kpi` per design point over the replications that finished at every point, how many those are,
    and a note ('' when all were used). Averaging each point over its own survivors would mix seed effects
    into the differences between points; with none complete, the KPI cannot be analysed (count 0).

    A finished run with no value left the ratio undefined (it did not fail): its point's mean is NaN, and
    `indices` leaves that point out with its Sobol base sample or Morris trajectory (`undefined_blocks`)."""
    frame = results.set_index(["point", "replication"])

    def by_point(column: str) -> pd.DataFrame:
        return frame[column].unstack("replication").reindex(index=range(points), columns=range(replications))

    table = by_point(kpi).astype(float)
    # runs that finished: without a status column (an older table) a missing value can only be read as failed
    ok = (by_point("status") == "done").to_numpy() if "status" in frame else np.isfinite(table.to_numpy())
    empty = int((~ok.any(axis=1)).sum())
    complete = ok.all(axis=0)
    used = int(complete.sum())
    if empty:
        return np.full(points, np.nan), 0, (f"not analysable: {_points(empty)} without results (every "
                                            "replication failed or is missing)")
    if not used:
        return np.full(points, np.nan), 0, (
            f"not analysable: no replication has results at every design point ({int((~ok.all(axis=1)).sum())} of "
            f"{points} points lack some); means over different seeds would mix seed effects into the indices")
    # skipna=False: a point undefined in any replication used has no mean over the same seeds as the others
    y = table.loc[:, complete].mean(axis=1, skipna=False).to_numpy(dtype=float)
    if used == replications:
        return y, used, ""
    dropped = [str(r) for r in table.columns[~complete]]
    which = f"replication {dropped[0]}" if len(dropped) == 1 else f"replications {', '.join(dropped)}"
    return y, used, (f"mean over {used} of {replications} replications; {which} left out: no results at "
                     f"{_points(int((~ok.all(axis=1)).sum()))} (every point's mean is over the same seeds)")


def _points(n: int) -> str:
    return f"{n} design point{'' if n == 1 else 's'}"


def undefined_blocks(y: np.ndarray, kpi: str, block: int, unit: str) -> tuple[np.ndarray | None, str]:
    """Which design points to keep when `kpi` is undefined (NaN) at some: every Sobol base sample or Morris
    trajectory (`block` consecutive points) without such a point; None when fewer than 2 remain. And the note.

    The estimators need whole blocks, so a block loses all its points; the indices then describe the part of
    the design where the KPI is defined, which the note says."""
    undefined = np.isnan(y)
    if not undefined.any():
        return np.ones(len(y), dtype=bool), ""
    bad = undefined.reshape(-1, block).any(axis=1)
    what = f"undefined at {int(undefined.sum())} of {len(y)} design points ({undefined_reason(kpi)})"
    if int((~bad).sum()) < 2:
        return None, (f"not analysable: {what}; fewer than 2 of the {len(bad)} {unit} are without such a point")
    return np.repeat(~bad, block), (f"{what}: the {int(bad.sum())} of {len(bad)} {unit} holding them left out; "
                                    "the indices describe the rest of the design")


def unbalanced(x: np.ndarray, names: list[str], second_order: bool) -> str:
    """A note naming the parameters whose values in the Sobol base samples A and B analysed correlate (|r| at least
    `design.BALANCE`), or ''. The estimators assume A and B independent; a correlated parameter's indices are off
    by about as much, and the bootstrap intervals, which resample whole blocks, do not show it. The design keeps a
    balanced scramble where one exists, which at small N (6 parameters, N=16) it may not; left-out blocks (a KPI
    undefined at some points) can unbalance the rest."""
    from sim.sweep.design import BALANCE, ab_correlations

    r = ab_correlations(x, len(names), second_order)
    off = [(name, c) for name, c in zip(names, r, strict=True) if abs(c) >= BALANCE]
    if not off:
        return ""
    blocks = len(x) // ((2 if second_order else 1) * len(names) + 2)
    which = ", ".join(f"{c:+.2f} in {name}" for name, c in off)
    its = "its" if len(off) == 1 else "their"
    return (f"base samples A and B correlate at {which} (over the {blocks} base samples analysed; the estimators "
            f"assume them independent): {its} indices are off by about as much, which the intervals do not show; "
            "use more samples")


def _morris_step(x: np.ndarray, levels: int) -> float:
    """The step of a Morris design in quantiles (1/2 when levels are read at (k + 1/2) / p; SALib's own grid
    k / (p - 1) in folders written before that change), from the design's own coordinates."""
    steps = np.abs(np.diff(x.reshape(-1, x.shape[1] + 1, x.shape[1]), axis=1)).max(axis=2)
    return float(np.median(steps)) if steps.size else levels / (2 * (levels - 1))


def indices(folder: Path) -> pd.DataFrame:
    """One row per KPI and parameter (and per pair for second-order Sobol); a KPI that is constant or cannot be
    analysed gets NaN and a note. `table.attrs['replications']`: KPI -> (replications used, of how many)."""
    from SALib.analyze import morris, sobol

    info, design, results = _inputs(folder)
    sweep, names = info["sweep"], info["parameters"]
    kind = "sobol2" if sweep["design"] == "sobol" and sweep["second_order"] else sweep["design"]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = design.sort_values("point")[[f"u:{n}" for n in names]].to_numpy(dtype=float)
    seed = bootstrap_seed(sweep["seed"])
    total = len(info["seeds"])
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]] if kind == "sobol2" else []
    rows, used_of = [], {}
    block = {"sobol": len(names) + 2, "sobol2": 2 * len(names) + 2, "morris": len(names) + 1}[kind]
    unit = "trajectories" if kind == "morris" else "base samples"
    for kpi in [k for k in info["kpis"] if k in results]:  # a resume may have kept fewer than the runs store
        y, used, note = responses(results, kpi, len(design), total)
        xs = x
        if used:
            keep, left_out = undefined_blocks(y, kpi, block, unit)
            if keep is None:
                used, note = 0, "; ".join(filter(None, [left_out, note]))
            else:
                y, xs, note = y[keep], x[keep], "; ".join(filter(None, [note, left_out]))
        used_of[kpi] = (used, total)
        if used and np.ptp(y) == 0:
            used, note = 0, "; ".join(filter(None, ["constant over the design", note]))
        if not used:
            rows += [{"kpi": kpi, "parameter": n, "note": note} for n in names]
            rows += [{"kpi": kpi, "parameter": a, "parameter_2": b, "note": note} for a, b in pairs]
            continue
        if sweep["design"] == "sobol":
            note = "; ".join(filter(None, [note, unbalanced(xs, names, sweep["second_order"])]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if sweep["design"] == "sobol":
                res = sobol.analyze(problem, y, calc_second_order=sweep["second_order"], conf_level=0.95, seed=seed)
            else:
                res = morris.analyze(problem, xs, y, conf_level=0.95, num_levels=sweep["levels"], seed=seed)
                # SALib divides by its grid step p / (2(p - 1)); report effects per unit of quantile instead
                scale = sweep["levels"] / (2 * (sweep["levels"] - 1)) / _morris_step(xs, sweep["levels"])
                res = {k: np.asarray(res[k]) * scale for k in VALUES["morris"]}
        for i, n in enumerate(names):
            rows.append({"kpi": kpi, "parameter": n, **{k: float(res[k][i]) for k in VALUES[sweep["design"]]},
                         "note": note})
        for a, b in pairs:
            i, j = names.index(a), names.index(b)
            rows.append({"kpi": kpi, "parameter": a, "parameter_2": b, "S2": float(res["S2"][i, j]),
                         "S2_conf": float(res["S2_conf"][i, j]), "note": note})
    table = pd.DataFrame(rows, columns=COLUMNS[kind])
    table.attrs["replications"] = used_of
    return table


def chart(table: pd.DataFrame, kpi: str, design: str, path: Path) -> None:
    """Horizontal bars per parameter: S1 and ST with 95% intervals (Sobol) or mu* and sigma (Morris)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[table["kpi"] == kpi]
    if "parameter_2" in t:
        t = t[t["parameter_2"].isna()]
    names = list(t["parameter"])
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 1.0 + 0.55 * len(names)))
    pairs = (("S1", "first order"), ("ST", "total")) if design == "sobol" else (("mu_star", "mu*"), ("sigma", "σ"))
    for k, (col, label) in enumerate(pairs):
        conf = t.get(f"{col}_conf")
        err = None if conf is None else np.nan_to_num(conf.to_numpy(dtype=float))
        ax.barh(y + (k - 0.5) * 0.38, t[col], height=0.38, xerr=err, capsize=3, label=label)
    ax.set_yticks(y, names, fontsize=9)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("Sobol index (95% interval)" if design == "sobol" else "elementary effect, unit scale (95% CI)")
    ax.set_title(f"Sensitivity of {kpi}", fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def analyze_folder(folder: Path, *, figures: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Write sensitivity.csv and sensitivity/<kpi>.png in a finished sweep folder; the table and names written."""
    folder = Path(folder)
    csv, charts = folder / "sensitivity.csv", folder / "sensitivity"
    if csv.is_dir():
        raise SweepError(f"{csv}: is a folder; the table is written to that name: move the folder away")
    if figures and charts.exists() and not charts.is_dir():
        raise SweepError(f"{charts}: is a file; the charts are written in a folder of that name: move the file away")
    table = indices(folder)
    design = read_definition(folder)["sweep"]["design"]
    atomic_write(folder / "sensitivity.csv", lambda tmp: table.to_csv(tmp, index=False))
    written = ["sensitivity.csv"]
    drawn = []
    if figures:
        charts.mkdir(exist_ok=True)
        first = VALUES[str(design)][0]
        for kpi in table["kpi"].unique():
            if table.loc[table["kpi"] == kpi, first].notna().any():
                chart(table, kpi, str(design), charts / f"{kpi}.png")
                drawn.append(charts / f"{kpi}.png")
        written.append("sensitivity/<kpi>.png")
    remove_stale_figures(charts, drawn)
    return table, written


def text_table(table: pd.DataFrame) -> str:
    """The indices as a plain text table for the terminal; a KPI's note on its first line."""
    def fmt(v: Any) -> str:
        return f"{v:8.3f}" if isinstance(v, float) and math.isfinite(v) else f"{'':>8}"

    used_of = table.attrs.get("replications", {})
    lines = []
    for kpi, g in table.groupby("kpi", sort=False):
        used, total = used_of.get(kpi, (None, None))
        notes = [n for n in dict.fromkeys(g["note"]) if isinstance(n, str) and n]
        mean = "" if used is None else f" (mean over {used} of {total} replications at each point)"
        lines.append(": ".join([kpi, *notes]) if notes else kpi + mean)
        for _, r in g.iterrows():
            pair = "parameter_2" in r and isinstance(r["parameter_2"], str)
            name = f"{r['parameter']} x {r['parameter_2']}" if pair else r["parameter"]
            shown = ("S2", "S2_conf") if pair else [c for c in table.columns[2:-1] if c not in
                                                     ("parameter_2", "S2", "S2_conf")]
            if any(pd.notna(r[c]) for c in shown):
                lines.append(f"  {name:<36} " + " ".join(f"{c}={fmt(r[c])}" for c in shown))
    return "\n".join(lines)
