"""Experiment: does risk-based pricing make the consolidation year (rate cap 24% -> 15%) slow micro-lending?

    python benchmarks/consolidation_turnover.py LABEL SEED [overrides...]
    e.g. ... k0.8 1 lenders.micro_a.risk_pricing=0.8 lenders.micro_a.apr=0.08 (and micro_b, micro_c)
    add --quarters to print each micro-lender's lending, approval rate and leverage room by quarter
    of the consolidation year;
    add --paired to print, per seed 1..SEED, the consolidation year's turnover and exits with and without
    the scenario's events (common random numbers), and the mean turnover ratio;
    add --sector to print the 2024 sector figures (turnover, yield, margin; mean and sd over seeds 1..SEED,
    two recorded years) of the baseline and of the consolidation scenario without its events (overrides
    apply to the latter only): is the consolidation scenario's starting sector the calibrated one?

Prints one JSON line: the baseline sector figures over two recorded years (turnover, revenue yield,
margin) and the consolidation year's turnover and exit share, at 100,000 consumers.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from sim import MarketModel
from sim.scenario_files import load
from sim.validation import measure_seeds, run_measured, sized

N = 100_000


def quarters(overrides: list[str], seed: int) -> None:
    s = sized(load("scenarios/microlender_consolidation.yaml", overrides).scenario, N, seed)
    m = MarketModel(s, rng=seed)
    m.burn_in()
    micro = [lend for lend in m.lender_list if lend.kind in ("micro_lender", "platform")]
    prev = {lend.name: (lend.totals["originated"], lend.approvals, lend.applications) for lend in micro}
    for q in range(4):
        m.run(91)
        print(f"Q{q + 1} cap {m.regulation.rate_cap}")
        for lend in micro:
            o, a, n = prev[lend.name]
            print(f"  {lend.name:13s} lent {(lend.totals['originated'] - o) / 1e6:6.2f}m "
                  f"approved {(lend.approvals - a) / max(lend.applications - n, 1):.2f} book {lend.book / 1e6:6.2f}m "
                  f"room {lend.lending_room() / 1e6:6.2f}m shift {lend.score_shift:.1f}")
            prev[lend.name] = (lend.totals["originated"], lend.approvals, lend.applications)


def paired(overrides: list[str], seeds: int) -> None:
    """How much of the consolidation year's turnover and exits do the events themselves cause?"""
    path = "scenarios/microlender_consolidation.yaml"
    ratios, exits = [], {True: 0.0, False: 0.0}
    for seed in range(1, seeds + 1):
        row = {}
        for events in (True, False):
            m, _ = run_measured(load(path, overrides + ([] if events else ["events=[]"])).scenario, seed, N)
            row[events] = m["micro_turnover"]
            exits[events] += m["lender_exits"]
        ratios.append(row[True] / row[False])
        print(json.dumps({"seed": seed, "turnover": row[True], "turnover_no_events": row[False]}), flush=True)
    print(json.dumps({"mean_ratio": sum(ratios) / len(ratios), "exits": exits[True], "exits_no_events": exits[False]}))


def sector(overrides: list[str], seeds: int) -> None:
    """The 2024 sector figures of the baseline and of the consolidation scenario run without its events."""
    keys = ("micro_turnover", "micro_yield", "micro_net_margin", "lender_exits")
    # overrides go to the consolidation scenario only: its added lenders are not in the baseline
    for name, extra in (("baseline", []), ("microlender_consolidation", ["events=[]", *overrides])):
        runs = measure_seeds(f"scenarios/{name}.yaml", ["days=730", *extra], list(range(1, seeds + 1)), N)
        out = {k: [round(statistics.mean(r[k] for r in runs), 4), round(statistics.stdev(r[k] for r in runs), 4)]
               for k in keys}
        print(json.dumps({"scenario": name, "events": not extra, "seeds": seeds, **out}), flush=True)


def main(label: str, seed: int, overrides: list[str]) -> None:
    if "--quarters" in overrides:
        quarters([o for o in overrides if o != "--quarters"], seed)
        return
    if "--sector" in overrides:
        sector([o for o in overrides if o != "--sector"], seed)
        return
    if "--paired" in overrides:
        paired([o for o in overrides if o != "--paired"], seed)
        return
    out: dict = {"label": label, "seed": seed, "overrides": overrides}
    t = time.time()
    m, _ = run_measured(load("scenarios/baseline.yaml", ["days=730", *overrides]).scenario, seed, N)
    out.update(base_turnover=m["micro_turnover"], base_yield=m["micro_yield"], base_margin=m["micro_net_margin"])
    c, _ = run_measured(load("scenarios/microlender_consolidation.yaml", overrides).scenario, seed, N)
    out.update(cons_turnover=c["micro_turnover"], exit_share=c["lender_exit_share"])
    out["ratio"] = out["cons_turnover"] / out["base_turnover"]
    out["seconds"] = round(time.time() - t, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
