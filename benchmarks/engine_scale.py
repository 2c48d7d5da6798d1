"""The engine at the sizes warm start creates, in one run on one machine.

Sections (``--only`` picks some):

- ``large``: later asks at n = 2000 (d = 3 and 6): the ask right after telling n points
  (``first``, compiles), then ``--steps`` (tell one, ask) steps: median, p90 and max.
- ``job``: a 300-trial cold job (d = 4, a cheap objective) in a fresh process with a new,
  cold compile cache, then in another with that cache warm: every ask's time, and per
  padding bucket the median, the slowest and slowest / median (crossings included).
- ``parents``: five parents of 500 trials each (Hartmann-6 family, similarity 0.8): later
  asks of a TRANSFER_LEARNING job with each prior and of an IDENTICAL_DATA_AND_ALGORITHM job
  (2,500 pooled points).
- ``fresh``: a new process's first ask at n = 20, with the compile cache cold and then warm.
- ``e2e``: a 100-trial cold job on Hartmann-6 with a trivial objective, wall clock including
  compilation, beside Optuna's GPSampler and BoTorch's loop (SingleTaskGP, LogEI,
  ``optimize_acqf`` with 10 restarts and 512 raw samples) where installed
  (``pip install torch==2.13.0 && pip install -e ".[compare]"``).

    python benchmarks/engine_scale.py --json experiments/results/engine_scale.json
    python benchmarks/engine_scale.py --only job,parents --json experiments/results/engine_scale.json  # those sections anew
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax
import numpy as np

import warmstart_bo
from benchmarks.families import FAMILIES
from benchmarks.step_times import random_parents
from warmstart_bo import ContinuousParameter, Optimizer, gp
from warmstart_bo.space import SearchSpace
from warmstart_bo.testfunctions import hartmann6


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def summary(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "p90_s": float(np.percentile(times, 90)), "max_s": max(times), "steps": len(times)}


def sines(x: np.ndarray) -> float:
    return float(np.sum(np.sin(5.0 * x)) + np.sum((x - 0.3) ** 2))


def space(d: int) -> dict:
    return {f"x{i}": ContinuousParameter(0.0, 1.0) for i in range(d)}


def as_array(p: dict, d: int) -> np.ndarray:
    return np.array([p[f"x{i}"] for i in range(d)])


def timed_asks(opt: Optimizer, f, d: int, steps: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        (p,) = opt.ask()
        times.append(time.perf_counter() - start)
        opt.tell([p], [f(p)])
    return times[0], times[1:]


def large(steps: int) -> list[dict]:
    rows = []
    for d in (3, 6):
        rng = np.random.default_rng(d)
        opt = Optimizer(space(d), random_seed=0)
        x = rng.random((2000, d))
        opt.tell([dict(zip(space(d), map(float, r))) for r in x], [sines(r) for r in x])
        first, later = timed_asks(opt, lambda p, d=d: sines(as_array(p, d)), d, steps)
        rows.append({"n": 2000, "d": d, "first_s": first, **summary(later)})
        print(f"large n=2000 d={d}: first {first:.2f}s, later median {rows[-1]['median_s']:.3f}s p90 {rows[-1]['p90_s']:.3f}s max {rows[-1]['max_s']:.3f}s", flush=True)
    return rows


def job_asks(trials: int) -> dict:
    """Every ask of a ``trials``-trial cold job in this process, and per padding bucket (from
    the first Bayesian ask on) the median, the slowest and slowest / median."""
    d = 4
    opt = Optimizer(space(d), random_seed=0, max_observations=trials)
    times, sizes = [], []
    for _ in range(trials):
        # The padded size the ask's GP holds: its observations (the candidate is not a row).
        sizes.append(gp.bucket_size(opt.num_observations))
        start = time.perf_counter()
        (p,) = opt.ask()
        times.append(time.perf_counter() - start)
        opt.tell([p], [sines(as_array(p, d))])
    buckets = []
    bo = opt.n_initial_points
    for size in sorted(set(sizes[bo:])):
        t = [times[i] for i in range(bo, trials) if sizes[i] == size]
        buckets.append({"bucket": size, "asks": len(t), "median_s": statistics.median(t), "max_s": max(t), "max_over_median": max(t) / statistics.median(t)})
    return {"trials": trials, "d": d, "initial_design": bo, "ask_s": times, "buckets": buckets}


JOB = "import json, sys; from benchmarks.engine_scale import job_asks; print(json.dumps(job_asks(int(sys.argv[1]))))"


def job(trials: int, warm_runs: int = 3) -> dict:
    """The job in fresh processes sharing a new compile cache: first with it cold (every
    padded size compiles), then ``warm_runs`` times warm (loaded from what the first wrote):
    a bucket's slowest / median from one run of a few hundred ~10 ms asks moves with the
    machine's noise, so the spread over runs is kept."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": cache, "PYTHONPATH": str(REPO)}
        labels = ["cold_cache", "warm_cache"] + [f"warm_cache_{i}" for i in range(2, warm_runs + 1)]
        for label in labels:
            res = subprocess.run([sys.executable, "-c", JOB, str(trials)], env=env, capture_output=True, text=True, check=True, cwd=REPO)
            out[label] = json.loads(res.stdout.splitlines()[-1])
            for b in out[label]["buckets"]:
                print(f"job ({label}) bucket {b['bucket']:4d}: {b['asks']:3d} asks, median {b['median_s']:.3f}s, max {b['max_s']:.3f}s ({b['max_over_median']:.1f}x)", flush=True)
    warm = [out[label]["buckets"] for label in labels[1:]]
    for rows in zip(*warm):
        ratios = ", ".join(f"{b['max_over_median']:.1f}x" for b in rows)
        print(f"job (warm cache, {len(warm)} runs) bucket {rows[0]['bucket']:4d}: slowest / median {ratios}", flush=True)
    return out


def parents(steps: int, per_parent: int = 500, n_parents: int = 5) -> list[dict]:
    fam = FAMILIES["hartmann6"]
    rng = np.random.default_rng(per_parent)
    sp = SearchSpace(fam.space)
    hist = random_parents(fam, rng, n_parents, per_parent)
    target = fam.task(rng, 0.8)
    rows = []
    for kind, prior in [("TransferLearning", "stacked"), ("TransferLearning", "rgpe"), ("TransferLearning", "icm"), ("IdenticalDataAndAlgorithm", None)]:
        opt = Optimizer(fam.space, "Minimize", random_seed=0, parents=hist, warm_start_type=kind, transfer_prior=prior)
        setup = time.perf_counter()
        for _ in range(3):  # a few target trials, then the timed steps
            (p,) = opt.ask()
            opt.tell([p], [target(p)])
        warmup = time.perf_counter() - setup
        first, later = timed_asks(opt, target, sp.dim, steps)
        name = prior or "identical"
        rows.append({"method": name, "parent_trials": per_parent * n_parents, "first_three_s": warmup, "first_s": first, **summary(later)})
        print(f"parents {n_parents}x{per_parent} {name:9s}: first three asks {warmup:.1f}s, later median {rows[-1]['median_s']:.3f}s p90 {rows[-1]['p90_s']:.3f}s", flush=True)
    return rows


FRESH = textwrap.dedent(
    """
    import time
    start = time.perf_counter()
    import numpy as np
    from warmstart_bo import ContinuousParameter, Optimizer
    space = {f"x{i}": ContinuousParameter(0.0, 1.0) for i in range(3)}
    opt = Optimizer(space, random_seed=0)
    x = np.random.default_rng(0).random((20, 3))
    opt.tell([dict(zip(space, map(float, r))) for r in x], [float(np.sum(np.sin(5 * r))) for r in x])
    imported = time.perf_counter() - start
    t = time.perf_counter()
    opt.ask()
    print(imported, time.perf_counter() - t)
    """
)


def fresh() -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": cache, "PYTHONPATH": str(REPO)}
        for label in ("cold_cache", "warm_cache", "warm_cache_again"):
            res = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True, check=True)
            imported, ask = map(float, res.stdout.split())
            out[label] = {"import_and_setup_s": imported, "first_ask_s": ask}
            print(f"fresh process, {label}: import+setup {imported:.2f}s, first ask at n=20 {ask:.2f}s", flush=True)
    return out


def e2e(trials: int, seed: int = 0) -> dict:
    names = [f"x{i}" for i in range(6)]
    out = {}
    start = time.perf_counter()
    opt = Optimizer(space(6), random_seed=seed)
    for _ in range(trials):
        (p,) = opt.ask()
        opt.tell([p], [hartmann6(p)])
    out["warmstart_bo"] = {"wall_s": time.perf_counter() - start, "best": opt.best()[1]}
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        start = time.perf_counter()
        study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
        study.optimize(lambda t: hartmann6({k: t.suggest_float(k, 0.0, 1.0) for k in names}), n_trials=trials)
        out["optuna_gp"] = {"wall_s": time.perf_counter() - start, "best": study.best_value}
    except ImportError:
        print("optuna not installed: skipped")
    try:
        out["botorch"] = botorch_loop(trials, seed)
    except ImportError:
        print("botorch not installed: skipped (pip install torch==2.13.0 && pip install -e '.[compare]')")
    for k, v in out.items():
        print(f"e2e {trials} trials Hartmann-6 {k:12s}: {v['wall_s']:.1f}s, best {v['best']:.4f}", flush=True)
    return out


def botorch_loop(trials: int, seed: int) -> dict:
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from torch.quasirandom import SobolEngine

    torch.manual_seed(seed)
    f = lambda x: -torch.tensor([hartmann6({f"x{i}": float(v) for i, v in enumerate(row)}) for row in x], dtype=torch.float64).unsqueeze(-1)
    start = time.perf_counter()
    bounds = torch.stack([torch.zeros(6), torch.ones(6)]).to(torch.float64)
    x = SobolEngine(6, scramble=True, seed=seed).draw(10).to(torch.float64)
    y = f(x)
    while len(y) < trials:
        model = SingleTaskGP(x, y, outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        cand, _ = optimize_acqf(LogExpectedImprovement(model, best_f=y.max()), bounds=bounds, q=1, num_restarts=10, raw_samples=512)
        x, y = torch.cat([x, cand]), torch.cat([y, f(cand)])
    return {"wall_s": time.perf_counter() - start, "best": float(-y.max())}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="large,job,parents,fresh,e2e")
    ap.add_argument("--steps", type=int, default=10, help="later asks timed per configuration")
    ap.add_argument("--job-trials", type=int, default=300)
    ap.add_argument("--job-warm-runs", type=int, default=3, help="fresh processes that run the job with the cache warm")
    ap.add_argument("--e2e-trials", type=int, default=100)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    machine = f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs usable; JAX {jax.__version__} on {jax.devices()[0].platform}; warmstart_bo {warmstart_bo.__version__}"
    print(machine, flush=True)
    result = {"machine": machine}
    sections = {"large": lambda: large(args.steps), "job": lambda: job(args.job_trials, args.job_warm_runs), "parents": lambda: parents(args.steps),
                "fresh": fresh, "e2e": lambda: e2e(args.e2e_trials)}
    for name in args.only.split(","):
        result[name] = sections[name]()
    if args.json:
        # Sections run now replace their earlier results; the others stay, each with the
        # machine line of the run that measured it.
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = json.loads(path.read_text()) if path.exists() else {}
        if "machine" in stored and "machines" not in stored:
            stored["machines"] = {k: stored["machine"] for k in sections if k in stored}
        stored.setdefault("machines", {}).update({k: machine for k in args.only.split(",")})
        stored.update(result)
        path.write_text(json.dumps(stored, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
