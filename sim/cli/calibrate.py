"""Fit scenario parameters to target figures by simulation (common random numbers over seeds).

  python run.py calibrate scenarios/baseline.yaml --targets scenarios/targets/reachability.yaml \\
      --params collections.contact_scale_days:60:400 --params collections.contact_shape:0.3:1.2 --budget 40

Targets (YAML): a list of {name, value, weight}, where name is a figure measured by sim.validation
(reachable_6m, reachable_12m, npl_recovery, micro_turnover, micro_yield, micro_net_margin,
lender_exit_share, <platform>_buyers_per_dau, <platform>_gmv_per_buyer, <platform>_finance_share,
<platform>_merchant_growth, charge_off_rate); or a mapping with `targets:` and optional `params:`.
The search starts from the scenario's own values of the parameters (clipped into the bounds), so the
first evaluation is the scenario as given; the fitted values are never worse than it (when nothing beat
it, the fitted scenario keeps them). Writes <out>/<scenario>_fitted.yaml (extends the input and states the
fitted values), fit_report.md, loss.png and history.csv. How to keep simulation noise out of a fit:
docs/calibration.md.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from sim.cli import MAX_BUDGET, MAX_CONSUMERS, MAX_SEEDS, MAX_WORKERS, UsageError, at_least, refuse_dropped_sets

NAME = "calibrate"
HELP = "fit parameters to target figures; write a fitted scenario and a fit report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file to fit")
    parser.add_argument("--targets", required=True, type=Path, help="targets YAML file")
    parser.add_argument("--params", action="append", default=[], metavar="PATH:LOW:HIGH",
                        help="a parameter to fit with its bounds (repeatable; adds to the targets file's params, "
                             "or replaces the bounds of one it names)")
    parser.add_argument("--budget", type=int, default=40, help="simulation evaluations at most (default 40)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 1..K averaged per evaluation (default 2)")
    parser.add_argument("--consumers", type=int, default=20_000,
                        help="simulated consumers, shops scaled in proportion (default 20000)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="fixed override applied to every evaluation")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes running an evaluation's seeds side by side (default: one per core)")
    parser.add_argument("--out", type=Path, help="output folder (default outputs/calibrate/<timestamp>)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def main(args: argparse.Namespace) -> int:
    from sim.calibration import CalibrationError, Param, calibrate, read_targets, with_given
    from sim.calibration_report import check_output, figure_text, loss_summary, validate_command, write_outputs
    from sim.scenario_files import load

    at_least("--budget", args.budget, 1, MAX_BUDGET)
    at_least("--seeds", args.seeds, 1, MAX_SEEDS)
    at_least("--consumers", args.consumers, 500, MAX_CONSUMERS)
    if args.workers is not None:
        at_least("--workers", args.workers, 1, MAX_WORKERS)
    refuse_dropped_sets("calibrate", args.overrides, sizes=True)
    if not args.targets.is_file():
        raise UsageError(f"--targets: {args.targets} is not a file")
    out = args.out or Path("outputs") / "calibrate" / f"{datetime.now():%Y%m%d-%H%M%S}"
    load(args.scenario, args.overrides)  # bad scenario or overrides: one-line ScenarioError
    problem = check_output(out, args.scenario)  # before any simulation, like `run` and `sweep`
    if problem:
        raise UsageError(f"--out: {problem}")
    try:
        targets, params = read_targets(args.targets)
        params = with_given(params, [Param.parse(p) for p in args.params])
        seeds = list(range(1, args.seeds + 1))

        shown: list[object] = []

        def show(e: object) -> None:
            if not args.quiet:
                vals = " ".join(f"{k}={v:.4g}" for k, v in e.values.items())  # type: ignore[attr-defined]
                first = "  (start)" if not shown else ""
                print(f"  loss {e.loss:10.4g}  {vals}{first}", file=sys.stderr, flush=True)  # type: ignore[attr-defined]
            shown.append(e)

        fit = calibrate(args.scenario, targets, params, budget=args.budget, seeds=seeds, consumers=args.consumers,
                        extra=args.overrides, progress=show, workers=args.workers)
    except CalibrationError as exc:
        raise UsageError(str(exc)) from None
    try:
        fitted = write_outputs(fit, args.scenario, out, seeds, args.consumers)
    except CalibrationError as exc:  # `out` changed while the fit ran
        raise UsageError(f"--out: {exc}") from None
    for note in fit.notes:
        print(f"start: {note}")
    for t in targets:
        print(f"{t.name:<30} target {t.value:10.4g}  fitted {figure_text(fit.result.figures[t.name]):>10}")
    for p in params:
        print(f"{p.path:<40} {fit.result.values[p.path]:.6g}")
    print(f"{loss_summary(fit)}; fitted scenario: {fitted}")
    print(f"report: {out / 'fit_report.md'}")
    print(f"against every figure: {validate_command(fit)}")
    return 0
