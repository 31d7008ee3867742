"""What a project may hold: the one definition of allowed node names, node ids, descriptions
and canvas positions.

The editing API (:class:`~bpstudio.core.graph.Graph`, :class:`~bpstudio.core.project.Project`)
refuses an edit that breaks these rules, the project file's schema says the same thing (a test
compares ``graph.schema.json`` with :data:`SCHEMA_DEFS`, so the two cannot drift apart), and
the exports check them again. Whatever the editing API accepts can therefore be saved, opened
again and exported.
"""

from __future__ import annotations

import math
import numbers
import re
import reprlib
from typing import Any

from .errors import GraphError

# A name must be usable as an ONNX tensor name, a key of the NumPy export's weight file and a
# word in generated code: ASCII letters, digits, _ . - and a letter or _ first.
NAME_CHARACTERS = r"[A-Za-z_][A-Za-z0-9_.\-]*"
# For JSON Schema: "(?![\s\S])" means "end of text" in ECMA-262 and in Python alike, where
# "$" also matches before a final newline in Python (and so in the jsonschema package): a name
# "x\n" passed such a check and then broke the NumPy export's code.
NAME_PATTERN = f"^{NAME_CHARACTERS}(?![\\s\\S])"
MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 100_000
# Shapes (an input's sample shape, a parameter's shape, a value's shape): what a .npy header
# in a project file may say.
MAX_RANK = 32
MAX_DIMENSION = 2**31 - 1

_NAME = re.compile(NAME_CHARACTERS)

# The same rules as JSON Schema, for graph.schema.json's $defs.
SCHEMA_DEFS: dict[str, dict[str, Any]] = {
    "node_name": {"type": "string", "pattern": NAME_PATTERN, "minLength": 1,
                  "maxLength": MAX_NAME_LENGTH},
    "node_id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
    "description": {"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH},
    # A typed op parameter (the op registry says which of these each one takes); a list is a
    # shape.
    "param_value": {"anyOf": [
        {"type": ["null", "boolean", "number", "string"]},
        {"type": "array", "maxItems": MAX_RANK,
         "items": {"type": "integer", "minimum": 1, "maximum": MAX_DIMENSION}},
    ]},
    # JSON has no infinite numbers; the loader also refuses 1e400, which Python reads as inf.
    "position": {"anyOf": [
        {"type": "null"},
        {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
    ]},
}


SHOWN_LENGTH = 80  # characters of a value quoted in a message


class _Shown(reprlib.Repr):
    """reprlib's short repr, and a whole number of many digits by its size (Python refuses to
    write out one of more than 4,300 digits, even inside a list)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 3, 40, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4

    def repr_int(self, x: int, level: int) -> str:
        if abs(x) < 10**20:
            return repr(x)
        size = abs(x)
        digits = int((size.bit_length() - 1) * math.log10(2)) + 1  # exact, or one short
        digits += size >= 10**digits
        return f"a whole number of {digits} digits"


_SHOWN = _Shown()


def shown(value: Any) -> str:
    """``value`` as a message quotes it: short, whatever its size or nesting (``repr`` of a
    deeply nested list recurses, and a 5,000-digit whole number has no ``repr`` at all)."""
    text = _SHOWN.repr(value)  # (reprlib stands in for a repr that fails)
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 3] + "..."


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a node (whatever the other names), or None when it can."""
    if not isinstance(name, str):
        return f"a node name must be text, not {type(name).__name__}"
    if len(name) > MAX_NAME_LENGTH:
        return (f"the name {shown(name)} has {len(name)} characters; a node name may have at "
                f"most {MAX_NAME_LENGTH}")
    if not _NAME.fullmatch(name):
        return (f"{shown(name)} is not a valid node name: use letters, digits, _ . - and "
                "start with a letter or _")
    return None


def id_problem(node_id: Any) -> str | None:
    """Why ``node_id`` cannot be a node's id, or None when it can."""
    if not isinstance(node_id, str):
        return f"a node id must be text, not {type(node_id).__name__}"
    if not 1 <= len(node_id) <= MAX_ID_LENGTH:
        return (f"the node id {shown(node_id)} has {len(node_id)} characters; an id has "
                f"1 to {MAX_ID_LENGTH}")
    return None


def description_problem(text: Any) -> str | None:
    """Why ``text`` cannot be a project's description, or None when it can."""
    if not isinstance(text, str):
        return f"the description must be text, not {type(text).__name__}"
    if len(text) > MAX_DESCRIPTION_LENGTH:
        return (f"the description has {len(text):,} characters; at most "
                f"{MAX_DESCRIPTION_LENGTH:,} are allowed")
    return None


def as_position(position: Any) -> tuple[float, float] | None:
    """``position`` as an (x, y) pair of finite floats (or None for "not placed yet"); raises
    GraphError naming the field otherwise."""
    if position is None:
        return None
    try:
        x, y = position
    except (TypeError, ValueError):
        raise GraphError(f"position must be an (x, y) pair of numbers, not "
                         f"{shown(position)}") from None
    if type(x) is float and type(y) is float and math.isfinite(x) and math.isfinite(y):
        return (x, y)  # (what the layout, the canvas and the file give: no more to check)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (x, y)):
        raise GraphError(f"position must be an (x, y) pair of numbers, not {shown(position)}")
    try:
        pair = (float(x), float(y))
    except OverflowError:  # an int too large for a float
        raise GraphError(f"position must be finite, not {shown(position)}") from None
    if not (math.isfinite(pair[0]) and math.isfinite(pair[1])):
        raise GraphError(f"position must be finite, not {shown(position)}")
    return pair


def shape_problem(shape: tuple[int, ...]) -> str | None:
    """Why a shape (of whole numbers >= 1) cannot be stored, or None when it can."""
    if len(shape) > MAX_RANK:
        return f"a shape may have at most {MAX_RANK} dimensions, not {len(shape)}"
    if any(d > MAX_DIMENSION for d in shape):
        return f"every dimension of a shape must be at most {MAX_DIMENSION:,}"
    return None


def check(problem: str | None, where: str = "") -> None:
    """Raise GraphError with ``problem`` (prefixed by ``where``) unless it is None."""
    if problem is not None:
        raise GraphError(f"{where}: {problem}" if where else problem)


def truncated_name(stem: str, suffix: str) -> str:
    """``stem + suffix``, with the stem shortened so that the result stays a valid length (a
    name made unique by a suffix must still be a name)."""
    room = MAX_NAME_LENGTH - len(suffix)
    return stem[:max(room, 1)] + suffix


__all__ = ["MAX_DESCRIPTION_LENGTH", "MAX_ID_LENGTH", "MAX_NAME_LENGTH", "NAME_PATTERN",
           "MAX_DIMENSION", "MAX_RANK", "SCHEMA_DEFS", "as_position", "check",
           "description_problem", "id_problem", "name_problem", "shape_problem", "truncated_name"]
