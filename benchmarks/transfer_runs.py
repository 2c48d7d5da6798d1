"""Runs for warm-start benchmarks: parent histories, cold runs and warm-started runs.

Used by ``benchmarks/transfer_table.py`` and by the slow statistical tests; every run is a
pure function of its seed.
"""

from __future__ import annotations

import time

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
