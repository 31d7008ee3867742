"""The training loop: forward, loss, backward, update, repeated over shuffled mini-batches.

:class:`Trainer` owns one engine on the graph, the optimiser and its state, the data feeds and
the step counter. :meth:`Trainer.run` yields one :class:`StepStats` per step (loss, accuracy,
per-parameter gradient norm and update ratio, per-layer gradient norms and health, validation
every few steps, wall time) and can be
stopped between steps from another thread. Batches are a pure function of (seed, step), so the
same seed gives bit-identical curves, and a run saved to a project file and resumed continues
exactly as if it had never stopped.

When a loss, value or gradient stops being a finite number, training stops with a
:class:`DivergenceError` naming the first node (in forward order) at fault; the weights stay at
their last finite values.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from . import datasets
from .datasets import CLASSIFICATION, DataError, Dataset, TrainingData
from ..engine import Engine
from .errors import DivergenceError, TrainingError
from ..errors import BPStudioError
from .history import History, Layers, StepStats, score_batch
from .layermeter import LayerMeter
from ..graph import Graph, Node, NodeRef
from .optim import OPTIMIZERS, Optimizer, ParameterVector, make_optimizer
from ..ops.base import domain_text, outside_domain, shown
from ..project import Project

FEATURES = "features"
TARGET = "target"
_TARGET_NAMES = ("t", "y", "target", "targets", "label", "labels")
HUGE = 1e154  # beyond this, squaring (for a norm) overflows to infinity


# --------------------------------------------------------------------------------- bindings
def bind_inputs(graph: Graph, inputs: list[Node], loss: Node,
                bindings: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which input node receives the features and which the target: as given, or guessed (the
    input wired straight into the loss's target port, or named like t/y/target/label, is the
    target; the other input takes the features)."""
    names = [n.name for n in inputs]
    if bindings is not None:
        bound = dict(bindings)
        for name, role in bound.items():
            if name not in names:
                raise TrainingError(f"binding for '{name}': the loss '{loss.name}' depends on no "
                                    f"input of that name (inputs: {', '.join(names)})")
            if role not in (FEATURES, TARGET):
                raise TrainingError(f"input '{name}' is bound to {role!r}: use '{FEATURES}' or "
                                    f"'{TARGET}'")
        unbound = [n for n in names if n not in bound]
        if unbound:
            raise TrainingError(f"input '{unbound[0]}' is not bound to the data: bind it to "
                                f"'{FEATURES}' or '{TARGET}'")
        return {n: bound[n] for n in names}
    if len(inputs) != 2:
        raise TrainingError(f"the loss '{loss.name}' depends on {len(inputs)} input(s) "
                            f"({', '.join(names) or 'none'}); training needs one for the features "
                            "and one for the target, or explicit bindings")
    edges = graph.input_edges(loss)
    direct = [e.src for e in edges[1:] if e is not None]
    target = next((n for n in inputs if n.id in direct), None)
    if target is None:
        target = next((n for n in inputs if n.name.lower() in _TARGET_NAMES), None)
    if target is None:
        raise TrainingError(f"cannot tell which of the inputs {names[0]}, {names[1]} is the "
                            "target: bind them explicitly")
    return {n.name: TARGET if n is target else FEATURES for n in inputs}


def _feed_arrays(data: Dataset, inputs: list[Node],
                 bindings: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Each bound input's whole column of data, shaped as that input expects."""
    feeds = {}
    n = len(data)
    for node in inputs:
        shape = tuple(node.params["shape"])
        size = int(np.prod(shape))
        if bindings[node.name] == FEATURES:
            if size != data.n_features:
                raise DataError(f"input '{node.name}' takes samples of shape {shape} ({size} "
                                f"values) but the data '{data.name}' has {data.n_features} "
                                "feature(s)")
            feeds[node.name] = np.ascontiguousarray(data.features.reshape((n,) + shape))
        elif shape in ((), (1,)):
            feeds[node.name] = data.targets.reshape((n,) + shape).copy()
        elif data.task == CLASSIFICATION and shape == (data.n_classes,):
            feeds[node.name] = np.eye(data.n_classes)[data.targets.astype(np.intp)]
        else:
            kind = (f"{data.n_classes} classes" if data.task == CLASSIFICATION
                    else "one number per row")
            raise DataError(f"input '{node.name}' takes targets of shape {shape}, but the data "
                            f"'{data.name}' has {kind}: give the input shape () or (1,)"
                            + (f", or ({data.n_classes},) for one-hot targets"
                               if data.task == CLASSIFICATION else ""))
    return feeds


def _accuracy_rule(loss: Node, task: str, n_classes: int) -> Callable | None:
    """How to score (predictions, targets) for this loss, or None. The rule takes a stack of k
    batches of one shape (k, batch, ...) and returns k fractions, so that the history scores
    many steps in one go; a single batch is a stack of one."""
    if task != CLASSIFICATION:
        return None

    def mean_per_batch(right: np.ndarray) -> np.ndarray:
        right = right.reshape(len(right), -1)
        return right.sum(axis=1) / right.shape[1]  # (sum: fewer steps than mean)

    if loss.op == "softmax_ce":
        return lambda z, t: mean_per_batch(z.argmax(axis=-1) == t)
    if loss.op == "bce_logits":
        return lambda z, t: mean_per_batch((z > 0.0) == (t > 0.5))

    def by_value(p: np.ndarray, t: np.ndarray) -> np.ndarray:
        if p.ndim == 3 and p.shape[-1] > 1:  # one column per class
            return mean_per_batch(p.argmax(axis=-1) == t.argmax(axis=-1))
        if n_classes == 2:
            return mean_per_batch((p > 0.5) == (t > 0.5))
        return mean_per_batch(np.rint(p) == t)
    return by_value


# ------------------------------------------------------------------------------- arguments
# Bounds on the Trainer's whole-number settings: more is surely a slip of the keyboard (or a
# damaged project file), and a batch of 10**12 rows would be tried before failing.
MAX_BATCH_SIZE = 1_000_000
MAX_VALIDATE_EVERY = 10**9
MAX_HISTORY_POINTS = 100_000  # what a project file may hold (graph.schema.json)
MAX_SEED = datasets.MAX_SEED
# Steps between measurings of the layers' |dL/dz| and health: each costs a few NumPy calls
# per layer, which every step would make ~15% of a small network's step (see
# benchmarks/layer_stats.py); one step in five keeps it near 3% and still draws the curves.
LAYER_EVERY = 5


def _whole(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TrainingError(f"{name} must be a whole number, not {shown(value)}")
    if not low <= value <= high:
        raise TrainingError(f"{name} must be from {low:,} to {high:,}, not {shown(value)}")


def _real(name: str, value: Any, zero_allowed: bool) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TrainingError(f"{name} must be a number, not {shown(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # a whole number beyond the float range
        finite = False
    if not (finite and (value >= 0 if zero_allowed else value > 0)):
        raise TrainingError(f"{name} must be a finite number {'>=' if zero_allowed else '>'} 0, "
                            f"not {shown(value)}")


def _check_arguments(graph: Any, optimizer: Any, lr: Any, batch_size: Any, seed: Any,
                     weight_decay: Any, validate_every: Any, bindings: Any,
                     optimizer_options: Any, history_points: Any, layer_every: Any = 0) -> None:
    """Refuse a Trainer argument of the wrong type or out of range, naming it, before anything
    is built: the values come from scripts, the command line and project files, and a bool
    taken for 1 or a NaN learning rate would otherwise train nonsense without an error."""
    if not isinstance(graph, Graph):
        raise TrainingError(f"graph must be a Graph, not {type(graph).__name__}")
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise TrainingError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not "
                            f"{shown(optimizer)}")
    _real("lr", lr, zero_allowed=False)
    _real("weight_decay", weight_decay, zero_allowed=True)
    _whole("batch_size", batch_size, 1, MAX_BATCH_SIZE)
    _whole("seed", seed, 0, MAX_SEED)
    _whole("validate_every", validate_every, 0, MAX_VALIDATE_EVERY)
    _whole("layer_every", layer_every, 0, MAX_VALIDATE_EVERY)
    _whole("history_points", history_points, 2, MAX_HISTORY_POINTS)
    for name, mapping in (("bindings", bindings), ("optimizer_options", optimizer_options)):
        if mapping is not None and not (isinstance(mapping, Mapping)
                                        and all(isinstance(k, str) for k in mapping)):
            raise TrainingError(f"{name} must map names to values, not {shown(mapping)}")


# ----------------------------------------------------------------------------------- trainer
class Trainer:
    """Trains a graph's parameters to lower its loss on a data set.

    ``data`` is :class:`TrainingData` (a split, standardised set: see
    :func:`bpstudio.core.training.datasets.prepare`), a bare :class:`Dataset` (all rows train), or a data
    set name or CSV path (prepared with a 20% validation split seeded by ``seed``).
    ``bindings`` maps input node names to "features" or "target" (guessed when omitted).
    Validation runs every ``validate_every`` steps (0: never) and on a run's last step; so does
    the measuring of each dense layer's |dL/dz| and health, every ``layer_every`` steps (the
    gradient norm of each layer's parameters is there on every step).

    Note: the trainer packs the graph's parameter arrays into one vector, so each parameter
    node's ``value`` becomes a view into that vector (same numbers, same shape).
    """

    def __init__(self, graph: Graph, data: TrainingData | Dataset | str, optimizer: str = "adam",
                 lr: float = 0.01, batch_size: int = 32, seed: int = 0,
                 weight_decay: float = 0.0, validate_every: int = 50,
                 bindings: Mapping[str, str] | None = None, loss: NodeRef | None = None,
                 optimizer_options: Mapping[str, Any] | None = None, history_points: int = 1000,
                 layer_every: int = LAYER_EVERY):
        _check_arguments(graph, optimizer, lr, batch_size, seed, weight_decay, validate_every,
                         bindings, optimizer_options, history_points, layer_every)
        if isinstance(data, str):
            data = datasets.prepare(data, seed=seed)
        elif isinstance(data, Dataset):
            data = TrainingData(data, None, None, {"data": dict(data.spec), "validation": 0.0,
                                                   "split_seed": seed, "standardisation": None})
        if not isinstance(data, TrainingData):
            raise TrainingError(f"data must be TrainingData, a Dataset or a data set name, not "
                                f"{type(data).__name__}")
        if len(data.train) == 0:
            raise TrainingError("the training data has no rows")
        self.graph = graph
        self.data = data
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.validate_every = int(validate_every)
        self.layer_every = int(layer_every)
        self._steps_per_epoch = -(-len(data.train) // self.batch_size)
        self.optimizer_options = dict(optimizer_options or {})

        self.engine = Engine(graph, output=loss, gradients="parameters")
        self.loss_node = self.engine.output_node()
        if not self.loss_node.spec.is_loss:
            raise TrainingError(f"{self.loss_node.label} is not a loss: training lowers a loss "
                                "(mse, bce, bce_logits, softmax_ce)")
        # The plan is compiled only after the parameters are packed (see _pack), so that the
        # engine computes with the packed arrays; the graph is checked here instead.
        self._order = graph.topological_order([self.loss_node])
        shapes = graph.check([self.loss_node])
        self._inputs = [n for n in self._order if n.spec.source == "input"]
        self.bindings = bind_inputs(graph, self._inputs, self.loss_node, bindings)
        self._train_feeds = _feed_arrays(data.train, self._inputs, self.bindings)
        self._val_feeds = (_feed_arrays(data.validation, self._inputs, self.bindings)
                           if data.validation is not None and len(data.validation) else None)

        loss_edges = graph.input_edges(self.loss_node)
        self._prediction = graph.nodes[loss_edges[0].src]
        self._target = graph.nodes[loss_edges[1].src] if len(loss_edges) > 1 else None
        self._accuracy = (_accuracy_rule(self.loss_node, data.task, data.train.n_classes)
                          if self._target is not None else None)
        self._check_targets(shapes)

        self.parameter_names = self._ordered_parameters()
        if not self.parameter_names:
            raise TrainingError(f"the loss '{self.loss_node.name}' depends on no parameter: "
                                "there is nothing to train")
        self._pack()
        self._layer_meter = LayerMeter(graph, self.engine, self.parameter_names)
        # What a step reads from the engine besides the parameters' gradients: the prediction
        # and the target (scored every step, and by evaluate), and what the layer meter reads.
        # The engine may write over every other intermediate value and gradient.
        self._read = (
            [self._prediction.id] + ([self._target.id] if self._target is not None else [])
            + list(self._layer_meter.read_values), list(self._layer_meter.read_gradients))
        self.engine.keep(*self._read)
        self._keeping_everything = False  # (after a divergence, see _divergence)
        self._structure_at_start = self._structure()
        self.optimizer: Optimizer = make_optimizer(optimizer, lr=lr, weight_decay=weight_decay,
                                                   **self.optimizer_options)
        self.optimizer.bind(self.vector)

        self.step = 0                 # steps completed
        self.elapsed = 0.0            # wall seconds spent in steps, over every run
        self.history = History(self.parameter_names, history_points, self.layers)
        self.last: StepStats | None = None
        # Why a resumed run could not go on where it stopped (see from_project), or None.
        self.restart_reason: str | None = None
        self._running = False         # a run() is in progress (stop() only speaks to it)
        self._stop_requested = False
        self._epoch_rows: tuple[int, np.ndarray] | None = None
        # A step's results waiting to be put in place (see _settle): the optimiser state, the
        # update count, the step count, the elapsed time, the statistics and whether the step
        # validates.
        self._pending: tuple[dict[str, np.ndarray], int, int, float, StepStats, bool] | None \
            = None

    # ------------------------------------------------------------------------------ set-up
    def _ordered_parameters(self) -> tuple[str, ...]:
        """Parameters from the input side to the loss side: by the depth of the first node that
        uses each one (a parameter is a source, so its own depth is 0), then by forward order."""
        depths = self.graph.depths()
        used = {n.id for n in self._order}
        keyed = []
        for i, node in enumerate(self._order):
            if node.spec.source != "parameter":
                continue
            users = [e.dst for e in self.graph.output_edges(node) if e.dst in used]
            keyed.append((min(depths[u] for u in users), i, node.name))
        return tuple(name for _, _, name in sorted(keyed))

    def _pack(self) -> None:
        """One vector for every parameter; each parameter node's value becomes a view of it."""
        nodes = [self.graph.node(n) for n in self.parameter_names]
        self.vector = ParameterVector.pack({n.name: n.value for n in nodes})
        self._table = np.empty((3, self.vector.size))  # weights, gradients, updates
        self._rows = tuple(self._table)  # (views made once, not every step)
        self.vector.move_to(self._table[0])
        self._flat_table = self._table.reshape(-1)
        self._squared = np.empty(self._table.size)
        self._row_starts = np.concatenate([self.vector.starts + i * self.vector.size
                                           for i in range(3)])
        self._few_parameters = len(self.parameter_names) <= 12
        # Large vectors: one dot product per parameter and row reads each number once, and
        # needs the row segments (made once here, not sliced every step).
        self._segments = (tuple(tuple(row[a:b] for a, b in self.vector.bounds)
                                for row in self._table)
                          if self.vector.size >= ParameterVector.DOT_PRODUCTS_FROM else None)
        for node in nodes:
            node.value = self.vector.views[node.name]
        self._graph_version = self.graph.version
        engine_params = self.engine.parameters()
        assert all(engine_params[n] is self.vector.views[n] for n in self.parameter_names)
        # The engine delivers every gradient in the table's second row, most of them written
        # there by the op that computes them: no copy per step.
        self.engine.place_gradients(self.vector.split(self._table[1]))

    def _check_targets(self, shapes: Mapping[str, tuple]) -> None:
        """Refuse data whose targets the loss does not take (its target port's domain: any
        finite number for mse, 0 to 1 for bce, class indices below the number of logits for
        softmax_ce), before any step: a bce on targets of 3 trains to a negative loss without
        an error. Checked where a target input feeds the loss's target port directly; a
        target computed by ops from the data is not the data as given."""
        spec = self.loss_node.spec
        port = spec.target_port()
        edge = self.graph.input_edges(self.loss_node)[spec.target_input]
        source = self.graph.nodes[edge.src]
        if source.spec.source != "input" or self.bindings.get(source.name) != TARGET:
            return
        classes = None
        if port.domain == "label":
            logits = shapes.get(self.graph.input_edges(self.loss_node)[0].src, ())
            classes = logits[-1] if logits and isinstance(logits[-1], int) else None
        loss, domain = self.loss_node, port.domain
        for part, feeds, rows in (("training", self._train_feeds, self.data.train),
                                  ("validation", self._val_feeds, self.data.validation)):
            if feeds is None:
                continue
            values = feeds[source.name]
            bad = outside_domain(domain, values, classes)
            if not bad.any():
                continue
            count = int(bad.reshape(len(values), -1).any(axis=1).sum())
            raise DataError(
                f"the loss {loss.label} takes targets that are {domain_text(domain, classes)} "
                f"(at its port '{port.name}'), but the target column '{rows.target_name}' of "
                f"'{rows.name}' holds {float(values[bad][0]):g} ({count} of {len(values)} "
                f"{part} rows){self._target_hint(domain, classes)}")

    def _target_hint(self, domain: str, classes: int | None) -> str:
        task, n_classes = self.data.task, self.data.train.n_classes
        if task != CLASSIFICATION and domain in ("unit", "label"):
            return "; the data is a regression: use an mse loss"
        if domain == "unit" and n_classes > 2:
            return f"; the data has {n_classes} classes: use softmax_ce"
        if domain == "label" and classes is not None and n_classes > classes:
            return f"; the data has {n_classes} classes but the logits have {classes} columns"
        return ""

    def _structure(self) -> tuple:
        """What must not change under a trainer: the nodes the loss depends on, their ops and
        settings, and the wires between them (parameter values may change)."""
        order = self.graph.topological_order([self.loss_node])
        return (tuple((n.id, n.op, n.name, repr(sorted(n.params.items())), n.spec.source
                       and n.spec.source != "parameter" and repr(n.value)) for n in order),
                frozenset(e for e in self.graph.edges if e.dst in {n.id for n in order}))

    def _check_graph_unchanged(self) -> None:
        if self.graph.version == self._graph_version:
            return
        # A person may edit a weight between runs: pack the new values and go on. Any other
        # edit changes what is being trained and needs a new trainer.
        try:
            same = self.graph.node(self.loss_node.id) is self.loss_node and \
                self._structure() == self._structure_at_start
        except BPStudioError:
            same = False
        if not same:
            raise TrainingError("the graph changed since this trainer was made (nodes, wires or "
                                "settings): start a new trainer")
        state = [a.copy() for a in self.optimizer.state_arrays()]
        t = self.optimizer.t
        self._pack()
        self.optimizer.state = dict(zip(self.optimizer.state, state))
        self.optimizer.t = t

    # ----------------------------------------------------------------------------- running
    @property
    def layers(self) -> Layers:
        """The dense layers measured every step (names, and each one's parameters)."""
        return self._layer_meter.layers

    @property
    def prediction_node(self) -> Node:
        """The node the loss compares with the target: what the model predicts."""
        return self._prediction

    @property
    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch

    def _shuffle(self, epoch: int) -> tuple[int, np.ndarray]:
        """The order of the training rows in epoch ``epoch`` (kept until the next epoch): step
        k of the epoch takes the k-th batch of it, so batches are a pure function of (seed,
        step)."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.data.train))
        self._epoch_rows = (epoch, order)
        return self._epoch_rows

    def stop(self) -> None:
        """Ask the run in progress to stop after its current step (safe from another thread).
        Between runs it does nothing: a stop never reaches a run that starts later."""
        if self._running:
            self._stop_requested = True

    def run(self, steps: int | None = None, epochs: float | None = None) -> Iterator[StepStats]:
        """Train for ``steps`` steps or ``epochs`` passes over the data, yielding each step's
        statistics. Stops early (between steps) after :meth:`stop`."""
        if (steps is None) == (epochs is None):
            raise TrainingError("give either steps or epochs")
        if steps is None:
            _real("epochs", epochs, zero_allowed=False)
            steps = max(1, int(round(epochs * self.steps_per_epoch)))
        if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) \
                or steps < 1:
            raise TrainingError(f"steps must be a whole number >= 1, not {shown(steps)}")
        self._settle()
        self._check_graph_unchanged()
        end = self.step + int(steps)
        self._stop_requested = False  # (a request that came too late for the last run)
        self._running = True
        try:
            while self.step < end and not self._stop_requested:
                # Overflows, invalid results and divisions by zero give their infinities and
                # NaN quietly: the step checks its loss, gradients and update and raises a
                # DivergenceError naming the node at fault, where NumPy's warnings would only
                # print a source line ahead of that message. (Per step, not around the loop:
                # the caller's own arithmetic between steps keeps its error state.)
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    stats = self._train_step(validate=self.step + 1 == end)
                yield stats
        finally:
            self._running = False
            self._stop_requested = False
            # A run ended by an exception mid-step (Ctrl+C) still leaves a whole step to
            # whoever reads the trainer next (step, last, history), not only to to_project.
            self._settle()

    def fit(self, steps: int | None = None, epochs: float | None = None) -> StepStats | None:
        """Run to the end and return the last step's statistics."""
        for _ in self.run(steps=steps, epochs=epochs):
            pass
        return self.last

    def _train_step(self, validate: bool = False) -> StepStats:
        # Kept lean: everything here beyond forward, backward and the update is bookkeeping,
        # which benchmarks/training.py measures against a bare loop. Weights, gradients
        # (written there by the engine) and the proposed update are the three rows of one
        # table, so one segmented sum (or, for large tables, one dot product per parameter and
        # row) gives every norm, and one test tells whether the loss, the gradients and the
        # update are all finite before anything changes. (Finite |w|^2 and |delta w|^2 bound
        # every entry by ~1e154, so the new weights are finite too.)
        if self._pending is not None:  # a step an exception cut short: finish it first
            self._settle()
        started = time.perf_counter()
        engine, optimizer = self.engine, self.optimizer
        if self._keeping_everything:  # a divergence is reported: back to the lean passes
            engine.keep(*self._read)
            self._keeping_everything = False
        weights, grads, update = self._rows
        epoch, k = divmod(self.step, self._steps_per_epoch)
        order = self._epoch_rows
        if order is None or order[0] != epoch:
            order = self._shuffle(epoch)
        batch = self.batch_size
        rows = order[1][k * batch:(k + 1) * batch]
        feeds = {name: array[rows] for name, array in self._train_feeds.items()}
        loss = float(engine.forward(feeds))
        engine.backward()  # fills the gradient row of the table (see _pack)
        _, state = optimizer.propose(weights, grads, out=update)
        squares, total = self._sum_squares()
        if not math.isfinite(loss + total):
            raise self._divergence(feeds)
        step = self.step + 1
        # (read before the next step reuses the engine's arrays)
        layer_figures = (self._layer_meter.measure() if self.layer_every and (
            validate or step % self.layer_every == 0) else None)
        # The new weights, computed aside in the update's row (its norm is in `squares`):
        # nothing the trainer keeps has changed yet.
        np.subtract(weights, update, out=update)
        scored = None
        if self._accuracy is not None:
            # Copies: the engine reuses its arrays on the next step (the feeds are ours).
            target = feeds.get(self._target.name)
            scored = (self._accuracy, engine.value(self._prediction).copy(),
                      engine.value(self._target).copy() if target is None else target)
        step_seconds = time.perf_counter() - started
        elapsed = self.elapsed + step_seconds
        stats = StepStats(step, step / self._steps_per_epoch, loss, squares,
                          self.parameter_names, elapsed, step_seconds, scored,
                          self.layers, layer_figures)
        validate = self._val_feeds is not None and (
            validate or bool(self.validate_every and step % self.validate_every == 0))
        # Published with one assignment: from here on the step happens, even if an exception
        # lands in what follows (see _settle).
        self._pending = (state, optimizer.t + 1, step, elapsed, stats, validate)
        self._settle()
        return stats

    def _settle(self) -> None:
        """Put in place what the last step computed, if an exception (a KeyboardInterrupt)
        cut it short: its weights, optimiser state, update count, step count and elapsed time
        all at once, then its validation and history point. Every part can be done again
        with the same result, so whatever was done before the interruption is simply done
        once more; :meth:`to_project`, :meth:`run` and the next step call this first, so a
        saved project is always the state after a whole number of steps."""
        pending = self._pending
        if pending is None:
            return
        state, t, step, elapsed, stats, validate = pending
        self.optimizer.state.update(state)
        self.optimizer.t = t
        weights, _, new_weights = self._rows
        np.copyto(weights, new_weights)  # (computed in the update's row)
        self.step, self.elapsed = step, elapsed
        if validate and stats.val_loss is None:
            stats.val_loss, stats.val_accuracy = self.evaluate()
        self.history.record(stats)  # (records a step once, however often it is asked)
        self.last = stats
        self._pending = None

    def _sum_squares(self) -> tuple[np.ndarray, float]:
        """Per parameter: |w|^2 (before the update), |g|^2 and |delta w|^2, as the rows of one
        array, and their total (finite only if every entry of the table is finite and below
        ~1e154)."""
        if self._segments is None:
            # (Over the flattened table: a 1-D segmented sum is NumPy's fast case.)
            sums = np.add.reduceat(np.square(self._flat_table, out=self._squared),
                                   self._row_starts)
            # (For a few parameters, a Python sum costs less than a NumPy reduction call.)
            total = sum(sums.tolist()) if self._few_parameters else sums.sum()
            return sums.reshape(3, -1), total
        weights, grads, updates = self._segments
        w2 = [w @ w for w in weights]
        g2 = [g @ g for g in grads]
        scale = self.optimizer.update_scale()
        if scale is None:
            u2 = [u @ u for u in updates]
        else:  # the update is scale * g: its norm needs no third pass over the vector
            scale *= scale
            u2 = [scale * s for s in g2]
        squares = np.array((w2, g2, u2))
        return squares, float(sum(w2) + sum(g2) + sum(u2))

    def evaluate(self, feeds: Mapping[str, np.ndarray] | None = None) -> tuple[float, float | None]:
        """Loss and accuracy on the validation rows (or on ``feeds``), without training."""
        feeds = self._val_feeds if feeds is None else feeds
        if feeds is None:
            raise TrainingError("there are no validation rows")
        loss = float(self.engine.forward(feeds))
        accuracy = (score_batch(self._accuracy, self.engine.value(self._prediction),
                           self.engine.value(self._target))
                    if self._accuracy is not None else None)
        return loss, accuracy

    # -------------------------------------------------------------------------- divergence
    def _hint(self, kind: str) -> str:
        lr = f"{self.optimizer.lr:g}"
        if kind == "value":
            return (f"lower the learning rate (now {lr}) or start from smaller weights "
                    "(Xavier or He initialisation); check the data for huge values")
        return (f"the gradients exploded: lower the learning rate (now {lr}) or use a smaller "
                "initialisation (Xavier or He)")

    def _divergence(self, feeds: Mapping[str, np.ndarray]) -> DivergenceError:
        """Name the first node, in forward order, whose value (then gradient) is not finite. If
        all are finite, a squared norm overflowed: name the first node whose value or gradient
        holds an entry beyond 1e154 (the next step would make it infinite), or else the
        parameter whose update is that large."""
        step = self.step + 1
        # The step wrote over intermediate values and gradients it did not need: it is run
        # again on the same weights and batch keeping all of them, for this search and for
        # whoever reads the engine after the error.
        every = [s.node.id for s in self.engine.plan.steps]
        self.engine.keep(every, every)
        self._keeping_everything = True
        self.engine.forward(feeds)
        self.engine.backward()
        steps = self.engine.plan.steps
        tail = "The weights are kept at their last finite values."

        def read(kind: str, node: Node) -> np.ndarray:
            return np.asarray(self.engine.value(node) if kind == "value"
                              else self.engine.grad(node))

        for kind in ("value", "gradient"):
            for s in steps:
                array = read(kind, s.node)
                bad = ~np.isfinite(array)
                if bad.any():
                    what = "NaN" if np.isnan(array[bad]).any() else "infinite"
                    return DivergenceError(
                        f"training stopped at step {step}: the {kind} of {s.node.label} became "
                        f"{what}. Hint: {self._hint(kind)}. {tail}", step, s.node.name, kind)
        for kind in ("value", "gradient"):
            for s in steps:
                array = read(kind, s.node)
                if array.size and np.abs(array).max() > HUGE:
                    return DivergenceError(
                        f"training stopped at step {step}: the {kind} of {s.node.label} grew "
                        f"beyond 1e154. Hint: {self._hint(kind)}. {tail}", step, s.node.name, kind)
        update_squares = self.vector.sum_squares(self._table[2])
        column = int(np.argwhere(~np.isfinite(update_squares))[0][0])
        culprit = self.parameter_names[column]
        return DivergenceError(
            f"training stopped at step {step}: the update of parameter '{culprit}' grew beyond "
            f"1e154. Hint: {self._hint('gradient')}. {tail}", step, culprit, "update")

    # ------------------------------------------------------------------ settings and files
    def settings(self) -> dict[str, Any]:
        """The JSON training settings saved in a project file."""
        self._settle()
        return {
            "optimizer": self.optimizer.name, "lr": self.optimizer.lr,
            "weight_decay": self.optimizer.weight_decay,
            "optimizer_options": dict(self.optimizer_options),
            "batch_size": self.batch_size, "seed": self.seed,
            "validate_every": self.validate_every, "layer_every": self.layer_every,
            "loss": self.loss_node.name,
            "bindings": dict(self.bindings), **self.data.settings,
            "progress": {"step": self.step, "elapsed": self.elapsed},
        }

    def to_project(self, description: str = "") -> Project:
        """The graph with everything needed to resume this training exactly."""
        self._settle()
        return Project(self.graph, description, self.settings(), self.optimizer.state_dict(),
                       self.history.to_tree() if len(self.history) else None)

    @classmethod
    def from_project(cls, project: Project, data: TrainingData | Dataset | str | None = None,
                     **overrides: Any) -> "Trainer":
        """A trainer that continues where the saved one stopped. ``overrides`` replace saved
        settings (lr, batch_size, ...); with a different optimiser the saved state is dropped."""
        saved = dict(project.training or {})
        keys = ("optimizer", "lr", "batch_size", "seed", "weight_decay", "validate_every",
                "layer_every", "bindings", "loss", "optimizer_options")
        options = {k: saved[k] for k in keys if k in saved}
        options.update(overrides)
        if data is None:
            if "data" not in saved:
                raise TrainingError("the project does not say which data it was trained on: give "
                                    "the data")
            data = datasets.from_settings(saved)
        trainer = cls(project.graph, data, **options)
        same_data = saved.get("data") == trainer.data.settings.get("data")
        progress = saved.get("progress") or {}
        try:
            if same_data:
                trainer.step = int(progress.get("step", 0))
                trainer.elapsed = float(progress.get("elapsed", 0.0))
                if project.history:
                    trainer.history = History.from_tree(project.history, trainer.parameter_names,
                                                        trainer.layers)
            state = project.optimizer_state
            if state and state.get("name") == trainer.optimizer.name:
                trainer.optimizer.load_state_dict(state)
        except TrainingError as exc:  # (an OptimizerError is one)
            # The graph was edited after training (a parameter renamed, added or reshaped):
            # its weights still train, but the old curves and optimiser slots no longer fit.
            trainer = cls(project.graph, trainer.data, **options)
            trainer.restart_reason = (f"{exc}; the graph changed since it was trained, so "
                                      "training restarts its optimiser and history")
        return trainer
