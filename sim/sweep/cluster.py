"""Connecting to Dask: an existing scheduler (probed first, so a wrong address is one line) or an embedded
LocalCluster, with the logging filters that keep a clean stop from looking like a crash."""

from __future__ import annotations

import logging
import os
import signal
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sim.sweep.spec import SweepError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from distributed import Client

CONNECT_TIMEOUT = "20s"  # to an existing scheduler: to connect, and then to answer as one


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
        if port is None and scheme in ("tcp", "tls"):  # else the ValueError is retried for the whole timeout
            return (f"--scheduler {scheduler}: no port number; give the scheduler's address with its port, e.g. "
                    f"{scheme}://{loc.rsplit(':', 1)[0] if loc.count(':') == 1 else loc}:8786")
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
    # Dask's statistical profiler samples every worker thread's stack every 10 ms; on a model made of
    # many small NumPy calls that doubled the time of a run (docs/performance_sweeps.md), so it is off.
    with _workers_deaf_to_ctrl_c(), dask.config.set({"distributed.worker.profile.enabled": False}):
        broken: Exception | None = None
        with _stops_deferred() as stops:
            try:
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=":0", silence_logs=logging.ERROR)
            except Exception as exc:
                if not stops:
                    raise
                # SIGTERM to the whole process group reaches the workers being started too ("Nanny failed to
                # start"): the stop is the news, not Dask's error
                broken = exc
        if broken is not None:
            signal.raise_signal(stops[0])  # the driver's handler raises (KeyboardInterrupt, Terminated)
            raise broken
        with cluster, Client(cluster) as client:
            if stops:  # while the cluster started: the sweep stops here, and the cluster closes cleanly
                signal.raise_signal(stops[0])
            client.register_plugin(_embedded_worker_plugin())
            yield client


@contextmanager
def _stops_deferred() -> Iterator[list[int]]:
    """While the embedded cluster starts, a Ctrl-C (SIGINT) or SIGTERM is noted in the list yielded rather than
    acted on: raised in the middle of Dask's start-up, it leaves half-started workers that print tracebacks as they
    are torn down. The caller raises the first one again once the cluster is up, with the handler the driver had
    (`run.py` turns SIGTERM into `Terminated`; a signal the driver ignores stays ignored)."""
    noted: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    deferred = [number for number, handler in previous.items() if handler not in (signal.SIG_IGN, None)]
    for number in deferred:
        signal.signal(number, lambda received, _frame: noted.append(received))
    try:
        yield noted
    finally:
        for number in deferred:
            signal.signal(number, previous[number])


@contextmanager
def _workers_deaf_to_ctrl_c() -> Iterator[None]:
    """Processes that multiprocessing spawns meanwhile (the embedded cluster's workers, and any the nanny
    restarts) start with SIGINT blocked, so Ctrl-C reaches only the driver, which stops the sweep cleanly (each
    worker would print its own KeyboardInterrupt traceback).

    The signal is blocked in the thread that spawns, around the spawn only: the child inherits the mask and
    keeps it, while the driver goes on handling Ctrl-C (`_stops_deferred`). It used to ignore SIGINT while the
    cluster started (an ignored signal survives exec), which takes seconds (10 s on a busy 2-core machine): a
    Ctrl-C then was discarded and the whole sweep ran on. Where this cannot be done (no `pthread_sigmask`),
    SIGINT is ignored while the cluster starts, as before."""
    from multiprocessing import util

    spawn = getattr(util, "spawnv_passfds", None)
    if spawn is None or not hasattr(signal, "pthread_sigmask"):
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        return

    def spawn_deaf(*args: Any, **kwargs: Any) -> Any:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
        try:
            return spawn(*args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    util.spawnv_passfds = spawn_deaf
    try:
        yield
    finally:
        util.spawnv_passfds = spawn


def check_scheduler(scheduler: str) -> None:
    """Connect to an existing scheduler once, so an unreachable one is refused before the store is created
    (otherwise the half-made folder would refuse the next attempt as "holds a sweep already")."""
    with connect(None, scheduler):
        pass
