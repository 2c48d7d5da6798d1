import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from warmstart_bo.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    JobExistsError,
    JobNotFoundError,
    Store,
    StoreError,
    default_path,
    resolve_path,
    validate_job_name,
)


def test_jobs_and_trials_round_trip_as_json(tmp_path):
    store = Store(tmp_path / "s.db")
    store.create_job("job-1", {"objective_type": "Minimize", "ranges": {"x": [0, 1]}}, random_seed=7, parents=["p1", "p2"])
    store.add_trial("job-1", 0, {"x": 0.5, "opt": "adam", "n": 3, "flag": True, "none": None})
    store.finish_trial("job-1", 0, "Completed", 1.25, {"loss": 1.25, "acc": float("nan")}, [[1, 2.0], [2, float("inf")], [3, 1.5]])
    store.add_trial("job-1", 1, {"x": 0.1, "opt": "sgd", "n": 1, "flag": False, "none": None})
    store.finish_trial("job-1", 1, "Failed", failure_reason="ValueError: boom")
    reopened = Store(f"sqlite:///{tmp_path / 's.db'}")
    job = reopened.job("job-1")
    assert job.status == "InProgress" and job.random_seed == 7 and job.parents == ("p1", "p2")
    assert job.config == {"objective_type": "Minimize", "ranges": {"x": [0, 1]}}
    t0, t1 = reopened.trials("job-1")
    assert t0.name == "job-1-000" and t0.hyperparameters == {"x": 0.5, "opt": "adam", "n": 3, "flag": True, "none": None}
    assert t0.objective == 1.25 and t0.metrics == {"loss": 1.25, "acc": None}
    assert t0.intermediate == [[1.0, 2.0], [3.0, 1.5]]  # non-finite intermediate values dropped
    assert t0.start_time <= t0.end_time
    assert t1.status == "Failed" and t1.objective is None and t1.failure_reason == "ValueError: boom"


def test_schema_is_versioned_and_marked_and_runs_in_wal_mode(tmp_path):
    Store(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"jobs", "trials", "parents"}


def test_config_must_be_json(tmp_path):
    store = Store(tmp_path / "s.db")
    with pytest.raises(TypeError):
        store.create_job("a", {"fn": object()})
    with pytest.raises(ValueError):
        store.create_job("b", {"x": float("nan")})
    assert store.jobs() == []


def test_name_collision_is_a_clear_error_and_keeps_the_first_job(tmp_path):
    store = Store(tmp_path / "s.db")
    store.create_job("taken", {"v": 1})
    with pytest.raises(JobExistsError, match="'taken' already exists"):
        store.create_job("taken", {"v": 2})
    assert store.job("taken").config == {"v": 1}


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a" * 64, "under_score", "é", "ok-name\n", "ok\n-000"])
def test_invalid_job_names(name):
    with pytest.raises(ValueError, match="invalid job name"):
        validate_job_name(name)


def test_missing_job_is_a_named_error(tmp_path):
    store = Store(tmp_path / "s.db")
    with pytest.raises(JobNotFoundError, match="no tuning job named 'ghost'"):
        store.job("ghost")
    with pytest.raises(JobNotFoundError):
        store.trials("ghost")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_corrupted_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database " * 200)
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError, match="not a SQLite database or corrupted"):
        Store(path)
    assert _snapshot(tmp_path) == before


def test_truncated_store_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "s.db"
    store = Store(path)
    store.create_job("a", {"v": 1})
    store.close()
    for extra in ("s.db-wal", "s.db-shm"):
        (tmp_path / extra).unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * 50 + data[150:])  # garbage in the header
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError):
        Store(path)
    assert _snapshot(tmp_path) == before


def test_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE jobs (id INTEGER, payload TEXT)")
    conn.execute("INSERT INTO jobs VALUES (1, 'theirs')")
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError, match="another program"):
        Store(path)
    assert _snapshot(tmp_path) == before


def test_store_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_locations(tmp_path, monkeypatch):
    assert resolve_path("sqlite:////abs/x.db") == Path("/abs/x.db")
    assert resolve_path("sqlite:///rel/x.db") == Path("rel/x.db")
    with pytest.raises(StoreError, match="only sqlite"):
        resolve_path("postgresql://host/db")
    monkeypatch.setenv("WARMSTART_BO_STORE", str(tmp_path / "env.db"))
    assert default_path() == tmp_path / "env.db"
    monkeypatch.delenv("WARMSTART_BO_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "warmstart-bo" / "store.db"
    Store(None).close()
    assert (tmp_path / "xdg" / "warmstart-bo" / "store.db").exists()


def test_a_live_owner_blocks_a_second_runner_and_a_dead_one_does_not(tmp_path):
    store = Store(tmp_path / "s.db")
    store.create_job("j", {})
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        conn = sqlite3.connect(tmp_path / "s.db")
        conn.execute("UPDATE jobs SET owner_pid = ?, updated_at = ? WHERE name = 'j'", (proc.pid, time.time()))  # an owner writes after it starts
        conn.commit()
        with pytest.raises(ValueError, match=f"being run by process {proc.pid}"):
            store.claim_job("j")
    finally:
        proc.kill()
        proc.wait()
    assert store.claim_job("j").owner_pid == os.getpid()


def test_an_owner_on_another_host_is_released_by_hand_and_a_reused_pid_or_zombie_is_no_owner(tmp_path):
    """A job killed on another host (a preempted node, a restarted container) stayed
    InProgress for good, and 'stop it first' did not help: that host's processes cannot be
    seen from here. ``release_job`` (``jobs stop --release``) declares its owner gone. On this
    host a live process that started after the owner's last write holds a reused PID, and a
    zombie is dead: neither is the owner."""
    store = Store(tmp_path / "s.db")
    store.create_job("j", {})
    conn = sqlite3.connect(tmp_path / "s.db")
    heard = time.time() - 300
    conn.execute("UPDATE jobs SET owner_host = 'node-a', owner_pid = 4242, updated_at = ? WHERE name = 'j'", (heard,))
    conn.commit()
    store.request_stop("j")
    assert store.job("j").updated_at == heard  # a stop request is no sign of the owner's life
    with pytest.raises(ValueError, match=r"being run by process 4242 on node-a \(last heard from 30[01] s ago\); stop it first, or, if that process is gone, release the job \(warmstart-bo jobs stop --release j\)"):
        store.claim_job("j")
    store.release_job("j")
    job = store.job("j")
    assert job.status == "Stopped" and job.status_reason == "released: its process 4242 on node-a was declared gone"
    assert store.claim_job("j").owner_pid == os.getpid()
    if not Path("/proc/self/stat").exists():
        return
    conn.execute("UPDATE jobs SET updated_at = ? WHERE name = 'j'", (time.time() - 10,))  # the owner's last write
    conn.commit()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # started after that write
    try:
        conn.execute("UPDATE jobs SET owner_pid = ? WHERE name = 'j'", (proc.pid,))
        conn.commit()
        assert store.claim_job("j").owner_pid == os.getpid()
        conn.execute("UPDATE jobs SET owner_pid = ?, updated_at = ? WHERE name = 'j'", (proc.pid, time.time()))
        conn.commit()
        with pytest.raises(ValueError, match=f"being run by process {proc.pid}"):
            store.claim_job("j")
        proc.kill()
        while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":  # dead, not yet reaped
            time.sleep(0.01)
        assert store.claim_job("j").owner_pid == os.getpid()
    finally:
        proc.kill()
        proc.wait()


WRITER = textwrap.dedent(
    """
    import sys
    from warmstart_bo.store import Store
    store = Store(sys.argv[1])
    name = sys.argv[2]
    store.create_job(name, {"writer": name})
    for i in range(200):
        store.add_trial(name, i, {"i": i})
        store.finish_trial(name, i, "Completed", float(i), {"v": float(i)})
    store.finish_job(name, "Completed", "done")
    """
)


def test_two_processes_write_different_jobs_to_one_store_at_once(tmp_path):
    path = tmp_path / "shared.db"
    Store(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"writer-{k}"], stderr=subprocess.PIPE, text=True) for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = Store(path)
    for k in range(2):
        trials = store.trials(f"writer-{k}")
        assert [t.objective for t in trials] == [float(i) for i in range(200)]
        assert store.job(f"writer-{k}").status == "Completed"
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert json.loads(json.dumps(store.job("writer-0").config)) == {"writer": "writer-0"}


def _store_with_pages(path: Path) -> None:
    """A store of several pages: a job, and trials whose JSON fills pages of their own."""
    store = Store(path)
    store.create_job("kept", {"objective_metric_name": "loss", "objective_type": "Minimize"})
    for i in range(60):
        store.add_trial("kept", i, {"x": i / 60, "note": "n" * 200})
        store.finish_trial("kept", i, "Completed", float(i), {"loss": float(i)})
    store.finish_job("kept", "Completed", "done")
    store.close()


def _overwrite_page(path: Path, page: int) -> None:
    """Garbage over one page's cell area, as a bad sector or a torn copy leaves it."""
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    data[start + 8:start + size] = bytes([0x5A]) * (size - 8)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("table", ["jobs", "trials"])
def test_a_store_with_a_corrupted_page_is_refused_and_left_untouched(tmp_path, table):
    path = tmp_path / "s.db"
    _store_with_pages(path)
    conn = sqlite3.connect(path)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    _overwrite_page(path, root if table == "jobs" else pages - 1)  # the jobs table; a trials leaf
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError, match="is corrupted .*the file was left untouched"):
        Store(path)
    with pytest.raises(StoreError, match="is corrupted"):
        Store(path, read_only=True)
    assert _snapshot(tmp_path) == before


def test_a_read_only_store_reads_and_refuses_writes_untouched(tmp_path):
    path = tmp_path / "s.db"
    _store_with_pages(path)
    before = _snapshot(tmp_path)
    store = Store(path, read_only=True)
    assert store.read_only and [j.name for j in store.jobs()] == ["kept"]
    assert len(store.trials("kept")) == 60 and store.trial("kept", 3).objective == 3.0
    with pytest.raises(StoreError, match="open read-only"):
        store.create_job("new", {})
    store.close()
    assert _snapshot(tmp_path) == before
    with pytest.raises(StoreError, match="no warmstart-bo store"):
        Store(tmp_path / "absent.db", read_only=True)


def test_a_store_on_a_read_only_mount_can_be_listed(tmp_path):
    """A real read-only location, found by os.access, not by a flag: as root (whom chmod does
    not stop) a read-only bind mount in a private mount namespace (unshare -m); otherwise
    chmod a-w on the file and its folder. `jobs list` and `jobs describe` must work there."""
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    _store_with_pages(src / "s.db")
    before = _snapshot(src)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    cli = f"{sys.executable} -m warmstart_bo.cli --store {mnt / 's.db'}"
    script = f"{cli} jobs list && {cli} jobs describe kept && {cli} jobs stop kept"
    if os.geteuid() == 0:
        script = f"mount --bind {src} {mnt} && mount -o remount,ro,bind {mnt} && {script}"
        cmd = ["unshare", "-m", "sh", "-c", script]
    else:
        (mnt / "s.db").write_bytes((src / "s.db").read_bytes())
        os.chmod(mnt / "s.db", 0o444)
        os.chmod(mnt, 0o555)
        cmd = ["sh", "-c", script]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert "kept" in proc.stdout and "Completed" in proc.stdout and "60/60" in proc.stdout, proc.stderr
    assert '"Completed": 60' in proc.stdout
    assert proc.returncode == 2 and "open read-only" in proc.stderr  # jobs stop writes: refused in one line
    assert "Traceback" not in proc.stderr
    assert _snapshot(src) == before


def test_lineage_names_the_missing_parent_and_the_job_that_names_it(tmp_path):
    store = Store(tmp_path / "s.db")
    store.create_job("grandparent", {})
    store.create_job("parent", {}, parents=["grandparent"])
    store.create_job("child", {}, parents=["parent"])
    assert [j.name for j in store.iter_lineage("child")] == ["parent", "grandparent"]
    with sqlite3.connect(tmp_path / "s.db") as db:  # a job deleted by hand: no API deletes one
        db.execute("DELETE FROM jobs WHERE name = 'grandparent'")
    with pytest.raises(JobNotFoundError, match="warm-start parent 'grandparent' of job 'parent' is missing"):
        list(store.iter_lineage("child"))
    assert [j.name for j in store.iter_lineage("child", include_ancestors=False)] == ["parent"]
