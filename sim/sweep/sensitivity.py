"""Global sensitivity of a finished sobol or morris sweep (SALib): indices with 95% intervals, table and charts.

The response of a design point is its KPI mean over replications. Indices are computed in the unit
cube the design was drawn in (parameters mapped through their distributions), so Morris mu* is
comparable across parameters. Bootstrap intervals use a fixed seed: the same sweep gives the same table.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.sweep.spec import SweepError
from sim.sweep.store import atomic_write, read_definition

COLUMNS = {
    "sobol": ["kpi", "parameter", "S1", "S1_conf", "ST", "ST_conf", "note"],
    "morris": ["kpi", "parameter", "mu_star", "mu_star_conf", "sigma", "mu", "note"],
}


def _inputs(folder: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    if not (folder / "sweep.json").is_file():
        raise SweepError(f"{folder}: not a sweep folder (no sweep.json)")
    info = read_definition(folder)
    design = info["sweep"].get("design")
    if design not in COLUMNS:
        raise SweepError(f"{folder}: design {design!r} has no sensitivity indices; allowed: sobol, morris")
    if not (folder / "results.parquet").is_file():
        raise SweepError(f"{folder}: no results.parquet yet; finish the sweep first (run.py sweep ... --resume)")
    return info, pd.read_parquet(folder / "design.parquet"), pd.read_parquet(folder / "results.parquet")


def indices(folder: Path) -> pd.DataFrame:
    """One row per KPI and parameter; a KPI that is constant or has failed runs gets NaN and a note."""
    from SALib.analyze import morris, sobol

    info, design, results = _inputs(folder)
    sweep, names = info["sweep"], info["parameters"]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = design.sort_values("point")[[f"u:{n}" for n in names]].to_numpy(dtype=float)
    means = results.groupby("point")[info["kpis"]].mean().reindex(range(len(design)))
    rows = []
    for kpi in info["kpis"]:
        y = means[kpi].to_numpy(dtype=float)
        note = ""
        if not np.all(np.isfinite(y)):
            note = f"{int((~np.isfinite(y)).sum())} design points without results"
        elif np.ptp(y) == 0:
            note = "constant over the design"
        if note:
            rows += [{"kpi": kpi, "parameter": n, "note": note} for n in names]
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if sweep["design"] == "sobol":
                res = sobol.analyze(problem, y, calc_second_order=sweep["second_order"], conf_level=0.95,
                                    seed=sweep["seed"])
                keys = ("S1", "S1_conf", "ST", "ST_conf")
            else:
                res = morris.analyze(problem, x, y, conf_level=0.95, num_levels=sweep["levels"], seed=sweep["seed"])
                keys = ("mu_star", "mu_star_conf", "sigma", "mu")
        for i, n in enumerate(names):
            rows.append({"kpi": kpi, "parameter": n, **{k: float(res[k][i]) for k in keys}, "note": ""})
    return pd.DataFrame(rows, columns=COLUMNS[sweep["design"]])


def chart(table: pd.DataFrame, kpi: str, design: str, path: Path) -> None:
    """Horizontal bars per parameter: S1 and ST with 95% intervals (Sobol) or mu* and sigma (Morris)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[table["kpi"] == kpi]
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


def analyze_folder(folder: Path, *, figures: bool = True) -> list[str]:
    """Write sensitivity.csv and sensitivity/<kpi>.png in a finished sweep folder; the names written."""
    folder = Path(folder)
    table = indices(folder)
    design = read_definition(folder)["sweep"]["design"]
    atomic_write(folder / "sensitivity.csv", lambda tmp: table.to_csv(tmp, index=False))
    written = ["sensitivity.csv"]
    if figures:
        (folder / "sensitivity").mkdir(exist_ok=True)
        for kpi in table["kpi"].unique():
            if table.loc[table["kpi"] == kpi, "note"].eq("").all():
                chart(table, kpi, str(design), folder / "sensitivity" / f"{kpi}.png")
        written.append("sensitivity/<kpi>.png")
    return written


def text_table(table: pd.DataFrame) -> str:
    """The indices as a plain text table for the terminal."""
    def fmt(v: Any) -> str:
        return f"{v:8.3f}" if isinstance(v, float) and math.isfinite(v) else f"{'':>8}" if v != v else str(v)

    lines = []
    for kpi, g in table.groupby("kpi", sort=False):
        lines.append(kpi)
        for _, r in g.iterrows():
            note = r["note"] if isinstance(r["note"], str) and r["note"] else ""
            values = note or " ".join(f"{c}={fmt(r[c])}" for c in table.columns[2:-1])
            lines.append(f"  {r['parameter']:<36} {values}")
    return "\n".join(lines)
