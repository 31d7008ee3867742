from bpstudio import Graph
from bpstudio.core.layout import apply_layout, layered_positions


def test_layout_puts_each_node_right_of_its_inputs():
    g = Graph()
    x = g.input("x")
    loss = g.mse(g.relu(g.add(g.mul(g.parameter("w", value=1.0), x), 0.5)), g.input("t"), name="loss")
    positions = layered_positions(g)
    assert set(positions) == set(g.nodes)
    for edge in g.edges:
        assert positions[edge.src][0] < positions[edge.dst][0]
    column = [p for p in positions.values() if p[0] == positions[x.id][0]]
    assert len({p[1] for p in column}) == len(column)  # no two nodes on top of each other
    apply_layout(g)
    assert g.node(loss).position == positions[loss.id]
