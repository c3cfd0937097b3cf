"""A Mesa DataCollector that records the day's market row and agent rows without per-value overhead.

Mesa's `collect` calls each model reporter, deep-copies its value and walks the model's agent sets;
here the market row is computed once a day (`model.daily`) and its numbers are plain floats and
ints, so they are appended as they are. The stored data, and so every table built from it, are what
Mesa's own `collect` would store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

if TYPE_CHECKING:
    from sim.model import MarketModel

# Mesa 3.4's batch_run reads a run's records at steps 0 .. steps - 1 (mesa#2514, mended in 3.5 by #3109): keyed
# by the time a day ends, its rows would repeat the first day and leave out the last. There a day's records
# are keyed by the time it began, as Mesa 3.3's batch_run counts them, so that every day comes once.
_KEY_OFFSET = 1 if mesa.__version__.startswith("3.4.") else 0


class DailyCollector(mesa.DataCollector):
    """Model reporters name the columns of `model.daily`; agent-type reporters are called per agent."""

    def __init__(self, model_columns: tuple[str, ...], agents: dict[type, list[mesa.Agent]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._model_columns = [(name, self.model_vars[name]) for name in model_columns]
        self._agents = {kind: (agents[kind], list(self.agenttype_reporters[kind].values()))
                        for kind in self.agenttype_reporters}

    def collect(self, model: MarketModel) -> None:
        row = model.daily
        for name, column in self._model_columns:
            column.append(row[name])
        # Mesa 3.4+ keys records by model time and lists the collection times (batch_run reads them);
        # Mesa 3.3 keys them by steps. Do as the installed Mesa's own `collect` does.
        key = getattr(model, "time", model.steps) - _KEY_OFFSET
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(key)
        steps = model.steps
        self._agenttype_records[key] = {
            kind: [(steps, agent.unique_id, *[report(agent) for report in reporters]) for agent in agents]
            for kind, (agents, reporters) in self._agents.items()
        }
