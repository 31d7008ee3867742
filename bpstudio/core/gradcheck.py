"""Gradient check: backprop's gradients against brute-force nudging (central differences).

Nudging every element of every parameter up and down by ``eps`` and re-running the forward pass
costs two passes per element; backprop gets all of them from one backward sweep. The two should
agree to about 1e-7 in float64: a larger gap means a wrong gradient rule.

:func:`check_gradients` is the one routine behind :func:`compare_gradients`, :func:`gradcheck`,
the window's gradient check view and scripts: it reports progress, can be stopped between two
passes, and counts and times the nudging passes against one forward and backward pass, so that
the cost of not having backprop is a measured number. :class:`Nudge` moves one element by hand
and sets the loss's actual change beside the gradient's prediction.

On a large net a full check is long (two passes per element: a million elements is two million
passes). :func:`estimate_check` says what it would cost before it starts, from the timing of a
few passes, and ``check_gradients(..., sample=k)`` checks k elements drawn evenly over the
parameters instead of all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .engine import Engine
from .errors import GraphError
from .graph import Graph, NodeRef

# Gradients smaller than this are compared absolutely: their relative error is only noise.
SMALL_GRADIENT = 1e-4
# Verdicts on a relative error, for float64 and eps = 1e-5. Central differences are then off by
# about eps**2 (truncation) plus 1e-16 / eps (rounding): around 1e-8 to 1e-10, so a correct rule
# lands well below GOOD_BELOW. Between the two is what a kink (ReLU at 0, an absolute value) or a
# badly scaled graph can give; above SUSPICIOUS_BELOW the rule is wrong.
GOOD_BELOW = 1e-6
SUSPICIOUS_BELOW = 1e-3
GOOD, SUSPICIOUS, WRONG = "good", "suspicious", "wrong"


def verdict(relative_error: float) -> str:
    """"good", "suspicious" or "wrong" for one relative error (NaN or infinity: wrong)."""
    if not np.isfinite(relative_error) or relative_error >= SUSPICIOUS_BELOW:
        return WRONG
    return GOOD if relative_error < GOOD_BELOW else SUSPICIOUS


@dataclass
class GradientComparison:
    """Backprop's and the nudged gradient of one parameter: the whole array, or, for a sampled
    check, the elements at the flat (C order) ``indices`` only, as 1-D arrays."""
    name: str
    backprop: np.ndarray
    numerical: np.ndarray
    indices: np.ndarray | None = None  # None: every element

    @property
    def relative_error(self) -> np.ndarray:
        """|backprop - numerical| / max(|backprop|, |numerical|, SMALL_GRADIENT), elementwise."""
        scale = np.maximum(np.maximum(np.abs(self.backprop), np.abs(self.numerical)), SMALL_GRADIENT)
        return np.abs(self.backprop - self.numerical) / scale

    @property
    def max_relative_error(self) -> float:
        err = self.relative_error
        return float(err.max()) if err.size else 0.0

    def verdicts(self) -> list[str]:
        """One verdict per element, in flat (C) order."""
        return [verdict(e) for e in self.relative_error.reshape(-1)]


@dataclass
class CheckCost:
    """What the check cost: brute-force nudging against one backprop pass."""
    elements: int = 0                 # parameter elements checked
    nudge_passes: int = 0             # forward passes made nudging (2 per element)
    nudge_seconds: float = 0.0        # wall time of those passes
    backprop_passes: int = 1          # backward passes backprop needed for every gradient
    backprop_seconds: float = 0.0     # one forward and one backward pass (best of a few)

    @property
    def speedup(self) -> float:
        """How many times longer the nudging took than forward + backward."""
        return self.nudge_seconds / self.backprop_seconds if self.backprop_seconds else 0.0


@dataclass
class GradientCheck:
    """The result of :func:`check_gradients`: one comparison per finished parameter (in plan
    order), the cost, and whether it was stopped before the end."""
    comparisons: list[GradientComparison] = field(default_factory=list)
    cost: CheckCost = field(default_factory=CheckCost)
    cancelled: bool = False
    total_elements: int = 0           # what a complete check would cover


# A first-call overhead (compiling, allocating the reused buffers) is not what a pass costs.
_TIMING_REPEATS = 3


@dataclass
class CheckEstimate:
    """What a gradient check would cost, said before it starts."""
    elements: int                     # parameter (and input) elements a full check nudges
    passes: int                       # forward passes it makes: 2 per element
    pass_seconds: float               # one forward pass (best of a few)

    @property
    def seconds(self) -> float:
        return self.passes * self.pass_seconds

    def seconds_for(self, elements: int) -> float:
        """The time of a check of ``elements`` sampled elements."""
        return 2 * min(elements, self.elements) * self.pass_seconds


def _targets(engine: Engine, feeds: Mapping[str, np.ndarray], names: Iterable[str] | None,
             inputs: Iterable[str]) -> dict[str, np.ndarray]:
    params = engine.parameters()
    if names is None:
        targets = dict(params)
    else:
        targets = {}
        for name in names:
            if name not in params:
                raise GraphError(f"'{name}' is not a parameter the output depends on")
            targets[name] = params[name]
    for name in inputs:
        targets[name] = feeds[name]
    return targets


def estimate_check(graph: Graph, feeds: Mapping[str, Any] | None = None,
                   output: NodeRef | None = None, inputs: Iterable[str] = (),
                   names: Iterable[str] | None = None) -> CheckEstimate:
    """The cost of ``check_gradients`` with the same arguments, from a few timed forward
    passes (never from the check itself)."""
    feeds = {k: np.array(v, dtype=np.float64) for k, v in (feeds or {}).items()}
    engine = Engine(graph, np.float64, output=output)
    engine.forward(feeds)  # compiles the plan and warms the buffers
    seconds = float("inf")
    for _ in range(_TIMING_REPEATS):
        start = time.perf_counter()
        engine.forward(feeds)
        seconds = min(seconds, time.perf_counter() - start)
    elements = sum(a.size for a in _targets(engine, feeds, names, inputs).values())
    return CheckEstimate(elements=elements, passes=2 * elements, pass_seconds=seconds)


def sample_elements(sizes: Mapping[str, int], sample: int,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """At most ``sample`` flat element indices per name, spread over the names in proportion
    to their sizes (each name gets at least one while the sample allows), sorted, drawn without
    repetition by a seeded generator: the same sample for the same arguments."""
    total = sum(sizes.values())
    if sample >= total:
        return {name: np.arange(size) for name, size in sizes.items()}
    rng = np.random.default_rng(seed)
    names = [name for name, size in sizes.items() if size]
    counts = {name: sizes[name] * sample // total for name in names}
    if sample >= len(names):
        for name in names:
            counts[name] = max(counts[name], 1)
    # what rounding down left over goes to the arrays with the most elements not drawn
    for name in sorted(names, key=lambda n: sizes[n] - counts[n], reverse=True):
        if sum(counts.values()) >= sample:
            break
        counts[name] += 1
    while sum(counts.values()) > sample:  # (the at-least-one may have overshot)
        counts[max(counts, key=counts.get)] -= 1
    return {name: np.sort(rng.choice(sizes[name], counts[name], replace=False))
            for name in names if counts[name]}


def check_gradients(graph: Graph, feeds: Mapping[str, Any] | None = None, eps: float = 1e-5,
                    output: NodeRef | None = None, inputs: Iterable[str] = (),
                    names: Iterable[str] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    on_comparison: Callable[[GradientComparison], None] | None = None,
                    sample: int | None = None, seed: int = 0) -> GradientCheck:
    """Backprop and central-difference gradients for the parameters ``names`` (default: all
    that reach the output) and the named ``inputs``; the output is summed when not a scalar.

    ``progress(done, total)`` is called with element counts after each element (keep it cheap);
    ``should_stop()`` is asked before each element, and a True ends the check with the
    parameters finished so far (``cancelled``); ``on_comparison`` receives each parameter's
    comparison as soon as it is complete. ``sample`` checks that many elements (see
    :func:`sample_elements`, seeded by ``seed``) instead of every one; its comparisons then hold
    the sampled elements and their ``indices``. The graph's parameter arrays are nudged in place
    and restored exactly; a caller that keeps editing the graph meanwhile should pass a copy."""
    feeds = {k: np.array(v, dtype=np.float64) for k, v in (feeds or {}).items()}
    engine = Engine(graph, np.float64, output=output)

    def objective() -> float:
        return float(np.sum(engine.forward(feeds)))

    objective()  # compiles the plan and warms the engine's buffers before anything is timed
    backprop_seconds = float("inf")
    for _ in range(_TIMING_REPEATS):
        start = time.perf_counter()
        objective()
        engine.backward()
        backprop_seconds = min(backprop_seconds, time.perf_counter() - start)
    targets = _targets(engine, feeds, names, inputs)
    analytic_grads = {name: engine.grad(name).copy() for name in targets}
    chosen = None
    if sample is not None:
        chosen = sample_elements({name: a.size for name, a in targets.items()}, max(0, sample),
                                 seed)
        targets = {name: a for name, a in targets.items() if name in chosen}
    total = sum(a.size if chosen is None else len(chosen[name]) for name, a in targets.items())
    result = GradientCheck(cost=CheckCost(backprop_seconds=backprop_seconds),
                           total_elements=total)
    cost = result.cost
    done = 0
    for name, array in targets.items():
        flat = array.reshape(-1)
        indices = range(flat.size) if chosen is None else chosen[name]
        out = np.zeros(len(indices))
        for i, k in enumerate(indices):
            if should_stop is not None and should_stop():
                result.cancelled = True
                break
            start = time.perf_counter()
            original = flat[k]
            flat[k] = original + eps
            up = objective()
            flat[k] = original - eps
            down = objective()
            flat[k] = original  # exactly restored: the graph's weights are untouched
            cost.nudge_seconds += time.perf_counter() - start
            cost.nudge_passes += 2
            out[i] = (up - down) / (2 * eps)
            done += 1
            if progress is not None:
                progress(done, total)
        if result.cancelled:
            break
        if chosen is None:
            comparison = GradientComparison(name, analytic_grads[name], out.reshape(array.shape))
        else:
            comparison = GradientComparison(name, analytic_grads[name].reshape(-1)[indices], out,
                                            indices=indices)
        cost.elements += len(out)
        result.comparisons.append(comparison)
        if on_comparison is not None:
            on_comparison(comparison)
    objective()  # leave the engine's values as they were before nudging
    return result


def compare_gradients(graph: Graph, feeds: Mapping[str, Any] | None = None, eps: float = 1e-5,
                      output: NodeRef | None = None,
                      inputs: Iterable[str] = ()) -> list[GradientComparison]:
    """Backprop and central-difference gradients for every parameter (and the named inputs).
    The output is reduced by summing when it is not a scalar."""
    return check_gradients(graph, feeds, eps, output, inputs).comparisons


def gradcheck(graph: Graph, feeds: Mapping[str, Any] | None = None, eps: float = 1e-5,
              output: NodeRef | None = None, inputs: Iterable[str] = ()) -> dict[str, float]:
    """Per parameter (and named input): the maximum relative error between the backprop
    gradient and the central-difference estimate."""
    return {c.name: c.max_relative_error
            for c in compare_gradients(graph, feeds, eps, output, inputs)}


class Nudge:
    """One parameter element moved by hand: how the loss actually changes against what its
    backprop gradient predicts (gradient x nudge). They agree for small nudges and part as the
    nudge grows, as fast as the loss curves.

    Every number comes from an engine on ``graph``, whose element is moved in place and
    restored exactly after each evaluation; give it a copy of a graph someone is editing."""

    def __init__(self, graph: Graph, feeds: Mapping[str, Any] | None, name: str,
                 index: int, output: NodeRef | None = None):
        self.feeds = {k: np.array(v, dtype=np.float64) for k, v in (feeds or {}).items()}
        self.engine = Engine(graph, np.float64, output=output)
        params = self.engine.parameters()
        if name not in params:
            raise GraphError(f"'{name}' is not a parameter the output depends on")
        self.name = name
        self._flat = params[name].reshape(-1)
        if not 0 <= index < self._flat.size:
            raise GraphError(f"'{name}' has {self._flat.size} elements, not an element {index}")
        self.index = index
        self.original = float(self._flat[index])
        self.base_loss = self._objective()
        self.engine.backward()
        self.gradient = float(self.engine.grad(name).reshape(-1)[index])

    def _objective(self) -> float:
        return float(np.sum(self.engine.forward(self.feeds)))

    def actual_change(self, delta: float) -> float:
        """loss(element + delta) - loss(element)."""
        original = self._flat[self.index]
        self._flat[self.index] = original + delta
        try:
            return self._objective() - self.base_loss
        finally:
            self._flat[self.index] = original

    def predicted_change(self, delta: float) -> float:
        """The first-order prediction: gradient x delta."""
        return self.gradient * delta

    def sweep(self, deltas: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
        """(actual, predicted) changes for each delta."""
        d = np.asarray(list(deltas), dtype=np.float64)
        return np.array([self.actual_change(x) for x in d]), self.gradient * d

    def parting_point(self, deltas: Iterable[float], tolerance: float = 0.1) -> float | None:
        """The smallest |delta| among ``deltas`` where the prediction misses the actual change
        by more than ``tolerance`` of it (None: they agree over the whole range)."""
        d = np.asarray(list(deltas), dtype=np.float64)
        actual, predicted = self.sweep(d)
        scale = np.maximum(np.abs(actual), 1e-12)
        apart = np.abs(actual - predicted) > tolerance * scale
        return float(np.min(np.abs(d[apart]))) if apart.any() else None
