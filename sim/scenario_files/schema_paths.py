"""The schema looked up by key path: the field and the model at a path, the paths that end in a key, and a
field's range and choices."""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types as at
from pydantic import BaseModel

from sim.scenario import Scenario
from sim.scenario_files.common import NAMED_LISTS, Loc


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
