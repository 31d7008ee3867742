"""Unexpected errors: any exception that reaches the event loop is written to a log file and
shown in a dialog with its details, and the app goes on running with the document as it was.

Without this, PySide prints the traceback to a terminal that a desktop user never sees, and
the click that failed seems simply to do nothing.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from bpstudio.version import __version__

from .settings import app_data_dir

LOG_NAME = "bpstudio.log"
MAX_LOG_BYTES = 1_000_000  # past this the log starts again: only recent errors matter


def default_log_path(folder: Path | None = None) -> Path:
    """The log in ``folder`` (the app's per-user data folder when not given)."""
    return (app_data_dir() if folder is None else folder) / "logs" / LOG_NAME


def write_log(path: Path, details: str) -> bool:
    """Append ``details`` to the log at ``path``; False if it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "w" if path.exists() and path.stat().st_size > MAX_LOG_BYTES else "a"
        with open(path, mode, encoding="utf-8") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"--- {stamp} Backprop Studio {__version__}\n{details}\n")
        return True
    except OSError:
        return False


class ErrorReporter:
    """The ``sys.excepthook`` of the app: log, then tell the person in a dialog."""

    def __init__(self, parent: QWidget | None, log_path: Path | None = None):
        self.parent = parent
        self.log_path = log_path if log_path is not None else default_log_path()
        self.previous = sys.excepthook
        self._showing = False
        self.dialog: QMessageBox | None = None  # the last one shown (for tests)

    def __call__(self, kind: type[BaseException], error: BaseException,
                 tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):  # Ctrl+C in a terminal still quits
            self.previous(kind, error, tb)
            return
        details = "".join(traceback.format_exception(kind, error, tb))
        sys.stderr.write(details)
        logged = write_log(self.log_path, details)
        if self._showing:  # an error while the dialog is up: logged, not stacked
            return
        self._showing = True
        try:
            self.show_dialog(kind, error, details, logged)
        finally:
            self._showing = False

    def show_dialog(self, kind: type[BaseException], error: BaseException, details: str,
                    logged: bool) -> None:
        summary = f"{kind.__name__}: {error}" if str(error) else kind.__name__
        if len(summary) > 300:
            summary = summary[:300] + "…"
        where = (f"The details were written to:\n{self.log_path}" if logged
                 else f"The log file {self.log_path} could not be written.")
        box = QMessageBox(QMessageBox.Critical, "Unexpected error",
                          "Something went wrong, and what you did may not have finished.\n\n"
                          f"{summary}\n\nYour graph is as it was; you can go on working and "
                          f"save it.\n\n{where}", QMessageBox.Ok, self.parent)
        box.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box.setDetailedText(details)  # a read-only box the person can select and copy from
        self.dialog = box
        box.exec()


def install_excepthook(parent: QWidget | None, log_path: Path | None = None) -> ErrorReporter:
    """Make uncaught exceptions reach a dialog over ``parent`` and the log at ``log_path``."""
    reporter = ErrorReporter(parent, log_path)
    sys.excepthook = reporter
    return reporter
