"""Sweep throughput: classroom.yaml runs per minute on an embedded Dask LocalCluster of 1 and 2 workers.

    python benchmarks/sweep_throughput.py                    # 16 runs per setting, prints a table
    python benchmarks/sweep_throughput.py --runs 24 --write  # also writes docs/performance_sweeps.md

Each setting starts its cluster, warms every worker up with one run (imports, first-call costs), then
times `--runs` runs (distinct seeds) through the same code path as `run.py sweep` (worker writes Parquet
and manifest record per run). Parallel efficiency at n workers = rate(n) / (n x rate(1 worker)), and
also against n x one process without Dask. The machine's
load average is recorded with the figures: on a shared machine other processes take cores too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.sweep import runner  # noqa: E402
from sim.sweep.plan import Plan, load_sweep  # noqa: E402
from sim.sweep.store import Store  # noqa: E402
from sim.sweep.worker import execute  # noqa: E402

SWEEP = """\
name: throughput
base: {base}
design: grid
parameters:
  regulation.rate_cap: {{values: [0.24]}}
replications: {runs}
seed: 1
"""


def plan_of(folder: Path, runs: int) -> Plan:
    path = folder / "throughput.yaml"
    path.write_text(SWEEP.format(base=ROOT / "scenarios" / "classroom.yaml", runs=runs))
    return load_sweep(str(path))


def measure(workers: int, runs: int) -> dict[str, float]:
    """Runs per minute with `workers` worker processes (after one warm-up run per worker)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plan = plan_of(folder, runs + workers)
        store = runner.prepare(plan, folder / "out", resume=False)
        tasks = [runner.task_of(plan, store, r) for r in plan.unique()]
        started = time.perf_counter()
        with runner.connect(workers, None) as client:
            ready = time.perf_counter()
            addresses = list(client.scheduler_info()["workers"])
            warm = [client.submit(execute, t, workers=[a], pure=False) for t, a in zip(tasks, addresses, strict=False)]
            client.gather(warm)
            timed = time.perf_counter()
            results = client.gather(client.map(execute, tasks[workers:], pure=False))
            wall = time.perf_counter() - timed
        assert all(r["status"] == "done" for r in results), results
        assert all(Store(folder / "out").read_meta(t["id"]) is not None for t in tasks)
    return {"workers": workers, "runs": runs, "startup_s": ready - started, "wall_s": wall,
            "per_minute": 60 * runs / wall}


def serial(runs: int) -> float:
    """Runs per minute in one process without Dask (the model alone)."""
    from sim.sweep.worker import simulate

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_of(Path(tmp), runs + 1)
        tasks = [runner.task_of(plan, Store(tmp), r) for r in plan.unique()]
        simulate(tasks[0])
        started = time.perf_counter()
        for t in tasks[1:]:
            simulate(t)
        return 60 * runs / (time.perf_counter() - started)


def report(rows: list[dict[str, float]], serial_rate: float, load: tuple[float, float, float]) -> str:
    base = rows[0]["per_minute"]
    lines = [
        "# Sweep throughput", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python benchmarks/sweep_throughput.py "
        f"{' '.join(sys.argv[1:])}` on {os.cpu_count()} cores ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}). Load average before the runs: "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min).", "",
        "`scenarios/classroom.yaml` (5,000 consumers, 150 shops, 60 burn-in + 180 recorded days), distinct seeds, "
        "each run's series and KPIs written to Parquet by the worker, as in `run.py sweep`. One warm-up run per "
        "worker is not timed; cluster start-up is shown separately.", "",
        "| setting | runs | wall (s) | runs per minute | parallel efficiency (vs 1 worker) | "
        "vs n x one process without Dask | cluster start-up (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| one process, no Dask | {rows[0]['runs']:.0f} | {60 * rows[0]['runs'] / serial_rate:.1f} | "
        f"{serial_rate:.1f} | - | - | - |",
    ]
    for r in rows:
        eff = r["per_minute"] / (r["workers"] * base)
        strict = r["per_minute"] / (r["workers"] * serial_rate)
        lines.append(f"| LocalCluster, {r['workers']:.0f} worker{'s' if r['workers'] > 1 else ''} | {r['runs']:.0f} | "
                     f"{r['wall_s']:.1f} | {r['per_minute']:.1f} | {100 * eff:.0f}% | {100 * strict:.0f}% | "
                     f"{r['startup_s']:.1f} |")
    if load[0] > (os.cpu_count() or 1):
        lines += ["", f"**The machine was busy** (load average {load[0]:.1f} on {os.cpu_count()} cores: other "
                  "processes were competing for the cores), so these figures understate throughput and parallel "
                  "efficiency. Rerun on an idle machine for the real figures."]
    lines += ["", "Parallel efficiency at n workers = rate(n) / (n x rate(1 worker)); the stricter column divides by "
              "n x the rate of one plain process, so it also charges Dask's own overhead. Efficiency below 100% at "
              "2 workers on a 2-core machine comes from the driver, the scheduler and anything else running on the "
              "cores. Workers run with Dask's statistical profiler off (as `run.py sweep` starts them): with it on, "
              "a run took about twice as long.", ""]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=16, help="timed runs per setting (default 16)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="settings to measure (default 1 2)")
    p.add_argument("--write", action="store_true", help="write docs/performance_sweeps.md")
    args = p.parse_args()
    load = os.getloadavg()
    serial_rate = serial(args.runs)
    print(f"serial: {serial_rate:.1f} runs/min", flush=True)
    rows = []
    for n in args.workers:
        rows.append(measure(n, args.runs))
        print(f"{n} worker(s): {rows[-1]['per_minute']:.1f} runs/min", flush=True)
    text = report(rows, serial_rate, load)
    print(text)
    if args.write:
        (ROOT / "docs" / "performance_sweeps.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
