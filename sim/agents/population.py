"""Populations held as typed arrays, with a read-only view of one member."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from sim.scenario_files.common import _show_python


class Population:
    """Struct of arrays, one row per agent; columns are declared as {name: (dtype, fill)}.

    `population[i]` returns a read-only mapping of one agent's attributes, so a student can inspect
    an individual even though the rules act on whole columns at once.
    """

    columns: ClassVar[dict[str, tuple[type, Any]]] = {}

    def __init__(self, n: int, capacity: int | None = None) -> None:
        self.n = int(n)
        self._capacity = int(capacity if capacity is not None else n)
        for name, (dtype, fill) in self.columns.items():
            setattr(self, name, np.full(self._capacity, fill, dtype=dtype))
        self._extra: dict[str, Callable[[int], Any]] = {}

    def __len__(self) -> int:
        return self.n

    def attach(self, name: str, getter: Callable[[int], Any]) -> None:
        """Show a value kept elsewhere (a cash balance in the ledger) in the member view."""
        self._extra[name] = getter

    def __getitem__(self, i: int) -> MappingProxyType:
        """One member by its id, 0..n-1 (a NumPy integer too; negative counts from the end, as in a list)."""
        allowed = f"allowed: 0..{self.n - 1} (negative counts from the end)" if self.n else "there are none"
        if isinstance(i, bool | np.bool_) or not isinstance(i, numbers.Integral):
            several = f"; for several at once, index a column, e.g. {type(self).__name__.lower()}." \
                      f"{next(iter(self.columns))}[0:3]" if isinstance(i, slice | list | np.ndarray) else ""
            raise TypeError(f"{type(self).__name__} index {_show_python(i)} is not a whole number; {allowed}{several}")
        if not -self.n <= i < self.n:
            raise IndexError(f"{type(self).__name__} index {int(i)} is out of range; {allowed}")
        i = int(i) % self.n
        row = {name: getattr(self, name)[i].item() for name in self.columns}
        row.update({name: getter(i) for name, getter in self._extra.items()})
        return MappingProxyType({"id": i, **row})

    def grow_to(self, needed: int) -> None:
        """Make room for `needed` rows, doubling capacity (amortised O(1) per row)."""
        if needed <= self._capacity:
            return
        capacity = max(self._capacity, 1)
        while capacity < needed:
            capacity *= 2
        for name, (dtype, fill) in self.columns.items():
            old = getattr(self, name)
            new = np.full(capacity, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._capacity = capacity

    @property
    def capacity(self) -> int:
        return self._capacity
