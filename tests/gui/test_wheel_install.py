"""The wheel a user would install: built from the repository in isolation, installed with its
dependencies into a new virtual environment of its own, and its ``bpstudio --self-test`` run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from bpstudio.version import __version__

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.packaging
def test_the_built_wheel_installs_into_a_fresh_venv_and_passes_its_self_test(tmp_path):
    source, wheels, env_dir = tmp_path / "source", tmp_path / "wheels", tmp_path / "venv"
    # Build from a copy: an in-place build would leave build/ and *.egg-info in the checkout.
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests", ".pytest_cache",
        ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source),
                    "-w", str(wheels)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(wheels.glob(f"bpstudio-{__version__}-*.whl"))
    # Not --system-site-packages: the wheel must bring every dependency it needs itself.
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)],
                               capture_output=True, text=True, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "PYTHONPATH", "VIRTUAL_ENV")}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    result = subprocess.run([str(env_dir / "bin" / "bpstudio"), "--self-test"],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ok   icon bpstudio (6 sizes)"
    assert "ok   reload xor" in lines and "ok   train xor (xor, 20 steps)" in lines
    assert lines[-1].startswith("self-test passed: 8 projects")
    where = subprocess.run([str(python), "-c", "import bpstudio; print(bpstudio.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert where.stdout.startswith(str(env_dir))  # the wheel's copy ran, not the checkout
