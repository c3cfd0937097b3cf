"""The sweep store and one run without Dask: atomic files, unreadable results redone, model version check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
