"""The sweep store and one run without Dask: atomic files, unreadable results redone, model version check."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from sim.sweep import runner
from sim.sweep.analysis import stacked_series
from sim.sweep.plan import load_sweep
from sim.sweep.store import Store
from sim.sweep.table import results_table
from sim.sweep.worker import execute

ROOT = Path(__file__).resolve().parent.parent
SWEEP = f"""\
base: {ROOT / "scenarios" / "classroom.yaml"}
set: {{consumers.count: 800, merchants.count: 30, days: 20, burn_in_days: 10}}
design: grid
parameters:
  regulation.rate_cap: {{values: [0.12, 0.24]}}
kpis: [gmv, bnpl_uptake]
series: [orders]
"""


def _setup(tmp_path: Path) -> tuple[Store, list[dict]]:
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP)
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    return store, [runner.task_of(plan, store, r) for r in plan.unique()]


def test_a_run_writes_its_parquet_file_then_its_record(tmp_path: Path) -> None:
    store, tasks = _setup(tmp_path)
    record = execute(tasks[0])
    assert record["status"] == "done" and record["worker"] == "local"
    meta = store.read_meta(tasks[0]["id"])
    assert meta["seed"] == tasks[0]["seed"] and set(meta["kpis"]) == {"gmv", "bnpl_uptake"}
    assert list(store.read_series(tasks[0]["id"]).columns) == ["day", "orders"]
    assert store.record(tasks[0]["id"])["attempts"] == 1 and store.finished(tasks[0]["id"])
    assert not list(store.root.rglob(".*.tmp-*")) and not any(store.running.iterdir())
    assert not store.finished(tasks[1]["id"])


def test_unreadable_result_is_not_finished(tmp_path: Path) -> None:
    store, tasks = _setup(tmp_path)
    execute(tasks[0])
    path = store.run_path(tasks[0]["id"])
    path.write_bytes(path.read_bytes()[:-20])
    assert store.read_meta(tasks[0]["id"]) is None and not store.finished(tasks[0]["id"])
    path.unlink()
    assert not store.finished(tasks[0]["id"])


def test_a_failing_run_is_recorded_with_its_model_version(tmp_path: Path) -> None:
    from sim.sweep.plan import code_version

    store, tasks = _setup(tmp_path)
    record = execute({**tasks[0], "params": {"regulation.rate_cap": 7}})
    assert record["status"] == "failed" and "rate_cap" in record["error"]
    assert store.read_meta(tasks[0]["id"]) is None and store.record(tasks[0]["id"])["code"] == code_version()


def test_missing_runs_show_in_the_table(tmp_path: Path) -> None:
    store, tasks = _setup(tmp_path)
    execute(tasks[1])
    plan = load_sweep(str(tmp_path / "s.yaml"))
    table = results_table(plan, store)
    assert list(table["status"]) == ["missing", "done"] and pd.isna(table["gmv"].iloc[0])


def test_a_done_run_whose_file_is_gone_shows_as_missing_not_as_undefined_kpis(tmp_path: Path) -> None:
    """A `done` record whose run file went missing (or bad) gave a `done` row of NaN KPIs, which reads as ratios the
    run left undefined; it is a missing run, which --resume runs again."""
    store, tasks = _setup(tmp_path)
    execute(tasks[0])
    execute(tasks[1])
    store.run_path(tasks[0]["id"]).unlink()
    table = results_table(load_sweep(str(tmp_path / "s.yaml")), store)
    assert list(table["status"]) == ["missing", "done"]
    assert "--resume" in table["error"].iloc[0] and pd.isna(table["gmv"].iloc[0])
    assert not store.finished(tasks[0]["id"])  # what --resume asks before it skips a run


def test_resume_is_refused_after_a_model_change_or_for_another_sweep(tmp_path: Path) -> None:
    import json

    import pytest

    from sim.sweep.spec import SweepError

    store, _ = _setup(tmp_path)
    plan = load_sweep(str(tmp_path / "s.yaml"))
    with pytest.raises(SweepError, match="holds a sweep already; add --resume"):
        runner.prepare(plan, store.root, resume=False)
    info = json.loads((store.root / "sweep.json").read_text())
    (store.root / "sweep.json").write_text(json.dumps({**info, "code_version": "0123456789ab"}))
    with pytest.raises(SweepError, match=r"model code \(sim/\) changed since this sweep started"):
        runner.prepare(plan, store.root, resume=True)
    runner.prepare(plan, store.root, resume=True, ignore_code_change=True)
    other = tmp_path / "other.yaml"
    other.write_text(SWEEP.replace("[0.12, 0.24]", "[0.12, 0.3]"))
    with pytest.raises(SweepError, match="holds a different sweep"):
        runner.prepare(load_sweep(str(other)), store.root, resume=True)


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda t: t.replace("days: 20", "days: 30"), "(set differs in days)"),
    (lambda t: t.replace("regulation.rate_cap", "regulation.complaint_drag"),
     "(parameters differ: the folder varies regulation.rate_cap)"),
    (lambda t: t.replace("design: grid", "design: lhs\nsamples: 2"), "(design differs: the folder's is grid)"),
    (lambda t: t + "seed: 1\n", "drops 2 of the folder's 2 planned runs: its master seed is 0, this file's 1,"),
    (None, "(the base scenario (base.yaml, with the files it extends) resolves to another scenario)"),
])
def test_a_resume_that_cannot_extend_the_folder_says_what_differs(tmp_path: Path, edit: object, reason: str) -> None:
    """Every such refusal said "changed parameters, or laid out by an earlier version of the sampling", also when
    only `set`, the design or the base scenario had changed."""
    from sim.sweep.spec import SweepError

    base = tmp_path / "base.yaml"
    base.write_text(f"extends: {ROOT / 'scenarios' / 'classroom.yaml'}\n")
    text = SWEEP.replace(str(ROOT / "scenarios" / "classroom.yaml"), "base.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    runner.prepare(load_sweep(str(path)), tmp_path / "out", resume=False)
    if edit is None:
        base.write_text(base.read_text() + "regulation: {co_lending_min_share: 0.25}\n")
    else:
        path.write_text(edit(text))  # type: ignore[operator]
    with pytest.raises(SweepError, match="holds a different sweep") as refused:
        runner.prepare(load_sweep(str(path)), tmp_path / "out", resume=True)
    assert reason in str(refused.value)


def test_a_damaged_sweep_json_is_one_line_for_resume_and_sensitivity(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import run

    store, _ = _setup(tmp_path)
    for text in ('{"name": "s", "fingerp', "[1, 2]"):
        (store.root / "sweep.json").write_text(text)
        for args in (["sweep", str(tmp_path / "s.yaml"), "--out", str(store.root), "--resume", "--quiet"],
                     ["sensitivity", str(store.root)]):
            assert run.main(args) == 2
            err = capsys.readouterr().err
            assert err.startswith(f"error: {store.root / 'sweep.json'}: ") and err.count("\n") == 1, err


RENAME = f"""\
base: {ROOT / "scenarios" / "classroom.yaml"}
set: {{consumers.count: 500, merchants.count: 30, days: 3, burn_in_days: 0}}
design: grid
parameters:
  platforms.video.name: {{values: [video, shortvideo]}}
"""


def test_a_platform_some_runs_lack_has_no_finance_share_column(tmp_path: Path) -> None:
    """Renaming (or removing) a platform in some runs: its finance share is left out and said so (by default),
    or refused when the sweep file asks for it, never a column that is NaN in some runs."""
    from sim.sweep.spec import SweepError
    from sim.sweep.worker import kpis_of

    path = tmp_path / "rename.yaml"
    path.write_text(RENAME)
    plan = load_sweep(str(path))
    assert "finance_share_video" in plan.kpis
    notes = runner.keep_shared_platforms(plan)
    assert "finance_share_video" not in plan.kpis and "finance_share_community" in plan.kpis
    assert notes == ["finance_share_video: left out (platform video is missing in runs with "
                     "platforms.video.name=shortvideo)"]
    path.write_text(RENAME.replace("design: grid", "design: grid\nkpis: [gmv, finance_share_video]"))
    with pytest.raises(SweepError, match=r"kpis: finance_share_video: not every run has platform video"):
        runner.keep_shared_platforms(load_sweep(str(path)))
    summary = {"gmv": 1.0, "platform_finance_revenue_share": {"shortvideo": 0.1}}
    with pytest.raises(ValueError, match="no finance_share_video"):  # the worker fails the run, no NaN
        kpis_of(summary, ["gmv", "finance_share_video"])


def test_an_undefined_ratio_is_stored_as_missing_not_zero(tmp_path: Path) -> None:
    """3 days without burn-in: nothing written off, so recovery_rate is undefined; the run is done and the KPI
    missing (null in its metadata, NaN in the table), where it used to be stored as 0."""
    from sim.sweep.worker import kpis_of

    path = tmp_path / "s.yaml"
    path.write_text(SWEEP.replace("days: 20, burn_in_days: 10", "days: 3, burn_in_days: 0")
                    .replace("kpis: [gmv, bnpl_uptake]", "kpis: [gmv, recovery_rate]"))
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    task = runner.task_of(plan, store, plan.unique()[0])
    assert execute(task)["status"] == "done"
    assert store.read_meta(task["id"])["kpis"]["recovery_rate"] is None
    table = results_table(plan, store)
    assert table.loc[0, "status"] == "done" and pd.isna(table.loc[0, "recovery_rate"]) and table.loc[0, "gmv"] > 0
    summary = {"gmv": 1.0, "recovery_rate": None, "platform_finance_revenue_share": {"video": None}}
    assert kpis_of(summary, ["gmv", "recovery_rate", "finance_share_video"]) == {
        "gmv": 1.0, "recovery_rate": None, "finance_share_video": None}


GRID = f"""\
base: {ROOT / "scenarios" / "classroom.yaml"}
design: grid
parameters:
  regulation.rate_cap: {{values: [0.12, 0.24]}}
  consumers.bnpl_preference: {{values: [0.08, 0.16, 0.24]}}
replications: 2
kpis: [gmv, recovery_rate]
series: [orders]
"""


def test_sweep_summaries_leave_undefined_points_out_and_say_so(tmp_path: Path) -> None:
    """recovery_rate undefined in both runs at one point and in one run at another: left out of the means (not
    averaged in as 0), counted in summary.csv, named in the printed notes; the figures draw without it."""
    from sim.sweep import analysis
    from sim.sweep.table import write_tables

    path = tmp_path / "g.yaml"
    path.write_text(GRID)
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    for r in plan.unique():
        cap, pref = r.params["regulation.rate_cap"], r.params["consumers.bnpl_preference"]
        undefined = (cap, pref) == (0.12, 0.08) or ((cap, pref) == (0.24, 0.08) and r.replication == 1)
        kpis = {"gmv": 100 * pref + r.replication, "recovery_rate": None if undefined else 0.2 + r.replication / 10}
        store.write_run(r.id, pd.DataFrame({"day": [1, 2], "orders": [3, 4]}),
                        {"id": r.id, "seed": r.seed, "params": r.params, "kpis": kpis})
        store.write_record(r.id, {"id": r.id, "status": "done"})
    frame = write_tables(plan, store)
    written = analysis.summarize_sweep(plan, store, frame)
    assert "figures/heatmap.png" in written and (store.root / "figures" / "heatmap.png").is_file()
    summary = pd.read_csv(store.root / "summary.csv").set_index(["point", "kpi"])
    never, once, always = summary.loc[(0, "recovery_rate")], summary.loc[(3, "recovery_rate")], \
        summary.loc[(1, "recovery_rate")]
    assert (never["n"], never["undefined"]) == (0, 2) and pd.isna(never["mean"])
    assert never["note"] == "undefined in every replication (nothing written off): no mean"
    assert (once["n"], once["undefined"], once["mean"]) == (1, 1, pytest.approx(0.2))  # not (0.2 + 0) / 2
    assert once["note"] == ("undefined in 1 of 2 replications (nothing written off): mean over the other 1; no "
                            "interval: 1 replication (lo and hi are its value)")
    assert (always["n"], always["mean"]) == (2, pytest.approx(0.25)) and pd.isna(always["note"])
    assert (summary.xs("gmv", level="kpi")["n"] == 2).all()
    assert analysis.undefined_notes(plan, frame) == [
        "recovery_rate: undefined (nothing written off) in 3 of 12 finished runs, at 2 of 6 design points (1 with "
        "no value at all); left out of summary.csv means and the figures (n/a)"]


def test_a_mean_over_one_replication_is_said_to_have_no_interval(tmp_path: Path) -> None:
    """With one replication (the default, usual for lhs, sobol and morris) lo and hi equal the mean: summary.csv
    gave that zero-width "95% interval" with an empty note, as if the mean were certain."""
    from sim.sweep import analysis
    from sim.sweep.table import write_tables

    path = tmp_path / "g.yaml"
    path.write_text(GRID.replace("replications: 2", "replications: 1"))
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    for r in plan.unique():
        store.write_run(r.id, pd.DataFrame({"day": [1, 2], "orders": [3, 4]}),
                        {"id": r.id, "seed": r.seed, "params": r.params, "kpis": {"gmv": 5.0, "recovery_rate": 0.2}})
        store.write_record(r.id, {"id": r.id, "status": "done"})
    summary = analysis.point_summary(plan, write_tables(plan, store))
    assert (summary["n"] == 1).all() and (summary["lo"] == summary["mean"]).all()
    assert (summary["note"] == "no interval: 1 replication (lo and hi are its value)").all()


def test_a_folder_that_stored_undefined_ratios_as_zero_is_refused(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Folders written before undefined ratio KPIs were stored as missing hold 0 in their place: resuming
    would mix the two, and sensitivity indices would count those zeros as measurements."""
    import json

    import run

    store, _ = _setup(tmp_path)
    info = json.loads((store.root / "sweep.json").read_text())
    assert info["kpi_format"] == 2
    del info["kpi_format"]
    (store.root / "sweep.json").write_text(json.dumps(info))
    for args in (["sweep", str(tmp_path / "s.yaml"), "--out", str(store.root), "--resume", "--quiet",
                  "--ignore-code-change"],
                 ["sensitivity", str(store.root)]):
        assert run.main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {store.root / 'sweep.json'}: written before undefined ratio KPIs"), err
        assert err.count("\n") == 1, err


@pytest.mark.parametrize("stage", ["tables", "figures"])
def test_ctrl_c_while_writing_tables_and_figures_says_the_runs_are_kept(
        stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every run is on disk by then: run.py's generic "interrupted: nothing written" was wrong there."""
    import run
    from sim.sweep import analysis, table

    store, tasks = _setup(tmp_path)
    for task in tasks:
        execute(task)

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    if stage == "tables":
        monkeypatch.setattr(table, "manifest_table", ctrl_c)
    else:
        monkeypatch.setattr(analysis, "summarize_sweep", ctrl_c)
    args = ["sweep", str(tmp_path / "s.yaml"), "--out", str(store.root), "--resume", "--quiet", "--ignore-code-change"]
    assert run.main(args) == 130
    err = capsys.readouterr().err
    assert err == (f"interrupted while writing the tables and figures: every run has finished and is kept in "
                   f"{store.root}; continue with --resume\n")
    monkeypatch.undo()
    assert run.main(args) == 0  # the resume runs nothing and writes them
    assert len(pd.read_csv(store.root / "results.csv")) == 2 and (store.root / "summary.csv").is_file()
    assert not store.running.exists()  # the empty folder of markers of runs in progress is removed at the end


def test_resume_after_changing_only_kpis_or_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run ids are the same: fewer KPIs or series than the runs store is a resume (new runs still store all,
    so every run holds the same); asking for one the runs do not store is refused with that reason, not as
    'a different sweep'."""
    import run
    from sim.sweep.spec import SweepError

    store, tasks = _setup(tmp_path)
    execute(tasks[0])
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(SWEEP.replace("kpis: [gmv, bnpl_uptake]", "kpis: [gmv]"))
    plan = load_sweep(str(fewer))
    runner.prepare(plan, store.root, resume=True, ignore_code_change=True)
    task = runner.task_of(plan, store, plan.unique()[1])
    assert task["kpis"] == ["gmv", "bnpl_uptake"] and task["series"] == ["day", "orders"]
    execute(task)
    assert set(store.read_meta(task["id"])["kpis"]) == {"gmv", "bnpl_uptake"}
    args = ["sweep", str(fewer), "--out", str(store.root), "--resume", "--quiet", "--ignore-code-change",
            "--no-figures"]
    assert run.main(args) == 0
    table = pd.read_csv(store.root / "results.csv")
    assert "bnpl_uptake" not in table and (table["status"] == "done").all() and table["gmv"].notna().all()
    capsys.readouterr()
    for change, key, lacking in (("kpis: [gmv, bnpl_uptake]", "kpis", "orders"),
                                 ("series: [orders]", "series", "bnpl_uptake")):
        more = tmp_path / "more.yaml"
        more.write_text(SWEEP.replace(change, change.replace("]", f", {lacking}]")))
        with pytest.raises(SweepError, match=rf"{key}: this file asks for {lacking}, which its runs do not store"):
            runner.prepare(load_sweep(str(more)), store.root, resume=True, ignore_code_change=True)


def test_resume_with_more_replications_or_grid_values_extends_the_sweep(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Replication seeds are a prefix (SeedSequence.spawn) and run ids hash the values, so a file that only
    adds runs extends the folder: only the new runs execute, and the table is the one of a fresh sweep. A file
    that drops runs is refused in one line, saying how many."""
    import json

    import run
    from sim.sweep.spec import SweepError

    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(SWEEP + "replications: 1\n")
    two.write_text(SWEEP + "replications: 2\n")
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    common = ["--workers", "1", "--quiet", "--no-figures"]
    assert run.main(["sweep", str(one), "--out", str(out), *common]) == 0
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert len(kept) == 2
    capsys.readouterr()
    assert run.main(["sweep", str(two), "--out", str(out), "--resume", *common]) == 0
    printed = capsys.readouterr().out
    assert f"extending {out.resolve()}: 2 planned runs -> 4;" in printed
    assert "runs: 2 run now, 2 already stored, 0 failed" in printed
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir() if p.name in kept} == kept
    assert len(list((out / "runs").iterdir())) == 4
    assert all(r["attempts"] == 1 for r in map(json.loads, map(Path.read_text, (out / "manifest").iterdir())))
    info = json.loads((out / "sweep.json").read_text())
    assert info["runs"] == 4 and info["sweep"]["replications"] == 2 and len(info["seeds"]) == 2
    assert run.main(["sweep", str(two), "--out", str(fresh), *common]) == 0
    assert (out / "results.csv").read_bytes() == (fresh / "results.csv").read_bytes()
    assert (out / "design.parquet").read_bytes() == (fresh / "design.parquet").read_bytes()
    capsys.readouterr()
    # resuming with the file as it is now is an ordinary resume (sweep.json describes the extended sweep)
    assert run.main(["sweep", str(two), "--out", str(out), "--resume", *common]) == 0
    printed = capsys.readouterr().out
    assert "extending" not in printed and "runs: 0 run now, 4 already stored" in printed
    # the grid's values in another order lay out the same runs: a resume, not an extension
    swapped = tmp_path / "swapped.yaml"
    swapped.write_text(two.read_text().replace("[0.12, 0.24]", "[0.24, 0.12]"))
    assert run.main(["sweep", str(swapped), "--out", str(out), "--resume", *common]) == 0
    printed = capsys.readouterr().out
    assert "extending" not in printed and "the same 4 runs in another order" in printed, printed
    assert "runs: 0 run now, 4 already stored" in printed
    assert run.main(["sweep", str(two), "--out", str(out), "--resume", *common]) == 0
    capsys.readouterr()
    # dropping a replication is refused, in one line, exit 2
    assert run.main(["sweep", str(one), "--out", str(out), "--resume", *common]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "this file drops 2 of the folder's 4 planned runs" in err, err
    # a grid value added extends (checked without running); one replaced by another drops a point
    more = tmp_path / "more.yaml"
    more.write_text(two.read_text().replace("[0.12, 0.24]", "[0.12, 0.18, 0.24]"))
    plan = load_sweep(str(more))
    runner.prepare(plan, out, resume=True)
    assert plan.extended_from == 4 and len(plan.runs) == 6
    assert json.loads((out / "sweep.json").read_text())["runs"] == 6
    other = tmp_path / "other.yaml"
    other.write_text(two.read_text().replace("[0.12, 0.24]", "[0.12, 0.18]"))
    with pytest.raises(SweepError, match=r"holds a different sweep .*this file drops 2 of the folder's 6 planned"):
        runner.prepare(load_sweep(str(other)), out, resume=True)


def test_a_stop_between_an_extensions_two_writes_leaves_the_design_of_the_sweep_resumed(tmp_path: Path) -> None:
    """An extension writes design.parquet, then sweep.json. A stop in between, then a resume with the old
    file, must not leave the larger plan's design (which sensitivity reads) beside the smaller sweep."""
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(SWEEP + "replications: 1\n")
    two.write_text(SWEEP.replace("[0.12, 0.24]", "[0.12, 0.18, 0.24]") + "replications: 1\n")
    out = tmp_path / "out"
    runner.prepare(load_sweep(str(one)), out, resume=False)
    small_design, small_definition = (out / "design.parquet").read_bytes(), (out / "sweep.json").read_bytes()
    runner.prepare(load_sweep(str(two)), out, resume=True)
    assert len(pd.read_parquet(out / "design.parquet")) == 3
    (out / "sweep.json").write_bytes(small_definition)  # the stop: sweep.json not yet rewritten
    runner.prepare(load_sweep(str(one)), out, resume=True)
    assert (out / "design.parquet").read_bytes() == small_design


def test_runs_from_another_model_version_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Resuming after a model change is refused, but workers on a cluster load their own install of the model:
    runs from another version (or kept with --ignore-code-change) went into the tables without a word, and
    manifest.csv did not show the version of each run."""
    import json

    import run
    from sim.sweep.plan import code_version

    store, tasks = _setup(tmp_path)
    for task in tasks:
        execute(task)
    args = ["sweep", str(tmp_path / "s.yaml"), "--out", str(store.root), "--resume", "--quiet", "--no-figures"]
    assert run.main(args) == 0
    assert "model code" not in capsys.readouterr().out
    assert list(pd.read_csv(store.root / "manifest.csv", dtype=str)["code"]) == [code_version()] * 2
    record = store.record(tasks[1]["id"])
    store.write_record(tasks[1]["id"], {**record, "code": "0123456789ab"})  # a worker with another install
    assert run.main(args) == 0
    out = capsys.readouterr().out
    assert (f"model code: the finished runs come from 2 versions of sim/ ({code_version()}: 1 run, 0123456789ab: 1 "
            f"run), the sweep started with {code_version()}") in out, out
    info = json.loads((store.root / "sweep.json").read_text())
    (store.root / "sweep.json").write_text(json.dumps({**info, "code_version": "0123456789ab"}))
    store.write_record(tasks[0]["id"], {**store.record(tasks[0]["id"]), "code": "0123456789ab"})
    assert run.main(args) == 2  # the driver's model changed since: refused, as before
    assert run.main([*args, "--ignore-code-change"]) == 0
    assert "model code" not in capsys.readouterr().out  # every run has the sweep's version, though not the driver's


def test_only_old_temporary_files_are_removed(tmp_path: Path) -> None:
    """A resume removed every temporary file, also the one a live worker of the driver it replaces was about to
    rename: that run was lost. Only a file left for an hour is taken for one a killed process left behind."""
    import os
    import time

    store, _ = _setup(tmp_path)
    live, stale = store.runs / ".a.parquet.tmp-live", store.manifest / ".b.json.tmp-stale"
    for path in (live, stale):
        path.write_text("partial")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    store.clean_temporary()
    assert live.exists() and not stale.exists()


def test_a_run_that_cannot_be_stored_is_not_a_failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its temporary file removed under it, the run was recorded as failed (for good: failed runs are not rerun).
    The task now raises without a record, so that Dask retries it."""
    store, tasks = _setup(tmp_path)

    def lost_temporary(*args: object) -> None:
        raise FileNotFoundError("[Errno 2] No such file or directory: '.x.parquet.tmp-1234'")

    monkeypatch.setattr(Store, "write_run", lost_temporary)
    with pytest.raises(FileNotFoundError):
        execute(tasks[0])
    assert store.record(tasks[0]["id"]) is None
    monkeypatch.undo()
    assert execute(tasks[0])["status"] == "done" and store.finished(tasks[0]["id"])


NULL_GRID = f"""\
base: {ROOT / "scenarios" / "community_merchant_loans.yaml"}
set: {{platforms.community.finance.strategy: traffic_diversion}}
design: grid
parameters:
  platforms.community.finance.license_lender: {{values: [null, community_credit]}}
  consumers.bnpl_preference: {{values: [0.08, 0.16]}}
replications: 2
kpis: [gmv]
series: [orders]
"""


def _stored(plan: object, store: Store, failing: object = lambda r: False) -> pd.DataFrame:
    """Every run of the plan stored as if run (gmv from its parameters), except those `failing` says failed."""
    from sim.sweep.table import write_tables

    for r in plan.unique():
        if failing(r):
            store.write_record(r.id, {"id": r.id, "status": "failed", "error": "ValueError: no"})
            continue
        gmv = 100 * r.params["consumers.bnpl_preference"] + r.replication + (r.params[plan.parameters[0]] is None)
        store.write_run(r.id, pd.DataFrame({"day": [1, 2], "orders": [3, 4]}),
                        {"id": r.id, "seed": r.seed, "params": r.params, "kpis": {"gmv": gmv}})
        store.write_record(r.id, {"id": r.id, "status": "done"})
    return write_tables(plan, store)


def test_a_null_grid_value_has_its_own_cells_in_the_figures(tmp_path: Path) -> None:
    """pandas turns a null value into NaN, which equals nothing and which groupby drops: the heat map crashed
    (`rows.index(nan)`) after every run had finished, and the line plots lost the null value's runs."""
    import matplotlib.pyplot as plt

    from sim.sweep import analysis

    path = tmp_path / "n.yaml"
    path.write_text(NULL_GRID)
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    frame = _stored(plan, store)
    drawn: list[object] = []
    real = plt.Axes.plot
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt.Axes, "plot", lambda ax, *a, **k: drawn.append(k.get("label")) or real(ax, *a, **k))
        written = analysis.summarize_sweep(plan, store, frame)
    assert "figures/heatmap.png" in written and (store.root / "figures" / "heatmap.png").is_file()
    assert "license_lender=null" in drawn and "license_lender=community_credit" in drawn
    summary = pd.read_csv(store.root / "summary.csv")
    assert len(summary) == 4 and (summary["n"] == 2).all()


def test_a_point_whose_runs_all_failed_keeps_its_rows_in_the_summary(tmp_path: Path) -> None:
    """summary.csv promises one row per design point and KPI; a point whose runs all failed was left out."""
    from sim.sweep import analysis

    path = tmp_path / "n.yaml"
    path.write_text(NULL_GRID)
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    frame = _stored(plan, store, failing=lambda r: r.point == 1)
    assert "figures/heatmap.png" in analysis.summarize_sweep(plan, store, frame)
    summary = pd.read_csv(store.root / "summary.csv").set_index("point")
    assert list(summary.index) == [0, 1, 2, 3] and (summary.drop(index=1)["n"] == 2).all()
    assert summary.loc[1, "n"] == 0 and pd.isna(summary.loc[1, "mean"])
    assert summary.loc[1, "note"] == "no finished run (every replication failed or is missing): no mean"


def test_a_sampled_switch_is_named_on_the_axis_of_its_figure(tmp_path: Path) -> None:
    """A sampled parameter given as values that are not numbers goes on the axis by position: `[true, false]`
    put true at 0 and false at 1 on a plain 0-1 axis, which reads the other way round. The ticks name them."""
    import matplotlib.pyplot as plt

    from sim.sweep import analysis

    path = tmp_path / "s.yaml"
    path.write_text(NULL_GRID.replace("design: grid", "design: lhs\nsamples: 4")
                    .replace("{values: [0.08, 0.16]}", "{low: 0.08, high: 0.16}")
                    .replace("[null, community_credit]", "[true, false]")
                    .replace("finance.license_lender", "finance.cash_loans"))
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    frame = _stored(plan, store)
    ticks: dict[str, list[str]] = {}

    def keep_ticks(fig: object, out: Path, title: str) -> None:
        ticks[out.name] = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        plt.close(fig)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis, "_save", keep_ticks)
        analysis.summarize_sweep(plan, store, frame)
    assert ticks["kpi_vs_1_platforms_community_finance_cash_loans.png"] == ["True", "False"]
    assert "True" not in ticks["kpi_vs_2_consumers_bnpl_preference.png"]  # a range keeps its numeric axis


def test_a_sweep_that_keeps_no_daily_series_draws_no_fan_chart(tmp_path: Path) -> None:
    """`series: [day]` (KPIs only) divided by zero while laying out an empty fan chart: a traceback after every
    run had finished, and on every --resume. The other figures are drawn, the fan chart is not."""
    from sim.sweep import analysis

    path = tmp_path / "n.yaml"
    path.write_text(NULL_GRID.replace("series: [orders]", "series: [day]"))
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    frame = _stored(plan, store)
    written = analysis.summarize_sweep(plan, store, frame)
    assert "figures/fan_charts.png" not in written and "figures/heatmap.png" in written
    assert not (store.root / "figures" / "fan_charts.png").exists()


def test_figures_not_drawn_again_are_removed_with_the_tables_rewritten(tmp_path: Path) -> None:
    """A resume with `--no-figures` (or a design drawing fewer figures) rewrote the tables and left the earlier
    figures beside them, no longer matching; a figure the pass does not draw is removed, one it draws is kept."""
    from sim.sweep import analysis

    path = tmp_path / "n.yaml"
    path.write_text(NULL_GRID)
    plan = load_sweep(str(path))
    store = runner.prepare(plan, tmp_path / "out", resume=False)
    frame = _stored(plan, store)
    figures = store.root / "figures"
    analysis.summarize_sweep(plan, store, frame)
    assert (figures / "fan_charts.png").exists() and (figures / "heatmap.png").exists()
    (figures / "notes.txt").write_text("mine")  # not a picture this code draws: left alone
    path.write_text(NULL_GRID.replace("series: [orders]", "series: [day]"))
    written = analysis.summarize_sweep(load_sweep(str(path)), store, frame)
    assert "figures/heatmap.png" in written and (figures / "heatmap.png").exists()
    assert not (figures / "fan_charts.png").exists()
    analysis.summarize_sweep(plan, store, frame, figures=False)
    assert sorted(p.name for p in figures.iterdir()) == ["notes.txt"]


def test_an_embedded_cluster_starts_no_more_workers_than_runs_left() -> None:
    """Each embedded worker is a process: `--workers 8` for three runs left starts three, not eight."""
    assert runner.embedded_workers(8, 3) == 3
    assert runner.embedded_workers(2, 3) == 2
    assert runner.embedded_workers(None, 1) == 1
    assert runner.embedded_workers(None, 10_000) == (os.cpu_count() or 1)


def test_a_fan_keeps_runs_shorter_than_the_first() -> None:
    """With `days` swept, runs differ in length: the fan covers the days all have, and drops none of them."""
    long = pd.DataFrame({"day": range(5), "orders": [1.0] * 5})
    short = pd.DataFrame({"day": range(3), "orders": [2.0] * 3})
    day, stack = stacked_series([long, short], "orders")
    assert list(day) == [0, 1, 2]
    assert stack.tolist() == [[1.0] * 3, [2.0] * 3]
