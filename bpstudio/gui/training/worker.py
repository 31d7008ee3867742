"""A training run in a background thread.

The run trains a :class:`~bpstudio.core.training.trainer.Trainer` built on a copy of the
document's graph, so the window's graph never changes under it. While it runs it publishes, at
most ``publish_interval`` apart, a :class:`Progress` of plain copies (the history tree, the
latest statistics, the prediction over the data's plane); the window takes the latest one on a
timer and redraws from it, so the plots cost the same whatever the step rate. Nothing here
touches Qt: the thread only fills in numbers, and tests drive it without a window.

A thread, not a process: NumPy releases the GIL in its kernels, and Python switches threads
every few milliseconds otherwise, so the window stays responsive (``benchmarks/gui_training.py``
measures the longest stall of the event loop and the throughput against a headless run).
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from bpstudio.core.training.errors import DivergenceError
from bpstudio.core.training.prediction import PredictionField
from bpstudio.core.training.trainer import Trainer

FINISHED, PAUSED, STOPPED, DIVERGED, FAILED = "finished", "paused", "stopped", "diverged", "failed"


@dataclass
class Progress:
    """What the window shows of a run: copies, safe to keep."""

    step: int                       # steps completed, counting from the very first run
    steps_done: int                 # steps of this run
    steps_planned: int
    loss: float
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    steps_per_second: float
    history: dict[str, Any] | None  # History.to_tree(): the curves
    prediction: PredictionField | None = None
    published_at: float = field(default_factory=time.perf_counter)

    @property
    def seconds_left(self) -> float | None:
        if self.steps_per_second <= 0:
            return None
        return (self.steps_planned - self.steps_done) / self.steps_per_second


class TrainingWorker:
    """Runs ``trainer`` for ``steps`` steps in a thread. ``pause()`` and ``stop()`` end the run
    after the current step; ``outcome`` then says how it ended and ``error`` why it failed."""

    def __init__(self, trainer: Trainer, steps: int,
                 prediction: Callable[[Trainer], PredictionField | None] | None = None,
                 publish_interval: float = 1 / 30, prediction_interval: float = 0.25):
        self.trainer = trainer
        self.steps = int(steps)
        self.start_step = trainer.step
        self._prediction = prediction
        self._publish_interval = publish_interval
        self._prediction_interval = prediction_interval
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._last_prediction: PredictionField | None = None
        self._ending: str | None = None  # PAUSED or STOPPED once asked
        self._thread = threading.Thread(target=self._run, name="bpstudio-training", daemon=True)
        self.outcome: str | None = None
        self.error: BaseException | None = None
        self.error_details = ""
        self.done = threading.Event()

    # ---------------------------------------------------------------------------- control
    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        self._end(PAUSED)

    def stop(self) -> None:
        self._end(STOPPED)

    def _end(self, how: str) -> None:
        if self._ending is None:
            self._ending = how
        self.trainer.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def steps_done(self) -> int:
        return self.trainer.step - self.start_step

    def take_progress(self) -> Progress | None:
        """The newest progress not taken yet, or None."""
        with self._lock:
            latest, self._latest = self._latest, None
        return latest

    # ------------------------------------------------------------------------------ thread
    def _run(self) -> None:
        started = time.perf_counter()
        next_publish = started
        next_prediction = started
        stats = None
        try:
            for stats in self.trainer.run(steps=self.steps):
                now = time.perf_counter()
                if now >= next_publish:
                    with_prediction = now >= next_prediction
                    self._publish(stats, started, with_prediction)
                    next_publish = now + self._publish_interval
                    if with_prediction:
                        next_prediction = now + self._prediction_interval
            self.outcome = self._ending or (FINISHED if self.steps_done >= self.steps else STOPPED)
        except DivergenceError as exc:
            self.outcome, self.error = DIVERGED, exc
        except Exception as exc:  # shown to the person with its details; the window goes on
            self.outcome, self.error = FAILED, exc
            self.error_details = traceback.format_exc()
        finally:
            if stats is not None:
                try:
                    self._publish(stats, started, True)
                except Exception:  # a last picture is not worth hiding how the run ended
                    pass
            self.done.set()

    def _publish(self, stats, started: float, with_prediction: bool) -> None:
        trainer = self.trainer
        elapsed = max(time.perf_counter() - started, 1e-9)
        if with_prediction and self._prediction is not None:
            self._last_prediction = self._prediction(trainer)
        history = trainer.history.to_tree() if len(trainer.history) else None
        val_loss, val_accuracy = _latest_validation(history)
        progress = Progress(
            step=trainer.step, steps_done=self.steps_done, steps_planned=self.steps,
            loss=float(stats.loss), accuracy=stats.accuracy, val_loss=val_loss,
            val_accuracy=val_accuracy, steps_per_second=self.steps_done / elapsed,
            history=history, prediction=self._last_prediction)
        with self._lock:
            self._latest = progress


def _latest_validation(history: dict[str, Any] | None) -> tuple[float | None, float | None]:
    if not history:
        return None, None
    validation = history["validation"]
    if not len(validation["step"]):
        return None, None
    loss, accuracy = float(validation["loss"][-1]), float(validation["accuracy"][-1])
    return loss, (accuracy if math.isfinite(accuracy) else None)
