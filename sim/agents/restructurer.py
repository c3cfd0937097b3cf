"""Debt-restructuring intermediaries: gray-market 'debt optimisation' firms that advertise on platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.scenario import RestructurerParams

if TYPE_CHECKING:
    from sim.model import MarketModel


class Restructurer(mesa.Agent):
    """Buys ads where platforms allow them, recruits delinquent borrowers for a fee, tells clients to
    stop paying, files template complaints, and settles some debts at a haircut."""

    def __init__(self, model: MarketModel, index: int, params: RestructurerParams) -> None:
        super().__init__(model)
        self.index = index
        self.params = params
        self.name = params.name
        self.active = params.active
        self.daily_budget = model.scenario.institutional(params.ad_budget_m) / 365.0
        self.clients_signed = 0
        self.fees = 0.0
        self.settlements = 0

    def reach_on(self, platform_reach: float) -> float:
        """Effective reach on a platform given its ad policy (0 when banned or after a crackdown)."""
        return platform_reach if self.active else 0.0

    def crack_down(self) -> None:
        self.active = False
