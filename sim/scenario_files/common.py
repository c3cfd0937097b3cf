"""What the parts of scenario file reading share: the error they raise, key paths, the named lists and how
a value is shown in a message."""

from __future__ import annotations

import json
import numbers
from typing import Any

NAMED_LISTS = ("platforms", "lenders", "restructurers")
SINGULAR = {"platforms": "platform", "lenders": "lender", "restructurers": "restructurer"}
REMOVE_KEY = "remove"

Loc = tuple[str, ...]


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message is one line meant for the user. A ValueError, as the schema's
    own refusal (pydantic's ValidationError) is: code that caught that from `Scenario(...)` still catches this."""


def _join(loc: Loc) -> str:
    return ".".join(str(x) for x in loc) or "(top level)"


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


def whole_number(value: object, label: str, minimum: int, allowed: str, in_range: str | None = None) -> int:
    """`value` as an int if it is a whole number (a NumPy integer too, not a bool) of at least `minimum`; else a
    one-line TypeError or ValueError naming `label` (an argument of the Python API) and what is `allowed` (when out
    of range, `in_range` if given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{label} {_show_python(value)} is not a whole number; allowed: {allowed}")
    if value < minimum:
        raise ValueError(f"{label} {int(value)} is out of range; allowed: {in_range or allowed}")
    return int(value)


def _show_python(value: Any) -> str:
    """A value given in Python as Python writes it (`True`, `None`, `'10'`), shortened: for messages about an
    argument of the Python API, where `_show`'s YAML spelling (`true`, `null`) would not be what was typed."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
