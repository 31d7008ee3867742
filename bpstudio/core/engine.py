"""The engine: compile a graph into a plan, run it forward, then backward from a seed of 1.

The plan is the graph's nodes in topological order (only those the output depends on), each with
its op's forward and backward and the slots of its inputs. Forward fills one value per node and
keeps, in a :class:`~bpstudio.core.ops.Context` per node, what its backward will need. Backward
walks the plan in reverse: each node multiplies the gradient that reached it by its local
derivative and hands the products to its inputs, where contributions from every consumer add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .errors import FeedError, GraphError
from .graph import Graph, Node, NodeRef
from .ops import Context
from .shapes import format_shape


@dataclass(frozen=True)
class Step:
    node: Node
    source: str | None
    forward: Callable | None
    backward: Callable | None
    params: dict[str, Any]
    inputs: tuple[int, ...]           # plan slots of the input nodes, in port order
    needs_input_grad: tuple[bool, ...]


@dataclass(frozen=True)
class Plan:
    version: int
    steps: tuple[Step, ...]
    slot: dict[str, int]              # node id -> index into steps
    output: int


class Engine:
    """Runs a :class:`Graph`.

    ``output`` is the node whose value ``forward`` returns and where ``backward`` starts
    (by default the graph's only loss, or its only sink). ``gradients`` is "all" to give every
    node its gradient (what the app shows), or "parameters" to compute only what the optimiser
    needs (what training uses; it skips, e.g., the gradient of the data).
    """

    def __init__(self, graph: Graph, dtype: Any = np.float64, output: NodeRef | None = None,
                 gradients: str = "all"):
        if gradients not in ("all", "parameters"):
            raise ValueError("gradients must be 'all' or 'parameters'")
        self.graph = graph
        self.dtype = np.dtype(dtype)
        self._output_ref = output
        self._gradients = gradients
        self._plan: Plan | None = None
        self._params: dict[str, np.ndarray] = {}
        self._values: list[Any] = []
        self._contexts: list[Context | None] = []
        self._grads: list[np.ndarray | None] | None = None

    # ---------------------------------------------------------------------------- compiling
    @property
    def plan(self) -> Plan:
        """The compiled plan; recompiled only when the graph has changed since."""
        if self._plan is None or self._plan.version != self.graph.version:
            self._plan = self._compile()
            self._values, self._contexts, self._grads = [], [], None
        return self._plan

    def output_node(self) -> Node:
        g = self.graph
        if self._output_ref is not None:
            return g.node(self._output_ref)
        sinks = g.sinks()
        losses = [n for n in sinks if n.spec.is_loss]
        candidates = losses or sinks
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise GraphError("the graph is empty")
        names = ", ".join(f"'{n.name}'" for n in candidates)
        raise GraphError(f"the graph has several outputs ({names}): say which one to run")

    def _compile(self) -> Plan:
        g = self.graph
        out = self.output_node()
        order = g.topological_order([out])
        g.check([out])
        slot = {n.id: i for i, n in enumerate(order)}
        trainable = self._gradients == "all"
        leads_to_param = [False] * len(order)
        steps = []
        self._params = {}
        for i, n in enumerate(order):
            spec = n.spec
            inputs = tuple(slot[e.src] for e in g.input_edges(n))
            if spec.source == "parameter":
                leads_to_param[i] = True
                # Same dtype: the graph's own array, so optimiser updates land in the graph.
                self._params[n.name] = np.asarray(n.value, dtype=self.dtype)
            else:
                leads_to_param[i] = any(leads_to_param[j] for j in inputs)
            needs = tuple(port.differentiable and (trainable or leads_to_param[j])
                          for port, j in zip(spec.inputs, inputs))
            steps.append(Step(n, spec.source, None if spec.source else spec.forward,
                              None if spec.source else spec.backward,
                              dict(n.params), inputs, needs))
        return Plan(g.version, tuple(steps), slot, slot[out.id])

    # ------------------------------------------------------------------------------ running
    def forward(self, feeds: Mapping[str, Any] | None = None) -> np.ndarray:
        """Compute every node's value from ``feeds`` (input name -> array, batch first) and
        return the output's value."""
        plan = self.plan
        feeds = dict(feeds or {})
        values: list[Any] = [None] * len(plan.steps)
        contexts: list[Context | None] = [None] * len(plan.steps)
        batch: tuple[int, str] | None = None
        for i, step in enumerate(plan.steps):
            node = step.node
            if step.source == "input":
                values[i], batch = self._feed(node, feeds.pop(node.name, None), batch)
            elif step.source == "parameter":
                values[i] = self._params[node.name]
            elif step.source == "constant":
                values[i] = node.value.astype(self.dtype, copy=False)
            else:
                ctx = Context(step.needs_input_grad)
                try:
                    values[i] = step.forward(ctx, *[values[j] for j in step.inputs], **step.params)
                except (ValueError, ArithmeticError, IndexError) as exc:
                    raise GraphError(f"{node.label}: {exc}") from exc
                contexts[i] = ctx
        unused = [name for name in feeds if self.graph.find(name) is None]
        if unused:
            raise FeedError(f"feed '{unused[0]}' matches no input node")
        self._values, self._contexts, self._grads = values, contexts, None
        return values[plan.output]

    def _feed(self, node: Node, data: Any, batch: tuple[int, str] | None):
        expected = (None,) + tuple(node.params["shape"])
        shown = format_shape(("N",) + expected[1:])
        if data is None:
            raise FeedError(f"input '{node.name}' has no feed: give an array of shape {shown}")
        try:
            array = np.asarray(data, dtype=self.dtype)
        except (TypeError, ValueError):
            raise FeedError(f"input '{node.name}': the feed is not an array of numbers") from None
        if array.ndim != len(expected) or array.shape[1:] != expected[1:]:
            raise FeedError(f"input '{node.name}': expected shape {shown}, got "
                            f"{format_shape(array.shape)}")
        if batch is not None and array.shape[0] != batch[0]:
            raise FeedError(f"input '{node.name}' has a batch of {array.shape[0]} but input "
                            f"'{batch[1]}' has {batch[0]}")
        return array, batch or (array.shape[0], node.name)

    def backward(self) -> None:
        """Seed the output with 1 and give every node the gradient of the output with respect
        to its value, summed over every path. Calling it again recomputes the same gradients."""
        plan = self.plan
        if not self._values:
            raise GraphError("run forward before backward")
        steps, contexts = plan.steps, self._contexts
        grads: list[np.ndarray | None] = [None] * len(steps)
        owned = [False] * len(steps)  # grads[j] is an array of ours, safe to add into in place
        grads[plan.output] = np.ones_like(self._values[plan.output])
        for i in range(len(steps) - 1, -1, -1):
            grad = grads[i]
            ctx = contexts[i]
            if grad is None or ctx is None or not any(ctx.needs_input_grad):
                continue
            step = steps[i]
            for j, g in zip(step.inputs, step.backward(ctx, grad)):
                if g is None:
                    continue
                if grads[j] is None:
                    grads[j] = g  # may alias another gradient: copy before adding into it
                elif owned[j]:
                    grads[j] += g
                else:
                    grads[j] = grads[j] + g
                    owned[j] = True
        self._grads = grads

    # ------------------------------------------------------------------------------ reading
    def _slot(self, ref: NodeRef) -> int:
        node = self.graph.node(ref)
        try:
            return self.plan.slot[node.id]
        except KeyError:
            raise GraphError(f"{node.label} does not lead to the output "
                             f"'{self.output_node().name}'") from None

    def value(self, ref: NodeRef) -> np.ndarray:
        """A node's value from the last forward pass."""
        i = self._slot(ref)
        if not self._values:
            raise GraphError("run forward first")
        return self._values[i]

    def grad(self, ref: NodeRef) -> np.ndarray:
        """d output / d (node's value) from the last backward pass (zeros where nothing flowed)."""
        i = self._slot(ref)
        if self._grads is None:
            raise GraphError("run backward first")
        g = self._grads[i]
        return np.zeros_like(self._values[i]) if g is None else g

    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter name -> the array the engine computes with. In the graph's dtype (float64)
        these are the graph's own arrays, so updating them in place trains the graph; in another
        dtype they are copies: call :meth:`store_parameters` to write them back."""
        self.plan  # noqa: B018  (compiles when needed)
        return dict(self._params)

    def gradients(self) -> dict[str, np.ndarray]:
        """Parameter name -> its gradient from the last backward pass."""
        return {name: self.grad(name) for name in self._params}

    def store_parameters(self) -> None:
        """Copy the engine's parameter arrays back into the graph's nodes (in place)."""
        for name, array in self._params.items():
            node = self.graph.node(name)
            if node.value is not array:
                node.value[...] = array
