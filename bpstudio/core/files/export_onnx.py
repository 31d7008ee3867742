"""Export the inference part of a graph to ONNX.

The exported model computes one chosen output node (by default the prediction a loss compares
with its target) from the inputs it depends on, in float32, with a dynamic batch dimension
``N``. Parameters and constants become initializers. Each op maps to ONNX operators through
:data:`CONVERTERS`; an op without one (a loss, which only exists for training) gets an error that
names the node. The ``onnx`` package is imported only when exporting, so the rest of the core
does not need it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .atomicfile import atomic_write_bytes, check_target
from .export_common import (ExportError, PREPROCESSING, check_names, free_name,
                            inference_output)
from ..graph import Graph, Node, NodeRef
from ..interface import AS_IS, SIGMOID, SOFTMAX, ModelInterface
from ..shapes import BATCH
from ...version import __version__

if TYPE_CHECKING:
    import onnx

# The doc_string of a constant node's initializer (files/import_onnx.py reads it).
CONSTANT_MARK = "bpstudio:constant"
# Opset 17 with IR version 8: opened by every onnxruntime from 1.13 on (and by most other tools).
OPSET = 17
IR_VERSION = 8
BATCH_DIM = BATCH


class _Builder:
    """Collects ONNX nodes and initializers; names every intermediate tensor uniquely."""

    def __init__(self, onnx_module: Any):
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}/{self._count}"

    def op(self, op_type: str, inputs: list[str], output: str, name: str | None = None,
           **attributes: Any) -> str:
        node = self.helper.make_node(op_type, inputs, [output], name=name or output,
                                     **attributes)
        self.nodes.append(node)
        return output

    def initializer(self, name: str, array: np.ndarray, doc: str = "") -> str:
        tensor = self.onnx.numpy_helper.from_array(array, name)
        if doc:
            tensor.doc_string = doc
        self.initializers.append(tensor)
        return name

    def scalar(self, stem: str, value: float) -> str:
        return self.initializer(self.fresh(stem), np.asarray(value, dtype=np.float32))

    def int64s(self, stem: str, values: list[int]) -> str:
        return self.initializer(self.fresh(stem), np.asarray(values, dtype=np.int64))


Converter = Callable[[_Builder, Node, list[str], str], None]


def _elementwise(op_type: str) -> Converter:
    def convert(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
        b.op(op_type, inputs, out)
    return convert


def _power(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    b.op("Pow", [inputs[0], b.scalar(f"{node.name}.exponent", node.params["exponent"])], out)


def _square(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    b.op("Mul", [inputs[0], inputs[0]], out)


def _reduce_sum(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    axis, keepdims = node.params["axis"], int(node.params["keepdims"])
    # ReduceSum takes its axes as an input from opset 13 on; none given reduces over everything.
    extra = [] if axis is None else [b.int64s(f"{node.name}.axes", [axis])]
    b.op("ReduceSum", inputs + extra, out, keepdims=keepdims)


def _reduce_mean(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    axis, keepdims = node.params["axis"], int(node.params["keepdims"])
    if axis is None:
        b.op("ReduceMean", inputs, out, keepdims=keepdims)
    else:  # an attribute up to opset 17
        b.op("ReduceMean", inputs, out, keepdims=keepdims, axes=[axis])


def _flatten(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    b.op("Flatten", inputs, out, axis=1)  # keeps the batch axis, as the op does


def _leaky_relu(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    b.op("LeakyRelu", inputs, out, alpha=float(node.params["alpha"]))


def _softmax(b: _Builder, node: Node, inputs: list[str], out: str) -> None:
    b.op("Softmax", inputs, out, axis=int(node.params["axis"]))


CONVERTERS: dict[str, Converter] = {
    "add": _elementwise("Add"),
    "subtract": _elementwise("Sub"),
    "multiply": _elementwise("Mul"),
    "divide": _elementwise("Div"),
    "matmul": _elementwise("MatMul"),
    "power": _power,
    "square": _square,
    "sum": _reduce_sum,
    "mean": _reduce_mean,
    "transpose": _elementwise("Transpose"),  # without perm, Transpose reverses the axes
    "flatten": _flatten,
    "relu": _elementwise("Relu"),
    "leaky_relu": _leaky_relu,
    "sigmoid": _elementwise("Sigmoid"),
    "tanh": _elementwise("Tanh"),
    "exp": _elementwise("Exp"),
    "log": _elementwise("Log"),
    "softmax": _softmax,
}


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' package (pip install onnx)") from None
    return onnx


def _value_info(onnx_module: Any, name: str, shape: tuple) -> Any:
    dims = [BATCH_DIM if d == BATCH else int(d) for d in shape]
    return onnx_module.helper.make_tensor_value_info(name, onnx_module.TensorProto.FLOAT, dims)


def to_onnx(graph: Graph, output: NodeRef | None = None, description: str = "",
            interface: ModelInterface | None = None) -> "onnx.ModelProto":
    """The ONNX model of ``graph`` up to ``output``, checked with ``onnx.checker`` (full check).

    With an ``interface`` (what training knew of the data) the model takes raw feature rows:
    its graph starts with the standardisation (nodes ``standardise.subtract_mean`` and
    ``standardise.divide_by_std``), ends with the softmax or sigmoid the app applies to scores,
    names its input ``features`` and its output after what it holds, and ``metadata_props``
    say all of that. Without one it is the bare graph."""
    onnx_module = _import_onnx()

    out_node = inference_output(graph, output)
    order = graph.topological_order([out_node])
    check_names(order)
    shapes = graph.check([out_node])
    for node in order:
        if node.spec.source is None and node.op not in CONVERTERS:
            what = "a loss is only used for training" if node.spec.is_loss else "no ONNX equivalent"
            raise ExportError(f"{node.label} cannot be exported to ONNX ({what}); "
                              "choose an output node before it")
    b = _Builder(onnx_module)
    taken = {n.name for n in graph.nodes.values()}
    inputs = []
    for node in order:
        names = [graph.nodes[e.src].name for e in graph.input_edges(node)]  # check() wired them all
        source = node.spec.source
        if source == "input" and interface is not None and node.name == interface.feature_input:
            inputs.append(_value_info(onnx_module, _preprocess(b, node, interface, taken),
                                      shapes[node.id]))
        elif source == "input":
            inputs.append(_value_info(onnx_module, node.name, shapes[node.id]))
        elif source in ("parameter", "constant"):
            # ONNX does not say which initializers are weights: a constant is marked, so that
            # importing the model keeps it untrained.
            b.initializer(node.name, np.asarray(node.value, dtype=np.float32),
                          CONSTANT_MARK if source == "constant" else "")
        else:
            CONVERTERS[node.op](b, node, names, node.name)
    output_name = out_node.name
    if interface is not None:
        output_name = _readout(b, out_node.name, interface, taken)
    elif out_node.spec.source is not None:  # a graph output must be computed by a node
        output_name = b.op("Identity", [out_node.name], f"{out_node.name}/output")
    model_graph = onnx_module.helper.make_graph(
        b.nodes, "bpstudio", inputs, [_value_info(onnx_module, output_name, shapes[out_node.id])],
        initializer=b.initializers, doc_string=description)
    model = onnx_module.helper.make_model(
        model_graph, producer_name="bpstudio", producer_version=__version__,
        opset_imports=[onnx_module.helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    if interface is not None:
        onnx_module.helper.set_model_props(model, interface.metadata(__version__))
    try:
        onnx_module.checker.check_model(model, full_check=True)
    except (onnx_module.checker.ValidationError, onnx_module.shape_inference.InferenceError) as exc:
        raise ExportError(f"the exported model does not pass the ONNX checker: {exc}") from None
    return model


def _preprocess(b: _Builder, node: Node, interface: ModelInterface, taken: set[str]) -> str:
    """The graph input taking raw features, and the nodes that standardise them into the
    tensor the input node's consumers read (``node.name``). Returns the input's name."""
    raw = free_name("features", taken)
    if not interface.standardised:
        b.op("Identity", [raw], node.name, name=free_name(f"{PREPROCESSING}.identity", taken))
        return raw
    shape = tuple(node.params["shape"])
    mean = b.initializer(free_name(f"{PREPROCESSING}.mean", taken),
                         np.asarray(interface.mean, dtype=np.float32).reshape(shape))
    std = b.initializer(free_name(f"{PREPROCESSING}.std", taken),
                        np.asarray(interface.std, dtype=np.float32).reshape(shape))
    centred = b.op("Sub", [raw, mean], free_name(f"{PREPROCESSING}.subtract_mean", taken))
    b.op("Div", [centred, std], node.name, name=free_name(f"{PREPROCESSING}.divide_by_std", taken))
    return raw


def _readout(b: _Builder, computed: str, interface: ModelInterface, taken: set[str]) -> str:
    """The graph output: the computed tensor as the app shows it. Returns its name."""
    name = free_name(interface.output_name, taken)
    if interface.readout == SOFTMAX:
        return b.op("Softmax", [computed], name, axis=-1)
    if interface.readout == SIGMOID:
        return b.op("Sigmoid", [computed], name)
    assert interface.readout == AS_IS
    return b.op("Identity", [computed], name)


def export_onnx(graph: Graph, path: str | os.PathLike[str], output: NodeRef | None = None,
                description: str = "", interface: ModelInterface | None = None) -> None:
    """Write the ONNX model of ``graph`` up to ``output`` to ``path`` (atomically); with an
    ``interface``, taking raw rows and returning what the app shows (see :func:`to_onnx`)."""
    check_target(path)  # a path that cannot be written fails before the model is built
    model = to_onnx(graph, output, description, interface)
    atomic_write_bytes(path, model.SerializeToString())


__all__ = ["CONVERTERS", "ExportError", "IR_VERSION", "OPSET", "export_onnx", "inference_output",
           "to_onnx"]
