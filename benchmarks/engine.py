"""One training step (forward + backward + SGD update) of two MLPs, three ways, in one run:

- bpstudio's Engine on a graph built from nodes;
- the same maths written by hand in NumPy, the straightforward way (the baseline);
- PyTorch CPU eager mode, when torch is importable (a peer for scale, never a dependency).

Prints the median time per step and the ratios against the hand-written NumPy baseline.
Goal: engine <= 1.0x NumPy, and engine <= PyTorch on each case.

    python benchmarks/engine.py [--seconds S] [--dtype float64|float32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bpstudio import Engine, Graph

LR = 0.01
CASES = {
    "tanh MLP 2-64-64-1, batch 256, MSE": dict(sizes=(2, 64, 64, 1), act="tanh", batch=256, loss="mse"),
    "relu MLP 64-256-256-10, batch 128, softmax CE": dict(sizes=(64, 256, 256, 10), act="relu",
                                                         batch=128, loss="softmax_ce"),
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
def engine_step_fn(sizes, act, loss, x, y, weights, dtype):
    g = Graph()
    h = g.input("x", (sizes[0],))
    for k, (w, b) in enumerate(weights):
        z = g.add(g.matmul(h, g.parameter(f"W{k}", value=w)), g.parameter(f"b{k}", value=b))
        h = g.apply(act, z) if k < len(weights) - 1 else z
    if loss == "mse":
        g.mse(h, g.input("y", (sizes[-1],)), name="loss")
    else:
        g.softmax_ce(h, g.input("y"), name="loss")
    engine = Engine(g, dtype=dtype, gradients="parameters")
    feeds = {"x": x.astype(dtype), "y": y.astype(dtype)}
    params = engine.parameters()
    lr = dtype(LR)

    def step():
        value = engine.forward(feeds)
        engine.backward()
        for name, grad in engine.gradients().items():
            params[name] -= lr * grad
        return value
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


def median_step_times(steps: dict, seconds: float) -> dict[str, float]:
    """Median seconds per step of each contender, measured in interleaved rounds so that any
    background load falls on all of them alike."""
    for step in steps.values():
        for _ in range(5):
            step()  # warm-up: first-step allocations, BLAS threads
    samples: dict[str, list[float]] = {name: [] for name in steps}
    deadline = time.perf_counter() + seconds * len(steps)
    while time.perf_counter() < deadline or len(samples[next(iter(steps))]) < 20:
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(10):
                step()
            samples[name].append((time.perf_counter() - start) / 10)
    return {name: statistics.median(s) for name, s in samples.items()}


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
    args = parser.parse_args()
    dtype = np.dtype(args.dtype).type
    torch_version = torch_available()
    print(f"NumPy {np.__version__}, dtype {args.dtype}; "
          + (f"PyTorch {torch_version}" if torch_version else "PyTorch not installed"))
    data = {title: make_data(case["sizes"], case["batch"], case["loss"], np.random.default_rng(0))
            for title, case in CASES.items()}
    results: dict[str, dict[str, float]] = {}
    first_losses: dict[str, dict[str, float]] = {}
    contenders = {"numpy (baseline)": numpy_step_fn, "bpstudio engine": engine_step_fn}
    for title, case in CASES.items():
        steps = {name: make(case["sizes"], case["act"], case["loss"], *data[title], dtype)
                 for name, make in contenders.items()}
        first_losses[title] = {name: float(step()) for name, step in steps.items()}
        results[title] = median_step_times(steps, args.seconds)
    if torch_version:  # last, for the reason in torch_available
        for title, case in CASES.items():
            step = torch_step_fn(case["sizes"], case["act"], case["loss"], *data[title], dtype)
            first_losses[title]["pytorch eager"] = float(step())
            results[title].update(median_step_times({"pytorch eager": step}, args.seconds))
    for title, times in results.items():
        # Same weights, same data: the first losses must agree before timing means anything.
        losses = first_losses[title]
        assert max(losses.values()) - min(losses.values()) < 1e-4 * max(1.0, abs(
            losses["numpy (baseline)"])), losses
        base = times["numpy (baseline)"]
        print(f"\n{title}")
        for name, t in times.items():
            print(f"  {name:<18} {t * 1e6:9.1f} us/step   {t / base:5.2f}x numpy")
        if "pytorch eager" in times:
            print(f"  engine / pytorch   {times['bpstudio engine'] / times['pytorch eager']:5.2f}x")


if __name__ == "__main__":
    main()
