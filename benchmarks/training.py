"""What the Trainer's bookkeeping costs: steps per second of ``Trainer`` (SGD, statistics on:
loss, accuracy, per-parameter gradient norms and update ratios, non-finite checks, history)
against the bare engine's forward + backward + a hand-written SGD update, on the same graph,
the same data and the same batches, measured in the same run.

Blocks of steps of the two loops alternate, so that a busy machine slows both alike. Both the
fastest block (the least disturbed by other work on the machine) and the median block of each
loop are compared. Goal: overhead <= 10% on every case.

    python benchmarks/training.py [--blocks 15] [--steps 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bpstudio import Engine, Graph
from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import Trainer

LR = 0.05
CASES = {
    "moons, tanh MLP 2-16-16-1, batch 32, BCE": dict(data="moons", sizes=(2, 16, 16, 1),
                                                      act="tanh", loss="bce_logits", batch=32),
    "iris, tanh MLP 4-16-3, batch 16, softmax CE": dict(data="iris", sizes=(4, 16, 3), act="tanh",
                                                         loss="softmax_ce", batch=16),
    "digits, relu MLP 64-32-10, batch 64, softmax CE": dict(
        data="digits", sizes=(64, 32, 10), act="relu", loss="softmax_ce", batch=64),
    # The sizes of benchmarks/engine.py: the bookkeeping is a smaller share of a bigger step.
    "moons, tanh MLP 2-64-64-1, batch 256, BCE": dict(data="moons", n=2000, sizes=(2, 64, 64, 1),
                                                       act="tanh", loss="bce_logits", batch=256),
    "digits, relu MLP 64-256-256-10, batch 128, softmax CE": dict(
        data="digits", sizes=(64, 256, 256, 10), act="relu", loss="softmax_ce", batch=128),
}


def build(sizes, act, loss) -> Graph:
    g = Graph(seed=0)
    h = g.input("x", (sizes[0],))
    t = g.input("t", (1,) if loss == "bce_logits" else ())
    last = len(sizes) - 2
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        h = g.dense(h, a, b, f"l{i + 1}", activation=None if i == last else act)
    g.apply(loss, h, t, name="loss")
    return g


def bare_loop(case, data):
    """The minimum a training loop does: batch, forward, backward, w -= lr * g."""
    g = build(case["sizes"], case["act"], case["loss"])
    engine = Engine(g, gradients="parameters")
    x = data.train.features
    t = data.train.targets.reshape((-1, 1) if case["loss"] == "bce_logits" else (-1,))
    n, batch = len(x), case["batch"]
    per_epoch = -(-n // batch)
    params = engine.parameters()
    state = {"step": 0, "order": None}

    def run(steps: int) -> None:
        for _ in range(steps):
            epoch, k = divmod(state["step"], per_epoch)
            if k == 0 or state["order"] is None:
                state["order"] = np.random.default_rng([0, epoch]).permutation(n)
            rows = state["order"][k * batch:(k + 1) * batch]
            engine.forward({"x": x[rows], "t": t[rows]})
            engine.backward()
            grads = engine.gradients()
            for name, w in params.items():
                w -= LR * grads[name]
            state["step"] += 1
    return run, g


def trainer_loop(case, data):
    g = build(case["sizes"], case["act"], case["loss"])
    trainer = Trainer(g, data, optimizer="sgd", lr=LR, batch_size=case["batch"], seed=0,
                      validate_every=0)

    def run(steps: int) -> None:
        for _ in trainer.run(steps=steps):
            pass
    return run, g


def measure(case, blocks: int, steps: int) -> tuple[float, float, float]:
    options = {"n": case["n"]} if "n" in case else None
    data = datasets.prepare(case["data"], validation=0.0, options=options)
    bare, g_bare = bare_loop(case, data)
    trained, g_trained = trainer_loop(case, data)
    bare(20), trained(20)  # warm up (compile plans, fill caches)
    times = {"bare": [], "trainer": []}
    for _ in range(blocks):
        for key, loop in (("bare", bare), ("trainer", trained)):
            started = time.perf_counter()
            loop(steps)
            times[key].append((time.perf_counter() - started) / steps)
    # Same maths, same batches: both loops must have reached the same weights.
    diff = max(float(np.max(np.abs(a.value - b.value)))
               for a, b in zip(g_bare.nodes_of("parameter"), g_trained.nodes_of("parameter")))
    return times["bare"], times["trainer"], diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"{'':<56} {'steps/s (fastest block)':^34} {'median block':^12}")
    print(f"{'case':<56} {'bare':>10} {'Trainer':>10} {'overhead':>12} {'overhead':>12}  max |dw|")
    for name, case in CASES.items():
        bare, trained, diff = measure(case, args.blocks, args.steps)
        fastest = min(trained) / min(bare) - 1.0
        typical = statistics.median(trained) / statistics.median(bare) - 1.0
        print(f"{name:<56} {1 / min(bare):>10,.0f} {1 / min(trained):>10,.0f} {fastest:>12.1%} "
              f"{typical:>12.1%}  {diff:.1e}")
    print("goal: overhead <= 10% (the Trainer computes statistics on every step)")


if __name__ == "__main__":
    main()
