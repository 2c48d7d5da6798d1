"""The hyperprior: hyperparameter priors fitted to the parents, and their best points first."""

import numpy as np
import pytest

from warmstart_bo import Optimizer, WarmStartTypes, gp
from warmstart_bo.space import ContinuousParameter, SearchSpace
from warmstart_bo.transfer import ParentHistory, Task, hyperprior

SPACE = {"a": ContinuousParameter(0.0, 1.0), "b": ContinuousParameter(0.0, 1.0)}


def test_opening_points_take_each_parents_best_in_turn_without_repeats():
    a = Task(np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]), np.array([1.0, 3.0, 2.0]))
    b = Task(np.array([[0.2, 0.2], [0.9, 0.9], [0.5, 0.5]]), np.array([5.0, 4.0, 0.0]))
    out = hyperprior.opening_points([a, b], k=4)
    # a's best, b's best (the same point as a's best: skipped), a's second, b's second, ...
    np.testing.assert_array_equal(out, [[0.2, 0.2], [0.3, 0.3], [0.9, 0.9], [0.1, 0.1]])
    assert hyperprior.opening_points([a], k=10).shape == (3, 2)


def test_priors_learn_which_dimension_varies_fast_from_the_parents():
    """Parents that vary fast along ``a`` and slowly along ``b`` give a prior centred on a
    short lengthscale for ``a`` and a long one for ``b``, narrower than cold start's."""
    rng = np.random.default_rng(0)
    tasks = []
    for shift in (0.0, 0.1, 0.2):
        x = rng.random((30, 2))
        tasks.append(Task(x, np.sin(14.0 * (x[:, 0] + shift)) + 0.2 * x[:, 1]))
    base = gp.default_priors(2)
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        priors = hyperprior.priors(tasks, SearchSpace(SPACE).categorical_mask, base, 0, jnp.float64)
    loc = np.asarray(priors.lengthscale_loc)
    assert loc.shape == (2,)
    # Measured: 0.32 along a (sin(14 a) has a period of 0.45), 20.5 along b.
    assert np.exp(loc[0]) < 0.5 and np.exp(loc[1]) > 10 * np.exp(loc[0])
    assert priors.lengthscale_scale == hyperprior.LENGTHSCALE_SCALE < base.lengthscale_scale


def _parents(n=3, size=20):
    rng = np.random.default_rng(1)
    space = SearchSpace(SPACE)
    out = []
    for i in range(n):
        pts = space.decode_many(rng.random((size, 2)))
        out.append(ParentHistory(f"p{i}", pts, [(p["a"] - 0.3 - 0.02 * i) ** 2 + (p["b"] - 0.6) ** 2 for p in pts], SPACE))
    return out


def _target(p):
    """The target task: the parents' bowl with its centre moved a little along ``a``."""
    return (p["a"] - 0.35) ** 2 + (p["b"] - 0.6) ** 2


def _flipped_parents():
    """The parents of :func:`_parents` with their outcomes negated: their best points are
    the target's worst."""
    return [ParentHistory(p.name, p.params, [-v for v in p.values], SPACE) for p in _parents()]


def test_a_hyperprior_job_opens_with_the_parents_best_points_then_runs_on_target_data_only():
    parents = _parents()
    opt = Optimizer(SPACE, "Minimize", random_seed=0, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    assert opt.n_initial_points == hyperprior.OPENING_POINTS + hyperprior.CHECK_POINTS
    assert np.shape(opt.priors.lengthscale_loc) == (2,)
    best = [p.params[int(np.argmin(p.values))] for p in parents]
    asked = []
    for _ in range(8):
        (p,) = opt.ask()
        opt.tell([p], [_target(p)])
        asked.append(p)
    for got, want in zip(asked[:3], best):
        assert got == pytest.approx(want, abs=1e-9)
    assert opt.last_fit["rows"] == 7  # the target's own points only: no parent rows pooled
    assert opt.last_transfer["prior"] == "hyperprior"
    # The target confirmed the parents: their priors stayed.
    assert opt.last_transfer["confirmed"] is True and np.shape(opt.priors.lengthscale_loc) == (2,)
    # A Bayesian step near the shared optimum, from seven target points.
    assert min(_target(p) for p in asked) < 0.01


def test_parents_are_confirmed_when_their_best_points_beat_the_design_points():
    assert hyperprior.parents_confirmed(np.array([0.1, 2.0, -1.0]), np.array([1.5, 0.3]))
    assert not hyperprior.parents_confirmed(np.array([0.1, 1.0, -1.0]), np.array([1.5, 0.3]))
    assert not hyperprior.parents_confirmed(np.array([1.5]), np.array([1.5]))  # a tie refutes
    # Nothing to compare yet: the parents stand.
    assert hyperprior.parents_confirmed(np.array([]), np.array([1.0]))
    assert hyperprior.parents_confirmed(np.array([1.0]), np.array([]))


def test_a_refuted_hyperprior_job_becomes_a_cold_start_with_cold_starts_priors_and_design():
    """Parents whose best points are the target's worst (a sign flip): after the opening and
    the check points the job takes cold start's priors and the rest of its design, the
    same points a cold start of this seed would take."""
    parents = _flipped_parents()
    opt = Optimizer(SPACE, "Minimize", random_seed=0, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    cold = Optimizer(SPACE, "Minimize", random_seed=0)
    assert np.shape(opt.priors.lengthscale_loc) == (2,)
    asked = []
    for _ in range(hyperprior.OPENING_POINTS + cold.n_initial_points + 1):
        (p,) = opt.ask()
        opt.tell([p], [_target(p)])
        asked.append(p)
    assert opt.last_transfer["confirmed"] is False and opt.last_transfer["used"] is False
    assert opt.priors == cold.priors
    assert opt.n_initial_points == hyperprior.OPENING_POINTS + cold.n_initial_points
    cold_design = []
    for _ in range(cold.n_initial_points):
        (q,) = cold.ask()
        cold.tell([q], [_target(q)])
        cold_design.append(q)
    got = asked[hyperprior.OPENING_POINTS : hyperprior.OPENING_POINTS + cold.n_initial_points]
    for a, b in zip(got, cold_design):
        assert a == pytest.approx(b, abs=1e-12)
    assert opt.last_fit["rows"] == hyperprior.OPENING_POINTS + cold.n_initial_points


def test_the_check_waits_for_every_opening_and_check_point_and_counts_failed_ones_out():
    """A batch of the opening and check points with one told: no decision; with the others
    told or failed, the decision reads the told ones."""
    parents = _flipped_parents()
    opt = Optimizer(SPACE, "Minimize", random_seed=0, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    batch = opt.ask(hyperprior.OPENING_POINTS + hyperprior.CHECK_POINTS)
    opt.tell([batch[0]], [_target(batch[0])])
    opt.ask()
    assert "confirmed" not in opt.last_transfer
    opt.tell_failed([batch[1]])
    opt.tell(batch[2:], [_target(p) for p in batch[2:]])
    opt.ask()
    assert opt.last_transfer["confirmed"] is False


def test_an_unguarded_hyperprior_job_keeps_the_parents_priors_and_a_one_point_design():
    parents = _flipped_parents()
    opt = Optimizer(
        SPACE, "Minimize", random_seed=0, parents=parents, warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior", transfer_guard=False,
    )
    assert opt.n_initial_points == hyperprior.OPENING_POINTS + hyperprior.DESIGN_POINTS
    for _ in range(6):
        (p,) = opt.ask()
        opt.tell([p], [_target(p)])
    assert "confirmed" not in opt.last_transfer and np.shape(opt.priors.lengthscale_loc) == (2,)


def test_a_hyperprior_job_with_one_parent_and_an_explicit_design():
    opt = Optimizer(SPACE, "Minimize", random_seed=0, n_initial_points=5, parents=_parents(1), warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    asked = []
    for _ in range(6):
        (p,) = opt.ask()
        opt.tell([p], [p["a"] + p["b"]])
        asked.append((p["a"], p["b"]))
    # Three openings from one parent (its three best), two design points, then the GP.
    assert opt.n_initial_points == 5 and len(set(asked)) == 6


def test_parents_with_too_few_or_constant_outcomes_leave_cold_starts_priors():
    """A one-trial parent, a constant one, or one trial repeated teaches no lengthscale: the
    priors stay cold start's, while their points still open the run."""
    import jax
    import jax.numpy as jnp

    x = np.random.default_rng(0).random((10, 2))
    base = gp.default_priors(2)
    uninformative = [Task(x[:1], np.array([1.0])), Task(x, np.full(10, 3.0)), Task(np.repeat(x[:1], 6, axis=0), np.zeros(6))]
    with jax.enable_x64(True):
        assert hyperprior.priors(uninformative, SearchSpace(SPACE).categorical_mask, base, 0, jnp.float64) == base
        mixed = hyperprior.priors(uninformative + [Task(x, np.sin(9.0 * x[:, 0]))], SearchSpace(SPACE).categorical_mask, base, 0, jnp.float64)
    assert np.shape(mixed.lengthscale_loc) == (2,) and mixed.lengthscale_scale == hyperprior.LENGTHSCALE_SCALE
    constant = ParentHistory("flat", SearchSpace(SPACE).decode_many(x), [3.0] * 10, SPACE)
    opt = Optimizer(SPACE, "Minimize", random_seed=0, parents=[constant], warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior="hyperprior")
    assert opt.priors == base and len(opt._initial_design) >= 3


@pytest.mark.parametrize("prior", ["best-first", "best-first-local", "hyperprior"])
def test_an_opening_never_proposes_a_parent_point_outside_a_narrowed_range(prior):
    """A parent tuned x over [0, 10], the target over [0, 1]: its trials at x = 4.1, 7.5 and
    5.6 lie outside the target's box and are never proposed (clipped, each was x = 1 again);
    its trial at 0.4, inside, opens the job, and no point is asked twice."""
    parent = ParentHistory("wide", [{"x": 4.1}, {"x": 7.54}, {"x": 5.6}, {"x": 0.4}, {"x": 1.53}], [-4.1, -7.54, -5.6, -0.4, -1.53])
    opt = Optimizer({"x": ContinuousParameter(0.0, 1.0)}, "Minimize", random_seed=0, parents=[parent],
                    warm_start_type=WarmStartTypes.TRANSFER_LEARNING, transfer_prior=prior)
    assert opt.last_transfer["opening_points"] == 1
    asked = [p["x"] for p in opt.ask(4)]
    assert asked[0] == pytest.approx(0.4) and len(set(asked)) == 4 and all(0.0 <= x <= 1.0 for x in asked)
