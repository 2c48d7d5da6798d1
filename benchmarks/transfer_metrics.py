"""Metrics of the transfer benchmark, as pure functions of regret curves.

A curve is a run's best-so-far simple regret after each trial (1-based trial ``t`` is
index ``t - 1``), clipped below at a floor so that runs that both hit the optimum tie.
Comparisons are paired: a warm-started run and the cold start of the same problem and seed.

- :func:`paired_trials`: the trials the cold run needs to reach its own regret at trial
  ``t`` and the trials the warm run needs to reach that same regret (censored at the warm
  run's budget + 1 when it never does); their ratio is the saving.
- :func:`average_ranks`: the mean rank of each method over all (problem, seed) at trial t.
- :func:`wilcoxon_vs_cold` and :func:`holm`: the paired signed-rank test on log-regret and
  Holm's step-down correction.
- :func:`paced_trials` and :func:`endgame_trials`: what an opening at the parents' best
  points followed by cold start's own pace would need, and how many trials a run spends
  between the parents' level and cold start's regret at ``t``.
- :func:`win_tie_loss`, :func:`worst_case_ratio`, :func:`summary`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

FLOOR = 1e-8


def regret_curve(values: Sequence[float], optimum: float, floor: float = FLOOR) -> np.ndarray:
    """Best-so-far regret of minimized ``values`` against ``optimum``, at least ``floor``."""
    return np.maximum(np.minimum.accumulate(np.asarray(values, dtype=float)) - optimum, floor)


def curves(rows: Iterable[Mapping], floor: float = FLOOR) -> dict[str, dict[str, dict[int, np.ndarray]]]:
    """problem -> method -> seed -> regret curve, from result rows (``problem``, ``seed``,
    ``method``, minimized ``values``, ``optimum`` or None). A known optimum belongs to its
    seed's task (synthetic targets differ per seed); without one the task is the same for
    every seed (a data set) and the reference is the best value any run of it found."""
    by_problem: dict = defaultdict(list)
    for r in rows:
        by_problem[r["problem"]].append(r)
    out: dict = defaultdict(lambda: defaultdict(dict))
    refs = references([r for mine in by_problem.values() for r in mine])
    for problem, mine in by_problem.items():
        for r in mine:
            out[problem][r["method"]][r["seed"]] = regret_curve(r["values"], refs[problem, r["seed"]], floor)
    return {p: dict(m) for p, m in out.items()}


def reference(rows: Sequence[Mapping], problem: str, seed: int) -> float:
    """The value regret is measured from: the seed's known optimum (or any lower value a
    run of that seed found), else the best value of any run of the problem."""
    mine = [r for r in rows if r["problem"] == problem]
    known = [r["optimum"] for r in mine if r["seed"] == seed and r.get("optimum") is not None]
    if known:
        return min([known[0]] + [float(np.min(r["values"])) for r in mine if r["seed"] == seed])
    return min(float(np.min(r["values"])) for r in mine)


def references(rows: Iterable[Mapping]) -> dict[tuple[str, int], float]:
    """:func:`reference` of every (problem, seed) of ``rows``, in one pass over them (a
    report asks for it once per parent record, over thousands of runs)."""
    known: dict = {}
    seed_best: dict = {}
    problem_best: dict = {}
    for r in rows:
        key, best = (r["problem"], r["seed"]), float(np.min(r["values"]))
        if r.get("optimum") is not None:
            known.setdefault(key, r["optimum"])
        seed_best[key] = min(seed_best.get(key, np.inf), best)
        problem_best[key[0]] = min(problem_best.get(key[0], np.inf), best)
    return {key: min(known[key], best) if key in known else problem_best[key[0]] for key, best in seed_best.items()}


def trials_to_reach(curve: np.ndarray, level: float) -> float:
    """First trial (1-based) whose regret is at most ``level``; inf if none."""
    hits = np.flatnonzero(np.asarray(curve) <= level * (1 + 1e-9))
    return float(hits[0] + 1) if len(hits) else np.inf


def paired_trials(warm: np.ndarray, cold: np.ndarray, t: int) -> tuple[float, float]:
    """(trials cold needs to reach its own regret at trial t, trials warm needs to reach
    it). A warm run that never does is censored at its length + 1."""
    level = cold[t - 1]
    cold_needed = trials_to_reach(cold[:t], level)
    warm_needed = trials_to_reach(warm, level)
    return cold_needed, min(warm_needed, len(warm) + 1.0)


def paced_trials(cold: np.ndarray, parent_regrets: Sequence[float], t: int, pace: np.ndarray | None = None) -> tuple[float, float]:
    """(trials cold needs to reach its own regret at trial t, trials a run needs that
    evaluates the parents' best points first, in order, and then improves at the pace of
    ``pace`` (cold itself by default) from the best of them). The second is the best point's
    position when it already reaches that regret; otherwise all of the parents' points, then
    the trials ``pace`` took from its first regret at or below the best of them to its
    first at or below cold's regret at t (at least one: a run still above that regret needs
    another trial, even where the pace curve passed both levels in one step; censored at
    the curve's length + 1; NaN when the curve never reaches the parents' level). Cold
    start's pace there comes with the points it had by then, so this is what the parents'
    points give a model that learns no faster than cold start, not a bound on every method.
    Cold start set the level at t itself, so its own pace to it is quicker than another
    cold run's: ``pace`` = a cold run on another seed reads it without that selection."""
    level = cold[t - 1]
    cold_needed = trials_to_reach(cold[:t], level)
    regrets = np.asarray(parent_regrets, dtype=float)
    best = float(regrets.min())
    if best <= level * (1 + 1e-9):
        return cold_needed, float(np.argmin(regrets) + 1)
    stretch = endgame_trials(cold if pace is None else pace, best, level)
    return cold_needed, float(len(regrets) + max(stretch, 1.0))


def endgame_trials(curve: np.ndarray, start: float, level: float) -> float:
    """Trials a run takes from its first regret at or below ``start`` to its first at or
    below ``level`` (censored at the run's length + 1 when it never gets there); NaN when it
    never reaches ``start``."""
    begin = trials_to_reach(curve, start)
    if not np.isfinite(begin):
        return np.nan
    return min(trials_to_reach(curve, level), len(curve) + 1.0) - begin


def summary(x: Sequence[float]) -> tuple[float, float, float]:
    """Median, 25th and 75th percentiles."""
    q25, med, q75 = np.percentile(np.asarray(x, dtype=float), [25, 50, 75])
    return float(med), float(q25), float(q75)


def mean_log10(x: Sequence[float]) -> float:
    return float(np.mean(np.log10(np.asarray(x, dtype=float))))


def average_ranks(table: Mapping[str, Mapping[str, Mapping[int, np.ndarray]]], methods: Sequence[str], t: int) -> tuple[dict[str, float], int]:
    """Mean rank (1 = lowest regret, ties averaged) of each method at trial t over every
    (problem, seed) that all ``methods`` ran with at least t trials, and how many those were."""
    regrets = []
    for by_method in table.values():
        seeds = set.intersection(*(set(by_method.get(m, {})) for m in methods))
        for s in sorted(seeds):
            if all(len(by_method[m][s]) >= t for m in methods):
                regrets.append([by_method[m][s][t - 1] for m in methods])
    if not regrets:
        return {m: np.nan for m in methods}, 0
    ranks = stats.rankdata(np.asarray(regrets, dtype=float), axis=1)
    return {m: float(np.mean(ranks[:, i])) for i, m in enumerate(methods)}, len(regrets)


def wilcoxon_vs_cold(warm: Sequence[float], cold: Sequence[float]) -> float:
    """Two-sided p of the paired Wilcoxon signed-rank test on log-regret (1.0 when every
    pair ties)."""
    d = np.log(np.asarray(warm, dtype=float)) - np.log(np.asarray(cold, dtype=float))
    if np.all(d == 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="zsplit").pvalue)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (len(p) - i) * p[k]))
        adjusted[k] = running
    return adjusted


def win_tie_loss(warm: Sequence[float], cold: Sequence[float], rtol: float = 0.01) -> tuple[int, int, int]:
    """Seeds where warm's regret is lower than cold's by more than ``rtol`` (relative),
    within it, and higher."""
    w, c = np.asarray(warm, dtype=float), np.asarray(cold, dtype=float)
    tie = np.abs(w - c) <= rtol * np.maximum(w, c)
    return int(np.sum(~tie & (w < c))), int(np.sum(tie)), int(np.sum(~tie & (w > c)))


def worst_case_ratio(warm: Sequence[float], cold: Sequence[float]) -> tuple[float, float]:
    """(worst seed's regret over cold's worst seed's, worst paired ratio warm / cold)."""
    w, c = np.asarray(warm, dtype=float), np.asarray(cold, dtype=float)
    return float(w.max() / c.max()), float(np.max(w / c))
