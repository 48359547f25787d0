"""Secrets come from environment variables or files named in the manifest; never from the manifest."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.errors import AuthError


def secret(target: str, credentials: Mapping[str, Any], env: Mapping[str, str], base_dir: str, name: str) -> str | None:
    """The value of credential `name` (from `<name>_env` or `<name>_file`), or None if neither is set.

    Error messages name the variable or file, never the value.
    """
    env_key, file_key = f"{name}_env", f"{name}_file"
    if env_key in credentials:
        var = str(credentials[env_key])
        value = env.get(var)
        if not value:
            raise AuthError(f"targets.{target}: environment variable {var} ({env_key}) is not set")
        return value.strip()
    if file_key in credentials:
        path = os.path.join(base_dir, os.path.expanduser(str(credentials[file_key])))
        try:
            with open(path, encoding="utf-8") as fh:
                value = fh.readline().strip()
        except OSError as exc:
            raise AuthError(f"targets.{target}: cannot read {file_key} {path}: {exc.strerror}") from None
        if not value:
            raise AuthError(f"targets.{target}: {file_key} {path} is empty")
        return value
    return None


def required(target: str, credentials: Mapping[str, Any], env: Mapping[str, str], base_dir: str, name: str) -> str:
    """Like secret(), but a missing credential is an AuthError naming what to set."""
    value = secret(target, credentials, env, base_dir, name)
    if value is None:
        raise AuthError(f"targets.{target}: credentials need {name}_env or {name}_file")
    return value
