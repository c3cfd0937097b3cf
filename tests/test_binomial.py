"""The project's binomial sampler: the right distribution, and NumPy 2.5's exact draws on any NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.binomial import binomial

# (n, p) over both algorithms (inversion when the rarer outcome's mean is <= 30, BTPE above) and both
# sides of p = 0.5, at the sizes the model draws (visitors and buyers per platform and day).
CASES = [(10, 0.3), (100, 0.2), (60, 0.5), (50, 0.99), (3000, 0.006), (100, 0.7), (728, 0.48018643260002136),
         (1887, 0.5445612668991089), (5000, 0.03), (200_000, 0.0126), (1_000_000, 0.4)]
NUMPY_FIXED_BTPE = tuple(int(x) for x in np.__version__.split(".")[:2]) >= (2, 5)


@pytest.mark.skipif(not NUMPY_FIXED_BTPE, reason="NumPy < 2.5 has the BTPE acceptance bug this sampler fixes")
@pytest.mark.parametrize(("n", "p"), CASES)
def test_draws_what_numpy_2_5_draws(n: int, p: float) -> None:
    """Same draws and the same generator state afterwards: outputs do not depend on which sampler ran."""
    for seed in range(20):
        ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
        assert [binomial(ours, n, p) for _ in range(200)] == [int(numpys.binomial(n, p)) for _ in range(200)]
        assert ours.bit_generator.state == numpys.bit_generator.state


@pytest.mark.parametrize(("n", "p"), [(20, 0.4), (200, 0.4), (200, 0.8), (2000, 0.3)])
def test_follows_the_binomial_distribution(n: int, p: float) -> None:
    """Chi-square goodness of fit over 20,000 draws (cells with expected count >= 5)."""
    rng = np.random.default_rng(12345)
    draws = np.array([binomial(rng, n, p) for _ in range(20_000)])
    assert draws.min() >= 0 and draws.max() <= n
    counts = np.bincount(draws, minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, p) * len(draws)
    keep = expected >= 5
    observed = np.append(counts[keep], counts[~keep].sum())
    wanted = np.append(expected[keep], expected[~keep].sum())
    wanted *= observed.sum() / wanted.sum()
    assert stats.chisquare(observed, wanted).pvalue > 1e-3


def test_edges_and_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    assert binomial(rng, 0, 0.5) == 0 and binomial(rng, 10, 0.0) == 0 and binomial(rng, 10, 1.0) == 10
    assert binomial(rng, np.int64(40), np.float32(0.5)) <= 40  # NumPy scalars are taken as Python numbers
    for n, p in ((-1, 0.5), (10, -0.1), (10, 1.5), (10, float("nan"))):
        with pytest.raises(ValueError, match="binomial needs"):
            binomial(rng, n, p)
