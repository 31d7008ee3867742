"""Run > Check Gradients…: opened from the Run menu and its shortcut, driven by its buttons and
its slider, and read from its table and labels, against bpstudio.compare_gradients."""

from __future__ import annotations

import importlib
import re
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (QComboBox, QDialog, QLabel, QProgressBar, QPushButton, QSlider,
                               QSpinBox, QStyle, QStyleOptionSlider, QTableView)

from bpstudio import Graph, compare_gradients
from bpstudio.core.engine import Engine
from bpstudio.core.training.rows import rows_to_run
from bpstudio.gui import gradcheck_view
from bpstudio.gui.gradcheck_view import VERDICT_FILL
from bpstudio.gui.main_window import examples_dir
from tests.core.training_graphs import mlp

from guihelpers import key

# (the package exports a function of the module's name)
core_gradcheck = importlib.import_module("bpstudio.core.gradcheck")


def check_window(window) -> QDialog:
    dialogs = [d for d in window.findChildren(QDialog)
               if d.windowTitle() == "Check Gradients" and d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def button(dialog, text: str) -> QPushButton:
    (found,) = [b for b in dialog.findChildren(QPushButton) if b.text() == text]
    return found


def label_with(dialog, pattern: str) -> str:
    texts = [lb.text() for lb in dialog.findChildren(QLabel) if re.search(pattern, lb.text())]
    assert texts, f"no label matching {pattern!r}"
    return texts[0]


def number(text: str, after: str) -> float:
    match = re.search(re.escape(after) + r"\s*([-+−]?[\d.]+(?:e[-+]?\d+)?)", text)
    assert match, f"no number after {after!r} in {text!r}"
    return float(match.group(1).replace("−", "-"))


def table_rows(dialog) -> list[list[str]]:
    table = dialog.findChild(QTableView)
    model = table.model()
    return [[model.index(r, c).data() for c in range(model.columnCount())]
            for r in range(model.rowCount())]


def wait_finished(qtbot, dialog, timeout=20000) -> None:
    qtbot.waitUntil(lambda: not button(dialog, "Cancel").isEnabled()
                    and "good" in label_with(dialog, "good"), timeout=timeout)


def run_menu_action(window, text: str):
    for action in window.run_menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no '{text}' in the Run menu")


@pytest.fixture
def xor(window):
    assert window.open_file(examples_dir() / "xor.bpg")
    return window


def test_the_view_shows_what_compare_gradients_computes(qtbot, xor):
    window = xor
    assert run_menu_action(window, "Check Gradients…").shortcut().toString() == "F7"
    key(window, Qt.Key_F7)
    dialog = check_window(window)
    wait_finished(qtbot, dialog)

    # xor has training data: the check runs on its first 8 training rows
    expected = compare_gradients(window.graph, rows_to_run(window.document.project).feeds)
    rows = table_rows(dialog)
    assert len(rows) == 17
    k = 0
    for c in expected:
        for flat in range(c.backprop.size):
            name, _element, backprop, numerical, error, verdict = rows[k]
            assert name == c.name
            assert float(backprop) == pytest.approx(c.backprop.reshape(-1)[flat], rel=1e-7)
            assert float(numerical) == pytest.approx(c.numerical.reshape(-1)[flat], rel=1e-7)
            assert float(error) == pytest.approx(c.relative_error.reshape(-1)[flat], rel=1e-2,
                                                 abs=1e-12)
            assert verdict == "good"
            k += 1
    passes = label_with(dialog, "forward passes")
    assert "34 forward passes (2 × 17 elements)" in passes
    assert "1 backward pass" in passes
    assert re.search(r"nudging took [\d.]+ (µs|ms|s)", label_with(dialog, "nudging took"))
    assert "17 good" in label_with(dialog, "good")
    assert dialog.findChild(QProgressBar).value() == 17
    # a short check starts at once: no choice offered, and the table says it holds every element
    assert not button(dialog, "Check Sample").isVisible()
    assert "Every element: the table holds 17 of 17" in label_with(dialog, "Every element")


def test_the_selected_parameter_alone(qtbot, xor):
    window = xor
    for layer in ("out", "hidden"):  # (opened, so that one parameter can be selected)
        window.scene.set_collapsed(window.graph.group(layer).id, False)
    window.scene.select_nodes([window.graph.node("out.W").id])
    run_menu_action(window, "Check Gradients…").trigger()
    dialog = check_window(window)
    wait_finished(qtbot, dialog)
    assert {r[0] for r in table_rows(dialog)} == {"out.W"}
    assert "8 forward passes (2 × 4 elements)" in label_with(dialog, "forward passes")
    # another selection, then Check Again: that parameter now
    window.scene.select_nodes([window.graph.node("hidden.b").id])
    qtbot.mouseClick(button(dialog, "Check Again"), Qt.LeftButton)
    wait_finished(qtbot, dialog)
    assert {r[0] for r in table_rows(dialog)} == {"hidden.b"}
    assert "8 forward passes (2 × 4 elements)" in label_with(dialog, "forward passes")


def test_a_wrong_backward_shows_as_wrong(qtbot, window, broken_square_op):
    g = Graph()
    w = g.parameter("w", value=[0.5, -1.5, 2.0])
    sq = g.add_node(broken_square_op, name="sq")
    g.connect(w, sq, "x")
    g.sum(sq, name="objective")
    window.set_graph(g, path=None)
    run_menu_action(window, "Check Gradients…").trigger()
    dialog = check_window(window)
    wait_finished(qtbot, dialog)
    rows = table_rows(dialog)
    assert [r[5] for r in rows] == ["wrong"] * 3
    model = dialog.findChild(QTableView).model()
    fill = model.index(0, 5).data(Qt.BackgroundRole).color()
    assert fill == VERDICT_FILL["wrong"] and fill.red() > fill.green()
    assert "3 wrong" in label_with(dialog, "wrong")


def big_graph(window, size: int = 600) -> None:
    """x (1 x size) @ W (size x size), summed: 360,000 weights, a minute of nudging."""
    g = Graph()
    x = g.input("x", (size,))
    g.set_value(x, np.linspace(-1, 1, size)[None, :])
    W = g.parameter("W", value=np.random.default_rng(0).normal(size=(size, size)))
    g.sum(g.tanh(g.matmul(x, W)), name="objective")
    window.set_graph(g, path=None)


def test_cancel_stops_a_long_check_and_the_window_keeps_answering(qtbot, window,
                                                                  monkeypatch):
    monkeypatch.setattr(gradcheck_view, "LONG_CHECK_SECONDS", 0.0)  # every check asks first
    big_graph(window)
    run_menu_action(window, "Check Gradients…").trigger()
    dialog = check_window(window)
    bar = dialog.findChild(QProgressBar)
    assert not dialog.running and bar.value() == 0
    qtbot.mouseClick(button(dialog, "Check All"), Qt.LeftButton)  # the full check
    assert bar.maximum() == 360000

    # a probe: the longest gap between ticks of a 10 ms timer while the check runs
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=5000)
    qtbot.wait(50)  # the dialog's first layout and paint are not the check's doing
    last[0] = time.perf_counter()
    probe.start()
    qtbot.wait(1000)
    probe.stop()
    assert dialog.running and bar.value() < bar.maximum()
    assert len(gaps) > 20
    assert max(gaps) < 0.2, f"the window stalled for {max(gaps) * 1e3:.0f} ms"

    cancel = button(dialog, "Cancel")
    started = time.perf_counter()
    qtbot.mouseClick(cancel, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=2000)
    assert time.perf_counter() - started < 1.0
    assert not cancel.isEnabled()
    passes = label_with(dialog, r"forward passes \(2 ×")
    assert passes.startswith("Cancelled after")
    checked = int(number(passes.replace(",", ""), "Cancelled after"))
    assert 0 < checked < 90000
    assert f"{2 * checked:,} forward passes" in passes
    assert table_rows(dialog) == []  # W was not finished: no half-checked rows
    W = window.graph.node("W").value
    assert np.array_equal(W, np.random.default_rng(0).normal(size=(600, 600)))


def drag_slider(slider: QSlider, fraction: float) -> None:
    """Press the handle, drag it ``fraction`` of the way to the right end (keeps holding)."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.CC_Slider, option, QStyle.SC_SliderHandle,
                                           slider)
    start = handle.center()
    QTest.mousePress(slider, Qt.LeftButton, Qt.NoModifier, start)
    end = QPoint(int(start.x() + fraction * (slider.width() - start.x())), start.y())
    for k in range(1, 6):
        QTest.mouseMove(slider, start + (end - start) * (k / 5))


def release_slider(slider: QSlider) -> None:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.CC_Slider, option, QStyle.SC_SliderHandle,
                                           slider)
    QTest.mouseRelease(slider, Qt.LeftButton, Qt.NoModifier, handle.center())


def test_nudge_prediction_agrees_small_parts_large_and_letting_go_restores(qtbot, xor):
    window = xor
    run_menu_action(window, "Check Gradients…").trigger()
    dialog = check_window(window)
    wait_finished(qtbot, dialog)
    table = dialog.findChild(QTableView)
    rows = table_rows(dialog)
    row = next(k for k, r in enumerate(rows) if r[0] == "hidden.W" and r[1] == "[1, 3]")
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    combos = dialog.findChildren(QComboBox)
    (param_combo,) = [c for c in combos if c.findText("hidden.W") >= 0]
    (range_combo,) = [c for c in combos if c.findText("± 3") >= 0]
    assert param_combo.currentText() == "hidden.W"
    assert dialog.element_spin.value() == 7  # [1, 3] of a (2, 4) array

    node = window.graph.node("hidden.W")
    original = node.value.copy()
    undo_count, clean = window.undo_stack.count(), window.undo_stack.isClean()
    slider = dialog.findChild(QSlider)

    range_combo.setCurrentIndex(range_combo.findText("± 0.01"))
    drag_slider(slider, 1.0)
    assert slider.isSliderDown() and slider.value() > 50
    actual = number(label_with(dialog, "Actual change"), "loss:")
    predicted = number(label_with(dialog, "predicts"), "predicts:")
    assert actual != 0 and predicted == pytest.approx(actual, rel=0.02)
    nudge = dialog.nudge
    assert predicted == pytest.approx(nudge.gradient * slider.value() / 100 * 0.01, rel=1e-5)
    # while held, the document's weight is the nudged one: element [1, 3] alone moved
    held = window.graph.node("hidden.W").value
    assert held[1, 3] != original[1, 3]
    assert np.array_equal(np.delete(held.ravel(), 7), np.delete(original.ravel(), 7))
    release_slider(slider)
    assert np.array_equal(window.graph.node("hidden.W").value, original)
    assert window.graph.node("hidden.W").value.tobytes() == original.tobytes()
    assert slider.value() == 0
    assert "back to" in label_with(dialog, "back to")

    range_combo.setCurrentIndex(range_combo.findText("± 3"))
    drag_slider(slider, 1.0)
    actual = number(label_with(dialog, "Actual change"), "loss:")
    predicted = number(label_with(dialog, "predicts"), "predicts:")
    assert abs(actual - predicted) > 0.1 * abs(actual)
    assert "They part" in label_with(dialog, "part")
    release_slider(slider)
    assert window.graph.node("hidden.W").value.tobytes() == original.tobytes()
    assert window.undo_stack.count() == undo_count and window.undo_stack.isClean() == clean
    assert not window.is_modified


def test_the_table_sorts_by_a_clicked_column_and_follows_the_sorted_row(qtbot, xor):
    window = xor
    key(window, Qt.Key_F7)
    dialog = check_window(window)
    wait_finished(qtbot, dialog)
    table = dialog.findChild(QTableView)
    header = table.horizontalHeader()
    column = [header.model().headerData(c, Qt.Horizontal) for c in range(header.count())]
    error_column = column.index("Relative error")
    unsorted = [float(r[4]) for r in table_rows(dialog)]
    click = QPoint(header.sectionViewportPosition(error_column) + 10, header.height() // 2)
    QTest.mouseClick(header.viewport(), Qt.LeftButton, Qt.NoModifier, click)
    errors = [float(r[4]) for r in table_rows(dialog)]
    assert sorted(errors) in (errors, errors[::-1]) and errors != unsorted
    if errors[0] < errors[-1]:  # a second click: the largest error first
        QTest.mouseClick(header.viewport(), Qt.LeftButton, Qt.NoModifier, click)
    errors = [float(r[4]) for r in table_rows(dialog)]
    assert errors == sorted(errors, reverse=True)
    # choosing the top row aims the nudge at that row's element, not the first one checked
    top = table_rows(dialog)[0]
    table.selectRow(0)
    assert dialog.param_combo.currentText() == top[0]
    element = [int(i) for i in re.findall(r"\d+", top[1])]
    shape = np.asarray(window.graph.node(top[0]).value).shape
    expected = int(np.ravel_multi_index(element, shape)) if element else 0
    assert dialog.element_spin.value() == expected


class CheckPasses:
    """Counts the forward passes the check's own thread runs (the nudge panel runs some on the
    window's thread, which are not the check's)."""

    def __init__(self, monkeypatch):
        self.forward = 0
        forward = Engine.forward

        def counting_forward(engine, *args, **kwargs):
            if threading.current_thread().name == "gradient-check":
                self.forward += 1
            return forward(engine, *args, **kwargs)
        monkeypatch.setattr(Engine, "forward", counting_forward)


MILLION = 2 * 1000 + 1000 + 1000 * 998 + 998 + 998 * 2 + 2  # the elements of 2-1000-998-2


def test_a_long_check_says_its_cost_first_and_checks_a_sample_when_asked(qtbot, window,
                                                                         monkeypatch):
    passes = CheckPasses(monkeypatch)
    graph = mlp((2, 1000, 998, 2))
    rng = np.random.default_rng(0)
    graph.set_value(graph.node("x"), rng.standard_normal((8, 2)))
    graph.set_value(graph.node("t"), rng.integers(0, 2, 8).astype(np.float64))
    window.set_graph(graph, path=None)
    run_menu_action(window, "Check Gradients…").trigger()
    dialog = check_window(window)
    cost = label_with(dialog, "A full check")
    assert f"{MILLION:,} elements: {2 * MILLION:,} forward passes" in cost
    assert re.search(r"forward passes, (about [\d.]+ (min|h)|[\d.]+ (s|ms|µs)) \(one forward pass "
                     r"took [\d.]+ (µs|ms|s)\)", cost), cost
    qtbot.wait(300)
    assert not dialog.running and passes.forward == 0 and table_rows(dialog) == []
    assert "Not started" in label_with(dialog, "Not started")

    (spin,) = [w for w in dialog.findChildren(QSpinBox) if w.suffix() == " elements"]
    assert spin.isVisible() and spin.value() == 1000  # the default for a large net
    assert "2,000 forward passes" in label_with(dialog, "2,000 forward passes")
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "40")
    assert "80 forward passes" in label_with(dialog, "^80 forward passes")
    qtbot.mouseClick(button(dialog, "Check Sample"), Qt.LeftButton)
    wait_finished(qtbot, dialog, timeout=60000)
    # the work done: 2 passes per sampled element, and the few that warm up and time backprop
    assert passes.forward == 2 * 40 + 1 + core_gradcheck._TIMING_REPEATS + 1
    rows = table_rows(dialog)
    assert len(rows) == 40
    assert {r[0] for r in rows} == {"h1.W", "h1.b", "h2.W", "h2.b", "out.W", "out.b"}
    assert f"80 forward passes (2 × 40 elements, a sample of {MILLION:,})" in \
        label_with(dialog, r"forward passes \(2 ×")
    assert f"A sample: the table holds 40 of the {MILLION:,} elements" in \
        label_with(dialog, "^A sample:")
    assert "40 good" in label_with(dialog, "good")
    # the rows are the elements core's sampled check draws, with its numbers
    feeds = rows_to_run(window.document.project).feeds
    expected = core_gradcheck.check_gradients(window.graph, feeds, sample=40)
    want = [(c.name, float(b), float(n)) for c in expected.comparisons
            for b, n in zip(c.backprop, c.numerical)]
    assert [(r[0], float(r[2]), float(r[3])) for r in rows] == \
        [(name, pytest.approx(b, rel=1e-7), pytest.approx(n, rel=1e-7)) for name, b, n in want]
    h2W = [r[1] for r in rows if r[0] == "h2.W"]
    first = int(next(c for c in expected.comparisons if c.name == "h2.W").indices[0])
    assert h2W[0] == "[" + ", ".join(map(str, np.unravel_index(first, (1000, 998)))) + "]"

    # the full check stays on offer: every element, stopped by Cancel
    before = passes.forward
    qtbot.mouseClick(button(dialog, "Check All"), Qt.LeftButton)
    bar = dialog.findChild(QProgressBar)
    assert dialog.running and bar.maximum() == MILLION
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=10000)
    qtbot.mouseClick(button(dialog, "Cancel"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    checked = passes.forward - before - 1 - core_gradcheck._TIMING_REPEATS - 1
    assert 0 < checked < 2 * MILLION
    assert label_with(dialog, r"forward passes \(2 ×").startswith("Cancelled after")
    assert button(dialog, "Check Sample").isEnabled() and button(dialog, "Check All").isEnabled()
