"""The ``warmstart-bo`` command."""

from __future__ import annotations

import argparse
import sys
import time

from warmstart_bo import __version__
from warmstart_bo.optimizer import Optimizer
from warmstart_bo.testfunctions import BRANIN_OPTIMUM, BRANIN_SPACE, branin


def demo(trials: int, seed: int) -> float:
    """Minimizes Branin with ask/tell and prints each trial; returns the final regret."""
    opt = Optimizer(BRANIN_SPACE, objective_type="Minimize", random_seed=seed, n_initial_points=min(10, trials))
    start = time.perf_counter()
    for i in range(trials):
        (params,) = opt.ask()
        value = branin(params)
        opt.tell([params], [value])
        _, best = opt.best()
        print(f"trial {i + 1:3d}  x1={params['x1']:8.4f}  x2={params['x2']:8.4f}  value={value:10.5f}  best={best:.6f}", flush=True)
    regret = best - BRANIN_OPTIMUM
    print(f"best value {best:.6f} (optimum {BRANIN_OPTIMUM:.6f}, regret {regret:.2e}) after {trials} trials in {time.perf_counter() - start:.1f} s")
    return regret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="warmstart-bo", description="Gaussian-process Bayesian optimization in JAX.")
    parser.add_argument("--version", action="version", version=f"warmstart-bo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="minimize the Branin function with the ask/tell Optimizer")
    p_demo.add_argument("--trials", type=int, default=30)
    p_demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.trials < 1:
            parser.error("--trials must be at least 1")
        demo(args.trials, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
