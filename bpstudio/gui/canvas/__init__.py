"""The node-editor canvas: scene (mirrors a Graph), view (zoom, pan, drop target), theme, and
the items, one module per kind: node_item, port_item (ports, error badge), wire_items, and the
pens, fonts and picture scales they share in paint."""

from .node_item import NodeItem
from .port_item import PortItem
from .scene import GraphScene
from .view import OP_MIME_TYPE, GraphView
from .wire_items import DragWireItem, EdgeItem

__all__ = ["DragWireItem", "EdgeItem", "GraphScene", "GraphView", "NodeItem", "OP_MIME_TYPE",
           "PortItem"]
