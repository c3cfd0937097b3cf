"""The six stylized facts of the source articles, each as a paired comparison over seeds.

Both sides of a comparison run the same seeds (common random numbers). For each fact we take the
per-seed paired difference and check its direction and that the 95% t-interval of its mean excludes
zero, so a fact holds beyond simulation noise, not only on one draw (tests/test_mechanisms.py checks
single directions).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sim import MarketModel
from sim.compare import interval
from sim.finance.loans import ACTIVE
from sim.results import summarize
from sim.scenario_files import load
from tests.conftest import SMALL, run_small

pytestmark = pytest.mark.slow  # several seeds of several scenarios: minutes; run in the full suite
# Tests that run the same markets share them (tests.conftest.run_small caches per process), so each group
# goes to one pytest-xdist worker: the baseline year's seeds, and the intermediary-ads pair.

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (1, 2, 3, 4, 5)
YEAR = {"days": 365}
ALL = ("community", "video", "entertainment")
Metric = Callable[[MarketModel], float]


def paired(metric_a: Metric, metric_b: Metric, side_a: dict, side_b: dict,
           seeds: tuple[int, ...] = SEEDS) -> tuple[float, float, float]:
    """Mean and 95% interval of metric_b(run b) - metric_a(run a) over `seeds` (same seed both sides)."""
    diffs = [metric_b(run_small(seed=s, **side_b)) - metric_a(run_small(seed=s, **side_a)) for s in seeds]
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


@pytest.mark.xdist_group("stylized_baseline_year")
def test_1_platform_data_and_settlement_control_lower_shop_loan_losses() -> None:
    """Same market, same seed: third-party shop loans (micro_a, no data, no control) lose more than the
    video platform's programme loans."""
    stats = paired(shop_loss_rate(True), shop_loss_rate(False), YEAR, YEAR)
    assert_positive(stats, "third-party minus programme shop-loan loss rate")


@pytest.mark.xdist_group("stylized_baseline_year")
def test_2_deposits_and_sweeps_raise_recovery_on_shop_loans() -> None:
    off = {"video": {"deposit": {"cap": 0.0, "settlement_sweep": False, "freeze_on_risk": False}}}
    stats = paired(programme_recovery, programme_recovery, {**YEAR, "platforms": off}, YEAR)
    assert_positive(stats, "recovery with deposits and sweeps minus without")


BUSY = [{"name": "debt_optimizer", "ad_budget_m": 60.0, "conversion": 0.006},
        {"name": "law_firm", "ad_budget_m": 30.0, "conversion": 0.004, "upfront_fee": 800.0, "success_fee": 0.08}]
"""Intermediaries as active as in scenarios/restructurer_crackdown.yaml (before its crackdown)."""
BAN = {**YEAR, "restructurers": BUSY, "platforms": {n: {"restructurer_ad_policy": "ban"} for n in ALL}}
ALLOW = {**YEAR, "restructurers": BUSY, "platforms": {n: {"restructurer_ad_policy": "allow"} for n in ALL}}


@pytest.mark.xdist_group("stylized_intermediary_ads")
def test_3a_intermediary_ads_raise_consumer_defaults() -> None:
    assert_positive(paired(kpi("charge_off_rate"), kpi("charge_off_rate"), BAN, ALLOW),
                    "charge-off rate with intermediary ads allowed minus banned")


def collection_rate(m: MarketModel) -> float:
    """What lenders recover from consumers behind on their loans in a year (payments that cure late
    instalments, settlements, collections after write-off and NPL sale proceeds) per RMB of late consumer
    principal (mean over the year)."""
    mk = m.market_table()
    collected = float(mk["delinquent_collections"].sum() + mk["recoveries"].sum())
    return collected / max(float(mk["consumer_late_principal"].mean()), 1.0)


@pytest.mark.xdist_group("stylized_intermediary_ads")
def test_3b_intermediary_ads_lower_recoveries() -> None:
    """Recoveries in the collections sense: money recovered per RMB of late debt. (The narrower ratio of
    post-write-off recoveries to write-offs is not testable at this size: with intermediary ads banned a
    6,000-consumer market writes off only a handful of loans a year, so that ratio is 0 on some seeds and
    0.75 on others; docs/validation.md.) The difference has the same sign on every seed but its size
    varies sevenfold between seeds (0.39 to 2.76: a ratio over a small late book), so this fact uses eight
    seeds: on an earlier version of the model the five-seed interval was nearly twice as wide and crossed 0.
    (Eight was chosen after a five-seed run came close, a choice made after seeing data. On the model of
    2026-11-23 seeds 1-5 give 1.91 [1.21, 2.61] and seeds 1-8 give 1.61 [0.97, 2.24]; a sign test over the
    eight seeds, which needs no normality, gives p = 2 x 0.5^8 = 0.008.)"""
    assert_positive(paired(collection_rate, collection_rate, ALLOW, BAN, seeds=tuple(range(1, 9))),
                    "recoveries per RMB of late debt with intermediary ads banned minus allowed")


@pytest.mark.xdist_group("stylized_baseline_year")
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
"""A cap of 12% (4 x LPR, half the judicial 24%)."""


@pytest.mark.xdist_group("stylized_baseline_year")
def test_5a_tighter_rate_cap_lowers_approvals() -> None:
    assert_positive(paired(approval_rate, approval_rate, TIGHT, YEAR), "approval rate under 24% minus 12% cap")


CONSOLIDATION = ROOT / "scenarios" / "microlender_consolidation.yaml"
MARGINAL = ("micro_d", "micro_e", "micro_f", "micro_g")
"""The consolidation scenario's newcomers: thin capital, funding at 8-9%, priced at the 24% cap. The library's
own micro-lenders price near 4 x LPR (calibrated), so a 12% cap barely binds them: the fact is about lenders
that only pay their way at high rates, and a market has them only if they are put in it."""


def run_with_marginal_lenders(seed: int, cap: float) -> MarketModel:
    key = ("consolidation", seed, cap)
    if key not in _MARGINAL_RUNS:
        sets = ["events=[]", f"regulation.rate_cap={cap}", *(f"{k}={v}" for k, v in SMALL_SETS.items())]
        _MARGINAL_RUNS[key] = MarketModel(load(str(CONSOLIDATION), sets).scenario, rng=seed).run()
    return _MARGINAL_RUNS[key]


_MARGINAL_RUNS: dict[tuple, MarketModel] = {}
SMALL_SETS = {"consumers.count": SMALL["consumers"]["count"], "merchants.count": SMALL["merchants"]["count"],
              "days": 365, "burn_in_days": SMALL["burn_in_days"]}


def marginal_lending_share(m: MarketModel) -> float:
    """The marginal lenders' share of the consumer credit lent (burn-in and recorded days: the lenders' running
    totals, as lenders.csv counts the recorded days only)."""
    lent = np.asarray([lend.totals["originated"] for lend in m.lender_list])
    marginal = np.asarray([lend.name in MARGINAL for lend in m.lender_list])
    return float(lent[marginal].sum()) / max(float(lent.sum()), 1.0)


def test_5b_tighter_rate_cap_pushes_out_marginal_lenders() -> None:
    diffs = [marginal_lending_share(run_with_marginal_lenders(s, 0.24))
             - marginal_lending_share(run_with_marginal_lenders(s, 0.12)) for s in SEEDS]
    assert_positive(interval(np.asarray(diffs)), "marginal lenders' share of lending under a 24% minus a 12% cap")


def test_6_own_licence_raises_finance_share_and_books_credit_losses() -> None:
    """At 20,000 consumers: the platform's lender screens with its own data and loses little (a few
    tenths of a percent of its book a year), so in a 6,000-consumer market some seeds see no late loan."""
    own = {**YEAR, "consumers": {"count": 20_000}, "merchants": {"count": 800}}
    diversion = {**own, "platforms": {"video": {"finance": {"strategy": "traffic_diversion", "bnpl": False}}}}
    assert_positive(paired(finance_share("video"), finance_share("video"), diversion, own),
                    "video finance share with own licence minus diversion")
    assert_positive(paired(credit_losses("video_credit"), credit_losses("video_credit"), diversion, own),
                    "credit losses of the platform-owned lender with own licence minus diversion")
    assert all(credit_losses("video_credit")(run_small(seed=s, **diversion)) == 0.0 for s in SEEDS)
