import os

# GUI tests run without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture
def broken_square_op():
    """An op squaring its input whose backward forgets the factor 2: registered for the test
    (a gradient check must call it wrong), removed afterwards."""
    from bpstudio.core.ops import REGISTRY
    from bpstudio.core.ops.base import ARITHMETIC, Op, Port

    class BrokenSquare(Op):
        name = "broken_square_test"
        title = "Broken square (test)"
        group = ARITHMETIC
        doc = "Squares its input; its backward is wrong on purpose."
        derivative = "d (x²)/dx = x (wrong: should be 2x)"
        inputs = (Port("x"),)

        @staticmethod
        def infer_shape(x, **params):
            return x

        @staticmethod
        def forward(ctx, x):
            ctx.save(x.copy())
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            return (grad * x,)

    REGISTRY[BrokenSquare.name] = BrokenSquare
    try:
        yield BrokenSquare.name
    finally:
        del REGISTRY[BrokenSquare.name]
