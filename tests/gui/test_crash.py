"""An unexpected exception in the GUI reaches a dialog and a log, and the app goes on."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from bpstudio.gui import crash
from bpstudio.gui.crash import install_excepthook

from guihelpers import build_neuron, key


def test_an_exception_in_a_slot_shows_a_dialog_logs_it_and_the_window_goes_on(
        window, monkeypatch, tmp_path):
    shown = []

    def record(box):  # instead of blocking on the dialog
        shown.append((box.text(), box.detailedText()))
        return QMessageBox.Ok

    monkeypatch.setattr(QMessageBox, "exec", record)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    log = tmp_path / "logs" / "bpstudio.log"
    install_excepthook(window, log)
    ids = build_neuron(window)
    before = sorted(window.graph.nodes)

    def broken_save():
        raise RuntimeError("the disk said no")

    monkeypatch.setattr(window, "save", broken_save)
    key(window, Qt.Key_S, Qt.ControlModifier)  # File > Save runs window.save()

    assert len(shown) == 1
    text, details = shown[0]
    assert "RuntimeError: the disk said no" in text
    assert str(log) in text
    assert "Traceback" in details and "broken_save" in details
    logged = log.read_text(encoding="utf-8")
    assert "RuntimeError: the disk said no" in logged and "broken_save" in logged
    # The document is intact and the window still edits.
    assert sorted(window.graph.nodes) == before
    window.scene.select_nodes([ids["w"]])
    key(window, Qt.Key_Delete)
    assert ids["w"] not in window.graph.nodes
    key(window, Qt.Key_Z, Qt.ControlModifier)
    assert ids["w"] in window.graph.nodes


def test_an_unwritable_log_is_said_and_the_dialog_still_shows(window, monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    reporter = crash.ErrorReporter(window, blocker / "bpstudio.log")
    try:
        raise ValueError("x" * 1000)
    except ValueError:
        reporter(*sys.exc_info())
    assert len(shown) == 1 and "could not be written" in shown[0]
    assert len(shown[0]) < 1000  # the message is short: the rest is in the details


def test_the_default_log_is_in_the_per_user_data_folder(tmp_path):
    from PySide6.QtCore import QStandardPaths

    path = crash.default_log_path()
    assert path.name == "bpstudio.log" and path.parent.name == "logs"
    folder = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation)
    assert path.parent.parent == Path(folder)
    assert crash.default_log_path(tmp_path) == tmp_path / "logs" / "bpstudio.log"
