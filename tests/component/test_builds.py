"""Programs built by the user's Python (and read from .qpy files): identity by what was built, located errors,
bounded time, and a cache that starts no process on an unchanged project but never serves a stale build."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from runner.domain.model import Manifest
from runner.errors import ManifestError
from runner.manifest import builds, loader

GHZ = '''"""A GHZ circuit with two Parameters."""
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter


def build():
    theta, phi = Parameter("theta"), Parameter("phi")
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.rz(theta, 0)
    circuit.ry(phi, 2)
    circuit.measure_all()
    return circuit
'''

MANIFEST = """version: 1
project: built
jobs:
  ghz:
    program: circuits/ghz.py:build
    matrix: {theta: [0.0, 1.5], phi: [0.5, 1.0]}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "p" / "circuits").mkdir(parents=True)
    (tmp_path / "p" / "circuits" / "ghz.py").write_text(GHZ)
    (tmp_path / "p" / "m.yaml").write_text(MANIFEST)
    return tmp_path / "p"


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def load(folder: Path, **extra: str) -> Manifest:
    return loader.load("p/m.yaml", env=env(**extra))  # relative to the test's folder, as messages show it


def problems(folder: Path, **extra: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load(folder, **extra)
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """How long each build process took (one entry per process started)."""
    taken: list[float] = []
    real = builds._run

    def timed(request: builds.Request, timeout: float) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return real(request, timeout)
        finally:
            taken.append(time.perf_counter() - started)

    monkeypatch.setattr(builds, "_run", timed)
    return taken


def digests(manifest: Manifest) -> list[str]:
    return [p.digest for p in manifest.jobs["ghz"].programs]


def test_the_same_file_builds_to_the_same_digest_in_separate_processes(folder: Path, runs: list[float]) -> None:
    first, second = load(folder, RUNNER_NO_CACHE="1"), load(folder, RUNNER_NO_CACHE="1")
    assert len(runs) == 2  # two build processes, each with its own random Parameter UUIDs and circuit counter
    assert digests(first) == digests(second)
    program = first.jobs["ghz"].programs[0]
    assert (program.label, program.format) == ("p/circuits/ghz.py:build", "qpy")


def test_a_comment_keeps_the_digest_and_a_gate_changes_it(folder: Path) -> None:
    before = digests(load(folder))
    ghz = folder / "circuits" / "ghz.py"
    ghz.write_text(ghz.read_text().replace("circuit.h(0)", "circuit.h(0)  # superposition first"))
    assert digests(load(folder)) == before
    ghz.write_text(ghz.read_text().replace("circuit.cx(1, 2)", "circuit.cz(1, 2)"))
    assert digests(load(folder)) != before


def test_an_unchanged_file_is_not_built_again(folder: Path, runs: list[float]) -> None:
    load(folder)
    started = time.perf_counter()
    load(folder)
    cached = time.perf_counter() - started
    assert len(runs) == 1
    assert cached < runs[0]


def test_an_edited_helper_module_is_built_again(folder: Path, runs: list[float]) -> None:
    (folder / "circuits" / "angles.py").write_text("TILT = 0.25\n")
    ghz = folder / "circuits" / "ghz.py"
    tilt = "circuit.h(0)\n    circuit.rx(__import__('angles').TILT, 1)"
    ghz.write_text(ghz.read_text().replace("circuit.h(0)", tilt))
    before = digests(load(folder))
    assert digests(load(folder)) == before and len(runs) == 1
    (folder / "circuits" / "angles.py").write_text("TILT = 0.5\n")
    assert digests(load(folder)) != before and len(runs) == 2


def test_matrix_keys_bind_to_parameters_by_name(folder: Path) -> None:
    (folder / "m.yaml").write_text(MANIFEST.replace("phi: [0.5, 1.0]", "psi: [0.5, 1.0]"))
    assert problems(folder) == [
        "p/m.yaml:4:3: input 'phi' of p/circuits/ghz.py:build has no value: set it in params or matrix",
        "p/m.yaml:6:38: 'psi' is not an input of p/circuits/ghz.py:build (inputs: phi, theta)",
    ]


HOSTILE = """import os, subprocess, sys, time
from qiskit import QuantumCircuit


def helper(n):
    if n > 2:
        raise ValueError("three is too many\\nand this line is not shown")
    return QuantumCircuit(n)


def raises():
    return helper(3)


def number():
    return 42


def mixed():
    return [QuantumCircuit(1), "x"]


def slow():
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # the kill must reach it
    with open("grandchild.pid", "w") as fh:
        fh.write(str(grandchild.pid))
    time.sleep(60)


def exits():
    print("noise on stdout")
    sys.exit(3)


def wide():
    return QuantumCircuit(5000)
"""


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("raises", "circuits/bad.py:7:9: raises() raised ValueError: three is too many"),
        ("number", "circuits/bad.py:15:1: number() returned an int, not a qiskit QuantumCircuit or a list of them"),
        ("mixed", "circuits/bad.py:19:1: mixed() returned a list holding a str, not a qiskit QuantumCircuit or a list"),
        ("exits", "circuits/bad.py:32:5: exits() raised SystemExit (sys.exit(3))"),
        ("wide", "circuits/bad.py:35:1: wide() returned the circuit with 5,000 qubits; runner takes at most 4,096"),
        ("missing", "m.yaml:4:16: p/circuits/bad.py defines no function 'missing'"),
    ],
)
def test_errors_name_the_users_file_and_line(folder: Path, function: str, expected: str) -> None:
    (folder / "circuits" / "bad.py").write_text(HOSTILE)
    (folder / "m.yaml").write_text(f"version: 1\nproject: b\njobs:\n  a: {{program: circuits/bad.py:{function}}}\n")
    found = problems(folder)
    assert len(found) == 1
    assert found[0].startswith("p/" + expected)
    if function == "mixed":
        assert found[0].endswith("of them")


def test_a_syntax_error_is_located_in_the_python_file(folder: Path) -> None:
    (folder / "circuits" / "ghz.py").write_text(GHZ.replace("def build():", "def build(:"))
    assert problems(folder) == ["p/circuits/ghz.py:6:11: SyntaxError: invalid syntax"]


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.slow
def test_a_build_past_its_time_is_stopped_with_what_it_started(folder: Path) -> None:
    (folder / "circuits" / "bad.py").write_text(HOSTILE)
    (folder / "m.yaml").write_text("version: 1\nproject: b\njobs:\n  a: {program: circuits/bad.py:slow}\n")
    started = time.perf_counter()
    found = problems(folder, RUNNER_BUILD_TIMEOUT="3")
    assert time.perf_counter() - started < 15
    assert not alive(int((folder / "grandchild.pid").read_text()))
    assert found == [
        "p/m.yaml:4:16: building p/circuits/bad.py took longer than 3 s, so it was stopped "
        "(set RUNNER_BUILD_TIMEOUT for a longer limit)"
    ]


def test_python_named_without_a_function_says_how_to_name_it(folder: Path) -> None:
    (folder / "m.yaml").write_text("version: 1\nproject: b\njobs:\n  a: {program: circuits/ghz.py}\n")
    assert problems(folder) == [
        "p/m.yaml:4:16: 'circuits/ghz.py' is Python: name the function that builds the program, "
        "e.g. circuits/ghz.py:build"
    ]


def test_validate_without_programs_runs_nothing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a build process was started")

    monkeypatch.setattr(builds, "_run", refuse)
    manifest = loader.load("p/m.yaml", check_programs=False, env=env())
    assert len(manifest.jobs["ghz"].programs) == 1
    (folder / "m.yaml").write_text(MANIFEST.replace("ghz.py:build", "ghz.py:bild"))
    with pytest.raises(ManifestError) as caught:
        loader.load("p/m.yaml", check_programs=False, env=env())
    assert [str(p) for p in caught.value.problems] == ["p/m.yaml:5:14: p/circuits/ghz.py defines no function 'bild'"]


def qpy_file(path: Path, circuits: list[Any]) -> None:
    from qiskit import qpy

    with path.open("wb") as fh:
        qpy.dump(circuits, fh)


def test_a_qpy_file_gives_one_program_per_circuit(folder: Path) -> None:
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    bell = QuantumCircuit(2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    rotation = QuantumCircuit(1)
    rotation.rx(Parameter("theta"), 0)
    rotation.measure_all()
    qpy_file(folder / "circuits" / "pair.qpy", [bell, rotation])
    (folder / "m.yaml").write_text(
        "version: 1\nproject: q\njobs:\n  pair: {program: circuits/pair.qpy, params: {theta: 1.0}}\n"
    )
    programs = load(folder).jobs["pair"].programs
    labels = [(p.label, p.format) for p in programs]
    assert labels == [("p/circuits/pair.qpy[0]", "qpy"), ("p/circuits/pair.qpy[1]", "qpy")]
    (folder / "circuits" / "pair.qpy").write_bytes(b"QISKIT not really")
    assert problems(folder)[0].startswith("p/m.yaml:4:19: p/circuits/pair.qpy is not a QPY file qiskit reads: ")


def test_where_a_problem_of_a_built_list_is_located(folder: Path) -> None:
    (folder / "circuits" / "two.py").write_text(
        "from qiskit import QuantumCircuit\n\ndef build():\n    a = QuantumCircuit(1)\n    a.measure_all()\n"
        "    return [a, QuantumCircuit(1)]\n"
    )
    (folder / "m.yaml").write_text(
        "version: 1\nproject: q\njobs:\n  two:\n    programs:\n      - circuits/ghz.py:build\n"
        "      - circuits/two.py:build\n    params: {theta: 1.0, phi: 2.0}\n"
    )
    assert problems(folder) == [
        "p/m.yaml:7:9: p/circuits/two.py:build[1] measures nothing: add measure statements so there are counts"
    ]


SEQUENCE = """from pulser import Pulse, Register, Sequence
from pulser.devices import AnalogDevice
from pulser.waveforms import ConstantWaveform


def build():
    sequence = Sequence(Register({"q0": (0.0, 0.0)}), AnalogDevice)
    sequence.declare_channel("rydberg", "rydberg_global")
    omega = sequence.declare_variable("omega")
    sequence.add(Pulse.ConstantDetuning(ConstantWaveform(500, omega), 0.0, 0.0), "rydberg")
    return sequence


def circuit():
    from qiskit import QuantumCircuit
    return QuantumCircuit(1)
"""

BATCH = """version: 1
project: s
targets:
  emu: {provider: pasqal, target: EMU_FREE, project_id: p, credentials: {token_env: T}}
batches:
  rabi: {target: emu, sequence: sequences/rabi.py:FUNCTION, matrix: {omega: [1.0, 2.0]}}
"""


@pytest.mark.slow
def test_a_sequence_builds_with_its_declared_variables(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("pulser", reason="pulser-core is in the test extra (pulser-simulation)")
    (folder / "sequences").mkdir()
    (folder / "sequences" / "rabi.py").write_text(SEQUENCE)
    (folder / "m.yaml").write_text(BATCH.replace("FUNCTION", "build"))
    sequence = load(folder).batches["rabi"].sequence
    assert sequence.format == "pulser" and '"omega"' in sequence.text
    again = load(folder, RUNNER_NO_CACHE="1").batches["rabi"].sequence
    assert again.digest == sequence.digest
    (folder / "m.yaml").write_text(BATCH.replace("FUNCTION", "build").replace("omega:", "omga:"))
    assert problems(folder) == ["p/m.yaml:6:66: variable 'omga' is not declared by the sequence (declared: omega)"]
    (folder / "m.yaml").write_text(BATCH.replace("FUNCTION", "circuit"))
    assert problems(folder) == ["p/sequences/rabi.py:14:1: circuit() returned a QuantumCircuit, not a pulser Sequence"]


def test_several_builds_run_at_once_and_problems_are_still_reported_in_place(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans: list[tuple[float, float]] = []
    real = builds._run

    def timed(request: builds.Request, timeout: float) -> dict[str, Any]:
        started = time.monotonic()
        try:
            return real(request, timeout)
        finally:
            spans.append((started, time.monotonic()))

    monkeypatch.setattr(builds, "_run", timed)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # whatever this machine has: three builds, three processes
    for n in (1, 2):
        (folder / "circuits" / f"g{n}.py").write_text(GHZ.replace("circuit.h(0)", f"circuit.h(0)\n    circuit.x({n})"))
    (folder / "circuits" / "bad.py").write_text(HOSTILE)
    (folder / "m.yaml").write_text(
        "version: 1\nproject: p\njobs:\n"
        "  one: {program: circuits/g1.py:build, params: {theta: 1, phi: 2}}\n"
        "  two: {program: circuits/g2.py:build, params: {theta: 1, phi: 2}}\n"
        "  bad: {program: circuits/bad.py:number}\n"
    )
    assert problems(folder) == [
        "p/circuits/bad.py:15:1: number() returned an int, not a qiskit QuantumCircuit or a list of them"
    ]
    assert len(spans) == 4  # three ahead; the failed one again where its entry is read, to report it there
    first = sorted(spans[:3])
    assert first[2][0] < first[0][1]  # all three had started before the first finished
    (folder / "m.yaml").write_text("\n".join((folder / "m.yaml").read_text().splitlines()[:-1]) + "\n")
    jobs = load(folder).jobs
    assert jobs["one"].programs[0].digest != jobs["two"].programs[0].digest


def test_a_qpy_file_declaring_two_billion_qubits_is_refused_in_bounded_time_and_memory(folder: Path) -> None:
    import struct

    from qiskit import QuantumCircuit, qpy

    with (folder / "circuits" / "bomb.qpy").open("wb") as fh:
        qpy.dump(QuantumCircuit(3), fh, version=13)
    data = (folder / "circuits" / "bomb.qpy").read_bytes()
    offset = 19 + 1 + 5  # file header, type key, then name size, phase type and phase size: num_qubits
    assert struct.unpack_from("!I", data, offset) == (3,)
    (folder / "circuits" / "bomb.qpy").write_bytes(
        data[:offset] + struct.pack("!I", 2_000_000_000) + data[offset + 4 :]
    )
    (folder / "m.yaml").write_text("version: 1\nproject: q\njobs:\n  a: {program: circuits/bomb.qpy}\n")
    started = time.perf_counter()
    found = problems(folder)
    assert time.perf_counter() - started < 20
    assert len(found) == 1 and found[0].startswith("p/m.yaml:4:16: p/circuits/bomb.qpy is not a QPY file qiskit reads:")
