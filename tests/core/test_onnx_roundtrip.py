"""Export to ONNX, then import: for every bundled example and every exportable op, the imported
graph computes the same values (float32 tolerance) and the same gradients as the original, with
the same parameters under the same names; constants stay constants."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from bpstudio import Engine, Graph, load
from bpstudio.core.files.export_common import inference_output
from bpstudio.core.files.export_onnx import CONVERTERS, export_onnx, to_onnx
from bpstudio.core.files.import_onnx import import_onnx, onnx_to_project

from opcases import cases, op_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = sorted((ROOT / "resources" / "examples").glob("*.bpg"))
TOLERANCE = 1e-5


def with_objective(graph: Graph, output: str, seed: int) -> Graph:
    """A copy of ``graph`` ending in sum(output * fixed random weights), so that every element
    of the output matters differently to the gradients (a plain sum of a softmax is 1, whose
    gradient is 0 everywhere)."""
    g = graph.copy()
    out = g.node(output)
    shape = g.infer_shapes()[0][out.id]
    rng = np.random.default_rng(seed)
    if "N" in shape:
        weights = g.input("objective_weights", shape[1:])
    else:
        weights = g.constant(rng.normal(size=shape), name="objective_weights")
    g.sum(g.mul(out, weights), name="objective")
    return g


def gradients(graph: Graph, output: str, feeds: dict[str, np.ndarray], seed: int):
    g = with_objective(graph, output, seed)
    out_shape = g.infer_shapes()[0][g.node(output).id]
    feeds = dict(feeds)
    if "N" in out_shape:
        rows = len(next(iter(feeds.values())))
        concrete = tuple(rows if d == "N" else d for d in out_shape)
        feeds["objective_weights"] = np.random.default_rng(seed).normal(size=concrete)
    engine = Engine(g, output="objective")
    value = engine.forward(feeds)
    engine.backward()
    grads = {name: engine.grad(name).copy() for name in engine.parameters()}
    grads.update({name: engine.grad(name).copy() for name in feeds if name != "objective_weights"})
    return value, grads


def assert_same_function(original: Graph, imported: Graph, output: str,
                         feeds: dict[str, np.ndarray], seed: int) -> None:
    # values, as an exported model computes them: float32
    ours32 = Engine(original, dtype=np.float32, output=output).forward(feeds)
    back32 = Engine(imported, dtype=np.float32).forward(feeds)
    assert ours32.shape == back32.shape
    assert np.max(np.abs(ours32 - back32), initial=0.0) <= TOLERANCE
    # gradients of the same objective, every parameter and input, in float64. The imported
    # weights went through float32: compared with the original's weights rounded the same way,
    # the two graphs must be the same function (a chaotic stack, such as the exploding lesson,
    # would otherwise turn that rounding into differences of its own)
    original = original.copy()
    for node in original.nodes_of("parameter") + original.nodes_of("constant"):
        node.value = node.value.astype(np.float32).astype(np.float64)
    value, grads = gradients(original, output, feeds, seed)
    back_value, back_grads = gradients(imported, imported.default_output().name, feeds, seed)
    assert np.allclose(back_value, value, rtol=1e-5, atol=1e-6)
    assert back_grads.keys() == grads.keys()
    for name, grad in grads.items():
        assert back_grads[name].shape == grad.shape, name
        assert np.allclose(back_grads[name], grad, rtol=1e-4, atol=1e-6), name


def same_sources(original: Graph, imported: Graph, output: str) -> None:
    needed = original.topological_order([original.node(output)])
    for kind in ("parameter", "constant", "input"):
        names = {n.name for n in needed if n.spec.source == kind}
        assert {n.name for n in imported.nodes_of(kind)} == names, kind
    for node in imported.nodes_of("parameter") + imported.nodes_of("constant"):
        expected = original.node(node.name).value.astype(np.float32).astype(np.float64)
        assert np.array_equal(node.value, expected), node.name


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_comes_back_computing_the_same(tmp_path, path):
    project = load(path)
    graph = project.graph
    output = inference_output(graph).name
    export_onnx(graph, tmp_path / "m.onnx", description=project.description)
    imported = import_onnx(tmp_path / "m.onnx")
    same_sources(graph, imported.graph, output)
    assert imported.graph.default_output().name == output
    assert project.description in imported.description  # the model's doc_string is kept
    rng = np.random.default_rng(zlib.crc32(path.stem.encode()))
    feeds = {n.name: rng.normal(size=(5,) + tuple(n.params["shape"]))
             for n in imported.graph.nodes_of("input")}
    assert_same_function(graph, imported.graph, output, feeds, seed=1)


@pytest.mark.parametrize("op_name, shapes, params, batch", list(cases(set(CONVERTERS))))
def test_every_exportable_op_comes_back_computing_the_same(op_name, shapes, params, batch):
    graph, feeds = op_graph(op_name, shapes, params, batch)
    imported = onnx_to_project(to_onnx(graph, output="op")).graph
    same_sources(graph, imported, "op")
    collapsed = op_name == "flatten" and len(shapes[0]) == 2  # already (rows, features)
    assert imported.default_output().name == ("x" if collapsed else "op")
    assert_same_function(graph, imported, "op", feeds,
                         seed=zlib.crc32(repr((op_name, shapes, params)).encode()))


def test_a_constant_stays_a_constant():
    g = Graph()
    x = g.input("x", (2,))
    g.add(g.mul(x, g.constant([2.0, 3.0], name="scale")), g.parameter("b", value=[0.5, -0.5]),
          name="y")
    imported = onnx_to_project(to_onnx(g)).graph
    assert [n.name for n in imported.nodes_of("constant")] == ["scale"]
    assert [n.name for n in imported.nodes_of("parameter")] == ["b"]


def test_the_round_trip_check_can_fail():
    graph, feeds = op_graph("tanh", (("N", 3),), {}, 4)
    imported = onnx_to_project(to_onnx(graph, output="op")).graph
    changed = imported.copy()  # relu before the tanh: another function
    changed.add_node("relu", name="extra")
    op = changed.node("op")
    (edge,) = [e for e in changed.edges if e.dst == op.id]
    changed.connect(edge.src, "extra", "x")
    changed.connect("extra", op, "x", replace=True)
    with pytest.raises(AssertionError):
        assert_same_function(graph, changed, "op", feeds, seed=0)
