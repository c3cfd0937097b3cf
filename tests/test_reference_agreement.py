"""The vectorized MarketModel and the per-agent Mesa reference (benchmarks/reference_mesa.py) agree.

Both run a market of 2,000 consumers and 60 shops over several seeds (180 days of burn-in so that loans
reach charge-off during the 180 recorded days). For each KPI the difference of the seed means must lie
within 3 combined standard errors plus a small floor. The floors absorb what the reference simplifies on
purpose (abstract merchants, complaint drag measured a day late, per-consumer rather than per-stage order
within a day) and are documented below.

The market is the baseline under credit stress (four times the liquidity shocks, self-cure 0.4 instead
of 0.7). In the baseline itself a 2,000-consumer market writes off nothing in most 180-day windows: the
charge-off rate is 0 and the recovery rate undefined in most runs, so a comparison there says little
about the end of the credit lifecycle (charge-off, NPL sale, recovery, intermediaries' settlements). Under
stress every run writes loans off, and the test requires every run to measure every KPI. The rules are the
same at any parameter values, so the stressed market tests them more, not differently; the baseline is
compared too in the 20-seed version.

The default test uses 6 seeds (~1 min on the 2-core dev machine); the 20-seed versions are marked long.

What a pass shows. The two implementations draw their random numbers differently, so the seeds are two
independent samples (not pairs) and the standard error is the two-sample one, each side's variance with n - 1.
The check is a test of *difference*: it fails when the models differ by more than noise can explain, and it
passes whenever the noise is large, so a pass means "no difference this check can see", not a measured
agreement. Over 6 seeds (measured on the stressed market, 2026-11-23) the allowance is about 30% of the KPI
for BNPL uptake, but 1.4 times the charge-off rate, 1.5 times the 90+ share and 2.6 times the recovery rate:
a vectorized model whose 90+ share or recovery rate were 0, or whose charge-off rate were half or double,
would pass, and so did a reference that kept the unstressed self-cure rate (0.7: charge-off 0.0072 against
0.0148, recovery 0.018 against 0.064). A reference whose consumers never self-cure (charge-off 3.5 times)
is flagged, on charge-off and the 90+ share. At 20 seeds the standard errors shrink by about 0.55, but the
floors alone are a third of the charge-off rate and most of the 90+ share, so the long check too tells
apart only differences of the order of the KPIs themselves for the credit lifecycle; BNPL uptake is the KPI
it pins down (to about 25%). Chance alone (a model change that changes nothing) trips 3 standard errors with
~7 Welch degrees of freedom for one KPI in 2% of cases, for one of the four in about 8%, before the floors,
which make it rarer. Closer agreement on the credit lifecycle needs markets with many more charge-offs,
which the per-agent reference makes slow (docs/performance.md).
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reference_mesa import KPIS, run_reference, run_vectorized, small_scenario
from sim.scenario import Scenario

# Absolute floors added to 3 standard errors: BNPL uptake and charge-off rate are shares of orders
# and of principal (half a percentage point), the 90+ share one point, the recovery rate five points.
FLOORS = {"bnpl_uptake": 0.005, "charge_off_rate": 0.005, "dpd90p_share": 0.01, "recovery_rate": 0.05}


def compare(a: list[dict[str, float | None]], b: list[dict[str, float | None]],
            z: float = 3.0) -> dict[str, tuple[float, float]]:
    """Per KPI: (|difference of means|, allowed = z x combined standard error + floor), over the runs that
    define the KPI. A KPI defined in fewer than 2 runs on a side cannot be compared: (inf, 0)."""
    out = {}
    for k in KPIS:
        xa = [r[k] for r in a if r[k] is not None]
        xb = [r[k] for r in b if r[k] is not None]
        if min(len(xa), len(xb)) < 2:
            out[k] = (math.inf, 0.0)
            continue
        se = (statistics.variance(xa) / len(xa) + statistics.variance(xb) / len(xb)) ** 0.5
        out[k] = (abs(statistics.fmean(xa) - statistics.fmean(xb)), z * se + FLOORS[k])
    return out


def disagreements(a: list[dict[str, float | None]], b: list[dict[str, float | None]]) -> list[str]:
    return [f"{k}: |diff| {d:.4f} > {tol:.4f}" for k, (d, tol) in compare(a, b).items() if d > tol]


def baseline_scenario() -> Scenario:
    """The baseline at 2,000 consumers and 60 shops, 180 days of burn-in and 180 recorded."""
    return small_scenario(consumers=2000, merchants=60, days=180, burn_in_days=180)


def stressed_scenario() -> Scenario:
    """The same market under credit stress: see the module docstring."""
    scenario = baseline_scenario()
    scenario.consumers.shock_rate *= 4
    scenario.consumers.self_cure_rate = 0.4
    return scenario


def _agree(scenario: Scenario, seeds: int, every_kpi_defined: bool = True) -> None:
    vec = [run_vectorized(scenario, seed) for seed in range(seeds)]
    ref = [run_reference(scenario, seed) for seed in range(seeds)]
    assert statistics.fmean(r["bnpl_uptake"] for r in vec) > 0.01  # the market does use BNPL
    if every_kpi_defined:  # every run writes loans off, so charge-off and recovery are measured in each
        assert all(r[k] is not None for r in vec + ref for k in KPIS)
        assert all(r["charge_off_rate"] > 0 for r in vec + ref)
    problems = disagreements(vec, ref)
    assert not problems, "; ".join(problems)


def test_vectorized_and_reference_agree() -> None:
    _agree(stressed_scenario(), seeds=6)


@pytest.mark.slow
@pytest.mark.long
def test_vectorized_and_reference_agree_20_seeds() -> None:
    """The issue's full check (20 seeds, ~3 minutes): `pytest -m long`."""
    _agree(stressed_scenario(), seeds=20)


@pytest.mark.slow
@pytest.mark.long
def test_vectorized_and_reference_agree_in_the_baseline_20_seeds() -> None:
    """The unstressed baseline (few write-offs: KPIs compared over the runs that define them)."""
    _agree(baseline_scenario(), seeds=20, every_kpi_defined=False)


def test_agreement_check_detects_bnpl_switched_off() -> None:
    """The check can fail: with BNPL off in the reference only, uptake no longer agrees."""
    scenario = small_scenario(consumers=2000, merchants=60, days=60, burn_in_days=0)
    no_bnpl = scenario.model_copy(deep=True)
    for platform in no_bnpl.platforms:
        platform.finance.bnpl = False
    vec = [run_vectorized(scenario, seed) for seed in range(4)]
    ref = [run_reference(no_bnpl, seed) for seed in range(4)]
    problems = disagreements(vec, ref)
    assert any(p.startswith("bnpl_uptake") for p in problems)


@pytest.mark.slow
def test_agreement_check_detects_a_reference_that_never_self_cures() -> None:
    """The largest credit-lifecycle difference the module docstring says the 6-seed check flags: consumers of
    the reference never cure on their own (3.5 times the charge-off rate). Smaller ones, such as the
    reference keeping the unstressed self-cure rate (half the charge-off rate), pass it."""
    scenario = stressed_scenario()
    never = scenario.model_copy(deep=True)
    never.consumers.self_cure_rate = 0.0
    vec = [run_vectorized(scenario, seed) for seed in range(6)]
    ref = [run_reference(never, seed) for seed in range(6)]
    flagged = {p.split(":")[0] for p in disagreements(vec, ref)}
    assert {"charge_off_rate", "dpd90p_share"} <= flagged


def test_undefined_ratios_are_none_not_zero() -> None:
    """Nothing lent, written off or ordered: the reference's ratios are undefined, as in `summarize`, so a
    run without write-offs cannot pass for one that recovered nothing."""
    from benchmarks.reference_mesa import kpis_from_totals

    kpis = kpis_from_totals(orders=0, bnpl_orders=0, originated=0, charged_off=0, recoveries=0, dpd90p_share=None)
    assert kpis == {"bnpl_uptake": None, "charge_off_rate": None, "dpd90p_share": None, "recovery_rate": None}
    both = [{"bnpl_uptake": 0.1, "charge_off_rate": 0.02, "dpd90p_share": 0.01, "recovery_rate": None}] * 3
    assert any(p.startswith("recovery_rate") for p in disagreements(both, both))


def test_the_reference_sells_only_what_is_still_claimable_as_the_model_does() -> None:
    """`Collections._sell_npl` sells open claims at npl_price x the principal still claimable: a written-off loan
    recovered in full is not sold, and one partly recovered is priced on what is left."""
    from benchmarks.reference_mesa import CHARGED_OFF, SOLD, Loan, ReferenceModel

    scenario = small_scenario(consumers=10, merchants=2, days=1, burn_in_days=0)
    model = ReferenceModel(scenario, 1)
    consumer, lender = model.consumers[0], model.lenders[0]
    lender.params.npl_sale_dpd = 200
    model.counts = {"recoveries": 0.0}
    repaid_after = Loan(lender, 1000.0, 0.2, 6, -1, status=CHARGED_OFF, first_missed=0, written_off=1000.0)
    half_left = Loan(lender, 1000.0, 0.2, 6, -1, status=CHARGED_OFF, first_missed=0, written_off=1000.0,
                     claim=400.0)
    consumer.loans = [repaid_after, half_left]
    equity = lender.equity
    consumer.charge_off_and_sell(300)
    assert repaid_after.status == CHARGED_OFF  # nothing left to sell
    assert half_left.status == SOLD
    assert lender.equity - equity == pytest.approx(400.0 * lender.params.npl_price)


def test_the_reference_charges_the_co_lending_fee_as_the_model_does() -> None:
    """`Credit.originate_consumer`: under an own licence the partner funding the rest of a loan pays the platform
    `finance.co_lending_fee` x its share (the reference charged nothing, so its partners lent for free); at a
    co-lending share of 0 the partner funds the loan whole, with no row of 0 for the platform's lender."""
    from benchmarks.reference_mesa import ReferenceModel

    scenario = small_scenario(consumers=10, merchants=2, days=1, burn_in_days=0)
    model = ReferenceModel(scenario, 1)
    model.counts = {"amount_originated": 0.0}
    video = next(p for p in model.platforms if p.params.name == "video")
    own, partner = video.own_lender(), video.partners()[0]
    fin = video.params.finance
    consumer = model.consumers[0]
    before = (own.equity, partner.equity)
    consumer.borrow(video, own, "own", 1000.0, 6, 0)
    assert [(loan.lender, loan.principal) for loan in consumer.loans] == [
        (own, pytest.approx(1000.0 * fin.co_lending_own_share)),
        (partner, pytest.approx(1000.0 * (1 - fin.co_lending_own_share)))]
    assert own.equity == before[0]
    assert before[1] - partner.equity == pytest.approx(1000.0 * (1 - fin.co_lending_own_share) * fin.co_lending_fee)

    fin.co_lending_own_share = 0.0
    consumer.loans = []
    consumer.borrow(video, own, "own", 500.0, 6, 0)
    assert [(loan.lender, loan.principal) for loan in consumer.loans] == [(partner, pytest.approx(500.0))]


def test_the_reference_files_complaints_per_client_and_lender_as_the_model_does() -> None:
    """`intermediaries._complain`: a client files `complaints_per_client / 30` a day against each lender it is behind
    with, however many of that lender's loans are late (the reference filed them per late loan)."""
    from benchmarks.reference_mesa import Loan, ReferenceModel

    scenario = small_scenario(consumers=10, merchants=2, days=1, burn_in_days=0)
    model = ReferenceModel(scenario, 1)
    consumer, lender, other = model.consumers[0], model.lenders[0], model.lenders[1]
    consumer.client_of = model.restructurers[0]
    consumer.loans = [Loan(lender, 100.0, 0.2, 6, 30, outstanding=100.0, first_missed=0) for _ in range(2)]
    consumer.loans.append(Loan(other, 100.0, 0.2, 6, 30, outstanding=100.0, first_missed=0))
    consumer.report_to_lenders()
    per_day = model.restructurers[0].params.complaints_per_client / 30.0
    assert (lender.complaints, other.complaints) == (pytest.approx(per_day), pytest.approx(per_day))
    assert (lender.delinquent_loans, lender.client_loans) == (2, 2)  # the drag is still by share of late loans
