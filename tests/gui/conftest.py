"""Fixtures for driving the real main window (offscreen) and checking it against the graph."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from bpstudio.gui.main_window import MainWindow
from bpstudio.gui.settings import Settings


@pytest.fixture
def dialogs(monkeypatch):
    """Record message boxes instead of blocking on them; ``answer`` is what question() says."""

    class Dialogs:
        answer = QMessageBox.Discard
        questions: list[str] = []
        errors: list[str] = []

    record = Dialogs()
    record.questions, record.errors = [], []

    def question(parent, title, text, *args, **kwargs):
        record.questions.append(text)
        return record.answer

    def critical(parent, title, text, *args, **kwargs):
        record.errors.append(text)
        return QMessageBox.Ok

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(critical))
    return record


@pytest.fixture(autouse=True)
def clean_clipboard(qapp):
    """Empty the clipboard after each test: data left there would be destroyed by Qt's exit
    handlers after Python has shut down."""
    yield
    QGuiApplication.clipboard().clear()


@pytest.fixture
def settings(tmp_path):
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def window(qtbot, dialogs, settings):
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.view.setFocus()
    yield w
    w.undo_stack.setClean()
