"""warmstart-bo: Gaussian-process Bayesian optimization in JAX, built for warm start.

The public names are imported on first use (PEP 562 ``__getattr__``), so that commands
which only read the store (``warmstart-bo jobs list``) start without loading JAX.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Each public name and the module that defines it.
_EXPORTS = {
    "CategoricalParameter": "warmstart_bo.space",
    "CommandLineEstimator": "warmstart_bo.estimators",
    "CompletionCriteria": "warmstart_bo.tuner",
    "ContinuousParameter": "warmstart_bo.space",
    "HyperparameterTuner": "warmstart_bo.tuner",
    "HyperparameterTuningJobAnalytics": "warmstart_bo.analytics",
    "IntegerParameter": "warmstart_bo.space",
    "Optimizer": "warmstart_bo.optimizer",
    "RayExecutor": "warmstart_bo.executors",
    "SearchSpace": "warmstart_bo.space",
    "Store": "warmstart_bo.store",
    "StoreError": "warmstart_bo.store",
    "TrialStopped": "warmstart_bo.estimators",
    "WarmStartConfig": "warmstart_bo.warmstart",
    "WarmStartTypes": "warmstart_bo.warmstart",
}
_SUBMODULES = ("acquisition", "gp", "kernels", "optimize")

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


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")  # warmstart_bo.tuner and the like, as before
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
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
