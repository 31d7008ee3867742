"""The training tree of a project file (settings, optimiser state, history) is checked on load
like the graph: every field the training code reads has a type, every number that sizes work
or memory has a cap, checked before anything is allocated, and a refusal names the field.

The caps are read from graph.schema.json itself, so every capped field is tried at its cap
(loads) and one past it (refused); other tests keep the schema in step with the training code
(every setting it writes, every option a data set or an optimiser takes, is typed there)."""

from __future__ import annotations

import inspect
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from bpstudio import FileFormatError, save
from bpstudio.cli import main
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files import fileformat
from bpstudio.core.files.fileformat import loads
from bpstudio.core.files.schema import load_schema
from bpstudio.core.training import datasets, optim
from bpstudio.core.training.trainer import FEATURES, TARGET, Trainer

from bpgfiles import read_entries, replace_entry, write_entries

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = load_schema("graph")
DEFS = SCHEMA["$defs"]


def resolve(schema: dict) -> dict:
    """A schema with its $ref followed (the keywords beside a $ref kept)."""
    while "$ref" in schema:
        target = DEFS[schema["$ref"].rsplit("/", 1)[1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


@pytest.fixture(scope="module")
def trained() -> bytes:
    """A project trained for a few steps: every tree filled by the training code itself."""
    project = EXAMPLES["xor"]()
    trainer = Trainer(project.graph, datasets.prepare("xor", options={"n": 40}), lr=0.05,
                      validate_every=2)
    trainer.fit(steps=5)
    buffer = io.BytesIO()
    fileformat._write_zip(buffer, fileformat.encode(trainer.to_project("trained")))
    return buffer.getvalue()


def document_of(data: bytes) -> dict:
    return json.loads(dict(read_entries(data))["graph.json"])


def edit_json(data: bytes, entry: str, edit) -> bytes:
    """``data`` with its graph.json edited, and the array entries nothing refers to any more
    (a series replaced by a list) left out, so that the edit alone is what the loader sees."""
    assert entry == "graph.json"
    document = document_of(data)
    edit(document)
    text = json.dumps(document)
    entries = [(name, json.dumps(document).encode() if name == entry else content)
               for name, content in read_entries(data)
               if not name.endswith(".npy") or name.startswith("values/") or f'"{name}"' in text]
    return write_entries(entries)


# ------------------------------------------------------------------ the caps, from the schema
def capped_fields(schema: dict, path: tuple) -> Iterator[tuple[tuple, dict]]:
    """(path, schema) of every field under ``schema`` whose number or list length is capped."""
    schema = resolve(schema)
    if "maximum" in schema or "exclusiveMaximum" in schema or "maxItems" in schema:
        yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from capped_fields(sub, path + (key,))
    for option in schema.get("anyOf", []):
        option = resolve(option)
        if option.get("type") == "object":
            yield from capped_fields(option, path)
        elif "maxItems" in option:  # a series given as a list
            yield path, option


TREES = {"training": DEFS["training"], "optimizer_state": DEFS["optimizer_state"],
         "history": DEFS["history"]}
CAPPED = [(tree + "." + ".".join(path), schema) for tree, definition in TREES.items()
          for path, schema in capped_fields(definition, ()) if path]


def test_the_caps_cover_what_the_issue_names():
    capped = {name for name, _ in CAPPED}
    assert {"training.data.n", "training.data.classes", "training.batch_size",
            "training.validation", "training.progress.step", "training.validate_every",
            "training.data.coefficients", "training.data.features", "training.standardisation.mean",
            "history.max_points", "history.loss", "history.step", "optimizer_state.t"} <= capped


def at(document: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = document
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def limit_values(schema: dict) -> tuple[Any, Any]:
    """A value at the cap and one just past it."""
    if "maxItems" in schema:
        item = resolve(schema.get("items", {}))
        one = 0 if item.get("type") in ("integer", "number") or "anyOf" in item else "a"
        return [one] * schema["maxItems"], [one] * (schema["maxItems"] + 1)
    if "exclusiveMaximum" in schema:
        return schema["exclusiveMaximum"] * 0.999, schema["exclusiveMaximum"]
    top = schema["maximum"]
    if schema.get("type") == "integer":
        return top, top + 1
    return top, 10 ** 309  # past a float64: an integer literal of 310 digits


@pytest.mark.parametrize("field, schema", CAPPED, ids=[name for name, _ in CAPPED])
def test_every_capped_field_loads_at_its_cap_and_is_refused_past_it(trained, field, schema):
    at_cap, past = limit_values(schema)

    def put(value):
        def edit(document):
            if document.get(field.split(".")[0]) is None:
                document[field.split(".")[0]] = {}
            at(document, field, value)
        return edit_json(trained, "graph.json", edit)
    loads(put(at_cap))  # a value at the cap is fine for the file (the code may still refuse it)
    with pytest.raises(FileFormatError) as info:
        loads(put(past))
    message = str(info.value)
    assert f"graph.json: {field}" in message, message


@pytest.mark.parametrize("field, value, fragment", [
    ("training.seed", None, "training.seed: expected integer, got null"),
    ("training.progress", [1], "training.progress: expected object, got array"),
    ("training.optimizer", ["adam"], "training.optimizer: must be one of"),
    ("training.optimizer", "adagrad", "training.optimizer: must be one of"),
    ("training.lr", 0, "training.lr: must be > 0"),
    ("training.lr", "fast", "training.lr: expected number"),
    ("training.data", [], "training.data: expected object"),
    ("training.data.n", 10**9, "training.data.n: must be <= 1000000"),
    ("training.data.n", 2.5, "training.data.n: expected integer"),
    ("training.data.noise", 10**400, "training.data.noise: must be <="),
    ("training.bindings", {"x": "weights"}, "training.bindings.x: must be one of"),
    ("training.bindings", {"not a name": "target"}, "training.bindings.not a name"),
    ("training.loss", ["loss"], "training.loss: expected string"),
    ("training.standardisation", {"mean": [1.0]}, "missing required field 'std'"),
    ("training.optimizer_options", {"nesterov": "yes"}, "nesterov: expected boolean"),
    ("training.optimizer_options", {"lr": 0.1}, "optimizer_options: unknown field 'lr'"),
    ("history.max_points", {"$float": "inf"}, "history.max_points: expected integer"),
    ("history.step", [{"$float": "inf"}], "history.step[0]: expected integer"),
    ("history.loss", ["x"], "history.loss"),
    ("history.grad_norm", [1.0], "history.grad_norm: expected object"),
    ("optimizer_state.t", -1, "optimizer_state.t: must be >= 0"),
    ("optimizer_state.slots", {"m": [1]}, "optimizer_state.slots.m: expected object"),
])
def test_a_mistyped_setting_is_refused_naming_the_field(trained, field, value, fragment):
    with pytest.raises(FileFormatError, match=None) as info:
        loads(edit_json(trained, "graph.json", lambda d: at(d, field, value)))
    assert fragment in str(info.value)


def test_whole_numbers_written_with_a_point_load_as_ints(trained):
    """JSON Schema counts 32.0 as an integer; the training code is given 32."""
    def edit(document):
        document["training"].update(batch_size=8.0, seed=3.0)
        document["training"]["data"].update(n=40.0)
        document["optimizer_state"]["t"] = 5.0
        document["history"]["max_points"] = 1000.0
        document["history"]["step"] = [1.0, 2.0, 3.0, 4.0, 5.0]
    project = loads(edit_json(trained, "graph.json", edit))
    values = [project.training["batch_size"], project.training["seed"],
              project.training["data"]["n"], project.optimizer_state["t"],
              project.history["max_points"], *project.history["step"]]
    assert values == [8, 3, 40, 5, 1000, 1, 2, 3, 4, 5]
    assert all(type(v) is int for v in values)
    assert type(project.training["lr"]) is float  # numbers the schema does not call whole stay
    trainer = Trainer.from_project(project)
    assert trainer.restart_reason is None and trainer.step == 5 and trainer.batch_size == 8


@pytest.mark.parametrize("tree", ["optimizer_state", "history"])
def test_the_optimizer_state_and_history_are_null_or_objects(trained, tree):
    with pytest.raises(FileFormatError, match=f"graph.json: {tree}: matches none"):
        loads(edit_json(trained, "graph.json", lambda d: d.update({tree: [1]})))


# ------------------------------------------------------- history arrays: capped before reading
def npy_header_only(shape: tuple, dtype: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(shape, dtype=dtype), allow_pickle=False)
    return buffer.getvalue()


def with_history_array(trained: bytes, count: int) -> bytes:
    document = document_of(trained)
    entry = document["history"]["loss"]["$array"]
    return replace_entry(trained, entry, npy_header_only((count,)))


def test_a_history_array_past_the_cap_is_refused_from_its_header(trained):
    cap = fileformat.MAX_HISTORY_POINTS
    assert cap == DEFS["history"]["properties"]["max_points"]["maximum"]
    assert loads(with_history_array(trained, cap)).history["loss"].shape == (cap,)
    with pytest.raises(FileFormatError, match=r"history\.loss \(entry 'history/\d+\.npy'\): the "
                                              r"array holds 100,001 numbers; at most 100,000"):
        loads(with_history_array(trained, cap + 1))


def test_the_history_arrays_together_are_capped(trained, monkeypatch):
    monkeypatch.setattr(fileformat, "MAX_HISTORY_NUMBERS", 1000)
    document = document_of(trained)
    names = [v["$array"] for v in document["history"]["grad_norm"].values()]
    data = trained
    for name in names:  # four arrays of 300: the fourth goes past 1000 in all
        data = replace_entry(data, name, npy_header_only((300,)))
    with pytest.raises(FileFormatError) as info:
        loads(data)
    assert str(info.value).startswith("graph.json: history.grad_norm.")
    assert "the array holds 300 numbers; at most" in str(info.value)


# ------------------------------------------------- the schema keeps up with the training code
TRAINING_PROPERTIES = DEFS["training"]["properties"]
DATA_PROPERTIES = DEFS["data"]["properties"]


def test_every_setting_the_trainer_writes_is_typed(trained):
    project = loads(trained)
    assert set(project.training) <= set(TRAINING_PROPERTIES)
    assert set(project.training["data"]) <= set(DATA_PROPERTIES)
    assert set(project.optimizer_state) <= set(DEFS["optimizer_state"]["properties"]) | {
        "hyperparameters"}
    assert set(project.history) <= set(DEFS["history"]["properties"])
    assert set(project.history["validation"]) <= set(
        DEFS["history"]["properties"]["validation"]["properties"])


@pytest.mark.parametrize("name", sorted(datasets.GENERATORS))
def test_every_option_of_a_generated_data_set_is_typed(name):
    options = set(inspect.signature(datasets.GENERATORS[name]).parameters)
    assert options <= set(DATA_PROPERTIES), options - set(DATA_PROPERTIES)
    assert set(datasets.GENERATORS[name]().spec) <= set(DATA_PROPERTIES)


def test_every_optimizer_and_its_options_are_typed():
    assert TRAINING_PROPERTIES["optimizer"]["enum"] == list(optim.OPTIMIZERS)
    typed = set(TRAINING_PROPERTIES["optimizer_options"]["properties"])
    for cls in optim.OPTIMIZERS.values():
        options = set(inspect.signature(cls).parameters) - {"lr", "weight_decay"}
        assert options <= typed, (cls.name, options - typed)


def test_the_binding_roles_and_tasks_are_those_of_the_code():
    assert set(TRAINING_PROPERTIES["bindings"]["additionalProperties"]["enum"]) == {FEATURES,
                                                                                    TARGET}
    assert set(DATA_PROPERTIES["task"]["enum"]) == {datasets.CLASSIFICATION, datasets.REGRESSION,
                                                    "auto"}


# --------------------------------------------------------------- through the command line
@pytest.mark.parametrize("edit", [
    lambda d: d["training"].update(seed=None),
    lambda d: d["training"].update(progress=[1]),
    lambda d: d["training"].update(optimizer=["adam"]),
    lambda d: d["training"]["data"].update(n=10**9),
], ids=["seed null", "progress [1]", "optimizer [adam]", "n 10^9"])
def test_the_cli_says_one_line_for_a_bad_setting_in_a_real_process(trained, tmp_path, edit):
    path = tmp_path / "bad.bpg"
    path.write_bytes(edit_json(trained, "graph.json", edit))
    for command in (["train", str(path), "--steps", "3"], ["info", str(path)]):
        result = subprocess.run([sys.executable, "-m", "bpstudio.cli", *command],
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"bpstudio-cli: error: {path}: graph.json: training.")
        assert len(result.stderr.splitlines()) == 1


def test_a_valid_trained_file_still_trains_on(trained, tmp_path, capsys):
    path = tmp_path / "t.bpg"
    path.write_bytes(trained)
    assert main(["train", str(path), "--steps", "3", "--quiet", "--out", str(path)]) == 0
    assert "saved" in capsys.readouterr().out
    save(loads(path.read_bytes()), tmp_path / "again.bpg")  # and what it saved saves again


def test_the_trainer_accepts_no_more_history_points_than_a_file_holds():
    from bpstudio.core.files.fileformat import MAX_HISTORY_POINTS as FILE_LIMIT
    from bpstudio.core.training.trainer import MAX_HISTORY_POINTS as TRAINER_LIMIT

    assert TRAINER_LIMIT == FILE_LIMIT  # a run the trainer allows can always be saved
