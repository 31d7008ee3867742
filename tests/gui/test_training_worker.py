"""The training thread: runs the trainer on its own, publishes copies, pauses and stops between
steps, and reports how a run ended (no window involved)."""

from __future__ import annotations

import numpy as np
import pytest

from bpstudio.core.examples import EXAMPLES
from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer
from bpstudio.gui.training.worker import (DIVERGED, FINISHED, PAUSED, STOPPED, TrainingWorker)


def xor_trainer(**options) -> Trainer:
    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    return Trainer.from_project(project, data=data, **options)


def test_a_run_finishes_and_publishes_its_history():
    trainer = xor_trainer(lr=0.05)
    worker = TrainingWorker(trainer, 120, publish_interval=0.0)
    worker.start()
    assert worker.wait(30)
    assert worker.outcome == FINISHED and worker.error is None
    progress = worker.take_progress()
    assert progress.step == progress.steps_done == 120 and progress.steps_planned == 120
    assert len(progress.history["step"]) == 120
    assert progress.history["loss"][-1] < progress.history["loss"][0]
    assert worker.take_progress() is None  # each progress is taken once
    # what was published is a copy: the trainer going on does not change it
    kept = progress.history["loss"].copy()
    trainer.fit(steps=5)
    assert np.array_equal(progress.history["loss"], kept)


def test_pause_and_stop_end_the_run_between_steps():
    for how, outcome in (("pause", PAUSED), ("stop", STOPPED)):
        trainer = xor_trainer()
        worker = TrainingWorker(trainer, 10**6, publish_interval=0.0)
        worker.start()
        while worker.steps_done < 3:
            pass
        getattr(worker, how)()
        assert worker.wait(30)
        done = worker.steps_done
        assert worker.outcome == outcome and 3 <= done < 10**6 and trainer.step == done
        # a stop asked during the run does not swallow the next one
        trainer.fit(steps=2)
        assert trainer.step == done + 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_a_diverging_run_says_so_and_keeps_finite_weights():
    trainer = xor_trainer(optimizer="sgd", lr=1e6)
    worker = TrainingWorker(trainer, 500, publish_interval=0.0)
    worker.start()
    assert worker.wait(30)
    assert worker.outcome == DIVERGED
    assert worker.error.node and worker.error.step >= 1
    for name in trainer.parameter_names:
        assert np.all(np.isfinite(trainer.graph.node(name).value))


def test_the_prediction_is_worked_out_in_the_thread():
    trainer = xor_trainer()
    calls = []

    def prediction(t):
        calls.append(t.step)
        return None
    worker = TrainingWorker(trainer, 30, prediction=prediction, publish_interval=0.0,
                            prediction_interval=0.0)
    worker.start()
    assert worker.wait(30)
    assert calls and calls[-1] == 30
