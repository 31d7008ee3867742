"""``bpstudio FILE`` starts the app with FILE open."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from bpstudio.gui import app, appearance
from bpstudio.gui.main_window import MainWindow, examples_dir


def run_main(monkeypatch, qtbot, settings, argv):
    made = []

    def window():  # the real window, over the test's own settings file
        made.append(MainWindow(settings))
        qtbot.addWidget(made[-1])
        return made[-1]

    monkeypatch.setattr(app, "MainWindow", window)
    monkeypatch.setattr(app, "style_application", lambda _app: None)  # keep the tests' look
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)  # return instead of looping
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(appearance, "_app", None)  # later tests must not restyle this app
    monkeypatch.setattr(appearance, "_dark_style", None)
    assert app.main(argv) == 0
    assert len(made) == 1 and made[0].isVisible()
    return made[0]


def test_bpstudio_file_opens_the_file(monkeypatch, qtbot, settings, dialogs):
    path = examples_dir() / "xor.bpg"
    window = run_main(monkeypatch, qtbot, settings, ["bpstudio", str(path)])
    assert window.path == path and window.graph.find("p") is not None
    assert window.windowTitle().startswith("xor.bpg")


def test_bpstudio_alone_opens_an_empty_graph(monkeypatch, qtbot, settings, dialogs):
    window = run_main(monkeypatch, qtbot, settings, ["bpstudio"])
    assert window.path is None and not window.graph.nodes


def test_a_missing_file_is_said_and_the_window_still_opens(monkeypatch, qtbot, settings,
                                                          dialogs, tmp_path):
    window = run_main(monkeypatch, qtbot, settings, ["bpstudio", str(tmp_path / "nope.bpg")])
    assert len(dialogs.errors) == 1 and "nope.bpg" in dialogs.errors[0]
    assert window.path is None


def test_main_reports_errors_into_the_windows_own_folder_and_shows_the_icon(monkeypatch, qtbot,
                                                                           settings, dialogs):
    from bpstudio.gui import crash

    window = run_main(monkeypatch, qtbot, settings, ["bpstudio"])
    assert isinstance(sys.excepthook, crash.ErrorReporter)
    assert sys.excepthook.log_path == window.settings.state_dir() / "logs" / crash.LOG_NAME
    assert not QApplication.windowIcon().isNull()
