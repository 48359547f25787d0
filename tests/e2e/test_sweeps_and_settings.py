"""Generated sweeps keep their addresses plan after plan; ${VAR} settings resolve before anything uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, Ran

from runner.manifest.loader import load


@contextmanager
def emulator() -> Iterator[str]:
    """`runner emulate superstaq` in a subprocess; its first stdout line is its URL."""
    command = [sys.executable, "-m", "runner", "emulate", "superstaq", "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def remote_jobs(url: str) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = httpx.get(f"{url}/_admin/state").json()["jobs"]
    return jobs


SWEEP = """\
version: 1
project: sweeps
jobs:
  rotation:
    program: circuits/rotation.qasm
    shots: 50
    matrix:
      theta: {linspace: [0, 6.2832, 21]}
  steps:
    program: circuits/rotation.qasm
    shots: 50
    matrix:
      theta: {range: [0, 1, 0.1]}
      precision: 4
"""


def planned(cli: Any, path: Path) -> list[tuple[str, str, str]]:
    ran: Ran = cli("plan", str(path), "--json")
    assert ran.code == 0, ran.err
    return [(c["address"], c["action"], c["fingerprint"]["after"]) for c in json.loads(ran.out)["changes"]]


def test_a_linspace_sweep_plans_the_same_addresses_twice_and_nothing_after_apply(examples: Path, cli: Any) -> None:
    path = examples / "sweeps.yaml"
    path.write_text(SWEEP)
    first = planned(cli, path)
    assert first == planned(cli, path)  # same addresses, same fingerprints
    addresses = [a for a, _, _ in first]
    assert len(addresses) == 31
    assert "job.rotation[theta=0.31416]" in addresses and "job.rotation[theta=6.2832]" in addresses
    assert "job.steps[theta=0.3]" in addresses and "job.steps[theta=0.7]" in addresses  # not 0.30000000000000004
    assert cli("apply", str(path), "--yes").code == 0
    again: Ran = cli("plan", str(path), "--detailed-exitcode")
    assert again.code == 0, again.out
    assert [(a, action) for a, action, _ in planned(cli, path)] == [(a, "noop") for a in sorted(addresses)]


def test_a_billion_point_linspace_is_refused_at_once(examples: Path, cli: Any) -> None:
    path = examples / "huge.yaml"
    path.write_text(SWEEP.replace("21]}", "1000000000]}"))
    ran: Ran = cli("validate", str(path))
    assert (ran.code, ran.err) == (1, f"{path}:8:7: sweep expands to 1000000000 jobs, more than max_jobs (10000)\n")


SETTINGS = """\
version: 1
project: settings
targets:
  ss:
    provider: superstaq
    endpoint: ${RUNNER_TEST_SUPERSTAQ_URL:-https://superstaq.infleqtion.com}
    target: ${RUNNER_TEST_DEVICE:-ss_unconstrained_simulator}
    credentials: {api_key_env: SUPERSTAQ_API_KEY}
jobs:
  bell: {target: ss, program: circuits/bell.qasm, shots: 10}
"""


def test_settings_resolve_from_the_environment_or_their_default(examples: Path) -> None:
    path = examples / "settings.yaml"
    path.write_text(SETTINGS)
    target = load(str(path), env={"RUNNER_TEST_SUPERSTAQ_URL": "http://127.0.0.1:8767"}).targets["ss"]
    assert (target.config["endpoint"], target.target) == ("http://127.0.0.1:8767", "ss_unconstrained_simulator")
    target = load(str(path), env={}).targets["ss"]
    assert target.config["endpoint"] == "https://superstaq.infleqtion.com"


def test_an_unset_variable_without_default_is_a_located_error(examples: Path, cli: Any) -> None:
    path = examples / "settings.yaml"
    path.write_text(SETTINGS.replace(":-https://superstaq.infleqtion.com}", "}"))
    ran: Ran = cli("validate", str(path))
    assert (ran.code, ran.err) == (
        1,
        f"{path}:6:15: targets.ss.endpoint: environment variable RUNNER_TEST_SUPERSTAQ_URL is not set "
        "(give a default with ${RUNNER_TEST_SUPERSTAQ_URL:-value})\n",
    )


def test_one_manifest_applies_against_the_emulator_named_by_the_environment(
    examples: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = examples / "settings.yaml"
    path.write_text(SETTINGS)
    monkeypatch.setenv("SUPERSTAQ_API_KEY", "emulator-key")
    with emulator() as url:
        monkeypatch.setenv("RUNNER_TEST_SUPERSTAQ_URL", url)
        assert cli("validate", str(path)).code == 0
        applied: Ran = cli("apply", str(path), "--yes")
        assert applied.code == 0, applied.err
        assert len(remote_jobs(url)) == 1  # the job went to the service the variable names
        assert cli("plan", str(path), "--detailed-exitcode").code == 0
