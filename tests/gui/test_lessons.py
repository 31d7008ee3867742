"""Learning aids: comparison runs overlaid in one window, the guided tour, and each example
opening with its description and a next step."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from bpstudio.gui.main_window import examples_dir
from bpstudio.gui.training.comparison import (FIRST, LAST, LEARNING_RATE, PROFILE_STEPS,
                                              layer_profile)

from guihelpers import key

TIMEOUT = 90_000


def legend_labels(legend) -> list[str]:
    return [label.text for _, label in legend.items]


def wait_for(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)
    QApplication.processEvents()


def test_the_sigmoid_stack_opens_a_comparison_with_the_relu_stack_in_one_action(qtbot, window):
    assert window.open_file(examples_dir() / "deep_sigmoid.bpg")
    window.training_panel.lr_spin.setValue(0.01)
    key(window, Qt.Key_K, Qt.ControlModifier | Qt.ShiftModifier)  # Run > Compare Runs
    dialog = window.comparison_window
    assert dialog.isVisible() and dialog.running  # the lesson's preset starts at once
    wait_for(qtbot, dialog)
    assert legend_labels(dialog.loss_legend) == ["A: deep_sigmoid", "B: deep_relu_he"]
    for end in (FIRST, LAST):
        assert legend_labels(dialog.profile_legends[end]) == ["A: deep_sigmoid",
                                                              "B: deep_relu_he"]
        title = dialog.profile_plots[end].titleLabel.text
        assert f"{end} {PROFILE_STEPS} steps" in title
    for curve in dialog.loss_curves:
        x, y = curve.getData()
        assert x is not None and len(x) > 100 and x[-1] == 500
    # log10 of the norms over the first steps, where the lesson is
    a, b = (curve.getData()[1] for curve in dialog.profile_curves[FIRST])
    assert len(a) == len(b) == 11
    # The point of the view: the sigmoid stack's first layer hears far less, relative to its
    # last layer, than the ReLU stack's.
    assert (a[0] - a[-1]) < (b[0] - b[-1]) - 2  # more than 100 times apart, on a log axis
    # Both started from fresh weights drawn from the same seed: the same first loss scale
    first_a, first_b = (dialog.histories[k]["loss"][0] for k in range(2))
    assert np.isfinite(first_a) and np.isfinite(first_b)
    assert not window.is_modified and window.undo_stack.count() == 0  # only copies trained
    dialog.close()


def test_a_learning_rate_variant_draws_two_labelled_runs(qtbot, window):
    assert window.open_file(examples_dir() / "xor.bpg")
    panel = window.training_panel
    index = panel.data_combo.findText("xor")
    panel.data_combo.setCurrentIndex(index)
    panel.data_combo.activated.emit(index)
    panel.lr_spin.setValue(0.01)
    window.actions.compare_runs.trigger()
    dialog = window.comparison_window
    assert not dialog.running and dialog.kind_combo.currentText() == LEARNING_RATE
    dialog.lr_spin.setValue(0.2)
    dialog.steps_spin.setValue(200)
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    wait_for(qtbot, dialog)
    assert legend_labels(dialog.loss_legend) == ["A: xor", "B: learning rate 0.2"]
    first, second = (dialog.histories[k]["loss"] for k in range(2))
    assert len(first) == len(second) == 200
    assert not np.allclose(first, second)  # the same data and seed, another learning rate
    assert first[0] == pytest.approx(second[0])  # ...from the same first step
    dialog.close()


def test_layer_profile_reads_the_weights_in_order():
    history = {"parameters": "a.W,a.b,b.W,b.b",
               "grad_norm": {"a.W": np.array([1.0, 4.0]), "a.b": np.array([9.0, 9.0]),
                             "b.W": np.array([np.nan, 0.5]), "b.b": np.array([1.0, 1.0])}}
    names, values = layer_profile(history)
    assert names == ["a.W", "b.W"]
    assert values == pytest.approx([2.0, 0.5])  # geometric mean; NaN left out


def test_the_guided_tour_walks_through_three_lessons(qtbot, window):
    (entry,) = [a for a in window.help_menu.actions() if a.text() == "Guided &Tour…"]
    entry.trigger()
    tour = window.tour_dialog
    assert tour.isVisible() and window.path.stem == "single_neuron"
    assert "x = 2" in tour.text_label.text() and "0.4 at w" in tour.text_label.text()
    qtbot.mouseClick(tour.show_button, Qt.LeftButton)
    item = window.scene.node_items[window.graph.node("w").id]
    assert item.grad_text == "∇ 0.4" and window.actions.wire_gradients.isChecked()
    qtbot.mouseClick(tour.next_button, Qt.LeftButton)
    assert window.path.stem == "fan_out" and tour.title_label.text().startswith("<b>2")
    qtbot.mouseClick(tour.show_button, Qt.LeftButton)
    assert window.scene.node_items[window.graph.node("d").id].grad_text == "∇ 4"
    qtbot.mouseClick(tour.back_button, Qt.LeftButton)
    assert window.path.stem == "single_neuron"
    qtbot.mouseClick(tour.next_button, Qt.LeftButton)
    qtbot.mouseClick(tour.next_button, Qt.LeftButton)
    assert window.path.stem == "deep_sigmoid" and tour.next_button.text() == "Close"
    qtbot.mouseClick(tour.show_button, Qt.LeftButton)
    assert window.comparison_window.running
    window.comparison_window.close()
    assert not window.comparison_window.running
    qtbot.mouseClick(tour.next_button, Qt.LeftButton)  # "Close" on the last page
    assert not tour.isVisible()


@pytest.mark.parametrize("stem", ["single_neuron", "deep_exploding"])
def test_an_example_opens_with_its_description_and_a_next_step(window, stem):
    window.training_dock.raise_()  # another panel on top: opening a lesson brings the text back
    QApplication.processEvents()
    assert window.inspector_dock.visibleRegion().isEmpty()
    assert window.open_file(examples_dir() / f"{stem}.bpg")
    QApplication.processEvents()
    assert not window.inspector_dock.visibleRegion().isEmpty()
    about = window.inspector.findChild(QLabel, "description")
    assert about is not None and "Next step: Press" in about.text()
