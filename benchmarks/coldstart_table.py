"""Tables of the cold-start suite (``experiments/coldstart.py``'s JSON lines).

Regret is that of the incumbent, the point with the best value the method saw (noisy
values on noisy functions), measured by its noise-free value minus the optimum. Per
function and method: the median and interquartile range of the final regret over seeds;
the mean log10 regret after 10, 20, 30, 40 and 50 evaluations; the average rank (per
seed, among the methods shown, ties shared), per function and over all functions. Only
seeds that every method shown has finished count, so every comparison is paired.
``--compare A B`` prints a paired comparison of two methods (wins, losses, Wilcoxon
signed-rank test per function, and overall). Several results files pool their runs (the
same suite on other seeds, say); ``--baseline OTHER.jsonl ...`` adds other runs of the
suite (older code, say), their methods named ``<method> (baseline)``, so the same method
is compared with itself across code versions.

    python benchmarks/coldstart_table.py experiments/results/coldstart-full.jsonl \\
        --methods ours,optuna-gp,botorch,tpe,random
    python benchmarks/coldstart_table.py experiments/results/coldstart-full.jsonl \\
        --compare ours:normal-log ours:lognormal
    python benchmarks/coldstart_table.py experiments/results/coldstart-after.jsonl \\
        --baseline experiments/results/coldstart-before.jsonl \\
        --compare ours:lognormal+yj "ours:lognormal+yj (baseline)"
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

FLOOR = 1e-8  # log regrets below this are read as this (the step function's optimum is exact)


def load(path: Path) -> tuple[dict, list[dict]]:
    lines = Path(path).read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def regret_curve(run: dict) -> np.ndarray:
    """The incumbent's noise-free regret after each evaluation."""
    seen = np.asarray(run["values"], dtype=float)
    true = np.asarray(run["true_values"], dtype=float)
    incumbent = np.array([int(np.argmin(seen[: t + 1])) for t in range(len(seen))])
    return np.maximum(true[incumbent] - run["optimum"], 0.0)


def curves(runs: list[dict], methods: list[str]) -> dict[str, dict[str, dict[int, np.ndarray]]]:
    """function -> method -> seed -> regret curve, on the seeds all ``methods`` finished."""
    table: dict[str, dict[str, dict[int, np.ndarray]]] = defaultdict(lambda: defaultdict(dict))
    for r in runs:
        if r["method"] in methods:
            table[r["function"]][r["method"]][r["seed"]] = regret_curve(r)
    out = {}
    for fn, by_method in table.items():
        if not all(m in by_method for m in methods):
            continue
        seeds = sorted(set.intersection(*(set(by_method[m]) for m in methods)))
        if seeds:
            out[fn] = {m: {s: by_method[m][s] for s in seeds} for m in methods}
    return out


def finals(c: dict[str, dict[int, np.ndarray]]) -> dict[str, np.ndarray]:
    """method -> final regrets, seeds in the same order for every method."""
    return {m: np.array([c[m][s][-1] for s in sorted(c[m])]) for m in c}


def ranks(final: dict[str, np.ndarray]) -> dict[str, float]:
    """Average rank of each method over seeds (1 best; ties share their mean rank)."""
    methods = list(final)
    matrix = np.stack([final[m] for m in methods], axis=1)
    r = np.apply_along_axis(stats.rankdata, 1, matrix)
    return {m: float(r[:, i].mean()) for i, m in enumerate(methods)}


def fmt(v: float) -> str:
    return f"{v:.3g}"


def summary_table(runs: list[dict], methods: list[str], order: list[str] | None = None) -> tuple[str, dict]:
    """Markdown: median [IQR] final regret and average rank per function, average ranks
    overall, and the issue's goal counts for ``methods[0]``; with the numbers behind it."""
    c = curves(runs, methods)
    order = [f for f in (order or sorted(c)) if f in c]
    head = "| function | seeds | " + " | ".join(f"{m}: median [IQR]" for m in methods) + " | " + " | ".join(f"rank {m}" for m in methods) + " |"
    lines = [head, "|---|---|" + "---|" * (2 * len(methods))]
    all_ranks = defaultdict(list)
    ours, goal_peer, goal_random = methods[0], 0, 0
    peers = [m for m in methods[1:] if m in ("optuna-gp", "botorch")]
    for fn in order:
        final = finals(c[fn])
        rk = ranks(final)
        for m in methods:
            all_ranks[m].append(rk[m])
        med = {m: float(np.median(final[m])) for m in methods}
        cells = [f"{fmt(med[m])} [{fmt(np.percentile(final[m], 25))}, {fmt(np.percentile(final[m], 75))}]" for m in methods]
        best = min(rk.values())
        lines.append(f"| {fn} | {len(final[ours])} | " + " | ".join(cells) + " | "
                     + " | ".join(f"**{rk[m]:.2f}**" if rk[m] == best else f"{rk[m]:.2f}" for m in methods) + " |")
        if peers and med[ours] <= min(med[p] for p in peers):
            goal_peer += 1
        if "random" in methods and med[ours] <= med["random"]:
            goal_random += 1
    overall = {m: float(np.mean(all_ranks[m])) for m in methods}
    lines.append("| **average rank** | | " + " | " * (len(methods) - 1) + " | " + " | ".join(f"**{overall[m]:.2f}**" if overall[m] == min(overall.values()) else f"{overall[m]:.2f}" for m in methods) + " |")
    notes = [f"\nAverage rank over {len(order)} functions: " + ", ".join(f"{m} {overall[m]:.2f}" for m in sorted(methods, key=overall.get)) + "."]
    if peers:
        notes.append(f"{ours}'s median final regret is at most the better of {', '.join(peers)} on {goal_peer} of {len(order)} functions.")
    if "random" in methods:
        notes.append(f"{ours}'s median final regret is at most random search's on {goal_random} of {len(order)} functions.")
    return "\n".join(lines) + "\n" + "\n".join(notes), {"ranks": overall, "goal_peer": goal_peer, "goal_random": goal_random, "functions": order}


def curve_table(runs: list[dict], methods: list[str], checkpoints=(10, 20, 30, 40, 50), order: list[str] | None = None) -> str:
    """Markdown: mean log10 regret (floored at FLOOR) after each checkpoint."""
    c = curves(runs, methods)
    order = [f for f in (order or sorted(c)) if f in c]
    lines = ["| function | method | " + " | ".join(f"@{t}" for t in checkpoints) + " |", "|---|---|" + "---|" * len(checkpoints)]
    for fn in order:
        for m in methods:
            arr = np.stack([c[fn][m][s] for s in sorted(c[fn][m])])
            logs = np.log10(np.maximum(arr, FLOOR)).mean(axis=0)
            lines.append(f"| {fn} | {m} | " + " | ".join(f"{logs[t - 1]:.2f}" for t in checkpoints if t <= arr.shape[1]) + " |")
    return "\n".join(lines)


def compare(runs: list[dict], a: str, b: str, order: list[str] | None = None) -> str:
    """Paired comparison of final regrets of ``a`` against ``b``: per function the medians,
    wins / losses of ``a`` (ties: within 1e-12), the Wilcoxon signed-rank p-value; overall
    the same on all pairs, and the median log10 ratio a / b."""
    c = curves(runs, [a, b])
    order = [f for f in (order or sorted(c)) if f in c]
    lines = [f"| function | seeds | {a} median | {b} median | {a} wins | {a} losses | Wilcoxon p |", "|---|---|---|---|---|---|---|"]
    xa, xb = [], []
    for fn in order:
        final = finals(c[fn])
        fa, fb = final[a], final[b]
        xa.append(fa)
        xb.append(fb)
        lines.append(f"| {fn} | {len(fa)} | {fmt(np.median(fa))} | {fmt(np.median(fb))} | {int(np.sum(fa < fb - 1e-12))} | {int(np.sum(fa > fb + 1e-12))} | {wilcoxon(fa, fb)} |")
    fa, fb = np.concatenate(xa), np.concatenate(xb)
    ratio = np.log10(np.maximum(fa, FLOOR)) - np.log10(np.maximum(fb, FLOOR))
    fn_wins = sum(np.median(x) < np.median(y) for x, y in zip(xa, xb))
    fn_losses = sum(np.median(x) > np.median(y) for x, y in zip(xa, xb))
    lines.append(f"| **all** | {len(fa)} | | | {int(np.sum(fa < fb - 1e-12))} | {int(np.sum(fa > fb + 1e-12))} | {wilcoxon(np.log10(np.maximum(fa, FLOOR)), np.log10(np.maximum(fb, FLOOR)))} |")
    lines.append(f"\n{a} has the lower median on {fn_wins} functions, the higher on {fn_losses} (of {len(order)}); "
                 f"median log10(regret {a} / regret {b}) over all pairs {np.median(ratio):.2f}, mean {np.mean(ratio):.2f}.")
    return "\n".join(lines)


def wilcoxon(x: np.ndarray, y: np.ndarray) -> str:
    d = np.asarray(x) - np.asarray(y)
    if np.all(np.abs(d) <= 1e-12):
        return "-"
    return f"{stats.wilcoxon(x, y, zero_method='zsplit').pvalue:.3g}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path, help="coldstart-<name>.jsonl files of one suite (their runs pooled)")
    ap.add_argument("--methods", default=None, help="comma-separated, the first one's goal counts are reported (default: all)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    ap.add_argument("--curves", action="store_true", help="also the mean log10 regret after 10, 20, ... evaluations")
    ap.add_argument("--baseline", type=Path, nargs="+", default=[], help="other results files; their methods are named '<method> (baseline)'")
    args = ap.parse_args(argv)
    header, runs = load(args.results[0])
    runs = runs + [r for path in args.results[1:] for r in load(path)[1]]
    runs = runs + [{**r, "method": f"{r['method']} (baseline)"} for path in args.baseline for r in load(path)[1]]
    order = header["config"]["functions"]
    if args.compare:
        print(compare(runs, *args.compare, order=order))
        return
    methods = args.methods.split(",") if args.methods else list(dict.fromkeys(r["method"] for r in runs))
    print(summary_table(runs, methods, order)[0])
    if args.curves:
        print()
        print(curve_table(runs, methods, order=order))


if __name__ == "__main__":
    main()
