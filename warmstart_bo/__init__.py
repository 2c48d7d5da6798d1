"""warmstart-bo: Gaussian-process Bayesian optimization in JAX, built for warm start."""

from warmstart_bo import acquisition, gp, kernels, optimize
from warmstart_bo.analytics import HyperparameterTuningJobAnalytics
from warmstart_bo.estimators import CommandLineEstimator, TrialStopped
from warmstart_bo.executors import RayExecutor
from warmstart_bo.optimizer import Optimizer
from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SearchSpace,
)
from warmstart_bo.store import Store, StoreError
from warmstart_bo.tuner import CompletionCriteria, HyperparameterTuner
from warmstart_bo.warmstart import WarmStartConfig, WarmStartTypes

__version__ = "0.1.0"

__all__ = [
    "CategoricalParameter",
    "CommandLineEstimator",
    "CompletionCriteria",
    "ContinuousParameter",
    "HyperparameterTuner",
    "HyperparameterTuningJobAnalytics",
    "IntegerParameter",
    "Optimizer",
    "RayExecutor",
    "SearchSpace",
    "Store",
    "StoreError",
    "TrialStopped",
    "WarmStartConfig",
    "WarmStartTypes",
    "__version__",
    "acquisition",
    "gp",
    "kernels",
    "optimize",
]
