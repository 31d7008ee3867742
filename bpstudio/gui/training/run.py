"""One way to follow work that goes on off the window's thread: a :class:`RunController`
polls a job on a timer and says what it reports (``progressed``) and when it has ended
(``finished``). The training dock, the two runs of a comparison and the gradient check each
hold one, instead of a polling loop of their own.

A job is anything with ``start()``, ``stop()``, ``take_progress()`` (the newest report not
taken yet, or None), ``done`` and ``wait(timeout)``: a :class:`BackgroundRun` is one.
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal


class Job(Protocol):
    done: bool

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def take_progress(self) -> Any: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class RunController(QObject):
    """Drives one job at a time. ``progressed(report)`` carries each new report (the newest
    since the last look, about every ``interval_ms``); ``finished(job)`` fires once, after the
    job's last report, when it has ended however it ended."""

    progressed = Signal(object)
    finished = Signal(object)

    def __init__(self, interval_ms: int = 33, parent: QObject | None = None):
        super().__init__(parent)
        self.job: Any = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, job: Job) -> None:
        """Start ``job`` and follow it (one job at a time: a second start is refused)."""
        if self.job is not None:
            raise RuntimeError("a run is already in progress")
        self.job = job
        job.start()
        self._timer.start()

    def stop(self) -> None:
        """Ask the job to end; ``finished`` follows when it has."""
        if self.job is not None:
            self.job.stop()

    def poll(self) -> None:
        """Take what the job has reported; end the run when the job has ended."""
        job = self.job
        if job is None:
            self._timer.stop()
            return
        report = job.take_progress()
        if report is not None:
            self.progressed.emit(report)
        if job.done:
            self._timer.stop()
            self.job = None
            report = job.take_progress()  # what arrived with the end
            if report is not None:
                self.progressed.emit(report)
            self.finished.emit(job)

    def finish_now(self, timeout: float = 5.0) -> None:
        """Stop the job, wait up to ``timeout`` seconds for it (then end it by force, where it
        can be) and deliver ``finished`` before returning (the window is closing)."""
        job = self.job
        if job is None:
            return
        job.stop()
        if not job.wait(timeout) and hasattr(job, "kill"):
            job.kill()
            job.wait(1.0)
        self.poll()
