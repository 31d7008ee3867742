"""Groups of nodes (layers): the edits, their events and their inverses, what removing and
restoring nodes does to them, copies, Graph.dense and the layers read from groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpstudio import Engine
from bpstudio.core.compare import graph_differences
from bpstudio.core.errors import GraphError
from bpstudio.core.files.import_onnx import import_onnx
from bpstudio.core.graph import Graph
from bpstudio.core.layers import dense_layer, dense_layers, group_dense_layers

ONNX = Path(__file__).resolve().parents[1] / "data" / "onnx"


def mlp() -> Graph:
    g = Graph(seed=0)
    x = g.input("x", (2,))
    h = g.dense(x, 2, 3, "layer1", activation="relu")
    out = g.dense(h, 3, 1, "logits")
    g.mse(out, g.input("y", (1,)), name="loss")
    return g


def names(g: Graph, group) -> list[str]:
    return [n.name for n in g.members(group)]


def record(g: Graph) -> list[tuple]:
    events = []
    g.subscribe(lambda e: events.append((e.kind, e.field, e.group and e.group.name,
                                         e.node and e.node.name)))
    return events


def test_dense_makes_a_collapsed_group_of_its_five_nodes():
    g = mlp()
    assert [x.name for x in g.groups.values()] == ["layer1", "logits"]
    assert names(g, "layer1") == ["layer1.W", "layer1.b", "layer1.matmul", "layer1.z", "layer1"]
    assert names(g, "logits") == ["logits.W", "logits.b", "logits.matmul", "logits"]
    assert all(x.collapsed for x in g.groups.values())
    assert g.group_of("layer1.z") is g.group("layer1")
    assert g.group_of("x") is None


def test_a_dense_layer_is_read_from_its_members_and_follows_their_edits():
    g = mlp()
    layer = dense_layer(g, "layer1")
    assert (layer.fan_in, layer.fan_out, layer.activation, layer.init) == (2, 3, "relu",
                                                                          "xavier_uniform")
    assert (layer.weight.name, layer.bias.name, layer.pre_activation.name,
            layer.output.name) == ("layer1.W", "layer1.b", "layer1.z", "layer1")
    assert dense_layer(g, "logits").activation is None
    g.set_param("layer1.W", "init", "he_normal")
    assert dense_layer(g, "layer1").init == "he_normal"
    assert [x.name for x in dense_layers(g)] == ["layer1", "logits"]


def test_a_group_that_is_not_a_dense_layer_has_no_layer_roles():
    g = mlp()
    g.ungroup("layer1")
    g.add_group("part", ["layer1.b", "layer1.z"])
    assert dense_layer(g, "part") is None


def test_group_ungroup_and_restore_are_inverse_edits_with_events():
    g = mlp()
    g.ungroup("logits")
    events = record(g)
    version = g.version
    made = g.add_group("head", ["logits.W", "logits.matmul"], collapsed=True)
    assert events[-1] == ("group_added", None, "head", None)
    assert g.group_of("logits.W") is made
    group, ids = g.ungroup(made)
    assert events[-1] == ("group_removed", None, "head", None)
    assert g.group_of("logits.W") is None and "head" not in [x.name for x in g.groups.values()]
    again = g.restore_group(group, ids)
    assert again is made and again.id == made.id and again.collapsed
    assert names(g, made) == ["logits.W", "logits.matmul"]
    assert g.version == version  # groups change nothing the engine computes


def test_rename_and_collapse_emit_group_changed_and_undo_by_the_old_value():
    g = mlp()
    events = record(g)
    g.rename_group("layer1", "hidden")
    assert events[-1] == ("group_changed", "name", "hidden", None)
    assert g.group("hidden").name == "hidden"
    g.rename_group("hidden", "layer1")
    g.set_collapsed("layer1", False)
    assert events[-1] == ("group_changed", "collapsed", "layer1", None)
    assert not g.group("layer1").collapsed
    g.set_collapsed("layer1", True)
    assert g.group("layer1").collapsed
    assert len(events) == 4


def test_group_edits_refuse_clearly():
    g = mlp()
    with pytest.raises(GraphError, match="already in the group 'layer1'"):
        g.add_group("again", ["layer1.W"])
    with pytest.raises(GraphError, match="already used by another group"):
        g.rename_group("logits", "layer1")
    with pytest.raises(GraphError, match="at least one node"):
        g.add_group("empty", [])
    with pytest.raises(GraphError, match="no node named"):
        g.add_group("ghost", ["nowhere"])
    with pytest.raises(GraphError, match="no group named"):
        g.set_collapsed("nowhere", True)
    assert "already in the group" in g.group_problem("x2", ["layer1.b"])
    assert g.group_problem("x2", ["x"]) is None
    assert g.group_name_problem("layer1", "layer1") is None
    assert "valid" in g.group_name_problem("not a name")


def test_removing_a_node_takes_it_out_of_its_group_and_restoring_puts_it_back():
    g = mlp()
    events = record(g)
    node, edges = g.remove_node("layer1.b")
    assert events[-1] == ("group_changed", "members", "layer1", "layer1.b")
    assert "layer1.b" not in names(g, "layer1")
    g.restore_node(node)
    for e in edges:
        g.connect(e.src, e.dst, e.dst_port, e.src_port)
    assert events[-len(edges) - 1] == ("group_changed", "members", "layer1", "layer1.b")
    assert "layer1.b" in names(g, "layer1") and g.group_of("layer1.b") is g.group("layer1")


def test_deleting_a_whole_layer_removes_the_group_and_undoing_brings_it_back():
    g = mlp()
    before = g.copy()
    group = g.group("layer1")
    removed = [g.remove_node(i) for i in g.member_ids(group)]
    assert group.id not in g.groups
    for node, edges in reversed(removed):  # as an undo does
        g.restore_node(node)
    for node, edges in reversed(removed):
        for e in edges:
            if g.input_edge(e.dst, e.dst_port) is None:
                g.connect(e.src, e.dst, e.dst_port, e.src_port)
    assert g.groups[group.id] is group
    assert sorted(names(g, group)) == sorted(names(before, "layer1"))
    assert not [d for d in graph_differences(before, g) if "group" in d]


def test_renaming_a_node_keeps_its_group():
    g = mlp()
    g.rename("layer1.z", "pre")
    assert g.group_of("pre").name == "layer1"
    assert dense_layer(g, "layer1").pre_activation.name == "pre"


def test_a_copy_has_its_own_equal_groups():
    g = mlp()
    other = g.copy()
    assert graph_differences(g, other) == []
    assert other.group("layer1") is not g.group("layer1")
    assert other.group_of("layer1.W") is other.group("layer1")
    other.set_collapsed("layer1", False)
    other.remove_node("logits.b")
    assert g.group("layer1").collapsed and "logits.b" in names(g, "logits")
    assert graph_differences(g, other)


def test_compare_sees_a_group_difference():
    g, other = mlp(), mlp()
    assert graph_differences(g, other) == []
    other.rename_group("layer1", "hidden")
    assert any("group" in d for d in graph_differences(g, other))


def test_groups_leave_the_engine_alone():
    grouped, plain = mlp(), mlp()
    for group in list(plain.groups.values()):
        plain.ungroup(group)
    feeds = {"x": [[1.0, -2.0]], "y": [[0.5]]}
    assert Engine(grouped).forward(feeds) == Engine(plain).forward(feeds)


def test_the_onnx_import_groups_a_pytorch_mlp_into_its_three_layers():
    graph = import_onnx(ONNX / "torch_mlp.onnx").graph
    layers = dense_layers(graph)
    assert [(x.name, x.fan_in, x.fan_out, x.activation) for x in layers] == [
        ("layer1", 4, 16, "relu"), ("layer2", 16, 8, "tanh"), ("layer3", 8, 3, None)]
    assert [x.weight.name for x in layers] == ["_1.weight", "_3.weight", "_5.weight"]
    assert all(x.transpose is not None for x in layers)  # Gemm's transB
    assert all(x.group.collapsed for x in layers)


def test_grouping_finds_matmul_add_activation_and_leaves_shared_weights():
    g = Graph(seed=0)
    x = g.input("x", (2,))
    w = g.parameter("w", shape=(2, 2))
    b = g.parameter("b", shape=(2,))
    h = g.tanh(g.add(g.matmul(x, w), b))
    g.mse(g.matmul(h, w), g.input("y", (2,)))  # w used twice: no layer can own it
    assert group_dense_layers(g) == []
    g2 = Graph(seed=0)
    x = g2.input("x", (2,))
    z = g2.add(g2.matmul(x, g2.parameter("w", shape=(2, 3))), g2.parameter("b", shape=(3,)))
    g2.mse(g2.sigmoid(z), g2.input("y", (3,)))
    (made,) = group_dense_layers(g2)
    layer = dense_layer(g2, made)
    assert (made.name, layer.activation, layer.fan_out) == ("layer1", "sigmoid", 3)


def test_groups_within_a_selection_are_the_whole_ones():
    g = mlp()
    chosen = g.member_ids("layer1") + [g.node("logits.W").id]
    assert [(x.name, ids) for x, ids in g.groups_within(chosen)] == [
        ("layer1", g.member_ids("layer1"))]


def test_a_dense_plan_is_checked_before_anything_is_added():
    g = mlp()
    count = len(g.nodes)
    plan = g.dense_plan(3, 2, activation="tanh", init="he_normal")
    assert plan.name == "layer2"  # layer1 is taken
    assert [(p.op, p.name) for p in plan.nodes] == [
        ("parameter", "layer2.W"), ("parameter", "layer2.b"), ("matmul", "layer2.matmul"),
        ("add", "layer2.z"), ("tanh", "layer2")]
    assert plan.nodes[0].params["shape"] == (3, 2) and plan.nodes[1].params["shape"] == (2,)
    for kwargs, message in ((dict(name="layer1"), "already used"),
                            (dict(activation="softmax"), "one value to one value"),
                            (dict(fan_in=0), "layer2"), (dict(init="nonsense"), "layer2")):
        args = {"fan_in": 3, "fan_out": 2, **kwargs}
        with pytest.raises(GraphError, match=message):
            g.dense_plan(**args)
    assert len(g.nodes) == count


def test_a_dense_plan_carried_out_edit_by_edit_is_a_layer():
    """As an editor's undo commands would: add each node, wire, then group."""
    g = mlp()
    plan = g.dense_plan(1, 4, activation="sigmoid")
    made = [g.add_node(p.op, name=p.name, params=p.params) for p in plan.nodes]
    g.connect("logits", made[plan.input[0]], plan.input[1])
    for a, b, port in plan.wires:
        g.connect(made[a], made[b], port)
    g.add_group(plan.name, [n.id for n in made], collapsed=plan.collapsed)
    layer = dense_layer(g, plan.name)
    assert (layer.fan_in, layer.fan_out, layer.activation) == (1, 4, "sigmoid")
    assert layer.output is made[plan.output] and layer.group.collapsed
