"""Time of one Bayesian step as data grows, written as JSON for the paper's figure.

Two series, in one run on one machine:

- ``cold``: one ``ask`` after n target observations (n = 10 ... 500), Hartmann-6 space;
  ``first`` includes compilation for the padding bucket, ``later`` is the median of the
  following (tell one, ask) steps.
- ``warm``: one ``ask`` of a TRANSFER_LEARNING job with 5 parents of 20 to 500 trials each
  (100 to 2,500 parent trials), for each prior, after a few target trials.

Peers (BoTorch, Optuna's GPSampler) are timed by ``benchmarks/compare_peers.py --json``.

    python benchmarks/step_times.py --out experiments/results/step_times.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import numpy as np

import warmstart_bo
from benchmarks.families import FAMILIES
from warmstart_bo import Optimizer
from warmstart_bo.space import SearchSpace
from warmstart_bo.transfer import PRIORS, ParentHistory


def timed_steps(opt: Optimizer, task, steps: int) -> tuple[float, float]:
    """Seconds of the first (ask, tell) step and the median of the ``steps`` after it."""
    start = time.perf_counter()
    (p,) = opt.ask()
    first = time.perf_counter() - start
    opt.tell([p], [task(p)])
    later = []
    for _ in range(steps):
        start = time.perf_counter()
        (p,) = opt.ask()
        later.append(time.perf_counter() - start)
        opt.tell([p], [task(p)])
    return first, statistics.median(later)


def cold_series(sizes, steps: int) -> list[dict]:
    fam = FAMILIES["hartmann6"]
    space, task = SearchSpace(fam.space), fam.nominal_task()
    rows = []
    for n in sizes:
        params = space.decode_many(np.random.default_rng(n).random((n, space.dim)))
        opt = Optimizer(fam.space, "Minimize", random_seed=0, n_initial_points=1)
        opt.tell(params, [task(p) for p in params])
        first, later = timed_steps(opt, task, steps)
        rows.append({"n": n, "first_s": first, "later_s": later})
        print(f"  cold n={n}: first {first:.2f}s later {later * 1e3:.0f}ms", file=sys.stderr, flush=True)
    return rows


def random_parents(family, rng: np.random.Generator, n_parents: int, trials: int) -> list[ParentHistory]:
    """``n_parents`` related tasks of ``family`` (similarity 0.8), each with ``trials`` random trials."""
    space = SearchSpace(family.space)
    parents = []
    for i in range(n_parents):
        task = family.task(rng, 0.8)
        params = space.decode_many(rng.random((trials, space.dim)))
        parents.append(ParentHistory(f"p{i}", params, [task(p) for p in params], family.space))
    return parents


def warm_series(per_parent, priors, steps: int, n_parents: int = 5) -> list[dict]:
    fam = FAMILIES["hartmann6"]
    rows = []
    for m in per_parent:
        rng = np.random.default_rng(m)
        parents = random_parents(fam, rng, n_parents, m)
        target = fam.task(rng, 0.8)
        for prior in priors:
            opt = Optimizer(fam.space, "Minimize", random_seed=0, parents=parents, warm_start_type="TransferLearning", transfer_prior=prior)
            first, later = timed_steps(opt, target, steps)
            rows.append({"parent_trials": n_parents * m, "prior": prior, "first_s": first, "later_s": later})
            print(f"  warm {n_parents}x{m} {prior}: first {first:.2f}s later {later * 1e3:.0f}ms", file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,50,100,250,500")
    ap.add_argument("--per-parent", default="20,100,200,500", help="trials per parent (5 parents)")
    ap.add_argument("--priors", default=",".join(PRIORS))
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--out", default="experiments/results/step_times.json")
    args = ap.parse_args(argv)
    result = {
        "versions": {"warmstart_bo": warmstart_bo.__version__, "jax": jax.__version__},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(), "device": str(jax.devices()[0].device_kind)},
        "cold": cold_series([int(v) for v in args.sizes.split(",")], args.steps),
        "warm": warm_series([int(v) for v in args.per_parent.split(",")], args.priors.split(","), args.steps),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
