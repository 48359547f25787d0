"""Programs made by running code: a Python function (`circuits/ghz.py:build`) or a `.qpy` file read by qiskit.

Building runs the user's own code, as `make` runs a Makefile's recipes. It runs in a process of its
own (runner.quantum.build) with a time limit and a memory limit, and what comes back is data:
canonical QPY text per circuit, or a pulser sequence's abstract representation, each with the
digest that identifies it. A build is cached by the digest of its file, the function's name, the
versions of what builds it, and the digests of every other file the build read in the manifest's
folder (helper modules, data files), so validate and plan on an unchanged project start no process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

from runner.domain.fingerprint import digest, digest_bytes
from runner.manifest.files import FileRefused, read_regular
from runner.manifest.limits import BUILD_MEMORY_BYTES, BUILD_SECONDS, MAX_BUILD_BYTES, MAX_PROGRAM_BYTES

# `path.py:function`: the function is a plain identifier, so a Windows drive letter is never taken for one
REFERENCE = re.compile(r"^(?P<file>.+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")
_FORMAT = 1  # what a cache entry holds; bumped when that changes


def source_file(label: str) -> str:
    """The file a program's label names: `circuits/ghz.py:build[1]` -> `circuits/ghz.py`, `x.qpy[0]` -> `x.qpy`."""
    bare = re.sub(r"\[\d+\]$", "", label)
    reference = REFERENCE.match(bare)
    return reference["file"] if reference else bare


@dataclass(frozen=True)
class Request:
    """One build: what to run and how to name it in messages."""

    kind: str  # circuit | sequence | qpy
    file: str  # absolute
    function: str | None
    label: str  # the file as messages show it
    base: str  # the manifest's folder: the user's files are those under it
    source_digest: str


@dataclass(frozen=True)
class Made:
    """One program a build made: its format, text and digest, and what validation needs to know of it."""

    format: str
    text: str
    digest: str
    info: Mapping[str, Any] | None = None  # circuits: inputs, num_qubits, num_clbits, measures
    variables: tuple[str, ...] | None = None  # sequences: declared variables


class BuildError(Exception):
    """A build that made nothing; `file` None means it is located at the manifest's entry."""

    def __init__(self, message: str, file: str | None = None, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.file, self.line, self.column = message, file, line, column


def build(request: Request, env: Mapping[str, str], folder: str | None) -> list[Made]:
    """The programs a build makes, from the cache when nothing it read has changed since."""
    # the file's name is in the key too: a circuit qiskit named by its counter is named after it (runner.quantum.qpy)
    name = os.path.basename(request.file)
    key = digest([_FORMAT, request.kind, request.function, name, request.source_digest, _versions()])
    cached = _cached(folder, key)
    if cached is not None:
        return cached
    answer = _run(request, _timeout(env))
    if "error" in answer:
        raise BuildError(**answer["error"])
    made = [_made(p) for p in answer["programs"]]
    _store(folder, key, answer)
    return made


def _made(raw: Mapping[str, Any]) -> Made:
    variables = raw.get("variables")
    return Made(raw["format"], raw["text"], raw["digest"], raw.get("info"), tuple(variables) if variables else None)


def _timeout(env: Mapping[str, str]) -> float:
    try:
        return max(1.0, float(env.get("RUNNER_BUILD_TIMEOUT", BUILD_SECONDS)))
    except ValueError:
        return float(BUILD_SECONDS)


def _run(request: Request, timeout: float) -> dict[str, Any]:
    """Run the build process; a timeout, a crash or an answer too large is a BuildError."""
    with tempfile.TemporaryDirectory(prefix="runner-build-") as scratch:
        asked, answered = os.path.join(scratch, "request.json"), os.path.join(scratch, "result.json")
        with open(asked, "w", encoding="utf-8") as fh:
            json.dump({**request.__dict__, "memory": BUILD_MEMORY_BYTES}, fh)
        errors = os.path.join(scratch, "stderr")
        with open(errors, "wb") as err:
            code = _wait([sys.executable, "-m", "runner.quantum.build", asked, answered], request, err, timeout)
        try:
            return dict(json.loads(read_regular(answered, MAX_BUILD_BYTES)))
        except FileRefused as exc:
            if exc.reason != "not found":
                raise BuildError(f"building {request.label}: its answer {exc.reason}") from None
        except ValueError:
            pass
        raise BuildError(f"building {request.label} failed: {_death(code, errors)}")


def _wait(argv: list[str], request: Request, err: Any, timeout: float) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ left in the user's folders
    child = subprocess.Popen(
        argv,
        cwd=request.base,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # what the user's code prints is not runner's output
        stderr=err,
        start_new_session=True,  # its own process group: a timeout ends whatever the build started too
    )
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill(child)
        raise BuildError(
            f"building {request.label} took longer than {timeout:g} s, so it was stopped "
            "(set RUNNER_BUILD_TIMEOUT for a longer limit)"
        ) from None
    except BaseException:
        _kill(child)  # interrupted: never leave the user's code running behind us
        raise


def _kill(child: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        child.kill()
    child.wait()


def _death(code: int, errors: str) -> str:
    """Why a build process ended without an answer, with the last line it wrote on stderr."""
    try:
        with open(errors, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4096))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        tail = ""
    last = next((line.strip() for line in reversed(tail.splitlines()) if line.strip()), "")
    if code < 0:
        try:
            why = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            why = f"killed by signal {-code}"
    else:
        why = f"exit status {code}"
    memory = " (a build may take 2 GiB beyond its imports)" if "memory" in last.lower() else ""
    return f"{why}{memory}" + (f": {last[:300]}" if last else "")


@cache
def _versions() -> str:
    """What a build's output depends on besides the user's files."""
    found = [f"python={sys.version_info.major}.{sys.version_info.minor}"]
    for name in ("qiskit", "pulser-core"):
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=none")
    return ",".join(found)


# the cache ---------------------------------------------------------------------------------------
def _cached(folder: str | None, key: str) -> list[Made] | None:
    if folder is None:
        return None
    try:
        entry = json.loads(read_regular(os.path.join(folder, f"{key}.json"), MAX_BUILD_BYTES + MAX_PROGRAM_BYTES))
        deps = entry["deps"]
        for path, was in deps.items():
            if digest_bytes(read_regular(path, MAX_PROGRAM_BYTES)) != was:
                return None  # a helper module or data file changed: build again
        return [_made(p) for p in entry["programs"]]
    except (FileRefused, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, corrupt or foreign: build again


def _store(folder: str | None, key: str, answer: Mapping[str, Any]) -> None:
    if folder is None:
        return
    deps: dict[str, str] = {}
    for path in answer.get("deps", ()):
        try:
            deps[path] = digest_bytes(read_regular(path, MAX_PROGRAM_BYTES))
        except FileRefused:
            return  # a file the build read cannot be watched: do not cache what depends on it
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp", encoding="utf-8") as fh:
            json.dump({"deps": deps, "programs": answer["programs"]}, fh)
        os.replace(fh.name, os.path.join(folder, f"{key}.json"))
    except OSError:
        return  # a cache that cannot be written is only slower
