"""The frame of an opened layer: a tinted region behind its ops, with the group's name and a
close button that folds it back into one block.

It sits under the nodes and takes clicks only on its title bar (the close button, and a
double-click on the name, which also closes it), so the ops inside are edited as usual.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from bpstudio.core.model import Group

from . import theme
from .paint import ANTIALIASING, NO_PEN


class GroupFrameItem(QGraphicsItem):
    """An opened group around ``rect`` (its members' scene rectangle)."""

    def __init__(self, group: Group):
        super().__init__()
        self.group = group
        self.setZValue(-2)  # under the wires and the nodes
        self._font = QFont()
        self._font.setPixelSize(theme.LAYER_LINE_PX + 2)
        self._font.setBold(True)
        self._rect = QRectF()
        self.setToolTip(f"<b>{group.name}</b> (layer) — × folds it back into one block")

    def set_members_rect(self, rect: QRectF) -> None:
        """Frame these members (scene coordinates), with a title bar above them."""
        p = theme.GROUP_FRAME_PADDING
        framed = rect.adjusted(-p, -p - theme.GROUP_FRAME_TITLE_HEIGHT, p, p)
        if framed != self._rect:
            self.prepareGeometryChange()
            self._rect = framed
        self.setToolTip(f"<b>{self.group.name}</b> (layer) — × folds it back into one block")
        self.update()

    def title_bar(self) -> QRectF:
        r = self._rect
        return QRectF(r.left(), r.top(), r.width(), theme.GROUP_FRAME_TITLE_HEIGHT)

    def close_button(self) -> QRectF:
        """The × at the title bar's right end, in scene coordinates."""
        bar = self.title_bar()
        size = bar.height() - 8
        return QRectF(bar.right() - size - 6, bar.top() + 4, size, size)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.title_bar())  # the region itself lets clicks through to the canvas
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(ANTIALIASING, True)
        painter.setBrush(theme.GROUP_FRAME)
        painter.setPen(theme.pen(theme.GROUP_FRAME_BORDER, 1.6, Qt.DashLine))
        painter.drawRoundedRect(self._rect, 10, 10)
        bar = self.title_bar()
        painter.setFont(self._font)
        painter.setPen(theme.NODE_TEXT)
        name = QFontMetricsF(self._font).elidedText(self.group.name, Qt.ElideRight,
                                                    bar.width() - 60)
        painter.drawText(bar.adjusted(12, 0, -40, 0), Qt.AlignLeft | Qt.AlignVCenter, name)
        button = self.close_button()
        painter.setPen(NO_PEN)
        painter.setBrush(theme.LAYER_HEADER)
        painter.drawRoundedRect(button, 4, 4)
        painter.setPen(theme.pen(theme.NODE_TITLE_TEXT, 2.0))
        inset = button.width() * 0.3
        painter.drawLine(QPointF(button.left() + inset, button.top() + inset),
                         QPointF(button.right() - inset, button.bottom() - inset))
        painter.drawLine(QPointF(button.right() - inset, button.top() + inset),
                         QPointF(button.left() + inset, button.bottom() - inset))
