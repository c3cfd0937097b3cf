"""The public API promised by the market-model issue."""

from __future__ import annotations

import gc
import inspect
import json
import subprocess
import sys
import weakref
from pathlib import Path

import mesa
import pandas as pd
import pytest

from sim import MarketModel, Scenario
from sim.metrics import MARKET_COLUMNS
from sim.scenario import Event
from sim.scenario_files import ScenarioError, load
from tests.conftest import small_scenario

REQUIRED = [
    "day", "active_consumers", "orders", "gmv", "bnpl_orders", "bnpl_uptake", "loans_originated",
    "amount_originated", "outstanding_principal", "dpd1_30_share", "dpd31_90_share", "dpd90p_share",
    "charged_off_principal", "recoveries", "restructurer_clients", "platform_revenue",
    "platform_finance_revenue", "active_lenders", "active_merchants", "deposits_held",
]
ROOT = Path(__file__).resolve().parents[1]


def test_default_scenario_is_the_baseline_market() -> None:
    s = Scenario()
    assert [p.name for p in s.platforms] == ["community", "video", "entertainment"]
    assert [p.finance.strategy for p in s.platforms] == ["none", "own_license", "traffic_diversion"]
    assert s.consumers.count == 100_000 and 1000 <= s.merchants.count <= 9999
    assert len(s.lenders) == 6 and len(s.restructurers) == 2 and s.days == 365
    assert s.platforms[0].deposit.cap == 20_000


def test_done_when_command_prints_the_daily_columns() -> None:
    code = ("from sim import MarketModel; m = MarketModel(rng=1); m.run(60); "
            "print(m.datacollector.get_model_vars_dataframe().tail())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"COLUMNS": "10000", "PATH": "/usr/bin:/bin"})
    header = out.stdout.splitlines()[0].split()
    for column in REQUIRED:
        assert column in header


def test_model_table_has_a_row_a_day_and_every_column(baseline_small: MarketModel) -> None:
    df = baseline_small.datacollector.get_model_vars_dataframe()
    assert list(df.columns) == list(MARKET_COLUMNS)
    assert set(REQUIRED) <= set(df.columns)
    assert df["day"].tolist() == list(range(1, baseline_small.scenario.days + 1))
    assert df.notna().all().all()


def test_few_actors_are_mesa_agents_in_agentsets(baseline_small: MarketModel) -> None:
    m = baseline_small
    for agentset, n in ((m.platforms, 3), (m.lenders, 6), (m.restructurers, 2)):
        assert len(agentset) == n
        assert all(isinstance(a, mesa.Agent) for a in agentset)
    assert {p.name for p in m.platforms} == {"community", "video", "entertainment"}


def test_a_finished_model_is_freed_and_each_model_numbers_its_agents_from_1() -> None:
    """Mesa 3.3 kept every model that made an agent for the life of the process (mesa#3179): workers of sweeps,
    validation and facts, which run hundreds of models, grew to gigabytes. Numbering is still per model."""
    first, second = (MarketModel(small_scenario(), rng=seed).run(3) for seed in (1, 2))
    assert sorted(a.unique_id for a in first.agents) == sorted(a.unique_id for a in second.agents)
    assert min(a.unique_id for a in second.agents) == 1
    freed = weakref.ref(first)
    del first
    gc.collect()
    assert freed() is None


def test_populations_have_length_and_a_read_only_view(baseline_small: MarketModel) -> None:
    m = baseline_small
    assert len(m.consumers) == 6000
    assert len(m.merchants) >= 240
    one = m.consumers[5]
    assert one["id"] == 5 and "income" in one and "cash" in one and "risk" in one
    with pytest.raises(TypeError):
        one["income"] = 0  # type: ignore[index]
    shop = m.merchants[0]
    assert {"platform", "deposit", "pending", "cash"} <= set(shop)
    with pytest.raises(IndexError):
        m.consumers[len(m.consumers)]


def test_platform_and_lender_tables_are_tidy(baseline_small: MarketModel) -> None:
    m = baseline_small
    platforms, lenders = m.platform_table(), m.lender_table()
    assert len(platforms) == 3 * m.scenario.days and len(lenders) == 6 * m.scenario.days
    assert {"day", "name", "revenue", "finance_revenue"} <= set(platforms.columns)
    assert {"day", "name", "equity", "book", "write_offs"} <= set(lenders.columns)


def test_tables_before_the_first_recorded_day_are_empty_with_their_columns() -> None:
    m = MarketModel(Scenario(days=5, burn_in_days=3, consumers={"count": 300}, merchants={"count": 10}), rng=1)
    ran = MarketModel(m.scenario, rng=1).run(1)
    for burnt_in in (False, True):  # built, then with the burn-in run: no recorded day yet either way
        if burnt_in:
            m.burn_in()
        for table, after in ((m.platform_table(), ran.platform_table()), (m.lender_table(), ran.lender_table())):
            assert len(table) == 0  # Mesa's own table here is two rows of NaN, with Step and AgentID columns
            assert list(table.columns) == list(after.columns)


def test_a_scenario_changed_after_the_model_is_built_changes_neither_its_run_nor_its_report() -> None:
    """A notebook loop that builds one model per variant by changing one Scenario object: each model keeps the
    scenario it was built with (the run read some parts at build time and others daily, mixing two variants)."""
    def scenario() -> Scenario:
        return Scenario(consumers={"count": 1000}, merchants={"count": 40}, days=30, burn_in_days=30)

    shared = scenario()
    built = MarketModel(shared, rng=1)
    shared.platforms[2].finance.cash_loans = False  # the next variant
    shared.days = 10
    built.run()
    expected = MarketModel(scenario(), rng=1).run()
    assert built.scenario == expected.scenario and built.scenario.platforms[2].finance.cash_loans
    pd.testing.assert_frame_equal(built.market_table(), expected.market_table())


def test_run_defaults_to_the_scenario_horizon_and_continues() -> None:
    m = MarketModel(Scenario(days=20, burn_in_days=5, consumers={"count": 500}, merchants={"count": 20}), rng=3)
    m.run()
    assert len(m.market_table()) == 20
    m.run(5)
    assert m.market_table()["day"].iloc[-1] == 25
    # days already stepped count toward the horizon (run() used to run the whole horizon again after them)
    stepped = MarketModel(Scenario(days=20, burn_in_days=5, consumers={"count": 500}, merchants={"count": 20}), rng=3)
    stepped.step()
    stepped.step()
    stepped.run()
    assert len(stepped.market_table()) == 20 and not stepped.running
    assert stepped.market_table().equals(MarketModel(stepped.scenario, rng=3).run().market_table())


def test_flat_parameters_and_mesa_batch_run() -> None:
    m = MarketModel(consumers=800, merchants=30, days=12, burn_in_days=4, rate_cap=0.15, video_deposit_cap=0.0,
                    rng=2)
    assert m.scenario.consumers.count == 800 and m.regulation.rate_cap == 0.15
    assert m.scenario.platforms[1].deposit.cap == 0.0
    with pytest.raises(ValueError, match="unknown parameter"):
        MarketModel(not_a_parameter=1)
    # Mesa 3.5 seeds runs with `rng=[...]`; Mesa 3.3 only knows `iterations`.
    seeding = {"rng": [1]} if "rng" in inspect.signature(mesa.batch_run).parameters else {"iterations": 1}
    results = mesa.batch_run(MarketModel, parameters={"consumers": 600, "merchants": 25, "days": 10,
                                                      "burn_in_days": 3, "rate_cap": [0.12, 0.24]},
                             max_steps=50, number_processes=1, display_progress=False, **seeding)
    assert len({row["RunId"] for row in results}) == 2  # Mesa 3.5 adds a row per platform and lender
    assert {row["rate_cap"] for row in results} == {0.12, 0.24}
    assert all(row["day"] == 10 for row in results)


def test_mesa_batch_run_gives_every_recorded_day_once() -> None:
    """Each run's rows are its recorded days 1..N, each once, on every supported Mesa: Mesa 3.4's batch_run
    reads steps 0..N-1 (mesa#2514), which repeated day 1 and lost day N until the collector keyed days for it."""
    parameters = {"consumers": 500, "merchants": 20, "days": 6, "burn_in_days": 2, "seed": 4}
    seeding = {"rng": [1]} if "rng" in inspect.signature(mesa.batch_run).parameters else {"iterations": 1}
    results = mesa.batch_run(MarketModel, parameters=parameters, max_steps=50, number_processes=1,
                             display_progress=False, data_collection_period=1, **seeding)
    # Mesa 3.4+ adds a row per platform and lender to each step's row
    assert sorted(day for _, day in {(row["Step"], row["day"]) for row in results}) == [1, 2, 3, 4, 5, 6]
    alone = MarketModel(**parameters, **{key: seeds[0] for key, seeds in seeding.items() if key == "rng"})
    market = alone.run().market_table()
    assert {row["day"]: row["orders"] for row in results} == dict(zip(market["day"], market["orders"], strict=True))



def test_the_seed_given_is_the_seed_reported() -> None:
    """A NumPy integer seeds the run as the same int does, and the outputs name it (they named the scenario's
    seed, 0); a SeedSequence, which no integer names, is reported as None."""
    import numpy as np

    from sim.results import summarize

    small = Scenario(consumers={"count": 300}, merchants={"count": 10}, days=5, burn_in_days=0)
    as_int, as_numpy = MarketModel(small, rng=5).run(), MarketModel(small, rng=np.int64(5)).run()
    assert as_numpy.market_table().equals(as_int.market_table())
    assert summarize(as_numpy)["seed"] == summarize(as_int)["seed"] == as_numpy.scenario.seed == 5
    assert small.seed == 0  # the caller's scenario is left alone
    assert summarize(MarketModel(small, rng=np.random.SeedSequence(5)).run())["seed"] is None


# --- events added during a run (MarketModel.add_event) ------------------------------------------------------------


def _classroom(days: int = 40, events: list[dict] | None = None) -> Scenario:
    """The classroom market, short, with the events given (as a file's `events:` would hold them)."""
    overrides = [f"days={days}", *([f"events={json.dumps(events)}"] if events is not None else [])]
    return load(str(ROOT / "scenarios" / "classroom.yaml"), overrides).scenario


def _tables(m: MarketModel) -> list:
    return [m.market_table(), m.platform_table(), m.lender_table()]


def test_an_event_added_mid_run_gives_the_run_of_the_scenario_with_it_in_its_file() -> None:
    """Run A has the events in its file from the start; run B has only the file's own event, is run to day 11, gets
    the others with `add_event` (two on day 12, where the file has one: they apply after it, so the last rate cap
    wins as in the file's list) and one on day 20 between steps, and runs on: the three tables are identical."""
    own = [{"day": 12, "kind": "rate_cap", "value": 0.2}]
    added = [{"day": 12, "kind": "rate_cap", "value": 0.1}, {"day": 12, "kind": "crackdown", "target": "law_firm"},
             {"day": 20, "kind": "strategy", "target": "entertainment", "value": "none"}]
    a = MarketModel(_classroom(events=[*own, *added]), rng=3).run()
    b = MarketModel(_classroom(events=own), rng=3)
    b.run(11)
    assert [b.add_event(e) for e in added[:2]] == a.scenario.events[1:3]
    b.run(5)
    assert b.add_event(Event(**added[2])) == a.scenario.events[3]  # an Event is taken as well as a mapping
    b.run()
    assert b.scenario == a.scenario
    for table_a, table_b in zip(_tables(a), _tables(b), strict=True):
        pd.testing.assert_frame_equal(table_a, table_b)
    # the added events did something from day 12 on: without them the run is the same until day 11 only
    without = MarketModel(_classroom(events=own), rng=3).run().market_table()
    same = (a.market_table() == without).all(axis=1)
    assert same[without["day"] <= 11].all() and not same[without["day"] >= 12].all()
    strategy = a.platform_table().query("name == 'entertainment'").set_index("day")["strategy"]
    assert strategy[19] == "traffic_diversion" and strategy[20] == "none"


@pytest.mark.parametrize(("event", "expected"), [
    ({"day": 3, "kind": "crackdown"}, "add_event: events.0.day: 3 is not in the future of this run (day 5 has run); "
                                      "allowed: 6 to 40"),
    ({"day": 5, "kind": "crackdown"}, "add_event: events.0.day: 5 is not in the future of this run (day 5 has run); "
                                      "allowed: 6 to 40"),  # day 5 has run: its events were applied as it began
    ({"day": 41, "kind": "crackdown"}, "add_event: events.0.day: 41 is after the last recorded day, so it would "
                                       "never happen; allowed: 1 to days (40)"),
    ({"day": 0, "kind": "crackdown"}, "add_event: events.0.day: 0 is out of range; allowed: >= 1"),
    ({"day": 8, "kind": "rate_cap", "value": 2}, "add_event: events.0.value: rate_cap is a yearly rate between 0 "
                                                 "and 1, got 2"),
    ({"day": 8, "kind": "strategy", "target": "community", "value": "own_license"},
     "add_event: events.0.value: own_license needs a licence lender, and community has none"),
    ({"day": 8, "kind": "crackdown", "target": "nobody"}, "add_event: events.0.target: unknown name 'nobody' (known: "
                                                          "debt_optimizer, law_firm)"),
    ({"day": 8, "kind": "crackdwn"}, "add_event: events.0.kind: 'crackdwn' is not allowed (did you mean "
                                     "'crackdown'?)"),
    ({"day": 8, "kind": "crackdown", "when": 3}, "add_event: events.0.when: unknown key"),
    ("crackdown on day 8", "add_event: events.0: 'crackdown on day 8' is not a mapping of keys"),
])
def test_an_event_the_scenario_would_refuse_is_refused_and_changes_nothing(event: object, expected: str) -> None:
    """`add_event` refuses what the schema refuses in a file, and a day that has run, with one line naming the key
    and what is allowed; the model's scenario and its run are as they were."""
    m = MarketModel(_classroom(), rng=3)
    m.run(5)
    before = m.scenario
    with pytest.raises(ScenarioError) as refused:
        m.add_event(event)  # type: ignore[arg-type]
    assert str(refused.value).startswith(expected) and "\n" not in str(refused.value)
    assert m.scenario is before and m.scenario.events == []
    m.run()
    pd.testing.assert_frame_equal(m.market_table(), MarketModel(_classroom(), rng=3).run().market_table())


def test_events_can_be_added_before_day_1_and_not_after_the_last() -> None:
    m = MarketModel(_classroom(days=10), rng=1)
    assert m.check_event({"day": 1, "kind": "balance_limit", "value": 3000}).day == 1 and m.scenario.events == []
    m.burn_in()  # the unrecorded warm-up done, day 1 not yet: day 1 is still to come
    assert m.add_event({"day": 1, "kind": "balance_limit", "value": 3000}).value == 3000
    m.run()
    with pytest.raises(ScenarioError, match=r"^add_event: events\.1\.day: 10: the run has ended \(day 10 was its "
                                            r"last recorded day\), so no day is left for an event$"):
        m.add_event({"day": 10, "kind": "crackdown"})



# --- bad input from Python: one line naming the argument or key and what is allowed ------------------------------

TINY = {"consumers": {"count": 300}, "merchants": {"count": 10}, "days": 3, "burn_in_days": 1}


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message and "pydantic" not in message, message
    return message


@pytest.mark.parametrize(("days", "kind", "expected"), [
    (-5, ValueError, "run: days -5 is out of range; allowed: >= 1"),
    (0, ValueError, "run: days 0 is out of range; allowed: >= 1"),
    (2.5, TypeError, "run: days 2.5 is not a whole number; allowed: a whole number >= 1"),
    ("10", TypeError, "run: days '10' is not a whole number"),
    (True, TypeError, "run: days True is not a whole number"),
])
def test_run_refuses_days_that_are_not_a_whole_number_of_at_least_1_and_runs_nothing(
        days: object, kind: type[Exception], expected: str) -> None:
    """`run(2.5)` ran 2 days, `run('10')` 10, `run(True)` 1, and `run(-5)` or `run(0)` nothing, all silently. 0 is
    refused too: `run` runs the burn-in before its days, so `run(0)` could mean either; `burn_in()` says which."""
    m = MarketModel(Scenario(**TINY), rng=1)
    with pytest.raises(kind) as refused:
        m.run(days)  # type: ignore[arg-type]
    assert _one_line(refused.value).startswith(expected)
    assert m.t == 0 and len(m.market_table()) == 0


def test_run_takes_a_numpy_integer_and_may_go_past_the_horizon() -> None:
    import numpy as np

    m = MarketModel(Scenario(**TINY), rng=1).run(np.int64(5))
    assert m.market_table()["day"].tolist() == [1, 2, 3, 4, 5] and not m.running


@pytest.mark.parametrize(("keys", "file_text", "expected"), [
    ({"regulation": {"ratecap": 0.1}}, "regulation: {ratecap: 0.1}",
     "regulation.ratecap: unknown key (did you mean 'rate_cap'?)"),
    ({"foo": 1}, "foo: 1", "foo: unknown key; allowed keys: name, description, seed, days"),
    ({"consumers": {"count": 20000.0}}, "consumers: {count: 20000.0}",
     "consumers.count: 20000.0 is written as a decimal (with a point or an exponent); write a whole number: 20000"),
    ({"days": 0}, "days: 0", "days: 0 is out of range; allowed: >= 1 and <= 3650"),
    ({"platforms": [{"name": "a"}, {"name": "a"}]}, None, "platforms: duplicate name 'a'"),
])
def test_a_scenario_built_in_python_is_refused_in_the_one_line_a_file_gets(
        tmp_path: Path, keys: dict, file_text: str | None, expected: str) -> None:
    """`Scenario(...)` gave pydantic's several lines with a URL where a file with the same mistake gets one line:
    now the same line, `Scenario(...)` in place of the file name, as a `ScenarioError` (a ValueError, as pydantic's
    error was) importable from `sim`; the file's own message is unchanged (it names the file)."""
    import sim

    with pytest.raises(sim.ScenarioError) as refused:
        Scenario(**keys)
    assert isinstance(refused.value, ValueError)
    assert _one_line(refused.value).startswith(f"Scenario(...): {expected}")
    if file_text is not None:
        path = tmp_path / "bad.yaml"
        path.write_text(file_text + "\n", encoding="utf-8")
        with pytest.raises(ScenarioError) as in_file:
            load(str(path))
        assert str(in_file.value) == f"{path}: " + str(refused.value).removeprefix("Scenario(...): ")


def test_a_python_message_shows_the_fix_as_python_writes_it() -> None:
    with pytest.raises(ScenarioError, match=r"^Scenario\(\.\.\.\): consumers is a section, not a value; did you "
                                            r"mean consumers=\{'count': 20000\}\?$"):
        Scenario(consumers=20000)
    with pytest.raises(ScenarioError, match=r"^MarketModel\(scenario\): consumers is a section, not a value; did you "
                                            r"mean 'consumers': \{'count': 20000\}\?$"):
        MarketModel({"consumers": 20000})


@pytest.mark.parametrize(("params", "expected"), [
    ({"rate_cap": "x"}, "MarketModel(rate_cap='x'): regulation.rate_cap: 'x' is not a number"),
    ({"consumers": 20000.0}, "MarketModel(consumers=20000.0): consumers.count: 20000.0 is written as a decimal"),
    ({"video_deposit_cap": -1}, "MarketModel(video_deposit_cap=-1): platforms.video.deposit.cap: -1 is out of "
                                "range; allowed: >= 0"),
    ({"rate_capp": 0.1}, "MarketModel: unknown parameter 'rate_capp' (did you mean 'rate_cap'?)"),
])
def test_a_flat_parameter_the_schema_refuses_is_named_in_one_line(params: dict, expected: str) -> None:
    with pytest.raises(ValueError) as refused:
        MarketModel(**params)
    assert _one_line(refused.value).startswith(expected)


def test_a_model_takes_a_scenario_files_path_or_a_mapping_of_its_keys() -> None:
    """`compare_scenarios` takes paths, so `MarketModel("scenarios/baseline.yaml")` was tried: an AttributeError
    ('str' object has no attribute 'model_copy'), as was a mapping."""
    path = ROOT / "scenarios" / "classroom.yaml"
    for given in (str(path), path):
        assert MarketModel(given, rng=1).scenario == load(str(path)).scenario.model_copy(update={"seed": 1})
    assert MarketModel(TINY, rng=1).scenario == Scenario(**TINY).model_copy(update={"seed": 1})
    with pytest.raises(ScenarioError, match=r"^scenarios/nowhere\.yaml: file not found$"):
        MarketModel("scenarios/nowhere.yaml")
    with pytest.raises(ScenarioError) as refused:
        MarketModel({"regulation": {"ratecap": 0.1}})
    assert _one_line(refused.value) == "MarketModel(scenario): regulation.ratecap: unknown key (did you mean " \
                                       "'rate_cap'?)"
    with pytest.raises(TypeError) as refused:
        MarketModel(5)  # type: ignore[arg-type]
    assert _one_line(refused.value) == "MarketModel(scenario): 5 is not a scenario; allowed: a Scenario, a scenario " \
                                       "file's path or a mapping of a scenario's keys"


@pytest.mark.parametrize(("rng", "kind", "expected"), [
    ("abc", TypeError, "MarketModel: rng 'abc' is not a whole number; allowed: a whole number >= 0, a "
                       "numpy.random.SeedSequence, or None (the scenario's seed)"),
    (-1, ValueError, "MarketModel: rng -1 is out of range; allowed: a whole number >= 0"),
    (2.0, TypeError, "MarketModel: rng 2.0 is not a whole number"),
    (True, TypeError, "MarketModel: rng True is not a whole number"),
])
def test_a_seed_that_is_not_a_whole_number_of_at_least_0_is_refused_naming_rng(
        rng: object, kind: type[Exception], expected: str) -> None:
    """NumPy's SeedSequence said why it could not use 'abc' or -1 without naming `rng`."""
    with pytest.raises(kind) as refused:
        MarketModel(Scenario(**TINY), rng=rng)  # type: ignore[arg-type]
    assert _one_line(refused.value).startswith(expected)


@pytest.mark.parametrize(("scenarios", "seeds", "kind", "expected"), [
    ({"a": {"consumers": 300}}, 2, ScenarioError,
     "compare_scenarios(scenarios['a']): consumers is a section, not a value; did you mean 'consumers': "
     "{'count': 300}?"),
    ([TINY, 5], 2, TypeError, "compare_scenarios(scenarios[1]): 5 is not a scenario; allowed: a Scenario, a "
                              "scenario file's path or a mapping of a scenario's keys"),
    ({"consumers": {"count": 300}}, 2, TypeError, "compare_scenarios: scenarios has a scenario's own keys "
                                                  "(consumers), not labels; allowed: a list of scenarios or a mapping "
                                                  "of label -> scenario"),
    ("scenarios/classroom.yaml", 2, TypeError, "compare_scenarios: scenarios is one scenario "
                                               "('scenarios/classroom.yaml'); allowed: a list of scenarios"),
    ([TINY], "3", TypeError, "compare_scenarios: seeds '3' is not a whole number; allowed: a whole number >= 1 (the "
                             "runs use seeds 1..seeds)"),
    ([TINY], [3, 4], TypeError, "compare_scenarios: seeds [3, 4] is not a whole number"),
    ([TINY], True, TypeError, "compare_scenarios: seeds True is not a whole number"),
    ([TINY], 0, ValueError, "compare_scenarios: seeds 0 is out of range; allowed: >= 1"),
])
def test_compare_scenarios_refuses_what_it_cannot_compare_naming_the_argument(
        scenarios: object, seeds: object, kind: type[Exception], expected: str) -> None:
    """A mapping given as a scenario was taken for a file name ("{'consumers': ...}: file not found"), and
    `seeds='3'` or `seeds=[3, 4]` ended in "'<' not supported"."""
    from sim import compare_scenarios

    with pytest.raises(kind) as refused:
        compare_scenarios(scenarios, seeds=seeds)  # type: ignore[arg-type]
    assert _one_line(refused.value).startswith(expected)


def test_compare_scenarios_takes_a_mapping_of_a_scenarios_keys_as_a_model_does() -> None:
    import numpy as np

    from sim import compare_scenarios

    as_keys = compare_scenarios({"a": TINY}, seeds=np.int64(2))
    assert as_keys.runs.equals(compare_scenarios({"a": Scenario(**TINY)}, seeds=2).runs)
    assert as_keys.runs["seed"].tolist() == [1, 2]


@pytest.mark.parametrize(("index", "kind", "expected"), [
    ("a", TypeError, "Consumers index 'a' is not a whole number; allowed: 0..299 (negative counts from the end)"),
    (slice(0, 3), TypeError, "Consumers index slice(0, 3, None) is not a whole number; allowed: 0..299 (negative "
                             "counts from the end); for several at once, index a column, e.g. consumers."),
    (2.0, TypeError, "Consumers index 2.0 is not a whole number; allowed: 0..299"),
    (True, TypeError, "Consumers index True is not a whole number"),
    (300, IndexError, "Consumers index 300 is out of range; allowed: 0..299 (negative counts from the end)"),
    (-301, IndexError, "Consumers index -301 is out of range"),
])
def test_a_population_index_is_a_whole_number_in_range(index: object, kind: type[Exception], expected: str) -> None:
    """`consumers['a']`, `consumers[0:3]` and `consumers[2.0]` failed inside the comparison with the range, with
    messages about comparing str and int or slice; a NumPy integer is an index as an int is."""
    import numpy as np

    m = MarketModel(Scenario(**TINY), rng=1)
    with pytest.raises(kind) as refused:
        m.consumers[index]  # type: ignore[index]
    assert _one_line(refused.value).startswith(expected)
    assert m.consumers[np.int64(7)] == m.consumers[7] and m.consumers[-1]["id"] == 299
