"""Programs written in Python, through the CLI: a two-Parameter sweep on the local simulator and on emulators,
a comment that plans nothing, a gate that plans a replace, a QPY file, and a pulser sequence built by Python."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Ran

from runner import emulators
from runner.emulators.server import EmulatorServer

SWEEP = [
    "job.ghz[phi=0.0,theta=0.0]",
    "job.ghz[phi=0.0,theta=1.5708]",
    "job.ghz[phi=3.1416,theta=0.0]",
    "job.ghz[phi=3.1416,theta=1.5708]",
]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.slow
def test_a_python_sweep_applies_locally_and_only_a_gate_edit_reruns_it(examples: Path, cli: Callable[..., Ran]) -> None:
    m = str(examples / "python" / "python.yaml")
    applied = cli("apply", m, "--yes", "--target", "job.ghz", "--target", "job.pair")
    assert applied.code == 0, applied.err
    assert "Apply complete: 5 created, 0 updated, 0 replaced, 0 deleted, 0 failed" in applied.out
    results = {r["address"]: r for r in json.loads(cli("results", "-m", m, "--json").out)}
    assert sorted(results) == sorted([*SWEEP, "job.pair"])
    # theta is a phase on the GHZ state (invisible in counts), phi tilts the last qubit: ry(pi) flips it
    assert set(results["job.ghz[phi=0.0,theta=0.0]"]["counts"]) == {"000", "111"}
    assert set(results["job.ghz[phi=3.1416,theta=1.5708]"]["counts"]) == {"100", "011"}
    bell, rotation = results["job.pair"]["counts"]
    assert set(bell) == {"00", "11"} and set(rotation) == {"0", "1"}

    ghz = examples / "python" / "circuits" / "ghz.py"
    edit(ghz, "circuit.h(0)", "circuit.h(0)  # a comment only")
    unchanged = cli("plan", m, "--detailed-exitcode", "--target", "job.ghz", "--target", "job.pair")
    assert unchanged.code == 0, unchanged.out + unchanged.err
    assert "No changes." in unchanged.out

    edit(ghz, "circuit.cx(1, 2)", "circuit.cz(1, 2)")
    changed = cli("plan", m, "--json", "--target", "job.ghz", "--target", "job.pair")
    actions = {c["address"]: (c["action"], c["reason"]) for c in json.loads(changed.out)["changes"]}
    assert actions == {**dict.fromkeys(SWEEP, ("replace", "program changed")), "job.pair": ("noop", "unchanged")}


@pytest.fixture
def served() -> Iterator[Callable[[str], EmulatorServer]]:
    started: list[EmulatorServer] = []

    def start(name: str) -> EmulatorServer:
        server = emulators.start(name, seed=5)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def target_manifest(folder: Path, target: str) -> Path:
    path = folder / "python" / "remote.yaml"
    path.write_text(
        "# yaml-language-server: $schema=../../schemas/manifest.v1.json\nversion: 1\nproject: remote\n"
        f"targets:\n{target}\njobs:\n  ghz:\n    target: remote\n    program: circuits/ghz.py:build\n    shots: 200\n"
        "    matrix: {theta: [0.0, 1.5708], phi: [0.0, 3.1416]}\n"
    )
    return path


@pytest.mark.parametrize("provider", ["superstaq", "azure"])
def test_a_python_sweep_applies_on_an_emulator(
    provider: str,
    examples: Path,
    cli: Callable[..., Ran],
    served: Callable[[str], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = served(provider)
    if provider == "superstaq":
        monkeypatch.setenv("SUPERSTAQ_API_KEY", "emulator-key")
        target = (
            "  remote: {provider: superstaq, target: ss_unconstrained_simulator, "
            f"endpoint: '{server.url}', credentials: {{api_key_env: SUPERSTAQ_API_KEY}}}}"
        )
    else:
        monkeypatch.setenv("AZURE_QUANTUM_API_KEY", "emulator-key")
        target = (
            f"  remote:\n    provider: azure\n    target: ionq.simulator\n    endpoint: '{server.url}'\n"
            "    workspace: {subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, "
            "name: ws, location: eastus}\n    credentials: {api_key_env: AZURE_QUANTUM_API_KEY}"
        )
    m = str(target_manifest(examples, target))
    applied = cli("apply", m, "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "4 created" in applied.out
    waited = cli("wait", "-m", m, "--timeout", "120")
    assert waited.code == 0, waited.out + waited.err
    results = {r["address"]: r["counts"] for r in json.loads(cli("results", "-m", m, "--json").out)}
    assert sorted(results) == SWEEP
    assert set(results["job.ghz[phi=0.0,theta=0.0]"]) == {"000", "111"}
    assert set(results["job.ghz[phi=3.1416,theta=0.0]"]) == {"100", "011"}
    assert cli("plan", m, "--detailed-exitcode").code == 0


def test_a_qpy_program_applies(tmp_path: Path, cli: Callable[..., Ran]) -> None:
    from qiskit import QuantumCircuit, qpy
    from qiskit.circuit import Parameter

    circuit = QuantumCircuit(1, name="flip")
    circuit.rx(Parameter("theta"), 0)
    circuit.measure_all()
    (tmp_path / "flip.qpy").write_bytes(b"")
    with (tmp_path / "flip.qpy").open("wb") as fh:
        qpy.dump(circuit, fh)
    (tmp_path / "m.yaml").write_text(
        "version: 1\nproject: q\njobs:\n  flip:\n    program: flip.qpy\n    shots: 100\n"
        "    matrix: {theta: [0.0, 3.14159265]}\n"
    )
    applied = cli("apply", "m.yaml", "--yes")
    assert applied.code == 0, applied.err
    counts = {r["address"]: r["counts"] for r in json.loads(cli("results", "-m", "m.yaml", "--json").out)}
    assert counts == {"job.flip[theta=0.0]": {"0": 100}, "job.flip[theta=3.14159265]": {"1": 100}}


def test_a_python_built_sequence_applies_on_the_pasqal_emulator(
    examples: Path, cli: Callable[..., Ran], served: Callable[[str], EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pulser_simulation", reason="the Pasqal emulator runs sequences with pulser-simulation")
    server = served("pasqal")
    monkeypatch.setenv("PASQAL_TOKEN", "anything")
    path = examples / "python" / "python.yaml"
    edit(path, "http://127.0.0.1:8766", server.url)
    m = str(path)
    applied = cli("apply", m, "--yes", "--target", "batch.rabi")
    assert applied.code == 0, applied.out + applied.err
    assert "3 created" in applied.out  # the batch and its two jobs
    waited = cli("wait", "-m", m, "--timeout", "120")
    assert waited.code == 0, waited.out + waited.err
    results = {r["address"]: r for r in json.loads(cli("results", "-m", m, "--json").out)}
    assert sorted(results) == ["batch.rabi.job[omega=1.5708]", "batch.rabi.job[omega=3.1416]"]
    for row in results.values():
        assert set(row["counts"]) <= {"0", "1"} and sum(row["counts"].values()) == 100
    assert cli("plan", m, "--detailed-exitcode", "--target", "batch.rabi").code == 0


@pytest.mark.slow
def test_an_uncommitted_edit_of_the_python_file_marks_the_run_dirty(examples: Path, cli: Callable[..., Ran]) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=examples, check=True, capture_output=True
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "v1")
    m = str(examples / "python" / "python.yaml")
    assert cli("apply", m, "--yes", "--target", "job.ghz").code == 0
    edit(examples / "python" / "circuits" / "ghz.py", "circuit.h(0)", "circuit.h(0)  # not committed")
    assert cli("apply", m, "--yes", "--target", "job.pair").code == 0  # ghz.py builds job.pair too
    runs = json.loads(cli("history", "-m", m, "--json").out)
    assert [r["git_dirty"] for r in runs] == [0, 1]
