"""The curve of one history column over the steps: what a live plot gives new points at every
redraw, tens of times a second, 22 of them on a deep net's gradients tab.

pyqtgraph's :class:`~pyqtgraph.PlotDataItem` wraps a :class:`~pyqtgraph.PlotCurveItem` and a
scatter item, and maps, downsamples and bounds its points again at every change of the data
or of the view's range: about 0.15 ms a curve a redraw, most of the tab's redraw. This item is
the curve item itself with the two things a history needs of the wrapper: a log axis, and
downsampling to a few bins per pixel that keeps each bin's lowest and highest points
(pyqtgraph's "peak" method, done the same way, so that a curve is drawn as before). The points
it is given are kept as given (:meth:`getOriginalDataset`, what the CSV export writes); those
drawn are :meth:`getData`'s. Drawing, bounds and legends are the curve item's own.
"""

from __future__ import annotations

import bisect
import warnings

import math

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem

EMPTY = np.zeros(0)

# Bins of a long run's history per pixel of the plot's width that a curve draws, each as its
# lowest and highest value. pyqtgraph's default of 5 drew 3,300 points of a 5,000-step run
# across 500 pixels; a wide pen strokes each of its segments apart, so 2 per pixel halves the
# cost of painting a loss curve (2.0 -> 1.1 ms) and the picture is the same.
BINS_PER_PIXEL = 2.0

# pyqtgraph's guard against drawing far outside the view (Qt's painter misdraws huge
# coordinates): points more than this many view heights off the view are drawn at that place.
RANGE_LIMIT = 1e6


class _Binned:
    """What a history curve and a family of curves over the same steps share: the plot's log
    switches, downsampling and clipping settings, and which of the points to draw for the
    view (the display key, the bins, the range limits). Subclasses keep their given points
    mapped to the axes in ``_mapped`` and draw them in ``_show``."""

    _given_x: np.ndarray | None = None
    _mapped: tuple | None = None  # the given points, log axes applied
    _log = (False, False)
    _drawn_as: tuple | None = None  # (downsampling factor, first and last index) drawn
    _range_clipped = False  # whether points far off the view were drawn at its limits
    # What every training plot sets (``PlotPanel``); a plot's own settings reach its curves
    # when they change. (replaced, never changed in place: the class's is the default)
    downsample_options = {"factor": 1, "auto": True, "method": "peak",
                          "bins_per_pixel": BINS_PER_PIXEL, "clip": True}

    def _show(self) -> None:
        raise NotImplementedError

    def setLogMode(self, x_log: bool, y_log: bool) -> None:
        if (bool(x_log), bool(y_log)) != self._log:
            self._log = (bool(x_log), bool(y_log))
            self._mapped = None
            self._show()

    def setDownsampling(self, ds=None, auto=None, method=None) -> None:
        options = dict(self.downsample_options)
        if ds is not None:
            options["factor"] = max(1, int(ds))
        if auto is not None:
            options["auto"] = bool(auto)
        if method is not None:
            options["method"] = method
        if options != self.downsample_options:
            self.downsample_options = options
            self._show()

    def setClipToView(self, clip: bool) -> None:
        options = dict(self.downsample_options, clip=bool(clip))
        if options != self.downsample_options:
            self.downsample_options = options
            self._show()

    def _display_key(self, x: np.ndarray, y: np.ndarray) -> tuple:
        """(downsampling factor, first and last index drawn) for the view as it is."""
        options = self.downsample_options
        view = self.getViewBox()
        ds = options["factor"]
        if view is None or len(x) < 2:
            return (1, 0, len(x))
        view_range = view.viewRect()
        if options["auto"]:
            dx = float(x[-1] - x[0]) / (len(x) - 1)
            width = view.width()
            if dx != 0.0 and width != 0.0 and np.isfinite(dx):
                ds_float = max(1.0, abs(view_range.width() / dx
                                        / (width * options["bins_per_pixel"])))
                if np.isfinite(ds_float):
                    ds = int(ds_float)
        first, last = 0, len(x)
        if options["clip"] and not view.autoRangeEnabled()[0]:
            # one downsampled point past each edge, so that the curve reaches the edges
            first = min(max(bisect.bisect_left(x, view_range.left()) - ds, 0), len(x))
            last = min(max(bisect.bisect_left(x, view_range.right()) + ds, first), len(x))
        return (ds, first, last)

    def _drawn_rows(self, x: np.ndarray, rows: np.ndarray) -> tuple:
        """What is drawn of mapped points over the steps ``x``, for each row of ``rows``
        (curves over the same steps in the same view): (display key, steps drawn, rows drawn,
        whether each row was clipped to the range limits, whether each row is finite)."""
        key = self._display_key(x, x)  # (the key reads the steps and the view alone)
        ds, first, last = key
        x, rows = x[first:last], rows[:, first:last]
        if ds > 1:
            x, rows = _downsampled(x, rows, ds, self.downsample_options["method"])
        limits = self._range_limits()
        with np.errstate(invalid="ignore"):
            far = None if limits is None else \
                np.isfinite(rows) & ((rows < limits[0]) | (rows > limits[1]))
        clipped = np.zeros(len(rows), bool) if far is None else far.any(axis=1)
        if clipped.any():  # (infinities stay: drawn as gaps, as NaN is)
            rows = rows.copy()
            rows[far] = np.clip(rows[far], *limits)
        finite = np.isfinite(rows).all(axis=1) & bool(np.isfinite(x).all())
        return key, x, rows, clipped, finite

    def _range_limits(self) -> tuple[float, float] | None:
        """The lowest and highest place a point is drawn at, RANGE_LIMIT view heights off."""
        view = self.getViewBox()
        if view is None:
            return None
        bottom, top = view.viewRange()[1]
        height = top - bottom
        if not height > 0:
            return None
        return bottom - RANGE_LIMIT * height, top + RANGE_LIMIT * height

    @staticmethod
    def _beyond(limits, low, high) -> bool:
        return limits is not None and low is not None and (low < limits[0] or high > limits[1])

    def _padded_bounds(self, pad: float) -> QRectF | None:
        """The drawn points' bounds with ``pad`` pixels (the pen's width) around them, as the
        curve item pads them: a view's pixel in the curve's units, read off the transform to
        the screen (not mapped vectors); None for a view turned on screen."""
        (left, right), (low, high) = self.dataBounds(0), self.dataBounds(1)
        if left is None or low is None:
            return QRectF()
        px = py = 0.0
        screen = self.deviceTransform_() if pad > 0 else None
        if screen is not None:
            if screen.m12() or screen.m21():
                return None
            px = pad / abs(screen.m11()) if screen.m11() else 0.0
            py = pad / abs(screen.m22()) if screen.m22() else 0.0
        return QRectF(left - px, low - py, 2 * px + right - left, 2 * py + high - low)


class HistoryCurve(_Binned, pg.PlotCurveItem):
    """A curve over steps (x increasing) for a :class:`~pyqtgraph.PlotItem`, answering the
    plot's log switches, downsampling and clipping settings and its alpha as a data item does
    (``PlotItem.setLogMode``, ``setDownsampling``, ``setClipToView``, the context menu)."""

    # (class defaults: the curve item's constructor already sets data)
    _given_y: np.ndarray | None = None
    _bounds = (None, None)  # the drawn points' (lowest, highest) step and value, when known

    _dots: np.ndarray | None = None  # the finite points drawn (a row each), for their dots

    def __init__(self, pen=None, name: str | None = None, dot_size: float = 0.0,
                 dot_brush=None):
        """``dot_size`` > 0 draws a round dot of that many pixels on each point, in
        ``dot_brush`` (the data item's ``symbol="o"``, ``symbolBrush``, ``symbolPen=None``)."""
        super().__init__()
        self.opts["name"] = name
        self.setPen(pen if pen is not None else "w")
        if dot_size:
            # (the legend's sample draws a curve item's symbol from "size", "pen", "brush")
            self.opts.update(symbol="o", size=dot_size, symbolSize=dot_size, symbolPen=None)
            self.setSymbolBrush(dot_brush)

    def setSymbolBrush(self, brush) -> None:
        self.opts["symbolBrush"] = self.opts["brush"] = pg.mkBrush(brush)
        self.update()

    def setSymbolPen(self, pen) -> None:  # (dots have no outline: kept for the legend)
        self.opts["symbolPen"] = pen

    # -- data ---------------------------------------------------------------------------
    def setData(self, x=None, y=None) -> None:
        """Draw these points (steps increasing)."""
        if x is not None or y is not None:
            y = EMPTY if y is None else np.asarray(y).reshape(-1)
            x = np.arange(len(y), dtype=float) if x is None else np.asarray(x).reshape(-1)
            if x.shape != y.shape:
                raise ValueError(f"{len(x)} steps but {len(y)} values")
            self._given_x, self._given_y = x, y
            self._mapped = None
        self._show()

    def clear(self) -> None:
        self._given_x = self._given_y = self._mapped = None
        super().clear()

    def getOriginalDataset(self):
        """The points given, before mapping to a log axis and downsampling."""
        return self._given_x, self._given_y

    # -- what the plot asks of its data items -------------------------------------------
    def setAlpha(self, alpha: float, auto: bool) -> None:
        self.setOpacity(alpha)

    def viewRangeChanged(self, *args) -> None:
        # A new range redraws the points only when it changes which of them are drawn (the
        # downsampling factor or, zoomed in, the window clipped) or where: points far off
        # the view.
        if self._given_x is None:
            return
        if self._display_key(*self._mapped_data()) != self._drawn_as or self._range_clipped \
                or self._beyond(self._range_limits(), *super().dataBounds(1)):
            self._show()

    # -- drawing ------------------------------------------------------------------------
    def _mapped_data(self) -> tuple[np.ndarray, np.ndarray]:
        if self._mapped is None:
            x, y = self._given_x, self._given_y
            if x is None:
                x = y = EMPTY
            self._mapped = (_log10_or_nan(x) if self._log[0] else x,
                            _log10_or_nan(y) if self._log[1] else y)
        return self._mapped

    def _show(self) -> None:
        x, y = self._mapped_data()
        key, x, rows, clipped, finite = self._drawn_rows(x, y[None, :])
        self._range_clipped, self._drawn_as = bool(clipped[0]), key
        self._bounds = _bounds_of(x, rows[0])
        self._dots = None
        super().setData(x=x, y=rows[0], connect="all" if finite[0] else "finite")

    def paint(self, painter: QPainter, option, widget=None) -> None:
        super().paint(painter, option, widget)
        size = self.opts.get("symbolSize")
        if not size or self.xData is None or not len(self.xData):
            return
        if self._dots is None:
            drawn = np.isfinite(self.xData) & np.isfinite(self.yData)
            self._dots = np.column_stack([self.xData[drawn], self.yData[drawn]])
        draw_dots(painter, self._dots, size, self.opts["symbolBrush"].color())

    def pixelPadding(self) -> float:
        size = self.opts.get("symbolSize")
        return max(super().pixelPadding(), 0.5 * size + 1.0) if size else super().pixelPadding()

    # -- bounds, asked for several times a redraw by the view and the scene ---------------
    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        """The curve item's bounds of the points drawn, known since they were binned (the
        item's own finds them again, with NaN-aware reductions and warnings caught, after
        every change of the data or the view's transform)."""
        bounds = self._bounds[ax] if frac >= 1.0 and orthoRange is None else None
        if bounds is None or not self.opts["pen"].isCosmetic():
            return super().dataBounds(ax, frac, orthoRange)
        return bounds

    def boundingRect(self) -> QRectF:
        if self._boundingRect is None:
            rect = self._padded_bounds(self.pixelPadding())
            if rect is None:
                return super().boundingRect()  # (a rotated view)
            if rect.isNull():
                return rect  # (nothing drawn: asked again once there is)
            self._boundingRect = rect
        return self._boundingRect




class CurveFamily(_Binned, pg.GraphicsObject):
    """Curves over the same steps, one per row, in one view: drawn by this one item, which
    bins every row at once and bounds them together. A deep net's gradients tab had 21 curve
    items redrawn tens of times a second, each given its points, bounded and painted apart
    (and asked for its bounds by the scene): the per-item work was most of the tab's redraw.

    Each row has a :class:`FamilyCurve` (``members``), a data item that draws nothing and
    stands for its row where the plot looks for curves: the legend (its sample, and hiding
    the row with a click), the CSV export, the plot's log, downsampling and clip switches,
    ``getData`` and ``getOriginalDataset``. Add the members to the plot and the family to its
    view box (:meth:`add_to`)."""

    def __init__(self, pens: list, names: list[str], made: int | None = None):
        """Rows drawn with ``pens``, named ``names``; the first ``made`` members made now
        (all by default), the others by :meth:`make_more` (a plot out of view makes them a
        few an event-loop turn: 22 in one turn were its longest stall at a run's start).
        Only a family with all its members takes data."""
        super().__init__()
        self._given_rows: np.ndarray | None = None  # (a row per curve)
        self._given_list: list[np.ndarray] = []  # the same rows, the very arrays given
        self._drawn: tuple[np.ndarray, np.ndarray] = (EMPTY, np.zeros((len(pens), 0)))
        self._row_bounds: list[tuple] = [((None, None), (None, None))] * len(pens)
        self._connect = ["all"] * len(pens)
        self._paths: list = [None] * len(pens)
        self._boundingRect: QRectF | None = None
        self._united: dict[tuple, tuple] = {}  # dataBounds' answers since the rows last changed
        self._pens, self._names = list(pens), list(names)
        self.members: list[FamilyCurve] = []
        self._make_members(len(pens) if made is None else made)

    @property
    def unmade(self) -> int:
        """How many members are still to be made."""
        return len(self._pens) - len(self.members)

    def _make_members(self, count: int) -> list:
        start = len(self.members)
        made = [FamilyCurve(self, k, self._pens[k], self._names[k])
                for k in range(start, min(start + count, len(self._pens)))]
        self.members.extend(made)
        return made

    def make_more(self, plot_item: pg.PlotItem, count: int | None = None) -> None:
        """Make ``count`` more members (all that are left by default), in ``plot_item``."""
        for member in self._make_members(self.unmade if count is None else count):
            plot_item.addItem(member)

    def add_to(self, plot_item: pg.PlotItem) -> None:
        plot_item.vb.addItem(self)
        for member in self.members:
            plot_item.addItem(member)

    def remove_from(self, plot_item: pg.PlotItem) -> None:
        for member in self.members:
            plot_item.removeItem(member)
        plot_item.vb.removeItem(self)

    # -- data ---------------------------------------------------------------------------
    def setData(self, x, rows) -> None:
        """Draw row k of ``rows`` as curve k over the steps ``x`` (increasing)."""
        x = np.asarray(x, dtype=float).reshape(-1)
        rows = [np.asarray(row, dtype=float).reshape(-1) for row in rows]
        if self.unmade:
            raise ValueError(f"{self.unmade} of the family's {len(self._pens)} members are "
                             "still to be made")
        if len(rows) != len(self.members) or any(len(row) != len(x) for row in rows):
            raise ValueError(f"{len(self.members)} rows of {len(x)} points expected")
        self._given_x, self._given_list = x, rows  # (kept as given, for the CSV export)
        self._given_rows = np.stack(rows) if rows else np.zeros((0, len(x)))
        self._mapped = None
        self._show()

    def shows(self, x, rows) -> bool:
        """Whether these are the points given last (NaN gaps alike)."""
        given = self._given_rows
        return given is not None and np.array_equal(self._given_x, x) and \
            len(rows) == len(given) and all(np.array_equal(g, np.asarray(row), equal_nan=True)
                                            for g, row in zip(given, rows))

    def given_row(self, k: int) -> tuple:
        if self._given_rows is None:
            return None, None
        return self._given_x, self._given_list[k]

    def drawn_row(self, k: int) -> tuple:
        return self._drawn[0], self._drawn[1][k]

    # -- drawing ------------------------------------------------------------------------
    def _mapped_data(self) -> tuple[np.ndarray, np.ndarray]:
        if self._mapped is None:
            x = EMPTY if self._given_x is None else self._given_x
            rows = np.zeros((len(self.members), 0)) if self._given_rows is None \
                else self._given_rows
            self._mapped = (_log10_or_nan(x) if self._log[0] else x,
                            _log10_or_nan(rows) if self._log[1] else rows)
        return self._mapped

    def _show(self) -> None:
        key, x, rows, clipped, finite = self._drawn_rows(*self._mapped_data())
        self.prepareGeometryChange()
        self._drawn_as, self._range_clipped = key, bool(clipped.any())
        self._drawn = (x, rows)
        self._row_bounds = [_bounds_of(x, row) for row in rows]
        self._united = {}
        self._connect = ["all" if f else "finite" for f in finite]
        self._paths = [None] * len(rows)
        self._boundingRect = None
        self.informViewBoundsChanged()
        self.update()

    def viewRangeChanged(self, *args) -> None:
        # (as a history curve: drawn again only when the view changes which points show)
        if self._given_x is None:
            return
        low, high = self.dataBounds(1, visible_only=False)
        if self._display_key(*self._mapped_data()) != self._drawn_as or self._range_clipped \
                or self._beyond(self._range_limits(), low, high):
            self._show()

    def viewTransformChanged(self) -> None:
        # (the pen's padding is in pixels: a new zoom makes it another width in data units)
        self._boundingRect = None
        self.prepareGeometryChange()

    def row_visibility_changed(self) -> None:
        self.prepareGeometryChange()
        self._boundingRect = None
        self._united = {}
        self.informViewBoundsChanged()
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        x, rows = self._drawn
        if not len(x):
            return
        painter.setRenderHint(QPainter.Antialiasing, bool(pg.getConfigOption("antialias")))
        for k, member in enumerate(self.members):
            pen = member.opts["pen"]
            if not member.isVisible() or pen is None or pen.style() == Qt.NoPen:
                continue
            if self._paths[k] is None:
                self._paths[k] = pg.arrayToQPath(x, rows[k], connect=self._connect[k])
            painter.setPen(pen)
            painter.drawPath(self._paths[k])

    # -- bounds -------------------------------------------------------------------------
    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None, visible_only=True):
        """The drawn points' bounds over the rows shown (rows hidden from the legend count
        as a hidden curve does: not at all). The view and the scene ask several times a
        redraw: worked out once per change of the rows or of which are shown."""
        united = self._united.get((ax, visible_only))
        if united is None:
            united = self._united[(ax, visible_only)] = self._unite(ax, visible_only)
        return united

    def _unite(self, ax: int, visible_only: bool) -> tuple:
        lows, highs = [], []
        for member, bounds in zip(self.members, self._row_bounds):
            low, high = bounds[ax] if bounds[ax] is not None else (None, None)
            # (a row of gaps alone is bounded by NaN: nothing of it to frame)
            if low is None or not math.isfinite(low) or (visible_only and not member.isVisible()):
                continue
            lows.append(low)
            highs.append(high)
        return (min(lows), max(highs)) if lows else (None, None)

    def pixelPadding(self) -> float:
        # (as the curve item pads a cosmetic pen)
        return max((m.opts["pen"].widthF() * 0.7072 for m in self.members
                    if m.opts["pen"] is not None and m.opts["pen"].isCosmetic()), default=0.0)

    def boundingRect(self) -> QRectF:
        if self._boundingRect is None:
            # (a view turned on screen, which no plot here has: the points unpadded)
            rect = self._padded_bounds(self.pixelPadding()) or self._padded_bounds(0.0)
            if rect.isNull():
                return rect
            self._boundingRect = rect
        return self._boundingRect


class FamilyCurve(pg.PlotDataItem):
    """One row of a :class:`CurveFamily`, where a plot looks for its curves. It holds no
    points of its own and draws nothing: it reads its row from the family, and passes the
    plot's settings and its visibility on to it."""

    # The family frames its rows: a view box skips a data item without data bounds that draws
    # nothing at once, where it measured, mapped and dropped each member at every auto-range.
    dataBounds = None

    def __init__(self, family: CurveFamily, index: int, pen, name: str):
        super().__init__(pen=pen, name=name)
        self.family, self.index = family, index

    def getData(self):
        return self.family.drawn_row(self.index)

    def getOriginalDataset(self):
        return self.family.given_row(self.index)

    def setLogMode(self, x_log: bool, y_log: bool) -> None:
        super().setLogMode(x_log, y_log)
        self.family.setLogMode(x_log, y_log)

    def setDownsampling(self, ds=None, auto=None, method=None) -> None:
        super().setDownsampling(ds, auto, method)
        self.family.setDownsampling(ds, auto, method)

    def setClipToView(self, clip: bool) -> None:
        super().setClipToView(clip)
        self.family.setClipToView(clip)

    def itemChange(self, change, value):
        # Shown or hidden however it happened (the legend's sample clicked, the plot's "max
        # traces", Qt's own show and hide): the family draws and bounds the rows shown.
        value = super().itemChange(change, value)
        if change == QGraphicsItem.ItemVisibleHasChanged and \
                getattr(self, "family", None) is not None:
            self.family.row_visibility_changed()
        return value


def draw_dots(painter: QPainter, points: np.ndarray, diameter: float, colour: QColor) -> None:
    """A round dot ``diameter`` pixels wide in ``colour`` centred on each point (a row of x, y
    in the painter's coordinates): one disc drawn once, then copied to every place in one
    call. Stroking each point with a round pen of that width, as ``drawPoints`` does, was
    10 to 20 times slower: a validation curve's hundreds of dots were a third of its plot's
    painting. (pyqtgraph's scatter item copies its symbols the same way.)"""
    if not len(points):
        return
    ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
    disc = _disc(diameter, colour, ratio)
    to_screen = painter.transform()  # (a plot's view: scaled and moved, never turned)
    fragments = np.empty((len(points), 10))
    fragments[:, 0] = to_screen.m11() * points[:, 0] + to_screen.m21() * points[:, 1] \
        + to_screen.dx()
    fragments[:, 1] = to_screen.m12() * points[:, 0] + to_screen.m22() * points[:, 1] \
        + to_screen.dy()
    np.clip(fragments[:, :2], -2.0 ** 30, 2.0 ** 30, out=fragments[:, :2])  # (Qt misdraws more)
    # each: centre x, y; the disc's source rectangle (in its pixels); scale x, y (its pixels
    # to the painter's); rotation; opacity (the painter's own applies as well)
    fragments[:, 2:6] = (0.0, 0.0, disc.width(), disc.height())
    fragments[:, 6:10] = (1.0 / ratio, 1.0 / ratio, 0.0, 1.0)
    painter.save()
    painter.resetTransform()
    # (QPainter takes the fragments as a C array: the first of them, wrapped, and the count)
    first = shiboken6.wrapInstance(fragments.ctypes.data, QPainter.PixmapFragment)
    painter.drawPixmapFragments(first, len(fragments), disc)
    painter.restore()


_discs: dict[tuple, QPixmap] = {}


def _disc(diameter: float, colour: QColor, ratio: float) -> QPixmap:
    """An antialiased disc ``diameter`` pixels wide (``ratio`` device pixels each) on a clear
    square an odd number of device pixels wide, so that its centre is a pixel's centre."""
    key = (float(diameter), colour.rgba(), float(ratio))
    disc = _discs.get(key)
    if disc is None:
        side = int(math.ceil(diameter * ratio)) | 1
        disc = QPixmap(side, side)
        disc.fill(Qt.transparent)
        painter = QPainter(disc)
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.setPen(Qt.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(side / 2, side / 2), diameter * ratio / 2,
                            diameter * ratio / 2)
        painter.end()
        _discs[key] = disc
    return disc


def _bounds_of(x: np.ndarray, y: np.ndarray) -> tuple:
    """((first step, last step), (lowest, highest value)) of points to draw, as the curve item
    bounds them (NaN ignored, infinities left out, all-NaN values bounded by NaN); None where
    not known cheaply (steps not all finite)."""
    if not len(x):
        return ((None, None), (None, None))
    steps = (float(x[0]), float(x[-1])) if math.isfinite(x[0]) and math.isfinite(x[-1]) \
        and np.isfinite(x).all() else None
    low, high = float(np.fmin.reduce(y)), float(np.fmax.reduce(y))
    if math.isinf(low) or math.isinf(high):
        finite = y[np.isfinite(y)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (None, None)
    return (steps, (low, high))


def _log10_or_nan(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.log10(values)
    out[~np.isfinite(out)] = np.nan
    return out


def _downsampled(x: np.ndarray, y: np.ndarray, ds: int, method: str):
    """Every ``ds`` points as one (pyqtgraph's methods, computed as it computes them), for
    the values ``y`` of one curve or a row per curve (the last axis along ``x``)."""
    if method == "subsample":
        return x[::ds], y[..., ::ds]
    n = len(x) // ds
    centre = ds // 2  # a bin's step: a somewhat centred point of it
    lead = y.shape[:-1]
    bins = y[..., :n * ds].reshape(lead + (n, ds))
    if method == "mean":
        return x[centre:centre + n * ds:ds], bins.mean(axis=-1)
    values = np.empty(lead + (n, 2))
    highest, lowest = values[..., 0], values[..., 1]
    if ds <= _FEW:
        # column by column: NumPy reduces a short axis of many rows slowly (120 us for a
        # 5,000-point curve in bins of 2, against 4 us this way; the same numbers)
        highest[...], lowest[...] = bins[..., 0], bins[..., 0]
        for column in range(1, ds):
            np.maximum(highest, bins[..., column], out=highest)
            np.minimum(lowest, bins[..., column], out=lowest)
    else:
        highest[...], lowest[...] = bins.max(axis=-1), bins.min(axis=-1)
    return np.repeat(x[centre:centre + n * ds:ds], 2), values.reshape(lead + (n * 2,))


_FEW = 16  # bins up to this wide are reduced column by column
