"""HyperparameterTuner: the job-level API, in the shape of SageMaker's tuner.

A tuning job proposes hyperparameters with a strategy, runs trials with an executor, and
records each trial in the store the moment it starts and the moment it finishes. Because
the store is the job's memory, a job killed at any moment is resumed by calling ``fit``
with the same name (or ``HyperparameterTuner.attach(name).resume()``): finished trials are
replayed to the strategy and only trials that were running are run again.

Trial outcomes:

- ``Completed``: the estimator returned a finite objective; the strategy learns from it.
- ``Failed``: it raised, timed out, returned NaN/inf or no objective metric. It is retried
  up to ``max_retry_attempts`` times with the same hyperparameters; a final failure is
  recorded with its reason and never reaches the GP as a number.
- ``Stopped``: stopped early by the median rule (its last reported value is kept and
  told to the strategy, but it is never the best trial), or stopped with the job.

Every trial created counts towards ``max_jobs``, failed ones included (as on SageMaker).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import secrets
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from warmstart_bo.analytics import COLUMNS as analytics_columns
from warmstart_bo.estimators import (
    CommandLineEstimator,
    as_estimator,
    estimator_from_description,
    failed_result,
)
from warmstart_bo.executors import executor_spec, make_executor
from warmstart_bo.optimizer import OBJECTIVE_TYPES
from warmstart_bo.space import Parameter, SearchSpace, plain_value, ranges_from_json, ranges_to_json
from warmstart_bo.store import (
    FINISHED,
    HEARTBEAT_S,
    IMPORTED,
    JobExistsError,
    JobNotFoundError,
    JobRecord,
    JobRunningError,
    Store,
    TrialRecord,
    existing_store,
    validate_job_name,
)
from warmstart_bo.strategies import STRATEGIES, GridStrategy, make_strategy
from warmstart_bo.transfer.histories import ParentError, ParentHistory, encode_history
from warmstart_bo.warmstart import WarmStartConfig, WarmStartTypes

logger = logging.getLogger(__name__)

EARLY_STOPPING_TYPES = ("Off", "Auto")
# How often the running job looks for finished trials, timeouts and stop requests (seconds).
POLL_INTERVAL_S = 0.2


@dataclass(frozen=True)
class CompletionCriteria:
    """When a job may end before ``max_jobs`` trials.

    Args:
      target_objective_value: end once a completed trial reaches this value (at or below it
        when minimizing, at or above when maximizing).
      max_trials_not_improving: end after this many completed trials in a row without a new
        best.

    Trials already running when a criterion is met run to their end.
    """

    target_objective_value: float | None = None
    max_trials_not_improving: int | None = None

    def __post_init__(self):
        t = self.target_objective_value
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)):
            raise ValueError(f"completion_criteria target_objective_value must be a finite number, got {t!r}")
        n = self.max_trials_not_improving
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"completion_criteria max_trials_not_improving must be a positive integer, got {n!r}")

    @classmethod
    def parse(cls, value: Any) -> CompletionCriteria | None:
        """Reads None, a CompletionCriteria, or a dict in snake_case or SageMaker's keys
        (``TargetObjectiveMetricValue``, ``BestObjectiveNotImproving:
        {MaxNumberOfTrainingJobsNotImproving}``)."""
        if value is None or isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"completion_criteria must be a CompletionCriteria or a dict, got {value!r}")
        value = dict(value)
        for ours, theirs in (("target_objective_value", "TargetObjectiveMetricValue"), ("max_trials_not_improving", "BestObjectiveNotImproving")):
            if ours in value and theirs in value:
                raise ValueError(f"completion_criteria has both {ours!r} and {theirs!r}; give one")
        target = value.pop("target_objective_value", None) if "target_objective_value" in value else value.pop("TargetObjectiveMetricValue", None)
        n = value.pop("max_trials_not_improving", None)
        if "BestObjectiveNotImproving" in value:
            sm = value.pop("BestObjectiveNotImproving")
            if not isinstance(sm, Mapping) or set(sm) != {"MaxNumberOfTrainingJobsNotImproving"}:
                raise ValueError(f"completion_criteria BestObjectiveNotImproving must be {{'MaxNumberOfTrainingJobsNotImproving': N}}, got {sm!r}")
            n = sm["MaxNumberOfTrainingJobsNotImproving"]
        if value:
            raise ValueError(f"unknown completion_criteria key {sorted(value)[0]!r}")
        return cls(target, n)

    def to_json(self) -> dict[str, Any]:
        return {"target_objective_value": self.target_objective_value, "max_trials_not_improving": self.max_trials_not_improving}


def _check_int(name: str, value: Any, minimum: int, below: int | None = None) -> int:
    value = plain_value(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (below is not None and value >= below):
        bound = f">= {minimum}" if below is None else f"in [{minimum}, 2**{below.bit_length() - 1})"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return value


def _check_static(static: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Fixed hyperparameters as JSON values: NumPy scalars converted, non-finite numbers refused."""
    out = {}
    for k, v in static.items():
        v = plain_value(v)
        if not isinstance(k, str):
            # Stored as JSON, whose keys are strings: {1: 2} would come back as {"1": 2}, and
            # the job could never be resumed with the configuration that started it.
            raise ValueError(f"static hyperparameter names must be strings, got {k!r}")
        if k in space.ranges:
            raise ValueError(f"hyperparameter {k!r} is both tuned and static; remove it from static_hyperparameters")
        if v is not None and not isinstance(v, (str, bool, int, float)):
            raise ValueError(f"static hyperparameter {k!r} must be a str, number, bool or None, got {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"static hyperparameter {k!r} must be finite, got {v!r}")
        out[k] = v
    return out


def _check_runtime(value: Any) -> float | None:
    value = plain_value(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf)):
        raise ValueError(f"max_runtime_in_seconds must be a positive finite number, got {value!r}")
    return value


def _default_base_name(estimator: Any) -> str:
    raw = getattr(estimator, "__name__", None) or type(estimator).__name__
    cleaned = "".join(c if c.isalnum() else "-" for c in raw).strip("-")[:32]
    return cleaned or "tuning"


def name_from_base(base: str) -> str:
    """``base-YYMMDD-HHMMSS-xxxx``: a fresh job name, unique in practice."""
    stamp = datetime.now(timezone.utc).strftime("%y%m%d-%H%M%S")
    return f"{base[:40]}-{stamp}-{secrets.token_hex(2)}"


class HyperparameterTuner:
    """Runs and resumes tuning jobs, stored by name.

    Args:
      estimator: a callable ``f(hyperparameters) -> float | dict`` , an object with
        ``fit(hyperparameters) -> dict``, or a :class:`CommandLineEstimator`. Declare a
        ``report`` parameter to report intermediate values (``report(step, value)``) for
        early stopping.
      objective_metric_name: the metric to optimize (a float result is this metric).
      hyperparameter_ranges: name -> ``ContinuousParameter`` / ``IntegerParameter`` /
        ``CategoricalParameter``.
      objective_type: ``"Maximize"`` or ``"Minimize"``.
      max_jobs: trials in the job (failed ones count; warm-start parents' do not).
      max_parallel_jobs: trials running at once.
      strategy: ``"Bayesian"``, ``"Random"`` or ``"Grid"`` (categorical-only spaces).
      warm_start_config: parents whose trials the job starts from (see ``WarmStartConfig``).
      store: a :class:`Store`, a path or ``sqlite:///`` URL; None is the default store.
      random_seed: makes a sequential run reproducible; None draws one (and stores it).
      base_tuning_job_name: prefix of generated job names.
      early_stopping_type: ``"Off"`` or ``"Auto"`` (the median rule on reported values).
      completion_criteria: a :class:`CompletionCriteria` or an equivalent dict.
      max_retry_attempts: reruns of a failed trial with the same hyperparameters.
      static_hyperparameters: fixed values passed to every trial alongside the tuned ones.
      metric_definitions: with a command line given as ``estimator`` (a string or list), its
        ``[{"Name", "Regex"}]``; the command is then wrapped in a CommandLineEstimator.
      max_runtime_in_seconds: a trial running longer fails (timed out).
      executor: ``"threads"`` (default), ``"processes"``, ``"population"`` (trials started
        together train as one population, for estimators with ``fit_population``),
        ``"ray"`` or a :class:`~warmstart_bo.executors.RayExecutor` (trials as Ray tasks,
        on a local Ray or a cluster).
      progress: show a progress bar when stderr is a terminal.
    """

    def __init__(
        self,
        estimator: Any,
        objective_metric_name: str,
        hyperparameter_ranges: Mapping[str, Parameter],
        objective_type: str = "Maximize",
        max_jobs: int = 1,
        max_parallel_jobs: int = 1,
        strategy: str = "Bayesian",
        warm_start_config: Any = None,
        store: Store | str | None = None,
        random_seed: int | None = None,
        base_tuning_job_name: str | None = None,
        early_stopping_type: str = "Off",
        completion_criteria: CompletionCriteria | Mapping[str, Any] | None = None,
        max_retry_attempts: int = 0,
        static_hyperparameters: Mapping[str, Any] | None = None,
        metric_definitions: list[Mapping[str, str]] | None = None,
        max_runtime_in_seconds: float | None = None,
        executor: Any = "threads",
        progress: bool = True,
    ):
        if isinstance(estimator, (str, list, tuple)):
            estimator = CommandLineEstimator(estimator, metric_definitions or [])
        elif metric_definitions is not None:
            raise ValueError("metric_definitions apply to a command line; pass the command as estimator, or a CommandLineEstimator")
        self.estimator = as_estimator(estimator)
        if not isinstance(objective_metric_name, str) or not objective_metric_name:
            raise ValueError(f"objective_metric_name must be a non-empty string, got {objective_metric_name!r}")
        if isinstance(self.estimator, CommandLineEstimator) and objective_metric_name not in self.estimator.metric_names:
            raise ValueError(f"unknown objective metric {objective_metric_name!r}: metric_definitions define {self.estimator.metric_names}")
        self.objective_metric_name = objective_metric_name
        self.space = SearchSpace(hyperparameter_ranges)
        clash = next((n for n in hyperparameter_ranges if n in analytics_columns), None)
        if clash is not None:
            raise ValueError(f"hyperparameter {clash!r} has the name of an analytics column ({', '.join(analytics_columns)}); rename it")
        self.hyperparameter_ranges = dict(hyperparameter_ranges)
        if objective_type not in OBJECTIVE_TYPES:
            raise ValueError(f"objective_type must be one of {OBJECTIVE_TYPES}, got {objective_type!r}")
        self.objective_type = objective_type
        self.max_jobs = _check_int("max_jobs", max_jobs, 1)
        self.max_parallel_jobs = _check_int("max_parallel_jobs", max_parallel_jobs, 1)
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if strategy == "Grid":
            GridStrategy(self.space)  # checks the space is categorical-only
        self.strategy = strategy
        # Stored as an SQLite INTEGER (signed 64-bit), as a plain int (not NumPy's).
        self.random_seed = None if random_seed is None else _check_int("random_seed", random_seed, 0, 2**63)
        if early_stopping_type not in EARLY_STOPPING_TYPES:
            raise ValueError(f"early_stopping_type must be one of {EARLY_STOPPING_TYPES}, got {early_stopping_type!r}")
        self.early_stopping_type = early_stopping_type
        self.completion_criteria = CompletionCriteria.parse(completion_criteria)
        self.max_retry_attempts = _check_int("max_retry_attempts", max_retry_attempts, 0)
        self.static_hyperparameters = _check_static(static_hyperparameters or {}, self.space)
        self.max_runtime_in_seconds = _check_runtime(max_runtime_in_seconds)
        self.executor = executor_spec(executor)
        make_executor(self.executor).check(self.estimator)
        ws = WarmStartConfig.from_json(warm_start_config)
        self.warm_start_config = None if ws is None else ws.resolved()
        if ws is not None and strategy != "Bayesian":
            raise ValueError(f"warm start needs strategy 'Bayesian'; {strategy!r} does not learn from earlier trials")
        self._store_arg = store
        if base_tuning_job_name is not None:
            try:
                validate_job_name(base_tuning_job_name)
            except ValueError as e:
                raise ValueError(f"base_tuning_job_name: {e}") from None
        self.base_tuning_job_name = base_tuning_job_name or _default_base_name(estimator)
        self.progress = progress
        self.tuning_job_name: str | None = None
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def store(self) -> Store:
        if not isinstance(self._store_arg, Store):
            self._store_arg = Store(self._store_arg)
        return self._store_arg

    def config(self) -> dict[str, Any]:
        """The job's configuration as stored (JSON)."""
        return {
            "objective_metric_name": self.objective_metric_name,
            "objective_type": self.objective_type,
            "hyperparameter_ranges": ranges_to_json(self.hyperparameter_ranges),
            "static_hyperparameters": self.static_hyperparameters,
            "max_jobs": self.max_jobs,
            "max_parallel_jobs": self.max_parallel_jobs,
            "strategy": self.strategy,
            "random_seed": self.random_seed,
            "early_stopping_type": self.early_stopping_type,
            "completion_criteria": None if self.completion_criteria is None else self.completion_criteria.to_json(),
            "max_retry_attempts": self.max_retry_attempts,
            "max_runtime_in_seconds": self.max_runtime_in_seconds,
            "executor": self.executor,
            "estimator": self.estimator.describe(),
            "warm_start_config": None if self.warm_start_config is None else self.warm_start_config.to_json(),
        }

    @classmethod
    def attach(cls, tuning_job_name: str, store: Store | str | None = None, estimator: Any = None, progress: bool = True) -> HyperparameterTuner:
        """Re-opens a stored job. ``estimator`` is needed only to resume a job whose
        estimator was Python code (a stored command line is rebuilt from the store)."""
        store = existing_store(store)
        record = store.job(tuning_job_name)
        c = record.config
        if estimator is None:
            try:
                estimator = estimator_from_description(c["estimator"])
            except ValueError:
                estimator = None
        imported = c["strategy"] == IMPORTED
        # An imported job (finished trials from elsewhere) records no strategy or executor of
        # ours: it is read, never run (resume() refuses it).
        run = {"strategy": "Random", "executor": "threads"} if imported else {"strategy": c["strategy"], "executor": c["executor"]}
        tuner = cls(
            estimator if estimator is not None else _NotStored(c["estimator"]),
            c["objective_metric_name"],
            ranges_from_json(c["hyperparameter_ranges"]),
            objective_type=c["objective_type"],
            max_jobs=c["max_jobs"],
            max_parallel_jobs=c["max_parallel_jobs"],
            strategy=run["strategy"],
            store=store,
            random_seed=c["random_seed"],
            early_stopping_type=c["early_stopping_type"],
            completion_criteria=c["completion_criteria"],
            warm_start_config=WarmStartConfig.from_stored(c.get("warm_start_config")),
            max_retry_attempts=c["max_retry_attempts"],
            static_hyperparameters=c["static_hyperparameters"],
            max_runtime_in_seconds=c["max_runtime_in_seconds"],
            executor=run["executor"],
            progress=progress,
        )
        tuner.tuning_job_name = tuning_job_name
        if imported:
            tuner.strategy = IMPORTED
        return tuner

    def resume(self, wait: bool = True) -> None:
        """Continues the attached job to ``max_jobs`` trials; a Completed job is left as
        it is (a warning says so)."""
        if self.tuning_job_name is None:
            raise ValueError("resume() needs an attached job: use HyperparameterTuner.attach(name)")
        self._start(self.tuning_job_name, wait, resuming=True)

    def fit(self, job_name: str | None = None, wait: bool = True) -> None:
        """Runs a new job, or resumes the stored unfinished job named ``job_name``.

        Raises JobExistsError if the name is taken by a finished job or by one with a
        different configuration, and JobRunningError if the job is running now (in another
        process, or in another run in this one). A Python estimator may differ from the
        one the job ran (another script's function): it replaces it, and the store records
        the replacement; a command line cannot replace Python code, nor the reverse.
        """
        name = validate_job_name(job_name) if job_name is not None else name_from_base(self.base_tuning_job_name)
        self._start(name, wait, resuming=False)

    def _start(self, name: str, wait: bool, resuming: bool) -> None:
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            # A spawned process (a trial of executor="processes") is importing the main
            # script (multiprocessing's own check reads the same flag); a script that runs the
            # tuner at import would start a job from every trial, creating jobs in the store,
            # so it stops here before touching the store.
            raise RuntimeError(
                "a tuning job was started while a trial's process imported the script that runs it: "
                "put the tuning code under if __name__ == \"__main__\": (executor='processes' starts each trial this way)"
            )
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError(f"tuning job {self.tuning_job_name!r} is still running; wait() or stop() it first")
        if self.strategy == IMPORTED:
            raise ValueError(
                f"job {self.tuning_job_name!r} was imported: its trials ran elsewhere, so it cannot run more; "
                "read it (best_training_job(), analytics()) or use it as a warm-start parent"
            )
        if isinstance(getattr(self.estimator, "fn", None), _NotStored):
            raise ValueError(
                f"job {self.tuning_job_name!r} ran a Python estimator ({self.estimator.fn.description.get('name')}), "
                "which is not stored; attach with estimator= to resume it"
            )
        store = self.store
        lease = _acquire_lease(store, name)
        try:
            seed = self._open_job(store, name, resuming)
        except BaseException:
            _release_lease(lease)
            raise
        if seed is None:
            _release_lease(lease)
            return
        self.tuning_job_name = name
        self._stop_event.clear()
        self._error = None
        if wait:
            try:
                self._run(store, name, seed)
            finally:
                _release_lease(lease)
        else:
            self._thread = threading.Thread(target=self._run_background, args=(store, name, seed, lease), name=f"tuning-job-{name}", daemon=True)
            self._thread.start()

    def _open_job(self, store: Store, name: str, resuming: bool) -> int | None:
        """Creates the job or claims the stored one; returns its seed, or None when a
        resumed job is Completed already (nothing to run)."""
        config = self.config()
        if not store.has_job(name):
            parents = self._check_parents(store, name)
            seed = self.random_seed if self.random_seed is not None else secrets.randbelow(2**31)
            store.create_job(name, config, random_seed=seed, parents=parents)
            return seed
        record = store.job(name)
        stored = dict(record.config)
        if stored.get("warm_start_config") is not None:
            stored["warm_start_config"] = WarmStartConfig.from_stored(stored["warm_start_config"]).to_json()
        changed = sorted(k for k in (set(config) | set(stored)) - _NOT_COMPARED if config.get(k) != stored.get(k))
        now, was = config.get("warm_start_config"), stored.get("warm_start_config")
        if changed == ["warm_start_config"] and now and was and {**now, "transfer_prior": None} == {**was, "transfer_prior": None}:
            raise JobExistsError(
                f"a tuning job named {name!r} already exists with transfer_prior {was['transfer_prior']!r}, not {now['transfer_prior']!r} "
                f"(the default prior changes with versions; a job keeps the one it started with): pass "
                f"WarmStartConfig(..., transfer_prior={was['transfer_prior']!r}) or use HyperparameterTuner.attach to resume it")
        if changed:
            raise JobExistsError(f"a tuning job named {name!r} already exists with a different configuration (differs in {', '.join(changed)}); choose another job_name")
        if resuming and record.status == "Completed":
            logger.warning("tuning job %r is already Completed (%s); nothing to resume", name, record.status_reason)
            return None
        if record.status == "Completed":  # a Failed job resumes once its cause is fixed
            hint = "it cannot be resumed" if resuming else "choose another job_name"
            raise JobExistsError(f"a tuning job named {name!r} already exists and is {record.status}; {hint}")
        was, now = _estimator_kind(stored.get("estimator")), _estimator_kind(config["estimator"])
        if was != now:
            raise JobExistsError(f"a tuning job named {name!r} differs in estimator kind: the job ran {was}, not {now}")
        record = store.claim_job(name)
        if config["estimator"] != stored.get("estimator"):
            store.replace_estimator(name, config["estimator"])
        return record.random_seed

    def _check_parents(self, store: Store, name: str) -> list[str]:
        """Applies the warm-start rules to each parent; errors name the parent at fault."""
        ws = self.warm_start_config
        if ws is None:
            return []
        for p in ws.parents:
            if p == name:
                raise ParentError(f"warm-start parent {p!r} is the job itself")
            try:
                record = store.job(p)
            except JobNotFoundError:
                raise ParentError(f"warm-start parent {p!r} does not exist in {str(store.path)!r}") from None
            if record.status not in FINISHED:
                raise ParentError(f"warm-start parent {p!r} is {record.status}; a parent must be finished (Completed, Stopped or Failed)")
            c = record.config
            if c["objective_metric_name"] != self.objective_metric_name:
                raise ParentError(f"warm-start parent {p!r} optimizes {c['objective_metric_name']!r}, not {self.objective_metric_name!r}")
            if c["objective_type"] != self.objective_type:
                raise ParentError(f"warm-start parent {p!r} is a {c['objective_type']} job; this job is {self.objective_type}")
        for job in _lineage(store, ws):
            history = _history(store, job)
            # Types, added and removed hyperparameters; its warning of unusable trials comes
            # once, from the job's optimizer (built next, and again on each resume).
            encode_history(self.space, history, warn=False)
            if not history.params:
                # Its failed trials never reach encode_history (which warns of a parent whose
                # trials are all unusable): a warm start that does nothing must still be heard of.
                warnings.warn(
                    f"warm-start parent {job.name!r} has no completed or early-stopped trial with an objective value "
                    f"({len(store.trials(job.name))} trials in all): it cannot warm-start this job", RuntimeWarning, stacklevel=5,
                )
        return list(ws.parents)

    def _run_background(self, store: Store, name: str, seed: int, lease: tuple[str, str]) -> None:
        try:
            self._run(store, name, seed)
        except BaseException as e:  # kept for wait() to re-raise in the caller's thread
            self._error = e
        finally:
            _release_lease(lease)

    def wait(self, timeout: float | None = None) -> None:
        """Waits for a job started with ``fit(wait=False)``; re-raises its error, if any."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Stops the job: running trials are stopped, finished ones kept, status Stopped.
        Works from another thread, and (through the store) from another process."""
        if self.tuning_job_name is None:
            raise ValueError("no tuning job to stop: call fit() first")
        self._stop_event.set()
        self.store.request_stop(self.tuning_job_name)

    def _run(self, store: Store, name: str, seed: int) -> None:
        _JobRun(self, store, name, seed).run()

    # Results.

    def _require_job(self) -> str:
        if self.tuning_job_name is None:
            raise ValueError("no tuning job yet: call fit() or attach()")
        return self.tuning_job_name

    def best_trial(self) -> TrialRecord:
        """The completed trial with the best objective value."""
        from warmstart_bo.analytics import best_trial

        name = self._require_job()
        best = best_trial(self.store.trials(name), self.objective_type)
        if best is None:
            raise ValueError(f"tuning job {name!r} has no completed trial yet")
        return best

    def best_training_job(self) -> str:
        """The name of the best completed trial."""
        return self.best_trial().name

    def describe(self) -> dict[str, Any]:
        from warmstart_bo.analytics import describe_job

        return describe_job(self.store, self._require_job())

    def analytics(self):
        from warmstart_bo.analytics import HyperparameterTuningJobAnalytics

        return HyperparameterTuningJobAnalytics(self._require_job(), store=self.store)


# Config keys a resumed job may differ in: the estimator is compared by kind only (code is
# never stored), and its history is written by the store.
_NOT_COMPARED = {"estimator", "estimator_history"}

# Jobs run by this process now, as (store file, job name): one run per job at a time. The
# store's owner pid cannot tell two runs in one process apart (a re-run notebook cell).
_RUNNING: set[tuple[str, str]] = set()
_RUNNING_LOCK = threading.Lock()


def _acquire_lease(store: Store, name: str) -> tuple[str, str]:
    key = (str(store.path.resolve()), name)
    with _RUNNING_LOCK:
        if key in _RUNNING:
            raise JobRunningError(f"tuning job {name!r} is already running in this process; wait() for it or stop() it first")
        _RUNNING.add(key)
    return key


def _release_lease(key: tuple[str, str]) -> None:
    with _RUNNING_LOCK:
        _RUNNING.discard(key)


def _estimator_kind(description: Mapping[str, Any] | None) -> str:
    """``"a command line"`` or ``"Python code"`` (a callable or an object with ``fit``)."""
    kind = (description or {}).get("type")
    return "a command line" if kind == "command" else "Python code" if kind in ("callable", "fit") else f"a {kind} estimator"


def _lineage(store: Store, ws: WarmStartConfig) -> list[JobRecord]:
    """The parent jobs a warm start uses: direct parents, plus ancestors if asked."""
    jobs = [store.job(p) for p in ws.parents]
    if ws.include_ancestors:
        seen = {j.name for j in jobs}
        for j in list(jobs):
            for a in store.iter_lineage(j.name):
                if a.name not in seen:
                    seen.add(a.name)
                    jobs.append(a)
    return jobs


def _history(store: Store, job: JobRecord) -> ParentHistory:
    """A stored job's finished trials with an objective (failed ones carry no value)."""
    trials = [t for t in store.trials(job.name) if t.status in ("Completed", "Stopped") and t.objective is not None]
    return ParentHistory(
        job.name, [t.hyperparameters for t in trials], [t.objective for t in trials],
        ranges_from_json(job.config["hyperparameter_ranges"]), job.config.get("static_hyperparameters") or {},
    )


def parents_with_objective_types(store: Store, ws: WarmStartConfig) -> list[tuple[ParentHistory, str]]:
    """:func:`parent_histories`, each with its jobs' objective type (the jobs of one task
    share it), for a caller whose own direction may differ (an Optuna study, a Tune run)."""
    return [(h, store.job(h.name.split("+")[0]).config["objective_type"]) for h in parent_histories(store, ws)]


def parent_histories(store: Store, ws: WarmStartConfig) -> list[ParentHistory]:
    """Parent tasks for the optimizer, oldest first.

    IDENTICAL_DATA_AND_ALGORITHM pools every parent into one task. TRANSFER_LEARNING makes
    each parent a task, except that jobs linked by an identical-data warm start (a job and
    the parents it continued) are one task.
    """
    jobs = sorted(_lineage(store, ws), key=lambda j: j.created_at)
    group = {j.name: j.name for j in jobs}

    def root(n: str) -> str:
        while group[n] != n:
            n = group[n]
        return n

    for j in jobs:
        if ws.warm_start_type == WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM:
            group[root(j.name)] = root(jobs[0].name)
        elif (j.config.get("warm_start_config") or {}).get("warm_start_type") == WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM:
            for p in j.parents:
                if p in group:
                    group[root(p)] = root(j.name)
    merged: dict[str, list[ParentHistory]] = {}
    for j in jobs:
        merged.setdefault(root(j.name), []).append(_history(store, j))
    out = []
    for members in merged.values():
        if len(members) == 1:
            out.append(members[0])
            continue
        # Fill each trial with its own job's fixed values, so jobs that tuned different
        # hyperparameters can share a task; types were checked job by job.
        params, values = [], []
        for h in members:
            for p, v in zip(h.params, h.values):
                params.append({**h.static_hyperparameters, **p})
                values.append(v)
        out.append(ParentHistory("+".join(h.name for h in members), params, values, None, {}))
    return out


class _NotStored:
    """Stands for the Python estimator of an attached job: it is not in the store."""

    def __init__(self, description: dict[str, Any]):
        self.description = description

    def __call__(self, hyperparameters: dict[str, Any]) -> float:
        raise RuntimeError("the estimator of an attached job is not stored; attach with estimator=")


class _JobRun:
    """One run of a job, from start (or resume) to its end; the only writer of its trials."""

    def __init__(self, tuner: HyperparameterTuner, store: Store, name: str, seed: int):
        self.t, self.store, self.name = tuner, store, name
        self.sign = 1.0 if tuner.objective_type == "Maximize" else -1.0
        ws = tuner.warm_start_config
        budget = {"max_observations": tuner.max_jobs} if tuner.strategy == "Bayesian" else {}
        if ws is None:
            self.strategy = make_strategy(tuner.strategy, tuner.space, tuner.objective_type, seed, **budget)
        else:
            self.strategy = make_strategy(
                tuner.strategy, tuner.space, tuner.objective_type, seed, **budget,
                parents=parent_histories(store, ws), warm_start_type=ws.warm_start_type, transfer_prior=ws.transfer_prior,
            )
        self.max_jobs = tuner.max_jobs
        if isinstance(self.strategy, GridStrategy):
            self.max_jobs = min(self.max_jobs, self.strategy.size)
        self.running: dict[int, dict[str, Any]] = {}
        self.best: float | None = None
        self.since_best = 0
        self.curves: list[list[list[float]]] = []
        self.last_failure: str | None = None

    def _record_finished(self, trial_status: str, objective: float | None, intermediate) -> None:
        if intermediate:
            self.curves.append(intermediate)
        if trial_status != "Completed" or objective is None:
            return
        if self.best is None or self.sign * objective > self.sign * self.best:
            self.best, self.since_best = objective, 0
        else:
            self.since_best += 1

    def _criteria_met(self) -> str | None:
        cc = self.t.completion_criteria
        if cc is None or self.best is None:
            return None
        if cc.target_objective_value is not None and self.sign * self.best >= self.sign * cc.target_objective_value:
            return f"target objective value {cc.target_objective_value:g} reached ({self.best:g})"
        if cc.max_trials_not_improving is not None and self.since_best >= cc.max_trials_not_improving:
            return f"best objective not improved in {self.since_best} completed trials"
        return None

    def _launch(self, executor, index: int, params: dict[str, Any], attempts: int, reasons: list[str]) -> None:
        reporter = {
            "objective_metric_name": self.t.objective_metric_name,
            "sign": self.sign,
            "finished_curves": list(self.curves),
            "early_stopping": self.t.early_stopping_type == "Auto",
        }
        self.running[index] = {"params": params, "attempts": attempts, "start": time.monotonic(), "reasons": reasons}
        executor.submit(index, self.t.estimator, {**params, **self.t.static_hyperparameters}, reporter)

    def _heartbeat(self) -> None:
        """The owner's sign of life, at most every ``HEARTBEAT_S`` (the loop polls its trials
        far more often): a second runner's error says how long ago it was heard from, for
        the user who must judge whether a job on another host is still running."""
        now = time.monotonic()
        if now - self.last_beat >= HEARTBEAT_S:
            self.store.heartbeat(self.name)
            self.last_beat = now

    def run(self) -> None:
        store, name, t = self.store, self.name, self.t
        self.last_beat = time.monotonic()
        trials = store.trials(name)
        by_end = sorted((tr for tr in trials if tr.status != "InProgress"), key=lambda tr: (tr.end_time or 0.0, tr.index))
        for tr in trials:
            if tr.status in ("Completed", "Stopped") and tr.objective is not None:
                self.strategy.tell(tr.hyperparameters, tr.objective)
            elif tr.status != "InProgress":
                self.strategy.tell_failed(tr.hyperparameters)
        for tr in by_end:
            self._record_finished(tr.status, tr.objective, tr.intermediate)
            if tr.status == "Failed":  # a resumed job's reason names its last failure, stored or new
                self.last_failure = tr.failure_reason
        reruns = [tr for tr in trials if tr.status == "InProgress"]
        self.strategy.mark_pending([tr.hyperparameters for tr in reruns])
        next_index = len(trials)
        executor = make_executor(t.executor)
        bar = _progress_bar(t.progress, self.max_jobs, len(trials) - len(reruns), name)
        stop_reason = None
        completion = self._criteria_met()
        try:
            while True:
                if t._stop_event.is_set() or store.stop_requested(name):
                    stop_reason = "stopped on request"
                    break
                free = t.max_parallel_jobs - len(self.running)
                while free > 0 and reruns:
                    tr = reruns.pop(0)
                    store.restart_trial(name, tr.index, tr.attempts)
                    self._launch(executor, tr.index, tr.hyperparameters, tr.attempts, [])
                    free -= 1
                completion = completion or self._criteria_met()
                if free > 0 and next_index < self.max_jobs and completion is None:
                    indices = list(range(next_index, min(self.max_jobs, next_index + free)))
                    for index, params in zip(indices, self.strategy.ask(indices)):
                        store.add_trial(name, index, params)
                        self._launch(executor, index, params, 1, [])
                    next_index = indices[-1] + 1
                if not self.running:
                    break
                for index, result in executor.wait(POLL_INTERVAL_S):
                    self._handle(executor, index, result, bar)
                self._heartbeat()
                if t.max_runtime_in_seconds is not None:
                    now = time.monotonic()
                    for index in [i for i, r in self.running.items() if now - r["start"] > t.max_runtime_in_seconds]:
                        executor.cancel(index, "timed out")
                        self._handle(executor, index, failed_result(f"timed out after {t.max_runtime_in_seconds:g} s"), bar)
        except KeyboardInterrupt:
            self._stop_all(executor, "stopped by Ctrl-C with the tuning job")
            store.finish_job(name, "Stopped", "interrupted (Ctrl-C)")
            bar.close()
            raise
        except BaseException:
            self._stop_all(executor, "stopped: the tuning job failed")
            store.finish_job(name, "Failed", f"tuner error: {sys.exc_info()[1]!r}"[:2000])
            bar.close()
            raise
        if stop_reason is not None:
            self._stop_all(executor, f"{stop_reason}, with the tuning job")
            store.finish_job(name, "Stopped", stop_reason)
        else:
            executor.shutdown()
            trials = store.trials(name)
            if trials and not any(tr.status == "Completed" for tr in trials):
                counts = ", ".join(f"{n} {s.lower()}" for s in ("Failed", "Stopped") if (n := sum(tr.status == s for tr in trials)))
                store.finish_job(name, "Failed", f"no trial of {len(trials)} completed ({counts}); last failure: {self.last_failure}")
            else:
                store.finish_job(name, "Completed", completion or f"{len(trials)} trials done (max_jobs {t.max_jobs})")
        bar.close()

    def _stop_all(self, executor, reason: str) -> None:
        """Stops running trials; also any trial the interruption caught between being
        recorded and being started (the store is the reference)."""
        for index in list(self.running):
            executor.cancel(index, reason)
            del self.running[index]
        executor.shutdown()
        for tr in self.store.trials(self.name):
            if tr.status == "InProgress":
                self.store.finish_trial(self.name, tr.index, "Stopped", failure_reason=reason)

    def _handle(self, executor, index: int, result: dict[str, Any], bar) -> None:
        run = self.running.pop(index)
        status = result["status"]
        if status == "Failed":
            reasons = run["reasons"] + [result["failure_reason"]]
            if run["attempts"] <= self.t.max_retry_attempts:
                self.store.restart_trial(self.name, index, run["attempts"] + 1)
                self._launch(executor, index, run["params"], run["attempts"] + 1, reasons)
                return
            reason = reasons[-1] if len(reasons) == 1 else "; ".join(f"attempt {i + 1}: {r}" for i, r in enumerate(reasons))
            self.store.finish_trial(self.name, index, "Failed", None, result["metrics"], result["intermediate"], reason[:4000])
            self.strategy.tell_failed(run["params"])
            self.last_failure = reasons[-1]
        else:
            objective = result["objective"]
            self.store.finish_trial(self.name, index, status, objective, result["metrics"], result["intermediate"], result["failure_reason"])
            if objective is not None:
                self.strategy.tell(run["params"], objective)
            else:
                self.strategy.tell_failed(run["params"])
        self._record_finished(status, result["objective"], result["intermediate"])
        bar.update(1)
        if self.best is not None:
            bar.set_postfix(best=f"{self.best:.6g}")


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kw: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool, total: int, done: int, name: str):
    """A tqdm bar on stderr when it is a terminal; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc=name, unit="trial", file=sys.stderr, dynamic_ncols=True)
