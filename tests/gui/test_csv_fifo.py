"""Training data named by the project that is a FIFO (the CSV file replaced by a pipe since
it was chosen) is refused by name when the window reads it, and the window goes on: reading
it waited for ever for a writer, with the window frozen. The CSV import dialog refuses the
same path with the same words.

The window runs in a child process under a watchdog, so that a hang fails the test instead of
blocking the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bpstudio.core.files.fileformat import load, save

ROOT = Path(__file__).resolve().parents[2]
WATCHDOG_SECONDS = 90

CHILD = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox
    from bpstudio.gui.main_window import MainWindow
    from bpstudio.gui.settings import Settings
    from bpstudio.gui.training.csv_dialog import CsvImportDialog

    app = QApplication([])
    QMessageBox.critical = staticmethod(lambda *a, **k: None)
    window = MainWindow(Settings(QSettings(sys.argv[1], QSettings.IniFormat)))
    assert window.open_file(sys.argv[2])
    ran = window.run_view.forward()  # on the project's training rows, when they can be read
    statuses = [window.statusBar().currentMessage()]
    dialog = CsvImportDialog(sys.argv[3], window)  # File > Import CSV, the path typed in
    app.processEvents()
    print(json.dumps({"ran": ran, "status": statuses[0], "dialog": dialog.error_label.text(),
                      "nodes": len(window.graph.nodes)}), flush=True)
    window.undo_stack.setClean()
    window.close()
""")


def test_the_window_refuses_training_data_that_became_a_fifo(tmp_path):
    csv = tmp_path / "moons.csv"
    rng = np.random.default_rng(0)
    rows = "".join(f"{a:.3f},{b:.3f},{int(a > b)}\n" for a, b in rng.standard_normal((40, 2)))
    csv.write_text("x1,x2,y\n" + rows)
    project = load(ROOT / "resources" / "examples" / "two_moons.bpg")
    project.training = {"data": {"source": "csv", "path": str(csv), "target": "y",
                                 "features": ["x1", "x2"], "task": "classification"},
                        "validation": 0.2, "split_seed": 0}
    path = tmp_path / "moons.bpg"
    save(project, path)
    csv.unlink()
    os.mkfifo(csv)  # the data file is now a pipe that nobody writes to
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    try:
        result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "settings.ini"),
                                 str(path), str(csv)], capture_output=True, text=True, env=env,
                                cwd=ROOT, timeout=WATCHDOG_SECONDS)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the window hung; it had reported: {exc.stdout!r}")
    assert result.returncode == 0, result.stderr[-1000:]
    (report,) = [json.loads(line) for line in result.stdout.splitlines()]
    refusal = f"cannot read {csv}: is a pipe (FIFO), not a file: only regular files are read"
    assert refusal in report["status"]  # the passes ran on the sample, and say why
    assert report["ran"] and report["nodes"] > 0
    assert refusal in report["dialog"]
