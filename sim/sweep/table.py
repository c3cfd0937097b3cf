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
            elif rec.get("status") == "done":  # its file went missing or bad since: not a run with undefined KPIs
                cache[run.id] = {"status": "missing", "error": "its run file is missing or unreadable; --resume "
                                                               "runs it again"}
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
    """One row per distinct run: status, error, duration, worker, attempts, the model version its worker ran
    (`code`) and when (varies from execution to execution)."""
    keep = ("id", "status", "error", "duration_s", "worker", "attempts", "code", "finished_at")
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


def model_versions_note(store: Store) -> str | None:
    """One line when the finished runs (manifest.csv) come from a model version other than the one the sweep
    started with (sweep.json), or from several: workers with another install of the model, or runs kept with
    --ignore-code-change. None when every run has the sweep's version."""
    started = store.definition().get("code_version")
    manifest = pd.read_csv(store.root / "manifest.csv", usecols=["status", "code"], dtype=str)
    counts = manifest.loc[manifest["status"] == "done", "code"].dropna().value_counts()
    if counts.empty or list(counts.index) == [started]:
        return None
    versions = ", ".join(f"{code}: {n} run{'s' if n > 1 else ''}" for code, n in counts.items())
    return (f"model code: the finished runs come from {len(counts)} version{'s' if len(counts) > 1 else ''} of sim/ "
            f"({versions}), the sweep started with {started}: their results may differ for that reason alone "
            "(manifest.csv, column code, names each run's); install one version on every worker, or run the sweep "
            "again into another --out")


def read_results(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / "results.parquet")
