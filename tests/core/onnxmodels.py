"""Small ONNX models built with ``onnx.helper`` for the import tests, and the runs that compare
an imported graph with onnxruntime on the same inputs."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from bpstudio import Engine, Project

FLOAT = TensorProto.FLOAT
TOLERANCE = 1e-5  # float32 terms


def value_info(name: str, shape: Sequence[Any], elem: int = FLOAT) -> Any:
    return helper.make_tensor_value_info(name, elem, list(shape))


def initializer(name: str, array: Any, dtype: Any = np.float32) -> Any:
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def make_model(nodes: list[Any], inputs: list[Any], output: str | list[str],
               initializers: Sequence[Any] = (), opset: int = 17, ir_version: int = 8,
               **model_fields: Any) -> onnx.ModelProto:
    """A model of one output (or several) whose type and shape ONNX's shape inference gives
    (float of unknown shape where it cannot)."""
    outputs = [output] if isinstance(output, str) else output
    graph = helper.make_graph(nodes, "test", inputs, [], initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=ir_version, **model_fields)
    try:
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    except Exception:  # noqa: BLE001  (a model built to fail the checker)
        inferred = {}
    for name in outputs:
        declared = inferred.get(name)
        if declared is None or not declared.type.tensor_type.HasField("shape"):
            declared = helper.make_tensor_value_info(name, FLOAT, ["?"])
        model.graph.output.append(declared)
    return model


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    (out,) = session.run(None, {n: np.asarray(feeds[n], dtype=np.float32) for n in names})
    return out


def run_graph(project: Project, feeds: dict[str, np.ndarray], names: dict[str, str] | None = None,
              dtype: Any = np.float32) -> np.ndarray:
    """The imported graph's output; ``names`` maps ONNX input names to node names where the
    import had to change them."""
    names = names or {}
    engine = Engine(project.graph, dtype=dtype)
    return engine.forward({names.get(k, k): np.asarray(v, dtype=dtype)
                           for k, v in feeds.items()})


def max_difference(a: np.ndarray, b: np.ndarray) -> float:
    assert np.shape(a) == np.shape(b), (np.shape(a), np.shape(b))
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)),
                        initial=0.0))
