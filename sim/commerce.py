"""Traffic and checkout: who visits which platform, who buys from which shop, and how they pay.

All rules act on index arrays; there is no loop over consumers or orders. A consumer visits each
platform they use with their own daily probability. Visits are counted in aggregate; the visits
that lead somewhere (a purchase, a cash-loan application) are drawn consumer by consumer, so the
cost of a day grows with buyers and borrowers, not with the whole population.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import portable_math as pm
from sim.binomial import binomial
from sim.finance.credit import MIN_LOAN, MIN_NEED
from sim.finance.loans import BNPL
from sim.uniques import run_starts, unique

if TYPE_CHECKING:
    from sim.agents import Lender, Platform
    from sim.model import MarketModel

ORDER_VALUE_SIGMA = 0.7  # log-sd of order values around a platform's mean
CLAIM_SHARE_OF_REFUNDS = 0.1  # one claim for every ten refunds
CLAIM_COMPENSATION = 0.3  # share of the order value paid to the consumer from the deposit
_NONE = np.empty(0, dtype=np.intp)  # no rows (read-only)
_NONE.flags.writeable = False


def visit(model: MarketModel, t: int) -> list[np.ndarray]:
    """Count today's visits on each platform; return, per platform, the consumers short of cash and
    looking for a loan who visit it today.

    Visit counts are binomial draws with the users' mean visit probability (a Poisson-binomial sum
    approximated by a binomial); active consumers likewise, from each consumer's chance of visiting
    at least one platform.
    """
    rng = model.streams["traffic"]
    c = model.consumers
    # Counts first: their draws do not depend on how many consumers are short of cash.
    for p in model.platform_list:
        p.visits_today = binomial(rng, len(p.users), p.mean_visit_probability) if len(p.users) else 0
        revenue = p.visits_today * p.params.other_revenue_per_visit
        if revenue:
            model.ledger.transfer("other_revenue", model.accounts["outside"], model.accounts["platform"], revenue,
                                  None, p.index)
            p.book_revenue("other", revenue)
    n_any, p_any = model.audience
    model.today["active_consumers"] += binomial(rng, n_any, p_any) if n_any else 0
    # Consumers short of cash decide once a day whether to look for a loan, then visit as usual.
    needy = (c.need[: c.n] >= MIN_NEED).nonzero()[0]
    seekers = needy[rng.random(len(needy)) < model.scenario.consumers.cash_loan_appetite]
    return [seekers[rng.random(len(seekers), dtype=np.float32) < p.visit_probability_of(seekers)]
            for p in model.platform_list]


def draw_buyers(p: Platform, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Consumers who buy on platform `p` today: each user with chance visit x `rate`, drawn by
    thinning (candidates at the top chance, each kept with its own), so the work is proportional
    to the number of buyers."""
    top = p.top_visit_probability * rate
    if top <= 0 or len(p.users) == 0:
        return np.empty(0, dtype=np.int64)
    k = binomial(rng, len(p.users), min(top, 1.0))
    cand = rng.integers(0, len(p.users), size=k)
    keep = rng.random(k, dtype=np.float32) < p.relative_visit_probability[cand]
    return unique(p.users[cand[keep]])


def _draw_orders(p: Platform, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Platform `p`'s buyers today (`draw_buyers`) and the draws their orders take: an order-value noise each,
    and three uniforms each (rows: shop choice, BNPL preference, refunds and claims) in one call: the stream
    gives the same numbers as three calls of one per buyer each, in this order."""
    buyers = draw_buyers(p, rate, rng)
    noise = rng.standard_normal(len(buyers))
    return buyers, noise, rng.random((3, len(buyers)))


def shop(model: MarketModel, t: int) -> None:
    """Orders: a share of visitors buy; BNPL is offered at checkout where the platform has it."""
    rng = model.streams["shopping"]
    credit_rng = model.streams["credit"]
    c, mer, acc = model.consumers, model.merchants, model.accounts
    festival = model.festival_multiplier(t)
    mean_income = c.mean_income
    mean_income = mean_income if mean_income > 0 else 1.0  # a market without income still has prices
    refund_rates = np.asarray([cat.refund_rate for cat in model.scenario.merchants.categories])
    open_shops = (mer.active[: mer.n] & ~mer.restricted[: mer.n]).nonzero()[0]
    # All shopping draws come first, whatever happens at checkout, so that scenarios differing
    # only in credit or strategy see the same buyers, order values and shop-choice draws.
    draws = [_draw_orders(p, min(p.params.purchase_rate * festival, 1.0), rng) for p in model.platform_list]
    if not draws:  # no platform, no shopping
        return
    # Order values before the platform's mean, for all platforms' buyers at once: the same numbers, elementwise,
    # as platform by platform, in one call of `pm.exp` (some twenty array operations) instead of one per platform.
    everyone = np.concatenate([buyers for buyers, _, _ in draws])
    noise = np.concatenate([z for _, z, _ in draws])
    income_factor = np.sqrt(c.income[everyone] / mean_income)
    spread = pm.exp(ORDER_VALUE_SIGMA * noise - ORDER_VALUE_SIGMA**2 / 2)
    end = 0
    for p, (buyers, _, uniforms) in zip(model.platform_list, draws, strict=True):
        mine = slice(end, end + len(buyers))  # this platform's buyers in `everyone`
        end = mine.stop
        pick, prefer_draw, after_sale = uniforms
        shops_here = open_shops[mer.platform[open_shops] == p.index]
        if len(buyers) == 0 or len(shops_here) == 0:
            continue
        value = p.params.order_value * income_factor[mine] * spread[mine]
        weight = (mer.size[shops_here] * mer.demand[shops_here]).cumsum(dtype=np.float64)
        shop_of = shops_here[np.minimum(weight.searchsorted(pick * weight[-1]), len(shops_here) - 1)]
        cash = acc["consumer"].balance[buyers]
        liquid = cash >= value
        offer = p.bnpl_lender()
        pay_cash = paid = liquid  # without BNPL the liquid buyers pay cash and the others walk away
        bb = _NONE  # BNPL buyers (positions in `buyers`, increasing)
        rates, own = None, 1.0
        if offer is not None:
            lender, channel = offer
            ask = (~liquid | (prefer_draw < c.bnpl_preference_of(buyers))).nonzero()[0]
            if len(ask):
                who, asked = buyers[ask], value[ask]
                score_noise = credit_rng.standard_normal(len(ask)).astype(np.float32)
                ok = lender.approve(c.risk[who], score_noise, with_platform_data=channel == "own",
                                    terms=lender.params.bnpl_terms,
                                    refused=model.credit.refusals(lender, who, credit_rng))
                if np.count_nonzero(ok):  # limits and capacity only matter for approved applications
                    ok &= model.credit.consumer_limits(lender, who) >= asked
                    own = model.credit.own_share(channel, p.index, asked, ok)
                    ok = model.credit.within_capacity(lender, asked, ok, share=own)
                    bb = ask[ok]
                    if lender.quoted is not None:
                        rates = lender.quoted[ok]  # ask is sorted: aligned with the BNPL buyers below
            if len(bb):
                bnpl = np.zeros(len(buyers), dtype=bool)
                bnpl[bb] = True
                pay_cash = liquid & ~bnpl
                paid = bnpl | pay_cash
        slot = model.settlement.slot_for_sale(t, p.index)  # every sale here today waits in one slot
        # Cash orders: consumer -> shop's pending settlement.
        cb = pay_cash.nonzero()[0]
        cash_buyers, cash_value, cash_shops = buyers[cb], value[cb], shop_of[cb]
        model.ledger.transfer("purchase_cash", acc["consumer"], acc["merchant_pending"], cash_value, cash_buyers,
                              (slot, cash_shops))
        # BNPL orders: the lender pays the shop; the consumer owes the lender.
        if len(bb):
            bnpl_buyers, bnpl_value = buyers[bb], value[bb]
            model.credit.originate_consumer(
                lender, channel, p.index, BNPL, bnpl_buyers, bnpl_value, t,
                pay_to=("merchant_pending", (slot, shop_of[bb])), rates=rates, own=own,
            )
            c.bnpl_orders[bnpl_buyers] += 1
            model.today["bnpl_gmv"] += float(bnpl_value.sum())
        _refunds_and_claims(model, refund_rates, after_sale[cb], cash_buyers, cash_value, slot, cash_shops)
        paying = buyers[paid]
        c.orders[paying] += 1  # buyers are unique
        gmv = float(value[paid].sum())
        orders = len(paying)
        model.today["orders"] += orders
        model.today["gmv"] += gmv
        model.today["bnpl_orders"] += len(bb)
        model.today["abandoned_orders"] += len(paid) - orders
        p.orders_today += orders
        p.gmv_today += gmv
        p.bnpl_orders_today += len(bb)
        c.bought_month[paying] |= np.uint8(1 << p.index)


def _refunds_and_claims(model: MarketModel, refund_rates: np.ndarray, u: np.ndarray, buyers: np.ndarray,
                        value: np.ndarray, slot: int, shops: np.ndarray) -> None:
    """Some cash orders are refunded from the shop's pending balance (settlement `slot`); claims are
    paid from its deposit. `refund_rates` are by shop category."""
    if len(buyers) == 0:
        return
    mer, acc = model.merchants, model.accounts
    refund_rate = refund_rates[mer.category[shops]]
    # Orders refunded (u < rate) or claimed (rate <= u < rate x 1.1) are a few a day: find them first, then
    # tell the two apart among those few.
    hit = (u < refund_rate * (1 + CLAIM_SHARE_OF_REFUNDS)).nonzero()[0]
    refunded = claimed = 0.0
    if len(hit):
        refund = u[hit] < refund_rate[hit]
        some = hit[refund]
        if len(some):
            refunded = model.ledger.transfer("refund", acc["merchant_pending"], acc["consumer"], value[some],
                                             (slot, shops[some]), buyers[some], src_unique=False, dst_unique=True)
        some = hit[~refund]
        if len(some):
            pay = _within_balance(value[some] * CLAIM_COMPENSATION, shops[some], acc["merchant_deposit"].balance)
            claimed = model.ledger.transfer("claim", acc["merchant_deposit"], acc["consumer"], pay, shops[some],
                                            buyers[some], src_unique=False, dst_unique=True)
    model.today["refunds"] += refunded
    model.today["claims"] += claimed



def cash_loans(model: MarketModel, t: int, visitors: list[np.ndarray]) -> None:
    """Consumers short of cash after a shock apply for cash loans where they find them: the platform's
    own lender, its diversion partners, or loan ads. Each need may be spread over several lenders."""
    rng = model.streams["credit"]
    c, acc = model.consumers, model.accounts
    max_apps = model.scenario.consumers.max_applications
    tries = c.applications_today
    tries[:] = 0
    for p, seekers in zip(model.platform_list, visitors, strict=True):
        seekers = seekers[c.need[seekers] >= MIN_NEED]  # a loan on an earlier platform may have met the need
        if len(seekers) == 0:
            continue
        lenders = p.consumer_lenders()
        order = rng.permutation(len(lenders)) if lenders else []
        for j in order:
            lender, channel = lenders[j]
            open_ = ((c.need[seekers] >= MIN_NEED) & (tries[seekers] < max_apps)).nonzero()[0]
            if len(open_) == 0:
                break
            who = seekers[open_]
            tries[who] += 1
            if channel == "ads":
                _pay_per_click(model, lender, p, len(who))
            score_noise = rng.standard_normal(len(who)).astype(np.float32)
            ok = lender.approve(c.risk[who], score_noise, with_platform_data=channel == "own",
                                terms=lender.params.cash_loan_terms,
                                refused=model.credit.refusals(lender, who, rng))
            if not np.count_nonzero(ok):  # nobody approved: no amounts to size, nothing to fund
                continue
            amount = np.minimum(np.ceil(c.need[who] / MIN_LOAN) * MIN_LOAN, model.credit.consumer_limits(lender, who))
            ok &= amount >= MIN_LOAN
            own = model.credit.own_share(channel, p.index, amount, ok)
            ok = model.credit.within_capacity(lender, amount, ok, share=own)
            got, amt = who[ok], amount[ok]
            if len(got) == 0:
                continue
            rates = lender.quoted[ok] if lender.quoted is not None else None
            model.credit.originate_consumer(lender, channel, p.index, 1, got, amt, t, rates=rates, own=own)
            # The loan pays the bill the shock left unpaid.
            spend = np.minimum(amt, c.need[got])
            model.ledger.transfer("shock_expense", acc["consumer"], acc["outside"], spend, got)
            c.need[got] -= spend
            model.today["cash_loans"] += len(got)


def _pay_per_click(model: MarketModel, lender: Lender, platform: Platform, clicks: int) -> None:
    cost = clicks * platform.params.loan_ad_click_price
    if cost:
        model.ledger.transfer("lender_ads", model.accounts["lender"], model.accounts["platform"], cost,
                              lender.index, platform.index)
        platform.book_revenue("lender_ads", cost)
        lender.totals["ad_spend"] += cost


def _within_balance(want: np.ndarray, holders: np.ndarray, balance: np.ndarray) -> np.ndarray:
    """What each of several debits (in order) can take from its holder's balance when a holder may
    appear more than once: each gets what its holder has left after the earlier ones."""
    if len(holders) == 1:  # the usual case (one claim at a time): what the general case gives for one debit
        return np.minimum(np.maximum(balance[holders], 0.0), want)  # clipped to [0, want], as below
    order = np.argsort(holders, kind="stable")
    h, w = holders[order], want[order]
    taken = np.cumsum(w) - w  # before each debit, within the sorted run
    first = run_starts(h)
    taken -= np.maximum.accumulate(np.where(first, taken, 0.0))  # restart at each holder
    out = np.empty_like(w)
    out[order] = np.minimum(np.maximum(np.maximum(balance[h], 0.0) - taken, 0.0), w)  # np.clip, without its wrapper
    return out
