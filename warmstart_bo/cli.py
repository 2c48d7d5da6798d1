"""The ``warmstart-bo`` command: run tuning jobs from a config file and inspect the store.

    warmstart-bo tune CONFIG [--job-name NAME]
    warmstart-bo jobs list | jobs describe NAME | jobs stop NAME
    warmstart-bo analytics NAME [--csv PATH] [--plot PATH] [--include-parents]
    warmstart-bo import NAME --csv PATH [--objective-metric M] [--objective-type T]
    warmstart-bo demo

``--store PATH`` (before the subcommand) selects the store; the default is
``$WARMSTART_BO_STORE`` or ``~/.local/share/warmstart-bo/store.db``.

A tune CONFIG (YAML or JSON) holds the tuner's arguments plus the command line::

    command: python train.py          # run in the config file's folder unless cwd is given
    metric_definitions: [{Name: val_loss, Regex: "val_loss=([-+0-9.eE]+|nan|inf)"}]
    hyperparameter_passing: arguments # or environment (SM_HP_<NAME>, SM_HPS)
    objective_metric_name: val_loss
    objective_type: Minimize
    hyperparameter_ranges:
      lr: {type: Continuous, min_value: 1.0e-4, max_value: 0.1, scaling_type: Logarithmic}
      layers: {type: Integer, min_value: 1, max_value: 4}
      optimizer: {type: Categorical, values: [sgd, adam]}
    max_jobs: 20
    max_parallel_jobs: 2
    job_name: my-job                  # optional: re-running the file resumes this job
    warm_start_config: {warm_start_type: TransferLearning, parents: [old-job]}   # optional
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only the store and analytics at start: `jobs list` and `jobs describe` answer without
# loading JAX (about 1.5 s on 2 cores); tune, analytics and demo import what they need.
from warmstart_bo import __version__
from warmstart_bo.analytics import (
    HyperparameterTuningJobAnalytics,
    best_lines,
    best_trial,
    describe_job,
)
from warmstart_bo.store import STORE_ENV, Store, StoreError, resolve_path

if TYPE_CHECKING:
    from warmstart_bo.tuner import HyperparameterTuner

_TUNER_KEYS = {
    "objective_metric_name", "objective_type", "max_jobs", "max_parallel_jobs", "strategy", "random_seed",
    "base_tuning_job_name", "early_stopping_type", "completion_criteria", "max_retry_attempts",
    "static_hyperparameters", "max_runtime_in_seconds", "executor", "warm_start_config",
}
_COMMAND_KEYS = {"command", "metric_definitions", "hyperparameter_passing", "env", "cwd"}
_OTHER_KEYS = {"hyperparameter_ranges", "job_name", "store"}


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a YAML (.yaml/.yml) or JSON tune config and checks its keys."""
    path = Path(path)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML ({_yaml_problem(e)})") from None
    else:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the config must be a mapping of settings")
    unknown = sorted(set(config) - _TUNER_KEYS - _COMMAND_KEYS - _OTHER_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown setting {unknown[0]!r}")
    for key in ("command", "metric_definitions", "objective_metric_name", "hyperparameter_ranges"):
        if key not in config:
            raise ValueError(f"{path}: missing setting {key!r}")
    return config


def _yaml_problem(e) -> str:
    """A YAML error in one line: what is wrong and where (a syntax error, or a tag such as
    ``!!python/object`` that safe_load refuses)."""
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(str(getattr(e, "problem", None) or e).split()) + where


def tuner_from_config(config: dict[str, Any], base_dir: Path, store: Store | str | None) -> HyperparameterTuner:
    from warmstart_bo.estimators import CommandLineEstimator
    from warmstart_bo.space import ranges_from_json
    from warmstart_bo.tuner import HyperparameterTuner

    cwd = config.get("cwd")
    cwd = str((base_dir / cwd).resolve()) if cwd else str(base_dir.resolve())
    estimator = CommandLineEstimator(
        config["command"], config["metric_definitions"], config.get("hyperparameter_passing", "arguments"), config.get("env"), cwd
    )
    kwargs = {k: config[k] for k in _TUNER_KEYS if k in config}
    return HyperparameterTuner(estimator, hyperparameter_ranges=ranges_from_json(config["hyperparameter_ranges"]), store=store, **kwargs)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def print_summary(store: Store, name: str) -> None:
    d = describe_job(store, name)
    counters = ", ".join(f"{k} {v}" for k, v in d["TrainingJobStatusCounters"].items() if v)
    print(f"job {name}: {d['HyperParameterTuningJobStatus']} ({d['StatusReason']}); trials: {counters or 'none'}")
    print(best_lines(d))


def config_store(config: dict[str, Any], folder: Path) -> Path | None:
    """The store a tune config names (``store:``, a path relative to the config's folder or
    a ``sqlite:///`` URL), or None."""
    location = config.get("store")
    if location is None:
        return None
    if not isinstance(location, str) or not location:
        raise ValueError(f"store must be a path or a sqlite:/// URL, got {location!r}")
    return folder / resolve_path(location)


def cmd_tune(args, config: dict[str, Any], store: Store) -> int:
    tuner = tuner_from_config(config, Path(args.config).parent, store)
    tuner.progress = not args.quiet
    name = args.job_name or config.get("job_name")
    try:
        tuner.fit(job_name=name)
    except KeyboardInterrupt:
        print(f"\njob {tuner.tuning_job_name} stopped; run the same command with --job-name {tuner.tuning_job_name} to resume it", file=sys.stderr)
        return 130
    print_summary(store, tuner.tuning_job_name)
    return 0


def cmd_jobs_list(store: Store) -> int:
    jobs = store.jobs()
    if not jobs:
        print(f"no tuning jobs in {store.path}")
        return 0
    from datetime import datetime, timezone

    rows = [("NAME", "STATUS", "TRIALS", "BY STATUS", "BEST", "CREATED")]
    for job in jobs:
        trials = store.trials(job.name)
        best = best_trial(trials, job.config["objective_type"])
        created = datetime.fromtimestamp(job.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M")
        rows.append((job.name, job.status, f"{len(trials)}/{job.config.get('max_jobs', len(trials))}", trial_counts(trials),
                     "-" if best is None else _fmt(best.objective), created))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def trial_counts(trials) -> str:
    """``15 completed, 5 stopped``: the trials by status, so that a job whose trials were
    stopped early or failed does not look unfinished."""
    counts = {s: sum(t.status == s for t in trials) for s in ("Completed", "Stopped", "Failed", "InProgress")}
    words = {"Completed": "completed", "Stopped": "stopped", "Failed": "failed", "InProgress": "running"}
    return ", ".join(f"{n} {words[s]}" for s, n in counts.items() if n) or "none"


def cmd_analytics(args, store: Store) -> int:
    import pandas as pd

    if args.compare and not args.plot:
        raise ValueError("--compare puts other jobs beside this one in the plot: give --plot PATH too")

    analytics = HyperparameterTuningJobAnalytics(args.name, store=store)
    frame = analytics.dataframe(include_parents=args.include_parents)
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
        print(frame.drop(columns=["FailureReason", "TrainingStartTime"]).to_string(index=False))
    if args.csv:
        from warmstart_bo.integrations.exporters import export_csv

        print(f"table written to {export_csv(args.name, args.csv, store, include_parents=args.include_parents)}")
    print(best_lines(analytics.description()))
    if args.plot:
        print(f"plot written to {analytics.plot(args.plot, include_parents=args.include_parents, compare=args.compare)}")
    return 0


def cmd_import(args, store: Store) -> int:
    from warmstart_bo.integrations.importers import import_csv

    # Options given win; the others come from the CSV's sidecar (an export of ours), else
    # import_csv's defaults.
    given = {"objective_metric_name": args.objective_metric, "objective_type": args.objective_type}
    name = import_csv(args.csv, args.name, store, **{k: v for k, v in given.items() if v is not None})
    print(f"imported {len(store.trials(name))} trials from {args.csv} as job {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="warmstart-bo", description="Hyperparameter tuning by Gaussian-process Bayesian optimization, with warm start.")
    parser.add_argument("--version", action="version", version=f"warmstart-bo {__version__}")
    parser.add_argument("--store", default=None, help="store file or sqlite:/// URL (default: $WARMSTART_BO_STORE or ~/.local/share/warmstart-bo/store.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tune", help="run (or resume) a tuning job of a command line described by a YAML or JSON file")
    p.add_argument("config")
    p.add_argument("--job-name", default=None, help="name of the job; an unfinished job of that name is resumed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("jobs", help="list, describe or stop stored jobs")
    jobs = p.add_subparsers(dest="jobs_command", required=True)
    jobs.add_parser("list")
    jobs.add_parser("describe").add_argument("name")
    stop = jobs.add_parser("stop", help="ask the process running a job to stop it")
    stop.add_argument("name")
    stop.add_argument("--release", action="store_true", help="the job's process is gone (killed on another host): mark the job Stopped, so that it can be resumed")
    p = sub.add_parser("analytics", help="print a job's trials; write them as CSV or a plot")
    p.add_argument("name")
    p.add_argument("--csv", default=None)
    p.add_argument("--plot", default=None, help="PNG path for the objective-over-trials plot")
    p.add_argument("--include-parents", action="store_true")
    p.add_argument("--compare", nargs="*", default=[], metavar="JOB", help="other jobs to plot beside this one (a cold start of the same task, say)")
    p = sub.add_parser("import", help="store a CSV of trials (a SageMaker analytics export, say) as a job")
    p.add_argument("name")
    p.add_argument("--csv", required=True)
    p.add_argument("--objective-metric", default=None, help="default: the CSV's sidecar's (an export of ours), else 'objective'")
    p.add_argument("--objective-type", default=None, choices=["Minimize", "Maximize"], help="default: the CSV's sidecar's (an export of ours), else Minimize")
    p = sub.add_parser("demo", help="warm start in three short jobs: a parent, a warm-started related task, the same task cold")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command in ("jobs", "analytics") and not resolve_path(args.store).exists():
            # These read an existing store: a mistyped --store must not create an empty one.
            raise StoreError(f"no store at {str(resolve_path(args.store))!r}: '{args.command}' reads an existing store (check --store or ${STORE_ENV})")
        if args.command == "tune":
            # The file's store: unless --store names one (and before $WARMSTART_BO_STORE).
            config = load_config(args.config)
            location = args.store if args.store is not None else config_store(config, Path(args.config).parent)
            return cmd_tune(args, config, Store(location))
        store = Store(args.store)
        if args.command == "jobs":
            if args.jobs_command == "list":
                return cmd_jobs_list(store)
            if args.jobs_command == "describe":
                print(json.dumps(describe_job(store, args.name), indent=2))
                return 0
            if args.release:
                store.release_job(args.name)
                print(f"job {args.name} released: {store.job(args.name).status}")
                return 0
            store.request_stop(args.name)
            print(f"stop requested for job {args.name}")
            return 0
        if args.command == "analytics":
            return cmd_analytics(args, store)
        if args.command == "import":
            return cmd_import(args, store)
        if args.trials < 1:
            parser.error("--trials must be at least 1")
        from warmstart_bo.demo import run_demo

        run_demo(store, args.trials, args.seed, args.plot)
        return 0
    except (ValueError, KeyError, OSError, StoreError) as e:
        print(f"warmstart-bo: error: {e}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as e:  # damage done after the store was opened and checked
        print(f"warmstart-bo: error: the store cannot be read, it may be damaged: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
