"""Tables and figures of the paper's two controls, from their stored JSON lines.

- the identical-data continuation (``experiments/continuation.py``): does a warm-started
  child of a 20-trial parent end where one uninterrupted 30-trial job ends?
- the image-classifier jobs with matched-budget cold controls
  (``experiments/image_classifier_warm_start.py``).

Pure functions of the loaded rows; ``paper/make_figures.py`` writes what they return.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon


def load(path: Path) -> tuple[dict, list[dict]]:
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def median_iqr(a, fmt: str = ".3g") -> str:
    q1, q2, q3 = np.percentile(np.asarray(a, dtype=float), [25, 50, 75])
    return f"{q2:{fmt}} [{q1:{fmt}}, {q3:{fmt}}]"


def paired_p(a, b) -> float:
    """Two-sided Wilcoxon signed-rank p of paired samples (1.0 when they never differ)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(wilcoxon(a, b).pvalue) if np.any(a != b) else 1.0


def continuation(rows: list[dict]) -> tuple[str, dict[str, str]]:
    """Per function: final regret of the uninterrupted job and of parent + child, paired by seed."""
    lines = [
        "| function | seeds | uninterrupted 30 trials | parent 20 + child 10 | child / uninterrupted (median of ratios) | child better / worse | Wilcoxon p | first 20 trials identical |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_fn: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_fn[r["function"]].append(r)
    worst = 0.0
    for fn, rs in by_fn.items():
        whole = np.array([min(r["uninterrupted_regret"]) for r in rs])
        child = np.array([min(r["parent_regret"] + r["child_regret"]) for r in rs])
        floor = 1e-12
        ratio = float(np.median((child + floor) / (whole + floor)))
        worst = max(worst, ratio)
        lines.append(
            f"| {fn} | {len(rs)} | {median_iqr(whole)} | {median_iqr(child)} | {ratio:.2f} | {int(np.sum(child < whole))} / {int(np.sum(child > whole))} "
            f"| {paired_p(child, whole):.3g} | {sum(r['prefix_identical'] for r in rs)} of {len(rs)} |"
        )
    n_seeds = sorted({len(rs) for rs in by_fn.values()})
    return "\n".join(lines), {"continuation_functions": ", ".join(by_fn), "continuation_seeds": "/".join(map(str, n_seeds)),
                               "continuation_worst_ratio": f"{worst:.2f}"}


def _best(values: list, k: int | None = None) -> float:
    v = np.array([np.nan if x is None else x for x in values[:k]], dtype=float)
    return float(np.nanmax(v)) if np.any(np.isfinite(v)) else np.nan


def image_classifier(rows: list[dict]) -> tuple[str, dict[str, str]]:
    """Best validation accuracy per job (median [IQR] over seeds) and the paired comparisons
    of each warm start with its matched-budget cold control."""
    jobs: dict[str, dict[int, list]] = defaultdict(dict)
    for r in rows:
        jobs[r["job"]][r["seed"]] = r["values"]
    seeds = sorted(jobs["cold"])
    trials = len(jobs["cold"][seeds[0]])
    lines = ["| job | task | trials | best after 1 | best after 3 | best at the end |", "|---|---|---|---|---|---|"]
    task = {r["job"]: r["task"] for r in rows}
    for job, by_seed in jobs.items():
        vals = [by_seed[s] for s in seeds]
        cells = [median_iqr([_best(v, k) for v in vals], ".4f") for k in (1, 3, None)]
        lines.append(f"| {job} | {task[job]} | {len(vals[0])} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)

    def pair(a: list[float], b: list[float], label: str) -> str:
        a, b = np.array(a), np.array(b)
        return f"| {label} | {median_iqr(a, '.4f')} | {median_iqr(b, '.4f')} | {int(np.sum(a > b))} / {int(np.sum(a == b))} / {int(np.sum(a < b))} | {paired_p(a, b):.3g} |"

    comp = ["| comparison (task) | warm start | cold control | wins / ties / losses | Wilcoxon p |", "|---|---|---|---|---|"]
    comp.append(pair([max(_best(jobs["cold"][s]), _best(jobs["identical"][s])) for s in seeds], [_best(jobs["cold-20"][s]) for s in seeds],
                     f"cold {trials} + identical {trials} vs cold-20 (A)"))
    comp.append(pair([_best(jobs["identical"][s], 1) for s in seeds], [_best(jobs["cold"][s], 1) for s in seeds],
                     "identical vs cold, first trial (A)"))
    comp.append(pair([_best(jobs["transfer"][s]) for s in seeds], [_best(jobs["cold-b"][s]) for s in seeds],
                     f"transfer vs cold-b, {trials} trials (B)"))
    comp.append(pair([_best(jobs["transfer"][s], 3) for s in seeds], [_best(jobs["cold-b"][s], 3) for s in seeds],
                     "transfer vs cold-b, first 3 trials (B)"))
    return table + "\n\n" + "\n".join(comp), {"image_seeds": str(len(seeds)), "image_trials": str(trials)}
