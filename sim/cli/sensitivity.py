"""Sensitivity indices of a finished sobol or morris sweep (SALib), with 95% intervals.

  python run.py sensitivity outputs/sweeps/behaviour_sobol

Writes sensitivity.csv (one row per KPI and parameter) and sensitivity/<kpi>.png into the folder, and
prints the table. `run.py sweep` does this by itself at the end of a sobol or morris sweep.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sim.cli import UsageError

NAME = "sensitivity"
HELP = "Sobol or Morris sensitivity indices of a finished sweep folder (SALib)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="sweep folder written by `run.py sweep` (holds sweep.json)")
    parser.add_argument("--no-figures", action="store_true", help="write the table only")


def main(args: argparse.Namespace) -> int:
    from sim.sweep.sensitivity import analyze_folder, text_table

    if not os.path.isdir(args.results):  # False, not an OSError, for a name the file system refuses
        what = "a file, not a sweep folder" if os.path.isfile(args.results) else "no such folder"
        raise UsageError(f"{args.results}: {what}")
    table, written = analyze_folder(args.results, figures=not args.no_figures)
    print(text_table(table))
    print(f"outputs: {args.results} ({', '.join(written)})")
    return 0
