"""The build process: runs a manifest's Python function (or reads a `.qpy` file) and writes what it made.

    python -m runner.quantum.build REQUEST.json RESULT.json

Started by runner.manifest.builds, one process per build, never imported by runner itself: building
a program runs the user's own code, as `make` runs a Makefile's recipes, so it runs apart from
runner's process, under a time limit (the parent kills it) and a memory limit (set here, after
qiskit or pulser is imported). What comes back is plain data: each circuit as canonical QPY text
(runner.quantum.qpy), or a sequence as pulser's abstract representation; the files the build read
in the manifest's folder, so the cache knows when to build again; or one located error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import site
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from runner.manifest.limits import MAX_BUILD_BYTES, MAX_CLBITS, MAX_OPERATIONS, MAX_QUBITS


class Failed(Exception):
    """A build problem, located in the user's file when it can be (file None: at the manifest's entry)."""

    def __init__(self, message: str, file: str | None = None, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.file, self.line, self.column = message, file, line, column

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "file": self.file, "line": self.line, "column": self.column}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        request = json.load(fh)
    try:
        answer: dict[str, Any] = _Build(request).run()
    except Failed as exc:
        answer = {"error": exc.as_json()}
    text = json.dumps(answer)
    if len(text) > MAX_BUILD_BYTES:
        size = f"{len(text):,} bytes serialized, more than runner takes ({MAX_BUILD_BYTES:,})"
        text = json.dumps({"error": Failed(f"{request['label']}: the build made {size}").as_json()})
    with open(argv[2], "w", encoding="utf-8") as fh:
        fh.write(text)
    return 0


class _Build:
    def __init__(self, request: Mapping[str, Any]) -> None:
        self.kind: str = request["kind"]
        self.file: str = request["file"]
        self.function: str | None = request.get("function")
        self.label: str = request["label"]
        self.base: str = os.path.realpath(request["base"])
        self.memory: int = int(request["memory"])
        self.opened: set[str] = set()
        self.where: tuple[str | None, int] = (None, 1)  # the function's definition, once it is imported
        # frames and files here belong to runner, Python or installed packages, never to the user's project
        self.foreign = tuple(
            os.path.realpath(p) + os.sep
            for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), _package_root()}
        )

    def run(self) -> dict[str, Any]:
        self._import_engine()
        _limit_memory(self.memory)
        sys.addaudithook(self._audit)
        if self.kind == "qpy":
            made: Any = self._read_qpy()
        else:
            made = self._call()
        programs = self._sequence(made) if self.kind == "sequence" else self._circuits(made)
        return {"programs": programs, "deps": self._deps()}

    # what runs -------------------------------------------------------------------------------
    def _import_engine(self) -> None:
        try:
            if self.kind == "sequence":
                import pulser  # noqa: F401
            else:
                import qiskit
                import qiskit.qpy  # noqa: F401
        except ImportError as exc:
            needs = "pulser (pip install pulser-core)" if self.kind == "sequence" else "qiskit (runner[qiskit])"
            raise Failed(f"building {self.label} needs {needs}: {exc}") from None

    def _read_qpy(self) -> list[Any]:
        from qiskit import qpy

        try:
            with open(self.file, "rb") as fh:
                loaded = qpy.load(fh)
        except MemoryError:
            raise Failed(f"{self.label}: reading it needs more memory than a build may take") from None
        except Exception as exc:  # qiskit raises several unrelated types on malformed QPY
            raise Failed(f"{self.label} is not a QPY file qiskit reads: {_first_line(exc)}") from None
        return list(loaded)

    def _call(self) -> Any:
        sys.path[0] = os.path.dirname(self.file)  # as `python circuits/ghz.py` would: its folder first
        stem = os.path.splitext(os.path.basename(self.file))[0]
        name = stem if stem.isidentifier() and stem not in sys.modules else "_runner_build_module"
        spec = importlib.util.spec_from_file_location(name, self.file)
        if spec is None or spec.loader is None:
            raise Failed(f"{self.label} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # whatever the user's module raises, even SystemExit, is reported
            raise self._located(exc, f"importing {self.label} raised") from None
        function = getattr(module, self.function or "", None)
        if not callable(function):
            found = "defines no function" if function is None else "has something not callable as"
            raise Failed(f"{self.label} {found} '{self.function}'")
        self.where = _definition(function)
        try:
            return function()
        except BaseException as exc:
            raise self._located(exc, f"{self.function}() raised") from None

    # what it made ----------------------------------------------------------------------------
    def _circuits(self, made: Any) -> list[dict[str, Any]]:
        from qiskit import QuantumCircuit

        from runner.quantum import qpy

        many = isinstance(made, (list, tuple))
        circuits = list(made) if many else [made]
        if not circuits or not all(isinstance(c, QuantumCircuit) for c in circuits):
            got = "an empty list" if many and not circuits else _kind(made, QuantumCircuit)
            raise self._returned(f"returned {got}, not a qiskit QuantumCircuit or a list of them")
        base = self.function or os.path.splitext(os.path.basename(self.file))[0]
        out = []
        for i, circuit in enumerate(circuits):
            self._bounded(circuit, f"circuit {i}" if many else "the circuit")
            try:
                data = qpy.dump(qpy.canonical(circuit, f"{base}_{i}" if many else base))
            except Exception as exc:  # QPY refuses some objects a circuit may hold
                raise self._returned(f"returned a circuit QPY cannot store: {_first_line(exc)}") from None
            info = {
                "inputs": sorted(p.name for p in circuit.parameters),
                "num_qubits": circuit.num_qubits,
                "num_clbits": circuit.num_clbits,
                "measures": any(inst.operation.name == "measure" for inst in circuit.data),
            }
            out.append({"format": "qpy", "text": qpy.text_of(data), "digest": qpy.digest(data), "info": info})
        return out

    def _bounded(self, circuit: Any, which: str) -> None:
        for what, value, most in (
            ("qubits", circuit.num_qubits, MAX_QUBITS),
            ("classical bits", circuit.num_clbits, MAX_CLBITS),
            ("instructions", len(circuit.data), MAX_OPERATIONS),
        ):
            if value > most:
                raise self._returned(f"returned {which} with {value:,} {what}; runner takes at most {most:,}")

    def _sequence(self, made: Any) -> list[dict[str, Any]]:
        import pulser

        if not isinstance(made, pulser.Sequence):
            got = _kind(made, pulser.Sequence) if not isinstance(made, (list, tuple)) else f"a {type(made).__name__}"
            raise self._returned(f"returned {got}, not a pulser Sequence")
        try:
            text = made.to_abstract_repr()
        except Exception as exc:  # pulser refuses sequences its abstract representation cannot express
            raise self._returned(f"returned a sequence pulser cannot serialize: {_first_line(exc)}") from None
        body = json.loads(text)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # the digest leaves out the pulser version that wrote it, so upgrading pulser reruns nothing
        identity = {k: v for k, v in body.items() if k != "pulser_version"}
        key = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(key.encode()).hexdigest()
        declared = sorted(body.get("variables", {}))
        return [{"format": "pulser", "text": canonical, "digest": digest, "variables": declared}]

    # where ------------------------------------------------------------------------------------
    def _returned(self, message: str) -> Failed:
        file, line = self.where
        return Failed(f"{self.function}() {message}" if self.function else f"{self.label}: {message}", file, line)

    def _located(self, exc: BaseException, what: str) -> Failed:
        """One line for what the user's code raised, at the deepest frame of the user's own files."""
        if isinstance(exc, SyntaxError) and exc.filename and self._users(exc.filename):
            return Failed(f"SyntaxError: {exc.msg}", exc.filename, exc.lineno or 1, max(exc.offset or 1, 1))
        shown = f"{type(exc).__name__}: {_first_line(exc)}" if str(exc) else type(exc).__name__
        if isinstance(exc, SystemExit):
            shown = f"SystemExit (sys.exit({exc.code!r}))"
        elif isinstance(exc, MemoryError):
            shown = f"MemoryError (a build may take {self.memory / 2**30:g} GiB beyond what importing qiskit took)"
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if self._users(frame.filename):
                column = (frame.colno or 0) + 1
                return Failed(f"{what} {shown}", frame.filename, frame.lineno or 1, column)
        return Failed(f"{what} {shown}")

    def _users(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real.startswith(self.base + os.sep) and not real.startswith(self.foreign)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not isinstance(args[0], str):
            return
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or flags & (os.O_WRONLY | os.O_RDWR):
            return  # what the build writes is its output, not its input
        self.opened.add(args[0])

    def _deps(self) -> list[str]:
        """Files the build read in the manifest's folder besides its own: the cache builds again when one changes."""
        own = os.path.realpath(self.file)
        found = {os.path.realpath(p) for p in self.opened}
        return sorted(p for p in found if p != own and self._users(p) and not p.endswith(".pyc") and os.path.isfile(p))


def _definition(function: Any) -> tuple[str | None, int]:
    code = getattr(function, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code is not None else (None, 1)


def _kind(made: Any, wanted: type) -> str:
    """What a build returned instead of `wanted` (or a list of them), in a few words."""
    if isinstance(made, (list, tuple)):
        wrong = next((i for i in made if not isinstance(i, wanted)), made)
        return f"a list holding {_kind(wrong, wanted)}" if wrong is not made else _kind(made, type(None))
    if made is None:
        return "None"
    name = type(made).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _limit_memory(extra: int) -> None:
    """Cap the address space at what the process maps now plus `extra` (where the system allows it)."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, mapped + extra))
    except (ImportError, OSError, ValueError):
        return  # no /proc (macOS) or no rlimits (Windows): the time limit still bounds the build


if __name__ == "__main__":
    sys.exit(main(sys.argv))
