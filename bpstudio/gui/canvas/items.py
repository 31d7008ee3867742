"""Graphics items of the canvas: nodes, their ports, the wires between them, and the live wire
that follows the cursor while a connection is being dragged.

Items only draw and describe themselves. They never change the graph: the scene turns mouse
gestures into undo commands, and updates the items from the graph's events. Hooks for later
views (value and gradient text, the step-through highlight, gradient-coloured wires, the editing
lock) are plain setters here, so those features add calls rather than rewrite the items.
"""

from __future__ import annotations

import itertools
import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPaintEngine, QPainterPathStroker, QPixmap, QPixmapCache,
                           QStaticText, QTransform)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from bpstudio.core.graph import Edge, Node
from bpstudio.core.shapes import format_shape

from . import theme


# Qt enum values read once: looking one up on its class runs Python code at every access, and
# paint() methods use several per call.
_ANTIALIASING = QPainter.RenderHint.Antialiasing
_SMOOTH_PIXMAPS = QPainter.RenderHint.SmoothPixmapTransform
_NO_PEN = Qt.PenStyle.NoPen
_NO_BRUSH = Qt.BrushStyle.NoBrush
_SVG_ENGINE = QPaintEngine.Type.SVG
_POSITION_CHANGED = QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged
_SELECTION_CHANGED = QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged
_WIRE_LAYER_CHANGES = (QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged,
                       QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged,
                       QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged)

# Node pictures for zooming are drawn at these scales (device pixels per scene unit). A zoom
# level uses the smallest one at or above it, so pictures are only ever shrunk, by at most half.
PICTURE_SCALES = (1.0, 2.0, 4.0)


def picture_scale(zoom: float) -> float:
    """The picture scale that serves ``zoom``."""
    for scale in PICTURE_SCALES:
        if zoom <= scale * 1.001:
            return scale
    return PICTURE_SCALES[-1]


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from an output (``start``) to an input (``end``): wires leave
    to the right and arrive from the left, and bow outwards when the input lies to the left."""
    dx = end.x() - start.x()
    reach = max(abs(dx) * 0.5, 60.0 if dx < 0 else 30.0)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


class PortItem(QGraphicsItem):
    """One input or output port on a node's edge. It is a hit area with a tooltip; the node
    draws the circle and the label (one paint call per node instead of one per port)."""

    NORMAL, VALID_TARGET, INVALID_TARGET, REFUSED = range(4)

    def __init__(self, node_item: "NodeItem", name: str, is_output: bool, doc: str = ""):
        super().__init__(node_item)
        self.node_item = node_item
        self.name = name
        self.is_output = is_output
        self.connected = False
        self._state = PortItem.NORMAL
        self.setFlag(QGraphicsItem.ItemHasNoContents, True)
        self.setAcceptHoverEvents(False)
        self.setToolTip(f"<b>{name}</b>" + (f"<br>{doc}" if doc else ""))
        self.setCursor(Qt.CrossCursor)

    @property
    def node_id(self) -> str:
        return self.node_item.node.id

    @property
    def state(self) -> int:
        return self._state

    def scene_anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates."""
        return self.scenePos()

    def set_state(self, state: int) -> None:
        if state != self._state:
            self._state = state
            self.node_item.ports_changed()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.node_item.ports_changed()

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


class NodeItem(QGraphicsObject):
    """A node: a rounded card with a header in its group's colour (name and op), input ports on
    the left, outputs on the right, and a footer with the inferred shape.

    Not movable by Qt itself: the scene turns drags into move commands, and the item goes where
    the graph's position events put it.
    """

    def __init__(self, node: Node):
        super().__init__()
        self.node = node
        spec = node.spec
        self.colour = theme.group_colour(spec.group)
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setFlag(QGraphicsItem.ItemSendsScenePositionChanges, True)
        self.setAcceptHoverEvents(False)
        self.setZValue(1)
        self.edges: set[EdgeItem] = set()
        self.input_ports = {p.name: PortItem(self, p.name, False, p.doc) for p in spec.inputs}
        self.output_ports = {name: PortItem(self, name, True) for name in spec.outputs}
        self._shape_text = ""
        self._problem: str | None = None
        self._value_text: str | None = None
        self._grad_text: str | None = None
        self._highlighted = False
        self._locked = False
        self._badge: ErrorBadgeItem | None = None
        self._height = 0.0
        self._path_key: float | None = None
        self._texts_key: tuple | None = None
        self._ports_dirty = True
        self._serial = next(NodeItem._serials)
        self._look = 0
        self._has_pictures = False
        self._layout()
        self.refresh()
        self.sync_position()

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
        rows = max(len(self.input_ports), len(self.output_ports), 1)
        self.prepareGeometryChange()
        self._ports_top = theme.NODE_HEADER_HEIGHT + theme.NODE_BODY_PADDING
        self._height = (self._ports_top + rows * theme.NODE_PORT_SPACING + theme.NODE_FOOTER_HEIGHT
                        + self._value_lines() * theme.NODE_VALUE_LINE_HEIGHT + 4)
        m = theme.PORT_HIT_RADIUS
        self._bounds = QRectF(-m, -m, self.width + 2 * m, self._height + 2 * m)
        # What the card draws: port circles reach out sideways, borders a pixel or two around.
        self._picture_rect = QRectF(-m, -2, self.width + 2 * m, self._height + 4)
        for k, port in enumerate(self.input_ports.values()):
            port.setPos(0.0, self._port_y(k))
        for k, port in enumerate(self.output_ports.values()):
            port.setPos(self.width, self._port_y(k))
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

    def ports(self) -> list[PortItem]:
        return list(self.input_ports.values()) + list(self.output_ports.values())

    # ------------------------------------------------------------------------------- state
    def sync_position(self) -> None:
        """Place the item where the graph says the node is."""
        pos = self.node.position
        if pos is not None:
            x, y = pos
            if self.pos().x() != x or self.pos().y() != y:
                self.setPos(float(x), float(y))

    def refresh(self) -> None:
        """Re-read the node's name, op and parameters after a change."""
        spec = self.node.spec
        self.setToolTip(f"<b>{self.node.name}</b> ({spec.title})<br>{spec.doc}"
                        f"<br><i>{spec.derivative}</i>")
        self._look_changed()

    def set_shape(self, shape: tuple | None) -> None:
        text = "" if shape is None else format_shape(shape)
        if text != self._shape_text:
            self._shape_text = text
            self._look_changed()

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

    def set_value_display(self, value_text: str | None, grad_text: str | None = None) -> None:
        """Show a value and a gradient line under the shape (None hides a line). For the
        forward/backward views; the node grows to fit."""
        if (value_text, grad_text) != (self._value_text, self._grad_text):
            self._value_text, self._grad_text = value_text, grad_text
            self._layout()
            for edge in self.edges:
                edge.update_path()
            self._look_changed()

    def set_highlighted(self, on: bool) -> None:
        """Mark this node as the one a step-through is at."""
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

    # ---------------------------------------------------------------------------- Qt hooks
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        if change is _POSITION_CHANGED:
            for edge in self.edges:
                edge.update_path()
        elif change is _SELECTION_CHANGED:
            self.setZValue(2 if value else 1)
            self._drop_pictures()  # the border shows the selection
        return super().itemChange(change, value)

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
                painter.setRenderHint(_ANTIALIASING, False)
                painter.setRenderHint(_SMOOTH_PIXMAPS,
                                      abs(picture.devicePixelRatio() - lod) > 1e-6)
                painter.drawPixmap(self._picture_rect.topLeft(), picture)
                return
        self._paint_detail(painter, export=widget is None)

    def _paint_flat(self, painter: QPainter) -> None:
        """Zoomed far out: flat cards in the group colour are all that can be seen anyway."""
        painter.setRenderHint(_ANTIALIASING, False)
        painter.setPen(_NO_PEN)
        painter.setBrush(theme.NODE_BODY_LOCKED if self._locked else theme.NODE_BODY)
        painter.drawRect(QRectF(0, 0, self.width, self._height))
        painter.setBrush(self.colour)
        painter.drawRect(QRectF(0, 0, self.width, theme.NODE_HEADER_HEIGHT))
        selected = self.isSelected()
        if selected or self._highlighted or self._problem:
            painter.setBrush(_NO_BRUSH)
            colour = (theme.NODE_SELECTED_BORDER if selected else theme.NODE_HIGHLIGHT_BORDER
                      if self._highlighted else theme.ERROR_BADGE)
            painter.setPen(theme.cosmetic_pen(colour, 2))
            painter.drawRect(QRectF(0, 0, self.width, self._height))

    def _paint_detail(self, painter: QPainter, export: bool) -> None:
        """The full card: header, texts, separator, value lines and port circles."""
        body = theme.NODE_BODY_LOCKED if self._locked else theme.NODE_BODY
        selected = self.isSelected()
        painter.setRenderHint(_ANTIALIASING, True)
        card, header = self._paths()
        painter.setPen(_NO_PEN)
        painter.setBrush(body)
        painter.drawPath(card)
        painter.setBrush(self.colour)
        painter.drawPath(header)
        if selected or self._highlighted:
            painter.setBrush(_NO_BRUSH)
            painter.setPen(_PENS.selected_border if selected else _PENS.highlight_border)
            painter.drawPath(card)

        texts = self._static_texts()
        if painter.paintEngine().type() == _SVG_ENGINE:
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
        painter.setPen(_PENS.separator)
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
            painter.setPen(_PENS.port_border)
            for pos, fill, radius in self._port_marks():
                painter.setBrush(fill)
                painter.drawEllipse(pos, radius, radius)
            return
        scale = painter.worldTransform().m11()
        for pos, fill, radius in self._port_marks():
            sprite = _port_sprite(fill, radius, scale)
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
        self._paint_detail(painter, export=False)
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
        """A port's state or wiring changed: redraw its mark."""
        self._ports_dirty = True
        self._look_changed()

    def _static_texts(self) -> "_NodeTexts":
        """Laid-out texts, rebuilt only when the name, shape or size changes (drawing a
        QStaticText skips the layout work that drawText repeats on every paint)."""
        key = (self.node.name, self._shape_text, self._height)
        if self._texts_key != key:
            self._texts = _NodeTexts(self)
            self._texts_key = key
        return self._texts


class _NodeTexts:
    """A node's labels: what to write where, in which font and colour, plus the laid-out
    QStaticText for each zoom level in use (a static text keeps its layout for one transform
    only, so one set per level lets zooming back and forth reuse them)."""

    LEVELS_KEPT = 6

    def __init__(self, item: NodeItem):
        title_rect = item.title_rect()
        name = _FONTS.title_metrics.elidedText(item.node.name, Qt.ElideRight, title_rect.width() - 8)
        self.entries: list[tuple[QFont, QColor, QPointF, str]] = [
            (_FONTS.title, theme.NODE_TITLE_TEXT,
             QPointF(title_rect.left(), title_rect.center().y() - _FONTS.title_metrics.height() / 2),
             name),
            (_FONTS.subtitle, theme.NODE_SUBTITLE_TEXT,
             QPointF(10, 28 - _FONTS.subtitle_metrics.height() / 2), item.node.spec.title.lower()),
        ]
        port_h = _FONTS.port_metrics.height()
        for k, label in enumerate(item.input_ports):
            self.entries.append((_FONTS.port, theme.NODE_TEXT,
                                 QPointF(12, item._port_y(k) - port_h / 2), label))
        named_outputs = item.output_ports if len(item.output_ports) > 1 else {}
        for k, label in enumerate(named_outputs):  # a lone output needs no label
            width = _FONTS.port_metrics.horizontalAdvance(label)
            self.entries.append((_FONTS.port, theme.NODE_TEXT,
                                 QPointF(item.width - 12 - width, item._port_y(k) - port_h / 2),
                                 label))
        rows = max(len(item.input_ports), len(item.output_ports), 1)
        y = item._ports_top + rows * theme.NODE_PORT_SPACING
        self.separator = QLineF(8, y, item.width - 8, y)
        shape = f"shape {item._shape_text}" if item._shape_text else "shape ?"
        self.footer_y = y + 1 + (theme.NODE_FOOTER_HEIGHT - _FONTS.value_metrics.height()) / 2
        self.entries.append((_FONTS.value, theme.NODE_DIM_TEXT, QPointF(10, self.footer_y), shape))
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


_SPRITES: dict[tuple[str, float, int], QPixmap] = {}


def _port_sprite(fill: QColor, radius: float, scale: float) -> QPixmap:
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
        p.setPen(_PENS.port_border)
        p.setBrush(fill)
        p.drawEllipse(QPointF(size / 2, size / 2), radius, radius)
        p.end()
        _SPRITES[key] = sprite
    return sprite


def _static(text: str, font: QFont, transform: QTransform) -> QStaticText:
    static = QStaticText(text)
    static.setTextFormat(Qt.PlainText)
    static.setPerformanceHint(QStaticText.AggressiveCaching)
    static.prepare(transform, font)
    return static


class _Pens:
    """Pens built once and shared by every item."""

    def __init__(self) -> None:
        self.border = theme.pen(theme.NODE_BORDER, 1.2)
        self.selected_border = theme.pen(theme.NODE_SELECTED_BORDER, 2.2)
        self.highlight_border = theme.pen(theme.NODE_HIGHLIGHT_BORDER, 2.6)
        self.separator = theme.pen(theme.NODE_BORDER, 1)
        self.port_border = theme.pen(theme.PORT_BORDER, 1.5)
        self.wire = theme.cosmetic_pen(theme.WIRE_COLOUR, 1.0)
        self.wire_selected = theme.pen(theme.WIRE_SELECTED, theme.WIRE_SELECTED_WIDTH)
        self.wire_far = theme.cosmetic_pen(theme.WIRE_COLOUR, 1.0)


_PENS = _Pens()


class _Fonts:
    """Fonts and metrics built once (building a QFont per paint call costs more than drawing)."""

    def __init__(self) -> None:
        self._ready = False

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        self.title = theme.title_font()
        self.subtitle = theme.subtitle_font()
        self.port = theme.port_font()
        self.value = theme.value_font()
        self.title_metrics = QFontMetricsF(self.title)
        self.subtitle_metrics = QFontMetricsF(self.subtitle)
        self.port_metrics = QFontMetricsF(self.port)
        self.value_metrics = QFontMetricsF(self.value)
        return object.__getattribute__(self, name)


_FONTS = _Fonts()


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
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setFlag(QGraphicsItem.ItemHasNoContents, True)
        self.setZValue(-1)
        self._path = QPainterPath()
        self._hit = QPainterPath()
        self._bounds = QRectF()
        self._gradient: float | None = None
        self._colour = theme.WIRE_COLOUR
        self._pen = _PENS.wire
        self.in_layer = True  # drawn by the wire layer: shown and not selected
        source.node_item.edges.add(self)
        target.node_item.edges.add(self)
        source.set_connected(True)
        target.set_connected(True)
        self.update_path()

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
        self._redraw_in_layer()  # where the wire was
        self.prepareGeometryChange()
        self._path = wire_path(self.source.scene_anchor(), self.target.scene_anchor())
        # The curve as a line strip, flattened once here rather than at every paint.
        self._strip = self._path.toSubpathPolygons()[0]
        self._shifted_scale = 0.0  # the shifted copy is made at the next paint
        self._hit = QPainterPath()
        self._bounds = self._path.boundingRect().adjusted(-6, -6, 6, 6)
        self._hit_dirty = True
        self._redraw_in_layer()  # and where it is now

    @property
    def path(self) -> QPainterPath:
        return self._path

    def set_gradient_magnitude(self, magnitude: float | None, scale_max: float = 1.0) -> None:
        """Colour the wire by the size of the gradient it carries (log scale up to
        ``scale_max``); None goes back to the plain colour."""
        self._gradient = magnitude
        if magnitude is None or not math.isfinite(magnitude):
            self._colour = theme.WIRE_COLOUR
            self._pen = _PENS.wire
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
        if self._hit_dirty:
            stroker = QPainterPathStroker()
            stroker.setWidth(theme.WIRE_HIT_WIDTH)
            self._hit = stroker.createStroke(self._path)
            self._hit_dirty = False
        return self._hit

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        if change in _WIRE_LAYER_CHANGES:
            in_layer = self.isVisible() and not self.isSelected()
            if in_layer != self.in_layer:
                self.in_layer = in_layer
                self.setFlag(QGraphicsItem.ItemHasNoContents, in_layer)
            self._redraw_in_layer()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        # Only a selected wire comes here; the layer draws the others.
        painter.setBrush(_NO_BRUSH)
        painter.setRenderHint(_ANTIALIASING, True)
        painter.setPen(_PENS.wire_selected)
        painter.drawPath(self._path)

    def paint_in_layer(self, painter: QPainter, scale: float, double: bool = True) -> None:
        """Two antialiased one-pixel strokes a pixel apart read as a smooth wire about two
        pixels wide, and Qt draws one-pixel cosmetic strokes several times faster than wide
        ones; ``double`` False draws the first only. The second stroke is a shifted copy of
        the strip: moving the painter instead costs more than the stroke (a transform change
        resets the paint engine's state)."""
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

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        exposed = option.exposedRect
        wires = [e for e in self._edges.values() if e.in_layer and e._bounds.intersects(exposed)]
        painter.setBrush(_NO_BRUSH)
        if widget is None:
            # Rendering for an export (no view): the slower, exact wide stroke.
            painter.setRenderHint(_ANTIALIASING, True)
            for wire in wires:
                painter.setPen(theme.pen(wire.colour, theme.WIRE_WIDTH))
                painter.drawPath(wire.path)
            return
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        if scale < theme.DETAIL_ZOOM:
            painter.setRenderHint(_ANTIALIASING, False)
            for wire in wires:
                painter.setPen(_PENS.wire_far if wire.gradient_magnitude is None else wire._pen)
                painter.drawPath(wire.path)
            return
        painter.setRenderHint(_ANTIALIASING, True)
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
