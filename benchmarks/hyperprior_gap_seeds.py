"""The measure of ``tests/test_warm_start_statistical.py``'s hyperprior test over any seeds.

Moved Hartmann-3 at similarity 0.75, three 30-trial parents: per seed, the guarded
hyperprior's regret after 15 trials and cold start's after 20 and 25, as JSON lines
(appended; seeds already in the file are skipped). ``--summary`` prints, per block of ten
seeds and over all, the test's two quantities: the mean log10 gap against cold start after
25 (the test asks for at most 0) and the one-sided Wilcoxon p against cold start after 20
(the test asks for below 0.05).

    python benchmarks/hyperprior_gap_seeds.py --seeds 0-29 --out experiments/results/fit-profile-probe/hyperprior-9a0694d.jsonl
    python benchmarks/hyperprior_gap_seeds.py --summary experiments/results/fit-profile-probe/hyperprior-*.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.transfer_runs import append_seeds, bo_run, cold_parents, seed_blocks, seed_range
from benchmarks.transfer_suite import synthetic
from warmstart_bo import WarmStartTypes

FLOOR = 1e-12  # the test's


def one_seed(seed: int) -> dict:
    problem = synthetic("hartmann3", seed, 0.75, 3)
    parents = cold_parents(problem, 30, seed)
    cold = np.minimum.accumulate(bo_run(problem.space, problem.target, 25, seed)["values"]) - problem.optimum
    warm = min(bo_run(problem.space, problem.target, 15, seed, parents, WarmStartTypes.TRANSFER_LEARNING, "hyperprior")["values"]) - problem.optimum
    return {"seed": seed, "hyperprior15": float(warm), "cold20": float(cold[19]), "cold25": float(cold[24])}


def summary(path: Path) -> list[str]:
    lines = [f"{path}:"]
    for chosen in seed_blocks(path):
        w, c20, c25 = (np.maximum([r[k] for r in chosen], FLOOR) for k in ("hyperprior15", "cold20", "cold25"))
        gap = np.mean(np.log10(w) - np.log10(c25))
        p = wilcoxon(w, c20, alternative="less").pvalue
        lines.append(f"  seeds {chosen[0]['seed']}-{chosen[-1]['seed']} ({len(chosen)}): log gap against cold@25 {gap:+.2f}, p against cold@20 {p:.3f}")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0-9", help="first-last, inclusive")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.summary:
        for path in args.summary:
            print("\n".join(summary(path)))
        return
    append_seeds(args.out, seed_range(args.seeds), one_seed)
    print("\n".join(summary(args.out)))


if __name__ == "__main__":
    main()
