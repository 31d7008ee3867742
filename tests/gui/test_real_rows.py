"""Real rows on the canvas: once a project has training data, Forward, Backward, the
walkthrough, the gradient check and the handout run on rows of it as training sees them and say
which; Run > Choose Rows… (and the walkthrough panel's picker) choose others; a graph without
data runs on its random sample and says so; data that cannot be read falls back to the sample
with the reason. Driven through the menu entries and the pickers' own fields."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QLineEdit

from bpstudio import Graph
from bpstudio.core.engine import Engine
from bpstudio.core.sample import default_sample
from bpstudio.core.training.rows import training_rows
from bpstudio.gui.main_window import examples_dir
from bpstudio.gui.rows import RowsDialog
from bpstudio.gui.run_view import short_text

from trained_projects import train_and_save, write_moons_csv


def menu_entry(menu, text: str):
    for action in menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no menu entry '{text}'")


def run_entry(window, text: str) -> None:
    menu_entry(window.run_menu, text).trigger()


def status(window) -> str:
    return window.statusBar().currentMessage()


def loss_card(window) -> str:
    """What the loss node's card on the canvas shows."""
    return window.scene.node_items[window.graph.node("loss").id].value_text


def engine_loss(window, indices=None, split="training") -> float:
    rows = training_rows(window.document.project, indices, split=split)
    return float(Engine(window.graph).forward(rows.feeds))


@pytest.fixture
def moons(window, tmp_path):
    assert window.open_file(train_and_save("moons", tmp_path / "moons.bpg"))
    return window


def choose_rows(qtbot, window, text: str, split: str | None = None) -> RowsDialog:
    """Run > Choose Rows…, type ``text`` and Return (and pick ``split``)."""
    run_entry(window, "Choose Rows…")
    dialog = window.findChild(RowsDialog)
    assert dialog.isVisible()
    edit = dialog.findChild(QLineEdit, "rows_edit")
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key_Return)
    if split is not None:
        dialog.findChild(QComboBox, "rows_split").setCurrentText(split)
    return dialog


def picker_says(dialog) -> str:
    return dialog.findChild(QLabel, "rows_message").text()


def test_forward_on_a_trained_project_runs_on_its_training_rows(qtbot, moons):
    window = moons
    run_entry(window, "Forward")
    expected = engine_loss(window)
    assert f"Forward on rows 1-8 of moons, training split: loss = {short_text(expected)}" \
        == status(window)
    assert loss_card(window) == "= " + short_text(expected)
    assert float(window.run_view.value(window.graph.node("loss").id)) == pytest.approx(
        expected, rel=1e-12)
    run_entry(window, "Backward")
    assert status(window).startswith("Forward and backward on rows 1-8 of moons, training split")


def test_the_row_picker_changes_the_rows_and_the_values_follow(qtbot, moons):
    window = moons
    run_entry(window, "Forward")
    first = engine_loss(window)
    dialog = choose_rows(qtbot, window, "3,7,12")
    assert picker_says(dialog) == "Passes run on rows 3, 7, 12 of moons, training split."
    # the live values rerun on the new rows
    chosen = engine_loss(window, [2, 6, 11])
    assert chosen != first
    qtbot.waitUntil(lambda: loss_card(window) == "= " + short_text(chosen), timeout=2000)
    # and the status bar names the rows the canvas now shows
    assert status(window) == f"Forward on rows 3, 7, 12 of moons, training split: loss = " \
                             f"{short_text(chosen)}"
    dialog.findChild(QComboBox, "rows_split").setCurrentText("validation")
    assert picker_says(dialog) == "Passes run on rows 3, 7, 12 of moons, validation split."
    run_entry(window, "Forward")
    assert "rows 3, 7, 12 of moons, validation split" in status(window)
    assert loss_card(window) == "= " + short_text(engine_loss(window, [2, 6, 11], "validation"))


@pytest.mark.parametrize("text, says", [("abc", "'abc' is not a list of row numbers from 1"),
                                        ("3-1", "not a list of row numbers"),
                                        ("500", "row 500 is outside the training split's 160 "
                                                "rows (1-160)")])
def test_rows_that_cannot_be_chosen_are_said_and_the_rows_stay(qtbot, moons, text, says):
    window = moons
    dialog = choose_rows(qtbot, window, text)
    assert says in picker_says(dialog)
    run_entry(window, "Forward")
    assert "rows 1-8 of moons, training split" in status(window)


def test_the_walkthrough_and_the_gradient_check_run_on_the_chosen_rows(qtbot, moons):
    window = moons
    choose_rows(qtbot, window, "3,7,12").close()
    run_entry(window, "Walk Through…")
    panel = window.walkthrough
    assert panel.findChild(QLabel, "rows_message").text() == \
        "Passes run on rows 3, 7, 12 of moons, training split."
    follow = panel.row_picker
    assert [follow.itemText(i) for i in range(follow.count())] == [
        "All 3 rows (mean, min, max)", "Row 3", "Row 7", "Row 12"]
    # the panel's own picker: back to the first rows
    edit = panel.findChild(QLineEdit, "rows_edit")
    edit.clear()
    qtbot.keyClicks(edit, "1-4")
    qtbot.keyClick(edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: follow.count() == 5, timeout=2000)
    walked = next(step for step in panel.trace.forward if step.name == "loss")
    assert float(walked.value) == pytest.approx(engine_loss(window, range(4)), rel=1e-12)
    run_entry(window, "Check Gradients…")
    check = window.gradient_check
    assert "on rows 1-4 of moons, training split" in check.scope_label.text()
    qtbot.waitUntil(lambda: check.result is not None, timeout=20_000)


def test_the_handout_names_its_rows(qtbot, moons, tmp_path, monkeypatch):
    window = moons
    target = tmp_path / "walk.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    file_menu = menu_entry(window.menuBar(), "File").menu()
    menu_entry(menu_entry(file_menu, "Export").menu(), "Walkthrough Page…").trigger()
    page = target.read_text(encoding="utf-8")
    assert "rows 1-8 of moons, training split, standardised as training sees them" in page
    assert "<svg" in page
    assert f"loss = {engine_loss(window):.4g}" in page


def test_an_untrained_example_runs_on_the_rows_of_the_data_its_dock_shows(qtbot, window):
    assert window.open_file(examples_dir() / "two_moons.bpg")  # never trained, names no data
    assert window.training_panel.data_combo.currentText().lower().startswith("moons")
    run_entry(window, "Forward")
    assert "rows 1-8 of moons, training split" in status(window)
    project = dataclasses.replace(window.document.project, training={"data": {"source": "moons"}})
    engine = Engine(window.graph)
    expected = engine.forward(training_rows(project).feeds)
    assert loss_card(window) == f"= {short_text(expected)}"


def test_a_graph_without_data_runs_on_random_rows_and_says_so(qtbot, window, tmp_path,
                                                             monkeypatch):
    g = Graph()  # seven features: no data set the Training dock offers fits it
    logits = g.dense(g.input("x", (7,)), 7, 1, "out")
    g.apply("bce_logits", logits, g.input("y", (1,)), name="loss")
    for name, rows in default_sample(g, rows=8).items():  # a sample drawn at random
        g.set_value(name, rows)
    window.set_graph(g, path=None)
    run_entry(window, "Forward")
    assert "8 sample rows drawn at random (the project has no training data)" in status(window)
    run_entry(window, "Choose Rows…")
    dialog = window.findChild(RowsDialog)
    assert picker_says(dialog) == ("Passes run on 8 sample rows drawn at random (the project "
                                   "has no training data).")
    assert not dialog.findChild(QLineEdit, "rows_edit").isEnabled()
    assert "no training data yet" in window.run_rows.choose("1-4")
    target = tmp_path / "walk.md"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    file_menu = menu_entry(window.menuBar(), "File").menu()
    menu_entry(menu_entry(file_menu, "Export").menu(), "Walkthrough Page…").trigger()
    assert "drawn at random" in target.read_text(encoding="utf-8")


def test_data_that_cannot_be_read_falls_back_to_the_sample_with_the_reason(qtbot, window,
                                                                          tmp_path):
    csv = write_moons_csv(tmp_path / "shapes.csv")
    project_path = train_and_save(str(csv), tmp_path / "csv_project.bpg")
    assert window.open_file(project_path)
    run_entry(window, "Forward")
    assert "rows 1-8 of shapes" in status(window)
    csv.unlink()
    run_entry(window, "Forward")
    said = status(window)
    assert said.startswith("Forward on the graph's 8 sample rows, since the training rows "
                           "cannot be used") and "shapes.csv" in said
    assert loss_card(window) is not None and window.isVisible()
    run_entry(window, "Walk Through…")
    assert window.walkthrough.trace is not None


def test_the_rows_are_freed_without_the_cycle_collector(qtbot, window):
    """What the rows follow (the document's graph) holds no strong reference back to them: a
    cycle through a QObject is freed by Python's collector, which may run in any thread (the
    gradient check's worker) and so destroy Qt objects off the GUI thread (it deadlocked)."""
    import gc
    import weakref

    from bpstudio.gui.rows import RunRows

    gc.collect()
    gc.disable()
    try:
        rows = RunRows(window.document)
        assert rows.has_data in (True, False)
        gone = weakref.ref(rows)
        del rows
        assert gone() is None
    finally:
        gc.enable()
