"""Cold-start suite (issue 14): this library against its peers on standard test functions.

Every method minimizes every function of the config (``benchmarks/coldstart_functions.py``)
for ``budget`` evaluations from every seed; each run records the value the method saw and
the noise-free value of every trial:

- ``ours``: ``Optimizer`` with its defaults; ``ours:<variant>``: with the config's
  ``variants[<variant>]`` (model choices and fit schedules compared on the suite, see
  README);
- ``optuna-gp``: Optuna's ``GPSampler``, ``tpe``: Optuna's ``TPESampler``, both with
  their defaults (native integer, categorical and log parameters);
- ``botorch``: BoTorch's tutorial loop, ``SingleTaskGP`` (its default transforms) with
  ``LogExpectedImprovement`` maximized by ``optimize_acqf`` (10 restarts, 512 raw
  samples) after 2 (d + 1) scrambled Sobol points, on this library's unit-box encoding
  (integers and categories: the continuous relaxation, decoded by rounding);
- ``random``: uniform in the unit-box encoding (log ranges sampled in log).

Results go to ``experiments/results/coldstart-<name>.jsonl``: a header line (config,
versions, machine), then one line per (method, function, seed), appended as each run
finishes, so an interrupted run resumes where it stopped. Work is ordered seed by seed
(every method and function of a seed before the next seed), so a partial run is paired:
the methods have the same seeds. Methods
and variants may be added to a config and rerun: finished runs are kept.
``benchmarks/coldstart_table.py`` prints the tables from that file.

    python experiments/coldstart.py experiments/configs/coldstart-small.json
    python experiments/coldstart.py experiments/configs/coldstart.json
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import coldstart_functions as C
from experiments.results_file import RESULTS, append, arguments, installed, provenance, resume
from warmstart_bo import Optimizer, gp
from warmstart_bo import optimizer as optimizer_module
from warmstart_bo.space import CategoricalParameter, IntegerParameter, SearchSpace

PEERS = {"optuna-gp": ("optuna", "torch"), "tpe": ("optuna",), "botorch": ("botorch", "torch")}


def optimizer_kwargs(variant: dict, dim: int) -> dict:
    """Optimizer keyword arguments of a variant: ``priors`` (overrides of
    :func:`gp.default_priors` fields, or ``{"lengthscale": "lognormal"}``),
    ``output_transform``, ``n_initial_points`` (a number or ``"d+1"``)."""
    out = {}
    if "priors" in variant:
        spec = dict(variant["priors"])
        priors = gp.default_priors(dim, lengthscale=spec.pop("lengthscale")) if "lengthscale" in spec else gp.default_priors(dim)
        out["priors"] = priors._replace(**spec)
    if "output_transform" in variant:
        out["output_transform"] = variant["output_transform"]
    if "n_initial_points" in variant:
        n = variant["n_initial_points"]
        out["n_initial_points"] = dim + 1 if n == "d+1" else int(n)
    return out


@contextlib.contextmanager
def fit_schedule(constants: dict):
    """The optimizer's fit-schedule constants (``warmstart_bo.optimizer``, e.g.
    ``MULTISTART_EVERY_ASK``) set for one run and restored after: a variant's
    ``"fit_schedule"``, to measure the schedule against costlier ones."""
    old = {k: getattr(optimizer_module, k) for k in constants}
    for k, v in constants.items():
        setattr(optimizer_module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(optimizer_module, k, v)


def _ours(f: C.Function, objective, budget: int, seed: int, variant: dict):
    opt = Optimizer(f.space, "Minimize", random_seed=seed, **optimizer_kwargs(variant, f.dim))
    params, values, asked = [], [], []
    with fit_schedule(variant.get("fit_schedule", {})):
        for _ in range(budget):
            start = time.perf_counter()
            (p,) = opt.ask()
            asked.append(time.perf_counter() - start)
            v = float(objective(p))
            opt.tell([p], [v])
            params.append(p)
            values.append(v)
    return params, values, asked


def _random(f: C.Function, objective, budget: int, seed: int):
    space = SearchSpace(f.space)
    params = space.decode_many(np.random.default_rng([seed, 11]).random((budget, space.dim)))
    return params, [float(objective(p)) for p in params], []


def _optuna(f: C.Function, objective, budget: int, seed: int, sampler: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    make = optuna.samplers.GPSampler if sampler == "gp" else optuna.samplers.TPESampler
    study = optuna.create_study(sampler=make(seed=seed), direction="minimize")
    params, values, asked = [], [], []

    def suggest(trial, name, r):
        if isinstance(r, CategoricalParameter):
            return trial.suggest_categorical(name, list(r.values))
        log = r.scaling_type == "Logarithmic"
        if isinstance(r, IntegerParameter):
            return trial.suggest_int(name, r.min_value, r.max_value, log=log)
        return trial.suggest_float(name, r.min_value, r.max_value, log=log)

    def run(trial):
        start = time.perf_counter()
        p = {n: suggest(trial, n, r) for n, r in f.space.items()}
        asked.append(time.perf_counter() - start)
        v = float(objective(p))
        params.append(p)
        values.append(v)
        return v

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(run, n_trials=budget)
    return params, values, asked


def _botorch(f: C.Function, objective, budget: int, seed: int):
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    torch.manual_seed(seed)
    space = SearchSpace(f.space)
    n_init = min(budget, 2 * (space.dim + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol's balance wants powers of two; BoTorch's tutorials use 2 (d + 1)
        xs = list(space.snap(qmc.Sobol(space.dim, scramble=True, seed=seed).random(n_init)))
    bounds = torch.stack([torch.zeros(space.dim), torch.ones(space.dim)]).double()
    params, values, asked = [], [], []
    for i in range(budget):
        if i >= n_init:
            start = time.perf_counter()
            x = torch.tensor(np.array(xs), dtype=torch.float64)
            y = -torch.tensor(values, dtype=torch.float64).unsqueeze(-1)  # BoTorch maximizes
            model = SingleTaskGP(x, y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
                cand, _ = optimize_acqf(LogExpectedImprovement(model, y.max()), bounds, q=1, num_restarts=10, raw_samples=512)
            xs.append(space.snap(cand[0].numpy()))
            asked.append(time.perf_counter() - start)
        p = space.decode(np.asarray(xs[i]))
        params.append(p)
        values.append(float(objective(p)))
    return params, values, asked


def run_one(method: str, name: str, seed: int, config: dict) -> dict:
    f = C.get(name)
    budget = config["budget"]
    objective = f.noisy(seed)
    start = time.perf_counter()
    if method == "ours" or method.startswith("ours:"):
        variant = config.get("variants", {})[method.split(":", 1)[1]] if ":" in method else {}
        params, values, asked = _ours(f, objective, budget, seed, variant)
    elif method == "random":
        params, values, asked = _random(f, objective, budget, seed)
    elif method == "optuna-gp":
        params, values, asked = _optuna(f, objective, budget, seed, "gp")
    elif method == "tpe":
        params, values, asked = _optuna(f, objective, budget, seed, "tpe")
    elif method == "botorch":
        params, values, asked = _botorch(f, objective, budget, seed)
    else:
        raise ValueError(f"unknown method {method!r}")
    true = values if not f.noise_sd else [float(f.true(p)) for p in params]
    return {
        "method": method, "function": name, "seed": seed, "optimum": f.optimum, "noise_sd": f.noise_sd,
        "values": values, "true_values": true, "ask_seconds": float(np.mean(asked)) if asked else 0.0,
        "seconds": time.perf_counter() - start,
    }


def main(argv=None) -> None:
    ap = arguments(__doc__, "experiments/results/coldstart-<name>.jsonl")
    ap.add_argument("--methods", default=None, help="comma-separated subset of the config's methods to run now")
    ap.add_argument("--seeds", default=None, help="comma-separated subset of the config's seeds to run now")
    args = ap.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    out = Path(args.out) if args.out else RESULTS / f"coldstart-{config['name']}.jsonl"
    methods = args.methods.split(",") if args.methods else config["methods"]
    unknown = [m for m in methods if m not in config["methods"]]
    if unknown:
        sys.exit(f"methods not in the config: {unknown}")
    methods, _ = installed(methods, PEERS)

    def header() -> dict:
        return {
            "suite": "coldstart", "config": config,
            **provenance("optuna", "botorch", "torch"),
        }

    # Methods and seeds may be added to a config; a new budget makes the rows incomparable.
    _, rows = resume(out, config, args.fresh, header, compatible=lambda old, new: old["budget"] == new["budget"])
    done = {(r["method"], r["function"], r["seed"]) for r in rows}
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else config["seeds"]
    todo = [(m, fn, s) for s in seeds for m in methods for fn in config["functions"] if (m, fn, s) not in done]
    from tqdm import tqdm

    with tqdm(total=len(todo), disable=args.no_progress, desc=f"coldstart-{config['name']}", unit="run") as bar:
        for method, fn, seed in todo:
            bar.set_postfix(method=method, function=fn, seed=seed)
            append(out, [run_one(method, fn, seed, config)])
            bar.update(1)
    print(f"results in {out}")


if __name__ == "__main__":
    main()
