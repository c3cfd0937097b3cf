"""The dashboard's logic without a browser: controls, refusals, side-by-side runs, views' data."""

from __future__ import annotations

import gc
import json
import re
import shlex
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim.app.session as session_module
from sim.app import charts, controls, events, follow, network, page, views
from sim.app.session import LIBRARY, Session
from sim.app.variant import ALL, as_text
from sim.model import MarketModel
from sim.scenario_files import load


@pytest.fixture
def session() -> Session:
    s = Session()
    s.set("days", 40)
    return s


def test_a_control_rebuilds_the_model_with_the_override(session: Session) -> None:
    session.step(3)
    assert session.set("strategy", "traffic_diversion", "community") is None
    assert session.day == 0
    assert session.value("strategy", "community") == "traffic_diversion"
    assert session.runs[0].model.scenario.platforms[0].finance.strategy == "traffic_diversion"


@pytest.mark.parametrize(("control", "value", "platform", "expected"), [
    ("rate_cap", "abc", None, "rate cap = abc: regulation.rate_cap: 'abc' is not a number"),
    ("rate_cap", "2", None, "out of range"),
    ("deposit_cap", "-5", "video", "video deposit cap = -5"),
    ("strategy", "own_license", "community", "license_lender: own_license needs a licence lender; one of big_bank"),
    ("consumers", "many", None, "number of consumers = many"),
    ("rate_cap", " ", None, "rate cap is empty: type a value"),
    ("deposit_cap", "", "video", "video deposit cap is empty: type a value"),
])
def test_a_bad_value_is_refused_with_one_line(session: Session, control: str, value: str, platform: str | None,
                                               expected: str) -> None:
    session.step(2)
    before = session.runs[0].model
    message = session.set(control, value, platform)
    assert message is not None and expected in message and "\n" not in message
    assert session.error == message
    assert session.runs[0].model is before and session.day == 2  # the running model is untouched


def test_side_by_side_runs_share_the_seed_and_differ_by_one_setting(session: Session) -> None:
    assert session.set_compare(True) is None
    a, b = session.runs
    assert session.variant.platform == "video" and session.variant.value == "none"
    assert a.model.scenario.seed == b.model.scenario.seed
    assert b.model.scenario.platforms[1].finance.strategy == "none"
    session.step(20)
    assert a.model.market_table()["bnpl_orders"].sum() > b.model.market_table()["bnpl_orders"].sum() == 0
    assert session.set_compare(True, platform=ALL, setting="ad_policy") is None
    assert {p.restructurer_ad_policy for p in session.runs[1].model.scenario.platforms} == {"ban"}
    message = session.set_compare(True, setting="deposit_cap", value="lots")
    assert message is not None and message.startswith("side-by-side refused: run B:") and session.compare


def test_views_are_plain_json_and_follow_a_borrower(session: Session) -> None:
    session.set_compare(True)
    session.step(15)
    borrower = follow.random_borrower(session.runs[0].model, np.random.default_rng(0))
    assert borrower is not None and session.follow(borrower) is None
    session.step(5)
    assert [h["day"] for h in session.runs[0].follow] == list(range(15, 21))
    assert follow.loans(session.runs[0].model, borrower)
    json.dumps([charts.all_charts(session.runs), network.option(session.runs[0]),
                follow.option(session.runs[0]), follow.profile(session.runs[0].model, borrower)])
    g = network.graph(session.runs[0])
    lent = sum(d["amount"] for _, _, d in g.edges(data=True) if d["kind"] == "lends")
    # every consumer loan of the recorded days comes through a platform (the edges add the programmes' shop loans,
    # none some days: then the two are one total summed in another order, equal to rounding)
    consumer_loans = session.runs[0].model.market_table()["amount_originated"].sum()
    assert lent >= consumer_loans * (1 - 1e-12) and consumer_loans > 0
    assert session.follow(10**9) is not None


def test_play_batches_measure_speed(session: Session) -> None:
    done = session.play_batch(budget_s=0.05)
    assert done >= 1 and session.speed > 0
    while not session.finished:
        session.play_batch(budget_s=0.05)
    assert session.day == 40


def test_a_pause_does_not_count_as_slow_play(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resumed after a pause, the first batch is timed from its own start: the pause is not simulation time
    (it read "1 days/s"). A fake clock stands for the seconds that pass."""
    clock = [100.0]
    monkeypatch.setattr(session_module.time, "perf_counter", lambda: clock[0])
    step = session.step

    def one_hundredth_of_a_second_a_day(days: int = 1) -> int:
        clock[0] += 0.01
        return step(days)

    monkeypatch.setattr(session, "step", one_hundredth_of_a_second_a_day)
    assert session.play_batch(budget_s=0.05) == 5 and session.speed == pytest.approx(100)
    clock[0] += 3.0  # paused
    session.start_playing()
    assert session.play_batch(budget_s=0.05) == 5 and session.speed == pytest.approx(100)


def _texts(rendered: Any) -> list[str]:
    import ipyvuetify

    return [w.children[0] for w in rendered.find(ipyvuetify.Html).widgets
            if w.children and isinstance(w.children[0], str)]


def test_the_first_step_shows_day_1_and_says_the_warm_up_ran(session: Session) -> None:
    """The first Step runs the unrecorded warm-up (seconds in a large market), then day 1: every time chart then
    held lines of one point, which ECharts does not draw (a line needs two points and symbols were off), so the
    class saw a wait and no activity. A line of one point now shows its point, and the status says what ran."""
    burn = session.scenario.burn_in_days
    assert burn > 0 and f"runs a {burn}-day warm-up before day 1" in (views.warm_up_note(session) or "")
    for days, drawn in ((1, True), (1, False)):
        session.step(days)
        options = dict(charts.all_charts(session.runs))
        lines = [s for key, o in options.items() if key != "revenue" for s in o["series"] if s["data"]]
        assert lines and all(len(s["data"]) == session.day and s["showSymbol"] is drawn for s in lines)
        followed = follow.option(session.runs[0])["series"]
        assert all(len(s["data"]) == session.day and s["showSymbol"] is drawn for s in followed)
        assert (views.warm_up_note(session) or "").startswith(f"Day 1 follows the {burn}-day warm-up") is drawn
    assert views.warm_up_note(session) is None


def test_the_speed_is_shown_only_while_playing(session: Session) -> None:
    solara = pytest.importorskip("solara")
    session.play_batch(budget_s=0.05)
    assert session.speed > 0
    shown = {}
    for playing in (True, False):
        _, rendered = solara.render(page._Body(session, playing, lambda action: action(), 0), handle_error=False)
        shown[playing] = [t for t in _texts(rendered) if t.endswith("days/s")]
    assert len(shown[True]) == 1 and shown[False] == []


def test_views_are_drawn_under_the_session_lock(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The play thread steps under the lock, so a view drawn without it can read a half-written day."""
    session.step(2)
    held: list[bool] = []
    draw = views.live_charts

    def probe(s: Session) -> None:
        free: list[bool] = []

        def try_lock() -> None:  # as the play thread would, between two days
            free.append(s.lock.acquire(blocking=False))
            if free[-1]:
                s.lock.release()

        other = threading.Thread(target=try_lock)
        other.start()
        other.join()
        held.append(not free[0])
        draw(s)

    monkeypatch.setattr(views, "live_charts", probe)
    solara = pytest.importorskip("solara")
    solara.render(page._Body(session, False, lambda action: action(), 0), handle_error=False)
    assert held == [True]


def test_a_bad_value_for_run_b_leaves_both_runs_alone(session: Session) -> None:
    assert session.set_compare(True, platform="video", setting="deposit_cap", value="0") is None
    session.step(6)
    runs, variant = list(session.runs), session.variant
    message = session.set_compare(True, value="20k")
    assert message is not None and message.startswith("side-by-side refused: run B: video deposit cap = 20k")
    assert session.runs == runs and session.day == 6 and session.compare  # run A keeps its day
    assert session.variant is variant and variant.value == "0"
    # B's field cleared and entered: said as A's fields say it, not "deposit cap = : ... null is not a number"
    assert session.set_compare(True, value=" ") == \
        "side-by-side refused: run B's value (video deposit cap) is empty: type a value"
    assert session.runs == runs and session.day == 6 and session.variant is variant
    assert session.set_compare(False) is None and len(session.runs) == 1
    assert session.set_compare(True, setting="deposit_cap", value="oops") is not None
    assert not session.compare and len(session.runs) == 1  # switching on with a bad value: still off


def test_a_rebuild_frees_the_models_it_replaces(session: Session) -> None:
    session.set_compare(True)
    session.step(3)
    charts.all_charts(session.runs)  # the charts' cache must not keep them either
    old = [weakref.ref(run.model) for run in session.runs]
    assert session.set("seed", 7) is None
    charts.all_charts(session.runs)
    gc.collect()
    assert [ref() for ref in old] == [None, None]


def test_a_closed_session_frees_its_models() -> None:
    """A closed tab's models must not outlive it (Mesa 3.3 keeps every model in `Agent._ids`)."""
    session = Session()  # not the fixture: pytest would keep that one alive
    session.set_compare(True)
    session.step(3)
    old = [weakref.ref(run.model) for run in session.runs]
    session.close()
    del session
    gc.collect()
    assert [ref() for ref in old] == [None, None]


def test_closing_the_page_closes_its_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Solara unmounts the page when the tab closes or its kernel is culled; that must reach Session.close."""
    solara = pytest.importorskip("solara")
    closed: list[Session] = []
    close = Session.close

    def spy(self: Session) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Session, "close", spy)
    _, rc = solara.render(page.Page(), handle_error=False)
    assert closed == []
    rc.close()
    assert len(closed) == 1 and closed[0].runs


@pytest.mark.parametrize(("edit", "why"), [
    ("days: 40\nconsumers: {count: 6000}\n", "consumers.count = 6000: 6000 is out of range for the live dashboard"),
    ("days: [\n", ""),
])
def test_a_tab_opened_on_a_file_edited_since_the_start_says_why_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str, why: str) -> None:
    """The file was checked when the app started; edited since (beyond what the page plays, or broken), a tab opened
    then showed a traceback (or played the big market). It shows one line naming the file."""
    solara = pytest.importorskip("solara")
    import ipyvuetify

    mine = tmp_path / "my_class.yaml"
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\n{edit}")
    monkeypatch.setenv(page.SCENARIO_ENV, str(mine))
    monkeypatch.setattr(session_module, "MAX_CONSUMERS", 5000)
    _, rendered = solara.render(page.Page(), handle_error=False)
    (alert,) = rendered.find(ipyvuetify.Alert).widgets
    text = " ".join(str(c) for c in alert.children)
    assert text.startswith(f"{mine}: {why}") and text.endswith("(fix the file, then reload the page)")
    assert "\n" not in text and "Traceback" not in text


def test_a_rebuild_during_a_play_batch_ends_the_batch(session: Session) -> None:
    """Reset lands between two days of a batch (the batch takes the lock a day at a time): the new
    runs must stay at day 0. Here the rebuild happens inside day 3, on the play thread itself."""
    session.play_batch(max_days=1)
    model = session.runs[0].model
    step = model.step

    def step_then_reset() -> None:
        step()
        if model.t == first + 3:
            session.rebuild()

    first = model.t
    model.step = step_then_reset  # type: ignore[method-assign]
    assert session.play_batch(budget_s=60, max_days=20) == 3
    assert session.day == 0 and session.speed == 0
    stale = session.generation - 1  # the play thread started before the rebuild
    assert session.play_batch(budget_s=60, max_days=2, generation=stale) == 0
    assert session.day == 0


@pytest.mark.parametrize(("control", "value", "text"), [("seed", 20240101, "20240101"), ("rate_cap", "0.24", "0.24")])
def test_numeric_fields_show_values_that_can_be_typed_back(session: Session, control: str, value: object,
                                                           text: str) -> None:
    assert [as_text(v) for v in (1_000_000, 1e6, 20000.0, 1.5, 0.1, True)] == \
        ["1000000", "1000000", "20000", "1.5", "0.1", "true"]
    assert session.set(control, value) is None
    assert controls.shown(session, control) == text
    assert session.set(control, controls.shown(session, control)) is None and session.error is None
    assert controls.shown(session, "deposit_cap", "video") == as_text(session.value("deposit_cap", "video"))


def test_days_before_a_scenario_event_are_refused_in_the_controls_words() -> None:
    s = Session(LIBRARY / "microlender_consolidation.yaml")
    last = max(e.day for e in s.scenario.events)
    before = s.runs[0].model
    message = s.set("days", last - 60)
    assert message == f"days: {last - 60} is before this scenario's event on day {last}; choose at least {last}"
    assert s.runs[0].model is before
    assert s.set("days", last) is None and s.scenario.days == last


@pytest.mark.parametrize("typed", ["0", "-3"])
def test_no_consumers_is_refused(session: Session, typed: str) -> None:
    before = session.runs[0].model
    message = session.set("consumers", typed)
    assert message == (f"number of consumers = {typed}: {typed} is out of range: the dashboard needs at least 1 "
                       f"consumer, to follow one; allowed: 1 to {session_module.MAX_CONSUMERS:,}")
    assert session.runs[0].model is before


def test_more_consumers_than_the_dashboard_plays_are_refused_with_the_command_line_for_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above `MAX_CONSUMERS` the field is refused (the page plays day by day: a year at a million consumers took 24 to
    42 s side by side), naming the field and the range, with the command line that runs that market with the
    controls in force; it runs it. Up to the limit the field is taken, and above the schema's own limit there is no
    command line (it would refuse the number too)."""
    s = Session()
    assert s.set("days", 5) is None and s.set("rate_cap", "0.2") is None
    before = s.runs[0].model
    limit = session_module.MAX_CONSUMERS
    message = s.set("consumers", str(limit + 1))
    # the classroom's 150 shops per 5,000 consumers, kept in the bigger market
    shops = round(150 * (limit + 1) / 5000)
    command = ("python run.py run scenarios/classroom.yaml --days 5 --set regulation.rate_cap=0.2 "
               f"--consumers {limit + 1} --set merchants.count={shops}")
    assert message == (f"number of consumers = {limit + 1}: {limit + 1} is out of range for the live dashboard, "
                       f"which plays day by day; allowed: 1 to {limit:,} (for a bigger market: {command})")
    assert s.runs[0].model is before and s.scenario.consumers.count == 5000 and "consumers.count" not in s.settings
    assert s.set("consumers", "1e9") == ("number of consumers = 1000000000: 1000000000 is out of range for the live "
                                         f"dashboard, which plays day by day; allowed: 1 to {limit:,}")
    import run as cli

    monkeypatch.chdir(events.ROOT)
    argv = shlex.split(command)
    assert cli.main([*argv[3:], "--out", str(tmp_path / "big"), "--quiet"]) == 0
    resolved = load(str(tmp_path / "big" / "scenario.yaml")).scenario
    assert resolved.consumers.count == limit + 1 and resolved.regulation.rate_cap == 0.2 and resolved.days == 5
    assert s.set("consumers", f"{limit // 1000}e3") is None and s.runs[0].model.consumers.n == limit


@pytest.mark.parametrize(("count", "why"), [
    (0, "out of range: the dashboard needs at least 1 consumer, to follow one"),
    (session_module.MAX_CONSUMERS + 1, "out of range for the live dashboard, which plays day by day"),
])
def test_a_file_with_more_consumers_than_the_dashboard_plays_is_refused_at_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], count: int, why: str) -> None:
    """The consumers field's range holds for the file the app is started with too: one line naming the file and
    the key, exit code 2, no server started; the line's command runs the file."""
    classroom = (LIBRARY / "classroom.yaml").read_text()
    path = tmp_path / "class.yaml"
    path.write_text(classroom.replace("extends: baseline.yaml", f"extends: {LIBRARY / 'baseline.yaml'}")
                    .replace("  count: 5000\n", f"  count: {count}\n"))
    assert load(str(path)).scenario.consumers.count == count
    import run as cli

    assert cli.main(["app", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {path}: consumers.count = {count}: {count} is {why}; allowed: 1 to "
                   f"{session_module.MAX_CONSUMERS:,} (run it with: python run.py run {path})\n")


def test_a_scenario_chosen_in_the_dropdown_above_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's files all play; with a lower limit the dropdown refuses one above it and keeps the run."""
    s = Session()
    before = s.runs[0].model
    monkeypatch.setattr(session_module, "MAX_CONSUMERS", s.scenario.consumers.count)
    big = load(str(LIBRARY / "baseline.yaml")).scenario.consumers.count
    assert big > s.scenario.consumers.count
    message = s.choose_scenario("baseline.yaml")
    assert message is not None and message.startswith(f"{LIBRARY / 'baseline.yaml'}: consumers.count = {big}: ")
    assert s.runs[0].model is before and s.scenario_name == "classroom.yaml"


def test_the_status_line_says_n_a_rather_than_0_percent(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing written off yet: "recovered" is n/a, not "0% of write-offs" (nothing recovered); no orders: no
    BNPL share. The recovered share counts shop-loan recoveries too, as the write-offs it divides by do."""
    session.step(1)
    figures = charts.headline(session.runs[0])
    assert figures["written_off"] == 0 and figures["recovery_rate"] is None
    assert dict(views.figure_texts(figures))["recovered"] == "n/a (nothing written off yet)"
    market = pd.DataFrame({"day": [1, 2], "orders": [0, 0], "bnpl_orders": [0, 0], "amount_originated": [0.0, 0.0],
                           "charged_off_principal": [100.0, 0.0], "merchant_charged_off": [0.0, 100.0],
                           "recoveries": [0.0, 30.0], "merchant_recoveries": [0.0, 10.0],
                           "restructurer_clients": [0, 0], "dpd90p_share": [0.0, 0.0],
                           "outstanding_principal": [50.0, 0.0]})
    monkeypatch.setattr(charts, "_frame", lambda run, name: market)
    figures = charts.headline(session.runs[0])
    assert figures["recovery_rate"] == pytest.approx(0.2) and figures["bnpl_share"] is None
    texts = dict(views.figure_texts(figures))
    assert texts["recovered"] == "20% of write-offs" and texts["BNPL share"] == "n/a (no orders yet)"
    assert texts["90+ dpd"] == "n/a (nothing outstanding)"


def test_the_revenue_chart_shows_credit_revenue_at_a_readable_scale(session: Session) -> None:
    """Commission and other revenue are a hundred times the credit slices Lesson 1 is about: stacked with
    them, those slices were under a pixel wide. The bars hold the credit sources; each bar ends with the total."""
    session.step(40)
    option = dict(charts.all_charts(session.runs))["revenue"]
    assert [s["name"] for s in option["series"]] == ["lender ads", "intermediary ads", "diversion fees", "lending",
                                                     "co-lending fees"]
    table = session.runs[0].model.platform_table()
    for i, p in enumerate(session.runs[0].model.platform_list):
        rows = table[table["name"] == p.name]
        *slices, last = (s["data"][i] for s in option["series"])
        credit = sum(slices) + last["value"]
        expected = rows[["revenue_lender_ads", "revenue_restructurer_ads", "revenue_diversion_fees",
                         "revenue_lending", "revenue_co_lending_fees"]].to_numpy().sum()
        assert credit == pytest.approx(expected / 1000, abs=0.01)
        assert option["yAxis"]["data"][i] == p.name
        assert last["label"]["formatter"] == f"of {rows['revenue'].sum() / 1000:,.0f}k in all"


def test_the_losses_chart_sets_each_recovery_beside_its_write_offs() -> None:
    """The one 'recovered' line was consumer loans only, beside shop-loan write-offs: a class saw nothing come back
    on shop loans while the status bar counted 27% recovered. Played as Lesson 2's step 3 (the video platform's
    sweep and deposit off), where shop loans are written off and partly recovered within the year."""
    s = Session()
    for control, value, platform in (("days", 365, None), ("settlement_sweep", False, "video"),
                                     ("deposit_cap", 0, "video")):
        assert s.set(control, value, platform) is None
    s.step(365)
    option = dict(charts.all_charts(s.runs))["losses"]
    lines = {line["name"]: line["data"] for line in option["series"]}
    market = s.runs[0].model.market_table()
    for name, column in (("recovered on consumer loans", "recoveries"),
                         ("recovered on shop loans", "merchant_recoveries"),
                         ("shop loans written off", "merchant_charged_off")):
        assert lines[name][-1][1] == pytest.approx(market[column].sum() / 1000, abs=1e-5)
    assert lines["recovered on shop loans"][-1][1] > 0


def _command_line_run(days: int) -> MarketModel:
    """The classroom scenario as `python run.py run scenarios/classroom.yaml --days N` runs it (platforms.csv and
    lenders.csv are its `platform_table()` and `lender_table()`)."""
    return MarketModel(load(str(LIBRARY / "classroom.yaml"), [f"days={days}"]).scenario).run()


def test_figures_to_date_count_the_recorded_days_as_the_command_line_does(session: Session) -> None:
    """"To date" is the days on the counter: the revenue chart and the network leave the unrecorded burn-in out.
    After one Step they showed 60 burn-in days of revenue and loans (thousands of RMB on day 1), so they
    disagreed with the status bar, the time charts and the command line's outputs. Checked against a model run
    as the command line runs it, after 1 day and after 25."""
    for days in (1, 25):
        session.rebuild()
        session.step(days)
        run = session.runs[0]
        cli = _command_line_run(40)
        platforms, lenders = cli.platform_table(), cli.lender_table()
        platforms, lenders = platforms[platforms["day"] <= days], lenders[lenders["day"] == days]

        option = dict(charts.all_charts(session.runs))["revenue"]
        g = network.graph(run)
        for i, p in enumerate(run.model.platform_list):
            rows = platforms[platforms["name"] == p.name]
            for series in option["series"]:
                point = series["data"][i]
                shown = point["value"] if isinstance(point, dict) else point
                source = {name: k for k, name in charts.SOURCE_NAMES.items()}.get(series["name"], series["name"])
                column = "revenue_" + source.replace(" ", "_")
                assert shown == pytest.approx(rows[column].sum() / 1000, abs=1e-3), (days, p.name, column)
            assert g.nodes[p.name]["size"] == pytest.approx(rows["revenue"].sum())
            ads = sum(d["amount"] for u, v, d in g.in_edges(p.name, data=True) if d["kind"] == "ads")
            assert ads == pytest.approx(rows["revenue_restructurer_ads"].sum())
        # lent through platforms: each lender's originations of the recorded days (lenders.csv counts them, the
        # burn-in left out) less its shop loans made blind, without a platform (they have no edge)
        blind, burn = cli.credit.merchant, cli.scenario.burn_in_days
        start = blind.start_day[: blind.n]
        recorded = (blind.platform[: blind.n] < 0) & (start >= burn) & (start < burn + days)
        blind_by_lender = np.bincount(blind.lender[: blind.n][recorded], weights=blind.principal[: blind.n][recorded],
                                      minlength=len(cli.lender_list))
        for lend in cli.lender_list:
            row = lenders[lenders["name"] == lend.name].iloc[0]
            expected = row["originated"] - blind_by_lender[lend.index]
            lent = sum(d["amount"] for _, _, d in g.out_edges(lend.name, data=True) if d["kind"] == "lends")
            assert lent == pytest.approx(expected, abs=1e-6), (days, lend.name)
        fees = sum(d["size"] for _, d in g.nodes(data=True) if d["kind"] == "intermediary")
        assert fees == pytest.approx(cli.market_table().query("day <= @days")["restructurer_fees"].sum())
        assert charts.headline(run)["lent"] == pytest.approx(
            cli.market_table().query("day <= @days")["amount_originated"].sum())


def test_new_lending_and_lent_say_they_count_consumer_loans(session: Session) -> None:
    """`amount_originated` is consumer loans only; shown beside balances that hold shop loans, the labels say so,
    and new shop loans have a line of their own (Lesson 2 is about them)."""
    session.step(10)
    lending = dict(charts.all_charts(session.runs))["lending"]
    lines = {s["name"]: s["data"] for s in lending["series"]}
    assert {"new consumer loans / day", "new shop loans / day", "outstanding (all loans)"} <= set(lines)
    market = session.runs[0].model.market_table()
    for name, column in (("new consumer loans / day", "amount_originated"),
                         ("new shop loans / day", "merchant_amount_originated")):
        assert lines[name][-1][1] == pytest.approx(market[column].tail(7).mean() / 1000, abs=1e-6)
    assert market["merchant_amount_originated"].sum() > 0
    texts = dict(views.figure_texts(charts.headline(session.runs[0])))
    assert "lent to consumers" in texts and "lent" not in texts


@pytest.mark.parametrize(("days", "last_day_labelled"), [(180, True), (2000, False)])
def test_the_last_day_is_labelled_only_where_it_falls_on_a_tick(session: Session, days: int,
                                                                 last_day_labelled: bool) -> None:
    """ECharts labels an axis's last value besides its ticks: at 2,000 days the ticks run 300, ..., 1,800 and
    the extra "2,000" ran into "1,800" on a projector. At 180 days (ticks every 30) it is a tick."""
    session.set("days", days)
    for key, option in charts.all_charts(session.runs):
        if option["xAxis"].get("name") == "day":
            assert option["xAxis"]["axisLabel"]["showMaxLabel"] is last_day_labelled, key
    assert [charts._tick_interval(d - 1) for d in (180, 2000)] == [30, 300]  # as ECharts 5 draws them


def _select(rendered: Any, label: str) -> Any:
    import ipyvuetify

    return rendered.find(ipyvuetify.Select, label=label).widget


def test_a_refused_pick_in_a_dropdown_goes_back_to_the_value_in_force() -> None:
    """The browser sets the dropdown's value; a refused pick must not stay on screen. It did: the panel read
    strategy own_license over a run with strategy none, and picking own_license again did nothing."""
    solara = pytest.importorskip("solara")
    import ipyvuetify

    _, rendered = solara.render(page.Page(), handle_error=False)
    strategy = _select(rendered, "Finance strategy")
    assert strategy.v_model == "none"  # community, the first platform
    strategy.v_model = "own_license"  # as the browser does: community has no licence lender
    assert "license_lender: own_license needs a licence lender" in _texts_of_alerts(rendered)
    assert _select(rendered, "Finance strategy").v_model == "none"
    lender = _select(rendered, "Licence lender (for own_license)")
    lender.v_model = "micro_a"
    _select(rendered, "Finance strategy").v_model = "own_license"  # accepted now
    assert _select(rendered, "Finance strategy").v_model == "own_license"
    _select(rendered, "Licence lender (for own_license)").v_model = "(none)"  # refused: own_license needs one
    assert _select(rendered, "Licence lender (for own_license)").v_model == "micro_a"
    assert "community licence lender = (none)" in _texts_of_alerts(rendered)
    # side by side: a value B cannot take leaves "to" on B's value in force
    switch = rendered.find(ipyvuetify.Switch, label="Side by side (run B, same seed; restarts at day 0)").widget
    switch.v_model = True
    _select(rendered, "B changes, on platform").v_model = "entertainment"
    _select(rendered, "the setting").v_model = "strategy"
    before = _select(rendered, "to").v_model
    assert before != "own_license"
    _select(rendered, "to").v_model = "own_license"  # entertainment has no licence lender
    assert _select(rendered, "to").v_model == before
    assert "side-by-side refused" in _texts_of_alerts(rendered)


def test_picking_a_platform_in_the_controls_changes_no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Platform dropdown only chooses whose settings the panel shows (Lesson 2: "Pick platform video in the
    controls"). Each control's new value was echoed to its handler of the platform shown before, which set it there:
    picking video and then community restarted the run at day 0 with community's BNPL on, its ad policy restrict
    and video's strategy traffic_diversion, without a word. Now the run, its settings and the day are untouched,
    and the panel shows the picked platform's values."""
    solara = pytest.importorskip("solara")
    import ipyvuetify

    sessions: list[Session] = []
    monkeypatch.setattr(page, "_open", lambda path: sessions.append(Session(path)) or sessions[-1])
    _, rendered = solara.render(page.Page(), handle_error=False)
    (session,) = sessions
    rendered.find(ipyvuetify.Btn, class_="step-button").widget.click()
    assert session.day == 1
    shown = {"Finance strategy": "strategy", "Licence lender (for own_license)": "license_lender",
             "Intermediary ad policy": "ad_policy"}
    for name in ["video", "entertainment", "community", "video", "community"]:
        _select(rendered, "Platform").v_model = name
        assert session.settings == {} and session.error is None and session.day == 1, name
        for label, control in shown.items():
            assert _select(rendered, label).v_model == (session.value(control, name) or controls.NO_LENDER), label
        switch = rendered.find(ipyvuetify.Switch, label="BNPL at checkout").widget
        assert switch.v_model == session.value("bnpl", name)
        cap = rendered.find(ipyvuetify.TextField, label="Deposit cap (RMB)").widget
        assert cap.v_model == as_text(session.value("deposit_cap", name))


def test_a_value_being_typed_survives_a_redraw(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the run plays the page is redrawn a few times a second. What was typed in a field and not yet entered
    (the browser sends it as the field's v_model) was set back to the value in force by every redraw, so a teacher
    could not type a rate cap, a seed or a deposit cap without pausing first. It stays until Enter applies it."""
    solara = pytest.importorskip("solara")
    import ipyvuetify

    sessions: list[Session] = []
    monkeypatch.setattr(page, "_open", lambda path: sessions.append(Session(path)) or sessions[-1])
    _, rendered = solara.render(page.Page(), handle_error=False)
    (session,) = sessions

    def field(label: str) -> Any:
        return rendered.find(ipyvuetify.TextField, label=label).widget

    for label in ("Rate cap (per year, e.g. 0.24)", "Seed", "Deposit cap (RMB)"):
        field(label).v_model = "0.1"  # typed, not entered
        rendered.find(ipyvuetify.Btn, class_="step-button").widget.click()  # a redraw, as a play batch's
        assert session.day == 1 and field(label).v_model == "0.1", label
        session.rebuild()  # back to day 0 for the next field
        field(label).v_model = "0.24" if label.startswith("Rate") else "1" if label == "Seed" else "100"
    field("Rate cap (per year, e.g. 0.24)").fire_event("keyup.enter", {})
    assert session.value("rate_cap") == 0.24 and session.error is None  # typed back to the value in force: no change
    field("Seed").fire_event("keyup.enter", {})  # Enter applies what was typed
    assert session.value("seed") == 1 and field("Seed").v_model == "1"
    field("Deposit cap (RMB)").fire_event("focusout", {})  # and so does leaving the field
    assert session.value("deposit_cap", "community") == 100 and field("Deposit cap (RMB)").v_model == "100"
    field("Seed").v_model = "-1"
    field("Seed").fire_event("keyup.enter", {})  # refused: the field shows the value in force again
    assert "seed: -1 is out of range" in (session.error or "") and field("Seed").v_model == "1"


def _texts_of_alerts(rendered: Any) -> str:
    import ipyvuetify

    return " ".join(str(c) for w in rendered.find(ipyvuetify.Alert).widgets for c in w.children)


def test_a_refusal_names_the_control_changed_and_why(session: Session) -> None:
    """A rule between two controls blamed the one set earlier ("finance strategy" when the teacher cleared the
    licence lender), and 1e9 consumers was called "not a whole number" (the schema read it as a float)."""
    assert session.set("license_lender", "micro_a", "community") is None
    assert session.set("strategy", "own_license", "community") is None
    message = session.set("license_lender", None, "community")
    assert message is not None and message.startswith("community licence lender = (none): ")
    assert "own_license needs a licence lender; one of big_bank" in message
    message = session.set("consumers", "1e9")
    assert message is not None and message.startswith("number of consumers = 1000000000: ")
    assert "out of range" in message and "whole number" not in message
    assert "whole number" in (session.set("consumers", "2.5") or "")
    assert session.set("consumers", "4e3") is None and session.scenario.consumers.count == 4000


@pytest.mark.parametrize(("control", "typed", "count"), [
    ("consumers", "4000.0", 4000), ("consumers", "4000.", 4000), ("consumers", "+4.0e3", 4000),
    ("seed", "12345678901234567.0", 12345678901234567), ("days", "30.000", 30),
])
def test_a_whole_number_typed_with_a_decimal_point_is_taken(session: Session, control: str, typed: str,
                                                             count: int) -> None:
    """"5000.0" consumers was refused as "written as a decimal", though it is a whole count; a number that is not
    whole is still refused, in one line that says so (and the run is left alone)."""
    assert session.set(control, typed) is None and session.error is None
    assert session.value(control) == count and controls.shown(session, control) == str(count)
    before = session.runs[0].model
    message = session.set(control, "4000.5")
    assert message == f"{session.labels[session_module.key_of(control)]} = 4000.5: " \
        f"{session_module.GLOBAL_FIELDS[control]}: 4000.5 is not a whole number"
    assert session.runs[0].model is before and session.value(control) == count


def test_a_consumer_id_typed_with_a_decimal_point_is_followed() -> None:
    solara = pytest.importorskip("solara")
    import ipyvuetify

    session = Session()
    _, rendered = solara.render(page._Dashboard(session), handle_error=False)
    field = rendered.find(ipyvuetify.TextField, label="Consumer id").widget
    field.v_model = "12.0"
    field.fire_event("keyup.enter", {})
    assert session.follow_id == 12 and session.error is None
    field.v_model = "12.5"
    field.fire_event("keyup.enter", {})
    assert session.follow_id == 12 and session.error == "consumer id: '12.5' is not a whole number"


def test_a_value_already_in_force_typed_again_changes_nothing(session: Session) -> None:
    """Entering the value a control already has (as shown, or spelt otherwise) restarted the run at day 0 and
    cleared the events fired; the runs in progress now play on untouched."""
    assert session.set_compare(True, platform="video", setting="deposit_cap", value="0") is None
    session.step(5)
    assert session.fire("rate_cap", None, "0.2") is None
    runs, generation = list(session.runs), session.generation
    session.error = "an earlier refusal"
    for control, typed, platform in (("consumers", "5000", None), ("consumers", "5e3", None),
                                     ("rate_cap", ".240", None), ("days", "40.0", None),
                                     ("deposit_cap", "20000.0", "video"), ("strategy", "own_license", "video"),
                                     ("bnpl", True, "video")):
        assert session.set(control, typed, platform) is None, (control, typed)
    assert session.set_compare(True, value="0.0") is None and session.variant.value == "0.0"
    assert session.runs == runs and session.generation == generation and session.day == 5
    assert len(session.fired) == 1 and session.error is None  # the value typed was taken: no red line left
    assert session.set("consumers", "4000") is None and session.day == 0 and session.runs[0] is not runs[0]


def test_the_scenario_given_on_the_command_line_is_in_the_dropdown(tmp_path: Any) -> None:
    """A teacher's own file was not listed (the dropdown showed nothing) and, once another was chosen, could not
    be chosen again without restarting the server."""
    mine = tmp_path / "my_class.yaml"
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 90\n")
    s = Session(mine)
    assert next(iter(s.scenarios())) == "my_class.yaml" and "classroom.yaml" in s.scenarios()
    assert s.scenario_name == "my_class.yaml"
    assert s.choose_scenario("classroom.yaml") is None and s.scenario.days == 180
    assert s.scenario_name == "classroom.yaml" and "my_class.yaml" in s.scenarios()
    assert s.choose_scenario("my_class.yaml") is None and s.scenario.days == 90
    assert s.choose_scenario("nothing.yaml") is not None and s.scenario.days == 90
    solara = pytest.importorskip("solara")
    _, rendered = solara.render(controls.ScenarioControls(s, lambda action: action(), 0), handle_error=False)
    select = _select(rendered, "Scenario")
    assert select.v_model == "my_class.yaml" and select.items[0] == "my_class.yaml"


def test_the_followed_consumers_days_overdue_agree_with_their_loans() -> None:
    """The profile gave the age of the consumer's delinquency spell (40 days beside a loan table whose most was 10),
    and a written-off loan read "owed 0" though its claim was still owed. Here, after the crackdown scenario's year
    of warm-up, with loans written off and sold."""
    s = Session(LIBRARY / "restructurer_crackdown.yaml")
    assert s.set("consumers", 10_000) is None  # at Lesson 3's 5,000 no late borrower still owes on a claim
    s.step(1)
    model = s.runs[0].model
    book = model.credit.consumer
    late = np.unique(book.borrower[: book.n][book.dpd(np.arange(book.n), model.t) > 0])
    claims = 0
    for i in late:
        rows = follow.loans(model, int(i))
        owing = [r["dpd"] for r in rows if r["owed"] > 0]
        status = follow.profile(model, int(i))["status"]
        most = max(owing, default=0)
        assert status.startswith(f"{most} days overdue") if most else status == "current", (i, status, rows)
        assert follow.days_overdue(model, int(i)) == most
        for r in rows:
            if r["status"] in ("charged_off", "sold"):
                claims += r["owed"] > 0
    assert claims > 0  # written-off loans with something still owed on the claim are shown as owing it
    assert s.follow(int(late[0])) is None
    assert s.runs[0].follow[-1]["days_overdue"] == follow.days_overdue(model, int(late[0]))


def test_a_random_borrower_has_borrowed() -> None:
    """Before the first Step nobody has a loan (the warm-up has not run): the button said "borrower" and picked
    someone with none. It now says there is none yet; after a Step it picks among those with a loan."""
    s = Session()
    first = s.follow_id
    message = s.follow_random()
    assert message is not None and "nobody has borrowed yet" in message and s.follow_id == first
    s.step(1)
    for _ in range(5):
        assert s.follow_random() is None
        assert follow.loans(s.runs[0].model, s.follow_id)


@pytest.mark.parametrize("burn_in", [60, 0])
def test_no_random_borrower_says_what_is_true(tmp_path: Path, burn_in: int) -> None:
    """A market too small to lend (3 consumers): after the warm-up the message still said "press Step or Play"
    (the first loans are made in the warm-up), also on a finished run, where Step is disabled."""
    path = tmp_path / "tiny.yaml"
    path.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\nconsumers: {{count: 3}}\ndays: 20\n"
                    f"burn_in_days: {burn_in}\n")
    s = Session(path)
    warm_up = f"the unrecorded {burn_in}-day warm-up"
    first = f"are made in {warm_up}, which the first Step or Play runs" if burn_in else "can come on day 1"
    assert s.follow_random() == f"random borrower: nobody has borrowed yet; the first loans {first}"
    s.step(1)
    assert follow.random_borrower(s.runs[0].model, s.rng) is None  # nobody has a loan on this seed
    since = f" ({warm_up} included)" if burn_in else ""
    assert s.follow_random() == (f"random borrower: nobody has borrowed by day 1{since} in this market of 3 consumers;"
                                 " follow a consumer by id, or try again later in the run")
    s.step(19)
    assert s.finished and follow.random_borrower(s.runs[0].model, s.rng) is None
    message = s.follow_random()
    assert message is not None and message.startswith("random borrower: nobody borrowed in this run (20 days")
    assert "Step" not in message and "set more consumers or another seed" in message and s.error == message


def test_no_random_borrower_in_a_one_day_run_says_1_day(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\nconsumers: {{count: 3}}\ndays: 1\nburn_in_days: 0\n")
    s = Session(path)
    s.step(1)
    assert s.finished and follow.random_borrower(s.runs[0].model, s.rng) is None
    assert s.follow_random().startswith("random borrower: nobody borrowed in this run (1 day) in this market")


def test_run_b_the_same_as_run_a_is_pointed_out(session: Session) -> None:
    """Side by side with B's value already A's, the dashed lines hide under the solid ones: the page says so."""
    solara = pytest.importorskip("solara")
    assert session.set_compare(True, platform="video", setting="strategy", value="own_license") is None
    assert session.same_runs()
    _, rendered = solara.render(page._Body(session, False, lambda action: action(), 0), handle_error=False)
    assert any("Run B is the same as run A" in t for t in _texts(rendered))
    assert session.set_compare(True, value="none") is None and not session.same_runs()
    _, rendered = solara.render(page._Body(session, False, lambda action: action(), 0), handle_error=False)
    assert not any("Run B is the same as run A" in t for t in _texts(rendered))


def test_a_strategy_or_bnpl_that_changes_nothing_is_pointed_out(session: Session) -> None:
    """In the classroom market the community platform has no partner lenders and no cash loans, and the dashboard has
    no control for them: its strategy traffic_diversion (the first change the browser test makes) or BNPL at checkout
    gave the very run of strategy none, and side by side the dashed lines lay under the solid ones, with no word (a
    class concludes that diversion earns nothing). The page now says why they change nothing; the library's
    scenarios as they are get no such note."""
    solara = pytest.importorskip("solara")

    def notes() -> list[str]:
        _, rendered = solara.render(page._Body(session, False, lambda action: action(), 0), handle_error=False)
        return [t for t in _texts(rendered) if "changes nothing" in t]

    for name in session_module.library():
        assert session.choose_scenario(name) is None
        assert notes() == [], name
    assert session.choose_scenario("classroom.yaml") is None and session.set("days", 20) is None
    session.step(20)
    plain = session.runs[0].model.market_table()
    assert session.set("strategy", "traffic_diversion", "community") is None
    session.step(20)
    assert session.runs[0].model.market_table().equals(plain)  # what the note says: nothing changes
    (note,) = notes()
    assert note.startswith("community: traffic_diversion changes nothing here: community has no partner lenders")
    assert session.set("strategy", "none", "community") is None and session.set("bnpl", True, "community") is None
    session.step(20)
    assert session.runs[0].model.market_table().equals(plain)
    (note,) = notes()
    assert note.startswith("community: BNPL at checkout changes nothing under strategy none")
    assert session.set("bnpl", False, "community") is None and notes() == []
    assert session.set_compare(True, platform="community", setting="strategy", value="traffic_diversion") is None
    (note,) = notes()
    assert note.startswith("run B: community: traffic_diversion changes nothing here")


# --- events fired during a run ("Apply from tomorrow") ---------------------------------------------------------


def _cli_market(line: str, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run a command line the dashboard shows, as typed in the repository (`python run.py run ...`), and read the
    market.csv and platforms.csv it writes."""
    import run as cli

    argv = shlex.split(line)
    assert argv[:3] == ["python", "run.py", "run"], line
    assert cli.main([*argv[3:], "--out", str(out), "--quiet"]) == 0
    return pd.read_csv(out / "market.csv"), pd.read_csv(out / "platforms.csv")


def test_an_event_fired_mid_run_is_the_command_lines_scenario_event(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Firing an event on day d in the dashboard gives the run of the scenario with that event on day d: the command
    line the page shows (the file's own event included) writes the same market table, for run A and run B. The runs
    are not restarted, and the fired events change them from their day on (not before)."""
    mine = tmp_path / "my_class.yaml"
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\n"
                    "events:\n  - {day: 12, kind: ad_policy, target: video, value: allow}\n")
    s = Session(mine)
    assert s.set_compare(True) is None  # B: the video platform's strategy none
    s.step(8)
    models = [run.model for run in s.runs]
    assert s.fire("rate_cap", None, "0.15") is None  # cfc (20%) and the bank's riskier loans are priced out
    assert s.day == 8 and [run.model for run in s.runs] == models  # not restarted
    s.step(3)
    assert s.fire("strategy", "entertainment", "none") is None  # on day 12, after the file's own event of day 12
    assert s.fire("crackdown", "law_firm") is None
    s.step(40)
    assert s.finished and [run.model for run in s.runs] == models
    assert [(e.day, e.kind, e.target, e.value) for e in s.fired] == [
        (9, "rate_cap", None, 0.15), (12, "strategy", "entertainment", "none"), (12, "crackdown", "law_firm", None)]

    lines = s.command_lines()
    listed = ("'events=[{day: 12, kind: ad_policy, target: video, value: allow}, {day: 9, kind: rate_cap, "
              "value: 0.15}, {day: 12, kind: strategy, target: entertainment, value: none}, {day: 12, kind: "
              "crackdown, target: law_firm}]'")
    assert lines["A"] == f"python run.py run {mine} --days 40 --set {listed}"
    assert lines["B"] == (f"python run.py run {mine} --days 40 --set platforms.video.finance.strategy=none "
                          f"--set {listed}")
    monkeypatch.chdir(events.ROOT)
    for run in s.runs:
        market, platforms = _cli_market(lines[run.label], tmp_path / run.label)
        pd.testing.assert_frame_equal(market, run.model.market_table(), check_dtype=False)
        pd.testing.assert_frame_equal(platforms, run.model.platform_table().reset_index(drop=True), check_dtype=False)

    # the events did something, from their day on: the same scenario without them is the same run until day 8 (on
    # day 9 itself the two loans approved happen to be the same, at a lower rate: the tables differ from day 10)
    without_model = MarketModel(s.scenario).run()
    without, fired = without_model.market_table(), s.runs[0].model.market_table()
    same = (fired == without).all(axis=1)
    assert same[fired["day"] <= 8].all() and not same.all()
    # the cap binds from day 9: the run without it lends above 15% after day 8, the fired run never does
    assert _lent_above(s.runs[0].model, 0.15, from_day=9) == 0 < _lent_above(without_model, 0.15, from_day=9)


def _lent_above(model: MarketModel, apr: float, from_day: int) -> int:
    """Loans (consumers' and shops') a model started on a recorded day >= `from_day` at a yearly rate above `apr`."""
    count = 0
    for book in (model.credit.consumer, model.credit.merchant):
        day = book.start_day[: book.n] - model.scenario.burn_in_days + 1  # the book counts days from the burn-in
        count += int(((day >= from_day) & (book.apr[: book.n] > apr)).sum())
    return count


@pytest.mark.parametrize(("kind", "target", "value", "expected"), [
    ("rate_cap", None, "2", "events.0.value: rate_cap is a yearly rate between 0 and 1, got 2"),
    ("rate_cap", None, "abc", "rate_cap needs a number >= 0, got 'abc'"),
    ("rate_cap", None, "", "rate_cap needs a value, a number >= 0; none given"),  # was "got None"
    ("balance_limit", None, "1e13", "balance_limit needs a number <= 1e+12"),
    ("strategy", "community", "own_license", "own_license needs a licence lender, and community has none"),
    ("ad_policy", "video", "maybe", "'maybe' is not one of allow, restrict, ban"),
    ("crackdown", "nobody", None, "events.0.target: unknown name 'nobody' (known: debt_optimizer, law_firm)"),
])
def test_a_refused_event_changes_nothing(session: Session, kind: str, target: str | None, value: str | None,
                                         expected: str) -> None:
    """An event is checked by the scenario's own rules (the scenario with it appended): refused, it gets the usual
    one-line message naming the event, and the running models, their events and the day are as they were."""
    assert session.set_compare(True) is None
    session.step(4)
    models = [run.model for run in session.runs]
    scenarios = [run.model.scenario for run in session.runs]
    message = session.fire(kind, target, value)
    assert message is not None and message.startswith("event ") and " from day 5: " in message, message
    assert expected in message and "\n" not in message and session.error == message
    assert [run.model for run in session.runs] == models and [run.model.scenario for run in session.runs] == scenarios
    assert session.fired == [] and session.day == 4 and session.command_lines()["A"].endswith("--days 40")


def test_an_event_is_refused_once_the_file_has_changed(tmp_path: Path) -> None:
    """The command line shown runs the file as it is now: once the file is edited (or broken) after the runs started,
    an event is refused with a line saying so, and nothing is fired, in run A or run B."""
    mine = tmp_path / "my_class.yaml"
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\n")
    s = Session(mine)
    assert s.set_compare(True) is None
    s.step(3)
    for edited in ("days: 50\n", "days: [\n"):
        mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\n{edited}")
        message = s.fire("crackdown")
        assert message == f"event: {mine} has changed since run A started; press Reset to run the file as it is now"
        assert s.fired == [] and all(run.model.scenario.events == [] for run in s.runs)
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\n")  # as it was: the event is taken
    assert s.fire("crackdown") is None and [run.model.scenario.events for run in s.runs] == [s.fired, s.fired]


def test_reset_runs_the_file_as_it_is_now_in_both_runs(tmp_path: Path) -> None:
    """An edit to the teacher's file is taken up by Reset, as the refused event says: Reset rebuilt run A from the
    file as first read and run B from the file as edited (side by side they then differed by more than B's setting),
    and the event stayed refused after every Reset."""
    mine = tmp_path / "my_class.yaml"
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\n")
    s = Session(mine)
    assert s.set_compare(True, platform="video", setting="strategy", value="none") is None
    s.step(3)
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\nregulation: {{rate_cap: 0.2}}\n")
    assert s.fire("crackdown") is not None
    assert s.rebuild() is None  # Reset
    assert [run.model.scenario.regulation.rate_cap for run in s.runs] == [0.2, 0.2]
    assert s.value("rate_cap") == 0.2 and s.runs[1].model.scenario.platforms[1].finance.strategy == "none"
    s.step(3)
    assert s.fire("crackdown") is None and [run.model.scenario.events for run in s.runs] == [s.fired, s.fired]


def test_a_file_edited_beyond_what_the_page_plays_is_refused_by_every_rebuild(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumers limit holds for the file as edited after the app started: any control, side by side and Reset
    read the file again, and played it (a million consumers on a class laptop) whatever the limit. Each now says so
    in one line naming the file, and the runs in progress are left alone; a file that no longer loads, likewise."""
    mine = tmp_path / "my_class.yaml"
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\n")
    s = Session(mine)
    monkeypatch.setattr(session_module, "MAX_CONSUMERS", 5000)  # the file's own count: a bigger one is too big
    s.step(2)
    models = [run.model for run in s.runs]
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\nconsumers: {{count: 6000}}\n")
    refused = f"{mine}: consumers.count = 6000: 6000 is out of range for the live dashboard, which plays day by day; "
    for action in (lambda: s.set("rate_cap", "0.2"), lambda: s.set_compare(True), s.rebuild):
        message = action()
        assert message is not None and message.startswith(refused)
        assert [run.model for run in s.runs] == models and s.day == 2 and not s.compare
        assert s.scenario.consumers.count == 5000 and s.settings == {}
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: [\n")
    assert s.rebuild() is not None and [run.model for run in s.runs] == models
    mine.write_text(f"extends: {LIBRARY / 'classroom.yaml'}\ndays: 40\n")
    assert s.rebuild() is None and s.day == 0


def test_a_rebuild_clears_fired_events_and_a_finished_run_takes_none(session: Session) -> None:
    session.step(2)
    assert session.fire("ad_policy", "video", "ban") is None
    assert session.set("rate_cap", "lots") is not None  # refused: no rebuild, the fired event stays
    assert len(session.fired) == 1 and session.runs[0].model.scenario.events == session.fired
    assert session.set("seed", 3) is None  # any control change restarts at day 0 with the file's events only
    assert session.fired == [] and session.runs[0].model.scenario.events == [] and session.marks() == []
    assert session.fire("balance_limit", None, 3000) is None and session.fired[0].day == 1  # before day 1: day 1
    session.rebuild()  # Reset
    assert session.fired == []
    session.step(40)
    message = session.fire("crackdown")
    assert message is not None and message.startswith("event: the run has ended on day 40") and session.fired == []


@pytest.mark.parametrize("value", [0.1, 1e-05, 5000.0, 2, "none", "null", "true", "1,5", "a b", "{x}", "day: 3"])
def test_the_events_list_reads_back_as_written(value: object) -> None:
    """The command line's `events=[...]` is YAML in one line: every value reads back as the value it writes."""
    from sim.scenario_files import parse_yaml

    listed = [{"day": 3, "kind": "rate_cap", "value": value}, {"day": 4, "kind": "crackdown", "target": "law_firm"}]
    assert parse_yaml(events.flow(listed)) == listed


def test_the_charts_mark_the_events(session: Session) -> None:
    """Each time chart has a vertical line on the day of each event (fired ones red, the file's own grey), on a
    series left out of the legend; the revenue bars have none."""
    session.step(5)
    assert session.fire("rate_cap", None, "0.2") is None
    options = dict(charts.all_charts(session.runs, session.marks()))
    for key, option in options.items():
        marks = [s for s in option["series"] if s["name"] == charts.MARKS]
        if key == "revenue":
            assert marks == [] and "data" not in option["legend"]
            continue
        (mark,) = marks
        assert mark["data"] == [] and "events" not in option["legend"]["data"]
        assert [(m["xAxis"], m["label"]["formatter"], m["lineStyle"]["color"]) for m in mark["markLine"]["data"]] == \
            [(6, "day 6: rate cap 0.2", "#c00000")]
    s = Session(LIBRARY / "microlender_consolidation.yaml")  # its own events, grey
    assert [(m["day"], m["text"], m["fired"]) for m in s.marks()] == [
        (90, "rate cap 0.18", False), (180, "rate cap 0.15", False), (180, "balance limit 50000", False)]


def test_the_events_group_fires_from_the_page() -> None:
    """The Events controls: pick a kind, its target and value, press the button; the event is fired on the next day,
    listed with the command line; a refused one leaves the message and fires nothing."""
    solara = pytest.importorskip("solara")
    import ipyvuetify

    _, rendered = solara.render(page.Page(), handle_error=False)

    def button() -> Any:
        return rendered.find(ipyvuetify.Btn, class_="event-apply").widget

    assert _select(rendered, "Event").items == ["crackdown", "rate_cap", "ad_policy", "balance_limit", "strategy"]
    assert _select(rendered, "on intermediary").items == ["all", "debt_optimizer", "law_firm"]
    rendered.find(ipyvuetify.Btn, class_="step-button").widget.click()
    _select(rendered, "Event").v_model = "rate_cap"
    field = rendered.find(ipyvuetify.TextField, label="to (per year, e.g. 0.15)").widget
    assert field.v_model == "0.24"  # the cap in force, to edit
    field.v_model = "3"
    button().click()
    assert "event rate cap 3 from day 2: " in _texts_of_alerts(rendered)
    assert not rendered.find(ipyvuetify.Html, class_="event-command").widgets  # nothing fired: no list, no command
    rendered.find(ipyvuetify.TextField, label="to (per year, e.g. 0.15)").widget.v_model = "0.1"
    button().click()
    assert _texts_of_alerts(rendered) == ""
    _select(rendered, "Event").v_model = "strategy"
    assert _select(rendered, "on platform").items == ["all", "community", "video", "entertainment"]
    _select(rendered, "on platform").v_model = "entertainment"
    assert _select(rendered, "to").v_model == "none"
    button().click()
    assert "Events fired in this run" in " ".join(_texts(rendered))
    table = rendered.find(ipyvuetify.Html, class_="fired-table").widget.children[0].unsafe_innerHTML
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert cells == ["2", "rate_cap", "-", "0.1", "2", "strategy", "entertainment", "none"]
    (command,) = rendered.find(ipyvuetify.Html, class_="event-command").widgets
    assert command.children == ["python run.py run scenarios/classroom.yaml --days 180 --set 'events=[{day: 2, kind: "
                                "rate_cap, value: 0.1}, {day: 2, kind: strategy, target: entertainment, value: none}]'"]


def test_a_control_waiting_for_the_lock_ends_the_play_batch(session: Session) -> None:
    """The lock is not fair: a play batch taking it day after day kept a button pressed while playing (an event
    fired) waiting while the runs played on. A control waiting in `hold` ends the batch at the next day, and a
    batch started while one waits plays nothing."""
    step = session.step

    def a_control_starts_waiting_on_day_3(days: int = 1) -> int:
        done = step(days)
        if session.day == 3:
            session.waiting += 1  # as `hold` counts a thread blocked on the lock
        return done

    session.step = a_control_starts_waiting_on_day_3  # type: ignore[method-assign]
    assert session.play_batch(budget_s=60, max_days=20) == 3
    assert session.play_batch(budget_s=60, max_days=20) == 0 and session.day == 3
    session.waiting -= 1
    assert session.play_batch(budget_s=60, max_days=2) == 2

    class Probe:
        """The session's lock, noting how many wait in `hold` whenever it is acquired."""

        def __init__(self, lock: Any) -> None:
            self.lock, self.seen = lock, []

        def acquire(self) -> bool:
            self.seen.append(session.waiting)
            return self.lock.acquire()

        def release(self) -> None:
            self.lock.release()

    probe = Probe(session.lock)
    session.lock = probe  # type: ignore[assignment]
    with session.hold():
        assert session.waiting == 0  # counted only while waiting
    assert probe.seen == [1]


def test_the_play_thread_waits_for_the_page_to_draw_its_batch(session: Session) -> None:
    """`wait_drawn` holds the play thread until the page has drawn the runs as they are (a handler drawing the page
    in its own thread was marked out of date by every batch, and redrew forever); the page's body notes each
    drawing once it is committed."""
    solara = pytest.importorskip("solara")
    session.step(2)
    assert not session.wait_drawn(timeout=0)
    solara.render(page._Body(session, False, lambda action: action(), 0), handle_error=False)
    assert session.drawn == (session.generation, 2) and session.wait_drawn(timeout=0)
    session.step(1)
    assert not session.wait_drawn(timeout=0)


def test_a_page_load_leaves_no_warning_in_the_server_log(tmp_path: Path) -> None:
    """Every page load (a tab opened or reloaded) printed Solara's 12-line UserWarning on cookies, https and iframes
    to the terminal the teacher started the app in: the app serves http on 127.0.0.1, where Solara's fallback to a
    `samesite=lax` cookie is the right one. The log says nothing on a page load."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from sim.app.server import free_port
    from tests.test_reliability import ctrl_c_at_default, reap

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    err = tmp_path / "stderr.txt"
    with err.open("w") as stderr:
        app = subprocess.Popen([sys.executable, "run.py", "app", "--port", str(port)], cwd=LIBRARY.parent,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.DEVNULL,
                               stderr=stderr, preexec_fn=ctrl_c_at_default)
    try:
        deadline, loads = time.monotonic() + 90, 0
        while loads < 2:  # the first page load, then a reload
            assert app.poll() is None and time.monotonic() < deadline, err.read_text()[-2000:]
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    loads += response.status == 200 and b"solara" in response.read().lower()
            except OSError:
                time.sleep(0.2)  # poll interval while the server starts, not a fixed wait
        app.send_signal(signal.SIGINT)
        assert app.wait(timeout=30) == 0
    finally:
        reap(app)
    said = err.read_text()
    assert "Warning" not in said and "samesite" not in said, said[-2000:]
