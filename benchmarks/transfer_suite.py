"""Problems of the transfer benchmark (issue 13): tasks whose optima really move, adversarial
parents, and model tuning on several data sets.

**Moved tasks.** A task of a base function ``f`` (Hartmann-3 or -6, minimum at ``x*``) is
``a * f(x* + R (x - o)) + b``: its optimum sits at ``o``, the input is rotated about it by
``R`` and the output is scaled and shifted. At similarity ``s``,
``o = x* + (1 - s) (u - x*)`` with ``u ~ U[0.1, 0.9]^d``, ``R = expm((1 - s) (pi / 2) K)``
for a random unit skew-symmetric ``K``, ``log a ~ (1 - s) U[-1, 1]`` and
``b ~ (1 - s) U[-1, 1]``. Hartmann functions tend to 0 away from the cube, so the task's
minimum is ``a f(x*) + b`` at ``o``, inside the cube. Target and parents are independent
draws at the same similarity.

**Adversarial parents** of a target drawn at ``similarity``: ``flipped`` (related tasks,
sign-flipped: their best points are the target's worst), ``far`` (the target itself with
its optimum moved to the far corner of the cube) and ``unrelated`` (smooth random Fourier
functions).

**Model tuning**: a scikit-learn model family (``rf``, ``svc``, ``mlp``, ``knn``) tuned by
3-fold cross-validated error on one data set; the parents are the same model tuned on other
data sets. Data sets: iris, wine, breast cancer, digits (500 rows), and three
``make_classification`` draws that share their structure (``random_state`` 0) and differ
in class separation and label noise (``synth-a`` easiest to ``synth-c`` hardest), all at
most 500 rows. Evaluations are cached in the process. (Histogram gradient boosting is left
out: one 3-fold evaluation took 24-60 s on the shared 2-core machine.)
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import expm

from benchmarks.families import _H3_A, _H3_P, _H6_A, _H6_P
from warmstart_bo.space import ContinuousParameter, IntegerParameter

_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_XSTAR = np.array([0.114614, 0.555649, 0.852547])
_H6_XSTAR = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])


def _hartmann(a_mat, p_mat):
    def f(z: np.ndarray) -> float:
        return float(-np.sum(_ALPHA * np.exp(-np.sum(a_mat * (z - p_mat) ** 2, axis=1))))

    return f


# name -> (base function on R^d, its minimizer, its minimum)
BASES = {
    "hartmann3": (_hartmann(_H3_A, _H3_P), _H3_XSTAR, -3.86278),
    "hartmann6": (_hartmann(_H6_A, _H6_P), _H6_XSTAR, -3.32237),
}
ADVERSARIES = ("flipped", "far", "unrelated")


@dataclass(frozen=True)
class Task:
    """A minimized function of a dict of unit-cube coordinates ``x0 .. x{d-1}``, with its
    minimizer and minimum when known."""

    fn: Callable[[np.ndarray], float] = field(repr=False)
    dim: int
    argmin: tuple[float, ...] | None = None
    minimum: float | None = None

    def __call__(self, params: dict) -> float:
        return float(self.fn(np.array([params[f"x{i}"] for i in range(self.dim)], dtype=float)))


def unit_space(dim: int) -> dict:
    return {f"x{i}": ContinuousParameter(0.0, 1.0, "Linear") for i in range(dim)}


def _rotation(rng: np.random.Generator, dim: int, angle: float) -> np.ndarray:
    b = rng.normal(size=(dim, dim))
    k = b - b.T
    return expm(angle * k / np.linalg.norm(k, 2))


def moved_task(base: str, rng: np.random.Generator, similarity: float, optimum: np.ndarray | None = None, sign: float = 1.0) -> Task:
    """A draw of ``base`` at ``similarity`` (module docstring); ``optimum`` overrides ``o``;
    ``sign`` -1 negates the task (its minimum is then unknown)."""
    if not 0.0 <= similarity <= 1.0:
        raise ValueError(f"similarity must be in [0, 1], got {similarity}")
    f, xstar, fmin = BASES[base]
    d = len(xstar)
    t = 1.0 - similarity
    o = xstar + t * (rng.uniform(0.1, 0.9, d) - xstar)
    r = _rotation(rng, d, t * np.pi / 2)
    a = float(np.exp(t * rng.uniform(-1, 1)))
    b = float(t * rng.uniform(-1, 1))
    if optimum is not None:
        o = np.asarray(optimum, dtype=float)
    fn = lambda x: sign * (a * f(xstar + r @ (x - o)) + b)
    return Task(fn, d, tuple(o) if sign > 0 else None, a * fmin + b if sign > 0 else None)


def random_fourier(rng: np.random.Generator, dim: int, features: int = 64, lengthscale: float = 0.2) -> Task:
    """A smooth random function: a draw of a GP with an RBF kernel, by random features."""
    w = rng.normal(size=(features, dim)) / lengthscale
    phase = rng.uniform(0, 2 * np.pi, features)
    amp = rng.normal(size=features) * np.sqrt(2.0 / features)
    return Task(lambda x: float(amp @ np.cos(w @ x + phase)), dim)


@dataclass(frozen=True)
class TransferProblem:
    """A target task and its parents' tasks, over one search space, minimized."""

    name: str
    space: dict
    target: Callable[[dict], float] = field(repr=False)
    parents: tuple[Callable[[dict], float], ...] = field(repr=False)
    optimum: float | None
    info: dict = field(default_factory=dict)


def synthetic(base: str, seed: int, similarity: float, n_parents: int = 3, adversary: str | None = None) -> TransferProblem:
    """Target at ``similarity`` and ``n_parents`` parents: related draws, or adversaries."""
    rng = np.random.default_rng([seed, 13])
    target = moved_task(base, rng, similarity)
    d = target.dim
    if adversary is None:
        parents = [moved_task(base, rng, similarity) for _ in range(n_parents)]
    elif adversary == "flipped":
        parents = [moved_task(base, rng, similarity, sign=-1.0) for _ in range(n_parents)]
    elif adversary == "far":
        corner = np.where(np.asarray(target.argmin) < 0.5, 0.9, 0.1)
        parents = [moved_task(base, rng, similarity, optimum=corner) for _ in range(n_parents)]
    elif adversary == "unrelated":
        parents = [random_fourier(rng, d) for _ in range(n_parents)]
    else:
        raise ValueError(f"unknown adversary {adversary!r}; expected one of {ADVERSARIES}")
    distances = [float(np.linalg.norm(np.subtract(p.argmin, target.argmin))) if p.argmin is not None else None for p in parents]
    name = f"{base}/{adversary or f'sim{similarity:g}'}"
    return TransferProblem(name, unit_space(d), target, tuple(parents), target.minimum, {"optimum_distance": distances})


# Model tuning.

DATASETS = ("iris", "wine", "breast_cancer", "digits", "synth-a", "synth-b", "synth-c")
_SYNTH = {"synth-a": (1.5, 0.01), "synth-b": (1.0, 0.05), "synth-c": (0.6, 0.10)}  # class_sep, flip_y


@functools.cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Standardized features and labels, at most 500 rows (a fixed subsample)."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}
    if name in loaders:
        x, y = loaders[name](return_X_y=True)
    elif name in _SYNTH:
        sep, flip = _SYNTH[name]
        x, y = datasets.make_classification(n_samples=400, n_features=10, n_informative=5, n_redundant=2, class_sep=sep, flip_y=flip, random_state=0)
    else:
        raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
    if len(y) > 500:
        keep = np.sort(np.random.default_rng(0).choice(len(y), 500, replace=False))
        x, y = x[keep], y[keep]
    return StandardScaler().fit_transform(x), y


MODELS = {
    "rf": {
        "max_depth": IntegerParameter(1, 20, "Linear"),
        "min_samples_leaf": IntegerParameter(1, 32, "Logarithmic"),
        "max_features": ContinuousParameter(0.05, 1.0, "Linear"),
    },
    "svc": {"C": ContinuousParameter(1e-3, 1e3, "Logarithmic"), "gamma": ContinuousParameter(1e-5, 10.0, "Logarithmic")},
    "mlp": {
        "alpha": ContinuousParameter(1e-6, 10.0, "Logarithmic"),
        "learning_rate_init": ContinuousParameter(1e-4, 0.3, "Logarithmic"),
        "hidden": IntegerParameter(2, 64, "Logarithmic"),
    },
    "knn": {"n_neighbors": IntegerParameter(1, 64, "Logarithmic"), "p": ContinuousParameter(1.0, 3.0, "Linear")},
}


def _estimator(model: str, hp: dict):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    if model == "rf":
        return RandomForestClassifier(
            n_estimators=30, max_depth=int(hp["max_depth"]), min_samples_leaf=int(hp["min_samples_leaf"]), max_features=hp["max_features"], random_state=0, n_jobs=1,
        )
    if model == "svc":
        return SVC(C=hp["C"], gamma=hp["gamma"])
    if model == "mlp":
        return MLPClassifier(hidden_layer_sizes=(int(hp["hidden"]),), alpha=hp["alpha"], learning_rate_init=hp["learning_rate_init"], max_iter=100, random_state=0)
    if model == "knn":
        return KNeighborsClassifier(n_neighbors=int(hp["n_neighbors"]), p=hp["p"])
    raise ValueError(f"unknown model {model!r}; expected one of {tuple(MODELS)}")


@functools.cache
def cv_error(model: str, data: str, items: tuple) -> float:
    """3-fold stratified cross-validated error (1 - accuracy) of ``model`` with the
    hyperparameters ``items`` on ``data``."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = dataset(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = cross_val_score(_estimator(model, dict(items)), x, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    return float(1.0 - np.mean(score))


def tuning(model: str, target: str, seed: int, n_parents: int = 3, datasets: tuple[str, ...] = DATASETS) -> TransferProblem:
    """``model`` on ``target``; parents: the same model on ``n_parents`` other data sets,
    drawn per seed."""
    if target not in datasets:
        raise ValueError(f"target must be one of {datasets}, got {target!r}")
    space = MODELS[model]
    others = [d for d in datasets if d != target]
    chosen = [others[i] for i in sorted(np.random.default_rng([seed, 17]).choice(len(others), min(n_parents, len(others)), replace=False))]

    def task(data: str) -> Callable[[dict], float]:
        return lambda params: cv_error(model, data, tuple(sorted((k, float(params[k])) for k in space)))

    return TransferProblem(f"{model}/{target}", space, task(target), tuple(task(d) for d in chosen), None, {"parent_datasets": chosen})
