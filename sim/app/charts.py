"""Live charts as ECharts options (drawn in the browser, so the server only sends numbers).

Each function takes the session's runs (one, or two in side-by-side mode) and returns an ECharts
`option`; run A is drawn solid, run B dashed with the same colour and name (one legend entry toggles
both), so the difference a strategy makes is the gap between a line and its dashed twin.
"""

from __future__ import annotations

import colorsys
import math
import threading
import weakref
from itertools import count, pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.agents.platform import REVENUE_SOURCES
from sim.app import tables

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sim.app.session import Run

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
FIXED_SOURCE_COLORS = {"commission": "#4e79a7", "other": "#bab0ac", "lender_ads": "#f28e2b",
                       "restructurer_ads": "#e15759", "diversion_fees": "#76b7b2", "lending": "#59a14f",
                       "co_lending_fees": "#b07aa1"}
"""The revenue sources' colours that the docs name (Lesson 1: the green lending slice, the teal diversion fees, the
purple co-lending fees)."""
SPARE_COLORS = ("#edc948", "#ff9da7", "#9c755f")
"""The rest of the palette the fixed colours come from (Tableau 10), for sources added later."""


def spare_color(k: int) -> str:
    """The `k`-th colour for a source without a fixed one: the spare colours, then hues a golden angle (137.5
    degrees) apart, so that any number of sources get colours, each far from the last few."""
    if k < len(SPARE_COLORS):
        return SPARE_COLORS[k]
    hue = (40.0 + 137.508 * (k - len(SPARE_COLORS))) % 360.0
    r, g, b = colorsys.hls_to_rgb(hue / 360.0, 0.5, 0.55)
    return "#" + "".join(f"{round(255 * x):02x}" for x in (r, g, b))


def source_colors(sources: Iterable[str]) -> dict[str, str]:
    """A colour for every source: its fixed colour, else the next spare one not already taken. Deterministic: it
    depends only on the sources and their order (a source added at the end leaves the others' colours alone)."""
    used = set(FIXED_SOURCE_COLORS.values())
    spare = (c for c in map(spare_color, count()) if c not in used)
    return {s: FIXED_SOURCE_COLORS[s] if s in FIXED_SOURCE_COLORS else next(spare) for s in dict.fromkeys(sources)}


SOURCE_COLORS = source_colors(REVENUE_SOURCES)
CREDIT_SOURCES = tuple(k for k in REVENUE_SOURCES if k not in ("commission", "other"))
"""Revenue a platform earns from credit: lender ads, intermediary ads, diversion fees, lending, co-lending fees."""
SOURCE_NAMES = {"restructurer_ads": "intermediary ads", "co_lending_fees": "co-lending fees"}
"""Legend names where the model's name differs from the dashboard's word (intermediaries, as in the controls)."""
DASH = {"A": "solid", "B": "dashed"}
EMPTY = pd.DataFrame()
K = 1000.0  # amounts are shown in thousands of (simulated) RMB
Series = list[dict[str, Any]]


_FRAMES: weakref.WeakKeyDictionary[Any, tuple[int, dict[str, Any]]] = weakref.WeakKeyDictionary()
"""Per model (held weakly, so a replaced model is freed and a new one at the same address starts
empty): its day and that day's tables, which the charts share. Tabs draw in their own threads."""
_FRAMES_LOCK = threading.Lock()


def _cached(m: Any, name: str, build: Callable[[], Any]) -> Any:
    with _FRAMES_LOCK:
        day, frames = _FRAMES.get(m, (None, {}))
        if day != m.t:
            frames = {}
            _FRAMES[m] = (m.t, frames)
        if name in frames:
            return frames[name]
    value = build()  # outside the lock: tabs do not wait for each other's tables
    with _FRAMES_LOCK:
        frames[name] = value
    return value


def _frame(run: Run, table: str) -> pd.DataFrame:
    """A model's table as of today, built once per day and model (the charts share it)."""
    m = run.model
    if not m.datacollector.model_vars.get("day"):
        return pd.DataFrame()
    return _cached(m, table, lambda: tables.table(m, table))


def _groups(run: Run, table: str) -> dict[str, pd.DataFrame]:
    """A per-agent table split by name (cached with the table)."""
    def split() -> dict[str, pd.DataFrame]:
        t = _frame(run, table)
        return {str(k): g for k, g in t.groupby("name", sort=False)} if len(t) else {}
    return _cached(run.model, table + "/by-name", split)


def _points(days: pd.Series, values: pd.Series) -> list[list[float]]:
    """[day, value] pairs, values to 6 decimals. Converted by NumPy: a Python `round` a point took most of a
    redraw's time in a long run (about 70 ms of it at day 1,000 side by side)."""
    rounded = np.round(values.to_numpy(dtype=float), 6).tolist()
    return list(map(list, zip(days.to_numpy(dtype=np.int64).tolist(), rounded, strict=True)))


def alone(points: list[Any]) -> bool:
    """Whether a line's points must be drawn as symbols: ECharts draws a line of one point as nothing, so after
    the first Step (the warm-up and day 1) every chart looked empty."""
    return len(points) == 1


def _line(name: str, run: Run, points: list[list[float]], color: str, axis: int = 0) -> dict[str, Any]:
    return {
        "name": name, "type": "line", "data": points, "showSymbol": alone(points), "yAxisIndex": axis,
        "lineStyle": {"width": 2, "type": DASH[run.label]}, "itemStyle": {"color": color},
        "emphasis": {"disabled": True},
    }


def _rolling(values: pd.Series, window: int = 7) -> pd.Series:
    return values.rolling(window, min_periods=1).mean()


def base(title: str, series: Series, runs: list[Run], *, y: str = "", y2: str | None = None,
         percent: bool = False) -> dict[str, Any]:
    """A time chart over the scenario's recorded days."""
    days = max(run.model.scenario.days for run in runs)
    axis: dict[str, Any] = {"type": "value", "name": y, "nameTextStyle": {"align": "left"},
                            "splitLine": {"lineStyle": {"opacity": 0.4}}}
    if percent:
        axis["axisLabel"] = {"formatter": "{value}%"}
    y_axes: list[dict[str, Any]] = [axis]
    if y2 is not None:
        y_axes.append({"type": "value", "name": y2, "splitLine": {"show": False}, "nameTextStyle": {"align": "right"}})
    room = _legend_room([s["name"] for s in series], 56)
    return {
        "animation": False,
        "title": {"text": title, "left": 6, "top": 2, "textStyle": {"fontSize": 15}},
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"top": 26, "left": 6, "right": 6, "textStyle": {"fontSize": 11}, "itemHeight": 8, "itemGap": 8},
        "grid": {"left": 56, "right": 56 if y2 else 22, "bottom": 40, **room["grid"]},
        "xAxis": {"type": "value", "min": 1, "max": days, "name": "day", "nameLocation": "middle", "nameGap": 22,
                  "axisLabel": {"hideOverlap": True, "showMaxLabel": days % _tick_interval(days - 1) == 0}},
        "yAxis": y_axes,
        "series": series,
        "media": room["media"],
    }


def _tick_interval(span: float, split: int = 5) -> float:
    """The tick interval ECharts picks for a value axis spanning `span` (its `nice(span / splitNumber, true)`).

    The last day is labelled in addition to the ticks; unless it falls on a tick, its label ran into the last
    tick's ("1,8002,000" at 2,000 days), which `hideOverlap` lets through because the two only touch."""
    if span <= 0:
        return 1.0
    raw = span / split
    exp10 = 10.0 ** math.floor(math.log10(raw))
    f = raw / exp10
    nice = 1 if f < 1.5 else 2 if f < 2.5 else 3 if f < 4 else 5 if f < 7 else 10
    return nice * exp10


WIDTHS = (900, 600, 490, 440, 380, 330, 300, 279, 250, 220)
"""Chart widths (pixels) between which the plot is pushed down to clear a legend wrapped onto more lines; a
chart in a band is taken to be as narrow as the band's lower end. Charts are about 280 pixels wide on a
1280-pixel screen, about 490 on a 1920-pixel one (hence 279 and 490)."""


def _legend_rows(names: list[str], width: float = 400.0) -> int:
    """About how many lines a wrapped legend of these names takes in a chart of `width` pixels (11-pixel text:
    a 30-pixel symbol, about 5.7 pixels a character, 8 between items; the legend is inset 6 pixels each side)."""
    rows, used = 1, 0.0
    for name in dict.fromkeys(names):
        item = 30 + 5.7 * len(name)
        if used + item > width - 12 and used > 0:
            rows, used = rows + 1, 0.0
        used += item + 8
    return rows


def _legend_room(names: list[str], top: int) -> dict[str, Any]:
    """The grid's top, `top` plus 20 pixels a line of this legend, by ECharts media queries on the chart's width
    (applied again on resize): the legend covers neither the axis names nor the plot however wide the chart is."""
    def grid(width: float) -> dict[str, Any]:
        return {"grid": {"top": top + 20 * _legend_rows(names, width)}}
    # every matching query applies, in order: the narrowest band that matches comes last and wins
    return {"grid": grid(WIDTHS[0])["grid"],
            "media": [{"query": {"maxWidth": w}, "option": grid(narrower)} for w, narrower in pairwise(WIDTHS)]}


def _agent_lines(runs: list[Run], table: str, agents: Callable[[Any], list[Any]],
                 values: Callable[[pd.DataFrame], pd.Series]) -> Series:
    """One line an agent (platform or lender) of each run: `values` of its rows in `table`."""
    series: Series = []
    for run in runs:
        groups = _groups(run, table)
        for k, agent in enumerate(agents(run.model)):
            rows = groups.get(agent.name, EMPTY)
            pts = _points(rows["day"], values(rows)) if len(rows) else []
            series.append(_line(agent.name, run, pts, PALETTE[k % len(PALETTE)]))
    return series


def by_platform(runs: list[Run], column: str, title: str, y: str) -> dict[str, Any]:
    """One line a platform (7-day mean) of a platform-table column."""
    series = _agent_lines(runs, "platforms", lambda m: m.platform_list, lambda rows: _rolling(rows[column]))
    return base(title, series, runs, y=y)


def bnpl_share(runs: list[Run]) -> dict[str, Any]:
    """BNPL orders over all orders, 7-day windows, per platform that offers it and for the market."""
    series: Series = []
    for run in runs:
        groups = _groups(run, "platforms")
        for k, p in enumerate(run.model.platform_list):
            rows = groups.get(p.name, EMPTY)
            if not len(rows) or rows["bnpl_orders"].sum() == 0:
                continue
            share = rows["bnpl_orders"].rolling(7, min_periods=1).sum() / rows["orders"].rolling(7, min_periods=1).sum()
            pts = _points(rows["day"], 100 * share.fillna(0.0))
            series.append(_line(p.name, run, pts, PALETTE[k % len(PALETTE)]))
        m = _frame(run, "market")
        if len(m):
            share = m["bnpl_orders"].rolling(7, min_periods=1).sum() / m["orders"].rolling(7, min_periods=1).sum()
            series.append(_line("all platforms", run, _points(m["day"], 100 * share.fillna(0)),
                                "#333333"))
    return base("BNPL share of orders", series, runs, y="% of orders (7-day)", percent=True)


def lending(runs: list[Run]) -> dict[str, Any]:
    """New lending a day, consumer and shop loans apart (7-day means, left), and the outstanding principal of
    both (right). `amount_originated` is consumer loans only: shop loans are `merchant_amount_originated`."""
    series: Series = []
    for run in runs:
        m = _frame(run, "market")
        if not len(m):
            continue
        series.append(_line("new consumer loans / day", run,
                            _points(m["day"], _rolling(m["amount_originated"]) / K), "#4e79a7"))
        series.append(_line("new shop loans / day", run,
                            _points(m["day"], _rolling(m["merchant_amount_originated"]) / K), "#76b7b2"))
        series.append(_line("outstanding (all loans)", run, _points(m["day"], m["outstanding_principal"] / K),
                            "#e15759", 1))
        series.append(_line("of which shop loans", run, _points(m["day"], m["merchant_principal"] / K),
                            "#f28e2b", 1))
    return base("Lending and outstanding balance", series, runs, y="k RMB a day", y2="k RMB owed")


def delinquency(runs: list[Run]) -> dict[str, Any]:
    """Share of outstanding principal by days past due."""
    series: Series = []
    buckets = (("dpd1_30_share", "1-30 dpd", "#f1ce63"), ("dpd31_90_share", "31-90 dpd", "#f28e2b"),
               ("dpd90p_share", "90+ dpd", "#b30000"))
    for run in runs:
        m = _frame(run, "market")
        for col, name, color in buckets:
            pts = _points(m["day"], 100 * m[col]) if len(m) else []
            series.append(_line(name, run, pts, color))
    return base("Delinquency buckets", series, runs, y="% of outstanding principal", percent=True)


def losses(runs: list[Run]) -> dict[str, Any]:
    """Cumulative write-offs against what lenders recovered on them, for consumer and for shop loans.

    `charged_off_principal` counts consumer loans (and debt forgiven in settlements), `merchant_charged_off`
    shop loans, of which `programme_charged_off` those of platforms' programmes; `recoveries` and
    `merchant_recoveries` are what came back on each, NPL-sale proceeds included."""
    series: Series = []
    for run in runs:
        m = _frame(run, "market")
        if not len(m):
            continue
        for name, column, color in (
            ("consumer loans written off", "charged_off_principal", "#b30000"),
            ("recovered on consumer loans", "recoveries", "#59a14f"),
            ("shop loans written off", "merchant_charged_off", "#f28e2b"),
            ("of which platform programmes", "programme_charged_off", "#9c6b30"),
            ("recovered on shop loans", "merchant_recoveries", "#8cd17d"),
        ):
            series.append(_line(name, run, _points(m["day"], m[column].cumsum() / K), color))
    return base("Write-offs vs recoveries (to date)", series, runs, y="k RMB")


def recorded_revenue(run: Run) -> dict[str, dict[str, float]]:
    """Each platform's revenue on recorded days by source (and `total`): the sums of the command line's
    platforms.csv. The platforms' own running totals (`Platform.revenue`) also hold the unrecorded burn-in."""
    def build() -> dict[str, dict[str, float]]:
        groups = _groups(run, "platforms")
        out = {}
        for p in run.model.platform_list:
            rows = groups.get(p.name, EMPTY)
            sums = {k: float(rows[f"revenue_{k}"].sum()) if len(rows) else 0.0 for k in REVENUE_SOURCES}
            out[p.name] = {**sums, "total": float(rows["revenue"].sum()) if len(rows) else 0.0}
        return out
    return _cached(run.model, "recorded-revenue", build)


def revenue(runs: list[Run]) -> dict[str, Any]:
    """Each platform's revenue from credit since day 1, stacked by source (one bar a platform and run), with its
    total revenue written after the bar. Commission and other revenue are left out of the bars: they are a
    hundred times the credit slices, which were then under a pixel wide on a projector."""
    bars: list[str] = []
    totals: list[str] = []
    values: dict[str, list[Any]] = {k: [] for k in CREDIT_SOURCES}
    for run in runs:
        recorded = recorded_revenue(run)
        for p in run.model.platform_list:
            bars.append(p.name + (f" · {run.label}" if len(runs) > 1 else ""))
            totals.append(f"of {recorded[p.name]['total'] / K:,.0f}k in all")
            for k in CREDIT_SOURCES:
                values[k].append(round(recorded[p.name][k] / K, 3))
    # the last segment's label sits at the end of the stack, where the whole bar ends
    values[CREDIT_SOURCES[-1]] = [{"value": v, "label": {"show": True, "position": "right", "formatter": total,
                                                          "fontSize": 10, "color": "#555"}}
                                  for v, total in zip(values[CREDIT_SOURCES[-1]], totals, strict=True)]
    series = [{"name": SOURCE_NAMES.get(k, k.replace("_", " ")), "type": "bar", "stack": "revenue", "data": values[k],
               "itemStyle": {"color": SOURCE_COLORS[k]}, "emphasis": {"disabled": True}} for k in CREDIT_SOURCES]
    room = _legend_room([s["name"] for s in series], 38)
    return {
        "animation": False,
        "title": {"text": "Revenue from credit (since day 1)", "left": 6, "top": 2,
                  "textStyle": {"fontSize": 15}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "legend": {"top": 26, "left": 6, "right": 6, "textStyle": {"fontSize": 11}, "itemHeight": 8, "itemGap": 8},
        "grid": {"left": 110, "right": 76, "bottom": 40, **room["grid"]},  # right: room for "of 1,234k in all"
        "xAxis": {"type": "value", "name": "k RMB", "nameLocation": "middle", "nameGap": 22,
                  "axisLabel": {"hideOverlap": True}},  # 1,200 and 1,500 ran together in a narrow chart
        "yAxis": {"type": "category", "data": bars, "inverse": True},
        "series": series,
        "media": room["media"],
    }


def lender_equity(runs: list[Run]) -> dict[str, Any]:
    """Each lender's equity; a lender that falls below its minimum capital is closed."""
    series = _agent_lines(runs, "lenders", lambda m: m.lender_list, lambda rows: rows["equity"] / K)
    return base("Lender equity", series, runs, y="k RMB")


def intermediaries(runs: list[Run]) -> dict[str, Any]:
    """Consumers signed up with debt-restructuring intermediaries, and complaints a day."""
    series: Series = []
    for run in runs:
        m = _frame(run, "market")
        if not len(m):
            continue
        series.append(_line("intermediary clients", run, _points(m["day"], m["restructurer_clients"]),
                            "#9467bd"))
        series.append(_line("complaints / day", run, _points(m["day"], _rolling(m["complaints"])),
                            "#8c564b", 1))
    option = base("Debt-restructuring intermediaries", series, runs, y="clients", y2="complaints")
    option["yAxis"][0]["minInterval"] = 1  # whole clients: no 0.2-client ticks while there are none or one
    return option


MARKS = "events"
"""The name of the series that holds the charts' event marks (left out of the legend)."""


def with_marks(option: dict[str, Any], marks: list[dict[str, Any]]) -> dict[str, Any]:
    """A time chart with a vertical line on each event's day (`marks`: day, text, fired): those fired in the
    dashboard solid red, the scenario's own dashed grey. The lines hang on a series of no points of their own,
    named `MARKS` and left out of the legend (the legend lists the other series)."""
    if not marks:
        return option
    names = list(dict.fromkeys(s["name"] for s in option["series"]))
    lines = [{"xAxis": m["day"], "label": {"formatter": f"day {m['day']}: {m['text']}"},
              "lineStyle": {"color": "#c00000" if m["fired"] else "#888888",
                            "type": "solid" if m["fired"] else "dashed", "width": 1.5}} for m in marks]
    series = {"name": MARKS, "type": "line", "data": [], "silent": True,
              "markLine": {"symbol": "none", "silent": True, "animation": False, "data": lines,
                           "label": {"position": "insideEndTop", "fontSize": 10, "color": "#555"}}}
    return {**option, "legend": {**option["legend"], "data": names}, "series": [*option["series"], series]}


def all_charts(runs: list[Run], marks: list[dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Every live chart, as (key, option), in display order; the time charts mark the events in `marks`
    (`Session.marks`)."""
    options = [
        ("visits", by_platform(runs, "visits", "Traffic: visits a day", "visits (7-day mean)")),
        ("orders", by_platform(runs, "orders", "Orders a day", "orders (7-day mean)")),
        ("bnpl", bnpl_share(runs)),
        ("lending", lending(runs)),
        ("delinquency", delinquency(runs)),
        ("losses", losses(runs)),
        ("revenue", revenue(runs)),
        ("equity", lender_equity(runs)),
        ("intermediaries", intermediaries(runs)),
    ]
    return [(key, with_marks(option, marks or []) if option["xAxis"].get("name") == "day" else option)
            for key, option in options]


def headline(run: Run) -> dict[str, float | None]:
    """A few figures to date for the status line; a share with nothing to divide by is None (shown as n/a).
    `lent` is consumer loans (`amount_originated`), as the status line says."""
    m = _frame(run, "market")
    if not len(m):
        return {}
    lent = float(m["amount_originated"].sum())
    orders = float(m["orders"].sum())
    # consumer and shop loans alike, in the recoveries as in the write-offs they are a share of
    written = float(m["charged_off_principal"].sum() + m["merchant_charged_off"].sum())
    recovered = float(m["recoveries"].sum() + m["merchant_recoveries"].sum())
    return {
        "orders": orders,
        "bnpl_share": float(m["bnpl_orders"].sum()) / orders if orders else None,
        "lent": lent,
        "written_off": written,
        "recovery_rate": recovered / written if written else None,
        "clients": float(m["restructurer_clients"].iloc[-1]),
        "dpd90": float(m["dpd90p_share"].iloc[-1]) if m["outstanding_principal"].iloc[-1] > 0 else None,
    }
