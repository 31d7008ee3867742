"""The canvas driven like a person would: drops, wire drags, moves, selection, rename, zoom."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bpstudio.gui.canvas import theme
from bpstudio.gui.canvas.port_item import PortItem

from guihelpers import (assert_scene_matches_graph, build_neuron, drag, drag_event, key, port_pos,
                        snapshot, title_pos, view_pos)


def drop_op(window, op: str, pos: QPoint) -> None:
    """Deliver the drag-enter, drag-move and drop events a real drag from the palette sends."""
    viewport = window.view.viewport()
    mime = window.palette.mime_data_for(op)
    actions = Qt.CopyAction | Qt.MoveAction
    enter = drag_event(QDragEnterEvent, pos, actions, mime)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = drag_event(QDragMoveEvent, pos, actions, mime)
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(QPointF(pos), actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, drop)


def test_dropping_a_palette_entry_creates_that_node_at_the_drop_point(window, qtbot):
    pos = QPoint(400, 300)
    drop_op(window, "sigmoid", pos)
    assert len(window.graph.nodes) == 1
    node = next(iter(window.graph.nodes.values()))
    assert node.op == "sigmoid"
    scene_point = window.view.mapToScene(pos)
    item = window.scene.node_items[node.id]
    header = item.mapRectToScene(0, 0, item.width, theme.NODE_HEADER_HEIGHT)
    assert header.contains(scene_point)
    assert node.position == (scene_point.x() - theme.NODE_WIDTH / 2,
                             scene_point.y() - theme.NODE_HEADER_HEIGHT / 2)
    assert window.undo_stack.undoText() == "Add Sigmoid"
    assert_scene_matches_graph(window)


def test_palette_mime_data_names_the_op_and_other_data_is_refused(window):
    mime = window.palette.mime_data_for("matmul")
    assert bytes(mime.data("application/x-bpstudio-op")).decode() == "matmul"
    from PySide6.QtCore import QMimeData

    other = QMimeData()
    other.setText("relu")
    enter = drag_event(QDragEnterEvent, QPoint(300, 300), Qt.CopyAction, other)
    QApplication.sendEvent(window.view.viewport(), enter)
    assert not enter.isAccepted()
    assert not window.graph.nodes


def test_tab_opens_a_searchable_menu_that_adds_a_node_at_the_cursor(window, qtbot):
    cursor = QPoint(500, 260)
    QTest.mouseMove(window.view.viewport(), cursor)
    window.view.cursor().setPos(window.view.viewport().mapToGlobal(cursor))
    key(window, Qt.Key_Tab)
    popup = window.search_popup
    qtbot.waitUntil(popup.isVisible)
    QTest.keyClicks(popup.search, "tan")
    assert popup.visible_ops()[0] == "tanh"  # a title that starts with it ranks first
    assert "constant" in popup.visible_ops()  # ... before one that merely contains it
    popup.search.clear()
    QTest.keyClicks(popup.search, "leaky")
    assert popup.visible_ops() == ["leaky_relu"]
    QTest.keyClick(popup.search, Qt.Key_Return)
    assert not popup.isVisible()
    (node,) = window.graph.nodes.values()
    assert node.op == "leaky_relu"
    x, y = node.position
    expected = window.view.mapToScene(window.view.viewport().mapFromGlobal(
        window.view.cursor().pos()))
    assert abs(x + theme.NODE_WIDTH / 2 - expected.x()) < 2
    assert abs(y + theme.NODE_HEADER_HEIGHT / 2 - expected.y()) < 2


def test_dragging_from_an_output_to_an_input_creates_the_edge(window, qtbot):
    ids = build_neuron(window)
    g = window.graph
    g_before = len(g.edges)
    new = window.add_node("sigmoid", QPointF(500, 300))
    drag(window, port_pos(window, ids["z"], "out", True), port_pos(window, new, "x", False))
    assert len(g.edges) == g_before + 1
    edge = g.input_edge(new, "x")
    assert (edge.src, edge.src_port) == (ids["z"], "out")
    assert "Connected z to" in window.statusBar().currentMessage()
    assert_scene_matches_graph(window)
    assert not window.scene.wiring


def test_dragging_from_an_input_to_an_output_works_too(window):
    ids = build_neuron(window)
    new = window.add_node("tanh", QPointF(500, 350))
    drag(window, port_pos(window, new, "x", False), port_pos(window, ids["a"], "out", True))
    edge = window.graph.input_edge(new, "x")
    assert edge is not None and edge.src == ids["a"]
    assert_scene_matches_graph(window)


def test_live_wire_follows_the_cursor_and_marks_valid_targets(window):
    ids = build_neuron(window)
    viewport = window.view.viewport()
    start = port_pos(window, ids["z0"], "out", True)
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, start + QPoint(60, 80))
    wire = window.scene._wire
    assert wire is not None and wire.isVisible()
    end = window.view.mapToScene(start + QPoint(60, 80))
    assert wire._path.pointAtPercent(1) == end
    scene = window.scene
    # Downstream inputs are valid targets; the node's own inputs and upstream ones are not.
    assert scene.node_items[ids["a"]].port("x", False)._state == PortItem.VALID_TARGET
    assert scene.node_items[ids["z0"]].port("a", False)._state == PortItem.INVALID_TARGET
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPoint(60, 80))
    assert scene._wire is None
    # Escape drops a wire mid-drag; nothing is connected.
    before = snapshot(window.graph)
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, port_pos(window, ids["a"], "x", False))
    QTest.keyClick(window.view, Qt.Key_Escape)
    assert not scene.wiring
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, port_pos(window, ids["a"], "x", False))
    assert snapshot(window.graph) == before
    assert scene.node_items[ids["a"]].port("x", False)._state == PortItem.NORMAL


def test_a_wire_that_would_close_a_cycle_is_refused_and_the_graph_is_unchanged(window):
    ids = build_neuron(window)
    before = snapshot(window.graph)
    # relu 'a' feeds the loss; wiring its output back into the multiply closes a cycle.
    drag(window, port_pos(window, ids["a"], "out", True), port_pos(window, ids["z0"], "a", False))
    assert snapshot(window.graph) == before
    message = window.statusBar().currentMessage()
    assert "cycle" in message and "Cannot connect" in message
    assert window.undo_stack.count() == 0
    assert_scene_matches_graph(window)


def test_wiring_a_node_to_itself_or_output_to_output_is_refused(window):
    ids = build_neuron(window)
    before = snapshot(window.graph)
    drag(window, port_pos(window, ids["z"], "out", True), port_pos(window, ids["z"], "a", False))
    assert "feed itself" in window.statusBar().currentMessage()
    drag(window, port_pos(window, ids["z"], "out", True), port_pos(window, ids["x"], "out", True))
    assert "output to an input" in window.statusBar().currentMessage()
    assert snapshot(window.graph) == before


def test_dropping_on_an_occupied_input_replaces_its_wire(window):
    ids = build_neuron(window)
    g = window.graph
    drag(window, port_pos(window, ids["x"], "out", True), port_pos(window, ids["a"], "x", False))
    assert g.input_edge(ids["a"], "x").src == ids["x"]
    assert all(e.dst != ids["a"] or e.src == ids["x"] for e in g.edges)
    assert_scene_matches_graph(window)
    key(window, Qt.Key_Z, Qt.ControlModifier)
    assert g.input_edge(ids["a"], "x").src == ids["z"]
    assert_scene_matches_graph(window)


def test_dragging_a_wire_end_off_its_port_disconnects_it(window):
    ids = build_neuron(window)
    g = window.graph
    start = port_pos(window, ids["a"], "x", False)
    drag(window, start, start + QPoint(-40, 120))
    assert g.input_edge(ids["a"], "x") is None
    assert_scene_matches_graph(window)
    window.undo_stack.undo()
    assert g.input_edge(ids["a"], "x").src == ids["z"]


def test_dragging_a_wire_end_to_another_input_reconnects_it_in_one_step(window):
    ids = build_neuron(window)
    g = window.graph
    new = window.add_node("exp", QPointF(800, 400))
    drag(window, port_pos(window, ids["a"], "x", False), port_pos(window, new, "x", False))
    assert g.input_edge(ids["a"], "x") is None
    assert g.input_edge(new, "x").src == ids["z"]
    assert window.undo_stack.undoText() == "Reconnect"
    window.undo_stack.undo()
    assert g.input_edge(ids["a"], "x").src == ids["z"] and g.input_edge(new, "x") is None


def test_a_wire_can_be_selected_by_clicking_and_deleted(window):
    ids = build_neuron(window)
    item = window.scene.edge_items[(ids["loss"], "target")]
    point = view_pos(window, item.path.pointAtPercent(0.5))
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert item.isSelected()
    key(window, Qt.Key_Delete)
    assert window.graph.input_edge(ids["loss"], "target") is None
    assert ids["t"] in window.graph.nodes
    assert_scene_matches_graph(window)


def test_dragging_a_node_moves_it_and_a_whole_drag_is_one_undo_step(window):
    ids = build_neuron(window)
    g = window.graph
    old = g.nodes[ids["a"]].position
    start = title_pos(window, ids["a"])
    drag(window, start, start + QPoint(80, 60), steps=8)
    zoom = window.view.zoom
    x, y = g.nodes[ids["a"]].position
    assert abs(x - (old[0] + 80 / zoom)) < 2 and abs(y - (old[1] + 60 / zoom)) < 2
    assert window.undo_stack.count() == 1
    assert window.undo_stack.undoText() == "Move a"
    assert_scene_matches_graph(window)  # wires followed the node
    window.undo_stack.undo()
    assert g.nodes[ids["a"]].position == old
    assert_scene_matches_graph(window)


def test_moving_a_selection_moves_every_selected_node(window):
    ids = build_neuron(window)
    g = window.graph
    olds = {i: g.nodes[i].position for i in (ids["x"], ids["w"])}
    window.scene.select_nodes([ids["x"], ids["w"]])
    start = title_pos(window, ids["x"])
    drag(window, start, start + QPoint(0, -50))
    for i, (ox, oy) in olds.items():
        assert g.nodes[i].position[0] == ox and g.nodes[i].position[1] < oy
    assert window.undo_stack.count() == 1 and window.undo_stack.undoText() == "Move 2 nodes"


def test_rubber_band_selects_the_nodes_it_covers(window):
    ids = build_neuron(window)
    items = window.scene.node_items
    rect = items[ids["x"]].sceneBoundingRect().united(items[ids["w"]].sceneBoundingRect())
    start = view_pos(window, rect.topLeft() - QPointF(30, 30))
    end = view_pos(window, rect.bottomRight() + QPointF(10, 10))
    drag(window, start, end)
    assert set(window.scene.selected_node_ids()) == {ids["x"], ids["w"]}


def test_double_clicking_the_title_renames_the_node(window, qtbot):
    ids = build_neuron(window)
    pos = title_pos(window, ids["a"])
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
    editor = window.scene.rename_editor
    assert editor is not None and editor.text() == "a"
    editor.selectAll()
    QTest.keyClicks(editor, "activation")
    QTest.keyClick(editor, Qt.Key_Return)
    assert window.graph.nodes[ids["a"]].name == "activation"
    assert window.undo_stack.undoText() == "Rename a to activation"
    qtbot.waitUntil(lambda: window.scene.rename_editor is None)


def test_renaming_to_a_taken_or_invalid_name_is_refused_with_a_message(window):
    ids = build_neuron(window)
    editor = window.scene.start_rename(ids["a"])
    editor.setText("loss")
    QTest.keyClick(editor, Qt.Key_Return)
    assert window.graph.nodes[ids["a"]].name == "a"
    assert "already used" in window.statusBar().currentMessage()
    editor = window.scene.start_rename(ids["a"])
    editor.setText("9 lives")
    QTest.keyClick(editor, Qt.Key_Return)
    assert window.graph.nodes[ids["a"]].name == "a"
    assert "not a valid node name" in window.statusBar().currentMessage()
    assert window.undo_stack.count() == 0


def test_wheel_zooms_towards_the_cursor(window):
    build_neuron(window)
    view = window.view
    before = view.zoom
    cursor = QPoint(300, 200)
    under = view.mapToScene(cursor)
    from PySide6.QtGui import QWheelEvent

    event = QWheelEvent(QPointF(cursor), QPointF(view.viewport().mapToGlobal(cursor)), QPoint(),
                        QPoint(0, 240), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom > before
    after = view.mapToScene(cursor)
    assert abs(after.x() - under.x()) < 3 and abs(after.y() - under.y()) < 3


def test_zoom_shortcuts_and_frame(window):
    ids = build_neuron(window)
    view = window.view
    z = view.zoom
    key(window, Qt.Key_Plus, Qt.ControlModifier)
    assert view.zoom > z
    key(window, Qt.Key_Minus, Qt.ControlModifier)
    key(window, Qt.Key_Minus, Qt.ControlModifier)
    assert view.zoom < z
    window.scene.select_nodes([ids["loss"]])
    key(window, Qt.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.node_items[ids["loss"]].sceneBoundingRect())
    assert not visible.contains(window.scene.node_items[ids["x"]].sceneBoundingRect())
    key(window, Qt.Key_Home)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.nodes_rect())


def test_middle_drag_and_space_drag_pan_the_view(window):
    build_neuron(window)
    view = window.view
    centre = view.viewport().rect().center()
    before = view.mapToScene(centre)
    drag(window, QPoint(400, 400), QPoint(300, 350), button=Qt.MiddleButton)
    moved = view.mapToScene(centre)
    assert moved.x() > before.x() + 50 and moved.y() > before.y() + 20
    QTest.keyPress(view, Qt.Key_Space)
    drag(window, QPoint(300, 300), QPoint(400, 300))
    QTest.keyRelease(view, Qt.Key_Space)
    assert view.mapToScene(centre).x() < moved.x() - 50
    assert not window.scene.selected_node_ids()


def test_right_click_on_empty_canvas_opens_the_add_node_menu_there(window, qtbot):
    from PySide6.QtGui import QContextMenuEvent

    viewport = window.view.viewport()
    pos = QPoint(350, 420)
    event = QContextMenuEvent(QContextMenuEvent.Mouse, pos, viewport.mapToGlobal(pos))
    QApplication.sendEvent(viewport, event)
    popup = window.search_popup
    qtbot.waitUntil(popup.isVisible)
    QTest.keyClicks(popup.search, "matm")
    QTest.keyClick(popup.search, Qt.Key_Enter)
    (node,) = window.graph.nodes.values()
    assert node.op == "matmul"
    scene_point = window.view.mapToScene(pos)
    assert node.position == (scene_point.x() - theme.NODE_WIDTH / 2,
                             scene_point.y() - theme.NODE_HEADER_HEIGHT / 2)


def test_items_have_hooks_for_values_gradients_and_step_through(window):
    ids = build_neuron(window)
    scene = window.scene
    node = scene.node_items[ids["z"]]
    height = node.height
    node.set_value_display("value 1.1", "grad 2.2")
    assert node.height > height
    assert_scene_matches_graph(window)  # wires stay attached to the ports of the taller node
    node.set_highlighted(True)
    assert node.highlighted
    wire = scene.edge_items[(ids["a"], "x")]
    wire.set_gradient_magnitude(1e-7, scale_max=1.0)
    faint = wire._colour
    wire.set_gradient_magnitude(1.0, scale_max=1.0)
    assert wire._colour != faint and wire.gradient_magnitude == 1.0
    window.view.viewport().repaint()  # every hook draws without error
    node.set_value_display(None, None)
    assert node.height == height


def tooltip_at(window, scene_point: QPointF) -> str:
    return window.view.tooltip_at(view_pos(window, scene_point))


def test_a_port_is_found_all_round_its_hit_circle_with_its_tooltip_and_cursor(window):
    """A port is a place on its card: the press that starts a wire, the tooltip and the cross
    cursor find it anywhere in its hit circle, also past the card's edge; the card's body
    gives the node's tooltip and the arrow."""
    ids = build_neuron(window)
    scene, view = window.scene, window.view
    view.set_zoom(1.0)
    card = scene.node_items[ids["z"]]
    view.centerOn(card)
    port = card.port("b", False)
    centre = port.scene_anchor()
    outside = centre - QPointF(theme.PORT_HIT_RADIUS - 1.5, 0)  # left of the card's edge
    assert not card.shape().contains(card.mapFromScene(outside))
    for point in (centre, outside):
        assert scene.port_at(point) is port
        assert scene.item_at(point) is port and scene.node_item_of(port) is card
        assert tooltip_at(window, point) == port.toolTip() == "<b>b</b>"
    beyond = centre - QPointF(theme.PORT_HIT_RADIUS + 1.5, 0)
    assert scene.port_at(beyond) is None
    body = card.mapToScene(card.boundingRect().center())
    assert scene.port_at(body) is None and scene.item_at(body) is card
    assert tooltip_at(window, body) == card.tooltip_text()
    viewport = view.viewport()
    QTest.mouseMove(viewport, view_pos(window, outside))
    assert viewport.cursor().shape() == Qt.CrossCursor
    QTest.mouseMove(viewport, view_pos(window, body))
    assert viewport.cursor().shape() == Qt.ArrowCursor


def test_a_wire_dragged_from_the_edge_of_a_port_circle_connects(window):
    ids = build_neuron(window)
    window.view.set_zoom(1.0)
    new = window.add_node("sigmoid", QPointF(500, 300))
    target = window.scene.node_items[new].port("x", False)
    edge_of_circle = target.scene_anchor() - QPointF(theme.PORT_HIT_RADIUS - 2, 0)
    drag(window, port_pos(window, ids["a"], "out", True), view_pos(window, edge_of_circle))
    edge = window.graph.input_edge(new, "x")
    assert edge is not None and edge.src == ids["a"]
    assert_scene_matches_graph(window)
