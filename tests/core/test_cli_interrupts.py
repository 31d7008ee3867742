"""``bpstudio-cli train --out`` interrupted by real signals at several moments: during the
training, during the write of the trained project, several times over. The steps completed are
saved whole, or the message says they are not; never a traceback, never half a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bpstudio
from bpstudio.core.files.fileformat import load
from bpstudio.core.project import Project
from tests.core.training_graphs import mlp

ROOT = Path(__file__).resolve().parents[2]
WATCHDOG = 120


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interrupts")
    small, large = folder / "small.bpg", folder / "large.bpg"
    bpstudio.save(Project(mlp((2, 8, 2))), small)
    # 2-1500-1500-2: 2.3 M parameters, a write long enough to be interrupted in the middle
    bpstudio.save(Project(mlp((2, 1500, 1500, 2))), large)
    return {"small": small, "large": large}


def start_training(project: Path, out: Path, steps: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "bpstudio.cli", "train", str(project),
                             "--data", "moons", "--steps", str(steps), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WATCHDOG
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.001)


def temporary_files(folder: Path) -> list[Path]:
    return list(folder.glob(".*.tmp"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("times", [1, 3])
def test_a_signal_during_the_training_saves_the_steps_completed(projects, tmp_path, signum,
                                                                times):
    out = tmp_path / "trained.bpg"
    run = start_training(projects["small"], out, 10**8)
    try:
        assert run.stdout.readline().startswith("task:")
        run.stdout.readline()  # a first progress line: it has trained for a second
        for _ in range(times):
            run.send_signal(signum)
            time.sleep(0.05)
        stdout, stderr = run.communicate(timeout=WATCHDOG)
    finally:
        run.kill()
    assert "Traceback" not in stderr
    # (a signal after all was written and said may end the program by its default action)
    assert run.returncode in (128 + signum, -signum)
    saved = load(out)
    steps = saved.training["progress"]["step"]
    assert steps >= 1
    assert f"interrupted ({signal.Signals(signum).name}) after {steps} of " in stderr
    assert f"the {steps} steps completed are saved in {out}" in stderr
    assert not temporary_files(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("times", [1, 2])
@pytest.mark.parametrize("steps", [3, 20])
def test_a_signal_during_the_write_lets_the_write_finish(projects, tmp_path, signum, times,
                                                         steps):
    out = tmp_path / "trained.bpg"
    run = start_training(projects["large"], out, steps)
    try:
        wait_for(lambda: temporary_files(tmp_path) or run.poll() is not None,
                 "began the write")
        for _ in range(times):
            run.send_signal(signum)
        stdout, stderr = run.communicate(timeout=WATCHDOG)
    finally:
        run.kill()
    assert "Traceback" not in stderr, stderr
    saved = load(out)  # whole: it loads
    assert saved.training["progress"]["step"] == steps
    assert not temporary_files(tmp_path)
    if run.returncode != 0:  # (unless the write had ended before the signal came)
        assert run.returncode == 128 + signum
        assert f"the {steps} steps completed are saved in {out}" in stderr


def test_a_signal_before_the_training_ends_with_one_line(projects, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ("import signal, sys; from bpstudio import cli; "
            "cli.open_project = lambda path: signal.raise_signal(signal.SIGINT); "
            "sys.exit(cli.main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", code, "train", str(projects["small"]),
                          "--data", "moons", "--steps", "5"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=WATCHDOG)
    assert run.returncode == 130 and run.stderr.strip() == "bpstudio-cli: interrupted"
