"""File > Export > ONNX…, NumPy Code…, PyTorch Module…, driven through the menu entries and the
dialog's own controls: the exported model of a trained project takes raw rows and gives the
app's predictions; the "Bare graph" box gives the graph as it computes; a project without data
can only export that and says why; data that has gone is said, and the app goes on."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QFileDialog, QLabel, QLineEdit, QMessageBox

from bpstudio.core.engine import Engine
from bpstudio.core.training.interface import model_interface, predict_raw, training_data
from bpstudio.gui.export_dialog import BARE_TEXT, ExportDialog
from bpstudio.gui.main_window import examples_dir

from trained_projects import raw_moons_rows, train_and_save, write_moons_csv


def menu_entry(menu, text: str):
    for action in menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no menu entry '{text}' in {[a.text() for a in menu.actions()]}")


def open_export(window, text: str) -> ExportDialog:
    """File > Export > ``text`` (triggered as a click on the entry does), and its dialog."""
    file_menu = menu_entry(window.menuBar(), "File").menu()
    export = menu_entry(file_menu, "Export").menu()
    menu_entry(export, text).trigger()
    dialogs = [d for d in window.findChildren(ExportDialog) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def bare_box(dialog) -> QCheckBox:
    (box,) = [b for b in dialog.findChildren(QCheckBox) if b.text() == BARE_TEXT]
    return box


def tick(qtbot, box: QCheckBox) -> None:
    """Click the box's indicator (the widget spans the dialog; its middle may be past the text)."""
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))


def contract(dialog) -> str:
    """What the dialog says the file takes and returns, without the markup."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(dialog.findChild(QLabel, "export_contract").text())
    return doc.toPlainText()


def press(qtbot, dialog, text: str) -> None:
    (button,) = [b for b in dialog.buttons.buttons() if b.text().replace("&", "") == text]
    qtbot.mouseClick(button, Qt.LeftButton)


def write_to(qtbot, dialog, path) -> None:
    edit = dialog.findChild(QLineEdit, "export_path")
    edit.clear()
    qtbot.keyClicks(edit, str(path))
    press(qtbot, dialog, "Export")


def status(window) -> str:
    return window.statusBar().currentMessage()


@pytest.fixture
def moons(window, tmp_path):
    """two_moons trained on the moons data, opened in the window."""
    assert window.open_file(train_and_save("moons", tmp_path / "moons.bpg"))
    return window


def run_onnx(path, rows: np.ndarray) -> tuple[np.ndarray, list[str], dict[str, str]]:
    import onnx
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    (out,) = session.run(None, {given.name: rows.astype(np.float32)})
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return np.asarray(out, dtype=np.float64), [given.name], meta


def test_the_onnx_dialog_exports_a_model_that_takes_raw_rows(qtbot, moons, tmp_path, dialogs):
    window = moons
    dialog = open_export(window, "ONNX…")
    box = bare_box(dialog)
    assert box.isEnabled() and not box.isChecked()
    said = contract(dialog)
    assert "Takes: one row per sample of the features x1, x2: raw" in said
    assert "Returns: the probability of class" in said
    write_to(qtbot, dialog, tmp_path / "model.onnx")
    assert not dialog.isVisible() and not dialogs.errors
    assert "Exported model.onnx (taking raw rows)" in status(window)

    raw = raw_moons_rows()
    out, names, meta = run_onnx(tmp_path / "model.onnx", raw)
    project = window.document.project
    app = predict_raw(window.graph, model_interface(project), raw)
    np.testing.assert_allclose(out, app, atol=1e-5)
    assert names == ["features"] and "standardisation" in meta
    targets = training_data(project).train.targets
    assert np.mean((out[:, 0] > 0.5) == targets) == np.mean((app[:, 0] > 0.5) == targets)


def test_the_bare_graph_box_exports_the_graph_as_it_computes(qtbot, moons, tmp_path):
    window = moons
    dialog = open_export(window, "ONNX…")
    tick(qtbot, bare_box(dialog))
    assert bare_box(dialog).isChecked()
    said = contract(dialog)
    assert "'x' (N, 2)" in said and "standardised as in training" in said
    assert "scores are not turned into probabilities" in said
    write_to(qtbot, dialog, tmp_path / "bare.onnx")
    assert "(the bare graph)" in status(window)

    project = window.document.project
    rows = training_data(project).train.features  # standardised, as the graph takes them
    out, names, meta = run_onnx(tmp_path / "bare.onnx", rows)
    logits = Engine(window.graph, output="logits").forward({"x": rows})
    np.testing.assert_allclose(out, logits, atol=1e-5)
    assert names == ["x"] and "standardisation" not in meta
    # the window's scripted export chooses the same with a keyword
    assert window.export_onnx(tmp_path / "bare2.onnx", bare=True)
    assert run_onnx(tmp_path / "bare2.onnx", rows)[1] == ["x"]


def test_browse_fills_the_path_from_the_file_dialog(qtbot, moons, tmp_path, monkeypatch):
    window = moons
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "chosen"), "")))
    dialog = open_export(window, "NumPy Code…")
    (browse,) = [b for b in dialog.findChildren(type(dialog.export_button))
                 if b.text() == "Browse…"]
    qtbot.mouseClick(browse, Qt.LeftButton)
    assert dialog.findChild(QLineEdit, "export_path").text() == str(tmp_path / "chosen.py")
    assert "Writes: chosen.py and chosen.npz" in contract(dialog)
    press(qtbot, dialog, "Export")
    spec = importlib.util.spec_from_file_location("chosen", tmp_path / "chosen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raw = raw_moons_rows()
    app = predict_raw(window.graph, model_interface(window.document.project), raw)
    np.testing.assert_allclose(module.predict(raw), app, atol=1e-10)


def test_a_graph_without_data_exports_the_bare_graph_and_says_why(qtbot, window, tmp_path):
    assert window.open_file(examples_dir() / "two_moons.bpg")  # never trained: no data yet
    dialog = open_export(window, "ONNX…")
    box = bare_box(dialog)
    assert box.isChecked() and not box.isEnabled()
    note = dialog.findChild(QLabel, "export_bare_note")
    assert note.isVisible() and "no training data" in note.text()
    assert "the graph's input 'x' (N, 2)" in contract(dialog)
    write_to(qtbot, dialog, tmp_path / "untrained.onnx")
    assert run_onnx(tmp_path / "untrained.onnx", np.zeros((3, 2)))[1] == ["x"]


def test_cancel_writes_nothing(qtbot, moons, tmp_path):
    window = moons
    dialog = open_export(window, "ONNX…")
    dialog.findChild(QLineEdit, "export_path").setText(str(tmp_path / "no.onnx"))
    press(qtbot, dialog, "Cancel")
    assert not dialog.isVisible() and not (tmp_path / "no.onnx").exists()


def test_data_that_has_gone_is_said_and_the_bare_graph_can_still_be_exported(
        qtbot, window, tmp_path, dialogs, monkeypatch):
    csv = write_moons_csv(tmp_path / "shapes.csv")
    project_path = train_and_save(str(csv), tmp_path / "csv_project.bpg")
    csv.unlink()
    assert window.open_file(project_path)
    # from a script: the message box names the file and nothing is written
    assert not window.export_onnx(tmp_path / "m.onnx")
    assert "shapes.csv" in dialogs.errors[-1] and not (tmp_path / "m.onnx").exists()

    dialog = open_export(window, "ONNX…")
    note = dialog.findChild(QLabel, "export_bare_note")
    assert "shapes.csv" in note.text() and "Tick the box" in note.text()
    assert not dialog.export_button.isEnabled()
    tick(qtbot, bare_box(dialog))
    assert dialog.export_button.isEnabled()
    write_to(qtbot, dialog, tmp_path / "bare.onnx")
    assert (tmp_path / "bare.onnx").exists() and window.isVisible()


def test_an_export_that_fails_keeps_the_dialog_open_with_the_reason(qtbot, moons, tmp_path,
                                                                    monkeypatch):
    window = moons
    said = []
    monkeypatch.setattr(QMessageBox, "critical",
                        staticmethod(lambda parent, title, text, *a: said.append(text)))
    dialog = open_export(window, "ONNX…")
    write_to(qtbot, dialog, tmp_path / "no_such_folder" / "m.onnx")
    assert said and "m.onnx" in said[0]
    assert dialog.isVisible()  # the person can choose another place
    write_to(qtbot, dialog, tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").exists()


def test_the_pytorch_entry_writes_the_module_and_its_weights(qtbot, moons, tmp_path):
    torch = pytest.importorskip("torch", reason="torch is in the dev extra")
    window = moons
    dialog = open_export(window, "PyTorch Module…")
    dialog.findChild(QLineEdit, "export_path").setText(str(tmp_path / "moons_model"))
    assert "Writes: moons_model.py and moons_model.npz" in contract(dialog)
    press(qtbot, dialog, "Export")
    assert (tmp_path / "moons_model.py").exists() and (tmp_path / "moons_model.npz").exists()
    assert "moons_model.py and moons_model.npz" in status(window)
    spec = importlib.util.spec_from_file_location("moons_model", tmp_path / "moons_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raw = raw_moons_rows()
    with torch.no_grad():
        out = module.load().predict(torch.from_numpy(raw)).numpy()
    app = predict_raw(window.graph, model_interface(window.document.project), raw)
    np.testing.assert_allclose(out.reshape(app.shape), app, atol=1e-5)
