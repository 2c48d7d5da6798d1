"""Why the shifted prior does not infer the move from the target's first trials: the search
for the move, or the evidence it maximizes?

For each related problem (``base/simS``) of a synthetic config of
``experiments/transfer_bench.py`` and each seed, the benchmark's
``transfer-shifted:unguarded`` job is rerun on the same parents and seed (its trials are the
stored run's) for ``--budget`` trials. At every step's final fit (the second pass, under
the residual GP's covariance) the fitted move is set against the true move of the parent
it chose (the target's optimum less that parent's task's), and both are scored with the
fit's own log posterior density (:func:`warmstart_bo.transfer.shifted.log_evidence`):

- the true move above the fitted one: the search missed a move its evidence prefers;
  below: the evidence prefers a wrong move;
- the log likelihood (the density less the shift prior) of the true move against the zero
  move: near zero, the target's trials do not tell the two apart and the prior decides.

The same moves are scored again under an evidence whose covariance also holds the moved
parent's own posterior covariance at the moved points (:func:`uncertain_log_evidence`):
a parent's mean is trusted only where its trials resolved it. A diagnostic of the
evidence; the job itself runs as shipped, or (``--outputs copula``) with the target's
outcomes and the parents' as normal quantiles of their ranks, which stretch the small
differences near an optimum that z-scores and Yeo-Johnson leave small beside the whole
range of outcomes (the parents' own cold runs are unchanged).

    python benchmarks/move_evidence.py experiments/configs/shifted-oracle-move.json --seeds 20-24 --out a.jsonl
    python benchmarks/move_evidence.py --summary a.jsonl b.jsonl
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

import transfer_bench as TB  # noqa: E402

from benchmarks import transfer_runs  # noqa: E402
from benchmarks.parent_knowledge import synthetic_config  # noqa: E402
from warmstart_bo import gp, runtime  # noqa: E402
from warmstart_bo.transfer import shifted  # noqa: E402

CHECKPOINTS = (3, 6, 10)


def uncertain_log_evidence(parent: gp.Posterior, shifts: jax.Array, covariance: gp.Posterior, x: jax.Array, y: jax.Array, mask: jax.Array, scale, moved) -> jax.Array:
    """:func:`shifted.log_evidence` of each shift (K, d) with the moved parent's posterior
    covariance at ``x - shift`` added to the target GP's training covariance (the
    covariance of ``covariance``'s rows, x's): ``log N(y; H c0, K + S_j + H B H^T)`` plus
    the shift prior, over x's real rows. Dense, one factorization per shift."""
    c0, b_inv = shifted._coef_prior(y.dtype)
    b = jnp.linalg.inv(b_inv)
    k = gp.train_covariance(covariance.params, covariance.data)
    both = mask[:, None] & mask[None, :]

    def one(shift):
        m, s = gp.predict_joint(parent, x - shift)
        h = jnp.stack([jnp.where(mask, m, 0.0), mask.astype(y.dtype)], axis=1)
        r = jnp.where(mask, y - h @ c0, 0.0)
        cov = k + jnp.where(both, s + h @ b @ h.T, 0.0)
        padded = 0.5 * jnp.sum(~mask) * gp.LOG_2PI  # each padded row adds log N(0; 0, 1)
        return gp.gaussian_log_density(cov, r) + padded + shifted.log_shift_prior(shift, scale, moved)

    return jax.vmap(one)(shifts)


_uncertain = runtime.Program(uncertain_log_evidence)


OUTPUTS = {"shipped": {}, "copula": {"output_transform": "copula", "parent_normalization": "copula"}}


def trace(pid: str, seed: int, config: dict, budget: int, outputs: str = "shipped") -> dict:
    """One (problem, seed): the unguarded shifted job's values (its optimizer's outcome
    transforms per ``OUTPUTS[outputs]``), and per final fit the moves' scores under both
    evidences."""
    problem = TB.make_problem(pid, seed, config)
    parents = TB.parent_histories(problem, pid, seed, config)
    moves = TB.true_moves(problem)
    fit_shift, fits = shifted.fit_shift, []

    def recording(posts, parent_best, target, continuous, scale, rng, covariance=None, sample=False):
        fit = fit_shift(posts, parent_best, target, continuous, scale, rng, covariance, sample)
        if covariance is None:
            return fit
        data, dtype = target.data, target.data.x.dtype
        j, move = fit.parent, moves[fit.parent] * np.asarray(continuous, bool)
        cands = jnp.asarray(np.stack([fit.shift, move, np.zeros_like(move)]), dtype)
        prior_args = (jnp.asarray(scale, dtype), jnp.asarray(float(np.sum(continuous)), dtype))
        scores = np.asarray(shifted._log_evidence(posts[j], cands, data.x, data.y, data.mask, covariance.kinv, *prior_args))
        prior = np.asarray(shifted._log_shift_prior(cands, *prior_args))
        uncertain = np.asarray(_uncertain(posts[j], cands, covariance, data.x, data.y, data.mask, *prior_args))
        fits.append({"n": int(np.sum(np.asarray(data.mask))), "parent": j, "shift": np.asarray(fit.shift).tolist(), "scale": scale,
                     "error": float(np.linalg.norm(fit.shift - move)),
                     "move": float(np.linalg.norm(move)), "density": scores.tolist(), "prior": prior.tolist(), "uncertain": uncertain.tolist()})
        return fit

    optimizer = functools.partial(transfer_runs.Optimizer, **OUTPUTS[outputs])
    with mock.patch.object(shifted, "fit_shift", recording), mock.patch.object(transfer_runs, "Optimizer", optimizer):
        run = transfer_runs.bo_run(problem.space, problem.target, budget, seed, parents, "TransferLearning", "shifted", guard=False)
    return {"problem": pid, "seed": seed, "outputs": outputs, "optimum": problem.optimum, "values": run["values"], "fits": fits}


def summary(units: list[dict], checkpoints=CHECKPOINTS) -> list[str]:
    """Per problem and number of target trials: medians over units of the fitted move's
    error relative to the true move's length, how often each evidence prefers the true move
    to the fitted one, by how many nats the fitted one wins, and the true move's log
    likelihood over the zero move's; then, over every fit, how often each evidence
    prefers the true move."""
    lines = ["problem | n | units | |fit - true| / |true| | evidence prefers true | fit - true (nats) | lik(true) - lik(zero) (nats)"
             " | with the parent's covariance: prefers true | fit - true (nats)"]
    for pid in sorted({u["problem"] for u in units}):
        for n in checkpoints:
            rows = [f for u in units if u["problem"] == pid for f in u["fits"] if f["n"] == n]
            if not rows:
                continue
            d, p, c = (np.array([f[k] for f in rows]) for k in ("density", "prior", "uncertain"))
            lik = d - p
            cells = [pid, str(n), str(len(rows)), f"{np.median([f['error'] / f['move'] for f in rows]):.2f}",
                     f"{np.mean(d[:, 1] > d[:, 0]):.2f}", f"{np.median(d[:, 0] - d[:, 1]):.2f}", f"{np.median(lik[:, 1] - lik[:, 2]):+.2f}",
                     f"{np.mean(c[:, 1] > c[:, 0]):.2f}", f"{np.median(c[:, 0] - c[:, 1]):.2f}"]
            lines.append(" | ".join(cells))
    every = [f for u in units for f in u["fits"]]
    lines.append(f"all {len(every)} fits: the evidence prefers the true move in {sum(f['density'][1] > f['density'][0] for f in every)},"
                 f" with the parent's covariance in {sum(f['uncertain'][1] > f['uncertain'][0] for f in every)}")
    return lines


def stored_match(units: list[dict], results: Path) -> tuple[int, int]:
    """How many units' values equal the stored ``transfer-shifted:unguarded`` run's first
    trials (of those the results file holds)."""
    from benchmarks import transfer_report as R

    stored = {(r["problem"], r["seed"]): r["values"] for r in R.load([str(results)])[1] if r["method"] == "transfer-shifted:unguarded"}
    pairs = [(u["values"], stored[(u["problem"], u["seed"])]) for u in units if (u["problem"], u["seed"]) in stored and u["outputs"] == "shipped"]
    return sum(a == b[: len(a)] for a, b in pairs), len(pairs)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", help="a synthetic config of experiments/transfer_bench.py")
    ap.add_argument("--seeds", default=None, help="first-last (inclusive); default the config's seeds")
    ap.add_argument("--budget", type=int, default=12, help="trials of each job")
    ap.add_argument("--outputs", choices=sorted(OUTPUTS), default="shipped", help="the target job's outcome transforms")
    ap.add_argument("--out", default=None, help="a JSON-lines file, one unit per line; units already there are skipped")
    ap.add_argument("--summary", nargs="+", default=None, help="print the table of these files instead")
    ap.add_argument("--results", default=None, help="with --summary: a results file holding transfer-shifted:unguarded runs to check against")
    args = ap.parse_args(argv)
    if args.summary:
        units = [json.loads(line) for f in args.summary for line in Path(f).read_text().splitlines() if line.strip()]
        print(f"$ python benchmarks/move_evidence.py {' '.join(argv if argv is not None else sys.argv[1:])}\n")
        print(f"outputs: {', '.join(sorted({u['outputs'] for u in units}))}; {len(units)} units")
        if args.results:
            same, total = stored_match(units, Path(args.results))
            print(f"units whose trials equal the stored transfer-shifted:unguarded run's: {same} of {total}")
        print("\n".join(summary(units)))
        return
    config, seeds = synthetic_config(args.config, args.seeds)
    out = Path(args.out) if args.out else None
    done = set()
    if out is not None and out.exists():
        held = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        other = {u["outputs"] for u in held} - {args.outputs}
        if other:
            sys.exit(f"{out} holds units run with --outputs {', '.join(sorted(other))}, not {args.outputs}")
        done = {(u["problem"], u["seed"]) for u in held}
    todo = [(pid, s) for pid in TB.problem_ids(config) if "/sim" in pid for s in seeds if (pid, s) not in done]
    for i, (pid, seed) in enumerate(todo, 1):
        unit = trace(pid, seed, config, args.budget, args.outputs)
        line = json.dumps(unit)
        if out is None:
            print(line)
        else:
            with out.open("a") as f:
                f.write(line + "\n")
        print(f"[{i}/{len(todo)}] {pid} seed {seed}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
