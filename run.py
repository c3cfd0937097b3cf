"""Command line of the platform-finance simulator: run, check, list and compare scenario files.

  python run.py run scenarios/baseline.yaml --seed 3 --set regulation.rate_cap=0.15
  python run.py scenarios/classroom.yaml          (shorthand for `run`)
  python run.py check scenarios/*.yaml
  python run.py list
  python run.py compare scenarios/baseline.yaml scenarios/closed_loop.yaml --seeds 5

Exit codes: 0 done, 1 a broken money or loan identity (`run --check-invariants`: a bug in the model) or an output
the file system refused while it was written (a full disk: nothing written) or a sweep that lost its Dask scheduler
(finished runs kept: continue with --resume), 2 bad
scenario file or arguments (one-line message, nothing written), 130 interrupted (Ctrl-C), 141 the reader of
its output went away (`| head`), 143 terminated (SIGTERM); an interrupted or terminated command leaves no
partial output.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any


def _interrupted_while_loading(*_: object) -> None:
    print("interrupted: nothing written", file=sys.stderr)
    sys.exit(130)


# Loading the model's modules takes seconds on a slow machine: a Ctrl-C then ends the command as one later does, in
# one line, not with the traceback of an import (`main` hands Ctrl-C back to Python's handler before it runs the
# command). A SIGINT the shell has set to be ignored stays ignored.
if __name__ == "__main__" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_loading)

from sim.cli import (  # noqa: E402
    MAX_SEEDS,
    OneLineParser,
    Terminated,
    UsageError,
    at_least,
    discover,
    refuse_dropped_sets,
)
from sim.invariants import InvariantError  # noqa: E402
from sim.scenario_files import Resolved, ScenarioError, header_comment, library_file, load, to_yaml  # noqa: E402

if TYPE_CHECKING:
    from sim import MarketModel
    from sim.scenario import Scenario

BUILT_IN = ("run", "check", "list", "compare")
PLUGINS = {module.NAME: module for module in discover()}
COMMANDS = (*BUILT_IN, *PLUGINS)
LIBRARY = Path(__file__).resolve().parent / "scenarios"


class Fail(Exception):
    """A user error reported on one line with exit code 2."""


def _common(p: argparse.ArgumentParser, *, seed: bool = True) -> None:
    if seed:
        p.add_argument("--seed", type=int, help="seed of the run (default: the scenario's seed)")
    p.add_argument("--days", type=int, help="recorded days (default: the scenario's days)")
    p.add_argument("--consumers", type=int, help="simulated consumers (default: the scenario's consumers.count); "
                   "shops stay at merchants.count (unlike calibrate and validate, which scale them): add "
                   "--set merchants.count=N to keep the scenario's ratio")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field by dotted path, e.g. platforms.community.finance.strategy=own_license "
                        "(repeatable; platforms, lenders and restructurers by name)")


def parser() -> OneLineParser:
    """The command line; its subcommands' parsers are in `.commands` by name."""
    top = OneLineParser(prog="run.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    run = sub.add_parser("run", help="run a scenario and write its outputs", description="Run a scenario file; "
                         "write scenario.yaml, manifest.json, market.csv, platforms.csv, lenders.csv, summary.json "
                         "and dashboard.png to outputs/<scenario>/<timestamp>-seed<N>/ (or --out DIR).")
    run.add_argument("scenario", help="scenario YAML file")
    _common(run)
    run.add_argument("--out", type=Path, help="output folder (replaced if it holds an earlier run)")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no KPI table (notes are still printed)")
    run.add_argument("--check-invariants", action="store_true",
                     help="check every money and loan identity each day (slower); a broken one stops the run "
                          "(exit 1) naming it, with nothing written")
    check = sub.add_parser("check", help="validate scenario files only (exit 0 or 2)",
                           description="Validate scenario files without running them.")
    check.add_argument("scenarios", nargs="+", help="scenario YAML files")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a field while checking")
    sub.add_parser("list", help="show the scenario library", description="List scenarios/*.yaml with one line each.")
    comp = sub.add_parser("compare", help="run scenarios over the same seeds and compare KPIs",
                          description="Run each scenario over the same seeds (common random numbers); write a KPI "
                          "table with 95% intervals, differences from the first scenario and a figure.")
    comp.add_argument("scenarios", nargs="+", help="scenario YAML files (the first is the reference)")
    comp.add_argument("--seeds", type=int, default=5, help="number of seeds, 1..N (default 5)")
    _common(comp, seed=False)
    comp.add_argument("--out", type=Path, help="output folder (default outputs/compare/<timestamp>)")
    comp.add_argument("--quiet", action="store_true", help="no progress bar")
    for name, module in PLUGINS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.__doc__,
                                            formatter_class=argparse.RawDescriptionHelpFormatter))
    top.commands = sub.choices
    return top


OPTION_KEYS = {"seed": "seed", "days": "days", "consumers": "consumers.count"}


def overrides_of(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The explicit options as overrides (validated like any other value) and their names for messages."""
    extra, labels = [], {}
    set_keys = {o.split("=", 1)[0].strip(): o for o in args.overrides}
    for option, key in OPTION_KEYS.items():
        value = getattr(args, option, None)
        if value is not None:
            if key in set_keys:  # otherwise the --set would win without a word
                raise UsageError(f"--{option} {value} and --set {set_keys[key]} both set {key}; give one of them")
            extra.append(f"{key}={value}")
            labels[extra[-1]] = f"--{option} {value}"
    return [*extra, *args.overrides], labels


def cmd_run(args: argparse.Namespace) -> int:
    from sim import MarketModel
    from sim.results import (
        RUN_FILES,
        check_target,
        kpi_table,
        manifest,
        run_notes,
        summarize,
        write_run,
    )

    resolved = load(args.scenario, *overrides_of(args))
    s = resolved.scenario
    target = args.out or Path("outputs") / s.name / f"{datetime.now():%Y%m%d-%H%M%S}-seed{s.seed}"
    problem = check_target(target, files=RUN_FILES)
    if problem:
        raise Fail(problem)
    from sim.limits import MemoryLimitError, check_memory  # refuse a scenario too large for memory before building it

    check_memory(s, label=args.scenario)
    started = time.perf_counter()
    model = MarketModel(s, rng=s.seed, check_invariants=args.check_invariants)
    try:
        step_all(model, s.days, quiet=args.quiet, label=s.name)
    except MemoryLimitError as exc:  # shops outgrew memory mid-run: blame the file, as the up-front check does
        raise MemoryLimitError(f"{args.scenario}: {exc}") from None
    wall = time.perf_counter() - started
    # a default folder is never replaced: two runs started in the same second keep both
    notes = [f"note: {note}" for note in run_notes(model)]
    made = manifest(model, wall, resolved.files, resolved.overrides) | {"notes": notes}  # as compare's manifest
    target = write_run(model, target, _resolved_yaml(resolved), made, unique=args.out is None)
    if not args.quiet:
        print(f"{s.name}: seed {s.seed}, {s.days} days, {s.consumers.count:,} consumers, {wall:.1f} s")
        print(kpi_table(summarize(model)))
    for note in notes:  # also with --quiet: the KPIs do not show it (a strategy inert all run)
        print(note)
    print(f"outputs: {target}")
    return 0


def step_all(model: MarketModel, days: int, *, quiet: bool, label: str) -> None:
    """Run the burn-in, then `days` recorded days, with a progress bar on stderr."""
    from tqdm import tqdm

    with tqdm(total=model.scenario.burn_in_days + days, desc=label, unit="day", file=sys.stderr, disable=quiet,
              leave=False, mininterval=0.5) as bar:
        model.burn_in(bar.update)
        for _ in range(days):
            model.step()
            bar.update()


def _resolved_yaml(resolved: Resolved) -> str:
    files = ", ".join(resolved.files)
    sets = " ".join(f"--set {o}" for o in resolved.overrides)
    header = (f"# Fully resolved scenario (from {files}{' with ' + sets if sets else ''}).\n"
              f"# Re-run it as is: python run.py run scenario.yaml\n")
    return to_yaml(resolved.scenario, header)


def load_each(paths: list[str], overrides: list[str], labels: dict[str, str] | None = None) -> Iterator[Resolved]:
    """Each file with the same overrides, in turn. Among several files, an error that an override causes in one
    of them also names that file: the override's own message (`--days 5: events.0.day: ...`) does not say which."""
    given = [(labels or {}).get(o, f"--set {o}") + ":" for o in overrides]
    for path in paths:
        try:
            yield load(path, overrides, labels)
        except ScenarioError as exc:
            if len(paths) > 1 and str(exc).startswith(tuple(given)):
                raise ScenarioError(f"{path}: {exc}") from None
            raise


def cmd_check(args: argparse.Namespace) -> int:
    from sim.scenario import Scenario

    defaults = Scenario()
    for path, resolved in zip(args.scenarios, load_each(args.scenarios, args.overrides), strict=True):
        s = resolved.scenario
        print(f"ok  {path}: {s.name}, {counted(len(s.platforms), 'platform')}, {counted(len(s.lenders), 'lender')}, "
              f"{counted(s.days, 'day')}{added_items(s, defaults)}")
    return 0


def counted(n: int, noun: str) -> str:
    """`1 platform`, `3 platforms`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def added_items(scenario: Scenario, defaults: Scenario) -> str:
    """The platforms, lenders and intermediaries a scenario has beyond the defaults, for `check`: a file item
    whose name is not one of its parent's adds an item with default values (`{name: vidio, ...}` adds a fourth
    platform), which only the count showed."""
    parts = []
    for key, one in (("platforms", "platform"), ("lenders", "lender"), ("restructurers", "intermediary")):
        known = {item.name for item in getattr(defaults, key)}
        new = [item.name for item in getattr(scenario, key) if item.name not in known]
        if new:
            kind = one if len(new) == 1 else {"intermediary": "intermediaries"}.get(one, f"{one}s")
            parts.append(f"{kind} {', '.join(new)}")
    return f"; beyond the defaults: {'; '.join(parts)}" if parts else ""


def cmd_list(_: argparse.Namespace) -> int:
    for path in sorted(LIBRARY.glob("*.yaml")):
        try:
            text = load(str(path)).scenario.description or header_comment(str(path))
        except ScenarioError as exc:
            text = f"INVALID: {exc}"
        print(f"{path.stem:<32} {text}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.compare import compare

    at_least("--seeds", args.seeds, 1, MAX_SEEDS)
    refuse_dropped_sets("compare", args.overrides)
    resolved = list(load_each(args.scenarios, *overrides_of(args)))
    target = args.out or Path("outputs") / "compare" / f"{datetime.now():%Y%m%d-%H%M%S}"
    from sim.compare import COMPARE_FILES
    from sim.results import check_target

    problem = check_target(target, kind="a compare folder", files=COMPARE_FILES)
    if problem:
        raise Fail(problem)
    from sim.limits import check_memory  # issue 8: refuse a scenario too large for memory before building it

    for path, r in zip(args.scenarios, resolved, strict=True):
        check_memory(r.scenario, label=path)
    text, target = compare(resolved, args.seeds, target, quiet=args.quiet, unique=args.out is None)
    print(text)
    print(f"outputs: {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        word = argv[0]
        if not Path(word).exists() and re.fullmatch(r"[a-z]+", word):  # a mistyped command, not a scenario file
            close = difflib.get_close_matches(word, COMMANDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = library_file(word)  # a scenario's name as `list` prints it: say which file to give
            hint += f"; to run the library's {word}: python run.py run {known}" if known else ""
            print(f"error: unknown command '{word}'{hint}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        argv = ["run", *argv]  # python run.py SCENARIO
    top = parser()
    args, extra = top.parse_known_args(argv)
    if extra:  # named by the command that refused them, not by the top level (argparse's way)
        top.commands[args.command].refuse_unknown(extra)
    built_in = {"run": cmd_run, "check": cmd_check, "list": cmd_list, "compare": cmd_compare}
    handler = built_in.get(args.command) or PLUGINS[args.command].main
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:  # from here Ctrl-C runs the clean-up below
        signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = _on_sigterm_raise()
    try:
        return handler(args)
    except (ScenarioError, Fail, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except InvariantError as exc:  # a bug in the model (or an extension of it), not in the scenario
        print(f"error: broken identity, a bug in the model: {exc}; nothing written", file=sys.stderr)
        return 1
    except Terminated:
        print("terminated: nothing written", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        from sim.results import WriteFailed  # already loaded by the writer that raised it

        if not isinstance(exc, WriteFailed):
            raise
        print(f"error: {exc.strerror}", file=sys.stderr)  # a full disk, a lost permission: one line, not a traceback
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _reader_gone() -> int:
    """The reader of stdout went away (`run.py list | head -1`): stop quietly with SIGPIPE's exit code, as Unix
    tools do, instead of a traceback. Output still buffered goes to /dev/null, or flushing it at exit would raise
    again. What was written stays as a Ctrl-C leaves it (a sweep folder can be resumed)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def _raise_terminated(*_: object) -> None:
    raise Terminated


def _on_sigterm_raise() -> Any:
    """Make SIGTERM raise `Terminated` (a KeyboardInterrupt), so the clean-up that Ctrl-C runs also runs when
    a process manager stops the command (by default SIGTERM kills it mid-write). Returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


if __name__ == "__main__":
    sys.exit(main())
