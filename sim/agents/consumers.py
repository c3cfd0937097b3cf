"""Consumers: who they are (city tier, age, income, latent risk, platforms used) and their credit state.

Held as arrays; the daily rules that act on them live in `sim/households.py`, `sim/commerce.py`
and `sim/finance/`.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from sim import portable_math as pm
from sim.agents.population import Population
from sim.scenario import Scenario

NOT_DELINQUENT = -1


def _logistic(x: np.ndarray) -> np.ndarray:
    return pm.logistic(x)


class Consumers(Population):
    columns: ClassVar[dict[str, tuple[type, Any]]] = {
        "tier": (np.int8, 0),  # 0 top (tier-1/new-tier-1/tier-2), 1 middle, 2 low
        "young": (np.bool_, False),  # under 30
        "income": (np.float32, 0.0),  # RMB a month
        "essential_share": (np.float32, 0.0),  # share of income spent on essentials
        "buffer": (np.float32, 0.0),  # savings kept, RMB; cash above it is spent on payday
        "risk": (np.float32, 0.0),  # latent default propensity over a loan's life, logit
        "willingness": (np.float32, 1.0),  # chance of paying a due instalment when cash allows
        "shock_weight": (np.float32, 1.0),  # relative exposure to liquidity shocks
        "activity": (np.float32, 1.0),  # relative daily activity
        "payday": (np.int8, 0),  # day of the 30-day month income arrives
        "platforms": (np.uint8, 0),  # bitmask of platforms used
        "need": (np.float64, 0.0),  # unmet liquidity need, RMB
        "debt": (np.float64, 0.0),  # outstanding principal across all lenders
        "loans_in_arrears": (np.int16, 0),
        "delinquent_since": (np.int32, NOT_DELINQUENT),  # day the current delinquency spell began
        "contact_lost_after": (np.float32, np.inf),  # days overdue after which the consumer cannot be reached
        "client_of": (np.int8, -1),  # restructurer index, -1 if none (the schema allows at most 127)
        "applications_today": (np.int8, 0),  # lenders tried today for a cash-loan need
        "bought_month": (np.uint8, 0),  # bitmask of platforms bought on this month
        "orders": (np.int32, 0),
        "bnpl_orders": (np.int32, 0),
        "loans_taken": (np.int32, 0),
    }

    @classmethod
    def build(cls, scenario: Scenario, rng: np.random.Generator) -> Consumers:
        """Draw a population whose platform audiences match each platform's demographics."""
        p = scenario.consumers
        n = p.count
        pop = cls(n)
        pop.tier[:] = rng.choice(3, size=n, p=np.asarray(p.tier_shares) / np.sum(p.tier_shares))
        pop.young[:] = rng.random(n) < p.young_share
        z = rng.standard_normal(n).astype(np.float32)  # idiosyncratic risk, standardised
        income_mean = np.asarray(p.tier_income, dtype=np.float64)[pop.tier]
        sigma = p.income_sigma
        pop.income[:] = income_mean * pm.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
        noise = rng.standard_normal(n)
        pop.essential_share[:] = np.clip(
            p.essential_share + p.essential_share_sd * (0.6 * z + 0.8 * noise), 0.2, 0.95
        )
        pop.buffer[:] = p.buffer_months * pop.income * pm.exp(0.5 * rng.standard_normal(n) - 0.125 - 0.4 * z)
        pop.risk[:] = (
            p.base_risk_logit
            + np.asarray(p.tier_risk_shift, dtype=np.float32)[pop.tier]
            + p.young_risk_shift * pop.young
            + p.risk_sd * z
        )
        excess = pop.risk - p.base_risk_logit
        # logit of the typical consumer's willingness; +/-30 stands for certainty (0 and 1 have no logit)
        w = p.willingness
        logit_w = 30.0 if w >= 1 else -30.0 if w <= 0 else math.log(w / (1 - w))
        pop.willingness[:] = _logistic(logit_w - excess)
        pop.shock_weight[:] = np.minimum(pm.exp(p.risk_shock_loading * 0.5 * excess), 4.0)
        pop.activity[:] = pm.exp(0.5 * rng.standard_normal(n) - 0.125)
        pop.payday[:] = rng.integers(0, 30, size=n)
        pop.preference = p.bnpl_preference
        pop._assign_platforms(scenario, z, rng)
        return pop

    def _assign_platforms(self, scenario: Scenario, z: np.ndarray, rng: np.random.Generator) -> None:
        """Membership probability reproduces each platform's tier and age mix and its risk tilt.

        A platform's users are tilted toward lower (or higher) idiosyncratic risk by exponential
        tilting: P(use | z) ∝ exp(b z - b²/2), which shifts their mean risk by b standard deviations.
        """
        c = scenario.consumers
        pop_tier = np.asarray(c.tier_shares) / np.sum(c.tier_shares)
        for k, plat in enumerate(scenario.platforms):
            reach = min(plat.mau_m / scenario.market.real_population_m, 1.0)
            tier_shares = np.asarray(plat.tier_shares) / max(np.sum(plat.tier_shares), 1e-12)
            tier_factor = (tier_shares / np.maximum(pop_tier, 1e-12))[self.tier]
            age_factor = np.where(
                self.young,
                plat.young_share / max(c.young_share, 1e-12),
                (1 - plat.young_share) / max(1 - c.young_share, 1e-12),
            )
            b = plat.risk_shift  # users' mean z moves by b: positive means riskier users
            tilt = pm.exp(b * z - b * b / 2)
            prob = np.clip(reach * tier_factor * age_factor * tilt, 0.0, 1.0)
            uses = rng.random(self.n) < prob
            self.platforms[uses] |= np.uint8(1 << k)

    @cached_property
    def mean_income(self) -> float:
        """Mean monthly income (0 without consumers); incomes are drawn once, so it is computed once."""
        return float(self.income[: self.n].mean()) if self.n else 0.0

    def bnpl_preference_of(self, ids: np.ndarray) -> np.ndarray:
        """Chance of choosing BNPL when liquid: young consumers use it more."""
        return self.preference * np.where(self.young[ids], 1.5, 0.75)

    def users_of(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.platforms & np.uint8(1 << k))
