"""A multi-task GP with a learned task covariance: the intrinsic coregionalization model.

``cov(f_s(x), f_t(x')) = B[s, t] k(x, x')`` with ``k`` the library's mixed kernel at unit
signal variance and ``B = L L^T`` a free positive-definite task covariance (Bonilla,
Chai & Williams 2007; Swersky, Snoek & Adams 2013). ``B``'s off-diagonal entries say how
much each parent tells about the target; an unrelated parent ends with a small
correlation. Each task has its own constant mean; the noise variance is shared.

It is an ordinary GP on rows ``(x, task)``: :class:`ICMParams` defines the covariance and
mean over such rows, and :mod:`warmstart_bo.gp`'s conditioning, prediction, leave-one-out
and fantasies do the rest. All tasks' rows sit in one padded :class:`gp.GPData`, so shapes
stay fixed as the target grows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from warmstart_bo import gp, kernels


class ICMParams(NamedTuple):
    """The multi-task covariance's hyperparameters; like :class:`gp.GPParams` it defines the
    covariance over rows, here rows ``(x, task)`` whose last column is the task's index."""

    log_lengthscales: jax.Array  # (d,)
    task_factor: jax.Array  # (T, T): lower triangle of L, its diagonal in log space
    log_noise_variance: jax.Array  # ()
    means: jax.Array  # (T,)

    def covariance(self, x1: jax.Array, x2: jax.Array, categorical) -> jax.Array:
        """``B[s, t] k(x, x')`` between rows (x, s) of x1 and (x', t) of x2."""
        b = task_covariance(self)
        kx = kernels.mixed_gram(x1[:, :-1], x2[:, :-1], jnp.exp(jnp.clip(self.log_lengthscales, *gp.LOG_LENGTHSCALE_BOUNDS)), 1.0, categorical)
        return b[_task(x1)][:, _task(x2)] * kx

    def variance(self, x: jax.Array) -> jax.Array:
        return jnp.diag(task_covariance(self))[_task(x)]

    def prior_mean(self, x: jax.Array) -> jax.Array:
        return self.means[_task(x)]

    def mean_design(self, x: jax.Array) -> jax.Array:
        """Each row's task as a one-hot (n, T): the prior mean is linear in the means."""
        return jax.nn.one_hot(_task(x), self.means.shape[0], dtype=x.dtype)

    def with_means(self, means: jax.Array) -> "ICMParams":
        return self._replace(means=means)

    def noise_variance(self) -> jax.Array:
        return jnp.exp(jnp.clip(self.log_noise_variance, *gp.LOG_NOISE_BOUNDS))

    def constrained(self) -> "ICMParams":
        """Itself: the covariance clips lengthscales and noise where it uses them."""
        return self

    def neg_log_prior(self, priors: gp.Priors) -> jax.Array:
        return neg_log_prior(self, priors)


def _task(x: jax.Array) -> jax.Array:
    return x[:, -1].astype(jnp.int32)


def with_task(x: jax.Array, task) -> jax.Array:
    """Rows x (m, d) as rows of task ``task``: (m, d + 1)."""
    return jnp.concatenate([x, jnp.full((x.shape[0], 1), task, x.dtype)], axis=1)


class ICMPosterior(NamedTuple):
    """A :class:`gp.Posterior` over all tasks' rows that predicts task ``target``."""

    posterior: gp.Posterior
    target: jax.Array  # () int, the task predicted

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return predict(self, x)

    @property
    def data(self) -> gp.GPData:
        return self.posterior.data

    @property
    def params(self) -> ICMParams:
        return self.posterior.params


def task_covariance(params: ICMParams) -> jax.Array:
    """``B = L L^T`` plus a tiny ridge, L lower triangular with a positive diagonal."""
    raw = params.task_factor
    t = raw.shape[0]
    chol = jnp.tril(raw, -1) + jnp.diag(jnp.exp(jnp.diag(raw)))
    return chol @ chol.T + 1e-6 * jnp.eye(t, dtype=raw.dtype)


def pad(tasks: list[tuple[np.ndarray, np.ndarray]], categorical, size: int | None = None, dtype=jnp.float64) -> gp.GPData:
    """Stacks tasks' (x, y) into one padded :class:`gp.GPData` of rows (x, task); task
    indices follow the list order. ``categorical`` describes x's columns."""
    x = np.concatenate([np.column_stack([t[0], np.full(len(t[1]), float(i))]) for i, t in enumerate(tasks)])
    y = np.concatenate([t[1] for t in tasks])
    return gp.pad_data(x, y, categorical, size, dtype)


def task_rows(data: gp.GPData, task: int) -> np.ndarray:
    """Which rows of ``data`` are real rows of ``task`` (host-side)."""
    return np.asarray(data.mask) & (np.asarray(data.x)[:, -1] == task)


def _normal_logpdf(x, loc, scale):
    return -0.5 * ((x - loc) / scale) ** 2 - jnp.log(scale) - 0.5 * gp.LOG_2PI


def neg_log_prior(params: ICMParams, priors: gp.Priors) -> jax.Array:
    """The prior on B's factor is standard normal (diagonal in log space), so a priori tasks
    are unit-variance and uncorrelated; the others are the single-task GP's."""
    t = params.task_factor.shape[0]
    lower = jnp.tril(jnp.ones((t, t), bool))
    return -(
        jnp.sum(_normal_logpdf(params.log_lengthscales, priors.lengthscale_loc, priors.lengthscale_scale))
        + jnp.sum(jnp.where(lower, _normal_logpdf(params.task_factor, 0.0, 1.0), 0.0))
        + _normal_logpdf(params.log_noise_variance, priors.noise_loc, priors.noise_scale)
        + jnp.sum(_normal_logpdf(params.means, 0.0, priors.mean_scale))
    )


def neg_log_posterior(params: ICMParams, data: gp.GPData, priors: gp.Priors) -> jax.Array:
    """``-(log marginal likelihood + log prior)``."""
    return gp.objective(data, priors).value_and_factor(params)[0]


def initial_params(dim: int, num_tasks: int, priors: gp.Priors, dtype=jnp.float64) -> ICMParams:
    """Prior centre, with tasks moderately correlated (0.5) so the fit can go either way."""
    factor = np.zeros((num_tasks, num_tasks))
    factor[:, 0] = math.sqrt(0.5)
    factor[np.arange(num_tasks), np.arange(num_tasks)] = np.log(math.sqrt(0.5))
    factor[0, 0] = 0.0
    return ICMParams(
        jnp.full((dim,), priors.lengthscale_loc, dtype),
        jnp.asarray(factor, dtype),
        jnp.asarray(priors.noise_loc, dtype),
        jnp.zeros(num_tasks, dtype),
    )


def fit(data: gp.GPData, priors: gp.Priors, start: ICMParams, max_iter: int = 100, tol: float = 1e-4) -> tuple[ICMParams, jax.Array]:
    """MAP hyperparameters by the GP's BFGS (:func:`gp._bfgs`) from one start."""
    post, loss, _ = fit_posterior(data, priors, start, None, 0, max_iter, tol)
    return post.params, loss


def fit_posterior(
    data: gp.GPData, priors: gp.Priors, start: ICMParams, hess_inv: jax.Array | None, target: int, max_iter: int = 100, tol: float = 1e-4
) -> tuple[ICMPosterior, jax.Array, jax.Array]:
    """The MAP-fitted posterior of task ``target`` from one start, its loss and BFGS's
    curvature: gp's BFGS on gp's objective (the model is a GP on (x, task)).

    ``hess_inv`` from an earlier fit continues its quasi-Newton model; None starts from the
    identity, rescaled after the first step. The posterior is the last accepted point's,
    with no factorization after the fit. A refit of a conditioned posterior is
    :func:`gp.refine` (the optimizer's, with no factorization when the gradient is small).
    """
    loss = gp.objective(data, priors)
    _, chol, start = loss.profiled(start)
    p = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(start))
    fresh = hess_inv is None
    hess_inv = jnp.eye(p, dtype=data.y.dtype) if fresh else hess_inv
    final, unravel = gp._bfgs(loss, start, loss.full(start, chol), hess_inv, max_iter, tol, fresh)
    ok = jnp.isfinite(final.value)
    post = gp.Posterior(unravel(final.x), data, final.linv, final.kinv, final.alpha, ok)
    return ICMPosterior(post, jnp.asarray(target)), final.value, final.hess_inv


def condition(params: ICMParams, data: gp.GPData, target: int) -> ICMPosterior:
    """:func:`gp.condition` of the joint model, predicting task ``target``."""
    return ICMPosterior(gp.condition(params, data), jnp.asarray(target))


def predict(post: ICMPosterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Latent mean and variance of the target task at x (m, d)."""
    return gp.predict(post.posterior, with_task(x, post.target))


def fantasize(post: ICMPosterior, fx: jax.Array) -> ICMPosterior:
    """Target-task rows at fx (k, d) observed at the model's mean (:func:`gp.fantasize`).
    The padded data needs k free rows."""
    return ICMPosterior(gp.fantasize(post.posterior, with_task(fx, post.target)), post.target)
