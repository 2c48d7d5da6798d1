"""Time of one ``Optimizer.ask`` (GP fit + acquisition optimization) as observations grow.

For each n and d: n random observations of a smooth function are told, then ``ask`` is
called; ``first`` is that call (JIT compilation for the padding bucket and a multi-start
fit), ``second`` the next (tell one, ask) round (it compiles the warm-started fit), and
``later`` the median of the further rounds inside the same bucket, which refine the
previous fit. Prints a table with the machine and JAX version.

Example::

    python benchmarks/ask_times.py --sizes 20,100,500,2000 --dims 3,6 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import numpy as np

import warmstart_bo
from warmstart_bo import ContinuousParameter, Optimizer


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    devices = ", ".join(str(d) for d in jax.devices())
    return f"{cpu}, {len(os.sched_getaffinity(0))} CPUs usable; JAX {jax.__version__} on {devices}; warmstart_bo {warmstart_bo.__version__}"


def objective(x: np.ndarray) -> float:
    return float(np.sum(np.sin(5.0 * x)) + np.sum((x - 0.3) ** 2))


def time_asks(n: int, d: int, repeats: int, seed: int) -> tuple[float, list[float]]:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(d)]
    opt = Optimizer({k: ContinuousParameter(0.0, 1.0) for k in names}, random_seed=seed)
    xs = rng.random((n, d))
    opt.tell([dict(zip(names, map(float, x))) for x in xs], [objective(x) for x in xs])
    times = []
    for _ in range(repeats + 2):
        start = time.perf_counter()
        (p,) = opt.ask()
        times.append(time.perf_counter() - start)
        opt.tell([p], [objective(np.array([p[k] for k in names]))])
    return times[0], times[1], times[2:]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,100,500,2000")
    parser.add_argument("--dims", default="3,6")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(machine())
    print(f"{'n':>6} {'d':>3} {'first (s)':>10} {'second (s)':>11} {'later (s)':>10}")
    for d in (int(v) for v in args.dims.split(",")):
        for n in (int(v) for v in args.sizes.split(",")):
            first, second, later = time_asks(n, d, args.repeats, args.seed)
            print(f"{n:>6} {d:>3} {first:>10.3f} {second:>11.3f} {statistics.median(later):>10.3f}", flush=True)


if __name__ == "__main__":
    main()
