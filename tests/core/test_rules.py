"""One definition of what a project may hold (core/rules.py): the file's schema says the same
thing as the editing API, on inputs made here, and cannot drift from it."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpstudio import Graph, GraphError
from bpstudio.core import rules
from bpstudio.core.files.schema import SchemaValidator, load_schema

DEFS = load_schema("graph")["$defs"]


@pytest.mark.parametrize("key", sorted(rules.SCHEMA_DEFS))
def test_the_schema_states_the_rules_of_the_editing_api(key):
    assert DEFS[key] == rules.SCHEMA_DEFS[key]


def test_the_schema_uses_the_rules_where_they_apply():
    node, edge = DEFS["node"]["properties"], DEFS["edge"]["properties"]
    assert node["name"] == {"$ref": "#/$defs/node_name"}
    assert node["id"] == edge["src"] == edge["dst"] == {"$ref": "#/$defs/node_id"}
    assert node["position"] == {"$ref": "#/$defs/position"}
    assert node["params"]["additionalProperties"] == {"$ref": "#/$defs/param_value"}
    assert load_schema("graph")["properties"]["description"] == {"$ref": "#/$defs/description"}


def accepted_by_both(definition: str, value) -> bool:
    """Whether the loader's validator accepts ``value`` for a definition, checked against the
    reference implementation too."""
    schema = rules.SCHEMA_DEFS[definition]
    ours = SchemaValidator(schema).is_valid(value)
    assert jsonschema.Draft202012Validator(schema).is_valid(value) == ours
    return ours


texts = st.one_of(
    st.text(max_size=8),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,6}\n?", fullmatch=True),
    st.integers(0, 6).map(lambda k: "a" * (rules.MAX_NAME_LENGTH - 3 + k)),
    st.sampled_from(["", "\n", "a\n", "a\nb", "é", "_", "a b", "a-b.c_d"]),
)


@settings(max_examples=300, deadline=None, database=None)
@given(texts)
def test_a_name_is_allowed_by_the_editing_api_exactly_when_the_schema_allows_it(text):
    allowed = accepted_by_both("node_name", text)
    assert (rules.name_problem(text) is None) == allowed
    g = Graph()
    try:
        g.add_node("relu", name=text)
    except GraphError as exc:
        assert not allowed, exc
    else:
        assert allowed


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(max_size=4),
                 st.integers(0, 4).map(lambda k: "#" * (rules.MAX_ID_LENGTH - 2 + k))))
def test_an_id_is_allowed_exactly_when_the_schema_allows_it(text):
    allowed = accepted_by_both("node_id", text)
    assert (rules.id_problem(text) is None) == allowed
    try:
        Graph().add_node("relu", node_id=text)
    except GraphError:
        assert not allowed
    else:
        assert allowed


@pytest.mark.parametrize("length", [0, 1, rules.MAX_DESCRIPTION_LENGTH - 1,
                                    rules.MAX_DESCRIPTION_LENGTH, rules.MAX_DESCRIPTION_LENGTH + 1])
@pytest.mark.parametrize("character", ["a", "ü", "\U0001F600"])  # 1, 2 and 4 bytes in UTF-8
def test_a_description_is_allowed_exactly_when_the_schema_allows_it(length, character):
    text = character * length
    assert (rules.description_problem(text) is None) == accepted_by_both("description", text)


coordinates = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**400,
                        10**400), st.booleans(), st.text(max_size=2), st.none())


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.none(), st.tuples(coordinates, coordinates),
                 st.lists(coordinates, max_size=3), coordinates))
def test_a_position_is_a_finite_pair_or_none(position):
    try:
        pair = rules.as_position(position)
    except GraphError:
        return
    if pair is not None:
        assert all(isinstance(v, float) and abs(v) < float("inf") for v in pair)
        assert accepted_by_both("position", list(pair))


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.integers(-1, 2**31 + 1) | st.sampled_from([1, 2**31 - 1]), max_size=34))
def test_a_shape_is_allowed_exactly_when_the_schema_allows_it(dims):
    allowed = accepted_by_both("param_value", dims)
    g = Graph()
    x = g.input("x")
    try:
        g.set_param(x, "shape", dims)
    except GraphError:
        assert not allowed or not dims  # () is a shape to both; a list of nothing is allowed
    else:
        assert allowed


@pytest.mark.parametrize("value", [(10**5000, 1), [[[[[[1]]]]]] * 3, "x" * 10**5])
def test_a_refusal_quotes_any_value_without_failing_itself(value):
    # (Python has no repr for a whole number of more than 4,300 digits.)
    with pytest.raises(GraphError, match="position"):
        rules.as_position(value)
