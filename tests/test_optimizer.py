import threading

import jax
import numpy as np
import pytest
from scipy.stats import qmc

from warmstart_bo import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Optimizer,
)
from warmstart_bo.optimizer import OUTPUT_TRANSFORMS, transform_outputs
from warmstart_bo.testfunctions import BRANIN_SPACE, branin

SPACE_2D = {"x": ContinuousParameter(0.0, 1.0), "y": ContinuousParameter(0.0, 1.0)}


def quadratic(p):
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2


def run(opt, f, steps, batch=1):
    for _ in range(steps):
        ps = opt.ask(batch)
        opt.tell(ps, [f(p) for p in ps])
    return opt


def test_same_seed_same_history_same_proposals():
    a = run(Optimizer(SPACE_2D, random_seed=3, n_initial_points=4), quadratic, 6)
    b = run(Optimizer(SPACE_2D, random_seed=3, n_initial_points=4), quadratic, 6)
    assert a.observations()[0] == b.observations()[0]
    assert a.ask(2) == b.ask(2)
    c = run(Optimizer(SPACE_2D, random_seed=4, n_initial_points=4), quadratic, 6)
    assert c.observations()[0] != a.observations()[0]


def test_finds_quadratic_minimum_and_respects_direction():
    opt = run(Optimizer(SPACE_2D, random_seed=0, n_initial_points=5), quadratic, 15)
    best, value = opt.best()
    assert value < 1e-3 and abs(best["x"] - 0.3) < 0.05
    up = run(Optimizer(SPACE_2D, objective_type="Maximize", random_seed=0, n_initial_points=5), lambda p: -quadratic(p), 15)
    assert up.best()[1] > -1e-3


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "1.0", None])
def test_non_finite_values_rejected_and_nothing_recorded(bad):
    opt = Optimizer(SPACE_2D)
    opt.tell([{"x": 0.1, "y": 0.2}], [1.0])
    with pytest.raises(ValueError, match="objective value"):
        opt.tell([{"x": 0.5, "y": 0.5}, {"x": 0.3, "y": 0.3}], [2.0, bad])
    assert opt.num_observations == 1


def test_bad_tell_arguments_are_named():
    opt = Optimizer(SPACE_2D)
    with pytest.raises(ValueError, match="2 parameter dicts but 1 values"):
        opt.tell([{"x": 0.1, "y": 0.2}, {"x": 0.3, "y": 0.2}], [1.0])
    with pytest.raises(ValueError, match="'z' is not in the search space"):
        opt.tell([{"x": 0.1, "y": 0.2, "z": 1}], [1.0])
    with pytest.raises(ValueError, match="'x': value 1.5 is outside"):
        opt.tell([{"x": 1.5, "y": 0.2}], [1.0])
    with pytest.raises(ValueError, match="objective_type"):
        Optimizer(SPACE_2D, objective_type="Minimise")
    for single in (1.0, np.float64(1.0), np.array(1.0), "1.0"):
        with pytest.raises(ValueError, match="takes a list of values, one per parameter dict; got .*wrap a single value in a list"):
            opt.tell([{"x": 0.1, "y": 0.2}], single)
    assert opt.num_observations == 0
    opt.tell([{"x": 0.1, "y": 0.2}], [np.array(1.5)])  # a 0-d array is a number, as a tuner's objective may return
    assert opt.num_observations == 1 and opt.best()[1] == 1.5
    points = [{"x": 0.3, "y": 0.2}, {"x": 0.5, "y": 0.2}]
    opt.tell(points, (quadratic(p) for p in points))  # any iterable of values, a generator too
    assert opt.num_observations == 3


def test_mixed_space_proposals_are_valid_points():
    space = {
        "lr": ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
        "layers": IntegerParameter(1, 8),
        "opt": CategoricalParameter(["sgd", "adam", "rmsprop"]),
    }

    def f(p):
        return np.log10(p["lr"]) ** 2 + (p["layers"] - 5) ** 2 + {"sgd": 1.0, "adam": 0.0, "rmsprop": 2.0}[p["opt"]]

    opt = Optimizer(space, random_seed=1, n_initial_points=6)
    for _ in range(10):
        ps = opt.ask(2)
        for p in ps:
            assert type(p["layers"]) is int and 1 <= p["layers"] <= 8
            assert p["opt"] in ("sgd", "adam", "rmsprop")
            assert 1e-4 <= p["lr"] <= 1e-1
        opt.tell(ps, [f(p) for p in ps])
    best, _ = opt.best()
    assert best["opt"] == "adam" and abs(best["layers"] - 5) <= 1


def test_batch_and_pending_points_spread_out():
    opt = run(Optimizer(SPACE_2D, random_seed=0, n_initial_points=6), quadratic, 6)
    first = opt.ask(1)
    assert len(opt.pending) == 1
    batch = opt.ask(3)
    pts = np.array([[p["x"], p["y"]] for p in first + batch])
    dists = np.linalg.norm(pts[:, None] - pts[None], axis=-1)[np.triu_indices(4, 1)]
    assert dists.min() > 1e-3
    opt.tell(first, [quadratic(first[0])])
    opt.cancel(batch[:1])
    assert len(opt.pending) == 2


@pytest.mark.parametrize(
    "name, values",
    [
        ("duplicates", lambda rng, xs: [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]),
        ("constant", lambda rng, xs: [5.0] * len(xs)),
        ("huge", lambda rng, xs: [1e9 + 1e3 * quadratic(p) for p in xs]),
        ("tiny", lambda rng, xs: [1e-9 * (1 + quadratic(p)) for p in xs]),
    ],
)
def test_adversarial_histories_still_propose_valid_points(name, values):
    rng = np.random.default_rng(0)
    if name == "duplicates":
        xs = [{"x": 0.25, "y": 0.5}, {"x": 1.0, "y": 1.0}] * 4  # repeated points, box corner
    else:
        corners = [{"x": float(a), "y": float(b)} for a in (0, 1) for b in (0, 1)]
        xs = corners + [{"x": float(a), "y": float(b)} for a, b in rng.random((4, 2))]
    opt = Optimizer(SPACE_2D, random_seed=0, n_initial_points=2)
    opt.tell(xs, values(rng, xs))
    ps = opt.ask(2)
    for p in ps:
        assert 0.0 <= p["x"] <= 1.0 and 0.0 <= p["y"] <= 1.0
    if name == "constant":  # nothing to fit: the design's spare points (test below)
        assert opt.fitted_params() is None and "constant outcomes" in opt.last_fit["fallback"]
    else:
        assert all(np.all(np.isfinite(np.asarray(v))) for v in opt.fitted_params())
    if name == "tiny":
        opt.tell(ps, [1e-9 * (1 + quadratic(p)) for p in ps])
        run(opt, lambda p: 1e-9 * (1 + quadratic(p)), 4)
        assert opt.best()[1] < 1e-9 * 1.01


@pytest.mark.parametrize("acquisition", ["log_ei", "ucb"])
def test_a_constant_objective_keeps_filling_the_space_until_it_varies(acquisition):
    """Constant outcomes teach a GP nothing: fitted to them it is flat, and its acquisition
    sent every ask to the box's corners, four of them in turn. Each ask is a new point of the
    design's Sobol sequence instead, and the GP takes over once an outcome differs, also
    when the outcomes differ by rounding alone (0.1 + 0.2 against 0.3)."""
    opt = Optimizer(SPACE_2D, random_seed=0, n_initial_points=4, acquisition=acquisition)
    asked = []
    for i in range(14):
        (p,) = opt.ask()
        asked.append((p["x"], p["y"]))
        opt.tell([p], [0.1 + 0.2 if i == 5 else 0.3])
    assert len(set(asked)) == 14
    assert opt.fitted_params() is None
    pts = np.array(asked)
    corners = np.all((pts < 1e-3) | (pts > 1 - 1e-3), axis=1)
    assert corners.sum() == 0 and np.ptp(pts, axis=0).min() > 0.8  # spread over the box, not at its corners
    expected = opt.space.snap(qmc.Sobol(2, scramble=True, seed=np.random.default_rng(0)).random(64))[:14]
    assert np.allclose(pts, expected, rtol=0, atol=1e-12)  # the design, then its continuation
    (p,) = opt.ask()
    opt.tell([p], [1.0])
    opt.ask()
    assert opt.fitted_params() is not None and "fallback" not in opt.last_fit


def test_yeo_johnson_takes_outcomes_equal_up_to_rounding_for_a_constant():
    """The default output transform judged constancy after standardizing, where rounding
    differences of a constant had become a unit-variance signal for the GP to model."""
    y = np.array([0.3, 0.3, 0.1 + 0.2, 0.3, 0.3, 0.3])
    assert np.ptp(y) > 0
    for how in OUTPUT_TRANSFORMS:
        assert np.max(np.abs(transform_outputs(y, how))) < 1e-12, how
    varying = np.array([0.3, 0.3, 0.3 + 1e-9, 0.3, 0.3, 0.3])  # a real difference is kept
    assert np.max(transform_outputs(varying, "yeo-johnson")) > 1.0


def test_a_job_of_huge_known_size_compiles_only_the_next_sizes_ahead():
    """max_observations 10**30 (a tuner's careless max_jobs) listed padded sizes for ever at
    the design's first ask; 5000 compiled every size up to 5120 behind the job's back."""
    opt = Optimizer(SPACE_2D, random_seed=0, n_initial_points=2, max_observations=10**30)
    assert opt._sizes_ahead(16) == [32, 64, 128]
    opt._precompiled.update({16, 32, 64, 128})  # nothing compiles in this test
    run(opt, quadratic, 3)
    assert opt._precompiled == {16, 32, 64, 128}  # its Bayesian ask asked for no more


@pytest.mark.parametrize("scale", [1e-13, 1e150])
def test_proposals_do_not_depend_on_the_objectives_scale(scale):
    """Outcomes of order 1e-13 were taken for a constant (an absolute spread threshold) and
    the GP steps alternated between the box's bounds; near 1e150 the variance overflowed.
    Standardizing relative to the outcomes' own size proposes what scale 1 proposes."""
    from warmstart_bo.optimizer import standardize

    y = np.array([3.0, 1.0, 2.0, 2.0 + 1e-6])
    for s in (1e-13, 1e150, 1e300):
        np.testing.assert_allclose(standardize(s * y)[0], standardize(y)[0], rtol=1e-9, atol=1e-9)
        assert np.max(np.abs(standardize(np.full(3, s))[0])) < 1e-12  # a constant stays one
    rng = np.random.default_rng(4)
    xs = [{"x": float(a), "y": float(b)} for a, b in rng.random((8, 2))]
    asked = []
    for s in (1.0, scale):
        opt = Optimizer(SPACE_2D, random_seed=0, n_initial_points=2)
        opt.tell(xs, [s * (1.0 + quadratic(p)) for p in xs])
        asked.append(opt.ask(1)[0])
    assert asked[1] == pytest.approx(asked[0], abs=1e-6)


def test_a_batch_and_pending_points_are_never_proposed_twice_even_at_a_boundary_optimum():
    """f = x + y, minimized at the corner (0, 0): the kriging believer's fantasy there kept
    its improvement (the incumbent did not rise to it) and every member of a batch, and
    each ask while one was pending, was the corner again. The incumbent now rises to each
    fantasy's value, and a point in flight is never proposed again."""
    opt = Optimizer(SPACE_2D, random_seed=0, n_initial_points=4)
    for _ in range(5):
        batch = opt.ask(4)
        pts = np.array([[p["x"], p["y"]] for p in batch])
        assert np.min(np.linalg.norm(pts[:, None] - pts[None], axis=-1)[np.triu_indices(4, 1)]) > 1e-3, batch  # not even near twins
        opt.tell(batch, [p["x"] + p["y"] for p in batch])
    first, second = opt.ask(1)[0], opt.ask(1)[0]  # the first still pending
    assert first != second and len(opt.pending) == 2


def test_single_observation():
    opt = Optimizer(SPACE_2D, random_seed=0, n_initial_points=1)
    opt.tell([{"x": 0.5, "y": 0.5}], [3.0])
    (p,) = opt.ask()
    assert 0 <= p["x"] <= 1


class CompileCounter:
    """Counts XLA compilations of the calling (main) thread, the optax test_utils idea via
    JAX's monitoring events; compilations ahead of time in a background thread are not
    the asks' own."""

    def __init__(self):
        self.count = 0

    def __call__(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration" and threading.current_thread() is threading.main_thread():
            self.count += 1


SPACE_7D = {f"u{i}": ContinuousParameter(0.0, 1.0) for i in range(7)}  # no other test's shapes


def test_no_recompilation_within_a_padding_bucket():
    # max_observations=13: nothing compiles ahead, so the crossing below compiles. Seven
    # dimensions, which no other test uses, so no shape here is compiled already (clearing
    # JAX's caches instead made every later test compile again).
    opt = Optimizer(SPACE_7D, random_seed=0, n_initial_points=4, max_observations=13)
    f = lambda p: sum((v - 0.3) ** 2 for v in p.values())
    run(opt, f, 8)  # 8 observations: bucket 16, warm fits compiled
    counter = CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        run(opt, f, 5)  # 13 observations: still inside the bucket of 16
        assert counter.count == 0
        run(opt, f, 5)  # crossing 16 compiles for the new bucket: the counter is live
        assert counter.count > 0
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)


def _branin_parents(count, size):
    from warmstart_bo.transfer import ParentHistory

    rng = np.random.default_rng(11)
    out = []
    for i in range(count):
        pts = [{"x1": float(a), "x2": float(b)} for a, b in zip(rng.uniform(-5, 10, size), rng.uniform(0, 15, size))]
        out.append(ParentHistory(f"p{i}", pts, [branin({"x1": p["x1"] + 0.3 * i, "x2": p["x2"]}) for p in pts]))
    return out


# The model priors' paths compile their own programs (about 48 s together): in the slow suite.
@pytest.mark.parametrize("path", ["cold", "identical", "hyperprior"]
                         + [pytest.param(p, marks=pytest.mark.slow) for p in ("stacked", "icm", "rgpe", "shifted", "select")])
def test_no_recompilation_within_a_bucket_on_every_path(path):
    """Once a bucket's functions are compiled, further asks compile nothing: the cold GP,
    the identical-data pool and each transfer prior, without and then with a running trial
    pending."""
    from warmstart_bo import WarmStartTypes

    kw = {}
    if path == "identical":
        kw = {"parents": _branin_parents(1, 18), "warm_start_type": WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM}
    elif path != "cold":
        kw = {"parents": _branin_parents(2, 14), "warm_start_type": WarmStartTypes.TRANSFER_LEARNING, "transfer_prior": path}
    opt = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4, **kw)
    run(opt, branin, 7)  # the bucket's functions compile here (multi-start, refits, guard)
    counter = CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        run(opt, branin, 3)
        assert counter.count == 0, opt.last_fit
        opt.mark_pending([{"x1": 2.0, "x2": 3.0}])
        run(opt, branin, 1)  # compiles the one-row fantasy
        counter.count = 0
        run(opt, branin, 2)  # 13 target points and one pending (32 pooled rows for identical)
        assert counter.count == 0, opt.last_fit
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
    assert opt.num_observations == 13 and len(opt.pending) == 1


@pytest.mark.slow
@pytest.mark.parametrize("path", ["cold", "stacked", "rgpe", "icm", "hyperprior"])
def test_exported_programs_propose_exactly_what_jit_proposes(path, tmp_path, monkeypatch):
    """With the compile cache on, the core runs as programs exported by ``jax.export``
    (``runtime.Program``): the same proposals to the last bit as plain ``jax.jit``, a
    pending point included, and nothing recompiled inside a bucket. (Each path compiles its
    programs twice, so this is in the slow suite; the default suite's
    ``test_a_second_process_loads_the_compiled_and_exported_ask_from_the_cache`` compares
    the cold path's exported and plain proposals across processes.)"""
    from warmstart_bo import WarmStartTypes, runtime

    kw = {}
    if path != "cold":
        kw = {"parents": _branin_parents(2, 14), "warm_start_type": WarmStartTypes.TRANSFER_LEARNING, "transfer_prior": path}

    def proposals(exported_dir):
        monkeypatch.setattr(runtime, "_exported_dir", lambda: exported_dir)
        opt = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4, **kw)
        run(opt, branin, 7)
        opt.mark_pending([{"x1": 2.0, "x2": 3.0}])
        counter = CompileCounter()
        run(opt, branin, 1)  # compiles the one-row fantasy
        jax.monitoring.register_event_duration_secs_listener(counter)
        try:
            run(opt, branin, 2)
        finally:
            jax.monitoring.unregister_event_duration_listener(counter)
        assert counter.count == 0, opt.last_fit
        return np.array([[p["x1"], p["x2"]] for p in opt.observations()[0]])

    exported = proposals(tmp_path)
    assert any(tmp_path.glob("*.bin"))
    np.testing.assert_array_equal(exported, proposals(None))


def test_the_next_bucket_compiles_ahead_in_the_background():
    """Near the end of a padded size the next size's functions compile in a background
    thread; the ask that crosses into it compiles nothing, and proposals are unchanged."""
    opt = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4)
    run(opt, branin, 14)  # 13 observations, then the ask at 13 finds 14 of 16 rows used
    assert 32 in opt._precompiled
    opt._compilers[32].wait()
    counter = CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        run(opt, branin, 4)  # 14 -> 18 observations: into the bucket of 32
        assert counter.count == 0
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
    plain = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4)
    plain._precompiled.update({32, 64})  # never compiles ahead
    run(plain, branin, 18)
    assert plain.observations()[0] == opt.observations()[0]
    np.testing.assert_array_equal(plain.observations()[1], opt.observations()[1])


def test_a_jobs_first_ask_waits_for_what_its_first_bayesian_ask_calls(monkeypatch):
    """A job of known size: its first ask returns once the programs that its first
    Bayesian ask calls are made (within FIRST_ASK_WAIT), so that ask compiles nothing, and
    the proposals are those of a job that never compiles ahead."""
    from warmstart_bo import optimizer

    monkeypatch.setattr(optimizer, "FIRST_ASK_WAIT", 300.0)  # the cache is off: they compile
    opt = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4, max_observations=12)
    run(opt, branin, 1)
    assert opt._needed[16].is_set()
    run(opt, branin, 3)
    counter = CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        run(opt, branin, 1)  # the first Bayesian ask
        assert counter.count == 0
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
    plain = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4, max_observations=12)
    plain._precompiled.add(16)  # never compiles ahead
    run(plain, branin, 5)
    assert plain.observations()[0] == opt.observations()[0]


def test_a_failed_compilation_ahead_leaves_the_asks_to_compile_as_usual(monkeypatch):
    """A job of known size compiles its padded sizes in background threads; when that
    compilation fails, the asks that need those sizes neither hang nor fail: they compile
    what they run, and the proposals are a plain job's."""
    from warmstart_bo import optimizer

    def boom(*args, **kwargs):
        raise RuntimeError("compilation failed")

    monkeypatch.setattr(optimizer.optimize, "precompile_parts", boom)
    opt = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4, max_observations=40)
    run(opt, branin, 20)  # through the sizes of 16 and 32
    assert opt._precompiled == {16, 32, 64}
    assert all(event.wait(120) for event in opt._compilers.values())  # each size is settled, failed or not
    monkeypatch.undo()
    plain = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4, max_observations=40)
    plain._precompiled.update({16, 32, 64})  # never compiles ahead
    run(plain, branin, 20)
    assert plain.observations()[0] == opt.observations()[0]
    np.testing.assert_array_equal(plain.observations()[1], opt.observations()[1])


def test_a_background_multistart_joins_at_a_fixed_ask_whatever_its_timing(monkeypatch):
    """Past MULTISTART_EVERY_ASK rows the doubling multi-start fit runs in a background
    thread and joins n / MULTISTART_LAG observations later: a fit that takes a second longer
    changes no proposal, only how long that ask waits."""
    import time

    from warmstart_bo import optimizer

    monkeypatch.setattr(optimizer, "MULTISTART_EVERY_ASK", 8)
    real = optimizer._fit_posterior

    def job(delay):
        def fit(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                time.sleep(delay)
            return real(*args, **kwargs)

        fit.precompile = real.precompile
        monkeypatch.setattr(optimizer, "_fit_posterior", fit)
        opt = Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4)
        notes = []
        for _ in range(22):
            run(opt, branin, 1)
            notes.append(opt.last_fit.get("multi-start"))
        return opt, notes

    fast, fast_notes = job(0.0)
    slow, slow_notes = job(1.0)
    assert fast_notes == slow_notes
    # Asked on 16 observations (twice the 8 of the last synchronous multi-start), joined on 20.
    assert fast_notes[16] == "started" and fast_notes[20] in ("adopted", "kept")
    assert fast.observations()[0] == slow.observations()[0]
    np.testing.assert_array_equal(fast.observations()[1], slow.observations()[1])


def test_a_background_multistart_is_taken_only_where_it_fits_better():
    """The joining ask keeps whichever of its own refit and the background fit (refined on
    the same data) has the lower negative log posterior."""
    from warmstart_bo import optimizer

    opt = run(Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4), branin, 12)
    with jax.enable_x64(True):  # as the optimizer's asks run
        state = opt._gp_states["target"]
        data = state.posterior.data
        good = optimizer._fit_posterior(data, opt.priors, opt._fit_starts(state, data.y.dtype, 4), max_iter=100, tol=1e-4)
        far = state.posterior.params._replace(log_lengthscales=state.posterior.params.log_lengthscales + 4.0)
        poor = opt._refine(optimizer._condition(far, data), good.hess_inv, data.x.shape[0])
        assert float(poor.loss) > float(good.loss) + 1.0
        for mine, background, taken in ((poor, good, "adopted"), (good, poor, "kept")):
            opt._multistarts["target"] = (optimizer._Background(lambda fit=background: fit, "test"), 12)
            fit, note = opt._adopt_multistart("target", mine, data, data.x.shape[0])
            assert note == taken
            assert float(fit.loss) <= min(float(poor.loss), float(good.loss)) + 1e-6
            assert "target" not in opt._multistarts


def test_a_failed_factorization_falls_back_visibly(monkeypatch):
    """A posterior whose covariance could not be factorized (``ok`` False) is replaced by
    the prior centre's, with a warning and a record in ``last_fit``; an acquisition that is
    nowhere finite gives a quasi-random point instead of an arbitrary start."""
    from warmstart_bo import gp, optimizer

    opt = run(Optimizer(BRANIN_SPACE, random_seed=0, n_initial_points=4), branin, 6)

    def broken(fit_fn):
        def fit(*args, **kwargs):
            result = fit_fn(*args, **kwargs)
            return result._replace(posterior=result.posterior._replace(ok=jax.numpy.asarray(False)))

        return fit

    real_refine, real_fit = optimizer._refine, optimizer._fit_posterior
    monkeypatch.setattr(optimizer, "_refine", broken(real_refine))  # whichever fit the ask runs
    monkeypatch.setattr(optimizer, "_fit_posterior", broken(real_fit))
    with pytest.warns(RuntimeWarning, match="prior's centre"):
        (p,) = opt.ask()
    assert "prior-centre" in opt.last_fit["fallback"]
    centre = gp.prior_mode(2, opt.priors)
    np.testing.assert_allclose(opt.fitted_params().log_lengthscales, centre.log_lengthscales)
    assert -5 <= p["x1"] <= 10 and 0 <= p["x2"] <= 15
    monkeypatch.setattr(optimizer, "_refine", real_refine)
    monkeypatch.setattr(optimizer, "_fit_posterior", real_fit)
    monkeypatch.setattr(optimizer.optimize, "propose", lambda *a, **k: (np.full(2, 0.5), -np.inf))
    with pytest.warns(RuntimeWarning, match="acquisition is not finite at any point not already pending or in this batch"):
        (q,) = opt.ask()
    assert "quasi-random" in opt.last_fit["fallback"]
    assert (q["x1"], q["x2"]) != (2.5, 7.5)  # not the arbitrary point the acquisition returned


@pytest.mark.parametrize("how", ["standardize", "yeo-johnson", "copula"])
def test_output_transforms_are_monotone_and_standardized(how):
    from warmstart_bo.optimizer import transform_outputs

    y = -np.exp(np.random.default_rng(0).normal(0.0, 3.0, 40))  # a few values dwarf the rest
    z = transform_outputs(y, how)
    order = np.argsort(y)
    assert np.all(np.diff(z[order]) > 0)
    assert abs(np.mean(z)) < 1e-9 and np.std(z) == pytest.approx(1.0, abs=0.05)


def test_yeo_johnson_spreads_the_values_a_huge_outlier_squashes():
    from scipy import stats

    from warmstart_bo.optimizer import standardize, transform_outputs

    y = -np.concatenate([np.linspace(0.0, 1.0, 19), [1e4]])
    plain, warped = standardize(y)[0], transform_outputs(y, "yeo-johnson")
    assert np.ptp(warped[:19]) > 10 * np.ptp(plain[:19])
    assert abs(stats.skew(warped)) < abs(stats.skew(plain))
    np.testing.assert_array_equal(transform_outputs(y[:2], "yeo-johnson"), standardize(y[:2])[0])


def test_output_transform_and_priors_are_used_and_checked():
    from warmstart_bo import gp

    with pytest.raises(ValueError, match="output_transform"):
        Optimizer(SPACE_2D, output_transform="log")
    priors = gp.default_priors(2, "lognormal")
    opt = run(Optimizer(SPACE_2D, random_seed=0, n_initial_points=5, output_transform="yeo-johnson", priors=priors), quadratic, 12)
    assert opt.priors == priors
    assert opt.best()[1] < 1e-2


def _large_model(n, d, seed=0):
    from warmstart_bo import gp

    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sin(5 * x).sum(1) + ((x - 0.3) ** 2).sum(1)
    y = (y - y.mean()) / y.std()
    params = gp.GPParams(jax.numpy.full(d, -1.5), jax.numpy.asarray(0.0), jax.numpy.asarray(-6.0), jax.numpy.asarray(0.0))
    return gp.condition(params, gp.pad_data(x, y, np.zeros(d, bool), n, jax.numpy.float64)), x, y


def test_float32_screening_proposes_what_the_exact_ascent_proposes():
    """At large n the ascent runs on a float32 ``L^-1`` (half the memory traffic) and the
    exact model scores the points it reaches: the proposal's exact acquisition value is the
    exact ascent's to what a float32 search resolves (8 float32 epsilons of the value, 2.9e-6
    nats of LogEI here; the two differed by up to 1.2e-6 over eight draws), and the point is
    the same up to where the maximum is flat, over several candidate draws."""
    from warmstart_bo import optimize

    with jax.enable_x64(True):
        post, x, y = _large_model(1024, 3)
        for seed in range(3):
            kw = dict(num_sobol=256, num_local=256, num_steps=40)
            exact, v_exact = optimize.propose(post, float(y.max()), np.random.default_rng(seed), x[np.argsort(-y)[:5]], **kw)
            screened, v_screened = optimize.propose(post, float(y.max()), np.random.default_rng(seed), x[np.argsort(-y)[:5]],
                                                    screen_in_float32=True, **kw)
            assert v_screened == pytest.approx(v_exact, abs=8 * float(np.finfo(np.float32).eps) * abs(v_exact))
            np.testing.assert_allclose(screened, exact, atol=0.01)  # a flat top: a twentieth of a lengthscale


@pytest.mark.slow
def test_large_models_check_the_gradient_once_the_rows_have_grown():
    """Above 256 rows a later ask checks the hyperparameters' gradient only once the rows
    have grown by REFIT_CHECK_GROWTH since the last converged check (an unconverged refit,
    at most LARGE_REFIT_STEPS an ask, continues at the next ask); in between, new rows join
    the factor at the same hyperparameters."""
    from warmstart_bo import optimizer as opt_module

    rng = np.random.default_rng(0)
    space = {"a": ContinuousParameter(0, 1), "b": ContinuousParameter(0, 1)}
    f = lambda p: float(np.sin(5 * p["a"]) + (p["b"] - 0.3) ** 2)  # noqa: E731
    opt = Optimizer(space, random_seed=0)
    pts = [{"a": float(a), "b": float(b)} for a, b in rng.random((300, 2))]
    opt.tell(pts, [f(p) for p in pts])
    opt.ask()
    assert opt.last_fit["kind"] == "subset multi-start, refined"
    fits = [dict(opt.last_fit)]
    for _ in range(12):
        opt.tell(opt.pending, [f(p) for p in opt.pending])
        opt.ask()
        fits.append(dict(opt.last_fit))
    assert all(fit["steps"] <= opt_module.LARGE_REFIT_STEPS for fit in fits)
    checked = [i for i, fit in enumerate(fits) if "no gradient check" not in fit["kind"]]
    converged = next(i for i in checked if fits[i]["steps"] < opt_module.LARGE_REFIT_STEPS)
    rows = fits[converged]["rows"]
    growth = int(np.ceil(rows * opt_module.REFIT_CHECK_GROWTH))
    after = [fit["kind"] for fit in fits[converged + 1 :]]
    assert len(after) >= growth
    assert after[: growth - 1] == ["incremental, no gradient check"] * (growth - 1)
    assert after[growth - 1] == "incremental"
