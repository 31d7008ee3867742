"""The node palette and the searchable add-node menu, both generated from the op registry.

Each op appears under its group, with the group's colour, and a tooltip giving its description
and local derivative. Dragging an entry carries the op name under OP_MIME_TYPE; the canvas view
accepts that drop. A new op in the registry appears here without code in this module.

Beside the ops, under "Layers", the Dense Layer entry adds several ops at once, as the core's
``dense_plan`` lists them, folded into one block (its fan-in, fan-out, activation and
initialiser are then edited in the inspector); it drags out as ``DENSE_LAYER``.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QLineEdit, QListWidget,
                               QListWidgetItem, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from bpstudio.core.ops import GROUPS, REGISTRY

from .canvas import theme
from .canvas.view import OP_MIME_TYPE

OP_ROLE = Qt.UserRole + 1
DENSE_LAYER = "dense layer"  # the layer entry: not an op name (no op name has a space)
LAYERS = "Layers"
DENSE_LAYER_TIP = ("<b>Dense Layer</b> <span style='color:#8a909c'>(layers)</span><br>"
                   "x @ W + b, then an activation: one fully connected layer, added as one "
                   "block. Set its fan-in, fan-out, activation and initializer in the "
                   "inspector; double-click the block to see its ops.")


def group_icon(group: str, size: int = 14) -> QIcon:
    """A rounded square in the group's colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(theme.group_colour(group))
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


def _layer_icon(size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(theme.LAYER_HEADER)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


def op_tooltip(op_name: str) -> str:
    spec = REGISTRY[op_name]
    ports = ", ".join(spec.input_names()) or "none"
    return (f"<b>{spec.title}</b> <span style='color:#8a909c'>({spec.group})</span><br>{spec.doc}"
            f"<br><br><i>{spec.derivative}</i><br><br>inputs: {ports}")


def ops_by_group() -> list[tuple[str, list[str]]]:
    """Registry ops grouped in palette order (registry groups first, any others after)."""
    groups = list(GROUPS) + sorted({s.group for s in REGISTRY.values()} - set(GROUPS))
    return [(g, [name for name, s in REGISTRY.items() if s.group == g]) for g in groups]


class _OpTree(QTreeWidget):
    """A tree whose op entries drag out as OP_MIME_TYPE data."""

    def mimeTypes(self) -> list[str]:
        return [OP_MIME_TYPE]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        ops = [i.data(0, OP_ROLE) for i in items if i.data(0, OP_ROLE)]
        if ops:
            data.setData(OP_MIME_TYPE, ops[0].encode("utf-8"))
        return data


class PaletteWidget(QWidget):
    """Filter box over a grouped op tree. ``op_activated(op)`` fires on double-click / Enter."""

    op_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter ops…")
        self.filter_edit.setClearButtonEnabled(True)
        self.tree = _OpTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setIconSize(QSize(14, 14))
        self.tree.setIndentation(12)
        self.tree.setRootIsDecorated(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree)
        self._populate()
        self.filter_edit.textChanged.connect(self.set_filter)
        self.tree.itemActivated.connect(self._activated)

    def _populate(self) -> None:
        self.tree.clear()
        for group, ops in ops_by_group():
            if not ops:
                continue
            header = QTreeWidgetItem([group])
            header.setFlags(Qt.ItemIsEnabled)
            header.setIcon(0, group_icon(group))
            font = header.font(0)
            font.setBold(True)
            header.setFont(0, font)
            self.tree.addTopLevelItem(header)
            for name in ops:
                spec = REGISTRY[name]
                item = QTreeWidgetItem([spec.title])
                item.setData(0, OP_ROLE, name)
                item.setIcon(0, group_icon(group, 10))
                item.setToolTip(0, op_tooltip(name))
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                header.addChild(item)
            header.setExpanded(True)
        header = QTreeWidgetItem([LAYERS])
        header.setFlags(Qt.ItemIsEnabled)
        header.setIcon(0, _layer_icon())
        font = header.font(0)
        font.setBold(True)
        header.setFont(0, font)
        self.tree.addTopLevelItem(header)
        item = QTreeWidgetItem(["Dense Layer"])
        item.setData(0, OP_ROLE, DENSE_LAYER)
        item.setIcon(0, _layer_icon(10))
        item.setToolTip(0, DENSE_LAYER_TIP)
        item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        header.addChild(item)
        header.setExpanded(True)

    def op_item(self, op_name: str) -> QTreeWidgetItem | None:
        for k in range(self.tree.topLevelItemCount()):
            header = self.tree.topLevelItem(k)
            for j in range(header.childCount()):
                if header.child(j).data(0, OP_ROLE) == op_name:
                    return header.child(j)
        return None

    def mime_data_for(self, op_name: str) -> QMimeData:
        """What dragging this op's entry carries (the same object a real drag builds)."""
        return self.tree.mimeData([self.op_item(op_name)])

    def visible_entries(self) -> list[str]:
        """The op names (and DENSE_LAYER) the filter leaves in view."""
        entries = []
        for k in range(self.tree.topLevelItemCount()):
            header = self.tree.topLevelItem(k)
            for j in range(header.childCount()):
                child = header.child(j)
                if not child.isHidden():
                    entries.append(child.data(0, OP_ROLE))
        return entries

    def visible_ops(self) -> list[str]:
        return [name for name in self.visible_entries() if name in REGISTRY]

    def set_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for k in range(self.tree.topLevelItemCount()):
            header = self.tree.topLevelItem(k)
            shown = 0
            for j in range(header.childCount()):
                child = header.child(j)
                name = child.data(0, OP_ROLE)
                if name == DENSE_LAYER:
                    match = not needle or needle in "dense layer fully connected"
                else:
                    spec = REGISTRY[name]
                    match = not needle or needle in name.lower() \
                        or needle in spec.title.lower() or needle in spec.doc.lower()
                child.setHidden(not match)
                shown += match
            header.setHidden(shown == 0)

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        op = item.data(0, OP_ROLE)
        if op:
            self.op_activated.emit(op)


class NodeSearchPopup(QFrame):
    """The add-node menu opened by Tab or a right-click on the canvas: type to filter, Enter or
    click to add. ``chosen(op)`` fires with the op picked."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.Popup)
        self.setFrameShape(QFrame.StyledPanel)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Add node: type to search…")
        self.list = QListWidget()
        self.list.setIconSize(QSize(10, 10))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.list.setFrameShape(QFrame.NoFrame)
        self.setFixedWidth(260)
        self._ops = [name for _group, ops in ops_by_group() for name in ops]
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._pick)
        self.list.itemClicked.connect(self._pick)
        self._filter("")

    def open_at(self, global_pos: QPoint) -> None:
        self.search.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    @staticmethod
    def match_rank(op_name: str, needle: str) -> int | None:
        """How well an op matches what was typed (lower is better), or None for no match:
        name or title starts with it, then a word of the title does, then it occurs anywhere,
        then the group or description mentions it."""
        spec = REGISTRY[op_name]
        title, name = spec.title.lower(), op_name.lower()
        if not needle or title.startswith(needle) or name.startswith(needle):
            return 0
        if any(word.startswith(needle) for word in title.replace("(", " ").split()):
            return 1
        if needle in title or needle in name:
            return 2
        if needle in spec.group.lower() or needle in spec.doc.lower():
            return 3
        return None

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        ranked = sorted(((rank, k, name) for k, name in enumerate(self._ops)
                         if (rank := self.match_rank(name, needle)) is not None))
        self.list.clear()
        for _rank, _k, name in ranked:
            spec = REGISTRY[name]
            item = QListWidgetItem(group_icon(spec.group, 10), spec.title)
            item.setData(OP_ROLE, name)
            item.setToolTip(op_tooltip(name))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        rows = max(1, min(self.list.count(), 12))
        self.list.setFixedHeight(rows * self.list.sizeHintForRow(0) + 4 if self.list.count() else 24)
        self.adjustSize()

    def visible_ops(self) -> list[str]:
        return [self.list.item(k).data(OP_ROLE) for k in range(self.list.count())]

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.KeyPress:
            if event.key() in (Qt.Key_Down, Qt.Key_Up):
                self._step(1 if event.key() == Qt.Key_Down else -1)
                return True
            if event.key() in (Qt.Key_Return, Qt.Key_Enter):
                if self.list.currentItem() is not None:
                    self._pick(self.list.currentItem())
                return True
            if event.key() == Qt.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)

    def _step(self, direction: int) -> None:
        if self.list.count():
            self.list.setCurrentRow((self.list.currentRow() + direction) % self.list.count())

    def _pick(self, item: QListWidgetItem) -> None:
        self.hide()
        self.chosen.emit(item.data(OP_ROLE))
