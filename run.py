"""Command line of the platform-finance simulator (minimal: run a scenario and print a summary)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from sim import MarketModel, Scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and print a summary")
    run.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml")
    run.add_argument("--seed", type=int)
    run.add_argument("--days", type=int)
    args = parser.parse_args(argv)
    data = yaml.safe_load(Path(args.scenario).read_text(encoding="utf-8")) or {}
    scenario = Scenario.model_validate(data)
    started = time.perf_counter()
    model = MarketModel(scenario, rng=args.seed).run(args.days)
    table = model.market_table()
    print(f"{scenario.name}: {len(table)} days, {len(model.consumers):,} consumers, "
          f"{time.perf_counter() - started:.1f} s")
    print(table[["gmv", "orders", "amount_originated", "charged_off_principal", "recoveries"]].sum().to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
