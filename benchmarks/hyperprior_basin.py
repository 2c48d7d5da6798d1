"""Where the guarded hyperprior's worst seeds come from, in the slow guard tests' setting
(moved Hartmann-3 at similarity 0.75, three adversarial 20-trial parents, 25 trials): each
seed's check outcome and regret, and how many runs end in Hartmann-3's second basin
(regret above ``BASIN``), among the confirmed and the refuted ones, beside cold start's
runs of the same seeds.

Variants isolate a cause: ``--variant cold-priors`` keeps the opening and the check but
gives the target cold start's hyperparameter priors (do the parents' priors hold a run
in the basin?), ``--variant check6`` takes six check points instead of four (do fewer
wrong confirmations free it?).

    python benchmarks/hyperprior_basin.py --adversary unrelated --seeds 0-29 --out experiments/results/hyperprior-basin-probe/unrelated.jsonl
    python benchmarks/hyperprior_basin.py --summary experiments/results/hyperprior-basin-probe/*.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.transfer_runs import append_seeds, bo_run, cold_parents, seed_range
from benchmarks.transfer_suite import synthetic
from warmstart_bo import Optimizer, WarmStartTypes
from warmstart_bo.transfer import hyperprior

BASIN = 0.5
VARIANTS = ("as-is", "cold-priors", "check6")


def one_seed(adversary: str, seed: int, variant: str) -> dict:
    """The guarded hyperprior's run and cold start's on one seed of the guard setting."""
    problem = synthetic("hartmann3", seed, 0.75, 3, adversary=adversary)
    parents = cold_parents(problem, 20, seed)
    opt = Optimizer(problem.space, "Minimize", random_seed=seed, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    if variant == "cold-priors":
        opt.priors = opt._cold_priors
    values = []
    for _ in range(25):
        (p,) = opt.ask()
        values.append(float(problem.target(p)))
        opt.tell([p], [values[-1]])
    cold = min(bo_run(problem.space, problem.target, 25, seed)["values"]) - problem.optimum
    return {"variant": variant, "adversary": adversary, "seed": seed, "confirmed": opt.last_transfer.get("confirmed"), "regret": min(values) - problem.optimum, "cold": cold}


def summary(paths: list[Path]) -> list[str]:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines()]
    out = ["variant | adversary | seeds | confirmed | in the basin: confirmed / refuted / cold start | basin seeds"]
    for key in sorted({(r["variant"], r["adversary"]) for r in rows}):
        rs = [r for r in rows if (r["variant"], r["adversary"]) == key]
        conf = [r for r in rs if r["confirmed"]]
        basin = [r["seed"] for r in rs if r["regret"] > BASIN]
        out.append(
            f"{key[0]} | {key[1]} | {len(rs)} | {len(conf)} | {sum(r['regret'] > BASIN for r in conf)} / "
            f"{sum(r['regret'] > BASIN for r in rs if not r['confirmed'])} / {sum(r['cold'] > BASIN for r in rs)} | {basin}"
        )
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adversary", default="unrelated", choices=["flipped", "far", "unrelated"])
    ap.add_argument("--variant", default="as-is", choices=VARIANTS)
    ap.add_argument("--seeds", default="0-29", help="first-last, inclusive")
    ap.add_argument("--out", type=Path, help="append each seed's row here (JSON lines; seeds already there are skipped)")
    ap.add_argument("--summary", type=Path, nargs="+", help="summarize these --out files instead of running")
    args = ap.parse_args(argv)
    if args.summary:
        print("\n".join(summary(args.summary)))
        return
    if args.variant == "check6":
        hyperprior.CHECK_POINTS = 6

    def run(seed: int) -> dict:
        row = one_seed(args.adversary, seed, args.variant)
        print(json.dumps(row), flush=True)
        return row

    if args.out:
        append_seeds(args.out, seed_range(args.seeds), run)
    else:
        for seed in seed_range(args.seeds):
            run(seed)


if __name__ == "__main__":
    main()
