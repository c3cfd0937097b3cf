"""The views: status line, live charts, the network, and the followed consumer.

Plain functions called inside the page's render (not components of their own), so the page can catch
anything that goes wrong while drawing them and show a message instead of a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import solara

from sim.app import charts, controls, echarts, events, follow, network, variant
from sim.app.session import Run, Session, whole_text

Apply = Callable[[Callable[[], str | None]], None]


def _chart(key: str, option: dict[str, Any], height: int = 290) -> None:
    points = sum(len(s.get("data", [])) for s in option.get("series", []))
    marks = sum(len(s.get("markLine", {}).get("data", [])) for s in option.get("series", []))
    echarts.figure(option, {"style": f"height: {height}px; width: 100%;", "class": f"chart chart-{key}",
                            "data-chart": key, "data-points": str(points), "data-marks": str(marks)})


def _figures(run: Run, label: str) -> None:
    """One line of figures to date for a run."""
    figures = charts.headline(run)
    if not figures:
        return
    with solara.Row(gap="16px", style={"flex-wrap": "wrap", "padding": "0 8px", "align-items": "baseline"}):
        if label:
            solara.Text(label, style={"font-weight": "600", "min-width": "80px"})
        for name, text in figure_texts(figures):
            solara.Text(f"{name}: {text}", classes=["figure"], style={"font-size": "1.05em"})


def figure_texts(figures: dict[str, float | None]) -> list[tuple[str, str]]:
    """The status line's figures as (name, text); a share with nothing to divide by says so instead of 0%."""
    share, recovered, late = figures["bnpl_share"], figures["recovery_rate"], figures["dpd90"]
    return [
        ("orders", f"{figures['orders']:,.0f}"),
        ("BNPL share", "n/a (no orders yet)" if share is None else f"{100 * share:.1f}%"),
        ("lent to consumers", f"{network.money(figures['lent'])} RMB"),
        ("written off", f"{network.money(figures['written_off'])} RMB"),
        ("recovered", "n/a (nothing written off yet)" if recovered is None else
         f"{100 * recovered:.0f}% of write-offs"),
        ("90+ dpd", "n/a (nothing outstanding)" if late is None else f"{100 * late:.1f}%"),
        ("intermediary clients", f"{figures['clients']:,.0f}"),
    ]


def status(session: Session, playing: bool) -> None:
    """Day counter, state, speed, and a few figures to date for each run."""
    run = session.runs[0]
    # after Pause the play thread finishes its batch: "pausing" until then, so "paused" means the page is still
    state = "finished" if session.finished else "playing" if playing else \
        "pausing" if session.play_threads else "paused"
    with solara.Column(gap="2px", style={"background": "#f4f6f8", "border-radius": "6px", "padding": "4px 0"}):
        with solara.Row(gap="18px", style={"align-items": "baseline", "padding": "0 8px"}):
            solara.Text(f"Day {session.day} of {run.model.scenario.days}", classes=["day-counter"],
                        style={"font-size": "1.6em", "font-weight": "600"})
            solara.Text(state, classes=["run-state"], style={"color": "#666"})
            # only while playing: a paused page has no speed, and a run's short last batch would mislead
            if state == "playing" and session.speed:
                solara.Text(f"{session.speed:.0f} days/s", classes=["speed"], style={"color": "#666"})
            solara.Text("amounts in simulated RMB", style={"color": "#888", "font-size": "0.9em"})
        note = warm_up_note(session)
        if note:
            solara.Text(note, classes=["warm-up-note"], style={"color": "#666", "padding": "0 8px"})
        compare = len(session.runs) > 1
        for r in session.runs:
            _figures(r, f"{r.label} ({'solid' if r.label == 'A' else 'dashed'})" if compare else "")
    if compare:
        a, v = session.runs[0], session.variant
        params = [p for p in a.model.scenario.platforms if p.name in v.targets(a.model.scenario)]
        was = ", ".join(sorted({variant.as_text(variant.current(p, v.setting)) for p in params}))
        solara.Text(f"Side by side, same seed {a.model.scenario.seed}: A (solid) = {v.platform} "
                    f"{v.setting.replace('_', ' ')} {was} · B (dashed) = {v.value}", classes=["compare-legend"],
                    style={"font-size": "1.1em", "font-weight": "600", "color": "#1f4e79", "padding": "2px 8px"})
        if session.same_runs():
            solara.Text(f"Run B is the same as run A ({v.setting.replace('_', ' ')} is already {v.value} in A): "
                        "the dashed lines lie under the solid ones. Change B's value or A's control.",
                        classes=["compare-same"], style={"color": "#8a5a00", "padding": "0 8px"})
    for note in session.inert_settings():
        solara.Text(note, classes=["inert-setting"], style={"color": "#8a5a00", "padding": "0 8px"})


def warm_up_note(session: Session) -> str | None:
    """At day 0 and day 1, what the first Step or Play does: it runs the unrecorded warm-up, then day 1. In a large
    market that takes seconds, after which the charts held one day, which ECharts drew as nothing: the class saw
    a wait and then no activity."""
    burn = session.runs[0].model.scenario.burn_in_days
    if not burn or session.day > 1:
        return None
    if session.day == 0:
        return (f"The first Step or Play runs a {burn}-day warm-up before day 1 (not recorded: it seasons the loan "
                "book); the bigger the market, the longer it takes.")
    return (f"Day 1 follows the {burn}-day warm-up (not recorded): the charts start with day 1's points and draw "
            "lines from day 2.")


def fired_events(session: Session) -> None:
    """The events fired in this run (day, kind, target, value) and the command line that reproduces the run."""
    if not session.fired:
        return
    rows = [(e.day, e.kind, (e.target or events.EVERYONE) if e.kind in events.TARGETS else "-",
             "-" if e.value is None else variant.as_text(e.value)) for e in session.fired]
    with solara.Column(gap="2px", classes=["fired-events"],
                       style={"background": "#fbf1f1", "border-radius": "6px", "padding": "4px 8px"}):
        solara.Text("Events fired in this run (Reset or any control change restarts at day 0 and clears them)",
                    style={"font-weight": "600"})
        with solara.Div(classes=["fired-table"], style={"font-size": "0.9em"}):
            solara.HTML(tag="div", unsafe_innerHTML=_table(EVENT_COLUMNS, rows))
        own = " (its events repeat the scenario's own: --set events= replaces the file's list)" \
            if session.scenario.events else ""
        solara.Text(f"The same run on the command line{own}:", style={"color": "#555"})
        lines = session.command_lines()
        for label, line in lines.items():
            # text, not HTML: Vue escapes it
            solara.v.Html(tag="pre", children=[f"# run {label}\n{line}" if len(lines) > 1 else line],
                          class_="event-command",
                          style_="white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 0.85em;")


EVENT_COLUMNS = (("day", "right"), ("kind", "left"), ("target", "left"), ("value", "left"))


def live_charts(session: Session) -> None:
    # three a row, two where three would be under 270 pixels (`.live-charts` in the page's style)
    with solara.Div(classes=["live-charts"]):
        for key, option in charts.all_charts(session.runs, session.marks()):
            with solara.Card(margin=0):
                _chart(key, option)


def network_view(session: Session) -> None:
    title = "Who pays whom (since day 1, run A)" if len(session.runs) > 1 else "Who pays whom (since day 1)"
    _chart("network", network.option(session.runs[0], title), height=420)


def consumer(session: Session, apply: Apply) -> None:
    """Follow one consumer through purchases, loans, delinquency and collection."""
    run = session.runs[0]
    model = run.model
    i = session.follow_id

    def pick(text: str) -> None:
        try:
            consumer = int(whole_text(str(text).strip()))  # "12.0" is consumer 12, as in the market's fields
        except ValueError:
            apply(lambda: session._fail(f"consumer id: {text!r} is not a whole number"))
            return
        apply(lambda: session.follow(consumer))

    with solara.Row(gap="8px", style={"align-items": "center"}):
        with solara.Div(style={"max-width": "140px"}):
            controls.TextControl("Consumer id", lambda: str(session.follow_id), pick, "consumer-id",
                                 session.follow_id)
        solara.Button("Random borrower", icon_name="mdi-dice-5", outlined=True,
                      on_click=lambda: apply(session.follow_random), classes=["random-borrower"])
        if session.finished and len(run.follow) <= 1:
            hint = "the run has ended: press Reset, then Play, to follow"
        else:
            hint = f"followed since day {run.follow[0]['day']}" if run.follow else "press Step or Play to follow"
        solara.Text(hint, style={"color": "#666"})
    if i >= model.consumers.n:
        return
    info = follow.profile(model, i)
    with solara.Columns([1, 2]):
        with solara.Column(gap="2px"):
            for label, text in info.items():
                solara.Text(f"{label}: {text}", classes=[f"consumer-{label.replace(' ', '-')}"])
        with solara.Column():
            _chart("consumer", follow.option(run), height=220)
    rows = follow.loans(model, i)
    if rows:
        # where each loan stands first, compact cells (the page puts this card below the network where it is narrow)
        cells = [("warm-up" if r["day"] <= 0 else r["day"], r["lender"], STATUS.get(r["status"], r["status"]),
                  r["dpd"], f"{r['principal']:,}", f"{r['owed']:,}", r["via"], r["product"]) for r in rows]
        with solara.Div(classes=["consumer-loans"], style={"overflow-x": "auto", "font-size": "0.9em"}):
            solara.HTML(tag="div", unsafe_innerHTML=_table(LOAN_COLUMNS, cells))
    else:
        solara.Text("No loans yet.", style={"color": "#666"})


LOAN_COLUMNS = (("day taken", "right"), ("lender", "left"), ("status", "left"), ("days overdue", "right"),
                ("principal", "right"), ("owed", "right"), ("via", "left"), ("product", "left"))
STATUS = {"charged_off": "written off", "sold": "sold (NPL)"}
"""Loan statuses in the table's words; "owed" of a loan written off or sold is what is still owed on the claim."""


def _table(columns: tuple[tuple[str, str], ...], rows: list[tuple[Any, ...]]) -> str:
    """A plain HTML table (solara.Markdown would do, but it loads KaTeX from a CDN path Solara does not ship:
    a 404 in the browser's console on every page)."""
    def row(tag: str, values: tuple[Any, ...]) -> str:
        return "<tr>" + "".join(f'<{tag} style="text-align:{align}">{html.escape(str(v))}</{tag}>'
                                for v, (_, align) in zip(values, columns, strict=True)) + "</tr>"
    return (f"<table><thead>{row('th', tuple(name for name, _ in columns))}</thead>"
            f"<tbody>{''.join(row('td', r) for r in rows)}</tbody></table>")
