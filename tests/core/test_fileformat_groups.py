"""Groups in the project file (format version 3): saved and read back, refused when damaged,
and recovered from the names of a version-2 file's dense layers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bpstudio import FileFormatError
from bpstudio.core.examples import EXAMPLES, deep_sigmoid
from bpstudio.core.files import fileformat
from bpstudio.core.files.fileformat import encode, load, loads
from bpstudio.core.layers import dense_layers

from bpgfiles import edit_json, read_entries, write_entries

V1 = Path(__file__).parent / "data" / "format_v1"
EXAMPLE_FILES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def file_bytes(project) -> bytes:
    buffer = io.BytesIO()
    fileformat._write_zip(buffer, encode(project))
    return buffer.getvalue()


def as_version_2(data: bytes) -> bytes:
    """The file as format version 2 wrote it: no groups in graph.json."""
    entries = read_entries(data)
    out = []
    for name, content in entries:
        if name == "graph.json":
            document = json.loads(content)
            del document["groups"]
            content = json.dumps(document).encode()
        out.append((name, content))
    data = write_entries(out)
    return edit_json(data, "manifest.json", lambda m: m.update(format_version=2),
                     fix_manifest=False)


def summary(graph) -> list[tuple]:
    return [(g.id, g.name, g.collapsed, [graph.nodes[i].name for i in graph.member_ids(g)])
            for g in graph.groups.values()]


def test_groups_are_saved_and_read_back_with_their_collapsed_state():
    project = deep_sigmoid()
    project.graph.set_collapsed("layer3", False)
    project.graph.rename_group("logits", "head")
    again = loads(file_bytes(project))
    assert summary(again.graph) == summary(project.graph)
    assert not again.graph.group("layer3").collapsed and again.graph.group("head")
    document = json.loads(dict(read_entries(file_bytes(project)))["graph.json"])
    assert document["groups"][0] == {"id": "#g1", "name": "layer1", "collapsed": True,
                                     "members": ["#2", "#3", "#4", "#5", "#6"]}


@pytest.mark.parametrize("stem", ["deep_sigmoid", "deep_relu_he", "deep_exploding"])
def test_the_deep_examples_open_with_every_layer_collapsed(stem):
    graph = load(EXAMPLE_FILES / f"{stem}.bpg").graph
    names = [g.name for g in graph.groups.values()]
    assert names == [f"layer{k}" for k in range(1, 11)] + ["logits"]
    assert all(g.collapsed for g in graph.groups.values())
    assert [x.name for x in dense_layers(graph)] == names


@pytest.mark.parametrize("stem", [s for s in EXAMPLES if s not in ("single_neuron", "fan_out")])
def test_a_version_2_file_built_with_dense_gets_its_groups_back(stem):
    project = EXAMPLES[stem]()
    old = loads(as_version_2(file_bytes(project)))
    assert summary(old.graph) == summary(project.graph)


def test_version_1_files_open_with_their_layers_grouped():
    graph = load(V1 / "deep_sigmoid.bpg").graph
    assert len(graph.groups) == 11 and all(g.collapsed for g in graph.groups.values())
    assert load(V1 / "single_neuron.bpg").graph.groups == {}


def test_the_migration_wants_the_wires_as_well_as_the_names():
    """A version-2 file whose nodes are named like a layer but wired otherwise: no group."""
    data = as_version_2(file_bytes(EXAMPLES["xor"]()))

    def rewire(document):
        ids = {n["name"]: n["id"] for n in document["nodes"]}
        for e in document["edges"]:  # hidden.z adds x, not hidden.b, to the product
            if e["dst"] == ids["hidden.z"] and e["src"] == ids["hidden.b"]:
                e["src"] = ids["x"]
        return document
    graph = loads(edit_json(data, "graph.json", rewire)).graph
    assert [g.name for g in graph.groups.values()] == ["out"]


@pytest.mark.parametrize("edit, fragments", [
    (lambda gs: gs[0]["members"].append("#999"), ("groups[0] ('layer1')", "'#999' is not a node id")),
    (lambda gs: gs[1]["members"].append(gs[0]["members"][0]),
     ("groups[1] ('layer2')", "already in the group 'layer1'")),
    (lambda gs: gs[0]["members"].append(gs[0]["members"][0]), ("listed twice",)),
    (lambda gs: gs[1].update(name="layer1"), ("groups[1]", "already used by another group")),
    (lambda gs: gs[1].update(id="#g1"), ("groups[1]", "group id '#g1' is already used")),
    (lambda gs: gs[0].update(members=[]), ("groups[0].members", "at least 1 item")),
    (lambda gs: gs[0].update(collapsed="yes"), ("groups[0].collapsed", "expected boolean")),
    (lambda gs: gs[0].update(name="not a name"), ("groups[0].name",)),
    (lambda gs: gs[0].pop("collapsed"), ("missing required field 'collapsed'",)),
])
def test_damaged_groups_are_refused_naming_the_group(edit, fragments):
    data = edit_json(file_bytes(deep_sigmoid()), "graph.json",
                     lambda d: (edit(d["groups"]), d)[1])
    with pytest.raises(FileFormatError) as info:
        loads(data)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_a_version_3_file_without_groups_is_refused():
    data = edit_json(file_bytes(deep_sigmoid()), "graph.json", lambda d: (d.pop("groups"), d)[1])
    with pytest.raises(FileFormatError, match="missing required field 'groups'"):
        loads(data)
