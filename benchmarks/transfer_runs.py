"""Runs for warm-start benchmarks: parent histories, cold runs and warm-started runs.

Used by ``benchmarks/transfer_table.py`` and by the slow statistical tests; every run is a
pure function of its seed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from benchmarks.families import Family, Task
from warmstart_bo import Optimizer
from warmstart_bo.space import SearchSpace
from warmstart_bo.transfer import ParentHistory


def parent_history(family: Family, task: Task, trials: int, seed: int, name: str, strategy: str = "bayesian") -> ParentHistory:
    """A finished parent: ``trials`` trials of a cold Bayesian run (or random search)."""
    if strategy == "random":
        space = SearchSpace(family.space)
        params = space.decode_many(np.random.default_rng(seed).random((trials, space.dim)))
        return ParentHistory(name, params, [task(p) for p in params], family.space)
    opt = Optimizer(family.space, objective_type="Minimize", random_seed=seed)
    for _ in range(trials):
        (p,) = opt.ask()
        opt.tell([p], [task(p)])
    params, values = opt.observations()
    return ParentHistory(name, params, list(values), family.space)


def run(family: Family, task: Task, budget: int, seed: int, parents=(), warm_start_type=None, prior=None) -> tuple[np.ndarray, float]:
    """Best-so-far simple regret after each trial (budget,), and seconds per ask."""
    opt = Optimizer(
        family.space, objective_type="Minimize", random_seed=seed, parents=list(parents),
        warm_start_type=warm_start_type, transfer_prior=prior,
    )
    optimum = family.minimum(task)
    best, curve, ask_time = np.inf, [], 0.0
    for _ in range(budget):
        start = time.perf_counter()
        (p,) = opt.ask()
        ask_time += time.perf_counter() - start
        v = task(p)
        opt.tell([p], [v])
        best = min(best, v)
        curve.append(best - optimum)
    return np.array(curve), ask_time / budget


def bo_run(space, objective, budget, seed, parents=(), kind=None, prior=None, first=(), guard=True) -> dict:
    """A Bayesian run (``first``: points evaluated before the optimizer's own; ``guard``:
    the optimizer's ``transfer_guard``)."""
    opt = Optimizer(space, "Minimize", random_seed=seed, parents=list(parents), warm_start_type=kind, transfer_prior=prior, transfer_guard=guard)
    values, asked, used = [], 0.0, []
    for i in range(budget):
        if i < len(first):
            p = first[i]
        else:
            start = time.perf_counter()
            (p,) = opt.ask()
            asked += time.perf_counter() - start
            if kind == "TransferLearning":
                used.append(bool(opt.last_transfer.get("used", True)))
        v = float(objective(p))
        opt.tell([p], [v])
        values.append(v)
    params, _ = opt.observations()
    out = {"values": values, "ask_seconds": asked / max(1, budget - len(first)), "params": params}
    if used:
        out["transfer_used"] = float(np.mean(used))
    return out


def cold_parents(problem, trials: int, seed: int) -> list[ParentHistory]:
    """A synthetic transfer problem's parents as finished cold Bayesian runs of ``trials``
    trials, on the run seeds ``experiments/transfer_bench.py`` gives them (2000 + 10 seed + i)."""
    out = []
    for i, task in enumerate(problem.parents):
        r = bo_run(problem.space, task, trials, 2000 + 10 * seed + i)
        out.append(ParentHistory(f"parent-{i}", r["params"], r["values"], problem.space))
    return out


# Per-seed probes (``flipped_parent_seeds.py``, ``hyperprior_gap_seeds.py``): one JSON line
# per seed, appended, so a rerun resumes; summaries per block of ten seeds and over all.


def seed_range(text: str) -> list[int]:
    """``"first-last"`` (inclusive) as a list of seeds."""
    first, last = map(int, text.split("-"))
    return list(range(first, last + 1))


def append_seeds(path: Path, seeds, one_seed) -> None:
    """Appends ``one_seed(seed)`` (a dict with ``"seed"``) for each seed not yet in path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["seed"] for line in path.read_text().splitlines()} if path.exists() else set()
    for seed in seeds:
        if seed not in done:
            with path.open("a") as f:
                f.write(json.dumps(one_seed(seed)) + "\n")


def seed_blocks(path: Path) -> list[list[dict]]:
    """path's runs by seed, in blocks of ten seeds (0-9, 10-19, ...) and then all of them;
    blocks of fewer than two runs are left out."""
    runs = sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["seed"])
    seeds = [r["seed"] for r in runs]
    bounds = [(lo, lo + 10) for lo in range(0, max(seeds) + 1, 10)] + [(min(seeds), max(seeds) + 1)]
    blocks = [[r for r in runs if lo <= r["seed"] < hi] for lo, hi in bounds]
    return [b for b in blocks if len(b) >= 2]
