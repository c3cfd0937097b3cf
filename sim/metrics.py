"""What is measured each day, by name: the market table, and per-platform and per-lender tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.agents.lender import Lender
from sim.agents.platform import REVENUE_SOURCES, Platform
from sim.collector import DailyCollector

if TYPE_CHECKING:
    from sim.model import MarketModel

MARKET_COLUMNS = (
    "day", "active_consumers", "orders", "gmv", "bnpl_orders", "bnpl_uptake", "loans_originated",
    "amount_originated", "cash_loans", "outstanding_principal", "consumer_principal", "merchant_principal",
    "dpd1_30_share", "dpd31_90_share", "dpd90p_share", "charged_off_principal", "recoveries",
    "npl_proceeds", "npl_buyer_recoveries", "restructurer_clients", "restructurer_signups", "restructurer_fees",
    "complaints", "platform_revenue", "platform_finance_revenue", "active_lenders", "lender_equity",
    "active_merchants", "merchant_entries", "merchant_exits", "merchant_loans_originated",
    "merchant_charged_off", "programme_charged_off", "merchant_recoveries", "deposits_held",
    "pending_settlement", "swept", "early_warnings", "restrictions", "shocks", "abandoned_orders",
    "consumer_late_principal", "delinquent_collections", "bnpl_gmv", "interest_income", "instalments_due",
    "instalments_missed", "cures", "refunds", "claims", "merchant_amount_originated", "settlement_recoveries",
    "settlement_forgiven",
)
"""Columns of the market table, one row a day. Shares of balance are by principal."""

PLATFORM_COLUMNS = {
    "strategy": lambda p: p.strategy,
    "visits": lambda p: p.visits_today,
    "orders": lambda p: p.orders_today,
    "gmv": lambda p: p.gmv_today,
    "bnpl_orders": lambda p: p.bnpl_orders_today,
    "revenue": lambda p: p.total_revenue(today=True),
    "finance_revenue": lambda p: p.finance_revenue(today=True),
    **{f"revenue_{k}": (lambda p, k=k: p.revenue_today[k]) for k in REVENUE_SOURCES},
    "active_merchants": lambda p: p.active_merchants,
    "monthly_buyers": lambda p: p.monthly_buyers,
    "restructurer_ad_policy": lambda p: p.restructurer_ad_policy,
}


def _recorded(lend: Lender, key: str) -> float:
    """`lend.totals[key]` since the first recorded day began (`Lender.mark_recording_start`)."""
    return lend.totals[key] - lend.at_recording_start[key]


LENDER_COLUMNS = {
    "kind": lambda lend: lend.kind,
    "active": lambda lend: lend.active and lend.licensed,
    "equity": lambda lend: lend.equity,
    "book": lambda lend: lend.book,
    "cash": lambda lend: lend.cash,
    "debt": lambda lend: lend.debt,
    # running totals counted from the first recorded day, as the other outputs are (the burn-in is left out)
    "originated": lambda lend: _recorded(lend, "originated"),
    "interest": lambda lend: _recorded(lend, "interest"),
    "write_offs": lambda lend: _recorded(lend, "write_offs"),
    "recoveries": lambda lend: _recorded(lend, "recoveries") + _recorded(lend, "npl_proceeds"),
    "applications": lambda lend: lend.applications - lend.at_recording_start["applications"],
    "approvals": lambda lend: lend.approvals - lend.at_recording_start["approvals"],
    "complaints": lambda lend: lend.complaints_today,
}


def make_datacollector(model: MarketModel) -> mesa.DataCollector:
    """Model reporters for the market table; per-type reporters for the kinds of agent that exist
    (Mesa would otherwise record an empty row for a type with no agents)."""
    per_type = {
        Platform: {"day": lambda p: p.model.day, "name": lambda p: p.name, **PLATFORM_COLUMNS},
        Lender: {"day": lambda lend: lend.model.day, "name": lambda lend: lend.name, **LENDER_COLUMNS},
    }
    present = {Platform: model.platform_list, Lender: model.lender_list}
    return DailyCollector(
        MARKET_COLUMNS,
        present,
        model_reporters={name: (lambda m, name=name: m.daily[name]) for name in MARKET_COLUMNS},
        agenttype_reporters={kind: cols for kind, cols in per_type.items() if present[kind]},
    )


def agent_table(model: MarketModel, kind: type, columns: dict) -> pd.DataFrame:
    """The tidy per-day table of one kind of agent (empty, with its columns, when there are none or no day has
    been recorded yet)."""
    collector = model.datacollector
    # before the first recorded day Mesa's table is not empty but two rows of NaN with its index as columns
    if kind not in collector.agenttype_reporters or not collector.model_vars["day"]:
        return pd.DataFrame(columns=["day", "name", *columns])
    return collector.get_agenttype_vars_dataframe(kind).reset_index(drop=True)


def principal_by_dpd(model: MarketModel) -> tuple[float, float, float, float]:
    """Outstanding principal in total and in the 1-30, 31-90 and 90+ days-past-due buckets."""
    t = model.t
    total = bucket1 = bucket2 = bucket3 = 0.0
    for book in (model.credit.consumer, model.credit.merchant):
        ids = book.active_ids()
        if len(ids) == 0:
            continue
        total += float(book.outstanding[ids].sum())
        # Only active loans with a missed instalment have days past due; the rest are in no bucket.
        late = book.delinquent_ids()
        out, dpd = book.outstanding[late], t - book.first_missed[late]
        bucket1 += float(out[(dpd >= 1) & (dpd <= 30)].sum())
        bucket2 += float(out[(dpd >= 31) & (dpd <= 90)].sum())
        bucket3 += float(out[dpd > 90].sum())
    return total, bucket1, bucket2, bucket3


def compute(model: MarketModel, day: int) -> dict[str, float]:
    """The market row for today (also refreshes the per-platform figures the tables read)."""
    today = model.today
    c, mer, acc = model.consumers, model.merchants, model.accounts
    total, b1, b2, b3 = principal_by_dpd(model)
    cbook = model.credit.consumer
    share = (lambda x: x / total) if total > 0 else (lambda x: 0.0)
    active_shops = mer.active[: mer.n]
    by_plat = np.bincount(mer.platform[: mer.n][active_shops], minlength=len(model.platform_list))
    for p in model.platform_list:
        p.active_merchants = int(by_plat[p.index])
    orders = today["orders"]
    row = {
        "day": day,
        "active_consumers": int(today["active_consumers"]),
        "orders": int(orders),
        "gmv": today["gmv"],
        "bnpl_orders": int(today["bnpl_orders"]),
        "bnpl_uptake": today["bnpl_orders"] / orders if orders else 0.0,
        "loans_originated": int(today["loans_originated"]),
        "amount_originated": today["amount_originated"],
        "cash_loans": int(today["cash_loans"]),
        "outstanding_principal": total,
        "consumer_principal": float(c.debt[: c.n].sum()),
        "merchant_principal": float(model.credit.merchant.outstanding[: model.credit.merchant.n].sum()),
        "dpd1_30_share": share(b1),
        "dpd31_90_share": share(b2),
        "dpd90p_share": share(b3),
        "consumer_late_principal": float(cbook.outstanding[cbook.delinquent_ids()].sum()),
        "delinquent_collections": today["delinquent_collections"],
        "charged_off_principal": today["charged_off_principal"],
        "recoveries": today["recoveries"],
        "npl_proceeds": today["npl_proceeds"],
        "npl_buyer_recoveries": today["npl_buyer_recoveries"],
        "restructurer_clients": int(np.count_nonzero(c.client_of[: c.n] >= 0)),
        "restructurer_signups": int(today["restructurer_signups"]),
        "restructurer_fees": today["restructurer_fees"],
        "complaints": today["complaints"],
        "platform_revenue": math.fsum(p.total_revenue(today=True) for p in model.platform_list),
        "platform_finance_revenue": math.fsum(p.finance_revenue(today=True) for p in model.platform_list),
        "active_lenders": sum(1 for lend in model.lender_list if lend.active and lend.licensed),
        "lender_equity": math.fsum(lend.equity for lend in model.lender_list),
        "active_merchants": int(np.count_nonzero(active_shops)),
        "merchant_entries": int(today["merchant_entries"]),
        "merchant_exits": int(today["merchant_exits"]),
        "merchant_loans_originated": int(today["merchant_loans_originated"]),
        "merchant_charged_off": today["merchant_charged_off"],
        "programme_charged_off": today["programme_charged_off"],
        "merchant_recoveries": today["merchant_recoveries"],
        "deposits_held": acc["merchant_deposit"].total(),
        "pending_settlement": acc["merchant_pending"].total(),
        "swept": today["swept"],
        "early_warnings": int(today["early_warnings"]),
        "restrictions": int(today["restrictions"]),
        "shocks": int(today["shocks"]),
        "abandoned_orders": int(today["abandoned_orders"]),
        "bnpl_gmv": today["bnpl_gmv"],
        "interest_income": today["interest_income"],
        "instalments_due": int(today["instalments_due"]),
        "instalments_missed": int(today["instalments_missed"]),
        "cures": int(today["cures"]),
        "refunds": today["refunds"],
        "claims": today["claims"],
        "merchant_amount_originated": today["merchant_amount_originated"],
        "settlement_recoveries": today["settlement_recoveries"],
        "settlement_forgiven": today["settlement_forgiven"],
    }
    return row
