"""Trial processes that die with the tuner that started them.

A tuner killed by ``kill -9`` cannot stop its trials, and a resumed job would run a cut-off
trial again beside its orphan. So each trial process is tied to the process that started it:

- Linux: the kernel sends the trial SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``),
  set by a spawned worker as it starts, and for a command line by a small Python launcher
  that sets it and then execs the command (the signal survives exec; ``preexec_fn`` would
  make Python fork a JAX process, which JAX warns may deadlock). The signal follows the
  parent *thread*; the thread that starts a trial here outlives it (the job's thread for
  a worker, the trial's thread for a command line).
- Spawned workers, on every POSIX system: also a lifeline pipe whose only writer is the
  tuner; a thread of the worker sees end-of-file when the tuner dies and ends the worker.
- Command lines on other POSIX systems (macOS, the BSDs): the command runs in its own
  process group beside a small watchdog process that holds such a pipe and kills the group
  at end-of-file.
- Windows: none of these; a trial of a killed tuner runs to its own end.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

PARENT_DEATH_SIGNAL = sys.platform.startswith("linux")
_PR_SET_PDEATHSIG = 1

# Prepended to Python code run as a tied process: sys.argv[1] is the parent's pid.
_TIE = (
    "import ctypes, os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)\n"
)

# Execs the command in sys.argv[2:], keeping the death signal set by _TIE.
_EXEC = (
    "try:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "except OSError as e:\n"
    "    sys.stderr.write(f'cannot run {sys.argv[2]!r}: {e.strerror}\\n')\n"
    "    os._exit(127)\n"
)

# Reads one byte: a byte means the command ended normally; end-of-file means the process
# holding the other end (the tuner) died, and the command's process group is killed.
_WATCHDOG = "import os, signal, sys\nif not os.read(0, 1):\n    try:\n        os.killpg(int(sys.argv[1]), signal.SIGKILL)\n    except OSError:\n        pass\n"


def python_command(code: str) -> list[str]:
    """The command line of a small Python process (no site packages) running ``code``,
    which dies with this process on Linux; ``code`` finds its arguments from
    ``sys.argv[2]`` on."""
    return [sys.executable, "-I", "-S", "-c", _TIE + code, str(os.getpid())]


def _prctl_death_signal() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _exit_at_end_of_file(lifeline) -> None:
    try:
        lifeline.recv()
    except (EOFError, OSError):
        pass
    os._exit(1)


def die_with_parent(parent_pid: int, lifeline=None, use_signal: bool = PARENT_DEATH_SIGNAL) -> None:
    """Called first in a spawned trial worker: ends it when ``parent_pid`` (the tuner) dies.

    Args:
      parent_pid: the tuner's pid, read before the worker started.
      lifeline: the read end of a pipe only the tuner writes to (a multiprocessing
        Connection); end-of-file on it ends the worker.
      use_signal: ask Linux for SIGKILL at the parent's death.
    """
    if use_signal:
        _prctl_death_signal()
    if lifeline is not None:
        threading.Thread(target=_exit_at_end_of_file, args=(lifeline,), daemon=True, name="lifeline").start()
    if os.getppid() != parent_pid:  # the tuner died before the signal was set
        os._exit(1)


def popen(args: list[str], use_signal: bool = PARENT_DEATH_SIGNAL, **kwargs: Any) -> tuple[subprocess.Popen, Callable[[], None]]:
    """``subprocess.Popen`` of a command that dies with this process.

    Returns the process and ``release``, to call once the process has ended: it lets the
    watchdog (where there is one) go without killing anything.
    """
    if use_signal:
        return subprocess.Popen(python_command(_EXEC) + list(args), **kwargs), lambda: None
    if os.name != "posix":
        return subprocess.Popen(args, **kwargs), lambda: None
    proc = subprocess.Popen(args, start_new_session=True, **kwargs)
    return proc, _watch(proc.pid)


def _watch(pgid: int) -> Callable[[], None]:
    """Starts a watchdog that kills process group ``pgid`` if this process dies."""
    read, write = os.pipe()
    try:
        subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHDOG, str(pgid)], stdin=read, start_new_session=True)
    finally:
        os.close(read)

    def release() -> None:
        try:
            os.write(write, b"x")
        except OSError:
            pass
        os.close(write)

    return release
