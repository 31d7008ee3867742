"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from bpstudio.core.ops import REGISTRY
from bpstudio.core.ops.base import ARITHMETIC, Op, Port


@pytest.fixture
def op_without_exports():
    """A registered op (doubling its input) that no exporter knows: registered for the test,
    removed afterwards."""

    class NoExport(Op):
        name = "no_export_test"
        title = "No export (test)"
        group = ARITHMETIC
        doc = "Doubles its input; no exporter knows it."
        derivative = "d (2x)/dx = 2"
        inputs = (Port("x"),)

        @staticmethod
        def infer_shape(x, **params):
            return x

        @staticmethod
        def forward(ctx, x):
            return 2.0 * x

        @staticmethod
        def backward(ctx, grad):
            return (2.0 * grad,)

    REGISTRY[NoExport.name] = NoExport
    try:
        yield NoExport.name
    finally:
        del REGISTRY[NoExport.name]
