"""The block of a collapsed layer: one card for a whole group of nodes.

It shows the layer's name, its shape (fan-in -> fan-out) and activation, and after a pass the
figures the run view hands it: the output's summary, the gradient norms and a health badge
(dead ReLU units, saturated sigmoid/tanh outputs), the badge alarmed when a layer is mostly
dead or saturated so that it is found at a glance. Its members' node items are hidden while it
stands for them; wires into and out of the layer end on its left and right edges. Each member
port a wire crosses into, and each one left open (a new layer's input and output), is a port of
the block (see :meth:`anchor_for`): a PortItem of the member, carried by the block, so that
wires are dragged to and from it as to a node's. Like the node cards, it only draws: the scene
turns gestures on it into commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from bpstudio.core.graph import Graph
from bpstudio.core.layers import DenseLayer, Health
from bpstudio.core.model import Group

from . import theme
from .port_item import CardMarks, PortItem, port_hit
from .paint import ANTIALIASING, NO_BRUSH, NO_PEN, PENS, SELECTED_CHANGED, paint_far_name

# A layer whose dead or saturated fraction reaches this is marked as unhealthy: at half its
# units no longer passing gradient back, a layer has lost most of what it can learn.
ALARM_FRACTION = 0.5


@dataclass(frozen=True)
class LayerFigures:
    """What a pass says about a layer: its output's summary, the norm of the gradient of all
    its parameters, the norm of dL/dz at its pre-activation, and its health."""

    output: str | None = None
    parameter_grad_norm: float | None = None
    signal_norm: float | None = None
    health: Health | None = None


def block_font() -> QFont:
    font = QFont()
    font.setPixelSize(theme.LAYER_TITLE_PX)
    font.setBold(True)
    return font


def line_font() -> QFont:
    font = QFont()
    font.setPixelSize(theme.LAYER_LINE_PX)
    return font


class LayerItem(CardMarks, QGraphicsObject):
    """A collapsed group, drawn at its members' top-left corner."""

    def __init__(self, group: Group):
        super().__init__()
        self.group = group
        self.layer: DenseLayer | None = None
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setZValue(1)
        self._inputs: list[tuple[str, str]] = []   # (member id, port) of the block's inputs
        self._outputs: list[tuple[str, str]] = []  # (member id, port) of its outputs
        self.ports: dict[tuple[str, str, bool], PortItem] = {}  # (member, port, is_output)
        self._shape_text = ""
        self._figures = LayerFigures()
        self._title_font, self._line_font = block_font(), line_font()
        self._height = 0.0
        self._layout()

    # ----------------------------------------------------------------------------- geometry
    @property
    def width(self) -> float:
        return theme.LAYER_WIDTH

    @property
    def height(self) -> float:
        return self._height

    def _lines(self) -> list[tuple[str, QColor]]:
        """The text lines under the title, with their colours."""
        lines = [(self._subtitle(), theme.NODE_TEXT),
                 (f"shape {self._shape_text or '?'}", theme.NODE_DIM_TEXT)]
        f = self._figures
        if f.output is not None:
            lines.append((f"= {f.output}", theme.NODE_VALUE_TEXT))
        grads = []
        if f.parameter_grad_norm is not None:
            grads.append(f"∇W,b {f.parameter_grad_norm:.2g}")
        if f.signal_norm is not None:
            grads.append(f"∇z {f.signal_norm:.2g}")
        if grads:
            lines.append((" · ".join(grads), theme.NODE_GRAD_TEXT))
        return lines

    def _subtitle(self) -> str:
        if self.layer is None:
            return f"group of {self._member_count} nodes"
        return (f"dense {self.layer.fan_in} -> {self.layer.fan_out} · "
                f"{self.layer.activation or 'linear'}")

    _member_count = 0

    def _layout(self) -> None:
        self.prepareGeometryChange()
        line = QFontMetricsF(self._line_font).height() + 2
        slots = max(len(self._inputs), len(self._outputs), 1)
        body = len(self._lines()) * line + (line + 4 if self.badge_text else 0)
        self._height = max(theme.LAYER_HEADER_HEIGHT + body + 10,
                           theme.LAYER_HEADER_HEIGHT + slots * theme.NODE_PORT_SPACING + 10)
        m = theme.PORT_HIT_RADIUS
        self._bounds = QRectF(-m, -m, self.width + 2 * m, self._height + 2 * m)
        for (member, name, is_output), port in self.ports.items():
            port.setPos(self._slot_point(member, name, is_output))
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, self.width, self._height), theme.NODE_RADIUS,
                            theme.NODE_RADIUS)
        return path

    def title_rect(self) -> QRectF:
        return QRectF(10, 4, self.width - 20, theme.LAYER_HEADER_HEIGHT - 8)

    def anchor_for(self, member_id: str, port: str, is_output: bool) -> QPointF:
        """Where a wire to (or from) a member's port ends on the block, in scene coordinates:
        its slot on the left (inputs) or right (outputs) edge."""
        return self.mapToScene(self._slot_point(member_id, port, is_output))

    def _slot_point(self, member_id: str, port: str, is_output: bool) -> QPointF:
        slots = self._outputs if is_output else self._inputs
        key = (member_id, port)
        k = slots.index(key) if key in slots else 0
        n = max(len(slots), 1)
        top = theme.LAYER_HEADER_HEIGHT
        y = top + (self._height - top) * (k + 0.5) / n
        return QPointF(self.width if is_output else 0.0, y)

    # ------------------------------------------------------------------------------- state
    def update_from(self, graph: Graph, layer: DenseLayer | None, corner: tuple[float, float],
                    inputs: list[tuple[str, str, bool]], outputs: list[tuple[str, str, bool]],
                    shape_text: str, node_items: dict) -> None:
        """Re-read the group: its layer roles, where it starts, its ports as (member id,
        port, whether wired), and the shape of its output."""
        self.layer = layer
        self._member_count = len(graph.member_ids(self.group))
        self._inputs = [(member, port) for member, port, _wired in inputs]
        self._outputs = [(member, port) for member, port, _wired in outputs]
        self._shape_text = shape_text
        self.setToolTip(self._tooltip())
        self._layout()
        self._update_ports(graph, inputs, outputs, node_items)
        if (self.pos().x(), self.pos().y()) != corner:
            self.setPos(*corner)

    def _update_ports(self, graph: Graph, inputs, outputs, node_items: dict) -> None:
        wanted = {(member, port, is_output): wired
                  for slots, is_output in ((inputs, False), (outputs, True))
                  for member, port, wired in slots}
        for key in [k for k in self.ports if k not in wanted]:
            del self.ports[key]
        for (member, name, is_output), wired in wanted.items():
            port = self.ports.get((member, name, is_output))
            if port is None:
                member_port = node_items[member].port(name, is_output)
                label = f"{graph.nodes[member].name}.{name}"
                port = PortItem(node_items[member], name, is_output,
                                member_port.toolTip().partition("<br>")[2], on=self)
                port.setToolTip(f"<b>{label}</b>" + port.toolTip().partition("</b>")[2])
                self.ports[(member, name, is_output)] = port
            port.connected = wired
            port.setPos(self._slot_point(member, name, is_output))

    def ports_changed(self) -> None:
        """A port's state changed (a wire is dragged over it): draw it again."""
        self.update()

    def port_under(self, scene_pos: QPointF) -> PortItem | None:
        """The block's port whose hit circle holds ``scene_pos``, if any."""
        return port_hit(self.ports.values(), self.mapFromScene(scene_pos))

    def _tooltip(self) -> str:
        text = (f"<b>{self.group.name}</b> (layer) — double-click to open it to its ops"
                "<br>After a pass: = its output (mean · range), ∇W,b the norm of the gradient "
                "of all its parameters, ∇z the norm of dL/dz at its pre-activation, and the "
                "fraction of its units dead (ReLU) or outputs saturated (sigmoid, tanh)")
        if self.layer is not None:
            text += (f"<br>{self.layer.fan_in} inputs, {self.layer.fan_out} units, "
                     f"{self.layer.activation or 'no activation'}, weights drawn "
                     f"{self.layer.init or 'as given'}")
        return text

    def set_figures(self, figures: LayerFigures) -> None:
        """Show what a pass found (LayerFigures() clears it)."""
        if figures != self._figures:
            self._figures = figures
            self._layout()

    @property
    def figures(self) -> LayerFigures:
        return self._figures

    @property
    def badge_text(self) -> str | None:
        """The health badge, e.g. "dead 100%", or None when there is none to show."""
        health = self._figures.health
        if health is None or health.fraction != health.fraction:  # (NaN: no rows)
            return None
        return f"{health.kind} {health.fraction:.0%}"

    @property
    def alarmed(self) -> bool:
        """Whether the badge marks the layer as mostly dead or saturated."""
        health = self._figures.health
        return health is not None and health.fraction >= ALARM_FRACTION

    def restyle(self) -> None:
        self.update()

    # ---------------------------------------------------------------------------- Qt hooks
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        if change is SELECTED_CHANGED:
            self.setZValue(2 if value else 1)
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(ANTIALIASING, True)
        rect = QRectF(0, 0, self.width, self._height)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < theme.DETAIL_ZOOM:
            # Far out: the block and its name alone, large enough to read.
            painter.setPen(theme.pen(theme.ERROR_BADGE if self.alarmed else theme.LAYER_BORDER,
                                     3.0))
            painter.setBrush(theme.NODE_BODY)
            painter.drawRect(rect)
            paint_far_name(painter, self.group.name, rect)
            return
        card = QPainterPath()
        card.addRoundedRect(rect, theme.NODE_RADIUS, theme.NODE_RADIUS)
        header = QPainterPath()
        header.addRect(QRectF(0, 0, self.width, theme.LAYER_HEADER_HEIGHT))
        painter.setPen(NO_PEN)
        painter.setBrush(theme.NODE_BODY_LOCKED if self._locked else theme.NODE_BODY)
        painter.drawPath(card)
        painter.setBrush(theme.LAYER_HEADER)
        painter.drawPath(card.intersected(header))
        painter.setBrush(NO_BRUSH)
        if self.isSelected() or self._highlighted:
            painter.setPen(PENS.selected_border if self.isSelected() else PENS.highlight_border)
        elif self.alarmed:
            painter.setPen(theme.pen(theme.ERROR_BADGE, 2.4))
        else:
            painter.setPen(theme.pen(theme.LAYER_BORDER, 1.6))
        painter.drawPath(card)

        title = self.title_rect()
        painter.setFont(self._title_font)
        painter.setPen(theme.NODE_TITLE_TEXT)
        name = QFontMetricsF(self._title_font).elidedText(self.group.name, Qt.ElideRight,
                                                          title.width())
        painter.drawText(title, Qt.AlignLeft | Qt.AlignVCenter, name)

        painter.setFont(self._line_font)
        line = QFontMetricsF(self._line_font).height() + 2
        y = theme.LAYER_HEADER_HEIGHT + 5
        for text, colour in self._lines():
            painter.setPen(colour)
            painter.drawText(QRectF(12, y, self.width - 24, line), Qt.AlignLeft | Qt.AlignVCenter,
                             text)
            y += line
        badge = self.badge_text
        if badge is not None:
            width = QFontMetricsF(self._line_font).horizontalAdvance(badge) + 14
            pill = QRectF(12, y + 2, width, line)
            colour = theme.ERROR_BADGE if self.alarmed else theme.LAYER_HEALTHY
            painter.setPen(NO_PEN)
            painter.setBrush(colour)
            painter.drawRoundedRect(pill, line / 2, line / 2)
            painter.setPen(theme.ERROR_BADGE_TEXT)
            painter.drawText(pill, Qt.AlignCenter, badge)

        # Ports: where the crossing wires end, and the open ones a wire can be dragged to.
        painter.setPen(PENS.port_border)
        for port in self.ports.values():
            fill, radius = port.fill_and_radius()
            painter.setBrush(fill)
            painter.drawEllipse(port.pos(), radius, radius)


__all__ = ["ALARM_FRACTION", "LayerFigures", "LayerItem"]
