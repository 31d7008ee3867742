"""The wires: one per graph edge (EdgeItem), the layer that draws all idle wires in one paint
call (WireLayerItem), and the wire that follows the cursor while a connection is dragged
(DragWireItem).

Like the nodes, wires only draw and describe themselves; gradient colouring is a plain setter
for the backward view.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPainterPathStroker
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from bpstudio.core.graph import Edge

from . import theme
from .paint import (ANTIALIASING, HAS_NO_CONTENTS, NO_BRUSH, PENS, SCENE_CHANGED,
                    SELECTED_CHANGED, VISIBLE_CHANGED, WIRE_FLAGS)

if TYPE_CHECKING:  # named in hints only: at runtime wires need nothing but paint
    from .port_item import PortItem


# A wire going back left over more than this height (to the next band of a wrapped layout)
# runs across between the rows rather than diagonally over the cards.
RETURN_HEIGHT = 120.0


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from an output (``start``) to an input (``end``): wires leave
    to the right and arrive from the left, and bow outwards when the input lies to the left;
    far to the left and well below or above, a wire turns back at mid-height and runs along it."""
    dx = end.x() - start.x()
    path = QPainterPath(start)
    if dx < 0 and abs(end.y() - start.y()) > RETURN_HEIGHT:
        mid, r = (start.y() + end.y()) / 2, 40.0
        path.cubicTo(QPointF(start.x() + 1.5 * r, start.y()), QPointF(start.x() + 1.5 * r, mid),
                     QPointF(start.x(), mid))
        path.lineTo(QPointF(end.x(), mid))
        path.cubicTo(QPointF(end.x() - 1.5 * r, mid), QPointF(end.x() - 1.5 * r, end.y()), end)
        return path
    reach = max(abs(dx) * 0.5, 60.0 if dx < 0 else 30.0)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


def wire_bounds(sx: float, sy: float, ex: float, ey: float, margin: float) -> QRectF:
    """A rectangle holding the wire :func:`wire_path` draws from (sx, sy) to (ex, ey), with
    ``margin`` around: the box of its control points (a cubic stays inside them), worked out
    from the two ends without building the curve."""
    dx = ex - sx
    if dx < 0 and abs(ey - sy) > RETURN_HEIGHT:
        left, right = ex - 60.0, sx + 60.0  # the turns: 1.5 * 40 out beyond each end
    else:
        reach = max(abs(dx) * 0.5, 60.0 if dx < 0 else 30.0)
        left, right = min(sx, ex - reach), max(ex, sx + reach)
    top, bottom = (sy, ey) if sy <= ey else (ey, sy)
    return QRectF(left - margin, top - margin, right - left + 2 * margin,
                  bottom - top + 2 * margin)


class EdgeItem(QGraphicsItem):
    """A wire from an output port to an input port. Selectable; coloured by gradient magnitude
    when one is set.

    The wire is the hit area, the selection and the tooltip; the scene's WireLayerItem draws
    every wire that is not selected in one paint call (hundreds of wires cost hundreds of
    paint calls otherwise), and a selected wire draws itself, on top.
    """

    def __init__(self, edge: Edge, source: PortItem, target: PortItem):
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        # (Stacked by the default z, 0: over the wire layer, -1, and under the nodes, 1.)
        self.setFlags(WIRE_FLAGS)
        self._colour = theme.WIRE_COLOUR
        self._pen = PENS.wire
        source.node_item.edges.add(self)
        target.node_item.edges.add(self)
        source.set_connected(True)
        target.set_connected(True)
        self._follow_ports()  # (in no scene yet: no layer to redraw)

    _gradient: float | None = None
    _scale_max = 1.0
    in_layer = True  # drawn by the wire layer: shown and not selected

    def detach(self) -> None:
        """Forget the ports (the wire is being removed)."""
        self.source.node_item.edges.discard(self)
        self.target.node_item.edges.discard(self)
        self.target.set_connected(False)
        if not any(e.source is self.source for e in self.source.node_item.edges):
            self.source.set_connected(False)
        self._redraw_in_layer()

    def _layer(self) -> "WireLayerItem | None":
        return getattr(self.scene(), "wire_layer", None)

    def _redraw_in_layer(self) -> None:
        layer = self._layer()
        if layer is not None:
            layer.wire_changed(self._bounds)

    def update_path(self) -> None:
        """Follow the ports. The curve itself is made when it is first drawn or hit-tested:
        most wires of a large graph are out of view, and building every curve was much of
        the time the graph took to open."""
        self._redraw_in_layer()  # where the wire was
        self.prepareGeometryChange()
        self._follow_ports()
        self._redraw_in_layer()  # and where it is now

    def _follow_ports(self) -> None:
        self._ends = (*self.source.scene_xy(), *self.target.scene_xy())
        self._path: QPainterPath | None = None
        self._hit: QPainterPath | None = None
        self._bounds = wire_bounds(*self._ends, 6.0)

    def _make_curve(self) -> None:
        sx, sy, ex, ey = self._ends
        self._path = wire_path(QPointF(sx, sy), QPointF(ex, ey))
        # The curve as a line strip, flattened once here rather than at every paint.
        self._strip = self._path.toSubpathPolygons()[0]
        self._shifted_scale = 0.0  # the shifted copy is made at the next paint

    @property
    def path(self) -> QPainterPath:
        if self._path is None:
            self._make_curve()
        return self._path

    def set_gradient_magnitude(self, magnitude: float | None, scale_max: float = 1.0) -> None:
        """Colour the wire by the size of the gradient it carries (log scale up to
        ``scale_max``); None goes back to the plain colour."""
        if (magnitude, scale_max) == (self._gradient, self._scale_max):
            return  # (every rerun sets every wire: most do not change)
        self._gradient, self._scale_max = magnitude, scale_max
        self.restyle()

    def restyle(self) -> None:
        """Take the pen for the current gradient from the theme's current colours."""
        magnitude, scale_max = self._gradient, self._scale_max
        if magnitude is None or not math.isfinite(magnitude):
            self._colour = theme.WIRE_COLOUR
            self._pen = PENS.wire
        else:
            top = max(scale_max, 1e-12)
            t = 1.0 + math.log10(max(magnitude, 1e-12) / top) / 6.0  # six decades to the top
            t = min(max(t, 0.0), 1.0)
            lo, hi = theme.GRADIENT_LOW, theme.GRADIENT_HIGH
            self._colour = QColor.fromRgbF(lo.redF() + (hi.redF() - lo.redF()) * t,
                                           lo.greenF() + (hi.greenF() - lo.greenF()) * t,
                                           lo.blueF() + (hi.blueF() - lo.blueF()) * t)
            self._pen = theme.cosmetic_pen(self._colour, 1.0)
        self._redraw_in_layer()
        self.update()

    @property
    def gradient_magnitude(self) -> float | None:
        return self._gradient

    @property
    def colour(self) -> QColor:
        return self._colour

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._hit is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(theme.WIRE_HIT_WIDTH)
            self._hit = stroker.createStroke(self.path)
        return self._hit

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        # (Compared by identity: ``in`` a tuple of enum members runs Python code per member.
        # Qt calls this a few times for every wire it adds, and once more when it first shows
        # it (its "polish", telling it that it is visible): the layer redraws only when the
        # wire joins or leaves it. The value goes back as it came, as QGraphicsItem's own
        # itemChange gives it back.)
        if change is SELECTED_CHANGED or change is VISIBLE_CHANGED:
            in_layer = self.isVisible() and not self.isSelected()
            if in_layer != self.in_layer:
                self.in_layer = in_layer
                self.setFlag(HAS_NO_CONTENTS, in_layer)
                self._redraw_in_layer()
        elif change is SCENE_CHANGED:
            layer = getattr(value, "wire_layer", None)  # (the scene joined; None: it left one)
            if layer is not None:
                layer.wire_changed(self._bounds)
        return value

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        # Only a selected wire comes here; the layer draws the others.
        painter.setBrush(NO_BRUSH)
        painter.setRenderHint(ANTIALIASING, True)
        painter.setPen(PENS.wire_selected)
        painter.drawPath(self.path)

    def paint_in_layer(self, painter: QPainter, scale: float, double: bool = True) -> None:
        """Two antialiased one-pixel strokes a pixel apart read as a smooth wire about two
        pixels wide, and Qt draws one-pixel cosmetic strokes several times faster than wide
        ones; ``double`` False draws the first only. The second stroke is a shifted copy of
        the strip: moving the painter instead costs more than the stroke (a transform change
        resets the paint engine's state)."""
        if self._path is None:
            self._make_curve()
        painter.setPen(self._pen)
        painter.drawPolyline(self._strip)
        if not double:
            return
        if self._shifted_scale != scale:
            step = 0.75 / scale
            self._shifted = self._strip.translated(step, step)
            self._shifted_scale = scale
        painter.drawPolyline(self._shifted)


class WireLayerItem(QGraphicsItem):
    """Draws every shown, unselected wire of the scene in one paint call, under the nodes.
    It has no shape, so clicks and hovers find the wires themselves."""

    zooming = False  # set by the scene while a zoom goes on

    def __init__(self, edges: dict) -> None:
        super().__init__()
        self._edges = edges  # the scene's wires, by key
        self._bounds = QRectF()
        self.setZValue(-1)
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption, True)  # for exposedRect
        self.setAcceptedMouseButtons(Qt.NoButton)

    def wire_changed(self, rect: QRectF) -> None:
        """A wire appeared, moved, changed colour or left the layer within ``rect``."""
        if rect.isEmpty():
            return
        if not self._bounds.contains(rect):
            self.prepareGeometryChange()
            self._bounds = self._bounds.united(rect) if not self._bounds.isEmpty() else QRectF(rect)
        self.update(rect)

    def wires_added(self, wires: Iterable[EdgeItem]) -> None:
        """Many wires appeared at once (a graph was shown): the layer is grown once to hold
        them all rather than once per wire."""
        bounds = [wire.boundingRect() for wire in wires]
        if not bounds:
            return
        left = min(rect.left() for rect in bounds)
        top = min(rect.top() for rect in bounds)
        right = max(rect.right() for rect in bounds)
        bottom = max(rect.bottom() for rect in bounds)
        self.wire_changed(QRectF(left, top, right - left, bottom - top))

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        exposed = option.exposedRect
        wires = [e for e in self._edges.values() if e.in_layer and e._bounds.intersects(exposed)]
        painter.setBrush(NO_BRUSH)
        if widget is None:
            # Rendering for an export (no view): the slower, exact wide stroke.
            painter.setRenderHint(ANTIALIASING, True)
            for wire in wires:
                painter.setPen(theme.pen(wire.colour, theme.WIRE_WIDTH))
                painter.drawPath(wire.path)
            return
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        if scale < theme.DETAIL_ZOOM:
            painter.setRenderHint(ANTIALIASING, False)
            for wire in wires:
                painter.setPen(PENS.wire_far if wire.gradient_magnitude is None else wire._pen)
                painter.drawPath(wire.path)
            return
        painter.setRenderHint(ANTIALIASING, True)
        # While a zoom goes on, one stroke per wire (a thinner line until zooming stops): the
        # second stroke is a third of a zoom frame's drawing on a large graph.
        double = not self.zooming
        for wire in wires:
            wire.paint_in_layer(painter, scale, double)


class DragWireItem(QGraphicsItem):
    """The wire that follows the cursor while a connection is dragged from ``anchor`` (a port)."""

    def __init__(self, anchor: PortItem):
        super().__init__()
        self.anchor = anchor
        self.setZValue(10)
        self._end = anchor.scene_anchor()
        self._refused = False
        self._path = QPainterPath()
        self.set_end(self._end)

    def set_end(self, point: QPointF, refused: bool = False) -> None:
        self.prepareGeometryChange()
        self._end = point
        self._refused = refused
        start = self.anchor.scene_anchor()
        self._path = wire_path(start, point) if self.anchor.is_output else wire_path(point, start)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        colour = theme.WIRE_REFUSED if self._refused else theme.WIRE_DRAGGING
        painter.setPen(theme.pen(colour, theme.WIRE_WIDTH, Qt.DashLine))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self._path)
        painter.setPen(Qt.NoPen)
        painter.setBrush(QBrush(colour))
        painter.drawEllipse(self._end, 3.5, 3.5)
