"""Each loss states in the op registry which targets it takes (its target port's domain), and
a Trainer refuses data whose targets are not of them before training, naming the loss and the
column: a bce on targets of 5 would train to a negative loss without any error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpstudio import Graph
from bpstudio.core.ops import REGISTRY
from bpstudio.core.ops.base import DOMAINS, LOSSES, Op, Port, register
from bpstudio.core.training import datasets
from bpstudio.core.training.datasets import CLASSIFICATION, REGRESSION, DataError, Dataset
from bpstudio.core.training.trainer import Trainer

LOSS_NAMES = [op.name for op in REGISTRY.values() if op.is_loss]


# ------------------------------------------------------------------- target domains
def test_every_loss_states_the_targets_it_takes():
    assert set(LOSS_NAMES) == {"mse", "bce", "bce_logits", "softmax_ce"}
    for name in LOSS_NAMES:
        port = REGISTRY[name].target_port()
        assert port is not None and port.domain in DOMAINS
        assert port is REGISTRY[name].inputs[REGISTRY[name].target_input]
    assert [REGISTRY[n].target_port().domain for n in LOSS_NAMES] == \
        ["real", "unit", "unit", "label"]


def test_a_loss_that_does_not_say_where_its_target_goes_cannot_be_registered():
    class Vague(Op):
        name = "vague_loss_test"
        title, group, doc, derivative = "Vague", LOSSES, "", ""
        is_loss = True
        inputs = (Port("prediction"), Port("target"))

    class Odd(Vague):
        name = "odd_domain_test"
        target_input = 1
        inputs = (Port("prediction"), Port("target", domain="sometimes"))

    with pytest.raises(ValueError, match="must say which input takes the target"):
        register(Vague)
    with pytest.raises(ValueError, match="unknown domain 'sometimes'"):
        register(Odd)
    assert "vague_loss_test" not in REGISTRY and "odd_domain_test" not in REGISTRY


def loss_graph(loss: str, logits: int) -> Graph:
    """x (2 features) -> dense -> loss against input t; bce reads probabilities (sigmoid)."""
    g = Graph(seed=0)
    x = g.input("x", (2,))
    t = g.input("t", () if loss == "softmax_ce" else (1,))
    h = g.dense(x, 2, logits if loss == "softmax_ce" else 1, "out", activation=None)
    if loss == "bce":
        h = g.sigmoid(h, name="p")
    g.apply(loss, h, t, name="loss")
    return g


def targets_taken(loss: str, targets: np.ndarray, logits: int) -> bool:
    """The rule, written out here: mse any finite number, bce and bce_logits 0..1,
    softmax_ce whole numbers 0 .. logits - 1."""
    if loss == "mse":
        return bool(np.all(np.isfinite(targets)))
    if loss in ("bce", "bce_logits"):
        return bool(np.all((targets >= 0) & (targets <= 1)))
    return bool(np.all((targets >= 0) & (targets < logits) & (targets == np.round(targets))))


def made_data(kind: str, rng: np.random.Generator) -> Dataset:
    n = 40
    x = rng.normal(size=(n, 2))
    if kind.startswith("classes"):
        k = int(kind[7:])
        y = np.arange(n) % k
        return Dataset(kind, x, y, CLASSIFICATION, ("a", "b"), "label",
                       tuple(str(c) for c in range(k)))
    low, high = {"unit": (0.0, 1.0), "signed": (-1.0, 1.0), "wide": (0.0, 5.0),
                 "tiny_over": (0.0, 1.0 + 1e-9)}[kind]
    y = rng.uniform(low, high, n)
    y[0], y[1] = low, high  # the ends are in the data
    return Dataset(kind, x, y, REGRESSION, ("a", "b"), "y")


@pytest.mark.parametrize("loss", LOSS_NAMES)
@pytest.mark.parametrize("kind", ["unit", "signed", "wide", "tiny_over", "classes2", "classes3",
                                  "classes5"])
@pytest.mark.parametrize("logits", [2, 3])
def test_targets_outside_what_the_loss_takes_are_refused_before_training(loss, kind, logits):
    if loss != "softmax_ce" and logits == 3:
        return  # (the width matters to softmax_ce only)
    data = made_data(kind, np.random.default_rng(len(kind) + logits))
    graph = loss_graph(loss, logits)
    try:
        trainer = Trainer(graph, data, batch_size=8)
    except DataError as exc:
        message = str(exc)
        assert not targets_taken(loss, data.targets, logits)
        assert message.startswith(f"the loss {loss} 'loss' takes targets that are ")
        column = "label" if kind.startswith("classes") else "y"
        assert f"but the target column '{column}' of '{kind}' holds " in message
        assert "of 40 training rows" in message
        return
    assert targets_taken(loss, data.targets, logits)
    stats = trainer.fit(steps=3)
    assert math.isfinite(stats.loss) and (loss == "mse" or stats.loss >= 0)


@pytest.mark.parametrize("loss, kind, message", [
    ("bce", "wide", "the loss bce 'loss' takes targets that are numbers from 0 to 1 (at its "
                    "port 'target'), but the target column 'y' of 'wide' holds 5 ("),
    ("bce_logits", "classes3", "the loss bce_logits 'loss' takes targets that are numbers from "
                               "0 to 1 (at its port 'target'), but the target column 'label' of "
                               "'classes3' holds 2 (13 of 40 training rows); the data has 3 "
                               "classes: use softmax_ce"),
    ("softmax_ce", "classes3", "the loss softmax_ce 'loss' takes targets that are class indices "
                               "from 0 to 1 (at its port 'labels'), but the target column "
                               "'label' of 'classes3' holds 2 (13 of 40 training rows); the data "
                               "has 3 classes but the logits have 2 columns"),
    ("softmax_ce", "signed", "; the data is a regression: use an mse loss"),
    ("bce", "signed", "; the data is a regression: use an mse loss"),
])
def test_the_refusal_names_the_loss_the_column_and_what_to_do(loss, kind, message):
    data = made_data(kind, np.random.default_rng(0))
    with pytest.raises(DataError) as info:
        Trainer(loss_graph(loss, 2), data)
    assert message in str(info.value)


def test_targets_bad_only_in_the_validation_rows_are_refused_too():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 2))
    y = rng.uniform(0, 1, 50)
    train = Dataset("split", x[:40], y[:40], REGRESSION, ("a", "b"), "y")
    val = Dataset("split", x[40:], np.where(np.arange(10) == 4, 1.5, y[40:]), REGRESSION,
                  ("a", "b"), "y")
    data = datasets.TrainingData(train, val, None, {})
    with pytest.raises(DataError, match=r"holds 1.5 \(1 of 10 validation rows\)"):
        Trainer(loss_graph("bce_logits", 2), data)


def test_the_reported_csv_case_bce_on_a_regression_column(tmp_path):
    """A numeric regression CSV trained with bce: refused, not a loss of -3.67 and exit 0."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 2))
    rows = [f"{a:.4f},{b:.4f},{3 * a + b:.4f}" for a, b in x]
    path = tmp_path / "house.csv"
    path.write_text("size,age,price\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="the target column 'price' of 'house' holds"):
        Trainer(loss_graph("bce", 2), datasets.prepare(str(path), seed=0))


def test_the_command_line_refuses_it_with_exit_2(tmp_path, capsys):
    import bpstudio
    from bpstudio import cli

    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 2))
    (tmp_path / "house.csv").write_text("size,age,price\n" + "".join(
        f"{a:.4f},{b:.4f},{10 * a + b:.4f}\n" for a, b in x))
    bpstudio.save(loss_graph("bce_logits", 2), tmp_path / "m.bpg")
    code = cli.main(["train", str(tmp_path / "m.bpg"), "--data", str(tmp_path / "house.csv"),
                     "--steps", "5"])
    out, err = capsys.readouterr()
    assert code == 2 and err.startswith("bpstudio-cli: error: the loss bce_logits 'loss' takes "
                                        "targets that are numbers from 0 to 1")
    assert "the target column 'price' of 'house'" in err and len(err.splitlines()) == 1
