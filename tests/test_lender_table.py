"""lenders.csv counts its running totals over the recorded days, as market.csv and summary.json do.

Its `originated`, `interest`, `write_offs`, `recoveries`, `applications` and `approvals` counted from the model's
construction, burn-in included: the first recorded row already held the burn-in's totals and the day before it is
not recorded, so a lender's figures over the recorded period could not be had from the file, nor reconciled with
the market table. The lenders themselves keep their running totals whole (credit reviews and validation read them).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from sim import MarketModel, Scenario
from sim.agents import Lender
from tests.conftest import merge

RUNNING = ("originated", "interest", "write_offs", "recoveries", "applications", "approvals")
COUNTS = ("applications", "approvals")


def scenario(burn_in_days: int, days: int) -> Scenario:
    """The default market, small, with early write-offs and NPL sales (30 and 60 days past due), so that loans are
    lent, written off, sold and recovered in the burn-in as well as on the recorded days; the video platform's own
    licence co-lends with partners (a loan's principal split between two lenders)."""
    data = merge(Scenario().model_dump(), {"days": days, "burn_in_days": burn_in_days,
                                           "consumers": {"count": 3000}, "merchants": {"count": 120}})
    for lender in data["lenders"]:
        lender.update(charge_off_dpd=30, npl_sale_dpd=60)
    return Scenario.model_validate(data)


def running(lend: Lender) -> dict[str, float]:
    """A lender's running totals since the model was built, under the lender table's column names."""
    t = lend.totals
    return {"originated": t["originated"], "interest": t["interest"], "write_offs": t["write_offs"],
            "recoveries": t["recoveries"] + t["npl_proceeds"], "applications": lend.applications,
            "approvals": lend.approvals}


class Run:
    """A run with 180 burn-in days and 60 recorded, and each lender's running totals at the burn-in's end and after
    recorded day 1."""

    def __init__(self) -> None:
        self.model = MarketModel(scenario(burn_in_days=180, days=60), rng=4)  # a seed with loans lent on day 1
        self.model.burn_in()
        self.at_burn_in_end = {lend.name: running(lend) for lend in self.model.lender_list}
        self.model.step()
        self.after_day_1 = {lend.name: running(lend) for lend in self.model.lender_list}
        self.model.run()
        self.market = self.model.market_table()
        self.lenders = self.model.lender_table()

    def row(self, day: int) -> pd.DataFrame:
        return self.lenders[self.lenders["day"] == day].set_index("name")


@pytest.fixture(scope="module")
def run() -> Run:
    return Run()


def assert_counted_from(row: pd.DataFrame, now: dict[str, dict[str, float]], start: dict[str, dict[str, Any]]) -> None:
    """Each lender's row holds its running totals `now` less those at `start`: counts exactly, amounts to rounding."""
    wrong = []
    for name, totals in now.items():
        for column in RUNNING:
            expected = totals[column] - start[name][column]
            tolerance = 0 if column in COUNTS else 1e-12 * abs(expected) + 1e-9
            if abs(row.at[name, column] - expected) > tolerance:
                wrong.append(f"{name}.{column}: {row.at[name, column]} != {expected}")
    assert not wrong, "; ".join(wrong)


def test_the_burn_in_leaves_totals_the_table_must_leave_out(run: Run) -> None:
    """Every running total is under way when recording begins (else the tests below could not tell the two
    meanings apart)."""
    for column in RUNNING:
        assert sum(totals[column] for totals in run.at_burn_in_end.values()) > 0, column


def test_the_first_recorded_row_holds_that_days_flows_only(run: Run) -> None:
    first = run.row(1)
    assert_counted_from(first, run.after_day_1, run.at_burn_in_end)
    day1 = run.market.iloc[0]
    assert day1["amount_originated"] > 0 and day1["interest_income"] > 0  # a day with flows to count
    assert first["originated"].sum() == pytest.approx(day1["amount_originated"] + day1["merchant_amount_originated"],
                                                      rel=1e-12)
    assert first["interest"].sum() == pytest.approx(day1["interest_income"], rel=1e-12)


def test_the_last_row_holds_the_recorded_periods_totals(run: Run) -> None:
    last = run.row(int(run.lenders["day"].max()))
    assert_counted_from(last, {lend.name: running(lend) for lend in run.model.lender_list}, run.at_burn_in_end)


def test_the_last_row_adds_up_to_the_market_tables_recorded_flows(run: Run) -> None:
    """Summed over lenders, the last row is what market.csv adds up over the recorded days: principal lent to
    consumers and shops (a co-lent loan's shares are each funder's `originated`, together the consumer's principal),
    interest received, principal written off (charge-offs, principal sold while still on the book and debt forgiven
    in settlements; consumer and shop loans) and recovered (after write-off, NPL proceeds and settlement payments on
    written-off claims; consumer and shop loans)."""
    m = run.market
    last = run.row(int(run.lenders["day"].max()))
    assert m["merchant_charged_off"].sum() > 0 and m["npl_proceeds"].sum() > 0  # every kind of flow is there
    wrong = []
    for column, market_columns in (("originated", ("amount_originated", "merchant_amount_originated")),
                                   ("interest", ("interest_income",)),
                                   ("write_offs", ("charged_off_principal", "merchant_charged_off")),
                                   ("recoveries", ("recoveries", "merchant_recoveries"))):
        recorded = sum(float(m[c].sum()) for c in market_columns)
        assert recorded > 0, column
        if last[column].sum() != pytest.approx(recorded, rel=1e-9):
            wrong.append(f"{column}: {last[column].sum()} != {recorded} ({' + '.join(market_columns)})")
    assert not wrong, "; ".join(wrong)


def test_the_lenders_keep_their_running_totals_whole(run: Run) -> None:
    """Only the table counts from day 1: what the model reads (credit reviews, validation) still holds the burn-in."""
    last = run.row(int(run.lenders["day"].max()))
    for lend in run.model.lender_list:
        assert lend.totals["originated"] == pytest.approx(
            run.at_burn_in_end[lend.name]["originated"] + last.at[lend.name, "originated"], rel=1e-12)


def test_without_a_burn_in_the_table_counts_from_the_start_as_before() -> None:
    model = MarketModel(scenario(burn_in_days=0, days=20), rng=3).run()
    lenders = model.lender_table()
    last = lenders[lenders["day"] == 20].set_index("name")
    for lend in model.lender_list:
        for column, value in running(lend).items():
            assert last.at[lend.name, column] == value, (lend.name, column)  # exactly: nothing is subtracted
    assert last["originated"].sum() > 0
    assert lenders["applications"].dtype.kind == "i" and lenders["approvals"].dtype.kind == "i"
