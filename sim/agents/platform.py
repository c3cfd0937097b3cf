"""Platforms: own the traffic and the merchant data, sell ads, and choose how to make money from credit."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.scenario import PlatformParams

if TYPE_CHECKING:
    from sim.agents.lender import Lender
    from sim.model import MarketModel

REVENUE_SOURCES = ("commission", "other", "lender_ads", "restructurer_ads", "diversion_fees", "lending",
                   "co_lending_fees")
FINANCE_SOURCES = ("lender_ads", "diversion_fees", "lending", "co_lending_fees")


class Platform(mesa.Agent):
    """A platform with a finance strategy (`none | traffic_diversion | own_license`), products,
    a deposit policy toward shops and an ad policy toward debt-restructuring intermediaries."""

    def __init__(self, model: MarketModel, index: int, params: PlatformParams) -> None:
        super().__init__(model)
        self.index = index
        self.params = params
        self.name = params.name
        self.strategy = params.finance.strategy
        self.restructurer_ad_policy = params.restructurer_ad_policy
        self.revenue = {k: 0.0 for k in REVENUE_SOURCES}
        self.revenue_today = {k: 0.0 for k in REVENUE_SOURCES}
        self.license_ready_day: int | None = None
        self.license_denied = False
        self._owns_lender = params.finance.holds_license
        self.users = model.consumers.users_of(index)
        chance = np.minimum(params.dau_ratio * model.consumers.activity[self.users], 1.0).astype(np.float32)
        self.mean_visit_probability = float(chance.mean()) if len(chance) else 0.0
        self.top_visit_probability = float(chance.max()) if len(chance) else 0.0
        self.relative_visit_probability = chance / max(self.top_visit_probability, 1e-12)
        self._visit_chance = np.zeros(model.consumers.n, dtype=np.float32)
        self._visit_chance[self.users] = chance
        self.active_merchants = 0
        self.monthly_buyers = 0
        self._channels: dict[tuple[str, bool], list[tuple[Lender, str]]] = {}
        self.new_day()

    def visit_probability_of(self, consumers: np.ndarray) -> np.ndarray:
        """Each consumer's chance of visiting this platform on a day (0 for non-users)."""
        return self._visit_chance[consumers]

    # --- who lends on this platform ------------------------------------------------------------

    def own_lender(self) -> Lender | None:
        name = self.params.finance.license_lender
        return self.model.lender_by_name.get(name) if name else None

    def lending_through_license(self) -> bool:
        lender = self.own_lender()
        return self.strategy == "own_license" and lender is not None and lender.licensed and lender.active

    def owns_lender(self) -> bool:
        """Whether its licence lender's income is this platform's: it holds the licence from the start, or has
        lent through it under `own_license` (a licence bought stays owned if the strategy changes later). A
        licence lender it only names, under another strategy, is not yet its own."""
        if not self._owns_lender and self.lending_through_license():
            self._owns_lender = True
        return self._owns_lender

    def partners(self) -> list[Lender]:
        """Its partner lenders; while it lends through its licence lender, not that lender, should the list name it
        (a partner bought, or named both ways): it would co-lend with itself and be tried twice for a cash loan."""
        own = self.params.finance.license_lender if self.lending_through_license() else None
        return [self.model.lender_by_name[n] for n in self.params.finance.partners if n != own]

    def consumer_lenders(self) -> list[tuple[Lender, str]]:
        """Lenders a consumer here can borrow cash from, with the channel: own licence, diversion or ads."""
        return [(lender, ch) for lender, ch in self._cash_loan_channels() if lender.lending_room() > 0]

    def _cash_loan_channels(self) -> list[tuple[Lender, str]]:
        """Who could lend cash here, before checking their room. It changes only with the strategy and
        the own lender's licence (parameters are fixed during a run), so it is kept per those."""
        key = (self.strategy, self.lending_through_license())
        if key not in self._channels:
            out: list[tuple[Lender, str]] = []
            if self.params.finance.cash_loans:
                if key[1]:
                    out.append((self.own_lender(), "own"))
                if self.strategy in ("traffic_diversion", "own_license"):
                    out += [(lender, "diversion") for lender in self.partners()]
            if self.params.lender_ads:
                taken = {lender.index for lender, _ in out}
                out += [(lender, "ads") for lender in self.model.lender_list
                        if lender.params.advertises and lender.index not in taken]
            self._channels[key] = out
        return self._channels[key]

    def bnpl_lender(self) -> tuple[Lender, str] | None:
        """Who funds BNPL at checkout: the platform's own lender, or its first partner under diversion."""
        if not self.params.finance.bnpl:
            return None
        if self.lending_through_license():
            return self.own_lender(), "own"
        if self.strategy == "traffic_diversion" and self.params.finance.partners:
            return self.partners()[0], "diversion"
        return None

    def merchant_lender(self) -> tuple[Lender, str] | None:
        """The lender of the platform's shop-loan programme (uses shop data and settlement control)."""
        if not self.params.finance.merchant_loans:
            return None
        if self.lending_through_license():
            return self.own_lender(), "own"
        if self.strategy in ("traffic_diversion", "own_license") and self.params.finance.partners:
            return self.partners()[0], "diversion"
        return None

    def restructurer_reach(self) -> float:
        """Share of an intermediary's ad reach this platform lets through."""
        policy = self.restructurer_ad_policy
        if policy == "allow":
            return 1.0
        if policy == "restrict":
            return self.params.restrict_factor
        if policy == "ban":
            return 0.0
        raise KeyError(policy)

    # --- licence ----------------------------------------------------------------------------------

    def pursue_license(self, day: int) -> None:
        """Under `own_license` without a licence: buy one (moratorium) or apply, and pay in the capital.

        Registered capital (RMB 1 bn, 5 bn across provinces) moves from the platform into its lender;
        the licence becomes usable after the acquisition delay. Until then, or if the platform cannot
        afford it, there is no own lending: cash loans go through its partners, and no BNPL.
        """
        lender = self.own_lender()
        if self.strategy != "own_license" or lender is None or lender.licensed or self.license_denied:
            return
        m = self.model
        if self.license_ready_day is None:
            reg = m.regulation
            fin = self.params.finance
            capital = m.scenario.institutional(
                reg.registered_capital_cross_m if fin.cross_province else reg.registered_capital_m
            )
            cost = m.scenario.institutional(fin.license_cost_m) if reg.license_moratorium else 0.0
            accounts = m.accounts
            if accounts["platform"].balance[self.index] < capital + cost:
                self.license_denied = True
                return
            m.ledger.transfer("license_cost", accounts["platform"], accounts["outside"], cost, self.index)
            m.ledger.transfer("registered_capital", accounts["platform"], accounts["lender"], capital,
                              self.index, lender.index)
            lender.min_capital = max(lender.min_capital, 0.5 * capital)
            self.license_ready_day = day + fin.license_delay_days
        if day >= self.license_ready_day:
            lender.licensed = True

    # --- revenue ------------------------------------------------------------------------------------

    def book_revenue(self, source: str, amount: float) -> None:
        self.revenue[source] += amount
        self.revenue_today[source] += amount

    def finance_revenue(self, today: bool = False) -> float:
        rev = self.revenue_today if today else self.revenue
        return math.fsum(rev[k] for k in FINANCE_SOURCES)

    def total_revenue(self, today: bool = False) -> float:
        rev = self.revenue_today if today else self.revenue
        return math.fsum(rev.values())

    def new_day(self) -> None:
        for k in self.revenue_today:
            self.revenue_today[k] = 0.0
        self.visits_today = 0
        self.orders_today = 0
        self.gmv_today = 0.0
        self.bnpl_orders_today = 0
