"""A step changes the trainer's state all at once or not at all, wherever an interrupt lands,
so a saved project resumes exactly; and a stop only speaks to the run in progress."""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer, TrainingError

from training_graphs import mlp


@pytest.fixture(scope="module")
def moons():
    return datasets.prepare("moons", options={"n": 80}, seed=0)


# -------------------------------------------------------------------------- run lengths
@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": True}, "epochs must be a number, not True"),
    ({"epochs": math.inf}, "epochs must be a finite number > 0, not inf"),
    ({"epochs": 10**400}, "epochs must be a finite number > 0, not a whole number of 401 digits"),
    ({"epochs": 0}, "epochs must be a finite number > 0, not 0"),
    ({"epochs": "1"}, "epochs must be a number, not '1'"),
    ({"steps": True}, "steps must be a whole number >= 1, not True"),
    ({"steps": 2.0}, "steps must be a whole number >= 1, not 2.0"),
])
def test_run_refuses_bad_lengths(moons, kwargs, message):
    trainer = Trainer(mlp((2, 8, 1), "tanh", "bce_logits"), moons)
    with pytest.raises(TrainingError) as info:
        trainer.fit(**kwargs)
    assert str(info.value) == message and trainer.step == 0


# ------------------------------------------------------------------------------ stopping
def test_a_stop_between_runs_does_nothing(moons):
    trainer = Trainer(mlp((2, 8, 1), "tanh", "bce_logits"), moons, batch_size=16)
    trainer.stop()  # before any run
    assert trainer.fit(steps=4).step == 4
    trainer.stop()  # between runs
    trainer.stop()
    assert len(list(trainer.run(steps=3))) == 3 and trainer.step == 7
    run = trainer.run(steps=5)
    trainer.stop()  # a run made but not started is not in progress yet
    assert len(list(run)) == 5


def test_a_stop_during_a_run_ends_that_run_only(moons):
    trainer = Trainer(mlp((2, 8, 1), "tanh", "bce_logits"), moons, batch_size=16)
    done = []
    for stats in trainer.run(steps=50):
        done.append(stats.step)
        if stats.step == 3:
            trainer.stop()
    assert done == [1, 2, 3] and trainer.step == 3
    assert trainer.fit(steps=2).step == 5


def test_a_late_stop_from_another_thread_does_not_reach_the_next_run(moons):
    trainer = Trainer(mlp((2, 8, 1), "tanh", "bce_logits"), moons, batch_size=16)
    trainer.fit(steps=2)
    late = threading.Thread(target=trainer.stop)
    late.start()
    late.join()
    assert trainer.fit(steps=3).step == 5


# ---------------------------------------------------------------- a step is all or nothing
TRAINING = Path(datasets.__file__).parent
WATCHED = {str(TRAINING / name) for name in ("trainer.py", "optim.py", "history.py")}
STEPS = 6


class InterruptAt:
    """A trace function that raises KeyboardInterrupt at the ``at``-th line run in the
    training modules: an interrupt landing between any two lines of a step."""

    def __init__(self, at: int):
        self.at, self.lines = at, 0
        self.active = True  # (a frame keeps its tracer after sys.settrace(None))

    def __call__(self, frame, event, arg):
        if not self.active:
            return None
        if event == "call":
            return self if frame.f_code.co_filename in WATCHED else None
        if event == "line":
            self.lines += 1
            if self.lines == self.at:
                raise KeyboardInterrupt
        return self


def small_trainer(data) -> Trainer:
    # Validation every other step and room for 4 history points: the steps interrupted below
    # validate, record and thin the history.
    return Trainer(mlp((2, 4, 1), "tanh", "bce_logits"), data, optimizer="adam", lr=0.05,
                   batch_size=16, seed=3, validate_every=2, history_points=4)


def state_of(trainer: Trainer) -> dict:
    """What a saved project holds, comparable with ==."""
    project = trainer.to_project()

    def plain(tree):
        if isinstance(tree, dict):
            return {k: plain(v) for k, v in tree.items()}
        if isinstance(tree, np.ndarray):
            return (tree.shape, tree.tobytes())
        return tree

    weights = {n.name: n.value.tobytes() for n in project.graph.nodes_of("parameter")}
    training = dict(project.training)
    training["progress"] = {"step": training["progress"]["step"]}  # (wall time varies)
    history = plain(project.history) if project.history else None
    if history:
        history.pop("elapsed")
    return {"weights": weights, "training": training, "history": history,
            "optimizer": plain(project.optimizer_state)}


@pytest.mark.parametrize("interrupted_step", [1, 4])
def test_an_interrupt_anywhere_in_a_step_leaves_a_whole_step_and_resume_is_exact(
        interrupted_step):
    data = datasets.prepare("moons", options={"n": 64}, seed=0)

    def trained(runs: list[int]) -> Trainer:
        trainer = small_trainer(data)
        for steps in runs:
            trainer.fit(steps=steps)
        return trainer

    # What an uninterrupted trainer saves before and after the step (a run's last step
    # validates, so the step is a run of its own here too), what resuming each save to STEPS
    # gives, and where an unbroken run of STEPS ends.
    head = [interrupted_step - 1] if interrupted_step > 1 else []
    saves, resumed_saves = {}, {}
    for runs in (head, head + [1]):
        trainer = trained(runs)
        saves[trainer.step] = state_of(trainer)
        resumed = Trainer.from_project(trainer.to_project())
        resumed.fit(steps=STEPS - trainer.step)
        resumed_saves[trainer.step] = state_of(resumed)
    straight = state_of(trained([STEPS]))
    at, outcomes = 0, set()
    while True:
        at += 1
        trainer = trained(head)
        tracer, run = InterruptAt(at), trainer.run(steps=1)
        sys.settrace(tracer)
        try:
            next(run)
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
            tracer.active = False
        run.close()
        if tracer.lines < at:
            break  # the step ran to its end before the interrupt's turn: every line was tried
        saved = state_of(trainer)
        step = saved["training"]["progress"]["step"]
        assert step in saves, at
        assert saved == saves[step], f"an interrupt at line {at} of the step"
        outcomes.add(step)
        # Resuming the saved project is resuming an uninterrupted save (history included),
        # and its weights and optimiser end where an unbroken run's do.
        resumed = Trainer.from_project(trainer.to_project())
        resumed.fit(steps=STEPS - step)
        assert state_of(resumed) == resumed_saves[step], at
        for key in ("weights", "optimizer"):
            assert state_of(resumed)[key] == straight[key], at
    assert outcomes == {interrupted_step - 1, interrupted_step}  # both sides were hit
    assert at > 60  # (the interrupts were tried at many places of a step)
