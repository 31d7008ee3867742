"""The dialog that imports a CSV file as a training data set.

It previews the first rows (read by :mod:`bpstudio.core.training.csvpreview`, so a large file
opens at once), lets a person pick the target column, the feature columns and the task, and loads
the file with :func:`load_csv` after every choice: the summary and the errors shown are the core's
own, and what is imported is exactly what training will read back from the project's settings.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont, QKeyEvent, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from bpstudio.core.training.csvpreview import CsvPreview, default_target, read_preview
from bpstudio.core.training.datasets import (CLASSIFICATION, REGRESSION, DataError, Dataset,
                                             load_csv)

from ..canvas import theme

AUTO = "auto"
# (shown, value passed to load_csv as its task)
TASKS = (("Automatic", AUTO), ("Classification", CLASSIFICATION), ("Regression", REGRESSION))
FILE_FILTER = "CSV tables (*.csv *.tsv *.txt);;All files (*)"
MIN_COLUMN_WIDTH = 56
COLUMN_PADDING = 12
SHOWN_CLASSES = 6  # more class names than this make the summary line wrap; the count says enough

# A lighter red than the canvas's error badge: small text in the badge's red is hard to read on
# the dark background.
_ERROR_STYLE = (f"color: #ff8a8d; background: rgba(229, 72, 77, 0.12); "
                f"border: 1px solid {theme.ERROR_BADGE.name()}; border-radius: 4px; padding: 6px;")
_DIM_STYLE = f"color: {theme.NODE_DIM_TEXT.name()};"
_UNUSED_COLUMN = QBrush(theme.NODE_DIM_TEXT)
# Everything reading a file can raise that says something about the file, not about this code.
READ_ERRORS = (OSError, UnicodeDecodeError, DataError, ValueError, csv.Error)


def error_message(exc: BaseException, path: str) -> str:
    """A one-paragraph message for a failed read: the core's own text for its DataError, and the
    file's name for anything else."""
    if isinstance(exc, DataError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"cannot read {path}: {exc.strerror or exc}"
    return f"{Path(path).name}: {exc}"


def summary_text(data: Dataset, task_choice: str) -> str:
    """Rows, features, task and classes (or the target's range) of a loaded data set."""
    rows = f"{len(data):,} row{'s' if len(data) != 1 else ''}"
    features = f"{data.n_features} feature{'s' if data.n_features != 1 else ''}"
    task = data.task + (" (chosen automatically)" if task_choice == AUTO else "")
    if data.task == CLASSIFICATION:
        names = list(data.class_names[:SHOWN_CLASSES])
        if data.n_classes > SHOWN_CLASSES:
            names.append("…")
        target = f"{data.n_classes} classes of '{data.target_name}': {', '.join(names)}"
    else:
        low, high = float(np.min(data.targets)), float(np.max(data.targets))
        target = f"'{data.target_name}' from {low:g} to {high:g}"
    return " · ".join([rows, features, task, target])


def _dim(item: QTableWidgetItem, dim: bool) -> None:
    # No foreground role (rather than an empty brush, which would paint no text) means the
    # palette's text colour.
    item.setData(Qt.ForegroundRole, _UNUSED_COLUMN if dim else None)


class CsvImportDialog(QDialog):
    """Choose a CSV file, its target and feature columns and the task, and load it.

    ``path`` (optional) is loaded at once; ``target``, ``features`` and ``task`` preselect
    choices (e.g. those stored in a project) where the file has such columns. After ``exec()``
    returns Accepted, :meth:`dataset` is the loaded data and :meth:`choice` its description.
    ``dataset_changed`` carries each new load: a Dataset, or None when the file or the choices
    cannot be loaded (the message is then shown in the dialog).
    """

    dataset_changed = Signal(object)

    def __init__(self, path: str | Path | None = None, parent: QWidget | None = None, *,
                 target: str | None = None, features: Sequence[str] | None = None,
                 task: str = AUTO):
        super().__init__(parent)
        self.setWindowTitle("Import CSV data")
        self._preview: CsvPreview | None = None
        self._dataset: Dataset | None = None
        self._loaded_path: str | None = None

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("A .csv file with a header row naming the columns")
        # Return reloads even the same path (the file may have been edited meanwhile); leaving
        # the field loads what was typed, if it is new.
        self.path_edit.returnPressed.connect(self._load_file)
        self.path_edit.editingFinished.connect(self._path_edited)
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self.browse)
        file_label = QLabel("&File")
        file_label.setBuddy(self.path_edit)
        file_row = QHBoxLayout()
        file_row.addWidget(file_label)
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)

        self.target_combo = QComboBox()
        self.target_combo.currentIndexChanged.connect(lambda _index: self._target_changed())
        self.task_combo = QComboBox()
        for shown, value in TASKS:
            self.task_combo.addItem(shown, value)
        self.task_combo.setCurrentIndex(max(0, self.task_combo.findData(task)))
        self.task_combo.currentIndexChanged.connect(lambda _index: self._reload())
        self.feature_list = QListWidget()
        self.feature_list.setSpacing(1)
        # Fusion outlines a check box in a darker shade of the window colour: on the dark
        # palette an unchecked box in a list is invisible. A light window colour (the list itself
        # paints with its base colour) gives the boxes, and the list's frame, an outline.
        boxes = self.feature_list.palette()
        boxes.setColor(QPalette.Window, theme.NODE_DIM_TEXT)
        self.feature_list.setPalette(boxes)
        self.feature_list.setToolTip("The columns the network reads; the target is never one")
        self.feature_list.itemChanged.connect(lambda _item: self._reload())
        side = QWidget()
        side.setFixedWidth(230)
        choices = QVBoxLayout(side)
        choices.setContentsMargins(0, 0, 0, 0)
        for text, widget in (("&Target column", self.target_combo), ("T&ask", self.task_combo),
                             ("F&eatures", self.feature_list)):
            label = QLabel(text)
            label.setBuddy(widget)
            choices.addWidget(label)
            choices.addWidget(widget)
            choices.addSpacing(6)
        choices.setStretchFactor(self.feature_list, 1)

        self.preview_caption = QLabel("Preview")
        self.preview_caption.setStyleSheet(_DIM_STYLE)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setMinimumSectionSize(MIN_COLUMN_WIDTH)
        self.table.setPalette(boxes)  # the same frame as the list beside it
        self.table.setShowGrid(False)  # alternating rows separate them; a grid would be noise
        self.table.setToolTip("Rows are numbered by line, as errors name them")
        preview = QVBoxLayout()
        preview.setContentsMargins(0, 0, 0, 0)
        preview.addWidget(self.preview_caption)
        preview.addWidget(self.table, 1)
        middle = QHBoxLayout()
        middle.addWidget(side)
        middle.addLayout(preview, 1)

        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.import_button = self.buttons.button(QDialogButtonBox.Ok)
        self.import_button.setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(file_row)
        layout.addLayout(middle, 1)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(860, 520)

        self._initial = (target, list(features) if features is not None else None)
        if path is not None:
            self.set_path(path)
        else:
            self._show_nothing()

    # ------------------------------------------------------------------------------ public
    def path(self) -> str:
        return self.path_edit.text().strip()

    def set_path(self, path: str | Path) -> None:
        """Show and load the file at ``path`` (as if typed in the path field)."""
        self.path_edit.setText(str(path))
        self._load_file()

    def browse(self) -> None:
        start = str(Path(self.path()).parent) if self.path() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Import CSV data", start, FILE_FILTER)
        if path:
            self.set_path(path)

    def target(self) -> str:
        return self.target_combo.currentText()

    def features(self) -> list[str]:
        """The checked feature columns, in the file's order."""
        items = (self.feature_list.item(i) for i in range(self.feature_list.count()))
        return [item.text() for item in items if item.checkState() == Qt.Checked]

    def task(self) -> str:
        return self.task_combo.currentData()

    def choice(self) -> dict[str, Any]:
        """The CSV source as the training settings describe it (``data`` in a project; what
        ``datasets.from_settings`` reads back), with the task as chosen here: "auto" stays
        "auto". The loaded :meth:`dataset`'s ``spec`` holds the task that was decided."""
        return {"source": "csv", "path": self.path(), "target": self.target(),
                "features": self.features(), "task": self.task()}

    def dataset(self) -> Dataset | None:
        """The data set loaded with the current choices, or None while they cannot be loaded."""
        return self._dataset

    def error(self) -> str:
        """The message shown, or "" when there is none."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def accept(self) -> None:
        # The button is disabled then, but accept() is also a slot anyone may call.
        if self._dataset is not None:
            super().accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Return in the path field means "load this file": the line edit has loaded it already,
        # and the dialog must not take the key as a click on Import.
        if self.path_edit.hasFocus() and event.key() in (Qt.Key_Return, Qt.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    # ----------------------------------------------------------------------------- loading
    def _path_edited(self) -> None:
        if self.path() != self._loaded_path:
            self._load_file()

    def _load_file(self) -> None:
        path = self.path()
        self._loaded_path = path
        if not path:
            self._show_nothing()
            return
        try:
            preview = read_preview(path)
        except READ_ERRORS as exc:
            self._preview = None
            self._fill_table(None)
            self._fill_columns(None)
            self._set_result(None, error_message(exc, path))
            return
        self._preview = preview
        self._fill_columns(preview)
        self._fill_table(preview)
        self._reload()

    def _reload(self) -> None:
        """Load the whole file with the current choices; show its summary or its error."""
        if self._preview is None:
            return
        self._style_columns()
        path = self.path()
        if not self.features():
            self._set_result(None, "Check at least one feature column: the network needs an "
                                   "input.")
            return
        try:
            data = load_csv(path, target=self.target(), features=self.features(),
                            task=self.task())
        except READ_ERRORS as exc:
            self._set_result(None, error_message(exc, path))
            return
        self._set_result(data, "")

    def _set_result(self, data: Dataset | None, message: str) -> None:
        self._dataset = data
        self.summary_label.setStyleSheet("")
        self.summary_label.setText(summary_text(data, self.task()) if data is not None else "")
        self.summary_label.setVisible(data is not None)
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self.import_button.setEnabled(data is not None)
        self.dataset_changed.emit(data)

    def _show_nothing(self) -> None:
        self._preview = None
        self._fill_table(None)
        self._fill_columns(None)
        self._dataset = None
        self.summary_label.setText("Choose a CSV file: a header row naming the columns, then one "
                                   "row per sample.")
        self.summary_label.setStyleSheet(_DIM_STYLE)
        self.summary_label.show()
        self.error_label.hide()
        self.import_button.setEnabled(False)
        self.dataset_changed.emit(None)

    # ---------------------------------------------------------------------------- columns
    def _fill_columns(self, preview: CsvPreview | None) -> None:
        """Offer the header's columns: the target (the preselected one, else load_csv's
        default) and every other column as a checked feature (or the preselected ones)."""
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.feature_list.blockSignals(True)
        self.feature_list.clear()
        self.feature_list.blockSignals(False)
        if preview is None or not preview.header:
            self.target_combo.blockSignals(False)
            return
        header = list(preview.header)
        target, features = self._initial
        self._initial = (None, None)  # preselections are for the first file only
        self.target_combo.addItems(header)
        self.target_combo.setCurrentIndex(header.index(target) if target in header
                                          else header.index(default_target(header)))
        self.target_combo.blockSignals(False)
        self._fill_features(checked=set(features) if features is not None else None)

    def _fill_features(self, checked: set[str] | None) -> None:
        """One checkable item per column but the target; ``checked`` None checks them all."""
        self.feature_list.blockSignals(True)
        self.feature_list.clear()
        target = self.target()
        for name in self._preview.header if self._preview else ():
            if name == target:
                continue
            item = QListWidgetItem(name)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
            on = checked is None or name in checked
            item.setCheckState(Qt.Checked if on else Qt.Unchecked)
            self.feature_list.addItem(item)
        self.feature_list.blockSignals(False)

    def _target_changed(self) -> None:
        if self._preview is None:
            return
        # Keep the person's unchecked columns; the column that stops being the target becomes a
        # feature again, checked, as every column starts.
        unchecked = {self.feature_list.item(i).text() for i in range(self.feature_list.count())
                     if self.feature_list.item(i).checkState() != Qt.Checked}
        self._fill_features({n for n in self._preview.header if n not in unchecked})
        self._reload()

    # ------------------------------------------------------------------------------ table
    def _fill_table(self, preview: CsvPreview | None) -> None:
        self.table.clear()
        if preview is None:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.preview_caption.setText("Preview")
            return
        # A row longer than the header is an error the full load reports; show its cells anyway.
        width = max([len(preview.header)] + [len(row) for _, row in preview.rows])
        self.table.setColumnCount(width)
        self.table.setRowCount(len(preview.rows))
        self.table.setHorizontalHeaderLabels(list(preview.header) + [""] * (width -
                                                                         len(preview.header)))
        self.table.setVerticalHeaderLabels([str(line) for line, _ in preview.rows])
        for r, (_, row) in enumerate(preview.rows):
            for c, cell in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(cell))
        self.table.resizeColumnsToContents()
        for c in range(width):
            # Room for the bold title of a target column, and air between narrow numbers.
            self.table.setColumnWidth(c, self.table.columnWidth(c) + COLUMN_PADDING)
        count = len(preview.rows)
        which = f"All {count} rows" if preview.complete else f"First {count} rows"
        self.preview_caption.setText(f"{which} of {Path(preview.path).name} "
                                     f"({preview.delimiter_name}-separated)")

    def _style_columns(self) -> None:
        """Bold the target's title and dim the columns left out, so the table shows the
        choice."""
        if self._preview is None:
            return
        target, used = self.target(), set(self.features())
        for c in range(self.table.columnCount()):
            title = self.table.horizontalHeaderItem(c)
            name = title.text() if title is not None else ""
            in_use = name == target or name in used
            if title is not None:
                font = QFont(title.font())
                font.setBold(name == target)
                title.setFont(font)
                _dim(title, not in_use)
            for r in range(self.table.rowCount()):
                item = self.table.item(r, c)
                if item is not None:
                    _dim(item, not in_use)
