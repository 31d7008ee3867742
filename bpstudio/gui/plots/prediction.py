"""What the model predicts, drawn over its data: the decision boundary of a two-feature
classifier as a heatmap under the points, or a one-feature regression's fitted curve."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QLabel, QWidget

from bpstudio.core.training.prediction import BOUNDARY, CLASS, PredictionField

from . import style
from .panel import PlotPanel

EMPTY = np.zeros(0)
HEATMAP_STRENGTH = 0.45  # how far the heatmap's ends go from the background to the class colour
NOTHING_MESSAGE = "no prediction to draw"


def mix(colour: QColor, ground: QColor, amount: float) -> QColor:
    """``amount`` of ``colour`` over ``ground``."""
    return QColor.fromRgbF(*(amount * a + (1.0 - amount) * b for a, b in
                             zip(colour.getRgbF()[:3], ground.getRgbF()[:3])))


def probability_colormap() -> pg.ColorMap:
    """Class 0's colour at 0, the background at 0.5 (where the model cannot tell), class 1's
    colour at 1: muted, so that the points drawn over it stand out."""
    low = mix(style.class_colour(0), style.BACKGROUND, HEATMAP_STRENGTH)
    high = mix(style.class_colour(1), style.BACKGROUND, HEATMAP_STRENGTH)
    middle = mix(QColor("#ffffff"), style.BACKGROUND, 0.08)
    return pg.ColorMap([0.0, 0.5, 1.0], [low, middle, high])


def class_image(classes: np.ndarray, confidence: np.ndarray, n_classes: int) -> np.ndarray:
    """An RGB image: each cell in its predicted class's colour, nearer the background where the
    model is less sure (confidence 1/n_classes, a guess, is the background itself)."""
    ground = np.array(style.BACKGROUND.getRgbF()[:3])
    palette = np.array([style.class_colour(k).getRgbF()[:3] for k in range(max(n_classes, 1))])
    index = np.nan_to_num(classes, nan=0.0).astype(np.intp).clip(0, len(palette) - 1)
    chance = 1.0 / max(n_classes, 2)
    sure = np.clip((np.nan_to_num(confidence, nan=chance) - chance) / (1.0 - chance), 0.0, 1.0)
    amount = (HEATMAP_STRENGTH * sure)[..., None]
    rgb = amount * palette[index] + (1.0 - amount) * ground
    return np.round(rgb * 255.0).astype(np.uint8)


class PredictionPlot(PlotPanel):
    """A :class:`PredictionField` drawn: the heatmap (``image``, or ``class_image_item`` for three
    or more classes) placed over the data's range, the boundary line at p = 0.5, and the points
    on top, one scatter per class and split (training filled, validation hollow); or, for a
    regression, the model's curve over the points. A caption under the plot says what the
    colours mean."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Prediction", x_label=None, parent=parent)
        self.plot_item.setDownsampling(auto=False)  # a curve of ``resolution`` points
        # Drawn scaled up many times: blend the grid's cells rather than show them as blocks.
        self.plot_widget.setRenderHint(QPainter.SmoothPixmapTransform, True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-20)
        self.plot_item.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=probability_colormap(),
                                        interactive=False, width=12)
        self.colorbar.setImageItem(self.image, insert_in=self.plot_item)
        self.colorbar.getAxis("right").setTextPen(pg.mkPen(style.TEXT))
        self.colorbar.getAxis("right").setTickFont(style.tick_font())
        self.boundary = pg.IsocurveItem(level=0.5, axisOrder="row-major",
                                        pen=pg.mkPen(QColor(244, 245, 247, 170), width=1.2))
        self.boundary.setParentItem(self.image)  # drawn in the image's pixel coordinates
        self.class_image_item = pg.ImageItem(axisOrder="row-major")
        self.class_image_item.setZValue(-20)
        self.plot_item.addItem(self.class_image_item)
        self.model_curve = pg.PlotDataItem(pen=pg.mkPen(style.MODEL, width=2), name="model")
        self.plot_item.addItem(self.model_curve)
        self.scatters: dict[tuple[str, str], pg.ScatterPlotItem] = {}
        self._scatter_key: tuple = ()
        self._rect: QRectF | None = None
        self.field: PredictionField | None = None
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.RichText)
        self.caption.setContentsMargins(6, 0, 6, 4)
        self.layout().addWidget(self.caption)
        self.show_prediction(None)

    # ----------------------------------------------------------------------------- drawing
    def show_prediction(self, field: PredictionField | None) -> None:
        """Draw a field, or clear with None."""
        self.redraw_count += 1
        shown, self.field = self.field, field
        if field is not None and shown is not None and field.x is shown.x \
                and field.train_points is shown.train_points:
            # New values over the grid and points on show (a live run's next picture): the
            # points, axes, caption and frame stay as they are.
            if field.kind == BOUNDARY:
                self._show_heatmap(field)
            else:
                self.model_curve.setData(field.x, field.values)
            return
        if field is None:
            self._show_heatmap(None)
            self.model_curve.setData(EMPTY, EMPTY)
            for scatter in self.scatters.values():
                scatter.setData(x=EMPTY, y=EMPTY)
            self.caption.setText("")
            self.set_message(NOTHING_MESSAGE)
            return
        self.set_message("")
        if field.kind == BOUNDARY:
            self._show_heatmap(field)
            self.model_curve.setData(EMPTY, EMPTY)
            colours = [style.class_colour(k) for k in range(field.n_classes)]
            self._show_points(field, [f"class {name}" for name in field.class_names],
                              colours, colours, field.train_points[:, 1], field.val_points[:, 1])
            names = field.feature_names or ("x1", "x2")
            self._label_axes(names[0], names[1])
            rect = self.image_rect(field)
        else:
            self._show_heatmap(None)
            self.model_curve.setData(field.x, field.values)
            self._show_points(field, [""], [style.TRAIN], [style.VALIDATION],
                              field.train_targets, field.val_targets)
            self._label_axes((field.feature_names or ("x",))[0], field.target_name)
            rect = None
        self.caption.setText(self._caption(field))
        self._frame(field, rect)

    @staticmethod
    def image_rect(field: PredictionField) -> QRectF:
        """Where the heatmap goes: each grid point at the centre of its pixel."""
        dx = (field.x[-1] - field.x[0]) / (len(field.x) - 1)
        dy = (field.y[-1] - field.y[0]) / (len(field.y) - 1)
        return QRectF(field.x[0] - dx / 2, field.y[0] - dy / 2, dx * len(field.x),
                      dy * len(field.y))

    def _show_heatmap(self, field: PredictionField | None) -> None:
        probability = field is not None and field.representation != CLASS
        classes = field is not None and field.representation == CLASS
        if probability:
            values = np.asarray(field.values, dtype=np.float64)
            self.image.setImage(values, autoLevels=False, levels=(0.0, 1.0))
            self.image.setRect(self.image_rect(field))
            # (NaN cells would break the contour; they have no boundary to show anyway)
            self.boundary.setData(np.nan_to_num(values, nan=0.5))
        else:
            self.image.clear()
            self.boundary.setData(None)
        if classes:
            self.class_image_item.setImage(
                class_image(field.values, field.confidence, field.n_classes),
                autoLevels=False, levels=(0, 255))
            self.class_image_item.setRect(self.image_rect(field))
        else:
            self.class_image_item.clear()
        self.image.setVisible(probability)
        self.colorbar.setVisible(probability)
        self.class_image_item.setVisible(classes)

    def _show_points(self, field: PredictionField, labels: list[str], colours: list[QColor],
                     val_colours: list[QColor], train_y: np.ndarray, val_y: np.ndarray) -> None:
        """One scatter per (split, class), so that the CSV export keeps the classes apart."""
        key = (field.kind, tuple(labels))
        if key != self._scatter_key:
            for scatter in self.scatters.values():
                self.plot_item.removeItem(scatter)
            self.scatters = {}
            for label, colour, val_colour in zip(labels, colours, val_colours):
                suffix = f" {label}" if label else ""
                self.scatters[("train", label)] = pg.ScatterPlotItem(
                    size=7, pen=pg.mkPen(style.BACKGROUND, width=1), brush=pg.mkBrush(colour),
                    name=f"training{suffix}")
                self.scatters[("validation", label)] = pg.ScatterPlotItem(
                    size=8, pen=pg.mkPen(val_colour, width=2), brush=QBrush(Qt.NoBrush),
                    name=f"validation{suffix}")
            for scatter in self.scatters.values():
                self.plot_item.addItem(scatter)
            self._scatter_key = key
        several = len(labels) > 1
        for k, label in enumerate(labels):
            for split, points, targets, y in (
                    ("train", field.train_points, field.train_targets, train_y),
                    ("validation", field.val_points, field.val_targets, val_y)):
                mine = targets == k if several else np.ones(len(targets), dtype=bool)
                self.scatters[(split, label)].setData(x=points[mine, 0], y=y[mine])

    def _label_axes(self, x_label: str, y_label: str) -> None:
        label_style = {"color": style.TEXT.name(), "font-size": style.LABEL_SIZE}
        self.plot_item.setLabel("bottom", x_label, **label_style)
        self.plot_item.setLabel("left", y_label, **label_style)

    def _frame(self, field: PredictionField, rect: QRectF | None) -> None:
        """Fit the view to a new picture, but keep a person's zoom while the same one updates."""
        if rect is None:
            self._rect = None
            self.plot_item.enableAutoRange()
            return
        if self._rect != rect:
            self._rect = rect
            self.plot_item.setRange(rect=rect, padding=0.0)

    def _caption(self, field: PredictionField) -> str:
        def dot(colour: QColor, filled: bool = True) -> str:
            return f"<span style='color:{colour.name()}'>{'●' if filled else '○'}</span>"

        dim = style.DIM_TEXT.name()
        if field.kind != BOUNDARY:
            return (f"<span style='color:{dim}'>line: the model · {dot(style.TRAIN)} training "
                    f"· {dot(style.VALIDATION, False)} validation</span>")
        classes = " ".join(f"{dot(style.class_colour(k))} class {html.escape(name)}"
                           for k, name in enumerate(field.class_names))
        if field.representation == CLASS:
            ground = "background: the predicted class, paler where the model is less sure"
        else:
            name = field.class_names[1] if len(field.class_names) > 1 else "1"
            ground = (f"background: probability of class {html.escape(name)}; "
                      "line: p = 0.5")
        return (f"<span style='color:{dim}'>{classes} &nbsp;·&nbsp; filled: training, "
                f"hollow: validation<br>{ground}</span>")
