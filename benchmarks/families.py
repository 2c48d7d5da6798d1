"""Task families with controllable similarity, for warm-start and transfer benchmarks.

Each family is a parametrized function; a task is one draw of its parameters. With
``similarity`` 1 every task is the nominal function; with ``similarity`` 0 parameters are
drawn uniformly from the family's full ranges, as in the papers the families come from.
In between, ``theta = nominal + (1 - similarity) * (uniform_draw - nominal)``.

- ``branin``: the Branin family of Tighineanu et al. (2022, "Transfer learning with
  Gaussian processes for Bayesian optimization"): a in [0.5, 1.5], b in [0.1, 0.15],
  c in [1, 2], r in [5, 7], s in [8, 12], t in [0.03, 0.05].
- ``forrester``: Forrester et al. (2008) ``A (6x - 2)^2 sin(12x - 4) + B (x - 0.5) + C``
  with A in [0.2, 3], B in [-5, 15], C in [-5, 5] (the high-fidelity function is 1, 0, 0).
- ``hartmann3`` / ``hartmann6``: Hartmann functions with the weights alpha perturbed
  uniformly by up to +-0.2 each (Tighineanu et al. 2022 perturb alpha the same way).
- ``alpine``: the 2-D Alpine-1 function ``sum |z sin z + 0.1 z|``, z = x - shift, with the
  shift in [-1, 1] per coordinate, on [0, 10]^2 (maximized in the papers; minimized here
  after a sign flip).

Every family is minimized. ``unrelated(task)`` gives a task whose ranking of points is the
reverse of ``task`` (a sign flip), the adversarial parent of the negative-transfer tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from warmstart_bo.space import ContinuousParameter


@dataclass(frozen=True)
class Task:
    """One member of a family: a function of the encoded point's values, its minimum."""

    family: str
    theta: tuple[float, ...]
    fn: Callable[[np.ndarray], float] = field(compare=False, repr=False)
    sign: float = 1.0

    def __call__(self, params: dict) -> float:
        return self.sign * self.fn(np.array([params[k] for k in sorted(params)], dtype=float))


@dataclass(frozen=True)
class Family:
    name: str
    space: dict
    nominal: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    make: Callable[[tuple[float, ...]], Callable[[np.ndarray], float]]

    def task(self, rng: np.random.Generator, similarity: float) -> Task:
        if not 0.0 <= similarity <= 1.0:
            raise ValueError(f"similarity must be in [0, 1], got {similarity}")
        draw = rng.uniform(self.low, self.high)
        theta = tuple(float(v) for v in np.asarray(self.nominal) + (1.0 - similarity) * (draw - np.asarray(self.nominal)))
        return Task(self.name, theta, self.make(theta))

    def nominal_task(self) -> Task:
        return Task(self.name, self.nominal, self.make(self.nominal))

    def minimum(self, task: Task, starts: int = 64, seed: int = 0) -> float:
        """The task's minimum, by L-BFGS-B from a Sobol-like spread of starts (cached)."""
        key = (task.theta, task.sign)
        if key not in _MINIMA.setdefault(self.name, {}):
            names = sorted(self.space)
            lo = np.array([self.space[k].min_value for k in names])
            hi = np.array([self.space[k].max_value for k in names])
            rng = np.random.default_rng(seed)
            f = lambda x: task.sign * task.fn(x)
            xs = lo + (hi - lo) * rng.random((max(starts * 16, 1024), len(names)))
            vals = np.array([f(x) for x in xs])
            best = float(vals.min())
            for x0 in xs[np.argsort(vals)[:starts]]:
                r = minimize(f, x0, method="L-BFGS-B", bounds=list(zip(lo, hi)))
                best = min(best, float(r.fun))
            _MINIMA[self.name][key] = best
        return _MINIMA[self.name][key]


_MINIMA: dict[str, dict] = {}


def unrelated(task: Task) -> Task:
    """The same function negated: its best points are the task's worst."""
    return Task(task.family + "-flipped", task.theta, task.fn, -task.sign)


def _branin(theta):
    a, b, c, r, s, t = theta

    def f(x):
        x1, x2 = x
        return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s

    return f


def _forrester(theta):
    a, b, c = theta

    def f(x):
        (z,) = x
        return a * (6 * z - 2) ** 2 * math.sin(12 * z - 4) + b * (z - 0.5) + c

    return f


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array(
    [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
)
_ALPHA = (1.0, 1.2, 3.0, 3.2)


def _hartmann(a_mat, p_mat):
    def make(theta):
        alpha = np.asarray(theta)

        def f(x):
            return float(-np.sum(alpha * np.exp(-np.sum(a_mat * (x - p_mat) ** 2, axis=1))))

        return f

    return make


def _alpine(theta):
    shift = np.asarray(theta)

    def f(x):
        z = x - shift
        return float(-np.sum(np.abs(z * np.sin(z) + 0.1 * z)))

    return f


def _unit(names):
    return {n: ContinuousParameter(0.0, 1.0, "Linear") for n in names}


FAMILIES = {
    "branin": Family(
        "branin",
        {"x1": ContinuousParameter(-5.0, 10.0, "Linear"), "x2": ContinuousParameter(0.0, 15.0, "Linear")},
        (1.0, 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)),
        (0.5, 0.1, 1.0, 5.0, 8.0, 0.03),
        (1.5, 0.15, 2.0, 7.0, 12.0, 0.05),
        _branin,
    ),
    "forrester": Family("forrester", _unit(["x"]), (1.0, 0.0, 0.0), (0.2, -5.0, -5.0), (3.0, 15.0, 5.0), _forrester),
    "hartmann3": Family("hartmann3", _unit(["x0", "x1", "x2"]), _ALPHA, tuple(a - 0.2 for a in _ALPHA), tuple(a + 0.2 for a in _ALPHA), _hartmann(_H3_A, _H3_P)),
    "hartmann6": Family(
        "hartmann6", _unit([f"x{i}" for i in range(6)]), _ALPHA, tuple(a - 0.2 for a in _ALPHA), tuple(a + 0.2 for a in _ALPHA), _hartmann(_H6_A, _H6_P)
    ),
    "alpine": Family(
        "alpine",
        {"x0": ContinuousParameter(0.0, 10.0, "Linear"), "x1": ContinuousParameter(0.0, 10.0, "Linear")},
        (0.0, 0.0), (-1.0, -1.0), (1.0, 1.0), _alpine,
    ),
}
