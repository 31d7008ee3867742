"""The .bpg project file: lossless round trips, and a clear FileFormatError for every kind of
damaged or hostile file."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile

import numpy as np
import pytest

import bpstudio
from bpstudio import Engine, FileFormatError, Graph, Project
from bpstudio.core.files import fileformat
from bpstudio.core.compare import project_differences
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.fileformat import Limits, encode, load, loads, save
from bpstudio.core.layout import apply_layout
from bpstudio.core.files.schema import SchemaValidator, SchemaViolation, load_schema

from bpgfiles import edit_json, read_entries, replace_entry, write_entries


def every_op_graph() -> Graph:
    """A graph that uses every parameter kind and odd values: NaN and -0.0 weights, a constant,
    positions and a node without one, a fan-out."""
    g = Graph(seed=3)
    x = g.input("x", (3,))
    w = g.parameter("W", shape=(3, 2), init="he_uniform")
    h = g.leaky_relu(g.matmul(x, w), alpha=0.2, name="h")
    s = g.softmax(h, axis=1, name="s")
    total = g.sum(s, axis=None, keepdims=True, name="total")
    m = g.mean(g.power(g.exp(h), 1.5, name="pw"), axis=0, name="m")
    g.add(g.mul(total, 2.0, name="scaled"), m, name="out")
    g.constant(np.array([[1.0, -0.0], [1e300, 2.5]]), name="weird")
    g.node("W").value[0, 0] = np.nan  # a diverged run's weight must survive a save
    g.node("W").value[1, 1] = -0.0
    apply_layout(g)
    g.set_position("weird", None)
    return g


def trained_project() -> Project:
    g = every_op_graph()
    return Project(
        g,
        description="Ünïcode — and \"quotes\"\nand a second line",
        training={"optimizer": "adam", "lr": 0.01, "batch_size": 32, "shuffle": True,
                  "bindings": {"x": "features"}, "mean": np.array([0.5, -1.0]), "$odd": None},
        optimizer_state={"step": 12, "m": {"W": np.ones((3, 2))}, "v": {"W": np.full((3, 2), 1e-8)},
                         "$array": "not a reference"},
        history={"loss": [1.0, 0.5, float("nan"), float("inf"), -float("inf")],
                 "grad_norms": {"W": np.arange(6, dtype=np.float32)},
                 "accuracy": np.array([True, False]), "labels": np.arange(3, dtype=np.int64),
                 "nested": [[], {}, [np.zeros((0, 4))]], "complex": np.array([1 + 2j])},
    )


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("stem", list(EXAMPLES))
def test_examples_round_trip(tmp_path, stem):
    project = EXAMPLES[stem]()
    save(project, tmp_path / "p.bpg")
    assert project_differences(project, load(tmp_path / "p.bpg")) == []


def test_trained_project_round_trip_is_exact(tmp_path):
    project = trained_project()
    path = tmp_path / "trained.bpg"
    save(project, path)
    loaded = load(path)
    assert project_differences(project, loaded) == []
    assert loaded == project
    assert loaded.is_trained
    w = loaded.graph.node("W").value
    assert np.isnan(w[0, 0]) and math.copysign(1.0, w[1, 1]) == -1.0
    assert loaded.history["grad_norms"]["W"].dtype == np.float32
    assert loaded.history["labels"].dtype == np.int64
    assert loaded.training["$odd"] is None and loaded.optimizer_state["$array"] == "not a reference"
    assert loaded.graph.node("x").position == project.graph.node("x").position
    assert loaded.graph.node("weird").position is None


def test_round_trip_gives_identical_forward_outputs(tmp_path):
    project = EXAMPLES["two_moons"]()
    save(project, tmp_path / "m.bpg")
    loaded = load(tmp_path / "m.bpg")
    rng = np.random.default_rng(1)
    feeds = {"x": rng.normal(size=(9, 2)), "y": rng.integers(0, 2, (9, 1)).astype(float)}
    a, b = Engine(project.graph), Engine(loaded.graph)
    assert a.forward(feeds).tobytes() == b.forward(feeds).tobytes()
    a.backward(), b.backward()
    for name, grad in a.gradients().items():
        assert grad.tobytes() == b.gradients()[name].tobytes()


def test_a_difference_is_noticed():
    """The comparison the round-trip tests rely on can fail."""
    a, b = trained_project(), trained_project()
    assert a == b
    b.graph.node("W").value[2, 1] += 1e-12
    b.history["loss"][0] = 1.0000001
    b.graph.set_position("x", (1.0, 2.0))
    differences = project_differences(a, b)
    assert len(differences) == 3, differences
    assert a != b


def test_save_accepts_a_graph_and_is_deterministic(tmp_path):
    g = EXAMPLES["xor"]().graph
    save(g, tmp_path / "a.bpg")
    save(g, tmp_path / "b.bpg")
    assert (tmp_path / "a.bpg").read_bytes() == (tmp_path / "b.bpg").read_bytes()
    loaded = load(tmp_path / "a.bpg")
    assert loaded.description == "" and loaded.training == {} and loaded.history is None
    assert not loaded.is_trained


def test_scripting_api_exports():
    for name in ("save", "load", "FileFormatError", "Project"):
        assert getattr(bpstudio, name) is getattr(bpstudio.core, name)
    assert issubclass(FileFormatError, ValueError)
    assert issubclass(FileFormatError, bpstudio.BPStudioError)


def test_loaded_graph_keeps_editing(tmp_path):
    """Ids continue after the loaded ones, and the graph's editing API works as before."""
    save(EXAMPLES["single_neuron"](), tmp_path / "n.bpg")
    g = load(tmp_path / "n.bpg").graph
    before = set(g.nodes)
    new = g.relu("loss", name="extra")
    assert new.id not in before
    g.remove_node("extra")
    g.rename("w", "weight")
    assert g.find("weight") is not None


@pytest.mark.parametrize("content, message", [
    ({"history": {"f": object()}}, "history.f: object values are not supported"),
    ({"history": {1: 2.0}}, "keys must be text"),
    ({"optimizer_state": {"s": np.array(["text"])}}, "arrays must hold numbers"),
    ({"description": 5}, "description must be text"),
    ({"description": "d" * 100_001}, "description has 100,001 characters"),
    ({"training": {"lr": "fast"}}, "training.lr: expected number"),
    ({"training": {"data": {"source": "xor", "n": 10**9}}}, "training.data.n: must be <= 1000000"),
])
def test_unsaveable_content_is_refused_and_nothing_written(tmp_path, content, message):
    project = trained_project()
    for key, value in content.items():
        object.__setattr__(project, key, value)  # past the checks a Project makes itself
    path = tmp_path / "p.bpg"
    path.write_bytes(b"previous")
    with pytest.raises(FileFormatError, match=message):
        save(project, path)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["p.bpg"]


def test_deepest_saveable_tree_loads_back(tmp_path):
    def nested(levels):
        tree = 1.0
        for i in range(levels):
            tree = [tree] if i % 2 else {"k": tree}
        return tree
    project = Project(Graph(), history={"h": nested(fileformat.MAX_TREE_DEPTH - 1)})
    save(project, tmp_path / "deep.bpg")
    assert load(tmp_path / "deep.bpg") == project
    project.history = {"h": nested(fileformat.MAX_TREE_DEPTH)}
    with pytest.raises(FileFormatError, match="nested more than"):
        save(project, tmp_path / "deeper.bpg")


def test_bad_position_is_refused_on_save(tmp_path):
    """The editing API refuses it; a position set behind its back is caught by save."""
    g = EXAMPLES["single_neuron"]().graph
    with pytest.raises(bpstudio.GraphError, match="'w': position must be an \\(x, y\\) pair"):
        g.set_position("w", "top left")
    g.node("w").position = "top left"
    with pytest.raises(FileFormatError, match="node 'w': position must be an \\(x, y\\) pair"):
        save(g, tmp_path / "p.bpg")


def test_writer_output_matches_the_schema():
    entries = encode(trained_project())
    load_schema("graph")
    from bpstudio.core.files.schema import validator
    validator("graph").validate(json.loads(entries["graph.json"]))
    validator("manifest").validate(json.loads(entries["manifest.json"]))


# --------------------------------------------------------------------------- bad files
@pytest.fixture(scope="module")
def good() -> bytes:
    return b"".join(encode_to_file(trained_project()))


def encode_to_file(project: Project) -> list[bytes]:
    buffer = io.BytesIO()
    fileformat._write_zip(buffer, encode(project))
    return [buffer.getvalue()]


def refused(data: bytes, *fragments: str, limits: Limits = fileformat.DEFAULT_LIMITS) -> str:
    with pytest.raises(FileFormatError) as info:
        loads(data, limits)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_good_fixture_loads(good):
    assert loads(good) == trained_project()


def test_not_a_zip():
    refused(b"hello, I am not a zip file", "not a readable zip")
    refused(b"", "not a readable zip")


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.bpg"
    path.write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(FileFormatError, match="broken.bpg: not a Backprop Studio project file"):
        load(path)


@pytest.mark.parametrize("name", ["../evil.npy", "/etc/passwd", "values/../../x.npy",
                                  "values\\1.npy", "values/01.npy", "values/x.npy", "notes.txt",
                                  "graph.json/", "VALUES/1.npy", "values/1.npy\n"])
def test_unknown_entry_names_and_path_tricks_are_refused(good, name):
    entries = read_entries(good) + [(name, b"payload")]
    refused(write_entries(entries), "unexpected entry")


def test_duplicate_entry_is_refused(good):
    entries = read_entries(good)
    graph_entry = next(e for e in entries if e[0] == "graph.json")
    with pytest.warns(UserWarning):  # zipfile warns when writing a duplicate name
        data = write_entries(entries + [graph_entry])
    refused(data, "'graph.json' appears twice")


def test_changed_entry_fails_its_checksum(good):
    entries = read_entries(good)
    damaged = [(n, c.replace(b"adam", b"sgd!") if n == "graph.json" else c) for n, c in entries]
    refused(write_entries(damaged, fix_manifest=False), "'graph.json' is damaged", "checksum")


def test_entry_missing_or_unlisted(good):
    entries = read_entries(good)
    without = [(n, c) for n, c in entries if n != "values/1.npy"]
    refused(write_entries(without, fix_manifest=False), "'values/1.npy' listed in manifest.json is missing")
    refused(write_entries(entries + [("history/99.npy", b"x")], fix_manifest=False),
            "'history/99.npy' is not listed")
    refused(write_entries(entries + [("history/99.npy", b"x")]), "'history/99.npy'",
            "nothing refers to it")


def test_missing_graph_or_manifest(good):
    entries = read_entries(good)
    refused(write_entries([e for e in entries if e[0] != "manifest.json"], False),
            "'manifest.json' is missing")
    refused(write_entries([e for e in entries if e[0] != "graph.json"], False), "graph.json")


def test_zip_bomb_is_refused_before_unpacking(good):
    data = replace_entry(good, "graph.json", b" " * 50_000_000)
    assert len(data) < 200_000  # 50 MB of spaces compress to almost nothing
    refused(data, "'graph.json' unpacks to 50000000 bytes", limits=Limits(max_entry_bytes=10_000_000))
    refused(data, "bytes in total; at most 20000000", limits=Limits(max_total_bytes=20_000_000))
    refused(data, "'graph.json' is 50000000 bytes", limits=Limits(max_json_bytes=1_000_000))
    refused(data, "at most 1 are allowed", limits=Limits(max_entries=1))


def central_record(data: bytes, name: bytes) -> int:
    """Offset of the central directory record of entry ``name`` (its file name starts 46 bytes in)."""
    offset = data.find(b"PK\x01\x02")
    while data[offset + 46:offset + 46 + len(name)] != name:
        offset = data.find(b"PK\x01\x02", offset + 1)
        assert offset >= 0
    return offset


def test_entry_bigger_than_its_declared_size_is_not_trusted(good):
    """A directory that understates an entry's size does not get more than that size read."""
    data = bytearray(write_entries(read_entries(good), compression=zipfile.ZIP_STORED))
    offset = central_record(bytes(data), b"graph.json")
    data[offset + 24:offset + 28] = (10).to_bytes(4, "little")  # declared uncompressed size
    refused(bytes(data), "'graph.json'")


def test_encrypted_or_strangely_compressed_entries_are_refused(good):
    entries = read_entries(good)
    data = write_entries(entries, compression=zipfile.ZIP_BZIP2)
    refused(data, "unsupported compression method")
    raw = bytearray(write_entries(entries, compression=zipfile.ZIP_STORED))
    raw[central_record(bytes(raw), b"graph.json") + 8] |= 0x1  # the "encrypted" flag
    refused(bytes(raw), "is encrypted")


@pytest.mark.parametrize("edit, fragments", [
    (lambda m: m.update(format="something-else"), ("not a Backprop Studio project",)),
    (lambda m: m.update(format_version=99, app_version="9.0"),
     ("newer version of Backprop Studio", "format version 99", "please update")),
    (lambda m: m.update(format_version="1"), ("manifest.json: format_version: expected integer",)),
    (lambda m: m.update(format_version=4.0), ("newer version", "format version 4)")),
    (lambda m: m.update(format_version=0), ("format_version: must be >= 1",)),
    (lambda m: m.__delitem__("app_version"), ("missing required field 'app_version'",)),
    (lambda m: m.update(extra=1), ("unknown field 'extra'",)),
])
def test_manifest_problems(good, edit, fragments):
    refused(edit_json(good, "manifest.json", edit, fix_manifest=False), *fragments)


def test_manifest_size_and_sha_must_agree(good):
    def wrong_size(m):
        m["entries"]["graph.json"]["size"] += 1
    refused(edit_json(good, "manifest.json", wrong_size, fix_manifest=False), "'graph.json' is",
            "manifest.json says")


def test_an_array_larger_in_the_manifest_than_in_the_zip_is_refused_before_allocating(good,
                                                                                       monkeypatch):
    """The array is allocated from the manifest's size: a manifest (and header) claiming
    1 GiB for an entry of a few bytes is refused on the sizes alone."""
    document = json.loads(dict(read_entries(good))["graph.json"])
    entry = document["nodes"][node_index(document, "W")]["value"]
    header = npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (134217727,), }")
    data = replace_entry(good, entry, header)

    def claim(m):
        m["entries"][entry]["size"] = len(header) + 134217727 * 8
    empty = np.empty

    def small_only(shape, *args, **kwargs):
        assert np.prod(shape) < 2**20, f"allocated {shape} for a 129-byte entry"
        return empty(shape, *args, **kwargs)
    monkeypatch.setattr(np, "empty", small_only)
    refused(edit_json(data, "manifest.json", claim, fix_manifest=False),
            f"entry '{entry}' is {len(header)} bytes but manifest.json says")


def node_index(document, name):
    return next(i for i, n in enumerate(document["nodes"]) if n["name"] == name)


def edit_node(name, edit):
    def apply(document):
        edit(document["nodes"][node_index(document, name)])
    return apply


@pytest.mark.parametrize("edit, fragments", [
    (edit_node("h", lambda n: n.update(op="teleport")), ("nodes[", "('h')", "unknown op 'teleport'")),
    (edit_node("x", lambda n: n["params"].update(shape="3")), ("'x'", "parameter 'shape' must be a list",)),
    (edit_node("W", lambda n: n["params"].update(scale="big")), ("'W'", "parameter 'scale' must be a number")),
    (edit_node("W", lambda n: n["params"].update(scale=-1)), ("'W'", "'scale' must be >= 0.0")),
    (edit_node("W", lambda n: n["params"].update(init="magic")), ("'W'", "init' must be one of")),
    (edit_node("total", lambda n: n["params"].update(keepdims=1)), ("'total'", "'keepdims' must be true or false")),
    (edit_node("total", lambda n: n["params"].update(axis=1.0)), ("'total'", "'axis' must be a whole number or null")),
    (edit_node("h", lambda n: n["params"].update(slope=2)), ("'h'", "has no parameter 'slope'")),
    (edit_node("W", lambda n: n["params"].update(shape=[2, 3])), ("'W'", "(2, 3)", "stored weights have shape (3, 2)")),
    (edit_node("W", lambda n: n.pop("value")), ("'W'", "missing weights")),
    (edit_node("h", lambda n: n.update(value="values/1.npy")), ("'h'", "holds no value")),
    (edit_node("h", lambda n: n.update(name="bad name")), ("nodes[", "name", "does not have the expected form")),
    (edit_node("h", lambda n: n.update(name="h\n")),
     ("nodes[", "name", "does not have the expected form")),
    (edit_node("h", lambda n: n.update(name="h" * 201)),
     ("nodes[", "name", "at most 200 characters")),
    (edit_node("h", lambda n: n.update(id="")), ("nodes[", "id", "at least 1 character")),
    (edit_node("h", lambda n: n.update(name="x")), ("'x'", "already used")),
    (edit_node("h", lambda n: n.update(id="#1")), ("node id '#1' is already used",)),
    (edit_node("h", lambda n: n.update(position=[1.0])), ("position",)),
    (edit_node("h", lambda n: n.pop("params")), ("missing required field 'params'",)),
    (lambda d: d["edges"].append({"src": "#404", "src_port": "out", "dst": "#1", "dst_port": "a"}),
     ("edges[", "node id '#404'", "dangling edge")),
    (lambda d: d["edges"].append(dict(d["edges"][0])), ("edges[", "already connected")),
    (lambda d: d["edges"].__setitem__(0, dict(d["edges"][0], dst_port="zz")), ("edges[0]", "no input port 'zz'")),
    (lambda d: d["edges"].__setitem__(0, dict(d["edges"][0], src_port="zz")), ("edges[0]", "no output port 'zz'")),
    (lambda d: d.update(nodes="many"), ("graph.json: nodes: expected array, got string",)),
    (lambda d: d.update(training=[]), ("training: expected object",)),
    (lambda d: d.update(surprise=True), ("unknown field 'surprise'",)),
    (lambda d: d["history"].update(bad={"$array": "values/1.npy"}), ("history.bad", "$array must name a history/")),
    (lambda d: d["history"].update(bad={"$array": "history/77.npy"}), ("history.bad", "'history/77.npy' is not in the file")),
    (lambda d: d["history"].update(bad={"$float": "big"}), ("history.bad", "$float must be")),
    (lambda d: d["history"].update(bad={"$what": 1}), ("history.bad", "unknown tag '$what'")),
    (lambda d: d["history"].update(again=d["history"]["grad_norms"]), ("history.again", "referred to twice")),
])
def test_graph_document_problems(good, edit, fragments):
    refused(edit_json(good, "graph.json", edit), *fragments)


def test_cycle_is_refused(good):
    def close_cycle(document):
        ids = {n["name"]: n["id"] for n in document["nodes"]}
        # "out" = scaled + m: rewire "scaled"'s second input (a constant) from "out" itself.
        for edge in document["edges"]:
            if edge["dst"] == ids["scaled"] and edge["dst_port"] == "b":
                edge["src"] = ids["out"]
    refused(edit_json(good, "graph.json", close_cycle), "edges[", "would close a cycle")


@pytest.mark.parametrize("content, fragments", [
    (b"{", ("'graph.json' is not valid JSON",)),
    (b'{"a": NaN}', ("not valid JSON", "NaN is not allowed")),
    (b'{"a": 1, "a": 2}', ("not valid JSON", "appears twice")),
    (b"\xff\xfe{}", ("not valid JSON",)),
    (b"[" * 100_000 + b"]" * 100_000, ("graph.json",)),
    (b"[]", ("graph.json: expected object, got array",)),
    (b'{"description": 1}', ("graph.json: missing required field",)),
])
def test_graph_json_that_is_not_a_document(good, content, fragments):
    refused(replace_entry(good, "graph.json", content), *fragments)


def npy(array_or_header: np.ndarray | bytes, data: bytes = b"") -> bytes:
    if isinstance(array_or_header, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, array_or_header, allow_pickle=True)
        return buffer.getvalue()
    header = array_or_header.ljust(118) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


@pytest.mark.parametrize("content, fragments", [
    (npy(np.array([{"pickled": "object"}], dtype=object)), ("arrays of type object are not allowed",)),
    (npy(np.arange(6).reshape(3, 2)), ("arrays of type int64 are not allowed here",)),
    (npy(np.zeros((3, 2), np.float32)), ("values must be float64",)),
    (npy(np.zeros((2, 3))), ("stored weights have shape (2, 3)",)),
    (npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", b"\0" * 48),
     ("does not match the 48 bytes of data",)),
    (npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", b"\0" * 47),
     ("does not match",)),
    (npy(b"__import__('os').system('echo hacked')"), ("not a valid .npy array",)),
    (b"\x93NUMPY\x03\x00garbage", ("not a valid .npy array",)),
    (b"not numpy at all", ("not a valid .npy array",)),
])
def test_bad_weight_entries(good, content, fragments):
    document = json.loads(dict(read_entries(good))["graph.json"])
    entry = document["nodes"][node_index(document, "W")]["value"]
    message = refused(replace_entry(good, entry, content), *fragments)
    assert "('W')" in message and entry in message


def test_big_endian_weights_are_read_as_the_same_numbers(good):
    document = json.loads(dict(read_entries(good))["graph.json"])
    entry = document["nodes"][node_index(document, "W")]["value"]
    original = loads(good).graph.node("W").value
    project = loads(replace_entry(good, entry, npy(original.astype(">f8"))))
    assert project.graph.node("W").value.tobytes() == original.tobytes()


def test_infinite_position_is_refused(good):
    data = edit_json(good, "graph.json", edit_node("h", lambda n: n.update(position=[12345.5, 0])))
    data = replace_entry(data, "graph.json", dict(read_entries(data))["graph.json"]
                         .replace(b"12345.5", b"1e400"))
    refused(data, "('h')", "position must be finite")


def test_huge_numbers_in_params_are_refused_cleanly(good):
    data = edit_json(good, "graph.json", edit_node("h", lambda n: n["params"].update(alpha=10**400)))
    refused(data, "'h'")


# ------------------------------------------------------------------------------ migrations
def test_newer_versions_refused_and_older_ones_migrated(good, monkeypatch):
    """With a format version 4 whose migration renames a training key, a version-3 file is
    upgraded on load; a version-5 file is refused."""
    def rename_rate(document):
        document["training"]["learning_rate"] = document["training"].pop("lr")
        return document
    monkeypatch.setattr(fileformat, "FORMAT_VERSION", 4)
    monkeypatch.setitem(fileformat.MIGRATIONS, 3, rename_rate)
    project = loads(good)
    assert project.training["learning_rate"] == 0.01 and "lr" not in project.training
    newer = edit_json(good, "manifest.json", lambda m: m.update(format_version=5), fix_manifest=False)
    refused(newer, "format version 5", "reads format versions up to 4")


def test_missing_or_failing_migration(good, monkeypatch):
    monkeypatch.setattr(fileformat, "FORMAT_VERSION", 4)
    refused(good, "format version 3 can no longer be read")
    monkeypatch.setitem(fileformat.MIGRATIONS, 3, lambda document: document["no such field"])
    refused(good, "cannot be upgraded from format version 3")


# ------------------------------------------------------------------------- schema validator
def test_schema_validator_rejects_unsupported_keywords():
    with pytest.raises(ValueError, match="unsupported keyword"):
        SchemaValidator({"type": "object", "dependentRequired": {}})
    with pytest.raises(ValueError, match="points nowhere"):
        SchemaValidator({"$ref": "#/$defs/missing"})


@pytest.mark.parametrize("schema, document, ok", [
    ({"type": "integer"}, True, False),
    ({"type": "number"}, 3, True),
    ({"type": "integer"}, 3.0, True),
    ({"type": "integer"}, 3.5, False),
    ({"const": 1}, 1.0, True),
    ({"const": 1}, True, False),
    ({"enum": ["a", "b"]}, "c", False),
    ({"type": "string", "pattern": "^a+$"}, "aab", False),
    ({"type": "string", "pattern": "^a+$"}, "aa\n", False),
    ({"type": "string", "pattern": "^a+\\$"}, "aa$", True),
    ({"type": "array", "items": {"type": "string"}, "maxItems": 2}, ["a", "b", "c"], False),
    ({"type": "object", "propertyNames": {"pattern": "^k"}}, {"key": 1, "other": 2}, False),
    ({"anyOf": [{"type": "null"}, {"type": "array", "minItems": 1}]}, [], False),
    ({"anyOf": [{"type": "null"}, {"type": "array", "minItems": 1}]}, None, True),
    ({"type": "object", "required": ["a"], "additionalProperties": False,
      "properties": {"a": {"minimum": 0}}}, {"a": -1}, False),
])
def test_schema_validator_subset(schema, document, ok):
    assert SchemaValidator(schema).is_valid(document) is ok
    assert (SchemaValidator(schema).explain(document) is None) is ok  # (the messages' check)


def placed_chain_document(nodes: int) -> dict:
    """graph.json of an input and a chain of relus, every node placed."""
    g = Graph()
    previous = g.input("x", (1,))
    for k in range(nodes - 1):
        previous = g.relu(previous, name=f"n{k}")
    apply_layout(g)
    return json.loads(encode(Project(g))["graph.json"])


def test_a_valid_document_is_accepted_by_the_quick_test_alone(monkeypatch):
    """A valid graph.json (every file the program writes) is checked by the quick test only,
    in less than half the calls of the step-by-step check that writes the messages; a
    document that fails it gets the step-by-step check's message."""
    from worktally import calls
    validator = SchemaValidator(load_schema("graph"))
    document = placed_chain_document(2000)
    quick = calls(lambda: validator.validate(document))
    step_by_step = calls(lambda: validator.explain(document))
    assert quick < 0.5 * step_by_step, (quick, step_by_step)
    explained = []
    monkeypatch.setattr(validator, "explain", lambda d: explained.append(d))
    validator.validate(document)
    assert explained == []
    monkeypatch.undo()
    document["nodes"][1500]["position"] = [0.0, "up"]
    with pytest.raises(SchemaViolation) as info:
        validator.validate(document)
    assert str(info.value) == str(validator.explain(document)) == (
        "nodes[1500].position[1]: expected number, got string")


def test_schema_violation_names_the_path():
    schema = load_schema("graph")
    document = json.loads(encode(trained_project())["graph.json"])
    document["nodes"][2]["position"] = "left"
    with pytest.raises(SchemaViolation, match=r"^nodes\[2\]\.position"):
        SchemaValidator(schema).validate(document)


def mutations(value, path=()):
    """(path, replacement) pairs that break or bend ``value`` at every place in it: each leaf
    and container swapped for values of other types, sizes and signs, keys dropped and added."""
    odd = [None, True, -1, 0, 2 ** 40, 1e308, -0.5, "", "x" * 300, "a\n", [], [1], {}, {"k": 1}]
    for replacement in odd:
        yield path, replacement
    if isinstance(value, dict):
        for key in value:
            yield path, {k: v for k, v in value.items() if k != key}
        yield path, {**value, "zz_extra": 1}
        for key, item in value.items():
            yield from mutations(item, (*path, key))
    elif isinstance(value, list) and value:
        yield path, value[:-1]
        yield path, [*value, value[-1]]
        for k in {0, len(value) - 1}:
            yield from mutations(value[k], (*path, k))


def replaced(document, path, replacement):
    if not path:
        return replacement
    copy = json.loads(json.dumps(document))
    place = copy
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = replacement
    return copy


@pytest.mark.parametrize("stem", ["single_neuron", "deep_sigmoid"])
def test_the_quick_test_and_the_step_by_step_check_agree_on_every_bent_file(stem):
    """A file the quick test accepts is read without the step-by-step check: the two must say
    the same of every document, or a hostile file would pass on the quick test's word."""
    from bpstudio.core.examples import EXAMPLES
    validator = SchemaValidator(load_schema("graph"))
    document = json.loads(encode(EXAMPLES[stem]())["graph.json"])
    count = 0
    for path, replacement in mutations(document):
        bent = replaced(document, path, replacement)
        quick, explained = validator.is_valid(bent), validator.explain(bent)
        assert quick == (explained is None), (path, replacement, explained)
        count += 1
    assert count > 500
