"""Schema refusals (pydantic `ValidationError`s) as the project's one-line messages, naming the layer that set
the value, the key path, the value and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import annotated_types as at
from pydantic import ValidationError

from sim.scenario import RuleBroken, Scenario, suggest
from sim.scenario_files.common import NAMED_LISTS, REMOVE_KEY, Loc, ScenarioError, _join, _show
from sim.scenario_files.schema_paths import _deeper, _fields, _model_at, _num, _schema_walk, bounds, literal_choices

if TYPE_CHECKING:  # for annotations only: layers imports this module
    from sim.scenario_files.layers import Layers


def unknown_key(key: str, allowed: list[str], loc: Loc | None = None) -> str:
    """"unknown key" with a close spelling, or the full path of a key of that name one to three sections further in
    (`platforms.community.strategy` is `platforms.community.finance.strategy`, a top-level `rate_cap` is
    `regulation.rate_cap`), or the keys allowed here."""
    hint = suggest(key, allowed)
    if not hint and loc is not None:
        paths = [_join((*loc, *inner)) for inner in _deeper(_model_at(loc), key)]
        hint = f" here (did you mean {' or '.join(paths[:3])}?)" if paths else ""
    return f"unknown key{hint}" if hint else f"unknown key; allowed keys: {', '.join(allowed)}"


def _named_loc(loc: tuple[Any, ...], data: dict[str, Any]) -> Loc:
    """Pydantic's loc with list positions of named lists replaced by names."""
    out: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and out and out[-1] in NAMED_LISTS and len(out) == 1:
            item = node[part] if part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out.append(name if isinstance(name, str) and name else str(part))
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
        if item_of_named_list and loc[-1] == REMOVE_KEY:  # files and item paths act on `remove`: a list set whole
            return (f"a list value replaces the whole list, where {REMOVE_KEY} has no meaning: list only the items "
                    f"to keep (to drop one item of the current list: --set {loc[0]}.{loc[1]}.{REMOVE_KEY}=true)")
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
        raise refusal(exc, layers, default) from None


def refusal(exc: ValidationError, layers: Layers, default: str) -> ScenarioError:
    """The schema's refusal of the layers' data as a `ScenarioError` with `describe`'s one line."""
    try:
        message = describe(exc, layers, default)
    except Exception:  # never let a message bug turn into a traceback
        err = exc.errors()[0]
        message = f"{default}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
    return ScenarioError(message)


def python_refusal(exc: ValidationError, data: Mapping[str, Any], label: str, *, keywords: bool) -> ScenarioError:
    """The schema's refusal of a scenario given in Python (`Scenario(**data)`, with `keywords`, or a mapping of a
    file's keys) as the one line a file's gets, `label` (e.g. `Scenario(...)`) in place of the file name."""
    from sim.scenario_files.layers import Layers  # layers imports this module

    layers = Layers()
    layers.data = dict(data)  # for the names of list items; no layer set a key, so every message names `label`
    layers.python[label] = "keywords" if keywords else "mapping"
    return refusal(exc, layers, label)


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
    if err["type"] == "invalid_key":  # `1:` or `true:`, which YAML reads as a number or a boolean, never a key
        section = f"{_join(loc[:-1])}: " if loc[:-1] else ""
        return f"{where}: {section}key {_show(err.get('input'))} is not a name; allowed keys: " \
               f"{', '.join(_fields(loc[:-1]))}{more}"
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
    if value is None and where in layers.python:
        return f"{_join(loc)} is a section, not None: give it a mapping of its keys, or leave it out"
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
    if where in layers.python:  # Python: `consumers={'count': 20000}`, or `'consumers': {'count': 20000}` in a mapping
        shown = f"{{{key!r}: {value}}}" if key != "KEY" else f"{{KEY: {value}}}"
        top = len(loc) == 1 and layers.python[where] == "keywords"
        return f"{loc[-1]}={shown}" if top else f"{loc[-1]!r}: {shown}"
    if where in layers.overrides:  # a sweep file's `set:` or `parameters:` key
        return f"{_join(loc)}.{key}: {value}"
    return f"{loc[-1]}: {{{key}: {value}}}"
