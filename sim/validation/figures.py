"""The real-world figures the model is judged against: value, tolerance band and why, the scenario
that shows each, and whether it was fitted or held out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "scenarios"


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
