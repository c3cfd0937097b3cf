"""The control panel: scenario, per-platform settings, market settings, run buttons, side-by-side mode.

Every change is handed to the `Session`, which rebuilds the model or refuses the value with a message.
Each component takes the page's `version` so that it redraws whenever the session changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara

from sim.app import variant
from sim.app.session import Session, library

STRATEGIES = variant.STRATEGIES
AD_POLICIES = variant.AD_POLICIES
NO_LENDER = "(none)"
Apply = Callable[[Callable[[], str | None]], None]


def shown(session: Session, control: str, platform: str | None = None) -> str:
    """A control's value in force as its field shows it: exactly, so it can be typed back."""
    return variant.as_text(session.value(control, platform))


@solara.component
def TextControl(label: str, now: Callable[[], str], submit: Callable[[str], None], css: str = "",
                version: int = 0) -> None:
    """A text field for a typed value: on Enter or leaving the field, `submit`; then it shows `now()`,
    the value in force, so a refused value does not linger in the field (the message says why)."""
    text = solara.use_reactive(now())

    def changed(value: str | None) -> None:
        if (value or "") == now():  # also the echo of resetting the field below
            return
        submit(value or "")
        text.set(now())

    solara.InputText(label=label, value=text, on_value=changed, classes=[css] if css else [])


@solara.component
def ScenarioControls(session: Session, apply: Apply, version: int = 0) -> None:
    solara.Select(label="Scenario", values=library(), value=Path(session.path).name,
                  on_value=lambda name: apply(lambda: session.choose_scenario(name)))
    solara.Text(session.scenario.description or session.scenario.name, style={"font-size": "0.85em", "color": "#555"})


@solara.component
def PlatformControls(session: Session, apply: Apply, version: int = 0) -> None:
    names = [p.name for p in session.scenario.platforms]
    platform, set_platform = solara.use_state(names[0] if names else "")
    if platform not in names:
        if not names:
            solara.Text("This scenario has no platforms.")
            return
        platform = names[0]
    lenders = [NO_LENDER, *(lend.name for lend in session.scenario.lenders)]

    def put(control: str, value: Any) -> None:
        apply(lambda: session.set(control, value, platform))

    solara.Select(label="Platform", values=names, value=platform, on_value=set_platform,
                  classes=["platform-select"])
    with solara.Column(gap="0px", style={"padding-left": "8px", "border-left": "3px solid #f28e2b"}):
        solara.Select(label="Finance strategy", values=STRATEGIES, value=session.value("strategy", platform),
                      on_value=lambda v: put("strategy", v), classes=["strategy-select"])
        lender = session.value("license_lender", platform) or NO_LENDER
        solara.Select(label="Licence lender (for own_license)", values=lenders, value=lender,
                      on_value=lambda v: put("license_lender", None if v == NO_LENDER else v))
        solara.Switch(label="BNPL at checkout", value=bool(session.value("bnpl", platform)),
                      on_value=lambda v: put("bnpl", v))
        TextControl("Shop-loan cash-flow cover (x instalment, 0 = no test)",
                    lambda: shown(session, "cash_flow_cover", platform), lambda v: put("cash_flow_cover", v),
                    "cash-flow-cover", version)
        TextControl("Deposit cap (RMB)", lambda: shown(session, "deposit_cap", platform),
                    lambda v: put("deposit_cap", v), "deposit-cap", version)
        solara.Switch(label="Settlement sweep", value=bool(session.value("settlement_sweep", platform)),
                      on_value=lambda v: put("settlement_sweep", v))
        solara.Select(label="Intermediary ad policy", values=AD_POLICIES, value=session.value("ad_policy", platform),
                      on_value=lambda v: put("ad_policy", v))


@solara.component
def MarketControls(session: Session, apply: Apply, version: int = 0) -> None:
    def put(control: str) -> Callable[[str], None]:
        return lambda v: apply(lambda: session.set(control, v))

    def field(label: str, control: str) -> None:
        TextControl(label, lambda: shown(session, control), put(control), control.replace("_", "-"), version)

    field("Rate cap (per year, e.g. 0.24)", "rate_cap")
    with solara.Row(gap="8px"):
        field("Consumers", "consumers")
        field("Seed", "seed")
        field("Days", "days")


@solara.component
def RunButtons(session: Session, playing: bool, set_playing: Callable[[bool], None], apply: Apply,
               version: int = 0) -> None:
    def step() -> None:
        apply(lambda: (session.step(1), None)[1])

    def play_or_pause() -> None:
        session.pause_requested = playing
        set_playing(not playing)

    def reset() -> None:
        set_playing(False)
        apply(session.rebuild)

    with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
        solara.Button("Step", icon_name="mdi-step-forward", on_click=step, disabled=playing or session.finished,
                      classes=["step-button"])
        solara.Button("Pause" if playing else "Play", icon_name="mdi-pause" if playing else "mdi-play",
                      color="primary", on_click=play_or_pause, disabled=session.finished,
                      classes=["play-button"])
        solara.Button("Reset", icon_name="mdi-restart", on_click=reset, classes=["reset-button"])


@solara.component
def CompareControls(session: Session, apply: Apply, version: int = 0) -> None:
    names = [p.name for p in session.scenario.platforms]
    solara.Switch(label="Side by side (run B, same seed)", value=session.compare,
                  on_value=lambda on: apply(lambda: session.set_compare(on)), classes=["compare-switch"])
    if not (session.compare and names):
        return
    v = session.variant
    with solara.Column(gap="0px", style={"padding-left": "8px", "border-left": "3px dashed #1f4e79"}):
        solara.Select(label="B changes, on platform", values=[*names, variant.ALL], value=v.platform,
                      on_value=lambda p: apply(lambda: session.set_compare(True, platform=p)))
        solara.Select(label="the setting", values=variant.SETTINGS, value=v.setting,
                      on_value=lambda s: apply(lambda: session.set_compare(True, setting=s)))
        if v.setting in variant.CHOICES:
            solara.Select(label="to", values=variant.CHOICES[v.setting], value=v.value,
                          on_value=lambda x: apply(lambda: session.set_compare(True, value=x)))
        else:
            TextControl("to", lambda: session.variant.value,
                        lambda x: apply(lambda: session.set_compare(True, value=x)), "compare-value", version)
