"""The slow guard tests' worst case for any prior: moved Hartmann-3 at similarity 0.75 with
three adversarial 20-trial parents (sign-flipped, optimum in the far corner, unrelated),
seeds 0-9, 25 trials; prints the worst seed's regret over cold start's worst seed, the
quantity ``tests/test_warm_start_statistical.py`` bounds at 2.5x for the default prior.

    python benchmarks/guard_worst_case.py --prior hyperprior
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.transfer_runs import bo_run, cold_parents
from benchmarks.transfer_suite import synthetic
from warmstart_bo import WarmStartTypes, transfer


def regrets(prior: str | None, adversary: str, seeds=range(10)) -> tuple[list[float], list[float]]:
    """Each seed's regret after 25 trials with ``prior`` (None: the default) and cold start's."""
    warm, cold = [], []
    for seed in seeds:
        problem = synthetic("hartmann3", seed, 0.75, 3, adversary=adversary)
        parents = cold_parents(problem, 20, seed)
        cold.append(min(bo_run(problem.space, problem.target, 25, seed)["values"]) - problem.optimum)
        warm.append(min(bo_run(problem.space, problem.target, 25, seed, parents, WarmStartTypes.TRANSFER_LEARNING, prior)["values"]) - problem.optimum)
    return warm, cold


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prior", default=transfer.DEFAULT_PRIOR, choices=transfer.PRIORS)
    args = ap.parse_args(argv)
    print(f"prior {args.prior}: worst seed's regret after 25 trials over cold start's worst (seeds 0-9)")
    print("adversary | prior's worst | cold's worst | ratio")
    for adversary in ("flipped", "far", "unrelated"):
        warm, cold = regrets(args.prior, adversary)
        print(f"{adversary} | {max(warm):.3g} | {max(cold):.3g} | {max(warm) / max(cold):.2f}", flush=True)


if __name__ == "__main__":
    main()
