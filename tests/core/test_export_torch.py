"""The PyTorch export: the generated module, run in a process that cannot import bpstudio,
computes in float64 the engine's prediction, loss and parameter gradients (1e-10) for every
example with a loss and a CSV project, and 50 steps of torch.optim.SGD on the same batches
follow bpstudio's own SGD trajectory (1e-8). The module imports only torch and NumPy; its
weights load with np.load(allow_pickle=False)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bpstudio.core.engine import Engine
from bpstudio.core.files.export_torch import export_torch, torch_source
from bpstudio.core.training.interface import model_interface
from bpstudio.core.training.trainer import Trainer, _feed_arrays

from trained_examples import SUBJECTS, trained

torch = pytest.importorskip(
    "torch", reason="the PyTorch export's tests run the generated module: torch is in the "
                    "dev extra (pip install -e '.[dev]')")

SGD_STEPS = 50
SGD_LR = 0.01
# The exploding stack amplifies a rounding difference of 1e-16 (a sum taken in another order)
# by its gain at each of its ten layers, and every SGD step feeds that back into the weights:
# its trajectory parts from itself after a few steps at any useful learning rate (5e-8 after
# 50 steps even at lr 1e-4), so it is followed for its first steps only.
STEPS_FOLLOWED = {"deep_exploding": 10}
SGD_LR_FOR = {"deep_exploding": 1e-4}
BATCH = 32

# Run in a fresh interpreter (-I: no PYTHONPATH, no script folder on sys.path) where importing
# bpstudio fails, so that the generated code is shown to need nothing of it.
RUNNER = textwrap.dedent('''
    import importlib.util, sys
    sys.modules["bpstudio"] = None  # importing bpstudio now raises ImportError
    import numpy as np, torch
    module_path, case_path, out_path = sys.argv[1:]
    spec = importlib.util.spec_from_file_location("exported", module_path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    case = dict(np.load(case_path, allow_pickle=False))
    model = exported.load()
    features, target = torch.from_numpy(case["features"]), torch.from_numpy(case["target"])

    def grads_by_name():
        named = dict(model.named_parameters())
        out = {}
        for name, (key, transposed) in exported.PARAMETERS.items():
            g = named[key].grad.detach().numpy()
            out["grad:" + name] = g.T if transposed else g
        return out

    prediction = model(features)
    loss = model.loss(prediction, target)
    loss.backward()
    result = {"prediction": prediction.detach().numpy(), "loss": loss.detach().numpy(),
              "probabilities": model.predict(features).detach().numpy(), **grads_by_name()}
    optimizer = torch.optim.SGD(model.parameters(), lr=float(case["lr"]))
    losses = []
    for k in range(int(case["steps"])):
        rows = torch.from_numpy(case[f"rows{k}"])
        optimizer.zero_grad()
        step_loss = model.loss(model(features[rows]), target[rows])
        step_loss.backward()
        optimizer.step()
        losses.append(step_loss.item())
    result["losses"] = np.array(losses)
    named = dict(model.named_parameters())
    for name, (key, transposed) in exported.PARAMETERS.items():
        w = named[key].detach().numpy()
        result["weight:" + name] = w.T if transposed else w
    np.savez(out_path, **result)
''')


@pytest.fixture(scope="module", params=SUBJECTS)
def run(request, tmp_path_factory):
    """The subject trained a few steps, exported, and run by RUNNER; with the engine's own
    numbers for the same rows and bpstudio's SGD trajectory from the same weights."""
    folder = tmp_path_factory.mktemp(request.param)
    t = trained(request.param, folder)
    graph = t.project.graph
    interface = model_interface(t.project)
    export_torch(graph, folder / "model.py", interface=interface)

    feeds = _feed_arrays(t.data.train, t.trainer._inputs, t.trainer.bindings)
    x, y = (next(k for k, v in t.trainer.bindings.items() if v == role)
            for role in ("features", "target"))
    engine = Engine(graph)
    loss = float(engine.forward(feeds))
    engine.backward()
    prediction = engine.value(graph.input_edges(t.trainer.loss_node)[0].src).copy()
    gradients = {k: v.copy() for k, v in engine.gradients().items()}

    lr = SGD_LR_FOR.get(request.param, SGD_LR)
    sgd = Trainer(graph.copy(), t.data, optimizer="sgd", lr=lr, batch_size=BATCH, seed=0)
    losses = [s.loss for s in sgd.run(steps=SGD_STEPS)]
    weights = {n.name: np.array(n.value) for n in sgd.to_project().graph.nodes_of("parameter")}
    n, per_epoch = len(t.data.train), sgd.steps_per_epoch
    schedule = {}
    for step in range(SGD_STEPS):  # the trainer's batches: a pure function of (seed, step)
        epoch, k = divmod(step, per_epoch)
        order = np.random.default_rng([0, epoch]).permutation(n)
        schedule[f"rows{step}"] = order[k * BATCH:(k + 1) * BATCH]
    raw = t.raw_train.features.reshape(feeds[x].shape)
    np.savez(folder / "case.npz", features=raw, target=feeds[y], lr=lr, steps=SGD_STEPS,
             **schedule)
    done = subprocess.run([sys.executable, "-I", "-c", RUNNER, str(folder / "model.py"),
                           str(folder / "case.npz"), str(folder / "out.npz")],
                          capture_output=True, text=True, cwd=folder, timeout=300)
    assert done.returncode == 0, done.stderr
    with np.load(folder / "out.npz", allow_pickle=False) as out:
        result = dict(out)
    return request.param, t, interface, result, loss, prediction, gradients, losses, weights


def test_forward_loss_and_gradients_equal_the_engines(run):
    name, t, interface, result, loss, prediction, gradients, _, _ = run
    assert np.max(np.abs(result["prediction"] - prediction)) < 1e-10
    assert abs(float(result["loss"]) - loss) < 1e-10
    assert np.max(np.abs(result["probabilities"] - interface.read_output(prediction))) < 1e-10
    assert set(gradients) == {k[5:] for k in result if k.startswith("grad:")}
    for parameter, g in gradients.items():
        assert np.max(np.abs(result[f"grad:{parameter}"] - g)) < 1e-10, parameter


def test_fifty_sgd_steps_follow_bpstudios_trajectory(run):
    name, t, interface, result, _, _, _, losses, weights = run
    followed = STEPS_FOLLOWED.get(name, SGD_STEPS)
    scale = max(1.0, max(abs(v) for v in losses))
    assert np.max(np.abs(result["losses"][:followed] - losses[:followed])) / scale < 1e-8
    if followed < SGD_STEPS:
        return
    for parameter, w in weights.items():
        assert np.max(np.abs(result[f"weight:{parameter}"] - w)) < 1e-8, parameter


def test_the_module_is_readable_and_imports_only_torch_and_numpy(tmp_path):
    t = trained("two_moons", tmp_path)
    source, state = torch_source(t.project.graph, "m.npz", interface=model_interface(t.project))
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"os", "numpy", "torch"}
    assert "self.h1 = nn.Linear(2, 16, dtype=dtype)" in source
    assert "features = (features - self.mean) / self.std" in source
    assert "self.register_buffer('mean'" in source
    assert "import pickle" not in source and "torch.load" not in source
    assert "np.load(path, allow_pickle=False)" in source
    np.testing.assert_array_equal(state["h1.weight"], t.project.graph.node("h1.W").value.T)


def test_cli_writes_the_module_and_its_weights(tmp_path, capsys):
    from bpstudio.cli import main
    from bpstudio.core.files.fileformat import save

    t = trained("iris_classifier", tmp_path)
    save(t.project, tmp_path / "iris.bpg")
    assert main(["export", str(tmp_path / "iris.bpg"), "--torch", str(tmp_path / "iris.py")]) == 0
    assert "wrote" in capsys.readouterr().out
    with np.load(tmp_path / "iris.npz", allow_pickle=False) as archive:
        assert {"mean", "std", "hidden.weight", "hidden.bias"} <= set(archive.files)
    assert main(["export", str(tmp_path / "iris.bpg"), "--torch", str(tmp_path / "iris.txt")]) == 2
