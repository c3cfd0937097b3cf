"""Origination and every change of principal, in one place, so aggregates never drift from the book.

Two loan books: consumer loans (BNPL and cash loans) and shop loans. Per-consumer debt and each
lender's book are kept in step with the loans here; the invariant check rebuilds them from scratch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents.consumers import NOT_DELINQUENT
from sim.finance.loans import CASH, LoanBook
from sim.uniques import unique, unique_inverse

if TYPE_CHECKING:
    from sim.agents.lender import Lender
    from sim.agents.platform import Platform
    from sim.model import MarketModel

CAPACITY_PASSES = 4  # passes over a day's applications when a lender's room runs short
MIN_NEED = 50.0  # RMB; a smaller shortfall does not send a consumer looking for a loan
MIN_LOAN = 100.0  # RMB; lenders round cash loans up to hundreds and lend no less
BUREAU_VISIBILITY = {"platform": 1.0, "bank": 1.0, "consumer_finance": 0.8, "micro_lender": 0.4}


def group_sum(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum `values` by `keys`; return (unique keys, sums, inverse index of each row)."""
    uniq, inverse = unique_inverse(keys)
    return uniq, np.bincount(inverse, weights=values, minlength=len(uniq)), inverse


class Credit:
    """The consumer and merchant loan books and the aggregates derived from them."""

    def __init__(self, model: MarketModel, n_lenders: int) -> None:
        self.model = model
        cap = max(1024, model.scenario.consumers.count // 2)
        self.consumer = LoanBook(cap)
        self.merchant = LoanBook(max(256, model.scenario.merchants.count))
        self.book_by_lender = np.zeros(n_lenders, dtype=np.float64)
        # Each consumer's debt to each lender that sees less than all of the bureau's record: it still knows its
        # own loans in full. A row per such lender (-1: none kept, the lender sees everything anyway).
        partial = [lend.index for lend in model.lender_list if BUREAU_VISIBILITY[lend.kind] < 1.0]
        self.own_row = np.full(n_lenders, -1, dtype=np.int64)
        self.own_row[partial] = np.arange(len(partial))
        self.own_debt = np.zeros((len(partial), model.consumers.n), dtype=np.float64)
        self._bad_day = -1  # the day `_bad_rows` and `_bad_of` were read for
        self._bad_rows: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.int16), np.empty(0, np.int32))
        self._bad_of: dict[int, np.ndarray] = {}
        self._synced = (-1, -1)  # the merchant book's (version, n) at the last `sync_shop_loans`

    # --- underwriting -------------------------------------------------------------------------

    def consumer_limits(self, lender: Lender, ids: np.ndarray) -> np.ndarray:
        """Most `lender` will lend each consumer now: its limit less the debt it can see (its own loans, and its
        kind's bureau visibility of the rest), within the regulator's per-person balance limit."""
        c = self.model.consumers
        debt = c.debt[ids]
        visibility = BUREAU_VISIBILITY[lender.kind]
        seen_debt = debt * visibility
        if (row := self.own_row[lender.index]) >= 0:  # its own loans in full, the bureau's share of the others
            seen_debt += (1.0 - visibility) * self.own_debt[row, ids]
        own_limit = lender.params.limit_months * c.income[ids] - seen_debt
        legal_room = self.model.regulation.balance_limit - debt
        return np.maximum(np.minimum(own_limit, legal_room), 0.0)

    def seen_delinquent(self, lender: Lender, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Which applicants `ids` `lender` knows to be in a delinquency spell, and so refuses: those behind on
        (or written off on) one of its own loans always; the others with the bureau visibility of its kind,
        the same share of a consumer's record it sees in `consumer_limits`. Draws only for applicants in a
        spell, who are few."""
        seen = self.refusals(lender, ids, rng)
        return np.zeros(len(ids), dtype=bool) if seen is None else seen

    def refusals(self, lender: Lender, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        """`seen_delinquent`, or None when no applicant is in a spell (most batches), which `Lender.approve`
        takes as nobody refused without building and applying a mask of False."""
        if not lender.params.checks_delinquency:
            return None
        late = (self.model.consumers.delinquent_since[ids] != NOT_DELINQUENT).nonzero()[0]
        if len(late) == 0:
            return None
        seen = np.zeros(len(ids), dtype=bool)
        on_bureau = rng.random(len(late)) < BUREAU_VISIBILITY[lender.kind]
        rest = late[~on_bureau]
        seen[late[on_bureau]] = True
        if len(rest) and len(bad := self._bad_borrowers_of(lender.index)):
            at = np.minimum(bad.searchsorted(ids[rest]), len(bad) - 1)  # membership in the sorted ids
            seen[rest] = bad[at] == ids[rest]
        return seen

    def _bad_borrowers_of(self, lender: int) -> np.ndarray:
        """Consumers behind on a loan from `lender`, or owing on one it wrote off or sold (sorted, distinct).

        Kept for the day: underwriting runs before the day's instalments and collections, and new loans are
        current, so the answer holds for all of a day's applications (one scan of the late loans and claims a
        day, not one per batch of applicants: at 1M consumers those scans took 2 s of a run)."""
        t = self.model.t
        if self._bad_day != t:
            book = self.consumer
            rows = np.concatenate([book.delinquent_ids(), book.claim_ids()])
            self._bad_day, self._bad_rows, self._bad_of = t, (book.lender[rows], book.borrower[rows]), {}
        if lender not in self._bad_of:
            lenders, borrowers = self._bad_rows
            self._bad_of[lender] = unique(borrowers[lenders == lender])
        return self._bad_of[lender]

    def own_share(self, channel: str, platform: int, amounts: np.ndarray, ok: np.ndarray) -> float:
        """The share of loans `amounts[ok]` their lender funds itself: under an own licence its co-lending share
        when a partner has room for the rest of them all (`originate_consumer` splits the same way), else 1.
        Pass it to `within_capacity` as `share`: the lender's room need only hold its own share."""
        fin = self.model.platform_list[platform].params.finance
        if channel != "own" or fin.co_lending_own_share >= 1.0:
            return 1.0
        rest = (1.0 - fin.co_lending_own_share) * float(amounts[ok].sum())
        return fin.co_lending_own_share if self._partners_with_room(platform, rest) else 1.0

    def _partners_with_room(self, platform: int, amount: float) -> list[Lender]:
        return [p for p in self.model.platform_list[platform].partners() if p.lending_room() >= amount]

    def within_capacity(self, lender: Lender, amounts: np.ndarray, ok: np.ndarray,
                        limit: float = np.inf, share: float = 1.0) -> np.ndarray:
        """Fund approved applications in arrival order while the lender's leverage room (and `limit`, a
        product's own room) lasts; one that does not fit is skipped, and later smaller ones may still fit
        (a few vectorized passes). `share`: the part of each loan the lender funds itself (`own_share`), which
        is all its room need hold.

        Amounts are never negative, so when the running total of all approved ones fits, they all do
        and the later passes would find nothing more: that common case returns after one pass.
        """
        room = min(lender.lending_room(), limit)
        ok = ok & (amounts > 0)  # a loan of nothing is no loan (an order of value 0): it would only cost collections
        if share != 1.0:  # judged on the loans, not on the lender's share of them, which is 0 at a co-lending share 0
            amounts = amounts * share
        running = np.where(ok, amounts, 0.0).cumsum()
        if len(running) == 0 or running[-1] <= room:
            return ok
        funded = np.zeros(len(ok), dtype=bool)
        waiting = ok.copy()
        for _ in range(CAPACITY_PASSES):
            fits = waiting & (running <= room)
            if not np.count_nonzero(fits):
                break
            funded |= fits
            room -= float(amounts[fits].sum())
            waiting &= ~fits
            waiting &= amounts <= room
            running = np.where(waiting, amounts, 0.0).cumsum()
        return funded

    # --- origination --------------------------------------------------------------------------

    def originate_consumer(
        self, lender: Lender, channel: str, platform: int, product: int, ids: np.ndarray, amounts: np.ndarray,
        t: int, pay_to: tuple[str, np.ndarray | tuple] | None = None, rates: np.ndarray | None = None,
        own: float = 1.0,
    ) -> None:
        """Book loans to distinct consumers `ids` and move the money: to the consumer's cash, or for
        BNPL to the merchant.

        `own`: the share `lender` funds itself, as `own_share` decided when its room was checked; below 1 (an
        own licence that co-lends) its first partner with room funds the rest (two loan rows, one schedule; at a
        share of 0 the partner's row alone).
        Under diversion the lender pays the platform a fee; under co-lending the partner pays one on its share.
        `rates`: each loan's own rate under `lender`'s risk-based pricing (a partner's share is at its rate).
        """
        if len(ids) == 0:
            return
        m = self.model
        platform_agent = m.platform_list[platform]
        fin = platform_agent.params.finance
        split: list[tuple[Lender, float]] = [(lender, 1.0)]
        partner = None
        if own < 1.0:  # a partner had room for the rest of all approved loans, so it has for these
            partner = self._partners_with_room(platform, (1.0 - own) * float(amounts.sum()))[0]
            # at a co-lending share of 0 the partner funds it all: no row of 0 principal for the platform's lender
            split = [(lender, own), (partner, 1.0 - own)] if own > 0.0 else [(partner, 1.0)]
        terms = lender.params.cash_loan_terms if product == CASH else lender.params.bnpl_terms
        total = None  # amounts.sum(), once moved by the lender funding it all
        partner_lent = 0.0
        for funder, share in split:
            part = amounts if share == 1.0 else amounts * share  # times 1.0 would be a copy of the same numbers
            apr = funder.rate()
            if rates is not None and funder is lender:
                apr = rates
                lender.priced(part, rates)
            self.consumer.add(ids, funder.index, platform, product, part, apr, terms, t)
            if (row := self.own_row[funder.index]) >= 0:
                self.own_debt[row, ids] += part  # ids are distinct
            dst_name, dst_idx = pay_to if pay_to else ("consumer", ids)
            lent = m.ledger.transfer(f"loan_disbursed_{'bnpl' if product != CASH else 'cash'}", m.accounts["lender"],
                                     m.accounts[dst_name], part, funder.index, dst_idx, dst_unique=pay_to is None)
            self.book_by_lender[funder.index] += lent  # what the transfer moved: part.sum()
            funder.totals["originated"] += lent
            if share == 1.0:
                total = lent
            if funder is not lender:
                partner_lent = lent
        m.consumers.debt[ids] += amounts  # ids are distinct: no repeated index to accumulate
        m.consumers.loans_taken[ids] += 1
        if total is None:
            total = float(amounts.sum())
        if channel == "diversion" and fin.diversion_fee > 0:
            self._pay_platform(lender, platform_agent, total * fin.diversion_fee, "diversion_fee", "diversion_fees")
        elif partner is not None and partner_lent and fin.co_lending_fee > 0:  # it pays for the loans brought to it
            self._pay_platform(partner, platform_agent, partner_lent * fin.co_lending_fee, "co_lending_fee",
                               "co_lending_fees")
        m.today["loans_originated"] += len(ids)
        m.today["amount_originated"] += total

    def _pay_platform(self, payer: Lender, platform: Platform, fee: float, flow: str, source: str) -> None:
        """A lender's fee for the loans a platform brought it: money to the platform, booked as its revenue."""
        m = self.model
        m.ledger.transfer(flow, m.accounts["lender"], m.accounts["platform"], fee, payer.index, platform.index)
        payer.totals["fees_paid"] += fee
        platform.book_revenue(source, fee)

    def originate_merchant(
        self, lender: Lender, platform: int, ids: np.ndarray, amounts: np.ndarray, t: int
    ) -> None:
        """Shop loans; `platform` is -1 for a third-party lender working without the platform."""
        if len(ids) == 0:
            return
        m = self.model
        self.merchant.add(ids, lender.index, platform, 2, amounts, lender.rate(), lender.params.merchant_loan_terms, t)
        lent = m.ledger.transfer("loan_disbursed_merchant", m.accounts["lender"], m.accounts["merchant_cash"],
                                 amounts, lender.index, ids, dst_unique=True)
        self.book_by_lender[lender.index] += lent  # what the transfer moved: amounts.sum()
        lender.totals["originated"] += lent
        m.merchants.has_loan[ids] = True
        m.merchants.loans_taken[ids] += 1
        m.today["merchant_loans_originated"] += len(ids)
        m.today["merchant_amount_originated"] += lent

    # --- principal leaving the book -------------------------------------------------------------

    def principal_reduced(self, book: LoanBook, ids: np.ndarray, amounts: np.ndarray) -> None:
        """Keep borrower debt and lender books in step when principal is repaid, written off or sold."""
        if len(ids) == 0:
            return
        np.subtract.at(self.book_by_lender, book.lender[ids], amounts)
        if book is self.consumer:
            borrower = book.borrower[ids]
            np.subtract.at(self.model.consumers.debt, borrower, amounts)
            if len(self.own_debt):
                rows = self.own_row[book.lender[ids]]
                kept = rows >= 0
                np.subtract.at(self.own_debt, (rows[kept], borrower[kept]), amounts[kept])

    def sync_shop_loans(self) -> None:
        """Derive which shops have an active loan (and keep an early-warning watch only while its
        programme loan is open) from the merchant book, whatever closed the loan."""
        mer, book = self.model.merchants, self.merchant
        # Nothing to do while no shop loan was made or changed status since the last call: shops opened since
        # then start with neither a loan nor a watch.
        if self._synced == (book.version, book.n):
            return
        self._synced = (book.version, book.n)
        n = mer.n
        active = book.active_ids()
        mer.has_loan[:n] = False
        mer.has_loan[book.borrower[active]] = True
        programme = np.zeros(n, dtype=bool)
        programme[book.borrower[active[book.platform[active] >= 0]]] = True
        mer.watch[:n] &= programme

    def rebuilt_aggregates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-lender book, per-consumer debt and `own_debt` recomputed from the loans (for invariant checks)."""
        m = self.model
        n_l = len(self.book_by_lender)
        book = np.zeros(n_l)
        debt = np.zeros(m.consumers.n)
        for b in (self.consumer, self.merchant):
            n = b.n
            book += np.bincount(b.lender[:n], weights=b.outstanding[:n], minlength=n_l)[:n_l]
        c = self.consumer
        debt += np.bincount(c.borrower[: c.n], weights=c.outstanding[: c.n], minlength=m.consumers.n)
        own = np.zeros_like(self.own_debt)
        rows = self.own_row[c.lender[: c.n]]
        kept = rows >= 0
        np.add.at(own, (rows[kept], c.borrower[: c.n][kept]), c.outstanding[: c.n][kept])
        return book, debt, own
