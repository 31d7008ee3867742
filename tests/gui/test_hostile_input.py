"""No traceback from a keystroke: whatever is typed into the inspector or pasted onto the canvas,
the edit is either made or refused with a message, the graph and the undo stack stay as they
were, and no exception reaches sys.excepthook (pytest-qt fails a test in which one does)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from bpstudio.core.graph import Graph
from bpstudio.gui import clipboard
from bpstudio.gui.jsontext import MAX_NESTING, nesting_depth

from guihelpers import assert_scene_matches_graph, drag_event, key, snapshot


def start(window) -> dict[str, str]:
    """A parameter drawn uniformly, a softmax, a sum and a constant, as if opened from a file."""
    g = Graph(seed=0)
    ids = {
        "w": g.add_node("parameter", name="w", params={"shape": (2,), "init": "uniform"},
                        position=(0, 0)).id,
        "s": g.add_node("softmax", name="s", position=(300, 0)).id,
        "total": g.add_node("sum", name="total", position=(300, 200)).id,
        "c": g.add_node("constant", name="c", value=[1.0, 2.0], position=(0, 200)).id,
    }
    window.set_graph(g, path=None)
    return ids


def paste_into(editor, text: str) -> None:
    """Replace the field's text with ``text`` as a person pasting it would, then press Enter."""
    editor.setFocus()
    editor.selectAll()
    if len(text) < 200:
        QTest.keyClicks(editor, text)
    else:  # typing thousands of characters one by one is slow: paste them
        QGuiApplication.clipboard().setText(text)
        QTest.keyClick(editor, Qt.Key_V, Qt.ControlModifier)
    assert editor.text() == text
    QTest.keyClick(editor, Qt.Key_Return)


def assert_refused(window, before, fragment: str) -> None:
    label = window.inspector.error_label
    assert not label.isHidden() and fragment in label.text(), label.text()
    assert fragment in window.statusBar().currentMessage()
    assert len(label.text()) < 400
    assert snapshot(window.graph) == before
    assert window.undo_stack.count() == 0 and not window.is_modified
    assert_scene_matches_graph(window)


@pytest.mark.parametrize("node, field, text, fragment", [
    ("w", "scale", "1e308", "parameter 'scale' must be between -1e+100 and 1e+100"),
    ("w", "scale", "9" * 400, "parameter 'scale' must be between -1e+100 and 1e+100"),
    ("w", "scale", "-inf", "parameter 'scale' must be a finite number"),
    ("w", "shape", "9" * 400, "every dimension must be at most 2147483647, not a whole number "
                              "of 400 digits"),
    ("w", "shape", ", ".join(["1"] * 40), "a shape has at most 32 dimensions, not 40"),
    ("w", "shape", "9" * 5000, "5,000 characters is too long"),
    ("s", "axis", "inf", "parameter 'axis' must be a whole number, not 'inf'"),
    ("s", "axis", "9" * 400, "parameter 'axis' must be <= 31, not a whole number of 400 digits"),
    ("s", "axis", "-" + "9" * 400, "parameter 'axis' must be >= -32"),
    ("total", "axis", "1" + "0" * 30, "from -32 to 31, not a whole number of 31 digits"),
])
def test_typing_an_out_of_range_parameter_is_refused_with_its_message(window, node, field, text,
                                                                       fragment):
    ids = start(window)
    window.scene.select_nodes([ids[node]])
    before = snapshot(window.graph)
    paste_into(window.inspector.editors[field], text)
    assert_refused(window, before, fragment)


@pytest.mark.parametrize("text, fragment", [
    ("[" * 5000 + "1" + "]" * 5000, "nested more than 32 levels deep"),
    ("[" * 33 + "1" + "]" * 33, "nested more than 32 levels deep"),
    ("[" * 30_000, "nested more than 32 levels deep"),  # (a line edit holds 32,767)
    ("9" * 400, "the value must be finite numbers"),
    ("[1, 1e400]", "the value must be finite numbers"),
    ("[1, NaN]", "the value must be finite numbers"),
    ('"1.5"', "the value must be numbers written as JSON"),
    ('["1", 2]', "the value must be numbers written as JSON"),
    ('{"a": 1}', "the value must be numbers written as JSON"),
    ("[[1, 2], [3]]", "the value must be numbers written as JSON"),
])
def test_typing_a_bad_value_is_refused_with_its_message(window, text, fragment):
    ids = start(window)
    window.scene.select_nodes([ids["c"]])
    before = snapshot(window.graph)
    paste_into(window.inspector.value_edit, text)
    assert_refused(window, before, fragment)
    assert "constant 'c'" in window.inspector.error_label.text()


def test_a_value_nested_as_deep_as_an_array_may_be_is_taken(window):
    ids = start(window)
    window.scene.select_nodes([ids["c"]])
    paste_into(window.inspector.value_edit, "[" * 32 + "7" + "]" * 32)
    assert window.graph.nodes[ids["c"]].value.shape == (1,) * 32
    assert window.inspector.error_label.isHidden()


class Unheard(Exception):
    """A kind of error the GUI has never heard of."""


@pytest.mark.parametrize("error", [Unheard("a new failure"), RecursionError("too deep"),
                                   OverflowError("far too big"), ZeroDivisionError("by zero"),
                                   KeyError("k"), AttributeError("gone")])
def test_any_error_from_the_core_during_an_edit_becomes_the_refusal_message(window, monkeypatch,
                                                                             error):
    ids = start(window)
    window.scene.select_nodes([ids["s"]])
    before = snapshot(window.graph)

    def fail(*args, **kwargs):
        raise error

    # Once while the edit is checked, once while it is applied: both are the one apply path.
    # (A context of its own: undoing the test's monkeypatch would also undo the fixtures'.)
    with monkeypatch.context() as patch:
        patch.setattr(Graph, "param_problem", fail)
        paste_into(window.inspector.editors["axis"], "0")
        assert_refused(window, before, "Edit refused: ")
        assert f"({type(error).__name__}: " in window.inspector.error_label.text()
    with monkeypatch.context() as patch:
        patch.setattr(Graph, "set_param", fail)
        paste_into(window.inspector.editors["axis"], "0")
        assert_refused(window, before, "Set axis of s refused")
        assert type(error).__name__ in window.statusBar().currentMessage()
    paste_into(window.inspector.editors["axis"], "0")  # and the next edit works
    assert window.graph.nodes[ids["s"]].params["axis"] == 0
    assert window.inspector.error_label.isHidden()


# ------------------------------------------------------------------------------ pasting
def node(**fields) -> dict:
    return {"id": "#1", "op": "relu", "name": "r", "params": {}, "value": None,
            "position": [0.0, 0.0], **fields}


def payload(*nodes, edges=()) -> str:
    return json.dumps({"format": clipboard.FORMAT, "nodes": list(nodes), "edges": list(edges)})


BAD_PASTES = [
    ("[" * 100_000, "nested more than 64 levels deep"),
    ('{"format": "bpstudio-nodes", "nodes": ' + "[" * 5000 + "]" * 5000 + ', "edges": []}',
     "nested more than 64 levels deep"),
    (payload(node(params=None, op=["relu"])), "a copied node has no id, no name or an unknown op"),
    (payload(node(op={"x": 1})), "a copied node has no id, no name or an unknown op"),
    (payload(node(position=[10**400, 0])), "copied node 'r' has a malformed position"),
    (payload(node(position=[1e300, 0])), "copied node 'r' has a malformed position"),
    (payload(node(position=[True, 0])), "copied node 'r' has a malformed position"),
    ('{"format": "bpstudio-nodes", "nodes": [{"id": "#1", "op": "relu", "name": "r", '
     '"position": [NaN, 0]}], "edges": []}', "copied node 'r' has a malformed position"),
    (payload(node(op="constant", value=[10**400])), "copied node 'r' has a value that is not an "
                                                    "array of numbers"),
    (payload(node(op="constant", value=["1.5"])), "copied node 'r' has a value that is not an "
                                                  "array of numbers"),
    (payload(node(op="constant", value=[[1, 2], [3]])), "copied node 'r' has a value that is "
                                                        "not an array of numbers"),
    (payload(node(op="softmax", params={"axis": 10**400})), "parameter 'axis' must be <= 31"),
    (payload(node(op="softmax", params={"axis": "9" * 400})), "parameter 'axis' must be <= 31"),
    (payload(node(op="parameter", params={"scale": 1e308, "init": "uniform", "shape": [2]})),
     "parameter 'scale' must be between -1e+100 and 1e+100"),
    (payload(node(op="parameter", params={"shape": [[[[[[[[1]]]]]]]]})), "parameter 'shape'"),
    (payload(node(op="sum", params={"axis": float("inf")})), "parameter 'axis'"),
    (payload(node(name=["r"])), "a copied node has no id, no name or an unknown op"),
    (payload(node(), edges=[{"src": "#1", "dst": ["#1"], "src_port": "out", "dst_port": "x"}]),
     "a copied wire is malformed"),
]


@pytest.mark.parametrize("text, fragment", BAD_PASTES, ids=range(len(BAD_PASTES)))
def test_pasting_hostile_clipboard_content_is_refused_with_a_message(window, text, fragment):
    ids = start(window)
    before = snapshot(window.graph)
    data = QMimeData()
    data.setData(clipboard.MIME_TYPE, text.encode("utf-8"))
    QGuiApplication.clipboard().setMimeData(data)
    key(window, Qt.Key_V, Qt.ControlModifier)
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot paste: ") and fragment in message, message
    assert len(message) < 400
    assert snapshot(window.graph) == before and ids
    assert window.undo_stack.count() == 0 and not window.is_modified
    assert_scene_matches_graph(window)


def test_an_unheard_of_error_while_pasting_is_a_refusal_too(window, monkeypatch):
    start(window)
    before = snapshot(window.graph)
    text = payload(node(), node(id="#2", name="q"),
                   edges=[{"src": "#1", "dst": "#2", "src_port": "out", "dst_port": "x"}])

    def fail(*args, **kwargs):
        raise Unheard("the scratch graph broke")

    data = QMimeData()
    data.setData(clipboard.MIME_TYPE, text.encode())
    for where in ("add_node", "connect_all"):  # (paste wires its scratch graph in one go)
        with monkeypatch.context() as patch:
            patch.setattr(Graph, where, fail)
            QGuiApplication.clipboard().setMimeData(data)
            key(window, Qt.Key_V, Qt.ControlModifier)
        message = window.statusBar().currentMessage()
        assert message.startswith("Cannot paste: ") and "the scratch graph broke" in message
        assert "Unheard" in message
        assert snapshot(window.graph) == before and window.undo_stack.count() == 0
    data = QMimeData()
    data.setData(clipboard.MIME_TYPE, text.encode())
    QGuiApplication.clipboard().setMimeData(data)
    key(window, Qt.Key_V, Qt.ControlModifier)  # the same paste works once nothing fails
    assert len(window.graph.nodes) == len(before["nodes"]) + 2
    assert_scene_matches_graph(window)


def test_nesting_depth_counts_brackets_outside_strings_only():
    assert nesting_depth("") == 0 and nesting_depth("1") == 0
    assert nesting_depth("[[1], {\"a\": [2]}]") == 3
    assert nesting_depth('["[[[[", "\\"[[[", "\\\\"]') == 1
    assert nesting_depth('{"k\\\\": "]]]]"}') == 1
    deep = "[" * (MAX_NESTING + 1)
    assert nesting_depth(deep) > MAX_NESTING
    assert nesting_depth('"' + '\\"[' * 100_000) == 0  # all inside one (unfinished) string


def test_pasting_a_copy_still_works(window):
    ids = start(window)
    window.scene.select_nodes([ids["w"], ids["c"]])
    key(window, Qt.Key_C, Qt.ControlModifier)
    key(window, Qt.Key_V, Qt.ControlModifier)
    assert len(window.graph.nodes) == 6 and window.undo_stack.undoText() == "Paste 2 nodes"
    pasted = [n for n in window.graph.nodes.values() if n.name == "w_1"]
    assert pasted and np.array_equal(pasted[0].value, window.graph.nodes[ids["w"]].value)
    window.add_node("relu", QPointF(0, 400))


@pytest.mark.parametrize("op", ["teleport", "x" * 10_000, "\x00"])
def test_dropping_drag_data_that_names_no_op_is_refused(window, op):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    start(window)
    before = snapshot(window.graph)
    mime = QMimeData()
    mime.setData("application/x-bpstudio-op", op.encode())
    viewport, pos = window.view.viewport(), QPoint(300, 300)
    for cls in (QDragEnterEvent, QDragMoveEvent):
        QApplication.sendEvent(viewport, drag_event(cls, pos, Qt.CopyAction, mime))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), Qt.CopyAction, mime,
                                                Qt.LeftButton, Qt.NoModifier))
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot add a node: unknown op") and len(message) < 400
    assert snapshot(window.graph) == before and window.undo_stack.count() == 0
