"""What a node card carries on its border: its ports and its error badge.

The ports are places on the card (hit circles with a tooltip), the badge a child item; the
card draws the port circles itself, from the fill, radius and sprite given here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from . import theme
from .paint import PENS

if TYPE_CHECKING:  # node_item imports this module, so the hint must not import it back
    from .node_item import NodeItem


class PortItem:
    """One input or output port on a node's edge: a place on the item that carries it (its
    node's card, or the block of the collapsed layer the node is folded into), with a hit
    circle, a state and a tooltip. The carrier draws the circle and the label (one paint call
    per card instead of one per port) and finds its ports under the cursor (:func:`port_hit`).

    Not a graphics item of its own: a child item per port was half the items of a large graph,
    and the most costly part of opening one."""

    NORMAL, VALID_TARGET, INVALID_TARGET, REFUSED = range(4)
    __slots__ = ("_carrier", "_doc", "_state", "_tooltip", "_x", "_y", "connected", "is_output",
                 "name", "node_item")

    def __init__(self, node_item: "NodeItem", name: str, is_output: bool, doc: str = "",
                 on: QGraphicsItem | None = None):
        self.node_item = node_item
        self.name = name
        self.is_output = is_output
        self.connected = False
        self._state = PortItem.NORMAL
        self._doc = doc
        self._tooltip: str | None = None  # written when first asked for
        self._carrier = on if on is not None else node_item
        self._x = self._y = 0.0

    @property
    def node_id(self) -> str:
        return self.node_item.node.id

    @property
    def state(self) -> int:
        return self._state

    def parentItem(self) -> QGraphicsItem:
        """The item that carries and draws the port."""
        return self._carrier

    def scene(self):
        return self._carrier.scene()

    def isVisible(self) -> bool:
        return self._carrier.isVisible()

    def pos(self) -> QPointF:
        """Where the port is on its carrier, in the carrier's coordinates."""
        return QPointF(self._x, self._y)

    def setPos(self, x: float | QPointF, y: float | None = None) -> None:
        if y is None:
            x, y = x.x(), x.y()
        self._x, self._y = x, y

    def scenePos(self) -> QPointF:
        return self._carrier.mapToScene(self._x, self._y)

    def toolTip(self) -> str:
        if self._tooltip is None:
            self._tooltip = f"<b>{self.name}</b>" + (f"<br>{self._doc}" if self._doc else "")
        return self._tooltip

    def setToolTip(self, text: str) -> None:
        self._tooltip = text

    def hit(self, x: float, y: float) -> bool:
        """Whether the carrier's point (x, y) is on the port (within its hit circle)."""
        dx, dy = x - self._x, y - self._y
        return dx * dx + dy * dy <= PORT_HIT_RADIUS_SQUARED

    def scene_anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates: on the port, or on the block of the
        collapsed layer its node is folded into."""
        return QPointF(*self.scene_xy())

    def scene_xy(self) -> tuple[float, float]:
        """:meth:`scene_anchor` as two numbers."""
        block = self.node_item.block
        if block is not None:
            anchor = block.anchor_for(self.node_item.node.id, self.name, self.is_output)
            return anchor.x(), anchor.y()
        # (Cards and blocks are placed on the scene by their position alone: no parent,
        # rotation or scale to map through.)
        carrier = self._carrier
        return carrier.x() + self._x, carrier.y() + self._y

    def set_state(self, state: int) -> None:
        if state != self._state:
            self._state = state
            self._carrier.ports_changed()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._carrier.ports_changed()

    def fill_and_radius(self) -> tuple[QColor, float]:
        if self._state == PortItem.VALID_TARGET:
            return theme.PORT_VALID_TARGET, theme.PORT_RADIUS + 2
        if self._state == PortItem.INVALID_TARGET:
            return theme.PORT_INVALID_TARGET, theme.PORT_RADIUS
        if self._state == PortItem.REFUSED:
            return theme.PORT_HOVER_REFUSED, theme.PORT_RADIUS + 2
        return (theme.PORT_CONNECTED_FILL if self.connected else theme.PORT_FILL), theme.PORT_RADIUS


PORT_HIT_RADIUS_SQUARED = theme.PORT_HIT_RADIUS ** 2


def port_hit(ports: Iterable[PortItem], point: QPointF) -> PortItem | None:
    """The port of ``ports`` whose hit circle holds ``point`` (in their carrier's coordinates),
    the last one when circles overlap (as the topmost of stacked items would be)."""
    x, y = point.x(), point.y()
    found = None
    for port in ports:
        if port.hit(x, y):
            found = port
    return found


class ErrorBadgeItem(QGraphicsItem):
    """The red "!" in a node's corner; its tooltip is the validation message."""

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.setZValue(2)

    def boundingRect(self) -> QRectF:
        r = theme.ERROR_BADGE_RADIUS + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        r = theme.ERROR_BADGE_RADIUS
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(theme.pen(theme.NODE_BORDER, 1.5))
        painter.setBrush(theme.ERROR_BADGE)
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.setPen(theme.ERROR_BADGE_TEXT)
        painter.setFont(theme.title_font())
        painter.drawText(QRectF(-r, -r, 2 * r, 2 * r), Qt.AlignCenter, "!")


class CardMarks:
    """What node cards and layer blocks both mark on themselves: a problem (the error badge,
    whose tooltip is the message), a highlight (the step a walk is at, a run's culprit) and
    the editing lock. The item redraws in ``_look_changed``; its badge sits at its top right."""

    _problem: str | None = None
    _badge: ErrorBadgeItem | None = None
    _highlighted = False
    _locked = False

    def _look_changed(self) -> None:
        self.update()

    def set_problem(self, message: str | None) -> None:
        """Show (or clear) the error badge; its tooltip is the validation message."""
        if message == self._problem:
            return
        self._problem = message
        if message is not None and self._badge is None:
            self._badge = ErrorBadgeItem(self)
            self._badge.setPos(self.width - 4, 4)
        if self._badge is not None:
            self._badge.setVisible(message is not None)
            self._badge.setToolTip(message or "")
        self._look_changed()

    @property
    def problem(self) -> str | None:
        return self._problem

    @property
    def badge(self) -> ErrorBadgeItem | None:
        """The error badge while one is shown."""
        return self._badge if self._problem is not None else None

    def set_highlighted(self, on: bool) -> None:
        """Mark the item as the one a step-through is at (or a run stopped at)."""
        if on != self._highlighted:
            self._highlighted = on
            self._look_changed()

    @property
    def highlighted(self) -> bool:
        return self._highlighted

    def set_locked(self, locked: bool) -> None:
        if locked != self._locked:
            self._locked = locked
            self._look_changed()


_SPRITES: dict[tuple[str, float, int], QPixmap] = {}


def clear_port_sprites() -> None:
    """Forget the drawn port circles (their border colour is the theme's)."""
    _SPRITES.clear()


def port_sprite(fill: QColor, radius: float, scale: float) -> QPixmap:
    """A port circle rendered at the device resolution of ``scale`` (zoom rounded to 1/64)."""
    step = max(1, round(scale * 64))
    key = (fill.name(), radius, step)
    sprite = _SPRITES.get(key)
    if sprite is None:
        if len(_SPRITES) > 4096:  # many zoom levels visited: start afresh
            _SPRITES.clear()
        ratio = step / 64
        size = 2 * (radius + 2.0)
        sprite = QPixmap(max(1, round(size * ratio)), max(1, round(size * ratio)))
        sprite.setDevicePixelRatio(ratio)
        sprite.fill(Qt.transparent)
        p = QPainter(sprite)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(PENS.port_border)
        p.setBrush(fill)
        p.drawEllipse(QPointF(size / 2, size / 2), radius, radius)
        p.end()
        _SPRITES[key] = sprite
    return sprite
