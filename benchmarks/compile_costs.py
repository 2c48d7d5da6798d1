"""What XLA compilation costs a job with a cold cache: each program's compile time per
padded size, and the asks that wait for it.

A job with a cheap objective and ``max_observations`` known (every padded size compiles
ahead in background threads from the first ask), run with the persistent compilation cache
off so that every size compiles. JAX logs each compilation ("Finished XLA compilation of
... in ... sec"); the script sums them per program. Run it under different ``XLA_FLAGS``
to see what a compiler option buys (issue 12: bucket crossings with a cold cache).

    WARMSTART_BO_COMPILATION_CACHE=off python benchmarks/compile_costs.py --trials 70
    XLA_FLAGS=--xla_backend_optimization_level=0 WARMSTART_BO_COMPILATION_CACHE=off python benchmarks/compile_costs.py
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

COMPILED = re.compile(r"Finished XLA compilation of (.*) in ([0-9.eE+-]+) sec")


class Compilations(logging.Handler):
    """Collects (program, seconds) from JAX's compilation log."""

    def __init__(self):
        super().__init__()
        self.records: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = COMPILED.search(record.getMessage())
        if m:
            self.records.append((m.group(1), float(m.group(2))))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=70)
    ap.add_argument("--dim", type=int, default=3)
    args = ap.parse_args(argv)
    if os.environ.get("WARMSTART_BO_COMPILATION_CACHE") != "off":
        sys.exit("set WARMSTART_BO_COMPILATION_CACHE=off: a warm cache would load programs instead of compiling them")
    import jax

    from warmstart_bo import Optimizer
    from warmstart_bo.space import ContinuousParameter

    handler = Compilations()
    log = logging.getLogger("jax")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    jax.config.update("jax_log_compiles", True)

    space = {f"x{i}": ContinuousParameter(0.0, 1.0) for i in range(args.dim)}
    opt = Optimizer(space, "Minimize", random_seed=0, max_observations=args.trials)
    asks = []
    start = time.perf_counter()
    for _ in range(args.trials):
        t = time.perf_counter()
        (p,) = opt.ask()
        asks.append(time.perf_counter() - t)
        opt.tell([p], [sum((v - 0.3) ** 2 for v in p.values())])
    total = time.perf_counter() - start

    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; jax {jax.__version__}; {os.cpu_count()} CPUs; d = {args.dim}, {args.trials} trials")
    print(f"job: {total:.1f} s; asks over 0.5 s (trial: seconds): " + ", ".join(f"{i + 1}: {a:.2f}" for i, a in enumerate(asks) if a > 0.5))
    print(f"median ask {np.median(asks):.3f} s, p90 {np.percentile(asks, 90):.3f} s")
    by = collections.defaultdict(list)
    for name, seconds in handler.records:
        by[name].append(seconds)
    print("program | compilations | seconds in all | seconds each (median)")
    for name, times in sorted(by.items(), key=lambda kv: -sum(kv[1])):
        print(f"{name} | {len(times)} | {sum(times):.2f} | {np.median(times):.2f}")
    print(f"all | {len(handler.records)} | {sum(t for _, t in handler.records):.2f} |")


if __name__ == "__main__":
    main()
