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
    # Compiled, as the optimizer calls them (dispatched op by op they took 9 s here).
    value_and_grad = jax.jit(jax.value_and_grad(gp.log_marginal_likelihood))
    (va, ga), (vb, gb) = value_and_grad(params, a), value_and_grad(params, b)
    np.testing.assert_allclose(va, vb, rtol=1e-12)
    for u, v in zip(ga, gb):
        np.testing.assert_allclose(u, v, rtol=1e-9)
    xs = jnp.asarray(rng.random((5, 3)))
    conditioned_predict = jax.jit(lambda data: gp.predict(gp.condition(params, data), xs))
    for u, v in zip(conditioned_predict(a), conditioned_predict(b)):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_hand_written_gradient_matches_finite_differences(x64):
    rng = np.random.default_rng(2)
    x, y = rng.random((9, 2)), rng.standard_normal(9)
    data = gp.pad_data(x, y, np.array([False, True]), 16, jnp.float64)
    params = fixed_params([0.4, 0.8], 0.9, 0.05, 0.1)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    f = jax.jit(lambda v: gp.log_marginal_likelihood(unravel(v), data))
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


# Compiled once for the four cases below (same shapes), as the optimizer calls them.
_fit = jax.jit(gp.fit, static_argnames=("max_iter", "tol"))
_condition_and_predict = jax.jit(lambda params, data, x: gp.predict(gp.condition(params, data), x))


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
    params, loss = _fit(data, priors, starts)
    assert np.isfinite(loss)
    assert all(np.all(np.isfinite(p)) for p in params)
    mean, var = _condition_and_predict(params, data, jnp.asarray(rng.random((8, 2))))
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
    slow_gram = jax.jit(lambda l: kernels.gram(kernels.mixed, x, x, l, s2, categorical))
    fast_gram = jax.jit(lambda l: kernels.mixed_gram(jnp.asarray(x), jnp.asarray(x), l, s2, jnp.asarray(categorical)))
    slow, fast = slow_gram(ls), fast_gram(ls)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-13)
    g_slow = jax.jit(jax.grad(lambda l: jnp.sum(slow_gram(l) ** 2)))(ls)
    g_fast = jax.jit(jax.grad(lambda l: jnp.sum(fast_gram(l) ** 2)))(ls)
    assert np.all(np.isfinite(g_fast))
    np.testing.assert_allclose(g_fast, g_slow, rtol=1e-7)


@pytest.mark.parametrize("n, d", [(12, 2), (60, 3), (200, 4), pytest.param(600, 3, marks=pytest.mark.slow)])  # 600: 2x2 blocks, 24 s
def test_fit_reaches_scipy_lbfgsb_map(x64, n, d):
    """The BFGS fit ends within 1e-4 nats of SciPy's L-BFGS-B on the same objective from
    the same start (scipy in float64 through JAX's value and gradient)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(n + d)
    x = rng.random((n, d))
    y = np.sin(4 * x[:, 0]) + x[:, 1:].sum(1) ** 2 + 0.05 * rng.standard_normal(n)
    y = (y - y.mean()) / y.std()
    priors = gp.default_priors(d)
    data = gp.pad_data(x, y, np.zeros(d, bool), dtype=jnp.float64)
    start = gp.prior_mode(d, priors, jnp.float64)
    flat, unravel = jax.flatten_util.ravel_pytree(start)
    value_and_grad = jax.jit(jax.value_and_grad(lambda v: gp.neg_log_posterior(unravel(v), data, priors)))

    def fun(v):
        value, grad = value_and_grad(jnp.asarray(v))
        return float(value), np.asarray(grad, np.float64)

    ref = minimize(fun, np.asarray(flat), jac=True, method="L-BFGS-B", options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10})
    ours = gp.fit_posterior(data, priors, jax.tree.map(lambda a: a[None], start), max_iter=200, tol=1e-9)
    assert abs(float(ours.loss) - ref.fun) < 1e-4
    # The returned loss is the loss at the returned (conditioned) hyperparameters.
    np.testing.assert_allclose(gp.neg_log_posterior(ours.posterior.params, data, priors), ours.loss, rtol=1e-9)


def _profile_cases():
    from warmstart_bo.transfer import icm

    rng = np.random.default_rng(11)
    x = rng.random((40, 2))
    y = 3.0 + np.sin(5 * x[:, 0]) + x[:, 1]
    yield "gp", gp.pad_data(x, y, np.zeros(2, bool), 64, jnp.float64), fixed_params([0.3, 0.6], 2.0, 1e-3, -0.4), np.ones((40, 1))
    tasks = [(rng.random((15, 2)), rng.standard_normal(15) + 2.0), (rng.random((9, 2)), rng.standard_normal(9) - 1.0), (x[:7], y[:7])]
    params = icm.ICMParams(jnp.log(jnp.array([0.4, 0.7])), jnp.array([[0.1, 0.0, 0.0], [0.6, -0.3, 0.0], [0.2, 0.3, -0.5]]), jnp.log(0.01), jnp.array([0.2, -0.1, 0.5]))
    yield "icm", icm.pad(tasks, np.zeros(2, bool), 64, jnp.float64), params, np.repeat(np.eye(3), [15, 9, 7], axis=0)


@pytest.mark.parametrize("case", ["gp", "icm"])
def test_profiled_means_are_the_generalized_least_squares_optimum(x64, case):
    """The fit's means given the other hyperparameters equal the GLS solution with the
    mean prior, ``(B^T K^-1 B + I / s^2)^-1 B^T K^-1 y``, computed densely in NumPy; the
    profiled value is the loss there, no other means do better, and the posterior's
    ``K^-1`` gives the same means."""
    name, data, params, design = next(c for c in _profile_cases() if c[0] == case)
    priors = gp.default_priors(2)
    n = design.shape[0]
    cov = np.asarray(gp.train_covariance(params, data))[:n, :n]
    y = np.asarray(data.y)[:n]
    kb, ky = np.linalg.solve(cov, design), np.linalg.solve(cov, y)
    expected = np.linalg.solve(design.T @ kb + np.eye(design.shape[1]) / priors.mean_scale**2, design.T @ ky)
    loss = gp.objective(data, priors)
    value, _, profiled = loss.profiled(params)
    means = np.atleast_1d(np.asarray(profiled.mean if name == "gp" else profiled.means))
    np.testing.assert_allclose(means, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(float(value), float(loss.value_and_factor(profiled)[0]), rtol=1e-12)
    for shift in np.eye(len(means)) * 1e-3:
        for sign in (1, -1):
            moved = profiled.with_means(jnp.asarray(means + sign * shift))
            assert float(loss.value_and_factor(moved)[0]) > float(value)
    from_inverse, alpha = loss.profiled_from_inverse(params, gp.condition(params, data).kinv)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(from_inverse)[0], jax.flatten_util.ravel_pytree(profiled)[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(alpha)[:n], np.linalg.solve(cov, y - design @ expected), rtol=1e-8, atol=1e-10)


def _posterior_parts(post, n):
    return np.asarray(post.linv)[:n, :n], np.asarray(post.kinv)[:n, :n], np.asarray(post.alpha)[:n]


@pytest.mark.parametrize("categorical, n, size", [(False, 40, 64), (True, 40, 64), (False, 600, 1024)])
def test_incremental_extension_equals_fresh_factorization(x64, categorical, n, size):
    rng = np.random.default_rng(7)
    d = 3
    cat = np.array([False, categorical, False])
    x = rng.random((n, d))
    if categorical:
        x[:, 1] = (rng.integers(0, 3, n) + 0.5) / 3
    y = np.cos(3 * x).sum(1)
    params = fixed_params([0.4, 0.7, 0.3], 1.3, 1e-2, 0.2)
    full = gp.pad_data(x, y, cat, size, jnp.float64)
    first = gp.condition(params, gp.pad_data(x[: n - 15], y[: n - 15], cat, size, jnp.float64))
    extended = jax.jit(gp.extend)(first, full, n - 15)
    fresh = gp.condition(params, full)
    for a, b in zip(_posterior_parts(extended, size), _posterior_parts(fresh, size)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    # Padded rows stay the identity.
    np.testing.assert_array_equal(np.asarray(extended.linv)[n:, n:], np.eye(size - n))
    xs = jnp.asarray(rng.random((9, d)))
    for a, b in zip(gp.predict(extended, xs), gp.predict(fresh, xs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n, size", [(300, 512), (700, 1024), (1100, 1536)])
def test_posterior_inverses_match_scipy_above_and_below_the_block_size(x64, n, size):
    """``L^-1``, ``K^-1`` and alpha (by 2x2 blocks of matrix products above 512 rows, one
    triangular solve below) equal SciPy's triangular solve, its Gram product and NumPy's
    inverse of the same covariance, with the padded rows an identity block; K is ill-conditioned (noise 1e-8)."""
    from scipy.linalg import solve_triangular

    rng = np.random.default_rng(n)
    x = rng.random((n, 3))
    y = np.sin(5 * x).sum(1)
    params = fixed_params([0.5, 0.8, 0.3], 1.1, 1e-8, 0.1)
    data = gp.pad_data(x, y, np.zeros(3, bool), size, jnp.float64)
    post = gp.condition(params, data)
    padded = gp.train_covariance(params, data)
    cov = np.asarray(padded)[:n, :n]
    chol = np.asarray(jnp.linalg.cholesky(padded))[:n, :n]  # the factor the model inverts
    linv, kinv, alpha = _posterior_parts(post, n)
    ref_linv = solve_triangular(chol, np.eye(n), lower=True)
    ref_kinv = ref_linv.T @ ref_linv
    np.testing.assert_allclose(linv, ref_linv, rtol=0, atol=1e-12 * np.abs(ref_linv).max())
    np.testing.assert_allclose(kinv, ref_kinv, rtol=0, atol=1e-12 * np.abs(ref_kinv).max())
    # An inverse by LU agrees to what K's conditioning allows.
    lu_tol = 10 * np.linalg.cond(cov) * np.finfo(float).eps
    np.testing.assert_allclose(kinv, np.linalg.inv(cov), rtol=0, atol=lu_tol * np.abs(ref_kinv).max())
    np.testing.assert_allclose(alpha, ref_kinv @ (y - 0.1), rtol=0, atol=1e-7 * np.abs(ref_kinv @ (y - 0.1)).max())
    np.testing.assert_array_equal(np.asarray(post.kinv)[n:, n:], np.eye(size - n))
    np.testing.assert_array_equal(np.asarray(post.linv)[:n, n:], 0.0)


def test_refine_without_new_information_takes_no_step(x64):
    rng = np.random.default_rng(8)
    x, y = rng.random((30, 2)), rng.standard_normal(30)
    priors = gp.default_priors(2)
    data = gp.pad_data(x, y, np.zeros(2, bool), 32, jnp.float64)
    # Compiled, as the optimizer calls them (op by op these took 12 s).
    fit_posterior = jax.jit(gp.fit_posterior, static_argnames=("max_iter", "tol"))
    refine = jax.jit(gp.refine, static_argnames=("max_iter", "tol", "min_steps"))
    fitted = fit_posterior(data, priors, gp.sample_prior(jax.random.key(0), 2, priors, 3, jnp.float64), tol=1e-8)
    again = refine(fitted.posterior, priors, fitted.hess_inv, tol=1e-6)
    assert int(again.steps) == 0
    np.testing.assert_array_equal(np.asarray(again.posterior.kinv), np.asarray(fitted.posterior.kinv))
    # One more, surprising observation: the refinement moves, and lands at a lower loss
    # than the old hyperparameters have on the new data.
    x2, y2 = np.concatenate([x, [[0.5, 0.5]]]), np.concatenate([y, [8.0]])
    data2 = gp.pad_data(x2, y2, np.zeros(2, bool), 32, jnp.float64)
    grown = jax.jit(gp.extend)(fitted.posterior, data2, 30)
    moved = refine(grown, priors, fitted.hess_inv, tol=1e-6)
    assert int(moved.steps) > 0
    assert float(moved.loss) < float(gp.neg_log_posterior(fitted.posterior.params, data2, priors)) - 1e-3
    np.testing.assert_allclose(gp.neg_log_posterior(moved.posterior.params, data2, priors), moved.loss, rtol=1e-9)
    fresh = gp.condition(moved.posterior.params, data2)
    np.testing.assert_allclose(np.asarray(moved.posterior.alpha), np.asarray(fresh.alpha), rtol=1e-8, atol=1e-10)


def test_condition_reports_a_failed_factorization(x64):
    a = jnp.full((4, 4), jnp.nan)
    chol, ok = gp.cholesky_with_status(a)
    assert not bool(ok) and np.all(np.isfinite(chol))
    assert np.all(np.isnan(gp.cholesky(a)))


def test_gram_without_categorical_coordinates_skips_the_hamming_term(x64):
    x = jnp.asarray(np.random.default_rng(9).random((50, 3)))
    ls = jnp.array([0.3, 0.5, 0.7])
    no_cat = jax.jit(lambda x: kernels.mixed_gram(x, x, ls, 1.0, kernels.CategoricalMask([False] * 3)))
    text = no_cat.lower(x).as_text()
    np.testing.assert_allclose(no_cat(x), kernels.gram(kernels.matern52, x, x, ls), rtol=1e-12)
    with_cat = jax.jit(lambda x: kernels.mixed_gram(x, x, ls, 1.0, kernels.CategoricalMask([False, True, False])))
    # The (n, n, d) comparison exists only where a coordinate is categorical.
    assert "50x50x3" not in text and "50x50x1" in with_cat.lower(x).as_text()



def test_bucket_sizes_double_then_grow_in_steps():
    assert [gp.bucket_size(n) for n in (0, 1, 16, 17, 100, 1024)] == [16, 16, 16, 32, 128, 1024]
    assert [gp.bucket_size(n) for n in (1025, 1536, 1537, 2500)] == [1536, 1536, 2048, 2560]


def test_lognormal_lengthscale_prior_is_the_lognormal_density_in_l(x64):
    """The "lognormal" prior, as a function of log l, differs from scipy's LogNormal density
    of l by a constant: the -log l Jacobian is in; "normal-log" lacks it."""
    from scipy import stats

    d = 2
    lognormal, normal_log = gp.default_priors(d, "lognormal"), gp.default_priors(d, "normal-log")
    mu, s = normal_log.lengthscale_loc, normal_log.lengthscale_scale
    log_ls = np.linspace(-4.0, 3.0, 8)

    def prior_at(priors, v):
        p = gp.GPParams(jnp.full((1,), v), jnp.asarray(0.0), jnp.asarray(-4.0), jnp.asarray(0.0))
        return float(gp.log_prior(p, priors))

    reference = stats.lognorm(s=s, scale=np.exp(mu)).logpdf(np.exp(log_ls))
    ours = np.array([prior_at(lognormal, v) for v in log_ls])
    np.testing.assert_allclose(ours - ours[0], reference - reference[0], rtol=1e-10, atol=1e-10)
    plain = np.array([prior_at(normal_log, v) for v in log_ls])
    assert np.ptp((plain - plain[0]) - (reference - reference[0])) > 1.0
    assert lognormal.lengthscale_loc == pytest.approx(mu - s**2)
    with pytest.raises(ValueError, match="lengthscale prior"):
        gp.default_priors(d, "gamma")
