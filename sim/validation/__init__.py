"""Validation against the real market: run the scenario library, measure the figures the source articles
report (docs/sources.md), compare them over seeds and write docs/validation.md.

Each `Figure` names the scenario it is measured in, the real value, a tolerance band with its
justification, and whether the figure was used to fit the defaults (`fitted`) or left out to test.
A figure passes when the model's mean over seeds (or, for a share of rare events, the share pooled over
seeds) lies inside the band.

    figures    the figures, their bands and sources         measures   one run's counterparts of them
    intervals  a figure's verdict over seeds                 series     checks of the daily series
    runs       the runs the figures need, in processes       document   docs/validation.md
"""

from sim.validation.document import interval_figure, report, validate
from sim.validation.figures import FIGURES, LARGE, LIBRARY, LONG, ROOT, Figure, select, with_overrides
from sim.validation.intervals import Result, fmt, overdispersion, pool_rare_shares, pooled_interval, result_of, wilson
from sim.validation.measures import MICRO_KINDS, Snapshot, measure, run_measured, sized, snapshot
from sim.validation.runs import measure_seeds, process_pool, run_validation
from sim.validation.series import STOCK_COLUMNS, Check, series_checks, series_figure

__all__ = [
    "FIGURES", "LARGE", "LIBRARY", "LONG", "MICRO_KINDS", "ROOT", "STOCK_COLUMNS", "Check", "Figure", "Result",
    "Snapshot", "fmt", "interval_figure", "measure", "measure_seeds", "overdispersion", "pool_rare_shares",
    "pooled_interval", "process_pool", "report", "result_of", "run_measured", "run_validation", "select",
    "series_checks", "series_figure", "sized", "snapshot", "validate", "wilson", "with_overrides",
]
