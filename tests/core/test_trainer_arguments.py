"""The Trainer refuses arguments of the wrong type or range (a bool for a number, text, NaN,
a batch of 10**12 rows, an unknown optimiser), naming the argument, before anything is built."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer, TrainingError

from training_graphs import mlp


# -------------------------------------------------------------------------- arguments
@pytest.fixture(scope="module")
def moons():
    return datasets.prepare("moons", options={"n": 80}, seed=0)


BAD_ARGUMENTS = [
    ("optimizer", "adamw", "optimizer must be one of sgd, momentum, nesterov, rmsprop, adam, "
                           "not 'adamw'"),
    ("optimizer", None, "optimizer must be one of"),
    ("optimizer", ["adam"], "optimizer must be one of"),
    ("lr", 0, "lr must be a finite number > 0, not 0"),
    ("lr", -0.1, "lr must be a finite number > 0, not -0.1"),
    ("lr", math.nan, "lr must be a finite number > 0, not nan"),
    ("lr", math.inf, "lr must be a finite number > 0, not inf"),
    ("lr", 10**400, "lr must be a finite number > 0, not a whole number of 401 digits"),
    ("lr", True, "lr must be a number, not True"),
    ("lr", "0.01", "lr must be a number, not '0.01'"),
    ("lr", None, "lr must be a number, not None"),
    ("lr", [0.1], "lr must be a number, not [0.1]"),
    ("weight_decay", -1e-4, "weight_decay must be a finite number >= 0, not -0.0001"),
    ("weight_decay", math.nan, "weight_decay must be a finite number >= 0, not nan"),
    ("weight_decay", False, "weight_decay must be a number, not False"),
    ("batch_size", 0, "batch_size must be from 1 to 1,000,000, not 0"),
    ("batch_size", -5, "batch_size must be from 1 to 1,000,000, not -5"),
    ("batch_size", 10**7, "batch_size must be from 1 to 1,000,000, not 10000000"),
    ("batch_size", 10**400, "batch_size must be from 1 to 1,000,000, not a whole number of 401"),
    ("batch_size", True, "batch_size must be a whole number, not True"),
    ("batch_size", 32.0, "batch_size must be a whole number, not 32.0"),
    ("batch_size", "32", "batch_size must be a whole number, not '32'"),
    ("seed", -1, "seed must be from 0 to 9,223,372,036,854,775,807, not -1"),
    ("seed", 2**64, "seed must be from 0 to"),
    ("seed", 1.5, "seed must be a whole number, not 1.5"),
    ("seed", True, "seed must be a whole number, not True"),
    ("validate_every", -1, "validate_every must be from 0 to"),
    ("validate_every", False, "validate_every must be a whole number, not False"),
    ("history_points", 1, "history_points must be from 2 to 100,000, not 1"),
    ("history_points", np.float64(100), "history_points must be a whole number"),
    ("bindings", ["x", "t"], "bindings must map names to values, not ['x', 't']"),
    ("bindings", {1: "features"}, "bindings must map names to values"),
    ("optimizer_options", "beta1=0.9", "optimizer_options must map names to values"),
    ("optimizer_options", {"beta1": True}, "beta1 must be a number, not True"),
    ("optimizer_options", {"beta1": "0.9"}, "beta1 must be a number, not '0.9'"),
    ("optimizer_options", {"beta1": 1.0}, "beta1 must be below 1, not 1.0"),
    ("optimizer_options", {"colour": 1}, "optimiser 'adam': "),
]


@pytest.mark.parametrize("name, value, message", BAD_ARGUMENTS,
                         ids=[f"{n}-{k}" for k, (n, _, _) in enumerate(BAD_ARGUMENTS)])
def test_bad_arguments_are_refused_naming_them(moons, name, value, message):
    graph = mlp((2, 8, 1), "tanh", "bce_logits")
    before = {n.name: n.value.copy() for n in graph.nodes_of("parameter")}
    with pytest.raises(TrainingError) as info:
        Trainer(graph, moons, **{name: value})
    assert str(info.value).startswith(message), str(info.value)
    assert len(str(info.value)) < 200
    # Refused before anything was built: the graph's weights are its own arrays still.
    assert all(np.array_equal(graph.node(n).value, v) for n, v in before.items())


def test_a_graph_that_is_not_a_graph_is_named():
    with pytest.raises(TrainingError, match="graph must be a Graph, not str"):
        Trainer("moons.bpg", "moons")


def test_numpy_numbers_are_numbers(moons):
    trainer = Trainer(mlp((2, 8, 1), "tanh", "bce_logits"), moons, lr=np.float32(0.05),
                      batch_size=np.int64(16), seed=np.uint8(3), weight_decay=np.float64(0),
                      validate_every=np.int32(5))
    assert trainer.fit(steps=2).step == 2 and trainer.batch_size == 16
