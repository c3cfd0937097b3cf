"""Consumers' money: income on payday, essentials, and liquidity shocks that create borrowing needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.binomial import binomial
from sim.uniques import unique

if TYPE_CHECKING:
    from sim.model import MarketModel

SHOCK_WEIGHT_CAP = 4.0  # thinning bound: no consumer is shocked more than 4x the base rate


def payday(model: MarketModel, t: int) -> None:
    """A thirtieth of consumers are paid each day: essentials are paid at once, cash above the savings
    buffer is mostly spent (outside the platforms), and old needs lapse."""
    c, acc = model.consumers, model.accounts
    paid = model.payday_groups[t % 30]
    if len(paid) == 0:
        return
    income = c.income[paid].astype(np.float64)
    model.ledger.transfer("income", acc["outside"], acc["consumer"], income, None, paid, dst_unique=True)
    essentials = np.minimum(income * c.essential_share[paid], np.maximum(acc["consumer"].balance[paid], 0.0))
    model.ledger.transfer("essentials", acc["consumer"], acc["outside"], essentials, paid)
    excess = np.maximum(acc["consumer"].balance[paid] - c.buffer[paid], 0.0)
    model.ledger.transfer("discretionary_spending", acc["consumer"], acc["outside"],
                          excess * model.scenario.consumers.spend_excess, paid)
    c.need[paid] = 0.0


def shocks(model: MarketModel, t: int) -> None:
    """Liquidity shocks by thinning: draw candidates at the top rate, keep each with its own weight."""
    rng = model.streams["shocks"]
    c, acc = model.consumers, model.accounts
    p = model.scenario.consumers
    if c.n == 0 or p.shock_rate == 0:
        return
    top = min(p.shock_rate * SHOCK_WEIGHT_CAP, 1.0)
    k = binomial(rng, c.n, top)
    cand = unique(rng.integers(0, c.n, size=k))
    hit = cand[rng.random(len(cand)) * SHOCK_WEIGHT_CAP < c.shock_weight[cand]]
    if len(hit) == 0:
        return
    size = p.shock_size * c.income[hit] * rng.exponential(1.0, size=len(hit))
    from_cash = np.minimum(size, np.maximum(acc["consumer"].balance[hit], 0.0))
    model.ledger.transfer("shock_expense", acc["consumer"], acc["outside"], from_cash, hit)
    c.need[hit] += size - from_cash
    model.today["shocks"] += len(hit)
