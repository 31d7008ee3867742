"""An engine for the optimiser (gradients="parameters") computes in place where no one reads
the array again: the numbers it keeps are those of an engine that keeps everything, what it
wrote over cannot be read by mistake, and the arrays it writes over are counted (not timed)."""

from __future__ import annotations

import tracemalloc
from itertools import pairwise

import numpy as np
import pytest

from bpstudio import Engine, Graph, GraphError

SIZES = (3, 16, 12, 4)
BATCH = 32


def relu_mlp(activation: str = "relu", sizes: tuple[int, ...] = SIZES,
             batch: int = BATCH) -> tuple[Graph, dict[str, np.ndarray]]:
    g = Graph(seed=0)
    h = g.input("x", (sizes[0],))
    for k, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        last = k == len(sizes) - 2
        h = g.dense(h, fan_in, fan_out, f"layer{k}", activation=None if last else activation)
    g.softmax_ce(h, g.input("labels"), name="loss")
    rng = np.random.default_rng(0)
    return g, {"x": rng.normal(size=(batch, sizes[0])),
               "labels": rng.integers(0, sizes[-1], batch).astype(float)}


def run(engine: Engine, feeds) -> float:
    loss = float(engine.forward(feeds))
    engine.backward()
    return loss


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_in_place_passes_give_the_numbers_of_an_engine_that_keeps_everything(activation):
    graph, feeds = relu_mlp(activation)
    full, lean = Engine(graph), Engine(graph, gradients="parameters")
    for _ in range(3):  # the same numbers on every pass, not only on the first
        assert run(lean, feeds) == run(full, feeds)
        for name, grad in full.gradients().items():
            np.testing.assert_array_equal(lean.grad(name), grad)
        # What is left readable holds the full engine's numbers (but for the gradients of
        # the data, which an engine for the optimiser does not compute).
        for step in lean.plan.steps:
            reads = [(lean.value, full.value)]
            if step.source != "input":
                reads.append((lean.grad, full.grad))
            for read, full_read in reads:
                try:
                    number = read(step.node.id)
                except GraphError:
                    continue
                np.testing.assert_array_equal(number, full_read(step.node.id))


def test_what_was_written_over_cannot_be_read_and_keep_makes_it_readable():
    graph, feeds = relu_mlp()
    lean = Engine(graph, gradients="parameters")
    run(lean, feeds)
    # The bias was added in the product's array, and the ReLU written over that sum; the
    # ReLU's gradient was masked in the array the next product handed back.
    with pytest.raises(GraphError, match=r"value of matmul 'layer0.matmul' is not kept.*keep"):
        lean.value("layer0.matmul")
    with pytest.raises(GraphError, match="value of add 'layer0.z' is not kept"):
        lean.value("layer0.z")
    with pytest.raises(GraphError, match="gradient of relu 'layer0' is not kept"):
        lean.grad("layer0")
    # Always kept: the output, the sources, the parameters' gradients, and what every later
    # op reads (here the logits, which the loss does not write over).
    lean.value("loss"), lean.value("x"), lean.grad("layer0.W"), lean.value("layer2")
    lean.value("layer0"), lean.grad("layer0.z")

    lean.keep(values=["layer0.matmul", "layer0.z"], gradients=["layer0"])
    full = Engine(graph)
    run(lean, feeds), run(full, feeds)
    for name in ("layer0.matmul", "layer0.z"):
        np.testing.assert_array_equal(lean.value(name), full.value(name))
    np.testing.assert_array_equal(lean.grad("layer0"), full.grad("layer0"))
    with pytest.raises(GraphError, match="layer1.z"):  # (the other layers still in place)
        lean.value("layer1.z")


def test_an_engine_that_shows_every_node_writes_over_nothing():
    graph, feeds = relu_mlp()
    engine = Engine(graph)
    run(engine, feeds)
    for step in engine.plan.steps:
        engine.value(step.node.id), engine.grad(step.node.id)
    assert not any(s.context.overwrite_input or s.context.overwrite_grad for s in engine.plan.ops)


def test_a_value_read_by_two_ops_or_saved_for_a_backward_is_not_written_over():
    g = Graph()
    x = g.input("x", (3,))
    p = g.matmul(x, g.parameter("W", value=np.eye(3)), name="p")
    # p feeds two ops: neither may write over it. The ReLU's output is saved for its own
    # backward: the add after it may not write over it.
    r = g.relu(p, name="r")
    g.sum(g.add(g.add(r, 1.0, name="shifted"), g.mul(p, 2.0, name="twice"), name="both"),
          name="loss")
    engine = Engine(g, gradients="parameters")
    feeds = {"x": np.arange(-3.0, 3.0).reshape(2, 3)}
    full = Engine(g)
    assert run(engine, feeds) == run(full, feeds)
    np.testing.assert_array_equal(engine.value("p"), full.value("p"))
    np.testing.assert_array_equal(engine.value("r"), full.value("r"))
    np.testing.assert_array_equal(engine.grad("W"), full.grad("W"))
    # Only the sum of the two branches may be written over: its first input is an add that
    # feeds it alone.
    overwritten = {s.node.name for s in engine.plan.ops if s.context.overwrite_input}
    assert overwritten == {"both"}


def _buffers(engine: Engine) -> list[np.ndarray]:
    return [b for s in engine.plan.ops for b in s.context._buffers.values()]


def test_in_place_passes_hold_fewer_arrays_and_make_none_after_the_first():
    graph, feeds = relu_mlp()
    full, lean = Engine(graph), Engine(graph, gradients="parameters")
    run(full, feeds), run(lean, feeds)
    made = [id(b) for b in _buffers(lean)]
    for _ in range(2):
        run(lean, feeds)
    assert [id(b) for b in _buffers(lean)] == made  # the same arrays, step after step

    def activations(engine):  # arrays the size of a hidden layer's activations
        return sum(b.shape in ((BATCH, 16), (BATCH, 12)) and b.dtype == np.float64
                   for b in _buffers(engine))
    # Per hidden layer, the product and the gradient handed back to it; the full engine
    # also keeps the sum with the bias, the ReLU's output and the ReLU's gradient apart.
    assert activations(lean) == 2 * 2
    assert activations(full) == 2 * 5


def test_a_step_makes_no_temporary_the_size_of_an_activation():
    graph, feeds = relu_mlp(sizes=(3, 64, 64, 4), batch=256)
    engine = Engine(graph, gradients="parameters")
    run(engine, feeds)  # the buffers are made here, once
    tracemalloc.start()
    try:
        run(engine, feeds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # (A ufunc that casts, as the product of a gradient with the ReLU's boolean mask does,
    # works through a buffer of np.getbufsize() numbers of its own.)
    cast_buffer = np.getbufsize() * 8
    activation_bytes = 256 * 64 * 8
    assert peak < activation_bytes / 4 + cast_buffer, f"{peak} bytes allocated during one step"


def test_a_trainer_steps_in_place_and_measures_its_layers_from_what_it_keeps():
    from training_graphs import mlp

    from bpstudio.core.training import datasets
    from bpstudio.core.training.layermeter import LayerMeter
    from bpstudio.core.training.trainer import Trainer

    g = mlp((64, 32, 24, 10), "relu", "softmax_ce")
    trainer = Trainer(g, datasets.prepare("digits", validation=0.0), optimizer="sgd",
                      batch_size=64, layer_every=1)
    before = g.copy()  # the weights the step starts from
    stats = next(trainer.run(steps=1))
    engine = trainer.engine
    assert any(s.context.overwrite_input for s in engine.plan.ops)
    assert any(s.context.overwrite_grad for s in engine.plan.ops)
    # The same batch through an engine that writes over nothing: the same layer figures.
    rows = trainer._epoch_rows[1][:64]
    full = Engine(before, output=trainer.loss_node.name)
    full.forward({name: array[rows] for name, array in trainer._train_feeds.items()})
    full.backward()
    expected = LayerMeter(before, full, trainer.parameter_names).measure()
    np.testing.assert_array_equal(stats._layer_figures, expected)
