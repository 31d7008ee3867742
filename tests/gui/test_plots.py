"""The training plots, fed with histories of really trained graphs, checked by what the widgets
show: the data inside pyqtgraph's curves, bars, images and scatters, and the files its exporters
write."""

import csv
import math

import numpy as np
import pytest
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from bpstudio import Graph, Trainer
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.training import datasets
from bpstudio.core.training.prediction import prediction_field, prediction_node_for
from bpstudio.gui.plots import (GRADIENTS_TAB, LOSS_TAB, PREDICTION_TAB, GradientBarPlot,
                                LossPlot, TrainingPlots)
from bpstudio.gui.plots import style
from bpstudio.gui.plots.gradients import LAYER_SIGNAL, PER_LAYER, PER_PARAMETER
from bpstudio.gui.plots.series import (HistorySeries, as_series, ema, log_ema, log_emas,
                                      positive_or_nan)


# ------------------------------------------------------------------------------ training data
def train(project_name: str, data, steps: int):
    project = EXAMPLES[project_name]()
    trainer = Trainer(project.graph, data, lr=0.01, seed=0, validate_every=20)
    trainer.fit(steps=steps)
    return project.graph, trainer


@pytest.fixture(scope="module")
def moons_run():
    data = datasets.prepare("moons", options={"noise": 0.15}, seed=0)
    graph, trainer = train("two_moons", data, 120)
    return graph, trainer, data, trainer.history.to_tree()


@pytest.fixture(scope="module")
def sigmoid_tree():
    _, trainer = train("deep_sigmoid", datasets.prepare("moons", seed=0), 60)
    return trainer.history.to_tree()


@pytest.fixture(scope="module")
def sine_run():
    g = Graph(seed=0)
    x = g.input("x", (1,))
    h = g.dense(x, 1, 8, "hidden", activation="tanh")
    g.mse(g.dense(h, 8, 1, "out"), g.input("y", (1,)), name="loss")
    data = datasets.prepare("sine", options={"n": 80}, seed=0)
    trainer = Trainer(g, data, lr=0.02, seed=0, validate_every=20)
    trainer.fit(steps=80)
    return g, trainer, data, trainer.history.to_tree()


def on_screen(qtbot, widget, width: int, height: int):
    """``widget`` shown at this size, exposed (and closed after the test)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def fresh_plots(qtbot) -> TrainingPlots:
    widget = on_screen(qtbot, TrainingPlots(), 520, 700)
    widget.set_smoothing(0.0)
    return widget


def switch_gradient_view(plots, mode: str) -> None:
    """Choose a view in the gradient plot's switch, as a person does."""
    combo = plots.gradient_plot.mode_combo
    combo.setCurrentIndex(combo.findText(mode))
    combo.activated.emit(combo.currentIndex())


@pytest.fixture
def plots(qtbot):
    """The plots switched to the per-parameter view, which most tests here read."""
    widget = fresh_plots(qtbot)
    switch_gradient_view(widget, PER_PARAMETER)
    return widget


def shown(curve: pg.PlotDataItem) -> tuple[np.ndarray, np.ndarray]:
    """What a curve draws (after pyqtgraph's log mapping, clipping and downsampling), once the
    views have painted: a view linked to another takes its range only then, and clips to it."""
    for _ in range(2):
        QApplication.processEvents()
    x, y = curve.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


def scroll_to(plots: TrainingPlots, plot) -> None:
    """Scroll the tab's column until ``plot`` is in view, as a person does."""
    plots.pages[plots.current_tab].ensureWidgetVisible(plot)
    for _ in range(20):  # the plots that come into view are drawn one per turn of the loop
        QApplication.processEvents()
        if plots.up_to_date:
            break


def log10_or_nan(values) -> np.ndarray:
    return np.log10(positive_or_nan(values))


def names_of(tree) -> list[str]:
    return tree["parameters"].split(",")


# ----------------------------------------------------------------------------------- the loss
def test_loss_curve_holds_the_history(plots, moons_run):
    tree = moons_run[3]
    plots.show_history(tree)
    loss = plots.loss_plot
    x, y = shown(loss.train_curve)
    np.testing.assert_array_equal(x, tree["step"])
    np.testing.assert_allclose(y, tree["loss"])
    assert len(x) == 120
    vx, vy = shown(loss.validation_curve)
    np.testing.assert_array_equal(vx, tree["validation"]["step"])
    np.testing.assert_allclose(vy, tree["validation"]["loss"])
    assert list(vx) == [20, 40, 60, 80, 100, 120]
    assert loss.validation_curve.opts["symbol"] == "o"  # points at the validation steps
    assert [label.text for _, label in loss.legend.items] == ["training", "validation"]
    assert loss.message() == ""


def test_validation_points_are_given_again_only_when_they_change(plots, moons_run, monkeypatch):
    import copy

    tree = moons_run[3]
    plots.show_history(tree)
    loss = plots.loss_plot
    given = []
    real = loss.validation_curve.setData
    monkeypatch.setattr(loss.validation_curve, "setData",
                        lambda *a, **k: given.append(a) or real(*a, **k))
    later = copy.deepcopy(tree)
    later["loss"] = [v * 0.5 for v in tree["loss"]]  # new training points, same validation
    plots.show_history(later)
    assert given == [] and shown(loss.train_curve)[1][0] == pytest.approx(tree["loss"][0] / 2)
    later["validation"]["loss"] = [v * 0.5 for v in tree["validation"]["loss"]]
    plots.show_history(later)
    assert len(given) == 1
    np.testing.assert_allclose(shown(loss.validation_curve)[1], later["validation"]["loss"])


def test_layer_health_is_given_points_only_when_the_layers_were_measured_again(
        qtbot, sigmoid_tree):
    import copy

    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    plots.show_history(sigmoid_tree)
    health, grad = plots.health_plot, plots.gradient_plot
    assert len(health.curves) == 10
    curves = health.curves + grad.curves

    def given(redraw) -> list:
        """The curves a redraw gave new points (a curve keeps the array it was given)."""
        before = [curve.getOriginalDataset()[1] for curve in curves]
        redraw()
        return [c for c, was in zip(curves, before) if c.getOriginalDataset()[1] is not was]

    later = copy.deepcopy(sigmoid_tree)  # new gradient norms, the layers not measured again
    later["layer_grad_norm"] = {n: [2 * v for v in values]
                                for n, values in sigmoid_tree["layer_grad_norm"].items()}
    assert given(lambda: plots.show_history(later)) == grad.curves
    first = health.names[0]
    later["layers"]["health"][first] = [0.5 for _ in later["layers"]["health"][first]]
    assert given(lambda: plots.show_history(later)) == health.curves  # (given as one family)
    np.testing.assert_allclose(shown(health.curve(first))[1], 50.0)


def test_a_long_run_is_drawn_with_two_bins_per_pixel(qtbot):
    # pyqtgraph's default of five per pixel drew 10 points per pixel of a long curve.
    plot = on_screen(qtbot, LossPlot(), 560, 330)
    plot.set_smoothing(0.5)
    n = 20_000
    loss = np.exp(-np.arange(n) / 5000) * (1 + np.random.default_rng(0).random(n))
    plot.show_history({"parameters": "w", "step": np.arange(1, n + 1), "loss": loss,
                       "grad_norm": {"w": np.ones(n)}})
    shown(plot.train_curve)
    width = plot.view_box.width()
    for curve in (plot.raw_curve, plot.train_curve):
        drawn = len(curve.getData()[0])
        assert width * 2 <= drawn <= width * 4 + 8  # a low and a high point per bin
        # the outline is kept: the highest and lowest raw points are among those drawn
    assert plot.raw_curve.getData()[1].max() == pytest.approx(loss.max())
    assert plot.raw_curve.getData()[1].min() == pytest.approx(loss.min())


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format_ARGB32)
    return np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), -1).copy()


def test_the_grid_drawn_on_pixel_centres_is_pyqtgraphs_own_picture(qtbot, moons_run,
                                                                   sigmoid_tree, monkeypatch):
    # Every line on the pixels, and blended with them, as pyqtgraph draws it (only faster), in
    # plots the layout puts at fractions of a pixel too; a line on the very edge between two
    # pixels may go to either (at most one row and one column of a picture differ).
    def pictures():
        widget = fresh_plots(qtbot)
        widget.resize(523, 711)
        taken = []
        for tab, tree in ((LOSS_TAB, moons_run[3]), (GRADIENTS_TAB, sigmoid_tree)):
            widget.show_tab(tab)
            widget.show_history(tree)
            for plot in widget._tab_plots[tab][:2]:
                shown(plot.plot_item.listDataItems()[0])
                assert plot.plot_item.getAxis("left").grid is not False  # (a grid to draw)
                taken.append(_pixels(plot.plot_widget))
        widget.close()
        return taken

    from bpstudio.gui.plots.style import SteadyAxis

    ours = pictures()
    monkeypatch.setattr(SteadyAxis, "drawPicture", pg.AxisItem.drawPicture)
    theirs = pictures()
    assert len(ours) == len(theirs) == 4
    for mine, pyqtgraphs in zip(ours, theirs):
        assert mine.shape == pyqtgraphs.shape
        rows, columns = np.nonzero(mine != pyqtgraphs)
        assert len(set(rows)) <= 1 or len(set(columns)) <= 1
        assert len(rows) <= max(mine.shape)


def test_smoothing_changes_the_curve_and_zero_gives_the_raw_values(plots, moons_run):
    tree = moons_run[3]
    plots.show_history(tree)
    loss = plots.loss_plot
    loss.smoothing_slider.setValue(80)  # as a person drags it
    assert loss.smoothing == pytest.approx(0.8)
    _, smoothed = shown(loss.train_curve)
    np.testing.assert_allclose(smoothed, ema(tree["loss"], 0.8))
    assert not np.allclose(smoothed, tree["loss"])
    assert np.std(np.diff(smoothed)) < np.std(np.diff(tree["loss"])) / 2
    # The raw curve stays behind it, faint.
    assert loss.raw_curve.isVisible()
    np.testing.assert_allclose(shown(loss.raw_curve)[1], tree["loss"])
    raw_alpha = loss.raw_curve.opts["pen"].color().alpha()
    assert raw_alpha < loss.train_curve.opts["pen"].color().alpha() / 2
    # One smoothing for every training curve, with the other tab's slider in step.
    _, accuracy = shown(plots.accuracy_plot.train_curve)
    np.testing.assert_allclose(accuracy, ema(tree["accuracy"], 0.8))
    assert plots.gradient_plot.smoothing_control.slider.value() == 80
    plots.show_tab(GRADIENTS_TAB)
    first = names_of(tree)[0]
    np.testing.assert_allclose(shown(plots.gradient_plot.curve(first))[1],
                               np.log10(log_ema(tree["grad_norm"][first], 0.8)))

    plots.show_tab(LOSS_TAB)  # (the slider a person drags is on the tab in view)
    loss.smoothing_slider.setValue(0)
    np.testing.assert_allclose(shown(loss.train_curve)[1], tree["loss"])
    assert not loss.raw_curve.isVisible() and shown(loss.raw_curve)[0].size == 0
    plots.show_tab(GRADIENTS_TAB)  # a hidden plot draws the new weight when it is shown
    np.testing.assert_allclose(shown(plots.gradient_plot.curve(first))[1],
                               log10_or_nan(tree["grad_norm"][first]))


def test_the_gradient_tab_slider_smooths_every_curve(plots, moons_run):
    tree = moons_run[3]
    plots.show_tab(GRADIENTS_TAB)  # (a hidden view is not painted, nor given its range)
    plots.show_history(tree)
    moved = []
    plots.smoothing_changed.connect(moved.append)
    plots.gradient_plot.smoothing_control.slider.setValue(50)  # as a person drags it
    assert moved == [0.5]
    assert plots.smoothing == pytest.approx(0.5)
    assert plots.loss_plot.smoothing_slider.value() == 50
    plots.show_tab(LOSS_TAB)
    np.testing.assert_allclose(shown(plots.loss_plot.train_curve)[1], ema(tree["loss"], 0.5))
    plots.show_tab(GRADIENTS_TAB)
    scroll_to(plots, plots.ratio_plot)  # below the column's fold: drawn once in view
    last = names_of(tree)[-1]
    np.testing.assert_allclose(shown(plots.ratio_plot.curve(last))[1],
                               np.log10(log_ema(tree["update_ratio"][last], 0.5)))
    plots.set_smoothing(0.3)  # (not a person: no signal)
    assert moved == [0.5] and plots.loss_plot.smoothing_slider.value() == 30


def test_log_scale_check_box_switches_the_axis(plots, moons_run, qtbot):
    tree = moons_run[3]
    plots.show_history(tree)
    loss = plots.loss_plot
    assert not loss.plot_item.getAxis("left").logMode
    seen = []
    loss.log_scale_changed.connect(seen.append)
    qtbot.mouseClick(loss.log_check, Qt.LeftButton)
    assert loss.log_check.isChecked() and loss.log_scale
    assert loss.plot_item.ctrl.logYCheck.isChecked()
    assert loss.plot_item.getAxis("left").logMode
    np.testing.assert_allclose(shown(loss.train_curve)[1], np.log10(tree["loss"]))
    np.testing.assert_allclose(shown(loss.validation_curve)[1],
                               np.log10(tree["validation"]["loss"]))
    # The plot's own context menu switch and the check box stay in step.
    loss.plot_item.ctrl.logYCheck.setChecked(False)
    assert not loss.log_check.isChecked() and not loss.plot_item.getAxis("left").logMode
    np.testing.assert_allclose(shown(loss.train_curve)[1], tree["loss"])
    assert seen == [True, False]


def test_accuracy_curves_for_classification(plots, moons_run):
    tree = moons_run[3]
    plots.show_history(tree)
    accuracy = plots.accuracy_plot
    np.testing.assert_allclose(shown(accuracy.train_curve)[1], tree["accuracy"])
    np.testing.assert_allclose(shown(accuracy.validation_curve)[1],
                               tree["validation"]["accuracy"])
    assert accuracy.message() == ""
    low, high = accuracy.view_box.viewRange()[1]
    assert low <= 0.0 and 1.0 <= high < 1.2  # a fixed 0..1 axis


def test_a_regression_has_no_accuracy(plots, sine_run):
    tree = sine_run[3]
    assert np.isnan(tree["accuracy"]).all()
    plots.show_history(tree)
    accuracy = plots.accuracy_plot
    assert accuracy.message() == "regression: no accuracy"
    assert shown(accuracy.train_curve)[0].size == 0
    assert shown(accuracy.validation_curve)[0].size == 0
    assert not accuracy.legend.isVisible()
    np.testing.assert_allclose(shown(plots.loss_plot.train_curve)[1], tree["loss"])


# ------------------------------------------------------------------------------ the gradients
def test_one_gradient_curve_per_parameter_from_the_input_side(plots, sigmoid_tree):
    tree = sigmoid_tree
    plots.show_tab(GRADIENTS_TAB)  # (a hidden view is not painted, nor given its range)
    names = names_of(tree)
    assert names[:2] == ["layer1.W", "layer1.b"] and names[-2:] == ["logits.W", "logits.b"]
    plots.show_history(tree)
    grad = plots.gradient_plot
    assert grad.names == tuple(names) and len(grad.curves) == 22
    # 22 names would bury the plot: the legend names 8 spread from the first to the last
    picked = [names[k] for k in (0, 3, 6, 9, 12, 15, 18, 21)]
    assert grad.legend_labels() == picked + ["(8 of 22)"]
    drawn = [c for c in grad.plot_item.listDataItems() if c.isVisible()]
    assert drawn == grad.curves
    assert grad.plot_item.getAxis("left").logMode
    for name in names:
        x, y = shown(grad.curve(name))
        np.testing.assert_array_equal(x, tree["step"])
        np.testing.assert_allclose(y, np.log10(tree["grad_norm"][name]))
    # Coloured along a perceptual map: darkest at the input side, brightest at the loss.
    colours = [c.opts["pen"].color() for c in grad.curves]
    assert [c.name() for c in colours] == [c.name() for c in style.parameter_colours(22)]
    luma = [0.299 * c.redF() + 0.587 * c.greenF() + 0.114 * c.blueF() for c in colours]
    assert luma == sorted(luma) and luma[-1] - luma[0] > 0.3
    # The picture the plot exists for: the sigmoid stack's first layer gets far less gradient
    # than its last.
    first, last = shown(grad.curve("layer1.W"))[1], shown(grad.curve("logits.W"))[1]
    assert np.median(last - first) > 2  # more than a hundred times


def test_curves_are_made_once_per_set_of_parameters(plots, moons_run, sigmoid_tree):
    plots.show_tab(GRADIENTS_TAB)  # (a hidden view is not painted, nor given its range)
    plots.show_history(moons_run[3])
    curves = list(plots.gradient_plot.curves)
    bars_points = list(plots.bar_plot.points)
    half = {**moons_run[3], "step": moons_run[3]["step"][:50]}
    plots.show_history(half)
    assert plots.gradient_plot.curves == curves and plots.bar_plot.points == bars_points
    assert all(a is b for a, b in zip(plots.gradient_plot.curves, curves))
    assert len(shown(curves[0])[0]) == 50
    plots.show_history(sigmoid_tree)
    assert len(plots.gradient_plot.curves) == 22
    assert not set(map(id, plots.gradient_plot.curves)) & set(map(id, curves))
    assert len(plots.gradient_plot.plot_item.listDataItems()) == 22  # the old ones are gone
    names = names_of(sigmoid_tree)
    assert plots.gradient_plot.legend_labels()[0] == names[0]
    assert plots.gradient_plot.legend_labels()[-2:] == [names[-1], "(8 of 22)"]


def test_bars_hold_the_latest_norms_in_order_and_colour(plots, sigmoid_tree):
    plots.show_tab(GRADIENTS_TAB)  # (a hidden view is not painted, nor given its range)
    plots.show_history(sigmoid_tree)
    bars = plots.bar_plot
    names = names_of(sigmoid_tree)
    latest = {n: sigmoid_tree["grad_norm"][n][-1] for n in names}
    tops = bars.bar_tops()
    assert list(tops) == names
    np.testing.assert_allclose([tops[n] for n in names], [latest[n] for n in names])
    np.testing.assert_array_equal(bars.bars.opts["x"], np.arange(22))
    brushes = [QColor(pg.mkBrush(b).color()).name() for b in bars.bars.opts["brushes"]]
    assert brushes == [c.opts["pen"].color().name() for c in plots.gradient_plot.curves]
    assert bars.plot_item.getAxis("left").logMode
    # Bars start at the power of ten below the smallest norm (their height is log10 units).
    assert bars.bars.opts["y0"] == math.floor(math.log10(min(latest.values())))
    assert f"step {int(sigmoid_tree['step'][-1])}" in bars.plot_item.titleLabel.text
    ticks = bars.plot_item.getAxis("bottom")._tickLevels
    named = [(k, n) for k, n in ticks[0]]
    assert named[0] == (0, "layer1.W")
    assert all(n == names[k] for k, n in named)


def test_bars_from_step_statistics(qtbot):
    bars = GradientBarPlot()
    qtbot.addWidget(bars)
    bars.show_values(["a", "b", "c"], [1e-3, 0.0, 2.0], step=7)
    assert bars.bar_tops() == pytest.approx({"a": 1e-3, "c": 2.0})  # no bar for a zero norm
    assert bars.bars.opts["y0"] == -3
    with pytest.raises(ValueError, match="3 parameter names but 2 values"):
        bars.show_values(["a", "b", "c"], [1.0, 2.0])


def test_bars_are_bounded_and_coloured_as_pyqtgraphs_bars_after_new_values_and_zooms(qtbot):
    # The bars keep their bounds and brushes between changes: both follow every change.
    bars = GradientBarPlot()
    qtbot.addWidget(bars)
    bars.resize(460, 300)
    bars.show()
    qtbot.waitExposed(bars)

    def brushes() -> list[str]:
        return [QColor(pg.mkBrush(b).color()).name() for b in bars.bars.opts["brushes"]]

    def check() -> None:
        QApplication.processEvents()
        mine, theirs = bars.bars.boundingRect(), pg.BarGraphItem.boundingRect(bars.bars)
        assert [mine.left(), mine.top(), mine.width(), mine.height()] == pytest.approx(
            [theirs.left(), theirs.top(), theirs.width(), theirs.height()], rel=1e-12)

    bars.show_values(["a", "b", "c"], [1e-3, 0.5, 2.0], step=1)
    check()
    three = brushes()
    bars.show_values(["a", "b", "c"], [1e-4, 0.0, 3.0], step=2)  # b drawn no more
    check()
    assert brushes() == [three[0], three[2]]
    bars.view_box.setYRange(-8, 4, padding=0)  # zoomed out: a pixel is more in data units
    check()
    bars.show_values(["w", "x", "y", "z"], [1e-2, 0.1, 1.0, 2.0], step=3)  # other parameters
    check()
    assert brushes() == [c.name() for c in style.parameter_colours(4)]


def bars_watched(qtbot) -> tuple[GradientBarPlot, list]:
    """A bar plot on screen, and the list of the value ranges its axis is given."""
    bars = GradientBarPlot()
    qtbot.addWidget(bars)
    bars.show()
    moved = []
    bars.view_box.sigYRangeChanged.connect(lambda *_: moved.append(bars.view_box.viewRange()[1]))
    return bars, moved


def test_bars_keep_their_decades_while_the_norms_wander_inside_them(qtbot):
    bars, moved = bars_watched(qtbot)
    bars.show_values(["a", "b"], [1e-6, 0.5], step=1)
    assert bars.bars.opts["y0"] == -6 and len(moved) == 1
    axis_picture = bars.plot_item.getAxis("left")
    for smallest in (3e-5, 2e-6, 4e-4, 1e-6):  # a live run's smallest norm, batch to batch
        bars.show_values(["a", "b"], [smallest, 0.5], step=2)
        assert bars.bars.opts["y0"] == -6
        assert bars.bar_tops()["a"] == pytest.approx(smallest)
    assert len(moved) == 1  # the axis held still, and its ticks were not drawn again
    assert axis_picture.range == pytest.approx([-6.15, 0.15])
    bars.show_values(["a", "b"], [1e-8, 0.5], step=3)  # below the decades shown: widened,
    assert bars.bars.opts["y0"] == -9 and len(moved) == 2  # with a decade to spare
    bars.show_values(["a", "b"], [2e-9, 0.5], step=4)  # (where the norm went next)
    assert bars.bars.opts["y0"] == -9 and len(moved) == 2
    bars.show_values(["a", "b"], [2e-9, 30.0], step=5)  # above: widened upwards as well
    assert bars.decades == (-9, 3) and len(moved) == 3
    bars.show_values(["a", "b"], [2e-10, 0.05], step=6)  # no room for a spare decade left
    assert bars.decades == (-10, 3) and len(moved) == 4
    bars.show_values(["a", "b"], [0.01, 0.5], step=7)  # far inside: framed afresh
    assert bars.bars.opts["y0"] == -2 and len(moved) == 5


def test_in_a_live_run_the_bars_are_framed_afresh_only_after_a_steady_while(qtbot):
    # A deep sigmoid net's smallest norm jumps between 1e-11 and 1e-5 from batch to batch:
    # while a run is under way the axis does not shrink to each small frame and grow back.
    bars, moved = bars_watched(qtbot)
    bars.view_box.set_step_horizon(5000)  # as the plots are told when a run starts
    bars.show_values(["a", "b"], [1e-11, 0.5], step=1)
    assert bars.decades == (-11, 0) and len(moved) == 1
    for k in range(3 * bars.STEADY_REDRAWS + 1):  # (ending on a smallest norm of 1e-11)
        bars.show_values(["a", "b"], [1e-5 if k % 3 else 1e-11, 0.5], step=2 + k)
        assert bars.bar_tops()["a"] == pytest.approx(1e-5 if k % 3 else 1e-11)
    assert bars.decades == (-11, 0) and len(moved) == 1  # held still the whole time
    for k in range(bars.STEADY_REDRAWS):  # the norms settle well inside: framed afresh, once,
        bars.show_values(["a", "b"], [1e-3 if k % 2 else 3e-3, 0.5], step=200 + k)
    assert bars.decades == (-3, 0) and len(moved) == 2  # around all the settled ones
    bars.show_values(["a", "b"], [1e-9, 0.5], step=300)  # outside the frame: widened at once
    assert bars.bars.opts["y0"] <= -9 and len(moved) == 3
    # No run under way (a saved history shown, say): framed afresh at once, as before.
    bars.view_box.set_step_horizon(None)
    bars.show_values(["a", "b"], [0.01, 0.5], step=301)
    assert bars.decades == (-2, 0) and len(moved) == 4


def test_update_ratio_curves(plots, sigmoid_tree):
    plots.show_tab(GRADIENTS_TAB)  # (a hidden view is not painted, nor given its range)
    plots.show_history(sigmoid_tree)
    ratio = plots.ratio_plot
    scroll_to(plots, ratio)
    names = names_of(sigmoid_tree)
    assert ratio.names == tuple(names)
    assert ratio.plot_item.getAxis("left").logMode
    for name in names:
        x, y = shown(ratio.curve(name))
        np.testing.assert_array_equal(x, sigmoid_tree["step"])
        np.testing.assert_allclose(y, log10_or_nan(sigmoid_tree["update_ratio"][name]))
    assert [c.opts["pen"].color().name() for c in ratio.curves] == \
        [c.opts["pen"].color().name() for c in plots.gradient_plot.curves]
    assert ratio.guide.value() == -3  # the 1e-3 guide, in log10 view units


def test_the_legend_fits_a_narrow_dock(qtbot, sigmoid_tree):
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.resize(450, 700)
    widget.show_tab(GRADIENTS_TAB)
    widget.show()
    qtbot.waitExposed(widget)
    widget.show_history(sigmoid_tree)
    qtbot.wait(20)
    legend, plot_item = widget.gradient_plot.legend, widget.gradient_plot.plot_item
    assert legend.columnCount > 1
    right = legend.mapRectToItem(plot_item, legend.boundingRect()).right()
    assert right <= plot_item.boundingRect().right() + 1
    assert legend.mapRectToItem(plot_item, legend.boundingRect()).top() >= \
        widget.gradient_plot.view_box.mapRectToItem(
            plot_item, widget.gradient_plot.view_box.boundingRect()).bottom()


def test_the_gradients_tab_shows_one_curve_per_layer_by_default(qtbot, sigmoid_tree):
    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)  # (a hidden view is not painted, nor given its range)
    plots.show_history(sigmoid_tree)
    grad, tree = plots.gradient_plot, sigmoid_tree
    layers = [f"layer{k}" for k in range(1, 11)] + ["logits"]
    assert grad.mode_combo.currentText() == PER_LAYER
    assert grad.names == tuple(layers) and len(grad.curves) == 11
    assert "per layer" in grad.plot_item.titleLabel.text
    for name in layers:
        x, y = shown(grad.curve(name))
        np.testing.assert_array_equal(x, tree["step"])
        np.testing.assert_allclose(y, np.log10(tree["layer_grad_norm"][name]))
        # a layer's norm is that of all its parameters together
        both = np.hypot(tree["grad_norm"][f"{name}.W"], tree["grad_norm"][f"{name}.b"])
        np.testing.assert_allclose(tree["layer_grad_norm"][name], both, rtol=1e-12)
    tops = plots.bar_plot.bar_tops()
    assert list(tops) == layers
    np.testing.assert_allclose([tops[n] for n in layers],
                               [tree["layer_grad_norm"][n][-1] for n in layers])
    # The lesson at the first steps: the first layer hears far less than the last.
    first, last = shown(grad.curve("layer1"))[1], shown(grad.curve("logits"))[1]
    assert last[0] - first[0] > 2

    switch_gradient_view(plots, LAYER_SIGNAL)
    assert "dL/dz" in grad.plot_item.titleLabel.text and grad.names == tuple(layers)
    x, y = shown(grad.curve("layer3"))
    np.testing.assert_array_equal(x, tree["layers"]["step"])
    np.testing.assert_allclose(y, np.log10(tree["layers"]["signal"]["layer3"]))
    assert list(plots.bar_plot.bar_tops()) == layers

    switch_gradient_view(plots, PER_PARAMETER)
    assert grad.names == tuple(names_of(tree)) and len(grad.curves) == 22
    assert list(plots.bar_plot.bar_tops()) == names_of(tree)


def test_a_live_redraw_leaves_the_gradient_plots_title_alone(qtbot, sigmoid_tree, monkeypatch):
    # Setting a plot's title lays the plot out again (about 0.4 ms a redraw): redraws with
    # nothing new to say leave it, a switch of view still retitles.
    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    grad = plots.gradient_plot
    titles = []
    real = grad.plot_item.setTitle
    monkeypatch.setattr(grad.plot_item, "setTitle", lambda *a, **k: titles.append(a[0]) or
                        real(*a, **k))
    for length in (20, 40, 60):  # a run's history growing
        plots.show_history({**sigmoid_tree, **{key: sigmoid_tree[key][:length] for key in
                                               ("step", "loss", "accuracy")}})
    assert titles == [] and "per layer" in grad.plot_item.titleLabel.text
    switch_gradient_view(plots, LAYER_SIGNAL)
    assert titles == ["dL/dz norm per layer"] == [grad.plot_item.titleLabel.text]


def test_a_history_without_layers_greys_the_switch_at_the_view_it_shows(qtbot, moons_run,
                                                                       sigmoid_tree):
    # A graph built from products and sums (single_neuron) has no dense layers: its
    # gradients are drawn per parameter, and the switch says so instead of naming a view it
    # does not draw.
    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    grad, combo = plots.gradient_plot, plots.gradient_plot.mode_combo
    assert combo.currentText() == PER_LAYER and combo.isEnabled()  # (no history yet)
    tree = {key: value for key, value in moons_run[3].items()
            if key not in ("layer_grad_norm", "layers")}  # (as such a graph's history is)
    plots.show_history(tree)
    assert combo.currentText() == PER_PARAMETER and not combo.isEnabled()
    assert "per parameter" in grad.plot_item.titleLabel.text and "dense" in combo.toolTip()
    assert grad.names == tuple(names_of(tree))
    plots.show_history(sigmoid_tree)  # a history with layers: the choice made before is back
    assert combo.currentText() == PER_LAYER and combo.isEnabled()
    assert "per layer" in grad.plot_item.titleLabel.text and "dL/dz" in combo.toolTip()
    switch_gradient_view(plots, LAYER_SIGNAL)
    plots.show_history(tree)
    assert combo.currentText() == PER_PARAMETER and not combo.isEnabled()
    plots.show_history(sigmoid_tree)
    assert combo.currentText() == LAYER_SIGNAL and "dL/dz" in grad.plot_item.titleLabel.text


def test_layer_health_is_drawn_per_layer_in_percent(qtbot, sigmoid_tree):
    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    plots.show_history(sigmoid_tree)
    health = plots.health_plot
    measured = [n for n, v in sigmoid_tree["layers"]["health"].items() if np.isfinite(v).any()]
    assert health.names == tuple(measured) and "layer1" in measured
    for name in measured:
        x, y = shown(health.curve(name))
        np.testing.assert_array_equal(x, sigmoid_tree["layers"]["step"])
        np.testing.assert_allclose(y, 100 * sigmoid_tree["layers"]["health"][name])
    plots.show_history(None)
    assert health.names == () and health.message()


# ---------------------------------------------------------------------------- bad numbers
def test_nan_and_infinite_values_are_gaps_and_nothing_raises(plots, moons_run, qtbot):
    tree = moons_run[3]
    names = names_of(tree)
    bad = {**tree, "loss": tree["loss"].copy(), "accuracy": np.full(120, np.nan),
           "grad_norm": {n: v.copy() for n, v in tree["grad_norm"].items()},
           "update_ratio": {n: np.full(120, np.nan) for n in names},
           "validation": {**tree["validation"], "loss": tree["validation"]["loss"].copy(),
                          "accuracy": np.full(6, np.nan)}}
    bad["loss"][[3, 50]] = [np.nan, np.inf]
    bad["validation"]["loss"][1] = np.nan
    bad["grad_norm"][names[0]][:] = 0.0                     # nothing on a log axis
    bad["grad_norm"][names[1]][[10, -1]] = [np.inf, np.nan]  # and no latest bar
    plots.loss_plot.set_log_scale(True)
    for tab in range(3):
        plots.show_history(bad)
        plots.show_tab(tab)
        qtbot.wait(10)
        plots.grab()  # paints every item
    y = shown(plots.loss_plot.train_curve)[1]
    assert np.isnan(y[[3, 50]]).all() and np.isfinite(np.delete(y, [3, 50])).all()
    assert np.isnan(shown(plots.gradient_plot.curve(names[0]))[1]).all()
    g1 = shown(plots.gradient_plot.curve(names[1]))[1]
    assert np.isnan(g1[[10, -1]]).all() and np.isfinite(g1[:10]).all()
    assert set(plots.bar_plot.bar_tops()) == set(names[2:])
    assert plots.accuracy_plot.message() == "regression: no accuracy"
    plots.set_smoothing(0.9)  # the average skips the gaps instead of turning NaN
    assert np.isfinite(shown(plots.loss_plot.train_curve)[1][51:]).all()
    plots.grab()


@pytest.mark.parametrize("n", [1, 63, 64, 65, 4097, 300_000])
@pytest.mark.parametrize("weight", [0.3, 0.9, 0.999])
def test_ema_is_the_running_average_step_by_step_over_long_series_with_gaps(n, weight):
    # The blocked product and its carries between blocks (over levels of blocks for long
    # series) against the definition, one value at a time, gaps skipped.
    values = np.random.default_rng(n).normal(size=n)
    values[::7] = np.nan
    expected, average, count = np.full(n, np.nan), 0.0, 0
    for k, v in enumerate(values):
        if np.isfinite(v):
            average, count = weight * average + (1 - weight) * v, count + 1
            expected[k] = average / (1 - weight ** count)
    np.testing.assert_allclose(ema(values, weight), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weight", [1e-9, 0.3, 0.6, 0.9, 0.999])
def test_ema_divides_only_the_averages_whose_bias_is_not_below_rounding(weight):
    # A live redraw smooths every curve of a long run: raising the weight to each count (down
    # into subnormal numbers past a few thousand) cost ten times the average itself. Past
    # the counts divided, 1 - weight^k is exactly 1, so the curve is the same to the last bit.
    from bpstudio.gui.plots.series import _debiased_count, _running_average

    count = _debiased_count(weight)
    assert weight ** count < 2.0 ** -60 and 1.0 - weight ** count == 1.0
    assert count <= 42_000  # (a few hundred at the default smoothing)
    values = np.random.default_rng(7).normal(size=100_000)
    averages = _running_average(values, weight)
    every = averages / (1.0 - weight ** np.arange(1, len(values) + 1))
    np.testing.assert_array_equal(ema(values, weight), every)


def test_a_gradients_redraw_bins_each_plots_curves_together(qtbot, sigmoid_tree, monkeypatch):
    # 21 curves over the same steps in two views: each view's curves are one item, given its
    # points, binned and bounded once, not per curve.
    from bpstudio.gui.plots import curve as curve_module

    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    keys = []
    real = curve_module._Binned._display_key
    monkeypatch.setattr(curve_module._Binned, "_display_key",
                        lambda self, *a: keys.append(self) or real(self, *a))
    plots.show_history(sigmoid_tree)  # (the curves made, each set up as it is added)
    curves = plots.gradient_plot.curves + plots.health_plot.curves
    assert len(curves) == 21
    later = {**sigmoid_tree, "layer_grad_norm": {
        name: 2 * np.asarray(values) for name, values in sigmoid_tree["layer_grad_norm"].items()},
        "layers": {**sigmoid_tree["layers"], "health": {
            name: 0.5 * np.asarray(values) + 0.25
            for name, values in sigmoid_tree["layers"]["health"].items()}}}
    before = [curve.getOriginalDataset()[1] for curve in curves]
    keys.clear()
    plots.show_history(later)  # a live redraw: every curve has new points
    assert all(c.getOriginalDataset()[1] is not was for c, was in zip(curves, before))
    assert keys == [plots.gradient_plot.family, plots.health_plot.family]
    assert isinstance(keys[0], curve_module.CurveFamily)


def test_a_layer_clicked_in_the_legend_leaves_the_gradient_plot_and_comes_back(qtbot,
                                                                             sigmoid_tree):
    # The layers' curves are one item: a click on a legend sample hides that layer's curve
    # alone, as it hid a curve item of its own; a second click brings it back.
    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    plots.show_history(sigmoid_tree)
    grad = plots.gradient_plot
    shown(grad.curves[0])  # (painted)
    view = grad.plot_widget
    box = grad.view_box
    area = view.mapFromScene(box.sceneBoundingRect()).boundingRect()

    def pixels_of(colour: QColor) -> int:
        """Pixels of exactly this colour inside the view box, as the plot shows them."""
        image = view.grab(area).toImage().convertToFormat(QImage.Format_RGB32)
        data = np.frombuffer(image.constBits(), np.uint32, image.height() * image.width())
        return int(np.count_nonzero(data & 0xFFFFFF == colour.rgb() & 0xFFFFFF))

    first, last = grad.colours[0], grad.colours[-1]
    assert pixels_of(first) > 50 and pixels_of(last) > 50
    sample = grad.legend.items[0][0]  # (layer1's sample)
    point = view.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=point)
    shown(grad.curves[0])
    assert not grad.curve("layer1").isVisible() and grad.curve("layer2").isVisible()
    assert pixels_of(first) == 0 and pixels_of(last) > 50
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=point)
    shown(grad.curves[0])
    assert grad.curve("layer1").isVisible() and pixels_of(first) > 50


def test_log_emas_smooths_columns_together_as_log_ema_smooths_each():
    rng = np.random.default_rng(3)
    even = [np.abs(rng.normal(size=700)) * 10.0 ** rng.uniform(-8, 2) for _ in range(11)]
    gapped = [column.copy() for column in even]
    gapped[3][5], gapped[4][0] = np.nan, -1.0  # (a gap and a value off the log axis)
    for columns in (even, gapped, even[:1], [even[0], even[1][:300]]):
        for weight in (0.0, 0.6, 0.999):
            together = log_emas(columns, weight)
            assert len(together) == len(columns)
            for smoothed, column in zip(together, columns):
                np.testing.assert_allclose(smoothed, log_ema(column, weight), rtol=1e-12,
                                           equal_nan=True)


def test_the_gradient_plot_smooths_its_curves_in_one_go(qtbot, sigmoid_tree, monkeypatch):
    # A live redraw smooths every layer's curve: one computation over all of them, not one
    # per curve (11 curves: 0.39 -> 0.18 ms).
    from bpstudio.gui.plots import series as series_module

    plots = fresh_plots(qtbot)
    plots.show_tab(GRADIENTS_TAB)
    plots.set_smoothing(0.6)
    each = []
    real = series_module.log_ema
    monkeypatch.setattr(series_module, "log_ema", lambda *a: each.append(a) or real(*a))
    plots.show_history(sigmoid_tree)
    names = plots.gradient_plot.names
    assert len(names) == len(sigmoid_tree["layer_grad_norm"]) > 2 and not each
    for name, curve in zip(names, plots.gradient_plot.curves):
        np.testing.assert_allclose(shown(curve)[1], np.log10(real(
            sigmoid_tree["layer_grad_norm"][name], plots.smoothing)), rtol=1e-12)


def test_series_helpers():
    np.testing.assert_allclose(ema([1.0, 3.0], 0.5), [1.0, (0.25 + 1.5) / 0.75])
    np.testing.assert_allclose(ema([2.0, np.nan, 2.0], 0.9), [2.0, np.nan, 2.0])
    np.testing.assert_array_equal(ema([1.0, np.inf], 0.0), [1.0, np.nan])
    np.testing.assert_allclose(log_ema([1e-6, 1e-2], 0.5), [1e-6, 10 ** ((-1.5 - 1) / 0.75)])
    np.testing.assert_array_equal(positive_or_nan([1.0, 0.0, -1.0, np.inf]),
                                  [1.0, np.nan, np.nan, np.nan])
    with pytest.raises(ValueError):
        ema([1.0], 1.0)
    series = HistorySeries.from_tree({"parameters": "a,b", "step": [1, 2, 3],
                                      "loss": [1.0, 2.0], "grad_norm": {"a": [1, 2, 3, 4]}})
    assert series.parameters == ("a", "b")
    np.testing.assert_array_equal(series.loss, [1.0, 2.0, np.nan])
    np.testing.assert_array_equal(series.grad_norm["a"], [1.0, 2.0, 3.0])
    assert np.isnan(series.grad_norm["b"]).all() and len(series.val_step) == 0
    assert not series.has_accuracy


def test_a_redraw_reads_only_the_columns_of_the_plots_in_view(qtbot, sigmoid_tree,
                                                              monkeypatch):
    from bpstudio.gui.plots import series as series_module

    plots = fresh_plots(qtbot)
    plots.show_tab(LOSS_TAB)
    read = []
    real = series_module._fit
    monkeypatch.setattr(series_module, "_fit", lambda values, n: read.append(values) or
                        real(values, n))
    plots.show_history(sigmoid_tree)  # the loss and accuracy plots drawn
    loss_columns = len(read)
    assert loss_columns <= 4  # training and validation loss and accuracy, not 20 layers' worth
    plots.show_tab(GRADIENTS_TAB)  # the gradient plots drawn from the same history
    layers = len(sigmoid_tree["layer_grad_norm"])
    assert len(read) - loss_columns >= 2 * layers  # norms and health, read when drawn
    np.testing.assert_allclose(shown(plots.gradient_plot.curves[0])[1], np.log10(log_ema(
        sigmoid_tree["layer_grad_norm"][plots.gradient_plot.names[0]], plots.smoothing)),
        equal_nan=True)


# ----------------------------------------------------------------------------- prediction
def test_prediction_heatmap_and_points(plots, moons_run):
    graph, trainer, data, _ = moons_run
    field = prediction_field(graph, prediction_node_for(graph, trainer.loss_node), data,
                             trainer.bindings, resolution=40)
    plots.show_tab(PREDICTION_TAB)
    plots.show_prediction(field)
    pred = plots.prediction_plot
    assert pred.image.isVisible() and pred.colorbar.isVisible()
    assert pred.image.image.shape == (40, 40)
    np.testing.assert_allclose(pred.image.image, field.values)
    assert tuple(pred.image.levels) == (0.0, 1.0)
    # Placed over the data's range: pixel centres on the grid points.
    rect = pred.image.mapRectToParent(pred.image.boundingRect())
    dx, dy = np.diff(field.x)[0], np.diff(field.y)[0]
    assert rect.left() == pytest.approx(field.x[0] - dx / 2)
    assert rect.right() == pytest.approx(field.x[-1] + dx / 2)
    assert rect.top() == pytest.approx(field.y[0] - dy / 2)
    assert rect.bottom() == pytest.approx(field.y[-1] + dy / 2)
    # Points: one scatter per split and class; training filled, validation hollow.
    for split, points, targets in (("train", field.train_points, field.train_targets),
                                   ("validation", field.val_points, field.val_targets)):
        for k, name in enumerate(field.class_names):
            scatter = pred.scatters[(split, f"class {name}")]
            x, y = scatter.getData()
            mine = targets == k
            np.testing.assert_allclose(np.column_stack([x, y]), points[mine])
            brush = scatter.opts["brush"]
            if split == "train":
                assert brush.style() != Qt.NoBrush
                assert brush.color().name() == style.class_colour(k).name()
            else:
                assert brush.style() == Qt.NoBrush
                assert scatter.opts["pen"].color().name() == style.class_colour(k).name()
    total = sum(len(s.getData()[0]) for s in pred.scatters.values())
    assert total == len(data.train) + len(data.validation)
    assert pred.plot_item.getAxis("bottom").labelText == "x1"
    assert "probability of class 1" in pred.caption.text()
    # The boundary line follows p = 0.5: its points, in the image's pixel units (pixel k spans
    # k to k + 1, its grid point at the centre), are where the field crosses 0.5.
    plots.grab()
    path = pred.boundary.path
    points = np.array([[path.elementAt(k).x, path.elementAt(k).y]
                       for k in range(path.elementCount())]) - 0.5
    inside = (points > 0).all(axis=1) & (points < 39).all(axis=1)
    assert inside.sum() > 20
    col, row = points[inside].T
    c0, r0 = np.floor(col).astype(int), np.floor(row).astype(int)
    fc, fr = col - c0, row - r0
    v = field.values
    crossing = ((1 - fr) * ((1 - fc) * v[r0, c0] + fc * v[r0, c0 + 1])
                + fr * ((1 - fc) * v[r0 + 1, c0] + fc * v[r0 + 1, c0 + 1]))
    np.testing.assert_allclose(crossing, 0.5, atol=0.02)


def test_three_classes_draw_the_predicted_class(plots):
    g = Graph(seed=0)
    x = g.input("x", (2,))
    g.softmax_ce(g.dense(x, 2, 3, "out"), g.input("y"), name="loss")
    data = datasets.prepare("blobs", options={"classes": 3, "n": 90}, seed=0)
    field = prediction_field(g, "out", data, {"x": "features", "y": "target"}, resolution=25)
    plots.show_prediction(field)
    plots.show_tab(PREDICTION_TAB)
    pred = plots.prediction_plot
    assert pred.class_image_item.isVisible() and not pred.image.isVisible()
    assert not pred.colorbar.isVisible()
    assert pred.class_image_item.image.shape == (25, 25, 3)
    assert len(pred.scatters) == 6
    assert "predicted class" in pred.caption.text()
    # Each cell leans from the background towards its predicted class's colour, further where
    # the model is surer.
    image = pred.class_image_item.image.astype(float)
    ground = np.array(style.BACKGROUND.getRgb()[:3], float)
    towards = np.array([np.array(style.class_colour(k).getRgb()[:3], float) - ground
                        for k in range(3)])
    towards /= np.linalg.norm(towards, axis=1, keepdims=True)
    lean = (image - ground) @ towards.T                     # (25, 25, 3)
    sure = field.confidence > 0.6
    assert sure.sum() > 50
    np.testing.assert_array_equal(lean.argmax(axis=2)[sure], field.values[sure])
    strength = np.linalg.norm(image - ground, axis=2)
    assert np.corrcoef(strength.ravel(), field.confidence.ravel())[0, 1] > 0.5
    plots.grab()


def test_regression_prediction_is_a_curve_over_the_points(plots, sine_run):
    graph, trainer, data, _ = sine_run
    field = prediction_field(graph, prediction_node_for(graph, trainer.loss_node), data,
                             trainer.bindings, resolution=30)
    plots.show_prediction(field)
    plots.show_tab(PREDICTION_TAB)
    pred = plots.prediction_plot
    assert not pred.image.isVisible() and not pred.colorbar.isVisible()
    x, y = shown(pred.model_curve)
    np.testing.assert_allclose(x, field.x)
    np.testing.assert_allclose(y, field.values)
    train = pred.scatters[("train", "")]
    val = pred.scatters[("validation", "")]
    np.testing.assert_allclose(np.column_stack(train.getData()),
                               np.column_stack([field.train_points[:, 0], field.train_targets]))
    np.testing.assert_allclose(val.getData()[1], field.val_targets)
    assert train.opts["brush"].style() != Qt.NoBrush and val.opts["brush"].style() == Qt.NoBrush
    assert train.opts["brush"].color().name() != val.opts["pen"].color().name()
    assert pred.plot_item.getAxis("left").labelText == "y"


# ------------------------------------------------------------------------------ clearing
def test_none_clears_every_plot(plots, moons_run):
    graph, trainer, data, tree = moons_run
    plots.show_history(tree)
    plots.show_prediction(prediction_field(graph, "logits", data, trainer.bindings))
    plots.show_history(None)
    plots.show_prediction(None)
    for curve in (plots.loss_plot.train_curve, plots.loss_plot.validation_curve,
                  plots.accuracy_plot.train_curve, *plots.gradient_plot.curves,
                  *plots.ratio_plot.curves, plots.prediction_plot.model_curve):
        assert shown(curve)[0].size == 0
    assert plots.bar_plot.bar_tops() == {}
    assert plots.prediction_plot.image.image is None
    assert all(len(s.getData()[0]) == 0 for s in plots.prediction_plot.scatters.values())
    assert plots.loss_plot.message() == "no training history yet"
    assert plots.prediction_plot.message() == "no prediction to draw"
    plots.grab()


def test_a_smoothing_change_redraws_a_hidden_plot_only_when_it_is_shown(plots, moons_run):
    tree = moons_run[3]
    plots.show_history(tree)
    plots.show_tab(GRADIENTS_TAB)
    first = names_of(tree)[0]
    drawn = []
    original = plots.gradient_plot._draw
    plots.gradient_plot._draw = lambda series: (drawn.append(1), original(series))
    plots.show_tab(LOSS_TAB)
    plots.loss_plot.smoothing_slider.setValue(30)
    assert drawn == []  # the gradient tab is hidden: nothing drawn there yet
    plots.show_tab(GRADIENTS_TAB)
    assert drawn == [1]
    np.testing.assert_allclose(shown(plots.gradient_plot.curve(first))[1],
                               np.log10(log_ema(tree["grad_norm"][first], 0.3)))


def test_only_the_tab_on_show_is_redrawn_and_the_others_catch_up(plots, moons_run):
    before, bars = plots.redraw_count, plots.bar_plot.redraw_count
    plots.show_history(moons_run[3])
    plots.show_history(moons_run[3])
    plots.show_prediction(None)
    assert plots.redraw_count == before + 2  # the loss tab, twice; the others wait
    assert plots.loss_plot.redraw_count >= 2 and plots.bar_plot.redraw_count == bars
    plots.show_tab(GRADIENTS_TAB)
    assert plots.bar_plot.redraw_count == bars + 1 and plots.redraw_count == before + 3
    names = names_of(moons_run[3])
    assert list(plots.bar_plot.bar_tops()) == names  # drawn from the newest history
    plots.show_tab(GRADIENTS_TAB)
    assert plots.redraw_count == before + 3  # nothing new: nothing drawn


# ------------------------------------------------------------------------------- exporting
def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_context_menu_offers_export(plots):
    for plot in plots.plots:
        assert plot.plot_item.menuEnabled()
        menu = plot.plot_widget.scene().contextMenu
        assert any(action.text() == "Export..." for action in menu)


def test_exporters_write_the_plotted_data(plots, moons_run, tmp_path):
    graph, trainer, data, tree = moons_run
    plots.show_history(tree)
    plots.show_prediction(prediction_field(graph, "logits", data, trainer.bindings))
    names = names_of(tree)

    pg.exporters.CSVExporter(plots.loss_plot.plot_item).export(str(tmp_path / "loss.csv"))
    header, rows = read_csv(tmp_path / "loss.csv")
    assert header[header.index("training_x"):][:2] == ["training_x", "training_y"]
    column = header.index("training_y")
    np.testing.assert_allclose([float(r[column]) for r in rows], tree["loss"])
    assert "validation_y" in header

    plots.show_tab(GRADIENTS_TAB)
    pg.exporters.CSVExporter(plots.gradient_plot.plot_item).export(str(tmp_path / "g.csv"))
    header, rows = read_csv(tmp_path / "g.csv")
    assert header == [f"{n}_{axis}" for n in names for axis in "xy"]
    column = header.index(f"{names[0]}_y")
    np.testing.assert_allclose([float(r[column]) for r in rows], tree["grad_norm"][names[0]])

    pg.exporters.CSVExporter(plots.bar_plot.plot_item).export(str(tmp_path / "bars.csv"))
    header, rows = read_csv(tmp_path / "bars.csv")
    assert header == [f"{n}_{axis}" for n in names for axis in "xy"] and len(rows) == 1
    np.testing.assert_allclose([float(v) for v in rows[0][1::2]],
                               [tree["grad_norm"][n][-1] for n in names])

    plots.show_tab(PREDICTION_TAB)
    pg.exporters.CSVExporter(plots.prediction_plot.plot_item).export(str(tmp_path / "p.csv"))
    header, rows = read_csv(tmp_path / "p.csv")
    assert "training class 0_x" in header and "validation class 1_y" in header

    for k, plot in enumerate(plots.plots):
        path = tmp_path / f"plot{k}.png"
        exporter = pg.exporters.ImageExporter(plot.plot_item)
        exporter.parameters()["width"] = 400
        exporter.export(str(path))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


def test_a_plot_works_on_its_own(qtbot, moons_run):
    loss = LossPlot()
    qtbot.addWidget(loss)
    loss.set_smoothing(0.0)
    loss.show_history(moons_run[3])
    np.testing.assert_allclose(shown(loss.train_curve)[1], moons_run[3]["loss"])
    loss.set_smoothing(0.3)
    assert loss.smoothing_slider.value() == 30


# ------------------------------------------------------------------- live redraws: no waste
def growing_trees(steps: int, every: int):
    """The whole history at every ``every`` steps of a deep_sigmoid run, as a live run's
    progress carries it."""
    project = EXAMPLES["deep_sigmoid"]()
    trainer = Trainer(project.graph, datasets.prepare("moons", seed=0), lr=0.01, seed=0,
                      validate_every=20)
    for k, _stats in enumerate(trainer.run(steps=steps), start=1):
        if k % every == 0:
            yield trainer.history.to_tree()


def test_a_growing_history_moves_the_axes_a_few_times(qtbot):
    """Every axis change redraws its ticks, labels and the grid: a live run's growing curves
    move them now and then, not at each of 60 redraws (pyqtgraph's auto-range moved both axes
    of every plot at every redraw)."""
    plot = on_screen(qtbot, LossPlot(), 480, 300)
    moves = []
    plot.view_box.sigRangeChanged.connect(lambda *_: moves.append(plot.view_box.viewRange()))
    trees = list(growing_trees(1200, 20))
    for tree in trees:
        plot.show_history(tree)
        QApplication.processEvents()
    assert len(trees) == 60 and len(moves) <= 15
    (x_low, x_high), (y_low, y_high) = plot.view_box.viewRange()
    steps, losses = trees[-1]["step"], trees[-1]["loss"]
    assert x_low <= steps[0] and steps[-1] <= x_high  # every point still in view
    assert y_low <= losses.min() and losses.max() <= y_high
    assert steps[-1] - steps[0] >= 0.5 * (x_high - x_low)  # and filling most of it


def test_a_new_field_over_the_same_grid_redraws_only_the_picture(qtbot, moons_run,
                                                                 monkeypatch):
    """A live run's next prediction field has the grid and points of the last: the scatters,
    axes, caption and frame stay; the heatmap takes the new values."""
    from bpstudio.gui.plots.prediction import PredictionPlot

    graph, trainer, data, _tree = moons_run
    field = prediction_field(graph, prediction_node_for(graph, trainer.loss_node), data,
                             trainer.bindings, resolution=30)
    plot = PredictionPlot()
    qtbot.addWidget(plot)
    plot.show_prediction(field)
    calls = []
    for scatter in plot.scatters.values():
        monkeypatch.setattr(scatter, "setData", lambda *a, **k: calls.append("points"))
    monkeypatch.setattr(plot.caption, "setText", lambda *a: calls.append("caption"))
    later = field.with_values(field.values_only())
    later.values = 1.0 - field.values
    plot.show_prediction(later)
    assert calls == []
    assert np.array_equal(plot.image.image, 1.0 - field.values)


def test_a_progress_redraw_paints_nothing_before_the_window_does(qtbot, window):
    """The progress bar's setValue repainted at once, and the plots given new data with it,
    inside the redraw (twice the painting, and none of it when the window paints next)."""
    from bpstudio.core.training.background import Progress
    from PySide6.QtCore import QEvent, QObject

    panel = window.training_panel
    window.training_dock.raise_()
    panel.plots.show_tab(LOSS_TAB)
    QApplication.processEvents()
    painted = []

    class Paints(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint:
                painted.append(obj)
            return False

    trees = list(growing_trees(200, 50))
    watcher = Paints()
    QApplication.instance().installEventFilter(watcher)
    try:
        for k, tree in enumerate(trees, start=1):
            panel._show_progress(Progress(step=50 * k, steps_done=50 * k, steps_planned=200,
                                          loss=float(tree["loss"][-1]), accuracy=None,
                                          val_loss=None, val_accuracy=None,
                                          steps_per_second=1000.0, history=tree))
            assert painted == []  # all painting waits for the window's next paint
            qtbot.waitUntil(lambda: len(painted) > 0)  # which comes
            painted.clear()
    finally:
        QApplication.instance().removeEventFilter(watcher)


def test_a_plot_below_the_fold_is_drawn_when_scrolled_into_view(plots, sigmoid_tree):
    """The Gradients tab's column is taller than the dock: the plots it does not show are not
    drawn at each redraw of a run, but when a person scrolls to them, with the newest data."""
    plots.show_tab(GRADIENTS_TAB)
    ratio = plots.ratio_plot
    assert not plots.in_view(ratio) and plots.in_view(plots.gradient_plot)
    before = ratio.redraw_count, plots.gradient_plot.redraw_count
    plots.show_history(sigmoid_tree)
    plots.show_history(sigmoid_tree)
    assert ratio.redraw_count == before[0] and plots.gradient_plot.redraw_count == before[1] + 2
    scroll_to(plots, ratio)
    assert plots.in_view(ratio) and ratio.redraw_count == before[0] + 1
    assert ratio.names == tuple(names_of(sigmoid_tree))
    plots.show_history(sigmoid_tree)  # in view now: drawn at each redraw
    assert ratio.redraw_count == before[0] + 2


def test_an_axis_keeps_its_drawing_when_told_the_range_it_shows(qtbot):
    bars = GradientBarPlot()
    qtbot.addWidget(bars)
    bars.show()
    bars.show_values(["a", "b"], [1e-3, 0.5], step=1)
    axis = bars.plot_item.getAxis("left")
    assert isinstance(axis, style.SteadyAxis)
    qtbot.waitUntil(lambda: axis.picture is not None)  # painted once
    drawn = axis.picture
    axis.linkedViewChanged(bars.view_box)  # what a view box does when either axis moves
    assert axis.picture is drawn
    bars.plot_item.setYRange(-5, 1, padding=0)
    assert axis.picture is None  # a new range is drawn again


def test_an_axis_lays_its_label_out_again_only_when_its_text_changes(qtbot, monkeypatch):
    plots = fresh_plots(qtbot)
    plots.show_tab(LOSS_TAB)
    plots.loss_plot.plot_item.setLabel("bottom", "step")
    axis = plots.loss_plot.plot_item.getAxis("bottom")
    assert isinstance(axis, style.SteadyAxis)
    texts = []  # (label, text) of every axis label laid out in the window
    real = type(axis.label).setHtml
    monkeypatch.setattr(type(axis.label), "setHtml",
                        lambda label, text: (texts.append((label, text)), real(label, text)))
    for high in (10, 20, 40, 80):  # a run's step axis growing
        plots.loss_plot.plot_item.setXRange(0, high, padding=0)
    assert texts == []  # neither this axis nor the hidden top one
    laid_out = [text for label, text in texts if label is axis.label]
    assert axis.picture is None  # the ticks of the new range are drawn
    plots.loss_plot.plot_item.setXRange(0, 2e9, padding=0)  # a range pyqtgraph gives a prefix
    laid_out = [text for label, text in texts if label is axis.label]
    assert len(laid_out) == 1 and "x1e+09" in laid_out[0]
    assert "x1e+09" in axis.label.toHtml()
    plots.loss_plot.plot_item.setLabel("bottom", "iteration")
    laid_out = [text for label, text in texts if label is axis.label]
    assert len(laid_out) == 2 and "iteration" in axis.label.toHtml()


def test_the_step_axis_reaches_the_runs_last_step_from_its_start(qtbot):
    plots = fresh_plots(qtbot)
    plots.show_tab(LOSS_TAB)
    data = datasets.prepare("moons", options={"noise": 0.15}, seed=0)
    trainer = Trainer(EXAMPLES["two_moons"]().graph, data, lr=0.01, seed=0)
    plots.set_step_horizon(200)  # as the training panel does when a run of 200 steps starts
    box = plots.loss_plot.view_box
    moved = []
    box.sigXRangeChanged.connect(lambda *_: moved.append(box.viewRange()[0]))
    for _ in range(10):  # a run's progress, 20 steps at a time
        trainer.fit(steps=20)
        plots.show_history(trainer.history.to_tree())
        QApplication.processEvents()  # (pyqtgraph frames the data when it paints)
    low, high = box.viewRange()[0]
    assert len(moved) <= 2  # framed once, not every time the curve grew
    assert low < 1 and 200 < high < 200 * 1.15
    assert plots.accuracy_plot.view_box.viewRange()[0] == pytest.approx([low, high])
    plots.set_step_horizon(None)  # no run under way: past the end, the axis grows as usual
    trainer.fit(steps=100)
    plots.show_history(trainer.history.to_tree())
    QApplication.processEvents()
    assert box.viewRange()[0][1] >= 300


def test_plots_out_of_view_get_their_curves_one_per_idle_turn_before_they_are_shown(
        qtbot, sigmoid_tree, monkeypatch):
    plots = fresh_plots(qtbot)
    plots.show_tab(LOSS_TAB)
    column = plots._tab_plots[GRADIENTS_TAB]
    counts = [p.redraw_count for p in column]
    made = []
    real = pg.PlotDataItem.__init__
    monkeypatch.setattr(pg.PlotDataItem, "__init__",
                        lambda self, *a, **k: made.append(self) or real(self, *a, **k))
    plots.show_history(sigmoid_tree)  # new layers: the Gradients tab's plots need curves
    assert made == []  # not in this redraw
    turns = []
    while plots._unprepared or plots._catch_up.isActive():
        before = len(made)
        QApplication.processEvents()
        turns.append(len(made) - before)
        assert len(turns) <= 20
    assert len([t for t in turns if t]) >= 3  # one plot a turn
    assert len(plots.gradient_plot.curves) == 11 and len(plots.health_plot.curves) == 10
    assert len(plots.bar_plot.points) == 11
    assert [p.redraw_count for p in column] == counts  # made, not drawn
    made.clear()
    bar = plots.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton,
                     pos=bar.tabRect(plots.tabs.indexOf(plots.pages[GRADIENTS_TAB])).center())
    while not plots.up_to_date:
        QApplication.processEvents()
    assert made == []  # shown with the curves made before
    assert plots.gradient_plot.redraw_count == counts[0] + 1


def test_a_plot_out_of_view_is_made_ready_a_few_curves_a_turn_and_its_legend_after(
        qtbot, sigmoid_tree, monkeypatch):
    # A deep net's 22 update-ratio curves, or the gradient plot's curves and legend, in one
    # turn were the longest stalls at a run's start (15-45 ms): each turn makes a few items,
    # and a plot shown before it is all made is made whole when it draws.
    plots = fresh_plots(qtbot)
    plots.show_tab(LOSS_TAB)
    made = {"curves": 0, "labels": 0}
    turns = []
    real_curve, real_label = pg.PlotDataItem.__init__, pg.LabelItem.__init__

    def count(kind, real):
        return lambda self, *a, **k: made.__setitem__(kind, made[kind] + 1) or real(self, *a, **k)
    monkeypatch.setattr(pg.PlotDataItem, "__init__", count("curves", real_curve))
    monkeypatch.setattr(pg.LabelItem, "__init__", count("labels", real_label))
    plots.show_history(sigmoid_tree)
    while plots._unprepared or plots._catch_up.isActive():
        before = dict(made)
        QApplication.processEvents()
        turns.append({k: made[k] - before[k] for k in made})
        assert len(turns) <= 30
    assert max(t["curves"] for t in turns) <= 11  # (the bars' 11 values; 22 curves before)
    assert all(t["labels"] == 0 for t in turns if t["curves"] >= 8)
    assert any(t["labels"] >= 8 and t["curves"] <= 1 for t in turns)  # a legend alone
    ratio, grad = plots.ratio_plot, plots.gradient_plot
    assert len(ratio.curves) == 22 and ratio.family.unmade == 0
    assert len(grad.curves) == 11 and grad.legend_labels()[:2] == ["layer1", "layer2"]
    assert len(plots.health_plot.legend_labels()) >= 8
    # Shown between the pieces: made whole, legend and all, when it draws.
    grad.show_history(None)
    assert grad.prepare(as_series(sigmoid_tree)) is True
    assert grad.family.unmade == 11 - grad.MEMBERS_A_TURN and grad.legend_labels() == []
    grad.show_history(sigmoid_tree)
    assert grad.family.unmade == 0 and len(grad.curves) == 11
    assert grad.legend_labels()[:2] == ["layer1", "layer2"]
    assert grad.prepare(as_series(sigmoid_tree)) is False


def test_a_progress_that_comes_while_a_tab_catches_up_is_drawn_one_plot_per_turn(
        qtbot, sigmoid_tree):
    plots = fresh_plots(qtbot)
    plots.resize(520, 1400)  # every plot of the Gradients tab in view
    plots.show_tab(GRADIENTS_TAB)
    plots.show_history(sigmoid_tree)
    plots.show_tab(LOSS_TAB)
    plots.show_history(sigmoid_tree)
    column = plots._tab_plots[GRADIENTS_TAB]
    before = [p.redraw_count for p in column]
    bar = plots.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton,
                     pos=bar.tabRect(plots.tabs.indexOf(plots.pages[GRADIENTS_TAB])).center())
    plots.show_history(sigmoid_tree)  # the next progress, before the tab caught up
    assert [p.redraw_count for p in column] == before  # left to the catch-up
    turns = 0
    while not plots.up_to_date:
        drawn = sum(p.redraw_count for p in column)
        QApplication.processEvents()
        assert sum(p.redraw_count for p in column) - drawn <= 1
        turns += 1
        assert turns <= 20
    assert [p.redraw_count for p in column] == [b + 1 for b in before]
    plots.show_history(sigmoid_tree)  # caught up: the next progress is drawn at once
    assert [p.redraw_count for p in column] == [b + 2 for b in before]


def test_a_tab_opened_shows_at_once_and_its_plots_catch_up_one_per_turn(qtbot, sigmoid_tree):
    plots = fresh_plots(qtbot)
    plots.resize(520, 1400)  # every plot of the Gradients tab in view
    plots.show_tab(GRADIENTS_TAB)  # (laid out once)
    plots.show_tab(LOSS_TAB)
    plots.show_history(sigmoid_tree)  # the Gradients tab's plots are now out of date
    column = plots._tab_plots[GRADIENTS_TAB]
    counts = lambda: [p.redraw_count for p in column]  # noqa: E731
    before = counts()
    bar = plots.tabs.tabBar()
    index = plots.tabs.indexOf(plots.pages[GRADIENTS_TAB])
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(index).center())  # as a person does
    assert plots.current_tab == GRADIENTS_TAB
    assert counts() == before  # the click itself draws nothing
    assert not plots.up_to_date
    turns = 0
    while not plots.up_to_date:
        QApplication.processEvents()
        turns += 1
        assert turns <= 20
    assert turns >= 2  # not all at once
    assert counts() == [b + 1 for b in before]  # each drawn once, with the newest data
    assert list(plots.bar_plot.bar_tops()) == list(sigmoid_tree["layer_grad_norm"])


@pytest.mark.parametrize("new", ["Gradient norm at step 5678", "Gradient norm at step 56789",
                                 "Latest gradient norm"])
def test_a_retitled_plot_looks_as_one_titled_so_from_the_start(qtbot, new):
    # A live plot retitles at every redraw; one whose new title is the size of the old only
    # has its characters replaced, without laying the plot out again: the picture is the same.
    from bpstudio.gui.plots.panel import PlotPanel

    panels = []
    for first in ("Gradient norm at step 1234", new):
        panel = PlotPanel(first)
        qtbot.addWidget(panel)
        panel.resize(460, 300)
        panel.show()
        qtbot.waitExposed(panel)
        panels.append(panel)
    retitled, fresh = panels
    QApplication.processEvents()
    laid_out = []
    label = retitled.plot_item.titleLabel
    real = label.updateGeometry
    label.updateGeometry = lambda: laid_out.append(1) or real()
    style.set_title(retitled.plot_item, new)
    label.updateGeometry = real
    QApplication.processEvents()
    assert label.text == new == fresh.plot_item.titleLabel.text
    assert (laid_out == []) == (len(new) == len("Gradient norm at step 1234"))
    title_area = label.mapRectToScene(label.boundingRect()).toAlignedRect()
    images = [p.plot_widget.grab(p.plot_widget.mapFromScene(title_area).boundingRect()).toImage()
              for p in panels]
    assert images[0] == images[1]


def test_a_tab_switched_back_to_paints_each_plot_once_and_as_it_was(qtbot, sigmoid_tree):
    # A hidden graphics view deactivates its scene and a shown one activates it again, and
    # every graphics widget repaints itself on each: a plot was painted two or three times.
    from PySide6.QtCore import QEvent, QObject

    plots = fresh_plots(qtbot)
    plots.resize(520, 1400)  # every plot of the Gradients tab in view
    plots.activateWindow()
    qtbot.waitActive(plots)
    plots.show_history(sigmoid_tree)
    bar = plots.tabs.tabBar()

    def click(tab: str) -> None:
        index = plots.tabs.indexOf(plots.pages[tab])
        qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(index).center())  # as a person does
        while not plots.up_to_date:
            QApplication.processEvents()
        for _ in range(3):
            QApplication.processEvents()

    click(GRADIENTS_TAB)
    column = [p for p in plots._tab_plots[GRADIENTS_TAB] if p.isVisible()]
    pictures = [p.plot_widget.grab().toImage() for p in column]
    painted = {p: 0 for p in column}

    class Count(QObject):
        def eventFilter(self, viewport, event):
            if event.type() == QEvent.Paint:
                painted[viewport.parent().parent()] += 1
            return False

    counter = Count()
    for p in column:
        p.plot_widget.viewport().installEventFilter(counter)
    for _ in range(2):
        click(LOSS_TAB)
        click(GRADIENTS_TAB)
    assert list(painted.values()) == [2] * len(column)  # once a switch back
    assert [p.plot_widget.grab().toImage() for p in column] == pictures
