"""Layered left-to-right layout, with each group (a layer) laid out as one unit.

A unit is a node outside any group, or a whole group: a collapsed group takes one cell (its
block), an opened one the cells its own ops need, laid out the same way inside it. A unit's
column is its depth (longest path from a source), and sources (inputs, parameters, constants)
sit one column left of their nearest consumer, beside the unit they feed rather than all in the
first column; so do units that compute from weights alone (a transposed weight matrix), with
the weights left of them. Within a column, units are ordered by alternate sweeps on the mean row
of their inputs and of their consumers (the barycentre heuristic), which keeps wires short and
mostly uncrossed.

A chain too long for one screen (a deep stack of collapsed layers) is wrapped: its columns go
in bands, one under the other, as many columns per band as fill a view of ``aspect`` (width
over height) best, so that every block can be read at once.

A group is drawn where its members' positions start: its block's top-left corner is the
smallest x and the smallest y among its members (:func:`group_corner`). Opening or closing a
block changes the room it takes; :func:`room_moves` says how the units right of it and below it
shift so that nothing overlaps. Positions are plain (x, y) pairs; the core stores them without
reading them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # (not imported when running: the graph draws itself with this module)
    from .graph import Graph
    from .model import Group

COLUMN_SPACING = 240.0
ROW_SPACING = 175.0  # room for a two-port card with its value and gradient lines
SWEEPS = 3
# Wider than this (scene units), a layout is wrapped into bands; about what a 740-pixel
# canvas shows at a zoom where a block's name is still readable.
WRAP_WIDTH = 1300.0
# The view a wrapped layout is fitted to: the canvas at the default window size (696 x 786).
VIEW_ASPECT = 0.9
BAND_GAP = 0.35  # rows of extra space between bands, for the wires that go back to the left
BLOCK_SIZE = (COLUMN_SPACING, ROW_SPACING)  # the room a collapsed layer's block takes

Position = tuple[float, float]


def layered_positions(graph: Graph, column_spacing: float = COLUMN_SPACING,
                      row_spacing: float = ROW_SPACING, wrap_width: float = WRAP_WIDTH,
                      aspect: float = VIEW_ASPECT) -> dict[str, Position]:
    """Node id -> (x, y) for a layered left-to-right drawing, centred on y = 0 (a wrapped
    drawing's first band is), with every group as one unit."""
    unit_of = {n.id: (n.group.id if _grouped(graph, n) else n.id) for n in graph.nodes.values()}
    order = _unit_order(graph, unit_of)
    if order is None:  # a group a path leaves and re-enters: lay out its nodes one by one
        unit_of = {node_id: node_id for node_id in graph.nodes}
        order = [n.id for n in graph.topological_order()]
    sizes: dict[str, tuple[int, int]] = {}
    inner: dict[str, dict[str, tuple[float, float]]] = {}  # group id -> member -> cell
    rank = {n.id: k for k, n in enumerate(graph.topological_order())} if graph.groups else {}
    for unit in order:
        if unit in graph.groups:
            # Folded or not, the members get their places inside the layer (where they show
            # when it opens); a folded one takes one cell, its block.
            group = graph.groups[unit]
            cells = _group_cells(graph, group, rank)
            inner[unit] = cells
            sizes[unit] = (1, 1) if group.collapsed else (
                int(max(c for c, _ in cells.values())) + 1,
                int(math.ceil(max(r for _, r in cells.values()) - 1e-9)) + 1)
        else:
            sizes[unit] = (1, 1)
    producers, consumers, fed = _unit_wiring(graph, unit_of, order)
    column, row = _layered(order, producers, consumers, fed)
    corners = _place(order, column, row, sizes, column_spacing, row_spacing, wrap_width, aspect)
    positions: dict[str, Position] = {}
    for unit, (x, y) in corners.items():
        if unit in inner:
            for member, (c, r) in inner[unit].items():
                positions[member] = (x + c * column_spacing, y + r * row_spacing)
        else:
            positions[unit] = (x, y)
    return positions


def apply_layout(graph: Graph) -> None:
    """Move every node to its layered position (one node_changed event per node)."""
    graph.set_positions(layered_positions(graph))


def opened_positions(graph: Graph, group: Group | str, corner: Position,
                     column_spacing: float = COLUMN_SPACING,
                     row_spacing: float = ROW_SPACING) -> dict[str, Position]:
    """A group's members laid out on their own (the same layout as inside a whole graph's),
    from ``corner``: where a new layer's ops go."""
    x, y = corner
    return {m: (x + c * column_spacing, y + r * row_spacing)
            for m, (c, r) in _group_cells(graph, graph.group(group)).items()}


def group_corner(graph: Graph, group: Group | str) -> Position:
    """The top-left corner of a group: the smallest x and y among its placed members."""
    placed = [n.position for n in graph.members(group) if n.position is not None]
    if not placed:
        return (0.0, 0.0)
    return (min(p[0] for p in placed), min(p[1] for p in placed))


def shown_position(graph: Graph, node_id: str) -> Position | None:
    """Where a node is drawn: its own position, or its block's corner while it is folded into
    a collapsed group."""
    group = graph.group_of(node_id)
    if group is not None and group.collapsed:
        return group_corner(graph, group)
    return graph.nodes[node_id].position


def room_moves(graph: Graph, group: Group | str, old_size: tuple[float, float],
               new_size: tuple[float, float]) -> dict[str, Position]:
    """Where the nodes outside ``group`` go when the room it takes, from its corner, changes
    from ``old_size`` to ``new_size`` (width, height): what starts right of the old room and
    above its bottom moves right by the change of width; what starts below it moves down by the
    change of height. Opening then closing a block (nothing moved between) puts every node back.
    Node id -> new position, for the nodes that move."""
    g = graph.group(group)
    x0, y0 = group_corner(graph, g)
    right, bottom = x0 + old_size[0], y0 + old_size[1]
    dx, dy = new_size[0] - old_size[0], new_size[1] - old_size[1]
    members = set(graph.member_ids(g))
    moves: dict[str, Position] = {}
    for unit in _placed_units(graph, members):
        ids, (ux, uy) = unit
        if uy >= bottom - 1e-6:
            shift = (0.0, dy)
        elif ux >= right - 1e-6:
            shift = (dx, 0.0)
        else:
            continue
        if shift == (0.0, 0.0):
            continue
        for node_id in ids:
            px, py = graph.nodes[node_id].position
            moves[node_id] = (px + shift[0], py + shift[1])
    return moves


def _placed_units(graph: Graph, leave_out: set[str]) -> list[tuple[list[str], Position]]:
    """The placed units other than ``leave_out``'s nodes: (member ids, corner). A group moves
    as one, by its corner, so that room made beside it never splits it."""
    units: list[tuple[list[str], Position]] = []
    for g in graph.groups.values():
        ids = [i for i in graph.member_ids(g) if i not in leave_out
               and graph.nodes[i].position is not None]
        if ids:
            units.append((ids, group_corner(graph, g)))
    for n in graph.nodes.values():
        if n.id not in leave_out and not _grouped(graph, n) and n.position is not None:
            units.append(([n.id], n.position))
    return units


# ------------------------------------------------------------------------------------ helpers
def _grouped(graph: Graph, node) -> bool:
    return node.group is not None and graph.groups.get(node.group.id) is node.group


def _unit_order(graph: Graph, unit_of: dict[str, str]) -> list[str] | None:
    """The units in an order where every unit comes after those feeding it (Kahn's
    algorithm, ties in the graph's topological order); None when groups make a cycle."""
    node_order = graph.topological_order()
    if all(unit == node_id for node_id, unit in unit_of.items()):
        # Every unit a node: Kahn's algorithm taking the ready unit first in the graph's
        # order gives that order itself (its next node is always ready).
        return [n.id for n in node_order]
    rank: dict[str, int] = {}
    for k, n in enumerate(node_order):
        rank.setdefault(unit_of[n.id], k)
    feeds: dict[str, set[str]] = {u: set() for u in rank}
    waiting = {u: 0 for u in rank}
    for e in graph.edges:
        a, b = unit_of[e.src], unit_of[e.dst]
        if a != b and b not in feeds[a]:
            feeds[a].add(b)
            waiting[b] += 1
    ready = sorted((u for u, k in waiting.items() if k == 0), key=rank.__getitem__)
    order: list[str] = []
    while ready:
        unit = ready.pop(0)
        order.append(unit)
        for b in sorted(feeds[unit], key=rank.__getitem__):
            waiting[b] -= 1
            if waiting[b] == 0:
                ready.append(b)
        ready.sort(key=rank.__getitem__)
    return order if len(order) == len(rank) else None


def _unit_wiring(graph: Graph, unit_of: dict[str, str], order: list[str]):
    """The units' producers and consumers, as (neighbour, small offset by port) pairs (the
    offset breaks ties so that a unit wired to an upper port sits above one wired to a lower
    port of the same consumer), and the units an input feeds."""
    producers: dict[str, list[tuple[str, float]]] = {u: [] for u in order}
    consumers: dict[str, list[tuple[str, float]]] = {u: [] for u in order}
    fed: set[str] = set()
    for n in graph.topological_order():
        dst = unit_of[n.id]
        if n.spec.source == "input":
            fed.add(dst)
        edges = graph.input_edges(n)
        middle = (len(edges) - 1) / 2
        for k, e in enumerate(edges):
            if e is None:
                continue
            src = unit_of[e.src]
            if src != dst:
                producers[dst].append((src, 0.0))
                consumers[src].append((dst, 0.01 * (k - middle)))
    for unit in order:
        if any(src in fed for src, _ in producers[unit]):
            fed.add(unit)
    return producers, consumers, fed


def _layered(order: list[str], producers: dict[str, list[tuple[str, float]]],
             consumers: dict[str, list[tuple[str, float]]], fed: set[str]
             ) -> tuple[dict[str, int], dict[str, float]]:
    """Column and row (centred on 0) of each id, from a topological order of a DAG."""
    depth: dict[str, int] = {}
    for unit in order:
        near = producers[unit]
        depth[unit] = (0 if not near else depth[near[0][0]] + 1 if len(near) == 1
                       else max(depth[src] for src, _ in near) + 1)
    # Sources, and units no input feeds (what is computed from weights alone), are pulled
    # right, next to their nearest consumer, consumers first.
    for unit in reversed(order):
        if (not producers[unit] or unit not in fed) and consumers[unit]:
            depth[unit] = min(depth[c] for c, _ in consumers[unit]) - 1
    lowest = min(depth.values(), default=0)
    columns: dict[int, list[str]] = {}
    for unit in order:
        columns.setdefault(depth[unit] - lowest, []).append(unit)

    row: dict[str, float] = {}

    def place(ids: list[str]) -> None:
        for k, unit in enumerate(ids):
            row[unit] = k - (len(ids) - 1) / 2

    for ids in columns.values():
        place(ids)

    def sweep(column_order: list[int], neighbours: dict[str, list[tuple[str, float]]]) -> None:
        for d in column_order:
            ids = columns[d]
            if len(ids) == 1:
                continue  # (a lone unit stays on row 0: a long chain is all such columns)

            def barycentre(unit: str) -> float:
                near = neighbours[unit]
                if not near:
                    return row[unit]
                return sum(row[j] + offset for j, offset in near) / len(near)

            ids.sort(key=barycentre)
            place(ids)

    left_to_right = sorted(columns)
    for _ in range(SWEEPS):
        sweep(left_to_right, producers)
        sweep(left_to_right[::-1], consumers)
    return {unit: depth[unit] - lowest for unit in row}, row


def _group_cells(graph: Graph, group: Group,
                 rank: dict[str, int] | None = None) -> dict[str, tuple[float, float]]:
    """A group's members laid out on their own: member id -> (column, row) cells from the
    group's top-left corner. ``rank`` is each node's place in the graph's topological order
    (computed once for all groups: computing it per group made a deep stack quadratic)."""
    members = graph.member_ids(group)
    inside = set(members)
    if rank is None:
        order = [n.id for n in graph.topological_order(members) if n.id in inside]
    else:
        order = sorted(members, key=rank.__getitem__)
    producers: dict[str, list[tuple[str, float]]] = {m: [] for m in order}
    consumers: dict[str, list[tuple[str, float]]] = {m: [] for m in order}
    fed: set[str] = set()
    for m in order:
        edges = graph.input_edges(m)
        if any(e is not None and e.src not in inside for e in edges):
            fed.add(m)  # what the layer's input enters is fed from outside
        for k, e in enumerate(edges):
            if e is not None and e.src in inside:
                producers[m].append((e.src, 0.0))
                consumers[e.src].append((m, 0.01 * (k - (len(edges) - 1) / 2)))
    for m in order:
        if any(src in fed for src, _ in producers[m]):
            fed.add(m)
    column, row = _layered(order, producers, consumers, fed)
    top = min(row.values())
    return {m: (float(column[m]), row[m] - top) for m in order}


def _place(order: list[str], column: dict[str, int], row: dict[str, float],
           sizes: dict[str, tuple[int, int]], column_spacing: float, row_spacing: float,
           wrap_width: float, aspect: float) -> dict[str, Position]:
    """Each unit's top-left corner: columns as wide as their widest unit, a column's units
    stacked in row order and centred, and the columns wrapped into bands when too wide."""
    columns: dict[int, list[str]] = {}
    for unit in order:
        columns.setdefault(column[unit], []).append(unit)
    keys = sorted(columns)
    widths, heights = [], []
    for c in keys:
        units = columns[c]
        if len(units) == 1:  # (a long chain: every column)
            width, height = sizes[units[0]]
        else:
            width = max(sizes[u][0] for u in units)
            height = sum(sizes[u][1] for u in units)
        widths.append(width)
        heights.append(height)
    per_band = _columns_per_band(widths, heights, column_spacing, row_spacing, wrap_width,
                                 aspect)
    corners: dict[str, Position] = {}
    band_top = 0.0
    for start in range(0, len(keys), per_band):
        band = range(start, min(start + per_band, len(keys)))
        band_height = max(heights[k] for k in band)
        x = 0.0
        for k in band:
            ids = columns[keys[k]]
            if len(ids) > 1:
                ids = sorted(ids, key=row.__getitem__)
            y = band_top - (heights[k] - 1) / 2 if start == 0 else \
                band_top + (band_height - heights[k]) / 2
            for unit in ids:
                corners[unit] = (x * column_spacing, y * row_spacing)
                y += sizes[unit][1]
            x += widths[k]
        first_top = -(band_height - 1) / 2 if start == 0 else band_top
        band_top = first_top + band_height + BAND_GAP
    return corners


def _columns_per_band(widths: list[int], heights: list[int], column_spacing: float,
                      row_spacing: float, wrap_width: float, aspect: float) -> int:
    """How many columns go in a band: all of them when they fit ``wrap_width``; else the
    number whose bands fit a view of ``aspect`` at the largest scale (more columns on a tie).

    Only the most even split into each number of bands is tried (k = ceil(n / b) columns
    for b bands): about 2√n candidates, each measured in one pass, so that a long chain is
    laid out in time linear in practice rather than quadratic in its columns."""
    n = len(widths)
    if n == 0 or sum(widths) * column_spacing <= wrap_width:
        return max(n, 1)
    width_sums = np.concatenate(([0], np.cumsum(widths)))
    heights_array = np.asarray(heights)
    best, best_scale = n, 0.0
    for k in sorted({-(-n // b) for b in range(1, n + 1)}, reverse=True):
        starts = np.arange(0, n, k)
        ends = np.minimum(starts + k, n)
        width = (width_sums[ends] - width_sums[starts]).max() * column_spacing
        height = (np.maximum.reduceat(heights_array, starts).sum()
                  + BAND_GAP * (len(starts) - 1)) * row_spacing
        scale = min(aspect / width, 1.0 / height)
        if scale > best_scale * (1 + 1e-9):
            best, best_scale = k, scale
    return best


def extent(graph: Graph, group: Group | str) -> tuple[float, float]:
    """The room a group's members take from its corner when shown as ops: (width, height)
    to the far side of the farthest member's cell."""
    placed = [n.position for n in graph.members(group) if n.position is not None]
    if not placed:
        return BLOCK_SIZE
    x0, y0 = group_corner(graph, group)
    return (max(p[0] for p in placed) - x0 + COLUMN_SPACING,
            max(p[1] for p in placed) - y0 + ROW_SPACING)


def opening_moves(graph: Graph, group: Group | str) -> dict[str, Position]:
    """What moves when a collapsed block opens in place to its ops (which keep where they
    are): the units right of the block and below it, to make the room its ops take."""
    return room_moves(graph, group, BLOCK_SIZE, extent(graph, group))


def closing_moves(graph: Graph, group: Group | str) -> dict[str, Position]:
    """What moves when an opened group folds into one block: the units right of it and
    below it, back into the room it no longer takes (the inverse of :func:`opening_moves`)."""
    return room_moves(graph, group, extent(graph, group), BLOCK_SIZE)
