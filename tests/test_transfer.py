"""Transfer priors against dense float64 references, and their behaviour on related and
unrelated tasks."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from warmstart_bo import gp
from warmstart_bo.transfer import (
    Task,
    fantasize,
    fit_posterior,
    gaussian_copula,
    icm,
    normalize,
    ranking_loss,
    rgpe,
    stacked,
    subsample,
)

CAT = np.zeros(2, bool)


def matern52(x1, x2, ls):
    r = np.sqrt(np.sum(((x1[:, None, :] - x2[None, :, :]) / ls) ** 2, axis=-1))
    s5 = np.sqrt(5.0) * r
    return (1 + s5 + s5**2 / 3) * np.exp(-s5)


def dense_gp(x, y, params, xs):
    """Posterior mean and latent variance of a GP in plain NumPy, straight from the formulas."""
    ls = np.exp(np.asarray(params.log_lengthscales))
    sv, nv, m = float(np.exp(params.log_signal_variance)), float(np.exp(params.log_noise_variance)), float(params.mean)
    k = sv * matern52(x, x, ls) + nv * np.eye(len(x))
    ks = sv * matern52(xs, x, ls)
    mean = m + ks @ np.linalg.solve(k, y - m)
    var = sv - np.sum(ks * np.linalg.solve(k, ks.T).T, axis=1)
    return mean, var


def branin_like(x, shift=0.0, scale=1.0, offset=0.0):
    x1, x2 = 15 * x[:, 0] - 5 + shift, 15 * x[:, 1]
    return scale * ((x2 - 5.1 / (4 * np.pi**2) * x1**2 + 5 / np.pi * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10) + offset


def test_gaussian_copula_and_standardize():
    y = np.array([3.0, -1.0, 10.0, 3.0])
    np.testing.assert_allclose(gaussian_copula(y), norm.ppf((np.array([2.5, 1, 4, 2.5]) - 0.5) / 4))
    z = normalize(1e9 + 1e3 * y)
    np.testing.assert_allclose(z, (y - y.mean()) / y.std(), atol=1e-6)
    np.testing.assert_array_equal(normalize(np.full(3, 7.0)), np.zeros(3))
    with pytest.raises(ValueError, match="normalization"):
        normalize(y, "rank")


def test_ranking_loss_counts_misordered_pairs():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(7)
    f = rng.standard_normal((5, 7))
    brute = [sum((f[s, j] < f[s, k]) != (y[j] < y[k]) for j, k in itertools.product(range(7), repeat=2)) for s in range(5)]
    np.testing.assert_array_equal(ranking_loss(f, y), brute)
    assert ranking_loss(y, y) == 0


def test_loo_predictions_match_refits_without_each_point(x64):
    rng = np.random.default_rng(1)
    x, y = rng.random((9, 2)), rng.standard_normal(9)
    params = gp.GPParams(jnp.log(jnp.array([0.3, 0.6])), jnp.log(1.3), jnp.log(0.02), jnp.asarray(0.2))
    post = gp.condition(params, gp.pad_data(x, y, CAT, 16, jnp.float64))
    mean, var = (np.asarray(a)[:9] for a in gp.loo_predictions(post))
    for i in range(9):
        keep = np.arange(9) != i
        m, v = dense_gp(x[keep], y[keep], params, x[i : i + 1])
        np.testing.assert_allclose(mean[i], m[0], rtol=1e-8)
        np.testing.assert_allclose(var[i], v[0] + 0.02, rtol=1e-8)


def test_predict_joint_and_fantasize_match_dense_formulas(x64):
    rng = np.random.default_rng(2)
    x, y, xs = rng.random((6, 2)), rng.standard_normal(6), rng.random((4, 2))
    params = gp.GPParams(jnp.log(jnp.array([0.5, 0.4])), jnp.log(0.8), jnp.log(1e-3), jnp.asarray(-0.1))
    post = gp.condition(params, gp.pad_data(x, y, CAT, 16, jnp.float64))
    mean, cov = gp.predict_joint(post, jnp.asarray(xs))
    ref_mean, ref_var = dense_gp(x, y, params, xs)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-9)
    np.testing.assert_allclose(np.diag(cov), ref_var, rtol=1e-7)
    fx = rng.random((2, 2))
    fant = gp.fantasize(post, jnp.asarray(fx))
    fy = np.asarray(gp.predict(post, jnp.asarray(fx))[0])
    ref = dense_gp(np.concatenate([x, fx]), np.concatenate([y, fy]), params, xs)
    for a, b in zip(gp.predict(fant, jnp.asarray(xs)), ref):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


def test_stacked_residuals_and_blended_variance_match_a_dense_stack(x64):
    rng = np.random.default_rng(3)
    x0, x1, xs = rng.random((30, 2)), rng.random((8, 2)), rng.random((20, 2))
    y0 = normalize(-branin_like(x0))
    y1 = normalize(-branin_like(x1, shift=0.5))
    stack = stacked.fit([Task(x0, y0), Task(x1, y1)], CAT, gp.default_priors(2), seed=0, dtype=jnp.float64)
    p0, p1 = (lvl.params for lvl in stack.levels)
    m0_at_x1, _ = dense_gp(x0, y0, p0, x1)
    np.testing.assert_allclose(np.asarray(stack.levels[1].data.y)[:8], y1 - m0_at_x1, rtol=1e-7, atol=1e-9)
    m0, v0 = dense_gp(x0, y0, p0, xs)
    m1, v1 = dense_gp(x1, y1 - m0_at_x1, p1, xs)
    beta = stacked.ALPHA * 30 / (stacked.ALPHA * 30 + 8)
    mean, var = stacked.predict(stack, jnp.asarray(xs))
    np.testing.assert_allclose(mean, m0 + m1, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(var), np.sqrt(v0) ** beta * np.sqrt(v1) ** (1 - beta), rtol=1e-6)


def dense_icm(params, tasks, xs, target):
    """The ICM posterior of task ``target`` from the full Kronecker-structured covariance."""
    raw = np.asarray(params.task_factor)
    chol = np.tril(raw, -1) + np.diag(np.exp(np.diag(raw)))
    b = chol @ chol.T + 1e-6 * np.eye(len(raw))
    ls = np.exp(np.asarray(params.log_lengthscales))
    x = np.concatenate([t[0] for t in tasks])
    y = np.concatenate([t[1] for t in tasks])
    ids = np.concatenate([np.full(len(t[1]), i) for i, t in enumerate(tasks)])
    means = np.asarray(params.means)
    k = b[ids][:, ids] * matern52(x, x, ls) + np.exp(float(params.log_noise_variance)) * np.eye(len(x))
    ks = b[target, ids][None, :] * matern52(xs, x, ls)
    mean = means[target] + ks @ np.linalg.solve(k, y - means[ids])
    var = b[target, target] - np.sum(ks * np.linalg.solve(k, ks.T).T, axis=1)
    return mean, var, k, y - means[ids]


def test_icm_posterior_matches_the_dense_multitask_gp(x64):
    rng = np.random.default_rng(4)
    tasks = [(rng.random((12, 2)), rng.standard_normal(12)), (rng.random((5, 2)), rng.standard_normal(5))]
    params = icm.ICMParams(jnp.log(jnp.array([0.4, 0.7])), jnp.array([[0.1, 0.0], [0.6, -0.3]]), jnp.log(0.01), jnp.array([0.2, -0.1]))
    data = icm.pad(tasks, CAT, 32, jnp.float64)
    post = icm.condition(params, data, 1)
    xs = rng.random((7, 2))
    ref_mean, ref_var, k, r = dense_icm(params, tasks, xs, 1)
    mean, var = icm.predict(post, jnp.asarray(xs))
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8)
    np.testing.assert_allclose(var, ref_var, rtol=1e-7, atol=1e-12)
    _, logdet = np.linalg.slogdet(k)
    ref_lml = -0.5 * r @ np.linalg.solve(k, r) - 0.5 * logdet - 0.5 * len(r) * np.log(2 * np.pi)
    n_pad = int(np.sum(~np.asarray(data.mask)))
    lml = gp.gaussian_log_density(gp.train_covariance(params, data), gp.residuals(params, data)) + 0.5 * n_pad * gp.LOG_2PI
    np.testing.assert_allclose(lml, ref_lml, rtol=1e-9)
    # Leave-one-out on the joint model (gp's, on rows (x, task)) equals the dense model
    # refitted without that row.
    loo_mean = np.asarray(gp.loo_predictions(post.posterior)[0])
    x_all = np.concatenate([t[0] for t in tasks])
    for row, task, j in ((0, 0, 0), (5, 0, 5), (13, 1, 1)):
        held = [(np.delete(t[0], j, 0), np.delete(t[1], j)) if i == task else t for i, t in enumerate(tasks)]
        m, _, _, _ = dense_icm(params, held, x_all[row : row + 1], task)
        np.testing.assert_allclose(loo_mean[row], m[0], rtol=1e-8)


def test_icm_takes_gps_incremental_extension_and_refinement(x64):
    """The joint model is a GP on (x, task): target rows appended to a conditioned ICM
    posterior by gp.extend give the fresh conditioning to 1e-10, and gp.refine lowers its
    loss from there to what icm.fit_posterior reaches."""
    rng = np.random.default_rng(9)
    xp, xt = rng.random((20, 2)), rng.random((9, 2))
    yp, yt = normalize(-branin_like(xp)), normalize(-branin_like(xt, scale=2.0))
    params = icm.ICMParams(jnp.log(jnp.array([0.4, 0.7])), jnp.array([[0.1, 0.0], [0.6, -0.3]]), jnp.log(0.01), jnp.array([0.2, -0.1]))
    full = icm.pad([(xp, yp), (xt, yt)], CAT, 32, jnp.float64)
    first = gp.condition(params, icm.pad([(xp, yp), (xt[:5], yt[:5])], CAT, 32, jnp.float64))
    extended = jax.jit(gp.extend)(first, full, 25)
    fresh = gp.condition(params, full)
    for a, b in zip((extended.linv, extended.kinv, extended.alpha), (fresh.linv, fresh.kinv, fresh.alpha)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-10)
    priors = gp.default_priors(2)
    p = sum(int(np.prod(np.shape(a))) for a in jax.tree.leaves(params))
    refined = gp.refine(extended, priors, jnp.eye(p), max_iter=200, tol=1e-8)
    before = float(icm.neg_log_posterior(params, full, priors))
    _, direct, _ = icm.fit_posterior(full, priors, params, None, 1, max_iter=200, tol=1e-8)
    assert float(refined.loss) < before - 1.0
    np.testing.assert_allclose(float(refined.loss), float(direct), atol=1e-3)
    np.testing.assert_allclose(float(icm.neg_log_posterior(refined.posterior.params, full, priors)), float(refined.loss), rtol=1e-9)


@pytest.mark.parametrize("relation, check", [("scaled", lambda c: c > 0.8), ("flipped", lambda c: c < -0.5)])
def test_icm_learns_the_task_correlation(x64, relation, check):
    rng = np.random.default_rng(5)
    x0, x1 = rng.random((40, 2)), rng.random((15, 2))
    y0 = normalize(-branin_like(x0))
    y1 = normalize(-branin_like(x1, scale=3.0, offset=5.0) * (1 if relation == "scaled" else -1))
    data = icm.pad([(x0, y0), (x1, y1)], CAT, 64, jnp.float64)
    params, loss = icm.fit(data, gp.default_priors(2), icm.initial_params(2, 2, gp.default_priors(2)))
    b = np.asarray(icm.task_covariance(params))
    corr = b[0, 1] / np.sqrt(b[0, 0] * b[1, 1])
    assert np.isfinite(float(loss)) and check(corr), corr


def test_rgpe_weights_favour_a_related_parent_and_drop_an_unrelated_one(x64):
    rng = np.random.default_rng(6)
    xp, xt = rng.random((40, 2)), rng.random((12, 2))
    priors = gp.default_priors(2)
    related = fit_posterior(xp, normalize(-branin_like(xp, scale=2.0)), CAT, priors, 0)
    flipped = fit_posterior(xp, normalize(branin_like(xp)), CAT, priors, 1)
    target = fit_posterior(xt, normalize(-branin_like(xt)), CAT, priors, 2)
    losses = rgpe.sample_losses([related, flipped], target, np.random.default_rng(0), 128)
    assert losses.shape == (3, 128)
    assert np.median(losses[0]) < np.median(losses[2]) < np.median(losses[1])
    w = rgpe.weights_from_losses(losses, np.random.default_rng(0))
    assert w[1] == 0.0 and w[0] > 0.5 and abs(w.sum() - 1) < 1e-12
    model = rgpe.ensemble([related, flipped], target, np.random.default_rng(0), 128)
    xs = jnp.asarray(rng.random((9, 2)))
    parts = [gp.predict(m, xs) for m in model.members]
    mean, var = model.predict(xs)
    wj = np.asarray(model.weights)
    np.testing.assert_allclose(mean, sum(wi * np.asarray(p[0]) for wi, p in zip(wj, parts)), rtol=1e-10)
    np.testing.assert_allclose(var, sum(wi**2 * np.asarray(p[1]) for wi, p in zip(wj, parts)), rtol=1e-10)


def test_rgpe_weights_rules():
    rng = np.random.default_rng(0)
    # No informative pairs yet: every model ties, and ties are split at random.
    w = rgpe.weights_from_losses(np.zeros((3, 3000)), rng)
    np.testing.assert_allclose(w, [1 / 3] * 3, atol=0.05)
    losses = np.array([np.full(100, 1.0), np.full(100, 9.0), np.full(100, 4.0)])
    np.testing.assert_array_equal(rgpe.weights_from_losses(losses, rng), [1.0, 0.0, 0.0])


def test_fantasize_spreads_every_model_kind(x64):
    rng = np.random.default_rng(7)
    xp, xt = rng.random((20, 2)), rng.random((5, 2))
    yp, yt = normalize(-branin_like(xp)), normalize(-branin_like(xt))
    priors = gp.default_priors(2)
    parent = fit_posterior(xp, yp, CAT, priors, 0, capacity=32)
    target = fit_posterior(xt, yt, CAT, priors, 1, capacity=16)
    stack = stacked.push(stacked.fit([Task(xp, yp)], CAT, priors), Task(xt, yt), CAT, priors, 2, capacity=16)
    data = icm.pad([(xp, yp), (xt, yt)], CAT, 32, jnp.float64)
    icm_post = icm.condition(icm.initial_params(2, 2, priors), data, 1)
    ens = rgpe.EnsemblePosterior((parent, target), jnp.array([0.5, 0.5]))
    grid = rng.random((256, 2))
    for model in (target, stack, icm_post, ens):
        fx = grid[[int(np.argmax(model.predict(jnp.asarray(grid))[1]))]]  # where the model is least sure
        before = float(model.predict(jnp.asarray(fx))[1][0])
        after = float(fantasize(model, fx).predict(jnp.asarray(fx))[1][0])
        assert after < 0.5 * before, type(model).__name__


def test_subsample_keeps_the_best_half():
    rng = np.random.default_rng(0)
    task = Task(rng.random((100, 2)), rng.standard_normal(100))
    sub = subsample(task, 20, rng)
    assert len(sub.y) == 20
    assert set(np.argsort(-task.y)[:10]) <= {int(np.flatnonzero(task.y == v)[0]) for v in sub.y}
    assert subsample(task, 200, rng) is task


def test_rgpe_target_loss_counts_only_pairs_of_distinct_points(x64):
    """The target model's ranking loss, brute force: for each sample, pairs (j, k) with
    j != k where the held-out draw at j and the in-sample draw at k are ordered unlike
    y_j and y_k. Same random draws as ``sample_losses`` (one generator, same order)."""
    rng = np.random.default_rng(12)
    x, y = rng.random((12, 2)), normalize(-branin_like(rng.random((12, 2))))
    target = fit_posterior(x, y, CAT, gp.default_priors(2), 0, capacity=16)
    losses = rgpe.sample_losses([], target, np.random.default_rng(5), 64)
    draw = np.random.default_rng(5)
    mean, cov = (np.asarray(a) for a in gp.predict_joint(target, jnp.asarray(x)))
    inside = rgpe._joint_samples(draw, mean, cov, 64)
    loo_mean, loo_var = (np.asarray(a)[:12] for a in gp.loo_predictions(target))
    held = loo_mean + np.sqrt(loo_var) * draw.standard_normal((64, 12))
    brute = [
        sum((held[s, j] < inside[s, k]) != (y[j] < y[k]) for j in range(12) for k in range(12) if j != k)
        for s in range(64)
    ]
    np.testing.assert_array_equal(losses[-1], brute)


def test_guard_decides_by_leave_one_out_ranking():
    from warmstart_bo.transfer import guard

    y = np.array([0.1, 0.5, 0.9, 1.3])
    assert guard(y, -y, y) == (True, 0, 12)  # transfer ranks perfectly, the target GP backwards
    assert guard(-y, y, y).use_transfer is False
    assert guard(y, y, y).use_transfer  # ties go to transfer
    assert guard(y[:2], -y[:2], y[:2]) == (True, None, None)  # too few points to judge


def test_stacked_loo_predictions_hold_out_each_target_row_of_the_top_level(x64):
    """The stack's leave-one-out moments at the target's rows, brute force: the parent level
    predicts there, the top level is conditioned (same hyperparameters) without the row and
    predicts at it (noise included, as gp.loo_predictions), blended as stacked.predict."""
    rng = np.random.default_rng(13)
    x0, x1 = rng.random((25, 2)), rng.random((9, 2))
    y0, y1 = normalize(-branin_like(x0)), normalize(-branin_like(x1, shift=0.5))
    stack = stacked.fit([Task(x0, y0), Task(x1, y1)], CAT, gp.default_priors(2), seed=0, dtype=jnp.float64)
    mean, var = (np.asarray(a)[:9] for a in stacked.loo_predictions(stack))
    p0, p1 = (lvl.params for lvl in stack.levels)
    m0, v0 = dense_gp(x0, y0, p0, x1)
    residual = y1 - m0
    beta = float(stack.betas[1])
    for i in range(9):
        keep = np.arange(9) != i
        m1, v1 = dense_gp(x1[keep], residual[keep], p1, x1[i : i + 1])
        v1 = v1 + float(np.exp(p1.log_noise_variance))
        np.testing.assert_allclose(mean[i], m0[i] + m1[0], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(var[i], v0[i] ** beta * v1[0] ** (1 - beta), rtol=1e-6)
    assert np.all(np.isnan(np.asarray(stacked.loo_predictions(stack)[0])[9:]))


def test_rgpe_loo_predictions_weigh_parents_predictions_and_the_targets_held_out_ones(x64):
    rng = np.random.default_rng(14)
    xp, xt = rng.random((20, 2)), rng.random((7, 2))
    parent = fit_posterior(xp, normalize(-branin_like(xp)), CAT, gp.default_priors(2), 0)
    target = fit_posterior(xt, normalize(-branin_like(xt, scale=2.0)), CAT, gp.default_priors(2), 1, capacity=16)
    w = np.array([0.3, 0.7])
    mean, var = (np.asarray(a)[:7] for a in rgpe.loo_predictions(rgpe.EnsemblePosterior((parent, target), jnp.asarray(w))))
    pm, pv = dense_gp(xp, np.asarray(parent.data.y)[:20], parent.params, xt)
    tm, tv = (np.asarray(a)[:7] for a in gp.loo_predictions(target))
    np.testing.assert_allclose(mean, w[0] * pm + w[1] * tm, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(var, w[0] ** 2 * pv + w[1] ** 2 * tv, rtol=1e-6, atol=1e-12)
    assert np.all(np.isnan(np.asarray(rgpe.loo_predictions(rgpe.EnsemblePosterior((parent, target), jnp.asarray(w)))[0])[7:]))


def test_selection_takes_the_fewest_misordered_pairs_then_the_larger_loo_density():
    from warmstart_bo.transfer import select
    from warmstart_bo.transfer.selection import log_predictive_density

    y = np.array([0.1, 0.5, 0.9, 1.3, -0.4])
    ones = np.ones(5)
    mean, var = y + 0.05, 0.5 * ones
    np.testing.assert_allclose(log_predictive_density(mean, var, y), np.sum(norm.logpdf(y, mean, np.sqrt(var))), rtol=1e-12)
    backwards = (-y, 0.01 * ones)  # misorders every pair, however confident
    close, far = (y + 0.01, 0.1 * ones), (y + 1.0, 0.1 * ones)  # the same ranking, unequal density
    chosen = select({"icm": backwards, "stacked": far, "rgpe": close}, y)
    assert chosen.choice == "rgpe" and chosen.losses == {"icm": 20, "stacked": 0, "rgpe": 0}
    assert chosen.log_densities["rgpe"] > chosen.log_densities["stacked"]
    assert select({"icm": backwards, "stacked": far}, y).choice == "stacked"
    # Ranking first: one misordered pair loses to none, however much denser its predictions.
    swapped = (y[[1, 0, 2, 3, 4]] + 0.0, 1.0 * ones)
    assert select({"icm": swapped, "stacked": far}, y).choice == "stacked"
    assert log_predictive_density(*swapped, y) > log_predictive_density(*far, y)
    # Equal evidence: the first candidate in order; a non-finite moment is never chosen.
    assert select({"stacked": close, "rgpe": close}, y).choice == "stacked"
    assert select({"icm": (np.full(5, np.nan), ones), "rgpe": backwards}, y).choice == "rgpe"
    with pytest.raises(ValueError, match="at least one candidate"):
        select({}, y)
