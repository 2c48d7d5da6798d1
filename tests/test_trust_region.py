"""The trust region of the best-first-local warm start: its rules, and the job using it."""

import numpy as np
import pytest

from warmstart_bo import ContinuousParameter, Optimizer, trust_region
from warmstart_bo.space import SearchSpace
from warmstart_bo.transfer import ParentHistory
from warmstart_bo.trust_region import MIN_SIDE, START_SIDE, Region, box, gate, replay
from warmstart_bo.warmstart import WarmStartTypes

SPACE = {"x0": ContinuousParameter(0.0, 1.0), "x1": ContinuousParameter(0.0, 1.0)}
OPTIMUM = np.array([0.3, 0.7])


def bowl(params: dict) -> float:
    return float(np.sum((np.array([params["x0"], params["x1"]]) - OPTIMUM) ** 2))


def side_by_hand(values, local, dim, side=START_SIDE):
    """TuRBO's rule written out step by step, for comparison."""
    succ = fail = 0
    best = -np.inf
    for v, is_local in zip(values, local):
        if is_local and side >= MIN_SIDE:
            if v > best + 1e-3 * abs(best):
                succ, fail = succ + 1, 0
            else:
                succ, fail = 0, fail + 1
            if succ == 3:
                side, succ = min(2 * side, 1.6), 0
            elif fail == max(4, dim):
                side, fail = side / 2, 0
        best = max(best, v)
    return side


def test_replay_follows_turbos_rule_on_random_histories():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n, dim = int(rng.integers(1, 60)), int(rng.integers(1, 8))
        # Mostly non-improving with runs of improvements, so both rules fire.
        values = np.cumsum(np.where(rng.random(n) < 0.35, rng.random(n), -rng.random(n)))
        local = rng.random(n) < 0.8
        assert replay(values, local, dim).side == side_by_hand(values, local, dim), trial


def test_region_doubles_halves_and_is_spent():
    up = replay([1.0, 2.0, 3.0, 4.0], [False, True, True, True], dim=2)
    assert up == Region(2 * START_SIDE)
    down = replay([1.0] + [0.5] * 4, [False] + [True] * 4, dim=2)
    assert down == Region(START_SIDE / 2)
    # max(4, d) failures at d = 6: five are not yet a halving.
    assert replay([1.0] + [0.5] * 5, [False] + [True] * 5, dim=6) == Region(START_SIDE, 0, 5)
    # Design points move the incumbent but are not the region's asks.
    assert replay([1.0, 5.0, 2.0], [False, False, True], dim=2) == Region(START_SIDE, 0, 1)
    spent = replay([1.0] + [0.0] * 200, [False] + [True] * 200, dim=2)
    assert not spent.alive and spent.side < MIN_SIDE <= 2 * spent.side
    # Once spent, improvements told later do not revive it.
    assert replay([1.0] + [0.0] * 200 + [9.0, 10.0, 11.0], [False] + [True] * 203, dim=2) == spent


def test_box_scales_by_lengthscales_keeps_volume_and_frees_categoricals():
    lo, hi = box(np.array([0.5, 0.5, 0.5]), np.array([0.1, 0.4, 1.6]), 0.2)
    np.testing.assert_allclose(hi - lo, [0.05, 0.2, 0.8])
    np.testing.assert_allclose(np.prod(hi - lo), 0.2**3)
    lo, hi = box(np.array([0.05, 0.95]), np.array([1.0, 1.0]), 0.4)
    np.testing.assert_allclose(lo, [0.0, 0.75]) and np.testing.assert_allclose(hi, [0.25, 1.0])
    lo, hi = box(np.array([0.5, 0.5]), np.array([1.0, 1.0]), 0.4, free=np.array([False, True]))
    np.testing.assert_allclose(lo, [0.3, 0.0]) and np.testing.assert_allclose(hi, [0.7, 1.0])


def test_the_beat_gate_asks_the_best_opening_point_to_beat_the_design():
    assert gate([1.0, 3.0], [2.0, 2.5], rule="beat") and not gate([1.0, 2.0], [2.0, 0.0], rule="beat")
    assert not gate([], [1.0], rule="beat") and not gate([1.0], [], rule="beat")
    assert not gate([2.0], [2.0], rule="beat")  # a tie is no evidence for the parents
    assert trust_region.GATE == "gap" and gate([1.0, 3.0], [2.0, 2.5]) == gate([1.0, 3.0], [2.0, 2.5], rule="gap") is False


def parent(best: np.ndarray, seed: int) -> ParentHistory:
    """Twenty trials of the bowl moved to ``best``, as a parent job would have them."""
    x = np.random.default_rng(seed).random((20, 2))
    x[0] = best
    params = SearchSpace(SPACE).decode_many(x)
    return ParentHistory(f"p{seed}", params, [float(np.sum((p - best) ** 2)) for p in x])


def job(prior: str, parents, seed: int = 0) -> Optimizer:
    return Optimizer(SPACE, "Minimize", random_seed=seed, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior=prior)


def run(opt: Optimizer, n: int) -> list[dict]:
    asked = []
    for _ in range(n):
        (p,) = opt.ask()
        opt.tell([p], [bowl(p)])
        asked.append(p)
    return asked


def test_related_parents_pass_the_gate_and_the_asks_stay_in_the_region():
    opt = job("best-first-local", [parent(OPTIMUM + [0.03, -0.02], 1), parent(OPTIMUM + [-0.02, 0.04], 2)])
    assert opt.last_transfer["opening_points"] == 3  # each parent's best, then the first's second best
    run(opt, 3 + trust_region.GATE_POINTS)
    assert "local_search" not in opt.last_transfer  # decided at the next ask
    for step in range(8):
        x_obs = np.array(opt._x)
        centre = x_obs[int(np.argmin(opt._y))]
        (p,) = opt.ask()
        if step == 0:
            assert opt.last_transfer["local_search"] is True and opt.n_initial_points == 5
        side = opt.last_transfer["trust_region_side"]
        lo, hi = box(centre, np.exp(opt.fitted_params().log_lengthscales), side)
        x = SearchSpace(SPACE).encode(p)
        assert np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12) and np.any(hi - lo < 1.0)
        opt.tell([p], [bowl(p)])
    assert min(opt._y) < 1e-3


def test_misleading_parents_fail_the_gate_and_the_job_is_best_firsts():
    far = [parent(np.array([0.95, 0.05]), 1), parent(np.array([0.9, 0.1]), 2)]
    local, plain = job("best-first-local", far), job("best-first", far)
    assert run(local, 14) == run(plain, 14)
    assert local.last_transfer["local_search"] is False and "trust_region_side" not in local.last_transfer


def test_a_resumed_job_asks_what_the_running_one_would():
    parents = [parent(OPTIMUM + [0.03, -0.02], 1), parent(OPTIMUM + [-0.02, 0.04], 2)]
    running = job("best-first-local", parents)
    asked = run(running, 12)
    resumed = job("best-first-local", parents)
    resumed.tell(asked, [bowl(p) for p in asked])
    assert resumed.ask() == running.ask()
    assert resumed.last_transfer["trust_region_side"] == running.last_transfer["trust_region_side"]


def test_a_failed_opening_point_is_left_out_of_the_gate():
    parents = [parent(OPTIMUM + [0.03, -0.02], 1), parent(OPTIMUM + [-0.02, 0.04], 2)]
    opt = job("best-first-local", parents)
    opt.tell_failed(opt.ask())  # the first parent's best point
    run(opt, 2 + trust_region.GATE_POINTS)
    opt.ask()
    assert opt.last_transfer["local_search"] is True and opt.n_initial_points == 5
    with pytest.raises(ValueError, match="transfer_prior"):
        job("best-first-locl", parents)


def test_propose_within_bounds_and_the_unit_box_unchanged():
    """A bounded search draws its candidates in the box and proposes a point in it, even
    where the acquisition's maximum lies outside; bounds of the whole unit box draw the
    unbounded search's candidates exactly."""
    import jax
    import jax.numpy as jnp

    from warmstart_bo import gp, optimize

    full = (np.zeros(2), np.ones(2))
    incumbents = np.random.default_rng(1).random((5, 2))
    np.testing.assert_array_equal(
        optimize.candidate_set(np.random.default_rng(0), 2, 64, incumbents, 32),
        optimize.candidate_set(np.random.default_rng(0), 2, 64, incumbents, 32, bounds=full),
    )
    lo, hi = np.array([0.6, 0.1]), np.array([0.8, 0.3])
    inside = optimize.candidate_set(np.random.default_rng(0), 2, 64, incumbents, 32, bounds=(lo, hi))
    assert np.all(inside >= lo) and np.all(inside <= hi)
    with jax.enable_x64(True):
        x = np.array([[0.1, 0.9], [0.2, 0.8], [0.7, 0.2], [0.9, 0.9]])
        y = np.array([2.0, 1.5, -1.0, 0.0])  # larger better: the best region is far from the box
        params = gp.GPParams(jnp.full(2, -1.0), jnp.asarray(0.0), jnp.asarray(-6.0), jnp.asarray(0.0))
        post = gp.condition(params, gp.pad_data(x, y, np.zeros(2, bool), 8, jnp.float64))
        free, _ = optimize.propose(post, 2.0, np.random.default_rng(0), x[:2], num_sobol=128, num_local=64, num_steps=20)
        boxed, value = optimize.propose(post, 2.0, np.random.default_rng(0), x[:2], num_sobol=128, num_local=64, num_steps=20, bounds=(lo, hi))
    assert not (np.all(free >= lo) and np.all(free <= hi))
    assert np.all(boxed >= lo) and np.all(boxed <= hi) and np.isfinite(value)


def test_the_gap_gate_asks_the_opening_to_beat_the_design_by_its_spread():
    assert gate([5.0, 4.9, 4.8], [4.0, 3.0], rule="gap")  # median 4.9 less range 0.2 beats 4.0
    assert not gate([5.0, 1.0, 4.8], [4.0, 3.0], rule="gap")  # one good point in a poor opening
    assert gate([5.0, 1.0, 4.8], [4.0, 3.0], rule="beat")
    assert not gate([], [1.0], rule="gap") and not gate([1.0], [], rule="gap")
