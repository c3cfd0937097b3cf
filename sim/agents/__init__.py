"""The actors: few rich ones as mesa.Agent subclasses, many simple ones as array populations."""

from sim.agents.consumers import Consumers
from sim.agents.lender import Lender
from sim.agents.merchants import Merchants
from sim.agents.platform import Platform
from sim.agents.restructurer import Restructurer
from sim.agents.unique_ids import free_finished_models

free_finished_models()

__all__ = ["Consumers", "Lender", "Merchants", "Platform", "Restructurer"]
