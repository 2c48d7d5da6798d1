"""The guard against negative transfer, as a pure function of leave-one-out predictions.

At every step with at least ``MIN_POINTS`` target observations, a transfer model is judged
against the target-only GP by how well each ranks the target's own points when each point
is held out (leave-one-out means, closed form for both). Transfer is used only when its
ranking is at least as good. The optimizer makes a rejected step a cold start's step (the
next point of cold start's quasi-random design, then the target-only GP) and interleaves
two design points among the first four, so that the comparison sees points the parents did
not choose (``Optimizer(transfer_guard=...)``). RGPE has a guard of its own (its weights
drop a parent that ranks worse than the target model).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from warmstart_bo.transfer.common import ranking_loss

MIN_POINTS = 3


class GuardDecision(NamedTuple):
    """Whether to use the transfer model, and the two ranking losses behind the decision
    (misordered pairs; None when there were too few points to judge)."""

    use_transfer: bool
    transfer_loss: int | None
    target_loss: int | None


def guard(transfer_loo_mean: np.ndarray, target_loo_mean: np.ndarray, y: np.ndarray) -> GuardDecision:
    """Compares the leave-one-out rankings of the target's outcomes ``y`` (n,) by the
    transfer model and by the target-only GP; transfer wins ties."""
    y = np.asarray(y)
    if len(y) < MIN_POINTS:
        return GuardDecision(True, None, None)
    theirs = int(ranking_loss(np.asarray(transfer_loo_mean), y))
    own = int(ranking_loss(np.asarray(target_loo_mean), y))
    return GuardDecision(theirs <= own, theirs, own)
