"""The consumer credit lifecycle written the plain Mesa way: one `mesa.Agent` per consumer.

This is the per-agent *reference* for the vectorized `sim.MarketModel`, and a teaching version of its
consumer rules. Every rule below follows the vectorized code (`sim/households.py`, `sim/commerce.py`,
`sim/finance/*.py`, `sim/agents/*.py`) and reads its parameters from the same `sim.Scenario`; the
module and function each rule mirrors is named in its docstring.

A day, for each consumer (in random order), is::

    payday -> liquidity shock -> visits and shopping (BNPL at checkout) -> cash-loan applications
    -> instalments due -> intermediary recruitment / settlement -> collections (contact or self-cure)
    -> charge-off -> NPL sale -> post-default recovery

and then each lender closes its books (funding cost, opex, capital check, month-end credit review)
and measures the complaint load that slows tomorrow's collections.

Simplifications (they do not touch the consumer credit rules):

* Merchants are abstract: every order finds a shop; refunds and claims use the category shares.
  Shop loans, settlement, deposits and shop entry/exit are not modelled.
* Platforms and intermediaries are plain objects; their revenue is not tracked.
* Lenders keep equity and book directly (equity = cash + book - debt); debt is book - equity when
  positive, which is what `Lender.balance_funding` converges to.
* The complaint drag on collections is measured at the end of the previous day (the vectorized
  model measures it just before collections on the same day).
* Timed events (`scenario.events`) and licence purchases are ignored: run it on markets without them.
* Each consumer's whole day runs before the next one's (Mesa's `shuffle_do`), so a repayment frees lending
  room for consumers who step later the same day. The vectorized model runs each stage for everyone (all
  cash loans before all instalments), so that room is lent the next day. Where lenders are leverage-bound
  the reference therefore makes more, smaller loans there (in a credit-stressed year at 5,000 consumers,
  40-50% of the micro-lenders' and cfc's loans used room freed earlier the same day); the amounts lent
  and the KPIs agree (`tests/test_reference_agreement.py`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import mesa

from sim.finance.intermediaries import MAX_DRAG
from sim.model import HoldsScenario
from sim.results import defined_ratio
from sim.scenario import LenderParams, PlatformParams, RestructurerParams, Scenario

MONTH = 30  # days between instalments, days in a pay cycle
SHOCK_WEIGHT_CAP = 4.0  # nobody is shocked more than 4x the base rate
ORDER_VALUE_SIGMA = 0.7  # log-sd of order values around a platform's mean
CLAIM_SHARE_OF_REFUNDS = 0.1  # one claim for every ten refunds
CLAIM_COMPENSATION = 0.3  # share of the order value a claim pays back
MIN_NEED = 50.0  # RMB: smaller unmet needs do not trigger a cash-loan search
LOAN_STEP = 100.0  # cash loans are asked for in multiples of RMB 100
LOSS_GIVEN_DEFAULT = 0.9  # what a lender expects to lose on a defaulted loan when it prices
MAX_SCORE_SHIFT = 2.0  # how far month-end credit reviews can tighten underwriting (logit)
BUREAU_VISIBILITY = {"platform": 1.0, "bank": 1.0, "consumer_finance": 0.8, "micro_lender": 0.4}
MIN_DPD_TO_RECRUIT = 15  # intermediaries target borrowers already in trouble
BUDGET_REFERENCE_M = 10.0  # ad budget (RMB m a year) that reaches ~63% of a platform's late users
EPS = 1e-6

ACTIVE, REPAID, CHARGED_OFF, SOLD, SETTLED = "active", "repaid", "charged_off", "sold", "settled"


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --- loans -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Loan:
    """One consumer loan (BNPL or cash) held by one lender; a co-lent purchase is two loans.

    Monthly instalments on a declining balance: instalment k pays 1/(remaining terms) of the current
    principal plus a month of interest on it. A missed instalment goes to arrears; the loan is
    delinquent from the first missed due day until its arrears are paid in full.
    """

    lender: ReferenceLender
    principal: float
    apr: float
    terms: int
    next_due: int
    outstanding: float = 0.0
    scheduled: int = 0  # instalments that have fallen due so far
    first_missed: int = -1  # due day of the oldest unpaid instalment, -1 when current
    arrears_principal: float = 0.0
    arrears_interest: float = 0.0
    status: str = ACTIVE
    claim: float = 0.0  # still collectable after write-off or sale
    written_off: float = 0.0

    @property
    def delinquent(self) -> bool:
        return self.status == ACTIVE and self.first_missed >= 0

    def dpd(self, t: int) -> int:
        return t - self.first_missed if self.first_missed >= 0 else 0

    def instalment(self) -> tuple[float, float]:
        """(principal, interest) falling due now (`LoanBook.instalment`)."""
        current = self.outstanding - self.arrears_principal
        return current / max(self.terms - self.scheduled, 1), current * self.apr * (MONTH / 365.0)

    def advance_schedule(self) -> None:
        self.scheduled += 1
        self.next_due = self.next_due + MONTH if self.scheduled < self.terms else -1

    def close_if_repaid(self) -> None:
        if self.outstanding <= EPS and self.next_due < 0 and self.arrears_interest <= EPS:
            self.outstanding = 0.0
            self.status = REPAID

    def zero_balance(self) -> None:
        self.outstanding = self.arrears_principal = self.arrears_interest = 0.0
        self.next_due = -1


# --- lenders, platforms, intermediaries ------------------------------------------------------------


class ReferenceLender(mesa.Agent):
    """A lender: underwrites with a noisy score, keeps a leverage limit, prices under the rate cap,
    pays funding and operating costs, and tightens underwriting when losses run high (`sim/agents/lender.py`)."""

    def __init__(self, model: ReferenceModel, index: int, params: LenderParams, owner: int | None) -> None:
        super().__init__(model)
        s = model.scenario
        self.index, self.params, self.kind, self.owner = index, params, params.kind, owner
        self.licensed = params.kind != "platform" or owner is None
        if owner is not None:
            self.licensed = s.platforms[owner].finance.holds_license or params.kind != "platform"
        self.equity = s.institutional(params.equity_m) if self.licensed else 0.0
        self.min_capital = s.institutional(params.min_capital_m)
        self.book = 0.0  # outstanding principal held
        self.active = True
        self.score_shift = 0.0
        self.write_offs = 0.0  # since the start
        self._write_offs_at_review = 0.0
        self.delinquent_loans = 0  # counted by consumers during the day, for the complaint drag
        self.client_loans = 0.0
        self.complaints = 0.0
        self.drag = 0.0  # share of collection contact lost to complaints

    def rate(self) -> float:
        return min(self.params.apr, self.model.scenario.regulation.rate_cap)

    def lending_room(self) -> float:
        """Principal it may still lend under its leverage limit."""
        if not (self.active and self.licensed):
            return 0.0
        return max(self.params.leverage_max * max(self.equity, 0.0) - self.book, 0.0)

    def fits(self, amount: float, plat: ReferencePlatform, channel: str) -> bool:
        """First come, first served within the leverage room, for the share of the loan it funds itself: an
        application that does not fit is turned away, and a later smaller one may still fit
        (`Credit.within_capacity`, `Credit.own_share`)."""
        return amount * plat.own_share(channel, amount) <= self.lending_room()

    def max_default_probability(self, terms: int) -> float:
        """The riskiest lifetime default probability worth lending at the capped rate:
        appetite x margin x (terms + 1) / 24 years of balance / LGD."""
        p = self.params
        margin = self.rate() - p.funding_rate - p.opex_rate
        return min(max(p.risk_appetite * margin * (terms + 1) / 24.0 / LOSS_GIVEN_DEFAULT, 0.0), 1.0)

    def approve(self, risk: float, with_platform_data: bool, terms: int) -> bool:
        """Score = true risk + noise (smaller with platform data) + review shift; approve below the
        logit of the admissible default probability."""
        sd = self.params.platform_data_noise if with_platform_data else self.params.score_noise
        score = risk + sd * self.random.gauss(0.0, 1.0) + self.score_shift
        pd_max = self.max_default_probability(terms)
        if pd_max <= 0.0:
            return False
        return pd_max >= 1.0 or score <= math.log(pd_max / max(1.0 - pd_max, 1e-12))

    def book_loss(self, amount: float) -> None:
        """Principal written off, settled away or sold unpaid (the book was already reduced)."""
        self.equity -= amount
        self.write_offs += amount

    def step(self) -> None:
        """End of day: funding cost on borrowed money, opex on the book, capital check; month-end review;
        complaint load measured for tomorrow's collections (`sim/finance/intermediaries._complain`)."""
        m = self.model
        if self.licensed or self.book > 0:
            debt = max(self.book - self.equity, 0.0)
            self.equity -= debt * self.params.funding_rate / 365.0 + self.book * self.params.opex_rate / 365.0
        if self.active and self.licensed and self.equity < self.min_capital:
            self.active = False
        if m.t % MONTH == MONTH - 1:
            self.review_underwriting()
        share = self.client_loans / self.delinquent_loans if self.delinquent_loans else 0.0
        self.drag = min(m.scenario.regulation.complaint_drag * share, MAX_DRAG)
        self.equity -= self.complaints * m.scenario.regulation.complaint_cost
        self.delinquent_loans, self.client_loans, self.complaints = 0, 0.0, 0.0

    def review_underwriting(self) -> None:
        """Tighten by 0.2 logit when last month's write-offs, annualised, exceed 80% of the margin;
        loosen by 0.1 when below 40%."""
        written = self.write_offs - self._write_offs_at_review
        self._write_offs_at_review = self.write_offs
        if self.book <= 0:
            return
        loss_rate = written * 12.0 / self.book
        margin = max(self.rate() - self.params.funding_rate - self.params.opex_rate, 1e-3)
        if loss_rate > 0.8 * margin:
            self.score_shift = min(self.score_shift + 0.2, MAX_SCORE_SHIFT)
        elif loss_rate < 0.4 * margin:
            self.score_shift = max(self.score_shift - 0.1, 0.0)


@dataclass
class ReferencePlatform:
    """Where consumers shop and find credit (`sim/agents/platform.py`)."""

    index: int
    params: PlatformParams
    lenders: list[ReferenceLender]
    by_name: dict[str, ReferenceLender] = field(default_factory=dict)
    _order_key: tuple = ()  # (day, channels) the order of the day was drawn for
    _order: list[tuple[ReferenceLender, str]] = field(default_factory=list)

    def own_lender(self) -> ReferenceLender | None:
        name = self.params.finance.license_lender
        return self.by_name.get(name) if name else None

    def through_license(self) -> bool:
        own = self.own_lender()
        return self.params.finance.strategy == "own_license" and own is not None and own.licensed and own.active

    def partners(self) -> list[ReferenceLender]:
        return [self.by_name[n] for n in self.params.finance.partners]

    def co_lender(self, channel: str, amount: float) -> ReferenceLender | None:
        """Under an own licence, the first partner with leverage room for the partners' share of a loan, which
        funds that share (`Credit.originate_consumer`); None when the platform's lender funds it all."""
        share = self.params.finance.co_lending_own_share
        if channel != "own" or share >= 1.0:
            return None
        return next((q for q in self.partners() if q.lending_room() >= (1.0 - share) * amount), None)

    def own_share(self, channel: str, amount: float) -> float:
        """The share of a loan its lender funds itself, so needs room for (`Credit.own_share`)."""
        return self.params.finance.co_lending_own_share if self.co_lender(channel, amount) else 1.0

    def bnpl_lender(self) -> tuple[ReferenceLender, str] | None:
        """BNPL at checkout: the platform's own lender, or its first partner under diversion."""
        fin = self.params.finance
        if not fin.bnpl:
            return None
        if self.through_license():
            return self.own_lender(), "own"  # type: ignore[return-value]
        if fin.strategy == "traffic_diversion" and fin.partners:
            return self.partners()[0], "diversion"
        return None

    def cash_lenders(self, t: int, rng: random.Random) -> list[tuple[ReferenceLender, str]]:
        """Cash lenders a user finds here today with their channel (own licence, diversion partner, loan
        ad), in the platform's order of the day, keeping only those with lending room. The order is drawn
        once a day and is the same for every user, as the platform lists its lenders one way a day
        (`commerce.cash_loans` draws one permutation per platform and day)."""
        fin = self.params.finance
        out: list[tuple[ReferenceLender, str]] = []
        if fin.cash_loans:
            if self.through_license():
                out.append((self.own_lender(), "own"))  # type: ignore[arg-type]
            if fin.strategy in ("traffic_diversion", "own_license"):
                out += [(lender, "diversion") for lender in self.partners()]
        if self.params.lender_ads:
            taken = {lender.index for lender, _ in out}
            out += [(lender, "ads") for lender in self.lenders
                    if lender.params.advertises and lender.index not in taken]
        key = (t, tuple((lender.index, ch) for lender, ch in out))
        if key != self._order_key:
            self._order_key, self._order = key, out[:]
            rng.shuffle(self._order)
        return [(lender, ch) for lender, ch in self._order if lender.lending_room() > 0]

    def restructurer_reach(self) -> float:
        return {"allow": 1.0, "restrict": self.params.restrict_factor, "ban": 0.0}[self.params.restructurer_ad_policy]


@dataclass
class ReferenceRestructurer:
    """A debt-restructuring intermediary: its ads reach late borrowers on the platforms that allow them."""

    index: int
    params: RestructurerParams
    reach: list[float]  # reach on each platform

    @property
    def active(self) -> bool:
        return self.params.active


# --- consumers -----------------------------------------------------------------------------------------


class ReferenceConsumer(mesa.Agent):
    """One consumer: income, essentials, shocks, shopping, borrowing, repaying, defaulting."""

    def __init__(self, model: ReferenceModel) -> None:
        super().__init__(model)
        s, rnd = model.scenario.consumers, model.random
        self.tier = rnd.choices((0, 1, 2), weights=s.tier_shares)[0]
        self.young = rnd.random() < s.young_share
        z = rnd.gauss(0.0, 1.0)  # idiosyncratic risk, standardised
        sigma = s.income_sigma
        self.income = s.tier_income[self.tier] * math.exp(sigma * rnd.gauss(0.0, 1.0) - sigma**2 / 2)
        self.essential_share = min(max(s.essential_share + s.essential_share_sd * (0.6 * z + 0.8 * rnd.gauss(0, 1)),
                                       0.2), 0.95)
        # Savings kept in cash; riskier people keep less (`Consumers.build`).
        self.buffer = s.buffer_months * self.income * math.exp(0.5 * rnd.gauss(0.0, 1.0) - 0.125 - 0.4 * z)
        self.risk = s.base_risk_logit + s.tier_risk_shift[self.tier] + s.young_risk_shift * self.young + s.risk_sd * z
        excess = self.risk - s.base_risk_logit
        logit_w = math.log(s.willingness / max(1 - s.willingness, 1e-9)) if s.willingness < 1 else 30.0
        self.willingness = logistic(logit_w - excess)  # riskier people pay less reliably
        self.shock_weight = min(math.exp(s.risk_shock_loading * 0.5 * excess), SHOCK_WEIGHT_CAP)
        self.activity = math.exp(0.5 * rnd.gauss(0.0, 1.0) - 0.125)
        self.payday = rnd.randrange(MONTH)
        self.bnpl_preference = s.bnpl_preference * (1.5 if self.young else 0.75)
        self.platforms = self._choose_platforms(model, z)
        self.cash = self.buffer * (0.5 + 0.5 * rnd.random())  # near the steady state of payday spending
        self.need = 0.0  # unmet liquidity need, RMB
        self.applications_today = 0  # lenders tried today for a cash need
        self.debt = 0.0  # outstanding principal over all loans
        self.loans: list[Loan] = []
        self.loans_in_arrears = 0
        self.open_claims = 0
        self.delinquent_since = -1  # day the current delinquency spell began
        self.contact_lost_after = math.inf  # days overdue after which collectors cannot reach me
        self.client_of: ReferenceRestructurer | None = None

    def _choose_platforms(self, model: ReferenceModel, z: float) -> list[ReferencePlatform]:
        """Use each platform with a probability matching its tier and age mix, tilted by risk:
        P ∝ reach x tier factor x age factor x exp(b z - b²/2) (`Consumers._assign_platforms`)."""
        s = model.scenario
        c = s.consumers
        pop_tier = [x / sum(c.tier_shares) for x in c.tier_shares]
        out = []
        for plat in model.platforms:
            p = plat.params
            reach = min(p.mau_m / s.market.real_population_m, 1.0)
            tier_factor = p.tier_shares[self.tier] / max(sum(p.tier_shares), 1e-12) / max(pop_tier[self.tier], 1e-12)
            age = p.young_share / max(c.young_share, 1e-12) if self.young else \
                (1 - p.young_share) / max(1 - c.young_share, 1e-12)
            tilt = math.exp(p.risk_shift * z - p.risk_shift**2 / 2)
            if self.random.random() < min(max(reach * tier_factor * age * tilt, 0.0), 1.0):
                out.append(plat)
        return out

    # --- the day -------------------------------------------------------------------------------------

    def step(self) -> None:
        t = self.model.t
        self.payday_income(t)
        self.liquidity_shock()
        visited = [p for p in self.platforms if self.random.random() < p.params.dau_ratio * self.activity]
        for plat in visited:
            self.shop(plat, t)
        # Short of cash? I decide once a day whether to look for a loan, then try where I visit.
        looking = self.need >= MIN_NEED and self.random.random() < self.model.scenario.consumers.cash_loan_appetite
        self.applications_today = 0
        for plat in visited if looking else []:
            self.seek_cash_loan(plat, t)
        self.pay_instalments(t)
        self.deal_with_intermediaries(t)
        self.collections(t)
        self.charge_off_and_sell(t)
        self.post_default_recovery(t)
        self.report_to_lenders()

    def payday_income(self, t: int) -> None:
        """On my payday (one day in 30) income arrives, essentials are paid at once, most cash above my
        savings buffer is spent outside the platforms, and old unmet needs lapse (`households.payday`)."""
        if t % MONTH != self.payday:
            return
        self.cash += self.income
        self.cash -= min(self.income * self.essential_share, max(self.cash, 0.0))
        self.cash -= max(self.cash - self.buffer, 0.0) * self.model.scenario.consumers.spend_excess
        self.need = 0.0

    def liquidity_shock(self) -> None:
        """With probability shock_rate x my shock weight, a bill of shock_size months of income
        (exponential) arrives; what cash cannot pay becomes an unmet need (`households.shocks`)."""
        p = self.model.scenario.consumers
        if self.random.random() >= p.shock_rate * self.shock_weight:
            return
        size = p.shock_size * self.income * self.random.expovariate(1.0)
        from_cash = min(size, max(self.cash, 0.0))
        self.cash -= from_cash
        self.need += size - from_cash
        self.model.counts["shocks"] += 1

    def shop(self, plat: ReferencePlatform, t: int) -> None:
        """A visit ends in an order with probability ~purchase_rate (x festival multiplier).

        The order value scales with the square root of my income. If the platform offers BNPL, I ask
        for it when I cannot pay cash or when I prefer it; the lender approves on score, my credit
        limit and its lending room. Otherwise I pay cash if I can, or abandon the order
        (`commerce.shop`)."""
        m = self.model
        rate = min(plat.params.purchase_rate * m.festival_multiplier(), 1.0)
        if self.random.random() >= 1.0 - math.exp(-rate):  # = sampling buyers with replacement
            return
        value = (plat.params.order_value * math.sqrt(self.income / m.mean_income)
                 * math.exp(ORDER_VALUE_SIGMA * self.random.gauss(0.0, 1.0) - ORDER_VALUE_SIGMA**2 / 2))
        liquid = self.cash >= value
        prefers_bnpl = self.random.random() < self.bnpl_preference
        offer = plat.bnpl_lender()
        if offer is not None and (not liquid or prefers_bnpl):
            lender, channel = offer
            terms = lender.params.bnpl_terms
            if (lender.approve(self.risk, channel == "own", terms) and not self.known_delinquent_to(lender)
                    and self.credit_limit(lender) >= value and lender.fits(value, plat, channel)):
                self.borrow(plat, lender, channel, value, terms, t)  # the lender pays the shop
                m.counts["orders"] += 1
                m.counts["bnpl_orders"] += 1
                return
        if not liquid:
            return  # abandoned
        self.cash -= value
        m.counts["orders"] += 1
        u = self.random.random()
        refund_rate = self.random.choices(m.refund_rates, weights=m.category_shares)[0]
        if u < refund_rate:
            self.cash += value  # refunded
        elif u < refund_rate * (1 + CLAIM_SHARE_OF_REFUNDS):
            self.cash += value * CLAIM_COMPENSATION  # claim paid from the shop's deposit

    def seek_cash_loan(self, plat: ReferencePlatform, t: int) -> None:
        """I look for a cash loan here, trying the lenders I find in the platform's order of the day, at most
        max_applications in a day over all platforms. Each approved loan (need rounded up to RMB 100,
        within my limit) pays the bill (`commerce.cash_loans`)."""
        p = self.model.scenario.consumers
        lenders = plat.cash_lenders(t, self.model.random)
        for lender, channel in lenders:
            if self.need < MIN_NEED or self.applications_today >= p.max_applications:
                break
            self.applications_today += 1
            if channel == "ads":  # the lender pays the platform per click
                lender.equity -= plat.params.loan_ad_click_price
            terms = lender.params.cash_loan_terms
            approved = lender.approve(self.risk, channel == "own", terms) and not self.known_delinquent_to(lender)
            amount = min(math.ceil(self.need / LOAN_STEP) * LOAN_STEP, self.credit_limit(lender))
            if not approved or amount < LOAN_STEP or not lender.fits(amount, plat, channel):
                continue
            self.borrow(plat, lender, channel, amount, terms, t)
            self.cash += amount
            spend = min(amount, self.need)
            self.cash -= spend
            self.need -= spend
            self.model.counts["cash_loans"] += 1

    def known_delinquent_to(self, lender: ReferenceLender) -> bool:
        """Whether the lender sees that I am in a delinquency spell, and so refuses me: always when I am behind
        on (or owe on a written-off) loan of its own; otherwise when the bureau it queries shows it, with the
        bureau visibility of its kind (`Credit.seen_delinquent`)."""
        if not lender.params.checks_delinquency or self.delinquent_since < 0:
            return False
        if self.random.random() < BUREAU_VISIBILITY[lender.kind]:
            return True
        return any(loan.lender is lender and (loan.delinquent or loan.claim > 0) for loan in self.loans)

    def credit_limit(self, lender: ReferenceLender) -> float:
        """limit_months of income less the debt the lender can see: its own loans in full, the bureau's share of
        the others, within the legal per-person balance limit (`Credit.consumer_limits`)."""
        visibility = BUREAU_VISIBILITY[lender.kind]
        mine = sum(loan.outstanding for loan in self.loans if loan.lender is lender) if visibility < 1.0 else 0.0
        seen = self.debt * visibility + (1.0 - visibility) * mine
        own = lender.params.limit_months * self.income - seen
        legal = self.model.scenario.regulation.balance_limit - self.debt
        return max(min(own, legal), 0.0)

    def borrow(self, plat: ReferencePlatform, lender: ReferenceLender, channel: str, amount: float, terms: int,
               t: int) -> None:
        """Book the loan. Through an own licence the platform's lender keeps its co-lending share and its
        first partner with room funds the rest (all of it at a share of 0) and pays the platform the co-lending
        fee on its part; under diversion the lender pays the platform a fee on the whole loan
        (`Credit.originate_consumer`)."""
        fin = plat.params.finance
        split = [(lender, 1.0)]
        partner = plat.co_lender(channel, amount)
        if partner is not None:
            own = fin.co_lending_own_share
            split = [(lender, own), (partner, 1.0 - own)] if own > 0.0 else [(partner, 1.0)]
        for funder, share in split:
            part = amount * share
            self.loans.append(Loan(funder, part, funder.rate(), terms, t + MONTH, outstanding=part))
            funder.book += part
        if channel == "diversion":
            lender.equity -= amount * fin.diversion_fee
        elif partner is not None:
            partner.equity -= amount * (1.0 - fin.co_lending_own_share) * fin.co_lending_fee
        self.debt += amount
        self.model.counts["amount_originated"] += amount

    def reduce_principal(self, loan: Loan, amount: float) -> None:
        loan.outstanding -= amount
        loan.lender.book -= amount
        self.debt -= amount

    def pay_instalments(self, t: int) -> None:
        """All instalments due today are paid from cash, or all are missed: I pay if I have the cash for
        all of them, am willing today, and am not an intermediary's client (told to stop paying).
        A first miss starts a delinquency spell with a Weibull time after which I cannot be reached
        (`repayment.consumer_instalments`, `Collections.consumers_fell_behind`)."""
        due = [loan for loan in self.loans if loan.status == ACTIVE and loan.next_due == t]
        if not due:
            return
        parts = [loan.instalment() for loan in due]
        total = sum(p + i for p, i in parts)
        pays = self.cash >= total and self.random.random() < self.willingness and self.client_of is None
        for loan, (principal, interest) in zip(due, parts, strict=True):
            loan.advance_schedule()
            if pays:
                self.cash -= principal + interest
                self.reduce_principal(loan, principal)
                loan.lender.equity += interest
                loan.close_if_repaid()
            else:
                loan.arrears_principal += principal
                loan.arrears_interest += interest
                if loan.first_missed < 0:
                    loan.first_missed = t
                    self.loans_in_arrears += 1
                    self.start_spell(t)

    def start_spell(self, t: int) -> None:
        if self.delinquent_since >= 0:
            return
        c = self.model.scenario.collections
        lost_after = c.contact_scale_days * (-math.log1p(-self.random.random())) ** (1.0 / c.contact_shape)
        if self.client_of is not None:
            lost_after /= self.client_of.params.contact_loss
        self.delinquent_since, self.contact_lost_after = t, lost_after

    def end_spell_if_clear(self) -> None:
        if self.loans_in_arrears == 0 and self.open_claims == 0:
            self.delinquent_since, self.contact_lost_after = -1, math.inf

    def reachable(self, t: int) -> bool:
        return self.delinquent_since >= 0 and t - self.delinquent_since < self.contact_lost_after

    def loans_to_settle(self) -> list[Loan]:
        """Loans an intermediary can settle: still on the book, or charged off with a claim left (not sold)."""
        return [loan for loan in self.loans if loan.status == ACTIVE or (loan.status == CHARGED_OFF and loan.claim > 0)]

    def deal_with_intermediaries(self, t: int) -> None:
        """Recruitment: 15+ days into a spell, an intermediary whose ads reach me on a platform I use
        signs me with probability conversion x reach, if I have a loan it can settle; I pay its upfront fee and
        become harder to reach.
        Settlement: a client's debts are settled at the lender's haircut with what cash I have; the rest
        is forgiven (written off) and the intermediary takes a success fee (`sim/finance/intermediaries.py`)."""
        m = self.model
        if self.client_of is None:
            if self.delinquent_since < 0 or self.delinquent_since > t - MIN_DPD_TO_RECRUIT:
                return
            chances = []
            for r in m.restructurers:
                miss = 1.0
                for plat in self.platforms:
                    miss *= 1.0 - r.reach[plat.index]
                chances.append(r.params.conversion * (1.0 - miss))
            total = sum(chances)
            if total <= 0 or self.random.random() >= total:
                return
            r = self.random.choices(m.restructurers, weights=chances)[0]
            if not self.loans_to_settle():  # all sold: nothing to settle, turned away (after the draws, as there)
                return
            self.cash -= min(r.params.upfront_fee, max(self.cash, 0.0))
            age = t - self.delinquent_since
            self.contact_lost_after = age + max(self.contact_lost_after - age, 0.0) / r.params.contact_loss
            self.client_of = r
            m.counts["signups"] += 1
        r = self.client_of  # a client (new ones too) may get a settlement today
        if self.random.random() >= r.params.settlement_rate:
            return
        self.client_of = None
        open_loans = self.loans_to_settle()
        if not open_loans:
            return
        on_book = [loan.outstanding + loan.arrears_interest if loan.status == ACTIVE else loan.claim
                   for loan in open_loans]
        offers = [(1.0 - loan.lender.params.settlement_haircut) * owed
                  for loan, owed in zip(open_loans, on_book, strict=True)]
        total_offer = sum(offers)
        afford = min(1.0, max(self.cash, 0.0) / total_offer) if total_offer > 0 else 1.0
        forgiven_total = 0.0
        for loan, offer, owed in zip(open_loans, offers, on_book, strict=True):
            pay = offer * afford
            self.cash -= pay
            forgiven_total += owed - pay
            if loan.status == ACTIVE:
                interest = min(pay, loan.arrears_interest)
                principal = min(pay - interest, loan.outstanding)
                self.reduce_principal(loan, principal)
                loan.lender.equity += interest
                forgiven = loan.outstanding
                self.reduce_principal(loan, forgiven)
                loan.lender.book_loss(forgiven)
                loan.written_off += forgiven
                if loan.first_missed >= 0:
                    self.loans_in_arrears -= 1
                loan.zero_balance()
                loan.claim = 0.0
                loan.status = SETTLED
                m.counts["charged_off_principal"] += forgiven
            else:
                loan.lender.equity += pay
                loan.claim = 0.0
                self.open_claims -= 1
                m.counts["recoveries"] += pay
        self.cash -= min(r.params.success_fee * forgiven_total, max(self.cash, 0.0))
        self.end_spell_if_clear()

    def collections(self, t: int) -> None:
        """Each delinquent loan's lender contacts me if I am reachable (chance collection_intensity,
        less the complaint drag, at a cost); on my payday I may also cure on my own (self_cure_rate).
        Of the loans that reached me I pay all the arrears if I have the cash and the will, or none
        (`Collections._collect_delinquent`)."""
        late = [loan for loan in self.loans if loan.delinquent]
        if not late:
            return
        reach = self.reachable(t)
        cure_rate = self.model.scenario.consumers.self_cure_rate
        tried = []
        for loan in late:
            lender = loan.lender
            contacted = reach and self.random.random() < lender.params.collection_intensity * (1.0 - lender.drag)
            if contacted:
                lender.equity -= lender.params.collection_cost
            self_cure = t % MONTH == self.payday and self.random.random() < cure_rate
            if contacted or self_cure:
                tried.append(loan)
        if not tried:
            return
        owed = [loan.arrears_principal + loan.arrears_interest for loan in tried]
        if not (self.client_of is None and self.random.random() < self.willingness and self.cash >= sum(owed)):
            return
        for loan, amount in zip(tried, owed, strict=True):
            self.cash -= amount
            self.reduce_principal(loan, loan.arrears_principal)
            loan.lender.equity += loan.arrears_interest
            loan.arrears_principal = loan.arrears_interest = 0.0
            loan.first_missed = -1
            loan.close_if_repaid()
            self.loans_in_arrears -= 1
        self.end_spell_if_clear()

    def charge_off_and_sell(self, t: int) -> None:
        """At charge_off_dpd days past due the outstanding principal is written off and becomes a claim
        (plus unpaid interest). At npl_sale_dpd the claim is sold to an NPL buyer for npl_price x the
        defaulted principal (`Collections._charge_off`, `Collections._sell_npl`)."""
        m = self.model
        for loan in self.loans:
            lp = loan.lender.params
            if loan.delinquent and loan.dpd(t) >= lp.charge_off_dpd:
                amount = loan.outstanding
                self.reduce_principal(loan, amount)
                loan.lender.book_loss(amount)
                loan.written_off += amount
                loan.claim = amount + loan.arrears_interest
                loan.zero_balance()
                loan.status = CHARGED_OFF
                self.loans_in_arrears -= 1
                self.open_claims += 1
                m.counts["charged_off_principal"] += amount
        for loan in self.loans:
            lp = loan.lender.params
            sellable = (loan.status == CHARGED_OFF and loan.claim > 0) or loan.delinquent  # nothing left: not sold
            if sellable and lp.npl_sale_dpd > 0 and loan.dpd(t) >= lp.npl_sale_dpd:
                on_book = loan.outstanding
                if loan.status == ACTIVE:  # sold before write-off: the loss is booked now
                    self.reduce_principal(loan, on_book)
                    loan.lender.book_loss(on_book)
                    self.loans_in_arrears -= 1
                    self.open_claims += 1
                    loan.claim += on_book + loan.arrears_interest * (on_book > 0)
                    loan.zero_balance()
                # priced on the principal still claimable: what was recovered is not sold again
                price = min(loan.written_off + on_book, loan.claim) * lp.npl_price
                loan.status = SOLD
                loan.lender.equity += price
                m.counts["recoveries"] += price

    def post_default_recovery(self, t: int) -> None:
        """While I am reachable (and not an intermediary's client) collectors of my open claims — the
        lender at post_default_intensity x its intensity, or the NPL buyer — may reach me; I pay at most
        one claim a day, recovery_share of my cash (`Collections._recover_claims`)."""
        if self.open_claims == 0 or self.client_of is not None or not self.reachable(t):
            return
        c = self.model.scenario.collections
        for loan in self.loans:
            if loan.claim <= 0:
                continue
            sold = loan.status == SOLD
            intensity = c.npl_buyer_intensity if sold else \
                loan.lender.params.collection_intensity * c.post_default_intensity * (1.0 - loan.lender.drag)
            if self.random.random() >= intensity:
                continue
            pay = min(loan.claim, c.recovery_share * max(self.cash, 0.0))
            if pay <= 0:
                return
            self.cash -= pay
            loan.claim -= pay
            if not sold:
                loan.lender.equity += pay
                self.model.counts["recoveries"] += pay
            if loan.claim <= EPS:
                loan.claim = 0.0
                self.open_claims -= 1
                self.end_spell_if_clear()
            return

    def report_to_lenders(self) -> None:
        """Delinquent loans held by intermediaries' clients feed each lender's complaint load: the drag by the
        share of its late loans that clients hold, the complaints once per client and lender however many of its
        loans the client is behind on (`intermediaries._complain`)."""
        complained: set[int] = set()
        for loan in self.loans:
            if loan.delinquent:
                loan.lender.delinquent_loans += 1
                if self.client_of is not None:
                    loan.lender.client_loans += 1
                    if loan.lender.index not in complained:
                        complained.add(loan.lender.index)
                        loan.lender.complaints += self.client_of.params.complaints_per_client / 30.0
        if len(self.loans) > 8:  # forget settled history so the step stays short
            self.loans = [loan for loan in self.loans if loan.status == ACTIVE or loan.claim > 0]


# --- the model -----------------------------------------------------------------------------------------


class ReferenceModel(HoldsScenario, mesa.Model):  # HoldsScenario: Mesa 3.5's own `scenario`
    """The per-agent market: consumers step in random order, then lenders close their books."""

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        super().__init__(rng=seed)  # Mesa seeds `self.random` (stdlib) from it
        self.scenario = scenario
        self.t = 0
        s = scenario
        owners = {p.finance.license_lender: k for k, p in enumerate(s.platforms) if p.finance.license_lender}
        self.lenders = [ReferenceLender(self, j, lp, owners.get(lp.name)) for j, lp in enumerate(s.lenders)]
        by_name = {lend.params.name: lend for lend in self.lenders}
        self.platforms = [ReferencePlatform(k, p, self.lenders, by_name) for k, p in enumerate(s.platforms)]
        self.restructurers = []
        for i, rp in enumerate(s.restructurers):
            base = 1.0 - math.exp(-rp.ad_budget_m / BUDGET_REFERENCE_M)
            reach = [base * p.restructurer_reach() if rp.active else 0.0 for p in self.platforms]
            self.restructurers.append(ReferenceRestructurer(i, rp, reach))
        self.category_shares = [cat.share for cat in s.merchants.categories]
        self.refund_rates = [cat.refund_rate for cat in s.merchants.categories]
        self.consumers = [ReferenceConsumer(self) for _ in range(s.consumers.count)]
        self.mean_income = sum(c.income for c in self.consumers) / max(len(self.consumers), 1)
        self.consumer_set = self.agents_by_type[ReferenceConsumer]
        self.lender_set = self.agents_by_type[ReferenceLender]
        self.counts: dict[str, float] = {}
        self.rows: list[dict[str, float]] = []

    @property
    def day(self) -> int:
        return self.t - self.scenario.burn_in_days + 1

    def festival_multiplier(self) -> float:
        market = self.scenario.market
        day_of_year = (market.start_day_of_year - 1 + self.day - 1) % 365 + 1
        return market.festival_multiplier if day_of_year in market.festival_days else 1.0

    def step(self) -> None:
        self.counts = dict.fromkeys(("orders", "bnpl_orders", "amount_originated", "charged_off_principal",
                                     "recoveries", "cash_loans", "shocks", "signups"), 0.0)
        self.consumer_set.shuffle_do("step")
        self.lender_set.do("step")
        if self.day >= 1:
            self.rows.append({"day": self.day, **self.counts, "dpd90p_share": self.dpd90p_share()})
        self.t += 1

    def dpd90p_share(self) -> float | None:
        """Share of outstanding consumer principal more than 90 days past due (None with none outstanding)."""
        total = late = 0.0
        for c in self.consumers:
            for loan in c.loans:
                if loan.status == ACTIVE:
                    total += loan.outstanding
                    if loan.dpd(self.t) > 90:
                        late += loan.outstanding
        return defined_ratio(late, total)

    def run(self, days: int | None = None) -> ReferenceModel:
        days = self.scenario.days if days is None else days
        target = max(self.t, self.scenario.burn_in_days) + days
        while self.t < target:
            self.step()
        return self


# --- KPIs ---------------------------------------------------------------------------------------------------

KPIS = ("bnpl_uptake", "charge_off_rate", "dpd90p_share", "recovery_rate")


def kpis_from_totals(orders: float, bnpl_orders: float, originated: float, charged_off: float, recoveries: float,
                     dpd90p_share: float | None) -> dict[str, float | None]:
    """KPIs over the recorded days: BNPL share of orders, principal written off / principal lent,
    90+ share of consumer principal on the last day, recoveries / principal written off. A ratio with
    nothing to divide by is None, as in `sim.results.summarize` (a 0 would read as a measurement)."""
    return {
        "bnpl_uptake": defined_ratio(bnpl_orders, orders),
        "charge_off_rate": defined_ratio(charged_off, originated),
        "dpd90p_share": dpd90p_share,
        "recovery_rate": defined_ratio(recoveries, charged_off),
    }


def run_reference(scenario: Scenario, seed: int) -> dict[str, float | None]:
    """Run the per-agent reference (burn-in, then `scenario.days` recorded days) and return its KPIs."""
    model = ReferenceModel(scenario, seed).run()
    tot = {k: sum(row[k] for row in model.rows) for k in ("orders", "bnpl_orders", "amount_originated",
                                                          "charged_off_principal", "recoveries")}
    return kpis_from_totals(tot["orders"], tot["bnpl_orders"], tot["amount_originated"],
                            tot["charged_off_principal"], tot["recoveries"], model.rows[-1]["dpd90p_share"])


def consumer_dpd90p_share(model: object) -> float | None:
    """90+ share of outstanding *consumer* principal in a vectorized model on its last simulated day
    (the market table's `dpd90p_share` also counts shop loans, which the reference does not model)."""
    book = model.credit.consumer  # type: ignore[attr-defined]
    n = book.n
    active = book.status[:n] == 0
    out = book.outstanding[:n][active]
    first = book.first_missed[:n][active]
    t = model.t - 1  # type: ignore[attr-defined]
    late = (first >= 0) & (t - first > 90)
    return defined_ratio(float(out[late].sum()), float(out.sum()))


def run_vectorized(scenario: Scenario, seed: int) -> dict[str, float | None]:
    """Run `sim.MarketModel` and return the same KPIs, from its market table."""
    from sim import MarketModel

    model = MarketModel(scenario, rng=seed).run()
    df = model.market_table()
    return kpis_from_totals(float(df["orders"].sum()), float(df["bnpl_orders"].sum()),
                            float(df["amount_originated"].sum()), float(df["charged_off_principal"].sum()),
                            float(df["recoveries"].sum()), consumer_dpd90p_share(model))


def small_scenario(consumers: int = 2000, merchants: int = 60, days: int = 180, burn_in_days: int = 180) -> Scenario:
    """The baseline market at a small size (for the agreement test and quick looks)."""
    s = Scenario()
    s.consumers.count = consumers
    s.merchants.count = merchants
    s.days = days
    s.burn_in_days = burn_in_days
    return s


if __name__ == "__main__":
    import time

    scen = small_scenario()
    for label, fn in (("vectorized", run_vectorized), ("reference", run_reference)):
        start = time.perf_counter()
        kpis = {k: None if v is None else round(v, 4) for k, v in fn(scen, 1).items()}
        print(label, kpis, f"{time.perf_counter() - start:.1f} s")
