"""docs/scenarios.md, the reference of every schema field, generated from the schema (`python -m sim.scenario_files`
rewrites the file)."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel

from sim.scenario import Scenario
from sim.scenario_files.common import NAMED_LISTS
from sim.scenario_files.messages import _length_rule
from sim.scenario_files.schema_paths import _unwrap, bounds

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def _type_name(ann: Any) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return "pair (" + ", ".join(_type_name(a) for a in args) + ")"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"{ann.__name__} (mapping)"
    return {int: "integer", float: "number", str: "text", bool: "true/false", type(None): "null"}.get(ann, str(ann))


def _default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see section"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return ", ".join(getattr(v, "name", "?") for v in value)
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`" if value else '`""`'


def _range_text(info: Any) -> str:
    parts = [bounds(info)] if bounds(info) else []
    if any(isinstance(m, (at.MinLen, at.MaxLen)) for m in info.metadata):
        parts.append(_length_rule(info, {}).replace(" expected", " items"))
    return "; ".join(parts).replace("|", "\\|")


def _rows(model: type[BaseModel], prefix: str, children: list[tuple[str, type[BaseModel]]]) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        inner = _unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            many = typing.get_origin(info.annotation) is list
            child = (f"{path}.<name>" if path in NAMED_LISTS else f"{path}.<n>") if many else path
            children.append((child, inner))
            kind = "list of mappings" if many else "mapping"
            rows.append(f"| `{path}` | {kind}, see `{child}` | {_default_text(info)} | - | "
                        f"{_range_text(info) or '-'} | - | {info.description or ''} |")
            continue
        extra = info.json_schema_extra or {}
        cells = [f"`{path}`", _type_name(info.annotation), _default_text(info), str(extra.get("unit", "-")),
                 _range_text(info) or "-", str(extra.get("source", "-")), info.description or ""]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def _section(title: str, model: type[BaseModel]) -> list[str]:
    """A section's table followed by the sections of its sub-mappings."""
    children: list[tuple[str, type[BaseModel]]] = []
    rows = _rows(model, f"{title}." if title else "", children)
    out = [f"## `{title}`" if title else "## Top level", "",
           "| path | type | default | unit | range | source | meaning |", "|---|---|---|---|---|---|---|", *rows, ""]
    for child, inner in children:
        out += _section(child, inner)
    return out


HEADER = """# Scenario reference

Generated from `sim/scenario.py` by `sim.scenario_files.schema_reference()`; do not edit by hand
(regenerate with `python -m sim.scenario_files`). A test fails when this file and the schema differ.

Paths are dotted as in `--set`. Items of `platforms`, `lenders` and `restructurers` are addressed by
name (`platforms.video.take_rate`), items of other lists by position from 0 (`events.0.day`).
Amounts of institutions in `RMB m` are real RMB millions, scaled down to the simulated population.
A default list of named items (e.g. the three platforms) is given by name; their values are in
`sim/scenario.py` and in the resolved `scenario.yaml` of any run.

Values in files and in `--set` are read by the YAML 1.2 core rules, not PyYAML's YAML 1.1: true/false are
only `true` and `false` (`yes`, `no`, `on`, `off` are text); numbers are written `10`, `-3`, `0.5`, `.5`,
`1e-3`, `.inf`, `.nan` (and `0x1F`, `0o17`); `1_000` and `1:30` are text, and a whole number with a
leading zero (`010`, octal 8 in YAML 1.1) is refused: write `10`. Write numbers without thousands
separators: `200,000` is text, and in a `{...}` mapping the comma would end the entry (both are refused
naming the number as written).

"""


# The keys a file may hold that are not scenario fields (sim/scenario_files/layers.py reads them): key, where, meaning.
FILE_KEYS = (
    ("extends", "top level",
     "A file to start from (a path relative to this file): its values, then this file's. Mappings merge key by key; "
     "`platforms`, `lenders` and `restructurers` merge by `name` (a known name changes only the keys given, a new "
     "name adds an item, `[]` drops them all); other lists are replaced whole."),
    ("remove", "an item of `platforms`, `lenders` or `restructurers`",
     "`true` drops the item of that name (`--set restructurers.law_firm.remove=true`)."),
    ("complete_lists", "top level",
     "`true`: this file's `platforms`, `lenders` and `restructurers` are the whole lists, in order, not changes by "
     "name to the defaults or to the file it extends. A run's resolved `scenario.yaml` starts with it."),
)
FILE_KEYS_TEXT = "\n".join([
    "Three keys of a file are not scenario fields, so the tables below leave them out:", "",
    "| key | where | meaning |", "|---|---|---|", *(f"| `{k}` | {w} | {m} |" for k, w, m in FILE_KEYS), "", "",
])


def schema_reference() -> str:
    """docs/scenarios.md: every field of the schema with its type, default, unit, range and source."""
    return HEADER + FILE_KEYS_TEXT + "\n".join(_section("", Scenario)).rstrip("\n") + "\n"
