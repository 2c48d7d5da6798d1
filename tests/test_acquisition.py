import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import log_ndtr as sp_log_ndtr
from scipy.stats import norm

from warmstart_bo import acquisition


def reference_log_h(z: float) -> float:
    """log(phi(z) + z Phi(z)) in float64 by the direct formula (valid where it is representable)."""
    return math.log(norm.pdf(z) + z * norm.cdf(z))


@pytest.mark.parametrize("z", [-5.0, -3.0, -1.5, -1.0, -0.3, 0.0, 0.7, 2.0, 6.0])
def test_log_h_matches_closed_form(x64, z):
    np.testing.assert_allclose(acquisition.log_h(jnp.asarray(z)), reference_log_h(z), rtol=1e-9)


def test_log_ei_matches_closed_form_ei(x64):
    rng = np.random.default_rng(0)
    mean, std, best = rng.standard_normal(50), rng.uniform(0.1, 3.0, 50), 0.5
    z = (mean - best) / std
    ei = std * (norm.pdf(z) + z * norm.cdf(z))
    got = acquisition.log_expected_improvement(jnp.asarray(mean), jnp.asarray(std**2), jnp.asarray(best))
    np.testing.assert_allclose(got, np.log(ei), rtol=1e-9)
    np.testing.assert_allclose(acquisition.expected_improvement(jnp.asarray(mean), jnp.asarray(std**2), best), ei, rtol=1e-9)


@pytest.mark.parametrize("z", [-30.0, -100.0, -1e4, -1e9])
def test_log_h_far_below_is_finite_and_asymptotically_right(x64, z):
    value = acquisition.log_h(jnp.asarray(z))
    grad = jax.grad(acquisition.log_h)(jnp.asarray(z))
    assert np.isfinite(value) and np.isfinite(grad)
    # log h(z) = log phi(z) - 2 log|z| - 3/z^2 + O(1/z^4); the gradient -z - 2/z + O(1/z^3).
    asymptote = -0.5 * z * z - 0.5 * math.log(2 * math.pi) - 2 * math.log(abs(z))
    assert value == pytest.approx(asymptote, rel=1e-6, abs=3.0 / z**2 + 1e-12)
    assert grad == pytest.approx(-z - 2 / z, rel=1e-7, abs=10 / abs(z) ** 3)


def test_log_h_at_30_sigma_matches_high_precision_series(x64):
    # h(z) = phi(z) * (1/z^2 - 3/z^4 + 15/z^6 - 105/z^8 + ...) for z -> -inf.
    z = -30.0
    series = sum((-1) ** k * c / z ** (2 * k + 2) for k, c in enumerate([1, 3, 15, 105, 945, 10395]))
    ref = norm.logpdf(z) + math.log(series)
    assert acquisition.log_h(jnp.asarray(z)) == pytest.approx(ref, rel=1e-12)


def test_log_ei_gradient_finite_everywhere(x64):
    z = jnp.linspace(-60.0, 20.0, 801)
    g = jax.vmap(jax.grad(lambda m: acquisition.log_expected_improvement(m, jnp.asarray(1.0), jnp.asarray(0.0))))(z)
    assert np.all(np.isfinite(g)) and np.all(g > 0)  # monotone in the mean
    # Continuous across the branch at z = -1.
    left, at, right = (float(jax.grad(acquisition.log_h)(jnp.asarray(v))) for v in (-1.0 - 1e-7, -1.0, -1.0 + 1e-7))
    assert left == pytest.approx(at, rel=1e-5) and right == pytest.approx(at, rel=1e-5)
    # Zero variance still gives a finite value.
    assert np.isfinite(acquisition.log_expected_improvement(jnp.asarray(-1.0), jnp.asarray(0.0), jnp.asarray(0.0)))


def test_float32_log_ei_is_finite_far_below():
    z = jnp.asarray([-1e3, -40.0, -5.0, 0.0, 3.0], jnp.float32)
    v = acquisition.log_h(z)
    g = jax.vmap(jax.grad(acquisition.log_h))(z)
    assert v.dtype == jnp.float32 and np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(v[2:], [reference_log_h(float(t)) for t in z[2:]], rtol=5e-4)


def test_ucb_and_log_pi(x64):
    assert acquisition.upper_confidence_bound(jnp.asarray(1.0), jnp.asarray(4.0), 9.0) == pytest.approx(7.0)
    assert acquisition.log_probability_of_improvement(jnp.asarray(-40.0), jnp.asarray(1.0), jnp.asarray(0.0)) == pytest.approx(sp_log_ndtr(-40.0), rel=1e-10)


@pytest.mark.parametrize("beta", [0.0, 4.0])
def test_ucb_gradient_is_finite_where_the_variance_is_zero(x64, beta):
    grad = jax.grad(lambda v: acquisition.upper_confidence_bound(jnp.asarray(0.3), v, beta))(jnp.asarray(0.0))
    assert np.isfinite(grad)
    # Through a posterior: at an observed point of a (nearly) noiseless GP the variance is 0.
    from warmstart_bo import gp

    x = np.array([[0.2, 0.4], [0.7, 0.1]])
    params = gp.GPParams(jnp.log(jnp.array([0.5, 0.5])), jnp.asarray(0.0), jnp.log(jnp.asarray(1e-9)), jnp.asarray(0.0))
    post = gp.condition(params, gp.pad_data(x, np.array([1.0, -1.0]), np.zeros(2, bool), 16, jnp.float64))
    g = jax.grad(lambda z: acquisition.evaluate("ucb", *post.predict(z[None]), 0.0, beta)[0])(jnp.asarray(x[0]))
    assert np.all(np.isfinite(g))
