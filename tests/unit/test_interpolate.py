"""${VAR} and ${VAR:-default} in target settings."""

from __future__ import annotations

import time

import pytest

from runner.manifest.interpolate import Unresolved, resolve, targets
from runner.manifest.source import parse

ENV = {"EMU": "http://127.0.0.1:8767", "EMPTY": "", "PROJECT": "p-42"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${EMU}", "http://127.0.0.1:8767"),
        ("${EMU}/v1", "http://127.0.0.1:8767/v1"),
        ("${MISSING:-https://apis.pasqal.cloud}", "https://apis.pasqal.cloud"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMU:-unused}", "http://127.0.0.1:8767"),
        ("${MISSING:-}", ""),
        ("cost $$5", "cost $5"),
        ("$$${PROJECT}", "$p-42"),
        ("$HOME and $ alone", "$HOME and $ alone"),
        ("no references", "no references"),
    ],
)
def test_references_resolve(text: str, expected: str) -> None:
    assert resolve(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${MISSING}", "environment variable MISSING is not set (give a default with ${MISSING:-value})"),
        ("${EMPTY}", "environment variable EMPTY is not set (give a default with ${EMPTY:-value})"),
        ("${EMU", "'${' must be followed by a variable name and '}' (write $$ for a literal $)"),
        ("${1X}", "'${' must be followed by a variable name and '}' (write $$ for a literal $)"),
    ],
)
def test_unresolvable_references_name_the_variable(text: str, message: str) -> None:
    with pytest.raises(Unresolved) as caught:
        resolve(text, ENV)
    assert str(caught.value) == message


def test_targets_resolve_in_place_except_credentials_and_free_text() -> None:
    source = parse(
        "targets:\n"
        "  emu:\n"
        "    provider: pasqal\n"
        "    target: ${DEVICE:-EMU_MPS}\n"
        "    endpoint: ${EMU}\n"
        "    project_id: ${PROJECT}\n"
        "    description: costs $5 ${NOT_RESOLVED}\n"
        "    credentials: {token_env: '${NOT_RESOLVED}'}\n"
        "    options: {method: '${MISSING:-mps}'}\n",
        "m.yaml",
    )
    problems, changed = targets(source, ENV)
    assert problems == []
    body = source.data["targets"]["emu"]
    assert body["endpoint"] == "http://127.0.0.1:8767"
    assert body["target"] == "EMU_MPS"
    assert body["project_id"] == "p-42"
    assert body["options"] == {"method": "mps"}
    assert body["description"] == "costs $5 ${NOT_RESOLVED}"
    assert body["credentials"] == {"token_env": "${NOT_RESOLVED}"}
    assert changed == {
        "targets.emu.endpoint": "http://127.0.0.1:8767",
        "targets.emu.options.method": "mps",
        "targets.emu.project_id": "p-42",
        "targets.emu.target": "EMU_MPS",
    }


def test_an_unset_variable_is_located() -> None:
    source = parse("targets:\n  emu:\n    provider: pasqal\n    endpoint: http://${HOST}:8767\n", "m.yaml")
    problems, _ = targets(source, {})
    assert [str(p) for p in problems] == [
        "m.yaml:4:15: targets.emu.endpoint: environment variable HOST is not set (give a default with ${HOST:-value})"
    ]


def test_many_unclosed_references_are_one_quick_error() -> None:
    started = time.perf_counter()
    with pytest.raises(Unresolved):
        resolve("${A:-" * 400_000, {})
    assert time.perf_counter() - started < 1.0
