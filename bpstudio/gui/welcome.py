"""The welcome page: on an empty, untitled graph the inspector offers the examples (the single
neuron first, the order of the lessons) and the recent files, each opened with one click."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from bpstudio.core.examples import example_files



def example_title(path: Path) -> str:
    """How menus and pages name an example file: ``two_moons.bpg`` -> "Two moons"."""
    return path.stem.replace("_", " ").capitalize()


def recent_labels(paths: list[str]) -> list[str]:
    """Menu labels for recent files: the file's name, and where two share a name, as many of
    their folders as it takes to tell them apart ("single_neuron.bpg — lessons/week1")."""
    parts = [Path(p).parts for p in paths]
    labels = []
    for k, path in enumerate(parts):
        name = path[-1] if path else ""
        twins = [other for j, other in enumerate(parts) if j != k and other and other[-1] == name]
        if not twins:
            labels.append(name)
            continue
        depth = 1
        while depth < len(path) - 1 and any(other[-1 - depth:-1] == path[-1 - depth:-1]
                                            for other in twins):
            depth += 1
        labels.append(f"{name} — {'/'.join(path[-1 - depth:-1])}")
    return labels


class WelcomePage(QWidget):
    """Buttons that open an example or a recent file through ``open_file``."""

    def __init__(self, recent: list[str], open_file: Callable[[Path], object], parent=None):
        super().__init__(parent)
        self.setObjectName("welcome")
        self._open_file = open_file
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.addWidget(QLabel("<b>Welcome to Backprop Studio</b>"))
        intro = QLabel("Drag nodes from the palette onto the canvas, or start from an example:")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.example_buttons = [self._button(example_title(p), p, str(p), layout)
                                for p in example_files()]
        self.recent_buttons = []
        if recent:
            heading = QLabel("<b>Recent files</b>")
            heading.setContentsMargins(0, 12, 0, 0)
            layout.addWidget(heading)
            self.recent_buttons = [self._button(label, Path(f), f, layout)
                                   for f, label in zip(recent, recent_labels(recent))]

    def _button(self, text: str, path: Path, tip: str, layout: QVBoxLayout) -> QPushButton:
        button = QPushButton(text)
        button.setFlat(True)
        button.setStyleSheet("text-align: left; padding: 3px 6px;")
        button.setToolTip(tip)
        # Opening replaces this page (and the button): let the click finish first.
        button.clicked.connect(lambda: QTimer.singleShot(0, lambda: self._open_file(path)))
        layout.addWidget(button)
        return button
