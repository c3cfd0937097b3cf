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


def test_the_compare_table_keeps_its_columns_aligned_with_long_platform_names() -> None:
    """The label column was 26 characters wide: the library's "finance share: entertainment" (28) pushed its row
    two characters right of every other, in every compare of the library's scenarios."""
    runs = pd.DataFrame({"scenario": ["a"] * 2 + ["b"] * 2, "seed": [1, 2] * 2, "gmv": [1.0, 2.0, 3.0, 5.0],
                         "finance_share_entertainment": [0.1, 0.2, 0.1, 0.3],
                         "finance_share_a_much_longer_platform_name": [0.1, 0.2, 0.1, 0.3]})
    lines = compare.text_table(compare.table(runs)).splitlines()
    table = [line for line in lines[1:] if line.startswith(("GMV", "finance share"))]
    assert len(table) == 3
    assert len({len(line) for line in [lines[0], *table]}) == 1  # every row ends where the header does


def test_one_seed_does_not_claim_that_no_difference_excludes_0() -> None:
    """With one seed no difference can be tested, yet the table said "no paired difference ... excludes 0 (95%)",
    a finding where there was none."""
    runs = pd.DataFrame({"scenario": ["a", "b"], "seed": [1, 1], "gmv": [1.0, 9.0]})
    text = compare.text_table(compare.table(runs))
    assert "excludes 0" not in text
    assert "no paired difference from a tested: it needs at least 2 seeds both scenarios define" in text


def test_the_figure_draws_shares_in_percent_as_the_table_prints_them_and_names_the_seeds() -> None:
    """comparison.png drew a share of 0.05 as 0.05 beside a table that prints 5.00%, and did not say over how
    many seeds its intervals were taken."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    rows = [{"scenario": name, "seed": s, "bnpl_uptake": 0.05 + 0.01 * rng.random(), "orders": 100.0 + s}
            for name in ("a", "b") for s in (1, 2, 3)]
    summary = compare.table(pd.DataFrame(rows))
    fig = compare.draw(summary)
    try:
        axes = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
        share = axes[compare.label("bnpl_uptake")]
        heights = [bar.get_height() for bar in share.patches]
        means = summary[summary["kpi"] == "bnpl_uptake"]["mean"].to_numpy()
        np.testing.assert_allclose(heights, 100 * means)
        assert share.get_ylabel() == "%"
        count = axes[compare.label("orders")]
        np.testing.assert_allclose([b.get_height() for b in count.patches],
                                   summary[summary["kpi"] == "orders"]["mean"].to_numpy())
        assert count.get_ylabel() == ""
        assert "over 3 common seeds" in fig.get_suptitle()
    finally:
        plt.close(fig)
