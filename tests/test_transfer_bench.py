"""The transfer benchmark's runner on one tiny unit: the parents' record and each method's run."""

import numpy as np

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


def test_the_sharp_evidence_variant_changes_the_shifted_job_and_restores_the_knob():
    from warmstart_bo.transfer import shifted

    config = {**CONFIG, "budget": 8, "parent_trials": 6}
    rows = TB.run_seed("hartmann3/sim0.9", 0, config, ["transfer-shifted", "transfer-shifted:sharp-evidence"])
    assert shifted.EVIDENCE_SIGNAL == 1.0
    assert rows[1]["values"][:2] == rows[2]["values"][:2] and rows[1]["values"] != rows[2]["values"]
