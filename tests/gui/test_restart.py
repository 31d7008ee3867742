"""What the app remembers survives closing the window and starting a new one: its geometry and
dock layout, the recent files and the training dock's last choices."""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

import bpstudio
from bpstudio.core.graph import Graph
from bpstudio.core.project import Project
from bpstudio.gui.main_window import MainWindow, examples_dir
from bpstudio.gui.settings import Settings


def start(qtbot, ini) -> MainWindow:
    """A new window over the settings file ``ini``, as the app makes at start."""
    window = MainWindow(Settings(QSettings(str(ini), QSettings.IniFormat)))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def field(window: MainWindow, label: str) -> QWidget:
    """The training dock's field beside the form label ``label``, found as a person reads it."""
    for form in window.training_dock.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.LabelRole)
            if item and isinstance(item.widget(), QLabel) and item.widget().text() == label:
                found = form.itemAt(row, QFormLayout.FieldRole)
                if found.widget() is not None:
                    return found.widget()
                return found.layout().itemAt(0).widget()  # "Train for": the length, then unit
    raise LookupError(label)


def unit_combo(window: MainWindow) -> QComboBox:
    length = field(window, "Train for")
    return [c for c in length.parentWidget().findChildren(QComboBox)
            if c is window.training_panel.unit_combo][0]


def type_into(box, text: str) -> None:
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key_Return)


def choose(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_settings_and_recent_files_survive_a_restart(qtbot, dialogs, tmp_path):
    ini = tmp_path / "settings.ini"
    first = start(qtbot, ini)
    first.palette_dock.close()
    first.inspector_dock.close()
    first.resize(781, 667)  # within the offscreen screen, which a restored window is fitted to
    size = first.size()
    assert size == QSize(781, 667)
    first.walkthrough_dock.setFloating(True)
    assert first.open_file(examples_dir() / "xor.bpg")
    choose(field(first, "Data set"), "circles")
    type_into(field(first, "Rows"), "350")
    type_into(field(first, "Validation"), "0.3")
    choose(field(first, "Optimiser"), "sgd")
    type_into(field(first, "Learning rate"), "0.05")
    type_into(field(first, "Weight decay"), "0.001")
    type_into(field(first, "Batch size"), "16")
    type_into(field(first, "Train for"), "40")
    choose(unit_combo(first), "epochs")
    type_into(field(first, "Seed"), "7")
    assert first.close()

    second = start(qtbot, ini)
    assert second.size() == size
    assert not second.inspector_dock.isVisible() and second.training_dock.isVisible()
    assert not second.palette_dock.isVisible()
    assert second.walkthrough_dock.isFloating()
    second.recent_menu.aboutToShow.emit()
    recent = [a.text() for a in second.recent_menu.actions() if a.text()]
    assert recent[0] == "&1 xor.bpg"
    assert field(second, "Data set").currentText() == "circles"
    assert field(second, "Rows").value() == 350
    assert field(second, "Validation").value() == 0.3
    assert field(second, "Optimiser").currentText() == "sgd"
    assert field(second, "Learning rate").value() == 0.05
    assert field(second, "Weight decay").value() == 0.001
    assert field(second, "Batch size").value() == 16
    assert field(second, "Train for").value() == 40
    assert unit_combo(second).currentText() == "epochs"
    assert field(second, "Seed").value() == 7


def test_a_projects_own_training_settings_replace_the_remembered_ones(qtbot, dialogs, tmp_path):
    ini = tmp_path / "settings.ini"
    first = start(qtbot, ini)
    choose(field(first, "Optimiser"), "sgd")
    type_into(field(first, "Learning rate"), "0.05")
    assert first.close()
    path = tmp_path / "own.bpg"
    bpstudio.save(Project(Graph(), training={"optimizer": "momentum", "lr": 0.2}), path)

    second = start(qtbot, ini)
    assert field(second, "Optimiser").currentText() == "sgd"
    assert second.open_file(path)
    assert field(second, "Optimiser").currentText() == "momentum"
    assert field(second, "Learning rate").value() == 0.2


def test_a_damaged_settings_file_leaves_the_defaults(qtbot, dialogs, tmp_path):
    ini = tmp_path / "settings.ini"
    store = QSettings(str(ini), QSettings.IniFormat)
    store.setValue("training/last", "{not json")
    store.sync()
    window = start(qtbot, ini)
    assert field(window, "Optimiser").currentText() == "adam"
    assert field(window, "Data set").currentText() == "moons"
