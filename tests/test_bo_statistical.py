"""BO beats random search on standard functions (10 seeds, 50 evaluations): Branin and
Hartmann-6 with 10 initial points, and six-hump camel on its wide box (outputs from -1 to
above 160, steep walls; issue 14) with the defaults a new user gets."""

import numpy as np
import pytest

from warmstart_bo import Optimizer
from warmstart_bo.space import SearchSpace
from warmstart_bo.testfunctions import (
    BRANIN_OPTIMUM,
    BRANIN_SPACE,
    HARTMANN6_OPTIMUM,
    HARTMANN6_SPACE,
    branin,
    hartmann6,
)

SEEDS = range(10)
BUDGET = 50


def bo_regret(f, space, optimum, seed):
    opt = Optimizer(space, objective_type="Minimize", random_seed=seed, n_initial_points=10)
    for _ in range(BUDGET):
        (p,) = opt.ask()
        opt.tell([p], [f(p)])
    return opt.best()[1] - optimum


def random_regret(f, space, optimum, seed):
    s = SearchSpace(space)
    rng = np.random.default_rng(1000 + seed)
    return min(f(p) for p in s.decode_many(rng.random((BUDGET, s.dim)))) - optimum


@pytest.mark.slow
@pytest.mark.parametrize(
    "f, space, optimum, median_bound",
    [(branin, BRANIN_SPACE, BRANIN_OPTIMUM, 1e-3), (hartmann6, HARTMANN6_SPACE, HARTMANN6_OPTIMUM, 0.2)],
    ids=["branin", "hartmann6"],
)
def test_bo_beats_random_search(f, space, optimum, median_bound):
    bo = np.array([bo_regret(f, space, optimum, s) for s in SEEDS])
    rs = np.array([random_regret(f, space, optimum, s) for s in SEEDS])
    print(f"\n{f.__name__}: BO median regret {np.median(bo):.2e} (mean {bo.mean():.2e}), random {np.median(rs):.2e}")
    assert np.median(bo) < median_bound
    assert np.median(bo) < np.median(rs)
    assert np.sum(bo < rs) >= 8


@pytest.mark.slow
def test_defaults_beat_random_search_on_a_large_output_range():
    from benchmarks.coldstart_functions import get

    f = get("six-hump-camel")

    def defaults(seed):
        opt = Optimizer(f.space, objective_type="Minimize", random_seed=seed)
        for _ in range(BUDGET):
            (p,) = opt.ask()
            opt.tell([p], [f.true(p)])
        return opt.best()[1] - f.optimum

    bo = np.array([defaults(s) for s in SEEDS])
    rs = np.array([random_regret(f.true, f.space, f.optimum, s) for s in SEEDS])
    print(f"\nsix-hump camel: BO median regret {np.median(bo):.2e}, random {np.median(rs):.2e}, BO better on {np.sum(bo < rs)} seeds")
    assert np.median(bo) < np.median(rs)
    # Stronger, from the cold-start suite: the default model (LogNormal lengthscale prior,
    # Yeo-Johnson outcomes) reached 1e-4 or less on seeds 0-2 there; the model it replaced
    # 4e-4 to 7e-4, random search 0.26 to 0.94.
    assert np.median(bo) < 1e-3
    assert np.sum(bo < rs) >= 9
