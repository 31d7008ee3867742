"""The inspector: name, op, parameters, value, inferred shape and problems of the selected node;
an input's sample rows in a small table; and, after Forward or Backward, the node's full value
and gradient.

Parameter editors are generated from the op's typed parameters (float, int, bool, choice, shape,
axis), so a new op needs no code here. A value that does not fit its parameter is refused with
the parameter's own message (shown here and in the status bar) and is not applied; accepted
edits become undo commands like every other edit.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QFrame,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QScrollArea, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from bpstudio.core.errors import GraphError
from bpstudio.core.graph import MAX_SAMPLE_ROWS, GraphEvent
from bpstudio.core.ops.base import MAX_DIMS, Param, shown
from bpstudio.core.shapes import format_shape

from . import commands, jsontext
from .canvas import theme
from .canvas.scene import GraphScene
from .layer_inspector import LayerEditor
from .run_view import RunView, full_text

EDITABLE_VALUE_SIZE = 64
SAMPLE_PAGE_COLUMNS = 50  # columns of a sample shown at a time
NOTHING_SELECTED = ("Select a node to see its parameters. Drag ops from the palette, or press "
                    "Tab on the canvas to search for one.")  # larger arrays are summarised, not typed in

_ERROR_STYLE = f"color: {theme.ERROR_BADGE.name()};"
_INVALID_FIELD = f"border: 1px solid {theme.ERROR_BADGE.name()};"


def format_param(param: Param, value: Any) -> str:
    if param.kind == "shape":
        return ", ".join(str(d) for d in value) if value else "()"  # () is a single number
    if param.kind == "axis":
        return "all" if value is None else str(value)
    return str(value)


def format_array(value: np.ndarray) -> str:
    return json.dumps(np.round(value, 6).tolist())


def parse_value(text: str, label: str) -> np.ndarray:
    """The numbers typed into a value field (JSON: 0.5, [1, 2], [[1, 2], [3, 4]]), or a
    GraphError naming the node. An array has at most MAX_DIMS dimensions, so deeper text is
    refused before the JSON reader recurses into it."""
    try:
        # Whole numbers are read as floats: 400 digits become inf (refused below) instead of
        # a Python int that NumPy cannot convert.
        data = jsontext.loads(text, max_depth=MAX_DIMS, parse_int=float)
    except jsontext.NestingError as exc:
        raise GraphError(f"{label}: the value is {exc}; an array has at most {MAX_DIMS} "
                         "dimensions") from None
    except ValueError:
        data = None  # refused below, with the typed text
    if _is_numbers(data):
        array = np.array(data, dtype=np.float64)
        if np.all(np.isfinite(array)):
            return array
        raise GraphError(f"{label}: the value must be finite numbers, each at most about 1.8e308 "
                         f"in size; not {shown(text)}")
    raise GraphError(f"{label}: the value must be numbers written as JSON, e.g. 0.5 or "
                     f"[[1, 2], [3, 4]]; not {shown(text)}")


def _is_numbers(data: Any) -> bool:
    """Whether parsed JSON is a number or a regular (not ragged) nest of lists of numbers.
    (NumPy would read text such as "1.5" as a number, and ragged lists as objects.)"""
    try:
        array = np.array(data)
    except ValueError:  # ragged
        return False
    return array.dtype.kind in "iuf"  # ([] is float: the graph says it holds no number)


class InspectorWidget(QWidget):
    """Shows and edits the one selected node. ``status_message`` carries refusals."""

    status_message = Signal(str)

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(parent)
        self.scene = scene
        self.document = scene.document  # the gate edits go through, and the lock
        self.node_id: str | None = None
        self.description = ""
        self.editors: dict[str, QWidget] = {}
        self.name_edit: QLineEdit | None = None
        self.value_edit: QLineEdit | None = None
        self.value_label: QLabel | None = None
        self.sample_table: QTableWidget | None = None
        self.results_label: QLabel | None = None
        self.layer_editor: LayerEditor | None = None  # while a layer's block is selected
        self.run_view: RunView | None = None  # where the values of the last pass come from
        # What to show below "nothing selected" on an empty, untitled graph (the welcome page).
        self.welcome: Callable[[], QWidget | None] | None = None
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.hide()
        # A layer's page is re-read once an edit is complete (a macro may take the group away
        # and bring it back on the way).
        self._layer_timer = QTimer(self)
        self._layer_timer.setSingleShot(True)
        self._layer_timer.setInterval(0)
        self._layer_timer.timeout.connect(self._reload_layer)

        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._scroll)
        self._show_empty(NOTHING_SELECTED)

        # A selection of many nodes changes once per node (Select All, Delete): the inspector
        # follows it at once while it holds one node, and once the burst is over when more.
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._selection_burst_over)
        self._selection_pending = False  # (a change came during the burst: read it when over)
        self.selection_updates = 0  # (how often the selection was read: work, for the tests)
        scene.selectionChanged.connect(self._selection_changed)
        scene.validated.connect(self._update_status_lines)
        scene.graph_event.connect(self._graph_event)

    def set_run_view(self, run_view: RunView) -> None:
        """Show the values and gradients of ``run_view``'s passes for the selected node."""
        self.run_view = run_view
        run_view.values_changed.connect(self._show_results)

    # --------------------------------------------------------------------------- building
    def set_description(self, text: str) -> None:
        """The project's description, shown while no node is selected."""
        self.description = text
        if self.node_id is None:
            self._show_empty(NOTHING_SELECTED)

    def _show_empty(self, text: str) -> None:
        self.node_id = None
        self.layer_editor = None
        self.editors = {}
        self.name_edit = self.value_edit = None
        self.value_label = None
        self.sample_table = None
        self.results_label = None
        page = QWidget()
        layout = QVBoxLayout(page)
        label = QLabel(text)
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {theme.NODE_DIM_TEXT.name()};")
        layout.addWidget(label)
        if text == NOTHING_SELECTED and self.description:
            heading = QLabel("<b>About this project</b>")
            heading.setContentsMargins(0, 12, 0, 0)
            layout.addWidget(heading)
            about = QLabel(self.description)
            about.setObjectName("description")
            about.setWordWrap(True)
            about.setTextInteractionFlags(Qt.TextSelectableByMouse)
            layout.addWidget(about)
        elif text == NOTHING_SELECTED and self.welcome is not None:
            welcome = self.welcome()
            if welcome is not None:
                layout.addWidget(welcome)
        layout.addStretch(1)
        self.error_label = QLabel()
        self.error_label.hide()
        self._scroll.setWidget(page)

    def _selection_changed(self) -> None:
        if self._selection_timer.isActive():
            self._selection_pending = True  # a burst of changes: shown once it is over
            return
        self._show_selection()

    def _selection_burst_over(self) -> None:
        # Read again only if something changed since the last read: re-arming the timer on
        # every read kept a large selection being read in a loop while the window was idle.
        if self._selection_pending:
            self._selection_pending = False
            self._show_selection()

    def _show_selection(self) -> None:
        # The scene announces a cleared selection while it is being destroyed with the window.
        if not shiboken6.isValid(self.scene) or not shiboken6.isValid(self) \
                or self.scene.graph is None:
            return
        self.selection_updates += 1
        ids = self.scene.selected_node_ids()
        groups = self.scene.selected_groups()
        if len(groups) == 1 and set(ids) == set(self.scene.graph.member_ids(groups[0])):
            if self.layer_editor is None or self.layer_editor.group_id != groups[0]:
                self.show_layer(groups[0])
        elif len(ids) == 1:
            if ids[0] != self.node_id:
                self.show_node(ids[0])
        elif len(ids) > 1:
            self._show_empty(f"{len(ids)} nodes selected.")
            # Reading the selection costs its size: while it is large, read it again only when
            # the changes stop, not at each (that made Select All quadratic).
            self._selection_timer.start()
        else:
            self._show_empty(NOTHING_SELECTED)

    def show_layer(self, group_id: str) -> None:
        """The page of a layer's block: its name, and a dense layer's shape, activation and
        initialiser (see :mod:`.layer_inspector`)."""
        self._show_empty("")
        page = QWidget()
        layout = QVBoxLayout(page)
        self.layer_editor = LayerEditor(self.scene, group_id, self._apply)
        layout.addWidget(self.layer_editor)
        self._finish_page(page, layout)
        self.layer_editor.set_read_only(self.document.locked)

    def _reload_layer(self) -> None:
        editor = self.layer_editor
        if editor is None or not shiboken6.isValid(editor):
            return
        if editor.group_id in self.scene.graph.groups:
            editor.load()
        else:
            self._show_empty(NOTHING_SELECTED)

    def _finish_page(self, page: QWidget, layout: QVBoxLayout) -> None:
        """End an editing page with the line where a refused edit says why, and show it."""
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setObjectName("error")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self._scroll.setWidget(page)

    def show_node(self, node_id: str) -> None:
        node = self.scene.graph.nodes[node_id]
        spec = node.spec
        self.node_id = node_id
        self.layer_editor = None
        self.editors = {}
        page = QWidget()
        layout = QVBoxLayout(page)
        title = QLabel(f"<span style='color:{theme.group_colour(spec.group).name()}'>■</span> "
                       f"<b>{spec.title}</b> <span style='color:{theme.NODE_DIM_TEXT.name()}'>"
                       f"· {spec.group}</span>")
        layout.addWidget(title)
        doc = QLabel(f"{spec.doc}<br><i>{spec.derivative}</i>")
        doc.setWordWrap(True)
        doc.setStyleSheet(f"color: {theme.NODE_TEXT.name()};")
        layout.addWidget(doc)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("name")
        self.name_edit.editingFinished.connect(self._name_edited)
        form.addRow("Name", self.name_edit)
        for param in spec.params:
            editor = self._make_editor(param)
            editor.setToolTip(param.doc)
            self.editors[param.name] = editor
            label = QLabel(param.name)
            label.setToolTip(param.doc)
            form.addRow(label, editor)
        self.value_edit = None
        self.value_label = None
        if spec.source in ("parameter", "constant"):
            self.value_edit = QLineEdit()
            self.value_edit.setObjectName("value")
            self.value_edit.setToolTip("Numbers as JSON, e.g. 0.5 or [[1, 2], [3, 4]]")
            self.value_edit.editingFinished.connect(self._value_edited)
            self.value_label = QLabel()
            self.value_label.setWordWrap(True)
            form.addRow("Value", self.value_edit)
            form.addRow("", self.value_label)
        self.shape_label = QLabel()
        form.addRow("Shape", self.shape_label)
        layout.addLayout(form)
        self.sample_table = None
        if spec.source == "input":
            layout.addWidget(self._make_sample_editor())
        self.results_label = QLabel()
        self.results_label.setObjectName("results")
        self.results_label.setWordWrap(True)
        self.results_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.results_label)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(_ERROR_STYLE)
        layout.addWidget(self.problem_label)
        self._finish_page(page, layout)
        self._load_values()
        self._update_status_lines()
        self._show_results()
        self.set_read_only(self.document.locked)

    def _make_sample_editor(self) -> QWidget:
        """The input's sample: one table row per sample row, one column per number of a row."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 8, 0, 0)
        heading = QLabel("<b>Sample</b> <span style='color:%s'>· the rows Forward and Backward "
                         "run on</span>" % theme.NODE_DIM_TEXT.name())
        heading.setWordWrap(True)
        column.addWidget(heading)
        table = QTableWidget()
        table.setObjectName("sample")
        table.setSelectionMode(QAbstractItemView.SingleSelection)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        table.horizontalHeader().setMinimumSectionSize(56)
        table.setMinimumHeight(90)
        table.setMaximumHeight(220)
        table.itemChanged.connect(self._sample_cell_edited)
        self.sample_table = table
        self._sample_page = 0
        column.addWidget(table)
        # A wide input (an image's pixels) is shown a page of columns at a time: a table column
        # per feature would take the window minutes to lay out.
        pages = QHBoxLayout()
        self.previous_columns_button = QPushButton("◀")
        self.previous_columns_button.setToolTip("Previous columns")
        self.previous_columns_button.clicked.connect(lambda: self._turn_sample_page(-1))
        self.next_columns_button = QPushButton("▶")
        self.next_columns_button.setToolTip("Next columns")
        self.next_columns_button.clicked.connect(lambda: self._turn_sample_page(1))
        self.columns_label = QLabel()
        self.columns_label.setObjectName("sample columns")
        pages.addWidget(self.previous_columns_button)
        pages.addWidget(self.columns_label, 1)
        pages.addWidget(self.next_columns_button)
        self._sample_pages = QWidget()
        self._sample_pages.setLayout(pages)
        pages.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._sample_pages)
        buttons = QHBoxLayout()
        self.add_row_button = QPushButton("Add Row")
        self.add_row_button.clicked.connect(self._add_sample_row)
        self.remove_row_button = QPushButton("Remove Row")
        self.remove_row_button.clicked.connect(self._remove_sample_row)
        buttons.addWidget(self.add_row_button)
        buttons.addWidget(self.remove_row_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        return box

    def _sample_columns(self) -> tuple[int, int, int]:
        """(first, end, width): the columns of the sample's page shown, of ``width`` in all."""
        shape = tuple(self.scene.graph.nodes[self.node_id].params["shape"])
        width = int(np.prod(shape)) if shape else 1
        pages = max(1, -(-width // SAMPLE_PAGE_COLUMNS))
        self._sample_page = min(max(self._sample_page, 0), pages - 1)
        first = self._sample_page * SAMPLE_PAGE_COLUMNS
        return first, min(width, first + SAMPLE_PAGE_COLUMNS), width

    def _turn_sample_page(self, step: int) -> None:
        self._sample_page += step
        self._load_sample()

    def _load_sample(self) -> None:
        table = self.sample_table
        node = self.scene.graph.nodes[self.node_id]
        shape = tuple(node.params["shape"])
        first, end, width = self._sample_columns()
        rows = [] if node.value is None else node.value.reshape(len(node.value), width)
        table.blockSignals(True)
        table.clear()
        table.setColumnCount(end - first)
        table.setRowCount(len(rows))
        if shape:
            at = np.unravel_index(np.arange(first, end), shape)
            table.setHorizontalHeaderLabels(
                [f"{node.name}[{', '.join(str(int(i[k])) for i in at)}]"
                 for k in range(end - first)])
        else:
            table.setHorizontalHeaderLabels([node.name])
        for r, row in enumerate(rows):
            for c, number in enumerate(row[first:end]):
                table.setItem(r, c, QTableWidgetItem(f"{number:.6g}"))
        table.blockSignals(False)
        self._sample_pages.setVisible(width > SAMPLE_PAGE_COLUMNS)
        self.columns_label.setText(f"columns {first + 1:,}–{end:,} of {width:,}")
        self.previous_columns_button.setEnabled(first > 0)
        self.next_columns_button.setEnabled(end < width)
        locked = self.document.locked
        self.add_row_button.setEnabled(not locked and len(rows) < MAX_SAMPLE_ROWS)
        self.remove_row_button.setEnabled(not locked and len(rows) > 0)

    def _sample_rows(self) -> np.ndarray | None:
        node = self.scene.graph.nodes[self.node_id]
        return None if node.value is None else node.value.copy()

    def _push_sample(self, rows: np.ndarray | None) -> None:
        node = self.scene.graph.nodes[self.node_id]
        if rows is not None:
            problem = self.scene.graph.value_problem(node, rows)
            if problem:
                self._refuse(problem)
                self._load_sample()
                return
        self._clear_error()
        self.document.push(commands.SetValueCommand(self.scene.graph, self.node_id, rows))

    def _sample_cell_edited(self, cell: QTableWidgetItem) -> None:
        if self.node_id is None:
            return
        node = self.scene.graph.nodes[self.node_id]
        text = cell.text().strip()
        first = self._sample_columns()[0]
        column = first + cell.column()
        try:
            number = float(text)
            if not np.isfinite(number):
                raise ValueError
        except ValueError:
            self._refuse(f"{node.label}: sample row {cell.row() + 1}, column "
                         f"{column + 1}: {text!r} is not a finite number")
            self._load_sample()
            return
        rows = self._sample_rows()
        flat = rows.reshape(len(rows), -1)
        if flat[cell.row(), column] == number:
            return
        flat[cell.row(), column] = number
        self._push_sample(rows)

    def _add_sample_row(self) -> None:
        node = self.scene.graph.nodes[self.node_id]
        row = np.zeros((1, *node.params["shape"]))
        rows = self._sample_rows()
        self._push_sample(row if rows is None else np.concatenate([rows, row]))

    def _remove_sample_row(self) -> None:
        rows = self._sample_rows()
        if rows is None:
            return
        current = self.sample_table.currentRow()
        index = current if 0 <= current < len(rows) else len(rows) - 1
        rest = np.delete(rows, index, axis=0)
        self._push_sample(rest if len(rest) else None)

    def _show_results(self) -> None:
        """The selected node's value and gradient from the last Forward or Backward."""
        if self.layer_editor is not None:
            self._layer_timer.start()
        label = self.results_label
        if label is None or not shiboken6.isValid(label) or self.run_view is None \
                or self.node_id is None or self.node_id not in self.scene.graph.nodes:
            return
        value, grad = self.run_view.value(self.node_id), self.run_view.grad(self.node_id)
        parts = []
        if value is not None:
            parts.append(f"<b>Value</b><pre>{full_text(value)}</pre>")
        if grad is not None:
            output = self.run_view.engine.output_node().name
            name = self.scene.graph.nodes[self.node_id].name
            parts.append(f"<b>Gradient</b> d {output} / d {name}<pre>{full_text(grad)}</pre>")
        label.setText("".join(parts))
        label.setVisible(bool(parts))

    def _make_editor(self, param: Param) -> QWidget:
        if param.kind == "bool":
            editor = QCheckBox()
            editor.toggled.connect(lambda on, p=param: self._param_edited(p, on))
        elif param.kind == "choice":
            editor = QComboBox()
            editor.addItems(list(param.choices))
            editor.activated.connect(lambda _i, p=param, e=editor: self._param_edited(p, e.currentText()))
        else:
            editor = QLineEdit()
            hints = {"shape": "e.g. 3, 4", "axis": "a whole number, or all",
                     "int": "a whole number", "float": "a number"}
            editor.setPlaceholderText(hints.get(param.kind, ""))
            editor.editingFinished.connect(lambda p=param, e=editor: self._param_edited(p, e.text()))
        editor.setObjectName(param.name)
        return editor

    # ----------------------------------------------------------------------------- values
    def _load_values(self) -> None:
        """Put the node's current values into the editors (after an edit, undo or redo)."""
        if self.node_id is None or self.node_id not in self.scene.graph.nodes:
            return
        node = self.scene.graph.nodes[self.node_id]
        if self.name_edit is not None and not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        for param in node.spec.params:
            editor = self.editors[param.name]
            value = node.params[param.name]
            editor.blockSignals(True)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            else:
                editor.setText(format_param(param, value))
                editor.setStyleSheet("")
            editor.blockSignals(False)
        if self.sample_table is not None:
            self._load_sample()
        if self.value_edit is not None and node.value is not None:
            small = node.value.size <= EDITABLE_VALUE_SIZE
            self.value_edit.setEnabled(small and not self.document.locked)
            self.value_edit.setText(format_array(node.value) if small else "")
            self.value_edit.setStyleSheet("")
            v = node.value
            self.value_label.setText(
                f"<span style='color:{theme.NODE_DIM_TEXT.name()}'>{v.size} number"
                f"{'s' if v.size != 1 else ''}, mean {v.mean():.4g}, std {v.std():.4g}</span>")

    def _update_status_lines(self) -> None:
        if self.node_id is None or self.scene.graph is None \
                or self.node_id not in self.scene.graph.nodes:
            return
        shape = self.scene.shapes.get(self.node_id)
        self.shape_label.setText("unknown" if shape is None else format_shape(shape))
        problem = self.scene.problems.get(self.node_id)
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(bool(problem))

    def _graph_event(self, event: GraphEvent) -> None:
        if self.layer_editor is not None:
            if event.field != "position":
                self._layer_timer.start()
            return
        if self.node_id is None:
            return
        if event.kind == "node_removed" and event.node.id == self.node_id:
            self._show_empty(NOTHING_SELECTED)
        elif event.kind == "node_changed" and event.node.id == self.node_id \
                and event.field != "position":
            self._load_values()

    # ------------------------------------------------------------------------------ edits
    # Every edit goes through scene.push with a function that checks the typed text and builds
    # the command: whatever the check or the edit raises becomes the message shown here.
    def _refuse(self, message: str, editor: QWidget | None = None,
                announce: bool = True) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        if isinstance(editor, QLineEdit):
            editor.setStyleSheet(_INVALID_FIELD)
        if announce:
            self.status_message.emit(message)

    def _clear_error(self, editor: QWidget | None = None) -> None:
        self.error_label.hide()
        self.error_label.setText("")
        if isinstance(editor, QLineEdit):
            editor.setStyleSheet("")

    def _apply(self, build: Callable[[], QUndoCommand | None], editor: QWidget | None) -> None:
        if self.document.push(build):
            self._clear_error(editor)
        elif self.document.last_refusal:  # (the scene has put it in the status bar)
            self._refuse(self.document.last_refusal, editor, announce=False)
        else:  # nothing to change
            self._clear_error(editor)

    def _param_edited(self, param: Param, raw: Any) -> None:
        if self.node_id is None:
            return
        graph, node_id = self.scene.graph, self.node_id

        def build() -> QUndoCommand | None:
            value = raw.strip() if isinstance(raw, str) else raw
            if param.kind == "axis" and value in ("", "all", "None", "none"):
                value = None
            problem = graph.param_problem(node_id, param.name, value)
            if problem:
                raise GraphError(problem)
            value = param.coerce(value)
            if value == graph.nodes[node_id].params[param.name]:
                return None
            return commands.SetParamCommand(graph, node_id, param.name, value)

        self._apply(build, self.editors.get(param.name))

    def _name_edited(self) -> None:
        if self.node_id is None or self.name_edit is None:
            return
        graph, node_id = self.scene.graph, self.node_id
        name = self.name_edit.text().strip()

        def build() -> QUndoCommand | None:
            if name == graph.nodes[node_id].name:
                return None
            problem = graph.name_problem(name, node_id)
            if problem:
                raise GraphError(problem)
            return commands.RenameCommand(graph, node_id, name)

        self._apply(build, self.name_edit)

    def _value_edited(self) -> None:
        if self.node_id is None or self.value_edit is None:
            return
        graph, node_id = self.scene.graph, self.node_id
        text = self.value_edit.text().strip()

        def build() -> QUndoCommand | None:
            node = graph.nodes[node_id]
            array = parse_value(text, node.label)
            problem = graph.value_problem(node, array)
            if problem:
                raise GraphError(problem)
            if node.value is not None and node.value.shape == array.shape \
                    and np.array_equal(np.round(node.value, 6), array):
                return None  # unchanged (the field shows values rounded to 6 places)
            return commands.SetValueCommand(graph, node_id, array)

        self._apply(build, self.value_edit)

    def set_read_only(self, locked: bool) -> None:
        if self.layer_editor is not None and shiboken6.isValid(self.layer_editor):
            self.layer_editor.set_read_only(locked)
        for editor in list(self.editors.values()) + [self.name_edit, self.value_edit]:
            if editor is not None:
                editor.setEnabled(not locked)
        if self.sample_table is not None and shiboken6.isValid(self.sample_table):
            self.sample_table.setEditTriggers(QAbstractItemView.NoEditTriggers if locked else
                                              QAbstractItemView.AllEditTriggers)
            self._load_sample()
