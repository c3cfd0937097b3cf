"""Rules that change during a run: timed events (crackdowns, new rate caps, ad bans, strategy changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.scenario import Event

if TYPE_CHECKING:
    from sim.model import MarketModel


def apply_events(model: MarketModel, day: int) -> list[Event]:
    """Apply the events scheduled for recorded day `day`; return them."""
    fired = [e for e in model.scenario.events if e.day == day]
    for event in fired:
        apply_event(model, event)
    return fired


def apply_event(model: MarketModel, event: Event) -> None:
    if event.kind == "crackdown":
        for r in model.restructurer_list:
            if event.target in (None, r.name):
                r.crack_down()
    elif event.kind == "rate_cap":
        model.regulation.rate_cap = float(event.value)
    elif event.kind == "balance_limit":
        model.regulation.balance_limit = float(event.value)
    elif event.kind == "ad_policy":
        for p in model.platform_list:
            if event.target in (None, p.name):
                p.restructurer_ad_policy = str(event.value)
    elif event.kind == "strategy":
        for p in model.platform_list:
            if event.target in (None, p.name):
                p.strategy = str(event.value)
