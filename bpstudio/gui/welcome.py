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
            self.recent_buttons = [self._button(Path(f).name, Path(f), f, layout)
                                   for f in recent]

    def _button(self, text: str, path: Path, tip: str, layout: QVBoxLayout) -> QPushButton:
        button = QPushButton(text)
        button.setFlat(True)
        button.setStyleSheet("text-align: left; padding: 3px 6px;")
        button.setToolTip(tip)
        # Opening replaces this page (and the button): let the click finish first.
        button.clicked.connect(lambda: QTimer.singleShot(0, lambda: self._open_file(path)))
        layout.addWidget(button)
        return button
