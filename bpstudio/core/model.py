"""The graph's plain data: nodes, edges, change events and validation findings.

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


@dataclass(frozen=True)
class GraphEvent:
    """A change to the graph. ``kind`` is node_added, node_removed, edge_added, edge_removed or
    node_changed (then ``field`` says what changed: a parameter name, "name", "value", "position")."""

    kind: str
    node: Node | None = None
    edge: Edge | None = None
    field: str | None = None


@dataclass(frozen=True)
class Problem:
    """A validation finding, attached to a node (and a port when one is at fault)."""

    node_id: str
    message: str
    port: str | None = None
    is_shape: bool = False  # a shape mismatch rather than a missing wire


NodeRef = Union[Node, str]
