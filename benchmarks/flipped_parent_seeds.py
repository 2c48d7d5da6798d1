"""The sign-flipped-Branin check of ``tests/test_warm_start_statistical.py`` over many seeds.

Per seed: cold start's and the guarded (or unguarded) transfer's regret after 30 trials,
one JSON line each, appended (a rerun skips seeds already in the file). ``--summary``
prints the test's measure (geometric-mean ratio of regrets, one-sided Wilcoxon p) per
block of ten seeds and over all of them, so the ten-seed test's spread can be seen.

    python benchmarks/flipped_parent_seeds.py --seeds 0-59 --out experiments/results/flipped-parent/means-9a0694d.jsonl
    python benchmarks/flipped_parent_seeds.py --seeds 0-29 --no-guard --out experiments/results/flipped-parent/unguarded-9a0694d.jsonl
    python benchmarks/flipped_parent_seeds.py --summary experiments/results/flipped-parent/*.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

from benchmarks.families import FAMILIES, unrelated
from benchmarks.transfer_runs import append_seeds, bo_run, parent_history, seed_blocks, seed_range

FLOOR = 1e-12  # the test's: regret below this counts as this
BUDGET = 30


def one_seed(seed: int, guard: bool) -> dict:
    fam = FAMILIES["branin"]
    rng = np.random.default_rng(seed)
    target = fam.task(rng, 0.8)
    parent = parent_history(fam, unrelated(fam.task(rng, 0.8)), 50, 2000 + seed, "flipped")
    optimum = fam.minimum(target)
    regret = {}
    for name, parents in (("cold", ()), ("transfer", (parent,))):
        run = bo_run(fam.space, target, BUDGET, seed, parents, "TransferLearning" if parents else None, guard=guard)
        regret[name] = float(min(run["values"]) - optimum)
    return {"seed": seed, "guard": guard, **regret}


def summary(path: Path) -> list[str]:
    lines = [f"{path}:"]
    for chosen in seed_blocks(path):
        t, c = np.array([r["transfer"] for r in chosen]), np.array([r["cold"] for r in chosen])
        ratio = 10 ** np.mean(np.log10(np.maximum(t, FLOOR)) - np.log10(np.maximum(c, FLOOR)))
        p = wilcoxon(t, c, alternative="greater").pvalue
        lines.append(f"  seeds {chosen[0]['seed']}-{chosen[-1]['seed']} ({len(chosen)}): ratio {ratio:.2f}, one-sided p {p:.3f}, "
                     f"transfer better on {int(np.sum(t < c))}, medians {np.median(t):.2e} / {np.median(c):.2e}")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0-29", help="first-last, inclusive")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--no-guard", action="store_true")
    ap.add_argument("--summary", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.summary:
        for path in args.summary:
            print("\n".join(summary(path)))
        return
    append_seeds(args.out, seed_range(args.seeds), lambda seed: one_seed(seed, not args.no_guard))
    print("\n".join(summary(args.out)))


if __name__ == "__main__":
    main()
