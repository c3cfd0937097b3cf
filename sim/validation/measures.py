"""One run's counterparts of the figures, over the recorded days only (after the burn-in)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sim.scenario import Scenario

MICRO_KINDS = ("micro_lender", "platform")  # online micro-loan licensees


@dataclass
class Snapshot:
    """Cumulative totals at the end of the burn-in, so measures cover the recorded days only."""

    lender_totals: dict[str, dict[str, float]]
    equity: dict[str, float]
    micro_active: set[str] = field(default_factory=set)
    reach_counts: dict[int, tuple[int, int]] = field(default_factory=dict)


def snapshot(model: Any) -> Snapshot:
    return Snapshot(
        lender_totals={lend.name: dict(lend.totals) for lend in model.lender_list},
        equity={lend.name: lend.equity for lend in model.lender_list},
        micro_active={lend.name for lend in model.lender_list
                      if lend.kind in MICRO_KINDS and lend.active and lend.licensed},
        reach_counts={days: tuple(counts) for days, counts in model.collections.reach_counts.items()},
    )


def measure(model: Any, start: Snapshot) -> dict[str, float]:
    """Every figure's model counterpart, from a finished run and its end-of-burn-in snapshot."""
    s = model.scenario
    market, plats, lends = model.market_table(), model.platform_table(), model.lender_table()
    years = len(market) / 365.0
    out: dict[str, float] = {}
    for months, days in ((6, 180), (12, 360)):
        spells, hits = model.collections.reach_counts[days]
        spells0, hits0 = start.reach_counts[days]
        spells, hits = spells - spells0, hits - hits0
        out[f"reachable_{months}m"] = hits / spells if spells else math.nan
        out[f"reach_{months}m_hits"], out[f"reach_{months}m_spells"] = float(hits), float(spells)
    # NPL sales, as the pilot reports them: price per unit of unpaid principal transferred (what was
    # recovered before the sale is not transferred), over the recorded days.
    sold_principal = math.fsum(lend.totals["npl_principal_sold"] - start.lender_totals[lend.name]["npl_principal_sold"]
                         for lend in model.lender_list)
    proceeds = math.fsum(lend.totals["npl_proceeds"] - start.lender_totals[lend.name]["npl_proceeds"]
                   for lend in model.lender_list)
    out["npl_recovery"] = proceeds / sold_principal if sold_principal > 0 else math.nan
    # Online micro-loan licensees as one sector, as the Guangzhou figures are (platform-owned lenders included).
    micro = [lend for lend in model.lender_list if lend.kind in MICRO_KINDS and (lend.licensed or lend.book > 0)]
    names = {lend.name for lend in micro}
    mean_book = float(lends[lends["name"].isin(names)].groupby("day")["book"].sum().mean()) if len(lends) else 0.0
    lent = math.fsum(lend.totals["originated"] - start.lender_totals[lend.name]["originated"] for lend in micro)
    interest = math.fsum(lend.totals["interest"] - start.lender_totals[lend.name]["interest"] for lend in micro)
    profit = math.fsum(lend.equity - start.equity[lend.name] for lend in micro)
    out["micro_turnover"] = lent / mean_book / years if mean_book > 0 else math.nan
    out["micro_yield"] = interest / mean_book / years if mean_book > 0 else math.nan
    out["micro_net_margin"] = profit / interest if interest > 0 else math.nan
    # Exits over the recorded days (a year in the consolidation scenario) among the licensees active when they
    # began; pooled over seeds as exits / lenders (`Figure.pooled`), as the real 7 of 36 is one sector's count.
    exited = sum(1 for lend in model.lender_list if lend.name in start.micro_active and not lend.active)
    out["lender_exit_share"] = exited / len(start.micro_active) if start.micro_active else math.nan
    out["lender_exits"], out["lender_exit_base"] = float(exited), float(len(start.micro_active))
    # Platforms.
    for p in model.platform_list:
        g = plats[plats["name"] == p.name]
        buyers = g.loc[g["day"] > 30, "monthly_buyers"].astype(float)
        buyers = buyers[buyers > 0]
        dau = float(g["visits"].mean()) if len(g) else 0.0
        gmv_month = float(g["gmv"].mean()) * 30.0 if len(g) else 0.0
        out[f"{p.name}_buyers_per_dau"] = float(buyers.mean()) / dau if dau > 0 and len(buyers) else math.nan
        out[f"{p.name}_gmv_per_buyer"] = gmv_month / float(buyers.mean()) if len(buyers) else math.nan
        revenue = float(g["revenue"].sum()) if len(g) else 0.0
        out[f"{p.name}_finance_share"] = float(g["finance_revenue"].sum()) / revenue if revenue else math.nan
        merchants = g["active_merchants"].astype(float).to_numpy()
        out[f"{p.name}_merchant_growth"] = ((merchants[-1] / merchants[0]) ** (1 / years) - 1
                                            if len(merchants) and merchants[0] > 0 else math.nan)
    # undefined when nothing was lent, as in the run summary: a 0 would read as perfect credit (and a fit to it as met)
    out["charge_off_rate"] = (float(market["charged_off_principal"].sum()) / float(market["amount_originated"].sum())
                              if len(market) and market["amount_originated"].sum() > 0 else math.nan)
    del s
    return out


def sized(scenario: Scenario, consumers: int | None, seed: int) -> Scenario:
    """The scenario at `consumers` consumers (shops scaled in proportion) and `seed`."""
    update: dict[str, Any] = {"seed": seed}
    if consumers is not None and consumers != scenario.consumers.count:
        shops = max(round(scenario.merchants.count * consumers / max(scenario.consumers.count, 1)), 10)
        update["consumers"] = scenario.consumers.model_copy(update={"count": consumers})
        update["merchants"] = scenario.merchants.model_copy(update={"count": shops})
    return scenario.model_copy(update=update)


def run_measured(scenario: Scenario, seed: int, consumers: int | None = None) -> tuple[dict[str, float], Any]:
    """Run one seed of a scenario and measure it; returns the measures and the finished model."""
    from sim import MarketModel

    s = sized(scenario, consumers, seed)
    model = MarketModel(s, rng=seed)
    model.burn_in()
    start = snapshot(model)
    model.run(s.days)
    return measure(model, start), model
