"""Per-layer figures of a training step: for each dense layer on the way to the loss, the
squared norm of dL/dz (the gradient at its pre-activation) and its health (the fraction of
ReLU units dead, or of sigmoid/tanh outputs saturated, on the step's batch). The gradient
norm of a layer's parameters needs no work here: the trainer's per-parameter squared norms
give it (see :class:`~bpstudio.core.training.history.Layers`).

Read from the engine's own arrays right after backward, before the next step reuses them.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import Engine
from ..graph import Graph
from ..layers import dense_layers, health_fraction
from .history import Layers


class LayerMeter:
    def __init__(self, graph: Graph, engine: Engine, parameter_names: tuple[str, ...]):
        trained = set(parameter_names)
        plan = engine.plan
        self._dense = [layer for layer in dense_layers(graph)
                       if all(p.name in trained for p in layer.parameters)
                       and layer.pre_activation.id in plan.slot
                       and layer.output.id in plan.slot]
        self.layers = Layers(parameter_names, {layer.name: tuple(p.name for p in layer.parameters)
                                               for layer in self._dense})
        self.engine = engine
        # What measure reads, for an engine that writes over what no one reads (Engine.keep):
        # the layers' outputs and the gradients at their pre-activations.
        self.read_values = tuple(layer.output.id for layer in self._dense)
        self.read_gradients = tuple(layer.pre_activation.id for layer in self._dense)
        self._plan = None
        self._slots: list[tuple[int, int, str | None]] = []

    def measure(self) -> np.ndarray:
        """Rows: |dL/dz|^2 per layer, and its health fraction (NaN where the activation has
        none to report), from the engine's last forward and backward."""
        engine = self.engine
        plan = engine.plan
        if plan is not self._plan:  # (slots are looked up once per plan, not every step)
            self._plan = plan
            self._slots = [(plan.slot[layer.pre_activation.id], plan.slot[layer.output.id],
                            layer.activation if layer.health_kind else None)
                           for layer in self._dense]
        figures = np.empty((2, len(self._slots)))
        for k, (z, out, activation) in enumerate(self._slots):
            g = engine.grad_at(z)
            figures[0, k] = np.vdot(g, g)
            figures[1, k] = math.nan if activation is None else \
                health_fraction(activation, engine.value_at(out))
        return figures
