import _thread
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from warmstart_bo import (
    CategoricalParameter,
    CompletionCriteria,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    Store,
)
from warmstart_bo.store import JobExistsError
from warmstart_bo.strategies import BayesianStrategy
from warmstart_bo.testfunctions import BRANIN_SPACE, branin

TESTS = Path(__file__).parent
X_SPACE = {"x": ContinuousParameter(0.0, 1.0, "Linear")}


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store.db")


def tuner(estimator, store, space=X_SPACE, **kw):
    kw.setdefault("objective_type", "Minimize")
    kw.setdefault("progress", False)
    return HyperparameterTuner(estimator, kw.pop("metric", "loss"), space, store=store, **kw)


def statuses(store, name):
    return [t.status for t in store.trials(name)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hyperparameter_ranges": {"lr": ContinuousParameter(1.0, 0.1)}}, "hyperparameter 'lr': min_value must be less than max_value"),
        ({"hyperparameter_ranges": {"n": IntegerParameter(1, 5, "ReverseLogarithmic")}}, "hyperparameter 'n': ReverseLogarithmic"),
        ({"hyperparameter_ranges": {"c": CategoricalParameter([])}}, "hyperparameter 'c': CategoricalParameter needs at least one value"),
        ({"hyperparameter_ranges": {"FinalObjectiveValue": ContinuousParameter(0.0, 1.0)}}, "hyperparameter 'FinalObjectiveValue' has the name of an analytics column"),
        ({"objective_type": "Max"}, "objective_type must be one of"),
        ({"max_jobs": 0}, "max_jobs must be an integer >= 1"),
        ({"max_parallel_jobs": 1.5}, "max_parallel_jobs must be an integer >= 1"),
        ({"strategy": "Hyperband"}, "strategy must be one of"),
        ({"strategy": "Grid"}, "strategy 'Grid' needs categorical-only ranges; hyperparameter 'x' is a ContinuousParameter"),
        ({"early_stopping_type": "On"}, "early_stopping_type must be one of"),
        ({"max_retry_attempts": -1}, "max_retry_attempts must be an integer >= 0"),
        ({"static_hyperparameters": {"x": 1}}, "hyperparameter 'x' is both tuned and static"),
        ({"static_hyperparameters": {"data": [1, 2]}}, "static hyperparameter 'data' must be"),
        ({"executor": "gpu"}, "executor must be one of"),
        ({"completion_criteria": {"TargetObjectiveMetricValue": float("nan")}}, "target_objective_value must be a finite number"),
        ({"completion_criteria": {"patience": 3}}, "unknown completion_criteria key 'patience'"),
        # Malformed SageMaker-style entries were dropped without a word, and the job ran its budget.
        ({"completion_criteria": {"BestObjectiveNotImproving": 3}}, "BestObjectiveNotImproving must be"),
        ({"completion_criteria": {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImprovin": 3}}}, "BestObjectiveNotImproving must be"),
        ({"completion_criteria": {"BestObjectiveNotImproving": None}}, "BestObjectiveNotImproving must be"),
        ({"completion_criteria": {"target_objective_value": None, "TargetObjectiveMetricValue": 0.5}}, "both 'target_objective_value' and 'TargetObjectiveMetricValue'"),
        ({"completion_criteria": {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 0}}}, "max_trials_not_improving must be a positive integer"),
        ({"base_tuning_job_name": "my_model"}, "base_tuning_job_name: invalid job name 'my_model'"),
        ({"random_seed": -3}, r"random_seed must be an integer in \[0, 2\*\*63\), got -3"),
    ],
)
def test_bad_arguments_are_named(store, kwargs, match):
    kwargs = dict(kwargs)
    space = kwargs.pop("hyperparameter_ranges", X_SPACE)
    with pytest.raises(ValueError, match=match):
        tuner(lambda hp: 0.0, store, space, **kwargs)


def test_unknown_objective_metric_of_a_command_line(store):
    with pytest.raises(ValueError, match="unknown objective metric 'val_loss': metric_definitions define \\['loss'\\]"):
        HyperparameterTuner(["python", "train.py"], "val_loss", X_SPACE, metric_definitions=[{"Name": "loss", "Regex": "loss=(.*)"}], store=store)


def test_bayesian_job_records_every_trial_and_finds_a_good_point(store):
    t = tuner(branin, store, BRANIN_SPACE, max_jobs=25, random_seed=0)
    t.fit(job_name="branin")
    trials = store.trials("branin")
    assert len(trials) == 25 and all(tr.status == "Completed" for tr in trials)
    for tr in trials:
        assert tr.objective == pytest.approx(branin(tr.hyperparameters))
    best = t.best_trial()
    assert best.objective == min(tr.objective for tr in trials) and t.best_training_job() == best.name
    assert best.objective < 2.0  # Branin's minimum is 0.398; random search averages ~54
    d = t.describe()
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"] == {"Completed": 25, "InProgress": 0, "Failed": 0, "Stopped": 0}
    assert d["BestTrainingJob"]["TrainingJobName"] == best.name
    assert store.job("branin").random_seed == 0


def test_failed_and_nan_trials_are_recorded_and_never_told_to_the_gp(store, monkeypatch):
    told = []
    original = BayesianStrategy.tell
    monkeypatch.setattr(BayesianStrategy, "tell", lambda self, p, v: (told.append(v), original(self, p, v)))

    def flaky(hp):
        if hp["x"] > 0.8:
            raise RuntimeError("diverged")
        if hp["x"] < 0.15:
            return float("nan")
        if 0.4 < hp["x"] < 0.45:
            return {"accuracy": 0.5}
        return (hp["x"] - 0.3) ** 2

    t = tuner(flaky, store, max_jobs=16, random_seed=1)
    t.fit(job_name="flaky")
    trials = store.trials("flaky")
    assert len(trials) == 16 and store.job("flaky").status == "Completed"
    reasons = {tr.failure_reason for tr in trials if tr.status == "Failed"}
    assert reasons, "the seed should hit a failing region"
    assert reasons <= {"RuntimeError: diverged", "objective metric 'loss' is nan", "objective metric 'loss' is missing from the metrics the trial returned: ['accuracy']"}
    completed = [tr.objective for tr in trials if tr.status == "Completed"]
    assert sorted(told) == sorted(completed) and all(math.isfinite(v) for v in told)


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_trial_that_exits_or_interrupts_itself_fails_and_the_job_goes_on(store, executor):
    """``sys.exit`` in a trial (argparse rejecting an argument, say) and a KeyboardInterrupt
    raised by the trial's own code fail that trial; before, the trial's thread ended without
    a result and the job waited for it forever."""
    done = threading.Event()
    job = threading.Thread(target=lambda: (tuner(_exits_or_interrupts, store, max_jobs=6, strategy="Random", random_seed=3, executor=executor).fit(job_name="exits"), done.set()), daemon=True)
    job.start()
    assert done.wait(120), "the job waited for a trial that had ended"
    reasons = sorted(tr.failure_reason or "" for tr in store.trials("exits"))
    assert store.job("exits").status == "Completed" and len(reasons) == 6
    assert "SystemExit: 2" in reasons and "" in reasons
    assert ("KeyboardInterrupt: " in reasons) == (executor == "threads")


def _exits_or_interrupts(hp):
    """Exits above 0.6, interrupts itself below 0.1 (a process trial runs only the former:
    a KeyboardInterrupt in a trial's own process is that process's business)."""
    if hp["x"] > 0.6:
        sys.exit(2)
    if hp["x"] < 0.1 and threading.current_thread() is not threading.main_thread():
        raise KeyboardInterrupt
    return hp["x"]


def test_retries_rerun_the_same_hyperparameters(store):
    calls = {}

    def sometimes(hp):
        key = round(hp["x"], 12)
        calls[key] = calls.get(key, 0) + 1
        if hp["x"] > 0.5:
            raise OSError("node lost")
        if calls[key] < 3:
            raise OSError("transient")
        return hp["x"]

    tuner(sometimes, store, max_jobs=6, strategy="Random", random_seed=2, max_retry_attempts=2).fit(job_name="retry")
    for tr in store.trials("retry"):
        assert tr.attempts == 3 and calls[round(tr.hyperparameters["x"], 12)] == 3
        if tr.hyperparameters["x"] > 0.5:
            assert tr.status == "Failed"
            assert tr.failure_reason == "attempt 1: OSError: node lost; attempt 2: OSError: node lost; attempt 3: OSError: node lost"
        else:
            assert tr.status == "Completed" and tr.objective == tr.hyperparameters["x"]


def test_a_job_whose_trials_all_fail_is_failed_with_the_reason(store):
    tuner(lambda hp: float("inf"), store, max_jobs=3, strategy="Random").fit(job_name="all-bad")
    job = store.job("all-bad")
    assert job.status == "Failed" and job.status_reason == "no trial of 3 completed (3 failed); last failure: objective metric 'loss' is inf"
    with pytest.raises(ValueError, match="no completed trial"):
        HyperparameterTuner.attach("all-bad", store=store).best_training_job()
    HyperparameterTuner.attach("all-bad", store=store, estimator=lambda hp: 1.0).resume()  # no budget left
    assert store.job("all-bad").status_reason == job.status_reason and len(store.trials("all-bad")) == 3


def test_a_job_with_no_completed_trial_says_which_were_stopped(store):
    """Trials stopped early keep a value but never the best trial's place: a job of failed
    and stopped trials is Failed, and its reason no longer calls every trial failed."""
    calls = []

    def est(hp, report):
        calls.append(hp)
        for epoch in range(1, 4):
            report(epoch, 1.0 if len(calls) <= 3 else 0.0)
        if len(calls) <= 3:
            raise RuntimeError("crash after training")
        return 0.0

    tuner(est, store, max_jobs=5, strategy="Random", random_seed=0, early_stopping_type="Auto", objective_type="Maximize").fit(job_name="mixed")
    trials, job = store.trials("mixed"), store.job("mixed")
    stopped = sum(tr.status == "Stopped" for tr in trials)
    assert stopped and not any(tr.status == "Completed" for tr in trials)
    assert job.status == "Failed" and job.status_reason.startswith(f"no trial of 5 completed ({5 - stopped} failed, {stopped} stopped)")


def test_a_running_job_writes_its_owners_heartbeat(store, monkeypatch):
    """While a trial runs (and the job writes nothing else), the job's ``updated_at`` moves:
    how another host tells a running job from a killed one."""
    from warmstart_bo import tuner as tuner_module

    monkeypatch.setattr(tuner_module, "HEARTBEAT_S", 0.05)
    seen = []

    def slow(hp):
        seen.append(store.job("beat").updated_at)
        time.sleep(0.5)
        seen.append(store.job("beat").updated_at)
        return hp["x"]

    tuner(slow, store, max_jobs=1, strategy="Random", random_seed=0).fit(job_name="beat")
    assert seen[1] > seen[0]


def test_a_job_the_tuner_itself_failed_resumes_keeping_its_trials(store, monkeypatch):
    """An error of the tuner's own (a full disk while a trial is recorded) fails the job as a
    crash would end it; a Failed job was refused for good, and now resumes to max_jobs."""
    import sqlite3

    original, calls = Store.finish_trial, []

    def full_disk(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise sqlite3.OperationalError("database or disk is full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "finish_trial", full_disk)
    make = lambda: tuner(lambda hp: hp["x"], store, max_jobs=6, strategy="Random", random_seed=0)
    with pytest.raises(sqlite3.OperationalError):
        make().fit(job_name="disk")
    monkeypatch.undo()
    job = store.job("disk")
    assert job.status == "Failed" and "database or disk is full" in job.status_reason
    done = {tr.index: tr.objective for tr in store.trials("disk") if tr.status == "Completed"}
    assert len(done) == 2
    HyperparameterTuner.attach("disk", store=store, estimator=lambda hp: hp["x"]).resume()
    trials = store.trials("disk")
    assert store.job("disk").status == "Completed" and len(trials) == 6
    assert {tr.index: tr.objective for tr in trials if tr.index in done} == done  # kept as they were


def test_name_collisions(store):
    tuner(lambda hp: hp["x"], store, max_jobs=2, strategy="Random", random_seed=0).fit(job_name="once")
    with pytest.raises(JobExistsError, match="'once' already exists and is Completed"):
        tuner(lambda hp: hp["x"], store, max_jobs=2, strategy="Random", random_seed=0).fit(job_name="once")
    with pytest.raises(JobExistsError, match="different configuration \\(differs in max_jobs\\)"):
        tuner(lambda hp: hp["x"], store, max_jobs=3, strategy="Random", random_seed=0).fit(job_name="once")
    with pytest.raises(ValueError, match="invalid job name"):
        tuner(lambda hp: hp["x"], store).fit(job_name="bad name")
    assert len(store.trials("once")) == 2


def sphere(hp):
    return (hp["a"] - 0.2) ** 2 + (hp["b"] - 3) ** 2 / 10 + (0.0 if hp["c"] == "red" else 0.3)


MIXED = {"a": ContinuousParameter(0.0, 1.0), "b": IntegerParameter(1, 8), "c": CategoricalParameter(["red", "green", "blue"])}


@pytest.mark.parametrize("strategy", ["Bayesian", "Random"])
def test_same_seed_gives_the_same_trials(store, strategy):
    runs = []
    for name, seed in (("s1", 11), ("s2", 11), ("s3", 12)):
        tuner(sphere, store, MIXED, max_jobs=12, strategy=strategy, random_seed=seed).fit(job_name=name)
        runs.append([tr.hyperparameters for tr in store.trials(name)])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_parallel_threads_run_batches_that_account_for_running_trials(store):
    lock, active, peak = threading.Lock(), [0], [0]

    def slow(hp):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return branin(hp)

    tuner(slow, store, BRANIN_SPACE, max_jobs=16, max_parallel_jobs=4, random_seed=0).fit(job_name="par")
    trials = store.trials("par")
    assert len(trials) == 16 and peak[0] == 4
    points = [tuple(tr.hyperparameters.values()) for tr in trials]
    assert len(set(points)) == 16  # no running point proposed twice
    # Trials were started in batches: trial 4 starts only after one of trials 0-3 ended.
    assert trials[4].start_time >= min(tr.end_time for tr in trials[:4])


def test_process_executor_runs_trials_in_other_processes(store):
    sys.path.insert(0, str(TESTS))
    import trial_functions

    t = tuner(trial_functions.branin_trial, store, BRANIN_SPACE, max_jobs=4, max_parallel_jobs=2, strategy="Random", executor="processes")
    t.fit(job_name="procs")
    trials = store.trials("procs")
    assert [tr.status for tr in trials] == ["Completed"] * 4
    assert all(tr.metrics["pid"] != os.getpid() for tr in trials)
    tuner(trial_functions.crash_process, store, max_jobs=1, strategy="Random", executor="processes").fit(job_name="crash")
    (tr,) = store.trials("crash")
    assert tr.status == "Failed" and tr.failure_reason == "the trial's process died (exit code 3)"
    with pytest.raises(ValueError, match="picklable"):
        tuner(lambda hp: 0.0, store, executor="processes")


def test_grid_strategy_runs_every_combination_once(store):
    space = {"opt": CategoricalParameter(["sgd", "adam"]), "bs": CategoricalParameter([32, 64, 128])}
    t = tuner(lambda hp: hp["bs"] / (2 if hp["opt"] == "adam" else 1), store, space, strategy="Grid", max_jobs=50)
    t.fit(job_name="grid")
    combos = [(tr.hyperparameters["opt"], tr.hyperparameters["bs"]) for tr in store.trials("grid")]
    assert sorted(combos) == sorted((o, b) for o in ("sgd", "adam") for b in (32, 64, 128))
    assert t.best_trial().hyperparameters == {"opt": "adam", "bs": 32}


def test_static_hyperparameters_reach_the_trial_but_are_not_tuned(store):
    seen = []
    tuner(lambda hp: seen.append(dict(hp)) or hp["x"], store, max_jobs=2, strategy="Random", static_hyperparameters={"epochs": 3, "dataset": "cifar10"}).fit(job_name="static")
    assert all(s["epochs"] == 3 and s["dataset"] == "cifar10" for s in seen)
    assert all(set(tr.hyperparameters) == {"x"} for tr in store.trials("static"))
    assert store.job("static").config["static_hyperparameters"] == {"epochs": 3, "dataset": "cifar10"}


def test_completion_criteria(store):
    t = tuner(lambda hp: hp["x"], store, max_jobs=50, strategy="Random", random_seed=0, completion_criteria={"TargetObjectiveMetricValue": 0.1})
    t.fit(job_name="target")
    values = [tr.objective for tr in store.trials("target")]
    assert values[-1] <= 0.1 and all(v > 0.1 for v in values[:-1]) and len(values) < 50
    assert store.job("target").status_reason.startswith("target objective value 0.1 reached")
    crit = CompletionCriteria(max_trials_not_improving=4)
    tuner(lambda hp: 1.0, store, max_jobs=50, strategy="Random", completion_criteria=crit).fit(job_name="flat")
    assert len(store.trials("flat")) == 5  # the first sets the best; four more do not improve it
    assert store.job("flat").status_reason == "best objective not improved in 4 completed trials"


def test_early_stopping_auto_stops_poor_trials_with_the_median_rule(store):
    sys.path.insert(0, str(TESTS))
    import trial_functions

    t = tuner(trial_functions.quadratic_with_curve, store, max_jobs=30, strategy="Random", random_seed=4, early_stopping_type="Auto")
    t.fit(job_name="es")
    trials = store.trials("es")
    stopped = [tr for tr in trials if tr.status == "Stopped"]
    completed = [tr for tr in trials if tr.status == "Completed"]
    assert stopped and completed
    for tr in stopped:
        assert tr.failure_reason.startswith("early stopped by the median rule at step")
        assert len(tr.intermediate) < 10 and tr.objective == tr.intermediate[-1][1]
    assert t.best_trial().status == "Completed"
    # Stopped trials are the poor ones: on average far from the optimum at 0.3.
    mean_gap = lambda ts: sum(abs(tr.hyperparameters["x"] - 0.3) for tr in ts) / len(ts)
    assert mean_gap(stopped) > mean_gap(completed)
    off = tuner(trial_functions.quadratic_with_curve, store, max_jobs=10, strategy="Random", random_seed=4)
    off.fit(job_name="no-es")
    assert set(statuses(store, "no-es")) == {"Completed"}


def test_a_trial_past_its_runtime_fails_and_the_job_goes_on(store):
    def slow_for_large_x(hp, report):
        for step in range(200 if hp["x"] > 0.5 else 1):
            report(step, 1.0)
            time.sleep(0.02)
        return hp["x"]

    t = tuner(slow_for_large_x, store, max_jobs=6, strategy="Random", random_seed=3, max_runtime_in_seconds=0.5)
    t.fit(job_name="timeouts")
    trials = store.trials("timeouts")
    for tr in trials:
        if tr.hyperparameters["x"] > 0.5:
            assert tr.status == "Failed" and tr.failure_reason == "timed out after 0.5 s"
        else:
            assert tr.status == "Completed"
    assert any(tr.status == "Failed" for tr in trials) and len(trials) == 6


def test_ctrl_c_stops_the_job_cleanly_and_fit_resumes_it(store):
    # A process started in the background may ignore SIGINT, and then interrupt_main()
    # does nothing: give this test Python's own handler, as an interactive run has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_then_resume(store)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_then_resume(store):
    calls = [0]

    def interrupting(hp):
        calls[0] += 1
        if calls[0] == 4:
            _thread.interrupt_main()  # what Ctrl-C does to the main thread
            time.sleep(1.0)
        return (hp["x"] - 0.3) ** 2

    t = tuner(interrupting, store, max_jobs=8, random_seed=0)
    with pytest.raises(KeyboardInterrupt):
        t.fit(job_name="ctrl-c")
    assert store.job("ctrl-c").status == "Stopped"
    before = store.trials("ctrl-c")
    assert [tr.status for tr in before] == ["Completed"] * 3 + ["Stopped"]
    assert before[3].failure_reason == "stopped by Ctrl-C with the tuning job"
    t.fit(job_name="ctrl-c")
    after = store.trials("ctrl-c")
    assert len(after) == 8 and store.job("ctrl-c").status == "Completed"
    assert after[:4] == before


def test_stop_from_another_thread_and_attach(store):
    def slow(hp):
        time.sleep(0.1)
        return hp["x"]

    t = tuner(slow, store, max_jobs=100, strategy="Random", random_seed=0)
    t.fit(job_name="bg", wait=False)
    while sum(s == "Completed" for s in statuses(store, "bg")) < 3:
        time.sleep(0.05)
    HyperparameterTuner.attach("bg", store=store).stop()  # as another process would, through the store
    t.wait()
    job = store.job("bg")
    assert job.status == "Stopped" and job.status_reason == "stopped on request"
    n = len(store.trials("bg"))
    assert 3 <= n < 100
    attached = HyperparameterTuner.attach("bg", store=store)
    assert attached.describe()["HyperParameterTuningJobStatus"] == "Stopped"
    with pytest.raises(ValueError, match="attach with estimator= to resume it"):
        attached.resume()
    resumed = HyperparameterTuner.attach("bg", store=store, estimator=slow, progress=False)
    resumed.max_jobs = n + 2  # not stored: the stored config must match
    with pytest.raises(JobExistsError, match="differs in max_jobs"):
        resumed.resume()


def _completed(store_path, name):
    store = Store(store_path)
    try:
        return [tr for tr in store.trials(name) if tr.status == "Completed"]
    except KeyError:
        return []
    finally:
        store.close()


def test_resume_after_kill_9_loses_no_finished_trial(tmp_path):
    path = str(tmp_path / "store.db")
    env = dict(os.environ, TRIAL_SLEEP_S="0.4")
    proc = subprocess.Popen([sys.executable, str(TESTS / "run_job.py"), path, "killed", "Bayesian", "10"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(_completed(path, "killed")) < 5:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = Store(path)
    before = store.trials("killed")
    done_before = [tr for tr in before if tr.status == "Completed"]
    assert store.job("killed").status == "InProgress" and len(done_before) >= 5
    sys.path.insert(0, str(TESTS))
    from run_job import make_tuner

    os.environ["TRIAL_SLEEP_S"] = "0"
    try:
        make_tuner(path, "Bayesian", 10).fit(job_name="killed")
    finally:
        del os.environ["TRIAL_SLEEP_S"]
    after = store.trials("killed")
    assert len(after) == 10 and all(tr.status == "Completed" for tr in after)
    assert store.job("killed").status == "Completed"
    for tr in done_before:  # finished trials kept exactly, not re-run
        assert after[tr.index] == tr
    rerun = [tr for tr in before if tr.status == "InProgress"]
    for tr in rerun:  # a trial cut off by the kill is re-run with its hyperparameters
        assert after[tr.index].hyperparameters == tr.hyperparameters and after[tr.index].start_time > tr.start_time


def test_two_processes_run_different_jobs_on_one_store(tmp_path):
    path = str(tmp_path / "store.db")
    env = dict(os.environ, TRIAL_SLEEP_S="0.02")
    procs = [
        subprocess.Popen([sys.executable, str(TESTS / "run_job.py"), path, f"job-{k}", "Random", "25"], env=env, stderr=subprocess.PIPE, text=True)
        for k in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    store = Store(path)
    for k in range(2):
        assert store.job(f"job-{k}").status == "Completed"
        assert statuses(store, f"job-{k}") == ["Completed"] * 25
    # Same seed, same strategy: the two jobs drew the same points, each recorded once per job.
    assert [t.hyperparameters for t in store.trials("job-0")] == [t.hyperparameters for t in store.trials("job-1")]


def test_a_process_trial_past_its_runtime_is_killed(store, monkeypatch):
    sys.path.insert(0, str(TESTS))
    import trial_functions

    monkeypatch.setenv("TRIAL_SLEEP_S", "60")  # inherited by the spawned trial process
    start = time.monotonic()
    tuner(trial_functions.slow_branin, store, BRANIN_SPACE, max_jobs=1, strategy="Random", executor="processes", max_runtime_in_seconds=2).fit(job_name="p-timeout")
    assert time.monotonic() - start < 45
    (tr,) = store.trials("p-timeout")
    assert tr.status == "Failed" and tr.failure_reason == "timed out after 2 s"


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from warmstart_bo.tuner import _NoBar, _progress_bar

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert isinstance(_progress_bar(True, 10, 0, "job"), _NoBar)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = _progress_bar(True, 10, 3, "job")
    assert not isinstance(bar, _NoBar) and bar.n == 3 and bar.total == 10
    bar.close()
    assert isinstance(_progress_bar(False, 10, 0, "job"), _NoBar)


def test_a_job_name_with_a_trailing_newline_is_refused(store):
    with pytest.raises(ValueError, match="invalid job name 'ok-name\\\\n'"):
        tuner(lambda hp: hp["x"], store).fit(job_name="ok-name\n")
    assert store.jobs() == []


def test_a_report_with_a_non_finite_step_fails_the_trial_not_the_job(store):
    def bad_report(hp, report):
        report(1, hp["x"])
        if hp["x"] > 0.5:
            report(float("nan"), hp["x"])
        return hp["x"]

    t = tuner(bad_report, store, max_jobs=6, strategy="Random", random_seed=3)
    t.fit(job_name="bad-step")
    job, trials = store.job("bad-step"), store.trials("bad-step")
    assert job.status == "Completed" and len(trials) == 6
    failed = [tr for tr in trials if tr.status == "Failed"]
    assert failed and all(tr.hyperparameters["x"] > 0.5 for tr in failed)
    assert all("report step must be a finite number, got nan" in tr.failure_reason for tr in failed)
    assert all(tr.status == "Completed" for tr in trials if tr.hyperparameters["x"] <= 0.5)


def test_numpy_values_are_converted_and_non_finite_settings_refused(store):
    import numpy as np

    space = {"n": IntegerParameter(np.int64(1), np.int64(4)), "c": CategoricalParameter([np.float32(0.5), np.int64(2)])}
    t = tuner(lambda hp: float(hp["n"]) + hp["c"] + hp["w"], store, space, max_jobs=3, strategy="Random", random_seed=np.int64(5),
              static_hyperparameters={"w": np.float64(0.25), "k": np.int64(7)}, max_runtime_in_seconds=np.float32(30))
    t.fit(job_name="numpy")
    c = store.job("numpy").config
    assert c["static_hyperparameters"] == {"w": 0.25, "k": 7} and c["max_runtime_in_seconds"] == 30.0
    assert c["random_seed"] == 5 and store.job("numpy").random_seed == 5
    assert c["hyperparameter_ranges"]["c"]["values"] == [0.5, 2]
    assert [tr.status for tr in store.trials("numpy")] == ["Completed"] * 3
    with pytest.raises(ValueError, match="static hyperparameter 'w' must be finite, got nan"):
        tuner(lambda hp: 0.0, store, static_hyperparameters={"w": float("nan")})
    with pytest.raises(ValueError, match="static hyperparameter 'w' must be finite"):
        tuner(lambda hp: 0.0, store, static_hyperparameters={"w": np.float32("inf")})
    with pytest.raises(ValueError, match="max_runtime_in_seconds must be a positive finite number, got inf"):
        tuner(lambda hp: 0.0, store, max_runtime_in_seconds=float("inf"))
    with pytest.raises(ValueError, match="max_runtime_in_seconds must be a positive finite number, got True"):
        tuner(lambda hp: 0.0, store, max_runtime_in_seconds=True)
    # The store keeps seeds as signed 64-bit integers and settings as JSON (string keys): a
    # larger seed or a non-string name was accepted here and failed at fit(), or on resume.
    with pytest.raises(ValueError, match=r"random_seed must be an integer in \[0, 2\*\*63\), got 9223372036854775808"):
        tuner(lambda hp: 0.0, store, random_seed=2**63)
    with pytest.raises(ValueError, match="static hyperparameter names must be strings, got 1"):
        tuner(lambda hp: 0.0, store, static_hyperparameters={1: 2})


def test_a_second_run_of_a_job_running_in_this_process_is_refused(store):
    """Re-running a notebook cell starts a second run of a job in the same process: the
    lease is per tuner run, so it is refused and the first run finishes untouched."""
    from warmstart_bo.store import JobRunningError

    def slow(hp):
        time.sleep(0.15)
        return hp["x"]

    first = tuner(slow, store, max_jobs=6, max_parallel_jobs=2, strategy="Random", random_seed=0)
    first.fit(job_name="cell", wait=False)
    while not store.trials("cell"):
        time.sleep(0.02)
    again = tuner(slow, store, max_jobs=6, max_parallel_jobs=2, strategy="Random", random_seed=0)
    with pytest.raises(JobRunningError, match="'cell' is already running in this process"):
        again.fit(job_name="cell")
    with pytest.raises(JobRunningError, match="already running in this process"):
        HyperparameterTuner.attach("cell", store=store, estimator=slow, progress=False).resume()
    first.wait()
    job, trials = store.job("cell"), store.trials("cell")
    assert job.status == "Completed" and [tr.status for tr in trials] == ["Completed"] * 6
    assert all(tr.attempts == 1 and tr.objective == tr.hyperparameters["x"] for tr in trials)
    # Once the run has ended, the lease is released: the job is finished, not running.
    with pytest.raises(JobExistsError, match="already exists and is Completed"):
        again.fit(job_name="cell")


def test_a_failed_start_releases_the_lease(store):
    t = tuner(lambda hp: hp["x"], store, max_jobs=2, warm_start_config={"parents": ["ghost"], "warm_start_type": "TransferLearning"})
    with pytest.raises(Exception, match="'ghost' does not exist"):
        t.fit(job_name="no-parent")
    from warmstart_bo.tuner import _RUNNING

    assert not _RUNNING


def renamed_objective(hp):
    """The same objective as another script would define it: another module and name."""
    return hp["x"]


def test_attach_with_another_callable_resumes_and_records_the_replacement(store):
    def first_script(hp):
        time.sleep(0.1)
        return hp["x"]

    t = tuner(first_script, store, max_jobs=6, strategy="Random", random_seed=1)
    t.fit(job_name="moved", wait=False)
    while not any(s == "Completed" for s in statuses(store, "moved")):
        time.sleep(0.02)
    t.stop()
    t.wait()
    assert store.job("moved").status == "Stopped"
    old = store.job("moved").config["estimator"]
    HyperparameterTuner.attach("moved", store=store, estimator=renamed_objective, progress=False).resume()
    job = store.job("moved")
    assert job.status == "Completed" and len(store.trials("moved")) == 6
    assert job.config["estimator"] == {"type": "callable", "name": f"{__name__}.renamed_objective"}
    (replaced,) = job.config["estimator_history"]
    assert replaced["estimator"] == old and replaced["replaced_at"] <= job.end_time


def test_a_command_line_cannot_replace_python_code(store):
    t = tuner(lambda hp: hp["x"], store, max_jobs=4, strategy="Random", random_seed=1)
    t.fit(job_name="kind", wait=False)
    t.stop()
    t.wait()
    from warmstart_bo import CommandLineEstimator

    cmd = CommandLineEstimator(["python", "train.py"], [{"Name": "loss", "Regex": "loss=(.*)"}])
    with pytest.raises(JobExistsError, match="differs in estimator kind: the job ran Python code, not a command line"):
        HyperparameterTuner.attach("kind", store=store, estimator=cmd, progress=False).resume()
    assert store.job("kind").status == "Stopped"


def test_resuming_a_completed_job_does_nothing_and_says_so(store, caplog):
    tuner(renamed_objective, store, max_jobs=2, strategy="Random", random_seed=0).fit(job_name="done")
    before = store.trials("done")
    with caplog.at_level("WARNING", logger="warmstart_bo.tuner"):
        HyperparameterTuner.attach("done", store=store, estimator=renamed_objective, progress=False).resume()
    assert "tuning job 'done' is already Completed" in caplog.text
    assert "choose another job_name" not in caplog.text
    assert store.trials("done") == before and store.job("done").status == "Completed"


def test_a_script_without_a_main_guard_does_not_start_a_job_from_each_process_trial(tmp_path):
    """executor="processes" starts each trial by importing the main script; one that runs
    the tuner at import started a job from every trial, each a new job in the store. The
    trial's process now stops with the idiom to use, and the store holds the one job."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from warmstart_bo import ContinuousParameter, HyperparameterTuner\n"
        "def f(hp):\n    return hp['x']\n"
        f"HyperparameterTuner(f, 'obj', {{'x': ContinuousParameter(0, 1)}}, max_jobs=1, strategy='Random', random_seed=0, progress=False,\n"
        f"                    store={str(tmp_path / 's.db')!r}, executor='processes').fit()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert 'put the tuning code under if __name__ == "__main__":' in out.stderr
    jobs = Store(tmp_path / "s.db").jobs()
    assert len(jobs) == 1 and [t.status for t in Store(tmp_path / "s.db").trials(jobs[0].name)] == ["Failed"]


def test_a_process_or_ray_trial_that_interrupts_itself_fails_with_its_reason_and_a_lingering_worker_holds_nothing(store, tmp_path):
    """A KeyboardInterrupt raised by a trial's own code fails it with that reason in a trial
    process and in a Ray worker, as in a thread (before: "the trial's process died (exit
    code 1)", and Ray called it a cancelled task). A worker that lingers after sending its
    result (a non-daemon thread) is ended at once: before, the tuner's loop waited 5 s
    for it, and the other trials, timeouts included, waited with it."""
    from warmstart_bo.estimators import as_estimator
    from warmstart_bo.executors import ProcessExecutor, _ray_trial

    sys.path.insert(0, str(TESTS))
    import trial_functions

    reporter = {"objective_metric_name": "loss"}
    executor = ProcessExecutor()
    executor.EXIT_GRACE_S = 3.0
    mark = tmp_path / "exited"
    executor.submit("interrupts", as_estimator(trial_functions.interrupts_itself), {}, reporter)
    executor.submit("lingers", as_estimator(trial_functions.lingers_after_its_result), {}, reporter)
    executor.submit("marks", as_estimator(trial_functions.leaves_a_mark_at_exit), {"mark": str(mark)}, reporter)
    results, slowest = {}, 0.0
    deadline = time.monotonic() + 60
    while len(results) < 3 and time.monotonic() < deadline:
        start = time.monotonic()
        results.update(executor.wait(0.05))
        slowest = max(slowest, time.monotonic() - start)
    lingering = [proc for proc, _, _ in executor._exiting if proc.name == "trial-lingers"]
    executor.shutdown()
    assert results["interrupts"]["status"] == "Failed"
    assert results["interrupts"]["failure_reason"] == "KeyboardInterrupt: raised by the trial"
    assert results["lingers"]["status"] == "Completed" and results["marks"]["status"] == "Completed"
    assert slowest < 2.0
    # A trial's process exits in its own time, its exit handlers run (ending it through its
    # lifeline at once skipped them), and one that lingers past its grace is ended.
    assert mark.exists()
    assert lingering and not lingering[0].is_alive() and executor._exiting == []
    ray_result = _ray_trial(as_estimator(trial_functions.interrupts_itself), {}, reporter)
    assert ray_result["failure_reason"] == "KeyboardInterrupt: raised by the trial"
    with pytest.raises(ValueError, match=r"<lambda> at 0x\w+> is not"):  # the user's estimator, not our adapter
        tuner(lambda hp: 0.0, store, executor="processes")


class _PopulationOfOne:
    """A population estimator that refuses x > 0.5 (in population_key, where the harness
    checks hyperparameters), or else returns one result fewer than its members."""

    def __init__(self, short=False):
        self.short = short

    def population_key(self, hp):
        if hp["x"] > 0.5 and not self.short:
            raise ValueError(f"hyperparameter 'x': {hp['x']} is too large")
        return 0

    def fit(self, hp):
        return hp["x"]

    def fit_population(self, hps, report=None):
        return [hp["x"] for hp in hps][: -1 if self.short else None]


@pytest.mark.parametrize("short", [False, True])
def test_the_population_executor_fails_a_trial_its_estimator_refuses_never_the_job_nor_waits_forever(store, short):
    """A refused value failed the whole job ("tuner error", the other trials stopped); a
    fit_population with too few results left the job waiting for the missing ones forever."""
    t = tuner(_PopulationOfOne(short), store, max_jobs=6, max_parallel_jobs=3, strategy="Random", random_seed=0, executor="population")
    t.fit(job_name="pop", wait=False)
    t._thread.join(20)
    assert not t._thread.is_alive(), "the job waited for results that never came"
    t.wait()
    trials = store.trials("pop")
    assert store.job("pop").status in ("Completed", "Failed") and len(trials) == 6
    for tr in trials:
        if tr.hyperparameters["x"] > 0.5 and not short:
            assert tr.status == "Failed" and tr.failure_reason == f"ValueError: hyperparameter 'x': {tr.hyperparameters['x']} is too large"
        elif short:
            assert tr.status == "Failed" and tr.failure_reason.startswith("fit_population returned ")
        else:
            assert tr.status == "Completed" and tr.objective == tr.hyperparameters["x"]
