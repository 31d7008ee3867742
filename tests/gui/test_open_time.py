"""Opening a file in the window takes work in proportion to its nodes and wires: laying out
nodes without positions, making the scene's items, the first validation. Work is counted in
calls (Python and C, so Qt's methods count too), not timed; benchmarks/loading.py gives the
times."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from bpstudio import Graph, save


def calls(work) -> int:
    count = 0

    def tally(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(tally)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def chain(nodes: int) -> Graph:
    """An input feeding a chain of relus, and a side branch every tenth node (so that the
    layout has more than one row); no positions, as a script saves them."""
    g = Graph()
    previous = g.add_node("input", name="x", params={"shape": (1,)})
    for k in range(1, nodes):
        op = "add" if k % 10 == 0 else "relu"
        node = g.add_node(op, name=f"n{k}")
        g.connect(previous, node, "a" if op == "add" else "x")
        if op == "add":
            g.connect(g.add_node("constant", name=f"c{k}", value=1.0), node, "b")
        previous = node
    return g


def open_work(window, path) -> int:
    window.new_file()
    QApplication.processEvents()

    def open_it() -> None:
        assert window.open_file(path)
        QApplication.processEvents()
    return calls(open_it)


def test_opening_a_file_is_linear_in_its_size(window, tmp_path):
    small, large = tmp_path / "small.bpg", tmp_path / "large.bpg"
    save(chain(300), small)
    save(chain(600), large)
    open_work(window, small)  # the first open builds caches (fonts, sprites) once
    small_work = open_work(window, small)
    large_work = open_work(window, large)
    assert len(window.scene.node_items) == len(window.graph.nodes) == 600 + 59
    assert large_work / small_work < 2.3, (small_work, large_work)
    # One item per card and per wire, and the wire layer: a card's ports are not items.
    assert len(window.scene.items()) == len(window.graph.nodes) + len(window.graph.edges) + 1


def stack(layers: int) -> Graph:
    """A stack of collapsed dense layers: each layer's block is built from its own nodes
    and wires, not the whole graph's."""
    g = Graph()
    h = g.input("x", (4,))
    for k in range(layers):
        h = g.dense(h, 4, 4, f"layer{k + 1}", activation="tanh")
    return g


def test_opening_a_stack_of_layers_is_linear_in_its_layers(window, tmp_path):
    small, large = tmp_path / "small.bpg", tmp_path / "large.bpg"
    save(stack(40), small)
    save(stack(160), large)
    open_work(window, small)
    small_work = open_work(window, small)
    large_work = open_work(window, large)
    assert len(window.scene.layer_items) == 160
    assert large_work / small_work < 4 * 1.15, (small_work, large_work)


def test_the_scene_makes_a_node_and_its_wire_in_a_bounded_number_of_calls(window, tmp_path):
    """The scene's share of opening a file: building the items of a node and its wire. A
    Python itemChange on the node (Qt calls it, converting its argument, for each of the
    changes made while an item is built), a QGraphicsObject and flags set one at a time made it
    some 300 calls (Python and C); a child item per port (with its tooltip and cursor), each
    wire's curve made up front, the canvas grown and the wire layer redrawn once per item and
    every card validated twice, some 200; now about 100."""
    path = tmp_path / "chain.bpg"
    save(chain(600), path)
    assert window.open_file(path)
    graph = window.graph
    scene = window.scene
    scene.set_graph(graph)  # once, for the caches
    work = calls(lambda: scene.set_graph(graph))
    per_node = work / len(graph.nodes)
    assert per_node < 125, per_node
