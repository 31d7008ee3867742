"""bpstudio-cli and ONNX models: import (with or without a loss), info on a model, train on an
imported file, and one line on stderr with exit code 2 for every refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from bpstudio import load
from bpstudio.cli import main

from onnxmodels import initializer, make_model, value_info

MODEL = str(Path(__file__).resolve().parents[1] / "data" / "onnx" / "torch_mlp.onnx")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def conv_model(tmp_path: Path) -> str:
    path = tmp_path / "conv.onnx"
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="conv1")]
    onnx.save(make_model(nodes, [value_info("x", ["N", 1, 4, 4])], "y",
                         [initializer("W", np.ones((1, 1, 3, 3)))]), str(path))
    return str(path)


def test_import_writes_a_project_of_the_inference_graph(tmp_path, capsys):
    out = tmp_path / "mlp.bpg"
    code, stdout, err = run(capsys, "import", MODEL, "--out", str(out))
    assert code == 0 and err == ""
    assert "18 nodes, 17 edges" in stdout and f"wrote {out}" in stdout
    project = load(out)
    assert not any(n.spec.is_loss for n in project.graph.nodes.values())
    assert "pytorch" in project.description
    assert project.graph.default_output().name == "logits"


def test_import_with_a_loss(tmp_path, capsys):
    out = tmp_path / "mlp.bpg"
    code, stdout, _ = run(capsys, "import", MODEL, "--out", str(out), "--loss", "softmax_ce")
    assert code == 0 and ("added softmax_ce 'loss' comparing 'logits' with a new target input "
                          "'y' (N,)\n") in stdout
    graph = load(out).graph
    assert graph.default_output().op == "softmax_ce"
    assert graph.node("y").spec.source == "input"


def test_info_describes_what_a_model_imports_as(capsys):
    code, stdout, err = run(capsys, "info", MODEL)
    assert code == 0 and err == ""
    assert "18 nodes, 17 edges" in stdout
    assert "opset 17" in stdout and "_1.weight" in stdout and "(16, 4)" in stdout
    assert "trained: no" in stdout


def test_info_says_why_a_model_cannot_be_imported(tmp_path, capsys):
    path = conv_model(tmp_path)
    code, stdout, err = run(capsys, "info", path)
    assert code == 2 and stdout == ""
    assert err == (f"bpstudio-cli: error: {path}: node 'conv1' (Conv) is not supported: "
                   "bpstudio builds dense networks\n")


def test_import_refusals_are_one_line_with_exit_code_2(tmp_path, capsys):
    code, _, err = run(capsys, "import", conv_model(tmp_path), "--out", str(tmp_path / "c.bpg"))
    assert code == 2 and err.count("\n") == 1 and "(Conv) is not supported" in err
    assert not (tmp_path / "c.bpg").exists()
    code, _, err = run(capsys, "import", MODEL, "--out", str(tmp_path / "m.onnx"))
    assert code == 2 and err == f"bpstudio-cli: error: --out: '{tmp_path / 'm.onnx'}' must end " \
                                "in .bpg\n"
    code, _, err = run(capsys, "import", str(tmp_path / "none.onnx"), "--out",
                       str(tmp_path / "n.bpg"))
    assert code == 2 and "No such file or directory" in err
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07\x12\x03abc\xff\xff")
    code, _, err = run(capsys, "import", str(tmp_path / "junk.onnx"), "--out",
                       str(tmp_path / "j.bpg"))
    assert code == 2 and "not an ONNX model" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        main(["import", MODEL, "--out", str(tmp_path / "m.bpg"), "--loss", "hinge"])
    assert exit_.value.code == 2 and "invalid choice: 'hinge'" in capsys.readouterr().err


def test_train_an_imported_file_adds_the_loss_the_data_call_for(tmp_path, capsys):
    imported = tmp_path / "mlp.bpg"
    run(capsys, "import", MODEL, "--out", str(imported))
    trained = tmp_path / "trained.bpg"
    code, stdout, err = run(capsys, "train", str(imported), "--data", "iris", "--steps", "30",
                            "--out", str(trained), "--quiet")
    assert code == 0, err
    assert err.startswith("bpstudio-cli: note: the graph had no loss: added softmax_ce 'loss' "
                          "comparing 'logits' with a new target input 'y' (N,) (the data are "
                          "classes)\n")
    project = load(trained)
    assert project.graph.default_output().op == "softmax_ce" and project.is_trained
    # and it resumes like any trained project
    code, _, err = run(capsys, "train", str(trained), "--steps", "5", "--quiet")
    assert code == 0 and "note" not in err


def test_train_a_model_directly_with_a_chosen_loss(tmp_path, capsys):
    trained = tmp_path / "trained.bpg"
    code, _, err = run(capsys, "train", MODEL, "--data", "iris", "--steps", "10", "--loss", "mse",
                       "--out", str(trained), "--quiet")
    assert code == 0, err
    assert "added mse 'loss' comparing 'logits' with a new target input 'y' (N, 3) (as asked)" \
        in err
    assert load(trained).graph.default_output().op == "mse"


def test_train_refuses_a_loss_for_a_graph_that_has_one(capsys):
    xor = str(Path(__file__).resolve().parents[2] / "resources" / "examples" / "xor.bpg")
    code, _, err = run(capsys, "train", xor, "--data", "xor", "--steps", "1", "--loss", "mse")
    assert code == 2 and "--loss adds a loss to a graph without one" in err


def test_a_regression_gets_mse(tmp_path, capsys):
    path = tmp_path / "reg.onnx"
    model = make_model([helper.make_node("Gemm", ["x", "W", "b"], ["y"])],
                       [value_info("x", ["N", 1])], "y",
                       [initializer("W", [[0.5]]), initializer("b", [0.1])])
    onnx.save(model, str(path))
    code, _, err = run(capsys, "train", str(path), "--data", "sine", "--steps", "5", "--quiet")
    assert code == 0, err
    assert "added mse 'loss' comparing 'y' with a new target input 'target' (N, 1) (the data " \
        "are values)" in err
