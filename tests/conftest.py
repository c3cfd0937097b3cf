"""Shared helpers: small markets that run in about a second."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sim import MarketModel, Scenario

SMALL = {
    "days": 150,
    "burn_in_days": 60,
    "consumers": {"count": 6000},
    "merchants": {"count": 240},
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def small_scenario(platforms: dict[str, dict[str, Any]] | None = None, **over: Any) -> Scenario:
    """A small market; `platforms` maps a platform name to a nested dict of overrides."""
    scenario = Scenario.model_validate(merge(SMALL, over))
    if platforms:
        data = scenario.model_dump()
        for p in data["platforms"]:
            if p["name"] in platforms:
                p.update(merge(p, platforms[p["name"]]))
        scenario = Scenario.model_validate(data)
    return scenario


_RUNS: dict[str, MarketModel] = {}

TINY_SWEEP = f"""\
name: tiny
base: {Path(__file__).resolve().parent.parent / "scenarios" / "classroom.yaml"}
set: {{consumers.count: 800, merchants.count: 30, days: 20, burn_in_days: 10}}
design: grid
parameters:
  regulation.rate_cap: {{values: [0.12, 0.18, 0.24]}}
  consumers.bnpl_preference: {{values: [0.08, 0.16]}}
replications: 2
seed: 5
kpis: [gmv, orders, bnpl_uptake, loans_originated, charge_off_rate]
series: [day, orders, bnpl_uptake, outstanding_principal]
"""
"""A 12-run grid of tiny classroom markets, for the sweep tests."""


def run_small(seed: int = 1, check: bool = False, platforms: dict | None = None, **over: Any) -> MarketModel:
    """Run a small market; identical requests share one run (tests only read the results)."""
    key = repr((seed, check, platforms, sorted(over.items())))
    if key not in _RUNS:
        _RUNS[key] = MarketModel(small_scenario(platforms, **over), rng=seed, check_invariants=check).run()
    return _RUNS[key]


@pytest.fixture(scope="session")
def baseline_small() -> MarketModel:
    return run_small(seed=7, check=True)
