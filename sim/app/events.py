"""Events fired during a run ("Apply from tomorrow"), as the scenario's own timed events are.

An event fired in the dashboard is a scenario `Event` on the next recorded day, given to each running model with
`MarketModel.add_event`: that validates the scenario with the event appended to its `events` (so the schema's rules
refuse it exactly as in a file) and schedules it, so `sim.finance.regulation.apply_events` applies it on that day
as it applies the file's events. The run is thus the command line's run of the same scenario with
`--set 'events=[...]'`, which `command_line` writes out for the class to reproduce.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sim.app.variant import AD_POLICIES, STRATEGIES, as_text
from sim.scenario_files import parse_yaml

if TYPE_CHECKING:
    from sim.scenario import Event, Scenario

ROOT = Path(__file__).resolve().parents[2]  # where `python run.py` runs
KINDS = ["crackdown", "rate_cap", "ad_policy", "balance_limit", "strategy"]
TARGETS = {"crackdown": "restructurers", "ad_policy": "platforms", "strategy": "platforms"}
"""Kinds that take a target, and the scenario list it names; the others apply to the whole market."""
CHOICES = {"ad_policy": AD_POLICIES, "strategy": STRATEGIES}
"""Kinds whose value is picked from a list; `rate_cap` and `balance_limit` take a typed number; a crackdown none."""
EVERYONE = "all"
NAMES = {"crackdown": "crackdown", "rate_cap": "rate cap", "ad_policy": "intermediary ad policy",
         "balance_limit": "balance limit", "strategy": "finance strategy"}
PLAIN = re.compile(r"[A-Za-z_][\w-]*")


def takes_value(kind: str) -> bool:
    return kind != "crackdown"


def targets(scenario: Scenario, kind: str) -> list[str]:
    """The target dropdown: `all`, then the platforms or intermediaries by name; [] for a market-wide kind."""
    if kind not in TARGETS:
        return []
    return [EVERYONE, *(item.name for item in getattr(scenario, TARGETS[kind]))]


def typed(text: Any) -> Any:
    """A typed value as a scenario file reads it: `0.15` a number, anything else the text (the schema says
    what is wrong with it). Empty is no value."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if not text:
        return None
    try:
        value = parse_yaml(text, ("events", "value"))
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float) and not isinstance(value, bool) else text


def draft(day: int, kind: str, target: str | None, value: Any) -> dict[str, Any]:
    """The event as data for the scenario's `events` list: no target for all, no value for a crackdown."""
    event: dict[str, Any] = {"day": day, "kind": kind}
    if kind in TARGETS and target not in (None, "", EVERYONE):
        event["target"] = target
    if takes_value(kind):
        event["value"] = typed(value)
    return event


def data(event: Event) -> dict[str, Any]:
    """An `Event` as it is written in a file (the target and value it does not have left out)."""
    return event.model_dump(exclude_none=True)


def scalar(value: Any) -> str:
    """A value as YAML that reads back as that value: a number as typed in a field (`0.15`, `5000`, `1e-05`),
    a word plain when it reads back as the same text, anything else double-quoted (`"null"`, `"1,5"`)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return as_text(value)
    text = str(value)
    return text if PLAIN.fullmatch(text) and parse_yaml(text) == text else json.dumps(text)


def flow(events: list[dict[str, Any]]) -> str:
    """The `events` list as one line of YAML: `[{day: 41, kind: rate_cap, value: 0.15}, ...]`."""
    return "[" + ", ".join("{" + ", ".join(f"{k}: {scalar(v)}" for k, v in e.items()) + "}" for e in events) + "]"


def override(events: list[dict[str, Any]]) -> str:
    """The `--set` override that gives a scenario these events (it replaces the file's list)."""
    return f"events={flow(events)}"


def describe(event: Event | dict[str, Any]) -> str:
    """`rate cap 0.15`, `crackdown on law_firm`, `finance strategy none on video`: for messages and charts."""
    e = event if isinstance(event, dict) else data(event)
    words = [NAMES.get(e["kind"], str(e["kind"]))]
    if "value" in e:
        words.append("(none)" if e["value"] is None else as_text(e["value"]))
    if e.get("target") is not None:
        words.append(f"on {e['target']}")
    return " ".join(words)


def shown_path(path: str) -> str:
    """A scenario file as `python run.py` is given it from the repository: relative when it is inside."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def command_line(path: str, days: int, overrides: list[str], events: list[Event]) -> str:
    """`python run.py run SCENARIO --days N --set ... --set 'events=[...]'`: the run the dashboard shows.

    `overrides` are the controls' `KEY=VALUE` overrides (and run B's); `days` goes as `--days` (the command line
    refuses `--days` beside `--set days=`). `events` are all of the run's events, the file's own included, since
    `--set events=` replaces the file's list."""
    parts = ["python", "run.py", "run", shown_path(path), "--days", str(days)]
    for text in overrides:
        if text.partition("=")[0] != "days":
            parts += ["--set", text]
    if events:
        parts += ["--set", override([data(e) for e in events])]
    return shlex.join(parts)
