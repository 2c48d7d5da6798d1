"""What the parents of a synthetic transfer suite know, and how far the target is from it.

For each related problem (``base/simS``) of a config of ``experiments/transfer_bench.py``,
over its seeds, the parents are rebuilt exactly as the benchmark builds them (cold runs of
``parent_trials`` trials) and, per parent, the point it scored best is compared with its own
task's optimum and with the target's:

- the parent's own regret at its best point (how well its run resolved its optimum);
- that point's distance from the parent's optimum, per coordinate;
- the target's optimum's distance from the parent's, per coordinate (how far the task moved);
- the target's regret at the best of the parents' best points (what the opening reaches),
  and cold start's regret after 25 trials from the stored results, when given.

Medians over seeds and parents. A transfer method can carry over what the parents resolved;
where the parents know their own optima far better than the target's optimum is placed by
them, what is left is inferring the move from the target's own trials.

    python benchmarks/parent_knowledge.py experiments/configs/shifted-heldout-synthetic.json --results experiments/results/shifted-probe/heldout.jsonl
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

from benchmarks import transfer_report as R  # noqa: E402


def unit(pid: str, seed: int, config: dict) -> dict:
    """One (problem, seed): per parent, its own regret and per-coordinate offsets; the target's
    regret at each parent's best point."""
    problem = TB.make_problem(pid, seed, config)
    target_opt = np.asarray(problem.target.argmin)
    own, offset, moved, at_best = [], [], [], []
    for task, history in zip(problem.parents, TB.parent_histories(problem, pid, seed, config)):
        i = int(np.argmin(history.values))
        best = np.array([history.params[i][f"x{k}"] for k in range(task.dim)])
        own.append(history.values[i] - task.minimum)
        offset.append(np.abs(best - np.asarray(task.argmin)))
        moved.append(np.abs(target_opt - np.asarray(task.argmin)))
        at_best.append(float(problem.target(history.params[i])) - problem.optimum)
    return {"own_regret": own, "offset": offset, "moved": moved, "target_regret": at_best}


def cold_regret(results: Path, trial: int) -> dict:
    """Cold start's regret after ``trial`` trials per (problem, seed) of a results file."""
    runs = R.load([str(results)])[1]
    return {(r["problem"], r["seed"]): min(r["values"][:trial]) - r["optimum"] for r in runs if r["method"] == "cold"}


def table(config: dict, seeds: list[int], cold: dict | None = None) -> list[str]:
    lines = ["problem | units | parents' own regret at their best | their best's offset from their optimum, per coordinate"
             " | the target's optimum's offset from theirs, per coordinate | target's regret at the best of their best points"
             + (" | cold start's regret at 25" if cold is not None else "")]
    for pid in (p for p in TB.problem_ids(config) if "/sim" in p):
        units = [unit(pid, s, config) for s in seeds]
        own = np.concatenate([u["own_regret"] for u in units])
        offset = np.concatenate([u["offset"] for u in units])
        moved = np.concatenate([u["moved"] for u in units])
        target = [min(u["target_regret"]) for u in units]
        cells = [pid, str(len(units)), f"{np.median(own):.3g}", " ".join(f"{v:.3f}" for v in np.median(offset, 0)),
                 " ".join(f"{v:.3f}" for v in np.median(moved, 0)), f"{np.median(target):.3g}"]
        if cold is not None:
            cells.append(f"{np.median([cold[(pid, s)] for s in seeds]):.3g}")
        lines.append(" | ".join(cells))
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="a synthetic config of experiments/transfer_bench.py")
    ap.add_argument("--seeds", default=None, help="first-last (inclusive); default the config's seeds")
    ap.add_argument("--results", default=None, help="a results file of the config, for cold start's regret at 25 trials")
    args = ap.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    if config["suite"] != "synthetic":
        sys.exit("only synthetic suites know their tasks' optima")
    seeds = config["seeds"]
    if args.seeds:
        first, last = map(int, args.seeds.split("-"))
        seeds = list(range(first, last + 1))
    cold = cold_regret(Path(args.results), 25) if args.results else None
    print(f"$ python benchmarks/parent_knowledge.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"{config['name']}: {config['n_parents']} parents x {config['parent_trials']} cold trials, seeds {seeds[0]}..{seeds[-1]}; medians over seeds and parents")
    print("\n".join(table(config, seeds, cold)))


if __name__ == "__main__":
    main()
