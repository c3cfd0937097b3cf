"""The fast unique helpers return exactly what np.unique returns; the draws the model takes its own way are NumPy's."""

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


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
@pytest.mark.parametrize("n", [0, 1, 2, 9, 300, 5000])
def test_inverse_and_first_indices_equal_numpy(dtype: type, n: int) -> None:
    from sim.uniques import first_indices, unique_inverse

    values = np.random.default_rng(n + 1).integers(0, max(n // 3, 1) if n else 1, n).astype(dtype)
    got, inverse = unique_inverse(values)
    want, want_inverse = np.unique(values, return_inverse=True)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert inverse.dtype == want_inverse.dtype and np.array_equal(inverse, want_inverse)
    first = first_indices(values)
    want_first = np.unique(values, return_index=True)[1]
    assert first.dtype == want_first.dtype and np.array_equal(first, want_first)


@pytest.mark.parametrize("n", [1, 3, 50])
def test_shop_category_draw_is_numpys_choice(n: int) -> None:
    """Merchants' own category draw gives Generator.choice's numbers and leaves the generator where it does."""
    from sim.agents.merchants import _choice

    for seed in range(20):
        p = np.random.default_rng(seed).random(5)
        p /= p.sum()
        ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(_choice(ours, p, n), numpys.choice(len(p), size=n, p=p))
        assert ours.bit_generator.state == numpys.bit_generator.state


def test_one_draw_of_three_rows_is_three_draws() -> None:
    """Checkout draws its three uniforms per buyer in one call: the same numbers as three calls."""
    for n in (0, 1, 40):
        one, three = np.random.default_rng(n), np.random.default_rng(n)
        rows = one.random((3, n))
        for row in rows:
            assert np.array_equal(row, three.random(n))
        assert one.bit_generator.state == three.bit_generator.state
