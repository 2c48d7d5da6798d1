"""A finished job out to Optuna and CSV, and back in as a warm-start parent."""

import optuna
import pytest

from warmstart_bo import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    HyperparameterTuningJobAnalytics,
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


def test_a_stopped_trial_without_a_curve_keeps_its_objective_through_optuna(tmp_path):
    """A Stopped trial was exported PRUNED with neither value nor curve, and came back
    Failed. Optuna lets a pruned trial carry a value (its ``tell`` gives it the last
    intermediate value); the export gives it both, the import reads the value."""
    import pandas as pd

    from warmstart_bo.integrations.importers import import_dataframe

    store = Store(tmp_path / "s.db")
    frame = pd.DataFrame({"x": [0.1, 0.5, 0.9], "FinalObjectiveValue": [1.0, 0.3, 0.5], "TrainingJobStatus": ["Completed", "Stopped", "Completed"]})
    import_dataframe(frame, "src", store)
    study = export_optuna_study("src", store=store)
    pruned = study.trials[1]
    assert pruned.state == optuna.trial.TrialState.PRUNED and pruned.value == 0.3 and pruned.intermediate_values == {0: 0.3}
    import_optuna_study(study, "back", store=store)
    assert [(t.status, t.objective) for t in store.trials("back")] == [("Completed", 1.0), ("Stopped", 0.3), ("Completed", 0.5)]


def test_csv_round_trip_keeps_direction_static_hyperparameters_and_ranges(tmp_path):
    """The CSV holds neither the direction nor the static hyperparameters nor the ranges:
    a Maximize job came back Minimize (a parent then steers to its worst points), without
    its static values, with ranges shrunk to the values seen. The sidecar keeps them."""
    store = Store(tmp_path / "s.db")
    HyperparameterTuner(lambda hp: {"accuracy": hp["layers"] / 10}, "accuracy", RANGES, objective_type="Maximize", static_hyperparameters={"epochs": 10},
                        max_jobs=3, strategy="Random", random_seed=0, store=store, progress=False).fit(job_name="acc")
    path = export_csv("acc", tmp_path / "acc.csv", store=store)
    import_csv(path, "back", store=store)
    src, back = store.job("acc").config, store.job("back").config
    for key in ("objective_metric_name", "objective_type", "hyperparameter_ranges", "static_hyperparameters"):
        assert back[key] == src[key], key
    assert back["objective_type"] == "Maximize" and back["static_hyperparameters"] == {"epochs": 10}
    assert [t.hyperparameters for t in store.trials("back")] == [t.hyperparameters for t in store.trials("acc")]
    import_csv(path, "given", store=store, objective_type="Minimize")  # an argument wins over the sidecar
    assert store.job("given").config["objective_type"] == "Minimize"


def test_a_table_changed_since_its_export_is_read_without_its_sidecar(tmp_path):
    """Another job's table written over the export (the analytics method writes no sidecar)
    was read with the first job's direction and ranges; a file object had no path to find a
    sidecar by, and raised."""
    import io

    store = Store(tmp_path / "s.db")
    HyperparameterTuner(lambda hp: {"accuracy": hp["layers"] / 10}, "accuracy", RANGES, objective_type="Maximize",
                        max_jobs=3, strategy="Random", random_seed=0, store=store, progress=False).fit(job_name="acc")
    HyperparameterTuner(lambda hp: {"loss": hp["lr"]}, "loss", RANGES, objective_type="Minimize",
                        max_jobs=3, strategy="Random", random_seed=1, store=store, progress=False).fit(job_name="loss")
    path = export_csv("acc", tmp_path / "t.csv", store=store)
    HyperparameterTuningJobAnalytics("loss", store).export_csv(path)
    with pytest.warns(RuntimeWarning, match="t.csv.json was written with another table than .*t.csv"):
        import_csv(path, "back", store=store, objective_metric_name="loss")
    assert store.job("back").config["objective_type"] == "Minimize"
    text = (tmp_path / "t.csv").read_text()
    import_csv(io.StringIO(text), "from-buffer", store=store)
    assert len(store.trials("from-buffer")) == 3
