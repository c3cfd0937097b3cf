"""Validation against the real market: run the scenario library, measure the figures the source articles
report (docs/sources.md), compare them over seeds and write docs/validation.md.

Each `Figure` names the scenario it is measured in, the real value, a tolerance band with its
justification, and whether the figure was used to fit the defaults (`fitted`) or left out to test.
A figure passes when the model's mean over seeds (or, for a share of rare events, the share pooled over
seeds) lies inside the band.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.compare import interval, t95
from sim.report_notes import keep_notes
from sim.scenario import Scenario
from sim.scenario_files import load

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "scenarios"
MICRO_KINDS = ("micro_lender", "platform")  # online micro-loan licensees
STOCK_COLUMNS = ("outstanding_principal", "consumer_principal", "merchant_principal", "deposits_held",
                 "pending_settlement", "active_merchants", "active_consumers", "restructurer_clients")


@dataclass(frozen=True)
class Figure:
    """A real-world figure, where the model shows it, and how close is close enough."""

    key: str  # a key of `measure()`'s result
    label: str
    scenario: str  # stem of a scenarios/*.yaml file
    real: float
    low: float
    high: float
    source: str
    tolerance: str  # why the band is what it is
    fitted: bool  # used to set the defaults (True) or left out to test (False)
    percent: bool = True
    overrides: tuple[str, ...] = ()  # applied to the scenario for this figure's runs
    consumers: int | None = None  # this figure's own population (else the validation's)
    # A share of rare events: keys of `measure()` giving (hits, trials) per run, pooled over seeds with a
    # Wilson interval instead of averaging noisy per-seed ratios. A mean of per-seed ratios weighs a seed with
    # few trials like one with many, and is biased when the two move together (lender exits: see the notes).
    pooled: tuple[str, str] | None = None
    name: str = ""  # how the report names the figure when `key` is measured in more than one scenario

    @property
    def id(self) -> str:
        return self.name or self.key

    def run_key(self, consumers: int | None) -> tuple[str, tuple[str, ...], int | None]:
        return self.scenario, self.overrides, self.consumers or consumers

    @property
    def where(self) -> str:
        extra = list(self.overrides) + ([f"{self.consumers:,} consumers"] if self.consumers else [])
        return self.scenario + (f" ({', '.join(extra)})" if extra else "")

    def passes(self, mean: float) -> bool:
        return self.low <= mean <= self.high


LONG = ("days=730",)  # two recorded years: enough delinquency spells reach 12 months to measure reachability
LARGE = 100_000  # consumers: a year-long delinquency spell is rare (a few hundred per run at this size), and a
# lender's margin is a small residual of its flows: at 20,000 consumers the sector is a few hundred loans a lender
FIGURES: tuple[Figure, ...] = (
    Figure("reachable_6m", "reachable borrowers at 6 months overdue", "baseline", 0.15, 0.125, 0.175,
           "seed 000", "the seed quotes a round 15%: rounding to the nearest 5 points means +/-2.5 pp", True,
           overrides=LONG, consumers=LARGE, pooled=("reach_6m_hits", "reach_6m_spells")),
    Figure("reachable_12m", "reachable borrowers at 12 months overdue", "baseline", 0.05, 0.025, 0.075,
           "seed 000", "the seed quotes a round 5%: rounding to the nearest 5 points means +/-2.5 pp", True,
           overrides=LONG, consumers=LARGE, pooled=("reach_12m_hits", "reach_12m_spells")),
    Figure("npl_recovery", "principal recovered from NPL sales (sale price / unpaid principal transferred)",
           "baseline", 0.094, 0.069, 0.10, "NPL pilot 8.19% (2022), 9.4% (Q3 2024), 6.9% (Q1 2025); ~10% (seed 000)",
           "the span of the reported figures, 6.9%-10%", True),
    Figure("micro_turnover", "micro-lender lending turnover (lending a year / average balance)", "baseline", 2.73,
           2.3, 2.8, "Guangzhou micro-lenders: 37.09 / 13.568 (2024); 30.53 / 12.71 (2025), seed 001",
           "2024 on end balance 2.73; 2025 on end balance 2.40 and on mean balance 2.32", True, percent=False,
           overrides=LONG, consumers=LARGE),
    Figure("micro_yield", "micro-lender revenue yield (interest a year / average balance)", "baseline", 0.113,
           0.10, 0.125, "Guangzhou micro-lenders: revenue 1.53 / balance 13.568 (2024), seed 001",
           "balance is an end-of-year stock that moved 6% in a year: about +/-10% relative", True,
           overrides=LONG, consumers=LARGE),
    Figure("micro_net_margin", "micro-lender pre-tax margin (change in equity / interest)", "baseline",
           0.098 / 0.75 / 1.53, 0.05, 0.12,
           "Guangzhou micro-lenders: net profit 0.098 / revenue 1.53 (2024), seed 001; the model has no income tax, "
           "so net profit is grossed up by China's 25% corporate income tax: 0.131 / 1.53 = 8.5%",
           "a residual ~12x smaller than revenue: 1 pp of loss rate moves it ~9 pp; band +/-3.5 pp is tight",
           True, overrides=LONG, consumers=LARGE),
    Figure("micro_turnover", "micro-lender lending turnover in the consolidation year (2025)",
           "microlender_consolidation", 30.53 / 12.71, 2.1, 2.6,
           "Guangzhou micro-lenders 2025: lending 30.53 / end balance 12.71, seed 001 (2.32 on the mean balance)",
           "2.40 on the end balance and 2.32 on the mean balance, +/-10% around them for one sector's yearly ratio",
           False, percent=False, consumers=LARGE, name="consolidation_turnover"),
    Figure("lender_exit_share", "lenders exiting in a year of consolidation (share of micro-lenders)",
           "microlender_consolidation", 7 / 36, 0.098, 0.35, "Guangzhou: 36 -> 29 online micro-lenders, seed 001",
           "7 of 36 is one draw: its 95% binomial (Wilson) interval is 9.8%-35%", True, consumers=LARGE,
           pooled=("lender_exits", "lender_exit_base")),
    Figure("video_buyers_per_dau", "monthly buyers / daily active users, video platform", "baseline", 134 / 409,
           0.28, 0.38, "Kuaishou Q2 2025: 134 m monthly buyers, 409 m DAU, seed 001",
           "one quarter's ratio of two differently defined KPIs (monthly vs daily): +/-15% relative", True),
    Figure("video_gmv_per_buyer", "GMV per monthly buyer, video platform (RMB a month)", "baseline", 893.0, 800.0,
           980.0, "Kuaishou Q2 2025: RMB 358.9 bn / 3 months / 134 m buyers; Q3 385.0 bn gives ~958",
           "Q2 893 vs Q3 958 (at Q2 buyers): +/-10% around Q2", True, percent=False),
    Figure("entertainment_finance_share", "finance share of the entertainment platform's revenue",
           "entertainment_traffic_finance", 0.103, 0.0902, 0.1156,
           "iQiyi 'other revenue' (mostly credit): 9.02% (end-2023) -> 11.56% (Q1 2025), seed 000",
           "the article's own range", True),
    Figure("community_merchant_growth", "growth of the community platform's merchant count in a year",
           "community_ads_only", 9.1, 3.8, 9.1,
           "Xiaohongshu 2023-24: new merchants +910%, large merchants +380% to +560%, seed 000",
           "the range of the merchant-growth figures the seed reports (+380% to +910%)", True),
)

# --- one run --------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Cumulative totals at the end of the burn-in, so measures cover the recorded days only."""

    lender_totals: dict[str, dict[str, float]]
    equity: dict[str, float]
    micro_active: set[str] = field(default_factory=set)
    reach_counts: dict[int, tuple[int, int]] = field(default_factory=dict)


def snapshot(model: Any) -> Snapshot:
    return Snapshot(
        lender_totals={lend.name: dict(lend.totals) for lend in model.lender_list},
        equity={lend.name: lend.equity for lend in model.lender_list},
        micro_active={lend.name for lend in model.lender_list
                      if lend.kind in MICRO_KINDS and lend.active and lend.licensed},
        reach_counts={days: tuple(counts) for days, counts in model.collections.reach_counts.items()},
    )


def measure(model: Any, start: Snapshot) -> dict[str, float]:
    """Every figure's model counterpart, from a finished run and its end-of-burn-in snapshot."""
    s = model.scenario
    market, plats, lends = model.market_table(), model.platform_table(), model.lender_table()
    years = len(market) / 365.0
    out: dict[str, float] = {}
    for months, days in ((6, 180), (12, 360)):
        spells, hits = model.collections.reach_counts[days]
        spells0, hits0 = start.reach_counts[days]
        spells, hits = spells - spells0, hits - hits0
        out[f"reachable_{months}m"] = hits / spells if spells else math.nan
        out[f"reach_{months}m_hits"], out[f"reach_{months}m_spells"] = float(hits), float(spells)
    # NPL sales, as the pilot reports them: price per unit of unpaid principal transferred (what was
    # recovered before the sale is not transferred), over the recorded days.
    sold_principal = math.fsum(lend.totals["npl_principal_sold"] - start.lender_totals[lend.name]["npl_principal_sold"]
                         for lend in model.lender_list)
    proceeds = math.fsum(lend.totals["npl_proceeds"] - start.lender_totals[lend.name]["npl_proceeds"]
                   for lend in model.lender_list)
    out["npl_recovery"] = proceeds / sold_principal if sold_principal > 0 else math.nan
    # Online micro-loan licensees as one sector, as the Guangzhou figures are (platform-owned lenders included).
    micro = [lend for lend in model.lender_list if lend.kind in MICRO_KINDS and (lend.licensed or lend.book > 0)]
    names = {lend.name for lend in micro}
    mean_book = float(lends[lends["name"].isin(names)].groupby("day")["book"].sum().mean()) if len(lends) else 0.0
    lent = math.fsum(lend.totals["originated"] - start.lender_totals[lend.name]["originated"] for lend in micro)
    interest = math.fsum(lend.totals["interest"] - start.lender_totals[lend.name]["interest"] for lend in micro)
    profit = math.fsum(lend.equity - start.equity[lend.name] for lend in micro)
    out["micro_turnover"] = lent / mean_book / years if mean_book > 0 else math.nan
    out["micro_yield"] = interest / mean_book / years if mean_book > 0 else math.nan
    out["micro_net_margin"] = profit / interest if interest > 0 else math.nan
    # Exits over the recorded days (a year in the consolidation scenario) among the licensees active when they
    # began; pooled over seeds as exits / lenders (`Figure.pooled`), as the real 7 of 36 is one sector's count.
    exited = sum(1 for lend in model.lender_list if lend.name in start.micro_active and not lend.active)
    out["lender_exit_share"] = exited / len(start.micro_active) if start.micro_active else math.nan
    out["lender_exits"], out["lender_exit_base"] = float(exited), float(len(start.micro_active))
    # Platforms.
    for p in model.platform_list:
        g = plats[plats["name"] == p.name]
        buyers = g.loc[g["day"] > 30, "monthly_buyers"].astype(float)
        buyers = buyers[buyers > 0]
        dau = float(g["visits"].mean()) if len(g) else 0.0
        gmv_month = float(g["gmv"].mean()) * 30.0 if len(g) else 0.0
        out[f"{p.name}_buyers_per_dau"] = float(buyers.mean()) / dau if dau > 0 and len(buyers) else math.nan
        out[f"{p.name}_gmv_per_buyer"] = gmv_month / float(buyers.mean()) if len(buyers) else math.nan
        revenue = float(g["revenue"].sum()) if len(g) else 0.0
        out[f"{p.name}_finance_share"] = float(g["finance_revenue"].sum()) / revenue if revenue else math.nan
        merchants = g["active_merchants"].astype(float).to_numpy()
        out[f"{p.name}_merchant_growth"] = ((merchants[-1] / merchants[0]) ** (1 / years) - 1
                                            if len(merchants) and merchants[0] > 0 else math.nan)
    out["charge_off_rate"] = (float(market["charged_off_principal"].sum()) / float(market["amount_originated"].sum())
                              if len(market) and market["amount_originated"].sum() > 0 else 0.0)
    del s
    return out


def sized(scenario: Scenario, consumers: int | None, seed: int) -> Scenario:
    """The scenario at `consumers` consumers (shops scaled in proportion) and `seed`."""
    update: dict[str, Any] = {"seed": seed}
    if consumers is not None and consumers != scenario.consumers.count:
        shops = max(round(scenario.merchants.count * consumers / max(scenario.consumers.count, 1)), 10)
        update["consumers"] = scenario.consumers.model_copy(update={"count": consumers})
        update["merchants"] = scenario.merchants.model_copy(update={"count": shops})
    return scenario.model_copy(update=update)


def run_measured(scenario: Scenario, seed: int, consumers: int | None = None) -> tuple[dict[str, float], Any]:
    """Run one seed of a scenario and measure it; returns the measures and the finished model."""
    from sim import MarketModel

    s = sized(scenario, consumers, seed)
    model = MarketModel(s, rng=seed)
    model.burn_in()
    start = snapshot(model)
    model.run(s.days)
    return measure(model, start), model


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


# --- the whole validation -------------------------------------------------------------------------


def wilson(hits: float, trials: float, z: float = 1.96) -> tuple[float, float, float]:
    """A share and its 95% Wilson score interval."""
    if trials <= 0:
        return math.nan, math.nan, math.nan
    p = hits / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return p, centre - half, centre + half


def overdispersion(pairs: list[tuple[float, float]]) -> float:
    """How the per-seed shares (hits, trials) scatter compared with binomial draws of one share: Pearson
    chi-square over its k - 1 degrees of freedom (above 1: more than binomial; below 1: less, or by chance);
    1 for fewer than two usable seeds or a pooled share of 0 or 1 (nothing to estimate it from)."""
    pairs = [(h, n) for h, n in pairs if n > 0]
    hits, trials = sum(h for h, _ in pairs), sum(n for _, n in pairs)
    if len(pairs) < 2 or trials <= 0 or hits in (0, trials):
        return 1.0
    p = hits / trials
    chi2 = math.fsum((h - n * p) ** 2 / (n * p * (1 - p)) for h, n in pairs)
    return chi2 / (len(pairs) - 1)


def pooled_interval(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """The pooled share of per-seed (hits, trials) with its Wilson interval scaled by the seeds' estimated
    dispersion (quasi-binomial): runs differ in more than which spells happen to end reachable, so a plain
    binomial interval over the pooled count could be too narrow. The dispersion is estimated from the k
    seeds, so the quantile is Student's t with k - 1 degrees of freedom (z = 1.96 covered only 91% at 5
    seeds and twice the binomial variance). The estimate is used as it is, also below 1: the t quantile
    already pays for its noise, and flooring it at 1 as well made a nominal 95% interval cover 98% at 10
    seeds (99.5% at 5) when the seeds scatter like binomial draws (tests/test_validation.py). This is the
    usual ratio estimator's interval: with equal trials per seed the variance is the seeds' own scatter
    about the pooled share. One seed keeps the plain Wilson interval."""
    seeds = sum(1 for _, n in pairs if n > 0)
    z = t95(seeds) if seeds >= 2 else 1.96
    share, lo, hi = wilson(sum(h for h, _ in pairs), sum(n for _, n in pairs), z)
    if not math.isfinite(share):
        return share, lo, hi
    scale = math.sqrt(overdispersion(pairs))
    centre = (lo + hi) / 2
    # Wilson's centre lies a little toward 1/2 from the share: a narrowed interval still holds the share
    low, high = min(centre - scale * (centre - lo), share), max(centre + scale * (hi - centre), share)
    return share, max(low, 0.0), min(high, 1.0)


@dataclass
class Result:
    figure: Figure
    values: list[float]
    counts: list[tuple[float, float]] = field(default_factory=list)  # per seed (hits, trials), `Figure.pooled`

    @property
    def stats(self) -> tuple[float, float, float]:
        if self.figure.pooled:
            return pooled_interval(self.counts)
        vals = np.asarray([v for v in self.values if np.isfinite(v)])
        return interval(vals) if len(vals) else (math.nan, math.nan, math.nan)

    @property
    def defined(self) -> int:
        """Seeds that gave the figure a value (pooled figures: seeds with any trials)."""
        if self.figure.pooled:
            return sum(1 for _, n in self.counts if n > 0)
        return sum(1 for v in self.values if np.isfinite(v))

    def interval_text(self) -> str:
        """The report's interval cell; says so when seeds gave no value, or one value gave no interval."""
        f, (_, lo, hi) = self.figure, self.stats
        n, seeds = self.defined, len(self.values)
        if n == 0:
            return "n/a"
        if n == 1 and not f.pooled:
            text = "no interval (1 seed)"
        else:
            text = f"{fmt(f, lo)} - {fmt(f, hi)}"
        return text if n == seeds else f"{text} (over {n} of {seeds} seeds; the rest undefined)"

    @property
    def passed(self) -> bool:
        mean = self.stats[0]
        return bool(np.isfinite(mean) and self.figure.passes(mean))


def _measure_seed(path: str, overrides: tuple[str, ...], size: int | None, seed: int,
                  series: bool) -> tuple[dict[str, float], pd.DataFrame | None, Scenario | None]:
    """One seed of a scenario file, in a worker process: its measures (and its daily series if asked)."""
    scenario = load(path, list(overrides)).scenario
    values, model = run_measured(scenario, seed, size)
    return values, (model.market_table() if series else None), (model.scenario if series else None)


def process_pool(workers: int | None, jobs: int) -> ProcessPoolExecutor:
    """Worker processes for `jobs` independent runs: one per core by default, never more than the runs.
    Each run depends only on its scenario and seed, so results do not depend on how runs are spread."""
    workers = max(1, min(workers or os.cpu_count() or 1, jobs))
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def measure_seeds(path: str | Path, overrides: list[str], seeds: list[int], consumers: int | None,
                  workers: int | None = None) -> list[dict[str, float]]:
    """`measure()` of a scenario file with overrides, one dict per seed (in seed order), seeds run in parallel
    (in this process when `workers` is 1 or there is one seed)."""
    if workers == 1 or len(seeds) == 1:
        return [_measure_seed(str(path), tuple(overrides), consumers, seed, False)[0] for seed in seeds]
    with process_pool(workers, len(seeds)) as pool:
        futures = [pool.submit(_measure_seed, str(path), tuple(overrides), consumers, seed, False) for seed in seeds]
        return [future.result()[0] for future in futures]


def pool_rare_shares(runs: list[dict[str, float]], figures: tuple[Figure, ...] = FIGURES) -> dict[str, float]:
    """The shares of rare events (`Figure.pooled`) over several runs: total hits / total trials."""
    out = {}
    for f in figures:
        if f.pooled:
            hits, trials = (sum(r[k] for r in runs) for k in f.pooled)
            out[f.key] = hits / trials if trials > 0 else math.nan
    return out


def with_overrides(figures: tuple[Figure, ...], extra: list[str] | tuple[str, ...]) -> tuple[Figure, ...]:
    """The figures measured with `extra` overrides (`--set`) added to every run."""
    return tuple(replace(f, overrides=(*f.overrides, *extra)) for f in figures) if extra else figures


def select(ids: list[str], items: tuple[Any, ...] = FIGURES, noun: str = "figure") -> tuple[Any, ...]:
    """The items (figures, or anything with an `id`) named by id, in their order; a ValueError naming the
    allowed ids for an unknown one."""
    known = [f.id for f in items]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: no such {noun}; allowed: {', '.join(known)}")
    return tuple(f for f in items if f.id in ids)


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


def result_of(figure: Figure, runs: list[dict[str, float]]) -> Result:
    """A figure's result from its runs' measures (one dict per seed, in seed order)."""
    counts = [(m[figure.pooled[0]], m[figure.pooled[1]]) for m in runs] if figure.pooled else []
    return Result(figure, [m[figure.key] for m in runs], counts)


def fmt(fig: Figure, v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{100 * v:.1f}%" if fig.percent else f"{v:,.2f}"


def interval_figure(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(8, 0.75 * len(results) + 1))
    for ax, r in zip(np.atleast_1d(axes), results, strict=True):
        f = r.figure
        mean, lo, hi = r.stats
        ax.axvspan(f.low, f.high, color="tab:green" if r.passed else "tab:red", alpha=0.2)
        ax.axvline(f.real, color="black", lw=1)
        if np.isfinite(mean):
            ax.errorbar([mean], [0], xerr=[[mean - lo], [hi - mean]], fmt="o", color="tab:blue", capsize=4)
        ax.set_yticks([])
        ax.set_ylabel(f.id, rotation=0, ha="right", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("model mean and 95% interval (blue) vs real value (black) and tolerance (band)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def report(results: list[Result], checks: list[Check], seeds: int, consumers: int | None,
           figure_paths: dict[str, str], options: str = "") -> str:
    """docs/validation.md as text, without its hand-written notes; `options` are further command-line options
    the run was given."""
    passed = sum(r.passed for r in results)
    lines = [
        "# Validation against the real market",
        "",
        "Generated by `python run.py validate"
        + (f" --seeds {seeds}" if seeds else "") + (f" --consumers {consumers}" if consumers else "")
        + (f" {options}" if options else "") + "`"
        " (do not edit above the notes; edit `sim/validation.py`). Each figure is measured in the library scenario "
        "named, over seeds 1.." + str(seeds) + ", with the scenario's shops scaled to the consumer count. "
        "A figure passes when the model's mean lies inside the tolerance band; the interval is a t-interval over "
        "seeds, except for shares of rare events (reachability, lender exits), which are pooled over seeds with a "
        "Wilson interval scaled by the seeds' dispersion about the pooled share (quasi-binomial, with the t "
        "quantile of the seeds). "
        "Sources: [sources.md](sources.md).",
        "",
        f"**{passed} of {len(results)} figures pass; "
        f"{sum(ok for _, ok, _ in checks)} of {len(checks)} series checks pass.**",
        "",
        "| figure | scenario | real | tolerance band | model mean | 95% interval | used to fit | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        f = r.figure
        mean = r.stats[0]
        lines.append(f"| {f.label} | {f.where} | {fmt(f, f.real)} | {fmt(f, f.low)} - {fmt(f, f.high)} | "
                     f"{fmt(f, mean)} | {r.interval_text()} | {'fit' if f.fitted else 'test'} | "
                     f"{'PASS' if r.passed else '**FAIL**'} |")
    lines += ["", f"![figures vs tolerance]({figure_paths['intervals']})", "", "## Sources and tolerances", ""]
    for r in results:
        f = r.figure
        lines.append(f"- **{f.label}** (`{f.id}`): {f.source}. Tolerance: {f.tolerance}.")
    lines += ["", "## Fitted vs held out", "",
              "Figures marked *fit* were used to set the defaults (by `python run.py calibrate` with the targets in "
              "`scenarios/targets/`, or by hand where a figure maps to one parameter); figures marked *test* were "
              "not used and are an out-of-sample check. The six stylized facts "
              "([stylized_facts.md](stylized_facts.md), `python run.py facts`) were not fitted either, but they "
              "constrained the fit twice: refits of the micro-lenders that made fact 6 unclear were rejected "
              "(sixteenth session), and the co-lending fee added in the seventeenth session came from asking why "
              "fact 6 was thin. They check the mechanisms' directions, and their robustness to the unfitted "
              "parameters.", "",
              "## Daily series", "", "| check | pass | detail |", "|---|---|---|"]
    for name, ok, detail in checks:
        lines.append(f"| {name} | {'PASS' if ok else '**FAIL**'} | {detail} |")
    lines += ["", f"![main daily series]({figure_paths['series']})", ""]
    return "\n".join(lines)


def validate(seeds: int = 10, consumers: int | None = 20_000, doc: Path = ROOT / "docs" / "validation.md",
             figures_dir: Path | None = None, progress: Callable[[str], None] | None = None,
             notes_from: Path | None = None, figures: tuple[Figure, ...] = FIGURES,
             workers: int | None = None, extra: tuple[str, ...] = ()) -> tuple[list[Result], list[Check]]:
    """Run the validation and write the report and its figures (by default in `figures/` next to the
    report), with the hand-written notes of the report at `notes_from` (default: `doc`); returns the figures'
    results and the daily-series checks."""
    results, market, base = run_validation(seeds, consumers, progress, figures, workers, extra)
    figures_dir = figures_dir or doc.parent / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    interval_figure(results, figures_dir / "validation_intervals.png")
    series_figure(market, base, figures_dir / "validation_series.png")
    checks = series_checks(market, base)
    rel = lambda p: Path(p).relative_to(doc.parent).as_posix() if doc.parent in Path(p).parents else str(p)  # noqa: E731
    paths = {"intervals": rel(figures_dir / "validation_intervals.png"),
             "series": rel(figures_dir / "validation_series.png")}
    options = " ".join([*([f"--only {','.join(f.id for f in figures)}"] if figures != FIGURES else []),
                        *(f"--set {o}" for o in extra)])
    text = report(results, checks, seeds, consumers, paths, options)
    doc.write_text(keep_notes(text, notes_from or doc), encoding="utf-8")
    return results, checks
