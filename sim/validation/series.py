"""Does the market's daily table look like a market? Checks and a figure of the main series."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.scenario import Scenario

STOCK_COLUMNS = ("outstanding_principal", "consumer_principal", "merchant_principal", "deposits_held",
                 "pending_settlement", "active_merchants", "active_consumers", "restructurer_clients")


# --- daily series -------------------------------------------------------------------------------

Check = tuple[str, bool, str]  # what is checked, whether it holds, the numbers behind it


def series_checks(market: pd.DataFrame, scenario: Scenario) -> list[Check]:
    """Does the market table look like a market? (no negative stocks, no explosion, festival peaks)"""
    checks = []
    negative = [c for c in STOCK_COLUMNS if c in market and (market[c] < -1e-6).any()]
    checks.append(("no negative stocks", not negative, ", ".join(negative) or f"{len(STOCK_COLUMNS)} stocks >= 0"))
    month = 30
    worst = ""
    ok = True
    for col in ("orders", "gmv", "outstanding_principal", "amount_originated", "active_merchants"):
        first, last = float(market[col].iloc[:month].mean()), float(market[col].iloc[-month:].mean())
        growth = last / first if first > 0 else math.inf
        worst += f"{col} x{growth:.2f}; "
        ok &= 0.5 <= growth <= 2.0
    checks.append(("no explosion (last month / first month within 0.5-2x)", ok, worst.strip("; ")))
    # After the burn-in a market with no events should have settled: the shop count is the slowest stock
    # (entry and exit of shops), and it drifted by a third a year before shop demand was mean-reverting.
    shops = market["active_merchants"].astype(float)
    first, last = float(shops.iloc[:month].mean()), float(shops.iloc[-month:].mean())
    drift = last / first if first > 0 else math.inf
    checks.append(("shop count settled after the burn-in (last month / first month within 0.8-1.25)",
                   0.8 <= drift <= 1.25, f"active_merchants x{drift:.2f}"))
    m = scenario.market
    doy = (m.start_day_of_year - 1 + market["day"].to_numpy() - 1) % 365 + 1
    fest = np.isin(doy, m.festival_days)
    if fest.any():
        ratio = float(market.loc[fest, "orders"].mean() / market.loc[~fest, "orders"].mean())
        checks.append(("festival seasonality (orders on festival days / other days > 1.5)", ratio > 1.5,
                       f"x{ratio:.2f} (festival multiplier {m.festival_multiplier})"))
    return checks


def series_figure(market: pd.DataFrame, scenario: Scenario, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [("orders", "orders a day"), ("gmv", "GMV a day (RMB)"), ("amount_originated", "lent a day (RMB)"),
            ("outstanding_principal", "outstanding principal (RMB)"), ("dpd90p_share", "90+ dpd share"),
            ("active_merchants", "active shops"), ("restructurer_clients", "intermediary clients"),
            ("lender_equity", "lender equity (RMB)")]
    fig, axes = plt.subplots(4, 2, figsize=(12, 11), sharex=True)
    m = scenario.market
    doy = (m.start_day_of_year - 1 + market["day"].to_numpy() - 1) % 365 + 1
    festival_days = market["day"].to_numpy()[np.isin(doy, m.festival_days)]
    for ax, (col, label) in zip(axes.flat, cols, strict=True):
        ax.plot(market["day"], market[col], lw=0.8)
        for d in festival_days:
            ax.axvline(d, color="tab:red", alpha=0.3, lw=1)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("recorded day")
    fig.suptitle(f"{scenario.name}: main daily series (seed {scenario.seed}, {scenario.consumers.count:,} "
                 f"consumers); red lines = shopping festivals", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
