"""A model made by a real framework: an MLP written with PyTorch's nn.Sequential and saved with
torch.onnx.export, by both of its exporters (tests/data/onnx/make_torch_mlp.py made the files;
PyTorch itself is not needed). It imports, matches onnxruntime, trains a few steps with the
Trainer, and exports back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from bpstudio import Engine, Trainer, attach_loss, datasets, gradcheck, import_onnx
from bpstudio.core.files.export_onnx import export_onnx

from onnxmodels import TOLERANCE, max_difference, run_graph, run_onnxruntime

DATA = Path(__file__).resolve().parents[1] / "data" / "onnx"
MODELS = {"torchscript": DATA / "torch_mlp.onnx", "dynamo": DATA / "torch_mlp_dynamo.onnx"}
PARAMETERS = {"_1.weight": (16, 4), "_1.bias": (16,), "_3.weight": (8, 16), "_3.bias": (8,),
              "_5.weight": (3, 8), "_5.bias": (3,)}


@pytest.fixture(params=list(MODELS), ids=list(MODELS))
def model_path(request) -> Path:
    return MODELS[request.param]


def test_the_files_were_made_by_pytorch(model_path):
    model = onnx.load(str(model_path))
    assert model.producer_name == "pytorch" and model.producer_version.startswith("2.13.0")
    assert "Gemm" in {node.op_type for node in model.graph.node}


def test_it_imports_with_the_weights_under_their_names(model_path):
    project = import_onnx(model_path)
    graph = project.graph
    assert {n.name: n.value.shape for n in graph.nodes_of("parameter")} == PARAMETERS
    (x,) = graph.nodes_of("input")
    assert (x.name, x.params["shape"]) == ("features", (4,))
    assert graph.default_output().name == "logits"
    assert "pytorch 2.13.0" in project.description


@pytest.mark.parametrize("rows", [1, 7, 150])
def test_it_computes_what_onnxruntime_computes(model_path, rows):
    features = np.random.default_rng(rows).normal(size=(rows, 4)).astype(np.float32)
    expected = run_onnxruntime(onnx.load(str(model_path)), {"features": features})
    ours = run_graph(import_onnx(model_path), {"features": features})
    assert ours.shape == (rows, 3)
    assert max_difference(ours, expected) <= TOLERANCE


def test_it_fine_tunes_and_exports_back(model_path, tmp_path):
    project = import_onnx(model_path)
    graph = project.graph
    attach_loss(graph, "softmax_ce")
    data = datasets.prepare("iris", validation=0.2, seed=0)
    trainer = Trainer(graph, data, optimizer="adam", lr=0.02, batch_size=16, seed=0)
    losses = [stats.loss for stats in trainer.run(steps=40)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    before = {n.name: n.value for n in import_onnx(model_path).graph.nodes_of("parameter")}
    trained = trainer.to_project(project.description).graph
    assert any(not np.allclose(before[n.name], n.value) for n in trained.nodes_of("parameter"))

    # backward and the gradient check work on it as on any graph
    feeds = {"features": data.train.features[:5], "y": data.train.targets[:5]}
    assert max(gradcheck(trained, feeds).values()) < 1e-6

    out = tmp_path / "fine_tuned.onnx"
    export_onnx(trained, out)  # the logits, which the loss compares with the labels
    exported = onnx.load(str(out))
    assert [o.name for o in exported.graph.output] == ["logits"]
    assert set(PARAMETERS) <= {i.name for i in exported.graph.initializer}
    features = data.validation.features.astype(np.float32)
    expected = Engine(trained, dtype=np.float32, output="logits").forward({"features": features})
    assert max_difference(run_onnxruntime(exported, {"features": features}),
                          expected) <= TOLERANCE
    # and the exported model comes back in again, computing the same
    assert max_difference(run_graph(import_onnx(out), {"features": features}),
                          expected) <= TOLERANCE
