"""Every bundled example with a loss, trained a few steps on a data set it fits, and a project
trained on a CSV file whose columns are far from standardised: the subjects of the export
tests (ONNX, NumPy code, PyTorch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpstudio.core.examples import EXAMPLES
from bpstudio.core.project import Project
from bpstudio.core.training import datasets
from bpstudio.core.training.datasets import Dataset, TrainingData
from bpstudio.core.training.trainer import Trainer

# Example -> the data set it learns (fan_out has no loss and is left out).
DATA_FOR = {"single_neuron": "sine", "xor": "xor", "two_moons": "moons",
            "deep_sigmoid": "moons", "deep_relu_he": "moons", "deep_exploding": "moons",
            "iris_classifier": "iris"}
CSV = "csv"
SUBJECTS = [*DATA_FOR, CSV]


@dataclass
class Trained:
    project: Project
    trainer: Trainer
    data: TrainingData
    raw_train: Dataset          # the training rows before standardisation


def write_csv(path: Path) -> Path:
    """Two moons in odd units (a column near 200, one near -40) with classes named in words."""
    moons = datasets.by_name("moons", n=120)
    x = moons.features * [30.0, 5.0] + [200.0, -40.0]
    names = np.array(["blue", "red"])[moons.targets.astype(int)]
    lines = ["width,depth,colour"] + [f"{a:.17g},{b:.17g},{c}" for (a, b), c in zip(x, names)]
    path.write_text("\n".join(lines) + "\n")
    return path


def trained(subject: str, folder: Path, steps: int = 20, optimizer: str = "adam",
            lr: float = 0.01) -> Trained:
    if subject == CSV:
        project = EXAMPLES["two_moons"]()
        source = str(write_csv(folder / "moons.csv"))
    else:
        project = EXAMPLES[subject]()
        source = DATA_FOR[subject]
    data = datasets.prepare(source)
    trainer = Trainer(project.graph, data, optimizer=optimizer, lr=lr)
    trainer.fit(steps=steps)
    raw = datasets.prepare(source, standardize=False).train
    return Trained(trainer.to_project(project.description), trainer, data, raw)


def app_probabilities(t: Trained) -> np.ndarray:
    """What the app predicts for the training rows: the engine's output on the standardised
    rows, scores read as the prediction plot reads them (sigmoid under bce_logits, softmax
    under softmax_ce)."""
    from bpstudio.core.engine import Engine

    graph = t.project.graph
    loss = t.trainer.loss_node
    prediction = graph.nodes[graph.input_edges(loss)[0].src]
    x = graph.node(next(k for k, v in t.trainer.bindings.items() if v == "features"))
    rows = t.data.train.features.reshape((len(t.data.train),) + tuple(x.params["shape"]))
    z = np.asarray(Engine(graph, output=prediction).forward({x.name: rows}), dtype=np.float64)
    if loss.op == "bce_logits":
        return 1.0 / (1.0 + np.exp(-z))
    if loss.op == "softmax_ce":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def accuracy_of(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """The fraction of rows whose most probable class is the target's."""
    p = probabilities.reshape(len(probabilities), -1)
    predicted = p.argmax(axis=1) if p.shape[1] > 1 else (p[:, 0] > 0.5)
    return float(np.mean(predicted == targets))


def app_accuracy(t: Trained) -> float:
    """The trainer's own accuracy on every training row."""
    from bpstudio.core.training.trainer import _feed_arrays

    feeds = _feed_arrays(t.data.train, t.trainer._inputs, t.trainer.bindings)
    return t.trainer.evaluate(feeds)[1]
