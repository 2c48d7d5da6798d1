"""Search spaces: parameter ranges, scaling, and the encoding to the unit box.

Every hyperparameter is encoded to one coordinate of the unit box ``[0, 1]^d``:

- continuous and integer parameters are mapped by their scaling (linear, logarithmic or
  reverse-logarithmic) so that equal steps in the box are equal steps on that scale;
- a categorical parameter with ``k`` values is encoded as the midpoint of its value's bin,
  ``(index + 0.5) / k``; the GP treats such a coordinate with a categorical kernel.

Decoding rounds integers (in value space) and clips them to their range, and maps a
categorical coordinate back to the original value object, so ``decode(encode(p)) == p`` for
every valid point ``p``. Parameters are checked when a :class:`SearchSpace` is built from
them, so that every error can name the parameter at fault.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")

# "Auto" picks logarithmic scaling when a positive range spans at least this ratio.
AUTO_LOG_RATIO = 100.0

# Integers are encoded through float64, which holds every integer up to 2**53 exactly.
MAX_EXACT_INTEGER = 2**53


def plain_value(v: Any) -> Any:
    """A NumPy scalar (np.int64, np.float32, np.bool_, np.str_) as the Python value it
    holds, so that it is stored as JSON; any other value unchanged."""
    return v.item() if isinstance(v, np.generic) else v


@dataclass(frozen=True)
class ContinuousParameter:
    """A real-valued range ``[min_value, max_value]``."""

    min_value: float
    max_value: float
    scaling_type: str = "Auto"

    def __post_init__(self):
        _plain_bounds(self)


@dataclass(frozen=True)
class IntegerParameter:
    """An integer range ``{min_value, ..., max_value}``."""

    min_value: int
    max_value: int
    scaling_type: str = "Auto"

    def __post_init__(self):
        _plain_bounds(self)


@dataclass(frozen=True)
class CategoricalParameter:
    """A finite, unordered set of values (str, int, float, bool or None)."""

    values: Sequence[Any]

    def __post_init__(self):
        # Accept any iterable but store a tuple so the parameter is hashable and immutable.
        if isinstance(self.values, (str, bytes)):
            object.__setattr__(self, "values", (self.values,))
        else:
            object.__setattr__(self, "values", tuple(plain_value(v) for v in self.values))


Parameter = ContinuousParameter | IntegerParameter | CategoricalParameter


def _plain_bounds(p: ContinuousParameter | IntegerParameter) -> None:
    for field in ("min_value", "max_value"):
        object.__setattr__(p, field, plain_value(getattr(p, field)))


def _fail(name: str, rule: str) -> ValueError:
    return ValueError(f"hyperparameter {name!r}: {rule}")


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def is_finite_number(v) -> bool:
    """``math.isfinite``, false (not an ``OverflowError``) for an int beyond float64's range."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _resolve_scaling(name: str, p: ContinuousParameter | IntegerParameter) -> str:
    """Checks a numeric range and returns its effective scaling (never "Auto")."""
    kind = type(p).__name__
    for field in ("min_value", "max_value"):
        v = getattr(p, field)
        if not _is_real(v):
            raise _fail(name, f"{kind} {field} must be a number, got {v!r}")
        if not is_finite_number(v):
            raise _fail(name, f"{kind} {field} must be finite (within float64's range), got {v!r}")
        if isinstance(p, IntegerParameter) and v != int(v):
            raise _fail(name, f"IntegerParameter {field} must be an integer, got {v!r}")
        if isinstance(p, IntegerParameter) and abs(v) > MAX_EXACT_INTEGER:
            raise _fail(name, f"IntegerParameter bounds must lie within [-2**53, 2**53] (exact in float64), got {field}={v!r}")
    lo, hi = p.min_value, p.max_value
    if not lo < hi:
        raise _fail(name, f"min_value must be less than max_value, got min_value={lo!r} >= max_value={hi!r}")
    if not math.isfinite(float(hi) - float(lo)):
        raise _fail(name, f"the range is too wide: max_value - min_value overflows float64 ([{lo!r}, {hi!r}])")
    scaling = p.scaling_type
    if scaling not in SCALING_TYPES:
        raise _fail(name, f"unknown scaling_type {scaling!r}; expected one of {', '.join(SCALING_TYPES)}")
    if scaling == "Auto":
        return "Logarithmic" if lo > 0 and hi / lo >= AUTO_LOG_RATIO else "Linear"
    if scaling == "Logarithmic" and lo <= 0:
        raise _fail(name, f"Logarithmic scaling needs min_value > 0, got min_value={lo!r}")
    if scaling == "ReverseLogarithmic":
        if isinstance(p, IntegerParameter):
            raise _fail(name, "ReverseLogarithmic scaling is only for ContinuousParameter")
        if not (0 <= lo and hi < 1):
            raise _fail(name, f"ReverseLogarithmic scaling needs 0 <= min_value and max_value < 1, got [{lo!r}, {hi!r}]")
    return scaling


def _check_categorical(name: str, p: CategoricalParameter) -> None:
    if len(p.values) == 0:
        raise _fail(name, "CategoricalParameter needs at least one value, got none")
    for v in p.values:
        if v is not None and not isinstance(v, (str, bool, numbers.Real)):
            raise _fail(name, f"categorical values must be str, int, float, bool or None, got {v!r}")
        if _is_real(v) and not is_finite_number(v):
            raise _fail(name, f"categorical values must be finite (within float64's range), got {v!r}")
    for i, v in enumerate(p.values):
        # Python treats 1 == 1.0 == True as equal; such values could not be told apart on decode.
        if any(v == w for w in p.values[:i]):
            raise _fail(name, f"duplicate categorical value {v!r}")


@dataclass(frozen=True)
class _Dim:
    """One checked coordinate of the encoded box."""

    name: str
    param: Parameter
    scaling: str  # "Linear", "Logarithmic", "ReverseLogarithmic" or "Categorical"

    @property
    def is_categorical(self) -> bool:
        return self.scaling == "Categorical"

    @property
    def is_integer(self) -> bool:
        return isinstance(self.param, IntegerParameter)

    @property
    def n_choices(self) -> int:
        return len(self.param.values) if self.is_categorical else 0

    def _warp(self, v: float) -> float:
        lo, hi = float(self.param.min_value), float(self.param.max_value)
        if self.scaling == "Linear":
            return (v - lo) / (hi - lo)
        if self.scaling == "Logarithmic":
            return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        # ReverseLogarithmic: log scaling of the distance to 1, finest near max_value.
        a, b = math.log1p(-lo), math.log1p(-hi)
        return (a - math.log1p(-v)) / (a - b)

    def _unwarp(self, u: float) -> float:
        lo, hi = float(self.param.min_value), float(self.param.max_value)
        if self.scaling == "Linear":
            return lo + u * (hi - lo)
        if self.scaling == "Logarithmic":
            return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        a, b = math.log1p(-lo), math.log1p(-hi)
        return -math.expm1(a - u * (a - b))

    def encode(self, value, allow_outside: bool) -> float:
        if self.is_categorical:
            for i, v in enumerate(self.param.values):
                if v == value and (v is None) == (value is None):
                    return (i + 0.5) / self.n_choices
            raise _fail(self.name, f"{value!r} is not one of the categorical values {list(self.param.values)!r}")
        if not _is_real(value) or (self.is_integer and value != int(value)):
            kind = "an integer" if self.is_integer else "a number"
            raise _fail(self.name, f"value must be {kind}, got {value!r}")
        if not is_finite_number(value):
            raise _fail(self.name, f"value must be finite (within float64's range), got {value!r}")
        lo, hi = self.param.min_value, self.param.max_value
        if not lo <= value <= hi:
            if not allow_outside:
                raise _fail(self.name, f"value {value!r} is outside the range [{lo!r}, {hi!r}]")
            if (self.scaling == "Logarithmic" and value <= 0) or (self.scaling == "ReverseLogarithmic" and value >= 1):
                raise _fail(self.name, f"value {value!r} cannot be placed on {self.scaling} scaling")
        # Endpoints map exactly, so that decode(0) and decode(1) give the bounds back.
        if value == lo:
            return 0.0
        if value == hi:
            return 1.0
        return self._warp(float(value))

    def snap_integer(self, u: np.ndarray) -> np.ndarray:
        """Vectorized ``encode(decode(u))`` for an integer coordinate."""
        lo, hi = float(self.param.min_value), float(self.param.max_value)
        if self.scaling == "Linear":
            values = lo + u * (hi - lo)
        else:
            values = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        values = np.clip(np.round(values), lo, hi)
        if self.scaling == "Linear":
            return (values - lo) / (hi - lo)
        return (np.log(values) - math.log(lo)) / (math.log(hi) - math.log(lo))

    def decode(self, u: float):
        if self.is_categorical:
            k = self.n_choices
            return self.param.values[min(max(int(math.floor(u * k)), 0), k - 1)]
        lo, hi = self.param.min_value, self.param.max_value
        if u <= 0.0:
            value = lo
        elif u >= 1.0:
            value = hi
        else:
            value = min(max(self._unwarp(float(u)), lo), hi)
        if self.is_integer:
            return int(min(max(round(value), lo), hi))
        return float(value)


class SearchSpace:
    """An ordered set of named parameters with an encoding to the unit box.

    Args:
      hyperparameter_ranges: mapping from name to ``ContinuousParameter``,
        ``IntegerParameter`` or ``CategoricalParameter``. Its order fixes the order of the
        encoded coordinates.
    """

    def __init__(self, hyperparameter_ranges: Mapping[str, Parameter]):
        if not isinstance(hyperparameter_ranges, Mapping) or not hyperparameter_ranges:
            raise ValueError("hyperparameter_ranges must be a non-empty mapping from name to parameter range")
        dims = []
        for name, p in hyperparameter_ranges.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"hyperparameter names must be non-empty strings, got {name!r}")
            if isinstance(p, CategoricalParameter):
                _check_categorical(name, p)
                dims.append(_Dim(name, p, "Categorical"))
            elif isinstance(p, (ContinuousParameter, IntegerParameter)):
                dims.append(_Dim(name, p, _resolve_scaling(name, p)))
            else:
                raise _fail(name, f"expected ContinuousParameter, IntegerParameter or CategoricalParameter, got {type(p).__name__}")
        self._dims = tuple(dims)
        self.ranges = dict(hyperparameter_ranges)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self._dims)

    @property
    def dim(self) -> int:
        return len(self._dims)

    @property
    def scalings(self) -> dict[str, str]:
        """The effective scaling of every parameter ("Auto" resolved)."""
        return {d.name: d.scaling for d in self._dims}

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([d.is_categorical for d in self._dims], dtype=bool)

    @property
    def integer_mask(self) -> np.ndarray:
        return np.array([d.is_integer for d in self._dims], dtype=bool)

    @property
    def n_choices(self) -> np.ndarray:
        """Number of values of each categorical coordinate (0 for numeric ones)."""
        return np.array([d.n_choices for d in self._dims], dtype=np.int64)

    def _check_names(self, params: Mapping[str, Any]) -> None:
        if not isinstance(params, Mapping):
            raise ValueError(f"expected a dict of hyperparameters, got {type(params).__name__}")
        unknown = [k for k in params if k not in self.ranges]
        if unknown:
            raise ValueError(f"hyperparameter {unknown[0]!r} is not in the search space {list(self.names)!r}")
        missing = [n for n in self.names if n not in params]
        if missing:
            raise ValueError(f"hyperparameter {missing[0]!r} is missing from {dict(params)!r}")

    def encode(self, params: Mapping[str, Any], allow_outside: bool = False) -> np.ndarray:
        """Encodes one point to a float64 vector of shape (d,).

        With ``allow_outside`` numeric values outside their range are placed outside the unit
        box (used for warm-start data from wider ranges) instead of raising.
        """
        self._check_names(params)
        return np.array([d.encode(params[d.name], allow_outside) for d in self._dims], dtype=np.float64)

    def encode_many(self, params_list: Sequence[Mapping[str, Any]], allow_outside: bool = False) -> np.ndarray:
        """Encodes points to an array of shape (n, d)."""
        if not params_list:
            return np.zeros((0, self.dim))
        return np.stack([self.encode(p, allow_outside) for p in params_list])

    def decode(self, u: np.ndarray) -> dict[str, Any]:
        """Decodes one encoded vector of shape (d,) to a dict of valid values."""
        u = np.asarray(u, dtype=np.float64)
        if u.shape != (self.dim,):
            raise ValueError(f"expected an encoded point of shape ({self.dim},), got {u.shape}")
        if not np.all(np.isfinite(u)):
            raise ValueError(f"encoded point has non-finite coordinates: {u}")
        return {d.name: d.decode(float(x)) for d, x in zip(self._dims, u)}

    def decode_many(self, u: np.ndarray) -> list[dict[str, Any]]:
        return [self.decode(row) for row in np.asarray(u)]

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Projects encoded points (..., d) onto the encodings of valid points.

        Coordinates are clipped to the box, integers rounded in value space and categoricals
        moved to the midpoint of their bin, so the result decodes and re-encodes unchanged.
        """
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        out = u.copy()
        flat_in, flat_out = u.reshape(-1, self.dim), out.reshape(-1, self.dim)
        for j, d in enumerate(self._dims):
            if d.is_categorical:
                k = d.n_choices
                flat_out[:, j] = (np.clip(np.floor(flat_in[:, j] * k), 0, k - 1) + 0.5) / k
            elif d.is_integer:
                flat_out[:, j] = d.snap_integer(flat_in[:, j])
        return out

    def __repr__(self) -> str:
        return f"SearchSpace({self.ranges!r})"


_KIND_TO_CLASS = {"Continuous": ContinuousParameter, "Integer": IntegerParameter, "Categorical": CategoricalParameter}


def parameter_to_json(p: Parameter) -> dict[str, Any]:
    """A JSON-ready description of one range, as stored with a tuning job."""
    if isinstance(p, CategoricalParameter):
        return {"type": "Categorical", "values": list(p.values)}
    kind = "Integer" if isinstance(p, IntegerParameter) else "Continuous"
    return {"type": kind, "min_value": p.min_value, "max_value": p.max_value, "scaling_type": p.scaling_type}


def parameter_from_json(name: str, spec: Mapping[str, Any]) -> Parameter:
    """Inverse of :func:`parameter_to_json`; also reads hand-written configs.

    Numbers may be given as strings ("1e-4"), since YAML 1.1 reads ``1e-4`` as a string.
    """
    if not isinstance(spec, Mapping):
        raise _fail(name, f"range must be a mapping with a 'type', got {spec!r}")
    kind = spec.get("type")
    if kind not in _KIND_TO_CLASS:
        raise _fail(name, f"range type must be one of {list(_KIND_TO_CLASS)}, got {kind!r}")
    allowed = {"type", "values"} if kind == "Categorical" else {"type", "min_value", "max_value", "scaling_type"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise _fail(name, f"unknown key {unknown[0]!r} in a {kind} range; expected {sorted(allowed)}")
    if kind == "Categorical":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)):
            raise _fail(name, f"Categorical range needs a list of 'values', got {values!r}")
        return CategoricalParameter(tuple(values))
    bounds = []
    for field in ("min_value", "max_value"):
        if field not in spec:
            raise _fail(name, f"{kind} range needs {field!r}")
        v = spec[field]
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                raise _fail(name, f"{field} must be a number, got {v!r}") from None
        if kind == "Integer" and _is_real(v) and is_finite_number(v) and v == int(v):
            v = int(v)
        bounds.append(v)
    return _KIND_TO_CLASS[kind](bounds[0], bounds[1], spec.get("scaling_type", "Auto"))


def ranges_to_json(ranges: Mapping[str, Parameter]) -> dict[str, dict[str, Any]]:
    return {name: parameter_to_json(p) for name, p in ranges.items()}


def ranges_from_json(spec: Mapping[str, Any]) -> dict[str, Parameter]:
    """Reads ranges and checks them (a :class:`SearchSpace` is built, so errors name the parameter)."""
    if not isinstance(spec, Mapping) or not spec:
        raise ValueError("hyperparameter_ranges must be a non-empty mapping from name to range")
    ranges = {str(name): parameter_from_json(str(name), s) for name, s in spec.items()}
    SearchSpace(ranges)
    return ranges
