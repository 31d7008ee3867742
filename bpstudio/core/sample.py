"""A project's sample: a few rows of values for its input nodes, to run the graph forward and
backward on by hand (the lessons use one row).

The rows live on the input nodes themselves (``Node.value``, batch first), so that renaming,
deleting, pasting and undoing an input carry its sample with it. :func:`sample_feeds` reads them
as the feeds an :class:`~bpstudio.core.engine.Engine` takes; :func:`default_sample` draws rows
that make sense for a graph that has none (for files from before samples existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import FeedError
from .graph import MAX_SAMPLE_ROWS, Graph
from .model import NodeRef
from .shapes import BATCH


@dataclass(frozen=True, eq=False)
class SampleRows:
    """Rows to run a graph on by hand, and what they are, in words a page can print.

    ``label`` says which rows: "rows 1-8 of moons, training split", or for a graph without
    data, "8 sample rows drawn at random (the project has no training data)". ``indices`` are
    the rows' 0-based positions in the split (None for a sample); ``total`` is the split's row
    count (the sample's for a sample)."""

    feeds: dict[str, np.ndarray]
    label: str
    random: bool = False
    indices: tuple[int, ...] | None = None
    total: int = 0
    standardised: bool = False

    @property
    def description(self) -> str:
        """The label, and for real rows how they are fed: what a handout says of its rows."""
        return self.label + (", standardised as training sees them" if self.standardised else "")

    @property
    def count(self) -> int:
        return len(next(iter(self.feeds.values()))) if self.feeds else 0


def sample_rows(graph: Graph, output: NodeRef | None = None) -> SampleRows:
    """The graph's own sample rows (see :func:`runnable_sample`), said to be random where they
    are the default rows drawn for a graph without data, else the project's own."""
    feeds = runnable_sample(graph, output)
    n = len(next(iter(feeds.values()))) if feeds else 0
    drawn = default_sample(graph, rows=n) if n else {}
    random = bool(feeds) and all(name in drawn and np.array_equal(rows, drawn[name])
                                 for name, rows in feeds.items())
    plural = "s" if n != 1 else ""
    label = (f"{n} sample row{plural} drawn at random (the project has no training data)"
             if random else f"the project's {n} sample row{plural}")
    return SampleRows(feeds, label, random=random, total=n)


def sample_feeds(graph: Graph) -> dict[str, np.ndarray]:
    """Input node name -> its sample rows, for every input that has them."""
    return {n.name: n.value for n in graph.nodes_of("input") if n.value is not None}


def runnable_sample(graph: Graph, output: NodeRef | None = None) -> dict[str, np.ndarray]:
    """The sample rows of the inputs ``output`` (the graph's default one) needs, once the graph
    is known to run it: otherwise GraphError with the validation message, or FeedError naming
    an input without rows. What Forward, Backward and the gradient check run on."""
    end = graph.default_output() if output is None else graph.node(output)
    graph.check([end])
    feeds = {}
    for node in graph.topological_order([end]):
        if node.spec.source == "input":
            if node.value is None:
                raise FeedError(f"input '{node.name}' has no sample rows: select it and add "
                                "rows in the inspector")
            feeds[node.name] = node.value
    return feeds


def default_sample(graph: Graph, rows: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """Rows for every input, drawn to suit the port each one feeds: class indices where a loss
    takes labels (below the class count the graph's shapes imply), 0 or 1 for probabilities,
    positive numbers where only those make sense, else standard normal values."""
    rng = np.random.default_rng(seed)
    shapes, _problems = graph.infer_shapes()
    sample = {}
    for node in graph.nodes_of("input"):
        shape = (rows, *node.params["shape"])
        domain, classes = _consumer_domain(graph, node, shapes)
        if domain == "label":
            values = rng.integers(0, max(classes, 2), size=shape).astype(np.float64)
        elif domain == "unit":
            values = rng.integers(0, 2, size=shape).astype(np.float64)
        elif domain == "positive":
            values = rng.uniform(0.5, 2.0, size=shape)
        else:
            values = rng.normal(size=shape)
        sample[node.name] = np.round(values, 3)
    return sample


def _consumer_domain(graph: Graph, node: Any, shapes: dict[str, tuple]) -> tuple[str, int]:
    """The domain of the first input port ``node`` feeds, and for labels the class count (the
    last dimension of what the same op receives on its first port)."""
    for edge in graph.output_edges(node):
        consumer = graph.nodes[edge.dst]
        ports = {p.name: p for p in consumer.spec.inputs}
        port = ports.get(edge.dst_port)
        if port is None or port.domain == "real":
            continue
        classes = 2
        if port.domain == "label":
            first = graph.input_edges(consumer)[0]
            shape = shapes.get(first.src) if first is not None else None
            if shape and isinstance(shape[-1], int) and shape[-1] != BATCH:
                classes = shape[-1]
        return port.domain, classes
    return "real", 0


def fill_default_sample(graph: Graph, rows: int = 4, seed: int = 0) -> None:
    """Give every input without a sample the default rows (the graph's editing API is used, so
    listeners hear of it)."""
    drawn = default_sample(graph, rows, seed)
    for node in graph.nodes_of("input"):
        if node.value is None and node.name in drawn:
            graph.set_value(node, drawn[node.name])


__all__ = ["MAX_SAMPLE_ROWS", "SampleRows", "default_sample", "fill_default_sample",
           "runnable_sample", "sample_feeds", "sample_rows"]
