"""Forward and Backward in the window: the engine runs on the rows :class:`RunRows` gives (rows
of the training data once the project has some, else the graph's sample), and every node
shows its value (and after Backward its gradient) on the canvas, with the full arrays in its
tooltip next to its op's local derivative; wires can be coloured by the gradient they carry.

Once a pass has run, the values stay live: an edit of the graph or of the sample runs the same
pass again as soon as the edit is done, so that changing a weight in the inspector shows its
effect at once; so does choosing other rows. When the graph stops being valid the values are cleared and the status bar says
which node is at fault; Clear Values ends the live display.
"""

from __future__ import annotations

import html
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from bpstudio.core.engine import Engine
from bpstudio.core.errors import BPStudioError
from bpstudio.core.graph import Graph
from bpstudio.core.layers import forward_health
from bpstudio.core.model import GraphEvent

from .canvas.layer_item import LayerFigures
from .canvas.scene import GraphScene
from .rows import RunRows

FORWARD, BACKWARD = "forward", "backward"


def short_text(array: np.ndarray) -> str:
    """One line for a node card: the number itself for a single number, else the shape with
    the mean and the range."""
    a = np.asarray(array)
    # (+ 0.0 turns a negative zero, which a ReLU's blocked gradient often is, into 0)
    if a.size == 1:
        return f"{a.item() + 0.0:.4g}"
    return (f"{a.shape} mean {a.mean() + 0.0:.3g} · {a.min() + 0.0:.3g}.."
            f"{a.max() + 0.0:.3g}")


def _summary(array: np.ndarray) -> str:
    """A layer's output on its block (whose shape line gives the shape): mean and range."""
    a = np.asarray(array)
    return f"mean {a.mean() + 0.0:.2g} · {a.min() + 0.0:.2g}..{a.max() + 0.0:.2g}"


def full_text(array: np.ndarray) -> str:
    """Every number (up to a few hundred), for tooltips and the inspector."""
    a = np.asarray(array)
    if a.size == 1:
        return f"{a.item():.6g}"
    return np.array2string(a, precision=4, suppress_small=True, threshold=200, max_line_width=72)


class RunView(QObject):
    """Runs passes on the scene's graph and shows their results on its items.

    ``status_message`` carries what the status bar should say; ``values_changed`` fires after
    values were shown or cleared (the inspector re-reads them)."""

    status_message = Signal(str)
    values_changed = Signal()

    def __init__(self, scene: GraphScene, parent: QObject | None = None,
                 rows: RunRows | None = None):
        super().__init__(parent)
        self.scene = scene
        self.rows = rows if rows is not None else RunRows(scene.document, self)
        self.ran_on = None                  # the RowsToRun of the last pass that ran
        self.mode: str | None = None        # the pass that is live: FORWARD, BACKWARD or None
        self.engine: Engine | None = None   # holds the values of the last pass that ran
        self.wire_gradients = False
        self.culprit: str | None = None     # the node highlighted because a pass could not run
        self._has_grads = False
        # Edits arrive as several events (a macro, a paste): rerun once they are all in.
        self._rerun_timer = QTimer(self)
        self._rerun_timer.setSingleShot(True)
        self._rerun_timer.setInterval(0)
        self._rerun_timer.timeout.connect(self._rerun)
        scene.graph_event.connect(self._on_graph_event)
        self.rows.changed.connect(self._rows_changed)

    @property
    def graph(self) -> Graph:
        return self.scene.graph

    # --------------------------------------------------------------------------- passes
    def forward(self) -> bool:
        """Run the forward pass on the sample; True when it ran."""
        return self._run(FORWARD)

    def backward(self) -> bool:
        """Run forward, then backward from a gradient of 1 at the output; True when it ran."""
        return self._run(BACKWARD)

    def clear(self) -> None:
        """Hide every value and gradient and stop following edits."""
        self.mode = None
        self._rerun_timer.stop()
        self._drop_values()
        self._set_culprit(None)
        self.values_changed.emit()

    def graph_replaced(self) -> None:
        """A new document: nothing shown, nothing live."""
        self.mode = None
        self.engine = None
        self.ran_on = None
        self._has_grads = False
        self.culprit = None
        self._rerun_timer.stop()
        self.values_changed.emit()

    def _run(self, mode: str, quiet: bool = False) -> bool:
        graph = self.graph
        self._rerun_timer.stop()
        try:
            output = graph.default_output()
            chosen = self.rows.rows(output)
            engine = Engine(graph, output=output)
            loss = engine.forward(chosen.rows.feeds)
            if mode == BACKWARD:
                engine.backward(record_contributions=True)
        except BPStudioError as exc:
            self.mode = mode if quiet else None  # a live display waits for a valid graph
            self._drop_values()
            self._set_culprit(self._node_at_fault(exc))
            message = str(exc)
            self.status_message.emit(("Values cleared: " if quiet else f"Cannot run {mode}: ")
                                     + message)
            self.values_changed.emit()
            return False
        self.mode, self.engine, self._has_grads = mode, engine, mode == BACKWARD
        previous, self.ran_on = self.ran_on, chosen
        self._set_culprit(None)
        self._show_values()
        what = "Forward and backward" if mode == BACKWARD else "Forward"
        # A live rerun speaks when the rows are not the ones the status bar last named.
        other_rows = previous is None or previous.rows.label != chosen.rows.label
        if not quiet or chosen.problem or other_rows:
            self.status_message.emit(f"{what} on {chosen.rows.label}: "
                                     f"{output.name} = {short_text(loss)}")
        self.values_changed.emit()
        return True

    def _node_at_fault(self, exc: BPStudioError) -> str | None:
        """The node a refusal is about: the validation problem it reports, else the node whose
        name the message quotes."""
        graph = self.graph
        text = str(exc)
        for problem in graph.validate():
            if problem.message == text:
                return problem.node_id
        for node in graph.nodes.values():
            if f"'{node.name}'" in text:
                return node.id
        return None

    def highlight_culprit(self, node_id: str) -> None:
        """Mark the node a run stopped at (a training run that stopped being finite)."""
        self._set_culprit(node_id)
        self.scene.select_nodes([node_id])

    def clear_culprit(self) -> None:
        self._set_culprit(None)

    def _set_culprit(self, node_id: str | None) -> None:
        if self.culprit is not None and self.culprit in self.scene.node_items:
            self._shown_item(self.culprit).set_highlighted(False)
        self.culprit = node_id
        if node_id is not None and node_id in self.scene.node_items:
            self._shown_item(node_id).set_highlighted(True)

    def _shown_item(self, node_id: str):
        """The node's card, or the block of the collapsed layer it is folded into."""
        item = self.scene.node_items[node_id]
        return item.block or item

    # -------------------------------------------------------------------------- display
    def value(self, node_id: str) -> np.ndarray | None:
        """The node's value from the last pass, or None."""
        if self.engine is None or self.mode is None:
            return None
        try:
            return self.engine.value(node_id)
        except BPStudioError:  # not on the path to the output
            return None

    def grad(self, node_id: str) -> np.ndarray | None:
        """The gradient of the output with respect to the node's value, or None."""
        if self.engine is None or not self._has_grads or self.mode is None:
            return None
        try:
            return self.engine.grad(node_id)
        except BPStudioError:
            return None

    def _show_values(self) -> None:
        for node_id, item in self.scene.node_items.items():
            if item.block is None:
                item.set_value_display(*self.display_texts(node_id))
            else:  # folded into a collapsed layer: written when read or when the layer opens
                item.defer_value_display(partial(self.display_texts, node_id))
            item.tooltip_source = self.tooltip  # the full arrays, written out when shown
        self._show_layer_figures()
        self._show_wire_gradients()

    def display_texts(self, node_id: str) -> tuple[str | None, str | None]:
        """The node card's value and gradient lines for the last pass (None: no line)."""
        value, grad = self.value(node_id), self.grad(node_id)
        return (None if value is None else "= " + short_text(value),
                None if grad is None else "∇ " + short_text(grad))

    def layer_figures(self) -> dict[str, LayerFigures]:
        """Group id -> what the last pass says about each collapsed layer on the canvas: its
        output's summary, the norms of its parameters' gradient and of dL/dz, its health."""
        if self.engine is None or self.mode is None:
            return {}
        health = forward_health(self.graph, self.engine.value)
        figures = {}
        for group_id, item in self.scene.layer_items.items():
            layer = item.layer
            if layer is None:
                continue
            output = self.value(layer.output.id)
            grads = [self.grad(p.id) for p in layer.parameters]
            signal = self.grad(layer.pre_activation.id)
            figures[group_id] = LayerFigures(
                None if output is None else _summary(output),
                None if any(g is None for g in grads)
                else float(np.sqrt(sum(np.sum(np.square(g)) for g in grads))),
                None if signal is None else float(np.linalg.norm(signal)),
                health.get(group_id))
        return figures

    def _show_layer_figures(self) -> None:
        figures = self.layer_figures()
        for group_id, item in self.scene.layer_items.items():
            item.set_figures(figures.get(group_id, LayerFigures()))

    def _drop_values(self) -> None:
        if self.engine is None:  # nothing shown (every edit of a broken graph comes here)
            return
        self.engine = None
        self._has_grads = False
        for item in self.scene.node_items.values():
            item.set_value_display(None, None)
            item.tooltip_source = None
        for edge in self.scene.edge_items.values():
            edge.set_gradient_magnitude(None)
        for block in self.scene.layer_items.values():
            block.set_figures(LayerFigures())

    def tooltip(self, node_id: str) -> str:
        """The node's description with its full value and gradient and its local derivative."""
        node = self.graph.nodes[node_id]
        spec = node.spec
        parts = [f"<b>{html.escape(node.name)}</b> ({html.escape(spec.title)})",
                 html.escape(spec.doc)]
        value, grad = self.value(node_id), self.grad(node_id)
        if value is not None:
            parts.append(f"value:<pre>{html.escape(full_text(value))}</pre>")
        if grad is not None:
            parts.append(f"d {html.escape(self.engine.output_node().name)} / d "
                         f"{html.escape(node.name)}:<pre>{html.escape(full_text(grad))}</pre>")
        parts.append(f"<i>local derivative: {html.escape(spec.derivative)}</i>")
        return "<br>".join(parts)

    def set_wire_gradients(self, on: bool) -> None:
        """Colour each wire by the size (root mean square) of the gradient it carries."""
        self.wire_gradients = on
        self._show_wire_gradients()

    def wire_gradient(self, dst: str, port: str) -> float | None:
        """The root mean square of the gradient the wire into (dst, port) carries back."""
        if self.engine is None or not self._has_grads:
            return None
        part = self.engine.contributions().get((dst, port))
        if part is None:
            return None
        return float(np.sqrt(np.mean(np.square(part))))

    def _show_wire_gradients(self) -> None:
        sizes = {key: (self.wire_gradient(*key) if self.wire_gradients else None)
                 for key in self.scene.edge_items}
        known = [s for s in sizes.values() if s is not None and np.isfinite(s)]
        top = max(known, default=1.0)
        for key, edge in self.scene.edge_items.items():
            edge.set_gradient_magnitude(sizes[key], top)
            text = "" if sizes[key] is None else f"gradient carried back: rms {sizes[key]:.4g}"
            if edge.toolTip() != text:  # setting one costs several times more than reading
                edge.setToolTip(text)

    # ---------------------------------------------------------------------- live values
    def _on_graph_event(self, event: GraphEvent) -> None:
        if self.mode is None or (event.kind == "node_changed" and event.field == "position"):
            return
        if event.kind.startswith("group_"):
            # Grouping, opening or folding a layer changes no value: only what is on show
            # (the ops of an opened layer get their values, a folded one its figures).
            if self.engine is not None and not self._rerun_timer.isActive():
                self._show_values()
            return
        self._rerun_timer.start()

    def _rows_changed(self) -> None:
        # Other rows, or a run gave the project data: the values follow (the row picker says
        # which rows they are).
        if self.mode is not None:
            self._rerun_timer.start()

    def _rerun(self) -> None:
        if self.mode is not None:
            self._run(self.mode, quiet=True)
