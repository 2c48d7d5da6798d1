"""Probe (issue 13): a confirmed hyperprior job that goes on taking cold start's design.

``hyperprior.LATE_DESIGN_EVERY = E`` makes a confirmed job take the rest of cold start's
design one point in every E trials; ``hyperprior.LATE_DESIGN_STALL = S`` takes the next one
whenever the last S outcomes moved the best by no more than 1 % of the outcomes' range.
``suite`` runs the guarded hyperprior so modified on units of
``experiments/configs/transfer-synthetic-hyperprior.json`` (cold start and the other methods
are that file's stored runs); ``guard`` on the setting of ``guard_worst_case.py`` (cold
start's regrets copied from ``experiments/results/guard-worst-hyperprior.jsonl``). With
both knobs at 0 either mode reproduces the stored hyperprior runs bit for bit.

    python benchmarks/hyperprior_late_design.py suite --every 4 --problems hartmann3/far --seeds 0-19 --out F
    python benchmarks/hyperprior_late_design.py guard --stall 3 --adversaries far,unrelated --out F
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.transfer_runs import bo_run, cold_parents, seed_range
from benchmarks.transfer_suite import synthetic
from experiments.transfer_bench import make_problem, parent_histories
from warmstart_bo import WarmStartTypes
from warmstart_bo.transfer import hyperprior

SUITE = ROOT / "experiments/results/transfer-synthetic-hyperprior.jsonl"
GUARD = ROOT / "experiments/results/guard-worst-hyperprior.jsonl"


def suite(args, name: str) -> None:
    head = SUITE.read_text().splitlines()[0]
    config = json.loads(head)["config"]
    if not args.out.exists():
        args.out.write_text(head + "\n")
    done = {(r["problem"], r["seed"]) for r in map(json.loads, args.out.read_text().splitlines()[1:])}
    for pid in args.problems.split(","):
        for seed in seed_range(args.seeds):
            if (pid, seed) in done:
                continue
            problem = make_problem(pid, seed, config)
            parents = parent_histories(problem, pid, seed, config)
            start = time.perf_counter()
            r = bo_run(problem.space, problem.target, config["budget"], seed, parents, "TransferLearning", "hyperprior")
            r.pop("params", None)
            row = {"problem": pid, "seed": seed, "method": name, "optimum": problem.optimum,
                   "parent_trials": sum(len(p.values) for p in parents), "seconds": time.perf_counter() - start, **r}
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(pid, seed, f"{row['seconds']:.1f} s", flush=True)


def guard(args, name: str) -> None:
    cold = {(r["adversary"], r["seed"]): r["cold"] for r in map(json.loads, GUARD.read_text().splitlines())}
    for adversary in args.adversaries.split(","):
        for seed in seed_range(args.seeds):
            problem = synthetic("hartmann3", seed, 0.75, 3, adversary=adversary)
            parents = cold_parents(problem, 20, seed)
            r = bo_run(problem.space, problem.target, 25, seed, parents, WarmStartTypes.TRANSFER_LEARNING, "hyperprior")
            row = {"prior": name, "adversary": adversary, "seed": seed, "transfer": min(r["values"]) - problem.optimum,
                   "cold": cold[(adversary, seed)], "confirmed": r["transfer_used"] > 0.5}
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(adversary, seed, flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["suite", "guard"])
    ap.add_argument("--every", type=int, default=0)
    ap.add_argument("--stall", type=int, default=0)
    ap.add_argument("--problems", default="hartmann3/sim0.75,hartmann3/sim0.9,hartmann6/sim0.75,hartmann6/sim0.9")
    ap.add_argument("--adversaries", default="far,unrelated")
    ap.add_argument("--seeds", default=None, help="first-last (suite: 0-19, guard: 0-29)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    args.seeds = args.seeds or ("0-19" if args.mode == "suite" else "0-29")
    hyperprior.LATE_DESIGN_EVERY, hyperprior.LATE_DESIGN_STALL = args.every, args.stall
    name = f"late{args.every}" if args.every else f"stall{args.stall}" if args.stall else "base"
    (suite if args.mode == "suite" else guard)(args, f"transfer-hyperprior:{name}" if args.mode == "suite" else f"hyperprior:{name}")


if __name__ == "__main__":
    main()
