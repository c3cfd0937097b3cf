"""The platform's control of shop money: pending settlement, deposits, sweeps, freezes, trading
restrictions and early warnings.

Pending settlement is a ring of daily slots (rows) by shop (columns): a sale made on day t on a
platform with settlement delay d waits in slot (t + d) mod R and is released on that day, less the
platform's commission and the cost of goods. A frozen shop's slot rolls over to the next day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.finance.loans import CHARGED_OFF, MONTH
from sim.finance.repayment import book_interest
from sim.uniques import first_indices

if TYPE_CHECKING:
    from sim.model import MarketModel


SHOP_CONTACT_FACTOR = 3.0  # a shop has a known address: lenders reach it ~3x as easily as a consumer


class Settlement:
    def __init__(self, model: MarketModel) -> None:
        self.model = model
        plats = model.scenario.platforms
        self.ring = max([p.settlement_delay_days for p in plats] + [0]) + 1
        self.delay = np.asarray([p.settlement_delay_days for p in plats], dtype=np.int64)
        self.take_rate = np.asarray([p.take_rate for p in plats], dtype=np.float64)
        self.sweep_on = np.asarray([p.deposit.settlement_sweep for p in plats], dtype=bool)
        # by a loan's platform + 1 (0 for a third-party loan, platform -1): is it swept?
        self._swept_from = np.concatenate([[False], self.sweep_on])
        self.freeze_on = np.asarray([p.deposit.freeze_on_risk for p in plats], dtype=bool)
        self.warn_on = np.asarray([p.deposit.early_warning for p in plats], dtype=bool)
        self.warn_days = np.asarray([p.deposit.early_warning_days for p in plats], dtype=np.int64)
        self.caps = np.asarray([p.deposit.cap for p in plats], dtype=np.float64)
        self.contact = np.asarray([lender.params.collection_intensity for lender in model.lender_list])

    # --- money in and out of the pending balance ------------------------------------------------

    def slot_for_sale(self, t: int, platform: np.ndarray | int) -> np.ndarray | int:
        """Pending-settlement slot (row) of a sale made on day `t` on `platform`."""
        return (t + self.delay[platform]) % self.ring

    def pending_total(self, shops: np.ndarray) -> np.ndarray:
        return self.model.accounts["merchant_pending"].balance[:, shops].sum(axis=0)

    def release(self, t: int) -> None:
        """Release today's slot: commission to the platform, cost of goods out, the rest to the shop."""
        m = self.model
        mer, acc = m.merchants, m.accounts
        pending = acc["merchant_pending"].balance
        slot = t % self.ring
        n = mer.n
        frozen = (mer.frozen[:n] & (pending[slot, :n] > 0)).nonzero()[0]
        nxt = (t + 1) % self.ring
        if len(frozen) and nxt != slot:  # held: roll into tomorrow's slot (an internal move within the same account)
            pending[nxt, frozen] += pending[slot, frozen]
            pending[slot, frozen] = 0.0
        # With every delay 0 there is one slot, which is also tomorrow's: held money stays where it is.
        shops = ((pending[slot, :n] > 0) & ~mer.frozen[:n]).nonzero()[0]
        self._pay_out(slot, shops)

    def _pay_out(self, slots: np.ndarray | int, shops: np.ndarray) -> None:
        """Release pending slots (one per shop, or one for all): the platform's commission, the cost of goods,
        the rest to the shop."""
        if len(shops) == 0:
            return
        acc = self.model.accounts
        amount = acc["merchant_pending"].balance[slots, shops]
        net = self._charge(amount, (slots, shops), shops)
        self.model.ledger.transfer("settlement", acc["merchant_pending"], acc["merchant_cash"], net, (slots, shops),
                                   shops)

    def shop_share(self, shops: np.ndarray) -> np.ndarray:
        """The part of a RMB of pending sales that is the shop's: what is left after the commission and the cost
        of goods."""
        return (1 - self.take_rate[self.model.merchants.platform[shops]]) * self.model.scenario.merchants.gross_margin

    def _charge(self, gross: np.ndarray, src: tuple, shops: np.ndarray) -> np.ndarray:
        """Settle `gross` of pending sales at `src` (slots, shops): the platform's commission and the cost of goods
        leave, the sales count as the shops' settled sales; returns the shops' part, still in pending, for the
        caller to pay out (to the shop, or to a lender that sweeps it)."""
        m = self.model
        mer, acc, ledger = m.merchants, m.accounts, m.ledger
        plat = mer.platform[shops]
        commission = gross * self.take_rate[plat]
        cogs = (gross - commission) * (1 - m.scenario.merchants.gross_margin)
        rows = np.broadcast_to(plat, gross.shape)
        ledger.transfer("commission", acc["merchant_pending"], acc["platform"], commission, src, rows)
        ledger.transfer("cost_of_goods", acc["merchant_pending"], acc["outside"], cogs, src)
        by_plat = np.bincount(rows.ravel(), weights=commission.ravel(), minlength=len(m.platform_list))
        for p in m.platform_list:
            p.book_revenue("commission", float(by_plat[p.index]))
        sold = gross if gross.ndim == 1 else gross.sum(axis=0)
        np.add.at(mer.sales_month, shops, sold)
        return gross - commission - cogs

    def sweep(self, loan_ids: np.ndarray, amounts: np.ndarray, flow: str) -> np.ndarray:
        """Collect what shops owe on programme loans from pending settlement, then the deposit.

        Only for loans of a platform's own programme whose platform runs settlement sweeps.
        Returns what was collected per loan; the caller books it against the loan.
        """
        m = self.model
        book = m.credit.merchant
        got = np.zeros(len(loan_ids))
        if len(loan_ids) == 0:
            return got
        plat = book.platform[loan_ids]
        eligible = (self._swept_from[plat + 1] & (amounts > 0)).nonzero()[0]
        if len(eligible) == 0:
            return got
        ids, want = loan_ids[eligible], amounts[eligible]
        shops, lenders = book.borrower[ids], book.lender[ids]
        acc, ledger = m.accounts, m.ledger
        pending = acc["merchant_pending"].balance
        held = pending[:, shops]
        total = held.sum(axis=0)
        # Pending money is gross sales: the commission and the cost of goods are paid on what is swept as on what
        # is released, and the lender gets the shop's part.
        share = self.shop_share(shops)
        take = np.minimum(want, total * share)
        if np.count_nonzero(take):  # else nothing would move: skip building the per-slot amounts
            frac = np.divide(take, total * share, out=np.zeros_like(take), where=take > 0)
            src = (slice(None), shops)
            net = self._charge(held * frac, src, shops)
            ledger.transfer(f"sweep_pending_{flow}", acc["merchant_pending"], acc["lender"], net, src,
                            np.broadcast_to(lenders, net.shape), dst_unique=False)
        rest = want - take
        from_deposit = np.minimum(rest, acc["merchant_deposit"].balance[shops])
        ledger.transfer(f"sweep_deposit_{flow}", acc["merchant_deposit"], acc["lender"], from_deposit, shops,
                        lenders)
        got[eligible] = take + from_deposit
        m.today["swept"] += float(got.sum())
        return got

    # --- programme rules: freeze, restriction, early warning ------------------------------------

    def after_missed(self, loan_ids: np.ndarray) -> None:
        """A missed programme instalment freezes settlement (with `deposit.freeze_on_risk`); `restrict_consecutive`
        misses in a row or `restrict_cumulative` in all (3 / 6 by default) restrict trading."""
        if len(loan_ids) == 0:
            return
        m = self.model
        book, mer = m.credit.merchant, m.merchants
        prog = loan_ids[book.platform[loan_ids] >= 0]
        if len(prog) == 0:
            return
        shops = book.borrower[prog]
        plat = book.platform[prog]
        mer.frozen[shops] |= self.freeze_on[plat]
        rules = [m.platform_list[int(p)].params.deposit for p in plat]
        run_limit = np.asarray([r.restrict_consecutive for r in rules])
        total_limit = np.asarray([r.restrict_cumulative for r in rules])
        breach = (book.missed_run[prog] >= run_limit) | (book.missed_total[prog] >= total_limit)
        mer.restricted[shops[breach]] = True
        m.today["restrictions"] += int(np.count_nonzero(breach))

    def collect_arrears(self, t: int, rng: np.random.Generator) -> None:
        """Each day: sweep programme arrears; shops with cash pay arrears (programme shops to lift a
        freeze or restriction, third-party borrowers when the lender reaches them)."""
        m = self.model
        book, acc = m.credit.merchant, m.accounts
        late = book.delinquent_ids()
        if len(late):
            owed = book.arrears(late)
            swept = self.sweep(late, owed, "arrears")
            owed = owed - swept
            shops = book.borrower[late]
            cash = acc["merchant_cash"].balance[shops]
            contact = self.contact[book.lender[late]]
            reached = (book.platform[late] >= 0) | (rng.random(len(late)) < contact * SHOP_CONTACT_FACTOR)
            pay = np.where(reached & (cash >= owed) & (owed > 0), owed, 0.0)
            m.ledger.transfer("merchant_arrears_paid", acc["merchant_cash"], acc["lender"], pay, shops,
                              book.lender[late])
            p_paid, i_paid = book.pay_arrears(late, swept + pay)
            m.credit.principal_reduced(book, late, p_paid)
            book_interest(m, book.lender[late], i_paid)
        self._recover_written_off(rng)
        self._lift_controls()

    def _recover_written_off(self, rng: np.random.Generator) -> None:
        """After a shop loan is written off its lender keeps collecting: a programme lender sweeps
        what the platform holds (with sweeps on) and reaches the shop at its known address; a
        third-party lender only gets cash, when it reaches the shop."""
        m = self.model
        book, acc = m.credit.merchant, m.accounts
        ids = book.claim_ids()
        ids = ids[book.status[ids] == CHARGED_OFF]
        if len(ids) == 0:
            return
        # One claim per shop a day, so a shop's balances are never debited twice.
        ids = ids[first_indices(book.borrower[ids])]
        got = self.sweep(ids, book.claim[ids].copy(), "recovery")
        shops, lenders = book.borrower[ids], book.lender[ids]
        contact = self.contact[lenders]
        reached = (book.platform[ids] >= 0) | (rng.random(len(ids)) < contact * SHOP_CONTACT_FACTOR)
        cash = np.maximum(acc["merchant_cash"].balance[shops], 0.0)
        share = m.scenario.collections.recovery_share
        pay = np.where(reached, np.minimum(book.claim[ids] - got, share * cash), 0.0)
        m.ledger.transfer("recovery_lender", acc["merchant_cash"], acc["lender"], pay, shops, lenders)
        self._book_recovery(ids, got + pay)

    def _book_recovery(self, ids: np.ndarray, recovered: np.ndarray) -> None:
        """Count what was recovered on written-off shop loans `ids` against their claims and lenders."""
        m = self.model
        book = m.credit.merchant
        book.claim[ids] -= recovered
        book.recovered[ids] += recovered
        by_lender = np.bincount(book.lender[ids], weights=recovered, minlength=len(m.lender_list))
        for lend, amount in zip(m.lender_list, by_lender.tolist(), strict=True):
            lend.totals["recoveries"] += amount
        m.today["merchant_recoveries"] += float(recovered.sum())

    def _sweep_claims(self, shops: np.ndarray) -> None:
        """A closing shop's written-off programme loans are swept from what the platform still holds, as its
        live loans are, before the rest goes back to the shop (one claim a shop, like the daily recovery)."""
        book = self.model.credit.merchant
        ids = book.claim_ids()
        ids = ids[(book.status[ids] == CHARGED_OFF) & np.isin(book.borrower[ids], shops)]
        if len(ids) == 0:
            return
        ids = ids[first_indices(book.borrower[ids])]
        got = self.sweep(ids, book.claim[ids].copy(), "recovery")
        if np.count_nonzero(got):
            self._book_recovery(ids, got)

    def _lift_controls(self) -> None:
        """Shops with no arrears and no watch get their settlement and trading back."""
        m = self.model
        book, mer = m.credit.merchant, m.merchants
        n = mer.n
        in_arrears = np.zeros(n, dtype=bool)
        late = book.delinquent_ids()
        in_arrears[book.borrower[late]] = True
        clear = ~in_arrears & ~mer.watch[:n] & ~mer.defaulted[:n]
        mer.frozen[:n] &= ~clear
        mer.restricted[:n] &= ~clear

    def early_warning(self, t: int) -> None:
        """Post-loan check: a borrowing shop whose traffic kept falling is put on watch; its settlement
        is held and used to repay the loan early."""
        m = self.model
        book, mer = m.credit.merchant, m.merchants
        active = book.active_ids()
        prog = active[book.platform[active] >= 0]
        if len(prog) == 0:
            return
        shops = book.borrower[prog]
        plat = book.platform[prog]
        warn = self.warn_on[plat] & (mer.falling_days[shops] >= self.warn_days[plat])
        m.today["early_warnings"] += int(np.count_nonzero(warn & ~mer.watch[shops]))
        mer.watch[shops[warn]] = True
        mer.frozen[shops[warn]] = True
        watched = prog[mer.watch[shops]]
        if len(watched) == 0:
            return
        current = book.outstanding[watched] - book.arrears_principal[watched]
        got = self.sweep(watched, current, "prepayment")
        paid = book.prepay(watched, got)
        m.credit.principal_reduced(book, watched, paid)
        m.credit.sync_shop_loans()

    # --- deposits ------------------------------------------------------------------------------

    def required_deposit(self, shops: np.ndarray, sales: np.ndarray | None = None) -> np.ndarray:
        """The deposit tier for `sales` a month (default: each shop's last month's settled sales), within the cap."""
        m = self.model
        mer = m.merchants
        sales = mer.sales_last_month[shops] if sales is None else sales
        out = np.zeros(len(shops))
        for p in m.platform_list:
            sel = mer.platform[shops] == p.index
            if not sel.any():
                continue
            tiers = sorted(p.params.deposit.tiers)
            if not tiers:  # no tiers: no deposit
                continue
            floors = np.asarray([f for f, _ in tiers])
            amounts = np.asarray([a for _, a in tiers])
            level = np.searchsorted(floors, sales[sel], side="right") - 1
            req = np.where(level >= 0, amounts[np.maximum(level, 0)], 0.0)
            out[sel] = np.minimum(req, self.caps[p.index])
        return out

    def retier_deposits(self) -> None:
        """Month end: deposits follow last month's settled sales, within the cap. A shop re-tiers once it has had
        a full month of settled sales: before that its month's settled sales are partial, and tiering on them
        refunded an entrant's deposit at its first month end only to call it back from its cash at the next."""
        m = self.model
        mer, acc, ledger = m.merchants, m.accounts, m.ledger
        n = mer.n
        full_month = mer.entered[:n] <= m.t - MONTH - self.delay[mer.platform[:n]]
        shops = (mer.active[:n] & full_month).nonzero()[0]
        if len(shops) == 0:
            return
        req = self.required_deposit(shops)
        held = acc["merchant_deposit"].balance[shops]
        cash = acc["merchant_cash"].balance[shops]
        top_up = np.clip(req - held, 0.0, np.maximum(cash, 0.0))
        refund = np.maximum(held - req, 0.0)
        ledger.transfer("deposit_top_up", acc["merchant_cash"], acc["merchant_deposit"], top_up, shops, shops,
                        dst_unique=True)
        ledger.transfer("deposit_refund", acc["merchant_deposit"], acc["merchant_cash"], refund, shops, shops,
                        dst_unique=True)

    def close_shops(self, shops: np.ndarray) -> None:
        """A closing shop: programme loans, live or written off, are swept from what the platform holds; the rest
        goes back."""
        if len(shops) == 0:
            return
        m = self.model
        book, acc, ledger = m.credit.merchant, m.accounts, m.ledger
        active = book.active_ids()
        mine = active[np.isin(book.borrower[active], shops)]
        if len(mine):
            owed_arrears = book.arrears(mine)
            got = self.sweep(mine, owed_arrears, "arrears")
            p_paid, i_paid = book.pay_arrears(mine, got)
            m.credit.principal_reduced(book, mine, p_paid)
            book_interest(m, book.lender[mine], i_paid)
            current = book.outstanding[mine] - book.arrears_principal[mine]
            got = self.sweep(mine, current, "prepayment")
            m.credit.principal_reduced(book, mine, book.prepay(mine, got))
        self._sweep_claims(shops)
        ledger.transfer("deposit_refund", acc["merchant_deposit"], acc["merchant_cash"],
                        acc["merchant_deposit"].balance[shops].copy(), shops, shops, dst_unique=True)
        slots, cols = np.nonzero(acc["merchant_pending"].balance[:, shops] > 0)
        self._pay_out(slots, shops[cols])
