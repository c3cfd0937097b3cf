"""Sensitivity of sampled sweeps from KPIs of known functions (no model runs): replications, seeds, second order,
Morris scale; the mapping of the unit cube to parameter values (whole numbers, normals, Morris levels)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import run
from sim.sweep import design, runner, sensitivity
from sim.sweep.plan import Plan, Run, load_sweep
from sim.sweep.spec import Param, SweepError, parse
from sim.sweep.table import write_tables

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom.yaml"
A, B, C = "consumers.shock_rate", "consumers.bnpl_preference", "regulation.complaint_drag"
SOBOL = f"""\
base: {CLASSROOM}
design: sobol
samples: 64
parameters:
  {A}: {{low: 0.0, high: 0.01}}
  {B}: {{low: 0.0, high: 0.2}}
  {C}: {{low: 0.0, high: 3.0}}
replications: 2
seed: 0
kpis: [gmv, bnpl_uptake]
"""
MORRIS = SOBOL.replace("design: sobol\nsamples: 64", "design: morris\nsamples: 20\nlevels: 4")
Fake = Callable[[dict[str, Any], int], dict[str, float | None]]


def _unit(params: dict[str, Any]) -> tuple[float, float, float]:
    """The three parameters of SOBOL on [0, 1]."""
    return params[A] / 0.01, params[B] / 0.2, params[C] / 3.0


def _folder(tmp_path: Path, text: str, fake: Fake, fail: Callable[[Run], bool] = lambda run: False) -> Plan:
    """A finished sweep folder whose KPIs are `fake(params, seed)` (None: undefined in that run, as the worker
    stores an undefined ratio); runs for which `fail` is true failed."""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    for r in plan.unique():
        if fail(r):
            store.write_record(r.id, {"id": r.id, "status": "failed", "error": "boom"})
            continue
        kpis = {k: None if v is None else float(v) for k, v in fake(r.params, r.seed).items()}
        store.write_run(r.id, pd.DataFrame({"day": [1]}), {"id": r.id, "seed": r.seed, "params": r.params,
                                                           "kpis": kpis})
        store.write_record(r.id, {"id": r.id, "status": "done"})
    write_tables(plan, store)
    return plan


def _seed_noise(params: dict[str, Any], seed: int) -> dict[str, float]:
    """gmv depends on A and B, and strongly on the seed (the same at every point: common random numbers)."""
    a, b, _ = _unit(params)
    return {"gmv": a + 0.5 * b + (seed % 1000) / 10, "bnpl_uptake": b}


def test_a_replication_missing_at_some_points_is_left_out_at_every_point(tmp_path: Path) -> None:
    """Averaging each point over its own surviving seeds would put seed effects into the indices: the
    parameter without effect would get a large ST."""
    _folder(tmp_path, SOBOL, _seed_noise, fail=lambda run: run.replication == 1 and run.point % 7 == 0)
    table = sensitivity.indices(tmp_path / "out")
    gmv = table[table["kpi"] == "gmv"].set_index("parameter")
    assert abs(gmv.loc[C, "ST"]) < 0.02 and gmv.loc[A, "ST"] > 0.5
    assert gmv["note"].str.startswith("mean over 1 of 2 replications; replication 1 left out").all()
    assert table.attrs["replications"] == {"gmv": (1, 2), "bnpl_uptake": (1, 2)}
    assert "gmv: mean over 1 of 2 replications" in sensitivity.text_table(table)


def test_all_replications_are_used_when_all_finished(tmp_path: Path) -> None:
    _folder(tmp_path, SOBOL, _seed_noise)
    table = sensitivity.indices(tmp_path / "out")
    assert (table["note"] == "").all() and table.attrs["replications"]["gmv"] == (2, 2)
    assert "gmv (mean over 2 of 2 replications at each point)" in sensitivity.text_table(table)


@pytest.mark.parametrize(("fail", "note"), [
    (lambda run: run.point % 7 == run.replication, "not analysable: no replication has results at every design"),
    (lambda run: run.point == 3, "not analysable: 1 design point without results"),
])
def test_a_kpi_without_a_complete_replication_is_not_analysed(tmp_path: Path, fail: Callable[[Run], bool],
                                                              note: str) -> None:
    _folder(tmp_path, SOBOL, _seed_noise, fail=fail)
    table, _ = sensitivity.analyze_folder(tmp_path / "out")
    assert table["S1"].isna().all() and table["note"].str.startswith(note).all()
    assert table.attrs["replications"]["gmv"] == (0, 2)
    assert not (tmp_path / "out" / "sensitivity" / "gmv.png").exists()


@pytest.mark.parametrize("text", [SOBOL, MORRIS])
def test_points_where_a_kpi_is_undefined_are_left_out_and_noted(tmp_path: Path, text: str) -> None:
    """bnpl_uptake (= b) is undefined where c is low (say, no orders): those points leave the analysis with their
    base sample or trajectory, said in the note; the rest still finds that only b matters. Before, an undefined
    ratio was stored as 0 and the analysis took it for data (c got a large index)."""
    def fake(params: dict[str, Any], seed: int) -> dict[str, float | None]:
        a, b, c = _unit(params)
        return {"gmv": a + seed % 10, "bnpl_uptake": None if c < 0.25 else b}

    _folder(tmp_path, text, fake)
    results = pd.read_parquet(tmp_path / "out" / "results.parquet")
    undefined = results.loc[results["bnpl_uptake"].isna()]
    assert len(undefined) and (undefined["status"] == "done").all()  # stored as missing, the run did not fail
    table = sensitivity.indices(tmp_path / "out")
    bnpl = table[table["kpi"] == "bnpl_uptake"].set_index("parameter")
    points = undefined["point"].nunique()
    unit = "base samples" if "sobol" in text else "trajectories"
    note = bnpl["note"].iloc[0]
    assert note.startswith(f"undefined at {points} of {results['point'].nunique()} design points (no orders): the ")
    assert f" {unit} holding them left out" in note and (bnpl["note"] == note).all()
    first = "S1" if "sobol" in text else "mu_star"
    assert bnpl[first].notna().all() and bnpl[first].idxmax() == B
    assert abs(bnpl.loc[C, first]) < 0.05  # c decides only where bnpl_uptake is defined, not its value
    assert table.attrs["replications"]["bnpl_uptake"] == (2, 2)
    gmv = table[table["kpi"] == "gmv"]
    assert (gmv["note"] == "").all() and gmv[first].notna().all()  # other KPIs keep every point
    assert f"bnpl_uptake: {note}" in sensitivity.text_table(table)


def test_a_kpi_undefined_at_a_point_in_one_replication_leaves_that_point_out(tmp_path: Path) -> None:
    """The point's mean would be over other seeds than the others' (seed effects into the indices): the point
    goes, not the replication, and no zero is averaged in."""
    second = design.seeds(parse(yaml.safe_load(SOBOL), "s.yaml"))[1]

    def fake(params: dict[str, Any], seed: int) -> dict[str, float | None]:
        a, b, _ = _unit(params)
        return {"gmv": a + seed % 10, "bnpl_uptake": None if seed == second and a > 0.9 else b}

    _folder(tmp_path, SOBOL, fake)
    table = sensitivity.indices(tmp_path / "out")
    bnpl = table[table["kpi"] == "bnpl_uptake"].set_index("parameter")
    high = int((pd.read_parquet(tmp_path / "out" / "design.parquet")[A] > 0.009).sum())
    assert bnpl["note"].iloc[0].startswith(f"undefined at {high} of ") and "replication" not in bnpl["note"].iloc[0]
    assert table.attrs["replications"]["bnpl_uptake"] == (2, 2) and bnpl["S1"].idxmax() == B


def test_a_kpi_undefined_everywhere_is_not_analysable(tmp_path: Path) -> None:
    _folder(tmp_path, SOBOL, lambda params, seed: {"gmv": _unit(params)[0], "bnpl_uptake": None})
    table, _ = sensitivity.analyze_folder(tmp_path / "out")
    bnpl = table[table["kpi"] == "bnpl_uptake"]
    points = len(pd.read_parquet(tmp_path / "out" / "design.parquet"))
    assert bnpl["S1"].isna().all() and bnpl["note"].str.startswith(
        f"not analysable: undefined at {points} of {points} design points (no orders); fewer than 2").all()
    assert not (tmp_path / "out" / "sensitivity" / "bnpl_uptake.png").exists()
    assert (tmp_path / "out" / "sensitivity" / "gmv.png").exists()


@pytest.mark.parametrize("text", [SOBOL, MORRIS])
def test_bootstrap_intervals_are_the_same_in_two_analyses_even_with_seed_0(tmp_path: Path, text: str) -> None:
    """SALib takes seed 0 as no seed at all; the sweep's default seed is 0."""
    def fake(params: dict[str, Any], seed: int) -> dict[str, float]:
        a, b, c = _unit(params)
        return {"gmv": a * b + c**2 + seed % 10, "bnpl_uptake": b}

    _folder(tmp_path, text, fake)
    first, second = sensitivity.indices(tmp_path / "out"), sensitivity.indices(tmp_path / "out")
    conf = [c for c in first.columns if c.endswith("_conf")]
    assert first[conf].notna().all().all() and (first[conf] > 0).any().all()
    pd.testing.assert_frame_equal(first, second)


def test_second_order_indices_per_pair(tmp_path: Path) -> None:
    """y = a * b + c: a and b interact, c acts alone."""
    def fake(params: dict[str, Any], seed: int) -> dict[str, float]:
        a, b, c = _unit(params)
        return {"gmv": 4 * (a - 0.5) * (b - 0.5) + 0.5 * c, "bnpl_uptake": b}

    text = SOBOL.replace("samples: 64", "samples: 128\nsecond_order: true").replace("replications: 2", "")
    _folder(tmp_path, text, fake)
    table, _ = sensitivity.analyze_folder(tmp_path / "out")
    csv = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    assert list(csv.columns) == sensitivity.COLUMNS["sobol2"]
    pairs = csv[csv["parameter_2"].notna()].set_index(["kpi", "parameter", "parameter_2"])
    assert len(pairs) == 2 * 3 and pairs[["S2", "S2_conf"]].notna().all().all()
    assert pairs[["S1", "ST"]].isna().all().all()
    assert pairs.loc[("gmv", A, B), "S2"] > 0.3
    assert abs(pairs.loc[("gmv", A, C), "S2"]) < 0.15 and abs(pairs.loc[("gmv", B, C), "S2"]) < 0.15
    assert f"{A} x {B}" in sensitivity.text_table(table)
    assert (tmp_path / "out" / "sensitivity" / "gmv.png").exists()


def test_morris_effects_are_per_unit_of_quantile(tmp_path: Path) -> None:
    """gmv = 10 a + 0 b + 0 c (a, b, c on [0, 1]): mu* of a is 10, of the others 0."""
    def fake(params: dict[str, Any], seed: int) -> dict[str, float]:
        a, b, _ = _unit(params)
        return {"gmv": 10 * a, "bnpl_uptake": b}

    _folder(tmp_path, MORRIS, fake)
    gmv = sensitivity.indices(tmp_path / "out").query("kpi == 'gmv'").set_index("parameter")
    assert gmv.loc[A, "mu_star"] == pytest.approx(10) and gmv.loc[A, "mu"] == pytest.approx(10)
    assert gmv.loc[[B, C], "mu_star"].abs().max() < 1e-9


SIX = (ROOT / "scenarios" / "sweeps" / "behaviour_sobol.yaml").read_text().replace(
    "base: ../classroom.yaml", f"base: {CLASSROOM}")
"""The library's Sobol sweep: six parameters, N=64 (its seed, 64, scrambled the Sobol sequence unevenly)."""


@pytest.mark.parametrize(("parameters", "samples", "seed", "second_order"), [
    (6, 64, 64, False), (6, 64, 0, False), (6, 64, 1, True), (8, 256, 3, False), (3, 64, 0, False)])
def test_sobol_base_samples_are_uncorrelated_in_every_parameter(parameters: int, samples: int, seed: int,
                                                                second_order: bool) -> None:
    """Parameter j's values in the base samples A and B are the Sobol sequence's columns j and D + j; at N=64
    with six parameters the second parameter's two columns correlated at -0.37 (seeds 0 and 64)."""
    sweep = parse({"base": str(CLASSROOM), "design": "sobol", "samples": samples, "seed": seed,
                   "second_order": second_order,
                   "parameters": {f"p.{j}": {"low": 0.1, "high": 0.2} for j in range(parameters)}}, "s.yaml")
    unit = design.unit_sample(sweep)
    assert np.abs(design.ab_correlations(unit, parameters, second_order)).max() < design.BALANCE


def test_a_kpi_set_by_one_parameter_has_its_whole_variance_on_it(tmp_path: Path) -> None:
    """The library's six-parameter design, and a KPI that is the second parameter's quantile: S1 = ST = 1 for it,
    0 for the others. With its A and B correlated at -0.37 the indices read 1.37 and 1.38 (bootstrap interval
    +/-0.21), which docs/sweeps.md had put down to estimator noise; the BNPL uptake of the real sweep read the
    same."""
    def fake(params: dict[str, Any], seed: int) -> dict[str, float]:
        return {k: (params["consumers.bnpl_preference"] - 0.05) / 0.2 for k in ("gmv", "bnpl_uptake")}

    _folder(tmp_path, SIX.replace("replications: 2", "replications: 1"), fake)
    bnpl = sensitivity.indices(tmp_path / "out").query("kpi == 'bnpl_uptake'").set_index("parameter")
    assert bnpl.loc[B, "S1"] == pytest.approx(1.0, abs=0.05) and bnpl.loc[B, "ST"] == pytest.approx(1.0, abs=0.05)
    assert bnpl.drop(index=B)[["S1", "ST"]].abs().max().max() < 0.05


def test_base_samples_too_few_to_balance_are_said_to_bias_the_indices(tmp_path: Path) -> None:
    """At N=16 no scramble of the six-parameter design has A and B uncorrelated in every parameter (the design
    keeps the best, -0.67 in complaint_drag): a KPI that complaint_drag alone sets read S1 1.68 +/- 0.19, and
    the note was empty. The note now names the parameters and their correlations."""
    def fake(params: dict[str, Any], seed: int) -> dict[str, float]:
        return {k: params[C] / 3.0 for k in ("gmv", "bnpl_uptake")}

    text = SIX.replace("replications: 2", "replications: 1").replace("samples: 64", "samples: 16")
    _folder(tmp_path, text, fake)
    table = sensitivity.indices(tmp_path / "out")
    drag = table.query("kpi == 'bnpl_uptake'").set_index("parameter").loc[C]
    assert abs(drag["S1"] - 1) > drag["S1_conf"]  # off, and the interval does not show it
    note = drag["note"]
    assert note.startswith("base samples A and B correlate at +0.26 in consumers.shock_rate, ") and \
        f", -0.67 in {C} (over the 16 base samples analysed; the estimators assume them independent): their " \
        "indices are off by about as much, which the intervals do not show; use more samples" in note, note
    assert (table.query("kpi in ['gmv', 'bnpl_uptake']")["note"] == note).all()
    balanced = tmp_path / "balanced"
    balanced.mkdir()
    _folder(balanced, text.replace("samples: 16", "samples: 64"), fake)
    assert (sensitivity.indices(balanced / "out").query("kpi in ['gmv', 'bnpl_uptake']")["note"] == "").all()


def test_a_sobol_sweep_too_small_to_balance_says_so_before_it_runs(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The bias is known from the design alone: `run.py sweep` says so when it starts, not only in the indices."""
    text = SIX.replace("replications: 2", "replications: 1").replace("samples: 64", "samples: 16")
    _folder(tmp_path, text, lambda params, seed: {"gmv": 1.0})
    args = ["sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--resume", "--quiet", "--no-figures"]
    assert run.main(args) == 0  # every run is stored: nothing runs
    out = capsys.readouterr().out
    assert f"sensitivity: base samples A and B correlate at +0.26 in {A}, " in out and f"-0.67 in {C}" in out, out
    balanced = tmp_path / "balanced"
    balanced.mkdir()
    _folder(balanced, text.replace("samples: 16", "samples: 64"), lambda params, seed: {"gmv": 1.0})
    assert run.main(["sweep", str(balanced / "s.yaml"), "--out", str(balanced / "out"), *args[4:]]) == 0
    assert "correlate" not in capsys.readouterr().out


def test_the_sensitivity_command_analyses_once_and_prints_what_it_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _folder(tmp_path, SOBOL, _seed_noise)
    calls = []
    original = sensitivity.indices
    monkeypatch.setattr(sensitivity, "indices", lambda folder: calls.append(folder) or original(folder))
    assert run.main(["sensitivity", str(tmp_path / "out"), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert len(calls) == 1
    written = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    assert f"S1={written.loc[0, 'S1']:8.3f}" in out


# --- from the unit cube to values ---------------------------------------------------------------------------


GRID = (np.arange(100_000) + 0.5) / 100_000  # a uniform grid of quantiles


@pytest.mark.parametrize(("low", "high"), [(1, 5), (0, 1), (10, 20)])
def test_whole_numbers_are_equally_likely(low: int, high: int) -> None:
    p = Param(low=low, high=high, integer=True)
    counts = Counter(design.from_unit(p, float(u)) for u in GRID)
    assert sorted(counts) == list(range(low, high + 1))
    assert all(isinstance(k, int) for k in counts)
    share = np.array(list(counts.values())) / len(GRID)
    assert np.allclose(share, 1 / (high - low + 1), atol=1e-4)
    assert design.from_unit(p, 1.0) == high and design.from_unit(p, 0.0) == low


def test_log_uniform_whole_numbers_follow_their_width_on_a_log_scale() -> None:
    p = Param(low=1, high=9, integer=True, dist="log_uniform")
    counts = Counter(design.from_unit(p, float(u)) for u in GRID)
    expected = {k: math.log((k + 1) / k) / math.log(10) for k in range(1, 10)}
    assert sorted(counts) == list(expected)
    assert all(abs(counts[k] / len(GRID) - expected[k]) < 1e-4 for k in expected)


def test_morris_levels_are_read_at_the_middle_of_equally_likely_slices() -> None:
    sweep = parse({"base": "x.yaml", "design": "morris", "samples": 10, "levels": 4, "parameters": {
        "a": {"dist": "normal", "mean": 0.0, "sd": 1.0}, "b": {"low": 0.0, "high": 1.0}}}, "s.yaml")
    rows, unit = design.points(sweep)
    assert set(np.round(unit.ravel(), 12)) <= {0.125, 0.375, 0.625, 0.875}
    steps = np.abs(np.diff(unit.reshape(10, 3, 2), axis=1)).sum(axis=2)
    assert np.allclose(steps, 0.5)  # one parameter moves by half its distribution per step
    normal = np.array([r["a"] for r in rows])
    assert np.abs(normal).max() < 1.2 and np.abs(normal).min() > 0.3  # quantiles 1/8 .. 7/8, never 6 sd out


NORMAL = f"""\
base: {CLASSROOM}
design: lhs
samples: 8
parameters:
  {A}: {{dist: normal, mean: 0.002, sd: SD}}
"""


def test_a_plain_normal_is_checked_at_realistic_quantiles(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text(NORMAL.replace("SD", "0.0005"))  # 0 is 4 sd below the mean
    assert len(load_sweep(str(path)).points) == 8
    path.write_text(NORMAL.replace("SD", "0.001"))  # 0 is 2 sd below
    with pytest.raises(SweepError, match=r"is out of range; allowed: >= 0.*bound it with low/high"):
        load_sweep(str(path))
    path.write_text(NORMAL.replace("SD}", "0.001, low: 0.0}"))
    assert all(p[A] >= 0 for p in load_sweep(str(path)).points)


def test_resuming_a_folder_laid_out_by_an_earlier_mapping_is_refused(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole numbers were rounded before (ends half as likely): other values, other run ids, another sweep."""
    path = tmp_path / "d.yaml"
    path.write_text(NORMAL.replace(f"  {A}: {{dist: normal, mean: 0.002, sd: SD}}",
                                   "  days: {low: 10, high: 14, integer: true}"))
    new = design.from_unit
    monkeypatch.setattr(design, "from_unit", lambda p, u: round(p.low + u * (p.high - p.low)))
    runner.prepare(load_sweep(str(path)), tmp_path / "out", resume=False)
    monkeypatch.setattr(design, "from_unit", new)
    with pytest.raises(SweepError, match="holds a different sweep"):
        runner.prepare(load_sweep(str(path)), tmp_path / "out", resume=True)


def test_the_sweep_prints_its_indices_and_why_a_kpi_is_not_analysable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/sweeps.md says the run says when a KPI is not analysable; `run.py sweep` wrote sensitivity.csv and
    printed nothing of it."""
    _folder(tmp_path, SOBOL, _seed_noise, fail=lambda run: run.point == 3)
    args = ["sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--resume", "--quiet", "--no-figures"]
    assert run.main(args) == 0  # every run is stored or failed: nothing runs
    out = capsys.readouterr().out
    assert "sensitivity (sobol):\ngmv: not analysable: 1 design point without results" in out, out
    assert "bnpl_uptake: not analysable: 1 design point without results" in out


def test_a_sweep_extended_but_not_finished_is_not_analysed_from_its_old_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After an extension (more replications) stopped before the runs, results.parquet is the smaller sweep's:
    `run.py sensitivity` analysed it as if it were the new one, without a word."""
    _folder(tmp_path, SOBOL.replace("replications: 2", "replications: 1"), _seed_noise)
    plan = load_sweep(str(tmp_path / "s.yaml"))
    (tmp_path / "s.yaml").write_text(SOBOL)
    runner.prepare(load_sweep(str(tmp_path / "s.yaml")), tmp_path / "out", resume=True)  # extended, then stopped
    results = tmp_path / "out" / "results.parquet"
    assert run.main(["sensitivity", str(tmp_path / "out"), "--no-figures"]) == 2
    assert capsys.readouterr().err == (f"error: {results}: out of date: it has {len(plan.runs)} rows, sweep.json "
                                       f"plans {2 * len(plan.runs)} runs; finish the sweep first (run.py sweep ... "
                                       f"--out {tmp_path / 'out'} --resume)\n")
    assert not (tmp_path / "out" / "sensitivity.csv").exists()


def _not_parquet(path: Path) -> None:
    path.write_text("not parquet")


@pytest.mark.parametrize(("damage", "name", "says"), [
    (_not_parquet, "results.parquet", "damaged, not a Parquet table"),
    (Path.unlink, "design.parquet", "missing; finish the sweep first"),
    (_not_parquet, "design.parquet", "damaged, not a Parquet table"),
    (Path.mkdir, "sensitivity.csv", "is a folder"),
])
def test_a_damaged_folder_is_one_line_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      damage: Callable[[Path], None], name: str, says: str) -> None:
    _folder(tmp_path, SOBOL, _seed_noise)
    damage(tmp_path / "out" / name)
    assert run.main(["sensitivity", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'out' / name}: {says}") and err.count("\n") == 1, err


def test_sensitivity_charts_not_drawn_again_are_removed(tmp_path: Path) -> None:
    """A resume with `--no-figures` rewrote sensitivity.csv and left the earlier charts beside it."""
    _folder(tmp_path, SOBOL, _seed_noise)
    charts = tmp_path / "out" / "sensitivity"
    sensitivity.analyze_folder(tmp_path / "out")
    assert (charts / "gmv.png").exists()
    sensitivity.analyze_folder(tmp_path / "out", figures=False)
    assert not list(charts.glob("*.png"))
