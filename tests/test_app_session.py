"""The dashboard's logic without a browser: controls, refusals, side-by-side runs, views' data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.app import charts, follow, network
from sim.app.session import Session
from sim.app.variant import ALL


@pytest.fixture
def session() -> Session:
    s = Session()
    s.set("days", 40)
    return s


def test_a_control_rebuilds_the_model_with_the_override(session: Session) -> None:
    session.step(3)
    assert session.set("strategy", "traffic_diversion", "community") is None
    assert session.day == 0
    assert session.value("strategy", "community") == "traffic_diversion"
    assert session.runs[0].model.scenario.platforms[0].finance.strategy == "traffic_diversion"


@pytest.mark.parametrize(("control", "value", "platform", "expected"), [
    ("rate_cap", "abc", None, "rate cap = abc: regulation.rate_cap: 'abc' is not a number"),
    ("rate_cap", "2", None, "out of range"),
    ("deposit_cap", "-5", "video", "video deposit cap = -5"),
    ("strategy", "own_license", "community", "license_lender: required for strategy own_license"),
    ("consumers", "many", None, "number of consumers = many"),
])
def test_a_bad_value_is_refused_with_one_line(session: Session, control: str, value: str, platform: str | None,
                                               expected: str) -> None:
    session.step(2)
    before = session.runs[0].model
    message = session.set(control, value, platform)
    assert message is not None and expected in message and "\n" not in message
    assert session.error == message
    assert session.runs[0].model is before and session.day == 2  # the running model is untouched


def test_side_by_side_runs_share_the_seed_and_differ_by_one_setting(session: Session) -> None:
    assert session.set_compare(True) is None
    a, b = session.runs
    assert session.variant.platform == "video" and session.variant.value == "none"
    assert a.model.scenario.seed == b.model.scenario.seed
    assert b.model.scenario.platforms[1].finance.strategy == "none"
    session.step(20)
    assert a.model.market_table()["bnpl_orders"].sum() > b.model.market_table()["bnpl_orders"].sum() == 0
    assert session.set_compare(True, platform=ALL, setting="ad_policy") is None
    assert {p.restructurer_ad_policy for p in session.runs[1].model.scenario.platforms} == {"ban"}
    message = session.set_compare(True, setting="deposit_cap", value="lots")
    assert message is not None and message.startswith("side-by-side refused: run B:") and not session.compare


def test_views_are_plain_json_and_follow_a_borrower(session: Session) -> None:
    session.set_compare(True)
    session.step(15)
    borrower = follow.random_borrower(session.runs[0].model, np.random.default_rng(0))
    assert session.follow(borrower) is None
    session.step(5)
    assert [h["day"] for h in session.runs[0].follow] == list(range(15, 21))
    assert follow.loans(session.runs[0].model, borrower)
    json.dumps([charts.all_charts(session.runs), network.option(session.runs[0].model),
                follow.option(session.runs[0]), follow.profile(session.runs[0].model, borrower)])
    g = network.graph(session.runs[0].model)
    lent = sum(d["amount"] for _, _, d in g.edges(data=True) if d["kind"] == "lends")
    book = session.runs[0].model.credit.consumer
    assert lent >= book.principal[: book.n].sum() * 0.99  # every consumer loan comes through a platform
    assert session.follow(10**9) is not None


def test_play_batches_measure_speed(session: Session) -> None:
    done = session.play_batch(budget_s=0.05)
    assert done >= 1 and session.speed > 0
    while not session.finished:
        session.play_batch(budget_s=0.05)
    assert session.day == 40
