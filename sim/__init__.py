"""A Mesa agent-based model of platform finance: platforms, merchants, consumers, lenders and
debt-restructuring intermediaries, day by day."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.compare import Comparison, compare_scenarios
    from sim.invariants import InvariantError
    from sim.model import MarketModel
    from sim.scenario import Scenario
    from sim.scenario_files import ScenarioError

__all__ = ["Comparison", "InvariantError", "MarketModel", "Scenario", "ScenarioError", "compare_scenarios"]
_HOMES = {"Comparison": "sim.compare", "compare_scenarios": "sim.compare", "InvariantError": "sim.invariants",
          "MarketModel": "sim.model", "Scenario": "sim.scenario", "ScenarioError": "sim.scenario_files"}


def __getattr__(name: str) -> Any:
    # Imported on first use: `run.py check` and `list` need neither Mesa nor matplotlib, which take seconds to load.
    if name not in _HOMES:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
