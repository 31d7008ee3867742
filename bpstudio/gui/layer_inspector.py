"""The inspector's page for a selected layer block: its name, and for a dense layer its
fan-in, fan-out, activation and initialiser, each edit an undo command through the document's
gate; after a pass, what the block shows (output, gradient norms, health) in full words.

What a layer is comes from its member nodes (``core/layers.dense_layer``): the page reads it
again after every edit, undo or redo, so it never disagrees with the ops.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from bpstudio.core.errors import GraphError
from bpstudio.core.initializers import INITIALIZERS
from bpstudio.core.layers import ACTIVATIONS, dense_layer
from bpstudio.core.rules import MAX_NAME_LENGTH

from . import commands
from .canvas import theme
from .canvas.scene import GraphScene

MAX_UNITS = 4096  # fan-in or fan-out a spin box offers: far beyond what the canvas trains


class LayerEditor(QWidget):
    """Edits one group. ``apply(build, editor)`` is the inspector's own path to the gate
    (it shows a refusal next to the field)."""

    def __init__(self, scene: GraphScene, group_id: str,
                 apply: Callable[[Callable[[], QUndoCommand | None], QWidget | None], None],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.scene, self.group_id, self._apply = scene, group_id, apply
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel()
        layout.addWidget(self.title)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(objectName="layer_name")
        self.name_edit.setMaxLength(MAX_NAME_LENGTH)
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("Name", self.name_edit)
        self.fan_in = QSpinBox(objectName="fan_in", minimum=1, maximum=MAX_UNITS)
        self.fan_out = QSpinBox(objectName="fan_out", minimum=1, maximum=MAX_UNITS)
        self.fan_in.setToolTip("How many numbers each row brings in (W has this many rows)")
        self.fan_out.setToolTip("How many units the layer has (W's columns, b's length)")
        for box in (self.fan_in, self.fan_out):
            box.setKeyboardTracking(False)  # one edit per finished number, not per digit
            box.valueChanged.connect(self._reshape)
        form.addRow("Fan-in", self.fan_in)
        form.addRow("Fan-out", self.fan_out)
        self.activation = QComboBox(objectName="activation")
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.activated.connect(self._set_activation)
        form.addRow("Activation", self.activation)
        self.init = QComboBox(objectName="initializer")
        self.init.addItems(list(INITIALIZERS))
        self.init.setToolTip("How W is drawn (again now, and whenever its shape changes)")
        self.init.activated.connect(self._set_init)
        form.addRow("Initializer", self.init)
        layout.addLayout(form)
        self.results = QLabel(objectName="layer_results")
        self.results.setWordWrap(True)
        layout.addWidget(self.results)
        self.load()

    @property
    def graph(self):
        return self.scene.graph

    def load(self) -> None:
        """Show the group as it now is."""
        group = self.graph.groups.get(self.group_id)
        if group is None:
            return
        layer = dense_layer(self.graph, group)
        kind = "dense layer" if layer is not None else "group"
        self.title.setText(f"<span style='color:{theme.LAYER_HEADER.name()}'>■</span> "
                           f"<b>{group.name}</b> <span style='color:{theme.NODE_DIM_TEXT.name()}'>"
                           f"· {kind} of {len(self.graph.member_ids(group))} nodes; "
                           f"double-click the block to see them</span>")
        if not self.name_edit.hasFocus():
            self.name_edit.setText(group.name)
        for widget in (self.fan_in, self.fan_out, self.activation, self.init):
            widget.setVisible(layer is not None)
            widget.blockSignals(True)
        if layer is not None:
            self.fan_in.setValue(layer.fan_in)
            self.fan_out.setValue(layer.fan_out)
            self.activation.setEnabled(layer.activation is not None)
            self.activation.setCurrentText(layer.activation or "")
            if layer.activation is None:
                self.activation.setToolTip("This layer has no activation (a linear output)")
            self.init.setCurrentText(layer.init)
        for widget in (self.fan_in, self.fan_out, self.activation, self.init):
            widget.blockSignals(False)
        item = self.scene.layer_items.get(self.group_id)
        figures = None if item is None else item.figures
        lines = []
        if figures is not None and figures.output is not None:
            lines.append(f"Output: {figures.output}")
        if figures is not None and figures.parameter_grad_norm is not None:
            lines.append(f"Norm of the gradient of all its parameters: "
                         f"{figures.parameter_grad_norm:.4g}")
        if figures is not None and figures.signal_norm is not None:
            lines.append(f"Norm of dL/dz at its pre-activation: {figures.signal_norm:.4g}")
        if item is not None and item.badge_text is not None:
            what = ("units dead (0 for every row)" if figures.health.kind == "dead"
                    else "outputs saturated (slope under a tenth of its peak)")
            lines.append(f"Health: {figures.health.fraction:.0%} of its {what}")
        self.results.setText("<br>".join(lines))
        self.results.setVisible(bool(lines))

    def set_read_only(self, locked: bool) -> None:
        for widget in (self.name_edit, self.fan_in, self.fan_out, self.activation, self.init):
            widget.setEnabled(not locked)

    # ------------------------------------------------------------------------------ edits
    def _rename(self) -> None:
        graph, group_id, name = self.graph, self.group_id, self.name_edit.text().strip()

        def build() -> QUndoCommand | None:
            if name == graph.group(group_id).name:
                return None
            problem = graph.group_name_problem(name, group_id)
            if problem:
                raise GraphError(problem)
            return commands.RenameGroupCommand(graph, group_id, name)

        self._apply(build, self.name_edit)

    def _reshape(self) -> None:
        graph, group_id = self.graph, self.group_id
        fan_in, fan_out = self.fan_in.value(), self.fan_out.value()

        def build() -> QUndoCommand | None:
            macro = commands.layer_shape_command(graph, group_id, fan_in, fan_out)
            return macro if macro.steps else None

        self._apply(build, None)

    def _set_activation(self) -> None:
        graph, group_id, op = self.graph, self.group_id, self.activation.currentText()

        def build() -> QUndoCommand | None:
            layer = dense_layer(graph, group_id)
            if layer is not None and layer.activation == op:
                return None
            return commands.layer_activation_command(graph, group_id, op)

        self._apply(build, None)

    def _set_init(self) -> None:
        graph, group_id, init = self.graph, self.group_id, self.init.currentText()

        def build() -> QUndoCommand | None:
            layer = dense_layer(graph, group_id)
            if layer is None or layer.init == init:
                return None
            return commands.SetParamCommand(graph, layer.weight.id, "init", init)

        self._apply(build, None)
