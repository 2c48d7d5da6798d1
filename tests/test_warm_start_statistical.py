"""Warm start over 10 seeds on task families from the transfer-BO literature (slow).

Parents are cold 50- or 20-trial Bayesian runs on their own tasks; every run is seeded.
"""

import numpy as np
import pytest

from benchmarks.families import FAMILIES, unrelated
from benchmarks.transfer_runs import parent_history, run
from warmstart_bo import Optimizer, WarmStartTypes
from warmstart_bo.transfer import ParentHistory, hyperprior

SEEDS = range(10)
TRANSFER = WarmStartTypes.TRANSFER_LEARNING
IDENTICAL = WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM
# Regret below this counts as this (an optimum hit exactly), so log-regret stays finite.
FLOOR = 1e-12


@pytest.mark.slow
def test_transfer_from_three_related_parents_after_10_trials_matches_cold_start_after_30():
    """The default prior's saving on a related family, paired seed by seed: 10 transfer trials
    reach a lower mean log10 regret than 30 cold ones (a 3x saving; the transfer-benchmark
    issue's goal is 4x), and are significantly better than 20 cold ones (one-sided Wilcoxon).
    Each claim was restated when the cold start improved, never the transfer side: 5x (cold
    start after 50) until the engine's refits (cold at 50: 6.8e-5 before, 8.6e-6 after); 4x
    until the LogNormal lengthscale prior and Yeo-Johnson outcomes of the cold-start suite
    (cold at 40: 3.8e-6, at 30: 5.0e-5; transfer after 10: 1.9e-5).

    It compared medians until another machine (an AMD EPYC with AVX-512; the same code had
    passed on the earlier one, so rounding in XLA's CPU code is the likely cause) gave
    transfer after 10 a median of 5.4e-5 against cold's 4.2e-5 after 30, while seed by seed
    cold start needed a median 30.5 trials to reach transfer's 10-trial regret and
    transfer's mean log10 regret was 0.49 below cold's after 30: a median of ten
    heavy-tailed values moved with rounding, the paired measures of issue 13 did not.

    Measured with the default, the parents' best points first: -0.66 and p = 0.001 (the
    stacked prior, the default before, -0.37)."""
    fam = FAMILIES["hartmann3"]
    warm, cold = [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        target = fam.task(rng, 0.8)
        parents = [parent_history(fam, fam.task(rng, 0.8), 50, 1000 * seed + i, f"p{i}") for i in range(3)]
        cold.append(run(fam, target, 50, seed)[0])
        warm.append(run(fam, target, 10, seed, parents, TRANSFER)[0][-1])
    from scipy.stats import wilcoxon

    cold, warm = np.array(cold), np.array(warm)
    log_gap = np.mean(np.log10(np.maximum(warm, FLOOR)) - np.log10(np.maximum(cold[:, 29], FLOOR)))
    p_better_than_20 = wilcoxon(warm, cold[:, 19], alternative="less").pvalue
    print(f"\nhartmann3 family: transfer after 10 median regret {np.median(warm):.2e}; cold start after "
          + ", ".join(f"{k}: {np.median(cold[:, k - 1]):.2e}" for k in (10, 20, 30, 40, 50))
          + f"; mean log10 regret, transfer after 10 minus cold after 30: {log_gap:+.2f}; one-sided Wilcoxon against cold after 20: p = {p_better_than_20:.4f}")
    assert log_gap <= 0.0
    assert p_better_than_20 < 0.05


@pytest.mark.slow
def test_identical_continuation_of_a_20_trial_parent_beats_a_fresh_10_trial_job():
    fam = FAMILIES["branin"]
    task = fam.nominal_task()
    optimum = fam.minimum(task)
    continued, fresh = [], []
    for seed in SEEDS:
        parent = parent_history(fam, task, 20, 500 + seed, "parent")
        opt = Optimizer(fam.space, objective_type="Minimize", random_seed=seed, parents=[parent], warm_start_type=IDENTICAL)
        for _ in range(10):
            (p,) = opt.ask()
            opt.tell([p], [task(p)])
        continued.append(opt.best()[1] - optimum)
        fresh.append(run(fam, task, 10, seed)[0][-1])
    continued, fresh = np.array(continued), np.array(fresh)
    print(f"\nbranin: 10 trials continuing a 20-trial parent, median regret {np.median(continued):.2e}; fresh 10-trial job {np.median(fresh):.2e}")
    assert np.median(continued) < np.median(fresh)
    assert np.sum(continued < fresh) >= 8


@pytest.mark.slow
def test_a_sign_flipped_parent_costs_little_against_cold_start_after_30_trials():
    """Branin with one sign-flipped 50-trial parent, 30 seeds, paired with cold start: the
    default prior's regret after 30 trials is within 1.5x of cold start's in geometric
    mean over the seeds (mean log10 regret, issue 13's measure), and a one-sided Wilcoxon
    test does not find it worse. Measured with the parents' best points first: ratio
    0.87, p = 0.20, 13 of 30 seeds better, median 9.4e-4 against cold's 9.6e-4; with the
    guarded stacked prior, the default before: 1.02, p = 0.47, 15 of 30.

    Why 30 seeds and not 10: the ten-seed ratio is mostly the draw. Over seeds 0-59 in
    blocks of ten it was 1.92, 0.86, 0.64, 0.55, 0.52, 1.21 (0.85 over all 60), and on the
    code before the fit profiled its means 1.31, 1.89, 0.23, 1.48, 5.07, 1.70 (1.39): that
    code passed on seeds 0-9 and would have failed on three other blocks; this one fails
    on seeds 0-9 alone. ``python benchmarks/flipped_parent_seeds.py --summary
    experiments/results/flipped-parent/*.jsonl`` prints them.

    This is a bound on the damage, not a test of the guard: stacked without it
    (``transfer_guard=False``) gives 0.91, p = 0.06 on the same seeds, and passes too.
    The worst cases are the next test's."""
    from scipy.stats import wilcoxon

    fam = FAMILIES["branin"]
    warm, cold = [], []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        target = fam.task(rng, 0.8)
        parent = parent_history(fam, unrelated(fam.task(rng, 0.8)), 50, 2000 + seed, "flipped")
        cold.append(run(fam, target, 30, seed)[0][-1])
        warm.append(run(fam, target, 30, seed, [parent], TRANSFER)[0][-1])
    warm, cold = np.array(warm), np.array(cold)
    p_worse = wilcoxon(warm, cold, alternative="greater").pvalue
    ratio = 10 ** np.mean(np.log10(np.maximum(warm, FLOOR)) - np.log10(np.maximum(cold, FLOOR)))
    print(f"\nbranin with a sign-flipped parent: median regret after 30 {np.median(warm):.2e} vs cold start {np.median(cold):.2e}; "
          f"{np.sum(warm < cold)}/30 seeds better; geometric-mean ratio {ratio:.2f}; one-sided Wilcoxon p = {p_worse:.3f}")
    assert ratio <= 1.5
    assert p_worse >= 0.05


@pytest.mark.slow
@pytest.mark.parametrize("adversary", ["flipped", "far", "unrelated"])
def test_adversarial_parents_cost_at_most_1_25x_cold_starts_worst_seed(adversary):
    """Three adversarial 20-trial parents of moved Hartmann-3 tasks (sign-flipped, optimum
    in the far corner, an unrelated smooth function; ``benchmarks/transfer_suite.py``),
    seeds 0-29, the default prior: the worst seed's regret after 25 trials within issue
    13's 1.25x of cold start's worst seed. Measured with the default, the parents' best
    points first: 1.12x, 1.11x and 0.89x (``experiments/results/guard-worst-best-first.txt``).

    Why 30 seeds: on seeds 0-9 the bound is below its noise floor. None of cold start's
    seeds 0-9 ends in Hartmann-3's second basin, so cold start on other seeds is 3.40x
    there, and every prior that explores at all fails it (best-first 13.8x, 13.7x, 10.9x);
    over seeds 0-29 that control is 1.14x. The stacked prior, the default until this test
    moved to 30 seeds, passed 2.5x on seeds 0-9 and is 2.65x over 0-29 with far-corner
    parents (``guard-worst-reseeded.txt``, ``fit-profile-probe/``; README "The slow
    guard test's noise floor")."""
    from benchmarks.guard_worst_case import regrets

    warm, cold = regrets(None, adversary, range(30))
    print(f"\nhartmann3/{adversary}: worst regret after 25, transfer {max(warm):.3g}, cold {max(cold):.3g}; medians {np.median(warm):.3g}, {np.median(cold):.3g}")
    assert max(warm) <= 1.25 * max(cold)


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["stacked", "icm", "rgpe", "hyperprior"])
def test_five_parents_of_500_trials_each_work(prior):
    fam = FAMILIES["hartmann6"]
    from warmstart_bo.space import SearchSpace

    space = SearchSpace(fam.space)
    rng = np.random.default_rng(0)
    parents = []
    for i in range(5):
        task = fam.task(rng, 0.8)
        params = space.decode_many(rng.random((500, space.dim)))
        parents.append(ParentHistory(f"p{i}", params, [task(p) for p in params], fam.space))
    target = fam.task(rng, 0.8)
    opt = Optimizer(fam.space, objective_type="Minimize", random_seed=0, parents=parents, warm_start_type=TRANSFER, transfer_prior=prior)
    values = []
    for _ in range(4):
        batch = opt.ask(2)
        opt.tell(batch, [target(p) for p in batch])
        values += [target(p) for p in batch]
    assert opt.num_observations == 8 and opt.last_transfer["prior"] == prior
    # 2,500 parent trials of related tasks: the first picks are already good Hartmann-6 points.
    assert min(values) < -2.0


@pytest.mark.slow
def test_the_hyperprior_after_17_trials_beats_cold_start_after_20_on_a_related_family():
    """The hyperprior (parents' hyperparameters as the target's priors, their best points
    first) on moved Hartmann-3 at similarity 0.75 with three 30-trial parents, the units of
    ``experiments/configs/transfer-synthetic-hyperprior.json`` for seeds 0-9: 17 trials reach
    a lower mean log10 regret than cold start's 25 and are significantly better than cold
    start's 20 (one-sided Wilcoxon). Measured in that file, guarded (the default, four check
    points): log gap -0.20 against 25 and p = 0.007 against 20 (seeds 10-19: -0.74 and
    p = 0.010). This was 15 trials while the check took two design points (-0.09 and
    p = 0.024); the two more it takes now cost the same trials here (after 15: +0.06)."""
    from scipy.stats import wilcoxon

    from benchmarks.transfer_runs import bo_run, cold_parents
    from benchmarks.transfer_suite import synthetic

    cold, warm = [], []
    for seed in SEEDS:
        problem = synthetic("hartmann3", seed, 0.75, 3)
        parents = cold_parents(problem, 30, seed)
        cold.append(np.minimum.accumulate(bo_run(problem.space, problem.target, 25, seed)["values"]) - problem.optimum)
        warm.append(min(bo_run(problem.space, problem.target, 17, seed, parents, TRANSFER, "hyperprior")["values"]) - problem.optimum)
    cold, warm = np.maximum(np.array(cold), FLOOR), np.maximum(np.array(warm), FLOOR)
    log_gap = np.mean(np.log10(warm) - np.log10(cold[:, 24]))
    p_better_than_20 = wilcoxon(warm, cold[:, 19], alternative="less").pvalue
    print(f"\nhartmann3/sim0.75, hyperprior after 17: median regret {np.median(warm):.2e}; cold after 20 / 25: "
          f"{np.median(cold[:, 19]):.2e} / {np.median(cold[:, 24]):.2e}; log gap against 25 {log_gap:+.2f}; p against 20 = {p_better_than_20:.4f}")
    assert log_gap <= 0.0
    assert p_better_than_20 < 0.05


@pytest.mark.slow
def test_the_hyperprior_check_refutes_sign_flipped_parents_and_bounds_their_damage():
    """The guarded hyperprior on moved Hartmann-3 (the units of
    ``experiments/configs/transfer-synthetic-hyperprior.json``, seeds 0-9): the check
    refutes sign-flipped parents on at least 9 of 10 seeds and confirms related parents
    (similarity 0.75) on at least 9, and with the flipped parents the mean log10 regret
    after 50 trials is at most 0.6 above cold start's. Measured in that file (four check
    points): refuted 10 of 10 and confirmed 10 of 10; the log gap +0.04, against +1.90
    unguarded."""
    from benchmarks.transfer_runs import bo_run, cold_parents
    from benchmarks.transfer_suite import synthetic

    confirmed, gap = {"flipped": 0, None: 0}, []
    for adversary in ("flipped", None):
        for seed in SEEDS:
            problem = synthetic("hartmann3", seed, 0.75, 3, adversary=adversary)
            parents = cold_parents(problem, 30, seed)
            budget = 50 if adversary else hyperprior.OPENING_POINTS + hyperprior.CHECK_POINTS + 1
            warm = bo_run(problem.space, problem.target, budget, seed, parents, TRANSFER, "hyperprior")
            confirmed[adversary] += warm["transfer_used"] == 1.0  # refuted: not used from the check's ask on
            if adversary:
                cold = bo_run(problem.space, problem.target, budget, seed)
                gap.append(np.log10(max(min(warm["values"]) - problem.optimum, FLOOR)) - np.log10(max(min(cold["values"]) - problem.optimum, FLOOR)))
    print(f"\nhyperprior check: confirmed flipped {confirmed['flipped']}/10, related {confirmed[None]}/10; flipped log gap after 50 {np.mean(gap):+.2f}")
    assert confirmed["flipped"] <= 1 and confirmed[None] >= 9
    assert np.mean(gap) <= 0.6
