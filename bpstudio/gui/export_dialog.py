"""The export dialog (File > Export > ONNX…, NumPy Code…, PyTorch Module…): where to write the
file, whether to export the bare graph, and what the file expects and returns.

A project trained on data exports a model that takes raw feature rows (it standardises them
itself) and returns what the app shows (probabilities for a classifier): the
:class:`~bpstudio.core.interface.ModelInterface` the core reads from the project's data says
so, and the dialog shows its words. "Bare graph" exports the graph as it computes, for those
who standardise and read the scores themselves; a project without data can only export that.

:func:`write_export` is the export itself, shared by the dialog and the window's scripted
exports (``MainWindow.export_onnx(path)``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton,
                               QStyle, QVBoxLayout, QWidget)

from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.export_common import inference_output
from bpstudio.core.files.export_numpy import export_numpy
from bpstudio.core.files.export_onnx import export_onnx
from bpstudio.core.files.export_torch import export_torch
from bpstudio.core.graph import Graph
from bpstudio.core.interface import ModelInterface
from bpstudio.core.project import Project
from bpstudio.core.shapes import BATCH, format_shape
from bpstudio.core.training.datasets import DataError
from bpstudio.core.training.interface import model_interface, training_data

BARE_TEXT = "Bare graph: no standardisation, raw scores"
ERROR_STYLE = "color: #b03030;"


@dataclass(frozen=True)
class ExportFormat:
    key: str
    title: str                 # "ONNX model": the dialog's title says "Export ONNX model"
    suffix: str
    file_filter: str
    write: Callable[..., None]  # export_onnx, export_numpy, export_torch
    weights_beside: bool       # whether a .npz of the weights is written beside the file


ONNX = ExportFormat("onnx", "ONNX model", ".onnx", "ONNX models (*.onnx)", export_onnx, False)
NUMPY = ExportFormat("numpy", "NumPy code", ".py", "Python (*.py)", export_numpy, True)
TORCH = ExportFormat("torch", "PyTorch module", ".py", "Python (*.py)", export_torch, True)
FORMATS = {f.key: f for f in (ONNX, NUMPY, TORCH)}


def write_export(fmt: ExportFormat, project: Project, path: Path, output: str | None = None,
                 bare: bool = False) -> ModelInterface | None:
    """Export ``project``'s graph up to ``output`` (by default what its loss compares) to
    ``path``: taking raw rows and returning what the app shows when the project has training
    data, unless ``bare``. Returns the interface written (None: the bare graph). Raises a
    BPStudioError (e.g. a DataError naming a data file that has gone), OSError or ImportError
    saying why nothing was written."""
    interface = None if bare else model_interface(project, output)
    fmt.write(project.graph, path, output=output, description=project.description,
              interface=interface)
    return interface


def files_written(fmt: ExportFormat, path: Path) -> str:
    """ "model.onnx", or "model.py and model.npz" for code with its weights beside it."""
    return f"{path.name} and {path.with_suffix('.npz').name}" if fmt.weights_beside else path.name


def bare_texts(graph: Graph, output: str | None, standardised: bool) -> tuple[str, str]:
    """What the bare graph takes and returns, in words: its inputs as the graph receives
    them, its output as the graph computes it."""
    end = inference_output(graph, output)
    inputs = [n for n in graph.topological_order([end]) if n.spec.source == "input"]
    takes = ", ".join(f"'{n.name}' {format_shape((BATCH, *n.params['shape']))}" for n in inputs)
    takes = (f"the graph's input{'s' if len(inputs) != 1 else ''} {takes}, as the graph "
             "receives them" if inputs else "no input")
    if standardised:
        takes += ": the features standardised as in training (you subtract the mean and divide "
        takes += "by the standard deviation first)"
    return takes, f"the values of '{end.name}' as the graph computes them (scores are not " \
                  "turned into probabilities)"


class ExportDialog(QDialog):
    """File > Export > ONNX… (and NumPy Code…, PyTorch Module…). ``exported(path, text)``
    fires once a file is written, with a sentence for the status bar."""

    exported = Signal(str, str)

    def __init__(self, fmt: ExportFormat, project: Project, output: str | None,
                 start_path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.fmt, self.project, self.output = fmt, project, output
        self.setWindowTitle(f"Export {fmt.title}")
        self.setObjectName("export_dialog")
        self.interface: ModelInterface | None = None
        self.problem: str | None = None    # why the model with the preprocessing cannot be made
        try:
            data = training_data(project)
        except DataError as exc:  # the message names the file; the note says what it means
            self.problem = f"the training data cannot be read ({exc})"
        else:
            try:
                self.interface = model_interface(project, output, data=data)
            except BPStudioError as exc:
                self.problem = str(exc)
        self._build(start_path)
        self._show_interface()

    # ------------------------------------------------------------------------------ build
    def _build(self, start_path: Path) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        try:
            what = f"'{inference_output(self.project.graph, self.output).name}'"
            if self.output is not None:
                what += " (the selected node; select none to export the whole model)"
        except BPStudioError as exc:
            what = f"none: {exc}"
        output_label = QLabel(what, objectName="export_output", wordWrap=True)
        form.addRow("Output:", output_label)
        line = QHBoxLayout()
        self.path_edit = QLineEdit(str(start_path), objectName="export_path")
        self.path_edit.setMinimumWidth(380)
        self.path_edit.textChanged.connect(self._show_interface)
        line.addWidget(self.path_edit, 1)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self.browse)
        line.addWidget(self.browse_button)
        form.addRow("File:", line)
        layout.addLayout(form)

        self.bare_box = QCheckBox(BARE_TEXT, objectName="export_bare")
        self.bare_box.setToolTip("Export the graph as it computes: its input takes the "
                                 "features as training fed them, its output is the graph's "
                                 "own (scores, not probabilities)")
        layout.addWidget(self.bare_box)
        self.bare_note = QLabel(objectName="export_bare_note", wordWrap=True)
        layout.addWidget(self.bare_note)
        if self.problem is not None:  # the person chooses to go on without the preprocessing
            self.bare_note.setText(self._why_bare())
            self.bare_note.setStyleSheet(ERROR_STYLE)
        elif self.interface is None:  # nothing to carry: the bare graph it is
            self.bare_box.setChecked(True)
            self.bare_box.setEnabled(False)
            self.bare_note.setText(self._why_bare())
        else:
            self.bare_note.hide()

        self.contract = QLabel(objectName="export_contract", wordWrap=True)
        self.contract.setTextFormat(Qt.RichText)
        self.contract.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.contract.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        layout.addWidget(self.contract)
        layout.addStretch(1)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.export_button.setIcon(self.style().standardIcon(QStyle.SP_DialogSaveButton))
        self.export_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.bare_box.toggled.connect(self._show_interface)

    def _why_bare(self) -> str:
        if self.problem is not None:
            return (f"Cannot export the model as it was trained: {self.problem}. Tick the box "
                    "to export the bare graph instead.")
        if "data" not in (self.project.training or {}):
            return ("The project has no training data, so there is no standardisation to "
                    "carry: the bare graph is what is exported.")
        return ("The chosen output does not read the features, so there is nothing to "
                "standardise: the bare graph is what is exported.")

    # ---------------------------------------------------------------------------- reading
    @property
    def bare(self) -> bool:
        return self.bare_box.isChecked()

    @property
    def path(self) -> Path:
        text = self.path_edit.text().strip()
        return Path(text if text.endswith(self.fmt.suffix) else text + self.fmt.suffix)

    def _show_interface(self) -> None:
        """What the file will expect and return."""
        if self.interface is not None and not self.bare:
            takes, gives = self.interface.input_text(), self.interface.output_text()
        else:
            try:
                takes, gives = bare_texts(self.project.graph, self.output,
                                          self._trained_standardised())
            except BPStudioError as exc:
                takes = gives = f"nothing can be exported yet: {exc}"
        e = html.escape
        self.contract.setText(f"<p><b>Writes:</b> {e(self._files_text())}</p>"
                              f"<p><b>Takes:</b> {e(takes)}</p><p><b>Returns:</b> {e(gives)}</p>")
        # Without the interface only the bare graph can be written, and the person says so.
        self.export_button.setEnabled(self.interface is not None or self.bare)
        self._fit()

    def _fit(self, width: int = 660) -> None:
        """Tall enough for every wrapped line at the dialog's width (a longer text after the
        box is ticked included)."""
        width = max(width, self.width()) if self.isVisible() else width
        needed = self.layout().totalHeightForWidth(width)
        if not self.isVisible() or self.height() < needed:
            self.resize(width, needed)

    def _files_text(self) -> str:
        text = self.path_edit.text().strip()
        if not text:
            return "(choose a file)"
        return files_written(self.fmt, self.path) + (
            ", the weights in NumPy's .npz format beside the code" if self.fmt.weights_beside
            else "")

    def _trained_standardised(self) -> bool:
        return self.interface is not None and self.interface.standardised

    # ---------------------------------------------------------------------------- actions
    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.fmt.title}",
                                              self.path_edit.text(), self.fmt.file_filter)
        if path:
            self.path_edit.setText(path if path.endswith(self.fmt.suffix)
                                   else path + self.fmt.suffix)
            self._show_interface()

    def export(self) -> bool:
        """Write the file; on failure say why in a message box and stay open."""
        if not self.path_edit.text().strip():
            QMessageBox.critical(self, "Cannot export", "Choose the file to write first.")
            return False
        path = self.path
        try:
            interface = write_export(self.fmt, self.project, path, self.output, self.bare)
        except (BPStudioError, ValueError, OSError, ImportError) as exc:
            QMessageBox.critical(self, "Cannot export", f"Cannot export {path.name}:\n\n{exc}")
            return False
        kind = "the bare graph" if interface is None else "taking raw rows"
        self.exported.emit(str(path), f"Exported {files_written(self.fmt, path)} ({kind})")
        self.accept()
        return True


__all__ = ["BARE_TEXT", "ExportDialog", "ExportFormat", "FORMATS", "NUMPY", "ONNX", "TORCH",
           "bare_texts", "write_export"]
