"""Export a graph as a readable PyTorch module, for training at scale elsewhere.

Writes ``NAME.py``, a ``torch.nn.Module`` subclass that imports only torch and NumPy, and
``NAME.npz`` beside it with its ``state_dict`` (trained weights and the standardisation). The
weights are an ``.npz`` rather than safetensors because NumPy reads it with
``np.load(allow_pickle=False)`` and no further package, while ``torch.save`` files are pickles
that can run code when loaded.

The module's ``forward`` computes the graph's prediction (the scores a loss reads), one line per
node; a dense layer (``x @ W + b`` with its own weight matrix and bias) becomes an
``nn.Linear``, whose ``weight`` is ``W`` transposed. ``predict`` adds what the app shows
(probabilities for scores) and ``loss`` is the graph's training loss, written with
``torch.nn.functional``, so that training in PyTorch lowers the same number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .atomicfile import atomic_write_bytes, check_target
from .export_common import ExportError, check_names, inference_output
from .export_numpy import interface_constants, npz_bytes
from ..graph import Graph, Node, NodeRef
from ..interface import SIGMOID, SOFTMAX, ModelInterface
from ..shapes import format_shape
from ...version import __version__


def _reduce(function: str) -> Callable[[Node, list[str]], str]:
    def code(node: Node, a: list[str]) -> str:
        axis, keepdims = node.params["axis"], bool(node.params["keepdims"])
        if axis is None:
            if keepdims:
                return f"{a[0]}.{function}(dim=tuple(range({a[0]}.dim())), keepdim=True)"
            return f"{a[0]}.{function}()"
        return f"{a[0]}.{function}(dim={int(axis)}, keepdim={keepdims})"
    return code


# op name -> the torch expression computing it from its inputs' variables.
EXPRESSIONS: dict[str, Callable[[Node, list[str]], str]] = {
    "add": lambda n, a: f"{a[0]} + {a[1]}",
    "subtract": lambda n, a: f"{a[0]} - {a[1]}",
    "multiply": lambda n, a: f"{a[0]} * {a[1]}",
    "divide": lambda n, a: f"{a[0]} / {a[1]}",
    "matmul": lambda n, a: f"torch.matmul({a[0]}, {a[1]})",
    "power": lambda n, a: f"{a[0]} ** {float(n.params['exponent'])!r}",
    "square": lambda n, a: f"{a[0]} * {a[0]}",
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "transpose": lambda n, a: f"{a[0]}.permute(*reversed(range({a[0]}.dim())))",
    "flatten": lambda n, a: f"{a[0]}.reshape({a[0]}.shape[0], -1)",
    "relu": lambda n, a: f"torch.relu({a[0]})",
    "leaky_relu": lambda n, a: f"F.leaky_relu({a[0]}, {float(n.params['alpha'])!r})",
    "sigmoid": lambda n, a: f"torch.sigmoid({a[0]})",
    "tanh": lambda n, a: f"torch.tanh({a[0]})",
    "exp": lambda n, a: f"torch.exp({a[0]})",
    "log": lambda n, a: f"torch.log({a[0]})",
    "softmax": lambda n, a: f"torch.softmax({a[0]}, dim={int(n.params['axis'])})",
}

# The graph's losses as torch computes them (the same formulas as ops/losses.py, mean over
# the batch).
LOSSES: dict[str, str] = {
    "mse": "torch.mean((prediction - target) ** 2)",
    "bce": "-torch.mean(target * torch.log(prediction) + (1 - target) * torch.log1p(-prediction))",
    "bce_logits": "F.binary_cross_entropy_with_logits(prediction, target)",
    "softmax_ce": "F.cross_entropy(prediction, target.long())",
}


@dataclass(frozen=True)
class Dense:
    """x @ W + b with a weight matrix and a bias of its own: one nn.Linear."""

    add: Node
    matmul: Node
    weight: Node
    bias: Node


def _attribute(name: str, taken: set[str]) -> str:
    """A Python attribute name for a node name (``h1.W`` -> ``h1_W``), unique among ``taken``."""
    base = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not base or base[0].isdigit():
        base = "_" + base
    ident, k = base, 1
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident


def dense_layers(graph: Graph, order: list[Node]) -> dict[str, Dense]:
    """The add node's id -> its dense layer, for every ``add(matmul(x, W), b)`` in ``order``
    whose W (2-D) and b (1-D, one per column) are parameters used nowhere else and whose matmul
    feeds only the add."""
    found = {}
    in_order = {n.id for n in order}

    def sole_use(node: Node) -> bool:
        return len([e for e in graph.output_edges(node) if e.dst in in_order]) == 1

    for node in order:
        if node.op != "add":
            continue
        left, right = (graph.nodes[e.src] for e in graph.input_edges(node))
        if left.op != "matmul" or right.spec.source != "parameter" or not sole_use(left):
            continue
        w = graph.nodes[graph.input_edges(left)[1].src]
        if w.spec.source != "parameter" or np.ndim(w.value) != 2 or not sole_use(w) \
                or not sole_use(right) or np.shape(right.value) != (np.shape(w.value)[1],):
            continue
        found[node.id] = Dense(node, left, w, right)
    return found


def torch_source(graph: Graph, weights_file: str, output: NodeRef | None = None,
                 description: str = "", interface: ModelInterface | None = None
                 ) -> tuple[str, dict[str, np.ndarray]]:
    """The module's source text and its state_dict as arrays (for the ``.npz``)."""
    out_node = inference_output(graph, output)
    order = graph.topological_order([out_node])
    check_names(order)
    graph.check([out_node])
    for node in order:
        if node.spec.source is None and node.op not in EXPRESSIONS:
            what = ("a loss is only used for training" if node.spec.is_loss
                    else "no PyTorch code for it")
            raise ExportError(f"{node.label} cannot be exported to PyTorch ({what}); "
                              "choose an output node before it")
    loss = _loss_of(graph, out_node)
    dense = dense_layers(graph, order)
    in_dense = {d.matmul.id for d in dense.values()} | {
        p.id for d in dense.values() for p in (d.weight, d.bias)}

    # Local variables and the module's attributes are named apart, each unique in its own room.
    taken = {"self", "torch", "nn", "F", "np", "os"}
    attributes = {"mean", "std", "forward", "predict", "loss", "training", "to", "type",
                  "float", "double", "state_dict", "parameters", "buffers", "modules", "eval",
                  "train", "zero_grad", "cuda", "cpu", "apply"}
    inputs = [n for n in order if n.spec.source == "input"]
    featured = interface is not None and any(n.name == interface.feature_input for n in inputs)
    arguments = {n.id: _attribute("features" if featured and n.name == interface.feature_input
                                  else n.name, taken) for n in inputs}
    state: dict[str, np.ndarray] = {}
    init: list[str] = []
    parameters: list[str] = []   # "bpstudio name": ("state key", transposed)
    variable: dict[str, str] = {}
    if featured and interface.standardised:
        shape = tuple(graph.node(interface.feature_input).params["shape"])
        init += [f"self.register_buffer('mean', torch.zeros({shape!r}, dtype=dtype))"
                 "  # the standardisation training applied",
                 f"self.register_buffer('std', torch.ones({shape!r}, dtype=dtype))"]
        state["mean"] = np.asarray(interface.mean, dtype=np.float64).reshape(shape)
        state["std"] = np.asarray(interface.std, dtype=np.float64).reshape(shape)
    for d in dense.values():
        attr = _attribute(_layer_name(d), attributes)
        fan_in, fan_out = np.shape(d.weight.value)
        init.append(f"self.{attr} = nn.Linear({fan_in}, {fan_out}, dtype=dtype)"
                    f"  # '{d.matmul.name}' and '{d.add.name}': "
                    f"x @ {d.weight.name} + {d.bias.name}")
        state[f"{attr}.weight"] = np.asarray(d.weight.value, dtype=np.float64).T.copy()
        state[f"{attr}.bias"] = np.asarray(d.bias.value, dtype=np.float64).copy()
        parameters += [f"    {d.weight.name!r}: ({attr + '.weight'!r}, True),",
                       f"    {d.bias.name!r}: ({attr + '.bias'!r}, False),"]
        variable[d.add.id] = f"self.{attr}"
    for node in order:
        if node.id in in_dense or node.spec.source not in ("parameter", "constant"):
            continue
        attr = _attribute(node.name, attributes)
        shape = tuple(np.shape(node.value))
        if node.spec.source == "parameter":
            init.append(f"self.{attr} = nn.Parameter(torch.zeros({shape!r}, dtype=dtype))"
                        f"  # parameter '{node.name}'")
            parameters.append(f"    {node.name!r}: ({attr!r}, False),")
        else:
            init.append(f"self.register_buffer({attr!r}, torch.zeros({shape!r}, dtype=dtype))"
                        f"  # constant '{node.name}'")
        state[attr] = np.asarray(node.value, dtype=np.float64)
        variable[node.id] = f"self.{attr}"

    body = []
    for node in order:
        if node.spec.source == "input":
            arg = arguments[node.id]
            variable[node.id] = arg
            if featured and node.name == interface.feature_input and interface.standardised:
                body.append(f"        {arg} = ({arg} - self.mean) / self.std"
                            "  # standardised as in training")
        elif node.id in dense:
            layer = variable[node.id]
            source = variable[graph.input_edges(dense[node.id].matmul)[0].src]
            var = _attribute(node.name, taken)
            body.append(f"        {var} = {layer}({source})  # dense '{node.name}'")
            variable[node.id] = var
        elif node.id in in_dense or node.spec.source is not None:
            continue
        else:
            var = _attribute(node.name, taken)
            args = [variable[e.src] for e in graph.input_edges(node)]
            body.append(f"        {var} = {EXPRESSIONS[node.op](node, args)}"
                        f"  # {node.op} '{node.name}'")
            variable[node.id] = var
    body.append(f"        return {variable[out_node.id]}")

    signature = ", ".join(arguments[n.id] for n in inputs)
    readout = interface.readout if interface is not None else None
    if readout == SOFTMAX:
        predict = "torch.softmax(self.forward({0}), dim=-1)"
    elif readout == SIGMOID:
        predict = "torch.sigmoid(self.forward({0}))"
    else:
        predict = "self.forward({0})"
    shows = interface.output_text() if featured else f"'{out_node.name}'"
    arg_doc = "\n".join(f"        {arguments[n.id]}: input '{n.name}', shape "
                        f"{format_shape(('N',) + tuple(n.params['shape']))}" for n in inputs)
    if featured:
        arg_doc += f"\n        ({arguments[graph.node(interface.feature_input).id]}: " \
                   f"{interface.input_text()})"
    summary = description.strip().split("\n")[0] if description.strip() else ""
    lines = [
        f'"""Model: the graph up to \'{out_node.name}\' as a torch.nn.Module, exported from '
        f'Backprop Studio {__version__}.',
        "",
        "Needs only PyTorch and NumPy. The trained weights (the state_dict) are in the .npz file",
        "beside this one, read without pickle; load() builds the model with them:",
        "",
        "    model = load()",
        f"    scores = model({signature})",
        '"""',
        "",
        "import os",
        "",
        "import numpy as np",
        "import torch",
        "from torch import nn",
        "from torch.nn import functional as F",
        "",
        f"DESCRIPTION = {summary!r}",
        *interface_constants(interface if featured else None, __version__),
        "HERE = os.path.dirname(os.path.abspath(__file__))",
        f"WEIGHTS_FILE = os.path.join(HERE, {weights_file!r})",
        "# Backprop Studio's parameter name -> (its key in the state_dict, stored transposed?).",
        "PARAMETERS = {",
        *parameters,
        "}",
        "",
        "",
        "class Model(nn.Module):",
        f'    """Computes \'{out_node.name}\' (forward), {shows} (predict)'
        + (f" and the training loss '{loss.name}' ({loss.op})" if loss is not None else "")
        + '."""',
        "",
        "    def __init__(self, dtype=torch.float64):",
        "        super().__init__()",
        *[f"        {line}" for line in init],
        "",
        f"    def forward(self, {signature}):",
        f'        """\'{out_node.name}\' for a batch (every input\'s first axis is the batch).',
        "",
        arg_doc,
        '        """',
        *body,
        "",
        f"    def predict(self, {signature}):",
        f'        """{shows[0].upper() + shows[1:]}, as Backprop Studio shows it."""',
        f"        return {predict.format(signature)}",
    ]
    if loss is not None:
        lines += [
            "",
            "    @staticmethod",
            "    def loss(prediction, target):",
            f'        """The training loss \'{loss.name}\' ({loss.op}): {loss.spec.doc}"""',
            f"        return {LOSSES[loss.op]}",
        ]
    lines += [
        "",
        "",
        "def load(path=WEIGHTS_FILE, dtype=torch.float64):",
        '    """The model with the trained weights from ``path`` (an .npz, read without '
        'pickle)."""',
        "    model = Model(dtype)",
        "    with np.load(path, allow_pickle=False) as archive:",
        "        state = {key: torch.from_numpy(archive[key]).to(dtype) for key in archive.files}",
        "    model.load_state_dict(state)",
        "    return model",
        "",
    ]
    return "\n".join(lines), state


def _layer_name(d: Dense) -> str:
    """The layer's name: what its weight and bias names share (``h1`` for ``h1.W``, ``h1.b``),
    else the add node's."""
    w, b = d.weight.name.rsplit(".", 1)[0], d.bias.name.rsplit(".", 1)[0]
    return w if w == b and "." in d.weight.name else d.add.name


def _loss_of(graph: Graph, prediction: Node) -> Node | None:
    """The loss that reads ``prediction`` as its first input and has a torch formula."""
    for edge in graph.output_edges(prediction):
        consumer = graph.nodes[edge.dst]
        if consumer.spec.is_loss and edge.dst_port == consumer.spec.input_names()[0] \
                and consumer.op in LOSSES:
            return consumer
    return None


def torch_targets(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The code file and the weights beside it (``NAME.py``, ``NAME.npz``), once both are known
    to be writable."""
    given = os.fspath(path)
    target = Path(given)
    if given.endswith(("/", os.sep)) or target.suffix != ".py" or not target.stem:
        raise ExportError(f"'{given}': the PyTorch code file needs a name ending in .py, "
                          "such as model.py")
    weights = target.with_suffix(".npz")
    check_target(given)
    check_target(weights)
    return target, weights


def export_torch(graph: Graph, path: str | os.PathLike[str], output: NodeRef | None = None,
                 description: str = "", interface: ModelInterface | None = None) -> None:
    """Write ``path`` (a .py module with ``Model`` and ``load``) and its state_dict beside it
    (.npz); with an ``interface`` the model takes raw rows and standardises them itself."""
    target, weights_path = torch_targets(path)
    source, state = torch_source(graph, weights_path.name, output, description, interface)
    atomic_write_bytes(weights_path, npz_bytes(state))
    atomic_write_bytes(target, source.encode("utf-8"))


__all__ = ["EXPRESSIONS", "LOSSES", "dense_layers", "export_torch", "torch_source",
           "torch_targets"]
