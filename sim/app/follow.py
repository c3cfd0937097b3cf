"""Following one consumer: today's state, their loans, and a chart of the days recorded since."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.finance.loans import PRODUCT_NAMES, STATUS_NAMES

if TYPE_CHECKING:
    from sim.app.session import Run
    from sim.model import MarketModel

TIERS = ("top-tier city", "middle-tier city", "low-tier city")


def random_borrower(model: MarketModel, rng: np.random.Generator) -> int:
    """A random consumer who has borrowed (any consumer if nobody has yet)."""
    book = model.credit.consumer
    borrowers = np.unique(book.borrower[: book.n])
    borrowers = borrowers[borrowers >= 0]
    pool = borrowers if len(borrowers) else np.arange(model.consumers.n)
    return int(rng.choice(pool)) if len(pool) else 0


def profile(model: MarketModel, i: int) -> dict[str, str]:
    """Who the consumer is and where they stand today, as display text."""
    c = model.consumers[i]
    platforms = [p.name for p in model.platform_list if int(c["platforms"]) & (1 << p.index)]
    since = int(c["delinquent_since"])
    client = int(c["client_of"])
    return {
        "who": f"{TIERS[int(c['tier'])]}, {'under 30' if c['young'] else '30 or over'}, "
               f"income {c['income']:,.0f} RMB/month",
        "uses": ", ".join(platforms) or "no platform",
        "cash": f"{c['cash']:,.0f} RMB",
        "debt": f"{c['debt']:,.0f} RMB",
        "purchases": f"{c['orders']} order{'' if c['orders'] == 1 else 's'}, {c['bnpl_orders']} with BNPL",
        "loans taken": str(c["loans_taken"]),
        "status": f"{model.t - since} days overdue" if since >= 0 else "current",
        "intermediary": model.restructurer_list[client].name if 0 <= client < len(model.restructurer_list) else "none",
    }


def loans(model: MarketModel, i: int) -> list[dict[str, Any]]:
    """The consumer's loans, newest first."""
    book = model.credit.consumer
    ids = np.flatnonzero(book.borrower[: book.n] == i)[::-1]
    dpd = book.dpd(ids, model.t) if len(ids) else np.zeros(0)
    burn = model.scenario.burn_in_days
    rows = []
    for k, j in enumerate(ids[:12]):
        lender, platform = int(book.lender[j]), int(book.platform[j])
        rows.append({
            "day": int(book.start_day[j]) - burn + 1,
            "lender": model.lender_list[lender].name if lender >= 0 else "-",
            "via": model.platform_list[platform].name if platform >= 0 else "-",
            "product": PRODUCT_NAMES[int(book.product[j])],
            "principal": round(float(book.principal[j])),
            "outstanding": round(float(book.outstanding[j])),
            "status": STATUS_NAMES[int(book.status[j])],
            "dpd": int(dpd[k]),
        })
    return rows


def option(run: Run) -> dict[str, Any]:
    """Cash and debt of the followed consumer (left) and days overdue (right), day by day."""
    hist = run.follow
    days = run.model.scenario.days
    cash = [[h["day"], round(h["cash"], 2)] for h in hist]
    debt = [[h["day"], round(h["debt"], 2)] for h in hist]
    overdue = [[h["day"], h["days_overdue"]] for h in hist]
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"top": 0, "right": 6, "textStyle": {"fontSize": 11}},
        "grid": {"left": 58, "right": 48, "top": 48, "bottom": 26},
        "xAxis": {"type": "value", "min": 1, "max": days},
        "yAxis": [{"type": "value", "name": "RMB"},
                  {"type": "value", "name": "days overdue", "minInterval": 1, "splitLine": {"show": False}}],
        "series": [
            {"name": "cash", "type": "line", "data": cash, "showSymbol": False, "itemStyle": {"color": "#59a14f"}},
            {"name": "debt", "type": "line", "data": debt, "showSymbol": False, "itemStyle": {"color": "#e15759"}},
            {"name": "days overdue", "type": "line", "data": overdue, "showSymbol": False, "yAxisIndex": 1,
             "areaStyle": {"opacity": 0.15}, "itemStyle": {"color": "#b30000"}, "lineStyle": {"type": "dotted"}},
        ],
    }
