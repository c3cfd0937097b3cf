"""The fast unique helper returns exactly what np.unique returns."""

from __future__ import annotations

import numpy as np
import pytest

from sim.uniques import unique


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.float64])
@pytest.mark.parametrize("n", [0, 1, 2, 9, 300, 5000])
def test_unique_equals_numpy(dtype: type, n: int) -> None:
    values = np.random.default_rng(n).integers(0, max(n // 3, 1) if n else 1, n).astype(dtype)
    got, want = unique(values), np.unique(values)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)
