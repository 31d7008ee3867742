"""``bpstudio.show``: from a script, the app's window opens on the graph given and the call
returns once the window closes, with the project; ``import bpstudio`` alone loads no Qt."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import bpstudio

SCRIPT = textwrap.dedent('''
    import sys
    import bpstudio
    from bpstudio.core.examples import EXAMPLES
    assert "PySide6" not in sys.modules  # the GUI is imported by show() alone
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    seen = []

    def close():
        for window in app.topLevelWidgets():
            if window.isVisible():
                seen.append(window.windowTitle())
                window.close()

    QTimer.singleShot(300, close)
    original = EXAMPLES["xor"]()
    project = bpstudio.show(original.graph, name="xor-lesson")
    print("titles:", seen)
    print("same graph:", project.graph.nodes.keys() == original.graph.nodes.keys())
''')


def test_show_opens_the_window_on_the_graph_and_returns_when_it_closes(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "titles: ['xor-lesson.bpg — Backprop Studio']" in done.stdout
    assert "same graph: True" in done.stdout


def test_show_refuses_what_is_not_a_graph():
    with pytest.raises(TypeError, match="Graph or a Project, not int"):
        bpstudio.show(42)
