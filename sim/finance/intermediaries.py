"""Debt-restructuring intermediaries at work: ads, recruitment, complaints and settlements.

Clients stop paying and become harder to reach; their template complaints raise lenders' costs and
cut lenders' contact with all their delinquent borrowers; a few clients get a settlement at a haircut.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from sim.agents.consumers import NOT_DELINQUENT
from sim.finance.loans import ACTIVE, CHARGED_OFF
from sim.finance.repayment import book_interest
from sim.uniques import unique, unique_inverse

if TYPE_CHECKING:
    from sim.model import MarketModel

MIN_DPD_TO_RECRUIT = 15  # intermediaries target borrowers already in trouble
MAX_DRAG = 0.5  # complaints can halve a lender's collection contact, not stop it
BUDGET_REFERENCE_M = 10.0  # RMB m a year at which an intermediary reaches ~63% of a platform's late users


def run_day(model: MarketModel, t: int) -> None:
    rng = model.streams["restructurers"]
    _buy_ads(model)
    _recruit(model, t, rng)
    _complain(model)
    _settle(model, rng)


def _reach(model: MarketModel) -> np.ndarray:
    """Reach of each intermediary (rows) on each platform (columns), after platform ad policies."""
    out = np.zeros((len(model.restructurer_list), len(model.platform_list)))
    for r in model.restructurer_list:
        base = 1.0 - math.exp(-r.params.ad_budget_m / BUDGET_REFERENCE_M)
        for p in model.platform_list:
            out[r.index, p.index] = r.reach_on(base * p.restructurer_reach())
    return out


@lru_cache(maxsize=32)
def _signing_chance_table(reach_bytes: bytes, n_platforms: int, conversion: tuple[float, ...]) -> np.ndarray:
    """Daily chance of signing with each intermediary (columns) for each bitmask of platforms used
    (rows). Reach changes only with ad policies and crackdowns, so the table is kept per reach and
    each day's candidates just look their row up. Read-only: callers index it, never write it."""
    reach = np.frombuffer(reach_bytes).reshape(len(conversion), n_platforms)
    masks = np.arange(1 << n_platforms)
    table = np.zeros((len(masks), len(conversion)))
    for r, conv in enumerate(conversion):
        miss = np.ones(len(masks))
        for p in range(n_platforms):  # the same products, in the same order, as per consumer
            if reach[r, p] > 0:
                uses = (masks & (1 << p)) > 0
                miss *= np.where(uses, 1.0 - reach[r, p], 1.0)
        table[:, r] = conv * (1.0 - miss)
    table.flags.writeable = False
    return table


def _buy_ads(model: MarketModel) -> None:
    acc = model.accounts
    for r in model.restructurer_list:
        if not r.active:
            continue
        for p in model.platform_list:
            # No audience, nothing to buy: a platform without users sells no ad space.
            spend = r.daily_budget * p.restructurer_reach() if len(p.users) else 0.0
            if spend <= 0:
                continue
            short = spend - acc["restructurer"].balance[r.index]
            if short > 0:  # owners top up what its fees do not cover
                model.ledger.transfer("restructurer_funding", acc["outside"], acc["restructurer"], short, None,
                                      r.index)
            model.ledger.transfer("restructurer_ads", acc["restructurer"], acc["platform"], spend, r.index,
                                  p.index)
            p.book_revenue("restructurer_ads", spend)


def _recruit(model: MarketModel, t: int, rng: np.random.Generator) -> None:
    if t < MIN_DPD_TO_RECRUIT:  # no spell is old enough yet
        return
    c = model.consumers
    reach = _reach(model)
    if not np.count_nonzero(reach):
        return
    # NOT_DELINQUENT (-1) reads as the largest unsigned value, so one pass over all consumers finds the
    # spells old enough; only those few are then checked for an intermediary.
    old_enough = (c.delinquent_since[: c.n].view(np.uint32) <= t - MIN_DPD_TO_RECRUIT).nonzero()[0]
    cand = old_enough[c.client_of[old_enough] < 0]
    if len(cand) == 0:
        return
    # Daily chance of signing with each intermediary, over the platforms the consumer uses.
    conversion = tuple(r.params.conversion for r in model.restructurer_list)
    table = _signing_chance_table(reach.tobytes(), len(model.platform_list), conversion)
    p_sign = table[c.platforms[cand]]
    total = p_sign.sum(axis=1)
    signs = rng.random(len(cand)) < total
    if not np.count_nonzero(signs):
        return
    who = cand[signs]
    cum = np.cumsum(p_sign[signs], axis=1) / total[signs, None]
    # The last cumulative share may round to just under 1: a draw above it still picks the last one.
    pick = np.minimum((rng.random(len(who))[:, None] > cum).sum(axis=1), cum.shape[1] - 1)
    # Only a consumer with a loan to settle is signed. One whose debts were all sold has a spell that goes on
    # (the NPL buyer is owed) but nothing `_settle` can settle: released with nothing done, they would be
    # signed, and pay the upfront fee, again and again. Turned away after the draws, so that every
    # candidate takes the draws it would otherwise and later draws do not shift.
    keep = _has_loan_to_settle(model, who)
    who, pick = who[keep], pick[keep]
    if len(who) == 0:
        return
    acc = model.accounts
    fee = np.asarray([r.params.upfront_fee for r in model.restructurer_list])[pick]
    paid = np.minimum(fee, np.maximum(acc["consumer"].balance[who], 0.0))
    model.ledger.transfer("restructurer_fee", acc["consumer"], acc["restructurer"], paid, who, pick)
    loss = np.asarray([r.params.contact_loss for r in model.restructurer_list])[pick]
    age = t - c.delinquent_since[who]
    remaining = np.maximum(c.contact_lost_after[who] - age, 0.0)
    c.contact_lost_after[who] = age + remaining / loss
    c.client_of[who] = pick
    for r in model.restructurer_list:
        mine = pick == r.index
        r.clients_signed += int(np.count_nonzero(mine))
        r.fees += float(paid[mine].sum())
    model.today["restructurer_signups"] += len(who)
    model.today["restructurer_fees"] += float(paid.sum())


def _complain(model: MarketModel) -> None:
    """Clients' template complaints: a cost per complaint and a drag on each lender's collections."""
    book, c = model.credit.consumer, model.consumers
    late = book.delinquent_ids()
    n_l = len(model.lender_list)
    drag = np.zeros(n_l)
    for lend in model.lender_list:
        lend.complaints_today = 0.0
    if len(late):
        borrower, lender = book.borrower[late], book.lender[late]
        is_client = c.client_of[borrower] >= 0
        client_lender = lender[is_client]
        late_by_lender = np.bincount(lender, minlength=n_l)
        client_by_lender = np.bincount(client_lender, minlength=n_l)
        share = np.divide(client_by_lender, late_by_lender, out=np.zeros(n_l), where=late_by_lender > 0)
        drag = np.minimum(model.regulation.complaint_drag * share, MAX_DRAG)
        per_client = np.asarray([r.params.complaints_per_client for r in model.restructurer_list])
        # Each (client, lender) pair once, ordered by client then lender: unique keys of one array.
        pair = borrower[is_client].astype(np.int64) * n_l + client_lender
        who, at = np.divmod(unique(pair), n_l)
        complaints = np.bincount(at, weights=per_client[c.client_of[who]] / 30.0, minlength=n_l)
        for lend, count in zip(model.lender_list, complaints.tolist(), strict=True):
            lend.complaints_today = float(count)  # bincount of no pairs gives integer zeros
            cost = lend.complaints_today * model.regulation.complaint_cost
            if cost:
                model.ledger.transfer("complaint_cost", model.accounts["lender"], model.accounts["outside"], cost,
                                      lend.index)
                lend.totals["complaint_cost"] += cost
        model.today["complaints"] += float(complaints.sum())
    model.collections.drag[:] = drag


def _loans_to_settle(model: MarketModel, consumers: np.ndarray) -> np.ndarray:
    """The consumers' active loans and charged-off loans with a claim left, in increasing order as one scan of
    the book would give them. A claim already 0 has nothing to settle (closing it again would miscount the
    debtor's open claims); sold loans belong to the NPL buyer, with whom intermediaries do not deal."""
    book, c = model.credit.consumer, model.consumers
    mask = np.zeros(c.n, dtype=bool)
    mask[consumers] = True
    active = book.active_ids()
    claims = book.claim_ids()
    loans = np.concatenate([active[mask[book.borrower[active]]],
                            claims[mask[book.borrower[claims]] & (book.status[claims] == CHARGED_OFF)]])
    loans.sort()
    return loans


def _has_loan_to_settle(model: MarketModel, consumers: np.ndarray) -> np.ndarray:
    """Whether each of `consumers` has a loan `_settle` could settle."""
    c = model.consumers
    has = c.loans_in_arrears[consumers] > 0  # a loan in arrears is active: the book is searched only for the rest
    rest = consumers[~has]
    if len(rest):
        found = np.zeros(c.n, dtype=bool)
        found[model.credit.consumer.borrower[_loans_to_settle(model, rest)]] = True
        has[~has] = found[rest]
    return has


def _settle(model: MarketModel, rng: np.random.Generator) -> None:
    """Some clients' debts are settled: they pay what they can of the lender's haircut offer, the rest
    is forgiven, and the intermediary takes a share of what was forgiven."""
    c = model.consumers
    clients = (c.client_of[: c.n] >= 0).nonzero()[0]
    if len(clients) == 0:
        return
    rate = np.asarray([r.params.settlement_rate for r in model.restructurer_list])[c.client_of[clients]]
    settling = clients[rng.random(len(clients)) < rate]
    if len(settling) == 0:
        return
    book = model.credit.consumer
    loans = _loans_to_settle(model, settling)
    # A client with nothing to settle had their debts sold while signed: released, with no fee, their spell goes on
    # while the NPL buyer holds a claim (here, or with the others at the end), and `_recruit` does not sign them again.
    if len(loans) == 0:
        c.client_of[settling] = -1
        return
    acc, ledger = model.accounts, model.ledger
    haircut = np.asarray([lend.params.settlement_haircut for lend in model.lender_list])[book.lender[loans]]
    on_book = np.where(book.status[loans] == ACTIVE, book.outstanding[loans] + book.arrears_interest[loans],
                       book.claim[loans])
    offer = (1.0 - haircut) * on_book
    who = book.borrower[loans]
    # Each client spends what cash they have across their loans, pro rata to the offers.
    uniq, inv = unique_inverse(who)
    offer_total = np.bincount(inv, weights=offer)
    afford = np.minimum(1.0, np.divide(np.maximum(acc["consumer"].balance[uniq], 0.0), offer_total,
                                       out=np.ones(len(uniq)), where=offer_total > 0))
    pay = offer * afford[inv]
    ledger.transfer("settlement_payment", acc["consumer"], acc["lender"], pay, who, book.lender[loans],
                    src_unique=False)
    active = book.status[loans] == ACTIVE
    a_ids, a_pay = loans[active], pay[active]
    model.today["delinquent_collections"] += float(a_pay.sum())
    interest = np.minimum(a_pay, book.arrears_interest[a_ids])
    principal = np.minimum(a_pay - interest, book.outstanding[a_ids])
    book.outstanding[a_ids] -= principal
    book.repaid[a_ids] += principal
    book.interest_paid[a_ids] += interest
    model.credit.principal_reduced(book, a_ids, principal)
    book_interest(model, book.lender[a_ids], interest)
    forgiven = book.settle(a_ids)
    model.credit.principal_reduced(book, a_ids, forgiven)
    was_late = book.first_missed[a_ids] >= 0
    np.subtract.at(c.loans_in_arrears, book.borrower[a_ids[was_late]], 1)
    forgiven_sum = float(forgiven.sum())
    model.today["charged_off_principal"] += forgiven_sum  # a lender writes forgiven debt off
    model.today["settlement_forgiven"] += forgiven_sum  # ... so a reader can tell it from charge-offs
    for lend in model.lender_list:
        sel = book.lender[a_ids] == lend.index
        lend.totals["write_offs"] += float(forgiven[sel].sum())
        lend.totals["settlements"] += float(pay[book.lender[loans] == lend.index].sum())
    co_ids, co_pay = loans[~active], pay[~active]
    book.recovered[co_ids] += co_pay
    recovered = np.bincount(book.lender[co_ids], weights=co_pay, minlength=len(model.lender_list))
    for lend in model.lender_list:
        lend.totals["recoveries"] += float(recovered[lend.index])
    book.claim[co_ids] = 0.0
    model.collections.close_claims(co_ids)
    model.today["recoveries"] += float(co_pay.sum())
    model.today["settlement_recoveries"] += float(pay.sum())
    # Success fee on the debt forgiven, from whatever cash the client has left.
    forgiven_total = np.bincount(inv, weights=on_book - pay)
    fee_rate = np.asarray([r.params.success_fee for r in model.restructurer_list])[c.client_of[uniq]]
    fee = np.minimum(fee_rate * forgiven_total, np.maximum(acc["consumer"].balance[uniq], 0.0))
    ledger.transfer("restructurer_fee", acc["consumer"], acc["restructurer"], fee, uniq, c.client_of[uniq])
    for r in model.restructurer_list:
        mine = c.client_of[uniq] == r.index
        r.fees += float(fee[mine].sum())
        r.settlements += int(np.count_nonzero(mine))
    model.today["restructurer_fees"] += float(fee.sum())
    c.client_of[settling] = -1
    still_late = c.loans_in_arrears[settling] > 0
    done = settling[~still_late & (model.collections.open_claims[settling] == 0)]
    c.delinquent_since[done] = NOT_DELINQUENT
    c.contact_lost_after[done] = np.inf
