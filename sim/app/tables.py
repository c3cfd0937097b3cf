"""A model's tables for the live charts, extended by the days recorded since the last redraw.

`MarketModel.market_table()` and its per-agent tables build a DataFrame of every recorded day from the data
collector's Python records each time they are called. The page redraws after every play batch, so a long run
redrew slower and slower (about 80 ms a redraw for the tables alone at day 1,000 side by side). A recorded day never
changes, so the table drawn last is kept and only the new days' records are converted and appended: the same table
(the tests compare them), at a cost that does not grow with the run.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.agents.lender import Lender
from sim.agents.platform import Platform

if TYPE_CHECKING:
    from sim.model import MarketModel

KINDS: dict[str, type] = {"platforms": Platform, "lenders": Lender}
_KEPT: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, pd.DataFrame]]] = weakref.WeakKeyDictionary()
"""Per model (held weakly: a replaced model is freed): table name -> (days it holds, the table)."""
_LOCK = threading.Lock()


def table(model: MarketModel, name: str) -> pd.DataFrame:
    """The model's `market`, `platforms` or `lenders` table as of its last recorded day: the same frame as
    `market_table()`, `platform_table()` or `lender_table()`."""
    collector = model.datacollector
    days = len(collector.model_vars.get("day", ()))
    kind = KINDS.get(name)
    if not days or (kind is not None and kind not in collector.agenttype_reporters):
        return _full(model, name)  # nothing recorded yet, or no such agents: the model's own (empty) table
    with _LOCK:
        held, old = _KEPT.get(model, {}).get(name, (0, None))
    if old is not None and held == days:
        return old
    if old is None or held > days:  # held > days: cannot happen (days are only added), but rebuild if it does
        held, new = 0, _full(model, name)
    else:
        new = pd.concat([old, _rows(model, name, held)], ignore_index=True)
    with _LOCK:
        _KEPT.setdefault(model, {})[name] = (days, new)
    return new


def _full(model: MarketModel, name: str) -> pd.DataFrame:
    return {"market": model.market_table, "platforms": model.platform_table, "lenders": model.lender_table}[name]()


def _rows(model: MarketModel, name: str, held: int) -> pd.DataFrame:
    """The rows of the days after the first `held`, as the model's table has them (without its index)."""
    collector = model.datacollector
    if name == "market":
        return pd.DataFrame({column: values[held:] for column, values in collector.model_vars.items()})
    kind = KINDS[name]
    # one entry a recorded day, in order (sim.collector.DailyCollector), as Mesa's own table reads them
    days = itertools.islice(collector._agenttype_records.values(), held, None)
    records = itertools.chain.from_iterable(day[kind] for day in days if kind in day)
    columns = ["Step", "AgentID", *collector.agenttype_reporters[kind]]
    return pd.DataFrame.from_records(list(records), columns=columns).drop(columns=["Step", "AgentID"])
