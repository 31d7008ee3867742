"""What the per-layer training figures cost a step: the Trainer on an example whose dense
layers are groups (so it measures each layer's |dL/dz| and health, every LAYER_EVERY steps as
it does by default, and every step) against the same Trainer on the same graph with its groups
dissolved (nothing per layer to measure), same data, same batches, in the same run.

Blocks of steps of the three alternate, so that a busy machine slows them alike; the fastest
and the median block of each are compared. On a shared machine whole steps vary by more than
the cost sought, so the measuring itself (LayerMeter.measure, on the last step's arrays) is
also timed alone, in blocks alternating with blocks of plain steps, and its share of a step
printed: every step, and divided by LAYER_EVERY for the default. Goal: under 5% on two_moons
and deep_sigmoid with the default.

    python benchmarks/layer_stats.py [--blocks 15] [--steps 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bpstudio.core.examples import deep_relu_he, deep_sigmoid, two_moons
from bpstudio.core.training import datasets
from bpstudio.core.training.trainer import LAYER_EVERY, Trainer

CASES = {"two_moons (2 ReLU layers + logits)": two_moons,
         "deep_sigmoid (10 sigmoid layers + logits)": deep_sigmoid,
         "deep_relu_he (10 ReLU layers + logits)": deep_relu_he}


def trainer_loop(build, data, grouped: bool, layer_every: int = LAYER_EVERY):
    graph = build().graph
    if not grouped:
        for group in list(graph.groups.values()):
            graph.ungroup(group)
    trainer = Trainer(graph, data, optimizer="sgd", lr=0.05, batch_size=32, seed=0,
                      validate_every=0, layer_every=layer_every)
    assert len(trainer.layers) == (len(graph.groups) if grouped else 0)

    def run(steps: int) -> None:
        for _ in trainer.run(steps=steps):
            pass
    return run, graph, trainer


def measure(build, blocks: int, steps: int):
    data = datasets.prepare("moons", validation=0.0)
    loops = {"plain": trainer_loop(build, data, grouped=False),
             "default": trainer_loop(build, data, grouped=True),
             "every step": trainer_loop(build, data, grouped=True, layer_every=1)}
    for run, _, _ in loops.values():
        run(20)  # warm up
    times = {key: [] for key in loops}
    times["measure alone"] = []
    meter = loops["every step"][2]._layer_meter
    for _ in range(blocks):
        for key, (run, _, _) in loops.items():
            started = time.perf_counter()
            run(steps)
            times[key].append((time.perf_counter() - started) / steps)
        started = time.perf_counter()
        for _ in range(steps):
            meter.measure()
        times["measure alone"].append((time.perf_counter() - started) / steps)
    # Measuring changes nothing: every loop reached the same weights.
    graphs = [graph for _, graph, _ in loops.values()]
    diff = max(float(np.max(np.abs(a.value - b.value)))
               for other in graphs[1:]
               for a, b in zip(graphs[0].nodes_of("parameter"), other.nodes_of("parameter")))
    return times, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"cost of the per-layer figures against the plain step (fastest block / median "
          f"block); default: measured every {LAYER_EVERY} steps")
    print(f"{'case':<44} {'plain steps/s':>14} {'default':>16} {'every step':>16}  max |dw|"
          f"  {'measuring alone: every step, default':>38}")
    for name, build in CASES.items():
        times, diff = measure(build, args.blocks, args.steps)
        plain = times["plain"]
        cells = []
        for key in ("default", "every step"):
            fastest = min(times[key]) / min(plain) - 1.0
            typical = statistics.median(times[key]) / statistics.median(plain) - 1.0
            cells.append(f"{fastest:>7.1%} /{typical:>7.1%}")
        alone = min(times["measure alone"]) / min(plain)
        print(f"{name:<44} {1 / min(plain):>14,.0f} {cells[0]:>16} {cells[1]:>16}  {diff:.1e}"
              f"  {alone:>24.1%} {alone / LAYER_EVERY:>12.1%}")
    print("goal: cost < 5% on two_moons and deep_sigmoid with the default")


if __name__ == "__main__":
    main()
