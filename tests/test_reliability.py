"""Faults from outside: Ctrl-C during a run, determinism across processes, scenarios too big for memory."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import run as cli
from sim.scenario_files import load
from tests.conftest import TINY_SWEEP

ROOT = Path(__file__).resolve().parent.parent
PROGRESS = re.compile(rb"\|\s*[1-9]\d*/\d+ \[")  # tqdm has counted at least one day


def wait_for_progress(proc: subprocess.Popen[bytes], timeout: float = 180.0) -> bytes:
    """Read the child's stderr until its progress bar shows a finished day; return what was read."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while not PROGRESS.search(seen):
            left = deadline - time.monotonic()
            if left <= 0 or (proc.poll() is not None and not sel.select(0)):
                raise AssertionError(f"no progress bar (exit {proc.poll()}): {seen[-500:]!r}")
            if sel.select(min(left, 1.0)):
                chunk = os.read(proc.stderr.fileno(), 65536)
                if not chunk and proc.poll() is not None:
                    raise AssertionError(f"stderr closed before a progress bar: {seen[-500:]!r}")
                seen += chunk
    return seen


def ctrl_c_at_default() -> None:
    """`preexec_fn` for a child that stands for a command typed at a terminal, where Ctrl-C interrupts. The
    test process may itself ignore SIGINT (an xdist worker started from a non-interactive background shell
    does), and an ignored signal survives exec: the child would then never see the Ctrl-C the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child if it is still running (a failed test must not leave it behind)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def signal_and_collect(proc: subprocess.Popen[bytes], sig: int) -> tuple[bytes, bytes]:
    """Send `sig` to the child and return its stdout and the rest of its stderr once it has exited."""
    try:
        proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        reap(proc)


def test_sigint_during_a_run_exits_130_and_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, "run.py", "run", "scenarios/classroom.yaml", "--consumers", "20000", "--days", "3000",
         "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ctrl_c_at_default,
    )
    try:
        before = wait_for_progress(proc)
    except BaseException:
        reap(proc)
        raise
    stdout, rest = signal_and_collect(proc, signal.SIGINT)
    err = (before + rest).decode("utf-8", "replace")
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: nothing written" in err and "Traceback" not in err
    assert stdout == b""
    assert not out.exists()
    leftovers = list(out.parent.iterdir()) if out.parent.exists() else []
    assert leftovers == []  # no .interrupted.partial-* folder either


def test_ctrl_c_while_the_model_loads_ends_in_one_line_with_130() -> None:
    """Importing the model takes seconds on a slow machine; a Ctrl-C then printed an import's traceback. The child
    sends itself SIGINT when `run.py` first looks up `sim.cli`, so the signal comes in the middle of the imports."""
    child = ("import os, runpy, signal, sys\n"
             "class CtrlCOnImport:\n"
             "    def find_spec(self, name, path, target=None):\n"
             "        if name == 'sim.cli':\n"
             "            os.kill(os.getpid(), signal.SIGINT)\n"
             "sys.meta_path.insert(0, CtrlCOnImport())\n"
             "sys.argv = ['run.py', 'list']\n"
             "runpy.run_path('run.py', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, timeout=120,
                          preexec_fn=ctrl_c_at_default)
    assert (proc.returncode, proc.stderr.decode(), proc.stdout) == (130, "interrupted: nothing written\n", b"")


CTRL_C_IN_A_WORKER = """
import os, signal, sys
from sim.validation import process_pool


class CtrlCWhenUnpickled:
    \"\"\"Sends a terminal's Ctrl-C (SIGINT to the whole process group) when a worker unpickles it: at the point
    where a real worker imports the model to unpickle its task, which takes seconds.\"\"\"

    def __reduce__(self):
        return os.killpg, (0, signal.SIGINT)


try:
    with process_pool(2, 2) as pool:
        futures = [pool.submit(print, CtrlCWhenUnpickled()) for _ in range(2)]
        for future in futures:
            future.result()
except KeyboardInterrupt:
    print("interrupted")
    sys.exit(130)
"""


def test_ctrl_c_while_a_pools_worker_starts_prints_no_worker_traceback() -> None:
    """validate, facts and calibrate run seeds in a process pool (calibrate starts one at every evaluation). A
    terminal's Ctrl-C reaches the workers too, and one still starting (importing the model) printed a page of
    KeyboardInterrupt traceback under `interrupted: nothing written`. The workers now end silently on it; the
    command alone reports the interrupt."""
    proc = subprocess.run([sys.executable, "-c", CTRL_C_IN_A_WORKER], cwd=ROOT, capture_output=True, timeout=120,
                          preexec_fn=ctrl_c_at_default, start_new_session=True)  # its own group, as a terminal's
    err = proc.stderr.decode("utf-8", "replace")
    assert (proc.returncode, proc.stdout) == (130, b"interrupted\n"), err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]


# a real `run.py run` whose write blocks in the dashboard until a signal arrives (no timing guesses): it says so
# by making the file $READY, and the signal is sent only then, so it always lands in this idle loop and never in
# the CSV writing before it (a full `make test` in a fresh clone hung once with the signal sent as soon as the
# temporary folder appeared). It idles in short sleeps, not one endless `Event().wait()`: a signal landing between
# Python's check for pending signals and the start of that wait's blocking lock acquire is never seen by it.
BLOCKED_WRITE = """
import faulthandler, os, sys, time
import run
from sim import results

# Should the child ever hang again, it exits after 90 s with every thread's stack on stderr, which the test's
# failure message shows (it waits up to 120 s): the cause of the one hang seen is not known.
faulthandler.dump_traceback_later(90, exit=True)

def block(*_):
    open(os.environ["READY"], "w").close()
    while True:
        time.sleep(0.05)

results.folders.dashboard = block  # where the run folder's writer looks it up
sys.exit(run.main(sys.argv[1:]))
"""


def test_sigterm_while_writing_a_run_exits_143_and_leaves_nothing(tmp_path: Path) -> None:
    """SIGTERM (what a process manager or `kill` sends) runs the same clean-up as Ctrl-C: the temporary folder
    and the parent folders the run made are removed."""
    out = tmp_path / "outputs" / "r"
    ready = tmp_path.parent / f"{tmp_path.name}.ready"  # outside tmp_path, which must end up empty
    proc = subprocess.Popen([sys.executable, "-c", BLOCKED_WRITE, "run", "scenarios/classroom.yaml", "--consumers",
                             "500", "--days", "3", "--set", "burn_in_days=0", "--quiet", "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ,
                                                                                           "READY": str(ready)})
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():  # the write has reached the dashboard
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the write did not reach the dashboard (exit {proc.poll()})")
            time.sleep(0.02)
        assert list(out.parent.glob(".r.partial-*"))  # into its temporary folder
    except BaseException:
        reap(proc)
        raise
    stdout, err_bytes = signal_and_collect(proc, signal.SIGTERM)
    err = err_bytes.decode("utf-8", "replace")
    assert proc.returncode == 143, err[-2000:]
    assert err == "terminated: nothing written\n" and stdout == b""
    assert list(tmp_path.iterdir()) == []


def _run_into(target: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "run.py", "run", "scenarios/classroom.yaml", "--out", str(target),
                             "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_same_scenario_and_seed_give_byte_identical_outputs_across_processes(tmp_path: Path) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    procs = [_run_into(a), _run_into(b)]  # two processes at once: nothing shared but the files
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
    for name in ("market.csv", "platforms.csv", "lenders.csv", "summary.json", "scenario.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "market.csv").stat().st_size > 1000


# --- memory limit -------------------------------------------------------------------------------------------


def test_memory_estimate_grows_with_the_population() -> None:
    from sim.limits import estimate_memory

    small = load("scenarios/classroom.yaml").scenario
    big = load("scenarios/classroom.yaml", ["consumers.count=1000000"]).scenario
    more_shops = load("scenarios/classroom.yaml", ["merchants.count=1000000"]).scenario
    longer = load("scenarios/classroom.yaml", ["days=3650"]).scenario
    assert 0 < estimate_memory(small) < estimate_memory(big)
    assert estimate_memory(small) < estimate_memory(more_shops)
    assert estimate_memory(small) < estimate_memory(longer)


def test_memory_check_message() -> None:
    from sim.limits import MemoryLimitError, check_memory

    s = load("scenarios/classroom.yaml", ["consumers.count=50000000"]).scenario
    with pytest.raises(MemoryLimitError) as info:
        check_memory(s, available=2 * 2**30, label="scenarios/x.yaml")
    msg = str(info.value)
    assert re.fullmatch(r"scenarios/x\.yaml: consumers\.count: 50,000,000 consumers need about [\d,.]+ GB of memory; "
                        r"this machine has 2 GB available", msg), msg
    check_memory(load("scenarios/classroom.yaml").scenario, available=2 * 2**30)  # fits: no error


def test_available_memory_is_read() -> None:
    from sim.limits import available_memory

    assert available_memory() > 2**20


@pytest.mark.parametrize("command", ["run", "compare"])
def test_too_large_scenario_is_refused_up_front(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim import limits

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(limits, "available_memory", lambda: 1 * 2**30)  # a 1 GB machine
    args = [command, "scenarios/classroom.yaml", "--consumers", "20000000", "--out", str(tmp_path / "out"), "--quiet"]
    started = time.perf_counter()
    assert cli.main(args) == 2
    assert time.perf_counter() - started < 10  # refused before anything is built
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: scenarios/classroom.yaml: consumers.count: 20,000,000 "
                                                   "consumers need about ")
    assert err.endswith(" GB of memory; this machine has 1 GB available\n")
    assert list(tmp_path.iterdir()) == []


def test_too_large_scenario_real_process(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "run.py", "run", "scenarios/classroom.yaml", "--consumers", "50000000",
                           "--set", "merchants.count=2000000", "--set", "days=3650", "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    from sim.limits import available_memory

    if available_memory() > 2**40:
        pytest.skip("this machine has more than 1 TB available")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert re.fullmatch(r"error: scenarios/classroom\.yaml: consumers\.count: 50,000,000 consumers need about "
                        r"[\d,.]+ GB of memory; this machine has [\d,.]+ GB available\n", proc.stderr), proc.stderr
    assert not (tmp_path / "o").exists()


# --- sweeps: Ctrl-C, a damaged result, resume, worker counts ----------------------------------------------



def _records(out: Path) -> list[Path]:
    return sorted((out / "manifest").glob("*.json")) if (out / "manifest").is_dir() else []


def test_sigint_during_a_sweep_keeps_finished_runs_and_resume_is_byte_identical(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops a 2-worker sweep with exit
    code 130 and keeps every finished run; one result file is then truncated; --resume redoes it and the
    rest, and the tables are byte-identical to an uninterrupted 1-worker sweep."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SWEEP)
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "run.py", "sweep", str(path), "--out", str(out), "--workers", "2",
                             "--quiet", "--no-figures"], cwd=ROOT, start_new_session=True,
                            preexec_fn=ctrl_c_at_default, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while len(_records(out)) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no two recorded runs (exit {proc.poll()}): {proc.communicate()[1][-2000:]!r}")
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        _, err_bytes = proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the embedded cluster's workers, if any are left
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    err = err_bytes.decode("utf-8", "replace")
    assert proc.returncode == 130, err[-2000:]
    from sim.sweep.store import Store

    store = Store(out)
    finished = [p.stem for p in _records(out)]
    assert 2 <= len(finished) < 12 and not (out / "results.csv").exists(), (len(finished), err[-2000:])
    lost = [rid for rid in finished if store.read_meta(rid) is None]
    assert not lost, (lost, [store.record(rid) for rid in lost], err[-2000:])  # nothing finished was lost
    damaged = store.run_path(finished[0])
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    assert store.read_meta(finished[0]) is None  # a truncated result is seen as unfinished

    assert cli.main(["sweep", str(path), "--out", str(out), "--resume", "--workers", "2", "--quiet",
                     "--no-figures"]) == 0
    assert store.read_meta(finished[0]) is not None
    reference = tmp_path / "reference"
    assert cli.main(["sweep", str(path), "--out", str(reference), "--workers", "1", "--quiet", "--no-figures"]) == 0
    for name in ("results.csv", "summary.csv"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), (name, err[-2000:])
    assert "Traceback" not in err, err[-2000:]  # workers ignore Ctrl-C; the driver stops the sweep cleanly
    assert "finished runs are kept" in err, err[-2000:]


def test_only_dasks_cancel_of_an_unstarted_call_is_silenced() -> None:
    """Ctrl-C inside Dask's `sync()` before its call started makes tornado log a NameError from
    `sync.<locals>.cancel` (seen once in CI as a traceback on a clean stop): that record is dropped,
    any other error the loop logs is kept."""
    import functools
    import logging

    from sim.sweep.runner import _CancelOfUnstartedCall

    def sync() -> None:
        def cancel() -> None: ...

        return cancel

    def record(exc: BaseException, callback: object) -> logging.LogRecord:
        return logging.LogRecord("tornado.application", logging.ERROR, __file__, 1, "Exception in callback %r",
                                 (callback,), (type(exc), exc, None))

    cancel = functools.partial(sync())
    keep = _CancelOfUnstartedCall().filter
    assert "sync.<locals>.cancel" in record(NameError("x"), cancel).getMessage()
    assert not keep(record(NameError("cannot access free variable 'future'"), cancel))
    assert keep(record(ValueError("a real error"), cancel))
    assert keep(record(NameError("elsewhere"), functools.partial(print)))


def test_shops_outgrowing_memory_stop_the_run_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Shop entry compounds: at a high entry rate the shops outgrew memory within weeks and the run died with a
    MemoryError traceback. It now stops when the shop arrays are about to outgrow the memory available (here
    pretended to be 16 MB, with the up-front check, which cannot foresee it, let through), names the key, exits 2
    and writes nothing."""
    import run as cli
    from sim import limits

    monkeypatch.setattr(limits, "check_memory", lambda *_, **__: None)
    monkeypatch.setattr(limits, "available_memory", lambda: 16 * 2**20)
    monkeypatch.setattr(limits, "GROWTH_FLOOR", 0)
    out = tmp_path / "o"
    growth = [f"platforms.{name}.merchant_growth=20" for name in ("community", "video", "entertainment")]
    argv = ["run", "scenarios/classroom.yaml", "--consumers", "500", "--days", "120", "--set", "burn_in_days=0",
            "--set", "merchants.entry_rate=0.05", *(a for g in growth for a in ("--set", g)), "--out", str(out),
            "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert re.fullmatch(r"error: scenarios/classroom\.yaml: merchants\.entry_rate: on simulated day \d+ \(burn-in "
                        r"included\) shop entry would grow the shops to [\d,]+, which need about [\d,]+ MB of memory; "
                        r"this machine has 16 MB available; lower merchants\.entry_rate or platforms' "
                        r"merchant_growth\n", err), err
    assert list(tmp_path.iterdir()) == []


def test_the_shop_growth_guard_counts_the_settlement_slots_and_the_checks_copy() -> None:
    """The guard counted 1 KB a shop; a shop also holds one float64 per day of the longest settlement delay (up
    to 91), and the invariant checks copy every balance: a fuzzed market grew past the guard to 23 GB."""
    from sim import limits

    # a table below the floor passes whatever the moment's MemAvailable says (another process's squeeze is not
    # runaway entry): this stopped a stylized-facts report at 1 MB with "0 MB available"
    limits.check_shop_growth(481, 206, available=0)
    with pytest.raises(limits.MemoryLimitError):
        limits.check_shop_growth(200_000, 206, available=0)
    shops = 1_000_000
    plain = 2 * (limits.MERCHANT + 8) * shops
    limits.check_shop_growth(shops, 5, available=plain + 1)  # delay 0: one slot, about what it was
    with pytest.raises(limits.MemoryLimitError):
        limits.check_shop_growth(shops, 5, available=plain + 1, settlement_slots=91)
    with_slots = 2 * (limits.MERCHANT + 8 * 91) * shops
    limits.check_shop_growth(shops, 5, available=with_slots + 1, settlement_slots=91)
    with pytest.raises(limits.MemoryLimitError):
        limits.check_shop_growth(shops, 5, available=with_slots + 1, settlement_slots=91, checking=True)


@pytest.mark.parametrize("command", [
    ["validate", "--only", "reachable_6m", "--seeds", "2", "--consumers", "1000"],
    ["facts", "--only", "4a", "--seeds", "2", "--no-guesses"],
])
def test_ctrl_c_as_a_report_is_written_leaves_the_old_report_and_its_figures(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures were written in place before the report, so an interrupt between the two left new figures
    beside the old report; now every file is staged and put in place with the report."""
    import sim.cli.facts
    import sim.validation.document
    from sim.report_notes import NOTES_MARKER

    def interrupted(*_: object) -> str:
        raise KeyboardInterrupt

    for module in (sim.cli.facts, sim.validation.document):  # the last step of each: the report's text
        monkeypatch.setattr(module, "keep_notes", interrupted)
    doc, figures = tmp_path / "docs" / "report.md", tmp_path / "docs" / "figures"
    figures.mkdir(parents=True)
    old = {doc: f"old report\n\n{NOTES_MARKER}\n".encode()}
    old |= {figures / name: f"old {name}".encode() for name in ("validation_intervals.png", "validation_series.png",
                                                         "stylized_facts.png", "stylized_facts.csv")}
    for path, text in old.items():
        path.write_bytes(text)
    assert cli.main([*command, "--doc", str(doc), "--workers", "1", "--quiet"]) == 130
    assert {p: p.read_bytes() for p in (*doc.parent.iterdir(), *figures.iterdir()) if p.is_file()} == old
