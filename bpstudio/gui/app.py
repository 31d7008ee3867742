"""Application entry point: ``bpstudio [FILE]`` opens the editor, with FILE when given."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from bpstudio.version import __version__

from . import appearance
from .clipboard import MIME_TYPE
from .crash import default_log_path, install_excepthook
from .icons import app_icon
from .main_window import MainWindow


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, matching the canvas."""
    p = QPalette()
    window, base, text = QColor("#26282e"), QColor("#1f2126"), QColor("#dde1e8")
    p.setColor(QPalette.Window, window)
    p.setColor(QPalette.WindowText, text)
    p.setColor(QPalette.Base, base)
    p.setColor(QPalette.AlternateBase, QColor("#2a2d33"))
    p.setColor(QPalette.ToolTipBase, QColor("#30333a"))
    p.setColor(QPalette.ToolTipText, text)
    p.setColor(QPalette.PlaceholderText, QColor("#80868f"))
    p.setColor(QPalette.Text, text)
    p.setColor(QPalette.Button, QColor("#2e3138"))
    p.setColor(QPalette.ButtonText, text)
    p.setColor(QPalette.BrightText, QColor("#ff6b6b"))
    p.setColor(QPalette.Link, QColor("#5ec8ff"))
    p.setColor(QPalette.Highlight, QColor("#3a6ea5"))
    p.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.Mid, QColor("#1a1c20"))
    p.setColor(QPalette.Dark, QColor("#16181b"))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor("#6b707a"))
    return p


def style_application(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(
        "QToolTip { color: #dde1e8; background: #30333a; border: 1px solid #44484f; }"
        "QDockWidget::title { padding: 6px; background: #2b2e35; }"
        "QToolBar { border: none; spacing: 4px; }")


def release_clipboard() -> None:
    """Drop nodes this app put on the clipboard before Qt shuts down: no other program can read
    them, and Qt would otherwise free them after Python has gone."""
    clipboard = QApplication.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasFormat(MIME_TYPE):
        clipboard.clear()


STARTUP_TIMING_ENV = "BPSTUDIO_STARTUP_T0"


def report_startup(app: QApplication, started: str) -> None:
    """Print the seconds from ``started`` (the time.time() at which the process was launched)
    to now, the first idle turn of the event loop with the window shown, and quit."""
    try:
        print(f"startup {time.time() - float(started):.4f}", flush=True)
    except ValueError:
        print("startup ? (BPSTUDIO_STARTUP_T0 is not a time)", flush=True)
    app.quit()


def main(argv: list[str] | None = None) -> int:
    # A frozen bundle starts training processes by running this same executable: they must
    # become workers here rather than open another window.
    multiprocessing.freeze_support()
    argv = list(sys.argv if argv is None else argv)
    if "--self-test" in argv[1:]:
        from .selftest import run

        return run([a for a in argv[1:] if not a.startswith("-")])
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Backprop Studio")
    app.setOrganizationName("bpstudio")
    app.setApplicationVersion(__version__)
    style_application(app)
    app.setWindowIcon(app_icon())
    app.aboutToQuit.connect(release_clipboard)
    window = MainWindow()
    install_excepthook(window, default_log_path(window.settings.state_dir()))
    appearance.install(app, window.settings.appearance(), style_application)
    window.show()
    files = [a for a in argv[1:] if not a.startswith("-")]
    if files:
        window.open_file(files[0])
    if os.environ.get(STARTUP_TIMING_ENV):  # benchmarks/startup.py: time to a live window
        QTimer.singleShot(0, lambda: report_startup(app, os.environ[STARTUP_TIMING_ENV]))
    return app.exec()
