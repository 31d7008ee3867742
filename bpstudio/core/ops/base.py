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

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import rules
from ..rules import shown  # re-exported: the GUI quotes values the same way
from ..errors import ParamError
from ..shapes import Shape

SOURCES = "Sources"
ARITHMETIC = "Arithmetic"
ACTIVATIONS = "Activations"
LOSSES = "Losses"
GROUPS = (SOURCES, ARITHMETIC, ACTIVATIONS, LOSSES)


# The values that make sense at a port, in words for messages. A loss's target port says
# which targets the loss takes, and a Trainer checks the data against it before training.
DOMAINS = {
    "real": "finite numbers",
    "positive": "numbers > 0",
    "unit": "numbers from 0 to 1",
    "label": "class indices (whole numbers from 0)",
}


@dataclass(frozen=True)
class Port:
    """An input port. ``domain`` (a key of DOMAINS) says which values make sense there: it
    samples test data, explains the port, and at a loss's target port is what the data are
    checked against. A port that is not ``differentiable`` (class labels) gets no gradient."""

    name: str
    doc: str = ""
    domain: str = "real"  # real | positive | unit (0..1) | label (integer class index)
    differentiable: bool = True


def outside_domain(domain: str, values: np.ndarray, classes: int | None = None) -> np.ndarray:
    """Which of ``values`` do not belong to ``domain`` (a boolean array of their shape). For
    "label", ``classes`` (when known) bounds the indices from above."""
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if domain == "positive":
            bad |= ~(values > 0)
        elif domain == "unit":
            bad |= (values < 0) | (values > 1)
        elif domain == "label":
            bad |= (values < 0) | (values != np.floor(values))
            if classes is not None:
                bad |= values >= classes
        elif domain != "real":
            raise ValueError(f"unknown port domain {domain!r}; known: {', '.join(DOMAINS)}")
    return bad


def domain_text(domain: str, classes: int | None = None) -> str:
    """The values of ``domain`` in words: "numbers from 0 to 1", "class indices 0 to 2"."""
    if domain == "label" and classes is not None:
        return f"class indices from 0 to {classes - 1}"
    return DOMAINS[domain]


# Bounds that every parameter coercion applies, whatever the op says. Values come from people
# typing and from files and clipboards anyone can write, and a number that converts without
# complaint can still fail where it is used: a 400-digit whole number overflows NumPy's C
# integers, and a uniform initialiser's bound of 1e308 overflows the range it draws from.
MAX_WHOLE = rules.MAX_DIMENSION  # whole numbers: what a C int and a Qt spin box hold
MAX_REAL = 1e100           # real numbers: far above any meaningful setting, far below overflow
MAX_DIMS = rules.MAX_RANK  # dimensions of a shape, and the range of an axis (NumPy 1.x's limit)
MAX_TEXT = 1000            # characters of a typed number or shape


def _text(value: str, label: str) -> str:
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise ParamError(f"{label}: {len(text):,} characters is too long for a number or shape")
    return text


def _real(value: Any, label: str) -> float:
    """``value`` (a real number, or text of one) as a float, finite and within +-MAX_REAL."""
    if isinstance(value, (bool, np.bool_)):
        raise ParamError(f"{label} must be a number, not {value!r}")
    if isinstance(value, str):
        try:
            number = float(_text(value, label))
        except ValueError:
            raise ParamError(f"{label} must be a number, not {shown(value)}") from None
    elif isinstance(value, numbers.Real):
        # Compared before converting: float() of a huge whole number raises OverflowError.
        if isinstance(value, numbers.Integral) and abs(int(value)) > MAX_REAL:
            raise ParamError(f"{label} must be between {-MAX_REAL:g} and {MAX_REAL:g}, not "
                             f"{shown(value)}")
        try:
            number = float(value)
        except (OverflowError, ValueError):  # e.g. a Fraction beyond the float range
            raise ParamError(f"{label} must be between {-MAX_REAL:g} and {MAX_REAL:g}, not "
                             f"{shown(value)}") from None
    else:
        raise ParamError(f"{label} must be a number, not {shown(value)}")
    # (Text of a number beyond the float range, such as 400 digits, reads as inf: out of
    # range, not "not finite".)
    typed_inf = isinstance(value, str) and "inf" in value.lower()
    if math.isnan(number) or (math.isinf(number) and (typed_inf or not isinstance(value, str))):
        raise ParamError(f"{label} must be a finite number, not {shown(value)}")
    if abs(number) > MAX_REAL:
        raise ParamError(f"{label} must be between {-MAX_REAL:g} and {MAX_REAL:g}, not "
                         f"{shown(value)}")
    return number


def _whole(value: Any, label: str, what: str = "a whole number") -> int:
    """``value`` (a whole number, a float with no fraction, or text of a whole number) as an
    int; the caller checks its range."""
    if isinstance(value, (bool, np.bool_)):
        raise ParamError(f"{label} must be {what}, not {value!r}")
    if isinstance(value, str):
        try:
            return int(_text(value, label))
        except ValueError:  # also text beyond Python's digit limit for int()
            raise ParamError(f"{label} must be {what}, not {shown(value)}") from None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            as_float = float(value)
        except OverflowError:  # a Fraction beyond the float range
            as_float = math.inf
        if as_float.is_integer():  # not inf or NaN, which int() cannot convert
            return int(as_float)
    raise ParamError(f"{label} must be {what}, not {shown(value)}")


def _parse_shape(value: Any, label: str) -> tuple[int, ...]:
    what = "a shape (a list of whole numbers such as 3, 4)"
    if isinstance(value, str):
        text = _text(value, label).strip("()[]")
        parts: list[Any] = [p for p in (s.strip() for s in text.split(",")) if p]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, np.ndarray) and value.ndim == 1:
        parts = value.tolist()
    else:
        raise ParamError(f"{label} must be {what}, not {shown(value)}")
    if len(parts) > MAX_DIMS:
        raise ParamError(f"{label}: a shape has at most {MAX_DIMS} dimensions, not {len(parts)}")
    dims = tuple(_whole(d, label, what) for d in parts)
    if any(d < 1 for d in dims):
        raise ParamError(f"{label} is not a shape: every dimension must be a whole number >= 1, "
                         f"not {shown(value)}")
    big = next((d for d in dims if d > MAX_WHOLE), None)
    if big is not None:
        raise ParamError(f"{label}: every dimension must be at most {MAX_WHOLE}, not "
                         f"{shown(big)}")
    return dims  # (within rules.shape_problem's bounds: the checks above are the same ones)


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
        """Return ``value`` converted to this parameter's type, or raise :class:`ParamError`
        (a ValueError) saying why. Whatever ``value`` is (nested, huge, of any type), nothing
        else is raised: every number that comes back is within the bounds above."""
        label = f"parameter '{self.name}'"
        try:
            return self._coerce(value, label)
        except ParamError:
            raise
        except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            # A last guard: a check above that missed a case still gives a message.
            raise ParamError(f"{label} cannot take {shown(value)} ({exc})") from None

    def _coerce(self, value: Any, label: str) -> Any:
        if self.kind == "float":
            number = _real(value, label)
            self._check_range(number, label)
            return number
        if self.kind == "int":
            number = _whole(value, label)
            self._check_range(number, label)
            if abs(number) > MAX_WHOLE:
                raise ParamError(f"{label} must be a whole number from {-MAX_WHOLE} to "
                                 f"{MAX_WHOLE}, not {shown(number)}")
            return number
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ParamError(f"{label} must be true or false, not {shown(value)}")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise ParamError(f"{label} must be one of {', '.join(self.choices)}; got "
                             f"{shown(value)}")
        if self.kind == "shape":
            return _parse_shape(value, label)
        if self.kind == "axis":
            if value is None or (isinstance(value, str) and value.strip() == "all"):
                return None
            what = "a whole number or None (all axes)"
            axis = _whole(value, label, what)
            if not -MAX_DIMS <= axis < MAX_DIMS:
                raise ParamError(f"{label} must be {what} from {-MAX_DIMS} to {MAX_DIMS - 1}, "
                                 f"not {shown(axis)}")
            return axis
        raise AssertionError(f"unknown parameter kind {self.kind!r}")

    def _check_range(self, number: float, label: str) -> None:
        if self.minimum is not None and number < self.minimum:
            raise ParamError(f"{label} must be >= {self.minimum}, not {shown(number)}")
        if self.maximum is not None and number > self.maximum:
            raise ParamError(f"{label} must be <= {self.maximum}, not {shown(number)}")


class Context:
    """One node's memory between its forward and its backward (the node "remembers its inputs").

    A context lives as long as the compiled plan, so :meth:`buffer` can hand an op the same
    array every step. Writing results into reused arrays (``out=``) instead of fresh temporaries
    is what keeps the engine fast: on a typical Linux machine every new array of a few hundred
    kilobytes costs page faults, often more than the arithmetic that fills it.
    """

    __slots__ = ("saved", "needs_input_grad", "overwrite_input", "overwrite_grad", "kept",
                 "_buffers")

    def __init__(self, needs_input_grad: tuple[bool, ...], overwrite_input: bool = False,
                 overwrite_grad: bool = False):
        self.saved: tuple = ()
        self.needs_input_grad = needs_input_grad
        # Set by an engine that keeps only the values and gradients someone reads (see
        # Engine's ``gradients="parameters"``), where nothing else holds the array:
        # forward may write its result over its first input's array (an op that says it can,
        # ``Op.writes_over_input``), backward its input's gradient over the gradient it got
        # (``Op.writes_over_grad``). Each saves a pass that writes a fresh array.
        self.overwrite_input = overwrite_input
        self.overwrite_grad = overwrite_grad
        # What an op keeps from pass to pass, so as not to work it out again at every step: a
        # loss, the labels it checked (with what tells whether they are still the same); a
        # ReLU, the row of zeros it compares with.
        self.kept: Any = None
        self._buffers: dict[str, np.ndarray] = {}

    def save(self, *values: Any) -> None:
        self.saved = values

    def result(self, key: str, first: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Where forward writes its result: over ``first`` (its first input) when the engine
        allows it and the result has that array's shape and dtype, else in its reused
        array ``key``."""
        if (self.overwrite_input and type(first) is np.ndarray and first.shape == shape
                and first.dtype == dtype):
            return first
        return self.buffer(key, shape, dtype)

    def buffer(self, key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised array for this node's result ``key``, reused while the shape holds.
        Its contents are overwritten by the next step: the engine hands out copies where needed."""
        try:
            array = self._buffers[key]  # (indexed, not .get: no call on the common path)
        except KeyError:
            array = None
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
    # Whether the gradient is the incoming one times a local derivative, element by element
    # (no Jacobian mixes elements): then the walkthrough can show that derivative's numbers.
    elementwise: ClassVar[bool] = False
    # A loss's input port that takes the target (its index in ``inputs``): that port's domain
    # states which targets the loss takes. Every loss must name one (see register).
    target_input: ClassVar[int | None] = None
    # Input shapes this op must handle ("N" is the batch). The registry-wide gradient-check
    # test runs every case with a batch of 1 and of 4.
    examples: ClassVar[tuple[tuple[Shape, ...], ...]] = ()
    # What an engine that keeps only what someone reads may do in place (see Context):
    # - ``own_value``: the value is an array of the op's own that its backward never reads,
    #   so the op it feeds (when it feeds only one) may write over it;
    # - ``writes_over_input``: forward can write its result over its first input, whose old
    #   value its backward never reads;
    # - ``hands_back_own``: each gradient backward hands back is an array of its own that
    #   nothing else holds, so the op it goes to may write over it;
    # - ``writes_over_grad``: backward can write its input's gradient over the one it got.
    own_value: ClassVar[bool] = False
    writes_over_input: ClassVar[bool] = False
    hands_back_own: ClassVar[bool] = False
    writes_over_grad: ClassVar[bool] = False

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
        # Kept with the ports they were read from (asked for every node of every pass over a
        # graph; an op's ports are fixed, but kept honest should a class be given others).
        known = cls.__dict__.get("_input_names")
        if known is None or known[0] is not cls.inputs:
            known = (cls.inputs, tuple(p.name for p in cls.inputs))
            cls._input_names = known
        return known[1]

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}

    @classmethod
    def target_port(cls) -> Port | None:
        """A loss's target port (None for other ops); its ``domain`` is what targets must be."""
        return None if cls.target_input is None else cls.inputs[cls.target_input]


REGISTRY: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: make ``cls`` known to the app under ``cls.name``."""
    if cls.name in REGISTRY:
        raise ValueError(f"op {cls.name!r} registered twice")
    if cls.group not in GROUPS:
        raise ValueError(f"op {cls.name!r} has unknown group {cls.group!r}")
    unknown = [p.domain for p in cls.inputs if p.domain not in DOMAINS]
    if unknown:
        raise ValueError(f"op {cls.name!r} has a port of unknown domain {unknown[0]!r}")
    if cls.is_loss and not (isinstance(cls.target_input, int)
                            and 0 <= cls.target_input < len(cls.inputs)):
        raise ValueError(f"loss {cls.name!r} must say which input takes the target "
                         "(target_input)")
    REGISTRY[cls.name] = cls
    return cls


