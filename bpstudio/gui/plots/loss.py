"""The loss and accuracy curves: training per step (optionally smoothed, the raw curve kept faint
behind), validation as points at the steps where it ran."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QWidget

from . import style
from .controls import SmoothingControl
from .curve import HistoryCurve
from .panel import PlotPanel, set_curve_data
from .series import HistorySeries, as_series, ema

EMPTY = np.zeros(0)


class SmoothedCurve:
    """A training curve drawn smoothed over its faint raw self (raw alone when not smoothed)."""

    def __init__(self, plot_item: pg.PlotItem, colour, name: str):
        self.raw = HistoryCurve(pen=pg.mkPen(style.with_alpha(colour, style.RAW_ALPHA), width=1),
                              name=f"{name} (raw)")
        self.curve = HistoryCurve(pen=pg.mkPen(colour, width=2), name=name)
        plot_item.addItem(self.raw)
        plot_item.addItem(self.curve)
        self.steps, self.values = EMPTY, EMPTY

    def set_data(self, steps: np.ndarray, values: np.ndarray, weight: float) -> None:
        self.steps, self.values = steps, values
        self.redraw(weight)

    def redraw(self, weight: float) -> None:
        if weight > 0.0 and len(self.values):
            self.raw.setData(self.steps, self.values)
            self.raw.show()
            self.curve.setData(self.steps, ema(self.values, weight))
        else:
            self.raw.setData(EMPTY, EMPTY)
            self.raw.hide()
            self.curve.setData(self.steps, self.values)


class _CurvesPlot(PlotPanel):
    """Training (smoothed) and validation curves of one statistic of the history."""

    EMPTY_MESSAGE = "no training history yet"
    NOTHING_MESSAGE = ""  # shown when the history has nothing of this statistic

    def __init__(self, title: str, legend_offset: tuple[float, float],
                 x_label: str | None = "step", parent: QWidget | None = None):
        super().__init__(title, x_label=x_label, parent=parent)
        self.train = SmoothedCurve(self.plot_item, style.TRAIN, "training")
        self.validation = HistoryCurve(pen=pg.mkPen(style.VALIDATION, width=1.5),
                                       name="validation", dot_size=5,
                                       dot_brush=style.VALIDATION)
        self.plot_item.addItem(self.validation)
        self.legend = style.make_legend(offset=legend_offset)
        self.legend.setParentItem(self.view_box)
        self.legend.addItem(self.train.curve, "training")
        self.legend.addItem(self.validation, "validation")
        self.show_history(None)

    @property
    def train_curve(self) -> HistoryCurve:
        """The training curve as drawn: smoothed when smoothing is on, else the raw values."""
        return self.train.curve

    @property
    def raw_curve(self) -> HistoryCurve:
        """The faint raw training curve behind a smoothed one (empty when not smoothing)."""
        return self.train.raw

    @property
    def validation_curve(self) -> HistoryCurve:
        return self.validation

    def _redraw_smoothed(self) -> None:  # (the training curve smooths; validation does not)
        self.train.redraw(self._smoothing)

    def show_history(self, history: Mapping[str, Any] | HistorySeries | None) -> None:
        """Draw a history tree (``History.to_tree()``), or clear with None."""
        series = as_series(history)
        self.redraw_count += 1
        values, val_values = (None, EMPTY) if series is None or not len(series) \
            else self._values(series)
        if values is None:
            self.train.set_data(EMPTY, EMPTY, self._smoothing)
            self._show_validation(EMPTY, EMPTY)
            self.legend.setVisible(False)
            self.set_message(self.NOTHING_MESSAGE if series is not None and len(series)
                             else self.EMPTY_MESSAGE)
            return
        self.set_message("")
        self.legend.setVisible(True)
        self.train.set_data(series.step, values, self._smoothing)
        self._show_validation(series.val_step, val_values)

    def _show_validation(self, steps: np.ndarray, values: np.ndarray) -> None:
        # Validation runs now and then: most redraws bring no new point, and giving a
        # symbol curve its points again rebuilds every symbol.
        set_curve_data(self.validation, steps, values)

    def _values(self, series: HistorySeries) -> tuple[np.ndarray | None, np.ndarray]:
        raise NotImplementedError


class LossPlot(_CurvesPlot):
    """Training loss per step and validation loss at the validation steps, with a "Log scale"
    switch and a "Smoothing" slider above the plot."""

    smoothing_changed = Signal(float)
    log_scale_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Loss", legend_offset=(-6, 6), x_label=None, parent=parent)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Show the loss on a logarithmic axis")
        self.smoothing_control = SmoothingControl(self.smoothing)
        controls = QHBoxLayout()
        controls.setContentsMargins(6, 2, 6, 0)
        controls.addWidget(self.log_check)
        controls.addSpacing(12)
        controls.addWidget(self.smoothing_control, 1)
        self.layout().insertLayout(0, controls)
        self.log_check.toggled.connect(self._log_toggled)
        # The plot's own context menu has a log switch too: keep the box in step with it.
        self.plot_item.ctrl.logYCheck.toggled.connect(self.log_check.setChecked)
        self.smoothing_control.changed.connect(self._slider_moved)

    @property
    def smoothing_slider(self):
        return self.smoothing_control.slider

    @property
    def log_scale(self) -> bool:
        return self.plot_item.ctrl.logYCheck.isChecked()

    def set_log_scale(self, on: bool) -> None:
        self.log_check.setChecked(bool(on))

    def set_smoothing(self, weight: float) -> None:
        super().set_smoothing(weight)
        self.smoothing_control.set_weight(self.smoothing)

    def _log_toggled(self, on: bool) -> None:
        self.plot_item.setLogMode(y=on)
        self.log_scale_changed.emit(on)

    def _slider_moved(self, weight: float) -> None:
        super().set_smoothing(weight)
        self.smoothing_changed.emit(weight)

    def _values(self, series: HistorySeries) -> tuple[np.ndarray, np.ndarray]:
        return series.loss, series.val_loss


class AccuracyPlot(_CurvesPlot):
    """Training accuracy per step and validation accuracy at the validation steps, on a fixed
    0 to 1 axis; says so instead when the task is a regression (its accuracy is all NaN)."""

    NOTHING_MESSAGE = "regression: no accuracy"

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Accuracy", legend_offset=(-6, -6), parent=parent)
        self.plot_item.setYRange(0.0, 1.0, padding=0.05)
        self.plot_item.enableAutoRange(y=False)

    def _values(self, series: HistorySeries) -> tuple[np.ndarray | None, np.ndarray]:
        if not series.has_accuracy:
            return None, EMPTY
        return series.accuracy, series.val_accuracy
