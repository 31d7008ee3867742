"""Layers on the canvas, at the default window size (1400 x 860), through the real controls: a
collapsed layer is one block with readable labels, a double-click opens it in place (making
room), Ctrl+Z and the frame's close button fold it back, Edit > Group as Layer and Ungroup,
the groups and what was open survive a save, and after Forward a block's badge says how much
of its layer is dead."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtTest import QTest

from bpstudio import Graph
from bpstudio.core.examples import example_folder
from bpstudio.core.files import fileformat
from bpstudio.core.files.fileformat import encode
from bpstudio.core.layout import apply_layout
from bpstudio.gui.canvas import theme
from bpstudio.gui.canvas.layer_item import block_font, line_font
from bpstudio.gui.palette import DENSE_LAYER

DEEP = ("deep_sigmoid", "deep_relu_he", "deep_exploding")


@pytest.fixture
def big_window(window, qtbot):
    window.resize(1400, 860)
    qtbot.waitUntil(lambda: window.width() == 1400)
    return window


def open_example(window, stem: str) -> None:
    path = example_folder() / f"{stem}.bpg"
    action = next(a for a in window.examples_menu.actions() if a.data() == str(path))
    action.trigger()


def block_point(window, group_id: str) -> QPoint:
    block = window.scene.layer_items[group_id]
    return window.view.mapFromScene(block.mapToScene(block.title_rect().center()))


def on_screen(window, item) -> bool:
    rect = window.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return window.view.viewport().rect().contains(rect)


def edit_action(window, text: str):
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    return next(a for a in edit.actions() if a.text().replace("&", "") == text)


def visible_cards(window) -> list[QRectF]:
    cards = [QRectF(i.pos().x(), i.pos().y(), i.width, i.height)
             for i in window.scene.node_items.values() if i.isVisible()]
    return cards + [i.sceneBoundingRect().adjusted(10, 10, -10, -10)  # (less the port margin)
                    for i in window.scene.layer_items.values()]


def same_places(graph, before: dict) -> bool:
    """Every node where it was (to rounding: shifts out and back)."""
    return before.keys() == graph.nodes.keys() and all(
        np.allclose(graph.nodes[i].position, p) for i, p in before.items())


def overlaps(rects: list[QRectF]) -> list[tuple[int, int]]:
    return [(a, b) for a in range(len(rects)) for b in range(a + 1, len(rects))
            if rects[a].intersects(rects[b])]


@pytest.mark.parametrize("stem", DEEP)
def test_every_layer_block_is_on_screen_with_labels_of_at_least_8_pixels(big_window, stem):
    window = big_window
    open_example(window, stem)
    graph = window.graph
    assert graph.groups and set(window.scene.layer_items) == set(graph.groups)
    scale = window.view.transform().m11()
    for font in (block_font(), line_font()):
        assert QFontInfo(font).pixelSize() * scale >= 8
    for group_id, block in window.scene.layer_items.items():
        assert on_screen(window, block), graph.groups[group_id].name
        for node_id in graph.member_ids(group_id):
            assert not window.scene.node_items[node_id].isVisible()
    # Every example opens framed: everything on screen.
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.nodes_rect())
    assert not overlaps(visible_cards(window))


def test_wires_attach_to_the_block_and_those_inside_it_are_hidden(big_window):
    window = big_window
    open_example(window, "deep_sigmoid")
    graph, scene = window.graph, window.scene
    layer = graph.group("layer2")
    members = set(graph.member_ids(layer))
    block = scene.layer_items[layer.id]
    left = block.mapToScene(QPointF(0, 0)).x()
    right = block.mapToScene(QPointF(block.width, 0)).x()
    crossing = inside = 0
    for (dst, _port), edge in scene.edge_items.items():
        src = edge.edge.src
        if src in members and dst in members:
            assert not edge.isVisible()
            inside += 1
        elif dst in members:
            assert edge.path.pointAtPercent(1.0).x() == pytest.approx(left)
            crossing += 1
        elif src in members:
            assert edge.path.pointAtPercent(0.0).x() == pytest.approx(right)
            crossing += 1
    assert inside == 4 and crossing == 2


def test_double_click_opens_a_layer_making_room_and_ctrl_z_closes_it(big_window):
    window = big_window
    open_example(window, "deep_sigmoid")
    graph, scene = window.graph, window.scene
    layer = graph.group("layer2")
    before = {i: n.position for i, n in graph.nodes.items()}
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                      block_point(window, layer.id))
    assert not layer.collapsed
    assert layer.id not in scene.layer_items and layer.id in scene.frame_items
    assert all(scene.node_items[i].isVisible() for i in graph.member_ids(layer))
    assert not overlaps(visible_cards(window))
    frame = scene.frame_items[layer.id].sceneBoundingRect()
    for other in scene.layer_items.values():  # the frame keeps clear of the other blocks
        assert not frame.intersects(other.sceneBoundingRect().adjusted(10, 10, -10, -10))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert layer.collapsed and layer.id in scene.layer_items
    assert same_places(graph, before)


def test_the_close_button_of_an_opened_layer_folds_it_back(big_window):
    window = big_window
    open_example(window, "deep_sigmoid")
    graph, scene = window.graph, window.scene
    layer = graph.group("layer5")
    before = {i: n.position for i, n in graph.nodes.items()}
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                      block_point(window, layer.id))
    assert not layer.collapsed
    frame = scene.frame_items[layer.id]
    window.view.centerOn(frame.close_button().center())
    button = window.view.mapFromScene(frame.close_button().center())
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, button)
    assert layer.collapsed and layer.id not in scene.frame_items
    assert same_places(graph, before)
    assert window.undo_stack.undoText() == "Close layer5"


def test_group_as_layer_and_ungroup_from_the_edit_menu(big_window):
    window = big_window
    g = Graph(seed=1)
    x = g.input("x", (2,))
    w = g.parameter("W", shape=(2, 3))
    b = g.parameter("b", shape=(3,))
    a = g.tanh(g.add(g.matmul(x, w, name="mm"), b, name="z"), name="a")
    g.mse(g.sum(a, name="s"), g.input("y", ()), name="loss")
    apply_layout(g)
    window.set_graph(g)
    ids = [g.find(n).id for n in ("W", "b", "mm", "z", "a")]
    window.scene.select_nodes(ids)
    edit_action(window, "Group as Layer").trigger()
    (group,) = g.groups.values()
    assert group.collapsed and g.member_ids(group) == ids
    block = window.scene.layer_items[group.id]
    assert block.layer is not None and (block.layer.fan_in, block.layer.fan_out) == (2, 3)
    assert not overlaps(visible_cards(window))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert not g.groups and all(window.scene.node_items[i].isVisible() for i in ids)
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert g.groups
    window.scene.clearSelection()
    window.scene.layer_items[group.id].setSelected(True)
    edit_action(window, "Ungroup").trigger()
    assert not g.groups and not window.scene.layer_items and not window.scene.frame_items
    assert all(window.scene.node_items[i].isVisible() for i in ids)
    assert not overlaps(visible_cards(window))
    # The same from the keyboard: Ctrl+Shift+G groups the selection, Ctrl+Shift+U ungroups.
    window.scene.select_nodes(ids)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_G, Qt.ControlModifier | Qt.ShiftModifier)
    (group,) = g.groups.values()
    assert window.scene.layer_items[group.id].isSelected()
    QTest.keyClick(window.view, Qt.Key_U, Qt.ControlModifier | Qt.ShiftModifier)
    assert not g.groups and not window.scene.layer_items


def test_save_and_reopen_keeps_the_groups_and_what_was_open(big_window, tmp_path):
    window = big_window
    open_example(window, "deep_sigmoid")
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                      block_point(window, window.graph.group("layer4").id))
    saved = [(g.name, g.collapsed) for g in window.graph.groups.values()]
    assert ("layer4", False) in saved
    path = tmp_path / "stack.bpg"
    assert window.save_as(path)
    window.new_file()
    assert window.open_file(path)
    assert [(g.name, g.collapsed) for g in window.graph.groups.values()] == saved
    opened = window.graph.group("layer4")
    assert opened.id in window.scene.frame_items and opened.id not in window.scene.layer_items
    assert len(window.scene.layer_items) == len(saved) - 1


def as_version_2(project) -> bytes:
    """The project's file as format version 2 wrote it: no groups in graph.json."""
    buffer = io.BytesIO()
    fileformat._write_zip(buffer, encode(project))
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    graph = json.loads(entries["graph.json"])
    del graph["groups"]
    entries["graph.json"] = json.dumps(graph).encode()
    manifest = json.loads(entries["manifest.json"])
    manifest["format_version"] = 2
    manifest["entries"] = {n: {"size": len(c), "sha256": hashlib.sha256(c).hexdigest()}
                           for n, c in entries.items() if n != "manifest.json"}
    entries["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_version_2_file_opens_with_its_layers_as_blocks(big_window, tmp_path):
    window = big_window
    path = tmp_path / "old.bpg"
    path.write_bytes(as_version_2(fileformat.load(example_folder() / "deep_relu_he.bpg")))
    assert window.open_file(path)
    names = [g.name for g in window.graph.groups.values()]
    assert names == [f"layer{k}" for k in range(1, 11)] + ["logits"]
    assert set(window.scene.layer_items) == set(window.graph.groups)


def test_a_relu_layer_with_very_negative_biases_is_marked_100_percent_dead(big_window):
    window = big_window
    g = Graph(seed=2)
    h = g.dense(g.input("x", (3,)), 3, 4, "hidden", activation="relu")
    g.mse(g.dense(h, 4, 1, "out"), g.input("y", (1,)), name="loss")
    g.set_value("hidden.b", np.full(4, -100.0))
    rows = np.random.default_rng(0).normal(size=(6, 3))
    g.set_value("x", rows)  # the sample a pass runs on
    g.set_value("y", rows[:, :1])
    apply_layout(g)
    window.set_graph(g)
    group = g.group("hidden")
    block = window.scene.layer_items[group.id]
    assert block.badge_text is None
    forward = next(a for a in window.run_menu.actions() if a.text().replace("&", "") == "Forward")
    forward.trigger()
    assert block.badge_text == "dead 100%" and block.alarmed
    assert block.figures.output is not None
    g2 = window.scene.layer_items[g.group("out").id]
    assert g2.badge_text is None  # no activation: nothing to say
    window.run_view.backward()
    assert block.figures.parameter_grad_norm == 0.0  # nothing flows back through dead units
    assert g2.figures.parameter_grad_norm > 0


def test_frame_all_never_zooms_out_past_legible_names(big_window):
    window = big_window
    g = Graph(seed=3)
    h = g.input("x", (2,))
    for k in range(60):  # ungrouped: 180 nodes, far too many to frame at a legible zoom
        h = g.tanh(g.mul(h, g.parameter(f"w{k}", value=1.0)))
    apply_layout(g)
    window.set_graph(g)
    window.view.frame_all()
    scale = window.view.zoom
    assert scale >= theme.FAR_NAME_ZOOM
    assert theme.FAR_NAME_PX * scale >= 8


def drop_dense_layer(window, scene_point: QPointF):
    from PySide6.QtCore import Qt as _Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from guihelpers import drag_event

    mime = window.palette.mime_data_for(DENSE_LAYER)
    pos = window.view.mapFromScene(scene_point)
    viewport = window.view.viewport()
    for cls in (QDragEnterEvent, QDropEvent):
        QApplication.sendEvent(viewport, drag_event(cls, pos, _Qt.CopyAction, mime))


def test_the_dense_layer_palette_entry_adds_one_block_edited_in_the_inspector(big_window):
    window = big_window
    window.new_file()
    drop_dense_layer(window, QPointF(0, 0))
    graph = window.graph
    (group,) = graph.groups.values()
    assert group.collapsed and len(graph.nodes) == 5
    block = window.scene.layer_items[group.id]
    assert block.isSelected() and block.layer.activation == "relu"
    editor = window.inspector.layer_editor
    assert editor is not None and editor.group_id == group.id
    editor.fan_out.setValue(7)  # (the spin box's own signal, as typing then Enter sends)
    assert (block.layer.fan_in, block.layer.fan_out) == (2, 7)
    assert graph.find(f"{group.name}.b").value.shape == (7,)
    editor.activation.setCurrentText("tanh")
    editor.activation.activated.emit(editor.activation.currentIndex())
    layer = window.scene.layer_items[group.id].layer
    assert layer.activation == "tanh" and graph.groups[group.id].collapsed
    editor = window.inspector.layer_editor
    QTest.qWait(0)
    editor.name_edit.setText("encoder")
    editor.name_edit.editingFinished.emit()
    assert graph.groups[group.id].name == "encoder"
    window.view.setFocus()
    for _ in range(4):  # rename, activation, fan-out, the layer itself
        QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert not graph.nodes and not graph.groups and not window.scene.layer_items


def test_wires_are_dragged_to_and_from_a_new_dense_layer_block(big_window):
    """A Dense Layer dropped from the palette has an input port and an output port on its
    block: a wire dragged from an input node ends on the layer's matmul, one dragged from the
    block ends where it is dropped; both undo."""
    from guihelpers import drag, port_pos

    window = big_window
    g = Graph()
    x = g.input("x", (2,))
    relu = g.add_node("relu", name="after")
    g.nodes[x.id].position, g.nodes[relu.id].position = (-400.0, 0.0), (500.0, 0.0)
    window.set_graph(g, path=None)
    drop_dense_layer(window, QPointF(0, 0))
    graph = window.graph
    (group,) = graph.groups.values()
    block = window.scene.layer_items[group.id]
    layer = block.layer
    assert {(m, p, out) for m, p, out in block.ports} == {
        (layer.matmul.id, "a", False), (layer.output.id, "out", True)}
    window.view.fitInView(window.scene.itemsBoundingRect())
    drag(window, port_pos(window, x.id, "out", True),
         port_pos(window, layer.matmul.id, "a", False))
    assert [(e.src, e.dst, e.dst_port) for e in graph.edges
            if e.src == x.id] == [(x.id, layer.matmul.id, "a")]
    drag(window, port_pos(window, layer.output.id, "out", True),
         port_pos(window, relu.id, "x", False))
    assert any(e.src == layer.output.id and e.dst == relu.id for e in graph.edges)
    assert block.ports[(layer.matmul.id, "a", False)].connected
    assert window.scene.node_items[relu.id].isVisible() and not \
        window.scene.node_items[layer.matmul.id].isVisible()
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert not any(e.src == x.id or e.dst == relu.id for e in graph.edges)
    assert not block.ports[(layer.matmul.id, "a", False)].connected
    # The block's port is found like a card's: by the press, the tooltip (naming the member
    # and its port) and the item under the pointer.
    port = block.ports[(layer.matmul.id, "a", False)]
    anchor = port.scene_anchor()
    assert window.scene.port_at(anchor) is port
    assert window.scene.layer_item_of(window.scene.item_at(anchor)) is block
    tip = window.view.tooltip_at(window.view.mapFromScene(anchor))
    assert tip == port.toolTip() and tip.startswith(f"<b>{layer.matmul.name}.a</b>")


def test_a_problem_inside_a_folded_layer_shows_on_its_block(big_window):
    """Fan-in 8 on deep_sigmoid's layer3 (its input is 16 wide): the block carries the error
    badge naming its matmul, and Forward, which stops there, marks the block."""
    from PySide6.QtWidgets import QToolBar

    window = big_window
    open_example(window, "deep_sigmoid")
    group = window.graph.group("layer3")
    block = window.scene.layer_items[group.id]
    window.scene.clearSelection()
    block.setSelected(True)
    assert block.problem is None
    window.inspector.layer_editor.fan_in.setValue(8)
    window.scene.validate_now()
    block = window.scene.layer_items[group.id]
    assert block.problem is not None and "layer3.matmul" in block.problem
    badge = next(c for c in block.childItems() if c.toolTip() == block.problem)
    assert badge.isVisible()
    toolbar = window.findChild(QToolBar)
    forward = next(a for a in toolbar.actions() if a.text().replace("&", "") == "Forward")
    forward.trigger()
    assert "layer3.matmul" in window.statusBar().currentMessage()
    assert block.highlighted
    window.undo_stack.undo()
    window.scene.validate_now()
    assert window.scene.layer_items[group.id].problem is None
