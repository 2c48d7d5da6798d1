"""Search strategies: how a tuning job picks the hyperparameters of its next trials.

Each strategy has the same small interface, used by the tuner:
``ask(indices) -> [params]`` proposes one point per new trial index, ``tell(params, value)``
records a finished trial, ``tell_failed(params)`` a failed one, and
``mark_pending(params_list)`` registers running trials it did not propose (on resume).

- ``"Bayesian"``: the GP :class:`~warmstart_bo.optimizer.Optimizer`; a batch accounts for
  running trials.
- ``"Random"``: uniform on each parameter's scale; trial ``i`` depends only on the seed and
  ``i``, so parallel and resumed runs draw the same points.
- ``"Grid"``: every combination of a categorical-only space, in order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from warmstart_bo.optimizer import Optimizer
from warmstart_bo.space import CategoricalParameter, SearchSpace

STRATEGIES = ("Bayesian", "Random", "Grid")


class BayesianStrategy:
    def __init__(self, space: SearchSpace, objective_type: str, seed: int, **optimizer_options: Any):
        self.optimizer = Optimizer(space, objective_type=objective_type, random_seed=seed, **optimizer_options)

    def ask(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return self.optimizer.ask(len(indices))

    def tell(self, params: Mapping[str, Any], value: float) -> None:
        self.optimizer.tell([params], [value])

    def tell_failed(self, params: Mapping[str, Any]) -> None:
        self.optimizer.tell_failed([params])

    def mark_pending(self, params_list: Sequence[Mapping[str, Any]]) -> None:
        self.optimizer.mark_pending(params_list)


class _Memoryless:
    """A strategy whose proposals do not depend on results."""

    def tell(self, params: Mapping[str, Any], value: float) -> None:
        pass

    def tell_failed(self, params: Mapping[str, Any]) -> None:
        pass

    def mark_pending(self, params_list: Sequence[Mapping[str, Any]]) -> None:
        pass


class RandomStrategy(_Memoryless):
    def __init__(self, space: SearchSpace, seed: int):
        self.space, self.seed = space, seed

    def ask(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return [self.space.decode(self.space.snap(np.random.default_rng([self.seed, i]).random(self.space.dim))) for i in indices]


class GridStrategy(_Memoryless):
    def __init__(self, space: SearchSpace):
        bad = [n for n, p in space.ranges.items() if not isinstance(p, CategoricalParameter)]
        if bad:
            raise ValueError(f"strategy 'Grid' needs categorical-only ranges; hyperparameter {bad[0]!r} is a {type(space.ranges[bad[0]]).__name__}")
        self.space = space
        self.size = math.prod(len(p.values) for p in space.ranges.values())

    def point(self, i: int) -> dict[str, Any]:
        values = next(itertools.islice(itertools.product(*(p.values for p in self.space.ranges.values())), i, None))
        return dict(zip(self.space.names, values))

    def ask(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return [self.point(i) for i in indices]


def make_strategy(name: str, space: SearchSpace, objective_type: str, seed: int, **optimizer_options: Any):
    """A strategy by name; ``optimizer_options`` (warm-start parents, say) go to the
    Bayesian optimizer."""
    if name == "Bayesian":
        return BayesianStrategy(space, objective_type, seed, **optimizer_options)
    if name == "Random":
        return RandomStrategy(space, seed)
    if name == "Grid":
        return GridStrategy(space)
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
