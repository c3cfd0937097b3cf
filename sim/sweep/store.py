"""The sweep store: one Parquet file and one manifest record per run, each written atomically.

Layout of a sweep folder:
    sweep.json              the sweep as run (definition, fingerprint, seeds)
    design.parquet          one row per design point (parameter values; unit-cube coordinates if sampled)
    runs/<id>.parquet       a finished run's daily market series; its KPIs in the file's metadata
    manifest/<id>.json      id, status (done|failed), error, duration, worker, attempts
    running/<id>.<worker>   marker while a worker executes a run (left behind by a worker that died); the
                            folder is removed at the end of the sweep when empty
A run counts as done only when both its manifest record says so and its Parquet file reads back.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from sim.sweep.spec import SweepError

META_KEY = b"sweep_run"
DEFINITION_KEYS = ("name", "fingerprint", "code_version", "sweep", "parameters", "kpis")
# How runs store KPIs, recorded in sweep.json. 2: a ratio with nothing to divide by (recovery rate with
# nothing written off) is stored as missing. Folders without the key were written when such ratios were
# stored as 0, which no analysis can tell from a measured 0.
KPI_FORMAT = 2
OLD_KPI_FORMAT = ("written before undefined ratio KPIs were stored as missing: its runs hold 0 where nothing "
                  "was there to divide (a recovery rate with nothing written off)")


def check_kpi_format(folder: Path, info: dict[str, Any], then: str) -> None:
    """A one-line `SweepError` when the folder's runs store undefined ratios as 0 (see `KPI_FORMAT`)."""
    if info.get("kpi_format") != KPI_FORMAT:
        raise SweepError(f"{Path(folder) / 'sweep.json'}: {OLD_KPI_FORMAT}; {then}")


TEMPORARY = ".*.tmp-*"
"""The names `atomic_write` writes to before the rename (left behind by a process killed while writing)."""
STALE_TEMPORARY_S = 3600.0  # a temporary file this old was left by a process that died (`Store.clean_temporary`)


def atomic_write(path: Path, write: Any) -> None:
    """Call `write(tmp_path)`, flush it to disk, then rename it to `path` (readers never see a partial file)."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8"))


def read_definition(folder: Path) -> dict[str, Any]:
    """A sweep folder's sweep.json as a mapping, or a one-line `SweepError` naming the file."""
    path = Path(folder) / "sweep.json"
    again = "cannot resume or analyse this folder; run the sweep again into another --out"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SweepError(f"{path}: damaged, not readable JSON ({str(exc).splitlines()[0]}); {again}") from None
    missing = [k for k in DEFINITION_KEYS if k not in info] if isinstance(info, dict) else list(DEFINITION_KEYS)
    if missing or not isinstance(info["sweep"], dict):
        raise SweepError(f"{path}: not a sweep definition (missing or wrong: {', '.join(missing or ['sweep'])}); "
                         f"{again}")
    return info


class Store:
    """A sweep folder on a file system that the driver and every worker can reach."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.runs = self.root / "runs"
        self.manifest = self.root / "manifest"
        self.running = self.root / "running"

    def create(self) -> None:
        for folder in (self.runs, self.manifest, self.running):
            folder.mkdir(parents=True, exist_ok=True)

    def exists(self) -> bool:
        return (self.root / "sweep.json").is_file()

    def unstarted(self) -> bool:
        """The folder holds only what `create` and the design write before sweep.json (a driver stopped in
        between): empty runs/, manifest/ and running/ folders, design.parquet, temporary files. Nothing of a
        run is in it, so a sweep may start there."""
        if not self.root.is_dir():
            return False
        skeleton = {self.runs.name, self.manifest.name, self.running.name}
        for entry in self.root.iterdir():
            if entry.name in skeleton and entry.is_dir() and not entry.is_symlink():
                if any(entry.iterdir()):
                    return False
            elif entry.name != "design.parquet" and not entry.match(TEMPORARY):
                return False
        return True

    def definition(self) -> dict[str, Any]:
        """sweep.json; a damaged one is a one-line `SweepError` (it is only ever written atomically, so it
        was edited or damaged outside the sweep)."""
        return read_definition(self.root)

    # --- one run ----------------------------------------------------------------------------------

    def run_path(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.parquet"

    def write_run(self, run_id: str, series: pd.DataFrame, meta: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(series, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               META_KEY: json.dumps(meta, default=str).encode()})
        atomic_write(self.run_path(run_id), lambda tmp: pq.write_table(table, tmp))

    def read_meta(self, run_id: str) -> dict[str, Any] | None:
        """A finished run's record (KPIs, parameters, seed), or None if its file is missing or unreadable."""
        import pyarrow.parquet as pq

        path = self.run_path(run_id)
        try:
            meta = pq.read_metadata(path)
            return json.loads(meta.metadata[META_KEY])
        except Exception:  # missing, truncated, corrupt: the run is redone
            return None

    def read_series(self, run_id: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.run_path(run_id), columns=columns)

    def write_record(self, run_id: str, record: dict[str, Any]) -> None:
        write_json(self.manifest / f"{run_id}.json", record)

    def record(self, run_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.manifest / f"{run_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def finished(self, run_id: str, *, retry_failed: bool = False) -> bool:
        """True when nothing is left to do for this run."""
        rec = self.record(run_id)
        if rec is None:
            return False
        if rec.get("status") == "failed":
            return not retry_failed
        return rec.get("status") == "done" and self.read_meta(run_id) is not None

    # --- markers of runs in progress ---------------------------------------------------------------

    def mark_running(self, run_id: str, worker: str) -> Path:
        self.running.mkdir(exist_ok=True)  # removed when the driver finished (a stray duplicate may follow)
        marker = self.running / f"{run_id}.{worker}"
        marker.write_text("", encoding="utf-8")
        return marker

    def clear_running(self, run_id: str) -> int:
        """Remove every marker of a run; the number removed is the number of attempts."""
        markers = list(self.running.glob(f"{run_id}.*"))
        for m in markers:
            m.unlink(missing_ok=True)
        return len(markers)

    def remove_running_if_empty(self) -> None:
        """At the end of a sweep: drop `running/` unless markers are left in it."""
        try:
            self.running.rmdir()
        except OSError:  # not empty, or already gone
            pass

    def clean_temporary(self, *, older_than: float = STALE_TEMPORARY_S) -> None:
        """Remove partial files left by a process that was killed while writing, once they are `older_than`
        seconds old. A younger one may be live: a worker of the driver this one replaces (`--resume` while the
        workers still finish) is about to rename it, and removing it would lose that run. A write takes
        seconds, so an hour leaves no doubt, even with the clocks of a shared file system a little apart."""
        now = time.time()
        for folder in (self.root, self.runs, self.manifest):
            for tmp in folder.glob(TEMPORARY):
                try:
                    if now - tmp.stat().st_mtime > older_than:
                        tmp.unlink(missing_ok=True)
                except FileNotFoundError:  # renamed meanwhile by the process that wrote it
                    pass


def remove_stale_figures(folder: Path, drawn: list[Path]) -> None:
    """Remove the pictures in `folder` not drawn from the tables just written: a resume with `--no-figures` or
    fewer KPIs left the earlier run's figures beside tables they no longer match."""
    if folder.is_dir():
        for picture in folder.glob("*.png"):
            if picture not in drawn:
                picture.unlink()
