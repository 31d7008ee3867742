"""Help menu: the examples, Keyboard Shortcuts (made from the window's actions) and About."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

import numpy
import pyqtgraph

from bpstudio.version import __version__


def help_entry(window, text: str) -> QAction:
    help_menu = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"][0]
    for action in help_menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise LookupError(text)


def test_help_examples_open_the_single_neuron_first(window):
    menu: QMenu = help_entry(window, "Examples").menu()
    titles = [a.text() for a in menu.actions()]
    assert titles[0] == "Single neuron" and "Xor" in titles
    menu.actions()[0].trigger()
    assert window.path.name == "single_neuron.bpg" and window.graph.nodes


def test_keyboard_shortcuts_lists_every_action_with_a_shortcut(window, qtbot):
    extra = QAction("Brand New Thing", window)  # an action added later is listed too
    extra.setShortcut(QKeySequence("Ctrl+Alt+J"))
    window.addAction(extra)
    assert help_entry(window, "Keyboard Shortcuts…").shortcut().toString() == "Ctrl+/"
    qtbot.keyClick(window.view, Qt.Key_Slash, Qt.ControlModifier)
    dialog = window.shortcuts_dialog
    assert dialog.isVisible()
    table = dialog.table
    shown = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert shown["Brand New Thing"] == QKeySequence("Ctrl+Alt+J").toString(
        QKeySequence.NativeText)
    assert shown["Save"] == QKeySequence(QKeySequence.Save).toString(QKeySequence.NativeText)
    assert "Ctrl+D" in shown["Duplicate"]
    assert "F8" in shown["Walk Through"]
    assert "Train" in shown  # the training dock's actions are the window's too
    for keys in shown.values():  # each key once, even where a standard key repeats another
        assert len(keys.split(", ")) == len(set(keys.split(", "))), keys
    for action in QWidget.actions(window):
        if action.shortcuts() and action.text():
            assert action.text().replace("&", "").rstrip("…") in shown, action.text()


def test_about_names_the_version_and_the_licences(window):
    help_entry(window, "About Backprop Studio").trigger()
    text = window.about_dialog.label.text()
    assert window.about_dialog.isVisible()
    assert f"Backprop Studio {__version__}" in text
    for name, licence in [("Qt", "LGPL"), ("NumPy", "BSD"), ("pyqtgraph", "MIT"),
                          ("ONNX", "Apache 2.0"), ("threadpoolctl", "BSD"),
                          ("Iris", "CC BY 4.0")]:
        assert name in text and licence in text
    assert numpy.__version__ in text and pyqtgraph.__version__ in text


def test_an_action_registers_each_key_once():
    from bpstudio.gui.actions import _keys

    keys = _keys(["Ctrl+Q", QKeySequence("Ctrl+Q"), "F5", "Ctrl+Q"])
    assert [k.toString() for k in keys] == ["Ctrl+Q", "F5"]
