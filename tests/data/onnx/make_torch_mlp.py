"""Writes the PyTorch models of the ONNX import tests beside this file: a small classifier made
with ``nn.Sequential`` and saved with ``torch.onnx.export``, the kind of model a person brings
from elsewhere, once by each of PyTorch's two exporters:

- ``torch_mlp.onnx``: the TorchScript-based exporter (``dynamo=False``), opset 17;
- ``torch_mlp_dynamo.onnx``: the torch.export-based exporter (the default since PyTorch 2.9),
  with the weights inside the file.

PyTorch is not a dependency of bpstudio, not even for its tests: the models were generated once
and checked in. To make them again:

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 onnx onnxscript
    /tmp/torchenv/bin/python tests/data/onnx/make_torch_mlp.py

The network takes the four Iris measurements and gives three class scores (logits), for a batch
of any size.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent


def mlp() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(4, 16),
        nn.ReLU(),
        nn.Linear(16, 8),
        nn.Tanh(),
        nn.Linear(8, 3),
    )
    return model.eval()


def main() -> None:
    example = (torch.randn(5, 4),)
    legacy = HERE / "torch_mlp.onnx"
    torch.onnx.export(mlp(), example, str(legacy), input_names=["features"],
                      output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=17, dynamo=False)
    print(f"wrote {legacy}")
    dynamo = HERE / "torch_mlp_dynamo.onnx"
    torch.onnx.export(mlp(), example, str(dynamo), input_names=["features"],
                      output_names=["logits"], dynamic_shapes=({0: torch.export.Dim("batch")},),
                      dynamo=True, external_data=False)
    print(f"wrote {dynamo}")


if __name__ == "__main__":
    main()
