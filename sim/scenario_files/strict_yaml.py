"""The strict YAML reader of scenario, sweep and target files: the YAML 1.2 core schema, without duplicate keys,
aliases, deep nesting, leading zeros or thousands separators."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sim.scenario_files.common import NAMED_LISTS, Loc, ScenarioError, _join, _kind

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
        if key is None:  # the schema's message named Python's None: "None: null keys should be strings"
            written = key_node.value or "(empty)"
            raise YAMLRefused(problem=f"key {written} is null, not a name (quote it, '{written}', if you mean the "
                              "text)", problem_mark=key_node.start_mark)
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


def read_yaml_file(path: str | Path) -> Any:
    """The YAML document of one file (scenario, sweep or targets), whatever its top level, or a `ScenarioError`
    in one line naming the file. Bytes that are not UTF-8 text (cp1252, UTF-16 or UTF-32 with or without a
    byte order mark, NUL bytes) are "not a text file"; another character YAML refuses is named with its line."""
    p = Path(path)
    if p.is_dir():
        raise ScenarioError(f"{path}: is a folder, not a YAML file")
    if not p.is_file():
        raise ScenarioError(f"{path}: file not found" if not p.exists() else f"{path}: not a regular file")
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        text = "\0"  # refused below
    if "\0" in text:  # also UTF-16 or UTF-32 without a byte order mark, or binary data: valid UTF-8 with NULs
        raise ScenarioError(f"{path}: not a text file (UTF-8 expected)")
    try:
        return parse_yaml(text)
    except LeadingZero as exc:
        raise ScenarioError(f"{path}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError(f"{path}: {_yaml_where(exc)}YAML error: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML's message takes two lines
        before = text[:exc.position]
        where = f"line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))}"
        raise ScenarioError(f"{path}: {where}: YAML error: control character #x{exc.character:04x} is not "
                            "allowed") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: YAML error: {' '.join(str(exc).split())}") from None


def read_yaml(path: str) -> dict[str, Any]:
    """One YAML file as a mapping, or a `ScenarioError`."""
    data = read_yaml_file(path)
    if data is None:
        raise ScenarioError(f"{path}: the file is empty; a scenario file is a mapping such as 'days: 365'")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping of keys, got {_kind(data)}")
    return data


def _yaml_where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
