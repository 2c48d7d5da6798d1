import os
import textwrap

import numpy as np
import optuna
import pandas as pd
import pytest

from warmstart_bo import (
    ContinuousParameter,
    HyperparameterTuner,
    Store,
    WarmStartConfig,
    WarmStartTypes,
)
from warmstart_bo.integrations.importers import (
    csv_sidecar_path,
    import_csv,
    import_dataframe,
    import_optuna_study,
)
from warmstart_bo.space import CategoricalParameter, IntegerParameter

# The shape of a SageMaker HyperparameterTuningJobAnalytics(...).export_csv() file: string
# hyperparameters quoted, times with offsets, a failed job with no objective.
SAGEMAKER_CSV = textwrap.dedent(
    """\
    learning_rate,mini_batch_size,optimizer,epochs,TrainingJobName,TrainingJobStatus,FinalObjectiveValue,TrainingStartTime,TrainingEndTime,TrainingElapsedTimeSeconds
    0.0123,64,"""
    + '"""sgd"""'
    + """,10,ic-tune-001-8c2a,Completed,0.812,2024-05-01 10:00:00+00:00,2024-05-01 10:12:00+00:00,720.0
    0.0871,128,"""
    + '"""adam"""'
    + """,10,ic-tune-002-1f0e,Completed,0.744,2024-05-01 10:00:05+00:00,2024-05-01 10:10:05+00:00,600.0
    0.0004,32,"""
    + '"""adam"""'
    + """,10,ic-tune-003-77d1,Failed,,2024-05-01 10:12:01+00:00,2024-05-01 10:13:01+00:00,60.0
    0.0031,256,"""
    + '"""sgd"""'
    + """,10,ic-tune-004-5b3c,Completed,0.791,2024-05-01 10:10:06+00:00,2024-05-01 10:20:06+00:00,600.0
    """
)


def test_sagemaker_csv_export_becomes_a_parent(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(SAGEMAKER_CSV)
    store = Store(tmp_path / "s.db")
    import_csv(str(path), "sm-history", store, objective_metric_name="validation:accuracy", objective_type="Maximize")
    job = store.job("sm-history")
    assert job.status == "Completed"
    ranges = job.config["hyperparameter_ranges"]
    assert ranges["learning_rate"]["type"] == "Continuous" and ranges["mini_batch_size"] == {"type": "Integer", "min_value": 32, "max_value": 256, "scaling_type": "Auto"}
    assert ranges["optimizer"] == {"type": "Categorical", "values": ["adam", "sgd"]}
    assert job.config["static_hyperparameters"] == {"epochs": 10}  # one value: fixed, not tuned
    trials = store.trials("sm-history")
    assert [t.status for t in trials] == ["Completed", "Completed", "Failed", "Completed"]
    assert trials[0].hyperparameters == {"learning_rate": 0.0123, "mini_batch_size": 64, "optimizer": "sgd"}
    assert trials[0].objective == 0.812 and trials[0].end_time - trials[0].start_time == 720.0
    assert pd.Timestamp(trials[1].start_time, unit="s", tz="UTC") == pd.Timestamp("2024-05-01 10:00:05+00:00")

    def accuracy(hp):
        return 0.8 - abs(np.log10(hp["learning_rate"]) + 2) * 0.05 + (0.01 if hp["optimizer"] == "sgd" else 0.0)

    child = HyperparameterTuner(
        accuracy, "validation:accuracy",
        {"learning_rate": ContinuousParameter(1e-4, 1e-1), "mini_batch_size": IntegerParameter(32, 256), "optimizer": CategoricalParameter(["sgd", "adam"])},
        objective_type="Maximize", max_jobs=3, random_seed=0, store=store, progress=False,
        warm_start_config=WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, ["sm-history"]),
    )
    child.fit(job_name="child")
    assert len(store.trials("child")) == 3
    assert child.describe()["OverallBestTrainingJob"]["TrainingJobName"] == "sm-history-000"


def test_dataframe_with_given_ranges_and_bad_input(tmp_path):
    store = Store(tmp_path / "s.db")
    frame = pd.DataFrame({"x": [0.1, 0.5, 0.9], "FinalObjectiveValue": [1.0, np.nan, 0.5]})
    import_dataframe(frame, "given", store, hyperparameter_ranges={"x": ContinuousParameter(0.0, 1.0)})
    assert [t.status for t in store.trials("given")] == ["Completed", "Failed", "Completed"]
    with pytest.raises(ValueError, match="hyperparameter 'x': value 1.5 is outside the range"):
        import_dataframe(pd.DataFrame({"x": [1.5], "FinalObjectiveValue": [1.0]}), "bad", store, hyperparameter_ranges={"x": ContinuousParameter(0.0, 1.0)})
    assert not store.has_job("bad")
    with pytest.raises(ValueError, match="no objective column 'FinalObjectiveValue'"):
        import_dataframe(pd.DataFrame({"x": [0.1]}), "bad", store)
    with pytest.raises(ValueError, match="already exists"):
        import_dataframe(frame, "given", store, hyperparameter_ranges={"x": ContinuousParameter(0.0, 1.0)})


def test_optuna_study_import(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        depth = trial.suggest_int("depth", 1, 6)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        if depth == 6:
            raise optuna.TrialPruned()
        if act == "tanh" and depth == 1:
            raise RuntimeError("unstable")
        return (np.log10(lr) + 2) ** 2 + depth / 10

    study.optimize(objective, n_trials=25, catch=(RuntimeError,))
    store = Store(tmp_path / "s.db")
    import_optuna_study(study, "from-optuna", store, objective_metric_name="loss")
    job = store.job("from-optuna")
    assert job.config["objective_type"] == "Minimize"
    assert job.config["hyperparameter_ranges"]["lr"] == {"type": "Continuous", "min_value": 1e-4, "max_value": 0.1, "scaling_type": "Logarithmic"}
    assert job.config["hyperparameter_ranges"]["depth"]["type"] == "Integer"
    trials = store.trials("from-optuna")
    states = {optuna.trial.TrialState.COMPLETE: "Completed", optuna.trial.TrialState.FAIL: "Failed", optuna.trial.TrialState.PRUNED: "Failed"}
    assert [t.status for t in trials] == [states[t.state] for t in study.trials]  # pruned without reports: no value
    for t, o in zip(trials, study.trials):
        assert t.hyperparameters == o.params
        if o.state == optuna.trial.TrialState.COMPLETE:
            assert t.objective == o.value


def test_an_optuna_trial_of_infinite_value_is_imported_as_failed(tmp_path):
    """Optuna keeps inf as a COMPLETE value; the import stopped at it and left a half-written
    Failed job holding the name."""
    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for x, v in [(0.1, 0.5), (0.2, float("inf")), (0.3, 0.25)]:
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions=dist, value=v))
    store = Store(tmp_path / "s.db")
    import_optuna_study(study, "with-inf", store)
    assert store.job("with-inf").status == "Completed"
    assert [(t.status, t.objective, t.failure_reason) for t in store.trials("with-inf")] == [
        ("Completed", 0.5, None), ("Failed", None, "Optuna trial COMPLETE with value inf"), ("Completed", 0.25, None)]


def test_a_job_name_with_a_trailing_newline_is_refused(tmp_path):
    store = Store(tmp_path / "s.db")
    frame = pd.DataFrame({"x": [0.1, 0.5], "FinalObjectiveValue": [1.0, 0.5]})
    with pytest.raises(ValueError, match="invalid job name"):
        import_dataframe(frame, "ok-name\n", store)
    assert store.jobs() == []


def test_a_numeric_categorical_and_a_hyperparameter_named_objective_survive_export_and_import(tmp_path):
    """A categorical of numeric strings ("16", "32") comes back a categorical of those
    strings (the export quotes categorical values, as SageMaker's does), also from a table
    whose cells are unquoted when the ranges are given; a tuned hyperparameter named
    ``objective`` (XGBoost's) is a hyperparameter, not a column to skip. An imported job can
    be attached and read, and refuses to run."""
    from warmstart_bo.integrations.exporters import export_csv

    store = Store(tmp_path / "s.db")
    ranges = {"eta": ContinuousParameter(0.01, 0.3), "objective": CategoricalParameter(["reg:squarederror", "reg:pseudohubererror"]),
              "bs": CategoricalParameter(["16", "32"])}
    HyperparameterTuner(lambda hp: {"rmse": hp["eta"] + int(hp["bs"]) / 100}, "rmse", ranges, objective_type="Minimize", max_jobs=6,
                        strategy="Random", random_seed=0, progress=False, store=store).fit(job_name="xgb")
    path = export_csv("xgb", tmp_path / "xgb.csv", store=store)
    import_csv(path, "back", store, objective_metric_name="rmse")
    assert store.job("back").config["hyperparameter_ranges"] == store.job("xgb").config["hyperparameter_ranges"]  # from the sidecar
    assert [t.hyperparameters for t in store.trials("back")] == [t.hyperparameters for t in store.trials("xgb")]
    os.remove(csv_sidecar_path(path))  # the table alone: ranges inferred from the (quoted) values
    import_csv(path, "inferred", store, objective_metric_name="rmse")
    assert store.job("inferred").config["hyperparameter_ranges"]["objective"] == {"type": "Categorical", "values": ["reg:pseudohubererror", "reg:squarederror"]}
    assert store.job("inferred").config["hyperparameter_ranges"]["bs"] == {"type": "Categorical", "values": ["16", "32"]}
    assert [t.hyperparameters for t in store.trials("inferred")] == [t.hyperparameters for t in store.trials("xgb")]

    plain = tmp_path / "plain.csv"
    plain.write_text("eta,objective,bs,FinalObjectiveValue\n0.1,reg:squarederror,32,0.42\n0.2,reg:squarederror,16,0.36\n")
    import_csv(str(plain), "given", store, objective_metric_name="rmse", hyperparameter_ranges=ranges)
    assert [t.hyperparameters["bs"] for t in store.trials("given")] == ["32", "16"]

    attached = HyperparameterTuner.attach("back", store=store)
    best = min(store.trials("xgb"), key=lambda t: t.objective)
    assert attached.best_training_job() == f"back-{best.index:03d}"
    with pytest.raises(ValueError, match="job 'back' was imported: its trials ran elsewhere"):
        attached.resume()


def test_numeric_times_are_unix_seconds(tmp_path):
    """A number in a time column was read as nanoseconds (1733600000 -> 1.7336 s), and a
    number in a column that also holds dates as a year (a parse error)."""
    path = tmp_path / "times.csv"
    path.write_text("x,FinalObjectiveValue,TrainingStartTime,TrainingEndTime\n"
                    "0.1,1.0,1733600000,1733600060.5\n0.2,2.0,2024-12-07 19:33:20+00:00,1733600060\n")
    store = Store(tmp_path / "s.db")
    import_csv(str(path), "times", store)
    assert [(t.start_time, t.end_time) for t in store.trials("times")] == [(1733600000.0, 1733600060.5), (1733600000.0, 1733600060.0)]
    frame = pd.DataFrame({"x": [0.1, 0.2], "FinalObjectiveValue": [1.0, 2.0], "TrainingStartTime": [1733600000, 1733600001]})
    import_dataframe(frame, "ints", store)
    assert [t.start_time for t in store.trials("ints")] == [1733600000.0, 1733600001.0]
    # A datetime64 (of nanoseconds) is a time, not a number of seconds.
    stamps = np.array(["2024-12-07T19:33:20", "2024-12-07T19:34:20"], dtype="datetime64[ns]")
    import_dataframe(frame.assign(TrainingStartTime=pd.Series(list(stamps), dtype=object)), "stamps", store)
    assert [t.start_time for t in store.trials("stamps")] == [1733600000.0, 1733600060.0]


def test_an_empty_column_is_named(tmp_path):
    """An all-blank objective column imported every trial as Failed, silently; an all-blank
    hyperparameter column failed with "min_value must be finite ... got nan"."""
    store = Store(tmp_path / "s.db")
    path = tmp_path / "t.csv"
    path.write_text("x,y,FinalObjectiveValue\n0.1,1,\n0.2,2,\n")
    with pytest.raises(ValueError, match="objective column 'FinalObjectiveValue' is empty: all 2 cells are blank"):
        import_csv(str(path), "no-objective", store)
    path.write_text("x,y,FinalObjectiveValue\n,1,0.5\n,2,0.7\n")
    with pytest.raises(ValueError, match="hyperparameter column 'x' is empty: all 2 cells are blank"):
        import_csv(str(path), "no-x", store)
    assert store.jobs() == []
    # Where the status column says every trial failed, a blank objective is what it should be.
    path.write_text("x,y,TrainingJobStatus,FinalObjectiveValue\n0.1,1,Failed,\n0.2,2,Stopped,\n")
    import_csv(str(path), "none-finished", store)
    assert [t.status for t in store.trials("none-finished")] == ["Failed", "Failed"]
