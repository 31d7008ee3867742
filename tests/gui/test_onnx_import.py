"""ONNX models in the window: File > Open and File > Import ONNX show the model's graph as a new
untitled document; a refused model is a dialog naming the reason; the training dock offers the
loss the data call for (the real "Add Loss" button, one undoable edit), and then Train trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton

from bpstudio import import_onnx, load
from bpstudio.gui.main_window import examples_dir

from guihelpers import assert_scene_matches_graph, key

MODEL = Path(__file__).resolve().parents[1] / "data" / "onnx" / "torch_mlp.onnx"
TIMEOUT = 30_000


def button(window, text: str) -> QPushButton:
    for b in window.training_panel.findChildren(QPushButton):
        if b.text() == text:
            return b
    raise AssertionError(f"no button '{text}'")


def choose_data(panel, name: str) -> None:
    index = panel.data_combo.findText(name)
    panel.data_combo.setCurrentIndex(index)
    panel.data_combo.activated.emit(index)


@pytest.fixture
def open_dialog(monkeypatch):
    """File dialogs answer with ``answer.path`` and remember the filter they were given."""

    class Answer:
        path = str(MODEL)
        filters: list[str] = []

    answer = Answer()
    answer.filters = []

    def get_open_file_name(parent, caption, folder, file_filter, *args, **kwargs):
        answer.filters.append(file_filter)
        return answer.path, ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(get_open_file_name))
    return answer


def assert_shows_the_model(window) -> None:
    expected = import_onnx(MODEL).graph
    names = {n.name for n in window.graph.nodes.values()}
    assert names == {n.name for n in expected.nodes.values()}
    assert len(window.scene.node_items) == len(expected.nodes) == 18
    assert len(window.scene.edge_items) == len(expected.edges) == 17
    assert_scene_matches_graph(window)
    assert not window.scene.problems
    assert window.path is None and window.windowTitle() == "Untitled — Backprop Studio"
    assert not window.is_modified
    about = window.inspector.findChild(QLabel, "description")
    assert about is not None and "pytorch 2.13.0" in about.text()


def test_file_open_lists_both_kinds_and_opens_a_model(window, open_dialog):
    key(window, Qt.Key_O, Qt.ControlModifier)
    assert "*.bpg" in open_dialog.filters[0] and "*.onnx" in open_dialog.filters[0]
    assert_shows_the_model(window)
    assert "Imported torch_mlp.onnx" in window.statusBar().currentMessage()
    assert window.settings.recent_files()[0] == str(MODEL.resolve())


def test_file_import_onnx_action(window, open_dialog):
    file_menu = window.menuBar().actions()[0].menu()
    action = next(a for a in file_menu.actions() if a.text() == "&Import ONNX…")
    action.trigger()
    assert "*.onnx" in open_dialog.filters[0]
    assert_shows_the_model(window)


def test_saving_an_imported_model_asks_for_a_project_name(window, open_dialog, tmp_path,
                                                          monkeypatch):
    window.open_file(MODEL)
    before = MODEL.read_bytes()
    asked = []

    def get_save_file_name(parent, caption, start, file_filter, *args, **kwargs):
        asked.append(file_filter)
        return str(tmp_path / "mlp"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    key(window, Qt.Key_S, Qt.ControlModifier)
    assert asked and "*.bpg" in asked[0]
    assert window.path == tmp_path / "mlp.bpg"
    assert load(tmp_path / "mlp.bpg").graph.nodes.keys() == window.graph.nodes.keys()
    assert MODEL.read_bytes() == before


def test_a_refused_model_is_a_dialog_and_the_graph_stays(window, dialogs, tmp_path):
    assert window.open_file(examples_dir() / "xor.bpg")
    names = {n.name for n in window.graph.nodes.values()}
    conv = tmp_path / "conv.onnx"
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv1")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, ["N", 1, 4, 4])],
                              [helper.make_tensor_value_info("y", 1, ["N", 1, 2, 2])],
                              [onnx.numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32),
                                                            "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), str(conv))
    assert not window.open_file(conv)
    assert len(dialogs.errors) == 1
    assert "node 'conv1' (Conv) is not supported: bpstudio builds dense networks" in \
        dialogs.errors[0]
    assert {n.name for n in window.graph.nodes.values()} == names
    assert window.windowTitle().startswith("xor.bpg")


def test_add_loss_is_one_undoable_edit_and_then_train_trains(qtbot, window, open_dialog):
    panel = window.training_panel
    assert panel.loss_offer.isHidden()  # an empty graph needs no loss yet
    window.open_file(MODEL)
    choose_data(panel, "iris")
    assert not panel.loss_offer.isHidden()
    offer = panel.loss_offer_label.text()
    assert "no loss" in offer and "softmax cross-entropy" in offer and "'iris'" in offer
    weights = {n.name: n.value.copy() for n in window.graph.nodes_of("parameter")}
    nodes_before = set(window.graph.nodes)

    qtbot.mouseClick(button(window, "Add Loss"), Qt.LeftButton)
    loss = window.graph.default_output()
    assert loss.op == "softmax_ce" and window.graph.node("y").spec.source == "input"
    assert window.graph.input_edge(loss, "logits").src == window.graph.node("logits").id
    assert window.undo_stack.undoText() == "Add Softmax CE Loss"
    assert window.statusBar().currentMessage() == (
        "Added softmax_ce 'loss' comparing 'logits' with a new target input 'y' (N,), since "
        "the data 'iris' are classes; press Train")
    assert_scene_matches_graph(window)
    qtbot.waitUntil(lambda: set(panel.binding_combos) == {"features", "y"}, timeout=TIMEOUT)
    assert panel.binding_combos["y"].currentText() == "target"
    assert panel.loss_offer.isHidden()

    key(window, Qt.Key_Z, Qt.ControlModifier)  # one step takes both nodes and both wires away
    assert set(window.graph.nodes) == nodes_before
    qtbot.waitUntil(lambda: not panel.loss_offer.isHidden(), timeout=TIMEOUT)
    key(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.graph.default_output().op == "softmax_ce"
    qtbot.waitUntil(lambda: panel.loss_offer.isHidden(), timeout=TIMEOUT)

    # the walkthrough works on it at once: the inputs, the new target too, have sample rows
    assert window.run_view.forward() and window.run_view.backward()
    assert "Cannot" not in window.statusBar().currentMessage()

    panel.length_spin.setValue(60)
    panel.lr_spin.setValue(0.02)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    assert panel.running
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    history = window.document.training_state.history
    assert len(history["step"]) == 60
    assert history["loss"][-10:].mean() < history["loss"][:10].mean()
    assert window.undo_stack.undoText() == "Train 60 steps"
    trained = {n.name: n.value for n in window.graph.nodes_of("parameter")}
    assert any(not np.allclose(weights[k], v) for k, v in trained.items())


def test_the_imported_graph_runs_forward_on_its_sample(window, open_dialog):
    window.open_file(MODEL)
    assert window.run_view.forward()
    assert "Cannot" not in window.statusBar().currentMessage()


def test_regression_data_offer_mse(qtbot, window, open_dialog):
    panel = window.training_panel
    window.open_file(MODEL)
    choose_data(panel, "sine")
    assert "mean squared error" in panel.loss_offer_label.text()
    qtbot.mouseClick(button(window, "Add Loss"), Qt.LeftButton)
    loss = window.graph.default_output()
    assert loss.op == "mse" and window.graph.node("y").params["shape"] == (3,)


def test_a_loss_that_does_not_fit_is_refused_in_the_dock(qtbot, window, open_dialog):
    panel = window.training_panel
    window.open_file(MODEL)
    window.add_node("relu", window.view.mapToScene(0, 0))  # a second output: which to train?
    qtbot.waitUntil(lambda: not panel.loss_offer.isHidden(), timeout=TIMEOUT)
    nodes = set(window.graph.nodes)
    depth = window.undo_stack.count()
    qtbot.mouseClick(button(window, "Add Loss"), Qt.LeftButton)
    assert "Cannot add a loss" in panel.message_label.text()
    assert "several outputs" in panel.message_label.text()
    assert set(window.graph.nodes) == nodes and window.undo_stack.count() == depth
