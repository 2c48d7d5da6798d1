"""Identical-data continuation against an uninterrupted run (the control of paper v2).

An IDENTICAL_DATA_AND_ALGORITHM job of ``child_trials`` trials warm-started from a
``parent_trials``-trial parent should end where one uninterrupted job of
``parent_trials + child_trials`` trials ends: the child sees the same task and all of the
parent's data. For every function of the config (``benchmarks/coldstart_functions.py``) and
every seed this runs

- ``parent``: a cold job of ``parent_trials`` trials (seed ``s``);
- ``uninterrupted``: a cold job of ``parent_trials + child_trials`` trials (seed ``s``);
  records whether its first ``parent_trials`` trials equal the parent's (the engine is
  deterministic given the seed, so they should);
- ``child``: the warm-started job (seed ``s + 1000``, a new job's own seed) on the parent.

Regret is the noise-free function value minus the known optimum, best so far over the
parent's and the child's trials together. Results go to
``experiments/results/continuation-<name>.jsonl`` (a header, then one line per
function and seed, appended as they finish, so an interrupted run resumes).

    python experiments/continuation.py experiments/configs/continuation.json
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import coldstart_functions as CF
from experiments.results_file import RESULTS, append, arguments, machine, resume
from warmstart_bo import Optimizer
from warmstart_bo.transfer import ParentHistory
from warmstart_bo.warmstart import WarmStartTypes



def run_job(fn: CF.Function, trials: int, seed: int, parents=()) -> tuple[list[dict], list[float]]:
    """One job through the ask/tell API: its points and the values it was told."""
    kind = WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM if parents else None
    opt = Optimizer(fn.space, "Minimize", random_seed=seed, parents=list(parents), warm_start_type=kind, max_observations=trials)
    objective = fn.noisy(seed)
    points, values = [], []
    for _ in range(trials):
        (p,) = opt.ask()
        v = float(objective(p))
        opt.tell([p], [v])
        points.append(p)
        values.append(v)
    return points, values


def run_one(fn: CF.Function, seed: int, parent_trials: int, child_trials: int) -> dict:
    start = time.perf_counter()
    parent_points, parent_values = run_job(fn, parent_trials, seed)
    whole_points, _ = run_job(fn, parent_trials + child_trials, seed)
    history = ParentHistory("parent", parent_points, parent_values, fn.space)
    child_points, _ = run_job(fn, child_trials, seed + 1000, [history])
    true = lambda points: [float(fn.true(p)) - fn.optimum for p in points]
    return {
        "function": fn.name, "seed": seed, "parent_trials": parent_trials, "child_trials": child_trials,
        "prefix_identical": whole_points[:parent_trials] == parent_points,
        "parent_regret": true(parent_points), "uninterrupted_regret": true(whole_points), "child_regret": true(child_points),
        "seconds": time.perf_counter() - start,
    }


def main(argv=None) -> None:
    args = arguments(__doc__).parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    out = RESULTS / f"continuation-{config['name']}.jsonl"

    def header() -> dict:
        import warmstart_bo

        return {"config": config, "warmstart_bo": warmstart_bo.__version__, "machine": machine(),
                "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}

    _, rows = resume(out, config, args.fresh, header)
    done = {(r["function"], r["seed"]) for r in rows}
    todo = [(f, s) for f in config["functions"] for s in config["seeds"] if (f, s) not in done]
    from tqdm import tqdm

    for name, seed in tqdm(todo, disable=args.no_progress, desc=f"continuation-{config['name']}", unit="run"):
        append(out, [run_one(CF.get(name), seed, config["parent_trials"], config["child_trials"])])


if __name__ == "__main__":
    main()
