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
import pkgutil
from types import ModuleType


class UsageError(Exception):
    """A user error reported on one line with exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by `run.py`: the clean-up of an interrupt runs, then exit code 143."""


def at_least(option: str, value: int, low: int) -> None:
    """Refuse a numeric option below `low`, in the project's one-line form."""
    if value < low:
        raise UsageError(f"{option}: {value} is out of range; allowed: >= {low}")


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
