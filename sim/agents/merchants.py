"""Merchants (shops): category, size, demand trend, trading status and credit state, as arrays.

Money (cash, pending settlement, deposit) lives in the ledger; pending settlement is a ring of
daily slots so each sale is released after its platform's settlement delay.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim import portable_math as pm
from sim.agents.population import Population
from sim.scenario import Scenario

TREND_HALF_LIFE = 7.0  # days; smoothing of the demand change used by the early warning


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """`rng.choice(len(p), size=n, p=p)`, drawn the way NumPy's `Generator.choice` draws it (the normalised
    cumulative shares searched at `n` uniforms: the same numbers from the same draws), without its checks of
    `p`, which cost ten times the draw itself for the shop or two that open on a day."""
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(n), side="right")


class Merchants(Population):
    columns: ClassVar[dict[str, tuple[type, Any]]] = {
        "platform": (np.int8, -1),
        "category": (np.int8, 0),
        "size": (np.float32, 1.0),  # share of its platform's traffic, relative
        "demand": (np.float32, 1.0),  # current demand level, 1 at entry
        "drift": (np.float32, 0.0),  # log change of demand a day
        "risk": (np.float32, 0.0),  # category + idiosyncratic risk, logit
        "fixed_cost": (np.float32, 0.0),  # RMB a day
        "active": (np.bool_, False),
        "restricted": (np.bool_, False),  # trading restricted after missed instalments
        "frozen": (np.bool_, False),  # settlement held on risk
        "watch": (np.bool_, False),  # under post-loan check after an early warning
        "entered": (np.int32, 0),
        "exited": (np.int32, -1),
        "days_short": (np.int16, 0),  # days in a row the shop could not pay its costs
        "trend": (np.float32, 0.0),  # smoothed daily log change of demand
        "falling_days": (np.int16, 0),  # days in a row the smoothed trend was negative
        "sales_month": (np.float64, 0.0),  # settled sales this month
        "sales_last_month": (np.float64, 0.0),
        "has_loan": (np.bool_, False),  # an active shop loan (kept in step by Credit.sync_shop_loans)
        "defaulted": (np.bool_, False),  # defaulted on a platform programme loan
        "loans_taken": (np.int32, 0),
    }

    @classmethod
    def build(cls, scenario: Scenario, rng: np.random.Generator, expected_sales: np.ndarray) -> Merchants:
        """Draw the starting shops. `expected_sales[k]` is platform k's expected GMV per unit of size."""
        n = scenario.merchants.count
        pop = cls(0, capacity=max(16, n * 2))
        pop.add(scenario, rng, n, day=0, expected_sales=expected_sales)
        return pop

    def add(
        self, scenario: Scenario, rng: np.random.Generator, n: int, day: int, expected_sales: np.ndarray,
        platform: np.ndarray | None = None,
    ) -> np.ndarray:
        """Open `n` new shops; return their ids."""
        if n <= 0 or not scenario.platforms:
            return np.empty(0, dtype=np.int64)
        m = scenario.merchants
        start = self.n
        self.grow_to(start + n)
        ids = np.arange(start, start + n)
        self.n = start + n
        if platform is None:
            shares = np.asarray([p.merchant_share for p in scenario.platforms], dtype=np.float64)
            shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(shares), 1 / len(shares))
            platform = _choice(rng, shares, n)
        self.platform[ids] = platform
        cats = m.categories
        shares = np.asarray([c.share for c in cats], dtype=np.float64)
        cat_p = shares / shares.sum() if shares.sum() > 0 else np.full(len(cats), 1.0 / len(cats))
        self.category[ids] = _choice(rng, cat_p, n)
        sigma = m.size_sigma
        self.size[ids] = pm.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
        z = rng.standard_normal(n)
        cat_risk = np.asarray([c.risk for c in cats], dtype=np.float32)[self.category[ids]]
        self.risk[ids] = m.base_risk_logit + cat_risk + z
        # Riskier shops tend to decline: their demand drifts down.
        self.drift[ids] = m.drift_sd * (0.8 * rng.standard_normal(n) - 0.6 * z)
        self.demand[ids] = 1.0
        expected_gross = m.gross_margin * expected_sales[platform] * self.size[ids]
        self.fixed_cost[ids] = m.fixed_cost_share * expected_gross
        self.active[ids] = True
        self.entered[ids] = day
        return ids

    def update_trend(self, ids: np.ndarray, log_change: np.ndarray) -> None:
        alpha = 1 - 0.5 ** (1 / TREND_HALF_LIFE)
        trend = self.trend[ids]
        trend += alpha * (log_change - trend)
        self.trend[ids] = trend
        falling = trend < 0
        self.falling_days[ids] = np.where(falling, self.falling_days[ids] + 1, 0)
