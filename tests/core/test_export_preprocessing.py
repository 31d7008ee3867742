"""Exports of a project trained on data take RAW rows and return what the app shows: the ONNX
model (in onnxruntime) and the NumPy code agree with the app's predictions on the raw training
rows (1e-5) and score the same accuracy, for every example with a loss and for a CSV project;
the ONNX graph starts with the named standardisation nodes and says in its metadata what it
expects and returns; raw=True (and ``--raw``) keeps the bare graph."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from bpstudio.cli import main
from bpstudio.core.files.export_numpy import export_numpy
from bpstudio.core.files.export_onnx import export_onnx
from bpstudio.core.files.fileformat import save
from bpstudio.core.training.interface import model_interface, predict_raw
from bpstudio.version import __version__

from trained_examples import (CSV, SUBJECTS, accuracy_of, app_accuracy, app_probabilities,
                              trained)

TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=SUBJECTS)
def subject(request, tmp_path_factory):
    return request.param, trained(request.param, tmp_path_factory.mktemp(request.param))


def run_onnx(path, rows):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return session.run(None, {name: np.asarray(rows, dtype=np.float32)})[0], session


def run_numpy(path, rows):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.predict(rows), module


def close(ours, app):
    return np.max(np.abs(ours - app) / np.maximum(1.0, np.abs(app)))


def test_onnx_on_raw_rows_predicts_as_the_app(subject, tmp_path):
    name, t = subject
    interface = model_interface(t.project)
    export_onnx(t.project.graph, tmp_path / "m.onnx", interface=interface)
    raw = t.raw_train.features.reshape(
        (len(t.raw_train),) + tuple(t.project.graph.node("x").params["shape"]))
    out, session = run_onnx(tmp_path / "m.onnx", raw)
    app = app_probabilities(t)
    assert out.shape == app.shape
    # (the exploding stack's float32 gain: see test_export_onnx)
    tolerance = 1e-2 if name == "deep_exploding" else TOLERANCE
    assert close(out, app) < tolerance
    assert np.max(np.abs(predict_raw(t.project.graph, interface, raw) - app)) < 1e-12
    assert session.get_inputs()[0].name == "features"
    if interface.task == "classification":
        assert accuracy_of(out, t.raw_train.targets) == app_accuracy(t)
        assert session.get_outputs()[0].name in ("probability", "probabilities")
    else:
        assert session.get_outputs()[0].name == "predicted_value"


def test_numpy_code_on_raw_rows_predicts_as_the_app(subject, tmp_path):
    name, t = subject
    interface = model_interface(t.project)
    export_numpy(t.project.graph, tmp_path / "m.py", interface=interface)
    raw = t.raw_train.features.reshape(
        (len(t.raw_train),) + tuple(t.project.graph.node("x").params["shape"]))
    out, module = run_numpy(tmp_path / "m.py", raw)
    app = app_probabilities(t)
    assert close(out, app) < 1e-10
    if interface.task == "classification":
        assert accuracy_of(out, t.raw_train.targets) == app_accuracy(t)
    assert module.FEATURE_NAMES == list(interface.feature_names)
    assert module.STANDARDISATION["mean"] == [float(v) for v in interface.mean]
    assert module.TASK == interface.task and module.BPSTUDIO_VERSION == __version__


def test_the_onnx_graph_starts_with_the_standardisation_and_says_what_it_is(subject, tmp_path):
    name, t = subject
    interface = model_interface(t.project)
    export_onnx(t.project.graph, tmp_path / "m.onnx", interface=interface)
    model = onnx.load(tmp_path / "m.onnx")
    first, second = model.graph.node[:2]
    assert (first.op_type, first.name) == ("Sub", "standardise.subtract_mean")
    assert (second.op_type, second.name) == ("Div", "standardise.divide_by_std")
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    np.testing.assert_allclose(weights[first.input[1]].ravel(), interface.mean, rtol=1e-6)
    np.testing.assert_allclose(weights[second.input[1]].ravel(), interface.std, rtol=1e-6)
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["feature_names"]) == list(t.raw_train.feature_names)
    assert meta["target_name"] == t.raw_train.target_name
    assert json.loads(meta["class_names"]) == list(t.raw_train.class_names)
    assert meta["task"] == t.raw_train.task
    assert json.loads(meta["standardisation"])["std"] == [float(v) for v in interface.std]
    assert meta["bpstudio_version"] == __version__
    if name == CSV:
        assert json.loads(meta["class_names"]) == ["blue", "red"]
        assert json.loads(meta["feature_names"]) == ["width", "depth"]


def test_a_bare_export_misses_the_standardisation(tmp_path):
    """The fault this fixes: the bare graph on raw CSV rows scores far below the app."""
    t = trained(CSV, tmp_path, steps=200)
    export_onnx(t.project.graph, tmp_path / "bare.onnx")
    out, session = run_onnx(tmp_path / "bare.onnx", t.raw_train.features)
    assert session.get_inputs()[0].name == "x"
    assert not onnx.load(tmp_path / "bare.onnx").metadata_props
    bare = accuracy_of(1.0 / (1.0 + np.exp(-out)), t.raw_train.targets)
    assert app_accuracy(t) > 0.8 and bare < app_accuracy(t) - 0.2


def test_cli_exports_raw_rows_by_default_and_the_bare_graph_with_raw(tmp_path, capsys):
    t = trained("two_moons", tmp_path)
    save(t.project, tmp_path / "p.bpg")
    assert main(["export", str(tmp_path / "p.bpg"), "--onnx", str(tmp_path / "a.onnx"),
                 "--numpy", str(tmp_path / "a.py")]) == 0
    said = capsys.readouterr().out
    assert "raw, in the data's own units" in said and "probability of class '1'" in said
    out, session = run_onnx(tmp_path / "a.onnx", t.raw_train.features)
    assert close(out, app_probabilities(t)) < TOLERANCE
    numpy_out = run_numpy(tmp_path / "a.py", t.raw_train.features)[0]
    assert close(numpy_out, app_probabilities(t)) < 1e-10
    bare = ["export", str(tmp_path / "p.bpg"), "--raw", "--onnx", str(tmp_path / "b.onnx")]
    assert main(bare) == 0
    out, session = run_onnx(tmp_path / "b.onnx", t.data.train.features)
    assert session.get_inputs()[0].name == "x" and session.get_outputs()[0].name == "logits"
    assert np.max(np.abs(1.0 / (1.0 + np.exp(-out)) - app_probabilities(t))) < TOLERANCE


def test_a_project_without_data_exports_the_bare_graph():
    from bpstudio.core.examples import EXAMPLES
    assert model_interface(EXAMPLES["xor"]()) is None


def test_a_project_whose_data_has_gone_says_so_and_exports_raw(tmp_path, capsys):
    t = trained(CSV, tmp_path)
    save(t.project, tmp_path / "p.bpg")
    (tmp_path / "moons.csv").unlink()
    assert main(["export", str(tmp_path / "p.bpg"), "--onnx", str(tmp_path / "a.onnx")]) == 2
    err = capsys.readouterr().err
    assert "moons.csv" in err and "--raw" in err and not (tmp_path / "a.onnx").exists()
    bare = ["export", str(tmp_path / "p.bpg"), "--raw", "--onnx", str(tmp_path / "a.onnx")]
    assert main(bare) == 0
