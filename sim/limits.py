"""Memory limits: refuse a scenario too large for this machine before building it, with an estimate.

The estimate is a linear model of peak resident memory (RSS), measured on this code base (Python 3.11, the
default market with three platforms and six lenders; see docs/reliability.md for the measurements):

    bytes = BASE + CONSUMER * consumers + MERCHANT * merchants + LOAN * loans + ROW * agent_days

* BASE: the interpreter with numpy, pandas, Mesa and pydantic imported (~200 MB).
* CONSUMER: the consumer arrays, the ledger account and the temporaries of one vectorized day.
* OWN_DEBT: per consumer and lender that sees less than the whole bureau record, the consumer's debt to it
  (`Credit.own_debt`, added after CONSUMER was measured).
* MERCHANT: per starting merchant (arrays at twice the count, shop accounts, the settlement ring).
* LOAN: one row of the loan book (113 bytes of typed arrays), doubled because the book grows by doubling.
* loans = LOANS_PER_CONSUMER_DAY * consumers * (burn_in_days + days) + the same per merchant: the book keeps
  every loan ever made, so it grows with the horizon. The rate is the default market's, which offers BNPL,
  cash loans and shop loans; a market with less credit needs less.
* ROW: the data collector's rows, one per platform and lender per recorded day.

The estimate is 2% to 21% above the measured peak from 50,000 to 1,000,000 consumers (docs/reliability.md)
and errs on the high side for markets with little credit.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.scenario import Scenario
from sim.scenario_files import ScenarioError

MB = 2**20
GB = 2**30
BASE = 200 * MB
CONSUMER = 200  # bytes: 196 measured between 50,000 and 200,000 consumers
# Shop tables below this size are never refused: the guard reads the memory available at that moment, and another
# process's momentary squeeze (MemAvailable near 0) stopped a 17-minute report on a table of 1 MB, which is not the
# runaway entry the guard is for.
GROWTH_FLOOR = 64 * MB
OWN_DEBT = 8  # bytes per consumer and lender of partial bureau visibility (one float64)
MERCHANT = 500  # bytes per starting merchant: 601 measured between 2,000 and 20,000, less their loans
LOAN = 2 * 113  # bytes per loan row, with the doubling headroom
LOANS_PER_CONSUMER_DAY = 0.0015  # measured 0.0013-0.0014 in the default market
LOANS_PER_MERCHANT_DAY = 0.005
ROW = 2000  # bytes per platform or lender per recorded day (Mesa's data collector and the tables)


class MemoryLimitError(ScenarioError):
    """A scenario that would not fit in this machine's memory (one-line message, exit code 2)."""


def loans_expected(scenario: Scenario) -> float:
    """Loans the book is expected to hold at the end of the run."""
    horizon = scenario.burn_in_days + scenario.days
    return horizon * (LOANS_PER_CONSUMER_DAY * scenario.consumers.count
                      + LOANS_PER_MERCHANT_DAY * scenario.merchants.count)


def parts(scenario: Scenario) -> dict[str, float]:
    """The estimate by component, in bytes."""
    from sim.finance.credit import BUREAU_VISIBILITY

    agents = len(scenario.platforms) + len(scenario.lenders)
    partial = sum(BUREAU_VISIBILITY[lend.kind] < 1.0 for lend in scenario.lenders)
    return {
        "base": float(BASE),
        "consumers": float((CONSUMER + OWN_DEBT * partial) * scenario.consumers.count),
        "merchants": float(MERCHANT * scenario.merchants.count),
        "loans": LOAN * loans_expected(scenario),
        "tables": float(ROW * agents * scenario.days),
    }


def estimate_memory(scenario: Scenario) -> int:
    """Peak memory (bytes) a run of `scenario` is expected to need."""
    return int(sum(parts(scenario).values()))


def available_memory() -> int | None:
    """Memory available to a new process now (bytes): /proc/meminfo MemAvailable, else os.sysconf; None if unknown."""
    meminfo = Path("/proc/meminfo")
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _gb(n: float) -> str:
    value = n / GB
    if value >= 10 or value == round(value):
        return f"{value:,.0f}"
    return f"{value:.1f}"


def check_memory(scenario: Scenario, available: int | None = None, label: str = "scenario") -> None:
    """Raise MemoryLimitError if `scenario` needs more memory than is available (default: read from the OS)."""
    available = available_memory() if available is None else available
    need = estimate_memory(scenario)
    if available is None or need <= available:
        return
    p = parts(scenario)
    by_consumers = p["consumers"] + LOAN * LOANS_PER_CONSUMER_DAY * scenario.consumers.count * (
        scenario.burn_in_days + scenario.days)
    if by_consumers >= p["merchants"]:
        key, what = "consumers.count", f"{scenario.consumers.count:,} consumers"
    else:
        key, what = "merchants.count", f"{scenario.merchants.count:,} merchants"
    raise MemoryLimitError(f"{label}: {key}: {what} need about {_gb(need)} GB of memory; "
                           f"this machine has {_gb(available)} GB available")


def check_shop_growth(shops: int, day: int, available: int | None = None, *, settlement_slots: int = 1,
                      checking: bool = False) -> None:
    """Raise MemoryLimitError if the shop arrays, grown (by doubling) to hold `shops`, would not fit in memory:
    shop entry compounds (new shops a day are a share of active shops), so a high `merchants.entry_rate` or
    platform `merchant_growth` can outgrow any machine within weeks, which no estimate made up front can tell
    from an ordinary market. Called only when the arrays are about to grow.

    Each shop also holds a pending-settlement balance per day of the longest settlement delay
    (`settlement_slots` float64s); the invariant checks (`checking`) copy every balance once a day."""
    available = available_memory() if available is None else available
    per_shop = MERCHANT + 8 * settlement_slots * (2 if checking else 1)
    need = 2 * per_shop * shops
    if available is not None and need > max(available, GROWTH_FLOOR):
        raise MemoryLimitError(
            f"merchants.entry_rate: on simulated day {day} (burn-in included) shop entry would grow the shops to "
            f"{shops:,}, which need about {_size(need)} of memory; this machine has {_size(available)} available; "
            "lower merchants.entry_rate or platforms' merchant_growth"
        )


def _size(n: float) -> str:
    return f"{_gb(n)} GB" if n >= GB else f"{n / MB:,.0f} MB"

