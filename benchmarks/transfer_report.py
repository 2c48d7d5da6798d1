"""Tables of the transfer benchmark from its JSONL results (``experiments/transfer_bench.py``).

Prints, for the files given (suites may be mixed): what ran; the parents (optimum distance,
target's regret at the parents' best points, how often that alone matches cold start
after 10, 25 and 50 trials, what the parents' points followed by cold start's own pace
would save, and how fast each method goes from the parents' level to cold start's regret
at 25 trials against cold start's own pace there); the average rank of every method at trials
5, 10, 25, 50 (and 100 where the budget reaches it); the paired savings against cold start
at 25 and 50 (and 100) trials with paired Wilcoxon p-values (Holm-corrected over the
table), win/tie/loss and median [IQR] regret; and the worst case per problem (worst seed's
regret at 25 over cold start's worst seed); and matched budgets, each method after 10 trials
against cold start after 40 and after 25 against 50 (issue 13's "TRANSFER@10 no worse than
cold@40"); and, for transfer priors, the share of asks whose model passed the guard.

``--baseline`` adds runs of the same units on other code, their methods renamed, and
``--compare METHOD REFERENCE`` pairs two methods directly (by band, and on model tuning
per model family as well).

    python benchmarks/transfer_report.py experiments/results/transfer-synthetic-reduced.jsonl
    python benchmarks/transfer_report.py experiments/results/transfer-synthetic-opening-counted.jsonl \\
        --baseline experiments/results/transfer-synthetic-opening-uncounted.jsonl \\
        --compare transfer-hyperprior "transfer-hyperprior (baseline)"
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import transfer_metrics as M

CHECKPOINTS = (5, 10, 25, 50, 100)
# (method's trials, cold start's trials): issue 13's 4x goal as its parenthesis states it, and
# its 2x goal on model tuning read the same way.
MATCHED = ((10, 40), (25, 50))
BOUND = 1.25
ADVERSARIES = ("flipped", "far", "unrelated")


def load(paths: list[str], baselines: list[str] = ()) -> tuple[list[dict], list[dict], list[dict]]:
    """Headers, runs and parents' records of ``paths``. A run that several files hold
    (cold start beside each method, say) is kept once when it is the same run everywhere;
    different values mean the files ran on different code, and they are refused rather
    than mixed. ``baselines`` are other runs of the same units (older code, say): their
    methods are named ``<method> (baseline)``, except cold start, which must be the same
    run as the others' so that every method is paired against one cold start."""
    headers, runs, parents = [], [], []
    seen: dict[tuple, tuple[str, list]] = {}
    for path in [*paths, *baselines]:
        lines = Path(path).read_text().splitlines()
        headers.append(json.loads(lines[0]))
        for r in map(json.loads, lines[1:]):
            if "method" not in r:
                parents.append(r)
                continue
            if path in baselines and r["method"] != "cold":
                r = {**r, "method": f"{r['method']} (baseline)"}
            key = (r["problem"], r["seed"], r["method"])
            if key in seen:
                if seen[key][1] != r["values"]:
                    sys.exit(f"{seen[key][0]} and {path} hold different runs of {key[2]} on {key[0]}, seed {key[1]}: "
                             "they ran on different code; report them separately")
                continue
            seen[key] = (path, r["values"])
            runs.append(r)
    # A unit's parents are recorded by every file (and again by a run resumed mid-unit): once each.
    once = {(p["problem"], p["seed"]): p for p in reversed(parents)}
    parents = [p for p in parents if once[(p["problem"], p["seed"])] is p]
    return headers, runs, parents


def budget_of(runs: list[dict]) -> int:
    """The trials every run reached: the budget the tables can use."""
    return min(len(r["values"]) for r in runs)


def fmt(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{x:.3g}"


def methods_of(runs: list[dict]) -> list[str]:
    seen: list[str] = []
    for r in runs:
        if r["method"] not in seen:
            seen.append(r["method"])
    return seen


def parents_table(parents: list[dict], table: dict, runs: list[dict]) -> list[str]:
    out = ["problem | seeds | parent trials | optimum distance median [min, max] | target regret at parents' best: median of best parent | cold regret at 10 / 25 (median)"]
    by: dict = {}
    refs = M.references(runs)
    for p in parents:
        if (p["problem"], p["seed"]) in refs:  # skip a parents' record without runs
            by.setdefault(p["problem"], []).append(p)
    for prob, ps in by.items():
        dist = [d for p in ps for d in p["parents"].get("optimum_distance", []) if d is not None]
        cold = table[prob].get("cold", {})
        regret = [min(_parent_regrets(p, refs)) for p in ps]
        d = f"{np.median(dist):.3f} [{min(dist):.3f}, {max(dist):.3f}]" if dist else "n/a"
        c10 = np.median([c[min(9, len(c) - 1)] for c in cold.values()]) if cold else np.nan
        c25 = np.median([c[min(24, len(c) - 1)] for c in cold.values()]) if cold else np.nan
        out.append(f"{prob} | {len(ps)} | {'+'.join(map(str, ps[0]['parents']['trials']))} | {d} | {fmt(np.median(regret))} | {fmt(c10)} / {fmt(c25)}")
    return out


def headroom_table(parents: list[dict], table: dict, runs: list[dict], groups: list[tuple[str, list[str]]], budget: int) -> list[str]:
    """How often the target's regret at the best of the parents' best points is already at
    most cold start's regret after t trials, seed by seed, per group: what a method gets
    from the parents' points alone, before any model. A median saving of 4x at 25 trials
    needs most units to reach cold start's regret there within a few trials."""
    ts = [t for t in (10, 25, 50) if t <= budget]
    out = ["group | units | " + " | ".join(f"parents' best <= cold@{t}" for t in ts)]
    refs = M.references(runs)
    for name, probs in groups:
        hits, n = dict.fromkeys(ts, 0), 0
        for p in parents:
            cold = table.get(p["problem"], {}).get("cold", {}).get(p["seed"])
            if p["problem"] not in probs or cold is None or len(cold) < ts[-1]:
                continue
            n += 1
            at_best = min(_parent_regrets(p, refs))
            for t in ts:
                hits[t] += bool(at_best <= cold[t - 1] * (1 + 1e-9))
        if n:
            out.append(f"{name} | {n} | " + " | ".join(f"{hits[t]} ({hits[t] / n:.0%})" for t in ts))
    return out


def pace_table(parents: list[dict], table: dict, runs: list[dict], groups: list[tuple[str, list[str]]], budget: int) -> list[str]:
    """Per group, the saving of a run that evaluates the parents' best points first and then
    improves at cold start's own pace from the best of them (:func:`M.paced_trials`), seed
    by seed: what the parents' points give without a model better than cold start's. Where
    the files hold cold start on another seed (``cold-reseeded``), a second row per group
    takes that run's pace, which the level did not select, at 25 trials only (a run of the
    budget's length rarely reaches cold start's regret at the budget: its stretch there is
    mostly censored). The last column counts the units whose pace run is censored (never
    at the level; its stretch counted to the budget + 1) or never at the parents' level
    (counted as no saving, 0x)."""
    ts = [t for t in (25, 50) if t <= budget]
    out = ["group | pace | units | " + " | ".join(f"paced saving at {t}: median [IQR] | >= 2x | >= 4x" for t in ts) + " | censored / never at 25"]
    refs = M.references(runs)
    paces = ["cold"] + (["cold-reseeded"] if any("cold-reseeded" in by_method for by_method in table.values()) else [])
    for name, probs in groups:
        for pace in paces:
            reads = ts if pace == "cold" else ts[:1] if ts[0] < budget else []
            ratios: dict[int, list[float]] = {t: [] for t in reads}
            censored = never = 0
            for p in parents:
                by_method = table.get(p["problem"], {})
                cold, curve = by_method.get("cold", {}).get(p["seed"]), by_method.get(pace, {}).get(p["seed"])
                if not reads or p["problem"] not in probs or cold is None or curve is None or len(cold) < ts[-1]:
                    continue
                regrets = _parent_regrets(p, refs)
                for t in reads:
                    cold_n, paced = M.paced_trials(cold, regrets, t, curve)
                    ratios[t].append(cold_n / paced if np.isfinite(paced) else 0.0)
                best, level = min(regrets), cold[reads[0] - 1]
                if best > level * (1 + 1e-9):
                    never += not np.isfinite(M.trials_to_reach(curve, best))
                    censored += np.isfinite(M.trials_to_reach(curve, best)) and not np.isfinite(M.trials_to_reach(curve, level))
            if reads and ratios[reads[0]]:
                cells = []
                for t in ts:
                    if t not in reads:
                        cells.append("- | - | -")
                        continue
                    r = np.asarray(ratios[t])
                    med, q25, q75 = M.summary(r)
                    cells.append(f"{med:.2f}x [{q25:.2f}, {q75:.2f}] | {np.mean(r >= 2):.0%} | {np.mean(r >= 4):.0%}")
                label = "cold start's own" if pace == "cold" else "the control's"
                out.append(f"{name} | {label} | {len(ratios[reads[0]])} | " + " | ".join(cells) + f" | {censored} / {never}")
    return out


def endgame_table(parents: list[dict], table: dict, runs: list[dict], methods: list[str], groups: list[tuple[str, list[str]]], t: int) -> list[str]:
    """Per method and group, on the units where the best of the parents' best points is
    above cold start's regret at t: trials from a run's first regret at or below the
    parents' level to cold start's regret at t (:func:`M.endgame_trials`), the method's
    against cold start's own, seed by seed. Where a method is slower than cold start here,
    its model after the opening learns less than cold start's had at the same regret."""
    out = ["method | group | units | cold start's trials: median [IQR] | method's: median [IQR] | fewer / same / more | never at the parents' level | not there by the budget"]
    refs = M.references(runs)
    opening = {(p["problem"], p["seed"]): min(_parent_regrets(p, refs)) for p in parents if (p["problem"], p["seed"]) in refs}
    for m in methods:
        if m == "cold":
            continue
        for name, probs in groups:
            cold_e, warm_e, never, censored = [], [], 0, 0
            for p in parents:
                by_method = table.get(p["problem"], {})
                cold, warm = by_method.get("cold", {}).get(p["seed"]), by_method.get(m, {}).get(p["seed"])
                if p["problem"] not in probs or cold is None or warm is None or len(cold) < t:
                    continue
                best, level = opening[p["problem"], p["seed"]], cold[t - 1]
                if best <= level * (1 + 1e-9):
                    continue
                e = M.endgame_trials(warm, best, level)
                if np.isnan(e):
                    never += 1
                    continue
                censored += bool(not np.isfinite(M.trials_to_reach(warm, level)))
                cold_e.append(M.endgame_trials(cold, best, level))
                warm_e.append(e)
            if not cold_e and not never:
                continue
            c, w = np.asarray(cold_e), np.asarray(warm_e)
            cells = " | ".join("{:.1f} [{:.1f}, {:.1f}]".format(*M.summary(v)) if len(v) else "-" for v in (c, w))
            out.append(f"{m} | {name} | {len(c)} | {cells} | {int(np.sum(w < c))} / {int(np.sum(w == c))} / {int(np.sum(w > c))} | {never} | {censored}")
    return out


def _parent_regrets(p: dict, refs: dict) -> list[float]:
    """The target's regret at each parent's best point, in the parents' order (``refs``:
    :func:`M.references` of the runs)."""
    ref = refs[p["problem"], p["seed"]]
    return [max(v - ref, M.FLOOR) for v in p["parents"]["target_at_best"]]


def rank_table(table: dict, methods: list[str], budget: int, by_rank: bool = True) -> list[str]:
    """Average rank at each checkpoint, methods best-last-rank first (or as given)."""
    ts = [t for t in CHECKPOINTS if t <= budget]
    out = ["method | " + " | ".join(f"rank@{t}" for t in ts)]
    cols = {}
    for t in ts:
        cols[t], n = M.average_ranks(table, methods, t)
    for m in sorted(methods, key=lambda m: cols[ts[-1]][m]) if by_rank else methods:
        out.append(f"{m} | " + " | ".join(f"{cols[t][m]:.2f}" for t in ts))
    out.append(f"({n} (problem, seed) pairs; 1 = best of {len(methods)})")
    return out


def savings_table(table: dict, methods: list[str], t: int, groups: list[tuple[str, list[str]]], charged: dict, label: str = "pool", reference: str = "cold") -> list[str]:
    """Paired savings and tests against ``reference`` (cold start unless told) at trial t,
    each group of problems pooled (a group per problem for a per-problem table); Holm's
    correction runs over the table."""
    rows, pvals = [], []
    for m in methods:
        if m == reference:
            continue
        for name, probs in groups:
            cold_n, warm_n, w_at, c_at, spent = [], [], [], [], []
            for p in probs:
                cold, warm = table[p].get(reference, {}), table[p].get(m, {})
                for s in sorted(set(cold) & set(warm)):
                    if len(cold[s]) < t:
                        continue
                    a, b = M.paired_trials(warm[s], cold[s], t)
                    cold_n.append(a)
                    warm_n.append(b)
                    w_at.append(warm[s][t - 1])
                    c_at.append(cold[s][t - 1])
                    spent.append(charged[(p, m)])
            if not cold_n:
                continue
            ratio = np.array(cold_n) / np.array(warm_n)
            pvals.append(M.wilcoxon_vs_cold(w_at, c_at))
            rows.append((m, name, len(cold_n), int(np.median(spent)), M.summary(cold_n), M.summary(warm_n), M.summary(ratio), M.win_tie_loss(w_at, c_at), M.summary(w_at), M.mean_log10(w_at) - M.mean_log10(c_at), pvals[-1]))
    adjusted = M.holm(pvals) if pvals else []
    ref = reference
    out = [f"method | {label} | n | parents' trials | {ref} trials to own regret@{t} med [IQR] | warm trials to {ref}'s regret@{t} med [IQR] | saving ratio med [IQR] | W/T/L | warm regret@{t} med [IQR] | mean log10 regret - {ref}'s | p (Wilcoxon) | p Holm"]
    for (m, name, n, spent, c, w, r, wtl, reg, dlog, p), pa in zip(rows, adjusted):
        out.append(f"{m} | {name} | {n} | {spent} | {c[0]:.0f} [{c[1]:.0f}, {c[2]:.0f}] | {w[0]:.0f} [{w[1]:.0f}, {w[2]:.0f}] | {r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}] | "
                   f"{wtl[0]}/{wtl[1]}/{wtl[2]} | {fmt(reg[0])} [{fmt(reg[1])}, {fmt(reg[2])}] | {dlog:+.2f} | {p:.3g} | {pa:.3g}{' *' if pa < 0.05 else ''}")
    return out


def worst_table(table: dict, methods: list[str], t: int) -> list[str]:
    out = [f"(worst seed's regret@{t} / cold's worst seed; paired worst ratio in brackets; ! over {BOUND})",
           "problem | " + " | ".join(m for m in methods if m != "cold")]
    misses: dict = {m: 0 for m in methods}
    for p, by_method in table.items():
        cold = by_method.get("cold", {})
        cells = []
        for m in methods:
            if m == "cold":
                continue
            warm = by_method.get(m, {})
            seeds = sorted(set(cold) & set(warm))
            seeds = [s for s in seeds if len(cold[s]) >= t]
            if not seeds:
                cells.append("-")
                continue
            worst, paired = M.worst_case_ratio([warm[s][t - 1] for s in seeds], [cold[s][t - 1] for s in seeds])
            misses[m] += worst > BOUND
            cells.append(f"{worst:.2f}{'!' if worst > BOUND else ''} [{paired:.3g}]")
        out.append(f"{p} | " + " | ".join(cells))
    out.append("problems over the bound: " + ", ".join(f"{m} {k}" for m, k in misses.items() if m != "cold"))
    return out


def matched_rows(table: dict, methods: list[str], short: int, long: int, groups: list[tuple[str, list[str]]]) -> list[tuple]:
    """Each method's regret after ``short`` trials against cold start's after ``long`` on the
    same (problem, seed), each group pooled: (method, group, pairs, W/T/L, median warm and
    cold regret, median ratio [IQR], mean log10 difference, Wilcoxon p). Issue 13 states its
    4x goal so ("TRANSFER@10 no worse than cold@40"); unlike the paired saving it needs no
    trials-to-reach, and it gives cold start its whole longer run."""
    rows = []
    for m in methods:
        if m == "cold":
            continue
        for name, probs in groups:
            w, c = [], []
            for p in probs:
                cold, warm = table[p].get("cold", {}), table[p].get(m, {})
                for s in sorted(set(cold) & set(warm)):
                    if len(warm[s]) >= short and len(cold[s]) >= long:
                        w.append(warm[s][short - 1])
                        c.append(cold[s][long - 1])
            if w:
                rows.append((m, name, len(w), M.win_tie_loss(w, c), float(np.median(w)), float(np.median(c)),
                             M.summary(np.array(w) / np.array(c)), M.mean_log10(w) - M.mean_log10(c), M.wilcoxon_vs_cold(w, c)))
    return rows


def matched_table(table: dict, methods: list[str], short: int, long: int, groups: list[tuple[str, list[str]]], label: str = "pool") -> list[str]:
    """:func:`matched_rows` as a table, Holm's correction over it."""
    rows = matched_rows(table, methods, short, long, groups)
    adjusted = M.holm([r[-1] for r in rows]) if rows else []
    out = [f"method | {label} | n | W/T/L (method@{short} vs cold@{long}) | method regret@{short} med | cold regret@{long} med | "
           f"regret ratio med [IQR] | mean log10 regret - cold's | p (Wilcoxon) | p Holm"]
    for (m, name, n, wtl, w, c, r, dlog, p), pa in zip(rows, adjusted):
        out.append(f"{m} | {name} | {n} | {wtl[0]}/{wtl[1]}/{wtl[2]} | {fmt(w)} | {fmt(c)} | {fmt(r[0])} [{fmt(r[1])}, {fmt(r[2])}] | "
                   f"{dlog:+.2f} | {p:.3g} | {pa:.3g}{' *' if pa < 0.05 else ''}")
    return out


def used_table(runs: list[dict], groups: list[tuple[str, list[str]]], compare: list[tuple[str, str]] = ()) -> list[str]:
    """The share of each run's own asks whose transfer model passed the guard
    (``transfer_used``, recorded for transfer priors), per method and group: mean, median
    [IQR]. For each compared pair that both record it, the paired difference per group:
    mean, seeds where the method used transfer more / as often / less, and the Wilcoxon p
    of the paired differences (uncorrected: a description of how the methods behave)."""
    used: dict[str, dict[tuple, float]] = {}
    for r in runs:
        if "transfer_used" in r:
            used.setdefault(r["method"], {})[(r["problem"], r["seed"])] = float(r["transfer_used"])
    out = ["method | group | n | share of asks using transfer: mean | median [IQR]"]
    for m, shares in used.items():
        for name, probs in groups:
            x = [v for (p, _), v in shares.items() if p in probs]
            if x:
                med, q25, q75 = M.summary(x)
                out.append(f"{m} | {name} | {len(x)} | {np.mean(x):.3f} | {med:.3f} [{q25:.3f}, {q75:.3f}]")
    pairs = [(m, ref) for m, ref in compare if m in used and ref in used]
    if pairs:
        out += ["", "method - reference | group | n | mean difference | more/same/less | p (Wilcoxon)"]
    for m, ref in pairs:
        for name, probs in groups:
            keys = sorted(k for k in used[m] if k in used[ref] and k[0] in probs)
            if not keys:
                continue
            d = np.array([used[m][k] - used[ref][k] for k in keys])
            p = 1.0 if np.all(d == 0) else float(stats.wilcoxon(d, zero_method="zsplit").pvalue)
            out.append(f"{m} - {ref} | {name} | {len(d)} | {np.mean(d):+.3f} | {int(np.sum(d > 0))}/{int(np.sum(d == 0))}/{int(np.sum(d < 0))} | {p:.3g}")
    return out


def similarity(problem: str) -> float | None:
    """The similarity of a ``family/simS`` problem, None for adversaries and model tuning."""
    m = re.fullmatch(r"[^/]+/sim([0-9.]+)", problem)
    return float(m.group(1)) if m else None


def bands(problems: list[str]) -> list[tuple[str, list[str]]]:
    """Problems grouped as issue 13 states its goals: related (similarity >= 0.75),
    in between, unrelated (similarity 0), adversarial parents, and model tuning."""
    groups = {"related (similarity >= 0.75)": [], "similarity 0.25-0.5": [], "similarity 0": [], "adversarial parents": [], "model tuning": []}
    for p in problems:
        s = similarity(p)
        if s is not None:
            key = "related (similarity >= 0.75)" if s >= 0.75 else "similarity 0" if s == 0 else "similarity 0.25-0.5"
        else:
            key = "adversarial parents" if p.split("/")[-1] in ADVERSARIES else "model tuning"
        groups[key].append(p)
    return [(k, v) for k, v in groups.items() if v]


def model_families(problems: list[str]) -> list[tuple[str, list[str]]]:
    """Model-tuning problems grouped by model family (``svc/wine`` -> ``svc``), where there
    are two families or more; synthetic problems are left out."""
    groups: dict[str, list[str]] = {}
    for p in problems:
        if similarity(p) is None and p.split("/")[1] not in ADVERSARIES:
            groups.setdefault(p.split("/")[0], []).append(p)
    return list(groups.items()) if len(groups) > 1 else []


def common_units(runs: list[dict], parents: list[dict]) -> tuple[list[dict], list[dict]]:
    """The runs and parents' records of the (problem, seed) units that every method ran."""
    units: dict[str, set] = {}
    for r in runs:
        units.setdefault(r["method"], set()).add((r["problem"], r["seed"]))
    keep = set.intersection(*units.values()) if units else set()
    return [r for r in runs if (r["problem"], r["seed"]) in keep], [p for p in parents if (p["problem"], p["seed"]) in keep]


def report(paths: list[str], baselines: list[str] = (), compare: list[tuple[str, str]] = (), common: bool = False) -> str:
    """Every table for ``paths`` (and ``baselines``, see :func:`load`); then, for each
    (method, reference) in ``compare``, the paired savings of the method against the
    reference in place of cold start. ``common``: only the units every method ran, so that
    files of different seeds or problems give tables paired across all their methods."""
    headers, runs, parents = load(paths, baselines)
    if common:
        runs, parents = common_units(runs, parents)
    table = M.curves(runs)
    charged = {(r["problem"], r["method"]): r.get("parent_trials", 0) for r in runs}
    methods = methods_of(runs)
    budget = budget_of(runs)
    out = ["# What ran"]
    for h in headers:
        c = h["config"]
        out.append(f"{c['name']} ({c['suite']}): budget {c['budget']}, parents {c['n_parents']} x {c['parent_trials']} cold trials, top_k {c['top_k']}, "
                   f"seeds {c['seeds'][0]}..{c['seeds'][-1]} ({len(c['seeds'])}), methods {', '.join(h['methods_run'])}; {h['machine']['cpu']}, {h['machine']['cores']} cores")
    out.append(f"(problem, seed) units finished: {len({(r['problem'], r['seed']) for r in parents})}; regret floor {M.FLOOR:g}; "
               "problems without a known optimum use the best value any run found")
    out += ["", "# Parents"] + parents_table(parents, table, runs)
    if budget >= 10:
        by_band = bands(list(table))
        out += ["", "# What the parents' best points alone reach: units where the best of them is at most cold start's regret after t trials"]
        out += headroom_table(parents, table, runs, [("all", list(table))] + (by_band if len(by_band) > 1 else []), budget)
    if budget >= 25:
        pooled = [("all", list(table))] + (by_band if len(by_band) > 1 else [])
        out += ["", "# Cold start's pace from the parents' level: the parents' best points first, then cold start's own trials from the best of them to its regret at t"]
        out += pace_table(parents, table, runs, pooled, budget)
        out += ["", "# From the parents' level to cold start's regret at 25 trials: each method's trials against cold start's, units where the parents' best point is above it"]
        out += endgame_table(parents, table, runs, methods, pooled, 25)
    out += ["", "# Average rank (lower is better)"] + rank_table(table, methods, budget)
    for t in (25, 50, 100):
        if t > budget:
            continue
        out += ["", f"# Paired savings against cold start at {t} trials, pooled"] + savings_table(table, methods, t, [("all", list(table))], charged)
        groups = bands(list(table))
        if len(groups) > 1:
            out += ["", f"# Paired savings against cold start at {t} trials, by band (issue 13's goals)"] + savings_table(table, methods, t, groups, charged, "band")
        out += ["", f"# Paired savings against cold start at {t} trials, per problem"] + savings_table(table, methods, t, [(p, [p]) for p in table], charged, "problem")
    out += ["", "# Worst case per problem"] + worst_table(table, methods, min(25, budget))
    for short, long in (m for m in MATCHED if m[1] <= budget):
        groups = bands(list(table))
        out += ["", f"# Matched budgets: each method after {short} trials against cold start after {long} ({long // short}x the trials), by band"]
        out += matched_table(table, methods, short, long, groups if len(groups) > 1 else [("all", list(table))], "band")
    by_band = bands(list(table)) if compare else []
    groups = [("all", list(table))] + (by_band if len(by_band) > 1 else [])
    families = model_families(list(table)) if compare else []
    for method, reference in compare:
        for name in (method, reference):
            if name not in methods:
                sys.exit(f"--compare: no method {name!r} in these files; they hold {', '.join(methods)}")
        for t in (t for t in (25, 50, 100) if t <= budget):
            out += ["", f"# {method} against {reference} at {t} trials, paired"] + savings_table(table, [method], t, groups, charged, "band", reference)
            if families:
                # A table of its own, so that its Holm correction leaves the pooled one's alone.
                out += ["", f"# {method} against {reference} at {t} trials, paired, per model family"] + savings_table(table, [method], t, families, charged, "family", reference)
    if any("transfer_used" in r for r in runs):
        by_band = bands(list(table))
        out += ["", "# Asks that used the transfer model (not rejected by the guard), by band"]
        out += used_table(runs, [("all", list(table))] + (by_band if len(by_band) > 1 else []), compare)
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="JSONL files of experiments/transfer_bench.py")
    ap.add_argument("--baseline", nargs="+", default=[], help="other runs of the same units; their methods are named '<method> (baseline)'")
    ap.add_argument("--compare", nargs=2, action="append", default=[], metavar=("METHOD", "REFERENCE"), help="also pair METHOD against REFERENCE (repeatable)")
    ap.add_argument("--common", action="store_true", help="only the (problem, seed) units that every method ran")
    args = ap.parse_args(argv)
    print(report(args.results, args.baseline, [tuple(c) for c in args.compare], args.common))


if __name__ == "__main__":
    main()
