"""The history curve draws what pyqtgraph's data item drew, and does the work once per change."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication

from bpstudio.gui.plots.curve import (BINS_PER_PIXEL, RANGE_LIMIT, CurveFamily, HistoryCurve,
                                      draw_dots)
from bpstudio.gui.plots.panel import PlotPanel


def settle() -> None:
    for _ in range(3):  # a view takes its range when it paints, and its items follow
        QApplication.processEvents()


def history(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1..n and values spanning decades, with gaps, zeros, negative values and an
    infinity."""
    rng = np.random.default_rng(seed)
    values = np.exp(-np.arange(n) / max(n / 4, 1)) * 10.0 ** rng.normal(0, 1, n)
    values[rng.random(n) < 0.02] = np.nan
    values[rng.random(n) < 0.01] = 0.0
    values[rng.random(n) < 0.01] = -1.0
    values[n // 2] = np.inf  # (a diverged step)
    return np.arange(1, n + 1, dtype=float), values


def shown_panel(qtbot, title: str, log: bool) -> PlotPanel:
    """A training plot on screen at a dock's size, its value axis logarithmic or not."""
    panel = PlotPanel(title)
    qtbot.addWidget(panel)
    panel.resize(560, 330)
    panel.show()
    qtbot.waitExposed(panel)
    panel.plot_item.setLogMode(y=log)
    return panel


def plot_pair(qtbot, log: bool):
    """A training plot showing the same points as a history curve and as pyqtgraph's data
    item, set up as the training plots set up their curves before this item."""
    panel = shown_panel(qtbot, "pair", log)
    theirs = pg.PlotDataItem(pen=pg.mkPen("r", width=1), name="theirs")
    theirs.opts["autoDownsampleFactor"] = BINS_PER_PIXEL
    ours = HistoryCurve(pen=pg.mkPen("r", width=1), name="ours")
    for curve in (theirs, ours):
        panel.plot_item.addItem(curve)
    return panel, theirs, ours


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("n", [3, 300, 5_000, 40_000])
@pytest.mark.parametrize("zoomed", [False, True])
def test_a_history_curve_draws_the_points_pyqtgraphs_data_item_draws(qtbot, log, n, zoomed):
    panel, theirs, ours = plot_pair(qtbot, log)
    x, y = history(n)
    theirs.setData(x, y)
    ours.setData(x, y)
    settle()
    if zoomed:  # a person's zoom: the view no longer follows the data, the curves clip to it
        panel.plot_item.setXRange(0.3 * n, 0.6 * n, padding=0)
        settle()
    drawn_x, drawn_y = ours.getData()
    expected_x, expected_y = theirs.getData()
    if n > 1_000:
        assert len(drawn_x) < n  # (downsampled: the comparison is of the bins)
    np.testing.assert_array_equal(drawn_x, expected_x)
    np.testing.assert_array_equal(drawn_y, expected_y)  # (NaN where they have NaN)
    for axis in (0, 1):
        assert ours.dataBounds(axis) == pytest.approx(theirs.dataBounds(axis), nan_ok=True)
    mine, pyqtgraphs = ours.boundingRect(), theirs.curve.boundingRect()
    assert [mine.left(), mine.top(), mine.width(), mine.height()] == pytest.approx(
        [pyqtgraphs.left(), pyqtgraphs.top(), pyqtgraphs.width(), pyqtgraphs.height()],
        rel=1e-9, nan_ok=True)
    given_x, given_y = ours.getOriginalDataset()
    np.testing.assert_array_equal(given_x, x)  # kept as given, for the CSV export
    np.testing.assert_array_equal(given_y, y)


def test_a_curve_is_mapped_and_downsampled_once_per_change_of_what_it_draws(qtbot,
                                                                           monkeypatch):
    panel, _theirs, ours = plot_pair(qtbot, log=True)
    panel.plot_item.removeItem(_theirs)
    drawn = []
    real = pg.PlotCurveItem.updateData
    monkeypatch.setattr(pg.PlotCurveItem, "updateData",
                        lambda self, *a, **k: drawn.append(self) or real(self, *a, **k))
    x, y = history(5_000)
    ours.setData(x, y)
    settle()  # (the view frames the steps, and the curve bins them for that frame)
    drawn.clear()
    ours.setData(x, 2 * y)  # a redraw's new points: binned once, the y axis moving
    settle()
    assert drawn.count(ours) == 1
    drawn.clear()
    panel.plot_item.setYRange(-3, 1)  # the steps in view unchanged: the same points drawn
    settle()
    panel.view_box.translateBy(y=0.5)
    settle()
    assert drawn.count(ours) == 0
    shown = len(ours.getData()[0])
    panel.plot_item.setXRange(1, 500, padding=0)  # zoomed in: fewer steps, drawn finer
    settle()
    assert drawn.count(ours) == 1
    assert len(ours.getData()[0]) < shown and ours.getData()[0].max() <= 501  # (one past the edge)


def test_the_plots_menu_settings_reach_a_history_curve(qtbot):
    panel, theirs, ours = plot_pair(qtbot, log=False)
    ctrl = panel.plot_item.ctrl
    x, y = history(5_000)
    ours.setData(x, y)
    theirs.setData(x, y)
    settle()
    ctrl.logYCheck.setChecked(True)  # "Transforms" > "Log Y"
    settle()
    np.testing.assert_array_equal(ours.getData()[1], theirs.getData()[1])
    assert np.nanmax(ours.getData()[1]) < 4  # log10 units
    ctrl.autoDownsampleCheck.setChecked(False)  # "Downsample": by hand, 4 points as one
    ctrl.downsampleCheck.setChecked(True)
    ctrl.downsampleSpin.setValue(4)
    for method in (ctrl.subsampleRadio, ctrl.meanRadio, ctrl.peakRadio):
        method.setChecked(True)
        settle()
        np.testing.assert_array_equal(ours.getData()[1], theirs.getData()[1])
    assert len(ours.getData()[0]) == 2 * (5_000 // 4)  # (peak: a bin's highest and lowest)
    ctrl.alphaGroup.setChecked(True)  # "Alpha"
    ctrl.autoAlphaCheck.setChecked(False)
    ctrl.alphaSlider.setValue(500)
    assert ours.opacity() == pytest.approx(theirs.opacity()) and ours.opacity() < 1
    ctrl.maxTracesCheck.setChecked(True)  # "Points": the newest curve only
    ctrl.maxTracesSpin.setValue(1)
    assert not theirs.isVisible() and ours.isVisible()
    # the signal transforms, which a history's curves do not take, are not offered
    assert all(check.isHidden() for check in (ctrl.fftCheck, ctrl.derivativeCheck,
                                              ctrl.phasemapCheck, ctrl.subtractMeanCheck))
    assert not ctrl.logXCheck.isHidden() and not ctrl.logYCheck.isHidden()



def test_points_far_off_the_view_are_drawn_at_its_limits_until_the_view_reaches_them(qtbot):
    # (Qt's painter misdraws coordinates of a diverging run's 1e12 in a view of 0 to 1)
    panel, theirs, ours = plot_pair(qtbot, log=False)
    panel.plot_item.removeItem(theirs)
    panel.plot_item.setYRange(0, 1, padding=0)  # a person's zoom: the view stays there
    x = np.arange(1.0, 101.0)
    y = np.full(100, 0.5)
    y[50] = 1e12
    ours.setData(x, y)
    settle()
    assert np.nanmax(ours.getData()[1]) == pytest.approx(1 + RANGE_LIMIT)
    panel.plot_item.setYRange(0, 1e13, padding=0)  # zoomed out: drawn where it is
    settle()
    assert np.nanmax(ours.getData()[1]) == 1e12
    np.testing.assert_array_equal(ours.getOriginalDataset()[1], y)


def test_dots_are_drawn_on_the_points_in_their_colour(qtbot):
    panel, theirs, _ours = plot_pair(qtbot, log=False)
    panel.plot_item.removeItem(theirs)
    panel.plot_item.removeItem(_ours)
    dots = HistoryCurve(pen=pg.mkPen("#2040ff", width=1), name="validation", dot_size=9,
                        dot_brush="#ff8000")
    panel.plot_item.addItem(dots)
    # (points and a stretch of line off the grid's lines, which are drawn over the data)
    dots.setData(np.array([1.25, 2.3, 3.0]), np.array([1.2, 2.7, np.nan]))
    panel.plot_item.setRange(xRange=(0, 4), yRange=(0, 4), padding=0)
    settle()
    image = panel.plot_widget.grab().toImage()
    view = panel.plot_widget

    def colour_at(x: float, y: float, dx: int = 0, dy: int = 0) -> str:
        """The colour drawn there, to within the blending at the edge of an antialiased disc."""
        point = view.mapFromScene(panel.view_box.mapViewToScene(pg.Point(x, y)))
        colour = image.pixelColor(point.x() + dx, point.y() + dy)
        for name in ("#ff8000", "#2040ff"):
            wanted = pg.mkColor(name)
            if max(abs(colour.red() - wanted.red()), abs(colour.green() - wanted.green()),
                   abs(colour.blue() - wanted.blue())) <= 8:
                return name
        return colour.name()

    for x, y in ((1.25, 1.2), (2.3, 2.7)):
        assert colour_at(x, y) == "#ff8000"  # the dot's centre
        assert colour_at(x, y, dx=3) == "#ff8000" and colour_at(x, y, dy=-3) == "#ff8000"
    # the line between them, in its pen (aliased: within a pixel of its exact place)
    assert "#2040ff" in {colour_at(1.6, 1.7, dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    assert dots.opts["symbol"] == "o" and dots.opts["size"] == 9  # what the legend draws


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_dots_are_discs_of_their_width_centred_on_the_points_at_any_pixel_ratio(qtbot, ratio):
    from PySide6.QtGui import QColor, QImage, QPainter, QTransform

    image = QImage(int(60 * ratio), int(40 * ratio), QImage.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("#000000"))
    painter = QPainter(image)
    painter.setTransform(QTransform(2, 0, 0, -2, 5, 35))  # as a view maps its data: y up
    points = np.array([[5.0, 5.0], [20.0, 10.0], [2e40, 1.0]])  # (the last far off: skipped)
    draw_dots(painter, points, 9, QColor("#ff8000"))
    painter.end()

    def colour(x: float, y: float) -> str:
        return image.pixelColor(int(x * ratio), int(y * ratio)).name()

    for x, y in points[:2]:
        cx, cy = 2 * x + 5, -2 * y + 35  # where the painter's transform puts it
        assert colour(cx, cy) == "#ff8000"
        for dx, dy in ((3, 0), (-3, 0), (0, 3), (0, -3), (2, 2)):
            assert colour(cx + dx, cy + dy) == "#ff8000"  # inside the disc, 4.5 wide each side
        for dx, dy in ((6, 0), (-6, 0), (0, 6), (0, -6), (4.2, 4.2)):
            assert colour(cx + dx, cy + dy) == "#000000"  # outside it, the corners too


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("n", [3, 300, 5_000])
@pytest.mark.parametrize("zoomed", [False, True])
def test_a_family_draws_each_row_as_a_history_curve_draws_it(qtbot, log, n, zoomed):
    # One item for a plot's curves over the same steps: each row is drawn, bounded and kept
    # as a history curve of it would be.
    panel = shown_panel(qtbot, "family", log)
    names = ["a", "b", "c", "d"]
    family = CurveFamily([pg.mkPen("r", width=1) for _ in names], names)
    family.add_to(panel.plot_item)
    alone = [HistoryCurve(pen=pg.mkPen("b", width=1)) for _ in names]
    for curve in alone:
        panel.plot_item.addItem(curve)
    if zoomed:  # a person's zoom, before the points come: clipped to it, the second row far
        # off it (drawn at the range limit)
        panel.plot_item.setXRange(0.3 * n, 0.6 * n, padding=0)
        panel.plot_item.setYRange(-1, 1, padding=0)
        settle()
    x = history(n)[0]
    rows = [history(n, seed)[1] for seed in range(4)]
    rows[1] = rows[1] * 1e12
    rows[3][:] = np.nan  # (a curve with nothing to draw)
    family.setData(x, rows)
    for curve, row in zip(alone, rows):
        curve.setData(x, row)
    if zoomed and not log:  # (on a log axis no finite value is that far off)
        assert family._range_clipped and alone[1]._range_clipped
    settle()
    for member, curve, row in zip(family.members, alone, rows):
        for got, expected in zip(member.getData(), curve.getData()):
            np.testing.assert_array_equal(got, expected)
        given_x, given_y = member.getOriginalDataset()
        np.testing.assert_array_equal(given_x, x)
        np.testing.assert_array_equal(given_y, row)
    framed = [c for c in alone  # (not all gaps)
              if c.dataBounds(1)[0] is not None and np.isfinite(c.dataBounds(1)[0])]
    for axis in (0, 1):
        bounds = [c.dataBounds(axis) for c in framed]
        assert family.dataBounds(axis) == pytest.approx(
            (min(b[0] for b in bounds), max(b[1] for b in bounds)))
    united = framed[0].boundingRect()
    for curve in framed[1:]:
        united = united.united(curve.boundingRect())
    mine = family.boundingRect()
    assert [mine.left(), mine.top(), mine.width(), mine.height()] == pytest.approx(
        [united.left(), united.top(), united.width(), united.height()], rel=1e-9)
    assert family.shows(x, rows) and not family.shows(x, rows[::-1])
    with pytest.raises(ValueError):
        family.setData(x, rows[:2])  # (a row per curve)


def test_a_plots_auto_range_measures_a_family_once_not_each_member(qtbot):
    # A deep net's gradient plot has a family of 22 rows: the view box frames the family
    # alone (the members draw nothing and have no bounds of their own to measure).
    panel = shown_panel(qtbot, "family", log=True)
    family = CurveFamily([pg.mkPen("w", width=1)] * 22, [f"p{k}" for k in range(22)])
    family.add_to(panel.plot_item)
    x = np.arange(1.0, 301.0)
    family.setData(x, [np.full(300, 10.0 ** -k) for k in range(22)])
    measured = []
    view = panel.view_box
    real = view.mapFromItemToView
    view.mapFromItemToView = lambda item, obj: measured.append(item) or real(item, obj)
    view.enableAutoRange()
    view.updateAutoRange()
    view.mapFromItemToView = real
    assert measured == [family]
    low, high = view.viewRange()[1]
    assert low <= -21 and high >= 0  # every row framed (log10 units)


def test_a_family_made_in_pieces_takes_data_once_all_its_members_are_made(qtbot):
    panel = shown_panel(qtbot, "family", log=False)
    pens = [pg.mkPen("w", width=1)] * 5
    family = CurveFamily(pens, [f"p{k}" for k in range(5)], made=2)
    family.add_to(panel.plot_item)
    assert len(family.members) == 2 and family.unmade == 3
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="3 of the family's 5 members are still to be made"):
        family.setData(x, [x * k for k in range(5)])
    family.make_more(panel.plot_item, 2)
    family.make_more(panel.plot_item)
    assert family.unmade == 0 and [m.index for m in family.members] == [0, 1, 2, 3, 4]
    assert all(m in panel.plot_item.curves for m in family.members)
    family.setData(x, [x * k for k in range(5)])
    np.testing.assert_array_equal(family.members[4].getData()[1], x * 4)


def test_a_family_bounds_the_rows_shown_however_a_member_was_hidden(qtbot):
    # Bounds are kept between changes: hiding a member by Qt's own hide (as the plot's "max
    # traces" does), not only by the legend's click, changes them.
    panel = shown_panel(qtbot, "family", log=False)
    family = CurveFamily([pg.mkPen("w", width=1)] * 3, ["low", "mid", "high"])
    family.add_to(panel.plot_item)
    x = np.arange(5.0)
    family.setData(x, [np.full(5, -10.0), np.full(5, 1.0), np.full(5, 50.0)])
    assert family.dataBounds(1) == (-10.0, 50.0)
    family.members[2].hide()
    assert family.dataBounds(1) == (-10.0, 1.0)
    assert family.dataBounds(1, visible_only=False) == (-10.0, 50.0)
    family.members[0].setVisible(False)
    assert family.dataBounds(1) == (1.0, 1.0)
    family.members[2].show()
    family.members[0].show()
    assert family.dataBounds(1) == (-10.0, 50.0)
