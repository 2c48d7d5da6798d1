"""Early stopping of trials from their intermediate objective values: the median rule.

A trial is stopped at step ``t`` when the best objective value it has reported up to ``t`` is
worse than the median, over earlier finished trials that reached step ``t``, of their
running averages up to ``t`` (Golovin et al. 2017, "Google Vizier"; the rule SageMaker's
``"Auto"`` early stopping applies). Values are oriented so that larger is better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Earlier trials that must have reached a step before the rule applies there.
MIN_TRIALS = 3
# Reports before the rule may stop a trial (its first values are too noisy to judge).
WARMUP_STEPS = 1


def running_average_at(curve: Sequence[Sequence[float]], step: float) -> float | None:
    """Mean of a curve's values at steps <= ``step``, or None if it never reached ``step``."""
    if not curve or max(s for s, _ in curve) < step:
        return None
    values = [v for s, v in curve if s <= step]
    return float(np.mean(values)) if values else None


def should_stop(
    curve: Sequence[Sequence[float]],
    finished_curves: Sequence[Sequence[Sequence[float]]],
    min_trials: int = MIN_TRIALS,
    warmup_steps: int = WARMUP_STEPS,
) -> bool:
    """The median rule for a running trial.

    Args:
      curve: the running trial's ``[(step, value), ...]`` so far, larger value better.
      finished_curves: the same for earlier finished trials.
    """
    if len(curve) <= warmup_steps:
        return False
    step = curve[-1][0]
    averages = [a for a in (running_average_at(c, step) for c in finished_curves) if a is not None]
    if len(averages) < min_trials:
        return False
    best = max(v for _, v in curve)
    return best < float(np.median(averages))
