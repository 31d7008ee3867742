"""The graph model: nodes, ports, edges, the one editing API, change events and validation.

Every edit (from the GUI's undo commands, the CLI, a script or a test) goes through the methods
of :class:`Graph`, and each emits a :class:`GraphEvent` to the subscribed listeners. The model
knows nothing of whoever listens.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections import deque
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import numpy as np

from . import rules
from .builder import GraphBuilder
from .groups import GroupEditing
from .errors import GraphError, ShapeError, WiringError
from .initializers import initialize
from .ops import get_op
from .model import Edge, GraphEvent, Group, Node, NodeRef, Problem
from .ops.base import Op
from .shapes import BATCH, Shape, format_shape
from .svg import render_svg


# The most numbers a parameter draws from its shape (400 MB in float64): a shape typed by
# mistake, such as 100000, 100000, gets a message instead of exhausting memory.
MAX_DRAWN_SIZE = 50_000_000
# An input's sample (its rows to run by hand) holds at most this many rows: it is for looking
# at, and it is saved as text in the project file.
MAX_SAMPLE_ROWS = 64
MAX_SAMPLE_SIZE = 100_000


def all_finite(array: np.ndarray) -> bool:
    """Whether a non-empty float array holds no NaN or infinity. Its least and greatest values
    tell (a NaN makes both NaN) without the array of one flag per number that
    ``np.isfinite(array).all()`` makes: an eighth of a float64 weight, on top of it."""
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


class Graph(GraphBuilder, GroupEditing):
    """A computational graph: nodes joined by edges from output ports to input ports.

    Node ids look like ``#7`` and never change; names are unique, chosen by people, and may
    change. Wherever a node is expected, its Node, id or name is accepted. Nodes may be
    gathered into named groups (layers: see :mod:`.groups`).
    """

    def __init__(self, seed: int | None = 0):
        self.nodes: dict[str, Node] = {}
        self._edges: dict[tuple[str, str], Edge] = {}  # keyed by (dst, dst_port): one edge per input
        self._out: dict[str, list[Edge]] = {}  # node id -> edges leaving it (fan-out)
        self._ids_by_name: dict[str, str] = {}
        self._last_suffix: dict[str, int] = {}
        self._listeners: list[Callable[[GraphEvent], None]] = []
        self._ids = itertools.count(1)
        self.rng = np.random.default_rng(seed)
        # Bumped on every change an engine must see (not on moves), so engines know when to recompile.
        self.version = 0
        # What is worked out from the graph and kept until its version changes: the whole
        # graph's topological order, the orders of the nodes targets need, and the shapes.
        self._order: tuple[int, list[Node]] | None = None
        self._upstream: tuple[int, dict[tuple[str, ...], list[Node]]] = (-1, {})
        self._shapes: tuple[int, dict[str, Shape], list[Problem]] | None = None
        self._init_groups()

    def copy(self) -> "Graph":
        """An independent copy: the same ids, names, parameters, values (as new arrays),
        positions, wires, groups and random state, and no listeners. A training run works on
        one, so that the document's graph changes only when the run's weights come back as one
        edit."""
        other = Graph()
        other.groups = {group_id: Group(g.id, g.name, g.collapsed)
                        for group_id, g in self.groups.items()}
        other._members = {group_id: dict(members) for group_id, members in self._members.items()}
        other.nodes = {node_id: Node(n.id, n.op, n.name, dict(n.params),
                                     None if n.value is None else n.value.copy(), n.position,
                                     None if n.group is None else other.groups[n.group.id])
                       for node_id, n in self.nodes.items()}
        other._edges = dict(self._edges)  # edges are frozen: sharing them is safe
        other._out = {node_id: list(edges) for node_id, edges in self._out.items()}
        other._ids_by_name = dict(self._ids_by_name)
        other._last_suffix = dict(self._last_suffix)
        other.rng = copy.deepcopy(self.rng)
        other.version = self.version
        return other

    # ----------------------------------------------------------------------------------- events
    def subscribe(self, listener: Callable[[GraphEvent], None]) -> Callable[[], None]:
        """Call ``listener(event)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, node: Node | None = None, edge: Edge | None = None,
              field: str | None = None, group: Group | None = None) -> None:
        """Say what changed (a GraphEvent's fields) to the listeners; the event is made only
        when there is one (a file's graph is built, and laid out, before anyone listens)."""
        if field != "position" and group is None:  # (groups: see .groups)
            self.version += 1
        if self._listeners:
            event = GraphEvent(kind, node, edge, field, group)
            for listener in list(self._listeners):
                listener(event)

    # ---------------------------------------------------------------------------------- queries
    @property
    def edges(self) -> list[Edge]:
        return list(self._edges.values())

    def node(self, ref: NodeRef) -> Node:
        """The node for a Node, an id or a name; GraphError if there is none."""
        if isinstance(ref, Node):
            if self.nodes.get(ref.id) is not ref:
                raise GraphError(f"{ref.label} is not in this graph")
            return ref
        if ref in self.nodes:
            return self.nodes[ref]
        if ref in self._ids_by_name:
            return self.nodes[self._ids_by_name[ref]]
        raise GraphError(f"no node named '{ref}'")

    def find(self, name: str) -> Node | None:
        node_id = self._ids_by_name.get(name)
        return None if node_id is None else self.nodes[node_id]

    def input_edge(self, node: NodeRef, port: str) -> Edge | None:
        return self._edges.get((self.node(node).id, port))

    def input_edges(self, node: NodeRef) -> list[Edge | None]:
        """The edge into each input port, in port order (None where a port is unwired)."""
        n = self.node(node)
        return [self._edges.get((n.id, name)) for name in n.spec.input_names()]

    def output_edges(self, node: NodeRef) -> list[Edge]:
        return list(self._out[self.node(node).id])

    def edges_of(self, node: NodeRef) -> list[Edge]:
        n = self.node(node)
        return [e for e in self.input_edges(n) if e is not None] + self._out[n.id]

    def sinks(self) -> list[Node]:
        return [n for n in self.nodes.values() if not self._out[n.id]]

    def default_output(self) -> Node:
        """The node a run ends at when none is named: the only loss among the sinks, else the
        only sink."""
        sinks = self.sinks()
        candidates = [n for n in sinks if n.spec.is_loss] or sinks
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise GraphError("the graph is empty")
        names = ", ".join(f"'{n.name}'" for n in candidates)
        raise GraphError(f"the graph has several outputs ({names}): say which one to use")

    def nodes_of(self, source: str) -> list[Node]:
        """Source nodes of one kind ("input", "parameter" or "constant"), in insertion order."""
        return [n for n in self.nodes.values() if n.spec.source == source]

    def unique_name(self, base: str) -> str:
        """``base`` if free, else ``base_k`` for a free k; never longer than a name may be (the
        stem is shortened to make room for the suffix)."""
        taken = self._ids_by_name
        base = base[:rules.MAX_NAME_LENGTH]
        if base not in taken:
            return base
        stem = re.sub(r"_\d+$", "", base)
        # Start after the last suffix handed out for this stem, so naming n nodes stays linear.
        k = self._last_suffix.get(stem, 0)
        while True:
            k += 1
            name = rules.truncated_name(stem, f"_{k}")
            if name not in taken:
                self._last_suffix[stem] = k
                return name

    # ---------------------------------------------------------------------------------- editing
    def add_node(self, op: str, name: str | None = None, params: dict[str, Any] | None = None,
                 value: Any = None, position: Any = None, node_id: str | None = None, *,
                 stored_value: bool = False) -> Node:
        """Add a node of op ``op``. Parameters are checked against the op's typed parameters.
        A parameter node without ``value`` is initialised from its shape and initialiser; an
        input node's ``value`` is its sample (rows, batch first), or None.

        With ``stored_value`` (for loaders), ``value`` must be a float64 array, and it becomes
        the node's data as it is: not copied (a large array read from a file would otherwise
        exist twice) and NaN or infinity kept (a diverged run is saved as it is)."""
        spec = get_op(op)
        name = self.unique_name(op) if name is None else self._check_name(name)
        if node_id is None:
            node_id = next(i for i in (f"#{k}" for k in self._ids) if i not in self.nodes)
        else:
            rules.check(rules.id_problem(node_id), f"{op} '{name}'")
            if node_id in self.nodes:
                raise GraphError(f"node id '{node_id}' is already used")
        try:
            position = rules.as_position(position)
        except GraphError as exc:
            raise GraphError(f"{op} '{name}': {exc}") from None
        given = dict(params or {})
        unknown = set(given) - {p.name for p in spec.params} if given else ()
        if unknown:
            raise GraphError(f"{op} '{name}': unknown parameter(s) {', '.join(sorted(unknown))}")
        merged = spec.default_params()
        for key, raw in given.items():
            merged[key] = self._coerce(spec, name, key, raw)
        node = Node(node_id, op, name, merged, None, position)
        if stored_value and spec.source in ("parameter", "constant"):
            node.value = self._stored_array(node, value)
            if spec.source == "parameter":
                node.params["shape"] = node.value.shape
        elif spec.source == "parameter":
            if value is None:
                node.value = self._initial_value(node)
            else:
                node.value = self._as_array(node, value)
                node.params["shape"] = node.value.shape
        elif spec.source == "constant":
            node.value = self._as_array(node, 0.0 if value is None else value)
        elif spec.source == "input":
            node.value = None if value is None else self._as_array(node, value)
        elif value is not None:
            raise GraphError(f"{node.label}: only parameter, constant and input nodes hold a "
                             "value")
        self.nodes[node_id] = node
        self._out[node_id] = []
        self._ids_by_name[name] = node_id
        self._emit("node_added", node=node)
        return node

    def remove_node(self, node: NodeRef) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges (each emitted as edge_removed first), and take it out of
        its group (group_changed, or group_removed for its last member). Returns the node and
        the edges, so an undo command can put them back."""
        n = self.node(node)
        edges = self.edges_of(n)
        for edge in edges:
            self.disconnect(edge)
        del self.nodes[n.id]
        del self._out[n.id]
        del self._ids_by_name[n.name]
        self._emit("node_removed", node=n)
        self._leave_group(n)
        return n, edges

    def restore_node(self, node: Node) -> Node:
        """Put back a node removed earlier, with its id, name, parameters and value, into the
        group it was removed from (see :meth:`_rejoin_group`)."""
        rules.check(rules.id_problem(node.id), node.label)
        if node.id in self.nodes:
            raise GraphError(f"node id '{node.id}' is already used")
        self._check_name(node.name)
        try:
            node.position = rules.as_position(node.position)
        except GraphError as exc:
            raise GraphError(f"{node.label}: {exc}") from None
        self.nodes[node.id] = node
        self._out[node.id] = []
        self._ids_by_name[node.name] = node.id
        self._emit("node_added", node=node)
        self._rejoin_group(node)
        return node

    def can_connect(self, src: NodeRef, dst: NodeRef, dst_port: str, src_port: str = "out",
                    replacing: bool = False) -> str | None:
        """Why wiring src -> dst.dst_port is refused, or None when it is allowed."""
        try:
            s, d = self.node(src), self.node(dst)
        except GraphError as exc:
            return str(exc)
        reason = self._wire_problem(s, d, dst_port, src_port)
        if reason is not None:
            return reason
        if not replacing and (d.id, dst_port) in self._edges:
            return f"input '{dst_port}' of {d.label} is already connected"
        if self._reaches(d.id, s.id):
            return f"wiring {s.label} into {d.label} would close a cycle"
        return None

    @staticmethod
    def _wire_problem(s: Node, d: Node, dst_port: Any, src_port: Any) -> str | None:
        """What is wrong with a wire's ports on their own (before the graph is looked at)."""
        if src_port not in s.spec.outputs:
            return f"{s.label} has no output port '{src_port}'"
        if dst_port not in d.spec.input_names():
            return f"{d.label} has no input port '{dst_port}'"
        if s.id == d.id:
            return f"{s.label} cannot feed itself"
        return None

    def connect(self, src: NodeRef, dst: NodeRef, dst_port: str | None = None,
                src_port: str = "out", replace: bool = False) -> Edge:
        """Wire an output to an input port (the first free one when ``dst_port`` is None).
        With ``replace``, a wire already in that input is taken out first (edge_removed), but
        only once the new wire is known to be allowed: a refusal changes nothing."""
        d = self.node(dst)
        if dst_port is None:
            free = [p for p in d.spec.input_names() if (d.id, p) not in self._edges]
            if not free:
                raise GraphError(f"{d.label} has no free input port")
            dst_port = free[0]
        reason = self.can_connect(src, d, dst_port, src_port, replacing=replace)
        if reason:
            raise GraphError(reason)
        old = self._edges.get((d.id, dst_port))
        if old is not None:
            self.disconnect(old)
        edge = Edge(self.node(src).id, d.id, dst_port, src_port)
        self._edges[(d.id, dst_port)] = edge
        self._out[edge.src].append(edge)
        self._emit("edge_added", edge=edge)
        return edge

    def connect_all(self, wires: Iterable[Edge]) -> list[Edge]:
        """Add many wires at once, all or nothing (a file's wires, a pasted group's).

        Each wire is checked as :meth:`connect` checks it, and all of them are checked for
        cycles together by one pass over the whole graph, so wiring costs time in proportion to
        nodes + wires whatever order the wires come in (per-wire cycle searches can make that
        quadratic). A refusal raises :class:`WiringError` with the index of the wire at fault,
        and leaves the graph unchanged."""
        new: list[Edge] = []
        filled: set[tuple[str, str]] = set()
        for index, wire in enumerate(wires):
            try:
                s, d = self.node(wire.src), self.node(wire.dst)
            except GraphError as exc:
                raise WiringError(str(exc), index) from None
            reason = self._wire_problem(s, d, wire.dst_port, wire.src_port)
            key = (d.id, wire.dst_port)
            if reason is None and (key in self._edges or key in filled):
                reason = f"input '{wire.dst_port}' of {d.label} is already connected"
            if reason is not None:
                raise WiringError(reason, index)
            filled.add(key)
            # (An Edge naming its nodes by id is the wire itself: edges are frozen, and a
            # file's wires come as such.)
            new.append(wire if type(wire) is Edge and (wire.src, wire.dst) == (s.id, d.id)
                       else Edge(s.id, d.id, wire.dst_port, wire.src_port))
        closing = self._closing_wire(new)
        if closing is not None:
            edge = new[closing]
            raise WiringError(f"wiring {self.nodes[edge.src].label} into "
                              f"{self.nodes[edge.dst].label} would close a cycle", closing)
        for edge in new:
            self._edges[(edge.dst, edge.dst_port)] = edge
            self._out[edge.src].append(edge)
            self._emit("edge_added", edge=edge)
        return new

    def _closing_wire(self, new: list[Edge]) -> int | None:
        """The index of a wire of ``new`` that lies on a cycle of the graph with ``new`` added,
        or None when there is no cycle (Kahn's algorithm over the whole graph, then a walk
        back along unfinished nodes, which must come round to a node it has seen: that node
        is on a cycle, and so is one of the new wires, the graph being acyclic without them)."""
        added_out: dict[str, list[str]] = {}
        added_in: dict[str, list[int]] = {}
        pending = dict.fromkeys(self.nodes, 0)
        for edge in self._edges.values():
            pending[edge.dst] += 1
        for index, edge in enumerate(new):
            pending[edge.dst] += 1
            added_out.setdefault(edge.src, []).append(edge.dst)
            added_in.setdefault(edge.dst, []).append(index)
        ready = [node_id for node_id, count in pending.items() if count == 0]
        finished = 0
        while ready:
            node_id = ready.pop()
            finished += 1
            for dst in itertools.chain((e.dst for e in self._out[node_id]),
                                       added_out.get(node_id, ())):
                pending[dst] -= 1
                if pending[dst] == 0:
                    ready.append(dst)
        if finished == len(pending):
            return None

        def step_back(node_id: str) -> tuple[str, int | None]:
            """An unfinished node feeding ``node_id`` (one always exists), and the index of the
            new wire from it (None for a wire already in the graph)."""
            for edge in self._incoming(node_id):
                if pending[edge.src]:
                    return edge.src, None
            index = next(i for i in added_in[node_id] if pending[new[i].src])
            return new[index].src, index

        node_id = next(i for i, count in pending.items() if count)
        seen = set()
        while node_id not in seen:
            seen.add(node_id)
            node_id, _ = step_back(node_id)
        start = node_id  # on the cycle: go round it once more to find a new wire on it
        while True:
            node_id, index = step_back(node_id)
            if index is not None:
                return index
            if node_id == start:  # cannot happen: the graph had no cycle before
                raise AssertionError("a cycle made only of existing wires")

    def disconnect(self, edge: Edge) -> Edge:
        if self._edges.get((edge.dst, edge.dst_port)) != edge:
            raise GraphError(f"there is no wire into input '{edge.dst_port}' of node '{edge.dst}'")
        del self._edges[(edge.dst, edge.dst_port)]
        self._out[edge.src].remove(edge)
        self._emit("edge_removed", edge=edge)
        return edge

    def set_param(self, node: NodeRef, key: str, value: Any) -> None:
        """Set one typed parameter; a parameter node's new shape or initialiser redraws its value."""
        n = self.node(node)
        if key not in {p.name for p in n.spec.params}:
            raise GraphError(f"{n.label} has no parameter '{key}'")
        coerced = self._coerce(n.spec, n.name, key, value)
        if n.spec.source == "parameter":  # drawn first: a refused shape leaves the node as it was
            n.value = self._initial_value(n, {**n.params, key: coerced})
        elif n.spec.source == "input" and key == "shape" and n.value is not None \
                and tuple(n.value.shape[1:]) != tuple(coerced):
            n.value = None  # rows of the old shape: the sample no longer fits the input
        n.params[key] = coerced
        self._emit("node_changed", node=n, field=key)

    def set_value(self, node: NodeRef, value: Any) -> None:
        """Replace the data of a parameter or constant node (a parameter takes the new shape), or
        an input's sample rows (None: no sample)."""
        n = self.node(node)
        if n.spec.source not in ("parameter", "constant", "input"):
            raise GraphError(f"{n.label} holds no value; only parameters, constants and inputs do")
        n.value = (None if value is None and n.spec.source == "input"
                   else self._as_array(n, value))
        if n.spec.source == "parameter":
            n.params["shape"] = n.value.shape
        self._emit("node_changed", node=n, field="value")

    def rename(self, node: NodeRef, name: str) -> None:
        n = self.node(node)
        if name == n.name:
            return
        del self._ids_by_name[n.name]
        try:
            n.name = self._check_name(name)
        finally:
            self._ids_by_name[n.name] = n.id
        self._emit("node_changed", node=n, field="name")

    def set_position(self, node: NodeRef, position: Any) -> None:
        """Move a node on the canvas: ``position`` is a finite (x, y) pair, or None."""
        n = self.node(node)
        try:
            n.position = rules.as_position(position)
        except GraphError as exc:
            raise GraphError(f"{n.label}: {exc}") from None
        self._emit("node_changed", node=n, field="position")

    def set_positions(self, positions: Mapping[str, Any]) -> None:
        """Move many nodes, by id or name (a layout): every position is checked as :meth:`set_position`
        checks it before any node moves, so a refused one moves none; then one node_changed
        event per node, as for moves one at a time."""
        placed = []
        for ref, position in positions.items():
            n = self.node(ref)
            try:
                placed.append((n, rules.as_position(position)))
            except GraphError as exc:
                raise GraphError(f"{n.label}: {exc}") from None
        for n, position in placed:
            n.position = position
            self._emit("node_changed", node=n, field="position")

    def reinitialize(self, seed: int | None = None) -> None:
        """Draw every parameter afresh from its initialiser (seeded when ``seed`` is given)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        for n in self.nodes_of("parameter"):
            n.value = self._initial_value(n)
            self._emit("node_changed", node=n, field="value")

    # ---------------------------------------------------------------------------- structure
    def topological_order(self, targets: Iterable[NodeRef] | None = None) -> list[Node]:
        """Nodes ordered so that every node comes after its inputs (Kahn's algorithm, iterative).
        With ``targets``, only the nodes those targets depend on.

        The whole graph's order is kept until the graph's version changes (every node and wire
        added or removed changes it): opening a file asks for it several times over (the
        layout, the sample rows, the training settings), each time a pass over every node.
        While it is kept, the order for ``targets`` is read from it: the nodes the targets
        depend on come in the same order in both (Kahn's algorithm on a set of nodes that
        holds every node feeding one of them meets them in the same order). The orders for
        the last few targets asked for are kept too."""
        fresh = self._order is not None and self._order[0] == self.version
        if targets is None:
            if fresh:
                return list(self._order[1])
            keep = set(self.nodes)
        else:
            stack = [self.node(t).id for t in targets]
            key = tuple(stack)
            if self._upstream[0] != self.version:
                self._upstream = (self.version, {})
            known = self._upstream[1].get(key)
            if known is not None:
                return list(known)
            keep = set()
            nodes, edges = self.nodes, self._edges
            while stack:
                node_id = stack.pop()
                if node_id in keep:
                    continue
                keep.add(node_id)
                for port in nodes[node_id].spec.input_names():
                    edge = edges.get((node_id, port))
                    if edge is not None:
                        stack.append(edge.src)
            if fresh:
                order = [n for n in self._order[1] if n.id in keep]
                self._keep_upstream(key, order)
                return list(order)
        # Wires into each node, counted in one pass over the wires (every wire is into a
        # node's port; asking each node's ports in turn cost most of the sort).
        pending = dict.fromkeys(keep, 0)
        for dst, _port in self._edges:
            if dst in pending:
                pending[dst] += 1
        ready = deque(i for i in self.nodes if i in keep and pending[i] == 0)
        order: list[Node] = []
        while ready:
            node_id = ready.popleft()
            order.append(self.nodes[node_id])
            for e in self._out[node_id]:
                if e.dst in keep:
                    pending[e.dst] -= 1
                    if pending[e.dst] == 0:
                        ready.append(e.dst)
        if len(order) != len(keep):
            stuck = next(self.nodes[i] for i in self.nodes if i in keep and pending[i] > 0)
            raise GraphError(f"the graph has a cycle through {stuck.label}")
        if targets is None:
            self._order = (self.version, list(order))
        else:
            self._keep_upstream(key, list(order))
        return order

    UPSTREAM_KEPT = 8  # orders for targets kept at once (a loop over every node asks for each)

    def _keep_upstream(self, key: tuple[str, ...], order: list[Node]) -> None:
        kept = self._upstream[1]
        if len(kept) >= self.UPSTREAM_KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = order

    def depths(self) -> dict[str, int]:
        """Longest distance from a source for every node id (0 for sources): the column of a
        left-to-right layout and the input-to-loss order of layers."""
        depth: dict[str, int] = {}
        for n in self.topological_order():
            depth[n.id] = max((depth[e.src] + 1 for e in self._incoming(n.id)), default=0)
        return depth

    def infer_shapes(self) -> tuple[dict[str, Shape], list[Problem]]:
        """The shape of every node whose inputs are all known, and what stopped the others
        (kept until the graph's version changes: the canvas, the sample rows and the training
        settings each ask when a file opens)."""
        kept = self._shapes
        if kept is not None and kept[0] == self.version:
            return dict(kept[1]), list(kept[2])
        shapes, problems = self._inferred_shapes()
        self._shapes = (self.version, dict(shapes), list(problems))
        return shapes, problems

    def _inferred_shapes(self) -> tuple[dict[str, Shape], list[Problem]]:
        shapes: dict[str, Shape] = {}
        problems: list[Problem] = []
        wires = self._edges
        for n in self.topological_order():
            spec = n.spec
            if spec.source == "input":
                shapes[n.id] = (BATCH,) + tuple(n.params["shape"])
                continue
            if spec.source is not None:
                shapes[n.id] = tuple(n.value.shape)
                continue
            names = spec.input_names()
            edges = [wires.get((n.id, name)) for name in names]
            missing = [p for p, e in zip(names, edges) if e is None]
            if missing:
                problems.append(Problem(n.id, f"{n.label}: input '{missing[0]}' is not connected",
                                        missing[0]))
                continue
            if any(e.src not in shapes for e in edges):
                continue  # an upstream node already has a problem
            try:
                shapes[n.id] = tuple(spec.infer_shape(*(shapes[e.src] for e in edges), **n.params))
            except ShapeError as exc:
                problems.append(Problem(n.id, f"{n.label}: {exc}", is_shape=True))
        return shapes, problems

    def validate(self) -> list[Problem]:
        return self.infer_shapes()[1]

    def check(self, targets: Iterable[NodeRef] | None = None) -> dict[str, Shape]:
        """Raise the first problem (among the nodes ``targets`` depend on); return the shapes."""
        shapes, problems = self.infer_shapes()
        if targets is not None:
            keep = {n.id for n in self.topological_order(targets)}
            problems = [p for p in problems if p.node_id in keep]
        if problems:
            raise (ShapeError if problems[0].is_shape else GraphError)(problems[0].message)
        return shapes

    # ---------------------------------------------------------------------------------- helpers
    def _incoming(self, node_id: str) -> Iterable[Edge]:
        node = self.nodes[node_id]
        for port in node.spec.input_names():
            edge = self._edges.get((node_id, port))
            if edge is not None:
                yield edge

    def _reaches(self, start: str, goal: str) -> bool:
        """Whether ``goal`` is downstream of ``start``.

        Searches forward from ``start`` and backward from ``goal`` in turns, and stops as soon
        as either search has nothing left: a path, if there is one, is then found by the side
        that ran out. The cost is about twice the smaller of "what ``start`` feeds" and "what
        feeds ``goal``", so that wiring a chain costs O(n log n) in any order (each wire joins
        two pieces and is paid for by the smaller one), where a one-sided search is quadratic
        when a chain is wired from its end back to its start."""
        if start == goal:
            return True
        ahead, behind = {start}, {goal}
        forward, backward = [start], [goal]
        while forward and backward:
            for edge in self._out[forward.pop()]:
                if edge.dst in behind:
                    return True
                if edge.dst not in ahead:
                    ahead.add(edge.dst)
                    forward.append(edge.dst)
            for edge in self._incoming(backward.pop()):
                if edge.src in ahead:
                    return True
                if edge.src not in behind:
                    behind.add(edge.src)
                    backward.append(edge.src)
        return False

    def name_problem(self, name: str, node: NodeRef | None = None) -> str | None:
        """Why ``name`` cannot be given to ``node`` (or to a new node), or None when it can.
        Lets an editor refuse a rename before it becomes an undoable edit."""
        if node is not None and self.node(node).name == name:
            return None
        try:
            self._check_name(name)
        except GraphError as exc:
            return str(exc)
        return None

    def param_problem(self, node: NodeRef, key: str, value: Any) -> str | None:
        """Why ``value`` cannot be given to parameter ``key`` of ``node``, or None when it can.
        Lets an editor refuse a number before it becomes an undoable edit."""
        n = self.node(node)
        if key not in n.params:
            return f"{n.label} has no parameter '{key}'"
        try:
            coerced = self._coerce(n.spec, n.name, key, value)
            if n.spec.source == "parameter" and key == "shape":
                self._check_drawn_size(n, coerced)
        except GraphError as exc:
            return str(exc)
        return None

    def value_problem(self, node: NodeRef, value: Any) -> str | None:
        """Why ``value`` cannot become the data of ``node``, or None when it can.
        Lets an editor refuse a value before it becomes an undoable edit."""
        try:
            self._as_array(self.node(node), value)
        except GraphError as exc:
            return str(exc)
        return None

    def _check_name(self, name: str) -> str:
        rules.check(rules.name_problem(name))
        if self.find(name) is not None:
            raise GraphError(f"the name '{name}' is already used by another node")
        return name

    @staticmethod
    def _coerce(spec: type[Op], node_name: str, key: str, raw: Any) -> Any:
        try:
            return spec.param(key).coerce(raw)
        except ValueError as exc:
            raise GraphError(f"{spec.name} '{node_name}': {exc}") from None

    def _initial_value(self, node: Node, params: dict[str, Any] | None = None) -> np.ndarray:
        """Values drawn for a parameter node from its (or the given) shape and initialiser."""
        p = node.params if params is None else params
        self._check_drawn_size(node, p["shape"])
        return initialize(p["init"], tuple(p["shape"]), p["scale"], self.rng)

    @staticmethod
    def _check_drawn_size(node: Node, shape: tuple[int, ...]) -> None:
        count = math.prod(shape)
        if count > MAX_DRAWN_SIZE:
            raise GraphError(f"{node.label}: shape {format_shape(shape)} holds {count:,} numbers; "
                             f"a parameter drawn from its shape may hold at most "
                             f"{MAX_DRAWN_SIZE:,}")

    @staticmethod
    def _stored_array(node: Node, value: Any) -> np.ndarray:
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            raise GraphError(f"{node.label}: a stored value must be a float64 array")
        if value.size == 0:  # as for any value: a file holding it would not load
            raise GraphError(f"{node.label}: value must hold at least one number")
        rules.check(rules.shape_problem(value.shape), f"{node.label}: value")
        return value

    @staticmethod
    def _as_array(node: Node, value: Any) -> np.ndarray:
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise GraphError(f"{node.label}: value must be numbers, not {type(value).__name__}") from None
        if array.size == 0:  # no shape of a parameter may have a 0 dimension; a file would not load
            raise GraphError(f"{node.label}: value must hold at least one number")
        if not all_finite(array):
            raise GraphError(f"{node.label}: value must be finite numbers")
        rules.check(rules.shape_problem(array.shape), f"{node.label}: value")
        if node.spec.source == "input":
            return Graph._check_sample(node, array)
        return array

    @staticmethod
    def _check_sample(node: Node, rows: np.ndarray) -> np.ndarray:
        """An input's sample: 1 to MAX_SAMPLE_ROWS rows, each of the input's shape."""
        shape = tuple(node.params["shape"])
        if rows.ndim == len(shape):  # one row given without its batch dimension
            rows = rows[None]
        if tuple(rows.shape[1:]) != shape:
            raise GraphError(f"{node.label}: sample rows must have shape {format_shape(shape)}, "
                             f"not {format_shape(rows.shape[1:])}")
        if len(rows) > MAX_SAMPLE_ROWS or rows.size > MAX_SAMPLE_SIZE:
            raise GraphError(f"{node.label}: a sample holds at most {MAX_SAMPLE_ROWS} rows and "
                             f"{MAX_SAMPLE_SIZE} numbers, not {len(rows)} rows")
        return rows

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, {len(self._edges)} edges>"

    def _repr_svg_(self) -> str:
        """The graph as the canvas draws it (Jupyter shows this); see :mod:`bpstudio.core.svg`."""
        return render_svg(self)


