"""Trials as Ray tasks: a local Ray of 2 CPUs, a worker killed mid-trial, stored settings."""

import os
import signal
import threading
import time

import pytest
import ray

from warmstart_bo import ContinuousParameter, HyperparameterTuner, Store
from warmstart_bo.executors import RayExecutor
from warmstart_bo.testfunctions import branin

RANGES = {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15)}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_job_runs_its_trials_on_ray(local_ray, tmp_path):
    store = Store(tmp_path / "s.db")

    def trial(hp):
        time.sleep(0.2)
        return {"loss": branin(hp), "pid": float(os.getpid())}

    tuner = HyperparameterTuner(trial, "loss", RANGES, max_jobs=8, max_parallel_jobs=2, random_seed=0, store=store, executor="ray", progress=False)
    tuner.fit(job_name="on-ray")
    trials = store.trials("on-ray")
    assert [t.status for t in trials] == ["Completed"] * 8
    for t in trials:
        assert t.objective == pytest.approx(branin(t.hyperparameters))
        assert t.metrics["pid"] != os.getpid()  # ran in a Ray worker, not here
    starts = sorted(t.start_time for t in trials)
    ends = sorted(t.end_time for t in trials)
    assert starts[1] < ends[0]  # two at a time
    assert store.job("on-ray").config["executor"] == "ray"


@pytest.mark.parametrize("retries", [1, 0])
def test_a_killed_worker_fails_its_trial_and_the_job_goes_on(local_ray, tmp_path, retries):
    """The first trial to start writes its worker's pid and hangs; this test kills that
    worker. Its trial comes back Failed (or is retried), and the job completes."""
    store = Store(tmp_path / "s.db")
    marker = tmp_path / "victim.pid"

    def trial(hp):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return branin(hp)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        time.sleep(120)
        return branin(hp)

    def kill_victim():
        deadline = time.time() + 120
        while time.time() < deadline:
            if marker.exists() and marker.read_text():
                os.kill(int(marker.read_text()), signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_victim)
    killer.start()
    tuner = HyperparameterTuner(
        trial, "loss", RANGES, max_jobs=8, max_parallel_jobs=2, random_seed=1, store=store,
        executor=RayExecutor(num_cpus=1), max_retry_attempts=retries, progress=False,
    )
    tuner.fit(job_name="killed")
    killer.join()
    assert store.job("killed").config["executor"] == {"kind": "ray", "address": None, "num_cpus": 1, "num_gpus": 0, "resources": {}, "init_options": {}}
    assert isinstance(HyperparameterTuner.attach("killed", store=store, estimator=trial).executor, dict)  # a resumed job runs on Ray again
    trials = store.trials("killed")
    assert len(trials) == 8 and store.job("killed").status == "Completed"
    if retries:  # the victim ran again, and the second attempt completed
        assert [t.attempts for t in trials].count(2) == 1 and all(t.status == "Completed" for t in trials)
    else:
        failed = [t for t in trials if t.status == "Failed"]
        assert len(failed) == 1 and "Ray worker" in failed[0].failure_reason, [t.failure_reason for t in trials]
        assert sum(t.status == "Completed" for t in trials) == 7


def test_ray_executor_settings_are_checked():
    with pytest.raises(ValueError, match="num_gpus must be a non-negative number"):
        RayExecutor(num_gpus=-1)
    with pytest.raises(ValueError, match="executor must be one of"):
        HyperparameterTuner(branin, "loss", RANGES, executor="dask")
