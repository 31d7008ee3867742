"""What both exporters (ONNX and NumPy code) share: their error, and which node an export
computes."""

from __future__ import annotations

from ..errors import GraphError
from ..graph import Graph
from ..model import Node, NodeRef


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
