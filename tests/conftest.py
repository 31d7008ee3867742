import os

# GUI tests run without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


def unary_test_op(name: str, doc: str, derivative: str, forward, backward):
    """An elementwise op class for a test double: ``forward(x)`` and ``backward(x, grad)``."""
    from bpstudio.core.ops.base import ARITHMETIC, Op, Port

    class TestOp(Op):
        title = name.replace("_", " ").capitalize()
        group = ARITHMETIC
        inputs = (Port("x"),)

        @staticmethod
        def infer_shape(x, **params):
            return x

        @staticmethod
        def forward(ctx, x):
            ctx.save(x.copy())
            return forward(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            return (backward(x, grad),)

    TestOp.name, TestOp.doc, TestOp.derivative = name, doc, derivative
    return TestOp


def registered(op):
    """Register ``op`` for one test and remove it afterwards (a generator for fixtures)."""
    from bpstudio.core.ops import REGISTRY

    REGISTRY[op.name] = op
    try:
        yield op.name
    finally:
        del REGISTRY[op.name]


@pytest.fixture
def broken_square_op():
    """An op squaring its input whose backward forgets the factor 2 (a gradient check must
    call it wrong)."""
    yield from registered(unary_test_op(
        "broken_square_test", "Squares its input; its backward is wrong on purpose.",
        "d (x²)/dx = x (wrong: should be 2x)", lambda x: x * x, lambda x, grad: grad * x))


@pytest.fixture
def op_without_exports():
    """An op doubling its input that no exporter knows."""
    yield from registered(unary_test_op(
        "no_export_test", "Doubles its input; no exporter knows it.", "d (2x)/dx = 2",
        lambda x: 2.0 * x, lambda x, grad: 2.0 * grad))
