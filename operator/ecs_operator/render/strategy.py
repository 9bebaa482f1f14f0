"""How ECS splits a service's tasks over a capacity provider strategy.

ECS places each provider's ``base`` first (in strategy order), then shares the remaining tasks
in proportion to ``weight``. We compute the same split in closed form (largest remainder,
ties to the provider listed first) so a service becomes one workload per provider whose
replica counts always sum to ``desiredCount``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..api.shapes import CapacityProviderStrategyItem


def split(strategy: Sequence[CapacityProviderStrategyItem], desired: int) -> list[tuple[str, int]]:
    """``[(provider, tasks)]`` in strategy order, summing to ``desired``."""
    counts = [0] * len(strategy)
    left = desired
    for i, item in enumerate(strategy):
        take = min(item.base or 0, left)
        counts[i] += take
        left -= take
    weights = [item.weight or 0 for item in strategy]
    total = sum(weights)
    if left and total:
        shares = [left * w / total for w in weights]
        whole = [int(s) for s in shares]
        rest = left - sum(whole)
        order = sorted(range(len(strategy)), key=lambda i: (-(shares[i] - whole[i]), i))
        for i in order[:rest]:
            whole[i] += 1
        counts = [c + w for c, w in zip(counts, whole, strict=True)]
    elif left:
        counts[0] += left
    return [(item.capacityProvider, n) for item, n in zip(strategy, counts, strict=True)]
