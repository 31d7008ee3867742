"""Optimisers: SGD, momentum (classical and Nesterov), RMSprop and Adam, with their state.

Every parameter of a graph is packed into one contiguous vector (:class:`ParameterVector`); each
parameter node's array becomes a view into it. An optimiser then updates all parameters with a
handful of vectorised NumPy operations instead of a loop over arrays, and per-parameter
statistics (norms) come from one segmented sum. ``state_dict`` speaks per parameter name, so the
saved state does not depend on the packing order.

Weight decay is the classical L2 form: ``weight_decay * w`` is added to the gradient.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from ..ops.base import shown
from .errors import TrainingError


class OptimizerError(TrainingError):
    """A bad optimiser name, hyperparameter or saved state (a TrainingError: a Trainer given a
    bad optimiser option refuses to train)."""


class ParameterVector:
    """Named arrays laid end to end in one float64 vector ``data``; ``views[name]`` is each
    array, shaped as given, sharing memory with ``data``."""

    def __init__(self, names: Sequence[str], shapes: Sequence[tuple[int, ...]]):
        if len(set(names)) != len(names):
            raise OptimizerError("parameter names must be unique")
        self.names = tuple(names)
        self.shapes = tuple(tuple(int(d) for d in s) for s in shapes)
        sizes = [int(np.prod(s)) for s in self.shapes]
        if any(size == 0 for size in sizes):
            raise OptimizerError("a parameter with no elements cannot be trained")
        self.sizes = tuple(sizes)
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.size = int(sum(sizes))
        self.bounds = tuple((int(a), int(a) + n) for a, n in zip(self.starts, sizes))
        self.data = np.zeros(self.size)
        self.views = self.split(self.data)

    @classmethod
    def pack(cls, arrays: Mapping[str, np.ndarray]) -> "ParameterVector":
        """A vector holding copies of ``arrays`` (in their order)."""
        vector = cls(list(arrays), [np.shape(a) for a in arrays.values()])
        vector.gather(arrays, out=vector.data)
        return vector

    def move_to(self, buffer: np.ndarray) -> None:
        """Copy the values into ``buffer`` (a vector of the same size) and make it ``data``."""
        buffer[...] = self.data
        self.data = buffer
        self.views = self.split(buffer)

    def split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Views of ``flat`` (a vector laid out like this one), one per parameter."""
        return {name: flat[a:b].reshape(shape)
                for name, shape, (a, b) in zip(self.names, self.shapes, self.bounds)}

    def gather(self, arrays: Mapping[str, np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
        """Lay ``arrays`` (name -> array, every name of this vector) end to end."""
        return np.concatenate([arrays[name] for name in self.names], axis=None, out=out)

    # Above this many numbers, one BLAS dot product per parameter (a single read of the data)
    # beats squaring into a scratch array and summing segments (two passes, but one call).
    DOT_PRODUCTS_FROM = 20_000

    def sum_squares(self, flat: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        """Per parameter, the sum of squares of its part of ``flat`` (for a 2-D ``flat``, of
        each row: one call covers several vectors). ``scratch``, shaped like ``flat``, saves
        an allocation."""
        if self.size >= self.DOT_PRODUCTS_FROM:
            rows = flat if flat.ndim == 2 else flat[None]
            sums = np.array([[row[a:b] @ row[a:b] for a, b in self.bounds] for row in rows])
            return sums if flat.ndim == 2 else sums[0]
        return np.add.reduceat(np.square(flat, out=scratch), self.starts, axis=-1)

    def norms(self, flat: np.ndarray) -> np.ndarray:
        """Per parameter, the L2 norm of its part of ``flat``."""
        return np.sqrt(self.sum_squares(flat))


def _positive(name: str, value: Any, allow_zero: bool = False, below_one: bool = False) -> float:
    # Numbers only: float() would take True for 1 and the text "0.9" for 0.9.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise OptimizerError(f"{name} must be a number, not {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # a whole number beyond the float range
        number = float("inf")
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise OptimizerError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, "
                             f"not {shown(value)}")
    if below_one and number >= 1:
        raise OptimizerError(f"{name} must be below 1, not {shown(value)}")
    return number


class Optimizer:
    """Base of the optimisers. Subclasses name their per-parameter state ``slots`` and implement
    :meth:`_propose`, which returns the step to subtract from the weights and the new state
    without touching the current one."""

    name: ClassVar[str]
    slots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0):
        self.lr = _positive("learning rate", lr)
        self.weight_decay = _positive("weight decay", weight_decay, allow_zero=True)
        self.layout: ParameterVector | None = None
        self.state: dict[str, np.ndarray] = {}
        self.t = 0  # updates made so far

    def hyperparameters(self) -> dict[str, float | bool]:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def bind(self, layout: ParameterVector) -> "Optimizer":
        """Attach to a parameter layout and start from fresh (zero) state."""
        self.layout = layout
        self.state = {slot: np.zeros(layout.size) for slot in self.slots}
        self.t = 0
        return self

    def step(self, weights: np.ndarray, grads: np.ndarray) -> np.ndarray:
        """Update ``weights`` in place from ``grads`` (both laid out like the bound vector) and
        return the update that was subtracted."""
        update, state = self.propose(weights, grads)
        self.commit(state)
        weights -= update
        return update

    def propose(self, weights: np.ndarray, grads: np.ndarray,
                out: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The next update (written to ``out`` when given) and the state that goes with it,
        changing nothing yet: a caller that finds the update unusable (not finite) drops both,
        and the weights and state stay as they were. :meth:`commit` adopts the state."""
        if self.weight_decay:
            grads = grads + self.weight_decay * weights
        return self._propose(grads, self.t + 1, out)

    def update_scale(self) -> float | None:
        """``c`` when every update is exactly ``c * grads`` (so its norm follows from the
        gradient's), else None."""
        return None

    def commit(self, state: dict[str, np.ndarray]) -> None:
        self.state.update(state)
        self.t += 1

    def _propose(self, grads: np.ndarray, t: int,
                 out: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    # ------------------------------------------------------------------------- saved state
    def state_dict(self) -> dict[str, Any]:
        """Name, hyperparameters, update count and every slot per parameter name (copies)."""
        slots = {}
        if self.layout is not None:
            slots = {slot: {name: view.copy() for name, view in self.layout.split(array).items()}
                     for slot, array in self.state.items()}
        return {"name": self.name, "hyperparameters": self.hyperparameters(), "t": self.t,
                "slots": slots}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the update count and slots saved by :meth:`state_dict`. Hyperparameters are
        not restored: they come from the training settings, which a person may change."""
        if self.layout is None:
            raise OptimizerError("bind the optimiser to its parameters before loading its state")
        if not isinstance(state, Mapping) or state.get("name") != self.name:
            found = state.get("name") if isinstance(state, Mapping) else None
            raise OptimizerError(f"the saved optimiser state is for {found!r}, not {self.name!r}")
        t = state.get("t")
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise OptimizerError(f"the saved optimiser state has a bad update count {t!r}")
        saved = state.get("slots")
        if not isinstance(saved, Mapping) or set(saved) != set(self.slots):
            raise OptimizerError(f"the saved {self.name} state must hold the slots "
                                 f"{', '.join(self.slots) or '(none)'}")
        fresh = {}
        for slot in self.slots:
            per_name = saved[slot]
            if not isinstance(per_name, Mapping):
                raise OptimizerError(f"optimiser slot '{slot}' must map parameter names to arrays")
            missing = [n for n in self.layout.names if n not in per_name]
            if missing:
                raise OptimizerError(f"optimiser slot '{slot}' has no entry for parameter "
                                     f"'{missing[0]}'")
            parts = {}
            for name, shape in zip(self.layout.names, self.layout.shapes):
                array = np.asarray(per_name[name])
                if array.shape != shape or not np.issubdtype(array.dtype, np.number):
                    raise OptimizerError(f"optimiser slot '{slot}' for parameter '{name}' has "
                                         f"shape {array.shape}, expected {shape}")
                if not np.all(np.isfinite(array)):
                    raise OptimizerError(f"optimiser slot '{slot}' for parameter '{name}' holds "
                                         "non-finite numbers")
                parts[name] = array.astype(np.float64)
            fresh[slot] = self.layout.gather(parts)
        self.state = fresh
        self.t = int(t)

    def state_arrays(self) -> list[np.ndarray]:
        return list(self.state.values())


class SGD(Optimizer):
    """w -= lr * g, or with momentum: v = momentum * v + g; w -= lr * v (Nesterov: the step looks
    ahead along v, w -= lr * (g + momentum * v))."""

    name = "sgd"

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0, momentum: float = 0.0,
                 nesterov: bool = False):
        super().__init__(lr, weight_decay)
        self.momentum = _positive("momentum", momentum, allow_zero=True, below_one=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise OptimizerError(f"nesterov must be true or false, not {shown(nesterov)}")
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise OptimizerError("Nesterov momentum needs momentum > 0")
        self.slots = ("velocity",) if self.momentum else ()

    def hyperparameters(self) -> dict[str, float | bool]:
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}

    def update_scale(self) -> float | None:
        return None if self.momentum or self.weight_decay else self.lr

    def _propose(self, grads, t, out):
        if not self.momentum:
            return np.multiply(grads, self.lr, out=out), {}
        v = self.momentum * self.state["velocity"]
        v += grads
        step = grads + self.momentum * v if self.nesterov else v
        return np.multiply(step, self.lr, out=out), {"velocity": v}


class Momentum(SGD):
    """SGD with momentum 0.9 by default."""

    name = "momentum"

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0, momentum: float = 0.9,
                 nesterov: bool = False):
        super().__init__(lr, weight_decay, momentum, nesterov)


class Nesterov(SGD):
    """SGD with Nesterov momentum, 0.9 by default."""

    name = "nesterov"

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0, momentum: float = 0.9):
        super().__init__(lr, weight_decay, momentum, nesterov=True)


class RMSprop(Optimizer):
    """s = alpha * s + (1 - alpha) * g^2; w -= lr * g / (sqrt(s) + eps): each weight's step is
    scaled by a running size of its own gradients."""

    name = "rmsprop"
    slots = ("square_avg",)

    def __init__(self, lr: float = 0.001, weight_decay: float = 0.0, alpha: float = 0.99,
                 eps: float = 1e-8):
        super().__init__(lr, weight_decay)
        self.alpha = _positive("alpha", alpha, below_one=True)
        self.eps = _positive("eps", eps)

    def hyperparameters(self) -> dict[str, float | bool]:
        return {**super().hyperparameters(), "alpha": self.alpha, "eps": self.eps}

    def _propose(self, grads, t, out):
        s = self.alpha * self.state["square_avg"]
        s += (1.0 - self.alpha) * (grads * grads)
        return np.divide(self.lr * grads, np.sqrt(s) + self.eps, out=out), {"square_avg": s}


class Adam(Optimizer):
    """Running means of the gradient (m) and of its square (v), corrected for their start at
    zero; w -= lr * m_hat / (sqrt(v_hat) + eps)."""

    name = "adam"
    slots = ("m", "v")

    def __init__(self, lr: float = 0.001, weight_decay: float = 0.0, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr, weight_decay)
        self.beta1 = _positive("beta1", beta1, allow_zero=True, below_one=True)
        self.beta2 = _positive("beta2", beta2, allow_zero=True, below_one=True)
        self.eps = _positive("eps", eps)

    def hyperparameters(self) -> dict[str, float | bool]:
        return {**super().hyperparameters(), "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}

    def _propose(self, grads, t, out):
        m = self.beta1 * self.state["m"]
        m += (1.0 - self.beta1) * grads
        v = self.beta2 * self.state["v"]
        v += (1.0 - self.beta2) * (grads * grads)
        m_hat_scale = 1.0 / (1.0 - self.beta1 ** t)
        v_hat_scale = 1.0 / (1.0 - self.beta2 ** t)
        step = np.divide((self.lr * m_hat_scale) * m, np.sqrt(v * v_hat_scale) + self.eps, out=out)
        return step, {"m": m, "v": v}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "rmsprop": RMSprop, "adam": Adam,
}


def make_optimizer(name: str, lr: float = 0.01, weight_decay: float = 0.0,
                   **options: Any) -> Optimizer:
    """An optimiser by name (sgd, momentum, nesterov, rmsprop, adam) with its hyperparameters."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise OptimizerError(f"unknown optimiser '{name}'; known: "
                             f"{', '.join(OPTIMIZERS)}") from None
    try:
        return cls(lr=lr, weight_decay=weight_decay, **options)
    except TypeError as exc:
        raise OptimizerError(f"optimiser '{name}': {exc}") from None
