"""What every canvas item paints with: Qt enum values, pens and fonts built once, and the
scales of the node pictures used while zooming.

They live apart from the items so that ports, nodes and wires share one set rather than each
building its own; nothing here knows about the graph.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPaintEngine
from PySide6.QtWidgets import QGraphicsItem

from . import theme


# Qt enum values read once: looking one up on its class runs Python code at every access, and
# paint() methods use several per call.
ANTIALIASING = QPainter.RenderHint.Antialiasing
SMOOTH_PIXMAPS = QPainter.RenderHint.SmoothPixmapTransform
NO_PEN = Qt.PenStyle.NoPen
NO_BRUSH = Qt.BrushStyle.NoBrush
SVG_ENGINE = QPaintEngine.Type.SVG
SELECTED_CHANGED = QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged
VISIBLE_CHANGED = QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged
SCENE_CHANGED = QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged
HAS_NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
WIRE_FLAGS = SELECTABLE | HAS_NO_CONTENTS  # (combined once: each | runs Python code)
CROSS_CURSOR = Qt.CursorShape.CrossCursor

# Node pictures for zooming are drawn at these scales (device pixels per scene unit). A zoom
# level uses the smallest one at or above it, so pictures are only ever shrunk, by at most half.
PICTURE_SCALES = (1.0, 2.0, 4.0)


def picture_scale(zoom: float) -> float:
    """The picture scale that serves ``zoom``."""
    for scale in PICTURE_SCALES:
        if zoom <= scale * 1.001:
            return scale
    return PICTURE_SCALES[-1]


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


PENS = _Pens()


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
        self.far_name = theme.far_name_font()
        self.far_name_metrics = QFontMetricsF(self.far_name)
        self.title_metrics = QFontMetricsF(self.title)
        self.subtitle_metrics = QFontMetricsF(self.subtitle)
        self.port_metrics = QFontMetricsF(self.port)
        self.value_metrics = QFontMetricsF(self.value)
        return object.__getattribute__(self, name)


FONTS = _Fonts()


# Names elided for the far level of detail, by name and width: eliding one costs about as
# much as drawing it, and a zoom step far out draws every card's name.
_FAR_NAMES: dict[tuple[str, float], str] = {}
FAR_NAMES_KEPT = 65536


def paint_far_name(painter: QPainter, name: str, rect: QRectF) -> None:
    """A card's name as the far level of detail draws it: large, centred, elided to fit."""
    painter.setFont(FONTS.far_name)
    painter.setPen(theme.NODE_TEXT)
    key = (name, rect.width())
    text = _FAR_NAMES.get(key)
    if text is None:
        if len(_FAR_NAMES) >= FAR_NAMES_KEPT:
            _FAR_NAMES.clear()
        text = _FAR_NAMES[key] = FONTS.far_name_metrics.elidedText(name, Qt.ElideRight,
                                                                    rect.width() - 8)
    painter.drawText(rect, Qt.AlignCenter, text)
