"""Probe (issue 13, tried and not kept): best-first with the rest of cold start's design
placed around the parents' best point instead of over the whole space.

Best-first evaluates the parents' three best points and then the rest of cold start's
quasi-random design (5 more points at d = 3, 7 at d = 6) before its first GP step. With
related parents those design points are far from the good region. The variants here keep
the design's Sobol points but map some of them into a box of half-width ``w`` (unit cube)
around the opening point the target scored best:

- ``bf:0``: best-first as the library runs it (every design point global);
- ``all:W``: every design point after the opening local;
- ``half:W``: local and global points alternating, local first.

Then the job is cold start's. Cold start and best-first run beside the variants on the
problems and seeds of ``experiments/configs/transfer-synthetic-hyperprior.json``
(Hartmann-3 and -6: similarity 0.75 and 0.9, and the three adversaries).

    python benchmarks/local_design_probe.py --seeds 0,2,4,6,8 --out experiments/results/local-design-probe/runs.jsonl
    python benchmarks/local_design_probe.py --summary experiments/results/local-design-probe/runs.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks.transfer_metrics import curves, paired_trials
from experiments import transfer_bench as TB
from warmstart_bo import Optimizer

CONFIG = Path(__file__).resolve().parents[1] / "experiments/configs/transfer-synthetic-hyperprior.json"
PROBLEMS = [f"{b}/{t}" for b in ("hartmann3", "hartmann6") for t in ("sim0.75", "sim0.9", "far", "flipped", "unrelated")]
VARIANTS = ("cold", "bf:0", "all:0.1", "half:0.1")


def design(opt: Optimizer, opening: list[dict], opening_values: list[float], variant: str) -> list[dict]:
    """The points told before the first GP step: the opening, then cold start's design
    points that follow it, some mapped into the box around the best opening point."""
    if variant == "cold":
        return []
    mode, width = variant.split(":")
    centre = opt.space.encode_many(opening)[int(np.argmin(opening_values))]
    sobol = opt._initial_design  # cold start's design, encoded, in the order it is taken
    points = [dict(p) for p in opening]
    for i in range(len(opening), opt.n_initial_points):
        local = mode == "all" or (mode == "half" and (i - len(opening)) % 2 == 0)
        x = np.clip(centre + float(width) * (2 * sobol[i] - 1), 0.0, 1.0) if local else sobol[i]
        points.append(opt.space.decode_many(x[None])[0])
    return points


def run(problem, opening: list[dict], seed: int, variant: str, budget: int) -> list[float]:
    opt = Optimizer(problem.space, "Minimize", random_seed=seed)
    values: list[float] = []
    opening_values = [float(problem.target(p)) for p in opening]
    for p in design(opt, opening, opening_values, variant):
        values.append(float(problem.target(p)))
        opt.tell([p], [values[-1]])
    while len(values) < budget:
        (p,) = opt.ask()
        values.append(float(problem.target(p)))
        opt.tell([p], [values[-1]])
    return values


def unit(pid: str, seed: int, variants, config: dict, job=None) -> list[dict]:
    """Every variant on one problem and seed; ``job(problem, opening, seed, variant,
    budget)`` runs one (this probe's :func:`run` by default)."""
    job = job or run
    problem = TB.make_problem(pid, seed, config)
    opening = TB.top_points(TB.parent_histories(problem, pid, seed, config), config["top_k"])
    rows = []
    for v in variants:
        start = time.perf_counter()
        values = job(problem, opening, seed, v, config["budget"])
        rows.append({"problem": pid, "seed": seed, "method": v, "optimum": problem.optimum, "values": values, "seconds": time.perf_counter() - start})
    return rows


def summary(paths: list[str], t: int = 25, variants=VARIANTS[1:]) -> None:
    """Per problem and variant: median paired saving against cold start, mean log10 regret
    difference and the worst seed's regret over cold start's worst, at trial t."""
    table = curves([json.loads(line) for p in paths for line in Path(p).read_text().splitlines()])
    variants = [v for v in variants if any(v in m for m in table.values())]
    print(f"trial {t}: median saving / mean log10 regret - cold / worst seed over cold's worst")
    print("| problem | seeds | " + " | ".join(variants) + " |")
    print("|---|---|" + "---|" * len(variants))
    pooled = {(v, band): [] for v in variants for band in ("related", "adversarial")}
    for pid in sorted(table):
        by = table[pid]
        seeds = sorted(set.intersection(*(set(by[m]) for m in ("cold", *variants))))
        cells = []
        for v in variants:
            pairs = [(np.divide(*paired_trials(by[v][s], by["cold"][s], t)), np.log10(by[v][s][t - 1] / by["cold"][s][t - 1])) for s in seeds]
            worst = max(by[v][s][t - 1] for s in seeds) / max(by["cold"][s][t - 1] for s in seeds)
            saving, diff = np.median([p[0] for p in pairs]), np.mean([p[1] for p in pairs])
            cells.append(f"{saving:.2f} / {diff:+.2f} / {worst:.2f}")
            if "/sim" not in pid or float(pid.split("/sim")[1]) >= 0.75:  # other similarities: not pooled
                pooled[(v, "related" if "/sim" in pid else "adversarial")] += pairs
        print(f"| {pid} | {len(seeds)} | " + " | ".join(cells) + " |")
    for (v, band), pairs in pooled.items():
        if pairs:
            a = np.asarray(pairs)
            print(f"{v} {band}: median saving {np.median(a[:, 0]):.2f}, mean log10 regret - cold {a[:, 1].mean():+.2f} ({len(a)} pairs)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default=",".join(map(str, range(10))), help="comma-separated seeds")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default="experiments/results/local-design-probe/runs.jsonl")
    ap.add_argument("--summary", nargs="*", help="print the table of these results files and stop")
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary)
        return
    run_units(Path(args.out), [int(s) for s in args.seeds.split(",")], PROBLEMS, args.variants.split(","), json.loads(CONFIG.read_text()))


def run_units(out: Path, seeds, problems, variants, config: dict, job=None) -> None:
    """Every (problem, seed) unit not yet in ``out``, appended there one unit at a time
    (so a run resumes)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["problem"], r["seed"]) for r in map(json.loads, out.read_text().splitlines())} if out.exists() else set()
    for seed in seeds:
        for pid in problems:
            if (pid, seed) not in done:
                rows = unit(pid, seed, variants, config, job)
                with out.open("a") as f:
                    f.write("".join(json.dumps(r) + "\n" for r in rows))
                print(pid, seed, flush=True)


if __name__ == "__main__":
    main()
