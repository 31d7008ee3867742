"""One training step (forward + backward + SGD update) of two MLPs, several ways, in one run:

- bpstudio's Engine on a graph built from nodes;
- the same Engine as of another git revision (``--against``, main by default): the baseline
  that says whether a change made the engine faster or slower;
- the step's matrix products alone, into preallocated arrays: the floor no implementation
  on this BLAS goes below (8 products for a 3-layer MLP: 3 forward, 3 weight gradients, 2
  gradients of hidden activations). It leaves out the step's SGD update, which every other
  contender makes: "floor + SGD update" adds that update, as the engine's step writes it, to
  say how much of the engine's ratio it is;
- the same maths written by hand in NumPy, the straightforward way, and as lean as NumPy goes
  (every array made once, every result written in place): the second says what NumPy itself
  allows, and the engine's ratio to it what running a graph's ops one by one costs;
- PyTorch CPU eager mode, when torch is importable (a peer for scale, never a dependency).

Each is timed in interleaved rounds (so that load from other processes falls on all alike);
ratios are medians over the rounds of one contender's time to another's in the same round.
Targets: the large case <= 1.2x its matmul floor; the small case no slower than the engine of
``--against``; engine <= 1.0x hand-written NumPy and <= PyTorch.

    python benchmarks/engine.py [--seconds S] [--dtype float64|float32] [--against REV]

BLAS runs with its own thread count; ``OPENBLAS_NUM_THREADS=1`` gives steadier figures on a
loaded machine, where a second BLAS thread waiting for a core makes single products 100x
slower now and then.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

import bpstudio

LR = 0.01
CASES = {
    "tanh MLP 2-64-64-1, batch 256, MSE": dict(sizes=(2, 64, 64, 1), act="tanh", batch=256, loss="mse"),
    "relu MLP 64-256-256-10, batch 128, softmax CE": dict(sizes=(64, 256, 256, 10), act="relu",
                                                         batch=128, loss="softmax_ce",
                                                         floor_target=1.2),
}


def make_data(sizes, batch, loss, rng):
    x = rng.normal(size=(batch, sizes[0]))
    if loss == "mse":
        y = rng.normal(size=(batch, sizes[-1]))
    else:
        y = rng.integers(0, sizes[-1], size=batch).astype(float)
    weights = [(rng.normal(0, np.sqrt(1 / a), (a, b)), np.zeros(b)) for a, b in zip(sizes, sizes[1:])]
    return x, y, weights


# --------------------------------------------------------------------------------- bpstudio
def engine_step_fn(sizes, act, loss, x, y, weights, dtype, package=bpstudio):
    g = package.Graph()
    h = g.input("x", (sizes[0],))
    for k, (w, b) in enumerate(weights):
        z = g.add(g.matmul(h, g.parameter(f"W{k}", value=w)), g.parameter(f"b{k}", value=b))
        h = g.apply(act, z) if k < len(weights) - 1 else z
    if loss == "mse":
        g.mse(h, g.input("y", (sizes[-1],)), name="loss")
    else:
        g.softmax_ce(h, g.input("y"), name="loss")
    engine = package.Engine(g, dtype=dtype, gradients="parameters")
    feeds = {"x": x.astype(dtype), "y": y.astype(dtype)}
    params = engine.parameters()
    lr = dtype(LR)

    def step():
        value = engine.forward(feeds)
        engine.backward()
        # param -= lr * grad, the scaled gradient written over the gradient (which the step
        # does not read again; the engine writes it anew in the next backward) instead of
        # into a fresh temporary.
        for name, grad in engine.gradients().items():
            np.multiply(grad, lr, out=grad)
            np.subtract(params[name], grad, out=params[name])
        return value
    return step


def package_at(revision: str, folder: str):
    """bpstudio as of a git revision of this repository, imported as ``bpstudio_baseline``
    (its imports are relative, so it uses its own modules), or None with the reason printed."""
    root = Path(__file__).resolve().parent.parent
    try:
        archive = subprocess.run(["git", "-C", str(root), "archive", revision, "bpstudio"],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"(no baseline engine: git archive {revision} failed: {exc})")
        return None
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    Path(folder, "bpstudio").rename(Path(folder, "bpstudio_baseline"))
    init = Path(folder, "bpstudio_baseline", "__init__.py")
    spec = importlib.util.spec_from_file_location("bpstudio_baseline", init,
                                                  submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["bpstudio_baseline"] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------- matmul floor
def matmul_floor_fn(sizes, batch, dtype, rng, update=False):
    """The step's matrix products alone, with the engine's shapes and layouts, each written
    into an array made once: forward h @ W per layer; backward h.T @ g for every weight and
    g @ W.T for every layer but the first (the data get no gradient). With ``update``, also
    the step's SGD update of every weight and bias, written as the engine's step writes it
    (the floor itself leaves it out)."""
    h = [rng.normal(size=(batch, n)).astype(dtype) for n in sizes]
    w = [rng.normal(size=(a, b)).astype(dtype) for a, b in zip(sizes, sizes[1:])]
    out = [np.empty((batch, n), dtype) for n in sizes[1:]]
    grad_w = [np.empty(m.shape, dtype) for m in w]
    grad_h = [np.empty((batch, n), dtype) for n in sizes[:-1]]
    layers = range(len(w))
    pairs = (list(zip(w, grad_w))
             + [(np.zeros(n, dtype), np.zeros(n, dtype)) for n in sizes[1:]]) if update else []
    lr = dtype(LR)

    def step():
        for k in layers:
            np.matmul(h[k], w[k], out=out[k])
        for k in reversed(layers):
            np.matmul(h[k].T, h[k + 1], out=grad_w[k])
            if k:
                np.matmul(h[k + 1], w[k].T, out=grad_h[k])
        for param, grad in pairs:  # (as the engine's step writes it)
            np.multiply(grad, lr, out=grad)
            np.subtract(param, grad, out=param)
    step.products = 3 * len(w) - 1
    return step


# ------------------------------------------------------------------- hand-written NumPy
def numpy_step_fn(sizes, act, loss, x, y, weights, dtype):
    params = [(w.astype(dtype), b.astype(dtype)) for w, b in weights]
    x, y = x.astype(dtype), y.astype(dtype)
    labels = y.astype(int)
    lr = dtype(LR)

    def step():
        activations, pre = [x], []
        h = x
        for k, (w, b) in enumerate(params):
            z = h @ w + b
            pre.append(z)
            if k < len(params) - 1:
                h = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
                activations.append(h)
            else:
                h = z
        if loss == "mse":
            diff = h - y
            value = np.mean(diff ** 2)
            grad = 2 * diff / diff.size
        else:
            shifted = h - h.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            p = e / e.sum(axis=1, keepdims=True)
            value = -np.mean(np.log(p[np.arange(len(labels)), labels]))
            grad = p
            grad[np.arange(len(labels)), labels] -= 1
            grad /= len(labels)
        for k in range(len(params) - 1, -1, -1):
            w, b = params[k]
            gw = activations[k].T @ grad
            gb = grad.sum(axis=0)
            if k > 0:
                grad = grad @ w.T
                if act == "tanh":
                    grad = grad * (1 - activations[k] ** 2)
                else:
                    grad = grad * (pre[k - 1] > 0)
            w -= lr * gw
            b -= lr * gb
        return value
    return step


def numpy_in_place_step_fn(sizes, act, loss, x, y, weights, dtype):
    """The same maths by hand in NumPy as lean as it goes: every array made once, every result
    written with ``out=`` (activations over their pre-activations, a ReLU against a row of
    zeros with its slope taken in the forward pass, its gradient masked in place, the bias
    gradients as products with ones), no graph and no dispatch. What any implementation of
    this step in NumPy calls, at least; the engine's ratio to it is what its dispatch costs."""
    params = [(w.astype(dtype), b.astype(dtype)) for w, b in weights]
    x, y = x.astype(dtype), y.astype(dtype)
    batch = len(x)
    rows, labels = np.arange(batch), y.astype(int)
    lr = dtype(LR)
    z = [np.empty((batch, w.shape[1]), dtype) for w, _ in params]  # activations in place
    grad_w = [np.empty(w.shape, dtype) for w, _ in params]
    grad_b = [np.empty(b.shape, dtype) for _, b in params]
    grad_h = [np.empty((batch, w.shape[0]), dtype) for w, _ in params]
    ones = np.ones(batch, dtype)
    mask = [np.empty(m.shape, bool) for m in z[:-1]]
    zeros = [np.zeros(m.shape[1:], dtype) for m in z[:-1]]  # (max against an array: faster)
    slope = [np.empty(m.shape, dtype) for m in z[:-1]]
    scores = np.empty(z[-1].shape, dtype)
    largest = np.empty((batch, 1), dtype)
    totals = np.empty((batch, 1), dtype)
    last = len(params) - 1

    def step():
        h = x
        for k, (w, b) in enumerate(params):
            np.matmul(h, w, out=z[k])
            np.add(z[k], b, out=z[k])
            if k < last:
                if act == "tanh":
                    np.tanh(z[k], out=z[k])
                else:
                    np.maximum(z[k], zeros[k], out=z[k])
                    np.greater(z[k], 0.0, out=mask[k])  # (while z[k] is in the cache)
            h = z[k]
        g = scores
        if loss == "mse":
            np.subtract(h, y, out=g)
            value = np.mean(g * g)
            np.multiply(g, 2.0 / g.size, out=g)
        else:
            np.max(h, axis=1, keepdims=True, out=largest)
            np.subtract(h, largest, out=g)
            picked = g[rows, labels]
            np.exp(g, out=g)
            np.sum(g, axis=1, keepdims=True, out=totals)
            value = np.mean(np.log(totals[:, 0]) - picked)
            np.divide(g, totals, out=g)
            g[rows, labels] -= 1.0
            np.multiply(g, 1.0 / batch, out=g)
        for k in range(last, -1, -1):
            w, b = params[k]
            np.matmul(ones, g, out=grad_b[k])
            np.matmul(z[k - 1].T if k else x.T, g, out=grad_w[k])
            if k:
                g = np.matmul(g, w.T, out=grad_h[k])
                if act == "tanh":  # d tanh = 1 - tanh^2, from the activation kept in z
                    np.multiply(z[k - 1], z[k - 1], out=slope[k - 1])
                    np.subtract(1.0, slope[k - 1], out=slope[k - 1])
                    np.multiply(g, slope[k - 1], out=g)
                else:
                    np.multiply(g, mask[k - 1], out=g)
        for (w, b), gw, gb in zip(params, grad_w, grad_b):  # (as the engine's step writes it)
            for param, grad in ((w, gw), (b, gb)):
                np.multiply(grad, lr, out=grad)
                np.subtract(param, grad, out=param)
        return value
    return step


# ------------------------------------------------------------------------------ PyTorch
def torch_step_fn(sizes, act, loss, x, y, weights, dtype):
    import torch

    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    params = [(torch.tensor(w, dtype=tdtype, requires_grad=True),
               torch.tensor(b, dtype=tdtype, requires_grad=True)) for w, b in weights]
    tx = torch.tensor(x, dtype=tdtype)
    ty = torch.tensor(y, dtype=tdtype) if loss == "mse" else torch.tensor(y.astype(int))
    activation = torch.tanh if act == "tanh" else torch.relu
    flat = [p for pair in params for p in pair]

    def step():
        h = tx
        for k, (w, b) in enumerate(params):
            h = h @ w + b
            if k < len(params) - 1:
                h = activation(h)
        value = (torch.nn.functional.mse_loss(h, ty) if loss == "mse"
                 else torch.nn.functional.cross_entropy(h, ty))
        for p in flat:
            p.grad = None
        value.backward()
        with torch.no_grad():
            for p in flat:
                p -= LR * p.grad
        return value.item()
    return step


def step_samples(steps: dict, seconds: float) -> dict[str, list[float]]:
    """Seconds of one step of each contender in each round, the contenders taking turns within
    a round so that any background load falls on all of them alike. In its turn a contender
    first takes one untimed step (its arrays back in the caches the others used), then one
    timed: a sample as short as one step is seldom cut by another process's time slice, so
    the median stays near the step's own cost on a loaded machine."""
    for step in steps.values():
        for _ in range(5):
            step()  # warm-up: first-step allocations, BLAS threads
    samples: dict[str, list[float]] = {name: [] for name in steps}
    deadline = time.perf_counter() + seconds * len(steps)
    order = list(steps)
    shuffle = random.Random(0).shuffle
    while time.perf_counter() < deadline or len(samples[order[0]]) < 50:
        shuffle(order)  # no contender always follows the same one (whose arrays left the caches)
        for name in order:
            step = steps[name]
            step()
            start = time.perf_counter()
            step()
            samples[name].append(time.perf_counter() - start)
    return samples


def median_ratio(samples: dict[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of name's time / reference's time in the same round."""
    return statistics.median(a / b for a, b in zip(samples[name], samples[reference]))


def torch_available() -> str | None:
    # Only asks whether torch is installed: importing it starts its OpenMP thread pool, whose
    # spinning threads would slow the NumPy contenders measured before it.
    from importlib.util import find_spec

    if find_spec("torch") is None:
        return None
    from importlib.metadata import version

    return version("torch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--against", default="main", metavar="REV",
                        help="git revision whose engine is the baseline (default: main)")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype).type
    torch_version = torch_available()
    print(f"NumPy {np.__version__}, dtype {args.dtype}; "
          + (f"PyTorch {torch_version}" if torch_version else "PyTorch not installed"))
    with tempfile.TemporaryDirectory() as folder:
        run(args, dtype, torch_version, package_at(args.against, folder))


ENGINE, FLOOR, BY_HAND, TORCH = "bpstudio engine", "matmul floor", "numpy by hand", "pytorch eager"
IN_PLACE = "numpy in place by hand"
FLOOR_UPDATE = "floor + SGD update"


def run(args, dtype, torch_version, baseline) -> None:
    baseline_name = f"engine at {args.against}"
    data = {title: make_data(case["sizes"], case["batch"], case["loss"], np.random.default_rng(0))
            for title, case in CASES.items()}
    samples: dict[str, dict[str, list[float]]] = {}
    first_losses: dict[str, dict[str, float]] = {}
    for title, case in CASES.items():
        made = (case["sizes"], case["act"], case["loss"], *data[title], dtype)
        steps = {ENGINE: engine_step_fn(*made)}
        if baseline is not None:
            steps[baseline_name] = engine_step_fn(*made, package=baseline)
        steps[BY_HAND] = numpy_step_fn(*made)
        steps[IN_PLACE] = numpy_in_place_step_fn(*made)
        first_losses[title] = {name: float(step()) for name, step in steps.items()}
        steps[FLOOR] = matmul_floor_fn(case["sizes"], case["batch"], dtype,
                                       np.random.default_rng(1))
        steps[FLOOR_UPDATE] = matmul_floor_fn(case["sizes"], case["batch"], dtype,
                                              np.random.default_rng(1), update=True)
        samples[title] = step_samples(steps, args.seconds)
    if torch_version:  # last, for the reason in torch_available
        for title, case in CASES.items():
            step = torch_step_fn(case["sizes"], case["act"], case["loss"], *data[title], dtype)
            first_losses[title][TORCH] = float(step())
            samples[title].update(step_samples({TORCH: step}, args.seconds))
    for title, case in CASES.items():
        # Same weights, same data: the first losses must agree before timing means anything.
        losses = first_losses[title]
        assert max(losses.values()) - min(losses.values()) < 1e-4 * max(1.0, abs(
            losses[BY_HAND])), losses
        times = {name: statistics.median(s) for name, s in samples[title].items()}
        rounds = len(samples[title][ENGINE])
        print(f"\n{title}  (medians of {rounds} interleaved rounds)")
        for name, t in times.items():
            print(f"  {name:<22} {t * 1e6:9.1f} us/step")
        floor = median_ratio(samples[title], ENGINE, FLOOR)
        target = case.get("floor_target")
        print(f"  engine / matmul floor  {floor:5.2f}x   "
              + (f"target <= {target:.2f}x" if target else "(no target)"))
        # The engine's step updates the weights; the floor does not. How much of the ratio
        # that update is (the same update, added to the floor's products):
        print(f"  engine / (floor + SGD update) {median_ratio(samples[title], ENGINE, FLOOR_UPDATE):5.2f}x"
              "   (no target)")
        if baseline is not None:
            before = median_ratio(samples[title], baseline_name, FLOOR)
            print(f"  {baseline_name} / matmul floor {before:5.2f}x   (the baseline's ratio)")
            print(f"  engine / {baseline_name:<13}{median_ratio(samples[title], ENGINE, baseline_name):5.2f}x"
                  "   target <= 1.00x (no slower)")
        print(f"  engine / numpy by hand {median_ratio(samples[title], ENGINE, BY_HAND):5.2f}x   "
              "target <= 1.00x")
        # What NumPy itself allows: the leanest hand-written step against the floor, and the
        # engine against it (the cost of running a graph's ops one by one from Python).
        print(f"  numpy in place by hand / matmul floor "
              f"{median_ratio(samples[title], IN_PLACE, FLOOR):5.2f}x   (no target)")
        print(f"  engine / numpy in place by hand "
              f"{median_ratio(samples[title], ENGINE, IN_PLACE):5.2f}x   (no target)")
        if TORCH in times:  # timed in rounds of its own: a ratio of medians
            print(f"  engine / pytorch       {times[ENGINE] / times[TORCH]:5.2f}x   target <= 1.00x")


if __name__ == "__main__":
    main()
