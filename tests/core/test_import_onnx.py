"""ONNX import: every supported operator and attribute variant, on random shapes, computes what
onnxruntime computes (max abs difference <= 1e-5 in float32); names, parameters, constants,
layout and description; and every refusal names what is at fault."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import bpstudio
from bpstudio.core.files.fileformat import Limits
from bpstudio.core.files.import_onnx import (SUPPORTED, OnnxImportError, import_onnx,
                                             is_onnx_path, loads_onnx, onnx_to_project)
from bpstudio.core.layout import shown_position

from onnxmodels import (TOLERANCE, initializer, make_model, max_difference, run_graph,
                        run_onnxruntime, value_info)

ROOT = Path(__file__).resolve().parents[2]
Case = Callable[[np.random.Generator], tuple[onnx.ModelProto, dict[str, np.ndarray]]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(build: Case) -> Case:
        CASES[name] = build
        return build
    return register


def dims(rng: np.random.Generator, count: int) -> list[int]:
    return [int(d) for d in rng.integers(1, 6, size=count)]


def batch(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 7))


def normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(0.0, 0.7, size=shape).astype(np.float32)


def positive(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, size=shape).astype(np.float32)


def n(op: str, inputs: list[str], output: str = "y", name: str | None = None, **attrs):
    default = f"{op.lower()}_node" if output == "y" else f"{op.lower()}_{output}"
    return helper.make_node(op, inputs, [output], name=name or default, **attrs)


# ------------------------------------------------------------------------------ arithmetic
for _op in ("Add", "Sub", "Mul", "Div"):
    def _with_bias(rng, op=_op):
        f = dims(rng, 1)[0]
        b = positive(rng, f) if op == "Div" else normal(rng, f)
        model = make_model([n(op, ["x", "b"])], [value_info("x", ["N", f])], "y",
                           [initializer("b", b)])
        return model, {"x": normal(rng, batch(rng), f)}

    def _two_inputs(rng, op=_op):
        f, m = dims(rng, 2)
        rows = batch(rng)
        model = make_model([n(op, ["x", "z"])], [value_info("x", ["N", f, m]),
                                                 value_info("z", ["N", 1, m])], "y")
        return model, {"x": normal(rng, rows, f, m), "z": positive(rng, rows, 1, m)}

    def _constant_left(rng, op=_op):
        f = dims(rng, 1)[0]
        c = helper.make_node("Constant", [], ["c"], value_float=1.5)
        model = make_model([c, n(op, ["c", "x"])], [value_info("x", ["N", f])], "y")
        return model, {"x": positive(rng, batch(rng), f)}

    case(f"{_op}-bias")(_with_bias)
    case(f"{_op}-two-inputs")(_two_inputs)
    case(f"{_op}-constant-left")(_constant_left)


@case("Mul-same-input-twice")
def _square(rng):
    f = dims(rng, 1)[0]
    return (make_model([n("Mul", ["x", "x"])], [value_info("x", ["N", f])], "y"),
            {"x": normal(rng, batch(rng), f)})


for _exponent, _label in ((2.0, "2"), (3.0, "3"), (0.5, "0.5"), (-1.0, "-1")):
    @case(f"Pow-initializer-{_label}")
    def _pow(rng, exponent=_exponent):
        f = dims(rng, 1)[0]
        model = make_model([n("Pow", ["x", "p"])], [value_info("x", ["N", f])], "y",
                           [initializer("p", exponent)])
        return model, {"x": positive(rng, batch(rng), f)}


@case("Pow-constant-integer-exponent")
def _pow_int(rng):
    f = dims(rng, 1)[0]
    p = helper.make_node("Constant", [], ["p"], value_int=2)
    return (make_model([p, n("Pow", ["x", "p"])], [value_info("x", ["N", f])], "y"),
            {"x": normal(rng, batch(rng), f)})


@case("MatMul-weights")
def _matmul(rng):
    k, m = dims(rng, 2)
    model = make_model([n("MatMul", ["x", "W"])], [value_info("x", ["N", k])], "y",
                       [initializer("W", normal(rng, k, m))])
    return model, {"x": normal(rng, batch(rng), k)}


@case("MatMul-vector")
def _matmul_vector(rng):
    k = dims(rng, 1)[0]
    model = make_model([n("MatMul", ["x", "v"])], [value_info("x", ["N", k])], "y",
                       [initializer("v", normal(rng, k))])
    return model, {"x": normal(rng, batch(rng), k)}


@case("MatMul-batched")
def _matmul_batched(rng):
    a, k, m = dims(rng, 3)
    rows = batch(rng)
    model = make_model([n("MatMul", ["x", "z"])], [value_info("x", ["N", a, k]),
                                                   value_info("z", ["N", k, m])], "y")
    return model, {"x": normal(rng, rows, a, k), "z": normal(rng, rows, k, m)}


# ------------------------------------------------------------------------------------ Gemm
def _gemm(rng, trans_b: int, alpha: float, beta: float, bias: str | None, opset: int = 17):
    k, m = dims(rng, 2)
    weights = normal(rng, m, k) if trans_b else normal(rng, k, m)
    inits = [initializer("W", weights)]
    inputs = ["x", "W"]
    if bias is not None:
        shape = {"vector": (m,), "row": (1, m), "scalar": ()}[bias]
        inits.append(initializer("C", rng.normal(size=shape)))
        inputs.append("C")
    node = n("Gemm", inputs, alpha=alpha, beta=beta, transB=trans_b)
    model = make_model([node], [value_info("x", ["N", k])], "y", inits, opset=opset)
    return model, {"x": normal(rng, batch(rng), k)}


for _tb in (0, 1):
    for _alpha, _beta, _bias in ((1.0, 1.0, "vector"), (0.5, 1.0, "vector"), (1.0, 2.0, "row"),
                                 (1.5, -0.5, "scalar"), (1.0, 1.0, None), (2.0, 1.0, None),
                                 (1.0, 0.0, "vector")):
        case(f"Gemm-transB{_tb}-alpha{_alpha}-beta{_beta}-{_bias}")(
            lambda rng, tb=_tb, a=_alpha, b=_beta, c=_bias: _gemm(rng, tb, a, b, c))


@case("Gemm-transA-over-the-batch")
def _gemm_trans_a(rng):
    """A' = A.T of a batch (N, k) with B (N, m): a (k, m) sum over the batch."""
    k, m = dims(rng, 2)
    rows = batch(rng)
    node = n("Gemm", ["a", "b", "C"], transA=1)
    model = make_model([node], [value_info("a", ["N", k]), value_info("b", ["N", m])], "y",
                       [initializer("C", normal(rng, m))])
    return model, {"a": normal(rng, rows, k), "b": normal(rng, rows, m)}


@case("Gemm-opset-7")
def _gemm_7(rng):
    return _gemm(rng, 1, 1.0, 1.0, "vector", opset=7)


# ----------------------------------------------------------------------------- activations
for _op in ("Relu", "Sigmoid", "Tanh", "Exp"):
    case(_op)(lambda rng, op=_op: (
        make_model([n(op, ["x"])], [value_info("x", ["N", 3, 2])], "y"),
        {"x": normal(rng, batch(rng), 3, 2)}))


@case("Log")
def _log(rng):
    f = dims(rng, 1)[0]
    return (make_model([n("Log", ["x"])], [value_info("x", ["N", f])], "y"),
            {"x": positive(rng, batch(rng), f)})


for _alpha in (None, 0.2):
    @case(f"LeakyRelu-alpha-{_alpha}")
    def _leaky(rng, alpha=_alpha):
        f = dims(rng, 1)[0]
        attrs = {} if alpha is None else {"alpha": alpha}
        return (make_model([n("LeakyRelu", ["x"], **attrs)], [value_info("x", ["N", f])], "y"),
                {"x": normal(rng, batch(rng), f)})


for _axis, _opset, _rank in ((None, 17, 2), (-1, 17, 3), (1, 17, 3), (0, 17, 2), (None, 11, 2),
                             (-1, 11, 3), (2, 11, 3)):
    @case(f"Softmax-axis{_axis}-opset{_opset}-rank{_rank}")
    def _softmax(rng, axis=_axis, opset=_opset, rank=_rank):
        shape = dims(rng, rank - 1)
        attrs = {} if axis is None else {"axis": axis}
        model = make_model([n("Softmax", ["x"], **attrs)], [value_info("x", ["N", *shape])],
                           "y", opset=opset)
        return model, {"x": normal(rng, batch(rng), *shape)}


# ------------------------------------------------------------------------------ reductions
def _reduce(rng, op: str, opset: int, axes: list[int] | None, keepdims: int | None,
            as_input: bool, noop: int | None = None):
    shape = dims(rng, 2)
    attrs = {} if keepdims is None else {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    inputs, inits = ["x"], []
    if axes is not None and as_input:
        inputs.append("axes")
        inits.append(initializer("axes", axes, np.int64))
    elif axes is not None:
        attrs["axes"] = axes
    model = make_model([n(op, inputs, **attrs)], [value_info("x", ["N", *shape])], "y", inits,
                       opset=opset)
    return model, {"x": normal(rng, batch(rng), *shape)}


for _op, _attr_opset, _input_opset in (("ReduceSum", 11, 13), ("ReduceMean", 17, 18)):
    for _axes, _keep in (([1], 0), ([1], 1), ([-1], None), ([1, 2], 0), ([2, 1], 1),
                         ([0], 0), ([0, 1, 2], 1), (None, 0), (None, None)):
        for _opset, _as_input in ((_attr_opset, False), (_input_opset, True)):
            case(f"{_op}-opset{_opset}-axes{_axes}-keepdims{_keep}")(
                lambda rng, op=_op, o=_opset, a=_axes, k=_keep, i=_as_input:
                _reduce(rng, op, o, a, k, i))
    case(f"{_op}-opset{_input_opset}-noop-with-empty-axes")(
        lambda rng, op=_op, o=_input_opset: _reduce(rng, op, o, None, 1, True, noop=1))


# --------------------------------------------------------------------------- reshaping
@case("Identity")
def _identity(rng):
    f = dims(rng, 1)[0]
    nodes = [n("Identity", ["x"], "h"), n("Relu", ["h"], "y")]
    return make_model(nodes, [value_info("x", ["N", f])], "y"), {"x": normal(rng, 2, f)}


for _axis, _shape in ((1, (2, 3)), (1, (4,)), (-1, (1, 4)), (2, (1, 3, 2)), (None, (3, 2))):
    @case(f"Flatten-axis{_axis}-{len(_shape) + 1}d")
    def _flatten(rng, axis=_axis, shape=_shape):
        attrs = {} if axis is None else {"axis": axis}
        model = make_model([n("Flatten", ["x"], **attrs)], [value_info("x", ["N", *shape])],
                           "y")
        return model, {"x": normal(rng, batch(rng), *shape)}


for _target, _shape in (([0, -1], (2, 3)), ([-1, 6], (2, 3)), ([0, 6], (3, 2)),
                        ([0, -1], (5,)), ([0, 0], (4,))):
    @case(f"Reshape-{_target}-from-{len(_shape) + 1}d")
    def _reshape(rng, target=_target, shape=_shape):
        model = make_model([n("Reshape", ["x", "shape"])], [value_info("x", ["N", *shape])],
                           "y", [initializer("shape", target, np.int64)])
        return model, {"x": normal(rng, batch(rng), *shape)}


@case("Reshape-allowzero-shape-from-Constant-ints")
def _reshape_allowzero(rng):
    shape = dims(rng, 2)
    nodes = [helper.make_node("Constant", [], ["s"], value_ints=[-1, shape[0] * shape[1]]),
             n("Reshape", ["x", "s"], allowzero=1)]
    return (make_model(nodes, [value_info("x", ["N", *shape])], "y"),
            {"x": normal(rng, batch(rng), *shape)})


@case("Reshape-fixed-batch")
def _reshape_fixed_batch(rng):
    """A model exported with a batch of 1 that reshapes to (1, -1): the 1 is the batch."""
    model = make_model([n("Reshape", ["x", "shape"])], [value_info("x", [1, 2, 3])], "y",
                       [initializer("shape", [1, -1], np.int64)])
    return model, {"x": normal(rng, 1, 2, 3)}


for _perm in (None, [1, 0]):
    @case(f"Transpose-weights-perm{_perm}")
    def _transpose(rng, perm=_perm):
        k, m = dims(rng, 2)
        attrs = {} if perm is None else {"perm": perm}
        nodes = [n("Transpose", ["W"], "Wt", **attrs), n("MatMul", ["x", "Wt"])]
        model = make_model(nodes, [value_info("x", ["N", k])], "y",
                           [initializer("W", normal(rng, m, k))])
        return model, {"x": normal(rng, batch(rng), k)}


@case("Transpose-a-batch")
def _transpose_batch(rng):
    shape = dims(rng, 2)
    model = make_model([n("Transpose", ["x"], perm=[2, 1, 0])],
                       [value_info("x", ["N", *shape])], "y")
    return model, {"x": normal(rng, batch(rng), *shape)}


@case("Constant-tensor-and-floats")
def _constants(rng):
    f = dims(rng, 1)[0]
    nodes = [helper.make_node("Constant", [], ["s"], value=helper.make_tensor(
                 "s", TensorProto.FLOAT, [f], normal(rng, f).tolist())),
             helper.make_node("Constant", [], ["t"], value_floats=normal(rng, f).tolist()),
             n("Mul", ["x", "s"], "h"), n("Add", ["h", "t"], "y")]
    return make_model(nodes, [value_info("x", ["N", f])], "y"), {"x": normal(rng, 3, f)}


@case("Flatten-and-Reshape-of-weights")
def _fixed_reshapes(rng):
    """Fixed tensors keep their first axis too, and stay the file's tensors (one parameter
    each, under its own name)."""
    nodes = [n("Flatten", ["W"], "Wf"), n("Reshape", ["V", "s"], "Vr"),
             n("MatMul", ["x", "Wf"], "h"), n("MatMul", ["h", "Vr"])]
    inits = [initializer("W", normal(rng, 3, 2, 2)), initializer("V", normal(rng, 4, 1, 2)),
             initializer("s", [0, -1], np.int64)]
    model = make_model(nodes, [value_info("x", ["N", 3])], "y", inits)
    return model, {"x": normal(rng, batch(rng), 3)}


@case("MLP-gemm-relu-softmax")
def _mlp(rng):
    k, h, m = dims(rng, 3)
    nodes = [n("Flatten", ["x"], "f"), n("Gemm", ["f", "W1", "b1"], "h1", "fc1", transB=1),
             n("Relu", ["h1"], "r"), n("Gemm", ["r", "W2", "b2"], "z", "fc2"),
             n("Softmax", ["z"], "y", axis=1)]
    inits = [initializer("W1", normal(rng, h, k)), initializer("b1", normal(rng, h)),
             initializer("W2", normal(rng, h, m)), initializer("b2", normal(rng, m))]
    return (make_model(nodes, [value_info("x", ["N", k])], "y", inits),
            {"x": normal(rng, batch(rng), k)})


SEEDS = (0, 1, 2)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_every_operator_matches_onnxruntime(name, seed):
    rng = np.random.default_rng(zlib.crc32(f"{name}/{seed}".encode()))
    model, feeds = CASES[name](rng)
    onnx.checker.check_model(model, full_check=True)
    expected = run_onnxruntime(model, feeds)
    project = onnx_to_project(model)
    ours = run_graph(project, feeds)
    assert max_difference(ours, expected) <= TOLERANCE


def test_every_supported_operator_has_a_case():
    covered = {name.split("-")[0] for name in CASES}
    assert set(SUPPORTED) <= covered | {"Constant"}, set(SUPPORTED) - covered


def test_the_comparison_can_fail():
    """A case that onnxruntime and the graph compute differently is caught."""
    model, feeds = CASES["Gemm-transB1-alpha0.5-beta1.0-vector"](np.random.default_rng(0))
    project = onnx_to_project(model)
    alpha = next(n for n in project.graph.nodes_of("constant") if n.name.endswith(".alpha"))
    project.graph.set_value(alpha, 0.25)
    assert max_difference(run_graph(project, feeds), run_onnxruntime(model, feeds)) > 1e-3


# ----------------------------------------------------------------------- what is built
def torch_like_model() -> onnx.ModelProto:
    nodes = [n("Gemm", ["input", "0.weight", "onnx::Gemm_0"], "/0/Gemm_output_0", "/0/Gemm",
               transB=1),
             n("Relu", ["/0/Gemm_output_0"], "/1/Relu_output_0", "/1/Relu"),
             n("Gemm", ["/1/Relu_output_0", "2.weight", "2.bias"], "output", "/2/Gemm",
               transB=1)]
    rng = np.random.default_rng(5)
    inits = [initializer("0.weight", normal(rng, 8, 3)), initializer("onnx::Gemm_0",
                                                                     normal(rng, 8)),
             initializer("2.weight", normal(rng, 2, 8)), initializer("2.bias", normal(rng, 2))]
    return make_model(nodes, [value_info("input", ["batch_size", 3])], "output", inits,
                      producer_name="pytorch", producer_version="2.13.0")


def test_names_follow_the_onnx_tensors_and_operators():
    graph = onnx_to_project(torch_like_model()).graph
    names = {node.name for node in graph.nodes.values()}
    assert {"input", "_0.weight", "onnx_Gemm_0", "_2.weight", "_2.bias", "_0.Gemm", "_1.Relu",
            "output"} <= names
    for name in names:
        assert graph.name_problem(name) is None or graph.find(name) is not None


def test_float_initializers_become_trainable_parameters_with_their_values():
    model = torch_like_model()
    graph = onnx_to_project(model).graph
    params = {p.name: p for p in graph.nodes_of("parameter")}
    assert set(params) == {"_0.weight", "onnx_Gemm_0", "_2.weight", "_2.bias"}
    expected = onnx.numpy_helper.to_array(model.graph.initializer[0])
    assert np.array_equal(params["_0.weight"].value, expected.astype(np.float64))
    assert params["_0.weight"].value.shape == (8, 3)  # as in the file: Gemm transposes it
    assert bpstudio.Engine(graph).parameters().keys() == params.keys()


def test_gemm_becomes_transpose_matmul_and_add():
    graph = onnx_to_project(torch_like_model()).graph
    ops = sorted(node.op for node in graph.nodes.values() if node.spec.source is None)
    assert ops == ["add", "add", "matmul", "matmul", "relu", "transpose", "transpose"]


def test_inputs_get_their_shapes_with_the_batch_symbolic():
    for first in ("batch_size", "N", 1, 7, None):
        model = make_model([n("Relu", ["x"])], [value_info("x", [first, 3, 2])], "y")
        graph = onnx_to_project(model).graph
        (x,) = graph.nodes_of("input")
        assert x.params["shape"] == (3, 2)
        assert graph.infer_shapes()[0][x.id] == ("N", 3, 2)
        # any batch runs, whatever the file said
        assert run_graph(onnx_to_project(model), {"x": np.ones((5, 3, 2))}).shape == (5, 3, 2)


def test_constants_stay_untrained_and_integer_tensors_become_settings():
    model, _ = CASES["Constant-tensor-and-floats"](np.random.default_rng(0))
    graph = onnx_to_project(model).graph
    assert not graph.nodes_of("parameter")
    assert sorted(c.name for c in graph.nodes_of("constant")) == ["s", "t"]
    model, _ = CASES["ReduceSum-opset13-axes[1]-keepdims0"](np.random.default_rng(0))
    graph = onnx_to_project(model).graph
    assert [n.op for n in graph.nodes.values()] == ["input", "sum"]
    assert graph.find("y").params == {"axis": 1, "keepdims": False}  # named after the output
    model, _ = CASES["Pow-initializer-3"](np.random.default_rng(0))
    graph = onnx_to_project(model).graph
    assert graph.find("y").params == {"exponent": 3.0}
    assert not graph.nodes_of("parameter") and not graph.nodes_of("constant")


def test_weights_listed_as_inputs_too_are_weights():
    """Older exporters list every initializer among the graph's inputs as well."""
    import onnxruntime as ort

    rng = np.random.default_rng(3)
    model = make_model([n("MatMul", ["x", "W"])], [value_info("x", ["N", 3]),
                                                   value_info("W", [3, 2])], "y",
                       [initializer("W", normal(rng, 3, 2))], ir_version=3, opset=8)
    graph = onnx_to_project(model).graph
    assert [p.name for p in graph.nodes_of("parameter")] == ["W"]
    assert [i.name for i in graph.nodes_of("input")] == ["x"]
    x = normal(rng, 4, 3)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    assert max_difference(run_graph(onnx_to_project(model), {"x": x}), expected) <= TOLERANCE


def test_an_initializer_used_twice_is_one_parameter():
    nodes = [n("Add", ["x", "b"], "h"), n("Mul", ["h", "b"], "y")]
    model = make_model(nodes, [value_info("x", ["N", 2])], "y", [initializer("b", [1.0, 2.0])])
    graph = onnx_to_project(model).graph
    (b,) = graph.nodes_of("parameter")
    assert len(graph.output_edges(b)) == 2


def test_only_what_the_output_needs_is_imported():
    nodes = [n("Relu", ["x"], "y"), n("Tanh", ["x"], "unused"),
             n("Conv", ["z", "W"], "also_unused", "conv1")]
    model = make_model(nodes, [value_info("x", ["N", 2]), value_info("z", ["N", 1, 4, 4])],
                       "y", [initializer("W", np.ones((1, 1, 3, 3)))])
    project = onnx_to_project(model)
    assert sorted(node.op for node in project.graph.nodes.values()) == ["input", "relu"]
    assert "left out: 'z'" in project.description


def test_an_input_that_only_meets_a_zero_weight_is_left_out():
    nodes = [n("Gemm", ["x", "W", "c"], beta=0.0)]
    model = make_model(nodes, [value_info("x", ["N", 2]), value_info("c", ["N", 3])], "y",
                       [initializer("W", np.ones((2, 3)))])
    project = onnx_to_project(model)
    assert [node.name for node in project.graph.nodes_of("input")] == ["x"]
    assert project.graph.default_output().name == "y"
    assert "left out: 'c'" in project.description


def test_the_graph_is_laid_out_left_to_right_with_a_sample_and_described():
    project = onnx_to_project(torch_like_model(), source="'mlp.onnx'")
    graph = project.graph
    assert all(node.position is not None for node in graph.nodes.values())
    for edge in graph.edges:  # as drawn: a folded layer at its block
        src, dst = shown_position(graph, edge.src), shown_position(graph, edge.dst)
        assert src[0] < dst[0] or (src == dst and graph.group_of(edge.src) is not None)
    assert len(graph.groups) == 2
    (x,) = graph.nodes_of("input")
    assert x.value is not None and x.value.shape[1:] == (3,)
    bpstudio.Engine(graph).forward(project.sample)
    text = project.description
    for part in ("'mlp.onnx'", "pytorch 2.13.0", "opset 17", "IR version 8",
                 "3 operators (Gemm x2, Relu)", "4 parameter arrays hold 50 numbers",
                 "Input 'input' (N, 3)", "output 'output' (N, 2)", "add the loss"):
        assert part in text, part


def test_import_from_a_file_and_from_bytes(tmp_path):
    model = torch_like_model()
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    from_file = import_onnx(path)
    from_bytes = loads_onnx(path.read_bytes())
    assert from_file.graph.nodes.keys() == from_bytes.graph.nodes.keys()
    assert "'m.onnx'" in from_file.description
    assert is_onnx_path(path) and is_onnx_path("A.ONNX") and not is_onnx_path("a.bpg")
    assert bpstudio.import_onnx is import_onnx


# -------------------------------------------------------------------------------- refusals
def refused(model: onnx.ModelProto, match: str) -> None:
    with pytest.raises(OnnxImportError, match=match):
        onnx_to_project(model)


def test_an_unsupported_operator_is_named():
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="conv1")]
    model = make_model(nodes, [value_info("x", ["N", 1, 4, 4])], "y",
                       [initializer("W", np.ones((1, 1, 3, 3)))])
    refused(model, r"^node 'conv1' \(Conv\) is not supported: bpstudio builds dense networks$")


def test_names_from_the_file_are_quoted_short():
    long = "conv/" * 2000
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name=long)]
    model = make_model(nodes, [value_info("x", ["N", 1, 4, 4])], "y",
                       [initializer("W", np.ones((1, 1, 3, 3)))])
    with pytest.raises(OnnxImportError) as refusal:
        onnx_to_project(model)
    message = str(refusal.value)
    assert message.startswith("node 'conv/conv/") and "...' (Conv) is not supported" in message
    assert len(message) < 200
    model = make_model([n("Relu", [long], "y")], [value_info(long, ["N", 2])], "y")
    (x,) = onnx_to_project(model).graph.nodes_of("input")
    assert x.name.startswith("conv.conv.") and len(x.name) == 100


def test_an_operator_of_another_domain_is_named():
    node = helper.make_node("FusedGemm", ["x", "x"], ["y"], name="fused", domain="com.microsoft")
    graph = helper.make_graph([node], "t", [value_info("x", ["N", 2])],
                              [value_info("y", ["N", 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              ir_version=8)
    with pytest.raises(OnnxImportError, match=r"node 'fused' \(com.microsoft.FusedGemm\) is "
                       "not supported"):
        loads_onnx(model.SerializeToString())


def test_several_outputs_are_refused():
    model = make_model([n("Relu", ["x"], "a"), n("Tanh", ["x"], "b")],
                       [value_info("x", ["N", 2])], ["a", "b"])
    refused(model, r"^the model has 2 outputs \('a', 'b'\): bpstudio imports a model with one "
            "output$")


def test_a_model_without_output_is_refused():
    refused(make_model([n("Relu", ["x"])], [value_info("x", ["N", 2])], []),
            r"^the model has no output: it computes nothing$")


def test_non_float_inputs_are_refused():
    nodes = [n("Cast", ["ids"], "f", to=TensorProto.FLOAT), n("Relu", ["f"])]
    model = make_model(nodes, [value_info("ids", ["N", 4], TensorProto.INT64)], "y")
    refused(model, r"^input 'ids' holds int64 values: bpstudio feeds float inputs only$")


def test_external_weights_are_refused_and_never_read(tmp_path):
    model = make_model([n("Add", ["x", "w"])], [value_info("x", ["N", 4])], "y",
                       [initializer("w", np.arange(4.0))])
    onnx.save(model, str(tmp_path / "m.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    (tmp_path / "weights.bin").unlink()  # not even looked for
    with pytest.raises(OnnxImportError, match=r"initializer 'w' keeps its data in an external "
                       r"file \('weights.bin'\): bpstudio imports self-contained models only"):
        import_onnx(tmp_path / "m.onnx")


@pytest.mark.parametrize("opset, match", [
    (6, r"^the model uses opset 6; bpstudio imports opset 7 and newer"),
    (onnx.defs.onnx_opset_version() + 1,
     rf"^the model uses opset {onnx.defs.onnx_opset_version() + 1}, newer than the installed "
     rf"onnx {onnx.__version__} knows \(up to {onnx.defs.onnx_opset_version()}\): update onnx$"),
])
def test_opsets_out_of_range_are_refused(opset, match):
    refused(make_model([n("Relu", ["x"])], [value_info("x", ["N", 2])], "y", opset=opset),
            match)


def test_a_model_failing_the_checker_is_refused():
    model = make_model([n("Add", ["x", "nowhere"])], [value_info("x", ["N", 2])], "y")
    refused(model, r"^the model fails the ONNX checker: .*nowhere")


def test_a_model_of_mismatched_types_fails_the_checker():
    model = make_model([n("Add", ["x", "k"])], [value_info("x", ["N", 2])], "y",
                       [initializer("k", [1, 2], np.int64)])
    refused(model, r"^the model fails the ONNX checker")


@pytest.mark.parametrize("data, match", [
    (b"\x08\x07\x12\x03abc\xff\xff", r"^not an ONNX model \(it cannot be parsed"),
    (b"", r"^the model names no ONNX opset"),
])
def test_bytes_that_are_no_model_are_refused(data, match):
    with pytest.raises(OnnxImportError, match=match):
        loads_onnx(data)


def test_a_project_file_is_not_an_onnx_model(tmp_path):
    bpstudio.save(bpstudio.Graph(), tmp_path / "p.onnx")
    with pytest.raises(OnnxImportError, match="p.onnx: "):
        import_onnx(tmp_path / "p.onnx")


def test_size_limits_as_for_project_files(tmp_path):
    model = torch_like_model()
    onnx.save(model, str(tmp_path / "m.onnx"))
    with pytest.raises(OnnxImportError, match=r"m.onnx: the file is larger than 100 bytes"):
        import_onnx(tmp_path / "m.onnx", limits=Limits(max_entry_bytes=100))
    with pytest.raises(OnnxImportError, match=r"has 7 operators and initializers; at most 5 "
                       "are allowed"):
        import_onnx(tmp_path / "m.onnx", limits=Limits(max_entries=5))


def test_a_tensor_whose_data_does_not_fill_its_shape_is_refused():
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1000, 1000],
                         float_data=[1.0, 2.0])
    model = make_model([n("Add", ["x", "w"])], [value_info("x", ["N", 1000])], "y", [tensor])
    with pytest.raises(OnnxImportError, match=r"fails the ONNX checker: TensorProto \(tensor "
                       r"name: w\) float_data size \(2\) is too small"):
        onnx_to_project(model)


@pytest.mark.parametrize("build, match", [
    (lambda: make_model([n("Pow", ["x", "x"])], [value_info("x", ["N", 2])], "y"),
     r"^node 'pow_node' \(Pow\): the exponent must be fixed in the file"),
    (lambda: make_model([n("Pow", ["x", "p"])], [value_info("x", ["N", 2])], "y",
                        [initializer("p", [2.0, 3.0])]),
     r"^node 'pow_node' \(Pow\): the exponent must be one number, not an array of shape \(2,\)"),
    (lambda: make_model([n("Reshape", ["x", "s"])], [value_info("x", ["N", 2, 3])], "y",
                        [initializer("s", [2, -1], np.int64)]),
     r"^node 'reshape_node' \(Reshape\): reshapes \(N, 2, 3\) to \(2, -1\); bpstudio imports a "
     r"reshape only to \(N, features\)"),
    (lambda: make_model([n("Reshape", ["x", "s"])], [value_info("x", ["N", 6])], "y",
                        [initializer("s", [0, 2, 3], np.int64)]),
     r"reshapes \(N, 6\) to \(0, 2, 3\)"),
    (lambda: make_model([n("Reshape", ["x", "s"], allowzero=1)], [value_info("x", ["N", 6])],
                        "y", [initializer("s", [0, 6], np.int64)]),
     r"^node 'reshape_node' \(Reshape\): reshapes to \(0, 6\) with allowzero: an empty axis"),
    (lambda: make_model([n("Flatten", ["x"], axis=2)], [value_info("x", ["N", 2, 3])], "y"),
     r"^node 'flatten_node' \(Flatten\): reshapes \(N, 2, 3\)"),
    (lambda: make_model([n("Flatten", ["x"], axis=0)], [value_info("x", ["N", 2])], "y"),
     r"Flatten\): reshapes \(N, 2\)"),
    (lambda: make_model([n("Transpose", ["x"], perm=[0, 2, 1])],
                        [value_info("x", ["N", 2, 3])], "y"),
     r"^node 'transpose_node' \(Transpose\): permutes the axes as \(0, 2, 1\); bpstudio "
     "imports a Transpose that reverses them"),
    (lambda: make_model([n("Reshape", ["W", "s"])], [], "y",
                        [initializer("W", np.ones((2, 3))), initializer("s", [3, 2], np.int64)]),
     r"reshapes \(2, 3\) to \(3, 2\); bpstudio imports a reshape only to \(N, features\)"),
    (lambda: make_model([n("Softmax", ["x"], axis=1)], [value_info("x", ["N", 2, 3])], "y",
                        opset=11),
     r"^node 'softmax_node' \(Softmax\): before opset 13 Softmax normalises every axis from 1 "
     "on together"),
    (lambda: make_model([n("LeakyRelu", ["x"], alpha=-0.5)], [value_info("x", ["N", 2])], "y"),
     r"^node 'leakyrelu_node' \(LeakyRelu\): .*alpha' must be >= 0.0"),
    (lambda: make_model([n("Relu", ["x"])], [value_info("x", ["N", "seq", 4])], "y"),
     r"^input 'x': dimension 1 is 'seq'; only the first \(the batch\) may vary$"),
    (lambda: make_model([n("Relu", ["x"])], [value_info("x", [])], "y"),
     r"^input 'x' is a single number: an input needs a first dimension for the batch$"),
    (lambda: make_model([n("MatMul", ["x", "W"])], [value_info("x", ["N", 3])], "y",
                        [initializer("W", np.ones((4, 2)))]),
     r"^the model fails the ONNX checker: .*Incompatible dimensions"),
    (lambda: make_model([n("Add", ["x", "b"])], [value_info("x", ["N", 2])], "y",
                        [initializer("b", [1.0, np.nan])]),
     r"tensor 'b'.*finite"),
])
def test_refusals_name_the_node_and_the_reason(build, match):
    refused(build(), match)


def test_a_path_leads_every_refusal(tmp_path):
    path = tmp_path / "conv.onnx"
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="conv1")]
    onnx.save(make_model(nodes, [value_info("x", ["N", 1, 4, 4])], "y",
                         [initializer("W", np.ones((1, 1, 3, 3)))]), str(path))
    with pytest.raises(bpstudio.FileFormatError,
                       match=rf"^{path}: node 'conv1' \(Conv\) is not supported"):
        import_onnx(path)
    with pytest.raises(OSError):
        import_onnx(tmp_path / "missing.onnx")


def test_missing_onnx_package_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OnnxImportError, match="ONNX import needs the 'onnx' package"):
        loads_onnx(b"")


def test_importing_leaves_onnx_unloaded_until_used():
    code = ("import sys, bpstudio, bpstudio.core.files.import_onnx, bpstudio.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'PySide6')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT)}, check=True)
    assert result.stdout.strip() == "[]"
