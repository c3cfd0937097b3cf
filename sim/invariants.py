"""Identities that must hold every day; a broken one stops the run with a message naming it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.finance.loans import CHARGED_OFF, SOLD
from sim.metrics import MARKET_COLUMNS

if TYPE_CHECKING:
    from sim.model import MarketModel

RELATIVE_TOLERANCE = 1e-9  # floating-point rounding allowed, relative to the money in the system
ABSOLUTE_TOLERANCE = 1e-4  # RMB


class InvariantError(RuntimeError):
    """An accounting identity broke: the model is wrong, not the scenario."""


def check(model: MarketModel) -> None:
    """Raise InvariantError naming the first broken identity."""
    day = model.day
    ledger = model.ledger
    gross = {name: float(np.abs(account.balance).sum()) for name, account in ledger.accounts.items()}
    # rounding grows with the amounts added and subtracted: what is held, and what went through today
    tol = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * (sum(gross.values()) + sum(map(abs, ledger.today.values())))
    total = ledger.total_money()
    if abs(total) > tol:
        raise InvariantError(f"day {day}: money is not conserved: the accounts sum to {total:.6f} RMB, not 0")
    for name, account in ledger.accounts.items():
        if name == "outside":
            continue
        if not np.all(np.isfinite(account.balance)):
            raise InvariantError(f"day {day}: non-finite balance in account '{name}'")
        low = float(account.balance.min()) if account.balance.size else 0.0
        # judged against this account's own money: a large account elsewhere must not hide an overdraft here
        if low < -(ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * gross[name]):
            raise InvariantError(f"day {day}: negative balance in account '{name}': {low:.6f} RMB")
    for label, book in (("consumer", model.credit.consumer), ("merchant", model.credit.merchant)):
        gap = book.identity_error()
        if gap > tol:
            raise InvariantError(
                f"day {day}: {label} loan book: principal != outstanding + repaid + written_off + sold "
                f"(off by {gap:.6f} RMB)"
            )
        n = book.n
        if n and float(book.outstanding[:n].min()) < -tol:
            raise InvariantError(f"day {day}: {label} loan book: negative outstanding principal")
    book, debt = model.credit.rebuilt_aggregates()
    if not np.allclose(book, model.credit.book_by_lender, rtol=1e-9, atol=tol):
        raise InvariantError(f"day {day}: lenders' books differ from the sum of their loans")
    if not np.allclose(debt, model.consumers.debt[: model.consumers.n], rtol=1e-9, atol=1e-3):
        raise InvariantError(f"day {day}: consumers' debt differs from the sum of their loans")
    _check_open_claims(model, day)
    unreported = sorted(set(model.today) - set(MARKET_COLUMNS))
    if unreported:  # model.today is a defaultdict: a misspelt key would be a column of zeros, silently
        raise InvariantError(f"day {day}: model.today['{unreported[0]}'] is reported by no market column "
                             "(misspelt, or missing from metrics.MARKET_COLUMNS)")


def _check_open_claims(model: MarketModel, day: int) -> None:
    """Each consumer's count of open claims (which keeps a delinquency spell, and collection, going) equals
    the number of their charged-off or sold loans with something left to collect."""
    book, n = model.credit.consumer, model.credit.consumer.n
    status = book.status[:n]
    open_ = ((status == CHARGED_OFF) | (status == SOLD)) & (book.claim[:n] > 0)
    recount = np.bincount(book.borrower[:n][open_], minlength=model.consumers.n)
    counted = model.collections.open_claims
    if not np.array_equal(recount, counted):
        wrong = int(np.count_nonzero(recount != counted))
        raise InvariantError(f"day {day}: {wrong} consumers' open-claim counts differ from their charged-off "
                             f"and sold loans with a claim left")
