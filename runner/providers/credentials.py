"""Secrets come from environment variables or files named in the manifest; never from the manifest.

A secret is checked when it is read, so a bad one fails here with a line naming where it came
from instead of later inside an HTTP library, whose message may quote it: no control characters
(a newline pasted with a key), and printable ASCII only for everything sent in an HTTP header or
URL (keys, tokens, connection strings, client and tenant ids). Usernames and passwords travel in
request bodies, so they may hold any printable text. A secret file must be a regular UTF-8 file
of at most MAX_SECRET_BYTES; its first line is the secret. No message ever contains a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.errors import AuthError
from runner.manifest.files import FileRefused, read_regular
from runner.manifest.limits import MAX_SECRET_BYTES

TEXT_SECRETS = frozenset({"username", "password"})  # sent in bodies: any printable text


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
        return _checked(value.strip(), name, f"targets.{target}: environment variable {var} ({env_key})")
    if file_key in credentials:
        path = os.path.join(base_dir, os.path.expanduser(str(credentials[file_key])))
        where = f"targets.{target}: {file_key} {path}"
        try:
            data = read_regular(path, MAX_SECRET_BYTES)
        except FileRefused as exc:
            raise AuthError(f"{where} {exc.reason}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthError(f"{where} is not UTF-8 text") from None
        value = text.split("\n", 1)[0].strip()
        if not value:
            raise AuthError(f"targets.{target}: {file_key} {path} is empty")
        return _checked(value, name, where)
    return None


def _checked(value: str, name: str, where: str) -> str:
    """The value, if it can be sent as this credential; else an AuthError naming `where`, not the value."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0x80 <= ord(c) < 0xA0 for c in value):
        raise AuthError(f"{where} contains a control character (a line break?): give the {name} alone")
    if name not in TEXT_SECRETS and not value.isascii():
        raise AuthError(
            f"{where} contains non-ASCII characters; the {name} goes in an HTTP header, which takes ASCII only"
        )
    return value


def required(target: str, credentials: Mapping[str, Any], env: Mapping[str, str], base_dir: str, name: str) -> str:
    """Like secret(), but a missing credential is an AuthError naming what to set."""
    value = secret(target, credentials, env, base_dir, name)
    if value is None:
        raise AuthError(f"targets.{target}: credentials need {name}_env or {name}_file")
    return value
