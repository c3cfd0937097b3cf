"""One seed per run, one independent generator per mechanism.

Streams are spawned from the run's seed in a fixed order; a new mechanism is appended at the end so
existing mechanisms keep their draws. Two scenarios that differ only in a strategy therefore see the
same consumers, the same shocks, and the same buyers, order values and shop-choice draws (common
random numbers; which shop a draw lands on depends on the shops open that day). Draws whose number
depends on outcomes (underwriting noise, collections) drift apart once a strategy changes them.
"""

from __future__ import annotations

import numpy as np

STREAMS = (
    "population",  # who the consumers and merchants are
    "traffic",  # who visits which platform
    "shopping",  # orders, order values, merchant choice, refunds
    "shocks",  # liquidity shocks
    "credit",  # applications and underwriting noise
    "repayment",  # willingness to pay on due days
    "collections",  # contact, cure, reachability
    "restructurers",  # recruitment and settlements
    "merchants",  # demand trends, entry
)


def spawn_streams(seed: int | np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """Return one generator per mechanism, all derived from `seed`."""
    if isinstance(seed, np.random.SeedSequence):
        # Spawn from a copy: `spawn` advances its caller, so the same SeedSequence passed twice would
        # otherwise give two different markets.
        root = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size,
                                      n_children_spawned=seed.n_children_spawned)
    else:
        root = np.random.SeedSequence(seed)
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, root.spawn(len(STREAMS)), strict=True)}
