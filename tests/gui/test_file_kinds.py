"""File > Open and File > Import ONNX refuse a path that is not a regular file (a device, a
FIFO, a folder, a link to one) with a dialog naming it, before reading it, and the window goes
on. (Opening a FIFO froze the window for good; /dev/zero filled memory.)

The window runs in a child process under a watchdog, so that a hang fails the test instead of
blocking the suite."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WATCHDOG_SECONDS = 90
MEMORY_CAP = 4 * 2**30  # the address space the window may take (/dev/zero would take all)


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

CHILD = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox
    from bpstudio.gui.main_window import MainWindow
    from bpstudio.gui.settings import Settings

    app = QApplication([])
    errors = []
    QMessageBox.critical = staticmethod(lambda parent, title, text, *a, **k: errors.append(text))
    window = MainWindow(Settings(QSettings(sys.argv[1], QSettings.IniFormat)))
    for path in sys.argv[2:]:
        del errors[:]
        opened = (window.import_onnx_file(path) if path.endswith(".onnx")
                  else window.open_file(path))
        print(json.dumps({"path": path, "opened": opened, "errors": list(errors),
                          "nodes": len(window.graph.nodes)}), flush=True)
    window.close()
""")


def test_the_window_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.bpg")
    os.mkfifo(tmp_path / "pipe.onnx")
    (tmp_path / "folder.bpg").mkdir()
    os.symlink("/dev/zero", tmp_path / "zero.bpg")
    os.symlink("/dev/zero", tmp_path / "zero.onnx")
    paths = [str(tmp_path / n) for n in ("pipe.bpg", "pipe.onnx", "folder.bpg", "zero.bpg",
                                          "zero.onnx")] + ["/dev/null", "/dev/zero"]
    paths.append(str(ROOT / "resources" / "examples" / "xor.bpg"))  # and the window goes on
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    try:
        result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "settings.ini"),
                                 *paths], capture_output=True, text=True, env=env, cwd=ROOT,
                                timeout=WATCHDOG_SECONDS, preexec_fn=cap_memory)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the window hung; it had reported: {exc.stdout!r}")
    assert result.returncode == 0, result.stderr[-1000:]
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in reports] == paths
    kinds = ["a pipe (FIFO)", "a pipe (FIFO)", "a folder", "a device", "a device", "a device",
             "a device"]
    for report, kind in zip(reports, kinds):
        assert not report["opened"]
        (message,) = report["errors"]
        assert f"is {kind}, not a file: only regular files are read" in message
        assert Path(report["path"]).name in message
    assert reports[-1]["opened"] and reports[-1]["errors"] == [] and reports[-1]["nodes"] > 0
