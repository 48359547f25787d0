"""Secrets are checked when read, and no message ever holds one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.errors import AuthError
from runner.providers.credentials import required, secret

SECRET = "s3cr3t-VALUE-7f2a"


def read(credentials: dict[str, str], env: dict[str, str], base: Path, name: str = "api_key") -> str:
    return required("az", credentials, env, str(base), name)


def refused(credentials: dict[str, str], env: dict[str, str], base: Path, name: str = "api_key") -> str:
    with pytest.raises(AuthError) as caught:
        read(credentials, env, base, name)
    message = caught.value.message
    assert SECRET not in message and "\n" not in message
    return message


def test_a_clean_secret_is_returned_without_surrounding_space(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(f"{SECRET}\n")
    assert read({"api_key_env": "KEY"}, {"KEY": f"  {SECRET}\n"}, tmp_path) == SECRET
    assert read({"api_key_file": "key"}, {}, tmp_path) == SECRET
    assert secret("az", {}, {}, str(tmp_path), "api_key") is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (f"{SECRET}\nX-Injected: 1", "contains a control character (a line break?): give the api_key alone"),
        (f"{SECRET}\r{SECRET}", "contains a control character (a line break?): give the api_key alone"),
        (f"{SECRET}\x00", "contains a control character (a line break?): give the api_key alone"),
        (f"{SECRET}é", "contains non-ASCII characters; the api_key goes in an HTTP header, which takes ASCII only"),
    ],
)
def test_a_bad_environment_secret_names_the_variable_not_the_value(tmp_path: Path, value: str, why: str) -> None:
    message = refused({"api_key_env": "KEY"}, {"KEY": value}, tmp_path)
    assert message == f"targets.az: environment variable KEY (api_key_env) {why}"


def test_passwords_may_hold_any_printable_text_but_no_line_break(tmp_path: Path) -> None:
    assert read({"password_env": "PW"}, {"PW": "pässwörd"}, tmp_path, "password") == "pässwörd"
    message = refused({"password_env": "PW"}, {"PW": f"{SECRET}\n2"}, tmp_path, "password")
    assert message.endswith("contains a control character (a line break?): give the password alone")


def test_a_non_utf8_secret_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_bytes(SECRET.encode() + b"\xff\xfe")
    message = refused({"api_key_file": "key"}, {}, tmp_path)
    assert message == f"targets.az: api_key_file {tmp_path / 'key'} is not UTF-8 text"


def test_a_secret_file_with_a_control_character_in_its_first_line(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(f"{SECRET}\x1b[2J\nsecond line\n")
    message = refused({"api_key_file": "key"}, {}, tmp_path)
    assert message == (
        f"targets.az: api_key_file {tmp_path / 'key'} contains a control character (a line break?): "
        "give the api_key alone"
    )


def test_a_fifo_a_directory_or_a_huge_file_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # nobody writes to it: an open() without O_NONBLOCK would wait forever
    (tmp_path / "dir").mkdir()
    (tmp_path / "huge").write_bytes(b"k" * (64 * 1024 + 1))
    assert refused({"api_key_file": "fifo"}, {}, tmp_path).endswith("is a named pipe (FIFO), not a regular file")
    assert refused({"api_key_file": "dir"}, {}, tmp_path).endswith("is a directory, not a regular file")
    assert refused({"api_key_file": "huge"}, {}, tmp_path).endswith("is larger than 64 KiB")
    assert refused({"api_key_file": "/dev/zero"}, {}, tmp_path).endswith("is a device, not a regular file")
