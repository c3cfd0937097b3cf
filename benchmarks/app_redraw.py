"""How long a dashboard redraw takes at day 30, 365 and 1,000 of a run (the classroom scenario).

    python benchmarks/app_redraw.py            # one run, then side by side (from the repository root)

Two figures a day, each the least of three redraws, each on a new day (the tables are built once a day):
`options`, building every live chart's ECharts option (`charts.all_charts`); `redraw`, a Step pressed in the
page rendered without a browser (`solara.render`): one day of the run(s), then the whole page brought up to date
(reacton comparing each element's props, the widgets' new state). The browser's drawing is not counted.
"""

from __future__ import annotations

import time

import ipyvuetify
import solara

from sim.app import charts, page
from sim.app.session import Session

DAYS = (30, 365, 1000)


def measure(compare: bool) -> None:
    session = Session()
    session.set("days", max(DAYS) + 10)
    if compare:
        session.set_compare(True)
    _, rendered = solara.render(page._Dashboard(session), handle_error=False)
    step = rendered.find(ipyvuetify.Btn, class_="step-button").widget
    for day in DAYS:
        session.step(day - 1 - session.day)
        options, redraws = [], []
        for _ in range(3):
            started = time.perf_counter()
            step.click()  # a new day and the page redrawn (views build the options once more inside)
            redraws.append(time.perf_counter() - started)
            session.step(1)
            started = time.perf_counter()
            charts.all_charts(session.runs, session.marks())
            options.append(time.perf_counter() - started)
        print(f"{'side by side' if compare else 'one run':>12}, day {day:>5}: options {1000 * min(options):5.0f} ms, "
              f"redraw {1000 * min(redraws):5.0f} ms", flush=True)


if __name__ == "__main__":
    measure(False)
    measure(True)
