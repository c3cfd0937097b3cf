"""exp and log that give the same bits on every machine, for the model's array arithmetic.

NumPy computes float64 `exp`, `log`, `log1p`, `expm1` and `**` on arrays with code chosen for the CPU at run
time: on a CPU with AVX-512 (recent Intel Xeons, AMD Zen 4) its results differ in the last bit from those on
one without (most laptops), and NumPy 2.3 changed `**` again. The model's rules then take the same seed to
tables that differ in their last digits, and a threshold a value sits on can send two runs apart. These
functions use only IEEE-754 arithmetic, which is exactly rounded on every CPU and in every SIMD path (+, -, *,
/, rint, frexp, ldexp; no fused multiply-add: each NumPy call rounds its result), in the algorithms of fdlibm
(Sun's freely distributable libm, the basis of most C libraries' exp and log): within 1 unit in the last place of
the exact value, the same bits everywhere. No maintained library offers this for NumPy arrays: crlibm's
bindings are unmaintained, mpmath works one number at a time.

They cost about 20 array operations a call, against one for NumPy's: the model calls them on arrays of buyers,
applicants or shops, and on the whole population only when it is built. A few values (at most `FEW`, most days'
calls) are computed one by one as Python floats with the same operations, which costs less and gives the same bits.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

# fdlibm e_exp.c: ln 2 split so that k * LN2_HI is exact for |k| < 2**11, and the coefficients of its
# polynomial for exp on [-ln2/2, ln2/2]
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
         -1.65339022054652515390e-06, 4.13813679705723846039e-08)
EXP_OVERFLOW = 7.09782712893383973096e02  # above it exp is inf
EXP_UNDERFLOW = -7.45133219101941108420e02  # below it exp is 0
# fdlibm e_log.c: the coefficients of its polynomial for log(1 + f) on [sqrt(2)/2 - 1, sqrt(2) - 1]
LOG_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
          2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
          1.479819860511658591e-01)
SQRT_HALF = 7.07106781186547524401e-01


FEW = 8  # at most this many values: computed one by one as Python floats (see `_elementwise`)
SMALLEST, LARGEST = 5e-324, 1.7976931348623157e308  # the positive finite float64 numbers, as log takes them


def _horner(z: Any, coefficients: tuple[float, ...]) -> Any:
    result = z * coefficients[-1]
    for c in reversed(coefficients[1:-1]):
        result += c
        result *= z
    result += coefficients[0]
    return result


def _exp_reduced(x: Any, k: Any) -> Any:
    """exp(x) / 2**k, for k = rint(x / ln 2), on an array or on a float: the same operations either way."""
    hi = x - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    z = r * r
    c = r - z * _horner(z, EXP_P)
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)


def _log_reduced(m: Any, k: Any) -> Any:
    """log(m * 2**k), for sqrt(2)/2 <= m < sqrt(2), on an array or on a float: the same operations either way."""
    f = m - 1.0  # exact (Sterbenz)
    s = f / (2.0 + f)
    z = s * s
    r = z * _horner(z, LOG_LG)
    hfsq = 0.5 * f * f
    return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)


def _exp_one(x: float) -> float:
    """`exp` of one finite float in [EXP_UNDERFLOW, EXP_OVERFLOW]."""
    t = x * INV_LN2
    k = math.copysign(float(round(t)), t)  # np.rint: half to even, and a zero keeps the sign of `t`
    return math.ldexp(_exp_reduced(x, k), int(k))


def _log_one(x: float) -> float:
    """`log` of one positive finite float."""
    m, e = math.frexp(x)
    if m < SQRT_HALF:
        m, e = m * 2.0, e - 1
    return _log_reduced(m, float(e))


def _elementwise(one: Callable[[float], float], low: float, high: float) -> Callable[[Callable], Callable]:
    """Make `rule` (on a float64 array of at least one dimension) a function of any array or number: a number in
    gives a NumPy float64 out.

    Up to FEW values, all within [low, high], are computed one by one by `one`, the same operations on Python
    floats: IEEE-754 arithmetic rounds each the same way (`math.frexp` and `math.ldexp` are exact, as NumPy's
    are), so the bits are those of `rule`, which costs some twenty array operations however few the values
    (the model's rules pass one to a few values most days)."""

    def wrap(rule: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray | float], Any]:
        @functools.wraps(rule)
        def apply(x: np.ndarray | float) -> Any:
            values = np.asarray(x, dtype=np.float64)
            if values.size <= FEW and values.ndim <= 1:
                few = values.tolist() if values.ndim else [float(values)]
                if all(low <= v <= high for v in few):  # NaN is neither
                    out = np.array([one(v) for v in few], dtype=np.float64)
                    return out if values.ndim else out[0]
            if values.ndim == 0:
                return rule(values.reshape(1))[0]
            return rule(values)

        return apply

    return wrap


@_elementwise(_exp_one, EXP_UNDERFLOW, EXP_OVERFLOW)
def exp(x: np.ndarray) -> np.ndarray:
    """e**x, elementwise, as float64: the same bits on every machine (within 1 ulp of the exact value)."""
    if x.size == 0:
        return x.copy()
    any_special = not (x.min() >= EXP_UNDERFLOW and x.max() <= EXP_OVERFLOW)  # NaN compares False
    if any_special:  # out of range or NaN: computed as exp(0), then set
        special = ~((x >= EXP_UNDERFLOW) & (x <= EXP_OVERFLOW))
        inside = np.where(special, 0.0, x)
    else:
        inside = x
    k = np.rint(inside * INV_LN2)
    result = np.ldexp(_exp_reduced(inside, k), k.astype(np.int32))
    if any_special:
        outside = x[special]
        result[special] = np.where(outside > 0, np.inf, np.where(outside < 0, 0.0, np.nan))
    return result


@_elementwise(_log_one, SMALLEST, LARGEST)
def log(given: np.ndarray) -> np.ndarray:
    """The natural logarithm, elementwise, as float64: the same bits on every machine (within 1 ulp).
    log(0) is -inf and log of a negative number NaN, as NumPy gives them (without its warnings)."""
    special = ~(given > 0) | (given == np.inf)  # 0, negative, NaN or inf: computed as log(1), then set
    any_special = special.any()
    # x = m * 2**e with 0.5 <= m < 1 (subnormals included)
    m, e = np.frexp(np.where(special, 1.0, given) if any_special else given)
    low = m < SQRT_HALF
    m[low] *= 2.0  # now sqrt(2)/2 <= m < sqrt(2)
    result = _log_reduced(m, (e - low).astype(np.float64))
    if any_special:
        outside = given[special]
        result[special] = np.where(outside == 0, -np.inf, np.where(outside == np.inf, np.inf, np.nan))
    return result


def power(x: np.ndarray | float, a: float) -> Any:
    """x**a for x >= 0, elementwise, as exp(a log x): the same bits on every machine. Its error grows with
    |a log x| (about that many ulps), which the model's uses (a Weibull draw) keep small."""
    if a == 0:
        return exp(np.zeros_like(x, dtype=np.float64))  # 0**0 is 1; a * log(0) would be NaN
    return exp(a * log(x))


def logistic(x: np.ndarray | float) -> Any:
    """1 / (1 + e**-x), elementwise, as float64: the same bits on every machine."""
    return 1.0 / (1.0 + exp(-np.asarray(x, dtype=np.float64)))
