"""A Mesa agent-based model of platform finance: platforms, merchants, consumers, lenders and
debt-restructuring intermediaries, day by day."""

from sim.compare import Comparison, compare_scenarios
from sim.invariants import InvariantError
from sim.model import MarketModel
from sim.scenario import Scenario

__all__ = ["Comparison", "InvariantError", "MarketModel", "Scenario", "compare_scenarios"]
