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
import json
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

from benchmarks.families import FAMILIES, unrelated
from benchmarks.transfer_runs import bo_run, parent_history

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
    runs = sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["seed"])
    lines = [f"{path}:"]
    seeds = [r["seed"] for r in runs]
    blocks = [(lo, lo + 10) for lo in range(0, max(seeds) + 1, 10)] + [(min(seeds), max(seeds) + 1)]
    for lo, hi in blocks:
        chosen = [r for r in runs if lo <= r["seed"] < hi]
        if len(chosen) < 2:
            continue
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
    first, last = map(int, args.seeds.split("-"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["seed"] for line in args.out.read_text().splitlines()} if args.out.exists() else set()
    for seed in range(first, last + 1):
        if seed not in done:
            with args.out.open("a") as f:
                f.write(json.dumps(one_seed(seed, not args.no_guard)) + "\n")
    print("\n".join(summary(args.out)))


if __name__ == "__main__":
    main()
