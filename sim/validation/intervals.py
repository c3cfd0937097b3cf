"""A figure's verdict over seeds: its mean and 95% interval (pooled with a Wilson interval for shares of
rare events), and how the report writes its numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.compare import interval, t95
from sim.validation.figures import FIGURES, Figure


def wilson(hits: float, trials: float, z: float = 1.96) -> tuple[float, float, float]:
    """A share and its 95% Wilson score interval."""
    if trials <= 0:
        return math.nan, math.nan, math.nan
    p = hits / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return p, centre - half, centre + half


def overdispersion(pairs: list[tuple[float, float]]) -> float:
    """How the per-seed shares (hits, trials) scatter compared with binomial draws of one share: Pearson
    chi-square over its k - 1 degrees of freedom (above 1: more than binomial; below 1: less, or by chance);
    1 for fewer than two usable seeds or a pooled share of 0 or 1 (nothing to estimate it from)."""
    pairs = [(h, n) for h, n in pairs if n > 0]
    hits, trials = sum(h for h, _ in pairs), sum(n for _, n in pairs)
    if len(pairs) < 2 or trials <= 0 or hits in (0, trials):
        return 1.0
    p = hits / trials
    chi2 = math.fsum((h - n * p) ** 2 / (n * p * (1 - p)) for h, n in pairs)
    return chi2 / (len(pairs) - 1)


def pooled_interval(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """The pooled share of per-seed (hits, trials) with its Wilson interval scaled by the seeds' estimated
    dispersion (quasi-binomial): runs differ in more than which spells happen to end reachable, so a plain
    binomial interval over the pooled count could be too narrow. The dispersion is estimated from the k
    seeds, so the quantile is Student's t with k - 1 degrees of freedom (z = 1.96 covered only 91% at 5
    seeds and twice the binomial variance). The estimate is used as it is, also below 1: the t quantile
    already pays for its noise, and flooring it at 1 as well made a nominal 95% interval cover 98% at 10
    seeds (99.5% at 5) when the seeds scatter like binomial draws (tests/test_validation.py). This is the
    usual ratio estimator's interval: with equal trials per seed the variance is the seeds' own scatter
    about the pooled share. One seed keeps the plain Wilson interval."""
    seeds = sum(1 for _, n in pairs if n > 0)
    z = t95(seeds) if seeds >= 2 else 1.96
    share, lo, hi = wilson(sum(h for h, _ in pairs), sum(n for _, n in pairs), z)
    if not math.isfinite(share):
        return share, lo, hi
    scale = math.sqrt(overdispersion(pairs))
    centre = (lo + hi) / 2
    # Wilson's centre lies a little toward 1/2 from the share: a narrowed interval still holds the share
    low, high = min(centre - scale * (centre - lo), share), max(centre + scale * (hi - centre), share)
    return share, max(low, 0.0), min(high, 1.0)


@dataclass
class Result:
    figure: Figure
    values: list[float]
    counts: list[tuple[float, float]] = field(default_factory=list)  # per seed (hits, trials), `Figure.pooled`

    @property
    def stats(self) -> tuple[float, float, float]:
        if self.figure.pooled:
            return pooled_interval(self.counts)
        vals = np.asarray([v for v in self.values if np.isfinite(v)])
        return interval(vals) if len(vals) else (math.nan, math.nan, math.nan)

    @property
    def defined(self) -> int:
        """Seeds that gave the figure a value (pooled figures: seeds with any trials)."""
        if self.figure.pooled:
            return sum(1 for _, n in self.counts if n > 0)
        return sum(1 for v in self.values if np.isfinite(v))

    def interval_text(self) -> str:
        """The report's interval cell; says so when seeds gave no value, or one value gave no interval."""
        f, (_, lo, hi) = self.figure, self.stats
        n, seeds = self.defined, len(self.values)
        if n == 0:
            return f"n/a (undefined on all {seeds} seeds)"
        if n == 1 and not f.pooled:
            text = "no interval (1 seed)"
        else:
            text = f"{fmt(f, lo)} - {fmt(f, hi)}"
        return text if n == seeds else f"{text} (over {n} of {seeds} seeds; the rest undefined)"

    @property
    def passed(self) -> bool:
        mean = self.stats[0]
        return bool(np.isfinite(mean) and self.figure.passes(mean))


def pool_rare_shares(runs: list[dict[str, float]], figures: tuple[Figure, ...] = FIGURES) -> dict[str, float]:
    """The shares of rare events (`Figure.pooled`) over several runs: total hits / total trials."""
    out = {}
    for f in figures:
        if f.pooled:
            hits, trials = (sum(r[k] for r in runs) for k in f.pooled)
            out[f.key] = hits / trials if trials > 0 else math.nan
    return out


def result_of(figure: Figure, runs: list[dict[str, float]]) -> Result:
    """A figure's result from its runs' measures (one dict per seed, in seed order)."""
    counts = [(m[figure.pooled[0]], m[figure.pooled[1]]) for m in runs] if figure.pooled else []
    return Result(figure, [m[figure.key] for m in runs], counts)


def fmt(fig: Figure, v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{100 * v:.1f}%" if fig.percent else f"{v:,.2f}"
