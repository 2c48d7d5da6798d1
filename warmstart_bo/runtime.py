"""How the compiled core shares the machine: BLAS threads and the persistent compile cache.

Two process-wide settings, applied around the core's work rather than at import:

- **BLAS threads.** JAX's CPU linear algebra (Cholesky, triangular solves) calls the
  OpenBLAS that SciPy ships, whose own thread pool competes with XLA's on small machines: on
  a loaded 2-core machine a Cholesky of 256 rows took 126 ms with OpenBLAS's two threads and
  0.9 ms with one (``benchmarks/blas_threads.py``). :func:`blas_threads` limits them while an
  ask runs (``threadpoolctl``), to one thread on machines of up to 4 cores and to half the
  cores above that; ``WARMSTART_BO_BLAS_THREADS`` sets the number.
- **Compile cache.** JAX's persistent compilation cache, so that a new process's first ask
  loads the compiled fit and acquisition instead of compiling them (seconds per padding
  bucket). :func:`enable_compilation_cache` turns it on in ``$XDG_CACHE_HOME/warmstart-bo/jax``
  (``~/.cache/...``) unless the user already configured a cache;
  ``WARMSTART_BO_COMPILATION_CACHE`` moves it (a path) or turns it off (``off``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import jax

_CACHE_ENV = "WARMSTART_BO_COMPILATION_CACHE"
_THREADS_ENV = "WARMSTART_BO_BLAS_THREADS"
_OFF = ("off", "0", "false", "no", "none", "")
_cache_state: str | None = None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_blas_threads() -> int:
    """``WARMSTART_BO_BLAS_THREADS``, else 1 up to 4 cores and half the cores above."""
    value = os.environ.get(_THREADS_ENV)
    if value:
        try:
            threads = int(value)
        except ValueError:
            raise ValueError(f"{_THREADS_ENV} must be a positive integer, got {value!r}") from None
        if threads < 1:
            raise ValueError(f"{_THREADS_ENV} must be a positive integer, got {value!r}")
        return threads
    cores = usable_cores()
    return 1 if cores <= 4 else cores // 2


@functools.cache
def _controller():
    # Inspecting the loaded libraries takes milliseconds: once per process, not per ask.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(limit: int | None = None):
    """Limits BLAS's threads inside the block (:func:`default_blas_threads` by default)."""
    with _controller().limit(limits=limit or default_blas_threads(), user_api="blas"):
        yield


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "warmstart-bo" / "jax"


def enable_compilation_cache() -> str | None:
    """Turns JAX's persistent compilation cache on (once per process); returns its folder,
    or None when it is off.

    Left alone when the user has already set ``jax_compilation_cache_dir`` (their cache is
    used as it is). Entries are kept from 0.1 s of compile time: the core's functions
    compile in fractions of a second each, seconds together.
    """
    global _cache_state
    if _cache_state is not None:
        return _cache_state or None
    setting = os.environ.get(_CACHE_ENV)
    if jax.config.jax_compilation_cache_dir:
        _cache_state = str(jax.config.jax_compilation_cache_dir)
        return _cache_state
    if setting is not None and setting.strip().lower() in _OFF:
        _cache_state = ""
        return None
    path = Path(setting).expanduser() if setting else default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        _cache_state = ""  # an unwritable home: compile as before rather than fail
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    _cache_state = str(path)
    return _cache_state
