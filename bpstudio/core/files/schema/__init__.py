"""JSON Schemas of the project file's JSON entries, and the validator the loader runs them with.

The schemas (``manifest.schema.json``, ``graph.schema.json``) are standard JSON Schema (draft
2020-12) restricted to the keywords listed in :data:`KEYWORDS`. The core may import only NumPy
and the standard library, so instead of a third-party validator this module implements exactly
that subset; a schema that uses any other keyword is refused when it is read, so the files can
never claim a check that is not made.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

# Annotations carry no constraint; every other keyword here is enforced by SchemaValidator.
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "$defs"})
KEYWORDS = ANNOTATIONS | frozenset({
    "$ref", "type", "enum", "const", "anyOf",
    "properties", "required", "additionalProperties", "propertyNames", "minProperties",
    "maxProperties", "items", "minItems", "maxItems",
    "pattern", "minLength", "maxLength", "minimum", "maximum",
})
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
MAX_DEPTH = 200  # a document nested deeper than this is refused rather than recursed into


class SchemaViolation(ValueError):
    """A document that does not match its schema; ``path`` says where (``nodes[3].params``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


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


def _matches_type(value: Any, expected: str) -> bool:
    """JSON Schema's notion of types: every integer is a number, and so is 2.0 an integer."""
    actual = _type_of(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer" and actual == "number":
        return value.is_integer()
    return actual == expected


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class SchemaValidator:
    """Checks documents (parsed JSON) against one schema; raises :class:`SchemaViolation`."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._check_schema(schema, "#")

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
        self._validate(document, self.schema, "", 0)

    def is_valid(self, document: Any) -> bool:
        try:
            self.validate(document)
        except SchemaViolation:
            return False
        return True

    def _validate(self, value: Any, schema: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise SchemaViolation(path, f"nested more than {MAX_DEPTH} levels deep")
        if schema is True:
            return
        if schema is False:
            raise SchemaViolation(path, "is not allowed here")
        if "$ref" in schema:
            self._validate(value, self._resolve(schema["$ref"]), path, depth + 1)
        if "type" in schema:
            expected = schema["type"]
            options = [expected] if isinstance(expected, str) else expected
            if not any(_matches_type(value, t) for t in options):
                raise SchemaViolation(path, f"expected {' or '.join(options)}, "
                                      f"got {_type_of(value)}")
        if "const" in schema and not _same(value, schema["const"]):
            raise SchemaViolation(path, f"must be {json.dumps(schema['const'])}")
        if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
            allowed = ", ".join(json.dumps(option) for option in schema["enum"])
            raise SchemaViolation(path, f"must be one of {allowed}, got {_short(value)}")
        if "anyOf" in schema:
            reasons = []
            for option in schema["anyOf"]:
                try:
                    self._validate(value, option, path, depth + 1)
                    break
                except SchemaViolation as exc:
                    reasons.append(exc.reason)
            else:
                raise SchemaViolation(path, "matches none of the allowed forms ("
                                      + "; ".join(dict.fromkeys(reasons)) + ")")
        kind = _type_of(value)
        if kind == "string":
            self._validate_string(value, schema, path)
        elif kind in ("integer", "number"):
            if "minimum" in schema and value < schema["minimum"]:
                raise SchemaViolation(path, f"must be >= {schema['minimum']}, got {value}")
            if "maximum" in schema and value > schema["maximum"]:
                raise SchemaViolation(path, f"must be <= {schema['maximum']}, got {value}")
        elif kind == "array":
            self._validate_array(value, schema, path, depth)
        elif kind == "object":
            self._validate_object(value, schema, path, depth)

    @staticmethod
    def _validate_string(value: str, schema: dict, path: str) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise SchemaViolation(path, f"must have at least {schema['minLength']} character(s)")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaViolation(path, f"must have at most {schema['maxLength']} characters")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise SchemaViolation(path, f"{_short(value)} does not have the expected form")

    def _validate_array(self, value: list, schema: dict, path: str, depth: int) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise SchemaViolation(path, f"must have at least {schema['minItems']} item(s)")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaViolation(path, f"must have at most {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                self._validate(item, schema["items"], _join(path, i), depth + 1)

    def _validate_object(self, value: dict, schema: dict, path: str, depth: int) -> None:
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            raise SchemaViolation(path, f"must have at least {schema['minProperties']} field(s)")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            raise SchemaViolation(path, f"must have at most {schema['maxProperties']} fields")
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaViolation(path, f"missing required field '{key}'")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if "propertyNames" in schema:
                self._validate(key, schema["propertyNames"], _join(path, key), depth + 1)
            if key in properties:
                self._validate(item, properties[key], _join(path, key), depth + 1)
            elif extra is False:
                raise SchemaViolation(path, f"unknown field '{key[:40]}'")
            else:
                self._validate(item, extra, _join(path, key), depth + 1)


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
