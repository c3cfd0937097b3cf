"""The six stylized facts of the source articles, measured as paired comparisons, and how robust they are
to the parameters nobody measured.

A fact compares two sides (a scenario file plus `--set` overrides) over the same seeds (common random
numbers): the per-seed difference metric(b) - metric(a) must be positive with a 95% t-interval that excludes 0.
`tests/test_stylized_facts.py` asserts every fact at the defaults; `python run.py facts` writes
`docs/stylized_facts.md`, which also re-measures every fact with each guessed parameter (`GUESSES`) moved
to the low and the high end of a plausible range, to answer "would the conclusion change if that guess
were wrong?".

To add a fact: a `Fact` in `FACTS` (two `Side`s and the names of their metrics, added to `METRICS` if new) and
its id in a group of `tests/test_stylized_facts.py`. To add a guess: a `Guess` in `GUESSES`, with a range
chosen before any run and the reason it is uncertain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field

import numpy as np

from sim.compare import interval
from sim.finance.loans import ACTIVE
from sim.model import MarketModel
from sim.results import summarize
from sim.scenario_files import load
from sim.validation import LIBRARY, process_pool
from sim.validation import select as select_by_id

# The market the facts are measured in: small enough to run a fact over several seeds in seconds, large
# enough that each comparison is clear of noise (fact 6 needs more consumers: see its note).
YEAR = ("consumers.count=6000", "merchants.count=240", "burn_in_days=60", "days=365")
LARGER = ("consumers.count=20000", "merchants.count=800", "burn_in_days=60", "days=365")

Metric = Callable[[MarketModel], float]


# --- what is measured ---------------------------------------------------------------------------------


def _defined(ratio: float | None) -> float:
    """A summary ratio, NaN where it is undefined (a zero denominator): the fact's verdict is then "undefined"."""
    return math.nan if ratio is None else float(ratio)


def _ratio(part: float, whole: float) -> float:
    """part / whole, NaN when there is no whole (nothing lent, scored or late): a 0 there would read as a measured
    rate (no losses, no approvals) and could make a fact hold or fail on what was not measured."""
    return float(part) / float(whole) if whole > 0 else math.nan


def _shop_loss_rate(m: MarketModel, programme: bool) -> float:
    """Principal of shop loans written off, sold or 90+ days late, per principal lent: the platforms'
    programmes (merchant data, settlement control) or third-party lenders (neither)."""
    b, n = m.credit.merchant, m.credit.merchant.n
    group = (b.platform[:n] >= 0) if programme else (b.platform[:n] < 0)
    late90 = (b.status[:n] == ACTIVE) & (b.first_missed[:n] >= 0) & (m.t - b.first_missed[:n] > 90)
    lost = b.written_off[:n] + b.sold[:n] + np.where(late90, b.outstanding[:n], 0.0)
    return _ratio(lost[group].sum(), b.principal[:n][group].sum())


def _collection_rate(m: MarketModel) -> float:
    """What lenders recover from consumers behind on their loans in a year (payments that cure late
    instalments, settlements, collections after write-off and NPL sale proceeds) per RMB of late consumer
    principal (mean over the year)."""
    mk = m.market_table()
    collected = float(mk["delinquent_collections"].sum() + mk["recoveries"].sum())
    return _ratio(collected, float(mk["consumer_late_principal"].mean()) if len(mk) else 0.0)


def _approval_rate(m: MarketModel) -> float:
    return _ratio(sum(x.approvals for x in m.lender_list), sum(x.applications for x in m.lender_list))


def _finance_revenue(m: MarketModel, platform: str) -> float:
    return next(p.finance_revenue() for p in m.platform_list if p.name == platform)


MARGINAL = ("micro_d", "micro_e", "micro_f", "micro_g")
"""The consolidation scenario's newcomers: thin capital, funding at 8-9%, priced at the 24% cap. The library's
own micro-lenders price near 4 x LPR (calibrated), so a 12% cap barely binds them: fact 5b is about lenders
that only pay their way at high rates, and a market has them only if they are put in it."""


def _marginal_lending_share(m: MarketModel) -> float:
    """The marginal lenders' share of the consumer credit lent (burn-in and recorded days: the lenders' running
    totals, as lenders.csv counts the recorded days only)."""
    lent = np.asarray([lend.totals["originated"] for lend in m.lender_list])
    marginal = np.asarray([lend.name in MARGINAL for lend in m.lender_list])
    return _ratio(lent[marginal].sum(), lent.sum())


def _credit_losses(m: MarketModel, lender: str) -> float:
    """Write-offs plus principal past due on the lender's own books (consumer and shop): credit risk it carries."""
    j = m.lender_by_name[lender].index
    late = 0.0
    for b in (m.credit.consumer, m.credit.merchant):
        n = b.n
        mine = (b.lender[:n] == j) & (b.status[:n] == ACTIVE) & (b.first_missed[:n] >= 0)
        late += float(b.outstanding[:n][mine].sum())
    return m.lender_by_name[lender].totals["write_offs"] + late


METRICS: dict[str, Metric] = {
    "shop_loss_rate_programme": lambda m: _shop_loss_rate(m, True),
    "shop_loss_rate_third_party": lambda m: _shop_loss_rate(m, False),
    "programme_recovery": lambda m: 1.0 - _shop_loss_rate(m, True),
    "charge_off_rate": lambda m: _defined(summarize(m)["charge_off_rate"]),
    "collection_rate": _collection_rate,
    "finance_revenue_community": lambda m: _finance_revenue(m, "community"),
    "finance_revenue_entertainment": lambda m: _finance_revenue(m, "entertainment"),
    "approval_rate": _approval_rate,
    "marginal_lending_share": _marginal_lending_share,
    "finance_share_video": lambda m: _defined(summarize(m)["platform_finance_revenue_share"].get("video")),
    "credit_losses_video_credit": lambda m: _credit_losses(m, "video_credit"),
}
"""Named so that worker processes are sent names, not functions."""


# --- the facts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One market of a comparison: a library scenario file and `--set` overrides."""

    label: str
    overrides: tuple[str, ...] = ()
    scenario: str = "baseline"

    def path(self) -> str:
        return str(LIBRARY / f"{self.scenario}.yaml")


@dataclass(frozen=True)
class Fact:
    """A claim of the articles as a paired comparison: metric_b(side b) - metric_a(side a) > 0."""

    id: str
    claim: str
    difference: str  # what the difference b - a is, in words
    metric_a: str
    side_a: Side
    metric_b: str
    side_b: Side
    seeds: int = 10
    a_is_zero: bool = False  # the claim also says side a has none of it: metric_a must be 0 on every seed
    note: str = ""


ALL = ("community", "video", "entertainment")
BASE = Side("baseline", YEAR)
NO_DEPOSITS = Side("video: no deposit, sweep or freeze", (*YEAR, "platforms.video.deposit.cap=0",
                   "platforms.video.deposit.settlement_sweep=false", "platforms.video.deposit.freeze_on_risk=false"))
BUSY = ("restructurers.debt_optimizer.ad_budget_m=60", "restructurers.debt_optimizer.conversion=0.006",
        "restructurers.law_firm.ad_budget_m=30", "restructurers.law_firm.conversion=0.004")
"""Intermediaries as active as in scenarios/restructurer_crackdown.yaml (before its crackdown)."""
BAN = Side("intermediary ads banned", (*YEAR, *BUSY, *(f"platforms.{p}.restructurer_ad_policy=ban" for p in ALL)))
ALLOW = Side("intermediary ads allowed", (*YEAR, *BUSY, *(f"platforms.{p}.restructurer_ad_policy=allow" for p in ALL)))
DIVERTING = ("platforms.community.finance.strategy=traffic_diversion",
             "platforms.community.finance.partners=[cfc, micro_a, micro_b]",
             "platforms.community.finance.cash_loans=true")
COMMUNITY_300 = Side("community diverting, 300 m users", (*YEAR, *DIVERTING))
COMMUNITY_900 = Side("community diverting, 900 m users", (*YEAR, *DIVERTING, "platforms.community.mau_m=900"))
CAP_12 = Side("rate cap 12%", (*YEAR, "regulation.rate_cap=0.12"))
MARGINAL_24 = Side("consolidation lenders, cap 24%", (*YEAR, "events=[]", "regulation.rate_cap=0.24"),
                   "microlender_consolidation")
MARGINAL_12 = Side("consolidation lenders, cap 12%", (*YEAR, "events=[]", "regulation.rate_cap=0.12"),
                   "microlender_consolidation")
OWN_LICENCE = Side("video: own licence (20,000 consumers)", LARGER)
DIVERSION = Side("video: traffic diversion (20,000 consumers)",
                 (*LARGER, "platforms.video.finance.strategy=traffic_diversion", "platforms.video.finance.bnpl=false"))

FACTS: tuple[Fact, ...] = (
    Fact("1", "A platform with merchant data and settlement control has lower shop-loan losses than a third-party "
         "lender without them.", "third-party minus programme shop-loan loss rate",
         "shop_loss_rate_programme", BASE, "shop_loss_rate_third_party", BASE),
    Fact("2", "Deposits and settlement sweeps raise recovery on shop loans.",
         "programme recovery with deposits and sweeps minus without",
         "programme_recovery", NO_DEPOSITS, "programme_recovery", BASE),
    Fact("3a", "Allowing intermediary ads raises consumer defaults.",
         "charge-off rate with intermediary ads allowed minus banned",
         "charge_off_rate", BAN, "charge_off_rate", ALLOW),
    Fact("3b", "Allowing intermediary ads lowers recoveries.",
         "recoveries per RMB of late debt with intermediary ads banned minus allowed",
         "collection_rate", ALLOW, "collection_rate", BAN,
         note="Recoveries in the collections sense: money recovered per RMB of late debt (the ratio of post-write-off "
              "recoveries to write-offs is 0 on some seeds at this size). Its size varies several-fold between seeds "
              "(a ratio over a small late book)."),
    Fact("4a", "More traffic brings more finance revenue: the entertainment platform (500 m users, credit through "
         "partners) earns more from credit than the community platform (300 m users of better quality, loan ads "
         "only).", "entertainment minus community finance revenue (RMB)",
         "finance_revenue_community", BASE, "finance_revenue_entertainment", BASE),
    Fact("4b", "Traffic itself: the community platform diverting to the same partners earns more from credit with "
         "three times the users.", "community finance revenue with 900 m minus 300 m users (RMB)",
         "finance_revenue_community", COMMUNITY_300, "finance_revenue_community", COMMUNITY_900),
    Fact("5a", "A tighter rate cap lowers approvals.", "approval rate under a 24% minus a 12% cap",
         "approval_rate", CAP_12, "approval_rate", BASE),
    Fact("5b", "A tighter rate cap pushes out marginal lenders.",
         "marginal lenders' share of lending under a 24% minus a 12% cap",
         "marginal_lending_share", MARGINAL_12, "marginal_lending_share", MARGINAL_24,
         note="In the consolidation scenario's market (without its events), whose four newcomers price at the cap."),
    Fact("6a", "An own licence raises the platform's finance revenue share (over traffic diversion).",
         "video finance share with own licence minus diversion",
         "finance_share_video", DIVERSION, "finance_share_video", OWN_LICENCE,
         note="At 20,000 consumers: the platform's lender screens with its own data and loses little, so in a "
              "6,000-consumer market some seeds see no late loan."),
    Fact("6b", "An own licence puts credit losses on the platform's books, which diversion does not.",
         "credit losses of the platform-owned lender with own licence minus diversion (RMB)",
         "credit_losses_video_credit", DIVERSION, "credit_losses_video_credit", OWN_LICENCE, a_is_zero=True),
)


def select(ids: list[str], facts: tuple[Fact, ...] = FACTS) -> tuple[Fact, ...]:
    """The facts named by id, in order; a ValueError naming the allowed ids for an unknown one."""
    return select_by_id(ids, facts, "fact")


# --- the guesses ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guess:
    """A parameter no source pins down, and a plausible range for it: the facts are re-measured at each end.
    `keys` are set together (one parameter that lives on several items, such as each intermediary's)."""

    keys: tuple[str, ...]
    low: float
    high: float
    why: str

    @property
    def name(self) -> str:
        return self.keys[0] if len(self.keys) == 1 else f"{self.keys[0]} (and {len(self.keys) - 1} more)"

    def overrides(self, value: float) -> tuple[str, ...]:
        return tuple(f"{k}={value:g}" for k in self.keys)


GUESSES: tuple[Guess, ...] = (
    Guess(("consumers.shock_rate",), 0.00075, 0.003, "chance of a liquidity shock a consumer-day: half to double"),
    Guess(("consumers.base_risk_logit",), -3.7, -2.7, "the population's default risk: about 0.6x to 1.6x the odds"),
    Guess(("consumers.bnpl_preference",), 0.06, 0.24, "share of eligible checkouts that pick BNPL: half to double"),
    Guess(("consumers.willingness",), 0.98, 0.999, "willingness to pay when able (the behaviour sweeps' range)"),
    Guess(("consumers.self_cure_rate",), 0.5, 0.9, "share of late consumers who catch up on their own"),
    Guess(("merchants.drift_sd",), 0.001, 0.004, "spread of shops' demand trends: half to double"),
    Guess(("merchants.willingness",), 0.93, 0.99, "shops' willingness to repay when able"),
    Guess(("lenders.video_credit.platform_data_noise",), 0.2, 0.8,
          "how much the platform's own data sharpens its lender's scores: about half to twice the noise"),
    Guess(("regulation.complaint_drag",), 0.5, 2.0, "how much complaint load slows collections: half to double"),
    Guess(("restructurers.debt_optimizer.contact_loss", "restructurers.law_firm.contact_loss"), 1.5, 6.0,
          "how much an intermediary's client is harder to reach: half to double"),
)


@dataclass(frozen=True)
class Setting:
    """The defaults (no guess) or one guess moved to one end of its range, applied to both sides of every fact."""

    label: str
    overrides: tuple[str, ...] = ()
    guess: Guess | None = None
    value: float | None = None


DEFAULTS = Setting("defaults")


def settings(guesses: tuple[Guess, ...] = GUESSES) -> list[Setting]:
    """The defaults, then each guess at its low and its high end."""
    out = [DEFAULTS]
    for g in guesses:
        out += [Setting(f"{g.name} = {v:g}", g.overrides(v), g, v) for v in (g.low, g.high)]
    return out


def check_overrides(facts: tuple[Fact, ...], every: list[Setting]) -> None:
    """Load every side under every setting once: a bad key stops here, in one line, before any run."""
    for side in {f.side_a for f in facts} | {f.side_b for f in facts}:
        for s in every:
            load(side.path(), [*side.overrides, *s.overrides])


# --- running and judging ------------------------------------------------------------------------------


def measure_side(path: str, overrides: tuple[str, ...], seed: int, metrics: tuple[str, ...]) -> dict[str, float]:
    """One market run (in a worker process): the named metrics of it."""
    model = MarketModel(load(path, list(overrides)).scenario, rng=seed).run()
    return {name: METRICS[name](model) for name in metrics}


@dataclass
class Outcome:
    """A fact measured in one setting: per-seed values of both sides, in seed order."""

    fact: Fact
    setting: Setting
    a: list[float]
    b: list[float]
    stats: tuple[float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        self.stats = interval(np.asarray(self.b) - np.asarray(self.a))

    @property
    def holds(self) -> bool:
        mean, low, _ = self.stats
        zero_ok = not self.fact.a_is_zero or all(v == 0.0 for v in self.a)
        return bool(math.isfinite(mean) and mean > 0 and low > 0 and zero_ok)

    def verdict(self) -> str:
        if self.holds:
            return "holds"
        if not math.isfinite(self.stats[0]):
            return "undefined"  # a side's metric has no value on some seed (a share of zero revenue)
        if self.stats[0] <= 0:
            return "reversed" if self.stats[2] < 0 else "no effect"
        if self.stats[1] <= 0:
            return "not clear of 0"
        return "side a not 0"


def jobs_of(facts: tuple[Fact, ...], every: list[Setting]) -> dict[tuple[str, tuple[str, ...], int], set[str]]:
    """Each distinct market run the facts need (scenario path, overrides, seed) and the metrics read from it:
    sides shared between facts (the baseline year) run once."""
    jobs: dict[tuple[str, tuple[str, ...], int], set[str]] = {}
    for s in every:
        for f in facts:
            for side, metric in ((f.side_a, f.metric_a), (f.side_b, f.metric_b)):
                for seed in range(1, f.seeds + 1):
                    jobs.setdefault((side.path(), (*side.overrides, *s.overrides), seed), set()).add(metric)
    return jobs


def measure(facts: tuple[Fact, ...] = FACTS, every: list[Setting] | None = None, workers: int | None = None,
            advance: Callable[[], None] | None = None) -> list[Outcome]:
    """Every fact in every setting (default: the defaults only), runs spread over `workers` processes (default:
    one per core; 1 runs them here); `advance` is called as each run ends (a progress bar). Each run depends
    only on its scenario and seed, so results do not depend on how runs are spread."""
    every = every or [DEFAULTS]
    jobs = jobs_of(facts, every)
    values: dict[tuple[str, tuple[str, ...], int], dict[str, float]] = {}
    if workers == 1 or len(jobs) == 1:
        for key, metrics in jobs.items():
            values[key] = measure_side(*key, tuple(sorted(metrics)))
            if advance:
                advance()
    else:
        with process_pool(workers, len(jobs)) as pool:
            futures = {pool.submit(measure_side, *key, tuple(sorted(metrics))): key for key, metrics in jobs.items()}
            for future in as_completed(futures):
                values[futures[future]] = future.result()
                if advance:
                    advance()
    out = []
    for s in every:
        for f in facts:
            def side_values(side: Side, metric: str, f: Fact = f, s: Setting = s) -> list[float]:
                return [values[(side.path(), (*side.overrides, *s.overrides), seed)][metric]
                        for seed in range(1, f.seeds + 1)]

            out.append(Outcome(f, s, side_values(f.side_a, f.metric_a), side_values(f.side_b, f.metric_b)))
    return out


def by_fact(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    out: dict[str, list[Outcome]] = {}
    for o in outcomes:
        out.setdefault(o.fact.id, []).append(o)
    return out

