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


class MedianRule:
    """The median rule against fixed finished curves, each prepared once (sorted by step,
    with running averages), so that a check costs a binary search per finished trial: a
    trial that reports every batch would otherwise rescan every curve at every report,
    and its reports would cost time quadratic in its steps.

    Args:
      finished_curves: earlier finished trials' ``[(step, value), ...]``, larger value better.
    """

    def __init__(self, finished_curves: Sequence[Sequence[Sequence[float]]], min_trials: int = MIN_TRIALS, warmup_steps: int = WARMUP_STEPS):
        self.min_trials, self.warmup_steps = min_trials, warmup_steps
        self._curves = []
        for c in finished_curves:
            if len(c):
                a = np.asarray(c, float).reshape(-1, 2)
                a = a[np.argsort(a[:, 0], kind="stable")]
                self._curves.append((a[:, 0], np.cumsum(a[:, 1]) / np.arange(1, len(a) + 1)))

    def should_stop(self, reports: int, step: float, best: float) -> bool:
        """Whether a running trial stops after its ``reports``-th report, at ``step``, with
        ``best`` its best value so far."""
        if reports <= self.warmup_steps:
            return False
        averages = []
        for steps, means in self._curves:
            k = int(np.searchsorted(steps, step, side="right"))
            if steps[-1] >= step and k:  # reached the step (as running_average_at asks)
                averages.append(means[k - 1])
        if len(averages) < self.min_trials:
            return False
        return best < float(np.median(averages))


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
    if not curve:
        return False
    return MedianRule(finished_curves, min_trials, warmup_steps).should_stop(len(curve), curve[-1][0], max(v for _, v in curve))
