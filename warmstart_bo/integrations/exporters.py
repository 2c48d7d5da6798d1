"""Stored jobs out to other tools: an Optuna study, or a CSV table (both import back as
warm-start parents with :mod:`warmstart_bo.integrations.importers`).

- :func:`export_optuna_study`: every finished trial of a job as an Optuna trial with the
  job's distributions: Completed as COMPLETE, Stopped (early-stopped) as PRUNED with its
  reported curve and its objective as the value (as Optuna's ``tell`` gives a pruned trial
  its last intermediate value; a trial without a curve gets its objective as a one-step
  curve, step 0, which Optuna's samplers read), Failed as FAIL. The trial's name, metrics
  and failure reason go in its user attributes. Optuna has no reverse-log scale: such a
  range becomes a linear one.
- :func:`export_csv`: the job's analytics table (SageMaker's columns), as
  ``HyperparameterTuningJobAnalytics(...).export_csv`` writes it, and beside it a JSON
  sidecar (``<path>.json``) with the objective's name and direction, the ranges and the
  static hyperparameters, and the table's SHA-256, which ``import_csv`` reads back while
  the table is unchanged.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from typing import Any

from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    Parameter,
    SearchSpace,
    ranges_from_json,
)
from warmstart_bo.store import Store


def optuna_distribution(name: str, param: Parameter, scaling: str):
    """The Optuna distribution of one of our ranges (``scaling`` resolved, not Auto)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(param, CategoricalParameter):
        return CategoricalDistribution(param.values)
    log = scaling == "Logarithmic"
    if isinstance(param, ContinuousParameter):
        return FloatDistribution(float(param.min_value), float(param.max_value), log=log)
    return IntDistribution(int(param.min_value), int(param.max_value), log=log)


def job_distributions(config: Mapping[str, Any]) -> dict[str, Any]:
    """A stored job's ranges (its ``config``) as Optuna distributions, by name."""
    ranges = ranges_from_json(config["hyperparameter_ranges"])
    scalings = SearchSpace(ranges).scalings
    return {n: optuna_distribution(n, p, scalings[n]) for n, p in ranges.items()}


def _when(seconds: float | None) -> datetime.datetime | None:
    return None if seconds is None else datetime.datetime.fromtimestamp(seconds)


def export_optuna_study(job_name: str, store: Store | str | None = None, storage: Any = None, study_name: str | None = None):
    """A new Optuna study holding the job's finished trials; returns it.

    ``storage`` is any Optuna storage (None: in memory; ``"sqlite:///study.db"`` to keep it);
    ``study_name`` defaults to the job's name.
    """
    import optuna
    from optuna.trial import TrialState, create_trial

    store = store if isinstance(store, Store) else Store(store)
    job = store.job(job_name)
    distributions = job_distributions(job.config)
    direction = "maximize" if job.config["objective_type"] == "Maximize" else "minimize"
    study = optuna.create_study(storage=storage, study_name=study_name or job_name, direction=direction)
    study.set_user_attr("warmstart_bo_job", job_name)
    study.set_user_attr("objective_metric_name", job.config["objective_metric_name"])
    static = job.config.get("static_hyperparameters") or {}
    if static:
        study.set_user_attr("static_hyperparameters", static)
    trials = []
    for t in store.trials(job_name):
        attrs = {"TrainingJobName": t.name, "metrics": t.metrics, "attempts": t.attempts}
        if t.failure_reason:
            attrs["FailureReason"] = t.failure_reason
        params = {n: t.hyperparameters[n] for n in distributions}
        common = {
            "params": params, "distributions": distributions, "user_attrs": attrs,
            "intermediate_values": {int(step): float(v) for step, v in t.intermediate},
        }
        if t.status == "Completed" and t.objective is not None:
            trial = create_trial(state=TrialState.COMPLETE, value=float(t.objective), **common)
        elif t.status == "Stopped" and t.objective is not None:
            if not common["intermediate_values"]:  # else the objective was lost: import reads a PRUNED trial's curve
                common["intermediate_values"] = {0: float(t.objective)}
            trial = create_trial(state=TrialState.PRUNED, value=float(t.objective), **common)
        elif t.status in ("Failed", "Stopped"):
            trial = create_trial(state=TrialState.FAIL, **common)
        else:
            continue  # still running: not a finished trial
        trial.datetime_start, trial.datetime_complete = _when(t.start_time), _when(t.end_time)
        trials.append(trial)
    study.add_trials(trials)
    return study


def export_csv(job_name: str, path: str | os.PathLike, store: Store | str | None = None, include_parents: bool = False) -> str:
    """The job's analytics table as CSV (importable with ``import_csv``); returns its path.

    Without ``include_parents`` a sidecar, ``<path>.json``, keeps the objective's name and
    direction, the ranges and the static hyperparameters, none of which the table holds, so
    that ``import_csv`` gives the job back as it was. With the parents' rows the table is
    several jobs (their own ranges, maybe the other direction): no sidecar is written, and
    one left from an earlier export is removed.
    """
    from warmstart_bo.analytics import HyperparameterTuningJobAnalytics
    from warmstart_bo.integrations.importers import csv_digest, csv_sidecar_path

    analytics = HyperparameterTuningJobAnalytics(job_name, store)
    out = analytics.export_csv(path, include_parents=include_parents)
    sidecar = csv_sidecar_path(out)
    if include_parents:
        if os.path.exists(sidecar):
            os.remove(sidecar)
        return out
    config = analytics.store.job(job_name).config
    keep = ("objective_metric_name", "objective_type", "hyperparameter_ranges", "static_hyperparameters")
    with open(sidecar, "w") as f:
        json.dump({"job": job_name, "csv_sha256": csv_digest(out), **{k: config.get(k) for k in keep}}, f, indent=1)
    return out
