"""YAML 1.2 scalars: what a plain scalar means under the core schema, and the tags runner reads.

PyYAML resolves plain scalars by YAML 1.1 rules, where `1e-3` is a string and `on`, `yes`, `no`
and `off` are booleans. Manifests are read by the YAML 1.2 core schema instead, as current YAML
tools do:

- null: `null`, `Null`, `NULL`, `~` or nothing;
- booleans: `true`, `True`, `TRUE`, `false`, `False`, `FALSE` (the core schema's spellings);
  `yes`, `no`, `on`, `off`, `y` and `n` are strings;
- integers: `42`, `-7`, `+3`, `0o17` (octal), `0x1F` (hex); `017` is seventeen, `1_000` a string;
- floats: `1.5`, `.5`, `5.`, `1e-3`, `2.5E+2`, `-1.5e-7`; `.inf` and `.nan` are read but refused
  (every number in a manifest must be finite);
- anything else is a string. Mapping keys are always the string as written.

Explicit tags: `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq` and the
non-specific `!` (a string). Any other tag (`!foo`, `!!binary`, `!!timestamp`) is an error.
"""

from __future__ import annotations

import math
import re
from typing import Any

from runner.manifest.limits import MAX_INT_DIGITS

PLAIN = "tag:runner,2025:plain"  # set by our resolver on every untagged plain scalar
MERGE = "tag:yaml.org,2002:merge"
_CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (f"{_CORE}{k}" for k in ("str", "int", "float", "bool", "null"))
MAP, SEQ = f"{_CORE}map", f"{_CORE}seq"

_NULL = re.compile(r"null|Null|NULL|~|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")


class ScalarError(ValueError):
    """A scalar runner will not read; the message says why, without a location."""


def shown_tag(tag: str) -> str:
    """A tag as users write it: !!binary for the YAML namespace, else as given."""
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def unknown_tag(tag: str) -> str:
    """The message for a tag runner does not read."""
    return f"unknown tag '{shown_tag(tag)}': runner reads plain YAML (tags !!str, !!int, !!float, !!bool, !!null)"


def plain(text: str) -> Any:
    """The value of an untagged plain scalar under the YAML 1.2 core schema."""
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    number = _number(text)
    return text if number is None else number


def tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit tag (quoted scalars arrive tagged !!str)."""
    if tag == STR:
        return text
    if tag == NULL and _NULL.fullmatch(text):
        return None
    if tag == BOOL and (_TRUE.fullmatch(text) or _FALSE.fullmatch(text)):
        return bool(_TRUE.fullmatch(text))
    if tag in (INT, FLOAT):
        number = _number(text)
        if isinstance(number, int) and tag == FLOAT:
            return float(number)
        if number is not None and (tag == FLOAT or isinstance(number, int)):
            return number
    if tag in (NULL, BOOL, INT, FLOAT):
        raise ScalarError(f"'{_short(text)}' cannot be read as {shown_tag(tag)}")
    raise ScalarError(unknown_tag(tag))


def _number(text: str) -> int | float | None:
    if _DECIMAL.fullmatch(text):
        digits = len(text.lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            raise ScalarError(f"an integer of {digits} digits is too large (at most {MAX_INT_DIGITS} digits)")
        return int(text)
    if _OCTAL.fullmatch(text) or _HEX.fullmatch(text):
        if len(text) - 2 > MAX_INT_DIGITS:
            raise ScalarError(f"an integer of {len(text) - 2} digits is too large (at most {MAX_INT_DIGITS} digits)")
        return int(text[2:], 8 if text[1] == "o" else 16)
    if _FLOAT.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            raise ScalarError(f"{text} is too large for a number (it overflows to infinity)")
        return value
    if _INF.fullmatch(text) or _NAN.fullmatch(text):
        raise ScalarError(f"{text} is not a finite number: runner takes finite numbers only")
    return None


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
