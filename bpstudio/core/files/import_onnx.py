"""Import an ONNX model as a graph of the registry's ops, to inspect, gradient-check, step
through and fine-tune a model made elsewhere.

The model is read as data: its bytes are parsed by the ``onnx`` package (imported only here,
when importing), checked with ``onnx.checker``, and each operator the output depends on becomes
one or a few nodes that compute the same function (a Gemm is a matmul, with a transpose where
it transposes an operand, a multiply where it scales, and an add of its bias). Float
initializers become trainable parameter nodes named after their tensors; integer tensors (axes,
shapes) and the exponent of a Pow become the ops' parameters; Constant operators become
constant nodes. Graph inputs become input nodes whose first dimension is the batch, whatever its
name or number in the file. Weights kept in external files are refused, never read, and nothing
in the model is executed.

What the import supports and how each operator maps is listed in ``docs/onnx.md`` and in
:data:`SUPPORTED`; anything else is refused with an :class:`OnnxImportError` naming the node.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .export_onnx import CONSTANT_MARK
from .fileformat import DEFAULT_LIMITS, Limits
from .. import rules
from ..errors import GraphError, OnnxImportError
from ..graph import Graph, Node, all_finite
from ..layers import group_dense_layers
from ..layout import apply_layout
from ..project import Project
from ..regularfile import open_regular
from ..sample import fill_default_sample
from ..shapes import BATCH, Shape, format_shape

# The oldest opset read: from 7 on, the arithmetic operators broadcast like NumPy (before, a
# 'broadcast' attribute said whether to), which is what the registry's ops do.
MIN_OPSET = 7
MAX_NAME_LENGTH = 100
SHOWN_NAME_LENGTH = 80  # characters of a name from the file quoted in a message
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")

# ONNX element types (TensorProto.DataType) whose values an input may hold: the engine computes
# in float32 or float64, and these convert to either without surprise.
_FLOAT_TYPES = {1: "float32", 11: "float64", 10: "float16"}
_EXTERNAL = 1  # TensorProto.EXTERNAL


@dataclass
class _Static:
    """A tensor known when importing (an initializer or a Constant's value): it becomes a node
    only where it takes part in the computation, and is read as a number where an operator
    takes it as a setting (axes, a shape, an exponent)."""

    tensor: str
    array: np.ndarray
    trainable: bool                 # a float initializer (a weight), not a Constant
    node: Node | None = None        # the node made the first time it is used as data


Value = Node | _Static


class _Importer:
    def __init__(self, onnx_module: Any, model: Any, opset: int, source: str):
        self.onnx = onnx_module
        self.model = model
        self.opset = opset
        self.source = source
        self.graph = Graph(seed=0)
        self.values: dict[str, Value] = {}     # ONNX tensor name -> what computes it
        self.shapes: dict[str, Shape] = {}     # node id -> its shape (N for the batch)
        self.fixed_batch: int | None = None    # the batch size the inputs declare, if a number
        self.current = ""                      # the ONNX node being converted, for messages
        self.onnx_ops: Counter[str] = Counter()
        self.left_out: list[str] = []

    # ------------------------------------------------------------------------------ messages
    def fail(self, message: str) -> OnnxImportError:
        where = f"{self.current}: " if self.current else ""
        return OnnxImportError(where + message)

    # ----------------------------------------------------------------------------- building
    def name_for(self, text: str, fallback: str) -> str:
        """A free graph name made from an ONNX name: '/1/Gemm' gives '_1.Gemm'."""
        name = _NAME_CHARS.sub("_", text.strip("/").replace("/", "."))[:MAX_NAME_LENGTH]
        if not name:
            name = fallback
        if not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
            name = "_" + name
        return self.graph.unique_name(name)

    def add(self, op: str, inputs: list[Node], name: str, **params: Any) -> Node:
        """A node of ``op`` fed by ``inputs``, its shape inferred at once so that a mismatch is
        reported at the ONNX node that caused it."""
        try:
            # (A static tensor made into a node since the name was chosen may have taken it.)
            node = self.graph.add_node(op, name=self.graph.unique_name(name), params=params)
            for port, src in zip(node.spec.input_names(), inputs):
                self.graph.connect(src, node, port)
            shape = node.spec.infer_shape(*(self.shapes[n.id] for n in inputs), **node.params)
        except GraphError as exc:  # ShapeError and ParamError included
            raise self.fail(str(exc)) from None
        self.shapes[node.id] = tuple(shape)
        return node

    def add_constant(self, value: float, name: str) -> Node:
        node = self.graph.add_node("constant", name=self.graph.unique_name(name), value=value)
        self.shapes[node.id] = ()
        return node

    def operand(self, tensor: str) -> Node:
        """The node computing ``tensor``; a static tensor becomes a parameter or constant node
        the first time it is used as data (and the same node every time after)."""
        value = self.value(tensor)
        if isinstance(value, Node):
            return value
        if value.node is not None:
            return value.node
        if value.array.dtype.kind != "f":
            raise self.fail(f"tensor '{_q(tensor)}' holds {value.array.dtype} values: only float "
                            "tensors take part in the computation")
        op = "parameter" if value.trainable else "constant"
        params = {}
        if op == "parameter":  # what Reset Weights draws from: Xavier for matrices, 0 for biases
            params = {"init": "xavier_uniform" if value.array.ndim >= 2 else "zeros"}
        holder, value.array = [value.array], None  # the file's copy, for _widened to let go
        array = value.array = _widened(holder)
        where = f"tensor '{_q(value.tensor)}'"
        if not all_finite(array):
            raise self.fail(f"{where}: value must be finite numbers")
        try:
            # The array is the graph's to keep, as a loader's is: a copy would make two.
            node = self.graph.add_node(op, name=self.name_for(value.tensor, "tensor"),
                                       params=params, value=array, stored_value=True)
        except GraphError as exc:
            raise self.fail(f"{where}: {exc}") from None
        self.shapes[node.id] = tuple(node.value.shape)
        value.node = node
        return node

    def value(self, tensor: str) -> Value:
        if tensor not in self.values:
            raise self.fail(f"tensor '{_q(tensor)}' is used before anything computes it")
        return self.values[tensor]

    def static(self, tensor: str, what: str) -> np.ndarray:
        """A tensor that must be known when importing (an axes list, a shape, an exponent)."""
        value = self.values.get(tensor)
        if isinstance(value, _Static):
            return value.array
        if isinstance(value, Node) and value.spec.source in ("parameter", "constant"):
            return value.value
        raise self.fail(f"{what} must be fixed in the file (an initializer or a Constant), not "
                        "computed from the inputs")

    def shape_of(self, node: Node) -> Shape:
        return self.shapes[node.id]

    # ------------------------------------------------------------------------------- inputs
    def add_inputs(self, used: set[str]) -> None:
        graph = self.model.graph
        initializers = {t.name for t in graph.initializer}
        batches = set()
        for info in graph.input:
            if info.name in initializers:  # an older exporter lists weights as inputs too
                continue
            if info.name not in used:
                self.left_out.append(info.name)
                continue
            dims = self._input_dims(info)
            first = dims[0]
            if first.HasField("dim_value"):
                batches.add(int(first.dim_value))
            shape = tuple(int(d.dim_value) for d in dims[1:])
            try:
                node = self.graph.add_node("input", name=self.name_for(info.name, "input"),
                                           params={"shape": shape})
            except GraphError as exc:
                raise OnnxImportError(f"input '{_q(info.name)}': {exc}") from None
            self.shapes[node.id] = (BATCH,) + shape
            self.values[info.name] = node
        if len(batches) == 1:
            self.fixed_batch = batches.pop()

    def take_weights(self, used: set[str]) -> None:
        """The values of the initializers the output uses, as arrays (no part of the model's
        message is kept: see _to_project)."""
        for tensor in self.model.graph.initializer:
            if tensor.name in used and tensor.name not in self.values:
                array = _tensor_array(self.onnx, tensor, f"initializer '{_q(tensor.name)}'")
                self.values[tensor.name] = _Static(tensor.name, array,
                                                   trainable=tensor.doc_string != CONSTANT_MARK)

    @staticmethod
    def _input_dims(info: Any) -> list[Any]:
        name = _q(info.name)
        if info.type.WhichOneof("value") != "tensor_type":
            raise OnnxImportError(f"input '{name}' is not a tensor: bpstudio feeds float inputs "
                                  "only")
        tensor_type = info.type.tensor_type
        elem = tensor_type.elem_type
        if elem not in _FLOAT_TYPES:
            raise OnnxImportError(f"input '{name}' holds {_type_name(elem)} values: bpstudio "
                                  "feeds float inputs only")
        if not tensor_type.HasField("shape"):
            raise OnnxImportError(f"input '{name}' does not declare its shape")
        dims = list(tensor_type.shape.dim)
        if not dims:
            raise OnnxImportError(f"input '{name}' is a single number: an input needs a first "
                                  "dimension for the batch")
        for k, dim in enumerate(dims[1:], start=1):
            if not dim.HasField("dim_value") or dim.dim_value < 1:
                what = f"'{dim.dim_param}'" if dim.HasField("dim_param") else "unknown"
                raise OnnxImportError(f"input '{name}': dimension {k} is {what}; only the "
                                      "first (the batch) may vary")
        return dims

    # --------------------------------------------------------------------------- operators
    def convert(self, node: Any) -> None:
        op_type = _op_label(node)
        self.current = f"node '{_node_label(node)}' ({op_type})"
        self.onnx_ops[op_type] += 1
        converter = CONVERTERS[node.op_type]
        result = converter(self, node, self.base_name(node))
        self.values[node.output[0]] = result
        self.current = ""

    def base_name(self, node: Any) -> str:
        """The name of the node that produces an operator's output: the output's own name when
        it is the model's output, else the operator's name (or its output's, if it has none)."""
        output = node.output[0]
        is_model_output = output == self.model.graph.output[0].name
        text = output if is_model_output or not node.name else node.name
        return self.name_for(text, node.op_type.lower())


def _widened(holder: list[np.ndarray]) -> np.ndarray:
    """The float array in ``holder`` (a list of one, its only reference) as float64, made
    inside the float64 array's own memory, so that the file's copy and the whole float64 copy
    are never held at once (converting beside it held three times the weight: with one large
    weight, three times the file). The values are copied into the front of the new array, the
    file's copy is let go, and they are widened from the last down, each chunk written only past
    what is still to be read; pages not yet written take no memory."""
    array = holder.pop()
    if array.dtype == np.float64:
        return np.array(array)
    out = np.empty(array.shape, np.float64)
    flat = out.reshape(-1)
    narrow = flat.view(np.uint8)[:array.nbytes].view(array.dtype)
    narrow[:] = array.reshape(-1)
    del array  # its last reference: the file's copy is freed before the widening
    size, end = narrow.itemsize, flat.size
    while end > 0:
        # Elements [start, end) are written to bytes from 8 * start on, at or past the end of
        # where they are read (size * end): no element is overwritten before it is read.
        start = min(end - 1, -(-end * size // 8))
        flat[start:end] = narrow[start:end]
        end = start
    return out


def _attr(node: Any, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            import onnx

            return onnx.helper.get_attribute_value(attribute)
    return default


def _inputs(node: Any) -> list[str]:
    """The node's input tensor names; an empty name is an optional input left out."""
    return list(node.input)


def _op_label(node: Any) -> str:
    return _q(node.op_type if node.domain in ("", "ai.onnx")
              else f"{node.domain}.{node.op_type}")


def _node_label(node: Any) -> str:
    return _q(node.name or (node.output[0] if node.output else "?"))


def _q(name: str) -> str:
    """A name from the file as a message quotes it: whole, unless it is very long."""
    if len(name) <= SHOWN_NAME_LENGTH:
        return name
    return name[:SHOWN_NAME_LENGTH - 3] + "..."


def _type_name(elem: int) -> str:
    try:
        import onnx

        return str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)))
    except (KeyError, TypeError, ValueError):
        return f"ONNX type {elem}"


# ======================================================================= operator converters
Converter = Callable[[_Importer, Any, str], Value]


def _binary(op: str) -> Converter:
    def convert(imp: _Importer, node: Any, name: str) -> Value:
        a, b = (imp.operand(t) for t in _inputs(node)[:2])
        return imp.add(op, [a, b], name)
    return convert


def _unary(op: str) -> Converter:
    def convert(imp: _Importer, node: Any, name: str) -> Value:
        return imp.add(op, [imp.operand(node.input[0])], name)
    return convert


def _leaky_relu(imp: _Importer, node: Any, name: str) -> Value:
    alpha = float(_attr(node, "alpha", 0.01))
    return imp.add("leaky_relu", [imp.operand(node.input[0])], name, alpha=alpha)


def _pow(imp: _Importer, node: Any, name: str) -> Value:
    x = imp.operand(node.input[0])
    exponent = imp.static(node.input[1], "the exponent")
    if exponent.size != 1 or exponent.ndim > len(imp.shape_of(x)):
        raise imp.fail(f"the exponent must be one number, not an array of shape "
                       f"{format_shape(exponent.shape)}")
    if exponent.dtype.kind not in "fiu":
        raise imp.fail(f"the exponent must be a number, not {exponent.dtype}")
    return imp.add("power", [x], name, exponent=float(exponent.reshape(())))


def _matmul(imp: _Importer, node: Any, name: str) -> Value:
    a, b = (imp.operand(t) for t in node.input[:2])
    return imp.add("matmul", [a, b], name)


def _gemm(imp: _Importer, node: Any, name: str) -> Value:
    """Y = alpha * A' @ B' + beta * C, with A' = A.T when transA and B' = B.T when transB."""
    alpha = float(_attr(node, "alpha", 1.0))
    beta = float(_attr(node, "beta", 1.0))
    inputs = _inputs(node)
    has_c = len(inputs) > 2 and inputs[2] != "" and beta != 0.0  # 0 * C adds nothing
    operands = []
    for tensor, flag in ((inputs[0], "transA"), (inputs[1], "transB")):
        x = imp.operand(tensor)
        if len(imp.shape_of(x)) != 2:
            raise imp.fail(f"Gemm multiplies matrices; '{_q(tensor)}' has shape "
                           f"{format_shape(imp.shape_of(x))}")
        if int(_attr(node, flag, 0)):
            x = imp.add("transpose", [x], imp.graph.unique_name(f"{x.name}.T"))
        operands.append(x)
    last = alpha == 1.0 and not has_c
    y = imp.add("matmul", operands, name if last else imp.graph.unique_name(f"{name}.matmul"))
    if alpha != 1.0:
        scale = imp.add_constant(alpha, f"{name}.alpha")
        y = imp.add("multiply", [y, scale], name if not has_c else
                    imp.graph.unique_name(f"{name}.scaled"))
    if has_c:
        c = imp.operand(inputs[2])
        if beta != 1.0:
            c = imp.add("multiply", [c, imp.add_constant(beta, f"{name}.beta")],
                        imp.graph.unique_name(f"{name}.beta_C"))
        y = imp.add("add", [y, c], name)
    return y


def _softmax(imp: _Importer, node: Any, name: str) -> Value:
    x = imp.operand(node.input[0])
    rank = len(imp.shape_of(x))
    # Up to opset 12 Softmax flattened the input to 2-D at 'axis' (default 1) and normalised
    # the whole trailing block; that is the one-axis softmax only when the axis is the last.
    axis = int(_attr(node, "axis", -1 if imp.opset >= 13 else 1))
    if not -rank <= axis < rank:
        raise imp.fail(f"axis {axis} is out of range for shape {format_shape(imp.shape_of(x))}")
    if imp.opset < 13 and axis % rank != rank - 1:
        raise imp.fail(f"before opset 13 Softmax normalises every axis from {axis} on together; "
                       "bpstudio imports it only over the last axis")
    return imp.add("softmax", [x], name, axis=axis)


def _reduce(op: str, axes_input_from: int) -> Converter:
    """ReduceSum / ReduceMean: axes as an attribute, or (from ``axes_input_from`` on) as an
    optional second input. Several axes become one reduction per axis, last axis first, which
    is the same sum (and, over equal-sized slices, the same mean)."""

    def convert(imp: _Importer, node: Any, name: str) -> Value:
        x = imp.operand(node.input[0])
        shape = imp.shape_of(x)
        keepdims = bool(int(_attr(node, "keepdims", 1)))
        noop = False
        if imp.opset >= axes_input_from:
            inputs = _inputs(node)
            axes = (imp.static(inputs[1], "the axes").reshape(-1)
                    if len(inputs) > 1 and inputs[1] else None)
            noop = bool(int(_attr(node, "noop_with_empty_axes", 0)))
        else:
            axes = _attr(node, "axes", None)
        if axes is not None and np.asarray(axes).dtype.kind not in "iu":
            raise imp.fail("the axes must be whole numbers")
        axes = None if axes is None else [int(a) for a in np.asarray(axes).reshape(-1)]
        if not axes:
            if noop:
                return x  # no axes and noop_with_empty_axes: the input unchanged
            return imp.add(op, [x], name, axis=None, keepdims=keepdims)
        rank = len(shape)
        if any(not -rank <= a < rank for a in axes):
            raise imp.fail(f"axes {axes} are out of range for shape {format_shape(shape)}")
        chosen = sorted({a % rank for a in axes}, reverse=True)
        if len(chosen) != len(axes):
            raise imp.fail(f"axes {axes} name an axis twice")
        if len(chosen) == rank:
            return imp.add(op, [x], name, axis=None, keepdims=keepdims)
        for k, axis in enumerate(chosen):
            last = k == len(chosen) - 1
            x = imp.add(op, [x], name if last else imp.graph.unique_name(f"{name}.axis{axis}"),
                        axis=axis, keepdims=keepdims)
        return x

    return convert


def _identity(imp: _Importer, node: Any, name: str) -> Value:
    return imp.value(node.input[0])


def _transpose(imp: _Importer, node: Any, name: str) -> Value:
    x = imp.operand(node.input[0])
    rank = len(imp.shape_of(x))
    perm = _attr(node, "perm", None)
    if perm is not None and [int(p) for p in perm] != list(range(rank))[::-1]:
        raise imp.fail(f"permutes the axes as {tuple(int(p) for p in perm)}; bpstudio imports "
                       "a Transpose that reverses them (the matrix transpose)")
    return imp.add("transpose", [x], name)


def _rows(imp: _Importer, x: Node, name: str, target: str,
          first_kept: Callable[[Shape], bool]) -> Value:
    """``x`` as (N, features): itself when it already is, else through a flatten node.
    ``first_kept(shape)`` says whether the operator keeps the first axis (the batch, or a
    fixed tensor's first axis) and joins the rest."""
    shape = imp.shape_of(x)
    if not shape or BATCH in shape[1:] or not first_kept(shape):
        raise imp.fail(f"reshapes {format_shape(shape)} to {target}; bpstudio imports a "
                       "reshape only to (N, features), keeping the first axis (the batch)")
    if len(shape) == 2:
        return x  # already (N, features): the operator changes nothing
    return imp.add("flatten", [x], name)


def _flatten(imp: _Importer, node: Any, name: str) -> Value:
    x = imp.operand(node.input[0])
    axis = int(_attr(node, "axis", 1))

    def kept(shape: Shape) -> bool:
        a = axis + len(shape) if axis < 0 else axis
        return a >= 1 and all(d == 1 for d in shape[1:a])

    return _rows(imp, x, name, f"(the product of the dimensions before axis {axis}, the rest)",
                 kept)


def _reshape(imp: _Importer, node: Any, name: str) -> Value:
    x = imp.operand(node.input[0])
    dims = imp.static(node.input[1], "the target shape")
    if dims.dtype.kind not in "iu":
        raise imp.fail("the target shape must be whole numbers")
    dims = [int(d) for d in dims.reshape(-1)]
    allow_zero = bool(int(_attr(node, "allowzero", 0)))
    target = "(" + ", ".join(str(d) for d in dims) + (",)" if len(dims) == 1 else ")")
    if allow_zero and 0 in dims:
        raise imp.fail(f"reshapes to {target} with allowzero: an empty axis")
    def kept(shape: Shape) -> bool:
        if len(dims) != 2:
            return False
        features = math.prod(shape[1:])
        first, second = dims
        if second == 0:  # 0 copies the input's dimension at the same place
            if len(shape) < 2:
                return False
            second = shape[1]
        if first == -1:
            return second == features
        if shape[0] == BATCH:  # the batch, or the number an exporter fixed it to
            same = first == 0 or (imp.fixed_batch is not None and first == imp.fixed_batch)
        else:
            same = first in (0, shape[0])
        return same and second in (-1, features)

    return _rows(imp, x, name, target, kept)


def _constant(imp: _Importer, node: Any, name: str) -> Value:
    onnx = imp.onnx
    for attribute in node.attribute:
        key = attribute.name
        if key == "value":
            array = _tensor_array(onnx, attribute.t, f"constant '{_q(node.output[0])}'")
        elif key in ("value_float", "value_floats"):
            array = np.asarray(onnx.helper.get_attribute_value(attribute), dtype=np.float32)
        elif key in ("value_int", "value_ints"):
            array = np.asarray(onnx.helper.get_attribute_value(attribute), dtype=np.int64)
        else:
            raise imp.fail(f"a Constant given as '{_q(key)}' is not supported (give a tensor, "
                           "numbers or whole numbers)")
        return _Static(node.output[0], array, trainable=False)
    raise imp.fail("the Constant has no value")


CONVERTERS: dict[str, Converter] = {
    "Add": _binary("add"),
    "Sub": _binary("subtract"),
    "Mul": _binary("multiply"),
    "Div": _binary("divide"),
    "Pow": _pow,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Relu": _unary("relu"),
    "LeakyRelu": _leaky_relu,
    "Sigmoid": _unary("sigmoid"),
    "Tanh": _unary("tanh"),
    "Softmax": _softmax,
    "Exp": _unary("exp"),
    "Log": _unary("log"),
    # ReduceSum takes its axes as an input from opset 13 on, ReduceMean from opset 18 on.
    "ReduceSum": _reduce("sum", 13),
    "ReduceMean": _reduce("mean", 18),
    "Identity": _identity,
    "Transpose": _transpose,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Constant": _constant,
}
SUPPORTED = tuple(CONVERTERS)


# ========================================================================== reading the file
def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise OnnxImportError("ONNX import needs the 'onnx' package (pip install onnx)") from None
    return onnx


def _read_model(path: str | os.PathLike[str], onnx: Any,
                limits: Limits) -> tuple[Any, str | None]:
    """The model in the file at ``path`` (a regular file, at most ``limits.max_entry_bytes``),
    and what the ONNX checker says of it (None: it passes).

    The checker reads the file itself, while nothing else is in memory: handed a ModelProto it
    would serialize it again and parse that copy (up to five times the file at once). The
    file's bytes are gone once the model is parsed."""
    limit = limits.max_entry_bytes
    with open_regular(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise OnnxImportError(f"the file is larger than {limit} bytes, the most a model "
                                  "may hold")
        problem = _checker_problem(onnx, _path_of(stream, path))
        # One byte past the size it has: a file that grew meanwhile is not read half.
        data = stream.read(size + 1)
    if len(data) > size:
        raise OnnxImportError("the file changed while it was read: import it again")
    return _parse(onnx, data), problem


def _path_of(stream: Any, path: str | os.PathLike[str]) -> str:
    """A path to the very file ``stream`` has open (it may have been replaced since), where the
    system has one; else ``path``."""
    same = f"/proc/self/fd/{stream.fileno()}"
    return same if os.path.exists(same) else os.fspath(path)


def _parse(onnx: Any, data: bytes) -> Any:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError, or a RuntimeError)
        raise OnnxImportError(f"not an ONNX model (it cannot be parsed: {str(exc)[:200]})") \
            from None
    return model


def _checker_problem(onnx: Any, model: Any) -> str | None:
    """The first line of what ``onnx.checker`` (with shape inference) finds wrong with
    ``model`` (a ModelProto, its bytes, or a path to its file), or None."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001  (ValidationError, InferenceError, and the C++
        # layer's own errors: whatever the checker raises, the model did not pass)
        first = " ".join(str(exc).strip().splitlines()[:1]) or type(exc).__name__
        return f"the model fails the ONNX checker: {first[:300]}"
    return None


def _tensor_array(onnx: Any, tensor: Any, what: str) -> np.ndarray:
    """A TensorProto's values, after checking that its data is inside the file and of the size
    its dimensions say (so a hostile header cannot ask for a huge array)."""
    if tensor.data_location == _EXTERNAL:
        location = next((e.value for e in tensor.external_data if e.key == "location"), "?")
        raise OnnxImportError(f"{what} keeps its data in an external file ('{_q(location)}'): "
                              "bpstudio imports self-contained models only (save the model "
                              "with its weights inside)")
    if any(d < 0 for d in tensor.dims):
        raise OnnxImportError(f"{what} has a negative dimension {list(tensor.dims)}")
    try:
        np_type = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
    except (KeyError, TypeError, ValueError):
        raise OnnxImportError(f"{what} has an unknown element type ({tensor.data_type})") \
            from None
    if np_type.kind not in "biuf":
        raise OnnxImportError(f"{what} holds {np_type} values; only numbers are read")
    count = math.prod(tensor.dims)
    if tensor.HasField("raw_data"):
        held = len(tensor.raw_data) // max(np_type.itemsize, 1)
    else:
        held = max(len(tensor.float_data), len(tensor.double_data), len(tensor.int32_data),
                   len(tensor.int64_data), len(tensor.uint64_data))
    if held != count:
        raise OnnxImportError(f"{what} says shape {tuple(tensor.dims)} ({count} values) but "
                              f"holds {held}")
    try:
        array = onnx.numpy_helper.to_array(tensor)
    except Exception as exc:  # noqa: BLE001  (any decoding failure means a damaged tensor)
        raise OnnxImportError(f"{what} cannot be read: {str(exc)[:200]}") from None
    return np.asarray(array)


def _opset(model: Any, onnx: Any) -> int:
    """The opset of the default domain. A domain listed twice is refused: the checker and
    onnxruntime read the last entry, so an importer reading another would run a different
    model (Softmax changed meaning at opset 13) without a word."""
    listed: dict[str, list[str]] = {}
    for entry in model.opset_import:
        domain = "ai.onnx" if entry.domain in ("", "ai.onnx") else entry.domain
        listed.setdefault(domain, []).append(f"'{_q(entry.domain)}' {entry.version}")
    for domain, entries in listed.items():
        if len(entries) > 1:
            which = " (the default)" if domain == "ai.onnx" else ""
            raise OnnxImportError(f"opset_import lists the domain '{_q(domain)}'{which} "
                                  f"{len(entries)} times ({', '.join(entries[:4])}): which "
                                  "opset the model means is ambiguous")
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise OnnxImportError("the model names no ONNX opset (it is not an ONNX model, or an "
                              "empty one)")
    opset = int(versions[0])
    newest = onnx.defs.onnx_opset_version()
    if opset < MIN_OPSET:
        raise OnnxImportError(f"the model uses opset {opset}; bpstudio imports opset "
                              f"{MIN_OPSET} and newer (convert it with "
                              "onnx.version_converter)")
    if opset > newest:
        raise OnnxImportError(f"the model uses opset {opset}, newer than the installed onnx "
                              f"{onnx.__version__} knows (up to {newest}): update onnx")
    return opset


def _check_model(model: Any, onnx: Any, limits: Limits,
                 checker: Callable[[], str | None]) -> None:
    graph = model.graph
    count = len(graph.node) + len(graph.initializer)
    if count > limits.max_entries:
        raise OnnxImportError(f"the model has {count} operators and initializers; at most "
                              f"{limits.max_entries} are allowed")
    if len(graph.sparse_initializer):
        raise OnnxImportError(f"initializer '{_q(graph.sparse_initializer[0].values.name)}' is "
                              "sparse: bpstudio imports dense tensors only")
    tensors = [(t, f"initializer '{_q(t.name)}'") for t in graph.initializer]
    tensors += [(a.t, f"constant '{_q(n.output[0] if n.output else n.name)}'")
                for n in graph.node for a in n.attribute if a.HasField("t")]
    for tensor, what in tensors:  # before the checker, which would look for the files
        if tensor.data_location == _EXTERNAL:
            _tensor_array(onnx, tensor, what)  # raises, naming the tensor and its file
    problem = checker()
    if problem is not None:
        raise OnnxImportError(problem)
    outputs = [o.name for o in graph.output]
    if not outputs:
        raise OnnxImportError("the model has no output: it computes nothing")
    if len(outputs) != 1:
        names = ", ".join(f"'{_q(n)}'" for n in outputs[:5]) + (", ..." if len(outputs) > 5 else "")
        raise OnnxImportError(f"the model has {len(outputs)} outputs ({names}): bpstudio "
                              "imports a model with one output")


def _needed(model: Any) -> list[Any]:
    """The operators the output depends on, in the file's (topological) order."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output if out}
    needed: set[int] = set()
    stack = [graph.output[0].name]
    seen: set[str] = set()
    while stack:
        tensor = stack.pop()
        if tensor in seen or tensor not in producer:
            continue
        seen.add(tensor)
        node = producer[tensor]
        needed.add(id(node))
        stack.extend(t for t in node.input if t)
    return [n for n in graph.node if id(n) in needed]


def _used_tensors(nodes: list[Any], output: str) -> set[str]:
    return {t for n in nodes for t in n.input if t} | {output}


def _refuse_unsupported(nodes: list[Any]) -> None:
    for node in nodes:
        if node.domain not in ("", "ai.onnx") or node.op_type not in CONVERTERS:
            raise OnnxImportError(f"node '{_node_label(node)}' ({_op_label(node)}) is not "
                                  "supported: bpstudio builds dense networks")


SHOWN_IN_A_LIST = 10  # names a description lists before "and N more"
MAX_DOC_LENGTH = 2000  # characters of the model's own doc_string kept in the description


def _listed(items: list[str], most: int = SHOWN_IN_A_LIST) -> str:
    """``items`` joined, the first ``most`` of them when there are more: a description the
    importer writes must fit the limit every description keeps, whatever the model holds."""
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most:,} more" if len(items) > most else "")


def _describe(imp: _Importer, source: str, out: Node, unsampled: list[str]) -> str:
    model = imp.model
    graph = imp.graph
    producer = _q(" ".join(p for p in (model.producer_name, model.producer_version) if p))
    params = graph.nodes_of("parameter")
    numbers = sum(int(n.value.size) for n in params)
    ops = _listed([f"{op} x{k}" if k > 1 else op for op, k in imp.onnx_ops.items()], 30)
    inputs = _listed([f"'{n.name}' {format_shape(imp.shapes[n.id])}"
                      for n in graph.nodes_of("input")])
    text = (f"Imported from the ONNX model {source} (made by {producer or 'an unnamed producer'}, "
            f"opset {imp.opset}, IR version {model.ir_version}). Its {sum(imp.onnx_ops.values())} "
            f"operators ({ops or 'none'}) became {len(graph.nodes)} nodes; "
            f"{len(params)} parameter arrays hold {numbers:,} numbers. "
            f"Input{'s' if len(graph.nodes_of('input')) != 1 else ''} {inputs or 'none'}; "
            f"output '{out.name}' {format_shape(imp.shapes[out.id])}. "
            "It computes predictions: to train it, add the loss the data call for "
            "(softmax cross-entropy for classes, mean squared error for values).")
    if imp.left_out:
        text += (f" {len(imp.left_out):,} input{'s' if len(imp.left_out) != 1 else ''} the "
                 "output does not use " + ("were" if len(imp.left_out) != 1 else "was")
                 + " left out: " + _listed([f"'{_q(n)}'" for n in imp.left_out]) + ".")
    for reason in unsampled[:SHOWN_IN_A_LIST]:
        text += f" The {reason}: feed it from data to run it."
    if len(unsampled) > SHOWN_IN_A_LIST:
        text += f" {len(unsampled) - SHOWN_IN_A_LIST:,} more inputs have no sample rows either."
    about = (model.doc_string or model.graph.doc_string).strip()
    if about:
        text += "\n\n" + (about if len(about) <= MAX_DOC_LENGTH
                           else about[:MAX_DOC_LENGTH - 3] + "...")
    if len(text) > rules.MAX_DESCRIPTION_LENGTH:  # (cannot happen with the caps above)
        text = text[:rules.MAX_DESCRIPTION_LENGTH - 3] + "..."
    return text


# =============================================================================== public API
def onnx_to_project(model: Any, source: str = "(in memory)",
                    limits: Limits = DEFAULT_LIMITS) -> Project:
    """The graph of an ``onnx.ModelProto``, laid out and described, with a sample to run it
    on by hand. Raises :class:`OnnxImportError` naming what cannot be imported."""
    onnx = _import_onnx()
    return _to_project([model], onnx, source, limits, lambda: _checker_problem(onnx, model),
                       owned=False)


def _to_project(holder: list[Any], onnx: Any, source: str, limits: Limits,
                checker: Callable[[], str | None], owned: bool) -> Project:
    """The import of the model in ``holder`` (a list of one, so that no caller keeps a
    reference to it). An ``owned`` model is the importer's to take apart: once its weights are
    read, the rest is copied into a small model and the original, with the file's copy of
    every weight, is freed (protobuf frees a message's memory only with the whole message)."""
    model = holder.pop()
    opset = _opset(model, onnx)
    _check_model(model, onnx, limits, checker)
    imp = _Importer(onnx, model, opset, source)
    output = model.graph.output[0].name
    used = _used_tensors(_needed(model), output)
    imp.add_inputs(used)
    _refuse_unsupported(_needed(model))
    imp.take_weights(used)
    if owned:
        del model.graph.initializer[:]
        imp.model = onnx.ModelProto()
        imp.model.CopyFrom(model)
        model = imp.model
    for node in _needed(model):
        imp.convert(node)
    if output not in imp.values:
        raise OnnxImportError(f"the model's output '{_q(output)}' is computed by nothing")
    out = imp.operand(output)
    for node in imp.graph.nodes_of("input"):
        if node is not out and not imp.graph.output_edges(node):
            # Fed only into what computes nothing (Gemm's C with beta = 0): a loose input would
            # make a second output.
            imp.graph.remove_node(node)
            imp.left_out.append(node.name)
    try:
        imp.graph.check([out])
    except GraphError as exc:
        raise OnnxImportError(str(exc)) from None
    unsampled = fill_default_sample(imp.graph)
    group_dense_layers(imp.graph)  # (a Gemm, or MatMul + Add, then an activation: a layer)
    apply_layout(imp.graph)
    return Project(imp.graph, description=_describe(imp, source, out, unsampled))


def loads_onnx(data: bytes, source: str = "(in memory)",
               limits: Limits = DEFAULT_LIMITS) -> Project:
    """The graph of the ONNX model in ``data`` (the bytes of a ``.onnx`` file)."""
    if len(data) > limits.max_entry_bytes:
        raise OnnxImportError(f"the model is larger than {limits.max_entry_bytes} bytes, the "
                              "most a model may hold")
    onnx = _import_onnx()
    return _to_project([_parse(onnx, data)], onnx, source, limits,
                       lambda: _checker_problem(onnx, data), owned=True)


def import_onnx(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Project:
    """Read the ONNX model at ``path`` as a project (its graph laid out left to right and
    described). Every reason it cannot be imported raises :class:`OnnxImportError` (a
    FileFormatError) starting with the path; a file that cannot be opened, or a path that is
    not a regular file (a device, a FIFO, a folder), raises OSError naming it.

    Memory stays near twice the file (the weights become float64): the checker and the parse
    each hold one copy of the file at a time, the parsed model is freed as the weights are
    taken out of it, and each weight is widened in its float64 array once the file's copy of
    it is let go (see _widened)."""
    try:
        onnx = _import_onnx()
        holder = list(_read_model(path, onnx, limits))
        problem = holder.pop()
        return _to_project(holder, onnx, f"'{os.path.basename(os.fspath(path))}'", limits,
                           lambda: problem, owned=True)
    except (OnnxImportError, GraphError) as exc:  # (a GraphError: whatever the graph refused)
        raise OnnxImportError(f"{os.fspath(path)}: {exc}") from None


def is_onnx_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an ONNX model (by its suffix), as opposed to a project file."""
    return os.fspath(path).lower().endswith(".onnx")


__all__ = ["CONSTANT_MARK", "CONVERTERS", "MIN_OPSET", "OnnxImportError", "SUPPORTED",
           "import_onnx", "is_onnx_path", "loads_onnx", "onnx_to_project"]
