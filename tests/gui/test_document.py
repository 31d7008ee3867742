"""One document owns the open project: what belongs to a project stays with it (data settings,
curves, legends, counters), and the panels are built from the document alone."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QPushButton

from bpstudio import load
from bpstudio.gui.welcome import example_title
from bpstudio.gui.document import Document
from bpstudio.gui.main_window import examples_dir
from bpstudio.gui.welcome import recent_labels
from bpstudio.gui.training import panel as panel_module
from bpstudio.gui.training.comparison import ComparisonWindow
from bpstudio.gui.training.panel import RunSettings, TrainingPanel

from guihelpers import key

TIMEOUT = 60_000
GUI = Path(__file__).resolve().parents[2] / "bpstudio" / "gui"
WINDOW_OWN = {"main_window.py", "app.py", "selftest.py"}


# --------------------------------------------------------------------------------- layers
def main_window_mentions(source: str) -> list[int]:
    """The lines of ``source`` that import the main window module or name MainWindow, in code,
    under TYPE_CHECKING, or in a string annotation."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if "main_window" in (node.module or "") or "main_window" in names \
                    or "MainWindow" in names:
                lines.append(node.lineno)
        elif isinstance(node, ast.Import):
            if any("main_window" in a.name for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id == "MainWindow":
            lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and "MainWindow" in node.value and node.value.isidentifier():
            lines.append(node.lineno)
    return sorted(set(lines))


def test_the_check_finds_a_main_window_under_type_checking():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from ..main_window import MainWindow\n"
              "def f(window: 'MainWindow'):\n    return window\n")
    assert main_window_mentions(source) == [3, 4]
    assert main_window_mentions("import bpstudio.gui.main_window as w\n") == [1]
    assert main_window_mentions("from .document import Document\n") == []


def test_no_panel_knows_the_main_window():
    found = []
    for path in sorted(GUI.rglob("*.py")):
        if path.parent == GUI and path.name in WINDOW_OWN:
            continue
        found += [f"{path.relative_to(GUI)}:{line}"
                  for line in main_window_mentions(path.read_text())]
    assert not found, "only the window's own modules may know MainWindow:\n" + "\n".join(found)


# ------------------------------------------------------------------- panels on their own
def button(widget, text: str) -> QPushButton:
    for b in widget.findChildren(QPushButton):
        if b.text() == text or b.text().startswith(text + " ("):
            return b
    raise AssertionError(f"no button '{text}'")


@pytest.fixture
def xor_document():
    document = Document()
    document.open(examples_dir() / "xor.bpg")
    return document


def test_the_training_panel_trains_a_document_without_a_window(qtbot, xor_document):
    panel = TrainingPanel(xor_document)
    qtbot.addWidget(panel)
    panel.show()
    started, locks = [], []
    panel.run_started.connect(lambda: started.append(True))
    xor_document.lock_changed.connect(locks.append)
    assert panel.data_combo.currentText() == "xor"  # the example's own data
    panel.length_spin.setValue(40)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert started == [True] and locks == [True, False]
    assert xor_document.undo_stack.undoText() == "Train 40 steps"
    assert xor_document.training_state.steps == 40
    assert xor_document.is_modified
    panel.plots.show_tab(0)
    QApplication.processEvents()
    x, _ = panel.plots.loss_plot.train_curve.getData()
    assert x is not None and x[-1] == 40
    settings = panel.run_settings()
    assert settings.training["data"]["source"] == "xor" and settings.steps == 40
    assert settings.options["optimizer"] == panel.optimizer_combo.currentText()


def test_the_comparison_runs_from_a_document_and_plain_settings(qtbot, xor_document):
    settings = RunSettings({"data": {"source": "xor"}, "validation": 0.2},
                           {"optimizer": "adam", "lr": 0.05, "batch_size": 16, "seed": 3}, 60)
    dialog = ComparisonWindow(xor_document, lambda: settings)
    qtbot.addWidget(dialog)
    assert not dialog.prepare()  # xor has no lesson preset: a learning rate variant
    assert "xor · adam, learning rate 0.05" == dialog.a_label.text()
    dialog.steps_spin.setValue(60)
    dialog.show()
    qtbot.mouseClick(button(dialog, "Run Both"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)
    losses = [dialog.histories[k]["loss"] for k in range(2)]
    assert len(losses[0]) == len(losses[1]) == 60
    QApplication.processEvents()
    legends = [dialog.loss_legend, *dialog.profile_legends.values()]
    plots = [dialog.loss_plot, *dialog.profile_plots.values()]
    for legend, plot in zip(legends, plots):  # named runs, and no legend over the curves
        assert len(legend.items) == 2
        assert not legend.sceneBoundingRect().intersects(plot.getViewBox().sceneBoundingRect())
    assert not xor_document.is_modified and xor_document.undo_stack.count() == 0


# --------------------------------------------------------- what belongs to a project stays
def trigger_menu_entry(menu, text: str) -> None:
    menu.aboutToShow.emit()
    for action in menu.actions():
        if action.text().replace("&", "").rstrip("…") == text:
            action.trigger()
            return
    raise AssertionError(f"no entry '{text}' in {[a.text() for a in menu.actions()]}")


def test_another_document_brings_its_own_data_not_the_last_ones_csv(qtbot, window, tmp_path,
                                                                   dialogs):
    path = tmp_path / "customers.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,label"] + [f"{p:.4f},{q:.4f},{int(p * q > 0)}"
                            for p, q in rng.normal(size=(40, 2))]
    path.write_text("\n".join(rows) + "\n")
    assert window.open_file(examples_dir() / "two_moons.bpg")
    panel = window.training_panel

    def fill_in_the_dialog():
        dialog = QApplication.activeModalWidget()
        dialog.path_edit.clear()
        QTest.keyClicks(dialog.path_edit, str(path))
        QTest.keyClick(dialog.path_edit, Qt.Key_Return)
        qtbot.mouseClick(dialog.import_button, Qt.LeftButton)
    QTimer.singleShot(0, fill_in_the_dialog)
    index = panel.data_combo.findText(panel_module.CSV_ITEM)
    panel.data_combo.setCurrentIndex(index)
    panel.data_combo.activated.emit(index)
    assert panel.data_combo.currentText() == "CSV: customers.csv"
    path.unlink()  # gone, as a file on another machine would be

    trigger_menu_entry(window.examples_menu, example_title(examples_dir() / "xor.bpg"))
    assert window.path.name == "xor.bpg"
    assert panel.data_combo.currentText() == "xor"
    panel.length_spin.setValue(10)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert window.document.training_state.steps == 10
    assert "CSV" not in panel.message_label.text()

    window.activateWindow()  # (a person clicks back into the window after the dialog)
    qtbot.waitUntil(window.isActiveWindow)
    key(window, Qt.Key_N, Qt.ControlModifier)  # File > New
    assert window.path is None and not window.graph.nodes, (window.path, dialogs.questions)
    assert panel.data_combo.currentText() == "moons" and panel.message_label.text() == ""


def test_reset_weights_starts_the_run_again_at_step_zero(qtbot, window):
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    panel.length_spin.setValue(60)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert "60" in panel.progress.format() and window.stats_label.text()
    trained = {n.name: n.value.copy() for n in window.graph.nodes_of("parameter")}

    qtbot.mouseClick(button(panel, "Reset Weights"), Qt.LeftButton)
    assert panel.progress.format() == "idle" and window.stats_label.text() == ""
    assert "step 0" in window.statusBar().currentMessage()
    assert window.document.training_state.steps == 0
    panel.plots.show_tab(0)
    QApplication.processEvents()
    x, _ = panel.plots.loss_plot.train_curve.getData()
    assert x is None or len(x) == 0

    panel.length_spin.setValue(20)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    history = window.document.training_state.history
    assert history["step"][0] == 1 and history["step"][-1] == 20  # counted from the start
    key(window, Qt.Key_Z, Qt.ControlModifier)  # the run
    key(window, Qt.Key_Z, Qt.ControlModifier)  # the reset: weights, state and curves back
    assert window.document.training_state.steps == 60
    assert all(np.array_equal(trained[n.name], n.value)
               for n in window.graph.nodes_of("parameter"))
    assert "60" in panel.progress.format()


def test_the_gradient_legend_belongs_to_the_open_document(qtbot, window):
    assert window.open_file(examples_dir() / "deep_sigmoid.bpg")
    panel = window.training_panel
    panel.length_spin.setValue(5)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    panel.plots.show_tab(1)
    QApplication.processEvents()
    assert "logits" in panel.plots.gradient_plot.legend_labels()
    assert window.open_file(examples_dir() / "two_moons.bpg")
    QApplication.processEvents()
    assert panel.plots.gradient_plot.legend_labels() == []
    assert panel.plots.bar_plot.bar_tops() == {}


def test_step_on_a_paused_run_steps_once_and_stays_paused(qtbot, window):
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    panel.length_spin.setValue(200_000)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.steps_done > 20,
                    timeout=TIMEOUT)
    qtbot.mouseClick(button(panel, "Pause"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    paused_at, left = window.document.training_state.steps, panel.remaining
    assert left == 200_000 - paused_at

    qtbot.mouseClick(button(panel, "Step"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert window.document.training_state.steps == paused_at + 1
    assert panel.remaining == left - 1
    assert button(panel, "Continue").text() == f"Continue ({left - 1})"
    assert "paused" in panel.progress.format()
    assert "press Continue" in window.statusBar().currentMessage()


def test_step_with_no_run_trains_one_step(qtbot, window):
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    key(window, Qt.Key_Right, Qt.ControlModifier | Qt.ShiftModifier)  # Train One Step
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert window.document.training_state.steps == 1 and panel.remaining == 0
    assert panel.run_button.text() == "Train"


def test_compared_runs_start_from_fresh_weights_unless_asked(qtbot, window):
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    panel.length_spin.setValue(1500)
    panel.lr_spin.setValue(0.05)
    qtbot.mouseClick(button(panel, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    trained_loss = float(window.document.training_state.history["loss"][-1])

    window.actions.compare_runs.trigger()
    dialog = window.comparison_window
    dialog.steps_spin.setValue(30)
    qtbot.mouseClick(button(dialog, "Run Both"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)
    fresh = [float(dialog.histories[k]["loss"][0]) for k in range(2)]
    assert fresh[0] == pytest.approx(fresh[1])  # the same weights and first batch
    assert fresh[0] > 3 * trained_loss  # not the document's trained weights

    dialog.findChild(QCheckBox).click()  # Start both from the weights they have now
    qtbot.mouseClick(button(dialog, "Run Both"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)
    current = float(dialog.histories[0]["loss"][0])
    assert current < fresh[0] / 3
    dialog.close()


# ----------------------------------------------------------------------- small things met
def test_recent_files_with_one_name_show_the_folder_that_tells_them_apart():
    paths = ["/home/a/week1/single_neuron.bpg", "/home/a/week2/single_neuron.bpg",
             "/srv/x/week1/single_neuron.bpg", "/home/a/xor.bpg"]
    labels = recent_labels(paths)
    assert labels[3] == "xor.bpg"
    assert len(set(labels)) == 4
    assert labels[1] == "single_neuron.bpg — week2"
    assert labels[0] == "single_neuron.bpg — a/week1" and labels[2] == "single_neuron.bpg — x/week1"


def test_the_recent_menu_shows_those_labels(qtbot, window, tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        assert window.save_as(tmp_path / folder / "same.bpg")
    window.recent_menu.aboutToShow.emit()
    texts = [a.text() for a in window.recent_menu.actions() if a.text()]
    assert "&1 same.bpg — two" in texts and "&2 same.bpg — one" in texts


def test_the_tour_stands_beside_the_nodes_it_explains(qtbot, window):
    window.resize(1400, 860)
    trigger_menu_entry(window.help_menu, "Guided Tour")
    dialog = window.tour_dialog
    qtbot.waitExposed(dialog)
    for _page in range(2):
        QApplication.processEvents()
        nodes = window._nodes_on_screen()
        assert not nodes.isEmpty()
        assert not dialog.frameGeometry().intersects(nodes), (dialog.frameGeometry(), nodes)
        qtbot.mouseClick(button(dialog, "Next"), Qt.LeftButton)
    dialog.close()


def test_a_saved_document_is_the_one_project(qtbot, window, tmp_path):
    assert window.open_file(examples_dir() / "iris_classifier.bpg")
    assert window.save_as(tmp_path / "copy.bpg")
    assert load(tmp_path / "copy.bpg") == window.document.project
    assert window.document.training["data"]["source"] == "iris"
