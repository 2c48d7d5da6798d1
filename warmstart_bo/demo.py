"""``warmstart-bo demo``: warm start in three short tuning jobs, told as they run.

A parent job on Branin; then a related task (another member of the Branin family) tuned with
TRANSFER_LEARNING from the parent; then the same task cold. Each trial prints a line as it
finishes. Most of the demo's time on a CPU is JAX compiling the GP at a job's first Bayesian
step, so the demo says when that is about to happen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warmstart_bo.analytics import best_lines, best_so_far
from warmstart_bo.store import Store


class _Narrator:
    """Prints one line per finished trial, and a note when the next trial is slow to come:
    the demo's objectives take microseconds, so a pause is the GP step, and a long one is
    JAX compiling it (at a job's first Bayesian step, and when the trials outgrow the GP's
    padded size)."""

    def __init__(self, say: Callable[[str], None], pause_s: float = 2.0):
        self.say, self.pause_s = say, pause_s
        self.last = time.monotonic()
        self.noted = True
        self._done = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="demo-narrator").start()

    def _watch(self) -> None:
        while not self._done.wait(0.25):
            if not self.noted and time.monotonic() - self.last > self.pause_s:
                self.noted = True
                self.say("  ... fitting the GP; JAX compiles it for this data size first (about 10-30 s on a CPU)")

    def job(self, fn: Callable[[dict], float], label: str, total: int) -> Callable[[dict], float]:
        """``fn`` reporting each trial: its value, the job's best so far, seconds since the last."""
        state: dict[str, Any] = {"n": 0, "best": None}
        self.last, self.noted = time.monotonic(), False

        def loss(params: dict) -> float:
            value = fn(params)
            now = time.monotonic()
            state["n"] += 1
            state["best"] = value if state["best"] is None else min(state["best"], value)
            self.say(f"  {label} trial {state['n']:2d}/{total}: loss {value:8.3f}, best {state['best']:8.3f}  (+{now - self.last:.1f} s)")
            self.last, self.noted = now, False
            return value

        return loss

    def close(self) -> None:
        self._done.set()


def run_demo(store: Store, trials: int, seed: int, plot: str | None, say: Callable[[str], None] = print) -> str:
    """Runs the three jobs, prints the warm job's table, the comparison and where the plot
    went; returns the warm job's name."""
    import pandas as pd

    from warmstart_bo.testfunctions import BRANIN_SPACE, branin, related_branin
    from warmstart_bo.tuner import HyperparameterTuner, name_from_base
    from warmstart_bo.warmstart import WarmStartConfig, WarmStartTypes

    stamp = name_from_base("demo")[len("demo-"):]
    names = {k: f"demo-{k}-{stamp}" for k in ("parent", "warm", "cold")}
    common = {"objective_type": "Minimize", "store": store, "progress": False}
    say(f"warm-start demo: three short tuning jobs in {store.path} (lower loss is better). Most of the time")
    say("goes to JAX compiling the GP on first use; a note shows during each such pause.")
    narrator = _Narrator(say)
    try:
        say(f"1/3 parent job {names['parent']}: {2 * trials} trials on Branin (a quasi-random design, then the GP)")
        parent = HyperparameterTuner(narrator.job(branin, "parent", 2 * trials), "loss", BRANIN_SPACE,
                                     max_jobs=2 * trials, random_seed=seed, **common)
        parent.fit(job_name=names["parent"])
        say(f"2/3 warm job {names['warm']}: {trials} trials on a related task, TRANSFER_LEARNING from the parent")
        warm = HyperparameterTuner(
            narrator.job(related_branin, "warm", trials), "loss", BRANIN_SPACE, max_jobs=trials, random_seed=seed + 1,
            warm_start_config=WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, [parent.tuning_job_name]), **common,
        )
        warm.fit(job_name=names["warm"])
        say(f"3/3 cold job {names['cold']}: the same related task, {trials} trials from scratch")
        cold = HyperparameterTuner(narrator.job(related_branin, "cold", trials), "loss", BRANIN_SPACE,
                                   max_jobs=trials, random_seed=seed + 1, **common)
        cold.fit(job_name=names["cold"])
    finally:
        narrator.close()

    say("\nTrials of the warm job and of its parent (parent first; TuningJobName says whose):")
    columns = ["TuningJobName", "TrainingJobName", "x1", "x2", "FinalObjectiveValue"]
    with pd.option_context("display.width", 200):
        say(warm.analytics().dataframe(include_parents=True)[columns].to_string(index=False))
    say("\nBest loss of each job's own trials after its 1st, 3rd and last trial:")
    say(f"  {'':27s} {'1st':>8s} {'3rd':>8s} {'last':>8s}   job")
    for tuner, label in ((parent, "parent (Branin)"), (warm, "warm start (related task)"), (cold, "cold start (related task)")):
        _, running = best_so_far(store.trials(tuner.tuning_job_name), -1.0)
        say(f"  {label:27s} {running[0]:8.3f} {running[min(2, len(running) - 1)]:8.3f} {running[-1]:8.3f}   {tuner.tuning_job_name}")
    say(best_lines(warm.describe()))
    plot = plot or str(store.path.parent / "plots" / f"{warm.tuning_job_name}.png")
    Path(plot).parent.mkdir(parents=True, exist_ok=True)
    say(f"plot (parent beside the warm and cold jobs) written to {warm.analytics().plot(plot, include_parents=True, compare=[cold.tuning_job_name])}")
    say(f"store: {store.path} (try: warmstart-bo --store {store.path} jobs list)")
    return warm.tuning_job_name
