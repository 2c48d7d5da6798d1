"""Benchmark problems: a target task, its related parent tasks, its space, direction and
optimum, for the convergence experiments (``experiments/convergence.py``).

Two kinds, each a family of related tasks:

- **Synthetic** (:mod:`benchmarks.families`): Branin, Forrester, Hartmann-3/6 and Alpine
  families with controllable similarity. The target and parents are drawn from the family
  at ``similarity``; the optimum is known (found numerically); the objective is minimized.
- **Model tuning** on data sets that ship with scikit-learn, scored by 3-fold
  cross-validation: an RBF support-vector classifier (``C``, ``gamma``, log scale) on
  digits, wine, breast cancer and iris (accuracy, maximized), and an RBF support-vector
  regressor (``C``, ``gamma``, ``epsilon``) on diabetes and the Friedman #1 and #3
  generators (R^2, maximized). The same model on different data forms related tasks: the
  target is one data set, the parents the others. The optimum is not known: regret is
  measured against the best value any method found (``optimum=None``).

Each problem is a pure function of its parameters (and its seed, for synthetic draws).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.families import FAMILIES
from warmstart_bo.space import ContinuousParameter


@dataclass(frozen=True)
class Problem:
    """One target task with its related tasks.

    ``objective(params)`` and each ``parents[i](params)`` return the raw metric;
    ``objective_type`` says whether it is minimized or maximized; ``optimum`` is the best
    value when known.
    """

    name: str
    family: str
    space: dict[str, Any]
    objective_type: str
    objective: Callable[[dict], float] = field(repr=False)
    parents: tuple[Callable[[dict], float], ...] = field(repr=False)
    optimum: float | None = None

    def regret(self, value: float, reference: float | None = None) -> float:
        """How far ``value`` is from the optimum (or from ``reference``), >= 0 for valid values."""
        best = self.optimum if self.optimum is not None else reference
        if best is None:
            raise ValueError(f"problem {self.name!r} has no known optimum; pass a reference")
        return (value - best) if self.objective_type == "Minimize" else (best - value)


def synthetic(family: str, seed: int, similarity: float = 0.8, n_parents: int = 3) -> Problem:
    """A target drawn from ``family`` and ``n_parents`` related tasks (seeded)."""
    fam = FAMILIES[family]
    rng = np.random.default_rng([seed, 7])
    target = fam.task(rng, similarity)
    parents = tuple(fam.task(rng, similarity) for _ in range(n_parents))
    return Problem(f"{family}", family, fam.space, "Minimize", target, parents, fam.minimum(target))


@functools.cache
def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    loaders = {
        "digits": datasets.load_digits, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris, "diabetes": datasets.load_diabetes,
    }
    if name in loaders:
        x, y = loaders[name](return_X_y=True)
    elif name == "friedman1":
        x, y = datasets.make_friedman1(n_samples=400, noise=1.0, random_state=0)
    elif name == "friedman3":
        x, y = datasets.make_friedman3(n_samples=400, noise=0.1, random_state=0)
    else:
        raise ValueError(f"unknown data set {name!r}")
    x = StandardScaler().fit_transform(x)
    if name in ("diabetes", "friedman1", "friedman3"):
        y = (y - y.mean()) / y.std()
    return x, y


@functools.cache
def _cv_score(model: str, data: str, items: tuple) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.svm import SVC, SVR

    x, y = _data(data)
    hp = dict(items)
    if model == "svc":
        est, cv = SVC(C=hp["C"], gamma=hp["gamma"]), StratifiedKFold(3, shuffle=True, random_state=0)
    else:
        est, cv = SVR(C=hp["C"], gamma=hp["gamma"], epsilon=hp["epsilon"]), KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.mean(cross_val_score(est, x, y, cv=cv)))


MODEL_TASKS = {
    "svc": (("digits", "wine", "breast_cancer", "iris"), {"C": ContinuousParameter(1e-2, 1e3, "Logarithmic"), "gamma": ContinuousParameter(1e-5, 10.0, "Logarithmic")}),
    "svr": (("diabetes", "friedman1", "friedman3"), {
        "C": ContinuousParameter(1e-2, 1e3, "Logarithmic"), "gamma": ContinuousParameter(1e-4, 10.0, "Logarithmic"),
        "epsilon": ContinuousParameter(1e-3, 1.0, "Logarithmic"),
    }),
}


def model_tuning(model: str, target: str | None = None) -> Problem:
    """``model`` tuned on ``target`` (default: the family's first data set); the other data
    sets of the family are the parents. Scores are cross-validated accuracy or R^2."""
    datasets_, space = MODEL_TASKS[model]
    target = target or datasets_[0]
    if target not in datasets_:
        raise ValueError(f"{model}: target must be one of {datasets_}, got {target!r}")

    def task(data: str) -> Callable[[dict], float]:
        return lambda params: _cv_score(model, data, tuple(sorted((k, float(params[k])) for k in space)))

    parents = tuple(task(d) for d in datasets_ if d != target)
    return Problem(f"{model}-{target}", model, space, "Maximize", task(target), parents, None)


SYNTHETIC = tuple(FAMILIES)
MODELS = tuple(MODEL_TASKS)


def make(name: str, seed: int, similarity: float = 0.8) -> Problem:
    """A problem by name: a synthetic family (drawn per seed) or ``svc`` / ``svr``."""
    if name in FAMILIES:
        return synthetic(name, seed, similarity)
    if name in MODEL_TASKS:
        return model_tuning(name)
    raise ValueError(f"unknown problem {name!r}; expected one of {SYNTHETIC + MODELS}")
