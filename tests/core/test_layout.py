from bpstudio import Graph
from bpstudio.core.layout import ROW_SPACING, apply_layout, layered_positions


def test_layout_puts_each_node_right_of_its_inputs():
    g = Graph()
    x = g.input("x")
    loss = g.mse(g.relu(g.add(g.mul(g.parameter("w", value=1.0), x), 0.5)), g.input("t"), name="loss")
    positions = layered_positions(g, wrap_width=float("inf"))
    assert set(positions) == set(g.nodes)
    for edge in g.edges:
        assert positions[edge.src][0] < positions[edge.dst][0]
    column = [p for p in positions.values() if p[0] == positions[x.id][0]]
    assert len({p[1] for p in column}) == len(column)  # no two nodes on top of each other
    apply_layout(g)
    assert g.node(loss).position == positions[loss.id]


def test_sources_sit_one_column_left_of_their_consumer_and_beside_it():
    g = Graph()
    h = g.input("x", (2,))
    for k in range(4):
        h = g.tanh(g.add(g.matmul(h, g.parameter(f"W{k}", shape=(2, 2))), g.parameter(f"b{k}", shape=(2,))))
    positions = layered_positions(g, wrap_width=float("inf"))
    for k in range(4):
        weight = g.find(f"W{k}")
        (edge,) = g.output_edges(weight)
        assert positions[weight.id][0] == positions[edge.dst][0] - 240.0
        # beside its consumer, and below the wire coming from the previous layer (port b)
        assert 0 < positions[weight.id][1] - positions[edge.dst][1] <= ROW_SPACING


def test_what_is_computed_from_weights_alone_sits_beside_its_consumer():
    """A transposed weight (as an imported Gemm makes) is drawn next to the layer that uses it,
    not in the second column with a wire across the whole graph."""
    g = Graph()
    h = g.input("x", (2,))
    for k in range(3):
        w = g.transpose(g.parameter(f"W{k}", shape=(2, 2)), name=f"W{k}.T")
        h = g.tanh(g.matmul(h, w, name=f"mm{k}"))
    positions = layered_positions(g, wrap_width=float("inf"))
    for k in range(3):
        weight, transposed, layer = (g.find(n) for n in (f"W{k}", f"W{k}.T", f"mm{k}"))
        assert positions[transposed.id][0] == positions[layer.id][0] - 240.0
        assert positions[weight.id][0] == positions[transposed.id][0] - 240.0
    assert positions[g.find("x").id][0] < positions[g.find("mm0").id][0]
