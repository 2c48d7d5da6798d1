"""Analytics of a stored tuning job: a table of trials, a description, and the usual plot.

Column names follow SageMaker's ``HyperparameterTuningJobAnalytics``, so existing notebooks
read our tables unchanged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from warmstart_bo.store import Store, TrialRecord

STATUSES = ("Completed", "InProgress", "Failed", "Stopped")


def best_trial(trials: Sequence[TrialRecord], objective_type: str) -> TrialRecord | None:
    """The completed trial with the best objective (the earliest one on ties)."""
    sign = 1.0 if objective_type == "Maximize" else -1.0
    done = [t for t in trials if t.status == "Completed" and t.objective is not None]
    if not done:
        return None
    return max(done, key=lambda t: (sign * t.objective, -t.index))


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).isoformat()


def _best_json(store: Store, job_name: str, trial: TrialRecord) -> dict[str, Any]:
    config = store.job(job_name).config
    return {
        "TuningJobName": job_name,
        "TrainingJobName": trial.name,
        "TrainingJobStatus": trial.status,
        "TunedHyperParameters": trial.hyperparameters,
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": config["objective_metric_name"],
            "Value": trial.objective,
            "Type": config["objective_type"],
        },
        "TrainingStartTime": _time(trial.start_time),
        "TrainingEndTime": _time(trial.end_time),
    }


def describe_job(store: Store, job_name: str) -> dict[str, Any]:
    """Status, trial counters, best trial, and the best over the job and all its parents."""
    job = store.job(job_name)
    trials = store.trials(job_name)
    counters = {s: sum(t.status == s for t in trials) for s in STATUSES}
    objective_type = job.config["objective_type"]
    best = best_trial(trials, objective_type)
    overall = (job_name, best)
    sign = 1.0 if objective_type == "Maximize" else -1.0
    for parent in store.iter_lineage(job_name):
        candidate = best_trial(store.trials(parent.name), objective_type)
        if candidate is not None and (overall[1] is None or sign * candidate.objective > sign * overall[1].objective):
            overall = (parent.name, candidate)
    return {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobStatus": job.status,
        "StatusReason": job.status_reason,
        "CreationTime": _time(job.created_at),
        "LastModifiedTime": _time(job.updated_at),
        "HyperParameterTuningEndTime": _time(job.end_time),
        "TrainingJobStatusCounters": counters,
        "BestTrainingJob": None if best is None else _best_json(store, job_name, best),
        "OverallBestTrainingJob": None if overall[1] is None else _best_json(store, overall[0], overall[1]),
        "HyperParameterTuningJobConfig": job.config,
        "RandomSeed": job.random_seed,
        "WarmStartParents": list(job.parents),
    }


class HyperparameterTuningJobAnalytics:
    """Results of one stored tuning job.

    Args:
      hyperparameter_tuning_job_name: the job's name.
      store: a :class:`Store`, a path or URL, or None for the default store.
    """

    def __init__(self, hyperparameter_tuning_job_name: str, store: Store | str | None = None):
        self.store = store if isinstance(store, Store) else Store(store)
        self.name = hyperparameter_tuning_job_name
        self.store.job(self.name)  # raises JobNotFoundError early

    def description(self) -> dict[str, Any]:
        return describe_job(self.store, self.name)

    def _jobs(self, include_parents: bool) -> list[str]:
        """Parents first (oldest ancestors first), then the job itself."""
        parents = [j.name for j in self.store.iter_lineage(self.name)] if include_parents else []
        return list(reversed(parents)) + [self.name]

    def dataframe(self, include_parents: bool = False):
        """One row per trial: the tuned hyperparameters, ``TrainingJobName``,
        ``TrainingJobStatus``, ``FinalObjectiveValue``, ``TrainingStartTime``,
        ``TrainingEndTime``, ``TrainingElapsedTimeSeconds`` and ``FailureReason``; with
        ``include_parents`` also the parents' trials and a ``TuningJobName`` column."""
        import pandas as pd

        rows = []
        for job in self._jobs(include_parents):
            for t in self.store.trials(job):
                row = dict(t.hyperparameters)
                row.update(
                    TrainingJobName=t.name,
                    TrainingJobStatus=t.status,
                    FinalObjectiveValue=math.nan if t.objective is None else t.objective,
                    TrainingStartTime=pd.to_datetime(t.start_time, unit="s", utc=True) if t.start_time else pd.NaT,
                    TrainingEndTime=pd.to_datetime(t.end_time, unit="s", utc=True) if t.end_time else pd.NaT,
                    TrainingElapsedTimeSeconds=(t.end_time - t.start_time) if t.end_time and t.start_time else math.nan,
                    FailureReason=t.failure_reason,
                )
                if include_parents:
                    row["TuningJobName"] = job
                rows.append(row)
        names = list(self.store.job(self.name).config["hyperparameter_ranges"])
        fixed = ["TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "TrainingStartTime", "TrainingEndTime", "TrainingElapsedTimeSeconds", "FailureReason"]
        if include_parents:
            fixed.append("TuningJobName")
        frame = pd.DataFrame(rows)
        extra = [c for c in frame.columns if c not in names and c not in fixed]
        return frame.reindex(columns=names + extra + fixed)

    def export_csv(self, path: str | os.PathLike, include_parents: bool = False) -> str:
        """Writes :meth:`dataframe` as CSV and returns the path."""
        self.dataframe(include_parents).to_csv(path, index=False)
        return os.fspath(path)

    def plot(self, path: str | os.PathLike, include_parents: bool = True) -> str:
        """Saves a PNG of the objective over trials: each job's trials in its own colour
        (parents first), and the best-so-far line over all of them."""
        from matplotlib.figure import (
            Figure,  # no pyplot: no global state, no GUI backend
        )

        config = self.store.job(self.name).config
        sign = 1.0 if config["objective_type"] == "Maximize" else -1.0
        fig = Figure(figsize=(7, 4.2), dpi=120)
        ax = fig.add_subplot()
        x0, best, best_xs, best_ys = 0, None, [], []
        for job in self._jobs(include_parents):
            trials = self.store.trials(job)
            xs = [x0 + i for i, t in enumerate(trials) if t.objective is not None]
            ys = [t.objective for t in trials if t.objective is not None]
            ax.scatter(xs, ys, s=18, label=job if job != self.name else f"{job} (this job)", alpha=0.85)
            for i, t in enumerate(trials):
                if t.status == "Completed" and t.objective is not None and (best is None or sign * t.objective > sign * best):
                    best = t.objective
                if best is not None:
                    best_xs.append(x0 + i)
                    best_ys.append(best)
            if include_parents and job != self.name:
                ax.axvline(x0 + len(trials) - 0.5, color="0.8", lw=0.8)
            x0 += len(trials)
        if best_xs:
            ax.step(best_xs, best_ys, where="post", color="black", lw=1.5, label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{config['objective_metric_name']} ({config['objective_type']})")
        ax.set_title(f"tuning job {self.name}")
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        fig.savefig(path, format="png")
        return os.fspath(path)
