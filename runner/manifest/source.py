"""YAML text to plain data, remembering where every key and value came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.errors import Location, Problem

Path = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~5x faster
_MAX_DEPTH = 64


@dataclass
class Source:
    """Parsed YAML data plus the location of every node, addressed by its path."""

    file: str
    data: Any = None
    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def where(self, path: Path, *, key: bool = False) -> Location:
        """Location of the value (or key) at path, else of its nearest located ancestor."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        for cut in range(len(path) - 1, -1, -1):
            prefix = path[:cut]
            if prefix in self.values:
                return self.values[prefix]
        return Location(self.file, 1, 1)


def _loc(file: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


class _Builder:
    """Turns a composed node tree into dicts, lists and scalars."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.source.values[path] = _loc(self.source.file, node)
        if depth > _MAX_DEPTH:
            self._problem(node, f"nesting deeper than {_MAX_DEPTH} levels")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        self.constructor.flatten_mapping(node)  # YAML merge keys (<<)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "mapping keys must be plain strings")
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = str(key) if key is not None else "null"
            child = (*path, key)
            if key in out:
                first = self.source.keys[child]
                self._problem(key_node, f"duplicate key '{key}' (first defined at line {first.line})")
                continue
            self.source.keys[child] = _loc(self.source.file, key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self._problem(node, f"cannot read value: {exc}")
            return None
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()  # keep data JSON-shaped; timestamps stay readable text
        if isinstance(value, bytes):
            self._problem(node, "binary values are not supported")
            return None
        return value

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.source.problems.append(Problem(_loc(self.source.file, node), message))


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; syntax problems are returned located, never raised."""
    source = Source(file, lines=text.splitlines())
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        opened = exc.context_mark
        if exc.problem and exc.context and opened and opened.line + 1 != line:
            what += f" ({exc.context} started at line {opened.line + 1}, column {opened.column + 1})"
        source.problems.append(Problem(Location(file, line, col), f"invalid YAML: {what}"))
        return source
    except yaml.reader.ReaderError as exc:  # control characters: located by offset, not by mark
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        what = (
            f"unacceptable character #x{exc.character:04x}: {exc.reason}"
            if isinstance(exc.character, int)
            else exc.reason
        )
        source.problems.append(Problem(Location(file, line, column), f"invalid YAML: {what}"))
        return source
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        source.problems.append(Problem(Location(file, 1, 1), f"invalid YAML: {first}"))
        return source
    if not nodes:
        source.problems.append(Problem(Location(file, 1, 1), "the manifest is empty"))
        return source
    if len(nodes) > 1:
        second = _loc(file, nodes[1])
        source.problems.append(Problem(second, "expected one YAML document, found several"))
        return source
    source.data = _Builder(source).build(nodes[0], ())
    return source
