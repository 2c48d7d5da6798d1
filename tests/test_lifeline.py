"""Trial processes die with the tuner that started them (issue 15, item 3)."""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from warmstart_bo import lifeline

TESTS = Path(__file__).parent
ROOT = TESTS.parent


def _alive(pid: int) -> bool:
    """Whether pid runs: a zombie (killed, not yet reaped by whoever adopted it) is dead."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _gone_within(pids, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def _pids(path: Path, n: int, proc, seconds: float = 120) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= n:
            return [int(x) for x in lines]
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    pytest.fail("the trials did not start")


TUNER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from trial_functions import pid_then_sleep
    from warmstart_bo import ContinuousParameter, HyperparameterTuner
    space = {{"x": ContinuousParameter(0.0, 1.0)}}
    if sys.argv[2] == "processes":
        estimator, kw = pid_then_sleep, {{"executor": "processes"}}
    else:
        code = "import os, time; open(os.environ['TRIAL_PID_FILE'], 'a').write(f'{{os.getpid()}}\\\\n'); time.sleep(120)"
        estimator, kw = [sys.executable, "-c", code], {{"metric_definitions": [{{"Name": "loss", "Regex": "loss=(.*)"}}]}}
    HyperparameterTuner(estimator, "loss", space, max_jobs=4, max_parallel_jobs=2, strategy="Random",
                        store=sys.argv[1], progress=False, **kw).fit(job_name="orphans")
    """
)


@pytest.mark.parametrize("kind", ["processes", "command"])
def test_trials_die_with_a_tuner_killed_by_kill_9(tmp_path, kind):
    pid_file = tmp_path / "pids"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TRIAL_PID_FILE=str(pid_file))
    tuner = subprocess.Popen([sys.executable, "-c", TUNER.format(tests=str(TESTS)), str(tmp_path / "s.db"), kind],
                             env=env, stderr=subprocess.PIPE, text=True)
    try:
        pids = _pids(pid_file, 2, tuner)
        assert all(_alive(p) for p in pids)
        tuner.send_signal(signal.SIGKILL)
        tuner.wait()
        assert _gone_within(pids, 10), f"orphaned trial processes: {[p for p in pids if _alive(p)]}"
    finally:
        tuner.kill()
        for p in (int(x) for x in (pid_file.read_text().split() if pid_file.exists() else [])):
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def _worker(parent_pid, watched, pid_file):
    lifeline.die_with_parent(parent_pid, watched, use_signal=False)
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)


def test_a_worker_without_the_death_signal_ends_when_its_lifeline_closes(tmp_path):
    """The fallback of systems without PR_SET_PDEATHSIG: the tuner's death closes the pipe."""
    ctx = multiprocessing.get_context("spawn")
    watched, held = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(os.getpid(), watched, str(tmp_path / "pid")), daemon=True)
    proc.start()
    watched.close()
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "pid").exists():
            assert time.monotonic() < deadline and proc.is_alive()
            time.sleep(0.05)
        time.sleep(0.3)
        assert proc.is_alive()
        held.close()  # what the tuner's death does to its end
        proc.join(10)
        assert proc.exitcode == 1
    finally:
        proc.kill()


WATCHED = textwrap.dedent(
    """
    import sys, time
    from warmstart_bo import lifeline
    proc, release = lifeline.popen(["sleep", "60"], use_signal=False)
    print(proc.pid, flush=True)
    time.sleep(120)
    """
)


def test_a_command_without_the_death_signal_is_killed_by_its_watchdog():
    """The command-line fallback of systems without PR_SET_PDEATHSIG: a watchdog kills the
    command's process group when its pipe closes without the all-clear byte."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    tuner = subprocess.Popen([sys.executable, "-c", WATCHED], env=env, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(tuner.stdout.readline())
        assert _alive(pid) and os.getpgid(pid) == pid  # a process group of its own
        tuner.send_signal(signal.SIGKILL)
        tuner.wait()
        assert _gone_within([pid], 10)
    finally:
        tuner.kill()
    kept, release = lifeline.popen(["sleep", "1"], use_signal=False)
    release()  # the all-clear: the watchdog leaves the command alone
    assert kept.wait(10) == 0
