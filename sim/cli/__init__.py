"""Commands beyond run/check/list/compare, one module each, discovered by `run.py`.

A command module defines:
    NAME: str                                  the subcommand, e.g. "sweep"
    HELP: str                                  one line for `run.py --help`
    def add_arguments(parser) -> None          its options (argparse)
    def main(args) -> int                      runs it; exit code
It reports bad input by raising `UsageError` (or `ScenarioError`): one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn


class UsageError(Exception):
    """A user error reported on one line with exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by `run.py`: the clean-up of an interrupt runs, then exit code 143."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with the project's error form: one line on stderr naming the command, exit code 2. (argparse
    prints its whole usage first, which buries the line that says what is wrong.)"""

    commands: dict[str, OneLineParser]  # the subcommands' parsers, set by whoever adds them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviated options: `compare --seed 3` would silently mean --seeds 3 (seeds 1..3), and a script's
        # abbreviation would change meaning when a command gains an option.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (python {self.prog} --help lists the options)\n")

    def refuse_unknown(self, extra: list[str]) -> NoReturn:
        """Name the arguments this command does not take, with the nearest option for a mistyped one."""
        options = [s for action in self._actions for s in action.option_strings]
        close = [m for word in extra if word.startswith("-")
                 for m in difflib.get_close_matches(word.split("=", 1)[0], options, n=1)]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        self.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


# Upper bounds of count options: far beyond any use, low enough that `range(1, N + 1)` or a pool of N processes
# cannot exhaust the memory before the first run (`--seeds 1000000000` did).
MAX_SEEDS = 1000
MAX_BUDGET = 10_000
MAX_WORKERS = 256
MAX_CONSUMERS = 50_000_000  # the schema's bound on consumers.count


def at_least(option: str, value: int, low: int, high: int | None = None) -> None:
    """Refuse a numeric option below `low` (or above `high`), in the project's one-line form."""
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise UsageError(f"{option}: {value} is out of range; allowed: {allowed}")


def refuse_dropped_sets(command: str, overrides: list[str], *, sizes: bool = False) -> None:
    """Refuse a `--set` the command would drop without a word: `seed` where it runs seeds 1..N itself, and with
    `sizes` `consumers.count`, which its `--consumers` replaces (validate, calibrate: their runs are resized, with
    the shops scaled by the ratio to the count set, so the --set only changed the shops)."""
    for given in overrides:
        key = given.split("=", 1)[0].strip()
        if key == "seed":
            raise UsageError(f"--set {given}: {command} runs seeds 1..N (--seeds N) whatever the scenario's seed; "
                             "leave seed out")
        if sizes and key == "consumers.count":
            raise UsageError(f"--set {given}: {command} sets the consumers with --consumers N (shops scaled in "
                             "proportion); give that instead")


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
    """Refuse a report path that is a folder or can never be made (under a file, or where the file system refuses
    it), or an existing file that is not an earlier report, before any simulation. The report keeps the notes of
    the file it replaces (`sim.report_notes`): a file that was not UTF-8 stopped the command with a traceback
    after the whole run, and one of the user's own was replaced, its text lost."""
    from sim.report_notes import NOTES_MARKER
    from sim.results import in_the_way, refused

    if doc.exists() and doc.is_dir():
        raise UsageError(f"--doc: {doc} is a folder")
    if doc.is_file():
        try:
            text = doc.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"--doc: {doc} is not UTF-8 text, so not an earlier report; choose another --doc"
                             ) from None
        except OSError as exc:
            raise UsageError(f"--doc: {doc}: cannot be read ({exc.strerror}); choose another --doc") from None
        if text.strip() and NOTES_MARKER not in text:
            raise UsageError(f"--doc: {doc} exists and is not an earlier report (it has no {NOTES_MARKER} line), "
                             "which the new report would replace; choose another --doc")
    blocker = in_the_way(doc)
    if blocker is not None:
        raise UsageError(f"--doc: {doc}: {blocker} exists and is not a folder")
    problem = refused(doc)
    if problem:
        raise UsageError(f"--doc: {problem}")


class Staged:
    """The temporary names of one command's outputs: the report's (`doc`) and, through `stage`, its companions'
    (figures, a CSV), each beside the file it will replace, so that links relative to the report hold."""

    def __init__(self, doc: Path) -> None:
        from sim.results import make_parents

        self.created = make_parents(doc.parent)
        self.target = doc
        self.doc = doc.with_name(f".{doc.name}.partial-{os.getpid()}")
        self.companions: dict[Path, Path] = {}

    def stage(self, target: Path) -> Path:
        """Where to write `target` now (the report's temporary name for the report itself); it takes `target`'s
        place when the report does. A companion's temporary name keeps the suffix, from which matplotlib and pandas
        pick the format."""
        from sim.results import make_parents

        target = Path(target)
        if target == self.target:
            return self.doc
        self.created = make_parents(target.parent) + self.created  # deepest first, for `remove_empty`
        tmp = target.with_name(f".partial-{os.getpid()}-{target.name}")
        self.companions[tmp] = target
        return tmp

    def put_in_place(self) -> None:
        # The report last: a report never links to figures older than itself.
        for tmp, target in self.companions.items():
            os.replace(tmp, target)
        os.replace(self.doc, self.target)

    def discard(self) -> None:
        for tmp in (*self.companions, self.doc):
            tmp.unlink(missing_ok=True)
        from sim.results import remove_empty

        remove_empty(self.created)


@contextmanager
def written_in_one_step(doc: Path) -> Iterator[Staged]:
    """Temporary paths beside `doc` and the files it links to (`Staged.stage`) that replace them when the block
    ends; on any failure or interruption they are removed, with the folders made for them, so a report is never
    left truncated nor beside figures of another run."""
    from sim.results import raise_if_refused

    staged = Staged(doc)
    try:
        yield staged
        staged.put_in_place()
    except BaseException as exc:
        staged.discard()
        raise_if_refused(exc, doc)
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
