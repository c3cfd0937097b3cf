"""Let finished models be freed under Mesa 3.3.

Mesa 3.3 numbers each model's agents from a class-level ``defaultdict`` keyed by the model
(``Agent._ids``), so every model that ever made an agent stays in memory for the life of the
process (mesa#3179; Mesa 3.4 moved the numbering into the model, mesa#3180). A sweep's, a
validation's or a facts run's worker process runs hundreds of models: each kept its loan book,
a few MB at 6,000 consumers, and `run.py facts` workers grew to about 5 GB. Python 3.11 can only
have Mesa 3.3, so the counters are kept in a dictionary that holds its models weakly instead:
the same numbering, without the reference.
"""

from __future__ import annotations

import itertools
import weakref
from collections import defaultdict

from mesa import Agent


class _CountersOfLiveModels(weakref.WeakKeyDictionary):
    """`defaultdict(lambda: itertools.count(1))` keyed weakly: a model's counter goes with the model."""

    def __getitem__(self, model: object) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


def free_finished_models() -> None:
    """Swap Mesa 3.3's strong per-model agent counters for weak ones (newer Mesa has none: no-op)."""
    counters = Agent.__dict__.get("_ids")
    if isinstance(counters, defaultdict):
        Agent._ids = _CountersOfLiveModels(counters)  # models built before this import keep their counters
