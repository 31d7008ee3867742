"""Numbers as short text: one line for a node card, a few numbers for a walkthrough line. The
walkthrough, the handout and the SVG drawing of a graph share them."""

from __future__ import annotations

import numpy as np


def pick(array: np.ndarray, batched: bool, row: int | None) -> np.ndarray:
    """The part of ``array`` that belongs to sample ``row`` (all of it when ``row`` is None or
    the array is not per sample: parameters, a loss averaged over the batch)."""
    if row is None or not batched or array.ndim == 0 or row >= array.shape[0]:
        return array
    return array[row]


def number(array: np.ndarray, batched: bool = False, row: int | None = None) -> str:
    """One short text: the number itself, a few numbers, or the mean with the range."""
    # (+ 0.0 turns a -0 from a blocked gradient into the 0 a reader expects)
    a = np.asarray(pick(array, batched, row), dtype=np.float64) + 0.0
    if a.size == 1:
        return f"{a.item():.4g}"
    if a.size <= 4:
        return "[" + ", ".join(f"{v:.4g}" for v in a.ravel()) + "]"
    return f"mean {a.mean():.4g} (min {a.min():.4g}, max {a.max():.4g}) over {a.size}"


def card_text(array: np.ndarray) -> str:
    """One line for a node card, as the canvas writes it: the number itself for a single
    number, else the shape with the mean and the range."""
    a = np.asarray(array, dtype=np.float64) + 0.0
    if a.size == 1:
        return f"{a.item():.4g}"
    if a.size == 0:
        return f"{a.shape} empty"
    return f"{a.shape} mean {a.mean():.3g} · {a.min():.3g}..{a.max():.3g}"


__all__ = ["card_text", "number", "pick"]
