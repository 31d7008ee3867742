"""Layered left-to-right layout: a node's column is its depth (longest path from a source), and
within a column nodes are ordered by the mean row of their inputs, which keeps wires short and
mostly uncrossed. Positions are plain (x, y) pairs; the core stores them without reading them."""

from __future__ import annotations

from .graph import Graph

COLUMN_SPACING = 240.0
ROW_SPACING = 130.0


def layered_positions(graph: Graph, column_spacing: float = COLUMN_SPACING,
                      row_spacing: float = ROW_SPACING) -> dict[str, tuple[float, float]]:
    """Node id -> (x, y) for a layered left-to-right drawing, centred on y = 0."""
    depth = graph.depths()
    columns: dict[int, list[str]] = {}
    for node in graph.topological_order():
        columns.setdefault(depth[node.id], []).append(node.id)
    row: dict[str, float] = {}
    for d in sorted(columns):
        ids = columns[d]
        if d > 0:
            def barycentre(node_id: str) -> float:
                rows = [row[e.src] for e in graph.input_edges(node_id) if e is not None]
                return sum(rows) / len(rows) if rows else 0.0
            ids.sort(key=barycentre)
        for k, node_id in enumerate(ids):
            row[node_id] = k - (len(ids) - 1) / 2
    return {node_id: (depth[node_id] * column_spacing, row[node_id] * row_spacing)
            for node_id in row}


def apply_layout(graph: Graph) -> None:
    """Move every node to its layered position (one node_changed event per node)."""
    for node_id, position in layered_positions(graph).items():
        graph.set_position(node_id, position)
