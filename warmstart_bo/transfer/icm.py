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
from jax.scipy.linalg import solve_triangular

from warmstart_bo import gp, kernels


class ICMData(NamedTuple):
    """Rows of all tasks: x (n, d), y (n,), task (n,) int, mask (n,), categorical (d,)."""

    x: jax.Array
    y: jax.Array
    task: jax.Array
    mask: jax.Array
    categorical: jax.Array


class ICMParams(NamedTuple):
    log_lengthscales: jax.Array  # (d,)
    task_factor: jax.Array  # (T, T): lower triangle of L, its diagonal in log space
    log_noise_variance: jax.Array  # ()
    means: jax.Array  # (T,)


class ICMPosterior(NamedTuple):
    params: ICMParams
    data: ICMData
    linv: jax.Array
    alpha: jax.Array
    target: jax.Array  # () int, the task predicted

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


def neg_log_posterior(params: ICMParams, data: ICMData, priors: gp.Priors) -> jax.Array:
    """``-(log marginal likelihood + log prior)``; the prior on B's factor is standard
    normal (diagonal in log space), so a priori tasks are unit-variance and uncorrelated."""
    n_pad = jnp.sum(~data.mask)
    lml = gp.gaussian_log_density(train_covariance(params, data), residuals(params, data)) + 0.5 * n_pad * gp.LOG_2PI
    t = params.task_factor.shape[0]
    lower = jnp.tril(jnp.ones((t, t), bool))
    lp = (
        jnp.sum(_normal_logpdf(params.log_lengthscales, priors.lengthscale_loc, priors.lengthscale_scale))
        + jnp.sum(jnp.where(lower, _normal_logpdf(params.task_factor, 0.0, 1.0), 0.0))
        + _normal_logpdf(params.log_noise_variance, priors.noise_loc, priors.noise_scale)
        + jnp.sum(_normal_logpdf(params.means, 0.0, priors.mean_scale))
    )
    return -(lml + lp)


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


def fit(data: ICMData, priors: gp.Priors, start: ICMParams, max_iter: int = 100, tol: float = 1e-3) -> tuple[ICMParams, jax.Array]:
    """MAP hyperparameters by L-BFGS from one start."""

    def loss(p):
        return neg_log_posterior(p, data, priors)

    params, _ = gp._minimize_lbfgs(loss, start, max_iter, tol)
    value = loss(params)
    start_value = loss(start)
    better = jnp.isfinite(value) & (value <= jnp.where(jnp.isfinite(start_value), start_value, jnp.inf))
    return jax.tree.map(lambda a, b: jnp.where(better, a, b), params, start), jnp.where(better, value, start_value)


def condition(params: ICMParams, data: ICMData, target: int) -> ICMPosterior:
    chol = gp.cholesky(train_covariance(params, data))
    n = data.x.shape[0]
    linv = solve_triangular(chol, jnp.eye(n, dtype=chol.dtype), lower=True)
    alpha = linv.T @ (linv @ residuals(params, data))
    return ICMPosterior(params, data, linv, alpha, jnp.asarray(target))


def predict(post: ICMPosterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Latent mean and variance of the target task at x (m, d)."""
    p, data = post.params, post.data
    b = task_covariance(p)
    kx = kernels.mixed_gram(x, data.x, jnp.exp(jnp.clip(p.log_lengthscales, *gp.LOG_LENGTHSCALE_BOUNDS)), 1.0, data.categorical)
    ks = jnp.where(data.mask[None, :], b[post.target, data.task][None, :] * kx, 0.0)
    mean = p.means[post.target] + ks @ post.alpha
    v = ks @ post.linv.T
    return mean, jnp.maximum(b[post.target, post.target] - jnp.sum(v**2, axis=-1), 0.0)


def loo_predictions(post: ICMPosterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out means and variances at every real row (R&W eq. 5.12 on the joint)."""
    kinv_diag = jnp.sum(post.linv**2, axis=0)
    mean = post.data.y - post.alpha / kinv_diag
    return jnp.where(post.data.mask, mean, jnp.nan), jnp.where(post.data.mask, 1.0 / kinv_diag, jnp.nan)
