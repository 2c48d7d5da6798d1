"""Warm start over 10 seeds on task families from the transfer-BO literature (slow).

Parents are cold 50- or 20-trial Bayesian runs on their own tasks; every run is seeded.
"""

import numpy as np
import pytest

from benchmarks.families import FAMILIES, unrelated
from benchmarks.transfer_runs import parent_history, run
from warmstart_bo import Optimizer, WarmStartTypes

SEEDS = range(10)
TRANSFER = WarmStartTypes.TRANSFER_LEARNING
IDENTICAL = WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM


@pytest.mark.slow
def test_transfer_from_three_related_parents_after_10_trials_matches_cold_start_after_30():
    """The default prior's saving on a related family: 10 transfer trials reach the median
    regret of 30 cold ones (a 3x saving; the transfer-benchmark issue's goal is 4x). Each
    claim was restated when the cold start improved, never the transfer side: 5x (cold start
    after 50) until the engine's refits (cold at 50: 6.8e-5 before, 8.6e-6 after); 4x until
    the LogNormal lengthscale prior and Yeo-Johnson outcomes of the cold-start suite (cold at
    40: 3.8e-6, at 30: 5.0e-5; transfer after 10: 1.9e-5)."""
    fam = FAMILIES["hartmann3"]
    warm, cold = [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        target = fam.task(rng, 0.8)
        parents = [parent_history(fam, fam.task(rng, 0.8), 50, 1000 * seed + i, f"p{i}") for i in range(3)]
        cold.append(run(fam, target, 50, seed)[0])
        warm.append(run(fam, target, 10, seed, parents, TRANSFER)[0][-1])
    cold = np.array(cold)
    print(f"\nhartmann3 family: transfer after 10 median regret {np.median(warm):.2e}; cold start after "
          + ", ".join(f"{k}: {np.median(cold[:, k - 1]):.2e}" for k in (10, 20, 30, 40, 50)))
    assert np.median(warm) <= np.median(cold[:, 29])


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
def test_an_unrelated_parent_costs_no_more_than_a_standard_error_after_30_trials():
    fam = FAMILIES["branin"]
    warm, cold = [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        target = fam.task(rng, 0.8)
        parent = parent_history(fam, unrelated(fam.task(rng, 0.8)), 50, 2000 + seed, "flipped")
        cold.append(run(fam, target, 30, seed)[0][-1])
        warm.append(run(fam, target, 30, seed, [parent], TRANSFER)[0][-1])
    warm, cold = np.array(warm), np.array(cold)
    se = cold.std(ddof=1) / np.sqrt(len(cold))
    print(f"\nbranin with a sign-flipped parent: mean regret after 30 {warm.mean():.2e} vs cold start {cold.mean():.2e} (standard error {se:.1e})")
    assert warm.mean() <= cold.mean() + se


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["stacked", "icm", "rgpe"])
def test_five_parents_of_500_trials_each_work(prior):
    fam = FAMILIES["hartmann6"]
    from warmstart_bo.space import SearchSpace
    from warmstart_bo.transfer import ParentHistory

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
