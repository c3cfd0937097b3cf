"""Run a parameter sweep on Dask distributed: an embedded LocalCluster, or an existing cluster.

  python run.py sweep scenarios/sweeps/licensing_x_deposit_cap.yaml --workers 2
  python run.py sweep SWEEP --scheduler tcp://10.0.0.5:8786 --out /shared/sweeps/s1
  python run.py sweep SWEEP --out DIR --resume        # after an interruption: runs only what is missing
                                                      # (or after adding replications or grid values)

Each run's daily market series and KPIs go to DIR/runs/<id>.parquet as soon as it finishes, with a
record in DIR/manifest/. At the end: results.parquet/.csv (one row per run), summaries, figures, and
for sobol and morris designs the sensitivity indices. See docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.cli import Terminated, UsageError, at_least

NAME = "sweep"
WORKERS_PER_CORE = 4  # an embedded worker is a process of its own (memory): beyond this, --workers is a typo
HELP = "run a parameter sweep file on Dask (embedded cluster or --scheduler ADDRESS)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", help="sweep YAML file (see scenarios/sweeps/)")
    parser.add_argument("--workers", type=int,
                        help="worker processes of the embedded cluster (default: cores; never more than runs left)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--out", type=Path, help="sweep folder (default outputs/sweeps/<name>)")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out: run only "
                        "what is missing or unreadable (also after adding replications or grid values)")
    parser.add_argument("--ignore-code-change", action="store_true", help="with --resume, keep stored runs even "
                        "though the model code (sim/) changed since the sweep started")
    parser.add_argument("--retry-failed", action="store_true", help="with --resume, also rerun failed runs")
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from sim.sweep import analysis, runner
    from sim.sweep.design import run_count
    from sim.sweep.plan import load_sweep
    from sim.sweep.table import model_versions_note, write_tables

    if args.workers is not None:
        at_least("--workers", args.workers, 1)
        limit = WORKERS_PER_CORE * (os.cpu_count() or 1)
        if args.workers > limit:
            raise UsageError(f"--workers: {args.workers} is out of range; allowed: 1 to {limit} ({WORKERS_PER_CORE} "
                             "per core of this machine: more processes only share the cores, and each needs its own "
                             "memory)")
    if args.scheduler is not None and not args.scheduler.strip():
        # `--scheduler "$(cat scheduler.txt)"` before the file was written: an empty address would be no
        # --scheduler at all, and the whole sweep would run on this machine (a login node) instead
        raise UsageError("--scheduler: empty; give the scheduler's address with its port, e.g. tcp://HOST:8786")
    if args.workers is not None and args.scheduler:
        raise UsageError("--workers: only for the embedded cluster; with --scheduler the cluster has its own workers")
    for flag in ("retry_failed", "ignore_code_change"):
        if getattr(args, flag) and not args.resume:
            raise UsageError(f"--{flag.replace('_', '-')}: only with --resume")
    plan = load_sweep(args.sweep)
    notes = runner.keep_shared_platforms(plan)  # before the store: the KPIs kept are part of its fingerprint
    out = args.out or Path("outputs") / "sweeps" / plan.sweep.name
    if args.resume:
        runner.check_resumable(out)  # before connecting: a mistyped --out is refused at once
    if args.scheduler:
        runner.check_scheduler(args.scheduler)
    store = runner.prepare(plan, out, resume=args.resume, ignore_code_change=args.ignore_code_change)
    if plan.extended_from is not None and plan.extended_from < len(plan.runs):
        print(f"extending {store.root}: {plan.extended_from} planned runs -> {len(plan.runs)}; the runs stored "
              "are kept, only the missing ones run")
    elif plan.extended_from is not None:  # the same runs listed in another order (grid values reordered)
        print(f"resuming {store.root}: this file lays out the same {len(plan.runs)} runs in another order; the "
              "runs stored are kept")
    print(f"{plan.sweep.name}: {plan.sweep.design}, {len(plan.points)} points x {plan.sweep.replications} "
          f"replications = {len(plan.runs)} runs ({run_count(plan.sweep)} planned, {len(plan.unique())} distinct)")
    for note in notes:
        print(note)
    if plan.sweep.design == "sobol":  # said before the runs, which a larger N would not waste
        from sim.sweep.sensitivity import unbalanced

        balance = unbalanced(plan.unit, plan.parameters, plan.sweep.second_order)
        if balance:
            print(f"sensitivity: {balance}")
    phase = ": finished runs are kept"
    indices = None
    try:
        outcome = runner.execute_all(plan, store, workers=args.workers, scheduler=args.scheduler,
                                     retry_failed=args.retry_failed, quiet=args.quiet)
        store.remove_running_if_empty()
        # Ctrl-C from here on finds every run stored: say so, rather than run.py's "nothing written"
        phase = " while writing the tables and figures: every run has finished and is kept"
        frame = write_tables(plan, store)
        written = ["results.parquet", "results.csv", "manifest.csv"]
        written += analysis.summarize_sweep(plan, store, frame, figures=not args.no_figures)
        if plan.sweep.design in ("sobol", "morris"):
            from sim.sweep.sensitivity import analyze_folder

            indices, files = analyze_folder(store.root, figures=not args.no_figures)
            written += files
    except (runner.SchedulerLost, runner.RunNotStored) as exc:
        # not bad input (2) and nothing failed in the model: 1, as an output the file system refused
        print(f"{exc}; the runs finished are kept in {store.root}; continue with --resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        word = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"{word}{phase} in {store.root}; continue with --resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    print(f"runs: {outcome.ran} run now, {outcome.skipped} already stored, {outcome.failed} failed "
          f"(see manifest.csv); {int((frame['status'] == 'done').sum())} of {len(frame)} rows have results")
    for note in analysis.undefined_notes(plan, frame):
        print(note)
    if indices is not None:  # the indices, or for each KPI why it is not analysable
        from sim.sweep.sensitivity import text_table

        print(f"sensitivity ({plan.sweep.design}):\n{text_table(indices)}")
    versions = model_versions_note(store)
    if versions is not None:
        print(versions)
    print(f"outputs: {store.root} ({', '.join(written)})")
    return 0
