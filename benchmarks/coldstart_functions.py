"""The cold-start suite: standard test functions with known optima (issue 14).

Each :class:`Function` is minimized over a box (or a mixed space) and knows its optimum,
so that every run reports a simple regret. The suite covers smooth bowls (Styblinski-Tang,
Dixon-Price, Powell, Hartmann), many local optima (Ackley, Griewank, Rastrigin, Levy,
Michalewicz), steep walls and huge output ranges (six-hump camel on the wide box,
Goldstein-Price, Rosenbrock), a plateau function (the step function), noisy variants and
two mixed spaces (integers, categories, log-scaled ranges). Formulas and optima as in
Surjanovic & Bingham's Virtual Library of Simulation Experiments (sfu.ca/~ssurjano).

A noisy function adds Gaussian noise of standard deviation ``noise_sd`` to what the
optimizer sees; regret is always measured on the noise-free value (``Function.true``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
)
from warmstart_bo.testfunctions import (
    BRANIN_OPTIMUM,
    HARTMANN6_OPTIMUM,
    branin,
    hartmann6,
)


@dataclass(frozen=True)
class Function:
    """A minimization problem: ``true(params)`` noise-free, ``optimum`` its minimum."""

    name: str
    space: dict
    true: Callable[[dict], float]
    optimum: float
    noise_sd: float = 0.0
    kind: str = ""

    @property
    def dim(self) -> int:
        return len(self.space)

    def noisy(self, seed: int) -> Callable[[dict], float]:
        """The objective an optimizer sees: ``true`` plus noise from a generator seeded by
        ``seed`` (the same draws, in order, for every method of a seed)."""
        if not self.noise_sd:
            return self.true
        rng = np.random.default_rng([seed, 14])
        return lambda p: self.true(p) + self.noise_sd * float(rng.standard_normal())


def _box(lo: float, hi: float, d: int) -> dict:
    return {f"x{i}": ContinuousParameter(float(lo), float(hi), "Linear") for i in range(d)}


def _vec(p: dict, d: int) -> np.ndarray:
    return np.array([p[f"x{i}"] for i in range(d)], dtype=float)


def six_hump_camel(p: dict) -> float:
    x, y = p["x0"], p["x1"]
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def goldstein_price(p: dict) -> float:
    x, y = p["x0"], p["x1"]
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def _on_vector(f: Callable[[np.ndarray], float], d: int) -> Callable[[dict], float]:
    def g(p: dict) -> float:
        return float(f(_vec(p, d)))

    g.__name__ = f.__name__
    return g


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def styblinski_tang(x):
    return 0.5 * np.sum(x**4 - 16 * x**2 + 5 * x)


def levy(x):
    w = 1 + (x - 1) / 4
    head = np.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + np.sin(2 * math.pi * w[-1]) ** 2)
    return head + mid + tail


def ackley(x):
    d = len(x)
    return -20 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / d)) - np.exp(np.sum(np.cos(2 * math.pi * x)) / d) + 20 + math.e


def griewank(x):
    return np.sum(x**2) / 4000 - np.prod(np.cos(x / np.sqrt(np.arange(1, len(x) + 1)))) + 1


def rastrigin(x):
    return 10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * math.pi * x))


def michalewicz(x):
    i = np.arange(1, len(x) + 1)
    return -np.sum(np.sin(x) * np.sin(i * x**2 / math.pi) ** 20)


def dixon_price(x):
    i = np.arange(2, len(x) + 1)
    return (x[0] - 1) ** 2 + np.sum(i * (2 * x[1:] ** 2 - x[:-1]) ** 2)


def powell(x):
    a, b, c, e = x[0::4], x[1::4], x[2::4], x[3::4]
    return np.sum((a + 10 * b) ** 2 + 5 * (c - e) ** 2 + (b - 2 * c) ** 4 + 10 * (a - e) ** 4)


def step(x):
    """De Jong's step function: flat terraces, minimum 0 on the unit cube around 0."""
    return np.sum(np.floor(x + 0.5) ** 2)


_H3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])


def hartmann3(x):
    return -np.sum(_H3_ALPHA * np.exp(-np.sum(_H3_A * (x - _H3_P) ** 2, axis=1)))


def _branin_xy(p: dict) -> float:
    return branin({"x1": p["x0"], "x2": p["x1"]})


_BRANIN_SPACE = {"x0": ContinuousParameter(-5.0, 10.0, "Linear"), "x1": ContinuousParameter(0.0, 15.0, "Linear")}
_ST_MIN_1D = -39.16616570377142  # 0.5 (x^4 - 16 x^2 + 5 x) at x = -2.903534
_OPTIMIZER_OFFSET = {"adam": 0.0, "sgd": 0.4, "rmsprop": 0.2}


def mixed_training(p: dict) -> float:
    """A tuning-like mixed space: a log-scaled learning rate whose best value depends on the
    optimizer (categorical), an integer depth, a linear dropout. Minimum 0 (adam, lr 10^-2.5,
    6 layers, dropout 0.2)."""
    best_log_lr = {"adam": -2.5, "sgd": -1.2, "rmsprop": -3.0}[p["optimizer"]]
    return ((math.log10(p["lr"]) - best_log_lr) ** 2 + 0.05 * (p["layers"] - 6) ** 2 + 4 * (p["dropout"] - 0.2) ** 2
            + _OPTIMIZER_OFFSET[p["optimizer"]])


_SHIFT = {"a": 0.0, "b": 1.5, "c": -1.0, "d": 2.5}
_OFFSET = {"a": 6.0, "b": 0.0, "c": 3.0, "d": 10.0}


def mixed_styblinski(p: dict) -> float:
    """Styblinski-Tang with a categorical shift, an integer coordinate and a log-scaled
    scale: minimum 2 ST_1d + ST(-3) = -117.33233 (category b, k = -3, s = 10^0.5)."""
    c = p["kind"]
    x = np.array([p["x0"] - _SHIFT[c], p["x1"]])
    k = p["k"]
    return float(styblinski_tang(x) + 0.5 * (k**4 - 16 * k**2 + 5 * k) + 10 * (math.log10(p["s"]) - 0.5) ** 2 + _OFFSET[c])


def _make() -> dict[str, Function]:
    fs = [
        Function("six-hump-camel", {"x0": ContinuousParameter(-3.0, 3.0, "Linear"), "x1": ContinuousParameter(-2.0, 2.0, "Linear")},
                 six_hump_camel, -1.031628453489877, kind="steep walls"),
        Function("goldstein-price", _box(-2, 2, 2), goldstein_price, 3.0, kind="huge range"),
        Function("branin", _BRANIN_SPACE, _branin_xy, BRANIN_OPTIMUM, kind="smooth, three minima"),
        Function("rosenbrock-4", _box(-5, 10, 4), _on_vector(rosenbrock, 4), 0.0, kind="narrow valley, huge range"),
        Function("styblinski-tang-4", _box(-5, 5, 4), _on_vector(styblinski_tang, 4), 4 * _ST_MIN_1D, kind="bowl, local minima"),
        Function("dixon-price-4", _box(-10, 10, 4), _on_vector(dixon_price, 4), 0.0, kind="bowl, large range"),
        Function("powell-4", _box(-4, 5, 4), _on_vector(powell, 4), 0.0, kind="bowl, large range"),
        Function("hartmann-3", _box(0, 1, 3), _on_vector(hartmann3, 3), -3.862779787332660, kind="smooth, local minima"),
        Function("hartmann-6", {f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(6)},
                 _on_vector(lambda x: hartmann6({f"x{i}": x[i] for i in range(6)}), 6), HARTMANN6_OPTIMUM, kind="smooth, local minima"),
        Function("levy-5", _box(-10, 10, 5), _on_vector(levy, 5), 0.0, kind="many local minima"),
        Function("ackley-5", _box(-32.768, 32.768, 5), _on_vector(ackley, 5), 0.0, kind="many local minima, flat outside"),
        Function("griewank-4", _box(-600, 600, 4), _on_vector(griewank, 4), 0.0, kind="bowl with ripples"),
        Function("rastrigin-3", _box(-5.12, 5.12, 3), _on_vector(rastrigin, 3), 0.0, kind="many local minima"),
        # 3-d members of the same families, for the identical-data continuation control
        # (experiments/continuation.py); not in the cold-start config.
        Function("levy-3", _box(-10, 10, 3), _on_vector(levy, 3), 0.0, kind="many local minima"),
        Function("ackley-3", _box(-32.768, 32.768, 3), _on_vector(ackley, 3), 0.0, kind="many local minima, flat outside"),
        Function("michalewicz-5", _box(0, math.pi, 5), _on_vector(michalewicz, 5), -4.687658, kind="steep ridges, plateaus"),
        Function("step-4", _box(-5.12, 5.12, 4), _on_vector(step, 4), 0.0, kind="plateaus"),
        Function("levy-10", _box(-10, 10, 10), _on_vector(levy, 10), 0.0, kind="many local minima, 10-d"),
        Function("six-hump-camel-noisy", {"x0": ContinuousParameter(-3.0, 3.0, "Linear"), "x1": ContinuousParameter(-2.0, 2.0, "Linear")},
                 six_hump_camel, -1.031628453489877, noise_sd=0.1, kind="noisy"),
        Function("hartmann-6-noisy", {f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(6)},
                 _on_vector(lambda x: hartmann6({f"x{i}": x[i] for i in range(6)}), 6), HARTMANN6_OPTIMUM, noise_sd=0.1, kind="noisy"),
        Function("rosenbrock-4-noisy", _box(-5, 10, 4), _on_vector(rosenbrock, 4), 0.0, noise_sd=10.0, kind="noisy, huge range"),
        Function("mixed-training", {"lr": ContinuousParameter(1e-5, 1.0, "Logarithmic"), "layers": IntegerParameter(1, 12, "Linear"),
                                    "dropout": ContinuousParameter(0.0, 0.6, "Linear"),
                                    "optimizer": CategoricalParameter(["adam", "sgd", "rmsprop"])},
                 mixed_training, 0.0, kind="mixed: log, integer, categorical"),
        Function("mixed-styblinski", {"x0": ContinuousParameter(-5.0, 5.0, "Linear"), "x1": ContinuousParameter(-5.0, 5.0, "Linear"),
                                      "k": IntegerParameter(-5, 5, "Linear"), "s": ContinuousParameter(1e-2, 1e3, "Logarithmic"),
                                      "kind": CategoricalParameter(["a", "b", "c", "d"])},
                 mixed_styblinski, 2 * _ST_MIN_1D - 39.0, kind="mixed: log, integer, categorical"),
    ]
    return {f.name: f for f in fs}


FUNCTIONS: dict[str, Function] = _make()


def get(name: str) -> Function:
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown cold-start function {name!r}; known: {', '.join(FUNCTIONS)}") from None
