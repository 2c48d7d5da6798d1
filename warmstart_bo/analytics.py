"""Analytics of a stored tuning job: a table of trials, a description, and the usual plot.

Column names follow SageMaker's ``HyperparameterTuningJobAnalytics``, so existing notebooks
read our tables unchanged.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from typing import Any

from warmstart_bo.store import Store, TrialRecord, existing_store

# The dataframe's columns besides the hyperparameters (TuningJobName with parents only): no
# hyperparameter may take one of these names.
COLUMNS = ("TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "TrainingStartTime", "TrainingEndTime",
           "TrainingElapsedTimeSeconds", "FailureReason", "TuningJobName")

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


def best_lines(description: dict[str, Any]) -> str:
    """The job's own best trial, and (when it differs) the best over the job and its parents,
    labelled so that a parent's values are not taken for the job's."""
    name = description["HyperParameterTuningJobName"]
    lines = [f"best trial of job {name}: {_trial(description['BestTrainingJob'])}"]
    overall = description["OverallBestTrainingJob"]
    if overall and overall["TuningJobName"] != name:
        ws = description["HyperParameterTuningJobConfig"].get("warm_start_config") or {}
        caveat = "; the parent is another task (TransferLearning): use the job's own best" if ws.get("warm_start_type") == "TransferLearning" else ""
        lines.append(f"best over the job and its parents (OverallBestTrainingJob), from parent job {overall['TuningJobName']}: {_trial(overall)}{caveat}")
    return "\n".join(lines)


def _trial(best: dict[str, Any] | None) -> str:
    if best is None:
        return "none completed"
    m = best["FinalHyperParameterTuningJobObjectiveMetric"]
    hp = ", ".join(f"{k}={_fmt(v)}" for k, v in best["TunedHyperParameters"].items())
    return f"{best['TrainingJobName']}, {m['MetricName']} = {_fmt(m['Value'])} with {hp}"


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


class HyperparameterTuningJobAnalytics:
    """Results of one stored tuning job.

    Args:
      hyperparameter_tuning_job_name: the job's name.
      store: a :class:`Store`, a path or URL, or None for the default store.
    """

    def __init__(self, hyperparameter_tuning_job_name: str, store: Store | str | None = None):
        self.store = existing_store(store)
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
        fixed = list(COLUMNS) if include_parents else [c for c in COLUMNS if c != "TuningJobName"]
        frame = pd.DataFrame(rows)
        extra = [c for c in frame.columns if c not in names and c not in fixed]
        return frame.reindex(columns=names + extra + fixed)

    def export_csv(self, path: str | os.PathLike, include_parents: bool = False) -> str:
        """Writes :meth:`dataframe` as CSV and returns the path. Categorical values are
        quoted, as SageMaker's analytics export quotes them (``"adam"``), so that
        ``import_csv`` reads a value such as ``"32"`` back as the string it was."""
        frame = self.dataframe(include_parents)
        for name, spec in self.store.job(self.name).config["hyperparameter_ranges"].items():
            if spec["type"] == "Categorical" and name in frame.columns:
                frame[name] = frame[name].map(lambda v: f'"{v}"' if isinstance(v, str) else v)
        frame.to_csv(path, index=False)
        return os.fspath(path)

    def plot(self, path: str | os.PathLike, include_parents: bool = True, compare: Sequence[str] = ()) -> str:
        """Saves :meth:`figure` as a PNG and returns the path."""
        self.figure(include_parents, compare).savefig(path, format="png")
        return os.fspath(path)

    def figure(self, include_parents: bool = True, compare: Sequence[str] = ()):
        """A matplotlib Figure of the objective over trials, with each job's own best so far.

        The job's trials (and those of the jobs named in ``compare``, a cold start of the
        same task, say) share the right-hand panel, drawn from trial 1, so the jobs compare
        trial for trial. With ``include_parents`` the parents' trials get a panel of their
        own (hollow markers, dashed best lines, their own scale): with transfer learning
        they come from other tasks, and a best line through them would hide the job's own.
        """
        from matplotlib.figure import (
            Figure,  # no pyplot: no global state, no GUI backend
        )
        from matplotlib.ticker import MaxNLocator

        config = self.store.job(self.name).config
        compare = [compare] if isinstance(compare, str) else list(compare)  # one name, not its letters
        sign = 1.0 if config["objective_type"] == "Maximize" else -1.0
        parents = self._jobs(True)[:-1] if include_parents else []
        fig = Figure(figsize=(11 if parents else 7, 4.8), dpi=120)
        axes = fig.subplots(1, 2 if parents else 1, squeeze=False, width_ratios=[1, 1.4] if parents else None)[0]
        for job in compare:
            other = self.store.job(job).config  # a wrong name raises JobNotFoundError before drawing
            # One axis and one direction of "best": another metric, or the other direction,
            # would be drawn on this job's scale with its best-so-far line upside down.
            for key in ("objective_metric_name", "objective_type"):
                if other[key] != config[key]:
                    raise ValueError(f"cannot compare job {job!r} with {self.name!r}: its objective is {other[key]!r}, not {config[key]!r}")
        panels = [(axes[-1], "this job" + (" and the jobs compared" if compare else ""), [
            _draw_job(axes[-1], self.store.trials(job), sign, f"C{k}", parent=False, label=f"{job} (this job)" if k == 0 else job)
            for k, job in enumerate([self.name, *compare])
        ])]
        if parents:
            panels.insert(0, (axes[0], "warm-start parents", [
                _draw_job(axes[0], self.store.trials(job), sign, colour, parent=True, label=job)
                for job, colour in zip(parents, itertools.cycle(_PARENT_COLOURS))
            ]))
        for ax, title, handles in panels:
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("trial (of its own job)")
            ax.set_ylabel(f"{config['objective_metric_name']} ({config['objective_type']})")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if _wide_positive_range(ax):
                ax.set_yscale("log")
            ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        fig.suptitle(f"tuning job {self.name}: trials (points) and each job's best so far (lines)", fontsize=10)
        fig.tight_layout()
        return fig


_PARENT_COLOURS = ["0.45", "tab:brown", "tab:olive", "tab:pink", "tab:cyan"]


def best_so_far(trials: Sequence[TrialRecord], sign: float) -> tuple[list[int], list[float]]:
    """Trial numbers (from 1) and the best completed objective up to each, from the first
    completed trial on; stopped and failed trials never set the best."""
    xs, ys, best = [], [], None
    for i, t in enumerate(trials, start=1):
        if t.status == "Completed" and t.objective is not None and (best is None or sign * t.objective > sign * best):
            best = t.objective
        if best is not None:
            xs.append(i)
            ys.append(best)
    return xs, ys


def _draw_job(ax, trials: Sequence[TrialRecord], sign: float, colour: str, parent: bool, label: str):
    """One job's trials as points (hollow for a parent) and its own best-so-far as a step
    line (dashed for a parent); returns the legend handle."""
    from matplotlib.lines import Line2D

    face, style = ("none", "--") if parent else (colour, "-")
    points = [(i, t.objective) for i, t in enumerate(trials, start=1) if t.objective is not None]
    if points:
        xs, ys = zip(*points)
        ax.scatter(xs, ys, s=20, facecolors=face, edgecolors=colour, alpha=0.85)
    bx, by = best_so_far(trials, sign)
    if bx:
        ax.step(bx, by, where="post", color=colour, lw=1.6, ls=style)
    return Line2D([], [], color=colour, ls=style, marker="o", markerfacecolor=face, label=label)


def _wide_positive_range(ax) -> bool:
    """Whether the plotted values are all positive and span more than two decades, where a
    log scale keeps the small differences between good trials visible."""
    values = [y for c in ax.collections for y in c.get_offsets()[:, 1]]
    values += [y for line in ax.get_lines() for y in line.get_ydata()]
    return bool(values) and min(values) > 0 and max(values) / min(values) > 100
