"""Ranking-weighted Gaussian-process ensemble (RGPE; Feurer, Letham & Bakshy 2018).

One GP per parent task and one for the target, combined as
``mean = sum_i w_i mu_i(x)`` and ``var = sum_i w_i^2 var_i(x)``. A model's weight is the
probability that it ranks the target's observed outcomes best: over posterior samples,
count misordered pairs against the target's outcomes (the target's own model judged by
leave-one-out predictions, so it cannot win by memorizing), and give each sample's win to
the model with the fewest. A parent whose median loss exceeds the 95th percentile of the
target model's losses is dropped ("weight dilution prevention"), so an unrelated parent
fades out as target data accumulate.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from warmstart_bo import gp, runtime
from warmstart_bo.transfer.common import ranking_loss

_predict_joint = runtime.Program(gp.predict_joint)
_loo = runtime.Program(gp.loo_predictions)


class EnsemblePosterior(NamedTuple):
    """Member posteriors (parents first, the target last) and their weights."""

    members: tuple[gp.Posterior, ...]
    weights: jax.Array  # (M,)

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return predict(self, x)


def _weigh(moments: list[tuple[jax.Array, jax.Array]], weights: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Members' (mean, variance) as one: ``sum_i w_i mu_i`` and ``sum_i w_i^2 var_i``."""
    mean = jnp.zeros_like(moments[0][0])
    var = jnp.zeros_like(mean)
    for w, (m, v) in zip(weights, moments):
        mean = mean + w * m
        var = var + w**2 * v
    return mean, var


def predict(ensemble: EnsemblePosterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return _weigh([gp.predict(member, x) for member in ensemble.members], ensemble.weights)


def loo_predictions(ensemble: EnsemblePosterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out moments at the target member's rows: the parents' members predict
    there (they never saw them), the target's holds each row out
    (:func:`gp.loo_predictions`), combined with the ensemble's weights. Padded rows get NaN."""
    target = ensemble.members[-1]
    parents = [gp.predict(member, target.data.x) for member in ensemble.members[:-1]]
    return _weigh(parents + [gp.loo_predictions(target)], ensemble.weights)


def _joint_samples(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray, num: int) -> np.ndarray:
    n = len(mean)
    jitter = 1e-9 * max(1.0, float(np.mean(np.diag(cov))))
    for _ in range(8):
        try:
            chol = np.linalg.cholesky(cov + jitter * np.eye(n))
            break
        except np.linalg.LinAlgError:
            jitter *= 10.0
    else:
        chol = np.diag(np.sqrt(np.maximum(np.diag(cov), 0.0)))
    return mean + rng.standard_normal((num, n)) @ chol.T


def sample_losses(
    parents: list[gp.Posterior], target: gp.Posterior, rng: np.random.Generator, num_samples: int = 256
) -> np.ndarray:
    """Ranking losses (M, S) of each parent model and of the target model (last row).

    Parent models are sampled jointly at the target's points. The target model's sample
    pairs a leave-one-out draw at each point with in-sample draws at the others; with
    hyperparameters fixed, LOO moments are closed form (one inverse, not n refits). A
    point is never compared with itself: the pair (j, j) would set its held-out draw
    against its own in-sample draw, a misordering that says nothing about the model.
    Moments are computed at the padded rows (one compiled shape per bucket) and the real
    rows taken afterwards.
    """
    mask = np.asarray(target.data.mask)
    y = np.asarray(target.data.y)[mask]
    x = target.data.x
    losses = []
    for post in parents:
        mean, cov = _predict_joint(post, x)
        mean, cov = np.asarray(mean)[mask], np.asarray(cov)[np.ix_(mask, mask)]
        losses.append(ranking_loss(_joint_samples(rng, mean, cov, num_samples), y))
    mean, cov = _predict_joint(target, x)
    mean, cov = np.asarray(mean)[mask], np.asarray(cov)[np.ix_(mask, mask)]
    inside = _joint_samples(rng, mean, cov, num_samples)  # (S, n)
    loo_mean, loo_var = (np.asarray(a)[mask] for a in _loo(target))
    held_out = loo_mean + np.sqrt(loo_var) * rng.standard_normal((num_samples, len(y)))  # (S, n)
    misordered = (held_out[:, :, None] < inside[:, None, :]) ^ (y[:, None] < y[None, :])[None]
    misordered &= ~np.eye(len(y), dtype=bool)[None]
    losses.append(np.sum(misordered, axis=(1, 2)))
    return np.array(losses, dtype=np.float64)


def weights_from_losses(losses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Share of samples each model wins (fewest misordered pairs, ties split at random),
    after dropping parents whose median loss exceeds the target's 95th percentile."""
    losses = np.array(losses, dtype=np.float64)
    target_p95 = np.percentile(losses[-1], 95)
    for i in range(len(losses) - 1):
        if np.median(losses[i]) > target_p95:
            losses[i] = np.inf
    # Losses are integers: a uniform draw below 1/2 breaks exact ties only.
    noisy = losses + rng.uniform(0.0, 0.5, size=losses.shape)
    winners = np.argmin(noisy, axis=0)
    return np.bincount(winners, minlength=len(losses)) / losses.shape[1]


def ensemble(parents: list[gp.Posterior], target: gp.Posterior, rng: np.random.Generator, num_samples: int = 256) -> EnsemblePosterior:
    """The RGPE model of the target task."""
    w = weights_from_losses(sample_losses(parents, target, rng, num_samples), rng)
    dtype = target.data.y.dtype
    return EnsemblePosterior(tuple(parents) + (target,), jnp.asarray(w, dtype))
