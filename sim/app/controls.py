"""The control panel: scenario, per-platform settings, market settings, run buttons, side-by-side mode.

Every change is handed to the `Session`, which rebuilds the model or refuses the value with a message.
Each component takes the page's `version` so that it redraws whenever the session changed. Every control
shows the value in force after a change: a refused value does not stay on screen (the message says why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
from solara.components.input import use_change

from sim.app import events, variant
from sim.app.session import Session

STRATEGIES = variant.STRATEGIES
AD_POLICIES = variant.AD_POLICIES
NO_LENDER = "(none)"
Apply = Callable[[Callable[[], str | None]], None]


def shown(session: Session, control: str, platform: str | None = None) -> str:
    """A control's value in force as its field shows it: exactly, so it can be typed back."""
    return variant.as_text(session.value(control, platform))


def _latest(now: Callable[[], Any], submit: Callable[[Any], None]) -> Any:
    """A ref to this render's `now` and `submit`, set before the control's value is brought up to date.

    Bringing it up to date (`use_reactive(now())`: another platform picked in the panel, another scenario) tells the
    widget's handler of the render before, whose `now` and `submit` were for the platform shown then: it took the
    new platform's value for a change and set it on the old one (picking video and then community restarted the run
    with community's BNPL on, without a word). The handler reads this ref instead, so the value it is told of is
    the one in force, and nothing is set."""
    latest = solara.use_ref((now, submit))
    latest.current = (now, submit)
    return latest


@solara.component
def TextControl(label: str, now: Callable[[], str], submit: Callable[[str], None], css: str = "",
                version: int = 0) -> None:
    """A text field for a typed value: on Enter or leaving the field, `submit`; then it shows `now()`,
    the value in force, so a refused value does not linger in the field (the message says why).

    What is typed is kept as it is typed (`text`), so a redraw does not wipe it: `solara.InputText` kept it only in
    the browser until Enter, and every redraw, a few a second while the run played, set the field back to the value
    in force, so nothing could be typed in a field without pausing first."""
    latest = _latest(now, submit)
    text = solara.use_reactive(now())  # the value in force, or what is being typed

    def changed(value: str | None) -> None:
        now, submit = latest.current
        if (value or "") != now():  # else the value in force, or the echo of resetting the field below
            submit(value or "")
        text.set(now())

    field = solara.v.TextField(v_model=text.value, on_v_model=text.set, label=label, class_=css,
                               hide_details="auto")
    use_change(field, changed)  # on Enter and on leaving the field, as solara.InputText


@solara.component
def SelectControl(label: str, values: list[str], now: Callable[[], str], submit: Callable[[str], None],
                  css: str = "", version: int = 0) -> None:
    """A dropdown for a control: on a pick, `submit`; then it shows `now()`, the value in force.

    A plain `solara.Select(value=in_force)` kept showing a refused pick: the value it is given did not change,
    so nothing told the browser's dropdown to go back, and the class watched a run with other settings than
    the panel showed."""
    latest = _latest(now, submit)
    choice = solara.use_reactive(now())

    def changed(value: str | None) -> None:
        now, submit = latest.current
        if value is None or value == now():  # also the echo of resetting the choice below
            return
        submit(value)
        choice.set(now())

    solara.Select(label=label, values=values, value=choice, on_value=changed, classes=[css] if css else [])


@solara.component
def SwitchControl(label: str, now: Callable[[], bool], submit: Callable[[bool], None], css: str = "",
                  version: int = 0) -> None:
    """A switch for a control, showing the value in force after a change (as `SelectControl`)."""
    latest = _latest(now, submit)
    on = solara.use_reactive(now())

    def changed(value: bool) -> None:
        now, submit = latest.current
        if bool(value) == now():
            return
        submit(bool(value))
        on.set(now())

    solara.Switch(label=label, value=on, on_value=changed, classes=[css] if css else [])


@solara.component
def ScenarioControls(session: Session, apply: Apply, version: int = 0) -> None:
    SelectControl("Scenario", list(session.scenarios()), lambda: session.scenario_name,
                  lambda name: apply(lambda: session.choose_scenario(name)), "scenario-select", version)
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
        SelectControl("Finance strategy", STRATEGIES, lambda: session.value("strategy", platform),
                      lambda v: put("strategy", v), "strategy-select", version)
        SelectControl("Licence lender (for own_license)", lenders,
                      lambda: session.value("license_lender", platform) or NO_LENDER,
                      lambda v: put("license_lender", None if v == NO_LENDER else v), "lender-select", version)
        SwitchControl("BNPL at checkout", lambda: bool(session.value("bnpl", platform)), lambda v: put("bnpl", v),
                      "bnpl-switch", version)
        TextControl("Shop-loan cash-flow cover (x instalment, 0 = no test)",
                    lambda: shown(session, "cash_flow_cover", platform), lambda v: put("cash_flow_cover", v),
                    "cash-flow-cover", version)
        TextControl("Deposit cap (RMB)", lambda: shown(session, "deposit_cap", platform),
                    lambda v: put("deposit_cap", v), "deposit-cap", version)
        SwitchControl("Settlement sweep", lambda: bool(session.value("settlement_sweep", platform)),
                      lambda v: put("settlement_sweep", v), "sweep-switch", version)
        SelectControl("Intermediary ad policy", AD_POLICIES, lambda: session.value("ad_policy", platform),
                      lambda v: put("ad_policy", v), "ad-policy-select", version)


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
        session.error = None  # moving on dismisses the last message
        apply(lambda: (session.step(1), None)[1])

    def play_or_pause() -> None:
        session.pause_requested = playing
        if not playing:
            # moving on dismisses the last message; the play thread stops on a message, and an old one
            # (a refused value before Play) stopped it after its first batch
            session.error = None
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
    # switching it on or off restarts the run (A and B start together, on the same seed): the label says so
    SwitchControl("Side by side (run B, same seed; restarts at day 0)", lambda: session.compare,
                  lambda on: apply(lambda: session.set_compare(on)), "compare-switch", version)
    if not (session.compare and names):
        return
    v = session.variant
    with solara.Column(gap="0px", style={"padding-left": "8px", "border-left": "3px dashed #1f4e79"}):
        SelectControl("B changes, on platform", [*names, variant.ALL], lambda: session.variant.platform,
                      lambda p: apply(lambda: session.set_compare(True, platform=p)), "compare-platform", version)
        SelectControl("the setting", variant.SETTINGS, lambda: session.variant.setting,
                      lambda s: apply(lambda: session.set_compare(True, setting=s)), "compare-setting", version)
        if v.setting in variant.CHOICES:
            SelectControl("to", variant.CHOICES[v.setting], lambda: session.variant.value,
                          lambda x: apply(lambda: session.set_compare(True, value=x)), "compare-to", version)
        else:
            TextControl("to", lambda: session.variant.value,
                        lambda x: apply(lambda: session.set_compare(True, value=x)), "compare-value", version)


EVENT_VALUE_LABELS = {"rate_cap": "to (per year, e.g. 0.15)", "balance_limit": "to (RMB a consumer may owe lenders)"}


def event_default(session: Session, kind: str) -> str:
    """What an event's value field starts with: the rule in force in run A (to edit), or the choice that
    changes most."""
    if kind in ("rate_cap", "balance_limit"):
        return variant.as_text(getattr(session.runs[0].model.regulation, kind))
    return {"ad_policy": "ban", "strategy": "none"}.get(kind, "")


@solara.component
def EventControls(session: Session, apply: Apply, version: int = 0) -> None:
    """Fire an event (crackdown, rate cap, ad policy, balance limit, strategy) on the next recorded day of the
    run in progress, without restarting it. The picks are a draft until the button: read when it is pressed."""
    kind = solara.use_reactive(events.KINDS[0])
    target = solara.use_reactive(events.EVERYONE)
    drafts = solara.use_reactive({})  # kind -> the value picked or typed for it

    def value_of(k: str) -> str:
        return drafts.value.get(k, event_default(session, k))

    def put_value(v: str | None) -> None:
        drafts.set({**drafts.value, kind.value: v or ""})

    def fire() -> None:
        k, names = kind.value, events.targets(session.scenario, kind.value)
        aim = target.value if target.value in names else events.EVERYONE
        apply(lambda: session.fire(k, aim, value_of(k) if events.takes_value(k) else None))

    names = events.targets(session.scenario, kind.value)
    both = " in both runs" if len(session.runs) > 1 else ""
    solara.Text("Events (during the run)", style={"font-weight": "600", "margin-top": "8px"})
    with solara.Column(gap="0px", style={"padding-left": "8px", "border-left": "3px solid #c00000"}):
        solara.Select(label="Event", values=events.KINDS, value=kind, classes=["event-kind"])
        if names:
            label = "on platform" if events.TARGETS[kind.value] == "platforms" else "on intermediary"
            solara.Select(label=label, values=names, value=target.value if target.value in names else events.EVERYONE,
                          on_value=target.set, classes=["event-target"])
        if kind.value in events.CHOICES:
            solara.Select(label="to", values=events.CHOICES[kind.value], value=value_of(kind.value),
                          on_value=put_value, classes=["event-choice"])
        elif events.takes_value(kind.value):
            solara.InputText(label=EVENT_VALUE_LABELS[kind.value], value=value_of(kind.value), on_value=put_value,
                             continuous_update=True, classes=["event-value"])
        solara.Button("Apply from tomorrow", icon_name="mdi-flash", color="error", outlined=True, on_click=fire,
                      disabled=session.finished, classes=["event-apply"], style={"margin": "4px 0"})
        when = "The run has ended: press Reset to fire events in a new run." if session.finished else \
            f"Takes effect on day {session.day + 1}{both}, without restarting."
        solara.Text(f"{when} Reset, or any control above, restarts at day 0 and clears the events fired.",
                    classes=["event-note"], style={"font-size": "0.85em", "color": "#555"})
