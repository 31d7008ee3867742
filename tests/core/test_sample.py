"""A project's sample: rows kept on the input nodes, saved in format version 2, drawn for files
of version 1, and fed to the engine as they are."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bpstudio
from bpstudio import Engine, FileFormatError, Graph, GraphError, load
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.fileformat import FORMAT_VERSION, loads, save
from bpstudio.core.graph import MAX_SAMPLE_ROWS
from bpstudio.core.sample import default_sample

V1_FILES = sorted((Path(__file__).parent / "data" / "format_v1").glob("*.bpg"))


def test_the_single_neuron_runs_on_its_sample():
    project = EXAMPLES["single_neuron"]()
    engine = Engine(project.graph)
    assert engine.forward(project.sample) == pytest.approx(0.01)
    engine.backward()
    assert engine.grad("w") == pytest.approx(0.4) and engine.grad("b") == pytest.approx(0.2)


@pytest.mark.parametrize("stem", list(EXAMPLES))
def test_every_example_ships_a_sample_for_each_input(stem):
    project = EXAMPLES[stem]()
    inputs = {n.name for n in project.graph.nodes_of("input")}
    assert set(project.sample) == inputs
    loss = Engine(project.graph).forward(project.sample)
    assert np.isfinite(loss)


def test_the_sample_survives_save_and_load(tmp_path):
    project = EXAMPLES["xor"]()
    save(project, tmp_path / "x.bpg")
    again = load(tmp_path / "x.bpg")
    assert again == project
    assert again.sample["x"].tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    with zipfile.ZipFile(tmp_path / "x.bpg") as archive:
        manifest = json.loads(archive.read("manifest.json"))
        document = json.loads(archive.read("graph.json"))
    assert manifest["format_version"] == FORMAT_VERSION == 3
    x_id = project.graph.node("x").id
    assert document["sample"][x_id] == {"shape": [4, 2], "rows": [0, 0, 0, 1, 1, 0, 1, 1]}


@pytest.mark.parametrize("path", V1_FILES, ids=lambda p: p.stem)
def test_version_1_files_open_with_a_drawn_sample(path):
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("manifest.json"))["format_version"] == 1
    project = load(path)
    current = EXAMPLES[path.stem]()
    for node in project.graph.nodes.values():
        twin = current.graph.node(node.id)
        assert (node.op, node.name, node.params) == (twin.op, twin.name, twin.params)
        if node.spec.source == "input":
            assert node.value is not None and node.value.shape[1:] == tuple(node.params["shape"])
    assert np.isfinite(Engine(project.graph).forward(project.sample))


def test_drawn_samples_suit_the_ports_they_feed():
    g = Graph()
    logits = g.matmul(g.input("x", (4,)), g.parameter("W", shape=(4, 3)))
    g.softmax_ce(logits, g.input("label"))
    p = g.sigmoid(g.input("z", (2,)))
    g.bce(p, g.input("t", (2,)))
    rows = default_sample(g, rows=50, seed=1)
    assert set(np.unique(rows["label"])) <= {0.0, 1.0, 2.0} and len(np.unique(rows["label"])) == 3
    assert set(np.unique(rows["t"])) == {0.0, 1.0}
    assert rows["x"].shape == (50, 4) and rows["x"].std() > 0.5


def test_sample_rows_are_checked_against_the_input():
    g = Graph()
    x = g.input("x", (2,))
    g.set_value(x, [1.0, 2.0])  # one row given without its batch dimension
    assert x.value.shape == (1, 2)
    for bad, words in [([[1.0, 2.0, 3.0]], "sample rows must have shape (2,), not (3,)"),
                       (np.ones((MAX_SAMPLE_ROWS + 1, 2)), f"at most {MAX_SAMPLE_ROWS} rows"),
                       ([[np.nan, 1.0]], "finite"), ("abc", "numbers")]:
        with pytest.raises(GraphError, match=words.replace("(", r"\(").replace(")", r"\)")):
            g.set_value(x, bad)
        assert x.value.shape == (1, 2)  # a refused sample leaves the old one
    g.set_param(x, "shape", (3,))
    assert x.value is None  # rows of the old shape no longer fit
    g.set_value(x, np.zeros((2, 3)))
    g.set_value(x, None)
    assert x.value is None and bpstudio.Project(g).sample == {}


def test_project_sample_assignment_sets_the_inputs():
    project = EXAMPLES["single_neuron"]()
    project.sample = {"x": [3.0, 4.0], "y": [0.0, 0.0]}
    assert project.graph.node("x").value.tolist() == [3.0, 4.0]
    with pytest.raises(GraphError):
        project.sample = {"w": [1.0, 2.0]}  # a parameter's value is one shape, fixed
    with pytest.raises(GraphError, match="sample rows must have shape"):
        project.sample = {"x": [5.0], "y": [[1.0, 2.0]]}  # y's rows are refused...
    assert project.graph.node("x").value.tolist() == [3.0, 4.0]  # ...and x is left as it was


def rewrite_graph_json(data: bytes, edit) -> bytes:
    """The file with graph.json edited and the manifest's checksums made to match."""
    import hashlib
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = {name: src.read(name) for name in src.namelist()}
    document = json.loads(entries["graph.json"])
    edit(document)
    entries["graph.json"] = json.dumps(document).encode()
    manifest = json.loads(entries["manifest.json"])
    manifest["entries"]["graph.json"] = {"size": len(entries["graph.json"]),
                                         "sha256": hashlib.sha256(entries["graph.json"]).hexdigest()}
    entries["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("edit, words", [
    (lambda d: d["sample"].update({"#3": {"shape": [1], "rows": [1.0]}}), "no input node"),
    (lambda d: d["sample"].update({"#99": {"shape": [1], "rows": [1.0]}}), "no input node"),
    (lambda d: d["sample"].update({"#1": {"shape": [2], "rows": [1.0]}}), "do not fill"),
    (lambda d: d["sample"].update({"#1": {"shape": [1, 5], "rows": [1.0] * 5}}),
     "sample rows must have shape ()"),
    (lambda d: d["sample"].update({"#1": {"shape": [1], "rows": ["1"]}}), "expected number"),
    (lambda d: d.pop("sample"), "sample"),
])
def test_bad_samples_in_a_file_are_refused_naming_the_entry(tmp_path, edit, words):
    save(EXAMPLES["single_neuron"](), tmp_path / "s.bpg")
    data = rewrite_graph_json((tmp_path / "s.bpg").read_bytes(), edit)
    with pytest.raises(FileFormatError, match=words.replace("(", r"\(").replace(")", r"\)")):
        loads(data)


def test_a_runnable_sample_is_what_the_output_needs_or_the_reason_it_cannot_run():
    from bpstudio import FeedError
    from bpstudio.core.sample import runnable_sample

    project = EXAMPLES["single_neuron"]()
    g = project.graph
    assert set(runnable_sample(g)) == {"x", "y"}
    assert set(runnable_sample(g, "z")) == {"x"}  # z needs x alone
    g.set_value("y", None)
    with pytest.raises(FeedError, match="input 'y' has no sample rows"):
        runnable_sample(g)
    assert set(runnable_sample(g, "a")) == {"x"}
    g.disconnect(g.input_edge("loss", "target"))
    with pytest.raises(GraphError, match="'loss'"):
        runnable_sample(g)
