"""A small on-disk cache of verdicts, so validate and plan need not import qiskit or jsonschema.

Parsing OpenQASM needs qiskit (about 0.4 s to import here); the summary validation needs from a
parse (version, inputs, qubits, measurements, or the located parse error) is tiny. It is cached
per program digest (contents and includes) and per parser version. Schema validation needs
jsonschema (about 0.08 s to import and build the validator); a manifest text found valid against
this exact schema is remembered by the digest of both, so an unchanged manifest skips it. Both
live under $RUNNER_CACHE_DIR or $XDG_CACHE_HOME/runner; RUNNER_NO_CACHE=1 turns them off. A
corrupt or foreign entry is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from typing import Any

from runner.manifest.limits import MAX_CLBITS, MAX_NESTING, MAX_OPERATIONS, MAX_QASM3_BYTES, MAX_QUBITS
from runner.quantum import bounds, qasm


def cache_root(env: Mapping[str, str]) -> str | None:
    """Where verdicts are kept for this environment, or None when caching is off."""
    if env.get("RUNNER_NO_CACHE"):
        return None
    if env.get("RUNNER_CACHE_DIR"):
        return env["RUNNER_CACHE_DIR"]
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "runner")


def cache_dir(env: Mapping[str, str]) -> str | None:
    """Where program inspections are kept, or None when caching is off."""
    root = cache_root(env)
    return None if root is None else os.path.join(root, "programs")


def build_dir(env: Mapping[str, str]) -> str | None:
    """Where built programs (runner.manifest.builds) are kept, or None when caching is off."""
    root = cache_root(env)
    return None if root is None else os.path.join(root, "builds")


def _schema_mark(root: str, manifest_digest: str, schema_digest: str) -> str:
    key = hashlib.sha256(f"{schema_digest}:{manifest_digest}".encode()).hexdigest()
    return os.path.join(root, "schema", f"{key}.ok")


def known_valid(root: str | None, manifest_digest: str, schema_digest: str) -> bool:
    """Whether this exact manifest text was found valid against this exact schema before."""
    return root is not None and os.path.exists(_schema_mark(root, manifest_digest, schema_digest))


def remember_valid(root: str | None, manifest_digest: str, schema_digest: str) -> None:
    """Remember that this manifest text is valid against this schema (an empty marker file)."""
    if root is None:
        return
    mark = _schema_mark(root, manifest_digest, schema_digest)
    try:
        os.makedirs(os.path.dirname(mark), mode=0o700, exist_ok=True)
        with open(mark, "a", encoding="utf-8"):
            pass
    except OSError:
        return  # a cache that cannot be written is only slower


@cache
def _parser_versions() -> str:
    """What a verdict depends on besides the program: the parsers' versions and runner's own limits."""
    found = []
    for name in ("qiskit", "qiskit-qasm3-import", "openqasm3"):
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=none")
    # a program found valid before a limit existed (or changed) must be measured again
    found.append(f"bounds={bounds.RULES}:{MAX_QUBITS},{MAX_CLBITS},{MAX_OPERATIONS},{MAX_QASM3_BYTES},{MAX_NESTING}")
    return ",".join(found)


def inspect(text: str, include_dir: str | None, digest: str, folder: str | None) -> qasm.ProgramInfo:
    """qasm.inspect, answered from the cache when this exact program was inspected before."""
    if folder is None:
        return qasm.inspect(text, include_dir)
    path = os.path.join(folder, f"{digest}.json")
    cached = _read(path)
    if cached is not None:
        return _replay(cached)
    try:
        info = qasm.inspect(text, include_dir)
    except qasm.ProgramError as exc:
        _write(folder, path, {"error": [exc.message, exc.line, exc.column]})
        raise
    _write(folder, path, {"info": [info.version, list(info.inputs), info.num_qubits, info.num_clbits, info.measures]})
    return info


def _replay(entry: Mapping[str, Any]) -> qasm.ProgramInfo:
    if "error" in entry:
        message, line, column = entry["error"]
        raise qasm.ProgramError(str(message), int(line), int(column))
    version, inputs, qubits, clbits, measures = entry["info"]
    return qasm.ProgramInfo(int(version), tuple(inputs), int(qubits), int(clbits), bool(measures))


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            entry = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("parsers") != _parser_versions():
        return None
    if "error" not in entry and "info" not in entry:
        return None
    return entry


def _write(folder: str, path: str, entry: dict[str, object]) -> None:
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp", encoding="utf-8") as fh:
            json.dump({"parsers": _parser_versions(), **entry}, fh)
        os.replace(fh.name, path)  # atomic: a reader sees the old entry or the new one, never half
    except OSError:
        return  # a cache that cannot be written is only slower
