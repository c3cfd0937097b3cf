"""Identities that must hold every day; a broken one stops the run with a message naming it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.finance.loans import ACTIVE, CHARGED_OFF, FLOAT_FIELDS, SOLD

if TYPE_CHECKING:
    from sim.finance.loans import LoanBook
    from sim.model import MarketModel

RELATIVE_TOLERANCE = 1e-9  # floating-point rounding allowed, relative to the money in the system
ABSOLUTE_TOLERANCE = 1e-4  # RMB
# Flows that carry money from borrowers toward their loans (to the lender, or to an NPL buyer after a sale): every
# one is booked on a loan as principal repaid, interest paid or recovered after default. Flows that pay a loan out.
LOAN_PAYMENT_FLOWS = (
    "consumer_repayment", "consumer_cure", "merchant_repayment", "merchant_arrears_paid", "settlement_payment",
    "recovery_lender", "recovery_npl_buyer",
    *(f"sweep_{held}_{what}" for held in ("pending", "deposit") for what in ("instalment", "arrears", "prepayment",
                                                                             "recovery")),
)
DISBURSEMENT_FLOWS = ("loan_disbursed_bnpl", "loan_disbursed_cash", "loan_disbursed_merchant")
# Each lender running total (summed over lenders) and the ledger flows that move its money: the totals drive
# equity, credit reviews and lenders.csv, the flows move the cash; one booked without the other passes money's checks.
LENDER_TOTAL_FLOWS = {
    "funding_cost": ("lender_funding_cost",), "opex": ("lender_opex",), "collection_cost": ("collection_cost",),
    "complaint_cost": ("complaint_cost",), "ad_spend": ("lender_ads",), "npl_proceeds": ("npl_sale",),
    "fees_paid": ("diversion_fee", "co_lending_fee"), "settlements": ("settlement_payment",),
}
# Each platform revenue source (summed over platforms) and the ledger flow that pays it, whatever code moves it.
# ("lending" is its owned lender's interest, which is no platform flow: it is not checked here.)
PLATFORM_REVENUE_FLOWS = {
    "commission": "commission", "other": "other_revenue", "lender_ads": "lender_ads",
    "restructurer_ads": "restructurer_ads", "diversion_fees": "diversion_fee", "co_lending_fees": "co_lending_fee",
}


class InvariantError(RuntimeError):
    """An accounting identity broke: the model is wrong, not the scenario."""


def _differ(a: Any, b: Any, tol: float, scale: float = 0.0) -> Any:
    """Do two amounts (or arrays of them, element by element) differ by more than rounding (relative to them, and
    to `scale`, the size of any amounts subtracted to make one of them)? True when either is NaN (a plain `>`
    would say no)."""
    return ~(np.abs(a - b) <= tol + RELATIVE_TOLERANCE * (np.abs(a) + np.abs(b) + scale))


def check(model: MarketModel) -> None:
    """Raise InvariantError naming the first broken identity.

    Every comparison is written to fail on NaN (`not x <= tol`, never `x > tol`), and the numbers compared are
    first checked to be finite, so a NaN or infinity is named where it is rather than passing every test."""
    day = model.day
    ledger = model.ledger
    _check_finite(model, day)
    gross = {name: float(np.abs(account.balance).sum()) for name, account in ledger.accounts.items()}
    # rounding grows with the amounts added and subtracted: what is held, and what went through today
    tol = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * (sum(gross.values()) + sum(map(abs, ledger.today.values())))
    total = ledger.total_money()
    if not abs(total) <= tol:
        raise InvariantError(f"day {day}: money is not conserved: the accounts sum to {total:.6f} RMB, not 0")
    for name, account in ledger.accounts.items():
        if name == "outside":
            continue
        low = float(account.balance.min()) if account.balance.size else 0.0
        # judged against this account's own money: a large account elsewhere must not hide an overdraft here
        if not low >= -(ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * gross[name]):
            raise InvariantError(f"day {day}: negative balance in account '{name}': {low:.6f} RMB")
    for label, book in (("consumer", model.credit.consumer), ("merchant", model.credit.merchant)):
        gap = book.identity_error()
        if not gap <= tol:
            raise InvariantError(
                f"day {day}: {label} loan book: principal != outstanding + repaid + written_off + sold "
                f"(off by {gap:.6f} RMB)"
            )
        n = book.n
        if n and not float(book.outstanding[:n].min()) >= -tol:
            raise InvariantError(f"day {day}: {label} loan book: negative outstanding principal")
    book, debt, own = model.credit.rebuilt_aggregates()
    if not np.allclose(book, model.credit.book_by_lender, rtol=1e-9, atol=tol):
        raise InvariantError(f"day {day}: lenders' books differ from the sum of their loans")
    if not np.allclose(debt, model.consumers.debt[: model.consumers.n], rtol=1e-9, atol=1e-3):
        raise InvariantError(f"day {day}: consumers' debt differs from the sum of their loans")
    if not np.allclose(own, model.credit.own_debt, rtol=1e-9, atol=1e-3):
        raise InvariantError(f"day {day}: consumers' debt to a lender differs from the sum of its loans to them")
    _check_open_claims(model, day)
    _check_spells(model, day)
    _check_loan_flows(model, day, tol)
    _check_lender_funding(model, day, tol)
    _check_one_loan_per_shop(model, day)
    _check_running_totals(model, day, tol)
    from sim.metrics import MARKET_COLUMNS  # here: run.py imports InvariantError, and sim.metrics loads Mesa

    unreported = sorted(set(model.today) - set(MARKET_COLUMNS))
    if unreported:  # model.today is a defaultdict: a misspelt key would be a column of zeros, silently
        raise InvariantError(f"day {day}: model.today['{unreported[0]}'] is reported by no market column "
                             "(misspelt, or missing from metrics.MARKET_COLUMNS)")


def _check_finite(model: MarketModel, day: int) -> None:
    """Every balance, every float field of the loan books and every running total the model keeps is finite: a NaN
    would pass any comparison written as `x > tol`, and turns the tolerances themselves into NaN."""
    for name, account in model.ledger.accounts.items():
        if not math.isfinite(float(account.balance.sum())) and not np.isfinite(account.balance).all():
            where = int(np.flatnonzero(~np.isfinite(account.balance.ravel()))[0])
            raise InvariantError(f"day {day}: non-finite balance in account '{name}' (holder {where})")
    for label, book in (("consumer", model.credit.consumer), ("merchant", model.credit.merchant)):
        n = book.n
        for field in FLOAT_FIELDS:
            values = getattr(book, field)[:n]
            # a sum is finite when every value is (short of an overflow, which the row scan then clears)
            if not math.isfinite(float(values.sum())) and not np.isfinite(values).all():
                row = int(np.flatnonzero(~np.isfinite(values))[0])
                raise InvariantError(f"day {day}: {label} loan book: non-finite {field} ({values[row]}) in loan {row}")
    scalars = [(f"ledger flow '{flow}'", amount) for flow, amount in model.ledger.cumulative.items()]
    for lend in model.lender_list:
        scalars.append((f"lender {lend.name}'s debt", lend.debt))
        scalars.extend((f"lender {lend.name}'s total '{key}'", value) for key, value in lend.totals.items())
    for p in model.platform_list:
        scalars.extend((f"platform {p.name}'s revenue '{key}'", value) for key, value in p.revenue.items())
    scalars.extend((f"restructurer {r.name}'s fees", r.fees) for r in model.restructurer_list)
    for what, value in scalars:
        if not math.isfinite(value):
            raise InvariantError(f"day {day}: non-finite {what}: {value}")


def _check_open_claims(model: MarketModel, day: int) -> None:
    """Each consumer's count of open claims (which keeps a delinquency spell, and collection, going) equals
    the number of their charged-off or sold loans with something left to collect."""
    book, n = model.credit.consumer, model.credit.consumer.n
    status = book.status[:n]
    open_ = ((status == CHARGED_OFF) | (status == SOLD)) & (book.claim[:n] > 0)
    recount = np.bincount(book.borrower[:n][open_], minlength=model.consumers.n)
    counted = model.collections.open_claims
    if not np.array_equal(recount, counted):
        wrong = int(np.count_nonzero(recount != counted))
        raise InvariantError(f"day {day}: {wrong} consumers' open-claim counts differ from their charged-off "
                             f"and sold loans with a claim left")


def _check_spells(model: MarketModel, day: int) -> None:
    """Each consumer's count of loans in arrears equals their active loans with a missed instalment, and a consumer
    is in a delinquency spell exactly while one is, or a claim is open (the spell decides lenders' refusals,
    reachability and recruitment by intermediaries, so a stale or missing one changes the market quietly)."""
    c, book = model.consumers, model.credit.consumer
    n = book.n
    late = (book.status[:n] == ACTIVE) & (book.first_missed[:n] >= 0)
    recount = np.bincount(book.borrower[:n][late], minlength=c.n)
    if not np.array_equal(recount, c.loans_in_arrears[: c.n]):
        wrong = int(np.count_nonzero(recount != c.loans_in_arrears[: c.n]))
        raise InvariantError(f"day {day}: {wrong} consumers' counts of loans in arrears differ from their loans")
    in_spell = c.delinquent_since[: c.n] >= 0
    owes = (recount > 0) | (model.collections.open_claims > 0)
    if not np.array_equal(in_spell, owes):
        stale, missing = int(np.count_nonzero(in_spell & ~owes)), int(np.count_nonzero(owes & ~in_spell))
        raise InvariantError(f"day {day}: delinquency spells disagree with the loans: {stale} open with nothing late "
                             f"or owed, {missing} missing for consumers behind or owing")


def _check_loan_flows(model: MarketModel, day: int, tol: float) -> None:
    """Money and the books move together: what borrowers paid toward loans equals what the loans record as repaid,
    paid in interest or recovered; what lenders paid out equals the loans' principal; the lenders' interest income
    equals the interest the loans record. (A payment moved but not booked keeps money and every loan identity.)"""
    flows = model.ledger.cumulative
    books = (model.credit.consumer, model.credit.merchant)
    paid = math.fsum(flows.get(name, 0.0) for name in LOAN_PAYMENT_FLOWS)
    booked = math.fsum(float(b.repaid[: b.n].sum() + b.interest_paid[: b.n].sum() + b.recovered[: b.n].sum())
                       for b in books)
    if _differ(paid, booked, tol):
        raise InvariantError(f"day {day}: borrowers paid {paid:.6f} RMB toward loans, but the loans record "
                             f"{booked:.6f} RMB repaid, paid in interest or recovered")
    lent = math.fsum(flows.get(name, 0.0) for name in DISBURSEMENT_FLOWS)
    principal = math.fsum(float(b.principal[: b.n].sum()) for b in books)
    if _differ(lent, principal, tol):
        raise InvariantError(f"day {day}: lenders paid out {lent:.6f} RMB of loans, but the loans' principal is "
                             f"{principal:.6f} RMB")
    income = math.fsum(lend.totals["interest"] for lend in model.lender_list)
    interest = math.fsum(float(b.interest_paid[: b.n].sum()) for b in books)
    if _differ(income, interest, tol):
        raise InvariantError(f"day {day}: lenders' interest income {income:.6f} RMB differs from the interest the "
                             f"loans record as paid, {interest:.6f} RMB")


def _check_one_loan_per_shop(model: MarketModel, day: int) -> None:
    """No shop has more than one active shop loan: settlement sweeps and shop closures debit a shop's pending and
    deposit balances once per loan through an index they mark unique, which a second loan would repeat."""
    book = model.credit.merchant
    shops = book.borrower[book.active_ids()]
    if len(shops) > 1:
        counts = np.bincount(shops)
        shop = int(counts.argmax())
        if counts[shop] > 1:
            raise InvariantError(f"day {day}: shop {shop} has {int(counts[shop])} active shop loans (settlement "
                                 "sweeps and closures assume at most one)")


def _check_lender_funding(model: MarketModel, day: int, tol: float) -> None:
    """Lenders' funding debt (which sets their equity, lending room and exit) is what they borrowed from the outside
    world less what they repaid, and never negative. (The ledger sums flows over all lenders: the sum is checked.)"""
    for lend in model.lender_list:
        if not lend.debt >= -tol:
            raise InvariantError(f"day {day}: lender {lend.name}'s funding debt is negative: {lend.debt:.6f} RMB")
    flows = model.ledger.cumulative
    borrowed, repaid = flows.get("lender_borrowing", 0.0), flows.get("lender_debt_repayment", 0.0)
    debt = math.fsum(lend.debt for lend in model.lender_list)
    if _differ(debt, borrowed - repaid, tol, borrowed + repaid):
        raise InvariantError(f"day {day}: lenders' funding debt {debt:.6f} RMB differs from what they borrowed less "
                             f"what they repaid, {borrowed - repaid:.6f} RMB")


def _check_running_totals(model: MarketModel, day: int, tol: float) -> None:
    """The running totals lenders, platforms and restructurers keep (credit reviews, equity and the outputs read
    them) agree with the loans, per lender, and with the ledger's flows, summed."""
    lenders = model.lender_list
    n_l = len(lenders)
    consumer, merchant = model.credit.consumer, model.credit.merchant

    def by_lender(book: LoanBook, *fields: str) -> np.ndarray:
        n = book.n
        values = getattr(book, fields[0])[:n]
        for name in fields[1:]:
            values = values + getattr(book, name)[:n]
        return np.bincount(book.lender[:n], weights=values, minlength=n_l)[:n_l]

    shop_lost = by_lender(merchant, "written_off", "sold")
    rebuilt = {
        "write_offs": (by_lender(consumer, "written_off", "sold") + shop_lost, "written off or sold on its loans"),
        "shop_write_offs": (shop_lost, "written off or sold on its shop loans"),
        "originated": (by_lender(consumer, "principal") + by_lender(merchant, "principal"), "its loans' principal"),
        "interest": (by_lender(consumer, "interest_paid") + by_lender(merchant, "interest_paid"),
                     "the interest its loans record as paid"),
    }
    for key, (loans, what) in rebuilt.items():
        kept = np.array([lend.totals[key] for lend in lenders])
        wrong = _differ(kept, loans, tol)
        if wrong.any():
            j = int(np.flatnonzero(wrong)[0])
            raise InvariantError(f"day {day}: lender {lenders[j].name}'s total '{key}' {kept[j]:.6f} RMB differs "
                                 f"from {what}, {loans[j]:.6f} RMB")
    flows = model.ledger.cumulative
    for key, names in LENDER_TOTAL_FLOWS.items():
        kept = math.fsum(lend.totals[key] for lend in lenders)
        moved = math.fsum(flows.get(name, 0.0) for name in names)
        if _differ(kept, moved, tol):
            raise InvariantError(f"day {day}: lenders' total '{key}' {kept:.6f} RMB differs from the ledger's "
                                 f"{' + '.join(names)} flow, {moved:.6f} RMB")
    # recovered after default: by the lender, or by the NPL buyer once sold
    recovered = math.fsum(float(b.recovered[: b.n].sum()) for b in (consumer, merchant))
    to_buyers = flows.get("recovery_npl_buyer", 0.0)
    kept = math.fsum(lend.totals["recoveries"] for lend in lenders)
    if _differ(kept, recovered - to_buyers, tol, recovered + to_buyers):
        raise InvariantError(f"day {day}: lenders' total 'recoveries' {kept:.6f} RMB differs from what the loans "
                             f"record as recovered less the NPL buyers' recoveries, {recovered - to_buyers:.6f} RMB")
    for source, name in PLATFORM_REVENUE_FLOWS.items():
        kept = math.fsum(p.revenue[source] for p in model.platform_list)
        moved = flows.get(name, 0.0)
        if _differ(kept, moved, tol):
            raise InvariantError(f"day {day}: platforms' revenue '{source}' {kept:.6f} RMB differs from the ledger's "
                                 f"{name} flow, {moved:.6f} RMB")
    kept, moved = math.fsum(r.fees for r in model.restructurer_list), flows.get("restructurer_fee", 0.0)
    if _differ(kept, moved, tol):
        raise InvariantError(f"day {day}: restructurers' fees {kept:.6f} RMB differ from the ledger's restructurer_fee "
                             f"flow, {moved:.6f} RMB")
