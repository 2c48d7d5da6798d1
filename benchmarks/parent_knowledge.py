"""What the parents of a synthetic transfer suite know, and how far the target is from it.

For each related problem (``base/simS``) of a config of ``experiments/transfer_bench.py``,
over its seeds, the parents are rebuilt exactly as the benchmark builds them (cold runs of
``parent_trials`` trials) and, per parent, the point it scored best is compared with its own
task's optimum and with the target's:

- the parent's own regret at its best point (how well its run resolved its optimum);
- that point's distance from the parent's optimum, per coordinate;
- the target's optimum's distance from the parent's, per coordinate (how far the task moved);
- the target's regret at the best of the parents' best points (what the opening reaches),
  and cold start's regret after 25 trials from the stored results, when given;
- with ``--peaks``, the target's regret where each parent's model (the GP the shifted
  prior fits to it in the unit's job) peaks, moved by the true move onto the target: what
  the shifted prior's moved parent would offer if it knew the move.

Medians over seeds and parents. A transfer method can carry over what the parents resolved;
where the parents know their own optima far better than the target's optimum is placed by
them, what is left is inferring the move from the target's own trials.

    python benchmarks/parent_knowledge.py experiments/configs/shifted-heldout-synthetic.json --results experiments/results/shifted-probe/heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

import transfer_bench as TB  # noqa: E402

from benchmarks import transfer_report as R  # noqa: E402
from benchmarks import transfer_suite as S  # noqa: E402
from warmstart_bo import Optimizer  # noqa: E402


def parent_models(problem: S.TransferProblem, histories: list, seed: int) -> list[tuple[np.ndarray, Callable]]:
    """Each parent's model and where it peaks: the GPs the shifted prior fits to the parents
    in the unit's job (same seed, same normalization), as (peak, negated posterior mean over
    encoded points, the unit cube); each mean maximized over the cube from the best of 20000
    random points by L-BFGS-B from the top five."""
    opt = Optimizer(problem.space, "Minimize", random_seed=seed, parents=histories, warm_start_type="TransferLearning", transfer_prior="shifted")
    d = opt.space.dim
    cands = np.random.default_rng(0).random((20000, d))
    out = []
    with jax.enable_x64(True):
        for post in opt._fit_parent_gps(jnp.float64):
            def neg_mean(x, post=post):
                with jax.enable_x64(True):
                    return -np.asarray(post.predict(jnp.asarray(np.atleast_2d(x), jnp.float64))[0])

            starts = cands[np.argsort(neg_mean(cands))[:5]]
            runs = [minimize(lambda x: neg_mean(x)[0], s, bounds=[(0.0, 1.0)] * d, method="L-BFGS-B") for s in starts]
            out.append((min(runs, key=lambda r: r.fun).x, neg_mean))
    return out


def model_peaks(problem: S.TransferProblem, histories: list, seed: int) -> list[np.ndarray]:
    """Where each parent's model peaks (:func:`parent_models`)."""
    return [peak for peak, _ in parent_models(problem, histories, seed)]


def unit(pid: str, seed: int, config: dict, peaks: bool = False) -> dict:
    """One (problem, seed): per parent, its own regret and per-coordinate offsets; the target's
    regret at each parent's best point; with ``peaks``, at each parent's model's peak moved
    by the true move (:func:`model_peaks`)."""
    problem = TB.make_problem(pid, seed, config)
    histories = TB.parent_histories(problem, pid, seed, config)
    moves = TB.true_moves(problem)
    own, offset, at_best = [], [], []
    for task, history in zip(problem.parents, histories):
        i = int(np.argmin(history.values))
        best = np.array([history.params[i][f"x{k}"] for k in range(task.dim)])
        own.append(history.values[i] - task.minimum)
        offset.append(np.abs(best - np.asarray(task.argmin)))
        at_best.append(float(problem.target(history.params[i])) - problem.optimum)
    out = {"own_regret": own, "offset": offset, "moved": [np.abs(m) for m in moves], "target_regret": at_best}
    if peaks:
        out["moved_peak_regret"] = [float(problem.target({f"x{k}": v for k, v in enumerate(np.clip(peak + move, 0.0, 1.0))})) - problem.optimum
                                    for move, peak in zip(moves, model_peaks(problem, histories, seed))]
    return out


def cold_regret(results: Path, trial: int) -> dict:
    """Cold start's regret after ``trial`` trials per (problem, seed) of a results file."""
    runs = R.load([str(results)])[1]
    return {(r["problem"], r["seed"]): min(r["values"][:trial]) - r["optimum"] for r in runs if r["method"] == "cold"}


def table(config: dict, seeds: list[int], cold: dict | None = None, peaks: bool = False) -> list[str]:
    lines = ["problem | units | parents' own regret at their best | their best's offset from their optimum, per coordinate"
             " | the target's optimum's offset from theirs, per coordinate | target's regret at the best of their best points"
             + (" | at the best of their models' peaks moved by the true move" if peaks else "")
             + (" | cold start's regret at 25" if cold is not None else "")]
    for pid in (p for p in TB.problem_ids(config) if "/sim" in p):
        units = [unit(pid, s, config, peaks) for s in seeds]
        own = np.concatenate([u["own_regret"] for u in units])
        offset = np.concatenate([u["offset"] for u in units])
        moved = np.concatenate([u["moved"] for u in units])
        target = [min(u["target_regret"]) for u in units]
        cells = [pid, str(len(units)), f"{np.median(own):.3g}", " ".join(f"{v:.3f}" for v in np.median(offset, 0)),
                 " ".join(f"{v:.3f}" for v in np.median(moved, 0)), f"{np.median(target):.3g}"]
        if peaks:
            cells.append(f"{np.median([min(u['moved_peak_regret']) for u in units]):.3g}")
        if cold is not None:
            cells.append(f"{np.median([cold[(pid, s)] for s in seeds]):.3g}")
        lines.append(" | ".join(cells))
    return lines


def synthetic_config(path: str, seeds: str | None) -> tuple[dict, list[int]]:
    """A synthetic config of experiments/transfer_bench.py and its seeds, or those of
    ``seeds`` ("first-last", inclusive); exits on another suite, whose tasks' optima are
    unknown."""
    config = json.loads(Path(path).read_text())
    if config["suite"] != "synthetic":
        sys.exit("only synthetic suites know their tasks' optima")
    if not seeds:
        return config, list(config["seeds"])
    first, last = map(int, seeds.split("-"))
    return config, list(range(first, last + 1))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="a synthetic config of experiments/transfer_bench.py")
    ap.add_argument("--seeds", default=None, help="first-last (inclusive); default the config's seeds")
    ap.add_argument("--results", default=None, help="a results file of the config, for cold start's regret at 25 trials")
    ap.add_argument("--peaks", action="store_true", help="also the target's regret at the parents' models' peaks moved by the true move")
    args = ap.parse_args(argv)
    config, seeds = synthetic_config(args.config, args.seeds)
    cold = cold_regret(Path(args.results), 25) if args.results else None
    print(f"$ python benchmarks/parent_knowledge.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"{config['name']}: {config['n_parents']} parents x {config['parent_trials']} cold trials, seeds {seeds[0]}..{seeds[-1]}; medians over seeds and parents")
    print("\n".join(table(config, seeds, cold, args.peaks)))


if __name__ == "__main__":
    main()
