"""How the compiled core shares the machine: BLAS threads, the persistent compile cache,
and programs exported across processes.

Process-wide settings, applied around the core's work rather than at import:

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
- **Exported programs.** :class:`Program`, the ``jax.jit`` at the boundary the optimizer
  calls: with the cache on, it also keeps each traced and lowered program (``jax.export``)
  in the cache's ``exported/`` folder, so a new process skips tracing too.
- **Thread switching.** While threads compile (or load) programs ahead of the asks,
  :func:`shorten_switch_interval` lowers the interpreter's thread switch interval, so that
  an ask waits less for the GIL those threads hold; ``WARMSTART_BO_SWITCH_INTERVAL`` sets it
  (seconds) or leaves the interpreter's alone (``off``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib
import json
import os
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_CACHE_ENV = "WARMSTART_BO_COMPILATION_CACHE"
_THREADS_ENV = "WARMSTART_BO_BLAS_THREADS"
_OFF = ("off", "0", "false", "no", "none", "")
_cache_state: str | None = None


_FREEZE_ENV = "WARMSTART_BO_FREEZE_HEAP"
_heap_frozen = False


def freeze_heap() -> None:
    """Collects garbage once, then leaves every object alive now out of the collector's
    later passes (``gc.freeze``), once per process; ``WARMSTART_BO_FREEZE_HEAP=0`` turns it
    off.

    After importing JAX a full collection walks a large heap of long-lived objects (60-85
    ms on 2 cores), and the compile-ahead threads' allocations trigger one at an
    arbitrary moment: it stopped every thread in the middle of an ask (120 ms against a
    median of 35 ms in a 300-trial job). Frozen objects are still freed by reference
    counting; only cycles among them that become garbage later stay in memory.
    """
    global _heap_frozen
    if _heap_frozen or os.environ.get(_FREEZE_ENV, "1").strip().lower() in _OFF or not gc.isenabled():
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


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


_SWITCH_ENV = "WARMSTART_BO_SWITCH_INTERVAL"
# The interpreter's default is 5 ms. An ask at 64 rows dispatches XLA work a few dozen times,
# and each time it gives up the GIL a compile-ahead thread (deserializing and wrapping a
# program) may keep it until the interval ends; in a 300-trial job with a trivial objective
# the 64-row asks' slowest took 2.5-5.5x their median at 5 ms and 2.0-3.0x at 0.5 ms in five
# paired fresh-process runs (1 ms and 0.2 ms fared worse: benchmarks/switch_interval.py).
BACKGROUND_SWITCH_INTERVAL = 0.0005
_switch_lock = threading.Lock()
_switch_holders = 0
_switch_saved: float | None = None
_switch_set: float | None = None


def background_switch_interval() -> float | None:
    """``WARMSTART_BO_SWITCH_INTERVAL`` in seconds, else :data:`BACKGROUND_SWITCH_INTERVAL`;
    None when it is ``off``."""
    value = os.environ.get(_SWITCH_ENV)
    if value is None:
        return BACKGROUND_SWITCH_INTERVAL
    if value.strip().lower() in _OFF:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{_SWITCH_ENV} must be a positive number of seconds or 'off', got {value!r}")
    return seconds


def shorten_switch_interval() -> Callable[[], None]:
    """Lowers the interpreter's thread switch interval (``sys.setswitchinterval``) to
    :func:`background_switch_interval` until the returned function is called; holders
    overlap, and the last release restores the interval found by the first, unless someone
    else has changed it meanwhile. An interval already shorter is left alone. The release
    may be called from any thread and more than once."""
    global _switch_holders, _switch_saved, _switch_set
    target = background_switch_interval()
    with _switch_lock:
        _switch_holders += 1
        if _switch_holders == 1:
            current = sys.getswitchinterval()
            _switch_saved, _switch_set = None, None
            if target is not None and target < current:
                sys.setswitchinterval(target)
                _switch_saved, _switch_set = current, sys.getswitchinterval()
    released = threading.Event()

    def release() -> None:
        global _switch_holders
        with _switch_lock:
            if released.is_set():
                return
            released.set()
            _switch_holders -= 1
            if _switch_holders == 0 and _switch_saved is not None and sys.getswitchinterval() == _switch_set:
                sys.setswitchinterval(_switch_saved)

    return release


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
    # Every exported program's key needs it: a millisecond now, tens of them in a first ask
    # that computes it beside the compile-ahead threads.
    _source_digest()
    return _cache_state


# Exported programs: the persistent compile cache spares a new process XLA's compilation,
# not the tracing and lowering that come before it (about a second for the fit and the
# acquisition together on 2 cores). A Program also keeps each traced and lowered function,
# serialized by ``jax.export``, beside the compile cache, keyed by everything the lowering
# depends on (the library's source included), so a new process loads it instead.

_EXPORT_FORMAT = 1
_registered: set[type] = set()
_register_lock = threading.Lock()


@functools.cache
def _source_digest() -> str:
    """A digest of the package's Python source: an exported program is valid only for the
    code that traced it."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _node_types(treedef) -> set[type]:
    """The pytree node types (other than the built-in containers) in a tree structure."""
    data = treedef.node_data()
    out = set()
    if data is not None and data[0] not in (tuple, list, dict, type(None)):
        out.add(data[0])
    for child in treedef.children():
        out |= _node_types(child)
    return out


def _type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _register(cls: type) -> None:
    """Registers a pytree node type for ``jax.export`` serialization: NamedTuples by their
    fields; other types through ``serialize_aux`` / ``deserialize_aux`` static methods
    (:class:`~warmstart_bo.kernels.CategoricalMask`)."""
    from jax import export

    with _register_lock:
        if cls in _registered:
            return
        name = _type_name(cls)
        try:
            if issubclass(cls, tuple) and hasattr(cls, "_fields"):
                export.register_namedtuple_serialization(cls, serialized_name=name)
            elif hasattr(cls, "serialize_aux"):
                export.register_pytree_node_serialization(
                    cls, serialized_name=name, serialize_auxdata=cls.serialize_aux, deserialize_auxdata=cls.deserialize_aux
                )
            else:
                raise TypeError(f"{name} has no export serialization")
        except ValueError:  # registered already (a reloaded module)
            pass
        _registered.add(cls)


def _resolve(name: str) -> type:
    module, qualname = name.split(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _abstract(leaf):
    """An array's shape and dtype (Python scalars stay: they lower as weak-typed scalars)."""
    if isinstance(leaf, (bool, int, float, complex)) or not hasattr(leaf, "dtype"):
        return leaf
    return jax.ShapeDtypeStruct(np.shape(leaf), leaf.dtype, weak_type=bool(getattr(leaf, "weak_type", False)))


def _leaf_signature(leaf) -> tuple:
    if isinstance(leaf, (bool, int, float, complex)):
        return ("python", type(leaf).__name__)
    return (tuple(np.shape(leaf)), str(leaf.dtype), bool(getattr(leaf, "weak_type", False)))


class Program:
    """``jax.jit(fn)`` whose lowered programs persist across processes.

    With the compile cache off (:func:`enable_compilation_cache`) it is exactly
    ``jax.jit(fn, static_argnames=...)``. With it on, each new signature (static arguments,
    tree structure, shapes and dtypes) is exported once (``jax.export``), written to
    ``<cache>/exported/``, and called through ``jax.jit(exported.call)``: the same
    StableHLO, so the same results, and a later process deserializes it in milliseconds
    where tracing and lowering took about half a second. A program that cannot be exported
    or read back is traced as usual.
    """

    def __init__(self, fn, static_argnames: tuple[str, ...] = ()):
        self.fn = fn
        self.static_argnames = tuple(static_argnames)
        self.jit = jax.jit(fn, static_argnames=self.static_argnames)
        self._name = f"{fn.__module__}.{getattr(fn, '__qualname__', repr(fn))}"
        self._calls: dict[str, Any] = {}
        self._compiled: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        # Signatures being made now (each event set when done): a second thread that needs
        # one waits for it instead of compiling or loading it again.
        self._making: dict[str, threading.Event] = {}
        self._state = threading.Lock()
        functools.update_wrapper(self, fn)
        _programs.add(self)

    def _split(self, kwargs: dict) -> tuple[dict, dict]:
        static = {k: v for k, v in kwargs.items() if k in self.static_argnames}
        return static, {k: v for k, v in kwargs.items() if k not in self.static_argnames}

    def _key(self, static: dict, args: tuple, kwargs: dict) -> str:
        leaves, treedef = jax.tree.flatten((args, kwargs))
        parts = (
            _EXPORT_FORMAT, self._name, sorted((k, repr(v)) for k, v in static.items()), str(treedef),
            [_leaf_signature(leaf) for leaf in leaves], bool(jax.config.jax_enable_x64), jax.__version__,
            jax.default_backend(), _source_digest(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:40]

    def _exported_call(self, key: str, static: dict, args: tuple, kwargs: dict):
        """``jax.jit(exported.call)`` for a signature: from memory, from disk, or exported
        now (and written); False where exporting fails (plain jit then)."""
        call = self._calls.get(key)
        if call is not None:
            return call
        with self._locks.setdefault(key, threading.Lock()):
            call = self._calls.get(key)
            if call is None:
                exported = _load_exported(key) or _export(functools.partial(self.fn, **static), key, args, kwargs)
                call = jax.jit(exported.call) if exported is not None else False
                self._calls[key] = call
        return call

    def _target(self, args: tuple, kwargs: dict):
        """The signature's key (None under a trace), its exported program (None: plain jit,
        with the cache off or under a trace) and the non-static keywords."""
        static, dynamic = self._split(kwargs)
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves((args, dynamic))):
            return None, None, dynamic
        key = self._key(static, args, dynamic)
        if _exported_dir() is None:
            return key, None, dynamic
        return key, self._exported_call(key, static, args, dynamic), dynamic

    def __call__(self, *args, **kwargs):
        key, call, dynamic = self._target(args, kwargs)
        if key is None:
            return self.jit(*args, **kwargs)
        compiled = self._compiled.get(key)
        if compiled is None:
            # Made from shapes as a background precompile makes it: one executable, and one
            # compile-cache entry, whichever thread gets there first (arrays committed to a
            # device would lower to another program).
            static, _ = self._split(kwargs)
            shapes, dyn_shapes = jax.tree.map(_abstract, (args, dynamic))
            try:
                self.precompile(*shapes, **static, **dyn_shapes)
            except Exception:  # noqa: BLE001 - not lowerable from shapes alone: the call as it is
                pass
            compiled = self._compiled.get(key)
            if compiled is None:
                return call(*args, **dynamic) if call else self.jit(*args, **kwargs)
        return compiled(*args, **dynamic)

    def precompile(self, *args, **kwargs) -> None:
        """Traces, lowers and compiles for these arguments (arrays or
        ``jax.ShapeDtypeStruct``) without running, and keeps the executable, so that a later
        call with values of these shapes (a background thread's work for the next padding
        bucket) neither compiles nor loads anything; a call that comes meanwhile waits for
        this instead of making it again."""
        key, call, dynamic = self._target(args, kwargs)
        with self._state:
            if key in self._compiled:
                return
            making = self._making.get(key)
            if making is None:
                making = self._making[key] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            making.wait()
            return
        try:
            if not call:
                compiled = self.jit.lower(*args, **kwargs).compile()
            else:
                compiled = call.lower(*args, **dynamic).compile()
            self._compiled[key] = compiled
        finally:
            with self._state:
                del self._making[key]
            making.set()

    def prepare(self, *args, **kwargs) -> None:
        """:meth:`precompile`, then one run on these arguments (each ``jax.ShapeDtypeStruct``
        as zeros), its result dropped. An executable's first run costs more than later ones
        (2-20 ms more at 128-512 rows on 2 cores, whichever thread runs it; where inside XLA
        was not traced), which a background thread pays here instead of the ask that first
        calls it. Only for arguments on which the program runs briefly."""
        static, dynamic = self._split(kwargs)
        # From shapes, as __call__ compiles: concrete arrays can lower to another program.
        shapes, dyn_shapes = jax.tree.map(_abstract, (args, dynamic))
        self.precompile(*shapes, **static, **dyn_shapes)
        args, dynamic = jax.tree.map(_zeros, (args, dynamic))
        jax.block_until_ready(self(*args, **static, **dynamic))


def _zeros(leaf):
    return jnp.zeros(leaf.shape, leaf.dtype) if isinstance(leaf, jax.ShapeDtypeStruct) else leaf


_programs: weakref.WeakSet[Program] = weakref.WeakSet()


def clear_programs() -> None:
    """Forgets the exported programs this process has loaded or made (not the files)."""
    for prog in list(_programs):
        prog._calls.clear()
        prog._compiled.clear()


def _exported_dir() -> Path | None:
    cache = enable_compilation_cache()
    return None if cache is None else Path(cache) / "exported"


def _load_exported(key: str):
    folder = _exported_dir()
    path = folder / f"{key}.bin" if folder is not None else None
    if path is None or not path.exists():
        return None
    try:
        from jax import export

        blob = path.read_bytes()
        size = int.from_bytes(blob[:4], "little")
        for name in json.loads(blob[4 : 4 + size])["types"]:
            _register(_resolve(name))
        return export.deserialize(bytearray(blob[4 + size :]))
    except Exception:  # noqa: BLE001 - a stale or damaged file: trace again and overwrite it
        return None


def _export(fn, key: str, args: tuple, kwargs: dict):
    try:
        from jax import export

        exported = export.export(jax.jit(fn))(*args, **kwargs)
        types = _node_types(exported.in_tree) | _node_types(exported.out_tree)
        for cls in types:
            _register(cls)
        blob = exported.serialize()
    except Exception:  # noqa: BLE001 - not exportable (an unregistered pytree, a custom call): plain jit
        return None
    header = json.dumps({"types": sorted(_type_name(c) for c in types)}).encode()
    folder = _exported_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(len(header).to_bytes(4, "little") + header + bytes(blob))
        os.replace(tmp, folder / f"{key}.bin")  # atomic: a killed process leaves no half file
    except OSError:
        pass  # an unwritable cache: this process still uses the exported program
    return exported

