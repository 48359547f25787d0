"""Program sources: files kept inside the manifest's folder, or inline text; parsed and digested."""

from __future__ import annotations

import json
import os
from typing import Any

from runner.domain.fingerprint import digest_bytes
from runner.domain.model import Program
from runner.errors import Location, Problem
from runner.manifest import verdicts
from runner.manifest.files import FileRefused, read_regular
from runner.manifest.limits import MAX_PROGRAM_BYTES
from runner.manifest.source import Path, Source
from runner.quantum import qasm


class ProgramReader:
    """Reads programs named in a manifest, recording located problems and parse summaries."""

    def __init__(self, source: Source, manifest_path: str, check: bool, cache: str | None = None) -> None:
        self.source = source
        self.check = check
        self.cache = cache
        self.display_dir = os.path.dirname(manifest_path)
        self.base_dir = os.path.dirname(os.path.abspath(manifest_path))
        self._real_base = os.path.realpath(self.base_dir)
        self.problems: list[Problem] = []
        self.infos: dict[str, qasm.ProgramInfo] = {}
        self.variables: dict[str, set[str]] = {}
        self._cache: dict[tuple[str, str], Program | None] = {}

    def qasm(self, spec: Any, path: Path) -> Program | None:
        """An OpenQASM program from a path, {file: path} or {qasm: text}."""
        if isinstance(spec, dict) and "qasm" in spec:
            return self._inline_qasm(spec["qasm"], (*path, "qasm"))
        rel = spec["file"] if isinstance(spec, dict) else spec
        key = ("qasm", rel)
        if key not in self._cache:
            self._cache[key] = self._file_qasm(rel, path)
        return self._cache[key]

    def sequence(self, spec: Any, path: Path) -> Program | None:
        """A serialized pulser sequence from a path, {file: path} or {inline: {...}}."""
        if isinstance(spec, dict) and "inline" in spec:
            text = json.dumps(spec["inline"], sort_keys=True)
            return self._sequence(text, "inline sequence", (*path, "inline"), None)
        rel = spec["file"] if isinstance(spec, dict) else spec
        loaded = self._read(rel, path)
        if loaded is None:
            return None
        text, label = loaded
        return self._sequence(text, label, path, label)

    def _sequence(self, text: str, label: str, path: Path, file: str | None) -> Program | None:
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            where = Location(file, exc.lineno, exc.colno) if file else self.source.where(path)
            self.problems.append(Problem(where, f"sequence is not valid JSON: {exc.msg}"))
            return None
        if not isinstance(body, dict):
            self.problems.append(Problem(self.source.where(path), "a sequence must be a JSON object"))
            return None
        program = Program(label, text, "pulser", digest_bytes(text.encode()), None)
        declared = body.get("variables", {})
        self.variables[program.digest] = set(declared) if isinstance(declared, dict) else set()
        return program

    def _file_qasm(self, rel: str, path: Path) -> Program | None:
        loaded = self._read(rel, path)
        if loaded is None:
            return None
        text, label = loaded
        include_dir = os.path.dirname(os.path.join(self.base_dir, rel))
        return self._qasm(text, label, include_dir, lambda line, col: Location(label, line, col), path)

    def _inline_qasm(self, text: str, path: Path) -> Program | None:
        node = self.source.where(path)
        block = "\n" in text  # block scalars (| or >) start on the line after the key

        def locate(line: int, col: int) -> Location:
            if not block:
                return Location(node.file, node.line, node.column + col)
            at = node.line + line
            row = self.source.lines[at - 1] if at <= len(self.source.lines) else ""
            return Location(node.file, at, len(row) - len(row.lstrip(" ")) + col)

        return self._qasm(text, f"{node.file}:{node.line}", self.base_dir, locate, path)

    def _qasm(self, text: str, label: str, include_dir: str, locate: Any, path: Path) -> Program | None:
        blob = text.encode()
        for name in qasm.includes(text):
            included = self._read(os.path.relpath(os.path.join(include_dir, name), self.base_dir), path)
            if included is None:
                return None
            blob += b"\0" + name.encode() + b"\0" + included[0].encode()
        version = qasm.version_of(text)
        program = Program(label, text, f"qasm{version}", digest_bytes(blob), include_dir)
        if self.check and program.digest not in self.infos:
            try:
                self.infos[program.digest] = verdicts.inspect(text, include_dir, program.digest, self.cache)
            except qasm.ProgramError as exc:
                self.problems.append(Problem(locate(exc.line, exc.column), exc.message))
                return None
        return program

    def _read(self, rel: str, path: Path) -> tuple[str, str] | None:
        """(text, display label) of a file inside the manifest's folder, or None with a problem."""
        where = self.source.where(path)
        full = os.path.normpath(os.path.join(self.base_dir, rel))
        label = os.path.normpath(os.path.join(self.display_dir, rel))
        if os.path.isabs(rel) or not _inside(os.path.realpath(full), self._real_base):
            self.problems.append(Problem(where, f"'{rel}' is outside the manifest's folder"))
            return None
        try:
            data = read_regular(full, MAX_PROGRAM_BYTES)
        except FileRefused as exc:
            shown = f"file not found: {label}" if exc.reason == "not found" else f"'{rel}' {exc.reason}"
            self.problems.append(Problem(where, shown))
            return None
        try:
            return data.decode("utf-8"), label
        except UnicodeDecodeError:
            self.problems.append(Problem(where, f"'{rel}' is not UTF-8 text"))
            return None


def _inside(path: str, base: str) -> bool:
    return os.path.commonpath([path, base]) == base
