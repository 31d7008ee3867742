"""JSON Schemas of the project file's JSON entries, and the validator the loader runs them with.

The schemas (``manifest.schema.json``, ``graph.schema.json``) are standard JSON Schema (draft
2020-12) restricted to the keywords listed in :data:`KEYWORDS`. The core may import only NumPy
and the standard library, so instead of a third-party validator this module implements exactly
that subset; a schema that uses any other keyword is refused when it is read, so the files can
never claim a check that is not made.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

# Annotations carry no constraint; every other keyword here is enforced by SchemaValidator.
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "$defs"})
KEYWORDS = ANNOTATIONS | frozenset({
    "$ref", "type", "enum", "const", "anyOf",
    "properties", "required", "additionalProperties", "propertyNames", "minProperties",
    "maxProperties", "items", "minItems", "maxItems",
    "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum",
})
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
MAX_DEPTH = 200  # a document nested deeper than this is refused rather than recursed into


class SchemaViolation(ValueError):
    """A document that does not match its schema; ``path`` says where (``nodes[3].params``)."""

    def __init__(self, path: str, message: str, depth: int = 0):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message
        self.depth = depth  # how many keys deep ``path`` goes


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class SchemaValidator:
    """Checks documents (parsed JSON) against one schema; raises :class:`SchemaViolation`."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._check_schema(schema, "#")
        self._compiled: dict[int, Check] = {}
        self._root = self._compile(schema)
        self._tests: dict[int, Test] = {}
        self._root_test = self._compile_test(schema)

    # ---------------------------------------------------------------------- schema itself
    def _check_schema(self, schema: Any, where: str) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise ValueError(f"schema at {where} is not an object")
        unknown = set(schema) - KEYWORDS
        if unknown:
            raise ValueError(f"schema at {where} uses unsupported keyword(s) {sorted(unknown)}")
        types = schema.get("type")
        for t in [types] if isinstance(types, str) else (types or []):
            if t not in TYPES:
                raise ValueError(f"schema at {where} names unknown type {t!r}")
        if "$ref" in schema:
            self._resolve(schema["$ref"])
        if "pattern" in schema:
            _pattern(schema["pattern"])
        for key in ("properties", "$defs"):
            for name, sub in schema.get(key, {}).items():
                self._check_schema(sub, f"{where}/{key}/{name}")
        for key in ("items", "additionalProperties", "propertyNames"):
            if key in schema:
                self._check_schema(schema[key], f"{where}/{key}")
        for i, sub in enumerate(schema.get("anyOf", [])):
            self._check_schema(sub, f"{where}/anyOf/{i}")

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, not {ref!r}")
        target: Any = self.schema
        for part in ref[2:].split("/"):
            try:
                target = target[part]
            except (KeyError, TypeError):
                raise ValueError(f"reference {ref!r} points nowhere") from None
        return target

    # ------------------------------------------------------------------------- documents
    def validate(self, document: Any) -> None:
        """Raise :class:`SchemaViolation` saying where and why ``document`` does not match.
        It is first tested as a whole (see :meth:`_compile_test`); only a document that fails
        is checked again step by step (:meth:`explain`), for the message."""
        if not self._root_test(document, 0):
            violation = self.explain(document)
            if violation is not None:
                raise violation

    def is_valid(self, document: Any) -> bool:
        return self._root_test(document, 0)

    def explain(self, document: Any) -> SchemaViolation | None:
        """The first violation, found step by step, or None for a valid document."""
        try:
            self._root(document, None, 0)
        except SchemaViolation as exc:
            return exc
        return None

    # The schema is compiled once into nested checks, one per schema object, each running the
    # tests its keywords call for: a project file of 200,000 nodes is checked several times
    # faster than by looking the keywords up in every node of the document. A check takes the
    # value, its path (None for the document, else a (parent path, key) pair, turned into
    # text only for a message) and the depth.
    def _compile(self, schema: Any) -> Check:
        known = self._compiled.get(id(schema))
        if known is not None:
            return known
        if schema is True:
            def check(value: Any, path: Path, depth: int) -> None:
                return None
        elif schema is False:
            def check(value: Any, path: Path, depth: int) -> None:
                raise _violation(path, "is not allowed here")
        else:
            parts: list[Check] = []

            def check(value: Any, path: Path, depth: int) -> None:
                if depth > MAX_DEPTH:
                    raise _violation(path, f"nested more than {MAX_DEPTH} levels deep")
                for part in parts:
                    part(value, path, depth)
            # Registered before its parts are made, so that a schema reached again through
            # $ref (the recursive tree) finds this check instead of compiling forever.
            self._compiled[id(schema)] = check
            parts.extend(self._parts(schema))
        self._compiled[id(schema)] = check
        return check

    def _parts(self, schema: dict) -> list[Check]:
        """The tests of one schema object, in the order the keywords are checked."""
        parts: list[Check] = []
        if "$ref" in schema:
            target = self._compile(self._resolve(schema["$ref"]))
            parts.append(lambda value, path, depth: target(value, path, depth + 1))
        if "type" in schema:
            parts.append(_type_test(schema["type"]))
        if "const" in schema:
            const = schema["const"]

            def const_test(value: Any, path: Path, depth: int) -> None:
                if not _same(value, const):
                    raise _violation(path, f"must be {json.dumps(const)}")
            parts.append(const_test)
        if "enum" in schema:
            options = schema["enum"]

            def enum_test(value: Any, path: Path, depth: int) -> None:
                if not any(_same(value, option) for option in options):
                    allowed = ", ".join(json.dumps(option) for option in options)
                    raise _violation(path, f"must be one of {allowed}, got {_short(value)}")
            parts.append(enum_test)
        if "anyOf" in schema:
            choices = [self._compile(option) for option in schema["anyOf"]]

            def any_of_test(value: Any, path: Path, depth: int) -> None:
                failures = []
                for choice in choices:
                    try:
                        choice(value, path, depth + 1)
                        return
                    except SchemaViolation as exc:
                        failures.append(exc)
                # A form that got past this value into its fields knew what the value was
                # meant to be: its complaint names the field at fault.
                deepest = max(failures, key=lambda exc: exc.depth)
                if deepest.depth > _path_depth(path):
                    raise deepest
                raise _violation(path, "matches none of the allowed forms ("
                                 + "; ".join(dict.fromkeys(f.reason for f in failures)) + ")")
            parts.append(any_of_test)
        parts += [test for test in (_string_test(schema), _number_test(schema),
                                    self._array_test(schema), self._object_test(schema))
                  if test is not None]
        return parts

    def _array_test(self, schema: dict) -> Check | None:
        low, high = schema.get("minItems"), schema.get("maxItems")
        items = self._compile(schema["items"]) if "items" in schema else None
        if low is None and high is None and items is None:
            return None

        def array_test(value: Any, path: Path, depth: int) -> None:
            if not isinstance(value, list):
                return
            if low is not None and len(value) < low:
                raise _violation(path, f"must have at least {low} item(s)")
            if high is not None and len(value) > high:
                raise _violation(path, f"must have at most {high} items")
            if items is not None:
                for i, item in enumerate(value):
                    items(item, (path, i), depth + 1)
        return array_test

    def _object_test(self, schema: dict) -> Check | None:
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        required = schema.get("required", [])
        properties = {key: self._compile(sub) for key, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        others = None if extra is False else self._compile(extra)
        names = self._compile(schema["propertyNames"]) if "propertyNames" in schema else None

        def object_test(value: Any, path: Path, depth: int) -> None:
            if not isinstance(value, dict):
                return
            if low is not None and len(value) < low:
                raise _violation(path, f"must have at least {low} field(s)")
            if high is not None and len(value) > high:
                raise _violation(path, f"must have at most {high} fields")
            for key in required:
                if key not in value:
                    raise _violation(path, f"missing required field '{key}'")
            for key, item in value.items():
                where = (path, key)
                if names is not None:
                    names(key, where, depth + 1)
                check = properties.get(key, others)
                if check is None:
                    raise _violation(path, f"unknown field '{key[:40]}'")
                check(item, where, depth + 1)
        return object_test


    # The same schema is compiled a second time into tests that only say whether a value
    # passes: the same rules as the checks above, keyword for keyword, but with no path kept,
    # no message written and no exception raised for a form of an anyOf that does not match.
    # A valid file (every file the program wrote) is accepted several times faster, and its
    # tens of thousands of nodes and wires with it. A test takes the value and the depth.
    def _compile_test(self, schema: Any) -> Test:
        known = self._tests.get(id(schema))
        if known is not None:
            return known
        keywords = None if isinstance(schema, bool) else set(schema) - ANNOTATIONS
        if schema is True or schema is False:
            def test(value: Any, depth: int, result: bool = schema) -> bool:
                return result
        elif keywords == {"$ref"}:  # (most fields: the same test one level down)
            target: Test | None = None

            def test(value: Any, depth: int) -> bool:
                return depth <= MAX_DEPTH and target(value, depth + 1)
            self._tests[id(schema)] = test  # (before its target: see _compile)
            target = self._compile_test(self._resolve(schema["$ref"]))
        elif schema.get("type") == "string" and keywords <= STRING_KEYWORDS:
            test = _plain_string_test(schema)
        else:
            parts: list[Test] = []

            def test(value: Any, depth: int) -> bool:
                if depth > MAX_DEPTH:
                    return False
                for part in parts:
                    if not part(value, depth):
                        return False
                return True
            self._tests[id(schema)] = test  # (before its parts: see _compile)
            parts.extend(self._test_parts(schema))
        self._tests[id(schema)] = test
        return test

    def _test_parts(self, schema: dict) -> list[Test]:
        """The tests of one schema object, as :meth:`_parts` checks them."""
        parts: list[Test] = []
        if "$ref" in schema:
            target = self._compile_test(self._resolve(schema["$ref"]))
            parts.append(lambda value, depth: target(value, depth + 1))
        # A lone "object" or "array" type is tested by the object or array test itself (which
        # then refuses any other value), one call fewer for every object and list.
        container = schema.get("type") if schema.get("type") in ("object", "array") else None
        if "type" in schema and container is None:
            parts.append(_type_accepts(schema["type"]))
        if "const" in schema:
            const = schema["const"]
            parts.append(lambda value, depth: _same(value, const))
        if "enum" in schema:
            options = schema["enum"]
            parts.append(lambda value, depth: any(_same(value, option) for option in options))
        if "anyOf" in schema:
            choices = [self._compile_test(option) for option in schema["anyOf"]]
            parts.append(lambda value, depth: any(choice(value, depth + 1)
                                                  for choice in choices))
        parts += [test for test in (_string_accepts(schema), _number_accepts(schema),
                                    self._array_accepts(schema, container == "array"),
                                    self._object_accepts(schema, container == "object"))
                  if test is not None]
        return parts

    def _array_accepts(self, schema: dict, only: bool) -> Test | None:
        """The array rules; ``only`` arrays pass (the schema's type is "array")."""
        low, high = schema.get("minItems"), schema.get("maxItems")
        items = self._compile_test(schema["items"]) if "items" in schema else None
        if low is None and high is None and items is None and not only:
            return None

        def array_accepts(value: Any, depth: int) -> bool:
            if not isinstance(value, list):
                return not only
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                return False
            if items is not None:
                inner = depth + 1
                for item in value:
                    if not items(item, inner):
                        return False
            return True
        return array_accepts

    def _object_accepts(self, schema: dict, only: bool) -> Test | None:
        """The object rules; ``only`` objects pass (the schema's type is "object")."""
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        required = schema.get("required", [])
        properties = {key: self._compile_test(sub)
                      for key, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        others = None if extra is False else self._compile_test(extra)
        names = self._compile_test(schema["propertyNames"]) if "propertyNames" in schema else None

        def object_accepts(value: Any, depth: int) -> bool:
            if not isinstance(value, dict):
                return not only
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                return False
            for key in required:
                if key not in value:
                    return False
            inner = depth + 1
            for key, item in value.items():
                if names is not None and not names(key, inner):
                    return False
                test = properties.get(key, others)
                if test is None or not test(item, inner):
                    return False
            return True
        return object_accepts


Path = Any  # None for the document itself, else (parent path, key)
Check = Callable[[Any, Path, int], None]
Test = Callable[[Any, int], bool]
_JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number",
               str: "string", list: "array", dict: "object"}


def _path_text(path: Path) -> str:
    keys = []
    while path is not None:
        path, key = path
        keys.append(key)
    text = ""
    for key in reversed(keys):
        text = _join(text, key)
    return text


def _path_depth(path: Path) -> int:
    depth = 0
    while path is not None:
        path = path[0]
        depth += 1
    return depth


def _violation(path: Path, message: str) -> SchemaViolation:
    return SchemaViolation(_path_text(path), message, _path_depth(path))


def _type_test(expected: str | list[str]) -> Check:
    options = [expected] if isinstance(expected, str) else list(expected)
    allowed = set(options)

    def type_test(value: Any, path: Path, depth: int) -> None:
        actual = _JSON_TYPES.get(type(value)) or _type_of(value)
        if actual in allowed or (actual == "integer" and "number" in allowed):
            return
        if actual == "number" and "integer" in allowed and value.is_integer():
            return
        raise _violation(path, f"expected {' or '.join(options)}, got {_type_of(value)}")
    return type_test


STRING_KEYWORDS = frozenset({"type", "minLength", "maxLength", "pattern"})


def _plain_string_test(schema: dict) -> Test:
    """The test of a string schema with only length and pattern rules, in one step."""
    low, high = schema.get("minLength", 0), schema.get("maxLength", math.inf)
    search = _pattern(schema["pattern"]).search if "pattern" in schema else None

    def test(value: Any, depth: int) -> bool:
        return (depth <= MAX_DEPTH and isinstance(value, str) and low <= len(value) <= high
                and (search is None or search(value) is not None))
    return test


def _type_accepts(expected: str | list[str]) -> Test:
    """Whether a value has the type (see :func:`_type_test`)."""
    allowed = {expected} if isinstance(expected, str) else set(expected)
    if "number" in allowed:
        allowed.add("integer")
    whole_floats = "integer" in allowed and "number" not in allowed

    def type_accepts(value: Any, depth: int) -> bool:
        actual = _JSON_TYPES.get(type(value)) or _type_of(value)
        return actual in allowed or (whole_floats and actual == "number" and value.is_integer())
    return type_accepts


def _string_accepts(schema: dict) -> Test | None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    pattern = _pattern(schema["pattern"]) if "pattern" in schema else None
    if low is None and high is None and pattern is None:
        return None
    low = 0 if low is None else low
    high = math.inf if high is None else high
    search = None if pattern is None else pattern.search

    def string_accepts(value: Any, depth: int) -> bool:
        if not isinstance(value, str):
            return True
        return low <= len(value) <= high and (search is None or search(value) is not None)
    return string_accepts


def _number_accepts(schema: dict) -> Test | None:
    test = _number_test(schema)
    if test is None:
        return None

    def number_accepts(value: Any, depth: int) -> bool:
        try:
            test(value, None, depth)
        except SchemaViolation:
            return False
        return True
    return number_accepts


def _string_test(schema: dict) -> Check | None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    pattern = _pattern(schema["pattern"]) if "pattern" in schema else None
    if low is None and high is None and pattern is None:
        return None

    def string_test(value: Any, path: Path, depth: int) -> None:
        if not isinstance(value, str):
            return
        if low is not None and len(value) < low:
            raise _violation(path, f"must have at least {low} character(s)")
        if high is not None and len(value) > high:
            raise _violation(path, f"must have at most {high} characters")
        if pattern is not None and not pattern.search(value):
            raise _violation(path, f"{_short(value)} does not have the expected form")
    return string_test


def _number_test(schema: dict) -> Check | None:
    bounds = [(schema[key], key) for key in ("minimum", "maximum", "exclusiveMinimum",
                                             "exclusiveMaximum") if key in schema]
    if not bounds:
        return None
    fails = {"minimum": (lambda v, b: v < b, ">="), "maximum": (lambda v, b: v > b, "<="),
             "exclusiveMinimum": (lambda v, b: v <= b, ">"),
             "exclusiveMaximum": (lambda v, b: v >= b, "<")}
    tests = [(bound, *fails[key]) for bound, key in bounds]

    def number_test(value: Any, path: Path, depth: int) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        for bound, fails_bound, sign in tests:
            if fails_bound(value, bound):
                raise _violation(path, f"must be {sign} {bound}, got {_short(value)}")
    return number_test


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern[str]:
    """A schema pattern as a Python regex. In JSON Schema (ECMA-262) a final ``$`` matches only
    at the very end, whereas Python's also matches before a final newline: use ``\\Z``."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    numbers = ("integer", "number")
    if _type_of(a) in numbers and _type_of(b) in numbers:
        return a == b
    return _type_of(a) == _type_of(b) and a == b


def _short(value: Any, limit: int = 40) -> str:
    scalar = _type_of(value) in ("string", "integer", "number", "boolean", "null")
    text = json.dumps(value) if scalar else _type_of(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema shipped with the package, e.g. ``load_schema("graph")``."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def validator(name: str) -> SchemaValidator:
    return SchemaValidator(load_schema(name))


__all__ = ["KEYWORDS", "SchemaValidator", "SchemaViolation", "load_schema", "validator"]
