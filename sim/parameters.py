"""Flat parameter names for tools that pass keyword arguments (mesa.batch_run, the EMA Workbench).

Each flat name maps to a dotted path of the scenario, as accepted by `--set`. Platforms, lenders and
restructurers are addressed by name: `community_strategy` -> `platforms.community.finance.strategy`.
"""

from __future__ import annotations

from typing import Any

from sim.scenario import Scenario, suggest

FLAT: dict[str, str] = {
    "seed": "seed",
    "days": "days",
    "burn_in_days": "burn_in_days",
    "consumers": "consumers.count",
    "merchants": "merchants.count",
    "rate_cap": "regulation.rate_cap",
    "balance_limit": "regulation.balance_limit",
    "co_lending_min_share": "regulation.co_lending_min_share",
    "shock_rate": "consumers.shock_rate",
    "shock_size": "consumers.shock_size",
    "bnpl_preference": "consumers.bnpl_preference",
    "cash_loan_appetite": "consumers.cash_loan_appetite",
    "willingness": "consumers.willingness",
    "self_cure_rate": "consumers.self_cure_rate",
    "base_risk_logit": "consumers.base_risk_logit",
    "contact_scale_days": "collections.contact_scale_days",
    "complaint_drag": "regulation.complaint_drag",
}
PER_PLATFORM = {
    "strategy": "finance.strategy",
    "bnpl": "finance.bnpl",
    "merchant_loans": "finance.merchant_loans",
    "deposit_cap": "deposit.cap",
    "settlement_sweep": "deposit.settlement_sweep",
    "ad_policy": "restructurer_ad_policy",
    "take_rate": "take_rate",
}
"""`<platform>_<key>`, e.g. `community_deposit_cap`, for every platform of the scenario."""


def flat_names(scenario: Scenario | None = None) -> dict[str, str]:
    """All flat names available for `scenario` (default: the baseline) and their dotted paths."""
    scenario = scenario or Scenario()
    names = dict(FLAT)
    for p in scenario.platforms:
        for key, path in PER_PLATFORM.items():
            names[f"{p.name}_{key}"] = f"platforms.{p.name}.{path}"
    return names


def apply_flat(scenario: Scenario, params: dict[str, Any], label: str = "MarketModel") -> Scenario:
    """A copy of `scenario` with flat parameters applied. An unknown name is a ValueError; a value the schema
    refuses is a `ScenarioError` (a ValueError) with a file's one-line message, naming the parameter as
    `label(name=value)`, e.g. `MarketModel(rate_cap='x'): regulation.rate_cap: 'x' is not a number`."""
    from sim.scenario_files import Layers, validated
    from sim.scenario_files.common import _show

    names = flat_names(scenario)
    layers = Layers()
    layers.data = scenario.model_dump()
    for name, value in params.items():
        if name not in names:
            hint = suggest(name, list(names))
            known = hint or f"; known: {', '.join(sorted(names))}"
            raise ValueError(f"{label}: unknown parameter {name!r}{known}")
        given = f"{label}({name}={_show(value)})"
        layers.python[given] = "keywords"
        _set_path(layers.data, names[name].split("."), value)
        layers._mark(tuple(names[name].split(".")), value, given)  # a refusal names the parameter that set the key
    return validated(layers, f"{label}(...)")


def _set_path(node: Any, parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):  # items addressed by name
        node = next(item for item in node if item["name"] == head)
        return _set_path(node, rest, value) if rest else None
    if not rest:
        node[head] = value
        return None
    return _set_path(node[head], rest, value)
