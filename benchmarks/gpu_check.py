"""One short GPU check of the engine and the harness; prints a table with the device.

- GP fit in float64 at n = 2000, 8000 and 16000 (d = 6), first call (compilation included)
  and a second call: a fresh fit from the prior's centre (BFGS to 1e-4 nats), and one on
  all rows started from a 256-row subset's optimum (as the engine's first fit at large n
  starts), to the same tolerance; then the parts of one likelihood evaluation at n = 8000
  and the evaluations a fit takes (``--sections trace`` prints that fit step by step).
- One ``Optimizer.ask`` at n = 2000 and 8000 (d = 6): the first (compiles, multi-start or
  single-start fit) and the median of 5 later asks (each after one more observation).
- The harness's population throughput: ResNet-20 on random 32x32x3 images, batch 128,
  one trial and populations of 4 and 16 in each formulation.

Needs only JAX, Flax, optax, NumPy and SciPy; meant to finish in under 6 minutes on one
GPU. Run it whenever a GPU is available and record the table:

    PYTHONPATH=. python benchmarks/gpu_check.py

Each section reports its own failure and the next one still runs, so one lease gives every
number it can. The options shrink the check for a dry run on a CPU before a lease:

    PYTHONPATH=. python benchmarks/gpu_check.py --fit-sizes 300 --ask-sizes 100 --populations 2 --num-layers 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from benchmarks.ask_times import time_asks
from warmstart_bo import gp, runtime
from warmstart_bo.harness.data import Dataset

D = 6


def objective(x: np.ndarray) -> float:
    return float(np.sum(np.sin(5.0 * x)) + np.sum((x - 0.3) ** 2))


SUBSET = 256  # the engine's SUBSET_ROWS: a first fit on more rows multi-starts on this many


def _problem(n: int):
    rng = np.random.default_rng(n)
    x = rng.random((n, D))
    y = np.array([objective(r) for r in x])
    return x, (y - y.mean()) / y.std()


def _fit_inputs(n: int) -> tuple[gp.Priors, gp.GPData, gp.GPParams]:
    """Priors, the n padded rows and the prior's centre as a single start; call it with x64
    enabled."""
    x, y = _problem(n)
    priors = gp.default_priors(D)
    starts = jax.tree.map(lambda a: a[None], gp.prior_mode(D, priors, jnp.float64))
    return priors, gp.pad_data(x, y, np.zeros(D, bool), n, jnp.float64), starts


def _timed_twice(run) -> tuple[float, float, object]:
    times = []
    for _ in range(2):
        start = time.perf_counter()
        result = jax.block_until_ready(run())
        times.append(time.perf_counter() - start)
    return times[0], times[1], result


def gp_fit_times(n: int) -> tuple[tuple[float, float, int, float], tuple[float, float, int, float]]:
    """Two fresh fits of all n rows to the same tolerance (1e-4 nats), each timed twice:
    BFGS from the prior's centre, and BFGS on all rows started from the optimum of a
    SUBSET-row fit (as the engine's first fit at large n starts). Each gives (first,
    second, steps on all rows, loss)."""
    x, y = _problem(n)
    priors = gp.default_priors(D)
    with jax.enable_x64(True), runtime.blas_threads():
        cat = np.zeros(D, bool)
        data = gp.pad_data(x, y, cat, n, jnp.float64)
        rows_sub = min(SUBSET, n)  # a smoke run on a small n: the subset is every row
        keep = np.sort(np.random.default_rng(1).choice(n, rows_sub, replace=False))
        sub = gp.pad_data(x[keep], y[keep], cat, rows_sub, jnp.float64)
        starts = jax.tree.map(lambda a: a[None], gp.prior_mode(D, priors, jnp.float64))
        fit = jax.jit(gp.fit_posterior, static_argnames=("max_iter", "tol"))

        @jax.jit
        def from_subset(sub, data, starts):
            first = gp.fit_posterior(sub, priors, starts, max_iter=100, tol=1e-4)
            post = gp.condition(first.posterior.params, data)
            return gp.refine(post, priors, first.hess_inv * (rows_sub / n), max_iter=100, tol=1e-4)

        rows = []
        for run in (lambda: fit(data, priors, starts, max_iter=100, tol=1e-4), lambda: from_subset(sub, data, starts)):
            first, second, result = _timed_twice(run)
            rows.append((first, second, int(result.steps), float(result.loss)))
    return rows[0], rows[1]


def eval_parts(n: int) -> dict[str, float]:
    """Seconds (median of 5, after a compiling call) of one likelihood evaluation's parts."""
    with jax.enable_x64(True), runtime.blas_threads():
        priors, data, _ = _fit_inputs(n)
        params = gp.prior_mode(D, priors, jnp.float64)
        cov = jax.block_until_ready(jax.jit(gp.train_covariance)(params, data))
        chol = jnp.linalg.cholesky(cov)
        loss = gp.objective(data, priors)
        eye = jnp.eye(n, dtype=jnp.float64)
        parts = {  # each jitted once: a new jit wrapper per call would compile every time
            "covariance": (jax.jit(gp.train_covariance), (params, data)),
            "cholesky": (jax.jit(jnp.linalg.cholesky), (cov,)),
            "L^-1 (one triangular solve)": (jax.jit(lambda c, e: jax.scipy.linalg.solve_triangular(c, e, lower=True)), (chol, eye)),
            "L^-1 (2x2 blocks, the fit's)": (jax.jit(gp._triangular_inverse), (chol,)),
            "L^-T L^-1 (dense product)": (jax.jit(lambda a: a.T @ a), (chol,)),
            "L^-T L^-1 (2x2 blocks, the fit's)": (jax.jit(gp._lower_gram), (chol,)),
            "K^-1 (cho_solve, for comparison)": (jax.jit(lambda c, e: jax.scipy.linalg.cho_solve((c, True), e)), (chol, eye)),
            "value (factor + solves, the fit's)": (jax.jit(loss.profiled), (params,)),
            "value + gradient (full)": (jax.jit(loss.full), (params, chol)),
        }
        out = {}
        for name, (fn, fn_args) in parts.items():
            jax.block_until_ready(fn(*fn_args))
            times = []
            for _ in range(5):
                start = time.perf_counter()
                jax.block_until_ready(fn(*fn_args))
                times.append(time.perf_counter() - start)
            out[name] = statistics.median(times)
    return out


def _fit_events(n: int, tol: float) -> tuple[list[tuple], gp.Fit]:
    """One fit of all n rows from the prior's centre, and its evaluations in order:
    ``("try", value)`` for each value-only evaluation (the line search's tries) and
    ``("step", value, max |gradient|)`` for each value+gradient one (an accepted point).
    Recorded through host callbacks, which run without the x64 flag: a value reaches them
    as two float32 parts."""
    events: list[tuple] = []
    originals = {name: getattr(gp._Objective, name) for name in ("profiled", "full")}

    def split(v):
        hi = v.astype(jnp.float32)
        return hi, (v - hi).astype(jnp.float32)

    def profiled(self, p):
        out = originals["profiled"](self, p)
        jax.debug.callback(lambda hi, lo: events.append(("try", float(hi) + float(lo))), *split(out[0]))
        return out

    def full(self, p, chol):
        out = originals["full"](self, p, chol)
        grad = jax.flatten_util.ravel_pytree(out[1])[0]
        x = jax.flatten_util.ravel_pytree(p)[0]
        jax.debug.callback(lambda hi, lo, g, x: events.append(("step", float(hi) + float(lo), float(np.abs(g).max()), np.asarray(x))), *split(out[0]), grad, x)
        return out

    with jax.enable_x64(True), runtime.blas_threads():
        priors, data, starts = _fit_inputs(n)
        try:
            gp._Objective.profiled, gp._Objective.full = profiled, full
            result = jax.block_until_ready(jax.jit(lambda data, starts: gp.fit_posterior(data, priors, starts, max_iter=100, tol=tol))(data, starts))
            jax.effects_barrier()
        finally:
            for name, method in originals.items():
                setattr(gp._Objective, name, method)
    return events, result


def fit_evaluations(n: int, tols=(1e-4, 1e-2)) -> list[tuple]:
    """A fresh fit of all n rows from the prior's centre at each tolerance: (tol, seconds
    of a second call, steps, value-only evaluations, how many of them could not factorize,
    value+gradient evaluations, loss). A step costs one value+gradient evaluation and at
    least one value-only one (the line search's first try); the evaluations are counted in
    a separate, untimed call (:func:`_fit_events`)."""
    rows = []
    with jax.enable_x64(True), runtime.blas_threads():
        priors, data, starts = _fit_inputs(n)
        fit = jax.jit(gp.fit_posterior, static_argnames=("max_iter", "tol"))
        for tol in tols:
            _, seconds, result = _timed_twice(lambda tol=tol: fit(data, priors, starts, max_iter=100, tol=tol))
            events, _ = _fit_events(n, tol)
            tries = [e[1] for e in events if e[0] == "try"]
            failed = sum(not np.isfinite(v) for v in tries)
            steps = sum(e[0] == "step" for e in events)
            rows.append((tol, seconds, int(result.steps), len(tries), failed, steps, float(result.loss)))
    return rows


def fit_trace(n: int) -> list[str]:
    """One fit of all n rows from the prior's centre (to 1e-4 nats), step by step: the line
    search's tries, the decrease accepted, the largest gradient entry and the point reached
    (log lengthscales, log signal and noise variances, constant mean); and the final line
    search's tries if it found no decrease."""
    events, _ = _fit_events(n, 1e-4)
    lines, tries, previous = [], [], None
    for event in events:
        if event[0] == "try":
            tries.append(event[1])
            continue
        point = " ".join(f"{v:6.2f}" for v in event[3])
        if previous is not None:
            lines.append(f"step {len(lines):>3}: {len(tries):>2} tries, decrease {previous - event[1]:>10.3g}, max |gradient| {event[2]:9.3g}, at {point}")
        else:
            lines.append(f"start: at {point}")
        previous, tries = event[1], []
    if tries:
        lines.append(f"last line search: {len(tries)} tries, none below {previous:.4f} (best {min(tries):.4f})")
    return lines


def ask_times(n: int, later: int = 5) -> tuple[float, float, float]:
    """The first ask after n points, then the median and max of ``later`` more."""
    first, second, rest = time_asks(n, D, later - 1, n)
    return first, statistics.median([second, *rest]), max([second, *rest])


def section(title: str, run) -> None:
    """Prints ``title``, runs it; a failure prints its last traceback lines instead of ending the check."""
    print(f"\n{title}", flush=True)
    try:
        run()
    except Exception:  # noqa: BLE001 - a failed section must not cost the lease's other numbers
        print("  failed:\n  " + "\n  ".join(traceback.format_exc().strip().splitlines()[-6:]), flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit-sizes", default="2000,8000,16000")
    ap.add_argument("--ask-sizes", default="2000,8000")
    ap.add_argument("--populations", default="4,16")
    ap.add_argument("--num-layers", type=int, default=20)
    ap.add_argument("--sections", default="fits,parts,evaluations,asks,population", help="which sections to run, in order; 'trace' also exists")
    args = ap.parse_args(argv)
    detail_n = int(args.fit_sizes.split(",")[1 if "," in args.fit_sizes else 0])  # n of parts, evaluations, trace
    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({device.platform}), {jax.device_count()} device(s); jax {jax.__version__}", flush=True)

    def fits() -> None:
        print(f"{'n':>7} {'start':>16} {'first (s)':>10} {'second (s)':>11} {'steps':>6} {'loss':>14}")
        for n in (int(v) for v in args.fit_sizes.split(",")):
            for start, (first, second, steps, loss) in zip(("prior's centre", f"{min(SUBSET, n)}-row optimum"), gp_fit_times(n)):
                print(f"{n:>7} {start:>16} {first:>10.2f} {second:>11.3f} {steps:>6} {loss:>14.4f}", flush=True)

    def parts() -> None:
        for name, seconds in eval_parts(detail_n).items():
            print(f"  n = {detail_n}: {name:<34} {1e3 * seconds:>9.1f} ms", flush=True)

    def evaluations() -> None:
        print(f"{'n':>7} {'tol':>7} {'second (s)':>11} {'steps':>6} {'values':>7} {'failed':>7} {'full':>5} {'loss':>14}")
        for tol, seconds, steps, values, failed, full, loss in fit_evaluations(detail_n):
            print(f"{detail_n:>7} {tol:>7.0e} {seconds:>11.3f} {steps:>6} {values:>7} {failed:>7} {full:>5} {loss:>14.4f}", flush=True)

    def trace() -> None:
        for line in fit_trace(detail_n):
            print(f"  n = {detail_n}: {line}", flush=True)

    def asks() -> None:
        print(f"{'n':>7} {'first (s)':>10} {'later median (s)':>17} {'later max (s)':>14}")
        for n in (int(v) for v in args.ask_sizes.split(",")):
            first, median, worst = ask_times(n)
            print(f"{n:>7} {first:>10.2f} {median:>17.3f} {worst:>14.3f}", flush=True)

    def population() -> None:
        from benchmarks.population_throughput import measure

        rng = np.random.default_rng(0)
        train = rng.random((1280, 32, 32, 3), np.float32)
        data = Dataset(train, rng.integers(0, 10, 1280).astype(np.int32), train[:256], rng.integers(0, 10, 256).astype(np.int32), 10)
        measure(data, args.num_layers, "3,32,32", 128, "float32", 10, [int(v) for v in args.populations.split(",")], ["grouped", "matmul"], 2)

    titles = {
        "fits": (f"GP fit, float64, d = {D} (BFGS to 1e-4 nats on all rows; the loss is the negative log posterior)", fits),
        "parts": (f"One likelihood evaluation's parts, float64, d = {D} (median of 5)", parts),
        "evaluations": (f"A fit from the prior's centre by tolerance (nats): evaluations it takes (value-only, value+gradient)", evaluations),
        "trace": ("One fit from the prior's centre, step by step (not in the default sections)", trace),
        "asks": (f"Optimizer.ask, d = {D}", asks),
        "population": ("Harness population throughput, random 32x32x3 images", population),
    }
    for name in args.sections.split(","):
        section(*titles[name])

if __name__ == "__main__":
    main()
