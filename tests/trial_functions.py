"""Module-level trial functions for tests that run trials in other processes.

A spawned process receives an estimator by reference (module and name), so these live in an
importable module rather than inside test functions.
"""

import math
import os
import time

from warmstart_bo.testfunctions import branin


def branin_trial(hyperparameters):
    return {"loss": branin(hyperparameters), "pid": float(os.getpid())}


def slow_branin(hyperparameters):
    time.sleep(float(os.environ.get("TRIAL_SLEEP_S", "0.3")))
    return branin(hyperparameters)


def crash_process(hyperparameters):
    os._exit(3)


def quadratic_with_curve(hyperparameters, report):
    """A loss curve that decays towards (x - 0.3)^2 over 10 steps."""
    final = (hyperparameters["x"] - 0.3) ** 2
    for step in range(1, 11):
        report(step, final + math.exp(-step / 3.0))
    return final


def pid_then_sleep(hyperparameters):
    """Writes this trial process's pid to $TRIAL_PID_FILE, then runs far past any test."""
    with open(os.environ["TRIAL_PID_FILE"], "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(120)
    return 0.0


def interrupts_itself(hyperparameters):
    raise KeyboardInterrupt("raised by the trial")


def lingers_after_its_result(hyperparameters):
    """Returns at once but leaves a non-daemon thread, which keeps its process from exiting."""
    import threading

    threading.Thread(target=time.sleep, args=(30,)).start()
    return 0.5


def leaves_a_mark_at_exit(hyperparameters):
    """Registers an exit handler (as loggers and experiment trackers do) that writes a file."""
    import atexit

    atexit.register(lambda: open(hyperparameters["mark"], "w").close())
    return 0.25
