"""What both exporters (ONNX and NumPy code) share: their error, and which node an export
computes."""

from __future__ import annotations

from .. import rules
from ..errors import GraphError
from ..graph import Graph
from ..model import Node, NodeRef


# The stem of the names an export gives the standardisation it puts before the graph.
PREPROCESSING = "standardise"


def free_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``, ... : the first not in ``taken`` (which gets it)."""
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    taken.add(name)
    return name


class ExportError(GraphError):
    """A graph that cannot be exported; the message names the node at fault."""


def inference_output(graph: Graph, output: NodeRef | None = None) -> Node:
    """The node an export computes: ``output`` if given; otherwise, for a graph with one loss,
    the node that loss compares with its target; otherwise the graph's only sink."""
    if output is not None:
        return graph.node(output)
    try:
        end = graph.default_output()
    except GraphError as exc:
        raise ExportError(str(exc)) from None
    if not end.spec.is_loss:
        return end
    edge = graph.input_edges(end)[0]
    if edge is None:
        raise ExportError(f"{end.label}: its first input is not connected")
    return graph.nodes[edge.src]


def check_names(nodes: list[Node]) -> None:
    """Refuse a node whose name breaks the rules the editing API keeps (one changed behind its
    back): names become ONNX tensor names, weight file keys and words in generated code."""
    for node in nodes:
        problem = rules.name_problem(node.name)
        if problem is not None:
            raise ExportError(f"{node.op} node {node.id!r} cannot be exported: {problem}")
