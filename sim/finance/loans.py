"""The loan book: every loan as a row of typed arrays, its schedule, arrears, write-off and sale.

A loan's principal identity always holds: principal = outstanding + repaid + written_off + sold.
Money for repayments is moved by the caller through the ledger; this module only keeps the book.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.uniques import unique

ACTIVE, REPAID, CHARGED_OFF, SOLD, SETTLED = 0, 1, 2, 3, 4
STATUS_NAMES = {ACTIVE: "active", REPAID: "repaid", CHARGED_OFF: "charged_off", SOLD: "sold", SETTLED: "settled"}
PRODUCT_NAMES = ("bnpl", "cash", "merchant")
BNPL, CASH, MERCHANT = 0, 1, 2
MONTH = 30  # days between instalments

_FIELDS: dict[str, tuple[type, int | float]] = {
    "borrower": (np.int32, -1),
    "lender": (np.int16, -1),
    "platform": (np.int8, -1),
    "product": (np.int8, -1),
    "status": (np.int8, ACTIVE),
    "start_day": (np.int32, 0),
    "terms": (np.int16, 1),
    "scheduled": (np.int16, 0),  # instalments that have fallen due so far
    "next_due": (np.int32, 0),
    "first_missed": (np.int32, -1),  # due day of the oldest unpaid instalment, -1 when current
    "missed_total": (np.int16, 0),
    "missed_run": (np.int16, 0),
    "apr": (np.float32, 0.0),
    "principal": (np.float64, 0.0),
    "outstanding": (np.float64, 0.0),
    "repaid": (np.float64, 0.0),
    "written_off": (np.float64, 0.0),
    "sold": (np.float64, 0.0),
    "arrears_principal": (np.float64, 0.0),
    "arrears_interest": (np.float64, 0.0),
    "interest_paid": (np.float64, 0.0),
    "claim": (np.float64, 0.0),  # what can still be collected after write-off or sale
    "recovered": (np.float64, 0.0),  # collected after default, by the lender or the NPL buyer
}
FLOAT_FIELDS = tuple(name for name, (dtype, _) in _FIELDS.items() if np.issubdtype(dtype, np.floating))


class _Candidates:
    """Row ids that may meet a condition: a superset, added to where a row may start to meet it and
    narrowed to the rows that do each time it is read (in increasing order, as a scan gives them)."""

    def __init__(self) -> None:
        self._pages: list[np.ndarray] = []

    def add(self, ids: np.ndarray) -> None:
        if len(ids):
            self._pages.append(np.array(ids, dtype=np.int64))

    def narrow(self, meets: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        if not self._pages:
            return np.empty(0, dtype=np.int64)
        rows = unique(np.concatenate(self._pages)) if len(self._pages) > 1 else self._pages[0]
        rows = rows[meets(rows)]
        rows.flags.writeable = False  # kept for the next read: callers index with it, never write it
        self._pages[:] = [rows] if len(rows) else []
        return rows


class LoanBook:
    """Growable struct-of-arrays of loans. Arrays double in capacity as loans are added.

    Instalments fall due every MONTH days from a loan's start, so a loan can only be due on days
    congruent to its start day: a due calendar keeps, per day of the month, the loans that may
    still fall due on it, and `due_ids` looks at those instead of the whole book. Likewise a loan
    becomes delinquent only by missing an instalment (`record_miss`) and has a claim only once
    charged off or sold, so `delinquent_ids` and `claim_ids` look only at such loans. These rely on
    `next_due`, `first_missed` and `status` changing only through these methods, and on callers
    only ever lowering `claim`.

    `version` counts the calls that changed some loan's `status` or `first_missed`: the active and the
    delinquent loans are kept as last read until it (or the number of loans) moves on. They are read some
    ten times a day, often with no change in between.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self._capacity = max(int(capacity), 16)
        for name, (dtype, fill) in _FIELDS.items():
            setattr(self, name, np.full(self._capacity, fill, dtype=dtype))
        self._due_calendar: list[list[np.ndarray]] = [[] for _ in range(MONTH)]
        self._maybe_late = _Candidates()  # loans that have missed an instalment
        self._maybe_claim = _Candidates()  # loans charged off or sold
        self.version = 0
        self._active: tuple[int, int, np.ndarray] | None = None  # (version, n, active ids) as last read
        self._late: tuple[int, np.ndarray] | None = None  # (version, delinquent ids) as last read

    def __len__(self) -> int:
        return self.n

    def _grow(self, needed: int) -> None:
        capacity = self._capacity
        while capacity < needed:
            capacity *= 2
        for name, (dtype, fill) in _FIELDS.items():
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._capacity = capacity

    def add(
        self,
        borrower: np.ndarray,
        lender: np.ndarray | int,
        platform: np.ndarray | int,
        product: int,
        principal: np.ndarray,
        apr: np.ndarray | float,
        terms: int,
        day: int,
    ) -> np.ndarray:
        """Book new loans; return their ids. The first instalment falls due a month later."""
        k = len(borrower)
        if k == 0:
            return np.empty(0, dtype=np.int64)
        if self.n + k > self._capacity:
            self._grow(self.n + k)
        rows = slice(self.n, self.n + k)  # new loans are contiguous rows: slices, not fancy indexing
        self.borrower[rows] = borrower
        self.lender[rows] = lender
        self.platform[rows] = platform
        self.product[rows] = product
        self.status[rows] = ACTIVE
        self.start_day[rows] = day
        self.terms[rows] = terms
        self.next_due[rows] = day + MONTH
        self.apr[rows] = apr
        self.principal[rows] = principal
        self.outstanding[rows] = principal
        ids = np.arange(self.n, self.n + k)
        self._due_calendar[(day + MONTH) % MONTH].append(ids)
        self.n += k
        return ids

    # --- views -----------------------------------------------------------------------------

    def active_ids(self) -> np.ndarray:
        """Active loans, in increasing order (read-only: kept while no loan changes status)."""
        if self._active is None or self._active[:2] != (self.version, self.n):
            ids = (self.status[: self.n] == ACTIVE).nonzero()[0]
            ids.flags.writeable = False
            self._active = (self.version, self.n, ids)
        return self._active[2]

    def due_ids(self, day: int) -> np.ndarray:
        """Active loans with an instalment falling due today (in increasing order, as a scan of the
        whole book would give them). Loans that can no longer fall due leave the calendar."""
        pages = self._due_calendar[day % MONTH]
        if not pages:
            return np.empty(0, dtype=np.int64)
        rows = pages[0] if len(pages) == 1 else np.concatenate(pages)  # ids were added in increasing order
        next_due = self.next_due[rows]
        live = (next_due >= 0) & (self.status[rows] == ACTIVE)
        rows, next_due = rows[live], next_due[live]
        pages[:] = [rows] if len(rows) else []
        return rows[next_due == day]

    def outstanding_by_lender(self, n_lenders: int) -> np.ndarray:
        """Principal outstanding on active loans, by the lender that booked them."""
        ids = self.active_ids()
        return np.bincount(self.lender[ids], weights=self.outstanding[ids], minlength=n_lenders)

    def delinquent_ids(self) -> np.ndarray:
        """Active loans with a missed instalment, in increasing order (as a scan of the book gives)."""
        if self._late is None or self._late[0] != self.version:  # new loans are current: `n` does not matter
            late = self._maybe_late.narrow(lambda rows: (self.first_missed[rows] >= 0) & (self.status[rows] == ACTIVE))
            self._late = (self.version, late)
        return self._late[1]

    def claim_ids(self) -> np.ndarray:
        """Loans (charged off or sold) with something left to collect, in increasing order."""
        return self._maybe_claim.narrow(lambda rows: self.claim[rows] > 0)

    def dpd(self, ids: np.ndarray, day: int) -> np.ndarray:
        first = self.first_missed[ids]
        return np.where(first >= 0, day - first, 0)

    # --- schedule --------------------------------------------------------------------------

    def instalment(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Principal and interest of the instalment falling due now (declining balance)."""
        remaining_terms = np.maximum(self.terms[ids] - self.scheduled[ids], 1)
        current = self.outstanding[ids] - self.arrears_principal[ids]
        principal = current / remaining_terms
        interest = current * self.apr[ids].astype(np.float64) * (MONTH / 365.0)
        return principal, interest

    def advance_schedule(self, ids: np.ndarray) -> None:
        self.scheduled[ids] += 1
        more = self.scheduled[ids] < self.terms[ids]
        self.next_due[ids] = np.where(more, self.next_due[ids] + MONTH, -1)

    def record_payment(self, ids: np.ndarray, principal: np.ndarray, interest: np.ndarray) -> None:
        self.outstanding[ids] -= principal
        self.repaid[ids] += principal
        self.interest_paid[ids] += interest
        self._close_if_repaid(ids)

    def record_miss(self, ids: np.ndarray, principal: np.ndarray, interest: np.ndarray, day: int) -> None:
        if len(ids) == 0:  # most days' instalments are all paid: nothing to update
            return
        self.arrears_principal[ids] += principal
        self.arrears_interest[ids] += interest
        self.first_missed[ids] = np.where(self.first_missed[ids] < 0, day, self.first_missed[ids])
        self._maybe_late.add(ids)
        self.version += 1
        self.missed_total[ids] += 1
        self.missed_run[ids] += 1

    def arrears(self, ids: np.ndarray) -> np.ndarray:
        return self.arrears_principal[ids] + self.arrears_interest[ids]

    def pay_arrears(self, ids: np.ndarray, amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply payments to arrears, interest first (the caller has moved the money).

        Loans whose arrears are cleared become current again. Returns (principal, interest) paid.
        """
        interest = np.minimum(amount, self.arrears_interest[ids])
        principal = np.minimum(amount - interest, self.arrears_principal[ids])
        self.arrears_interest[ids] -= interest
        self.arrears_principal[ids] -= principal
        self.outstanding[ids] -= principal
        self.repaid[ids] += principal
        self.interest_paid[ids] += interest
        cleared = ids[self.arrears(ids) <= 1e-6]
        self.arrears_principal[cleared] = 0.0
        self.arrears_interest[cleared] = 0.0
        self.first_missed[cleared] = -1
        if len(cleared):
            self.version += 1
        self.missed_run[cleared] = 0
        self._close_if_repaid(ids)
        return principal, interest

    def prepay(self, ids: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """Early repayment of current principal (not in arrears); returns principal paid."""
        principal = np.minimum(amount, self.outstanding[ids] - self.arrears_principal[ids])
        self.outstanding[ids] -= principal
        self.repaid[ids] += principal
        done = ids[self.outstanding[ids] - self.arrears_principal[ids] <= 1e-6]
        self.next_due[done] = -1
        self._close_if_repaid(ids)
        return principal

    def _close_if_repaid(self, ids: np.ndarray) -> None:
        done = ids[(self.outstanding[ids] <= 1e-6) & (self.next_due[ids] < 0) & (self.arrears_interest[ids] <= 1e-6)]
        self.outstanding[done] = 0.0
        self.status[done] = REPAID
        if len(done):
            self.version += 1

    # --- default ---------------------------------------------------------------------------

    def charge_off(self, ids: np.ndarray) -> np.ndarray:
        """Write off the outstanding principal; the claim stays collectable. Returns amounts written off."""
        amount = self.outstanding[ids].copy()
        self.written_off[ids] += amount
        self.claim[ids] = amount + self.arrears_interest[ids]
        self._maybe_claim.add(ids)
        self._zero_balance(ids)
        self.status[ids] = CHARGED_OFF
        if len(ids):
            self.version += 1
        return amount

    def sell(self, ids: np.ndarray) -> np.ndarray:
        """Sell loans to an NPL buyer: principal still on the book leaves it as `sold`."""
        on_book = self.outstanding[ids].copy()
        self.sold[ids] += on_book
        self.claim[ids] += on_book + self.arrears_interest[ids] * (on_book > 0)
        self._maybe_claim.add(ids)
        self._zero_balance(ids)
        self.status[ids] = SOLD
        if len(ids):
            self.version += 1
        return on_book

    def settle(self, ids: np.ndarray) -> np.ndarray:
        """Close loans in a negotiated settlement: what is left on the book is written off."""
        amount = self.outstanding[ids].copy()
        self.written_off[ids] += amount
        self.claim[ids] = 0.0
        self._zero_balance(ids)
        self.status[ids] = SETTLED
        if len(ids):
            self.version += 1
        return amount

    def _zero_balance(self, ids: np.ndarray) -> None:
        self.outstanding[ids] = 0.0
        self.arrears_principal[ids] = 0.0
        self.arrears_interest[ids] = 0.0
        self.next_due[ids] = -1

    # --- checks ----------------------------------------------------------------------------

    def identity_error(self) -> float:
        """Largest |principal - outstanding - repaid - written_off - sold| over all loans."""
        n = self.n
        if n == 0:
            return 0.0
        gap = self.principal[:n] - self.outstanding[:n] - self.repaid[:n] - self.written_off[:n] - self.sold[:n]
        return float(np.abs(gap).max())

    def row(self, i: int) -> dict[str, object]:
        out = {name: getattr(self, name)[i].item() for name in _FIELDS}
        out["status"] = STATUS_NAMES[int(out["status"])]
        out["product"] = PRODUCT_NAMES[int(out["product"])]
        return out
