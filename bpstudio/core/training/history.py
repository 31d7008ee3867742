"""What training measures and keeps: one :class:`StepStats` per step, and the :class:`History`
saved in the project file, thinned for long runs so that its size stays bounded."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from .errors import TrainingError


def _ratios(weight_sq: np.ndarray, update_sq: np.ndarray) -> np.ndarray:
    """|delta w| / |w| from squared norms; NaN where |w| is 0 (the ratio means nothing there)."""
    return np.sqrt(np.divide(update_sq, weight_sq, out=np.full(np.shape(weight_sq), math.nan),
                             where=weight_sq > 0))


class StepStats:
    """What one training step measured. ``grad_norms`` and ``update_ratios`` hold one number per
    parameter, in ``parameter_names`` order: from the input side of the graph to the loss.

    Accuracy, gradient norms and update ratios are worked out from the step's raw results the
    first time they are read (then kept): a consumer that looks at a few steps a second, as a
    plot or a progress line does, does not pay for the thousands it skips."""

    __slots__ = ("step", "epoch", "loss", "parameter_names", "elapsed", "step_seconds",
                 "val_loss", "val_accuracy", "_squares", "_scored", "_accuracy", "_norms",
                 "_ratios")

    def __init__(self, step: int, epoch: float, loss: float, squares: np.ndarray,
                 parameter_names: tuple[str, ...], elapsed: float, step_seconds: float,
                 scored: tuple[Callable, np.ndarray, np.ndarray] | None = None):
        self.step = step                  # steps completed, counting from the very first
        self.epoch = epoch                # passes over the training rows (fractional)
        self.loss = loss
        self.parameter_names = parameter_names
        self.elapsed = elapsed            # wall seconds spent training, over every run
        self.step_seconds = step_seconds  # wall seconds of this step
        self.val_loss: float | None = None      # set on the steps where validation ran
        self.val_accuracy: float | None = None
        self._squares = squares           # rows: |w|^2 before the update, |g|^2, |delta w|^2
        self._scored = scored             # (rule, prediction, target) for the accuracy
        self._accuracy: float | None = None
        self._norms: np.ndarray | None = None
        self._ratios: np.ndarray | None = None

    @property
    def accuracy(self) -> float | None:
        """Fraction of the batch classified right (None for regression)."""
        if self._scored is not None:
            self._accuracy = score_batch(*self._scored)
            self._scored = None
        return self._accuracy

    @property
    def grad_norms(self) -> np.ndarray:
        """L2 norm of each parameter's gradient."""
        if self._norms is None:
            self._norms = np.sqrt(self._squares[1])
        return self._norms

    @property
    def update_ratios(self) -> np.ndarray:
        """|delta w| / |w| per parameter, w before the update (NaN where w was all zeros)."""
        if self._ratios is None:
            self._ratios = _ratios(self._squares[0], self._squares[2])
        return self._ratios

    def grad_norm(self, name: str) -> float:
        return float(self.grad_norms[self.parameter_names.index(name)])

    def update_ratio(self, name: str) -> float:
        return float(self.update_ratios[self.parameter_names.index(name)])

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers (NaN becomes None)."""
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)
        return {"step": self.step, "epoch": self.epoch, "loss": num(self.loss),
                "accuracy": num(self.accuracy), "val_loss": num(self.val_loss),
                "val_accuracy": num(self.val_accuracy), "elapsed": self.elapsed,
                "grad_norms": {n: num(v) for n, v in zip(self.parameter_names, self.grad_norms)},
                "update_ratios": {n: num(v) for n, v in zip(self.parameter_names,
                                                            self.update_ratios)}}

    def __repr__(self) -> str:
        return f"<StepStats step {self.step} loss {self.loss:.6g}>"


class History:
    """Per-step statistics kept for the project file, thinned for long runs: a step is kept when
    it is a multiple of ``stride``; when more than ``max_points`` are kept, every other one is
    dropped and the stride doubles. Which steps survive depends on step numbers only, so a resumed
    run ends with the same history as an unbroken one."""

    def __init__(self, parameter_names: tuple[str, ...], max_points: int = 1000):
        if max_points < 2:
            raise TrainingError("a history needs room for at least 2 points")
        self.parameter_names = parameter_names
        self.max_points = max_points
        self.stride = 1
        self.val_stride = 1
        self.rows: dict[str, list] = {k: [] for k in ("step", "epoch", "loss", "accuracy",
                                                      "elapsed", "grad_norms", "update_ratios")}
        # The last points, still raw (their StepStats: squares |w|^2, |g|^2, |delta w|^2 and
        # what scores the accuracy). Thinned as they come, but worked out in bulk when the
        # history is read or PENDING of them wait: per point, that is a fraction of the cost,
        # and points thinned out before that cost nothing.
        self._pending: list[StepStats] = []
        self.val_rows: dict[str, list] = {k: [] for k in ("step", "loss", "accuracy")}

    def __len__(self) -> int:
        self._materialize()
        return len(self.rows["step"])

    def record(self, s: StepStats) -> None:
        if s.step % self.stride == 0:
            pending = self._pending
            pending.append(s)
            if len(pending) + len(self.rows["step"]) > self.max_points:
                while len(pending) + len(self.rows["step"]) > self.max_points:
                    self.stride *= 2
                    self._thin(self.rows, self.stride)
                    pending[:] = [p for p in pending if p.step % self.stride == 0]
            if len(pending) >= self.PENDING:
                self._materialize()
        if s.val_loss is not None and s.step % self.val_stride == 0:
            rows = self.val_rows
            rows["step"].append(s.step)
            rows["loss"].append(s.val_loss)
            rows["accuracy"].append(math.nan if s.val_accuracy is None else s.val_accuracy)
            if len(rows["step"]) > self.max_points:
                self.val_stride *= 2
                self._thin(rows, self.val_stride)

    PENDING = 64

    def _materialize(self) -> None:
        """Work out the pending points and append them to the rows."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        rows = self.rows
        rows["step"].extend(s.step for s in pending)
        rows["epoch"].extend(s.epoch for s in pending)
        rows["loss"].extend(s.loss for s in pending)
        rows["elapsed"].extend(s.elapsed for s in pending)
        squares = np.array([s._squares for s in pending])
        rows["grad_norms"].extend(np.sqrt(squares[:, 1]))
        rows["update_ratios"].extend(_ratios(squares[:, 0], squares[:, 2]))
        accuracy = [math.nan if s._accuracy is None else s._accuracy for s in pending]
        # Score batches of the same shape together (an epoch's last batch may be shorter).
        groups: dict[tuple, list[int]] = {}
        for i, s in enumerate(pending):
            if s._scored is not None:
                rule, prediction, target = s._scored
                groups.setdefault((rule, prediction.shape, target.shape), []).append(i)
        for (rule, _, _), members in groups.items():
            # (np.array stacks arrays of one shape faster than np.stack does)
            predictions = np.array([pending[i]._scored[1] for i in members])
            targets = np.array([pending[i]._scored[2] for i in members])
            for i, score in zip(members, rule(predictions, targets)):
                accuracy[i] = float(score)
        rows["accuracy"].extend(accuracy)

    def _thin(self, rows: dict[str, list], stride: int) -> None:
        keep = [i for i, step in enumerate(rows["step"]) if step % stride == 0]
        for key, values in rows.items():
            rows[key] = [values[i] for i in keep]

    def column(self, key: str) -> np.ndarray:
        """One statistic as an array: step, epoch, loss, accuracy, elapsed (points,), or
        grad_norms, update_ratios (points, parameters)."""
        self._materialize()
        if key in ("grad_norms", "update_ratios"):
            return np.array(self.rows[key]).reshape(len(self), len(self.parameter_names))
        return np.array(self.rows[key], dtype=np.int64 if key == "step" else np.float64)

    def to_tree(self) -> dict[str, Any]:
        """A tree of dicts with number, string and array leaves, for the project file."""
        norms, ratios = self.column("grad_norms"), self.column("update_ratios")
        return {
            "parameters": ",".join(self.parameter_names),
            "stride": self.stride, "max_points": self.max_points,
            **{key: self.column(key) for key in ("step", "epoch", "loss", "accuracy", "elapsed")},
            "grad_norm": {n: norms[:, i].copy() for i, n in enumerate(self.parameter_names)},
            "update_ratio": {n: ratios[:, i].copy() for i, n in enumerate(self.parameter_names)},
            "validation": {"stride": self.val_stride,
                           "step": np.array(self.val_rows["step"], dtype=np.int64),
                           "loss": np.array(self.val_rows["loss"], dtype=np.float64),
                           "accuracy": np.array(self.val_rows["accuracy"], dtype=np.float64)},
        }

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any], parameter_names: tuple[str, ...]) -> "History":
        """Read :meth:`to_tree` back; the saved parameters must be those being trained."""
        try:
            saved_names = tuple(n for n in str(tree["parameters"]).split(",") if n)
            if saved_names != parameter_names:
                raise TrainingError("the saved training history is for the parameters "
                                    f"{', '.join(saved_names)}, not {', '.join(parameter_names)}")
            history = cls(parameter_names, int(tree["max_points"]))
            history.stride = int(tree["stride"])
            steps = np.asarray(tree["step"], dtype=np.int64)
            n = len(steps)
            cols = {key: np.asarray(tree[key], dtype=np.float64)
                    for key in ("epoch", "loss", "accuracy", "elapsed")}
            norms, ratios = (
                np.column_stack([np.asarray(tree[key][p], dtype=np.float64)
                                 for p in parameter_names]).reshape(-1, len(parameter_names))
                for key in ("grad_norm", "update_ratio"))
            if any(len(c) != n for c in (*cols.values(), norms, ratios)):
                raise TrainingError("the saved training history has columns of different lengths")
            history.rows = {"step": [int(s) for s in steps],
                            **{key: [float(v) for v in col] for key, col in cols.items()},
                            "grad_norms": list(norms), "update_ratios": list(ratios)}
            val = tree["validation"]
            history.val_stride = int(val["stride"])
            history.val_rows = {
                "step": [int(s) for s in np.asarray(val["step"], dtype=np.int64)],
                **{key: [float(v) for v in np.asarray(val[key], dtype=np.float64)]
                   for key in ("loss", "accuracy")}}
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, TrainingError):
                raise
            raise TrainingError(f"the saved training history is malformed ({exc})") from None
        return history


def score_batch(rule: Callable, prediction: np.ndarray, target: np.ndarray) -> float:
    return float(rule(prediction[None], target[None])[0])
