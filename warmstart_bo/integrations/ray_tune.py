"""A Ray Tune searcher that runs this library's Gaussian-process BO, warm start included.

    from ray import tune
    searcher = WarmStartSearcher(parents=["last-week"], warm_start_type="TransferLearning")
    tune.Tuner(train, param_space={"lr": tune.loguniform(1e-4, 1e-1), "layers": tune.randint(2, 9)},
               tune_config=tune.TuneConfig(search_alg=searcher, metric="loss", mode="min", num_samples=30)).fit()

The space comes from the searcher's ``space`` (our ranges or Tune domains) or from Tune's
``param_space``. Tune domains map to ranges: ``uniform``/``quniform`` -> Continuous
(Linear), ``loguniform``/``qloguniform`` -> Continuous (Logarithmic), ``randint``/
``qrandint`` -> Integer (Tune's upper bound is exclusive), ``lograndint`` -> Integer
(Logarithmic), ``choice`` -> Categorical; quantized domains are rounded to their grid.
Nested spaces are flattened with ``/`` and nested again in the suggested config (so, as in
Tune's own searchers, a key that holds ``/`` comes back split at it).

``save``/``restore`` write and read JSON: the space, the results in order (failed ones
included), the running trials' points, the parents' data; never a pickle. Tuples (a
``tune.choice`` of shapes, say) are kept as ``{"__tuple__": [...]}``, so that a restored
searcher suggests the tuples the live one did, not lists. A restored
searcher replays that history; its next proposal may differ from the saved one's in the
last digits of a hyperparameter fit (a live searcher starts each fit from the previous
optimum, a restored one from several starts). Concurrency is Tune's business (wrap in
``ConcurrencyLimiter``); running trials are pending points, so a batch spreads out.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher
from ray.tune.search.sample import (
    Categorical,
    Domain,
    Float,
    Integer,
    LogUniform,
    Quantized,
)
from ray.tune.search.variant_generator import parse_spec_vars
from ray.tune.utils.util import flatten_dict, unflatten_dict

from warmstart_bo.optimizer import Optimizer
from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
    ranges_from_json,
    ranges_to_json,
)
from warmstart_bo.transfer.histories import ParentHistory, oriented
from warmstart_bo.warmstart import MAX_PARENTS, WarmStartConfig, WarmStartTypes

STATE_VERSION = 1


def domain_to_range(name: str, domain: Domain) -> tuple[Parameter, Any]:
    """A Tune domain as a range, plus how to turn a proposed value back (grid, choices)."""
    sampler = domain.get_sampler()
    q = sampler.q if isinstance(sampler, Quantized) else None
    inner = sampler.sampler if isinstance(sampler, Quantized) else sampler
    log = isinstance(inner, LogUniform)
    scaling = "Logarithmic" if log else "Linear"
    if isinstance(domain, Categorical):
        return CategoricalParameter(tuple(range(len(domain.categories)))), {"choices": list(domain.categories)}
    if isinstance(domain, Float):
        return ContinuousParameter(float(domain.lower), float(domain.upper), scaling), {"q": q}
    if isinstance(domain, Integer):
        return IntegerParameter(int(domain.lower), int(domain.upper) - 1, scaling), {"q": q}
    raise ValueError(f"parameter {name!r}: unsupported Tune domain {type(domain).__name__}")


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def choice_index(choices: Sequence[Any], value: Any) -> int | None:
    """The index of ``value`` among a ``tune.choice``'s ``choices``, or None. The choice
    itself, or one of the same type and value, comes first: in Python ``True == 1 == 1.0``,
    and with ``list.index`` a choice of ``[True, 1]`` read 1 as True and could never suggest
    it. Otherwise an equal value that is a truth value (NumPy's included) exactly where the
    choice is one (say ``numpy.int64(2)`` for 2, ``numpy.True_`` for True)."""
    for same in (lambda c: c is value, lambda c: type(c) is type(value) and c == value, lambda c: _is_bool(c) == _is_bool(value) and c == value):
        found = next((i for i, c in enumerate(choices) if same(c)), None)
        if found is not None:
            return found
    return None


def _lookup(config: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """``config``'s value of the flat ``name`` ("opt/lr"), from a flat, nested or partly
    flattened config, whose keys may hold "/" themselves. The config is not flattened: a
    choice's value may itself be a dict (``tune.choice([{"a": 1}, {"b": 2}])``), and
    flattening read it as more parameters."""
    if name in config:
        return True, config[name]
    for key, node in config.items():
        if isinstance(key, str) and name.startswith(key + "/") and isinstance(node, Mapping):
            found, value = _lookup(node, name[len(key) + 1:])
            if found:
                return True, value
    return False, None


def _to_json(value: Any) -> Any:
    """``value`` with each tuple as ``{"__tuple__": [...]}`` (JSON has lists only)."""
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _from_json(value: Any) -> Any:
    """The inverse of :func:`_to_json`."""
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_from_json(v) for v in value["__tuple__"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _to_config_value(value: Any, how: Mapping[str, Any] | None) -> Any:
    if how is None:
        return value
    if "choices" in how:
        return how["choices"][int(value)]
    q = how.get("q")
    if q:
        value = round(value / q) * q
        return int(value) if isinstance(q, int) else float(value)
    return value


class WarmStartSearcher(Searcher):
    """Gaussian-process BO for Ray Tune, with warm start from stored jobs or histories.

    Args:
      space: our ranges (name -> Continuous/Integer/CategoricalParameter) or Tune domains;
        None takes Tune's ``param_space`` (via ``set_search_properties``).
      metric, mode: the objective and ``"min"`` or ``"max"`` (or Tune's).
      points_to_evaluate: configurations to run first.
      evaluated_rewards: their known results; then they are observations, not suggestions.
      parents: up to 5 stored job names (in ``store``) or :class:`ParentHistory` objects
        (values in this search's orientation); a job whose objective type is not this
        search's ``mode`` has its values negated (accuracy maximized there, error minimized here).
      warm_start_type: ``"IdenticalDataAndAlgorithm"`` or ``"TransferLearning"``.
      random_seed, **optimizer_options: passed to :class:`Optimizer`.
    """

    def __init__(
        self,
        space: Mapping[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        evaluated_rewards: Sequence[float] | None = None,
        parents: Sequence[Any] = (),
        warm_start_type: str | None = None,
        store: Any = None,
        random_seed: int = 0,
        **optimizer_options: Any,
    ):
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        super().__init__(metric=metric, mode=mode)
        parents = list(parents)
        if len(parents) > MAX_PARENTS:
            raise ValueError(f"parents: at most {MAX_PARENTS} parents, got {len(parents)}")
        if parents and warm_start_type not in (WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, WarmStartTypes.TRANSFER_LEARNING):
            raise ValueError(f"warm_start_type must be {WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM!r} or {WarmStartTypes.TRANSFER_LEARNING!r} with parents, got {warm_start_type!r}")
        histories = [p for p in parents if isinstance(p, ParentHistory)]
        names = [p for p in parents if isinstance(p, str)]
        bad = [p for p in parents if not isinstance(p, (str, ParentHistory))]
        if bad:
            raise TypeError(f"parent {bad[0]!r}: expected a stored job name or a ParentHistory")
        # With each stored job's objective type (None: a history given in this search's
        # orientation), so that a job of the other direction is negated once mode is known.
        typed: list[tuple[ParentHistory, str | None]] = [(h, None) for h in histories]
        if names:
            from warmstart_bo.store import Store
            from warmstart_bo.tuner import parents_with_objective_types

            typed += parents_with_objective_types(store if isinstance(store, Store) else Store(store), WarmStartConfig(warm_start_type, names))
        self._parents = typed
        self._warm_start_type = warm_start_type if parents else None
        self._seed = int(random_seed)
        self._options = dict(optimizer_options)
        self._points = [dict(p) for p in points_to_evaluate or []]
        if evaluated_rewards is not None and len(evaluated_rewards) != len(self._points):
            raise ValueError(f"evaluated_rewards has {len(evaluated_rewards)} values for {len(self._points)} points_to_evaluate")
        self._rewards = None if evaluated_rewards is None else [float(v) for v in evaluated_rewards]
        self._ranges: dict[str, Parameter] | None = None
        self._how: dict[str, Any] = {}
        self._constants: dict[str, Any] = {}
        self._opt: Optimizer | None = None
        self._live: dict[str, dict[str, Any]] = {}
        self._history: list[tuple[dict[str, Any], float | None]] = []  # in order; None: failed
        if space:
            self._set_space(space)

    def _set_space(self, space: Mapping[str, Any]) -> None:
        flat = flatten_dict(dict(space), delimiter="/")
        ranges, how, constants = {}, {}, {}
        for name, value in flat.items():
            if isinstance(value, (ContinuousParameter, IntegerParameter, CategoricalParameter)):
                ranges[name] = value
            elif isinstance(value, Domain):
                ranges[name], how[name] = domain_to_range(name, value)
            else:
                constants[name] = value
        _, _, grid = parse_spec_vars(dict(space))
        if grid:
            raise ValueError(f"parameter {'/'.join(map(str, grid[0][0]))!r}: grid_search cannot be combined with WarmStartSearcher")
        if not ranges:
            raise ValueError("the search space has no parameter to tune")
        self._ranges, self._how, self._constants = ranges, how, constants
        for point in self._points:  # a point that the space cannot hold is an error now, not at its turn
            self._internal(point)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        if self._ranges is not None and self._opt is not None:
            return False
        if self._ranges is None:
            if not config:
                return False
            self._set_space(config)
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        return True

    def _optimizer(self) -> Optimizer:
        if self._opt is not None:
            return self._opt
        if self._ranges is None or self._metric is None or self._mode is None:
            raise RuntimeError("WarmStartSearcher needs a space, a metric and a mode (its own or Tune's TuneConfig's)")
        objective_type = "Maximize" if self._mode == "max" else "Minimize"
        parents = [self._parent_in_ranges(oriented(h, kind or objective_type, objective_type)) for h, kind in self._parents]
        self._opt = Optimizer(
            self._ranges, objective_type, random_seed=self._seed,
            parents=parents, warm_start_type=self._warm_start_type, **self._options,
        )
        if self._rewards is not None:
            for point, value in zip(self._points, self._rewards):
                self._record(self._internal(point), value)
            self._points = []
        return self._opt

    def _parent_in_ranges(self, parent: ParentHistory) -> ParentHistory:
        """A parent's trials with each ``tune.choice`` value as its index, as live
        configurations are (:meth:`_internal`); a value that is not a choice becomes one no
        index equals, for the parent rules to drop (kept as it was, a parent's 1 would read
        as index 1). Without this every parent trial was dropped."""
        choices = {name: how["choices"] for name, how in self._how.items() if "choices" in how}
        if not choices:
            return parent
        def index(k: str, v: Any) -> Any:
            i = choice_index(choices[k], v)
            return f"not a choice: {v!r}" if i is None else i

        params = [{k: index(k, v) if k in choices else v for k, v in p.items()} for p in parent.params]
        return dataclasses.replace(parent, params=params)

    def _internal(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A configuration (nested or flat, Tune's values) in the ranges' terms."""
        out = {}
        for name in self._ranges:
            found, value = _lookup(config, name)
            if not found:
                raise ValueError(f"configuration {dict(config)!r} lacks parameter {name!r}")
            how = self._how.get(name)
            if how and "choices" in how:
                out[name] = choice_index(how["choices"], value)
                if out[name] is None:
                    raise ValueError(f"parameter {name!r}: value {value!r} is not one of its choices {how['choices']!r}")
            else:
                out[name] = value
        return out

    def _config(self, params: Mapping[str, Any]) -> dict[str, Any]:
        flat = {**self._constants, **{n: _to_config_value(v, self._how.get(n)) for n, v in params.items()}}
        return unflatten_dict(flat, delimiter="/")

    def _record(self, params: dict[str, Any], value: float | None) -> None:
        if value is None or not math.isfinite(value):
            self._history.append((params, None))
            self._opt.tell_failed([params])
        else:
            self._history.append((params, value))
            self._opt.tell([params], [value])

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        opt = self._optimizer()
        if self._points:
            params = self._internal(self._points.pop(0))
            opt.mark_pending([params])
        else:
            (proposed,) = opt.ask(1)
            params = self._internal(self._config(proposed))  # on the quantized grid, as it will run
            if params != proposed:
                opt.cancel([proposed])
                opt.mark_pending([params])
        self._live[trial_id] = params
        return self._config(params)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        params = self._live.pop(trial_id, None)
        if params is None:
            return
        value = None if error or not result else result.get(self._metric)
        self._record(params, None if value is None else float(value))

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False, pruned: bool = False, intermediate_values: list | None = None) -> None:
        self._optimizer()
        self._record(self._internal(parameters), None if error else float(value))

    def get_state(self) -> dict[str, Any]:
        return _to_json({
            "version": STATE_VERSION,
            "metric": self._metric, "mode": self._mode, "random_seed": self._seed, "options": self._options,
            "ranges": None if self._ranges is None else ranges_to_json(self._ranges),
            "how": self._how, "constants": self._constants,
            "warm_start_type": self._warm_start_type,
            "parents": [{"name": h.name, "params": [dict(p) for p in h.params], "values": list(h.values), "objective_type": kind} for h, kind in self._parents],
            "points_to_evaluate": self._points, "evaluated_rewards": self._rewards if self._opt is None else None,
            "history": [[p, v] for p, v in self._history], "live": self._live,
        })

    def set_state(self, state: dict[str, Any]) -> None:
        state = _from_json(state)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"searcher state version {state.get('version')!r} is not {STATE_VERSION}")
        self._metric, self._mode, self._seed, self._options = state["metric"], state["mode"], state["random_seed"], state["options"]
        self._ranges = None if state["ranges"] is None else ranges_from_json(state["ranges"])
        self._how, self._constants = state["how"], state["constants"]
        self._warm_start_type = state["warm_start_type"]
        self._parents = [(ParentHistory(p["name"], p["params"], p["values"]), p.get("objective_type")) for p in state["parents"]]
        self._points, self._rewards = state["points_to_evaluate"], state["evaluated_rewards"]
        self._opt, self._history, self._live = None, [], {}
        if self._ranges is None or self._metric is None or self._mode is None:
            return
        opt = self._optimizer()
        for params, value in state["history"]:
            self._record(params, value)
        self._live = dict(state["live"])
        if self._live:
            opt.mark_pending(list(self._live.values()))

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as f:
            json.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            self.set_state(json.load(f))
