"""Property tests: any valid scenario runs, keeps every identity and never produces NaN or infinity.

Hypothesis draws whole scenarios over the schema (small populations, 30-60 days, short burn-in), with a
bias toward the edges of every range: zero lenders, merchants or restructurers, everyone high-risk, a rate
cap of 0, a deposit cap of 0, no traffic. Runs are derandomized and use no example database, so CI sees
the same examples every time.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import MarketModel, Scenario, results
from sim.invariants import check
from tests.conftest import merge

STRATEGIES = ("none", "traffic_diversion", "own_license")
PLATFORM_KINDS = ("community", "video_commerce", "entertainment", "marketplace")
LENDER_KINDS = ("platform", "bank", "consumer_finance", "micro_lender")
AD_POLICIES = ("allow", "restrict", "ban")
EVENT_KINDS = ("crackdown", "rate_cap", "ad_policy", "balance_limit", "strategy")


def num(lo: float, hi: float, *extra: float) -> st.SearchStrategy[float]:
    """A float in [lo, hi], with the bounds (and `extra` edge values) drawn often."""
    return st.one_of(st.sampled_from([lo, hi, *extra]), st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def whole(lo: int, hi: int, *extra: int) -> st.SearchStrategy[int]:
    """An int in [lo, hi], with the bounds (and `extra` values) drawn often."""
    return st.one_of(st.sampled_from([lo, hi, *extra]), st.integers(lo, hi))


def unit() -> st.SearchStrategy[float]:
    return num(0.0, 1.0)


def shares(draw: st.DrawFn) -> list[float]:
    """Three non-negative shares, not all zero (the schema refuses all zeros)."""
    out = [draw(num(0.0, 1.0)) for _ in range(3)]
    if sum(out) == 0:
        out[draw(st.integers(0, 2))] = 1.0
    return out


def categories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One to three categories; their shares may all be zero (shops are then spread evenly)."""
    return [{"name": f"cat{i}", "share": draw(num(0.0, 1.0)), "risk": draw(num(-5.0, 5.0)),
             "refund_rate": draw(num(0.0, 0.9)), "volatility": draw(unit())} for i in range(draw(st.integers(1, 3)))]


def lender(draw: st.DrawFn, name: str) -> dict[str, Any]:
    equity = draw(num(0.0, 50_000.0, 3000.0))
    return {
        "name": name,
        "kind": draw(st.sampled_from(LENDER_KINDS)),
        "equity_m": equity,
        "min_capital_m": min(equity, draw(num(0.0, 10_000.0, 500.0))),  # a lender may not start below it
        "leverage_max": draw(num(0.0, 50.0, 5.0)),
        "funding_rate": draw(num(0.0, 0.5)),
        "opex_rate": draw(num(0.0, 0.5)),
        "apr": draw(num(0.0, 1.0, 0.24)),
        "risk_appetite": draw(num(0.0, 10.0, 1.0)),
        "score_noise": draw(num(0.0, 5.0)),
        "platform_data_noise": draw(num(0.0, 5.0)),
        "limit_months": draw(num(0.0, 60.0, 0.8)),
        "cash_loan_terms": draw(whole(1, 60, 6)),
        "bnpl_terms": draw(whole(1, 24, 3)),
        "merchant_loan_terms": draw(whole(1, 60, 6)),
        "merchant_loans": draw(st.booleans()),
        "advertises": draw(st.booleans()),
        "collection_intensity": draw(unit()),
        "collection_cost": draw(num(0.0, 200.0)),
        "charge_off_dpd": draw(whole(30, 720)),
        "npl_sale_dpd": draw(whole(0, 1440, 31)),
        "npl_price": draw(unit()),
        "settlement_haircut": draw(unit()),
    }


def platform(draw: st.DrawFn, name: str, lenders: list[str], min_share: float, owned: set[str]) -> dict[str, Any]:
    """One platform; `owned` holds the lenders other platforms already own (a lender belongs to one)."""
    free = [lender for lender in lenders if lender not in owned]
    strategy = draw(st.sampled_from(STRATEGIES if free else ("none", "traffic_diversion") if lenders else ("none",)))
    license_lender = draw(st.sampled_from(free)) if free and (
        strategy == "own_license" or draw(st.booleans())) else None
    if license_lender:
        owned.add(license_lender)
    partners = draw(st.lists(st.sampled_from(lenders), unique=True, max_size=len(lenders))) if lenders else []
    floors = sorted(draw(st.lists(num(0.0, 1e6, 10_000.0), min_size=1, max_size=4, unique=True)))  # increasing
    tiers = [(floor, draw(num(0.0, 50_000.0))) for floor in floors]
    consecutive = draw(whole(1, 24))
    return {
        "name": name,
        "kind": draw(st.sampled_from(PLATFORM_KINDS)),
        "mau_m": draw(num(0.0, 1500.0, 300.0)),
        "dau_ratio": draw(unit()),
        "tier_shares": shares(draw),
        "young_share": draw(unit()),
        "risk_shift": draw(num(-3.0, 3.0)),
        "purchase_rate": draw(unit()),
        "order_value": draw(num(0.0, 10_000.0, 120.0)),
        "take_rate": draw(num(0.0, 0.5)),
        "settlement_delay_days": draw(whole(0, 90, 10)),
        "merchant_share": draw(unit()),
        "merchant_growth": draw(num(-1.0, 3.0)),
        "cash_m": draw(num(0.0, 100_000.0)),
        "other_revenue_per_visit": draw(num(0.0, 5.0)),
        "restrict_factor": draw(unit()),
        "lender_ads": draw(st.booleans()),
        "loan_ad_click_price": draw(num(0.0, 50.0)),
        "restructurer_ad_policy": draw(st.sampled_from(AD_POLICIES)),
        "finance": {
            "strategy": strategy,
            "license_lender": license_lender,
            "partners": partners,
            "diversion_fee": draw(num(0.0, 0.3)),
            "co_lending_own_share": draw(num(min_share, 1.0)),
            "bnpl": draw(st.booleans()),
            "cash_loans": draw(st.booleans()),
            "merchant_loans": draw(st.booleans()),
            "holds_license": draw(st.booleans()),
            "cross_province": draw(st.booleans()),
            "license_cost_m": draw(num(0.0, 5000.0)),
            "license_delay_days": draw(whole(0, 3650, 5, 20)),
        },
        "deposit": {
            "tiers": [list(t) for t in tiers],
            "cap": draw(num(0.0, 50_000.0, 20_000.0)),
            "settlement_sweep": draw(st.booleans()),
            "freeze_on_risk": draw(st.booleans()),
            "restrict_consecutive": consecutive,
            "restrict_cumulative": draw(whole(consecutive, 48)),
            "early_warning": draw(st.booleans()),
            "early_warning_days": draw(whole(2, 365)),
        },
    }


def restructurer(draw: st.DrawFn, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "ad_budget_m": draw(num(0.0, 200.0)),
        "conversion": draw(num(0.0, 1.0, 0.002)),
        "upfront_fee": draw(num(0.0, 5000.0)),
        "success_fee": draw(unit()),
        "settlement_rate": draw(num(0.0, 1.0, 0.004)),
        "complaints_per_client": draw(num(0.0, 100.0)),
        "contact_loss": draw(num(1.0, 100.0)),
        "active": draw(st.booleans()),
    }


def event(draw: st.DrawFn, days: int, platforms: list[str], restructurers: list[str], licensed: set[str]
          ) -> dict[str, Any]:
    """One event; a strategy event turns to own_license only platforms with a licence lender (`licensed`)."""
    kind = draw(st.sampled_from(EVENT_KINDS))
    pool = restructurers if kind == "crackdown" else platforms
    target = draw(st.sampled_from(pool)) if pool and kind in ("crackdown", "ad_policy", "strategy") and draw(
        st.booleans()) else None
    can_license = licensed >= ({target} if target is not None else set(platforms))
    value: float | str | None = {
        "crackdown": None,
        "rate_cap": draw(unit()),
        "balance_limit": draw(num(0.0, 1e6)),
        "ad_policy": draw(st.sampled_from(AD_POLICIES)),
        "strategy": draw(st.sampled_from(STRATEGIES if can_license else STRATEGIES[:2])),
    }[kind]
    return {"day": draw(whole(1, days)), "kind": kind, "target": target, "value": value}


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A valid scenario drawn over the whole schema."""
    days = draw(st.integers(30, 60))
    min_share = draw(num(0.0, 1.0, 0.3))
    lender_names = [f"lender{i}" for i in range(draw(whole(1, 6)))]  # zero lenders: see EDGES
    restructurer_names = [f"fixer{i}" for i in range(draw(whole(0, 3)))]
    platform_names = [f"plat{i}" for i in range(draw(whole(1, 4, 8)))]
    owned: set[str] = set()
    data: dict[str, Any] = {
        "name": "hypothesis",
        "seed": draw(st.integers(0, 2**31)),
        "days": days,
        "burn_in_days": draw(whole(0, 20)),
        "market": {
            "real_population_m": draw(num(0.001, 10_000.0, 1100.0)),
            "start_day_of_year": draw(whole(1, 365)),
            "festival_days": draw(st.lists(st.integers(1, 365), max_size=3)),
            "festival_multiplier": draw(num(1.0, 20.0)),
        },
        "consumers": {
            "count": draw(whole(200, 1500)),
            "tier_income": [draw(num(0.0, 50_000.0, 4200.0)) for _ in range(3)],
            "income_sigma": draw(num(0.0, 2.0)),
            "essential_share": draw(num(0.0, 0.95)),
            "essential_share_sd": draw(unit()),
            "buffer_months": draw(num(0.0, 60.0, 1.0)),
            "spend_excess": draw(unit()),
            "base_risk_logit": draw(num(-10.0, 5.0, -3.2)),
            "risk_sd": draw(num(0.0, 4.0)),
            "tier_risk_shift": [draw(num(-3.0, 3.0)) for _ in range(3)],
            "tier_shares": shares(draw),
            "young_share": draw(unit()),
            "young_risk_shift": draw(num(-3.0, 3.0)),
            "shock_rate": draw(num(0.0, 0.2)),
            "shock_size": draw(num(0.0, 24.0)),
            "risk_shock_loading": draw(num(0.0, 3.0)),
            "bnpl_preference": draw(unit()),
            "cash_loan_appetite": draw(unit()),
            "max_applications": draw(whole(1, 10)),
            "willingness": draw(unit()),
            "self_cure_rate": draw(unit()),
        },
        "merchants": {
            "count": draw(whole(0, 40)),
            "categories": categories(draw),
            "base_risk_logit": draw(num(-10.0, 5.0)),
            "size_sigma": draw(num(0.0, 4.0)),
            "gross_margin": draw(unit()),
            "fixed_cost_share": draw(num(0.0, 5.0)),
            "drift_sd": draw(num(0.0, 0.1)),
            "loan_months": draw(num(0.0, 24.0)),
            "growth_borrowing": draw(unit()),
            "willingness": draw(unit()),
            "initial_cash_days": draw(num(0.0, 365.0, 30.0)),
            "loan_need_days": draw(num(0.0, 365.0, 10.0)),
            "exit_days": draw(num(1.0, 365.0)),
            "entry_rate": draw(num(0.0, 0.02)),
        },
        "platforms": [platform(draw, name, lender_names, min_share, owned) for name in platform_names],
        "lenders": [lender(draw, name) for name in lender_names],
        "restructurers": [restructurer(draw, name) for name in restructurer_names],
        "regulation": {
            "rate_cap": draw(num(0.0, 1.0, 0.24)),
            "balance_limit": draw(num(0.0, 1e6, 200_000.0)),
            "co_lending_min_share": min_share,
            "license_moratorium": draw(st.booleans()),
            "registered_capital_m": draw(num(0.0, 10_000.0)),
            "registered_capital_cross_m": draw(num(0.0, 100_000.0)),
            "complaint_drag": draw(num(0.0, 10.0)),
            "complaint_cost": draw(num(0.0, 500.0)),
        },
        "collections": {
            "contact_scale_days": draw(num(0.01, 3650.0, 150.0)),
            "contact_shape": draw(num(0.1, 10.0, 0.66)),
            "recovery_share": draw(unit()),
            "post_default_intensity": draw(num(0.0, 10.0)),
            "npl_buyer_intensity": draw(unit()),
        },
    }
    regulation = data["regulation"]
    for p in data["platforms"]:  # a lender bought with a licence starts with the registered capital as its equity
        bought = next((lend for lend in data["lenders"] if lend["name"] == p["finance"]["license_lender"]), None)
        if bought is not None and bought["kind"] == "platform" and not p["finance"]["holds_license"]:
            key = "registered_capital_cross_m" if p["finance"]["cross_province"] else "registered_capital_m"
            capital = regulation[key]
            bought["min_capital_m"] = min(bought["min_capital_m"], capital)
    licensed = {p["name"] for p in data["platforms"] if p["finance"]["license_lender"]}
    data["events"] = [event(draw, days, platform_names, restructurer_names, licensed)
                      for _ in range(draw(whole(0, 3)))]
    return Scenario.model_validate(data)


# --- what every run must satisfy ---------------------------------------------------------------------


def non_finite(table: pd.DataFrame) -> list[str]:
    """Numeric columns of a table holding NaN or infinity."""
    numeric = table.select_dtypes(include=[np.number, "bool"])
    return [c for c in numeric.columns if not np.isfinite(numeric[c].to_numpy(dtype=np.float64)).all()]


def _walk_numbers(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [bad for k, v in value.items() for bad in _walk_numbers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, float) and not np.isfinite(value):
        return [path]
    return []


def assert_sound(model: MarketModel) -> None:
    """Finite tables and summary (also the raw figures, before summarize()'s final check), and every identity."""
    check(model)  # money and loan-book identities on the last day (each day is checked during the run)
    tables = {"market": model.market_table(), "platforms": model.platform_table(), "lenders": model.lender_table()}
    assert len(tables["market"]) == model.scenario.days
    for name, table in tables.items():
        assert not non_finite(table), f"{name} table has NaN/inf in {non_finite(table)}"
        assert not table.isna().any().any(), f"{name} table has missing values"
    market = tables["market"]
    assert np.allclose(market["outstanding_principal"], market["consumer_principal"] + market["merchant_principal"],
                       rtol=1e-9, atol=1e-3)
    buckets = market[["dpd1_30_share", "dpd31_90_share", "dpd90p_share"]]
    assert (buckets >= 0).all().all() and (buckets.sum(axis=1) <= 1 + 1e-9).all()
    assert ((market["bnpl_uptake"] >= 0) & (market["bnpl_uptake"] <= 1)).all()
    with mock.patch.object(results.summary, "_finite", lambda v: v):  # the raw figures, without the check that raises
        raw = results.summarize(model)
    assert not _walk_numbers(raw), f"summary has NaN/inf before cleanup at {_walk_numbers(raw)}"
    assert not _walk_numbers(results.summarize(model))


@settings(max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario=scenarios())
def test_any_valid_scenario_runs_soundly(scenario: Scenario) -> None:
    model = MarketModel(scenario, rng=scenario.seed, check_invariants=True)
    model.run()
    assert_sound(model)


# --- named edge cases, each run once ---------------------------------------------------------------------

SMALL = {"days": 40, "burn_in_days": 10, "consumers": {"count": 800}, "merchants": {"count": 30}}
NO_FINANCE = {"strategy": "none", "license_lender": None, "partners": []}
EDGES: dict[str, dict[str, Any]] = {
    "zero_lenders": {"lenders": [], "platforms": [{"name": n, "finance": NO_FINANCE}
                                                   for n in ("community", "video", "entertainment")]},
    "zero_merchants": {"merchants": {"count": 0}},
    "zero_consumers": {"consumers": {"count": 0}},
    "zero_platforms": {"platforms": [], "events": []},
    "category_shares_all_zero": {"merchants": {"categories": [{"name": "general", "share": 0.0}]}},
    "category_shares_tiny": {"merchants": {"categories": [{"name": "general", "share": 1e-13}]}},
    "deposit_tiers_empty": {"platforms": [{"name": n, "deposit": {"tiers": []}}
                                          for n in ("community", "video", "entertainment")]},
    "zero_restructurers": {"restructurers": []},
    "all_high_risk": {"consumers": {"base_risk_logit": 5.0, "risk_sd": 0.0, "willingness": 0.0,
                                    "self_cure_rate": 0.0}},
    "rate_cap_zero": {"regulation": {"rate_cap": 0.0}},
    "deposit_cap_zero": {"platforms": [{"name": n, "deposit": {"cap": 0.0}}
                                       for n in ("community", "video", "entertainment")]},
    "no_traffic_dau": {"platforms": [{"name": n, "dau_ratio": 0.0} for n in ("community", "video", "entertainment")]},
    "no_traffic_mau": {"platforms": [{"name": n, "mau_m": 0.0} for n in ("community", "video", "entertainment")]},
    "balance_limit_zero": {"regulation": {"balance_limit": 0.0}},
    "no_income": {"consumers": {"tier_income": [0.0, 0.0, 0.0]}},
    "everything_fails_at_once": {"consumers": {"shock_rate": 0.2, "shock_size": 24.0, "willingness": 0.0},
                                 "merchants": {"willingness": 0.0, "base_risk_logit": 5.0}},
    "crackdown_and_rate_cap_day_1": {"events": [{"day": 1, "kind": "crackdown"},
                                                {"day": 1, "kind": "rate_cap", "value": 0.0}]},
    "one_platform_single_tier": {"platforms": [{"name": "video", "tier_shares": [1.0, 0.0, 0.0]},
                                               {"name": "community", "remove": True},
                                               {"name": "entertainment", "remove": True}]},
    "no_burn_in": {"burn_in_days": 0},
    "tiny_population_scale": {"market": {"real_population_m": 0.001}},
    "zero_equity_lenders": {"lenders": [{"name": n, "equity_m": 0.0, "min_capital_m": 0.0}
                                                   for n in ("video_credit", "big_bank", "cfc", "micro_a", "micro_b",
                                                             "micro_c")]},
}


# Model bugs found by these tests, left for the model's owner to fix (sim/ is not changed here). Each is an
# expected failure with strict=True: once the model is fixed the test passes and the mark must be removed.
KNOWN_BUGS: dict[str, str] = {}  # edge cases that still fail, with the reason (strict xfail)


def edge_scenario(name: str) -> Scenario:
    """The default market, made small, with the edge case's changes (named lists merge by name)."""
    data = merge(Scenario().model_dump(mode="json"), SMALL)
    for key, value in EDGES[name].items():
        if key in ("platforms", "lenders", "restructurers") and value:
            by_name = {item["name"]: item for item in data[key]}
            for change in value:
                if change.get("remove"):
                    by_name.pop(change["name"])
                else:
                    by_name[change["name"]] = merge(by_name.get(change["name"], {}), change)
            data[key] = list(by_name.values())
        elif isinstance(value, dict):
            data[key] = merge(data[key], value)
        else:
            data[key] = value
    return Scenario.model_validate(data)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])) if name in KNOWN_BUGS else name
    for name in sorted(EDGES)
])
def test_edge_case_runs_soundly(name: str) -> None:
    scenario = edge_scenario(name)
    model = MarketModel(scenario, rng=3, check_invariants=True)
    model.run()
    assert_sound(model)
