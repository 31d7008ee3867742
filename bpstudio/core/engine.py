"""The engine: compile a graph into a plan, run it forward, then backward from a seed of 1.

The plan is the graph's nodes in topological order (only those the output depends on), each with
its op's forward and backward and the slots of its inputs. Forward fills one value per node and
keeps, in a :class:`~bpstudio.core.ops.Context` per node, what its backward will need. Backward
walks the plan in reverse: each node multiplies the gradient that reached it by its local
derivative and hands the products to its inputs, where contributions from every consumer add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .errors import FeedError, GraphError
from .graph import Graph, Node, NodeRef
from .ops import Context
from .shapes import format_shape
from .svg import engine_svg


@dataclass(frozen=True)
class Step:
    slot: int                         # where this node's value and gradient live
    node: Node
    source: str | None                # "input", "parameter", "constant", or None for ops
    forward: Callable | None
    backward: Callable | None
    params: dict[str, Any]
    inputs: tuple[int, ...]           # slots of the input nodes, in port order
    context: Context | None           # lives as long as the plan (see Context.buffer)


@dataclass(frozen=True)
class Plan:
    version: int
    steps: tuple[Step, ...]           # topological order
    slot: dict[str, int]              # node id -> slot
    output: int
    sources: tuple[Step, ...] = ()    # the steps that read a feed, a parameter or a constant
    ops: tuple[Step, ...] = ()        # the steps that compute, in topological order
    feeds: tuple[Step, ...] = ()      # the input steps
    constants: tuple[Step, ...] = ()  # the constant steps
    # The ops that hand a gradient to at least one input, output side first (backward's order)
    backward_ops: tuple[Step, ...] = ()
    # What the passes call, per op, unpacked once per compile (a pass then reads no step's
    # fields): forward (slot, forward, context, input slots, params or None), backward
    # (slot, backward, context, input slots).
    forward_calls: tuple[tuple, ...] = ()
    backward_calls: tuple[tuple, ...] = ()

    def __post_init__(self) -> None:
        # Split once per compile, so the per-step loops never test a step's kind.
        set_ = object.__setattr__
        set_(self, "sources", tuple(s for s in self.steps if s.source))
        set_(self, "ops", tuple(s for s in self.steps if not s.source))
        set_(self, "feeds", tuple(s for s in self.steps if s.source == "input"))
        set_(self, "constants", tuple(s for s in self.steps if s.source == "constant"))
        set_(self, "backward_ops", tuple(s for s in reversed(self.ops)
                                         if any(s.context.needs_input_grad)))
        set_(self, "forward_calls", tuple((s.slot, s.forward, s.context, s.inputs, s.params or None)
                                          for s in self.ops))
        set_(self, "backward_calls", tuple((s.slot, s.backward, s.context, s.inputs)
                                           for s in self.backward_ops))


# The dtypes an engine computes in. The ops' arithmetic (means, divisions, logarithms, the
# constants of their derivatives) only means something in floating point; float16 loses too
# much to train, and integers would truncate every result.
DTYPES = (np.float32, np.float64)
# What a feed may hold before it is converted to the engine's dtype: booleans, integers and
# floats. Text ("1.5"), objects and complex numbers are refused instead of being parsed or
# silently cut to their real part.
_NUMBER_KINDS = "biuf"
_HELD = {"U": "text", "S": "bytes", "c": "complex numbers"}


def _batch_shape(sample_shape: tuple) -> str:
    """``(N, 3)``: formatted only for a message (a feed of every step is checked)."""
    return format_shape(("N",) + tuple(sample_shape))


class Engine:
    """Runs a :class:`Graph`.

    ``output`` is the node whose value ``forward`` returns and where ``backward`` starts
    (by default the graph's only loss, or its only sink). ``dtype`` is float64 (the default)
    or float32. ``gradients`` is "all" to give every node its gradient (what the app shows),
    or "parameters" to compute only what the optimiser needs (what training uses; it skips,
    e.g., the gradient of the data).

    An engine for the optimiser also computes in place where nothing reads the array again:
    a bias is added in its product's array, a ReLU or tanh written over its input, a ReLU's
    gradient masked in the array handed back to it. Those intermediate values and gradients
    are then gone, and reading one raises; :meth:`keep` names the ones a caller reads. The
    output's value, the parameters' gradients and the sources' values are always kept.
    """

    def __init__(self, graph: Graph, dtype: Any = np.float64, output: NodeRef | None = None,
                 gradients: str = "all"):
        if gradients not in ("all", "parameters"):
            raise GraphError(f"gradients must be 'all' or 'parameters', not {gradients!r}")
        try:
            chosen = np.dtype(dtype)
        except (TypeError, ValueError):
            chosen = None
        if chosen is None or chosen.type not in DTYPES:
            given = repr(dtype) if chosen is None else chosen.name
            raise GraphError(f"an engine computes in float32 or float64, not {given}")
        self.graph = graph
        self.dtype = chosen
        self._output_ref = output
        self._gradients = gradients
        self._plan: Plan | None = None
        self._params: dict[str, np.ndarray] = {}
        self._param_slots: dict[str, int] = {}
        self._values: list[Any] = []
        self._parameter_values: list[Any] = []  # (see _compile)
        self._feed_names: frozenset[str] = frozenset()
        # input name -> (array, its shape, its dtype) that the input took in the last pass
        # unconverted, after every check of _feed (see forward)
        self._taken_feeds: dict[str, tuple] = {}
        self._grads: list[np.ndarray | None] | None = None
        self._contributions: dict[tuple[str, str], np.ndarray] | None = None
        # place_gradients: parameter name -> caller's array, and per slot [slot, array,
        # whether to try having the op write there], rebuilt for each plan
        self._grad_targets: dict[str, np.ndarray] = {}
        self._placed: list[list] | None = None
        # Node ids whose value or gradient the caller reads (see keep), and the slots of the
        # current plan whose value or gradient an op writes over, which cannot be read.
        self._kept_values: frozenset[str] = frozenset()
        self._kept_grads: frozenset[str] = frozenset()
        self._dropped_values: frozenset[int] = frozenset()
        self._dropped_grads: frozenset[int] = frozenset()

    # ---------------------------------------------------------------------------- compiling
    @property
    def plan(self) -> Plan:
        """The compiled plan; recompiled only when the graph has changed since."""
        if self._plan is None or self._plan.version != self.graph.version:
            self._plan = self._compile()
            self._values, self._grads = [], None
            self._placed = None
            self._taken_feeds = {}
        return self._plan

    def output_node(self) -> Node:
        if self._output_ref is not None:
            return self.graph.node(self._output_ref)
        return self.graph.default_output()

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
        self._param_slots = {}
        for i, n in enumerate(order):
            spec = n.spec
            inputs = tuple(slot[e.src] for e in g.input_edges(n))
            if spec.source == "parameter":
                leads_to_param[i] = True
                # Same dtype: the graph's own array, so optimiser updates land in the graph.
                self._params[n.name] = np.asarray(n.value, dtype=self.dtype)
                self._param_slots[n.name] = i
            else:
                leads_to_param[i] = any(leads_to_param[j] for j in inputs)
            if spec.source:
                steps.append(Step(i, n, spec.source, None, None, {}, (), None))
                continue
            needs = tuple(port.differentiable and (trainable or leads_to_param[j])
                          for port, j in zip(spec.inputs, inputs))
            steps.append(Step(i, n, None, spec.forward, spec.backward, dict(n.params), inputs,
                              Context(needs)))
        if not trainable:
            self._allow_in_place(steps)
        else:
            self._dropped_values = self._dropped_grads = frozenset()
        # What every forward starts from: the parameters' arrays in their slots, the rest
        # filled in by the pass; and the names a feed may have.
        self._parameter_values = [None] * len(steps)
        for name, i in self._param_slots.items():
            self._parameter_values[i] = self._params[name]
        self._feed_names = frozenset(s.node.name for s in steps if s.source == "input")
        return Plan(g.version, tuple(steps), slot, slot[out.id])

    def _allow_in_place(self, steps: list[Step]) -> None:
        """Let an op write over an array where no one reads it again: its input's value, when
        that input feeds it alone, is an op's own array (not a view of another, not a feed or
        a parameter) that no backward reads and the caller does not keep; the gradient it got,
        when its value feeds one op, which handed back an array of its own, and the caller
        does not keep this node's gradient. What is written over is recorded, so that reading
        it raises instead of giving wrong numbers."""
        consumers: list[list[int]] = [[] for _ in steps]
        for step in steps:
            for j in step.inputs:
                consumers[j].append(step.slot)  # (once per wire: add(x, x) counts twice)
        values, grads = set(), set()
        for step in steps:
            if step.source:
                continue
            spec = step.node.spec
            if spec.writes_over_input and step.inputs:
                first = steps[step.inputs[0]].node
                if (first.spec.source is None and first.spec.own_value
                        and len(consumers[step.inputs[0]]) == 1
                        and first.id not in self._kept_values):
                    step.context.overwrite_input = True
                    values.add(step.inputs[0])
            users = consumers[step.slot]
            if (spec.writes_over_grad and len(users) == 1
                    and steps[users[0]].node.spec.hands_back_own
                    and step.node.id not in self._kept_grads):
                step.context.overwrite_grad = True
                grads.add(step.slot)
        self._dropped_values, self._dropped_grads = frozenset(values), frozenset(grads)

    def keep(self, values: Iterable[NodeRef] = (), gradients: Iterable[NodeRef] = ()) -> None:
        """Keep the values of the nodes ``values`` and the gradients of the nodes
        ``gradients`` readable after each pass, in an engine for the optimiser (which
        otherwise writes over those no later op reads). Replaces what was kept before; takes
        effect from the next pass (the plan is compiled anew)."""
        kept_values = frozenset(self.graph.node(ref).id for ref in values)
        kept_grads = frozenset(self.graph.node(ref).id for ref in gradients)
        if (kept_values, kept_grads) != (self._kept_values, self._kept_grads):
            self._kept_values, self._kept_grads = kept_values, kept_grads
            self._plan = None

    # ------------------------------------------------------------------------------ running
    def forward(self, feeds: Mapping[str, Any] | None = None) -> np.ndarray:
        """Compute every node's value from ``feeds`` (input name -> array, batch first) and
        return (a copy of) the output's value.

        Values read with :meth:`value` stay valid until the next forward: the engine reuses
        its arrays from step to step, so copy what you keep."""
        plan = self.plan
        feeds = feeds or {}
        values: list[Any] = self._parameter_values.copy()  # (the parameters in their slots)
        batch: tuple[int, str] | None = None
        taken = self._taken_feeds
        for step in plan.feeds:
            name = step.node.name
            data = feeds.get(name)
            last = taken.get(name)
            # The array this input took as it was in the last pass, same shape and dtype: the
            # checks it passed read only those, not its numbers (a training loop feeds the
            # same arrays step after step). The batch must still agree with the other feeds.
            if (last is not None and data is last[0] and data.shape == last[1]
                    and data.dtype == last[2] and (batch is None or data.shape[0] == batch[0])):
                values[step.slot] = data
                batch = batch or (data.shape[0], name)
                continue
            values[step.slot], batch = self._feed(step.node, data, batch)
            if values[step.slot] is data:
                taken[name] = (data, data.shape, data.dtype)
            else:
                taken.pop(name, None)
        if len(feeds) > len(plan.feeds):  # (each input has taken its own feed by now)
            for name in feeds:  # feeds for inputs this output does not need are fine
                if name not in self._feed_names:
                    self._check_unused_feed(name)
        for step in plan.constants:
            values[step.slot] = step.node.value.astype(self.dtype, copy=False)
        at = values.__getitem__
        try:
            for slot, forward, context, inputs, params in plan.forward_calls:
                if params is None:
                    values[slot] = forward(context, *map(at, inputs))
                else:
                    values[slot] = forward(context, *map(at, inputs), **params)
        except (ValueError, ArithmeticError, IndexError) as exc:
            raise GraphError(f"{plan.steps[slot].node.label}: {exc}") from exc
        self._values, self._grads, self._contributions = values, None, None
        return values[plan.output].copy()

    def _check_unused_feed(self, name: Any) -> None:
        """A feed left over once every input of the plan took its own: it may be for an input
        this output does not need, but a typo, a parameter or an op node would be ignored
        while the caller believes it took effect."""
        node = self.graph.find(name) if isinstance(name, str) else None
        if node is None:
            raise FeedError(f"feed '{name}' matches no input node")
        if node.spec.source != "input":
            what = ("holds its own value" if node.spec.source in ("parameter", "constant")
                    else "computes its value")
            raise FeedError(f"feed '{name}' names {node.label}, which {what}: only input nodes "
                            "take feeds")

    def _feed(self, node: Node, data: Any, batch: tuple[int, str] | None):
        sample_shape = node.params["shape"]
        if data is None:
            raise FeedError(f"input '{node.name}' has no feed: give an array of shape "
                            f"{_batch_shape(sample_shape)}")
        try:
            raw = np.asarray(data)
        except (TypeError, ValueError, OverflowError):
            raise FeedError(f"input '{node.name}': the feed is not an array of numbers") from None
        if raw.dtype.kind not in _NUMBER_KINDS:
            held = _HELD.get(raw.dtype.kind, "values that are not numbers")
            raise FeedError(f"input '{node.name}': the feed holds {held}; give numbers")
        array = raw.astype(self.dtype, copy=False)
        if array.ndim != len(sample_shape) + 1 or array.shape[1:] != tuple(sample_shape):
            raise FeedError(f"input '{node.name}': expected shape {_batch_shape(sample_shape)}, "
                            f"got {format_shape(array.shape)}")
        if array.shape[0] == 0:
            # Every loss averages over the batch: an empty one has no mean (NaN forward, a
            # division by zero backward).
            raise FeedError(f"input '{node.name}': the feed has 0 rows; a batch needs at least "
                            "one sample")
        if batch is not None and array.shape[0] != batch[0]:
            raise FeedError(f"input '{node.name}' has a batch of {array.shape[0]} but input "
                            f"'{batch[1]}' has {batch[0]}")
        return array, batch or (array.shape[0], node.name)

    def backward(self, record_contributions: bool = False) -> None:
        """Seed the output with 1 and give every node the gradient of the output with respect
        to its value, summed over every path. Calling it again recomputes the same gradients.
        Like values, gradients stay valid until the next backward.

        With ``record_contributions``, what each op hands to each of its inputs is kept too
        (copied: see :meth:`contributions`), so that a view can show the gradient each wire
        carries, and the parts that a fanned-out value sums."""
        plan = self.plan
        if not self._values:
            raise GraphError("run forward before backward")
        grads: list[np.ndarray | None] = [None] * len(plan.steps)
        owned = [False] * len(plan.steps)  # grads[j] is an array of ours, safe to add into
        out = self._values[plan.output]
        seed = grads[plan.output] = np.empty(out.shape, out.dtype)
        seed.fill(1)  # (ones_like, without its Python-level steps)
        recorded: dict[tuple[str, str], np.ndarray] | None = {} if record_contributions else None
        for slot, backward, context, inputs in plan.backward_calls:
            grad = grads[slot]
            if grad is None:
                continue
            handed = backward(context, grad)
            if recorded is not None:
                self._record(plan.steps[slot].node, handed, recorded)
            for j, g in zip(inputs, handed):
                if g is None:
                    continue
                if grads[j] is None:
                    grads[j] = g  # may be another node's array: copy before adding into it
                elif owned[j]:
                    grads[j] += g
                else:
                    grads[j] = grads[j] + g
                    owned[j] = True
        if self._grad_targets:
            self._deliver(grads)
        self._grads = grads
        self._contributions = recorded

    def _record(self, node: Node, handed: tuple, recorded: dict) -> None:
        """Keep a copy of what ``node``'s backward handed to each of its inputs."""
        for port, g in zip(node.spec.inputs, handed):
            if g is not None:
                recorded[(node.id, port.name)] = np.array(g, dtype=self.dtype, copy=True)

    def contributions(self) -> Mapping[tuple[str, str], np.ndarray]:
        """After ``backward(record_contributions=True)``: (node id, input port) -> the gradient
        that node handed back through that port (the gradient its wire carries). The
        gradient of a value is the sum of the contributions on its outgoing wires. A read-only
        view, valid until the next pass (a view rather than a copy: a caller asks per wire)."""
        if self._contributions is None:
            raise GraphError("run backward(record_contributions=True) first")
        return MappingProxyType(self._contributions)

    def place_gradients(self, targets: Mapping[str, np.ndarray]) -> None:
        """From the next backward on, deliver each named parameter's gradient in the given
        array (the parameter's shape, the engine's dtype), which :meth:`gradients` and
        :meth:`grad` then return: a caller that keeps gradients in arrays of its own (an
        optimiser's packed vector) need not copy them every step. Where the op that computes
        a gradient writes it into a reused array (see ``Context.buffer``), it is asked once to
        write into the target instead, so it arrives there with no copy at all; other
        gradients are copied in. An empty mapping stops the delivery."""
        params = self.parameters()
        for name, array in targets.items():
            if name not in params:
                raise GraphError(f"'{name}' is not a parameter the output depends on")
            if array.shape != self._params[name].shape or array.dtype != self.dtype:
                raise ValueError(f"the array for the gradient of '{name}' must have shape "
                                 f"{self._params[name].shape} and dtype {self.dtype}")
        self._grad_targets = dict(targets)
        self._placed = None

    def _deliver(self, grads: list[np.ndarray | None]) -> None:
        if self._placed is None:
            self._placed = [[self._param_slots[name], array, True]
                            for name, array in self._grad_targets.items()
                            if name in self._param_slots]
        for entry in self._placed:
            slot, target = entry[0], entry[1]
            g = grads[slot]
            if g is target:
                continue
            if g is None:
                target.fill(0)
            else:
                target[...] = g
                if entry[2]:
                    entry[2] = False
                    self._adopt(grads, g, target)
            grads[slot] = target

    def _adopt(self, grads: list[np.ndarray | None], array: np.ndarray,
               target: np.ndarray) -> None:
        """Have the op whose reused array ``array`` is write into ``target`` from now on, if
        ``array`` is the gradient of this parameter alone: one also handed on unchanged as
        another node's gradient stays where it is, so that what the caller or a later copy
        writes into ``target`` cannot reach that node."""
        if sum(g is array for g in grads) != 1:
            return
        for step in self.plan.ops:
            if step.context.replace_buffer(array, target):
                return

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
        return self.value_at(i)

    def grad(self, ref: NodeRef) -> np.ndarray:
        """d output / d (node's value) from the last backward pass (zeros where nothing flowed)."""
        i = self._slot(ref)
        if self._grads is None:
            raise GraphError("run backward first")
        return self._grad_at(i)

    def slot(self, ref: NodeRef) -> int:
        """Where a node's value and gradient live in the current plan (for :meth:`value_at`
        and :meth:`grad_at`, which a caller reading the same nodes every step uses to skip
        the lookup by name)."""
        return self._slot(ref)

    def value_at(self, slot: int) -> np.ndarray:
        """The value in ``slot`` of the plan from the last forward pass."""
        if slot in self._dropped_values:
            self._not_kept(slot, "value", "values")
        return self._values[slot]

    def grad_at(self, slot: int) -> np.ndarray:
        """The gradient in ``slot`` of the plan from the last backward pass."""
        return self._grad_at(slot)

    def _grad_at(self, slot: int) -> np.ndarray:
        if slot in self._dropped_grads:
            self._not_kept(slot, "gradient", "gradients")
        g = self._grads[slot]
        return np.zeros_like(self._values[slot]) if g is None else g

    def _not_kept(self, slot: int, what: str, argument: str) -> None:
        node = self.plan.steps[slot].node
        raise GraphError(f"the {what} of {node.label} is not kept: this engine for the "
                         f"optimiser writes over it in place; name it in keep({argument}=...) "
                         "to read it")

    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter name -> the array the engine computes with. In the graph's dtype (float64)
        these are the graph's own arrays, so updating them in place trains the graph; in another
        dtype they are copies: call :meth:`store_parameters` to write them back."""
        self.plan  # noqa: B018  (compiles when needed)
        return dict(self._params)

    def gradients(self) -> dict[str, np.ndarray]:
        """Parameter name -> its gradient from the last backward pass."""
        if self._grads is None:
            raise GraphError("run backward first")
        grads = self._grads  # (a parameter's gradient is never written over)
        return {name: self._grad_at(slot) if grads[slot] is None else grads[slot]
                for name, slot in self._param_slots.items()}

    def _repr_svg_(self) -> str:
        """The graph after the last pass, values and gradients on its cards and wires shaded by
        gradient (Jupyter shows this); see :func:`bpstudio.core.svg.engine_svg`."""
        return engine_svg(self)

    def store_parameters(self) -> None:
        """Copy the engine's parameter arrays back into the graph's nodes (in place)."""
        for name, array in self._params.items():
            node = self.graph.node(name)
            if node.value is not array:
                node.value[...] = array
