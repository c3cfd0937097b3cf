"""Following one consumer: today's state, their loans, and a chart of the days recorded since."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.app.charts import alone
from sim.finance.loans import CHARGED_OFF, PRODUCT_NAMES, SOLD, STATUS_NAMES

if TYPE_CHECKING:
    from sim.app.session import Run
    from sim.model import MarketModel

TIERS = ("top-tier city", "middle-tier city", "low-tier city")


def random_borrower(model: MarketModel, rng: np.random.Generator) -> int | None:
    """A random consumer who has taken a loan (burn-in loans count); None if nobody has yet (before the
    first Step the warm-up has not run, so there are no loans at all)."""
    book = model.credit.consumer
    borrowers = np.unique(book.borrower[: book.n])
    borrowers = borrowers[borrowers >= 0]
    return int(rng.choice(borrowers)) if len(borrowers) else None


def _owed(book: Any, ids: np.ndarray) -> np.ndarray:
    """What the borrower still owes on each loan: the balance of a loan still on the book, the claim (what
    can still be collected) of one written off or sold; nothing on a repaid or settled loan."""
    return book.outstanding[ids] + book.claim[ids]


def _overdue(model: MarketModel, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The consumer's loans (newest first), what is owed on each and its days overdue (days since its oldest
    unpaid instalment, counting on after a write-off while the claim is unpaid)."""
    book = model.credit.consumer
    ids = np.flatnonzero(book.borrower[: book.n] == i)[::-1]
    owed = _owed(book, ids)
    dpd = np.where(owed > 0, book.dpd(ids, model.t), 0) if len(ids) else np.zeros(0, dtype=np.int64)
    return ids, owed, dpd


def days_overdue(model: MarketModel, i: int) -> int:
    """The consumer's days overdue: the most of any loan with something still owed, as the loan table shows
    them (not the length of the consumer's delinquency spell, which runs on while one late loan follows
    another and read 40 days beside a table whose latest was 10)."""
    _, _, dpd = _overdue(model, i)
    return int(dpd.max()) if len(dpd) else 0


def profile(model: MarketModel, i: int) -> dict[str, str]:
    """Who the consumer is and where they stand today, as display text."""
    c = model.consumers[i]
    platforms = [p.name for p in model.platform_list if int(c["platforms"]) & (1 << p.index)]
    client = int(c["client_of"])
    return {
        "who": f"{TIERS[int(c['tier'])]}, {'under 30' if c['young'] else '30 or over'}, "
               f"income {c['income']:,.0f} RMB/month",
        "uses": ", ".join(platforms) or "no platform",
        "cash": f"{c['cash']:,.0f} RMB",
        "debt": f"{c['debt']:,.0f} RMB",
        "purchases": f"{c['orders']} order{'' if c['orders'] == 1 else 's'}, {c['bnpl_orders']} with BNPL",
        "loans taken": str(c["loans_taken"]),
        "status": _status(model, i),
        "intermediary": model.restructurer_list[client].name if 0 <= client < len(model.restructurer_list) else "none",
    }


def _status(model: MarketModel, i: int) -> str:
    ids, owed, dpd = _overdue(model, i)
    if not len(ids) or not (dpd > 0).any():
        return "current"
    written = (owed > 0) & np.isin(model.credit.consumer.status[ids], (CHARGED_OFF, SOLD))
    return f"{int(dpd.max())} days overdue" + (", with loans written off" if written.any() else "")


SHOWN = 12
"""Loans in the table: the newest, and every loan with something still owed however old."""


def loans(model: MarketModel, i: int) -> list[dict[str, Any]]:
    """The consumer's loans, newest first: the newest `SHOWN`, and older ones still owing (so the loan behind the
    profile's days overdue is always listed). `owed` is the balance, or the claim of a loan written off or sold."""
    book = model.credit.consumer
    ids, owed, dpd = _overdue(model, i)
    keep = (np.arange(len(ids)) < SHOWN) | (owed > 0)
    burn = model.scenario.burn_in_days
    rows = []
    for k in np.flatnonzero(keep):
        j = ids[k]
        lender, platform = int(book.lender[j]), int(book.platform[j])
        rows.append({
            "day": int(book.start_day[j]) - burn + 1,
            "lender": model.lender_list[lender].name if lender >= 0 else "-",
            "via": model.platform_list[platform].name if platform >= 0 else "-",
            "product": PRODUCT_NAMES[int(book.product[j])],
            "principal": round(float(book.principal[j])),
            "owed": round(float(owed[k])),
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
            {"name": "cash", "type": "line", "data": cash, "showSymbol": alone(cash),
             "itemStyle": {"color": "#59a14f"}},
            {"name": "debt", "type": "line", "data": debt, "showSymbol": alone(debt),
             "itemStyle": {"color": "#e15759"}},
            {"name": "days overdue", "type": "line", "data": overdue, "showSymbol": alone(overdue), "yAxisIndex": 1,
             "areaStyle": {"opacity": 0.15}, "itemStyle": {"color": "#b30000"}, "lineStyle": {"type": "dotted"}},
        ],
    }
