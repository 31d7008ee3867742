"""Typed op parameters: whatever value arrives (typed, from a file, pasted), coercion gives a
value in range or a ParamError with a message, and never lets a RecursionError, an
OverflowError or any other kind of error out; and the values it accepts can be used."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstudio import Graph
from bpstudio.core.errors import BPStudioError, ParamError
from bpstudio.core.ops import REGISTRY
from bpstudio.core.ops.base import MAX_DIMS, MAX_REAL, MAX_WHOLE, Param, shown

PARAMS = [(op.name, p) for op in REGISTRY.values() for p in op.params]
IDS = [f"{op}.{p.name}" for op, p in PARAMS]


def nested(depth: int, leaf=1) -> list:
    """A list nested ``depth`` deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def assert_valid(param: Param, value) -> None:
    """What a coerced value of each kind must be."""
    if param.kind == "float":
        assert type(value) is float and math.isfinite(value) and abs(value) <= MAX_REAL
    elif param.kind == "int":
        assert type(value) is int and abs(value) <= MAX_WHOLE
    elif param.kind == "bool":
        assert type(value) is bool
    elif param.kind == "choice":
        assert value in param.choices
    elif param.kind == "shape":
        assert type(value) is tuple and len(value) <= MAX_DIMS
        assert all(type(d) is int and 1 <= d <= MAX_WHOLE for d in value)
    elif param.kind == "axis":
        assert value is None or (type(value) is int and -MAX_DIMS <= value < MAX_DIMS)
    else:
        raise AssertionError(param.kind)
    if param.kind in ("float", "int"):
        assert param.minimum is None or value >= param.minimum
        assert param.maximum is None or value <= param.maximum
    assert param.coerce(value) == value  # a coerced value is its own coercion


def use(op: str, param: Param, value) -> None:
    """Give the value to a node, as an edit would: accepted, or refused by a project error.
    A parameter node draws its values from shape, initialiser and scale (kept small here)."""
    g = Graph(seed=0)
    params = {param.name: value}
    if op == "parameter" and param.name != "shape":
        params["shape"] = (3,)
    elif op == "parameter" and math.prod(param.coerce(value)) > 10_000:
        return  # drawing a big array tests memory, not coercion (the size cap is tested apart)
    try:
        node = g.add_node(op, params=params)
    except BPStudioError:
        return
    if op == "parameter":
        assert np.all(np.isfinite(node.value))
    for init in (REGISTRY["parameter"].param("init").choices if op == "parameter" else ()):
        g.set_param(node, "init", init)  # every initialiser with the accepted scale
        assert np.all(np.isfinite(node.value))


def coerce_or_refuse(op: str, param: Param, value) -> None:
    try:
        result = param.coerce(value)
    except ParamError as exc:
        message = str(exc)
        assert f"parameter '{param.name}'" in message and len(message) < 400
        return
    assert_valid(param, result)
    use(op, param, result)


json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-10**500, 10**500)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
    | st.sampled_from(["3", " 4 ", "1e308", "-1e400", "9" * 400, "inf", "nan", "all", "()",
                       "2, 3", "2.5", "0", "-1", "1_000", "normal", "uniform"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=12)


@pytest.mark.parametrize("op, param", PARAMS, ids=IDS)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_ish)
def test_coercion_of_any_json_value_gives_a_valid_value_or_a_param_error(op, param, value):
    coerce_or_refuse(op, param, value)


NASTY = [
    nested(10_000), nested(10_000, leaf=[]), [10**5000], {"k": [[10**5000]]}, 10**400,
    -(10**400), 10**5000, "9" * 400,
    "9" * 5000, "1" + "0" * 400 + ".5", float("inf"), float("-inf"), float("nan"),
    np.float32("inf"), np.float64("nan"), np.int64(2**62), np.uint64(2**64 - 1), 1e308, -1e308,
    "1e308", Fraction(10**400, 3), Fraction(1, 3), True, np.bool_(False), [10**400], [2.5],
    [0], [-1], [1] * 100, "1, " * 400, np.array([2, 3]), np.zeros((2, 2)), {"a": 1}, {1, 2},
    b"3", object(), float(2**31), 2**31, -(2**31), 33, -33, 1e100, 1e101, "1e101", 1.5,
]


@pytest.mark.parametrize("op, param", PARAMS, ids=IDS)
@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_nasty_values_give_a_valid_value_or_a_param_error(op, param, value):
    coerce_or_refuse(op, param, value)


@pytest.mark.parametrize("op, key, value, message", [
    ("softmax", "axis", float("inf"), "parameter 'axis' must be a whole number, not inf"),
    ("softmax", "axis", np.float32("inf"), "parameter 'axis' must be a whole number, not "),
    ("softmax", "axis", "9" * 400, "parameter 'axis' must be <= 31, not a whole number of "
                                   "400 digits"),
    ("softmax", "axis", 40, "parameter 'axis' must be <= 31, not 40"),
    ("sum", "axis", 10**400, "parameter 'axis' must be a whole number or None (all axes) from "
                             "-32 to 31, not a whole number of 401 digits"),
    ("parameter", "scale", 1e308, "parameter 'scale' must be between -1e+100 and 1e+100, not "
                                  "1e+308"),
    ("parameter", "scale", "9" * 400, "parameter 'scale' must be between -1e+100 and 1e+100"),
    ("parameter", "scale", 10**400, "parameter 'scale' must be between -1e+100 and 1e+100, not "
                                    "a whole number of 401 digits"),
    ("parameter", "scale", "-inf", "parameter 'scale' must be a finite number, not '-inf'"),
    ("parameter", "shape", [10**400], "parameter 'shape': every dimension must be at most "
                                      "2147483647, not a whole number of 401 digits"),
    ("parameter", "shape", [2.5], "parameter 'shape' must be a shape (a list of whole numbers "
                                  "such as 3, 4), not 2.5"),
    ("parameter", "shape", [1] * 33, "parameter 'shape': a shape has at most 32 dimensions, "
                                     "not 33"),
    ("parameter", "shape", nested(10_000), "parameter 'shape' must be a shape (a list of whole "
                                           "numbers such as 3, 4), not [[[[...]]]]"),
    ("parameter", "shape", "9" * 5000, "parameter 'shape': 5,000 characters is too long for a "
                                       "number or shape"),
    ("parameter", "init", ["normal"], "parameter 'init' must be one of zeros, constant"),
    ("leaky_relu", "alpha", True, "parameter 'alpha' must be a number, not True"),
    ("sum", "keepdims", 1, "parameter 'keepdims' must be true or false, not 1"),
])
def test_refusals_say_why_in_a_short_message(op, key, value, message):
    with pytest.raises(ParamError) as info:
        REGISTRY[op].param(key).coerce(value)
    assert str(info.value).startswith(message)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("init", ["uniform", "normal", "constant"])
def test_the_largest_scale_accepted_still_draws_finite_values(init):
    g = Graph(seed=0)
    w = g.add_node("parameter", params={"shape": (4,), "init": init, "scale": MAX_REAL})
    assert np.all(np.isfinite(w.value)) and np.abs(w.value).max() <= 10 * MAX_REAL


@pytest.mark.parametrize("value, expected", [
    ("3, 4", (3, 4)), ("(2,)", (2,)), ("()", ()), ([3.0, 4], (3, 4)), (np.array([2, 5]), (2, 5)),
    ((np.int64(7),), (7,)),
])
def test_shapes_still_read_as_they_did(value, expected):
    assert REGISTRY["input"].param("shape").coerce(value) == expected


def test_shown_keeps_any_value_short():
    assert shown(10**5000) == "a whole number of 5001 digits"
    assert shown(10**5000 - 1) == "a whole number of 5000 digits"
    assert shown(-(10**20)) == "a whole number of 21 digits"
    assert shown(10**20 - 1) == repr(10**20 - 1)
    assert shown([10**5000, 1]) == "[a whole number of 5001 digits, 1]"
    assert len(shown(nested(100_000))) < 50
    assert len(shown("x" * 10_000)) < 50

    class NoRepr:
        def __repr__(self):
            raise RuntimeError("no")

    assert "NoRepr" in shown(NoRepr()) and len(shown(NoRepr())) < 50
