"""One short GPU check of the engine and the harness; prints a table with the device.

- GP fit in float64 at n = 2000, 8000 and 16000 (d = 6): a fresh fit from the prior's
  centre (BFGS to 1e-4 nats), first call (compilation included) and a second call.
- One ``Optimizer.ask`` at n = 2000 and 8000 (d = 6): the first (compiles, multi-start or
  single-start fit) and the median of 5 later asks (each after one more observation).
- The harness's population throughput: ResNet-20 on random 32x32x3 images, batch 128,
  one trial and populations of 4 and 16 in each formulation.

Needs only JAX, Flax, optax, NumPy and SciPy; meant to finish in under 6 minutes on one
GPU. Run it whenever a GPU is available and record the table:

    PYTHONPATH=. python benchmarks/gpu_check.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.ask_times import time_asks
from warmstart_bo import gp
from warmstart_bo.harness.data import Dataset

D = 6


def objective(x: np.ndarray) -> float:
    return float(np.sum(np.sin(5.0 * x)) + np.sum((x - 0.3) ** 2))


def gp_fit_times(n: int) -> tuple[float, float, int]:
    rng = np.random.default_rng(n)
    x = rng.random((n, D))
    y = np.array([objective(r) for r in x])
    y = (y - y.mean()) / y.std()
    priors = gp.default_priors(D)
    with jax.enable_x64(True):
        data = gp.pad_data(x, y, np.zeros(D, bool), n, jnp.float64)
        starts = jax.tree.map(lambda a: a[None], gp.prior_mode(D, priors, jnp.float64))
        fit = jax.jit(gp.fit_posterior, static_argnames=("max_iter", "tol"))
        times = []
        for _ in range(2):
            start = time.perf_counter()
            result = fit(data, priors, starts, max_iter=100, tol=1e-4)
            jax.block_until_ready(result)
            times.append(time.perf_counter() - start)
    return times[0], times[1], int(result.steps)


def ask_times(n: int, later: int = 5) -> tuple[float, float, float]:
    """The first ask after n points, then the median and max of ``later`` more."""
    first, second, rest = time_asks(n, D, later - 1, n)
    return first, statistics.median([second, *rest]), max([second, *rest])


def main() -> None:
    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({device.platform}), {jax.device_count()} device(s); jax {jax.__version__}", flush=True)
    print("\nGP fit, float64, d = 6 (BFGS from the prior's centre to 1e-4 nats)")
    print(f"{'n':>7} {'first (s)':>10} {'second (s)':>11} {'steps':>6}")
    for n in (2000, 8000, 16000):
        first, second, steps = gp_fit_times(n)
        print(f"{n:>7} {first:>10.2f} {second:>11.3f} {steps:>6}", flush=True)
    print("\nOptimizer.ask, d = 6")
    print(f"{'n':>7} {'first (s)':>10} {'later median (s)':>17} {'later max (s)':>14}")
    for n in (2000, 8000):
        first, median, worst = ask_times(n)
        print(f"{n:>7} {first:>10.2f} {median:>17.3f} {worst:>14.3f}", flush=True)
    print("\nHarness population throughput, random 32x32x3 images")
    from benchmarks.population_throughput import measure

    rng = np.random.default_rng(0)
    train = rng.random((1280, 32, 32, 3), np.float32)
    data = Dataset(train, rng.integers(0, 10, 1280).astype(np.int32), train[:256], rng.integers(0, 10, 256).astype(np.int32), 10)
    measure(data, 20, "3,32,32", 128, "float32", 10, [4, 16], ["grouped", "matmul"], 2)


if __name__ == "__main__":
    main()
