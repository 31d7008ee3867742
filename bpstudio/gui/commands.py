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
from bpstudio.core.errors import GraphError
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


# ------------------------------------------------------------------------------ groups
def _move_all(graph: Graph, moves: dict[str, tuple[Position | None, Position]], back: bool):
    for node_id, (old, new) in moves.items():
        graph.set_position(node_id, old if back else new)


def _with_old(graph: Graph, targets: dict[str, Position]) -> dict[str, tuple[Position | None, Position]]:
    return {node_id: (graph.nodes[node_id].position, pos) for node_id, pos in targets.items()}


class SetCollapsedCommand(Command):
    """Fold a group into one block (``collapsed`` True) or open it in place to its ops; the
    nodes right of it and below it move to close or make the room (core/layout.py's
    closing_moves and opening_moves), and undo puts everything back."""

    def __init__(self, graph: Graph, group_id: str, collapsed: bool,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.group_id = group_id
        self.collapsed = bool(collapsed)
        self._moves: dict[str, tuple[Position | None, Position]] | None = None
        name = graph.group(group_id).name
        self.setText(f"{'Close' if collapsed else 'Open'} {name}")

    def apply(self) -> None:
        from bpstudio.core.layout import closing_moves, opening_moves

        if self._moves is None:  # measured once, so a redo repeats exactly the same moves
            plan = closing_moves if self.collapsed else opening_moves
            self._moves = _with_old(self.graph, plan(self.graph, self.group_id))
        _move_all(self.graph, self._moves, back=False)
        self.graph.set_collapsed(self.group_id, self.collapsed)

    def undo(self) -> None:
        self.graph.set_collapsed(self.group_id, not self.collapsed)
        _move_all(self.graph, self._moves, back=True)


class GroupCommand(Command):
    """Make a layer (a group) of some nodes, folded into one block unless ``collapsed`` is
    False. Folded, the nodes are laid out as a layer's ops are, from the place of the
    left-most of them (a cell no other node takes), which is where the block goes. Undo
    dissolves the group and puts the nodes back."""

    def __init__(self, graph: Graph, name: str, node_ids: list[str], collapsed: bool = True,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.name, self.node_ids, self.collapsed = name, list(node_ids), bool(collapsed)
        self.group = None
        self._moves: dict[str, tuple[Position | None, Position]] = {}
        self.setText(f"Group as Layer {name}")

    def apply(self) -> None:
        from bpstudio.core.layout import opened_positions

        if self.group is None:
            self.group = self.graph.add_group(self.name, self.node_ids, collapsed=False)
            placed = [n.position for n in self.graph.members(self.group)
                      if n.position is not None]
            if self.collapsed and placed:
                corner = min(placed)
                self._moves = _with_old(self.graph,
                                        opened_positions(self.graph, self.group, corner))
                self.graph.set_collapsed(self.group, True)
        else:
            self.graph.restore_group(self.group, self.node_ids)
        _move_all(self.graph, self._moves, back=False)

    def undo(self) -> None:
        _move_all(self.graph, self._moves, back=True)
        self.graph.ungroup(self.group)


class UngroupCommand(Command):
    """Dissolve a group (its nodes stay, shown as ops; a folded one opens first, making
    room); undo brings the same group back, folded as it was."""

    def __init__(self, graph: Graph, group_id: str, parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.group = graph.group(group_id)
        self._open = (SetCollapsedCommand(graph, group_id, False) if self.group.collapsed
                      else None)
        self._ids: list[str] = []
        self.setText(f"Ungroup {self.group.name}")

    def apply(self) -> None:
        if self._open is not None:
            self._open.apply()
        _group, self._ids = self.graph.ungroup(self.group)

    def undo(self) -> None:
        self.graph.restore_group(self.group, self._ids)
        if self._open is not None:
            self._open.undo()


class RenameGroupCommand(Command):
    def __init__(self, graph: Graph, group_id: str, name: str,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph = graph
        self.group_id = group_id
        self.old, self.new = graph.group(group_id).name, name
        self.setText(f"Rename {self.old} to {name}")

    def apply(self) -> None:
        self.graph.rename_group(self.group_id, self.new)

    def undo(self) -> None:
        self.graph.rename_group(self.group_id, self.old)


def dense_layer_command(graph: Graph, fan_in: int, fan_out: int, activation: str | None,
                        init: str, corner: Position, name: str | None = None) -> MacroCommand:
    """Add a dense layer as one undo step, as the core's ``dense_plan`` lists it: its nodes
    (laid out from ``corner`` as inside any layout), their wires, and the group, folded into
    one block. Raises GraphError for what the plan refuses."""
    plan = graph.dense_plan(fan_in, fan_out, name=name, activation=activation, init=init)
    macro = macro_command(f"Add Dense Layer {plan.name}")
    adds = [AddNodeCommand(graph, node.op, name=node.name, params=dict(node.params),
                           position=corner, parent=macro) for node in plan.nodes]
    for a, b, port in plan.wires:
        ConnectCommand(graph, adds[a], adds[b], port, parent=macro)
    macro.layer = _GroupOfAdded(graph, plan.name, adds, plan.collapsed, corner=corner,
                                parent=macro)  # (its .group, once pushed)
    return macro


class _GroupOfAdded(Command):
    """A group step of a macro whose nodes may be made by its earlier steps (ids are read
    when it runs): :func:`dense_layer_command`'s group (laid out from ``corner``), or the
    group a layer gets back over its new activation (its old id kept)."""

    def __init__(self, graph: Graph, name: str, members: list[NodeHandle], collapsed: bool,
                 corner: Position | None = None, group_id: str | None = None,
                 parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph, self.name, self.members, self.collapsed = graph, name, members, collapsed
        self.corner, self.group_id = corner, group_id
        self.group = None

    def apply(self) -> None:
        from bpstudio.core.layout import opened_positions

        ids = [_resolve(m) for m in self.members]
        if self.group is None:
            self.group = self.graph.add_group(self.name, ids, collapsed=self.collapsed,
                                              group_id=self.group_id)
            if self.corner is not None:
                # (the nodes came in at the corner; undone, they go with their places kept)
                for node_id, pos in opened_positions(self.graph, self.group,
                                                     self.corner).items():
                    self.graph.set_position(node_id, pos)
        else:
            self.graph.restore_group(self.group, ids)

    def undo(self) -> None:
        self.graph.ungroup(self.group)


class _Dissolve(Command):
    """Take a group away for the steps after it (undo puts the same group back)."""

    def __init__(self, graph: Graph, group_id: str, parent: MacroCommand | None = None):
        super().__init__(parent)
        self.graph, self.group = graph, graph.group(group_id)
        self.ids: list[str] = []

    def apply(self) -> None:
        _group, self.ids = self.graph.ungroup(self.group)

    def undo(self) -> None:
        self.graph.restore_group(self.group, self.ids)


def layer_shape_command(graph: Graph, group_id: str, fan_in: int, fan_out: int) -> MacroCommand:
    """A dense layer's fan-in and fan-out: the shapes of its W (drawn afresh by its
    initialiser) and b, as one step."""
    from bpstudio.core.layers import dense_layer

    layer = dense_layer(graph, group_id)
    if layer is None:
        raise GraphError(f"'{graph.group(group_id).name}' is not a dense layer")
    shape = (fan_out, fan_in) if layer.transpose is not None else (fan_in, fan_out)
    macro = macro_command(f"Set the shape of {layer.name} to {fan_in} -> {fan_out}")
    for node, new in ((layer.weight, shape), (layer.bias, (fan_out,))):
        if node is None:
            continue
        problem = graph.param_problem(node.id, "shape", new)
        if problem:
            raise GraphError(problem)
        if tuple(node.params["shape"]) != new:
            SetParamCommand(graph, node.id, "shape", new, parent=macro)
    return macro


def layer_activation_command(graph: Graph, group_id: str, op: str) -> MacroCommand:
    """Give a dense layer another activation: its activation node is replaced by one of
    ``op`` (same name and place, same wires), and the group comes back over it, with its id,
    name and folding."""
    from bpstudio.core.layers import ACTIVATIONS, dense_layer
    from bpstudio.core.ops import get_op

    layer = dense_layer(graph, group_id)
    if layer is None or layer.activation is None:
        raise GraphError(f"'{graph.group(group_id).name}' is not a dense layer with an "
                         f"activation")
    if op not in ACTIVATIONS:
        raise GraphError(f"a layer's activation is one of {', '.join(ACTIVATIONS)}, not {op}")
    group, old = layer.group, layer.output
    macro = macro_command(f"Set the activation of {layer.name} to {op}")
    members: list[NodeHandle] = [i for i in graph.member_ids(group) if i != old.id]
    consumers = graph.output_edges(old)
    _Dissolve(graph, group.id, parent=macro)
    RemoveNodeCommand(graph, old.id, parent=macro)
    new = AddNodeCommand(graph, op, name=old.name, position=old.position, parent=macro)
    ConnectCommand(graph, layer.pre_activation.id, new, get_op(op).input_names()[0],
                   parent=macro)
    for edge in consumers:
        ConnectCommand(graph, new, edge.dst, edge.dst_port, parent=macro)
    _GroupOfAdded(graph, group.name, members + [new], group.collapsed, group_id=group.id,
                  parent=macro)
    return macro
