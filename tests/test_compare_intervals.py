"""The statistics of `run.py compare` (sim/compare.py) on numbers whose answer is known: no model runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import compare


def test_t_quantiles_are_student_with_n_minus_1_degrees_of_freedom() -> None:
    from scipy.stats import t

    for n in range(2, 45):
        assert compare.t95(n) == pytest.approx(float(t.ppf(0.975, n - 1)), abs=6e-4), n


def test_a_starred_table_says_how_many_differences_were_tested() -> None:
    """Each star is a 5% test on its own. With 12 KPIs and no real difference between two scenarios (paired
    seeds), 5 seeds gave at least one star in about half the comparisons, and the footnote said only that the
    starred interval excludes 0."""
    rng = np.random.default_rng(0)
    kpis = [f"k{i}" for i in range(12)]
    starred = 0
    for _ in range(200):
        seed_effect = rng.normal(100.0, 10.0, (5, len(kpis)))  # common random numbers: shared by both scenarios
        rows = [{"scenario": name, "seed": s + 1, **dict(zip(kpis, seed_effect[s] + rng.normal(0, 3, len(kpis)),
                                                            strict=True))}
                for name in ("a", "b") for s in range(5)]
        summary = compare.table(pd.DataFrame(rows))
        if summary["significant"].any():
            starred += 1
            text = compare.text_table(summary)
            assert "each of the 12 differences is tested on its own: were none of them real, about 0.6 would be " \
                   "starred by chance" in text
    assert 0.3 < starred / 200 < 0.65  # 1 - 0.95^12 = 46%: stars without any real difference are common


def test_a_paired_difference_of_shares_stays_within_minus_1_and_1() -> None:
    """Two seeds far apart stretch a t-interval of a difference far past what two shares can differ by."""
    rows = [{"scenario": "a", "seed": 1, "bnpl_uptake": 0.0, "gmv": 10.0},
            {"scenario": "a", "seed": 2, "bnpl_uptake": 0.0, "gmv": 10.0},
            {"scenario": "b", "seed": 1, "bnpl_uptake": 0.1, "gmv": 90.0},
            {"scenario": "b", "seed": 2, "bnpl_uptake": 0.9, "gmv": 30.0}]
    summary = compare.table(pd.DataFrame(rows)).set_index(["scenario", "kpi"])
    share, amount = summary.loc[("b", "bnpl_uptake")], summary.loc[("b", "gmv")]
    assert share["diff_low"] == -1.0 and share["diff_high"] == 1.0  # t(1) stretches 0.5 +/- 5.1 before the cut
    assert share["diff"] == pytest.approx(0.5)
    assert amount["diff_low"] < -100  # an amount's difference is not cut: it can be any size
