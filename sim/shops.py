"""The life of shops: demand that drifts, costs, working-capital loans, closing and opening."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim import portable_math as pm
from sim.finance.loans import MONTH
from sim.limits import check_shop_growth

if TYPE_CHECKING:
    from sim.model import MarketModel


def update_demand(model: MarketModel) -> None:
    """Each open shop's demand follows its trend plus category volatility, pulled back toward the level its
    trend sustains (a mean-reverting log demand): without the pull the spread of demand grows without
    bound, the few winners take ever more of the platform's sales and the shop count never settles."""
    rng = model.streams["merchants"]
    mer = model.merchants
    ids = mer.active[: mer.n].nonzero()[0]
    if len(ids) == 0:
        return
    params = model.scenario.merchants
    vol = np.asarray([c.volatility for c in params.categories], dtype=np.float32)
    change = mer.drift[ids] + vol[mer.category[ids]] * rng.standard_normal(len(ids)).astype(np.float32)
    demand = mer.demand[ids]
    if params.demand_half_life_days > 0:
        pull = np.float32(math.log(2.0) / params.demand_half_life_days)
        change -= pull * pm.log(demand)
    # np.clip(x, 1e-3, 1e3), the same floats without np.clip's Python layers (several microseconds)
    mer.demand[ids] = np.minimum(np.maximum(demand * pm.exp(change), 1e-3), 1e3)
    mer.update_trend(ids, change)


def pay_costs_and_close(model: MarketModel, t: int) -> None:
    """Fixed costs are paid from cash; a shop that cannot pay for `exit_days` in a row closes."""
    mer, acc = model.merchants, model.accounts
    ids = mer.active[: mer.n].nonzero()[0]
    if len(ids) == 0:
        return
    cost = mer.fixed_cost[ids].astype(np.float64)
    cash = acc["merchant_cash"].balance[ids]
    paid = np.minimum(cost, np.maximum(cash, 0.0))
    model.ledger.transfer("shop_fixed_cost", acc["merchant_cash"], acc["outside"], paid, ids)
    short = paid < cost - 1e-9
    mer.days_short[ids] = np.where(short, mer.days_short[ids] + 1, 0)
    closing = ids[mer.days_short[ids] >= model.scenario.merchants.exit_days]
    if len(closing):
        model.settlement.close_shops(closing)
        mer.active[closing] = False
        mer.exited[closing] = t
        model.today["merchant_exits"] += len(closing)


def apply_for_loans(model: MarketModel, t: int) -> None:
    """Shops ask for working capital when short of cash, and growing shops to stock up: from the
    platform's programme lender, which sees the shop's data, or else a third-party lender that lends
    blind."""
    rng = model.streams["credit"]
    mer, acc = model.merchants, model.accounts
    p = model.scenario.merchants
    n = mer.n
    model.credit.sync_shop_loans()
    cash = acc["merchant_cash"].balance[:n]
    short = cash < p.loan_need_days * mer.fixed_cost[:n]
    growing = (mer.trend[:n] > 0) & (rng.random(n) < p.growth_borrowing)
    want = (mer.active[:n] & ~mer.has_loan[:n] & ~mer.restricted[:n] & ~mer.defaulted[:n]
            & (short | growing)).nonzero()[0]
    if len(want) == 0:
        return
    amount = p.loan_months * np.maximum(mer.sales_last_month[want], 0.5 * model.expected_month_sales(want))
    third_party = [lender for lender in model.lender_list if lender.params.merchant_loans]
    if third_party:
        shop_book = model.credit.merchant.outstanding_by_lender(len(model.lender_list))
    for plat in model.platform_list:
        here = mer.platform[want] == plat.index
        if not np.count_nonzero(here):
            continue
        ids, amt = want[here], amount[here]
        programme = plat.merchant_lender()
        if programme is not None:
            lender, _ = programme
            noise = rng.standard_normal(len(ids)).astype(np.float32)
            cover = plat.params.finance.merchant_cash_flow_cover
            # The cash-flow test is the programme's underwriting, as the score is: a shop failing it is
            # refused, and not counted among the lender's approvals (the leverage room, below, is funding).
            short_of_cash = (~_cash_flow_covers(model, ids, amt / lender.params.merchant_loan_terms, cover)
                             if cover > 0 else None)
            ok = lender.approve(mer.risk[ids], noise, True, lender.params.merchant_loan_terms, shops=True,
                                refused=short_of_cash)
            ok = model.credit.within_capacity(lender, amt, ok)
            model.credit.originate_merchant(lender, plat.index, ids[ok], amt[ok], t)
            continue
        for lender in third_party:
            if lender.lending_room() <= 0 or len(ids) == 0:
                continue
            ok = lender.approve(mer.risk[ids], rng.standard_normal(len(ids)).astype(np.float32), False,
                                lender.params.merchant_loan_terms, shops=True)
            # Shop loans made blind are a side line: capped at a share of the lender's book.
            room = lender.params.merchant_book_share * lender.book - shop_book[lender.index]
            ok = model.credit.within_capacity(lender, amt, ok, limit=max(room, 0.0))
            model.credit.originate_merchant(lender, -1, ids[ok], amt[ok], t)
            shop_book[lender.index] += float(amt[ok].sum())
            ids, amt = ids[~ok], amt[~ok]


def _cash_flow_covers(model: MarketModel, ids: np.ndarray, instalment: np.ndarray, cover: float) -> np.ndarray:
    """The programme's cash-flow test: last month's gross profit on settled sales after the platform's
    commission (what reached the shop), less a month of fixed costs, is at least `cover` instalments. Only
    a lender that sees the shop's sales can apply it, so it is what lets the platform's merchant data screen
    out shops short of cash because sales fell (the static risk score does not drive a shop's failure; its
    demand does)."""
    mer = model.merchants
    kept = 1.0 - model.settlement.take_rate[mer.platform[ids]]
    profit = model.scenario.merchants.gross_margin * kept * mer.sales_last_month[ids] - MONTH * mer.fixed_cost[ids]
    return profit >= cover * instalment


def open_shops(model: MarketModel, t: int) -> None:
    """New shops enter each platform at the base rate plus the platform's own growth."""
    rng = model.streams["merchants"]
    mer = model.merchants
    base = model.scenario.merchants.entry_rate
    active = np.bincount(mer.platform[: mer.n][mer.active[: mer.n]], minlength=len(model.platform_list))
    counts = []
    for p in model.platform_list:
        rate = base + max(p.params.merchant_growth, -1.0) / 365.0
        counts.append(rng.poisson(max(rate, 0.0) * max(active[p.index], 1)))
    total = int(sum(counts))
    if total == 0:
        return
    platform = np.repeat(np.arange(len(counts)), counts)
    if mer.n + total > mer.capacity:
        check_shop_growth(mer.n + total, t, settlement_slots=model.settlement.ring, checking=model.check_invariants)
    old_capacity = mer.capacity
    ids = mer.add(model.scenario, rng, total, t, model.expected_sales, platform=platform)
    if mer.capacity != old_capacity:
        model.resize_merchant_accounts()
    cash = model.scenario.merchants.initial_cash_days * mer.fixed_cost[ids].astype(np.float64)
    model.ledger.transfer("shop_capital", model.accounts["outside"], model.accounts["merchant_cash"], cash, None,
                          ids, dst_unique=True)
    # It posts its deposit at entry, as a starting shop is endowed with it (tiered on its expected monthly
    # sales): paid out of its working capital at its first month end, the deposit emptied its cash.
    deposit = model.settlement.required_deposit(ids, model.expected_month_sales(ids))
    model.ledger.transfer("shop_capital", model.accounts["outside"], model.accounts["merchant_deposit"], deposit,
                          None, ids, dst_unique=True)
    model.today["merchant_entries"] += total
