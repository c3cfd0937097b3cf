"""Lenders: licensed micro-lenders (platform-owned or third-party), banks, consumer-finance companies."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import portable_math as pm
from sim.scenario import LenderParams

if TYPE_CHECKING:
    from sim.model import MarketModel

LOSS_GIVEN_DEFAULT = 0.9  # what a lender expects to lose on a defaulted loan when it prices
MAX_SCORE_SHIFT = 2.0  # logit; how far a credit review can tighten consumer underwriting
MAX_SHOP_SCORE_SHIFT = 4.0  # logit; shop lending can be all but shut when it keeps losing


class Lender(mesa.Agent):
    """Underwrites, funds, prices under the rate cap, collects, writes off, sells NPLs; exits when its
    capital is breached."""

    def __init__(self, model: MarketModel, index: int, params: LenderParams, owner: int | None) -> None:
        super().__init__(model)
        self.index = index
        self.params = params
        self.name = params.name
        self.kind = params.kind
        self.owner = owner  # index of the platform that names it its licence lender (owns it, or would), else None
        self.licensed = params.kind != "platform" or owner is None
        self.min_capital = model.scenario.institutional(params.min_capital_m)
        self.debt = 0.0  # funding borrowed from the outside world
        self.active = True
        self.exit_day: int | None = None
        self.complaints_today = 0.0
        self.totals = {k: 0.0 for k in ("interest", "fees_paid", "write_offs", "shop_write_offs", "npl_proceeds",
                                        "npl_principal_sold", "recoveries",
                                        "funding_cost", "opex", "collection_cost", "complaint_cost",
                                        "settlements", "originated", "ad_spend")}
        self.approvals = 0
        self.applications = 0
        self.mark_recording_start()  # all 0 now; noted again as the first recorded day begins
        # learned corrections to the score (logit), one per product: raised when its losses run high
        self.score_shift = 0.0
        self.shop_score_shift = 0.0
        self._written_at_review = (0.0, 0.0)  # consumer, shop write-offs at the last review
        self._thresholds: dict[tuple, float | None] = {}
        # risk-based pricing: each approved applicant's rate from the last `approve` (None at one price),
        # and the amount-weighted rate of what was lent since the last credit review
        self.quoted: np.ndarray | None = None
        self._priced = [0.0, 0.0]  # sum of amount x rate, sum of amount

    # --- recording ---------------------------------------------------------------------------------

    def mark_recording_start(self) -> None:
        """Note the running totals (and applications, approvals) as the first recorded day begins.

        lenders.csv reports them less this note, so that, like every other output, it covers the recorded days:
        its first row holds day 1's flows only, its last the recorded period's totals. The model itself (credit
        reviews, validation) reads the running totals, burn-in included."""
        self.at_recording_start: dict[str, float] = {**self.totals, "applications": self.applications,
                                                     "approvals": self.approvals}

    # --- balance sheet ---------------------------------------------------------------------

    @property
    def cash(self) -> float:
        return float(self.model.ledger.accounts["lender"].balance[self.index])

    @property
    def book(self) -> float:
        """Outstanding principal this lender holds."""
        return float(self.model.credit.book_by_lender[self.index])

    @property
    def equity(self) -> float:
        return self.cash + self.book - self.debt

    def lending_room(self) -> float:
        """Principal it may still lend under its leverage limit."""
        if not (self.active and self.licensed):
            return 0.0
        m = self.model
        book = float(m.credit.book_by_lender[self.index])
        equity = float(m.ledger.accounts["lender"].balance[self.index]) + book - self.debt
        return max(self.params.leverage_max * max(equity, 0.0) - book, 0.0)

    # --- pricing and underwriting ------------------------------------------------------------

    def rate(self) -> float:
        return min(self.params.apr, self.model.regulation.rate_cap)

    def max_default_probability(self, terms: int) -> float:
        """The riskiest default probability (over the loan's life) worth lending at the capped rate.

        Over its life an amortising loan of n monthly instalments carries on average (n + 1) / 24
        balance-years per unit of principal, so it earns margin x (n + 1) / 24 and loses PD x LGD:
        PD_max = appetite x margin x (n + 1) / 24 / LGD. A tighter cap shrinks the margin, so approvals
        fall and lenders with costly funding stop lending.
        """
        p = self.params
        margin = self.rate() - p.funding_rate - p.opex_rate
        life_years = (terms + 1) / 24.0
        return float(np.clip(p.risk_appetite * margin * life_years / LOSS_GIVEN_DEFAULT, 0.0, 1.0))

    def score_threshold(self, terms: int) -> float | None:
        """Highest admissible score (logit of `max_default_probability`), None when nothing is.

        It changes only with the rate cap (or the lender's parameters), so it is kept per those
        rather than recomputed for every batch of applications.
        """
        p = self.params
        key = (terms, self.rate(), p.risk_appetite, p.funding_rate, p.opex_rate)
        if key not in self._thresholds:
            pd_max = self.max_default_probability(terms)
            if pd_max <= 0.0:
                self._thresholds[key] = None
            else:
                self._thresholds[key] = math.log(pd_max / max(1 - pd_max, 1e-12)) if pd_max < 1 else np.inf
        return self._thresholds[key]

    def approve(self, risk: np.ndarray, noise: np.ndarray, with_platform_data: bool, terms: int,
                shops: bool = False, refused: np.ndarray | None = None) -> np.ndarray:
        """Approve applicants whose score (risk seen through noise, corrected by the lender's credit
        reviews of that product) is within the admissible default probability, except those `refused`
        whatever their score (a delinquency the lender can see, `Credit.seen_delinquent`; a shop failing
        its programme's cash-flow test). Only these count as approvals: limits on funding come after."""
        self.applications += len(risk)
        self.quoted = None
        if self.params.risk_pricing > 0 and not shops:
            return self._approve_priced(risk, noise, with_platform_data, terms, refused)
        threshold = self.score_threshold(terms)
        if threshold is None:
            return np.zeros(len(risk), dtype=bool)
        sd = self.params.platform_data_noise if with_platform_data else self.params.score_noise
        score = risk + sd * noise
        shift = self.shop_score_shift if shops else self.score_shift
        if shift:  # adding a shift of 0 (no review has tightened yet) would change no score
            score += shift
        ok = score <= threshold
        if refused is not None:
            ok &= ~refused
        self.approvals += int(np.count_nonzero(ok))
        return ok

    def _approve_priced(self, risk: np.ndarray, noise: np.ndarray, with_platform_data: bool,
                        terms: int, refused: np.ndarray | None) -> np.ndarray:
        """Risk-based pricing: each applicant's rate is min(cap, apr + risk_pricing x PD_hat), PD_hat the
        logistic of its score; approve where that rate's margin still covers the expected loss,
        appetite x margin x (n + 1) / 24 >= PD_hat x LGD (the break-even of `max_default_probability`,
        applicant by applicant). The rates are kept in `quoted`, aligned with the applicants."""
        p = self.params
        sd = p.platform_data_noise if with_platform_data else p.score_noise
        score = (risk + sd * noise + self.score_shift).astype(np.float64)
        pd_hat = pm.logistic(score)
        rate = np.minimum(p.apr + p.risk_pricing * pd_hat, self.model.regulation.rate_cap)
        margin = rate - p.funding_rate - p.opex_rate
        ok = p.risk_appetite * margin * ((terms + 1) / 24.0) >= pd_hat * LOSS_GIVEN_DEFAULT
        ok &= margin > 0
        if refused is not None:
            ok &= ~refused
        self.quoted = rate
        self.approvals += int(np.count_nonzero(ok))
        return ok

    def priced(self, amounts: np.ndarray, rates: np.ndarray) -> None:
        """Record what was lent at risk-based rates (for the credit review's margin)."""
        self._priced[0] += float(np.dot(amounts, rates))
        self._priced[1] += float(amounts.sum())

    # --- daily books ---------------------------------------------------------------------------

    def fund_and_pay_costs(self) -> None:
        """Pay a day's funding cost and opex, borrow to cover a cash shortfall, repay surplus debt."""
        m = self.model
        ledger, acc, out = m.ledger, m.accounts["lender"], m.accounts["outside"]
        p = self.params
        funding = self.debt * p.funding_rate / 365.0
        opex = self.book * p.opex_rate / 365.0
        if funding:  # nothing to move without debt (or book): skip the call
            ledger.transfer("lender_funding_cost", acc, out, funding, self.index)
        if opex:
            ledger.transfer("lender_opex", acc, out, opex, self.index)
        self.totals["funding_cost"] += funding
        self.totals["opex"] += opex
        self.balance_funding()

    def balance_funding(self) -> None:
        """Keep cash non-negative by borrowing; use idle cash to repay funding."""
        m = self.model
        acc, out = m.accounts["lender"], m.accounts["outside"]
        cash = self.cash
        if cash < 0:
            m.ledger.transfer("lender_borrowing", out, acc, -cash, None, self.index)
            self.debt += -cash
        elif self.debt > 0 and cash > 0:
            repay = min(cash, self.debt)
            m.ledger.transfer("lender_debt_repayment", acc, out, repay, self.index)
            self.debt -= repay

    def review_underwriting(self, consumer_book: float, shop_book: float) -> None:
        """Month-end credit review of each product (consumer credit, shop loans) on its own: tighten when
        last month's write-offs, annualised, eat most of the margin; loosen slowly when they are well
        below it. Separate reviews keep a losing shop book from shutting consumer lending, and the reverse."""
        total, shops = self.totals["write_offs"], self.totals["shop_write_offs"]
        consumer_written = (total - shops) - (self._written_at_review[0])
        shop_written = shops - self._written_at_review[1]
        self._written_at_review = (total - shops, shops)
        p = self.params
        rate = self.rate()  # what shop loans are lent at, however consumer loans are priced
        consumer_rate = rate
        if p.risk_pricing > 0 and self._priced[1] > 0:  # consumer loans: their average rate since the last review
            consumer_rate = self._priced[0] / self._priced[1]
            self._priced = [0.0, 0.0]
        margin = max(consumer_rate - p.funding_rate - p.opex_rate, 1e-3)
        shop_margin = max(rate - p.funding_rate - p.opex_rate, 1e-3)
        self.score_shift = _reviewed(self.score_shift, consumer_written, consumer_book, margin, MAX_SCORE_SHIFT)
        self.shop_score_shift = _reviewed(self.shop_score_shift, shop_written, shop_book, shop_margin,
                                          MAX_SHOP_SCORE_SHIFT, proportional=True)

    def check_capital(self, day: int) -> None:
        """A lender whose equity falls below its minimum capital stops lending (exit, run-off)."""
        if self.active and self.licensed and self.equity < self.min_capital:
            self.active = False
            self.exit_day = day


def _reviewed(shift: float, written: float, book: float, margin: float, most: float,
              proportional: bool = False) -> float:
    """One product's score shift after a month in which `written` was written off a `book`.

    `proportional`: tighten by 0.2 logit per multiple of the tolerated loss (up to 1 logit a month),
    for products whose losses can run at many times the margin (shop loans made blind)."""
    if book <= 0:
        return shift
    loss_rate = written * 12.0 / book
    if loss_rate > 0.8 * margin:
        step = 0.2 * min(loss_rate / (0.8 * margin), 5.0) if proportional else 0.2
        return min(shift + step, most)
    if loss_rate < 0.4 * margin:
        return max(shift - 0.1, 0.0)
    return shift
