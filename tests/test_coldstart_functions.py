"""The cold-start suite's functions: each reaches its stated optimum and none goes below it."""

import math

import numpy as np
import pytest

from benchmarks import coldstart_functions as C
from warmstart_bo.space import SearchSpace

ST = -2.903534
MINIMIZERS = {
    "six-hump-camel": {"x0": 0.0898, "x1": -0.7126},
    "goldstein-price": {"x0": 0.0, "x1": -1.0},
    "branin": {"x0": math.pi, "x1": 2.275},
    "rosenbrock-4": {f"x{i}": 1.0 for i in range(4)},
    "styblinski-tang-4": {f"x{i}": ST for i in range(4)},
    "dixon-price-4": {f"x{i}": 2.0 ** (-(2 ** (i + 1) - 2) / 2 ** (i + 1)) for i in range(4)},
    "powell-4": {f"x{i}": 0.0 for i in range(4)},
    "hartmann-3": {"x0": 0.114614, "x1": 0.555649, "x2": 0.852547},
    "hartmann-6": dict(zip([f"x{i}" for i in range(6)], [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])),
    "levy-5": {f"x{i}": 1.0 for i in range(5)},
    "ackley-5": {f"x{i}": 0.0 for i in range(5)},
    "griewank-4": {f"x{i}": 0.0 for i in range(4)},
    "rastrigin-3": {f"x{i}": 0.0 for i in range(3)},
    "levy-3": {f"x{i}": 1.0 for i in range(3)},
    "ackley-3": {f"x{i}": 0.0 for i in range(3)},
    "michalewicz-5": dict(zip([f"x{i}" for i in range(5)], [2.202906, 1.570796, 1.284992, 1.923058, 1.720470])),
    "step-4": {f"x{i}": 0.2 for i in range(4)},
    "levy-10": {f"x{i}": 1.0 for i in range(10)},
    "mixed-training": {"lr": 10**-2.5, "layers": 6, "dropout": 0.2, "optimizer": "adam"},
    "mixed-styblinski": {"x0": 1.5 + ST, "x1": ST, "k": -3, "s": 10**0.5, "kind": "b"},
}
MINIMIZERS["six-hump-camel-noisy"] = MINIMIZERS["six-hump-camel"]
MINIMIZERS["hartmann-6-noisy"] = MINIMIZERS["hartmann-6"]
MINIMIZERS["rosenbrock-4-noisy"] = MINIMIZERS["rosenbrock-4"]


def test_suite_covers_the_issue():
    plain = [f for f in C.FUNCTIONS.values() if not f.noise_sd and not f.name.startswith("mixed")]
    assert len(plain) >= 12
    assert {f.dim for f in plain} >= {2, 3, 4, 5, 6, 10}
    assert sum(f.noise_sd > 0 for f in C.FUNCTIONS.values()) >= 3
    assert set(MINIMIZERS) == set(C.FUNCTIONS)


@pytest.mark.parametrize("name", sorted(C.FUNCTIONS))
def test_optimum_is_reached_and_never_beaten(name):
    f = C.get(name)
    assert f.true(MINIMIZERS[name]) == pytest.approx(f.optimum, abs=2e-4 * max(1.0, abs(f.optimum)))
    space = SearchSpace(f.space)
    values = [f.true(p) for p in space.decode_many(np.random.default_rng(0).random((2000, space.dim)))]
    assert min(values) >= f.optimum - 1e-9


def test_noise_is_seeded_and_regret_uses_the_true_value():
    f = C.get("hartmann-6-noisy")
    p = MINIMIZERS["hartmann-6"]
    a, b, c = f.noisy(3), f.noisy(3), f.noisy(4)
    first = [a(p) for _ in range(5)]
    assert first == [b(p) for _ in range(5)]
    assert first != [c(p) for _ in range(5)]
    assert np.std(np.array(first) - f.true(p)) > 0.01
    assert C.get("hartmann-6").noisy(3)(p) == f.true(p)
