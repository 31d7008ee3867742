"""The canvas scene: mirrors one core Graph as items and turns mouse gestures into commands.

The scene subscribes to the graph's events and creates, removes and updates its items from them;
that is the only way items appear or move. Gestures (dragging nodes, dragging wires, renaming in
place) build undo commands and push them on the undo stack; the scene never edits the graph
itself, so the graph stays the one source of truth and every edit can be undone.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from typing import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPixmapCache, QTransform, QUndoCommand
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsProxyWidget, QGraphicsScene,
                               QGraphicsSceneMouseEvent, QLineEdit)

from bpstudio.core.errors import GraphError
from bpstudio.core.graph import Edge, Graph, GraphEvent
from bpstudio.core.layers import dense_layer
from bpstudio.core.layout import group_corner
from bpstudio.core.shapes import format_shape

from ..document import LOCKED_MESSAGE, Document

from .. import commands
from . import theme
from .group_frame_item import GroupFrameItem
from .layer_item import LayerItem
from .node_item import NodeItem
from .paint import PENS, picture_scale
from .port_item import PortItem, clear_port_sprites
from .wire_items import DragWireItem, EdgeItem, WireLayerItem

SCENE_EXTENT = 100_000.0  # the canvas is, for a person, endless
# Zoom pictures and screen-resolution node caches share Qt's pixmap cache; its default 10 MB
# holds about a hundred nodes at 100%, fewer than a large graph shows.
PIXMAP_CACHE_KB = 128 * 1024
# Idle picture drawing works in slices of about this long, so input is never kept waiting.
PICTURE_SLICE_S = 0.004
# Changed nodes get new pictures once changes have paused this long (a running forward pass
# changes values many times a second; pictures are only needed for zooming).
PICTURE_REDRAW_DELAY_MS = 300


DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
NO_CACHE = QGraphicsItem.CacheMode.NoCache


def _first_problems(problems) -> dict[str, str]:
    """Node id -> the message of its first problem."""
    first: dict[str, str] = {}
    for p in problems:
        first.setdefault(p.node_id, p.message)
    return first


def _cards_rect(items: Iterable[NodeItem]) -> QRectF:
    """The scene rectangle around the cards ``items`` (null when there are none), from their
    places and their few sizes, without asking Qt for each one's scene rectangle: cards of a
    size share one bounding rectangle."""
    places: dict[int, tuple[QRectF, list[float], list[float]]] = {}
    for item in items:
        box = item.boundingRect()
        entry = places.get(id(box))
        if entry is None:
            entry = places[id(box)] = (box, [], [])
        position = item.node.position  # (where the card is, once the node has a place)
        x, y = position if position is not None else (item.x(), item.y())
        entry[1].append(x)
        entry[2].append(y)
    rect = QRectF()
    for box, xs, ys in places.values():
        left, top = min(xs), min(ys)
        rect = rect.united(QRectF(left + box.left(), top + box.top(),
                                  max(xs) - left + box.width(), max(ys) - top + box.height()))
    return rect


class _RenameEdit(QLineEdit):
    """The in-place name editor over a node's title. Enter commits, Escape cancels."""

    finished = Signal(bool)  # True: commit

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.finished.emit(True)
        elif event.key() == Qt.Key_Escape:
            self.finished.emit(False)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.finished.emit(True)


class GraphScene(QGraphicsScene):
    """Items for one graph. ``status_message`` carries refusals and errors for the status bar;
    ``validated`` fires after shapes and problems were recomputed."""

    status_message = Signal(str)
    validated = Signal()
    graph_event = Signal(object)  # every GraphEvent, after the items were updated
    group_opened = Signal(QRectF)  # a layer opened by a gesture: where its frame now is

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.graph: Graph | None = None
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[tuple[str, str], EdgeItem] = {}  # keyed like the graph: (dst, port)
        self.layer_items: dict[str, LayerItem] = {}        # collapsed groups, by group id
        self.frame_items: dict[str, GroupFrameItem] = {}   # opened groups, by group id
        self._folded: dict[str, set[str]] = {}  # collapsed group id -> the nodes it hides
        # Selected blocks whose group an edit took away: the group may come back within the
        # same edit (a layer given another activation), and then its block is selected again.
        self._selected_gone: set[str] = set()
        self._forget_gone = QTimer(self)
        self._forget_gone.setSingleShot(True)
        self._forget_gone.setInterval(0)
        self._forget_gone.timeout.connect(self._selected_gone.clear)
        self.shapes: dict[str, tuple] = {}
        self.problems: dict[str, str] = {}
        self._unsubscribe: Callable[[], None] | None = None
        # A timer owned by the scene (not a bare singleShot), so it dies with the scene.
        self._validation_timer = QTimer(self)
        self._validation_timer.setSingleShot(True)
        self._validation_timer.setInterval(0)
        self._validation_timer.timeout.connect(self.validate_now)
        # Node pictures are cached at screen resolution (repaints and pans copy them); while a
        # zoom goes on, the caches would be redrawn at every level, so they pause until it ends.
        self._caching = True
        self._caching_timer = QTimer(self)
        self._caching_timer.setSingleShot(True)
        self._caching_timer.setInterval(400)
        self._caching_timer.timeout.connect(lambda: self._set_item_caching(True))
        # Zoom pictures of the nodes in and around each view, drawn while the canvas is idle.
        self._picture_queue: deque[tuple[NodeItem | None, float]] = deque()
        self._pictures_stale = False
        self._picture_timer = QTimer(self)
        self._picture_timer.setSingleShot(True)
        self._picture_timer.timeout.connect(self._draw_pictures)
        # Selected nodes are drawn above the others, once a burst of selection changes is over
        # (Qt says each item selected by code: raising them there would be quadratic).
        self._raised: set[NodeItem] = set()
        self._raise_timer = QTimer(self)
        self._raise_timer.setSingleShot(True)
        self._raise_timer.setInterval(0)
        self._raise_timer.timeout.connect(self._raise_selected)
        self.selectionChanged.connect(self._raise_timer.start)
        if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
            QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
        self._move: tuple[QPointF, dict[str, tuple[float, float]], int] | None = None
        self._wire: DragWireItem | None = None
        self._wire_detached: Edge | None = None
        self._wire_hover: PortItem | None = None
        self._forbidden_nodes: set[str] = set()
        self._rename_proxy: QGraphicsProxyWidget | None = None
        self.setSceneRect(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT)
        self.setBackgroundBrush(theme.BACKGROUND)
        self.wire_layer = self._new_wire_layer()
        document.replaced.connect(lambda: self.set_graph(document.graph))
        document.lock_changed.connect(self._lock_changed)
        self.set_graph(document.graph)

    def _new_wire_layer(self) -> WireLayerItem:
        layer = WireLayerItem(self.edge_items)
        self.addItem(layer)
        return layer

    # ------------------------------------------------------------------------- the graph
    def restyle(self) -> None:
        """Every item in the theme's current colours, after a switch of look: the shared pens
        and port circles are made again, nodes drop their pictures, wires take new pens."""
        PENS.__init__()
        clear_port_sprites()
        self.setBackgroundBrush(theme.BACKGROUND)
        for node in self.node_items.values():
            node.restyle()
        for edge in self.edge_items.values():
            edge.restyle()
        for item in (*self.layer_items.values(), *self.frame_items.values()):
            item.update()
        self.wire_layer.update()

    def set_graph(self, graph: Graph) -> None:
        """Show ``graph``: drop every item and build one per node and per edge."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.cancel_gestures()
        self.clear()
        self.node_items.clear()
        self.edge_items.clear()
        self.layer_items.clear()
        self.frame_items.clear()
        self._folded.clear()
        self._raised.clear()
        self._validation_timer.stop()
        layer = self._new_wire_layer()
        self.graph = graph
        # Validated first, so that every item is made showing its shape and problem (rather
        # than made, then changed and drawn again by a validation).
        shapes, problems = graph.infer_shapes()
        self.shapes, self.problems = shapes, _first_problems(problems)
        # The cards and wires are made before any is added: a card outside the scene has
        # nothing to redraw when a wire marks its port as connected.
        cards = [self._new_node_item(node) for node in graph.nodes.values()]
        wires = [self._new_edge_item(edge) for edge in graph.edges]
        self._cover_rect(_cards_rect(cards))  # grown once, not once per node
        for card in cards:
            self.addItem(card)
        # While the wire layer is unset, wires added do not each grow and redraw it: it is
        # grown once for all of them.
        self.wire_layer = None
        for wire in wires:
            self.addItem(wire)
        self.wire_layer = layer
        layer.wires_added(wires)
        for group_id in graph.groups:
            self._sync_group(group_id)
        self._unsubscribe = graph.subscribe(self._on_graph_event)
        self.validated.emit()
        self.schedule_pictures()

    def _on_graph_event(self, event: GraphEvent) -> None:
        self._update_items(event)
        self.graph_event.emit(event)

    def _update_items(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind.startswith("group_"):
            self._sync_group(event.group.id)
            return  # a group changes neither shapes nor problems
        self._update_node_items(event)
        if event.field == "value":
            return  # a block shows no values; a new shape reaches it through the validation
        for node_id in self._event_nodes(event):
            node = self.graph.nodes.get(node_id)
            if node is not None and node.group is not None:
                self._sync_group(node.group.id)

    @staticmethod
    def _event_nodes(event: GraphEvent) -> tuple[str, ...]:
        if event.edge is not None:
            return (event.edge.src, event.edge.dst)
        return (event.node.id,) if event.node is not None else ()

    def _update_node_items(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind == "node_added":
            self._add_node_item(event.node)
        elif kind == "node_removed":
            item = self.node_items.pop(event.node.id, None)
            if item is not None:
                self.removeItem(item)
        elif kind == "edge_added":
            self._add_edge_item(event.edge)
        elif kind == "edge_removed":
            item = self.edge_items.pop((event.edge.dst, event.edge.dst_port), None)
            if item is not None:
                item.detach()
                self.removeItem(item)
        elif kind == "node_changed":
            item = self.node_items.get(event.node.id)
            if item is not None:
                if event.field == "position":
                    item.sync_position()
                    self._cover(item)
                    return  # a move changes neither shapes nor problems
                item.refresh()
        self.schedule_validation()

    def pause_item_caching(self) -> None:
        """Nodes copy their zoom pictures (or draw directly) until zooming has stopped for a
        moment; then they are drawn crisply again at the new level."""
        self._set_item_caching(False)
        self._caching_timer.start()
        self.schedule_pictures()

    def _set_item_caching(self, on: bool) -> None:
        if on != self._caching:
            self._caching = on
            mode = DEVICE_CACHE if on else NO_CACHE
            self.wire_layer.zooming = not on
            self.wire_layer.update()  # wires go back to their full stroke after a zoom
            for item in self.node_items.values():
                item.zooming = not on
                item.setCacheMode(mode)

    # ----------------------------------------------------------------- zoom pictures
    def schedule_pictures(self, delay_ms: int = 50) -> None:
        """Draw zoom pictures for the nodes in and around the views once the canvas is idle."""
        self._picture_queue.clear()
        self._picture_timer.start(delay_ms)

    def _wanted_pictures(self) -> list[tuple[NodeItem, float]]:
        """Nodes a zoom from the views' current places would show, nearest first: those in
        view at their picture scale, and those a zoom out to half size would add, wherever
        the zoom is anchored (the cursor may be at an edge of the view)."""
        wanted: dict[NodeItem, float] = {}
        distance: dict[NodeItem, float] = {}
        for view in self.views():
            if not view.isVisible():
                continue
            zoom = view.transform().m11()
            port = view.viewport().rect()
            centre = view.mapToScene(port.center())
            seen = view.mapToScene(port).boundingRect()
            out_zoom = max(zoom / 2, theme.DETAIL_ZOOM)
            reach = max(zoom / out_zoom - 1.0, 0.0)  # a view's size per side at half zoom
            around = seen.adjusted(-seen.width() * reach, -seen.height() * reach,
                                   seen.width() * reach, seen.height() * reach)
            near_scale = picture_scale(max(zoom, theme.DETAIL_ZOOM))
            far_scale = picture_scale(out_zoom)
            for item in self.items(around, Qt.IntersectsItemBoundingRect):
                if not isinstance(item, NodeItem) or not item.isVisible():
                    continue  # folded into a layer's block
                rect = item.sceneBoundingRect()
                if rect.intersects(seen):
                    wanted[item] = near_scale
                elif rect.intersects(around) and item not in wanted:
                    wanted[item] = far_scale
                else:
                    continue
                distance[item] = min(distance.get(item, math.inf),
                                     (item.pos() - centre).manhattanLength())
        return [(item, wanted[item]) for item in sorted(wanted, key=distance.__getitem__)]

    def pictures_stale(self) -> None:
        """A node's look changed and its pictures were dropped: draw them again once changes
        have stopped for a moment (a running round notices when it ends)."""
        self._pictures_stale = True
        if not self._picture_queue:
            self._picture_timer.start(PICTURE_REDRAW_DELAY_MS)

    def _draw_pictures(self) -> None:
        """One slice of idle picture drawing; the next slice comes after pending input."""
        if not self._picture_queue:
            self._pictures_stale = False
            self._picture_queue.extend(self._wanted_pictures())
            if not self._picture_queue:
                return
            self._picture_queue.append((None, 0.0))  # the end of this round
        end = time.perf_counter() + PICTURE_SLICE_S
        while self._picture_queue and time.perf_counter() < end:
            item, scale = self._picture_queue.popleft()
            if item is None:
                # All drawn; a pan, zoom, new graph or changed node starts the next round.
                if self._pictures_stale:
                    self._picture_timer.start(PICTURE_REDRAW_DELAY_MS)
                return
            if item.scene() is self and not item.has_picture(scale):
                item.make_picture(scale)
        self._picture_timer.start(0)

    def _add_node_item(self, node) -> NodeItem:
        item = self._new_node_item(node)
        self.addItem(item)
        self._cover(item)
        return item

    def _new_node_item(self, node) -> NodeItem:
        """The card of ``node``, showing the shape and problem of the last validation (which
        the next one compares with), not yet added."""
        item = NodeItem(node, self.shapes.get(node.id))
        problem = self.problems.get(node.id)
        if problem is not None:
            item.set_problem(problem)
        if self._caching:
            item.setCacheMode(DEVICE_CACHE)
        else:
            item.zooming = True
        if self.editing_locked:
            item.set_locked(True)
        self.node_items[node.id] = item
        return item

    def _cover(self, item: QGraphicsItem) -> None:
        self._cover_rect(item.sceneBoundingRect())

    def _cover_rect(self, rect: QRectF) -> None:
        """Grow the canvas to hold ``rect``: a long chain reaches past any fixed extent, and
        Qt's index keeps every item outside the scene rect in one border cell, which each
        removal and lookup then searches through (Delete was quadratic on long chains).
        A side grows by at least the canvas's size, so a graph growing one way re-indexes a
        logarithmic number of times."""
        canvas = self.sceneRect()
        if rect.isNull() or canvas.contains(rect):
            return
        wide, high = max(SCENE_EXTENT, canvas.width()), max(SCENE_EXTENT, canvas.height())
        grown = QRectF(canvas)
        if rect.left() < canvas.left():
            grown.setLeft(rect.left() - wide)
        if rect.right() > canvas.right():
            grown.setRight(rect.right() + wide)
        if rect.top() < canvas.top():
            grown.setTop(rect.top() - high)
        if rect.bottom() > canvas.bottom():
            grown.setBottom(rect.bottom() + high)
        self.setSceneRect(grown)

    def _add_edge_item(self, edge: Edge) -> EdgeItem:
        item = self._new_edge_item(edge)
        self.addItem(item)
        return item

    def _new_edge_item(self, edge: Edge) -> EdgeItem:
        source = self.node_items[edge.src].output_ports[edge.src_port]
        target = self.node_items[edge.dst].input_ports[edge.dst_port]
        item = EdgeItem(edge, source, target)
        self.edge_items[(edge.dst, edge.dst_port)] = item
        return item

    def schedule_validation(self) -> None:
        """Recompute shapes and problems once control returns to the event loop (a macro of
        many edits validates once)."""
        if not self._validation_timer.isActive():
            self._validation_timer.start()

    def validate_now(self) -> None:
        """Recompute shapes and problems, and show those that changed: every item shows the
        shape and problem of the last validation (an item is made showing them), so only the
        nodes whose shape or problem changed are told (a live rerun after a weight edit
        changes none, an edit a few)."""
        self._validation_timer.stop()
        if self.graph is None:
            return
        shapes, problems = self.graph.infer_shapes()
        old_shapes, old_problems = self.shapes, self.problems
        self.shapes, self.problems = shapes, _first_problems(problems)
        changed = {i for i in self.node_items
                   if shapes.get(i) != old_shapes.get(i)
                   or self.problems.get(i) != old_problems.get(i)}
        for node_id in changed:
            item = self.node_items[node_id]
            item.set_shape(shapes.get(node_id))
            item.set_problem(self.problems.get(node_id))
        # A block shows its layer's output shape, fan-in and fan-out, and its problems: only
        # the blocks with a member whose shape or problem changed are brought up to date.
        for group_id, block in list(self.layer_items.items()):
            if any(i in changed for i in self._folded.get(group_id, ())):
                self._sync_group(group_id)
        self.validated.emit()

    # ---------------------------------------------------------------------------- groups
    def _sync_group(self, group_id: str) -> None:
        """Bring a group's items in line with the graph: a block while it is collapsed (its
        nodes hidden, the wires that cross into it ending on it, those inside it hidden), a
        frame around its nodes while it is open, neither once it is gone. The work is in the
        group's own nodes and wires, not the graph's (a move of a member syncs its group)."""
        group = self.graph.groups.get(group_id)
        collapsed = group is not None and group.collapsed
        block = self.layer_items.get(group_id)
        if block is not None and not collapsed:
            if block.isSelected():
                self._selected_gone.add(group_id)
                self._forget_gone.start()
            self.removeItem(self.layer_items.pop(group_id))
        frame = self.frame_items.get(group_id)
        if frame is not None and (group is None or collapsed):
            self.removeItem(self.frame_items.pop(group_id))
        member_ids = [] if group is None else self.graph.member_ids(group)
        members = set(member_ids)
        touched: set[EdgeItem] = set()
        for node_id in members | self._folded.pop(group_id, set()):
            item = self.node_items.get(node_id)
            if item is None:
                continue
            folded = collapsed and node_id in members
            item.block = None
            if folded and item.isSelected():
                item.setSelected(False)
            if not folded:
                item.settle_display()  # the value lines it was not given while folded
            item.setVisible(not folded)
            touched.update(item.edges)
        if group is None:
            self._update_wires(touched)
            return
        if collapsed:
            block = self.layer_items.get(group_id)
            if block is None:
                block = LayerItem(group)
                block.set_locked(self.editing_locked)
                self.layer_items[group_id] = block
                self.addItem(block)
                if group_id in self._selected_gone:
                    self._selected_gone.discard(group_id)
                    block.setSelected(True)
            inputs, outputs = self._block_ports(member_ids, members, touched)
            layer = dense_layer(self.graph, group)
            out = layer.output.id if layer is not None else next(
                (member for member, _port, wired in outputs if wired), None)
            shape = self.shapes.get(out) if out is not None else None
            block.update_from(self.graph, layer, group_corner(self.graph, group), inputs,
                              outputs, "" if shape is None else format_shape(shape),
                              self.node_items)
            for node_id in members:
                self.node_items[node_id].block = block
            block.set_problem(next((self.problems[m] for m in member_ids if m in self.problems),
                                   None))
            self._folded[group_id] = members
        else:
            frame = self.frame_items.get(group_id)
            if frame is None:
                frame = GroupFrameItem(group)
                self.frame_items[group_id] = frame
                self.addItem(frame)
            rect = QRectF()
            for node_id in members:
                item = self.node_items[node_id]
                rect = rect.united(QRectF(item.pos().x(), item.pos().y(), item.width,
                                          item.height))
            frame.set_members_rect(rect)
        self._update_wires(touched)

    def _block_ports(self, member_ids: list[str], members: set[str], edges: set[EdgeItem]):
        """A collapsed group's ports: every member input not fed from inside the group, and
        every member output used outside it or not used at all, each as (member id, port,
        whether a wire is on it). An unwired layer so keeps the ports a wire can be dragged
        to (a new Dense Layer's input and output)."""
        fed_inside, fed_outside, used_inside, used_outside = set(), set(), set(), set()
        for item in edges:
            e = item.edge
            inside = e.src in members and e.dst in members
            if e.dst in members:
                (fed_inside if inside else fed_outside).add((e.dst, e.dst_port))
            if e.src in members:
                (used_inside if inside else used_outside).add((e.src, e.src_port))
        inputs, outputs = [], []
        for node_id in member_ids:
            item = self.node_items[node_id]
            for port in item.input_ports:
                if (node_id, port) not in fed_inside:
                    inputs.append((node_id, port, (node_id, port) in fed_outside))
            for port in item.output_ports:
                key = (node_id, port)
                if key in used_outside or key not in used_inside:
                    outputs.append((node_id, port, key in used_outside))
        return inputs, outputs

    def _update_wires(self, edges: set[EdgeItem]) -> None:
        """Wires inside a collapsed layer are hidden; the others follow their ends."""
        for edge in edges:
            src = self.node_items[edge.edge.src].block
            dst = self.node_items[edge.edge.dst].block
            inside = src is not None and src is dst
            if edge.isVisible() == inside:
                edge.setVisible(not inside)
            edge.update_path()

    def layer_item_of(self, item: QGraphicsItem | None) -> LayerItem | None:
        while item is not None and not isinstance(item, LayerItem):
            item = item.parentItem()
        return item

    def frame_at(self, pos: QPointF) -> GroupFrameItem | None:
        """The opened group whose title bar is at ``pos``."""
        for frame in self.frame_items.values():
            if frame.title_bar().contains(pos):
                return frame
        return None

    def selected_groups(self) -> list[str]:
        """The ids of the collapsed layers whose blocks are selected."""
        return [i.group.id for i in self.selectedItems() if isinstance(i, LayerItem)]

    def set_collapsed(self, group_id: str, collapsed: bool) -> bool:
        """Fold a layer into its block or open it in place, as one undoable step."""
        if self.editing_locked:
            self.status_message.emit(LOCKED_MESSAGE)
            return False
        graph = self.graph
        done = self.push(lambda: commands.SetCollapsedCommand(graph, group_id, collapsed),
                         refused="Cannot open or close the layer")
        if done and not collapsed and group_id in self.frame_items:
            self.group_opened.emit(self.frame_items[group_id].sceneBoundingRect())
        return done

    # ------------------------------------------------------------------------- selection
    def _raise_selected(self) -> None:
        selected = {i for i in self.selectedItems() if isinstance(i, NodeItem)}
        for item in self._raised - selected:
            item.setZValue(1)
        for item in selected - self._raised:
            item.setZValue(2)
        self._raised = selected

    def selected_node_ids(self) -> list[str]:
        """The selected nodes, those folded into a selected layer's block included."""
        ids = [i.node.id for i in self.selectedItems() if isinstance(i, NodeItem)]
        for group_id in self.selected_groups():
            ids.extend(self.graph.member_ids(group_id))
        return ids

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            item = self.node_items.get(node_id)
            if item is not None:
                (item.block or item).setSelected(True)

    # ----------------------------------------------------------------------- editing lock
    @property
    def editing_locked(self) -> bool:
        return self.document.locked

    def _lock_changed(self, locked: bool) -> None:
        """While locked (training runs), gestures that would edit the graph are refused;
        selecting, panning and zooming still work."""
        if locked:
            self.cancel_gestures()
        for item in (*self.node_items.values(), *self.layer_items.values()):
            item.set_locked(locked)

    def push(self, edit: QUndoCommand | Callable[[], QUndoCommand | None],
             refused: str | None = None) -> bool:
        """A gesture's edit, through the document's one gate (:meth:`Document.push`)."""
        return self.document.push(edit, refused)

    # --------------------------------------------------------------------------- gestures
    def hits(self, pos: QPointF,
             device: QTransform | None = None) -> list[QGraphicsItem | PortItem]:
        """What is under ``pos``, topmost first: the shown items whose shape is there, each
        card's port there just above its card (a port's hit circle reaches past the card's
        edge, within its bounding rectangle)."""
        device = QTransform() if device is None else device
        shaped = self.items(pos, Qt.IntersectsItemShape, Qt.DescendingOrder, device)
        found: list[QGraphicsItem | PortItem] = []
        for item in self.items(pos, Qt.IntersectsItemBoundingRect, Qt.DescendingOrder, device):
            if item is self._wire or not item.isVisible():
                continue
            port = item.port_under(pos) if isinstance(item, (NodeItem, LayerItem)) else None
            if port is not None:
                found.append(port)
            if item in shaped:
                found.append(item)
        return found

    def item_at(self, pos: QPointF) -> QGraphicsItem | PortItem | None:
        """The topmost item (or port) under ``pos``."""
        hits = self.hits(pos)
        return hits[0] if hits else None

    @staticmethod
    def node_item_of(item: QGraphicsItem | None) -> NodeItem | None:
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        return item

    def port_at(self, pos: QPointF) -> PortItem | None:
        """The topmost port whose hit circle holds ``pos``."""
        for item in self.items(pos, Qt.IntersectsItemBoundingRect, Qt.DescendingOrder,
                               QTransform()):
            if isinstance(item, (NodeItem, LayerItem)) and item.isVisible():
                port = item.port_under(pos)
                if port is not None:
                    return port
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._rename_proxy is not None and not self._rename_proxy.contains(
                self._rename_proxy.mapFromScene(event.scenePos())):
            self._finish_rename(True)
        if event.button() == Qt.LeftButton and self._rename_proxy is None:
            port = self.port_at(event.scenePos())
            if port is not None:
                event.accept()
                if self.editing_locked:
                    self.status_message.emit(LOCKED_MESSAGE)
                else:
                    self._start_wire(port, event.scenePos())
                return
        if event.button() == Qt.LeftButton and self._rename_proxy is None:
            frame = self.frame_at(event.scenePos())
            if frame is not None and frame.close_button().contains(event.scenePos()):
                event.accept()
                self.set_collapsed(frame.group.id, True)
                return
        super().mousePressEvent(event)
        if event.button() == Qt.LeftButton and not self.editing_locked:
            hit = self.item_at(event.scenePos())
            node_item = self.node_item_of(hit) or self.layer_item_of(hit)
            if node_item is not None and node_item.isSelected():
                starts = {i: self.node_items[i].node.position or (0.0, 0.0)
                          for i in self.selected_node_ids()}
                self._move = (event.scenePos(), starts, commands.new_drag_id())

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._drag_wire_to(event.scenePos())
            event.accept()
            return
        if self._move is not None:
            start, starts, drag_id = self._move
            delta = event.scenePos() - start
            if abs(delta.x()) + abs(delta.y()) >= 1.0 or self._moved(starts):
                moves = {}
                for node_id, (x, y) in starts.items():
                    node = self.graph.nodes.get(node_id)
                    if node is not None:
                        moves[node_id] = (node.position, (x + delta.x(), y + delta.y()))
                if moves and any(old != new for old, new in moves.values()):
                    self.push(commands.MoveNodesCommand(self.graph, moves, drag_id))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def _moved(self, starts: dict[str, tuple[float, float]]) -> bool:
        return any(self.graph.nodes[i].position != p for i, p in starts.items() if i in self.graph.nodes)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._finish_wire(event.scenePos())
            event.accept()
            return
        self._move = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            hit = self.item_at(event.scenePos())
            block = self.layer_item_of(hit)
            frame = self.frame_at(event.scenePos()) if block is None else None
            if block is not None or frame is not None:
                # A block opens in place to its ops; a double-click on an opened layer's
                # title bar folds it back.
                event.accept()
                self.set_collapsed((block or frame).group.id, block is None)
                return
        node_item = self.node_item_of(self.item_at(event.scenePos()))
        if node_item is not None and event.button() == Qt.LeftButton:
            local = node_item.mapFromScene(event.scenePos())
            if local.y() <= theme.NODE_HEADER_HEIGHT:
                self.start_rename(node_item.node.id)
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def add_dense_layer(self, scene_pos: QPointF, fan_in: int = 2, fan_out: int = 4,
                        activation: str | None = "relu", init: str = "he_uniform") -> str | None:
        """Add a dense layer (one block) centred under ``scene_pos`` and select it; its
        group's id, or None when refused."""
        graph, built = self.graph, []
        corner = (scene_pos.x() - theme.LAYER_WIDTH / 2, scene_pos.y() - theme.LAYER_HEADER_HEIGHT)

        def add() -> QUndoCommand:
            built.append(commands.dense_layer_command(graph, fan_in, fan_out, activation, init,
                                                      corner))
            return built[0]

        if not self.push(add, refused="Cannot add a layer"):
            return None
        group = built[0].layer.group
        self.select_nodes(self.graph.member_ids(group))
        return group.id

    def group_selection(self) -> bool:
        """Edit > Group as Layer: one layer of the selected nodes, folded into a block."""
        graph, ids = self.graph, self.selected_node_ids()

        def group() -> QUndoCommand:
            if not ids:
                raise GraphError("select the nodes to make a layer of")
            name = graph.unique_group_name("layer")
            problem = graph.group_problem(name, ids)
            if problem:
                raise GraphError(problem)
            return commands.GroupCommand(graph, name, ids)

        if not self.push(group, refused="Cannot group"):
            return False
        made = graph.group_of(ids[0])
        if made is not None and made.id in self.layer_items:  # the new block is the selection
            self.clearSelection()
            self.layer_items[made.id].setSelected(True)
        return True

    def ungroup_selection(self) -> bool:
        """Edit > Ungroup: the selected layers (their blocks, or any of their nodes)
        dissolved into their ops."""
        graph = self.graph
        groups = dict.fromkeys(self.selected_groups())
        for node_id in self.selected_node_ids():
            if graph.nodes[node_id].group is not None:
                groups.setdefault(graph.nodes[node_id].group.id)

        def ungroup() -> QUndoCommand:
            if not groups:
                raise GraphError("select a layer to ungroup")
            macro = commands.macro_command(
                f"Ungroup {graph.group(next(iter(groups))).name}" if len(groups) == 1
                else f"Ungroup {len(groups)} layers")
            for group_id in groups:
                commands.UngroupCommand(graph, group_id, parent=macro)
            return macro

        return self.push(ungroup, refused="Cannot ungroup")

    # ------------------------------------------------------------------------------ wires
    def _start_wire(self, port: PortItem, pos: QPointF) -> None:
        anchor = port
        self._wire_detached = None
        if not port.is_output:
            edge = self.graph.input_edge(port.node_id, port.name)
            if edge is not None:
                # Pressing an occupied input picks its wire up by that end.
                self._wire_detached = edge
                self.edge_items[(edge.dst, edge.dst_port)].hide()
                anchor = self.node_items[edge.src].port(edge.src_port, True)
        self._wire = DragWireItem(anchor)
        self.addItem(self._wire)
        self._wire.set_end(pos)
        self._forbidden_nodes = self._unreachable_partners(anchor)
        for item in self.node_items.values():
            for other in item.ports():
                if other.is_output != anchor.is_output:
                    ok = item.node.id not in self._forbidden_nodes
                    other.set_state(PortItem.VALID_TARGET if ok else PortItem.INVALID_TARGET)

    def _unreachable_partners(self, anchor: PortItem) -> set[str]:
        """Nodes a wire from ``anchor`` can never reach: itself, and those that would close a
        cycle (upstream of an output's node, downstream of an input's node)."""
        start = anchor.node_id
        seen = {start}
        queue = deque([start])
        while queue:
            node_id = queue.popleft()
            if anchor.is_output:
                nxt = [e.src for e in self.graph.input_edges(node_id) if e is not None]
            else:
                nxt = [e.dst for e in self.graph.output_edges(node_id)]
            for other in nxt:
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        return seen

    def refusal(self, anchor: PortItem, target: PortItem) -> str | None:
        """Why a wire from ``anchor`` may not end on ``target``, or None."""
        if target.is_output == anchor.is_output:
            kind = "output" if target.is_output else "input"
            return f"a wire joins an output to an input, not an {kind} to an {kind}"
        src, dst = (anchor, target) if anchor.is_output else (target, anchor)
        return self.graph.can_connect(src.node_id, dst.node_id, dst.name, src.name, replacing=True)

    def _drag_wire_to(self, pos: QPointF) -> None:
        anchor = self._wire.anchor
        target = self.port_at(pos)
        if self._wire_hover is not None and self._wire_hover is not target:
            ok = self._wire_hover.node_id not in self._forbidden_nodes
            self._wire_hover.set_state(PortItem.VALID_TARGET if ok else PortItem.INVALID_TARGET)
            self._wire_hover = None
        if target is not None and target is not anchor:
            reason = self.refusal(anchor, target)
            if target.is_output != anchor.is_output:
                self._wire_hover = target
                target.set_state(PortItem.REFUSED if reason else PortItem.VALID_TARGET)
            self._wire.set_end(target.scene_anchor() if reason is None else pos, reason is not None)
        else:
            self._wire.set_end(pos)

    def _finish_wire(self, pos: QPointF) -> None:
        anchor = self._wire.anchor
        detached = self._wire_detached
        target = self.port_at(pos)
        self._end_wire_gesture()
        if target is None or target is anchor:
            if detached is not None:
                # The wire's end was dragged off its port: that disconnects it.
                self.push(commands.DisconnectCommand(self.graph, detached))
            return
        if detached is not None and not target.is_output and target.node_id == detached.dst \
                and target.name == detached.dst_port:
            return  # put back where it was
        reason = self.refusal(anchor, target)
        if reason is not None:
            self.status_message.emit(f"Cannot connect: {reason}")
            return
        src, dst = (anchor, target) if anchor.is_output else (target, anchor)
        if detached is not None:
            macro = commands.macro_command("Reconnect")
            commands.DisconnectCommand(self.graph, detached, parent=macro)
            commands.ConnectCommand(self.graph, src.node_id, dst.node_id, dst.name, src.name,
                                    parent=macro)
            self.push(macro)
        else:
            self.push(commands.ConnectCommand(self.graph, src.node_id, dst.node_id, dst.name,
                                              src.name))
        src_name = self.graph.nodes[src.node_id].name
        dst_name = self.graph.nodes[dst.node_id].name
        self.status_message.emit(f"Connected {src_name} to {dst_name}.{dst.name}")

    def _end_wire_gesture(self) -> None:
        if self._wire is not None:
            self.removeItem(self._wire)
            self._wire = None
        if self._wire_detached is not None:
            item = self.edge_items.get((self._wire_detached.dst, self._wire_detached.dst_port))
            if item is not None:
                item.show()
        self._wire_detached = None
        self._wire_hover = None
        for item in self.node_items.values():
            for port in item.ports():
                port.set_state(PortItem.NORMAL)

    def cancel_gestures(self) -> None:
        self._end_wire_gesture()
        self._move = None
        if self._rename_proxy is not None:
            self._finish_rename(False)

    @property
    def wiring(self) -> bool:
        return self._wire is not None

    # ----------------------------------------------------------------------------- rename
    def start_rename(self, node_id: str) -> QLineEdit | None:
        """Open the in-place name editor over a node's title."""
        if self.editing_locked:
            self.status_message.emit(LOCKED_MESSAGE)
            return None
        if self._rename_proxy is not None:
            self._finish_rename(True)
        item = self.node_items[node_id]
        edit = _RenameEdit(item.node.name)
        edit.selectAll()
        edit.setProperty("node_id", node_id)
        edit.setFixedWidth(int(item.title_rect().width()))
        proxy = self.addWidget(edit)
        proxy.setZValue(100)
        rect = item.title_rect()
        proxy.setPos(item.mapToScene(rect.topLeft()) - QPointF(2, 2))
        self._rename_proxy = proxy
        edit.finished.connect(self._finish_rename)
        edit.setFocus()
        proxy.setFocus()
        return edit

    @property
    def rename_editor(self) -> QLineEdit | None:
        return None if self._rename_proxy is None else self._rename_proxy.widget()

    def _finish_rename(self, commit: bool) -> None:
        proxy = self._rename_proxy
        if proxy is None:
            return
        self._rename_proxy = None
        edit = proxy.widget()
        node_id, name = edit.property("node_id"), edit.text().strip()
        edit.finished.disconnect(self._finish_rename)
        # Removing the editor from inside its own signal would delete it under Qt's feet.
        QTimer.singleShot(0, lambda: self.removeItem(proxy) if proxy.scene() is self else None)
        if not commit or node_id not in self.graph.nodes:
            return
        graph = self.graph

        def rename() -> QUndoCommand | None:
            problem = graph.name_problem(name, node_id)
            if problem:
                raise GraphError(problem)
            if name == graph.nodes[node_id].name:
                return None
            return commands.RenameCommand(graph, node_id, name)

        self.push(rename, refused="Cannot rename")

    # ------------------------------------------------------------------------------ views
    def nodes_rect(self, node_ids: list[str] | None = None) -> QRectF:
        """The scene rectangle around some nodes (all when None)."""
        ids = self.node_items.keys() if node_ids is None else node_ids
        rect = QRectF()
        cards = []  # (the cards shown as themselves, measured together)
        for node_id in ids:
            item = self.node_items.get(node_id)
            if item is None:
                continue
            if item.block is not None:
                rect = rect.united(item.block.sceneBoundingRect())
            else:
                cards.append(item)
            group = item.node.group
            if group is not None and group.id in self.frame_items:
                rect = rect.united(self.frame_items[group.id].sceneBoundingRect())
        return rect.united(_cards_rect(cards))
