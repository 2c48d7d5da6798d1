"""A multi-task GP with a learned task covariance: the intrinsic coregionalization model.

``cov(f_s(x), f_t(x')) = B[s, t] k(x, x')`` with ``k`` the library's mixed kernel at unit
signal variance and ``B = L L^T`` a free positive-definite task covariance (Bonilla,
Chai & Williams 2007; Swersky, Snoek & Adams 2013). ``B``'s off-diagonal entries say how
much each parent tells about the target; an unrelated parent ends with a small
correlation. Each task has its own constant mean; the noise variance is shared. All tasks'
rows sit in one padded :class:`ICMData`, so shapes stay fixed as the target grows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from warmstart_bo import gp, kernels


class ICMData(NamedTuple):
    """Rows of all tasks: x (n, d), y (n,), task (n,) int, mask (n,), categorical (static)."""

    x: jax.Array
    y: jax.Array
    task: jax.Array
    mask: jax.Array
    categorical: kernels.CategoricalMask


class ICMParams(NamedTuple):
    log_lengthscales: jax.Array  # (d,)
    task_factor: jax.Array  # (T, T): lower triangle of L, its diagonal in log space
    log_noise_variance: jax.Array  # ()
    means: jax.Array  # (T,)


class ICMPosterior(NamedTuple):
    """Like :class:`gp.Posterior`, over all tasks' rows, predicting task ``target``."""

    params: ICMParams
    data: ICMData
    linv: jax.Array
    kinv: jax.Array
    alpha: jax.Array
    target: jax.Array  # () int, the task predicted
    ok: jax.Array

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return predict(self, x)


def task_covariance(params: ICMParams) -> jax.Array:
    """``B = L L^T`` plus a tiny ridge, L lower triangular with a positive diagonal."""
    raw = params.task_factor
    t = raw.shape[0]
    chol = jnp.tril(raw, -1) + jnp.diag(jnp.exp(jnp.diag(raw)))
    return chol @ chol.T + 1e-6 * jnp.eye(t, dtype=raw.dtype)


def pad(tasks: list[tuple[np.ndarray, np.ndarray]], categorical, size: int | None = None, dtype=jnp.float64) -> ICMData:
    """Stacks tasks' (x, y) into one padded ICMData; task ids follow the list order."""
    x = np.concatenate([t[0] for t in tasks])
    y = np.concatenate([t[1] for t in tasks])
    ids = np.concatenate([np.full(len(t[1]), i) for i, t in enumerate(tasks)])
    base = gp.pad_data(x, y, categorical, size, dtype)
    task = np.zeros(base.x.shape[0], np.int32)
    task[: len(ids)] = ids
    return ICMData(base.x, base.y, jnp.asarray(task), base.mask, base.categorical)


def train_covariance(params: ICMParams, data: ICMData) -> jax.Array:
    kx = kernels.mixed_gram(data.x, data.x, jnp.exp(jnp.clip(params.log_lengthscales, *gp.LOG_LENGTHSCALE_BOUNDS)), 1.0, data.categorical)
    b = task_covariance(params)
    k = b[data.task][:, data.task] * kx
    eye = jnp.eye(data.x.shape[0], dtype=k.dtype)
    k = k + jnp.exp(jnp.clip(params.log_noise_variance, *gp.LOG_NOISE_BOUNDS)) * eye
    return jnp.where(data.mask[:, None] & data.mask[None, :], k, eye)


def residuals(params: ICMParams, data: ICMData) -> jax.Array:
    return jnp.where(data.mask, data.y - params.means[data.task], 0.0)


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


def _objective(data: ICMData, priors: gp.Priors) -> gp._Objective:
    return gp._Objective(
        lambda p: (train_covariance(p, data), residuals(p, data)),
        lambda p: neg_log_prior(p, priors),
        jnp.sum(data.mask),
    )


def neg_log_posterior(params: ICMParams, data: ICMData, priors: gp.Priors) -> jax.Array:
    """``-(log marginal likelihood + log prior)``."""
    return _objective(data, priors).value_and_factor(params)[0]


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


def fit(data: ICMData, priors: gp.Priors, start: ICMParams, max_iter: int = 100, tol: float = 1e-4) -> tuple[ICMParams, jax.Array]:
    """MAP hyperparameters by the GP's BFGS (:func:`gp._bfgs`) from one start."""
    post, loss, _ = fit_posterior(data, priors, start, None, 0, max_iter, tol)
    return post.params, loss


def fit_posterior(
    data: ICMData, priors: gp.Priors, start: ICMParams, hess_inv: jax.Array | None, target: int, max_iter: int = 100, tol: float = 1e-4
) -> tuple[ICMPosterior, jax.Array, jax.Array]:
    """The MAP-fitted posterior of task ``target``, its loss and BFGS's curvature.

    ``hess_inv`` from an earlier fit continues its quasi-Newton model (a refit after a
    few more rows is then a step or none); None starts from the identity. The posterior
    is the last accepted point's, with no factorization after the fit.
    """
    objective = _objective(data, priors)
    _, chol = objective.value_and_factor(start)
    p = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(start))
    fresh = hess_inv is None
    hess_inv = jnp.eye(p, dtype=data.y.dtype) if fresh else hess_inv
    final, unravel = gp._bfgs(objective, start, objective.full(start, chol), hess_inv, max_iter, tol, fresh)
    ok = jnp.isfinite(final.value)
    post = ICMPosterior(unravel(final.x), data, final.linv, final.kinv, final.alpha, jnp.asarray(target), ok)
    return post, final.value, final.hess_inv


def condition(params: ICMParams, data: ICMData, target: int) -> ICMPosterior:
    chol, ok = gp.cholesky_with_status(train_covariance(params, data))
    linv, kinv = gp._lower_inverse(chol)
    return ICMPosterior(params, data, linv, kinv, kinv @ residuals(params, data), jnp.asarray(target), ok)


def _target_row_kernel(post: ICMPosterior, x: jax.Array) -> jax.Array:
    """Covariance between the target task at x (m, d) and every row, zero on padding."""
    p, data = post.params, post.data
    b = task_covariance(p)
    kx = kernels.mixed_gram(x, data.x, jnp.exp(jnp.clip(p.log_lengthscales, *gp.LOG_LENGTHSCALE_BOUNDS)), 1.0, data.categorical)
    return jnp.where(data.mask[None, :], b[post.target, data.task][None, :] * kx, 0.0)


def predict(post: ICMPosterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Latent mean and variance of the target task at x (m, d)."""
    ks = _target_row_kernel(post, x)
    mean = post.params.means[post.target] + ks @ post.alpha
    v = gp.whiten(ks, post.linv)
    b = task_covariance(post.params)
    return mean, jnp.maximum(b[post.target, post.target] - jnp.sum(v**2, axis=-1), 0.0)


def loo_predictions(post: ICMPosterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out means and variances at every real row (R&W eq. 5.12 on the joint)."""
    kinv_diag = jnp.diag(post.kinv)
    mean = post.data.y - post.alpha / kinv_diag
    return jnp.where(post.data.mask, mean, jnp.nan), jnp.where(post.data.mask, 1.0 / kinv_diag, jnp.nan)


def fantasize(post: ICMPosterior, fx: jax.Array) -> ICMPosterior:
    """Target-task rows at fx (k, d) observed at the model's mean, added incrementally
    (:func:`gp._extend_inverse`): O(k n^2). The padded data needs k free rows."""
    data = post.data
    n = jnp.sum(data.mask)
    fy = predict(post, fx)[0]
    x = jax.lax.dynamic_update_slice(data.x, fx.astype(data.x.dtype), (n, 0))
    y = jax.lax.dynamic_update_slice(data.y, fy.astype(data.y.dtype), (n,))
    task = jax.lax.dynamic_update_slice(data.task, jnp.full(fx.shape[0], post.target, data.task.dtype), (n,))
    mask = jnp.arange(data.x.shape[0]) < n + fx.shape[0]
    data = ICMData(x, y, task, mask, data.categorical)
    p = post.params
    b = task_covariance(p)
    ls = jnp.exp(jnp.clip(p.log_lengthscales, *gp.LOG_LENGTHSCALE_BOUNDS))
    noise = jnp.exp(jnp.clip(p.log_noise_variance, *gp.LOG_NOISE_BOUNDS))
    idx = jnp.arange(data.x.shape[0])

    def row(i):
        k = b[data.task[i], data.task] * kernels.mixed_gram(data.x[i][None, :], data.x, ls, 1.0, data.categorical)[0]
        return jnp.where(idx < i, k, 0.0)

    linv, kinv = gp._extend_inverse(post.linv, post.kinv, row, lambda i: b[post.target, post.target] + noise, n, n + fx.shape[0])
    return ICMPosterior(p, data, linv, kinv, kinv @ residuals(p, data), post.target, post.ok)
