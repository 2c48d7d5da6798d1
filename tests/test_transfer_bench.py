"""The transfer benchmark's runner on one tiny unit: the parents' record and each method's run."""

import numpy as np
import pytest

from benchmarks.transfer_runs import bo_run
from experiments import transfer_bench as TB

CONFIG = {"name": "tiny", "suite": "synthetic", "families": ["hartmann3"], "similarities": [0.9], "adversaries": [],
          "adversary_similarity": 0.75, "seeds": [0], "budget": 6, "parent_trials": 4, "n_parents": 2, "top_k": 2}


def test_cold_reseeded_is_cold_start_on_another_seed():
    """The control differs from cold start by its seed only: cold start's run is the one
    ``bo_run`` gives for the unit's seed, the control's the one for ``RESEED + seed``."""
    rows = TB.run_seed("hartmann3/sim0.9", 0, CONFIG, ["cold", "cold-reseeded"])
    assert rows[0]["parents"]["trials"] == [4, 4]
    cold, control = rows[1], rows[2]
    assert cold["method"] == "cold" and control["method"] == "cold-reseeded" and control["parent_trials"] == 0
    problem = TB.make_problem("hartmann3/sim0.9", 0, CONFIG)
    np.testing.assert_array_equal(cold["values"], bo_run(problem.space, problem.target, 6, 0)["values"])
    np.testing.assert_array_equal(control["values"], bo_run(problem.space, problem.target, 6, TB.RESEED)["values"])
    assert not np.array_equal(cold["values"], control["values"])


def test_top_points_take_each_parents_best_in_turn_and_skip_repeats():
    from types import SimpleNamespace

    a = SimpleNamespace(params=[{"x": 0.1}, {"x": 0.2}, {"x": 0.3}], values=[3.0, 1.0, 2.0])
    b = SimpleNamespace(params=[{"x": 0.2}, {"x": 0.9}], values=[0.5, 4.0])
    assert TB.top_points([a, b], 3) == [{"x": 0.2}, {"x": 0.3}, {"x": 0.9}]  # b's best repeats a's
    assert TB.top_points([a, b], 1) == [{"x": 0.2}]
    assert TB.top_points([a], 5) == [{"x": 0.2}, {"x": 0.3}, {"x": 0.1}]


def test_the_runner_resumes_at_the_next_unit_and_refuses_foreign_seeds(tmp_path):
    """Finished (problem, seed) units are not run again; seeds outside the config stop it."""
    import json

    import pytest

    config_path, out = tmp_path / "tiny.json", tmp_path / "out.jsonl"
    config = {**CONFIG, "methods": ["cold"]}
    config_path.write_text(json.dumps(config))
    header = {"config": config, "methods_run": ["cold"], "peers_missing": []}
    done = {"problem": "hartmann3/sim0.9", "seed": 0, "method": "cold", "values": [1.0]}
    out.write_text(json.dumps(header) + "\n" + json.dumps(done) + "\n")
    before = out.read_text()
    TB.main([str(config_path), "--out", str(out), "--no-progress"])
    assert out.read_text() == before
    with pytest.raises(SystemExit, match=r"seeds not in the config: \[3\]"):
        TB.main([str(config_path), "--out", str(out), "--no-progress", "--seeds", "0,3"])


def test_the_opening_size_probe_opens_with_k_of_the_parents_best_points():
    """``best-first:k<N>`` is best-first with N opening points: its run is ``bo_run``'s with
    the parents' N best points first, and with N = top_k it is best-first's run itself."""
    import pytest

    rows = TB.run_seed("hartmann3/sim0.9", 0, CONFIG, ["best-first", "best-first:k1", "best-first:k2"])
    by = {r["method"]: r["values"] for r in rows[1:]}
    assert by["best-first:k2"] == by["best-first"]  # CONFIG's top_k is 2
    problem = TB.make_problem("hartmann3/sim0.9", 0, CONFIG)
    parents = TB.parent_histories(problem, "hartmann3/sim0.9", 0, CONFIG)
    first = TB.top_points(parents, 1)
    np.testing.assert_array_equal(by["best-first:k1"], bo_run(problem.space, problem.target, 6, 0, first=first)["values"])
    assert by["best-first:k1"][0] == pytest.approx(problem.target(first[0]))
    assert by["best-first:k1"][1] != by["best-first"][1]  # the second point is the design's, not a parent's
    with pytest.raises(ValueError, match="unknown method 'best-first:k0'"):
        TB.run_seed("hartmann3/sim0.9", 0, CONFIG, ["best-first:k0"])


def test_an_unknown_variant_of_a_prior_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown variant 'bogus' of 'transfer-stacked:bogus'"):
        TB.run_seed("hartmann3/sim0.9", 0, CONFIG, ["transfer-stacked:bogus"])


@pytest.mark.slow
def test_the_cold_priors_ablation_is_the_hyperprior_job_under_cold_starts_priors():
    """``transfer-hyperprior:cold-priors`` runs the guarded hyperprior's job with
    :func:`hyperprior.priors` returning cold start's priors, and only while it runs; its
    opening and check points are the hyperprior's. Other priors have no such variant."""
    import pytest

    from warmstart_bo.transfer import hyperprior

    config = {**CONFIG, "budget": 9, "parent_trials": 6}
    learned = hyperprior.priors
    rows = TB.run_seed("hartmann3/sim0.9", 0, config, ["transfer-hyperprior", "transfer-hyperprior:cold-priors"])
    assert hyperprior.priors is learned
    full, ablation = rows[1]["values"], rows[2]["values"]
    assert full[:7] == ablation[:7]
    problem = TB.make_problem("hartmann3/sim0.9", 0, config)
    parents = TB.parent_histories(problem, "hartmann3/sim0.9", 0, config)
    with TB._learned_priors(False):
        assert hyperprior.priors(["a parent"], None, "cold start's", 0, None) == "cold start's"
        again = bo_run(problem.space, problem.target, 9, 0, parents, "TransferLearning", "hyperprior")["values"]
    assert hyperprior.priors is learned
    np.testing.assert_array_equal(ablation, again)
    with pytest.raises(ValueError, match="unknown variant 'cold-priors' of 'transfer-stacked:cold-priors'"):
        TB.run_seed("hartmann3/sim0.9", 0, CONFIG, ["transfer-stacked:cold-priors"])


def test_the_local_design_probe_keeps_best_firsts_design_or_maps_it_into_the_box():
    from benchmarks import local_design_probe as P
    from warmstart_bo import Optimizer
    from warmstart_bo.space import ContinuousParameter

    space = {f"x{i}": ContinuousParameter(0.0, 1.0) for i in range(3)}
    opening = [{"x0": 0.9, "x1": 0.9, "x2": 0.9}, {"x0": 0.5, "x1": 0.5, "x2": 0.5}, {"x0": 0.1, "x1": 0.2, "x2": 0.3}]
    opt = Optimizer(space, "Minimize", random_seed=3)
    cold = opt.space.encode_many(opt.space.decode_many(opt._initial_design[3 : opt.n_initial_points]))
    assert P.design(opt, opening, [1.0, 0.0, 2.0], "cold") == []
    bf = opt.space.encode_many(P.design(opt, opening, [1.0, 0.0, 2.0], "bf:0"))
    assert len(bf) == opt.n_initial_points == 8
    np.testing.assert_allclose(bf[:3], opt.space.encode_many(opening))
    np.testing.assert_allclose(bf[3:], cold)
    local = opt.space.encode_many(P.design(opt, opening, [1.0, 0.0, 2.0], "all:0.1"))[3:]
    assert np.all(np.abs(local - 0.5) <= 0.1 + 1e-12)  # around the best-scored opening point
    np.testing.assert_allclose(local, 0.5 + 0.1 * (2 * cold - 1))
    half = opt.space.encode_many(P.design(opt, opening, [1.0, 0.0, 2.0], "half:0.1"))[3:]
    np.testing.assert_allclose(half[0::2], local[0::2])
    np.testing.assert_allclose(half[1::2], cold[1::2])


def test_parent_knowledge_measures_the_parents_the_runner_builds():
    """The target's regret at each parent's best point matches the runner's parents record;
    the parents' own regrets and offsets are measured from their own tasks' optima."""
    from benchmarks import parent_knowledge as K

    pid, seed = "hartmann3/sim0.9", 0
    u = K.unit(pid, seed, CONFIG)
    record = TB.run_seed(pid, seed, CONFIG, [])[0]["parents"]
    np.testing.assert_allclose(u["target_regret"], np.subtract(record["target_at_best"], record["optimum"]))
    problem = TB.make_problem(pid, seed, CONFIG)
    for task, history, own, offset, moved in zip(problem.parents, TB.parent_histories(problem, pid, seed, CONFIG), u["own_regret"], u["offset"], u["moved"]):
        i = int(np.argmin(history.values))
        assert own == history.values[i] - task.minimum and own >= 0
        np.testing.assert_allclose(offset, np.abs([history.params[i][f"x{k}"] - task.argmin[k] for k in range(3)]))
        np.testing.assert_allclose(np.linalg.norm(moved), np.linalg.norm(np.subtract(problem.target.argmin, task.argmin)))
    assert K.table(CONFIG, [0])[1].startswith("hartmann3/sim0.9 | 1 | ")


@pytest.mark.slow
def test_parent_knowledge_finds_where_each_parents_model_peaks_and_moves_it_by_the_true_move(x64):
    """``--peaks``: each parent's GP (the shifted prior's, same seed) is maximized over the
    cube, at least as high there as at any of the parent's own trials, and the target is
    scored at that peak moved by the true move."""
    import jax.numpy as jnp

    from benchmarks import parent_knowledge as K
    from warmstart_bo import Optimizer
    from warmstart_bo.space import SearchSpace

    pid, seed = "hartmann3/sim0.9", 0
    problem = TB.make_problem(pid, seed, CONFIG)
    histories = TB.parent_histories(problem, pid, seed, CONFIG)
    peaks = K.model_peaks(problem, histories, seed)
    posts = Optimizer(problem.space, "Minimize", random_seed=seed, parents=histories, warm_start_type="TransferLearning",
                      transfer_prior="shifted")._fit_parent_gps(jnp.float64)
    enc = SearchSpace(problem.space)
    for post, peak, history in zip(posts, peaks, histories):
        assert np.all((peak >= 0) & (peak <= 1))
        trials = np.array([enc.encode(p) for p in history.params])
        assert float(post.predict(jnp.asarray(peak[None]))[0][0]) >= float(np.max(np.asarray(post.predict(jnp.asarray(trials))[0]))) - 1e-9
    u = K.unit(pid, seed, CONFIG, peaks=True)
    want = [float(problem.target({f"x{k}": v for k, v in enumerate(np.clip(peak + np.subtract(problem.target.argmin, task.argmin), 0, 1))})) - problem.optimum
            for peak, task in zip(peaks, problem.parents)]
    np.testing.assert_allclose(u["moved_peak_regret"], want)
    assert min(want) >= 0 and "moved_peak_regret" not in K.unit(pid, seed, CONFIG)


@pytest.mark.slow
def test_the_oracle_move_keeps_the_fits_parent_and_takes_the_true_move(x64):
    """The diagnostic variant ``transfer-shifted:oracle-move``: the fit's parent, the move
    from that parent's task's optimum to the target's, and the coefficients fitted there;
    refused where a task's optimum is unknown."""
    import jax.numpy as jnp
    import pytest

    from warmstart_bo import gp
    from warmstart_bo.transfer import fit_posterior, normalize, shifted

    problem = TB.make_problem("hartmann3/sim0.9", 0, CONFIG)
    rng = np.random.default_rng(0)
    cat, priors = np.zeros(3, bool), gp.default_priors(3)

    def observed(task, x):
        return normalize(-np.array([task({f"x{k}": v for k, v in enumerate(row)}) for row in x]))

    x = rng.random((12, 3))
    parents = [fit_posterior(x, observed(t, x), cat, priors, i) for i, t in enumerate(problem.parents)]
    xt = rng.random((5, 3))
    target = fit_posterior(xt, observed(problem.target, xt), cat, priors, 9, capacity=16)
    plain = shifted.fit_shift(parents, x[:2], target, np.ones(3, bool), 0.05, np.random.default_rng(1))
    with TB._oracle_move(problem):
        fit = shifted.fit_shift(parents, x[:2], target, np.ones(3, bool), 0.05, np.random.default_rng(1))
    assert fit.parent == plain.parent
    np.testing.assert_allclose(fit.shift, np.subtract(problem.target.argmin, problem.parents[fit.parent].argmin))
    want = shifted.coefficients(parents[fit.parent], jnp.asarray(fit.shift), target.data.x, target.data.y, target.data.mask, target.kinv)
    np.testing.assert_allclose(fit.coef, np.asarray(want))
    assert not np.allclose(fit.shift, plain.shift)
    with pytest.raises(ValueError, match="unknown variant 'oracle-move'"):
        TB.run_seed("hartmann3/flipped", 0, CONFIG, ["transfer-shifted:oracle-move"])


@pytest.mark.slow
def test_the_sharp_evidence_variant_changes_the_shifted_job_and_restores_the_knob():
    from warmstart_bo.transfer import shifted

    config = {**CONFIG, "budget": 8, "parent_trials": 6}
    rows = TB.run_seed("hartmann3/sim0.9", 0, config, ["transfer-shifted", "transfer-shifted:sharp-evidence"])
    assert shifted.EVIDENCE_SIGNAL == 1.0
    assert rows[1]["values"][:2] == rows[2]["values"][:2] and rows[1]["values"] != rows[2]["values"]


@pytest.mark.slow
def test_the_move_evidence_diagnostic_scores_the_fitted_true_and_zero_moves_of_the_benchmarks_job(x64):
    """benchmarks/move_evidence.py reruns the benchmark's ``transfer-shifted:unguarded`` job
    (same trials) and, at each final fit, scores the fitted move, the true move of the fit's
    parent and the zero move; its second evidence, with the moved parent's posterior
    covariance, equals a dense SciPy density."""
    import jax.numpy as jnp
    from scipy.stats import multivariate_normal

    from benchmarks import move_evidence as M
    from warmstart_bo import gp
    from warmstart_bo.transfer import fit_posterior, normalize, shifted

    pid, seed, budget = "hartmann3/sim0.9", 0, 5
    unit = M.trace(pid, seed, CONFIG, budget)
    assert unit["values"] == TB.run_seed(pid, seed, {**CONFIG, "budget": budget}, ["transfer-shifted:unguarded"])[1]["values"]
    assert [f["n"] for f in unit["fits"]] == list(range(1, budget))  # one final fit per ask after the first trial
    problem = TB.make_problem(pid, seed, CONFIG)
    for f in unit["fits"]:
        true = np.subtract(problem.target.argmin, problem.parents[f["parent"]].argmin)
        assert np.isclose(f["move"], np.linalg.norm(true)) and np.isclose(f["error"], np.linalg.norm(np.subtract(f["shift"], true)))
        for cand, prior in zip((f["shift"], true, np.zeros(3)), f["prior"]):
            assert np.isclose(prior, float(shifted.log_shift_prior(jnp.asarray(cand), f["scale"], 3.0)))
        assert f["density"][0] >= f["density"][2] - 1e-9  # the zero move is one of the fit's candidates
        assert np.all(np.isfinite(f["density"])) and np.all(np.isfinite(f["uncertain"]))
    copula = M.trace(pid, seed, CONFIG, budget, "copula")
    assert copula["outputs"] == "copula" and copula["values"] != unit["values"]  # the parents too are read as ranks from the first ask
    lines = M.summary([unit], checkpoints=(3,))
    assert len(lines) == 3 and lines[1].startswith("hartmann3/sim0.9 | 3 | 1 | ") and lines[2].startswith(f"all {budget - 1} fits: ")

    rng = np.random.default_rng(0)
    cat, priors = np.zeros(2, bool), gp.default_priors(2)
    xp, xt = rng.random((12, 2)), rng.random((6, 2))
    parent = fit_posterior(xp, normalize(-np.sum((xp - 0.4) ** 2, axis=1)), cat, priors, 0)
    yt = normalize(-np.sum((xt - 0.5) ** 2, axis=1))
    target = fit_posterior(xt, yt, cat, priors, 1, capacity=16)
    shifts = np.array([[0.0, 0.0], [0.1, 0.1], [-0.2, 0.05]])
    got = np.asarray(M.uncertain_log_evidence(parent, jnp.asarray(shifts), target, target.data.x, target.data.y, target.data.mask, 0.1, 2.0))
    k = np.asarray(gp.train_covariance(target.params, target.data))[:6, :6]
    b = np.diag(np.asarray(shifted.COEF_STD) ** 2)
    for s, value in zip(shifts, got):
        m, cov = (np.asarray(a) for a in gp.predict_joint(parent, jnp.asarray(xt - s)))
        h = np.stack([m, np.ones(6)], axis=1)
        want = multivariate_normal(h @ np.asarray(shifted.COEF_MEAN), k + cov + h @ b @ h.T).logpdf(yt) + float(shifted.log_shift_prior(jnp.asarray(s), 0.1, 2.0))
        np.testing.assert_allclose(value, want, rtol=1e-8)


def test_the_curvature_probes_bowl_has_the_parents_shape_and_finds_an_exact_bowls_centre():
    """benchmarks/curvature_probe.py: a finite-difference Hessian, a bowl's shape (positive
    definite, unit trace), its centre recovered from exact quadratic outcomes, or held at
    the best point by a tight ridge."""
    from benchmarks import curvature_probe as C

    a = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    # atol: the zero entry comes out at 3e-11 on some machines (the last bits of z @ a @ z)
    np.testing.assert_allclose(C.hessian(lambda z: float(z @ a @ z), np.array([0.3, 0.1, 0.7])), 2 * a, rtol=1e-6, atol=1e-8)
    shape = C.bowl_shape(np.array([[1.0, 0.0], [0.0, -2.0]]))  # a saddle: its negative curvature is clipped
    assert np.isclose(np.trace(shape), 1.0) and np.all(np.linalg.eigvalsh(shape) > 0)
    rng = np.random.default_rng(0)
    centre, x = np.array([0.42, 0.61, 0.3]), rng.random((12, 3))
    y = 2.0 + 5.0 * np.einsum("ni,ij,nj->n", x - centre, a / np.trace(a), x - centre)
    np.testing.assert_allclose(C.bowl_centre(x, y, a / np.trace(a), np.full(3, 100.0)), centre, atol=1e-4)
    np.testing.assert_allclose(C.bowl_centre(x, y, a / np.trace(a), np.full(3, 1e-6)), x[np.argmin(y)], atol=1e-5)  # a tight ridge holds the best point


def test_the_bowls_checks_compare_the_opening_with_one_design_point():
    """``median``: the opening's median beats the point; ``gap``: by more than the
    opening's spread, so one lucky parent's point beside two at the design's level fails."""
    from benchmarks import curvature_probe as C

    deep, mixed = np.array([-3.0, -3.2, -2.9]), np.array([-3.0, -0.1, -0.2])
    assert C.passes(deep, -0.1, "median") and C.passes(deep, -0.1, "gap")  # gap 2.9 > spread 0.3
    assert C.passes(mixed, 0.0, "median") and not C.passes(mixed, 0.0, "gap")  # gap 0.2 < spread 2.9
    assert not C.passes(deep, -3.5, "median") and not C.passes(deep, -3.5, "gap")
    assert not C.passes(np.array([1.0, 1.0, 1.0]), 1.0, "gap")  # a tie is no evidence
    assert not C.passes(mixed, -0.5, "median")  # the median, not the mean (-1.1)
    assert not C.passes(np.array([0.0, 0.0, 3.0]), 2.0, "gap")  # the whole spread (3), not its std or half
    assert not C.passes(deep, np.nan, "gap") and not C.passes(np.array([np.nan, -3.0, -3.0]), 0.0, "median")
    assert TB.bowl_variant("best-first:bowl12g") == (12, "gap") and TB.bowl_variant("best-first:bowl3c") == (3, "median")
    assert TB.bowl_variant("best-first:bowl3") == (3, None)
    assert TB.bowl_variant("best-first:bowl3cg") is None and TB.bowl_variant("best-first:bowl0") is None
    with pytest.raises(ValueError, match="unknown check 'mean'"):
        C.passes(deep, 0.0, "mean")


@pytest.mark.slow
def test_a_curvature_probe_unit_opens_as_best_first_and_pairs_with_stored_runs():
    """A probe unit's first trials are best-first's (same parents, same order), then one
    trial per bowl step, under either curvature; without bowl steps the job is best-first's
    run, with them the benchmark's ``best-first:bowl<N>`` goes on from the probe's trials,
    and ``best-first:bowl<N>c`` runs the bowl only past its check; the summary pairs a unit
    with the runs."""
    from benchmarks import curvature_probe as C

    pid, seed = "hartmann3/sim0.9", 0
    k = CONFIG["top_k"]
    rows = TB.run_seed(pid, seed, CONFIG, ["cold", "best-first"])
    problem = TB.make_problem(pid, seed, CONFIG)
    histories = TB.parent_histories(problem, pid, seed, CONFIG)
    units = {curvature: C.unit(pid, seed, CONFIG, steps=3, curvature=curvature) for curvature in ("true", "model")}
    for curvature, u in units.items():
        assert u["method"] == f"curvature-{curvature}" and len(u["values"]) == k + 3
        assert u["values"][:k] == rows[2]["values"][:k]  # the opening is best-first's
    # The first step again, from the tasks' own Hessians.
    shape = np.mean([C.bowl_shape(C.hessian(lambda z, t=t: float(t({f"x{i}": v for i, v in enumerate(z)})), np.asarray(t.argmin, float)))
                     for t in problem.parents], axis=0)
    x = np.array([[p[f"x{i}"] for i in range(3)] for p in TB.top_points(histories, k)])
    bests = np.array([[h.params[int(np.argmin(h.values))][f"x{i}"] for i in range(3)] for h in histories])
    o = C.bowl_centre(x, np.array(units["true"]["values"][:k]), shape, np.std(bests, axis=0, ddof=1) + 1e-3)
    if any(np.allclose(o, xi, atol=1e-6) for xi in x):  # the probe's nudge off a repeated point
        o = np.clip(o + np.random.default_rng([seed, 17]).normal(0.0, 0.01, 3), 0.0, 1.0)
    assert units["true"]["values"][k] == float(problem.target({f"x{i}": float(v) for i, v in enumerate(o)}))

    assert C.job(problem, histories, seed, CONFIG["budget"], 0, k)["values"] == rows[2]["values"]  # no bowl: best-first
    assert C.job(problem, histories, seed, k + 1, 3, k)["bowl_steps"] == 1  # the budget cuts the bowl short
    bowl, checked = TB.run_seed(pid, seed, CONFIG, ["best-first:bowl3", "best-first:bowl3c"])[1:]
    assert bowl["values"][:k + 3] == units["model"]["values"] and len(bowl["values"]) == CONFIG["budget"]
    # The check's point is best-first's first design point; related parents pass it here
    # and the bowl's steps follow, fitted without it (the unchecked job's steps); sign-flipped
    # parents fail it, and their job is best-first's.
    assert checked["bowl_steps"] == 3 and checked["values"][k] == rows[2]["values"][k]
    assert checked["values"][k + 1:k + 4] == bowl["values"][k:k + 3] and len(checked["values"]) == CONFIG["budget"]
    flipped = TB.run_seed("hartmann3/flipped", seed, CONFIG, ["best-first", "best-first:bowl3c", "best-first:bowl3g"])
    assert all(r["bowl_steps"] == 0 and r["values"] == flipped[1]["values"] for r in flipped[2:])

    from benchmarks import transfer_metrics as M

    table = M.curves(rows[1:] + [units["model"]])[pid]
    cold, probe, bf = table["cold"][seed], table["curvature-model"][seed], table["best-first"][seed]
    need = M.trials_to_reach(cold[:4], cold[3])
    four = [int(M.trials_to_reach(c, cold[3]) * 4 <= need) for c in (probe, bf)]
    reached = int(np.isfinite(M.trials_to_reach(probe, cold[3])))
    lines = C.summary([units["model"]], rows[1:], t=4, at=5)
    assert lines[1] == (f"{pid} | 1 | {four[0]} | {four[1]} | {reached} | {probe[4]:.3g} | {bf[4]:.3g} | "
                        f"{int(probe[4] < bf[4])} / {int(probe[4] > bf[4])}")
    assert lines[-1] == f"all | 1 | {four[0]} | {four[1]}"


@pytest.mark.slow
def test_the_bowl_works_in_a_tuning_space_with_log_scales_and_integers(monkeypatch):
    """On a space like model tuning's (a log-scaled integer and a log-scaled real), the
    bowl's proposals are valid points (integers decode to ints within range), are fitted
    where they were evaluated, and with parents whose optima sit near the target's find a
    better point than the opening."""
    from types import SimpleNamespace

    from benchmarks import curvature_probe as C
    from warmstart_bo import ContinuousParameter, IntegerParameter
    from warmstart_bo.space import SearchSpace
    from warmstart_bo.transfer import ParentHistory

    ranges = {"n": IntegerParameter(1, 64, "Logarithmic"), "c": ContinuousParameter(1e-3, 1e3, "Logarithmic")}
    space = SearchSpace(ranges)
    shape = np.array([[2.0, 0.5], [0.5, 1.0]])

    def task(centre):
        return lambda p: float((space.encode(p) - centre) @ shape @ (space.encode(p) - centre))

    target = np.array([0.55, 0.4])
    rng = np.random.default_rng(3)
    histories = []
    for i, centre in enumerate([target + 0.08, target - 0.06, target + np.array([0.05, -0.07])]):
        params = space.decode_many(rng.random((30, 2)))
        histories.append(ParentHistory(f"p{i}", params, [task(centre)(p) for p in params], ranges))
    seen = []

    def objective(p):
        seen.append(dict(p))
        return task(target)(p)

    fitted = []

    fit_centre = C.bowl_centre

    def recording_centre(x, *args):
        fitted.append(np.array(x))
        return fit_centre(x, *args)

    monkeypatch.setattr(C, "bowl_centre", recording_centre)
    r = C.job(SimpleNamespace(space=ranges, target=objective, parents=()), histories, seed=0, budget=12, steps=3, top_k=3)
    assert r["bowl_steps"] == 3 and len(r["values"]) == 12 == len(seen)
    assert [len(x) for x in fitted] == [3, 4, 5]  # each bowl is fitted to the points evaluated so far, as encoded
    np.testing.assert_array_equal(fitted[-1], space.encode_many(seen[:5]))
    assert seen[:3] == C.TB.top_points(histories, 3)
    assert all(type(p["n"]) is int and 1 <= p["n"] <= 64 and 1e-3 <= p["c"] <= 1e3 for p in seen)
    assert r["values"] == [task(target)(p) for p in seen]
    assert min(r["values"][3:6]) < min(r["values"][:3])  # the bowl improves on the opening
