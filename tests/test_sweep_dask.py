"""Sweeps on real Dask clusters on loopback: embedded LocalCluster, an external `dask scheduler` with two
`dask worker` processes, a worker killed mid-run, a driver killed and resumed, a failing run recorded.

Runs are tiny (800 consumers, 30 shops, 10 + 20 days) so the module stays well under two minutes.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import run
from sim.sweep.store import Store
from sim.sweep.worker import execute as execute_task  # the real one, kept while a test patches it
from tests.conftest import TINY_SWEEP

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom.yaml"
TINY = "{consumers.count: 800, merchants.count: 30, days: 20, burn_in_days: 10}"
SWEEP = TINY_SWEEP
# external workers configured as docs/sweeps.md advises (Dask's profiler off)
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
DEADLINE = 90.0
# keep this module on one xdist worker (with --dist loadgroup) so the reference sweep and the cluster start once
pytestmark = pytest.mark.xdist_group("sweep_dask")


def _sweep_file(folder: Path, text: str = SWEEP, name: str = "tiny.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _sweep(path: Path, out: Path, *extra: str) -> pd.DataFrame:
    assert run.main(["sweep", str(path), "--out", str(out), "--quiet", *extra]) == 0
    return pd.read_parquet(out / "results.parquet")


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < DEADLINE, f"timed out waiting for {what}"
        time.sleep(0.02)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The tiny sweep on an embedded LocalCluster of 2 workers, uninterrupted, with figures."""
    folder = tmp_path_factory.mktemp("reference")
    table = _sweep(_sweep_file(folder), folder / "out", "--workers", "2")
    out = folder / "out"
    assert len(table) == 12 and (table["status"] == "done").all()
    assert list(table.columns[:6]) == ["point", "replication", "seed", "run_id", "status", "error"]
    assert {"regulation.rate_cap", "consumers.bnpl_preference", "gmv", "charge_off_rate"} <= set(table.columns)
    assert table.groupby("point")["seed"].apply(tuple).nunique() == 1  # the same seeds at every point
    store = Store(out)
    for rid in table["run_id"]:
        series = store.read_series(rid)
        assert list(series.columns) == ["day", "orders", "bnpl_uptake", "outstanding_principal"] and len(series) == 20
        assert store.record(rid)["status"] == "done" and store.record(rid)["worker"].startswith("tcp://127.0.0.1")
    assert pd.read_csv(out / "results.csv").shape == table.shape
    assert not (out / "running").exists()  # removed at the end, being empty
    for name in ("summary.csv", "manifest.csv", "figures/heatmap.png", "figures/fan_charts.png",
                 "figures/kpi_vs_1_regulation_rate_cap.png"):
        assert (out / name).is_file(), name
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.columns) >= {"point", "kpi", "n", "mean", "lo", "hi"} and (summary["n"] == 2).all()
    return table


def test_embedded_workers_run_without_the_dask_profiler() -> None:
    """The profiler's 10 ms stack sampling doubles the time of a run (docs/performance.md)."""
    from sim.sweep.runner import connect

    with connect(1, None) as client:
        flags = client.run(lambda: __import__("dask").config.get("distributed.worker.profile.enabled"))
    assert list(flags.values()) == [False]


def _sigint_reaches_this_process() -> bool:
    """Whether SIGINT would reach this (worker) process: neither ignored nor blocked (Linux /proc)."""
    fields = dict(line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    bit = 1 << (signal.SIGINT - 1)
    return not (int(fields["SigIgn"], 16) & bit or int(fields["SigBlk"], 16) & bit)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the workers' signal masks in /proc")
def test_ctrl_c_while_the_embedded_cluster_starts_stops_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting the embedded cluster takes seconds (10 s on a busy 2-core machine). A Ctrl-C then was discarded
    (SIGINT was ignored while the workers were spawned, so that they would not see it) and the whole sweep ran
    on. It now stops the sweep once the cluster is up (interrupting Dask's start-up half way prints Dask's
    tracebacks), the cluster is closed, and the workers still never see SIGINT."""
    import distributed

    from sim.sweep.runner import connect

    real = distributed.LocalCluster
    started: list[distributed.LocalCluster] = []

    def ctrl_c_while_starting(*args: object, **kwargs: object) -> distributed.LocalCluster:
        os.kill(os.getpid(), signal.SIGINT)  # pressed while the cluster starts
        started.append(real(*args, **kwargs))
        return started[-1]

    # as at a terminal: pytest may have been started with SIGINT ignored, which the workers would inherit
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        monkeypatch.setattr(distributed, "LocalCluster", ctrl_c_while_starting)
        reached: dict[str, bool] = {}
        with pytest.raises(KeyboardInterrupt), connect(1, None) as client:
            reached = client.run(_sigint_reaches_this_process)
        assert reached == {}  # stopped before any work was given to the cluster
        assert [c.status.name for c in started] == ["closed"]  # the start-up was finished, then the cluster closed
        monkeypatch.undo()
        with connect(1, None) as client:
            assert list(client.run(_sigint_reaches_this_process).values()) == [False]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the driver's own handler again
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigterm_while_the_embedded_cluster_starts_stops_the_sweep_once_it_is_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`run.py` turns SIGTERM into `Terminated`; arriving while the cluster starts, it was raised in the middle of
    Dask's start-up, as a Ctrl-C was before it was deferred. It is now raised once the cluster is up, which then
    closes cleanly."""
    import distributed

    from sim.cli import Terminated
    from sim.sweep.runner import connect

    real = distributed.LocalCluster
    started: list[distributed.LocalCluster] = []

    def sigterm_while_starting(*args: object, **kwargs: object) -> distributed.LocalCluster:
        os.kill(os.getpid(), signal.SIGTERM)
        started.append(real(*args, **kwargs))
        return started[-1]

    def terminated(*_: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        monkeypatch.setattr(distributed, "LocalCluster", sigterm_while_starting)
        with pytest.raises(Terminated), connect(1, None):
            pytest.fail("the sweep went on after SIGTERM")
        assert [c.status.name for c in started] == ["closed"]  # the start-up was finished, then the cluster closed
        assert signal.getsignal(signal.SIGTERM) is terminated  # the driver's own handler again
    finally:
        signal.signal(signal.SIGTERM, previous)


def _kept_by_worker_logger() -> tuple[bool, bool]:
    """Whether this worker's `distributed.worker` logger keeps a lost-heartbeat record and another error."""
    import logging

    from sim.sweep.runner import HEARTBEAT_LOST

    logger = logging.getLogger("distributed.worker")

    def kept(message: str) -> bool:
        return bool(logger.filter(logger.makeRecord(logger.name, logging.ERROR, __file__, 0, message, (), None)))

    return kept(HEARTBEAT_LOST + "."), kept("Unexpected exception during heartbeat. Closing worker.")


def test_embedded_workers_drop_only_the_lost_heartbeat_traceback_of_a_stopping_driver() -> None:
    """The embedded scheduler stops with the driver (Ctrl-C, end of sweep); a worker heartbeat in flight then
    logged a CommClosedError traceback on the user's terminal. Other worker errors are still shown."""
    from sim.sweep.runner import connect

    with connect(1, None) as client:
        kept = client.run(_kept_by_worker_logger)
    assert list(kept.values()) == [(False, True)]


def test_a_worker_that_does_not_see_the_sweep_folder_says_so(tmp_path: Path) -> None:
    """A worker without the --out folder (not on the shared file system) failed every run with Dask's bare
    "No such file or directory: .../running"; the error now says what the workers need."""
    from sim.sweep import runner
    from sim.sweep.plan import load_sweep
    from sim.sweep.worker import execute

    plan = load_sweep(str(_sweep_file(tmp_path)))
    elsewhere = Store(tmp_path / "not-shared")  # never created: as on a worker that does not share the folder
    with runner.connect(1, None) as client:
        future = client.submit(execute, runner.task_of(plan, elsewhere, plan.runs[0]), pure=False)
        with pytest.raises(FileNotFoundError, match=f"sweep folder {elsewhere.root} not found on worker .*: "
                           "workers need the --out folder at the same path as the driver"):
            future.result()
    assert not elsewhere.root.exists()


def test_one_worker_gives_the_same_table_as_two(reference: pd.DataFrame, tmp_path: Path) -> None:
    table = _sweep(_sweep_file(tmp_path), tmp_path / "out", "--workers", "1", "--no-figures")
    pd.testing.assert_frame_equal(table, reference)


def test_failing_run_is_recorded_and_the_rest_complete(tmp_path: Path) -> None:
    # each value is valid on its own; the combination (0.3, 0.25) breaks co_lending_own_share >= min_share
    text = f"""\
base: {CLASSROOM}
set: {{consumers.count: 800, merchants.count: 30, days: 20, burn_in_days: 10}}
design: grid
parameters:
  regulation.co_lending_min_share: {{values: [0.2, 0.3]}}
  platforms.video.finance.co_lending_own_share: {{values: [0.3, 0.25]}}
replications: 2
"""
    out = tmp_path / "out"
    table = _sweep(_sweep_file(tmp_path, text), out, "--workers", "2", "--no-figures")
    failed = table[table["status"] == "failed"]
    assert len(failed) == 2 and set(failed["point"]) == {3} and failed["gmv"].isna().all()
    assert "co_lending_own_share" in failed["error"].iloc[0]
    assert (table.loc[table["status"] == "done", "gmv"] > 0).all() and (table["status"] == "done").sum() == 6
    record = Store(out).record(failed["run_id"].iloc[0])
    assert record["status"] == "failed" and "Traceback" in record["traceback"] and record["duration_s"] >= 0
    manifest = pd.read_csv(out / "manifest.csv")
    assert (manifest["status"] == "failed").sum() == 2
    # resuming runs nothing (failures are recorded, not missing) and gives the same table
    again = _sweep(out.parent / "tiny.yaml", out, "--resume", "--no-figures")
    pd.testing.assert_frame_equal(again, table)


def test_out_folder_of_a_finished_sweep_needs_resume(reference: pd.DataFrame, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = _sweep_file(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "other.txt").write_text("x")
    assert run.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "is not a sweep folder" in capsys.readouterr().err


@pytest.mark.parametrize("resume", [False, True])
def test_a_folder_left_before_sweep_json_was_written_takes_the_sweep(
        reference: pd.DataFrame, tmp_path: Path, resume: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """A driver stopped between making the folder's skeleton and writing sweep.json left a folder that neither a
    new sweep ("exists and is not a sweep folder") nor `--resume` would take. It holds nothing of a run, so both
    start the sweep there; a run's file in it still makes it someone else's folder."""
    path, out = _sweep_file(tmp_path), tmp_path / "out"
    for folder in ("runs", "manifest", "running"):
        (out / folder).mkdir(parents=True)
    (out / "design.parquet").write_bytes(b"left by a stopped driver")
    (out / ".sweep.json.tmp-1234").write_text("{")
    pd.testing.assert_frame_equal(_sweep(path, out, *(["--resume"] if resume else [])), reference)
    other = tmp_path / "other"
    (other / "runs").mkdir(parents=True)
    (other / "runs" / "x.parquet").write_bytes(b"")
    assert run.main(["sweep", str(path), "--out", str(other), "--quiet"]) == 2
    assert "is not a sweep folder" in capsys.readouterr().err


def test_driver_killed_then_resumed_gives_the_same_table(reference: pd.DataFrame, tmp_path: Path) -> None:
    path = _sweep_file(tmp_path)
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--out", str(out),
                               "--workers", "1", "--quiet", "--no-figures"], cwd=ROOT, env=ENV,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(list((out / "manifest").glob("*.json"))) >= 2 if (out / "manifest").is_dir() else False,
                  "two recorded runs")
        os.kill(driver.pid, signal.SIGKILL)
        assert driver.wait(timeout=30) == -signal.SIGKILL
    finally:
        _kill_group(driver)  # the embedded cluster's worker processes go down with it
    recorded = len(list((out / "manifest").glob("*.json")))
    assert recorded < 12 and not (out / "results.parquet").exists()
    # a result file damaged on disk is redone too
    store = Store(out)
    done = [p.stem for p in (out / "runs").glob("*.parquet")]
    store.run_path(done[0]).write_bytes(store.run_path(done[0]).read_bytes()[:100])
    # (others may edit sim/ while the suite runs: the resume is about the store, not the model version)
    table = _sweep(path, out, "--resume", "--workers", "2", "--no-figures", "--ignore-code-change")
    pd.testing.assert_frame_equal(table, reference)
    assert store.read_meta(done[0]) is not None


# --- an external cluster: `dask scheduler` and two `dask worker` processes --------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from distributed import Client

    folder = tmp_path_factory.mktemp("cluster")
    scheduler_file = folder / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--scheduler-file", str(scheduler_file), *common],
                              cwd=ROOT, env=ENV, start_new_session=True, stderr=subprocess.DEVNULL)]
    try:
        _wait_for(scheduler_file.is_file, "the scheduler file")
        for i in (1, 2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                 "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1", "--name", f"w{i}", *common],
                cwd=ROOT, env=ENV, start_new_session=True, stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=DEADLINE)
        yield address
    finally:
        for proc in reversed(procs):
            _kill_group(proc)


def test_external_scheduler_gives_the_same_table(reference: pd.DataFrame, cluster: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    table = _sweep(_sweep_file(tmp_path), out, "--scheduler", cluster, "--no-figures")
    pd.testing.assert_frame_equal(table, reference)
    workers = {Store(out).record(rid)["worker"] for rid in table["run_id"]}
    assert workers <= set(_workers(cluster)) and len(workers) == 2


def test_two_sweeps_of_the_same_runs_on_one_cluster_each_fill_their_own_folder(cluster: str, tmp_path: Path) -> None:
    """Tasks were keyed by run id alone, so a sweep of the same runs into another folder while one was in
    flight (here its tasks held by another client) got the other folder's tasks: it reported every run done and
    its table had results in none."""
    from distributed import Client, wait

    from sim.sweep import runner
    from sim.sweep.plan import load_sweep
    from sim.sweep.worker import execute

    path = _sweep_file(tmp_path)
    plan = load_sweep(str(path))
    other = Store(tmp_path / "other")
    other.create()
    with Client(cluster, timeout="30s") as client:
        runs = plan.unique()
        held = client.map(execute, [runner.task_of(plan, other, r) for r in runs],
                          key=[runner.task_key(other, r.id) for r in runs], pure=False)
        wait(held)
        table = _sweep(path, tmp_path / "out", "--scheduler", cluster, "--no-figures")
    assert (table["status"] == "done").all() and table["gmv"].notna().all()
    assert len(list((tmp_path / "out" / "runs").glob("*.parquet"))) == len(runs)


def _workers(address: str) -> list[str]:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        return list(client.scheduler_info()["workers"])


def test_worker_killed_mid_run_is_retried(cluster: str, tmp_path: Path) -> None:
    # runs of a second or so, so that one is surely executing when its worker is killed
    text = SWEEP.replace(TINY, "{consumers.count: 3000, merchants.count: 60, days: 60, burn_in_days: 20}").replace(
        "[0.12, 0.18, 0.24]", "[0.12, 0.24]").replace("replications: 2", "replications: 1")
    path = _sweep_file(tmp_path, text)
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--out", str(out),
                               "--scheduler", cluster, "--quiet", "--no-figures"], cwd=ROOT, env=ENV,
                              start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        running = out / "running"
        _wait_for(lambda: running.is_dir() and any(running.iterdir()), "a run in progress")
        marker = next(running.iterdir())
        victim_run, process = marker.name.split(".", 1)
        os.kill(int(process.rsplit("-", 1)[1]), signal.SIGKILL)  # the worker process executing it
        _, stderr = driver.communicate(timeout=DEADLINE)
        assert driver.returncode == 0, stderr
    finally:
        _kill_group(driver)
    table = pd.read_parquet(out / "results.parquet")
    assert (table["status"] == "done").all() and len(table) == 4
    record = Store(out).record(victim_run)
    assert record["status"] == "done" and record["attempts"] >= 2  # the killed attempt left its marker
    assert not (out / "running").exists()  # its markers all cleared, the empty folder removed


SAMPLED = f"""\
base: {CLASSROOM}
set: {TINY}
design: DESIGN
samples: SAMPLES
parameters:
  consumers.shock_rate: {{low: 0.0005, high: 0.02}}
  consumers.bnpl_preference: {{low: 0.02, high: 0.4}}
  regulation.rate_cap: {{values: [0.12, 0.24]}}
replications: 1
seed: 3
kpis: [gmv, bnpl_uptake, loans_originated, lender_exits]
"""


@pytest.mark.parametrize(("design", "samples", "columns"), [
    ("sobol", 8, ["S1", "S1_conf", "ST", "ST_conf"]),
    ("morris", 4, ["mu_star", "mu_star_conf", "sigma", "mu"]),
])
def test_sensitivity_indices_of_sampled_designs(cluster: str, tmp_path: Path, design: str, samples: int,
                                                columns: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    path = _sweep_file(tmp_path, SAMPLED.replace("DESIGN", design).replace("SAMPLES", str(samples)))
    out = tmp_path / "out"
    table = _sweep(path, out, "--scheduler", cluster)  # with figures: drawing them failed on every sampled design
    assert len(table) == samples * (5 if design == "sobol" else 4) and (table["status"] == "done").all()
    assert len(list((out / "figures").glob("kpi_vs_*.png"))) == 3
    first = pd.read_csv(out / "sensitivity.csv")
    assert list(first.columns) == ["kpi", "parameter", *columns, "note"] and len(first) == 4 * 3
    varying = first[first["kpi"].isin(["gmv", "bnpl_uptake"])]
    # N=8 is too few to balance a Sobol design's base samples: the note says so (docs/sweeps.md, Sensitivity)
    note = varying["note"].str.startswith("base samples A and B correlate at ") if design == "sobol" else \
        varying["note"].isna()
    assert varying[columns].notna().all().all() and note.all()
    assert (first.loc[first["kpi"] == "lender_exits", "note"] == "constant over the design").all()
    if design == "sobol":
        assert (varying["ST"] > -0.5).all() and (varying["S1_conf"] >= 0).all()
    capsys.readouterr()
    assert run.main(["sensitivity", str(out)]) == 0
    assert "bnpl_uptake" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out / "sensitivity.csv"), first)  # bootstrap seeded: same again
    assert (out / "sensitivity" / "gmv.png").stat().st_size > 5000
    assert not (out / "sensitivity" / "lender_exits.png").exists()


def test_an_unreachable_scheduler_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before the store is made, so the same command can be run again once the scheduler is up."""
    monkeypatch.setattr("sim.sweep.cluster.CONNECT_TIMEOUT", "1s")  # where connecting looks it up
    out = tmp_path / "out"
    for _ in range(2):
        assert run.main(["sweep", str(_sweep_file(tmp_path)), "--out", str(out), "--scheduler",
                         "tcp://127.0.0.1:1", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --scheduler tcp://127.0.0.1:1: cannot connect") and err.count("\n") == 1
        assert not out.exists()


class _Banner(socketserver.BaseRequestHandler):
    """A server that greets first, as SSH does (Dask read the greeting as a frame length: a MemoryError)."""

    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
        self.request.recv(1024)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("server", ["banner", "http"])
def test_a_port_that_is_not_a_dask_scheduler_is_refused_in_one_line(
        server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An HTTP server (the dashboard, 8787, taken for 8786) made the sweep wait forever for Dask's greeting;
    an SSH banner crashed it with a traceback. Both are one line, exit 2, within the connect timeout."""
    monkeypatch.setattr("sim.sweep.cluster.CONNECT_TIMEOUT", "1s")  # where connecting looks it up
    if server == "banner":
        srv: socketserver.TCPServer = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Banner)
    else:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    address = f"tcp://127.0.0.1:{srv.server_address[1]}"
    out = tmp_path / "out"
    try:
        started = time.monotonic()
        assert run.main(["sweep", str(_sweep_file(tmp_path)), "--out", str(out), "--scheduler", address,
                         "--quiet"]) == 2
        assert time.monotonic() - started < 10
    finally:
        srv.shutdown()
        srv.server_close()
    err = capsys.readouterr().err
    assert err.startswith(f"error: --scheduler {address}: {address} is not a Dask scheduler (or not answering)")
    assert err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("port", [0, 99999])
def test_a_scheduler_port_out_of_range_is_refused_at_once(
        port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tcp://127.0.0.1:99999` was retried for the whole connect timeout (20 s), then reported as "Connection
    refused"; the port is named as out of range, with nothing written."""
    address, out = f"tcp://127.0.0.1:{port}", tmp_path / "out"
    assert run.main(["sweep", str(_sweep_file(tmp_path)), "--out", str(out), "--scheduler", address, "--quiet"]) == 2
    assert capsys.readouterr().err == (f"error: --scheduler {address}: port {port} is out of range; allowed: 1 to "
                                       "65535 (default 8786)\n")
    assert not out.exists()


# --- the scheduler lost mid-sweep: an in-process cluster whose connection the test breaks -----------------------

_HELD = threading.Event()  # the second task has written its run's record and waits
_RELEASE = threading.Event()
_CALLS: list[str] = []


def _second_task_held(task: dict) -> dict:
    """`worker.execute`, but the second task waits after writing its record: the test closes the scheduler then."""
    result = execute_task(task)
    _CALLS.append(task["id"])
    if len(_CALLS) == 2:
        _HELD.set()
        _RELEASE.wait(DEADLINE)
    return result


def test_losing_the_scheduler_stops_the_sweep_without_failing_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every unfinished run was recorded as failed (and a run a worker had just finished was overwritten as
    failed), and the sweep exited 0: a resume would never rerun them. Now the runs in flight get no record, the
    worker's record stands, and the sweep stops in one line, exit 1; --resume then finishes it."""
    from contextlib import contextmanager

    from distributed import Client, LocalCluster

    from sim.sweep import worker

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")

    clients: list[Client] = []

    @contextmanager
    def in_process(workers: object, scheduler: object) -> Iterator[Client]:
        with Client(cluster) as client:
            clients.append(client)
            yield client

    def drop_the_connection_when_held() -> None:
        # the driver's connection to the scheduler breaks (the client cancels every future, as when the
        # scheduler dies); the scheduler lives on, so the cluster closes at once afterwards
        if _HELD.wait(DEADLINE):
            clients[0].loop.add_callback(clients[0].scheduler_comm.comm.abort)
        _RELEASE.set()

    _HELD.clear(), _RELEASE.clear(), _CALLS.clear()
    monkeypatch.setattr(worker, "execute", _second_task_held)
    monkeypatch.setattr("sim.sweep.runner.connect", in_process)
    closer = threading.Thread(target=drop_the_connection_when_held, daemon=True)
    closer.start()
    path, out = _sweep_file(tmp_path), tmp_path / "out"
    try:
        code = run.main(["sweep", str(path), "--out", str(out), "--quiet", "--no-figures"])
    finally:
        _RELEASE.set()
        closer.join(DEADLINE)
        cluster.close()
    err = capsys.readouterr().err
    assert code == 1, err
    assert "lost the Dask scheduler" in err and err.rstrip().endswith("continue with --resume")
    records = {p.stem: json.loads(p.read_text()) for p in (out / "manifest").glob("*.json")}
    # only what the workers wrote (the held one, and any the worker started before it heard of the cancel)
    assert set(records) == set(_CALLS) and 2 <= len(records) < 12
    assert all(r["status"] == "done" and r["worker"] for r in records.values())
    assert not (out / "results.parquet").exists()
    monkeypatch.undo()
    table = _sweep(path, out, "--resume", "--workers", "1", "--no-figures", "--ignore-code-change")
    assert len(table) == 12 and (table["status"] == "done").all()


def test_a_run_that_cannot_be_stored_stops_the_sweep_without_a_failed_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A task that kept raising outside the model (workers without the shared folder, a full disk) was recorded
    as failed once Dask's retries ran out, and the sweep went through every run that way and exited 0: after the
    store was mended, --resume kept them all failed. Now the sweep stops in one line, exit 1, with no record for
    the run, and --resume runs it."""
    from contextlib import contextmanager

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")

    @contextmanager
    def in_process(workers: object, scheduler: object) -> Iterator[Client]:
        with Client(cluster) as client:
            yield client

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sim.sweep.runner.connect", in_process)
    monkeypatch.setattr(Store, "write_run", disk_full)  # the worker is a thread of this process: it sees the patch
    path, out = _sweep_file(tmp_path), tmp_path / "out"
    try:
        code = run.main(["sweep", str(path), "--out", str(out), "--quiet", "--no-figures"])
    finally:
        cluster.close()
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1 and "could not be stored in 3 attempts (OSError: [Errno 28] No space" \
        in err and "not recorded as failed" in err and err.rstrip().endswith("continue with --resume")
    assert not list((out / "manifest").glob("*.json"))
    monkeypatch.undo()
    table = _sweep(path, out, "--resume", "--workers", "1", "--no-figures")
    assert len(table) == 12 and (table["status"] == "done").all()


def test_sigterm_that_breaks_the_embedded_clusters_start_is_a_clean_stop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM to the whole process group while the embedded cluster starts reaches its workers too, and Dask
    raises "Nanny failed to start" before the deferred signal is acted on: a traceback, exit 1. The stop wins:
    "terminated", exit 143. (Dask's failure is imitated: a real one depends on when the workers get the signal.)"""
    import distributed

    def terminated_while_starting(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # deferred by the driver while the cluster starts
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", terminated_while_starting)
    code = run.main(["sweep", str(_sweep_file(tmp_path)), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 143 and err.startswith("terminated") and err.count("\n") == 1, err


@pytest.mark.parametrize(("address", "hint"), [("tcp://127.0.0.1", "tcp://127.0.0.1:8786"),
                                               ("127.0.0.1:", "tcp://127.0.0.1:8786")])
def test_a_scheduler_address_without_a_port_is_refused_at_once(
        address: str, hint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a port, Dask's ValueError was retried for the whole connect timeout (20 s)."""
    out = tmp_path / "out"
    started = time.monotonic()
    assert run.main(["sweep", str(_sweep_file(tmp_path)), "--out", str(out), "--scheduler", address, "--quiet"]) == 2
    assert time.monotonic() - started < 10
    assert capsys.readouterr().err == (f"error: --scheduler {address}: no port number; give the scheduler's address "
                                       f"with its port, e.g. {hint}\n")
    assert not out.exists()
