"""Gaussian-process regression: padded data, marginal likelihood, priors, fitting, posterior.

The model is ``y = m + f(x) + eps`` with ``f ~ GP(0, k)``, ``k`` the :func:`kernels.mixed`
kernel (Matern-5/2 ARD on ordered coordinates times an overlap kernel on categorical
ones) and ``eps ~ N(0, noise_variance)``. Everything here is a pure function over
NamedTuples of arrays; callers jit at the boundary.

Observations live in a :class:`GPData` padded to a bucketed size with a mask: padded rows
get an identity block in the covariance, so they contribute nothing to the likelihood or
the posterior while the array shapes stay fixed as trials accumulate.

The dtype of the linear algebra is the dtype of the arrays passed in. Use float64 (inside
``jax.enable_x64(True)``) for anything but experiments: the library never flips JAX's
global x64 flag itself.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu
from jax.scipy.linalg import solve_triangular

from warmstart_bo import kernels

LOG_2PI = math.log(2.0 * math.pi)


class GPData(NamedTuple):
    """Padded observations: x (n, d), y (n,), mask (n,) true for real rows, categorical (d,)."""

    x: jax.Array
    y: jax.Array
    mask: jax.Array
    categorical: jax.Array


class GPParams(NamedTuple):
    """Kernel hyperparameters in log space (unconstrained) and the constant mean."""

    log_lengthscales: jax.Array  # (d,)
    log_signal_variance: jax.Array  # ()
    log_noise_variance: jax.Array  # ()
    mean: jax.Array  # ()


class Posterior(NamedTuple):
    """A GP conditioned on data: what prediction at new points needs.

    ``linv`` is the inverse Cholesky factor of the training covariance, so that predictive
    variances are one matrix product for a whole batch of test points.
    """

    params: GPParams
    data: GPData
    linv: jax.Array  # (n, n)
    alpha: jax.Array  # (n,) K^{-1} (y - m)

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Latent mean and variance at x (m, d); every model the acquisition optimizer
        takes (GP, transfer stacks, ensembles) has this method."""
        return predict(self, x)


class Priors(NamedTuple):
    """Normal priors on the log hyperparameters and the mean.

    The default lengthscale prior is LogNormal(sqrt(2) + log(d) / 2, sqrt(3)) from Hvarfner,
    Hellsten & Nardi, "Vanilla Bayesian Optimization Performs Great in High Dimensions"
    (ICML 2024): lengthscales grow like sqrt(d), so the prior keeps a few points from
    implying a rough function in many dimensions.
    """

    lengthscale_loc: float
    lengthscale_scale: float
    signal_loc: float
    signal_scale: float
    noise_loc: float
    noise_scale: float
    mean_scale: float


def default_priors(dim: int) -> Priors:
    """Priors for standardized outcomes in a ``dim``-dimensional unit box."""
    return Priors(
        lengthscale_loc=math.sqrt(2.0) + 0.5 * math.log(dim),
        lengthscale_scale=math.sqrt(3.0),
        signal_loc=0.0,
        signal_scale=1.0,
        noise_loc=math.log(1e-4),
        noise_scale=3.0,
        mean_scale=1.0,
    )


# Bounds that keep a fit numerically sane; the priors put negligible mass beyond them.
LOG_LENGTHSCALE_BOUNDS = (math.log(1e-3), math.log(1e3))
LOG_SIGNAL_BOUNDS = (math.log(1e-4), math.log(1e4))
LOG_NOISE_BOUNDS = (math.log(1e-9), math.log(10.0))


def bucket_size(n: int, minimum: int = 16) -> int:
    """The padded size for ``n`` rows: the next power of two, at least ``minimum``."""
    return max(minimum, 1 << max(0, int(n) - 1).bit_length())


def pad_data(x, y, categorical, size: int | None = None, dtype=None) -> GPData:
    """Builds a :class:`GPData` from n real rows, padded with zeros to ``size`` rows."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    size = bucket_size(n) if size is None else size
    if size < n:
        raise ValueError(f"cannot pad {n} observations into {size} rows")
    xp = np.zeros((size, d))
    yp = np.zeros(size)
    xp[:n], yp[:n] = x, y
    mask = np.arange(size) < n
    dtype = dtype or jnp.asarray(0.0).dtype
    return GPData(jnp.asarray(xp, dtype), jnp.asarray(yp, dtype), jnp.asarray(mask), jnp.asarray(categorical, bool))


def cholesky(a: jax.Array, max_tries: int = 8) -> jax.Array:
    """Lower Cholesky factor of ``a``, adding diagonal jitter only when the plain one fails.

    The jitter starts at ``10 eps * mean(diag)`` (eps from the dtype) and grows tenfold per
    failure, for at most ``max_tries`` retries. Used for conditioning; inside the fit a
    failed factorization instead marks an infeasible point (:func:`gaussian_log_density`).
    """
    eps = jnp.finfo(a.dtype).eps
    scale = jnp.mean(jnp.diag(a))
    eye = jnp.eye(a.shape[-1], dtype=a.dtype)

    def failed(state):
        chol, tries = state
        return jnp.logical_and(jnp.any(~jnp.isfinite(chol)), tries < max_tries)

    def retry(state):
        _, tries = state
        jitter = scale * eps * 10.0 ** (tries + 1)
        return jnp.linalg.cholesky(a + jitter * eye), tries + 1

    chol, _ = jax.lax.while_loop(failed, retry, (jnp.linalg.cholesky(a), 0))
    return chol


@jax.custom_vjp
def gaussian_log_density(cov: jax.Array, r: jax.Array) -> jax.Array:
    """``log N(r; 0, cov)``, ``-inf`` where ``cov`` is not numerically positive definite.

    Used inside the hyperparameter search, where a failed factorization marks an infeasible
    point for the line search to back off from; escalating jitter (:func:`cholesky`) is kept
    for conditioning. The gradient is hand-written: ``d/dcov = (alpha alpha^T - cov^{-1}) / 2``,
    ``d/dr = -alpha`` costs one inverse, cheaper than differentiating the factorization.
    """
    return _gaussian_log_density_fwd(cov, r)[0]


def _gaussian_log_density_fwd(cov, r):
    chol = jnp.linalg.cholesky(cov)
    ok = jnp.all(jnp.isfinite(chol))
    chol = jnp.where(ok, chol, jnp.eye(r.shape[0], dtype=r.dtype))
    linv = solve_triangular(chol, jnp.eye(r.shape[0], dtype=r.dtype), lower=True)
    alpha = linv.T @ (linv @ r)
    value = -0.5 * r @ alpha - jnp.sum(jnp.log(jnp.diag(chol))) - 0.5 * r.shape[0] * LOG_2PI
    return jnp.where(ok, value, -jnp.inf), (linv, alpha, ok)


def _gaussian_log_density_bwd(res, g):
    linv, alpha, ok = res
    g = jnp.where(ok, g, 0.0)
    cov_inv = linv.T @ linv
    return (0.5 * g * (jnp.outer(alpha, alpha) - cov_inv), -g * alpha)


gaussian_log_density.defvjp(_gaussian_log_density_fwd, _gaussian_log_density_bwd)


def lengthscales(params: GPParams) -> jax.Array:
    return jnp.exp(params.log_lengthscales)


def train_covariance(params: GPParams, data: GPData) -> jax.Array:
    """``K + noise I`` over the real rows, the identity on padded ones."""
    k = kernels.mixed_gram(data.x, data.x, lengthscales(params), jnp.exp(params.log_signal_variance), data.categorical)
    n = data.x.shape[0]
    eye = jnp.eye(n, dtype=k.dtype)
    k = k + jnp.exp(params.log_noise_variance) * eye
    both = data.mask[:, None] & data.mask[None, :]
    return jnp.where(both, k, eye)


def residuals(params: GPParams, data: GPData) -> jax.Array:
    return jnp.where(data.mask, data.y - params.mean, 0.0)


def log_marginal_likelihood(params: GPParams, data: GPData) -> jax.Array:
    """``log p(y | X, params)`` of the real rows (padded rows contribute exactly zero)."""
    n_pad = jnp.sum(~data.mask)
    # Each padded row adds log N(0; 0, 1) = -log(2 pi) / 2; take it back out.
    return gaussian_log_density(train_covariance(params, data), residuals(params, data)) + 0.5 * n_pad * LOG_2PI


def _normal_logpdf(x, loc, scale):
    return -0.5 * ((x - loc) / scale) ** 2 - jnp.log(scale) - 0.5 * LOG_2PI


def log_prior(params: GPParams, priors: Priors) -> jax.Array:
    """Sum of the log prior densities of all hyperparameters."""
    return (
        jnp.sum(_normal_logpdf(params.log_lengthscales, priors.lengthscale_loc, priors.lengthscale_scale))
        + _normal_logpdf(params.log_signal_variance, priors.signal_loc, priors.signal_scale)
        + _normal_logpdf(params.log_noise_variance, priors.noise_loc, priors.noise_scale)
        + _normal_logpdf(params.mean, 0.0, priors.mean_scale)
    )


def constrain(params: GPParams) -> GPParams:
    """Clips hyperparameters to the bounds that keep the linear algebra sane."""
    return GPParams(
        jnp.clip(params.log_lengthscales, *LOG_LENGTHSCALE_BOUNDS),
        jnp.clip(params.log_signal_variance, *LOG_SIGNAL_BOUNDS),
        jnp.clip(params.log_noise_variance, *LOG_NOISE_BOUNDS),
        params.mean,
    )


def neg_log_posterior(params: GPParams, data: GPData, priors: Priors) -> jax.Array:
    """The fitting loss: ``-(log marginal likelihood + log prior)``.

    The likelihood sees the clipped hyperparameters; the prior sees the raw ones and so
    pulls a parameter back from beyond its bound.
    """
    return -(log_marginal_likelihood(constrain(params), data) + log_prior(params, priors))


def prior_mode(dim: int, priors: Priors, dtype=None) -> GPParams:
    """The hyperparameters at the centre of the priors: a neutral starting point."""
    dtype = dtype or jnp.asarray(0.0).dtype
    return GPParams(
        jnp.full((dim,), priors.lengthscale_loc, dtype),
        jnp.asarray(priors.signal_loc, dtype),
        jnp.asarray(priors.noise_loc, dtype),
        jnp.asarray(0.0, dtype),
    )


def sample_prior(key: jax.Array, dim: int, priors: Priors, num: int, dtype=None) -> GPParams:
    """``num`` hyperparameter draws from the priors (half their spread), stacked on axis 0."""
    dtype = dtype or jnp.asarray(0.0).dtype
    k1, k2, k3 = jax.random.split(key, 3)
    # Half the prior spread: starting points away from the extremes fit better.
    return GPParams(
        priors.lengthscale_loc + 0.5 * priors.lengthscale_scale * jax.random.normal(k1, (num, dim), dtype),
        priors.signal_loc + 0.5 * priors.signal_scale * jax.random.normal(k2, (num,), dtype),
        priors.noise_loc + 0.5 * priors.noise_scale * jax.random.normal(k3, (num,), dtype),
        jnp.zeros((num,), dtype),
    )


def _minimize_lbfgs(loss, init: GPParams, max_iter: int, tol: float):
    """L-BFGS with optax's zoom line search, stopped on a small gradient or ``max_iter``."""
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(params, updates), state

    def keep_going(carry):
        _, state = carry
        count = otu.tree_get(state, "count")
        grad_norm = otu.tree_norm(otu.tree_get(state, "grad"))
        return (count == 0) | ((count < max_iter) & (grad_norm >= tol) & jnp.isfinite(grad_norm))

    params, state = jax.lax.while_loop(keep_going, step, (init, opt.init(init)))
    return params, otu.tree_get(state, "value")


def fit(data: GPData, priors: Priors, starts: GPParams, max_iter: int = 100, tol: float = 1e-3) -> tuple[GPParams, jax.Array]:
    """Maximum a posteriori hyperparameters from several starting points at once.

    Args:
      data: padded observations, outcomes standardized by the caller.
      priors: hyperparameter priors.
      starts: GPParams with a leading axis of starting points, each optimized in turn.
      max_iter: L-BFGS iterations per start.
      tol: gradient norm at which a start has converged.

    Returns:
      The best start's (constrained) hyperparameters and its loss, the negative log
      posterior. A start whose loss is not finite is never chosen.
    """

    def loss(p):
        return neg_log_posterior(p, data, priors)

    # lax.map, not vmap: a batched Cholesky on XLA's CPU thread pool can deadlock on small
    # machines (LAPACK batch map waiting for busy workers), and starts are cheap one by one.
    finals, _ = jax.lax.map(lambda p: _minimize_lbfgs(loss, p, max_iter, tol), starts)
    # Re-evaluate rather than trust the optimizer's state, and rank the starting points too.
    candidates = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), finals, starts)
    losses = jax.lax.map(loss, candidates)
    losses = jnp.where(jnp.isfinite(losses), losses, jnp.inf)
    best = jnp.argmin(losses)
    return constrain(jax.tree.map(lambda a: a[best], candidates)), losses[best]


def condition(params: GPParams, data: GPData) -> Posterior:
    """Conditions the GP on data, precomputing what predictions need."""
    chol = cholesky(train_covariance(params, data))
    n = data.x.shape[0]
    linv = solve_triangular(chol, jnp.eye(n, dtype=chol.dtype), lower=True)
    alpha = linv.T @ (linv @ residuals(params, data))
    return Posterior(params, data, linv, alpha)


def predict(post: Posterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Posterior mean and variance of the latent ``f`` (no observation noise) at x (m, d)."""
    p, data = post.params, post.data
    ks = kernels.mixed_gram(x, data.x, lengthscales(p), jnp.exp(p.log_signal_variance), data.categorical)
    ks = jnp.where(data.mask[None, :], ks, 0.0)
    mean = p.mean + ks @ post.alpha
    v = ks @ post.linv.T
    var = jnp.exp(p.log_signal_variance) - jnp.sum(v**2, axis=-1)
    return mean, jnp.maximum(var, 0.0)


def predict_joint(post: Posterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Posterior mean (m,) and full covariance (m, m) of the latent ``f`` at x (m, d)."""
    p, data = post.params, post.data
    ls, sv = lengthscales(p), jnp.exp(p.log_signal_variance)
    ks = jnp.where(data.mask[None, :], kernels.mixed_gram(x, data.x, ls, sv, data.categorical), 0.0)
    v = ks @ post.linv.T
    cov = kernels.mixed_gram(x, x, ls, sv, data.categorical) - v @ v.T
    return p.mean + ks @ post.alpha, 0.5 * (cov + cov.T)


def loo_predictions(post: Posterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out predictive means and variances (noise included) at the training rows,
    hyperparameters fixed (Rasmussen & Williams 2006, eq. 5.12): ``mu_-i = y_i -
    [K^-1 r]_i / [K^-1]_ii`` and ``var_-i = 1 / [K^-1]_ii``. Padded rows get NaN."""
    kinv_diag = jnp.sum(post.linv**2, axis=0)
    mean = post.data.y - post.alpha / kinv_diag
    var = 1.0 / kinv_diag
    return jnp.where(post.data.mask, mean, jnp.nan), jnp.where(post.data.mask, var, jnp.nan)


def fantasize(post: Posterior, fx: jax.Array) -> Posterior:
    """The posterior with extra rows at fx (k, d) observed at its own mean (the kriging
    believer), hyperparameters unchanged. The padded data needs k free rows."""
    data = post.data
    n = jnp.sum(data.mask)
    fy = predict(post, fx)[0]
    x = jax.lax.dynamic_update_slice(data.x, fx.astype(data.x.dtype), (n, 0))
    y = jax.lax.dynamic_update_slice(data.y, fy.astype(data.y.dtype), (n,))
    mask = jnp.arange(data.x.shape[0]) < n + fx.shape[0]
    return condition(post.params, GPData(x, y, mask, data.categorical))
