"""One guarded hyperprior run and cold start on the same seed, trial by trial: each point,
its value, the regret so far and the target GP's fitted lengthscales, signal variance and
constant mean; then, at ``--probe`` trials, the posterior at the next proposal, at the
target's optimum and at the best of 20,000 uniform points (mean and sd in the warped
outcome scale, log EI). The setting of the slow guard tests: moved Hartmann-3 at
similarity 0.75 with three 20-trial adversarial parents.

    python benchmarks/hyperprior_trace.py --seed 1 --adversary far --probe 19
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.transfer_runs import cold_parents
from benchmarks.transfer_suite import synthetic
from warmstart_bo import Optimizer, WarmStartTypes, acquisition
from warmstart_bo.optimizer import transform_outputs


def encoded(params: dict) -> np.ndarray:
    return np.array([params[k] for k in sorted(params)])


def trace(opt: Optimizer, problem, label: str, trials: int, probe: int | None) -> None:
    best = np.inf
    for i in range(trials):
        (p,) = opt.ask()
        if probe is not None and i == probe:
            probe_posterior(opt, problem, p)
        v = float(problem.target(p))
        opt.tell([p], [v])
        best = min(best, v)
        state = opt._gp_states.get("target")
        fit = ""
        if state is not None:
            params = state.posterior.params
            fit = (f" | lengthscales {np.round(np.exp(np.asarray(params.log_lengthscales)), 2).tolist()} signal {float(np.exp(params.log_signal_variance)):.3f}"
                   f" mean {float(params.mean):+.2f}")
        print(f"{label} {i + 1:2d} | {np.round(encoded(p), 2).tolist()} | value {v:+.3f} | regret {best - problem.optimum:.3f}{fit}", flush=True)


def probe_posterior(opt: Optimizer, problem, p: dict) -> None:
    """The posterior behind the proposal ``p`` just asked for (before it is told)."""
    with jax.enable_x64(True):
        post = opt._gp_states["target"].posterior
        warped = transform_outputs(opt._sign * np.array(opt._y), opt.output_transform)
        rng = np.random.default_rng(0)
        x = np.concatenate([encoded(p)[None], np.asarray(problem.target.argmin)[None], rng.random((20000, len(p)))])
        mean, var = post.predict(jnp.asarray(x))
        log_ei = np.asarray(acquisition.log_expected_improvement(mean, var, float(warped.max())))
    mean, sd = np.asarray(mean), np.sqrt(np.asarray(var))
    j = 2 + int(np.argmax(log_ei[2:]))
    print(f"probe after {len(opt._y)} trials: warped outcomes {warped.min():+.2f} to {warped.max():+.2f}, fitted constant mean {float(post.params.mean):+.2f}")
    for name, k in (("next proposal", 0), ("target's optimum", 1), ("best of 20,000 uniform", j)):
        print(f"  {name} {np.round(x[k], 2).tolist()}: mean {mean[k]:+.3f} sd {sd[k]:.4f} log EI {log_ei[k]:.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--adversary", default="far", choices=("flipped", "far", "unrelated"))
    ap.add_argument("--trials", type=int, default=25)
    ap.add_argument("--probe", type=int, default=None, help="probe the posterior behind the proposal asked after this many trials")
    args = ap.parse_args(argv)
    problem = synthetic("hartmann3", args.seed, 0.75, 3, adversary=args.adversary)
    parents = cold_parents(problem, 20, args.seed)
    print(f"moved Hartmann-3, {args.adversary} parents, seed {args.seed}: optimum {problem.optimum:.3f} at {np.round(problem.target.argmin, 2).tolist()}")
    warm = Optimizer(problem.space, "Minimize", random_seed=args.seed, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    trace(warm, problem, "hyperprior", args.trials, args.probe)
    print(f"hyperprior check: {'confirmed' if warm.last_transfer.get('confirmed') else 'refuted'}")
    trace(Optimizer(problem.space, "Minimize", random_seed=args.seed), problem, "cold", args.trials, None)


if __name__ == "__main__":
    main()
