"""A training child that dies, or whose parent dies: nothing blocks, nothing is left running,
and the steps completed are kept. Real processes and real signals; every wait is bounded by a
watchdog that fails the test instead of hanging the suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bpstudio.core.examples import EXAMPLES
from bpstudio.core.training import datasets
from bpstudio.core.training.background import FAILED, STOPPED, BackgroundRun

WATCHDOG = 30  # seconds: far beyond what any of these should take; only a hang reaches it
ROOT = Path(__file__).resolve().parents[2]


def big_message_run(steps: int = 10**7, **kwargs) -> BackgroundRun:
    """A run whose every progress message is larger than a pipe's buffer (a 200x200 picture
    each time), so that a child killed while sending is likely caught half-way through one."""
    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    return BackgroundRun(project, data, {}, steps, publish_interval=0.0, prediction_interval=0.0,
                         prediction_resolution=200, **kwargs)


def call_with_watchdog(function) -> None:
    """Run ``function`` in a thread; fail if it has not returned within WATCHDOG seconds."""
    failure: list[BaseException] = []

    def target():
        try:
            function()
        except BaseException as exc:  # reported below
            failure.append(exc)
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(WATCHDOG)
    assert not thread.is_alive(), f"{function.__name__} was still blocked after {WATCHDOG} s"
    if failure:
        raise failure[0]


def trained_a_little(run: BackgroundRun) -> None:
    deadline = time.monotonic() + WATCHDOG
    while run.steps_done < 1:
        run.poll()
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.005)


@pytest.mark.parametrize("busy", [0.0, 0.3, 0.8])
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_a_child_killed_mid_message_is_reported_and_its_steps_kept(busy, signum):
    run = big_message_run()
    run.start()
    trained_a_little(run)
    time.sleep(busy)  # the window is busy elsewhere and does not poll
    os.kill(run._process.pid, signum)

    def poll_until_done():
        while not run.done:
            run.poll()
            time.sleep(0.01)
    call_with_watchdog(poll_until_done)
    result = run.result
    assert result.outcome == FAILED
    assert f"the training process ended unexpectedly (signal {int(signum)})" in result.message
    assert f"the weights from step {result.step} are kept" in result.message
    assert result.steps_done == result.step >= 1
    assert set(result.values) == {"hidden.W", "hidden.b", "out.W", "out.b"}
    assert result.history["step"][-1] == result.step
    assert result.training["progress"]["step"] == result.step


@pytest.mark.parametrize("later", [0.0, 0.2, 0.6])
def test_a_child_killed_for_not_ending_in_time_leaves_its_checkpoint(later):
    run = big_message_run()
    run.start()
    trained_a_little(run)
    call_with_watchdog(lambda: run.wait(later))  # the wait that timed out
    call_with_watchdog(run.kill)
    assert run.done
    assert run.result.outcome == STOPPED
    assert "did not end in time" in run.result.message
    assert f"the weights from step {run.result.step} are kept" in run.result.message
    assert run.result.steps_done >= 1 and run.result.values
    assert run.checkpoint is not None and run.result.step == run.checkpoint.step


def test_a_child_that_dies_before_any_step_says_nothing_is_kept():
    run = big_message_run()
    run.start()
    os.kill(run._process.pid, signal.SIGKILL)
    call_with_watchdog(lambda: run.wait(WATCHDOG))
    assert run.result.outcome == FAILED and run.result.values == {}
    assert "(signal 9)" in run.result.message


# --------------------------------------------------------------------- the parent dies
PARENT = textwrap.dedent("""
    import sys, time
    from bpstudio.core.examples import EXAMPLES
    from bpstudio.core.training import datasets
    from bpstudio.core.training.background import BackgroundRun

    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    run = BackgroundRun(project, data, {}, 10**8, publish_interval=0.0)
    run.start()
    while run.steps_done < 1:
        run.poll()
        time.sleep(0.005)
    print(run._process.pid, flush=True)
    if sys.argv[1] == "polling":
        while True:
            run.poll()
            time.sleep(0.01)
    time.sleep(3600)  # busy elsewhere: not reading what the child sends
""")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux: /proc/PID/task/*/children)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie trains no more


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("parent_does", ["polling", "sleeping"])
def test_a_child_exits_soon_after_its_parent_is_killed(signum, parent_does):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, parent_does], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        below = descendants(parent.pid)
        assert child in below and running(child)
        os.kill(parent.pid, signum)
        parent.wait(WATCHDOG)
        killed = time.monotonic()
        while any(running(pid) for pid in below) and time.monotonic() - killed < WATCHDOG:
            time.sleep(0.05)
        left = [pid for pid in below if running(pid)]
        # (the watchdog is generous; the child exits within a pipe's close, see the benchmark)
        assert not left, f"processes {left} outlived their parent"
    finally:
        for pid in descendants(parent.pid) | ({child} if "child" in dir() else set()):
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


# --------------------------------------------------------------------- live extras' share
@pytest.mark.parametrize("cost", [0.001, 0.05, 0.5, 3.0])
@pytest.mark.parametrize("interval", [0.0, 0.5, 2.0])
def test_a_paced_extra_takes_at_most_its_share_of_the_time(cost, interval):
    """On a fake clock: steps of 10 ms, an extra that takes ``cost`` seconds whenever due."""
    from bpstudio.core.training.background import _Pace
    pace = _Pace(interval, share=0.1)
    now, spent, times = 0.0, 0.0, 0
    while now < 600:
        now += 0.01  # a step
        if pace.due(now):
            pace.done(now, now + cost)
            now += cost
            spent += cost
            times += 1
    assert times >= 1
    # the first one cannot wait for a measurement; after it, the share holds
    assert spent - cost <= 0.1 * now + 1e-9
    if cost * 9 <= interval:  # a cheap extra keeps its own rate
        assert times >= int(600 / (interval + cost + 0.01)) - 1


class FakeClock:
    """perf_counter for the child's loop: each look at the clock is a millisecond later."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.001
        return self.now


class Outbox:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)
    put = send  # (the queue the child wrote to before)

    def close(self):
        pass

    def join_thread(self):
        pass


class NoStop:
    def is_set(self):
        return False


@pytest.mark.parametrize("picture_seconds", [0.2, 1.0, 5.0])
@pytest.mark.parametrize("interval", [0.0, 0.5])
def test_the_live_picture_takes_a_bounded_share_of_a_run(monkeypatch, picture_seconds,
                                                         interval):
    """The child's own loop, in this process, on a fake clock: a prediction picture that takes
    ``picture_seconds`` (a large net) is drawn rarely enough to cost at most its share."""
    from bpstudio.core.training import background
    clock = FakeClock()
    monkeypatch.setattr(background, "time", clock)
    drawn = []

    def slow_picture(trainer, resolution, engine=None):
        clock.now += picture_seconds
        drawn.append(trainer.step)
        return None
    monkeypatch.setattr(background, "_prediction", slow_picture)
    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    outbox = Outbox()
    background._train_in_child(project, data, {}, 3000, NoStop(), outbox, 1 / 30, interval, 80)
    assert outbox.sent[-1][0] == "done" and outbox.sent[-1][1].steps_done == 3000
    # the first picture is drawn before its cost is known, and the last one (of the final
    # weights) only when it is quick; the others keep to the share
    paced = max(0, len(drawn) - 2)
    share = paced * picture_seconds / clock.now
    assert share <= background.EXTRA_SHARE, \
        f"{len(drawn)} pictures of {picture_seconds} s took {share:.0%} of the run"
    assert len(drawn) >= 1


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_diverging_run_reports_itself_without_numpys_warnings():
    # The child's loop, run here: its overflows are the message it sends, not warnings
    # printed to the terminal the app was started from.
    from bpstudio.core.training.background import DIVERGED, _train_in_child

    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 80, "seed": 0}, seed=0)
    outbox = Outbox()
    _train_in_child(project, data, {"optimizer": "sgd", "lr": 1e6}, 500, threading.Event(),
                    outbox, publish_interval=0.0, prediction_interval=None, resolution=20)
    kind, result = outbox.sent[-1]
    assert kind == "done" and result.outcome == DIVERGED and "learning rate" in result.message


def test_no_step_is_reported_done_before_a_checkpoint_can_keep_it():
    """In the child's stream of messages, a checkpoint comes before the first progress: a
    window that has seen a step done always holds weights to keep if the child then dies
    (progress first let a kill between the two lose a step the window had shown)."""
    from bpstudio.core.training.background import _train_in_child

    class Recorder:
        def __init__(self):
            self.kinds: list[str] = []

        def send(self, message):
            self.kinds.append(message[0])

        def close(self):
            pass

    project = EXAMPLES["xor"]()
    data = datasets.prepare("xor", options={"n": 40, "seed": 0}, seed=0)
    recorder = Recorder()
    _train_in_child(project, data, {}, 20, threading.Event(), recorder, publish_interval=0.0,
                    prediction_interval=None, resolution=20)
    assert recorder.kinds[-1] == "done" and "progress" in recorder.kinds
    assert recorder.kinds.index("checkpoint") < recorder.kinds.index("progress")
