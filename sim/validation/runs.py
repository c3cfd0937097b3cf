"""Running the scenarios the figures need over seeds, spread over worker processes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import nullcontext
from pathlib import Path

import pandas as pd

from sim.pool import process_pool
from sim.scenario import Scenario
from sim.scenario_files import load
from sim.validation.figures import FIGURES, LIBRARY, Figure, with_overrides
from sim.validation.intervals import Result, result_of
from sim.validation.measures import run_measured


def _measure_seed(path: str, overrides: tuple[str, ...], size: int | None, seed: int,
                  series: bool) -> tuple[dict[str, float], pd.DataFrame | None, Scenario | None]:
    """One seed of a scenario file, in a worker process: its measures (and its daily series if asked)."""
    scenario = load(path, list(overrides)).scenario
    values, model = run_measured(scenario, seed, size)
    return values, (model.market_table() if series else None), (model.scenario if series else None)


def measure_seeds(path: str | Path, overrides: list[str], seeds: list[int], consumers: int | None,
                  workers: int | None = None, pool: Executor | None = None) -> list[dict[str, float]]:
    """`measure()` of a scenario file with overrides, one dict per seed (in seed order), seeds run in parallel:
    in `pool` if given (left open, for the caller's next runs), else in a pool of `workers` made for them, or in
    this process when `workers` is 1 or there is one seed."""
    if pool is None and (workers == 1 or len(seeds) == 1):
        return [_measure_seed(str(path), tuple(overrides), consumers, seed, False)[0] for seed in seeds]
    with nullcontext(pool) if pool is not None else process_pool(workers, len(seeds)) as runner:
        futures = [runner.submit(_measure_seed, str(path), tuple(overrides), consumers, seed, False) for seed in seeds]
        return [future.result()[0] for future in futures]


def run_validation(seeds: int, consumers: int | None, progress: Callable[[str], None] | None = None,
                   figures: tuple[Figure, ...] = FIGURES, workers: int | None = None,
                   extra: tuple[str, ...] = ()) -> tuple[list[Result], pd.DataFrame, Scenario]:
    """Run each scenario the figures need over seeds 1..`seeds`, the runs spread over `workers` processes
    (default: one per core), with `extra` overrides added to every run; returns results and one baseline
    series."""
    figures = with_overrides(figures, extra)
    needed = sorted({f.run_key(consumers) for f in figures}, key=repr)
    series_key = ("baseline", tuple(extra), consumers)
    jobs = [(key, seed) for key in needed for seed in range(1, seeds + 1)]
    if series_key not in needed:  # the series figure always comes from the baseline
        jobs.append((series_key, 1))
    measures: dict[tuple[str, tuple[str, ...], int | None], list[dict[str, float]]] = {key: [] for key in needed}
    market, base = pd.DataFrame(), None
    with process_pool(workers, len(jobs)) as pool:
        futures = [pool.submit(_measure_seed, str(LIBRARY / f"{key[0]}.yaml"), *key[1:], seed,
                               key == series_key and seed == 1) for key, seed in jobs]
        for (key, seed), future in zip(jobs, futures, strict=True):  # in submission order: results in seed order
            values, series, scenario = future.result()
            if progress:
                stem, overrides, size = key
                progress(f"{stem} {' '.join(overrides)} {size or 'default'} consumers seed {seed}: done")
            if key in measures:
                measures[key].append(values)
            if series is not None:
                market, base = series, scenario
    assert base is not None
    return [result_of(f, measures[f.run_key(consumers)]) for f in figures], market, base
