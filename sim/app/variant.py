"""Side-by-side mode: run B is run A with one platform setting changed (on one platform or all).

Both runs use the same seed, so they share their random numbers (common random numbers): any gap
between the curves is the setting's doing, not luck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario import PlatformParams, Scenario

ALL = "all platforms"
STRATEGIES = ["none", "traffic_diversion", "own_license"]
AD_POLICIES = ["allow", "restrict", "ban"]
CHOICES: dict[str, list[str]] = {
    "strategy": STRATEGIES, "bnpl": ["true", "false"], "settlement_sweep": ["true", "false"],
    "ad_policy": AD_POLICIES,
}
"""Settings run B can change, with their values; `deposit_cap` and `cash_flow_cover` take a typed amount."""
SETTINGS = ["strategy", "bnpl", "cash_flow_cover", "deposit_cap", "settlement_sweep", "ad_policy"]
PATHS = {"strategy": "finance.strategy", "bnpl": "finance.bnpl", "cash_flow_cover": "finance.merchant_cash_flow_cover",
         "deposit_cap": "deposit.cap", "settlement_sweep": "deposit.settlement_sweep",
         "ad_policy": "restructurer_ad_policy"}


@dataclass
class Variant:
    """What run B changes: `setting` = `value` on `platform` (a name, or ALL)."""

    platform: str = ""
    setting: str = "strategy"
    value: str = "none"

    def targets(self, scenario: Scenario) -> list[str]:
        names = [p.name for p in scenario.platforms]
        return names if self.platform == ALL else [n for n in names if n == self.platform]

    def overrides(self, scenario: Scenario) -> list[str]:
        return [f"platforms.{name}.{PATHS[self.setting]}={self.value}" for name in self.targets(scenario)]

    def describe(self) -> str:
        return f"{self.platform} {self.setting.replace('_', ' ')} = {self.value}"


def current(platform: PlatformParams, setting: str) -> Any:
    node: Any = platform
    for part in PATHS[setting].split("."):
        node = getattr(node, part)
    return node


def as_text(value: Any) -> str:
    """A value as typed in a field, exactly: `:g` would show seed 20240101 as 2.02401e+07, which the
    field then refuses (a seed is a whole number). Whole floats without a decimal point, others by repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value)


def default_platform(scenario: Scenario) -> str:
    """The first platform that does something with credit (run B can take it away), else the first."""
    busy = [p.name for p in scenario.platforms if p.finance.strategy != "none"]
    return busy[0] if busy else (scenario.platforms[0].name if scenario.platforms else "")


def default_values(scenario: Scenario, platform: str, setting: str) -> list[str]:
    """Values for run B that differ from run A's, most telling first."""
    params = [p for p in scenario.platforms if platform in (ALL, p.name)]
    now = as_text(current(params[0], setting)) if params else ""
    if setting == "deposit_cap":
        return ["0"] if now != "0" else ["20000"]
    if setting == "cash_flow_cover":
        return ["0"] if now != "0" else ["1"]
    order = {"strategy": ["none", "traffic_diversion", "own_license"], "ad_policy": ["ban", "allow", "restrict"]}
    choices = order.get(setting, CHOICES.get(setting, []))
    return [v for v in choices if v != now] or choices


def inert(platform: PlatformParams) -> str | None:
    """Why a platform's finance strategy or BNPL switch, as set, changes nothing in the market (the model's rules,
    `sim.agents.platform`: diversion sends borrowers to partner lenders, checkout BNPL is funded by the platform's
    own lender or its first partner), or None. The dashboard has no control for partners or products, so picking
    traffic_diversion for a platform without them gave a run the same as with none, and no word of it."""
    fin, name = platform.finance, platform.name
    if fin.strategy == "traffic_diversion":
        if not fin.partners:
            return (f"{name}: traffic_diversion changes nothing here: {name} has no partner lenders to send borrowers "
                    f"to (finance.partners in the scenario file; scenarios/community_ads_only.yaml sets them)")
        if not (fin.cash_loans or fin.bnpl or fin.merchant_loans):
            return (f"{name}: traffic_diversion changes nothing here: {name} offers no cash loans, BNPL or shop "
                    f"loans for its partners to make (finance.cash_loans in the scenario file)")
    if fin.bnpl and fin.strategy == "none":
        return (f"{name}: BNPL at checkout changes nothing under strategy none: no lender funds it (it needs "
                f"own_license, or traffic_diversion with partner lenders)")
    return None
