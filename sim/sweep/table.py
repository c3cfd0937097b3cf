"""The tidy results table (one row per planned run: parameters x KPIs) and the manifest table, from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.sweep.plan import Plan
from sim.sweep.store import Store, atomic_write

ID_COLUMNS = ("point", "replication", "seed", "run_id", "status", "error")


def results_table(plan: Plan, store: Store) -> pd.DataFrame:
    """Rows in design order (point, replication); KPIs read from each run's Parquet metadata.

    Only deterministic columns: it is identical however and wherever the runs were executed. A KPI is missing
    (NaN) in a row whose run did not finish, and in a `done` row where the run left that ratio undefined (None
    in its summary, e.g. `recovery_rate` with nothing written off).
    """
    cache: dict[str, dict[str, Any]] = {}
    rows = []
    for run in plan.runs:
        if run.id not in cache:
            meta = store.read_meta(run.id)
            rec = store.record(run.id) or {}
            if meta is not None and rec.get("status") == "done":
                cache[run.id] = {"status": "done", "error": None, **meta["kpis"]}
            else:
                cache[run.id] = {"status": rec.get("status", "missing"), "error": rec.get("error")}
        found = cache[run.id]
        row = {"point": run.point, "replication": run.replication, "seed": run.seed, "run_id": run.id,
               "status": found["status"], "error": found["error"], **plan.shown(run.params)}
        row.update({k: found.get(k, np.nan) for k in plan.kpis})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*ID_COLUMNS, *plan.parameters, *plan.kpis])
    frame[list(plan.kpis)] = frame[list(plan.kpis)].astype(float)
    return frame


def manifest_table(plan: Plan, store: Store) -> pd.DataFrame:
    """One row per distinct run: status, error, duration, worker, attempts (varies from execution to execution)."""
    keep = ("id", "status", "error", "duration_s", "worker", "attempts", "finished_at")
    rows = [{k: (store.record(r.id) or {"id": r.id, "status": "missing"}).get(k) for k in keep}
            for r in plan.unique()]
    return pd.DataFrame(rows, columns=list(keep))


def write_tables(plan: Plan, store: Store) -> pd.DataFrame:
    """Write results.parquet, results.csv and manifest.csv (atomically); return the results."""
    frame = results_table(plan, store)
    root = store.root
    atomic_write(root / "results.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    atomic_write(root / "results.csv", lambda tmp: frame.to_csv(tmp, index=False))
    manifest = manifest_table(plan, store)
    atomic_write(root / "manifest.csv", lambda tmp: manifest.to_csv(tmp, index=False))
    return frame


def read_results(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / "results.parquet")
