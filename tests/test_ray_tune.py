"""WarmStartSearcher inside Ray Tune: a run, JSON save/restore, known points, parents."""

import json
import sys

import numpy as np
import pytest
import ray
from ray import tune

from warmstart_bo import ContinuousParameter, HyperparameterTuner, Store
from warmstart_bo.integrations.ray_tune import WarmStartSearcher
from warmstart_bo.testfunctions import branin

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Tune's workers cannot import tests/

SPACE = {"x1": tune.uniform(-5, 10), "x2": tune.uniform(0, 15)}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _trainable(config):
    return {"loss": branin(config)}


def _run(search_alg, num_samples, tmp_path, name):
    tuner = tune.Tuner(
        _trainable, param_space=SPACE,
        tune_config=tune.TuneConfig(search_alg=search_alg, metric="loss", mode="min", num_samples=num_samples, max_concurrent_trials=2, reuse_actors=True),
        run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0),
    )
    return tuner.fit()


def test_a_tune_run_with_the_searcher(local_ray, tmp_path):
    searcher = WarmStartSearcher(random_seed=0, n_initial_points=3, points_to_evaluate=[{"x1": 3.0, "x2": 3.0}])
    results = _run(searcher, 6, tmp_path, "run")
    losses = [r.metrics["loss"] for r in results]
    assert len(losses) == 6 and all(np.isfinite(losses))
    configs = [r.config for r in results]
    assert {"x1": 3.0, "x2": 3.0} in configs  # the point to evaluate ran
    assert len(searcher.get_state()["history"]) == 6


def test_save_restore_is_json_and_continues_identically(tmp_path):
    space = {"x1": tune.uniform(-5, 10), "opt": {"x2": tune.quniform(0, 15, 0.5)}, "kind": tune.choice(["a", "b"]), "fixed": 7}
    a = WarmStartSearcher(space, metric="loss", mode="min", random_seed=1, n_initial_points=3)
    for i in range(5):
        config = a.suggest(f"t{i}")
        assert config["fixed"] == 7 and config["kind"] in ("a", "b") and (config["opt"]["x2"] / 0.5).is_integer()
        a.on_trial_complete(f"t{i}", {"loss": branin({"x1": config["x1"], "x2": config["opt"]["x2"]})} if i != 2 else None, error=i == 2)
    pending = a.suggest("running")
    path = tmp_path / "searcher.json"
    a.save(str(path))
    state = json.loads(path.read_text())  # plain JSON, no pickle
    assert [v is None for _, v in state["history"]] == [False, False, True, False, False]
    assert state["live"] == {"running": b_internal(a, pending)}
    b = WarmStartSearcher()
    b.restore(str(path))
    assert b.get_state() == state
    b.on_trial_complete("running", {"loss": 1.0})  # a trial that ran across the restore
    nxt = b.suggest("next")
    assert nxt != pending and -5 <= nxt["x1"] <= 10 and b.get_state()["history"][-1][1] == 1.0


def b_internal(searcher, config):
    """A suggested config in the searcher's own terms (choice index, flat names)."""
    return searcher._internal(config)


def test_evaluated_rewards_and_a_stored_parent(tmp_path):
    store = Store(tmp_path / "s.db")
    ranges = {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15)}
    HyperparameterTuner(branin, "loss", ranges, max_jobs=12, random_seed=0, store=store, progress=False).fit(job_name="old")
    known = [{"x1": 9.42, "x2": 2.47}, {"x1": 0.0, "x2": 0.0}]
    s = WarmStartSearcher(
        SPACE, metric="loss", mode="min", points_to_evaluate=known, evaluated_rewards=[branin(p) for p in known],
        parents=["old"], store=store, warm_start_type="TransferLearning",
    )
    first = s.suggest("t0")
    assert first not in known and len(s.get_state()["history"]) == 2  # known points are observations, not suggestions
    with pytest.raises(ValueError, match="evaluated_rewards has 1 values for 2 points_to_evaluate"):
        WarmStartSearcher(SPACE, points_to_evaluate=known, evaluated_rewards=[1.0])
    with pytest.raises(ValueError, match="warm_start_type must be"):
        WarmStartSearcher(SPACE, parents=["old"], store=store)
    with pytest.raises(ValueError, match="parameter 'g': grid_search cannot"):
        WarmStartSearcher({"g": tune.grid_search([1, 2]), "x": tune.uniform(0, 1)})


def test_a_parents_choice_values_are_the_searchers_choices():
    """With a ``tune.choice`` domain the searcher works on the choices' indices; a parent's
    trials hold the choices themselves ("sgd"), and every one of them was dropped: the job
    was a cold start. Its first suggestion is now the parents' best point."""
    from warmstart_bo.transfer import ParentHistory

    params = [{"lr": 10 ** (-1 - i * 0.5), "opt": ["sgd", "adam"][i % 2]} for i in range(6)]
    parent = ParentHistory("p", params, [5.0, 0.1, 4.0, 3.0, 2.0, 1.0])
    s = WarmStartSearcher({"lr": tune.loguniform(1e-4, 1e-1), "opt": tune.choice(["sgd", "adam"])}, metric="loss", mode="min",
                          parents=[parent], warm_start_type="TransferLearning")
    first = s.suggest("t0")
    assert first["opt"] == "adam" and first["lr"] == pytest.approx(10 ** -1.5)
    # A parent's value that is not a choice is dropped, never read as the index it equals:
    # here its trials at 1 layer, which as index 1 would be 3 layers.
    layers = ParentHistory("layers", [{"n": n} for n in (1, 1, 2, 3)], [0.1, 0.2, 0.5, 0.9])
    s = WarmStartSearcher({"n": tune.choice([2, 3, 4])}, metric="loss", mode="min", parents=[layers], warm_start_type="TransferLearning")
    assert s.suggest("t0") == {"n": 2}  # the best of its trials that are choices


@pytest.mark.slow
def test_tune_with_the_searcher_beats_random_search_on_branin(local_ray, tmp_path):
    """8 seeds x 25 trials (2 at a time) through Tune: the searcher's best Branin value
    against random search's (uniform draws over the same space, what Tune's default
    generator does) with the same budget."""
    ours, rand = [], []
    for seed in range(8):
        results = _run(WarmStartSearcher(random_seed=seed), 25, tmp_path, f"gp{seed}")
        ours.append(min(r.metrics["loss"] for r in results))
        rng = np.random.default_rng(1000 + seed)
        rand.append(min(branin({"x1": a, "x2": b}) for a, b in zip(rng.uniform(-5, 10, 25), rng.uniform(0, 15, 25))))
    assert np.median(ours) < 0.5 * np.median(rand), (ours, rand)
    assert sum(o < r for o, r in zip(ours, rand)) >= 6, (ours, rand)


def test_a_stored_job_of_the_other_direction_is_negated(tmp_path):
    """A Maximize job as the parent of a mode="min" search was used unflipped: every
    suggestion went to its worst point, x = 0; a restored searcher keeps the orientation."""
    import pandas as pd

    from warmstart_bo.integrations.importers import import_dataframe

    store = Store(tmp_path / "s.db")
    xs = np.linspace(0, 1, 12)
    import_dataframe(pd.DataFrame({"x": xs, "FinalObjectiveValue": 1 - (xs - 0.8) ** 2}), "acc", store, objective_type="Maximize")
    searcher = WarmStartSearcher(space={"x": tune.uniform(0, 1)}, metric="err", mode="min", parents=["acc"], warm_start_type="IdenticalDataAndAlgorithm", store=store)
    for i in range(3):
        config = searcher.suggest(str(i))
        assert abs(config["x"] - 0.8) < 0.1
        searcher.on_trial_complete(str(i), {"err": (config["x"] - 0.8) ** 2})
    path = tmp_path / "state.json"
    searcher.save(str(path))
    restored = WarmStartSearcher()
    restored.restore(str(path))
    assert [p["objective_type"] for p in json.loads(path.read_text())["parents"]] == ["Maximize"]
    np.testing.assert_array_equal(restored._optimizer()._parent_y, searcher._optimizer()._parent_y)  # negated again


def _design_only(n):
    """Options for a searcher that only runs its first ``n`` (quasi-random) suggestions: no
    GP programs compiled ahead for asks that never come (a second each)."""
    return {"n_initial_points": n, "max_observations": n}


def test_a_choice_of_dicts_is_suggested_as_given():
    """``tune.choice([{"a": 1}, {"b": 2}])``: the suggested config was flattened back into
    "m/a", read as a parameter of its own, and the first suggest failed ("lacks parameter 'm'")."""
    s = WarmStartSearcher({"m": tune.choice([{"a": 1}, {"b": 2}]), "x": tune.uniform(0, 1)}, metric="loss", mode="min", **_design_only(4))
    configs = [s.suggest(str(i)) for i in range(4)]
    assert all(c["m"] in ({"a": 1}, {"b": 2}) for c in configs) and {"a": 1} in [c["m"] for c in configs]


def test_a_choice_of_true_and_1_suggests_both():
    """``True == 1``: the choice's index lookup read 1 as True, so 1 was never suggested."""
    s = WarmStartSearcher({"v": tune.choice([True, 1]), "w": tune.choice([1, 1.0])}, metric="loss", mode="min", **_design_only(8))
    configs = [s.suggest(str(i)) for i in range(8)]
    assert {(type(c["v"]), c["v"]) for c in configs} == {(bool, True), (int, 1)}
    assert {type(c["w"]) for c in configs} == {int, float}


def test_numpy_truth_values_and_keys_with_a_slash_are_found():
    """A point holding ``numpy.True_`` for the choice True, and a nested key holding "/"
    (found by Tune's flattening before the lookup stopped flattening). As in Tune's own
    searchers, which flatten with "/" too, the suggested config splits such a key."""
    import numpy as np

    space = {"flag": tune.choice([True, 1]), "opt": {"a/b": tune.uniform(0, 1)}}
    s = WarmStartSearcher(space, metric="loss", mode="min", points_to_evaluate=[{"flag": np.True_, "opt": {"a/b": 0.5}}], **_design_only(2))
    first = s.suggest("t0")
    assert first["flag"] is True and first["opt"] == {"a": {"b": 0.5}}


def test_tuples_stay_tuples_across_save_and_restore(tmp_path):
    """JSON has no tuples: a restored searcher suggested ``[1, 2]`` for the choice ``(1, 2)``."""
    space = {"shape": tune.choice([(1, 2), (3, 4)]), "fixed": (5, 6), "x": tune.uniform(0, 1)}
    a = WarmStartSearcher(space, metric="loss", mode="min", **_design_only(4))
    a.suggest("t0")
    path = tmp_path / "searcher.json"
    a.save(str(path))
    b = WarmStartSearcher()
    b.restore(str(path))
    assert b.get_state() == json.loads(path.read_text())
    configs = [b.suggest(str(i)) for i in range(3)]
    assert all(c["shape"] in ((1, 2), (3, 4)) and isinstance(c["shape"], tuple) and c["fixed"] == (5, 6) for c in configs)


def test_a_point_to_evaluate_outside_a_choice_names_the_parameter():
    with pytest.raises(ValueError, match=r"parameter 'opt': value 'rmsprop' is not one of its choices \['sgd', 'adam'\]"):
        WarmStartSearcher({"opt": tune.choice(["sgd", "adam"])}, metric="loss", mode="min", points_to_evaluate=[{"opt": "rmsprop"}])
