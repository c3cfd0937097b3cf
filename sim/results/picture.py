"""The dashboard picture of a run: seven panels and a KPI box on one page (dashboard.png)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.agents.platform import REVENUE_SOURCES
from sim.results.summary import _kpi_rows, seed_of, summarize, undefined_notes

if TYPE_CHECKING:
    from sim.model import MarketModel


def dashboard(model: MarketModel, path: Path) -> None:
    """Seven panels and a KPI box on one page (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = figure(model)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def figure(model: MarketModel) -> Any:
    """The dashboard as a matplotlib figure (the caller closes it)."""
    market, plats, lends = model.market_table(), model.platform_table(), model.lender_table()
    fig, axes = page()
    panels = (_traffic, _bnpl, _lending, _delinquency, _losses, _revenue, _equity)
    for ax, panel in zip(axes.flat, panels, strict=False):
        panel(ax, market, plats, lends)
        if panel is not _revenue:  # the revenue panel's bars are platforms, the others' x is the day
            ax.set_xlabel("recorded day", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in fig.axes:  # a line through one point (a one-day run) draws nothing: show the point
        for line in ax.get_lines():
            if len(line.get_xdata()) == 1:
                line.set_marker("o")
    _kpi_box(axes.flat[-1], summarize(model))
    days = len(market)
    fig.suptitle(f"{model.scenario.name} — seed {seed_of(model)}, {days} day{'' if days == 1 else 's'}, "
                 f"{model.consumers.n:,} consumers", fontsize=14)
    return fig


def page() -> tuple[Any, Any]:
    """The dashboard's figure and its 4 x 2 panels."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 2, figsize=(14, 15))
    fig.subplots_adjust(left=0.06, right=0.94, top=0.95, bottom=0.03, hspace=0.32, wspace=0.32)
    return fig, axes


def _legend(ax: Any, **kw: Any) -> None:
    """A legend, when the panel has something labelled (a run without platforms or lenders has not)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _weekly(series: pd.Series) -> pd.Series:
    return series.rolling(7, min_periods=1).mean()


def _traffic(ax: Any, market: pd.DataFrame, plats: pd.DataFrame, _: pd.DataFrame) -> None:
    for name, g in plats.groupby("name", sort=False):
        ax.plot(g["day"], _weekly(g["visits"].astype(float)), label=f"{name} visits")
    ax.set_ylabel("visits a day (7-day mean)")
    twin = ax.twinx()
    twin.plot(market["day"], _weekly(market["orders"].astype(float)), color="black", lw=2, label="orders (all)")
    twin.set_ylabel("orders a day")
    _legend(ax, loc="upper left", fontsize=8)
    _legend(twin, loc="upper right", fontsize=8)
    ax.set_title("Traffic and orders")


def _bnpl(ax: Any, market: pd.DataFrame, plats: pd.DataFrame, _: pd.DataFrame) -> None:
    ax.plot(market["day"], 100 * _weekly(market["bnpl_uptake"]), color="black", lw=2, label="market")
    for name, g in plats.groupby("name", sort=False):
        share = (g["bnpl_orders"].astype(float) / g["orders"].replace(0, np.nan)).fillna(0.0)
        if share.any():
            ax.plot(g["day"], 100 * _weekly(share), label=name)
    ax.set_ylabel("% of orders")
    _legend(ax, fontsize=8)
    ax.set_title("BNPL share of orders (7-day mean)")


def _lending(ax: Any, market: pd.DataFrame, *_: pd.DataFrame) -> None:
    ax.fill_between(market["day"], _weekly(market["amount_originated"]) / 1e3, color="tab:blue", alpha=0.35,
                    step="mid", label="lent a day (7-day mean)")
    ax.set_ylabel("lent a day (RMB k)")
    twin = ax.twinx()
    twin.plot(market["day"], market["consumer_principal"] / 1e6, color="tab:red", label="consumer balance")
    twin.plot(market["day"], market["merchant_principal"] / 1e6, color="tab:green", label="shop balance")
    twin.set_ylabel("outstanding (RMB m)")
    _legend(ax, loc="upper left", fontsize=8)
    _legend(twin, loc="upper right", fontsize=8)
    ax.set_title("Lending and balance")


def _delinquency(ax: Any, market: pd.DataFrame, *_: pd.DataFrame) -> None:
    cols = ("dpd1_30_share", "dpd31_90_share", "dpd90p_share")
    ax.stackplot(market["day"], *(100 * market[c] for c in cols), labels=("1-30 dpd", "31-90 dpd", "90+ dpd"),
                 colors=("#f2c14e", "#f78154", "#b33f62"))
    ax.set_ylabel("% of outstanding principal")
    _legend(ax, loc="upper left", fontsize=8)
    ax.set_title("Delinquency buckets")


def _losses(ax: Any, market: pd.DataFrame, *_: pd.DataFrame) -> None:
    ax.plot(market["day"], market["charged_off_principal"].cumsum() / 1e6, color="tab:red", label="written off")
    ax.plot(market["day"], market["recoveries"].cumsum() / 1e6, color="tab:green", label="recovered (lenders)")
    ax.plot(market["day"], market["npl_buyer_recoveries"].cumsum() / 1e6, color="tab:gray", ls="--",
            label="recovered by NPL buyers")
    ax.set_ylabel("cumulative, RMB m")
    _legend(ax, fontsize=8)
    ax.set_title("Write-offs vs recoveries")


def _revenue(ax: Any, _: pd.DataFrame, plats: pd.DataFrame, __: pd.DataFrame) -> None:
    cols = [f"revenue_{k}" for k in REVENUE_SOURCES if f"revenue_{k}" in plats]
    # float: the sums of a run without platforms are an empty object column, which cannot be stacked
    totals = plats.groupby("name", sort=False)[cols].sum().astype(float) / 1e6
    bottom = np.zeros(len(totals))
    for col in cols:
        ax.bar(totals.index, totals[col], bottom=bottom, label=col.removeprefix("revenue_"))
        bottom += totals[col].to_numpy()
    ax.set_ylabel("RMB m over the run")
    _legend(ax, fontsize=8)
    ax.set_title("Platform revenue by source")


def _equity(ax: Any, _: pd.DataFrame, __: pd.DataFrame, lends: pd.DataFrame) -> None:
    for name, g in lends.groupby("name", sort=False):
        ax.plot(g["day"], g["equity"] / 1e6, label=name)
    ax.set_ylabel("equity (RMB m)")
    _legend(ax, fontsize=8, ncol=2)
    ax.set_title("Lender equity")


def _kpi_box(ax: Any, summary: dict[str, Any]) -> None:
    ax.axis("off")
    lines = _kpi_rows(summary, 14)
    notes = undefined_notes(summary)
    if notes:  # one wrapped line, in a smaller font, so that the box still fits its panel
        lines += textwrap.wrap("; ".join(notes), 62)
    text = ax.text(0.02, 0.98, "\n".join(lines), family="monospace", fontsize=9 if notes else 10, va="top")
    ax.set_title("Key figures")
    # Many platforms or undefined ratios make more lines than the panel holds: the last ones (the reasons for
    # n/a) ran off the page. Shrink the font to fit, measured as drawn, again until it fits: the height is not
    # proportional to the font size (on matplotlib 3.8 a font of 7 drew as tall as one of 8).
    renderer = ax.figure.canvas.get_renderer()
    drawn = text.get_window_extent(renderer)
    room = drawn.y1 - 4  # the text may use the page's bottom margin, down to 4 pixels above its edge
    for _ in range(5):
        if drawn.height <= room:
            break
        text.set_fontsize(text.get_fontsize() * room / drawn.height * 0.98)
        drawn = text.get_window_extent(renderer)
