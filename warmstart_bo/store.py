"""The store: tuning jobs and their trials in one SQLite file.

One file holds every job, looked up by name. The schema is versioned (``PRAGMA
user_version``) and marked as ours (``PRAGMA application_id``), and every page is read
once on opening (``PRAGMA quick_check``), so a foreign or corrupted file is refused with a
clear error before anything is written to it. Values are JSON: nothing is pickled, so
opening a store never runs code. A store on a read-only mount opens read-only.

The file runs in WAL mode with a busy timeout, so several processes (each running its own
job) can share it; every write is one short ``BEGIN IMMEDIATE`` transaction, committed
before the call returns, so a process killed at any moment loses no finished trial.

Schema (version 1)::

    jobs(name PRIMARY KEY, status, config JSON, created_at, updated_at, end_time,
         status_reason, stop_requested, owner_host, owner_pid, random_seed)
    parents(job_name, position, parent_name)             -- warm-start parents, in order
    trials(job_name, trial_index, name UNIQUE, status, hyperparameters JSON,
           objective, metrics JSON, intermediate JSON, start_time, end_time,
           failure_reason, attempts, PRIMARY KEY (job_name, trial_index))

Times are seconds since the epoch (UTC). Statuses: jobs are ``InProgress``, ``Completed``,
``Failed`` or ``Stopped``; trials the same. A job's ``updated_at`` is its owner's last write
or heartbeat (``HEARTBEAT_S``): a second runner's error says how long ago that was.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
APPLICATION_ID = 0x57534230  # "WSB0"
STORE_ENV = "WARMSTART_BO_STORE"
# The strategy a job imported from elsewhere records (``integrations.importers``): read, never run.
IMPORTED = "Imported"
BUSY_TIMEOUT_S = 60.0
# A running job's owner writes ``updated_at`` about this often (``heartbeat``): how long ago
# it was last heard from is in the error a second runner gets.
HEARTBEAT_S = 15.0

JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopped")
TRIAL_STATUSES = ("InProgress", "Completed", "Failed", "Stopped")
FINISHED = ("Completed", "Failed", "Stopped")

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")

_SCHEMA = """
CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    end_time REAL,
    status_reason TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    owner_host TEXT,
    owner_pid INTEGER,
    random_seed INTEGER
);
CREATE TABLE parents (
    job_name TEXT NOT NULL REFERENCES jobs(name),
    position INTEGER NOT NULL,
    parent_name TEXT NOT NULL,
    PRIMARY KEY (job_name, position)
);
CREATE TABLE trials (
    job_name TEXT NOT NULL REFERENCES jobs(name),
    trial_index INTEGER NOT NULL,
    name TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    hyperparameters TEXT NOT NULL,
    objective REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    intermediate TEXT NOT NULL DEFAULT '[]',
    start_time REAL,
    end_time REAL,
    failure_reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (job_name, trial_index)
);
"""


class StoreError(Exception):
    """The store file cannot be used (corrupted, foreign, or from a newer version)."""


class JobNotFoundError(KeyError):
    """No job of that name in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreNotFoundError(StoreError, JobNotFoundError):
    """No store at that path, so no job either: a :class:`JobNotFoundError` to code that
    reads a job and falls back to creating it."""


class JobExistsError(ValueError):
    """A job of that name already exists."""


class JobRunningError(ValueError):
    """The job is being run now, by another process or by another run in this one."""


def validate_job_name(name: str) -> str:
    """Job names: 1 to 63 letters, digits and hyphens, starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):  # fullmatch: "$" would allow a final "\n"
        raise ValueError(
            f"invalid job name {name!r}: use 1 to 63 letters, digits and hyphens, starting with a letter or digit"
        )
    return name


def default_path() -> Path:
    """``$WARMSTART_BO_STORE`` if set, else ``$XDG_DATA_HOME/warmstart-bo/store.db``
    (``~/.local/share/warmstart-bo/store.db``)."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "warmstart-bo" / "store.db"


def resolve_path(location: str | os.PathLike | None) -> Path:
    """A path, a ``sqlite:///relative`` or ``sqlite:////absolute`` URL, or None for the default."""
    if location is None:
        return default_path()
    text = os.fspath(location)
    if "://" in text:
        if not text.startswith("sqlite:///"):
            raise StoreError(f"unsupported store URL {text!r}: only sqlite:///PATH is supported")
        text = text[len("sqlite:///"):]
        if not text:
            raise StoreError("store URL names no file: use sqlite:///PATH")
    return Path(text).expanduser()


def existing_store(location: Store | str | os.PathLike | None) -> Store:
    """``location``'s store, which must exist: for calls that read jobs, so that a mistyped
    path says so instead of creating an empty store (and its folders) there."""
    if isinstance(location, Store):
        return location
    path = resolve_path(location)
    if not path.exists():
        raise StoreNotFoundError(f"no store at {str(path)!r} (check the path or ${STORE_ENV})")
    return Store(location)


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False)  # key order kept: it is the order of the search space


def json_safe_metrics(metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """Metric values as JSON numbers; NaN and infinities (not JSON) become None."""
    out = {}
    for k, v in metrics.items():
        v = float(v)
        out[str(k)] = v if math.isfinite(v) else None
    return out


@dataclass(frozen=True)
class JobRecord:
    name: str
    status: str
    config: dict[str, Any]
    created_at: float
    updated_at: float
    end_time: float | None
    status_reason: str | None
    stop_requested: bool
    owner_host: str | None
    owner_pid: int | None
    random_seed: int | None
    parents: tuple[str, ...]


@dataclass(frozen=True)
class TrialRecord:
    job_name: str
    index: int
    name: str
    status: str
    hyperparameters: dict[str, Any]
    objective: float | None
    metrics: dict[str, float | None]
    intermediate: list[list[float]]
    start_time: float | None
    end_time: float | None
    failure_reason: str | None
    attempts: int


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _not_writable(path: Path) -> bool:
    """An existing store whose file or folder this process may not write (a read-only mount)."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA quick_check`` finds wrong (an empty list for an intact file); it reads
    every page once, without the index cross-checks of ``integrity_check``."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as e:
        return [str(e)]
    return [] if rows == ["ok"] else rows


def _corrupted(path: Path, problems: list[str]) -> StoreError:
    found = " ".join("; ".join(problems).split())[:300]  # one line
    return StoreError(f"store {str(path)!r} is corrupted ({found}); the file was left untouched: restore it from a backup")


def _process(pid: int) -> tuple[str, float] | None:
    """Process ``pid`` of this host as ``/proc`` tells it (Linux): its state letter and when
    it started (seconds since the epoch); None where it cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _owner_alive(host: str | None, pid: int | None, heard: float) -> bool:
    """Whether the process that owns a job still runs (``heard``: its last write or
    heartbeat). On another host it cannot be told from here, and is assumed alive
    (:meth:`Store.release_job` declares it gone). On this host: no such process, a zombie,
    or one that started after that write (its PID reused) is not the owner."""
    if host is None or pid is None:
        return False
    if host != socket.gethostname():
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    seen = _process(pid)
    return seen is None or (seen[0] not in "ZX" and seen[1] <= heard + 1.0)  # the owner wrote after it started


class Store:
    """Jobs and trials in one SQLite file (see the module docstring for the schema).

    Args:
      location: a path, a ``sqlite:///PATH`` URL, or None for :func:`default_path`.
      read_only: open for reading only; also chosen when the file or its folder is not
        writable (a read-only mount). Writes then raise StoreError.

    Raises:
      StoreError: the file is not a SQLite database, is some other program's database, is
        corrupted (``PRAGMA quick_check``), or was written by a newer schema. The file is
        left untouched.
    """

    def __init__(self, location: str | os.PathLike | None = None, read_only: bool = False):
        self.path = resolve_path(location)
        self._lock = threading.RLock()
        recheck = self._check_existing()
        self.read_only = read_only or _not_writable(self.path)
        if self.read_only:
            self._conn = self._connect_read_only()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open store {str(self.path)!r}: {e}") from e
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            if recheck:
                self._refuse_if_corrupted(self._conn)
            self._initialize()  # checks the file again, now under a lock, before changing it
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise StoreError(f"cannot use store {str(self.path)!r}: {e}") from e
        except StoreError:
            self._conn.close()
            raise

    def _check_existing(self) -> bool:
        """Reads an existing file read-only and refuses it unless it is one of our stores,
        intact (``PRAGMA quick_check``). Returns True when the check must be repeated on
        the live connection: a -wal file says another process may be checkpointing into
        the file, so a failed check of the file alone may be a torn read, not corruption."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        if self.path.is_dir():
            raise StoreError(f"store path {str(self.path)!r} is a directory")
        try:
            # immutable: no locks, no -wal/-shm files, nothing written beside a foreign file.
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                problems = _integrity_problems(conn) if app_id == APPLICATION_ID else []
            finally:
                conn.close()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{str(self.path)!r} is not a warmstart-bo store: not a SQLite database or corrupted ({e}); the file was left untouched") from e
        if app_id != APPLICATION_ID:
            if app_id == 0 and not tables:
                return False
            raise StoreError(f"{str(self.path)!r} is a SQLite database of another program (tables {tables[:5]}), not a warmstart-bo store; the file was left untouched")
        if version > SCHEMA_VERSION:
            raise StoreError(f"store {str(self.path)!r} has schema version {version}, newer than this warmstart-bo understands ({SCHEMA_VERSION}); upgrade warmstart-bo")
        if problems and not _wal_path(self.path).exists():
            raise _corrupted(self.path, problems)
        return bool(problems)

    def _refuse_if_corrupted(self, conn: sqlite3.Connection) -> None:
        problems = _integrity_problems(conn)
        if problems:
            conn.close()
            raise _corrupted(self.path, problems)

    def _connect_read_only(self) -> sqlite3.Connection:
        """A read-only connection, for a store whose file or folder is not writable (a
        read-only mount) or that was opened with ``read_only=True``. Without a -wal file
        no process writes the store, and ``immutable`` reads it without creating one."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            raise StoreError(f"no warmstart-bo store at {str(self.path)!r} to open read-only")
        uri = f"{self.path.resolve().as_uri()}?mode=ro" + ("" if _wal_path(self.path).exists() else "&immutable=1")
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                conn.close()
                raise StoreError(f"{str(self.path)!r} is not a warmstart-bo store, and it is read-only: it cannot be made one")
            self._refuse_if_corrupted(conn)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot read store {str(self.path)!r}: {e}") from e
        return conn

    def _initialize(self) -> None:
        with self._transaction() as c:
            if c.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                version = c.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(f"store {str(self.path)!r} has schema version {version}, newer than this warmstart-bo understands ({SCHEMA_VERSION}); upgrade warmstart-bo")
                return  # initialized already, maybe by another process meanwhile
            if c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{str(self.path)!r} is a SQLite database of another program, not a warmstart-bo store; the file was left untouched")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    class _Tx:
        def __init__(self, store: Store):
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            if self.store.read_only:
                raise StoreError(f"store {str(self.store.path)!r} is open read-only (its file or folder is not writable); nothing can be written to it")
            self.store._lock.acquire()
            self.store._conn.execute("BEGIN IMMEDIATE")
            return self.store._conn

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                self.store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def _transaction(self) -> Store._Tx:
        return Store._Tx(self)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # Jobs.

    def create_job(self, name: str, config: Mapping[str, Any], random_seed: int | None = None, parents: Sequence[str] = ()) -> JobRecord:
        """Adds a job, InProgress and owned by this process. Raises JobExistsError if taken."""
        validate_job_name(name)
        config_json = _dumps(dict(config))
        now = time.time()
        with self._transaction() as c:
            if c.execute("SELECT 1 FROM jobs WHERE name = ?", (name,)).fetchone():
                raise JobExistsError(f"a tuning job named {name!r} already exists in {str(self.path)!r}")
            c.execute(
                "INSERT INTO jobs (name, status, config, created_at, updated_at, owner_host, owner_pid, random_seed) VALUES (?, 'InProgress', ?, ?, ?, ?, ?, ?)",
                (name, config_json, now, now, socket.gethostname(), os.getpid(), random_seed),
            )
            c.executemany("INSERT INTO parents (job_name, position, parent_name) VALUES (?, ?, ?)", [(name, i, p) for i, p in enumerate(parents)])
        return self.job(name)

    def claim_job(self, name: str) -> JobRecord:
        """Makes this process the owner of an existing job so that it can resume it.

        Raises ValueError if another live process runs the job now.
        """
        with self._transaction() as c:
            row = c.execute("SELECT status, owner_host, owner_pid, updated_at FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no tuning job named {name!r} in {str(self.path)!r}")
            status, host, pid, heard = row
            if status == "InProgress" and _owner_alive(host, pid, heard) and not (host == socket.gethostname() and pid == os.getpid()):
                raise JobRunningError(
                    f"tuning job {name!r} is being run by process {pid} on {host} (last heard from {time.time() - heard:.0f} s ago); "
                    f"stop it first, or, if that process is gone, release the job (warmstart-bo jobs stop --release {name})")
            c.execute(
                "UPDATE jobs SET status = 'InProgress', owner_host = ?, owner_pid = ?, stop_requested = 0, end_time = NULL, status_reason = NULL, updated_at = ? WHERE name = ?",
                (socket.gethostname(), os.getpid(), time.time(), name),
            )
        return self.job(name)

    def replace_estimator(self, name: str, description: Mapping[str, Any]) -> None:
        """Records that the job now runs another estimator: the config keeps the new
        description, and ``estimator_history`` the ones it replaced, with the time."""
        with self._transaction() as c:
            row = c.execute("SELECT config FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no tuning job named {name!r} in {str(self.path)!r}")
            config = json.loads(row[0])
            history = config.get("estimator_history", []) + [{"estimator": config.get("estimator"), "replaced_at": time.time()}]
            config.update(estimator=dict(description), estimator_history=history)
            c.execute("UPDATE jobs SET config = ?, updated_at = ? WHERE name = ?", (_dumps(config), time.time(), name))

    def finish_job(self, name: str, status: str, reason: str | None = None) -> None:
        """Ends a job with a status and the reason for it (why it failed, stopped or completed)."""
        if status not in FINISHED:
            raise ValueError(f"a finished job status must be one of {FINISHED}, got {status!r}")
        now = time.time()
        with self._transaction() as c:
            c.execute(
                "UPDATE jobs SET status = ?, end_time = ?, updated_at = ?, status_reason = ?, owner_host = NULL, owner_pid = NULL WHERE name = ?",
                (status, now, now, reason, name),
            )

    def request_stop(self, name: str) -> None:
        """Asks the process running the job to stop it (seen at its next poll)."""
        with self._transaction() as c:
            # updated_at stays the owner's: a request is no sign of its life
            if c.execute("UPDATE jobs SET stop_requested = 1 WHERE name = ?", (name,)).rowcount == 0:
                raise JobNotFoundError(f"no tuning job named {name!r} in {str(self.path)!r}")

    def release_job(self, name: str) -> None:
        """Declares a running job's owner gone (killed on another host, whose processes this
        one cannot see): the job becomes Stopped, so that it can be resumed. Should the
        owner still run, the stop request ends it at its next poll."""
        with self._transaction() as c:
            row = c.execute("SELECT status, owner_host, owner_pid FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no tuning job named {name!r} in {str(self.path)!r}")
            if row[0] != "InProgress":
                return
            c.execute(
                "UPDATE jobs SET status = 'Stopped', stop_requested = 1, end_time = ?, status_reason = ?, owner_host = NULL, owner_pid = NULL WHERE name = ?",
                (time.time(), f"released: its process {row[2]} on {row[1]} was declared gone", name),
            )

    def heartbeat(self, name: str) -> None:
        """The owner's sign of life (``updated_at``) while its job runs; nothing if this
        process no longer owns the job."""
        with self._transaction() as c:
            c.execute("UPDATE jobs SET updated_at = ? WHERE name = ? AND owner_host = ? AND owner_pid = ?", (time.time(), name, socket.gethostname(), os.getpid()))

    def stop_requested(self, name: str) -> bool:
        rows = self._query("SELECT stop_requested FROM jobs WHERE name = ?", (name,))
        return bool(rows and rows[0][0])

    def has_job(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM jobs WHERE name = ?", (name,)))

    def job(self, name: str) -> JobRecord:
        rows = self._query(
            "SELECT name, status, config, created_at, updated_at, end_time, status_reason, stop_requested, owner_host, owner_pid, random_seed FROM jobs WHERE name = ?",
            (name,),
        )
        if not rows:
            raise JobNotFoundError(f"no tuning job named {name!r} in {str(self.path)!r}")
        return self._job_record(rows[0])

    def jobs(self) -> list[JobRecord]:
        """All jobs, oldest first."""
        rows = self._query(
            "SELECT name, status, config, created_at, updated_at, end_time, status_reason, stop_requested, owner_host, owner_pid, random_seed FROM jobs ORDER BY created_at, name"
        )
        return [self._job_record(r) for r in rows]

    def _job_record(self, r: tuple) -> JobRecord:
        parents = tuple(p for (p,) in self._query("SELECT parent_name FROM parents WHERE job_name = ? ORDER BY position", (r[0],)))
        return JobRecord(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], r[10], parents)

    # Trials.

    def add_trial(self, job_name: str, index: int, hyperparameters: Mapping[str, Any], start_time: float | None = None) -> TrialRecord:
        """Records a trial as InProgress before it runs (``start_time`` defaults to now)."""
        name = f"{job_name}-{index:03d}"
        with self._transaction() as c:
            c.execute(
                "INSERT INTO trials (job_name, trial_index, name, status, hyperparameters, start_time) VALUES (?, ?, ?, 'InProgress', ?, ?)",
                (job_name, index, name, _dumps(dict(hyperparameters)), time.time() if start_time is None else start_time),
            )
            c.execute("UPDATE jobs SET updated_at = ? WHERE name = ?", (time.time(), job_name))
        return self.trial(job_name, index)

    def restart_trial(self, job_name: str, index: int, attempts: int) -> None:
        """Marks a trial InProgress again (a retry, or a rerun after an interrupted job)."""
        with self._transaction() as c:
            c.execute(
                "UPDATE trials SET status = 'InProgress', start_time = ?, end_time = NULL, attempts = ? WHERE job_name = ? AND trial_index = ?",
                (time.time(), attempts, job_name, index),
            )

    def finish_trial(
        self,
        job_name: str,
        index: int,
        status: str,
        objective: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        intermediate: Sequence[Sequence[float]] = (),
        failure_reason: str | None = None,
        end_time: float | None = None,
    ) -> None:
        """Records a trial's result; committed to disk before this returns."""
        if status not in FINISHED:
            raise ValueError(f"a finished trial status must be one of {FINISHED}, got {status!r}")
        if objective is not None and not math.isfinite(objective):
            raise ValueError(f"trial objective must be finite or None, got {objective!r}")
        now = time.time() if end_time is None else end_time
        inter = [[float(s), float(v)] for s, v in intermediate if math.isfinite(float(s)) and math.isfinite(float(v))]
        with self._transaction() as c:
            c.execute(
                "UPDATE trials SET status = ?, objective = ?, metrics = ?, intermediate = ?, end_time = ?, failure_reason = ? WHERE job_name = ? AND trial_index = ?",
                (status, objective, _dumps(json_safe_metrics(metrics or {})), _dumps(inter), now, failure_reason, job_name, index),
            )
            c.execute("UPDATE jobs SET updated_at = ? WHERE name = ?", (now, job_name))

    def trial(self, job_name: str, index: int) -> TrialRecord:
        rows = self._query(f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE job_name = ? AND trial_index = ?", (job_name, index))
        if not rows:
            raise KeyError(f"job {job_name!r} has no trial {index}")
        return _trial_record(rows[0])

    def trials(self, job_name: str) -> list[TrialRecord]:
        """The job's trials in the order they were created."""
        if not self.has_job(job_name):
            raise JobNotFoundError(f"no tuning job named {job_name!r} in {str(self.path)!r}")
        return [_trial_record(r) for r in self._query(f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE job_name = ? ORDER BY trial_index", (job_name,))]

    def iter_lineage(self, name: str, include_ancestors: bool = True) -> Iterator[JobRecord]:
        """The job's warm-start parents (and, if asked, theirs), each once, nearest first."""
        seen = {name}
        frontier = [(p, name) for p in self.job(name).parents]
        while frontier:
            p, child = frontier.pop(0)
            if p in seen:
                continue
            seen.add(p)
            try:
                record = self.job(p)
            except JobNotFoundError as e:
                raise JobNotFoundError(f"warm-start parent {p!r} of job {child!r} is missing: {e}") from e
            yield record
            if include_ancestors:
                frontier.extend((q, p) for q in record.parents)


_TRIAL_COLUMNS = "job_name, trial_index, name, status, hyperparameters, objective, metrics, intermediate, start_time, end_time, failure_reason, attempts"


def _trial_record(r: tuple) -> TrialRecord:
    return TrialRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], json.loads(r[6]), json.loads(r[7]), r[8], r[9], r[10], r[11])
