import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from warmstart_bo import gp, kernels


def fixed_params(lengthscales, signal, noise, mean=0.0):
    return gp.GPParams(jnp.log(jnp.asarray(lengthscales)), jnp.log(jnp.asarray(signal)), jnp.log(jnp.asarray(noise)), jnp.asarray(mean))


@pytest.mark.parametrize("n, d", [(1, 1), (7, 2), (30, 3), (100, 6)])
def test_matches_sklearn_with_fixed_hyperparameters(x64, n, d):
    rng = np.random.default_rng(n * 10 + d)
    x = rng.random((n, d))
    y = np.sin(3 * x).sum(1) + 0.1 * rng.standard_normal(n)
    xs = rng.random((25, d))
    ls, signal, noise = rng.uniform(0.2, 2.0, d), 1.7, 0.03
    kernel = ConstantKernel(signal, "fixed") * Matern(ls, "fixed", nu=2.5) + WhiteKernel(noise, "fixed")
    ref = GaussianProcessRegressor(kernel, alpha=0.0, optimizer=None, normalize_y=False).fit(x, y)
    ref_mean, ref_std = ref.predict(xs, return_std=True)

    params = fixed_params(ls, signal, noise)
    data = gp.pad_data(x, y, np.zeros(d, bool), dtype=jnp.float64)  # padded to a bucket
    lml = gp.log_marginal_likelihood(params, data)
    mean, var = gp.predict(gp.condition(params, data), jnp.asarray(xs))
    np.testing.assert_allclose(lml, ref.log_marginal_likelihood_value_, rtol=1e-6)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-9)
    # sklearn's std includes the white-noise term; ours is the latent f's.
    np.testing.assert_allclose(np.sqrt(var + noise), ref_std, rtol=1e-6)


def test_padding_does_not_change_results(x64):
    rng = np.random.default_rng(1)
    x, y = rng.random((11, 3)), rng.standard_normal(11)
    params = fixed_params([0.3, 0.5, 0.9], 1.2, 1e-3, 0.4)
    a = gp.pad_data(x, y, np.zeros(3, bool), 11, jnp.float64)
    b = gp.pad_data(x, y, np.zeros(3, bool), 64, jnp.float64)
    np.testing.assert_allclose(gp.log_marginal_likelihood(params, a), gp.log_marginal_likelihood(params, b), rtol=1e-12)
    ga = jax.grad(gp.log_marginal_likelihood)(params, a)
    gb = jax.grad(gp.log_marginal_likelihood)(params, b)
    for u, v in zip(ga, gb):
        np.testing.assert_allclose(u, v, rtol=1e-9)
    xs = jnp.asarray(rng.random((5, 3)))
    for u, v in zip(gp.predict(gp.condition(params, a), xs), gp.predict(gp.condition(params, b), xs)):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_hand_written_gradient_matches_finite_differences(x64):
    rng = np.random.default_rng(2)
    x, y = rng.random((9, 2)), rng.standard_normal(9)
    data = gp.pad_data(x, y, np.array([False, True]), 16, jnp.float64)
    params = fixed_params([0.4, 0.8], 0.9, 0.05, 0.1)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    f = lambda v: gp.log_marginal_likelihood(unravel(v), data)
    g = jax.grad(f)(flat)
    eps = 1e-6
    fd = np.array([(f(flat.at[i].add(eps)) - f(flat.at[i].add(-eps))) / (2 * eps) for i in range(flat.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_matern_gradient_finite_at_zero_distance(x64):
    x = jnp.array([0.3, 0.7])
    ls = jnp.array([0.5, 2.0])
    g = jax.grad(kernels.matern52)(x, x, ls)
    assert np.all(np.isfinite(g)) and np.allclose(g, 0.0)
    g_ls = jax.grad(kernels.matern52, argnums=2)(x, x, ls)
    assert np.all(np.isfinite(g_ls))
    assert kernels.matern52(x, x, ls) == 1.0


def test_categorical_kernel_is_overlap_and_positive_definite(x64):
    # Three values of one categorical coordinate, encoded as bin midpoints.
    x = jnp.array([[1 / 6], [0.5], [5 / 6], [0.5]])
    k = kernels.gram(kernels.mixed, x, x, jnp.array([2.0]), jnp.asarray(1.0), jnp.array([True]))
    expected = np.where(np.equal.outer([0, 1, 2, 1], [0, 1, 2, 1]), 1.0, np.exp(-0.5))
    np.testing.assert_allclose(k, expected)
    assert np.all(np.linalg.eigvalsh(np.asarray(k)) > -1e-12)


def test_cholesky_escalates_jitter_for_singular_matrix(x64):
    v = jnp.ones((5, 1))
    a = v @ v.T  # rank one: the plain factorization fails
    assert not np.all(np.isfinite(jnp.linalg.cholesky(a)))
    chol = gp.cholesky(a)
    assert np.all(np.isfinite(chol))
    np.testing.assert_allclose(chol @ chol.T, a, atol=1e-8)


@pytest.mark.parametrize(
    "case",
    ["duplicates", "one_point", "constant", "corners"],
)
def test_fit_survives_adversarial_data(x64, case):
    rng = np.random.default_rng(3)
    if case == "duplicates":
        x = np.repeat(rng.random((4, 2)), 5, axis=0)
        y = np.repeat(rng.standard_normal(4), 5)
    elif case == "one_point":
        x, y = rng.random((1, 2)), np.zeros(1)
    elif case == "constant":
        x, y = rng.random((12, 2)), np.zeros(12)
    else:
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [1, 1]], float)
        y = np.array([1.0, -1.0, 0.5, 2.0, 1.0, 2.0])
    priors = gp.default_priors(2)
    data = gp.pad_data(x, y, np.zeros(2, bool), 32, jnp.float64)
    starts = gp.sample_prior(jax.random.key(0), 2, priors, 4, jnp.float64)
    params, loss = gp.fit(data, priors, starts)
    assert np.isfinite(loss)
    assert all(np.all(np.isfinite(p)) for p in params)
    mean, var = gp.predict(gp.condition(params, data), jnp.asarray(rng.random((8, 2))))
    assert np.all(np.isfinite(mean)) and np.all(var >= 0)


def test_fit_recovers_lengthscale_order(x64):
    # f varies fast along x0 and not at all along x1: the fitted lengthscales must say so.
    rng = np.random.default_rng(4)
    x = rng.random((40, 2))
    y = np.sin(8 * x[:, 0])
    y = (y - y.mean()) / y.std()
    priors = gp.default_priors(2)
    data = gp.pad_data(x, y, np.zeros(2, bool), 64, jnp.float64)
    params, loss = gp.fit(data, priors, gp.sample_prior(jax.random.key(1), 2, priors, 4, jnp.float64))
    ls = np.exp(params.log_lengthscales)
    assert ls[0] < 1.0 and ls[1] > 5 * ls[0]
    # The MAP beats the prior's centre by a wide margin.
    assert loss < gp.neg_log_posterior(gp.prior_mode(2, priors, jnp.float64), data, priors) - 10


def test_fast_gram_matches_pairwise_kernel(x64):
    rng = np.random.default_rng(5)
    categorical = np.array([False, True, False, True])
    x = rng.random((20, 4))
    x[:, categorical] = (rng.integers(0, 3, (20, 2)) + 0.5) / 3
    x[5] = x[3]  # a duplicate: zero distance
    ls, s2 = jnp.asarray(rng.uniform(0.1, 2.0, 4)), jnp.asarray(1.3)
    slow = kernels.gram(kernels.mixed, x, x, ls, s2, categorical)
    fast = kernels.mixed_gram(jnp.asarray(x), jnp.asarray(x), ls, s2, jnp.asarray(categorical))
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-13)
    g_slow = jax.grad(lambda l: jnp.sum(kernels.gram(kernels.mixed, x, x, l, s2, categorical) ** 2))(ls)
    g_fast = jax.grad(lambda l: jnp.sum(kernels.mixed_gram(jnp.asarray(x), jnp.asarray(x), l, s2, jnp.asarray(categorical)) ** 2))(ls)
    assert np.all(np.isfinite(g_fast))
    np.testing.assert_allclose(g_fast, g_slow, rtol=1e-7)
