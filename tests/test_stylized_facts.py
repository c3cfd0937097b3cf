"""The six stylized facts of the source articles, each as a paired comparison over seeds.

Both sides of a comparison run the same seeds (common random numbers). For each fact we take the
per-seed paired difference and check its direction and that the 95% t-interval of its mean excludes
zero, so a fact holds beyond simulation noise, not only on one draw (tests/test_mechanisms.py checks
single directions).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sim import MarketModel
from sim.compare import interval
from sim.finance.loans import ACTIVE
from sim.results import summarize
from tests.conftest import run_small

pytestmark = pytest.mark.slow  # several seeds of several scenarios: minutes; run in the full suite

SEEDS = (1, 2, 3, 4, 5)
YEAR = {"days": 365}
ALL = ("community", "video", "entertainment")
Metric = Callable[[MarketModel], float]


def paired(metric_a: Metric, metric_b: Metric, side_a: dict, side_b: dict) -> tuple[float, float, float]:
    """Mean and 95% interval of metric_b(run b) - metric_a(run a) over SEEDS (same seed both sides)."""
    diffs = [metric_b(run_small(seed=s, **side_b)) - metric_a(run_small(seed=s, **side_a)) for s in SEEDS]
    return interval(np.asarray(diffs))


def assert_positive(stats: tuple[float, float, float], what: str) -> None:
    mean, lo, hi = stats
    assert mean > 0 and lo > 0, f"{what}: mean {mean:.4g}, 95% interval [{lo:.4g}, {hi:.4g}] does not exclude 0"


def shop_loss_rate(programme: bool) -> Metric:
    """Principal of shop loans written off, sold or 90+ days late, per principal lent: the platforms'
    programmes (merchant data, settlement control) or third-party lenders (neither)."""

    def metric(m: MarketModel) -> float:
        b, n = m.credit.merchant, m.credit.merchant.n
        group = (b.platform[:n] >= 0) if programme else (b.platform[:n] < 0)
        late90 = (b.status[:n] == ACTIVE) & (b.first_missed[:n] >= 0) & (m.t - b.first_missed[:n] > 90)
        lost = b.written_off[:n] + b.sold[:n] + np.where(late90, b.outstanding[:n], 0.0)
        return float(lost[group].sum() / max(b.principal[:n][group].sum(), 1.0))

    return metric


def programme_recovery(m: MarketModel) -> float:
    """Share of the principal of the platforms' shop loans that is not lost (1 - loss rate)."""
    return 1.0 - shop_loss_rate(True)(m)


def kpi(name: str) -> Metric:
    return lambda m: float(summarize(m)[name])


def finance_revenue(platform: str) -> Metric:
    return lambda m: next(p.finance_revenue() for p in m.platform_list if p.name == platform)


def finance_share(platform: str) -> Metric:
    return lambda m: summarize(m)["platform_finance_revenue_share"][platform]


def approval_rate(m: MarketModel) -> float:
    return sum(x.approvals for x in m.lender_list) / max(sum(x.applications for x in m.lender_list), 1)


def micro_lending_share(m: MarketModel) -> float:
    """Micro-lenders' share of the consumer credit lent on recorded days (marginal, costly-funded lenders)."""
    t = m.lender_table()
    last = t[t["day"] == t["day"].max()]
    total = float(last["originated"].sum())
    return float(last.loc[last["kind"] == "micro_lender", "originated"].sum()) / max(total, 1.0)


def write_offs(lender: str) -> Metric:
    return lambda m: m.lender_by_name[lender].totals["write_offs"]


def credit_losses(lender: str) -> Metric:
    """Write-offs plus principal past due on the lender's own books (consumer and shop): credit risk it carries."""

    def metric(m: MarketModel) -> float:
        j = m.lender_by_name[lender].index
        late = 0.0
        for b in (m.credit.consumer, m.credit.merchant):
            n = b.n
            mine = (b.lender[:n] == j) & (b.status[:n] == ACTIVE) & (b.first_missed[:n] >= 0)
            late += float(b.outstanding[:n][mine].sum())
        return m.lender_by_name[lender].totals["write_offs"] + late

    return metric


# --- the facts ----------------------------------------------------------------------------------------


def test_1_platform_data_and_settlement_control_lower_shop_loan_losses() -> None:
    """Same market, same seed: third-party shop loans (micro_a, no data, no control) lose more than the
    video platform's programme loans."""
    stats = paired(shop_loss_rate(True), shop_loss_rate(False), YEAR, YEAR)
    assert_positive(stats, "third-party minus programme shop-loan loss rate")


def test_2_deposits_and_sweeps_raise_recovery_on_shop_loans() -> None:
    off = {"video": {"deposit": {"cap": 0.0, "settlement_sweep": False, "freeze_on_risk": False}}}
    stats = paired(programme_recovery, programme_recovery, {**YEAR, "platforms": off}, YEAR)
    assert_positive(stats, "recovery with deposits and sweeps minus without")


BUSY = [{"name": "debt_optimizer", "ad_budget_m": 60.0, "conversion": 0.006},
        {"name": "law_firm", "ad_budget_m": 30.0, "conversion": 0.004, "upfront_fee": 800.0, "success_fee": 0.08}]
"""Intermediaries as active as in scenarios/restructurer_crackdown.yaml (before its crackdown)."""
BAN = {**YEAR, "restructurers": BUSY, "platforms": {n: {"restructurer_ad_policy": "ban"} for n in ALL}}
ALLOW = {**YEAR, "restructurers": BUSY, "platforms": {n: {"restructurer_ad_policy": "allow"} for n in ALL}}


def test_3a_intermediary_ads_raise_consumer_defaults() -> None:
    assert_positive(paired(kpi("charge_off_rate"), kpi("charge_off_rate"), BAN, ALLOW),
                    "charge-off rate with intermediary ads allowed minus banned")


@pytest.mark.xfail(reason="does not hold in the small market with the calibrated defaults: with intermediary "
                          "ads banned almost nothing is written off in a year, so the recovery rate (recoveries / "
                          "write-offs) is 0 or undefined on that side; see docs/validation.md", strict=False)
def test_3b_intermediary_ads_lower_recoveries() -> None:
    assert_positive(paired(kpi("recovery_rate"), kpi("recovery_rate"), ALLOW, BAN),
                    "lenders' recovery rate with intermediary ads banned minus allowed")


def test_4_more_traffic_brings_more_finance_revenue() -> None:
    """(a) As in the articles, the entertainment platform (500 m users, credit through partners) earns more
    from credit than the community platform (300 m users of better quality, loan ads only). (b) Traffic
    itself: the community platform diverting to the same partners earns more from credit with three
    times the users."""
    assert_positive(paired(finance_revenue("community"), finance_revenue("entertainment"), YEAR, YEAR),
                    "entertainment minus community finance revenue")
    diverting = {"finance": {"strategy": "traffic_diversion", "partners": ["cfc", "micro_a", "micro_b"],
                             "cash_loans": True}}
    small = {**YEAR, "platforms": {"community": diverting}}
    large = {**YEAR, "platforms": {"community": {**diverting, "mau_m": 900.0}}}
    assert_positive(paired(finance_revenue("community"), finance_revenue("community"), small, large),
                    "community finance revenue with 900 m minus 300 m users")


TIGHT = {**YEAR, "regulation": {"rate_cap": 0.12}}
"""A cap of 12% (half the judicial 24%) leaves the costly-funded micro-lenders little margin."""


def test_5a_tighter_rate_cap_lowers_approvals() -> None:
    assert_positive(paired(approval_rate, approval_rate, TIGHT, YEAR), "approval rate under 24% minus 12% cap")


@pytest.mark.xfail(reason="does not hold with the calibrated defaults (micro-lenders' risk appetite 0.8): under "
                          "a 12% cap the micro-lenders' share of lending is unchanged "
                          "(+0.2 pp, interval -0.5 to 0.9 pp) "
                          "and none exits", strict=False)
def test_5b_tighter_rate_cap_pushes_out_marginal_lenders() -> None:
    assert_positive(paired(micro_lending_share, micro_lending_share, TIGHT, YEAR),
                    "micro-lenders' share of lending under 24% minus 12% cap")


def test_6_own_licence_raises_finance_share_and_books_credit_losses() -> None:
    diversion = {**YEAR, "platforms": {"video": {"finance": {"strategy": "traffic_diversion", "bnpl": False}}}}
    assert_positive(paired(finance_share("video"), finance_share("video"), diversion, YEAR),
                    "video finance share with own licence minus diversion")
    assert_positive(paired(credit_losses("video_credit"), credit_losses("video_credit"), diversion, YEAR),
                    "credit losses of the platform-owned lender with own licence minus diversion")
    assert all(credit_losses("video_credit")(run_small(seed=s, **diversion)) == 0.0 for s in SEEDS)
