"""Files from the window: bundled examples, save and reload, errors as dialogs, recent files,
unsaved-changes prompts, and the exports (ONNX, NumPy code, PNG, SVG)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

import bpstudio
from bpstudio.gui.canvas.view import READABLE_ZOOM
from bpstudio.core.compare import graph_differences
from bpstudio.gui.main_window import examples_dir

from guihelpers import assert_scene_matches_graph, build_neuron, drag, key, port_pos, title_pos

EXAMPLES = sorted(examples_dir().glob("*.bpg"))


def test_there_are_bundled_examples_in_the_menu(window):
    assert len(EXAMPLES) >= 5
    titles = [a.text() for a in window.examples_menu.actions()]
    assert len(titles) == len(EXAMPLES) and "Single neuron" in titles


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_opening_each_example_creates_one_item_per_node_and_edge(window, path):
    action = next(a for a in window.examples_menu.actions() if a.data() == str(path))
    action.trigger()
    expected = bpstudio.load(path).graph
    assert not graph_differences(window.graph, expected)
    assert len(window.scene.node_items) == len(expected.nodes) > 0
    assert len(window.scene.edge_items) == len(expected.edges) > 0
    assert_scene_matches_graph(window)
    assert window.windowTitle() == f"{path.name} — Backprop Studio"
    assert not window.scene.problems  # examples are valid graphs
    about = window.inspector.findChild(QLabel, "description")
    assert about is not None and about.text() == bpstudio.load(path).description
    # Opened framed whole, or, when that would make names unreadable, readable from the inputs.
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    nodes = window.scene.nodes_rect()
    if not visible.contains(nodes):
        assert window.view.zoom >= READABLE_ZOOM
        assert visible.left() <= nodes.left() < visible.right()
        assert visible.top() <= nodes.center().y() <= visible.bottom()


def test_save_from_the_window_then_load_gives_the_same_graph(window, tmp_path, monkeypatch):
    window.open_file(examples_dir() / "xor.bpg")
    # Edit through the canvas: move a node, add one and wire it.
    some = next(iter(window.graph.nodes))
    start = title_pos(window, some)
    drag(window, start, start + QPoint(30, 40))
    new = window.add_node("relu", QPointF(0, 500))
    p = window.graph.find("p").id
    drag(window, port_pos(window, p, "out", True), port_pos(window, new, "x", False))
    assert window.windowTitle() == "xor.bpg* — Backprop Studio"
    target = tmp_path / "edited.bpg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "edited"), "")))
    key(window, Qt.Key_S, Qt.ControlModifier | Qt.ShiftModifier)  # Save As
    assert target.exists()
    assert window.windowTitle() == "edited.bpg — Backprop Studio"
    project = bpstudio.load(target)
    assert graph_differences(project.graph, window.graph) == []
    assert project.description == bpstudio.load(examples_dir() / "xor.bpg").description
    # Ctrl+S saves to the same file without asking.
    window.scene.select_nodes([new])
    key(window, Qt.Key_Delete)
    key(window, Qt.Key_S, Qt.ControlModifier)
    assert graph_differences(bpstudio.load(target).graph, window.graph) == []
    assert window.settings.recent_files()[0] == str(target.resolve())


def test_opening_a_corrupt_file_shows_the_error_and_keeps_the_graph(window, dialogs, tmp_path):
    build_neuron(window)
    before = len(window.graph.nodes)
    bad = tmp_path / "broken.bpg"
    bad.write_bytes(b"PK\x03\x04 this is not a zip file")
    assert not window.open_file(bad)
    assert len(dialogs.errors) == 1 and "broken.bpg" in dialogs.errors[0]
    try:
        bpstudio.load(bad)
    except bpstudio.FileFormatError as exc:
        assert str(exc) in dialogs.errors[0]
    assert len(window.graph.nodes) == before


def test_a_file_with_a_tampered_entry_is_refused_with_the_loader_message(window, dialogs, tmp_path):
    good = examples_dir() / "single_neuron.bpg"
    bad = tmp_path / "tampered.bpg"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "graph.json":
                data = data.replace(b'"relu"', b'"gelu"')
            dst.writestr(info, data)
    assert not window.open_file(bad)
    assert dialogs.errors and "tampered.bpg" in dialogs.errors[0]
    assert window.path is None


def test_opening_a_missing_file_says_so(window, dialogs, tmp_path):
    assert not window.open_file(tmp_path / "nowhere.bpg")
    assert dialogs.errors and "nowhere.bpg" in dialogs.errors[0]


def test_opening_another_file_with_unsaved_changes_asks_first(window, dialogs):
    window.open_file(examples_dir() / "fan_out.bpg")
    window.add_node("exp", QPointF(0, 300))
    dialogs.answer = QMessageBox.Cancel
    assert not window.open_file(examples_dir() / "xor.bpg")
    assert window.path.name == "fan_out.bpg" and len(dialogs.questions) == 1
    dialogs.answer = QMessageBox.Discard
    assert window.open_file(examples_dir() / "xor.bpg")
    assert window.path.name == "xor.bpg"


def test_save_answer_in_the_prompt_saves_first(window, dialogs, tmp_path):
    window.open_file(examples_dir() / "fan_out.bpg")
    window.save_as(tmp_path / "mine.bpg")
    window.add_node("exp", QPointF(0, 300))
    dialogs.answer = QMessageBox.Save
    assert window.new_file()
    assert any(n.op == "exp" for n in bpstudio.load(tmp_path / "mine.bpg").graph.nodes.values())


def test_recent_files_menu_reopens_a_file(window):
    window.open_file(examples_dir() / "xor.bpg")
    window.open_file(examples_dir() / "fan_out.bpg")
    window._fill_recent_menu()
    entries = [a for a in window.recent_menu.actions() if a.toolTip().endswith(".bpg")]
    assert [Path(a.toolTip()).name for a in entries] == ["fan_out.bpg", "xor.bpg"]
    entries[1].trigger()
    assert window.path.name == "xor.bpg"


def test_export_canvas_as_png_and_svg(window, tmp_path):
    window.open_file(examples_dir() / "single_neuron.bpg")
    png, svg = tmp_path / "canvas.png", tmp_path / "canvas.svg"
    assert window.export_image(png, "png") and window.export_image(svg, "svg")
    image = QImage(str(png))
    rect = window.scene.nodes_rect()
    assert image.width() == pytest.approx(2 * (rect.width() + 60), abs=2)
    assert image.height() == pytest.approx(2 * (rect.height() + 60), abs=2)
    text = svg.read_text()
    assert "<svg" in text and "relu" in text  # node text is kept as text
    assert "<image" not in text  # and nodes are vectors, not pictures


def test_export_onnx_and_numpy_from_the_window(window, tmp_path, dialogs):
    window.open_file(examples_dir() / "xor.bpg")
    onnx_path, py_path = tmp_path / "xor.onnx", tmp_path / "xor_model.py"
    assert window.export_onnx(onnx_path)
    assert window.export_numpy(py_path)
    import onnx

    onnx.checker.check_model(onnx.load(str(onnx_path)))
    import importlib.util

    spec = importlib.util.spec_from_file_location("xor_model", py_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.predict(np.array([[0.0, 1.0], [1.0, 1.0]]))
    assert np.asarray(out).shape == (2, 1) and np.all((0 < out) & (out < 1))
    assert not dialogs.errors


def test_export_error_is_a_dialog_naming_the_problem(window, tmp_path, dialogs):
    assert not window.export_onnx(tmp_path / "empty.onnx")  # an empty graph has nothing to export
    assert dialogs.errors and "empty" in dialogs.errors[0]
    assert window.isVisible()


def test_save_on_a_bundled_example_asks_where_and_leaves_the_example_alone(window, tmp_path,
                                                                            monkeypatch):
    example = examples_dir() / "xor.bpg"
    original = example.read_bytes()
    window.open_file(example)
    window.add_node("exp", QPointF(0, 300))
    asked = []

    def ask(parent, title, start, *args, **kwargs):
        asked.append(start)
        return str(tmp_path / "my_xor.bpg"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(ask))
    key(window, Qt.Key_S, Qt.ControlModifier)
    assert example.read_bytes() == original
    assert len(asked) == 1 and Path(asked[0]).name == "xor.bpg"
    assert Path(asked[0]).parent != examples_dir()
    assert window.path == tmp_path / "my_xor.bpg" and not window.is_modified
    assert any(n.op == "exp" for n in bpstudio.load(tmp_path / "my_xor.bpg").graph.nodes.values())
