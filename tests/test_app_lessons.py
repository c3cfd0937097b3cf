"""The lesson plans in docs/teaching.md: what students are told they will see, checked on seed 0.

Each check runs the two sides of a lesson's side-by-side comparison through the dashboard's own
`Session`, so a model change that breaks a lesson fails here rather than in front of a class.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.app.session import LIBRARY, Session
from sim.app.variant import ALL


def _played(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    while not session.finished:
        session.step(30)
    a, b = session.runs
    return a.model.market_table(), b.model.market_table()


def _revenue(session: Session, run: int, platform: str) -> dict[str, float]:
    return next(p.revenue for p in session.runs[run].model.platform_list if p.name == platform)


def test_lesson_1_platforms_without_a_licence_earn_from_credit() -> None:
    s = Session()
    s.set("days", 120)  # the lesson plays 180 days; the same shows sooner
    assert s.set_compare(True, platform="entertainment", setting="strategy", value="none") is None
    _played(s)
    community = _revenue(s, 0, "community")
    ent_a, ent_b = _revenue(s, 0, "entertainment"), _revenue(s, 1, "entertainment")
    assert community["lender_ads"] > 0 and community["lending"] == community["diversion_fees"] == 0
    assert ent_a["diversion_fees"] > 0 and ent_b["diversion_fees"] == 0
    assert ent_b["lender_ads"] > 2 * ent_a["lender_ads"]
    finance = lambda r: r["lender_ads"] + r["diversion_fees"] + r["lending"]  # noqa: E731
    assert 0 < finance(ent_b) < finance(ent_a)

    assert s.set_compare(True, platform="video", setting="strategy", value="none") is None
    a, b = _played(s)
    assert a["bnpl_orders"].sum() > 0 and b["bnpl_orders"].sum() == 0
    assert _revenue(s, 1, "video")["lender_ads"] > 1.5 * _revenue(s, 0, "video")["lender_ads"]


@pytest.mark.slow
def test_lesson_2_data_sweeps_and_deposits_hold_shop_loan_losses() -> None:
    s = Session()
    s.set("days", 365)
    assert s.set_compare(True, platform="video", setting="cash_flow_cover", value="0") is None
    a, b = _played(s)
    assert a["programme_charged_off"].sum() < b["programme_charged_off"].sum()
    s.set("cash_flow_cover", 0, "video")
    s.set("settlement_sweep", False, "video")
    assert s.set_compare(True, platform="video", setting="deposit_cap", value="0") is None
    a, b = _played(s)
    assert b["programme_charged_off"].sum() > 2 * a["programme_charged_off"].sum() + 1000


@pytest.mark.slow
def test_lesson_3_intermediaries_raise_write_offs() -> None:
    s = Session(LIBRARY / "restructurer_crackdown.yaml")
    s.set("consumers", 5000)
    assert s.set_compare(True, platform=ALL, setting="ad_policy", value="ban") is None
    a, b = _played(s)
    assert a["restructurer_clients"].max() > 0 and b["restructurer_clients"].max() == 0
    assert a["charged_off_principal"].sum() > 3 * b["charged_off_principal"].sum()
