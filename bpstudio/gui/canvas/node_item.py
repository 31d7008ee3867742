"""The node card: header, ports, shape footer, value and gradient lines, and the pictures of it
kept for zooming.

The item only draws and describes the node; the scene turns gestures on it into undo commands
and updates it from the graph's events. Hooks for the forward/backward views (value and
gradient text, the step-through highlight, the editing lock) are plain setters, so those
features add calls rather than rewrite the item.
"""

from __future__ import annotations

import functools
import html
import itertools
import math
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPixmap,
                           QPixmapCache, QStaticText, QTransform)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from bpstudio.core.graph import Node
from bpstudio.core.shapes import format_shape

from . import theme
from .paint import (ANTIALIASING, FONTS, NO_BRUSH, NO_PEN, PENS, PICTURE_SCALES, SELECTABLE,
                    SMOOTH_PIXMAPS, SVG_ENGINE, paint_far_name, picture_scale)
from .port_item import CardMarks, PortItem, port_hit, port_sprite

if TYPE_CHECKING:  # named in a hint only: nodes must not need wires to load
    from .layer_item import LayerItem
    from .wire_items import EdgeItem


class NodeItem(CardMarks, QGraphicsItem):
    """A node: a rounded card with a header in its group's colour (name and op), input ports on
    the left, outputs on the right, and a footer with the inferred shape.

    Not movable by Qt itself: the scene turns drags into move commands, and the item goes where
    the graph's position events put it (:meth:`sync_position`, which moves its wires too).

    A plain QGraphicsItem with no itemChange of its own: a QGraphicsObject costs several times
    more to make, and a Python itemChange is called, and its argument converted, for every
    change Qt makes to the item (some ten while it is built), which made up much of the time a
    large file took to open. The scene raises selected nodes above the others.
    """

    def __init__(self, node: Node, shape: tuple | None = None):
        super().__init__()
        self.node = node
        spec = node.spec
        self.colour = theme.group_colour(spec.group)
        self.setFlags(SELECTABLE)
        self.setZValue(1)
        self.edges: set[EdgeItem] = set()
        self.block: LayerItem | None = None  # the collapsed layer this node is folded into
        self.input_ports = {p.name: PortItem(self, p.name, False, p.doc) for p in spec.inputs}
        self.output_ports = {name: PortItem(self, name, True) for name in spec.outputs}
        self._ports = (*self.input_ports.values(), *self.output_ports.values())
        # The shape known when the item is made (the scene's last validation) is drawn from
        # the start, rather than set, and drawn again, by the validation that follows.
        self._shape_text = "" if shape is None else _shape_label(shape)
        self._value_text: str | None = None
        self._grad_text: str | None = None
        # A card folded into a collapsed layer is not drawn: its value lines are written
        # when read or when the layer opens, not on every pass (see defer_value_display).
        self._display_source: Callable[[], tuple[str | None, str | None]] | None = None
        self._height = 0.0
        self._path_key: float | None = None
        self._texts_key: tuple | None = None
        self._ports_dirty = True
        self._serial = next(NodeItem._serials)
        self._look = 0
        self._has_pictures = False
        # Builds the tooltip when it is about to be shown (the forward/backward views put every
        # number of the node's value in it, too costly to write out on every pass).
        self.tooltip_source: Callable[[str], str] | None = None
        self._layout()
        # (Nothing is drawn yet, and no wire ends here yet: no picture to drop, nothing to
        # update or move along.)
        if node.position is not None:
            self.setPos(*node.position)

    # ----------------------------------------------------------------------------- geometry
    @property
    def width(self) -> float:
        return theme.NODE_WIDTH

    @property
    def height(self) -> float:
        return self._height

    def _value_lines(self) -> int:
        return (self._value_text is not None) + (self._grad_text is not None)

    def _layout(self) -> None:
        geometry = _card_geometry(len(self.input_ports), len(self.output_ports),
                                  self._value_lines())
        self.prepareGeometryChange()
        self._ports_top, self._height, self._bounds, self._picture_rect, ys = geometry
        for port, y in zip(self.input_ports.values(), ys):
            port.setPos(0.0, y)
        for port, y in zip(self.output_ports.values(), ys):
            port.setPos(theme.NODE_WIDTH, y)
        self._ports_dirty = True
        if self._badge is not None:
            self._badge.setPos(self.width - 4, 4)

    def _port_y(self, row: int) -> float:
        return self._ports_top + (row + 0.5) * theme.NODE_PORT_SPACING

    def title_rect(self) -> QRectF:
        """Where the name is drawn (double-click here to rename), in item coordinates."""
        return QRectF(10, 3, self.width - 20, 20)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, self.width, self._height), theme.NODE_RADIUS,
                            theme.NODE_RADIUS)
        return path

    def port(self, name: str, is_output: bool) -> PortItem:
        return (self.output_ports if is_output else self.input_ports)[name]

    def ports(self) -> tuple[PortItem, ...]:
        """The inputs, then the outputs."""
        return self._ports

    def port_under(self, scene_pos: QPointF) -> PortItem | None:
        """The port whose hit circle holds ``scene_pos``, if any."""
        return port_hit(self._ports, self.mapFromScene(scene_pos))

    # ------------------------------------------------------------------------------- state
    def sync_position(self) -> None:
        """Place the item (and its wires' ends) where the graph says the node is."""
        pos = self.node.position
        if pos is not None:
            x, y = pos
            if self.pos().x() != x or self.pos().y() != y:
                self.setPos(float(x), float(y))
                for edge in self.edges:
                    edge.update_path()

    def restyle(self) -> None:
        """Draw again in the theme's current colours (the zoom pictures hold the old ones)."""
        self._look_changed()

    def refresh(self) -> None:
        """Re-read the node's name, op and parameters after a change."""
        self._look_changed()

    def tooltip_text(self) -> str:
        """What the node's tooltip says, built now (the view asks when it shows it): the
        ``tooltip_source``'s text, else the node's name, op, what the op does and its
        derivative."""
        if self.tooltip_source is not None:
            return self.tooltip_source(self.node.id)
        spec = self.node.spec
        return (f"<b>{html.escape(self.node.name)}</b> ({html.escape(spec.title)})"
                f"<br>{html.escape(spec.doc)}<br><i>{html.escape(spec.derivative)}</i>")

    def set_shape(self, shape: tuple | None) -> None:
        text = "" if shape is None else format_shape(shape)
        if text != self._shape_text:
            self._shape_text = text
            self._look_changed()

    def set_value_display(self, value_text: str | None, grad_text: str | None = None) -> None:
        """Show a value and a gradient line under the shape (None hides a line). For the
        forward/backward views; the node grows to fit."""
        self._display_source = None
        if (value_text, grad_text) != (self._value_text, self._grad_text):
            self._value_text, self._grad_text = value_text, grad_text
            self._layout()
            for edge in self.edges:
                edge.update_path()
            self._look_changed()

    def defer_value_display(self, source: Callable[[], tuple[str | None, str | None]]) -> None:
        """Show ``source()``'s (value text, gradient text) as :meth:`set_value_display` does,
        but only once they are read or the card is drawn: for a card folded into a collapsed
        layer, which a live rerun would otherwise format on every pass unseen."""
        self._display_source = source

    def settle_display(self) -> None:
        """Write out the value lines deferred while the card was folded away."""
        if self._display_source is not None:
            self.set_value_display(*self._display_source())

    @property
    def value_text(self) -> str | None:
        self.settle_display()
        return self._value_text

    @property
    def grad_text(self) -> str | None:
        self.settle_display()
        return self._grad_text

    # ---------------------------------------------------------------------------- painting
    def _paths(self) -> tuple[QPainterPath, QPainterPath]:
        """The card and its header, rebuilt only when the node's size changes."""
        key = self._height
        if self._path_key != key:
            rect = QRectF(0, 0, self.width, self._height)
            card = QPainterPath()
            card.addRoundedRect(rect, theme.NODE_RADIUS, theme.NODE_RADIUS)
            header = QPainterPath()
            header.addRect(QRectF(0, 0, self.width, theme.NODE_HEADER_HEIGHT))
            self._card, self._header = card, card.intersected(header)
            self._path_key = key
        return self._card, self._header

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < theme.DETAIL_ZOOM:
            self._paint_flat(painter)
            return
        if self.zooming and widget is not None:
            # While a zoom goes on, copy a ready picture: drawing the card, its texts and ports
            # afresh at every new level is what makes zoom steps slow on large graphs.
            picture = self._any_picture(picture_scale(lod))
            if picture is not None:
                # Antialiasing would only soften the picture's outer edge (transparent anyway)
                # and makes Qt take a path several times slower. Smoothing keeps text legible
                # when the picture is scaled, and costs twice a plain copy when it is not.
                painter.setRenderHint(ANTIALIASING, False)
                painter.setRenderHint(SMOOTH_PIXMAPS,
                                      abs(picture.devicePixelRatio() - lod) > 1e-6)
                painter.drawPixmap(self._picture_rect.topLeft(), picture)
                if self.isSelected():  # (pictures are drawn unselected: selecting is frequent)
                    painter.setRenderHint(ANTIALIASING, True)
                    painter.setBrush(NO_BRUSH)
                    painter.setPen(PENS.selected_border)
                    painter.drawPath(self._paths()[0])
                return
        self._paint_detail(painter, export=widget is None)

    def _paint_flat(self, painter: QPainter) -> None:
        """Zoomed far out: a flat card in the group colour with the node's name alone, in a
        font large enough to read down to the farthest zoom Frame All goes to."""
        painter.setRenderHint(ANTIALIASING, False)
        painter.setPen(NO_PEN)
        painter.setBrush(theme.NODE_BODY_LOCKED if self._locked else theme.NODE_BODY)
        painter.drawRect(QRectF(0, 0, self.width, self._height))
        painter.setBrush(self.colour)
        painter.drawRect(QRectF(0, 0, self.width, theme.NODE_HEADER_HEIGHT))
        paint_far_name(painter, self.node.name, QRectF(0, 0, self.width, self._height))
        selected = self.isSelected()
        if selected or self._highlighted or self._problem:
            painter.setBrush(NO_BRUSH)
            colour = (theme.NODE_SELECTED_BORDER if selected else theme.NODE_HIGHLIGHT_BORDER
                      if self._highlighted else theme.ERROR_BADGE)
            painter.setPen(theme.cosmetic_pen(colour, 2))
            painter.drawRect(QRectF(0, 0, self.width, self._height))

    def _paint_detail(self, painter: QPainter, export: bool, picture: bool = False) -> None:
        """The full card: header, texts, separator, value lines and port circles (for a zoom
        ``picture``, as if unselected)."""
        body = theme.NODE_BODY_LOCKED if self._locked else theme.NODE_BODY
        selected = self.isSelected() and not picture
        painter.setRenderHint(ANTIALIASING, True)
        card, header = self._paths()
        painter.setPen(NO_PEN)
        painter.setBrush(body)
        painter.drawPath(card)
        painter.setBrush(self.colour)
        painter.drawPath(header)
        if selected or self._highlighted:
            painter.setBrush(NO_BRUSH)
            painter.setPen(PENS.selected_border if selected else PENS.highlight_border)
            painter.drawPath(card)

        texts = self._static_texts()
        if painter.paintEngine().type() == SVG_ENGINE:
            # Vector exports get real text rather than pre-laid-out glyphs.
            for font, colour, pos, text in texts.entries:
                painter.setFont(font)
                painter.setPen(colour)
                painter.drawText(QPointF(pos.x(), pos.y() + QFontMetricsF(font).ascent()), text)
        else:
            for (font, colour, pos, _text), static in zip(texts.entries,
                                                          texts.at(painter.worldTransform())):
                painter.setFont(font)
                painter.setPen(colour)
                painter.drawStaticText(pos, static)
        painter.setPen(PENS.separator)
        painter.drawLine(texts.separator)
        y = texts.footer_y + theme.NODE_FOOTER_HEIGHT
        for text, colour in ((self._value_text, theme.NODE_VALUE_TEXT),
                             (self._grad_text, theme.NODE_GRAD_TEXT)):
            if text is not None:
                painter.setPen(colour)
                painter.drawText(QRectF(10, y - 2, self.width - 20, theme.NODE_VALUE_LINE_HEIGHT),
                                 Qt.AlignLeft | Qt.AlignVCenter, text)
                y += theme.NODE_VALUE_LINE_HEIGHT

        # Port circles: small pictures drawn once per colour, size and zoom and then copied,
        # several times cheaper than antialiasing each circle on every paint.
        if export:  # vector circles
            painter.setPen(PENS.port_border)
            for pos, fill, radius in self._port_marks():
                painter.setBrush(fill)
                painter.drawEllipse(pos, radius, radius)
            return
        scale = painter.worldTransform().m11()
        for pos, fill, radius in self._port_marks():
            sprite = port_sprite(fill, radius, scale)
            half = (radius + 2.0)
            painter.drawPixmap(QPointF(pos.x() - half, pos.y() - half), sprite)

    # ------------------------------------------------------------------ zoom pictures
    # The whole node drawn into a pixmap at a few fixed scales, kept in Qt's pixmap cache (a
    # bounded LRU), and copied scaled while the view zooms (``zooming``, set by the scene). The
    # scene draws them when the canvas is idle; a node without one is drawn in full.
    zooming = False
    _serials = itertools.count()

    def _picture_key(self, scale: float) -> str:
        return f"bpstudio-node-{self._serial}-{self._look}-{scale:g}"

    def _any_picture(self, scale: float) -> QPixmap | None:
        """The picture at ``scale``, else one at another scale (a larger one shrunk, or a
        smaller one enlarged, blurred until zooming stops), else None."""
        picture = QPixmapCache.find(self._picture_key(scale))
        if picture is not None:
            return picture
        for other in sorted(PICTURE_SCALES, key=lambda s: (s < scale, abs(s - scale))):
            if other != scale:
                picture = QPixmapCache.find(self._picture_key(other))
                if picture is not None:
                    return picture
        return None

    def has_picture(self, scale: float) -> bool:
        return QPixmapCache.find(self._picture_key(scale)) is not None

    def make_picture(self, scale: float) -> None:
        """Draw the node at ``scale`` device pixels per unit into the pixmap cache."""
        bounds = self._picture_rect
        picture = QPixmap(math.ceil(bounds.width() * scale), math.ceil(bounds.height() * scale))
        picture.fill(Qt.transparent)
        painter = QPainter(picture)
        painter.setRenderHint(QPainter.TextAntialiasing, True)
        painter.scale(scale, scale)
        painter.translate(-bounds.left(), -bounds.top())
        self._paint_detail(painter, export=False, picture=True)
        painter.end()
        # Drawn with the scale set by hand above (texts and port pictures are laid out for the
        # painter's transform); the ratio only tells drawPixmap the picture's size in units.
        picture.setDevicePixelRatio(scale)
        QPixmapCache.insert(self._picture_key(scale), picture)
        self._has_pictures = True

    def _look_changed(self) -> None:
        """Anything drawn changed: the pictures no longer apply."""
        self._drop_pictures()
        self.update()

    def _drop_pictures(self) -> None:
        had_pictures = self._has_pictures
        if had_pictures:
            for scale in PICTURE_SCALES:
                QPixmapCache.remove(self._picture_key(scale))
            self._has_pictures = False
        self._look += 1  # a picture still being made for the old look gets a stale key
        if had_pictures:
            scene = self.scene()
            if scene is not None and hasattr(scene, "pictures_stale"):
                scene.pictures_stale()  # draw them again, as they look now, when idle

    def _port_marks(self) -> list[tuple[QPointF, QColor, float]]:
        if self._ports_dirty:
            self._ports_cache = [(port.pos(), *port.fill_and_radius()) for port in self.ports()]
            self._ports_dirty = False
        return self._ports_cache

    def ports_changed(self) -> None:
        """A port's state or wiring changed: redraw its mark (once the card is in a scene:
        before, nothing of it is drawn yet)."""
        self._ports_dirty = True
        if self.scene() is not None:
            self._look_changed()

    def _static_texts(self) -> "_NodeTexts":
        """Laid-out texts, rebuilt only when the name, shape or size changes (drawing a
        QStaticText skips the layout work that drawText repeats on every paint)."""
        key = (self.node.name, self._shape_text, self._height)
        if self._texts_key != key:
            self._texts = _NodeTexts(self)
            self._texts_key = key
        return self._texts


# A large graph's cards show a few shapes many times over: each is written out once.
_shape_label = functools.lru_cache(maxsize=1024)(format_shape)


@functools.cache
def _card_geometry(inputs: int, outputs: int, value_lines: int
                   ) -> tuple[float, float, QRectF, QRectF, tuple[float, ...]]:
    """Where a card's parts go, by its number of ports and value lines, worked out once for
    each such card rather than once per node: the ports' top, the height, the bounding
    rectangle, the picture's rectangle (what the card draws: port circles reach out sideways,
    borders a pixel or two around) and each port row's y. The rectangles are shared by every
    card of that size: they are read, never changed in place."""
    rows = max(inputs, outputs, 1)
    ports_top = theme.NODE_HEADER_HEIGHT + theme.NODE_BODY_PADDING
    height = (ports_top + rows * theme.NODE_PORT_SPACING + theme.NODE_FOOTER_HEIGHT
              + value_lines * theme.NODE_VALUE_LINE_HEIGHT + 4)
    m, width = theme.PORT_HIT_RADIUS, theme.NODE_WIDTH
    ys = tuple(ports_top + (row + 0.5) * theme.NODE_PORT_SPACING for row in range(rows))
    return (ports_top, height, QRectF(-m, -m, width + 2 * m, height + 2 * m),
            QRectF(-m, -2, width + 2 * m, height + 4), ys)


class _NodeTexts:
    """A node's labels: what to write where, in which font and colour, plus the laid-out
    QStaticText for each zoom level in use (a static text keeps its layout for one transform
    only, so one set per level lets zooming back and forth reuse them)."""

    LEVELS_KEPT = 6

    def __init__(self, item: NodeItem):
        title_rect = item.title_rect()
        name = FONTS.title_metrics.elidedText(item.node.name, Qt.ElideRight, title_rect.width() - 8)
        self.entries: list[tuple[QFont, QColor, QPointF, str]] = [
            (FONTS.title, theme.NODE_TITLE_TEXT,
             QPointF(title_rect.left(), title_rect.center().y() - FONTS.title_metrics.height() / 2),
             name),
            (FONTS.subtitle, theme.NODE_SUBTITLE_TEXT,
             QPointF(10, 28 - FONTS.subtitle_metrics.height() / 2), item.node.spec.title.lower()),
        ]
        port_h = FONTS.port_metrics.height()
        for k, label in enumerate(item.input_ports):
            self.entries.append((FONTS.port, theme.NODE_TEXT,
                                 QPointF(12, item._port_y(k) - port_h / 2), label))
        named_outputs = item.output_ports if len(item.output_ports) > 1 else {}
        for k, label in enumerate(named_outputs):  # a lone output needs no label
            width = FONTS.port_metrics.horizontalAdvance(label)
            self.entries.append((FONTS.port, theme.NODE_TEXT,
                                 QPointF(item.width - 12 - width, item._port_y(k) - port_h / 2),
                                 label))
        rows = max(len(item.input_ports), len(item.output_ports), 1)
        y = item._ports_top + rows * theme.NODE_PORT_SPACING
        self.separator = QLineF(8, y, item.width - 8, y)
        shape = f"shape {item._shape_text}" if item._shape_text else "shape ?"
        self.footer_y = y + 1 + (theme.NODE_FOOTER_HEIGHT - FONTS.value_metrics.height()) / 2
        self.entries.append((FONTS.value, theme.NODE_DIM_TEXT, QPointF(10, self.footer_y), shape))
        self._levels: dict[int, list[QStaticText]] = {}

    def at(self, transform: QTransform) -> list[QStaticText]:
        key = round(transform.m11() * 256)
        statics = self._levels.get(key)
        if statics is None:
            if len(self._levels) >= self.LEVELS_KEPT:
                self._levels.pop(next(iter(self._levels)))
            scale = QTransform.fromScale(transform.m11(), transform.m22())
            statics = [_static(text, font, scale) for font, _c, _p, text in self.entries]
            self._levels[key] = statics
        return statics


def _static(text: str, font: QFont, transform: QTransform) -> QStaticText:
    static = QStaticText(text)
    static.setTextFormat(Qt.PlainText)
    static.setPerformanceHint(QStaticText.AggressiveCaching)
    static.prepare(transform, font)
    return static
