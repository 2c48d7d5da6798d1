"""WarmStartSampler against Optuna's own published sampler conformance tests, plus warm start."""

import math

import numpy as np
import optuna
import pytest
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from warmstart_bo import ContinuousParameter, HyperparameterTuner, Store
from warmstart_bo.integrations.optuna import WarmStartSampler
from warmstart_bo.testfunctions import branin

optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestConformance(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self):
        return lambda: WarmStartSampler(seed=0, n_initial_points=4, num_fit_starts=2)


def _branin(trial):
    return branin({"x1": trial.suggest_float("x1", -5, 10), "x2": trial.suggest_float("x2", 0, 15)})


def test_the_gp_takes_over_and_finds_branins_basin():
    study = optuna.create_study(sampler=WarmStartSampler(seed=1))
    study.optimize(_branin, n_trials=25)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 1.0  # optimum 0.398; a random 25-trial search rarely gets below 1.5
    first = study.trials[0].params
    again = optuna.create_study(sampler=WarmStartSampler(seed=1))
    again.optimize(_branin, n_trials=3)
    assert [t.params for t in again.trials[1:3]] == [t.params for t in study.trials[1:3]]
    assert first == again.trials[0].params


def test_a_parent_study_warm_starts_the_child():
    parent = optuna.create_study(sampler=WarmStartSampler(seed=2))
    parent.optimize(_branin, n_trials=20)
    child = optuna.create_study(sampler=WarmStartSampler(seed=3, parents=[parent], warm_start_type="TransferLearning"))
    child.optimize(_branin, n_trials=3)
    cold = optuna.create_study(sampler=WarmStartSampler(seed=3))
    cold.optimize(_branin, n_trials=3)
    assert child.best_value < 2.0 and child.best_value < cold.best_value
    # The child's first trial already follows the parent (its own trials give no joint space yet).
    assert child.trials[0].value < 2.0


def test_a_child_that_changed_a_parameters_distribution_starts_from_the_parents_where_it_can():
    """The first trial of a warm-started study follows the parent studies' space, but the
    child may have widened a categorical or changed a scaling: Optuna's compatibility check
    then failed inside the child's objective. Now each of the parents' model's values is
    used where the child's distribution holds it (here both: the parent's best point)."""
    def old_objective(trial):
        return abs(np.log10(trial.suggest_float("lr", 1e-4, 1e-1)) + 2) + (trial.suggest_categorical("opt", ["sgd", "adam"]) == "sgd")

    def new_objective(trial):
        return abs(np.log10(trial.suggest_float("lr", 1e-4, 1e-1, log=True)) + 2) + (trial.suggest_categorical("opt", ["sgd", "adam", "rmsprop"]) == "sgd")

    old = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    old.optimize(old_objective, n_trials=8)
    child = optuna.create_study(sampler=WarmStartSampler(seed=0, parents=[old], warm_start_type="TransferLearning"))
    child.optimize(new_objective, n_trials=3)
    assert [t.state for t in child.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert child.trials[0].params == old.best_params


def test_a_stored_job_is_a_parent(tmp_path):
    store = Store(tmp_path / "s.db")
    ranges = {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15)}
    # Minimized as the child is (this job maximized Branin, by the tuner's default, until a
    # job of the other direction was negated as a parent study is)
    HyperparameterTuner(branin, "loss", ranges, objective_type="Minimize", max_jobs=15, random_seed=0, store=store, progress=False).fit(job_name="old")
    child = optuna.create_study(sampler=WarmStartSampler(seed=4, parents=["old"], store=store, warm_start_type="IdenticalDataAndAlgorithm"))
    child.optimize(_branin, n_trials=6)
    parent_best = min(t.objective for t in store.trials("old"))
    assert child.best_value < parent_best  # it continues the parent's search rather than restarting it


def _accuracy_job(store):
    """A stored Maximize job whose best x is 0.8: an accuracy, the parent of error studies."""
    import pandas as pd

    from warmstart_bo.integrations.importers import import_dataframe

    xs = np.linspace(0, 1, 12)
    import_dataframe(pd.DataFrame({"x": xs, "FinalObjectiveValue": 1 - (xs - 0.8) ** 2}), "acc", store, objective_type="Maximize")


@pytest.mark.parametrize("warm_start_type", ["TransferLearning", "IdenticalDataAndAlgorithm"])
def test_a_stored_job_of_the_other_direction_is_negated_and_opens_the_study(tmp_path, warm_start_type):
    """A Maximize job as the parent of a minimize study was used as it was, steering the
    study to its worst region (first x 0.55, 0.09, 0.18), and with stored jobs as the only
    parents the first trial was the random sampler's."""
    store = Store(tmp_path / "s.db")
    _accuracy_job(store)
    for seed in (0, 1):
        study = optuna.create_study(direction="minimize", sampler=WarmStartSampler(seed=seed, parents=["acc"], warm_start_type=warm_start_type, store=store))
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.8) ** 2, n_trials=3)
        assert all(abs(t.params["x"] - 0.8) < 0.15 for t in study.trials)


def test_pruned_failed_and_categorical_trials():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1, step=0.25)
        kind = trial.suggest_categorical("kind", ["a", None, 3])
        if trial.number % 5 == 4:
            raise RuntimeError("boom")
        if trial.number % 5 == 3:
            trial.report(x, 1)
            raise optuna.TrialPruned()
        return x + (kind == "a")

    study = optuna.create_study(sampler=WarmStartSampler(seed=0, n_initial_points=3))
    study.optimize(objective, n_trials=15, catch=(RuntimeError,))
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 3 and states.count(optuna.trial.TrialState.PRUNED) == 3
    for t in study.trials:
        assert t.params["kind"] in ("a", None, 3)
        assert math.isclose(t.params["x"] / 0.25, round(t.params["x"] / 0.25))


def test_bad_parents_are_named():
    with pytest.raises(ValueError, match="warm_start_type must be"):
        WarmStartSampler(parents=[optuna.create_study()])
    with pytest.raises(TypeError, match="parent 3: expected an optuna.Study"):
        WarmStartSampler(parents=[3], warm_start_type="TransferLearning")
    empty = optuna.create_study(study_name="empty")
    child = optuna.create_study(sampler=WarmStartSampler(parents=[empty], warm_start_type="TransferLearning"))
    child.optimize(_branin, n_trials=1)  # the first trial is independent sampling
    with pytest.raises(ValueError, match="parent study 'empty': no finished trial"):
        child.optimize(_branin, n_trials=1)
    assert np.isfinite(child.trials[0].value)


def test_a_misspelled_option_is_refused_when_the_sampler_is_made():
    """Options go to the Optimizer of every Bayesian trial: a typo surfaced only there,
    after whole trials had run."""
    with pytest.raises(TypeError, match="n_initial_point"):
        WarmStartSampler(seed=0, n_initial_point=3)
    with pytest.raises(ValueError, match="transfer_prior must be one of"):
        WarmStartSampler(seed=0, transfer_prior="Stacked")
    WarmStartSampler(seed=0, n_initial_points=3, transfer_prior="stacked")
