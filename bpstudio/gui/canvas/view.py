"""The canvas view: zoom to the cursor, pan (middle drag or space + drag), the grid, framing,
rubber-band selection, and the drop target for ops dragged from the palette."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (QBrush, QColor, QContextMenuEvent, QDragEnterEvent, QDragMoveEvent,
                           QDropEvent, QImage, QKeyEvent, QMouseEvent, QPainter, QPalette,
                           QTransform, QWheelEvent)
from PySide6.QtWidgets import QGraphicsView, QMenu, QToolTip

from . import theme
from .node_item import NodeItem
from .paint import CROSS_CURSOR
from .scene import GraphScene
from .wire_items import EdgeItem

OP_MIME_TYPE = "application/x-bpstudio-op"
# Zoom levels about 12% apart (six per doubling), from about 8% to 400%.
ZOOM_LEVELS = tuple(2.0 ** (k / 6) for k in range(-22, 13))
MIN_ZOOM = ZOOM_LEVELS[0]
# Below about this zoom, node and layer names are drawn under 8 pixels: too small to read.
READABLE_ZOOM = 0.6
ARROW_CURSOR = Qt.CursorShape.ArrowCursor
MAX_ZOOM = ZOOM_LEVELS[-1]


def _step_level(zoom: float, steps: int) -> int:
    """The index ``steps`` levels away from the level nearest to ``zoom``."""
    nearest = min(range(len(ZOOM_LEVELS)), key=lambda k: abs(math.log(ZOOM_LEVELS[k] / zoom)))
    return min(max(nearest + steps, 0), len(ZOOM_LEVELS) - 1)


class GraphView(QGraphicsView):
    """Shows a GraphScene. ``op_dropped(op, scene_pos)`` fires when a palette entry is dropped;
    ``add_node_requested(scene_pos, global_pos)`` when Tab or a right-click on empty canvas asks
    for the searchable add-node menu."""

    op_dropped = Signal(str, QPointF)
    add_node_requested = Signal(QPointF, QPoint)

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.MinimalViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheBackground)
        # drawBackground fills every exposed pixel: Qt need not clear the viewport first.
        self.viewport().setAttribute(Qt.WA_OpaquePaintEvent, True)
        # While zooming, every frame draws the grid afresh at a new size: caching it would only
        # add a copy of the whole view per frame. Caching resumes once zooming stops.
        self._background_timer = QTimer(self)
        self._background_timer.setSingleShot(True)
        self._background_timer.setInterval(400)
        self._background_timer.timeout.connect(
            lambda: self.setCacheMode(QGraphicsView.CacheBackground))
        self.setOptimizationFlag(QGraphicsView.DontSavePainterState, True)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.NoFrame)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        palette = self.palette()
        palette.setColor(QPalette.Highlight, theme.RUBBER_BAND_BORDER)
        self.setPalette(palette)
        self._pan_from: QPoint | None = None
        self._wheel_delta = 0
        self._space_held = False
        scene.group_opened.connect(lambda rect: self.ensureVisible(rect, 20, 20))
        self.node_menu_actions: list = []  # filled by the main window (Rename, Duplicate, Delete)
        self.edge_menu_actions: list = []

    def graph_scene(self) -> GraphScene:
        return self.scene()

    # ---------------------------------------------------------------------------- zoom & pan
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, at: QPoint | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``at`` (a viewport point) in place;
        without ``at``, under the cursor when it is over the canvas, else at the centre."""
        self.set_zoom(self.zoom * factor, at)

    def set_zoom(self, zoom: float, at: QPoint | None = None, settle: bool = True) -> None:
        """Zoom to ``zoom``, keeping the scene point under ``at`` in place. ``settle`` False
        for a zoom made before anything is drawn (the first view of a graph): there is no
        cache to pause for the zoom, and nothing to draw afresh once it settles."""
        target = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        factor = target / self.zoom
        if abs(factor - 1.0) < 1e-9:
            return
        if at is None:
            cursor = self.viewport().mapFromGlobal(self.cursor().pos())
            at = cursor if self.viewport().rect().contains(cursor) else self.viewport().rect().center()
        if settle:
            self.graph_scene().pause_item_caching()
            self.setCacheMode(QGraphicsView.CacheNone)
            self._background_timer.start()
        before = self.mapToScene(at)
        old_anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.scale(factor, factor)
        after = self.mapToScene(at)
        self.translate(after.x() - before.x(), after.y() - before.y())
        self.setTransformationAnchor(old_anchor)

    def zoom_steps(self, steps: int, at: QPoint | None = None) -> None:
        """Move ``steps`` zoom levels in (positive) or out. Zoom snaps to fixed levels, so
        going back and forth finds text and port pictures already drawn at that size."""
        self.set_zoom(ZOOM_LEVELS[_step_level(self.zoom, steps)], at)

    def zoom_in(self) -> None:
        self.zoom_steps(1)

    def zoom_out(self) -> None:
        self.zoom_steps(-1)

    def frame_rect(self, rect: QRectF, max_zoom: float = 1.5, settle: bool = True) -> bool:
        """Fit ``rect`` in the view (with a margin) at the largest zoom level that fits,
        never zooming in beyond ``max_zoom`` nor out beyond ``theme.FAR_NAME_ZOOM`` (where
        the names, all that is drawn, are still legible). False when it does not fit.
        (``settle``: see :meth:`set_zoom`.)"""
        if rect.isNull() or rect.isEmpty():
            return True
        margin = 40.0
        padded = rect.adjusted(-margin, -margin, margin, margin)
        view = self.viewport().rect()
        fit = min(view.width() / padded.width(), view.height() / padded.height())
        fitting = [z for z in ZOOM_LEVELS if theme.FAR_NAME_ZOOM <= z <= min(fit, max_zoom) * (1 + 1e-9)]
        lowest = next(z for z in ZOOM_LEVELS if z >= theme.FAR_NAME_ZOOM)
        self.set_zoom(fitting[-1] if fitting else lowest, settle=settle)
        self.centerOn(rect.center())
        return bool(fitting)

    def frame_all(self) -> None:
        self.frame_rect(self.graph_scene().nodes_rect())

    def show_start(self) -> None:
        """The first view of an opened graph: all of it, framed; a graph too large to be
        framed with its names legible is shown from its input side (the left)."""
        rect = self.graph_scene().nodes_rect()
        if self.frame_rect(rect, settle=False):  # (drawn for the first time at that zoom)
            return
        half_width = self.viewport().width() / self.zoom / 2
        self.centerOn(rect.left() - 40.0 + half_width, rect.center().y())

    def frame_selected(self) -> None:
        ids = self.graph_scene().selected_node_ids()
        if ids:
            self.frame_rect(self.graph_scene().nodes_rect(ids))
        else:
            self.frame_all()

    def pan_by(self, dx: float, dy: float) -> None:
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + int(dx))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + int(dy))

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self.scene() is not None:
            self.graph_scene().schedule_pictures()  # for the nodes now in and around the view

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.scene() is not None:
            self.graph_scene().schedule_pictures()

    def wheelEvent(self, event: QWheelEvent) -> None:
        # One notch (120) is one zoom level; fine-grained wheels and touchpads add up to it.
        self._wheel_delta += event.angleDelta().y()
        steps = int(self._wheel_delta / 120)
        if steps:
            self._wheel_delta -= steps * 120
            self.zoom_steps(steps, event.position().toPoint())
        event.accept()

    # --------------------------------------------------------------------------- the mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_held):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.RightButton:
            event.accept()  # the context menu event follows
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.pan_by(-delta.x(), -delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)
        self._show_port_cursor(event.position().toPoint())

    def _show_port_cursor(self, pos: QPoint) -> None:
        """A cross over a port (where a wire can be dragged from), the arrow elsewhere; the
        hand while space is held for panning. (Ports are places on their card, not items
        that could carry a cursor of their own.)"""
        if self._space_held:
            return
        shown = self.viewport().cursor().shape()
        if shown != CROSS_CURSOR and shown != ARROW_CURSOR:
            return  # (a hand: panning)
        over = self.graph_scene().port_at(self.mapToScene(pos)) is not None
        wanted = CROSS_CURSOR if over else ARROW_CURSOR
        if shown != wanted:
            self.viewport().setCursor(wanted)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space_held else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        scene = self.graph_scene()
        item = scene.item_at(self.mapToScene(event.pos()))
        node_item = scene.node_item_of(item) or scene.layer_item_of(item)
        if node_item is not None:
            if not node_item.isSelected():
                scene.clearSelection()
                node_item.setSelected(True)
            self._show_menu(self.node_menu_actions, event.globalPos())
        elif isinstance(item, EdgeItem):
            scene.clearSelection()
            item.setSelected(True)
            self._show_menu(self.edge_menu_actions, event.globalPos())
        else:
            self.add_node_requested.emit(self.mapToScene(event.pos()), event.globalPos())
        event.accept()

    def _show_menu(self, actions: list, global_pos: QPoint) -> None:
        if actions:
            menu = QMenu(self)
            menu.addActions(actions)
            menu.exec(global_pos)

    # ---------------------------------------------------------------------------- the keys
    def event(self, event: QEvent) -> bool:
        # Tab would move the keyboard focus; on the canvas it opens the add-node menu.
        if event.type() == QEvent.KeyPress and event.key() == Qt.Key_Tab \
                and not self.graph_scene().rename_editor:
            self.request_add_node_at_cursor()
            return True
        return super().event(event)

    def request_add_node_at_cursor(self) -> None:
        local = self.viewport().mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        self.add_node_requested.emit(self.mapToScene(local), self.viewport().mapToGlobal(local))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Escape and self.graph_scene().wiring:
            self.graph_scene().cancel_gestures()  # drop the wire being dragged
            event.accept()
            return
        if event.key() == Qt.Key_Space and not event.isAutoRepeat() \
                and not self.graph_scene().rename_editor:
            self._space_held = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self._pan_from = None
            self.viewport().setCursor(Qt.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------------------ drag & drop
    def _op_from(self, event) -> str | None:
        mime = event.mimeData()
        if mime.hasFormat(OP_MIME_TYPE):
            return bytes(mime.data(OP_MIME_TYPE)).decode("utf-8")
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._op_from(event) and not self.graph_scene().editing_locked:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._op_from(event) and not self.graph_scene().editing_locked:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        op = self._op_from(event)
        if op:
            self.op_dropped.emit(op, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            event.ignore()

    # ---------------------------------------------------------------------------- the grid
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        transform = painter.combinedTransform()
        if transform.type().value > QTransform.TxScale.value:  # never from this view; for safety
            self._draw_background_lines(painter, rect)
            return
        # In device pixels: one row holding the background and every vertical line, tiled
        # down the exposed area, then a one-pixel row per horizontal line. Both are plain
        # copies and fills, several times faster than a few hundred one-pixel lines, and they
        # light exactly the pixels the lines would.
        area = transform.mapRect(rect).toAlignedRect()
        if area.isEmpty():
            return
        row = QImage(area.width(), 1, QImage.Format_RGB32)
        row.fill(theme.BACKGROUND)
        columns: dict[int, QColor] = {}
        rows: dict[int, QColor] = {}
        for step, colour, skip in self._grid_levels():  # minor lines first: major ones win
            x = math.floor(rect.left() / step) * step
            while x <= rect.right():
                if skip is None or abs(math.remainder(x, skip)) > 1e-6:
                    column = math.floor(x * transform.m11() + transform.dx()) - area.left()
                    if 0 <= column < area.width():
                        columns[column] = colour
                x += step
            y = math.floor(rect.top() / step) * step
            while y <= rect.bottom():
                if skip is None or abs(math.remainder(y, skip)) > 1e-6:
                    rows[math.floor(y * transform.m22() + transform.dy())] = colour
                y += step
        for column, colour in columns.items():
            row.setPixelColor(column, 0, colour)
        painter.save()
        painter.resetTransform()
        painter.setBrushOrigin(area.left(), 0)
        painter.fillRect(area, QBrush(row))
        minor_row = None  # a minor line is crossed by the major vertical lines
        for y, colour in rows.items():
            if not area.top() <= y <= area.bottom():
                continue
            if colour == theme.GRID_MAJOR:
                painter.fillRect(QRect(area.left(), y, area.width(), 1), colour)
                continue
            if minor_row is None:
                minor_row = QImage(area.width(), 1, QImage.Format_RGB32)
                minor_row.fill(colour)
                for column, column_colour in columns.items():
                    if column_colour == theme.GRID_MAJOR:
                        minor_row.setPixelColor(column, 0, column_colour)
            painter.drawImage(area.left(), y, minor_row)
        painter.restore()

    def _grid_levels(self) -> list[tuple[float, QColor, float | None]]:
        """The grid lines to draw at this zoom: (spacing, colour, spacing of lines to skip)."""
        step = theme.GRID_STEP
        major = step * theme.GRID_MAJOR_EVERY
        levels = []
        if step * self.zoom >= 9:
            levels.append((step, theme.GRID_MINOR, major))
        if major * self.zoom >= 12:
            levels.append((major, theme.GRID_MAJOR, None))
        return levels

    def _draw_background_lines(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, theme.BACKGROUND)
        painter.setRenderHint(QPainter.Antialiasing, False)
        for step, colour, skip in self._grid_levels():
            self._draw_lines(painter, rect, step, colour, skip)

    @staticmethod
    def _draw_lines(painter: QPainter, rect: QRectF, step: float, colour: QColor,
                    skip: float | None = None) -> None:
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        lines = []
        x = left
        while x <= rect.right():
            if skip is None or abs(math.remainder(x, skip)) > 1e-6:
                lines.append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y <= rect.bottom():
            if skip is None or abs(math.remainder(y, skip)) > 1e-6:
                lines.append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        painter.setPen(theme.cosmetic_pen(colour, 1.0))
        painter.drawLines(lines)

    # ---------------------------------------------------------------------------- tooltips
    def viewportEvent(self, event: QEvent) -> bool:
        # Qt's scene shows the tooltip an item was given beforehand; a node's is built here,
        # when it is shown, because it may hold every number of the node's value.
        if event.type() == QEvent.ToolTip:
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    def tooltip_at(self, pos: QPoint) -> str:
        """The tooltip for view position ``pos``: the topmost item's own (a port, a badge, a
        wire), or a node's built now."""
        scene = self.graph_scene()
        for item in scene.hits(self.mapToScene(pos), self.viewportTransform()):
            if isinstance(item, NodeItem):
                return item.tooltip_text()
            if item.toolTip():
                return item.toolTip()
        return ""

    # ------------------------------------------------------------------------------- misc
    def node_item_at_view(self, pos: QPoint) -> NodeItem | None:
        scene = self.graph_scene()
        return scene.node_item_of(scene.item_at(self.mapToScene(pos)))
