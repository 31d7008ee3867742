"""Copy and paste of nodes: a selection becomes plain JSON (ops, names, parameters, values,
positions and the wires among the copied nodes), and JSON becomes one undoable paste macro.

The JSON travels through the system clipboard under its own MIME type. Pasted data is checked
like a file would be: anything malformed raises ValueError with a message, and nothing is added.
Anyone can put anything on a clipboard, so the checks bound the JSON's nesting, the size of
coordinates and what a value may hold; the scene (``GraphScene.push``) turns any other error
into a refusal too.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from PySide6.QtGui import QUndoCommand

from bpstudio.core import rules
from bpstudio.core.errors import GraphError, WiringError
from bpstudio.core.graph import Graph
from bpstudio.core.model import Edge
from bpstudio.core.ops import REGISTRY
from bpstudio.core.ops.base import shown

from . import commands, jsontext
from .commands import AddNodeCommand, ConnectCommand

MIME_TYPE = "application/x-bpstudio-nodes"
FORMAT = "bpstudio-nodes"


def copy_nodes(graph: Graph, node_ids: list[str]) -> str:
    """The JSON text for these nodes and the wires between them."""
    keep = [i for i in node_ids if i in graph.nodes]
    kept = set(keep)
    nodes = []
    for node_id in keep:
        n = graph.nodes[node_id]
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in n.params.items()}
        nodes.append({
            "id": n.id, "op": n.op, "name": n.name, "params": params,
            "value": None if n.value is None else n.value.tolist(),
            "position": None if n.position is None else [float(c) for c in n.position],
        })
    edges = [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
             for e in graph.edges if e.src in kept and e.dst in kept]
    return json.dumps({"format": FORMAT, "nodes": nodes, "edges": edges})


def paste_command(graph: Graph, text: str, offset: tuple[float, float] = (40.0, 40.0),
                  anchor: tuple[float, float] | None = None, verb: str = "Paste") -> QUndoCommand:
    """One macro that adds the copied nodes (names made unique) and their inner wires.

    Positions keep their arrangement, shifted by ``offset`` or, when ``anchor`` is given, so that
    the copied group's top-left corner lands there. Raises ValueError for malformed data.
    """
    data = _parse(text)
    nodes, edges = data["nodes"], data["edges"]
    positions = [tuple(n["position"]) for n in nodes if n.get("position") is not None]
    if anchor is not None and positions:
        left = min(p[0] for p in positions)
        top = min(p[1] for p in positions)
        offset = (anchor[0] - left, anchor[1] - top)

    macro = commands.macro_command(f"{verb} {len(nodes)} node" + ("s" if len(nodes) != 1 else ""))
    # The nodes and wires are built in a scratch graph first, so that the graph's own checks
    # refuse bad data here, before any command exists (a command that fails would stay on the
    # undo stack half done).
    scratch = Graph(seed=None)
    taken: set[str] = set()
    adds: dict[str, AddNodeCommand] = {}
    scratch_ids: dict[str, str] = {}  # the copied ids are only keys for the wires
    for n in nodes:
        name = _unique(graph, n["name"], taken)
        taken.add(name)
        pos = n.get("position")
        position = None if pos is None else (pos[0] + offset[0], pos[1] + offset[1])
        spec = REGISTRY[n["op"]]
        value = n.get("value")
        params = dict(n.get("params") or {})
        if spec.source == "parameter" and value is not None:
            params.pop("shape", None)  # the value carries the shape
        try:
            made = scratch.add_node(n["op"], name=name, params=params, value=value,
                                    position=position)
        except GraphError as exc:
            raise ValueError(f"pasted node {shown(n['name'])}: {exc}") from None
        scratch_ids[n["id"]] = made.id
        adds[n["id"]] = AddNodeCommand(graph, n["op"], name=name, params=params, value=value,
                                       position=position, parent=macro)
    for e in edges:
        if e["src"] not in adds or e["dst"] not in adds:
            raise ValueError("pasted wire refers to a node that was not copied")
    try:  # all the wires in one go: a long pasted chain costs no search per wire
        scratch.connect_all([Edge(scratch_ids[e["src"]], scratch_ids[e["dst"]], e["dst_port"],
                                  e["src_port"]) for e in edges])
    except WiringError as exc:
        raise ValueError(f"pasted wire: {exc}") from None
    for e in edges:
        ConnectCommand(graph, adds[e["src"]], adds[e["dst"]], e["dst_port"], e["src_port"],
                       parent=macro)
    return macro


def pasted_node_ids(macro: QUndoCommand) -> list[str]:
    """The ids of the nodes a paste macro created (valid after it has been pushed)."""
    return [macro.child(k).node_id for k in range(macro.childCount())
            if isinstance(macro.child(k), AddNodeCommand)]


def _unique(graph: Graph, base: str, taken: set[str]) -> str:
    """A name free in ``graph`` and not in ``taken``, no longer than a name may be (a long
    name loses characters from its end to make room for the suffix)."""
    name = graph.unique_name(base)
    k = 1
    stem = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name
    while name in taken or graph.find(name) is not None:
        name = rules.truncated_name(stem, f"_{k}")
        k += 1
    return name


# Canvas coordinates a pasted node may have: the canvas starts at +-100,000 (SCENE_EXTENT) and
# grows to hold its nodes, but anything far beyond is damage, which as an endless float or a 400-digit whole number would
# overflow when the paste offset is added.
MAX_COORDINATE = 1e7


def _parse(text: str) -> dict[str, Any]:
    try:
        data = jsontext.loads(text)
    except jsontext.NestingError as exc:
        raise ValueError(f"the copied data is {exc}") from None
    except (TypeError, ValueError):
        raise ValueError("the clipboard does not hold Backprop Studio nodes") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("the clipboard does not hold Backprop Studio nodes")
    nodes, edges = data.get("nodes"), data.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise ValueError("the copied nodes are incomplete (no node or wire list)")
    ids = set()
    for n in nodes:
        if not isinstance(n, dict) or not isinstance(n.get("id"), str) \
                or not isinstance(n.get("name"), str) or not isinstance(n.get("op"), str) \
                or n["op"] not in REGISTRY:
            raise ValueError("a copied node has no id, no name or an unknown op")
        if n["id"] in ids:
            raise ValueError(f"two copied nodes share the id {shown(n['id'])}")
        ids.add(n["id"])
        name = shown(n["name"])
        pos = n.get("position")
        if pos is not None and not (isinstance(pos, list) and len(pos) == 2
                                    and all(_is_coordinate(c) for c in pos)):
            raise ValueError(f"copied node {name} has a malformed position")
        if pos is not None:
            try:  # JSON integers may be beyond a float's range; the offset adds floats
                n["position"] = [float(c) for c in pos]
            except OverflowError:
                raise ValueError(f"copied node {name} has a position beyond any canvas") from None
        if n.get("params") is not None and not isinstance(n["params"], dict):
            raise ValueError(f"copied node {name} has malformed parameters")
        if n.get("value") is not None and not _is_array(n["value"]):
            raise ValueError(f"copied node {name} has a value that is not an array of numbers")
    for e in edges:
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str)
                                              for k in ("src", "dst", "src_port", "dst_port")):
            raise ValueError("a copied wire is malformed")
    return data


def _is_coordinate(c: Any) -> bool:
    return (isinstance(c, (int, float)) and not isinstance(c, bool)
            and abs(c) <= MAX_COORDINATE and math.isfinite(c))


def _is_array(value: Any) -> bool:
    """Whether a copied value is a number or a regular nest of lists of numbers. (NumPy would
    parse text such as "1.5", and a 400-digit whole number overflows a float.)"""
    try:
        kind = np.asarray(value).dtype.kind
    except (ValueError, OverflowError):  # ragged lists
        return False
    return kind in "iuf"
