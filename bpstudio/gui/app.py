"""Application entry point: ``bpstudio [FILE]``."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from bpstudio import __version__
from bpstudio.core.ops import GROUPS, REGISTRY


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    app = QApplication.instance() or QApplication(argv)
    window = QMainWindow()
    window.setWindowTitle(f"Backprop Studio {__version__}")
    lines = [f"<b>{group}</b>: " + ", ".join(op.title for op in REGISTRY.values() if op.group == group)
             for group in GROUPS]
    window.setCentralWidget(QLabel("<br>".join(lines)))
    window.resize(900, 600)
    window.show()
    return app.exec()
