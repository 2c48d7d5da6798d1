"""The paper's transfer-benchmark section (issue 13's protocol), from the stored JSON lines of
``experiments/transfer_bench.py``: what ran, average ranks at fixed trials and over all
trials, paired savings against cold start by similarity band (parents' trials in their own
column), mean log-regret curves by band, the similarity sweep, the worst case per problem,
and what each method cost.

The library's default prior (``transfer.DEFAULT_PRIOR``, under its benchmark name) comes
first in every table, and :func:`default_section` says why it is the default from the
suites that ran every candidate on one engine. Pure functions of the loaded rows, reusing
the metrics of ``benchmarks/transfer_metrics.py`` and the tables of
``benchmarks/transfer_report.py``; ``paper/make_figures.py`` writes what they return.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks import transfer_metrics as M
from benchmarks import transfer_report as R
from experiments.transfer_bench import problem_ids
from warmstart_bo.transfer import DEFAULT_PRIOR


def method_of(prior: str) -> str:
    """The benchmark's name for a library prior: ``best-first`` is the baseline of that name
    (the same points, ``benchmarks/best_first_parity.py``), the others ``transfer-<prior>``."""
    return prior if prior == "best-first" else f"transfer-{prior}"


DEFAULT = method_of(DEFAULT_PRIOR)
ORDER = (DEFAULT, *(m for m in ("best-first", "transfer-stacked", "transfer-icm", "transfer-rgpe", "transfer-hyperprior", "transfer-hyperprior:unguarded",
                                 "identical", "optuna-gp", "botorch", "cold", "cold-reseeded", "random") if m != DEFAULT))


def order_key(method: str) -> tuple[int, str]:
    return (ORDER.index(method) if method in ORDER else len(ORDER), method)


def ordered(methods: list[str]) -> list[str]:
    """The default first, then the other priors, the baselines, cold start and random."""
    return sorted(methods, key=order_key)


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


def is_candidate(method: str) -> bool:
    """A method a user can choose as the default: a library prior with its guard."""
    return method == "best-first" or (method.startswith("transfer-") and ":" not in method)


def ranked(methods) -> list[str]:
    """The candidates among ``methods`` and cold start, in the tables' order: what the
    default's rank is read against."""
    return [m for m in ordered(sorted(methods)) if is_candidate(m) or m == "cold"]


def paired(table: dict, method: str, reference: str, t: int) -> tuple[tuple[int, int, int], float, float, int]:
    """``method`` against ``reference`` at trial t over every (problem, seed) both ran:
    win / tie / loss, mean log10 regret difference, paired Wilcoxon p, pairs."""
    w, r = [], []
    for by_method in table.values():
        a, b = by_method.get(method, {}), by_method.get(reference, {})
        for s in sorted(set(a) & set(b)):
            if len(a[s]) >= t and len(b[s]) >= t:
                w.append(a[s][t - 1])
                r.append(b[s][t - 1])
    return M.win_tie_loss(w, r), M.mean_log10(w) - M.mean_log10(r), M.wilcoxon_vs_cold(w, r), len(w)


def budget(runs: dict[str, list[dict]]) -> int:
    """The trials every run of ``runs`` (name -> rows) reaches."""
    return min(len(r["values"]) for rs in runs.values() for r in rs)


def checkpoints(runs: dict[str, list[dict]]) -> tuple[int, ...]:
    """The trials the paired tables read: 25 and 50 where every run of ``runs`` reaches them,
    else the shortest run's last."""
    last = budget(runs)
    return tuple(t for t in (25, 50) if t <= last) or (last,)


def comparisons(suites: dict[str, dict], pairs, ts=(25, 50)) -> list[tuple]:
    """Each (method, reference) of ``pairs(methods of a suite)`` paired seed by seed on each
    suite at each trial of ``ts``, Holm's correction over all of them: rows of (suite,
    method, reference, t, pairs, win/tie/loss, method's mean log10 regret - reference's,
    p, Holm's p), the comparisons with no pair left out."""
    keys, raw = [], []
    for name, table in suites.items():
        methods = {m for by_method in table.values() for m in by_method}
        for method, reference in pairs(methods):
            for t in ts:
                wtl, dlog, p, n = paired(table, method, reference, t)
                if n:
                    keys.append((name, method, reference, t, n))
                    raw.append((wtl, dlog, p))
    adjusted = M.holm([p for _, _, p in raw]) if raw else []
    return [(*k, *r, float(pa)) for k, r, pa in zip(keys, raw, adjusted)]


def head_to_head(suites: dict[str, dict], default: str, ts=(25, 50)) -> tuple[str, dict]:
    """The default against every other candidate, paired seed by seed on each suite at each
    trial of ``ts``, Holm's correction over the whole table. Returns the Markdown table and
    ``{(suite, other, t): (wtl, default's mean log10 regret - other's, Holm p)}``."""
    rows = comparisons(suites, lambda methods: [(default, m) for m in sorted(methods) if is_candidate(m) and m != default], ts)
    lines = [f"suite | against | trial | pairs | {default} W/T/L | mean log10 regret, {default} - other | p (Wilcoxon) | p Holm"]
    result = {}
    for name, _, other, t, n, wtl, dlog, p, pa in rows:
        result[(name, other, t)] = (wtl, dlog, pa)
        lines.append(f"{name} | {other} | {t} | {n} | {wtl[0]}/{wtl[1]}/{wtl[2]} | {dlog:+.2f} | {p:.3g} | {pa:.3g}{' *' if pa < 0.05 else ''}")
    return markdown(lines), result


def pairs_table(suites: dict[str, dict], pairs: list[tuple[str, str]], ts=(25, 50)) -> str:
    """The Markdown table of fixed (method, reference) ``pairs`` on each suite that ran both,
    paired seed by seed, Holm's correction over the table (an ablation against what it
    takes away)."""
    rows = comparisons(suites, lambda methods: [(a, b) for a, b in pairs if a in methods and b in methods], ts)
    lines = ["suite | method | against | trial | pairs | W/T/L | mean log10 regret, method - other | p (Wilcoxon) | p Holm"]
    for name, method, other, t, n, wtl, dlog, p, pa in rows:
        lines.append(f"{name} | {method} | {other} | {t} | {n} | {wtl[0]}/{wtl[1]}/{wtl[2]} | {dlog:+.2f} | {p:.3g} | {pa:.3g}{' *' if pa < 0.05 else ''}")
    return markdown(lines)


def matched_budget_table(suites: dict[str, dict], budgets=R.MATCHED) -> str:
    """Issue 13's goals read at matched budgets (``transfer_report.matched_rows``): every
    method of each suite after ``short`` trials against cold start after ``long`` on the same
    (problem, seed), pooled by band. One row per (suite, band, budgets), one column per
    method, the default first; Holm's correction over the whole table."""
    methods = ordered(sorted({m for table in suites.values() for b in table.values() for m in b} - {"cold", "cold-reseeded"}))
    keys, raw = [], []
    for name, table in suites.items():
        for short, long in budgets:
            for m, band, n, wtl, _, _, _, dlog, p in R.matched_rows(table, methods, short, long, R.bands(list(table))):
                keys.append((name, band, short, long, n, m))
                raw.append((wtl, dlog, p))
    adjusted = M.holm([p for _, _, p in raw]) if raw else []
    cells: dict = {}
    for (name, band, short, long, n, m), (wtl, dlog, _), pa in zip(keys, raw, adjusted):
        cells.setdefault((name, band, short, long, n), {})[m] = f"{wtl[0]}/{wtl[1]}/{wtl[2]}, {dlog:+.2f}, {pa:.2g}{' *' if pa < 0.05 else ''}"
    lines = ["suite | band | method's trials vs cold start's | pairs | " + " | ".join(methods)]
    for (name, band, short, long, n), by in cells.items():
        lines.append(f"{name} | {band} | {short} vs {long} | {n} | " + " | ".join(by.get(m, "-") for m in methods))
    lines.append("(each cell: the method's win / tie / loss against cold start, its mean log10 regret minus cold start's, "
                 "Holm's p over the table; a win is a lower regret after the fewer trials)")
    return markdown(lines)


def headroom_table(files: dict[str, tuple[list[dict], list[dict]]]) -> str:
    """What the parents' best points alone reach (``transfer_report.headroom_table``): for
    each results file (label -> its runs and parents' records), per band, the units where
    the target's regret at the best of the parents' best points is at most cold start's
    after 10, 25 and 50 trials."""
    header = "suite | band | units | parents' best at most cold start's regret after 10 trials | after 25 | after 50"
    return _per_band(files, header, R.headroom_table)


def pace_table(files: dict[str, tuple[list[dict], list[dict]]]) -> str:
    """The parents' best points followed by cold start's own pace, and by the control's
    where a file has it (``transfer_report.pace_table``): for each results file (label ->
    its runs and parents' records), per band, the median [IQR] paced saving at 25 and 50
    trials and the share of units at 2x and 4x (the control's at 25 only), and how many
    units its pace run leaves censored or never at the parents' level."""
    header = "suite | band | pace | units | paced saving at 25 trials: median [IQR] | >= 2x | >= 4x | at 50: median [IQR] | >= 2x | >= 4x | censored / never at 25"
    return _per_band(files, header, R.pace_table)


def _per_band(files: dict[str, tuple[list[dict], list[dict]]], header: str, report_table) -> str:
    """A report table over the parents' records (``report_table(parents, table, runs,
    groups, budget)``) for each file, per band (pooled where a file has one), each row
    labelled with its file."""
    lines = [header]
    for label, (runs, parents) in files.items():
        table = M.curves(runs)
        by_band = R.bands(list(table))
        groups = by_band if len(by_band) > 1 else [("all", list(table))]
        for row in report_table(parents, table, runs, groups, R.budget_of(runs))[1:]:
            lines.append(f"{label} | {row}")
    return markdown(lines)


def endgame_table(files: dict[str, tuple[list[dict], list[dict]]], band: str) -> str:
    """Each method's trials from the parents' level to cold start's regret at 25 trials
    against cold start's own (``transfer_report.endgame_table``), on one band of each file
    (``"all"`` where a file has no bands). Cold start on another seed (``cold-reseeded``),
    where a file has it, is the reading's noise floor: cold start's own trials are measured
    on the run whose regret sets the level, which favours it."""
    lines = ["suite | method | units | cold start's trials: median [IQR] | the method's: median [IQR] | fewer / same / more | never at the parents' level | not there by trial 50"]
    for label, (runs, parents) in files.items():
        table = M.curves(runs)
        by_band = R.bands(list(table))
        groups = [g for g in by_band if g[0].startswith(band)] if len(by_band) > 1 else [("all", list(table))]
        present = {m for b in table.values() for m in b}
        methods = ranked(present) + [m for m in ("cold-reseeded",) if m in present]
        for row in R.endgame_table(parents, table, runs, methods, groups, 25)[1:]:
            cells = row.split(" | ")
            lines.append(" | ".join([label, cells[0]] + cells[2:]))
    return markdown(lines)


def candidate_ranks(suites: dict[str, dict], budget: int) -> str:
    """Each suite's average rank of every candidate and cold start (the methods that ran on
    all its units) at trials 5 / 10 / 25 / 50 within ``budget``: one row per method, one
    column per suite."""
    ts = [t for t in R.CHECKPOINTS if t <= budget]
    methods = {name: ranked({m for b in table.values() for m in b}) for name, table in suites.items()}
    ranks = {name: [M.average_ranks(table, methods[name], t) for t in ts] for name, table in suites.items()}
    lines = ["method | " + " | ".join(f"{name} ({ranks[name][0][1]} pairs), rank at {' / '.join(map(str, ts))}" for name in suites)]
    for m in ordered(sorted({m for ms in methods.values() for m in ms})):
        cells = [" / ".join(f"{r[m]:.2f}" for r, _ in ranks[name]) if m in methods[name] else "-" for name in suites]
        lines.append(f"{m} | " + " | ".join(cells))
    lines.append("(1 = best; each suite over the (problem, seed) pairs all its methods ran)")
    return markdown(lines)


def guard_worst(rows: list[dict], first: int = 10) -> dict[str, dict[str, tuple[float, float]]]:
    """Rows of ``benchmarks/guard_worst_case.py --out``: per prior and adversary, the worst
    seed's regret over cold start's worst seed (each file's own cold start), over all seeds
    and over the first ``first`` (the slow test's seeds before it moved to 30)."""
    def ratio(rs: list[dict]) -> float:
        return max(r["transfer"] for r in rs) / max(r["cold"] for r in rs) if rs else np.nan

    by: dict = {}
    for r in rows:
        by.setdefault(r["prior"], {}).setdefault(r["adversary"], []).append(r)
    return {prior: {adv: (ratio(rs), ratio([r for r in rs if r["seed"] < first])) for adv, rs in advs.items()} for prior, advs in by.items()}


def guard_table(worst: dict, seeds: str) -> str:
    lines = [f"(worst seed's regret after 25 trials over cold start's worst, seeds {seeds}; seeds 0-9 alone in brackets; ! over {R.BOUND})",
             "prior | " + " | ".join(R.ADVERSARIES)]
    name = {p: p if p == "cold-reseeded" else method_of(p) for p in worst}
    for prior in sorted(worst, key=lambda p: order_key(name[p])):
        cells = [f"{worst[prior][a][0]:.2f}{'!' if worst[prior][a][0] > R.BOUND else ''} ({worst[prior][a][1]:.2f})" if a in worst[prior] else "-" for a in R.ADVERSARIES]
        lines.append(f"{name[prior]} | " + " | ".join(cells))
    return markdown(lines)


def _verdict(other: str, wtl, dlog: float, p: float) -> str:
    """"ahead of / behind / level with ``other``" and the numbers behind it."""
    side = "level with" if p >= 0.05 else "ahead of" if dlog < 0 else "behind"
    return f"{side} {other} (W/T/L {wtl[0]}/{wtl[1]}/{wtl[2]}, {dlog:+.2f} decades, Holm p = {p:.2g})"


def default_choice(suites: dict[str, dict], worst: dict, default: str = DEFAULT, ts=(25, 50), heldout: dict | None = None) -> str:
    """The paragraph that says where the default stands at trial ``ts[0]``, from the suites
    that ran every candidate (``suites``: name -> curves), the guard setting's worst cases
    (``worst``, :func:`guard_worst`) and, where they ran, seeds held out from the choice;
    its p-values are :func:`head_to_head`'s over all of ``ts``, as in the tables."""
    t = ts[0]
    _, h2h = head_to_head(suites, default, ts)
    parts = []
    for name, table in suites.items():
        methods = ranked({m for b in table.values() for m in b})
        ranks, n = M.average_ranks(table, methods, t)
        place = sorted(methods, key=lambda m: ranks[m]).index(default) + 1
        vs = "; ".join(_verdict(key[1], *h2h[key]) for key in h2h if key[0] == name and key[2] == t)
        parts.append(f"On the {name} suite ({n} (problem, seed) pairs) the default, {default}, ranks {place} of {len(methods)} "
                     f"(the candidates and cold start) at trial {t}, average rank {ranks[default]:.2f}; paired seed by seed it is {vs}.")
    if len(suites) > 1:
        pooled = {f"{name}:{p}": by_method for name, table in suites.items() for p, by_method in table.items()}
        shared = set.intersection(*({m for b in table.values() for m in b} for table in suites.values()))
        methods = ranked(shared)
        ranks, n = M.average_ranks(pooled, methods, t)
        parts.append(f"Pooled over both suites ({n} pairs), average rank at trial {t}: "
                     + ", ".join(f"{m} {ranks[m]:.2f}" for m in sorted(methods, key=lambda m: ranks[m])) + ".")
    prior = default if default == "best-first" else default.removeprefix("transfer-")
    if prior in worst:
        mine = worst[prior]
        over = [a for a in R.ADVERSARIES if mine.get(a, (0,))[0] > R.BOUND]
        control = worst.get("cold-reseeded", {})
        others = [p for p in worst if p not in (prior, "cold-reseeded")]
        beaten = [method_of(p) for p in others if any(worst[p].get(a, (0,))[0] > R.BOUND for a in R.ADVERSARIES)]
        parts.append(
            f"With adversarial parents (the slow guard test's setting, the seeds of the table above) its worst seed is "
            + ", ".join(f"{a} {mine[a][0]:.2f}x" for a in R.ADVERSARIES if a in mine)
            + f" cold start's worst, {'within' if not over else 'over'} the {R.BOUND}x bound"
            + (f" on {', '.join(over)}" if over else "")
            + (f" (cold start on another seed: {max(v[0] for v in control.values()):.2f}x)" if control else "")
            + (f"; {', '.join(beaten)} exceed{'s' if len(beaten) == 1 else ''} it on at least one adversary." if beaten else ".")
        )
    if heldout:
        _, held = head_to_head(heldout, default, ts)
        for name, table in heldout.items():
            wtl, dlog, p, n = paired(table, default, "cold", t)
            vs = "; ".join(_verdict(key[1], *held[key]) for key in held if key[0] == name and key[2] == t)
            parts.append(f"On seeds held out from the choice ({name}, {n} pairs) it is, against cold start at trial {t}, "
                         f"W/T/L {wtl[0]}/{wtl[1]}/{wtl[2]}, {dlog:+.2f} decades (Wilcoxon p = {p:.2g}); {vs}.")
    return " ".join(parts)


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


def default_section(suites: dict[str, list[Path]], guard_paths: list[Path], heldout: dict[str, list[Path]]) -> dict[str, str]:
    """The template values of "Which prior is the default": the candidates head to head on
    ``suites`` (name -> the files that ran every candidate on one engine), the guard
    setting's worst cases (``guard_worst_case.py --out`` files) and the seeds ``heldout``
    from the choice (suite -> files; labelled with the seeds that ran, left out where none did)."""
    runs = {name: R.load([str(p) for p in paths])[1] for name, paths in suites.items()}
    for suite, paths in heldout.items():
        rows = R.load([str(p) for p in paths])[1]
        if rows:
            seeds = sorted({r["seed"] for r in rows})
            runs[f"{suite}, seeds {seeds[0]}-{seeds[-1]}"] = rows
    ts = checkpoints(runs)
    tables = {name: M.curves(runs[name]) for name in suites}
    held = {name: M.curves(rows) for name, rows in runs.items() if name not in suites}
    rows = [json.loads(line) for p in guard_paths for line in Path(p).read_text().splitlines()]
    worst, seeds = guard_worst(rows), sorted({r["seed"] for r in rows})
    return {
        "default_method": DEFAULT,
        "table_default_head_to_head": head_to_head(tables, DEFAULT, ts)[0],
        "table_default_worst": guard_table(worst, f"{seeds[0]}-{seeds[-1]}") if seeds else "(the guard setting has not run)",
        "transfer_default_choice": default_choice(tables, worst, DEFAULT, ts, held or None),
        "table_default_heldout": head_to_head(held, DEFAULT, ts)[0] if held else "(the held-out seeds have not run)",
    }


def section(paths: list[Path], figures: Path, name: str) -> dict[str, str]:
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
    }
    return values
