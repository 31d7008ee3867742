"""The numbers the plots draw, read out of a training history tree (the format of
:meth:`bpstudio.core.training.history.History.to_tree`), with the small transforms they apply:
smoothing, and marking values that cannot be drawn (NaN, infinities, and non-positive values on a
log axis) as gaps.

No Qt here: the plots' arithmetic is tested on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator, Mapping, Sequence

import numpy as np


def finite_or_nan(values: Any) -> np.ndarray:
    """A float copy with every non-finite value replaced by NaN (drawn as a gap)."""
    out = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    out[~np.isfinite(out)] = np.nan
    return out


def positive_or_nan(values: Any) -> np.ndarray:
    """As :func:`finite_or_nan`, and NaN where a value is <= 0 (it has no place on a log axis)."""
    out = finite_or_nan(values)
    with np.errstate(invalid="ignore"):
        out[~(out > 0)] = np.nan
    return out


def smoothing_weight(weight: Any) -> float:
    """A moving-average weight as a float in [0, 1) (0 draws the raw values); ValueError
    otherwise."""
    weight = float(weight)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), not {weight}")
    return weight


def ema(values: Any, weight: float) -> np.ndarray:
    """Exponential moving average: s_k = weight * s_(k-1) + (1 - weight) * v_k, divided by
    (1 - weight^k) so that the start is not pulled towards zero. Non-finite values are skipped
    (their place stays NaN and they do not poison what follows). ``weight`` 0 returns the
    values unchanged (as a float copy)."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"the smoothing weight must be in [0, 1), not {weight}")
    out = finite_or_nan(values)
    if weight == 0.0:
        return out
    valid = ~np.isnan(out)
    averages = _running_average(out[valid], weight)
    # Past the first few hundred averages weight^k is below 2^-60, where 1 - weight^k is 1.0
    # exactly: only those before are divided. (Raising the weight to every count, down into
    # subnormal numbers, cost 0.3 ms for a 5,000-point curve at the default smoothing, ten times
    # the average itself, on each curve at each live redraw.)
    debiased = min(len(averages), _debiased_count(weight))
    averages[:debiased] /= 1.0 - weight ** np.arange(1, debiased + 1)
    out[valid] = averages
    return out


@lru_cache(maxsize=16)
def _debiased_count(weight: float) -> int:
    """The count past which weight^count < 2^-60 (so 1 - weight^count rounds to 1.0)."""
    return math.ceil(60 * math.log(2) / -math.log(weight)) + 1


_BLOCK = 64


@lru_cache(maxsize=16)
def _block_decay(weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(weight^(j - i) for j >= i else 0, as a _BLOCK x _BLOCK matrix; weight^1..weight^_BLOCK):
    what a value weighs j - i places on within a block, and what the end of the block before
    weighs at each place. Kept per weight: a live plot smooths tens of curves at one weight."""
    lag = np.arange(_BLOCK)[None, :] - np.arange(_BLOCK)[:, None]  # j - i
    with np.errstate(under="ignore"):
        decay = np.where(lag >= 0, weight ** np.maximum(lag, 0), 0.0)
        carried = weight ** np.arange(1, _BLOCK + 1)
    decay.flags.writeable = carried.flags.writeable = False
    return decay, carried


def _running_average(values: np.ndarray, weight: float) -> np.ndarray:
    """s_k = weight * s_(k-1) + (1 - weight) * v_k from s_0 = 0."""
    return _recurrence((1.0 - weight) * values, weight)


def _recurrence(inputs: np.ndarray, weight: float) -> np.ndarray:
    """r_k = weight * r_(k-1) + inputs_k from r_0 = 0 along the last axis (one series, or a
    row per series), without a Python loop per point (a live plot recomputes it for tens of
    curves many times a second): within blocks of 64 values it is one product with the matrix
    of weight^(j - i), started from 0; each block's true end is then the same recurrence over
    the blocks' ends, at weight^64 (solved the same way, so n values take about log_64(n)
    levels), and it is carried into the next block. Powers stay <= 1, so nothing overflows."""
    n = inputs.shape[-1]
    if n == 0:
        return inputs.copy()
    rows = inputs.shape[:-1]
    blocks = -(-n // _BLOCK)
    padded = np.zeros(rows + (blocks, _BLOCK))
    padded.reshape(rows + (blocks * _BLOCK,))[..., :n] = inputs
    decay, carried = _block_decay(weight)
    # (every row's blocks in one product)
    within = (padded.reshape(-1, _BLOCK) @ decay).reshape(padded.shape)
    if blocks > 1:
        with np.errstate(under="ignore"):
            ends = _recurrence(within[..., -1].copy(), weight ** _BLOCK)
        within[..., 1:, :] += ends[..., :-1, None] * carried
    return within.reshape(rows + (blocks * _BLOCK,))[..., :n]


def log_emas(columns: Sequence[Any], weight: float) -> list[np.ndarray]:
    """:func:`log_ema` of each column: as one computation over all of them when they are as
    long and have no gaps (a live plot's columns share their steps), else one by one. The
    numbers are those of :func:`log_ema` but for rounding (the sums go through the products
    in another grouping)."""
    arrays = [np.asarray(column, dtype=np.float64).reshape(-1) for column in columns]
    if weight == 0.0 or len(arrays) < 2 or len({len(a) for a in arrays}) != 1:
        return [log_ema(array, weight) for array in arrays]
    # (a row per column, each contiguous)
    stacked = positive_or_nan(np.stack(arrays)).reshape(len(arrays), -1)
    if np.isnan(stacked).any():
        return [log_ema(row, weight) for row in stacked]
    averages = _recurrence((1.0 - weight) * np.log10(stacked), weight)
    debiased = min(averages.shape[1], _debiased_count(weight))  # (see ema)
    averages[:, :debiased] /= 1.0 - weight ** np.arange(1, debiased + 1)
    return list(10.0 ** averages)


def log_ema(values: Any, weight: float) -> np.ndarray:
    """:func:`ema` of log10 of the values, raised back (a running geometric mean): on a log axis
    it smooths a series spanning decades evenly. Values <= 0 and non-finite ones are gaps."""
    positive = positive_or_nan(values)
    if weight == 0.0:
        return positive
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 ** ema(np.log10(positive), weight)


@dataclass
class HistorySeries:
    """One history tree as float arrays of equal lengths (gaps as NaN), ready to draw."""

    parameters: tuple[str, ...] = ()
    step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grad_norm: dict[str, np.ndarray] = field(default_factory=dict)
    update_ratio: dict[str, np.ndarray] = field(default_factory=dict)
    val_step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Per dense layer, input side first: the norm of all its parameters' gradient on every
    # recorded step; dL/dz at its pre-activation and its health on the steps the layers were
    # measured (``layer_step``).
    layers: tuple[str, ...] = ()
    layer_grad_norm: dict[str, np.ndarray] = field(default_factory=dict)
    layer_step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    layer_signal: dict[str, np.ndarray] = field(default_factory=dict)
    layer_health: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> "HistorySeries":
        names = tree.get("parameters", "")
        if isinstance(names, str):
            parameters = tuple(n for n in names.split(",") if n)
        else:
            parameters = tuple(str(n) for n in names)
        step = finite_or_nan(tree.get("step", ()))
        n = len(step)
        validation = tree.get("validation") or {}
        val_step = finite_or_nan(validation.get("step", ()))
        m = len(val_step)
        norms = tree.get("grad_norm") or {}
        ratios = tree.get("update_ratio") or {}
        layer_norms = tree.get("layer_grad_norm") or {}
        layers = tuple(str(name) for name in layer_norms)
        measured = tree.get("layers") or {}
        layer_step = finite_or_nan(measured.get("step", ()))
        k = len(layer_step)
        signal, health = measured.get("signal") or {}, measured.get("health") or {}
        return cls(parameters, step, _fit(tree.get("loss"), n), _fit(tree.get("accuracy"), n),
                   _Columns(norms, parameters, n), _Columns(ratios, parameters, n),
                   val_step, _fit(validation.get("loss"), m), _fit(validation.get("accuracy"), m),
                   layers, _Columns(layer_norms, layers, n), layer_step,
                   _Columns(signal, layers, k), _Columns(health, layers, k))

    def __len__(self) -> int:
        return len(self.step)

    @property
    def has_accuracy(self) -> bool:
        """Whether any accuracy was measured (regression has none: all NaN)."""
        return bool(np.isfinite(self.accuracy).any() or np.isfinite(self.val_accuracy).any())

    def latest(self, key: str, names: tuple[str, ...] | None = None) -> np.ndarray:
        """The last row of a per-name column (``grad_norm``, ``update_ratio``,
        ``layer_grad_norm``...), one value per name (the parameters unless ``names`` given)."""
        columns = getattr(self, key)
        names = self.parameters if names is None else names
        return np.array([columns[p][-1] if len(columns[p]) else np.nan for p in names])


def _fit(values: Any, n: int) -> np.ndarray:
    """A column as n floats. One shorter or longer than its steps (a hand-made tree) is cut or
    padded with gaps rather than refused: the plots only draw it."""
    out = finite_or_nan(() if values is None else values)
    if len(out) >= n:
        return out[:n]
    return np.concatenate([out, np.full(n - len(out), np.nan)])


class _Columns(Mapping):
    """A history tree's columns by name, each read into n floats (as :func:`_fit` reads it)
    the first time it is asked for: a live redraw reads the columns of the plots in view, not
    the 90 of a deep net's every plot (a third of a millisecond a redraw)."""

    def __init__(self, tree_columns: Mapping[str, Any], names: tuple[str, ...], n: int):
        self._tree_columns, self._names, self._n = tree_columns, names, n
        self._read: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        column = self._read.get(name)
        if column is None:
            if name not in self._names:
                raise KeyError(name)
            column = self._read[name] = _fit(self._tree_columns.get(name), self._n)
        return column

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def as_series(history: "Mapping[str, Any] | HistorySeries | None") -> HistorySeries | None:
    if history is None or isinstance(history, HistorySeries):
        return history
    return HistorySeries.from_tree(history)
