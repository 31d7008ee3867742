"""Undo commands: one QUndoCommand per user action on the graph.

Each command changes the core graph only through its editing API (add_node, connect, set_param,
...) and keeps what it needs to undo exactly. The canvas and the inspector never touch the graph
themselves; they build a command and push it, and the graph's events update what is shown.
Actions on many items are macros (a parent command with children), so they undo as one step.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Union

import numpy as np
from PySide6.QtGui import QUndoCommand

from bpstudio.core.attach import LossPlan
from bpstudio.core.graph import Edge, Graph, Node
from bpstudio.core.project import TrainingState

_drag_ids = itertools.count(1)


def new_drag_id() -> int:
    """A fresh id that groups the move commands of one mouse drag into one undo step."""
    return next(_drag_ids)


class Command(QUndoCommand):
    """Base of the graph commands. ``parent`` is a MacroCommand that runs this one as a step.

    Macros keep their steps in a Python list rather than as Qt child commands: the Python side
    of a command holds its redo/undo, and Qt-owned children would be deleted out from under it.
    """

    def __init__(self, parent: "MacroCommand | None" = None):
        super().__init__()
        self._applied_before_push = False
        if parent is not None:
            parent.steps.append(self)

    def apply(self) -> None:
        """Make the change (what Qt's redo does). Raises, changing nothing, when the graph
        refuses it."""
        raise NotImplementedError

    def apply_before_push(self) -> None:
        """Make the change now, where a refusal can be caught: QUndoStack.push calls redo
        from C++, which can only print an exception and keeps the broken command. The redo
        that push then calls does nothing."""
        self.apply()
        self._applied_before_push = True

    def redo(self) -> None:
        if self._applied_before_push:
            self._applied_before_push = False
            return
        self.apply()


class MacroCommand(Command):
    """Several commands that undo and redo as one step (redo in order, undo in reverse)."""

    def __init__(self, text: str, parent: "MacroCommand | None" = None):
        super().__init__(parent)
        self.steps: list[Command] = []
        self.setText(text)

    def childCount(self) -> int:  # noqa: N802  (Qt's name, so macros read like Qt's)
        return len(self.steps)

    def child(self, index: int) -> QUndoCommand:
        return self.steps[index]

    def apply(self) -> None:
        done: list[Command] = []
        try:
            for step in self.steps:
                step.apply()
                done.append(step)
        except Exception:
            for step in reversed(done):  # all or nothing
                step.undo()
            raise

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo()


def macro_command(text: str) -> MacroCommand:
    """A parent for several commands that undo and redo as one step."""
    return MacroCommand(text)


class AddNodeCommand(Command):
    """Add one node. The first redo creates it; later redos put back the very same node (same
    id, name and value), so commands stacked after it stay valid."""

    def __init__(self, graph: Graph, op: str, name: str | None = None,
                 params: dict[str, Any] | None = None, value: Any = None,
                 position: tuple[float, float] | None = None,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.op = op
        self._args = dict(op=op, name=name, params=params, value=value, position=position)
        self.node: Node | None = None
        from bpstudio.core.ops import get_op

        self.setText(f"Add {get_op(op).title}")

    @property
    def node_id(self) -> str:
        assert self.node is not None, "the node exists only after the first redo"
        return self.node.id

    def apply(self) -> None:
        if self.node is None:
            self.node = self.graph.add_node(**self._args)
        else:
            self.graph.restore_node(self.node)

    def undo(self) -> None:
        self.graph.remove_node(self.node.id)


class RemoveNodeCommand(Command):
    """Remove one node with its wires; undo restores both."""

    def __init__(self, graph: Graph, node_id: str, parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.node_id = node_id
        self._node: Node | None = None
        self._edges: list[Edge] = []
        self.setText(f"Delete {graph.node(node_id).name}")

    def apply(self) -> None:
        self._node, self._edges = self.graph.remove_node(self.node_id)

    def undo(self) -> None:
        self.graph.restore_node(self._node)
        for e in self._edges:
            self.graph.connect(e.src, e.dst, e.dst_port, e.src_port)


NodeHandle = Union[str, AddNodeCommand]


def _resolve(handle: NodeHandle) -> str:
    return handle if isinstance(handle, str) else handle.node_id


class ConnectCommand(Command):
    """Wire an output to an input; a wire already in that input is replaced (and put back on
    undo). Endpoints may be node ids or AddNodeCommands of the same macro (resolved at redo)."""

    def __init__(self, graph: Graph, src: NodeHandle, dst: NodeHandle, dst_port: str,
                 src_port: str = "out", parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self._src, self._dst = src, dst
        self.dst_port, self.src_port = dst_port, src_port
        self.edge: Edge | None = None
        self.replaced: Edge | None = None
        if isinstance(src, str) and isinstance(dst, str):
            self.setText(f"Connect {graph.node(src).name} to {graph.node(dst).name}.{dst_port}")
        else:
            self.setText("Connect")

    def apply(self) -> None:
        src, dst = _resolve(self._src), _resolve(self._dst)
        self.replaced = self.graph.input_edge(dst, self.dst_port)
        self.edge = self.graph.connect(src, dst, self.dst_port, self.src_port, replace=True)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)
        if self.replaced is not None:
            e = self.replaced
            self.graph.connect(e.src, e.dst, e.dst_port, e.src_port)


class DisconnectCommand(Command):
    def __init__(self, graph: Graph, edge: Edge, parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.edge = edge
        self.setText(f"Disconnect {graph.node(edge.src).name} from "
                     f"{graph.node(edge.dst).name}.{edge.dst_port}")

    def apply(self) -> None:
        self.graph.disconnect(self.edge)

    def undo(self) -> None:
        e = self.edge
        self.graph.connect(e.src, e.dst, e.dst_port, e.src_port)


Position = tuple[float, float]


class MoveNodesCommand(Command):
    """Move nodes. Commands pushed with the same drag id merge into one (a whole drag is one
    undo step, however many mouse moves it took)."""

    MERGE_ID = 0x6d6f7665  # "move"

    def __init__(self, graph: Graph, moves: dict[str, tuple[Position | None, Position]],
                 drag_id: int | None = None, text: str | None = None,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.moves = dict(moves)  # node id -> (old position, new position)
        self.drag_id = drag_id
        n = len(self.moves)
        if text is None:
            text = f"Move {graph.node(next(iter(self.moves))).name}" if n == 1 else f"Move {n} nodes"
        self.setText(text)

    def id(self) -> int:
        return self.MERGE_ID if self.drag_id is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveNodesCommand) or other.drag_id != self.drag_id:
            return False
        for node_id, (old, new) in other.moves.items():
            first = self.moves.get(node_id, (old, new))[0]
            self.moves[node_id] = (first, new)
        self.setObsolete(all(old == new for old, new in self.moves.values()))
        return True

    def apply(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.set_position(node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.graph.set_position(node_id, old)


def _copy_value(node: Node) -> np.ndarray | None:
    return None if node.value is None else node.value.copy()


class SetParamCommand(Command):
    """Set one typed parameter. A parameter node draws fresh values when its shape or
    initialiser changes, and an input drops a sample that no longer fits its shape; undo puts
    back the old values and redo the same new ones."""

    def __init__(self, graph: Graph, node_id: str, key: str, value: Any,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.node_id, self.key, self.new = node_id, key, value
        node = graph.node(node_id)
        self.old = node.params[key]
        self._old_value = _copy_value(node)
        self._new_value: np.ndarray | None = None
        self._done_once = False
        self.setText(f"Set {key} of {node.name}")

    def apply(self) -> None:
        self.graph.set_param(self.node_id, self.key, self.new)
        node = self.graph.node(self.node_id)
        if node.spec.source in ("parameter", "input"):
            if self._done_once:
                self.graph.set_value(self.node_id, self._new_value)
            else:
                self._new_value = _copy_value(node)
        self._done_once = True

    def undo(self) -> None:
        self.graph.set_param(self.node_id, self.key, self.old)
        if self.graph.node(self.node_id).spec.source in ("parameter", "input"):
            self.graph.set_value(self.node_id, self._old_value)


class SetValueCommand(Command):
    """Replace the data of a parameter or constant node, or an input's sample (None: none)."""

    def __init__(self, graph: Graph, node_id: str, value: Any, parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.node_id = node_id
        node = graph.node(node_id)
        self._old = _copy_value(node)
        self._new = None if value is None else np.array(value, dtype=np.float64)
        self.setText(f"Set {'sample' if node.spec.source == 'input' else 'value'} of {node.name}")

    def apply(self) -> None:
        self.graph.set_value(self.node_id, self._new)

    def undo(self) -> None:
        self.graph.set_value(self.node_id, self._old)


class RenameCommand(Command):
    def __init__(self, graph: Graph, node_id: str, name: str, parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.node_id = node_id
        self.old = graph.node(node_id).name
        self.new = name
        self.setText(f"Rename {self.old} to {name}")

    def apply(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


def delete_command(graph: Graph, node_ids: list[str], edges: list[Edge],
                   text: str | None = None) -> MacroCommand:
    """One undo step that removes the given wires and nodes (with every wire they have)."""
    node_set = set(node_ids)
    macro = macro_command(text or _count_text("Delete", len(node_ids), len(edges)))
    for edge in edges:
        if edge.src not in node_set and edge.dst not in node_set:
            DisconnectCommand(graph, edge, parent=macro)
    for node_id in node_ids:
        RemoveNodeCommand(graph, node_id, parent=macro)
    return macro


def add_loss_command(graph: Graph, plan: LossPlan) -> MacroCommand:
    """Attach a loss as one undo step, as ``core/attach.py`` planned it: add the target input
    and the loss node, then wire the prediction and the target into the loss."""
    from bpstudio.core.ops import get_op

    macro = macro_command(f"Add {get_op(plan.kind).title}")
    target = AddNodeCommand(graph, "input", name=plan.target_name,
                            params={"shape": plan.target_shape}, value=plan.target_sample,
                            position=plan.target_position, parent=macro)
    loss = AddNodeCommand(graph, plan.kind, name=plan.loss_name, position=plan.loss_position,
                          parent=macro)
    prediction_port, target_port = plan.ports
    ConnectCommand(graph, plan.prediction, loss, prediction_port, parent=macro)
    ConnectCommand(graph, target, loss, target_port, parent=macro)
    return macro


def layout_command(graph: Graph, positions: dict[str, Position]) -> MoveNodesCommand:
    """Auto Layout: every node to its new position, one undo step."""
    moves = {node_id: (graph.nodes[node_id].position, tuple(pos))
             for node_id, pos in positions.items()}
    return MoveNodesCommand(graph, moves, text="Auto Layout")


def _count_text(verb: str, nodes: int, edges: int) -> str:
    parts = []
    if nodes:
        parts.append(f"{nodes} node" + ("s" if nodes != 1 else ""))
    if edges:
        parts.append(f"{edges} wire" + ("s" if edges != 1 else ""))
    return f"{verb} " + " and ".join(parts) if parts else verb


class TrainingResultCommand(Command):
    """Several parameters' new values and the project's training state, as one step: the
    weights a training run produced ("Train 500 steps") or redrawn ones ("Reset Weights").
    Undo gives back the weights and the optimiser state, history and settings from before."""

    def __init__(self, graph: Graph, values: dict[str, np.ndarray], state: TrainingState,
                 old_state: TrainingState, set_state: Callable[[TrainingState], None],
                 text: str):
        super().__init__()
        self.graph = graph
        self._new = {node_id: np.array(v, dtype=np.float64, copy=True)
                     for node_id, v in values.items()}
        self._old = {node_id: _copy_value(graph.node(node_id)) for node_id in values}
        self._state, self._old_state = state, old_state
        self._set_state = set_state  # where the document keeps its training state
        self.setText(text)

    def apply(self) -> None:
        for node_id, value in self._new.items():
            self.graph.set_value(node_id, value)
        self._set_state(self._state)

    def undo(self) -> None:
        for node_id, value in self._old.items():
            self.graph.set_value(node_id, value)
        self._set_state(self._old_state)
