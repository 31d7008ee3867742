"""Which rows Forward, Backward, the walkthrough, the gradient check and the handout run on.

Once the project has training data they run on rows of it as training sees them (by default
the first 8 of the training split; the row picker chooses others by number), else on the
graph's own sample (see :mod:`bpstudio.core.training.rows`). :class:`RunRows` holds the
choice for the open document, and every panel that runs the graph by hand asks it for the
rows, so that they all run on the same ones. Data that cannot be used (a CSV file that has
gone, rows the graph no longer fits) never stops a pass: the graph's sample is used instead and
the reason travels with the rows.

:class:`RowPicker` is the widget that chooses them (in the walkthrough panel and in the
dialog of Run > Choose Rows…).
"""

from __future__ import annotations

import dataclasses
import weakref

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from bpstudio.core.errors import BPStudioError
from bpstudio.core.graph import NodeRef
from bpstudio.core.project import Project
from bpstudio.core.sample import SampleRows, sample_rows
from bpstudio.core.training.defaults import fitting_data
from bpstudio.core.training.rows import (DEFAULT_COUNT, ROW_NUMBERS_HELP, TRAINING,
                                         VALIDATION, parse_row_numbers, training_rows)

from .document import Document

ERROR_STYLE = "color: #b03030;"


@dataclasses.dataclass(frozen=True)
class RowsToRun:
    """The rows a pass runs on, and why they are not the training rows asked for (None when
    they are what was asked)."""

    rows: SampleRows
    problem: str | None = None


class RunRows(QObject):
    """The rows chosen for the open document: ``indices`` (0-based within ``split``; None for
    the first rows) of its training data. ``changed`` fires when the choice, the document or
    its training state (a run may have given it data) changes: whoever shows values runs again.
    """

    changed = Signal()

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.indices: tuple[int, ...] | None = None
        self.split = TRAINING
        # Which data the passes run on, worked out once: it depends on the graph's inputs and
        # wiring and the project's training settings, never on its weights, so a live rerun
        # after a weight edit (every pass) reads it from here.
        self._memo: dict = {}
        self._unsubscribe = self._follow_graph()
        document.replaced.connect(self.reset)
        document.training_state_changed.connect(self._training_changed)

    def _follow_graph(self):
        """Subscribe to the document's graph through a weak reference: a graph holding this
        QObject would make a cycle that Python's collector may then free from any thread
        (the gradient check's worker), destroying Qt objects off the GUI thread."""
        me = weakref.ref(self)

        def listener(event) -> None:
            rows = me()
            if rows is not None:
                rows._graph_changed(event)
        return self.document.graph.subscribe(listener)

    def _graph_changed(self, event) -> None:
        if event.field == "position" or (event.field == "value" and event.node is not None
                                         and event.node.spec.source != "input"):
            return  # a move or a new weight: the same rows
        self._memo.clear()

    def _training_changed(self) -> None:
        self._memo.clear()
        self.changed.emit()

    def _remembered(self, key, work):
        training = repr(self.document.project.training)  # (settings can change in place)
        full_key = (key, training)
        if full_key not in self._memo:
            self._memo[full_key] = work()
        return self._memo[full_key]

    @property
    def has_data(self) -> bool:
        """Whether the project has training data (which may still fail to be read): data it
        names, or the data set the Training dock offers for its graph when one fits it."""
        return self._project() is not None

    def _project(self) -> Project | None:
        return self._remembered("project", self._work_out_project)

    def _work_out_project(self) -> Project | None:
        """The project as a run by hand sees it: with the data set Train would use when the
        project names none but one fits its graph (an example, a new graph), so that the rows
        are those the dock shows; None when there is no such data, or when the graph has a
        sample of its own that was not drawn at random (a lesson's hand-picked rows)."""
        project = self.document.project
        if "data" in (project.training or {}):
            return project
        fitting = fitting_data(project.graph)
        if fitting is None:
            return None
        try:
            if not sample_rows(project.graph).random:
                return None
        except BPStudioError:
            return None  # the sample cannot run: running it says why (an input without one)
        training = {**(project.training or {}), "data": {"source": fitting}}
        return dataclasses.replace(project, training=training)

    def reset(self) -> None:
        """The first rows of the training split (another document is open)."""
        self._unsubscribe()
        self._unsubscribe = self._follow_graph()
        self._memo.clear()
        self.indices, self.split = None, TRAINING
        self.changed.emit()

    @property
    def text(self) -> str:
        """The chosen rows as a person types them: "1-8", "3,7,12"."""
        if self.indices is None:
            return f"1-{DEFAULT_COUNT}"
        return ",".join(str(i + 1) for i in self.indices)

    def choose(self, text: str, split: str = TRAINING) -> str | None:
        """Run on the rows ``text`` ("1-8", "3,7,12") of ``split``. Returns why they cannot
        be chosen (and keeps the rows as they were), or None once they are."""
        if split not in (TRAINING, VALIDATION):
            return f"the split is '{TRAINING}' or '{VALIDATION}', not {split!r}"
        if not self.has_data:
            return ("The project has no training data yet: passes run on the graph's sample "
                    "rows. Choose a data set in the Training dock and train to use its rows.")
        try:
            indices = tuple(parse_row_numbers(text))
            training_rows(self._project(), indices, split=split)  # they exist and fit
        except BPStudioError as exc:
            return str(exc)
        if (indices, split) != (self.indices, self.split):
            self.indices, self.split = indices, split
            self.changed.emit()
        return None

    def rows(self, output: NodeRef | None = None) -> RowsToRun:
        """What a pass up to ``output`` runs on now: the chosen training rows, else (no data,
        or data that cannot be used) the graph's sample rows. Raises what the sample raises
        (a GraphError or FeedError saying why the graph cannot run)."""
        project = self._project()
        if project is None:
            return RowsToRun(sample_rows(self.document.graph, output))
        graph = project.graph
        graph.check([graph.default_output() if output is None else graph.node(output)])
        try:  # (read each time: a data file that has gone is then said at once)
            return RowsToRun(training_rows(project, self.indices, split=self.split))
        except BPStudioError as exc:
            problem = f"the training rows cannot be used ({exc})"
        sample = sample_rows(project.graph, output)
        plural = "s" if sample.count != 1 else ""
        label = f"the graph's {sample.count} sample row{plural}, since {problem}"
        return RowsToRun(dataclasses.replace(sample, label=label), problem)


class RowPicker(QWidget):
    """Rows [1-8] of the [training] split: what they are, or why the typed rows cannot be
    used. A choice takes effect on Return or when the split changes."""

    def __init__(self, rows: RunRows, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_rows = rows
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        line = QHBoxLayout()
        line.addWidget(QLabel("Rows:"))
        self.edit = QLineEdit(objectName="rows_edit", placeholderText=f"1-{DEFAULT_COUNT}")
        self.edit.setToolTip(f"Which rows of the training data to run on: {ROW_NUMBERS_HELP} "
                             "(Return to use them)")
        self.edit.setMaximumWidth(140)
        self.edit.returnPressed.connect(self.apply)
        line.addWidget(self.edit)
        line.addWidget(QLabel("of the"))
        self.split = QComboBox(objectName="rows_split", toolTip="The rows' split")
        self.split.addItems([TRAINING, VALIDATION])
        self.split.currentIndexChanged.connect(self.apply)
        line.addWidget(self.split)
        line.addWidget(QLabel("split"))
        line.addStretch(1)
        layout.addLayout(line)
        self.message = QLabel(objectName="rows_message", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.message)
        rows.changed.connect(self.refresh)
        self.refresh()

    def apply(self) -> bool:
        """Use the typed rows; False (with the reason shown) when they cannot be used."""
        problem = self.run_rows.choose(self.edit.text().strip() or self.edit.placeholderText(),
                                       self.split.currentText())
        if problem is not None:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(problem)
            return False
        self.refresh()
        return True

    def refresh(self) -> None:
        """Show the current choice and what the passes run on."""
        chosen = self.run_rows
        for widget, value in ((self.edit, chosen.text), (self.split, chosen.split)):
            widget.blockSignals(True)
            if widget is self.edit:
                widget.setText(value)
            else:
                widget.setCurrentText(value)
            widget.blockSignals(False)
        self.edit.setEnabled(chosen.has_data)
        self.split.setEnabled(chosen.has_data)
        try:
            now = chosen.rows()
        except BPStudioError as exc:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(f"The graph cannot run yet: {exc}")
            return
        self.message.setStyleSheet(ERROR_STYLE if now.problem else "")
        self.message.setText(f"Passes run on {now.rows.label}.")


class RowsDialog(QDialog):
    """Run > Choose Rows…: the row picker on its own."""

    def __init__(self, rows: RunRows, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Rows to Run On")
        self.setObjectName("rows_dialog")
        layout = QVBoxLayout(self)
        intro = QLabel("Forward, Backward, the walkthrough, the gradient check and the "
                       "handout run on these rows of the training data, standardised as "
                       f"training sees them. Type {ROW_NUMBERS_HELP}, then Return.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.picker = RowPicker(rows, self)
        layout.addWidget(self.picker)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        close = buttons.button(QDialogButtonBox.Close)
        close.setAutoDefault(False)  # Return in the rows' field chooses them, not closes
        close.setDefault(False)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 180)

    def showEvent(self, event) -> None:
        self.picker.refresh()
        super().showEvent(event)


__all__ = ["RowPicker", "RowsDialog", "RowsToRun", "RunRows"]
