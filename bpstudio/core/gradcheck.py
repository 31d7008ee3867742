"""Gradient check: backprop's gradients against brute-force nudging (central differences).

Nudging every element of every parameter up and down by ``eps`` and re-running the forward pass
costs two passes per element; backprop gets all of them from one backward sweep. The two should
agree to about 1e-7 in float64: a larger gap means a wrong gradient rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from .engine import Engine
from .graph import Graph, NodeRef

# Gradients smaller than this are compared absolutely: their relative error is only noise.
SMALL_GRADIENT = 1e-4


@dataclass
class GradientComparison:
    name: str
    backprop: np.ndarray
    numerical: np.ndarray

    @property
    def relative_error(self) -> np.ndarray:
        """|backprop - numerical| / max(|backprop|, |numerical|, SMALL_GRADIENT), elementwise."""
        scale = np.maximum(np.maximum(np.abs(self.backprop), np.abs(self.numerical)), SMALL_GRADIENT)
        return np.abs(self.backprop - self.numerical) / scale

    @property
    def max_relative_error(self) -> float:
        err = self.relative_error
        return float(err.max()) if err.size else 0.0


def compare_gradients(graph: Graph, feeds: Mapping[str, Any] | None = None, eps: float = 1e-5,
                      output: NodeRef | None = None,
                      inputs: Iterable[str] = ()) -> list[GradientComparison]:
    """Backprop and central-difference gradients for every parameter (and the named inputs).
    The output is reduced by summing when it is not a scalar."""
    feeds = {k: np.array(v, dtype=np.float64) for k, v in (feeds or {}).items()}
    engine = Engine(graph, np.float64, output=output)

    def objective() -> float:
        return float(np.sum(engine.forward(feeds)))

    objective()
    engine.backward()
    targets = dict(engine.parameters())
    for name in inputs:
        targets[name] = feeds[name]
    analytic_grads = {name: engine.grad(name).copy() for name in targets}
    results = []
    for name, array in targets.items():
        numerical = np.zeros_like(array)
        flat, out = array.reshape(-1), numerical.reshape(-1)
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            up = objective()
            flat[k] = original - eps
            down = objective()
            flat[k] = original  # exactly restored: the graph's weights are untouched
            out[k] = (up - down) / (2 * eps)
        results.append(GradientComparison(name, analytic_grads[name], numerical))
    objective()  # leave the engine's values as they were before nudging
    return results


def gradcheck(graph: Graph, feeds: Mapping[str, Any] | None = None, eps: float = 1e-5,
              output: NodeRef | None = None, inputs: Iterable[str] = ()) -> dict[str, float]:
    """Per parameter (and named input): the maximum relative error between the backprop
    gradient and the central-difference estimate."""
    return {c.name: c.max_relative_error
            for c in compare_gradients(graph, feeds, eps, output, inputs)}
