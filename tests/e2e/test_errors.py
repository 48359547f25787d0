"""An unexpected exception is a bug: one line and exit 70 by default, the traceback with --debug."""

from __future__ import annotations

import pytest
from conftest import Ran


def broken(*args: object, **kwargs: object) -> object:
    raise ZeroDivisionError("division by zero\nsecond line")


def test_a_bug_is_one_line_and_exit_70(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from runner import app

    monkeypatch.setattr(app, "status", broken)
    ran: Ran = cli("status", "--state", "x.db")
    assert ran.code == 70
    assert ran.err == (
        "error: internal error (ZeroDivisionError: division by zero); run again with --debug "
        "(or RUNNER_DEBUG=1) to see the traceback, and please report it\n"
    )
    assert "Traceback" not in ran.err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(cli, monkeypatch: pytest.MonkeyPatch, how: str) -> None:  # type: ignore[no-untyped-def]
    from runner import app

    monkeypatch.setattr(app, "status", broken)
    if how == "env":
        monkeypatch.setenv("RUNNER_DEBUG", "1")
    ran: Ran = cli(*(["--debug"] if how == "flag" else []), "status", "--state", "x.db")
    assert ran.code == 70
    assert ran.err.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in ran.err
    assert ran.err.splitlines()[-1].startswith("error: internal error (ZeroDivisionError")


def test_an_expected_error_is_not_internal(cli) -> None:  # type: ignore[no-untyped-def]
    ran: Ran = cli("status", "--state", "missing.db")
    assert ran.code == 1
    assert ran.err == "error: no state file at missing.db: nothing has been applied with it yet\n"
