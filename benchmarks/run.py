"""Benchmark the vectorized MarketModel against the issue's targets and write docs/performance.md.

    python benchmarks/run.py                                  # 10k, 100k, 1M; reference at 10k
    python benchmarks/run.py --sizes 10000,100000 --skip-reference   # quick
    python benchmarks/run.py --reference-sizes 10000,100000   # also the (slow) reference at 100k
    python benchmarks/run.py --repeat 5                       # median of 5 timed runs a size (default 3)

Each size runs in a fresh subprocess, so its peak RSS (`ru_maxrss` of that process) is its own. The
market is `sim.Scenario()` (baseline) with consumers.count = N and merchants.count = N / 50; a run is
the scenario's burn-in (365 days by default) plus `--days` recorded days, and consumer-days count all
simulated days. Timed runs are repeated and reported as medians: on this shared VM the same run took
anywhere from 2.3 to 4.2 s at 10,000 consumers within minutes. The per-stage split comes from one more run
a size with each daily stage function wrapped in a timer (which costs a few % at 10,000 consumers).
Anything in docs/performance.md after the line `<!-- notes -->` is kept when the file is rewritten.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
PARTIAL_DOC = ROOT / "outputs" / "benchmarks" / "performance.md"  # where a run that cannot judge the targets goes
TARGET_SIZES = {10_000, 100_000, 1_000_000}
MERCHANTS_PER_CONSUMER = 1 / 50

# Daily stages of MarketModel.step: (module, attribute path, label). Missing ones are skipped, so the
# benchmark survives changes to the stage list; time not covered by any stage is reported as "other".
STAGES: list[tuple[str, str, str]] = [
    ("sim.model", "MarketModel._new_day", "0 new day"),
    ("sim.model", "apply_events", "1 events"),
    ("sim.households", "payday", "2 payday"),
    ("sim.households", "shocks", "3 shocks"),
    ("sim.shops", "update_demand", "4 shop demand"),
    ("sim.commerce", "visit", "5 visits"),
    ("sim.commerce", "shop", "6 shopping + BNPL"),
    ("sim.commerce", "cash_loans", "7 cash loans"),
    ("sim.shops", "apply_for_loans", "8 shop loans"),
    ("sim.finance.repayment", "consumer_instalments", "9 consumer instalments"),
    ("sim.finance.repayment", "merchant_instalments", "9 shop instalments"),
    ("sim.finance.settlement", "Settlement.release", "10 settlement release"),
    ("sim.finance.settlement", "Settlement.collect_arrears", "10 settlement sweeps"),
    ("sim.finance.settlement", "Settlement.early_warning", "10 early warning"),
    ("sim.shops", "pay_costs_and_close", "11 shop costs/closures"),
    ("sim.finance.intermediaries", "run_day", "12 intermediaries"),
    ("sim.finance.collections", "Collections.run_day", "13 collections"),
    ("sim.model", "MarketModel._books", "14 lender/platform books"),
    ("sim.model", "MarketModel._month_end", "14 month end"),
    ("sim.shops", "open_shops", "15 new shops"),
    ("sim.metrics", "compute", "16 metrics"),
    ("sim.collector", "DailyCollector.collect", "16 data collector"),
]


# --- worker side -------------------------------------------------------------------------------------


def _install_timers(totals: dict[str, float]) -> list[str]:
    """Wrap each stage with a timer that adds to `totals[label]`; return labels not found."""
    missing = []
    for module_name, path, label in STAGES:
        try:
            owner: Any = importlib.import_module(module_name)
            *parents, attr = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            original = getattr(owner, attr)
        except (ImportError, AttributeError):
            missing.append(label)
            continue

        def timed(*args: Any, __f: Callable = original, __label: str = label, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return __f(*args, **kwargs)
            finally:
                totals[__label] += time.perf_counter() - start

        setattr(owner, attr, timed)
    return missing


def _scenario(n: int, days: int, burn_in: int | None) -> Any:
    from sim import Scenario

    s = Scenario()
    s.consumers.count = n
    s.merchants.count = max(1, round(n * MERCHANTS_PER_CONSUMER))
    s.days = days
    if burn_in is not None:
        s.burn_in_days = burn_in
    return s


def worker(kind: str, n: int, days: int, burn_in: int | None, seed: int, profile: bool) -> dict[str, Any]:
    """Build and run one market in this process; return timings and peak RSS."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scenario = _scenario(n, days, burn_in)
    totals: dict[str, float] = defaultdict(float)
    missing = _install_timers(totals) if profile and kind == "vectorized" else []
    if kind == "vectorized":
        from sim import MarketModel

        start = time.perf_counter()
        model = MarketModel(scenario, rng=seed)
        built = time.perf_counter()
        model.run()
        simulated = model.t
    else:
        sys.path.insert(0, str(ROOT))
        from benchmarks.reference_mesa import ReferenceModel

        start = time.perf_counter()
        model = ReferenceModel(scenario, seed)
        built = time.perf_counter()
        model.run()
        simulated = model.t
    done = time.perf_counter()
    return {
        "kind": kind, "n": n, "merchants": scenario.merchants.count, "days": simulated,
        "burn_in": scenario.burn_in_days, "construction_s": built - start, "run_s": done - built,
        "wall_s": done - start, "consumer_days_per_s": n * simulated / max(done - built, 1e-9),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_rss_mb": rss0 / 1024, "stages": dict(totals), "missing_stages": missing,
    }


# --- driver side ---------------------------------------------------------------------------------------


def measure(kind: str, n: int, args: argparse.Namespace, *, profile: bool = False) -> dict[str, Any]:
    """One run in a fresh process; `profile` times the stages (the timers cost a few % at 10,000 consumers,
    so the timed runs go without them)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--n", str(n), "--days", str(args.days),
           "--seed", str(args.seed)]
    if args.burn_in is not None:
        cmd += ["--burn-in", str(args.burn_in)]
    if not profile:
        cmd.append("--no-profile")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    print(f"running {kind} n={n:,}{' with stage timers' if profile else ''} ...", flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} n={n} failed:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  construction {res['construction_s']:.2f} s, run {res['run_s']:.1f} s, "
          f"{res['consumer_days_per_s'] / 1e6:.2f} M consumer-days/s, peak RSS {res['peak_rss_mb']:.0f} MB", flush=True)
    return res


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated runs of one size as one row: median times (this shared VM's speed drifts by tens of % from
    one minute to the next), their range, and the largest peak RSS."""
    out = dict(runs[0])
    for key in ("construction_s", "run_s", "wall_s"):
        out[key] = statistics.median(r[key] for r in runs)
    out["run_min_s"], out["run_max_s"] = min(r["run_s"] for r in runs), max(r["run_s"] for r in runs)
    out["consumer_days_per_s"] = out["n"] * out["days"] / max(out["run_s"], 1e-9)
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    out["repeats"] = len(runs)
    return out


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                      if x.startswith("MemTotal"))
        ram = f"{mem_kb / 1024**2:.1f} GB"
    except (OSError, StopIteration):
        ram = "unknown"
    import mesa
    import numpy

    return {"CPU": cpu, "cores (os.cpu_count)": str(os.cpu_count()), "RAM": ram,
            "Python": platform.python_version(), "NumPy": numpy.__version__, "Mesa": mesa.__version__,
            "OS": platform.platform(), "date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")}


def _verdict(ok: bool | None) -> str:
    return "n/a (not measured)" if ok is None else ("**met**" if ok else "**not met**")


def _run_cell(r: dict[str, Any]) -> str:
    spread = f" [{r['run_min_s']:.1f}-{r['run_max_s']:.1f}]" if r.get("repeats", 1) > 1 else ""
    return f"{r['run_s']:.1f}{spread}"


def report(vec: dict[int, dict], ref: dict[int, dict], profiles: dict[int, dict], args: argparse.Namespace) -> str:
    """The markdown report: timed runs (`vec`, `ref`, each combined over repeats) and stage `profiles`."""
    lines = ["# Performance", "",
             "Generated by `python benchmarks/run.py` "
             f"(`{' '.join(sys.argv[1:]) or 'default options'}`). Baseline market (`sim.Scenario()` defaults), "
             "merchants = consumers / 50, one seed; every run in a fresh process. Times are medians over "
             f"{args.repeat} runs a size (range in brackets), run in turn (each size, then the reference) so that "
             "drift in the machine's speed hits both alike.", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    any_run = next(iter(vec.values()), None) or next(iter(ref.values()), None)
    if any_run:
        lines += ["", f"Simulated days per run: {any_run['days']} "
                  f"({any_run['burn_in']} burn-in + {args.days} recorded)."]
    lines += ["", "## Vectorized model", "",
              "| consumers | merchants | construction (s) | run (s) [range] | wall (s) | consumer-days/s "
              "| peak RSS (MB) |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in sorted(vec.items()):
        lines.append(f"| {n:,} | {r['merchants']:,} | {r['construction_s']:.2f} | {_run_cell(r)} | {r['wall_s']:.1f} "
                     f"| {r['consumer_days_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} |")
    lines += ["", "## Per-agent Mesa reference (`benchmarks/reference_mesa.py`)", ""]
    if ref:
        lines += ["| consumers | construction (s) | run (s) [range] | consumer-days/s | peak RSS (MB) | speed ratio "
                  "(vectorized / reference, per consumer-day) |", "|---:|---:|---:|---:|---:|---:|"]
        for n, r in sorted(ref.items()):
            ratio = vec[n]["consumer_days_per_s"] / r["consumer_days_per_s"] if n in vec else float("nan")
            lines.append(f"| {n:,} | {r['construction_s']:.2f} | {_run_cell(r)} | {r['consumer_days_per_s']:,.0f} "
                         f"| {r['peak_rss_mb']:,.0f} | {ratio:.1f}x |")
    else:
        lines.append("Skipped (`--skip-reference`).")
    skipped = [n for n in (10_000, 100_000) if n not in ref]
    if ref and skipped:
        lines += ["", f"Not run for {', '.join(f'{n:,}' for n in skipped)} consumers (pass `--reference-sizes`)."]
    lines += ["", "## Where the time goes (vectorized, share of run time)", ""]
    sizes = sorted(profiles)
    if profiles:
        lines += ["From one more run a size with a timer around each daily stage (its own run time is the 100%).", ""]
    labels = sorted({k for r in profiles.values() for k in r["stages"]}, key=lambda s: (int(s.split()[0]), s))
    if labels:
        lines += ["| stage | " + " | ".join(f"{n:,}: s (%)" for n in sizes) + " |",
                  "|---|" + "---:|" * len(sizes)]
        for label in labels:
            cells = []
            for n in sizes:
                sec = profiles[n]["stages"].get(label, 0.0)
                cells.append(f"{sec:.2f} ({100 * sec / profiles[n]['run_s']:.0f}%)")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        other = [profiles[n]["run_s"] - sum(profiles[n]["stages"].values()) for n in sizes]
        lines.append("| other (loop, untimed) | " + " | ".join(
            f"{o:.2f} ({100 * o / profiles[n]['run_s']:.0f}%)" for o, n in zip(other, sizes, strict=True)) + " |")
        missing = sorted({m for r in profiles.values() for m in r["missing_stages"]})
        if missing:
            lines += ["", f"Stages not found in the current code (not timed): {', '.join(missing)}."]
    lines += ["", "## Targets (issue 4)", "", "| target | measured | verdict |", "|---|---|---|"]
    big, mid = vec.get(1_000_000), vec.get(100_000)
    ratios = {n: vec[n]["consumer_days_per_s"] / r["consumer_days_per_s"] for n, r in ref.items() if n in vec}
    scale = big["run_s"] / mid["run_s"] if big and mid else None
    rows = [
        ("1M consumers, wall (construction + run) <= 40 s",
         f"{big['wall_s']:.1f} s ({big['days']} days)" if big else "not run", big and big["wall_s"] <= 40),
        ("1M consumers, peak RSS <= 1.5 GB", f"{big['peak_rss_mb'] / 1024:.2f} GB" if big else "not run",
         big and big["peak_rss_mb"] <= 1536),
        (">= 50x faster than the reference per consumer-day",
         ", ".join(f"{v:.1f}x at {n:,}" for n, v in sorted(ratios.items())) or "not run",
         all(v >= 50 for v in ratios.values()) if ratios else None),
        ("time(1M) / time(100k) <= 11 (run time)", f"{scale:.1f}" if scale else "not run",
         scale <= 11 if scale else None),
        ("construction of 1M <= 3 s", f"{big['construction_s']:.2f} s" if big else "not run",
         big and big["construction_s"] <= 3),
    ]
    lines += [f"| {name} | {value} | {_verdict(None if ok is None else bool(ok))} |" for name, value, ok in rows]
    return "\n".join(lines) + "\n"


def default_out(args: argparse.Namespace) -> Path:
    """docs/performance.md only for a run like the committed one (every target size, the reference at 10,000
    consumers, a year of the baseline, the stage profile): a quick look must not replace the measurement of record
    with rows of "not run" (and mark every later run's manifest `-dirty`)."""
    sizes = {int(x) for x in args.sizes.split(",") if x}
    references = set() if args.skip_reference else {int(x) for x in args.reference_sizes.split(",") if x}
    full = (TARGET_SIZES <= sizes and 10_000 in references and args.days == 365 and args.burn_in is None
            and args.seed == 0 and not args.no_profile)
    return DOC if full else PARTIAL_DOC


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="consumer counts, comma-separated")
    ap.add_argument("--reference-sizes", default="10000", help="sizes at which to run the per-agent reference")
    ap.add_argument("--skip-reference", action="store_true", help="do not run the per-agent reference")
    ap.add_argument("--days", type=int, default=365, help="recorded days")
    ap.add_argument("--burn-in", type=int, default=None, help="burn-in days (default: the scenario's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None,
                    help=f"markdown report to write (default: {DOC.relative_to(ROOT)} for a run that measures every "
                         f"target of issue 4 as committed, else {PARTIAL_DOC.relative_to(ROOT)})")
    ap.add_argument("--worker", choices=("vectorized", "reference"), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per size and model (median reported)")
    ap.add_argument("--no-profile", action="store_true", help="do not time the stages")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.days, args.burn_in, args.seed, not args.no_profile)))
        return
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    sizes = [int(x) for x in args.sizes.split(",") if x]
    ref_sizes = [] if args.skip_reference else [int(x) for x in args.reference_sizes.split(",") if x]
    vec_runs: dict[int, list] = {n: [] for n in sizes}
    ref_runs: dict[int, list] = {n: [] for n in ref_sizes}
    for _ in range(args.repeat):
        for n in sizes:
            vec_runs[n].append(measure("vectorized", n, args))
        for n in ref_sizes:
            ref_runs[n].append(measure("reference", n, args))
    profiles = {} if args.no_profile else {n: measure("vectorized", n, args, profile=True) for n in sizes}
    vec = {n: combine(runs) for n, runs in vec_runs.items()}
    ref = {n: combine(runs) for n, runs in ref_runs.items()}
    text = report(vec, ref, profiles, args)
    sys.path.insert(0, str(ROOT))
    from sim.report_notes import keep_notes

    args.out = args.out or default_out(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(keep_notes(text, args.out))
    print(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
