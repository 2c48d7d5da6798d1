"""Whether the library's ``transfer_prior="best-first"`` is the transfer benchmark's
``best-first`` baseline (the parents' best points told first to a cold optimizer): both run
on units of a stored suite; the baseline is compared value by value with the stored run,
and the library's points with the baseline's. Where they agree bit for bit, the suite's
``best-first`` rows stand for the library option. Where a parent's best outcomes tie (the
cross-validated accuracies of model tuning), the two may open with different points of
equal value: the library ranks each parent stably (first told first), the baseline with
NumPy's default sort; the line says so.

    python benchmarks/best_first_parity.py experiments/results/transfer-synthetic-hyperprior.jsonl --every 8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

import transfer_bench as TB  # noqa: E402

from benchmarks.transfer_runs import bo_run  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="a JSONL file of experiments/transfer_bench.py with best-first rows")
    ap.add_argument("--every", type=int, default=8, help="check every k-th stored (problem, seed), in file order")
    args = ap.parse_args(argv)
    lines = Path(args.results).read_text().splitlines()
    config = json.loads(lines[0])["config"]
    stored = {}
    for r in map(json.loads, lines[1:]):
        if r.get("method") == "best-first":
            stored[(r["problem"], r["seed"])] = r["values"]
    units = list(stored)[:: args.every]
    same = 0
    for pid, seed in units:
        problem = TB.make_problem(pid, seed, config)
        parents = TB.parent_histories(problem, pid, seed, config)
        best = TB.top_points(parents, config["top_k"])
        baseline = bo_run(problem.space, problem.target, config["budget"], seed, first=best)
        library = bo_run(problem.space, problem.target, config["budget"], seed, parents, "TransferLearning", "best-first")
        reproduced = baseline["values"] == stored[(pid, seed)]
        diverge = next((i for i, (a, b) in enumerate(zip(library["params"], baseline["params"])) if a != b), None)
        same += reproduced and diverge is None
        if diverge is None:
            verdict = "the library's points are the baseline's"
        else:
            ties = sum(int(np.sum(np.asarray(p.values) == np.min(p.values)) > 1) for p in parents)
            verdict = f"the library's points differ from trial {diverge}" + (f" (the opening; {ties} of {len(parents)} parents' best outcomes tie)" if diverge < len(best) and ties else "")
        print(f"{pid} seed {seed}: baseline reproduces the stored run: {reproduced}; {verdict}", flush=True)
    print(f"{same} of {len(units)} units identical bit for bit ({config['name']})")

if __name__ == "__main__":
    main()
