"""Scenario files: YAML loading, `extends:`, `--set` overrides, and one-line error messages.

A scenario is built in layers, later layers winning: the schema's defaults, then each file of the
`extends:` chain from the most basic to the file named on the command line, then `--set KEY=VALUE`
overrides. Mappings merge key by key. The lists `platforms`, `lenders` and `restructurers` merge by
`name`: an item whose name is already present changes only the keys it states, a new name adds an
item, `{name: x, remove: true}` drops one and an empty list drops them all. Any other list is replaced whole.

Every problem raises `ScenarioError` whose message is one line naming the file (or the `--set`
override), the key path (platforms and lenders by name), the value given and what is allowed.

The parts: `strict_yaml` reads YAML, `layers` merges the files and overrides, `messages` turns the schema's
refusals into one line, `schema_paths` looks the schema up by key path, `reference` writes docs/scenarios.md;
`common` holds what they share. This module holds `load`, `to_yaml` and `header_comment`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario import Scenario
from sim.scenario_files.common import NAMED_LISTS, REMOVE_KEY, SINGULAR, Loc, ScenarioError, _show_python
from sim.scenario_files.layers import COMPLETE_KEY, LIBRARY, Layers, library_file, read_chain
from sim.scenario_files.messages import (
    TYPE_PROBLEMS,
    UNION_TAGS,
    describe,
    python_refusal,
    refusal,
    unknown_key,
    validated,
)
from sim.scenario_files.reference import DOCS_PATH, HEADER, schema_reference
from sim.scenario_files.schema_paths import bounds, literal_choices
from sim.scenario_files.strict_yaml import (
    _FIRST,
    BOOL,
    CORE_SCHEMA,
    FLOAT,
    INT,
    MAX_DEPTH,
    LeadingZero,
    YAMLRefused,
    parse_yaml,
    read_yaml,
    read_yaml_file,
)

__all__ = [  # every public name of the package, whichever module defines it
    "BOOL",
    "COMPLETE_KEY",
    "CORE_SCHEMA",
    "DOCS_PATH",
    "FLOAT",
    "HEADER",
    "INT",
    "LIBRARY",
    "MAX_DEPTH",
    "NAMED_LISTS",
    "REMOVE_KEY",
    "SCENARIO_KINDS",
    "SINGULAR",
    "TYPE_PROBLEMS",
    "UNION_TAGS",
    "Layers",
    "LeadingZero",
    "Loc",
    "Resolved",
    "ScenarioError",
    "YAMLRefused",
    "bounds",
    "default_name",
    "describe",
    "header_comment",
    "library_file",
    "literal_choices",
    "load",
    "parse_yaml",
    "python_refusal",
    "read_chain",
    "read_yaml",
    "read_yaml_file",
    "refusal",
    "scenario_of",
    "schema_reference",
    "to_yaml",
    "unknown_key",
    "validated",
]


@dataclass
class Resolved:
    """A validated scenario and where it came from."""

    scenario: Scenario
    files: list[str] = field(default_factory=list)  # the extends chain, most basic first
    overrides: list[str] = field(default_factory=list)


def load(path: str, overrides: list[str] | tuple[str, ...] = (), labels: dict[str, str] | None = None) -> Resolved:
    """Read a scenario file with its `extends` chain and overrides; validate it against the schema.

    `labels` maps an override to the name it goes by in messages (e.g. `days=0` -> `--days 0`).
    """
    chain = read_chain(path)
    layers = Layers()
    for label, data in chain:
        layers.merge(label, data)
    if "name" not in chain[-1][1]:
        layers.data["name"] = default_name(path)
    for text in overrides:
        layers.override(text, (labels or {}).get(text))
    scenario = validated(layers, path)
    if not scenario.platforms:  # the model runs without platforms (tests do), but a run's KPIs and figures need one
        where = layers.source(("platforms",), path, within=True)
        raise ScenarioError(f"{where}: platforms: [] has 0 items; a scenario needs at least 1 platform")
    return Resolved(scenario, [label for label, _ in chain], list(overrides))


SCENARIO_KINDS = "a Scenario, a scenario file's path or a mapping of a scenario's keys"
"""What the Python API (`MarketModel`, `compare_scenarios`) takes as a scenario."""


def scenario_of(value: Scenario | str | os.PathLike[str] | Mapping[str, Any], label: str) -> Scenario:
    """A scenario as the Python API takes it: a `Scenario` (returned as is), a scenario file's path (read as
    `load` reads it, `extends:` and all) or a mapping of a scenario's keys (as `Scenario(**mapping)` takes them:
    a list is the whole list). A refusal is a one-line `ScenarioError` naming the file, or `label` for a mapping;
    anything else is a TypeError naming `label`."""
    if isinstance(value, Scenario):
        return value
    if isinstance(value, str | os.PathLike):
        return load(os.fspath(value)).scenario
    if isinstance(value, Mapping):
        try:
            return Scenario.model_validate(dict(value))
        except ValidationError as exc:
            raise python_refusal(exc, value, label, keywords=False) from None
    raise TypeError(f"{label}: {_show_python(value)} is not a scenario; allowed: {SCENARIO_KINDS}")


def default_name(path: str) -> str:
    """The name of a scenario whose file does not give one: the file name without `.yaml`, each run of other
    characters than letters, digits, `_`, `-` and `.` replaced by `_` (`my scen (v2).yaml` -> `my_scen_v2`), cut
    to 100 characters; `scenario` when nothing is left (`..yaml`). A researcher's file names are theirs to
    choose, and the name they give is what the name rule checks."""
    name = re.sub(r"[^\w.-]+", "_", Path(path).stem).strip("_")[:100]
    return "scenario" if name.strip(".") == "" else name


class _Dumper(yaml.SafeDumper):
    """Quotes text that the core schema or YAML 1.1 would read as something else (`'1e3'`, `'on'`), so that
    what it writes reads back the same here and in other YAML readers."""


for _tag in (BOOL, INT, FLOAT):
    _Dumper.add_implicit_resolver(_tag, CORE_SCHEMA[_tag], list(_FIRST[_tag]))


def to_yaml(scenario: Scenario, header: str = "") -> str:
    """A fully resolved scenario as YAML that loads back to the same scenario (its named lists are whole)."""
    body = yaml.dump({COMPLETE_KEY: True, **scenario.model_dump(mode="json")}, Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=110)
    return header + body


def header_comment(path: str) -> str:
    """The leading comment block of a scenario file, without the '#' marks."""
    lines = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(x for x in lines if x)
