"""Can the parents' curvature find the target's optimum in the first trials? An offline probe.

The shifted prior moves a parent's whole landscape onto the target, and the target's first
trials cannot tell the true move from wrong ones (``move_evidence.py``): the tasks are also
rotated and rescaled, so the far parts of a moved parent fit the target badly. This probe
keeps only what lies near the optimum: a quadratic bowl whose shape is the parents'.

Per (problem, seed) of a synthetic config, with the parents the benchmark builds:

1. the opening: each parent's best point in turn (best-first's first trials);
2. then ``--steps`` proposals, each the centre of the bowl
   ``y = c + s (x - o)' H (x - o)`` fitted to all the target's points so far by least
   squares over the centre ``o``, the floor ``c`` and the scale ``s > 0``, its centre held
   near the best point so far (a ridge of width the spread of the parents' best points,
   so that a bowl fitted to fewer points than its parameters stays local). ``H`` is the
   mean of the parents' curvatures, each the Hessian of the parent's model's mean at its
   peak (the GPs the shifted prior fits, :func:`parent_knowledge.parent_models`; with
   ``--curvature true`` the parent tasks' own Hessians at their optima, a ceiling), made
   positive definite and scaled to unit trace.

No model of the target and no fallback: the proposals are the bowl's alone, so this
measures what the curvature gives in the first trials, not a method. :func:`job` goes on
from there with a design of best-first's size and cold start's GP: the benchmark's method
``best-first:bowl<N>`` (``experiments/configs/curvature-bowl-synthetic.json``), and behind
a check against one design point (:func:`passes`) ``best-first:bowl<N>c`` / ``g``. The bowl
lives in the search space's encoded coordinates (the unit cube, log scales warped,
integers rounded when a centre is decoded), so the jobs run on model tuning too; the
offline probe reads synthetic configs only. ``--summary`` pairs
the probe's trials seed by seed with the stored runs of cold start and best-first (same
problems, seeds and parents): the units whose probe reaches cold start's regret at 25
trials by a quarter of the trials cold start needed to (a 4x saving; the issue's goal is
a median of 4x, so half the related units), and the regret after 10 trials against
best-first's, whose trials after the opening are cold start's design (to trial 8 at d = 3,
10 at d = 6) and then its GP.

    python benchmarks/curvature_probe.py experiments/configs/shifted-heldout-synthetic.json --seeds 20-39 --problems sim0.75,sim0.9,flipped,far,unrelated --out experiments/results/curvature-probe/heldout.jsonl
    python benchmarks/curvature_probe.py --summary experiments/results/curvature-probe/heldout.jsonl --results experiments/results/shifted-probe/heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

import transfer_bench as TB  # noqa: E402

from benchmarks import transfer_metrics as M  # noqa: E402
from benchmarks import transfer_report as R  # noqa: E402
from benchmarks.parent_knowledge import parent_models, synthetic_config  # noqa: E402
from warmstart_bo import Optimizer  # noqa: E402
from warmstart_bo.optimizer import default_initial_points  # noqa: E402
from warmstart_bo.space import SearchSpace  # noqa: E402

STEPS = 7
RIDGE = 0.3  # the centre's prior weight, in units of the target's spread of outcomes


def hessian(f, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Central finite-difference Hessian of ``f`` at ``x``."""
    d = len(x)
    e = np.eye(d) * h
    out = np.array([[(f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j])) / (4 * h * h) for j in range(d)] for i in range(d)])
    return (out + out.T) / 2


def bowl_shape(h: np.ndarray) -> np.ndarray:
    """A curvature made positive definite (eigenvalues at least 1e-3 of the largest) and
    scaled to unit trace: the shape of a bowl, not its depth. One with no positive
    eigenvalue (not a minimum at all) has no bowl: ValueError."""
    w, v = np.linalg.eigh(h)
    if w.max() <= 0:
        raise ValueError(f"a curvature without a positive eigenvalue has no bowl: {w}")
    pd = (v * np.maximum(w, 1e-3 * w.max())) @ v.T
    return pd / np.trace(pd)


def bowl_centre(x: np.ndarray, y: np.ndarray, shape: np.ndarray, width: np.ndarray) -> np.ndarray:
    """The centre of ``c + s (x - o)' shape (x - o)`` fitted to minimized outcomes ``y`` at
    ``x`` by least squares, ``o`` held near the best point by a ridge of ``width`` per
    coordinate; clipped into the unit cube."""
    d = x.shape[1]
    best = x[np.argmin(y)]
    scale = RIDGE * np.std(y) + 1e-12

    def residuals(theta):
        o, c, log_s = theta[:d], theta[d], theta[d + 1]
        q = np.einsum("ni,ij,nj->n", x - o, shape, x - o)
        return np.concatenate([c + np.exp(log_s) * q - y, scale * (o - best) / width])

    start = np.concatenate([best, [y.min()], [np.log(max(np.ptp(y), 1e-6) / 0.05)]])
    return np.clip(least_squares(residuals, start).x[:d], 0.0, 1.0)


def bowl(problem, histories: list, seed: int, curvature: str = "model") -> tuple[np.ndarray, np.ndarray]:
    """The bowl's shape (the parents' mean curvature, :func:`bowl_shape` of each) and its
    centre's ridge widths (the spread of the parents' best points, per coordinate), in the
    search space's encoded coordinates (the unit cube)."""
    space = SearchSpace(problem.space)
    if curvature == "true":  # synthetic tasks, whose encoding is the identity
        shapes = [bowl_shape(hessian(lambda z, t=t: float(t(space.decode(z))), np.asarray(t.argmin, float))) for t in problem.parents]
    else:
        shapes = [bowl_shape(hessian(lambda z, f=f: float(f(z)[0]), peak)) for peak, f in parent_models(problem, histories, seed)]
    bests = space.encode_many([h.params[int(np.argmin(h.values))] for h in histories])
    return np.mean(shapes, axis=0), np.std(bests, axis=0, ddof=1) + 1e-3


CHECKS = ("median", "gap")


def passes(opening: np.ndarray, point: float, check: str) -> bool:
    """Do the opening's (minimized) outcomes beat one design point's outcome? ``median``:
    their median is lower; ``gap``: lower by more than their own spread (max - min), so a
    point that happened to land low beside parents' points at the target's level fails.
    Ties and non-finite outcomes fail (no evidence for the bowl)."""
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; expected one of {CHECKS}")
    margin = np.ptp(opening) if check == "gap" else 0.0
    return bool(point - np.median(opening) > margin)


def job(problem, histories: list, seed: int, budget: int, steps: int, top_k: int, curvature: str = "model", check: str | None = None) -> dict:
    """Best-first with ``steps`` bowl proposals after its opening: the parents' best points
    (``top_k``), then each bowl's centre, then cold start's design and its GP, ``budget``
    trials in all. The design has as many points as best-first's, taken further along the
    same scrambled Sobol sequence (the optimizer's design grows by the bowl's steps, which
    take the places of its first points after the opening). A bowl centre that repeats a
    point is nudged off it.

    With a ``check`` (:func:`passes`), best-first's first design point (cold start's point
    ``top_k`` + 1) comes right after the opening, and the bowl runs only if the opening
    beats it: by its median (parents that teach nothing pass half the time or more,
    parents whose best points are the target's poor ones rarely) or by more than its
    spread (``gap``). The bowl is fitted to the opening and its own points, not to that
    one. Without the bowl the job is best-first's, trial for trial. ``bowl_steps`` says
    how many ran."""
    space = SearchSpace(problem.space)
    if check is not None and check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; expected one of {CHECKS} or None")
    opening = TB.top_points(histories, top_k)[:budget]
    points = list(opening)
    values = [float(problem.target(p)) for p in points]
    bowl_steps = steps
    if check and len(points) < budget:
        design = Optimizer(problem.space, "Minimize", random_seed=seed)
        design.tell(points, values)
        points += design.ask()
        values.append(float(problem.target(points[-1])))
        bowl_steps = steps if passes(np.array(values[: len(opening)]), values[-1], check) else 0
    bowl_steps = min(bowl_steps, budget - len(points))
    x = list(space.encode_many(opening))
    y = values[: len(opening)]
    if bowl_steps:
        shape, width = bowl(problem, histories, seed, curvature)
        rng = np.random.default_rng([seed, 17])
    for _ in range(bowl_steps):
        o = bowl_centre(np.array(x), np.array(y), shape, width)
        if any(np.allclose(space.snap(o), xi, atol=1e-6) for xi in x):  # a repeat teaches nothing
            o = np.clip(o + rng.normal(0.0, 0.01, space.dim), 0.0, 1.0)
        points.append(space.decode(o))
        values.append(float(problem.target(points[-1])))
        x.append(space.encode(points[-1]))
        y.append(values[-1])
    opt = Optimizer(problem.space, "Minimize", random_seed=seed, n_initial_points=default_initial_points(space.dim) + bowl_steps)
    for p, v in zip(points, values):
        opt.tell([p], [v])
    while len(values) < budget:
        (p,) = opt.ask()
        values.append(float(problem.target(p)))
        opt.tell([p], [values[-1]])
    return {"values": values, "bowl_steps": bowl_steps}


def unit(pid: str, seed: int, config: dict, steps: int = STEPS, curvature: str = "model") -> dict:
    """The opening and ``steps`` bowl proposals on one (problem, seed) (:func:`job`, cut
    where the optimizer would take over): the target's values."""
    problem = TB.make_problem(pid, seed, config)
    histories = TB.parent_histories(problem, pid, seed, config)
    r = job(problem, histories, seed, config["top_k"] + steps, steps, config["top_k"], curvature)
    return {"problem": pid, "seed": seed, "method": f"curvature-{curvature}", "optimum": problem.optimum, "opening": config["top_k"], "values": r["values"]}


def summary(probe_rows: list[dict], runs: list[dict], t: int = 25, at: int = 10) -> list[str]:
    """Per problem: units at a 4x saving or more at ``t`` trials (the probe's and
    best-first's, against cold start's ``runs`` on the same units), and the regret after
    ``at`` trials (medians; the probe's against best-first's, wins / losses)."""
    runs = [r for r in runs if r["method"] in ("cold", "best-first")]
    units = {(r["problem"], r["seed"]) for r in runs if r["method"] == "cold"} & {(r["problem"], r["seed"]) for r in runs if r["method"] == "best-first"}
    probe_rows = [r for r in probe_rows if (r["problem"], r["seed"]) in units]
    if any(len(r["values"]) < at for r in probe_rows):
        raise ValueError(f"a probe unit has fewer than {at} trials: rerun it with more steps, or read the regret earlier")
    table = M.curves(runs + probe_rows)
    out = [f"problem | units | >= 4x at {t}: probe | best-first | probe reaches cold@{t} within its trials | regret@{at}: probe | best-first | probe better / worse"]
    counts = np.zeros(3, int)
    for pid in dict.fromkeys(r["problem"] for r in probe_rows):
        by = table[pid]
        method = next(m for m in by if m.startswith("curvature-"))
        four, reached, regrets = np.zeros(2, int), 0, []
        for seed, probe in by[method].items():
            cold, bf = by["cold"][seed], by["best-first"][seed]
            need = M.trials_to_reach(cold[:t], cold[t - 1])
            four += [M.trials_to_reach(probe, cold[t - 1]) * 4 <= need, M.trials_to_reach(bf, cold[t - 1]) * 4 <= need]
            reached += bool(np.isfinite(M.trials_to_reach(probe, cold[t - 1])))
            regrets.append((probe[at - 1], bf[at - 1]))
        at_t = np.array(regrets)
        counts += [len(at_t), *four]
        out.append(f"{pid} | {len(at_t)} | {four[0]} | {four[1]} | {reached} | {np.median(at_t[:, 0]):.3g} | {np.median(at_t[:, 1]):.3g} | "
                   f"{int(np.sum(at_t[:, 0] < at_t[:, 1]))} / {int(np.sum(at_t[:, 0] > at_t[:, 1]))}")
    out.append(f"all | {counts[0]} | {counts[1]} | {counts[2]}")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", help="a synthetic config of experiments/transfer_bench.py")
    ap.add_argument("--seeds", default=None, help="first-last (inclusive); default the config's seeds")
    ap.add_argument("--problems", default="sim0.75,sim0.9", help="comma-separated problem suffixes (sim0.9, far, ...), or 'all'")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--curvature", choices=("model", "true"), default="model")
    ap.add_argument("--out", help="JSON lines, appended; units already there are skipped")
    ap.add_argument("--summary", help="a probe's JSON lines to pair with --results")
    ap.add_argument("--results", nargs="+", default=[], help="stored runs of cold start and best-first on the same units")
    args = ap.parse_args(argv)
    if not args.summary and not (args.config and args.out):
        ap.error("give a config and --out to run the probe, or --summary and --results to read one")
    if args.summary:
        rows = [json.loads(line) for line in Path(args.summary).read_text().splitlines()]
        print(f"$ python benchmarks/curvature_probe.py {' '.join(argv if argv is not None else sys.argv[1:])}")
        print("\n".join(summary(rows, R.load(args.results)[1])))
        return
    config, seeds = synthetic_config(args.config, args.seeds)
    pids = [p for p in TB.problem_ids(config) if args.problems == "all" or p.split("/")[1] in args.problems.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["problem"], r["seed"]) for r in map(json.loads, out.read_text().splitlines())} if out.exists() else set()
    for pid in pids:
        for seed in seeds:
            if (pid, seed) not in done:
                with out.open("a") as f:
                    f.write(json.dumps(unit(pid, seed, config, args.steps, args.curvature)) + "\n")
                print(f"{pid} seed {seed}", flush=True)


if __name__ == "__main__":
    main()
