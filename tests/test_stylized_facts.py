"""The six stylized facts of the source articles, each as a paired comparison over seeds (`sim/facts.py`).

Both sides of a comparison run the same seeds (common random numbers). For each fact we take the
per-seed paired difference and check its direction and that the 95% t-interval of its mean excludes
zero, so a fact holds beyond simulation noise, not only on one draw (tests/test_mechanisms.py checks
single directions). Every fact uses seeds 1-10. `python run.py facts` measures the same comparisons for
docs/stylized_facts.md.
"""

from __future__ import annotations

import pytest

from sim import facts

pytestmark = pytest.mark.slow  # several seeds of several scenarios: minutes; run in the full suite
# Facts measured in one `facts.measure` call share their markets (the baseline year runs once for facts 1, 2,
# 4a and 5a), so each group goes to one pytest-xdist worker and is measured once there.
GROUPS = {"baseline_year": ("1", "2", "4a", "4b", "5a"), "intermediary_ads": ("3a", "3b"),
          "consolidation": ("5b",), "licence": ("6a", "6b")}
_MEASURED: dict[str, dict[str, facts.Outcome]] = {}


def outcome(fact_id: str) -> facts.Outcome:
    """The fact measured at the defaults over its seeds (its group measured on first use in this process)."""
    group = next(name for name, ids in GROUPS.items() if fact_id in ids)
    if group not in _MEASURED:
        _MEASURED[group] = {o.fact.id: o for o in facts.measure(facts.select(list(GROUPS[group])), workers=1)}
    return _MEASURED[group][fact_id]


def assert_holds(fact_id: str) -> None:
    o = outcome(fact_id)
    mean, lo, hi = o.stats
    assert o.holds, (f"fact {fact_id} ({o.fact.difference}): {o.verdict()}: mean {mean:.4g}, 95% interval "
                     f"[{lo:.4g}, {hi:.4g}]; side a {o.a}")


def test_every_fact_is_tested_here() -> None:
    assert sorted(i for ids in GROUPS.values() for i in ids) == sorted(f.id for f in facts.FACTS)


@pytest.mark.xdist_group("stylized_baseline_year")
def test_1_platform_data_and_settlement_control_lower_shop_loan_losses() -> None:
    """Same market, same seed: third-party shop loans (micro_a, no data, no control) lose more than the
    video platform's programme loans."""
    assert_holds("1")


@pytest.mark.xdist_group("stylized_baseline_year")
def test_2_deposits_and_sweeps_raise_recovery_on_shop_loans() -> None:
    assert_holds("2")


@pytest.mark.xdist_group("stylized_intermediary_ads")
def test_3a_intermediary_ads_raise_consumer_defaults() -> None:
    assert_holds("3a")


@pytest.mark.xdist_group("stylized_intermediary_ads")
def test_3b_intermediary_ads_lower_recoveries() -> None:
    """Recoveries in the collections sense: money recovered per RMB of late debt. (The narrower ratio of
    post-write-off recoveries to write-offs is not testable at this size: with intermediary ads banned a
    6,000-consumer market writes off only a handful of loans a year, so that ratio is 0 on some seeds and
    0.75 on others; docs/validation.md.) The difference has the same sign on every seed but its size
    varies several-fold between seeds (a ratio over a small late book). History of its seed count: five
    until an earlier model's five-seed interval crossed 0, then eight (a choice made after seeing data), and
    since the robustness report of the eighteenth session ten for every fact (docs/stylized_facts.md, notes)."""
    assert_holds("3b")


@pytest.mark.xdist_group("stylized_baseline_year")
def test_4_more_traffic_brings_more_finance_revenue() -> None:
    """(a) As in the articles, the entertainment platform (500 m users, credit through partners) earns more
    from credit than the community platform (300 m users of better quality, loan ads only). (b) Traffic
    itself: the community platform diverting to the same partners earns more from credit with three
    times the users."""
    assert_holds("4a")
    assert_holds("4b")


@pytest.mark.xdist_group("stylized_baseline_year")
def test_5a_tighter_rate_cap_lowers_approvals() -> None:
    assert_holds("5a")


def test_5b_tighter_rate_cap_pushes_out_marginal_lenders() -> None:
    assert_holds("5b")


def test_6_own_licence_raises_finance_share_and_books_credit_losses() -> None:
    """At 20,000 consumers: the platform's lender screens with its own data and loses little (a few
    tenths of a percent of its book a year), so in a 6,000-consumer market some seeds see no late loan.
    Under diversion the platform's lender books nothing: fact 6b requires 0 on every seed."""
    assert_holds("6a")
    assert_holds("6b")
    assert outcome("6b").a == [0.0] * outcome("6b").fact.seeds
