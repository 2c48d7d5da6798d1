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
    hits = []
    jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
    opt = Optimizer({"a": ContinuousParameter(0, 1), "b": ContinuousParameter(0, 1)}, random_seed=0, n_initial_points=4)
    for i in range(5):
        (p,) = opt.ask()
        opt.tell([p], [(p["a"] - 0.3) ** 2 + p["b"]])
    print("HITS", len(hits))
    """
)


def run_ask(env):
    out = subprocess.run([sys.executable, "-c", FIRST_ASK], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split("HITS")[-1])


def test_a_second_process_loads_the_compiled_ask_from_the_cache(tmp_path):
    env = {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.getcwd()}
    assert run_ask(env) == 0
    assert any((tmp_path / "cache").iterdir())
    assert run_ask(env) > 0
    env["WARMSTART_BO_COMPILATION_CACHE"] = "off"
    assert run_ask(env) == 0


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
