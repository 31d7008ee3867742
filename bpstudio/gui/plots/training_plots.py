"""The training panel's plots in one widget, for the training dock: loss and accuracy, the
per-parameter gradient pictures, and the model's prediction, on three tabs (and any page the
dock puts before them, such as its settings).

Each tab's plots stand in a column that scrolls when the dock is short, so that a plot never
shrinks below a readable height (``MIN_PLOT_HEIGHT``): at 1280 x 720 a column shows the plots
that fit and scrolls to the rest, instead of squeezing all of them to bare axes."""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from bpstudio.core.training.prediction import PredictionField

from .gradients import GradientBarPlot, GradientNormPlot, LayerHealthPlot, UpdateRatioPlot
from .loss import AccuracyPlot, LossPlot
from .prediction import PredictionPlot
from .series import HistorySeries, as_series

LOSS_TAB, GRADIENTS_TAB, PREDICTION_TAB = range(3)
# A plot's widget is never shorter than this: its title, axes and, in the tallest case, a
# smoothing slider take about 80 px, which leaves its data area 150 px or more.
MIN_PLOT_HEIGHT = 240


def _column(*widgets_and_stretches: tuple[QWidget, int]) -> QScrollArea:
    """The plots of a tab, one above the other, in a column that scrolls when they do not fit."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(2, 4, 2, 2)
    layout.setSpacing(4)
    for widget, stretch in widgets_and_stretches:
        widget.setMinimumHeight(getattr(widget, "MIN_HEIGHT", MIN_PLOT_HEIGHT))
        layout.addWidget(widget, stretch)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroll.setWidget(page)
    return scroll


class TrainingPlots(QWidget):
    """Tabs "Loss" (:class:`LossPlot` over :class:`AccuracyPlot`), "Gradients"
    (:class:`GradientNormPlot`, :class:`GradientBarPlot`, :class:`LayerHealthPlot`,
    :class:`UpdateRatioPlot`) and
    "Prediction" (:class:`PredictionPlot`), sized for a dock about 450-600 px wide.

    Feed it with :meth:`show_history` (a ``History.to_tree()`` tree) and :meth:`show_prediction`
    (a :class:`PredictionField`); None clears either. Both redraw at once, so a caller receiving
    snapshots faster than a person can see should keep the latest and call them from a timer.
    ``smoothing_changed`` says when a person moved a smoothing slider (to keep in settings).
    """

    smoothing_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot = LossPlot()
        self.accuracy_plot = AccuracyPlot()
        self.gradient_plot = GradientNormPlot()
        self.bar_plot = GradientBarPlot()
        self.ratio_plot = UpdateRatioPlot()
        self.health_plot = LayerHealthPlot()
        self.prediction_plot = PredictionPlot()
        # Plots of the same steps zoom and pan together.
        self.accuracy_plot.plot_item.setXLink(self.loss_plot.plot_item)
        self.ratio_plot.plot_item.setXLink(self.gradient_plot.plot_item)
        self.health_plot.plot_item.setXLink(self.gradient_plot.plot_item)
        self.gradient_plot.mode_changed.connect(self.bar_plot.set_mode)
        # One smoothing for every curve, set from the slider of either tab.
        for plot in (self.loss_plot, self.gradient_plot):
            plot.smoothing_changed.connect(self.set_smoothing)
            plot.smoothing_changed.connect(self.smoothing_changed)
        self.set_smoothing(self.loss_plot.smoothing)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # Tab key -> its page (the keys are not positions: a page may be put before them).
        self.pages = {
            LOSS_TAB: _column((self.loss_plot, 3), (self.accuracy_plot, 2)),
            GRADIENTS_TAB: _column((self.gradient_plot, 6), (self.bar_plot, 3),
                                   (self.health_plot, 3), (self.ratio_plot, 3)),
            PREDICTION_TAB: _column((self.prediction_plot, 1))}
        for key, title in ((LOSS_TAB, "Loss"), (GRADIENTS_TAB, "Gradients"),
                           (PREDICTION_TAB, "Prediction")):
            self.tabs.addTab(self.pages[key], title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._redraws = 0
        # Only the plots in view are drawn: those of the tab on show that its column shows. The
        # others catch up when they come into view (the tab is shown, the column scrolled or
        # made taller). Drawing costs the window's thread milliseconds per plot, and at a usual
        # window size the Gradients tab shows two of its four plots.
        self._tab_plots = {LOSS_TAB: [self.loss_plot, self.accuracy_plot],
                           GRADIENTS_TAB: [self.gradient_plot, self.bar_plot, self.health_plot,
                                           self.ratio_plot],
                           PREDICTION_TAB: [self.prediction_plot]}
        self._series = as_series(None)
        self._field: PredictionField | None = None
        # Plots whose data changed since they were drawn, the longest stale first (a plot
        # drawn goes to the back): caught up in that order, none waits behind a busy one.
        self._stale: dict = {}
        # A tab a person opens shows what its plots last drew at once, and they catch up one
        # per turn of the event loop, the newest progress included: the four plots of the
        # Gradients tab drawn in one go held the window 60-80 ms during a run.
        self._catching_up = False
        # Plots out of view that a new set of layers or parameters needs new curves for: made
        # one per idle turn, before the plot is shown (the Gradients tab's curves, legends and
        # bars took 55 ms, in the first redraw that showed them).
        self._unprepared: list = []
        self._names: tuple = ((), ())
        self._catch_up = QTimer(self)
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(0)
        self._catch_up.timeout.connect(self._draw_next_stale)
        self.tabs.currentChanged.connect(self._catch_up_soon)
        for page in self.pages.values():
            page.verticalScrollBar().valueChanged.connect(self._catch_up_soon)
            page.viewport().installEventFilter(self)

    @property
    def history_plots(self) -> list:
        return [self.loss_plot, self.accuracy_plot, self.gradient_plot, self.bar_plot,
                self.health_plot, self.ratio_plot]

    @property
    def plots(self) -> list:
        return [*self.history_plots, self.prediction_plot]

    @property
    def redraw_count(self) -> int:
        """How many times :meth:`show_history` or :meth:`show_prediction` redrew."""
        return self._redraws

    @property
    def smoothing(self) -> float:
        return self.loss_plot.smoothing

    def set_smoothing(self, weight: float) -> None:
        """The moving-average weight in [0, 1) of every training curve (0: raw values)."""
        for plot in (self.loss_plot, self.accuracy_plot, self.gradient_plot, self.ratio_plot):
            plot.set_smoothing(weight)  # a hidden plot redraws what it last drew: still true

    def set_step_horizon(self, step: int | None) -> None:
        """The last step of the run that starts (None: none under way): the step axes reach
        it from the run's start."""
        for plot in self.history_plots:
            plot.view_box.set_step_horizon(step)

    def show_history(self, history: Mapping[str, Any] | HistorySeries | None) -> None:
        """Draw a training history (the tree of ``History.to_tree()``), or clear with None."""
        if history is None:
            self.set_step_horizon(None)
        series = self._series = as_series(history)  # read once for every plot
        for plot in self.history_plots:
            self._stale.setdefault(plot)
        names = ((), ()) if series is None else (series.parameters, series.layers)
        if names != self._names:
            self._names = names
            self._unprepared = [plot for plot in self.history_plots if not self.in_view(plot)]
            self._catch_up.start()
        if self._catching_up:
            return  # drawn by the catch-up, one plot per turn
        self._draw_stale()

    def show_prediction(self, field: PredictionField | None) -> None:
        """Draw the model's prediction over its data, or clear with None."""
        self._field = field
        self._stale.setdefault(self.prediction_plot)
        if not self._catching_up:
            self._draw_stale()

    def insert_page(self, index: int, page: QWidget, title: str) -> None:
        """Put a page of the dock's own among the tabs (e.g. its settings, first)."""
        self.tabs.insertTab(index, page, title)

    @property
    def current_tab(self) -> int | None:
        """The key of the plot tab in view (LOSS_TAB, ...), or None for another page."""
        return next((k for k, page in self.pages.items()
                     if page is self.tabs.currentWidget()), None)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Resize:  # a column's view grew: more of its plots show
            self._catch_up_soon()
        return False

    def in_view(self, plot) -> bool:
        """Whether ``plot`` is on the tab on show and within what its column shows (a column
        not on screen at all counts as showing everything: nothing says what will show)."""
        tab = self.current_tab
        if tab is None or plot not in self._tab_plots[tab]:
            return False
        port = self.pages[tab].viewport()
        if not port.isVisible():
            return True
        return QRect(plot.mapTo(port, QPoint(0, 0)), plot.size()).intersects(port.rect())

    def _due(self) -> list:
        """The plots in view whose data changed since they were drawn, top first."""
        tab = self.current_tab
        if tab is None:
            return []
        return [plot for plot in self._tab_plots[tab] if plot in self._stale and self.in_view(plot)]

    @property
    def up_to_date(self) -> bool:
        """Whether every plot in view shows the newest data (false while a tab catches up)."""
        return not self._due()

    def _catch_up_soon(self, *_args) -> None:
        self._catching_up = bool(self._due())
        self._catch_up.start()  # (its interval is 0: not the index or value a signal gives)

    def _draw_next_stale(self) -> None:
        due = self._due()
        if due:
            self._draw(due[:1])
        elif self._unprepared:
            if not self._unprepared[0].prepare(self._series):  # (True: more of it next turn)
                self._unprepared.pop(0)
        self._catching_up = len(due) > 1
        if self._catching_up or self._unprepared:
            self._catch_up.start()

    def _draw_stale(self, *_args) -> None:
        self._draw(self._due())

    def _draw(self, due: list) -> None:
        for plot in due:
            self._stale.pop(plot, None)
            if plot is self.prediction_plot:
                plot.show_prediction(self._field)
            else:
                plot.show_history(self._series)
                # A plot linked to another's steps takes its range when that one moves (which
                # pyqtgraph works out when it paints): one drawn late (scrolled into view)
                # takes it now, the other's range brought up to date first.
                box = plot.view_box
                linked = box.linkedView(box.XAxis)
                if linked is not None:
                    linked.updateAutoRange()
                    box.linkedViewChanged(linked, box.XAxis)
        if due:
            self._redraws += 1

    def clear(self) -> None:
        self.show_history(None)
        self.show_prediction(None)

    def show_tab(self, key: int) -> None:
        """LOSS_TAB, GRADIENTS_TAB or PREDICTION_TAB, drawn up to date now."""
        self.tabs.setCurrentWidget(self.pages[key])
        self._draw_stale()
        self._catching_up = False
