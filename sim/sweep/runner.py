"""The driver: submit a sweep's missing runs to Dask, follow them with a progress bar. Callers also find here the
store's preparation (`preparation`) and the connection to Dask (`cluster`), re-exported."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from typing import Any

from sim.sweep.cluster import HEARTBEAT_LOST, _CancelOfUnstartedCall, check_scheduler, connect
from sim.sweep.plan import Plan
from sim.sweep.preparation import check_resumable, keep_shared_platforms, prepare
from sim.sweep.store import Store

__all__ = [
    "HEARTBEAT_LOST",
    "RETRIES",
    "WINDOW",
    "Outcome",
    "RunNotStored",
    "SchedulerLost",
    "_CancelOfUnstartedCall",
    "check_resumable",
    "check_scheduler",
    "connect",
    "execute_all",
    "keep_shared_platforms",
    "prepare",
    "task_key",
    "task_of",
]

RETRIES = 2
WINDOW = 256  # runs submitted ahead of completion (at least 4 per worker)


class SchedulerLost(Exception):
    """The driver lost its connection to the scheduler: the runs still in flight were not run (no record is
    written for them) and `--resume` continues; whatever the workers finish meanwhile is kept."""


class RunNotStored(Exception):
    """A run's task kept raising outside the model after Dask's retries (the worker cannot see or write the sweep
    folder: no shared file system, a full disk). Nothing says the model fails there, so the run gets no `failed`
    record, which a resume would keep for good; the sweep stops, since the next runs would meet the same store."""


def _connection_lost(exc: BaseException) -> bool:
    """A future cancelled (the client cancels every future when its scheduler connection drops) or a closed
    comm: nothing is known about the run, so it is not a failed run."""
    from concurrent.futures import CancelledError  # distributed's FutureCancelledError is one

    from distributed.comm.core import CommClosedError

    return isinstance(exc, CancelledError | CommClosedError)


@dataclass
class Outcome:
    planned: int
    ran: int
    skipped: int
    failed: int


def task_key(store: Store, run_id: str) -> str:
    """The Dask key of a run's task: the run id and its sweep folder.

    A scheduler treats tasks with the same key as one task. Run ids depend only on the scenario, the values
    and the seed, so two sweeps of the same runs into different folders on a shared cluster (a rerun into a
    new --out while the first is going) would get the other folder's task: it writes there, and this folder
    gets nothing. The same folder keeps its key, so a resumed driver still picks up runs that workers are
    finishing for the driver it replaces."""
    folder = hashlib.sha256(str(store.root).encode()).hexdigest()[:12]
    return f"run-{run_id}-{folder}"


def task_of(plan: Plan, store: Store, run: Any) -> dict[str, Any]:
    return {"id": run.id, "seed": run.seed, "params": run.params, "base": plan.base,
            "kpis": plan.stored_kpis or plan.kpis, "series": plan.stored_series or plan.series,
            "out": str(store.root)}


def embedded_workers(requested: int | None, runs: int) -> int:
    """Worker processes for an embedded cluster: as asked (default: one a core), but no more than there are runs
    left, since each is a process of its own that takes memory and time to start."""
    return max(1, min(requested or os.cpu_count() or 1, runs))


def execute_all(plan: Plan, store: Store, *, workers: int | None, scheduler: str | None, retry_failed: bool,
                quiet: bool) -> Outcome:
    """Run every run not yet finished; results go to the store, only small records come back."""
    from distributed import as_completed
    from tqdm import tqdm

    from sim.sweep.worker import execute

    unique = plan.unique()
    todo = [r for r in unique if not store.finished(r.id, retry_failed=retry_failed)]
    pending = {r.id for r in todo}
    failed = sum(1 for r in unique if r.id not in pending and (store.record(r.id) or {}).get("status") == "failed")
    done = len(unique) - len(todo)
    if not todo:
        return Outcome(len(unique), 0, done, failed)
    with connect(None if scheduler else embedded_workers(workers, len(todo)), scheduler) as client, \
            tqdm(total=len(unique), initial=done, desc=plan.sweep.name, unit="run", file=sys.stderr,
                 disable=quiet, smoothing=0.05, mininterval=0.5) as bar:
        bar.set_postfix(failed=failed)
        window = max(WINDOW, 4 * len(client.scheduler_info()["workers"]))
        queue = iter(todo)
        by_key: dict[str, tuple[Any, dict[str, Any] | None]] = {}  # a run, and its record when submitted

        def submit(count: int) -> list[Any]:
            runs = [r for _, r in zip(range(count), queue, strict=False)]
            futures = client.map(execute, [task_of(plan, store, r) for r in runs],
                                 key=[task_key(store, r.id) for r in runs], retries=RETRIES, pure=False)
            by_key.update({f.key: (r, store.record(r.id)) for f, r in zip(futures, runs, strict=True)})
            return futures

        pending = as_completed(submit(window))
        for future in pending:  # at most `window` runs are in flight: memory stays flat for any sweep size
            run, before = by_key.pop(future.key)
            try:
                status = future.result()["status"]
            except Exception as exc:
                lost = _connection_lost(exc)
                status = None if lost else _task_lost(store, run, before, exc)
                if status is None:
                    unfinished = len(by_key) + 1 + sum(1 for _ in queue)
                    error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
                    if lost:
                        raise SchedulerLost(f"lost the Dask scheduler ({error}) with {unfinished} runs "
                                            "unfinished") from None
                    raise RunNotStored(f"run {run.id} could not be stored in {RETRIES + 1} attempts ({error}); it is "
                                       f"not recorded as failed; {unfinished} runs unfinished") from None
            failed += status == "failed"
            future.release()
            bar.update()
            bar.set_postfix(failed=failed)
            pending.update(submit(1))
    return Outcome(len(unique), len(todo), done, failed)


def _task_lost(store: Store, run: Any, before: dict[str, Any] | None, exc: Exception) -> str | None:
    """The task failed outside the model. Its workers kept dying (KilledWorker): record it as failed. It raised
    itself in every attempt Dask gave it (the run could not be stored): no record, None. Either way a record that
    a worker wrote after the task was submitted stands (an attempt that finished is never overwritten)."""
    from distributed import KilledWorker

    now = store.record(run.id)
    if now is not None and now != before:
        return str(now.get("status"))
    if not isinstance(exc, KilledWorker):
        return None
    store.write_record(run.id, {"id": run.id, "status": "failed", "seed": run.seed, "params": run.params,
                                "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                                "worker": None, "duration_s": None})
    return "failed"
