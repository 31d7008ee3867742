"""Saving is atomic: a process killed in the middle of a save leaves the previous file intact,
and a save that fails leaves nothing behind."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from bpstudio import FileFormatError, Graph, load, save
from bpstudio.core.files import fileformat

KILLS = 25
ROOT = Path(__file__).resolve().parents[2]

# Two projects with 8 MB of incompressible weights each, so that a save takes long enough
# (hashing, compressing, writing, fsync) for a kill to land in the middle of it.
BUILD = textwrap.dedent("""
    import numpy as np
    from bpstudio import Graph

    def build(version):
        g = Graph()
        g.parameter("w", value=np.random.default_rng(version).normal(size=(1000, 1000)))
        g.set_position("w", (float(version), 0.0))
        return g
""")

SAVER = BUILD + textwrap.dedent("""
    import sys
    from bpstudio import save
    path = sys.argv[1]
    graphs = [build(0), build(1)]
    print("ready", flush=True)
    i = 1
    while True:
        save(graphs[i % 2], path)
        i += 1
""")


def build(version: int) -> Graph:
    namespace: dict = {}
    exec(BUILD, namespace)
    return namespace["build"](version)


def test_killing_a_save_never_damages_the_previous_file(tmp_path):
    path = tmp_path / "project.bpg"
    fingerprints = {}
    for version in (0, 1):
        fingerprints[version] = build(version).node("w").value.tobytes()
    save(build(0), path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(7)
    interrupted = 0
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE,
                                 env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        leftovers = [p for p in tmp_path.iterdir() if p.name != path.name]
        interrupted += bool(leftovers)
        for temp in leftovers:  # a killed save leaves its temporary file; the target is intact
            assert temp.name.startswith(".project.bpg.") and temp.name.endswith(".tmp")
            temp.unlink()
        project = load(path)
        version = int(project.graph.node("w").position[0])
        assert project.graph.node("w").value.tobytes() == fingerprints[version]
    assert interrupted > 0, "no kill landed during a write: the test did not test anything"


def test_a_failing_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "project.bpg"
    save(build(0), path)
    before = path.read_bytes()

    def half_then_fail(stream, entries):
        stream.write(b"PK half a file")
        raise OSError("disk full")

    monkeypatch.setattr(fileformat, "_write_zip", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save(build(1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["project.bpg"]


def test_unsaveable_project_does_not_touch_the_file(tmp_path):
    path = tmp_path / "project.bpg"
    save(build(0), path)
    before = path.read_bytes()
    g = build(1)
    g.node("w").position = "nowhere"  # past the editing API, which refuses it
    with pytest.raises(FileFormatError):
        save(g, path)
    assert path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saving_over_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "project.bpg"
    save(build(0), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    save(build(1), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert np.array_equal(load(path).graph.node("w").value, build(1).node("w").value)
