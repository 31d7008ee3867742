"""The small items a node card carries on its border: its ports and its error badge.

Both are children of a NodeItem and exist for hit-testing and tooltips; the node draws the port
circles itself, from the fill, radius and sprite given here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from . import theme
from .paint import CROSS_CURSOR, HAS_NO_CONTENTS, PENS

if TYPE_CHECKING:  # node_item imports this module, so the hint must not import it back
    from .node_item import NodeItem


class PortItem(QGraphicsItem):
    """One input or output port on a node's edge. It is a hit area with a tooltip; the item
    it sits on (its node's card, or the block of the collapsed layer the node is folded into)
    draws the circle and the label (one paint call per card instead of one per port)."""

    NORMAL, VALID_TARGET, INVALID_TARGET, REFUSED = range(4)

    def __init__(self, node_item: "NodeItem", name: str, is_output: bool, doc: str = "",
                 on: QGraphicsItem | None = None):
        super().__init__(on if on is not None else node_item)
        self.node_item = node_item
        self.name = name
        self.is_output = is_output
        self.connected = False
        self._state = PortItem.NORMAL
        self.setFlags(HAS_NO_CONTENTS)
        self.setAcceptHoverEvents(False)
        self.setToolTip(f"<b>{name}</b>" + (f"<br>{doc}" if doc else ""))
        self.setCursor(CROSS_CURSOR)

    @property
    def node_id(self) -> str:
        return self.node_item.node.id

    @property
    def state(self) -> int:
        return self._state

    def scene_anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates: on the port, or on the block of the
        collapsed layer its node is folded into."""
        block = self.node_item.block
        if block is not None:
            return block.anchor_for(self.node_item.node.id, self.name, self.is_output)
        return self.scenePos()

    def set_state(self, state: int) -> None:
        if state != self._state:
            self._state = state
            self.parentItem().ports_changed()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.parentItem().ports_changed()

    _BOUNDS = QRectF(-theme.PORT_HIT_RADIUS, -theme.PORT_HIT_RADIUS, 2 * theme.PORT_HIT_RADIUS,
                     2 * theme.PORT_HIT_RADIUS)

    def boundingRect(self) -> QRectF:
        return PortItem._BOUNDS

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self.boundingRect())
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        pass  # drawn by NodeItem.paint

    def fill_and_radius(self) -> tuple[QColor, float]:
        if self._state == PortItem.VALID_TARGET:
            return theme.PORT_VALID_TARGET, theme.PORT_RADIUS + 2
        if self._state == PortItem.INVALID_TARGET:
            return theme.PORT_INVALID_TARGET, theme.PORT_RADIUS
        if self._state == PortItem.REFUSED:
            return theme.PORT_HOVER_REFUSED, theme.PORT_RADIUS + 2
        return (theme.PORT_CONNECTED_FILL if self.connected else theme.PORT_FILL), theme.PORT_RADIUS


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
