"""A finished job out to Optuna and CSV, and back in as a warm-start parent."""

import optuna
import pytest

from warmstart_bo import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    Store,
    WarmStartConfig,
)
from warmstart_bo.integrations.exporters import export_csv, export_optuna_study
from warmstart_bo.integrations.importers import import_csv, import_optuna_study

RANGES = {
    "lr": ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
    "layers": IntegerParameter(1, 8),
    "opt": CategoricalParameter(["sgd", "adam"]),
}


def _trial(hp, report):
    if hp["layers"] == 8:
        raise RuntimeError("too deep")
    loss = (hp["lr"] - 0.01) ** 2 * 1e4 + hp["layers"] * 0.1 + (hp["opt"] == "sgd")
    report(1, loss + 1.0)
    return loss


@pytest.fixture
def finished(tmp_path):
    store = Store(tmp_path / "s.db")
    HyperparameterTuner(_trial, "loss", RANGES, objective_type="Minimize", max_jobs=12, strategy="Random", random_seed=0, store=store, progress=False).fit(job_name="src")
    return store


def test_a_job_exports_to_an_optuna_study_and_imports_back(finished):
    store = finished
    trials = store.trials("src")
    study = export_optuna_study("src", store=store)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE and study.study_name == "src"
    assert len(study.trials) == len(trials)
    for ours, theirs in zip(trials, study.trials):
        assert theirs.params == ours.hyperparameters
        assert theirs.user_attrs["TrainingJobName"] == ours.name
        if ours.status == "Completed":
            assert theirs.state == optuna.trial.TrialState.COMPLETE and theirs.value == pytest.approx(ours.objective)
            assert theirs.intermediate_values == {1: pytest.approx(ours.objective + 1.0)}
        else:
            assert theirs.state == optuna.trial.TrialState.FAIL and "too deep" in theirs.user_attrs["FailureReason"]
    assert study.trials[0].distributions["lr"].log
    import_optuna_study(study, "back", store=store, objective_metric_name="loss")
    back = store.trials("back")
    assert [(t.hyperparameters, t.objective, t.status) for t in back] == [(t.hyperparameters, t.objective, t.status) for t in trials]
    child = HyperparameterTuner(_trial, "loss", RANGES, objective_type="Minimize", max_jobs=2, random_seed=1, store=store, progress=False,
                                warm_start_config=WarmStartConfig("IdenticalDataAndAlgorithm", ["back"]))
    child.fit(job_name="child")
    assert child.describe()["OverallBestTrainingJob"]["TuningJobName"] in ("back", "child")


def test_a_job_exports_to_csv_and_imports_back(finished, tmp_path):
    store = finished
    path = export_csv("src", tmp_path / "src.csv", store=store)
    import_csv(path, "from-csv", store=store, objective_metric_name="loss", objective_type="Minimize")
    src, back = store.trials("src"), store.trials("from-csv")
    assert len(back) == len(src)
    for t, s in zip(back, src):
        assert t.status == s.status
        assert t.hyperparameters == pytest.approx(s.hyperparameters)
        if s.objective is not None:
            assert t.objective == pytest.approx(s.objective)
    HyperparameterTuner(_trial, "loss", RANGES, objective_type="Minimize", max_jobs=2, random_seed=1, store=store, progress=False,
                        warm_start_config=WarmStartConfig("TransferLearning", ["from-csv"])).fit(job_name="child-csv")
    assert len(store.trials("child-csv")) == 2


def test_export_to_a_persistent_optuna_storage(finished, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    export_optuna_study("src", store=finished, storage=url, study_name="kept")
    loaded = optuna.load_study(study_name="kept", storage=url)
    assert len(loaded.trials) == 12 and loaded.user_attrs["warmstart_bo_job"] == "src"
