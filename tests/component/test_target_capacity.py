"""A program wider than its target takes is refused by validate, before anything is simulated or sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ManifestError
from runner.manifest.loader import load

WORKSPACE = (
    "workspace: {subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, "
    "location: eastus}, credentials: {api_key_env: KEY}"
)


def ghz(qubits: int) -> str:
    return (
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{qubits}];\ncreg c[{qubits}];\nh q[0];\n'
        + "".join(f"cx q[0], q[{i}];\n" for i in range(1, qubits))
        + "measure q -> c;\n"
    )


def manifest(tmp_path: Path, qubits: int, target: str) -> str:
    (tmp_path / "ghz.qasm").write_text(ghz(qubits))
    path = tmp_path / "m.yaml"
    path.write_text(
        f"version: 1\nproject: wide\ntargets:\n  t: {target}\njobs:\n  ghz: {{target: t, program: ghz.qasm}}\n"
    )
    return "m.yaml"  # the tests run in tmp_path


@pytest.mark.parametrize(
    ("qubits", "target", "message"),
    [
        (
            31,
            "{provider: local}",
            "takes at most 30; Aer methods stabilizer and matrix_product_state take wider circuits",
        ),
        (16, "{provider: local, options: {method: density_matrix}}", "takes at most 15; Aer methods stabilizer"),
        (30, f"{{provider: azure, target: ionq.simulator, {WORKSPACE}}}", "(azure ionq.simulator) takes at most 29"),
        (21, f"{{provider: azure, target: quantinuum.sim.h1-1e, {WORKSPACE}}}", "takes at most 20"),
    ],
)
def test_a_program_wider_than_its_target_is_refused(tmp_path: Path, qubits: int, target: str, message: str) -> None:
    path = manifest(tmp_path, qubits, target)
    with pytest.raises(ManifestError) as caught:
        load(path)
    lines = caught.value.lines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:6:29: ghz.qasm uses {qubits} qubits; target 't' ")
    assert message in lines[0]


@pytest.mark.parametrize(
    ("qubits", "target"),
    [
        (30, "{provider: local}"),
        (200, "{provider: local, options: {method: stabilizer}}"),
        (100, "{provider: local, options: {method: matrix_product_state}}"),
        (29, f"{{provider: azure, target: ionq.simulator, {WORKSPACE}}}"),
        (100, "{provider: superstaq, target: ss_unconstrained_simulator, credentials: {api_key_env: KEY}}"),
    ],
)
def test_a_program_within_its_target_is_accepted(tmp_path: Path, qubits: int, target: str) -> None:
    assert load(manifest(tmp_path, qubits, target)).jobs["ghz"].programs[0].label.endswith("ghz.qasm")
