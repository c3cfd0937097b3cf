"""The live charts' data: every revenue source gets a colour, however many sources there are; the tables and
points a redraw sends cost no more late in a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.agents.platform import REVENUE_SOURCES
from sim.app import charts, echarts, network, page, tables
from sim.app.session import Session
from sim.model import MarketModel

ROOT = Path(__file__).resolve().parents[1]


def test_any_number_of_sources_get_distinct_colours_the_known_ones_keep_theirs() -> None:
    many = [*REVENUE_SOURCES, *(f"source_{k}" for k in range(40))]
    colors = charts.source_colors(many)
    assert list(colors) == many and len(set(colors.values())) == len(many)
    assert all(colors[s] == charts.FIXED_SOURCE_COLORS[s] for s in REVENUE_SOURCES)
    assert all(len(c) == 7 and c.startswith("#") and int(c[1:], 16) >= 0 for c in colors.values())
    # deterministic, and a source added at the end leaves the others' colours as they were
    assert charts.source_colors(many) == colors and charts.source_colors(many[:10]) == dict(list(colors.items())[:10])
    assert charts.SOURCE_COLORS == charts.source_colors(REVENUE_SOURCES)


# A seventh revenue source added as docs/design.md ("Adding a mechanism", step 5) says: in REVENUE_SOURCES, whence
# the platform table's revenue_<source> column. Done in a fresh interpreter before the dashboard's charts are
# imported, as if the source were in the code: the charts' own code is not touched.
SEVENTH = """
import json
import sim.agents.platform as platform
import sim.metrics as metrics
platform.REVENUE_SOURCES = (*platform.REVENUE_SOURCES, "data_fees")
metrics.PLATFORM_COLUMNS["revenue_data_fees"] = lambda p: 1.0 + p.index  # 1, 2, 3 a day by platform
from sim.app import charts
from sim.app.session import Run
from sim.model import MarketModel
from sim.scenario import Scenario
model = MarketModel(Scenario(days=5, burn_in_days=2, consumers={"count": 300}, merchants={"count": 12}), rng=1)
model.run()
option = charts.revenue([Run("A", model)])
print(json.dumps({"colors": charts.SOURCE_COLORS, "series": option["series"]}))
"""


def test_the_revenue_chart_draws_a_source_it_has_no_fixed_colour_for() -> None:
    out = subprocess.run([sys.executable, "-c", SEVENTH], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]  # importing the dashboard failed with a seventh source
    result = json.loads(out.stdout.splitlines()[-1])
    colors, series = result["colors"], {s["name"]: s for s in result["series"]}
    assert "data_fees" in colors and colors["data_fees"] not in [colors[s] for s in REVENUE_SOURCES]
    assert series["data fees"]["itemStyle"]["color"] == colors["data_fees"]
    # its bars are its column's sums, in thousands: 5 days at 1, 2 and 3 a day
    values = [v["value"] if isinstance(v, dict) else v for v in series["data fees"]["data"]]
    assert values == [0.005, 0.01, 0.015]
    assert len({s["itemStyle"]["color"] for s in series.values()}) == len(series)


def _tables_equal_the_models(runs: list[Any]) -> None:
    for run in runs:
        m = run.model
        for name, full in (("market", MarketModel.market_table), ("platforms", MarketModel.platform_table),
                           ("lenders", MarketModel.lender_table)):
            pd.testing.assert_frame_equal(tables.table(m, name), full(m), check_exact=True)


def test_the_charts_tables_are_extended_by_the_new_days_not_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each redraw rebuilt every table from all the days recorded, a cost that grew with the run (the page redraws
    after every play batch). The tables are now extended by the new days: the same frames as the model's."""
    s = Session()
    assert s.set("days", 60) is None and s.set_compare(True) is None
    for days in (0, 1, 1, 7, 30):
        s.step(days)
        charts.all_charts(s.runs)
        _tables_equal_the_models(s.runs)
    for run in s.runs:  # from here on, a whole table built again fails the test
        for method in ("market_table", "platform_table", "lender_table"):
            monkeypatch.setattr(run.model, method, lambda: pytest.fail("a whole table was built again"))
    s.step(10)
    assert dict(charts.all_charts(s.runs))["orders"]["series"][0]["data"][-1][0] == s.day == 49
    _tables_equal_the_models(s.runs)


def _walked(value: Any) -> int:
    """The values reacton visits in an element's props on every redraw: every list, tuple and dict item."""
    if isinstance(value, dict):
        return 1 + sum(_walked(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return 1 + sum(_walked(v) for v in value)
    return 1


def test_a_chart_sends_each_series_data_as_one_value() -> None:
    """Reacton walks every list in a chart's option, point by point, on each redraw: at day 1,000 side by side
    that took most of half a second a redraw. The page now sends a series' points as JSON text (parsed back by
    the chart's template), so a redraw walks as much at day 300 as at day 30, and the points are the same."""
    pytest.importorskip("solara")
    s = Session()
    assert s.set("days", 400) is None and s.set_compare(True) is None
    walked = []
    for days in (30, 270):
        s.step(days)
        options = [*charts.all_charts(s.runs, s.marks()), ("network", network.option(s.runs[0], "network"))]
        for _, option in options:
            sent = echarts.packed(option)
            assert [json.loads(x["data"]) if isinstance(x["data"], str) else x["data"] for x in sent["series"]] == \
                [x["data"] for x in option["series"]]
        # the live charts (the network's links are the pairs of agents money has flowed between: not days)
        walked.append(sum(_walked(echarts.packed(option)) for _, option in options[:-1]))
    assert walked[0] == walked[1]
    # the page gives the charts' widgets the packed options
    import solara
    _, rendered = solara.render(page._Dashboard(s), handle_error=False)
    widgets = rendered.find(echarts.Chart).widgets
    assert len(widgets) == 11 and all(isinstance(x["data"], str) for w in widgets for x in w.option["series"]
                                      if x.get("data"))
