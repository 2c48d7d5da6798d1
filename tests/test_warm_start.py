"""Warm start: the rules on parents, the search-space policy, and the tuner and optimizer
wiring (IDENTICAL_DATA_AND_ALGORITHM and TRANSFER_LEARNING)."""

import warnings

import numpy as np
import pytest

from warmstart_bo import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    Optimizer,
    Store,
    WarmStartConfig,
    WarmStartTypes,
)
from warmstart_bo.space import SearchSpace
from warmstart_bo.testfunctions import BRANIN_SPACE, branin
from warmstart_bo.transfer import ParentError, ParentHistory, encode_history
from warmstart_bo.tuner import parent_histories

IDENTICAL = WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM
TRANSFER = WarmStartTypes.TRANSFER_LEARNING
SPACE = {"lr": ContinuousParameter(1e-3, 1e-1, "Logarithmic"), "layers": IntegerParameter(1, 8), "opt": CategoricalParameter(["sgd", "adam"])}


def loss(hp):
    return (np.log10(hp["lr"]) + 2) ** 2 + 0.1 * (hp["layers"] - 4) ** 2 + (0.0 if hp["opt"] == "adam" else 0.3)


def run_job(store, name, space=SPACE, fn=loss, max_jobs=6, **kw):
    kw.setdefault("objective_type", "Minimize")
    t = HyperparameterTuner(fn, kw.pop("metric", "loss"), space, store=store, max_jobs=max_jobs, random_seed=kw.pop("seed", 0), progress=False, **kw)
    t.fit(job_name=name)
    return t


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "s.db")


# The search-space policy.


def history(params, values=None, ranges=SPACE, static=None):
    return ParentHistory("parent-a", params, values if values is not None else [loss({"opt": "sgd", "layers": 4, "lr": 0.01, **p}) for p in params], ranges, static or {})


def test_narrowed_and_widened_ranges_place_parent_trials_outside_the_box():
    child = SearchSpace({**SPACE, "lr": ContinuousParameter(1e-2, 1e-1, "Logarithmic")})
    x, y, dropped = encode_history(child, history([{"lr": 1e-3, "layers": 2, "opt": "sgd"}, {"lr": 0.05, "layers": 8, "opt": "adam"}]))
    assert dropped == 0 and len(y) == 2
    assert x[0, 0] == pytest.approx(-1.0)  # a decade below a one-decade range
    assert 0 < x[1, 0] < 1
    wider = SearchSpace({**SPACE, "layers": IntegerParameter(1, 15)})
    x, _, _ = encode_history(wider, history([{"lr": 0.01, "layers": 8, "opt": "sgd"}]))
    assert x[0, 1] == pytest.approx(0.5)


def test_a_value_the_child_cannot_place_drops_the_trial():
    child = SearchSpace({**SPACE, "opt": CategoricalParameter(["adam", "adamw"])})  # "sgd" removed, "adamw" added
    x, y, dropped = encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}, {"lr": 0.02, "layers": 3, "opt": "adam"}]))
    assert dropped == 1 and len(y) == 1 and child.decode(x[0])["opt"] == "adam"
    parent_ranges = {**SPACE, "lr": ContinuousParameter(0.0, 0.1, "Linear")}
    x, y, dropped = encode_history(SearchSpace(SPACE), history([{"lr": 0.0, "layers": 2, "opt": "sgd"}, {"lr": 0.05, "layers": 2, "opt": "sgd"}], ranges=parent_ranges))
    assert dropped == 1 and len(y) == 1  # lr = 0 has no place on a log scale


def test_an_added_hyperparameter_takes_the_parents_static_value_or_fails():
    child = SearchSpace({**SPACE, "momentum": ContinuousParameter(0.0, 0.99, "Linear")})
    x, _, _ = encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}], static={"momentum": 0.9}))
    assert child.decode(x[0])["momentum"] == pytest.approx(0.9)
    with pytest.raises(ParentError, match="parent 'parent-a' has no value for hyperparameter 'momentum'"):
        encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}]))
    with pytest.raises(ParentError, match="parent 'parent-a': its fixed value does not fit this job"):
        encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}], static={"momentum": "high"}))


def test_a_removed_hyperparameter_is_dropped_unless_it_was_all_that_varied():
    child = SearchSpace({k: v for k, v in SPACE.items() if k != "layers"})
    x, _, _ = encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}, {"lr": 0.05, "layers": 5, "opt": "adam"}]))
    assert x.shape == (2, 2)
    with pytest.raises(ParentError, match="differ only in hyperparameters this job no longer tunes"):
        encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}, {"lr": 0.01, "layers": 5, "opt": "sgd"}]))


def test_a_changed_type_is_an_error_naming_parent_and_hyperparameter():
    child = SearchSpace({**SPACE, "layers": CategoricalParameter([1, 2, 4, 8])})
    with pytest.raises(ParentError, match="parent 'parent-a': hyperparameter 'layers' changed type from Integer to Categorical"):
        encode_history(child, history([{"lr": 0.01, "layers": 2, "opt": "sgd"}]))


# Rules on parents, through the tuner.


def test_config_rules():
    with pytest.raises(ValueError, match="1 to 5 parents, got 6"):
        WarmStartConfig(TRANSFER, [f"p{i}" for i in range(6)])
    with pytest.raises(ValueError, match="1 to 5 parents, got 0"):
        WarmStartConfig(TRANSFER, [])
    with pytest.raises(ValueError, match="parent 'p' is listed twice"):
        WarmStartConfig(TRANSFER, ["p", "p"])
    with pytest.raises(ValueError, match="warm_start_type must be one of"):
        WarmStartConfig("Identical", ["p"])
    with pytest.raises(ValueError, match="transfer_prior must be one of"):
        WarmStartConfig(TRANSFER, ["p"], transfer_prior="mtgp")


def test_parent_rules_name_the_parent_at_fault(store):
    run_job(store, "done")
    run_job(store, "maximized", objective_type="Maximize")
    run_job(store, "other-metric", metric="accuracy")
    run_job(store, "typed", space={**SPACE, "layers": CategoricalParameter([1, 2, 4, 8])}, fn=lambda hp: loss({**hp, "layers": int(hp["layers"])}))
    store.create_job("running", store.job("done").config)  # InProgress, owned by this process
    cases = [
        ("ghost", "warm-start parent 'ghost' does not exist"),
        ("running", "warm-start parent 'running' is InProgress; a parent must be finished"),
        ("maximized", "warm-start parent 'maximized' is a Maximize job; this job is Minimize"),
        ("other-metric", "warm-start parent 'other-metric' optimizes 'accuracy', not 'loss'"),
        ("typed", "parent 'typed': hyperparameter 'layers' changed type from Categorical to Integer"),
        ("child", "warm-start parent 'child' is the job itself"),
    ]
    for parent, message in cases:
        with pytest.raises(ValueError, match=message):
            run_job(store, "child", warm_start_config=WarmStartConfig(TRANSFER, ["done", parent]))
        assert not store.has_job("child")  # nothing stored for a refused job
    with pytest.raises(ValueError, match="warm start needs strategy 'Bayesian'"):
        run_job(store, "child", strategy="Random", warm_start_config=WarmStartConfig(TRANSFER, ["done"]))


def test_a_parent_whose_trials_all_failed_is_heard_of(store):
    """Its failed trials were left out before the check that warns of a parent with no
    usable trial: the job ran cold without a word."""

    def fails(hp):
        raise RuntimeError("out of memory")

    run_job(store, "failed", fn=fails, max_jobs=2, strategy="Random")
    with pytest.warns(RuntimeWarning, match="warm-start parent 'failed' has no completed or early-stopped trial with an objective value \\(2 trials in all\\)"):
        run_job(store, "child", max_jobs=1, warm_start_config=WarmStartConfig(TRANSFER, ["failed"]))
    assert [t.status for t in store.trials("child")] == ["Completed"]


def test_a_parent_the_job_cannot_place_is_warned_of_once(store):
    """The tuner's parent check and the job's optimizer both warned, the same words twice."""
    run_job(store, "old-choices", max_jobs=2, strategy="Random")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_job(store, "new-choices", space={**SPACE, "opt": CategoricalParameter(["adamw", "rmsprop"])}, max_jobs=1,
                warm_start_config=WarmStartConfig(TRANSFER, ["old-choices"]))
    heard = [str(w.message) for w in caught if "can warm-start this job" in str(w.message)]
    assert len(heard) == 1 and heard[0].startswith("parent 'old-choices': none of its 2 trials can warm-start this job")


def test_identical_warm_start_continues_the_parents_search(store):
    parent = run_job(store, "parent", max_jobs=12)
    child = run_job(store, "child", max_jobs=5, seed=1, warm_start_config=WarmStartConfig(IDENTICAL, ["parent"]))
    trials = store.trials("child")
    assert len(trials) == 5  # parent trials do not use up max_jobs
    assert store.job("child").parents == ("parent",)
    # No initial design: with 12 parent trials the first child trial is already a model-based
    # pick, as good as the parent's best or close to it.
    assert trials[0].objective < np.median([t.objective for t in store.trials("parent")])
    d = child.describe()
    assert d["WarmStartParents"] == ["parent"]
    overall = d["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert overall == min(parent.best_trial().objective, child.best_trial().objective)
    frame = child.analytics().dataframe(include_parents=True)
    assert list(frame["TuningJobName"]) == ["parent"] * 12 + ["child"] * 5


def test_transfer_groups_jobs_linked_by_identical_warm_starts(store):
    run_job(store, "a", max_jobs=5)
    run_job(store, "a2", max_jobs=3, seed=2, warm_start_config=WarmStartConfig(IDENTICAL, ["a"]))
    run_job(store, "b", max_jobs=4, fn=lambda hp: 2 * loss(hp) + 1)
    direct = parent_histories(store, WarmStartConfig(TRANSFER, ["a2", "b"]))
    assert [h.name for h in direct] == ["a2", "b"]
    with_ancestors = parent_histories(store, WarmStartConfig(TRANSFER, ["a2", "b"], include_ancestors=True))
    assert [h.name for h in with_ancestors] == ["a+a2", "b"] and len(with_ancestors[0].values) == 8
    pooled = parent_histories(store, WarmStartConfig(IDENTICAL, ["a2", "b"], include_ancestors=True))
    assert len(pooled) == 1 and len(pooled[0].values) == 12


@pytest.mark.parametrize("prior", ["stacked", "icm", "rgpe", "select", "hyperprior", "best-first", "shifted"])
def test_transfer_job_runs_with_each_prior_and_starts_near_the_parents_best(store, prior):
    run_job(store, "source", max_jobs=20, space=BRANIN_SPACE, fn=branin)
    related = lambda hp: 3.0 * branin(hp) + 7.0
    run_job(store, "target", max_jobs=3, space=BRANIN_SPACE, fn=related, seed=1, warm_start_config=WarmStartConfig(TRANSFER, ["source"], transfer_prior=prior))
    first = store.trials("target")[0]
    # The first trial is the parents' predicted best: far better than a typical Branin point.
    assert first.objective < 3.0 * 10.0 + 7.0
    assert store.job("target").status == "Completed" and len(store.trials("target")) == 3


def _branin_parents(n_parents=2, trials=8):
    space = SearchSpace(BRANIN_SPACE)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n_parents):
        pts = space.decode_many(rng.random((trials, 2)))
        out.append(ParentHistory(f"p{i}", pts, [branin(p) + 5.0 * i for p in pts]))
    return out


def _ranked(parent, sign):
    return [parent.params[j] for j in np.argsort(sign * np.asarray(parent.values), kind="stable")]


def test_best_first_is_a_cold_start_told_the_parents_best_points_first():
    """A best-first job asks each parent's best point in turn, then the second best, and
    from there proposes, bit for bit, what a cold optimizer of the same seed proposes once
    told those points: the transfer benchmark's best-first baseline as a warm-start option
    (its design's first points are the ones the opening replaced)."""
    parents = _branin_parents()
    expected = [_ranked(parents[0], 1)[0], _ranked(parents[1], 1)[0], _ranked(parents[0], 1)[1]]
    warm = Optimizer(BRANIN_SPACE, "Minimize", random_seed=3, parents=parents, warm_start_type=TRANSFER, transfer_prior="best-first")
    cold = Optimizer(BRANIN_SPACE, "Minimize", random_seed=3)
    assert warm.n_initial_points == cold.n_initial_points == 6
    assert warm.last_transfer == {"prior": "best-first", "used": True, "opening_points": 3}
    for i in range(9):  # the opening, three design points, three Bayesian asks
        (p,) = warm.ask()
        if i < 3:
            assert p == pytest.approx(expected[i], rel=1e-12)
            q = p
        else:
            (q,) = cold.ask()
            assert p == q
        warm.tell([p], [branin(p)])
        cold.tell([q], [branin(q)])
    assert not warm._transfer and warm.priors == cold.priors


def _design_of(seed: int, n: int) -> list[dict]:
    """The first ``n`` points of the scrambled Sobol sequence an optimizer's design takes
    at ``seed``."""
    from scipy.stats import qmc

    space = SearchSpace(BRANIN_SPACE)
    return space.decode_many(space.snap(qmc.Sobol(space.dim, scramble=True, seed=np.random.default_rng(seed)).random(64)[:n]))


@pytest.mark.parametrize("prior", ["best-first", "hyperprior", "identical"])
def test_a_parent_run_with_the_jobs_seed_is_not_asked_again(prior, monkeypatch):
    """A parent run with the job's own seed (ask/tell's default 0; the README's tuning jobs
    both pass 0) shares its design: the parents' best points met again in the job's design,
    and an identical parent's trials in the design they cover, were asked a second time.
    Such a design point is replaced by the next point of the Sobol sequence; the
    hyperprior's check of its parents reads the points as asked and decides."""
    parent_points = _design_of(0, 6)
    if prior == "identical":
        kind, kw, points, values = IDENTICAL, {}, parent_points[:3], [branin(p) for p in parent_points[:3]]
    elif prior == "best-first":  # the best three are the design's points 3-5, which best-first's design asks
        kind, kw, points, values = TRANSFER, {"transfer_prior": prior}, parent_points, [5.0, 5.0, 5.0, 1.0, 2.0, 3.0]
    else:  # a constant parent: its first three points open the job, and its design starts at point 0
        kind, kw, points, values = TRANSFER, {"transfer_prior": prior}, parent_points, [5.0] * 6
    parent = ParentHistory("p", points, values, BRANIN_SPACE)
    from warmstart_bo.transfer import hyperprior

    judged = []
    confirm = hyperprior.parents_confirmed
    monkeypatch.setattr(hyperprior, "parents_confirmed", lambda opening, checked: judged.append((opening, checked)) or confirm(opening, checked))
    opt = Optimizer(BRANIN_SPACE, "Minimize", random_seed=0, parents=[parent], warm_start_type=kind, **kw)
    asked = []
    for _ in range(9):
        (p,) = opt.ask()
        asked.append(p)
        opt.tell([p], [branin(p)])
    keys = [(p["x1"], p["x2"]) for p in asked]
    assert len(set(keys)) == len(keys)
    sobol = _design_of(0, 16)
    # (trials, the Sobol points they take): the design is the sequence's first 4 (identical:
    # 3 left of 6) or 8 points, the points after it stand in for the repeats, in order
    replaced = {"identical": ([0, 1, 2], [4, 5, 6]), "best-first": ([3, 4, 5], [8, 9, 10]), "hyperprior": ([3, 4, 5, 6], [8, 9, 10, 3])}[prior]
    assert [asked[i] for i in replaced[0]] == [sobol[j] for j in replaced[1]]
    if prior == "hyperprior":  # its check reads the outcomes of the points asked (larger better)
        assert "confirmed" in opt.last_transfer and len(judged) == 1
        np.testing.assert_array_equal(judged[0][0], [-branin(p) for p in asked[:3]])
        np.testing.assert_array_equal(judged[0][1], [-branin(p) for p in asked[3:7]])


def test_tell_takes_jax_scalars_and_refuses_integers_beyond_float64():
    import jax.numpy as jnp

    opt = Optimizer(BRANIN_SPACE, "Minimize", random_seed=0)
    p = opt.ask(2)
    opt.tell([p[0]], [jnp.asarray(1.5)])  # an objective computed in JAX
    assert opt.best()[1] == 1.5
    with pytest.raises(ValueError, match="within float64's range"):
        opt.tell([p[1]], [10**400])
    with pytest.raises(ValueError, match="x1.*within float64's range"):
        opt.tell([{"x1": 10**400, "x2": 1.0}], [1.0])
    with pytest.raises(ValueError, match="max_value must be finite"):
        Optimizer({"x": ContinuousParameter(0.0, 10**400)})
    with pytest.raises(ParentError, match="parent 'big'.*beyond float64's range"):
        Optimizer(BRANIN_SPACE, parents=[ParentHistory("big", [{"x1": 0.0, "x2": 1.0}], [10**400])], warm_start_type=TRANSFER)
    assert opt.num_observations == 1


def test_best_first_takes_the_largest_outcomes_when_maximizing():
    parents = _branin_parents(n_parents=1)
    opt = Optimizer(BRANIN_SPACE, "Maximize", random_seed=0, parents=parents, warm_start_type=TRANSFER, transfer_prior="best-first")
    asked = [opt.ask(1)[0] for _ in range(2)]  # nothing told: both asks stay in the opening
    assert asked == [pytest.approx(p, rel=1e-12) for p in _ranked(parents[0], -1)[:2]]


def test_optimizer_rules_for_parents():
    hist = ParentHistory("p", [{"x1": 0.0, "x2": 1.0}], [3.0])
    with pytest.raises(ValueError, match="parents need a warm_start_type"):
        Optimizer(BRANIN_SPACE, parents=[hist])
    with pytest.raises(ValueError, match="warm start needs at least one parent history"):
        Optimizer(BRANIN_SPACE, warm_start_type=TRANSFER)
    opt = Optimizer(BRANIN_SPACE, parents=[hist], warm_start_type=IDENTICAL)
    assert opt.n_initial_points == 5  # six by default, one covered by the parent
    with pytest.raises(ValueError, match="transfer_guard must be True, False or 'ranking'"):
        Optimizer(BRANIN_SPACE, parents=[hist], warm_start_type=TRANSFER, transfer_guard="strict")
    # A failed trial's missing value (None) is dropped like NaN; a value that is not a
    # number names the parent and the trial (it was a bare TypeError); a parent none of whose
    # trials can be used says so, instead of a silent cold start.
    points = [{"x1": 0.0, "x2": 1.0}, {"x1": 2.0, "x2": 3.0}]
    assert Optimizer(BRANIN_SPACE, parents=[ParentHistory("p", points, [3.0, None])], warm_start_type=TRANSFER).dropped_parent_trials == {"p": 1}
    import jax.numpy as jnp  # 0-d arrays are numbers
    assert Optimizer(BRANIN_SPACE, parents=[ParentHistory("p", points, [np.array(3.0), jnp.asarray(2.0)])], warm_start_type=TRANSFER).dropped_parent_trials == {"p": 0}
    for bad in ("abc", True):
        with pytest.raises(ParentError, match=f"parent 'p': the value of the trial at .*'x1': 2.0.* must be a number, got {bad!r}"):
            Optimizer(BRANIN_SPACE, parents=[ParentHistory("p", points, [3.0, bad])], warm_start_type=TRANSFER)
    with pytest.warns(RuntimeWarning, match="parent 'csv': none of its 2 trials can warm-start this job"):
        Optimizer(BRANIN_SPACE, parents=[ParentHistory("csv", points, [None, float("nan")])], warm_start_type=TRANSFER)
    with pytest.raises(TypeError, match="wrap a single parent in a list"):
        Optimizer(BRANIN_SPACE, parents=hist, warm_start_type=TRANSFER)
    with pytest.raises(TypeError, match="parents must be ParentHistory objects .*got dict"):
        Optimizer(BRANIN_SPACE, parents=[{"name": "p", "params": points, "values": [1.0, 2.0]}], warm_start_type=TRANSFER)


def _decisions(opt, steps: int) -> list[dict]:
    """``opt``'s ``last_transfer`` after each of ``steps`` asks, each told Branin's value."""
    out = []
    for _ in range(steps):
        (p,) = opt.ask()
        opt.tell([p], [branin(p)])
        out.append(dict(opt.last_transfer))
    return out


def test_transfer_guard_falls_back_to_the_target_only_gp_when_transfer_ranks_worse():
    space = SearchSpace(BRANIN_SPACE)
    pts = space.decode_many(np.random.default_rng(0).random((40, 2)))
    flipped = ParentHistory("flipped", pts, [-branin(p) for p in pts])
    opt = Optimizer(BRANIN_SPACE, objective_type="Minimize", random_seed=0, parents=[flipped], warm_start_type=TRANSFER, transfer_prior="stacked")
    judged = [d for d in _decisions(opt, 10) if "loo_ranking_loss" in d]
    assert len(judged) == 7  # from the 3rd target point on (the 4th ask)
    for d in judged:
        assert d["used"] == (d["loo_ranking_loss"] <= d["target_only_loss"])
    assert any(not d["used"] for d in judged)  # the flipped parent is caught at least once
    unguarded = Optimizer(BRANIN_SPACE, objective_type="Minimize", random_seed=0, parents=[flipped], warm_start_type=TRANSFER, transfer_prior="stacked", transfer_guard=False)
    for _ in range(5):
        (p,) = unguarded.ask()
        unguarded.tell([p], [branin(p)])
        assert unguarded.last_transfer["used"]


def test_select_takes_the_model_with_the_best_loo_evidence_at_each_step_and_guards_it():
    """Under ``"select"`` each step records every candidate's leave-one-out evidence and
    takes the one :func:`transfer.select` picks from it; with a related parent the chosen
    model of the parents is used at every step, with a sign-flipped one the guard rejects
    it (the target-only GP ranks better) on some steps, as with a single prior."""
    space = SearchSpace(BRANIN_SPACE)
    pts = space.decode_many(np.random.default_rng(0).random((30, 2)))
    for sign, caught in ((1.0, False), (-1.0, True)):
        parent = ParentHistory("p", pts, [sign * (2.0 * branin({"x1": p["x1"] + 0.5, "x2": p["x2"]}) + 3.0) for p in pts])
        opt = Optimizer(BRANIN_SPACE, objective_type="Minimize", random_seed=0, parents=[parent], warm_start_type=TRANSFER, transfer_prior="select")
        judged = [d for d in _decisions(opt, 10) if "losses" in d]
        assert len(judged) == 9  # every ask after the first
        for d in judged:
            assert set(d["losses"]) <= {"icm", "stacked", "rgpe"} and {"icm", "stacked"} <= set(d["losses"])
            best = min(d["losses"].values())
            tied = [k for k in d["losses"] if d["losses"][k] == best]
            assert d["chosen"] == max(tied, key=lambda k: d["log_densities"][k])
            if "loo_ranking_loss" in d:
                assert d["loo_ranking_loss"] == best and d["used"] == (best <= d["target_only_loss"])
        assert any(not d["used"] for d in judged) == caught, sign


def test_the_guard_interleaves_cold_starts_design_and_takes_it_on_rejected_steps():
    """A guarded transfer job's 2nd and 4th points are cold start's first design points (so
    the guard judges on points the parents did not choose); every step the guard rejects
    takes the next unused design point while there is one; no design point repeats; and a
    resumed optimizer, told the same trials, asks what the first one asked."""
    space = SearchSpace(BRANIN_SPACE)
    pts = space.decode_many(np.random.default_rng(0).random((40, 2)))
    flipped = ParentHistory("flipped", pts, [-branin(p) for p in pts])
    cold = Optimizer(BRANIN_SPACE, objective_type="Minimize", random_seed=0)
    design = [tuple(space.encode(p)) for p in cold.ask(cold.n_initial_points)]
    kw = dict(objective_type="Minimize", random_seed=0, parents=[flipped], warm_start_type=TRANSFER, transfer_prior="stacked")
    opt = Optimizer(BRANIN_SPACE, **kw)
    asked, decisions = [], []
    for _ in range(12):
        (p,) = opt.ask()
        opt.tell([p], [branin(p)])
        asked.append(tuple(space.encode(p)))
        decisions.append(dict(opt.last_transfer))
    assert asked[0] not in design and asked[1] == design[0] and asked[3] == design[1]
    taken = [a for a in asked if a in design]
    assert len(taken) == len(set(taken))
    rejected = [i for i, d in enumerate(decisions) if not d["used"]]
    assert rejected  # the flipped parent is caught
    for i in rejected:
        unused = [q for q in design if q not in asked[:i]]
        if unused:
            assert asked[i] == unused[0], i
    resumed = Optimizer(BRANIN_SPACE, **kw)
    resumed.tell(space.decode_many(np.array(asked[:6])), [branin(p) for p in space.decode_many(np.array(asked[:6]))])
    assert tuple(space.encode(resumed.ask()[0])) == asked[6]


def test_batches_under_a_transfer_prior_spread_out():
    space = SearchSpace(BRANIN_SPACE)
    pts = space.decode_many(np.random.default_rng(0).random((30, 2)))
    hist = ParentHistory("p", pts, [branin(p) for p in pts])
    for prior in ("stacked", "rgpe"):
        opt = Optimizer(BRANIN_SPACE, objective_type="Minimize", random_seed=0, parents=[hist], warm_start_type=TRANSFER, transfer_prior=prior)
        batch = opt.ask(4)
        # Two of the four are the guard's design points (2nd and 4th), the rest the prior's.
        assert len(batch) == 4 and opt.last_transfer["design_points"] == 2
        x = space.encode_many(batch)
        gaps = [np.linalg.norm(a - b) for i, a in enumerate(x) for b in x[i + 1:]]
        assert min(gaps) > 1e-3, prior


def test_a_transfer_job_stores_its_prior_and_an_older_job_keeps_the_stacked_prior_it_ran(store, monkeypatch):
    """The default prior changes with versions; a job keeps the one it started with. Jobs
    stored before the prior was recorded (None) ran the default of their time, stacked."""
    from warmstart_bo import transfer
    from warmstart_bo import tuner as tuner_module
    from warmstart_bo.store import JobExistsError

    run_job(store, "source", max_jobs=4, space=BRANIN_SPACE, fn=branin)
    new = run_job(store, "new", max_jobs=2, space=BRANIN_SPACE, fn=branin, warm_start_config=WarmStartConfig(TRANSFER, ["source"]))
    assert new.warm_start_config.transfer_prior == transfer.DEFAULT_PRIOR
    assert store.job("new").config["warm_start_config"]["transfer_prior"] == transfer.DEFAULT_PRIOR
    identical = WarmStartConfig(IDENTICAL, ["source"])
    assert identical.resolved() is identical  # no prior to fill in

    old = HyperparameterTuner(branin, "loss", BRANIN_SPACE, objective_type="Minimize", store=store, max_jobs=2, random_seed=3, progress=False,
                              warm_start_config=WarmStartConfig(TRANSFER, ["source"]))
    config = old.config()
    config["warm_start_config"]["transfer_prior"] = None  # as versions before this one stored it
    store.create_job("old", config, random_seed=3, parents=["source"])
    store.finish_job("old", "Stopped", "stopped on request")
    with pytest.raises(JobExistsError, match=f"already exists with transfer_prior 'stacked', not '{transfer.DEFAULT_PRIOR}'.*transfer_prior='stacked'"):
        old.fit(job_name="old")
    assert store.job("old").config["warm_start_config"]["transfer_prior"] is None and store.trials("old") == []

    priors = []
    make_strategy = tuner_module.make_strategy
    monkeypatch.setattr(tuner_module, "make_strategy", lambda *a, **kw: priors.append(kw.get("transfer_prior")) or make_strategy(*a, **kw))
    attached = HyperparameterTuner.attach("old", store=store, estimator=branin, progress=False)
    assert attached.warm_start_config.transfer_prior == "stacked"
    attached.resume()
    assert priors == ["stacked"] and store.job("old").status == "Completed" and len(store.trials("old")) == 2
