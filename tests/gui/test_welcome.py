"""The welcome page on an empty, untitled graph: the examples (single neuron first) and the
recent files, each opened by a click."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

import bpstudio
from bpstudio.core.graph import Graph
from bpstudio.gui.main_window import examples_dir


def welcome_buttons(window) -> list[QPushButton]:
    return [b for b in window.inspector_dock.findChildren(QPushButton)
            if b.isVisibleTo(window.inspector_dock) and b.parentWidget().objectName() == "welcome"]


def test_the_welcome_page_opens_an_example_by_clicking_it(window, qtbot):
    window.inspector_dock.raise_()
    buttons = welcome_buttons(window)
    titles = [b.text() for b in buttons]
    assert titles[0] == "Single neuron"
    assert {"Xor", "Two moons", "Deep sigmoid"} <= set(titles)
    assert len(titles) == len(list(examples_dir().glob("*.bpg")))
    qtbot.mouseClick(buttons[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: window.path is not None)
    assert window.path.name == "single_neuron.bpg"
    assert window.graph.nodes
    assert welcome_buttons(window) == []  # the page is for empty, untitled graphs only


def test_the_welcome_page_lists_recent_files_once_there_are_some(window, qtbot, tmp_path):
    assert not [b for b in welcome_buttons(window) if b.text().endswith(".bpg")]
    path = tmp_path / "mine.bpg"
    graph = Graph()
    graph.add_node("input", name="only")
    bpstudio.save(graph, path)
    window.settings.add_recent_file(path)
    window.actions.new.trigger()
    recent = [b for b in welcome_buttons(window) if b.text() == "mine.bpg"]
    assert len(recent) == 1
    qtbot.mouseClick(recent[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: window.path is not None)
    assert window.path == path and window.graph.find("only") is not None
