"""Run the scenario library over seeds, compare the model with real-world figures (docs/sources.md)
and write docs/validation.md with figures under docs/figures/.

  python run.py validate --seeds 10 --consumers 20000
  python run.py validate --only reachable_6m,reachable_12m --seeds 20 --set collections.contact_shape=0.7

With --only or --set the report goes to outputs/validate/validation.md unless --doc says otherwise, so a
trial never overwrites the committed docs/validation.md.

Exit code 0 when every figure and series check passes, 1 when some fail (the report is written either way).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli import (
    MAX_CONSUMERS,
    MAX_SEEDS,
    MAX_WORKERS,
    at_least,
    by_ids,
    check_doc,
    refuse_dropped_sets,
    written_in_one_step,
)

NAME = "validate"
HELP = "compare the model with real-world figures; write docs/validation.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=10,
                        help="seeds 1..N per scenario (default 10: reachability is a rare event; see the report)")
    parser.add_argument("--consumers", type=int, default=20_000,
                        help="simulated consumers, shops scaled in proportion (default 20000)")
    parser.add_argument("--doc", type=Path, default=None,
                        help="report path (default docs/validation.md; with --only or --set, "
                             "outputs/validate/validation.md)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes running seeds side by side (default: one per core); same results")
    parser.add_argument("--only", default=None, metavar="ID,ID",
                        help="measure only these figures (ids as in the report, e.g. reachable_6m,reachable_12m)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override applied to every run (to try a parameter value before fitting it)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def main(args: argparse.Namespace) -> int:
    from sim import validation
    from sim.scenario_files import load

    at_least("--seeds", args.seeds, 1, MAX_SEEDS)
    at_least("--consumers", args.consumers, 1000, MAX_CONSUMERS)
    if args.workers is not None:
        at_least("--workers", args.workers, 1, MAX_WORKERS)
    refuse_dropped_sets("validate", args.overrides, sizes=True)
    figures = validation.FIGURES if args.only is None else by_ids("--only", args.only, validation.select, "figure")
    for stem in sorted({f.scenario for f in figures} | {"baseline"}):  # a bad --set stops here, in one line
        load(str(validation.LIBRARY / f"{stem}.yaml"), args.overrides)
    partial = figures != validation.FIGURES or bool(args.overrides)
    # a partial or modified run never overwrites the committed report unless asked to
    default = validation.ROOT / ("outputs/validate" if partial else "docs") / "validation.md"
    doc = args.doc or default
    check_doc(doc)
    progress = None if args.quiet else (lambda msg: print(f"  running {msg}", file=sys.stderr, flush=True))
    with written_in_one_step(doc) as staged:
        results, checks = validation.validate(args.seeds, args.consumers, doc=doc, progress=progress,
                                               workers=args.workers, figures=figures,
                                               extra=tuple(args.overrides),
                                               write_as=staged.stage)
    for r in results:
        f = r.figure
        print(f"{'PASS' if r.passed else 'FAIL'}  {f.id:<30} real {validation.fmt(f, f.real):>9}  "
              f"model {validation.fmt(f, r.stats[0]):>9} [{r.interval_text()}]  "
              f"band {validation.fmt(f, f.low)}-{validation.fmt(f, f.high)}")
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  series: {name}: {detail}")
    print(f"report: {doc}")
    return 0 if all(r.passed for r in results) and all(ok for _, ok, _ in checks) else 1
