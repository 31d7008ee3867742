"""The op registry: every operation the app knows, keyed by a stable name.

Importing the op modules registers their ops; the order here is the palette's order.
"""

from ..errors import GraphError
from . import sources  # noqa: F401  (registers input, parameter, constant)
from . import arithmetic  # noqa: F401
from . import reshaping  # noqa: F401  (transpose, flatten: what ONNX models need)
from . import activations  # noqa: F401
from . import losses  # noqa: F401
from .base import GROUPS, REGISTRY, Context, Op, Param, Port, register


def get_op(name: str) -> type[Op]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise GraphError(f"unknown op '{name}'") from None


__all__ = ["GROUPS", "REGISTRY", "Context", "Op", "Param", "Port", "get_op", "register"]
