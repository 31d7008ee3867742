"""Colours, fonts and axis styling shared by the training plots, matched to the canvas theme.

Everything is set per plot, never through ``pyqtgraph.setConfigOptions``: those options are
global to the process and would restyle any other pyqtgraph view.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QTextCursor, QTransform
from PySide6.QtWidgets import QGraphicsItem

from ..canvas import theme
from .curve import HistoryCurve

BACKGROUND = theme.BACKGROUND
AXIS = QColor("#6b707a")
TEXT = theme.NODE_TEXT
DIM_TEXT = theme.NODE_DIM_TEXT
TITLE_TEXT = theme.NODE_SUBTITLE_TEXT
GRID_ALPHA = 0.12

TRAIN = QColor("#5ec8ff")          # the canvas's highlight blue
VALIDATION = theme.NODE_GRAD_TEXT  # the orange the canvas uses for gradients
MODEL = QColor("#f4f5f7")          # a regression model's fitted curve
RAW_ALPHA = 70                     # the raw curve behind a smoothed one
REFERENCE = QColor("#8a909c")      # guide lines (a rule-of-thumb update ratio)
LEGEND_BRUSH = QColor(29, 31, 36, 200)
LEGEND_PEN = QColor("#3a3e46")

# Class colours: the first two are the ends of the binary heatmap; chosen to be told apart by
# people with the common colour-vision deficiencies (blue/orange first) and on a dark ground.
CLASS_COLOURS = tuple(QColor(c) for c in (
    "#4ea1f3", "#f39c4e", "#6cc46a", "#c07be0", "#e5484d", "#4fd1c5", "#e8d35a", "#a0a4ab",
    "#ff8fb1", "#9b7b5b"))

# From the input side (dark end) to the loss side (bright end); the darkest part of the map is
# left out, as it vanishes against the dark background.
PARAMETER_COLORMAP = "viridis"
PARAMETER_COLORMAP_START = 0.22

TITLE_SIZE = "10pt"
LABEL_SIZE = "9pt"
LEGEND_SIZE = "8pt"
TICK_POINT_SIZE = 8.0
LEFT_AXIS_WIDTH = 46  # the same in every plot, so that plots stacked in a tab line up


# The plots' own colours in the light look; the ones shared with the canvas follow its switch.
_LIGHT = {"AXIS": "#8a909c", "TRAIN": "#1f86cf", "MODEL": "#1f2328", "REFERENCE": "#676d78",
          "LEGEND_BRUSH": "#c8ffffff", "LEGEND_PEN": "#c9cdd4"}
_DARK = {name: globals()[name].name(QColor.HexArgb) for name in _LIGHT}
_TITLE_DARK = QColor(TITLE_TEXT)


def set_dark(dark: bool) -> None:
    """Switch to the dark or light colours; :func:`restyle_plot` then applies them to a plot."""
    global TITLE_TEXT
    for name, value in (_DARK if dark else _LIGHT).items():
        globals()[name].setRgba(QColor(value).rgba())
    # The canvas draws node subtitles in this colour on the coloured header in both looks;
    # plot titles sit on the plot's background instead.
    TITLE_TEXT = QColor(_TITLE_DARK) if dark else QColor("#3a3f47")


# The colours curves and lines are drawn in that a switch of look changes, and what the last
# switch turned each of them into (as RGB): a curve keeps its pen, so restyle_plot repaints it.
_SWITCHING = ("TRAIN", "MODEL", "REFERENCE", "VALIDATION")
_switched: dict[int, QColor] = {}


def drawing_colours() -> dict[str, int]:
    return {name: globals()[name].rgb() for name in _SWITCHING}


def remember_switch(before: dict[str, int]) -> None:
    """After a switch: map each drawing colour's old RGB to its new colour."""
    _switched.clear()
    for name, rgb in before.items():
        if globals()[name].rgb() != rgb:
            _switched[rgb] = QColor(globals()[name])


def _switched_pen(pen: QPen) -> QPen | None:
    """``pen`` in the colour its colour became at the last switch (alpha kept), or None."""
    new = _switched.get(pen.color().rgb())
    if new is None:
        return None
    pen = QPen(pen)
    colour = QColor(new)
    colour.setAlpha(pen.color().alpha())
    pen.setColor(colour)
    return pen


def restyle_plot(plot_widget: pg.PlotWidget) -> None:
    """Give a plot made earlier the current colours: background, axes, labels, legends, and
    the curves and lines drawn in a colour that the switch changed."""
    plot_widget.setBackground(BACKGROUND)
    for item in plot_widget.scene().items():
        if isinstance(item, (pg.PlotDataItem, HistoryCurve)):
            pen = _switched_pen(pg.mkPen(item.opts["pen"]))
            if pen is not None:
                item.setPen(pen)
            if item.opts.get("symbol") is not None:
                pen = _switched_pen(pg.mkPen(item.opts["symbolPen"]))
                if pen is not None:
                    item.setSymbolPen(pen)
                brush = pg.mkBrush(item.opts["symbolBrush"])
                new = _switched.get(brush.color().rgb())
                if new is not None:
                    item.setSymbolBrush(QBrush(new))
        elif isinstance(item, pg.InfiniteLine):
            pen = _switched_pen(item.pen)
            if pen is not None:
                item.setPen(pen)
        elif isinstance(item, pg.AxisItem):
            item.setPen(pg.mkPen(AXIS))
            item.setTextPen(pg.mkPen(TEXT))
            if item.label.isVisible() and item.labelText:
                item.labelStyle = dict(item.labelStyle, color=TEXT.name())
                item._updateLabel()
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(TEXT)  # (for entries added later)
            for _sample, label in item.items:  # entries already there keep their own colour
                label.setText(label.text, color=TEXT.name())
            if item.opts.get("brush") is not None:
                item.setBrush(LEGEND_BRUSH)
            if item.opts.get("pen") is not None:
                item.setPen(LEGEND_PEN)
        elif isinstance(item, pg.PlotItem) and item.titleLabel.text:
            item.setTitle(item.titleLabel.text, color=TITLE_TEXT.name(), size=TITLE_SIZE)


def tick_font() -> QFont:
    font = QFont()
    font.setPointSizeF(TICK_POINT_SIZE)
    return font


def class_colour(k: int) -> QColor:
    return QColor(CLASS_COLOURS[int(k) % len(CLASS_COLOURS)])


def parameter_colours(n: int) -> list[QColor]:
    """n colours of a perceptually ordered map, input side first."""
    if n <= 0:
        return []
    cmap = pg.colormap.get(PARAMETER_COLORMAP)
    if n == 1:
        return [cmap.map(1.0, mode=pg.ColorMap.QCOLOR)]
    step = (1.0 - PARAMETER_COLORMAP_START) / (n - 1)
    return [cmap.map(PARAMETER_COLORMAP_START + k * step, mode=pg.ColorMap.QCOLOR)
            for k in range(n)]


def with_alpha(colour: QColor, alpha: int) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


def style_plot(plot_item: pg.PlotItem, title: str | None = None, x_label: str | None = "step",
               y_label: str | None = None) -> None:
    """Dark-theme axes, a faint grid, readable fonts; the context menu (with Export...) on."""
    plot_item.setMenuEnabled(True)
    # The signal transforms of the menu's "Transforms" (FFT, dy/dx, y' against y, the mean
    # taken off) have no meaning for a training history, and its curves do not take them;
    # the log switches stay.
    ctrl = plot_item.ctrl
    for transform in (ctrl.fftCheck, ctrl.derivativeCheck, ctrl.phasemapCheck,
                      ctrl.subtractMeanCheck):
        transform.setVisible(False)
    plot_item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    font = tick_font()
    for name in ("left", "bottom"):
        axis = plot_item.getAxis(name)
        # An axis draws the grid across the whole plot, so every new curve point repaints it,
        # and replaying its picture of labels and lines is most of a redraw's cost: kept as a
        # pixmap, it is copied unless its own range (ticks, labels) changed.
        axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        axis.setPen(pg.mkPen(AXIS))
        axis.setTextPen(pg.mkPen(TEXT))
        axis.setTickFont(font)
    plot_item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    label_style = {"color": TEXT.name(), "font-size": LABEL_SIZE}
    if x_label:
        plot_item.setLabel("bottom", x_label, **label_style)
    if y_label:
        plot_item.setLabel("left", y_label, **label_style)
    if title:
        set_title(plot_item, title)


def set_title(plot_item: pg.PlotItem, title: str) -> None:
    """Title a plot in the house style, unless it has that title already. A live plot
    retitles at every redraw ("... at step 5464"): setting a title parses its rich text and
    lays the plot out again (about 0.4 ms), so a new plain text the same size as the one
    shown (the same number of digits: they are all one width) only replaces the characters,
    in their style and place."""
    label = plot_item.titleLabel
    if title == label.text:
        return
    if label.text and label.isVisible() and "<" not in title and "&" not in title:
        text_item = label.item
        size = text_item.boundingRect().size()
        cursor = QTextCursor(text_item.document())
        cursor.select(QTextCursor.Document)
        cursor.insertText(title)  # (in the format of the characters it replaces)
        if text_item.boundingRect().size() == size:
            label.text = title
            return
    plot_item.setTitle(title, color=TITLE_TEXT.name(), size=TITLE_SIZE)


def make_legend(**kwargs) -> pg.LegendItem:
    options = {"labelTextSize": LEGEND_SIZE, "labelTextColor": TEXT, "brush": LEGEND_BRUSH,
               "pen": LEGEND_PEN, "verSpacing": -6}
    options.update(kwargs)
    legend = pg.LegendItem(**options)
    # It stands over the curves, so every new point repaints it: kept as a pixmap, its texts
    # are laid out and drawn only when an entry changes.
    legend.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    return legend


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def decade_label(k: int) -> str:
    """10^k as text: "1", "10", then "10⁻³", "10²" and so on."""
    if k == 0:
        return "1"
    if k == 1:
        return "10"
    return "10" + str(k).translate(_SUPERSCRIPT)


class SteadyAxis(pg.AxisItem):
    """An axis that keeps its picture when told a range it already shows, and draws its grid
    lines on whole pixels, antialiased.

    pyqtgraph's axis throws its ticks, labels and grid away on every range it is given, and a
    view box passes its range on at each change of either axis: the bar plot's fixed decades
    were drawn again on every redraw, about 4 ms each. Its label is laid out again only when
    its text changes.

    Its grid lines are the tick pen made faint with alpha, drawn aliased at fractional places,
    which Qt's raster engine blends pixel by pixel: a plot's 167 lines took 11.4 ms, most of a
    plot's painting after a change of range. The same lines put on pixel centres and drawn
    antialiased cover the same single pixels with the same blend, in 1.8 ms."""

    def setRange(self, mn: float, mx: float) -> None:
        if getattr(self, "picture", None) is not None and [mn, mx] == list(self.range):
            return
        super().setRange(mn, mx)

    _label_text: str | None = None  # the label's text as last laid out

    def _updateLabel(self):
        # A view's every change of range asks for the label again (for its SI prefix), and
        # laying out its rich text is most of that: done when the text is new.
        text = self.labelString()
        if text == self._label_text:
            self.picture = None
            self.update()
            return
        self._label_text = text
        super()._updateLabel()

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        view = self.scene().views()[0] if self.scene() is not None and self.scene().views() \
            else None
        # Where the item's own coordinates fall on the screen's pixels (a layout may place it
        # at fractions of a pixel); an axis scaled or turned on screen is drawn as pyqtgraph
        # draws it.
        to_screen = None if view is None else self.deviceTransform(view.viewportTransform())
        if self.grid is False or to_screen is None or \
                to_screen.type() not in (QTransform.TxNone, QTransform.TxTranslate):
            super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
            return
        super().drawPicture(p, axisSpec, [], [])  # the axis line
        dx, dy = to_screen.dx(), to_screen.dy()
        p.save()
        p.setRenderHint(QPainter.Antialiasing, True)
        for pen, start, end in tickSpecs:
            p.setPen(pen)
            # each end at the centre of the screen pixel it falls in, where Qt's aliased
            # drawing puts it (a place on the very edge of two pixels may go to either)
            p.drawLine(QPointF(math.floor(start.x() + dx) + 0.5 - dx,
                               math.floor(start.y() + dy) + 0.5 - dy),
                       QPointF(math.floor(end.x() + dx) + 0.5 - dx,
                               math.floor(end.y() + dy) + 0.5 - dy))
        p.restore()
        super().drawPicture(p, axisSpec, [], textSpecs)  # the labels, over the lines


class DecadeAxis(SteadyAxis):
    """An axis whose log mode labels whole decades alike (10⁻⁶, 10⁻⁴, ...), and leaves the
    ticks between them unlabelled once a whole decade is in view: pyqtgraph's own labels mix
    0.01 with 10⁻⁶, and crowd the in-between ticks on a short axis."""

    def tickStrings(self, values, scale, spacing):
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        low, high = sorted(self.range)
        if spacing is None and high - low < 1.0:  # less than a decade: label what is there
            return super().tickStrings(values, scale, spacing)
        return [decade_label(round(v)) if abs(v - round(v)) < 1e-9 else "" for v in values]
