"""The sweep store and one run without Dask: atomic files, unreadable results redone, model version check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.sweep import runner
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
