"""A graph drawn as SVG, as the canvas draws it, with no Qt and no graphviz: for notebooks
(``Graph``, ``Project`` and ``Engine`` have ``_repr_svg_``, which Jupyter shows) and handouts.

Nodes are cards at their canvas positions (or, for a graph never laid out, where
:func:`~bpstudio.core.layout.layered_positions` puts them), coloured by op group, with the
node's name and op; after a pass each card carries its value (``= ...``) and, after a backward
pass, its gradient (``∇ ...``), and every wire is shaded by the root mean square of the
gradient it carries back, on the canvas's log scale (six decades below the largest).
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .errors import GraphError
from .layout import layered_positions
from .number_text import card_text

if TYPE_CHECKING:  # (not imported when running: the graph and the engine draw with this module)
    from .engine import Engine
    from .graph import Graph

# The canvas's sizes and colours (gui/canvas/theme.py), as SVG needs them.
NODE_WIDTH = 170.0
HEADER = 38.0
PORT_SPACING = 22.0
PADDING = 10.0
FOOTER = 20.0
LINE = 16.0
RADIUS = 8.0
MARGIN = 30.0
BACKGROUND = "#1d1f24"
BODY = "#2b2e35"
BORDER = "#15171b"
TITLE_TEXT = "#f4f5f7"
SUBTITLE_TEXT = "#d6dae2"
DIM_TEXT = "#8a909c"
VALUE_TEXT = "#9fd3a8"
GRAD_TEXT = "#f0a35e"
WIRE = "#8f98a8"
GRADIENT_LOW = (0x3a, 0x6e, 0xa5)
GRADIENT_HIGH = (0xff, 0x6b, 0x3d)
GROUP_COLOURS = {"Sources": "#3f8f5f", "Arithmetic": "#3a6ea5", "Activations": "#b0742c",
                 "Losses": "#a8434f"}
FALLBACK_GROUP = "#6b6f7a"
DECADES = 6.0

Arrays = Mapping[str, Any]


def wire_colour(rms: float | None, top: float) -> str:
    """The canvas's colour for a wire carrying a gradient of root mean square ``rms``."""
    if rms is None or not math.isfinite(rms):
        return WIRE
    t = 1.0 + math.log10(max(rms, 1e-12) / max(top, 1e-12)) / DECADES
    t = min(max(t, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(GRADIENT_LOW, GRADIENT_HIGH))
    return f"#{r:02x}{g:02x}{b:02x}"


def _by_id(graph: "Graph", arrays: Arrays | None) -> dict[str, np.ndarray]:
    """Node id -> array, from a mapping keyed by node id or name."""
    found = {}
    for ref, array in (arrays or {}).items():
        node = graph.nodes.get(ref) or graph.find(ref)
        if node is not None and array is not None:
            found[node.id] = np.asarray(array)
    return found


def render_svg(graph: "Graph", values: Arrays | None = None, grads: Arrays | None = None,
               wire_grads: Mapping[tuple[str, str], Any] | None = None) -> str:
    """The graph as an SVG document. ``values`` and ``grads`` map node ids or names to arrays
    (a card shows them); ``wire_grads`` maps (consumer id, input port) to the gradient the wire
    into that port carries back (an array or its rms), which shades the wire. Without
    ``wire_grads`` a wire from a node feeding one port carries that node's gradient."""
    values, grads = _by_id(graph, values), _by_id(graph, grads)
    stored = [n.position for n in graph.nodes.values()]
    if all(p is not None for p in stored):
        positions = {n.id: (float(n.position[0]), float(n.position[1]))
                     for n in graph.nodes.values()}
    else:
        positions = layered_positions(graph) if graph.nodes else {}
    heights = {n.id: _height(n, n.id in values, n.id in grads) for n in graph.nodes.values()}

    carried: dict[tuple[str, str], float] = {}
    for edge in graph.edges:
        key = (edge.dst, edge.dst_port)
        if wire_grads is not None:
            part = wire_grads.get(key)
        elif edge.src in grads and len(graph.output_edges(edge.src)) == 1:
            part = grads[edge.src]
        else:
            part = None
        if part is not None:
            a = np.asarray(part, dtype=np.float64)
            carried[key] = float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0
    finite = [v for v in carried.values() if math.isfinite(v)]
    top = max(finite, default=1.0)

    if positions:
        xs = [p[0] for p in positions.values()]
        ys = [p[1] for p in positions.values()]
        left, topmost = min(xs) - MARGIN, min(ys) - MARGIN
        width = max(xs) + NODE_WIDTH + MARGIN - left
        height = max(positions[i][1] + heights[i] for i in positions) + MARGIN - topmost
    else:
        left, topmost, width, height = 0.0, 0.0, 2 * MARGIN, 2 * MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:g} {topmost:g} {width:g} '
           f'{height:g}" width="{width:g}" height="{height:g}" font-family="sans-serif">',
           f'<rect x="{left:g}" y="{topmost:g}" width="{width:g}" height="{height:g}" '
           f'fill="{BACKGROUND}"/>']

    for edge in graph.edges:
        sx, sy = positions[edge.src]
        dst = graph.nodes[edge.dst]
        dx, dy = positions[edge.dst]
        x1, y1 = sx + NODE_WIDTH, sy + heights[edge.src] / 2
        k = dst.spec.input_names().index(edge.dst_port)
        x2, y2 = dx, dy + HEADER + PORT_SPACING * k + PORT_SPACING / 2
        bend = max(40.0, abs(x2 - x1) / 2)
        rms = carried.get((edge.dst, edge.dst_port))
        tip = (f"{graph.nodes[edge.src].name} → {dst.name}.{edge.dst_port}"
               + ("" if rms is None else f": gradient carried back, rms {rms:.4g}"))
        out.append(f'<path class="wire" d="M{x1:g},{y1:g} C{x1 + bend:g},{y1:g} '
                   f'{x2 - bend:g},{y2:g} {x2:g},{y2:g}" fill="none" '
                   f'stroke="{wire_colour(rms, top)}" stroke-width="2.2"'
                   + ("" if rms is None else f' data-gradient-rms="{rms:.6g}"')
                   + f'><title>{escape(tip)}</title></path>')

    for node in graph.nodes.values():
        x, y = positions[node.id]
        h = heights[node.id]
        colour = GROUP_COLOURS.get(node.spec.group, FALLBACK_GROUP)
        e = escape
        out.append(f'<g class="node" id="node-{e(node.id)}" data-name="{e(node.name)}" '
                   f'data-op="{e(node.op)}">')
        out.append(f'<rect x="{x:g}" y="{y:g}" width="{NODE_WIDTH:g}" height="{h:g}" '
                   f'rx="{RADIUS:g}" fill="{BODY}" stroke="{BORDER}"/>')
        out.append(f'<path d="M{x:g},{y + HEADER:g} v{-HEADER + RADIUS:g} '
                   f'a{RADIUS:g},{RADIUS:g} 0 0 1 {RADIUS:g},{-RADIUS:g} '
                   f'h{NODE_WIDTH - 2 * RADIUS:g} a{RADIUS:g},{RADIUS:g} 0 0 1 {RADIUS:g},'
                   f'{RADIUS:g} v{HEADER - RADIUS:g} z" fill="{colour}"/>')
        out.append(f'<text x="{x + 10:g}" y="{y + 17:g}" font-size="13" font-weight="bold" '
                   f'fill="{TITLE_TEXT}">{e(node.name)}</text>')
        out.append(f'<text x="{x + 10:g}" y="{y + 32:g}" font-size="11" '
                   f'fill="{SUBTITLE_TEXT}">{e(node.spec.title)}</text>')
        for k, port in enumerate(node.spec.input_names()):
            py = y + HEADER + PORT_SPACING * k + PORT_SPACING / 2
            out.append(f'<circle cx="{x:g}" cy="{py:g}" r="5.5" fill="#dfe4ec" '
                       f'stroke="{BORDER}"/>')
            out.append(f'<text x="{x + 12:g}" y="{py + 4:g}" font-size="11" '
                       f'fill="{DIM_TEXT}">{e(port)}</text>')
        out.append(f'<circle cx="{x + NODE_WIDTH:g}" cy="{y + h / 2:g}" r="5.5" '
                   f'fill="#dfe4ec" stroke="{BORDER}"/>')
        line_y = y + HEADER + PORT_SPACING * len(node.spec.inputs) + PADDING + 6
        if node.id in values or node.id in grads:  # long lines end at the card's edge
            out.append(f'<clipPath id="clip-{e(node.id)}"><rect x="{x + 4:g}" y="{y:g}" '
                       f'width="{NODE_WIDTH - 12:g}" height="{h:g}"/></clipPath>')
        for kind, arrays, prefix, fill in (("value", values, "= ", VALUE_TEXT),
                                           ("gradient", grads, "∇ ", GRAD_TEXT)):
            if node.id in arrays:
                text = e(prefix + card_text(arrays[node.id]))
                out.append(f'<text class="{kind}" x="{x + 10:g}" y="{line_y + 6:g}" '
                           f'font-size="11" font-family="monospace" fill="{fill}" '
                           f'clip-path="url(#clip-{e(node.id)})">{text}<title>{text}</title>'
                           '</text>')
                line_y += LINE
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _height(node: Any, has_value: bool, has_grad: bool) -> float:
    ports = len(node.spec.inputs)
    return HEADER + PORT_SPACING * ports + PADDING + FOOTER + LINE * (has_value + has_grad) \
        - (PADDING if not ports else 0.0)


def engine_svg(engine: "Engine") -> str:
    """The engine's graph after its last pass: the values of the nodes it ran, their gradients
    after a backward pass, and each wire shaded by the gradient it carried (exactly, when
    backward recorded its contributions)."""
    graph = engine.graph
    values: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray] = {}
    wires = None
    try:
        steps = engine.plan.steps
    except GraphError:  # a graph the engine cannot run: drawn without numbers
        steps = ()
    # Each read on its own: before forward or backward nothing is there, and an engine for
    # the optimiser has written over some intermediate values and gradients (see Engine.keep).
    for step in steps:
        for shown, read in ((values, engine.value), (grads, engine.grad)):
            try:
                shown[step.node.id] = read(step.node.id)
            except GraphError:
                pass
    try:
        wires = dict(engine.contributions())
    except GraphError:  # not recorded by the last backward
        pass
    return render_svg(graph, values, grads, wires)


__all__ = ["engine_svg", "render_svg", "wire_colour"]
