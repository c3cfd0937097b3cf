"""Sorted unique values of a 1-D array, as `np.unique` returns them, for less.

NumPy 2.x's `np.unique` (values only) goes through a hash table before sorting: tens of microseconds
on a hundred ids and hundreds on a few thousand. The daily cycle asks for the unique ids of small
arrays many times a day; sorting once and keeping the first of each run gives the same array.
"""

from __future__ import annotations

import numpy as np


def unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` for a 1-D array: its distinct values in increasing order."""
    ordered = np.sort(values)
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]
