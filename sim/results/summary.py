"""A run's headline figures (KPIs), what its notes say, and their text for tables; a ratio with nothing to
divide by is None (undefined)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.model import MarketModel

KPI_LABELS = {
    "gmv": "GMV (RMB, simulated)",
    "orders": "orders",
    "bnpl_uptake": "BNPL share of orders",
    "loans_originated": "loans originated",
    "amount_originated": "amount lent (RMB)",
    "charge_off_rate": "charge-off rate",
    "dpd90p_share_end": "90+ dpd share at end",
    "recovery_rate": "recovery rate",
    "restructurer_clients": "intermediary clients",
    "restructurer_fees": "intermediary fees (RMB)",
    "lender_exits": "lender exits",
    "reachable_share_6m": "reachable at 6 months",
    "reachable_share_12m": "reachable at 12 months",
}


# The reported ratios: None (JSON null) when there is nothing to divide by, and why, in words for tables and notes.
UNDEFINED_WHEN = {
    "bnpl_uptake": "no orders",
    "charge_off_rate": "nothing lent",
    "dpd90p_share_end": "no principal outstanding on the last day",
    "recovery_rate": "nothing written off",
    "reachable_share_6m": "no borrower reached 6 months overdue",
    "reachable_share_12m": "no borrower reached 12 months overdue",
}
FINANCE_SHARE_UNDEFINED_WHEN = "no platform revenue"
NOT_AVAILABLE = "n/a"


def defined_ratio(num: float, den: float) -> float | None:
    """num / den, or None when the denominator is zero: a reported ratio with nothing to divide by is undefined
    (a 0 would read as "nothing recovered" or "perfect credit")."""
    return float(num) / float(den) if den else None


def undefined_reason(kpi: str) -> str:
    """Why a ratio KPI can be undefined (`finance_share_<platform>` included), for notes under tables."""
    return FINANCE_SHARE_UNDEFINED_WHEN if kpi.startswith("finance_share_") else UNDEFINED_WHEN.get(kpi, "undefined")


def seed_of(model: MarketModel) -> int | None:
    """The run's seed; None for a run seeded with a `SeedSequence` (Python API), which no integer names."""
    return None if isinstance(model.seed, np.random.SeedSequence) else int(model.scenario.seed)


def summarize(model: MarketModel) -> dict[str, Any]:
    """The run's headline figures (see docs/outputs.md); a ratio with a zero denominator is None."""
    m = model.market_table()
    s = model.scenario
    total = m.sum(numeric_only=True) if len(m) else pd.Series(dtype=float)
    get = lambda col: float(total.get(col, 0.0))  # noqa: E731
    written_off = get("charged_off_principal")
    last = m.iloc[-1] if len(m) else {}
    # the day's share is 0 in the market table when nothing is outstanding; as a headline it is undefined
    dpd90p_end = float(last["dpd90p_share"]) if len(m) and last["outstanding_principal"] > 0 else None
    out: dict[str, Any] = {
        "scenario": s.name,
        "seed": seed_of(model),
        "days": len(m),
        "consumers": int(model.consumers.n),
        "merchants": int(s.merchants.count),
        "platforms": len(model.platform_list),
        "lenders": len(model.lender_list),
        "restructurers": len(model.restructurer_list),
        "gmv": get("gmv"),
        "orders": int(get("orders")),
        "bnpl_uptake": defined_ratio(get("bnpl_orders"), get("orders")),
        "loans_originated": int(get("loans_originated")),
        "amount_originated": get("amount_originated"),
        "charge_off_rate": defined_ratio(written_off, get("amount_originated")),
        "dpd90p_share_end": dpd90p_end,
        "recovery_rate": defined_ratio(get("recoveries"), written_off),
        "restructurer_clients": int(last.get("restructurer_clients", 0)) if len(m) else 0,
        "restructurer_fees": get("restructurer_fees"),
        "lender_exits": _lender_exits(model),
        "platform_finance_revenue_share": _finance_shares(model),
        "reachable_share_6m": model.collections.reachable_share(180),
        "reachable_share_12m": model.collections.reachable_share(360),
    }
    return _finite(out)


def _finance_shares(model: MarketModel) -> dict[str, float | None]:
    """Each platform's finance revenue / total revenue over the recorded days (None without revenue)."""
    table = model.platform_table()
    sums = table.groupby("name", sort=False)[["finance_revenue", "revenue"]].sum() if len(table) else None
    return {p.name: defined_ratio(sums.at[p.name, "finance_revenue"], sums.at[p.name, "revenue"])
            if sums is not None and p.name in sums.index else None for p in model.platform_list}


def _lender_exits(model: MarketModel) -> int:
    """Lenders inactive at the end among those licensed and active on recorded day 1."""
    table = model.lender_table()
    if table.empty:
        return 0
    first = table[table["day"] == table["day"].min()]
    # active as day 1 began: the first row is taken at its end, so a lender closed during day 1 is added back (it
    # was counted neither here nor among the burn-in's closures)
    started = set(first.loc[first["active"].astype(bool), "name"]) | {
        lend.name for lend in model.lender_list if lend.exit_day == table["day"].min()}
    return sum(1 for lend in model.lender_list if lend.name in started and not lend.active)


def closed_in_burn_in(model: MarketModel) -> list[str]:
    """Lenders whose capital ran out during the unrecorded burn-in: the recorded market starts without them, and
    `lender_exits` (which counts exits over the recorded days) does not count them."""
    return [lend.name for lend in model.lender_list if lend.exit_day is not None and lend.exit_day < 1]


def licences_denied(model: MarketModel) -> list[str]:
    """Platforms whose licence purchase under `own_license` failed for want of cash (registered capital plus licence
    cost): the attempt is dropped for the run, so the strategy never lends under a licence of its own."""
    return [p.name for p in model.platform_list if p.license_denied]


def diversions_inert(model: MarketModel) -> dict[str, str]:
    """Platforms under `traffic_diversion` (from the start or after a `strategy` event) that have nothing to divert,
    and why: the strategy sends a platform's BNPL, cash-loan and shop-loan customers to its `finance.partners`, so
    without partners, or without any of those products, it runs exactly as strategy `none` (only the `strategy`
    column of platforms.csv differs)."""
    found = {}
    for p in model.platform_list:
        fin = p.params.finance
        diverts = fin.strategy == "traffic_diversion" or any(
            e.kind == "strategy" and e.value == "traffic_diversion" and e.target in (None, p.name)
            for e in model.scenario.events)
        missing = ([] if fin.partners else ["no finance.partners"]) + (
            [] if fin.bnpl or fin.cash_loans or fin.merchant_loans else
            ["finance.bnpl, cash_loans and merchant_loans all false"])
        if diverts and missing:
            found[p.name] = " and ".join(missing)
    return found


def products_unserved(model: MarketModel) -> dict[str, list[str]]:
    """Platforms under strategy `none` all run (no `strategy` event for them) whose `finance` switches on BNPL,
    cash loans or shop loans: `none` has no lender for them (neither its own licence nor partners), so the switches
    change nothing (cash loans still come through lenders' ads where `lender_ads` allows them, with or without)."""
    found = {}
    for p in model.platform_list:
        fin = p.params.finance
        changed = any(e.kind == "strategy" and e.target in (None, p.name) for e in model.scenario.events)
        on = [k for k in ("bnpl", "cash_loans", "merchant_loans") if getattr(fin, k)]
        if fin.strategy == "none" and not changed and on:
            found[p.name] = on
    return found


def run_notes(model: MarketModel) -> list[str]:
    """What a reader of a finished run's KPIs should know that they do not show: lenders closed during the burn-in,
    licences a platform could not pay for, a diversion strategy with nothing to divert, products switched on under
    strategy none. One line each, without the "note: " that `run` and `compare` print."""
    closed = closed_in_burn_in(model)
    notes = [f"{', '.join(closed)} closed during the burn-in (equity below minimum capital); the recorded days "
             "start without them, and lender exits do not count them"] if closed else []
    notes += [f"{name} could not pay for its licence (registered capital and licence cost above its cash), so it "
              "never lent under a licence of its own (docs/model.md 3.3.4); raise its cash_m"
              for name in licences_denied(model)]
    notes += [f"{name}: strategy traffic_diversion has nothing to divert ({why}): while it is in force the platform "
              "runs as under strategy none; give it partners and a product (finance.partners, finance.bnpl / "
              "cash_loans / merchant_loans)"
              for name, why in diversions_inert(model).items()]
    for name, on in products_unserved(model).items():
        verb, it = ("is", "it") if len(on) == 1 else ("are", "they")
        notes.append(f"{name}: finance.{', finance.'.join(on)} {verb} on, but under strategy none no lender offers "
                     f"{'them' if len(on) > 1 else 'it'} there, so {it} changed nothing; set finance.strategy to "
                     "traffic_diversion (with partners) or own_license")
    return notes


def _finite(value: Any, path: str = "summary") -> Any:
    """`value` unchanged, or a ValueError naming the first NaN or infinity: undefined ratios are None already,
    so a non-finite number is a bug, and writing it as 0 (or null) would hide it."""
    if isinstance(value, dict):
        return {k: _finite(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"{path} is {value}: a figure that should be a number or None (undefined)")
    return value


def format_kpi(key: str, value: Any) -> str:
    """A KPI for a table: shares as %, counts with separators, money rounded; an undefined ratio (None) n/a."""
    if value is None:
        return NOT_AVAILABLE
    if key in UNDEFINED_WHEN:
        return f"{100 * value:.2f}%"
    if key == "finance_share" or key.startswith("finance_share_"):
        return f"{100 * value:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}"


def _kpi_rows(summary: dict[str, Any], value_width: int) -> list[str]:
    """Label and formatted value of each headline figure, labels padded to the longest (platform names vary)."""
    pairs = [(label, format_kpi(key, summary[key])) for key, label in KPI_LABELS.items()]
    pairs += [(f"finance share: {name}", format_kpi("finance_share", v))
              for name, v in summary["platform_finance_revenue_share"].items()]
    width = max(len(label) for label, _ in pairs) + 1
    return [f"{label:<{width}}{value:>{value_width}}" for label, value in pairs]


def undefined_notes(summary: dict[str, Any]) -> list[str]:
    """One line per undefined ratio of a summary: which, and why (for under a table)."""
    found = [(KPI_LABELS[k], UNDEFINED_WHEN[k]) for k in UNDEFINED_WHEN if summary.get(k, 0) is None]
    found += [(f"finance share: {n}", FINANCE_SHARE_UNDEFINED_WHEN)
              for n, v in summary.get("platform_finance_revenue_share", {}).items() if v is None]
    return [f"{label}: {NOT_AVAILABLE}, {why}" for label, why in found]


def kpi_table(summary: dict[str, Any]) -> str:
    """A short text table of the headline figures, with a note for each undefined ratio (n/a)."""
    rows = [f"  {row}" for row in _kpi_rows(summary, 16)]
    rows += [f"  {note}" for note in undefined_notes(summary)]
    return "\n".join(rows)
