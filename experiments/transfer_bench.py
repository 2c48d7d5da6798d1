"""Transfer benchmark (issue 13): warm start against cold start and its baselines, paired
seed by seed, on one suite per config.

Suites (``benchmarks/transfer_suite.py``): ``synthetic`` (moved Hartmann tasks over a
similarity sweep, plus adversarial parents) and ``tuning`` (scikit-learn model families,
parents being the same model tuned on other data sets). For every problem and seed the
parents are cold Bayesian runs of ``parent_trials`` trials on their own tasks, shared by
all methods of that seed. Methods:

- ``random``; ``cold``: this library's BO without parents; ``cold-reseeded``: the same on
  another seed (a control: what seed alone does to the metrics);
- ``best-first``: the parents' ``top_k`` best configurations evaluated first, then cold BO
  (with ``top_k`` = 3 the library's ``transfer_prior="best-first"`` runs the same points:
  ``benchmarks/best_first_parity.py``);
  ``best-first:k<N>``: the same with N points (a probe of the opening's size);
  ``best-first:bowl<N>``: N proposals after the opening, each the centre
  of a quadratic bowl with the parents' curvature fitted to the target's trials, then a
  design of best-first's size (further along its Sobol sequence) and cold BO (a probe:
  ``benchmarks/curvature_probe.py``); ``best-first:bowl<N>c``: the bowl only where the
  median of the opening's outcomes beats best-first's first design point, evaluated right
  after the opening (otherwise best-first's run); ``best-first:bowl<N>g``: only where it
  beats that point by more than the opening's spread;
- ``identical``: the parents' trials pooled as if from the same task (IDENTICAL_DATA_AND_ALGORITHM);
- ``transfer-<prior>``: TRANSFER_LEARNING with the ``stacked``, ``icm``, ``rgpe``,
  ``hyperprior``, ``best-first`` or ``best-first-local`` prior
  (``transfer-<prior>:unguarded``: without the negative-transfer guard;
  ``transfer-<prior>:ranking-guard``: the guard's ranking comparison without its design;
  ``transfer-hyperprior:cold-priors``: the hyperprior's opening, check and design under
  cold start's hyperparameter priors, an ablation of what its learned priors add;
  ``transfer-shifted:sampled-shift``: the shifted prior's model on a posterior draw of the
  move instead of its mode, ``shifted.SAMPLE_SHIFT``; ``transfer-shifted:oracle-move``
  (synthetic suites): unguarded, with the true move of the parent it chose, its ceiling;
  ``transfer-shifted:sharp-evidence``: the second pass scores moves under the residual GP
  with its signal variance times ``SHARP_EVIDENCE``, ``shifted.EVIDENCE_SIGNAL``;
  ``transfer-best-first-local:beat-gate``: its first gate, the opening's best against the
  design points, ``trust_region.GATE = "beat"``);
- ``optuna-gp``: Optuna's GPSampler with the same ``top_k`` points enqueued first;
- ``botorch``: SingleTaskGP + LogEI with its tutorials' settings (10 restarts, 512 raw samples);
- ``syne-bounding-box``, ``syne-quantile``, ``syne-zeroshot``: Syne Tune's transfer-learning
  schedulers on the parents' trials (:func:`syne_run`).

Every line of ``experiments/results/transfer-<name>.jsonl`` after the header is one run
(``method``) or one seed's parent record (``parents``: trials, best points' values on the
target, distance of their optima); a (problem, seed) is written whole, so an interrupted
run resumes at the next one. ``benchmarks/transfer_report.py`` prints the tables.

    python experiments/transfer_bench.py experiments/configs/transfer-reduced.json
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import transfer_suite as S
from benchmarks.transfer_runs import bo_run
from experiments.results_file import RESULTS, append, arguments, installed, more_seeds, provenance, resume
from warmstart_bo import trust_region
from warmstart_bo.optimizer import default_initial_points
from warmstart_bo.space import IntegerParameter, SearchSpace
from warmstart_bo.transfer import ParentHistory, hyperprior, shifted

# The residual GP's signal variance factor of ``transfer-shifted:sharp-evidence``.
SHARP_EVIDENCE = 0.01
SYNE = ("syne-tune", "xgboost", "huggingface_hub", "pandas")
PEERS = {"optuna-gp": ("optuna", "torch"), "botorch": ("botorch", "torch"),
         "syne-bounding-box": SYNE, "syne-quantile": SYNE, "syne-zeroshot": SYNE}


def problem_ids(config: dict) -> list[str]:
    """``base/simS`` and ``base/adversary`` (synthetic), ``model/dataset`` (tuning)."""
    if config["suite"] == "synthetic":
        ids = [f"{b}/sim{s:g}" for b in config["families"] for s in config["similarities"]]
        return ids + [f"{b}/{a}" for b in config["families"] for a in config.get("adversaries", [])]
    return [f"{m}/{d}" for m in config["models"] for d in config.get("targets", config["datasets"])]


def make_problem(pid: str, seed: int, config: dict) -> S.TransferProblem:
    head, tail = pid.split("/")
    n = config["n_parents"]
    if config["suite"] == "synthetic":
        if tail.startswith("sim"):
            return S.synthetic(head, seed, float(tail[3:]), n)
        return S.synthetic(head, seed, config["adversary_similarity"], n, adversary=tail)
    return S.tuning(head, tail, seed, n, tuple(config["datasets"]))


def bowl_variant(method: str) -> tuple[int, str | None] | None:
    """(bowl steps, check) of a ``best-first:bowl<N>[c|g]`` method (``c``: the median check,
    ``g``: the gap check, none: unchecked); None for any other method."""
    m = re.fullmatch(r"best-first:bowl([1-9][0-9]*)([cg]?)", method)
    return None if m is None else (int(m.group(1)), {"c": "median", "g": "gap", "": None}[m.group(2)])


def top_points(parents: list[ParentHistory], k: int) -> list[dict]:
    """Each parent's best point in turn, then their second best, ... (k in all, distinct)."""
    ranked = [[p.params[i] for i in np.argsort(p.values)] for p in parents]
    out: list[dict] = []
    for depth in range(max(len(r) for r in ranked)):
        for r in ranked:
            if depth < len(r) and r[depth] not in out and len(out) < k:
                out.append(dict(r[depth]))
    return out


def optuna_run(space: dict, objective, budget: int, seed: int, enqueue: list[dict]) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=default_initial_points(len(space)))
    study = optuna.create_study(sampler=sampler, direction="minimize")
    for p in enqueue:
        study.enqueue_trial(p)

    def suggest(trial):
        out = {}
        for n, r in space.items():
            log = r.scaling_type == "Logarithmic"
            out[n] = trial.suggest_int(n, r.min_value, r.max_value, log=log) if isinstance(r, IntegerParameter) else trial.suggest_float(n, r.min_value, r.max_value, log=log)
        return objective(out)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(suggest, n_trials=budget)
    return {"values": [float(t.value) for t in study.trials]}


def botorch_run(space: dict, objective, budget: int, seed: int) -> dict:
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    torch.manual_seed(seed)
    enc = SearchSpace(space)
    n_init = default_initial_points(enc.dim)
    xs = list(qmc.Sobol(enc.dim, scramble=True, seed=seed).random(n_init))
    values: list[float] = []
    bounds = torch.stack([torch.zeros(enc.dim), torch.ones(enc.dim)]).double()
    for i in range(budget):
        if i >= n_init:
            x = torch.tensor(np.array(xs), dtype=torch.float64)
            y = -torch.tensor(values, dtype=torch.float64).unsqueeze(-1)
            gp = SingleTaskGP(x, y, outcome_transform=Standardize(1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
                cand, _ = optimize_acqf(LogExpectedImprovement(gp, y.max()), bounds, q=1, num_restarts=10, raw_samples=512)
            xs.append(cand[0].numpy())
        values.append(float(objective(enc.decode(np.asarray(xs[i])))))
    return {"values": values}


def syne_run(space: dict, objective, budget: int, seed: int, parents: list[ParentHistory], method: str) -> dict:
    """One of Syne Tune's transfer-learning schedulers (``pip install -e ".[compare-transfer]"``),
    given the parents' trials as offline evaluations, driven trial by trial:

    - ``syne-bounding-box``: random search in the box spanned by each parent's best
      configuration (Perrone et al., NeurIPS 2019), as Syne Tune's documentation builds it;
    - ``syne-quantile``: the quantile-based copula Thompson sampling (Salinas et al., ICML
      2020), an XGBoost surrogate of the parents' Gaussian-copula-normalized outcomes;
    - ``syne-zeroshot``: the zero-shot portfolio (Wistuba et al., ICDM 2015) on surrogate
      imputations of the parents' outcomes, then random configurations once it runs out.
    """
    import contextlib
    import datetime as dt
    import io
    import logging

    import pandas as pd
    from syne_tune import config_space as cs
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.baselines import RandomSearch
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler
    from syne_tune.optimizer.schedulers.transfer_learning.bounding_box import BoundingBox
    from syne_tune.optimizer.schedulers.transfer_learning.quantile_based.quantile_based_searcher import QuantileBasedSurrogateSearcher
    from syne_tune.optimizer.schedulers.transfer_learning.transfer_learning_task_evaluation import TransferLearningTaskEvaluations
    from syne_tune.optimizer.schedulers.transfer_learning.zero_shot import ZeroShotTransfer

    class ZeroShot(ZeroShotTransfer):
        """Syne Tune 0.16.0's ZeroShotTransfer samples surrogate candidates from a
        ``random_state`` it never sets; this sets it from the seed first."""

        def __init__(self, *args, random_seed: int = 0, **kwargs):
            self.random_state = np.random.RandomState(random_seed)
            super().__init__(*args, random_seed=random_seed, **kwargs)

    domains = {}
    for name, r in space.items():
        log = getattr(r, "scaling_type", "Auto") == "Logarithmic"
        if hasattr(r, "values"):
            domains[name] = cs.choice(list(r.values))
        elif isinstance(r, IntegerParameter):
            domains[name] = (cs.lograndint if log else cs.randint)(r.min_value, r.max_value)
        else:
            domains[name] = (cs.loguniform if log else cs.uniform)(r.min_value, r.max_value)
    evaluations = {
        p.name: TransferLearningTaskEvaluations(domains, pd.DataFrame(p.params), ["y"], np.asarray(p.values, float).reshape(-1, 1, 1, 1))
        for p in parents
    }
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    # Syne Tune 0.16.0's random sampling ignores the schedulers' seeds and draws from NumPy's
    # global generator: seed it for this run, and give it back as it was.
    global_state = np.random.get_state()
    np.random.seed(seed)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "syne-bounding-box":
            scheduler = BoundingBox(lambda box, metric, minimize, s: RandomSearch(box, [metric], do_minimize=minimize, random_seed=s),
                                    domains, "y", evaluations, do_minimize=True, random_seed=seed)
        elif method == "syne-quantile":
            searcher = QuantileBasedSurrogateSearcher(domains, evaluations, random_seed=seed)
            scheduler = SingleObjectiveScheduler(domains, "y", do_minimize=True, searcher=searcher, random_seed=seed)
        else:
            scheduler = ZeroShot(domains, "y", evaluations, do_minimize=True, use_surrogates=True, random_seed=seed)
        fallback = np.random.RandomState(seed)
        values = []
        for i in range(budget):
            if method == "syne-zeroshot":
                # Its suggest() routes to the default random searcher in 0.16.0; the
                # portfolio is get_config().
                config = scheduler.get_config() or {k: d.sample(random_state=fallback) for k, d in domains.items()}
            else:
                config = scheduler.suggest().config
            values.append(float(objective(dict(config))))
            scheduler.on_trial_complete(Trial(i, dict(config), dt.datetime.now()), {"y": values[-1]})
    np.random.set_state(global_state)
    return {"values": values}


_HISTORIES: dict = {}
RESEED = 100_000


def parent_histories(problem: S.TransferProblem, pid: str, seed: int, config: dict) -> list[ParentHistory]:
    """Cold runs of the parents' tasks; for model tuning cached by (model, data set, seed)."""
    out = []
    for i, task in enumerate(problem.parents):
        if config["suite"] == "tuning":
            key = (pid.split("/")[0], problem.info["parent_datasets"][i], seed)
            run_seed = 3000 + seed + 101 * S.DATASETS.index(key[1])
        else:
            key, run_seed = None, 2000 + 10 * seed + i
        if key is None or key not in _HISTORIES:
            r = bo_run(problem.space, task, config["parent_trials"], run_seed)
            h = ParentHistory(f"parent-{i}", r["params"], r["values"], problem.space)
            if key is None:
                out.append(h)
                continue
            _HISTORIES[key] = h
        out.append(_HISTORIES[key])
    return out


def run_seed(pid: str, seed: int, config: dict, methods: list[str]) -> list[dict]:
    """Every method on one problem and seed, and the parents' record."""
    problem = make_problem(pid, seed, config)
    budget = config["budget"]
    parents = parent_histories(problem, pid, seed, config)
    charged = sum(len(p.values) for p in parents)
    best = top_points(parents, config["top_k"])
    at_best = [float(problem.target(dict(p.params[int(np.argmin(p.values))]))) for p in parents]
    rows = [{"problem": pid, "seed": seed, "parents": {
        "trials": [len(p.values) for p in parents], "target_at_best": at_best, "optimum": problem.optimum, **problem.info,
    }}]
    for method in methods:
        start = time.perf_counter()
        if method == "random":
            enc = SearchSpace(problem.space)
            pts = enc.decode_many(np.random.default_rng([seed, 11]).random((budget, enc.dim)))
            r, cost = {"values": [float(problem.target(p)) for p in pts]}, 0
        elif method == "cold":
            r, cost = bo_run(problem.space, problem.target, budget, seed), 0
        elif method == "cold-reseeded":
            # Cold start again on another seed: how far the worst-case and paired metrics move
            # with the seed alone, the noise floor a transfer method is judged against.
            r, cost = bo_run(problem.space, problem.target, budget, RESEED + seed), 0
        elif method == "best-first":
            r, cost = bo_run(problem.space, problem.target, budget, seed, first=best), charged
        elif re.fullmatch(r"best-first:k[1-9][0-9]*", method):
            # The opening's size as a probe: k points in place of the config's top_k.
            r, cost = bo_run(problem.space, problem.target, budget, seed, first=top_points(parents, int(method.split(":k")[1]))), charged
        elif (bowl := bowl_variant(method)) is not None:
            # A probe: that many bowl proposals with the parents' curvature after the opening
            # (benchmarks/curvature_probe.py), then best-first's design and GP.
            from benchmarks import curvature_probe

            steps, check = bowl
            r, cost = curvature_probe.job(problem, parents, seed, budget, steps, config["top_k"], check=check), charged
        elif method == "identical":
            r, cost = bo_run(problem.space, problem.target, budget, seed, parents, "IdenticalDataAndAlgorithm"), charged
        elif method.startswith("transfer-"):
            prior, _, variant = method.split("-", 1)[1].partition(":")
            guards = {"": True, "unguarded": False, "ranking-guard": "ranking", "cold-priors": True, "sampled-shift": True, "oracle-move": False, "sharp-evidence": True, "beat-gate": True}
            if (variant not in guards or (variant == "cold-priors" and prior != "hyperprior") or (variant in ("sampled-shift", "oracle-move", "sharp-evidence") and prior != "shifted")
                    or (variant == "beat-gate" and prior != "best-first-local")
                    or (variant == "oracle-move" and any(getattr(t, "argmin", None) is None for t in (problem.target, *problem.parents)))):
                raise ValueError(f"unknown variant {variant!r} of {method!r}")
            with (_learned_priors(variant != "cold-priors"), mock.patch.object(shifted, "SAMPLE_SHIFT", variant == "sampled-shift"),
                  mock.patch.object(shifted, "EVIDENCE_SIGNAL", SHARP_EVIDENCE if variant == "sharp-evidence" else 1.0),
                  mock.patch.object(trust_region, "GATE", "beat" if variant == "beat-gate" else trust_region.GATE),
                  _oracle_move(problem) if variant == "oracle-move" else contextlib.nullcontext()):
                r = bo_run(problem.space, problem.target, budget, seed, parents, "TransferLearning", prior, guard=guards[variant])
            cost = charged
        elif method == "optuna-gp":
            r, cost = optuna_run(problem.space, problem.target, budget, seed, best), charged
        elif method == "botorch":
            r, cost = botorch_run(problem.space, problem.target, budget, seed), 0
        elif method.startswith("syne-"):
            r, cost = syne_run(problem.space, problem.target, budget, seed, parents, method), charged
        else:
            raise ValueError(f"unknown method {method!r}")
        r.pop("params", None)
        rows.append({"problem": pid, "seed": seed, "method": method, "optimum": problem.optimum, "parent_trials": cost,
                     "seconds": time.perf_counter() - start, **r})
    return rows


def true_moves(problem: S.TransferProblem) -> list[np.ndarray]:
    """Each parent's true move onto the target: the target's optimum less the parent's task's
    (synthetic problems, whose tasks know their optima)."""
    return [np.subtract(problem.target.argmin, p.argmin) for p in problem.parents]


def _oracle_move(problem: S.TransferProblem):
    """A context in which the shifted prior's fit keeps the parent it chose but takes the
    true move onto the target (the target's optimum less that parent's task's), with the
    coefficients fitted there: the model's ceiling when the move is known, a diagnostic of
    the synthetic suite (whose tasks know their optima)."""
    import jax.numpy as jnp

    fit_shift = shifted.fit_shift
    moves = true_moves(problem)

    def oracle(parents, parent_best, target, continuous, scale, rng, covariance=None, sample=False):
        fit = fit_shift(parents, parent_best, target, continuous, scale, rng, covariance, sample)
        data, kinv = target.data, (target if covariance is None else covariance).kinv
        move = np.asarray(moves[fit.parent], dtype=float) * np.asarray(continuous, bool)
        coef = shifted._coefficients(parents[fit.parent], jnp.asarray(move, data.x.dtype), data.x, data.y, data.mask, kinv)
        return fit._replace(shift=move, coef=np.asarray(coef))

    return mock.patch.object(shifted, "fit_shift", oracle)


def _learned_priors(learn: bool):
    """A context in which the hyperprior learns its hyperparameter priors from the parents,
    or (``learn`` False) keeps cold start's (:func:`warmstart_bo.transfer.hyperprior.priors`
    returns its ``base``)."""
    if learn:
        return contextlib.nullcontext()
    return mock.patch.object(hyperprior, "priors", lambda tasks, categorical, base, seed, dtype: base)


def main(argv=None) -> None:
    ap = arguments(__doc__, "experiments/results/transfer-<name>.jsonl")
    ap.add_argument("--seeds", default=None, help="comma-separated subset of the config's seeds to run now (several processes may share a file, each with its own seeds)")
    args = ap.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    out = Path(args.out) if args.out else RESULTS / f"transfer-{config['name']}.jsonl"
    methods, missing = installed(config["methods"], PEERS)

    def header() -> dict:
        return {
            "config": config, "methods_run": methods, "peers_missing": missing,
            **provenance("optuna", "botorch", "torch", "scikit-learn"),
        }

    head, rows = resume(out, config, args.fresh, header, compatible=more_seeds)
    done = {(r["problem"], r["seed"]) for r in rows}
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else config["seeds"]
    if set(seeds) - set(config["seeds"]):
        sys.exit(f"seeds not in the config: {sorted(set(seeds) - set(config['seeds']))}")
    todo = [(p, s) for s in seeds for p in problem_ids(config) if (p, s) not in done]
    from tqdm import tqdm

    with tqdm(total=len(todo), disable=args.no_progress, desc=f"transfer-{config['name']}", unit="problem-seed") as bar:
        for pid, seed in todo:
            bar.set_postfix(problem=pid, seed=seed)
            append(out, run_seed(pid, seed, config, head["methods_run"]))
            bar.update(1)
    print(f"results in {out}")


if __name__ == "__main__":
    main()
