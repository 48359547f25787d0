"""Program sources: files kept inside the manifest's folder, inline text, or built by the user's code.

OpenQASM is read and digested here; Python functions and `.qpy` files are built by
runner.manifest.builds (in a process of its own) into programs identified by what they built.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from typing import Any

from runner.domain.fingerprint import digest_bytes
from runner.domain.model import Program
from runner.errors import Location, Problem
from runner.manifest import builds, verdicts
from runner.manifest.files import FileRefused, read_regular
from runner.manifest.limits import MAX_PROGRAM_BYTES
from runner.manifest.source import Path, Source
from runner.quantum import qasm


class ProgramReader:
    """Reads programs named in a manifest, recording located problems and parse summaries."""

    def __init__(
        self,
        source: Source,
        manifest_path: str,
        check: bool,
        cache: str | None = None,
        env: Mapping[str, str] | None = None,
        built: str | None = None,
    ) -> None:
        self.source = source
        self.check = check
        self.cache = cache
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.built = built  # where builds are cached (None: not cached)
        self.display_dir = os.path.dirname(manifest_path)
        self.base_dir = os.path.dirname(os.path.abspath(manifest_path))
        self._real_base = os.path.realpath(self.base_dir)
        self.problems: list[Problem] = []
        self.infos: dict[str, qasm.ProgramInfo] = {}
        self.variables: dict[str, set[str]] = {}
        self.placed: dict[Path, tuple[Path, ...]] = {}  # a job's path -> the manifest entry of each of its circuits
        self._built: dict[builds.Request, list[builds.Made]] = {}  # made ahead by prefetch
        self._cache: dict[tuple[str, str], tuple[Program, ...] | None] = {}

    def circuits(self, spec: Any, path: Path) -> tuple[Program, ...] | None:
        """The circuits of one manifest entry: OpenQASM ({qasm: text}, a path or {file: path}), a `.qpy` file,
        or `file.py:function`; a build may make several (a multi-circuit job)."""
        if isinstance(spec, dict) and "qasm" in spec:
            inline = self._inline_qasm(spec["qasm"], (*path, "qasm"))
            return None if inline is None else (inline,)
        rel = spec["file"] if isinstance(spec, dict) else spec
        key = ("circuits", rel)
        if key not in self._cache:
            self._cache[key] = self._circuit_file(rel, path)
        return self._cache[key]

    def _circuit_file(self, rel: str, path: Path) -> tuple[Program, ...] | None:
        reference = builds.REFERENCE.match(rel)
        if reference:
            return self._build("circuit", reference["file"], reference["function"], path)
        if rel.endswith(".py"):
            self.problems.append(Problem(self.source.where(path), _name_the_function(rel)))
            return None
        if rel.endswith(".qpy"):
            return self._build("qpy", rel, None, path)
        program = self._file_qasm(rel, path)
        return None if program is None else (program,)

    def sequence(self, spec: Any, path: Path) -> Program | None:
        """A pulser sequence from a path, {file: path}, {inline: {...}} or `file.py:function` returning one."""
        if isinstance(spec, dict) and "inline" in spec:
            text = json.dumps(spec["inline"], sort_keys=True)
            return self._sequence(text, "inline sequence", (*path, "inline"), None)
        rel = spec["file"] if isinstance(spec, dict) else spec
        reference = builds.REFERENCE.match(rel)
        if reference:
            made = self._build("sequence", reference["file"], reference["function"], path)
            return made[0] if made else None
        if rel.endswith(".py"):
            self.problems.append(Problem(self.source.where(path), _name_the_function(rel)))
            return None
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

    # built programs -----------------------------------------------------------------------------
    def prefetch(self, wanted: list[tuple[str, Any]]) -> None:
        """Build these (kind, manifest entry) pairs at once, on as many processes as there are cores (up to 4).

        Each build is its own process, mostly importing qiskit: a manifest of several Python programs
        builds in about the time of the slowest one rather than of all of them. What fails here is
        built (and reported) again in order, where the entry is read.
        """
        requests = {r for r in (self._request(kind, spec) for kind, spec in wanted) if r is not None}
        if not self.check or len(requests) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        def made(request: builds.Request) -> list[builds.Made] | None:
            try:
                return builds.build(request, self.env, self.built)
            except builds.BuildError:
                return None

        with ThreadPoolExecutor(max_workers=min(len(requests), os.cpu_count() or 1, 4)) as pool:
            for request, result in zip(requests, pool.map(made, requests), strict=True):
                if result is not None:
                    self._built[request] = result

    def _request(self, kind: str, spec: Any) -> builds.Request | None:
        """The build an entry asks for, if it asks for one and its file can be read (problems are found later)."""
        rel = spec.get("file") if isinstance(spec, dict) else spec
        if not isinstance(rel, str):
            return None
        reference = builds.REFERENCE.match(rel)
        if reference is None and not (kind == "circuit" and rel.endswith(".qpy")):
            return None
        name = reference["file"] if reference else rel
        full = os.path.normpath(os.path.join(self.base_dir, name))
        if os.path.isabs(name) or not _inside(os.path.realpath(full), self._real_base):
            return None
        try:
            data = read_regular(full, MAX_PROGRAM_BYTES)
        except FileRefused:
            return None
        label = os.path.normpath(os.path.join(self.display_dir, name))
        build_kind = kind if reference else "qpy"
        function = reference["function"] if reference else None
        return builds.Request(build_kind, full, function, label, self.base_dir, digest_bytes(data))

    def _build(self, kind: str, rel: str, function: str | None, path: Path) -> tuple[Program, ...] | None:
        """Programs built from a Python function or a `.qpy` file (not run, only checked, without `check`)."""
        loaded = self._read_bytes(rel, path)
        if loaded is None:
            return None
        data, label, full = loaded
        shown = f"{label}:{function}" if function else label
        if not self.check:
            return self._unbuilt(kind, data, label, shown, function, path)
        request = builds.Request(kind, full, function, label, self.base_dir, digest_bytes(data))
        try:
            made = self._built.pop(request, None) or builds.build(request, self.env, self.built)
        except builds.BuildError as exc:
            self.problems.append(Problem(self._located(exc, path), exc.message))
            return None
        programs = []
        for i, one in enumerate(made):
            program = Program(f"{shown}[{i}]" if len(made) > 1 else shown, one.text, one.format, one.digest)
            if one.info is not None:
                self.infos[one.digest] = _info(one.info)
            if kind == "sequence":
                self.variables[one.digest] = set(one.variables or ())
            programs.append(program)
        return tuple(programs)

    def _unbuilt(
        self, kind: str, data: bytes, label: str, shown: str, function: str | None, path: Path
    ) -> tuple[Program, ...] | None:
        """What `validate --no-programs` knows without running anything: the function is defined."""
        if function is not None:
            problem = _defines(data, function, label)
            if problem is not None:
                self.problems.append(Problem(problem[0] or self.source.where(path), problem[1]))
                return None
        fmt = "qpy" if kind != "sequence" else "pulser"
        return (Program(shown, "", fmt, digest_bytes(data)),)

    def _located(self, exc: builds.BuildError, path: Path) -> Location:
        if exc.file is None:
            return self.source.where(path)
        rel = os.path.relpath(exc.file, self.base_dir)
        return Location(os.path.normpath(os.path.join(self.display_dir, rel)), exc.line, exc.column)

    # files ----------------------------------------------------------------------------------------
    def _read(self, rel: str, path: Path) -> tuple[str, str] | None:
        """(text, display label) of a file inside the manifest's folder, or None with a problem."""
        loaded = self._read_bytes(rel, path)
        if loaded is None:
            return None
        data, label, _ = loaded
        try:
            return data.decode("utf-8"), label
        except UnicodeDecodeError:
            self.problems.append(Problem(self.source.where(path), f"'{rel}' is not UTF-8 text"))
            return None

    def _read_bytes(self, rel: str, path: Path) -> tuple[bytes, str, str] | None:
        """(bytes, display label, absolute path) of a file inside the manifest's folder, or None with a problem."""
        where = self.source.where(path)
        full = os.path.normpath(os.path.join(self.base_dir, rel))
        label = os.path.normpath(os.path.join(self.display_dir, rel))
        if os.path.isabs(rel) or not _inside(os.path.realpath(full), self._real_base):
            self.problems.append(Problem(where, f"'{rel}' is outside the manifest's folder"))
            return None
        try:
            return read_regular(full, MAX_PROGRAM_BYTES), label, full
        except FileRefused as exc:
            shown = f"file not found: {label}" if exc.reason == "not found" else f"'{rel}' {exc.reason}"
            self.problems.append(Problem(where, shown))
            return None


def _inside(path: str, base: str) -> bool:
    return os.path.commonpath([path, base]) == base


def _name_the_function(rel: str) -> str:
    return f"'{rel}' is Python: name the function that builds the program, e.g. {rel}:build"


def _info(raw: Mapping[str, Any]) -> qasm.ProgramInfo:
    # version 0: not OpenQASM (a built or QPY circuit); validation reads only the other fields
    return qasm.ProgramInfo(
        0, tuple(raw["inputs"]), int(raw["num_qubits"]), int(raw["num_clbits"]), bool(raw["measures"])
    )


def _defines(data: bytes, function: str, label: str) -> tuple[Location | None, str] | None:
    """A problem when the Python source does not parse or defines no top-level `function` (nothing is run)."""
    try:
        tree = ast.parse(data, filename=label)
    except SyntaxError as exc:
        return Location(label, exc.lineno or 1, max(exc.offset or 1, 1)), f"SyntaxError: {exc.msg}"
    except ValueError as exc:  # null bytes
        return None, f"{label} is not Python source: {exc}"
    names: set[str] = set()
    # any binding of the name anywhere (a def under `if`, an assignment, an import) counts: only running the
    # module would tell for sure, and a check that runs nothing must not refuse a module that works
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    if function not in names:
        return None, f"{label} defines no function '{function}'"
    return None
