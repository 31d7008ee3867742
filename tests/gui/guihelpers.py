"""Helpers for the GUI tests: map items to viewport points, drag, snapshot a graph, and check
that the scene's items agree with the graph."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from bpstudio.core.graph import Graph
from bpstudio.gui.canvas.node_item import NodeItem
from bpstudio.gui.canvas.wire_items import EdgeItem
from bpstudio.gui.main_window import MainWindow


# ---------------------------------------------------------------------------- helpers
def view_pos(window: MainWindow, scene_point: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_point)


def port_pos(window: MainWindow, node_id: str, port: str, is_output: bool) -> QPoint:
    item = window.scene.node_items[node_id].port(port, is_output)
    return view_pos(window, item.scene_anchor())


def title_pos(window: MainWindow, node_id: str) -> QPoint:
    item = window.scene.node_items[node_id]
    return view_pos(window, item.mapToScene(item.title_rect().center()))


def shown_tooltip(window: MainWindow, node_id: str) -> str:
    """The tooltip the canvas shows when the pointer rests on the node's title, asked for with
    the help event a resting pointer sends."""
    window.view.centerOn(window.scene.node_items[node_id])
    pos = title_pos(window, node_id)
    viewport = window.view.viewport()
    QToolTip.hideText()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.ToolTip, pos, viewport.mapToGlobal(pos)))
    return QToolTip.text() if QToolTip.isVisible() else ""


def drag(window: MainWindow, start: QPoint, end: QPoint, steps: int = 5,
         button=Qt.LeftButton, modifier=Qt.NoModifier) -> None:
    """Press at ``start``, move in steps, release at ``end`` on the canvas viewport."""
    viewport = window.view.viewport()
    QTest.mousePress(viewport, button, modifier, start)
    for k in range(1, steps + 1):
        p = start + (end - start) * (k / steps)
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, button, modifier, end)


def drag_event(cls, pos: QPoint, actions, mime):
    """A drag event; newer bindings take a QPointF position, older ones a QPoint."""
    try:
        return cls(QPointF(pos), actions, mime, Qt.LeftButton, Qt.NoModifier)
    except TypeError:
        return cls(pos, actions, mime, Qt.LeftButton, Qt.NoModifier)


def key(window: MainWindow, key, modifier=Qt.NoModifier, widget=None) -> None:
    QTest.keyClick(widget or window.view, key, modifier)


def snapshot(graph: Graph) -> dict:
    """Everything that defines a graph, comparable with ==."""
    nodes = {}
    for n in graph.nodes.values():
        nodes[n.id] = (n.op, n.name, tuple(sorted((k, repr(v)) for k, v in n.params.items())),
                       None if n.value is None else (n.value.shape, n.value.tobytes()),
                       None if n.position is None else tuple(float(c) for c in n.position))
    edges = sorted((e.src, e.src_port, e.dst, e.dst_port) for e in graph.edges)
    return {"nodes": nodes, "edges": edges}


def assert_scene_matches_graph(window: MainWindow) -> None:
    scene, graph = window.scene, window.graph
    assert set(scene.node_items) == set(graph.nodes)
    node_items = [i for i in scene.items() if isinstance(i, NodeItem)]
    edge_items = [i for i in scene.items() if isinstance(i, EdgeItem)]
    assert len(node_items) == len(graph.nodes)
    assert len(edge_items) == len(graph.edges)
    for node_id, item in scene.node_items.items():
        node = graph.nodes[node_id]
        assert item.node is node
        if node.position is not None:
            assert (item.pos().x(), item.pos().y()) == pytest.approx(tuple(node.position))
    assert set(scene.edge_items) == {(e.dst, e.dst_port) for e in graph.edges}
    for (dst, port), item in scene.edge_items.items():
        edge = graph.input_edge(dst, port)
        assert item.edge == edge
        assert item.source is scene.node_items[edge.src].port(edge.src_port, True)
        assert item.target is scene.node_items[edge.dst].port(edge.dst_port, False)
        assert item.path.pointAtPercent(0) == item.source.scene_anchor()
        assert item.path.pointAtPercent(1) == item.target.scene_anchor()


def build_neuron(window: MainWindow) -> dict[str, str]:
    """x, w -> multiply -> add(b) -> relu -> mse(t), placed in columns. Not an undoable edit:
    a starting graph, as if opened from a file."""
    g = Graph()
    ids = {}
    for name, op, pos, params in [("x", "input", (0, 0), {}), ("w", "parameter", (0, 150), {}),
                                  ("b", "parameter", (250, 250), {}),
                                  ("z0", "multiply", (250, 0), {}), ("z", "add", (500, 0), {}),
                                  ("a", "relu", (750, 0), {}), ("t", "input", (750, 200), {}),
                                  ("loss", "mse", (1000, 0), {})]:
        value = 0.5 if name == "w" else (0.1 if name == "b" else None)
        ids[name] = g.add_node(op, name=name, params=params, value=value, position=pos).id
    g.connect(ids["w"], ids["z0"], "a")
    g.connect(ids["x"], ids["z0"], "b")
    g.connect(ids["z0"], ids["z"], "a")
    g.connect(ids["b"], ids["z"], "b")
    g.connect(ids["z"], ids["a"], "x")
    g.connect(ids["a"], ids["loss"], "prediction")
    g.connect(ids["t"], ids["loss"], "target")
    window.set_graph(g, path=None)
    return ids
