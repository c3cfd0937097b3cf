"""Commands beyond run/check/list/compare, one module each, discovered by `run.py`.

A command module defines:
    NAME: str                                  the subcommand, e.g. "sweep"
    HELP: str                                  one line for `run.py --help`
    def add_arguments(parser) -> None          its options (argparse)
    def main(args) -> int                      runs it; exit code
It reports bad input by raising `UsageError` (or `ScenarioError`): one line on stderr, exit code 2.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any


class UsageError(Exception):
    """A user error reported on one line with exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by `run.py`: the clean-up of an interrupt runs, then exit code 143."""


def at_least(option: str, value: int, low: int) -> None:
    """Refuse a numeric option below `low`, in the project's one-line form."""
    if value < low:
        raise UsageError(f"{option}: {value} is out of range; allowed: >= {low}")


def by_ids(option: str, text: str, select: Callable[[list[str]], tuple[Any, ...]], noun: str) -> tuple[Any, ...]:
    """The items an `--only ID,ID` option names, through `select` (a ValueError for an unknown id)."""
    try:
        chosen = select([i.strip() for i in text.split(",") if i.strip()])
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if not chosen:
        raise UsageError(f"{option}: no {noun} named")
    return chosen


def check_doc(doc: Path) -> None:
    """Refuse a report path that is a folder or can never be made (under a file), before any simulation."""
    from sim.results import in_the_way

    if doc.exists() and doc.is_dir():
        raise UsageError(f"--doc: {doc} is a folder")
    blocker = in_the_way(doc)
    if blocker is not None:
        raise UsageError(f"--doc: {doc}: {blocker} exists and is not a folder")


@contextmanager
def written_in_one_step(doc: Path) -> Iterator[Path]:
    """A temporary path beside `doc` (same folder: the report's relative figure links hold) that replaces `doc`
    when the block ends; on any failure or interruption it is removed, with the folders made for it, so a
    report is never left truncated."""
    from sim.results import make_parents, remove_empty

    created = make_parents(doc.parent)
    tmp = doc.with_name(f".{doc.name}.partial-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, doc)
    except BaseException:
        tmp.unlink(missing_ok=True)
        remove_empty(created)
        raise


def discover() -> list[ModuleType]:
    """Every command module in this package, in name order."""
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "main"):
            modules.append(module)
    return modules
