"""A training run in a separate process, for a window that must keep answering.

Why a process and not a thread: on the small graphs this app is about a training step is mostly
Python, and so is drawing the live plots; in one process the two take turns on the GIL, and
measured in the window a thread reached 14-23% of the headless step rate with event-loop stalls
of 140-200 ms (``benchmarks/gui_training.py``). In a process of its own the run keeps its pace
and the window only redraws.

The parent sends the project (a copy of the document, with its optimiser state and history),
the prepared data, the trainer's settings and the step count. The child rebuilds the same
:class:`~bpstudio.core.training.trainer.Trainer`, trains, and sends back at most
``publish_interval`` apart a :class:`Progress` (plain copies: the history points recorded since
the last one, the latest statistics, the prediction over the data's plane: its grid and data
points in the first, then only its values), and at the end a :class:`RunResult` with the
weights and the state to save. The parent puts the pieces together again, so what it hands on
is a whole history and a whole field: what crosses stays the same size however long the run.
``pause()`` and ``stop()`` end the run between steps. Nothing crosses but plain data, and the
child never sees the window.

What can go wrong between two processes is handled here, so that no window has to:

- The child's messages are read by a thread of the parent, so :meth:`BackgroundRun.poll` never
  waits for a message that is still being written, nor for one cut off by a child that was
  killed half-way through it (it only looks at what the thread has gathered).
- The child sends now and then a :class:`Checkpoint` (the weights and state after a completed
  step); a child that dies, or is killed because it did not stop in time, leaves those, so the
  steps it completed are not lost.
- The child watches the pipe its parent holds: when the parent is gone (killed, crashed) the
  pipe closes and the child exits at once, instead of training on for no one.
- The live extras (the prediction picture, the checkpoints) are paced by what they cost: each
  takes at most a stated share of the run's time, so that on a large net they do not slow the
  training they show (see :class:`_Pace`).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..blas import BlasHold, one_blas_thread
from ..engine import Engine
from ..project import Project
from .datasets import TrainingData
from .errors import DivergenceError, TrainingError
from .history import merge_trees
from .prediction import FieldValues, PredictionField, prediction_field
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
    # History.to_tree(): the curves. From the child, only the points since its last progress
    # (``to_tree(after=...)``), which the parent merges into the whole tree it hands on.
    history: dict[str, Any] | None
    # A new field, or None: the last one still holds. From the child, the whole field once,
    # then its FieldValues, which the parent lays over the grid and points it has.
    prediction: PredictionField | FieldValues | None = None

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


@dataclass
class Checkpoint:
    """The state after a completed step, sent by the child now and then while it trains: what
    a run that ends without a word (killed, crashed) still leaves to keep."""

    step: int
    steps_done: int
    values: dict[str, np.ndarray]
    training: dict[str, Any]
    optimizer_state: dict[str, Any] | None
    history: dict[str, Any] | None


def _context() -> Any:
    """Fork from a clean server process where the platform has one (quick to start, and the
    child inherits nothing of the window's threads); spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bpstudio.core.training.background"])
        return context
    return multiprocessing.get_context("spawn")


# The thread pools of the BLAS libraries NumPy may use: how many threads each starts.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def child_blas_threads() -> int:
    """The BLAS threads a training child computes with: every core but one, which is left to
    the window. A child's large products (the prediction picture's grid, a wide net) ran on
    both cores of a two-core machine and took the window's: with another program busy, the
    picture took 46-80 ms instead of 22 ms, and BLAS threads that wait by spinning took the
    window's core between products."""
    return max(1, (os.cpu_count() or 1) - 1)


@contextmanager
def _child_environment():
    """The environment a child (or the server it forks from) starts with: its BLAS thread
    pools sized by :func:`child_blas_threads`, where the user has not set them. BLAS reads
    them when NumPy is imported, so they are set while a process starts, then restored."""
    saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    if all(value is None for value in saved.values()):
        for name in BLAS_THREAD_VARIABLES:
            os.environ[name] = str(child_blas_threads())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
        with _child_environment():
            forkserver.ensure_running()


# A live extra (a prediction picture, a checkpoint) takes at most this share of the child's time.
EXTRA_SHARE = 0.1
# How often a checkpoint is sent when it is cheap.
CHECKPOINT_INTERVAL = 1.0
# The picture of the final weights is drawn when one takes at most this long; a stop should
# not wait seconds for a picture of a large net.
FINAL_PICTURE_SECONDS = 0.25


class _Pace:
    """When to do an extra again: ``interval`` seconds after the last time, or later when it is
    slow, so that the time it takes is at most ``share`` of the time that passes. After one
    that took ``c`` seconds, the next waits ``c * (1 - share) / share`` (at least ``interval``)."""

    def __init__(self, interval: float, share: float = EXTRA_SHARE):
        self.interval = interval
        self.share = share
        self.cost = 0.0          # seconds the last one took
        self.next = -math.inf    # due at once

    def due(self, now: float) -> bool:
        return now >= self.next

    def done(self, began: float, ended: float) -> None:
        self.cost = ended - began
        self.next = ended + max(self.interval, self.cost * (1 - self.share) / self.share)


class _Inbox:
    """The child's messages, read from its pipe by a thread of their own: a reader that waits
    is that thread, never the caller. Progress supersedes progress (a prediction it lacks is
    taken over from the one it replaces), so what is kept stays small however long the caller
    does not look. The child sends the history points and the field values that are new: they
    are put together here with what came before (see :class:`Progress`)."""

    def __init__(self, connection: Any):
        self._connection = connection
        self._lock = threading.Lock()
        self.progress: Progress | None = None     # the newest, not taken yet
        self.last_progress: Progress | None = None
        self.checkpoint: Checkpoint | None = None
        self.result: RunResult | None = None
        self.closed = threading.Event()           # the pipe ended: the child is gone
        self._history: dict[str, Any] | None = None  # the whole tree so far
        self._field: PredictionField | None = None   # the last whole field
        self._thread = threading.Thread(target=self._read, name="bpstudio-training-inbox",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                kind, payload = self._connection.recv()
                if kind == "progress":
                    self._complete(payload)
                with self._lock:
                    if kind == "progress":
                        if payload.prediction is None and self.progress is not None:
                            payload.prediction = self.progress.prediction
                        self.progress = self.last_progress = payload
                    elif kind == "checkpoint":
                        self.checkpoint = payload
                    else:
                        self.result = payload
        except Exception:  # EOF, or a message cut off by a child that died while sending it
            pass
        finally:
            self._connection.close()
            self.closed.set()

    def _complete(self, progress: Progress) -> None:
        """Make the child's progress whole: its new history points merged into the tree so
        far, its field values laid over the last field's grid and points."""
        if progress.history is not None:
            self._history = merge_trees(self._history, progress.history)
        progress.history = self._history
        if isinstance(progress.prediction, FieldValues):
            progress.prediction = (None if self._field is None
                                   else self._field.with_values(progress.prediction))
        if progress.prediction is not None:
            self._field = progress.prediction

    def take(self) -> Progress | None:
        with self._lock:
            progress, self.progress = self.progress, None
            return progress


class BackgroundRun:
    """Trains ``project`` on ``data`` for ``steps`` steps in a child process. Call
    :meth:`poll` (or :meth:`take_progress`) regularly: it collects what the child sent, and
    returns at once whatever the child does.

    However the run ends, :attr:`result` says how and holds what is kept: a run that ends by
    itself, is paused or stopped carries the weights of its last step; one whose child died
    (or was killed by :meth:`kill`, e.g. after a :meth:`wait` that timed out) carries those of
    the newest :attr:`checkpoint`, and its message says from which step they are."""

    def __init__(self, project: Project, data: TrainingData, options: dict[str, Any], steps: int,
                 publish_interval: float = 1 / 30, prediction_interval: float | None = 0.5,
                 prediction_resolution: int = 80, checkpoint_interval: float = CHECKPOINT_INTERVAL):
        self.steps = int(steps)
        self._context = _context()
        self._stop_event = self._context.Event()
        # Two one-way pipes: the child's messages, and one the child only watches: it closes
        # when this process ends, however it ends.
        receiving, sending = self._context.Pipe(duplex=False)
        watched, self._alive = self._context.Pipe(duplex=False)
        self._child_ends = (sending, watched)
        self._inbox = _Inbox(receiving)
        self._process = self._context.Process(
            target=_train_in_child, name="bpstudio-training", daemon=True,
            args=(project, data, dict(options), self.steps, self._stop_event, sending,
                  publish_interval, prediction_interval, prediction_resolution,
                  checkpoint_interval, watched))
        self._ending: str | None = None
        self._killed = False
        self._blas_hold: BlasHold | None = None  # (see core/blas.py)
        self.result: RunResult | None = None

    # ---------------------------------------------------------------------------- control
    def start(self) -> None:
        with _main_module_hidden(), _child_environment():
            self._process.start()
        for end in self._child_ends:  # the child has its own copies now
            end.close()
        # This process keeps to one BLAS thread while the child computes with the others
        # (held once the child is under way: one forked from here keeps its own threads).
        self._blas_hold = one_blas_thread.hold()
        self._inbox.start()

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
    def last_progress(self) -> Progress | None:
        return self._inbox.last_progress

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The newest state after a completed step that the child sent (None before the first):
        what is kept of a run whose child ends without a result."""
        return self._inbox.checkpoint

    @property
    def steps_done(self) -> int:
        if self.result is not None:
            return self.result.steps_done
        return self.last_progress.steps_done if self.last_progress else 0

    def poll(self) -> None:
        """Collect what the child sent; notice a child that died without a word. Never waits
        on the child."""
        if self.result is not None:
            return
        result = self._inbox.result
        if result is not None:
            self._finish(result)
        elif self._inbox.closed.is_set() or not self._process.is_alive():
            # The pipe ends when the child does; a clean exit has sent its result before.
            self._process.join(timeout=1.0)
            self._inbox.closed.wait(timeout=1.0)
            result = self._inbox.result
            self._finish(result if result is not None else self._left_behind())

    def _left_behind(self) -> RunResult:
        """The result of a child that ended without one: what its newest checkpoint holds."""
        code = self._process.exitcode
        if self._killed:
            how = "did not end in time and was stopped"
        else:
            cause = (f"signal {-code}" if code is not None and code < 0
                     else "still running" if code is None else f"exit code {code}")
            how = f"ended unexpectedly ({cause})"
        kept = self.checkpoint
        if kept is None:
            return RunResult(FAILED, 0, 0, message=f"the training process {how}; no step was "
                                                   "completed, nothing is kept")
        outcome = (self._ending or STOPPED) if self._killed else FAILED
        return RunResult(outcome, kept.steps_done, kept.step, values=kept.values,
                         training=kept.training, optimizer_state=kept.optimizer_state,
                         history=kept.history,
                         message=f"the training process {how}; the weights from step "
                                 f"{kept.step} are kept")

    def _finish(self, result: RunResult) -> None:
        if result.outcome == STOPPED and self._ending == PAUSED:
            result.outcome = PAUSED
        self.result = result
        self._process.join(timeout=5)
        self._alive.close()
        if self._blas_hold is not None:
            self._blas_hold.release()

    def take_progress(self) -> Progress | None:
        """The newest progress not taken yet, or None."""
        self.poll()
        return self._inbox.take()

    def wait(self, timeout: float | None = None) -> bool:
        """Poll until the run has ended (True) or ``timeout`` seconds have passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll()
            if self.result is not None:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._inbox.closed.wait(0.01)

    def kill(self) -> None:
        """End the child at once (the window is closing and cannot wait); the result then holds
        the newest checkpoint (see :meth:`poll`)."""
        if self._process.is_alive():
            self._killed = True
            self._process.kill()
            self._process.join(timeout=5)
        self.poll()


# -------------------------------------------------------------------------------- the child
def _watch_parent(watched: Any) -> None:
    """Exit the moment the parent is gone: its end of ``watched`` closes then (the parent never
    writes to it, so the read returns only at that moment)."""
    def wait_for_close() -> None:
        try:
            watched.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(1)
    threading.Thread(target=wait_for_close, name="bpstudio-parent-watch", daemon=True).start()


def _train_in_child(project: Project, data: TrainingData, options: dict[str, Any], steps: int,
                    stop_event: Any, messages: Any, publish_interval: float,
                    prediction_interval: float | None, resolution: int,
                    checkpoint_interval: float = CHECKPOINT_INTERVAL,
                    watched: Any = None) -> None:
    if watched is not None:
        _watch_parent(watched)
    trainer: Trainer | None = None
    pictures: Engine | None = None
    start_step = 0
    outcome, message, node, details = STOPPED, "", None, ""
    stats = None
    started = time.perf_counter()
    picture = _Pace(prediction_interval if prediction_interval is not None else math.inf)
    saving = _Pace(checkpoint_interval)
    sender = _ProgressSender()
    try:
        trainer = Trainer.from_project(project, data=data, **options)
        start_step = trainer.step
        # The pictures' engine, kept for the run: its arrays for the grid are reused.
        pictures = Engine(trainer.graph, output=trainer.prediction_node)
        next_publish = started
        for stats in trainer.run(steps=steps):
            if stop_event.is_set():
                trainer.stop()
            now = time.perf_counter()
            # A checkpoint goes before the progress of the same step: the window never shows
            # a step as done (the first especially) before it holds weights to keep from it.
            if saving.due(now):
                messages.send(("checkpoint", _checkpoint(trainer, start_step)))
                saving.done(now, time.perf_counter())
                now = time.perf_counter()
            if now >= next_publish:
                # A field goes out when it was just worked out: the window redraws the picture
                # only when it can have changed.
                prediction = None
                if prediction_interval is not None and picture.due(now):
                    prediction = _prediction(trainer, resolution, pictures)
                    picture.done(now, time.perf_counter())
                messages.send(("progress", sender.progress(trainer, stats, start_step, steps,
                                                           started, prediction)))
                next_publish = time.perf_counter() + publish_interval
        outcome = FINISHED if trainer.step - start_step >= steps else STOPPED
    except DivergenceError as exc:
        outcome, message, node = DIVERGED, str(exc), exc.node
    except (BrokenPipeError, EOFError):  # the parent is gone: no one to tell
        os._exit(1)
    except Exception as exc:  # reported to the window, which goes on
        outcome, details = FAILED, traceback.format_exc()
        message = str(exc) if isinstance(exc, TrainingError) else f"{type(exc).__name__}: {exc}"
    if trainer is not None and stats is not None:
        try:
            last = None
            if prediction_interval is not None and picture.cost <= FINAL_PICTURE_SECONDS:
                last = _prediction(trainer, resolution, pictures)
            messages.send(("progress", sender.progress(trainer, stats, start_step, steps,
                                                       started, last)))
        except (BrokenPipeError, EOFError):
            os._exit(1)
        except Exception:  # a last picture is not worth hiding how the run ended
            pass
    result = RunResult(outcome, 0 if trainer is None else trainer.step - start_step,
                       0 if trainer is None else trainer.step, message=message, node=node,
                       details=details)
    if trainer is not None and result.steps_done:
        kept = _checkpoint(trainer, start_step)
        result.values, result.training = kept.values, kept.training
        result.optimizer_state, result.history = kept.optimizer_state, kept.history
    try:
        messages.send(("done", result))
    except (BrokenPipeError, EOFError):
        os._exit(1)
    messages.close()


def _checkpoint(trainer: Trainer, start_step: int) -> Checkpoint:
    saved = trainer.to_project()
    return Checkpoint(step=trainer.step, steps_done=trainer.step - start_step,
                      values={name: trainer.graph.node(name).value.copy()
                              for name in trainer.parameter_names},
                      training=saved.training, optimizer_state=saved.optimizer_state,
                      history=saved.history)


def _prediction(trainer: Trainer, resolution: int,
                engine: Engine | None = None) -> PredictionField | None:
    return prediction_field(trainer.graph, trainer.prediction_node, trainer.data,
                            trainer.bindings, resolution=resolution, engine=engine)


class _ProgressSender:
    """The child's side of :class:`Progress`: what is new since the last one it made."""

    def __init__(self) -> None:
        self._history_mark: tuple[int, int, int] | None = None  # None: nothing sent yet
        self._field_sent = False

    def progress(self, trainer: Trainer, stats: Any, start_step: int, steps: int,
                 started: float, prediction: PredictionField | None) -> Progress:
        history = None
        if len(trainer.history):
            history = trainer.history.to_tree(after=self._history_mark)
            self._history_mark = trainer.history.mark()
        sent: PredictionField | FieldValues | None = prediction
        if prediction is not None:
            if self._field_sent:
                sent = prediction.values_only()  # the grid and the points went with the first
            self._field_sent = True
        validated = trainer.history.last_validation()
        val_loss = val_accuracy = None
        if validated is not None:
            val_loss, accuracy = validated
            val_accuracy = accuracy if math.isfinite(accuracy) else None
        done = trainer.step - start_step
        return Progress(step=trainer.step, steps_done=done, steps_planned=steps,
                        loss=float(stats.loss), accuracy=stats.accuracy, val_loss=val_loss,
                        val_accuracy=val_accuracy,
                        steps_per_second=done / max(time.perf_counter() - started, 1e-9),
                        history=history, prediction=sent)
