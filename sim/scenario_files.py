"""Scenario files: YAML loading, `extends:`, `--set` overrides, and one-line error messages.

A scenario is built in layers, later layers winning: the schema's defaults, then each file of the
`extends:` chain from the most basic to the file named on the command line, then `--set KEY=VALUE`
overrides. Mappings merge key by key. The lists `platforms`, `lenders` and `restructurers` merge by
`name`: an item whose name is already present changes only the keys it states, a new name adds an
item, `{name: x, remove: true}` drops one and an empty list drops them all. Any other list is replaced whole.

Every problem raises `ScenarioError` whose message is one line naming the file (or the `--set`
override), the key path (platforms and lenders by name), the value given and what is allowed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types as at
import yaml
from pydantic import BaseModel, ValidationError

from sim.scenario import RuleBroken, Scenario, suggest

NAMED_LISTS = ("platforms", "lenders", "restructurers")
SINGULAR = {"platforms": "platform", "lenders": "lender", "restructurers": "restructurer"}
REMOVE_KEY = "remove"
# A file's own switch (not a scenario key): its platforms, lenders and restructurers are the whole lists, in
# order, not changes to the defaults or to the file it extends. A run's resolved scenario.yaml sets it, so a
# default item removed stays removed and the order is kept when it is re-run.
COMPLETE_KEY = "complete_lists"
LIBRARY = Path(__file__).resolve().parent.parent / "scenarios"
"""The scenario library, for hints when a file named on the command line or in `extends:` is not found."""

Loc = tuple[str, ...]


class ScenarioError(Exception):
    """A scenario that cannot be loaded; the message is one line meant for the user."""


@dataclass
class Resolved:
    """A validated scenario and where it came from."""

    scenario: Scenario
    files: list[str] = field(default_factory=list)  # the extends chain, most basic first
    overrides: list[str] = field(default_factory=list)


# --- YAML ---------------------------------------------------------------------------------------


MAX_DEPTH = 50  # scenario and sweep files nest a few levels; far deeper input would exhaust the stack


class YAMLRefused(yaml.MarkedYAMLError):
    """Valid YAML that scenario and sweep files do not accept (duplicate keys, aliases, ...)."""


class LeadingZero(YAMLRefused):
    """A whole number written with a leading zero (`010`): YAML 1.1 reads it as octal 8, YAML 1.2 as 10."""

    def __init__(self, loc: Loc, text: str, mark: Any) -> None:
        number, digits = int(text), text.lstrip("+0")
        octal = f" (or 0o{digits} for octal)" if number > 0 and set(digits) <= set("01234567") else ""
        self.loc, self.detail = loc, f"{text!r} has a leading zero; write {number}{octal}"
        super().__init__(problem=f"{_join(loc)}: {self.detail}" if loc else self.detail, problem_mark=mark)


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one), keys that are
    lists or mappings, aliases (`*name`: 1 KB of nested aliases can expand to a billion values; files
    share values with `extends:` instead) and nesting deeper than `MAX_DEPTH`.

    Plain scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 rules (see `CORE_SCHEMA`):
    `on`, `yes` and `1:30` are text, `1e-3` is a number, and a whole number with a leading zero (`010`,
    octal 8 in YAML 1.1) is refused rather than guessed."""

    def __init__(self, stream: str, loc: Loc = ()) -> None:
        super().__init__(stream)
        self._depth = 0
        self._loc = loc  # where the text goes in a scenario (a --set value), for messages

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _refuse_leading_zeros(node, self._loc)
        return node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise YAMLRefused(problem=f"alias *{event.anchor} is not allowed; write the value out (or share "
                              "values with extends:)", problem_mark=event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLRefused(problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise YAMLRefused(problem="a key must be a name, not a list or mapping", problem_mark=key_node.start_mark)
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise YAMLRefused(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# YAML 1.2 core schema (yaml.org/spec/1.2.2, 10.3.2 Tag Resolution) for plain scalars. PyYAML implements
# YAML 1.1, where `010` is octal 8, `1:30` is 90, `1_000` is 1000, `on`/`off`/`yes`/`no` are true/false,
# `2024-01-01` is a date and `1e-3` (no dot) is text. Null stays as in both (`null`, `~`, empty), and `<<`
# stays a merge key, which scenario files refuse.
BOOL, INT, FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
CORE_SCHEMA = {
    BOOL: re.compile(r"^(?:true|True|TRUE|false|False|FALSE)\Z"),
    INT: re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z"),
    FLOAT: re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                      r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"),
}
_FIRST = {BOOL: "tTfF", INT: "-+0123456789", FLOAT: "-+.0123456789"}  # an int is tried before a float
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")

_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _core_scalar(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """A true/false, whole number or number by the core schema (also when tagged `!!int` etc.)."""
    text = loader.construct_scalar(node)
    if not CORE_SCHEMA[node.tag].match(text):
        kind = {BOOL: "true or false", INT: "a whole number", FLOAT: "a number"}[node.tag]
        raise YAMLRefused(problem=f"{text!r} is not {kind}", problem_mark=node.start_mark)
    if node.tag == BOOL:
        return text.lower() == "true"
    if node.tag == INT:
        return int(text[2:], 8 if text[1] == "o" else 16) if text.startswith(("0o", "0x")) else int(text)
    if text.lstrip("+-").lower() in (".inf", ".nan"):
        return float(text.replace(".", ""))
    return float(text)


for _tag in (BOOL, INT, FLOAT):
    _StrictLoader.add_implicit_resolver(_tag, CORE_SCHEMA[_tag], list(_FIRST[_tag]))
    _StrictLoader.add_constructor(_tag, _core_scalar)


def _refuse_leading_zeros(node: yaml.Node, loc: Loc) -> None:
    """Refuse `010` (see `LeadingZero`), naming its key path (items of named lists by name)."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == INT and _LEADING_ZERO.fullmatch(node.value):
            raise LeadingZero(loc, node.value, node.start_mark)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            name = i
            if len(loc) == 1 and loc[0] in NAMED_LISTS and isinstance(item, yaml.MappingNode):
                name = next((v.value for k, v in item.value if isinstance(k, yaml.ScalarNode) and k.value == "name"
                             and isinstance(v, yaml.ScalarNode) and v.value), i)
            _refuse_leading_zeros(item, (*loc, str(name)))
    elif isinstance(node, yaml.MappingNode):
        if node.flow_style:
            _refuse_thousands_separators(node, loc)
        for key, value in node.value:
            _refuse_leading_zeros(key, loc)
            _refuse_leading_zeros(value, (*loc, str(key.value)) if isinstance(key, yaml.ScalarNode) else loc)


def _refuse_thousands_separators(node: yaml.MappingNode, loc: Loc) -> None:
    """`{cap: 20,000}`: in a {...} mapping a comma ends the entry, so YAML reads `cap: 20` and a key `000`
    without a value. Refused naming the number as written (a bare three-digit key is no scenario key)."""
    entries = node.value
    for i, (key, number) in enumerate(entries):
        if not (isinstance(number, yaml.ScalarNode) and number.tag == INT):
            continue
        groups = []
        for group, empty in entries[i + 1:]:
            if not (isinstance(group, yaml.ScalarNode) and re.fullmatch(r"\d{3}", group.value)
                    and isinstance(empty, yaml.ScalarNode) and empty.value == ""):
                break
            groups.append(group.value)
        if groups:
            written = ",".join([number.value, *groups])
            raise YAMLRefused(problem=f"{_join((*loc, str(key.value)))}: '{written}': a comma ends an entry of a "
                              f"{{...}} mapping; write the number without thousands separators: "
                              f"{written.replace(',', '')}", problem_mark=number.start_mark)


def parse_yaml(text: str, loc: Loc = ()) -> Any:
    """YAML text read as scenario files are (the core schema; no aliases, duplicate keys, deep nesting or
    Python tags). Raises `yaml.YAMLError` (`YAMLRefused`, `LeadingZero` for what these files refuse). `loc` is
    the key path the text is the value of, for messages."""
    loader = _StrictLoader(text, loc)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: str) -> dict[str, Any]:
    """One YAML file as a mapping, or a `ScenarioError`."""
    p = Path(path)
    if p.is_dir():
        raise ScenarioError(f"{path}: is a folder, not a YAML file")
    if not p.is_file():
        raise ScenarioError(f"{path}: file not found" if not p.exists() else f"{path}: not a regular file")
    try:
        data = parse_yaml(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (UTF-8 expected)") from None
    except LeadingZero as exc:
        raise ScenarioError(f"{path}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError(f"{path}: {_yaml_where(exc)}YAML error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: YAML error: {exc}") from None
    if data is None:
        raise ScenarioError(f"{path}: the file is empty; a scenario file is a mapping such as 'days: 365'")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping of keys, got {_kind(data)}")
    return data


def _yaml_where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{_show(value)}"


def _show(value: Any) -> str:
    """A value as the user wrote it, shortened."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        return "a mapping"
    else:
        try:
            text = json.dumps(value)
        except TypeError:
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def _join(loc: Loc) -> str:
    return ".".join(str(x) for x in loc) or "(top level)"


def unknown_key(key: str, allowed: list[str], loc: Loc | None = None) -> str:
    """"unknown key" with a close spelling, or the full path of a key of that name one to three sections further in
    (`platforms.community.strategy` is `platforms.community.finance.strategy`, a top-level `rate_cap` is
    `regulation.rate_cap`), or the keys allowed here."""
    hint = suggest(key, allowed)
    if not hint and loc is not None:
        paths = [_join((*loc, *inner)) for inner in _deeper(_model_at(loc), key)]
        hint = f" here (did you mean {' or '.join(paths[:3])}?)" if paths else ""
    return f"unknown key{hint}" if hint else f"unknown key; allowed keys: {', '.join(allowed)}"


def _deeper(model: type[BaseModel] | None, key: str, depth: int = 3) -> list[Loc]:
    """Paths below `model`'s own keys, at most `depth` keys long, that end in `key` (an item of a named list shows
    as `<name>`, of another list as `<n>`)."""
    found: list[Loc] = []
    if model is None or depth <= 1:
        return found
    for name, info in model.model_fields.items():
        inner = _unwrap(info.annotation)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            continue
        item = ("<name>",) if name in NAMED_LISTS else ("<n>",) if typing.get_origin(info.annotation) is list else ()
        if key in inner.model_fields:
            found.append((name, *item, key))
        found += [(name, *item, *rest) for rest in _deeper(inner, key, depth - 1)]
    return found


# --- the schema, by key path ------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """The model class inside `list[M]`, `M | None`, or `M`; else the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


def _schema_walk(loc: Loc) -> tuple[Any, type[BaseModel] | None]:
    """(FieldInfo of the last key, model whose keys live at `loc`) for a name-addressed key path.

    Items of a list of models (addressed by name or number) are stepped over. Unknown paths give (None, None).
    """
    model: type[BaseModel] | None = Scenario
    info: Any = None
    item_next = False
    for part in loc:
        if item_next:
            item_next = False
            continue
        if model is None or part not in model.model_fields:
            return None, None
        info = model.model_fields[part]
        inner = _unwrap(info.annotation)
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
        item_next = model is not None and typing.get_origin(info.annotation) is list
    return info, (None if item_next else model)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model whose keys live at `loc` (a section, or an item of a list of models)."""
    return _schema_walk(loc)[1]


def _fields(loc: Loc) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model else []


def bounds(info: Any) -> str:
    """A field's allowed range as text, e.g. '>= 0 and <= 1'."""
    parts = []
    for m in info.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt)) and hasattr(m, attr):
                parts.append(f"{sign} {_num(getattr(m, attr))}")
    return " and ".join(parts)


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def literal_choices(info: Any) -> list[str]:
    ann = info.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)] if typing.get_origin(ann) is not None else []
    if typing.get_origin(ann) is typing.Literal:
        return [str(a) for a in args]
    for a in args:
        if typing.get_origin(a) is typing.Literal:
            return [str(x) for x in typing.get_args(a)]
    return []


# --- validation errors as one line ------------------------------------------------------------------


def _named_loc(loc: tuple[Any, ...], data: dict[str, Any]) -> Loc:
    """Pydantic's loc with list positions of named lists replaced by names."""
    out: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and out and out[-1] in NAMED_LISTS and len(out) == 1:
            item = node[part] if part < len(node) else None
            out.append(str(item.get("name")) if isinstance(item, dict) and item.get("name") else str(part))
        else:
            out.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _problem(err: dict[str, Any], loc: Loc) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    info = _schema_walk(loc)[0]
    if kind == "extra_forbidden":
        item_of_named_list = len(loc) == 3 and loc[0] in NAMED_LISTS
        return unknown_key(loc[-1], [*_fields(loc[:-1]), *([REMOVE_KEY] if item_of_named_list else [])], loc[:-1])
    if kind == "missing":
        return "required key missing"
    if kind == "literal_error":
        choices = literal_choices(info) if info is not None else []
        return f"{_show(value)} is not allowed{suggest(str(value), choices)}; allowed: {', '.join(choices)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        allowed = bounds(info) if info is not None else _ctx_bound(kind, ctx) or err["msg"]
        return f"{_show(value)} is out of range; allowed: {allowed}"
    if kind in ("too_short", "too_long"):
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):  # items too long to quote
            return f"{ctx.get('actual_length')} items; {_length_rule(info, ctx)}"
        return f"{_show(value)} has {ctx.get('actual_length')} items; {_length_rule(info, ctx)}"
    problem = f"{_show(value)} {TYPE_PROBLEMS.get(kind, err['msg'].lower())}"
    if kind.startswith("int_") and isinstance(value, float) and value.is_integer():  # `2e4` or `20000.0`: a float
        allowed = bounds(info) if info is not None else ""
        problem = f"{_show(value)} is written as a decimal (with a point or an exponent); write a whole number: " \
                  f"{int(value)}{f' (allowed: {allowed})' if allowed else ''}"
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        problem += f"; write it without the thousands separators: {value.strip().replace(',', '')}"
    return problem


_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")
"""A number written with thousands separators (`200,000`): YAML reads it as text."""


def _ctx_bound(kind: str, ctx: dict[str, Any]) -> str:
    """The rule of a range error on a list item (no field info), from pydantic's error context."""
    symbol = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
    limit = next(iter(ctx.values()), None)
    return f"{symbol} {_num(limit)}" if limit is not None else ""


def _length_rule(info: Any, ctx: dict[str, Any]) -> str:
    if ctx.get("field_type") == "Tuple":  # a fixed-length pair or triple
        return f"exactly {ctx.get('max_length', ctx.get('min_length'))} expected"
    lo = next((m.min_length for m in getattr(info, "metadata", []) if isinstance(m, at.MinLen)), None)
    hi = next((m.max_length for m in getattr(info, "metadata", []) if isinstance(m, at.MaxLen)), None)
    lo = ctx.get("min_length", lo) if lo is None else lo
    hi = ctx.get("max_length", hi) if hi is None else hi
    if lo is not None and lo == hi:
        return f"exactly {lo} expected"
    return " and ".join(x for x in (f"at least {lo}" if lo is not None else "",
                                     f"at most {hi}" if hi is not None else "") if x) + " expected"


TYPE_PROBLEMS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "int_type": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "string_type": "is not text (quote it)",
    "list_type": "is not a list",
    "tuple_type": "is not a pair",
    "model_type": "is not a mapping of keys",
    "model_attributes_type": "is not a mapping of keys",
    "dict_type": "is not a mapping of keys",
    "finite_number": "is not a finite number",
}


def _hint_known(msg: str) -> str:
    """Add "did you mean" to the schema's "unknown X 'name' (known: a, b)" messages."""
    found = re.search(r"unknown [\w ]+ '([^']+)' \(known: ([^)]*)\)", msg)
    if not found:
        return msg
    hint = suggest(found.group(1), found.group(2).split(", "))
    return f"{msg}; {hint.strip(' ()')}" if hint else msg


UNION_TAGS = ("float", "str", "int", "none", "list[...]")  # pydantic's names of union members in an error's loc


def validated(layers: Layers, default: str) -> Scenario:
    """The scenario the layers' data make; `ScenarioError` with `describe`'s one line if the schema refuses it."""
    try:
        return Scenario.model_validate(layers.data)
    except ValidationError as exc:
        try:
            message = describe(exc, layers, default)
        except Exception:  # never let a message bug turn into a traceback
            err = exc.errors()[0]
            message = f"{default}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
        raise ScenarioError(message) from None


def describe(exc: ValidationError, layers: Layers, default: str) -> str:
    """The first validation error as one line (with a count of the keys with other errors)."""
    errors = exc.errors()
    err = errors[0]
    keys = {tuple(p for p in e["loc"] if p not in UNION_TAGS) for e in errors}  # one error per union member
    more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
    if err["type"] == "value_error" and err["loc"]:  # a rule on one field
        loc = _named_loc(err["loc"], layers.data)
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{layers.source(loc, default)}: {_join(loc)}: {_show(err.get('input'))}: {msg}{more}"
    rule = err.get("ctx", {}).get("error")
    if isinstance(rule, RuleBroken):  # a rule between keys: blame the latest change to any key it involves
        involved = [tuple(key.split(".")) for key in rule.keys]
        return f"{layers.latest(involved, default, within=True)}: {_hint_known(str(rule))}{more}"
    loc = _named_loc(err["loc"], layers.data)
    # a value error inside a union (e.g. events.value) carries the union member in loc; drop type tags
    loc = tuple(p for p in loc if p not in UNION_TAGS)
    where = layers.source(loc, default)
    problem = _value_for_section(err, loc, where, layers) or f"{_join(loc)}: {_problem(err, loc)}"
    return f"{where}: {problem}{more}"


def _value_for_section(err: dict[str, Any], loc: Loc, where: str, layers: Layers) -> str | None:
    """`consumers: 5000` or `--set consumers=5000`: a number where a section with a `count` goes, with the fix
    written as the layer that set it would write it; another value where a section goes names its keys. None for
    other errors."""
    value = err.get("input")
    if err["type"] not in ("model_type", "model_attributes_type", "dict_type") or not loc:
        return None
    model = _model_at(loc)
    if model is None or isinstance(value, dict):
        return None
    whole = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if "count" not in model.model_fields or not whole:
        return _keys_of_section(loc, value, where, layers, list(model.model_fields))
    fix = _as_written(loc, "count", str(int(value)), where, layers)  # `2e4` is a float in YAML: a whole number
    return f"{_join(loc)} is a section, not a value; did you mean {fix}?"


def _keys_of_section(loc: Loc, value: Any, where: str, layers: Layers, keys: list[str]) -> str:
    """`--set market=3`: a value where a section of keys goes; name the keys and how to set one."""
    if value is None and where not in layers.overrides:  # `consumers:` alone in a file
        return f"{_join(loc)} is an empty section (null): give it keys, or remove it"
    shown = _show(value)
    if loc[-1].isdigit():  # an item of a list, e.g. an event given as text
        return f"{_join(loc)}: {shown} is not a mapping of keys (keys: {', '.join(keys)})"
    return f"{_join(loc)} is a section, not a value ({shown} given); set one of its keys, " \
           f"{_as_written(loc, 'KEY', shown, where, layers)}, KEY one of: {', '.join(keys)}"


def _as_written(loc: Loc, key: str, value: str, where: str, layers: Layers) -> str:
    """`key` of the section at `loc` set to `value`, as the layer `where` writes it: `--set a.b.key=value`, a sweep
    file's `a.b.key: value`, or a scenario file's `b: {key: value}`."""
    if where.startswith("--set "):
        return f"--set {_join(loc)}.{key}={value}"
    if where in layers.overrides:  # a sweep file's `set:` or `parameters:` key
        return f"{_join(loc)}.{key}: {value}"
    return f"{loc[-1]}: {{{key}: {value}}}"


# --- the entry point --------------------------------------------------------------------------------


def load(path: str, overrides: list[str] | tuple[str, ...] = (), labels: dict[str, str] | None = None) -> Resolved:
    """Read a scenario file with its `extends` chain and overrides; validate it against the schema.

    `labels` maps an override to the name it goes by in messages (e.g. `days=0` -> `--days 0`).
    """
    chain = read_chain(path)
    layers = Layers()
    for label, data in chain:
        layers.merge(label, data)
    if "name" not in chain[-1][1]:
        layers.data["name"] = Path(path).stem
    for text in overrides:
        layers.override(text, (labels or {}).get(text))
    scenario = validated(layers, path)
    if not scenario.platforms:  # the model runs without platforms (tests do), but a run's KPIs and figures need one
        where = layers.source(("platforms",), path, within=True)
        raise ScenarioError(f"{where}: platforms: [] has 0 items; a scenario needs at least 1 platform")
    return Resolved(scenario, [label for label, _ in chain], list(overrides))


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


# --- the reference of every field (docs/scenarios.md) -------------------------------------------------

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"


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


def schema_reference() -> str:
    """docs/scenarios.md: every field of the schema with its type, default, unit, range and source."""
    return HEADER + "\n".join(_section("", Scenario)).rstrip("\n") + "\n"


if __name__ == "__main__":
    DOCS_PATH.write_text(schema_reference(), encoding="utf-8")
    print(f"wrote {DOCS_PATH}")
