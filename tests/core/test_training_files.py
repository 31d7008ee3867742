"""Training through project files: save/load resumes exactly, and ``bpstudio-cli train``."""

import json
import subprocess
import sys

import numpy as np
import pytest

import bpstudio
from bpstudio import cli
from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer

from training_graphs import mlp


def test_train_100_save_load_train_100_equals_train_200_straight(tmp_path):
    data = datasets.prepare("moons", options={"noise": 0.15}, seed=3)
    straight_graph = mlp((2, 16, 16, 1), "tanh", "bce_logits")
    straight = Trainer(straight_graph, data, optimizer="adam", lr=0.01, batch_size=32, seed=7,
                       validate_every=25, history_points=64)
    curve = [s.loss for s in straight.run(steps=200)]

    graph = mlp((2, 16, 16, 1), "tanh", "bce_logits")
    first = Trainer(graph, data, optimizer="adam", lr=0.01, batch_size=32, seed=7,
                    validate_every=25, history_points=64)
    head = [s.loss for s in first.run(steps=100)]
    path = tmp_path / "half.bpg"
    bpstudio.save(first.to_project("half way"), path)

    project = bpstudio.load(path)
    assert project.is_trained and project.optimizer_state["name"] == "adam"
    resumed = Trainer.from_project(project)  # data, settings and state all from the file
    tail = [s.loss for s in resumed.run(steps=100)]

    assert head + tail == curve  # bit-identical
    for name in straight.parameter_names:
        assert np.array_equal(project.graph.node(name).value, straight_graph.node(name).value)
    for slot in ("m", "v"):
        assert np.array_equal(resumed.optimizer.state[slot], straight.optimizer.state[slot])
    for key in ("step", "loss", "accuracy", "grad_norms", "update_ratios"):
        assert np.array_equal(resumed.history.column(key), straight.history.column(key),
                              equal_nan=True)
    assert resumed.history.val_rows == straight.history.val_rows
    assert resumed.history.stride == straight.history.stride > 1  # thinned across the save


def test_a_csv_trained_project_keeps_its_standardization(tmp_path):
    rows = ["a,b,label"] + [f"{i % 7 * 10},{i % 5 + 100},{'yes' if i % 7 > 3 else 'no'}"
                            for i in range(60)]
    csv_path = tmp_path / "table.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    graph = mlp((2, 8, 2), "tanh", "softmax_ce")
    trainer = Trainer(graph, datasets.prepare(str(csv_path), target="label", seed=1), lr=0.05)
    trainer.fit(steps=20)
    bpstudio.save(trainer.to_project(), tmp_path / "csv.bpg")
    saved = bpstudio.load(tmp_path / "csv.bpg").training
    stats = datasets.Standardizer.from_dict(saved["standardisation"], 2)
    assert stats.mean[1] == pytest.approx(102, abs=0.5) and stats.std[0] > 10
    assert saved["data"]["target"] == "label" and saved["data"]["path"] == str(csv_path)


# ---------------------------------------------------------------------------------- CLI
@pytest.fixture
def moons_file(tmp_path):
    path = tmp_path / "moons.bpg"
    bpstudio.save(mlp((2, 16, 16, 1), "tanh", "bce_logits"), path)
    return path


def run_cli(capsys, *args):
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse refusing an argument
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_trains_saves_and_reports(capsys, tmp_path, moons_file):
    out_path = tmp_path / "trained.bpg"
    code, out, err = run_cli(capsys, "train", moons_file, "--data", "moons", "--steps", 400,
                             "--lr", 0.01, "--optimizer", "adam", "--batch-size", 32,
                             "--seed", 1, "--out", out_path)
    assert code == 0 and err == ""
    final = out.strip().splitlines()
    assert final[-1] == f"saved {out_path}"
    assert final[-2].startswith("trained 400 steps in") and "accuracy" in final[-2]
    assert "val_accuracy" in final[-2]
    project = bpstudio.load(out_path)
    assert project.training["progress"]["step"] == 400
    assert project.training["optimizer"] == "adam" and project.training["seed"] == 1
    assert len(project.history["loss"]) > 0


def test_cli_resumes_a_trained_file_and_prints_json(capsys, tmp_path, moons_file):
    first = tmp_path / "first.bpg"
    run_cli(capsys, "train", moons_file, "--data", "moons", "--steps", 50, "--out", first)
    code, out, _ = run_cli(capsys, "train", first, "--steps", 30, "--json", "--quiet")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "done" and record["steps"] == 30 and record["total_steps"] == 80
    assert 0 <= record["accuracy"] <= 1 and record["val_loss"] > 0


def test_cli_progress_lines(capsys, monkeypatch, moons_file):
    monkeypatch.setattr(cli, "PROGRESS_SECONDS", 0.0)
    code, out, _ = run_cli(capsys, "train", moons_file, "--data", "moons", "--steps", 5)
    task, *lines = out.strip().splitlines()
    assert task == "task: classification, because 'moons' is a classification data set (2 classes)"
    assert code == 0 and len(lines) == 5  # four progress lines, then the final metrics
    assert lines[0].startswith("step 1 (1/5)  loss ") and "steps/s" in lines[0]
    assert "ETA 0:00:00" in lines[0] and "acc " in lines[0]
    code, out, _ = run_cli(capsys, "train", moons_file, "--data", "moons", "--epochs", 1,
                           "--json")
    records = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["event"] for r in records[:-1]] == ["progress"] * (len(records) - 1)
    assert records[-1]["event"] == "done" and records[-1]["steps"] == 5  # 160 rows / 32
    assert set(records[0]["grad_norms"]) == {"h1.W", "h1.b", "h2.W", "h2.b", "out.W", "out.b"}
    code, out, _ = run_cli(capsys, "train", moons_file, "--data", "moons", "--steps", 5,
                           "--quiet")
    assert len(out.strip().splitlines()) == 1


def test_cli_trains_on_a_csv_with_a_target_column(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    label = np.where(x[:, 0] + x[:, 2] > 0, "up", "down")
    rows = ["p,q,kind,r"] + [f"{a:.4f},{b:.4f},{k},{c:.4f}" for (a, b, c), k in zip(x, label)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.bpg"
    bpstudio.save(mlp((3, 8, 2), "tanh", "softmax_ce"), model)
    code, out, _ = run_cli(capsys, "train", model, "--data", tmp_path / "data.csv", "--target",
                           "kind", "--steps", 300, "--json", "--quiet")
    record = json.loads(out)
    assert code == 0 and record["val_accuracy"] >= 0.9


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "argument --steps: 0 must be at least 1"),
    (["--steps", "5", "--lr", "-1"], "argument --lr: -1 must be a finite number > 0"),
    (["--steps", "5", "--lr", "fast"], "argument --lr: 'fast' is not a number"),
    (["--steps", "5", "--epochs", "1"], "not allowed with argument"),
    ([], "one of the arguments --steps --epochs is required"),
    (["--steps", "5", "--optimizer", "adamw"], "invalid choice: 'adamw'"),
    (["--steps", "5", "--data", "nosuch"], "unknown data set 'nosuch'"),
    (["--steps", "5", "--data", "iris"], "input 'x' takes samples of shape (2,)"),
    (["--steps", "5", "--data", "moons", "--target", "y"], "CSV files only"),
    (["--steps", "5"], "never trained: say which data to use with --data"),
])
def test_cli_bad_arguments_give_one_line_and_a_nonzero_code(capsys, moons_file, args, message):
    code, out, err = run_cli(capsys, "train", moons_file, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_bad_csv_and_missing_file(capsys, tmp_path, moons_file):
    (tmp_path / "bad.csv").write_text("a,b,y\n1,2,0\n3,x,1\n")
    code, _, err = run_cli(capsys, "train", moons_file, "--data", tmp_path / "bad.csv",
                           "--steps", 5)
    assert code == 2 and "bad.csv, line 3, column 'b': 'x' is not a finite number" in err
    code, _, err = run_cli(capsys, "train", tmp_path / "none.bpg", "--data", "moons",
                           "--steps", 5)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "none.bpg" in err


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the message alone, no NumPy warning
def test_cli_divergence_names_the_culprit_and_saves_the_last_finite_weights(capsys, tmp_path):
    model, out_path = tmp_path / "sine.bpg", tmp_path / "out.bpg"
    bpstudio.save(mlp((1, 16, 16, 1), "relu", "mse", init="he_uniform"), model)
    code, out, err = run_cli(capsys, "train", model, "--data", "sine", "--steps", 500,
                             "--optimizer", "sgd", "--lr", 1e6, "--out", out_path)
    assert code == 1
    assert err.startswith("bpstudio-cli: error: training stopped at step ")
    assert "learning rate (now 1e+06)" in err and len(err.strip().splitlines()) == 1
    assert f"saved {out_path}" in out
    graph = bpstudio.load(out_path).graph
    assert all(np.all(np.isfinite(n.value)) for n in graph.nodes_of("parameter"))


def test_the_installed_entry_point_runs(tmp_path, moons_file):
    result = subprocess.run([sys.executable, "-m", "bpstudio.cli", "train", str(moons_file),
                             "--data", "xor", "--steps", "20", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("trained 20 steps")
    bad = subprocess.run([sys.executable, "-m", "bpstudio.cli", "train", str(moons_file),
                          "--data", "xor", "--steps", "-3"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_the_iris_example_trains_from_its_own_settings():
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "resources" / "examples" / "iris_classifier.bpg"
    project = bpstudio.load(path)
    assert not project.is_trained and project.training["data"] == {"source": "iris"}
    trainer = Trainer.from_project(project)
    assert trainer.data.standardizer is not None  # no statistics saved yet: measured on the rows
    assert (trainer.optimizer.name, trainer.batch_size) == ("adam", 16)
    assert trainer.fit(steps=500).val_accuracy >= 0.9


def test_cli_trains_a_trained_project_edited_since(capsys, tmp_path, moons_file):
    """Renaming a weight after training leaves the saved curves and optimiser slots stale:
    training goes on from the weights with a fresh optimiser and says why."""
    first = tmp_path / "first.bpg"
    run_cli(capsys, "train", moons_file, "--data", "moons", "--steps", 20, "--out", first)
    project = bpstudio.load(first)
    weights = project.graph.node("h1.W").value.copy()
    project.graph.rename("h1.W", "hidden.W")
    bpstudio.save(project, first)

    second = tmp_path / "second.bpg"
    code, out, err = run_cli(capsys, "train", first, "--steps", 10, "--quiet", "--out", second)
    assert code == 0, err
    assert "the graph changed since it was trained" in err and "hidden.W" in err
    again = bpstudio.load(second)
    assert again.training["progress"]["step"] == 10  # a fresh count, not 30
    assert not np.array_equal(again.graph.node("hidden.W").value, weights)  # trained on
