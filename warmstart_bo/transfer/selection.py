"""Per-step selection among the transfer priors by leave-one-out evidence.

At every step each candidate model of the target (stacked, ICM, RGPE) predicts the
target's own points, each held out in turn (closed form, hyperparameters fixed). The model
that misorders the fewest pairs of them is chosen (the guard's criterion: Bayesian
optimization needs the ranking right, not the scale); among models that rank equally well,
the one with the larger leave-one-out log predictive density. The chosen model then faces
the guard against the target-only GP (:func:`warmstart_bo.transfer.guard.guard`) as the
stacked and ICM priors do (RGPE, chosen here, is judged so too; alone it relies on its
weights). Issue 13 asked whether choosing per step beats any fixed prior; the transfer
benchmark says it does not (``experiments/results/select-probe/``).

Known limits of the evidence: the tie-break's densities are not on one footing (the held-out
level's variance includes the noise, the parents' levels and members predict without it,
and RGPE shrinks its variance by the squared weights as its predictions do), and RGPE's
weights were fitted by ranking the same target points, so its evidence is partly in-sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from warmstart_bo.transfer.common import ranking_loss

CANDIDATES = ("icm", "stacked", "rgpe")


class Selection(NamedTuple):
    """The chosen candidate and every candidate's evidence: misordered pairs and LOO log
    predictive density (nats, summed over the target's points)."""

    choice: str
    losses: dict[str, int]
    log_densities: dict[str, float]


def log_predictive_density(mean: np.ndarray, var: np.ndarray, y: np.ndarray) -> float:
    """``sum_i log N(y_i | mean_i, var_i)``: the leave-one-out (pseudo-)likelihood."""
    mean, var, y = (np.asarray(a, dtype=np.float64) for a in (mean, var, y))
    var = np.maximum(var, 1e-12)
    return float(np.sum(-0.5 * np.log(2.0 * np.pi * var) - 0.5 * (y - mean) ** 2 / var))


def select(candidates: Mapping[str, tuple[np.ndarray, np.ndarray]], y: np.ndarray) -> Selection:
    """The candidate whose leave-one-out moments ``(mean, var)`` (n,) rank the outcomes
    ``y`` (n,) best, ties broken by log predictive density, then by ``candidates``' order.
    A candidate with a non-finite moment is never chosen while another is finite."""
    if not candidates:
        raise ValueError("select needs at least one candidate")
    y = np.asarray(y, dtype=np.float64)
    losses, densities = {}, {}
    for name, (mean, var) in candidates.items():
        losses[name] = int(ranking_loss(np.asarray(mean), y))
        lpd = log_predictive_density(mean, var, y)
        densities[name] = lpd if np.isfinite(lpd) else -np.inf
    order = list(candidates)
    choice = min(order, key=lambda k: (densities[k] == -np.inf, losses[k], -densities[k], order.index(k)))
    return Selection(choice, losses, densities)
