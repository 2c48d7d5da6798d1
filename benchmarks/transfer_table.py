"""How many trials does warm start need to match a cold start's 50-trial result?

For each task family and each transfer prior: draw a target task and 3 related parent
tasks (similarity ``--similarity``), run each parent as a 50-trial cold Bayesian job, run a
50-trial cold start on the target, then a warm-started run with the parents; report the
median (over seeds) number of trials the warm run needs to reach the cold run's 50-trial
regret ("> B" when it never does within the budget B), its median regret after 10 trials,
and the mean time of one ask. A second table times one ask against the size of the parent
histories (up to 5 x 500 trials).

    python benchmarks/transfer_table.py --seeds 10
    python benchmarks/transfer_table.py --families forrester,branin --seeds 3 --budget 30
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks.families import FAMILIES
from benchmarks.step_times import random_parents, timed_steps
from benchmarks.transfer_runs import parent_history, run
from warmstart_bo import Optimizer
from warmstart_bo.transfer import PRIORS

TRANSFER = "TransferLearning"


def trials_to_reach(curve: np.ndarray, target: float) -> float:
    hits = np.flatnonzero(curve <= target * (1 + 1e-9) + 1e-12)
    return float(hits[0] + 1) if len(hits) else np.inf


def convergence_table(families, priors, seeds, similarity, budget, parent_trials):
    rows = []
    for fname in families:
        fam = FAMILIES[fname]
        needed = {p: [] for p in priors}
        at10 = {p: [] for p in priors}
        times = {p: [] for p in priors}
        cold50, cold10 = [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            target = fam.task(rng, similarity)
            parents = [parent_history(fam, fam.task(rng, similarity), parent_trials, 1000 * seed + i, f"p{i}") for i in range(3)]
            cold, _ = run(fam, target, 50, seed)
            cold50.append(cold[-1])
            cold10.append(cold[9])
            for prior in priors:
                warm, t = run(fam, target, budget, seed, parents, TRANSFER, prior)
                needed[prior].append(trials_to_reach(warm, cold[-1]))
                at10[prior].append(warm[min(9, budget - 1)])
                times[prior].append(t)
            print(f"  {fname} seed {seed} done", file=sys.stderr, flush=True)
        for prior in priors:
            med = float(np.median(needed[prior]))
            rows.append((fname, prior, "> %d" % budget if not np.isfinite(med) else f"{med:.0f}", f"{np.median(at10[prior]):.2e}", f"{np.median(cold10):.2e}", f"{np.median(cold50):.2e}", f"{np.mean(times[prior]) * 1e3:.0f}"))
    return rows


def timing_table(priors, sizes, steps=6):
    """Mean ask time (ms) after ``steps`` target trials, parents of each size, Hartmann-6."""
    fam = FAMILIES["hartmann6"]
    rows = []
    for n_parents, n_trials in sizes:
        rng = np.random.default_rng(0)
        parents = random_parents(fam, rng, n_parents, n_trials)
        target = fam.task(rng, 0.8)
        row = [f"{n_parents} x {n_trials}"]
        for prior in priors:
            opt = Optimizer(fam.space, objective_type="Minimize", random_seed=0, parents=parents, warm_start_type=TRANSFER, transfer_prior=prior)
            first, later = timed_steps(opt, target, steps)  # parent fits happen in the first ask
            row.append(f"{first:.1f} / {later * 1e3:.0f}")
        rows.append(tuple(row))
        print(f"  timing {n_parents} x {n_trials} done", file=sys.stderr, flush=True)
    return rows


def print_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", default="forrester,branin,alpine,hartmann3,hartmann6")
    ap.add_argument("--priors", default=",".join(PRIORS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--similarity", type=float, default=0.8)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--parent-trials", type=int, default=50)
    ap.add_argument("--timing-sizes", default="1x50,3x50,5x100,5x500", help="parents x trials for the timing table; empty to skip")
    args = ap.parse_args()
    priors = args.priors.split(",")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores; similarity {args.similarity}, {args.seeds} seeds, 3 parents x {args.parent_trials} trials")
    rows = convergence_table(args.families.split(","), priors, args.seeds, args.similarity, args.budget, args.parent_trials)
    print("\nmedian trials for a warm start to reach the cold start's 50-trial regret")
    print_table(("family", "prior", "trials", "regret@10", "cold@10", "cold@50", "ms/ask"), rows)
    if args.timing_sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.timing_sizes.split(",")]
        print("\nask time against parent history size (Hartmann-6): first ask in s (parent fits) / later asks in ms")
        print_table(("parents", *priors), timing_table(priors, sizes))


if __name__ == "__main__":
    main()
