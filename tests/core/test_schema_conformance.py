"""The shipped schemas are standard JSON Schema (draft 2020-12), and the loader's validator for
the keyword subset they use agrees with the reference implementation (the jsonschema package,
a development dependency only: the core may not import it)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.fileformat import encode
from bpstudio.core.files.schema import load_schema, validator

from bpgfiles import mutate_json

DOCUMENTS = {name: [json.loads(encode(build())[f"{name}.json"]) for build in EXAMPLES.values()]
             for name in ("graph", "manifest")}


@pytest.mark.parametrize("name", ["graph", "manifest"])
def test_schema_is_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


@pytest.mark.parametrize("name", ["graph", "manifest"])
def test_written_documents_are_valid_for_both(name):
    reference = jsonschema.Draft202012Validator(load_schema(name))
    for document in DOCUMENTS[name]:
        assert reference.is_valid(document)
        assert validator(name).is_valid(document)


@settings(max_examples=600, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_validator_agrees_with_the_reference_implementation(data):
    name = data.draw(st.sampled_from(["graph", "manifest"]))
    document = json.loads(json.dumps(data.draw(st.sampled_from(DOCUMENTS[name]))))
    for _ in range(data.draw(st.integers(1, 3))):
        document = mutate_json(document, data)
    reference = jsonschema.Draft202012Validator(load_schema(name)).is_valid(document)
    assert validator(name).is_valid(document) == reference
    # The quick test and the step-by-step check (which writes the messages) say the same.
    assert (validator(name).explain(document) is None) == reference
