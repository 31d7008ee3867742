"""The graph's plain data: nodes, edges, groups, change events and validation findings.

Both the editing API (:mod:`.graph`) and the scripting builder (:mod:`.builder`) use these, so
they live apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from .ops import get_op
from .ops.base import Op


@dataclass
class Node:
    """One node. ``value`` holds the data of parameter and constant nodes; ``position`` is the
    canvas position, kept for the GUI and never interpreted by the core."""

    id: str
    op: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    value: np.ndarray | None = None
    position: Any = None
    # The group (layer) the node belongs to, if any: kept on the node, so that a node taken
    # out and put back (an undone delete) returns to its group with no bookkeeping elsewhere.
    group: "Group | None" = field(default=None, compare=False)

    @property
    def spec(self) -> type[Op]:
        return get_op(self.op)

    @property
    def label(self) -> str:
        """How messages name this node: ``matmul 'h1'``."""
        return f"{self.op} '{self.name}'"


@dataclass(frozen=True)
class Edge:
    """A wire from output port ``src_port`` of node ``src`` to input port ``dst_port`` of ``dst``."""

    src: str
    dst: str
    dst_port: str
    src_port: str = "out"


@dataclass(eq=False)
class Group:
    """Named nodes shown and measured together: a layer. An annotation over the ops, never
    an op: the engine, the exports, the trace and the gradient check do not see it. What a
    layer is (fan-in, fan-out, activation, initialiser) is read from its members (see
    :func:`bpstudio.core.layers.dense_layer`), so it cannot go stale when a member changes.
    ``collapsed``: the canvas shows the group as one block rather than its ops."""

    id: str
    name: str
    collapsed: bool = False

    def __repr__(self) -> str:
        return f"<Group {self.id} '{self.name}'{' collapsed' if self.collapsed else ''}>"


@dataclass(frozen=True)
class GraphEvent:
    """A change to the graph. ``kind`` is node_added, node_removed, edge_added, edge_removed,
    node_changed (then ``field`` says what changed: a parameter name, "name", "value",
    "position"), group_added, group_removed or group_changed (``field``: "name", "collapsed"
    or "members"; ``node`` is the node that joined or left, for "members")."""

    kind: str
    node: Node | None = None
    edge: Edge | None = None
    field: str | None = None
    group: Group | None = None


@dataclass(frozen=True)
class Problem:
    """A validation finding, attached to a node (and a port when one is at fault)."""

    node_id: str
    message: str
    port: str | None = None
    is_shape: bool = False  # a shape mismatch rather than a missing wire


NodeRef = Union[Node, str]
GroupRef = Union[Group, str]
