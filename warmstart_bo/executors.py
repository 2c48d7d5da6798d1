"""How trials run: in threads of this process, or each in its own process.

An executor starts trials, reports the ones that finished, and cancels ones that must end
early (timeout, job stopped). Results come back to the tuner's thread as plain dicts from
:func:`warmstart_bo.estimators.run_trial`; the tuner alone writes to the store.

- :class:`ThreadExecutor` (``"threads"``): cheap to start, shares memory (and an
  accelerator) with the tuner; suits trials that release the GIL (JAX, NumPy, subprocesses).
  A cancelled thread is asked to stop at its next ``report`` and its result is ignored.
- :class:`ProcessExecutor` (``"processes"``): one fresh (spawned) process per trial, killed
  on cancel; a crash of the trial cannot take the tuner down. The estimator must be
  picklable: a module-level function or an instance of a module-level class.
- :class:`PopulationExecutor` (``"population"``): trials started together that share a
  ``population_key`` train as one population (``fit_population``, the image classifier's
  vmapped training) in one thread.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import pickle
import queue
import threading
from collections.abc import Mapping
from typing import Any

from warmstart_bo.estimators import (
    Reporter,
    failed_result,
    run_population,
    run_trial,
    supports_population,
)

EXECUTORS = ("threads", "processes", "population")


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
        self._results.put((key, report, run_trial(estimator, hyperparameters, report)))

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
            raise ValueError("executor='population' needs an estimator with fit_population() and population_key(), such as the harness's ImageClassifier")

    def submit(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
        report = Reporter(**reporter)
        self._running[key] = report
        self._buffer.append((key, estimator, hyperparameters, report))

    def _start_buffered(self) -> None:
        groups: dict[Any, list] = {}
        for item in self._buffer:
            _, estimator, hp, _ = item
            groups.setdefault((id(estimator), estimator.obj.population_key(hp)), []).append(item)
        self._buffer = []
        for items in groups.values():
            threading.Thread(target=self._work_population, args=(items,), daemon=True, name=f"population-{items[0][0]}").start()

    def _work_population(self, items) -> None:
        keys = [k for k, _, _, _ in items]
        results = run_population(items[0][1], [hp for _, _, hp, _ in items], [r for _, _, _, r in items])
        for key, (_, _, _, report), result in zip(keys, items, results):
            self._results.put((key, report, result))

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        if self._buffer:
            self._start_buffered()
        return super().wait(timeout)

    def cancel(self, key: Any, reason: str) -> None:
        self._buffer = [item for item in self._buffer if item[0] != key]
        super().cancel(key, reason)


def _process_main(conn, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
    result = run_trial(estimator, hyperparameters, Reporter(**reporter))
    conn.send(result)
    conn.close()


class ProcessExecutor:
    """Runs each trial in its own process (``spawn`` by default: safe with JAX and threads)."""

    def __init__(self, start_method: str = "spawn"):
        self._ctx = multiprocessing.get_context(start_method)
        self._running: dict[Any, tuple[Any, Any]] = {}

    def check(self, estimator: Any) -> None:
        """Fails early, with a clear message, for an estimator a new process cannot receive."""
        try:
            pickle.dumps(estimator)
        except Exception as e:
            raise ValueError(
                f"executor='processes' needs a picklable estimator (a module-level function or class instance); "
                f"{estimator!r} is not: {e}"
            ) from None

    def submit(self, key: Any, estimator: Any, hyperparameters: dict[str, Any], reporter: Mapping[str, Any]) -> None:
        receive, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_process_main, args=(send, estimator, hyperparameters, dict(reporter)), daemon=True, name=f"trial-{key}")
        proc.start()
        send.close()
        self._running[key] = (proc, receive)

    def wait(self, timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        if not self._running:
            return []
        by_handle = {}
        for key, (proc, conn) in self._running.items():
            by_handle[conn] = key
            by_handle[proc.sentinel] = key
        ready = multiprocessing.connection.wait(list(by_handle), timeout)
        out = []
        for key in dict.fromkeys(by_handle[h] for h in ready):
            proc, conn = self._running.pop(key)
            try:
                result = conn.recv()
            except (EOFError, OSError):
                proc.join(5)
                result = failed_result(f"the trial's process died (exit code {proc.exitcode})")
            conn.close()
            proc.join(5)
            out.append((key, result))
        return out

    def cancel(self, key: Any, reason: str) -> None:
        entry = self._running.pop(key, None)
        if entry is not None:
            proc, conn = entry
            proc.kill()
            proc.join(5)
            conn.close()

    def shutdown(self) -> None:
        for key in list(self._running):
            self.cancel(key, "executor shut down")


def make_executor(kind: str) -> ThreadExecutor | ProcessExecutor:
    if kind == "threads":
        return ThreadExecutor()
    if kind == "processes":
        return ProcessExecutor()
    if kind == "population":
        return PopulationExecutor()
    raise ValueError(f"executor must be one of {EXECUTORS}, got {kind!r}")
