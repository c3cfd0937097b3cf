"""The revenue chart's colours: every revenue source gets one, however many sources there are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sim.agents.platform import REVENUE_SOURCES
from sim.app import charts

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
