"""Foreign histories as stored jobs, so that they can be named as warm-start parents.

- :func:`import_dataframe` / :func:`import_csv`: a table with one row per trial, such as a
  SageMaker ``HyperparameterTuningJobAnalytics`` export (hyperparameter columns plus
  ``TrainingJobName``, ``TrainingJobStatus``, ``FinalObjectiveValue``,
  ``TrainingStartTime``, ``TrainingEndTime``) or our own ``export_csv``.
- :func:`import_optuna_study`: a finished Optuna study (``pip install optuna``).

The imported job is stored Completed, with its ranges either given or inferred from the
values (integers, numbers, strings), and with the trials' statuses and times kept.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
    SearchSpace,
    ranges_from_json,
    ranges_to_json,
)
from warmstart_bo.store import IMPORTED, Store, validate_job_name


def csv_sidecar_path(path: str | os.PathLike) -> str:
    """Where ``export_csv`` keeps what a CSV of trials lacks (direction, ranges, static
    hyperparameters) and ``import_csv`` looks for it: ``<path>.json``."""
    return os.fspath(path) + ".json"


def csv_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes: a sidecar holds its table's, so that a table written
    over or edited since is not read with another table's direction and ranges."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# Columns of a SageMaker analytics export (and of ours) that are not hyperparameters.
SAGEMAKER_COLUMNS = (
    "TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "TrainingStartTime", "TrainingEndTime",
    "TrainingElapsedTimeSeconds", "TuningJobName", "FailureReason", "TrainingJobDefinitionName",
)


def _clean(value: Any) -> Any:
    """A cell as a plain JSON value: SageMaker quotes string hyperparameters ('"adam"'), so
    a quoted cell stays a string ('"32"' is the categorical value "32"), and an unquoted
    one that reads as a number is that number."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, str):
        v = value.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            return v[1:-1]
        for cast in (int, float):
            try:
                return cast(v)
            except ValueError:
                pass
        return v
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def infer_range(name: str, values: list[Any]) -> Parameter | None:
    """A range that holds every value: Integer, Continuous (Auto scaling) or Categorical.
    None for a column with one value (a fixed hyperparameter, not a tuned one)."""
    distinct = sorted(set(values), key=repr)
    if len(distinct) < 2:
        return None
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return IntegerParameter(min(values), max(values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return ContinuousParameter(float(min(values)), float(max(values)))
    return CategoricalParameter(distinct)


def _seconds(value: Any) -> float | None:
    """A time cell as Unix seconds: a number (or a cell of digits) is Unix seconds already
    (``pd.Timestamp`` reads a number as nanoseconds, and a numeric string as a year); a
    string is a date and time, UTC unless it says otherwise."""
    if isinstance(value, np.number):  # not a datetime64, whose item() may be nanoseconds
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and _is_number(value):
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    import pandas as pd

    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.timestamp()


def _store_job(
    store: Store, job_name: str, ranges: Mapping[str, Parameter], static: dict[str, Any], objective_metric_name: str,
    objective_type: str, rows: list[dict[str, Any]], source: dict[str, Any],
) -> str:
    validate_job_name(job_name)
    SearchSpace(ranges)
    config = {
        "objective_metric_name": objective_metric_name,
        "objective_type": objective_type,
        "hyperparameter_ranges": ranges_to_json(ranges),
        "static_hyperparameters": static,
        "max_jobs": len(rows),
        "max_parallel_jobs": 1,
        "strategy": IMPORTED,
        "random_seed": None,
        "early_stopping_type": "Off",
        "completion_criteria": None,
        "max_retry_attempts": 0,
        "max_runtime_in_seconds": None,
        "executor": None,
        "estimator": source,
        "warm_start_config": None,
    }
    bad = next((i for i, row in enumerate(rows) if row["objective"] is not None and not math.isfinite(row["objective"])), None)
    if bad is not None:  # refused before the job exists: a half-written job would hold the name
        raise ValueError(f"trial {bad}: objective must be finite or None, got {rows[bad]['objective']!r}")
    store.create_job(job_name, config)
    try:
        for i, row in enumerate(rows):
            store.add_trial(job_name, i, row["hyperparameters"], start_time=row.get("start"))
            store.finish_trial(
                job_name, i, row["status"], row["objective"], {objective_metric_name: row["objective"]} if row["objective"] is not None else {},
                failure_reason=row.get("reason"), end_time=row.get("end"),
            )
        store.finish_job(job_name, "Completed", f"imported {len(rows)} trials from {source.get('type')}")
    except BaseException:
        store.finish_job(job_name, "Failed", "import interrupted")
        raise
    return job_name


def import_dataframe(
    frame,
    job_name: str,
    store: Store | str | None = None,
    objective_metric_name: str = "objective",
    objective_type: str = "Minimize",
    hyperparameter_ranges: Mapping[str, Parameter] | None = None,
    objective_column: str = "FinalObjectiveValue",
    status_column: str = "TrainingJobStatus",
    static_hyperparameters: Mapping[str, Any] | None = None,
) -> str:
    """Stores a table of trials as a finished job named ``job_name``; returns the name.

    Hyperparameter columns are those of ``hyperparameter_ranges``, or else every column
    that is not one of :data:`SAGEMAKER_COLUMNS`; ranges are inferred when not given, and a
    column with a single value becomes a static hyperparameter (``static_hyperparameters``
    adds more, the table having no column for them). A row whose status is not
    Completed/Stopped, or whose objective is missing or not finite, is stored Failed; a
    column without a single value (every cell blank) is refused, unless it is the objective
    and no row's status is Completed.
    """
    store = store if isinstance(store, Store) else Store(store)
    if objective_type not in ("Minimize", "Maximize"):
        raise ValueError(f"objective_type must be 'Minimize' or 'Maximize', got {objective_type!r}")
    if objective_column not in frame.columns:
        raise ValueError(f"the table has no objective column {objective_column!r}; columns: {list(frame.columns)}")
    names = list(hyperparameter_ranges) if hyperparameter_ranges is not None else [c for c in frame.columns if c not in SAGEMAKER_COLUMNS and c != objective_column]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(f"hyperparameter {missing[0]!r} has no column in the table")
    if not names:
        raise ValueError("the table has no hyperparameter columns")
    if len(frame) == 0:
        raise ValueError(f"the table has no rows, only the columns {list(frame.columns)}")
    # A blank column is most often the wrong column; a blank objective is right only where
    # the status column says that no trial completed (a stopped one may have no value: a
    # job interrupted mid-trial); every row is then stored Failed.
    none_completed = status_column in frame.columns and not frame[status_column].astype(str).eq("Completed").any()
    for kind, n in [("objective", objective_column)] * (not none_completed) + [("hyperparameter", n) for n in names]:
        if frame[n].isna().all():
            raise ValueError(f"{kind} column {n!r} is empty: all {len(frame)} cells are blank")
    columns = {n: [_clean(v) for v in frame[n].tolist()] for n in names}
    static: dict[str, Any] = dict(static_hyperparameters or {})
    if hyperparameter_ranges is None:
        ranges = {}
        for n in names:
            r = infer_range(n, columns[n])
            if r is None:
                static[n] = columns[n][0]
            else:
                ranges[n] = r
        if not ranges:
            raise ValueError(
                f"cannot infer a range for any hyperparameter: every column has a single value in {len(frame)} row(s); "
                "pass hyperparameter_ranges"
            )
    else:
        ranges = dict(hyperparameter_ranges)
        for n, r in ranges.items():
            if isinstance(r, CategoricalParameter):
                columns[n] = [_categorical_value(v, r.values) for v in columns[n]]
    space = SearchSpace(ranges)
    rows = []
    for i in range(len(frame)):
        hp = {n: columns[n][i] for n in ranges}
        space.encode(hp)  # a value outside the given ranges is a clear error, before anything is stored
        raw = frame[objective_column].iloc[i]
        objective = float(raw) if raw is not None and _is_number(raw) and math.isfinite(float(raw)) else None
        status = str(frame[status_column].iloc[i]) if status_column in frame.columns else "Completed"
        if status not in ("Completed", "Stopped") or objective is None:
            status, reason, objective = "Failed", f"imported as {status} without a finite objective" if objective is None else f"imported as {status}", None
        else:
            reason = None
        start = _seconds(frame["TrainingStartTime"].iloc[i]) if "TrainingStartTime" in frame.columns else None
        end = _seconds(frame["TrainingEndTime"].iloc[i]) if "TrainingEndTime" in frame.columns else None
        rows.append({"hyperparameters": hp, "objective": objective, "status": status, "reason": reason, "start": start, "end": end})
    return _store_job(store, job_name, ranges, static, objective_metric_name, objective_type, rows, {"type": "table", "rows": len(rows)})


def _categorical_value(value: Any, values: list[Any]) -> Any:
    """``value`` as one of a categorical range's ``values``, matched by its text where it
    is not one of them as it is: a CSV cell "32" reads as the number 32, and the range's
    value is the string "32". Unmatched, the value as it is (refused by the range)."""
    if value in values:
        return value
    return next((c for c in values if str(c) == str(value)), value)


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def import_csv(path: str | os.PathLike, job_name: str, store: Store | str | None = None, **kwargs: Any) -> str:
    """:func:`import_dataframe` of a CSV file (a SageMaker analytics export, say).

    A CSV written by :func:`~warmstart_bo.integrations.exporters.export_csv` has a sidecar,
    ``<path>.json``, with what the table lacks: the objective's name and direction
    (``Maximize`` or ``Minimize``), the ranges and the static hyperparameters. When it is
    there and the table is the one it was written with (its SHA-256), they default to its
    values (arguments given here win), so that the job comes back as it was; a table
    changed since is read without it, with a warning. Without it (a SageMaker file), pass
    ``objective_type``: it defaults to ``"Minimize"``, and an accuracy imported as a loss
    warm-starts towards the worst points. ``path`` may also be a file object (no sidecar).
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty (no header, no rows)") from None
    saved, sidecar = None, csv_sidecar_path(path) if isinstance(path, (str, os.PathLike)) else None
    if sidecar is not None and os.path.exists(sidecar):
        with open(sidecar) as f:
            saved = json.load(f)
        if saved.get("csv_sha256") != csv_digest(path):
            warnings.warn(
                f"{sidecar} was written with another table than {os.fspath(path)!r} (it changed since its export): "
                "ignored, so pass objective_type and the rest yourself", RuntimeWarning, stacklevel=2,
            )
            saved = None
    if saved is not None:
        kwargs.setdefault("objective_metric_name", saved["objective_metric_name"])
        kwargs.setdefault("objective_type", saved["objective_type"])
        kwargs.setdefault("hyperparameter_ranges", ranges_from_json(saved["hyperparameter_ranges"]))
        kwargs.setdefault("static_hyperparameters", saved.get("static_hyperparameters"))
    return import_dataframe(frame, job_name, store, **kwargs)


def _optuna_range(dist) -> Parameter:
    import optuna.distributions as od

    if isinstance(dist, od.CategoricalDistribution):
        return CategoricalParameter(list(dist.choices))
    scaling = "Logarithmic" if getattr(dist, "log", False) else "Linear"
    if isinstance(dist, od.IntDistribution):
        return IntegerParameter(int(dist.low), int(dist.high), scaling)
    if isinstance(dist, od.FloatDistribution):
        return ContinuousParameter(float(dist.low), float(dist.high), scaling)
    raise ValueError(f"unsupported Optuna distribution {dist!r}")


def import_optuna_study(study, job_name: str, store: Store | str | None = None, objective_metric_name: str = "objective") -> str:
    """Stores a single-objective Optuna study as a finished job: COMPLETE trials as
    Completed, PRUNED ones as Stopped at their value (Optuna gives a pruned trial its last
    intermediate value) or else their last intermediate value, FAIL ones as Failed."""
    import optuna

    store = store if isinstance(store, Store) else Store(store)
    if len(study.directions) != 1:
        raise ValueError("only single-objective Optuna studies can be imported")
    objective_type = "Maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "Minimize"
    ranges: dict[str, Parameter] = {}
    rows = []
    states = optuna.trial.TrialState
    for trial in study.trials:
        if trial.state not in (states.COMPLETE, states.PRUNED, states.FAIL):
            continue
        for n, dist in trial.distributions.items():
            r = _optuna_range(dist)
            if n in ranges and ranges[n] != r:
                raise ValueError(f"hyperparameter {n!r}: the study used different distributions for it ({ranges[n]} and {r})")
            ranges[n] = r
        reason = f"Optuna trial {trial.state.name}"
        if trial.state == states.COMPLETE:
            status, objective = "Completed", float(trial.value)
        elif trial.state == states.PRUNED and trial.value is not None:  # Optuna's own: the last intermediate value
            status, objective = "Stopped", float(trial.value)
        elif trial.state == states.PRUNED and trial.intermediate_values:
            status, objective = "Stopped", float(trial.intermediate_values[max(trial.intermediate_values)])
        else:
            status, objective = "Failed", None
        if objective is not None and not math.isfinite(objective):  # Optuna keeps inf as a COMPLETE value
            status, objective, reason = "Failed", None, f"Optuna trial {trial.state.name} with value {objective}"
        rows.append({
            "hyperparameters": dict(trial.params), "objective": objective, "status": status,
            "reason": None if status == "Completed" else reason,
            "start": trial.datetime_start.timestamp() if trial.datetime_start else None,
            "end": trial.datetime_complete.timestamp() if trial.datetime_complete else None,
        })
    if not ranges:
        raise ValueError("the study has no finished trials to import")
    for row in rows:  # a trial that did not sample every parameter cannot be placed
        if set(row["hyperparameters"]) != set(ranges):
            row.update(status="Failed", objective=None, reason="Optuna trial without every parameter")
    return _store_job(store, job_name, ranges, {}, objective_metric_name, objective_type, rows, {"type": "optuna", "study": study.study_name})
