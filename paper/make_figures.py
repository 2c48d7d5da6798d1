"""Regenerates every figure, table and number of the paper from stored results.

Reads ``experiments/results/convergence-<config>.jsonl``, the transfer benchmark's
``transfer-synthetic.jsonl`` (and ``transfer-synthetic-botorch.jsonl``), ``step_times.json``,
``peers.json`` (from ``benchmarks/compare_peers.py --json``) and the image-classifier
experiment's ``table.md`` / figure (from ``experiments/results/<config>/`` when a rerun
wrote its own there, else from ``experiments/results/``); writes ``paper/figures/*.png``, ``paper/tables.md`` and
``paper/paper.md`` (the template ``paper/paper.template.md`` with every ``{{name}}``
filled from the results). Nothing is rerun.

    python paper/make_figures.py                  # from the stored full results
    python paper/make_figures.py --config small   # from the small configuration's results, into paper/small/
    python paper/make_figures.py --coldstart full  # the cold-start suite only (issue 14)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"


def ran(path: Path) -> bool:
    """Whether a results file exists and holds a run beyond its header."""
    return path.exists() and len(path.read_text().splitlines()) > 1


PAPER = ROOT / "paper"
LABELS = {
    "random": "random search", "cold": "cold start (ours)", "identical": "identical warm start",
    "transfer-stacked": "transfer, stacked", "transfer-icm": "transfer, ICM", "transfer-rgpe": "transfer, RGPE",
    "optuna-gp": "Optuna GPSampler", "botorch": "BoTorch LogEI", "ours:lognormal+yj": "ours (default model)",
}


def load_runs(path: Path) -> tuple[dict, list[dict]]:
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def regret_curves(runs: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    """problem -> method -> (seeds, budget) best-so-far simple regret.

    With a known optimum regret is measured from it; otherwise from the best value any
    method reached on that problem (model-tuning tasks: the target is the same every seed).
    """
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        by_problem[r["problem"]].append(r)
    out: dict[str, dict[str, np.ndarray]] = {}
    for problem, rows in by_problem.items():
        maximize = rows[0]["objective_type"] == "Maximize"
        sign = -1.0 if maximize else 1.0
        reference = None
        if rows[0]["optimum"] is None:
            reference = min(sign * v for r in rows for v in r["values"])
        curves: dict[str, list] = defaultdict(list)
        for r in sorted(rows, key=lambda r: r["seed"]):
            best = np.minimum.accumulate(sign * np.asarray(r["values"], dtype=float))
            ref = sign * r["optimum"] if r["optimum"] is not None else reference
            curves[r["method"]].append(np.maximum(best - ref, 0.0))
        out[problem] = {m: np.array(c) for m, c in curves.items()}
    return out


def trials_to_reach(curve: np.ndarray, target: float) -> float:
    hits = np.flatnonzero(curve <= target + 1e-12 * max(1.0, abs(target)))
    return float(hits[0] + 1) if len(hits) else np.inf


def trials_needed(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """Median (over seeds) trials each method needs to reach cold start's final regret."""
    cold = curves["cold"]
    out = {}
    for method, c in curves.items():
        n = [trials_to_reach(c[i], cold[i, -1]) for i in range(min(len(c), len(cold)))]
        out[method] = float(np.median(n))
    return out


def fmt_trials(v: float, budget: int) -> str:
    return f">{budget}" if not np.isfinite(v) else f"{v:g}"


def mean_se(a: np.ndarray) -> tuple[float, float]:
    return float(np.mean(a)), float(np.std(a, ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0


def figure_convergence(curves, budget: int, path: Path, unknown_optimum: set[str]) -> None:
    """Regret with error bands: log10 when the optimum is known; linear, from the best value
    found, when it is not (log of a regret that reaches exactly 0 says nothing)."""
    from matplotlib.figure import Figure

    problems = list(curves)
    cols = min(4, len(problems))
    rows = -(-len(problems) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.3 * rows), dpi=110)
    for k, problem in enumerate(problems):
        ax = fig.add_subplot(rows, cols, k + 1)
        linear = problem in unknown_optimum
        for method, c in curves[problem].items():
            y = c if linear else np.log10(c + 1e-9)
            m = y.mean(0)
            se = y.std(0, ddof=1) / np.sqrt(len(c)) if len(c) > 1 else np.zeros_like(m)
            t = np.arange(1, c.shape[1] + 1)
            line, = ax.plot(t, m, label=LABELS.get(method, method), lw=1.4)
            ax.fill_between(t, m - se, m + se, color=line.get_color(), alpha=0.18)
        ax.set_title(problem)
        ax.set_xlabel("trials")
        ax.set_ylabel("regret to the best found" if linear else "log10 simple regret")
        ax.set_xlim(1, budget)
    fig.axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def figure_step_times(step: dict, peers: dict | None, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=110)
    ax = fig.add_subplot(1, 2, 1)
    ax.plot([r["n"] for r in step["cold"]], [r["later_s"] for r in step["cold"]], "o-", label="warmstart-bo (d=6)")
    if peers:
        for method in ("botorch", "optuna"):
            rows = [r for r in peers["rows"] if method in r["results"] and r["d"] == 6]
            if rows:
                ax.plot([r["n"] for r in rows], [r["results"][method]["later_median_s"] for r in rows], "s--", label=f"{method} (d=6)")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("observations"), ax.set_ylabel("seconds per step"), ax.legend(fontsize=8)
    ax.set_title("one step, cold")
    ax = fig.add_subplot(1, 2, 2)
    for prior in sorted({r["prior"] for r in step["warm"]}):
        rows = [r for r in step["warm"] if r["prior"] == prior]
        ax.plot([r["parent_trials"] for r in rows], [r["later_s"] for r in rows], "o-", label=prior)
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlabel("parent trials (5 parents)"), ax.set_ylabel("seconds per step"), ax.legend(fontsize=8)
    ax.set_title("one step, transfer priors")
    fig.tight_layout()
    fig.savefig(path)


def control_tables(config: str) -> dict[str, str]:
    """The two controls' tables (:mod:`paper.controls`), from their stored JSON lines when
    this configuration has them."""
    sys.path.insert(0, str(ROOT))
    from paper import controls

    values = {}
    path = RESULTS / f"continuation-{config}.jsonl"
    if path.exists():
        values["table_continuation"], extra = controls.continuation(controls.load(path)[1])
        values.update(extra)
    path = RESULTS / f"image_classifier-{config}.jsonl"
    if path.exists():
        header, rows = controls.load(path)
        values["table_image_classifier"], extra = controls.image_classifier(rows)
        values.update(extra, image_setup=header["config"]["description"], image_device=f"{header['device']} ({header['machine']['cpu']})")
    for key in ("table_continuation", "table_image_classifier"):
        values.setdefault(key, "(not run for this configuration)")
    for key in ("continuation_functions", "continuation_seeds", "continuation_worst_ratio", "image_seeds", "image_trials", "image_setup", "image_device"):
        values.setdefault(key, "-")
    return values


def coldstart(name: str, methods: list[str], out: Path) -> None:
    """The cold-start suite (issue 14), from ``experiments/results/coldstart-<name>.jsonl``:
    ``coldstart-<name>.md`` (median [IQR] final regret, average ranks, mean log10 regret
    curves) and ``figures/coldstart-<name>.png``."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import coldstart_table as T

    header, runs = T.load(RESULTS / f"coldstart-{name}.jsonl")
    order = header["config"]["functions"]
    table, _ = T.summary_table(runs, methods, order)
    text = f"<!-- generated by paper/make_figures.py --coldstart {name}; do not edit -->\n\n## Final regret and ranks\n\n{table}\n\n" \
           f"## Mean log10 regret\n\n{T.curve_table(runs, methods, order=order)}\n"
    (out / f"coldstart-{name}.md").write_text(text)
    c = T.curves(runs, methods)
    arrays = {fn: {m: np.stack([c[fn][m][s] for s in sorted(c[fn][m])]) for m in methods} for fn in order if fn in c}
    figure_convergence(arrays, header["config"]["budget"], out / "figures" / f"coldstart-{name}.png", set())
    print(f"wrote {out / f'coldstart-{name}.md'} and {out / 'figures' / f'coldstart-{name}.png'}")


COLDSTART_METHODS = ["ours:lognormal+yj", "optuna-gp", "botorch", "tpe", "random"]


def coldstart_values(name: str = "full") -> dict[str, str]:
    """The paper's cold-start section from ``coldstart-<name>.jsonl``: the final-regret
    table of the default model against the peers, its goal counts and the paired test of
    the new model against the old one; placeholders where the suite has not run."""
    path = RESULTS / f"coldstart-{name}.jsonl"
    keys = ("table_coldstart", "coldstart_summary", "coldstart_vs_old")
    if not path.exists():
        return dict.fromkeys(keys, "(the cold-start suite has not run)")
    sys.path.insert(0, str(ROOT))
    from benchmarks import coldstart_table as T

    header, runs = T.load(path)
    order = header["config"]["functions"]
    present = {r["method"] for r in runs}
    methods = [m for m in COLDSTART_METHODS if m in present]
    table, info = T.summary_table(runs, methods, order)
    seeds = {r["seed"] for r in runs if r["method"] == methods[0]}
    ranks = ", ".join(f"{LABELS.get(m, m)} {info['ranks'][m]:.2f}" for m in sorted(methods, key=info["ranks"].get))
    summary = (f"{len(order)} functions, {len(seeds)} seeds, {header['config']['budget']} evaluations. Average rank: {ranks}. "
               f"The default's median final regret is at most the better peer GP's on {info['goal_peer']} of {len(order)} "
               f"functions and at most random search's on {info['goal_random']}.")
    versus = "(the old model has not run)"
    if "ours:normal-log" in present:
        rows = T.compare(runs, "ours:lognormal+yj", "ours:normal-log", order=order).splitlines()
        overall = next(line for line in rows if line.startswith("| **all**")).split("|")
        versus = (f"Against the old model (Normal on the log lengthscale, outcomes only standardized), over "
                  f"{overall[2].strip()} paired runs the default wins {overall[5].strip()} and loses {overall[6].strip()} "
                  f"(Wilcoxon signed-rank p = {overall[7].strip()}).")
    return {"table_coldstart": table, "coldstart_summary": summary, "coldstart_vs_old": versus}


TRANSFER_KEYS = ("transfer_what_ran", "table_transfer_ranks", "transfer_rank_pairs", "table_transfer_savings",
                 "transfer_savings_trial", "table_transfer_worst", "table_transfer_costs")
DEFAULT_KEYS = ("default_method", "table_default_head_to_head", "table_default_worst", "transfer_default_choice", "table_default_heldout")
# The guard setting's worst cases, one file per prior on today's engine (benchmarks/guard_worst_case.py --out).
GUARD_WORST = ("guard-worst-best-first", "guard-worst-stacked", "guard-worst-hyperprior", "guard-worst-icm", "guard-worst-rgpe", "guard-worst-reseeded")


def transfer_values(figures: Path, config: str = "full") -> dict[str, str]:
    """The paper's transfer-benchmark section (:mod:`paper.transfer`) from
    ``transfer-synthetic.jsonl`` (``transfer-synthetic-<config>.jsonl`` for another config)
    and, where they have run, its BoTorch and Syne Tune files; placeholders (and no figures)
    where the suite has not run."""
    suite = "synthetic" if config == "full" else f"synthetic-{config}"
    main, *peers = (RESULTS / f"transfer-{suite}{part}.jsonl" for part in ("", "-botorch", "-syne"))
    if not ran(main):
        return dict.fromkeys(TRANSFER_KEYS, "(the transfer benchmark has not run)")
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    paths = [main] + [p for p in peers if ran(p)]
    return transfer.section(paths, figures, "synthetic")


def default_values(config: str = "full") -> dict[str, str]:
    """"Which prior is the default": the candidates head to head on the suites that ran them
    all on one engine (the hyperprior suites), the guard setting's worst cases over 30 seeds,
    and each suite's seeds held out from the choice where they ran; the full configuration only."""
    suites = {"synthetic": RESULTS / "transfer-synthetic-hyperprior.jsonl", "model-tuning": RESULTS / "transfer-tuning-hyperprior.jsonl"}
    stored = {name: [p] for name, p in suites.items() if ran(p)}
    if config != "full" or not stored:
        return dict.fromkeys(DEFAULT_KEYS, "(the suites that choose the default have not run for this configuration)")
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    guard = [RESULTS / f"{name}.jsonl" for name in GUARD_WORST if (RESULTS / f"{name}.jsonl").exists()]
    held = {suite: [path] for suite in suites if (path := RESULTS / f"transfer-{suite.removeprefix('model-')}-heldout.jsonl").exists()}
    return transfer.default_section(stored, guard, held)


ABLATION_PAIRS = (("transfer-hyperprior:cold-priors", "transfer-hyperprior"), ("transfer-hyperprior:cold-priors", "best-first"))
# ICM and RGPE, rerun on the hyperprior suites' units after the default was chosen: the default against each.
OTHER_PRIOR_PAIRS = (("best-first", "transfer-icm"), ("best-first", "transfer-rgpe"))


# Each suite's name in the paper's tables and its results files' stem.
SUITE_STEMS = (("synthetic", "synthetic"), ("model-tuning", "tuning"))


def beside_hyperprior_suites(suffix: str) -> dict[str, list[dict]]:
    """The runs of each suite (``synthetic``, ``model-tuning``) whose ``transfer-<stem>-<suffix>.jsonl``
    has run beside its hyperprior suite on the same units: suite -> both files' rows."""
    suites = {name: [RESULTS / f"transfer-{stem}-hyperprior.jsonl", RESULTS / f"transfer-{stem}-{suffix}.jsonl"] for name, stem in SUITE_STEMS}
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    return {name: transfer.R.load([str(p) for p in paths])[1] for name, paths in suites.items() if all(map(ran, paths))}


def ablation_values(config: str = "full") -> dict[str, str]:
    """``table_hyperprior_ablation``: the hyperprior under cold start's hyperparameter priors
    (``experiments/configs/transfer-*-cold-priors.json``) paired with the hyperprior and with
    the parents' best points first on the units of the hyperprior's suites; the full
    configuration only, and the suites whose ablation has run."""
    runs = beside_hyperprior_suites("cold-priors") if config == "full" else {}
    if not runs:
        return {"table_hyperprior_ablation": "(the ablation has not run for this configuration)"}
    from paper import transfer

    tables = {name: transfer.M.curves(rs) for name, rs in runs.items()}
    return {"table_hyperprior_ablation": transfer.pairs_table(tables, list(ABLATION_PAIRS), transfer.checkpoints(runs))}


def suites_in(suffix: str) -> dict[str, list[dict]]:
    """The rows of each suite (``synthetic``, ``model-tuning``) whose
    ``transfer-<stem>-<suffix>.jsonl`` has run, each file on its own: suite -> rows."""
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    paths = {name: RESULTS / f"transfer-{stem}-{suffix}.jsonl" for name, stem in SUITE_STEMS}
    return {name: transfer.R.load([str(p)])[1] for name, p in paths.items() if ran(p)}


OTHER_PRIOR_KEYS = ("table_other_priors", "table_other_priors_ranks")
OTHER_PRIOR_HELDOUT_KEYS = ("table_other_priors_heldout", "table_other_priors_heldout_ranks")
# Where ICM and RGPE ran on today's engine: the hyperprior suites' units (selection seeds),
# and the held-out seeds in files of their own; each a loader of suite -> rows, and its name.
ICM_RGPE_RUNS = ((lambda: beside_hyperprior_suites("icm-rgpe"), "on today's engine"),
                 (lambda: suites_in("heldout-icm-rgpe"), "on the held-out seeds"))


def other_priors_values(config: str = "full") -> dict[str, str]:
    """ICM and RGPE on today's engine: on the hyperprior suites' units
    (``experiments/configs/transfer-*-icm-rgpe.json``), ``table_other_priors``, the default
    paired with each (Holm over that table), and ``table_other_priors_ranks``, every
    candidate's and cold start's average rank; on the held-out seeds, where they ran beside
    cold start and the default in a file of their own (``transfer-*-heldout-icm-rgpe.json``),
    the same two tables under ``table_other_priors_heldout*``. The full configuration only,
    and the suites where they have run."""
    out = {}
    for keys, (load, where) in zip((OTHER_PRIOR_KEYS, OTHER_PRIOR_HELDOUT_KEYS), ICM_RGPE_RUNS):
        runs = load() if config == "full" else {}
        if not runs:
            out.update(dict.fromkeys(keys, f"(ICM and RGPE have not run {where} for this configuration)"))
            continue
        from paper import transfer

        tables = {name: transfer.M.curves(rs) for name, rs in runs.items()}
        out.update(zip(keys, (transfer.pairs_table(tables, list(OTHER_PRIOR_PAIRS), transfer.checkpoints(runs)),
                              transfer.candidate_ranks(tables, transfer.budget(runs)))))
    return out


def matched_budget_values(config: str = "full") -> dict[str, str]:
    """Issue 13's goals at matched budgets (each method after 10 trials against cold start
    after 40, after 25 against 50): ``table_matched_budget`` on the hyperprior suites' units
    with ICM and RGPE beside them, ``table_matched_budget_heldout`` on the held-out seeds'
    ICM / RGPE files (each file's methods against its own cold start). The full
    configuration only, and the suites that have run."""
    out = {}
    for key, (load, where) in zip(("table_matched_budget", "table_matched_budget_heldout"), ICM_RGPE_RUNS):
        runs = load() if config == "full" else {}
        if not runs:
            out[key] = f"(the suites have not run {where} for this configuration)"
            continue
        from paper import transfer

        out[key] = transfer.matched_budget_table({name: transfer.M.curves(rs) for name, rs in runs.items()})
    return out


# The files whose parents' records the headroom table reads: the hyperprior suites (the
# default's selection seeds) and the seeds held out from the choice.
HEADROOM_FILES = (("synthetic, seeds 0-19", "transfer-synthetic-hyperprior"), ("synthetic, held out 20-39", "transfer-synthetic-heldout"),
                  ("model tuning, seeds 0-9", "transfer-tuning-hyperprior"), ("model tuning, held out 10-15", "transfer-tuning-heldout"))


def headroom_values(config: str = "full") -> dict[str, str]:
    """``table_headroom``: how often the parents' best points alone reach cold start's
    regret after 10, 25 and 50 trials, per file of :data:`HEADROOM_FILES` that has run
    (the full configuration only)."""
    paths = {label: RESULTS / f"{stem}.jsonl" for label, stem in HEADROOM_FILES} if config == "full" else {}
    paths = {label: p for label, p in paths.items() if ran(p)}
    if not paths:
        return {"table_headroom": "(the transfer suites have not run for this configuration)"}
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    return {"table_headroom": transfer.headroom_table({label: transfer.R.load([str(p)])[1:] for label, p in paths.items()})}


# The files the pace tables read: the hyperprior suites with ICM and RGPE and the cold-start
# control (another seed) beside them (the default's selection seeds), and the held-out
# seeds' ICM / RGPE files.
PACE_FILES = (("synthetic, seeds 0-19", ("transfer-synthetic-hyperprior", "transfer-synthetic-icm-rgpe", "transfer-synthetic-coldcontrol")),
              ("synthetic, held out 20-39", ("transfer-synthetic-heldout-icm-rgpe",)),
              ("model tuning, seeds 0-9", ("transfer-tuning-hyperprior", "transfer-tuning-icm-rgpe", "transfer-tuning-coldcontrol")),
              ("model tuning, held out 10-15", ("transfer-tuning-heldout-icm-rgpe",)))


def pace_values(config: str = "full") -> dict[str, str]:
    """``table_pace``: the parents' best points followed by cold start's own pace, per band
    of each file of :data:`PACE_FILES` that has run; ``table_endgame``: each method's trials
    from the parents' level to cold start's 25-trial regret against cold start's, related
    parents on the synthetic suites and every unit of model tuning (the full configuration
    only)."""
    files = {label: [RESULTS / f"{stem}.jsonl" for stem in stems] for label, stems in PACE_FILES} if config == "full" else {}
    files = {label: paths for label, paths in files.items() if all(map(ran, paths))}
    if not files:
        return dict.fromkeys(("table_pace", "table_endgame"), "(the transfer suites have not run for this configuration)")
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    loaded = {label: transfer.R.load([str(p) for p in paths])[1:] for label, paths in files.items()}
    return {"table_pace": transfer.pace_table(loaded), "table_endgame": transfer.endgame_table(loaded, "related")}


def suite_keys(prefix: str) -> dict[str, str]:
    """The synthetic section's template keys renamed for another suite's subsection."""
    return {k: k.replace("transfer", prefix) for k in TRANSFER_KEYS}


TUNING_KEYS = suite_keys("tuning")
HYPERPRIOR_KEYS = suite_keys("hyperprior")
HPTUNING_KEYS = suite_keys("hptuning")


def suite_values(figures: Path, config: str, results: str, keys: dict[str, str], what: str, beside: tuple[str, ...] = ()) -> dict[str, str]:
    """A transfer subsection from one results file (``<results>.jsonl``; figures
    ``transfer-<name>-*.png``, the name being ``results`` less its ``transfer-``) and the
    files ``beside`` it that ran the same units on the same code (a control, left out
    where it has not run): the same tables as the synthetic suite's under ``keys``; the
    full configuration only, placeholders for others or where the file has not run."""
    path = RESULTS / f"{results}.jsonl"
    if config != "full" or not ran(path):
        return dict.fromkeys(keys.values(), f"(the {what} has not run for this configuration)")
    sys.path.insert(0, str(ROOT))
    from paper import transfer

    others = [RESULTS / f"{b}.jsonl" for b in beside]
    values = transfer.section([path, *(p for p in others if p.exists())], figures, results.removeprefix("transfer-"))
    return {keys[k]: v for k, v in values.items() if k in keys}


def tuning_values(figures: Path, config: str = "full") -> dict[str, str]:
    """The paper's model-tuning transfer subsection (keys ``tuning_*``) from ``transfer-tuning.jsonl``."""
    return suite_values(figures, config, "transfer-tuning", TUNING_KEYS, "model-tuning suite")


def hyperprior_values(figures: Path, config: str = "full") -> dict[str, str]:
    """The hyperprior's subsection: the synthetic suite (keys ``hyperprior_*``) and the
    model-tuning suite (``hptuning_*``), each run beside cold start, the parents' best
    points first and the default on today's engine, with the suite's cold-start control
    (cold start on another seed; its cold runs are the same)."""
    return {
        **suite_values(figures, config, "transfer-synthetic-hyperprior", HYPERPRIOR_KEYS, "hyperprior's synthetic suite", ("transfer-synthetic-coldcontrol",)),
        **suite_values(figures, config, "transfer-tuning-hyperprior", HPTUNING_KEYS, "hyperprior's model-tuning suite", ("transfer-tuning-coldcontrol",)),
    }


def runner_time(config: str = "full") -> dict[str, str]:
    """``full_run_time``: each stored run's own seconds, summed per suite: what a rerun of
    the config costs at least on the machine that made them (parents' runs, process
    start-ups and the benchmark scripts not counted)."""
    tag = "" if config == "full" else f"-{config}"
    suites = [
        ("transfer benchmark", [f"transfer-synthetic{tag}{part}" for part in ("", "-botorch", "-syne")]),
        ("model-tuning transfer suite", ["transfer-tuning"] if config == "full" else []),
        ("hyperprior suites", ["transfer-synthetic-hyperprior", "transfer-tuning-hyperprior", "transfer-synthetic-cold-priors", "transfer-tuning-cold-priors",
                               "transfer-synthetic-icm-rgpe", "transfer-tuning-icm-rgpe"] if config == "full" else []),
        ("cold-start suite", [f"coldstart-{config}"]),
        ("first convergence suite", [f"convergence-{config}"]),
        ("identical-data continuation", [f"continuation-{config}"]),
        ("image classifier", [f"image_classifier-{config}"]),
    ]
    parts, total = [], 0.0
    for name, files in suites:
        seconds = 0.0
        for f in files:
            path = RESULTS / f"{f}.jsonl"
            if path.exists():
                seconds += sum(json.loads(line).get("seconds", 0.0) for line in path.read_text().splitlines()[1:])
        if seconds:
            parts.append(f"{name} {seconds / 3600:.1f} h")
            total += seconds
    return {"full_run_time": f"{', '.join(parts)}; {total / 3600:.1f} h in all" if parts else "(no stored runs)"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="full", help="which convergence results to use")
    ap.add_argument("--out", default=None, help="default: paper/ for the full results, paper/<config>/ for others")
    ap.add_argument("--coldstart", metavar="NAME", help="only the cold-start suite's tables and figure, from coldstart-NAME.jsonl")
    ap.add_argument("--coldstart-methods", default="ours:lognormal+yj,ours:normal-log,optuna-gp,tpe,random",
                    help="with --coldstart: the methods, ours first (ours:lognormal+yj is the default model; add botorch where it ran)")
    args = ap.parse_args(argv)
    if args.coldstart:
        out = Path(args.out) if args.out else PAPER
        (out / "figures").mkdir(parents=True, exist_ok=True)
        coldstart(args.coldstart, args.coldstart_methods.split(","), out)
        return
    out = Path(args.out) if args.out else PAPER if args.config == "full" else PAPER / args.config
    (out / "figures").mkdir(parents=True, exist_ok=True)
    header, runs = load_runs(RESULTS / f"convergence-{args.config}.jsonl")
    budget = header["config"]["budget"]
    curves = regret_curves(runs)
    values: dict[str, str] = {}
    seeds = sorted({r["seed"] for r in runs})
    methods = [m for m in header["methods_run"] if any(m in c for c in curves.values())]
    values.update(
        config=args.config, budget=str(budget), n_seeds=str(len(seeds)), n_problems=str(len(curves)),
        parent_trials=str(header["config"]["parent_trials"]), similarity=str(header["config"].get("similarity")),
        problems=", ".join(curves), methods=", ".join(LABELS.get(m, m) for m in methods),
        peers_missing=", ".join(header["peers_missing"]) or "none",
        machine=f"{header['machine']['cpu']}, {header['machine']['cores']} cores",
        versions=", ".join(f"{k} {v}" for k, v in header["versions"].items() if v),
    )

    unknown = {r["problem"] for r in runs if r["optimum"] is None}
    figure_convergence(curves, budget, out / "figures" / "convergence.png", unknown)

    # Table 1: trials needed to reach cold start's final result.
    lines = ["| problem | " + " | ".join(LABELS.get(m, m) for m in methods) + " |", "|---" * (len(methods) + 1) + "|"]
    saved_transfer, saved_identical, helped, hurt = [], [], [], []
    for problem, c in curves.items():
        need = trials_needed(c)
        lines.append(f"| {problem} | " + " | ".join(fmt_trials(need.get(m, np.nan), budget) if m in need else "-" for m in methods) + " |")
        transfer = [m for m in c if m.startswith("transfer-")]
        if transfer:
            best_t = min(need[m] for m in transfer)
            saved_transfer.append((problem, budget - best_t if np.isfinite(best_t) else 0.0))
            (helped if best_t < budget else hurt).append(problem)
        if "identical" in need:
            saved_identical.append((problem, budget - need["identical"] if np.isfinite(need["identical"]) else 0.0))
    table_trials = "\n".join(lines)

    # Table 2: regret after 1, 5 and all trials, mean +- standard error.
    checkpoints = sorted({1, min(5, budget), budget})
    lines = ["| problem | method | " + " | ".join(f"regret @ {t}" for t in checkpoints) + " |", "|---|---|" + "---|" * len(checkpoints)]
    for problem, c in curves.items():
        for m in methods:
            if m not in c:
                continue
            cells = []
            for t in checkpoints:
                mu, se = mean_se(c[m][:, t - 1])
                cells.append(f"{mu:.3g} ± {se:.2g}")
            lines.append(f"| {problem} | {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    table_regret = "\n".join(lines)

    # Headline: trials saved per family.
    lines = ["| problem | trials saved, transfer (stacked, the default) | trials saved, best of the three priors | trials saved, identical warm start |", "|---|---|---|---|"]
    ident = dict(saved_identical)
    for problem, s in saved_transfer:
        need = trials_needed(curves[problem]).get("transfer-stacked", np.inf)
        default = budget - need if np.isfinite(need) else 0.0
        lines.append(f"| {problem} | {default:g} of {budget} | {s:g} of {budget} | {ident.get(problem, float('nan')):g} of {budget} |")
    table_headline = "\n".join(lines)
    values.update(
        transfer_helped=", ".join(helped) or "none", transfer_not_helped=", ".join(hurt) or "none",
        n_transfer_helped=str(len(helped)),
        median_saved_transfer=f"{np.median([s for _, s in saved_transfer]):g}" if saved_transfer else "n/a",
        median_saved_identical=f"{np.median([s for _, s in saved_identical]):g}" if saved_identical else "n/a",
    )

    # Step times.
    table_steps = "(no step-time results)"
    side = RESULTS / args.config if (RESULTS / args.config).is_dir() else RESULTS  # a rerun's own timings
    step_path, peers_path = side / "step_times.json", side / "peers.json"
    if step_path.exists():
        step = json.loads(step_path.read_text())
        peers = json.loads(peers_path.read_text()) if peers_path.exists() else None
        figure_step_times(step, peers, out / "figures" / "step_times.png")
        lines = ["| parent trials | " + " | ".join(sorted({r["prior"] for r in step["warm"]})) + " |"]
        lines.append("|---" * (1 + len({r["prior"] for r in step["warm"]})) + "|")
        for n in sorted({r["parent_trials"] for r in step["warm"]}):
            rows = {r["prior"]: r for r in step["warm"] if r["parent_trials"] == n}
            lines.append(f"| {n} | " + " | ".join(f"{rows[p]['later_s'] * 1e3:.0f} ms" for p in sorted(rows)) + " |")
        table_steps = "\n".join(lines)
        values["step_machine"] = step["machine"]["processor"]
        if peers:
            lines = ["| n | d | warmstart-bo | " + " | ".join(m for m in ("botorch", "optuna") if any(m in r["results"] for r in peers["rows"])) + " |"]
            present = [m for m in ("botorch", "optuna") if any(m in r["results"] for r in peers["rows"])]
            lines.append("|---|---|---|" + "---|" * len(present))
            ratios = defaultdict(list)
            for r in peers["rows"]:
                ours = r["results"]["warmstart_bo"]["later_median_s"]
                cells = []
                for m in present:
                    theirs = r["results"][m]["later_median_s"]
                    ratios[m].append(theirs / ours)
                    cells.append(f"{theirs:.3f} s ({theirs / ours:.1f}x)")
                lines.append(f"| {r['n']} | {r['d']} | {ours:.3f} s | " + " | ".join(cells) + " |")
            values["table_peers"] = "\n".join(lines)
            values["peer_ratios"] = ", ".join(f"{m} {min(v):.1f}x to {max(v):.1f}x" for m, v in ratios.items())
            values["peer_machine"] = f"{peers['machine']['cpu']}, {peers['machine']['threads_used']} threads"
    values.setdefault("table_peers", "(peers not measured)")
    values.setdefault("peer_ratios", "not measured")
    values.setdefault("peer_machine", "-")
    values.setdefault("step_machine", "-")

    values.update(control_tables(args.config))
    values.update(coldstart_values())
    values.update(default_values(args.config))
    values.update(transfer_values(out / "figures", args.config))
    values.update(tuning_values(out / "figures", args.config))
    values.update(hyperprior_values(out / "figures", args.config))
    values.update(ablation_values(args.config))
    values.update(other_priors_values(args.config))
    values.update(matched_budget_values(args.config))
    values.update(headroom_values(args.config))
    values.update(pace_values(args.config))
    values.update(runner_time(args.config))

    values.update(table_trials=table_trials, table_regret=table_regret, table_headline=table_headline, table_steps=table_steps)
    tables = "\n\n".join(f"## {k}\n\n{values[k]}" for k in ("table_default_head_to_head", "table_default_worst", "table_default_heldout", "table_transfer_ranks", "table_transfer_savings", "table_transfer_worst", "table_transfer_costs", "table_tuning_ranks", "table_tuning_savings", "table_tuning_worst", "table_hyperprior_ranks", "table_hyperprior_savings", "table_hyperprior_worst", "table_hptuning_ranks", "table_hptuning_savings", "table_hptuning_worst", "table_hyperprior_ablation", "table_other_priors", "table_other_priors_ranks", "table_other_priors_heldout", "table_other_priors_heldout_ranks", "table_matched_budget", "table_matched_budget_heldout", "table_headroom", "table_pace", "table_endgame", "table_headline", "table_trials", "table_regret", "table_steps", "table_peers", "table_continuation", "table_image_classifier", "table_coldstart"))
    (out / "tables.md").write_text(f"<!-- generated by paper/make_figures.py --config {args.config}; do not edit -->\n\n{tables}\n")
    template = (PAPER / "paper.template.md").read_text()
    unknown = sorted(set(re.findall(r"\{\{(\w+)\}\}", template)) - set(values))
    if unknown:
        sys.exit(f"paper.template.md uses values the results do not give: {unknown}")
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)
    (out / "paper.md").write_text(f"<!-- generated by paper/make_figures.py --config {args.config} from paper.template.md; do not edit -->\n\n{text}")
    print(f"wrote {out / 'paper.md'}, {out / 'tables.md'} and {out / 'figures'}")


if __name__ == "__main__":
    main()
