"""How the canvas draws quickly without changing what it shows: zoom pictures of the nodes, the
one layer that draws the wires, and the grid drawn as rows of pixels."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from bpstudio.gui.canvas import theme
from bpstudio.gui.canvas.node_item import NodeItem
from bpstudio.gui.canvas.scene import GraphScene
from bpstudio.gui.canvas.view import GraphView
from bpstudio.gui.document import Document
from bpstudio.gui.canvas.wire_items import EdgeItem

from guihelpers import build_neuron


def wait_for_pictures(qtbot, window, scale: float = 1.0) -> None:
    items = window.scene.node_items.values()
    qtbot.waitUntil(lambda: all(item.has_picture(scale) for item in items), timeout=3000)


def test_nodes_copy_their_pictures_while_zooming_and_are_drawn_in_full_after(window, qtbot,
                                                                              monkeypatch):
    ids = build_neuron(window)
    view = window.view
    view.set_zoom(1.0)
    view.centerOn(window.scene.nodes_rect().center())
    wait_for_pictures(qtbot, window)

    full_draws = []
    original = NodeItem._paint_detail
    monkeypatch.setattr(NodeItem, "_paint_detail",
                        lambda item, painter, export: (full_draws.append(item),
                                                       original(item, painter, export)))
    view.zoom_steps(-1, view.viewport().rect().center())
    image = view.viewport().grab().toImage()
    assert full_draws == []  # every node came from its picture

    # The pictures show the nodes: each header in its group colour, where the node is.
    shown = 0
    for item in window.scene.node_items.values():
        header = view.mapFromScene(item.mapToScene(QPointF(item.width / 2, 6)))
        if not image.rect().contains(header):
            continue
        seen, expected = QColor(image.pixel(header)), item.colour
        assert max(abs(seen.red() - expected.red()), abs(seen.green() - expected.green()),
                   abs(seen.blue() - expected.blue())) < 12, item.node.name
        shown += 1
    assert shown >= 3
    item = window.scene.node_items[ids["z"]]

    # Once zooming has stopped, nodes are drawn crisply at the new size again.
    qtbot.waitUntil(lambda: not item.zooming, timeout=3000)
    view.viewport().grab()
    assert item in full_draws


def test_a_change_to_a_node_drops_its_pictures(window, qtbot):
    ids = build_neuron(window)
    window.view.set_zoom(1.0)
    wait_for_pictures(qtbot, window)
    item = window.scene.node_items[ids["w"]]
    other = window.scene.node_items[ids["x"]]
    item.set_highlighted(True)
    assert not item.has_picture(1.0)
    assert other.has_picture(1.0)
    # Pictures are drawn unselected, the selection's border over the copy: selecting (which
    # Select All does to every node) keeps them.
    other.setSelected(True)
    assert other.has_picture(1.0)
    image = QImage(400, 300, QImage.Format_ARGB32)
    image.fill(QColor("black"))
    painter = QPainter(image)
    other.zooming = True
    option = QStyleOptionGraphicsItem()
    painter.translate(40, 40)
    other.paint(painter, option, window.view.viewport())  # copies its picture
    painter.end()
    other.zooming = False
    border = theme.NODE_SELECTED_BORDER
    colours = {image.pixelColor(x, y).rgb() for x in range(0, 400, 1) for y in (40, 41, 42)}
    assert border.rgb() in colours or any(
        abs(QColor(c).red() - border.red()) + abs(QColor(c).green() - border.green())
        + abs(QColor(c).blue() - border.blue()) < 40 for c in colours)


def test_the_wire_layer_draws_unselected_wires_and_a_selected_wire_draws_itself(window):
    build_neuron(window)
    scene = window.scene
    wires = list(scene.edge_items.values())
    assert wires and all(w.in_layer for w in wires)
    assert all(w.flags() & QGraphicsItem.ItemHasNoContents for w in wires)
    chosen = wires[0]
    chosen.setSelected(True)
    assert not chosen.in_layer
    assert not chosen.flags() & QGraphicsItem.ItemHasNoContents
    assert all(w.in_layer for w in wires[1:])
    chosen.setSelected(False)
    assert chosen.in_layer
    chosen.hide()  # a wire picked up by its end is hidden while it is dragged
    assert not chosen.in_layer
    chosen.show()
    assert chosen.in_layer
    # The layer has no shape: clicks on a wire find the wire, not the layer.
    middle = chosen.path.pointAtPercent(0.5)
    assert scene.item_at(middle) is chosen


def test_a_wire_is_drawn_where_it_runs(window, qtbot):
    build_neuron(window)
    view = window.view
    view.set_zoom(1.0)
    wire = next(iter(window.scene.edge_items.values()))
    view.centerOn(wire.path.pointAtPercent(0.5))
    qtbot.waitUntil(lambda: not window.scene.node_items[wire.edge.dst].zooming, timeout=3000)
    image = view.viewport().grab().toImage()
    point = view.mapFromScene(wire.path.pointAtPercent(0.5))
    near = [QColor(image.pixel(point.x() + dx, point.y() + dy))
            for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert max(c.lightness() for c in near) > theme.GRID_MAJOR.lightness() + 40


class LineGridView(GraphView):
    """The grid drawn the plain way, one line at a time, to compare with."""

    def drawBackground(self, painter, rect) -> None:
        self._draw_background_lines(painter, rect)


def test_the_grid_lights_the_same_pixels_as_drawing_its_lines(qtbot):
    scene = GraphScene(Document())
    fast, plain = GraphView(scene), LineGridView(scene)
    for view in (fast, plain):
        qtbot.addWidget(view)
        view.resize(640, 400)
        view.show()
    qtbot.waitExposed(plain)
    for zoom, centre in ((0.5, (13.3, 7.7)), (0.63, (-250.5, 91.2)), (1.0, (0.0, 0.0)),
                         (1.26, (47.9, -33.1)), (2.0, (5.5, 5.5))):
        images = []
        for view in (fast, plain):
            view.set_zoom(zoom)
            view.centerOn(*centre)
            images.append(view.viewport().grab().toImage())
        assert images[0] == images[1], f"grid differs at zoom {zoom}"


def test_wires_take_one_stroke_while_zooming_and_two_after(window, qtbot, monkeypatch):
    build_neuron(window)
    view = window.view
    view.set_zoom(1.0)
    view.centerOn(window.scene.nodes_rect().center())
    strokes = []
    original = EdgeItem.paint_in_layer
    monkeypatch.setattr(EdgeItem, "paint_in_layer",
                        lambda wire, painter, scale, double=True: (
                            strokes.append(double), original(wire, painter, scale, double)))
    view.zoom_steps(-1, view.viewport().rect().center())
    view.viewport().grab()
    assert strokes and not any(strokes)
    qtbot.waitUntil(lambda: not window.scene.wire_layer.zooming, timeout=3000)
    strokes.clear()
    view.viewport().grab()
    assert strokes and all(strokes)
