"""Wall time of one Bayesian-optimization step: warmstart_bo vs BoTorch vs Optuna's GPSampler.

One step = fit the GP hyperparameters to n observations in d dimensions and optimize the
acquisition function to propose one point. Every method runs in this one process, on the
same data (random uniform inputs in [0, 1]^d, seeded), minimizing a sum of sines.

For each method and size the script reports:

* ``first``: the first proposal after ``n`` observations were told (for warmstart_bo this
  includes JIT compilation for that padding bucket);
* ``later``: the median of ``--repeats`` further proposals, each made after the previous
  proposal was evaluated and told, as in a real BO loop. warmstart_bo and Optuna reuse
  their previous fit as a warm start; BoTorch refits from scratch, as its tutorials do.

Only the proposal is timed (``ask`` / ``study.ask`` / fit + ``optimize_acqf``); telling one
result is not.

Threads: ``--threads`` (default: the CPUs this process may use) pins the process to that
many CPUs and sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS``
before numpy, torch or jax are imported, plus ``torch.set_num_threads``. XLA's CPU thread
pool follows the CPU affinity; with ``--threads 1`` its multi-threaded Eigen is also turned
off through ``XLA_FLAGS``. JAX runs on CPU unless ``JAX_PLATFORMS`` is already set. Note
that Optuna's GPSampler itself drops torch to 1 thread while it samples.

warmstart_bo is imported from this repository (the repo root is put on ``sys.path``), so
the script runs from a checkout without installing it. BoTorch and Optuna are optional:
a missing one is skipped with a message.

Example::

    python benchmarks/compare_peers.py --sizes 20,100,500 --dims 3,6 --repeats 5 --json out.json
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
METHODS = ("warmstart_bo", "botorch", "optuna")
MISSING_PEER = "{} not installed: pip install warmstart-bo[compare]"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,100,500", help="comma-separated n (e.g. 20,100,500,2000)")
    parser.add_argument("--dims", default="3,6", help="comma-separated d")
    parser.add_argument("--repeats", type=int, default=10, help="later (tell one, ask) steps per size")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="CPU threads for every method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.dims = [int(s) for s in args.dims.split(",")]
    args.methods = [m.strip() for m in args.methods.split(",")]
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    return args


def limit_threads(threads: int) -> None:
    """Pins the process to ``threads`` CPUs and caps BLAS/OpenMP pools; call before imports."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[:threads])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def objective(x):
    """A smooth test function on [0, 1]^d, to be minimized: a sum of shifted sines."""
    import numpy as np

    x = np.atleast_2d(x)
    d = x.shape[1]
    freq = 2.0 + np.arange(d) / d
    phase = np.arange(d) * 0.7
    return np.sin(2 * np.pi * freq * x + phase).sum(axis=1) + 0.5 * ((x - 0.3) ** 2).sum(axis=1)


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(threads: int) -> dict:
    wsbo, _ = load_warmstart_bo()
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads_used": threads,
        "python": platform.python_version(),
        "jax_platforms": os.environ.get("JAX_PLATFORMS"),
        "versions": {
            "warmstart_bo": getattr(wsbo, "__version__", "unknown") if wsbo else "not importable",
            **{name: package_version(name) for name in ("jax", "jaxlib", "numpy", "scipy", "torch", "botorch", "gpytorch", "optuna")},
        },
    }


@functools.cache
def load_warmstart_bo():
    """Imports warmstart_bo from this checkout: ``(module, None)`` or ``(None, reason)``."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        import warmstart_bo
    except ImportError as exc:
        return None, f"warmstart_bo not importable ({exc}); skipped"
    return warmstart_bo, None


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_warmstart_bo(x, y, repeats: int, seed: int) -> tuple[float, list[float]]:
    """First ask after telling all of (x, y), then ``repeats`` (tell the proposal, ask) steps."""
    wsbo, _ = load_warmstart_bo()
    names = [f"x{i}" for i in range(x.shape[1])]
    opt = wsbo.Optimizer({k: wsbo.ContinuousParameter(0.0, 1.0) for k in names}, objective_type="Minimize", random_seed=seed)
    opt.tell([dict(zip(names, map(float, row))) for row in x], [float(v) for v in y])
    bucket = getattr(getattr(wsbo, "gp", None), "bucket_size", None)
    if bucket is not None and bucket(len(x) + 1) != bucket(len(x) + repeats):
        print(f"  note: n={len(x)} + {repeats} repeats crosses a padding bucket; later calls include a recompile")
    times = []
    for _ in range(repeats + 1):
        (proposal,), seconds = timed(lambda: opt.ask(n=1))
        times.append(seconds)
        opt.tell([proposal], [float(objective([proposal[k] for k in names])[0])])
    return times[0], times[1:]


def run_botorch(x, y, repeats: int, seed: int) -> tuple[float, list[float]]:
    """SingleTaskGP + Standardize, fit_gpytorch_mll, LogEI via optimize_acqf (q=1, 10 restarts, 512 raw)."""
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.manual_seed(seed)
    train_x = torch.tensor(x, dtype=torch.float64)
    train_y = -torch.tensor(y, dtype=torch.float64).unsqueeze(-1)
    bounds = torch.stack([torch.zeros(x.shape[1]), torch.ones(x.shape[1])]).to(torch.float64)

    def step():
        model = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acqf = LogExpectedImprovement(model, best_f=train_y.max())
        candidate, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10, raw_samples=512)
        return candidate

    times = []
    for _ in range(repeats + 1):
        candidate, seconds = timed(step)
        times.append(seconds)
        value = -torch.tensor(objective(candidate.numpy()), dtype=torch.float64).unsqueeze(-1)
        train_x = torch.cat([train_x, candidate])
        train_y = torch.cat([train_y, value])
    return times[0], times[1:]


def run_optuna(x, y, repeats: int, seed: int) -> tuple[float, list[float]]:
    """GPSampler (seeded) on a study holding n completed trials; times ``study.ask``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = [f"x{i}" for i in range(x.shape[1])]
    dists = {k: optuna.distributions.FloatDistribution(0.0, 1.0) for k in names}
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.GPSampler(seed=seed))
    study.add_trials([
        optuna.trial.create_trial(params=dict(zip(names, map(float, row))), distributions=dists, value=float(v))
        for row, v in zip(x, y)
    ])
    times = []
    for _ in range(repeats + 1):
        trial, seconds = timed(lambda: study.ask(dists))
        times.append(seconds)
        study.tell(trial, float(objective([trial.params[k] for k in names])[0]))
    return times[0], times[1:]


RUNNERS = {"warmstart_bo": run_warmstart_bo, "botorch": run_botorch, "optuna": run_optuna}


def available_methods(requested: list[str], threads: int) -> list[str]:
    """The requested methods that can be imported, printing why any other is skipped."""
    out = []
    for method in requested:
        if method == "warmstart_bo":
            wsbo, error = load_warmstart_bo()
            if wsbo is None:
                print(error)
                continue
        elif method == "botorch":
            try:
                import botorch  # noqa: F401
                import torch
            except ImportError:
                print(MISSING_PEER.format("BoTorch"))
                continue
            torch.set_num_threads(threads)
        elif method == "optuna":
            try:
                import optuna  # noqa: F401
                import scipy  # noqa: F401
                import torch
            except ImportError:
                print(MISSING_PEER.format("Optuna (with torch and scipy)"))
                continue
            torch.set_num_threads(threads)
        out.append(method)
    return out


def format_table(rows: list[dict], methods: list[str]) -> str:
    header = ["n", "d"]
    for m in methods:
        header += [f"{m} first", f"{m} later", f"{m} p90"]
        if m != "warmstart_bo" and "warmstart_bo" in methods:
            header.append(f"{m}/wsbo")
    lines = []
    for row in rows:
        cells = [str(row["n"]), str(row["d"])]
        base = row["results"].get("warmstart_bo", {}).get("later_median_s")
        for m in methods:
            r = row["results"][m]
            cells += [f"{r['first_s']:.3f}", f"{r['later_median_s']:.3f}", f"{r['later_p90_s']:.3f}"]
            if m != "warmstart_bo" and "warmstart_bo" in methods:
                cells.append(f"{r['later_median_s'] / base:.1f}x" if base else "-")
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def main(argv=None) -> None:
    args = parse_args(argv)
    limit_threads(args.threads)
    import numpy as np

    info = machine_info(args.threads)
    print(f"machine: {info['platform']} | {info['cpu']} | {info['cores']} cores, {info['threads_used']} used")
    print(f"python {info['python']} | JAX_PLATFORMS={info['jax_platforms']}")
    print(" | ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"timings in seconds; 'later' = median of {args.repeats} (tell one, ask) steps, p90 their 90th percentile; ratio = peer later / warmstart_bo later")
    methods = available_methods(args.methods, args.threads)
    if not methods:
        sys.exit("nothing to run")

    rows = []
    for d in args.dims:
        for n in args.sizes:
            rng = np.random.default_rng([args.seed, n, d])
            x = rng.uniform(size=(n, d))
            y = objective(x)
            row = {"n": n, "d": d, "results": {}}
            for method in methods:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    first, later = RUNNERS[method](x, y, args.repeats, args.seed)
                kinds = sorted({w.category.__name__ for w in caught})
                if kinds:
                    print(f"  {method} n={n} d={d}: {len(caught)} warnings ({', '.join(kinds)})")
                row["results"][method] = {
                    "first_s": first, "later_s": later, "later_median_s": statistics.median(later),
                    "later_p90_s": float(np.percentile(later, 90)),
                }
                print(f"  done {method:12s} n={n:5d} d={d}: first {first:.3f}s, later {statistics.median(later):.3f}s", flush=True)
            rows.append(row)

    print()
    print(format_table(rows, methods))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "repeats": args.repeats, "rows": rows}, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
