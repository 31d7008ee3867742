"""Comparison runs: the document trained beside one variant of it (another example such as the
ReLU stack beside the sigmoid one, another learning rate, optimiser or initialiser), with the
same data, seed and number of steps, and their loss curves and per-layer gradient magnitudes
overlaid in one window.

Both runs train copies in child processes (as the training dock does) and leave the document
as it was: a comparison is for looking, not an edit. They start from the same kind of weights:
by default both drawn afresh from the same seed, or (a checkbox) both from the weights they
have now. The gradient profile is shown over the first steps, where a vanishing gradient
decides whether the first layers learn at all, and over the last ones.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.fileformat import load
from bpstudio.core.initializers import INITIALIZERS
from bpstudio.core.project import Project
from bpstudio.core.examples import example_files
from bpstudio.core.training.background import BackgroundRun, Progress
from bpstudio.core.training.optim import OPTIMIZERS

from ..document import Document
from ..plots import style
from ..plots.panel import PlotPanel
from .panel import RunSettings
from .run import RunController

EXAMPLE, LEARNING_RATE, OPTIMIZER, INITIALIZER = ("another example", "learning rate",
                                                  "optimiser", "initialiser")
COLOURS = ("#4fc3f7", "#ffb74d")  # A, B
# The variant a bundled example is compared with when the comparison opens on it.
PRESETS = {"deep_sigmoid": "deep_relu_he", "deep_relu_he": "deep_sigmoid",
           "deep_exploding": "deep_relu_he"}
PROFILE_STEPS = 20  # how many recorded steps each end of the profile averages over
FIRST, LAST = "first", "last"


def weight_names(history: dict[str, Any]) -> list[str]:
    """The parameters that are weight matrices (names ending in .W) in input-to-loss order, or
    every parameter when none is named so."""
    names = [n for n in history["parameters"].split(",") if n]
    weights = [n for n in names if n.endswith(".W")]
    return weights or names


def layer_profile(history: dict[str, Any], steps: int = PROFILE_STEPS,
                  end: str = LAST) -> tuple[list[str], np.ndarray]:
    """Per layer (the training dock's per-layer gradient norms; for a history without layers,
    per weight matrix), the geometric mean of its gradient norm over the first or the last
    ``steps`` recorded steps (``end``): one number per layer, input side first."""
    columns = history.get("layer_grad_norm") or {}
    if not columns:
        columns = {name: history["grad_norm"][name] for name in weight_names(history)}
    names, values = list(columns), []
    for name in names:
        norms = np.asarray(columns[name], dtype=np.float64)
        norms = norms[:steps] if end == FIRST else norms[-steps:]
        norms = norms[np.isfinite(norms) & (norms > 0)]
        values.append(float(np.exp(np.mean(np.log(norms)))) if norms.size else np.nan)
    return names, np.array(values)


def _short(name: str) -> str:
    """A layer's tick label: "layer3.W" -> "3", "logits.W" -> "logits"."""
    name = name.removesuffix(".W")
    return name.removeprefix("layer") if name.removeprefix("layer").isdigit() else name


def _legend_under(plot: pg.PlotItem) -> pg.LegendItem:
    """A legend of the two runs under the plot's axis, where it covers no curve (inside the
    plot it hid run B's profile, which runs along the top). The plot keeps a margin on the
    right so that its last point and tick label are not cut at the edge."""
    legend = style.make_legend(frame=False)
    plot.layout.addItem(legend, 4, 1)
    plot.layout.setContentsMargins(2, 2, 16, 2)
    plot.getViewBox().setDefaultPadding(0.04)
    return legend


class ComparisonWindow(QDialog):
    """Two runs side by side, built from the document they compare and the training settings
    to use (a function giving the dock's :class:`RunSettings`). ``runs`` holds a
    :class:`RunController` per run and ``histories`` the latest history of each."""

    def __init__(self, document: Document, run_settings: Callable[[], RunSettings],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.run_settings = run_settings
        self.setWindowTitle("Compare Runs")
        self.setModal(False)
        self.resize(1000, 640)
        self.runs = [RunController(50, self), RunController(50, self)]
        for k, run in enumerate(self.runs):
            run.progressed.connect(lambda p, k=k: self._progressed(k, p))
            run.finished.connect(lambda job, k=k: self._finished(k, job))
        self.histories: list[dict[str, Any] | None] = [None, None]
        self.labels = ["A", "B"]
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
        self.current_weights_box = QCheckBox("Start both from the weights they have now")
        self.current_weights_box.setToolTip(
            "Off: both runs draw fresh weights from the same seed, so neither starts ahead. "
            "On: A starts from the document's weights as they are (trained or not), B from "
            "its own.")
        form.addRow("Weights", self.current_weights_box)
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
        first = PlotPanel(f"Gradient norm per layer, first {PROFILE_STEPS} steps",
                          "layer: input side → loss side")
        last = PlotPanel(f"Gradient norm per layer, last {PROFILE_STEPS} steps",
                         "layer: input side → loss side")
        self.loss_plot = loss.plot_item
        self.profile_plots = {FIRST: first.plot_item, LAST: last.plot_item}
        for panel in (loss, first, last):
            panel.plot_item.setLogMode(y=True)
            plots.addWidget(panel, 1)
        layout.addLayout(plots, 1)
        self.loss_legend = _legend_under(self.loss_plot)
        self.profile_legends = {end: _legend_under(plot)
                                for end, plot in self.profile_plots.items()}
        self.loss_curves = [self.loss_plot.plot([], [], pen=pg.mkPen(c, width=2))
                            for c in COLOURS]
        self.profile_curves = {
            end: [plot.plot([], [], pen=pg.mkPen(c, width=2), symbol="o", symbolSize=7,
                            symbolBrush=c) for c in COLOURS]
            for end, plot in self.profile_plots.items()}
        self._kind_changed(self.kind_combo.currentText())
        self._update_buttons()

    @property
    def profile_plot(self):
        """The profile over the last steps (the one a trained network ends with)."""
        return self.profile_plots[LAST]

    def _kind_changed(self, kind: str) -> None:
        for widget, shown in ((self.example_combo, EXAMPLE), (self.lr_spin, LEARNING_RATE),
                              (self.optimizer_combo, OPTIMIZER), (self.init_combo, INITIALIZER)):
            widget.setVisible(kind == shown)

    def prepare(self) -> bool:
        """Fill in A from the document and B from the preset for it. True when the preset
        is one of the lessons' (the comparison can start at once)."""
        options = self.run_settings().options
        optimizer, lr = options.get("optimizer", "adam"), float(options.get("lr", 0.01))
        stem = self.document.name
        self.a_label.setText(f"{stem} · {optimizer}, learning rate {lr:g}")
        self.lr_spin.setValue(min(lr * 10, 10.0))
        self.optimizer_combo.setCurrentText("sgd" if optimizer != "sgd" else "adam")
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
            return f"learning rate {options['lr']:g}", Project(base.graph.copy()), options
        if kind == OPTIMIZER:
            options["optimizer"] = self.optimizer_combo.currentText()
            return options["optimizer"], Project(base.graph.copy()), options
        init = self.init_combo.currentText()
        graph = base.graph.copy()
        for node in graph.nodes_of("parameter"):
            if node.params.get("init") not in ("zeros", "constant"):
                graph.set_param(node, "init", init)  # redraws the weights from the new rule
        return f"{init} initialiser", Project(graph, base.description), options

    def run_both(self) -> bool:
        """Train A (the document's graph) and B with the same data, seed and steps, from
        fresh weights drawn from that seed (or from the weights they have, when asked), each
        with a fresh optimiser."""
        if self.running:
            return False
        try:
            settings = self.run_settings()
            data = settings.data()
            options = dict(settings.options)
            options.pop("bindings", None)  # each graph binds its own inputs (x, y)
            base = Project(self.document.graph.copy(), self.document.description)
            b_label, b_project, b_options = self.variant(base, options)
        except (BPStudioError, ValueError, OSError) as exc:
            self.status_label.setText(f"Cannot compare: {exc}")
            return False
        fresh = not self.current_weights_box.isChecked()
        if fresh:
            seed = int(options.get("seed", 0))
            for project in (base, b_project):
                project.graph.reinitialize(seed)
        self.labels = [f"A: {self.document.name if self.document.path else 'this graph'}",
                       f"B: {b_label}"]
        curves = [(self.loss_curves, self.loss_legend)] + [
            (self.profile_curves[end], self.profile_legends[end]) for end in (FIRST, LAST)]
        for run_curves, legend in curves:
            legend.clear()
            for curve, label in zip(run_curves, self.labels):
                curve.setData([], [])
                legend.addItem(curve, label)
        steps = self.steps_spin.value()
        self.histories = [None, None]
        # (no prediction fields: this window has no picture of them)
        for run, project, run_options in zip(self.runs, (base, b_project), (options, b_options)):
            run.start(BackgroundRun(project, data, run_options, steps, prediction_interval=None))
        start = "fresh weights from seed " + str(options.get("seed", 0)) if fresh \
            else "the weights they have now"
        self.status_label.setText(f"Training both for {steps} steps from {start}…")
        self._update_buttons()
        return True

    def stop(self) -> None:
        for run in self.runs:
            run.stop()

    @property
    def running(self) -> bool:
        return any(run.running for run in self.runs)

    def _progressed(self, k: int, progress: Progress) -> None:
        if progress.history:
            self.histories[k] = progress.history
            self._redraw()

    def _finished(self, k: int, job: BackgroundRun) -> None:
        if job.result.history:
            self.histories[k] = job.result.history
        if job.result.message:
            self.status_label.setText(f"{self.labels[k]}: {job.result.message}")
        self._redraw()
        if not self.running:
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
            for end, plot in self.profile_plots.items():
                names, profile = layer_profile(history, end=end)
                keep = np.isfinite(profile) & (profile > 0)
                self.profile_curves[end][k].setData(np.arange(len(profile))[keep], profile[keep])
                if k == 0:
                    plot.getAxis("bottom").setTicks([[(i, _short(n))
                                                      for i, n in enumerate(names)]])

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)

    def closeEvent(self, event) -> None:
        for run in self.runs:
            run.finish_now(5.0)
        super().closeEvent(event)
