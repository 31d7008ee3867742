import numpy as np
import pytest

from bpstudio import Graph, GraphError, ShapeError
from bpstudio.core.builder import GraphBuilder
from bpstudio.core.ops import REGISTRY
from bpstudio.core.shapes import BATCH


def recorded(g: Graph) -> list:
    events = []
    g.subscribe(lambda e: events.append((e.kind, e.field)))
    return events


def test_every_edit_emits_its_event():
    g = Graph()
    events = recorded(g)
    x = g.input("x")
    r = g.relu(x, name="r")
    g.set_param(x, "shape", (3,))
    g.rename(r, "act")
    g.set_position(r, (1.0, 2.0))
    g.remove_node(x)
    assert events == [
        ("node_added", None), ("node_added", None), ("edge_added", None),
        ("node_changed", "shape"), ("node_changed", "name"), ("node_changed", "position"),
        ("edge_removed", None), ("node_removed", None),
    ]


def test_unsubscribe_stops_events():
    g = Graph()
    events = []
    unsubscribe = g.subscribe(events.append)
    g.input("x")
    unsubscribe()
    g.input("y")
    assert len(events) == 1


def test_remove_then_restore_gives_back_the_same_graph():
    g = Graph()
    w = g.parameter("w", shape=(2, 3))
    out = g.matmul(g.input("x", (2,)), w, name="h")
    node, edges = g.remove_node(w)
    assert w.id not in g.nodes and g.input_edge(out, "b") is None
    g.restore_node(node)
    for edge in edges:
        g.connect(edge.src, edge.dst, edge.dst_port)
    assert g.input_edge(out, "b").src == w.id
    assert g.node("w").value is node.value


def test_input_port_takes_one_edge_and_output_fans_out():
    g = Graph()
    x = g.input("x")
    add = g.add(x, x, name="sum")
    assert len(g.output_edges(x)) == 2
    with pytest.raises(GraphError, match="input 'a' of add 'sum' is already connected"):
        g.connect(g.input("y"), add, "a")


def test_connect_names_unknown_ports():
    g = Graph()
    r = g.add_node("relu", name="r")
    with pytest.raises(GraphError, match="relu 'r' has no input port 'y'"):
        g.connect(g.input("x"), r, "y")


def test_missing_input_is_reported_on_its_node_and_port():
    g = Graph()
    m = g.add_node("matmul", name="h1")
    g.connect(g.input("x", (3,)), m, "a")
    problems = g.validate()
    assert [(p.node_id, p.port, p.message) for p in problems] == [
        (m.id, "b", "matmul 'h1': input 'b' is not connected")]


def test_shape_mismatch_names_the_node_and_shapes():
    g = Graph()
    g.matmul(g.input("x", (3,)), g.parameter("W", shape=(4, 2)), name="h1")
    with pytest.raises(ShapeError) as info:
        g.check()
    assert str(info.value) == "matmul 'h1': (N, 3) @ (4, 2): inner dimensions differ"


def test_shapes_are_inferred_through_the_graph():
    g = Graph()
    h = g.dense(g.input("x", (3,)), 3, 4, "h", activation="relu")
    logits = g.dense(h, 4, 2, "out")
    loss = g.softmax_ce(logits, g.input("labels"), name="loss")
    shapes = g.check()
    assert shapes[h.id] == ("N", 4) and shapes[logits.id] == ("N", 2) and shapes[loss.id] == ()


def test_loss_refuses_silent_broadcasting():
    g = Graph()
    g.mse(g.input("p", (1,)), g.input("t"), name="loss")
    with pytest.raises(ShapeError, match=r"mse 'loss': prediction \(N, 1\) and target \(N,\)"):
        g.check()


def test_nonsense_parameter_values_are_refused_with_the_reason():
    g = Graph()
    node = g.add_node("leaky_relu", name="lr")
    with pytest.raises(GraphError, match="leaky_relu 'lr': parameter 'alpha' must be a number, not 'abc'"):
        g.set_param(node, "alpha", "abc")
    with pytest.raises(GraphError, match="must be a finite number"):
        g.set_param(node, "alpha", "nan")
    with pytest.raises(GraphError, match="must be >= 0.0"):
        g.set_param(node, "alpha", -1)
    with pytest.raises(GraphError, match="every dimension must be a whole number >= 1"):
        g.add_node("parameter", params={"shape": (2, 0)})
    assert node.params["alpha"] == 0.01


def test_a_parameter_too_large_to_draw_is_refused_and_the_node_is_unchanged():
    g = Graph()
    w = g.parameter("w", shape=(2,))
    before = w.value.copy()
    with pytest.raises(GraphError, match=r"parameter 'w': shape \(100000, 100000\) holds "
                                         r"10,000,000,000 numbers"):
        g.set_param(w, "shape", (100000, 100000))
    assert w.params["shape"] == (2,) and np.array_equal(w.value, before)
    assert "at most" in g.param_problem(w, "shape", "100000, 100000")
    assert g.param_problem(w, "shape", "3, 4") is None
    assert "must be a number" in g.param_problem(w, "scale", "abc")
    with pytest.raises(GraphError, match="holds 10,000,000,000 numbers"):
        g.parameter("big", shape=(100000, 100000))
    assert g.find("big") is None


def test_empty_values_are_refused_so_every_graph_can_be_saved_and_reopened():
    g = Graph()
    with pytest.raises(GraphError, match="parameter 'w': value must hold at least one number"):
        g.parameter("w", value=[])
    w = g.parameter("w", value=[1.0, 2.0])
    c = g.constant(3.0, name="c")
    with pytest.raises(GraphError, match="parameter 'w': value must hold at least one number"):
        g.set_value(w, np.zeros((2, 0)))
    with pytest.raises(GraphError, match="constant 'c': value must hold at least one number"):
        g.set_value(c, [])
    assert w.params["shape"] == (2,) and w.value.shape == (2,) and c.value == 3.0
    assert g.value_problem(w, [[]]) == "parameter 'w': value must hold at least one number"
    assert g.value_problem(w, [[1.0], [2.0]]) is None


def test_shape_parameter_accepts_text_and_redraws_the_value():
    g = Graph()
    p = g.parameter("W", shape=(2,))
    g.set_param(p, "shape", "3, 4")
    assert p.params["shape"] == (3, 4) and p.value.shape == (3, 4)


def test_names_are_unique_and_checked():
    g = Graph()
    g.input("x")
    with pytest.raises(GraphError, match="the name 'x' is already used"):
        g.input("x")
    with pytest.raises(GraphError, match="not a valid node name"):
        g.rename(g.relu("x"), "has space")
    assert g.relu("x").name == "relu_1"


def test_values_must_be_finite_numbers():
    g = Graph()
    with pytest.raises(GraphError, match="value must be finite"):
        g.constant([1.0, np.inf], name="c")


def test_seeded_graphs_initialize_identically():
    a, b = Graph(seed=7), Graph(seed=7)
    np.testing.assert_array_equal(a.parameter("W", shape=(3, 3), init="he_normal").value,
                                  b.parameter("W", shape=(3, 3), init="he_normal").value)


def test_every_op_has_a_builder_method():
    aliases = {"subtract": "sub", "multiply": "mul", "divide": "div"}
    missing = [name for name in REGISTRY
               if not hasattr(GraphBuilder, aliases.get(name, name))]
    assert not missing


def test_builder_checks_the_number_of_inputs():
    with pytest.raises(TypeError, match=r"add takes 2 input\(s\) \(a, b\), got 1"):
        Graph().apply("add", 1.0)


def test_depths_and_topological_order():
    g = Graph()
    x = g.input("x")
    y = g.relu(g.mul(x, 2.0, name="m"), name="r")
    order = [n.name for n in g.topological_order()]
    assert order.index("x") < order.index("m") < order.index("r")
    assert g.depths()[y.id] == 2


def random_graph(seed: int) -> Graph:
    """Inputs and binary and unary ops fed by random earlier nodes, some left unwired."""
    rng = np.random.default_rng(seed)
    g = Graph()
    ids = [g.input(f"x{k}").id for k in range(3)]
    for k in range(40):
        if rng.random() < 0.5:
            node = g.add_node("add", name=f"a{k}")
            for port in ("a", "b"):
                if rng.random() < 0.9:
                    g.connect(ids[rng.integers(len(ids))], node, port)
        else:
            node = g.add_node("relu", name=f"r{k}")
            g.connect(ids[rng.integers(len(ids))], node, "x")
        ids.append(node.id)
    return g


@pytest.mark.parametrize("seed", range(5))
def test_the_kept_order_is_dropped_on_a_change_and_gives_the_order_of_any_targets(seed):
    """The whole graph's order is kept until the next change, and the order of the nodes some
    targets need is read from it: the same as worked out on its own."""
    g = random_graph(seed)
    targets = [n.id for n in list(g.nodes.values())[-3:]]
    alone = [n.id for n in g.topological_order(targets)]  # nothing kept yet
    whole = [n.id for n in g.topological_order()]
    assert [n.id for n in g.topological_order(targets)] == alone  # read from the kept order
    assert [n.id for n in g.topological_order()] == whole
    g.topological_order().clear()  # a caller's list is its own
    assert [n.id for n in g.topological_order()] == whole

    def worked_out() -> list[str]:  # (a copy keeps no order)
        return [n.id for n in g.copy().topological_order()]
    g.remove_node(g.nodes[whole[-1]])
    assert [n.id for n in g.topological_order()] == worked_out() == whole[:-1]
    extra = g.relu(g.nodes[whole[0]], name="extra")
    assert [n.id for n in g.topological_order()] == worked_out()
    assert extra.id in worked_out()
    assert [n.id for n in g.topological_order([extra])] == [whole[0], extra.id]


def test_set_positions_moves_every_node_or_none():
    g = Graph()
    x, r = g.input("x"), g.relu(g.input("y"), name="r")
    events = recorded(g)
    with pytest.raises(GraphError, match=r"relu 'r': position must be finite"):
        g.set_positions({x.id: (1.0, 2.0), r.id: (float("inf"), 0.0)})
    assert x.position is None and events == []
    g.set_positions({x.id: (1, 2), "r": (3.5, -4.0)})
    assert x.position == (1.0, 2.0) and r.position == (3.5, -4.0)
    assert events == [("node_changed", "position")] * 2


def test_the_kept_shapes_are_dropped_on_a_change():
    g = Graph()
    x = g.input("x", (3,))
    r = g.relu(x, name="r")
    shapes, problems = g.infer_shapes()
    assert shapes[r.id] == (BATCH, 3) and problems == []
    shapes[r.id] = "changed"  # a caller's copy
    problems.append("changed")
    assert g.infer_shapes() == ({x.id: (BATCH, 3), r.id: (BATCH, 3)}, [])
    g.set_param(x, "shape", (5,))
    assert g.infer_shapes()[0][r.id] == (BATCH, 5)
    g.disconnect(g.input_edge(r, "x"))
    assert [p.node_id for p in g.infer_shapes()[1]] == [r.id]


def test_connect_can_replace_a_wire_but_a_refused_replacement_changes_nothing():
    g = Graph()
    x, y = g.input("x"), g.input("y")
    r = g.relu(x, name="r")
    t = g.tanh(r, name="t")
    g.connect(y, r, "x", replace=True)
    assert g.input_edge(r, "x").src == y.id and not g.output_edges(x)
    edges = set(g.edges)
    with pytest.raises(GraphError, match="would close a cycle"):
        g.connect(t, r, "x", replace=True)
    assert set(g.edges) == edges


def test_a_copy_is_equal_and_independent():
    from bpstudio.core.examples import EXAMPLES
    from bpstudio.core.project import Project

    project = EXAMPLES["xor"]()
    heard = []
    project.graph.subscribe(heard.append)
    twin = project.graph.copy()
    assert Project(twin, project.description, project.training) == project
    twin.node("hidden.W").value[0, 0] += 1.0
    twin.set_value("x", [[5.0, 5.0]])
    twin.disconnect(twin.input_edge("loss", "target"))
    twin.add_node("relu", name="extra")
    assert project.graph.node("x").value.shape == (4, 2)
    assert project.graph.input_edge("loss", "target") is not None
    assert project.graph.find("extra") is None and not heard
    assert twin.node("hidden.W").value[0, 0] != project.graph.node("hidden.W").value[0, 0]
    # the same random state: both draw the same next weights
    a, b = project.graph.copy(), project.graph.copy()
    a.reinitialize()
    b.reinitialize()
    assert np.array_equal(a.node("hidden.W").value, b.node("hidden.W").value)
