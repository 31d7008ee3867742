"""Gradient pictures, where vanishing and exploding gradients show: each layer's (or each
parameter's) gradient norm over the steps and the latest norms as bars (log axes), each
parameter's update ratio, and each layer's health (dead ReLU units, saturated sigmoid and tanh
outputs). Layers and parameters keep the history's order, input side first, and one colour each
from a perceptually ordered map, dark at the input and bright at the loss, in every view.

The gradient plot shows, as its switch says: per layer, the norm of the gradient of all the
layer's parameters (the default, one curve per layer); per layer, the norm of dL/dz, the signal
the backward pass carries through the layer's pre-activation (the two can disagree); or per
parameter. The bars follow the same switch."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget

from . import style
from .controls import SmoothingControl
from .curve import CurveFamily, FamilyCurve
from .panel import PlotPanel, set_family_data
from .series import HistorySeries, as_series, finite_or_nan, log_emas, positive_or_nan

EMPTY = np.zeros(0)
LEGEND_TEXT_MARGIN = 1.0
LEGEND_GAP = 16.0  # the spacing around a sample and its label, and air
LEGEND_MARGIN = 16.0  # the plot's margins around the view box's column
# Past this many curves the legend names an evenly spread selection, the first and the last
# always among them: 22 names took a third of the plot's height; the colours, dark at the
# input side and bright at the loss, say the order of the rest.
LEGEND_ENTRIES = 8


def legend_picks(count: int, limit: int = LEGEND_ENTRIES) -> list[int]:
    """Which of ``count`` curves the legend names: all when they are few, else ``limit`` spread
    evenly from the first to the last."""
    if count <= limit:
        return list(range(count))
    return sorted({round(k * (count - 1) / (limit - 1)) for k in range(limit)})
# log10 of a common rule of thumb for the update ratio of a learning rate that neither stalls
# nor thrashes: each step moves a weight by about a thousandth of its size.
HEALTHY_UPDATE_RATIO = -3
# What the gradient plot (and the bars) show, as its switch names them.
PER_LAYER, LAYER_SIGNAL, PER_PARAMETER = "per layer", "dL/dz per layer", "per parameter"
MODES = (PER_LAYER, LAYER_SIGNAL, PER_PARAMETER)
TITLES = {PER_LAYER: "Gradient norm per layer", LAYER_SIGNAL: "dL/dz norm per layer",
          PER_PARAMETER: "Gradient norm per parameter"}
VIEW_TIP = ("Per layer: the norm of the gradient of all the layer's parameters. dL/dz per layer: "
            "the norm of the gradient at the layer's pre-activation z = xW + b, the signal the "
            "backward pass carries through it. Per parameter: W and b apart.")
NO_LAYERS_TIP = ("This graph was trained without dense layers (the palette's Dense Layer): its "
                 "gradients are shown per parameter.")


class _NamesLegend:
    """For a plot whose legend names its curves (``names``, ``legend``): the legend is due
    while there are curves and no entries (a new set of curves clears it)."""

    @property
    def _legend_due(self) -> bool:
        return bool(self.names) and not self.legend.items


def _fill_legend(legend: pg.LegendItem, curves: list, names: tuple[str, ...]) -> None:
    """Entries for the curves :func:`legend_picks` names, and one saying how many of how many
    when that is not all of them."""
    picks = legend_picks(len(names))
    for k in picks:
        legend.addItem(curves[k], names[k])
    if len(picks) < len(names):
        legend.addItem(pg.PlotDataItem(pen=None), f"({len(picks)} of {len(names)})")


def view_of(series: HistorySeries, mode: str) -> tuple[tuple[str, ...], np.ndarray,
                                                       dict[str, np.ndarray]]:
    """(names, steps, one column per name) that ``mode`` draws from ``series``; a history
    without layers has only the per-parameter view."""
    if mode == PER_PARAMETER or not series.layers:
        return series.parameters, series.step, series.grad_norm
    if mode == LAYER_SIGNAL:
        return series.layers, series.layer_step, series.layer_signal
    return series.layers, series.step, series.layer_grad_norm


class _PerParameterPlot(PlotPanel):
    """One curve per parameter of a statistic of the history, on a log axis, smoothed (when
    smoothing is on) as a running geometric mean, which treats every decade alike."""

    KEY = ""
    EMPTY_MESSAGE = "no training history yet"

    def __init__(self, title: str, x_label: str | None = "step",
                 parent: QWidget | None = None):
        super().__init__(title, x_label=x_label, parent=parent)
        self.plot_item.setLogMode(y=True)
        self.names: tuple[str, ...] = ()
        self.colours: list = []
        self.family: CurveFamily | None = None
        self.curves: list[FamilyCurve] = []
        self._series: HistorySeries | None = None
        self.show_history(None)

    def _redraw_smoothed(self) -> None:  # (every curve smooths log10 values)
        if self._series is not None:
            self._draw(self._series)

    def curve(self, name: str) -> FamilyCurve:
        return self.curves[self.names.index(name)]

    def _set_family(self, pens: list, names: tuple[str, ...], made: int | None = None) -> None:
        """One item drawing a curve per name (see :class:`~.curve.CurveFamily`), in place of
        the one before, its first ``made`` members made now (all by default); ``curves`` are
        its members, in the names' order."""
        self.family = _replace_family(self.plot_item, self.family, pens, names, made)
        self.curves = [] if self.family is None else self.family.members

    def _curves_unmade(self) -> bool:
        return self.family is not None and self.family.unmade > 0

    def _view(self, series: HistorySeries) -> tuple[tuple[str, ...], np.ndarray,
                                                    dict[str, np.ndarray]]:
        """(names, steps, columns) drawn from ``series``: one curve per parameter of KEY."""
        return series.parameters, series.step, getattr(series, self.KEY)

    def show_history(self, history: Mapping[str, Any] | HistorySeries | None) -> None:
        """Draw a history tree (``History.to_tree()``), or clear with None. Curves are made once
        per set of names and then only given new data."""
        series = as_series(history)
        self.redraw_count += 1
        if series is None or not len(series):
            self._series = None
            if self.names:  # the curves (and legend) of another history go with it
                self._make_curves(())
            self.set_message(self.EMPTY_MESSAGE)
            return
        self._series = series
        names = self._view(series)[0]
        if names != self.names:
            self._make_curves(names)
        else:
            if self._curves_unmade():  # (made ahead in pieces, not all yet)
                self.family.make_more(self.plot_item)
            self._make_legend_if_due()
        self._draw(series)
        self.set_message("")

    # Members a turn of prepare makes: 22 (a deep net's parameters) took 16-30 ms.
    MEMBERS_A_TURN = 8

    def prepare(self, series: HistorySeries | None) -> bool:
        if series is not None and len(series) and self._view(series)[0] != self.names:
            self._make_curves(self._view(series)[0], legend=False, made=self.MEMBERS_A_TURN)
        elif self._curves_unmade():
            self.family.make_more(self.plot_item, self.MEMBERS_A_TURN)
        else:
            return self._make_legend_if_due()
        return self._curves_unmade() or self._legend_due

    def _draw(self, series: HistorySeries) -> None:
        _names, steps, columns = self._view(series)
        set_family_data(self.family, steps,
                        log_emas([columns[name] for name in self.names], self._smoothing))

    def _make_curves(self, names: tuple[str, ...], legend: bool = True,
                     made: int | None = None) -> None:
        """Curves for ``names`` (the first ``made`` of them now, all by default), and their
        legend now or (``legend`` False) once they are all made."""
        self.names = names
        self.colours = style.parameter_colours(len(names))
        # thin: 22 of them
        self._set_family([pg.mkPen(colour, width=1) for colour in self.colours], names, made)


class GradientNormPlot(_NamesLegend, _PerParameterPlot):
    """The L2 norm of each layer's (or parameter's) gradient per step, with a "Show" switch
    (per layer, dL/dz per layer, per parameter) and a "Smoothing" slider above and a legend
    under the plot naming the curves in order (as many columns as fit). ``mode_changed`` says
    when a person switched."""

    KEY = "grad_norm"
    MIN_HEIGHT = 300  # (its slider and legend take about 60 px more than a plain plot's parts)
    smoothing_changed = Signal(float)
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        self.mode = PER_LAYER
        super().__init__(TITLES[PER_LAYER], x_label=None, parent=parent)
        self.smoothing_control = SmoothingControl(self.smoothing)
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("gradient_view")
        self.mode_combo.addItems(list(MODES))
        self.mode_combo.setToolTip(VIEW_TIP)
        self.mode_combo.activated.connect(lambda _i: self.set_mode(self.mode_combo.currentText()))
        controls = QHBoxLayout()
        controls.setContentsMargins(6, 2, 6, 0)
        controls.addWidget(self.mode_combo)
        controls.addWidget(self.smoothing_control, 1)
        self.layout().insertLayout(0, controls)
        self.smoothing_control.changed.connect(self._slider_moved)
        self.legend = style.make_legend(frame=False, verSpacing=-8, horSpacing=4)
        # Under the bottom axis, in the plot's own layout: outside the data, and still part
        # of what the plot's exporters save.
        self.plot_item.layout.addItem(self.legend, 4, 1)

    def set_smoothing(self, weight: float) -> None:
        super().set_smoothing(weight)
        self.smoothing_control.set_weight(self.smoothing)

    def set_mode(self, mode: str) -> None:
        """PER_LAYER, LAYER_SIGNAL or PER_PARAMETER."""
        if mode not in MODES:
            raise ValueError(f"unknown gradient view {mode!r}")
        self.mode_combo.setCurrentText(mode)
        if mode == self.mode:
            return
        self.mode = mode
        self._retitle()
        self.show_history(self._series)
        self.mode_changed.emit(mode)

    def _retitle(self) -> None:
        if not hasattr(self, "mode_combo"):  # (the base class draws once before it is made)
            return
        # A history without layers has the per-parameter view alone: the switch shows that
        # view, greyed, and keeps the person's choice for a history with layers.
        layered = self._series is None or bool(self._series.layers)
        shown = self.mode if layered else PER_PARAMETER
        if self.mode_combo.currentText() != shown:
            self.mode_combo.setCurrentText(shown)  # (not `activated`: the choice stays)
        if self.mode_combo.isEnabled() != layered:
            self.mode_combo.setEnabled(layered)
            self.mode_combo.setToolTip(VIEW_TIP if layered else NO_LAYERS_TIP)
        title = TITLES[shown]
        style.set_title(self.plot_item, title)

    def _view(self, series: HistorySeries) -> tuple[tuple[str, ...], np.ndarray,
                                                    dict[str, np.ndarray]]:
        return view_of(series, self.mode)

    def show_history(self, history: Mapping[str, Any] | HistorySeries | None) -> None:
        super().show_history(history)
        self._retitle()

    def _slider_moved(self, weight: float) -> None:
        super().set_smoothing(weight)
        self.smoothing_changed.emit(weight)

    def legend_labels(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def _make_curves(self, names: tuple[str, ...], legend: bool = True,
                     made: int | None = None) -> None:
        super()._make_curves(names, made=made)
        self.legend.clear()
        if legend:
            self._make_legend()

    def _make_legend(self) -> None:
        _fill_legend(self.legend, self.curves, self.names)
        for _, label in self.legend.items:
            # Qt's default text margin is 4 px a side; with many names, columns count.
            label.item.document().setDocumentMargin(LEGEND_TEXT_MARGIN)
            label.updateMin()
        self._fit_legend()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        if not self.names or not self.legend.items:  # (no legend yet: made with it)
            return
        # Every column is as wide as its widest entry; size them all for the widest one.
        # (the text's own width: a label item is stretched to the width of its column)
        entry = max(sample.width() + label.item.boundingRect().width()
                    for sample, label in self.legend.items) + LEGEND_GAP
        # The legend sits in the view box's column of the plot's layout. Measured from the
        # widget, not the view box: a legend too wide for the widget widens the view box too.
        space = self.plot_widget.width() - style.LEFT_AXIS_WIDTH - LEGEND_MARGIN
        columns = max(1, min(len(self.names), int(space // entry)))
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)


class UpdateRatioPlot(_PerParameterPlot):
    """|delta w| / |w| of each parameter per step, with a guide line at 1e-3; coloured from the
    input side to the loss side as the gradient norm plot is."""

    KEY = "update_ratio"

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Update ratio |Δw| / |w| per parameter", parent=parent)
        self.guide = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(style.REFERENCE, width=1, dash=[4, 4]),
            label=style.decade_label(HEALTHY_UPDATE_RATIO),
            labelOpts={"color": style.DIM_TEXT, "position": 0.97})
        self.plot_item.addItem(self.guide, ignoreBounds=True)
        self.plot_item.ctrl.logYCheck.toggled.connect(self._place_guide)
        self._place_guide(self.plot_item.ctrl.logYCheck.isChecked())

    def _place_guide(self, log: bool) -> None:
        # The line lives in view coordinates, which are log10 values on a log axis.
        self.guide.setPos(HEALTHY_UPDATE_RATIO if log else 10.0 ** HEALTHY_UPDATE_RATIO)


class GradientBarPlot(PlotPanel):
    """The latest gradient norm of each parameter as a bar, on a log axis, in the order and
    colours of the curves. The bars start at a power of ten at or below the smallest norm, where
they stay while the norms move within a few decades (so that the axis holds still)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Latest gradient norm", x_label="input side  →  loss side",
                         parent=parent)
        self.plot_item.setLogMode(y=True)
        self.plot_item.showGrid(x=False, y=True, alpha=style.GRID_ALPHA)
        self.plot_item.setMouseEnabled(x=False, y=True)
        self.plot_item.enableAutoRange(x=False, y=False)  # framed by show_values
        # Let the first and last names run past the ends of the axis instead of vanishing.
        self.plot_item.getAxis("bottom").setStyle(hideOverlappingLabels=40)
        self.plot_item.layout.setContentsMargins(1, 1, 24, 1)  # room for the last name
        self.plot_item.getAxis("left").setStyle(hideOverlappingLabels=6)
        # Bars are drawn in log10 units by hand (pyqtgraph's log mode does not reach them), so
        # they go in the view box itself, outside the plot's data items; the values themselves
        # are in one invisible data item per parameter, which the CSV export writes by name.
        self.bars = _Bars(x=EMPTY, height=EMPTY, width=0.7,
                          pen=pg.mkPen(style.BACKGROUND, width=1))
        self.view_box.addItem(self.bars)
        self.names: tuple[str, ...] = ()
        self.colours: list = []
        self.values: np.ndarray = EMPTY
        self.decades: tuple[int, int] | None = None  # (base, top) shown, as powers of ten
        self._smaller: tuple[int, int] | None = None  # the frame the last redraws fit in
        self._smaller_redraws = 0  # how many redraws in a row they fitted it
        self.points: list[pg.PlotDataItem] = []
        self._series: HistorySeries | None = None
        self._brushed: tuple | None = None  # (names, indices) the bars' brushes were made for
        self.view_box.sigResized.connect(self._label_bars)
        self.show_history(None)

    mode = PER_LAYER  # which norms the bars show (as the gradient plot's switch says)
    SPARE_DECADES = 4  # unused decades the axis keeps before it frames the bars afresh
    # While a run is under way (its last step known), bars that would fit a smaller frame are
    # framed afresh only once they have for this many redraws in a row (about a second), in
    # the frame that held them all: a deep net's smallest norm wanders over six decades from
    # batch to batch, and the axis jumped (drawn again, and the plot with it) every few
    # redraws.
    STEADY_REDRAWS = 30

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.show_history(self._series)

    def show_history(self, history: Mapping[str, Any] | HistorySeries | None) -> None:
        """Bars for the last step of a history tree, or clear with None."""
        series = self._series = as_series(history)
        if series is None or not len(series):
            self.show_values((), EMPTY)
            return
        names, steps, columns = view_of(series, self.mode)
        latest = np.array([columns[n][-1] if len(columns[n]) else np.nan for n in names])
        self.show_values(names, latest, int(steps[-1]) if len(steps) else None)

    def prepare(self, series: HistorySeries | None) -> bool:
        if series is not None and len(series):
            names = view_of(series, self.mode)[0]
            if names != self.names:
                self._make_points(names)
        return False

    def show_values(self, names: Sequence[str], values: Any, step: int | None = None) -> None:
        """Bars for one norm per parameter (e.g. the latest ``StepStats.grad_norms``)."""
        names = tuple(names)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) != len(names):
            raise ValueError(f"{len(names)} parameter names but {len(values)} values")
        self.redraw_count += 1
        if names != self.names:
            self._make_points(names)
        self.values = values
        style.set_title(self.plot_item, "Latest gradient norm" if step is None
                        else f"Gradient norm at step {step}")
        shown = positive_or_nan(values)
        logs = np.log10(shown)
        drawn = np.isfinite(logs)
        if not drawn.any():
            self.bars.setOpts(x=EMPTY, height=EMPTY, y0=0.0)
            self.set_message("no gradient yet" if not names else "no finite gradient norm")
            return
        self.set_message("")
        base, top = self._steady_decades(float(logs[drawn].min()), float(logs[drawn].max()))
        if (base, top) != self.decades:
            self.decades = (base, top)
            # (a little room past the end decades, or their labels would be cut off and dropped)
            self.plot_item.setYRange(base - 0.15, top + 0.15, padding=0.0)
        which = np.flatnonzero(drawn)
        # (the bars' brushes are made again only when other bars are drawn)
        brushed = (names, tuple(which.tolist()))
        colours = {} if brushed == self._brushed else \
            {"brushes": [self.colours[k] for k in which]}
        self._brushed = brushed
        self.bars.setOpts(x=which.astype(float), y0=float(base), height=logs[drawn] - base,
                          **colours)

    def _steady_decades(self, low: float, high: float) -> tuple[int, int]:
        """The whole decades (base, top) the axis shows for log10 norms from ``low`` to
        ``high``: those already shown, widened to take them in, while at most ``SPARE_DECADES``
        of them go unused; else the decade below ``low`` to the one above ``high``.
        A live run's smallest norm wanders across decades from batch to batch; bars that
        reframed at each step made the axis jump (and drew it again) on every redraw."""
        base = math.floor(low)
        # Whole decades, at least two: a log axis spanning less labels its minor ticks, and
        # the labels run into each other.
        top = max(math.ceil(high + 0.05), base + 2)
        if self.decades is not None:
            # Norms past the decades shown widen them, rather than frame them afresh; by one
            # decade more than they reached where it fits, as norms that cross a decade in a
            # live run mostly go on the same way (each widening draws the axis again).
            shown_base, shown_top = self.decades
            for spare in (1, 0):
                wider = (min(base - spare, shown_base) if base < shown_base else shown_base,
                         max(top + spare, shown_top) if top > shown_top else shown_top)
                if wider[1] - wider[0] <= top - base + self.SPARE_DECADES:
                    self._smaller, self._smaller_redraws = None, 0
                    return wider
            inside = shown_base <= base and top <= shown_top
            if inside and self.view_box.step_horizon is not None:
                self._smaller = (base, top) if self._smaller is None else \
                    (min(base, self._smaller[0]), max(top, self._smaller[1]))
                self._smaller_redraws += 1
                if self._smaller_redraws < self.STEADY_REDRAWS:
                    return shown_base, shown_top
                base, top = self._smaller
        self._smaller, self._smaller_redraws = None, 0
        return base, top

    def bar_tops(self) -> dict[str, float]:
        """Each drawn bar's top as a norm (10 ** its top in view units), by parameter name."""
        opts = self.bars.opts
        return {self.names[int(x)]: 10.0 ** (opts["y0"] + h)
                for x, h in zip(opts["x"], opts["height"])}

    def _make_points(self, names: tuple[str, ...]) -> None:
        for point in self.points:
            self.plot_item.removeItem(point)
        self.names = names
        self.colours = style.parameter_colours(len(names))
        self.decades = None  # other parameters: framed afresh
        self._smaller, self._smaller_redraws = None, 0
        self.points = []
        for k, name in enumerate(names):
            point = _BarValue(self, k, name=name)
            self.plot_item.addItem(point)
            self.points.append(point)
        self.plot_item.setXRange(-0.6, len(names) - 0.4, padding=0)
        self._label_bars()

    def _label_bars(self, *_: Any) -> None:
        """Name the bars under the axis, every k-th when all the names do not fit."""
        axis = self.plot_item.getAxis("bottom")
        if not self.names:
            axis.setTicks([[]])
            return
        metrics = QFontMetricsF(style.tick_font())
        widest = max(metrics.horizontalAdvance(n) for n in self.names) + 8.0
        per_bar = max(self.view_box.width(), 1.0) / len(self.names)
        every = max(1, math.ceil(widest / per_bar))
        named = [(k, n) for k, n in enumerate(self.names) if k % every == 0]
        unnamed = [(k, "") for k in range(len(self.names)) if k % every]
        axis.setTicks([named, unnamed])


class _Bars(pg.BarGraphItem):
    """pyqtgraph's bars, bounded once per change of the bars or of the view's scale: its own
    item works its bounds out afresh (a view pixel's size in its units among them) each of
    the several times a redraw asks, 45 us each."""

    _bounds: QRectF | None = None

    def setOpts(self, **opts) -> None:
        self._bounds = None
        super().setOpts(**opts)

    def viewTransformChanged(self) -> None:
        # (the pen's padding is in pixels: another scale makes it another size in data units)
        self.prepareGeometryChange()
        self._bounds = None

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            self._bounds = super().boundingRect()
        return self._bounds


class _BarValue(pg.PlotDataItem):
    """The value of one bar, as the one point of an invisible data item, for the plot's CSV
    export (which writes each data item's points under its name). It reads the bar plot's
    values when asked, instead of being given them: 22 bars given one point each took a
    sixth of a live redraw."""

    def __init__(self, bars: GradientBarPlot, index: int, name: str):
        super().__init__(pen=None, symbol=None, name=name)
        self._bars, self._index = bars, index

    def getOriginalDataset(self):
        values = self._bars.values
        if self._index >= len(values):
            return None, None
        return (np.array([float(self._index)]),
                positive_or_nan(values[self._index:self._index + 1]))

    def getData(self):
        return self.getOriginalDataset()


def _replace_family(plot_item: pg.PlotItem, family: CurveFamily | None, pens: list,
                    names: tuple[str, ...], made: int | None = None) -> CurveFamily | None:
    """A new family of curves for ``names`` in ``plot_item`` (its first ``made`` members
    made now, all by default), ``family`` (the one before) taken out; None for no names."""
    if family is not None:
        family.remove_from(plot_item)
    if not names:
        return None
    family = CurveFamily(pens, list(names), made)
    family.add_to(plot_item)
    return family


class LayerHealthPlot(_NamesLegend, PlotPanel):
    """Per layer, over the steps the layers were measured: the share of its ReLU units that are
    dead on the batch (output 0 on every row), or of its sigmoid or tanh outputs that are
    saturated (slope under a tenth of its peak); 0-100 %, a layer's colour as in the gradient
    plot. A dead or saturated layer passes almost no gradient back: it stops learning."""

    MIN_HEIGHT = 260

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Layer health: dead or saturated units", y_label="%", parent=parent)
        self.plot_item.setYRange(-3, 103, padding=0)
        self.plot_item.enableAutoRange(y=False)
        self.plot_item.getAxis("left").setTicks([[(v, str(v)) for v in (0, 25, 50, 75, 100)]])
        self.plot_item.setMouseEnabled(x=True, y=False)
        self.legend = style.make_legend(frame=False, verSpacing=-8, horSpacing=4)
        self.plot_item.layout.addItem(self.legend, 4, 1)
        self.names: tuple[str, ...] = ()
        self.family: CurveFamily | None = None
        self.curves: list[FamilyCurve] = []
        self.show_history(None)

    def curve(self, name: str) -> FamilyCurve:
        return self.curves[self.names.index(name)]

    def legend_labels(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def show_history(self, history: Mapping[str, Any] | HistorySeries | None) -> None:
        series = as_series(history)
        self.redraw_count += 1
        measured = self._measured(series)
        if measured != self.names:
            self._make_curves(measured, series.layers if series is not None else ())
        else:
            self._make_legend_if_due()
        if not measured:
            self.set_message("no layer health yet: it is measured on ReLU, sigmoid and tanh "
                             "layers while training" if series is None or not series.layers
                             else "no ReLU, sigmoid or tanh layer to measure")
            return
        self.set_message("")
        # (layers are measured every few steps: many redraws bring no new point)
        set_family_data(self.family, series.layer_step,
                        [100.0 * finite_or_nan(series.layer_health[name]) for name in self.names])

    @staticmethod
    def _measured(series: HistorySeries | None) -> tuple[str, ...]:
        """The layers ``series`` measured."""
        return () if series is None else tuple(
            n for n in series.layers if np.isfinite(series.layer_health[n]).any())

    def prepare(self, series: HistorySeries | None) -> bool:
        measured = self._measured(series)
        if measured != self.names:
            self._make_curves(measured, series.layers if series is not None else (),
                              legend=False)
            return self._legend_due
        return self._make_legend_if_due()

    def _make_curves(self, names: tuple[str, ...], every_layer: tuple[str, ...],
                     legend: bool = True) -> None:
        """Curves for ``names``, and their legend now or (``legend`` False) later."""
        self.legend.clear()
        self.names = names
        colours = style.parameter_colours(len(every_layer))  # the gradient plot's colours
        colour_of = dict(zip(every_layer, colours))
        # Thin, as the gradient plot's: a wider pen is stroked segment by segment, and ten
        # curves of it were three quarters of the tab's painting.
        self.family = _replace_family(self.plot_item, self.family,
                                      [pg.mkPen(colour_of[name], width=1) for name in names],
                                      names)
        self.curves = [] if self.family is None else self.family.members
        if legend:
            self._make_legend()

    def _make_legend(self) -> None:
        _fill_legend(self.legend, self.curves, self.names)
        self.legend.setColumnCount(4)
