"""Measure the six stylized facts over seeds, and again with each guessed parameter at both ends of its
range; write docs/stylized_facts.md (+ a figure and a CSV under docs/figures/).

  python run.py facts                          # every fact, defaults and every guess (about 10 minutes)
  python run.py facts --no-guesses             # the facts at the defaults only (about a minute)
  python run.py facts --only 3a,3b --guess consumers.self_cure_rate --seeds 3

Anything but the full report goes to outputs/facts/stylized_facts.md unless --doc says otherwise, so a trial
never overwrites the committed report. Exit code 0 when every fact holds at the defaults, 1 when one does not
(the report is written either way); a fact that fails only under a guess is a finding of the report.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

from sim.cli import MAX_SEEDS, MAX_WORKERS, UsageError, at_least, by_ids, check_doc, written_in_one_step
from sim.report_notes import keep_notes

NAME = "facts"
HELP = "the stylized facts, and their robustness to guessed parameters; write docs/stylized_facts.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", default=None, metavar="ID,ID", help="measure only these facts (e.g. 3a,3b)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds 1..N for every fact (default 10)")
    guesses = parser.add_mutually_exclusive_group()
    guesses.add_argument("--no-guesses", action="store_true", help="the facts at the defaults only")
    guesses.add_argument("--guess", action="append", default=[], metavar="KEY",
                         help="vary only this guessed parameter (repeatable; names as in the report)")
    parser.add_argument("--doc", type=Path, default=None,
                        help="report path (default docs/stylized_facts.md; for a partial run "
                             "outputs/facts/stylized_facts.md)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes running markets side by side (default: one per core); same results")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _chosen(args: argparse.Namespace) -> tuple[tuple, tuple]:
    from sim import facts

    chosen = facts.FACTS if args.only is None else by_ids("--only", args.only, facts.select, "fact")
    if args.seeds is not None:
        at_least("--seeds", args.seeds, 2, MAX_SEEDS)  # a paired interval needs two seeds
        chosen = tuple(dataclasses.replace(f, seeds=args.seeds) for f in chosen)
    guesses = () if args.no_guesses else facts.GUESSES
    if args.guess:
        known = {g.name: g for g in facts.GUESSES} | {k: g for g in facts.GUESSES for k in g.keys}
        unknown = [k for k in args.guess if k not in known]
        if unknown:
            raise UsageError(f"--guess: {', '.join(unknown)}: not a guessed parameter; allowed: "
                             f"{', '.join(g.keys[0] for g in facts.GUESSES)}")
        guesses = tuple(dict.fromkeys(known[k] for k in args.guess))
    return chosen, guesses


def main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim import facts, facts_report, validation

    if args.workers is not None:
        at_least("--workers", args.workers, 1, MAX_WORKERS)
    chosen, guesses = _chosen(args)
    every = facts.settings(guesses)
    facts.check_overrides(chosen, every)
    full = chosen == facts.FACTS and guesses == facts.GUESSES
    doc = args.doc or validation.ROOT / ("docs" if full else "outputs/facts") / "stylized_facts.md"
    check_doc(doc)
    command = " ".join(["python run.py facts", *([f"--only {args.only}"] if args.only else []),
                        *([f"--seeds {args.seeds}"] if args.seeds else []),
                        *(["--no-guesses"] if args.no_guesses else []),
                        *(f"--guess {shlex.quote(k)}" for k in args.guess)])
    with written_in_one_step(doc) as staged, tqdm(total=len(facts.jobs_of(chosen, every)), desc="markets", unit="run",
                                                file=sys.stderr, disable=args.quiet, leave=False) as bar:
        outcomes = facts.measure(chosen, every, args.workers, bar.update)
        text = facts_report.report(outcomes, guesses, doc.parent / "figures", doc, command, staged.stage)
        staged.doc.write_text(keep_notes(text, doc), encoding="utf-8")
    for o in outcomes:
        print(f"{'HOLDS' if o.holds else o.verdict().upper():<14} fact {o.fact.id:<3} {o.setting.label:<48} "
              f"mean {o.stats[0]:+.4g} [{o.stats[1]:+.4g}, {o.stats[2]:+.4g}]")
    print(f"report: {doc}")
    return 0 if all(o.holds for o in outcomes if o.setting is facts.DEFAULTS) else 1
