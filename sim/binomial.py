"""Binomial draws whose algorithm the project owns, so that a seed gives the same market on any NumPy.

NumPy may change a distribution's stream between releases when it fixes a bug (NEP 19), and 2.5 did so
for `Generator.binomial`: its BTPE sampler (Kachitvichyanukul & Schmeiser, 1988) had inherited a sign
error from the paper's final acceptance test (numpy/numpy#31238). NumPy 2.5 needs Python 3.12, so with
`Generator.binomial` a run on Python 3.11 (NumPy <= 2.4) and the same run on 3.12 (NumPy 2.5) drew
different visitor and buyer counts from the same seed, and drifted apart from there.

`binomial` below is written from the published algorithm, with the corrected test, and takes its
uniforms from `Generator.random`, whose stream NumPy keeps fixed. It draws the same numbers as NumPy
2.5's `Generator.binomial` (checked by tests/test_binomial.py wherever NumPy >= 2.5 is installed) on
every NumPy. Only its scalar form is needed: the model draws one count per platform and day.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

INVERSION_MAX_MEAN = 30.0  # at or below this mean, invert the CDF; above, use BTPE


def binomial(rng: np.random.Generator, n: int, p: float) -> int:
    """One draw from Binomial(n, p), using only `rng.random()` for randomness."""
    n, p = int(n), float(p)
    if n < 0 or not 0.0 <= p <= 1.0:
        raise ValueError(f"binomial needs n >= 0 and 0 <= p <= 1, got n={n}, p={p}")
    if n == 0 or p == 0.0:
        return 0
    # Draw the number of the rarer outcome, so the mean it works with is at most n / 2.
    if p <= 0.5:
        return _inversion(rng, n, p) if p * n <= INVERSION_MAX_MEAN else _btpe(rng, n, p)
    q = 1.0 - p
    return n - (_inversion(rng, n, q) if q * n <= INVERSION_MAX_MEAN else _btpe(rng, n, q))


def _inversion(rng: np.random.Generator, n: int, p: float) -> int:
    """Walk up the CDF from 0 until it passes a uniform; restart with a fresh uniform past a bound
    10 standard deviations above the mean (where the remaining mass is negligible)."""
    q = 1.0 - p
    p_zero = math.exp(n * math.log(q))
    mean = n * p
    bound = int(min(n, mean + 10.0 * math.sqrt(mean * q + 1)))
    x, pmf, u = 0, p_zero, rng.random()
    while u > pmf:
        x += 1
        if x > bound:
            x, pmf, u = 0, p_zero, rng.random()
        else:
            u -= pmf
            pmf = ((n - x + 1) * p * pmf) / (x * q)
    return x


def _btpe(rng: np.random.Generator, n: int, p: float) -> int:
    """Binomial, Triangle, Parallelogram, Exponential: rejection from a hat made of a triangle over the
    mode, two parallelograms beside it and exponential tails, for p <= 0.5 and n * p > 30."""
    q, mode, half, centre, left, right, c, lam_left, lam_right, area_1, area_2, area_3, area_4, npq = _hat(n, p)
    while True:
        u = rng.random() * area_4
        v = rng.random()
        if u <= area_1:  # inside the triangle: accepted at once
            return math.floor(centre - half * v + u)
        if u <= area_2:  # parallelograms
            x = left + (u - area_1) / c
            v = v * c + 1.0 - abs(mode - x + 0.5) / half
            if v > 1.0:
                continue
            y = math.floor(x)
        elif u <= area_3:  # left exponential tail
            if v == 0.0:
                continue
            y = math.floor(left + math.log(v) / lam_left)
            if y < 0:
                continue
            v = v * (u - area_2) * lam_left
        else:  # right exponential tail
            if v == 0.0:
                continue
            y = math.floor(right - math.log(v) / lam_right)
            if y > n:
                continue
            v = v * (u - area_3) * lam_right
        if _accept(v, y, n, p, q, mode, centre, npq):
            return y


@lru_cache(maxsize=64)
def _hat(n: int, p: float) -> tuple:
    """The hat of `_btpe` for (n, p). The model draws with the same few (n, p) day after day (a platform's
    users and their mean visit chance), so it is built once for each."""
    q = 1.0 - p
    mode_f = n * p + p
    mode = math.floor(mode_f)
    half = math.floor(2.195 * math.sqrt(n * p * q) - 4.6 * q) + 0.5  # half-width of the triangle
    centre = mode + 0.5
    left, right = centre - half, centre + half
    c = 0.134 + 20.5 / (15.3 + mode)  # height of the parallelograms relative to the triangle
    a = (mode_f - left) / (mode_f - left * p)
    lam_left = a * (1.0 + a / 2.0)  # decay rates of the exponential tails
    a = (right - mode_f) / (right * q)
    lam_right = a * (1.0 + a / 2.0)
    # Cumulative areas of the hat's pieces: triangle, parallelograms, left tail, right tail.
    area_1 = half
    area_2 = area_1 * (1.0 + 2.0 * c)
    area_3 = area_2 + c / lam_left
    area_4 = area_3 + c / lam_right
    npq = n * p * q
    return q, mode, half, centre, left, right, c, lam_left, lam_right, area_1, area_2, area_3, area_4, npq


def _accept(v: float, y: int, n: int, p: float, q: float, mode: int, centre: float, npq: float) -> bool:
    """Is `y` accepted, given the hat's height `v` at it? Near the mode, compare with the exact ratio
    f(y) / f(mode); farther out, squeeze log(v) between bounds and only then use Stirling's formula."""
    k = abs(y - mode)
    if k <= 20 or k >= npq / 2.0 - 1:
        s = p / q
        a = s * (n + 1)
        ratio = 1.0
        if mode < y:
            for i in range(mode + 1, y + 1):
                ratio *= a / i - s
        elif mode > y:
            for i in range(y + 1, mode + 1):
                ratio /= a / i - s
        return v <= ratio
    rho = (k / npq) * ((k * (k / 3.0 + 0.625) + 0.16666666666666666) / npq + 0.5)
    t = -k * k / (2 * npq)
    log_v = math.log(v) if v > 0.0 else -math.inf
    if log_v < t - rho:
        return True
    if log_v > t + rho:
        return False
    x1, f1, z, w = y + 1.0, mode + 1.0, n + 1.0 - mode, n - y + 1.0
    bound = (centre * math.log(f1 / x1) + (n - mode + 0.5) * math.log(z / w)
             + (y - mode) * math.log(w * p / (x1 * q))
             # Stirling corrections: + for the mode's factorials, - for y's (the paper had all four +)
             + _stirling(f1) + _stirling(z) - _stirling(x1) - _stirling(w))
    return log_v <= bound


def _stirling(x: float) -> float:
    """The correction term of Stirling's series for log(x!), to the order BTPE uses."""
    x2 = x * x
    return (13680.0 - (462.0 - (132.0 - (99.0 - 140.0 / x2) / x2) / x2) / x2) / x / 166320.0
