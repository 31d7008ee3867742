"""The training dock, driven through its real buttons: runs, pauses, steps, stops, continues,
undoes a run, survives a diverging run, and shows saved curves again."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QPushButton

from bpstudio import load
from bpstudio.gui.main_window import examples_dir
from bpstudio.gui.training import panel as panel_module

from guihelpers import key

TIMEOUT = 30_000


def button(window, text: str) -> QPushButton:
    for b in window.training_panel.findChildren(QPushButton):
        if b.text() == text or b.text().startswith(text + " ("):
            return b
    raise AssertionError(f"no button '{text}'")


def choose_data(panel, name: str) -> None:
    index = panel.data_combo.findText(name)
    panel.data_combo.setCurrentIndex(index)
    panel.data_combo.activated.emit(index)


def curve_points(curve) -> tuple[np.ndarray, np.ndarray]:
    QApplication.processEvents()
    x, y = curve.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


def weights(window) -> dict[str, np.ndarray]:
    return {n.name: n.value.copy() for n in window.graph.nodes_of("parameter")}


@pytest.fixture
def xor(window):
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    choose_data(panel, "xor")
    panel.length_spin.setValue(300)
    panel.lr_spin.setValue(0.05)
    return window


def wait_done(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)


def progress_reports(window, steps: int, every: int) -> list:
    """What a run of ``steps`` steps sends the window, every ``every`` steps."""
    import time

    from bpstudio.core.training import background
    from bpstudio.core.training.trainer import Trainer

    panel = window.training_panel
    trainer = Trainer.from_project(window.document.copy(), data=panel.training_data(), seed=0)
    sender, started = background._ProgressSender(), time.perf_counter()
    reports = []
    for k, stats in enumerate(trainer.run(steps=steps), start=1):
        if k % every == 0:
            report = sender.progress(trainer, stats, 0, steps, started, None)
            background._Inbox(connection=None)._complete(report)
            reports.append(report)
    return reports


def test_the_runs_numbers_in_words_are_written_a_few_times_a_second_and_last_at_its_end(
        qtbot, xor, monkeypatch):
    window, panel = xor, xor.training_panel
    reports = progress_reports(window, 40, 4)
    written = []
    real = panel.rate_label.setText
    monkeypatch.setattr(panel.rate_label, "setText", lambda t: written.append(t) or real(t))
    panel._readout_clock.invalidate()  # as a run does when it starts
    for report in reports:  # ten progress reports in a few milliseconds
        panel.run.progressed.emit(report)
    assert len(written) == 1 and "steps/s" in written[0]
    assert panel.progress.format().startswith("step 40")  # the bar follows every report
    assert window.stats_label.text().startswith("step 4 ")
    qtbot.wait(panel_module.READOUT_MS + 20)
    panel.run.progressed.emit(reports[-1])
    assert len(written) == 2 and window.stats_label.text().startswith("step 40 ")
    # A real run, short enough to end within one interval of its first numbers: those of its
    # last step are written when it ends.
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    assert window.stats_label.text().startswith("step 300 ")
    assert panel.rate_label.text() == written[-1]


def test_live_progress_repaints_the_bar_not_the_dock_and_window_under_it(qtbot, xor):
    # The bar and the readouts change tens of times a second: painting the dock under them
    # (its title bar laid out again each time) and the window under that was a tenth of a
    # live redraw's cost.
    window, panel = xor, xor.training_panel
    window.training_dock.raise_()  # as a run does when it starts
    reports = progress_reports(window, 30, 3)
    painted: dict[str, list] = {"bar": [], "dock": [], "window": []}
    watched = {panel.progress: "bar", window.training_dock: "dock", window: "window"}

    class Watch(QObject):
        def eventFilter(self, target, event):
            if event.type() == QEvent.Paint and target in watched:
                painted[watched[target]].append(event.region().boundingRect())
            return False

    watch = Watch()
    QApplication.instance().installEventFilter(watch)
    try:
        qtbot.wait(50)
        for values in painted.values():
            values.clear()
        for report in reports:
            panel.run.progressed.emit(report)
            qtbot.wait(40)  # (a redraw interval: the painting asked for happens)
    finally:
        QApplication.instance().removeEventFilter(watch)
    assert len(painted["bar"]) >= len(reports) // 2  # the bar shows each new step
    assert painted["dock"] == []
    dock_area = window.training_dock.geometry()
    assert not any(rect.intersects(dock_area) for rect in painted["window"])


def test_train_runs_plots_live_and_comes_back_as_one_undo_step(qtbot, xor):
    window, panel = xor, xor.training_panel
    before = weights(window)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    assert panel.running and window.editing_locked
    assert "locked" in window.statusBar().currentMessage()
    wait_done(qtbot, panel)
    assert not window.editing_locked
    plots = panel.plots
    plots.show_tab(0)
    steps, losses = curve_points(plots.loss_plot.raw_curve if plots.loss_plot.raw_curve.isVisible()
                                 else plots.loss_plot.train_curve)
    history = window.document.training_state.history
    assert len(history["step"]) == 300 and steps[-1] == 300
    # The step axis reached the run's last step from its start, and holds all of it.
    low, high = plots.loss_plot.view_box.viewRange()[0]
    assert plots.loss_plot.view_box.step_horizon == 300 and low < 1 and 300 < high < 345
    assert history["loss"][-20:].mean() < history["loss"][:20].mean()  # it fell
    names = history["parameters"].split(",")
    assert names == ["hidden.W", "hidden.b", "out.W", "out.b"]   # input side first
    plots.show_tab(1)
    assert plots.gradient_plot.names == ("hidden", "out")  # one curve per layer
    assert list(plots.bar_plot.bar_tops()) == ["hidden", "out"]
    assert plots.gradient_plot.legend_labels() == ["hidden", "out"]
    assert "loss" in window.stats_label.text() and "accuracy" in window.stats_label.text()
    assert window.undo_stack.undoText() == "Train 300 steps"
    assert window.windowTitle().startswith("xor.bpg*")
    trained = weights(window)
    assert any(not np.array_equal(before[k], trained[k]) for k in before)

    key(window, Qt.Key_Z, Qt.ControlModifier)
    assert all(np.array_equal(before[k], v) for k, v in weights(window).items())
    assert window.document.training_state.history is None
    key(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert all(np.array_equal(trained[k], v) for k, v in weights(window).items())
    assert len(window.document.training_state.history["step"]) == 300


def test_pause_continue_step_and_stop(qtbot, xor):
    window, panel = xor, xor.training_panel
    panel.length_spin.setValue(200_000)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.steps_done > 20,
                    timeout=TIMEOUT)
    qtbot.mouseClick(button(window, "Pause"), Qt.LeftButton)
    wait_done(qtbot, panel)
    first = window.document.training_state.training["progress"]["step"]
    assert 20 < first < 200_000 and panel.remaining == 200_000 - first
    assert button(window, "Continue").text() == f"Continue ({panel.remaining})"
    assert window.undo_stack.undoText() == f"Train {first} steps"

    qtbot.mouseClick(button(window, "Continue"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.steps_done > 5,
                    timeout=TIMEOUT)
    qtbot.mouseClick(button(window, "Stop"), Qt.LeftButton)
    wait_done(qtbot, panel)
    second = window.document.training_state.training["progress"]["step"]
    assert second > first and panel.remaining == 0
    assert panel.run_button.text() == "Train" and panel.run_button.isEnabled()
    # the continued run went on from the same optimiser state and history (thinned: a long
    # history keeps every stride-th step, so the last kept one may be just before the end)
    history = window.document.training_state.history
    assert history["step"][0] < first < history["step"][-1] <= second
    assert second - history["step"][-1] < history["stride"]

    qtbot.mouseClick(button(window, "Step"), Qt.LeftButton)
    wait_done(qtbot, panel)
    assert window.document.training_state.training["progress"]["step"] == second + 1
    assert window.undo_stack.undoText() == "Train 1 step"


def test_edits_are_refused_while_a_run_is_active(qtbot, xor):
    window, panel = xor, xor.training_panel
    panel.length_spin.setValue(200_000)
    count = len(window.graph.nodes)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    window.scene.select_nodes([window.graph.node("p").id])
    key(window, Qt.Key_Delete)
    assert len(window.graph.nodes) == count
    assert not window.actions.delete.isEnabled()
    key(window, Qt.Key_Period, Qt.ControlModifier)  # Stop
    wait_done(qtbot, panel)
    assert window.actions.delete.isEnabled()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_a_diverging_run_stops_names_and_highlights_the_culprit_and_keeps_weights(qtbot, xor):
    window, panel = xor, xor.training_panel
    panel.optimizer_combo.setCurrentText("sgd")
    panel.lr_spin.setValue(10.0)
    panel.length_spin.setValue(5000)
    for node in window.graph.nodes_of("parameter"):  # weights drawn far too large
        window.graph.set_value(node, node.value * 300.0)
    window.undo_stack.setClean()
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    message = panel.message_label.text()
    assert message.startswith("Training stopped at step") and "last step that stayed" in message
    culprit = [i for i in window.scene.node_items.values() if i.highlighted]
    assert len(culprit) == 1 and f"'{culprit[0].node.name}'" in message
    for value in weights(window).values():
        assert np.all(np.isfinite(value))


def test_a_saved_trained_project_shows_its_curves_and_goes_on(qtbot, xor, tmp_path):
    window, panel = xor, xor.training_panel
    panel.length_spin.setValue(120)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    assert window.save_as(tmp_path / "trained.bpg")
    saved = load(tmp_path / "trained.bpg")
    assert saved.training["progress"]["step"] == 120 and saved.optimizer_state

    window.new_file()
    assert curve_points(panel.plots.loss_plot.train_curve)[0].size == 0
    assert window.open_file(tmp_path / "trained.bpg")
    panel.plots.show_tab(0)
    steps, _ = curve_points(panel.plots.loss_plot.train_curve)
    assert steps.size and steps[-1] == 120
    assert panel.data_combo.currentText() == "xor" and panel.lr_spin.value() == 0.05
    panel.length_spin.setValue(30)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    assert window.document.training_state.training["progress"]["step"] == 150


def test_reset_weights_redraws_them_as_one_undo_step(qtbot, xor):
    window, panel = xor, xor.training_panel
    initial = weights(window)  # drawn with seed 0, as the panel's seed
    panel.length_spin.setValue(50)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    trained = weights(window)
    qtbot.mouseClick(button(window, "Reset Weights"), Qt.LeftButton)
    assert all(np.array_equal(initial[k], v) for k, v in weights(window).items())
    assert window.undo_stack.undoText() == "Reset Weights"
    assert window.document.training_state.history is None
    panel.seed_spin.setValue(7)
    qtbot.mouseClick(button(window, "Reset Weights"), Qt.LeftButton)
    assert all(not np.array_equal(initial[k], v) for k, v in weights(window).items()
               if k.endswith(".W"))
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert all(np.array_equal(trained[k], v) for k, v in weights(window).items())
    assert window.document.training_state.history is not None


def test_a_csv_chosen_in_the_dialog_trains(qtbot, window, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest

    path = tmp_path / "points.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    rows = ["a,b,label"] + [f"{p:.4f},{q:.4f},{int(p * q > 0)}" for p, q in x]
    path.write_text("\n".join(rows) + "\n")
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel

    def fill_in_the_dialog():  # as a person does, in the real modal dialog
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, panel_module.CsvImportDialog)
        dialog.path_edit.clear()
        QTest.keyClicks(dialog.path_edit, str(path))
        QTest.keyClick(dialog.path_edit, Qt.Key_Return)  # loads the file
        assert dialog.import_button.isEnabled() and dialog.target() == "label"
        qtbot.mouseClick(dialog.import_button, Qt.LeftButton)
    QTimer.singleShot(0, fill_in_the_dialog)
    choose_data(panel, panel_module.CSV_ITEM)
    assert panel.data_combo.currentText() == "CSV: points.csv"
    panel.length_spin.setValue(20)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    data = window.document.training_state.training["data"]
    assert data["source"] == "csv" and data["path"] == str(path) and data["target"] == "label"


def test_the_bindings_are_shown_and_changeable(qtbot, xor):
    panel = xor.training_panel
    combos = panel.binding_combos
    assert combos["x"].currentText() == "features" and combos["y"].currentText() == "target"
    combos["x"].setCurrentText("target")
    combos["y"].setCurrentText("features")
    qtbot.mouseClick(button(xor, "Train"), Qt.LeftButton)
    assert not panel.running  # refused before it starts
    assert "Cannot train" in panel.message_label.text()


def test_a_binding_chosen_by_hand_survives_edits_until_another_document_opens(qtbot, xor):
    window, panel = xor, xor.training_panel
    panel.binding_combos["x"].setCurrentText("target")
    window.graph.set_param("hidden.W", "init", "he_normal")  # an edit: the rows are made again
    qtbot.waitUntil(lambda: panel.binding_combos["x"] is not None)
    qtbot.wait(10)
    assert panel.binding_combos["x"].currentText() == "target"
    assert window.open_file(examples_dir() / "two_moons.bpg")
    assert panel.binding_combos["x"].currentText() == "features"  # its own, guessed afresh


@pytest.mark.parametrize("format_name, suffix", [("CSV of original plot data", ".csv"),
                                                 ("Image File (PNG, TIF, JPG, ...)", ".png")])
def test_a_plot_exports_from_its_context_menu(qtbot, xor, tmp_path, format_name, suffix):
    window, panel = xor, xor.training_panel
    panel.length_spin.setValue(60)
    qtbot.mouseClick(button(window, "Train"), Qt.LeftButton)
    wait_done(qtbot, panel)
    window.training_dock.raise_()
    loss = panel.plots.loss_plot
    scene = loss.plot_widget.scene()
    (export,) = [a for a in scene.contextMenu if a.text() == "Export..."]
    scene.contextMenuItem = loss.view_box  # what a right-click on the plot leaves behind
    export.trigger()
    dialog = scene.exportDialog
    assert dialog.isVisible()
    assert dialog.parent() is loss  # deleted with the plot, never left for the collector
    formats = dialog.ui.formatList
    (entry,) = [formats.item(i) for i in range(formats.count())
                if formats.item(i).text() == format_name]
    formats.setCurrentItem(entry)
    qtbot.mouseClick(dialog.ui.exportBtn, Qt.LeftButton)
    path = tmp_path / f"loss{suffix}"
    dialog.currentExporter.fileDialog.fileSelected.emit(str(path))  # the file a person picks
    assert path.exists() and path.stat().st_size > 0
    if suffix == ".csv":
        header = path.read_text().splitlines()[0]
        assert "training" in header and len(path.read_text().splitlines()) > 60
    dialog.close()
