"""Select All and Delete on long chains do work linear in the node count: what is counted is
how many selected items the window reads back, how often shapes are inferred, and how many
items lie outside the canvas (Qt's index keeps those in one cell that every removal searches),
never seconds (benchmarks/select_delete.py times them)."""

from __future__ import annotations

import pytest

from bpstudio import Graph
from bpstudio.core.graph import Graph as CoreGraph
from bpstudio.gui import commands
from bpstudio.gui.canvas.scene import GraphScene


def chain(n: int) -> Graph:
    g = Graph()
    h = g.input("x", (2,))
    for i in range(n - 1):
        h = g.apply("relu" if i % 2 else "tanh", h, name=f"n{i}")
    return g


class Tally:
    def __init__(self, monkeypatch):
        self.items_read = 0
        self.inferences = 0
        selected, infer = GraphScene.selected_node_ids, CoreGraph.infer_shapes

        def counting_selected(scene):
            ids = selected(scene)
            self.items_read += len(ids)
            return ids

        def counting_infer(graph, *args, **kwargs):
            self.inferences += 1
            return infer(graph, *args, **kwargs)
        monkeypatch.setattr(GraphScene, "selected_node_ids", counting_selected)
        monkeypatch.setattr(CoreGraph, "infer_shapes", counting_infer)

    def reset(self):
        self.items_read = self.inferences = 0


@pytest.mark.parametrize("n", [200, 1000, 3000])
def test_select_all_then_delete_reads_each_node_a_few_times(qtbot, window, monkeypatch, n):
    window.set_graph(chain(n), path=None)
    qtbot.wait(10)
    tally = Tally(monkeypatch)
    window.actions.select_all.trigger()
    qtbot.wait(10)  # (the burst's one update comes from the event loop)
    assert len(window.scene.selected_node_ids()) == n
    assert tally.items_read <= 4 * n, f"Select All read {tally.items_read} items for {n} nodes"
    assert tally.inferences <= 2
    tally.reset()
    window.actions.delete.trigger()
    qtbot.wait(10)
    assert not window.graph.nodes
    assert tally.items_read <= 4 * n, f"Delete read {tally.items_read} items for {n} nodes"
    assert tally.inferences <= 2
    assert window.inspector.node_id is None
    window.undo_stack.undo()
    assert len(window.graph.nodes) == n


def outside_the_canvas(scene) -> int:
    canvas = scene.sceneRect()
    return sum(not canvas.contains(item.sceneBoundingRect()) for item in scene.items())


@pytest.mark.parametrize("n", [600, 3000])
def test_every_item_of_a_long_chain_lies_inside_the_canvas(qtbot, window, monkeypatch, n):
    # A chain placed in one row (as a script may save it) reaches 240 units per node, past
    # the canvas's first +-100,000. The items out there all shared one cell of the scene's
    # index, so each of a Delete's removals searched through all of them: quadratic.
    regrown = []
    set_rect = GraphScene.setSceneRect
    monkeypatch.setattr(GraphScene, "setSceneRect",
                        lambda scene, *rect: (regrown.append(rect), set_rect(scene, *rect)))
    long_row = chain(n)
    for k, node in enumerate(long_row.topological_order()):
        node.position = (240.0 * k, 0.0)
    window.set_graph(long_row, path=None)
    scene = window.scene
    assert scene.itemsBoundingRect().right() > 100_000 * n / 1000  # (the chain does reach out)
    assert outside_the_canvas(scene) == 0
    assert len(regrown) <= 2 + n.bit_length() // 2  # re-indexed a few times, not per node
    # a node dragged (a move command) or added far away: the canvas reaches it too
    first, last = window.graph.node("x"), window.graph.node(f"n{n - 2}")
    window.undo_stack.push(commands.MoveNodesCommand(
        window.graph, {first.id: (first.position, (-3.5e6, 2.5e6))}))
    window.graph.add_node("tanh", name="far", position=(last.position[0] * 3, -4e6))
    assert outside_the_canvas(scene) == 0
    window.undo_stack.undo()
    assert outside_the_canvas(scene) == 0


def test_a_single_selection_still_shows_at_once(qtbot, window):
    window.set_graph(chain(5), path=None)
    window.scene.select_nodes([window.graph.node("n2").id])
    assert window.inspector.node_id == window.graph.node("n2").id  # no wait for a timer
    window.scene.select_nodes([window.graph.node("n1").id, window.graph.node("n3").id])
    qtbot.waitUntil(lambda: window.inspector.node_id is None)
    window.scene.select_nodes([window.graph.node("n0").id])
    qtbot.waitUntil(lambda: window.inspector.node_id == window.graph.node("n0").id)


def test_a_large_selection_is_not_read_again_while_nothing_changes(qtbot, window):
    window.set_graph(chain(50), path=None)
    window.actions.select_all.trigger()
    qtbot.waitUntil(lambda: "50 nodes selected" in inspector_text(window))
    reads = window.inspector.selection_updates
    qtbot.wait(100)  # an idle window reads nothing
    assert window.inspector.selection_updates == reads


def inspector_text(window) -> str:
    from PySide6.QtWidgets import QLabel
    return " ".join(label.text() for label in window.inspector.findChildren(QLabel)
                    if label.isVisibleTo(window.inspector))
