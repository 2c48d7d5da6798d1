"""The slow guard tests' worst case for any prior: moved Hartmann-3 at similarity 0.75 with
three adversarial 20-trial parents (sign-flipped, optimum in the far corner, unrelated),
seeds 0-9, 25 trials; prints the worst seed's regret over cold start's worst seed, the
quantity ``tests/test_warm_start_statistical.py`` bounds at 1.25x for the default prior
over seeds 0-29.
``--prior cold-reseeded`` runs cold start on another seed (``transfer_bench``'s control) in
the prior's place: the noise floor of the bound.
``--seeds`` picks others, reported per block of ten and over all; ``--out`` also writes
each seed's regrets as JSON lines. ``--summary FILE...`` reads such files instead and
prints, per prior and adversary, the mean log10 regret over each run's own cold start with
a Wilcoxon test against zero, and for two priors the paired test between them.

    python benchmarks/guard_worst_case.py --prior hyperprior
    python benchmarks/guard_worst_case.py --prior cold-reseeded --seeds 0-29 --out experiments/results/guard-worst-reseeded.jsonl
    python benchmarks/guard_worst_case.py --seeds 0-29 --out experiments/results/fit-profile-probe/worst-case-9a0694d.jsonl
    python benchmarks/guard_worst_case.py --summary experiments/results/guard-worst-hyperprior.jsonl experiments/results/fit-profile-probe/worst-case-9a0694d.jsonl
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))

from benchmarks.transfer_runs import bo_run, cold_parents, seed_range
from benchmarks.transfer_suite import synthetic
from transfer_bench import RESEED
from warmstart_bo import WarmStartTypes, transfer


@functools.cache
def cold_regret(seed: int) -> float:
    """Cold start's regret after 25 trials on the seed's target, which is the same for every
    adversary (the parents are drawn after it), so one run serves all three."""
    problem = synthetic("hartmann3", seed, 0.75, 3)
    return min(bo_run(problem.space, problem.target, 25, seed)["values"]) - problem.optimum


def regrets(prior: str | None, adversary: str, seeds=range(10)) -> tuple[list[float], list[float]]:
    """Each seed's regret after 25 trials with ``prior`` (None: the default;
    ``"cold-reseeded"``: cold start on another seed) and cold start's."""
    warm, cold = [], []
    for seed in seeds:
        problem = synthetic("hartmann3", seed, 0.75, 3, adversary=adversary)
        cold.append(cold_regret(seed))
        if prior == "cold-reseeded":
            run = bo_run(problem.space, problem.target, 25, RESEED + seed)
        else:
            run = bo_run(problem.space, problem.target, 25, seed, cold_parents(problem, 20, seed), WarmStartTypes.TRANSFER_LEARNING, prior)
        warm.append(min(run["values"]) - problem.optimum)
    return warm, cold


FLOOR = 1e-8


def summary(paths: list[Path]) -> list[str]:
    """Per (prior, adversary): seeds, mean log10 of regret over the run's cold start's (each
    file's own cold start, so files from different code pair correctly), Wilcoxon p against
    zero; then, for every two priors, the paired p on the seeds both ran."""
    gaps: dict[tuple[str, str], dict[int, float]] = {}
    for path in paths:
        for r in map(json.loads, path.read_text().splitlines()):
            gap = np.log10(max(r["transfer"], FLOOR)) - np.log10(max(r["cold"], FLOOR))
            gaps.setdefault((r["prior"], r["adversary"]), {})[r["seed"]] = gap
    out = ["prior | adversary | seeds | mean log10 regret - cold's | p (Wilcoxon)"]
    for (prior, adversary), g in gaps.items():
        out.append(f"{prior} | {adversary} | {len(g)} | {np.mean(list(g.values())):+.2f} | {wilcoxon(list(g.values())).pvalue:.3g}")
    out += ["", "prior | against | adversary | seeds | mean difference | p (paired Wilcoxon)"]
    priors = sorted({p for p, _ in gaps})
    for a, b in combinations(priors, 2):
        for adversary in sorted({adv for _, adv in gaps}):
            ga, gb = gaps.get((a, adversary), {}), gaps.get((b, adversary), {})
            seeds = sorted(set(ga) & set(gb))
            if len(seeds) >= 2:
                d = [ga[s] - gb[s] for s in seeds]
                out.append(f"{a} | {b} | {adversary} | {len(seeds)} | {np.mean(d):+.2f} | {wilcoxon(d).pvalue:.3g}")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prior", default=transfer.DEFAULT_PRIOR, choices=(*transfer.PRIORS, "cold-reseeded"))
    ap.add_argument("--seeds", default="0-9", help="first-last, inclusive")
    ap.add_argument("--out", type=Path, help="append each seed's regrets here (JSON lines)")
    ap.add_argument("--summary", type=Path, nargs="+", help="summarize these --out files instead of running")
    args = ap.parse_args(argv)
    if args.summary:
        print("\n".join(summary(args.summary)))
        return
    seeds = seed_range(args.seeds)
    blocks = [seeds[i : i + 10] for i in range(0, len(seeds), 10)]
    if len(blocks) > 1:
        blocks.append(seeds)
    print(f"prior {args.prior}: worst seed's regret after 25 trials over cold start's worst (seeds {args.seeds})")
    print("adversary | seeds | prior's worst | cold's worst | ratio")
    for adversary in ("flipped", "far", "unrelated"):
        warm, cold = regrets(args.prior, adversary, seeds)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as f:
                for seed, w, c in zip(seeds, warm, cold):
                    f.write(json.dumps({"prior": args.prior, "adversary": adversary, "seed": seed, "transfer": w, "cold": c}) + "\n")
        for block in blocks:
            w, c = [warm[seeds.index(s)] for s in block], [cold[seeds.index(s)] for s in block]
            print(f"{adversary} | {block[0]}-{block[-1]} | {max(w):.3g} | {max(c):.3g} | {max(w) / max(c):.2f}", flush=True)


if __name__ == "__main__":
    main()
