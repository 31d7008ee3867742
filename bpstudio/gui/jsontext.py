"""JSON typed or pasted by a person, read with a bound on how deeply it nests.

Python's json module parses nested arrays and objects recursively, so text such as 100,000
opening brackets (a few keystrokes with a key held down, or a clipboard anyone can fill) raises
RecursionError instead of a ValueError. The depth is measured first, in one linear pass over the
brackets and quotes, and text nested deeper than asked is refused with a message.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than anything Backprop Studio writes: a copied node's value (an array of at most
# 32 dimensions) sits 4 levels down in the clipboard's JSON. Far below the recursion limit.
MAX_NESTING = 64

_SPECIAL = re.compile(r'[\[\]{}"\\]')


def nesting_depth(text: str, stop_above: int | None = None) -> int:
    """How deeply ``text`` nests arrays and objects (brackets inside strings do not count).
    With ``stop_above``, counting stops once the depth exceeds it."""
    depth = deepest = 0
    in_string = False
    escaped = -1  # the position of a character a backslash escapes
    for match in _SPECIAL.finditer(text):
        at = match.start()
        if at == escaped:
            continue
        char = text[at]
        if in_string:
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


class NestingError(ValueError):
    """JSON text nested deeper than the reader takes."""


def loads(text: str, max_depth: int = MAX_NESTING, **options: Any) -> Any:
    """``json.loads(text, **options)`` for text nested at most ``max_depth`` deep; deeper text
    raises :class:`NestingError`, malformed text ValueError, as json does."""
    if nesting_depth(text, stop_above=max_depth) > max_depth:
        raise NestingError(f"nested more than {max_depth} levels deep")
    return json.loads(text, **options)
