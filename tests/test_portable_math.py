"""sim.portable_math: exp and log within an ulp of the exact value, with NumPy's answers at the edges."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim import portable_math as pm

EXACT = np.longdouble if np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant else None


def _ulps(got: np.ndarray, exact: np.ndarray) -> float:
    """The largest error in units of the last place of float64 at the exact value."""
    spacing = np.spacing(np.abs(exact.astype(np.float64))).astype(exact.dtype)
    return float(np.max(np.abs((got.astype(exact.dtype) - exact) / spacing)))


def _exact(fn: np.ufunc, x: np.ndarray) -> np.ndarray:
    if EXACT is None:
        pytest.skip("long double is no wider than double here: no reference more exact than the result")
    return fn(x.astype(EXACT))


@pytest.mark.parametrize("low, high", [(-745.0, 709.7), (-1.0, 1.0), (-1e-9, 1e-9), (-40.0, 40.0)])
def test_exp_is_within_an_ulp(low: float, high: float) -> None:
    x = np.random.default_rng(1).uniform(low, high, 200_000)
    assert _ulps(pm.exp(x), _exact(np.exp, x)) < 1.0


@pytest.mark.parametrize("low, high", [(1e-300, 1e-290), (0.5, 2.0), (0.99, 1.01), (1e-3, 1e3), (1.0, 1e300)])
def test_log_is_within_an_ulp(low: float, high: float) -> None:
    x = np.random.default_rng(2).uniform(low, high, 200_000)
    assert _ulps(pm.log(x), _exact(np.log, x)) < 1.0


def test_edges_are_numpys() -> None:
    x = np.array([0.0, -0.0, -np.inf, np.inf, np.nan, 709.79, -746.0, -745.1, 709.782712893384])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(pm.exp(x), np.exp(x))
    y = np.array([0.0, -0.0, 1.0, -1.0, -np.inf, np.inf, np.nan, 5e-324])
    with np.errstate(all="ignore"):
        expected = np.log(y)
    np.testing.assert_array_equal(pm.log(y), expected)


def test_numbers_in_give_numbers_out() -> None:
    assert isinstance(pm.exp(0.5), np.float64) and pm.exp(0.5) == np.exp(0.5)
    assert isinstance(pm.log(2.0), np.float64) and abs(pm.log(2.0) - np.log(2.0)) <= np.spacing(np.log(2.0))
    assert pm.power(0.0, 0.0) == 1.0 and pm.power(4.0, 0.5) == 2.0
    np.testing.assert_array_equal(pm.logistic(np.array([-800.0, 0.0, 800.0])), [0.0, 0.5, 1.0])


def test_empty_in_gives_empty_out() -> None:
    for fn in (pm.exp, pm.log, pm.logistic, lambda x: pm.power(x, 0.5)):
        out = fn(np.empty(0, dtype=np.float32))
        assert out.shape == (0,) and out.dtype == np.float64


def test_float32_in_is_computed_in_float64() -> None:
    x = np.linspace(-3, 3, 101, dtype=np.float32)
    assert pm.exp(x).dtype == np.float64
    np.testing.assert_array_equal(pm.exp(x), pm.exp(x.astype(np.float64)))



def test_a_few_values_give_the_bits_of_an_array() -> None:
    """Up to `FEW` values are computed one by one as Python floats: the same bits as the array operations."""
    rng = np.random.default_rng(3)
    edges = [709.782712893384, 709.78, -745.1, -745.13, -0.0, 0.0, 5e-324, 1e-310, 1.7976931348623157e308, 0.5, 1.0]
    x = np.concatenate([rng.uniform(-745.2, 709.8, 20_000), rng.uniform(-1e-8, 1e-8, 2_000),
                        rng.uniform(-0.4, 0.4, 2_000), np.exp(rng.uniform(-740, 709, 20_000)), edges])
    with np.errstate(all="ignore"):
        for fn in (pm.exp, pm.log):
            whole = fn(x)  # more than FEW values: the array operations
            few = np.concatenate([fn(x[i:i + pm.FEW]) for i in range(0, len(x), pm.FEW)])
            assert few.tobytes() == whole.tobytes()
            assert all(fn(v).tobytes() == w.tobytes() for v, w in zip(edges, whole[-len(edges):], strict=True))



ROOT = Path(__file__).resolve().parents[1]
MODEL_MODULES = sorted([*(ROOT / "sim/agents").glob("*.py"), *(ROOT / "sim/finance").glob("*.py"),
                        *(ROOT / "sim" / f"{name}.py" for name in ("model", "commerce", "households", "shops",
                                                                  "metrics", "collector", "invariants", "limits"))])
NUMPY_TRANSCENDENTAL = re.compile(r"np\.(exp|log|log1p|expm1|log2|log10|exp2|power|float_power|sinh|cosh|tanh)\(")


@pytest.mark.parametrize("path", MODEL_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_model_takes_exp_and_log_from_portable_math(path: Path) -> None:
    """NumPy's float64 exp, log and powers differ by CPU in the last bit: a rule that used them would give other
    tables on another machine. (An array's `**` is NumPy's power too, which this cannot tell from a number's.)"""
    found = [line.strip() for line in path.read_text().splitlines() if NUMPY_TRANSCENDENTAL.search(line)]
    assert not found, f"{path.relative_to(ROOT)}: use sim.portable_math instead: {found}"
