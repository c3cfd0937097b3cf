"""A validated sweep and its runs: base scenario, design points, replication seeds, run ids."""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from sim.results import KPI_LABELS, scenario_hash
from sim.scenario import RuleBroken, Scenario, suggest
from sim.scenario_files import Layers, ScenarioError, load
from sim.scenario_files import describe as describe_scenario
from sim.sweep import design
from sim.sweep.spec import Param, Sweep, SweepError, read, show

RESERVED = ("seed", "name")
WHOLE_NUMBER_ERRORS = ("int_type", "int_from_float")  # a sampled real number given to a whole-number field
NOT_MODEL = ("sweep", "cli", "app")  # packages of sim/ that do not change what a run computes


def code_version() -> str:
    """Hash of the model's source as it is on disk now (sim/ without the sweep, command-line and app packages).

    Recorded in sweep.json and in each run's record (the version its worker had loaded, see `loaded_version`);
    a resume after the model changed is refused unless asked for.
    """
    import sim

    root = Path(sim.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] not in NOT_MODEL:
            digest.update(str(rel).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@functools.cache
def loaded_version() -> str:
    """`code_version` when this process first asked: in a worker, the version it runs."""
    return code_version()


def market_columns() -> list[str]:
    from sim.metrics import MARKET_COLUMNS

    return list(MARKET_COLUMNS)


def kpi_names(scenario: Scenario) -> list[str]:
    """Every KPI a run reports: the summary's headline figures, then each platform's finance share."""
    return [*KPI_LABELS, *(f"finance_share_{p.name}" for p in scenario.platforms)]


def value_text(value: Any) -> str:
    """A value as YAML text that reads back to exactly the same value (for `--set`-style overrides)."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exp = text.split("e")
            text = f"{mantissa}.0e{exp}"  # PyYAML reads 1e-05 as text, 1.0e-05 as a number
        return {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}.get(text, text)
    return json.dumps(value)


def overrides_of(params: dict[str, Any]) -> list[str]:
    return [f"{path}={value_text(v)}" for path, v in params.items()]


def sweep_labels(overrides: list[str]) -> dict[str, str]:
    """How a run's overrides are named in its messages: they come from the sweep, not from `--set`."""
    return {text: "replication seed" if text.startswith("seed=") else f"sweep parameter {text}"
            for text in overrides}


def resolve(base: dict[str, Any], overrides: list[str], labels: dict[str, str] | None = None) -> Scenario:
    """The base scenario (as data) with dotted overrides applied, validated like `--set` (`labels` names
    each override in messages; default `--set KEY=VALUE`)."""
    layers = _layered(base, [(text, (labels or {}).get(text)) for text in overrides])
    try:
        return Scenario.model_validate(layers.data)
    except ValidationError as exc:
        raise ScenarioError(describe_scenario(exc, layers, "the combination")) from None


def _layered(base: dict[str, Any], overrides: list[tuple[str, str | None]]) -> Layers:
    """The base scenario (as data) with each `KEY=VALUE` override applied under its label (None: `--set`)."""
    layers = Layers()
    layers.data = copy.deepcopy(base)
    for text, label in overrides:
        layers.override(text, label)
    return layers


@dataclass(frozen=True)
class Run:
    """One model run: a design point, a replication and its seed."""

    id: str
    point: int
    replication: int
    seed: int
    params: dict[str, Any]


@dataclass
class Plan:
    """Everything needed to run a sweep and rebuild its table; built the same way on every resume."""

    sweep: Sweep
    path: str
    base: dict[str, Any]
    points: list[dict[str, Any]]
    unit: np.ndarray | None
    seeds: list[int]
    kpis: list[str]
    series: list[str]
    runs: list[Run] = field(default_factory=list)
    # What each run stores, when it is more than the tables show: a resume whose file asks for fewer KPIs or
    # series than the folder's runs hold (`runner.prepare`) keeps storing all of them, so every run holds the same.
    stored_kpis: list[str] | None = None
    stored_series: list[str] | None = None
    base_hash: str = ""  # of the base scenario with `set` applied (run ids hash it)
    # Planned runs of the folder this plan extends (`runner.prepare`: a resume that only adds runs), else None.
    extended_from: int | None = None

    @property
    def parameters(self) -> list[str]:
        return list(self.sweep.parameters)

    def shown(self, params: dict[str, Any]) -> dict[str, Any]:
        """Parameter values as they appear in tables (labels where the sweep file gives them)."""
        return {k: self.sweep.parameters[k].label(v) for k, v in params.items()}

    def unique(self) -> list[Run]:
        """Runs with distinct ids (a design may repeat a point; it is run once), in design order."""
        seen: dict[str, Run] = {}
        for run in self.runs:
            seen.setdefault(run.id, run)
        return list(seen.values())

    def fingerprint(self, kpis: list[str] | None = None, series: list[str] | None = None) -> str:
        """Hash of what the sweep computes (run ids cover base scenario, values and seeds; then what is kept):
        resuming into a folder of another sweep is refused. With `kpis` and `series` (those a folder's runs
        store), the hash that this sweep would have if it kept those: equal when only they differ."""
        return fingerprint([r.id for r in self.runs], self.parameters, self.kpis if kpis is None else kpis,
                           self.series if series is None else series, self.sweep.design)


def fingerprint(run_ids: list[str], parameters: list[str], kpis: list[str], series: list[str], design: str) -> str:
    """Hash of a sweep's planned runs, parameter names, what its runs store and its design."""
    text = json.dumps({"runs": run_ids, "parameters": parameters, "kpis": kpis, "series": series, "design": design},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_id(base_hash: str, params: dict[str, Any], seed: int) -> str:
    text = json.dumps({"scenario": base_hash, "params": params, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_base(sweep: Sweep, path: str) -> Scenario:
    if "seed" in sweep.set:  # every run's replication seed replaces it: it would change nothing but the run ids
        raise SweepError(f"{path}: set.seed: cannot be set in a sweep; seeds come from replications and seed")
    base_path = str(Path(path).parent / sweep.base)
    if not Path(base_path).is_file():
        raise SweepError(f"{path}: base: file {sweep.base!r} not found (looked for {base_path})")
    fixed = [f"{k}={value_text(v)}" for k, v in sweep.set.items()]
    labels = {text: f"{path}: set.{k}" for text, k in zip(fixed, sweep.set, strict=True)}
    return load(base_path, fixed, labels).scenario


NORMAL_PROBES = (0.001, 0.999)  # quantiles at which a normal is checked (wider where the design reaches further)


def _probe_values(p: Param, unit: np.ndarray | None = None) -> list[Any]:
    """The values of `p` checked before anything runs: all of a list; the bounds of a range; for a normal, its
    0.1% and 99.9% quantiles (or the design's most extreme ones), not u = 0 or 1, which are 6 sd out. The
    midpoint comes last (it finds a fractional value of a whole-number key), so that a range reaching out of
    the schema's is reported at the bound that does."""
    if p.values is not None:
        return list(p.values)
    quantiles = [0.0, 1.0, 0.5]
    if p.dist == "normal":
        lo, hi = NORMAL_PROBES
        if unit is not None and len(unit):
            lo, hi = min(lo, float(unit.min())), max(hi, float(unit.max()))
        quantiles = [lo, hi, 0.5]
    return [design.from_unit(p, u) for u in quantiles]


def _not_a_number(exc: ValidationError) -> tuple[str, str] | None:
    """For a number given to a key that takes a choice, yes/no or text: what it takes, and example values."""
    err = exc.errors()[0]
    if err["type"] == "literal_error":
        allowed = [a.strip(" '") for a in str((err.get("ctx") or {}).get("expected", "")).replace(" or ", ", ")
                   .split(",")]
        return "a choice", ", ".join(allowed)
    if err["type"] == "bool_type":
        return "true or false", "true, false"
    if err["type"] == "string_type":
        return "text", "..."
    return None


def _with(base: dict[str, Any], values: dict[str, Any], path: str) -> tuple[Layers, ValidationError | None]:
    """The base scenario with sweep parameters set to `values`: its layers, and the validation error if any
    (an override that cannot apply, such as an unknown path, is a `ScenarioError` naming the parameter)."""
    layers = _layered(base, [(f"{key}={value_text(value)}", f"{path}: parameters.{key}")
                             for key, value in values.items()])
    try:
        Scenario.model_validate(layers.data)
    except ValidationError as exc:
        return layers, exc
    return layers, None


MAX_PARTNER_CHECKS = 243  # combinations of other swept parameters tried for one value (3 probes of 5 keys)


def _rule_of(exc: ValidationError) -> RuleBroken | None:
    """The rule between keys that the first error broke, or None for any other error."""
    rule = exc.errors()[0].get("ctx", {}).get("error")
    return rule if isinstance(rule, RuleBroken) else None


def _check_parameters(sweep: Sweep, path: str, base: dict[str, Any], unit: np.ndarray | None = None) -> None:
    """Each value of each parameter must be valid on the base scenario (combinations are checked per run).

    A value refused by a rule that ties it to other swept parameters (`co_lending_own_share` at least
    `co_lending_min_share`) passes if some values of theirs make it valid: each is checked alone otherwise,
    against the base scenario's value of the other key, and two parameters swept over ranges that overlap
    could not both be swept. A value that no such combination saves is refused, and so is one that a rule
    ties to a key the sweep does not vary (the message then says the other value is the base scenario's)."""
    probes = {key: _probe_values(p, None if unit is None else unit[:, i])
              for i, (key, p) in enumerate(sweep.parameters.items())}
    for key, p in sweep.parameters.items():
        if key in RESERVED:
            raise SweepError(f"{path}: parameters.{key}: cannot be varied; seeds come from replications and seed")
        hint = " (a quantile of the normal this design reaches; bound it with low/high)" if p.dist == "normal" else ""
        for value in probes[key]:
            if isinstance(value, float) and not math.isfinite(value):
                raise SweepError(f"{path}: parameters.{key}: {show(value)} is not finite")
            try:
                layers, exc = _with(base, {key: value}, path)
            except ScenarioError as err:
                raise SweepError(str(err)) from None
            if exc is None:
                continue
            rule = _rule_of(exc)
            if rule is not None:
                partners = [k for k in sweep.parameters if k != key and k in rule.keys]
                if partners and _saved_by(base, path, key, value, partners, probes):
                    continue
                message = describe_scenario(exc, layers, f"{path}: parameters.{key}")
                others = [k for k in rule.keys if k != key and k in str(rule)]  # those the message shows
                it = "it" if len(others) == 1 else "them"
                if partners:
                    message += (f" (the base scenario's {', '.join(others)}; refused too with every value of "
                                f"{', '.join(partners)} that the sweep gives: bounds and midpoint, or values)")
                elif others:
                    message += f" (the base scenario's {', '.join(others)}; sweep {it} too to vary {it} with {key})"
                raise SweepError(message) from None
            if p.values is None and (choice := _not_a_number(exc)) is not None:
                raise SweepError(f"{path}: parameters.{key}: {key} is {choice[0]}, not a number: give "
                                 f"`values: [{choice[1]}]` instead of low/high") from None
            if p.values is None and not p.integer and exc.errors()[0]["type"] in WHOLE_NUMBER_ERRORS:
                raise SweepError(f"{path}: parameters.{key}: {key} takes whole numbers; add 'integer: true' to "
                                 "sample it from a range") from None
            raise SweepError(describe_scenario(exc, layers, f"{path}: parameters.{key}") + hint) from None


def _saved_by(base: dict[str, Any], path: str, key: str, value: Any, partners: list[str],
              probes: dict[str, list[Any]]) -> bool:
    """Whether some checked values of the `partners` (other swept parameters) make `key`=`value` valid."""
    combos = itertools.islice(itertools.product(*(probes[k] for k in partners)), MAX_PARTNER_CHECKS)
    for combo in combos:
        try:
            _, exc = _with(base, {**dict(zip(partners, combo, strict=True)), key: value}, path)
        except ScenarioError:
            continue  # a partner's own problem is reported when its turn comes
        if exc is None:
            return True
    return False


def _check_names(given: list[str] | None, allowed: list[str], path: str, key: str) -> list[str]:
    if given is None:
        return allowed
    for i, name in enumerate(given):
        if name not in allowed:
            raise SweepError(f"{path}: {key}.{i}: {show(name)} is not allowed{suggest(name, allowed)}; "
                             f"allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(given))


MAX_RUNS = 1_000_000
"""The most runs a sweep file may plan. Its folder holds a file per run, and laying out a million runs takes about
half a minute before anything is printed (a Morris design of 10^6 trajectories: several minutes, silent); a
bigger study is several sweeps, each resumable on its own."""


def build(sweep: Sweep, path: str) -> Plan:
    """Validate a parsed sweep against its base scenario and lay out every run."""
    planned = design.run_count(sweep)
    if planned > MAX_RUNS:
        raise SweepError(f"{path}: the design plans {planned:,} runs; allowed: at most {MAX_RUNS:,} in one sweep "
                         "(fewer samples, values or replications, or split it into several sweeps)")
    scenario = _load_base(sweep, path)
    base = scenario.model_dump(mode="json")
    points, unit = design.points(sweep)
    _check_parameters(sweep, path, base, unit)
    kpis = _check_names(sweep.kpis, kpi_names(scenario), path, "kpis")
    columns = market_columns()
    series = _check_names(sweep.series, columns, path, "series")
    if "day" not in series:
        series = ["day", *series]
    seeds = design.seeds(sweep)
    base_hash = scenario_hash(scenario)
    runs = [Run(run_id(base_hash, params, seed), i, r, seed, params)
            for i, params in enumerate(points) for r, seed in enumerate(seeds)]
    return Plan(sweep, path, base, points, unit, seeds, kpis, series, runs, base_hash=base_hash)


def load_sweep(path: str) -> Plan:
    """Read, validate and lay out a sweep file; every problem is a one-line `SweepError`."""
    return build(read(path), path)
