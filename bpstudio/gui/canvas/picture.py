"""A picture of the graph on the canvas (its nodes and wires, not the grid or the selection),
written as PNG or SVG: File > Export > Canvas as PNG / SVG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from . import theme
from .scene import GraphScene

MARGIN = 30.0   # scene units around the nodes
PNG_SCALE = 2.0  # pixels per scene unit: sharp on a high-density screen or a slide


def write_picture(scene: GraphScene, path: Path, fmt: str, title: str = "graph") -> bool | None:
    """Draw the scene's nodes and wires into ``path`` ("png" or "svg"). True when written,
    False when the file could not be, None when there is nothing to draw."""
    rect = scene.nodes_rect()
    if rect.isNull():
        return None
    rect = rect.marginsAdded(QMarginsF(MARGIN, MARGIN, MARGIN, MARGIN))
    selected = scene.selectedItems()
    scene.clearSelection()  # a picture of the graph, not of the selection
    # Draw the items themselves, not their screen-resolution cached pictures.
    cached = [(item, item.cacheMode()) for item in scene.node_items.values()]
    for item, _mode in cached:
        item.setCacheMode(QGraphicsItem.NoCache)
    try:
        if fmt == "svg":
            from PySide6.QtSvg import QSvgGenerator  # (loaded only when an SVG is asked for)

            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(rect.size().toSize())
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle(title)
            painter = QPainter(generator)
            painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), theme.BACKGROUND)
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            return painter.end()
        image = QImage((rect.size() * PNG_SCALE).toSize(), QImage.Format_ARGB32)
        image.fill(theme.BACKGROUND)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        scene.render(painter, QRectF(image.rect()), rect)
        painter.end()
        return image.save(str(path), "PNG")
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)
        for item in selected:
            item.setSelected(True)
