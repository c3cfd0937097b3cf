"""Can the timing of a fall in lending, alone, explain the Guangzhou sector's turnover falling from 2.73 to 2.40?

    python benchmarks/turnover_timing.py [--terms 9]

The seed gives two years of lending (37.09 -> 30.53 bn) and two end-of-year balances (13.568 -> 12.71 bn):
lending fell 18%, the balance 6%. Read as steady states, loans lived about 15% longer in 2025. This script
tries the other reading: loans that live as long in both years (monthly instalments over `--terms` months,
equal principal each month), and a sector whose daily lending fell by a share d at some date in 2024 and
stayed there. It searches the date and d that reproduce both ratios and prints the yearly turnovers
(lending / end balance) that this path gives. Pure arithmetic: no model run.
"""

from __future__ import annotations

import argparse

import numpy as np

LENDING = (37.09, 30.53)  # RMB bn, 2024 and 2025, seed 001
BALANCE = (13.568, 12.71)  # RMB bn at the end of 2024 and 2025


def outstanding(terms: int) -> np.ndarray:
    """Share of a loan's principal still owed on each day after it is made (a month is 30 days)."""
    days = np.arange(terms * 30 + 1)
    return np.clip(1 - np.floor(days / 30) / terms, 0, 1)


def path_figures(before_end: float, fall: float, terms: int) -> tuple[float, float, float, float]:
    """Lending 2025/2024, end balance 2025/2024, turnover 2024 and 2025, for lending that falls by `fall`
    `before_end` years before the end of 2024 (2023 runs in first, at the old level)."""
    t = np.arange(3 * 365)
    lending = np.where(t < 2 * 365 - round(before_end * 365), 1.0, 1.0 - fall)
    balance = np.convolve(lending, outstanding(terms))[: t.size]
    lent = lending[365:730].sum(), lending[730:].sum()
    end = balance[729], balance[-1]
    return lent[1] / lent[0], end[1] / end[0], lent[0] / end[0], lent[1] / end[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=9, help="loan term in months (default 9, the micro-lenders')")
    terms = parser.parse_args().terms
    real = LENDING[1] / LENDING[0], BALANCE[1] / BALANCE[0]
    grid = [(x, d) for x in np.arange(0.0, 1.0, 0.01) for d in np.arange(0.05, 0.5, 0.005)]
    error = [sum((a - b) ** 2 for a, b in zip(path_figures(x, d, terms)[:2], real, strict=True)) for x, d in grid]
    x, d = grid[int(np.argmin(error))]
    lent, end, t24, t25 = path_figures(x, d, terms)
    steady = 365 / outstanding(terms).sum()
    print(f"real: lending x{real[0]:.3f}, end balance x{real[1]:.3f}, turnover {LENDING[0] / BALANCE[0]:.2f} -> "
          f"{LENDING[1] / BALANCE[1]:.2f}")
    print(f"{terms}-month loans, steady-state turnover {steady:.2f}; lending falls {d:.1%} {x:.2f} years "
          f"(~{x * 12:.1f} months) before the end of 2024:")
    print(f"  lending x{lent:.3f}, end balance x{end:.3f}, turnover {t24:.2f} -> {t25:.2f}")


if __name__ == "__main__":
    main()
