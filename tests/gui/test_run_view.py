"""Forward and Backward in the window: the real toolbar buttons, menu entries and shortcuts,
and what the canvas, the tooltips, the inspector and the status bar then show."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QTableWidget, QToolButton

from bpstudio import Engine, load
from bpstudio.gui.canvas import theme
from bpstudio.gui.main_window import examples_dir

from guihelpers import key, shown_tooltip


def toolbar_button(window, text: str) -> QToolButton:
    for button in window.toolbar.findChildren(QToolButton):
        if button.text().replace("&", "") == text:
            return button
    raise AssertionError(f"no toolbar button '{text}'")


def item(window, name: str):
    return window.scene.node_items[window.graph.node(name).id]


def status(window) -> str:
    return window.statusBar().currentMessage()


@pytest.fixture
def neuron(window):
    assert window.open_file(examples_dir() / "single_neuron.bpg")
    return window


def test_forward_then_backward_show_the_lesson_numbers(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F5)
    assert item(window, "loss").value_text == "= 0.01"
    assert item(window, "z").value_text == "= 1.1" and item(window, "z").grad_text is None
    assert "loss = 0.01" in status(window)

    qtbot.mouseClick(toolbar_button(window, "Backward"), Qt.LeftButton)
    assert item(window, "w").grad_text == "∇ 0.4"
    assert item(window, "b").grad_text == "∇ 0.2"
    assert item(window, "loss").grad_text == "∇ 1"
    project = load(examples_dir() / "single_neuron.bpg")
    engine = Engine(project.graph)
    engine.forward(project.sample)
    engine.backward()
    for name in ("wx", "z", "a", "w", "b"):
        shown = item(window, name).grad_text.removeprefix("∇ ")
        assert float(shown) == pytest.approx(np.asarray(engine.grad(name)).item(), rel=1e-3)
    tip = shown_tooltip(window, window.graph.node("w").id)
    assert "d loss / d w" in tip and "0.4" in tip and "local derivative" in tip

    key(window, Qt.Key_F5, Qt.ShiftModifier)  # Clear Values
    assert item(window, "w").grad_text is None and item(window, "loss").value_text is None


def test_the_run_menu_holds_the_passes(neuron):
    texts = [a.text().replace("&", "") for a in neuron.run_menu.actions() if a.text()]
    assert texts[:3] == ["Forward", "Backward", "Clear Values"]
    neuron.run_menu.actions()[0].trigger()
    assert item(neuron, "a").value_text == "= 1.1"


def test_the_inspector_shows_full_values_and_gradients(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F6)  # Backward runs forward first
    window.scene.select_nodes([window.graph.node("w").id])
    results = window.inspector.findChild(QLabel, "results")
    assert "Gradient" in results.text() and "0.4" in results.text()


def test_a_weight_edit_reruns_and_a_blocked_relu_stops_the_gradient(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F6)
    window.scene.select_nodes([window.graph.node("w").id])
    field = window.inspector.findChild(QLineEdit, "value")
    field.setText("-0.5")
    field.editingFinished.emit()
    qtbot.waitUntil(lambda: item(window, "z").value_text == "= -0.9")
    assert item(window, "a").value_text == "= 0"
    assert item(window, "w").grad_text == "∇ 0" and item(window, "b").grad_text == "∇ 0"
    # (the ReLU hands back 0 times a negative gradient: a zero, shown without its sign)
    assert item(window, "z").grad_text == "∇ 0"
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: item(window, "w").grad_text == "∇ 0.4")


def test_wires_coloured_by_the_gradient_they_carry(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F6)
    graph = window.graph
    into_w = window.scene.edge_items[(graph.node("wx").id, "a")]
    into_x = window.scene.edge_items[(graph.node("wx").id, "b")]
    assert into_w.gradient_magnitude is None
    qtbot.mouseClick(toolbar_button(window, "Colour Wires by Gradient"), Qt.LeftButton)
    assert into_w.gradient_magnitude == pytest.approx(0.4)   # d loss/d w flows back to w
    assert into_x.gradient_magnitude == pytest.approx(0.1)   # and w * 0.2 to x
    assert into_w.colour != theme.WIRE_COLOUR
    # With the ReLU off, no gradient reaches the wires behind it.
    window.graph.set_value("w", -0.5)
    qtbot.waitUntil(lambda: into_w.gradient_magnitude == 0.0)
    key(window, Qt.Key_G, Qt.ControlModifier)
    assert into_w.gradient_magnitude is None and into_w.colour == theme.WIRE_COLOUR


def test_an_invalid_graph_names_and_highlights_the_node_at_fault(qtbot, neuron):
    window = neuron
    graph = window.graph
    window.graph.disconnect(graph.input_edge("loss", "target"))
    key(window, Qt.Key_F5)
    loss = item(window, "loss")
    assert "Cannot run forward" in status(window) and "'loss'" in status(window)
    assert loss.highlighted and loss.value_text is None
    window.undo_stack.undo() if window.undo_stack.canUndo() else None
    graph.connect("y", "loss", "target")
    key(window, Qt.Key_F5)
    assert not loss.highlighted and loss.value_text == "= 0.01"


def test_live_values_clear_while_the_graph_is_broken_and_return(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F6)
    graph = window.graph
    edge = graph.input_edge("loss", "target")
    graph.disconnect(edge)
    qtbot.waitUntil(lambda: item(window, "loss").value_text is None)
    assert "Values cleared" in status(window)
    graph.connect("y", "loss", "target")
    qtbot.waitUntil(lambda: item(window, "w").grad_text == "∇ 0.4")


def test_a_missing_sample_is_explained(qtbot, neuron):
    window = neuron
    window.graph.set_value("x", None)
    key(window, Qt.Key_F5)
    assert "x" in status(window) and "inspector" in status(window)
    assert item(window, "loss").value_text is None


def test_the_sample_table_edits_rows_and_refuses_bad_cells(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F5)
    window.scene.select_nodes([window.graph.node("x").id])
    table = window.inspector.findChild(QTableWidget, "sample")
    assert table.rowCount() == 1 and table.item(0, 0).text() == "2"
    table.item(0, 0).setText("abc")
    error = window.inspector.findChild(QLabel, "error")
    assert "row 1, column 1" in error.text() and "'abc'" in error.text()
    assert window.graph.node("x").value.tolist() == [2.0] and table.item(0, 0).text() == "2"
    table.item(0, 0).setText("3")
    assert window.graph.node("x").value.tolist() == [3.0]
    qtbot.waitUntil(lambda: item(window, "z").value_text == "= 1.6")  # 0.5*3 + 0.1, rerun
    assert window.undo_stack.undoText() == "Set sample of x"
    qtbot.mouseClick(window.inspector.add_row_button, Qt.LeftButton)
    assert window.graph.node("x").value.tolist() == [3.0, 0.0]
    # y has one row, x two: the live rerun clears the values and says why
    qtbot.waitUntil(lambda: "Values cleared" in status(window))
    assert "batch" in status(window) and item(window, "z").value_text is None
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.graph.node("x").value.tolist() == [2.0]
    assert table.item(0, 0).text() == "2"


def test_a_version_1_file_opens_with_a_drawn_sample_and_runs(qtbot, window):
    from pathlib import Path

    old = Path(__file__).parents[1] / "core" / "data" / "format_v1" / "xor.bpg"
    assert window.open_file(old)
    window.scene.select_nodes([window.graph.node("x").id])
    table = window.inspector.findChild(QTableWidget, "sample")
    assert table.rowCount() == 4 and table.columnCount() == 2  # drawn rows, shown to edit
    key(window, Qt.Key_F6)
    loss = item(window, "loss")
    assert loss.value_text.startswith("= ") and np.isfinite(float(loss.value_text[2:]))
    assert item(window, "hidden.W").grad_text.startswith("∇ (2, 4) mean")


def test_edits_of_a_broken_graph_leave_the_cleared_cards_alone(qtbot, neuron, monkeypatch):
    from bpstudio.gui.canvas.node_item import NodeItem

    window = neuron
    key(window, Qt.Key_F6)
    window.graph.disconnect(window.graph.input_edge("loss", "target"))
    qtbot.waitUntil(lambda: item(window, "loss").value_text is None)
    tip = shown_tooltip(window, window.graph.node("w").id)
    assert "d loss / d w" not in tip and "value:" not in tip  # the plain one is back
    assert "<b>w</b>" in tip
    redrawn = []
    monkeypatch.setattr(NodeItem, "_look_changed", lambda self: redrawn.append(self))
    window.graph.set_value("w", 0.7)  # still broken: the live rerun clears nothing more
    qtbot.wait(20)
    # only the card whose value changed, and the one at fault (its problem badge)
    assert {i.node.name for i in redrawn} <= {"w", "loss"}


def edit_a_weight_counting(qtbot, window, monkeypatch, formatter: str):
    """deep_sigmoid after Backward, layer1 opened: layer1.W scaled (a live rerun follows), with
    the arrays given to ``run_view.<formatter>`` counted. Returns (the arrays, the real one)."""
    from bpstudio.gui import run_view

    assert window.open_file(examples_dir() / "deep_sigmoid.bpg")
    window.scene.set_collapsed(window.graph.group("layer1").id, False)  # layer1.W on show
    key(window, Qt.Key_F6)  # Backward: every node has a value and a gradient
    written = []
    real = getattr(run_view, formatter)
    monkeypatch.setattr(run_view, formatter, lambda array: written.append(array) or real(array))
    weight = window.graph.node("layer1.W")
    with qtbot.waitSignal(window.run_view.values_changed):
        window.graph.set_value(weight.id, weight.value * 1.5)  # the live rerun
    return written, real


def test_a_live_rerun_writes_out_no_array_until_a_tooltip_is_shown(qtbot, window, monkeypatch):
    written, real_full_text = edit_a_weight_counting(qtbot, window, monkeypatch, "full_text")
    weight = window.graph.node("layer1.W")
    assert written == []  # not one array written out for all 57 nodes' tooltips
    tip = shown_tooltip(window, weight.id)
    assert len(written) == 2  # the value and the gradient of the node pointed at, once each
    assert "d loss / d layer1.W" in tip
    assert real_full_text(window.run_view.value(weight.id)) in tip.replace("&#x27;", "'")


def test_a_live_rerun_writes_no_value_line_for_a_card_folded_away(qtbot, window, monkeypatch):
    written, real_short_text = edit_a_weight_counting(qtbot, window, monkeypatch, "short_text")
    layer2 = window.graph.group("layer2").id
    shown = [item for item in window.scene.node_items.values() if item.isVisible()]
    folded = [item for item in window.scene.node_items.values() if item.block is not None]
    assert folded and len(written) <= 2 * len(shown)  # only the cards on show were written
    # A folded card's lines are there when asked for, and on the card when its layer opens.
    card = window.scene.node_items[window.graph.node("layer2.z").id]
    expected = "∇ " + real_short_text(window.run_view.grad(card.node.id))
    before = len(written)
    assert card.grad_text == expected and len(written) == before + 2  # written when read
    window.scene.set_collapsed(layer2, False)
    assert card.isVisible() and card.grad_text == expected
