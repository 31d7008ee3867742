"""One small graph per op and shape case from the registry, for the export tests: inputs with a
batch dimension become input nodes, the others parameters, and the op's node is named "op"."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from bpstudio import Graph
from bpstudio.core.ops import REGISTRY

# Non-default parameters worth gradient-checking and exporting too, per op.
PARAM_VARIANTS: dict[str, list[dict[str, Any]]] = {
    "sum": [{"axis": 1, "keepdims": True}, {"axis": -1}, {"keepdims": True}],
    "mean": [{"axis": 1, "keepdims": True}, {"axis": 0}, {"keepdims": True}],
    "softmax": [{"axis": 0}],
    "leaky_relu": [{"alpha": 0.3}],
    "power": [{"exponent": 3.0}, {"exponent": 0.5}],
}


def sample(domain: str, shape: tuple[int, ...], rng: np.random.Generator,
           away_from_zero: bool = False) -> np.ndarray:
    """Values that make sense at a port of this domain. ``away_from_zero`` keeps real values
    off the kink of ReLU-like ops, which central differences would straddle."""
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "unit":
        return rng.uniform(0.1, 0.9, shape)
    if domain == "label":
        return rng.integers(0, 3, shape).astype(float)  # every labelled example has >= 3 classes
    if away_from_zero:
        return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return rng.normal(0.0, 1.0, shape)


def cases(ops: set[str]):
    """(op name, shapes, params, batch) for every example of every op in ``ops``."""
    for op in REGISTRY.values():
        if op.name not in ops:
            continue
        for shapes in op.examples:
            for params in [{}] + PARAM_VARIANTS.get(op.name, []):
                if op.name in ("sum", "mean") and params.get("axis") == 1 and len(shapes[0]) < 2:
                    continue
                for batch in (1, 4):
                    yield op.name, shapes, params, batch


def op_graph(op_name: str, shapes, params: dict, batch: int) -> tuple[Graph, dict[str, np.ndarray]]:
    op = REGISTRY[op_name]
    rng = np.random.default_rng(zlib.crc32(repr((op_name, shapes, params, batch)).encode()))
    g = Graph()
    feeds, operands = {}, []
    for port, symbolic in zip(op.inputs, shapes):
        concrete = tuple(batch if d == "N" else d for d in symbolic)
        data = sample(port.domain, concrete, rng)
        if "N" in symbolic:
            operands.append(g.input(port.name, symbolic[1:]))
            feeds[port.name] = data
        else:
            operands.append(g.parameter(port.name, value=data))
    g.apply(op_name, *operands, name="op", **params)
    return g, feeds
