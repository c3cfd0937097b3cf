"""What a Dask worker does for one run: build the scenario, run the model, write its Parquet file and record."""

from __future__ import annotations

import os
import socket
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from sim.sweep.plan import loaded_version
from sim.sweep.store import Store


def worker_name() -> str:
    """`<host>-<pid>` of this process (the pid lets an operator, or a test, find the worker)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def dask_worker() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def kpis_of(summary: dict[str, Any], names: list[str]) -> dict[str, float | None]:
    """The chosen KPIs as floats, platform finance shares flattened to `finance_share_<platform>`; a ratio the
    run leaves undefined stays None (null in the run's metadata, missing in results.parquet: the analysis
    leaves it out and says so), never 0.

    A KPI the run does not have (the share of a platform it lacks) fails the run with that reason rather
    than storing NaN; `runner.keep_shared_platforms` leaves such shares out before a sweep starts."""
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    flat.update({f"finance_share_{k}": v for k, v in summary["platform_finance_revenue_share"].items()})
    lacking = [name for name in names if name not in flat]
    if lacking:
        raise ValueError(f"this run has no {', '.join(lacking)} (no such platform)")
    return {name: None if flat[name] is None else float(flat[name]) for name in names}


def simulate(task: dict[str, Any]) -> tuple[Any, dict[str, float | None]]:
    """Run one model; the daily market series (chosen columns) and the KPIs."""
    from sim import MarketModel
    from sim.results import summarize
    from sim.sweep.plan import overrides_of, resolve, sweep_labels

    overrides = [f"seed={task['seed']}", *overrides_of(task["params"])]
    scenario = resolve(task["base"], overrides, sweep_labels(overrides))
    model = MarketModel(scenario, rng=task["seed"]).run()
    series = model.market_table()
    return series[[c for c in task["series"] if c in series]], kpis_of(summarize(model), task["kpis"])


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task and store its outcome; returns the small manifest record (never the results).

    A run that raises is recorded as failed (and not retried: the model is deterministic). A worker
    that dies mid-run raises nothing here; the scheduler reruns the task elsewhere. A run that cannot be
    stored raises, unrecorded, and Dask retries the task.
    """
    store = Store(task["out"])
    if not store.runs.is_dir():
        # the driver made it before submitting: a worker that lacks it does not share the driver's file system
        raise FileNotFoundError(f"sweep folder {store.root} not found on worker {worker_name()}: workers need the "
                                "--out folder at the same path as the driver (a shared file system)")
    run_id = task["id"]
    store.mark_running(run_id, worker_name())
    started = time.perf_counter()
    status, error, detail = "done", None, None
    try:
        series, kpis = simulate(task)
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        detail = traceback.format_exc(limit=8)
    else:
        # Outside the try: failing to store the run (its temporary file removed, a full disk) is no failure of
        # the model, which the record would keep for good; the task raises and Dask runs it again.
        store.write_run(run_id, series, {"id": run_id, "seed": task["seed"], "params": task["params"],
                                         "kpis": kpis})
    record = {
        "id": run_id, "status": status, "error": error, "duration_s": round(time.perf_counter() - started, 3),
        "worker": dask_worker(), "process": worker_name(), "seed": task["seed"], "params": task["params"],
        "attempts": store.clear_running(run_id), "code": loaded_version(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if detail:
        record["traceback"] = detail
    store.write_record(run_id, record)
    return {k: record[k] for k in ("id", "status", "error", "duration_s", "worker")}
