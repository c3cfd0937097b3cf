"""Sorted unique values of a 1-D array, as `np.unique` returns them, for less.

NumPy 2.x's `np.unique` (values only) goes through a hash table before sorting: tens of microseconds
on a hundred ids and hundreds on a few thousand. With `return_inverse` or `return_index` it sorts, but
its Python layers (argument handling, reshaping the inverse) cost more than the sort of the few dozen
ids the daily cycle has. The functions here sort once and keep the first of each run, which gives the
same arrays as `np.unique`.
"""

from __future__ import annotations

import numpy as np


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values in a sorted array."""
    first = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        first[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` for a 1-D array: its distinct values in increasing order."""
    ordered = values.copy()  # `np.sort` is this copy and sort behind a Python wrapper
    ordered.sort()
    return ordered[run_starts(ordered)]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)` for a 1-D array: the distinct values in increasing order,
    and for each element the position of its value among them."""
    perm = values.argsort()
    ordered = values[perm]
    first = run_starts(ordered)
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[perm] = first.cumsum() - 1
    return ordered[first], inverse


def first_indices(values: np.ndarray) -> np.ndarray:
    """`np.unique(values, return_index=True)[1]` for a 1-D array: the index of the first occurrence of each
    distinct value, in increasing order of the values."""
    perm = values.argsort(kind="stable")
    return perm[run_starts(values[perm])]
