"""Calibration: fit chosen scenario parameters to target figures by simulation.

Parameters are dotted paths with bounds (`consumers.shock_rate:0.0005:0.004`, platforms and lenders by
name as in `--set`). Targets are figures of `sim.validation.measure()` (e.g. `reachable_6m`) with a
value and a weight. The loss is the weighted sum of squared relative errors of the figures over seeds
(the mean, or for shares of rare events the pooled share, as the validation reports them); every
evaluation uses the same seeds (common random numbers), so the loss is a deterministic function
of the parameters and a derivative-free optimiser (scipy's bounded Nelder-Mead on the unit cube) can
follow it. The fitted scenario, the report and the loss curve are written by `sim.calibration_report`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.pool import process_pool
from sim.scenario import suggest
from sim.scenario_files import NAMED_LISTS, ScenarioError, load, read_yaml_file
from sim.validation import measure_seeds, pool_rare_shares, run_measured


class CalibrationError(ValueError):
    """Bad parameter or target specification (one line for the user)."""


@dataclass(frozen=True)
class Param:
    """One fitted value: a dotted path, or several comma-separated paths tied to the same value."""

    path: str
    low: float
    high: float
    source: str = field(default="--params", compare=False)  # where it was given, for messages

    @property
    def paths(self) -> list[str]:
        return self.path.split(",")

    @classmethod
    def parse(cls, text: str, source: str = "--params") -> Param:
        """`a.b.c:LOW:HIGH` or `a.b,a.c:LOW:HIGH` (tied). `source` names where it was given, for messages."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0]:
            raise CalibrationError(
                f"{source}: {text!r}: expected PATH:LOW:HIGH, e.g. consumers.shock_rate:0.0005:0.004")
        try:
            low, high = float(parts[1]), float(parts[2])
        except ValueError:
            raise CalibrationError(f"{source} {text}: LOW and HIGH must be numbers") from None
        if not (math.isfinite(low) and math.isfinite(high)):
            raise CalibrationError(f"{source} {text}: LOW and HIGH must be finite numbers (not nan or inf)")
        if not low < high:
            raise CalibrationError(f"{source} {text}: LOW must be below HIGH")
        return cls(parts[0], low, high, source)

    def value(self, u: float) -> float:
        return self.low + float(np.clip(u, 0.0, 1.0)) * (self.high - self.low)

    def unit(self, value: float) -> float:
        return float(np.clip((value - self.low) / (self.high - self.low), 0.0, 1.0))


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    weight: float = 1.0
    source: str = field(default="", compare=False)  # the targets file, for messages


TARGETS_KEYS = ("targets", "params")
TARGET_KEYS = ("name", "value", "weight")
MAX_WEIGHT = 1e6  # weights are relative: a larger one only risks an infinite loss
MAX_TARGET = 1e12  # as the scenario's amounts; a nonzero target nearer 0 than MIN_TARGET makes relative errors overflow
MIN_TARGET = 1e-9


def read_targets(path: str | Path) -> tuple[list[Target], list[Param]]:
    """A targets YAML: either a list of {name, value, weight}, or a mapping with `targets:` and
    optionally `params:` (a list of PATH:LOW:HIGH strings)."""
    try:
        data = read_yaml_file(path)  # the YAML 1.2 rules and the messages of scenario files
    except ScenarioError as exc:
        raise CalibrationError(str(exc)) from None
    params: list[Param] = []
    if isinstance(data, dict):
        for key in data:
            if key not in TARGETS_KEYS:
                raise CalibrationError(f"{path}: {_text(key)}: unknown key{suggest(str(key), list(TARGETS_KEYS))}; "
                                       f"allowed: {', '.join(TARGETS_KEYS)}")
        given = data.get("params")
        if given is not None and not isinstance(given, list):
            raise CalibrationError(f"{path}: params: expected a list of PATH:LOW:HIGH (e.g. "
                                   f"['consumers.shock_rate:0.0005:0.004']), got {_show(given)}")
        for i, p in enumerate(given or []):
            if not isinstance(p, str):
                raise CalibrationError(f"{path}: params.{i}: {_show(p)} is not PATH:LOW:HIGH text (e.g. "
                                       "'consumers.shock_rate:0.0005:0.004')")
            params.append(Param.parse(p, f"{path}: params"))
        data = data.get("targets")
    if not isinstance(data, list) or not data:
        raise CalibrationError(f"{path}: expected a non-empty list of targets (name, value, weight)")
    targets: list[Target] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise CalibrationError(f"{path}: target {i + 1} needs `name` and `value`")
        if not isinstance(item["name"], str):
            raise CalibrationError(f"{path}: target {i + 1}: name {_show(item['name'])} is not text")
        name = item["name"]
        unknown = [k for k in item if k not in TARGET_KEYS]
        if unknown:
            raise CalibrationError(f"{path}: target {name}: {_text(unknown[0])}: unknown key"
                                   f"{suggest(str(unknown[0]), list(TARGET_KEYS))}; allowed: {', '.join(TARGET_KEYS)}")
        if any(t.name == name for t in targets):
            raise CalibrationError(f"{path}: target {name}: listed twice; give each target once (a weight counts "
                                   "it more)")
        numbers = {}
        for key, default in (("value", None), ("weight", 1.0)):
            x = item.get(key, default)
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise CalibrationError(f"{path}: target {name}: {key}: {_show(x)} is not a number")
            numbers[key] = float(x)
        target = Target(name, numbers["value"], numbers["weight"], str(path))
        # a NaN or infinite target makes every loss NaN (or inf): the "fit" would be arbitrary
        if not (math.isfinite(target.value) and (target.value == 0 or MIN_TARGET <= abs(target.value) <= MAX_TARGET)):
            raise CalibrationError(f"{path}: target {target.name}: value {target.value:g} is not allowed; "
                                   f"allowed: a finite number, 0 or between {MIN_TARGET:g} and {MAX_TARGET:g} "
                                   "either side of 0")
        if not (math.isfinite(target.weight) and 0 <= target.weight <= MAX_WEIGHT):
            raise CalibrationError(f"{path}: target {target.name}: weight {target.weight:g} is not allowed; "
                                   f"allowed: a finite number >= 0 and <= {MAX_WEIGHT:g}")
        targets.append(target)
    if not any(t.weight for t in targets):
        raise CalibrationError(f"{path}: every target has weight 0: nothing to fit")
    return targets, params


def _show(value: Any) -> str:
    """A value as YAML writes it in a message: `true`, `'text'`, `[1, 2]`."""
    if isinstance(value, str):
        return repr(value)
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000)
    return text.strip().removesuffix("...").strip()


def _text(key: Any) -> str:
    return "null" if key is None else str(key)


@dataclass
class Evaluation:
    values: dict[str, float]  # parameter path -> value
    figures: dict[str, float]  # target name -> model mean over the seeds where it is defined
    loss: float
    defined: dict[str, float] = field(default_factory=dict)  # target name -> share of seeds defining it (absent: 1)


@dataclass
class Fit:
    params: list[Param]
    targets: list[Target]
    best: Evaluation  # the lowest loss evaluated: the start itself when nothing beat it
    start: Evaluation  # the first evaluation: the scenario's own values of the parameters (see `start_values`)
    history: list[Evaluation] = field(default_factory=list)
    seconds: float = 0.0
    fixed: list[str] = field(default_factory=list)  # the --set changes every evaluation ran with
    notes: list[str] = field(default_factory=list)  # where the start is not the scenario as given, and why

    @property
    def improved(self) -> bool:
        """Whether the search found a point with a lower loss than the start."""
        return self.best.loss < self.start.loss

    @property
    def result(self) -> Evaluation:
        """What the fitted scenario sets: the best point, or the start when nothing beat it (never worse)."""
        return self.best if self.improved else self.start


def _number(value: float | None) -> float:
    """A figure as a float; an undefined one (None, as a run summary writes an undefined ratio) is NaN."""
    return math.nan if value is None else float(value)


def loss_of(figures: dict[str, float | None], targets: list[Target], defined: dict[str, float] | None = None
            ) -> float:
    """Weighted sum of squared relative errors (absolute where the target is 0); an undefined figure (NaN or
    None) counts as a miss of 1. A figure defined on a share d of the seeds (`defined`, from `simulate_seeds`)
    counts d x its squared error + (1 - d) x 1: its mean over the other seeds alone would let a point where
    the figure vanishes on the seeds that miss it look as good as one where every seed gets it right."""
    total = 0.0
    for t in targets:
        got = _number(figures.get(t.name))
        scale = abs(t.value) if t.value else 1.0
        err = (got - t.value) / scale if np.isfinite(got) else 1.0
        share = (defined or {}).get(t.name, 1.0) if np.isfinite(got) else 0.0
        total += t.weight * (share * err * err + (1.0 - share))
    return total


def as_set(value: float) -> str:
    """A parameter value as every evaluation sets it (10 significant digits): the fitted file, the validate
    command and history.csv write it so, since the simulation can turn on the last digit (6 digits gave a fitted
    file whose runs differed from the figures reported for it)."""
    return f"{value:.10g}"


def simulate(scenario_path: str, values: dict[str, float], seeds: list[int], consumers: int | None,
             extra: list[str] | None = None, workers: int | None = 1) -> dict[str, float]:
    """Every measured figure over `seeds` for the scenario with `values` set (see `simulate_seeds`)."""
    return simulate_seeds(scenario_path, values, seeds, consumers, extra, workers)[0]


def simulate_seeds(scenario_path: str, values: dict[str, float], seeds: list[int], consumers: int | None,
                   extra: list[str] | None = None, workers: int | None = 1, pool: Executor | None = None
                   ) -> tuple[dict[str, float], dict[str, float]]:
    """Every measured figure over `seeds` for the scenario with `values` set, and the share of the seeds on
    which each is defined. A figure is the mean over the seeds that define it (as the validation report
    averages), except shares of rare events (reachability, lender exits), which are pooled (total hits /
    total trials) over all seeds. `workers` > 1 (None: one per core) runs the seeds in parallel processes, in
    `pool` if given (see `measure_seeds`)."""
    overrides = [*(extra or []), *(f"{k}={as_set(v)}" for ks, v in values.items() for k in ks.split(","))]
    runs = measure_seeds(scenario_path, overrides, seeds, consumers, workers, pool)
    per_seed = {k: np.asarray([_number(r[k]) for r in runs]) for k in runs[0]}
    defined = {k: float(np.isfinite(x).mean()) for k, x in per_seed.items()}
    out = {k: float(np.nanmean(x)) if defined[k] > 0 else math.nan for k, x in per_seed.items()}
    pooled = pool_rare_shares(runs)
    defined.update({k: 1.0 if math.isfinite(v) else 0.0 for k, v in pooled.items()})
    return {**out, **pooled}, defined


def scenario_value(scenario: Any, path: str) -> Any:
    """The value at a dotted path (as in `--set`: platforms, lenders and restructurers by name, other lists by
    number) of a loaded scenario, or None where the path leads nowhere."""
    node, parts = scenario, path.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, (list, tuple)):
            if i == 1 and parts[0] in NAMED_LISTS:
                node = next((x for x in node if getattr(x, "name", None) == part), None)
            else:
                node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = getattr(node, part, None)
        if node is None:
            return None
    return node


def start_values(scenario: Any, params: list[Param]) -> tuple[dict[str, float], list[str]]:
    """Where the search starts: each parameter's value in `scenario`, clipped into its bounds; and a note for
    each parameter whose start is not the scenario's value (outside the bounds, tied paths that differ, or no
    number to start from: the middle of the bounds)."""
    values: dict[str, float] = {}
    notes: list[str] = []
    for p in params:
        found = [scenario_value(scenario, k) for k in p.paths]
        numbers = [float(v) for v in found if isinstance(v, (int, float)) and not isinstance(v, bool)
                   and math.isfinite(float(v))]
        if len(numbers) < len(found):
            values[p.path] = p.value(0.5)
            notes.append(f"{p.path}: the scenario gives no number to start from; the search started at the "
                         f"middle of the bounds, {values[p.path]:.6g}")
            continue
        value = float(np.mean(numbers))
        if len(set(numbers)) > 1:
            given = ", ".join(f"{k} = {v:.6g}" for k, v in zip(p.paths, numbers, strict=True))
            notes.append(f"{p.path}: tied paths differ in the scenario ({given}); the search started at their "
                         f"mean, {value:.6g}")
        if not p.low <= value <= p.high:
            clipped = min(max(value, p.low), p.high)
            notes.append(f"{p.path}: the scenario's value {value:.6g} lies outside the bounds "
                         f"[{p.low:.6g}, {p.high:.6g}]; the search started at {clipped:.6g}")
            value = clipped
        values[p.path] = value
    return values, notes


def with_given(params: list[Param], given: list[Param]) -> list[Param]:
    """A targets file's parameters plus those `given` (on the command line), which replace the file's
    bounds for a parameter they name."""
    named = {g.path for g in given}
    return [*(p for p in params if p.path not in named), *given]


class _BudgetSpent(Exception):
    """Raised to stop the optimiser when `budget` evaluations have run."""


def calibrate(scenario_path: str, targets: list[Target], params: list[Param], *, budget: int = 40,
              seeds: list[int] | None = None, consumers: int | None = None, start: dict[str, float] | None = None,
              extra: list[str] | None = None, progress: Callable[[Evaluation], None] | None = None,
              workers: int | None = 1) -> Fit:
    """Fit `params` so the scenario's figures match `targets`, with at most `budget` evaluations (each over
    `seeds`, run in `workers` processes: None = one per core). The search starts from `start` (parameter path
    -> value) or, by default, from the scenario's own values (with `extra` applied, clipped into the bounds):
    the first evaluation is the scenario as given, and the best point is never worse than it."""
    from scipy.optimize import minimize

    if not params:
        raise CalibrationError("no parameters to fit: give --params PATH:LOW:HIGH (or `params:` in the targets file)")
    paths = [k for p in params for k in p.paths]
    twice = sorted({k for k in paths if paths.count(k) > 1})
    if twice:  # a path fitted twice would leave one of its dimensions without effect
        raise CalibrationError(f"parameter(s) given more than once: {', '.join(twice)}")
    seeds = seeds or [1, 2]
    for p in params:  # both bounds against the schema (the range between follows), before any simulation
        given = f"{p.source} {p.path}:{p.low:.10g}:{p.high:.10g}"
        for bound in (p.low, p.high):
            sets = [f"{k}={bound:.10g}" for k in p.paths]
            try:
                loaded = load(scenario_path, [*(extra or []), *sets], dict.fromkeys(sets, given)).scenario
            except ScenarioError as exc:
                raise CalibrationError(str(exc)) from None
            for k in p.paths:  # the search sets any number between the bounds: a whole number would fail mid-fit
                value = scenario_value(loaded, k)
                if not isinstance(value, float):
                    kind = "a seed" if k == "seed" else "a whole number" if isinstance(value, int) else "not a number"
                    raise CalibrationError(
                        f"{p.source} {p.path}: {k} is {kind}; the fit varies a parameter continuously, so only "
                        "decimal parameters can be fitted (fix this one with --set, or compare values with sweep)")
    base = load(scenario_path, extra or []).scenario
    known = run_measured(base.model_copy(update={"days": 1, "burn_in_days": 0}), seeds[0], 1000)[0]
    missing = [t.name for t in targets if t.name not in known]
    if missing:
        where = next((f"{t.source}: " for t in targets if t.source), "")
        raise CalibrationError(f"{where}unknown target(s) {', '.join(missing)}; known: {', '.join(sorted(known))}")
    history: list[Evaluation] = []
    cache: dict[tuple[float, ...], Evaluation] = {}

    def run(values: dict[str, float]) -> Evaluation:
        key = tuple(float(as_set(v)) for v in values.values())  # as `simulate` sets them
        if key not in cache:
            if len(history) >= budget:  # Nelder-Mead may overrun maxfev within an iteration (a shrink)
                raise _BudgetSpent
            figures, defined = simulate_seeds(scenario_path, values, seeds, consumers, extra, workers, pool)
            shares = {t.name: defined[t.name] for t in targets if defined[t.name] < 1.0}
            cache[key] = Evaluation(values, {t.name: figures[t.name] for t in targets},
                                    loss_of(figures, targets, shares), shares)
            history.append(cache[key])
            if progress:
                progress(cache[key])
        return cache[key]

    def evaluate(u: np.ndarray) -> float:
        return run({p.path: p.value(x) for p, x in zip(params, u, strict=True)}).loss

    started = time.perf_counter()
    # one pool for the whole fit: a new one each evaluation spent about 2 s starting workers (they import the model)
    with nullcontext() if workers == 1 or len(seeds) == 1 else process_pool(workers, len(seeds)) as pool:
        initial, notes = start_values(base, params)
        for p in params:  # a given start replaces the scenario's value (clipped into the bounds like it)
            if start and p.path in start:
                initial[p.path] = min(max(float(start[p.path]), p.low), p.high)
                notes = [n for n in notes if not n.startswith(f"{p.path}: ")]
                notes.append(f"{p.path}: the search started at {initial[p.path]:.6g} (given), not the scenario's value")
        run(initial)  # the exact values, so the first evaluation is the scenario as given
        x0 = np.asarray([p.unit(initial[p.path]) for p in params])
        undefined = [t.name for t in targets if not math.isfinite(history[0].figures[t.name])]
        if undefined:  # every evaluation would count it as the same miss: the budget would buy a fit to the rest
            size = f"{consumers} consumers" if consumers else "the scenario's consumers"
            raise CalibrationError(
                f"target(s) {', '.join(undefined)}: undefined at the start point (no run of seeds {seeds} with "
                f"{size} gave a value); nothing was fitted. Record more days (--set days=N), simulate more "
                "consumers, or leave the target out")
        if budget > 1:
            simplex = [x0] + [np.clip(x0 + np.eye(len(params))[i] * (0.25 if x0[i] < 0.5 else -0.25), 0, 1)
                              for i in range(len(params))]
            try:  # the start is the simplex's first vertex: scipy counts it again, but it is not run again
                minimize(evaluate, x0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(params),
                         options={"maxfev": budget, "initial_simplex": np.asarray(simplex), "xatol": 1e-3,
                                  "fatol": 1e-6})
            except _BudgetSpent:
                pass
    best = min(history, key=lambda e: e.loss)  # the first of equals: the start unless something beat it
    return Fit(params, targets, best, history[0], history, time.perf_counter() - started, list(extra or []), notes)
