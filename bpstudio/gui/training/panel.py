"""The training panel: which data, which optimiser and for how long; Train, Pause, Step, Stop
and Reset Weights; progress; and the live plots.

A run trains a copy of the document's graph in a :class:`BackgroundRun` process while editing
is locked (the panel says so and why). When it ends, however it ends, the weights it reached
come back into the document as one undo step ("Train 500 steps"), with the optimiser state and
history beside them, so Ctrl+Z gives back the weights from before the run and the next run
continues where this one stopped.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGroupBox,
                               QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

from bpstudio.core.attach import LOSS_KINDS, loss_for_task, plan_loss
from bpstudio.core.errors import BPStudioError
from bpstudio.core.project import TrainingState
from bpstudio.core.training import background, datasets
from bpstudio.core.training.datasets import TrainingData
from bpstudio.core.training.optim import OPTIMIZERS
from bpstudio.core.training.background import (DIVERGED, FAILED, FINISHED, PAUSED,
                                               BackgroundRun, Progress)
from bpstudio.core.training.trainer import FEATURES, TARGET, Trainer, bind_inputs

from .. import commands
from ..canvas import theme
from ..document import Document
from ..plots import LOSS_TAB, TrainingPlots
from .csv_dialog import CsvImportDialog
from .run import RunController

CSV_ITEM = "CSV file…"
DEFAULT_DATA = "moons"
_ERROR_STYLE = f"color: {theme.ERROR_BADGE.name()};"
REDRAW_MS = 33  # the plots redraw from the newest progress about 30 times a second
# The run's numbers in words (steps per second, time left, the loss in the status bar) change
# at most this often: thirty a second cannot be read, and setting the two labels made the
# window paint them and the backgrounds behind them, 1 ms of each redraw.
READOUT_MS = 250
# What every setting is before a project says otherwise.
DEFAULT_SETTINGS: dict[str, Any] = {
    "data": {"source": DEFAULT_DATA, "n": 200, "classes": 3}, "validation": 0.2,
    "optimizer": "adam", "lr": 0.01, "weight_decay": 0.0, "batch_size": 32, "seed": 0}


def _sentence(text: str) -> str:
    """``text`` with a capital first letter (str.capitalize would lower the rest: 'N')."""
    return text[:1].upper() + text[1:]


def _spin(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    return box


def _double(low: float, high: float, value: float, decimals: int, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    return box


@dataclass(frozen=True)
class RunSettings:
    """What the panel is set to, as plain values: the data (project-file form, with the
    validation share and split seed), the trainer's options and the run's length in steps."""

    training: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    steps: int = 500

    def data(self) -> TrainingData:
        """The data these settings name, split and standardised."""
        return datasets.from_settings(self.training)


class TrainingPanel(QWidget):
    """The training dock's contents, for one :class:`Document`. Signals: ``status_message``
    (for the status bar), ``stats_changed`` (the short line of the latest loss and accuracy),
    ``run_started`` (a run began: the window brings the dock forward), ``culprit_found(node
    id)`` (a run diverged at that node) and ``culprit_cleared``."""

    status_message = Signal(str)
    stats_changed = Signal(str)
    run_started = Signal()
    culprit_found = Signal(str)
    culprit_cleared = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.run = RunController(REDRAW_MS, self)
        self.run.progressed.connect(self._show_progress)
        self.run.finished.connect(self._finish)
        self._readout_clock = QElapsedTimer()   # since the numbers in words were written
        self._unread: Progress | None = None    # a progress whose numbers are not written yet
        self.remaining = 0            # steps a paused run still has to go
        self._left_after_step = 0     # what a paused run has left after one Step
        self.csv_choice: dict[str, Any] | None = None
        self._data_cache: tuple[str, TrainingData] | None = None
        self.redraws = 0              # plot redraws since the panel was made (for benchmarks)
        self._build()
        # The bindings follow the graph, once an edit (or a macro of them) is complete.
        self._bindings_timer = QTimer(self)
        self._bindings_timer.setSingleShot(True)
        self._bindings_timer.setInterval(0)
        self._bindings_timer.timeout.connect(self.refresh_bindings)
        self._unsubscribe = None
        document.replaced.connect(self.document_opened)
        document.training_state_changed.connect(self.state_changed)
        self.document_opened()
        # The process runs fork from is started now, off the window's thread, so that pressing
        # Train does not wait for it.
        threading.Thread(target=background.warm_up, name="bpstudio-warm-up", daemon=True).start()

    @property
    def worker(self) -> BackgroundRun | None:
        """The run in progress, if any."""
        return self.run.job

    # ------------------------------------------------------------------------------ build
    def _build(self) -> None:
        top = QWidget()
        controls = QVBoxLayout(top)
        controls.setContentsMargins(6, 6, 6, 0)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Train")
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step")
        self.stop_button = QPushButton("Stop")
        self.reset_button = QPushButton("Reset Weights")
        for button in (self.run_button, self.pause_button, self.step_button, self.stop_button,
                       self.reset_button):
            buttons.addWidget(button)
        controls.addLayout(buttons)
        controls.addWidget(self._build_loss_offer())
        self.run_button.clicked.connect(lambda: self.train())
        self.pause_button.clicked.connect(self.pause)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset_weights)
        self._add_shortcuts()

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        controls.addWidget(self.progress)
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("rate")
        controls.addWidget(self.rate_label)
        self.message_label = QLabel("")
        self.message_label.setObjectName("training_message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        controls.addWidget(self.message_label)

        settings = QWidget()
        column = QVBoxLayout(settings)
        column.setContentsMargins(6, 6, 6, 6)

        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
        self.data_combo = QComboBox()
        self.data_combo.setObjectName("data")
        self.data_combo.addItems(datasets.names() + [CSV_ITEM])
        self.data_combo.setCurrentText(DEFAULT_DATA)
        self.data_combo.activated.connect(self._data_chosen)
        data_form.addRow("Data set", self.data_combo)
        self.n_spin = _spin(10, 20000, 200, 50)
        self.noise_spin = _double(0.0, 2.0, 0.1, 2, 0.05)
        self.classes_spin = _spin(2, 10, 3)
        data_form.addRow("Rows", self.n_spin)
        data_form.addRow("Noise", self.noise_spin)
        data_form.addRow("Classes", self.classes_spin)
        self.validation_spin = _double(0.0, 0.9, 0.2, 2, 0.05)
        data_form.addRow("Validation", self.validation_spin)
        self.bindings_form = QFormLayout()
        data_form.addRow(self.bindings_form)
        self.binding_combos: dict[str, QComboBox] = {}
        self._data_form = data_form
        column.addWidget(data_box)

        opt_box = QGroupBox("Optimiser")
        opt_form = QFormLayout(opt_box)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setObjectName("optimizer")
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.optimizer_combo.setCurrentText("adam")
        opt_form.addRow("Optimiser", self.optimizer_combo)
        self.lr_spin = _double(1e-5, 10.0, 0.01, 5, 0.001)
        self.lr_spin.setObjectName("lr")
        opt_form.addRow("Learning rate", self.lr_spin)
        self.decay_spin = _double(0.0, 1.0, 0.0, 5, 0.0001)
        opt_form.addRow("Weight decay", self.decay_spin)
        self.batch_spin = _spin(1, 4096, 32)
        opt_form.addRow("Batch size", self.batch_spin)
        length = QHBoxLayout()
        self.length_spin = _spin(1, 1_000_000, 500, 100)
        self.length_spin.setObjectName("steps")
        self.unit_combo = QComboBox()
        self.unit_combo.addItems(["steps", "epochs"])
        length.addWidget(self.length_spin, 1)
        length.addWidget(self.unit_combo)
        opt_form.addRow("Train for", length)
        self.seed_spin = _spin(0, 2**31 - 1, 0)
        opt_form.addRow("Seed", self.seed_spin)
        column.addWidget(opt_box)

        column.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(settings)
        self.settings_page = scroll

        # The settings are a tab beside the plots, not a pane above them: a pane that folds
        # away during a run moves the tabs under the mouse, and one that stays leaves the plots
        # no room at the default window size. They are read before a run, the plots during one.
        self.plots = TrainingPlots()
        self.plots.insert_page(0, scroll, "Settings")
        self.plots.tabs.setCurrentWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(top)
        layout.addWidget(self.plots, 1)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._data_chosen()
        self._update_buttons()

    def _add_shortcuts(self) -> None:
        """Keyboard for the run controls: actions that press the panel's buttons (the window
        adds them to itself, so that they work wherever the focus is)."""
        self.actions: dict[str, QAction] = {}
        for name, text, keys, button in (
                ("train", "&Train", "Ctrl+Return", self.run_button),
                ("pause", "&Pause Training", "Ctrl+Shift+Return", self.pause_button),
                ("step", "Train One &Step", "Ctrl+Shift+Right", self.step_button),
                ("stop", "St&op Training", "Ctrl+.", self.stop_button),
                ("reset", "&Reset Weights", "", self.reset_button)):
            action = QAction(text, self)
            if keys:
                action.setShortcut(QKeySequence(keys))
                button.setToolTip(f"{text.replace('&', '')} ({keys})")
            action.triggered.connect(button.click)
            self.actions[name] = action

    # ------------------------------------------------------------------------ the document
    def document_opened(self) -> None:
        """Another project is open: show its own settings (the defaults for its graph where it
        has none) and curves, and nothing of the one before."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = self.document.graph.subscribe(self._graph_event)
        self.remaining = self._left_after_step = 0
        self._data_cache = None
        self.csv_choice = None
        self._load_settings(DEFAULT_SETTINGS)
        self._load_settings(self.document.training)
        self.binding_combos = {}  # another document: its own saved bindings, not these
        self.refresh_bindings()
        self.plots.clear()
        self.state_changed()
        self._show_counters()

    def _graph_event(self, event) -> None:
        if not (event.kind == "node_changed" and event.field in ("position", "value")):
            self._bindings_timer.start()

    def _show_counters(self) -> None:
        """The progress bar, rate and messages as the document's history leaves them."""
        steps = self.document.training_state.steps
        self.message_label.setText("")
        self.message_label.setStyleSheet("")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat(f"step {steps} · trained" if steps else "idle")
        self.rate_label.setText("")
        self.stats_changed.emit("")
        self._update_buttons()

    def state_changed(self) -> None:
        """The document's training state changed (a run, its undo, a reset): redraw its curves
        and say which step it is at."""
        state = self.document.training_state
        self.plots.show_history(state.history)
        if not state.history:
            self.plots.show_prediction(None)
        self.redraws += 1
        if not self.running:
            self.progress.setFormat(f"step {state.steps} · trained" if state.steps else "idle")

    def _load_settings(self, training: dict[str, Any]) -> None:
        """Show ``training`` (project-file form); what it does not name keeps its value."""
        data = training.get("data") or {}
        source = data.get("source")
        if source == "csv":
            self.csv_choice = dict(data)
            self._set_csv_item(data.get("path", ""))
        elif source in datasets.names():
            self.data_combo.setCurrentText(source)
            self.n_spin.setValue(int(data.get("n", self.n_spin.value())))
            noise = inspect.signature(datasets.GENERATORS[source]).parameters.get("noise") \
                if source in datasets.GENERATORS else None
            self.noise_spin.setValue(float(data.get("noise", noise.default if noise is not None
                                                    else self.noise_spin.value())))
            self.classes_spin.setValue(int(data.get("classes", self.classes_spin.value())))
        self._data_chosen()
        if isinstance(training.get("validation"), (int, float)):
            self.validation_spin.setValue(float(training["validation"]))
        if training.get("optimizer") in OPTIMIZERS:
            self.optimizer_combo.setCurrentText(training["optimizer"])
        for key, box in (("lr", self.lr_spin), ("weight_decay", self.decay_spin)):
            if isinstance(training.get(key), (int, float)):
                box.setValue(float(training[key]))
        for key, box in (("batch_size", self.batch_spin), ("seed", self.seed_spin)):
            if isinstance(training.get(key), int):
                box.setValue(int(training[key]))

    def remembered_settings(self) -> dict[str, Any]:
        """The panel's choices, in the project file's form plus the run's length, for the next
        start of the app (see :meth:`restore_remembered`)."""
        source, options = self._data_settings()
        settings: dict[str, Any] = dict(self.overrides(), data={"source": source, **options},
                                        validation=round(self.validation_spin.value(), 4),
                                        length=self.length_spin.value(),
                                        unit=self.unit_combo.currentText())
        settings.pop("bindings", None)  # they name nodes of one graph
        return settings

    def restore_remembered(self, settings: dict[str, Any]) -> None:
        """Show the choices of the last session; a project's own settings replace them."""
        data = settings.get("data") or {}
        if data.get("source") == "csv" and not Path(str(data.get("path", ""))).is_file():
            settings = {k: v for k, v in settings.items() if k != "data"}  # the file has gone
        try:
            self._load_settings(settings)
        except (TypeError, ValueError):  # a hand-edited settings file: keep the defaults
            return
        if isinstance(settings.get("length"), int):
            self.length_spin.setValue(settings["length"])
        if settings.get("unit") in ("steps", "epochs"):
            self.unit_combo.setCurrentText(settings["unit"])

    def _set_csv_item(self, path: str) -> None:
        label = f"CSV: {path.rsplit('/', 1)[-1]}"
        index = self.data_combo.findText(label)
        if index < 0:
            self.data_combo.insertItem(self.data_combo.count() - 1, label)
            index = self.data_combo.findText(label)
        self.data_combo.setCurrentIndex(index)

    def _data_chosen(self, _index: int | None = None) -> None:
        text = self.data_combo.currentText()
        if text == CSV_ITEM:
            self.import_csv()
            return
        generator = datasets.GENERATORS.get(text)
        options = inspect.signature(generator).parameters if generator else {}
        for name, box in (("n", self.n_spin), ("noise", self.noise_spin),
                          ("classes", self.classes_spin)):
            box.setVisible(name in options)
            self._data_form.labelForField(box).setVisible(name in options)
        if generator is not None and "noise" in options and _index is not None:
            self.noise_spin.setValue(float(options["noise"].default))
        self._data_cache = None
        self._refresh_loss_offer()

    def import_csv(self, dialog: CsvImportDialog | None = None) -> bool:
        """Choose a CSV file, its target and features in the import dialog."""
        previous = self.csv_choice or {}
        dialog = dialog or CsvImportDialog(previous.get("path"), self,
                                           target=previous.get("target"),
                                           features=previous.get("features"),
                                           task=previous.get("task", "auto"))
        if dialog.exec() != CsvImportDialog.Accepted:
            if self.csv_choice is None:
                self.data_combo.setCurrentText(DEFAULT_DATA)
            else:
                self._set_csv_item(self.csv_choice["path"])
            self._data_chosen()
            return False
        self.csv_choice = dialog.choice()
        self._set_csv_item(self.csv_choice["path"])
        for box in (self.n_spin, self.noise_spin, self.classes_spin):
            box.setVisible(False)
            self._data_form.labelForField(box).setVisible(False)
        self._data_cache = None
        self._refresh_loss_offer()
        self.status_message.emit(f"Training data: {self.csv_choice['path']}")
        return True

    def refresh_bindings(self) -> None:
        """One row per input the loss depends on: which data column feeds it."""
        self._refresh_loss_offer()
        # A choice made here and not yet used in a run outlives the edits around it.
        chosen = {name: combo.currentText() for name, combo in self.binding_combos.items()}
        while self.bindings_form.rowCount():
            self.bindings_form.removeRow(0)
        self.binding_combos = {}
        graph = self.document.graph
        try:
            loss = graph.default_output()
            inputs = [n for n in graph.topological_order([loss]) if n.spec.source == "input"]
            saved = self.document.training.get("bindings")
            if set(chosen) == {n.name for n in inputs}:
                guess = chosen
            else:
                try:
                    guess = bind_inputs(graph, inputs, loss, saved)
                except BPStudioError:
                    guess = bind_inputs(graph, inputs, loss, None)
        except BPStudioError:
            return
        for node in inputs:
            combo = QComboBox()
            combo.addItems([FEATURES, TARGET])
            combo.setCurrentText(guess.get(node.name, FEATURES))
            combo.setObjectName(f"binding_{node.name}")
            combo.setToolTip(f"What the data feeds into input '{node.name}'")
            self.bindings_form.addRow(f"Input {node.name}", combo)
            self.binding_combos[node.name] = combo

    # ---------------------------------------------------------------------- adding a loss
    def _build_loss_offer(self) -> QWidget:
        """Shown while the graph has no loss (an imported model computes predictions only):
        the loss the chosen data call for, added by one button as one undoable edit."""
        self.loss_offer = QFrame()
        self.loss_offer.setObjectName("loss_offer")
        self.loss_offer.setFrameShape(QFrame.StyledPanel)
        row = QHBoxLayout(self.loss_offer)
        row.setContentsMargins(6, 4, 6, 4)
        self.loss_offer_label = QLabel()
        self.loss_offer_label.setObjectName("loss_offer_text")
        self.loss_offer_label.setWordWrap(True)
        self.add_loss_button = QPushButton("Add Loss")
        self.add_loss_button.setObjectName("add_loss")
        self.add_loss_button.clicked.connect(lambda: self.add_loss())
        row.addWidget(self.loss_offer_label, 1)
        row.addWidget(self.add_loss_button)
        self.loss_offer.setVisible(False)
        return self.loss_offer

    def loss_choice(self) -> tuple[str | None, str]:
        """The loss kind the chosen data call for (softmax_ce for classes, mse for values) and
        why; (None, why not) when the data cannot be read."""
        try:
            data = self.training_data().train
        except (BPStudioError, ValueError, OSError) as exc:
            return None, f"the data cannot be read: {exc}"
        kind = loss_for_task(data.task)
        return kind, f"the data '{data.name}' are {LOSS_KINDS[kind]}"

    def _refresh_loss_offer(self) -> None:
        graph = self.document.graph
        wanted = (graph is not None and bool(graph.nodes)
                  and not any(n.spec.is_loss for n in graph.nodes.values()))
        self.loss_offer.setVisible(wanted)
        if not wanted:
            return
        kind, why = self.loss_choice()
        if kind is None:
            text = f"This graph has no loss, so it cannot train yet; {why}."
        else:
            title = {"softmax_ce": "softmax cross-entropy", "mse": "mean squared error"}[kind]
            text = (f"This graph has no loss, so it cannot train yet. {_sentence(why)}: add "
                    f"{title} ({kind}) with a target input?")
        self.loss_offer_label.setText(text)
        self.add_loss_button.setToolTip(text)
        self.add_loss_button.setEnabled(kind is not None and self.worker is None)

    def add_loss(self) -> bool:
        """Add the loss the data call for and its target input, as one undoable edit."""
        if self.running:
            return False
        kind, why = self.loss_choice()
        if kind is None:
            self._show_problem(f"Cannot add a loss: {why}")
            return False
        graph = self.document.graph
        plans = []

        def build():  # inside push, so that a refusal is reported and changes nothing
            plans.append(plan_loss(graph, kind))
            return commands.add_loss_command(graph, plans[0])

        if not self.document.push(build, refused="Cannot add a loss"):
            self._show_problem(self.document.last_refusal or "Cannot add a loss")
            return False
        self.message_label.setText("")
        self.message_label.setStyleSheet("")
        self._refresh_loss_offer()
        self.status_message.emit(f"{_sentence(plans[0].describe(graph))}, since {why}; "
                                 "press Train")
        return True

    # ------------------------------------------------------------------------- settings
    def _data_settings(self) -> tuple[str, dict[str, Any]]:
        """The data source and its options, as the project file records them."""
        if self.csv_choice is not None and self.data_combo.currentText().startswith("CSV: "):
            return "csv", dict(self.csv_choice)
        name = self.data_combo.currentText()
        options: dict[str, Any] = {}
        generator = datasets.GENERATORS.get(name)
        if generator is not None:
            params = inspect.signature(generator).parameters
            if "n" in params:
                options["n"] = self.n_spin.value()
            if "noise" in params:
                options["noise"] = round(self.noise_spin.value(), 4)
            if "classes" in params:
                options["classes"] = self.classes_spin.value()
            options["seed"] = self.seed_spin.value()
        return name, options

    def training_data(self) -> TrainingData:
        """The chosen data, split and standardised (kept until a setting changes)."""
        source, options = self._data_settings()
        validation = round(self.validation_spin.value(), 4)
        key = repr((source, sorted(options.items()), validation, self.seed_spin.value()))
        if self._data_cache is not None and self._data_cache[0] == key:
            return self._data_cache[1]
        options = {key: value for key, value in options.items() if key != "source"}
        data = datasets.from_settings({"data": {"source": source, **options},
                                       "validation": validation,
                                       "split_seed": self.seed_spin.value()})
        self._data_cache = (key, data)
        return data

    def overrides(self) -> dict[str, Any]:
        """The optimiser settings of the panel, as Trainer arguments."""
        options: dict[str, Any] = {
            "optimizer": self.optimizer_combo.currentText(), "lr": self.lr_spin.value(),
            "weight_decay": self.decay_spin.value(), "batch_size": self.batch_spin.value(),
            "seed": self.seed_spin.value()}
        if self.binding_combos:
            options["bindings"] = {name: combo.currentText()
                                   for name, combo in self.binding_combos.items()}
        return options

    def run_settings(self) -> RunSettings:
        """The panel's settings as plain values (what a comparison of runs starts from)."""
        source, options = self._data_settings()
        training = {"data": {"source": source, **options},
                    "validation": round(self.validation_spin.value(), 4),
                    "split_seed": self.seed_spin.value()}
        return RunSettings(training, self.overrides(), self._planned_steps())

    def make_trainer(self) -> Trainer:
        """A trainer on a copy of the document, continuing its saved optimiser state and
        history when the data and the graph still fit them."""
        trainer = Trainer.from_project(self.document.copy(), data=self.training_data(),
                                       **self.overrides())
        if trainer.restart_reason:
            self.status_message.emit(trainer.restart_reason)
        return trainer

    # -------------------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        return self.run.running

    def train(self, steps: int | None = None) -> bool:
        """Start (or continue) a run: the panel's length, or what a paused run has left."""
        if self.running:
            return False
        if steps is None:
            steps = self.remaining or self._planned_steps()
        try:
            self.make_trainer()  # refuses bad settings here, with the core's message
        except (BPStudioError, ValueError) as exc:
            self._show_problem(f"Cannot train: {exc}")
            return False
        self.remaining = self._left_after_step = 0
        self.message_label.setText("")
        self.message_label.setStyleSheet("")
        self.culprit_cleared.emit()
        worker = BackgroundRun(self.document.copy(), self.training_data(), self.overrides(),
                               steps)
        self.run_started.emit()
        self.document.set_locked(True)
        self.status_message.emit("Training: editing is locked until the run is paused or "
                                 "stopped")
        self.progress.setRange(0, steps)
        self.progress.setValue(0)
        self.plots.set_step_horizon(self.document.training_state.steps + steps)
        self._readout_clock.invalidate()  # the run's first numbers are written at once
        self.run.start(worker)
        if self.plots.current_tab is None:  # the settings are in view: show the run
            self.plots.show_tab(LOSS_TAB)
        self._update_buttons()
        return True

    def _planned_steps(self) -> int:
        if self.unit_combo.currentText() == "epochs":
            try:
                per_epoch = -(-len(self.training_data().train) // self.batch_spin.value())
            except (BPStudioError, ValueError):
                per_epoch = 1
            return max(1, self.length_spin.value() * per_epoch)
        return self.length_spin.value()

    def step(self) -> bool:
        """Train on one batch. A paused run stays paused, one step further on."""
        left = self.remaining
        if not self.train(steps=1):
            return False
        self._left_after_step = max(left - 1, 0)
        return True

    def pause(self) -> None:
        if self.running:
            self.worker.pause()

    def stop(self) -> None:
        if self.running:
            self.run.stop()
        else:
            self.remaining = 0
            self._update_buttons()

    def _show_progress(self, p: Progress, curves: bool = True) -> None:
        if curves:
            self.plots.show_history(p.history)
            self.redraws += 1
        if p.prediction is not None:  # sent when it changed, a couple of times a second
            self.plots.show_prediction(p.prediction)
        # QProgressBar.setValue repaints at once, and the window's other pending painting (the
        # plots just given new data) with it: with updates off it only asks for the ordinary
        # update that turning them on again makes.
        self.progress.setUpdatesEnabled(False)
        self.progress.setMaximum(p.steps_planned)
        self.progress.setValue(p.steps_done)
        self.progress.setFormat(f"step {p.step} · {p.steps_done} of {p.steps_planned}")
        self.progress.setUpdatesEnabled(True)
        if self._readout_clock.isValid() and self._readout_clock.elapsed() < READOUT_MS:
            self._unread = p  # (written by a later progress, or when the run ends)
        else:
            self._show_readouts(p)

    def _show_readouts(self, p: Progress) -> None:
        """The run's numbers in words: its rate and time left, and the status bar's line."""
        self._readout_clock.start()
        self._unread = None
        left = p.seconds_left
        eta = "" if left is None else f" · {int(left // 60)}:{int(left % 60):02d} left"
        self.rate_label.setText(f"{p.steps_per_second:,.0f} steps/s{eta}")
        self.stats_changed.emit(self._stats_line(p))

    @staticmethod
    def _stats_line(p: Progress) -> str:
        parts = [f"step {p.step}", f"loss {p.loss:.4g}"]
        if p.accuracy is not None:
            parts.append(f"accuracy {p.accuracy:.0%}")
        if p.val_loss is not None:
            parts.append(f"validation loss {p.val_loss:.4g}")
        if p.val_accuracy is not None:
            parts.append(f"validation accuracy {p.val_accuracy:.0%}")
        return " · ".join(parts)

    def _finish(self, worker: BackgroundRun) -> None:
        """The run has ended: its weights and state become one undo step."""
        if self._unread is not None:  # the last numbers of the run
            self._show_readouts(self._unread)
        self.document.set_locked(False)
        result = worker.result
        done = result.steps_done
        if result.outcome == PAUSED:
            self.remaining = max(0, worker.steps - done) + self._left_after_step
        elif result.outcome == FINISHED and self._left_after_step:
            self.remaining = self._left_after_step  # one Step of a paused run: still paused
        self._left_after_step = 0
        if done:
            graph = self.document.graph
            values = {graph.node(name).id: value for name, value in result.values.items()}
            state = TrainingState(result.training, result.optimizer_state, result.history)
            text = f"Train {done} step" + ("s" if done != 1 else "")
            self.document.push(commands.TrainingResultCommand(
                graph, values, state, self.document.training_state,
                self.document.set_training_state, text))
        if result.outcome == DIVERGED:
            node = self.document.graph.find(result.node) if result.node else None
            if node is not None:
                self.culprit_found.emit(node.id)
            self._show_problem(f"Training stopped at step {result.step + 1}: {result.message}. "
                               "The weights are those of the last step that stayed finite.")
        elif result.outcome == FAILED:
            self._show_problem(f"Training failed: {result.message}")
            QMessageBox.critical(self, "Training failed", f"Training failed: {result.message}"
                                 + (f"\n\n{result.details}" if result.details else ""))
        else:
            outcome = PAUSED if self.remaining else result.outcome
            self.status_message.emit(f"Training {outcome} after {done} step"
                                     + ("s" if done != 1 else "")
                                     + (f"; {self.remaining} to go: press Continue"
                                        if self.remaining else ""))
        outcome = PAUSED if self.remaining and result.outcome == FINISHED else result.outcome
        self.progress.setFormat(f"step {result.step} · {outcome}")
        self._update_buttons()

    def _show_problem(self, message: str) -> None:
        self.message_label.setText(message)
        self.message_label.setStyleSheet(_ERROR_STYLE)
        self.status_message.emit(message)

    def reset_weights(self) -> None:
        """Draw every parameter afresh from its initialiser (seeded by the panel's seed), and
        forget the optimiser state and history that belonged to the old weights."""
        if self.running:
            return
        graph = self.document.graph
        fresh = graph.copy()
        fresh.reinitialize(self.seed_spin.value())
        values = {n.id: n.value for n in fresh.nodes_of("parameter")}
        if not values:
            self.status_message.emit("The graph has no parameters to reset")
            return
        old = self.document.training_state
        # (the settings stay; where the old run had got to goes with its weights)
        state = TrainingState({k: v for k, v in old.training.items() if k != "progress"})
        if not self.document.push(commands.TrainingResultCommand(
                graph, values, state, old, self.document.set_training_state, "Reset Weights")):
            return
        self.remaining = self._left_after_step = 0
        self._show_counters()
        self.status_message.emit(f"Weights drawn afresh from seed {self.seed_spin.value()}: "
                                 "training starts again at step 0 (Ctrl+Z gives back the "
                                 "trained weights, optimiser state and curves)")

    def _update_buttons(self) -> None:
        running = self.running
        self.run_button.setEnabled(not running)
        self.run_button.setText(f"Continue ({self.remaining})" if self.remaining else "Train")
        self.step_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running or bool(self.remaining))
        self.reset_button.setEnabled(not running)
        for box in (self.data_combo, self.n_spin, self.noise_spin, self.classes_spin,
                    self.validation_spin, self.optimizer_combo, self.lr_spin, self.decay_spin,
                    self.batch_spin, self.length_spin, self.unit_combo, self.seed_spin,
                    *self.binding_combos.values()):
            box.setEnabled(not running)
        for name, action in self.actions.items():
            button = {"train": self.run_button, "pause": self.pause_button,
                      "step": self.step_button, "stop": self.stop_button,
                      "reset": self.reset_button}[name]
            action.setEnabled(button.isEnabled())

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop a run and wait for it (the window is closing): what it trained becomes an
        edit of the document, which the unsaved-changes prompt can then save."""
        self.run.finish_now(timeout)
