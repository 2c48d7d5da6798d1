"""Probe (issue 13): best-first followed by Bayesian optimization in a trust region around
the incumbent, as TuRBO does (Eriksson et al., 2019), instead of over the whole space.

The pace reading of the transfer reports says where best-first loses its trials with
related parents: from the parents' level to cold start's 25-trial regret it takes a median
17 trials where cold start takes 7. After the opening and the rest of cold start's design,
its acquisition ranges over the whole box, and with few points a GP's uncertainty far
from them draws it away from the region the parents pointed at. Here each ask after the
design maximizes the same acquisition (same GP fit, same optimizer) over a box around the
best point the target has scored, with side ``L`` times the fitted lengthscales over their
geometric mean. ``L`` doubles after 3 improvements in a row and halves after
``max(4, d)`` asks in a row that do not improve; below ``2**-7`` the job goes back to
global asks.

- ``bf``: best-first as the library runs it (opening, then cold start's design, then
  global asks);
- ``tr:L0``: best-first's opening and design, then the trust region from side ``L0``;
- ``cold-tr:L0``: cold start's design, then the trust region: the same local search
  without the parents, the control that says whether a gain is the parents' or the
  trust region's;
- ``tro:L0``: the opening, then the trust region at once (no design);
- ``trh:L0``: the opening, then the trust region's asks taking turns with the rest of
  cold start's design, a design point first;
- ``trg<k>:L0``: gated: the opening and k of cold start's design points, then the trust
  region at once where the opening's best beats all k, else best-first's run
  (``trg2:0.4`` is what the library's ``transfer_prior="best-first-local"`` became);
- a suffix ``:f<n>`` sets the failures in a row that halve the side (default max(4, d)).

Cold start runs beside them in the same process, on the problems of
``experiments/configs/transfer-synthetic-hyperprior.json`` (Hartmann-3 and -6: similarity
0.75 and 0.9, and the three adversaries) or any transfer config with ``--config``.

    python benchmarks/trust_region_probe.py --seeds 0-9 --out experiments/results/trust-region-probe/selection.jsonl
    python benchmarks/trust_region_probe.py --summary experiments/results/trust-region-probe/selection.jsonl

The probe restricts the library's acquisition search by patching its candidate set and
projection (``trust_region``), and takes the lengthscales of the previous ask's fit
(none at the first local ask: equal ones); the library's own implementation
(``warmstart_bo.trust_region``, ``optimize.propose(bounds=...)``) takes the current fit's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy.stats import qmc

from benchmarks.local_design_probe import design, run_units, summary
from benchmarks.transfer_metrics import (
    curves,
    paired_trials,
    wilcoxon_vs_cold,
    win_tie_loss,
)
from warmstart_bo import Optimizer, optimize

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments/configs/transfer-synthetic-hyperprior.json"
PROBLEMS = [f"{b}/{t}" for b in ("hartmann3", "hartmann6") for t in ("sim0.75", "sim0.9", "far", "flipped", "unrelated")]
VARIANTS = ("cold", "bf", "tr:0.8", "tr:0.4", "cold-tr:0.8", "tro:0.4", "trh:0.4", "tro:0.2", "trg2:0.4")
SUCCESS_TOL, L_MAX, L_MIN = 3, 1.6, 2.0**-7


@contextlib.contextmanager
def trust_region(opt: Optimizer, lo: np.ndarray, hi: np.ndarray):
    """While open, ``opt``'s acquisition search stays in the box [lo, hi]: its quasi-random
    candidates are drawn there, local ones clipped to it, and every point it scores is
    projected into it before the space's own projection."""
    candidate_set, snap = optimize.candidate_set, opt.space.snap

    def boxed_candidates(rng, dim, num_sobol, incumbents, num_local, local_scale=0.05, bounds=None):
        sobol = lo + (hi - lo) * qmc.Sobol(dim, scramble=True, seed=rng).random(num_sobol)
        centers = incumbents[rng.integers(len(incumbents), size=num_local)]
        scales = local_scale * np.exp(rng.uniform(np.log(0.02), np.log(2.0), size=(num_local, 1)))
        return np.concatenate([sobol, np.clip(centers + scales * rng.standard_normal((num_local, dim)), lo, hi)])

    optimize.candidate_set = boxed_candidates
    opt.space.snap = lambda u: snap(np.clip(u, lo, hi))
    try:
        yield
    finally:
        optimize.candidate_set = candidate_set
        del opt.space.snap


class TrustRegion:
    """TuRBO's side-length rule for one region, restarted never: once it collapses, the
    job's asks are global again."""

    def __init__(self, side: float, dim: int, failure_tol: int | None = None):
        self.side, self.dim = side, dim
        self.successes = self.failures = 0
        self.failure_tol = max(4, dim) if failure_tol is None else failure_tol

    @property
    def alive(self) -> bool:
        return self.side >= L_MIN

    def box(self, centre: np.ndarray, lengthscales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = lengthscales / np.exp(np.mean(np.log(lengthscales)))
        half = 0.5 * self.side * weights
        return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)

    def update(self, improved: bool) -> None:
        self.successes, self.failures = (self.successes + 1, 0) if improved else (0, self.failures + 1)
        if self.successes >= SUCCESS_TOL:
            self.side, self.successes = min(2 * self.side, L_MAX), 0
        elif self.failures >= self.failure_tol:
            self.side, self.failures = self.side / 2, 0


def run(problem, opening: list[dict], seed: int, variant: str, budget: int) -> list[float]:
    opt = Optimizer(problem.space, "Minimize", random_seed=seed)
    values: list[float] = []
    mode, _, side = variant.partition(":")
    side, _, failures = side.partition(":f")
    if mode in ("bf", "tr"):
        opening_values = [float(problem.target(p)) for p in opening]
        for p in design(opt, opening, opening_values, "bf:0"):
            values.append(float(problem.target(p)))
            opt.tell([p], [values[-1]])
    hedge: list[dict] = []
    if mode.startswith("trg"):
        # Gated: the opening, then k of cold start's design points; the trust region at once
        # when the opening's best beats all of them, else best-first as the library runs it.
        k = int(mode[3:])
        points = design(opt, opening, [float(problem.target(p)) for p in opening], "bf:0")
        for p in points[: len(opening) + k]:
            values.append(float(problem.target(p)))
            opt.tell([p], [values[-1]])
        if min(values[: len(opening)]) < min(values[len(opening) :]):
            opt.n_initial_points = len(values)
        else:
            for p in points[len(opening) + k :]:
                values.append(float(problem.target(p)))
                opt.tell([p], [values[-1]])
            side = ""
    if mode in ("tro", "trh"):
        # No design first: the opening, then the trust region at once ("tro"), or taking
        # turns with the rest of cold start's design, a global point first ("trh").
        for p in opening:
            values.append(float(problem.target(p)))
            opt.tell([p], [values[-1]])
        if mode == "trh":
            hedge = opt.space.decode_many(opt._initial_design[len(opening) : opt.n_initial_points])
        opt.n_initial_points = len(opening)
    region = TrustRegion(float(side), opt.space.dim, int(failures) if failures else None) if side else None
    while len(values) < budget:
        local = False
        if hedge and (len(values) - len(opening)) % 2 == 0:
            p = hedge.pop(0)
        elif region is not None and region.alive and len(values) >= opt.n_initial_points:
            local = True
            fitted = opt.fitted_params()  # the last ask's fit; none before the first
            lengthscales = np.ones(opt.space.dim) if fitted is None else np.exp(np.asarray(fitted.log_lengthscales))
            x, _ = opt.best()
            lo, hi = region.box(opt.space.encode_many([x])[0], lengthscales)
            with trust_region(opt, lo, hi):
                (p,) = opt.ask()
        else:
            (p,) = opt.ask()
        values.append(float(problem.target(p)))
        if local:
            region.update(values[-1] < min(values[:-1]) - 1e-3 * abs(min(values[:-1])))
        opt.tell([p], [values[-1]])
    return values


def band(pid: str) -> str:
    tail = pid.split("/")[1]
    if not tail.startswith("sim"):
        return "adversarial"
    similarity = float(tail[3:])
    return "related" if similarity >= 0.75 else "similarity 0" if similarity == 0 else "similarity 0.25-0.5"


def bands(paths: list[str], variants: list[str], base: str = "bf") -> None:
    """Per band and variant at trials 25 and 50: the median paired saving against cold
    start [IQR] and the units at 4x or more; mean log10 regret against cold start's and
    against ``base``'s, with wins / ties / losses and the paired Wilcoxon p against
    ``base``; and the problems whose worst seed exceeds 1.25x cold start's worst."""
    table = curves([json.loads(line) for p in paths for line in Path(p).read_text().splitlines()])
    print(f"\nby band, against cold start and against {base} (Wilcoxon on log10 regret, paired by seed)")
    print("| variant | band | t | units | saving median [IQR] | >= 4x | log10 - cold | log10 - " + base + " | W/T/L vs " + base + " | p | problems over 1.25x |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for v in variants:
        for name in ("related", "similarity 0.25-0.5", "similarity 0", "adversarial"):
            pids = [pid for pid in sorted(table) if band(pid) == name and v in table[pid] and base in table[pid]]
            if not pids:
                continue
            for t in (25, 50):
                savings, vs_cold, warm, other, over = [], [], [], [], 0
                for pid in pids:
                    by = table[pid]
                    seeds = sorted(set(by[v]) & set(by["cold"]) & set(by[base]))
                    savings += [np.divide(*paired_trials(by[v][s], by["cold"][s], t)) for s in seeds]
                    vs_cold += [np.log10(by[v][s][t - 1] / by["cold"][s][t - 1]) for s in seeds]
                    warm += [by[v][s][t - 1] for s in seeds]
                    other += [by[base][s][t - 1] for s in seeds]
                    over += max(by[v][s][t - 1] for s in seeds) > 1.25 * max(by["cold"][s][t - 1] for s in seeds)
                q = np.percentile(savings, [25, 50, 75])
                diff = np.log10(warm) - np.log10(other)
                w, ti, lo = win_tie_loss(warm, other)
                print(f"| {v} | {name} | {t} | {len(savings)} | {q[1]:.2f} [{q[0]:.2f}, {q[2]:.2f}] | {np.mean(np.asarray(savings) >= 4):.0%} | "
                      f"{np.mean(vs_cold):+.2f} | {diff.mean():+.2f} | {w}/{ti}/{lo} | {wilcoxon_vs_cold(warm, other):.2g} | {over} of {len(pids)} |")


def seeds_arg(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-9", help="seeds: 0-9 or 1,3,5")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--out", default="experiments/results/trust-region-probe/selection.jsonl")
    ap.add_argument("--summary", nargs="*", help="print the table of these results files and stop")
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary, variants=args.variants.split(",")[1:])
        bands(args.summary, args.variants.split(",")[1:])
        return
    config = json.loads(Path(args.config).read_text())
    run_units(Path(args.out), seeds_arg(args.seeds), args.problems.split(","), args.variants.split(","), config, job=run)


if __name__ == "__main__":
    main()
