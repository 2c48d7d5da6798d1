from pathlib import Path

import pandas as pd
import pytest

from warmstart_bo import (
    ContinuousParameter,
    HyperparameterTuner,
    HyperparameterTuningJobAnalytics,
    IntegerParameter,
    Store,
)
from warmstart_bo.analytics import best_lines, best_so_far, describe_job
from warmstart_bo.store import JobNotFoundError

SPACE = {"lr": ContinuousParameter(1e-4, 1e-1), "layers": IntegerParameter(1, 4)}


def objective(hp):
    if hp["layers"] == 4:
        raise RuntimeError("out of memory")
    return {"val_loss": abs(hp["lr"] - 0.01) * 100 + hp["layers"], "acc": 0.5}


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "s.db")
    HyperparameterTuner(objective, "val_loss", SPACE, objective_type="Minimize", max_jobs=12, strategy="Random", random_seed=0, store=store, progress=False).fit(job_name="job")
    return store


def test_dataframe_has_one_row_per_trial_with_sagemaker_columns(store):
    frame = HyperparameterTuningJobAnalytics("job", store=store).dataframe()
    assert list(frame.columns) == [
        "lr", "layers", "TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "TrainingStartTime",
        "TrainingEndTime", "TrainingElapsedTimeSeconds", "FailureReason",
    ]
    trials = store.trials("job")
    assert len(frame) == 12 and list(frame["TrainingJobName"]) == [t.name for t in trials]
    for (_, row), t in zip(frame.iterrows(), trials):
        assert row["lr"] == t.hyperparameters["lr"] and row["layers"] == t.hyperparameters["layers"]
        assert row["TrainingJobStatus"] == ("Failed" if t.hyperparameters["layers"] == 4 else "Completed")
        if t.status == "Completed":
            assert row["FinalObjectiveValue"] == t.objective
        else:
            assert pd.isna(row["FinalObjectiveValue"]) and row["FailureReason"] == "RuntimeError: out of memory"
        assert row["TrainingElapsedTimeSeconds"] == pytest.approx((row["TrainingEndTime"] - row["TrainingStartTime"]).total_seconds(), abs=1e-5)
    assert str(frame["TrainingStartTime"].dtype).startswith("datetime64") and frame["TrainingStartTime"].dt.tz is not None


def test_csv_export_round_trips(store, tmp_path):
    analytics = HyperparameterTuningJobAnalytics("job", store=store)
    path = analytics.export_csv(tmp_path / "trials.csv")
    back = pd.read_csv(path)
    frame = analytics.dataframe()
    assert list(back.columns) == list(frame.columns)
    pd.testing.assert_series_equal(back["FinalObjectiveValue"], frame["FinalObjectiveValue"])
    assert list(back["TrainingJobName"]) == list(frame["TrainingJobName"])


def test_plot_writes_a_png(store, tmp_path):
    path = HyperparameterTuningJobAnalytics("job", store=store).plot(tmp_path / "plot.png")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_parents_rows_and_overall_best(store, tmp_path):
    # A child job that names "job" as its warm-start parent (written through the store).
    store.create_job("child", store.job("job").config, random_seed=1, parents=["job"])
    store.add_trial("child", 0, {"lr": 0.05, "layers": 2})
    store.finish_trial("child", 0, "Completed", 100.0, {"val_loss": 100.0})
    store.finish_job("child", "Completed", "done")
    analytics = HyperparameterTuningJobAnalytics("child", store=store)
    assert len(analytics.dataframe()) == 1
    both = analytics.dataframe(include_parents=True)
    assert list(both["TuningJobName"]) == ["job"] * 12 + ["child"]
    d = describe_job(store, "child")
    parent_best = min(t.objective for t in store.trials("job") if t.status == "Completed")
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 100.0
    assert d["OverallBestTrainingJob"]["TuningJobName"] == "job"
    assert d["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == parent_best
    assert d["WarmStartParents"] == ["job"]
    assert analytics.plot(tmp_path / "with-parents.png", include_parents=True).endswith(".png")


def test_describe_counts_trials_by_status(store):
    d = describe_job(store, "job")
    failed = sum(t.hyperparameters["layers"] == 4 for t in store.trials("job"))
    assert d["TrainingJobStatusCounters"] == {"Completed": 12 - failed, "InProgress": 0, "Failed": failed, "Stopped": 0}
    assert d["HyperParameterTuningJobStatus"] == "Completed" and d["RandomSeed"] == 0


def test_unknown_job(store):
    with pytest.raises(JobNotFoundError, match="no tuning job named 'nope'"):
        HyperparameterTuningJobAnalytics("nope", store=store)


def test_reading_a_job_from_a_mistyped_store_path_creates_nothing(tmp_path):
    """attach() and analytics opened the path as a new store: an empty file, its -wal and
    -shm, and the folders above it, then 'no tuning job'."""
    from warmstart_bo import HyperparameterTuner
    from warmstart_bo.store import StoreError

    typo = tmp_path / "typo" / "sub" / "store.db"
    for read in (lambda: HyperparameterTuner.attach("job", store=typo), lambda: HyperparameterTuningJobAnalytics("job", store=str(typo))):
        for kind in (StoreError, JobNotFoundError):  # as a missing job was before
            with pytest.raises(kind, match="no store at .*typo/sub/store.db"):
                read()
    assert not (tmp_path / "typo").exists()


def _child(store, name, values, statuses=None, parents=("job",), warm_start_type="TransferLearning"):
    """A finished job with the given objective values, written through the store."""
    config = dict(store.job("job").config, warm_start_config={"warm_start_type": warm_start_type, "parents": list(parents)})
    store.create_job(name, config, random_seed=1, parents=list(parents))
    for i, (v, st) in enumerate(zip(values, statuses or ["Completed"] * len(values))):
        store.add_trial(name, i, {"lr": 0.05, "layers": 2})
        store.finish_trial(name, i, st, v, {"val_loss": v})
    store.finish_job(name, "Completed", "done")


def test_best_so_far_is_the_jobs_own_and_skips_stopped_trials(store):
    _child(store, "child", [5.0, 1.0, 3.0, 0.5, 2.0], ["Stopped", "Completed", "Completed", "Stopped", "Completed"])
    assert best_so_far(store.trials("child"), -1.0) == ([2, 3, 4, 5], [1.0, 1.0, 1.0, 1.0])
    assert best_so_far(store.trials("child"), 1.0) == ([2, 3, 4, 5], [1.0, 3.0, 3.0, 3.0])


def _best_lines_of(ax):
    return [list(line.get_ydata()) for line in ax.get_lines()]


def test_plot_draws_each_jobs_own_best_and_parents_apart(store, tmp_path):
    """The warm job's best line is its own (100, then 90), not the parent's best it would
    inherit through one line over all trials; the parent sits in its own panel, and a
    compared job (a cold start) gets its own line beside the warm one."""
    _child(store, "warm", [100.0, 90.0, 95.0])
    _child(store, "cold", [300.0, 200.0], parents=())
    analytics = HyperparameterTuningJobAnalytics("warm", store=store)
    parents_panel, job_panel = analytics.figure(include_parents=True, compare=["cold"]).axes
    parent_best = min(t.objective for t in store.trials("job") if t.status == "Completed")
    assert _best_lines_of(parents_panel)[0][-1] == parent_best
    assert _best_lines_of(job_panel) == [[100.0, 90.0, 90.0], [300.0, 200.0]]
    assert [h.get_label() for h in job_panel.get_legend().legend_handles] == ["warm (this job)", "cold"]
    assert parents_panel.collections[0].get_facecolors().size == 0  # parents' points are hollow
    alone = analytics.figure(include_parents=False).axes
    assert len(alone) == 1 and _best_lines_of(alone[0]) == [[100.0, 90.0, 90.0]]
    with pytest.raises(JobNotFoundError):
        analytics.figure(compare=["nope"])
    # One name as a string is that job, not its letters (it raised "no tuning job named 'c'").
    assert _best_lines_of(analytics.figure(include_parents=False, compare="cold").axes[0]) == [[100.0, 90.0, 90.0], [300.0, 200.0]]
    assert Path(analytics.plot(tmp_path / "warm.png", compare=["cold"])).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_compared_job_must_share_the_objective(store):
    """A Maximize job compared with a Minimize one was drawn with the Minimize job's best
    (its best-so-far line was its worst so far); another metric shared the axis unnamed."""
    analytics = HyperparameterTuningJobAnalytics("job", store=store)
    for name, key, value in [("maximized", "objective_type", "Maximize"), ("accuracy", "objective_metric_name", "acc")]:
        store.create_job(name, dict(store.job("job").config, **{key: value}))
        store.finish_job(name, "Completed", "done")
        with pytest.raises(ValueError, match=f"cannot compare job '{name}' with 'job': its objective is '{value}', not '"):
            analytics.figure(compare=[name])


def test_best_lines_show_the_jobs_own_best_beside_the_overall_best(store):
    _child(store, "warm", [100.0])
    lines = best_lines(describe_job(store, "warm")).splitlines()
    assert lines[0].startswith("best trial of job warm: warm-000, val_loss = 100 with")
    assert lines[1].startswith("best over the job and its parents (OverallBestTrainingJob), from parent job job: job-")
    assert lines[1].endswith("the parent is another task (TransferLearning): use the job's own best")
    _child(store, "same-task", [100.0], warm_start_type="IdenticalDataAndAlgorithm")
    assert "another task" not in best_lines(describe_job(store, "same-task"))
    assert best_lines(describe_job(store, "job")).count("\n") == 0  # no parents: one line
