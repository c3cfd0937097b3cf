"""A calibration's outputs: the fitted scenario file (extending the input), `fit_report.md` with targets against
start and fitted values, `history.csv` and the loss curve, written all at once or not at all."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.calibration import CalibrationError, Evaluation, Fit, as_set
from sim.results import atomic_folder, check_target
from sim.scenario_files import NAMED_LISTS, load

REPORT = "fit_report.md"  # marks a folder as a calibration's output (which a new one may replace)


def figure_text(value: float) -> str:
    """A figure for the report and the console: `n/a` when the runs left it undefined."""
    return f"{value:.4g}" if math.isfinite(value) else "n/a"


def _cell(evaluation: Evaluation, name: str, seeds: int) -> str:
    """A figure of the report, with the seeds defining it when some did not."""
    share = evaluation.defined.get(name, 1.0)
    text = figure_text(evaluation.figures[name])
    return f"{text} ({round(share * seeds)} of {seeds} seeds)" if 0 < share < 1 else text


def _error(got: float, target: float) -> str:
    """The report's error cell, as the loss measures it: relative to the target's size (its sign was flipped for a
    negative target), absolute where the target is 0 (it was shown as a percentage)."""
    if not math.isfinite(got):
        return "n/a (undefined: counted as a miss of 100%)"
    if target == 0:
        return f"{got:+.4g} (absolute: the target is 0)"
    return f"{100 * (got - target) / abs(target):+.1f}%"


def nested(values: dict[str, float]) -> dict[str, Any]:
    """Dotted paths as a scenario-file fragment (platforms, lenders and restructurers by name)."""
    out: dict[str, Any] = {}
    flat = {k: v for ks, v in values.items() for k in ks.split(",")}
    for path, value in flat.items():
        parts = path.split(".")
        node: dict[str, Any] = out
        i = 0
        while i < len(parts) - 1:
            key = parts[i]
            if key in NAMED_LISTS and i + 1 < len(parts) - 1:
                items = node.setdefault(key, [])
                item = next((x for x in items if x["name"] == parts[i + 1]), None)
                if item is None:
                    item = {"name": parts[i + 1]}
                    items.append(item)
                node, i = item, i + 2
                continue
            node = node.setdefault(key, {})
            i += 1
        node[parts[-1]] = float(as_set(value))  # the value simulated, not a rounding of it
    return out


def loss_summary(fit: Fit) -> str:
    """One sentence for the report and the console: the start's loss, the best, and whether it improved."""
    start = f"loss {fit.start.loss:.4g} at the start" + ("" if fit.notes else " (the scenario as given)")
    if fit.improved:
        return f"{start}, {fit.best.loss:.4g} fitted (best of {len(fit.history)} evaluations)"
    return (f"{start}; the search found no improvement in {len(fit.history)} evaluations, so the fitted scenario "
            "keeps the starting values")


def validate_command(fit: Fit) -> str:
    """The `run.py validate` command that measures the fitted values (tied paths each set) in the library's
    scenarios against every real-world figure: the check a fit to some figures owes the others. A path the
    library's scenarios lack (an item only the fitted scenario has, `lenders.community_credit.apr`) made the whole
    command fail; it is left out, and a shell comment at the end says so."""
    sets = [f"{path}={as_set(value)}" for paths, value in fit.result.values.items() for path in paths.split(",")]
    kept = [s for s in sets if _in_the_library(s)]
    left_out = [s.split("=", 1)[0] for s in sets if s not in kept]
    comment = [f"# left out, not in the library's scenarios: {', '.join(left_out)}"] if left_out else []
    return " ".join(["python run.py validate", *(f"--set {s}" for s in kept), *comment])


def _in_the_library(setting: str) -> bool:
    """Whether every library scenario `validate` runs takes the override `setting`."""
    from sim.scenario_files import ScenarioError, load
    from sim.validation.figures import FIGURES, LIBRARY

    try:
        for stem in dict.fromkeys(f.scenario for f in FIGURES):
            load(str(LIBRARY / f"{stem}.yaml"), [setting])
    except ScenarioError:
        return False
    return True


def write_outputs(fit: Fit, scenario_path: str, out: Path, seeds: list[int], consumers: int | None) -> Path:
    """Write `<name>_fitted.yaml` (extends the input), `fit_report.md`, `loss.png` and `history.csv` into a
    temporary folder, then rename it to `out`: all files or none, replacing only an earlier calibration."""
    problem = check_output(out, scenario_path)
    if problem:
        raise CalibrationError(problem)
    # The full path: `.` (or `..`) has no name to put a sibling next to; the temporary folder would be made
    # inside it, a level below `out`, where the fitted file's relative `extends` does not hold.
    out = Path(out).resolve()
    with atomic_folder(out) as tmp:  # a sibling of `out`: the relative `extends` below holds in both
        _write_files(fit, scenario_path, out, tmp, seeds, consumers)
    return out / f"{load(scenario_path).scenario.name}_fitted.yaml"


def check_output(out: Path, scenario_path: str | None = None) -> str | None:
    """Why `out` cannot receive a calibration (a file, or a non-empty folder that is not an earlier one), or
    would lose the scenario fitted or a file it extends: refitting an earlier fit into its own folder replaced
    the folder holding the file the new one extends (it failed after the whole search, naming a temporary
    folder)."""
    problem = check_target(out, marker=REPORT, kind="a calibrate output folder", files=_written_by_calibrate)
    if problem or scenario_path is None:
        return problem
    where, files = Path(out).resolve(), load(scenario_path).files
    for file in files:
        if where in Path(file).resolve().parents:
            what = "the scenario fitted" if file == files[-1] else "a file the scenario extends"
            return (f"{out}: holds {file}, {what}, which the new outputs would replace; choose another --out "
                    "(or copy the file elsewhere first)")
    return None


def _written_by_calibrate(name: str) -> bool:
    return name in (REPORT, "loss.png", "history.csv") or name.endswith("_fitted.yaml")


def _write_files(fit: Fit, scenario_path: str, out: Path, folder: Path, seeds: list[int], consumers: int | None
                 ) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src = Path(scenario_path).resolve()
    name = load(scenario_path).scenario.name
    fitted = folder / f"{name}_fitted.yaml"
    try:
        rel = os.path.relpath(src, out.resolve())
    except ValueError:
        rel = str(src)
    result = fit.result  # the best point, or the start when nothing beat it: never worse than the start
    lines = [f"# {name}, calibrated: parameters fitted by `python run.py calibrate` to "
             f"{', '.join(t.name for t in fit.targets)}",
             f"# (seeds {seeds}, {consumers or 'scenario'} consumers, "
             f"loss {fit.start.loss:.4g} at the start -> {result.loss:.4g}).",
             "# Fitted values:" if fit.improved else
             "# The search found no improvement on the start: these are the starting values.",
             *(f"# {note}" for note in fit.notes)]
    lines += [f"#   {k} = {as_set(v)}" for k, v in result.values.items()]
    if fit.fixed:  # part of how the fit was made, but not of the fitted scenario (e.g. days=730 to measure)
        lines += ["# Every evaluation also ran with these fixed changes (--set), which this file does not apply:"]
        lines += [f"#   {change}" for change in fit.fixed]
    body = {"extends": rel, "name": f"{name}_fitted", **nested(result.values)}
    fitted.write_text("\n".join(lines) + "\n" + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    load(str(fitted))  # the fitted file must load

    with open(folder / "history.csv", "w", encoding="utf-8") as fh:
        cols = [p.path for p in fit.params] + [t.name for t in fit.targets]
        fh.write(",".join(["evaluation", *cols, "loss"]) + "\n")
        for i, e in enumerate(fit.history, 1):
            figures = [*(e.figures[t.name] for t in fit.targets), e.loss]
            fh.write(",".join([str(i), *(as_set(e.values[p.path]) for p in fit.params),
                               *(f"{x:.6g}" if math.isfinite(x) else "" for x in figures)]) + "\n")

    losses = np.asarray([e.loss for e in fit.history])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(1, len(losses) + 1), losses, ".", color="tab:gray", label="evaluation")
    ax.plot(np.arange(1, len(losses) + 1), np.minimum.accumulate(losses), color="tab:blue", label="best so far")
    ax.set_yscale("log" if losses.min() > 0 else "linear")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("loss (weighted squared relative error)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "loss.png", dpi=80)
    plt.close(fig)

    rep = [f"# Calibration of {name}", "",
           f"Scenario `{scenario_path}`, seeds {seeds}, {consumers or 'scenario'} consumers, "
           f"{len(fit.history)} evaluations in {fit.seconds:.0f} s. Fitted scenario: `{fitted.name}`.", ""]
    if fit.fixed:
        rep += [f"Every evaluation ran with `--set {' --set '.join(fit.fixed)}` (not applied in the fitted file).", ""]
    summary = loss_summary(fit)
    rep += [f"{summary[0].upper()}{summary[1:]}.", ""]
    if fit.notes:
        rep += ["The start is the scenario's own values of the parameters, except:", ""]
        rep += [f"- {note}" for note in fit.notes] + [""]
    else:
        rep += ["The search started from the scenario's own values of the parameters (the first evaluation).", ""]
    rep += ["| target | value | weight | start | fitted | rel. error |", "|---|---|---|---|---|---|"]
    for t in fit.targets:
        error = _error(result.figures[t.name], t.value)
        rep.append(f"| {t.name} | {t.value:.4g} | {t.weight:g} | {_cell(fit.start, t.name, len(seeds))} | "
                   f"{_cell(result, t.name, len(seeds))} | {error} |")
    if any(e.defined for e in (fit.start, result)):
        rep += ["", "A figure undefined on some seeds (e.g. a recovery rate where nothing was written off) is the mean "
                "over the seeds that define it, and counts in the loss as a miss of 100% on the others."]
    rep += ["", "| parameter | low | high | start | fitted |", "|---|---|---|---|---|"]
    for p in fit.params:
        rep.append(f"| {p.path} | {p.low:g} | {p.high:g} | {fit.start.values[p.path]:.6g} | "
                   f"{result.values[p.path]:.6g} |")
    rep += ["", "![loss curve](loss.png)", "",
            "To measure the fitted values against every real-world figure in the library's scenarios (the report "
            "goes to `outputs/validate/`; figures outside the targets can move too):", "",
            f"    {validate_command(fit)}", ""]
    (folder / REPORT).write_text("\n".join(rep), encoding="utf-8")
