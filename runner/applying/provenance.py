"""Where a run came from: git commit and dirtiness of the manifest's folder, tool versions."""

from __future__ import annotations

import getpass
import os
import platform
import socket
import subprocess
from collections.abc import Sequence
from importlib import metadata
from typing import Any

_PACKAGES = ("runner", "qiskit", "qiskit-aer", "httpx", "pulser-core")


def versions() -> dict[str, str]:
    """Installed versions of runner and the packages it runs with (read from metadata, no imports)."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def git(folder: str, files: Sequence[str] = ()) -> dict[str, Any]:
    """Commit and dirty flag of the repository holding folder, or {} when it is not in one.

    Dirty means the files that decide what runs (the manifest and its program files) differ from
    the commit, or are not in it; other untracked files (plots, reports) do not count.
    """

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", folder, *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if not commit:
        return {}
    status = (
        run("status", "--porcelain", "--", *files)
        if files
        else run("status", "--porcelain", "--", ".", ":(exclude).runner")
    )
    return {"git_commit": commit, "git_dirty": int(bool(status))}


def run_info(
    manifest_path: str | None, manifest_digest: str | None, plan_digest: str | None = None, files: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything a history row records about an apply."""
    info: dict[str, Any] = {
        "manifest": manifest_path,
        "manifest_digest": manifest_digest,
        "plan_digest": plan_digest,
        "versions": versions(),
        "user": _user(),
        "host": socket.gethostname(),
    }
    if manifest_path:
        sources = [os.path.abspath(manifest_path), *(os.path.abspath(f) for f in files)]
        info.update(git(os.path.dirname(os.path.abspath(manifest_path)) or ".", sources))
    return info


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
