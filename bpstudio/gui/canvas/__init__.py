"""The node-editor canvas: scene (mirrors a Graph), view (zoom, pan, drop target), items, theme."""

from .items import DragWireItem, EdgeItem, NodeItem, PortItem
from .scene import GraphScene
from .view import OP_MIME_TYPE, GraphView

__all__ = ["DragWireItem", "EdgeItem", "GraphScene", "GraphView", "NodeItem", "OP_MIME_TYPE",
           "PortItem"]
