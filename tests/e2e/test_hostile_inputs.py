"""Hostile inputs: a few bytes that once cost gigabytes or hours, refused by a fresh `runner` process.

Each case runs `runner validate` and `runner plan` in a child process under an address-space limit
and a deadline, and measures it (wall time, the child's peak RSS): exit 1, located one-line errors,
no traceback, seconds not minutes, well under 1 GB, and the state file byte-identical. Run with
`-s` to see the figures.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import BELL

ADDRESS_SPACE = 2 * 1024**3  # the child's ceiling: a regression fails the test instead of the machine
DEADLINE = 60.0
SECONDS = 10.0  # typically 0.2-1.5 s; the bound leaves room for a busy shared 2-core machine
MEGABYTES = 1024.0
TOO_WIDE = "the program needs {} qubits; runner reads programs of at most 4,096"
TOO_LONG = (
    "the program expands to more than 200,000 operations (gate definitions inlined, loops unrolled, "
    "registers broadcast); runner reads programs up to that size"
)


@dataclass
class Measured:
    code: int
    out: str
    err: str
    seconds: float
    megabytes: float


# The child's own peak RSS: VmHWM of its address space, written as it exits. rusage's ru_maxrss would
# also count this test process, whose pages a forked or vforked child holds until it execs.
REPORTING = """
import atexit, runpy, sys
def report(path=sys.argv[1]):
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(status.read())
atexit.register(report)
sys.argv = ["runner", *sys.argv[2:]]
runpy.run_module("runner", run_name="__main__", alter_sys=True)
"""


def run_measured(*args: str, cwd: Path) -> Measured:
    """`runner ARGS` in a child process under an address-space limit and a deadline, measured."""
    with tempfile.TemporaryDirectory() as scratch:
        status, out, err = (Path(scratch) / name for name in ("status", "out", "err"))
        started = time.perf_counter()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            child = subprocess.Popen(
                [sys.executable, "-c", REPORTING, str(status), *args], cwd=cwd, stdout=stdout, stderr=stderr
            )
            resource.prlimit(child.pid, resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
            try:
                code = child.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                child.kill()
                raise
        seconds = time.perf_counter() - started
        peak = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
        assert peak is not None
        return Measured(code, out.read_text(), err.read_text(), seconds, int(peak.group(1)) / 1024)


def manifest(jobs: str, head: str = "") -> str:
    return f"version: 1\nproject: hostile\n{head}jobs:\n{jobs}"


def inline(program: str) -> str:
    body = "".join(f"        {line}\n" for line in program.splitlines())
    return f"  bad:\n    program:\n      qasm: |\n{body}"


def nested_gates(depth: int = 10) -> str:
    lines = ["gate g0 a { " + "x a; " * 10 + "}"]
    lines += [f"gate g{i} a {{ " + f"g{i - 1} a; " * 10 + "}" for i in range(1, depth)]
    return "\n".join(lines)


def alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "x-laughs:\n" + "".join(f"  {line}\n" for line in lines)


BELL_JOB = "  bell: {program: circuits/bell.qasm}\n"
CASES: dict[str, tuple[str, list[str]]] = {
    "qreg of 2e9 qubits": (
        manifest(inline('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2000000000];\ncreg c[1];')),
        [f"m.yaml:9:9: {TOO_WIDE.format('2,000,000,000')}"],
    ),
    "qubit[99999999]": (
        manifest(inline("OPENQASM 3.0;\nqubit[99999999] q;\nbit[1] c;\nc[0] = measure q[0];")),
        [f"m.yaml:8:9: {TOO_WIDE.format('99,999,999')}"],
    ),
    "alias bomb, 9 levels of 9": (
        manifest(BELL_JOB, alias_bomb()),
        [
            "m.yaml:9:7: this value holds more than 200,000 values, counting every use of an alias "
            "(an alias bomb?): use fewer aliases or split the manifest"
        ],
    ),
    "gate-definition bomb, OpenQASM 3": (
        manifest(inline(f'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\n{nested_gates()}\ng9 q[0];')),
        [f"m.yaml:15:33: {TOO_LONG}"],
    ),
    "gate-definition bomb, OpenQASM 2": (
        manifest(inline(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n{nested_gates()}\ng9 q[0];')),
        [f"m.yaml:20:9: {TOO_LONG}"],
    ),
    "for loop of 10^9 iterations": (
        manifest(inline('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nfor int i in [0:999999999] { h q; }')),
        [f"m.yaml:10:9: {TOO_LONG}"],
    ),
    "5,000-digit shots, .nan budget, .inf price": (
        manifest(
            "  bell: {target: sim, program: circuits/bell.qasm, shots: " + "9" * 5000 + "}\n",
            "budget: {USD: .nan}\ntargets:\n  sim: {provider: local, price: {currency: USD, per_shot: .inf}}\n",
        ),
        [
            "m.yaml:3:15: .nan is not a finite number: runner takes finite numbers only",
            "m.yaml:5:59: .inf is not a finite number: runner takes finite numbers only",
            "m.yaml:7:59: an integer of 5000 digits is too large (at most 100 digits)",
        ],
    ),
    "two million values": (
        manifest(BELL_JOB, "x-values: [" + ",".join(["1"] * 2_000_000) + "]\n"),
        ["m.yaml:3:399998: the manifest holds more than 200,000 values: split it"],
    ),
    "linspace of 10^9 points": (
        manifest("  sweep:\n    program: circuits/bell.qasm\n    matrix: {theta: {linspace: [0, 1, 1000000000]}}\n"),
        ["m.yaml:6:13: sweep expands to 1000000000 jobs, more than max_jobs (10000)"],
    ),
    "program that is a FIFO": (
        manifest("  bell: {program: circuits/fifo.qasm}\n"),
        ["m.yaml:4:19: 'circuits/fifo.qasm' is a named pipe (FIFO), not a regular file"],
    ),
    "include that is a FIFO": (
        manifest("  bell: {program: circuits/includes.qasm}\n"),
        ["m.yaml:4:19: 'circuits/fifo.inc' is a named pipe (FIFO), not a regular file"],
    ),
    "program that is a directory": (
        manifest("  bell: {program: circuits}\n"),
        ["m.yaml:4:19: 'circuits' is a directory, not a regular file"],
    ),
}


def circuits(folder: Path) -> None:
    """Programs next to a manifest, among them a FIFO program and a FIFO include."""
    (folder / "circuits").mkdir()
    (folder / "circuits" / "bell.qasm").write_text(BELL)
    (folder / "circuits" / "includes.qasm").write_text(
        BELL.replace('"qelib1.inc";', '"qelib1.inc";\ninclude "fifo.inc";')
    )
    os.mkfifo(folder / "circuits" / "fifo.qasm")  # nobody ever writes: a blocking open would wait forever
    os.mkfifo(folder / "circuits" / "fifo.inc")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state made by a valid apply, that no hostile manifest may change."""
    root = tmp_path_factory.mktemp("hostile")
    circuits(root)
    (root / "valid.yaml").write_text(manifest(BELL_JOB))
    ran = run_measured("apply", "valid.yaml", "--yes", "--state", "st/state.db", cwd=root)
    assert ran.code == 0, ran.err
    return root


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_refused_fast_small_and_located(case: str, folder: Path) -> None:
    text, expected = CASES[case]
    case_dir = folder / case.replace(" ", "_").replace(",", "").replace("^", "").replace(".", "")
    case_dir.mkdir()
    circuits(case_dir)
    (case_dir / "m.yaml").write_text(text)
    before = digests(folder / "st")
    for args in (["validate", "m.yaml"], ["plan", "m.yaml", "--state", str(folder / "st" / "state.db")]):
        ran = run_measured(*args, cwd=case_dir)
        print(f"{case} | {args[0]}: exit {ran.code}, {ran.seconds:.2f} s, peak RSS {ran.megabytes:.0f} MB")
        assert (ran.code, ran.out, ran.err.splitlines()) == (1, "", expected)
        assert ran.seconds < SECONDS and ran.megabytes < MEGABYTES
    assert digests(folder / "st") == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/dev/zero", "error: manifest /dev/zero is a device, not a regular file"),
        ("fifo.yaml", "error: manifest fifo.yaml is a named pipe (FIFO), not a regular file"),
    ],
)
def test_a_manifest_that_is_not_a_regular_file_is_refused_at_once(path: str, message: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    ran = run_measured("validate", path, cwd=tmp_path)
    assert (ran.code, ran.out, ran.err) == (1, "", message + "\n")
    assert ran.seconds < SECONDS


def test_a_manifest_past_four_mebibytes_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text("# padding\n" * 500_000)
    ran = run_measured("validate", "big.yaml", cwd=tmp_path)
    assert (ran.code, ran.out, ran.err) == (1, "", "error: manifest big.yaml is larger than 4 MiB\n")
