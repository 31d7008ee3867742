"""What training measures and keeps: one :class:`StepStats` per step, and the :class:`History`
saved in the project file, thinned for long runs so that its size stays bounded."""

from __future__ import annotations

import bisect
import math
from typing import Any, Callable, Mapping

import numpy as np

from .errors import TrainingError


def _ratios(weight_sq: np.ndarray, update_sq: np.ndarray) -> np.ndarray:
    """|delta w| / |w| from squared norms; NaN where |w| is 0 (the ratio means nothing there)."""
    return np.sqrt(np.divide(update_sq, weight_sq, out=np.full(np.shape(weight_sq), math.nan),
                             where=weight_sq > 0))


class Layers:
    """The dense layers a trainer measures, from the input side: their names and, for each,
    its parameters' columns among the trainer's parameters (a layer's gradient norm is read
    from its parameters' squared norms, which the step computes anyway)."""

    def __init__(self, parameter_names: tuple[str, ...],
                 layers: Mapping[str, tuple[str, ...]] | None = None):
        self.parameters = {name: tuple(params) for name, params in (layers or {}).items()}
        self.names = tuple(self.parameters)
        index = {name: k for k, name in enumerate(parameter_names)}
        try:
            columns = [[index[p] for p in params] for params in self.parameters.values()]
        except KeyError as exc:
            raise TrainingError(f"layer parameter {exc} is not among the parameters "
                                "trained") from None
        # One matrix (parameters x layers) sums each layer's columns for many points at once.
        self._membership = np.zeros((len(parameter_names), len(self.names)))
        for k, cols in enumerate(columns):
            self._membership[cols, k] = 1.0

    def __len__(self) -> int:
        return len(self.names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layers) and self.parameters == other.parameters

    def grad_norms(self, squared_norms: np.ndarray) -> np.ndarray:
        """(points, parameters) squared gradient norms -> (points, layers) layer norms."""
        return np.sqrt(np.asarray(squared_norms) @ self._membership)

    def to_tree(self) -> dict[str, str]:
        return {name: ",".join(params) for name, params in self.parameters.items()}

    @classmethod
    def from_tree(cls, parameter_names: tuple[str, ...], tree: Mapping[str, Any]) -> "Layers":
        return cls(parameter_names, {str(name): tuple(p for p in str(params).split(",") if p)
                                     for name, params in tree.items()})


NO_LAYERS = Layers(())


class StepStats:
    """What one training step measured. ``grad_norms`` and ``update_ratios`` hold one number per
    parameter, in ``parameter_names`` order: from the input side of the graph to the loss.
    ``layer_grad_norms`` holds one number per dense layer, in ``layers.names`` order (see
    :class:`Layers`); ``layer_signal_norms`` and ``layer_health`` too, on the steps where the
    layers were measured (every ``layer_every`` steps: see the Trainer), else None.

    Accuracy, gradient norms and update ratios are worked out from the step's raw results the
    first time they are read (then kept): a consumer that looks at a few steps a second, as a
    plot or a progress line does, does not pay for the thousands it skips."""

    __slots__ = ("step", "epoch", "loss", "parameter_names", "elapsed", "step_seconds",
                 "val_loss", "val_accuracy", "layers", "_squares", "_scored", "_accuracy",
                 "_norms", "_ratios", "_layer_figures")

    def __init__(self, step: int, epoch: float, loss: float, squares: np.ndarray,
                 parameter_names: tuple[str, ...], elapsed: float, step_seconds: float,
                 scored: tuple[Callable, np.ndarray, np.ndarray] | None = None,
                 layers: "Layers | None" = None, layer_figures: np.ndarray | None = None):
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
        self.layers = NO_LAYERS if layers is None else layers
        # rows: |dL/dz|^2 at each layer's pre-activation, and its health fraction; None on a
        # step where the layers were not measured
        self._layer_figures = layer_figures

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

    @property
    def layer_grad_norms(self) -> np.ndarray:
        """Per layer: the L2 norm of the gradient of all its parameters together."""
        return self.layers.grad_norms(self._squares[1][None])[0]

    @property
    def layer_signal_norms(self) -> np.ndarray | None:
        """Per layer: the L2 norm of dL/dz, the gradient at its pre-activation (the signal the
        backward pass carries through it), over the batch; None when not measured."""
        return None if self._layer_figures is None else np.sqrt(self._layer_figures[0])

    @property
    def layer_health(self) -> np.ndarray | None:
        """Per layer: the fraction of ReLU units dead, or of sigmoid/tanh outputs saturated,
        on this step's batch (NaN for a layer with another activation or none); None when
        not measured."""
        return None if self._layer_figures is None else self._layer_figures[1]

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
                                                            self.update_ratios)},
                "layers": {n: {"grad_norm": num(g), "signal_norm": num(z), "health": num(h)}
                           for n, g, z, h in zip(
                               self.layers.names, self.layer_grad_norms,
                               *(self._layer_figures_or_none(k) for k in (0, 1)))}}

    def _layer_figures_or_none(self, row: int) -> list[float | None]:
        if self._layer_figures is None:
            return [None] * len(self.layers)
        figures = self._layer_figures[row]
        return list(np.sqrt(figures) if row == 0 else figures)

    def __repr__(self) -> str:
        return f"<StepStats step {self.step} loss {self.loss:.6g}>"


class _Points:
    """Everything a History holds, replaced as a whole: see History."""

    __slots__ = ("stride", "rows", "pending", "val_stride", "val_points", "layer_stride",
                 "layer_points")

    def __init__(self, stride: int, rows: dict[str, list], pending: list[StepStats],
                 val_stride: int, val_points: list[tuple[int, float, float]],
                 layer_stride: int = 1,
                 layer_points: list[tuple[int, np.ndarray, np.ndarray]] | None = None):
        self.stride = stride
        self.rows = rows
        self.pending = pending
        self.val_stride = val_stride
        self.val_points = val_points  # (step, loss, accuracy): one append per point
        self.layer_stride = layer_stride
        # (step, |dL/dz| per layer, health per layer): one append per point
        self.layer_points = [] if layer_points is None else layer_points

    def replace(self, **fields: Any) -> "_Points":
        return _Points(**{**{key: getattr(self, key) for key in self.__slots__}, **fields})


_COLUMNS = ("step", "epoch", "loss", "accuracy", "elapsed", "grad_norms", "update_ratios")


class History:
    """Per-step statistics kept for the project file, thinned for long runs: a step is kept when
    it is a multiple of ``stride``; when more than ``max_points`` are kept, every other one is
    dropped and the stride doubles. Validation results and the per-layer figures (|dL/dz| and
    health, measured every few steps) are points of their own, thinned the same way. Which steps survive depends on step numbers only, so a resumed
    run ends with the same history as an unbroken one.

    An exception (a KeyboardInterrupt) may land anywhere in :meth:`record`, and the history is
    then saved as it is: so every change is either one append (a point is in, or not) or a new
    set of points computed aside and put in place with one assignment, and recording a step
    that is already in does nothing (the Trainer records again a step cut short)."""

    def __init__(self, parameter_names: tuple[str, ...], max_points: int = 1000,
                 layers: Layers | None = None):
        if max_points < 2:
            raise TrainingError("a history needs room for at least 2 points")
        self.parameter_names = parameter_names
        self.max_points = max_points
        self.layers = NO_LAYERS if layers is None else layers
        # The last points, still raw (their StepStats: squares |w|^2, |g|^2, |delta w|^2 and
        # what scores the accuracy). Thinned as they come, but worked out in bulk when the
        # history is read or PENDING of them wait: per point, that is a fraction of the cost,
        # and points thinned out before that cost nothing.
        self._points = _Points(1, {k: [] for k in _COLUMNS}, [], 1, [])

    # Read-only views of the points (from_tree, which builds a history, sets them whole).
    @property
    def stride(self) -> int:
        return self._points.stride

    @property
    def rows(self) -> dict[str, list]:
        return self._points.rows

    @property
    def val_stride(self) -> int:
        return self._points.val_stride

    @property
    def layer_stride(self) -> int:
        return self._points.layer_stride

    @property
    def val_rows(self) -> dict[str, list]:
        points = self._points.val_points
        return {"step": [p[0] for p in points], "loss": [p[1] for p in points],
                "accuracy": [p[2] for p in points]}

    def __len__(self) -> int:
        self._materialize()
        return len(self._points.rows["step"])

    def last_step(self) -> int:
        """The last step recorded (0 for none)."""
        points = self._points
        if points.pending:
            return points.pending[-1].step
        return points.rows["step"][-1] if points.rows["step"] else 0

    def record(self, s: StepStats) -> None:
        points = self._points
        if s.step % points.stride == 0 and s.step > self.last_step():
            points.pending.append(s)
            if len(points.pending) + len(points.rows["step"]) > self.max_points:
                self._points = points = self._thinned(points)
            if len(points.pending) >= self.PENDING:
                self._materialize()
                points = self._points
        if s.val_loss is not None and s.step % points.val_stride == 0 \
                and (not points.val_points or points.val_points[-1][0] < s.step):
            accuracy = math.nan if s.val_accuracy is None else s.val_accuracy
            points.val_points.append((s.step, s.val_loss, accuracy))
            if len(points.val_points) > self.max_points:
                stride = points.val_stride * 2
                kept = [p for p in points.val_points if p[0] % stride == 0]
                self._points = points = points.replace(val_stride=stride, val_points=kept)
        figures = s._layer_figures
        if figures is not None and s.step % points.layer_stride == 0 \
                and (not points.layer_points or points.layer_points[-1][0] < s.step):
            points.layer_points.append((s.step, np.sqrt(figures[0]), figures[1]))
            if len(points.layer_points) > self.max_points:
                stride = points.layer_stride * 2
                kept = [p for p in points.layer_points if p[0] % stride == 0]
                self._points = points.replace(layer_stride=stride, layer_points=kept)

    def _thinned(self, points: _Points) -> _Points:
        stride, rows, pending = points.stride, points.rows, points.pending
        while len(pending) + len(rows["step"]) > self.max_points:
            stride *= 2
            keep = [i for i, step in enumerate(rows["step"]) if step % stride == 0]
            rows = {key: [values[i] for i in keep] for key, values in rows.items()}
            pending = [p for p in pending if p.step % stride == 0]
        return points.replace(stride=stride, rows=rows, pending=pending)

    PENDING = 64

    def _materialize(self) -> None:
        """Work out the pending points and add them to the rows (in new lists, put in place
        together with the emptied pending list)."""
        points = self._points
        pending = list(points.pending)
        if not pending:
            return
        added: dict[str, list] = {
            "step": [s.step for s in pending], "epoch": [s.epoch for s in pending],
            "loss": [s.loss for s in pending], "elapsed": [s.elapsed for s in pending]}
        squares = np.array([s._squares for s in pending])
        added["grad_norms"] = list(np.sqrt(squares[:, 1]))
        added["update_ratios"] = list(_ratios(squares[:, 0], squares[:, 2]))
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
        added["accuracy"] = accuracy
        rows = {key: values + added[key] for key, values in points.rows.items()}
        self._points = points.replace(rows=rows, pending=[])

    def column(self, key: str) -> np.ndarray:
        """One statistic as an array: step, epoch, loss, accuracy, elapsed (points,);
        grad_norms, update_ratios (points, parameters); layer_grad_norms (points, layers).
        The per-layer figures measured every few steps are :meth:`layer_column`'s."""
        self._materialize()
        if key in ("grad_norms", "update_ratios"):
            return np.array(self.rows[key]).reshape(len(self), len(self.parameter_names))
        if key == "layer_grad_norms":
            return self.layers.grad_norms(np.square(self.column("grad_norms")))
        return np.array(self.rows[key], dtype=np.int64 if key == "step" else np.float64)

    def layer_column(self, key: str) -> np.ndarray:
        """The per-layer figures at the steps they were measured: step (points,), signal (the
        norm of dL/dz) or health (points, layers)."""
        return self._layer_column(self._points.layer_points, key)

    def _layer_column(self, points: list[tuple[int, np.ndarray, np.ndarray]],
                      key: str) -> np.ndarray:
        if key == "step":
            return np.array([p[0] for p in points], dtype=np.int64)
        index = {"signal": 1, "health": 2}[key]
        return np.array([p[index] for p in points], dtype=np.float64).reshape(
            len(points), len(self.layers))

    def last_validation(self) -> tuple[float, float] | None:
        """The loss and accuracy (NaN for none) of the last validation kept, or None."""
        points = self._points.val_points
        return (float(points[-1][1]), float(points[-1][2])) if points else None

    def mark(self) -> tuple[int, int, int]:
        """The last step of each kind of point (per step, validation, per layer; 0 for none):
        ``to_tree(after=mark)`` later gives the points recorded since."""
        self._materialize()
        points = self._points
        return (points.rows["step"][-1] if points.rows["step"] else 0,
                points.val_points[-1][0] if points.val_points else 0,
                points.layer_points[-1][0] if points.layer_points else 0)

    def to_tree(self, after: tuple[int, int, int] | None = None) -> dict[str, Any]:
        """A tree of dicts with number, string and array leaves, for the project file. With
        ``after`` (a :meth:`mark`), only the points recorded since that moment, in the same
        form: :func:`merge_trees` adds them to the tree of that moment (a live run sends them,
        not its whole history, on every update)."""
        self._materialize()
        points = self._points
        step_after, val_after, layer_after = (0, 0, 0) if after is None else after
        first = bisect.bisect_right(points.rows["step"], step_after)
        rows = {key: values[first:] for key, values in points.rows.items()}
        n, width = len(rows["step"]), len(self.parameter_names)
        norms = np.array(rows["grad_norms"]).reshape(n, width)
        ratios = np.array(rows["update_ratios"]).reshape(n, width)
        val = points.val_points[bisect.bisect_right(points.val_points, val_after,
                                                    key=lambda p: p[0]):]
        layer = points.layer_points[bisect.bisect_right(points.layer_points, layer_after,
                                                        key=lambda p: p[0]):]
        return {
            "parameters": ",".join(self.parameter_names),
            "stride": self.stride, "max_points": self.max_points,
            **{key: np.array(rows[key], dtype=np.int64 if key == "step" else np.float64)
               for key in ("step", "epoch", "loss", "accuracy", "elapsed")},
            "grad_norm": {n: norms[:, i].copy() for i, n in enumerate(self.parameter_names)},
            "update_ratio": {n: ratios[:, i].copy() for i, n in enumerate(self.parameter_names)},
            # (read from grad_norm on loading; kept for whoever reads the file or the tree)
            "layer_grad_norm": self._by_layer(self.layers.grad_norms(np.square(norms))),
            "layers": {"stride": self.layer_stride, "parameters": self.layers.to_tree(),
                       "step": self._layer_column(layer, "step"),
                       "signal": self._by_layer(self._layer_column(layer, "signal")),
                       "health": self._by_layer(self._layer_column(layer, "health"))},
            "validation": {"stride": self.val_stride,
                           "step": np.array([p[0] for p in val], dtype=np.int64),
                           "loss": np.array([p[1] for p in val], dtype=np.float64),
                           "accuracy": np.array([p[2] for p in val], dtype=np.float64)},
        }

    def _by_layer(self, column: np.ndarray) -> dict[str, np.ndarray]:
        return {n: column[:, i].copy() for i, n in enumerate(self.layers.names)}

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any], parameter_names: tuple[str, ...],
                  layers: Layers | None = None) -> "History":
        """Read :meth:`to_tree` back; the saved parameters must be those being trained. The
        per-layer figures are read where the saved layers are ``layers``; otherwise (a history
        saved before layers were measured, or layers regrouped since) they start afresh."""
        try:
            saved_names = tuple(n for n in str(tree["parameters"]).split(",") if n)
            if saved_names != parameter_names:
                raise TrainingError("the saved training history is for the parameters "
                                    f"{', '.join(saved_names)}, not {', '.join(parameter_names)}")
            layers = NO_LAYERS if layers is None else layers
            history = cls(parameter_names, int(tree["max_points"]), layers)
            stride = int(tree["stride"])
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
            rows = {"step": [int(s) for s in steps],
                    **{key: [float(v) for v in col] for key, col in cols.items()},
                    "grad_norms": list(norms), "update_ratios": list(ratios)}
            layer_stride, layer_points = _layer_points(tree.get("layers"), parameter_names,
                                                       layers)
            val = tree["validation"]
            val_columns = [np.asarray(val["step"], dtype=np.int64)] + [
                np.asarray(val[key], dtype=np.float64) for key in ("loss", "accuracy")]
            if len({len(c) for c in val_columns}) != 1:
                raise TrainingError("the saved validation history has columns of different "
                                    "lengths")
            val_points = [(int(a), float(b), float(c)) for a, b, c in zip(*val_columns)]
            history._points = _Points(stride, rows, [], int(val["stride"]), val_points,
                                      layer_stride, layer_points)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, TrainingError):
                raise
            raise TrainingError(f"the saved training history is malformed ({exc})") from None
        return history


def merge_trees(tree: Mapping[str, Any] | None, added: Mapping[str, Any]) -> dict[str, Any]:
    """The tree of a history from its tree at an earlier moment and ``added``, the
    ``to_tree(after=mark)`` of what it recorded since: the points that doubled strides have
    thinned out since are dropped (a history keeps the steps that are multiples of its
    stride), the new ones appended. What a window rebuilds a run's history from."""
    if tree is None:
        return dict(added)
    merged = _appended(tree, added, ("step", "epoch", "loss", "accuracy", "elapsed"),
                       ("grad_norm", "update_ratio", "layer_grad_norm"))
    merged["validation"] = _appended(tree["validation"], added["validation"],
                                     ("step", "loss", "accuracy"), ())
    merged["layers"] = _appended(tree["layers"], added["layers"], ("step",),
                                 ("signal", "health"))
    return merged


def _appended(old: Mapping[str, Any], new: Mapping[str, Any], columns: tuple[str, ...],
              by_name: tuple[str, ...]) -> dict[str, Any]:
    """``old``'s points kept at ``new``'s stride, then ``new``'s: ``columns`` are arrays along
    the points, ``by_name`` dicts of such arrays."""
    keep = np.asarray(old["step"]) % int(new["stride"]) == 0
    out = dict(new)
    for key in columns:
        out[key] = np.concatenate([np.asarray(old[key])[keep], new[key]])
    for key in by_name:
        out[key] = {name: np.concatenate([np.asarray(old[key][name])[keep], column])
                    for name, column in new[key].items()}
    return out


def _layer_points(saved: Any, parameter_names: tuple[str, ...],
                  layers: Layers) -> tuple[int, list[tuple[int, np.ndarray, np.ndarray]]]:
    """The saved per-layer points, if they are for ``layers`` (else none: they start over)."""
    if not isinstance(saved, Mapping) or not isinstance(saved.get("parameters"), Mapping):
        return 1, []
    try:
        if Layers.from_tree(parameter_names, saved["parameters"]) != layers:
            return 1, []
    except TrainingError:  # layers of parameters no longer trained
        return 1, []
    steps = np.asarray(saved["step"], dtype=np.int64)
    columns = [np.column_stack([np.asarray(saved[key][name], dtype=np.float64)
                                for name in layers.names]).reshape(-1, len(layers))
               if len(layers) else np.empty((len(steps), 0)) for key in ("signal", "health")]
    if any(len(c) != len(steps) for c in columns):
        raise TrainingError("the saved per-layer history has columns of different lengths")
    return int(saved["stride"]), [(int(step), signal, health)
                                  for step, signal, health in zip(steps, *columns)]


def score_batch(rule: Callable, prediction: np.ndarray, target: np.ndarray) -> float:
    return float(rule(prediction[None], target[None])[0])
