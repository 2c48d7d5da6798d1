"""What a trial runs: a Python callable, an object with ``fit``, or a command line.

Every estimator kind is adapted to one interface, ``run(hyperparameters, report) -> metrics``,
and :func:`run_trial` turns whatever happens (a value, a dict of metrics, an exception, an
early stop) into a plain, JSON-ready result dict that the tuner records.

Intermediate values reach the tuner through ``report(step, metrics)``: a callable or a
``fit`` method that declares a ``report`` parameter receives it; a command line reports every
match of the objective metric's regular expression. ``report`` raises :class:`TrialStopped`
when the trial should end early (the median rule, a timeout, or the job being stopped);
let it propagate.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from warmstart_bo import lifeline
from warmstart_bo.early_stopping import MedianRule


class TrialStopped(Exception):
    """Raised by ``report`` when the trial must stop early; carries the reason."""


class Reporter:
    """The ``report(step, metrics)`` callable handed to a running trial.

    Args:
      objective_metric_name: which metric is the objective.
      sign: +1 when larger objective values are better, -1 when smaller are.
      finished_curves: earlier finished trials' ``[(step, value), ...]`` in raw values, used by
        the median rule when ``early_stopping`` is on.
    """

    def __init__(self, objective_metric_name: str, sign: float = 1.0, finished_curves: Sequence = (), early_stopping: bool = False):
        self.objective_metric_name = objective_metric_name
        self.sign = float(sign)
        self.early_stopping = bool(early_stopping)
        self._rule = MedianRule([[(s, self.sign * v) for s, v in c] for c in finished_curves]) if self.early_stopping else None
        self._best: float | None = None  # the best oriented value so far
        self.curve: list[tuple[float, float]] = []
        self.last_metrics: dict[str, float] = {}
        self.early_stopped_at: float | None = None
        self._stop_reason: str | None = None
        self._on_stop: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def __call__(self, step: float, metrics: float | Mapping[str, float]) -> None:
        step = _finite_step(step)
        if isinstance(metrics, Mapping):
            values = {str(k): float(v) for k, v in metrics.items()}
        else:
            values = {self.objective_metric_name: float(metrics)}
        self.last_metrics.update(values)
        value = values.get(self.objective_metric_name)
        if value is not None and math.isfinite(value):
            self.curve.append((step, value))
        if self._stop_reason is not None:
            raise TrialStopped(self._stop_reason)
        if self._rule is not None and value is not None and math.isfinite(value):
            self._best = self.sign * value if self._best is None else max(self._best, self.sign * value)
            if self._rule.should_stop(len(self.curve), step, self._best):
                self.early_stopped_at = float(step)
                raise TrialStopped(f"early stopped by the median rule at step {step:g}")

    def request_stop(self, reason: str) -> None:
        """Makes the next ``report`` raise, and runs the estimator's stop hooks (killing a
        command line, for example)."""
        with self._lock:
            self._stop_reason = reason
            hooks = list(self._on_stop)
        for hook in hooks:
            try:
                hook()
            except OSError:
                pass  # the process already ended

    def on_stop(self, hook: Callable[[], None]) -> None:
        with self._lock:
            self._on_stop.append(hook)
            stopped = self._stop_reason is not None
        if stopped:
            hook()


def _finite_step(step: Any) -> float:
    """A reported step as a float; anything else is refused by name (raised in the trial,
    so a bad report fails that trial, never the job that stores its curve as JSON)."""
    try:
        value = float(step)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(step, (bool, np.bool_)) or not math.isfinite(value):
        raise ValueError(f"report step must be a finite number, got {step!r}")
    return value


def _wants_report(fn: Callable) -> bool:
    try:
        return "report" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class FunctionEstimator:
    """A callable ``fn(hyperparameters) -> float | dict`` (optionally ``fn(hp, report=...)``)."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self._wants_report = _wants_report(fn)

    def run(self, hyperparameters: dict[str, Any], report: Reporter) -> Any:
        return self.fn(hyperparameters, report=report) if self._wants_report else self.fn(hyperparameters)

    def describe(self) -> dict[str, Any]:
        return {"type": "callable", "name": f"{getattr(self.fn, '__module__', '?')}.{getattr(self.fn, '__qualname__', type(self.fn).__name__)}"}


class FitEstimator:
    """An object with ``fit(hyperparameters) -> metrics`` (optionally ``fit(hp, report=...)``)."""

    def __init__(self, obj: Any):
        self.obj = obj
        self._wants_report = _wants_report(obj.fit)

    def run(self, hyperparameters: dict[str, Any], report: Reporter) -> Any:
        return self.obj.fit(hyperparameters, report=report) if self._wants_report else self.obj.fit(hyperparameters)

    def describe(self) -> dict[str, Any]:
        cls = type(self.obj)
        return {"type": "fit", "name": f"{cls.__module__}.{cls.__qualname__}"}


HYPERPARAMETER_PASSING = ("arguments", "environment")


def _env_name(name: str) -> str:
    return "SM_HP_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _arg_text(value: Any) -> str:
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


# Matches the metric regexes against a command's output in a process of its own, one JSON
# line [line, {name: first group}] per output line: Python's re holds the GIL while it
# matches, so a catastrophic pattern (^(a+)+$) run in the tuner would stall every thread,
# the timeout's included. Killing this process ends any match.
_PARSER = """
import json, re
patterns = [(name, re.compile(regex)) for name, regex in json.loads(sys.argv[2])]
sys.stdin.reconfigure(errors="replace")
for line in sys.stdin:
    found = {}
    for name, pattern in patterns:
        m = pattern.search(line)
        if m:
            found[name] = m.group(1)
    sys.stdout.write(json.dumps([line.rstrip(), found]) + "\\n")
    sys.stdout.flush()
"""


class CommandLineEstimator:
    """A command run as a subprocess; metrics are parsed from its output.

    Args:
      command: the command, as a list of arguments or a string (split like a shell would).
      metric_definitions: ``[{"Name": ..., "Regex": ...}]``; the first group of each regular
        expression is the value. Every line of stdout and stderr is searched; a metric's last
        match is its final value, and each match of the objective metric is an intermediate
        value (step 1, 2, ...) for early stopping.
      hyperparameter_passing: ``"arguments"`` appends ``--name value`` for each
        hyperparameter; ``"environment"`` sets ``SM_HP_<NAME>`` for each one and ``SM_HPS``
        to all of them as JSON (as SageMaker does).
      env: extra environment variables; cwd: the working directory.
    """

    def __init__(
        self,
        command: str | Sequence[str],
        metric_definitions: Sequence[Mapping[str, str]],
        hyperparameter_passing: str = "arguments",
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ):
        self.command = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        if not self.command:
            raise ValueError("command is empty")
        if hyperparameter_passing not in HYPERPARAMETER_PASSING:
            raise ValueError(f"hyperparameter_passing must be one of {HYPERPARAMETER_PASSING}, got {hyperparameter_passing!r}")
        self.hyperparameter_passing = hyperparameter_passing
        self.env = {str(k): str(v) for k, v in (env or {}).items()}
        self.cwd = cwd
        if not metric_definitions:
            raise ValueError("a command-line estimator needs metric_definitions, [{'Name': ..., 'Regex': ...}]")
        self.metric_definitions = []
        self._patterns = {}
        for d in metric_definitions:
            if not isinstance(d, Mapping) or set(d) != {"Name", "Regex"}:
                raise ValueError(f"each metric definition needs exactly the keys 'Name' and 'Regex', got {d!r}")
            name, regex = str(d["Name"]), str(d["Regex"])
            try:
                pattern = re.compile(regex)
            except re.error as e:
                raise ValueError(f"metric {name!r}: invalid regular expression {regex!r}: {e}") from None
            if pattern.groups < 1:
                raise ValueError(f"metric {name!r}: regular expression {regex!r} needs a group capturing the value")
            self.metric_definitions.append({"Name": name, "Regex": regex})
            self._patterns[name] = pattern

    @property
    def metric_names(self) -> list[str]:
        return [d["Name"] for d in self.metric_definitions]

    def describe(self) -> dict[str, Any]:
        return {
            "type": "command",
            "command": self.command,
            "metric_definitions": self.metric_definitions,
            "hyperparameter_passing": self.hyperparameter_passing,
            "env": self.env,
            "cwd": self.cwd,
        }

    def run(self, hyperparameters: dict[str, Any], report: Reporter) -> dict[str, float]:
        args = list(self.command)
        env = dict(os.environ, **self.env)
        if self.hyperparameter_passing == "arguments":
            for k, v in hyperparameters.items():
                args += [f"--{k}", _arg_text(v)]
        else:
            env["SM_HPS"] = json.dumps(hyperparameters)
            env.update({_env_name(k): _arg_text(v) for k, v in hyperparameters.items()})
        proc, release = lifeline.popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=self.cwd)
        report.on_stop(proc.kill)
        try:
            # The parser ends at the end of its input, so it needs no watchdog of its own.
            parser = subprocess.Popen(
                lifeline.python_command(_PARSER) + [json.dumps([[d["Name"], d["Regex"]] for d in self.metric_definitions])],
                stdin=proc.stdout, stdout=subprocess.PIPE, text=True,
            )
        except BaseException:
            proc.kill()
            proc.wait()
            release()
            raise
        proc.stdout.close()  # the parser's now: it sees end-of-file when the command ends
        report.on_stop(parser.kill)
        tail: deque[str] = deque(maxlen=10)
        metrics: dict[str, float] = {}
        steps = 0
        try:
            for message in parser.stdout:
                line, matches = json.loads(message)
                tail.append(line)
                found = {}
                for name, text in matches.items():
                    try:
                        found[name] = float(text)
                    except (TypeError, ValueError):
                        continue
                metrics.update(found)
                if report.objective_metric_name in found:
                    steps += 1
                    report(steps, {report.objective_metric_name: found[report.objective_metric_name]})
            code = proc.wait()
        finally:
            for p in (parser, proc):
                if p.poll() is None:
                    p.kill()
                    p.wait()
            parser.stdout.close()
            release()
        report(steps, {})  # raises if a stop was requested while the process ran
        if code != 0:
            raise RuntimeError(f"command exited with status {code}; last output: {' | '.join(tail)[-500:]}")
        if report.objective_metric_name not in metrics:
            raise RuntimeError(
                f"objective metric {report.objective_metric_name!r} not found in the command's output "
                f"(regex {self._patterns[report.objective_metric_name].pattern!r}); last output: {' | '.join(tail)[-300:]}"
            )
        return metrics


def as_estimator(estimator: Any):
    """Adapts a callable, an object with ``fit``, or one of this module's estimators."""
    if isinstance(estimator, (FunctionEstimator, FitEstimator, CommandLineEstimator)):
        return estimator
    if hasattr(estimator, "fit") and callable(estimator.fit):
        return FitEstimator(estimator)
    if callable(estimator):
        return FunctionEstimator(estimator)
    raise TypeError(
        f"estimator must be a callable taking a dict of hyperparameters, an object with a fit(hyperparameters) method, "
        f"or a CommandLineEstimator; got {type(estimator).__name__}"
    )


def estimator_from_description(desc: Mapping[str, Any]) -> CommandLineEstimator:
    """Rebuilds a stored command-line estimator (Python callables are not stored: pass them)."""
    if desc.get("type") != "command":
        raise ValueError(f"a {desc.get('type')} estimator ({desc.get('name')}) is not stored; pass estimator= to resume the job")
    return CommandLineEstimator(desc["command"], desc["metric_definitions"], desc["hyperparameter_passing"], desc.get("env"), desc.get("cwd"))


class _BadOutput(Exception):
    """The trial returned something that is not a number or a dict of numbers."""


def _metrics_from_output(out: Any, objective: str) -> dict[str, float]:
    if isinstance(out, (bool, np.bool_)):  # a truth value is no measurement, whatever its type
        raise _BadOutput(f"the trial returned {out!r}; expected a number or a dict of metric values")
    if isinstance(out, (int, float)) or (hasattr(out, "__float__") and not isinstance(out, (str, bytes, Mapping))):
        return {objective: float(out)}
    if isinstance(out, Mapping):
        metrics = {}
        for k, v in out.items():
            if isinstance(v, (bool, np.bool_)):
                raise _BadOutput(f"metric {k!r} is a bool ({v!r}), not a number")
            if isinstance(v, (str, bytes)):  # text is refused as a returned objective is, even "0.3"
                raise _BadOutput(f"metric {k!r} is not a number: {v!r}")
            try:
                metrics[str(k)] = float(v)
            except (TypeError, ValueError):
                raise _BadOutput(f"metric {k!r} is not a number: {v!r}") from None
        return metrics
    raise _BadOutput(f"the trial returned a {type(out).__name__}; expected a number or a dict of metric values")


def failed_result(reason: str, report: Reporter | None = None) -> dict[str, Any]:
    """A Failed trial's result, keeping what it reported before failing."""
    return {
        "status": "Failed",
        "objective": None,
        "metrics": dict(report.last_metrics) if report is not None else {},
        "intermediate": [list(p) for p in report.curve] if report is not None else [],
        "failure_reason": reason,
    }


def _result(metrics: dict[str, float], report: Reporter) -> dict[str, Any]:
    """A finished trial's result from its metrics (see :func:`run_trial`): those it returned,
    beside the last value of each other metric it reported on the way (as SageMaker keeps
    every metric a training job emitted). The objective is the one returned."""
    name = report.objective_metric_name
    returned, metrics = sorted(metrics), {**{k: v for k, v in report.last_metrics.items() if k != name}, **metrics}
    if name not in metrics:
        return {**failed_result(f"objective metric {name!r} is missing from the metrics the trial returned: {returned}", report), "metrics": metrics}
    value = metrics[name]
    if not math.isfinite(value):
        return {**failed_result(f"objective metric {name!r} is {value!r}", report), "metrics": metrics}
    return {"status": "Completed", "objective": value, "metrics": metrics, "intermediate": [list(p) for p in report.curve], "failure_reason": None}


def _stopped(report: Reporter, reason: str) -> dict[str, Any]:
    """A trial ended by ``report`` raising: Stopped if early stopping did it, else Failed."""
    early = report.early_stopped_at is not None
    return {
        "status": "Stopped" if early else "Failed",
        "objective": report.curve[-1][1] if early and report.curve else None,
        "metrics": dict(report.last_metrics),
        "intermediate": [list(p) for p in report.curve],
        "failure_reason": reason,
    }


def supports_population(estimator: Any) -> bool:
    """Whether the estimator can train several trials together (``fit_population``)."""
    return isinstance(estimator, FitEstimator) and callable(getattr(estimator.obj, "fit_population", None)) and callable(getattr(estimator.obj, "population_key", None))


def run_population(estimator: FitEstimator, hyperparameters: list[dict[str, Any]], reports: list[Reporter]) -> list[dict[str, Any]]:
    """Runs trials together with the estimator's ``fit_population``; one result per trial.

    A member whose ``report`` raises (early stopping, timeout, job stop) is recorded from
    that point on as stopped; the others train on. An exception of the population fails
    every member with its reason.
    """
    ended: dict[int, str] = {}

    def member_report(i: int, epoch: int, metrics: dict[str, float]) -> None:
        if i in ended:
            return
        try:
            reports[i](epoch, metrics)
        except TrialStopped as e:
            ended[i] = str(e)

    try:
        outputs = estimator.obj.fit_population(hyperparameters, report=member_report)
    except (Exception, SystemExit) as e:  # the trials' own error: recorded, never raised
        return [failed_result(f"{type(e).__name__}: {e}"[:2000], r) for r in reports]
    kind = type(outputs).__name__
    try:  # a list, a tuple, an array or a generator of results
        outputs = None if isinstance(outputs, (str, bytes, Mapping)) else list(outputs)
    except TypeError:  # not iterable: a number, a 0-d array
        outputs = None
    n = None if outputs is None else len(outputs)
    if n != len(reports):  # one result per trial, or the tuner would wait for the missing ones for ever
        got = f"{n} results" if n is not None else f"a {kind}"
        return [failed_result(f"fit_population returned {got} for {len(reports)} configurations; expected one result each", r) for r in reports]
    results = []
    for i, (out, report) in enumerate(zip(outputs, reports)):
        if i in ended:
            results.append(_stopped(report, ended[i]))
            continue
        try:
            results.append(_result(_metrics_from_output(out, report.objective_metric_name), report))
        except _BadOutput as e:
            results.append(failed_result(str(e), report))
    return results


def run_trial(estimator: Any, hyperparameters: dict[str, Any], report: Reporter) -> dict[str, Any]:
    """Runs one trial and returns its result as plain data.

    Returns a dict with ``status`` ("Completed", "Failed" or "Stopped"), ``objective`` (a
    finite float or None), ``metrics``, ``intermediate`` (``[[step, value], ...]``) and
    ``failure_reason``. Never raises for an error of the trial itself.
    """
    try:
        out = estimator.run(hyperparameters, report)
        metrics = _metrics_from_output(out, report.objective_metric_name)
    except _BadOutput as e:
        return failed_result(str(e), report)
    except TrialStopped as e:
        return _stopped(report, str(e))
    except (Exception, SystemExit) as e:  # the trial's own error (sys.exit too, argparse's say): recorded, never raised
        return failed_result(f"{type(e).__name__}: {e}"[:2000], report)
    return _result(metrics, report)
