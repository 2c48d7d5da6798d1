"""How trials run: in threads of this process, or each in its own process.

An executor starts trials, reports the ones that finished, and cancels ones that must end
early (timeout, job stopped). Results come back to the tuner's thread as plain dicts from
:func:`warmstart_bo.estimators.run_trial`; the tuner alone writes to the store.

- :class:`ThreadExecutor` (``"threads"``): cheap to start, shares memory (and an
  accelerator) with the tuner; suits trials that release the GIL (JAX, NumPy, subprocesses).
  A cancelled thread is asked to stop at its next ``report`` and its result is ignored.
- :class:`ProcessExecutor` (``"processes"``): one fresh (spawned) process per trial, killed
  on cancel and when the tuner dies (see :mod:`warmstart_bo.lifeline`); a crash of the
  trial cannot take the tuner down. The estimator must be
  picklable: a module-level function or an instance of a module-level class.
- :class:`PopulationExecutor` (``"population"``): trials started together that share a
  ``population_key`` train as one population (``fit_population``, the image classifier's
  vmapped training) in one thread.
- :class:`RayExecutor` (``"ray"``): each trial a Ray task with the resources it asks for, on
  a local Ray started on demand or an existing cluster (``pip install warmstart-bo[ray]``).
  Results come back to the tuner, still the only writer of the store; a worker that dies
  makes its trial Failed (and retried when the job allows).
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from warmstart_bo import lifeline
from warmstart_bo.estimators import (
    Reporter,
    failed_result,
    run_population,
    run_trial,
    supports_population,
)

EXECUTORS = ("threads", "processes", "population", "ray")


def _raised(e: BaseException, report: Reporter) -> dict[str, Any]:
    """The Failed result of a trial whose thread raised past :func:`run_trial` (a
    KeyboardInterrupt from the trial's own code, say): its thread still reports, so the
    tuner never waits for a thread that has ended."""
    return failed_result(f"{type(e).__name__}: {e}"[:2000], report)


def _named(estimator: Any) -> str:
    """The user's estimator, not the adapter around it, for an error message."""
    return repr(getattr(estimator, "obj", getattr(estimator, "fn", estimator)))


def _run_trial_reporting(estimator: Any, hyperparameters: dict[str, Any], report: Reporter) -> dict[str, Any]:
    """:func:`run_trial`, with what raises past it (a KeyboardInterrupt from the trial's own
    code) recorded as the trial's failure: every executor then gives the same reason, where
    a trial process would die with "exit code 1" and Ray would call it a cancelled task."""
    try:
        return run_trial(estimator, hyperparameters, report)
    except BaseException as e:  # noqa: BLE001 - recorded as the trial's failure, as run_trial records its errors
        return _raised(e, report)


class ThreadExecutor:
    """Runs each trial in a daemon thread."""

    def __init__(self):
        self._results: queue.Queue = queue.Queue()
        self._running: dict[Any, Reporter] = {}

    def check(self, estimator: Any) -> None:
        """Threads run anything."""

    def submit(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
        report = Reporter(**reporter)
        self._running[key] = report
        thread = threading.Thread(target=self._work, args=(key, estimator, hyperparameters, report), daemon=True, name=f"trial-{key}")
        thread.start()

    def _work(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], report: Reporter) -> None:
        self._results.put((key, report, _run_trial_reporting(estimator, hyperparameters, report)))

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        """Results of trials that finished within ``timeout`` seconds (maybe none)."""
        done = []
        try:
            item = self._results.get(timeout=timeout)
            while True:
                done.append(item)
                item = self._results.get_nowait()
        except queue.Empty:
            pass
        out = []
        for key, report, result in done:
            if self._running.get(key) is report:  # a cancelled trial's late result is dropped
                del self._running[key]
                out.append((key, result))
        return out

    def cancel(self, key: Any, reason: str) -> None:
        report = self._running.pop(key, None)
        if report is not None:
            report.request_stop(reason)

    def shutdown(self) -> None:
        for key in list(self._running):
            self.cancel(key, "executor shut down")


class PopulationExecutor(ThreadExecutor):
    """Buffers the trials submitted between two waits and trains compatible ones together."""

    def __init__(self):
        super().__init__()
        self._buffer: list[tuple[Any, Any, dict[str, Any], Reporter]] = []

    def check(self, estimator: Any) -> None:
        if not supports_population(estimator):
            hint = "" if importlib.util.find_spec("flax") else ' (the harness needs Flax: pip install "warmstart-bo[harness]")'
            raise ValueError(f"executor='population' needs an estimator with fit_population() and population_key(), such as the harness's ImageClassifier{hint}")

    def submit(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
        report = Reporter(**reporter)
        self._running[key] = report
        self._buffer.append((key, estimator, hyperparameters, report))

    def _start_buffered(self) -> None:
        groups: dict[Any, list] = {}
        for item in self._buffer:
            key, estimator, hp, report = item
            try:
                population = estimator.obj.population_key(hp)
            except Exception as e:  # noqa: BLE001 - the trial's own error (a value the estimator refuses): it fails, not the job
                self._results.put((key, report, _raised(e, report)))
                continue
            groups.setdefault((id(estimator), population), []).append(item)
        self._buffer = []
        for items in groups.values():
            threading.Thread(target=self._work_population, args=(items,), daemon=True, name=f"population-{items[0][0]}").start()

    def _work_population(self, items) -> None:
        keys = [k for k, _, _, _ in items]
        reports = [r for _, _, _, r in items]
        try:
            results = run_population(items[0][1], [hp for _, _, hp, _ in items], reports)
        except BaseException as e:
            results = [_raised(e, r) for r in reports]
        for key, (_, _, _, report), result in zip(keys, items, results):
            self._results.put((key, report, result))

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        if self._buffer:
            self._start_buffered()
        return super().wait(timeout)

    def cancel(self, key: Any, reason: str) -> None:
        self._buffer = [item for item in self._buffer if item[0] != key]
        super().cancel(key, reason)


def _process_main(conn, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any], tuner_pid: int, tuner_lifeline) -> None:
    lifeline.die_with_parent(tuner_pid, tuner_lifeline)
    result = _run_trial_reporting(estimator, hyperparameters, Reporter(**reporter))
    conn.send(result)
    conn.close()


class ProcessExecutor:
    """Runs each trial in its own process (``spawn`` by default: safe with JAX and threads)."""

    # How long a trial's process may take to exit after sending its result (its atexit
    # handlers: logging, experiment trackers' flushes) before its lifeline ends it.
    EXIT_GRACE_S = 10.0

    def __init__(self, start_method: str = "spawn"):
        self._ctx = multiprocessing.get_context(start_method)
        self._running: dict[Any, tuple[Any, Any]] = {}
        self._exiting: list[tuple[Any, Any, float]] = []  # (process, lifeline, deadline) of trials that have reported

    def check(self, estimator: Any) -> None:
        """Fails early, with a clear message, for an estimator a new process cannot receive."""
        try:
            pickle.dumps(estimator)
        except Exception as e:
            raise ValueError(
                f"executor='processes' needs a picklable estimator (a module-level function or class instance); "
                f"{_named(estimator)} is not: {e}"
            ) from None

    def submit(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
        receive, send = self._ctx.Pipe(duplex=False)
        watched, held = self._ctx.Pipe(duplex=False)  # the trial's lifeline: closed when this process dies
        proc = self._ctx.Process(
            target=_process_main, args=(send, estimator, hyperparameters, dict(reporter), os.getpid(), watched), daemon=True, name=f"trial-{key}",
        )
        proc.start()
        send.close()
        watched.close()
        self._running[key] = (proc, receive, held)

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        self._reap()
        if not self._running:
            return []
        by_handle = {}
        for key, (proc, conn, _) in self._running.items():
            by_handle[conn] = key
            by_handle[proc.sentinel] = key
        ready = multiprocessing.connection.wait(list(by_handle), timeout)
        out = []
        for key in dict.fromkeys(by_handle[h] for h in ready):
            proc, conn, held = self._running.pop(key)
            try:
                result = conn.recv()
            except (EOFError, OSError):
                proc.join(5)
                result = failed_result(f"the trial's process died (exit code {proc.exitcode})")
            conn.close()
            # Never joined here: a worker that lingers after its result (a non-daemon thread
            # of the trial's) would hold this loop, and with it the other trials' results
            # and timeouts. It exits in its own time, within EXIT_GRACE_S (see _reap).
            self._exiting.append((proc, held, time.monotonic() + self.EXIT_GRACE_S))
            out.append((key, result))
        return out

    def _reap(self, wait: bool = False) -> None:
        """Joins the reported trials' processes that have exited; one past its grace ends
        through its lifeline. ``wait``: first give each the rest of its grace (at shutdown)."""
        pending = []
        for proc, held, deadline in self._exiting:
            if wait:
                proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive() and time.monotonic() < deadline:
                pending.append((proc, held, deadline))
                continue
            held.close()
            proc.join(5)
        self._exiting = pending

    def cancel(self, key: Any, reason: str) -> None:
        entry = self._running.pop(key, None)
        if entry is not None:
            proc, conn, held = entry
            proc.kill()
            proc.join(5)
            conn.close()
            held.close()

    def shutdown(self) -> None:
        for key in list(self._running):
            self.cancel(key, "executor shut down")
        self._reap(wait=True)


def _ray_trial(estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> dict[str, Any]:
    """A trial inside a Ray worker: the same :func:`run_trial` as everywhere, early
    stopping included (the reporter carries the finished trials' curves)."""
    return _run_trial_reporting(estimator, hyperparameters, Reporter(**reporter))


class RayExecutor:
    """Runs each trial as a Ray task.

    Args:
      address: a running cluster (``"auto"``, ``"ray://head:10001"``, ...); None starts a
        local Ray on first use, unless this process already has one (``ray.init``).
      num_cpus, num_gpus: what each trial asks for; fractions share a device (``0.5``
        runs two trials per GPU).
      resources: custom resources per trial (``{"accelerator_type:H100": 0.01}``).
      init_options: extra ``ray.init`` arguments (``num_cpus`` of a local Ray, a
        ``runtime_env`` that ships code to a cluster, ...).

    Ray's own task retries are off: a trial whose worker dies comes back Failed, and the
    tuner's ``max_retry_attempts`` decides whether it runs again. A cancelled trial's
    worker is killed (``ray.cancel(force=True)``).
    """

    kind = "ray"

    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float = 0, resources: Mapping[str, float] | None = None, init_options: Mapping[str, Any] | None = None):
        for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"RayExecutor {name} must be a non-negative number, got {value!r}")
        self.address = address
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.resources = dict(resources or {})
        self.init_options = dict(init_options or {})
        self._running: dict[Any, Any] = {}
        self._remote = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "address": self.address, "num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "resources": self.resources, "init_options": self.init_options}

    @staticmethod
    def _import_ray():
        try:
            import ray
        except ImportError:
            raise ValueError("executor='ray' needs Ray: pip install 'warmstart-bo[ray]'") from None
        return ray

    def _ray(self):
        ray = self._import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, **self.init_options)
        if self._remote is None:
            self._remote = ray.remote(_ray_trial).options(
                num_cpus=self.num_cpus, num_gpus=self.num_gpus, resources=self.resources or None, max_retries=0, retry_exceptions=False,
            )
        return ray

    def check(self, estimator: Any) -> None:
        """Fails early when Ray is missing or the estimator cannot be shipped to a worker."""
        ray = self._import_ray()
        try:
            ray.cloudpickle.dumps(estimator)
        except Exception as e:
            raise ValueError(f"executor='ray' needs an estimator that cloudpickle can send to a worker; {_named(estimator)} is not: {e}") from None

    def submit(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
        self._ray()
        self._running[key] = self._remote.remote(estimator, hyperparameters, dict(reporter))

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        if not self._running:
            return []
        ray = self._ray()
        by_ref = {ref: key for key, ref in self._running.items()}
        ready, rest = ray.wait(list(by_ref), num_returns=1, timeout=timeout)
        if rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        out = []
        for ref in ready:
            key = by_ref[ref]
            del self._running[key]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:
                first = (str(e).strip().splitlines() or [""])[0]
                result = failed_result(f"the trial's Ray worker failed ({type(e).__name__}): {first[:300]}")
            out.append((key, result))
        return out

    def cancel(self, key: Any, reason: str) -> None:
        ref = self._running.pop(key, None)
        if ref is not None:
            self._import_ray().cancel(ref, force=True)

    def shutdown(self) -> None:
        for key in list(self._running):
            self.cancel(key, "executor shut down")


RAY_OPTIONS = ("address", "num_cpus", "num_gpus", "resources", "init_options")


def executor_spec(executor: Any) -> str | dict[str, Any]:
    """What a job stores about its executor: a name, or a Ray executor's settings."""
    if isinstance(executor, RayExecutor):
        return executor.to_json()
    if isinstance(executor, Mapping) and executor.get("kind") == "ray":
        return dict(executor)
    if isinstance(executor, str) and executor in EXECUTORS:
        return executor
    raise ValueError(f"executor must be one of {EXECUTORS} or a RayExecutor, got {executor!r}")


def make_executor(kind: str | Mapping[str, Any]) -> ThreadExecutor | ProcessExecutor | PopulationExecutor | RayExecutor:
    """A fresh executor from a name or a stored spec (see :func:`executor_spec`)."""
    if isinstance(kind, Mapping):
        options = {k: v for k, v in kind.items() if k != "kind"}
        unknown = sorted(set(options) - set(RAY_OPTIONS))
        if unknown:
            raise ValueError(f"unknown RayExecutor setting {unknown[0]!r}; expected {', '.join(RAY_OPTIONS)}")
        return RayExecutor(**options)
    if kind == "ray":
        return RayExecutor()
    if kind == "threads":
        return ThreadExecutor()
    if kind == "processes":
        return ProcessExecutor()
    if kind == "population":
        return PopulationExecutor()
    raise ValueError(f"executor must be one of {EXECUTORS}, got {kind!r}")
