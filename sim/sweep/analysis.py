"""Per-design summaries of a sweep: KPI means with 95% bands over replications, fan charts, a heat map."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.compare import interval, possible_range
from sim.results import NOT_AVAILABLE, undefined_reason
from sim.sweep.plan import Plan
from sim.sweep.store import Store, atomic_write, remove_stale_figures

FAN_SERIES = ("orders", "bnpl_uptake", "outstanding_principal", "dpd90p_share", "restructurer_clients",
              "lender_equity")
MAX_FAN_RUNS = 400  # runs read per fan (the first ones in design order), so memory stays bounded


def point_summary(plan: Plan, frame: pd.DataFrame) -> pd.DataFrame:
    """Tidy: one row per design point and KPI with n, mean and the 95% interval over the replications that
    define the KPI there; `undefined` counts finished runs that leave it undefined (left out, said in `note`). A
    point without a finished run has its rows too, with n 0 and a note."""
    rows = []
    for point, runs in frame.groupby("point", sort=True):  # every point, also one whose runs all failed (n 0)
        params = plan.shown(plan.points[int(point)])
        group = runs[runs["status"] == "done"]
        for kpi in plan.kpis:
            values = group[kpi].to_numpy(dtype=float)
            defined = values[np.isfinite(values)]
            mean, lo, hi = interval(defined, possible_range(kpi))
            rows.append({"point": int(point), **params, "kpi": kpi, "n": len(defined),
                         "undefined": len(values) - len(defined), "mean": mean, "lo": lo, "hi": hi,
                         "note": _undefined_note(kpi, len(values), len(defined))})
    return pd.DataFrame(rows, columns=["point", *plan.parameters, "kpi", "n", "undefined", "mean", "lo", "hi", "note"])


NO_RUNS = "no finished run (every replication failed or is missing): no mean"
ONE_VALUE = "no interval: 1 replication (lo and hi are its value)"


def _undefined_note(kpi: str, runs: int, defined: int) -> str:
    """What a point's row leaves out, and when its lo and hi are no interval (a single value), as
    `run.py compare` says for one seed: a zero-width band would otherwise read as a certain mean."""
    if not runs:
        return NO_RUNS
    if not defined:
        return f"undefined in every replication ({undefined_reason(kpi)}): no mean"
    single = ONE_VALUE if defined == 1 else ""
    if defined == runs:
        return single
    left_out = (f"undefined in {runs - defined} of {runs} replications ({undefined_reason(kpi)}): mean over the "
                f"other {defined}")
    return "; ".join(filter(None, [left_out, single]))


def undefined_notes(plan: Plan, frame: pd.DataFrame) -> list[str]:
    """One line per KPI that finished runs leave undefined: in how many runs and at how many design points."""
    done = frame[frame["status"] == "done"]
    notes = []
    for kpi in plan.kpis:
        missing = done[done[kpi].isna()]
        if len(missing):
            empty = int((~done.groupby("point")[kpi].apply(lambda v: v.notna().any())).sum())
            notes.append(f"{kpi}: undefined ({undefined_reason(kpi)}) in {len(missing)} of {len(done)} finished runs, "
                         f"at {missing['point'].nunique()} of {done['point'].nunique()} design points ({empty} with no "
                         "value at all); left out of summary.csv means and the figures (n/a)")
    return notes


def summarize_sweep(plan: Plan, store: Store, frame: pd.DataFrame, *, figures: bool = True) -> list[str]:
    """Write summary.csv and the figures; the names written."""
    summary = point_summary(plan, frame)
    atomic_write(store.root / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    written = ["summary.csv"]
    folder = store.root / "figures"
    if not figures or not (frame["status"] == "done").any():
        remove_stale_figures(folder, [])
        return written
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(exist_ok=True)
    for i, param in enumerate(plan.parameters):
        _kpi_vs_parameter(plan, frame, param, folder / f"kpi_vs_{i + 1}_{_slug(param)}.png")
        written.append(f"figures/kpi_vs_{i + 1}_{_slug(param)}.png")
    if _fan_series(plan):  # `series: [day]` keeps no daily column to draw
        _fans(plan, store, frame, folder / "fan_charts.png")
        written.append("figures/fan_charts.png")
    if plan.sweep.design == "grid" and len(plan.parameters) == 2:
        _heatmap(plan, summary, folder / "heatmap.png")
        written.append("figures/heatmap.png")
    remove_stale_figures(folder, [store.root / name for name in written])
    return written


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _grid(n: int) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def _save(fig: Any, path: Any, title: str) -> None:
    import matplotlib.pyplot as plt

    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=85, format="png"))
    plt.close(fig)


def _band(values: pd.Series, kpi: str) -> tuple[float, float, float]:
    """Mean and 95% band of the defined values (an undefined ratio is NaN, left out; NaN if none is defined)."""
    values = values.to_numpy(dtype=float)
    return interval(values[np.isfinite(values)], possible_range(kpi))


def _title(kpi: str, done: pd.DataFrame) -> str:
    """A KPI's panel title, with how many finished runs leave it undefined (left out of the panel)."""
    missing = int(done[kpi].isna().sum())
    return kpi if not missing else f"{kpi} ({NOT_AVAILABLE} in {missing} of {len(done)} runs, left out)"


def _kpi_vs_parameter(plan: Plan, frame: pd.DataFrame, param: str, path: Any) -> None:
    """Each KPI against one parameter: mean and 95% band over replications (grid: one line per other value)."""
    done = frame[frame["status"] == "done"]
    fig, axes = _grid(len(plan.kpis))
    others = [p for p in plan.parameters if p != param]
    for ax, kpi in zip(axes, plan.kpis, strict=False):
        if plan.sweep.design == "grid":
            levels = plan.sweep.parameters[param].levels()
            groups = _by_level(plan, done, others[0]) if len(others) == 1 else [("all", done)]
            for label, g in groups:
                stats = [_band(g.loc[_at(g[param], v), kpi], kpi) if _at(g[param], v).any() else (np.nan,) * 3
                         for v in levels]
                mean, lo, hi = (np.array(x, dtype=float) for x in zip(*stats, strict=True))
                x = np.arange(len(levels))
                ax.plot(x, mean, marker="o", label=f"{others[0].split('.')[-1]}={_text(label)}" if others else None)
                ax.fill_between(x, lo, hi, alpha=0.2)
            ax.set_xticks(np.arange(len(levels)), [_text(v) for v in levels], fontsize=7)
            if len(others) == 1 and kpi == plan.kpis[0]:
                ax.legend(fontsize=6)
        else:
            stats = done.groupby("point")[kpi].apply(_band, kpi=kpi)
            categories = _categories(plan, param)
            shown = [plan.shown(plan.points[int(p)])[param] for p in stats.index]
            xs = np.array([categories.index(v) if categories else float(v) for v in shown], dtype=float)
            mean = np.array([s[0] for s in stats]), np.array([s[1] for s in stats]), np.array([s[2] for s in stats])
            ax.errorbar(xs, mean[0], yerr=[mean[0] - mean[1], mean[2] - mean[0]], fmt=".", ms=3, alpha=0.5,
                        elinewidth=0.6)
            if categories:  # placed by position: without their names, 0 and 1 would read as false and true
                ax.set_xticks(np.arange(len(categories)), [_text(v) for v in categories], fontsize=7)
        ax.set_title(_title(kpi, done), fontsize=9 if _title(kpi, done) == kpi else 7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    _save(fig, path, f"{plan.sweep.name}: KPIs vs {param} (mean, 95% band over replications)")


def _by_level(plan: Plan, done: pd.DataFrame, param: str) -> list[tuple[Any, pd.DataFrame]]:
    """A grid's runs by each value of `param` that has runs, in the sweep file's order. A null value is a level
    like any other; pandas' own `groupby(dropna=False)` cannot group it in the lowest pandas allowed (2.2: "Categorical
    categories cannot be null")."""
    column = done[param]
    groups = [(value, done[_at(column, value)]) for value in plan.sweep.parameters[param].levels()]
    return [(value, g) for value, g in groups if len(g)]


def _at(column: pd.Series, value: Any) -> pd.Series:
    """Rows where a parameter has `value`; a null value is NaN in the table, which equals nothing."""
    return column.isna() if value is None else column == value


def _text(value: Any) -> str:
    """A value on an axis or in a legend; null as the sweep file writes it."""
    return "null" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _categories(plan: Plan, param: str) -> list[Any]:
    """A sampled parameter's values as shown, when they go on the axis by position (some value is not a number:
    text, a label, yes/no, null); empty when the axis is the values themselves."""
    levels = plan.sweep.parameters[param].levels()
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels)
    return [] if plan.sweep.parameters[param].values is None or numbers else levels


def _fans(plan: Plan, store: Store, frame: pd.DataFrame, path: Any) -> None:
    """Daily series: median and 50%/90% bands across runs (grid: one fan per value of the first parameter)."""
    series = _fan_series(plan)
    done = frame[frame["status"] == "done"].drop_duplicates("run_id")
    first = plan.parameters[0]
    groups = _by_level(plan, done, first) if plan.sweep.design == "grid" else [("all runs", done)]
    fig, axes = _grid(len(series))
    for k, (label, g) in enumerate(groups):
        data = [store.read_series(rid, ["day", *series]) for rid in g["run_id"].head(MAX_FAN_RUNS)]
        if not data:
            continue
        for ax, col in zip(axes, series, strict=False):
            day, stack = stacked_series(data, col)
            q = np.percentile(stack, [5, 25, 50, 75, 95], axis=0)
            color = f"C{k % 10}"
            ax.fill_between(day, q[0], q[4], color=color, alpha=0.12)
            ax.fill_between(day, q[1], q[3], color=color, alpha=0.25)
            ax.plot(day, q[2], color=color, lw=1.2, label=f"{first.split('.')[-1]}={_text(label)}"
                    if plan.sweep.design == "grid" else f"median of {len(stack)} runs")
            ax.set_title(col, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    next(iter(axes)).legend(fontsize=6)
    _save(fig, path, f"{plan.sweep.name}: daily series (median, 50% and 90% of runs)")


def _fan_series(plan: Plan) -> list[str]:
    """The daily columns the fan chart draws: those of `FAN_SERIES` the runs keep, else the first six they keep."""
    return [s for s in FAN_SERIES if s in plan.series] or [s for s in plan.series if s != "day"][:6]


def stacked_series(data: list[pd.DataFrame], column: str) -> tuple[np.ndarray, np.ndarray]:
    """The days all runs have and one row a run of `column` over them: runs differ in length when `days` is
    swept, and every run is kept, over the days of the shortest."""
    day = min((d["day"] for d in data), key=len).to_numpy()
    return day, np.vstack([d[column].to_numpy(dtype=float)[: len(day)] for d in data])


def _heatmap(plan: Plan, summary: pd.DataFrame, path: Any) -> None:
    """Mean KPI over replications for every cell of a two-parameter grid."""
    a, b = plan.parameters
    rows, cols = plan.sweep.parameters[a].levels(), plan.sweep.parameters[b].levels()
    fig, axes = _grid(len(plan.kpis))
    for ax, kpi in zip(axes, plan.kpis, strict=False):
        s = summary[summary["kpi"] == kpi]
        grid = np.full((len(rows), len(cols)), np.nan)
        labels = np.full(grid.shape, "no runs", dtype=object)  # a cell whose runs all failed or are missing
        for _, r in s.iterrows():  # placed by its design point: the table has NaN where a value is null
            shown = plan.shown(plan.points[int(r["point"])])
            cell = rows.index(shown[a]), cols.index(shown[b])
            grid[cell] = r["mean"]
            if r["undefined"]:
                labels[cell] = NOT_AVAILABLE  # finished, but the KPI is undefined
        im = ax.imshow(grid, aspect="auto", cmap="viridis")
        mid = np.nanmean(grid) if np.isfinite(grid).any() else 0.0
        for (i, j), v in np.ndenumerate(grid):  # a cell without a mean says why, never "nan"
            defined = bool(np.isfinite(v))
            ax.text(j, i, f"{v:.3g}" if defined else labels[i, j], ha="center", va="center", fontsize=6,
                    color="white" if defined and v <= mid else "black")
        ax.set_xticks(range(len(cols)), [_text(c) for c in cols], fontsize=7)
        ax.set_yticks(range(len(rows)), [_text(r) for r in rows], fontsize=7)
        ax.set_xlabel(b.split(".")[-1], fontsize=7)
        ax.set_ylabel(a.split(".")[-1], fontsize=7)
        empty = int((s["mean"].isna() & (s["undefined"] > 0)).sum())
        cells = f"{empty} cell{'s' if empty > 1 else ''}"
        ax.set_title(kpi if not empty else f"{kpi} ({NOT_AVAILABLE} in {cells}: {undefined_reason(kpi)})",
                     fontsize=9 if not empty else 7)
        fig.colorbar(im, ax=ax, shrink=0.8).ax.tick_params(labelsize=6)
    _save(fig, path, f"{plan.sweep.name}: mean KPI by {a} x {b}")
