"""Run the scenario library over seeds, compare the model with real-world figures (../shared/DOMAIN.md
section 6) and write docs/validation.md with figures under docs/figures/.

  python run.py validate --seeds 10 --consumers 20000

Exit code 0 when every figure and series check passes, 1 when some fail (the report is written either way).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli import UsageError, at_least

NAME = "validate"
HELP = "compare the model with real-world figures; write docs/validation.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=10,
                        help="seeds 1..N per scenario (default 10: reachability is a rare event; see the report)")
    parser.add_argument("--consumers", type=int, default=20_000,
                        help="simulated consumers, shops scaled in proportion (default 20000)")
    parser.add_argument("--doc", type=Path, default=None, help="report path (default docs/validation.md)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes running seeds side by side (default: one per core); same results")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def main(args: argparse.Namespace) -> int:
    from sim import validation

    at_least("--seeds", args.seeds, 1)
    at_least("--consumers", args.consumers, 1000)
    if args.workers is not None:
        at_least("--workers", args.workers, 1)
    doc = args.doc or validation.ROOT / "docs" / "validation.md"
    if doc.exists() and doc.is_dir():
        raise UsageError(f"--doc: {doc} is a folder")
    progress = None if args.quiet else (lambda msg: print(f"  running {msg}", file=sys.stderr, flush=True))
    results, checks = validation.validate(args.seeds, args.consumers, doc=doc, progress=progress,
                                           workers=args.workers)
    for r in results:
        mean, lo, hi = r.stats
        f = r.figure
        print(f"{'PASS' if r.passed else 'FAIL'}  {f.id:<30} real {validation.fmt(f, f.real):>9}  "
              f"model {validation.fmt(f, mean):>9} [{validation.fmt(f, lo)}, {validation.fmt(f, hi)}]  "
              f"band {validation.fmt(f, f.low)}-{validation.fmt(f, f.high)}")
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  series: {name}: {detail}")
    print(f"report: {doc}")
    return 0 if all(r.passed for r in results) and all(ok for _, ok, _ in checks) else 1
