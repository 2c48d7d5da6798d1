"""Acquisition functions as pure functions of posterior moments.

Outcomes are oriented so that larger is better (the optimizer negates minimized metrics).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import erfcx, log_ndtr, ndtr

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_HALF_LOG_PI_OVER_2 = 0.5 * math.log(math.pi / 2.0)


_ERFCX_SERIES_FROM = 9.0


@jax.custom_jvp
def _erfcx(x: jax.Array) -> jax.Array:
    """``exp(x^2) erfc(x)``, with the derivative ``2 x erfcx(x) - 2 / sqrt(pi)``.

    ``jax.scipy.special.erfcx`` underflows to 0 where ``exp(x^2)`` overflows (x > ~26 in
    float64, ~9 in float32); beyond x = 9 this uses the asymptotic series
    ``erfcx(x) = 1 / (x sqrt(pi)) sum_k (-1)^k (2k - 1)!! / (2 x^2)^k`` (8 terms, relative
    error below 1e-11 there).
    """
    big = x > _ERFCX_SERIES_FROM
    xb = jnp.where(big, x, 2.0 * _ERFCX_SERIES_FROM)
    t = 1.0 / (2.0 * xb * xb)
    series, term = jnp.ones_like(xb), jnp.ones_like(xb)
    for k in range(1, 9):
        term = -term * (2 * k - 1) * t
        series = series + term
    return jnp.where(big, series / (xb * math.sqrt(math.pi)), erfcx(jnp.where(big, 0.0, x)))


@_erfcx.defjvp
def _erfcx_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = _erfcx(x)
    return y, (2.0 * x * y - 2.0 / math.sqrt(math.pi)) * dx


def _log1mexp(w: jax.Array) -> jax.Array:
    """``log(1 - exp(w))`` for ``w < 0``, accurate on both sides of ``-log 2`` (Maechler 2012)."""
    w = jnp.minimum(w, -jnp.finfo(w.dtype).tiny)
    return jnp.where(w > -math.log(2.0), jnp.log(-jnp.expm1(w)), jnp.log1p(-jnp.exp(w)))


def log_h(z: jax.Array) -> jax.Array:
    """``log(phi(z) + z Phi(z))``, the log of expected improvement at unit scale.

    Follows Ament et al., "Unexpected Improvements to Expected Improvement for Bayesian
    Optimization" (NeurIPS 2023), eq. (9):

    - z > -1: direct evaluation, no cancellation;
    - -1/sqrt(eps) < z <= -1: ``h(z) = phi(z) (1 - |z| Phi(z) / phi(z))`` with
      ``Phi(z) / phi(z) = sqrt(pi / 2) erfcx(-z / sqrt 2)``, so
      ``log h = log phi(z) + log1mexp(log(|z| erfcx(-z / sqrt 2)) + log sqrt(pi / 2))``;
    - z <= -1/sqrt(eps): the asymptote ``log phi(z) - 2 log|z|``.

    Each branch sees its input clamped to its own region, so the branches not taken never
    produce a NaN that would leak into the gradient through ``where``.
    """
    eps = jnp.finfo(z.dtype).eps
    z_far = -1.0 / math.sqrt(eps)
    # where() rather than clip(): at a region's edge the gradient passes through whole.
    is_upper = z > -1.0
    z_up = jnp.where(is_upper, z, -1.0)
    upper = jnp.log(jnp.exp(-0.5 * z_up**2 - _HALF_LOG_2PI) + z_up * ndtr(z_up))
    is_far = z <= z_far
    z_low = jnp.where(is_upper, -1.0, jnp.where(is_far, z_far, z))
    w = jnp.log(_erfcx(-z_low / math.sqrt(2.0)) * jnp.abs(z_low)) + _HALF_LOG_PI_OVER_2
    log_phi = -0.5 * z**2 - _HALF_LOG_2PI
    z_tail = jnp.where(is_upper, -1.0, z)
    lower = log_phi + jnp.where(is_far, -2.0 * jnp.log(jnp.abs(z_tail)), _log1mexp(w))
    return jnp.where(is_upper, upper, lower)


def log_expected_improvement(mean: jax.Array, variance: jax.Array, best: jax.Array) -> jax.Array:
    """``log E[max(f - best, 0)]`` for ``f ~ N(mean, variance)`` (LogEI)."""
    sigma = jnp.sqrt(jnp.maximum(variance, jnp.finfo(mean.dtype).tiny ** 0.5))
    return log_h((mean - best) / sigma) + jnp.log(sigma)


def expected_improvement(mean: jax.Array, variance: jax.Array, best: jax.Array) -> jax.Array:
    """Plain EI, ``sigma h((mean - best) / sigma)``; underflows where LogEI does not."""
    sigma = jnp.sqrt(variance)
    z = (mean - best) / sigma
    return sigma * (jnp.exp(-0.5 * z**2 - _HALF_LOG_2PI) + z * ndtr(z))


def upper_confidence_bound(mean: jax.Array, variance: jax.Array, beta: float | jax.Array) -> jax.Array:
    """``mean + sqrt(beta) * sigma`` (Srinivas et al. 2010).

    sigma is floored as in LogEI, so the gradient stays finite where the posterior
    variance is zero (at an observed point of a noiseless fit)."""
    return mean + jnp.sqrt(beta) * jnp.sqrt(jnp.maximum(variance, jnp.finfo(mean.dtype).tiny ** 0.5))


def log_probability_of_improvement(mean: jax.Array, variance: jax.Array, best: jax.Array) -> jax.Array:
    """``log P(f > best)``, stable for improbable improvements."""
    sigma = jnp.sqrt(jnp.maximum(variance, jnp.finfo(mean.dtype).tiny ** 0.5))
    return log_ndtr((mean - best) / sigma)


ACQUISITIONS = ("log_ei", "ucb")


def evaluate(name: str, mean: jax.Array, variance: jax.Array, best: jax.Array, beta: float = 4.0) -> jax.Array:
    """Dispatches on an acquisition name (a static string under jit)."""
    if name == "log_ei":
        return log_expected_improvement(mean, variance, best)
    if name == "ucb":
        return upper_confidence_bound(mean, variance, beta)
    raise ValueError(f"unknown acquisition {name!r}; expected one of {ACQUISITIONS}")


__all__ = [
    "ACQUISITIONS",
    "evaluate",
    "expected_improvement",
    "log_expected_improvement",
    "log_h",
    "log_probability_of_improvement",
    "upper_confidence_bound",
]
