"""Parent histories and the policy that places them in a child's search space.

A parent job may have tuned a slightly different space. One policy, applied to every
parent trial (see :func:`encode_history`):

- **Range narrowed or widened**: the trial is encoded with the child's scaling; a value
  outside the child's range lands outside the unit box, where it still informs the model
  but can never be proposed. A value that the child's scaling cannot place (zero or less on
  a log scale, 1 or more on a reverse-log scale) drops the trial.
- **Hyperparameter added** in the child: the parent's static value for it is used when the
  parent had one (it must fit the child's type); otherwise the parent cannot be used and
  :class:`ParentError` says so.
- **Hyperparameter removed** in the child: the coordinate is dropped. The parent keeps
  informing the model only if its trials still differ in the shared hyperparameters;
  otherwise :class:`ParentError`.
- **Categorical value added**: nothing to do. **Value removed**: trials that used it are
  dropped.
- **Type changed** (say Integer to Categorical) for a shared hyperparameter: ParentError.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
    SearchSpace,
    plain_value,
)


class ParentError(ValueError):
    """A parent cannot be used for warm start; the message names it and the reason."""


@dataclass(frozen=True)
class ParentHistory:
    """Finished trials of a parent task.

    Args:
      name: the parent (job) name, used in errors.
      params: hyperparameter dicts of its finished trials.
      values: their objective values, in the child's objective orientation.
      hyperparameter_ranges: the parent's own ranges (to check types; None to skip).
      static_hyperparameters: the parent's fixed values (fill hyperparameters it did not tune).
    """

    name: str
    params: Sequence[Mapping[str, Any]]
    values: Sequence[float]
    hyperparameter_ranges: Mapping[str, Parameter] | None = None
    static_hyperparameters: Mapping[str, Any] = field(default_factory=dict)


def oriented(history: ParentHistory, objective_type: str, target_type: str) -> ParentHistory:
    """``history`` in the orientation of a ``target_type`` ("Minimize" or "Maximize") job:
    its values negated where its own ``objective_type`` is the other one (a Maximize parent
    of a Minimize child, taken as it is, steers the child to the parent's worst region)."""
    if objective_type == target_type:
        return history
    return replace(history, values=[None if v is None else -v for v in history.values])


def _kind(p: Parameter) -> str:
    return {ContinuousParameter: "Continuous", IntegerParameter: "Integer", CategoricalParameter: "Categorical"}[type(p)]


def check_types(space: SearchSpace, parent: ParentHistory) -> None:
    """Shared hyperparameters must keep their type (Continuous, Integer, Categorical)."""
    if parent.hyperparameter_ranges is None:
        return
    for name, p in parent.hyperparameter_ranges.items():
        if name in space.ranges and _kind(p) != _kind(space.ranges[name]):
            raise ParentError(
                f"parent {parent.name!r}: hyperparameter {name!r} changed type from {_kind(p)} to {_kind(space.ranges[name])}"
            )


def encode_history(space: SearchSpace, parent: ParentHistory, warn: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """The parent's trials in the child's encoding: x (n, d), y (n,), and how many were dropped;
    ``warn``: of a parent none of whose trials can be used (a RuntimeWarning)."""
    check_types(space, parent)
    if len(parent.params) != len(parent.values):
        raise ParentError(f"parent {parent.name!r}: {len(parent.params)} trials but {len(parent.values)} values")
    tuned = set(parent.hyperparameter_ranges) if parent.hyperparameter_ranges is not None else None
    missing = [n for n in space.names if (tuned is not None and n not in tuned) or (tuned is None and parent.params and n not in parent.params[0])]
    for n in missing:
        if n not in parent.static_hyperparameters:
            raise ParentError(
                f"parent {parent.name!r} has no value for hyperparameter {n!r}, which it neither tuned nor fixed; it cannot warm-start this job"
            )
        try:
            SearchSpace({n: space.ranges[n]}).encode({n: parent.static_hyperparameters[n]}, allow_outside=True)
        except ValueError as e:
            raise ParentError(f"parent {parent.name!r}: its fixed value does not fit this job: {e}") from None
    xs, ys, dropped = [], [], 0
    for params, value in zip(parent.params, parent.values):
        point = {n: params[n] if n in params and n not in missing else parent.static_hyperparameters.get(n) for n in space.names}
        value = plain_value(value)
        if value is None:  # a failed trial's missing objective: dropped like NaN
            dropped += 1
            continue
        try:
            if isinstance(value, (bool, str, bytes)):
                raise TypeError
            value = float(value)  # NumPy and JAX 0-d arrays, Decimal, ... too
        except OverflowError:
            raise ParentError(f"parent {parent.name!r}: the value of the trial at {dict(params)!r} is beyond float64's range, got {value!r:.80}") from None
        except (TypeError, ValueError):
            raise ParentError(f"parent {parent.name!r}: the value of the trial at {dict(params)!r} must be a number, got {value!r}") from None
        if not np.isfinite(value):
            dropped += 1
            continue
        try:
            xs.append(space.encode(point, allow_outside=True))
        except ValueError:
            dropped += 1  # a value the child cannot place: a removed categorical value, say
            continue
        ys.append(value)
    x = np.array(xs).reshape(-1, space.dim)
    y = np.array(ys)
    if dropped and not len(y) and warn:
        # Not an error (a parent whose trials all failed teaches nothing), but the job is a
        # cold start for it, which the caller should hear of.
        warnings.warn(
            f"parent {parent.name!r}: none of its {dropped} trials can warm-start this job (no finite value, or values "
            "this job's ranges cannot place, such as a removed categorical value or a number given as a string)",
            RuntimeWarning, stacklevel=4,  # the Optimizer's caller
        )
    removed = tuned is not None and bool(tuned - set(space.names))
    if removed and len(x) > 1 and np.all(np.ptp(x, axis=0) == 0):
        raise ParentError(
            f"parent {parent.name!r}: its trials differ only in hyperparameters this job no longer tunes, so they cannot inform it"
        )
    return x, y, dropped
