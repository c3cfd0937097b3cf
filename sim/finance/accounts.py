"""Every movement of money is a transfer between two accounts, recorded under a flow name.

Accounts are NumPy arrays (one row per consumer, merchant, platform, ...) plus one account for the
outside world (income, costs, funding, NPL buyers). The sum of all balances never changes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from sim.invariants import InvariantError

Index = np.ndarray | int | slice | tuple | None
SMALL_ACCOUNT = 4096  # at most this many holders: aggregate repeated indices with bincount
_SCALAR_INDEX = (int, np.integer)
_SCALAR_AMOUNT = (float, int)
_sum = np.add.reduce


@dataclass
class Account:
    """A named array of balances (RMB)."""

    name: str
    balance: np.ndarray

    def total(self) -> float:
        return float(self.balance.sum())


def _single(account: Account, idx: Index) -> bool:
    """Does `idx` name exactly one holder of `account`?"""
    return isinstance(idx, _SCALAR_INDEX) or (idx is None and account.balance.size == 1)


def _apply(balance: np.ndarray, idx: Index, amount: np.ndarray, total: float, credit: bool, unique: bool) -> None:
    """Add (`credit`) or subtract `amount` at `idx`; `total` is `amount.sum()`, already known.

    Subtracting is done as such rather than adding `-amount`: the same numbers, one array less.
    """
    if idx is None:
        if balance.size == 1:  # a single account (the outside world) takes the total
            balance[0] += total if credit else -total
        elif credit:
            balance += amount
        else:
            balance -= amount
    elif isinstance(idx, _SCALAR_INDEX):  # one account pays or receives the total
        balance[idx] += total if credit else -total
    elif unique or isinstance(idx, slice):
        if credit:
            balance[idx] += amount
        else:
            balance[idx] -= amount
    elif balance.ndim == 1 and len(balance) <= SMALL_ACCOUNT:  # few holders (platforms, lenders): bincount
        if isinstance(idx, np.ndarray) and idx.ndim == 1 and idx.shape == amount.shape:  # the usual case
            sums = np.bincount(idx, weights=amount, minlength=len(balance))
        else:  # an index broadcast against the amounts (a sweep's slots x shops)
            weights = np.broadcast_to(amount, np.shape(idx))
            sums = np.bincount(np.ravel(idx), weights=weights.ravel(), minlength=len(balance))
        if credit:
            balance += sums
        else:
            balance -= sums
    elif credit:
        np.add.at(balance, idx, amount)
    else:
        np.subtract.at(balance, idx, amount)


@dataclass
class Ledger:
    """All accounts of a market and the flows between them."""

    accounts: dict[str, Account] = field(default_factory=dict)
    today: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cumulative: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    # Verify each index array a transfer calls unique (a repeat would be debited or credited once, not once
    # per row: money made or lost). Off in normal runs for speed; on with `check_invariants`.
    check_unique: bool = False

    def open(self, name: str, balance: np.ndarray) -> Account:
        account = Account(name, balance)
        self.accounts[name] = account
        return account

    def transfer(
        self,
        flow: str,
        src: Account,
        dst: Account,
        amount: np.ndarray | float,
        src_idx: Index = None,
        dst_idx: Index = None,
        *,
        src_unique: bool = True,
        dst_unique: bool = False,
    ) -> float:
        """Move `amount` from `src[src_idx]` to `dst[dst_idx]`; return the total moved.

        `*_unique` says whether an index array has no repeats, so plain fancy indexing is safe;
        with repeats the update goes through `np.add.at`.
        """
        if isinstance(amount, _SCALAR_AMOUNT) and _single(src, src_idx) and _single(dst, dst_idx):  # common case
            if amount == 0:
                return 0.0
            src.balance[0 if src_idx is None else src_idx] -= amount
            dst.balance[0 if dst_idx is None else dst_idx] += amount
            self.today[flow] += amount
            self.cumulative[flow] += amount
            return float(amount)
        amount = np.asarray(amount, dtype=np.float64)
        if amount.size == 0:
            return 0.0
        total = float(_sum(amount, axis=None))  # what `amount.sum()` computes, without its Python wrapper
        if total == 0.0 and not np.count_nonzero(amount):
            return 0.0
        if self.check_unique:
            _check_unique(flow, "source", src, src_idx, src_unique)
            _check_unique(flow, "destination", dst, dst_idx, dst_unique)
        _apply(src.balance, src_idx, amount, total, False, src_unique)
        _apply(dst.balance, dst_idx, amount, total, True, dst_unique)
        self.today[flow] += total
        self.cumulative[flow] += total
        return total

    def total_money(self) -> float:
        return math.fsum(account.total() for account in self.accounts.values())

    def new_day(self) -> None:
        self.today.clear()


def _check_unique(flow: str, side: str, account: Account, idx: Index, unique: bool) -> None:
    """Stop a transfer whose index array is called unique but repeats a holder.

    In a tuple index (a sweep's `(slice(None), shops)`, a payout's `(slot, shops)` or `(slots, shops)`) one index
    array beside slices and single positions is checked as it is; several arrays are checked as the positions
    they name together (a shop may repeat across pending slots)."""
    if not unique:
        return
    shape = None
    if isinstance(idx, tuple):
        arrays = [i for i in idx if isinstance(i, np.ndarray)]
        if len(arrays) == 1 and arrays[0].ndim == 1:
            idx = arrays[0]
        elif len(arrays) > 1 and all(isinstance(i, (np.ndarray, *_SCALAR_INDEX)) for i in idx):
            shape = account.balance.shape
            idx = np.ravel_multi_index(tuple(np.ravel(i) for i in np.broadcast_arrays(*idx)), shape)
    if not (isinstance(idx, np.ndarray) and idx.ndim == 1 and len(idx) > 1):
        return
    holders = np.sort(idx)
    repeated = holders[1:][holders[1:] == holders[:-1]]
    if len(repeated):
        holder = int(repeated[0]) if shape is None else tuple(int(i) for i in np.unravel_index(repeated[0], shape))
        raise InvariantError(f"flow {flow}: the {side} index repeats {account.name} {holder} but is "
                             f"marked unique ({'src' if side == 'source' else 'dst'}_unique=True): the repeat "
                             "would move its money once")
