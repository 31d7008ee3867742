"""What training raises: a bad setting, or a run whose numbers stopped being finite."""

from __future__ import annotations

from ..errors import BPStudioError


class TrainingError(BPStudioError, ValueError):
    """Training cannot start or go on: no loss, an input bound to nothing, a bad setting."""


class DivergenceError(TrainingError):
    """A loss, value or gradient became non-finite (or beyond 1e154, where squaring overflows).
    ``node`` names the first node, in forward order, at fault and ``kind`` says what went bad:
    its "value" or its "gradient"; or ``kind`` is "update" and ``node`` is the parameter whose
    proposed update was that large while every value and gradient was still in range."""

    def __init__(self, message: str, step: int, node: str, kind: str):
        super().__init__(message)
        self.step = step
        self.node = node
        self.kind = kind
