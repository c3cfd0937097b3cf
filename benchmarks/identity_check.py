"""Check that a change to the code leaves results byte-identical: hash each scenario's outputs.

    python benchmarks/identity_check.py --record /tmp/identity.json    # before a change
    python benchmarks/identity_check.py --compare /tmp/identity.json   # after it: exit 1 on a difference

Every scenario file in scenarios/ and the `sim.Scenario()` defaults run at a reduced size over a few
seeds; the market, lender and platform tables and `sim.results.summarize` are hashed from their raw
bytes (column names, dtypes, values), so any change in any digit shows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = 3000
MERCHANTS = 120
SEEDS = (1, 2, 3)


def _scenarios() -> dict[str, object]:
    from sim import Scenario
    from sim.scenario_files import load

    size = [f"consumers.count={CONSUMERS}", f"merchants.count={MERCHANTS}"]
    out = {path.stem: load(str(path), size).scenario for path in sorted((ROOT / "scenarios").glob("*.yaml"))}
    default = Scenario()
    default.consumers.count = CONSUMERS
    default.merchants.count = MERCHANTS
    out["defaults"] = default
    return out


def table_hash(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(repr(list(df.columns)).encode())
    for col in df.columns:
        values = df[col].to_numpy()
        h.update(str(values.dtype).encode())
        h.update(values.tobytes() if values.dtype.kind in "biuf" else repr(values.tolist()).encode())
    return h.hexdigest()


def run_hashes(name: str, scenario: object, seed: int) -> dict[str, str]:
    from sim import MarketModel
    from sim.results import summarize

    model = MarketModel(scenario, rng=seed).run()
    summary = json.dumps(summarize(model), sort_keys=True)
    return {
        "market": table_hash(model.market_table()),
        "lenders": table_hash(model.lender_table()),
        "platforms": table_hash(model.platform_table()),
        "summary": hashlib.sha256(summary.encode()).hexdigest(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--record", help="write the hashes to this JSON file")
    mode.add_argument("--compare", help="compare with the hashes in this JSON file")
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    scenarios = _scenarios()
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if k in args.only.split(",")}
    expected = json.loads(Path(args.compare).read_text()) if args.compare else {}
    found: dict[str, dict[str, str]] = {}
    failures = 0
    for name, scenario in scenarios.items():
        for seed in SEEDS:
            key = f"{name}/seed{seed}"
            start = time.perf_counter()
            found[key] = run_hashes(name, scenario, seed)
            status = ""
            if args.compare:
                diff = [k for k, v in found[key].items() if expected.get(key, {}).get(k) != v]
                status = "identical" if not diff else f"DIFFERENT: {', '.join(diff)}"
                failures += bool(diff)
            print(f"{key:45s} {time.perf_counter() - start:6.2f}s {status}", flush=True)
    if args.record:
        Path(args.record).write_text(json.dumps(found, indent=1, sort_keys=True))
        print(f"recorded {len(found)} runs in {args.record}")
    else:
        print(f"{len(found) - failures}/{len(found)} runs identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
