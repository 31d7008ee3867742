"""Every colour, pen, font and size the canvas draws with, in one place.

Items read these constants instead of choosing their own, so the look of the whole editor can be
changed here and a later theme (light, high contrast) is one more set of values.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPen

from bpstudio.core.ops.base import ACTIVATIONS, ARITHMETIC, LOSSES, SOURCES

# --- canvas background -------------------------------------------------------------------------
BACKGROUND = QColor("#1d1f24")
GRID_MINOR = QColor("#25282e")
GRID_MAJOR = QColor("#2d3138")
GRID_STEP = 20  # scene units between minor lines
GRID_MAJOR_EVERY = 5  # a major line every this many minor lines

# --- nodes ----------------------------------------------------------------------------------------
GROUP_COLOURS: dict[str, QColor] = {
    SOURCES: QColor("#3f8f5f"),
    ARITHMETIC: QColor("#3a6ea5"),
    ACTIVATIONS: QColor("#b0742c"),
    LOSSES: QColor("#a8434f"),
}
FALLBACK_GROUP_COLOUR = QColor("#6b6f7a")

NODE_WIDTH = 170.0
NODE_HEADER_HEIGHT = 38.0
NODE_PORT_SPACING = 22.0
NODE_BODY_PADDING = 10.0
NODE_FOOTER_HEIGHT = 20.0  # the shape line; the value/gradient lines go below it when shown
NODE_VALUE_LINE_HEIGHT = 16.0
NODE_RADIUS = 8.0

NODE_BODY = QColor("#2b2e35")
NODE_BODY_LOCKED = QColor("#26282e")
NODE_BORDER = QColor("#15171b")
NODE_SELECTED_BORDER = QColor("#f2c14e")
NODE_HIGHLIGHT_BORDER = QColor("#5ec8ff")  # the node the step-through is at
NODE_TITLE_TEXT = QColor("#f4f5f7")
NODE_SUBTITLE_TEXT = QColor("#d6dae2")
NODE_TEXT = QColor("#c6cbd4")
NODE_DIM_TEXT = QColor("#8a909c")
NODE_VALUE_TEXT = QColor("#9fd3a8")
NODE_GRAD_TEXT = QColor("#f0a35e")
ERROR_BADGE = QColor("#e5484d")
ERROR_BADGE_TEXT = QColor("#ffffff")
ERROR_BADGE_RADIUS = 8.0

# --- layers (groups) --------------------------------------------------------------------------
LAYER_WIDTH = 210.0           # a collapsed layer's block (one layout cell: 240 x 175)
LAYER_HEADER_HEIGHT = 30.0
LAYER_TITLE_PX = 17           # pixel sizes: the block stays legible framed at about 0.5x
LAYER_LINE_PX = 13
LAYER_HEADER = QColor("#5b4a8a")
LAYER_BORDER = QColor("#7a68b0")
LAYER_HEALTHY = QColor("#3f8f5f")
GROUP_FRAME = QColor(122, 104, 176, 34)      # an opened layer's region
GROUP_FRAME_BORDER = QColor("#7a68b0")
GROUP_FRAME_PADDING = 18.0
GROUP_FRAME_TITLE_HEIGHT = 30.0
# Zoomed out past DETAIL_ZOOM, a node shows only its name, in this many scene units, so that
# Frame All (which never goes below FAR_NAME_ZOOM) keeps every name legible.
FAR_NAME_PX = 34
FAR_NAME_ZOOM = 0.25

# Below this zoom factor nodes draw without text: labels would be unreadable and cost the most.
DETAIL_ZOOM = 0.45

# --- ports ---------------------------------------------------------------------------------------
PORT_RADIUS = 5.5
PORT_HIT_RADIUS = 10.0  # a little larger than drawn, so ports are easy to grab
PORT_FILL = QColor("#9aa3b2")
PORT_CONNECTED_FILL = QColor("#dfe4ec")
PORT_BORDER = QColor("#15171b")
PORT_VALID_TARGET = QColor("#52d273")
PORT_INVALID_TARGET = QColor("#5a5f6a")
PORT_HOVER_REFUSED = QColor("#e5484d")

# --- wires ---------------------------------------------------------------------------------------
WIRE_COLOUR = QColor("#8f98a8")
WIRE_SELECTED = QColor("#f2c14e")
WIRE_DRAGGING = QColor("#cfd6e2")
WIRE_REFUSED = QColor("#e5484d")
WIRE_WIDTH = 2.2
WIRE_SELECTED_WIDTH = 3.2
WIRE_HIT_WIDTH = 10.0  # the clickable band around a wire
# Gradient-magnitude colouring: low to high, interpolated on a log scale by EdgeItem.
GRADIENT_LOW = QColor("#3a6ea5")
GRADIENT_HIGH = QColor("#ff6b3d")

# --- rubber band ------------------------------------------------------------------------------
RUBBER_BAND = QColor(242, 193, 78, 40)
RUBBER_BAND_BORDER = QColor(242, 193, 78, 160)


def group_colour(group: str) -> QColor:
    return GROUP_COLOURS.get(group, FALLBACK_GROUP_COLOUR)


def cosmetic_pen(colour: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


def pen(colour: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.SolidLine) -> QPen:
    p = QPen(colour, width, style)
    p.setCapStyle(Qt.RoundCap)
    p.setJoinStyle(Qt.RoundJoin)
    return p


def title_font() -> QFont:
    font = QFont()
    font.setPointSizeF(10.0)
    font.setBold(True)
    return font


def subtitle_font() -> QFont:
    font = QFont()
    font.setPointSizeF(8.0)
    return font


def port_font() -> QFont:
    font = QFont()
    font.setPointSizeF(8.5)
    return font


def far_name_font() -> QFont:
    font = QFont()
    font.setPixelSize(FAR_NAME_PX)
    font.setBold(True)
    return font


def value_font() -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.Monospace)
    font.setPointSizeF(8.0)
    return font


# --- light and dark -----------------------------------------------------------------------------
# The values above are the dark look. The light one changes these; a switch rewrites the QColor
# objects in place, so that every module holding one of them (the plots' style) follows.
LIGHT = {
    "BACKGROUND": "#f6f7f9", "GRID_MINOR": "#eceef2", "GRID_MAJOR": "#dde1e7",
    "NODE_BODY": "#ffffff", "NODE_BODY_LOCKED": "#eff0f3", "NODE_BORDER": "#aab0bb",
    "NODE_SELECTED_BORDER": "#d08c00", "NODE_HIGHLIGHT_BORDER": "#0a84d0",
    "NODE_TEXT": "#2a2e35", "NODE_DIM_TEXT": "#676d78", "NODE_VALUE_TEXT": "#2c7a3c",
    "NODE_GRAD_TEXT": "#b85f16", "PORT_FILL": "#8a93a3", "PORT_CONNECTED_FILL": "#4a5160",
    "PORT_BORDER": "#ffffff", "PORT_INVALID_TARGET": "#c3c8d0", "WIRE_COLOUR": "#7b8494",
    "WIRE_SELECTED": "#d08c00", "WIRE_DRAGGING": "#4a5160",
    "LAYER_HEADER": "#7c6bb5", "LAYER_BORDER": "#6a58a3", "GROUP_FRAME": "#1e6a58a3",
}
DARK = {name: globals()[name].name(QColor.HexArgb) for name in LIGHT}
_dark = True


def set_dark(dark: bool) -> None:
    """Switch the canvas colours to the dark (default) or the light look."""
    global _dark
    _dark = dark
    for name, value in (DARK if dark else LIGHT).items():
        globals()[name].setRgba(QColor(value).rgba())


def is_dark() -> bool:
    return _dark
