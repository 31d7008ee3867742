"""Autosave: a modified document is written to a recovery file, offered after a crash, and
removed by a save or a clean exit."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

import bpstudio
from bpstudio.gui.main_window import MainWindow
from bpstudio.gui.settings import Settings

from guihelpers import build_neuron


def start(qtbot, ini) -> MainWindow:
    window = MainWindow(Settings(QSettings(str(ini), QSettings.IniFormat)))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.view.setFocus()
    return window


def crash(window: MainWindow) -> None:
    """What a crash leaves: the recovery file, and a lock whose process has gone."""
    window.autosave_timer.stop()
    window.recovery.lock.unlock()
    window.undo_stack.setClean()  # so that closing the test's window asks nothing
    window.hide()


def test_a_recovery_file_left_by_a_crash_is_offered_and_restores_the_graph(
        qtbot, dialogs, tmp_path):
    ini = tmp_path / "settings.ini"
    first = start(qtbot, ini)
    first.autosave_timer.setInterval(50)
    ids = build_neuron(first)
    first.scene.select_nodes([ids["b"]])
    first.actions.delete.trigger()  # an unsaved edit: Edit > Delete
    assert first.is_modified
    qtbot.waitUntil(lambda: first.recovery.exists, timeout=3000)
    names = sorted(n.name for n in first.graph.nodes.values())
    crash(first)

    dialogs.answer = QMessageBox.Yes
    second = start(qtbot, ini)
    assert len(dialogs.questions) == 1 and "Restore" in dialogs.questions[0]
    assert sorted(n.name for n in second.graph.nodes.values()) == names
    assert "b" not in names
    assert second.is_modified and second.windowTitle().startswith("Untitled*")
    # Offered once: the next start asks nothing.
    third = start(qtbot, ini)
    assert len(dialogs.questions) == 1 and not third.graph.nodes
    second.undo_stack.setClean()


def test_declining_discards_the_recovery_file(qtbot, dialogs, tmp_path):
    ini = tmp_path / "settings.ini"
    first = start(qtbot, ini)
    build_neuron(first)
    first.undo_stack.resetClean()
    assert first.autosave()
    crash(first)
    dialogs.answer = QMessageBox.No
    second = start(qtbot, ini)
    assert len(dialogs.questions) == 1 and not second.graph.nodes
    assert not list((tmp_path / "recovery").glob("*.bpg"))


def test_an_open_window_s_file_is_not_offered_and_a_save_removes_it(
        qtbot, dialogs, tmp_path, monkeypatch):
    ini = tmp_path / "settings.ini"
    first = start(qtbot, ini)
    ids = build_neuron(first)
    first.scene.select_nodes([ids["b"]])
    first.actions.delete.trigger()
    assert first.autosave() and first.recovery.exists
    assert bpstudio.load(first.recovery.path).graph.find("b") is None
    second = start(qtbot, ini)  # the first is still running: its work is not a crash's
    assert dialogs.questions == [] and not second.graph.nodes
    target = tmp_path / "mine.bpg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    first.actions.save.trigger()  # File > Save
    assert target.exists() and not first.recovery.exists
    assert list((tmp_path / "recovery").glob("*.bpg")) == []


def test_a_clean_exit_removes_the_recovery_file(qtbot, dialogs, tmp_path):
    window = start(qtbot, tmp_path / "settings.ini")
    build_neuron(window)
    window.undo_stack.resetClean()
    assert window.autosave() and window.recovery.exists
    dialogs.answer = QMessageBox.Discard
    assert window.close()
    assert not window.recovery.exists


def test_a_file_whose_process_died_is_found_and_a_live_one_is_not(tmp_path):
    """A real crash: another process writes its recovery file and dies holding the lock."""
    import subprocess
    import sys

    from bpstudio.gui.recovery import Recovery, left_behind

    folder = tmp_path / "recovery"
    script = ("import os, sys\n"
              "from pathlib import Path\n"
              "from bpstudio.core.graph import Graph\n"
              "from bpstudio.core.project import Project\n"
              "from bpstudio.gui.recovery import Recovery\n"
              "g = Graph(); g.add_node('input', name='kept')\n"
              "r = Recovery(Path(sys.argv[1])); r.write(Project(g), Path('/x/mine.bpg'))\n"
              "os._exit(3)  # no clean-up, as in a crash\n")
    done = subprocess.run([sys.executable, "-c", script, str(folder)], timeout=60)
    assert done.returncode == 3
    live = Recovery(folder)
    live.write(bpstudio.load(next(folder.glob("*.bpg"))), None)  # this process, still running
    found = left_behind(folder)
    assert len(found) == 1 and found[0].path != live.path
    assert found[0].original.name == "mine.bpg"
    assert bpstudio.load(found[0].path).graph.find("kept") is not None
    found[0].discard()
    assert live.exists and left_behind(folder) == []
    live.remove()
