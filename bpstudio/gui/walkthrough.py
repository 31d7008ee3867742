"""The Walkthrough dock: step through one forward and one backward pass of the graph on the rows
:class:`~bpstudio.gui.rows.RunRows` gives (rows of the training data once the project has some,
chosen in the panel's row picker; else the graph's sample), node by node, with the chain rule spelled out at every step; a practice mode in which
the learner types each gradient before it is shown; and a handout of the whole walk.

Everything shown comes from a :class:`~bpstudio.core.trace.Trace` (the engine's own numbers)
and its words from :mod:`bpstudio.core.trace_text`; the panel only decides how far along the
walk is and paints that onto the canvas (the current node highlighted, values and gradients on
the nodes reached so far, wires coloured once their gradient has been handed back).

A layer folded into one block on the canvas is one step of each pass (``core/layer_walk.py``):
its forward product, then the chain rule in matrix form with the engine's numbers for the
chosen row; a layer opened to its ops is walked op by op.

Keys: while the panel has the focus, Right and Left step, Space plays or pauses, Home and End
jump to the start or the end. The panel claims those keys (``ShortcutOverride``) only while it
has the focus, so on the canvas Home still frames every node.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QFileDialog, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QScrollArea, QStyle, QToolButton,
                               QVBoxLayout, QWidget)

from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.atomicfile import atomic_write_bytes
from bpstudio.core.practice import REL_TOL, Score, check_answer
from bpstudio.core.layer_walk import LayerStep, describe_layer_step, walk as layer_walk
from bpstudio.core.trace import BACKWARD, FORWARD, BackwardStep, ForwardStep, Trace, trace
from bpstudio.core.trace_text import HEAD, MATH, WARN, describe, number, to_html, to_markdown

from .canvas.scene import GraphScene
from .rows import RowPicker, RowsToRun, RunRows

SPEEDS = (("Slow (2 s)", 2000), ("Medium (1 s)", 1000), ("Fast (0.4 s)", 400))
EVERY_NODE = "every node"
_KEYS = (Qt.Key_Right, Qt.Key_Left, Qt.Key_Space, Qt.Key_Home, Qt.Key_End)


class WalkthroughDock(QDockWidget):
    """The dock around the panel; closing it ends the walk (the canvas goes back to plain)."""

    closed = Signal()

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        self.closed.emit()


class WalkthroughPanel(QWidget):
    status_message = Signal(str)

    def __init__(self, scene: GraphScene, parent: QWidget | None = None,
                 rows: RunRows | None = None):
        super().__init__(parent)
        self.scene = scene
        self.run_rows = rows if rows is not None else RunRows(scene.document, self)
        self.trace: Trace | None = None
        self.ran_on: RowsToRun | None = None   # the rows the trace ran on
        self.steps: tuple = ()  # the walk: the trace's steps, a collapsed layer's as one
        self.index = 0
        self.answered: set[str] = set()   # practised nodes whose gradient is now shown
        self.score = Score()
        self._painted = False
        self.setFocusPolicy(Qt.StrongFocus)
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self.step_forward)
        # An edit arrives as several events: retrace once they are all in.
        self._retrace_timer = QTimer(self)
        self._retrace_timer.setSingleShot(True)
        self._retrace_timer.setInterval(0)
        self._retrace_timer.timeout.connect(self._retrace)
        scene.graph_event.connect(self._graph_event)
        self.run_rows.changed.connect(self._rows_changed)
        self._build()
        self._show()

    # ------------------------------------------------------------------------------ build
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.position_label = QLabel(objectName="walk_position")
        layout.addWidget(self.position_label)

        controls = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        style = self.style()
        for name, text, icon, tip, slot in (
                ("start", "Start", QStyle.SP_MediaSkipBackward, "Jump to the first step (Home)",
                 self.to_start),
                ("back", "Back", QStyle.SP_MediaSeekBackward, "Step back (Left)",
                 self.step_back),
                ("play", "Play", QStyle.SP_MediaPlay,
                 "Play the steps at the chosen speed (Space)", self.toggle_play),
                ("next", "Next", QStyle.SP_MediaSeekForward, "Step forward (Right)",
                 self.step_forward),
                ("end", "End", QStyle.SP_MediaSkipForward, "Jump to the last step (End)",
                 self.to_end)):
            button = QToolButton(text=text, toolTip=tip, icon=style.standardIcon(icon))
            button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
            button.setFocusPolicy(Qt.NoFocus)  # the keys keep working after a click
            button.clicked.connect(slot)
            controls.addWidget(button)
            self.buttons[name] = button
        self.speed = QComboBox(objectName="walk_speed", toolTip="Playing speed")
        for text, ms in SPEEDS:
            self.speed.addItem(text, ms)
        self.speed.setCurrentIndex(1)
        self.speed.currentIndexChanged.connect(self._speed_changed)
        controls.addWidget(self.speed)
        controls.addStretch(1)
        layout.addLayout(controls)

        self.rows_picker = RowPicker(self.run_rows, self)
        layout.addWidget(self.rows_picker)

        rows = QHBoxLayout()
        self.rows_label = QLabel("Follow:")
        self.row_picker = QComboBox(objectName="walk_row", toolTip="Which sample row to follow")
        self.row_picker.currentIndexChanged.connect(self._row_changed)
        rows.addWidget(self.rows_label)
        rows.addWidget(self.row_picker, 1)
        layout.addLayout(rows)

        self.step_label = QLabel(objectName="walk_step")
        self.step_label.setTextFormat(Qt.RichText)
        self.step_label.setWordWrap(True)
        self.step_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.step_label.setTextInteractionFlags(Qt.NoTextInteraction)
        self.step_label.setMargin(6)
        scroll = QScrollArea()
        scroll.setWidget(self.step_label)
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.NoFocus)
        layout.addWidget(scroll, 1)

        practice = QHBoxLayout()
        self.practice_box = QCheckBox("Practice: hide the gradients of", objectName="practice")
        self.practice_box.setToolTip("Work out each gradient yourself before it is shown")
        self.practice_box.toggled.connect(self._practice_changed)
        self.practice_node = QComboBox(objectName="practice_node")
        self.practice_node.currentIndexChanged.connect(self._practice_changed)
        practice.addWidget(self.practice_box)
        practice.addWidget(self.practice_node, 1)
        layout.addLayout(practice)

        answer = QHBoxLayout()
        self.question = QLabel(objectName="practice_question")
        self.answer = QLineEdit(objectName="practice_answer", placeholderText="your answer")
        self.answer.returnPressed.connect(self.check)
        self.check_button = QPushButton("Check", toolTip="Compare with the engine's gradient")
        self.check_button.clicked.connect(self.check)
        self.reveal_button = QPushButton("Reveal", toolTip="Show the gradient (no point)")
        self.reveal_button.clicked.connect(self.reveal)
        answer.addWidget(self.question)
        answer.addWidget(self.answer, 1)
        answer.addWidget(self.check_button)
        answer.addWidget(self.reveal_button)
        layout.addLayout(answer)
        self.feedback = QLabel(objectName="practice_feedback", wordWrap=True)
        self.score_label = QLabel(objectName="practice_score")
        layout.addWidget(self.feedback)
        layout.addWidget(self.score_label)

        bottom = QHBoxLayout()
        self.export_button = QPushButton("Export Walk…", toolTip="Save every step as a page")
        self.export_button.setFocusPolicy(Qt.NoFocus)
        self.export_button.clicked.connect(lambda: self.export_walk())
        bottom.addStretch(1)
        bottom.addWidget(self.export_button)
        layout.addLayout(bottom)

    def sizeHint(self) -> QSize:
        return QSize(440, 560)

    # ------------------------------------------------------------------------ the walk
    @property
    def graph(self):
        return self.scene.graph

    def start(self) -> bool:
        """Trace the graph on its sample and go to the first step; False (with the reason in
        the panel and the status bar) when it cannot run."""
        self._stop_playing()
        self.index = 0
        self.answered.clear()
        self.score = Score()
        self.feedback.clear()
        ok = self._retrace()
        self.setFocus()
        return ok

    def stop(self) -> None:
        """End the walk and give the canvas back its plain look."""
        self._stop_playing()
        self.trace = None
        self._unpaint()
        self._show()

    def _retrace(self) -> bool:
        try:
            chosen = self.run_rows.rows()
            walk = trace(self.graph, chosen.rows.feeds)
        except (BPStudioError, ValueError) as exc:
            self.trace = self.ran_on = None
            self._unpaint()
            message = f"Cannot walk through this graph: {exc}"
            self.step_label.setText(html.escape(message))
            self.status_message.emit(message)
            self._show(keep_text=True)
            return False
        self.trace, self.ran_on = walk, chosen
        if chosen.problem:
            self.status_message.emit(f"Walking through {chosen.rows.label}")
        self.steps = layer_walk(walk, self.graph)
        self.index = min(self.index, len(self.steps) - 1)
        self._fill_pickers()
        self._show()
        return True

    def _graph_event(self, event) -> None:
        if self.trace is not None and not (event.kind == "node_changed"
                                           and event.field == "position"):
            self._retrace_timer.start()

    def _rows_changed(self) -> None:
        if self.trace is not None:
            self._retrace_timer.start()

    @property
    def step(self) -> ForwardStep | BackwardStep | LayerStep | None:
        return None if self.trace is None else self.steps[self.index]

    def step_forward(self) -> None:
        if self.trace is None:
            return
        if self._waiting_for_answer():
            self.feedback.setText("Type your answer (or press Reveal) before going on.")
            self._stop_playing()
            return
        if self.index < len(self.steps) - 1:
            self.index += 1
            self._show()
        else:
            self._stop_playing()

    def step_back(self) -> None:
        if self.trace is not None and self.index > 0:
            self.index -= 1
            self._show()

    def to_start(self) -> None:
        if self.trace is not None:
            self.index = 0
            self._show()

    def to_end(self) -> None:
        """The last step, or the first gradient still to be worked out in practice."""
        if self.trace is None:
            return
        while self.index < len(self.steps) - 1 and not self._waiting_for_answer():
            self.index += 1
        self._show()

    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self._stop_playing()
        elif self.trace is not None:
            if self.index >= len(self.steps) - 1:
                self.index = 0
            self._play_timer.start(self.speed.currentData())
            self._show()

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def _stop_playing(self) -> None:
        if self._play_timer.isActive():
            self._play_timer.stop()
            self._update_buttons()

    def _speed_changed(self) -> None:
        if self._play_timer.isActive():
            self._play_timer.setInterval(self.speed.currentData())
        self.setFocus()

    # --------------------------------------------------------------------------- rows
    @property
    def row(self) -> int | None:
        """The sample row followed (None: all rows together)."""
        data = self.row_picker.currentData()
        return None if data is None or data < 0 else int(data)

    def _fill_pickers(self) -> None:
        rows = self.trace.rows
        # Training rows are called by their number in the data, sample rows by their place.
        indices = self.ran_on.rows.indices if self.ran_on is not None else None
        numbers = [i + 1 for i in indices] if indices and len(indices) == rows \
            else list(range(1, rows + 1))
        items = [f"All {rows} rows (mean, min, max)"] + [f"Row {k}" for k in numbers]
        if [self.row_picker.itemText(i) for i in range(self.row_picker.count())] != items:
            chosen = self.row_picker.currentIndex()
            self.row_picker.blockSignals(True)
            self.row_picker.clear()
            for r, text in enumerate(items):
                self.row_picker.addItem(text, r - 1)
            self.row_picker.setCurrentIndex(chosen if 0 <= chosen < len(items) else 0)
            self.row_picker.blockSignals(False)
        for widget in (self.rows_label, self.row_picker):
            widget.setVisible(rows > 1)
        names = [EVERY_NODE] + [s.name for s in self.trace.backward if s.reached]
        if [self.practice_node.itemText(i) for i in range(self.practice_node.count())] != names:
            chosen = self.practice_node.currentText()
            self.practice_node.blockSignals(True)
            self.practice_node.clear()
            self.practice_node.addItems(names)
            self.practice_node.setCurrentIndex(max(names.index(chosen) if chosen in names
                                                   else 0, 0))
            self.practice_node.blockSignals(False)

    def _row_changed(self) -> None:
        self._show()
        self.setFocus()

    # ------------------------------------------------------------------------ practice
    @property
    def practising(self) -> bool:
        return self.practice_box.isChecked()

    def hidden(self) -> set[str]:
        """Node ids whose gradient the learner has still to work out."""
        if self.trace is None or not self.practising:
            return set()
        chosen = self.practice_node.currentText()
        ids = {s.node_id for s in self.trace.backward if s.reached
               and (s.name == chosen if chosen != EVERY_NODE else not s.is_output)}
        return ids - self.answered

    def _waiting_for_answer(self) -> bool:
        step = self.step
        return isinstance(step, BackwardStep) and step.node_id in self.hidden()

    def _practice_changed(self) -> None:
        self.answered.clear()
        self.score = Score()
        self.feedback.clear()
        self._show()

    def check(self) -> bool | None:
        """Check the typed answer against the engine's gradient at the current node."""
        if not self._waiting_for_answer():
            return None
        verdict = check_answer(self.trace, self.step.node_id, self.answer.text(), self.row)
        self.score.add(verdict.correct)
        self.feedback.setText(verdict.message)
        self.feedback.setStyleSheet("color: #1b7a2e;" if verdict.correct else "color: #b03030;")
        if verdict.correct:
            self.answered.add(self.step.node_id)
            self.answer.clear()
            self.setFocus()
        self._show()
        return verdict.correct

    def reveal(self) -> None:
        if self._waiting_for_answer():
            self.answered.add(self.step.node_id)
            self.feedback.setStyleSheet("")
            self.feedback.setText("Revealed: no point for this one.")
            self.answer.clear()
            self._show()
            self.setFocus()

    # --------------------------------------------------------------------------- export
    def export_walk(self, path: str | Path | None = None) -> bool:
        """Save the walk of the current graph as an HTML or Markdown page (by the suffix)."""
        try:
            ran_on = self.ran_on if self.trace is not None else self.run_rows.rows()
            walk = self.trace if self.trace is not None else trace(self.graph, ran_on.rows.feeds)
        except (BPStudioError, ValueError) as exc:
            self.status_message.emit(f"Cannot export the walk: {exc}")
            return False
        path_now = self.scene.document.path
        stem = path_now.stem if path_now is not None else "graph"
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(
                self, "Export the walk", f"{stem}-walk.html",
                "HTML page (*.html);;Markdown (*.md)")
            if not path:
                return False
            if not path.endswith((".html", ".md")):
                path += ".md" if "Markdown" in chosen else ".html"
        path = Path(path)
        render = to_markdown if path.suffix == ".md" else to_html
        try:
            atomic_write_bytes(path, render(walk, stem, self.row, rows=ran_on.rows.description,
                                            graph=self.graph).encode("utf-8"))
        except OSError as exc:
            self.status_message.emit(f"Cannot write {path.name}: {exc}")
            return False
        self.status_message.emit(f"Exported the walk to {path.name}, on {ran_on.rows.label}")
        return True

    # ---------------------------------------------------------------------------- keys
    def event(self, event) -> bool:
        # Claim the walk's keys while the panel has the focus, before the window's shortcuts
        # (Home is Frame All there) see them.
        if event.type() == QEvent.ShortcutOverride and self._handles(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handles(event):
            super().keyPressEvent(event)
            return
        {Qt.Key_Right: self.step_forward, Qt.Key_Left: self.step_back,
         Qt.Key_Space: self.toggle_play, Qt.Key_Home: self.to_start,
         Qt.Key_End: self.to_end}[Qt.Key(event.key())]()

    def _handles(self, event: QKeyEvent) -> bool:
        return event.key() in _KEYS and event.modifiers() == Qt.NoModifier

    # --------------------------------------------------------------------------- show
    def _show(self, keep_text: bool = False) -> None:
        walk = self.trace
        waiting = self._waiting_for_answer()
        for widget in (self.question, self.answer, self.check_button, self.reveal_button):
            widget.setVisible(self.practising)
            widget.setEnabled(waiting)
        self.practice_node.setEnabled(self.practising)
        self.score_label.setVisible(self.practising)
        self.score_label.setText(f"Score: {self.score} (answers within {REL_TOL:.0%})")
        if walk is None:
            self.position_label.setText("Run ▸ Walk Through… to start")
            if not keep_text:
                self.step_label.setText("Step through the forward pass and then the backward "
                                        "pass, one node at a time.")
            self._update_buttons()
            return
        step = self.steps[self.index]
        phase = "Forward" if _phase(step) == FORWARD else "Backward"
        layer = " (layer)" if isinstance(step, LayerStep) else ""
        self.position_label.setText(f"<b>Step {self.index + 1} of {len(self.steps)}</b> · "
                                    f"{phase} · {step.name}{layer}")
        hidden = self.hidden()
        self.question.setText(f"d {walk.output_name}/d {step.name} =" if waiting else "")
        lines = (describe_layer_step(step, self.row) if isinstance(step, LayerStep)
                 else describe(step, walk, self.row, hidden))
        self.step_label.setText(_html(lines))
        self._paint(hidden)
        self._update_buttons()

    def _update_buttons(self) -> None:
        walk = self.trace
        last = 0 if walk is None else len(self.steps) - 1
        self.buttons["start"].setEnabled(walk is not None and self.index > 0)
        self.buttons["back"].setEnabled(walk is not None and self.index > 0)
        self.buttons["next"].setEnabled(walk is not None and self.index < last)
        self.buttons["end"].setEnabled(walk is not None and self.index < last)
        self.buttons["play"].setEnabled(walk is not None)
        play = self.buttons["play"]
        play.setText("Pause" if self.playing else "Play")
        play.setIcon(self.style().standardIcon(QStyle.SP_MediaPause if self.playing
                                               else QStyle.SP_MediaPlay))

    # -------------------------------------------------------------------------- canvas
    def _paint(self, hidden: set[str]) -> None:
        """Values of the nodes computed so far, gradients of the nodes reached so far, the
        wires that have carried a gradient back, and the current node highlighted."""
        walk, row = self.trace, self.row
        forward_done, backward_done = {}, {}
        for step in self.steps[:self.index + 1]:
            ids = step.node_ids if isinstance(step, LayerStep) else (step.node_id,)
            if _phase(step) == FORWARD:
                forward_done.update((i, walk.forward_step(i)) for i in ids)
            else:
                backward_done.update((i, walk.backward_step(i)) for i in ids)
        now = self.steps[self.index]
        current = now.node_id
        for group_id, block in self.scene.layer_items.items():
            block.set_highlighted(isinstance(now, LayerStep) and now.group_id == group_id)
        for node_id, item in self.scene.node_items.items():
            value = forward_done.get(node_id)
            back = backward_done.get(node_id)
            grad_text = None
            if back is not None:
                grad_text = "∇ ?" if node_id in hidden else "∇ " + number(back.gradient,
                                                                          back.batched, row)
            item.set_value_display(None if value is None
                                   else "= " + number(value.value, value.batched, row),
                                   grad_text)
            item.set_highlighted(node_id == current)
        carried = {}
        for step in backward_done.values():
            for handoff in step.handoffs:
                if handoff.gradient is not None and handoff.source_id not in hidden:
                    part = np.asarray(handoff.gradient)
                    carried[(step.node_id, handoff.port)] = float(np.sqrt(np.mean(part ** 2)))
        top = max((v for v in carried.values() if np.isfinite(v) and v > 0), default=1.0)
        for key, edge in self.scene.edge_items.items():
            edge.set_gradient_magnitude(carried.get(key), top)
        self._painted = True

    def _unpaint(self) -> None:
        if not self._painted:
            return
        for item in self.scene.node_items.values():
            item.set_value_display(None, None)
            item.set_highlighted(False)
        for block in self.scene.layer_items.values():
            block.set_highlighted(False)
        for edge in self.scene.edge_items.values():
            edge.set_gradient_magnitude(None)
        self._painted = False


def _phase(step: ForwardStep | BackwardStep | LayerStep) -> str:
    if isinstance(step, LayerStep):
        return step.phase
    return FORWARD if isinstance(step, ForwardStep) else BACKWARD


def _html(lines) -> str:
    parts = []
    for kind, text in lines:
        text = html.escape(text)
        if kind == HEAD:
            parts.append(f"<p style='font-size:larger'><b>{text}</b></p>")
        elif kind == MATH:
            parts.append(f"<div style='font-family:monospace; white-space:pre'>{text}</div>")
        elif kind == WARN:
            parts.append(f"<p style='color:#b03030'><b>{text}</b></p>")
        else:
            parts.append(f"<p>{text}</p>")
    return "".join(parts)
