"""MarketModel: builds a market from a Scenario; one step is one day of fixed, documented stages."""

from __future__ import annotations

import numbers
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.agent import AgentSet

from sim import commerce, households, invariants, metrics, shops
from sim.agents import Consumers, Lender, Merchants, Platform, Restructurer
from sim.finance import intermediaries, repayment
from sim.finance.accounts import Account, Ledger
from sim.finance.collections import Collections
from sim.finance.credit import Credit
from sim.finance.regulation import apply_events
from sim.finance.settlement import Settlement
from sim.parameters import apply_flat
from sim.rng import spawn_streams
from sim.scenario import Event, Scenario
from sim.scenario_files import Layers, ScenarioError, scenario_of, validated
from sim.scenario_files.common import whole_number

MONTH = 30


def _check_rng(rng: object) -> None:
    """`rng` is None, a whole number >= 0 (a NumPy integer too) or a SeedSequence: what seeds `sim.rng`'s streams
    and the scenario a run reports. Else a one-line error naming `rng` (NumPy's own is about its SeedSequence)."""
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return
    whole_number(rng, "MarketModel: rng", 0,
                 "a whole number >= 0, a numpy.random.SeedSequence, or None (the scenario's seed)")


class HoldsScenario:
    """A Mesa model's `scenario` as our typed Scenario on every Mesa 3.x. Mesa 3.5's `Model` has a `scenario`
    property of its own that sets an attribute on whatever is assigned to it, which a pydantic Scenario refuses;
    listed before `mesa.Model` among the bases, this keeps ours beside it."""

    @property
    def scenario(self) -> Scenario:
        return self._market_scenario

    @scenario.setter
    def scenario(self, value: Scenario) -> None:
        self._market_scenario = value


class MarketModel(HoldsScenario, mesa.Model):
    """A Mesa model of platform finance.

    Platforms, lenders and debt-restructuring intermediaries are `mesa.Agent`s (few, with strategies);
    consumers and merchants are array populations (many, with vectorized rules). The market runs
    `scenario.burn_in_days` unrecorded days first so the loan book is seasoned; recorded days are
    numbered from 1.
    """

    def __init__(
        self,
        scenario: Scenario | str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        rng: int | np.random.SeedSequence | None = None,
        check_invariants: bool = False,
        **params: Any,
    ) -> None:
        """`scenario` is a `Scenario` (default: `Scenario()`), a scenario file's path (read as `run.py run` reads
        it) or a mapping of a scenario's keys (as `Scenario(**mapping)` takes them). `rng` seeds the run: a whole
        number >= 0 or a NumPy SeedSequence (default: the scenario's seed). `params` are flat parameter names (see
        `sim.parameters`), e.g. `consumers=5000, rate_cap=0.15`, applied on top of `scenario`; they make the model
        usable by `mesa.batch_run`. Bad input is a one-line `ScenarioError` (a ValueError) or TypeError."""
        # The model keeps a copy of its own: a Scenario changed after the model is built (the next variant in a
        # notebook loop) must change neither this run nor the scenario it reports; parts are read during the run.
        scenario = scenario_of(scenario, "MarketModel(scenario)").model_copy(deep=True) if scenario is not None \
            else Scenario()
        if params:
            scenario = apply_flat(scenario, params)
        _check_rng(rng)
        seed = scenario.seed if rng is None else rng
        if isinstance(seed, numbers.Integral):
            seed = int(seed)
            if seed != scenario.seed:  # so the scenario an output holds re-runs this run
                scenario = scenario.model_copy(update={"seed": seed})
        super().__init__(rng=seed)
        self.scenario = scenario
        self.seed = seed
        self.check_invariants = check_invariants
        self.streams = spawn_streams(seed)
        self.regulation = scenario.regulation.model_copy()
        self.t = 0  # days simulated, burn-in included
        self.today: defaultdict[str, float] = defaultdict(float)
        self.daily: dict[str, float] = {}

        self.consumers = Consumers.build(scenario, self.streams["population"])
        order = np.argsort(self.consumers.payday, kind="stable")
        counts = np.bincount(self.consumers.payday, minlength=MONTH)
        self.payday_groups = np.split(order, np.cumsum(counts)[:-1])

        self.platform_list = [Platform(self, k, p) for k, p in enumerate(scenario.platforms)]
        owners = {p.finance.license_lender: k for k, p in enumerate(scenario.platforms) if p.finance.license_lender}
        self.lender_list = [Lender(self, j, lp, owners.get(lp.name)) for j, lp in enumerate(scenario.lenders)]
        self.lender_by_name = {lend.name: lend for lend in self.lender_list}
        for lend in self.lender_list:
            if lend.owner is not None:
                lend.licensed = scenario.platforms[lend.owner].finance.holds_license or lend.kind != "platform"
        self.restructurer_list = [Restructurer(self, i, r) for i, r in enumerate(scenario.restructurers)]
        self.platforms = AgentSet(self.platform_list, random=self.random)
        self.lenders = AgentSet(self.lender_list, random=self.random)
        self.restructurers = AgentSet(self.restructurer_list, random=self.random)
        self.audience = self._audience()

        self.expected_sales = self._expected_sales_per_size()
        self.merchants = Merchants.build(scenario, self.streams["population"], self.expected_sales)
        self.credit = Credit(self, len(self.lender_list))
        self.settlement = Settlement(self)
        self.ledger = Ledger(check_unique=check_invariants)
        self._open_accounts()
        self._attach_money_views()
        self.collections = Collections(self)
        self._endow()
        self.datacollector = metrics.make_datacollector(self)

    @property
    def day(self) -> int:
        """Recorded day of the step in progress (<= 0 during burn-in)."""
        return self.t - self.scenario.burn_in_days + 1

    @property
    def accounts(self) -> dict[str, Account]:
        return self.ledger.accounts

    @property
    def book_by_lender(self) -> np.ndarray:
        return self.credit.book_by_lender

    # --- construction -------------------------------------------------------------------------

    def _audience(self) -> tuple[int, float]:
        """Consumers who use any platform, and their mean chance of visiting at least one on a day."""
        stay_away = np.ones(self.consumers.n, dtype=np.float64)
        for p in self.platform_list:
            stay_away[p.users] *= 1.0 - p.visit_probability_of(p.users)
        users = np.flatnonzero(self.consumers.platforms[: self.consumers.n])
        return len(users), float((1.0 - stay_away[users]).mean()) if len(users) else 0.0

    def expected_month_sales(self, shops: np.ndarray) -> np.ndarray:
        """Shops' expected sales a month: their platform's expected GMV a day per unit of size x size x a month.
        Starting shops' first deposit tier and entrants' deposit are set on it, and shop loans scale with it."""
        mer = self.merchants
        return self.expected_sales[mer.platform[shops]] * mer.size[shops] * MONTH

    def _expected_sales_per_size(self) -> np.ndarray:
        """Each platform's expected GMV a day per unit of shop size: sets shops' costs and loan sizes."""
        s = self.scenario
        shares = np.asarray([p.merchant_share for p in s.platforms], dtype=np.float64)
        if shares.sum() > 0:
            shops = s.merchants.count * shares / shares.sum()
        else:  # every share 0: shops are placed evenly (`Merchants.add`), so they are sized for an even split too
            shops = np.full(len(shares), s.merchants.count / max(len(shares), 1))
        out = np.zeros(len(s.platforms))
        for p, params in enumerate(s.platforms):
            users = len(self.platform_list[p].users)
            gmv = users * params.dau_ratio * params.purchase_rate * params.order_value
            out[p] = gmv / max(shops[p], 1.0)
        return out

    def _open_accounts(self) -> None:
        n_c, cap_m = self.consumers.n, self.merchants.capacity
        self.ledger.open("consumer", np.zeros(n_c))
        self.ledger.open("merchant_cash", np.zeros(cap_m))
        self.ledger.open("merchant_pending", np.zeros((self.settlement.ring, cap_m)))
        self.ledger.open("merchant_deposit", np.zeros(cap_m))
        self.ledger.open("platform", np.zeros(len(self.platform_list)))
        self.ledger.open("lender", np.zeros(len(self.lender_list)))
        self.ledger.open("restructurer", np.zeros(len(self.restructurer_list)))
        self.ledger.open("outside", np.zeros(1))

    def _attach_money_views(self) -> None:
        """Show ledger balances in `model.consumers[i]` and `model.merchants[i]`."""
        acc = self.accounts
        self.consumers.attach("cash", lambda i: float(acc["consumer"].balance[i]))
        self.merchants.attach("cash", lambda i: float(acc["merchant_cash"].balance[i]))
        self.merchants.attach("pending", lambda i: float(acc["merchant_pending"].balance[:, i].sum()))
        self.merchants.attach("deposit", lambda i: float(acc["merchant_deposit"].balance[i]))

    def resize_merchant_accounts(self) -> None:
        """Shop accounts follow the merchant population's capacity when it grows."""
        cap = self.merchants.capacity
        for name in ("merchant_cash", "merchant_deposit"):
            acc = self.accounts[name]
            new = np.zeros(cap)
            new[: len(acc.balance)] = acc.balance
            acc.balance = new
        pending = self.accounts["merchant_pending"]
        new = np.zeros((self.settlement.ring, cap))
        new[:, : pending.balance.shape[1]] = pending.balance
        pending.balance = new

    def _endow(self) -> None:
        """Starting balances come from the outside world, so the accounts sum to zero from day one."""
        s, acc, ledger = self.scenario, self.accounts, self.ledger
        c, mer = self.consumers, self.merchants
        rng = self.streams["population"]
        savings = c.buffer * (0.5 + 0.5 * rng.random(c.n))  # near the steady state of payday spending
        ledger.transfer("endowment", acc["outside"], acc["consumer"], savings.astype(np.float64), None, None)
        ids = np.arange(mer.n)
        ledger.transfer("endowment", acc["outside"], acc["merchant_cash"],
                        s.merchants.initial_cash_days * mer.fixed_cost[ids].astype(np.float64), None, ids,
                        dst_unique=True)
        mer.sales_last_month[ids] = self.expected_month_sales(ids)
        deposit = self.settlement.required_deposit(ids)
        ledger.transfer("endowment", acc["outside"], acc["merchant_deposit"], deposit, None, ids, dst_unique=True)
        cash = [s.institutional(p.cash_m) for p in s.platforms]
        ledger.transfer("endowment", acc["outside"], acc["platform"], np.asarray(cash), None, None)
        equity = [s.institutional(lend.params.equity_m) if lend.licensed else 0.0 for lend in self.lender_list]
        ledger.transfer("endowment", acc["outside"], acc["lender"], np.asarray(equity), None, None)
        ledger.new_day()

    # --- the day --------------------------------------------------------------------------------

    def step(self) -> None:
        """One recorded day. The first call also runs the unrecorded burn-in, so Mesa's `steps`
        counts recorded days and `running` turns False at the scenario's horizon."""
        self.burn_in()
        self._day()
        if self.day >= self.scenario.days + 1:
            self.running = False

    def burn_in(self, on_day: Callable[[], None] | None = None) -> None:
        """Run what is left of the unrecorded burn-in (called by the first `step`)."""
        while self.t < self.scenario.burn_in_days:
            self._day()
            if on_day is not None:
                on_day()

    def _day(self) -> None:
        """One day, in this order."""
        t, day = self.t, self.day
        recording = day >= 1
        if day == 1:  # the burn-in is over: lenders.csv counts the lenders' running totals from here
            for lend in self.lender_list:
                lend.mark_recording_start()
        self._new_day()
        if recording:
            apply_events(self, day)  # 1. calendar and timed events
        households.payday(self, t)  # 2. income and essentials
        households.shocks(self, t)  # 3. liquidity shocks create borrowing needs
        shops.update_demand(self)  # 4. shops' demand drifts
        needy_visitors = commerce.visit(self, t)  # 5. traffic
        commerce.shop(self, t)  # 6. shopping and checkout (BNPL offer)
        commerce.cash_loans(self, t, needy_visitors)  # 7. cash-loan applications and underwriting
        shops.apply_for_loans(self, t)  # 8. shop loans
        repayment.consumer_instalments(self, t, self.streams["repayment"])  # 9. instalments due
        repayment.merchant_instalments(self, t, self.streams["repayment"])
        self.settlement.release(t)  # 10. settlement, sweeps, freezes, early warning
        self.settlement.collect_arrears(t, self.streams["collections"])
        self.settlement.early_warning(t)
        shops.pay_costs_and_close(self, t)  # 11. shop costs, closures
        intermediaries.run_day(self, t)  # 12. intermediaries: ads, recruitment, complaints, settlements
        self.collections.run_day(t, recording)  # 13. collections, write-offs, NPL sales, recoveries
        self._books(t)  # 14. lender and platform books, licences
        if t % MONTH == MONTH - 1:
            self._month_end()
        shops.open_shops(self, t)  # 15. new shops
        if self.check_invariants:
            invariants.check(self)
        if recording:  # 16. metrics
            self.daily = metrics.compute(self, day)
            self.datacollector.collect(self)
        self.t += 1

    def _new_day(self) -> None:
        self.ledger.new_day()
        self.today.clear()
        for p in self.platform_list:
            p.new_day()

    def _books(self, t: int) -> None:
        for p in self.platform_list:
            p.pursue_license(t)
        for lend in self.lender_list:
            if lend.licensed or lend.book > 0:
                lend.fund_and_pay_costs()
            lend.check_capital(self.day)

    def _month_end(self) -> None:
        c, mer = self.consumers, self.merchants
        for p in self.platform_list:
            p.monthly_buyers = int(np.count_nonzero(c.bought_month & np.uint8(1 << p.index)))
        c.bought_month[:] = 0
        n = mer.n
        mer.sales_last_month[:n] = mer.sales_month[:n]
        mer.sales_month[:n] = 0.0
        self.settlement.retier_deposits()
        consumer_book = self.credit.consumer.outstanding_by_lender(len(self.lender_list))
        shop_book = self.credit.merchant.outstanding_by_lender(len(self.lender_list))
        for lend in self.lender_list:
            lend.review_underwriting(float(consumer_book[lend.index]), float(shop_book[lend.index]))

    def festival_multiplier(self, t: int) -> float:
        market = self.scenario.market
        day_of_year = (market.start_day_of_year - 1 + self.day - 1) % 365 + 1
        return market.festival_multiplier if day_of_year in market.festival_days else 1.0

    # --- running and results -------------------------------------------------------------------------

    def run(self, days: int | None = None) -> MarketModel:
        """Run the burn-in if not done, then `days` more recorded days (default: on to the scenario's horizon,
        counting days already stepped). Explicit `days` may go past the horizon: the market runs on and records
        every day (as `step` does, Mesa's convention); only `running` says the horizon was reached. `days` is a
        whole number >= 1 (a NumPy integer too); the burn-in alone is `burn_in()`."""
        if days is None:
            while self.running:
                self.step()
            return self
        days = whole_number(days, "run: days", 1, "a whole number >= 1 (the recorded days to run), or None (on to the "
                            "scenario's horizon)", ">= 1 (the recorded days to run; burn_in() runs only the burn-in)")
        for _ in range(days):
            self.step()
        return self

    # --- events added during a run -------------------------------------------------------------------

    def check_event(self, event: Event | Mapping[str, Any], *, label: str = "add_event") -> Event:
        """The event `add_event` would schedule, changing nothing; `ScenarioError` (one line, starting with
        `label`) if the scenario with the event appended to its `events` would not validate, or if its day is
        not in the future of this run."""
        given = event.model_dump(mode="json") if isinstance(event, Event) else \
            dict(event) if isinstance(event, Mapping) else event  # anything else: the schema says what it is not
        layers = Layers()  # no layer has set any key: a message names `label` where a file's names the file
        layers.data = self.scenario.model_dump(mode="json")
        layers.data["events"].append(given)
        scenario = validated(layers, label)
        new, at = scenario.events[-1], f"events.{len(scenario.events) - 1}.day"
        earliest = max(self.day, 1)  # the next recorded day to run: its events are applied as it starts
        if new.day < earliest:
            if earliest > self.scenario.days:
                raise ScenarioError(f"{label}: {at}: {new.day}: the run has ended (day {self.scenario.days} was its "
                                    "last recorded day), so no day is left for an event")
            raise ScenarioError(f"{label}: {at}: {new.day} is not in the future of this run (day {earliest - 1} "
                                f"has run); allowed: {earliest} to {self.scenario.days}")
        return new

    def add_event(self, event: Event | Mapping[str, Any], *, label: str = "add_event") -> Event:
        """Schedule a timed event (a crackdown, a rate cap, ...) on a future recorded day of a run in progress.

        Checked as `check_event` does (the scenario schema's rules, with the one-line message of a file's error);
        then `model.scenario` holds the event at the end of its `events`, which `apply_events` reads each
        recorded day, so the run is that of the scenario with the event at the end of its file's `events`.
        Returns the event as the scenario holds it."""
        new = self.check_event(event, label=label)
        self.scenario = self.scenario.model_copy(update={"events": [*self.scenario.events, new]})
        return new

    def market_table(self) -> pd.DataFrame:
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def platform_table(self) -> pd.DataFrame:
        return metrics.agent_table(self, Platform, metrics.PLATFORM_COLUMNS)

    def lender_table(self) -> pd.DataFrame:
        return metrics.agent_table(self, Lender, metrics.LENDER_COLUMNS)
