"""What an op is: ports, typed parameters, shape rule, forward, backward, and words for people.

Every op in the app is one subclass of :class:`Op` registered with :func:`register`. The palette,
the inspector, the file loader, the engine and the gradient-check test all read this one registry,
so an op added here appears in all of them without further code.

The exports are the exception: an ONNX converter (``CONVERTERS`` in ``files/export_onnx.py``) and
a NumPy expression (``EXPRESSIONS`` in ``files/export_numpy.py``) are written per op. Without
them, exporting a graph that uses the op is refused with a message naming the node, and the
export tests fail until the op gets both or is listed in their ``NOT_EXPORTED_TO_*`` sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import rules
from ..shapes import Shape

SOURCES = "Sources"
ARITHMETIC = "Arithmetic"
ACTIVATIONS = "Activations"
LOSSES = "Losses"
GROUPS = (SOURCES, ARITHMETIC, ACTIVATIONS, LOSSES)


@dataclass(frozen=True)
class Port:
    """An input port. ``domain`` says which values make sense there (used to sample test data
    and to explain the port); a port that is not ``differentiable`` (class labels) gets no gradient."""

    name: str
    doc: str = ""
    domain: str = "real"  # real | positive | unit (0..1) | label (integer class index)
    differentiable: bool = True


def _parse_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        value = [p for p in (s.strip() for s in text.split(",")) if p]
    try:
        dims = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a shape (a list of whole numbers such as 3, 4)") from None
    if any(d < 1 for d in dims) or any(isinstance(d, bool) for d in value):
        raise ValueError(f"{value!r} is not a shape: every dimension must be a whole number >= 1")
    problem = rules.shape_problem(dims)
    if problem is not None:  # a project file could not hold it
        raise ValueError(f"{value!r} is not a shape: {problem}")
    return dims


@dataclass(frozen=True)
class Param:
    """A typed op parameter. ``kind`` is one of float, int, bool, choice, shape, axis
    (an int, or None for "all axes"). The inspector builds its editor from these fields."""

    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ValueError saying why."""
        label = f"parameter '{self.name}'"
        if self.kind == "float":
            if isinstance(value, bool):
                raise ValueError(f"{label} must be a number, not {value!r}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{label} must be a number, not {value!r}") from None
            except OverflowError:  # an int beyond a float's range
                raise ValueError(f"{label} must be a finite number, not {value!r}") from None
            if not np.isfinite(number):
                raise ValueError(f"{label} must be a finite number, not {value!r}")
            self._check_range(number, label)
            return number
        if self.kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{label} must be a whole number, not {value!r}")
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{label} must be a whole number, not {value!r}") from None
            self._check_range(number, label)
            return number
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ValueError(f"{label} must be true or false, not {value!r}")
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{label} must be one of {', '.join(self.choices)}; got {value!r}")
            return value
        if self.kind == "shape":
            try:
                return _parse_shape(value)
            except ValueError as exc:
                raise ValueError(f"{label}: {exc}") from None
        if self.kind == "axis":
            if value is None or value == "all":
                return None
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{label} must be a whole number or None (all axes), not {value!r}")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{label} must be a whole number or None (all axes), not {value!r}") from None
        raise AssertionError(f"unknown parameter kind {self.kind!r}")

    def _check_range(self, number: float, label: str) -> None:
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"{label} must be >= {self.minimum}, not {number}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"{label} must be <= {self.maximum}, not {number}")


class Context:
    """One node's memory between its forward and its backward (the node "remembers its inputs").

    A context lives as long as the compiled plan, so :meth:`buffer` can hand an op the same
    array every step. Writing results into reused arrays (``out=``) instead of fresh temporaries
    is what keeps the engine fast: on a typical Linux machine every new array of a few hundred
    kilobytes costs page faults, often more than the arithmetic that fills it.
    """

    __slots__ = ("saved", "needs_input_grad", "_buffers")

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.saved: tuple = ()
        self.needs_input_grad = needs_input_grad
        self._buffers: dict[str, np.ndarray] = {}

    def save(self, *values: Any) -> None:
        self.saved = values

    def buffer(self, key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised array for this node's result ``key``, reused while the shape holds.
        Its contents are overwritten by the next step: the engine hands out copies where needed."""
        array = self._buffers.get(key)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._buffers[key] = np.empty(shape, dtype)
        return array

    def replace_buffer(self, array: np.ndarray, replacement: np.ndarray) -> bool:
        """Hand out ``replacement`` (same shape and dtype) wherever :meth:`buffer` handed out
        ``array`` so far, so that the op writes that result straight into an array its caller
        owns. Returns whether ``array`` was one of this context's buffers."""
        if replacement.shape != array.shape or replacement.dtype != array.dtype:
            return False
        for key, buffer in self._buffers.items():
            if buffer is array:
                self._buffers[key] = replacement
                return True
        return False


class Op:
    """Base of every op. Subclasses set the class attributes and, unless they are sources,
    implement the three static methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    group: ClassVar[str]
    doc: ClassVar[str]
    derivative: ClassVar[str]
    inputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ("out",)
    # source kind: "input", "parameter" or "constant"; None for ops that compute
    source: ClassVar[str | None] = None
    is_loss: ClassVar[bool] = False
    # Input shapes this op must handle ("N" is the batch). The registry-wide gradient-check
    # test runs every case with a batch of 1 and of 4.
    examples: ClassVar[tuple[tuple[Shape, ...], ...]] = ()

    @staticmethod
    def infer_shape(*shapes: Shape, **params: Any) -> Shape:
        raise NotImplementedError

    @staticmethod
    def forward(ctx: Context, *inputs: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def input_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.inputs)

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}


REGISTRY: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: make ``cls`` known to the app under ``cls.name``."""
    if cls.name in REGISTRY:
        raise ValueError(f"op {cls.name!r} registered twice")
    if cls.group not in GROUPS:
        raise ValueError(f"op {cls.name!r} has unknown group {cls.group!r}")
    REGISTRY[cls.name] = cls
    return cls


