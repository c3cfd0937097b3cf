"""Delinquency and what follows: contact, cure, write-off, NPL sale and recoveries.

Reachability decays with time overdue: when a consumer's delinquency spell starts we draw the days
overdue after which they can no longer be contacted (a Weibull time, shortened for intermediaries'
clients). Only reachable borrowers can be collected from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import portable_math as pm
from sim.agents.consumers import NOT_DELINQUENT
from sim.finance.loans import ACTIVE, CHARGED_OFF, SOLD, LoanBook
from sim.finance.repayment import all_or_nothing, book_interest
from sim.uniques import first_indices, unique

if TYPE_CHECKING:
    from sim.model import MarketModel

REACH_CHECKPOINTS = (180, 360)  # days overdue at which reachability is measured (6 and 12 months)


class Collections:
    def __init__(self, model: MarketModel) -> None:
        self.model = model
        lenders = model.lender_list
        self.intensity = np.asarray([lender.params.collection_intensity for lender in lenders])
        self.cost = np.asarray([lender.params.collection_cost for lender in lenders])
        self.charge_off_dpd = np.asarray([lender.params.charge_off_dpd for lender in lenders], dtype=np.int64)
        self.npl_dpd = np.asarray([lender.params.npl_sale_dpd for lender in lenders], dtype=np.int64)
        self.npl_price = np.asarray([lender.params.npl_price for lender in lenders])
        # the youngest age at which any lender sells (none sells: never)
        self.min_sale_dpd = int(self.npl_dpd[self.npl_dpd > 0].min()) if (self.npl_dpd > 0).any() else 1 << 40
        self.drag = np.zeros(len(lenders))  # loss of contact from complaint load, set by intermediaries
        self.open_claims = np.zeros(model.consumers.n, dtype=np.int32)
        self.reach_counts = {d: [0, 0] for d in REACH_CHECKPOINTS}  # [reached, reachable]
        self.spell_starts: dict[int, np.ndarray] = {}  # day -> consumers whose spell began that day

    # --- spells --------------------------------------------------------------------------------

    def consumers_fell_behind(self, loan_ids: np.ndarray, t: int) -> None:
        """Loans that just missed their first instalment; start a spell for consumers not yet late."""
        if len(loan_ids) == 0:
            return
        c = self.model.consumers
        who = self.model.credit.consumer.borrower[loan_ids]
        np.add.at(c.loans_in_arrears, who, 1)
        starting = unique(who[c.delinquent_since[who] == NOT_DELINQUENT])
        if len(starting) == 0:
            return
        p = self.model.scenario.collections
        u = self.model.streams["collections"].random(len(starting))
        lost_after = p.contact_scale_days * pm.power(-pm.log(1.0 - u), 1.0 / p.contact_shape)  # 1 - u is exact
        clients = c.client_of[starting] >= 0
        factor = np.ones(len(starting))
        if np.count_nonzero(clients):
            loss = np.asarray([r.params.contact_loss for r in self.model.restructurer_list])
            factor[clients] = loss[c.client_of[starting[clients]]]
        c.delinquent_since[starting] = t
        c.contact_lost_after[starting] = lost_after / factor
        self._remember_spell_starts(starting, t)

    def _remember_spell_starts(self, starting: np.ndarray, t: int) -> None:
        """Keep who began a spell each day, as long as a reachability checkpoint may look back to it."""
        earlier = self.spell_starts.get(t)
        self.spell_starts[t] = starting if earlier is None else np.concatenate([earlier, starting])
        oldest = t - max(REACH_CHECKPOINTS)
        while self.spell_starts and next(iter(self.spell_starts)) < oldest:
            del self.spell_starts[next(iter(self.spell_starts))]

    def _end_spells(self, consumers: np.ndarray) -> None:
        """End the spells of `consumers` (repeats allowed: each is set the same way) with nothing left late."""
        c = self.model.consumers
        done = consumers[(c.loans_in_arrears[consumers] == 0) & (self.open_claims[consumers] == 0)]
        c.delinquent_since[done] = NOT_DELINQUENT
        c.contact_lost_after[done] = np.inf

    def reachable(self, consumers: np.ndarray, t: int) -> np.ndarray:
        c = self.model.consumers
        age = t - c.delinquent_since[consumers]
        return (c.delinquent_since[consumers] >= 0) & (age < c.contact_lost_after[consumers])

    # --- the day ---------------------------------------------------------------------------------

    def run_day(self, t: int, recording: bool) -> None:
        rng = self.model.streams["collections"]
        self._collect_delinquent(t, rng)
        self._charge_off(self.model.credit.consumer, t, consumers=True)
        self._charge_off(self.model.credit.merchant, t, consumers=False)
        self._sell_npl(self.model.credit.consumer, t, consumers=True)
        self._sell_npl(self.model.credit.merchant, t, consumers=False)
        self._recover_claims(t, rng)
        if recording:
            self._measure_reachability(t)

    def _collect_delinquent(self, t: int, rng: np.random.Generator) -> None:
        """Lenders contact reachable delinquent borrowers; reached or paid borrowers with cash cure."""
        m = self.model
        book, c = m.credit.consumer, m.consumers
        late = book.delinquent_ids()
        if len(late) == 0:
            return
        who, lender = book.borrower[late], book.lender[late]
        reach = self.reachable(who, t)
        contacted = reach & (rng.random(len(late)) < self.intensity[lender] * (1.0 - self.drag[lender]))
        self_cure = (c.payday[who] == t % 30) & (rng.random(len(late)) < m.scenario.consumers.self_cure_rate)
        attempt = contacted | self_cure
        cost = np.bincount(lender[contacted], weights=self.cost[lender[contacted]], minlength=len(self.cost))
        for lend in m.lender_list:
            if cost[lend.index]:
                m.ledger.transfer("collection_cost", m.accounts["lender"], m.accounts["outside"],
                                  float(cost[lend.index]), lend.index)
                lend.totals["collection_cost"] += float(cost[lend.index])
        tried = late[attempt]
        if len(tried) == 0:
            return
        owed = book.arrears(tried)
        cash = m.accounts["consumer"].balance

        def willing(uniq: np.ndarray) -> np.ndarray:
            return (c.client_of[uniq] < 0) & (rng.random(len(uniq)) < c.willingness[uniq])

        pays = all_or_nothing(book.borrower[tried], owed, cash, willing)
        paid = tried[pays]
        if len(paid) == 0:
            return
        m.ledger.transfer("consumer_cure", m.accounts["consumer"], m.accounts["lender"], owed[pays],
                          book.borrower[paid], book.lender[paid], src_unique=False)
        m.today["delinquent_collections"] += float(owed[pays].sum())
        principal, interest = book.pay_arrears(paid, owed[pays])
        m.credit.principal_reduced(book, paid, principal)
        book_interest(m, book.lender[paid], interest)
        np.subtract.at(c.loans_in_arrears, book.borrower[paid], 1)
        self._end_spells(book.borrower[paid])
        m.today["cures"] += len(paid)

    def _charge_off(self, book: LoanBook, t: int, consumers: bool) -> None:
        m = self.model
        late = book.delinquent_ids()
        if len(late) == 0:
            return
        due = late[t - book.first_missed[late] >= self.charge_off_dpd[book.lender[late]]]  # dpd of late loans
        if len(due) == 0:
            return
        amount = book.charge_off(due)
        m.credit.principal_reduced(book, due, amount)
        self._count_default(book, due, amount, consumers)
        key = "charged_off_principal" if consumers else "merchant_charged_off"
        m.today[key] += float(amount.sum())

    def _count_default(self, book: LoanBook, ids: np.ndarray, amount: np.ndarray, consumers: bool) -> None:
        m = self.model
        by_lender = np.bincount(book.lender[ids], weights=amount, minlength=len(m.lender_list))
        for lend, written in zip(m.lender_list, by_lender.tolist(), strict=True):
            lend.totals["write_offs"] += written
            if not consumers:
                lend.totals["shop_write_offs"] += written
        if consumers:
            who = book.borrower[ids]
            np.subtract.at(m.consumers.loans_in_arrears, who, 1)
            np.add.at(self.open_claims, who, 1)
        else:  # a shop that defaulted on a programme loan is restricted for good and cannot borrow again
            in_programme = book.platform[ids] >= 0
            m.today["programme_charged_off"] += float(amount[in_programme].sum())
            prog = ids[in_programme]
            shops = book.borrower[prog]
            m.merchants.defaulted[shops] = True
            m.merchants.restricted[shops] = True

    def _sell_npl(self, book: LoanBook, t: int, consumers: bool) -> None:
        """Claims (written off or still on the book) past the lender's sale age go to NPL buyers."""
        m = self.model
        claims = book.claim_ids()
        open_claims = claims[book.status[claims] == CHARGED_OFF]
        cand = np.concatenate([open_claims, book.delinquent_ids()])  # disjoint: charged off, active
        # A sale needs days past due >= the youngest sale age (0 <= first missed <= t - that age): on most days
        # no loan is that late, and the sort and the per-lender test below are skipped.
        first = book.first_missed[cand]
        if not np.count_nonzero((first >= 0) & (first <= t - self.min_sale_dpd)):
            return
        cand.sort()
        lender = book.lender[cand]
        sale_dpd = self.npl_dpd[lender]
        sell = cand[(sale_dpd > 0) & (book.dpd(cand, t) >= sale_dpd)]
        if len(sell) == 0:
            return
        was_active = book.status[sell] == ACTIVE
        on_book = book.sell(sell)
        m.credit.principal_reduced(book, sell, on_book)
        if np.count_nonzero(was_active):
            self._count_default(book, sell[was_active], on_book[was_active], consumers)
            key = "charged_off_principal" if consumers else "merchant_charged_off"
            m.today[key] += float(on_book.sum())  # sold while still on the book: a default all the same
        # Priced on the principal still claimable: what was recovered or settled is not sold again.
        defaulted = np.minimum(book.written_off[sell] + book.sold[sell], book.claim[sell])
        price = defaulted * self.npl_price[book.lender[sell]]
        m.ledger.transfer("npl_sale", m.accounts["outside"], m.accounts["lender"], price, None, book.lender[sell])
        by_lender = np.bincount(book.lender[sell], weights=price, minlength=len(m.lender_list))
        principal = np.bincount(book.lender[sell], weights=defaulted, minlength=len(m.lender_list))
        for lend, proceeds, sold in zip(m.lender_list, by_lender.tolist(), principal.tolist(), strict=True):
            lend.totals["npl_proceeds"] += proceeds
            lend.totals["npl_principal_sold"] += sold
        m.today["recoveries" if consumers else "merchant_recoveries"] += float(price.sum())
        m.today["npl_proceeds"] += float(price.sum())

    def _recover_claims(self, t: int, rng: np.random.Generator) -> None:
        """After default, collectors (the lender, or the NPL buyer) recover from reachable debtors."""
        m = self.model
        book, c = m.credit.consumer, m.consumers
        open_ = book.claim_ids()
        if len(open_) == 0:
            return
        who, lender = book.borrower[open_], book.lender[open_]
        sold = book.status[open_] == SOLD
        p = m.scenario.collections
        intensity = np.where(sold, p.npl_buyer_intensity, self.intensity[lender] * p.post_default_intensity)
        intensity = intensity * (1.0 - np.where(sold, 0.0, self.drag[lender]))
        hit = self.reachable(who, t) & (c.client_of[who] < 0) & (rng.random(len(open_)) < intensity)
        ids = open_[hit]
        if len(ids) == 0:
            return
        # One payment per debtor a day, toward the first claim reached.
        who_hit = book.borrower[ids]
        first = first_indices(who_hit)
        ids = ids[first]
        who_hit = who_hit[first]
        cash = m.accounts["consumer"].balance[who_hit]
        pay = np.minimum(book.claim[ids], p.recovery_share * np.maximum(cash, 0.0))
        keep = pay > 0
        ids, who_hit, pay = ids[keep], who_hit[keep], pay[keep]
        to_lender = book.status[ids] == CHARGED_OFF
        acc = m.accounts
        m.ledger.transfer("recovery_lender", acc["consumer"], acc["lender"], pay[to_lender], who_hit[to_lender],
                          book.lender[ids[to_lender]], src_unique=True)
        m.ledger.transfer("recovery_npl_buyer", acc["consumer"], acc["outside"], pay[~to_lender],
                          who_hit[~to_lender], None, src_unique=True)
        book.claim[ids] -= pay
        book.recovered[ids] += pay
        by_lender = np.bincount(book.lender[ids[to_lender]], weights=pay[to_lender], minlength=len(m.lender_list))
        for lend, recovered in zip(m.lender_list, by_lender.tolist(), strict=True):
            lend.totals["recoveries"] += recovered
        m.today["recoveries"] += float(pay[to_lender].sum())
        m.today["npl_buyer_recoveries"] += float(pay[~to_lender].sum())
        self.close_claims(ids)

    def close_claims(self, ids: np.ndarray) -> None:
        """Claims collected in full (or settled) no longer keep their debtor's spell open."""
        book = self.model.credit.consumer
        done = ids[book.claim[ids] <= 1e-6]
        if len(done) == 0:
            return
        book.claim[done] = 0.0
        who = book.borrower[done]
        np.subtract.at(self.open_claims, who, 1)
        self._end_spells(who)

    def _measure_reachability(self, t: int) -> None:
        """Consumers whose spell reaches 6 or 12 months today: are they still reachable?"""
        c = self.model.consumers
        since = c.delinquent_since
        for days in REACH_CHECKPOINTS:
            began = self.spell_starts.get(t - days)  # a spell that old began that day, if still open
            if began is None:
                continue
            crossing = began[since[began] == t - days]
            if len(crossing):
                self.reach_counts[days][0] += len(crossing)
                self.reach_counts[days][1] += int(np.count_nonzero(c.contact_lost_after[crossing] > days))

    def reachable_share(self, days: int) -> float | None:
        """Share of the borrowers whose spell reached `days` overdue who could still be contacted; None when no
        spell got that far (a reported figure only: nothing in the model reads it)."""
        reached, reachable = self.reach_counts[days]
        return reachable / reached if reached else None
