"""Sweep files: the shipped ones load; bad ones stop with one line naming file, key, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

import run
from sim.sweep import design
from sim.sweep.plan import load_sweep, value_text
from sim.sweep.spec import SweepError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
CLASSROOM = ROOT / "scenarios" / "classroom.yaml"
GOOD = f"""\
base: {CLASSROOM}
design: grid
parameters:
  regulation.rate_cap: {{values: [0.15, 0.24]}}
replications: 2
"""


def test_shipped_sweep_files_load_and_lay_out_runs() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"licensing_x_deposit_cap", "restructurer_ads_x_rate_cap", "behaviour_sobol"} <= names
    for path in SHIPPED:
        plan = load_sweep(str(path))
        assert plan.runs and plan.kpis and plan.sweep.base == "../classroom.yaml"
    sobol = load_sweep(str(ROOT / "scenarios" / "sweeps" / "behaviour_sobol.yaml"))
    assert len(sobol.parameters) == 6 and len(sobol.points) == 64 * 8 and len(sobol.runs) == 1024


def test_seeds_come_from_one_master_seed_and_points_are_reproducible(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("design: grid", "design: lhs\nsamples: 5\nseed: 9").replace(
        "{values: [0.15, 0.24]}", "{low: 0.1, high: 0.3}"))
    a, b = load_sweep(str(path)), load_sweep(str(path))
    assert a.seeds == b.seeds and len(set(a.seeds)) == 2 and [r.id for r in a.runs] == [r.id for r in b.runs]
    assert a.seeds == design.seeds(a.sweep)
    assert all(0.1 <= p["regulation.rate_cap"] <= 0.3 for p in a.points)
    assert sorted(int((p["regulation.rate_cap"] - 0.1) / 0.04) for p in a.points) == [0, 1, 2, 3, 4]  # strata


@pytest.mark.parametrize("value", [1e-05, 0.1, 2.5e10, 3, True, "own_license", None])
def test_values_survive_the_override_text(value: object) -> None:
    import yaml

    assert yaml.safe_load(value_text(value)) == value


BAD = [
    ("replicatons: 2\n", "replicatons: unknown key (did you mean 'replications'?)"),
    ("design: sobel\n", "design: 'sobel' is not allowed (did you mean 'sobol'?); allowed: grid, lhs, sobol, morris"),
    ("replications: 0\n", "replications: 0 is out of range; allowed: >= 1"),
    ("parameters:\n  consumers.shok_rate: {values: [0.001]}\n",
     "parameters.consumers.shok_rate: consumers.shok_rate: unknown key (did you mean 'shock_rate'?)"),
    ("parameters:\n  consumers.shock_rate: {values: [0.001, 0.5]}\n",
     "parameters.consumers.shock_rate: consumers.shock_rate: 0.5 is out of range; allowed: >= 0 and <= 0.2"),
    ("parameters:\n  platforms.comunity.deposit.cap: {values: [0]}\n",
     "unknown platform 'comunity' (did you mean 'community'?)"),
    ("parameters:\n  platforms.video.restructurer_ad_policy: {values: [alow]}\n",
     "'alow' is not allowed (did you mean 'allow'?); allowed: allow, restrict, ban"),
    ("parameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3}\n",
     "parameters.regulation.rate_cap: design grid needs values (a list), not a distribution"),
    ("parameters:\n  regulation.rate_cap: {low: 0.3, high: 0.1}\n", "parameters.regulation.rate_cap.low: 0.3 must "
     "be below high (0.1)"),
    ("parameters:\n  regulation.rate_cap: {values: [0.1], sd: 2}\n", "give either values or a distribution"),
    ("parameters:\n  regulation.rate_cap: {values: [0.1], dist: gauss}\n",
     "parameters.regulation.rate_cap.dist: 'gauss' is not allowed; allowed: uniform, log_uniform, normal"),
    ("parameters:\n  seed: {values: [1, 2]}\n", "parameters.seed: cannot be varied"),
    # every run's seed replaces the base scenario's: a seed in `set` changed nothing but the run ids
    ("set: {seed: 99}\n", "set.seed: cannot be set in a sweep; seeds come from replications and seed"),
    ("parameters:\n  platforms.community.finance: {values: [{strategy: none}]}\n",
     "labels: required when values are mappings or lists"),
    ("parameters: {}\n", "parameters: a mapping is empty; at least 1 expected"),
    ("design: sobol\n", "samples: design sobol needs samples (N)"),
    ("samples: 8\n", "samples: only for lhs, sobol and morris"),
    ("second_order: true\n", "second_order: only for sobol (second-order indices); design grid has none"),
    ("design: lhs\nsamples: 4\nsecond_order: true\nparameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3}\n",
     "second_order: only for sobol (second-order indices); design lhs has none"),
    ("levels: 4\n", "levels: only for morris (its grid levels); design grid has none"),
    ("design: lhs\nsamples: 4\nparameters:\n  platforms.video.restructurer_ad_policy: {low: 0, high: 1}\n",
     "parameters.platforms.video.restructurer_ad_policy: platforms.video.restructurer_ad_policy is a choice, not a "
     "number: give `values: [allow, restrict, ban]` instead of low/high"),
    ("design: lhs\nsamples: 4\nparameters:\n  platforms.video.finance.bnpl: {low: 0, high: 1}\n",
     "platforms.video.finance.bnpl is true or false, not a number: give `values: [true, false]`"),
    ("kpis: [gmv, charge_of_rate]\n", "kpis.1: 'charge_of_rate' is not allowed (did you mean 'charge_off_rate'?)"),
    ("series: [orders, gmvv]\n", "series.1: 'gmvv' is not allowed (did you mean 'gmv'?)"),
    ("set: {days: -1}\n", "set.days: days: -1 is out of range"),
    ("base: nowhere.yaml\n", "base: file 'nowhere.yaml' not found"),
    ("extends: x.yaml\n", "extends: unknown key"),
    ("name: ../../escaped\n", "name: '../../escaped': must be 1 to 100 letters, digits, '_', '-' or '.'"),
    ("name: /tmp/x\n", "name: '/tmp/x': must be 1 to 100 letters"),
    ("design: lhs\nsamples: true\nparameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3}\n",
     "samples: true is not a whole number"),
    ("replications: '2'\n", "replications: '2' is not a whole number"),
    ("parameters:\n  regulation.rate_cap: {values: [0.1], integer: 1}\n",
     "parameters.regulation.rate_cap.integer: 1 is not true or false"),
    ("design: lhs\nsamples: 4\nparameters:\n  regulation.rate_cap: {low: 0, high: .inf}\n",
     "parameters.regulation.rate_cap.high: Infinity is not finite"),
    ("design: lhs\nsamples: 4\nparameters:\n  regulation.rate_cap: {dist: normal, mean: 0.1, sd: .nan}\n",
     "parameters.regulation.rate_cap.sd: NaN is not finite"),
    ("parameters:\n  regulation.rate_cap: {values: [0.1, 0.2], labels: [a, a]}\n",
     "parameters.regulation.rate_cap.labels: 'a' is given twice; each value needs its own label"),
    # a range reaching out of the schema's is reported at its bound (0.5), not at its midpoint (0.25025)
    ("design: lhs\nsamples: 4\nparameters:\n  consumers.shock_rate: {low: 0.0005, high: 0.5}\n",
     "parameters.consumers.shock_rate: consumers.shock_rate: 0.5 is out of range; allowed: >= 0 and <= 0.2"),
    ("design: lhs\nsamples: 4\nparameters:\n  days: {low: 10, high: 20}\n",
     "parameters.days: days takes whole numbers; add 'integer: true' to sample it from a range"),
    ("design: lhs\nsamples: 4\nparameters:\n  consumers.count: {dist: normal, mean: 500, sd: 50, low: 100}\n",
     "parameters.consumers.count: consumers.count takes whole numbers; add 'integer: true'"),
    ("design: sobol\nsamples: 10\nparameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3}\n"
     "  consumers.shock_rate: {low: 0.001, high: 0.002}\n",
     "samples: 10 is not a power of 2; design sobol needs one, at least 2, for the balance of its Sobol sequence "
     "(nearest: 8 or 16)"),
    ("design: morris\nsamples: 4\nlevels: 3\nparameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3}\n"
     "  consumers.shock_rate: {low: 0.001, high: 0.002}\n",
     "levels: 3 is odd; design morris needs an even number of levels"),
    ("design: morris\nsamples: 4\nparameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3}\n"
     "  platforms.video.restructurer_ad_policy: {values: [allow, restrict, ban]}\n",
     "parameters.platforms.video.restructurer_ad_policy: design morris takes at most 2 values (a switch), not 3"),
    ("design: lhs\nsamples: 4\nparameters:\n  days: {low: 10.5, high: 20, integer: true}\n",
     "parameters.days.low: 10.5 is not a whole number; integer: true needs whole-number bounds"),
    # a rule tying the value to a key the sweep does not vary: the other value is the base scenario's
    ("parameters:\n  platforms.video.finance.co_lending_own_share: {values: [0.1, 0.5]}\n",
     "parameters.platforms.video.finance.co_lending_own_share: platforms.video.finance.co_lending_own_share: 0.1 "
     "is below regulation.co_lending_min_share 0.3 (the base scenario's regulation.co_lending_min_share; sweep it "
     "too to vary it with platforms.video.finance.co_lending_own_share)"),
    # ... and to one it varies, with no value that allows it
    ("parameters:\n  platforms.video.finance.co_lending_own_share: {values: [0.01, 0.5]}\n"
     "  regulation.co_lending_min_share: {values: [0.05, 0.2]}\n",
     "0.01 is below regulation.co_lending_min_share 0.3 (the base scenario's regulation.co_lending_min_share; "
     "refused too with every value of regulation.co_lending_min_share that the sweep gives"),
    # a path swept twice, or swept and set: one value would silently win
    ("parameters:\n  platforms.video.finance.strategy: {values: [none, own_license]}\n"
     "  platforms.video.finance: {values: [{strategy: none}], labels: [n]}\n",
     "parameters.platforms.video.finance: overlaps parameters.platforms.video.finance.strategy (one is inside the "
     "other): both would set it; sweep one of them"),
    ("set: {regulation.rate_cap: 0.2}\n", "parameters.regulation.rate_cap: set.regulation.rate_cap and this "
     "parameter both set regulation.rate_cap; give one of them"),
    ("parameters:\n  ' regulation.rate_cap': {values: [0.1]}\n", "parameters: ' regulation.rate_cap': a key with "
     "spaces around it names no setting; write 'regulation.rate_cap'"),
    ("design: lhs\nsamples: 4\nparameters:\n  regulation.rate_cap: {low: 0.1, high: 0.3, mean: 0.2}\n",
     "parameters.regulation.rate_cap.mean: not used by dist uniform, which takes low and high; leave it out, or "
     "give dist: normal"),
    ("set: {platforms: []}\n", "set.platforms: platforms: [] has 0 items; a scenario needs at least 1 platform"),
    ("set: {platforms.video: null}\n", "set.platforms.video: platforms.video is a section, not a value (null given); "
     "set one of its keys, platforms.video.KEY: null, KEY one of: name, kind, mau_m"),
    ("set: {consumers: 5000}\n", "set.consumers: consumers is a section, not a value; did you mean "
                                 "consumers.count: 5000?"),
]


def _bad_file(tmp_path: Path, change: str) -> Path:
    data = {}
    for block in (GOOD, change):
        key = None
        for line in block.splitlines():
            if not line.startswith(" "):
                key = line.split(":")[0]
                data[key] = [line]
            else:
                data[key].append(line)
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(line for lines in data.values() for line in lines) + "\n")
    return path


@pytest.mark.parametrize(("change", "message"), BAD, ids=[b[1][:40] for b in BAD])
def test_bad_sweep_file_one_line_exit_2_nothing_written(tmp_path: Path, change: str, message: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _bad_file(tmp_path, change)
    out = tmp_path / "out"
    assert run.main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and err.count("\n") == 1, err
    assert message in err, err
    assert not out.exists()


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("design: [grid\n", "YAML error"),
    ("- a\n- b\n", "the top level must be a mapping"),
])
def test_unreadable_sweep_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SweepError, match=message):
        load_sweep(str(path))


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    assert run.main(["sweep", str(path), "--workers", "0"]) == 2
    assert "--workers: 0 is out of range" in capsys.readouterr().err
    assert run.main(["sweep", str(path), "--retry-failed"]) == 2
    # an empty address (a scheduler file not yet written) ran the whole sweep on an embedded cluster here
    assert run.main(["sweep", str(path), "--scheduler", "", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.endswith("error: --scheduler: empty; give the scheduler's address with its port, "
                                            "e.g. tcp://HOST:8786\n")
    assert not (tmp_path / "out").exists()
    assert run.main(["sensitivity", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
    assert run.main(["sweep", str(tmp_path / "missing.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.mark.parametrize("resume", [False, True])
def test_an_out_the_file_system_refuses_is_one_line(tmp_path: Path, resume: bool,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A folder name longer than the file system allows (or no permission, a read-only mount) was a traceback."""
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    out = tmp_path / ("x" * 300)
    assert run.main(["sweep", str(path), "--out", str(out), "--quiet", *(["--resume"] if resume else [])]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {out}: cannot be used as the sweep folder (File name too long); choose another --out\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
    assert run.main(["sensitivity", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {out}: no such folder\n"
    assert run.main(["sensitivity", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: a file, not a sweep folder\n"


def test_sampled_whole_numbers_with_integer_and_default_name(tmp_path: Path) -> None:
    path = tmp_path / "days_lhs.yaml"
    path.write_text(GOOD.replace("design: grid", "design: lhs\nsamples: 4").replace(
        "regulation.rate_cap: {values: [0.15, 0.24]}", "days: {low: 10, high: 20, integer: true}"))
    plan = load_sweep(str(path))
    assert plan.sweep.name == "days_lhs"
    assert all(isinstance(p["days"], int) and 10 <= p["days"] <= 20 for p in plan.points)


def test_a_sweep_file_without_a_name_is_named_after_its_file_as_a_scenario_is(tmp_path: Path) -> None:
    """`my grid (v2).yaml` without `name:` was refused with a message about a `name: 'my grid (v2)'` never
    written; it is named `my_grid_v2`, as a scenario file of that name is."""
    path = tmp_path / "my grid (v2).yaml"
    path.write_text(GOOD)  # no name: key
    assert load_sweep(str(path)).sweep.name == "my_grid_v2"


def test_resume_into_a_folder_that_does_not_exist_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --out with --resume started the whole sweep again in a new folder."""
    from sim.sweep import runner

    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    typo = tmp_path / "sweeps" / "sobl"
    with pytest.raises(SweepError, match="nothing to resume"):
        runner.prepare(load_sweep(str(path)), typo, resume=True)
    assert not typo.exists()
    # refused before connecting to a scheduler (here one that is not there)
    monkeypatch.setattr("sim.sweep.cluster.CONNECT_TIMEOUT", "1s")  # where connecting looks it up
    assert run.main(["sweep", str(path), "--out", str(typo), "--resume", "--quiet", "--scheduler",
                     "tcp://127.0.0.1:1"]) == 2
    assert capsys.readouterr().err == (f"error: --resume: nothing to resume at {typo} (no such folder); check "
                                       "--out, or leave out --resume to start the sweep there\n")
    assert not typo.exists()


def test_the_batch_run_example_in_the_docs_gives_distinct_replications() -> None:
    """The example ran `iterations=3`, which in Mesa 3.3 passes no seed: all three were the scenario's seed,
    the same run. Run the documented call with its parameters cut down to a tiny market, as documented
    otherwise (its replication keywords included): every replication must differ."""
    import ast
    import re

    import mesa

    from sim import MarketModel

    text = (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    section = text[text.index("## mesa.batch_run"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    call = next(node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
                and ast.unparse(node.func) == "mesa.batch_run")
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg != "number_processes"}
    parameters = keywords.pop("parameters")
    tiny = {"consumers": 500, "merchants": 25, "days": 15, "burn_in_days": 5}
    # one value of each varied model parameter; the replications (seeds or iterations) as documented
    parameters = {k: tiny.get(k, v if k == "seed" or not isinstance(v, list) else v[:1])
                  for k, v in parameters.items()}
    keywords["max_steps"] = 20
    results = mesa.batch_run(MarketModel, parameters=parameters, number_processes=1, display_progress=False,
                             **keywords)
    gmv = {row["RunId"]: row["gmv"] for row in results}
    assert len(gmv) >= 2 and len(set(gmv.values())) == len(gmv), gmv


CO_LENDING = f"""\
base: {CLASSROOM}
set: {{consumers.count: 500, merchants.count: 30, days: 5, burn_in_days: 0}}
design: DESIGN
parameters:
  platforms.video.finance.co_lending_own_share: OWN
  regulation.co_lending_min_share: MIN
"""


@pytest.mark.parametrize(("design", "own", "floor"), [
    ("lhs\nsamples: 8", "{low: 0.1, high: 0.5}", "{low: 0.05, high: 0.2}"),
    ("grid", "{values: [0.1, 0.5]}", "{values: [0.05, 0.2]}"),
])
def test_parameters_tied_by_a_rule_can_be_swept_together(tmp_path: Path, design: str, own: str,
                                                         floor: str) -> None:
    """Each value was checked alone against the base scenario (co-lending floor 0.3), so an own share of 0.1
    was refused although the sweep lowers the floor to 0.05."""
    path = tmp_path / "co.yaml"
    path.write_text(CO_LENDING.replace("DESIGN", design).replace("OWN", own).replace("MIN", floor))
    assert len(load_sweep(str(path)).points) == (8 if design != "grid" else 4)


def test_a_combination_a_rule_refuses_fails_as_a_run_named_by_its_sweep_parameters(tmp_path: Path) -> None:
    """Its error named a --set the user never gave."""
    from sim.sweep import runner
    from sim.sweep.worker import execute

    path = tmp_path / "co.yaml"
    path.write_text(CO_LENDING.replace("DESIGN", "grid").replace("OWN", "{values: [0.1, 0.5]}")
                    .replace("MIN", "{values: [0.05, 0.2]}"))
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    bad = next(r for r in plan.unique() if r.params == {"platforms.video.finance.co_lending_own_share": 0.1,
                                                       "regulation.co_lending_min_share": 0.2})
    assert execute(runner.task_of(plan, store, bad))["status"] == "failed"
    assert store.record(bad.id)["error"] == (
        "ScenarioError: sweep parameter regulation.co_lending_min_share=0.2: "
        "platforms.video.finance.co_lending_own_share: 0.1 is below regulation.co_lending_min_share 0.2")


MORRIS = "design: morris\nsamples: {n}\nparameters:\n  regulation.rate_cap: {{low: 0.1, high: 0.3}}\n" \
         "  consumers.shock_rate: {{low: 0.001, high: 0.003}}\n"
GRID = "design: grid\nparameters:\n  regulation.rate_cap: {{values: [{rates}]}}\n" \
       "  consumers.shock_rate: {{values: [{shocks}]}}\nreplications: {n}\n"


@pytest.mark.parametrize(("text", "planned"), [
    (MORRIS.format(n=333_334), 1_000_002),
    (GRID.format(rates=", ".join(f"0.{i:03d}" for i in range(100, 201)),
                 shocks=", ".join(f"0.00{i}" for i in range(1, 10)) + ", 0.01", n=1000), 1_010_000),
])
def test_a_design_of_more_than_a_million_runs_is_refused_before_it_is_laid_out(
        text: str, planned: int, tmp_path: Path) -> None:
    """A Morris design of 10^6 trajectories was laid out for minutes with nothing printed (it looked hung), for a
    folder of millions of files; the planned count is refused at once, in one line naming the file."""
    path = tmp_path / "huge.yaml"
    path.write_text(f"base: {CLASSROOM}\n{text}")
    with pytest.raises(SweepError) as info:
        load_sweep(str(path))
    assert str(info.value) == (f"{path}: the design plans {planned:,} runs; allowed: at most 1,000,000 in one sweep "
                               "(fewer samples, values or replications, or split it into several sweeps)")


@pytest.mark.parametrize("text", [MORRIS.format(n=4), GRID.format(rates="0.15, 0.24", shocks="0.001, 0.002", n=3)])
def test_the_planned_count_is_the_runs_laid_out(text: str, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(f"base: {CLASSROOM}\n{text}")
    plan = load_sweep(str(path))
    assert design.run_count(plan.sweep) == len(plan.runs) > 0


def test_more_workers_than_the_machine_can_hold_are_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--workers 1000000000 ran the machine out of memory and left a half-written folder."""
    import os

    path, out = tmp_path / "s.yaml", tmp_path / "out"
    path.write_text(GOOD)
    limit = 4 * (os.cpu_count() or 1)
    assert run.main(["sweep", str(path), "--out", str(out), "--workers", "1000000000"]) == 2
    assert capsys.readouterr().err == (f"error: --workers: 1000000000 is out of range; allowed: 1 to {limit} (4 per "
                                       "core of this machine: more processes only share the cores, and each needs "
                                       "its own memory)\n")
    assert not out.exists()
