"""The driver: prepare the store, submit missing runs to Dask, follow them with a progress bar, assemble."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.results import in_the_way
from sim.scenario_files import ScenarioError
from sim.sweep import design
from sim.sweep.plan import Plan, code_version, fingerprint, overrides_of, resolve, run_id
from sim.sweep.spec import Param, Sweep, SweepError
from sim.sweep.store import KPI_FORMAT, Store, atomic_write, check_kpi_format, write_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from distributed import Client

RETRIES = 2
CONNECT_TIMEOUT = "20s"  # to an existing scheduler: to connect, and then to answer as one
WINDOW = 256  # runs submitted ahead of completion (at least 4 per worker)


@dataclass
class Outcome:
    planned: int
    ran: int
    skipped: int
    failed: int


def keep_shared_platforms(plan: Plan) -> list[str]:
    """Leave out the finance shares of platforms that some runs do not have (a parameter renames or removes
    them): such a run has no share of that platform, and neither NaN nor 0 would say so. Returns one note per
    share left out; a share the sweep file asks for by name is refused instead (`SweepError`)."""
    wanted = [k for k in plan.kpis if k.startswith("finance_share_")]
    if not wanted:
        return []
    seen: set[str] = set()
    absent: dict[str, str] = {}  # KPI -> the parameter values of a run without that platform
    for params in plan.points:
        varied = {k: v for k, v in params.items() if k == "platforms" or k.startswith("platforms.")}
        key = json.dumps(varied, sort_keys=True, default=str)
        if not varied or key in seen:
            continue
        seen.add(key)
        try:
            names = {p.name for p in resolve(plan.base, overrides_of(varied)).platforms}
        except ScenarioError:
            continue  # an invalid combination fails as a run, with its own message
        where = ", ".join(f"{k}={v}" for k, v in plan.shown(varied).items())
        for kpi in wanted:
            if kpi.removeprefix("finance_share_") not in names:
                absent.setdefault(kpi, where)
    asked = [k for k in plan.sweep.kpis or [] if k in absent]
    if asked:
        raise SweepError(f"{plan.path}: kpis: {asked[0]}: not every run has platform "
                         f"{asked[0].removeprefix('finance_share_')} (not with {absent[asked[0]]}); allowed: "
                         "finance shares of platforms that every run has")
    plan.kpis = [k for k in plan.kpis if k not in absent]
    return [f"{k}: left out (platform {k.removeprefix('finance_share_')} is missing in runs with {w})"
            for k, w in absent.items()]


@contextmanager
def _usable_out(out: Path) -> Iterator[None]:
    """An --out the file system refuses (a name too long, no permission, a read-only or pseudo file system) is a
    one-line `SweepError` rather than a traceback."""
    try:
        yield
    except OSError as exc:
        raise SweepError(f"{out}: cannot be used as the sweep folder ({exc.strerror or exc}); choose another "
                         "--out") from None


def check_resumable(out: Path) -> None:
    """`--resume` into a folder that does not exist is a one-line `SweepError` (a mistyped --out would
    otherwise start the whole sweep again, silently)."""
    with _usable_out(out):
        missing = not Path(out).exists()
    if missing:
        raise SweepError(f"--resume: nothing to resume at {out} (no such folder); check --out, or leave out --resume "
                         "to start the sweep there")


def prepare(plan: Plan, out: Path, *, resume: bool, ignore_code_change: bool = False) -> Store:
    """Create the store, or check that it belongs to this sweep (and this model version) when resuming."""
    with _usable_out(out):
        return _prepare(plan, out, resume=resume, ignore_code_change=ignore_code_change)


def _prepare(plan: Plan, out: Path, *, resume: bool, ignore_code_change: bool) -> Store:
    if resume:
        check_resumable(out)
    store = Store(out)
    blocker = in_the_way(out)
    if blocker is not None:
        raise SweepError(f"{out}: {blocker} exists and is not a folder; choose another --out")
    if store.exists():
        old = store.definition()
        if not resume:
            raise SweepError(f"{out}: holds a sweep already; add --resume to finish it, or choose another --out")
        stored_kpis, stored_series = list(old["kpis"]), list(old.get("series", plan.series))
        if old.get("fingerprint") != plan.fingerprint(stored_kpis, stored_series):
            planned = _planned_before(plan, old, stored_kpis, stored_series)
            different = (f"{out}: holds a different sweep ({old.get('name')}, {old.get('file')}): its planned "
                         "runs differ from this file's")
            if planned is None:
                raise SweepError(f"{different} ({_what_differs(plan, old)}); cannot resume it with this sweep file")
            dropped = len(set(planned) - {r.id for r in plan.runs})
            if dropped:
                seed = old["sweep"].get("seed")
                reseeded = (f": its master seed is {seed}, this file's {plan.sweep.seed}, which changes every run's "
                            "seed" if seed != plan.sweep.seed else "")
                raise SweepError(f"{different}: this file drops {dropped} of the folder's {len(set(planned))} "
                                 f"planned runs{reseeded} (a resume may only add runs: more replications, or grid "
                                 "values added); cannot resume it with this sweep file")
            plan.extended_from = len(planned)
        _check_kept(out, "kpis", "KPIs", plan.kpis, stored_kpis)
        _check_kept(out, "series", "daily series", plan.series, stored_series)
        if (plan.kpis, plan.series) != (stored_kpis, stored_series):
            plan.stored_kpis, plan.stored_series = stored_kpis, stored_series
        check_kpi_format(out, old, "its runs cannot be mixed with new ones: run the sweep again into another --out")
        if old.get("code_version") != code_version() and not ignore_code_change:
            raise SweepError(f"{out}: the model code (sim/) changed since this sweep started "
                             f"({old.get('code_version')} -> {code_version()}); stored runs came from the earlier "
                             "version: choose another --out, or add --ignore-code-change to keep them")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())) and not store.unstarted():
        raise SweepError(f"{out}: exists and is not a sweep folder; choose another --out")
    store.create()
    store.clean_temporary()
    if not store.exists():
        _write_definition(plan, store, plan.fingerprint())
    elif plan.extended_from is None:
        # a stop between an extension's two writes leaves the larger plan's design beside the old sweep.json
        _write_design(plan, store)
    else:
        # The runs still to do store what the folder's runs store (`task_of`), so the definition keeps those
        # lists, the model version the sweep started with and its KPI format; design.parquet first, sweep.json
        # last: a stop in between leaves the old sweep.json, and the next resume extends again.
        _write_definition(plan, store, plan.fingerprint(stored_kpis, stored_series), kpis=stored_kpis,
                          series=stored_series, version=old.get("code_version"), kpi_format=old.get("kpi_format"))
    return store


def _what_differs(plan: Plan, old: dict[str, Any]) -> str:
    """Why a folder's sweep lays out other runs than this file, when this file cannot extend it: the first of
    `set`, parameter names, design and base scenario that differs, as far as sweep.json tells."""
    before = old["sweep"]
    fixed = before.get("set", {})
    changed = sorted(k for k in {*fixed, *plan.sweep.set} if fixed.get(k, None) != plan.sweep.set.get(k, None))
    if changed:
        return f"set differs in {', '.join(changed)}"
    if list(old.get("parameters", [])) != plan.parameters:
        return f"parameters differ: the folder varies {', '.join(old.get('parameters', []))}"
    if before.get("design") != plan.sweep.design:
        return f"design differs: the folder's is {before.get('design')}"
    base = f"the base scenario ({plan.sweep.base}, with the files it extends) resolves to another scenario"
    if old.get("base_hash") not in (None, plan.base_hash):
        return base
    earlier = "the folder was laid out by an earlier version of the sampling"
    return earlier if old.get("base_hash") == plan.base_hash else f"{base}, or {earlier}"


def _read_back(data: dict[str, Any]) -> Sweep:
    """A sweep as sweep.json stores it (every field, defaults included) parsed again: fields at their default
    are left out, as a sweep file leaves them (`levels` is refused for a design other than morris)."""
    def given(model: type[Sweep] | type[Param], values: dict[str, Any]) -> dict[str, Any]:
        fields = model.model_fields
        return {k: v for k, v in values.items()
                if k not in fields or v != fields[k].get_default(call_default_factory=True)}

    sweep = given(Sweep, data)
    sweep["parameters"] = {k: given(Param, v) for k, v in data["parameters"].items()}
    return Sweep.model_validate(sweep)


def _planned_before(plan: Plan, old: dict[str, Any], kpis: list[str], series: list[str]) -> list[str] | None:
    """The run ids a folder planned (in design order), when this file defines its runs the same way: the
    folder's sweep laid out again (its points and seeds) on this file's base scenario gives back the stored
    fingerprint, and `set`, parameter names and design are unchanged. None otherwise (another base scenario,
    another sweep, or a folder laid out by an earlier version of the sampling)."""
    try:
        before = _read_back(old["sweep"])
        if (before.set != plan.sweep.set or list(before.parameters) != plan.parameters
                or list(old.get("parameters", [])) != plan.parameters or before.design != plan.sweep.design):
            return None
        points, _ = design.points(before)
        seeds = design.seeds(before)
    except Exception:  # a definition this version cannot lay out again: not known to be the same sweep
        return None
    ids = [run_id(plan.base_hash, params, seed) for params in points for seed in seeds]
    return ids if fingerprint(ids, plan.parameters, kpis, series, before.design) == old.get("fingerprint") else None


def _check_kept(out: Path, key: str, what: str, wanted: list[str], stored: list[str]) -> None:
    """Only `kpis` or `series` changed: fine if the stored runs hold every one asked for (a run stores only
    those its sweep file asked for); otherwise a one-line `SweepError` naming what they lack."""
    lacking = [k for k in wanted if k not in stored]
    if lacking:
        raise SweepError(f"{out}: {key}: this file asks for {', '.join(lacking)}, which its runs do not store (a "
                         f"run stores only the {what} its sweep file asked for: {', '.join(stored)}); resume "
                         f"without {', '.join(lacking)}, or run the sweep again into another --out")


def _write_definition(plan: Plan, store: Store, fingerprint: str, *, kpis: list[str] | None = None,
                      series: list[str] | None = None, version: str | None = None,
                      kpi_format: Any = KPI_FORMAT) -> None:
    _write_design(plan, store)
    write_json(store.root / "sweep.json", {
        "name": plan.sweep.name, "file": plan.path, "fingerprint": fingerprint,
        "code_version": version or code_version(), "sweep": plan.sweep.model_dump(mode="json"), "seeds": plan.seeds,
        "kpis": plan.kpis if kpis is None else kpis, "series": plan.series if series is None else series,
        "parameters": plan.parameters, "points": len(plan.points), "runs": len(plan.runs),
        "unique_runs": len(plan.unique()), "kpi_format": kpi_format, "base_hash": plan.base_hash,
    })


def _write_design(plan: Plan, store: Store) -> None:
    """design.parquet: one row per design point (its values, and unit-cube coordinates if sampled)."""
    rows = []
    for i, params in enumerate(plan.points):
        row: dict[str, Any] = {"point": i, **plan.shown(params)}
        if plan.unit is not None:
            row.update({f"u:{name}": float(u) for name, u in zip(plan.parameters, plan.unit[i], strict=True)})
        rows.append(row)
    frame = pd.DataFrame(rows)
    atomic_write(store.root / "design.parquet", lambda tmp: frame.to_parquet(tmp, index=False))


class _CancelOfUnstartedCall(logging.Filter):
    """Drops one spurious traceback of Dask's `distributed.utils.sync` (2026.8): on Ctrl-C it schedules
    `cancel()`, which, when the interrupted call had not started yet, reads an unassigned variable, and
    tornado logs the NameError. Nothing was running, so nothing is lost; the record would only make a
    clean stop look like a crash. Any other error is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, NameError) and "sync.<locals>.cancel" in record.getMessage())


def _add_filter_once(logger_name: str, kind: type[logging.Filter]) -> None:
    """Add a `kind` filter to the logger unless it has one (connecting again must not stack them)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def _quiet_cancel_of_unstarted_calls() -> None:
    # Kept for the life of the process: the callback runs on the client's loop thread, possibly after
    # the sweep has already unwound.
    _add_filter_once("tornado.application", _CancelOfUnstartedCall)


HEARTBEAT_LOST = "Failed to communicate with scheduler during heartbeat"


class _SchedulerGoneAtShutdown(logging.Filter):
    """Drops a worker's traceback for a heartbeat that found the scheduler gone. In an embedded cluster the
    scheduler lives in the driver's process and stops with it (end of sweep, Ctrl-C); a heartbeat in flight
    at that moment logs a CommClosedError traceback, which would make a clean stop look like a crash.
    Installed only on the embedded cluster's workers: with an external scheduler a lost heartbeat is news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(HEARTBEAT_LOST)


def _embedded_worker_plugin() -> Any:
    """Installs `_SchedulerGoneAtShutdown` on each worker (a plugin, so restarted workers get it too)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class QuietLostHeartbeat(WorkerPlugin):
        name = "sim-quiet-lost-heartbeat"

        def setup(self, worker: Any) -> None:
            _add_filter_once("distributed.worker", _SchedulerGoneAtShutdown)

    return QuietLostHeartbeat()


def _port_of(scheme: str, loc: str) -> int | None:
    """The port of a tcp:// or tls:// address (Dask's own parser: IPv6 in brackets too), None for other schemes or
    no port."""
    from distributed.comm.addressing import parse_host_port

    if scheme not in ("tcp", "tls"):
        return None
    try:
        return int(parse_host_port(loc)[1])
    except ValueError:
        return None


def _probe(scheduler: str) -> None:
    """Refuse, with a one-line `SweepError`, an address where no Dask scheduler answers within
    `CONNECT_TIMEOUT`. Dask's own client waits for the other side's greeting without a time limit, so a
    server that never sends one (an HTTP server such as the dashboard, 8787, taken for the scheduler's 8786)
    would hang the sweep forever; one that greets first (an SSH banner) has its greeting read as a frame
    length (a MemoryError for exabytes). So connect, exchange Dask's greeting and ask who is there, each step
    within the timeout."""
    import asyncio

    from dask.utils import parse_timedelta
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend
    from distributed.security import Security

    timeout = parse_timedelta(CONNECT_TIMEOUT, default="seconds")
    not_scheduler = (f"--scheduler {scheduler}: {scheduler} is not a Dask scheduler (or not answering): "
                     "{why}; give the scheduler's address (default port 8786; 8787 is its dashboard)")

    async def ask() -> str | None:
        loop = asyncio.get_running_loop()
        try:
            scheme, loc = parse_address(scheduler)
            connector = get_backend(scheme).get_connector()
            args = Security().get_connection_args("client")
        except (ValueError, TypeError) as exc:
            return f"--scheduler {scheduler}: not an address ({exc})"
        port = _port_of(scheme, loc)
        if port is not None and not 1 <= port <= 65535:  # else the connection is retried for the whole timeout
            return f"--scheduler {scheduler}: port {port} is out of range; allowed: 1 to 65535 (default 8786)"
        deadline = loop.time() + timeout
        while True:  # as Dask does: a scheduler still starting up refuses connections for a moment
            try:
                comm = await asyncio.wait_for(connector.connect(loc, **args), max(deadline - loop.time(), 0.01))
                break
            except (TimeoutError, OSError, ValueError) as exc:
                if loop.time() >= deadline - 0.1:
                    cause = exc.__cause__ or exc
                    why = f"{type(cause).__name__}: {cause}" if str(cause) else "no connection"
                    return f"--scheduler {scheduler}: cannot connect ({why.splitlines()[0]}; tried {timeout:g} s)"
                await asyncio.sleep(0.1)
        try:
            async def greet_and_ask() -> Any:
                mine = comm.handshake_info()
                await comm.write(mine)
                theirs = await comm.read()
                comm.handshake_options = comm.handshake_configuration(mine, theirs)
                await comm.write({"op": "identity", "reply": True})
                return await comm.read()

            who = await asyncio.wait_for(greet_and_ask(), timeout)
        except TimeoutError:
            return not_scheduler.format(why=f"no Dask reply within {timeout:g} s")
        except Exception as exc:  # whatever a foreign greeting parses to: MemoryError, a closed stream, ...
            return not_scheduler.format(why=f"its reply is not Dask's ({type(exc).__name__})")
        finally:
            comm.abort()
        kind = who.get("type") if isinstance(who, dict) else None
        if kind != "Scheduler":
            return not_scheduler.format(why=f"it answers as a Dask {kind}" if kind else "its reply is not Dask's")
        return None

    problem = asyncio.run(ask())
    if problem is not None:
        raise SweepError(problem)


@contextmanager
def connect(workers: int | None, scheduler: str | None) -> Iterator[Client]:
    """A client of an existing scheduler, or of an embedded LocalCluster of `workers` processes."""
    import dask
    from distributed import Client, LocalCluster

    _quiet_cancel_of_unstarted_calls()

    if scheduler:
        _probe(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError) as exc:
            raise SweepError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    # Workers start with Ctrl-C ignored (an ignored signal survives exec): the driver handles it and
    # stops the sweep cleanly, instead of every worker printing its own KeyboardInterrupt traceback.
    # Dask's statistical profiler samples every worker thread's stack every 10 ms; on a model made of
    # many small NumPy calls that doubled the time of a run (docs/performance_sweeps.md), so it is off.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=":0", silence_logs=logging.ERROR)
    finally:
        signal.signal(signal.SIGINT, previous)
    with cluster, Client(cluster) as client:
        client.register_plugin(_embedded_worker_plugin())
        yield client


def check_scheduler(scheduler: str) -> None:
    """Connect to an existing scheduler once, so an unreachable one is refused before the store is created
    (otherwise the half-made folder would refuse the next attempt as "holds a sweep already")."""
    with connect(None, scheduler):
        pass


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
    with connect(workers, scheduler) as client, \
            tqdm(total=len(unique), initial=done, desc=plan.sweep.name, unit="run", file=sys.stderr,
                 disable=quiet, smoothing=0.05, mininterval=0.5) as bar:
        bar.set_postfix(failed=failed)
        window = max(WINDOW, 4 * len(client.scheduler_info()["workers"]))
        queue = iter(todo)
        by_key: dict[str, Any] = {}

        def submit(count: int) -> list[Any]:
            runs = [r for _, r in zip(range(count), queue, strict=False)]
            futures = client.map(execute, [task_of(plan, store, r) for r in runs],
                                 key=[task_key(store, r.id) for r in runs], retries=RETRIES, pure=False)
            by_key.update({f.key: r for f, r in zip(futures, runs, strict=True)})
            return futures

        pending = as_completed(submit(window))
        for future in pending:  # at most `window` runs are in flight: memory stays flat for any sweep size
            run = by_key.pop(future.key)
            try:
                status = future.result()["status"]
            except Exception as exc:  # the task itself was lost (e.g. its workers kept dying): record it
                status = "failed"
                store.write_record(run.id, {"id": run.id, "status": status, "seed": run.seed, "params": run.params,
                                            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                                            "worker": None, "duration_s": None})
            failed += status == "failed"
            future.release()
            bar.update()
            bar.set_postfix(failed=failed)
            pending.update(submit(1))
    return Outcome(len(unique), len(todo), done, failed)
