"""Convergence experiments: cold start vs warm start vs transfer vs random search vs peers.

For every problem of the config (``benchmarks/problems.py``) and every seed, runs each
method for ``budget`` trials and records every trial's raw objective value:

- ``random``: uniform random search in the encoded space (log ranges sampled in log);
- ``cold``: this library's Bayesian optimization, no parents;
- ``identical``: IDENTICAL_DATA_AND_ALGORITHM warm start from one earlier cold run of
  ``parent_trials`` trials on the same task (another seed);
- ``transfer-<prior>``: TRANSFER_LEARNING from the problem's related tasks (each run cold
  for ``parent_trials`` trials), with the stacked, ICM or RGPE prior;
- ``optuna-gp``: Optuna's ``GPSampler``; ``botorch``: BoTorch's ``SingleTaskGP`` with
  LogEI (``optimize_acqf``). Peers that are not installed are skipped and listed.

Results go to ``experiments/results/convergence-<name>.jsonl``: a header line (config,
library, JAX and peer versions, machine) and one line per run, appended as runs finish, so
an interrupted run resumes where it stopped (``--fresh`` starts over).
``paper/make_figures.py`` draws figures and tables from that file without rerunning.

    python experiments/convergence.py experiments/configs/small.json
    python experiments/convergence.py experiments/configs/full.json
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import problems as P
from experiments.results_file import RESULTS, append, arguments, installed, provenance, resume
from warmstart_bo import Optimizer
from warmstart_bo.optimizer import default_initial_points
from warmstart_bo.space import SearchSpace
from warmstart_bo.transfer import ParentHistory

PEERS = {"optuna-gp": ("optuna", "torch"), "botorch": ("botorch", "torch")}  # GPSampler needs torch too


def _bo(problem: P.Problem, objective, budget: int, seed: int, parents=(), kind=None, prior=None) -> tuple[list[dict], list[float], float]:
    """A Bayesian run: its points, their values and the mean time of one ask."""
    opt = Optimizer(problem.space, problem.objective_type, random_seed=seed, parents=list(parents), warm_start_type=kind, transfer_prior=prior)
    params, values, asked = [], [], 0.0
    for _ in range(budget):
        start = time.perf_counter()
        (p,) = opt.ask()
        asked += time.perf_counter() - start
        v = float(objective(p))
        opt.tell([p], [v])
        params.append(p)
        values.append(v)
    return params, values, asked / budget


def _history(problem: P.Problem, objective, trials: int, seed: int, name: str) -> ParentHistory:
    """A finished parent: a cold Bayesian run of ``trials`` trials on ``objective``."""
    params, values, _ = _bo(problem, objective, trials, seed)
    return ParentHistory(name, params, values, problem.space)


def _random(problem: P.Problem, budget: int, seed: int) -> tuple[list[float], float]:
    space = SearchSpace(problem.space)
    params = space.decode_many(np.random.default_rng([seed, 11]).random((budget, space.dim)))
    return [float(problem.objective(p)) for p in params], 0.0


def _optuna(problem: P.Problem, budget: int, seed: int) -> tuple[list[float], float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=default_initial_points(len(problem.space)))
    study = optuna.create_study(sampler=sampler, direction="minimize" if problem.objective_type == "Minimize" else "maximize")
    asked = []

    def objective(trial):
        start = time.perf_counter()
        p = {n: trial.suggest_float(n, r.min_value, r.max_value, log=r.scaling_type == "Logarithmic") for n, r in problem.space.items()}
        asked.append(time.perf_counter() - start)
        return problem.objective(p)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=budget)
    return [float(t.value) for t in study.trials], float(np.mean(asked))


def _botorch(problem: P.Problem, budget: int, seed: int) -> tuple[list[float], float]:
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    torch.manual_seed(seed)
    space = SearchSpace(problem.space)
    sign = 1.0 if problem.objective_type == "Maximize" else -1.0  # BoTorch maximizes
    n_init = default_initial_points(space.dim)
    xs = list(qmc.Sobol(space.dim, scramble=True, seed=seed).random(n_init))
    values, asked = [], []
    for i in range(budget):
        if i >= n_init:
            start = time.perf_counter()
            x = torch.tensor(np.array(xs), dtype=torch.float64)
            y = torch.tensor(sign * np.array(values), dtype=torch.float64).unsqueeze(-1)
            gp = SingleTaskGP(x, y, outcome_transform=Standardize(1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
                bounds = torch.stack([torch.zeros(space.dim), torch.ones(space.dim)]).double()
                cand, _ = optimize_acqf(LogExpectedImprovement(gp, y.max()), bounds, q=1, num_restarts=4, raw_samples=128)
            xs.append(cand[0].numpy())
            asked.append(time.perf_counter() - start)
        values.append(float(problem.objective(space.decode(np.asarray(xs[i])))))
    return values, float(np.mean(asked)) if asked else 0.0


def run_seed(problem_name: str, seed: int, config: dict, methods: list[str]) -> list[dict]:
    """Every method on one problem and seed; the parents are shared by the methods."""
    problem = P.make(problem_name, seed, config.get("similarity", 0.8))
    budget, parent_trials = config["budget"], config["parent_trials"]
    out = []
    related = same = None
    for method in methods:
        start = time.perf_counter()
        if method == "random":
            values, ask = _random(problem, budget, seed)
        elif method == "cold":
            _, values, ask = _bo(problem, problem.objective, budget, seed)
        elif method == "identical":
            same = same or [_history(problem, problem.objective, parent_trials, seed + 1000, "earlier-run")]
            _, values, ask = _bo(problem, problem.objective, budget, seed, same, "IdenticalDataAndAlgorithm")
        elif method.startswith("transfer-"):
            related = related or [_history(problem, f, parent_trials, seed + 2000 + i, f"related-{i}") for i, f in enumerate(problem.parents)]
            _, values, ask = _bo(problem, problem.objective, budget, seed, related, "TransferLearning", method.split("-", 1)[1])
        elif method == "optuna-gp":
            values, ask = _optuna(problem, budget, seed)
        elif method == "botorch":
            values, ask = _botorch(problem, budget, seed)
        else:
            raise ValueError(f"unknown method {method!r}")
        out.append({
            "problem": problem_name, "seed": seed, "method": method, "objective_type": problem.objective_type,
            "optimum": problem.optimum, "values": values, "ask_seconds": ask, "seconds": time.perf_counter() - start,
        })
    return out


def main(argv=None) -> None:
    args = arguments(__doc__, "experiments/results/convergence-<name>.jsonl").parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    out = Path(args.out) if args.out else RESULTS / f"convergence-{config['name']}.jsonl"
    methods, missing = installed(config["methods"], PEERS, " (pip install -e '.[compare]', torch first for botorch)")

    def header() -> dict:
        return {
            "config": config, "methods_run": methods, "peers_missing": missing,
            **provenance("optuna", "botorch", "torch", "scikit-learn"),
        }

    head, rows = resume(out, config, args.fresh, header)
    done = {(r["problem"], r["seed"]) for r in rows}
    todo = [(p, s) for p in config["problems"] for s in config["seeds"] if (p, s) not in done]
    from tqdm import tqdm

    with tqdm(total=len(todo), disable=args.no_progress, desc=f"convergence-{config['name']}", unit="problem-seed") as bar:
        for problem_name, seed in todo:
            bar.set_postfix(problem=problem_name, seed=seed)
            append(out, run_seed(problem_name, seed, config, head["methods_run"]))
            bar.update(1)
    print(f"results in {out}")


if __name__ == "__main__":
    main()
