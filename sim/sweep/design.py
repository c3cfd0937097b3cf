"""Design points of a sweep: a grid, or samples in the unit cube (LHS, Sobol, Morris) mapped to parameter values."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from sim.sweep.spec import Param, Sweep


def problem(sweep: Sweep) -> dict[str, Any]:
    """The SALib problem: every parameter in the unit interval (values are mapped afterwards)."""
    names = list(sweep.parameters)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def unit_sample(sweep: Sweep) -> np.ndarray:
    """Rows of the design in [0, 1]^D (for lhs, sobol, morris), reproducible from the master seed.

    Each coordinate is the quantile at which a parameter's distribution is read (`from_unit`). Morris levels
    k = 0..p-1 are read at the middle of p equally likely slices, (k + 1/2) / p, not at k / (p - 1): the ends
    0 and 1 would be the bounds of a uniform but about 6 sd out for a normal. A Morris step of p/2 levels is
    then a step of 1/2 in every parameter's quantile (`sensitivity` rescales SALib's effects to that step).
    """
    n, d = int(sweep.samples or 0), len(sweep.parameters)
    if sweep.design == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=d, seed=sweep.seed).random(n)
    if sweep.design == "sobol":
        return balanced_sobol(sweep)
    if sweep.design == "morris":
        from SALib.sample import morris

        p = sweep.levels
        grid = morris.sample(problem(sweep), n, num_levels=p, seed=sweep.seed)
        return (np.rint(grid * (p - 1)) + 0.5) / p
    raise ValueError(f"no unit sample for design {sweep.design}")


BALANCE = 0.05  # largest |correlation| allowed between a parameter's column in the base samples A and B
SCRAMBLES = 64  # scrambles tried before keeping the best one


def ab_correlations(unit: np.ndarray, d: int, second_order: bool) -> np.ndarray:
    """Per parameter, the correlation of its values in the Saltelli base samples A and B (the first and last row
    of every block of a Sobol design)."""
    blocks = unit.reshape(-1, 2 * d + 2 if second_order else d + 2, d)
    a, b = blocks[:, 0], blocks[:, -1]
    if len(a) < 2:
        return np.zeros(d)
    return np.array([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(d)])


def balanced_sobol(sweep: Sweep) -> np.ndarray:
    """SALib's Saltelli design on a scrambled Sobol sequence whose base samples A and B are uncorrelated in every
    parameter.

    A is the first D columns of a 2D-dimensional Sobol sequence and B the last D, so parameter j's values in A
    and B are the sequence's columns j and D + j. At small N some of those pairs are far from independent under
    most scrambles (N=64, six parameters: columns 2 and 8 correlate at -0.37 or +0.37 for seeds 0, 1 and 64),
    and the estimators, which assume independent A and B, are then off for that parameter: a KPI set by the
    second parameter alone got ST = 1.38 instead of 1, with a bootstrap interval of +/-0.21 (the interval
    resamples rows and keeps the correlation; it held the true index half the time). The first scramble tried
    is the sweep's seed (the design as before wherever that one is balanced); others come from
    SeedSequence(seed), in order, until every |correlation| is below `BALANCE` (or the best of `SCRAMBLES`)."""
    from SALib.sample import sobol

    d, n = len(sweep.parameters), int(sweep.samples or 0)
    others = np.random.SeedSequence(sweep.seed).spawn(SCRAMBLES - 1)
    seeds = [sweep.seed, *(int(c.generate_state(1)[0]) for c in others)]
    best, worst = None, math.inf
    for seed in seeds:
        unit = sobol.sample(problem(sweep), n, calc_second_order=sweep.second_order, seed=seed)
        off = float(np.nan_to_num(np.abs(ab_correlations(unit, d, sweep.second_order)), nan=1.0).max())
        if off < BALANCE:
            return unit
        if off < worst:
            best, worst = unit, off
    assert best is not None
    return best


def from_unit(p: Param, u: float) -> Any:
    """The value of parameter `p` at quantile `u` of its distribution.

    Whole numbers (`integer`) from low to high are equally likely under a uniform u (log_uniform: each in
    proportion to its width on a log scale), so the end values are not half as likely as the others.
    """
    if p.values is not None:
        return p.values[min(int(u * len(p.values)), len(p.values) - 1)]
    if p.dist == "normal":
        from scipy.stats import norm

        x = float(norm.ppf(min(max(u, 1e-9), 1 - 1e-9), loc=p.mean, scale=p.sd))
        x = max(x, p.low) if p.low is not None else x
        x = min(x, p.high) if p.high is not None else x
        return round(x) if p.integer else x
    low, high = float(p.low), float(p.high)  # type: ignore[arg-type]
    top = high + 1 if p.integer else high  # whole numbers: low..high each own a slice [k, k + 1)
    if p.dist == "log_uniform":
        x = math.exp(math.log(low) + u * (math.log(top) - math.log(low)))
    else:
        x = low + u * (top - low)
    return min(math.floor(x), int(high)) if p.integer else float(x)


def points(sweep: Sweep) -> tuple[list[dict[str, Any]], np.ndarray | None]:
    """The design points (dotted path -> value) in design order, and the unit sample (None for a grid)."""
    names = list(sweep.parameters)
    if sweep.design == "grid":
        combos = itertools.product(*(sweep.parameters[n].values or [] for n in names))
        return [dict(zip(names, combo, strict=True)) for combo in combos], None
    unit = unit_sample(sweep)
    rows = [{n: from_unit(sweep.parameters[n], float(u)) for n, u in zip(names, row, strict=True)} for row in unit]
    return rows, unit


def seeds(sweep: Sweep) -> list[int]:
    """One seed per replication, spawned from the master seed; the same seeds at every design point."""
    children = np.random.SeedSequence(sweep.seed).spawn(sweep.replications)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def run_count(sweep: Sweep) -> int:
    """Planned runs without building the design (for messages)."""
    d = len(sweep.parameters)
    if sweep.design == "grid":
        return math.prod(len(p.values or []) for p in sweep.parameters.values()) * sweep.replications
    n = int(sweep.samples or 0)
    per = {"lhs": n, "sobol": n * (2 * d + 2 if sweep.second_order else d + 2), "morris": n * (d + 1)}
    return per[sweep.design] * sweep.replications
