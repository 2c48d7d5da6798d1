"""Standard test functions for Bayesian optimization, with their search spaces and optima."""

from __future__ import annotations

import math

import numpy as np

from warmstart_bo.space import ContinuousParameter

BRANIN_OPTIMUM = 0.397887357729738
HARTMANN6_OPTIMUM = -3.322368011415515

BRANIN_SPACE = {"x1": ContinuousParameter(-5.0, 10.0, "Linear"), "x2": ContinuousParameter(0.0, 15.0, "Linear")}
HARTMANN6_SPACE = {f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(6)}


def branin(params: dict) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at three points."""
    x1, x2 = params["x1"], params["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5.0 / math.pi, 1.0 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * math.cos(x1) + 10.0


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array(
    [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
)


def hartmann6(params: dict) -> float:
    """Hartmann-6 on [0, 1]^6; minimum -3.32237."""
    x = np.array([params[f"x{i}"] for i in range(6)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def branin_family(a=1.0, b=5.1 / (4 * math.pi**2), c=5.0 / math.pi, r=6.0, s=10.0, t=1.0 / (8 * math.pi)):
    """A member of the Branin family (Tighineanu et al. 2022): related tasks for warm start."""

    def f(params: dict) -> float:
        x1, x2 = params["x1"], params["x2"]
        return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s

    return f


# A task related to Branin: the demo's warm-start target (same family, other parameters).
related_branin = branin_family(a=1.3, b=0.14, c=1.5, r=6.5, s=9.0, t=0.035)
