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
from jax.flatten_util import ravel_pytree
from jax.scipy.linalg import solve_triangular

from warmstart_bo import kernels

LOG_2PI = math.log(2.0 * math.pi)


class GPData(NamedTuple):
    """Padded observations: x (n, d), y (n,), mask (n,) true for real rows, and which of the
    d coordinates are categorical (static, so jit specializes the kernel on it)."""

    x: jax.Array
    y: jax.Array
    mask: jax.Array
    categorical: kernels.CategoricalMask


class GPParams(NamedTuple):
    """Kernel hyperparameters in log space (unconstrained) and the constant mean.

    Hyperparameters say what the model is: conditioning, prediction, leave-one-out,
    fantasies and fitting here need only their methods (covariance, variance, prior mean
    and its design, noise, constrained, prior), so another covariance over the same padded
    rows (the multi-task model of :mod:`warmstart_bo.transfer.icm`, a GP on ``(x, task)``)
    reuses all of them by defining its own.
    """

    log_lengthscales: jax.Array  # (d,)
    log_signal_variance: jax.Array  # ()
    log_noise_variance: jax.Array  # ()
    mean: jax.Array  # ()

    def covariance(self, x1: jax.Array, x2: jax.Array, categorical) -> jax.Array:
        """The prior covariance of f between rows x1 (n, d) and x2 (m, d)."""
        return kernels.mixed_gram(x1, x2, jnp.exp(self.log_lengthscales), jnp.exp(self.log_signal_variance), categorical)

    def variance(self, x: jax.Array) -> jax.Array:
        """The prior variance of f at each row of x (n, d)."""
        return jnp.full(x.shape[0], jnp.exp(self.log_signal_variance))

    def prior_mean(self, x: jax.Array) -> jax.Array:
        return jnp.full(x.shape[0], self.mean)

    def mean_design(self, x: jax.Array) -> jax.Array:
        """The prior mean is ``mean_design(x) @ means``, linear in the means: (n, 1)."""
        return jnp.ones((x.shape[0], 1), x.dtype)

    def with_means(self, means: jax.Array) -> "GPParams":
        return self._replace(mean=means[0])

    def noise_variance(self) -> jax.Array:
        return jnp.exp(self.log_noise_variance)

    def constrained(self) -> "GPParams":
        """What the likelihood sees: the hyperparameters clipped to sane bounds."""
        return constrain(self)

    def neg_log_prior(self, priors: "Priors") -> jax.Array:
        """The prior's part of the fitting loss, on the raw (unclipped) values."""
        return -log_prior(self, priors)


class Posterior(NamedTuple):
    """A GP conditioned on data: what prediction, leave-one-out and refits need.

    ``linv`` is the inverse Cholesky factor of the training covariance (predictive
    variances of a whole batch are one matrix product), ``kinv`` its inverse (the gradient
    of the marginal likelihood in O(n^2 d), leave-one-out moments), ``alpha = K^-1 (y - m)``.
    Both grow by a rank-one step per added row (:func:`extend`). ``ok`` is False when the
    covariance could not be factorized even with jitter.
    """

    params: GPParams
    data: GPData
    linv: jax.Array  # (n, n)
    kinv: jax.Array  # (n, n)
    alpha: jax.Array  # (n,)
    ok: jax.Array  # () bool

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Latent mean and variance at x (m, d); every model the acquisition optimizer
        takes (GP, transfer stacks, ensembles) has this method."""
        return predict(self, x)


class Priors(NamedTuple):
    """Normal priors on the log hyperparameters, and on the mean; the fit maximizes the
    posterior density over the log hyperparameters.

    A LogNormal(mu, s) density on a lengthscale l, maximized over log l as a density in l
    (as BoTorch does), is ``Normal(log l; mu, s) / l``, proportional to
    ``Normal(log l; mu - s^2, s)``: the ``-log l`` Jacobian moves the mode from ``exp(mu)``
    to ``exp(mu - s^2)``. :func:`default_priors` offers both readings of Hvarfner et al.'s
    prior (``lengthscale=``); each is stored here as the Normal on log l it amounts to.
    """

    lengthscale_loc: float
    lengthscale_scale: float
    signal_loc: float
    signal_scale: float
    noise_loc: float
    noise_scale: float
    mean_scale: float


LENGTHSCALE_PRIORS = ("normal-log", "lognormal")


def default_priors(dim: int, lengthscale: str = "lognormal") -> Priors:
    """Priors for standardized outcomes in a ``dim``-dimensional unit box.

    The lengthscale prior is Hvarfner, Hellsten & Nardi's (ICML 2024, "Vanilla Bayesian
    Optimization Performs Great in High Dimensions"), mu = sqrt(2) + log(d) / 2, s = sqrt(3):
    lengthscales grow like sqrt(d). ``"normal-log"``: a Normal(mu, s) on log l, mode
    exp(mu) (5.8 at d = 2 on the unit box). ``"lognormal"``: the LogNormal(mu, s) density on
    l with its Jacobian, as BoTorch maximizes it, a Normal(mu - s^2, s) on log l, mode
    exp(mu - s^2) (0.29 at d = 2), the default: on the cold-start suite
    (``experiments/coldstart.py``, README) it beat the other reading.
    """
    if lengthscale not in LENGTHSCALE_PRIORS:
        raise ValueError(f"lengthscale prior must be one of {LENGTHSCALE_PRIORS}, got {lengthscale!r}")
    loc, scale = math.sqrt(2.0) + 0.5 * math.log(dim), math.sqrt(3.0)
    return Priors(
        lengthscale_loc=loc - scale**2 if lengthscale == "lognormal" else loc,
        lengthscale_scale=scale,
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


# Above this many rows, padded sizes grow in steps of LARGE_BUCKET_STEP rather than doubling:
# 2,500 pooled rows pad to 2,560, not 4,096 (a factorization 4x cheaper), at the price of a
# compilation every 512 rows.
LARGE_BUCKET = 1024
LARGE_BUCKET_STEP = 512


def bucket_size(n: int, minimum: int = 16) -> int:
    """The padded size for ``n`` rows: the next power of two (at least ``minimum``) up to
    ``LARGE_BUCKET``, the next multiple of ``LARGE_BUCKET_STEP`` above it."""
    n = int(n)
    if n > LARGE_BUCKET:
        return -(-n // LARGE_BUCKET_STEP) * LARGE_BUCKET_STEP
    return max(minimum, 1 << max(0, n - 1).bit_length())


def pad_rows(x: np.ndarray, dtype) -> jax.Array:
    """x (n, d) with zero rows up to its bucket (:func:`bucket_size`), as ``dtype``: points
    to predict at whose count grows without recompiling."""
    padded = np.zeros((bucket_size(len(x)), x.shape[1]))
    padded[: len(x)] = x
    return jnp.asarray(padded, dtype)


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
    return GPData(jnp.asarray(xp, dtype), jnp.asarray(yp, dtype), jnp.asarray(mask), kernels.CategoricalMask(categorical))


def cholesky_with_status(a: jax.Array, max_tries: int = 8) -> tuple[jax.Array, jax.Array]:
    """Lower Cholesky factor of ``a`` and whether it is finite, adding diagonal jitter only
    when the plain factorization fails.

    The jitter starts at ``10 eps * mean(diag)`` (eps from the dtype) and grows tenfold per
    failure, for at most ``max_tries`` retries. A factor that is still not finite after the
    last try comes back as the identity with status False, so that callers can fall back
    instead of computing with NaN.
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
    ok = jnp.all(jnp.isfinite(chol))
    return jnp.where(ok, chol, eye), ok


def cholesky(a: jax.Array, max_tries: int = 8) -> jax.Array:
    """Lower Cholesky factor of ``a`` with escalating jitter (:func:`cholesky_with_status`);
    NaN where even the largest jitter fails."""
    chol, ok = cholesky_with_status(a, max_tries)
    return jnp.where(ok, chol, jnp.nan)


_BLOCK_LEAF = 512  # at or below this many rows, one triangular solve and one product


def _triangular_inverse(low: jax.Array) -> jax.Array:
    """``L^-1`` of a lower-triangular ``L`` by 2x2 blocks, as LAPACK's trtri recurses:
    ``[[A, 0], [C, D]]^-1 = [[A^-1, 0], [-D^-1 C A^-1, D^-1]]``.

    Above the leaf size the work is matrix products, which run 2.5x faster than one
    triangular solve against the identity at n = 2048 (CPU; ``benchmarks/gpu_check.py``'s
    ``parts`` compares both on a GPU). At or below it, the plain solve: smaller leaves gain
    little more and each level adds compile time (leaves of 256 rows: 0.2-0.3 s more per
    program at n = 2048-2560).
    """
    n = low.shape[0]
    if n <= _BLOCK_LEAF:
        return solve_triangular(low, jnp.eye(n, dtype=low.dtype), lower=True)
    h = n // 2
    a, d = _triangular_inverse(low[:h, :h]), _triangular_inverse(low[h:, h:])
    c = -(d @ (low[h:, :h] @ a))
    return jnp.block([[a, jnp.zeros((h, n - h), low.dtype)], [c, d]])


def _lower_gram(m: jax.Array) -> jax.Array:
    """``m^T m`` for a lower-triangular ``m`` by 2x2 blocks that skip its zero block (as
    LAPACK's lauum does): half the flops of the dense product."""
    n = m.shape[0]
    if n <= _BLOCK_LEAF:
        return m.T @ m
    h = n // 2
    a, c, d = m[:h, :h], m[h:, :h], m[h:, h:]
    off = d.T @ c
    return jnp.block([[_lower_gram(a) + c.T @ c, off.T], [off, _lower_gram(d)]])


def _lower_inverse(chol: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``L^-1`` and ``K^-1 = L^-T L^-1`` from a lower factor ``L`` of ``K``."""
    linv = _triangular_inverse(chol)
    return linv, _lower_gram(linv)


@jax.custom_vjp
def gaussian_log_density(cov: jax.Array, r: jax.Array) -> jax.Array:
    """``log N(r; 0, cov)``, ``-inf`` where ``cov`` is not numerically positive definite.

    The value costs one factorization and a triangular solve; the hand-written gradient,
    ``d/dcov = (alpha alpha^T - cov^{-1}) / 2``, ``d/dr = -alpha``, one inverse.
    """
    chol = jnp.linalg.cholesky(cov)
    ok = jnp.all(jnp.isfinite(chol))
    chol = jnp.where(ok, chol, jnp.eye(r.shape[0], dtype=r.dtype))
    z = solve_triangular(chol, r, lower=True)
    value = -0.5 * z @ z - jnp.sum(jnp.log(jnp.diag(chol))) - 0.5 * r.shape[0] * LOG_2PI
    return jnp.where(ok, value, -jnp.inf)


def _gaussian_log_density_fwd(cov, r):
    chol = jnp.linalg.cholesky(cov)
    ok = jnp.all(jnp.isfinite(chol))
    chol = jnp.where(ok, chol, jnp.eye(r.shape[0], dtype=r.dtype))
    _, kinv = _lower_inverse(chol)
    alpha = kinv @ r
    value = -0.5 * r @ alpha - jnp.sum(jnp.log(jnp.diag(chol))) - 0.5 * r.shape[0] * LOG_2PI
    return jnp.where(ok, value, -jnp.inf), (kinv, alpha, ok)


def _gaussian_log_density_bwd(res, g):
    kinv, alpha, ok = res
    g = jnp.where(ok, g, 0.0)
    return (0.5 * g * (jnp.outer(alpha, alpha) - kinv), -g * alpha)


gaussian_log_density.defvjp(_gaussian_log_density_fwd, _gaussian_log_density_bwd)

def lengthscales(params: GPParams) -> jax.Array:
    return jnp.exp(params.log_lengthscales)


def train_covariance(params: GPParams, data: GPData) -> jax.Array:
    """``K + noise I`` over the real rows, the identity on padded ones."""
    k = params.covariance(data.x, data.x, data.categorical)
    n = data.x.shape[0]
    eye = jnp.eye(n, dtype=k.dtype)
    k = k + params.noise_variance() * eye
    both = data.mask[:, None] & data.mask[None, :]
    return jnp.where(both, k, eye)


def residuals(params: GPParams, data: GPData) -> jax.Array:
    return jnp.where(data.mask, data.y - params.prior_mean(data.x), 0.0)


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
    """The hyperparameters at the centre of the priors: a neutral starting point, as host
    arrays (in a new process each eager ``jnp`` operation's first call loads a program:
    building these with ``jnp`` took 0.1 s of a job's first ask)."""
    dtype = np.dtype(dtype or jnp.asarray(0.0).dtype)
    return GPParams(
        np.full((dim,), priors.lengthscale_loc, dtype),
        np.asarray(priors.signal_loc, dtype),
        np.asarray(priors.noise_loc, dtype),
        np.asarray(0.0, dtype),
    )


def prior_normals(key: jax.Array, dim: int, num: int, dtype=None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The standard normal draws behind :func:`sample_prior`: (num, dim), (num,), (num,)."""
    dtype = dtype or jnp.asarray(0.0).dtype
    k1, k2, k3 = jax.random.split(key, 3)
    return jax.random.normal(k1, (num, dim), dtype), jax.random.normal(k2, (num,), dtype), jax.random.normal(k3, (num,), dtype)


def _prior_draws(priors: Priors, normals, zeros) -> GPParams:
    """Draws at half the prior spread from standard normals (JAX or NumPy arrays alike):
    starting points away from the extremes fit better."""
    z_ls, z_signal, z_noise = normals
    return GPParams(
        priors.lengthscale_loc + 0.5 * priors.lengthscale_scale * z_ls,
        priors.signal_loc + 0.5 * priors.signal_scale * z_signal,
        priors.noise_loc + 0.5 * priors.noise_scale * z_noise,
        zeros,
    )


def sample_prior(key: jax.Array, dim: int, priors: Priors, num: int, dtype=None) -> GPParams:
    """``num`` hyperparameter draws from the priors (half their spread), stacked on axis 0."""
    normals = prior_normals(key, dim, num, dtype)
    return _prior_draws(priors, normals, jnp.zeros((num,), normals[0].dtype))


def fit_starts(normals: tuple[np.ndarray, np.ndarray, np.ndarray], priors: Priors, previous: GPParams | None = None) -> GPParams:
    """Starting points of a multi-start fit, as host arrays stacked on axis 0: the previous
    optimum (if given), the prior's centre, then :func:`sample_prior`'s draws from
    ``normals`` (:func:`prior_normals`), computed as it computes them."""
    normals = tuple(np.asarray(z) for z in normals)
    num, dim = normals[0].shape
    starts = _prior_draws(priors, normals, np.zeros((num,), normals[0].dtype))
    centre = GPParams(np.full(dim, priors.lengthscale_loc), priors.signal_loc, priors.noise_loc, 0.0)
    fixed = [centre] if previous is None else [jax.tree.map(np.asarray, previous), centre]
    for i, p in enumerate(fixed[:num]):
        for s, m in zip(starts, p):
            s[i] = m
    return starts


# Fitting: a dense BFGS over the flattened hyperparameters (a few dozen numbers), whose
# every step costs one factorization for each value tried and one inverse for the gradient
# of the accepted point. Its inverse-Hessian estimate carries across asks, so a refit after
# one more observation is usually one step, and often none.

MAX_STEP = 1.0  # largest move of any log-hyperparameter in one step
_ARMIJO = 1e-4
_MAX_LINE_SEARCH = 20


class Fit(NamedTuple):
    """The outcome of :func:`fit_posterior` or :func:`refine`.

    ``hess_inv`` is BFGS's inverse-Hessian estimate over the flattened hyperparameters,
    to be passed to the next :func:`refine`; ``steps`` counts the accepted BFGS steps
    (0 when the starting point was already optimal to ``tol``).
    """

    posterior: Posterior
    loss: jax.Array
    hess_inv: jax.Array
    steps: jax.Array


class _Objective(NamedTuple):
    """A Gaussian negative log posterior ``-log N(r(p); 0, K(p)) - log prior(p)``.

    ``cov_residual(p) -> (K, r)``; ``neg_log_prior(p)``; ``n_real`` real rows. Shared by
    the single-task GP and the multi-task (ICM) model. The residual is ``y - B m``, linear
    in the means m (``B = p.mean_design(x)``) under a Normal(0, ``mean_scale``) prior, so
    the means' optimum given the rest is a generalized least-squares solution: the fit
    profiles them out (:meth:`profiled`) rather than searching for them.
    """

    cov_residual: object
    neg_log_prior: object
    n_real: jax.Array
    design: object
    y: jax.Array
    mean_precision: float

    def free(self, params) -> jax.Array:
        """1 for each flattened hyperparameter the fit searches over, 0 for the means."""
        ones = jax.tree.map(jnp.ones_like, params)
        return ravel_pytree(ones.with_means(jnp.zeros(self.design(params).shape[1], self.y.dtype)))[0]

    def _means(self, bb, by):
        """GLS means from ``B^T K^-1 B`` (q, q) and ``B^T K^-1 y`` (q,), with the prior."""
        return jnp.linalg.solve(bb + self.mean_precision * jnp.eye(bb.shape[0], dtype=bb.dtype), by)

    def _factor(self, cov):
        """The Cholesky factor of cov and whether it is finite (the identity where not)."""
        chol = jnp.linalg.cholesky(cov)
        ok = jnp.all(jnp.isfinite(chol))
        return jnp.where(ok, chol, jnp.eye(cov.shape[0], dtype=cov.dtype)), ok

    def _value(self, params, chol, ok, z):
        """The loss from the factor and the whitened residual ``z = L^-1 r``; ``inf`` where
        K is not numerically positive definite (a point the line search backs off from)."""
        value = 0.5 * z @ z + jnp.sum(jnp.log(jnp.diag(chol))) + 0.5 * self.n_real * LOG_2PI + self.neg_log_prior(params)
        return jnp.where(ok, value, jnp.inf)

    def profiled(self, params):
        """:meth:`value_and_factor` at params with their means at the optimum given the
        rest: ``(value, L, params)``. Two more triangular solves' columns, no factorization."""
        chol, ok = self._factor(self.cov_residual(params)[0])
        b = self.design(params)
        z = solve_triangular(chol, jnp.concatenate([b, self.y[:, None]], axis=1), lower=True)
        zb, zy = z[:, :-1], z[:, -1]
        means = self._means(zb.T @ zb, zb.T @ zy)
        params = params.with_means(means)
        return self._value(params, chol, ok, zy - zb @ means), chol, params

    def profiled_from_inverse(self, params, kinv):
        """params with their means at the optimum given ``K^-1``, and alpha there: O(n^2 q)."""
        b = self.design(params)
        kb = kinv @ b
        means = self._means(b.T @ kb, kb.T @ self.y)
        return params.with_means(means), kinv @ (self.y - b @ means)

    def value_and_factor(self, params):
        """Value-only evaluation: one factorization and a triangular solve."""
        cov, r = self.cov_residual(params)
        chol, ok = self._factor(cov)
        return self._value(params, chol, ok, solve_triangular(chol, r, lower=True)), chol

    def gradient(self, params, kinv, alpha):
        """Gradient from ``K^-1`` and ``alpha = K^-1 r``: O(n^2 d), no factorization."""
        _, vjp = jax.vjp(self.cov_residual, params)
        (g,) = vjp((0.5 * (kinv - jnp.outer(alpha, alpha)), alpha))
        return jax.tree.map(jnp.add, g, jax.grad(self.neg_log_prior)(params))

    def value_from_inverse(self, params, linv, alpha):
        """The value from ``L^-1`` (its diagonal is ``1 / diag(L)``) and alpha."""
        _, r = self.cov_residual(params)
        logdet = -jnp.sum(jnp.log(jnp.diag(linv)))
        return 0.5 * r @ alpha + logdet + 0.5 * self.n_real * LOG_2PI + self.neg_log_prior(params)

    def full(self, params, chol):
        """Value, gradient, ``L^-1``, ``K^-1`` and alpha at params, given its factor."""
        linv, kinv = _lower_inverse(chol)
        _, r = self.cov_residual(params)
        alpha = kinv @ r
        return self.value_from_inverse(params, linv, alpha), self.gradient(params, kinv, alpha), linv, kinv, alpha


class _State(NamedTuple):
    x: jax.Array
    value: jax.Array
    grad: jax.Array
    hess_inv: jax.Array
    linv: jax.Array
    kinv: jax.Array
    alpha: jax.Array
    steps: jax.Array
    done: jax.Array


def _bfgs(objective: _Objective, start, first, hess_inv, max_iter: int, tol: float, fresh: bool, min_steps: int = 0) -> tuple[_State, object]:
    """Minimizes ``objective`` from ``start`` (its means profiled, :meth:`_Objective.profiled`)
    with ``first = (value, grad, linv, kinv, alpha)`` already evaluated there.

    The search runs over the hyperparameters other than the means; every point tried has
    its means at their optimum given the rest, so the means' rows and columns of
    ``hess_inv`` stay zero.

    Stops when the decrease the quadratic model predicts, ``g^T H g / 2``, is below ``tol``
    (in nats of log posterior, so the test does not grow with the data) after at least
    ``min_steps`` steps, when a line search finds no decrease, or after ``max_iter`` steps. Backtracking (Armijo) line
    search: each value tried costs one factorization; the gradient is computed only at the
    accepted point, from that point's factor.
    """
    x0, unravel = ravel_pytree(start)
    free = objective.free(start)
    value, grad, linv, kinv, alpha = first
    grad = ravel_pytree(grad)[0] * free
    eye = jnp.diag(free)
    hess_inv = hess_inv * jnp.outer(free, free)

    def predicted(g, h):
        return 0.5 * g @ h @ g

    converged = (predicted(grad, hess_inv) < tol) & (min_steps == 0)
    init = _State(x0, value, grad, hess_inv, linv, kinv, alpha, jnp.asarray(0), ~jnp.isfinite(value) | converged)

    def step(s: _State) -> _State:
        direction = -s.hess_inv @ s.grad
        slope = s.grad @ direction
        bad = ~(slope < 0.0) | ~jnp.isfinite(slope)
        h = jnp.where(bad, eye, s.hess_inv)
        direction = jnp.where(bad, -s.grad, direction)
        direction = direction * jnp.minimum(1.0, MAX_STEP / jnp.max(jnp.abs(direction)))
        slope = s.grad @ direction

        def try_less(c):
            t, _, _, _, k = c
            t = jnp.where(k == 0, 1.0, 0.5 * t)
            v, chol, p = objective.profiled(unravel(s.x + t * direction))
            return t, v, chol, ravel_pytree(p)[0], k + 1

        def not_enough(c):
            t, v, _, _, k = c
            return (k == 0) | (~(v <= s.value + _ARMIJO * t * slope) & (k < _MAX_LINE_SEARCH))

        init_search = (jnp.asarray(1.0, x0.dtype), s.value, s.linv, s.x, jnp.asarray(0))
        t, v, chol, x, _ = jax.lax.while_loop(not_enough, try_less, init_search)
        accepted = v <= s.value + _ARMIJO * t * slope

        def evaluate(_):
            value, g, linv, kinv, alpha = objective.full(unravel(x), chol)
            return value, ravel_pytree(g)[0] * free, linv, kinv, alpha

        value, g, linv, kinv, alpha = jax.lax.cond(
            accepted, evaluate, lambda _: (s.value, s.grad, s.linv, s.kinv, s.alpha), None
        )
        sd, yd = (x - s.x) * free, g - s.grad
        sy = sd @ yd
        # The first step of a fresh start rescales the identity (Nocedal & Wright eq. 6.20).
        h = jnp.where(fresh & (s.steps == 0) & (sy > 0), eye * sy / (yd @ yd), h)
        rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
        v_ = eye - rho * jnp.outer(sd, yd)
        updated = v_ @ h @ v_.T + rho * jnp.outer(sd, sd)
        h = jnp.where(accepted & (sy > 1e-10 * jnp.sqrt((sd @ sd) * (yd @ yd))), updated, h)
        done = ~accepted | ((predicted(g, h) < tol) & (s.steps + 1 >= min_steps)) | ~jnp.all(jnp.isfinite(g))
        return _State(
            jnp.where(accepted, x, s.x), value, g, h, linv, kinv, alpha, s.steps + accepted.astype(s.steps.dtype), done
        )

    final = jax.lax.while_loop(lambda s: ~s.done & (s.steps < max_iter), step, init)
    return final, unravel


def objective(data: GPData, priors: Priors) -> _Objective:
    """The fitting loss over hyperparameters of any kind that follows :class:`GPParams`'s
    protocol: the likelihood sees ``p.constrained()``, the prior ``p`` itself."""

    def cov_residual(p):
        q = p.constrained()
        return train_covariance(q, data), residuals(q, data)

    def design(p):
        return jnp.where(data.mask[:, None], p.mean_design(data.x), 0.0)

    return _Objective(
        cov_residual, lambda p: p.neg_log_prior(priors), jnp.sum(data.mask), design, jnp.where(data.mask, data.y, 0.0), 1.0 / priors.mean_scale**2
    )


def _num_params(params: GPParams) -> int:
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(params))


def fit(data: GPData, priors: Priors, starts: GPParams, max_iter: int = 100, tol: float = 1e-6) -> tuple[GPParams, jax.Array]:
    """Maximum a posteriori hyperparameters from several starting points.

    Args:
      data: padded observations, outcomes standardized by the caller.
      priors: hyperparameter priors.
      starts: GPParams with a leading axis of starting points, each optimized in turn.
      max_iter: BFGS steps per start.
      tol: the decrease in log posterior (nats) below which a start has converged.

    Returns:
      The best start's (constrained) hyperparameters and its loss, the negative log
      posterior. A start whose loss is not finite is never chosen.
    """
    result = fit_posterior(data, priors, starts, max_iter, tol)
    return result.posterior.params, result.loss


def fit_posterior(data: GPData, priors: Priors, starts: GPParams, max_iter: int = 100, tol: float = 1e-6) -> Fit:
    """:func:`fit`, returning the conditioned posterior and BFGS's curvature as well."""
    loss = objective(data, priors)

    def one(start):
        _, chol, start = loss.profiled(start)
        final, _ = _bfgs(loss, start, loss.full(start, chol), jnp.eye(_num_params(start), dtype=data.y.dtype), max_iter, tol, True)
        return final.x, final.value, final.hess_inv, final.steps

    # lax.map, not vmap: a batched Cholesky on XLA's CPU thread pool can deadlock on small
    # machines (LAPACK batch map waiting for busy workers), and starts are cheap one by one.
    xs, values, hess, steps = jax.lax.map(one, starts)
    values = jnp.where(jnp.isfinite(values), values, jnp.inf)
    best = jnp.argmin(values)
    _, unravel = ravel_pytree(jax.tree.map(lambda a: a[0], starts))
    params = unravel(xs[best]).constrained()
    post = condition(params, data)
    return Fit(post, values[best], hess[best], steps[best])


def refine(post: Posterior, priors: Priors, hess_inv: jax.Array, max_iter: int = 20, tol: float = 1e-3, min_steps: int = 0) -> Fit:
    """Refits the hyperparameters of a conditioned posterior, starting from its own.

    The gradient at the current hyperparameters comes from the posterior's ``K^-1`` in
    O(n^2 d); when the decrease it predicts is below ``tol`` the posterior is returned as
    it is, with no factorization at all (unless ``min_steps`` asks for steps regardless),
    its means moved to their optimum on the posterior's data (O(n^2)).
    Otherwise BFGS continues from there with
    ``hess_inv`` (the previous fit's curvature), and the posterior of its last accepted
    point is returned without factorizing again.
    """
    data = post.data
    loss = objective(data, priors)
    params, alpha = loss.profiled_from_inverse(post.params, post.kinv)
    value = loss.value_from_inverse(params, post.linv, alpha)
    grad = loss.gradient(params, post.kinv, alpha)
    first = (value, grad, post.linv, post.kinv, alpha)
    final, unravel = _bfgs(loss, params, first, hess_inv, max_iter, tol, False, min_steps)
    params = unravel(final.x).constrained()
    ok = post.ok & jnp.all(jnp.isfinite(final.linv))
    return Fit(Posterior(params, data, final.linv, final.kinv, final.alpha, ok), final.value, final.hess_inv, final.steps)


def condition(params: GPParams, data: GPData) -> Posterior:
    """Conditions the GP on data, precomputing what predictions need.

    Escalating jitter rescues a nearly singular covariance; where even that fails the
    posterior's ``ok`` is False (and its factors are the identity's), so that callers fall
    back to other hyperparameters rather than propose from NaN.
    """
    chol, ok = cholesky_with_status(train_covariance(params, data))
    linv, kinv = _lower_inverse(chol)
    return Posterior(params, data, linv, kinv, kinv @ residuals(params, data), ok)


def _extend_inverse(linv: jax.Array, kinv: jax.Array, row, diag, start, stop) -> tuple[jax.Array, jax.Array]:
    """``L^-1`` and ``K^-1`` of a covariance whose rows ``[start, stop)`` turn from padding
    (identity) into real rows, one rank-one step each: O(n^2) per row, no factorization.

    ``row(i)`` is row i of the covariance over the earlier rows (zero from i on), ``diag(i)``
    its diagonal entry. With ``l = L^-1 k`` and ``d = sqrt(c - l.l)``, row i of the new
    ``L^-1`` is ``(-l^T L^-1 / d, 1 / d)``, and ``K^-1`` gains its outer product in place
    of the padding's unit entry.
    """
    n = linv.shape[0]
    idx = jnp.arange(n)

    def add(i, carry):
        linv, kinv = carry
        k = row(i)
        c = diag(i)
        lvec = linv @ k
        d2 = c - lvec @ lvec
        d = jnp.sqrt(jnp.maximum(d2, jnp.finfo(linv.dtype).eps * c))
        q = jnp.where(idx == i, 1.0 / d, -(lvec @ linv) / d)
        q = jnp.where(idx <= i, q, 0.0)
        linv = jax.lax.dynamic_update_slice(linv, q[None, :], (i, 0))
        kinv = kinv.at[i, i].add(-1.0) + jnp.outer(q, q)
        return linv, kinv

    return jax.lax.fori_loop(start, stop, add, (linv, kinv))


def extend(post: Posterior, data: GPData, start) -> Posterior:
    """The posterior on ``data`` (same padded size), given ``post`` conditioned on the first
    ``start`` rows of it: the new rows are added incrementally, outcomes may all change
    (a re-standardization, say), hyperparameters stay."""
    p = post.params
    idx = jnp.arange(data.x.shape[0])

    def row(i):
        k = p.covariance(data.x[i][None, :], data.x, data.categorical)[0]
        return jnp.where(idx < i, k, 0.0)

    def diag(i):
        return p.variance(data.x[i][None, :])[0] + p.noise_variance()

    linv, kinv = _extend_inverse(post.linv, post.kinv, row, diag, start, jnp.sum(data.mask))
    return Posterior(p, data, linv, kinv, kinv @ residuals(p, data), post.ok)


def predict(post: Posterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Posterior mean and variance of the latent ``f`` (no observation noise) at x (m, d)."""
    p, data = post.params, post.data
    ks = jnp.where(data.mask[None, :], p.covariance(x, data.x, data.categorical), 0.0)
    mean = p.prior_mean(x) + ks @ post.alpha
    v = whiten(ks, post.linv)
    var = p.variance(x) - jnp.sum(v**2, axis=-1)
    return mean, jnp.maximum(var, 0.0)


def whiten(ks: jax.Array, linv: jax.Array) -> jax.Array:
    """``ks L^-T`` (m, n), the cross-covariances whitened by the inverse factor, computed in
    ``L^-1``'s precision and returned in ``ks``'s: a float32 copy of ``L^-1`` halves the
    memory traffic of the acquisition's ascent at large n (``optimize.low_precision``)."""
    return (ks.astype(linv.dtype) @ linv.T).astype(ks.dtype)


def predict_joint(post: Posterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Posterior mean (m,) and full covariance (m, m) of the latent ``f`` at x (m, d)."""
    p, data = post.params, post.data
    ks = jnp.where(data.mask[None, :], p.covariance(x, data.x, data.categorical), 0.0)
    v = whiten(ks, post.linv)
    cov = p.covariance(x, x, data.categorical) - v @ v.T
    return p.prior_mean(x) + ks @ post.alpha, 0.5 * (cov + cov.T)


def loo_predictions(post: Posterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out predictive means and variances (noise included) at the training rows,
    hyperparameters fixed (Rasmussen & Williams 2006, eq. 5.12): ``mu_-i = y_i -
    [K^-1 r]_i / [K^-1]_ii`` and ``var_-i = 1 / [K^-1]_ii``. Padded rows get NaN."""
    kinv_diag = jnp.diag(post.kinv)
    mean = post.data.y - post.alpha / kinv_diag
    var = 1.0 / kinv_diag
    return jnp.where(post.data.mask, mean, jnp.nan), jnp.where(post.data.mask, var, jnp.nan)


def add_rows(data: GPData, x: jax.Array, y: jax.Array) -> tuple[GPData, jax.Array]:
    """``data`` with rows (x, y) written after its real rows, and where they start."""
    n = jnp.sum(data.mask)
    xs = jax.lax.dynamic_update_slice(data.x, x.astype(data.x.dtype), (n, 0))
    ys = jax.lax.dynamic_update_slice(data.y, y.astype(data.y.dtype), (n,))
    mask = jnp.arange(data.x.shape[0]) < n + x.shape[0]
    return GPData(xs, ys, mask, data.categorical), n


def fantasize(post: Posterior, fx: jax.Array) -> Posterior:
    """The posterior with extra rows at fx (k, d) observed at its own mean (the kriging
    believer), hyperparameters unchanged, in O(k n^2). The padded data needs k free rows."""
    data, start = add_rows(post.data, fx, predict(post, fx)[0])
    return extend(post, data, start)
