"""Help menu dialogs: Keyboard Shortcuts (made from the window's actions, so that it lists what
the keys really do) and About (the version, and the licences of what the app ships and uses)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from bpstudio.version import __version__

# (component, licence, what it is here): the bundled data per resources/DATA.md.
LICENCES = [
    ("Iris and Optical Recognition of Handwritten Digits data sets (UCI Machine Learning "
     "Repository, copied from scikit-learn)", "CC BY 4.0 (data); scikit-learn's BSD 3-Clause"),
    ("Qt, through PySide6", "LGPL v3"),
    ("NumPy", "BSD 3-Clause"),
    ("pyqtgraph", "MIT"),
    ("ONNX", "Apache 2.0"),
    ("threadpoolctl", "BSD 3-Clause"),
]


def action_label(action: QAction) -> str:
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(action, its shortcuts) for every action of ``window`` that has a shortcut."""
    rows = []
    # QWidget's own list: the main window's ``actions`` attribute is its table of named actions.
    for action in QWidget.actions(window):
        keys = [k.toString(QKeySequence.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if keys and action.text():
            rows.append((action_label(action), ", ".join(keys)))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        for row, (label, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        note = QLabel("On the canvas, Tab also opens the node search.")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(460, 560)


def about_text() -> str:
    import numpy
    import PySide6
    import pyqtgraph
    from PySide6.QtCore import qVersion

    rows = "".join(f"<tr><td>{html.escape(what)}</td><td>&nbsp;{html.escape(licence)}</td></tr>"
                   for what, licence in LICENCES)
    return (f"<h3>Backprop Studio {__version__}</h3>"
            "<p>Build computation graphs, watch backpropagation and train them.</p>"
            "<p>Backprop Studio is MIT licensed.</p>"
            f"<p>Qt {qVersion()}, PySide6 {PySide6.__version__}, NumPy {numpy.__version__}, "
            f"pyqtgraph {pyqtgraph.__version__}</p>"
            f"<p><b>Bundled and used</b></p><table>{rows}</table>")


class AboutDialog(QDialog):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("About Backprop Studio")
        self.label = QLabel(about_text())
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)
        self.resize(520, 380)
