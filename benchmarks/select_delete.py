"""Select All and Delete on a chain of N nodes in the real window (offscreen), against opening
the same chain, measured in the same run: both should grow like N, as the opening does (before,
a 3,000-node chain took 7-13 s to select and 10-13.5 s to delete, while it opened in 1.4 s).
Delete stayed slightly superlinear while a chain reached past the canvas's first +-100,000
units: Qt's index kept every item out there in one cell that each removal searched (per node
60, 79, 102 us at 2,000, 8,000, 16,000 nodes); the canvas now grows to hold its items (50, 56,
66 us; what is left is the index's cells filling as a one-row chain grows).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/select_delete.py [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from bpstudio import Graph


def chain(n: int) -> Graph:
    g = Graph()
    h = g.input("x", (2,))
    for i in range(n - 1):
        h = g.apply("relu" if i % 2 else "tanh", h, name=f"n{i}")
    return g


def timed(app: QApplication, action) -> float:
    start = time.perf_counter()
    action()
    app.processEvents()
    return time.perf_counter() - start


def main() -> None:
    app = QApplication.instance() or QApplication([])
    from bpstudio.gui.main_window import MainWindow
    from bpstudio.gui.settings import Settings
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 3000, 8000]
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(Settings(QSettings(str(Path(folder) / "s.ini"), QSettings.IniFormat)))
        window.show()
        for n in sizes:
            graph = chain(n)
            opening = timed(app, lambda: window.set_graph(graph, path=None))
            selecting = timed(app, window.actions.select_all.trigger)
            deleting = timed(app, window.actions.delete.trigger)
            print(f"{n:>6} nodes: open {opening:6.2f} s, Select All {selecting:6.2f} s "
                  f"({selecting / opening:4.2f}x open), Delete {deleting:6.2f} s "
                  f"({deleting / opening:4.2f}x open)")
            window.undo_stack.clear()
        window.undo_stack.setClean()


if __name__ == "__main__":
    main()
