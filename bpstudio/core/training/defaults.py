"""The training settings a graph starts with when its project names none (a new graph, an
imported model, a file written by a script): a data set whose features fit the graph's feature
input and whose targets fit its loss, so that Train works on the first press."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import BPStudioError
from ..graph import Graph
from . import datasets
from .trainer import FEATURES, TARGET, bind_inputs

DEFAULT_DATA = "moons"
# The order a data set is looked for in: the lessons' own first (moons for a plane), then the
# others of the same width.
PREFERENCE = ("moons", "xor", "circles", "spirals", "blobs", "sine", "polynomial", "iris",
              "digits")


@lru_cache(maxsize=None)
def _shape_of(name: str) -> tuple[int, str, bool]:
    """(features, task, whether the targets are only 0 and 1) of a named data set at its
    defaults (a small one for the generated sets: only its columns matter)."""
    options = {"n": 10} if name in datasets.GENERATORS else {}
    data = datasets.by_name(name, **options)
    binary = bool(np.isin(data.targets, (0.0, 1.0)).all())
    return int(data.features.shape[1]), data.task, binary


def suggested_data(graph: Graph) -> str:
    """The name of the data set a graph trains on by default: the first (in PREFERENCE) whose
    feature count is the feature input's width and whose task is the loss's (classes for a
    loss whose target is a label or a 0..1 value, numbers for one whose target is real);
    DEFAULT_DATA when the graph cannot tell (no loss yet, unbound inputs)."""
    return fitting_data(graph) or DEFAULT_DATA


def fitting_data(graph: Graph) -> str | None:
    """The data set :func:`suggested_data` picks when one fits the graph, else None."""
    try:
        loss = graph.default_output()
        inputs = [n for n in graph.topological_order([loss]) if n.spec.source == "input"]
        roles = bind_inputs(graph, inputs, loss, None)
        shapes, _problems = graph.infer_shapes()
    except BPStudioError:
        return None
    by_name = {n.name: n for n in inputs}
    features = [by_name[k] for k, role in roles.items() if role == FEATURES]
    targets = [by_name[k] for k, role in roles.items() if role == TARGET]
    if not features or not loss.spec.is_loss:
        return None
    shape = shapes.get(features[0].id)
    width = int(np.prod(shape[1:])) if shape is not None and len(shape) > 1 else 1
    target_port = next((e.dst_port for e in graph.edges
                        if targets and e.src == targets[0].id and e.dst == loss.id), None)
    domain = next((p.domain for p in loss.spec.inputs if p.name == target_port), None)
    if domain is None:  # the target reaches the loss through other ops: the loss's own port
        domain = loss.spec.inputs[-1].domain
    wanted = datasets.REGRESSION if domain == "real" else datasets.CLASSIFICATION
    for name in PREFERENCE:
        features_n, task, binary = _shape_of(name)
        if features_n == width and task == wanted and (domain != "unit" or binary):
            return name
    return None


def default_training(graph: Graph) -> dict[str, Any]:
    """The training settings (project-file form) for a graph whose project has none."""
    return {"data": {"source": suggested_data(graph)}}
