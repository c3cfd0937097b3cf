"""Regression tests for bugs found by the review of consumer credit and its money flows (twenty-fifth session)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import MarketModel
from tests.conftest import small_scenario


def test_shop_credit_review_uses_the_shop_loans_rate_not_the_consumer_loans_risk_based_average() -> None:
    """A lender with risk-based pricing lends to consumers at quoted rates but to shops at its one rate; the
    month-end review of its shop loans must judge their losses against the margin of that rate. It used the
    average rate of the month's consumer loans (higher: apr plus a risk spread), so it tolerated more shop
    losses than the lender earns on them."""
    lenders = [lend.model_dump() for lend in small_scenario().lenders]
    priced = [{**lend, "risk_pricing": 0.8} if lend["name"] == "cfc" else lend for lend in lenders]
    one_price = MarketModel(small_scenario(days=1), rng=1).lender_by_name["cfc"]
    risk_priced = MarketModel(small_scenario(days=1, lenders=priced), rng=1).lender_by_name["cfc"]
    risk_priced.priced(np.full(10, 1_000.0), np.full(10, 0.24))  # the month's consumer loans, at the 24% cap
    for lend in (one_price, risk_priced):
        lend.totals["write_offs"] += 1_500.0
        lend.totals["shop_write_offs"] += 1_500.0  # 18% a year of a 100k shop book
        lend.review_underwriting(consumer_book=1_000_000.0, shop_book=100_000.0)
    p = one_price.params
    shop_margin = one_price.rate() - p.funding_rate - p.opex_rate
    assert one_price.shop_score_shift == pytest.approx(0.2 * 0.18 / (0.8 * shop_margin))
    assert risk_priced.shop_score_shift == pytest.approx(one_price.shop_score_shift)  # was 0.2 x 0.18 / (0.8 x 0.175)
