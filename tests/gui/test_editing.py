"""Edit actions through their shortcuts, exact undo/redo, the inspector, the palette, the lock,
and the title's modified marker."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QMessageBox

import bpstudio
from bpstudio.core.ops import REGISTRY
from bpstudio.core.ops.base import ARITHMETIC, Op, Param, Port
from bpstudio.gui import commands
from bpstudio.gui.inspector import InspectorWidget
from bpstudio.gui.palette import DENSE_LAYER, PaletteWidget

from guihelpers import (assert_scene_matches_graph, build_neuron, drag, key, port_pos,
                        snapshot, title_pos)


def undo_redo_restores(window, action) -> None:
    """Run ``action``; undo (Ctrl+Z) must give back the graph exactly, redo (Ctrl+Shift+Z) the
    edited graph exactly; the scene agrees with the graph at each point."""
    before = snapshot(window.graph)
    action()
    after = snapshot(window.graph)
    assert after != before
    assert_scene_matches_graph(window)
    key(window, Qt.Key_Z, Qt.ControlModifier)
    assert snapshot(window.graph) == before
    assert_scene_matches_graph(window)
    key(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert snapshot(window.graph) == after
    assert_scene_matches_graph(window)


def test_undo_redo_of_add(window):
    build_neuron(window)
    undo_redo_restores(window, lambda: window.add_node("softmax", QPointF(100, 400)))
    assert window.actions.undo.text() == "Undo Add Softmax"


def test_undo_redo_of_delete_with_wires(window):
    ids = build_neuron(window)

    def delete():
        window.scene.select_nodes([ids["z"], ids["a"]])
        key(window, Qt.Key_Delete)

    undo_redo_restores(window, delete)
    assert ids["z"] not in window.graph.nodes
    assert window.actions.undo.text() == "Undo Delete 2 nodes"


def test_undo_redo_of_connect(window):
    ids = build_neuron(window)
    new = window.add_node("square", QPointF(300, 500))
    undo_redo_restores(window, lambda: drag(window, port_pos(window, ids["x"], "out", True),
                                            port_pos(window, new, "x", False)))


def test_undo_redo_of_move(window):
    ids = build_neuron(window)
    start = title_pos(window, ids["loss"])
    undo_redo_restores(window, lambda: drag(window, start, start + QPoint(-30, 90)))


def test_undo_redo_of_paste(window):
    ids = build_neuron(window)
    window.scene.select_nodes([ids["z"], ids["a"], ids["b"]])
    key(window, Qt.Key_C, Qt.ControlModifier)
    undo_redo_restores(window, lambda: key(window, Qt.Key_V, Qt.ControlModifier))


def test_undo_redo_of_parameter_edit_in_the_inspector(window):
    ids = build_neuron(window)
    window.scene.select_nodes([ids["w"]])
    editor = window.inspector.editors["shape"]

    def edit():
        editor.setFocus()
        editor.selectAll()
        QTest.keyClicks(editor, "3, 2")
        QTest.keyClick(editor, Qt.Key_Return)
        window.view.setFocus()

    undo_redo_restores(window, edit)
    assert window.graph.nodes[ids["w"]].value.shape == (3, 2)


def test_a_parameter_shape_too_large_to_draw_is_refused_in_the_inspector(window):
    ids = build_neuron(window)
    window.scene.select_nodes([ids["w"]])
    editor = window.inspector.editors["shape"]
    editor.setFocus()
    editor.selectAll()
    QTest.keyClicks(editor, "100000, 100000")
    QTest.keyClick(editor, Qt.Key_Return)
    assert "parameter 'w'" in window.inspector.error_label.text()
    assert "at most" in window.inspector.error_label.text()
    w = window.graph.nodes[ids["w"]]
    assert w.params["shape"] == () and w.value.shape == ()
    assert window.undo_stack.count() == 0


def test_undo_redo_of_rename_and_auto_layout(window):
    ids = build_neuron(window)
    window.graph.nodes  # noqa: B018
    undo_redo_restores(window, lambda: window.scene.push(
        __import__("bpstudio.gui.commands", fromlist=["RenameCommand"]).RenameCommand(
            window.graph, ids["a"], "act")))
    undo_redo_restores(window, lambda: key(window, Qt.Key_L, Qt.ControlModifier))
    assert window.undo_stack.undoText() == "Auto Layout"
    from bpstudio.core.layout import layered_positions

    assert {i: n.position for i, n in window.graph.nodes.items()} == layered_positions(window.graph)


def test_copy_paste_keeps_inner_wires_and_makes_names_unique(window):
    ids = build_neuron(window)
    g = window.graph
    window.scene.select_nodes([ids["z0"], ids["z"], ids["a"]])
    key(window, Qt.Key_C, Qt.ControlModifier)
    key(window, Qt.Key_V, Qt.ControlModifier)
    new_ids = window.scene.selected_node_ids()
    assert len(new_ids) == 3 and not set(new_ids) & set(ids.values())
    names = {g.nodes[i].name for i in new_ids}
    assert len(names) == 3 and not names & {"z0", "z", "a"}
    inner = [e for e in g.edges if e.src in new_ids and e.dst in new_ids]
    assert len(inner) == 2  # z0 -> z and z -> a; wires from outside the copy are not pasted
    assert all(g.input_edge(i, p) is None or g.input_edge(i, p).src in new_ids
               for i in new_ids for p in g.nodes[i].spec.input_names())
    for new in new_ids:
        original = g.find(g.nodes[new].name.rsplit("_", 1)[0])
        assert g.nodes[new].position == (original.position[0] + 40, original.position[1] + 40)
    key(window, Qt.Key_V, Qt.ControlModifier)  # a second paste lands further along
    assert len(g.nodes) == len(ids) + 6
    assert window.undo_stack.undoText() == "Paste 3 nodes"
    assert_scene_matches_graph(window)


def test_cut_and_duplicate(window):
    ids = build_neuron(window)
    g = window.graph
    window.scene.select_nodes([ids["w"]])
    key(window, Qt.Key_D, Qt.ControlModifier)
    (dup,) = window.scene.selected_node_ids()
    assert g.nodes[dup].name == "w_1"
    np.testing.assert_array_equal(g.nodes[dup].value, g.nodes[ids["w"]].value)
    assert window.undo_stack.undoText() == "Duplicate 1 node"
    window.scene.select_nodes([ids["t"]])
    key(window, Qt.Key_X, Qt.ControlModifier)
    assert g.find("t") is None
    key(window, Qt.Key_V, Qt.ControlModifier)
    assert g.find("t") is not None  # the name is free again, so the paste keeps it
    assert_scene_matches_graph(window)


def test_pasting_foreign_or_malformed_clipboard_data_is_refused_with_a_message(window):
    build_neuron(window)
    before = snapshot(window.graph)
    from PySide6.QtCore import QMimeData

    for payload in (b"not json", b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1"}], "edges": []}',
                    b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "relu", "name": "r",'
                    b' "params": {}}], "edges": [{"src": "#1", "dst": "#9", "src_port": "out",'
                    b' "dst_port": "x"}]}',
                    # an empty value, a value on a node that holds none, a cycle, a doubled input
                    b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "constant",'
                    b' "name": "c", "value": []}], "edges": []}',
                    b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "relu",'
                    b' "name": "r", "value": 1.0}], "edges": []}',
                    b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "relu", "name": "r"},'
                    b' {"id": "#2", "op": "relu", "name": "s"}], "edges": ['
                    b'{"src": "#1", "dst": "#2", "src_port": "out", "dst_port": "x"},'
                    b' {"src": "#2", "dst": "#1", "src_port": "out", "dst_port": "x"}]}',
                    b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "relu", "name": "r"},'
                    b' {"id": "#2", "op": "relu", "name": "s"}, {"id": "#3", "op": "relu",'
                    b' "name": "t"}], "edges": ['
                    b'{"src": "#1", "dst": "#3", "src_port": "out", "dst_port": "x"},'
                    b' {"src": "#2", "dst": "#3", "src_port": "out", "dst_port": "x"}]}'):
        data = QMimeData()
        data.setData("application/x-bpstudio-nodes", payload)
        QGuiApplication.clipboard().setMimeData(data)
        key(window, Qt.Key_V, Qt.ControlModifier)
        assert "Cannot paste" in window.statusBar().currentMessage()
        assert snapshot(window.graph) == before
        assert window.undo_stack.count() == 0 and not window.is_modified


def test_pasted_names_made_unique_stay_within_the_limit_and_the_file_reopens(window, tmp_path):
    """Paste lengthens a taken name with a suffix; a name already at the 200-character limit
    gives up characters instead of growing past it (it used to, and the saved file would not
    open again)."""
    from bpstudio.core import rules

    g = window.graph
    long = "w" * rules.MAX_NAME_LENGTH
    node = g.add_node("parameter", name=long, params={"shape": (2,)}, position=(0.0, 0.0))
    g.add_node("relu", name=long[:-2] + "_1", position=(0.0, 100.0))  # taken: the next suffix
    window.scene.select_nodes([node.id])
    key(window, Qt.Key_C, Qt.ControlModifier)
    for _ in range(3):
        key(window, Qt.Key_V, Qt.ControlModifier)
    names = [n.name for n in g.nodes.values()]
    assert len(names) == 5 and len(set(names)) == 5
    assert all(rules.name_problem(name) is None for name in names), names
    assert window.save_as(tmp_path / "long.bpg")
    assert bpstudio.load(tmp_path / "long.bpg").graph.nodes.keys() == g.nodes.keys()


def test_a_paste_at_a_position_beyond_the_canvas_is_refused(window, tmp_path):
    from PySide6.QtCore import QMimeData

    build_neuron(window)
    before = snapshot(window.graph)
    for position in (b"[1e308, 0]", b"[1e400, 0]", b"[1" + b"0" * 400 + b", 0]"):
        data = QMimeData()
        data.setData("application/x-bpstudio-nodes",
                     b'{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "relu", '
                     b'"name": "r", "position": ' + position + b'}], "edges": []}')
        QGuiApplication.clipboard().setMimeData(data)
        key(window, Qt.Key_V, Qt.ControlModifier)  # no canvas reaches that far
        assert "Cannot paste" in window.statusBar().currentMessage()
        assert "position" in window.statusBar().currentMessage()
    assert snapshot(window.graph) == before
    assert window.save_as(tmp_path / "far.bpg")


def test_select_all_and_delete(window):
    build_neuron(window)
    key(window, Qt.Key_A, Qt.ControlModifier)
    assert len(window.scene.selected_node_ids()) == len(window.graph.nodes)
    key(window, Qt.Key_Delete)
    assert not window.graph.nodes and not window.graph.edges
    assert_scene_matches_graph(window)
    key(window, Qt.Key_Z, Qt.ControlModifier)
    assert len(window.graph.nodes) == 8 and len(window.graph.edges) == 7


def test_inspector_shows_the_selected_node_and_generated_editors(window):
    ids = build_neuron(window)
    window.scene.select_nodes([ids["w"]])
    inspector = window.inspector
    assert inspector.name_edit.text() == "w"
    assert isinstance(inspector.editors["shape"], QLineEdit)
    assert isinstance(inspector.editors["init"], QComboBox)
    assert isinstance(inspector.editors["scale"], QLineEdit)
    assert inspector.shape_label.text() == "()"
    window.scene.select_nodes([ids["a"]])
    assert inspector.name_edit.text() == "a" and inspector.editors == {}
    assert inspector.shape_label.text() == "(N,)" or inspector.shape_label.text().startswith("(")


@pytest.mark.parametrize("field, text, fragment", [
    ("alpha", "abc", "must be a number"),
    ("alpha", "nan", "finite"),
])
def test_a_nonsense_parameter_value_is_refused_with_a_message(window, field, text, fragment):
    node = window.add_node("leaky_relu", QPointF(0, 0))
    window.scene.select_nodes([node])
    editor = window.inspector.editors[field]
    before = snapshot(window.graph)
    editor.setFocus()
    editor.selectAll()
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key_Return)
    assert snapshot(window.graph) == before
    assert fragment in window.inspector.error_label.text()
    assert "leaky_relu" in window.inspector.error_label.text()
    assert not window.inspector.error_label.isHidden()
    assert fragment in window.statusBar().currentMessage()
    editor.selectAll()
    QTest.keyClicks(editor, "0.2")
    QTest.keyClick(editor, Qt.Key_Return)
    assert window.graph.nodes[node].params["alpha"] == 0.2
    assert window.inspector.error_label.isHidden()


def test_shape_axis_bool_and_value_editors(window):
    g = window.graph
    mean = window.add_node("mean", QPointF(0, 0))
    window.scene.select_nodes([mean])
    axis = window.inspector.editors["axis"]
    axis.setFocus()
    axis.selectAll()
    QTest.keyClicks(axis, "1.5")
    QTest.keyClick(axis, Qt.Key_Return)
    assert g.nodes[mean].params["axis"] is None and "whole number" in window.inspector.error_label.text()
    axis.selectAll()
    QTest.keyClicks(axis, "1")
    QTest.keyClick(axis, Qt.Key_Return)
    assert g.nodes[mean].params["axis"] == 1
    keepdims = window.inspector.editors["keepdims"]
    assert isinstance(keepdims, QCheckBox)
    keepdims.click()
    assert g.nodes[mean].params["keepdims"] is True

    const = window.add_node("constant", QPointF(0, 200))
    window.scene.select_nodes([const])
    value = window.inspector.value_edit
    value.setFocus()
    value.selectAll()
    QTest.keyClicks(value, "[1, 2, oops]")
    QTest.keyClick(value, Qt.Key_Return)
    assert "JSON" in window.inspector.error_label.text()
    value.selectAll()
    QTest.keyClicks(value, "[]")
    QTest.keyClick(value, Qt.Key_Return)
    assert "at least one number" in window.inspector.error_label.text()
    assert g.nodes[const].value.shape == () and window.undo_stack.index() == 4
    value.selectAll()
    QTest.keyClicks(value, "[[1, 2], [3, 4]]")
    QTest.keyClick(value, Qt.Key_Return)
    np.testing.assert_array_equal(g.nodes[const].value, [[1, 2], [3, 4]])
    window.view.setFocus()
    key(window, Qt.Key_Z, Qt.ControlModifier)
    np.testing.assert_array_equal(g.nodes[const].value, 0.0)
    assert window.inspector.value_edit.text() == "0.0"


def test_invalid_nodes_show_an_error_badge_with_the_message(window, qtbot):
    ids = build_neuron(window)
    item = window.scene.node_items[ids["a"]]
    assert item.badge is None
    window.scene.select_nodes([ids["z"]])
    key(window, Qt.Key_Delete)
    qtbot.waitUntil(lambda: item.badge is not None)
    assert "relu 'a': input 'x' is not connected" == item.badge.toolTip()
    window.scene.select_nodes([ids["a"]])
    assert "not connected" in window.inspector.problem_label.text()
    key(window, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: item.badge is None)


def test_shape_mismatch_is_shown_on_the_node(window, qtbot):
    g = window.graph
    from PySide6.QtCore import QPointF as P

    x = window.add_node("input", P(0, 0))
    w = window.add_node("parameter", P(0, 200))
    mm = window.add_node("matmul", P(300, 0))
    from bpstudio.gui import commands

    window.scene.push(commands.SetParamCommand(g, x, "shape", (3,)))
    window.scene.push(commands.SetParamCommand(g, w, "shape", (4, 2)))
    drag(window, port_pos(window, x, "out", True), port_pos(window, mm, "a", False))
    drag(window, port_pos(window, w, "out", True), port_pos(window, mm, "b", False))
    item = window.scene.node_items[mm]
    qtbot.waitUntil(lambda: item.badge is not None)
    assert "inner dimensions" in item.badge.toolTip()


def test_palette_lists_every_registry_op_by_group_and_filters(window):
    palette = window.palette
    assert palette.visible_ops() == list(REGISTRY)
    for name in REGISTRY:
        tip = palette.op_item(name).toolTip(0)
        assert REGISTRY[name].doc in tip and REGISTRY[name].derivative in tip
    groups = [palette.tree.topLevelItem(k).text(0) for k in range(palette.tree.topLevelItemCount())]
    assert groups == ["Sources", "Arithmetic", "Activations", "Losses", "Layers"]
    assert palette.visible_entries()[-1] == DENSE_LAYER  # the layer entry, beside the ops
    QTest.keyClicks(palette.filter_edit, "sigm")
    assert palette.visible_ops() == ["sigmoid"]
    palette.filter_edit.clear()
    assert len(palette.visible_ops()) == len(REGISTRY)


def test_a_new_registry_op_appears_in_palette_and_inspector_without_gui_code(qtbot, window):
    class Clip(Op):
        name = "clip_test"
        title = "Clip (test)"
        group = ARITHMETIC
        doc = "Limits values to a range."
        derivative = "d clip(x)/dx = 1 inside the range, else 0"
        inputs = (Port("x"),)
        params = (Param("low", "float", -1.0, "lower bound"), Param("mode", "choice", "hard",
                                                                      "how", choices=("hard", "soft")),
                  Param("strict", "bool", False, "strict"))

    REGISTRY[Clip.name] = Clip
    try:
        palette = PaletteWidget()
        qtbot.addWidget(palette)
        assert "clip_test" in palette.visible_ops()
        node = window.add_node("clip_test", QPointF(0, 0))
        inspector = InspectorWidget(window.scene)
        qtbot.addWidget(inspector)
        inspector.show_node(node)
        assert set(inspector.editors) == {"low", "mode", "strict"}
        assert isinstance(inspector.editors["mode"], QComboBox)
        assert isinstance(inspector.editors["strict"], QCheckBox)
        window.scene.select_nodes([])
        window.undo_stack.undo()
    finally:
        del REGISTRY[Clip.name]


def test_editing_lock_refuses_edits_but_allows_looking(window):
    ids = build_neuron(window)
    before = snapshot(window.graph)
    window.set_editing_locked(True)
    assert not window.actions.delete.isEnabled() and not window.actions.undo.isEnabled()
    window.scene.select_nodes([ids["a"]])
    key(window, Qt.Key_Delete)
    start = title_pos(window, ids["a"])
    drag(window, start, start + QPoint(50, 50))
    drag(window, port_pos(window, ids["x"], "out", True), port_pos(window, ids["a"], "x", False))
    assert "locked" in window.statusBar().currentMessage()
    assert snapshot(window.graph) == before
    assert not window.inspector.name_edit.isEnabled()
    assert window.scene.selected_node_ids() == [ids["a"]]
    window.set_editing_locked(False)
    key(window, Qt.Key_Delete)
    assert ids["a"] not in window.graph.nodes


def test_title_shows_the_modified_marker(window):
    assert window.windowTitle() == "Untitled — Backprop Studio"
    window.add_node("relu", QPointF(0, 0))
    assert window.windowTitle() == "Untitled* — Backprop Studio"
    key(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.windowTitle() == "Untitled — Backprop Studio"


def test_new_with_unsaved_changes_asks_and_cancel_keeps_the_graph(window, dialogs):
    window.add_node("relu", QPointF(0, 0))
    dialogs.answer = QMessageBox.Cancel
    key(window, Qt.Key_N, Qt.ControlModifier)
    assert len(dialogs.questions) == 1 and len(window.graph.nodes) == 1
    dialogs.answer = QMessageBox.Discard
    key(window, Qt.Key_N, Qt.ControlModifier)
    assert len(dialogs.questions) == 2 and not window.graph.nodes
    key(window, Qt.Key_N, Qt.ControlModifier)  # nothing to lose: no question
    assert len(dialogs.questions) == 2


def test_closing_with_unsaved_changes_can_be_cancelled(window, dialogs):
    window.add_node("relu", QPointF(0, 0))
    dialogs.answer = QMessageBox.Cancel
    assert not window.close()
    assert window.isVisible()
    dialogs.answer = QMessageBox.Discard
    assert window.close()


def test_double_clicking_a_palette_entry_adds_that_node_in_view(window, qtbot):
    tree = window.palette.tree
    item = window.palette.op_item("tanh")
    rect = tree.visualItemRect(item)
    # A real double-click: the first click, then the second one that Qt reports as double.
    QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    QTest.mouseDClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    (node,) = window.graph.nodes.values()
    assert node.op == "tanh"
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.node_items[node.id].sceneBoundingRect())


def test_an_edit_the_graph_refuses_never_reaches_the_undo_stack(window):
    """Whatever builds a command, a refused change is reported and leaves graph and stack as
    they were; a macro whose later step is refused takes back its earlier steps."""
    ids = build_neuron(window)
    before = snapshot(window.graph)
    closing = commands.ConnectCommand(window.graph, ids["loss"], ids["z0"], "b")  # a cycle
    assert not window.scene.push(closing)
    assert "would close a cycle" in window.statusBar().currentMessage()

    macro = commands.MacroCommand("Rename and close a cycle")
    commands.RenameCommand(window.graph, ids["a"], "activation", parent=macro)
    commands.ConnectCommand(window.graph, ids["loss"], ids["z0"], "b", parent=macro)
    assert not window.scene.push(macro)
    assert "Rename and close a cycle refused" in window.statusBar().currentMessage()

    assert snapshot(window.graph) == before
    assert window.undo_stack.count() == 0 and not window.is_modified
    assert_scene_matches_graph(window)
