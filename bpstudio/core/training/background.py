"""A training run in a separate process, for a window that must keep answering.

Why a process and not a thread: on the small graphs this app is about a training step is mostly
Python, and so is drawing the live plots; in one process the two take turns on the GIL, and
measured in the window a thread reached 14-23% of the headless step rate with event-loop stalls
of 140-200 ms (``benchmarks/gui_training.py``). In a process of its own the run keeps its pace
and the window only redraws.

The parent sends the project (a copy of the document, with its optimiser state and history),
the prepared data, the trainer's settings and the step count. The child rebuilds the same
:class:`~bpstudio.core.training.trainer.Trainer`, trains, and sends back at most
``publish_interval`` apart a :class:`Progress` (plain copies: the history tree, the latest
statistics, the prediction over the data's plane), and at the end a :class:`RunResult` with the
weights and the state to save. ``pause()`` and ``stop()`` end the run between steps. Nothing
crosses but plain data, and the child never sees the window.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import sys
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..project import Project
from .datasets import TrainingData
from .errors import DivergenceError, TrainingError
from .prediction import PredictionField, prediction_field
from .trainer import Trainer

FINISHED, PAUSED, STOPPED, DIVERGED, FAILED = "finished", "paused", "stopped", "diverged", "failed"


@dataclass
class Progress:
    """What a window shows of a run while it goes on."""

    step: int                       # steps completed, counting from the very first run
    steps_done: int                 # steps of this run
    steps_planned: int
    loss: float
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    steps_per_second: float
    history: dict[str, Any] | None  # History.to_tree(): the curves
    prediction: PredictionField | None = None  # a new field, or None: the last one still holds

    @property
    def seconds_left(self) -> float | None:
        if self.steps_per_second <= 0:
            return None
        return (self.steps_planned - self.steps_done) / self.steps_per_second


@dataclass
class RunResult:
    """How a run ended, with what it produced: the trained parameters' values by name, and the
    training settings, optimiser state and history of ``Trainer.to_project``."""

    outcome: str
    steps_done: int
    step: int
    values: dict[str, np.ndarray] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    optimizer_state: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    message: str = ""               # why it diverged or failed
    node: str | None = None         # the node a divergence names
    details: str = ""               # a failure's traceback, for its report


def _context() -> Any:
    """Fork from a clean server process where the platform has one (quick to start, and the
    child inherits nothing of the window's threads); spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bpstudio.core.training.background"])
        return context
    return multiprocessing.get_context("spawn")


@contextmanager
def _main_module_hidden():
    """Hide the program's main module while a child starts. multiprocessing has each child
    import it again (as ``__mp_main__``) for functions defined there; ours live in this module,
    and the app's main module would bring the whole window (Qt, the plots) into every run, or
    run a script that lacks a ``__name__`` guard once more."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def warm_up() -> None:
    """Start the process that children fork from, so that the first run starts at once. Takes
    a fraction of a second; call it from a thread (it is safe to call more than once)."""
    context = _context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver  # only where the platform has it
        forkserver.ensure_running()


class BackgroundRun:
    """Trains ``project`` on ``data`` for ``steps`` steps in a child process. Call
    :meth:`poll` (or :meth:`take_progress`) regularly: it collects what the child sent."""

    def __init__(self, project: Project, data: TrainingData, options: dict[str, Any], steps: int,
                 publish_interval: float = 1 / 30, prediction_interval: float | None = 0.5,
                 prediction_resolution: int = 80):
        self.steps = int(steps)
        self._context = _context()
        self._stop_event = self._context.Event()
        self._messages = self._context.Queue()
        self._process = self._context.Process(
            target=_train_in_child, name="bpstudio-training", daemon=True,
            args=(project, data, dict(options), self.steps, self._stop_event, self._messages,
                  publish_interval, prediction_interval, prediction_resolution))
        self._ending: str | None = None
        self._latest: Progress | None = None
        self.last_progress: Progress | None = None
        self.result: RunResult | None = None

    # ---------------------------------------------------------------------------- control
    def start(self) -> None:
        with _main_module_hidden():
            self._process.start()

    def pause(self) -> None:
        self._end(PAUSED)

    def stop(self) -> None:
        self._end(STOPPED)

    def _end(self, how: str) -> None:
        if self._ending is None:
            self._ending = how
        self._stop_event.set()

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def steps_done(self) -> int:
        if self.result is not None:
            return self.result.steps_done
        return self.last_progress.steps_done if self.last_progress else 0

    def poll(self) -> None:
        """Collect the child's messages; notice a child that died without a word."""
        while self.result is None and self._receive(None):
            pass
        if self.result is None and not self._process.is_alive() \
                and self._process.exitcode is not None:
            # The queue's feeder may still be delivering the last messages of a clean exit.
            deadline = time.monotonic() + 2.0
            while self.result is None and time.monotonic() < deadline:
                self._receive(0.05)
            if self.result is None:
                self.result = RunResult(FAILED, self.steps_done, 0,
                                        message=f"the training process ended unexpectedly "
                                                f"(exit code {self._process.exitcode})")

    def _receive(self, timeout: float | None) -> bool:
        """Take one message (waiting up to ``timeout`` seconds; None: not at all); False when
        there was none."""
        try:
            kind, payload = (self._messages.get_nowait() if timeout is None
                             else self._messages.get(timeout=timeout))
        except queue.Empty:
            return False
        if kind == "progress":
            self._latest = self.last_progress = payload
        else:
            self._finish(payload)
        return True

    def _finish(self, result: RunResult) -> None:
        if result.outcome == STOPPED and self._ending == PAUSED:
            result.outcome = PAUSED
        self.result = result
        self._process.join(timeout=5)

    def take_progress(self) -> Progress | None:
        """The newest progress not taken yet, or None."""
        self.poll()
        latest, self._latest = self._latest, None
        return latest

    def wait(self, timeout: float | None = None) -> bool:
        """Poll until the run has ended (True) or ``timeout`` seconds have passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll()
            if self.result is not None:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def kill(self) -> None:
        """End the child at once (the window is closing and cannot wait)."""
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)


# -------------------------------------------------------------------------------- the child
def _train_in_child(project: Project, data: TrainingData, options: dict[str, Any], steps: int,
                    stop_event: Any, messages: Any, publish_interval: float,
                    prediction_interval: float | None, resolution: int) -> None:
    trainer: Trainer | None = None
    start_step = 0
    outcome, message, node, details = STOPPED, "", None, ""
    stats = None
    started = time.perf_counter()
    try:
        trainer = Trainer.from_project(project, data=data, **options)
        start_step = trainer.step
        next_publish = next_prediction = started
        for stats in trainer.run(steps=steps):
            if stop_event.is_set():
                trainer.stop()
            now = time.perf_counter()
            if now >= next_publish:
                # A field goes out when it was just worked out: the window redraws the picture
                # only when it can have changed.
                prediction = None
                if prediction_interval is not None and now >= next_prediction:
                    prediction = _prediction(trainer, resolution)
                    next_prediction = now + prediction_interval
                messages.put(("progress", _progress(trainer, stats, start_step, steps, started,
                                                    prediction)))
                next_publish = now + publish_interval
        outcome = FINISHED if trainer.step - start_step >= steps else STOPPED
    except DivergenceError as exc:
        outcome, message, node = DIVERGED, str(exc), exc.node
    except Exception as exc:  # reported to the window, which goes on
        outcome, details = FAILED, traceback.format_exc()
        message = str(exc) if isinstance(exc, TrainingError) else f"{type(exc).__name__}: {exc}"
    if trainer is not None and stats is not None:
        try:
            last = None if prediction_interval is None else _prediction(trainer, resolution)
            messages.put(("progress", _progress(trainer, stats, start_step, steps, started,
                                                last)))
        except Exception:  # a last picture is not worth hiding how the run ended
            pass
    result = RunResult(outcome, 0 if trainer is None else trainer.step - start_step,
                       0 if trainer is None else trainer.step, message=message, node=node,
                       details=details)
    if trainer is not None and result.steps_done:
        saved = trainer.to_project()
        result.values = {name: trainer.graph.node(name).value.copy()
                         for name in trainer.parameter_names}
        result.training = saved.training
        result.optimizer_state = saved.optimizer_state
        result.history = saved.history
    messages.put(("done", result))
    messages.close()
    messages.join_thread()  # everything is delivered before the process ends


def _prediction(trainer: Trainer, resolution: int) -> PredictionField | None:
    return prediction_field(trainer.graph, trainer.prediction_node, trainer.data,
                            trainer.bindings, resolution=resolution)


def _progress(trainer: Trainer, stats: Any, start_step: int, steps: int, started: float,
              prediction: PredictionField | None) -> Progress:
    history = trainer.history.to_tree() if len(trainer.history) else None
    val_loss = val_accuracy = None
    if history and len(history["validation"]["step"]):
        val_loss = float(history["validation"]["loss"][-1])
        accuracy = float(history["validation"]["accuracy"][-1])
        val_accuracy = accuracy if math.isfinite(accuracy) else None
    done = trainer.step - start_step
    return Progress(step=trainer.step, steps_done=done, steps_planned=steps,
                    loss=float(stats.loss), accuracy=stats.accuracy, val_loss=val_loss,
                    val_accuracy=val_accuracy,
                    steps_per_second=done / max(time.perf_counter() - started, 1e-9),
                    history=history, prediction=prediction)
