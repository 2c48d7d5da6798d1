"""Runs one tuning job in its own process, for the kill -9 and shared-store tests.

usage: python run_job.py STORE JOB_NAME STRATEGY MAX_JOBS
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from trial_functions import slow_branin

from warmstart_bo import HyperparameterTuner
from warmstart_bo.testfunctions import BRANIN_SPACE


def make_tuner(store: str, strategy: str, max_jobs: int) -> HyperparameterTuner:
    return HyperparameterTuner(
        slow_branin, "loss", BRANIN_SPACE, objective_type="Minimize", max_jobs=max_jobs,
        strategy=strategy, random_seed=5, store=store, progress=False,
    )


if __name__ == "__main__":
    store, name, strategy, max_jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    make_tuner(store, strategy, max_jobs).fit(job_name=name)
