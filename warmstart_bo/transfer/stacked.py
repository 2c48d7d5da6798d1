"""Stacked residual GPs (Golovin et al. 2017, "Google Vizier", section 3.3).

Tasks form a stack, oldest at the bottom and the target on top. Each level is a GP fitted
to the residuals of its task's outcomes under the mean of the stack below it, so a level
learns only what its task does differently. Predictions add the means of all levels; the
standard deviation of level ``i`` blends the stack below with its own by data size,
``sigma_i = sigma_below^beta * sigma_own^(1 - beta)`` with
``beta = alpha n_below / (alpha n_below + n_i)``: a level with few points leans on the prior's
confidence, one with many trusts its own.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from warmstart_bo import gp, runtime
from warmstart_bo.transfer.common import Task, fit_posterior

# Weight of the points below against a level's own in the blend, beta = a n_below /
# (a n_below + n): Golovin et al. (2017) call it alpha. 0.1 by benchmark: with 1 the
# parents dominate the uncertainty and refinement near a shifted optimum stalls.
ALPHA = 0.1


class StackedPosterior(NamedTuple):
    """Levels bottom to top, and each level's blending weight ``beta`` (the bottom's is 0)."""

    levels: tuple[gp.Posterior, ...]
    betas: jax.Array  # (L,)

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return predict(self, x)


def _blend(moments: list[tuple[jax.Array, jax.Array]], betas: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Levels' (mean, variance), bottom to top, as one: summed means, blended standard
    deviations."""
    mean = jnp.zeros_like(moments[0][0])
    std = None
    for i, (m, v) in enumerate(moments):
        mean = mean + m
        s = jnp.sqrt(jnp.maximum(v, 1e-30))
        std = s if std is None else std ** betas[i] * s ** (1.0 - betas[i])
    return mean, std**2


def predict(stack: StackedPosterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean and variance at x (m, d): summed means, blended standard deviations."""
    return _blend([gp.predict(level, x) for level in stack.levels], stack.betas)


def loo_predictions(stack: StackedPosterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out moments at the top level's rows (the target's): the levels below
    predict there (they never saw those rows), the top level holds each row out
    (:func:`gp.loo_predictions`), blended as :func:`predict` blends. Padded rows get NaN."""
    top = stack.levels[-1]
    below = [gp.predict(level, top.data.x) for level in stack.levels[:-1]]
    return _blend(below + [gp.loo_predictions(top)], stack.betas)


_predict = runtime.Program(predict)


def stack_mean(stack: StackedPosterior | None, x: np.ndarray, dtype) -> np.ndarray:
    """The stack's mean at x (n, d), zero for an empty stack. Rows are padded to a bucket,
    so growing n does not recompile."""
    if stack is None or len(x) == 0:
        return np.zeros(len(x))
    return np.asarray(_predict(stack, gp.pad_rows(x, dtype))[0])[: len(x)]


def add_level(stack: StackedPosterior | None, level: gp.Posterior) -> StackedPosterior:
    """``stack`` with ``level`` (a GP fitted to the residuals under it) on top."""
    dtype = level.data.y.dtype
    if stack is None:
        return StackedPosterior((level,), jnp.zeros(1, dtype))
    n_below = int(jnp.sum(stack.levels[-1].data.mask))
    n = int(jnp.sum(level.data.mask))
    beta = ALPHA * n_below / (ALPHA * n_below + n)
    return StackedPosterior(stack.levels + (level,), jnp.concatenate([stack.betas, jnp.asarray([beta], dtype)]))


def push(stack: StackedPosterior | None, task: Task, categorical, priors: gp.Priors, seed: int, dtype=jnp.float64, capacity: int | None = None) -> StackedPosterior:
    """Adds a level on top for ``task``, fitted to its residuals under the stack."""
    residual = task.y - stack_mean(stack, task.x, dtype)
    return add_level(stack, fit_posterior(task.x, residual, categorical, priors, seed, dtype, capacity))


def fit(tasks: list[Task], categorical, priors: gp.Priors, seed: int = 0, dtype=jnp.float64, room: int = 0) -> StackedPosterior:
    """The stack of ``tasks`` (bottom first), each level padded with ``room`` free rows
    for fantasies."""
    stack = None
    for i, task in enumerate(tasks):
        stack = push(stack, task, categorical, priors, seed + i, dtype, gp.bucket_size(len(task.y) + room))
    return stack
