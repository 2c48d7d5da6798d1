import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart_bo.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SearchSpace,
)


def mixed_space():
    return SearchSpace(
        {
            "lr": ContinuousParameter(1e-5, 1.0, "Logarithmic"),
            "momentum": ContinuousParameter(0.0, 0.999, "ReverseLogarithmic"),
            "dropout": ContinuousParameter(0.0, 0.5),
            "layers": IntegerParameter(1, 12),
            "batch": IntegerParameter(8, 1024, "Logarithmic"),
            "opt": CategoricalParameter(["sgd", "adam", "rmsprop"]),
            "flag": CategoricalParameter([True, False]),
            "width": CategoricalParameter([32, 64.5, None]),
        }
    )


points = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-5, 1.0),
        "momentum": st.floats(0.0, 0.999),
        "dropout": st.floats(0.0, 0.5),
        "layers": st.integers(1, 12),
        "batch": st.integers(8, 1024),
        "opt": st.sampled_from(["sgd", "adam", "rmsprop"]),
        "flag": st.booleans(),
        "width": st.sampled_from([32, 64.5, None]),
    }
)


@settings(max_examples=300, deadline=None)
@given(points)
def test_round_trip_every_valid_point(p):
    space = mixed_space()
    u = space.encode(p)
    assert np.all((0.0 <= u) & (u <= 1.0))
    back = space.decode(u)
    for name in ("layers", "batch", "opt", "flag", "width"):
        assert back[name] == p[name] and type(back[name]) is type(p[name])
    for name in ("lr", "momentum", "dropout"):
        assert type(back[name]) is float
        assert math.isclose(back[name], p[name], rel_tol=1e-12, abs_tol=1e-15)
    # Snapping a valid encoding changes nothing that decodes differently.
    assert space.decode(space.snap(u)) == back


def test_bounds_round_trip_exactly():
    space = mixed_space()
    lo = {"lr": 1e-5, "momentum": 0.0, "dropout": 0.0, "layers": 1, "batch": 8, "opt": "sgd", "flag": True, "width": 32}
    hi = {"lr": 1.0, "momentum": 0.999, "dropout": 0.5, "layers": 12, "batch": 1024, "opt": "rmsprop", "flag": False, "width": None}
    assert space.decode(space.encode(lo)) == lo
    assert space.decode(space.encode(hi)) == hi


def test_scalings_place_points_as_documented():
    space = SearchSpace(
        {
            "a": ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
            "b": ContinuousParameter(0.0, 0.99, "ReverseLogarithmic"),
            "c": ContinuousParameter(1e-4, 1e-1),  # Auto -> log: spans three decades
            "d": ContinuousParameter(1.0, 10.0),  # Auto -> linear
        }
    )
    assert space.scalings == {"a": "Logarithmic", "b": "ReverseLogarithmic", "c": "Logarithmic", "d": "Linear"}
    u = space.encode({"a": 1e-2 * 10**-0.5, "b": 0.9, "c": 1e-3, "d": 5.5})
    np.testing.assert_allclose(u, [0.5, 0.5, 1 / 3, 0.5], rtol=1e-12)


def test_decode_rounds_and_clips_integers_and_categoricals():
    space = SearchSpace({"n": IntegerParameter(2, 5), "c": CategoricalParameter(["x", "y"])})
    assert space.decode(np.array([0.49, 0.49])) == {"n": 3, "c": "x"}
    assert space.decode(np.array([1.0, 1.0])) == {"n": 5, "c": "y"}
    snapped = space.snap(np.array([[-0.3, 1.7], [0.6, 0.2]]))
    np.testing.assert_allclose(snapped, [[0.0, 0.75], [2 / 3, 0.25]])


@pytest.mark.parametrize(
    "param, rule",
    [
        (ContinuousParameter(1.0, 1.0), "min_value must be less than max_value"),
        (IntegerParameter(5, 2), "min_value must be less than max_value"),
        (ContinuousParameter(0.0, 1.0, "Logarithmic"), "Logarithmic scaling needs min_value > 0"),
        (IntegerParameter(0, 10, "Logarithmic"), "Logarithmic scaling needs min_value > 0"),
        (ContinuousParameter(0.5, 1.0, "ReverseLogarithmic"), "ReverseLogarithmic scaling needs"),
        (ContinuousParameter(-0.1, 0.5, "ReverseLogarithmic"), "ReverseLogarithmic scaling needs"),
        (IntegerParameter(0, 1, "ReverseLogarithmic"), "only for ContinuousParameter"),
        (ContinuousParameter(0.0, float("inf")), "must be finite"),
        (ContinuousParameter(float("nan"), 1.0), "must be finite"),
        (ContinuousParameter(0.0, 1.0, "Cubic"), "unknown scaling_type 'Cubic'"),
        (IntegerParameter(0.5, 3), "must be an integer"),
        (CategoricalParameter([]), "at least one value"),
        (CategoricalParameter(["a", "b", "a"]), "duplicate categorical value 'a'"),
        (CategoricalParameter([1, True]), "duplicate categorical value True"),
        ("not a parameter", "expected ContinuousParameter"),
    ],
)
def test_invalid_definitions_name_parameter_and_rule(param, rule):
    with pytest.raises(ValueError) as err:
        SearchSpace({"ok": ContinuousParameter(0.0, 1.0), "bad_one": param})
    assert "'bad_one'" in str(err.value) and rule in str(err.value)


def test_unknown_missing_and_out_of_range_values_are_named():
    space = SearchSpace({"a": ContinuousParameter(0.0, 1.0), "c": CategoricalParameter(["x"])})
    with pytest.raises(ValueError, match="'zzz' is not in the search space"):
        space.encode({"a": 0.5, "c": "x", "zzz": 1})
    with pytest.raises(ValueError, match="'c' is missing"):
        space.encode({"a": 0.5})
    with pytest.raises(ValueError, match="'a': value 2.0 is outside the range"):
        space.encode({"a": 2.0, "c": "x"})
    with pytest.raises(ValueError, match="'c': 'y' is not one of"):
        space.encode({"a": 0.5, "c": "y"})
    # Warm-start data from a wider range is placed outside the box on request.
    assert space.encode({"a": 2.0, "c": "x"}, allow_outside=True)[0] == pytest.approx(2.0)


def test_numpy_scalars_are_accepted_as_plain_python_values():
    """NumPy bounds and values (np.int64, np.float32, np.bool_) become Python numbers, so
    that the ranges are stored as JSON (a job once failed at fit with a JSON error)."""
    import json

    from warmstart_bo.space import ranges_to_json

    ranges = {
        "n": IntegerParameter(np.int64(1), np.int64(8)),
        "lr": ContinuousParameter(np.float32(0.5), np.float64(2.0)),
        "c": CategoricalParameter([np.int64(3), np.float32(2.5), np.str_("adam"), np.bool_(True)]),
    }
    space = SearchSpace(ranges)
    stored = json.loads(json.dumps(ranges_to_json(ranges)))
    assert stored["n"] == {"type": "Integer", "min_value": 1, "max_value": 8, "scaling_type": "Auto"}
    assert stored["lr"]["min_value"] == 0.5 and type(ranges["lr"].min_value) is float
    assert stored["c"]["values"] == [3, 2.5, "adam", True]
    assert [type(v) for v in ranges["c"].values] == [int, float, str, bool]
    assert space.decode(space.encode({"n": np.int64(4), "lr": 1.0, "c": 2.5})) == {"n": 4, "lr": 1.0, "c": 2.5}


@pytest.mark.parametrize(
    "param, rule",
    [
        (IntegerParameter(2**63, 2**63 + 10), "IntegerParameter bounds must lie within"),
        (IntegerParameter(-(2**60), 0), "IntegerParameter bounds must lie within"),
        (ContinuousParameter(-1e308, 1e308), "the range is too wide"),
        (ContinuousParameter(-np.finfo(float).max, np.finfo(float).max), "the range is too wide"),
    ],
)
def test_ranges_the_encoding_cannot_represent_are_refused(param, rule):
    with pytest.raises(ValueError) as err:
        SearchSpace({"wide": param})
    assert "'wide'" in str(err.value) and rule in str(err.value)


def test_largest_representable_ranges_encode_interior_points():
    space = SearchSpace({"n": IntegerParameter(-(2**53), 2**53), "x": ContinuousParameter(-1e307, 1e307)})
    u = space.encode({"n": 12345, "x": 1e306})
    assert np.all((u > 0) & (u < 1))
    assert space.decode(np.array([0.75, 0.25]))["x"] == pytest.approx(-5e306)
