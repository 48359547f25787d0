"""YAML text to plain data, remembering where every key and value came from.

Scalars follow the YAML 1.2 core schema (runner.manifest.scalars). Aliases are counted before
anything is built: a document whose values, with every alias expanded, pass MAX_YAML_NODES is
refused at the anchor where the count explodes, so an alias bomb costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.errors import Location, Problem
from runner.manifest import scalars
from runner.manifest.limits import MAX_YAML_NODES

Path = tuple[str | int, ...]

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~5x faster
_MAX_DEPTH = 64


class _Loader(_Base):  # type: ignore[misc]
    """Composes nodes only; every untagged plain scalar is left for scalars.plain to read."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return scalars.MERGE if value == "<<" else scalars.PLAIN
        resolved: str = super().resolve(kind, value, implicit)
        return resolved


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def oversized(root: yaml.Node, limit: int = MAX_YAML_NODES) -> tuple[yaml.Node, bool] | None:
    """(node, cyclic): where the expanded size (aliases counted each time used) first passes `limit`.

    None when the whole document is within it. Sizes are memoised per node, so the count costs
    one visit per distinct node however often aliases repeat it; a node that contains an alias
    to itself is returned with cyclic=True.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and sizes[key] >= 0:
            continue
        kids = _children(node)
        if not done:
            if key in sizes:  # met again while its own children are being counted: a cycle
                return node, True
            sizes[key] = -1
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)
            continue
        sizes[key] = min(limit + 1, 1 + sum(sizes[id(kid)] for kid in kids))
        if sizes[key] > limit and all(sizes[id(kid)] <= limit for kid in kids):
            return node, False
    return None


class _Builder:
    """Turns a composed node tree into dicts, lists and scalars."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.source.values[path] = _loc(self.source.file, node)
        if depth > _MAX_DEPTH:
            self._problem(node, f"nesting deeper than {_MAX_DEPTH} levels")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth) if self._known(node, scalars.MAP) else None
        if isinstance(node, yaml.SequenceNode):
            if not self._known(node, scalars.SEQ):
                return None
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _known(self, node: yaml.Node, tag: str) -> bool:
        if node.tag in (tag, "!"):
            return True
        self._problem(node, scalars.unknown_tag(node.tag))
        return False

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            if key_node.tag == scalars.MERGE:
                merged += self._merge_pairs(value_node, depth)
                continue
            child = (*path, key)
            if key in out:
                first = self.source.keys[child]
                self._problem(key_node, f"duplicate key '{key}' (first defined at line {first.line})")
                continue
            self.source.keys[child] = _loc(self.source.file, key_node)
            out[key] = self.build(value_node, child, depth + 1)
        for key, key_node, value_node in merged:  # YAML merge keys (<<): keys written here win
            if key not in out:
                self.source.keys[(*path, key)] = _loc(self.source.file, key_node)
                out[key] = self.build(value_node, (*path, key), depth + 1)
        return out

    def _key(self, node: yaml.Node) -> str | None:
        """A mapping key: always the string as written (`on:` stays 'on', `1e3:` stays '1e3')."""
        if not isinstance(node, yaml.ScalarNode):
            self._problem(node, "mapping keys must be plain strings")
            return None
        if node.tag not in (scalars.PLAIN, scalars.MERGE, scalars.STR, "!"):
            try:
                scalars.tagged(node.tag, node.value)
            except scalars.ScalarError as exc:
                self._problem(node, str(exc))
                return None
        return str(node.value)

    def _merge_pairs(self, node: yaml.Node, depth: int) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The pairs a merge key brings in: from one mapping, or from a list of them (first wins)."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        pairs: list[tuple[str, yaml.Node, yaml.Node]] = []
        for item in sources:
            if not isinstance(item, yaml.MappingNode) or depth > _MAX_DEPTH:
                self._problem(item, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            own = [(k.value, k, v) for k, v in item.value if isinstance(k, yaml.ScalarNode) and k.tag != scalars.MERGE]
            inherited = [p for k, v in item.value if k.tag == scalars.MERGE for p in self._merge_pairs(v, depth + 1)]
            pairs += own + inherited
        first: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        for pair in pairs:
            first.setdefault(pair[0], pair)
        return list(first.values())

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            if node.tag == scalars.PLAIN:
                return scalars.plain(node.value)
            return scalars.tagged("tag:yaml.org,2002:str" if node.tag == "!" else node.tag, node.value)
        except scalars.ScalarError as exc:
            self._problem(node, str(exc))
            return None

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.source.problems.append(Problem(_loc(self.source.file, node), message))


def _crowded(text: str) -> Any:
    """The mark where the text passes MAX_YAML_NODES written values (counted on the event stream), or None.

    Composing keeps every node with its marks (about 0.5 KB each: two million values took 32 s
    and 875 MB), so values are counted first, stopping at the limit, before anything is kept.
    """
    count = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
            count += 1
            if count > MAX_YAML_NODES:
                return event.start_mark
    return None


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; syntax problems are returned located, never raised."""
    source = Source(file, lines=text.splitlines())
    try:
        crowded = _crowded(text)
        if crowded is not None:
            message = f"the manifest holds more than {MAX_YAML_NODES:,} values: split it"
            source.problems.append(Problem(Location(file, crowded.line + 1, crowded.column + 1), message))
            return source
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
    found = oversized(nodes[0])
    if found is not None:
        node, cyclic = found
        message = (
            "an alias here refers to a value that contains it: YAML aliases must not be recursive"
            if cyclic
            else f"this value holds more than {MAX_YAML_NODES:,} values, counting every use of an alias "
            "(an alias bomb?): use fewer aliases or split the manifest"
        )
        source.problems.append(Problem(_loc(file, node), message))
        return source
    source.data = _Builder(source).build(nodes[0], ())
    return source
