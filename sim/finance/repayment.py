"""Instalments falling due: consumers pay from cash; shops pay from cash or, under a platform's
shop-loan programme, from their pending settlement and deposit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.finance.credit import group_sum
from sim.finance.loans import LoanBook

if TYPE_CHECKING:
    from sim.model import MarketModel


def all_or_nothing(keys: np.ndarray, amounts: np.ndarray, cash: np.ndarray, willing: np.ndarray) -> np.ndarray:
    """Per loan row: does its borrower pay? A borrower pays all of today's rows or none of them, and
    only with cash for all of them and the will to pay (`willing` is per unique borrower)."""
    uniq, totals, inverse = group_sum(keys, amounts)
    pays = (cash[uniq] >= totals) & willing(uniq)
    return pays[inverse]


def settle_payments(model: MarketModel, book: LoanBook, ids: np.ndarray, principal: np.ndarray,
                    interest: np.ndarray, src: str, flow: str) -> None:
    """Move repayment money from borrowers to lenders and book the interest income."""
    ledger, acc = model.ledger, model.accounts
    ledger.transfer(flow, acc[src], acc["lender"], principal + interest, book.borrower[ids], book.lender[ids],
                    src_unique=False)
    model.credit.principal_reduced(book, ids, principal)
    book_interest(model, book.lender[ids], interest)


def book_interest(model: MarketModel, lenders: np.ndarray, interest: np.ndarray) -> None:
    """Interest income of each lender; for a lender its platform owns it is also the platform's
    (consolidated) lending revenue."""
    if len(lenders) == 0:
        return
    by_lender = np.bincount(lenders, weights=interest, minlength=len(model.lender_list))
    for lender, amount in zip(model.lender_list, by_lender.tolist(), strict=True):
        if amount:
            lender.totals["interest"] += amount
            if lender.owner is not None and model.platform_list[lender.owner].owns_lender():
                model.platform_list[lender.owner].book_revenue("lending", amount)
    model.today["interest_income"] += float(interest.sum())


def consumer_instalments(model: MarketModel, t: int, rng: np.random.Generator) -> None:
    """Instalments due today: each consumer pays all of them from cash, or misses all of them."""
    book = model.credit.consumer
    due = book.due_ids(t)
    if len(due) == 0:
        return
    c = model.consumers
    principal, interest = book.instalment(due)
    cash = model.accounts["consumer"].balance

    def willing(uniq: np.ndarray) -> np.ndarray:
        return (rng.random(len(uniq)) < c.willingness[uniq]) & (c.client_of[uniq] < 0)

    pays = all_or_nothing(book.borrower[due], principal + interest, cash, willing)
    book.advance_schedule(due)
    paid, paid_principal, paid_interest = due[pays], principal[pays], interest[pays]
    settle_payments(model, book, paid, paid_principal, paid_interest, "consumer", "consumer_repayment")
    book.record_payment(paid, paid_principal, paid_interest)
    miss = ~pays
    missed = due[miss]
    newly_late = missed[book.first_missed[missed] < 0]
    book.record_miss(missed, principal[miss], interest[miss], t)
    model.collections.consumers_fell_behind(newly_late, t)
    model.today["instalments_due"] += len(due)
    model.today["instalments_missed"] += len(missed)


def merchant_instalments(model: MarketModel, t: int, rng: np.random.Generator) -> None:
    """Shop-loan instalments due today.

    Programme loans (the platform's lender, platform index >= 0) are collected by the platform: with
    settlement sweeps on, from the pending balance first and the deposit next, then from cash.
    Third-party loans are paid from cash, if the shop chooses to.
    """
    book = model.credit.merchant
    due = book.due_ids(t)
    if len(due) == 0:
        return
    principal, interest = book.instalment(due)
    book.advance_schedule(due)
    amount = principal + interest
    shops = book.borrower[due]
    swept = model.settlement.sweep(due, amount, "instalment")
    remaining = amount - swept
    cash = model.accounts["merchant_cash"].balance
    programme = book.platform[due] >= 0
    distressed = model.merchants.days_short[shops] > 0
    will = programme | (rng.random(len(due)) < model.scenario.merchants.willingness)
    from_cash = (cash[shops] >= remaining) & ~distressed & will & (remaining > 0)
    model.ledger.transfer("merchant_repayment", model.accounts["merchant_cash"], model.accounts["lender"],
                          remaining[from_cash], shops[from_cash], book.lender[due[from_cash]], src_unique=False)
    paid_amount = swept + np.where(from_cash, remaining, 0.0)
    full = paid_amount >= amount - 1e-9
    p_ids = due[full]
    model.credit.principal_reduced(book, p_ids, principal[full])
    book_interest(model, book.lender[p_ids], interest[full])
    book.record_payment(p_ids, principal[full], interest[full])
    # A partly swept instalment: the swept part pays interest then principal, the rest is arrears.
    part = ~full
    miss_ids = due[part]
    book.record_miss(miss_ids, principal[part], interest[part], t)
    if len(miss_ids):
        p_paid, i_paid = book.pay_arrears(miss_ids, paid_amount[part])
        model.credit.principal_reduced(book, miss_ids, p_paid)
        book_interest(model, book.lender[miss_ids], i_paid)
    model.settlement.after_missed(miss_ids)
