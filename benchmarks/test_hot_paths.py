"""pytest-benchmark timings of the core's hot paths (run: pytest benchmarks/ --benchmark-only)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from warmstart_bo import ContinuousParameter, Optimizer, gp, kernels, optimize

SIZES = [(16, 2), (64, 3), (256, 6), (512, 6)]


@pytest.fixture(params=SIZES, ids=lambda s: f"n{s[0]}-d{s[1]}")
def problem(request):
    n, d = request.param
    rng = np.random.default_rng(0)
    x = rng.random((n, d))
    y = np.sin(5 * x).sum(1)
    with jax.enable_x64(True):
        priors = gp.default_priors(d)
        data = gp.pad_data(x, (y - y.mean()) / y.std(), np.zeros(d, bool), dtype=jnp.float64)
        yield n, d, data, priors


def run64(fn, *args):
    with jax.enable_x64(True):
        return jax.block_until_ready(fn(*args))


def test_kernel_matrix(benchmark, problem):
    _, d, data, _ = problem
    f = jax.jit(lambda x: kernels.gram(kernels.mixed, x, x, jnp.ones(d), 1.0, data.categorical))
    run64(f, data.x)
    benchmark(run64, f, data.x)


def test_likelihood_and_gradient(benchmark, problem):
    _, d, data, priors = problem
    with jax.enable_x64(True):
        params = gp.prior_mode(d, priors, jnp.float64)
    f = jax.jit(jax.value_and_grad(lambda p: gp.neg_log_posterior(p, data, priors)))
    run64(f, params)
    benchmark(run64, f, params)


def test_gp_fit_4_starts(benchmark, problem):
    _, d, data, priors = problem
    with jax.enable_x64(True):
        starts = gp.sample_prior(jax.random.key(0), d, priors, 4, jnp.float64)
    f = jax.jit(gp.fit)
    run64(f, data, priors, starts)
    benchmark.pedantic(run64, args=(f, data, priors, starts), rounds=3, iterations=1)


def test_posterior(benchmark, problem):
    _, d, data, priors = problem
    with jax.enable_x64(True):
        post = jax.jit(gp.condition)(gp.prior_mode(d, priors, jnp.float64), data)
        xs = jnp.asarray(np.random.default_rng(1).random((1024, d)))
    f = jax.jit(gp.predict)
    run64(f, post, xs)
    benchmark(run64, f, post, xs)


def test_acquisition_optimization(benchmark, problem):
    _, d, data, priors = problem
    with jax.enable_x64(True):
        post = jax.jit(gp.condition)(gp.prior_mode(d, priors, jnp.float64), data)

    def propose():
        with jax.enable_x64(True):
            return optimize.propose(post, 1.0, np.random.default_rng(0), np.asarray(data.x[:5]))

    propose()
    benchmark(propose)


def test_one_ask(benchmark, problem):
    n, d, _, _ = problem
    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(d)]
    opt = Optimizer({k: ContinuousParameter(0.0, 1.0) for k in names})
    xs = rng.random((n - 4, d))
    opt.tell([dict(zip(names, map(float, x))) for x in xs], list(np.sin(5 * xs).sum(1)))
    opt.ask()  # compile, including the warm-started refit

    def step():
        (p,) = opt.ask()
        opt.tell([p], [float(np.sum(np.sin(5 * np.array(list(p.values())))))])

    step()
    benchmark.pedantic(step, rounds=3, iterations=1)
