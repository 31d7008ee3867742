"""The gradient check window (Run > Check Gradients…): backprop's gradient of every parameter
element beside its central-difference estimate, with the cost of each side, and a nudge slider
that moves one element and sets the loss's actual change beside the gradient's prediction.

The numbers come from :mod:`bpstudio.core.gradcheck`, the same code the tests and scripts call,
on the rows :class:`~bpstudio.gui.rows.RunRows` gives (training rows once the project has data).
The check runs in a Python thread on a copy of the graph (nudging changes weights in place, and
the person may keep editing); the thread hands its results over under a lock and the window
takes them through a :class:`RunController`, so no Qt object is touched off the GUI thread.
The table sorts by any column (the one suspicious element of hundreds is a click away).

A full check costs two forward passes per element: a million-element net makes two million.
Before a check starts, :func:`estimate_check` times a few passes; when the full check would
take longer than ``LONG_CHECK_SECONDS`` the window says what it costs and waits, offering a
sample (``check_gradients(sample=k)``: k elements spread over the parameters) beside the full
check. The table then says it holds a sample, of how many elements.

The nudge is a preview, not an edit: while the slider's handle is held, the document's weight
is replaced (graph events let a live Forward/Backward follow it on the canvas), and letting go
puts the original array back. It never reaches the undo stack, so nothing is left to undo and
the document is not marked changed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QSlider, QSpinBox, QSplitter, QTableView, QVBoxLayout, QWidget)

from bpstudio.core.errors import BPStudioError
from bpstudio.core.gradcheck import (GOOD, GOOD_BELOW, SUSPICIOUS, SUSPICIOUS_BELOW, WRONG,
                                     CheckCost, CheckEstimate, GradientCheck,
                                     GradientComparison, Nudge, check_gradients, estimate_check,
                                     verdict)
from bpstudio.core.graph import Graph

from .canvas.scene import GraphScene
from .document import Document
from .plots import style
from .rows import RowsToRun, RunRows
from .training.run import RunController

EPS = 1e-5
POLL_MS = 50           # how often the window takes the worker's progress and results
SLIDER_STEPS = 100     # the slider runs from -SLIDER_STEPS to +SLIDER_STEPS
SWEEP_POINTS = 81      # points of the actual-versus-predicted curve over the slider's range
RANGES = (0.01, 0.1, 0.5, 1.0, 3.0)
DEFAULT_RANGE = 1.0
# Pale fills with dark text, so the verdict reads in any palette; the word is in the cell too,
# for those who do not tell the colours apart.
VERDICT_FILL = {GOOD: QColor("#c9ecc9"), SUSPICIOUS: QColor("#ffe1a6"), WRONG: QColor("#f7b3b3")}
VERDICT_TEXT = QColor("#1d1f24")
COLUMNS = ("Parameter", "Element", "Backprop", "Central difference", "Relative error", "Verdict")
SORT_ROLE = Qt.UserRole  # what a column sorts by: numbers as numbers, verdicts good to wrong
VERDICT_RANK = {GOOD: 0, SUSPICIOUS: 1, WRONG: 2}
# A full check estimated to take longer than this is not started before the person chooses
# between it and a sample (a person waits a few seconds without asking why).
LONG_CHECK_SECONDS = 10.0
DEFAULT_SAMPLE = 1000  # elements a sampled check nudges unless told otherwise


def seconds_text(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def duration_text(seconds: float) -> str:
    """A time to wait, as a person reads it: "0.42 s", "about 25 min", "about 3.1 h"."""
    if seconds < 60:
        return seconds_text(seconds)
    if seconds < 3600:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def element_text(shape: tuple[int, ...], flat: int) -> str:
    if not shape:
        return "–"
    return "[" + ", ".join(str(i) for i in np.unravel_index(flat, shape)) + "]"


def prepare(rows: RunRows) -> tuple[dict[str, np.ndarray], RowsToRun]:
    """The feeds to check on (copies: the worker keeps them) and what they are, once the graph
    is known to run (else a BPStudioError saying why)."""
    graph = rows.document.graph
    graph.check([graph.default_output()])
    chosen = rows.rows()
    return {k: np.array(v, copy=True) for k, v in chosen.rows.feeds.items()}, chosen


class CheckWorker:
    """Runs :func:`check_gradients` in a thread on its own graph; :meth:`take` hands over what
    arrived since the last call. Results are arrays the thread no longer touches."""

    def __init__(self, graph: Graph, feeds: dict[str, np.ndarray], names: list[str] | None,
                 sample: int | None = None):
        self._sample = sample  # elements to check (None: every one)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._progress = (0, 0)
        self._new: list[GradientComparison] = []
        self._result: GradientCheck | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, args=(graph, feeds, names),
                                        name="gradient-check", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and self._thread.ident is not None

    def take_progress(self) -> tuple[tuple[int, int], list[GradientComparison],
                                     GradientCheck | None, str | None]:
        return self.take()

    def _run(self, graph: Graph, feeds: dict[str, np.ndarray], names: list[str] | None) -> None:
        def progress(done: int, total: int) -> None:
            self._progress = (done, total)  # one tuple assignment: read whole by the window

        def arrived(comparison: GradientComparison) -> None:
            with self._lock:
                self._new.append(comparison)

        try:
            result = check_gradients(graph, feeds, EPS, names=names, progress=progress,
                                     should_stop=self._stop.is_set, on_comparison=arrived,
                                     sample=self._sample)
        except (BPStudioError, ValueError, ArithmeticError) as exc:
            with self._lock:
                self._error = str(exc)
            return
        with self._lock:
            self._result = result

    def take(self) -> tuple[tuple[int, int], list[GradientComparison], GradientCheck | None,
                            str | None]:
        """(done, total), the comparisons that arrived, the final result (once finished),
        the error that ended it (if any)."""
        with self._lock:
            new, self._new = self._new, []
            return self._progress, new, self._result, self._error


class ComparisonModel(QAbstractTableModel):
    """One row per parameter element: backprop, central difference, relative error, verdict."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[str, str, float, float, float, str]] = []
        self._flat: list[int] = []  # each row's element as an index into the flattened array

    def clear(self) -> None:
        self.beginResetModel()
        self._rows, self._flat = [], []
        self.endResetModel()

    def add(self, comparison: GradientComparison, shape: tuple[int, ...]) -> None:
        """The rows of one parameter of ``shape``: every element, or the sampled ones."""
        backprop = comparison.backprop.reshape(-1)
        numerical = comparison.numerical.reshape(-1)
        errors = comparison.relative_error.reshape(-1)
        if not backprop.size:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + backprop.size - 1)
        flat = (range(backprop.size) if comparison.indices is None
                else [int(i) for i in comparison.indices])
        self._rows.extend((comparison.name, element_text(shape, i), float(backprop[k]),
                           float(numerical[k]), float(errors[k]), verdict(float(errors[k])))
                          for k, i in enumerate(flat))
        self._flat.extend(flat)
        self.endInsertRows()

    def row(self, row: int) -> tuple[str, str, float, float, float, str]:
        return self._rows[row]

    def flat_index(self, row: int) -> int:
        return self._flat[row]

    def counts(self) -> dict[str, int]:
        found = {GOOD: 0, SUSPICIOUS: 0, WRONG: 0}
        for r in self._rows:
            found[r[5]] += 1
        return found

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.DisplayRole:
            if col in (2, 3):
                return f"{row[col]:.8g}"
            if col == 4:
                return f"{row[4]:.2e}"
            return row[col]
        if role == SORT_ROLE:
            if col == 1:
                return self._flat[index.row()]
            if col == 5:
                return VERDICT_RANK[row[5]]
            return row[col]
        if role == Qt.TextAlignmentRole and col in (2, 3, 4):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if col == 5 and role == Qt.BackgroundRole:
            return QBrush(VERDICT_FILL[row[5]])
        if col == 5 and role == Qt.ForegroundRole:
            return QBrush(VERDICT_TEXT)
        if role == Qt.ToolTipRole:
            return (f"{row[0]}{row[1]}: backprop {row[2]:.12g}, central difference "
                    f"{row[3]:.12g}, relative error {row[4]:.3e} ({row[5]})")
        return None


class GradientCheckDialog(QDialog):
    """Run > Check Gradients…: the check table, its cost, and the nudge slider."""

    def __init__(self, document: Document, scene: GraphScene, parent: QWidget | None = None,
                 rows: RunRows | None = None):
        super().__init__(parent)
        self.setWindowTitle("Check Gradients")
        self.setObjectName("gradient_check")
        self.document = document
        self.rows = rows if rows is not None else RunRows(document, self)
        self.scene = scene  # (which nodes are selected: the ones to check)
        self.run = RunController(POLL_MS, self)
        self.run.progressed.connect(self._take)
        self.run.finished.connect(self._check_ended)
        self.result: GradientCheck | None = None
        self._ended: tuple[GradientCheck | None, str | None] = (None, None)  # from the worker
        self._started = 0.0
        self.estimate: CheckEstimate | None = None  # what a full check of the scope costs
        self._checked: tuple[int | None, int] = (None, 0)  # (sample, elements in scope)
        self._shapes: dict[str, tuple[int, ...]] = {}  # of the parameters being checked
        # the nudge
        self.nudge: Nudge | None = None
        self._nudge_version = -1          # the document's graph.version the probe was made at
        self._nudge_graph: Graph | None = None
        self._held: tuple[Graph, str, np.ndarray] | None = None  # (graph, node id, original)
        self._build()

    # ------------------------------------------------------------------------------ build
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Backprop gives every gradient from one backward pass. The check recomputes each "
            "one the slow way: nudge one weight up and down by ε = 1e-5, run forward twice, and "
            "divide the change in the loss by 2ε.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        controls = QHBoxLayout()
        self.scope_label = QLabel()
        self.scope_label.setWordWrap(True)
        controls.addWidget(self.scope_label, 1)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m elements")
        self.progress_bar.setMinimumWidth(220)
        controls.addWidget(self.progress_bar)
        self.check_button = QPushButton("Check Again")
        self.check_button.setToolTip("Check the selected parameter nodes (all when none is "
                                     "selected)")
        self.check_button.clicked.connect(self.start_check)
        controls.addWidget(self.check_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the check; the parameters finished so far stay")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_check)
        controls.addWidget(self.cancel_button)
        layout.addLayout(controls)
        layout.addWidget(self._build_choice())

        self.passes_label = QLabel()
        self.timing_label = QLabel()
        self.verdict_label = QLabel()
        bold = QFont(self.font())
        bold.setBold(True)
        self.passes_label.setFont(bold)
        for label in (self.passes_label, self.timing_label, self.verdict_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            layout.addWidget(label)
        thresholds = QLabel(
            f"Relative error = |backprop − estimate| / max(|backprop|, |estimate|, 1e-4), in "
            f"float64: good below {GOOD_BELOW:.0e}, suspicious below {SUSPICIOUS_BELOW:.0e}, "
            "wrong from there up (a wrong gradient rule).")
        thresholds.setWordWrap(True)
        layout.addWidget(thresholds)

        self.table_label = QLabel()
        self.table_label.setWordWrap(True)
        layout.addWidget(self.table_label)

        splitter = QSplitter(Qt.Vertical)
        self.model = ComparisonModel(self)
        self.sorted_model = QSortFilterProxyModel(self)
        self.sorted_model.setSourceModel(self.model)
        self.sorted_model.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.sorted_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Stretch)
        header.setSortIndicator(-1, Qt.AscendingOrder)  # the check's own order until a click
        self.table.setSortingEnabled(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_chosen)
        splitter.addWidget(self.table)
        splitter.addWidget(self._build_nudge())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.resize(980, 860)

    def _build_choice(self) -> QWidget:
        """What a long check costs, and the choice between a sample and every element (shown
        only when the full check would be long)."""
        self.choice = QGroupBox("What the check costs")
        box = QVBoxLayout(self.choice)
        self.cost_label = QLabel()
        self.cost_label.setWordWrap(True)
        box.addWidget(self.cost_label)
        row = QHBoxLayout()
        row.addWidget(QLabel("Check a sample of"))
        self.sample_spin = QSpinBox()
        self.sample_spin.setGroupSeparatorShown(True)
        self.sample_spin.setSuffix(" elements")
        self.sample_spin.setToolTip("Elements to nudge, spread over the parameters in "
                                    "proportion to their sizes (at least one each)")
        self.sample_spin.valueChanged.connect(self._show_sample_cost)
        row.addWidget(self.sample_spin)
        self.sample_cost_label = QLabel()
        row.addWidget(self.sample_cost_label, 1)
        self.sample_button = QPushButton("Check Sample")
        self.sample_button.clicked.connect(self.check_sample)
        row.addWidget(self.sample_button)
        self.all_button = QPushButton("Check All")
        self.all_button.setToolTip("Nudge every element (the full check)")
        self.all_button.clicked.connect(self.check_all)
        row.addWidget(self.all_button)
        box.addLayout(row)
        self.choice.setVisible(False)
        return self.choice

    def _build_nudge(self) -> QWidget:
        box = QGroupBox("Nudge one weight")
        outer = QHBoxLayout(box)
        left = QVBoxLayout()
        form = QFormLayout()
        self.param_combo = QComboBox()
        self.param_combo.currentIndexChanged.connect(self._param_chosen)
        form.addRow("Parameter", self.param_combo)
        self.element_spin = QSpinBox()
        self.element_spin.valueChanged.connect(self._nudge_target_changed)
        form.addRow("Element (flat index)", self.element_spin)
        self.range_combo = QComboBox()
        for r in RANGES:
            self.range_combo.addItem(f"± {r:g}", r)
        self.range_combo.setCurrentIndex(RANGES.index(DEFAULT_RANGE))
        self.range_combo.currentIndexChanged.connect(self._nudge_target_changed)
        form.addRow("Slider range", self.range_combo)
        left.addLayout(form)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(-SLIDER_STEPS, SLIDER_STEPS)
        self.slider.setPageStep(10)
        self.slider.setTickPosition(QSlider.TicksBelow)
        self.slider.setTickInterval(SLIDER_STEPS // 2)
        self.slider.setToolTip("Hold and drag: the weight changes while you hold the handle and "
                               "goes back to its value when you let go")
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(self._slider_pressed)
        self.slider.sliderReleased.connect(self._slider_released)
        left.addWidget(self.slider)
        hint = QLabel("Hold and drag the handle: the weight changes while you hold it and goes "
                      "back to its value when you let go (not an edit: nothing to undo). The "
                      "arrow keys preview a nudge without changing the document.")
        hint.setWordWrap(True)
        left.addWidget(hint)
        self.nudge_label = QLabel()
        self.actual_label = QLabel()
        self.predicted_label = QLabel()
        self.gap_label = QLabel()
        self.parting_label = QLabel()
        for label in (self.nudge_label, self.actual_label, self.predicted_label, self.gap_label,
                      self.parting_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            left.addWidget(label)
        self.restore_label = QLabel()
        self.restore_label.setWordWrap(True)
        left.addWidget(self.restore_label)
        left.addStretch(1)
        outer.addLayout(left, 2)

        self.plot = pg.PlotWidget(background=style.BACKGROUND)
        self.plot.setMinimumSize(320, 220)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=style.GRID_ALPHA)
        item.setLabel("bottom", "nudge")
        item.setLabel("left", "change in loss")
        item.addLegend(offset=(8, 8), labelTextSize=style.LEGEND_SIZE)
        self.actual_curve = item.plot([], [], name="actual change",
                                      pen=pg.mkPen(style.TRAIN, width=2))
        self.predicted_curve = item.plot([], [], name="gradient × nudge",
                                         pen=pg.mkPen(style.VALIDATION, width=2,
                                                      style=Qt.DashLine))
        self.marker = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen(style.REFERENCE, width=1))
        item.addItem(self.marker)
        outer.addWidget(self.plot, 3)
        return box

    # -------------------------------------------------------------------------- the check
    @property
    def graph(self) -> Graph:
        return self.document.graph

    @property
    def worker(self) -> CheckWorker | None:
        return self.run.job

    def selected_parameters(self) -> list[str]:
        graph = self.graph
        return [graph.nodes[i].name for i in self.scene.selected_node_ids()
                if i in graph.nodes and graph.nodes[i].spec.source == "parameter"]

    def _scope(self) -> tuple[Graph, dict[str, np.ndarray], list[str] | None, list, str] | None:
        """What a check would cover now: a copy of the graph, the feeds, the names asked for
        (None: all), the parameter nodes and the rows' label; None (and why, on show) when the
        graph cannot be checked."""
        names = self.selected_parameters() or None
        try:
            feeds, chosen = prepare(self.rows)
            copy = self.graph.copy()
            if names is not None:  # selected, but not on the way to the loss: say so now
                params = {n.name for n in copy.topological_order([copy.default_output()])
                          if n.spec.source == "parameter"}
                names = [n for n in names if n in params] or None
        except BPStudioError as exc:
            self._cannot(str(exc))
            return None
        params = [n for n in copy.topological_order([copy.default_output()])
                  if n.spec.source == "parameter" and (names is None or n.name in names)]
        return copy, feeds, names, params, chosen.rows.label

    def _cannot(self, reason: str) -> None:
        self.scope_label.setText(f"Cannot check: {reason}")
        for label in (self.passes_label, self.timing_label, self.verdict_label,
                      self.table_label):
            label.setText("")
        self.choice.setVisible(False)

    def start_check(self) -> bool:
        """Check the selected parameter nodes (all when none is selected) in the worker; when
        the full check would be long, say what it costs and wait for the choice of a sample or
        all of it instead. Returns whether a check started."""
        self.cancel_check()
        self.model.clear()
        self.result = None
        scope = self._scope()
        if scope is None:
            return False
        copy, feeds, names, params, rows = scope
        try:  # a few forward passes, timed (on a copy: the check's own copy is made at start)
            self.estimate = estimate_check(copy, feeds, names=names)
        except (BPStudioError, ValueError, ArithmeticError) as exc:
            self._cannot(str(exc))
            return False
        if self.estimate.seconds <= LONG_CHECK_SECONDS:
            self.choice.setVisible(False)
            return self._begin(scope, None)
        self._offer(scope)
        return False

    def _offer(self, scope) -> None:
        """Say what the full check costs and wait for a choice."""
        _copy, _feeds, names, params, rows = scope
        estimate = self.estimate
        total = estimate.elements
        self.scope_label.setText(f"{self._which(names, params)} ({total:,} elements) on {rows}.")
        self.cost_label.setText(
            f"A full check nudges every one of the {total:,} elements: {estimate.passes:,} "
            f"forward passes, {duration_text(estimate.seconds)} (one forward pass took "
            f"{seconds_text(estimate.pass_seconds)}). A sample checks the same way on fewer "
            "elements, spread over the parameters.")
        self.sample_spin.blockSignals(True)
        self.sample_spin.setRange(1, max(total, 1))
        self.sample_spin.setValue(min(DEFAULT_SAMPLE, total))
        self.sample_spin.blockSignals(False)
        self._show_sample_cost()
        self.choice.setVisible(True)
        self.sample_button.setEnabled(True)
        self.all_button.setEnabled(True)
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(0)
        self.passes_label.setText("Not started: choose a sample or the full check.")
        for label in (self.timing_label, self.verdict_label, self.table_label):
            label.setText("")
        self._fill_param_combo([n.name for n in params])

    def _show_sample_cost(self, *_args) -> None:
        if self.estimate is not None:
            k = self.sample_spin.value()
            self.sample_cost_label.setText(
                f"{2 * k:,} forward passes, {duration_text(self.estimate.seconds_for(k))}")

    def check_sample(self) -> bool:
        """Check Sample: the sample the spin box says, of the scope as it is now."""
        return self._start_chosen(self.sample_spin.value())

    def check_all(self) -> bool:
        """Check All: every element, however long it takes (Cancel stops it)."""
        return self._start_chosen(None)

    def _start_chosen(self, sample: int | None) -> bool:
        self.cancel_check()
        self.model.clear()
        self.result = None
        scope = self._scope()
        return scope is not None and self._begin(scope, sample)

    @staticmethod
    def _which(names: list[str] | None, params: list) -> str:
        if names:
            return (f"The {len(params)} selected parameter" + ("s" if len(params) != 1 else ""))
        return f"All {len(params)} parameters"

    def _begin(self, scope, sample: int | None) -> bool:
        copy, feeds, names, params, rows = scope
        total = sum(int(np.asarray(n.value).size) for n in params)
        checked = total if sample is None else min(sample, total)
        which = self._which(names, params)
        what = (f"{total:,} elements" if checked == total
                else f"a sample of {checked:,} of their {total:,} elements")
        self.scope_label.setText(f"Checking {which[0].lower()}{which[1:]} ({what}) on {rows}. "
                                 "Select parameter nodes on the canvas to check only those.")
        self.progress_bar.setRange(0, max(checked, 1))
        self.progress_bar.setValue(0)
        self.passes_label.setText(f"Nudging: 0 of {2 * checked:,} forward passes so far…")
        self.timing_label.setText("")
        self.verdict_label.setText("")
        self.table_label.setText("")
        self.sample_button.setEnabled(False)
        self.all_button.setEnabled(False)
        self._checked = (None if checked == total else checked, total)
        self._shapes = {n.name: tuple(np.asarray(n.value).shape) for n in params}
        self._fill_param_combo([n.name for n in params])
        self._started = time.perf_counter()
        self._ended = (None, None)
        self.run.start(CheckWorker(copy, feeds, names, sample=self._checked[0]))
        self.cancel_button.setEnabled(True)
        return True

    def cancel_check(self) -> None:
        """Stop the check before its next element (a few passes at most) and show what it
        finished."""
        self.run.finish_now(5.0)

    @property
    def running(self) -> bool:
        return self.run.running

    def _take(self, report) -> None:
        (done, total), new, result, error = report
        for comparison in new:
            self.model.add(comparison, self._shapes.get(comparison.name, ()))
        self.progress_bar.setValue(done)
        if result is not None or error is not None:
            self._ended = (result, error)
        elif self.running:
            self.passes_label.setText(f"Nudging: {2 * done:,} of {2 * total:,} forward "
                                      "passes so far…")

    def _check_ended(self, _worker: CheckWorker) -> None:
        result, error = self._ended
        self.cancel_button.setEnabled(False)
        self.sample_button.setEnabled(True)
        self.all_button.setEnabled(True)
        if error is not None:
            self.scope_label.setText(f"The check stopped: {error}")
            return
        if result is None:
            return
        self.result = result
        self._show_cost(result)
        if self.table.currentIndex().row() < 0 and self.model.rowCount():
            self.table.selectRow(0)

    def _show_cost(self, result: GradientCheck) -> None:
        cost: CheckCost = result.cost
        sample, total = self._checked
        stopped = (f"Cancelled after {cost.nudge_passes // 2:,} of {result.total_elements:,} "
                   "elements. " if result.cancelled else "")
        of = f", a sample of {total:,}" if sample is not None else ""
        self.passes_label.setText(
            f"{stopped}Nudging: {cost.nudge_passes:,} forward passes (2 × "
            f"{cost.nudge_passes // 2:,} elements{of})  ·  Backprop: 1 forward + "
            f"{cost.backprop_passes} backward pass for every gradient")
        rows = self.model.rowCount()
        if sample is not None:
            self.table_label.setText(
                f"A sample: the table holds {rows:,} of the {total:,} elements, drawn at random "
                "(seed 0) over the parameters in proportion to their sizes; the others were not "
                "checked.")
        else:
            self.table_label.setText(f"Every element: the table holds {rows:,} of {total:,}.")
        self.timing_label.setText(
            f"Measured: nudging took {seconds_text(cost.nudge_seconds)}; one forward and "
            f"backward pass took {seconds_text(cost.backprop_seconds)}, "
            f"{cost.speedup:,.0f}× less.")
        counts = self.model.counts()
        self.verdict_label.setText(f"{counts[GOOD]:,} good  ·  {counts[SUSPICIOUS]:,} suspicious"
                                   f"  ·  {counts[WRONG]:,} wrong")

    # -------------------------------------------------------------------------- the nudge
    def _fill_param_combo(self, names: list[str]) -> None:
        current = self.param_combo.currentText()
        self.param_combo.blockSignals(True)
        self.param_combo.clear()
        for name in names:
            self.param_combo.addItem(name)
        if current in names:
            self.param_combo.setCurrentText(current)
        self.param_combo.blockSignals(False)
        self._param_chosen()

    def _row_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        current = self.sorted_model.mapToSource(current)
        name = self.model.row(current.row())[0]
        index = self.param_combo.findText(name)
        if index < 0:
            return
        self.param_combo.setCurrentIndex(index)
        self.element_spin.setValue(self.model.flat_index(current.row()))

    def _param_chosen(self, *_args) -> None:
        node = self.graph.find(self.param_combo.currentText())
        size = int(np.asarray(node.value).size) if node is not None and node.value is not None \
            else 1
        self.element_spin.setRange(0, max(size - 1, 0))
        self._nudge_target_changed()

    def _nudge_target_changed(self, *_args) -> None:
        if self._held is not None:
            return
        self.nudge = None
        self.slider.blockSignals(True)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._refresh_nudge()

    def span(self) -> float:
        return float(self.range_combo.currentData() or DEFAULT_RANGE)

    def delta(self) -> float:
        return self.slider.value() / SLIDER_STEPS * self.span()

    def _probe(self) -> Nudge | None:
        """The nudge on a copy of the document, made again when the document changed."""
        graph = self.graph
        if self._held is None and (self.nudge is None or graph is not self._nudge_graph
                                   or graph.version != self._nudge_version):
            self.nudge = None
            name = self.param_combo.currentText()
            if not name:
                return None
            try:
                feeds, _chosen = prepare(self.rows)
                self.nudge = Nudge(graph.copy(), feeds, name, self.element_spin.value())
            except BPStudioError as exc:
                self.nudge_label.setText(f"Cannot nudge: {exc}")
                return None
            self._nudge_graph, self._nudge_version = graph, graph.version
            self._draw_sweep()
        return self.nudge

    def _draw_sweep(self) -> None:
        if self.nudge is None:
            return
        deltas = np.linspace(-self.span(), self.span(), SWEEP_POINTS)
        actual, predicted = self.nudge.sweep(deltas)
        self.actual_curve.setData(deltas, actual)
        self.predicted_curve.setData(deltas, predicted)
        part = self.nudge.parting_point(deltas)
        self.parting_label.setText(
            "Over this range the prediction stays within 10% of the actual change."
            if part is None else
            f"They part (more than 10% apart) from a nudge of about ± {part:.3g}.")

    def _refresh_nudge(self) -> None:
        nudge = self._probe()
        if nudge is None:
            for label in (self.actual_label, self.predicted_label, self.gap_label):
                label.setText("")
            return
        d = self.delta()
        actual, predicted = nudge.actual_change(d), nudge.predicted_change(d)
        self.marker.setValue(d)
        self.nudge_label.setText(
            f"{nudge.name}{element_text(self._shape(nudge.name), nudge.index)}: "
            f"{nudge.original:.6g} {'+' if d >= 0 else '−'} {abs(d):.4g}  ·  "
            f"gradient {nudge.gradient:.6g}  ·  loss {nudge.base_loss:.6g}")
        self.actual_label.setText(f"Actual change of the loss: {actual:+.6g}")
        self.predicted_label.setText(f"Gradient × nudge predicts: {predicted:+.6g}")
        gap = abs(actual - predicted)
        rel = gap / max(abs(actual), 1e-12)
        # Past where the curve turns the actual change nears 0 and a percentage says nothing.
        self.gap_label.setText(f"Gap: {gap:.3g}" + (f" ({rel:.1%} of the actual change)"
                                                     if d and rel < 10 else ""))

    def _shape(self, name: str) -> tuple[int, ...]:
        node = self.graph.find(name)
        return () if node is None or node.value is None else np.asarray(node.value).shape

    def _slider_pressed(self) -> None:
        nudge = self._probe()
        node = self.graph.find(self.param_combo.currentText())
        if nudge is None or node is None or self.document.locked:
            return
        self._held = (self.graph, node.id, node.value.copy())
        self.restore_label.setText("Holding: the document's weight follows the slider.")

    def _slider_moved(self, _value: int) -> None:
        self._refresh_nudge()
        if self._held is not None and self.nudge is not None:
            graph, node_id, original = self._held
            nudged = original.copy()
            nudged.reshape(-1)[self.nudge.index] += self.delta()
            # Not an undo command on purpose: a preview that letting go takes back.
            graph.set_value(node_id, nudged)

    def _slider_released(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        graph, node_id, original = held
        if node_id in graph.nodes:
            graph.set_value(node_id, original)
        # Our own two edits moved the version; the probe's copy is still the document.
        self._nudge_version = graph.version
        self.slider.blockSignals(True)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.marker.setValue(0)
        node = graph.nodes.get(node_id)
        value = (f"{float(original.reshape(-1)[self.nudge.index]):.6g}"
                 if self.nudge is not None else "")
        self.restore_label.setText(f"Let go: {node.name if node else ''} is back to {value} "
                                   "(no edit was made).")

    # ------------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """End the check and let go of a held nudge (the window closes, a document opens)."""
        self._slider_released()
        self.run.finish_now(5.0)
        self.cancel_button.setEnabled(False)

    def done(self, result: int) -> None:
        self.stop()
        super().done(result)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)
