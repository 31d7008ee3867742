"""The Walkthrough dock, driven through its real controls: Run ▸ Walk Through…, the step
buttons, the keys while the panel has the focus, the row picker, practice mode and the handout
export; checked against what the panel, the canvas and the engine say."""

from __future__ import annotations

import dataclasses

import os

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton

from bpstudio import Engine, load
from bpstudio.core.sample import sample_feeds
from bpstudio.core.training.rows import training_rows
from bpstudio.core.training.rows import rows_to_run
from bpstudio.gui.main_window import examples_dir

from guihelpers import key


def open_example(window, stem: str):
    assert window.open_file(examples_dir() / f"{stem}.bpg")
    return window


def menu_action(menu, text: str):
    for action in menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no menu entry '{text}'")


def button(window, text: str) -> QToolButton:
    for b in window.walkthrough.findChildren(QToolButton):
        if text in b.text():
            return b
    raise AssertionError(f"no button '{text}'")


def shown(window) -> str:
    """What the panel says at the current step (its text without the markup)."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(window.walkthrough.step_label.text())
    return doc.toPlainText()


def position(window) -> str:
    return window.walkthrough.position_label.text()


def current(window) -> str:
    return position(window).rsplit("· ", 1)[1]


def item(window, name: str):
    return window.scene.node_items[window.graph.node(name).id]


def press(window, qtbot, text: str, times: int = 1) -> None:
    for _ in range(times):
        qtbot.mouseClick(button(window, text), Qt.LeftButton)


@pytest.fixture
def neuron(window):
    return open_example(window, "single_neuron")


def test_the_run_menu_opens_the_dock_at_the_first_step(qtbot, neuron):
    window = neuron
    menu_action(window.run_menu, "Walk Through…").trigger()
    assert window.walkthrough_dock.isVisible()
    assert "Step 1 of 16" in position(window) and current(window) == "x"
    assert item(window, "x").highlighted and not item(window, "w").highlighted


def test_stepping_the_single_neuron_forward_then_backward(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F8)  # the menu entry's shortcut, from the canvas
    order, texts = [], {}
    for _ in range(16):
        order.append((position(window).split("· ")[1].strip(), current(window)))
        texts[order[-1]] = shown(window)
        press(window, qtbot, "Next")
    assert [name for _phase, name in order] == ["x", "w", "b", "y", "wx", "z", "a", "loss",
                                                "loss", "a", "z", "wx", "y", "b", "w", "x"]
    assert [phase for phase, _name in order] == ["Forward"] * 8 + ["Backward"] * 8
    assert "It keeps its inputs" in texts[("Forward", "wx")]
    assert "a (w) = 0.5" in texts[("Forward", "wx")] and "wx = 1" in texts[("Forward", "wx")]
    assert "z = 1.1" in texts[("Forward", "z")] and "loss = 0.01" in texts[("Forward", "loss")]
    assert "d loss/d loss = 1" in texts[("Backward", "loss")]
    wx = texts[("Backward", "wx")]
    assert "d loss/d wx = 0.2" in wx and "d(a * b)/da = b" in wx
    assert "to w (port a): 0.2 × 2 = 0.4" in wx and "to x (port b): 0.2 × 0.5 = 0.1" in wx
    assert "d loss/d b = 0.2" in texts[("Backward", "b")]
    # At the end every gradient is on the canvas, and equals the engine's.
    engine = Engine(window.graph)
    engine.forward(sample_feeds(window.graph))
    engine.backward()
    for name in ("w", "b", "z"):
        on_canvas = float(item(window, name).grad_text.removeprefix("∇ "))
        assert on_canvas == pytest.approx(np.asarray(engine.grad(name)).item(), rel=1e-3)
    assert not button(window, "Next").isEnabled()


def test_a_relu_that_is_off_says_the_gradient_stops(qtbot, neuron):
    window = neuron
    window.graph.set_value(window.graph.node("w"), np.asarray(-0.5))
    window.walk_through()
    press(window, qtbot, "Next", 9)
    assert current(window) == "a"
    text = shown(window)
    assert "The ReLU is off" in text and "z = -0.9 is <= 0" in text and "stops here" in text
    assert "to z (port x): -2 × 0 = 0" in text
    press(window, qtbot, "Next", 5)
    assert current(window) == "w" and "d loss/d w = 0" in shown(window)


def test_fan_out_lists_two_contributions_and_their_sum(qtbot, window):
    open_example(window, "fan_out")
    window.walk_through()
    press(window, qtbot, "End")
    while current(window) != "d":
        press(window, qtbot, "Back")
    text = shown(window)
    assert "used in 2 places" in text
    assert "from d_times_d (port a): 2" in text and "from d_times_d (port b): 2" in text
    assert "sum: d loss/d d = 4" in text
    assert item(window, "d").grad_text == "∇ 4"
    # Both wires from d into the multiply have carried their gradient back, and at this step d
    # hands 4 back to wx; wx has not yet handed anything to w.
    edges = window.scene.edge_items
    mul = window.graph.node("d_times_d").id
    assert edges[(mul, "a")].gradient_magnitude == pytest.approx(2.0)
    assert edges[(mul, "b")].gradient_magnitude == pytest.approx(2.0)
    assert edges[(window.graph.node("d").id, "a")].gradient_magnitude == pytest.approx(4.0)
    assert edges[(window.graph.node("wx").id, "a")].gradient_magnitude is None


def test_step_back_returns_to_the_previous_state(qtbot, neuron):
    window = neuron
    window.walk_through()
    press(window, qtbot, "Next", 9)
    before = (position(window), shown(window), item(window, "a").grad_text)
    press(window, qtbot, "Next")
    assert item(window, "z").grad_text == "∇ 0.2"
    press(window, qtbot, "Back")
    assert (position(window), shown(window), item(window, "a").grad_text) == before
    assert item(window, "z").grad_text is None and item(window, "a").highlighted


def test_the_keyboard_drives_the_panel_and_home_still_frames_the_canvas(qtbot, neuron):
    window = neuron
    key(window, Qt.Key_F8)
    panel = window.walkthrough
    assert QApplication.focusWidget() is panel
    for k in (Qt.Key_Right, Qt.Key_Right, Qt.Key_Right):
        key(window, k, widget=panel)
    assert current(window) == "y"
    key(window, Qt.Key_Left, widget=panel)
    assert current(window) == "b"
    key(window, Qt.Key_End, widget=panel)
    assert "Step 16 of 16" in position(window)
    key(window, Qt.Key_Home, widget=panel)
    assert "Step 1 of 16" in position(window)
    key(window, Qt.Key_Space, widget=panel)
    assert panel.playing and "Pause" in button(window, "Pause").text()
    window.walkthrough.speed.setCurrentIndex(2)  # fast
    qtbot.waitUntil(lambda: current(window) == "w", timeout=3000)
    key(window, Qt.Key_Space, widget=panel)
    assert not panel.playing
    # On the canvas, Home is still Frame All (not the walk's "to start").
    window.view.setFocus()
    with qtbot.waitSignal(window.actions.frame_all.triggered, timeout=1000):
        key(window, Qt.Key_Home)
    assert current(window) == "w"


def test_several_rows_give_a_summary_and_a_row_to_follow(qtbot, window):
    open_example(window, "xor")  # a project with training data: it walks on 8 of its rows
    window.walk_through()
    picker = window.walkthrough.row_picker
    assert picker.isVisible() and picker.count() == 9
    assert picker.currentText().startswith("All 8 rows")
    press(window, qtbot, "End")
    while current(window) != "p":
        press(window, qtbot, "Back")
    everything = shown(window)
    picker.setCurrentIndex(2)  # row 2
    one_row = shown(window)
    assert one_row != everything
    project = load(examples_dir() / "xor.bpg")
    engine = Engine(project.graph)
    engine.forward(rows_to_run(project).feeds)
    engine.backward()
    assert f"d loss/d p = {engine.grad('p')[1].item():.4g}" in one_row


def practice_on(window, qtbot):
    window.walk_through()
    qtbot.mouseClick(window.walkthrough.practice_box, Qt.LeftButton)
    assert window.walkthrough.practice_box.isChecked()


def answer(window, qtbot, text: str) -> None:
    box = window.walkthrough.answer
    box.clear()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key_Return)


def test_practice_rejects_a_wrong_answer_with_the_reason_accepts_a_right_one_and_scores(
        qtbot, neuron):
    window = neuron
    practice_on(window, qtbot)
    press(window, qtbot, "Next", 9)  # the first backward step after the loss: a
    assert current(window) == "a" and "d loss/d a = ?" in shown(window)
    assert item(window, "a").grad_text == "∇ ?"
    press(window, qtbot, "Next")  # not before answering
    assert current(window) == "a" and "before going on" in window.walkthrough.feedback.text()
    answer(window, qtbot, "0.5")
    feedback = window.walkthrough.feedback.text()
    assert feedback.startswith("Not quite") and "loss's gradient 1" in feedback
    assert "local derivative here, 0.2" in feedback and "2 (prediction - target) / n" in feedback
    assert "0 of 1 right" in window.walkthrough.score_label.text()
    answer(window, qtbot, "0.2")
    assert window.walkthrough.feedback.text().startswith("Right")
    assert "within 1%" in window.walkthrough.feedback.text()
    assert "1 of 2 right" in window.walkthrough.score_label.text()
    assert item(window, "a").grad_text == "∇ 0.2" and "d loss/d a = 0.2" in shown(window)
    press(window, qtbot, "Next")
    assert current(window) == "z"
    answer(window, qtbot, "0.2")
    assert "2 of 3 right" in window.walkthrough.score_label.text()


def test_practice_on_one_chosen_node(qtbot, window):
    open_example(window, "fan_out")
    practice_on(window, qtbot)
    window.walkthrough.practice_node.setCurrentText("d")
    press(window, qtbot, "End")  # stops at the gradient still to be worked out
    assert current(window) == "d" and "sum: d loss/d d = ?" in shown(window)
    answer(window, qtbot, "4")
    assert window.walkthrough.feedback.text().startswith("Right")
    press(window, qtbot, "End")
    assert "Step 14 of 14" in position(window)


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_the_exported_walk_holds_the_engines_numbers(qtbot, window, tmp_path, monkeypatch,
                                                     suffix):
    open_example(window, "fan_out")
    target = tmp_path / f"walk{suffix}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    file_menu = window.menuBar().actions()[0].menu()
    export = menu_action(file_menu, "Export").menu()
    menu_action(export, "Walkthrough Page…").trigger()
    page = target.read_text(encoding="utf-8")
    project = load(examples_dir() / "fan_out.bpg")
    engine = Engine(project.graph)
    engine.forward(project.sample)
    engine.backward()
    for name in ("w", "d", "wx", "x"):
        assert f"d loss/d {name} = {np.asarray(engine.grad(name)).item():.4g}" in page
    assert "sum: d loss/d d = 4" in page and "Exported the walk" in window.statusBar().currentMessage()


def panel_button(window, text: str):
    from PySide6.QtWidgets import QPushButton

    (found,) = [b for b in window.walkthrough.findChildren(QPushButton) if b.text() == text]
    return found


def test_practice_check_and_reveal_buttons(qtbot, neuron):
    window = neuron
    practice_on(window, qtbot)
    press(window, qtbot, "Next", 9)
    assert current(window) == "a"
    window.walkthrough.answer.setText("0.2")
    qtbot.mouseClick(panel_button(window, "Check"), Qt.LeftButton)
    assert window.walkthrough.feedback.text().startswith("Right")
    press(window, qtbot, "Next")
    assert current(window) == "z"
    qtbot.mouseClick(panel_button(window, "Reveal"), Qt.LeftButton)
    assert window.walkthrough.feedback.text().startswith("Revealed")
    assert "1 of 1 right" in window.walkthrough.score_label.text()  # a reveal scores nothing
    assert item(window, "z").grad_text == "∇ 0.2"
    press(window, qtbot, "Next")
    assert current(window) != "z"  # and the walk goes on


def test_play_walks_on_by_itself_and_pause_stops_it(qtbot, neuron):
    window = neuron
    window.walk_through()
    window.walkthrough.speed.setCurrentIndex(window.walkthrough.speed.count() - 1)  # fastest
    press(window, qtbot, "Play")
    qtbot.waitUntil(lambda: "Step 4 of 16" in position(window), timeout=10_000)
    press(window, qtbot, "Pause")
    reached = position(window)
    qtbot.wait(600)
    assert position(window) == reached


def test_the_panels_export_button_writes_the_page(qtbot, neuron, tmp_path, monkeypatch):
    window = neuron
    window.walk_through()
    target = tmp_path / "walk.md"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    qtbot.mouseClick(panel_button(window, "Export Walk…"), Qt.LeftButton)
    assert "0.4" in target.read_text(encoding="utf-8")  # d loss/d w


def test_closing_the_dock_gives_the_canvas_back(qtbot, neuron):
    window = neuron
    window.walk_through()
    press(window, qtbot, "End")
    assert item(window, "w").grad_text == "∇ 0.4"
    window.walkthrough_dock.close()
    assert item(window, "w").grad_text is None and item(window, "w").value_text is None
    assert not any(i.highlighted for i in window.scene.node_items.values())


@pytest.mark.parametrize("what", ["link-to-dev-null", "link-to-a-page"])
def test_the_export_writes_through_links_and_never_into_a_device(neuron, tmp_path, what):
    """The page is written as every save is (atomically, to the file a link leads to); what is
    not a regular file is refused in the status bar and left alone."""
    window = neuron
    window.walk_through()
    target = tmp_path / "walk.md"
    real = tmp_path / "real-walk.md"
    if what == "link-to-dev-null":
        os.symlink("/dev/null", target)
    else:
        real.write_text("old page")
        os.symlink(real.name, target)
    written = window.walkthrough.export_walk(target)
    assert os.readlink(target) == ("/dev/null" if what == "link-to-dev-null" else real.name)
    if what == "link-to-dev-null":
        assert not written
        assert "is a device" in window.statusBar().currentMessage()
    else:
        assert written and "d loss/d w = 0.4" in real.read_text(encoding="utf-8")


def test_a_collapsed_layer_is_one_step_with_the_chain_rule_in_matrix_form(qtbot, window):
    """two_moons opens with its layers folded: the walk reaches h2 as one block per pass and
    shows dL/dz = dL/da ⊙ f'(z), dL/dW, dL/db and dL/dx with the engine's numbers for the
    chosen row; opened, h2 is walked op by op."""
    from bpstudio.core.layer_walk import layer_chain
    from bpstudio.core.trace import trace
    from bpstudio.core.trace_text import number

    open_example(window, "two_moons")
    menu_action(window.run_menu, "Walk Through…").trigger()
    steps = len(window.walkthrough.steps)
    window.walkthrough.row_picker.setCurrentIndex(3)  # row 3
    press(window, qtbot, "End")
    while current(window) != "h2 (layer)" or "Backward" not in position(window):
        press(window, qtbot, "Back")
    block = window.scene.layer_items[window.graph.group("h2").id]
    assert block.highlighted
    text = shown(window)
    # An untrained example runs on the rows of the data set its Training dock shows.
    project = dataclasses.replace(window.document.project, training={"data": {"source": "moons"}})
    feeds = training_rows(project).feeds
    chain = layer_chain(trace(window.graph, feeds), window.graph, "h2")
    row = 2
    assert f"dL/dz = dL/da ⊙ f'(z) = {number(chain.dl_dz, True, row)}" in text
    assert "f'(z) = " in text and number(chain.f_prime, True, row) in text
    assert "dL/dW = Xᵀ dL/dZ" in text and number(chain.dl_dw) in text
    assert f"dL/db = Σ over rows of dL/dz = {number(chain.dl_db)}" in text
    assert f"dL/dx = dL/dz Wᵀ = {number(chain.dl_dx, True, row)}" in text
    engine = Engine(window.graph)
    engine.forward(feeds)
    engine.backward()
    np.testing.assert_array_equal(chain.dl_dz, engine.grad("h2.z"))
    # Opened, the layer's ops are steps of their own (5 forward, 5 backward, less the 2 it was).
    window.scene.set_collapsed(window.graph.group("h2").id, False)
    qtbot.waitUntil(lambda: len(window.walkthrough.steps) == steps + 8)
    names = [s.name for s in window.walkthrough.steps]
    assert "h2.matmul" in names and "h2" in names
