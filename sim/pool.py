"""The process pool that validate, facts and calibrate spread their runs over: workers that end silently on Ctrl-C.

A light module (standard library only): a worker imports it to run `_end_on_ctrl_c` before it imports the model.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def process_pool(workers: int | None, jobs: int) -> ProcessPoolExecutor:
    """Worker processes for `jobs` independent runs: one per core by default, never more than the runs.
    Each run depends only on its scenario and seed, so results do not depend on how runs are spread."""
    workers = max(1, min(workers or os.cpu_count() or 1, jobs))
    spawn = multiprocessing.get_context("spawn")
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows
        return ProcessPoolExecutor(workers, mp_context=spawn)
    return _QuietOnCtrlC(workers, mp_context=spawn, initializer=_end_on_ctrl_c)


class _QuietOnCtrlC(ProcessPoolExecutor):
    """A pool whose workers end silently on Ctrl-C, which a terminal sends to them as well as to the command (the
    command alone says `interrupted: nothing written`). A worker importing the model when it came printed a page
    of KeyboardInterrupt traceback, and calibrate starts its workers anew at every evaluation. Workers are spawned
    by `submit`: SIGINT is blocked around it, so they start with it blocked (the mask survives exec), and a Ctrl-C
    while they start waits for `_end_on_ctrl_c`, their first step, which lets it end them."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C meanwhile is raised here, in the command


def _end_on_ctrl_c() -> None:
    """A worker's first step: SIGINT ends it as a signal does by default (no traceback), from now on, or at once if
    it came while the worker started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
