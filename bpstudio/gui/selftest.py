"""``bpstudio --self-test [FILE...]``: drive the real window through each bundled example (or the
given projects) and say plainly whether this installation works.

For every project it opens the file in a main window, runs Forward and Backward, trains a few
steps through the training dock, saves a copy and loads it back. It prints one line per check
("ok   open xor", "FAIL train xor: ...") and returns 0 only when every check passed, so that a
package build, a packager or a person who cannot see a window can tell a broken install at once.
It runs offscreen and keeps its settings in a temporary file: the person's own settings, recent
files and folders are never touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

TRAIN_STEPS = 20
TRAIN_TIMEOUT_S = 60.0

# The bundled examples' inputs are x and y; these are the data sets they were drawn for. A file
# that names its data set in its training settings keeps that one (iris_classifier does).
EXAMPLE_DATA = {"xor": "xor", "single_neuron": "sine", "fan_out": "sine"}
# For any other project the first of these the graph accepts is used: a 2-feature binary
# classifier takes moons, a scalar regression takes sine.
FALLBACK_DATA = ("moons", "sine", "xor", "iris", "blobs")


class CheckFailed(Exception):
    """One check did not pass: the message says what was seen."""


class NotApplicable(Exception):
    """The check does not apply to this project (fan_out's loss is built by hand from a mean,
    so the app rightly refuses to train it): reported, and not a failure."""


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform warns about window size hints it cannot pass on; those lines
    would bury the report, and say nothing about the installation."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, _context, message: str) -> None:
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def _check_icon() -> str:
    """The icons are installed beside the examples: a package that lost them shows a blank
    window icon, which no other check would notice."""
    from .icons import ICON_SIZES, app_icon

    sizes = sorted(s.width() for s in app_icon().availableSizes())
    if sizes != sorted(ICON_SIZES):
        raise CheckFailed(f"icon sizes {sizes}, expected {list(ICON_SIZES)}")
    return f"{len(sizes)} sizes"


def _wait_until(app, condition: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until ``condition`` holds: the run's progress arrives by a timer."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def _loss_item(window):
    """The canvas item of the node the passes end at (a loss op, or a hand-built one such as
    fan_out's mean of squares)."""
    return window.scene.node_items[window.graph.default_output().id]


def _choose_data(panel, project_path: Path) -> str:
    """Pick a data set the graph can train on, as a person would in the dock."""
    from bpstudio.core.errors import BPStudioError

    saved = panel.document.training.get("data") or {}
    candidates = [saved.get("source"), EXAMPLE_DATA.get(project_path.stem), *FALLBACK_DATA]
    problems = []
    for name in dict.fromkeys(c for c in candidates if c):
        index = panel.data_combo.findText(name)
        if index < 0:
            continue
        if panel.data_combo.currentIndex() != index or name != saved.get("source"):
            panel.data_combo.setCurrentIndex(index)
            panel.data_combo.activated.emit(index)
        try:
            panel.make_trainer()
        except (BPStudioError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        return name
    raise CheckFailed("no data set fits: " + "; ".join(problems))


def _weights(graph) -> dict[str, np.ndarray]:
    return {n.name: np.array(n.value, copy=True) for n in graph.nodes_of("parameter")}


class SelfTest:
    def __init__(self, app, out: TextIO, folder: Path):
        self.app = app
        self.out = out
        self.folder = folder
        self.failures: list[str] = []

    def check(self, name: str, subject: str, run: Callable[[], str | None]) -> bool:
        try:
            detail = run()
        except NotApplicable as exc:
            print(f"skip {name} {subject}: {exc}", file=self.out, flush=True)
            return True
        except Exception as exc:  # a self-test reports every failure, whatever raised it
            reason = str(exc) or type(exc).__name__
            self.failures.append(f"{name} {subject}")
            print(f"FAIL {name} {subject}: {' '.join(reason.split())}", file=self.out,
                  flush=True)
            return False
        print(f"ok   {name} {subject}" + (f" ({detail})" if detail else ""), file=self.out,
              flush=True)
        return True

    def project(self, path: Path) -> None:
        from PySide6.QtCore import QSettings

        from bpstudio.core.files.fileformat import load

        from .main_window import MainWindow
        from .settings import Settings

        store = QSettings(str(self.folder / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(Settings(store))
        window.resize(1280, 800)
        window.show()
        name = path.stem
        try:
            def open_it():
                if not window.open_file(path):
                    raise CheckFailed(window.statusBar().currentMessage() or "refused")
            if not self.check("open", name, open_it):
                return

            def forward():
                window.actions.forward.trigger()
                text = _loss_item(window).value_text
                if not text:
                    raise CheckFailed("the loss shows no value: "
                                      + window.statusBar().currentMessage())
                return f"loss {text.removeprefix('= ')}"
            if not self.check("forward", name, forward):
                return

            def backward():
                window.actions.backward.trigger()
                if not _loss_item(window).grad_text:
                    raise CheckFailed("the loss shows no gradient: "
                                      + window.statusBar().currentMessage())
            if not self.check("backward", name, backward):
                return

            panel = window.training_panel

            def train():
                if not any(n.spec.is_loss for n in window.graph.nodes.values()):
                    raise NotApplicable("no loss op to lower (the graph ends at "
                                        f"{window.graph.default_output().op})")
                data = _choose_data(panel, path)
                before = _weights(window.graph)
                if not panel.train(TRAIN_STEPS):
                    raise CheckFailed(panel.message_label.text() or "the run did not start")
                if not _wait_until(self.app, lambda: not panel.running, TRAIN_TIMEOUT_S):
                    panel.stop()
                    raise CheckFailed(f"no end after {TRAIN_TIMEOUT_S:.0f} s")
                history = window.document.training_state.history or {}
                steps = len(history.get("step", []))
                if steps < TRAIN_STEPS:
                    raise CheckFailed(f"{steps} of {TRAIN_STEPS} steps done; "
                                      + panel.message_label.text())
                after = _weights(window.graph)
                if all(np.array_equal(before[k], after[k]) for k in before):
                    raise CheckFailed("the weights did not change")
                return f"{data}, {TRAIN_STEPS} steps"
            if not self.check("train", name, train):
                return

            saved_to = self.folder / f"{name}.bpg"

            def save():
                if not window.save_as(saved_to):
                    raise CheckFailed("save refused")
                if window.is_modified:
                    raise CheckFailed("the window still shows unsaved changes")
            if not self.check("save", name, save):
                return

            def reload():
                loaded = load(saved_to)
                if loaded != window.document.project:
                    raise CheckFailed("the file loaded back differs from the window")
                ours, theirs = _weights(window.graph), _weights(loaded.graph)
                if ours.keys() != theirs.keys() or any(
                        not np.array_equal(ours[k], theirs[k]) for k in ours):
                    raise CheckFailed("the weights loaded back differ from the window's")
            self.check("reload", name, reload)
        finally:
            window.undo_stack.setClean()  # closing must not ask to save
            window.close()
            window.deleteLater()
            self.app.processEvents()


def run(files: list[str] | None = None, out: TextIO | None = None) -> int:
    """Check each project (the bundled examples when none is given); 0 when all pass."""
    out = out if out is not None else sys.stdout
    # Offscreen before the application exists: the self-test must work without a display.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from bpstudio.core.examples import example_files, example_folder

    _quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    paths = [Path(f) for f in files] if files else example_files()
    if not paths:
        print(f"FAIL examples: none found in {example_folder()}", file=out)
        return 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bpstudio-self-test-") as folder:
        test = SelfTest(app, out, Path(folder))
        test.check("icon", "bpstudio", _check_icon)
        for path in paths:
            test.project(path)
    seconds = time.monotonic() - started
    if test.failures:
        print(f"self-test FAILED ({len(test.failures)} of the checks): "
              + ", ".join(test.failures), file=out, flush=True)
        return 1
    print(f"self-test passed: {len(paths)} projects in {seconds:.1f} s", file=out, flush=True)
    return 0
