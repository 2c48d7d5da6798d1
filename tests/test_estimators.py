import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from warmstart_bo.estimators import (
    CommandLineEstimator,
    Reporter,
    TrialStopped,
    as_estimator,
    run_trial,
)


def reporter(**kw):
    return Reporter("loss", sign=-1.0, **kw)


@pytest.mark.parametrize(
    "out, status, objective, reason",
    [
        (1.5, "Completed", 1.5, None),
        ({"loss": 2.0, "acc": 0.9}, "Completed", 2.0, None),
        ({"acc": 0.9}, "Failed", None, "objective metric 'loss' is missing from the metrics the trial returned: ['acc']"),
        (float("nan"), "Failed", None, "objective metric 'loss' is nan"),
        ({"loss": float("inf")}, "Failed", None, "objective metric 'loss' is inf"),
        ("text", "Failed", None, "the trial returned a str; expected a number or a dict of metric values"),
        (None, "Failed", None, "the trial returned a NoneType; expected a number or a dict of metric values"),
        ({"loss": "high"}, "Failed", None, "metric 'loss' is not a number: 'high'"),
        ({"loss": "0.3"}, "Failed", None, "metric 'loss' is not a number: '0.3'"),  # as a returned "0.3" is
        (True, "Failed", None, "the trial returned True; expected a number or a dict of metric values"),
    ],
)
def test_run_trial_turns_any_outcome_into_a_result(out, status, objective, reason):
    result = run_trial(as_estimator(lambda hp: out), {"x": 1}, reporter())
    assert result["status"] == status and result["objective"] == objective
    assert result["failure_reason"] == reason


def test_an_exception_is_recorded_with_its_type_and_message():
    def boom(hp):
        raise ZeroDivisionError("lr too large")

    result = run_trial(as_estimator(boom), {}, reporter())
    assert result == {"status": "Failed", "objective": None, "metrics": {}, "intermediate": [], "failure_reason": "ZeroDivisionError: lr too large"}


def test_fit_objects_and_report_parameters_are_recognised():
    class Model:
        def fit(self, hyperparameters, report):
            for step in (1, 2):
                report(step, {"loss": hyperparameters["x"] / step, "acc": 0.5})
            return {"loss": 0.25}

    r = reporter()
    result = run_trial(as_estimator(Model()), {"x": 1.0}, r)
    assert result["status"] == "Completed" and result["objective"] == 0.25
    assert result["intermediate"] == [[1.0, 1.0], [2.0, 0.5]]
    with pytest.raises(TypeError, match="estimator must be"):
        as_estimator(42)


def test_early_stopped_trial_keeps_its_last_value():
    finished = [[(s, 1.0) for s in range(1, 6)]] * 3  # losses of 1.0

    def worse(hp, report):
        for step in range(1, 6):
            report(step, 5.0 - 0.1 * step)  # losses near 5: worse than the median
        return 0.0

    r = reporter(finished_curves=finished, early_stopping=True)
    result = run_trial(as_estimator(worse), {}, r)
    assert result["status"] == "Stopped" and result["objective"] == pytest.approx(4.8)
    assert "median rule at step 2" in result["failure_reason"]
    r_off = reporter(finished_curves=finished, early_stopping=False)
    assert run_trial(as_estimator(worse), {}, r_off)["status"] == "Completed"


def test_request_stop_makes_the_next_report_raise():
    r = reporter()
    r(1, 1.0)
    r.request_stop("job stopped")
    with pytest.raises(TrialStopped, match="job stopped"):
        r(2, 1.0)


SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    print("lr_arg=" + args.get("--lr", "-1"), flush=True)
    print("lr_env=" + os.environ.get("SM_HP_LEARNING_RATE", "-1"), flush=True)
    print("n_hps=" + str(len(json.loads(os.environ.get("SM_HPS", "{}")))), flush=True)
    for epoch in range(1, 4):
        print(f"epoch {epoch} val_loss={1.0 / epoch:.4f} acc=0.{epoch}", flush=True)
        time.sleep(float(os.environ.get("EPOCH_SLEEP", "0")))
    sys.exit(int(os.environ.get("EXIT_CODE", "0")))
    """
)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return path


METRICS = [{"Name": "val_loss", "Regex": r"val_loss=([-+0-9.eE]+|nan)"}, {"Name": "acc", "Regex": r"acc=([0-9.]+)"}]
SEEN = [{"Name": n, "Regex": n + r"=([-0-9.]+)"} for n in ("lr_arg", "lr_env", "n_hps")]


def test_command_line_passes_arguments_and_parses_metrics(script):
    est = CommandLineEstimator([sys.executable, str(script)], METRICS + SEEN)
    result = run_trial(est, {"lr": 0.01, "opt": "adam", "flag": True}, Reporter("val_loss", sign=-1.0))
    assert result["status"] == "Completed" and result["objective"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["metrics"] == {"val_loss": pytest.approx(0.3333), "acc": 0.3, "lr_arg": 0.01, "lr_env": -1.0, "n_hps": 0.0}
    assert result["intermediate"] == [[1.0, 1.0], [2.0, 0.5], [3.0, pytest.approx(0.3333)]]


def test_command_line_passes_environment_variables(script):
    est = CommandLineEstimator(f"{sys.executable} {script}", METRICS + SEEN, hyperparameter_passing="environment")
    result = run_trial(est, {"learning-rate": 0.1, "opt": "sgd"}, Reporter("val_loss"))
    assert result["status"] == "Completed"
    assert result["metrics"]["lr_env"] == 0.1 and result["metrics"]["n_hps"] == 2.0 and result["metrics"]["lr_arg"] == -1.0


def test_command_line_failures_are_reported(script, monkeypatch):
    est = CommandLineEstimator([sys.executable, str(script)], METRICS)
    monkeypatch.setenv("EXIT_CODE", "2")
    result = run_trial(est, {}, Reporter("val_loss"))
    assert result["status"] == "Failed" and result["failure_reason"].startswith("RuntimeError: command exited with status 2")
    monkeypatch.setenv("EXIT_CODE", "0")
    est = CommandLineEstimator([sys.executable, str(script)], [{"Name": "f1", "Regex": r"f1=([0-9.]+)"}])
    result = run_trial(est, {}, Reporter("f1"))
    assert result["status"] == "Failed" and "objective metric 'f1' not found in the command's output" in result["failure_reason"]


def test_stopping_a_command_line_kills_it(script, monkeypatch):
    monkeypatch.setenv("EPOCH_SLEEP", "20")
    est = CommandLineEstimator([sys.executable, str(script)], METRICS)
    r = Reporter("val_loss")
    threading.Timer(0.5, r.request_stop, args=("timed out",)).start()
    start = time.monotonic()
    result = run_trial(est, {}, r)
    assert time.monotonic() - start < 15.0  # far less than the 60 s the script would sleep
    assert result["status"] == "Failed" and result["failure_reason"] == "timed out"


@pytest.mark.parametrize(
    "defs, match",
    [
        ([], "needs metric_definitions"),
        ([{"Name": "a"}], "exactly the keys 'Name' and 'Regex'"),
        ([{"Name": "a", "Regex": "a=("}], "metric 'a': invalid regular expression"),
        ([{"Name": "a", "Regex": "a=1"}], "metric 'a': regular expression 'a=1' needs a group"),
    ],
)
def test_bad_metric_definitions(defs, match):
    with pytest.raises(ValueError, match=match):
        CommandLineEstimator(["true"], defs)


@pytest.mark.parametrize(
    "out, reason",
    [
        (np.bool_(True), "the trial returned np.True_; expected a number or a dict of metric values"),
        ({"loss": np.bool_(False)}, "metric 'loss' is a bool (np.False_), not a number"),
        ({"loss": True}, "metric 'loss' is a bool (True), not a number"),
    ],
)
def test_a_bool_objective_fails_whatever_its_type(out, reason):
    result = run_trial(as_estimator(lambda hp: out), {}, reporter())
    assert result["status"] == "Failed" and result["objective"] is None and result["failure_reason"] == reason


def test_numpy_numbers_are_accepted_as_objectives():
    result = run_trial(as_estimator(lambda hp: {"loss": np.float32(0.5), "n": np.int64(3)}), {}, reporter())
    assert result["status"] == "Completed" and result["objective"] == 0.5 and result["metrics"]["n"] == 3.0


@pytest.mark.parametrize("step", [float("nan"), float("inf"), "first", None])
def test_a_report_with_a_bad_step_is_refused_by_name(step):
    r = reporter()
    with pytest.raises(ValueError, match="report step must be a finite number"):
        r(step, 1.0)
    assert r.curve == []

    def bad_step(hp, report):
        report(1, 2.0)
        report(step, 1.0)
        return 1.0

    result = run_trial(as_estimator(bad_step), {}, reporter())
    assert result["status"] == "Failed" and "report step must be a finite number" in result["failure_reason"]
    assert result["intermediate"] == [[1.0, 2.0]]


EVIL_JOB = textwrap.dedent(
    """
    import sys, time
    from warmstart_bo import ContinuousParameter, HyperparameterTuner, Store
    printer = "print('a' * 40 + 'b', flush=True); print('loss=1.0', flush=True)"
    tuner = HyperparameterTuner(
        [sys.executable, "-c", printer], "loss", {"x": ContinuousParameter(0.0, 1.0)},
        metric_definitions=[{"Name": "loss", "Regex": "loss=([0-9.]+)"}, {"Name": "evil", "Regex": "^(a+)+$"}],
        objective_type="Minimize", strategy="Random", max_runtime_in_seconds=2, store=sys.argv[1], progress=False,
    )
    start = time.monotonic()
    tuner.fit(job_name="evil")
    (trial,) = Store(sys.argv[1]).trials("evil")
    print(trial.status, trial.failure_reason, round(time.monotonic() - start))
    """
)


def test_a_catastrophic_metric_regex_cannot_hold_off_the_timeout(tmp_path):
    """^(a+)+$ on 40 a's and a b takes 2**40 steps; matching holds the GIL, so it must run
    outside the tuner's process for max_runtime_in_seconds to fire."""
    from pathlib import Path

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    try:
        proc = subprocess.run([sys.executable, "-c", EVIL_JOB, str(tmp_path / "s.db")], env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("the job hung: the regex blocked the timeout")
    assert proc.returncode == 0, proc.stderr
    status, reason = proc.stdout.strip().rsplit(" ", 1)[0].split(" ", 1)
    assert status == "Failed" and reason == "timed out after 2 s"


def test_metrics_reported_on_the_way_are_kept_beside_a_returned_number():
    """A trial that returned its objective as a number lost the other metrics it reported;
    the objective itself must still be returned (a reported one is no final value)."""

    def train(hp, report):
        report(1, {"loss": 0.5, "aux": 3.0})
        report(2, {"loss": 0.4, "aux": 2.0})
        return 0.35

    result = run_trial(as_estimator(train), {}, Reporter("loss", sign=-1.0))
    assert result["status"] == "Completed" and result["metrics"] == {"loss": 0.35, "aux": 2.0}

    def no_objective(hp, report):
        report(1, {"loss": 0.5})
        return {"aux": 1.0}

    result = run_trial(as_estimator(no_objective), {}, Reporter("loss", sign=-1.0))
    assert result["status"] == "Failed" and "objective metric 'loss' is missing" in result["failure_reason"]



def test_a_population_may_yield_its_results():
    """``fit_population`` returning a generator failed every member ("returned a
    generator") once the result count was checked; a count that differs still fails."""
    from warmstart_bo.estimators import run_population

    class Population:
        def __init__(self, missing=0):
            self.missing = missing

        def fit(self, hp):
            return hp["x"]

        def population_key(self, hp):
            return 0

        def fit_population(self, hps, report):
            return (hp["x"] for hp in hps[self.missing:])

    hps = [{"x": 0.1}, {"x": 0.2}]
    results = run_population(as_estimator(Population()), hps, [reporter(), reporter()])
    assert [(r["status"], r["objective"]) for r in results] == [("Completed", 0.1), ("Completed", 0.2)]
    results = run_population(as_estimator(Population(missing=1)), hps, [reporter(), reporter()])
    assert all("fit_population returned 1 results for 2 configurations" in r["failure_reason"] for r in results)
