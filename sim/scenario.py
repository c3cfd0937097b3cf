"""The scenario schema: every parameter of a market, typed, with its unit, range and source.

Units. Amounts that belong to one person or one shop (income, order value, deposit cap) are in real
RMB: one simulated consumer behaves like one real consumer. Amounts that belong to an institution
(a lender's equity, registered capital, an ad budget) are given in real RMB millions and divided by
the population scale (`market.real_population_m` / `consumers.count`) when the model is built, so a
smaller simulated population is a proportionally smaller market, not a different one.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

LARGEST = 1e12  # no number in a scenario may exceed this: keeps every sum of money finite


class RuleBroken(ValueError):
    """A rule between keys is broken: the message (it starts with the key to fix), and the dotted keys the
    rule involves, so that an error is blamed on the file or override that last set any of them."""

    def __init__(self, message: str, *keys: str) -> None:
        super().__init__(message)
        self.keys = keys


def param(default: Any, unit: str, doc: str, *, source: str | None = None, **bounds: Any) -> Any:
    """A documented field: unit and real-world source are kept in the JSON schema for the docs.
    Real numbers without an upper bound get `LARGEST`."""
    if isinstance(default, float) and not {"le", "lt"} & set(bounds):
        bounds["le"] = LARGEST
    extra = {"unit": unit}
    if source:
        extra["source"] = source
    return Field(default, description=doc, json_schema_extra=extra, **bounds)


class Strict(BaseModel):
    """Unknown keys are errors; assignment is validated so `--set` overrides stay typed.

    Strict types: YAML already gives numbers and true/false, so text, true/false and numbers are never
    converted into one another (`days: yes` or `bnpl: 1` are errors, not 1 and true); a whole number is
    still a valid real number."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True)


SAFE_NAME = re.compile(r"[\w.-]{1,100}")


def suggest(word: str, choices: list[str]) -> str:
    """` (did you mean 'x'?)` for the choice closest to a misspelt `word`, or "" when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def safe_name(name: str) -> str:
    """A name that is also a folder name (outputs go to `outputs/<name>/`): no path separators, not `.` or `..`."""
    if not SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError("must be 1 to 100 letters, digits, '_', '-' or '.' (not '.' or '..'); it names the "
                         "output folder")
    return name


ITEM_NAME = re.compile(r"[\w-]{1,100}")


def item_name(name: str) -> str:
    """A platform's, lender's or restructurer's name: a `--set` path segment and a column suffix."""
    if not ITEM_NAME.fullmatch(name):
        raise ValueError("must be 1 to 100 letters, digits, '_' or '-' (no '.', '=' or spaces); it addresses the "
                         "item in --set paths and names its columns")
    return name


ItemName = Annotated[str, AfterValidator(item_name)]


def _festival_days(days: list[int]) -> list[int]:
    bad = [d for d in days if not 1 <= d <= 365]
    if bad:
        raise ValueError(f"{bad[0]} is not a day of the year; allowed: 1 to 365")
    return days


def _deposit_tiers(tiers: list[tuple[float, float]]) -> list[tuple[float, float]]:
    for i, (floor, deposit) in enumerate(tiers):
        if floor < 0 or deposit < 0:
            raise ValueError(f"tier {i} has a negative number; floors and deposits must be >= 0")
        if max(floor, deposit) > LARGEST:
            raise ValueError(f"tier {i} has a number above {LARGEST:g}; floors and deposits must be <= {LARGEST:g}")
    floors = [floor for floor, _ in tiers]
    for i in range(1, len(floors)):
        if floors[i] <= floors[i - 1]:
            raise ValueError(f"tier {i} floor {floors[i]:g} is not above tier {i - 1} floor {floors[i - 1]:g}; "
                             "floors must be strictly increasing")
    return tiers


Pair = Annotated[tuple[float, float], Field(strict=False)]
"""Two numbers; strict mode would refuse the list YAML gives for a pair (the numbers stay strict)."""
Income = Annotated[float, Field(ge=0, le=LARGEST)]
RiskShift = Annotated[float, Field(ge=-3, le=3)]
"""A shift of latent risk in logit, bounded as young_risk_shift: exp(3) multiplies the odds by 20."""
MAX_SHARE_WEIGHT = 1e6
"""Weights normalised to shares sum to at most 3e6: no overflow (1e308 each summed to inf, then NaN shares)."""


Strategy = Literal["none", "traffic_diversion", "own_license"]
AdPolicy = Literal["allow", "restrict", "ban"]
LenderKind = Literal["platform", "bank", "consumer_finance", "micro_lender"]
PlatformKind = Literal["community", "video_commerce", "entertainment", "marketplace"]


class MarketParams(Strict):
    real_population_m: float = param(
        1100.0, "million people", "Real population the simulated consumers stand for.",
        source="China's internet users, ~1.1 bn (CNNIC 2025)", ge=0.001, le=10_000,
    )
    start_day_of_year: int = param(
        1, "day of year", "Day of the year recorded day 1 falls on (burn-in days fall before it, at the end of the "
        "previous year).", ge=1, le=365,
    )
    festival_days: Annotated[list[int], AfterValidator(_festival_days)] = param(
        [169, 315], "day of year", "Shopping festivals (618 and Double 11): days of the year, 1 to 365.",
        source="industry calendar",
    )
    festival_multiplier: float = param(
        2.5, "x", "Purchase propensity on a festival day relative to an ordinary day.", ge=1, le=20
    )


class ConsumerParams(Strict):
    count: int = param(100_000, "consumers", "Simulated consumers.", ge=0, le=50_000_000)
    tier_income: list[Income] = param(
        [11000.0, 6500.0, 4200.0], "RMB a month",
        "Mean monthly income in top (tier-1/new-tier-1/tier-2), middle (tier-3) and low (tier-4 and below) cities.",
        source="NBS urban disposable income by city tier, 2024, rounded", min_length=3, max_length=3,
    )
    income_sigma: float = param(0.55, "log-sd", "Dispersion of income within a tier (lognormal).", ge=0, le=2)
    essential_share: float = param(
        0.65, "share of income", "Mean share of income spent on essentials on payday.", ge=0, le=0.95
    )
    essential_share_sd: float = param(0.08, "share", "Spread of the essential share across consumers.", ge=0, le=1)
    buffer_months: float = param(
        1.0, "months of income", "Savings a typical consumer keeps; cash above it is spent on payday "
        "(outside the platforms). Riskier consumers keep less.", ge=0, le=60,
    )
    spend_excess: float = param(
        0.8, "share", "Share of cash above the savings buffer spent each payday.", ge=0, le=1
    )
    base_risk_logit: float = param(
        -3.2, "logit", "Latent default propensity of a typical consumer over a loan's life (logit); lenders "
        "score it with noise. Realised default also depends on cash, shocks and intermediaries.",
        ge=-10, le=5,
    )
    risk_sd: float = param(1.0, "logit-sd", "Spread of latent risk across consumers.", ge=0, le=4)
    tier_risk_shift: list[RiskShift] = param(
        [-0.3, 0.2, 0.5], "logit", "Risk shift by city tier (top, middle, low), each -3 to 3.",
        min_length=3, max_length=3,
    )
    tier_shares: Shares = param(
        [0.40, 0.28, 0.32], "share",
        "Population in top, middle and low-tier cities (weights 0 to 1e6, normalised to sum to 1).",
        min_length=3, max_length=3,
    )
    young_share: float = param(0.45, "share", "Share of consumers under 30 in the general population.", ge=0, le=1)
    young_risk_shift: float = param(0.4, "logit", "Extra risk for consumers under 30.", ge=-3, le=3)
    shock_rate: float = param(
        0.0015, "per day", "Chance of a liquidity shock (medical bill, job loss, repair) on a day.", ge=0, le=0.2
    )
    shock_size: float = param(0.8, "months of income", "Mean size of a liquidity shock.", ge=0, le=24)
    risk_shock_loading: float = param(
        1.0, "-", "Shock exposure grows as exp(0.5 x loading x excess risk), capped at 4x the base rate.", ge=0, le=3
    )
    bnpl_preference: float = param(
        0.12, "probability", "Chance a liquid consumer picks BNPL when offered at checkout (x 1.5 for "
        "consumers under 30, x 0.75 for others).", ge=0, le=1
    )
    cash_loan_appetite: float = param(
        0.5, "probability", "Chance, each day, that a consumer short of cash looks for a cash loan.", ge=0, le=1
    )
    max_applications: int = param(
        3, "lenders a day", "Lenders one consumer tries in a day for a cash need (loan stacking).", ge=1, le=10
    )
    willingness: float = param(
        0.995, "probability", "Chance a typical consumer with enough cash pays an instalment on its due day.",
        ge=0, le=1,
    )
    self_cure_rate: float = param(
        0.7, "probability", "Chance a delinquent consumer pays arrears on payday when cash allows.", ge=0, le=1
    )


def _some_share(shares: list[float]) -> list[float]:
    if sum(shares) <= 0:
        raise ValueError("the shares must not all be zero")
    return shares


Shares = Annotated[list[Annotated[float, Field(ge=0, le=MAX_SHARE_WEIGHT)]], AfterValidator(_some_share)]
"""Non-negative weights, not all zero (they are normalised)."""


class CategoryParams(Strict):
    name: str = param("general", "-", "Merchandise category.")
    share: float = param(
        1.0, "share", "Share of merchants in this category (weights over the categories, normalised to sum to 1; "
        "all 0: an even split).",
        ge=0, le=1,
    )
    risk: float = param(0.0, "logit", "Category risk shift (volatile demand, returns).", ge=-5, le=5)
    refund_rate: float = param(0.05, "share of GMV", "Refunds and claims against sales.", ge=0, le=0.9)
    volatility: float = param(0.03, "log-sd a day", "Day-to-day volatility of a shop's demand.", ge=0, le=1)


class MerchantParams(Strict):
    count: int = param(2000, "merchants", "Simulated merchants at the start.", ge=0, le=2_000_000)
    categories: list[CategoryParams] = Field(
        default_factory=lambda: [
            CategoryParams(name="beauty", share=0.35, risk=-0.2, refund_rate=0.06, volatility=0.025),
            CategoryParams(name="apparel", share=0.40, risk=0.2, refund_rate=0.12, volatility=0.035),
            CategoryParams(name="electronics", share=0.25, risk=0.4, refund_rate=0.04, volatility=0.045),
        ],
        min_length=1, description="Merchandise categories.", json_schema_extra={"unit": "-"},
    )
    base_risk_logit: float = param(
        -3.0, "logit", "Latent default propensity of a typical shop over a loan's life.", ge=-10, le=5
    )
    size_sigma: float = param(1.3, "log-sd", "Dispersion of shop size (share of platform traffic).", ge=0, le=4)
    gross_margin: float = param(0.28, "share of sales", "Gross margin after cost of goods.", ge=0, le=1)
    fixed_cost_share: float = param(
        0.5, "share of expected gross profit", "Fixed costs of a shop relative to what it expects to earn.", ge=0, le=5
    )
    drift_sd: float = param(
        0.002, "log a day", "Spread of shops' demand trends: some grow, some decline.", ge=0, le=0.1
    )
    demand_half_life_days: float = param(
        180.0, "days", "How fast a shop's demand is pulled back toward its own trend level (log demand reverts to "
        "drift / rate); 0 = never: demand compounds forever and the market keeps concentrating.",
        source="keeps the spread of shops' demand stationary, so the shop count settles after the burn-in", ge=0,
    )

    @field_validator("demand_half_life_days")
    @classmethod
    def _never_or_a_day(cls, days: float) -> float:
        if 0 < days < 1:  # a faster pull overflows the daily reversion (NaN demand for every shop)
            raise ValueError("must be 0 (never) or at least 1 day")
        return days
    loan_months: float = param(
        0.6, "months of sales", "Size of a shop loan.",
        source="repayable from a typical shop's profit (gross margin 28% less fixed costs: ~14% of sales a month) "
        "over 6 instalments; larger loans default almost surely unless swept from sales",
        ge=0, le=24,
    )
    growth_borrowing: float = param(
        0.01, "per day", "Chance a shop whose demand is rising asks for a loan to stock up.", ge=0, le=1
    )
    willingness: float = param(
        0.97, "probability", "Chance a shop with cash pays a third-party lender's instalment when due.", ge=0, le=1
    )
    initial_cash_days: float = param(30.0, "days of fixed cost", "Cash buffer a shop starts with.", ge=0)
    loan_need_days: float = param(10.0, "days of fixed cost", "Cash below which a shop seeks working capital.", ge=0)
    exit_days: float = param(30.0, "days", "Days in a row without cash for costs after which a shop closes.", ge=1)
    entry_rate: float = param(
        0.002, "per day", "New shops a day as a share of active shops (before platform growth).", ge=0, le=0.05
    )


class FinanceParams(Strict):
    strategy: Strategy = param("none", "-", "How the platform makes money from credit.")
    license_lender: str | None = param(None, "lender name", "The licensed lender the platform owns or wants.")
    partners: list[str] = param([], "lender names", "Licensed partners for diversion and co-lending.")
    diversion_fee: float = param(
        0.035, "share of amount", "Fee partners pay per originated loan under diversion.",
        source="industry loan-facilitation fees 2-5%", ge=0, le=0.3,
    )
    co_lending_fee: float = param(
        0.035, "share of amount", "Fee a co-lending partner pays the platform on its share of each own-licence loan: "
        "the platform brings and screens the borrower, as under diversion (0 = partners lend for free).",
        source="industry loan-facilitation fees 2-5%", ge=0, le=0.3,
    )
    co_lending_own_share: float = param(
        0.3, "share", "Share of each own-licence loan kept by the platform's lender; partners fund the rest.",
        ge=0, le=1,
    )
    bnpl: bool = param(False, "-", "BNPL (monthly pay) at checkout.")
    cash_loans: bool = param(False, "-", "Cash-loan entry point in the app.")
    merchant_loans: bool = param(False, "-", "Shop loans backed by merchant data and settlement control.")
    merchant_cash_flow_cover: float = param(
        1.0, "x instalment", "The programme's cash-flow test: a shop qualifies when last month's gross profit on "
        "settled sales, less a month of fixed costs, is at least this many instalments (0 = no test).",
        source="dynamic credit scores from real-time merchant data, seed 000; without the test the programme lends "
        "to shops short of cash because their sales fell, and loses ~12% of its shop book a year",
        ge=0, le=10,
    )
    holds_license: bool = param(False, "-", "Whether the platform already holds its lending licence at start.")
    cross_province: bool = param(True, "-", "Licence covers lending across provinces (RMB 5 bn capital rule).")
    license_cost_m: float = param(
        800.0, "RMB m", "Cost of acquiring an existing licence (goodwill, deal costs).", ge=0
    )
    license_delay_days: int = param(180, "days", "Time from deciding to buy a licence to lending.", ge=0, le=3650)


class DepositParams(Strict):
    tiers: Annotated[list[Pair], AfterValidator(_deposit_tiers)] = param(
        [(0.0, 1000.0), (10_000.0, 5000.0), (100_000.0, 10_000.0), (500_000.0, 20_000.0)],
        "(RMB of last month's settled sales, RMB deposit)",
        "Deposit required by last month's settled sales: each pair is a floor and its deposit, floors strictly "
        "increasing, both >= 0; sales below the first floor need none (an empty list: no deposit).",
        source="platform deposit rules, seed 000",
    )
    cap: float = param(20_000.0, "RMB", "Ceiling on any shop's deposit.", source="RMB 20,000 cap, seed 000", ge=0)
    settlement_sweep: bool = param(
        True, "-", "A programme shop loan's instalments as they fall due, its arrears, early-warning "
        "prepayments and written-off claims are deducted from the shop's part of its pending balance, then its deposit."
    )
    freeze_on_risk: bool = param(True, "-", "Settlement of a shop in arrears is held until it is current.")
    restrict_consecutive: int = param(3, "instalments", "Missed in a row before trading is restricted.", ge=1, le=24)
    restrict_cumulative: int = param(
        6, "instalments", "Missed in total before trading is restricted; at least `restrict_consecutive`.", ge=1, le=48
    )
    early_warning: bool = param(True, "-", "Post-loan check when a shop's traffic keeps falling.")
    early_warning_days: int = param(21, "days", "Length of traffic decline that triggers the check.", ge=2, le=365)


class PlatformParams(Strict):
    name: ItemName = param(
        ..., "-", "Unique name used to address the platform (`platforms.<name>.mau_m`): letters, digits, `_`, `-`."
    )
    kind: PlatformKind = param("marketplace", "-", "Business model.")
    mau_m: float = param(300.0, "million", "Monthly active users.", source="seeds 000/001", ge=0)
    dau_ratio: float = param(0.45, "DAU/MAU", "Share of monthly users active on a day.", ge=0, le=1)
    tier_shares: Shares = param(
        [0.55, 0.25, 0.20], "share",
        "Users in top, middle and low-tier cities (weights 0 to 1e6, normalised to sum to 1).",
        min_length=3, max_length=3,
    )
    young_share: float = param(0.5, "share", "Users under 30.", ge=0, le=1)
    risk_shift: float = param(
        0.0, "sd of idiosyncratic risk", "How much riskier (+) or safer (-) this platform's users are than their "
        "city tier and age explain (exponential tilting of membership).", ge=-3, le=3,
    )
    purchase_rate: float = param(0.04, "orders per visit", "Chance a visit ends in an order.", ge=0, le=1)
    order_value: float = param(120.0, "RMB", "Mean order value.", ge=0)
    take_rate: float = param(0.04, "share of GMV", "Commission the platform keeps at settlement.", ge=0, le=0.5)
    settlement_delay_days: int = param(10, "days", "Days sales wait in the pending balance.", ge=0, le=90)
    merchant_share: float = param(
        0.34, "share", "Share of simulated merchants selling here (weights over platforms, normalised to sum to 1; "
        "all 0: shops are spread evenly).",
        ge=0, le=1,
    )
    merchant_growth: float = param(0.0, "per year", "Extra yearly growth of shop entries.", ge=-1, le=20)
    cash_m: float = param(5000.0, "RMB m", "Platform's cash at the start.", ge=0)
    other_revenue_per_visit: float = param(
        0.5, "RMB per visit", "Revenue from memberships and non-finance ads per daily visit.",
        source="yearly revenue / (DAU x 365): iQiyi ~0.6, Kuaishou ads+live ~0.7, Xiaohongshu ~0.5", ge=0
    )
    restrict_factor: float = param(0.3, "share", "Reach left to intermediary ads under `restrict`.", ge=0, le=1)
    lender_ads: bool = param(True, "-", "Lenders may buy loan ads.")
    loan_ad_click_price: float = param(
        0.5, "RMB per click", "Price lenders pay per loan-ad click (an application through an ad).",
        source="fitted to micro-lenders' net margin ~6% of revenue (seed 001); at RMB 3 ads cost them 4-20% "
        "of their balance a year",
        ge=0,
    )
    restructurer_ad_policy: AdPolicy = param("allow", "-", "Policy toward debt-restructuring ads.")
    finance: FinanceParams = Field(default_factory=FinanceParams)
    deposit: DepositParams = Field(default_factory=DepositParams)


class LenderParams(Strict):
    name: ItemName = param(..., "-", "Unique name: letters, digits, `_`, `-`.")
    kind: LenderKind = param("micro_lender", "-", "Type of institution.")
    equity_m: float = param(
        3000.0, "RMB m", "Starting equity (a platform lender without its licence at start has none: its equity is the "
        "registered capital paid in when its platform buys the licence).", ge=0,
    )
    min_capital_m: float = param(500.0, "RMB m", "Equity below which the lender is closed.", ge=0)
    leverage_max: float = param(
        5.0, "x equity", "Maximum loan book over equity.", source="micro-loan leverage limits 4-5x", ge=0, le=50
    )
    funding_rate: float = param(0.04, "per year", "Cost of borrowed funds.", ge=0, le=0.5)
    opex_rate: float = param(0.03, "per year of balance", "Operating cost on the loan book.", ge=0, le=0.5)
    apr: float = param(0.18, "per year", "Annual rate offered (capped by regulation).", ge=0, le=1)
    risk_appetite: float = param(
        1.0, "x", "Multiplier on the default probability the lender will accept.", ge=0, le=10
    )
    risk_pricing: float = param(
        0.0, "per year per unit PD",
        "Risk-based pricing: spread added to `apr` per unit of the lender's estimated default probability "
        "(the logistic of its score), capped by regulation; it lends only where that capped rate still covers "
        "the expected loss. 0 = one price for every borrower.", ge=0, le=10
    )
    score_noise: float = param(1.0, "logit-sd", "Noise in the lender's own view of a borrower.", ge=0, le=5)
    platform_data_noise: float = param(
        0.4, "logit-sd", "Noise when the platform shares its user or shop data.", ge=0, le=5
    )
    limit_months: float = param(0.8, "months of income", "Credit limit for a consumer.", ge=0, le=60)
    checks_delinquency: bool = param(
        True, "-",
        "Refuses consumer applicants it knows to be behind: always on its own loans; on other lenders' loans when "
        "the credit bureau it queries shows it (chance = its kind's bureau visibility: platform and bank 1, "
        "consumer finance 0.8, micro-lender 0.4). false = lends on score alone, as gray-market lenders do.",
    )
    cash_loan_terms: int = param(6, "monthly instalments", "Term of a cash loan.", ge=1, le=60)
    bnpl_terms: int = param(3, "monthly instalments", "Term of a BNPL purchase.", ge=1, le=24)
    merchant_loan_terms: int = param(6, "monthly instalments", "Term of a shop loan.", ge=1, le=60)
    merchant_loans: bool = param(False, "-", "Lends to shops on its own, without platform data or control.")
    merchant_book_share: float = param(
        0.1, "share of loan book", "Most of its loan book such a lender puts into shop loans made on its own.",
        source="a side line for consumer lenders: concentration limits keep it small", ge=0, le=1
    )
    advertises: bool = param(True, "-", "Buys loan ads on platforms that allow them.")
    collection_intensity: float = param(
        0.08, "contacts per day", "Chance a reachable delinquent borrower is contacted on a day.", ge=0, le=1
    )
    collection_cost: float = param(15.0, "RMB per contact", "Cost of one collection contact.", ge=0)
    charge_off_dpd: int = param(180, "days past due", "Write-off threshold.", ge=30, le=720)
    npl_sale_dpd: int = param(
        270, "days past due", "Age at which a defaulted loan is sold to an NPL buyer: a written-off claim, "
        "or a loan still on the book if this comes before charge_off_dpd (0 = never).", ge=0, le=1440
    )
    npl_price: float = param(
        0.085, "share of principal", "Price of NPL sales.",
        source="NPL pilot principal recovery 6.9-9.4% (discounts 2.6-5.8% of principal plus interest)", ge=0, le=1
    )
    settlement_haircut: float = param(
        0.5, "share of claim", "Debt forgiven when settling with a restructurer's client.", ge=0, le=1
    )


class RestructurerParams(Strict):
    name: ItemName = param(..., "-", "Unique name: letters, digits, `_`, `-`.")
    ad_budget_m: float = param(15.0, "RMB m a year", "Ad budget per platform that allows its ads.", ge=0)
    conversion: float = param(
        0.002, "per day", "Chance a delinquent consumer fully reached by the ads signs up on a day.", ge=0, le=1
    )
    upfront_fee: float = param(300.0, "RMB", "Fee paid at sign-up.", ge=0)
    success_fee: float = param(0.05, "share of debt", "Fee on the debt forgiven in a settlement.", ge=0, le=1)
    settlement_rate: float = param(
        0.004, "per day", "Chance, each day, that a client's debts are settled, with all its lenders "
        "at once.", ge=0, le=1
    )
    complaints_per_client: float = param(
        1.0, "complaints per month", "Template complaints a client files a month against each lender it is "
        "behind with.", ge=0, le=100
    )
    contact_loss: float = param(
        3.0, "x", "How much faster a client becomes unreachable.", ge=1, le=100
    )
    active: bool = param(True, "-", "Operating (a crackdown switches it off).")


class RegulationParams(Strict):
    rate_cap: float = param(
        0.24, "per year", "Cap on a borrower's total financing cost.", source="judicial protection 24%", ge=0, le=1
    )
    balance_limit: float = param(
        200_000.0, "RMB", "Most a consumer may owe to online lenders.", source="draft rules 2020", ge=0
    )
    co_lending_min_share: float = param(
        0.3, "share", "Least share of each co-lent loan the originating lender keeps.", source="2020 draft rules",
        ge=0, le=1,
    )
    license_moratorium: bool = param(
        True, "-", "No new online micro-loan licences: a platform must buy one.", source="frozen since 2017"
    )
    registered_capital_m: float = param(
        1000.0, "RMB m", "Registered capital to lend online in one province.", source="draft rules: RMB 1 bn", ge=0
    )
    registered_capital_cross_m: float = param(
        5000.0, "RMB m", "Registered capital to lend across provinces.", source="draft rules: RMB 5 bn", ge=0
    )
    complaint_drag: float = param(
        1.0, "x client share", "Loss of a lender's collection contact per unit share of its delinquent loans "
        "held by intermediaries' clients (complaint load).", source="complaints rose from ~30% to ~85%, seed 000",
        ge=0, le=10,
    )
    complaint_cost: float = param(40.0, "RMB per complaint", "Cost to a lender of handling a complaint.", ge=0)


class CollectionsParams(Strict):
    contact_scale_days: float = param(
        158.0, "days", "Scale of the time overdue after which a borrower can no longer be reached (Weibull).",
        source="calibrated (docs/validation.md) so ~15% of borrowers 6 months overdue and ~5% at 12 months "
        "are reachable, seed 000",
        gt=0, le=3650,
    )
    contact_shape: float = param(
        0.665, "-", "Shape of that Weibull: below 1, contact is lost fastest early on.",
        source="calibrated with contact_scale_days", ge=0.1, le=10
    )  # below 0.1 the draws overflow a float32 (every borrower reachable forever) or underflow to 0
    recovery_share: float = param(
        0.3, "share of cash", "Share of a reached defaulted borrower's cash paid toward the claim.", ge=0, le=1
    )
    post_default_intensity: float = param(
        0.5, "x", "Lender contact intensity on written-off claims relative to delinquent loans.", ge=0, le=10
    )
    npl_buyer_intensity: float = param(
        0.03, "contacts per day", "Chance an NPL buyer reaches a reachable debtor on a day.", ge=0, le=1
    )


class Event(Strict):
    day: int = param(..., "day", "Recorded day on which the event takes effect (1 = first day, at most `days`).", ge=1)
    kind: Literal["crackdown", "rate_cap", "ad_policy", "balance_limit", "strategy"] = param(..., "-", "What changes.")
    target: str | None = param(None, "name", "Platform or restructurer the event applies to (all if omitted). "
        "A named target must exist; a crackdown without one in a scenario with no restructurers changes nothing "
        "(allowed: the no-intermediary counterfactual of a crackdown scenario).")
    value: float | str | None = param(None, "-", "New value: a rate, an amount, a policy or a strategy.")


class Scenario(Strict):
    """A whole market: who is in it, how they behave, the rules, and what happens when."""

    name: Annotated[str, AfterValidator(safe_name)] = param(
        "baseline", "-", "Scenario name; also the output folder: letters, digits, `_`, `-`, `.`. A file without "
        "`name:` is named after its file, other characters replaced by `_` (`my scen (v2).yaml`: `my_scen_v2`)."
    )
    description: str = param("", "-", "One line on what the scenario represents.")
    seed: int = param(0, "-", "Seed of the run.", ge=0)
    days: int = param(365, "days", "Recorded days.", ge=1, le=3650)
    burn_in_days: int = param(
        365, "days", "Days simulated before recording starts, so the loan book is seasoned.",
        source="a year: loans made on day 1 reach write-off (180 dpd) and NPL sale (270 dpd) within it, so "
        "losses flow at their steady rate from the first recorded day (docs/validation.md)",
        ge=0, le=1000,
    )
    market: MarketParams = Field(default_factory=MarketParams)
    consumers: ConsumerParams = Field(default_factory=ConsumerParams)
    merchants: MerchantParams = Field(default_factory=MerchantParams)
    platforms: list[PlatformParams] = Field(default_factory=lambda: default_platforms(), max_length=8)
    lenders: list[LenderParams] = Field(default_factory=lambda: default_lenders())
    restructurers: list[RestructurerParams] = Field(default_factory=lambda: default_restructurers(), max_length=127)
    regulation: RegulationParams = Field(default_factory=RegulationParams)
    collections: CollectionsParams = Field(default_factory=CollectionsParams)
    events: list[Event] = Field(default_factory=list)

    def __init__(self, /, **data: Any) -> None:
        """The keys of a scenario file as keyword arguments. A refusal is the one line a file's gets, `Scenario(...)`
        in place of the file name: a `sim.scenario_files.ScenarioError` (a ValueError), not pydantic's several
        lines. (Files are validated by `model_validate`, which does not come here.)"""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            from sim.scenario_files.messages import python_refusal  # the files' package imports this module

            raise python_refusal(exc, data, "Scenario(...)", keywords=True) from None

    # Pydantic calls a model's own `__init__` from `model_validate` too (a "custom init"), where this would name
    # `Scenario(...)` in a file's messages; marked as pydantic marks its own (RootModel does the same), it does not.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        for kind, items in (("platforms", self.platforms), ("lenders", self.lenders),
                            ("restructurers", self.restructurers)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise RuleBroken(f"{kind}: duplicate name {item.name!r}", kind)
                seen.add(item.name)
        lenders = {lender.name: lender for lender in self.lenders}
        owner: dict[str, str] = {}  # licensed lender -> the platform that owns it
        for p in self.platforms:
            fin = f"platforms.{p.name}.finance"
            refs = [("partners", ref) for ref in p.finance.partners]
            refs += [("license_lender", p.finance.license_lender)] if p.finance.license_lender else []
            for field, ref in refs:
                if ref not in lenders:
                    raise RuleBroken(f"{fin}.{field}: unknown lender {ref!r} (known: {', '.join(lenders) or 'none'})",
                                     f"{fin}.{field}", "lenders")
            duplicate = next((ref for i, ref in enumerate(p.finance.partners) if ref in p.finance.partners[:i]), None)
            if duplicate is not None:
                raise RuleBroken(f"{fin}.partners: duplicate lender {duplicate!r}", f"{fin}.partners")
            deposit, at = p.deposit, f"platforms.{p.name}.deposit"
            if deposit.restrict_cumulative < deposit.restrict_consecutive:
                raise RuleBroken(
                    f"{at}.restrict_cumulative: {deposit.restrict_cumulative} is below restrict_consecutive "
                    f"{deposit.restrict_consecutive}; it must be at least that (instalments missed in total include "
                    "those missed in a row)", f"{at}.restrict_cumulative", f"{at}.restrict_consecutive",
                )
            if p.finance.strategy == "own_license" and not p.finance.license_lender:
                raise RuleBroken(f"{fin}.license_lender: own_license needs a licence lender; "
                                 f"{_free_lenders(self, p.name)}", f"{fin}.license_lender", f"{fin}.strategy")
            lends_own = p.finance.strategy == "own_license" or any(_licenses(e, p.name) for e in self.events)
            if lends_own and p.finance.co_lending_own_share < self.regulation.co_lending_min_share:
                raise RuleBroken(
                    f"{fin}.co_lending_own_share: {p.finance.co_lending_own_share} is below "
                    f"regulation.co_lending_min_share {self.regulation.co_lending_min_share}",
                    f"{fin}.co_lending_own_share", "regulation.co_lending_min_share", f"{fin}.strategy", "events",
                )
            licensed = p.finance.license_lender
            if licensed and licensed in owner:
                # both keys, in list order: the file blamed may have set either of them
                first = f"platforms.{owner[licensed]}.finance.license_lender"
                raise RuleBroken(f"{first} and {fin}.license_lender both name {licensed!r}; a licensed lender "
                                 "belongs to one platform", f"{fin}.license_lender", first)
            if licensed:
                owner[licensed] = p.name
        platforms = {p.name: p for p in self.platforms}
        for lender in self.lenders:
            # an owned platform lender is checked only once licensed, after its registered capital is paid in
            holder = platforms.get(owner.get(lender.name, ""))
            starts_licensed = lender.kind != "platform" or holder is None or holder.finance.holds_license
            if starts_licensed and lender.min_capital_m > lender.equity_m:
                at = f"lenders.{lender.name}"
                raise RuleBroken(f"{at}.min_capital_m: {lender.min_capital_m:g} is above {at}.equity_m "
                                 f"{lender.equity_m:g}, so the lender would close at its first capital check; "
                                 "allowed: at most equity_m", f"{at}.min_capital_m", f"{at}.equity_m")
            buys = holder is not None and (holder.finance.strategy == "own_license"
                                           or any(_licenses(e, holder.name) for e in self.events))
            if not starts_licensed and buys:  # its equity on the day it is licensed is the capital paid in
                key = "registered_capital_cross_m" if holder.finance.cross_province else "registered_capital_m"
                capital = getattr(self.regulation, key)
                if lender.min_capital_m > capital:
                    at = f"lenders.{lender.name}.min_capital_m"
                    raise RuleBroken(f"{at}: {lender.min_capital_m:g} is above the registered capital "
                                     f"{holder.name} pays into it for its licence (regulation.{key} {capital:g}), so "
                                     f"the lender would close on the day it is licensed; allowed: at most that",
                                     at, f"regulation.{key}", f"platforms.{holder.name}.finance.cross_province")
        names = {"platform": set(platforms), "restructurer": {r.name for r in self.restructurers}}
        for i, e in enumerate(self.events):
            if e.day > self.days:
                raise RuleBroken(f"events.{i}.day: {e.day} is after the last recorded day, so it would never "
                                 f"happen; allowed: 1 to days ({self.days})", f"events.{i}.day", "days")
            kind = "restructurer" if e.kind == "crackdown" else "platform"
            targeted = e.target is not None and e.kind in ("crackdown", "ad_policy", "strategy")
            if targeted and e.target not in names[kind]:
                known = ", ".join(sorted(names[kind])) or f"none: the scenario has no {kind}s"
                raise RuleBroken(f"events.{i}.target: unknown name {e.target!r} (known: {known})",
                                 f"events.{i}.target", f"{kind}s")
            unlicensed = [p.name for p in self.platforms if _licenses(e, p.name) and not p.finance.license_lender]
            if unlicensed:
                fix = f"platforms.{unlicensed[0]}.finance.license_lender"
                raise RuleBroken(f"events.{i}.value: own_license needs a licence lender, and "
                                 f"{', '.join(unlicensed)} {'has' if len(unlicensed) == 1 else 'have'} none "
                                 f"(set {fix})", f"events.{i}.value", fix)
        return self

    @model_validator(mode="after")
    def _check_event_values(self) -> Scenario:
        allowed = {
            "ad_policy": ("allow", "restrict", "ban"),
            "strategy": ("none", "traffic_diversion", "own_license"),
        }
        for i, e in enumerate(self.events):
            at = f"events.{i}.value"
            if e.kind == "crackdown" and e.value is not None:
                raise RuleBroken(f"{at}: a crackdown takes no value, got {e.value!r}", at)
            if e.kind in allowed and e.value is None:  # left out (or an empty field in the dashboard)
                raise RuleBroken(f"{at}: {e.kind} needs a value, one of {', '.join(allowed[e.kind])}; none given", at)
            if e.kind in allowed and e.value not in allowed[e.kind]:
                raise RuleBroken(f"{at}: {e.value!r} is not one of {', '.join(allowed[e.kind])}"
                                 f"{suggest(e.value, allowed[e.kind])}", at)
            if e.kind in ("rate_cap", "balance_limit"):
                if e.value is None:
                    raise RuleBroken(f"{at}: {e.kind} needs a value, a number >= 0; none given", at)
                if isinstance(e.value, bool) or not isinstance(e.value, int | float) or e.value < 0:
                    raise RuleBroken(f"{at}: {e.kind} needs a number >= 0, got {e.value!r}", at)
                if e.kind == "rate_cap" and e.value > 1:
                    raise RuleBroken(f"{at}: rate_cap is a yearly rate between 0 and 1, got {e.value}", at)
                if e.value > LARGEST:
                    raise RuleBroken(f"{at}: {e.kind} needs a number <= {LARGEST:g}, got {e.value!r}", at)
                if e.target is not None:
                    raise RuleBroken(f"events.{i}.target: a {e.kind} event applies to the whole market; leave out "
                                     f"target (got {e.target!r})", f"events.{i}.target")
        return self

    @property
    def scale(self) -> float:
        """Real people per simulated consumer."""
        return self.market.real_population_m * 1e6 / max(self.consumers.count, 1)

    def institutional(self, rmb_m: float) -> float:
        """Convert an institution's amount in real RMB millions to simulated RMB."""
        return rmb_m * 1e6 / self.scale


def _free_lenders(scenario: Scenario, platform: str) -> str:
    """The lenders `platform` could name as its licence lender (any lender no other platform owns), as the end of a
    message."""
    taken = {p.finance.license_lender: p.name for p in scenario.platforms
             if p.name != platform and p.finance.license_lender}
    free = [lender.name for lender in scenario.lenders if lender.name not in taken]
    owned = ", ".join(f"{lender} is {owner}'s" for lender, owner in taken.items() if lender in
                      {x.name for x in scenario.lenders})
    if not free:
        return f"every lender is another platform's ({owned}); add one under lenders" if owned else \
            "there are no lenders; add one under lenders"
    return f"one of {', '.join(free)}" + (f" ({owned})" if owned else "")


def _licenses(event: Event, platform: str) -> bool:
    """Whether `event` turns `platform` to lending under its own licence."""
    return event.kind == "strategy" and event.value == "own_license" and event.target in (None, platform)


def default_platforms() -> list[PlatformParams]:
    """Three platforms of the source articles: community (no licence), video e-commerce (own licence),
    entertainment (credit through partners)."""
    return [
        PlatformParams(
            name="community", kind="community", mau_m=300, dau_ratio=0.5,
            tier_shares=[0.8531, 0.10, 0.0469], young_share=0.70, risk_shift=-0.5,
            purchase_rate=0.03, order_value=180.0, take_rate=0.05, settlement_delay_days=14,
            other_revenue_per_visit=0.5,
            merchant_share=0.25, merchant_growth=1.5, restructurer_ad_policy="allow",
            finance=FinanceParams(strategy="none"),
        ),
        PlatformParams(
            name="video", kind="video_commerce", mau_m=700, dau_ratio=0.58,
            tier_shares=[0.35, 0.30, 0.35], young_share=0.50, risk_shift=0.2,
            purchase_rate=0.0126, order_value=893.0, take_rate=0.05, settlement_delay_days=10,
            other_revenue_per_visit=0.7,
            merchant_share=0.55, restructurer_ad_policy="restrict",
            finance=FinanceParams(strategy="own_license", license_lender="video_credit", holds_license=True,
                                  partners=["big_bank", "cfc"], bnpl=True, cash_loans=True, merchant_loans=True),
        ),
        PlatformParams(
            name="entertainment", kind="entertainment", mau_m=500, dau_ratio=0.25,
            tier_shares=[0.45, 0.30, 0.25], young_share=0.55, risk_shift=0.3,
            purchase_rate=0.004, order_value=60.0, take_rate=0.0, settlement_delay_days=7,
            other_revenue_per_visit=0.6,
            merchant_share=0.20, lender_ads=True, restructurer_ad_policy="allow",
            # fee fitted to iQiyi's finance share of revenue (docs/validation.md): a large traffic source
            # takes the top of the industry's 2-5% range
            finance=FinanceParams(strategy="traffic_diversion", partners=["cfc", "micro_a", "micro_b"],
                                  cash_loans=True, diversion_fee=0.05),
        ),
    ]


def default_lenders() -> list[LenderParams]:
    # Online micro-loan licensees (the platform's own and three third-party micro-lenders) fitted to the
    # Guangzhou sector's turnover, revenue yield and margin (scenarios/targets/micro_lenders.yaml,
    # docs/validation.md): they price near 4 x LPR, not at the 24% judicial cap; operating cost refitted to 2.5%
    # in the seventeenth session, to 2.8% in the twenty-seventh (once lenders counted their own loans in full).
    micro = dict(kind="micro_lender", apr=0.116, risk_appetite=2.7, opex_rate=0.028, cash_loan_terms=9)
    return [
        LenderParams(name="video_credit", kind="platform", equity_m=6000, min_capital_m=1000, apr=0.114,
                     opex_rate=0.028, risk_appetite=3.0, score_noise=0.5, platform_data_noise=0.35,
                     advertises=False, cash_loan_terms=9, bnpl_terms=6),
        LenderParams(name="big_bank", kind="bank", equity_m=40_000, min_capital_m=10_000, leverage_max=10,
                     funding_rate=0.025, apr=0.12, risk_appetite=0.8, score_noise=0.8, advertises=False),
        LenderParams(name="cfc", kind="consumer_finance", equity_m=15_000, min_capital_m=5000, leverage_max=8,
                     funding_rate=0.035, apr=0.20, score_noise=0.9, merchant_loans=True),
        LenderParams(name="micro_a", equity_m=5000, min_capital_m=2000, funding_rate=0.05, score_noise=1.2, **micro),
        LenderParams(name="micro_b", equity_m=4000, min_capital_m=2000, funding_rate=0.055, score_noise=1.3, **micro),
        LenderParams(name="micro_c", equity_m=3000, min_capital_m=1500, funding_rate=0.06, score_noise=1.4, **micro),
    ]


def default_restructurers() -> list[RestructurerParams]:
    return [
        RestructurerParams(name="debt_optimizer", ad_budget_m=15.0, conversion=0.002),
        RestructurerParams(name="law_firm", ad_budget_m=8.0, conversion=0.0012, upfront_fee=800.0,
                           success_fee=0.08),
    ]
