"""Training in a child process: the same trainer as in the caller, progress as plain copies,
pause and stop between steps, and every way a run can end reported with what it produced."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from bpstudio.core.blas import OneBlasThread
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.training import background, datasets
from bpstudio.core.training.background import (DIVERGED, FAILED, FINISHED, PAUSED, STOPPED,
                                               BackgroundRun)
from bpstudio.core.training.trainer import Trainer

TIMEOUT = 60


def xor_run(steps: int, **options) -> tuple[BackgroundRun, object]:
    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    return BackgroundRun(project, data, options, steps, publish_interval=0.0), (project, data)


def test_a_run_in_a_process_equals_the_same_run_here():
    run, (project, data) = xor_run(150, lr=0.05)
    run.start()
    assert run.wait(TIMEOUT)
    result = run.result
    assert result.outcome == FINISHED and result.steps_done == result.step == 150
    # the caller's project is untouched: the child trained its own copy
    assert not np.array_equal(project.graph.node("hidden.W").value, result.values["hidden.W"])
    here = Trainer.from_project(project, data=data, lr=0.05)
    here.fit(steps=150)
    for name, value in result.values.items():
        assert np.array_equal(value, here.graph.node(name).value)  # bit for bit
    assert result.training["progress"]["step"] == 150
    assert np.array_equal(result.history["loss"], here.history.to_tree()["loss"])


def test_progress_arrives_while_it_runs_and_is_taken_once():
    run, _ = xor_run(400)
    run.start()
    seen = []
    while not run.done:
        progress = run.take_progress()
        if progress is not None:
            seen.append(progress)
    assert seen and seen[-1].step == 400 and seen[-1].steps_planned == 400
    assert [p.steps_done for p in seen] == sorted(p.steps_done for p in seen)
    assert len(seen[-1].history["step"]) == 400
    assert seen[-1].history["loss"][-1] < seen[-1].history["loss"][0]
    assert seen[-1].prediction is not None and seen[-1].prediction.values.shape == (80, 80)
    assert run.take_progress() is None


@pytest.mark.parametrize("how, outcome", [("pause", PAUSED), ("stop", STOPPED)])
def test_pause_and_stop_end_the_run_between_steps(how, outcome):
    run, _ = xor_run(10**7)
    run.start()
    while run.steps_done < 5:
        run.poll()
    getattr(run, how)()
    assert run.wait(TIMEOUT)
    result = run.result
    assert result.outcome == outcome and 5 <= result.steps_done < 10**7
    assert result.training["progress"]["step"] == result.steps_done
    assert len(result.history["step"]) and result.history["step"][-1] == result.steps_done


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_run_names_the_node_and_keeps_finite_weights():
    run, _ = xor_run(500, optimizer="sgd", lr=1e6)
    run.start()
    assert run.wait(TIMEOUT)
    result = run.result
    assert result.outcome == DIVERGED and result.node and "'" in result.message
    assert all(np.all(np.isfinite(v)) for v in result.values.values())


def test_a_run_that_cannot_start_fails_with_the_reason():
    run, _ = xor_run(10, optimizer="no-such-optimizer")
    run.start()
    assert run.wait(TIMEOUT)
    assert run.result.outcome == FAILED and "no-such-optimizer" in run.result.message
    assert run.result.values == {} and run.result.steps_done == 0


def test_a_prediction_is_sent_only_when_it_was_worked_out_again():
    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    run = BackgroundRun(project, data, {}, 3000, publish_interval=0.0, prediction_interval=3600)
    run.start()
    fields = []
    while not run.done:
        progress = run.take_progress()
        if progress is not None:
            fields.append(progress.prediction)
    assert len(fields) > 2 and fields[-1] is not None  # the final picture comes
    # (the window takes the newest message, so the first picture may be passed over)
    assert sum(f is not None for f in fields[:-1]) <= 1  # and before it, at most the first


def test_a_run_asked_for_no_prediction_sends_none():
    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    run = BackgroundRun(project, data, {}, 50, publish_interval=0.0, prediction_interval=None)
    run.start()
    seen = []
    while not run.done:
        progress = run.take_progress()
        if progress is not None:
            seen.append(progress.prediction)
    assert seen and all(f is None for f in seen)


def test_each_progress_carries_what_is_new_and_the_parent_makes_it_whole():
    """The child's progress holds the history points since the last one and, after the first,
    only the prediction's values; the parent's inbox hands on the whole history and the whole
    field. Counted in pickled bytes, as they cross the pipe: they stay the same size however
    long the history grows."""
    import pickle

    from bpstudio.core.training.prediction import FieldValues

    project = EXAMPLES["deep_sigmoid"]()
    data = datasets.prepare("moons", options={"n": 200, "noise": 0.1, "seed": 0}, seed=0)
    trainer = Trainer.from_project(project, data=data, batch_size=32, validate_every=10,
                                   layer_every=5)
    sender = background._ProgressSender()
    inbox = background._Inbox(connection=None)
    sizes, started = [], 0.0
    for k, stats in enumerate(trainer.run(steps=600)):
        if k % 6:
            continue
        field = background._prediction(trainer, 40) if k % 60 == 0 else None
        sent = sender.progress(trainer, stats, 0, 600, started, field)
        sizes.append((len(pickle.dumps(sent.history)), len(pickle.dumps(sent.prediction))))
        if k:
            assert field is None or isinstance(sent.prediction, FieldValues)
        inbox._complete(sent)  # what the inbox's thread does with each message it receives
        whole = trainer.history.to_tree()
        assert np.array_equal(sent.history["loss"], whole["loss"])
        assert np.array_equal(sent.history["validation"]["step"], whole["validation"]["step"])
        assert np.array_equal(sent.history["layers"]["health"]["layer1"],
                              whole["layers"]["health"]["layer1"])
        if field is not None:
            assert np.array_equal(sent.prediction.values, field.values)
            assert np.array_equal(sent.prediction.train_points, field.train_points)
    assert len(trainer.history) == 600
    history_bytes = [h for h, _ in sizes]
    assert max(history_bytes[10:]) <= 1.2 * max(history_bytes[1:10])  # not growing with it
    first_field, later_field = sizes[0][1], max(p for _, p in sizes[10::10])
    points = data.train.features.nbytes + data.validation.features.nbytes
    assert later_field < first_field - points  # the grid and the data points are not sent again


def test_a_child_starts_with_every_core_but_one_for_its_blas_threads(monkeypatch):
    import os

    for name in background.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    held = OneBlasThread()  # (a pool of its own: this run's start holds it and no child ends)
    monkeypatch.setattr(background, "one_blas_thread", held)
    run, _ = xor_run(5)
    seen = {}
    monkeypatch.setattr(run._process, "start", lambda: seen.update(
        {name: os.environ.get(name) for name in background.BLAS_THREAD_VARIABLES}))
    monkeypatch.setattr(run._inbox, "start", lambda: None)
    run.start()
    assert seen == {name: "7" for name in background.BLAS_THREAD_VARIABLES}
    assert all(name not in os.environ for name in background.BLAS_THREAD_VARIABLES)
    run._blas_hold.release()
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # a laptop: one for the run, one kept
    assert background.child_blas_threads() == 1
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert background.child_blas_threads() == 1


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_while_children_train_this_process_keeps_to_one_blas_thread(monkeypatch):
    # (a pool no one else holds, and two threads to start from, whatever this machine's
    # default: the limit must show)
    monkeypatch.setattr(background, "one_blas_thread", OneBlasThread())
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() and set(blas_threads()) == {2}
        first, _ = xor_run(10**7)
        second, _ = xor_run(10**7)
        first.start()
        assert set(blas_threads()) == {1}
        second.start()
        first.stop()
        assert first.wait(TIMEOUT)
        assert set(blas_threads()) == {1}  # the second still trains
        second.stop()
        assert second.wait(TIMEOUT)
        assert set(blas_threads()) == {2}  # lifted once the last has ended
        second.poll()  # (asked again: nothing more to let go of)
        assert set(blas_threads()) == {2}


def test_the_blas_threads_are_given_back_by_the_last_holder_and_not_let_go_twice():
    with threadpool_limits(limits=2, user_api="blas"):
        pool = OneBlasThread()
        first, second = pool.hold(), pool.hold()
        first.release()
        first.release()  # (a hold let go of twice counts once: the other still holds)
        assert set(blas_threads()) == {1}
        second.release()
        assert set(blas_threads()) == {2}
        second.release()
        assert set(blas_threads()) == {2}


def test_a_users_own_blas_threads_are_what_a_child_gets(monkeypatch):
    import os

    for name in background.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with background._child_environment():
        assert os.environ["OMP_NUM_THREADS"] == "3" and "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "3"
