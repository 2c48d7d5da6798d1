"""The paper's transfer-benchmark section (issue 13's protocol), from the stored JSON lines of
``experiments/transfer_bench.py``: what ran, average ranks at fixed trials and over all
trials, paired savings against cold start by similarity band (parents' trials in their own
column), mean log-regret curves by band, the similarity sweep, the worst case per problem,
and what each method cost.

The default configuration (``transfer-stacked``, the library's default prior with its
guard) comes first in every table. Pure functions of the loaded rows, reusing the metrics
of ``benchmarks/transfer_metrics.py`` and the tables of ``benchmarks/transfer_report.py``;
``paper/make_figures.py`` writes what they return.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks import transfer_metrics as M
from benchmarks import transfer_report as R
from experiments.transfer_bench import problem_ids

DEFAULT = "transfer-stacked"
ORDER = (DEFAULT, "transfer-icm", "transfer-rgpe", "transfer-hyperprior", "transfer-hyperprior:unguarded", "identical", "best-first", "optuna-gp", "botorch", "cold", "cold-reseeded", "random")


def ordered(methods: list[str]) -> list[str]:
    """The default first, then the other priors, the baselines, cold start and random."""
    return sorted(methods, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m))


def markdown(lines: list[str]) -> str:
    """A ``transfer_report`` table (``a | b`` rows, a header first, notes in parentheses or
    after the rows) as a Markdown table followed by its notes."""
    rows = [line for line in lines if " | " in line]
    notes = [line for line in lines if " | " not in line]
    cells = [[c.strip() for c in row.split(" | ")] for row in rows]
    header = cells[0]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(c) + " |" for c in cells[1:]]
    return "\n".join(out) + ("\n\n" + " ".join(notes) if notes else "")


def figure_ranks(table: dict, methods: list[str], budget: int, path: Path) -> int:
    """Average rank of each method after every trial; returns the (problem, seed) count."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ts = np.arange(1, budget + 1)
    n = 0
    ranks = {m: [] for m in methods}
    for t in ts:
        r, n = M.average_ranks(table, methods, int(t))
        for m in methods:
            ranks[m].append(r[m])
    for m in methods:
        ax.plot(ts, ranks[m], lw=2.2 if m == DEFAULT else 1.2, label=m + (" (default)" if m == DEFAULT else ""))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"average rank (1 = best of {len(methods)})")
    ax.set_title(f"Average rank over {n} (problem, seed) pairs")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return n


def figure_similarity(table: dict, methods: list[str], path: Path, checkpoints=(10, 25)) -> None:
    """Median regret at each checkpoint against the parents' similarity, per family (with
    the interquartile band of the default and of cold start)."""
    families = sorted({p.split("/")[0] for p in table if R.similarity(p) is not None})
    if not families:
        return
    fig, axes = plt.subplots(len(checkpoints), len(families), figsize=(4.5 * len(families), 3.2 * len(checkpoints)), squeeze=False)
    for j, fam in enumerate(families):
        probs = sorted((p for p in table if p.startswith(fam + "/") and R.similarity(p) is not None), key=R.similarity)
        xs = [R.similarity(p) for p in probs]
        for i, t in enumerate(checkpoints):
            ax = axes[i][j]
            for m in methods:
                q = [np.percentile([c[t - 1] for c in table[p].get(m, {}).values() if len(c) >= t] or [np.nan], [25, 50, 75]) for p in probs]
                q = np.array(q)
                ax.plot(xs, q[:, 1], marker="o", lw=2.2 if m == DEFAULT else 1.2, label=m)
                if m in (DEFAULT, "cold"):  # the interquartile band of the default and of cold start only
                    ax.fill_between(xs, q[:, 0], q[:, 2], alpha=0.12)
            ax.set_yscale("log")
            ax.set_title(f"{fam}: regret after {t} trials")
            ax.set_xlabel("similarity of the parents")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure_log_regret(table: dict, methods: list[str], budget: int, path: Path) -> None:
    """Mean log10 regret after every trial, one panel per similarity band, with a band of
    one standard error over the band's (problem, seed) pairs."""
    groups = R.bands(list(table))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    ts = np.arange(1, budget + 1)
    for ax, (name, probs) in zip(axes[0], groups):
        for m in methods:
            runs = [c[:budget] for p in probs for c in table[p].get(m, {}).values() if len(c) >= budget]
            if not runs:
                continue
            logs = np.log10(np.stack(runs))
            mean, se = logs.mean(axis=0), logs.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros(budget)
            ax.plot(ts, mean, lw=2.2 if m == DEFAULT else 1.2, label=m)
            ax.fill_between(ts, mean - se, mean + se, alpha=0.12)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("trial")
    axes[0][0].set_ylabel("mean log10 regret")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cost_table(runs: list[dict], methods: list[str]) -> str:
    """Wall-clock per job (compilation, the parents' model fits and the objective included)
    and per ask, median [IQR] over all runs of each method, from the same runs."""
    lines = ["method | runs | seconds per job med [IQR] | seconds per ask med [IQR]"]
    for m in methods:
        mine = [r for r in runs if r["method"] == m]
        job = M.summary([r["seconds"] for r in mine])
        asks = [r["ask_seconds"] for r in mine if "ask_seconds" in r]
        ask = f"{M.summary(asks)[0]:.3f} [{M.summary(asks)[1]:.3f}, {M.summary(asks)[2]:.3f}]" if asks else "-"
        lines.append(f"{m} | {len(mine)} | {job[0]:.1f} [{job[1]:.1f}, {job[2]:.1f}] | {ask}")
    return markdown(lines)


def worst_over_bound(table: dict, method: str, t: int, bound: float = R.BOUND) -> tuple[int, int, dict[str, float]]:
    """How many problems ``method``'s worst seed at trial t exceeds ``bound`` times cold
    start's worst seed on, of how many, and each problem's ratio."""
    ratios = {}
    for p, by_method in table.items():
        cold, warm = by_method.get("cold", {}), by_method.get(method, {})
        seeds = [s for s in sorted(set(cold) & set(warm)) if len(cold[s]) >= t]
        if seeds:
            ratios[p] = M.worst_case_ratio([warm[s][t - 1] for s in seeds], [cold[s][t - 1] for s in seeds])[0]
    return sum(r > bound for r in ratios.values()), len(ratios), ratios


def default_choice(table: dict, methods: list[str], budget: int, t: int, guard_paths: list[Path]) -> str:
    """The paragraph that says which prior is the default and why, from this suite's ranks
    and worst cases and the guard ablation's worst cases (``guard_paths``)."""
    from warmstart_bo.transfer import DEFAULT_PRIOR

    default = f"transfer-{DEFAULT_PRIOR}"
    priors = [m for m in methods if m.startswith("transfer-") and ":" not in m]
    ts = [c for c in R.CHECKPOINTS if c <= budget]
    ranks = {c: M.average_ranks(table, methods, c)[0] for c in ts}
    best = min(priors, key=lambda m: ranks[ts[-1]][m])

    def rank_row(m):
        return "/".join(f"{ranks[c][m]:.2f}" for c in ts)

    over = {m: worst_over_bound(table, m, t) for m in priors}
    text = (
        f"**Which prior is the default, and why.** Average rank at trials {'/'.join(map(str, ts))}: "
        + "; ".join(f"{m} {rank_row(m)}" for m in priors)
        + f". Worst seed over {R.BOUND}x cold start's worst at trial {t}: "
        + ", ".join(f"{m} on {over[m][0]} of {over[m][1]} problems" for m in priors)
        + ". "
    )
    if best == default:
        return text + f"The default, {default}, ranks best among the priors at trial {ts[-1]}."
    ahead = [c for c in ts if ranks[c][best] < ranks[c][default]]
    text += f"{best} ranks ahead of the default, {default}, at trials {'/'.join(map(str, ahead)) or 'none'}. "
    if not guard_paths:
        return text
    g_headers, g_runs, _ = R.load([str(p) for p in guard_paths])
    g_config = g_headers[0]["config"]
    g_table = M.curves(g_runs)
    g_budget = min(len(r["values"]) for r in g_runs)
    adversaries = [p for p in g_table if p.split("/")[-1] in ("flipped", "far", "unrelated")]
    sub = {p: g_table[p] for p in adversaries}
    ratios = {m: worst_over_bound(sub, m, g_budget)[2] for m in (default, best)}
    cells = [f"{m} " + ", ".join(f"{p.split('/')[-1]} {ratios[m][p]:.2f}" for p in adversaries if p in ratios[m]) for m in (default, best)]
    worst_best, worst_default = max(ratios[best].values()), max(ratios[default].values())
    if worst_best <= 2.5:
        return text + (f"{best} also keeps the guard ablation's adversarial worst case within the 2.5x the default's slow tests "
                       f"allow ({'; '.join(cells)}), so it should become the default.")
    text += (
        f"The default stays {default} because of the guard ablation (`experiments/results/guard-design/`: {g_config['n_parents']} "
        f"{g_config['parent_trials']}-trial parents, {g_budget} trials, {len(g_config['seeds'])} seeds), where the worst seed's regret over cold "
        f"start's worst with adversarial parents is {'; '.join(cells)}: {best}'s worst case, {worst_best:.1f}x, is "
        f"{worst_best / worst_default:.1f} times the default's. "
    )
    if best == "transfer-icm":
        text += ("(Traced on seed 8 with far-corner parents: the guard rejects ICM from the 9th trial on, but the target-only GP "
                 "it falls back to sees points that ICM gathered in one basin, and the job ends at a local optimum.) ")
    return text + f"The default's slow tests bound that case at 2.5x, so the switch waits for a guard that keeps {best} within it."


def complete_methods(table: dict, methods: list[str]) -> list[str]:
    """The methods that ran on every (problem, seed) cold start ran on: the ranks compare
    those; a peer run on fewer seeds (a separate results file, resumed later) is ranked in a
    table of its own over the seeds it has."""
    units = {(p, s) for p, by_method in table.items() for s in by_method.get("cold", {})}
    return [m for m in methods if units <= {(p, s) for p, by_method in table.items() for s in by_method.get(m, {})}]


def rank_tables(table: dict, methods: list[str], budget: int) -> str:
    """The ranks of the methods that ran everywhere, then (where some ran on fewer seeds)
    every method's ranks over the (problem, seed) pairs all of them ran."""
    full = complete_methods(table, methods)
    text = markdown(R.rank_table(table, full, budget, by_rank=False))
    partial = [m for m in methods if m not in full]
    if partial:
        text += (f"\n\nRun on fewer seeds so far ({', '.join(partial)}): every method's average rank over the pairs all of them ran:\n\n"
                 + markdown(R.rank_table(table, methods, budget, by_rank=False)))
    return text


def section(paths: list[Path], figures: Path, name: str, guard_paths: list[Path] = ()) -> dict[str, str]:
    """The template values of the transfer section and its two figures (``transfer-<name>-*.png``)."""
    headers, runs, parents = R.load([str(p) for p in paths])
    table = M.curves(runs)
    methods = ordered(R.methods_of(runs))
    budget = min(len(r["values"]) for r in runs)
    charged = {(r["problem"], r["method"]): r.get("parent_trials", 0) for r in runs}
    configs = [h["config"] for h in headers]
    planned = len(configs[0]["seeds"]) * len(problem_ids(configs[0]))
    units = len({(r["problem"], r["seed"]) for r in parents})
    seeds = sorted({r["seed"] for r in parents})
    n_ranked = figure_ranks(table, complete_methods(table, methods), budget, figures / f"transfer-{name}-ranks.png")
    figure_similarity(table, methods, figures / f"transfer-{name}-similarity.png", tuple(t for t in (10, 25) if t <= budget) or (budget,))
    figure_log_regret(table, methods, budget, figures / f"transfer-{name}-log-regret.png")
    t_save = 25 if budget >= 25 else budget
    values = {
        "transfer_what_ran": (
            f"{', '.join(c['name'] for c in configs)}: {units} (problem, seed) units finished of the {planned} the config plans "
            f"(seeds {seeds[0]}-{seeds[-1]}; a unit holds every method), {budget} trials each, parents {configs[0]['n_parents']} x "
            f"{configs[0]['parent_trials']} cold trials; machine {headers[0]['machine']['cpu']}, {headers[0]['machine']['cores']} cores"
        ),
        "table_transfer_ranks": rank_tables(table, methods, budget),
        "transfer_rank_pairs": str(n_ranked),
        "table_transfer_savings": markdown(R.savings_table(table, methods, t_save, R.bands(list(table)), charged, "problems")),
        "transfer_savings_trial": str(t_save),
        "table_transfer_worst": markdown(R.worst_table(table, methods, t_save)),
        "table_transfer_costs": cost_table(runs, methods),
        "transfer_default_choice": default_choice(table, complete_methods(table, methods), budget, t_save, list(guard_paths)),
    }
    return values
