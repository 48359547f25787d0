"""Every example manifest validates and plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES, Ran

MANIFESTS = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.yaml"))


def test_examples_exist() -> None:
    assert "quickstart.yaml" in MANIFESTS


@pytest.mark.parametrize("name", MANIFESTS)
def test_example_validates_and_plans(name: str, examples: Path, cli: Callable[..., Ran]) -> None:
    path = str(examples / name)
    first_line = (examples / name).read_text().splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    schema = (EXAMPLES / name).parent / first_line.split("$schema=", 1)[1]
    assert schema.resolve().is_file(), f"{name}: the editor schema path {schema} does not exist"
    assert cli("validate", path).code == 0
    ran: Ran = cli("plan", path, "--detailed-exitcode")
    assert ran.code == 2, ran.err
    assert "to create" in ran.out
