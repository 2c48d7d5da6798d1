"""Pieces shared by the transfer priors: task data, per-task output normalization,
subsampling, fitting one GP, and the ranking loss that judges a model on the target's data."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from warmstart_bo import gp, runtime

_fit = runtime.Program(gp.fit_posterior, static_argnames=("max_iter", "tol"))


class Task(NamedTuple):
    """One task's observations: encoded points x (n, d) and outcomes y (n,), larger better."""

    x: np.ndarray
    y: np.ndarray


def gaussian_copula(y: np.ndarray) -> np.ndarray:
    """Maps outcomes to standard-normal quantiles of their ranks, ``Phi^-1((r - 1/2) / n)``.

    Related tasks often differ in scale, offset and even a monotone warping; after this
    transform only the ordering of a task's outcomes matters (Salinas et al. 2020). Ties
    share their average rank.
    """
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        return y
    if is_constant(y):
        return np.zeros_like(y)  # ranks of rounding differences are not an ordering
    return ndtri((rankdata(y) - 0.5) / len(y))


def fit_posterior(
    x: np.ndarray,
    y: np.ndarray,
    categorical: np.ndarray,
    priors: gp.Priors,
    seed: int,
    dtype=jnp.float64,
    capacity: int | None = None,
    num_starts: int = 8,
    max_iter: int = 100,
) -> gp.Posterior:
    """MAP-fits a GP to (x, y) from the prior's centre and prior draws, and conditions it."""
    capacity = gp.bucket_size(len(y)) if capacity is None else capacity
    data = gp.pad_data(x, y, categorical, capacity, dtype)
    d = x.shape[1]
    if capacity > 256:
        num_starts, max_iter = max(2, num_starts // 4), min(max_iter, 40)
    starts = gp.sample_prior(jax.random.key(seed), d, priors, num_starts, dtype)
    starts = jax.tree.map(lambda s, m: s.at[0].set(m), starts, gp.prior_mode(d, priors, dtype))
    return _fit(data, priors, starts, max_iter=max_iter).posterior


def ranking_loss(predictions: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Misordered pairs: ``sum_jk [(f_j < f_k) xor (y_j < y_k)]`` for each row of
    predictions (..., n) against outcomes y (n,)."""
    f = np.asarray(predictions)
    return np.sum((f[..., :, None] < f[..., None, :]) ^ (y[:, None] < y[None, :]), axis=(-2, -1))


NORMALIZATIONS = ("standardize", "copula")


def normalize(y: np.ndarray, how: str = "standardize") -> np.ndarray:
    """Per-task output normalization: ``"standardize"`` (z-scores) or ``"copula"``
    (:func:`gaussian_copula`, normal quantiles of ranks)."""
    y = np.asarray(y, dtype=np.float64)
    if how == "copula":
        return gaussian_copula(y)
    if how != "standardize":
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {how!r}")
    return standardize(y)[0]


def standardize(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``((y - mean) / std, mean, std)``; a constant (or single) outcome gets std 1.

    Constant means a spread within 1e-12 of the mean's size, whatever the outcomes' scale: a
    loss of order 1e-13 is modelled, not taken for a constant (so are values that differ
    from 0 by rounding alone: [0, 0, 1e-17] is not constant). Outcomes beyond 1e100 in size
    (or below 1e-100) are divided by their largest first, so that the variance's squares
    neither overflow nor underflow; others are used as they are, and where the spread
    exceeds 1e-12 (or the mean's size is 1 or more) the result is the same to the last bit."""
    y = np.asarray(y, dtype=np.float64)
    if not len(y):
        return y, 0.0, 1.0
    u, scale = _scaled(y)
    mu, sd = float(np.mean(u)), float(np.std(u))
    if not sd > 1e-12 * abs(mu):
        return u - mu, mu * scale, 1.0
    return (u - mu) / sd, mu * scale, sd * scale


def _scaled(y: np.ndarray) -> tuple[np.ndarray, float]:
    """``(y / scale, scale)``: outcomes beyond 1e100 in size (or below 1e-100) divided by
    their largest, others as they are (scale 1)."""
    big = float(np.max(np.abs(y)))
    scale = big if np.isfinite(big) and (big > 1e100 or 0.0 < big < 1e-100) else 1.0
    return y / scale, scale


def is_constant(y: np.ndarray) -> bool:
    """Whether outcomes are constant as :func:`standardize` judges them (a spread within
    1e-12 of the mean's size; none or one outcome too): values that differ by rounding
    alone, such as ``[0.3, 0.1 + 0.2]``, are one value and carry no signal to model."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < 2:
        return True
    u = _scaled(y)[0]
    return not float(np.std(u)) > 1e-12 * abs(float(np.mean(u)))


def subsample(task: Task, size: int, rng: np.random.Generator) -> Task:
    """At most ``size`` rows of a task: the best half by outcome, the rest at random."""
    n = len(task.y)
    if n <= size:
        return task
    order = np.argsort(-task.y)
    keep = list(order[: size // 2])
    rest = order[size // 2:]
    keep += list(rng.choice(rest, size - len(keep), replace=False))
    keep = np.sort(np.array(keep))
    return Task(task.x[keep], task.y[keep])
