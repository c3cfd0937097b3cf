"""Sweep files: the YAML schema, and validation with one-line messages (file, key, value, what is allowed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.scenario import safe_name, suggest
from sim.scenario_files import TYPE_PROBLEMS, ScenarioError, default_name, read_yaml

Design = Literal["grid", "lhs", "sobol", "morris"]
Dist = Literal["uniform", "log_uniform", "normal"]
SAMPLED = ("lhs", "sobol", "morris")


class SweepError(ScenarioError):
    """A sweep file that cannot be used; the message is one line meant for the user."""


class _Strict(BaseModel):
    """Unknown keys are errors; types are strict as in scenarios (`samples: true` is not 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Param(_Strict):
    """One varied parameter: a list of `values`, or a distribution over [low, high]."""

    values: list[Any] | None = Field(None, min_length=1, description="the values (grid) or categories (sampled)")
    low: float | None = Field(None, description="lower bound (uniform, log_uniform; clips normal)")
    high: float | None = Field(None, description="upper bound (uniform, log_uniform; clips normal)")
    dist: Dist = Field("uniform", description="distribution of a sampled parameter")
    mean: float | None = Field(None, description="mean of a normal distribution")
    sd: float | None = Field(None, gt=0, description="standard deviation of a normal distribution")
    integer: bool = Field(False, description="sample whole numbers, each equally likely (uniform)")
    labels: list[str] | None = Field(None, description="names of the values in tables and figures (required "
                                     "when values are mappings or lists)")

    @model_validator(mode="after")
    def _consistent(self) -> Param:
        if self.labels is not None and (self.values is None or len(self.labels) != len(self.values)):
            raise ValueError(f"labels: give one label per value ({len(self.values or [])} values, "
                             f"{len(self.labels)} labels)")
        if self.labels is not None and len(set(self.labels)) < len(self.labels):
            twice = next(x for x in self.labels if self.labels.count(x) > 1)
            raise ValueError(f"labels: {twice!r} is given twice; each value needs its own label")
        if self.values is not None:
            if self.labels is None and any(isinstance(v, dict | list) for v in self.values):
                raise ValueError("labels: required when values are mappings or lists (names for tables)")
            if any(v is not None for v in (self.low, self.high, self.mean, self.sd)):
                raise ValueError("values: give either values or a distribution (low/high/mean/sd), not both")
            return self
        if self.dist != "normal":  # given but not used, a key would pass for a setting
            unused = [k for k in ("mean", "sd") if getattr(self, k) is not None]
            if unused:
                raise ValueError(f"{unused[0]}: not used by dist {self.dist}, which takes low and high; leave it "
                                 "out, or give dist: normal")
        if self.dist == "normal":
            if self.mean is None or self.sd is None:
                raise ValueError("dist: normal needs mean and sd")
        elif self.low is None or self.high is None:
            raise ValueError(f"dist: {self.dist} needs low and high (or give values)")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low: {self.low:g} must be below high ({self.high:g})")
        if self.dist == "log_uniform" and (self.low or 0) <= 0:
            raise ValueError(f"low: {self.low:g} must be > 0 for log_uniform")
        for key in ("low", "high"):
            bound = getattr(self, key)
            if self.integer and bound is not None and bound != int(bound):
                raise ValueError(f"{key}: {bound:g} is not a whole number; integer: true needs whole-number bounds")
        return self

    def label(self, value: Any) -> Any:
        """How a value appears in tables and figures."""
        if self.labels is None or self.values is None:
            return value
        return self.labels[self.values.index(value)]

    def levels(self) -> list[Any]:
        """The values as shown (labels if given), in order."""
        return list(self.labels) if self.labels is not None else list(dict.fromkeys(self.values or []))


class Sweep(_Strict):
    """A sweep file (see docs/sweeps.md)."""

    name: Annotated[str, AfterValidator(safe_name)] = Field(
        "", description="name of the sweep and its output folder (default: the file name)")
    description: str = Field("", description="one line shown in outputs")
    base: str = Field(..., description="base scenario file, relative to the sweep file")
    set: dict[str, Any] = Field(default_factory=dict, description="fixed overrides, dotted path -> value")
    design: Design = Field(..., description="grid, lhs, sobol or morris")
    parameters: dict[str, Param] = Field(..., min_length=1, description="dotted path -> values or distribution")
    samples: int | None = Field(None, ge=1, le=1_000_000, description="N: lhs points, Sobol base samples "
                                "(a power of 2), Morris trajectories")
    second_order: bool = Field(False, description="sobol: also second-order indices (needs N x (2D+2) points)")
    levels: int = Field(4, ge=2, le=20, description="morris: grid levels (even)")
    replications: int = Field(1, ge=1, le=10_000, description="seeds per design point")
    seed: int = Field(0, ge=0, description="master seed; replication seeds come from SeedSequence(seed)")
    kpis: list[str] | None = Field(None, min_length=1, description="KPIs to keep (default: all)")
    series: list[str] | None = Field(None, min_length=1, description="daily market columns to keep (default: all)")

    @model_validator(mode="after")
    def _design_rules(self) -> Sweep:
        _refuse_overlaps(list(self.parameters), list(self.set))
        for path, p in self.parameters.items():
            if self.design == "grid" and p.values is None:
                raise ValueError(f"parameters.{path}: design grid needs values (a list), not a distribution")
        if self.design in SAMPLED and self.samples is None:
            raise ValueError(f"samples: design {self.design} needs samples (N)")
        if self.design == "grid" and self.samples is not None:
            raise ValueError("samples: only for lhs, sobol and morris; a grid runs every combination")
        if self.design != "sobol" and self.second_order:
            raise ValueError(f"second_order: only for sobol (second-order indices); design {self.design} has none")
        if self.design != "morris" and "levels" in self.model_fields_set:
            raise ValueError(f"levels: only for morris (its grid levels); design {self.design} has none")
        if self.design in ("sobol", "morris") and len(self.parameters) < 2:
            raise ValueError(f"parameters: design {self.design} needs at least 2 parameters")
        n = self.samples or 0
        if self.design == "sobol" and (n < 2 or n & (n - 1)):
            lower = 1 << (n.bit_length() - 1)
            nearest = "2" if n < 2 else f"{lower} or {2 * lower}"
            raise ValueError(f"samples: {n} is not a power of 2; design sobol needs one, at least 2, for the balance "
                             f"of its Sobol sequence (nearest: {nearest})")
        if self.design == "morris":
            if self.levels % 2:
                raise ValueError(f"levels: {self.levels} is odd; design morris needs an even number of levels "
                                 f"(an odd number samples the levels unevenly; e.g. {self.levels - 1} or "
                                 f"{self.levels + 1})")
            for path, p in self.parameters.items():
                if p.values is not None and len(p.values) > 2:
                    raise ValueError(f"parameters.{path}: design morris takes at most 2 values (a switch), not "
                                     f"{len(p.values)}: with more, which values a step compares depends on their "
                                     "order; use sobol or grid for categories")
        return self


def _refuse_overlaps(parameters: list[str], fixed: list[str]) -> None:
    """A path swept twice (a path and a path inside it: `deposit` and `deposit.cap`), or swept and also in `set`,
    would have one value silently win over the other, as `run.py run` refuses for `--set` ("both set")."""
    for section, keys in (("parameters", parameters), ("set", fixed)):
        padded = next((k for k in keys if k != k.strip()), None)
        if padded is not None:
            raise ValueError(f"{section}: {padded!r}: a key with spaces around it names no setting; write "
                             f"{padded.strip()!r}")

    def overlap(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")

    for i, p in enumerate(parameters):
        other = next((q for q in parameters[i + 1:] if overlap(p, q)), None)
        if other is not None:
            raise ValueError(f"parameters.{other}: overlaps parameters.{p} (one is inside the other): both would "
                             "set it; sweep one of them")
        fixed_too = next((k for k in fixed if overlap(p, k)), None)
        if fixed_too is not None:
            inner = max(p, fixed_too, key=len)
            raise ValueError(f"parameters.{p}: set.{fixed_too} and this parameter both set {inner}; give one of them")


# --- one-line messages ----------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as the user wrote it, shortened."""
    if isinstance(value, dict):
        return "a mapping"
    try:
        text = json.dumps(value) if not isinstance(value, str) else repr(value)
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    if not loc:
        return Sweep
    if loc[0] == "parameters" and len(loc) == 2:
        return Param
    return None


def _fields(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model else []


def describe(exc: ValidationError, label: str) -> str:
    """The first pydantic error as one line naming file, key, value and what is allowed."""
    errors = exc.errors()
    err, more = errors[0], (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    loc = tuple(str(x) for x in err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    where = ".".join(loc) or "(top level)"
    if kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not re.match(r"[\w.]+: ", msg):  # a rule on one field (e.g. name): its message is about the value
            return f"{label}: {where}: {show(value)}: {msg}{more}"
        prefix = ".".join(loc) + "." if loc else ""
        return f"{label}: {prefix}{msg}{more}"
    if kind == "extra_forbidden":
        allowed = _fields(_model_at(loc[:-1]))
        hint = suggest(loc[-1], allowed)
        problem = f"unknown key{hint}" if hint else f"unknown key; allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        problem = "required key missing"
    elif kind == "literal_error":
        allowed = [a.strip(" '") for a in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        problem = f"{show(value)} is not allowed{suggest(str(value), allowed)}; allowed: {', '.join(allowed)}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sign = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "?")
        problem = f"{show(value)} is out of range; allowed: {sign} {bound}"
    elif kind == "too_short":
        problem = f"{show(value)} is empty; at least {ctx.get('min_length', 1)} expected"
    elif kind == "finite_number":
        problem = f"{show(value)} is not finite; give a number"
    elif kind in TYPE_PROBLEMS:
        problem = f"{show(value)} {TYPE_PROBLEMS[kind]}"
    else:
        problem = f"{show(value)} {err['msg'].lower()}"
    return f"{label}: {where}: {problem}{more}"


def parse(data: dict[str, Any], label: str) -> Sweep:
    """Validate raw sweep data against the schema (without a name, the sweep is named after the file, as a
    scenario is: `default_name`)."""
    if data.get("name", "") == "":
        data = {**data, "name": default_name(label)}
    try:
        return Sweep.model_validate(data)
    except ValidationError as exc:
        raise SweepError(describe(exc, label)) from None


def read(path: str) -> Sweep:
    """Read and validate a sweep file (schema only; see `sim.sweep.plan.load_sweep` for the full check)."""
    if Path(path).is_file() and Path(path).suffix not in (".yaml", ".yml"):
        raise SweepError(f"{path}: not a YAML file (expected .yaml)")
    try:
        data = read_yaml(path)
    except SweepError:
        raise
    except ScenarioError as exc:
        raise SweepError(str(exc).replace("a scenario file is a mapping such as 'days: 365'",
                                          "a sweep file is a mapping such as 'design: grid'")) from None
    if "extends" in data:
        raise SweepError(f"{path}: extends: unknown key; a sweep file names its scenario with base:")
    return parse(data, path)
