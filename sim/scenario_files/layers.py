"""A scenario's data in layers: the `extends:` chain of files, then `--set` overrides, merged with a record of
the layer that set each key."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from sim.scenario import Scenario, suggest
from sim.scenario_files.common import NAMED_LISTS, REMOVE_KEY, SINGULAR, Loc, ScenarioError, _join, _show
from sim.scenario_files.messages import _keys_of_section, unknown_key
from sim.scenario_files.schema_paths import _fields, _model_at
from sim.scenario_files.strict_yaml import LeadingZero, YAMLRefused, parse_yaml, read_yaml

# A file's own switch (not a scenario key): its platforms, lenders and restructurers are the whole lists, in
# order, not changes to the defaults or to the file it extends. A run's resolved scenario.yaml sets it, so a
# default item removed stays removed and the order is kept when it is re-run.
COMPLETE_KEY = "complete_lists"
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
"""The scenario library, for hints when a file named on the command line or in `extends:` is not found."""


# --- extends --------------------------------------------------------------------------------------


def library_file(path: str, start: str = os.curdir) -> str | None:
    """The library's file of that name (`classroom`, `classroom.yaml`), as a path relative to `start` (absolute
    if that would climb out of it), for a hint when `path` is not found: `python run.py run classroom` after
    `list` has shown the names, or `extends: baseline.yaml` in a file outside `scenarios/`. None if there is none."""
    name = Path(path).name
    for candidate in (LIBRARY / name, LIBRARY / f"{name}.yaml"):
        if candidate.is_file():
            shown = os.path.relpath(candidate, start)
            return str(candidate) if shown.startswith("..") and start == os.curdir else shown
    return None


def read_chain(path: str) -> list[tuple[str, dict[str, Any]]]:
    """The file and the files it extends, most basic first, as (label, data) without `extends`."""
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: list[str] = []
    label = path
    if not Path(path).exists():
        known = library_file(path)
        hint = f"; the library's {Path(known).stem} is {known}" if known else ""
        raise ScenarioError(f"{path}: file not found{hint}")
    while True:
        real = os.path.realpath(label)
        if real in seen:
            cycle = " -> ".join([*(os.path.basename(s) for s in seen), os.path.basename(real)])
            raise ScenarioError(f"{label}: extends: cycle {cycle}")
        seen.append(real)
        data = read_yaml(label)
        parent = data.pop("extends", None)
        chain.append((label, data))
        if parent is None:
            return chain[::-1]
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError(f"{label}: extends: {_show(parent)} is not a file path (expected e.g. 'baseline.yaml')")
        target = os.path.normpath(os.path.join(os.path.dirname(label), parent))
        if Path(target).is_dir():  # there, so "not found" would send the user looking for a file that exists
            raise ScenarioError(f"{label}: extends: {parent!r} is a folder, not a YAML file ({target})")
        if not Path(target).is_file():
            known = library_file(parent, os.path.dirname(label) or os.curdir) if not Path(target).exists() else None
            hint = f"; to extend the library's {Path(known).stem}, write extends: {known}" if known else ""
            raise ScenarioError(f"{label}: extends: file {parent!r} not found (looked for {target}){hint}")
        label = target


# --- merging with provenance ----------------------------------------------------------------------


class Layers:
    """The merged data and, for each key path set by a layer, the layer that set it last."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = Scenario().model_dump(mode="json")
        self.origin: dict[Loc, tuple[int, str]] = {}  # key path -> (order set, layer label)
        self.overrides: set[str] = set()  # the labels of KEY=VALUE layers (the others are files)
        # the labels of data given in Python: "keywords" (`Scenario(consumers=...)`) or "mapping" (`{"consumers": ...}`)
        self.python: dict[str, str] = {}

    def merge(self, label: str, data: dict[str, Any]) -> None:
        data = dict(data)
        complete = data.pop(COMPLETE_KEY, False)
        if not isinstance(complete, bool):
            raise ScenarioError(f"{label}: {COMPLETE_KEY}: {_show(complete)} is not true or false")
        for key in NAMED_LISTS if complete else ():
            if isinstance(data.get(key), list) and isinstance(self.data.get(key), list):
                self._merge_named(self.data[key], [], key, label)  # then the file's items, in its order
        self._merge_dict(self.data, data, (), label)

    def _merge_dict(self, dst: dict[str, Any], src: dict[str, Any], loc: Loc, label: str) -> None:
        for key, value in src.items():
            here = (*loc, str(key))
            if not loc and key in NAMED_LISTS and isinstance(value, list) and isinstance(dst.get(key), list):
                self._merge_named(dst[key], value, key, label)
            elif isinstance(value, dict) and isinstance(dst.get(key), dict):
                self._merge_dict(dst[key], value, here, label)
            else:
                dst[key] = copy.deepcopy(value)
                self._mark(here, value, label)

    def _mark(self, loc: Loc, value: Any, label: str) -> None:
        self.origin[loc] = (len(self.origin), label)
        if isinstance(value, dict):
            for k, v in value.items():
                self._mark((*loc, str(k)), v, label)

    def _merge_named(self, dst: list[Any], src: list[Any], key: str, label: str) -> None:
        if not src:  # `restructurers: []` means none, as with --set, not "change nothing" (it kept the defaults)
            for item in dst:
                if isinstance(item, dict):
                    self._mark((key, str(item.get("name"))), None, label)  # so "none left" blames this layer
            dst.clear()
            return
        names: set[str] = set()
        for i, item in enumerate(src):
            if not isinstance(item, dict):
                raise ScenarioError(f"{label}: {key}.{i}: {_show(item)} is not a mapping with a name")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise ScenarioError(f"{label}: {key}.{i}: every {SINGULAR[key]} needs a name (got {_show(name)})")
            if name in names:
                raise ScenarioError(f"{label}: {key}: duplicate name {name!r}")
            names.add(name)
            self._merge_item(dst, item, key, name, label)

    def _merge_item(self, dst: list[Any], item: dict[str, Any], key: str, name: str, label: str) -> None:
        current = next((d for d in dst if isinstance(d, dict) and d.get("name") == name), None)
        here = (key, name)
        if REMOVE_KEY in item and not isinstance(item[REMOVE_KEY], bool):
            raise ScenarioError(f"{label}: {key}.{name}.{REMOVE_KEY}: {_show(item[REMOVE_KEY])} is not true or false")
        if item.get(REMOVE_KEY) is False:  # an explicit "keep": nothing to remove
            item = {k: v for k, v in item.items() if k != REMOVE_KEY}
        if item.get(REMOVE_KEY) is True:
            if current is None:
                raise ScenarioError(f"{label}: {key}.{name}: cannot remove unknown {SINGULAR[key]} {name!r}"
                                    f"{suggest(name, _names(dst))}")
            dst.remove(current)
            self._mark(here, None, label)  # so that "no platform left" blames this layer
            return
        if current is None:
            dst.append(copy.deepcopy(item))
            self._mark(here, item, label)
        else:
            self._merge_dict(current, {k: v for k, v in item.items() if k != "name"}, here, label)

    def override(self, text: str, label: str | None = None) -> None:
        """Apply one `KEY=VALUE` override (`label` names it in messages; default `--set KEY=VALUE`). A mapping
        merges key by key into the mapping it addresses, as in files; any other value replaces."""
        label = label or f"--set {text}"
        self.overrides.add(label)
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"{label}: expected KEY=VALUE, e.g. consumers.count=20000")
        parts = key.strip().split(".")
        try:
            value = parse_yaml(raw, tuple(parts)) if raw.strip() else None
        except LeadingZero as exc:
            raise ScenarioError(f"{label}: {exc.problem}") from None
        except YAMLRefused as exc:
            raise ScenarioError(f"{label}: value {_show(raw)}: {exc.problem}") from None
        except yaml.YAMLError:
            raise ScenarioError(f"{label}: value {_show(raw)} is not valid YAML") from None
        if len(parts) == 3 and parts[0] in NAMED_LISTS and parts[2] == REMOVE_KEY:  # platforms.x.remove=true
            items = self.data.get(parts[0])
            if not isinstance(items, list):
                raise ScenarioError(f"{label}: {parts[0]} is {_show(items)}, not a list")
            self._merge_item(items, {"name": parts[1], REMOVE_KEY: value}, parts[0], parts[1], label)
            return
        parent, loc = self._walk(parts[:-1], label)
        last = parts[-1]
        here = (*loc, last)
        at: int | str
        if isinstance(parent, list):
            at = _index(parent, last, loc, label)
            if len(loc) == 1 and loc[0] in NAMED_LISTS and not isinstance(value, dict):
                raise ScenarioError(f"{label}: {_keys_of_section(here, value, label, self, _fields(here))}")
            current = parent[at]
        elif isinstance(parent, dict):
            at, current = last, parent.get(last)
        else:
            raise ScenarioError(f"{label}: {_join(loc)} is {_show(parent)}, not a section with keys")
        if isinstance(value, dict) and isinstance(current, dict):
            self._merge_dict(current, value, here, label)  # a mapping merges key by key, as in files
        else:
            parent[at] = value
            self._mark(here, value, label)
            if len(loc) == 2 and loc[0] in NAMED_LISTS and last == "name":  # a renamed item: errors use the new name
                self._mark((loc[0], str(value), last), value, label)
                # or its position, when the new name is not text (`--set platforms.video.name=` gives null)
                position = next((i for i, item in enumerate(self.data[loc[0]]) if item is parent), None)
                if position is not None:
                    self._mark((loc[0], str(position), last), value, label)

    def _walk(self, parts: list[str], label: str) -> tuple[Any, Loc]:
        node: Any = self.data
        loc: Loc = ()
        for part in parts:
            if isinstance(node, list):
                node = node[_index(node, part, loc, label)]
            elif isinstance(node, dict):
                if part not in node:
                    if _model_at(loc) is not None and part not in _fields(loc):
                        raise ScenarioError(f"{label}: {_join((*loc, part))}: {unknown_key(part, _fields(loc), loc)}")
                    node[part] = {}
                node = node[part]
            else:
                raise ScenarioError(f"{label}: {_join(loc)} is {_show(node)}, not a section with keys")
            loc = (*loc, part)
        return node, loc

    def source(self, loc: Loc, default: str, *, within: bool = False) -> str:
        """The layer that last set `loc` (or a key above it; with `within`, also a key below it)."""
        return self.latest([loc], default, within=within)

    def latest(self, locs: list[Loc], default: str, *, within: bool = False) -> str:
        """The layer that last set any of `locs` (as `source`): a rule between keys blames the latest change."""
        hits = [v for k, v in self.origin.items() for loc in locs
                if k == loc[: len(k)] or (within and k[: len(loc)] == loc)]
        return max(hits)[1] if hits else default


def _names(items: list[Any]) -> list[str]:
    return [str(d.get("name")) for d in items if isinstance(d, dict)]


def _index(items: list[Any], part: str, loc: Loc, label: str) -> int:
    """Position of a list item addressed by name (named lists) or by number."""
    if loc and loc[-1] in NAMED_LISTS and len(loc) == 1:
        names = _names(items)
        if part in names:
            return names.index(part)
        raise ScenarioError(f"{label}: {_join(loc)}: unknown {SINGULAR[loc[-1]]} {part!r}{suggest(part, names)}"
                            f"; known: {', '.join(names) or 'none'}")
    if part.isdigit() and int(part) < len(items):
        return int(part)
    raise ScenarioError(f"{label}: {_join(loc)}: no item {part!r} (the list has {len(items)} items, numbered from 0)")
