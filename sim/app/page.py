"""The dashboard page (Solara): controls on the left, status, charts, network and a followed consumer.

The model runs in a play thread in batches (`Session.play_batch`), and the page is redrawn once per
batch, so the simulation keeps its speed however long the browser takes to draw. Any error becomes a
one-line message on the page; tracebacks go to the server log only.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

import solara
from solara.server import kernel_context

from sim.app import controls, views
from sim.app.server import SCENARIO_ENV
from sim.app.session import DEFAULT_SCENARIO, Session
from sim.scenario_files import ScenarioError

log = logging.getLogger("sim.app")


def _guard(session: Session, action: Callable[[], str | None]) -> bool:
    """Run an action; an unexpected exception becomes a message, never a traceback on the page. Whether it ran."""
    try:
        action()
    except Exception as exc:
        log.exception("dashboard action failed")
        session.error = f"That did not work: {type(exc).__name__}: {exc}"
        return False
    return True


# A tab whose page has had no connection this long stops playing. A browser that crashes, is killed or loses the
# network sends no close, and Solara keeps the tab's kernel for a day in case it comes back, so its run would
# otherwise play on to its horizon, a core busy for minutes on a class laptop. Play resumes with the Play button.
UNWATCHED_ENV = "SIM_APP_UNWATCHED_SECONDS"
UNWATCHED_SECONDS = 30.0


class _Watch:
    """Whether anyone still watches a tab: some page of its kernel is connected, or has been within the grace."""

    def __init__(self, context: kernel_context.VirtualKernelContext | None) -> None:
        self.context = context
        self.grace = float(os.environ.get(UNWATCHED_ENV, UNWATCHED_SECONDS))
        self.since: float | None = None

    def gone(self) -> bool:
        if self.context is None:  # rendered outside a server (tests): nothing to watch
            return False
        with self.context.lock:
            connected = kernel_context.PageStatus.CONNECTED in self.context.page_status.values()
        if connected:
            self.since = None
            return False
        now = time.monotonic()
        self.since = now if self.since is None else self.since
        return now - self.since >= self.grace


def _context() -> kernel_context.VirtualKernelContext | None:
    try:
        return kernel_context.get_current_context()
    except RuntimeError:
        return None


def _open(path: str) -> Session | str:
    """The tab's session, or the one line saying why the file cannot be played: it was checked when the app
    started, but may have been edited since (broken, or beyond what the page plays), and a tab opened then showed a
    traceback."""
    try:
        return Session(path)
    except (ScenarioError, ValueError) as exc:
        return f"{exc} (fix the file, then reload the page)"


@solara.component
def Page() -> None:
    opened = solara.use_memo(lambda: _open(os.environ.get(SCENARIO_ENV, str(DEFAULT_SCENARIO))), [])
    if isinstance(opened, str):
        solara.Error(opened, classes=["app-message"])
    else:
        _Dashboard(opened)


@solara.component
def _Dashboard(session: Session) -> None:
    solara.use_effect(lambda: session.close, [])  # on unmount (the tab closed or was culled)
    version, set_version = solara.use_state(0)  # bumped after every change: children redraw
    playing, set_playing = solara.use_state(False)

    def redraw() -> None:
        set_version(lambda v: v + 1)

    def apply(action: Callable[[], str | None]) -> None:
        with session.hold():  # ahead of the play thread: it ends its batch at the next day
            _guard(session, action)
        redraw()

    context = _context()

    def loop(cancel: threading.Event) -> None:
        if not playing:
            return
        watch = _Watch(context)
        with session.play_threads_lock:  # "paused" is shown only once no play thread is left
            session.play_threads += 1
        generation = session.generation  # the runs this thread plays: a rebuild (Reset, a control) ends it
        session.start_playing()
        try:
            while not (cancel.is_set() or session.pause_requested):
                played = _guard(session, lambda: (session.play_batch(generation=generation), None)[1])
                redraw()
                # a batch that failed stops the play; a message of a control (a value refused while playing) does
                # not: the run in progress is left alone (it paused it)
                if session.finished or not played or session.generation != generation:
                    set_playing(False)
                    return
                session.wait_drawn(timeout=1.0)  # play on once the page shows this batch (see Session.wait_drawn)
                if watch.gone():
                    print(f"a tab stopped playing on day {session.day}: no page connected to it for "
                          f"{watch.grace:g} s (its browser closed without a word); Play goes on", file=sys.stderr,
                          flush=True)
                    session.pause_requested = True
                    break
                cancel.wait(0.01)
            if session.pause_requested:
                set_playing(False)
        finally:
            with session.play_threads_lock:
                session.play_threads -= 1
            redraw()

    solara.use_thread(loop, dependencies=[playing], intrusive_cancel=False)

    solara.Title("Platform finance classroom")
    # the message sticks to the top of the view: a value refused in a control low down is seen, not scrolled away
    solara.Style(".v-card { overflow: hidden; } .solara-echarts { min-width: 0; } "
                 ".app-message { position: sticky; top: 4px; z-index: 5; box-shadow: 0 2px 6px rgba(0,0,0,.25); } "
                 ".app-message.v-alert { background-color: #fff !important; } "  # opaque over what it covers
                 ".consumer-loans th, .consumer-loans td, .fired-table th, .fired-table td "
                 "{ padding: 2px 6px !important; height: auto !important; } "
                 ".consumer-loans td, .fired-table td { white-space: nowrap; } "
                 ".consumer-loans table, .fired-table table { border-collapse: collapse; } "
                 ".consumer-loans th, .fired-table th { font-weight: 600; border-bottom: 1px solid #ccc; } "
                 ".consumer-loans tbody tr:nth-child(odd) { background: #f5f5f5; } "
                 ".lower-views { display: grid; gap: 8px; "
                 "grid-template-columns: repeat(auto-fit, minmax(min(640px, 100%), 1fr)); } "
                 ".lower-views > * { min-width: 0; } "
                 # three charts a row; two where three would be under 270 pixels (a 1024-pixel projector: titles
                 # were cut off, day ticks ran together, Lesson 1's revenue bars were a few pixels long)
                 ".live-charts { display: grid; gap: 8px; "
                 "grid-template-columns: repeat(auto-fit, minmax(max(270px, calc((100% - 16px) / 3)), 1fr)); } "
                 ".live-charts > * { min-width: 0; }")
    with solara.Row(gap="12px", style={"align-items": "flex-start", "padding": "8px"}):
        with solara.Column(gap="4px", style={"width": "300px", "min-width": "300px", "flex": "0 0 300px"}):
            solara.HTML(tag="h3", unsafe_innerHTML="Platform finance classroom", style={"margin": "4px 0 8px"})
            controls.RunButtons(session, playing, set_playing, apply, version)
            controls.ScenarioControls(session, apply, version)
            controls.PlatformControls(session, apply, version)
            controls.MarketControls(session, apply, version)
            controls.CompareControls(session, apply, version)
            controls.EventControls(session, apply, version)
        with solara.Column(gap="8px", style={"flex": "1 1 auto", "min-width": "0"}):
            if session.error:
                solara.Error(session.error, classes=["app-message"])
            # keyed: a message appearing above does not make it a new element (that rebuilt every chart)
            _Body(session, playing, apply, version).key("body")


@solara.component
def _Body(session: Session, playing: bool, apply: Callable[[Callable[[], str | None]], None], version: int) -> None:
    """Everything right of the controls; `version` only makes it redraw when the session changed.

    Drawn under the session's lock: the play thread holds it one day at a time, so the views never
    read a model halfway through a day (tables of unequal length, dicts changing size)."""
    drawn = (session.generation, session.day)
    try:
        with session.hold():
            drawn = (session.generation, session.day)  # what this drawing shows
            views.status(session, playing)
            views.fired_events(session)
            views.live_charts(session)
            # side by side where both have room, else one above the other: at 1280 pixels the followed consumer's
            # loan table, in half the width, lost its last column
            with solara.Div(classes=["lower-views"]):
                with solara.Card(margin=0):
                    views.network_view(session)
                with solara.Card("Follow one consumer", margin=0):
                    views.consumer(session, apply)
    except Exception as exc:  # a drawing bug must not show a traceback
        log.exception("dashboard view failed")
        solara.Error(f"This view could not be drawn: {type(exc).__name__}: {exc}", classes=["app-message"])
    # once the drawing is committed (an effect, on every render): the play thread waits for it before playing on
    solara.use_effect(lambda: session.mark_drawn(drawn), None)
