"""The scenario library: every file has a header, and the claims in its header hold on a small run."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from sim import MarketModel
from sim.results import summarize
from sim.scenario_files import header_comment, load

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["consumers.count=6000", "merchants.count=200", "days=240", "burn_in_days=60"]
EXPECTED = {
    "baseline", "classroom", "community_ads_only", "community_merchant_loans", "video_commerce_own_license",
    "entertainment_traffic_finance", "closed_loop", "microlender_consolidation", "restructurer_crackdown",
}


class Run:
    """One small run of a library scenario and the tables the claims read."""

    def __init__(self, name: str) -> None:
        overrides = [] if name == "classroom" else SMALL
        scenario = load(str(ROOT / "scenarios" / f"{name}.yaml"), overrides).scenario
        self.model = MarketModel(scenario, rng=1).run()
        self.summary = summarize(self.model)
        self.market = self.model.market_table()
        self.plat = self.model.platform_table().groupby("name").sum(numeric_only=True)
        self.lend = self.model.lender_table()

    def revenue(self, platform: str, source: str) -> float:
        return float(self.plat.loc[platform, f"revenue_{source}"])


@cache
def run(name: str) -> Run:
    return Run(name)


def test_library_is_complete_and_every_file_has_a_header() -> None:
    files = {p.stem: p for p in (ROOT / "scenarios").glob("*.yaml")}
    assert EXPECTED <= set(files)
    for name, path in files.items():
        header = header_comment(str(path))
        assert len(header) > 80, name
        assert "should show" in header, name
        assert load(str(path)).scenario.description, name


def test_classroom_is_small_and_fast() -> None:
    s = load(str(ROOT / "scenarios/classroom.yaml")).scenario
    assert (s.consumers.count, s.merchants.count, s.days, s.burn_in_days) == (5000, 150, 180, 60)
    r = run("classroom")
    assert r.summary["bnpl_uptake"] > 0 and r.summary["loans_originated"] > 0
    assert r.market[["dpd1_30_share", "dpd31_90_share"]].to_numpy().max() > 0


def _forgives_within_the_days(scenario, seed: int) -> bool:
    """Whether an intermediary's settlement forgives debt within the recorded days (counted as written off)."""
    market = MarketModel(scenario, rng=seed).run().market_table()
    return bool((market["settlement_forgiven"] > 0).any() and market["charged_off_principal"].sum() > 0)


def test_classroom_header_holds_on_its_own_seed_and_says_what_other_seeds_do() -> None:
    """`python run.py run scenarios/classroom.yaml` and the dashboard run the file's own seed (0), the run a class
    sees first, not the seed 1 the test above uses. The header claimed intermediaries sign up clients (none do on
    seed 0) and, like docs/outputs.md, that the 180 days write nothing off (an intermediary's settlement forgives
    debt within the 180 days on a few seeds, which counts as written off: seed 4 on day 179 and seed 19 on day 53
    today)."""
    path = ROOT / "scenarios/classroom.yaml"
    scenario = load(str(path)).scenario
    header = header_comment(str(path))
    own = MarketModel(scenario, rng=scenario.seed).run()
    market = own.market_table()
    plat = own.platform_table().groupby("name").sum(numeric_only=True)
    festival = market["day"].isin(scenario.market.festival_days)
    assert market.loc[festival, "orders"].min() > 1.5 * market["orders"].median()  # festival peaks
    assert plat.loc["video", "bnpl_orders"] > 0
    assert (market[["dpd1_30_share", "dpd31_90_share"]].max() > 0).all()
    assert (plat.loc[["video", "entertainment"], "finance_revenue"] > 0).all()
    intermediaries = re.search(r"intermediaries signing up[^.]*", header)
    assert intermediaries and (market["restructurer_signups"].sum() > 0 or "some seeds" in intermediaries.group(0))
    assert market["charged_off_principal"].sum() == 0  # the header and docs/outputs.md: nothing on seed 0 ...
    assert any(_forgives_within_the_days(scenario, seed) for seed in range(1, 31))  # ... but on a few seeds
    outputs = " ".join((ROOT / "docs/outputs.md").read_text().split())
    assert "classroom scenario's 180 days write nothing off on its own seed (0)" in outputs
    assert "settlement forgives some debt earlier" in header


def test_baseline_strategies_show_in_revenue() -> None:
    r = run("baseline")
    assert r.revenue("community", "lending") == 0 and r.revenue("community", "diversion_fees") == 0
    assert r.revenue("video", "lending") > 0 and r.plat.loc["video", "bnpl_orders"] > 0
    assert r.revenue("entertainment", "diversion_fees") > 0
    assert 0 < r.summary["charge_off_rate"] < 0.2


def test_community_ads_only_earns_from_ads_and_diversion_but_never_lends() -> None:
    r = run("community_ads_only")
    assert r.revenue("community", "lending") == 0
    for source in ("lender_ads", "diversion_fees", "restructurer_ads"):
        assert r.revenue("community", source) > 0, source
    assert r.summary["platform_finance_revenue_share"]["community"] > 0
    assert r.market["restructurer_signups"].sum() > 0


def test_community_merchant_loans_lends_to_shops_under_settlement_control() -> None:
    r = run("community_merchant_loans")
    assert r.revenue("community", "lending") > 0
    credit = r.lend[r.lend["name"] == "community_credit"]
    assert credit["originated"].iloc[-1] > 0
    assert r.market["swept"].sum() > 0 and r.market["early_warnings"].sum() > 0


def test_video_own_license_has_bnpl_lending_and_diversion() -> None:
    r = run("video_commerce_own_license")
    assert r.plat.loc["video", "bnpl_orders"] > 0
    assert r.revenue("video", "lending") > 0 and r.revenue("video", "diversion_fees") > 0
    assert r.lend[r.lend["name"] == "video_credit"]["book"].iloc[-1] > 0


def test_entertainment_finance_share_is_visible() -> None:
    r = run("entertainment_traffic_finance")
    share = r.summary["platform_finance_revenue_share"]["entertainment"]
    assert 0.03 < share < 0.40
    assert r.revenue("entertainment", "lending") == 0 and r.plat.loc["entertainment", "bnpl_orders"] == 0


def test_closed_loop_keeps_whole_loans() -> None:
    r = run("closed_loop")
    assert r.revenue("video", "lending") > 0 and r.plat.loc["video", "bnpl_orders"] > 0
    assert r.revenue("video", "diversion_fees") == 0 and r.revenue("video", "restructurer_ads") == 0
    assert r.model.lender_by_name["big_bank"].totals["originated"] == 0  # burn-in included (lenders.csv leaves it out)


def test_microlender_consolidation_has_exits() -> None:
    """Over a year, thin micro-lenders leave (about one in five a year: two of ten in a year on seed 1;
    exits take a full year to show, so this claim runs at the scenario's own horizon)."""
    scenario = load(str(ROOT / "scenarios" / "microlender_consolidation.yaml"),
                    ["consumers.count=20000", "merchants.count=400"]).scenario
    model = MarketModel(scenario, rng=1).run()
    assert len(model.lender_list) == 10
    gone = [lend.name for lend in model.lender_list if not lend.active]
    assert gone and all(name.startswith("micro_") for name in gone)


def test_restructurer_crackdown_stops_signups() -> None:
    r = run("restructurer_crackdown")
    m: pd.DataFrame = r.market
    assert m.loc[m["day"] < 183, "restructurer_signups"].sum() > 0
    assert m.loc[m["day"] >= 183, "restructurer_signups"].sum() == 0
    assert r.summary["restructurer_fees"] > 0


def test_summary_figures_cover_the_recorded_days_only() -> None:
    """Fees and finance shares leave out the burn-in, like every other headline figure."""
    # enough consumers that intermediaries earn fees both in the burn-in and on the recorded days
    overrides = ["consumers.count=20000", "merchants.count=400", "burn_in_days=300", "days=60"]
    model = MarketModel(load(str(ROOT / "scenarios" / "baseline.yaml"), overrides).scenario, rng=1).run()
    summary, plat = summarize(model), model.platform_table().groupby("name").sum(numeric_only=True)
    since_start = sum(x.fees for x in model.restructurer_list)
    assert summary["restructurer_fees"] == pytest.approx(model.market_table()["restructurer_fees"].sum())
    assert 0 < summary["restructurer_fees"] < since_start  # the burn-in earned fees too: the check can fail
    for p in model.platform_list:
        share = summary["platform_finance_revenue_share"][p.name]
        assert share == pytest.approx(plat.loc[p.name, "finance_revenue"] / plat.loc[p.name, "revenue"])
        if p.finance_revenue() > 0:
            assert share != pytest.approx(p.finance_revenue() / p.total_revenue(), rel=1e-9)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_summary_never_has_nan(name: str) -> None:
    summary = run(name).summary
    flat = [*summary.values(), *summary["platform_finance_revenue_share"].values()]
    assert all(v == v for v in flat if isinstance(v, float))
