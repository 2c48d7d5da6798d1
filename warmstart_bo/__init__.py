"""warmstart-bo: Gaussian-process Bayesian optimization in JAX, built for warm start."""

from warmstart_bo import acquisition, gp, kernels, optimize
from warmstart_bo.optimizer import Optimizer
from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SearchSpace,
)

__version__ = "0.1.0"

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "IntegerParameter",
    "Optimizer",
    "SearchSpace",
    "__version__",
    "acquisition",
    "gp",
    "kernels",
    "optimize",
]
