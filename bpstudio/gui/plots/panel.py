"""The base of every training plot: a pyqtgraph plot in a widget, with a centred message for
the times there is nothing to draw, and a count of redraws for benchmarks."""

from __future__ import annotations

import gc

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from . import style
from .controls import DEFAULT_SMOOTHING
from .curve import CurveFamily, HistoryCurve
from .series import smoothing_weight


def set_curve_data(curve: HistoryCurve | pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> bool:
    """Give ``curve`` these points unless it has them already (NaN gaps alike); whether it
    was given them. Comparing is a few microseconds; giving a curve its points again maps,
    downsamples and bounds them all (about 0.1 ms) and repaints it: a live redraw gives every
    curve the newest history, and some (validation, layer health, a run's end) did not move."""
    shown_x, shown_y = curve.getOriginalDataset()
    if shown_x is not None and np.array_equal(shown_x, x) and \
            np.array_equal(shown_y, y, equal_nan=True):
        return False
    curve.setData(x, y)
    return True


def set_family_data(family: CurveFamily | None, x: np.ndarray, rows: list) -> bool:
    """As :func:`set_curve_data` for a family of curves (one row each) over the steps ``x``."""
    if family is None or family.shows(x, rows):
        return False
    family.setData(x, rows)
    return True


class _SceneStaysActive(QObject):
    """Keeps a plot's scene active once it has been, through its view's hiding and showing.
    A graphics view sends its scene a window deactivation when it is hidden (its tab left)
    and an activation when shown again, and every graphics widget of the scene (the plot,
    its axes, view box, labels and legend) repaints itself on each, in case its colours
    depend on the window being active; the plots' do not. So each plot of a tab switched to
    was painted whole two or three times instead of once (8-10 ms more a switch on a deep
    net's Gradients tab)."""

    def eventFilter(self, scene, event) -> bool:
        kind = event.type()
        if kind == QEvent.WindowDeactivate:
            return True  # (the plots keep their colours, and the scene its focus)
        if kind == QEvent.WindowActivate:
            return scene.isActive()  # (the first activation goes through)
        return False


class SteadyViewBox(pg.ViewBox):
    """A view box whose auto-range keeps the axes where they are while the data stays inside
    them and fills at least ``FILL`` of them; data that leaves them is framed with ``GROW`` of
    its extent to spare on that side. pyqtgraph's own re-frames at every new point of a live
    curve, and a moved axis redraws its ticks, labels and grid lines, the largest part of a
    redraw; here a run's growing curves move them a few times. Zooming, panning and the "A"
    button behave as in pyqtgraph."""

    FILL = 0.5
    GROW = 0.25

    def __init__(self, *args, **kwargs):
        self._auto_ranging = False
        self.step_horizon: float | None = None
        super().__init__(*args, **kwargs)

    def set_step_horizon(self, step: float | None) -> None:
        """The last step of the run under way (None: not known): the step axis reaches it from
        the run's start, so that a growing curve moves into a still frame instead of moving
        the axis, its ticks and its grid, every few redraws."""
        self.step_horizon = step

    def updateAutoRange(self) -> None:
        self._auto_ranging = True
        try:
            super().updateAutoRange()
        finally:
            self._auto_ranging = False

    def setRange(self, rect=None, xRange=None, yRange=None, *args, **kwargs) -> None:
        if self._auto_ranging and rect is None:
            x_now, y_now = self.viewRange()
            xRange, yRange = self._steady_steps(x_now, xRange), self._steady(y_now, yRange)
            if xRange is None and yRange is None:
                return  # everything still fits: the axes stay
        super().setRange(rect, xRange, yRange, *args, **kwargs)

    def _steady_steps(self, now, wanted):
        """As :meth:`_steady`, for the step axis: while the data ends before the run's last
        step, the axis frames the data's start to that step, as pyqtgraph would frame them."""
        horizon = self.step_horizon
        if wanted is None or horizon is None:
            return self._steady(now, wanted)
        # pyqtgraph frames the data with a padding of its extent on each side: undone here.
        padding = self.suggestPadding(self.XAxis)
        low, high = wanted
        margin = padding * (high - low) / (1 + 2 * padding)
        data_low, data_high = low + margin, high - margin
        spare = padding * (horizon - data_low)
        if data_low >= horizon or data_high > horizon + 0.5 * spare:
            return self._steady(now, wanted)  # past the run's end (a longer run, a restart)
        # (a frame that holds both within twice the padding stays: the data's first drawn
        # point moves a little with the downsampling)
        if data_low - 2 * spare <= now[0] <= data_low and horizon <= now[1] <= horizon + 2 * spare:
            return None
        return [data_low - spare, horizon + spare]

    @classmethod
    def _steady(cls, now, wanted):
        """The range to show for data framed by ``wanted``, the axis showing ``now``: None to
        keep it."""
        if wanted is None:
            return None
        low, high = wanted
        span = high - low
        spare = cls.GROW * span
        new_low = now[0] if low >= now[0] else low - spare
        new_high = now[1] if high <= now[1] else high + spare
        if span < cls.FILL * (new_high - new_low):
            return [low, high]  # the data fills too little of the axis: framed afresh
        if (new_low, new_high) == (now[0], now[1]):
            return None
        return [new_low, new_high]


class PlotPanel(QWidget):
    """A widget holding one :class:`pyqtgraph.PlotItem` (``plot_item``) in ``plot_widget``.

    Its scene's context menu keeps pyqtgraph's "Export..." entry, which saves the plot as PNG
    or SVG, or its curves as CSV. ``redraw_count`` counts the times new data was drawn."""

    def __init__(self, title: str | None = None, x_label: str | None = "step",
                 y_label: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        # (the hidden top and right axes follow the view too: steady, they do no work for it)
        axes = {"left": style.DecadeAxis("left"), "bottom": style.SteadyAxis("bottom"),
                "top": style.SteadyAxis("top"), "right": style.SteadyAxis("right")}
        self.plot_widget = pg.PlotWidget(background=style.BACKGROUND, axisItems=axes,
                                         viewBox=SteadyViewBox())
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        for name in ("top", "right"):  # (axes given are shown)
            self.plot_item.hideAxis(name)
        self.view_box: pg.ViewBox = self.plot_item.getViewBox()
        style.style_plot(self.plot_item, title, x_label, y_label)
        # Long runs: draw at most about one point per pixel (keeping peaks), and only the part
        # in view once the person zooms in.
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.setClipToView(True)
        self._message = pg.LabelItem("", color=style.DIM_TEXT, size=style.LABEL_SIZE)
        self._message.setParentItem(self.view_box)
        self._message.anchor(itemPos=(0.5, 0.5), parentPos=(0.5, 0.5))
        self.redraw_count = 0
        self._smoothing = DEFAULT_SMOOTHING
        self._smoothing_unseen = False  # a new weight not drawn yet: the plot was hidden
        # pyqtgraph makes its export dialog on first use as a window of its own, with no parent:
        # it would outlive the plot and be collected later, touching items Qt has deleted.
        self.plot_widget.scene().contextMenu[0].triggered.connect(self._adopt_export_dialog)
        self._scene_stays_active = _SceneStaysActive(self)
        self.plot_widget.scene().installEventFilter(self._scene_stays_active)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot_widget, 1)

    @property
    def smoothing(self) -> float:
        return self._smoothing

    def set_smoothing(self, weight: float) -> None:
        """Moving-average weight in [0, 1) for the plot's smoothed curves; 0 is raw. A hidden
        plot draws it when it is shown (a slider moves every plot's weight, on every tab)."""
        weight = smoothing_weight(weight)
        if weight != self._smoothing:
            self._smoothing = weight
            if self.isVisible():
                self._redraw_smoothed()
            else:
                self._smoothing_unseen = True

    def _adopt_export_dialog(self) -> None:
        # Qt widgets deleted while their Python wrappers still wait for the cyclic collector
        # leave those wrappers mapped to their addresses; the export dialog's option widgets,
        # made at a reused address, were then handed a wrapper of another type. Exporting is
        # rare: collect first.
        gc.collect()
        dialog = self.plot_widget.scene().exportDialog
        if dialog is not None and dialog.parent() is None:
            dialog.setParent(self, Qt.Window)  # still a window, now deleted with the plot
            dialog.show()

    def _redraw_smoothed(self) -> None:
        """Draw the smoothed curves again at the current weight (plots that smooth say how)."""

    def prepare(self, series) -> bool:
        """Make the items a history of these names needs (curves, legend entries), without
        drawing it: a plot out of view gets them ahead of being shown, a piece at each call,
        one call an event-loop turn. Whether there is more to make (call again). Plots whose
        items do not depend on the names have nothing to do."""
        return False

    # A plot with a legend of its curves makes the curves at one call of prepare and their
    # legend at the next (or when it draws first): the two together were one turn of 15-45
    # ms, the longest stall at a run's start.
    @property
    def _legend_due(self) -> bool:
        """Whether there are curves whose legend is still to be made."""
        return False

    def _make_legend(self) -> None:
        """The legend of the curves there are (plots with one say how)."""

    def _make_legend_if_due(self) -> bool:
        """Make the legend left for later, if one was (prepare's last piece): False."""
        if self._legend_due:
            self._make_legend()
        return False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._smoothing_unseen:
            self._smoothing_unseen = False
            self._redraw_smoothed()

    def set_message(self, text: str) -> None:
        """Show ``text`` in the middle of the plot ("" hides it)."""
        if text == self._message.text and bool(text) == self._message.isVisible():
            return  # (a live plot says "" at every redraw: setting it lays the label out again)
        self._message.setText(text)
        self._message.setVisible(bool(text))

    def message(self) -> str:
        return self._message.text if self._message.isVisible() else ""
