"""The manifest JSON Schema and its errors, translated into located one-line problems."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from runner.errors import Problem
from runner.manifest.source import Path, Source

SCHEMA_FILE = "manifest.v1.json"
_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_-]*$"
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def schema_text() -> str:
    """The schema exactly as shipped in the package."""
    return resources.files("runner").joinpath("schemas").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def schema_digest() -> str:
    """sha256 of the shipped schema text: a cached verdict holds only for this exact schema."""
    import hashlib

    return hashlib.sha256(schema_text().encode("utf-8")).hexdigest()


@cache
def schema() -> dict[str, Any]:
    """The parsed schema."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # heavy import, only when validating

    return Draft202012Validator(schema())


def dotted(path: Path) -> str:
    """A path as users write it: jobs.bell.matrix.amp[0]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else "a string"
    return repr(value)


def _type_phrase(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)


def _unknown_keys(error: Any) -> Iterator[str]:
    props = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    import re

    for key in error.instance:
        if key in props or any(re.search(p, key) for p in patterns):
            continue
        yield key


def _problems_for(error: Any, source: Source) -> Iterator[Problem]:
    path: Path = tuple(error.absolute_path)
    kind = error.validator
    where = dotted(path) + ": " if path else ""
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        for key in _unknown_keys(error):
            hint = difflib.get_close_matches(key, known, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            yield Problem(source.where((*path, key), key=True), f"{where}unknown key '{key}'{extra}")
        return
    if "propertyNames" in error.relative_schema_path or kind == "propertyNames":
        key = error.instance
        yield Problem(source.where((*path, key), key=True), f"{where}{_bad_name(key)}")
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield Problem(source.where(path, key=True), f"{where}missing required key '{missing}'")
        return
    if kind == "pattern" and error.validator_value == _NAME_PATTERN:
        yield Problem(source.where(path), f"{where}{_bad_name(error.instance)}")
        return
    yield Problem(source.where(path), f"{where}{_message(error)}")


def _bad_name(name: Any) -> str:
    return f"invalid name {_describe(name)}: use letters, digits, '_' and '-', starting with a letter"


def _message(error: Any) -> str:
    kind, value = error.validator, error.instance
    if kind == "type":
        return f"expected {_type_phrase(error.validator_value)}, got {_describe(value)}"
    if kind == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return f"must be one of: {choices} (got {_describe(value)})"
    if kind == "const":
        return f"must be {error.validator_value!r} (got {_describe(value)})"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        return f"must be {sign} {error.validator_value} (got {_describe(value)})"
    if kind == "minItems":
        return f"needs at least {error.validator_value} item(s)"
    if kind == "minProperties":
        return f"needs at least {error.validator_value} key(s)"
    if kind == "minLength":
        return "must not be empty"
    if kind == "uniqueItems":
        return "has duplicate items"
    if kind == "pattern":
        return f"{_describe(value)} does not match the pattern {error.validator_value}"
    if kind == "oneOf":
        return _one_of_message(error)
    return str(error.message)


def _one_of_message(error: Any) -> str:
    schema_desc = error.schema.get("description", "")
    branches = error.validator_value
    if all(set(b) == {"required"} for b in branches):
        keys = [b["required"][0] for b in branches]
        present = [k for k in keys if isinstance(error.instance, dict) and k in error.instance]
        if present:
            return "give only one of " + ", ".join(f"'{k}'" for k in keys)
        return "needs one of " + ", ".join(f"'{k}'" for k in keys)
    return f"expected {schema_desc}" if schema_desc else f"invalid value {_describe(error.instance)}"


def check_paths(source: Source) -> list[tuple[Path, Problem]]:
    """Every schema problem in the parsed manifest, located, with the path it concerns."""
    found: list[tuple[Path, Problem]] = []
    for error in _validator().iter_errors(source.data):
        path: Path = tuple(error.absolute_path)
        found.extend((path, problem) for problem in _problems_for(error, source))
    return found


def check(source: Source) -> list[Problem]:
    """Every schema problem in the parsed manifest, located."""
    return [problem for _, problem in check_paths(source)]
