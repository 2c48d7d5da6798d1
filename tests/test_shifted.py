"""The shifted prior: a parent's landscape moved onto the target (warmstart_bo.transfer.shifted)."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from warmstart_bo import Optimizer, gp
from warmstart_bo.space import ContinuousParameter
from warmstart_bo.transfer import ParentHistory, fantasize, fit_posterior, normalize, shifted

CAT = np.zeros(2, bool)


def bowl(x, centre, scale=1.0, offset=0.0):
    """A smooth landscape with one basin at ``centre`` (to be maximized), on the unit square."""
    d = x - np.asarray(centre)
    return scale * (np.exp(-8.0 * np.sum(d**2, axis=1)) + 0.3 * np.sin(6.0 * d[:, 0]) * np.cos(4.0 * d[:, 1])) + offset


def test_the_evidence_of_each_shift_is_the_dense_gaussian_density_with_the_coefficients_integrated_out(x64):
    """Differences of log_evidence between shifts equal those of log N(y; H c0, K + H B H^T)
    plus the shift prior, computed densely with SciPy (the Woodbury form drops terms that
    do not depend on the shift)."""
    rng = np.random.default_rng(0)
    xp, xt = rng.random((30, 2)), rng.random((7, 2))
    priors = gp.default_priors(2)
    parent = fit_posterior(xp, normalize(bowl(xp, [0.4, 0.5])), CAT, priors, 0)
    yt = normalize(bowl(xt, [0.5, 0.45], 2.0, 1.0))
    target = fit_posterior(xt, yt, CAT, priors, 1, capacity=16)
    shifts = np.array([[0.0, 0.0], [0.1, -0.05], [-0.2, 0.3], [0.05, 0.02]])
    scale = 0.1
    got = np.asarray(shifted.log_evidence(parent, jnp.asarray(shifts), target.data.x, target.data.y, target.data.mask, target.kinv, scale, 2.0))
    k = np.asarray(gp.train_covariance(target.params, target.data))[:7, :7]
    b = np.diag(np.asarray(shifted.COEF_STD) ** 2)
    want = []
    for s in shifts:
        h = np.stack([np.asarray(parent.predict(jnp.asarray(xt - s))[0]), np.ones(7)], axis=1)
        dens = multivariate_normal(h @ np.asarray(shifted.COEF_MEAN), k + h @ b @ h.T).logpdf(yt)
        narrow = np.log(1 - shifted.BROAD_WEIGHT) + multivariate_normal(np.zeros(2), scale**2 * np.eye(2)).logpdf(s)
        broad = np.log(shifted.BROAD_WEIGHT) + multivariate_normal(np.zeros(2), shifted.BROAD_SCALE**2 * np.eye(2)).logpdf(s)
        want.append(dens + np.logaddexp(narrow, broad))
    np.testing.assert_allclose(got - got[0], np.array(want) - want[0], rtol=1e-8, atol=1e-8)


def test_the_fit_recovers_a_moved_scaled_and_offset_parent(x64):
    """The target is the parent's landscape moved by (0.12, -0.08), doubled and offset: the
    fitted shift is within 0.03 of the move in each coordinate and the moved parent's mean
    explains the target's outcomes (R^2 > 0.95); with no move the fit stays at zero. (The
    second coordinate, which the landscape depends on less, comes out about 0.02 short of
    the move: the prior pulls it towards zero.)"""
    rng = np.random.default_rng(1)
    xp = rng.random((60, 2))
    priors = gp.default_priors(2)
    parent = fit_posterior(xp, normalize(bowl(xp, [0.4, 0.5])), CAT, priors, 0)
    best = xp[[int(np.argmax(bowl(xp, [0.4, 0.5])))]]
    for move in (np.array([0.12, -0.08]), np.zeros(2)):
        xt = rng.random((10, 2))
        yt = normalize(bowl(xt - move, [0.4, 0.5], 2.0, 3.0))
        target = fit_posterior(xt, yt, CAT, priors, 1, capacity=16)
        fit = shifted.fit_shift([parent], best, target, np.ones(2, bool), 0.2, np.random.default_rng(2))
        np.testing.assert_allclose(fit.shift, move, atol=0.03)
        explained = shifted.residual_targets(parent, fit, xt, yt)
        assert 1 - np.sum(explained**2) / np.sum((yt - yt.mean()) ** 2) > 0.95


def test_a_sampled_fit_spreads_over_the_moves_few_trials_leave_open_and_agrees_with_the_mode_when_many_pin_it(x64):
    """``sample``: with two target points the climb starts from posterior draws, so fits on
    different draws spread over the prior's scale where the mode's stay put; with ten points
    of a moved parent every draw finds the move, as the mode does."""
    rng = np.random.default_rng(1)
    xp = rng.random((60, 2))
    priors = gp.default_priors(2)
    parent = fit_posterior(xp, normalize(bowl(xp, [0.4, 0.5])), CAT, priors, 0)
    best = xp[[int(np.argmax(bowl(xp, [0.4, 0.5])))]]
    move, scale = np.array([0.12, -0.08]), 0.2
    spread = {}
    for n in (2, 10):
        xt = rng.random((n, 2))
        yt = normalize(bowl(xt - move, [0.4, 0.5], 2.0, 3.0))
        target = fit_posterior(xt, yt, CAT, priors, 1, capacity=16)
        fits = {s: [shifted.fit_shift([parent], best, target, np.ones(2, bool), scale, np.random.default_rng(seed), sample=s).shift for seed in range(12)]
                for s in (False, True)}
        spread[n] = {s: np.std(f, axis=0) for s, f in fits.items()}
        if n == 10:
            np.testing.assert_allclose(fits[True], np.broadcast_to(move, (12, 2)), atol=0.03)
    assert np.all(spread[2][True] > 0.2 * scale) and np.all(spread[2][True] > 3 * spread[2][False])
    assert np.all(spread[10][True] < 0.02)


def test_the_fit_takes_the_parent_the_target_resembles_and_never_moves_a_categorical_coordinate(x64):
    rng = np.random.default_rng(3)
    xp = rng.random((40, 2))
    xp[:, 1] = rng.integers(0, 2, 40)  # a categorical coordinate with two values
    cat = np.array([False, True])
    priors = gp.default_priors(2)

    def f(x, centre):
        return np.exp(-10 * (x[:, 0] - centre) ** 2) + 0.5 * x[:, 1]

    unrelated = fit_posterior(xp, normalize(np.sin(9 * xp[:, 0]) - 0.5 * xp[:, 1]), cat, priors, 0)
    related = fit_posterior(xp, normalize(f(xp, 0.3)), cat, priors, 1)
    xt = rng.random((10, 2))
    xt[:, 1] = rng.integers(0, 2, 10)
    target = fit_posterior(xt, normalize(f(xt, 0.4)), cat, priors, 2, capacity=16)
    best = np.array([[0.2, 0.0], [0.3, 1.0]])
    fit = shifted.fit_shift([unrelated, related], best, target, ~cat, 0.1, np.random.default_rng(4))
    assert fit.parent == 1
    assert fit.shift[1] == 0.0 and fit.shift[0] == pytest.approx(0.1, abs=0.03)


def test_the_shift_scale_is_the_spread_of_the_parents_best_points():
    pts = np.array([[0.1, 0.5, 0.0], [0.3, 0.5, 1.0], [0.2, 0.8, 0.0]])
    cont = np.array([True, True, False])
    # Ordered pairs' squared differences over the two continuous coordinates: 2 * (0.04 + 0.01 + 0.01 + 0 + 0.09 + 0.09).
    assert shifted.shift_scale(pts, cont) == pytest.approx(np.sqrt(2 * 0.24 / (6 * 2)))
    assert shifted.shift_scale(pts[:1], cont) == shifted.ONE_PARENT_SCALE
    assert shifted.shift_scale(np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 1.0]]), cont) == shifted.MIN_SCALE
    assert shifted.shift_scale(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]), cont) == shifted.MAX_SCALE


def test_the_model_adds_the_moved_parent_to_the_residual_gp_and_fantasies_shrink_it(x64):
    rng = np.random.default_rng(5)
    xp, xt = rng.random((30, 2)), rng.random((6, 2))
    priors = gp.default_priors(2)
    parent = fit_posterior(xp, normalize(bowl(xp, [0.4, 0.5])), CAT, priors, 0, capacity=48)
    fit = shifted.ShiftFit(0, np.array([0.1, 0.0]), np.array([1.5, -0.2]), 0.0)
    yt = normalize(bowl(xt, [0.5, 0.5]))
    top = fit_posterior(xt, shifted.residual_targets(parent, fit, xt, yt), CAT, priors, 1, capacity=16)
    model = shifted.model(parent, fit, top)
    grid = rng.random((64, 2))
    pm, pv = (np.asarray(a) for a in parent.predict(jnp.asarray(grid - [0.1, 0.0])))
    tm, tv = (np.asarray(a) for a in top.predict(jnp.asarray(grid)))
    mean, var = (np.asarray(a) for a in model.predict(jnp.asarray(grid)))
    beta = float(model.beta)
    assert beta == pytest.approx(shifted.ALPHA * 30 / (shifted.ALPHA * 30 + 6))
    np.testing.assert_allclose(mean, 1.5 * pm - 0.2 + tm, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(var), (1.5 * np.sqrt(pv)) ** beta * np.sqrt(tv) ** (1 - beta), rtol=1e-8)
    # Leave-one-out at the target's rows: the residual GP's held-out moments on the moved mean.
    loo_mean, _ = shifted.loo_predictions(model)
    top_loo, _ = gp.loo_predictions(top)
    pm_t = np.asarray(parent.predict(jnp.asarray(xt - [0.1, 0.0]))[0])
    np.testing.assert_allclose(np.asarray(loo_mean)[:6], 1.5 * pm_t - 0.2 + np.asarray(top_loo)[:6], rtol=1e-10)
    fx = grid[[int(np.argmax(var))]]
    assert float(fantasize(model, fx).predict(jnp.asarray(fx))[1][0]) < 0.5 * float(var.max())


def test_a_shifted_job_runs_asks_batches_and_records_its_shift():
    """Through the optimizer: a parent on a moved landscape, a job under the shifted prior
    records the fitted shift with every transfer ask, and a batch's points are distinct."""
    space = {"a": ContinuousParameter(0.0, 1.0), "b": ContinuousParameter(0.0, 1.0)}
    rng = np.random.default_rng(6)
    xp = rng.random((25, 2))
    parent = ParentHistory("p", [{"a": float(u), "b": float(v)} for u, v in xp], list(bowl(xp, [0.3, 0.6])), space)
    opt = Optimizer(space, "Maximize", random_seed=0, parents=[parent], warm_start_type="TransferLearning", transfer_prior="shifted")
    for _ in range(6):
        (p,) = opt.ask()
        opt.tell([p], [float(bowl(np.array([[p["a"], p["b"]]]), [0.45, 0.5])[0])])
    shift = opt.last_transfer.get("shift")
    if opt.last_transfer["used"]:
        assert shift is not None and len(shift["shift"]) == 2 and shift["parent"] == 0
    batch = opt.ask(3)
    xs = np.array([[q["a"], q["b"]] for q in batch])
    assert min(np.linalg.norm(xs[i] - xs[j]) for i in range(3) for j in range(i)) > 1e-6


def test_held_out_means_refit_the_shift_without_each_row_as_a_dense_computation_does(x64):
    """For each row: the (parent, shift) among the fit's candidates of highest density given
    the other rows, the coefficients from them, and the GP's prediction at the row, all
    dense in NumPy (each winner's density checked against SciPy's), match held_out_means."""
    rng = np.random.default_rng(7)
    xp1, xp2, xt = rng.random((25, 2)), rng.random((25, 2)), rng.random((6, 2))
    priors = gp.default_priors(2)
    parents = [fit_posterior(xp1, normalize(bowl(xp1, [0.4, 0.5])), CAT, priors, 0), fit_posterior(xp2, normalize(bowl(xp2, [0.6, 0.3])), CAT, priors, 1)]
    yt = normalize(bowl(xt, [0.5, 0.45], 2.0, 1.0))
    target = fit_posterior(xt, yt, CAT, priors, 2, capacity=16)
    best = np.array([[0.4, 0.5], [0.6, 0.3]])
    scale = 0.1
    fit = shifted.fit_shift(parents, best, target, np.ones(2, bool), scale, np.random.default_rng(3))
    top = fit_posterior(xt, shifted.residual_targets(parents[fit.parent], fit, xt, yt), CAT, priors, 3, capacity=16)
    got = shifted.held_out_means(parents, fit, target, top, scale, np.ones(2, bool))
    k = np.asarray(gp.train_covariance(top.params, top.data))[:6, :6]
    b = np.diag(np.asarray(shifted.COEF_STD) ** 2)
    c0 = np.asarray(shifted.COEF_MEAN)
    m0 = float(top.params.mean)
    y = yt
    # Per parent, its mean at every candidate's moved rows (one batched prediction) and the
    # shift prior of every candidate, neither of which depends on the row held out.
    means = [np.asarray(parent.predict(jnp.asarray((xt[None] - cands[:, None]).reshape(-1, 2)))[0]).reshape(len(cands), 6)
             for parent, cands in zip(parents, fit.candidates)]
    narrow = [np.log(1 - shifted.BROAD_WEIGHT) + multivariate_normal(np.zeros(2), scale**2 * np.eye(2)).logpdf(c) for c in fit.candidates]
    broad = [np.log(shifted.BROAD_WEIGHT) + multivariate_normal(np.zeros(2), shifted.BROAD_SCALE**2 * np.eye(2)).logpdf(c) for c in fit.candidates]
    want = []
    for i in range(6):
        keep = np.arange(6) != i
        best_density, best_mean = -np.inf, None
        ks = k[np.ix_(keep, keep)]
        for j in range(len(parents)):
            # log N(y_S; H_S c0, K_S + H_S B H_S^T) of every candidate at once, densely.
            hs = np.stack([means[j][:, keep], np.ones_like(means[j][:, keep])], axis=2)
            cov = ks + hs @ b @ hs.transpose(0, 2, 1)
            r = y[keep] - hs @ c0
            quad = np.einsum("ci,ci->c", r, np.linalg.solve(cov, r[..., None])[..., 0])
            dens_all = -0.5 * (quad + np.linalg.slogdet(cov)[1] + 5 * np.log(2 * np.pi)) + np.logaddexp(narrow[j], broad[j])
            c = int(np.argmax(dens_all))
            h, dens = np.stack([means[j][c], np.ones(6)], axis=1), dens_all[c]
            hs = h[keep]
            np.testing.assert_allclose(dens - np.logaddexp(narrow[j][c], broad[j][c]), multivariate_normal(hs @ c0, ks + hs @ b @ hs.T).logpdf(y[keep]))
            if dens > best_density:
                kinv_s = np.linalg.inv(ks)
                coef = np.linalg.solve(np.linalg.inv(b) + hs.T @ kinv_s @ hs, np.linalg.inv(b) @ c0 + hs.T @ kinv_s @ y[keep])
                mu = h @ coef + m0
                best_density, best_mean = dens, mu[i] + k[i, keep] @ kinv_s @ (y[keep] - mu[keep])
        want.append(best_mean)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
