"""Money adds up and every loan's principal identity holds, under every strategy combination."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim import InvariantError, MarketModel, Scenario
from sim.finance import intermediaries
from sim.finance.loans import ACTIVE, CHARGED_OFF
from sim.invariants import check
from tests.conftest import merge

STRATEGIES = ("none", "traffic_diversion", "own_license")
TINY = {"days": 75, "burn_in_days": 30, "consumers": {"count": 1500}, "merchants": {"count": 90}}


def combo_scenario(strategies: tuple[str, ...]) -> Scenario:
    """The baseline market with each platform's strategy set; every platform gets a lender it may own."""
    data = merge(Scenario().model_dump(), TINY)
    owned = {"community": "community_credit", "video": "video_credit", "entertainment": "fun_credit"}
    existing = {lender["name"] for lender in data["lenders"]}
    for platform, strategy in zip(data["platforms"], strategies, strict=True):
        lender = owned[platform["name"]]
        if lender not in existing:
            data["lenders"].append({"name": lender, "kind": "platform", "equity_m": 6000, "min_capital_m": 1000})
        fin = platform["finance"]
        fin.update(strategy=strategy, license_lender=lender, bnpl=True, cash_loans=True, merchant_loans=True,
                   partners=fin["partners"] or ["big_bank"])
    data["platforms"][0]["finance"]["holds_license"] = True
    data["platforms"][2]["finance"]["holds_license"] = False
    data["platforms"][2]["finance"]["license_delay_days"] = 20
    data["platforms"][2]["cash_m"] = 20_000
    return Scenario.model_validate(data)


@pytest.mark.parametrize("strategies", list(itertools.product(STRATEGIES, repeat=3)), ids="-".join)
def test_identities_hold_every_day_for_every_strategy_combination(strategies: tuple[str, ...]) -> None:
    model = MarketModel(combo_scenario(strategies), rng=11, check_invariants=True)
    model.run()  # check_invariants raises InvariantError on the first broken identity
    assert abs(model.ledger.total_money()) < 1e-3
    assert model.credit.consumer.identity_error() < 1e-6
    assert model.credit.consumer.n > 0


def test_money_flows_are_recorded_by_name(baseline_small: MarketModel) -> None:
    flows = baseline_small.ledger.cumulative
    for name in ("income", "purchase_cash", "loan_disbursed_bnpl", "loan_disbursed_cash", "consumer_repayment",
                 "commission", "settlement", "diversion_fee", "restructurer_ads", "collection_cost"):
        assert flows[name] > 0, name


def test_a_broken_money_identity_stops_the_run_with_its_name() -> None:
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(3)
    model.accounts["consumer"].balance[0] += 100.0  # money from nowhere
    with pytest.raises(InvariantError, match="money is not conserved"):
        check(model)


def test_a_repeated_index_called_unique_stops_the_transfer_when_checking() -> None:
    """A source index that repeats but is passed as unique is debited once for several rows: money made from
    nothing. With checks on, the ledger names the flow instead of letting the day end with a vague imbalance."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    acc = model.accounts
    before = acc["consumer"].balance.copy()
    with pytest.raises(InvariantError, match="flow listing_fee: the source index repeats consumer 7 but is marked"):
        model.ledger.transfer("listing_fee", acc["consumer"], acc["outside"], np.ones(3), np.array([7, 7, 8]))
    assert np.array_equal(acc["consumer"].balance, before)  # stopped before any money moved
    model.ledger.transfer("listing_fee", acc["consumer"], acc["outside"], np.ones(3), np.array([7, 7, 8]),
                          src_unique=False)
    assert acc["consumer"].balance[7] == before[7] - 2


def test_a_shop_with_two_active_loans_is_named_and_a_tuple_index_is_checked_for_repeats() -> None:
    """Sweeps and closures debit `(slice(None), shops)` as a unique index, assuming one active loan per shop; neither
    the assumption nor a tuple index was checked. A shop given a second active loan is now named, and a repeated
    shop inside a tuple index stops the transfer (a shop repeated across pending slots is no repeat)."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(40)
    book = model.credit.merchant
    active = book.active_ids()
    assert len(active) >= 2
    saved = int(book.borrower[active[0]])
    shop = int(book.borrower[active[1]])
    book.borrower[active[0]] = shop
    with pytest.raises(InvariantError, match=rf"shop {shop} has 2 active shop loans"):
        check(model)
    book.borrower[active[0]] = saved
    check(model)
    acc = model.accounts
    pending = acc["merchant_pending"]
    assert pending.balance.shape[0] >= 2  # pending slots
    before = pending.balance.copy()
    with pytest.raises(InvariantError, match="flow sweep_pending_instalment: the source index repeats "
                                             "merchant_pending 5 but is marked unique"):
        model.ledger.transfer("sweep_pending_instalment", pending, acc["lender"], np.ones((len(before), 2)),
                              (slice(None), np.array([5, 5])), 0)
    with pytest.raises(InvariantError, match=r"the source index repeats merchant_pending \(1, 5\)"):
        model.ledger.transfer("commission", pending, acc["platform"], np.ones(3), (np.array([0, 1, 1]),
                                                                                 np.array([5, 5, 5])), 0)
    assert np.array_equal(pending.balance, before)  # stopped before any money moved
    model.ledger.transfer("commission", pending, acc["platform"], np.ones(2), (np.array([0, 1]), np.array([5, 5])), 0)
    assert pending.balance[0, 5] == before[0, 5] - 1 and pending.balance[1, 5] == before[1, 5] - 1


def test_an_overdraft_is_judged_against_its_own_account_and_rounding_against_the_days_flows() -> None:
    """The tolerance was relative to all the money in the market: a lender 15 RMB overdrawn passed beside large
    consumer balances, while a day moving 1e14 through the outside world failed on its rounding."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(2)
    acc = model.accounts
    acc["consumer"].balance[0] += 1e12  # a rich market (as a transfer: money stays conserved)
    acc["outside"].balance[0] -= 1e12
    check(model)
    model.ledger.transfer("fee", acc["lender"], acc["outside"], float(acc["lender"].balance[0]) + 15.0, 0)
    with pytest.raises(InvariantError, match=r"negative balance in account 'lender': -15\.0"):
        check(model)
    big = Scenario(days=3, burn_in_days=0, platforms=[{"name": "solo"}], lenders=[], restructurers=[],
                   consumers={"count": 2000, "tier_income": [1e10] * 3, "buffer_months": 0.0, "spend_excess": 1.0})
    MarketModel(big, rng=0, check_invariants=True).run()  # 1e13 of income a day, rounded in one account


def test_a_daily_figure_no_column_reports_is_named() -> None:
    """`model.today` defaults a missing key to 0: a figure written under a misspelt name was a column of zeros."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(2)
    model.today["recoveris"] += 5.0
    with pytest.raises(InvariantError, match=r"model.today\['recoveris'\] is reported by no market column"):
        check(model)


def test_a_broken_loan_identity_is_named() -> None:
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2)
    model.run(20)
    book = model.credit.consumer
    book.repaid[0] += 5.0
    with pytest.raises(InvariantError, match="principal != outstanding"):
        check(model)


def test_a_nan_is_named_with_its_field_not_passed_by_every_comparison() -> None:
    """`gap > tol` is False for NaN: a NaN in one loan's `repaid` or `interest_paid` passed every loan identity,
    and a NaN in the outside account made the tolerance itself NaN. Each is now named where it is."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(20)
    book = model.credit.consumer
    row = int(np.flatnonzero(book.repaid[: book.n] > 0)[0])
    for field in ("repaid", "interest_paid", "recovered"):
        values = getattr(book, field)
        saved = values[row]
        values[row] = np.nan
        with pytest.raises(InvariantError, match=rf"consumer loan book: non-finite {field} \(nan\) in loan {row}"):
            check(model)
        values[row] = saved
    check(model)
    outside = model.accounts["outside"].balance
    saved = outside[0]
    outside[0] = np.nan
    with pytest.raises(InvariantError, match="non-finite balance in account 'outside'"):
        check(model)
    outside[0] = saved
    check(model)
    lender = model.lender_list[0]
    lender.totals["opex"] = np.inf
    with pytest.raises(InvariantError, match=rf"non-finite lender {lender.name}'s total 'opex': inf"):
        check(model)


def test_a_payment_moved_but_not_booked_on_its_loan_is_named() -> None:
    """A repayment transferred without reducing its loan keeps money conserved and every loan identity: the check
    of the money paid toward loans against what the loans record catches it, and likewise a loan paid out but not
    booked, and interest income booked without its payment."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(5)
    check(model)
    acc, ledger = model.accounts, model.ledger
    ledger.transfer("consumer_repayment", acc["consumer"], acc["lender"], 50.0, 0, 1)
    with pytest.raises(InvariantError, match=r"borrowers paid .* toward loans, but the loans record"):
        check(model)
    ledger.transfer("consumer_repayment", acc["lender"], acc["consumer"], 50.0, 1, 0)
    ledger.cumulative["consumer_repayment"] -= 100.0  # both moves undone
    check(model)
    ledger.transfer("loan_disbursed_cash", acc["lender"], acc["consumer"], 80.0, 1, 0)
    with pytest.raises(InvariantError, match=r"lenders paid out .* of loans, but the loans' principal"):
        check(model)
    ledger.transfer("loan_disbursed_cash", acc["consumer"], acc["lender"], 80.0, 0, 1)
    ledger.cumulative["loan_disbursed_cash"] -= 160.0
    check(model)
    model.lender_list[0].totals["interest"] += 3.0
    with pytest.raises(InvariantError, match="interest income"):
        check(model)


def test_lenders_funding_debt_is_what_they_borrowed_less_what_they_repaid() -> None:
    """A lender's funding debt sets its equity, lending room and exit, but was never checked: a million added to
    one passed. It is now the ledger's borrowing less its repayments (summed over lenders), and never negative."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(20)
    lender = model.lender_list[0]
    saved = lender.debt
    lender.debt += 1e6
    with pytest.raises(InvariantError, match=r"lenders' funding debt .* differs from what they borrowed less what "
                                             "they repaid"):
        check(model)
    lender.debt = -5.0
    with pytest.raises(InvariantError, match=rf"lender {lender.name}'s funding debt is negative: -5\.0"):
        check(model)
    lender.debt = saved
    check(model)


def test_running_totals_of_lenders_platforms_and_restructurers_are_checked() -> None:
    """Running totals drive credit reviews (write-offs), equity and the outputs, and could be corrupted silently:
    each is now checked against the loans (per lender) or against the ledger flow that moves its money."""
    from sim.invariants import LENDER_TOTAL_FLOWS, PLATFORM_REVENUE_FLOWS

    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(40)
    assert model.credit.merchant.n > 0
    lenders = model.lender_list
    for key in ("write_offs", "shop_write_offs", "originated"):
        lenders[1].totals[key] += 1000.0
        with pytest.raises(InvariantError, match=rf"lender {lenders[1].name}'s total '{key}' .* differs from"):
            check(model)
        lenders[1].totals[key] -= 1000.0
    lenders[0].totals["interest"] += 5.0  # moved between lenders: their sum still matches the loans
    lenders[1].totals["interest"] -= 5.0
    with pytest.raises(InvariantError, match=rf"lender {lenders[0].name}'s total 'interest' .* differs from the "
                                             "interest its loans record"):
        check(model)
    lenders[0].totals["interest"] -= 5.0
    lenders[1].totals["interest"] += 5.0
    check(model)
    for key in (*LENDER_TOTAL_FLOWS, "recoveries"):
        lenders[2].totals[key] += 1000.0
        with pytest.raises(InvariantError, match=rf"lenders' total '{key}' .* differs from"):
            check(model)
        lenders[2].totals[key] -= 1000.0
    platform = model.platform_list[1]
    for source, flow in PLATFORM_REVENUE_FLOWS.items():
        platform.book_revenue(source, 1e6)
        with pytest.raises(InvariantError, match=rf"platforms' revenue '{source}' .* differs from the ledger's "
                                                 rf"{flow} flow"):
            check(model)
        platform.book_revenue(source, -1e6)
    model.restructurer_list[0].fees += 100.0
    with pytest.raises(InvariantError, match=r"restructurers' fees .* differ from the ledger's restructurer_fee flow"):
        check(model)
    model.restructurer_list[0].fees -= 100.0
    check(model)


def test_a_stale_or_missing_delinquency_spell_is_named() -> None:
    """The count of a consumer's loans in arrears and their delinquency spell follow the loans; a count left behind
    (a spell never ended, or one never begun) changed refusals, reachability and recruitment without any check."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    model.run(40)
    c = model.consumers
    current = int(np.flatnonzero(c.delinquent_since[: c.n] < 0)[0])
    c.delinquent_since[current] = model.t
    with pytest.raises(InvariantError, match="1 open with nothing late or owed, 0 missing"):
        check(model)
    c.delinquent_since[current] = -1
    check(model)
    c.loans_in_arrears[current] += 1
    with pytest.raises(InvariantError, match="counts of loans in arrears differ"):
        check(model)


def test_aggregates_match_the_loans(baseline_small: MarketModel) -> None:
    book, debt, own = baseline_small.credit.rebuilt_aggregates()
    assert np.allclose(book, baseline_small.credit.book_by_lender)
    assert np.allclose(debt, baseline_small.consumers.debt)
    assert np.allclose(own, baseline_small.credit.own_debt) and own.sum() > 0


def test_due_delinquent_and_claim_indexes_find_the_loans_a_scan_of_the_book_finds() -> None:
    data = merge(Scenario().model_dump(), TINY)
    for lender in data["lenders"]:  # early write-offs and NPL sales, so claims come and go
        lender.update(charge_off_dpd=30, npl_sale_dpd=60)
    model = MarketModel(Scenario.model_validate(data), rng=3)

    def compare() -> None:
        for book in (model.credit.consumer, model.credit.merchant):
            n = book.n
            due = np.flatnonzero((book.next_due[:n] == model.t) & (book.status[:n] == ACTIVE))
            assert np.array_equal(book.due_ids(model.t), due)
            late = np.flatnonzero((book.first_missed[:n] >= 0) & (book.status[:n] == ACTIVE))
            assert np.array_equal(book.delinquent_ids(), late)
            assert np.array_equal(book.claim_ids(), np.flatnonzero(book.claim[:n] > 0))

    model.burn_in(on_day=compare)
    for _ in range(150):
        compare()
        model.step()


def test_several_claims_on_one_shop_never_take_more_than_its_deposit() -> None:
    """Claims are paid from deposits in order; a shop with several claims in one batch pays each from
    what the earlier ones left (each capped at the whole deposit, they overdrew it: found by Hypothesis)."""
    from sim.commerce import _within_balance

    want = np.array([5.0, 5.0, 5.0, 2.0, 3.0])
    shops = np.array([1, 0, 1, 1, 0])
    deposit = np.array([7.0, 4.0])
    pay = _within_balance(want, shops, deposit)
    assert pay.tolist() == [4.0, 5.0, 0.0, 0.0, 2.0]
    assert np.bincount(shops, weights=pay).tolist() == [7.0, 4.0]



def test_settling_a_client_twice_keeps_open_claims_counted() -> None:
    """A client whose spell stays open (a claim sold to an NPL buyer) can be recruited and settled again, once a new
    loan gives them something to settle; the second settlement must not close again the claims that are already
    closed (the spell would end early, or its count go negative and never end)."""
    # liquidity shocks at six times the baseline's, so that a small market writes loans off (2-9 loans with a
    # claim left on seeds 1-3)
    stressed = {**TINY, "days": 400, "consumers": {"count": 3000, "shock_rate": 0.009}}
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), stressed)), rng=3)
    model.run()
    book, n = model.credit.consumer, model.credit.consumer.n
    charged_off = (book.status[:n] == CHARGED_OFF) & (book.claim[:n] > 0)
    assert charged_off.any()
    debtors = np.unique(book.borrower[:n][charged_off])
    for r in model.restructurer_list:
        r.params.settlement_rate = 1.0  # every client settles on the day
    for _ in range(2):  # sign up and settle, then again, as when a sold claim keeps the spell open
        model.consumers.client_of[debtors] = 0
        intermediaries._settle(model, np.random.default_rng(0))
        check(model)  # the open-claims count still matches the loans with a claim left


def test_held_sales_are_kept_when_every_settlement_delay_is_zero() -> None:
    """With every delay 0 the pending balance has one slot, which is also tomorrow's: a frozen shop's held
    sales must stay in it, not vanish."""
    data = merge(Scenario().model_dump(), {**TINY, "days": 120, "consumers": {"count": 5000},
                                          "merchants": {"count": 200}})
    for p in data["platforms"]:
        p["settlement_delay_days"] = 0
    model = MarketModel(Scenario.model_validate(data), rng=1, check_invariants=True)
    frozen_days = 0
    for _ in range(data["days"]):  # the first step runs the burn-in too
        model.step()
        frozen_days += int(model.merchants.frozen[: model.merchants.n].sum())
    assert model.settlement.ring == 1
    assert frozen_days > 0  # the case under test happened


def test_the_new_daily_columns_agree_with_the_books(baseline_small: MarketModel) -> None:
    """interest_income adds up to what the lenders booked; shop-loan amounts to what they lent to shops; missed
    instalments are some of those due."""
    market, lenders = baseline_small.market_table(), baseline_small.lender_table()
    first, last = lenders[lenders["day"] == 1], lenders[lenders["day"] == lenders["day"].max()]
    booked = last["interest"].sum() - first["interest"].sum() + market["interest_income"].iloc[0]
    assert market["interest_income"].sum() == pytest.approx(booked, rel=1e-9)
    lent = last["originated"].sum() - first["originated"].sum()
    lent_day1 = market["amount_originated"].iloc[0] + market["merchant_amount_originated"].iloc[0]
    assert (market["amount_originated"] + market["merchant_amount_originated"]).sum() == pytest.approx(
        lent + lent_day1, rel=1e-9)
    assert (market["instalments_missed"] <= market["instalments_due"]).all() and market["instalments_due"].sum() > 0
    assert (market["bnpl_gmv"] <= market["gmv"] + 1e-6).all() and market["bnpl_gmv"].sum() > 0


def test_an_intermediary_s_owners_pay_in_only_what_its_cash_does_not_cover() -> None:
    """Owners topped up a whole day's spend on each platform where the intermediary was short, so its cash grew
    from outside money it did not need; now they pay in the difference, and a short intermediary ends the day's
    ad buying with nothing left."""
    model = MarketModel(Scenario.model_validate(merge(Scenario().model_dump(), TINY)), rng=2, check_invariants=True)
    r, acc = model.restructurer_list[0], model.accounts
    spends = [r.daily_budget * p.restructurer_reach() for p in model.platform_list if len(p.users)]
    assert acc["restructurer"].balance[r.index] == 0.0 and min(spends) > 0
    held = 0.5 * min(spends)  # short on every platform
    model.ledger.transfer("restructurer_funding", acc["outside"], acc["restructurer"], held, None, r.index)
    paid_in = model.ledger.cumulative["restructurer_funding"]
    intermediaries._buy_ads(model)
    assert acc["restructurer"].balance[r.index] == pytest.approx(0.0, abs=1e-9)
    others = sum(o.daily_budget * p.restructurer_reach() for o in model.restructurer_list[1:]
                 for p in model.platform_list if len(p.users))
    assert model.ledger.cumulative["restructurer_funding"] - paid_in == pytest.approx(sum(spends) - held + others)
    check(model)
