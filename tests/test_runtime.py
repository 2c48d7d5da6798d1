"""The runtime settings: the persistent compile cache across processes, BLAS thread limits."""

import os
import subprocess
import sys
import textwrap

import pytest

from warmstart_bo import runtime

FIRST_ASK = textwrap.dedent(
    """
    import jax
    from warmstart_bo import ContinuousParameter, Optimizer
    hits, traced = [], []
    jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: traced.append(kw.get("fun_name")) if event == "/jax/core/compile/jaxpr_trace_duration" else None)
    opt = Optimizer({"a": ContinuousParameter(0, 1), "b": ContinuousParameter(0, 1)}, random_seed=0, n_initial_points=4)
    for i in range(5):
        (p,) = opt.ask()
        opt.tell([p], [(p["a"] - 0.3) ** 2 + p["b"]])
    print("TRACED", " ".join(sorted(set(map(str, traced)))))
    print("PROPOSED", opt.observations()[0][-1])
    print("HITS", len(hits))
    """
)


def run_ask(env) -> tuple[int, set[str], str]:
    out = subprocess.run([sys.executable, "-c", FIRST_ASK], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.split(" ", 1)[0] in ("TRACED", "PROPOSED", "HITS"))
    return int(lines["HITS"]), set(lines["TRACED"].split()), lines["PROPOSED"]


def test_a_second_process_loads_the_compiled_and_exported_ask_from_the_cache(tmp_path):
    """The second process neither compiles nor traces the core's functions: it loads their
    compiled code and their exported (traced and lowered) programs, and proposes the same
    points. With the cache off nothing is loaded and the core is traced again."""
    env = {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.getcwd()}
    core = {"fit_posterior", "gradient_ascent", "score"}
    hits, traced, proposed = run_ask(env)
    assert hits == 0 and core <= traced
    assert any((tmp_path / "cache" / "exported").iterdir())
    hits, traced, again = run_ask(env)
    assert hits > 0 and not core & traced
    assert again == proposed
    env["WARMSTART_BO_COMPILATION_CACHE"] = "off"
    hits, traced, plain = run_ask(env)
    assert hits == 0 and core <= traced
    assert plain == proposed


def test_blas_threads_are_limited_inside_the_block(monkeypatch):
    from threadpoolctl import threadpool_info

    monkeypatch.setenv("WARMSTART_BO_BLAS_THREADS", "1")
    with runtime.blas_threads():
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    monkeypatch.setenv("WARMSTART_BO_BLAS_THREADS", "zero")
    with pytest.raises(ValueError, match="WARMSTART_BO_BLAS_THREADS"):
        runtime.default_blas_threads()
    monkeypatch.delenv("WARMSTART_BO_BLAS_THREADS")
    assert runtime.default_blas_threads() == (1 if runtime.usable_cores() <= 4 else runtime.usable_cores() // 2)


def test_a_program_loads_its_exported_file_and_retraces_a_damaged_one(tmp_path, monkeypatch):
    """A Program exports each signature once to the cache's folder; a new process (here:
    its memory cleared) loads that file instead of tracing; a damaged file is traced again
    and rewritten, with the same results."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from warmstart_bo import gp

    monkeypatch.setattr(runtime, "_exported_dir", lambda: tmp_path)
    prog = runtime.Program(gp.condition)
    x = np.linspace(0, 1, 6)[:, None]
    traced = []

    def listen(event, duration, **kw):
        if event == "/jax/core/compile/jaxpr_trace_duration":
            traced.append(kw.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        with jax.enable_x64(True):
            data = gp.pad_data(x, np.sin(6 * x[:, 0]), np.zeros(1, bool), 8, jnp.float64)
            params = gp.prior_mode(1, gp.default_priors(1), jnp.float64)
            first = prog(params, data)
            (path,) = tmp_path.glob("*.bin")
            assert "condition" in traced
            runtime.clear_programs()
            traced.clear()
            loaded = prog(params, data)
            assert "condition" not in traced
            path.write_bytes(b"damaged")
            runtime.clear_programs()
            traced.clear()
            again = prog(params, data)
            assert "condition" in traced and path.read_bytes() != b"damaged"
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    for a, b in ((first, loaded), (first, again)):
        np.testing.assert_array_equal(np.asarray(a.kinv), np.asarray(b.kinv))
        np.testing.assert_array_equal(np.asarray(a.alpha), np.asarray(b.alpha))


@pytest.mark.parametrize("exported", [True, False])
def test_a_precompiled_program_runs_its_executable_without_lowering_again(tmp_path, monkeypatch, exported):
    """``Program.precompile`` (a background thread's work for the next padding bucket) keeps
    the executable, so the first real call with those shapes neither lowers nor compiles,
    and gives what a fresh jit gives."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from warmstart_bo import gp

    monkeypatch.setattr(runtime, "_exported_dir", lambda: tmp_path if exported else None)
    prog = runtime.Program(gp.condition)
    events = []

    def listen(event, duration, **kw):
        if event in ("/jax/core/compile/jaxpr_to_mlir_module_duration", "/jax/core/compile/backend_compile_duration"):
            events.append(event)

    with jax.enable_x64(True):
        x = np.linspace(0, 1, 5)[:, None]
        data = gp.pad_data(x, np.cos(5 * x[:, 0]), np.zeros(1, bool), 8, jnp.float64)
        # Committed, as the previous fit's outputs are when an ask passes them on.
        params = jax.device_put(gp.prior_mode(1, gp.default_priors(1), jnp.float64), jax.devices()[0])
        prog.precompile(*jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), (params, data)))
        jax.monitoring.register_event_duration_secs_listener(listen)
        try:
            post = prog(params, data)
        finally:
            jax.monitoring.unregister_event_duration_listener(listen)
        assert events == []
        plain = jax.jit(gp.condition)(params, data)
    np.testing.assert_allclose(np.asarray(post.alpha), np.asarray(plain.alpha), rtol=1e-12)


ONE_PROGRAM = textwrap.dedent(
    """
    import sys
    import jax
    import jax.numpy as jnp
    import numpy as np
    from warmstart_bo import gp, runtime
    runtime.enable_compilation_cache()
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    misses = []
    jax.monitoring.register_event_listener(lambda event, **kw: misses.append(event) if event == "/jax/compilation_cache/cache_misses" else None)
    prog = runtime.Program(gp.condition)
    with jax.enable_x64(True):
        x = np.linspace(0, 1, 6)[:, None]
        data = gp.pad_data(x, np.sin(6 * x[:, 0]), np.zeros(1, bool), 8, jnp.float64)
        # Committed, as the previous fit's outputs are when an ask passes them on.
        params = jax.device_put(gp.prior_mode(1, gp.default_priors(1), jnp.float64), jax.devices()[0])
        before = len(misses)
        if sys.argv[1] == "precompile":
            prog.precompile(*jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), (params, data)))
        elif sys.argv[1] == "prepare":
            prog.prepare(params, data)
        post = prog(params, data)
    print("MISSES", len(misses) - before)
    print("ALPHA", repr(float(np.asarray(post.alpha).sum())))
    """
)


@pytest.mark.parametrize("first, second", [("call", "precompile"), ("precompile", "call"), ("prepare", "call"), ("call", "prepare")])
def test_a_call_and_a_precompile_share_one_compile_cache_entry(tmp_path, first, second):
    """A program an ask made itself (from committed arrays) and the same program a
    background thread made ahead (from shapes, or prepared from committed arrays) are one
    compile-cache entry: the next process loads it whichever way it gets there first,
    rather than compiling again."""
    env = {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": str(tmp_path), "PYTHONPATH": os.getcwd()}

    def run(mode):
        out = subprocess.run([sys.executable, "-c", ONE_PROGRAM, mode], env=env, capture_output=True, text=True, timeout=300, check=False)
        assert out.returncode == 0, out.stderr
        return dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.split(" ", 1)[0] in ("MISSES", "ALPHA"))

    made, loaded = run(first), run(second)
    assert int(made["MISSES"]) == 1
    assert int(loaded["MISSES"]) == 0
    assert loaded["ALPHA"] == made["ALPHA"]


def test_prepare_runs_the_program_once_on_zeros_for_the_shapes_it_is_given(monkeypatch):
    """``Program.prepare`` compiles for its arguments' shapes and runs the program once,
    each ``jax.ShapeDtypeStruct`` as zeros and each array as given (a background thread
    pays an executable's first run there); a later call with other values compiles
    nothing."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    monkeypatch.setattr(runtime, "_exported_dir", lambda: None)
    seen = []

    def f(a, b, *, scale):
        jax.debug.callback(lambda a, b: seen.append((np.asarray(a), np.asarray(b))), a, b)
        return scale * a + b

    prog = runtime.Program(f, static_argnames=("scale",))
    prog.prepare(jax.ShapeDtypeStruct((3,), jnp.float32), jnp.full(3, 2.0, jnp.float32), scale=5)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0][0], np.zeros(3, np.float32))
    np.testing.assert_array_equal(seen[0][1], np.full(3, 2.0, np.float32))
    a, b = jnp.arange(3, dtype=jnp.float32), jnp.ones(3, jnp.float32)
    compiles = []
    listen = lambda event, duration, **kw: compiles.append(event) if event == "/jax/core/compile/backend_compile_duration" else None  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        out = prog(a, b, scale=5)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert compiles == []
    np.testing.assert_array_equal(np.asarray(out), [1.0, 6.0, 11.0])
    assert len(seen) == 2


def test_a_call_waits_for_the_precompile_making_its_program(monkeypatch):
    """A call that needs a program another thread is compiling waits for that compilation
    instead of compiling it a second time beside it."""
    import threading

    import jax
    import jax.numpy as jnp
    import numpy as np

    from warmstart_bo import gp

    monkeypatch.setattr(runtime, "_exported_dir", lambda: None)
    prog = runtime.Program(gp.condition)
    with jax.enable_x64(True):
        x = np.linspace(0, 1, 7)[:, None]
        data = gp.pad_data(x, np.cos(4 * x[:, 0]), np.zeros(1, bool), 8, jnp.float64)
        params = gp.prior_mode(1, gp.default_priors(1), jnp.float64)
        shapes = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), (params, data))
        started, release, lowered = threading.Event(), threading.Event(), []
        real_lower = prog.jit.lower

        def slow_lower(*args, **kwargs):
            lowered.append(threading.current_thread().name)
            started.set()
            release.wait(60)
            return real_lower(*args, **kwargs)

        monkeypatch.setattr(prog.jit, "lower", slow_lower, raising=False)
        worker = threading.Thread(target=_in_x64, args=(prog.precompile, *shapes), name="worker")
        worker.start()
        assert started.wait(60)
        result = {}
        caller = threading.Thread(target=lambda: result.update(post=_in_x64(prog, params, data)), name="caller")
        caller.start()
        caller.join(0.5)
        assert caller.is_alive()  # waiting for the worker's compilation
        release.set()
        worker.join(60)
        caller.join(60)
        assert lowered == ["worker"] and len(prog._compiled) == 1  # not making its own beside it
        np.testing.assert_allclose(np.asarray(result["post"].alpha), np.asarray(jax.jit(gp.condition)(params, data).alpha), rtol=1e-12)


def _in_x64(fn, *args):
    import jax

    with jax.enable_x64(True):
        return fn(*args)


FREEZE = textwrap.dedent(
    """
    import gc
    from warmstart_bo import ContinuousParameter, Optimizer
    before = gc.get_freeze_count()
    opt = Optimizer({"a": ContinuousParameter(0, 1)}, random_seed=0, n_initial_points=2, max_observations=4)
    opt.ask()
    print("FROZEN", before, gc.get_freeze_count())
    """
)


@pytest.mark.parametrize("setting, frozen", [(None, True), ("0", False)])
def test_a_job_that_compiles_ahead_freezes_the_heap_once_unless_turned_off(tmp_path, setting, frozen):
    """A job's first ask, which starts the compile-ahead threads, moves the objects alive
    then (JAX's modules among them) out of the collector's full passes, so that none of
    those passes stalls a later ask; ``WARMSTART_BO_FREEZE_HEAP=0`` leaves the collector
    alone."""
    env = {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": str(tmp_path), "PYTHONPATH": os.getcwd()}
    env.pop("WARMSTART_BO_FREEZE_HEAP", None)
    if setting is not None:
        env["WARMSTART_BO_FREEZE_HEAP"] = setting
    out = subprocess.run([sys.executable, "-c", FREEZE], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    before, after = map(int, next(line for line in out.stdout.splitlines() if line.startswith("FROZEN")).split()[1:])
    assert before == 0
    assert (after > 10_000) == frozen and (after == 0) == (not frozen)


@pytest.fixture
def switch_interval():
    """The interpreter's switch interval as the test found it, put back after."""
    before = sys.getswitchinterval()
    yield before
    sys.setswitchinterval(before)


def test_the_switch_interval_is_short_while_any_holder_holds_it(monkeypatch, switch_interval):
    monkeypatch.delenv("WARMSTART_BO_SWITCH_INTERVAL", raising=False)
    sys.setswitchinterval(0.005)
    first = runtime.shorten_switch_interval()
    assert sys.getswitchinterval() == pytest.approx(runtime.BACKGROUND_SWITCH_INTERVAL)
    second = runtime.shorten_switch_interval()
    first()
    first()  # a second release of one hold releases nothing more
    assert sys.getswitchinterval() == pytest.approx(runtime.BACKGROUND_SWITCH_INTERVAL)
    second()
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_the_switch_interval_leaves_a_users_own_setting_alone(monkeypatch, switch_interval):
    monkeypatch.delenv("WARMSTART_BO_SWITCH_INTERVAL", raising=False)
    sys.setswitchinterval(0.005)
    release = runtime.shorten_switch_interval()
    sys.setswitchinterval(0.002)  # changed by the user meanwhile: kept
    release()
    assert sys.getswitchinterval() == pytest.approx(0.002)
    sys.setswitchinterval(0.0001)  # already shorter than ours: kept
    runtime.shorten_switch_interval()()
    assert sys.getswitchinterval() == pytest.approx(0.0001)
    sys.setswitchinterval(0.005)
    monkeypatch.setenv("WARMSTART_BO_SWITCH_INTERVAL", "off")
    release = runtime.shorten_switch_interval()
    assert sys.getswitchinterval() == pytest.approx(0.005)
    release()
    monkeypatch.setenv("WARMSTART_BO_SWITCH_INTERVAL", "0.001")
    release = runtime.shorten_switch_interval()
    assert sys.getswitchinterval() == pytest.approx(0.001)
    release()
    for bad in ("fast", "-1", "inf", "nan"):
        monkeypatch.setenv("WARMSTART_BO_SWITCH_INTERVAL", bad)
        with pytest.raises(ValueError, match="WARMSTART_BO_SWITCH_INTERVAL"):
            runtime.shorten_switch_interval()
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_a_jobs_compile_ahead_holds_a_short_switch_interval_until_its_last_program_settles(monkeypatch, switch_interval):
    """The job's compile-ahead threads shorten the interval when they start and restore it
    once, after every program they were given has settled."""
    import threading

    from warmstart_bo import ContinuousParameter, Optimizer

    monkeypatch.delenv("WARMSTART_BO_SWITCH_INTERVAL", raising=False)
    sys.setswitchinterval(0.005)
    held, settled, released = [], [], threading.Event()
    shorten = runtime.shorten_switch_interval

    def spy():
        release = shorten()
        held.append(sys.getswitchinterval())

        def spied_release():
            settled.append(all(event.is_set() for event in opt._compilers.values()))
            release()
            released.set()

        return spied_release

    monkeypatch.setattr(runtime, "shorten_switch_interval", spy)
    opt = Optimizer({"a": ContinuousParameter(0, 1), "b": ContinuousParameter(0, 1)}, random_seed=0, n_initial_points=2, max_observations=4)
    opt.ask()
    assert released.wait(300)
    assert held == [pytest.approx(runtime.BACKGROUND_SWITCH_INTERVAL)]
    assert settled == [True] and opt._compilers
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_compile_costs_reads_jaxs_compilation_log():
    """benchmarks/compile_costs.py sums JAX's own "Finished XLA compilation" records: the
    pattern must match what this JAX version logs."""
    import logging

    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks.compile_costs import Compilations

    x = jnp.arange(7.0)
    handler = Compilations()
    log = logging.getLogger("jax")
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        with jax.log_compiles(True):
            # A constant of its own, so that no persistent cache entry can stand in for the compile.
            c = float(np.random.default_rng().random())
            jax.jit(lambda x: jnp.sin(x) * 3.0 + c)(x)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate
    assert [name for name, _ in handler.records] == ["jit(<lambda>)"]
    assert all(seconds >= 0.0 for _, seconds in handler.records)


def test_compile_costs_refuses_a_warm_cache(monkeypatch):
    from benchmarks import compile_costs

    monkeypatch.delenv("WARMSTART_BO_COMPILATION_CACHE", raising=False)
    with pytest.raises(SystemExit, match="WARMSTART_BO_COMPILATION_CACHE=off"):
        compile_costs.main(["--trials", "2"])
