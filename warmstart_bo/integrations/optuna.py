"""An Optuna sampler that runs this library's Gaussian-process BO, warm start included.

``WarmStartSampler`` is a relative sampler: Optuna hands it the search space shared by
the study's trials (:class:`optuna.search_space.IntersectionSearchSpace`), and it proposes
all of those parameters jointly with :class:`warmstart_bo.Optimizer`. Parameters outside
that space (a conditional parameter, the first trial's) come from an independent sampler
(``RandomSampler`` by default).

Distributions map to ranges as follows; values go back in Optuna's own types:

- ``FloatDistribution(low, high, log)`` -> ``ContinuousParameter`` (Logarithmic when
  ``log``); with a ``step`` the proposal is rounded to the grid ``low + k * step``;
- ``IntDistribution(low, high, log, step)`` -> ``IntegerParameter`` (Logarithmic when
  ``log``), rounded to the step's grid;
- ``CategoricalDistribution(choices)`` -> ``CategoricalParameter`` over the choice indices;
- a distribution with a single value is not tuned.

Warm start: ``parents`` are finished Optuna studies or the names of jobs in a
:class:`~warmstart_bo.Store`, with ``warm_start_type`` as for a tuning job. A parent
study or job whose direction differs from the child's has its values negated (say, accuracy
maximized there and error minimized here).

Completed trials are observations; pruned trials count with their last intermediate
value (as a stopped trial does in a tuning job), failed ones as points not to propose
again, running ones as pending. Single-objective only.

    sampler = WarmStartSampler(seed=0, parents=[old_study], warm_start_type="TransferLearning")
    study = optuna.create_study(sampler=sampler)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from warmstart_bo.optimizer import Optimizer
from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
)
from warmstart_bo.transfer.histories import ParentError, ParentHistory, oriented
from warmstart_bo.warmstart import MAX_PARENTS, WarmStartConfig, WarmStartTypes


def to_range(name: str, distribution: BaseDistribution) -> Parameter | None:
    """The range for an Optuna distribution (None for a single-valued one)."""
    if distribution.single():
        return None
    if isinstance(distribution, FloatDistribution):
        return ContinuousParameter(distribution.low, distribution.high, "Logarithmic" if distribution.log else "Linear")
    if isinstance(distribution, IntDistribution):
        return IntegerParameter(distribution.low, distribution.high, "Logarithmic" if distribution.log else "Linear")
    if isinstance(distribution, CategoricalDistribution):
        return CategoricalParameter(tuple(range(len(distribution.choices))))
    raise ValueError(f"parameter {name!r}: unsupported distribution {type(distribution).__name__}")


def to_ours(distribution: BaseDistribution, value: Any) -> Any:
    """An Optuna value in the range's terms (a choice becomes its index)."""
    if isinstance(distribution, CategoricalDistribution):
        return int(distribution.to_internal_repr(value))
    if isinstance(distribution, IntDistribution):
        return int(value)
    return float(value)


def from_ours(distribution: BaseDistribution, value: Any) -> Any:
    """A proposed value as Optuna expects it: on the step grid, in bounds, a plain type."""
    if isinstance(distribution, CategoricalDistribution):
        return distribution.choices[int(value)]
    low, high, step = distribution.low, distribution.high, distribution.step
    if step is not None:
        value = low + round((value - low) / step) * step
        value = min(max(value, low), low + math.floor((high - low) / step + 1e-9) * step)
    value = min(max(value, low), high)
    return round(value) if isinstance(distribution, IntDistribution) else float(value)


def _encode_params(space: Mapping[str, BaseDistribution], params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A trial's values for the tuned parameters, or None when it lacks one or a value has
    left the space (a choice that is gone)."""
    out = {}
    for name, dist in space.items():
        if name not in params:
            return None
        value = params[name]
        if isinstance(dist, CategoricalDistribution) and value not in dist.choices:
            return None
        out[name] = to_ours(dist, value)
    return out


def _observed_value(trial: FrozenTrial) -> float | None:
    """A completed trial's value, or a pruned trial's last reported value."""
    if trial.state == TrialState.COMPLETE:
        value = trial.value
    elif trial.state == TrialState.PRUNED and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    else:
        return None
    return float(value) if value is not None and math.isfinite(value) else None


class WarmStartSampler(BaseSampler):
    """Gaussian-process Bayesian optimization for Optuna, with warm start from parents.

    Args:
      seed: seeds the initial design, the model fits and the independent sampler.
      parents: up to 5 finished ``optuna.Study`` objects or stored job names.
      warm_start_type: ``"IdenticalDataAndAlgorithm"`` or ``"TransferLearning"``
        (required with parents).
      store: where job-name parents live (default: the default store).
      transfer_prior, n_initial_points, acquisition, ...: passed to :class:`Optimizer`.
      independent_sampler: for parameters outside the joint space (default: random).
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        parents: Sequence[Any] = (),
        warm_start_type: str | None = None,
        store: Any = None,
        independent_sampler: BaseSampler | None = None,
        **optimizer_options: Any,
    ):
        self._seed = int(np.random.SeedSequence(seed).generate_state(1)[0] >> 1)
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._search_space = IntersectionSearchSpace()
        self._options = dict(optimizer_options)
        # Checked now, on a one-parameter space: a misspelled option surfaced only when the
        # first Bayesian trial began, after whole trials had run.
        Optimizer({"x": ContinuousParameter(0.0, 1.0)}, **self._options)
        parents = list(parents)
        if len(parents) > MAX_PARENTS:
            raise ValueError(f"parents: at most {MAX_PARENTS} parents, got {len(parents)}")
        if parents and warm_start_type not in (WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, WarmStartTypes.TRANSFER_LEARNING):
            raise ValueError(
                f"warm_start_type must be {WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM!r} or "
                f"{WarmStartTypes.TRANSFER_LEARNING!r} with parents, got {warm_start_type!r}"
            )
        for p in parents:
            if not isinstance(p, (str, optuna.Study)):
                raise TypeError(f"parent {p!r}: expected an optuna.Study or a stored job name")
        self._studies = [p for p in parents if isinstance(p, optuna.Study)]
        self._stored: list[tuple[ParentHistory, str]] = []  # with each job's objective type
        self._stored_spaces: list[dict[str, BaseDistribution]] = []
        names = [p for p in parents if isinstance(p, str)]
        if names:
            from warmstart_bo.integrations.exporters import job_distributions
            from warmstart_bo.store import Store
            from warmstart_bo.tuner import parents_with_objective_types

            store = store if isinstance(store, Store) else Store(store)
            self._stored = parents_with_objective_types(store, WarmStartConfig(warm_start_type, names))
            self._stored_spaces = [job_distributions(store.job(name).config) for name in names]
        self._warm_start_type = warm_start_type if parents else None
        self._first: dict[tuple[int, int], dict[str, Any]] = {}
        self._first_lock = threading.Lock()

    def reseed_rng(self) -> None:
        self._independent.reseed_rng()
        self._seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        _single_objective(study)
        return {n: d for n, d in self._search_space.calculate(study).items() if not d.single()}

    def _parents_space(self) -> dict[str, BaseDistribution]:
        """The parents' joint space (distributions all of them share): the studies' and the
        stored jobs' ranges as Optuna distributions."""
        spaces = [IntersectionSearchSpace().calculate(s) for s in self._studies] + self._stored_spaces
        return {n: d for n, d in spaces[0].items() if all(other.get(n) == d for other in spaces[1:]) and not d.single()}

    def _first_proposal(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        """A warm-started study's first trial, before its own trials define a joint space:
        the parents' model's proposal over the parent studies' space (once per trial).
        Each value is used only where the trial asks for a distribution that holds it
        (:meth:`sample_independent`): the child may have changed a parameter's range,
        scaling or choices, and a relative proposal under the parents' distribution would
        then fail Optuna's compatibility check inside the objective."""
        key = (study._study_id, trial.number)
        with self._first_lock:  # trials of one study may run in threads (n_jobs > 1)
            if key not in self._first:
                space = self._parents_space()
                self._first[key] = self.sample_relative(study, trial, space) if space else {}
            return self._first[key]

    def _parents(self, direction: StudyDirection, space: Mapping[str, BaseDistribution]) -> list[ParentHistory]:
        out = []
        for study in self._studies:
            _single_objective(study, "parent study")
            sign = 1.0 if study.direction == direction else -1.0
            params, values = [], []
            for t in study.get_trials(deepcopy=False):
                value, encoded = _observed_value(t), _encode_params(space, t.params)
                if value is not None and encoded is not None:
                    params.append(encoded)
                    values.append(sign * value)
            if not params:
                raise ParentError(f"parent study {study.study_name!r}: no finished trial covers the parameters {sorted(space)}")
            out.append(ParentHistory(study.study_name, params, values))
        target = "Maximize" if direction == StudyDirection.MAXIMIZE else "Minimize"
        for h, objective_type in self._stored:
            h = oriented(h, objective_type, target)
            pairs = [(_encode_params(space, p), v) for p, v in zip(h.params, h.values)]
            pairs = [(p, v) for p, v in pairs if p is not None]
            if not pairs:
                raise ParentError(f"parent job {h.name!r}: no finished trial covers the parameters {sorted(space)}")
            out.append(ParentHistory(h.name, [p for p, _ in pairs], [v for _, v in pairs]))
        return out

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        _single_objective(study)
        if not search_space:
            return {}
        ranges = {name: to_range(name, d) for name, d in search_space.items()}
        objective_type = "Maximize" if study.direction == StudyDirection.MAXIMIZE else "Minimize"
        parents = self._parents(study.direction, search_space) if self._warm_start_type else []
        opt = Optimizer(
            ranges, objective_type, random_seed=self._seed, parents=parents,
            warm_start_type=self._warm_start_type, **self._options,
        )
        observed, values, failed, pending = [], [], [], []
        for t in study.get_trials(deepcopy=False):
            if t.number == trial.number:
                continue
            encoded = _encode_params(search_space, t.params)
            if encoded is None:
                continue
            value = _observed_value(t)
            if value is not None:
                observed.append(encoded)
                values.append(value)
            elif t.state in (TrialState.FAIL, TrialState.COMPLETE, TrialState.PRUNED):
                failed.append(encoded)  # no usable value: do not propose it again
            elif t.state == TrialState.RUNNING:
                pending.append(encoded)
        if observed:
            opt.tell(observed, values)
        if failed:
            opt.tell_failed(failed)
        if pending:
            opt.mark_pending(pending)
        (proposal,) = opt.ask(1)
        return {name: from_ours(search_space[name], proposal[name]) for name in search_space}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution) -> Any:
        _single_objective(study)
        if (self._studies or self._stored) and not self._search_space.calculate(study):
            value = self._first_proposal(study, trial).get(param_name, _NONE)
            if value is not _NONE and _holds(param_distribution, value):
                return value
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self._independent.after_trial(study, trial, state, values)


_NONE = object()


def _holds(distribution: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is a valid value of ``distribution`` (in its range, on its step,
    one of its choices)."""
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def _single_objective(study: optuna.Study, what: str = "study") -> None:
    if len(study.directions) > 1:
        raise ValueError(f"WarmStartSampler optimizes one objective; {what} {study.study_name!r} has {len(study.directions)}")
