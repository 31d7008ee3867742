"""Comparison runs: the document trained beside one variant of it (another example such as the
ReLU stack beside the sigmoid one, another learning rate, optimiser or initialiser), with the
same data, seed and number of steps, and their loss curves and per-layer gradient magnitudes
overlaid in one window.

Both runs train copies in child processes (as the training dock does) and leave the document
as it was: a comparison is for looking, not an edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QLabel, QPushButton, QSpinBox, QVBoxLayout)

from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.fileformat import load
from bpstudio.core.initializers import INITIALIZERS
from bpstudio.core.project import Project
from bpstudio.core.examples import example_files
from bpstudio.core.training.background import BackgroundRun, Progress
from bpstudio.core.training.optim import OPTIMIZERS

from ..plots import style
from ..plots.panel import PlotPanel

if TYPE_CHECKING:
    from ..main_window import MainWindow

EXAMPLE, LEARNING_RATE, OPTIMIZER, INITIALIZER = ("another example", "learning rate",
                                                  "optimiser", "initialiser")
COLOURS = ("#4fc3f7", "#ffb74d")  # A, B
# The variant a bundled example is compared with when the comparison opens on it.
PRESETS = {"deep_sigmoid": "deep_relu_he", "deep_relu_he": "deep_sigmoid",
           "deep_exploding": "deep_relu_he"}


def weight_names(history: dict[str, Any]) -> list[str]:
    """The parameters that are weight matrices (names ending in .W) in input-to-loss order, or
    every parameter when none is named so."""
    names = [n for n in history["parameters"].split(",") if n]
    weights = [n for n in names if n.endswith(".W")]
    return weights or names


def layer_profile(history: dict[str, Any], last: int = 20) -> tuple[list[str], np.ndarray]:
    """Per weight matrix, the geometric mean of its gradient norm over the last ``last``
    recorded steps: one number per layer, input side first."""
    names = weight_names(history)
    values = []
    for name in names:
        norms = np.asarray(history["grad_norm"][name], dtype=np.float64)[-last:]
        norms = norms[np.isfinite(norms) & (norms > 0)]
        values.append(float(np.exp(np.mean(np.log(norms)))) if norms.size else np.nan)
    return names, np.array(values)


def _short(name: str) -> str:
    """A layer's tick label: "layer3.W" -> "3", "logits.W" -> "logits"."""
    name = name.removesuffix(".W")
    return name.removeprefix("layer") if name.removeprefix("layer").isdigit() else name


class ComparisonWindow(QDialog):
    """Two runs side by side. ``runs`` holds the two BackgroundRuns while they go on and
    ``histories`` the latest history of each."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Compare Runs")
        self.setModal(False)
        self.resize(900, 640)
        self.runs: list[BackgroundRun | None] = [None, None]
        self.histories: list[dict[str, Any] | None] = [None, None]
        self.labels = ["A", "B"]
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._poll)
        self._build()

    # ------------------------------------------------------------------------------ build
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.a_label = QLabel()
        form.addRow("A", self.a_label)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("variant")
        self.kind_combo.addItems([EXAMPLE, LEARNING_RATE, OPTIMIZER, INITIALIZER])
        self.kind_combo.currentTextChanged.connect(self._kind_changed)
        self.example_combo = QComboBox()
        self._examples = {p.stem: p for p in example_files()}
        self.example_combo.addItems(list(self._examples))
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(1e-5, 10.0)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.init_combo = QComboBox()
        self.init_combo.addItems([n for n in INITIALIZERS if n not in ("zeros", "constant")])
        variant = QHBoxLayout()
        variant.addWidget(self.kind_combo)
        for widget in (self.example_combo, self.lr_spin, self.optimizer_combo, self.init_combo):
            variant.addWidget(widget, 1)
        form.addRow("B: the same with", variant)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 200_000)
        self.steps_spin.setValue(500)
        form.addRow("Steps", self.steps_spin)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run Both")
        self.run_button.clicked.connect(self.run_both)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.status_label = QLabel("")
        self.status_label.setObjectName("comparison_status")
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.status_label, 1)
        layout.addLayout(buttons)

        plots = QHBoxLayout()
        loss = PlotPanel("Loss", "step")
        profile = PlotPanel("Gradient norm per layer (latest steps)",
                            "layer: input side → loss side")
        self.loss_plot, self.profile_plot = loss.plot_item, profile.plot_item
        for panel in (loss, profile):
            panel.plot_item.setLogMode(y=True)
            plots.addWidget(panel, 1)
        layout.addLayout(plots, 1)
        self.loss_legend = style.make_legend(offset=(-10, 10))
        self.loss_legend.setParentItem(self.loss_plot.getViewBox())
        self.profile_legend = style.make_legend(offset=(-10, 10))
        self.profile_legend.setParentItem(self.profile_plot.getViewBox())
        self.loss_curves = [self.loss_plot.plot([], [], pen=pg.mkPen(c, width=2))
                            for c in COLOURS]
        self.profile_curves = [
            self.profile_plot.plot([], [], pen=pg.mkPen(c, width=2), symbol="o", symbolSize=7,
                                   symbolBrush=c) for c in COLOURS]
        self._kind_changed(self.kind_combo.currentText())
        self._update_buttons()

    def _kind_changed(self, kind: str) -> None:
        for widget, shown in ((self.example_combo, EXAMPLE), (self.lr_spin, LEARNING_RATE),
                              (self.optimizer_combo, OPTIMIZER), (self.init_combo, INITIALIZER)):
            widget.setVisible(kind == shown)

    def prepare(self) -> bool:
        """Fill in A from the document and B from the preset for it. True when the preset
        is one of the lessons' (the comparison can start at once)."""
        window = self.window
        panel = window.training_panel
        stem = window.path.stem if window.path is not None else "Untitled"
        self.a_label.setText(f"{stem} · {panel.optimizer_combo.currentText()}, learning rate "
                             f"{panel.lr_spin.value():g}")
        self.lr_spin.setValue(min(panel.lr_spin.value() * 10, 10.0))
        self.optimizer_combo.setCurrentText("sgd" if panel.optimizer_combo.currentText() != "sgd"
                                            else "adam")
        preset = PRESETS.get(stem)
        if preset in self._examples:
            self.kind_combo.setCurrentText(EXAMPLE)
            self.example_combo.setCurrentText(preset)
            return True
        self.kind_combo.setCurrentText(LEARNING_RATE)
        return False

    # ---------------------------------------------------------------------------- running
    def variant(self, base: Project, options: dict[str, Any]) -> tuple[str, Project, dict]:
        """B's label, project and trainer options."""
        kind = self.kind_combo.currentText()
        options = dict(options)
        if kind == EXAMPLE:
            stem = self.example_combo.currentText()
            project = load(self._examples[stem])
            project.training, project.optimizer_state, project.history = {}, None, None
            return stem, project, options
        if kind == LEARNING_RATE:
            options["lr"] = self.lr_spin.value()
            return f"learning rate {options['lr']:g}", base, options
        if kind == OPTIMIZER:
            options["optimizer"] = self.optimizer_combo.currentText()
            return options["optimizer"], base, options
        init = self.init_combo.currentText()
        graph = base.graph.copy()
        for node in graph.nodes_of("parameter"):
            if node.params.get("init") not in ("zeros", "constant"):
                graph.set_param(node, "init", init)  # redraws the weights from the new rule
        return f"{init} initialiser", Project(graph, base.description), options

    def run_both(self) -> bool:
        """Train A (the document as it is, from its current weights and a fresh optimiser)
        and B with the same data, seed and steps."""
        if any(self.runs):
            return False
        panel = self.window.training_panel
        try:
            data = panel.training_data()
            options = panel.overrides()
            options.pop("bindings", None)  # each graph binds its own inputs (x, y)
            base = Project(self.window.graph.copy(), self.window.description)
            b_label, b_project, b_options = self.variant(base, options)
        except (BPStudioError, ValueError, OSError) as exc:
            self.status_label.setText(f"Cannot compare: {exc}")
            return False
        a_label = self.window.path.stem if self.window.path is not None else "this graph"
        self.labels = [f"A: {a_label}", f"B: {b_label}"]
        for curves, legend in ((self.loss_curves, self.loss_legend),
                               (self.profile_curves, self.profile_legend)):
            legend.clear()
            for curve, label in zip(curves, self.labels):
                curve.setData([], [])
                legend.addItem(curve, label)
        steps = self.steps_spin.value()
        self.histories = [None, None]
        # (no prediction fields: this window has no picture of them)
        self.runs = [BackgroundRun(Project(base.graph.copy(), base.description), data, options,
                                   steps, prediction_interval=None),
                     BackgroundRun(b_project, data, b_options, steps, prediction_interval=None)]
        for run in self.runs:
            run.start()
        self.status_label.setText(f"Training both for {steps} steps…")
        self._timer.start()
        self._update_buttons()
        return True

    def stop(self) -> None:
        for run in self.runs:
            if run is not None:
                run.stop()

    @property
    def running(self) -> bool:
        return any(run is not None for run in self.runs)

    def _poll(self) -> None:
        for k, run in enumerate(self.runs):
            if run is None:
                continue
            progress: Progress | None = run.take_progress()
            if progress is not None and progress.history:
                self.histories[k] = progress.history
            if run.done:
                if run.result.history:
                    self.histories[k] = run.result.history
                if run.result.message:
                    self.status_label.setText(f"{self.labels[k]}: {run.result.message}")
                self.runs[k] = None
        self._redraw()
        if not self.running:
            self._timer.stop()
            if not self.status_label.text().startswith(("A:", "B:")):
                self.status_label.setText("Done: both runs trained copies; the document is "
                                          "unchanged.")
            self._update_buttons()

    def _redraw(self) -> None:
        for k, history in enumerate(self.histories):
            if not history:
                continue
            steps = np.asarray(history["step"], dtype=np.float64)
            loss = np.asarray(history["loss"], dtype=np.float64)
            keep = np.isfinite(loss) & (loss > 0)
            self.loss_curves[k].setData(steps[keep], loss[keep])
            names, profile = layer_profile(history)
            keep = np.isfinite(profile) & (profile > 0)
            self.profile_curves[k].setData(np.arange(len(profile))[keep], profile[keep])
            if k == 0:
                axis = self.profile_plot.getAxis("bottom")
                axis.setTicks([[(i, _short(n)) for i, n in enumerate(names)]])

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)

    def closeEvent(self, event) -> None:
        self.stop()
        for run in self.runs:
            if run is not None and not run.wait(5):
                run.kill()
        self.runs = [None, None]
        self._timer.stop()
        super().closeEvent(event)


def open_comparison(window: "MainWindow") -> ComparisonWindow:
    """Open (or raise) the comparison window; a lesson's preset starts at once."""
    dialog = getattr(window, "comparison_window", None)
    if dialog is None:
        dialog = ComparisonWindow(window)
        window.comparison_window = dialog
    start = dialog.prepare()
    dialog.show()
    dialog.raise_()
    if start and not dialog.running:
        dialog.run_both()
    return dialog

