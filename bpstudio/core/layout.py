"""Layered left-to-right layout: a node's column is its depth (longest path from a source), and
sources (inputs, parameters, constants) sit one column left of their nearest consumer, beside
the node they feed rather than all in the first column; so do nodes that compute from weights
alone (a transposed weight matrix), with the weights left of them. Within a column, nodes are
ordered by alternate sweeps on the mean row of their inputs and of their consumers (the
barycentre heuristic), which keeps wires short and mostly uncrossed. Positions are plain (x, y)
pairs; the core stores them without reading them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (not imported when running: the graph draws itself with this module)
    from .graph import Graph

COLUMN_SPACING = 240.0
ROW_SPACING = 175.0  # room for a two-port card with its value and gradient lines
SWEEPS = 3


def layered_positions(graph: Graph, column_spacing: float = COLUMN_SPACING,
                      row_spacing: float = ROW_SPACING) -> dict[str, tuple[float, float]]:
    """Node id -> (x, y) for a layered left-to-right drawing, centred on y = 0."""
    order = graph.topological_order()
    depth = graph.depths()
    # (neighbour id, small offset by port) pairs: the offset breaks ties so that a node wired to
    # an upper port sits above one wired to a lower port of the same consumer.
    producers: dict[str, list[tuple[str, float]]] = {}
    consumers: dict[str, list[tuple[str, float]]] = {n.id: [] for n in order}
    for n in order:
        edges = graph.input_edges(n)
        producers[n.id] = [(e.src, 0.0) for e in edges if e is not None]
        for k, e in enumerate(edges):
            if e is not None:
                consumers[e.src].append((n.id, 0.01 * (k - (len(edges) - 1) / 2)))
    # Sources, and nodes no input feeds (what is computed from weights alone), are pulled
    # right, next to their nearest consumer, consumers first.
    fed = {n.id for n in order if n.spec.source == "input"}
    for n in order:
        if any(src in fed for src, _ in producers[n.id]):
            fed.add(n.id)
    for n in reversed(order):
        if (not producers[n.id] or n.id not in fed) and consumers[n.id]:
            depth[n.id] = min(depth[c] for c, _ in consumers[n.id]) - 1
    lowest = min(depth.values(), default=0)
    columns: dict[int, list[str]] = {}
    for n in order:
        columns.setdefault(depth[n.id] - lowest, []).append(n.id)

    row: dict[str, float] = {}

    def place(ids: list[str]) -> None:
        for k, node_id in enumerate(ids):
            row[node_id] = k - (len(ids) - 1) / 2

    for ids in columns.values():
        place(ids)

    def sweep(column_order: list[int], neighbours: dict[str, list[tuple[str, float]]]) -> None:
        for d in column_order:
            ids = columns[d]

            def barycentre(node_id: str) -> float:
                near = neighbours[node_id]
                if not near:
                    return row[node_id]
                return sum(row[j] + offset for j, offset in near) / len(near)

            ids.sort(key=barycentre)
            place(ids)

    left_to_right = sorted(columns)
    for _ in range(SWEEPS):
        sweep(left_to_right, producers)
        sweep(left_to_right[::-1], consumers)
    return {node_id: ((depth[node_id] - lowest) * column_spacing, row[node_id] * row_spacing)
            for node_id in row}


def apply_layout(graph: Graph) -> None:
    """Move every node to its layered position (one node_changed event per node)."""
    for node_id, position in layered_positions(graph).items():
        graph.set_position(node_id, position)
