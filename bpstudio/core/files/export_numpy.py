"""Export the inference part of a graph as standalone NumPy code.

Writes ``NAME.py``, a module with a ``predict(x)`` function that imports only NumPy, and
``NAME.npz`` beside it with the weights. The generated code computes the same output node as
the ONNX export (see :func:`~bpstudio.core.files.export_onnx.inference_output`), in float64 like the
engine, one readable line per node with the node's name in a comment.
"""

from __future__ import annotations

import io
import keyword
import os
import re
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .atomicfile import atomic_write_bytes, check_target
from .export_common import ExportError, check_names, inference_output
from ..graph import Graph, Node, NodeRef
from ..interface import SIGMOID, SOFTMAX, ModelInterface
from ..shapes import format_shape
from ...version import __version__

# Helpers the generated module defines only when an op needs them.
HELPERS = {
    "sigmoid": '''
def _sigmoid(x):
    """1 / (1 + e^-x), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
''',
    "softmax": '''
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
''',
}


def _reduce(function: str) -> Callable[[Node, list[str]], str]:
    def code(node: Node, a: list[str]) -> str:
        axis, keepdims = node.params["axis"], bool(node.params["keepdims"])
        return f"np.asarray(np.{function}({a[0]}, axis={axis!r}, keepdims={keepdims!r}))"
    return code


# op name -> the expression computing it from the names of its inputs' variables.
EXPRESSIONS: dict[str, Callable[[Node, list[str]], str]] = {
    "add": lambda n, a: f"{a[0]} + {a[1]}",
    "subtract": lambda n, a: f"{a[0]} - {a[1]}",
    "multiply": lambda n, a: f"{a[0]} * {a[1]}",
    "divide": lambda n, a: f"{a[0]} / {a[1]}",
    "matmul": lambda n, a: f"np.matmul({a[0]}, {a[1]})",
    "power": lambda n, a: f"{a[0]} ** {float(n.params['exponent'])!r}",
    "square": lambda n, a: f"{a[0]} * {a[0]}",
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "transpose": lambda n, a: f"np.transpose({a[0]})",
    "flatten": lambda n, a: f"{a[0]}.reshape({a[0]}.shape[0], -1)",
    "relu": lambda n, a: f"np.maximum({a[0]}, 0.0)",
    "leaky_relu": lambda n, a: (f"np.where({a[0]} > 0.0, {a[0]}, "
                                f"{float(n.params['alpha'])!r} * {a[0]})"),
    "sigmoid": lambda n, a: f"_sigmoid({a[0]})",
    "tanh": lambda n, a: f"np.tanh({a[0]})",
    "exp": lambda n, a: f"np.exp({a[0]})",
    "log": lambda n, a: f"np.log({a[0]})",
    "softmax": lambda n, a: f"_softmax({a[0]}, {int(n.params['axis'])!r})",
}


# Names the generated module defines itself.
RESERVED = {"np", "os", "predict", "WEIGHTS", "INPUTS", "OUTPUT", "MEAN", "STD", "TASK",
            "FEATURE_NAMES", "TARGET_NAME", "CLASS_NAMES", "STANDARDISATION", "BPSTUDIO_VERSION",
            "DESCRIPTION", "HERE", "WEIGHTS_FILE"}


def interface_constants(interface: ModelInterface | None, version: str) -> list[str]:
    """Module-level constants saying what the model expects and returns (the NumPy and the
    PyTorch code carry the same as an ONNX model's metadata_props)."""
    if interface is None:
        return []
    stats = None if interface.mean is None else {
        "mean": [float(v) for v in interface.mean], "std": [float(v) for v in interface.std]}
    return [f"TASK = {interface.task!r}",
            f"FEATURE_NAMES = {list(interface.feature_names)!r}",
            f"TARGET_NAME = {interface.target_name!r}",
            f"CLASS_NAMES = {list(interface.class_names)!r}",
            "# The standardisation training applied; the model applies it to the raw rows.",
            f"STANDARDISATION = {stats!r}",
            f"BPSTUDIO_VERSION = {version!r}"]


def _identifier(name: str, taken: set[str]) -> str:
    """A Python identifier for an input name (``x``, ``features_2``), unique among ``taken``."""
    base = re.sub(r"\W", "_", name)
    if not base or base[0].isdigit():
        base = "_" + base
    if keyword.iskeyword(base) or base in RESERVED:
        base += "_"
    ident, k = base, 1
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident


def numpy_source(graph: Graph, weights_file: str, output: NodeRef | None = None,
                 description: str = "", interface: ModelInterface | None = None
                 ) -> tuple[str, dict[str, np.ndarray]]:
    """The module's source text and the arrays for its ``.npz``. With an ``interface``,
    ``predict`` takes raw feature rows (standardised first, as in training) and returns what
    the app shows (probabilities for scores); without one, the bare graph."""
    out_node = inference_output(graph, output)
    order = graph.topological_order([out_node])
    check_names(order)
    graph.check([out_node])
    for node in order:
        if node.spec.source is None and node.op not in EXPRESSIONS:
            what = ("a loss is only used for training" if node.spec.is_loss
                    else "no NumPy code for it")
            raise ExportError(f"{node.label} cannot be exported to NumPy code ({what}); "
                              "choose an output node before it")
    taken: set[str] = set()
    inputs = [n for n in order if n.spec.source == "input"]
    arguments = {n.id: _identifier(n.name, taken) for n in inputs}
    weights = {n.name: np.asarray(n.value, dtype=np.float64) for n in order
               if n.spec.source in ("parameter", "constant")}
    readout = {SOFTMAX: "softmax", SIGMOID: "sigmoid"}.get(interface.readout) \
        if interface is not None else None
    helpers = sorted(({n.op for n in order} | {readout}) & set(HELPERS))
    featured = interface is not None and any(n.name == interface.feature_input for n in inputs)
    if featured:
        feature_node = next(n for n in inputs if n.name == interface.feature_input)
        feature_shape = tuple(feature_node.params["shape"])
        taken.discard(arguments[feature_node.id])
        arguments[feature_node.id] = _identifier("features", taken)

    variable: dict[str, str] = {}
    body = []
    for node in order:
        source = node.spec.source
        if source == "input":
            variable[node.id] = arguments[node.id]
            shape = tuple(node.params["shape"])
            body.append(f"    {arguments[node.id]} = _batch({arguments[node.id]}, {node.name!r}, "
                        f"{shape!r})")
            if featured and node.name == interface.feature_input and interface.standardised:
                body.append(f"    {arguments[node.id]} = ({arguments[node.id]} - MEAN) / STD"
                            "  # standardised as in training")
        elif source in ("parameter", "constant"):
            variable[node.id] = f"WEIGHTS[{node.name!r}]"
        else:
            var = f"v{len(variable)}"
            args = [variable[e.src] for e in graph.input_edges(node)]
            expression = EXPRESSIONS[node.op](node, args)
            body.append(f"    {var} = {expression}  # {node.op} '{node.name}'")
            variable[node.id] = var
    result = variable[out_node.id]
    if readout == "softmax":
        result = f"_softmax({result}, -1)  # the probability of each class"
    elif readout == "sigmoid":
        result = f"_sigmoid({result})  # the probability of class 1"
    body.append(f"    return {result}")

    signature = ", ".join(arguments[n.id] for n in inputs)
    shapes = ", ".join(f"{n.name!r}: {tuple(n.params['shape'])!r}" for n in inputs)
    arg_doc = "\n".join(f"    {arguments[n.id]}: input '{n.name}', shape "
                        f"{format_shape(('N',) + tuple(n.params['shape']))}" for n in inputs)
    returns = f"'{out_node.name}'"
    if featured:
        arg_doc = arg_doc.replace(f"input '{feature_node.name}'", f"{interface.input_text()}; "
                                  f"input '{feature_node.name}'")
        returns = interface.output_text()
    summary = description.strip().split("\n")[0] if description.strip() else ""
    lines = [
        f'"""predict({signature}) computes {returns}, exported from Backprop Studio '
        f'{__version__}.',
        "",
        "Needs only NumPy. The weights are read from the .npz file beside this one.",
        '"""',
        "",
        "import os",
        "",
        "import numpy as np",
        "",
        f"DESCRIPTION = {summary!r}",
        f"INPUTS = {{{shapes}}}  # input name -> shape of one sample (the batch comes first)",
        f"OUTPUT = {out_node.name!r}",
        *interface_constants(interface if featured else None, __version__),
        "HERE = os.path.dirname(os.path.abspath(__file__))",
        f"WEIGHTS_FILE = os.path.join(HERE, {weights_file!r})",
        "with np.load(WEIGHTS_FILE, allow_pickle=False) as _archive:",
        "    WEIGHTS = {name: _archive[name] for name in _archive.files}",
        *(["MEAN = np.array(STANDARDISATION['mean'])"
           f".reshape({feature_shape!r})",
           "STD = np.array(STANDARDISATION['std'])"
           f".reshape({feature_shape!r})"]
          if featured and interface.standardised else []),
        "",
        "",
        "def _batch(value, name, shape):",
        "    array = np.asarray(value, dtype=np.float64)",
        "    if array.ndim != len(shape) + 1 or array.shape[1:] != shape:",
        "        raise ValueError(f\"input '{name}': expected shape (N, *{shape}), \"",
        "                         f\"got {array.shape}\")",
        "    return array",
        "",
    ]
    for name in helpers:
        lines += [HELPERS[name].rstrip("\n"), ""]
    lines += [
        "",
        f"def predict({signature}):",
        f'    """Compute {returns} for a batch (every input\'s first axis is the batch).',
        "",
        arg_doc,
        '    """',
        *body,
        "",
    ]
    return "\n".join(lines), weights


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive (a zip of .npy entries); written by hand because np.savez takes the
    names as keyword arguments, where a node called 'file' would collide with its own."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            npy = io.BytesIO()
            np.save(npy, array, allow_pickle=False)
            archive.writestr(f"{name}.npy", npy.getvalue())
    return buffer.getvalue()


def numpy_targets(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The code file and the weights file beside it (``NAME.py``, ``NAME.npz``), once both are
    known to be writable: refused before any work, naming ``path`` as it was given."""
    given = os.fspath(path)
    target = Path(given)
    if given.endswith(("/", os.sep)) or target.suffix != ".py" or not target.stem:
        what = ("a name before .py" if target.name.endswith(".py")
                else "a name ending in .py")
        raise ExportError(f"'{given}': the code file needs {what}, such as model.py")
    weights_path = target.with_suffix(".npz")
    check_target(given)
    check_target(weights_path)
    return target, weights_path


def export_numpy(graph: Graph, path: str | os.PathLike[str], output: NodeRef | None = None,
                 description: str = "", interface: ModelInterface | None = None) -> None:
    """Write ``path`` (a .py module with ``predict``) and the weights beside it (.npz); with an
    ``interface``, ``predict`` takes raw rows (see :func:`numpy_source`)."""
    target, weights_path = numpy_targets(path)
    source, weights = numpy_source(graph, weights_path.name, output, description, interface)
    atomic_write_bytes(weights_path, npz_bytes(weights))
    atomic_write_bytes(target, source.encode("utf-8"))


__all__ = ["EXPRESSIONS", "export_numpy", "numpy_source", "numpy_targets"]
