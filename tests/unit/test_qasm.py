import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BELL, ROTATION

from runner.quantum import qasm


def test_version_from_header_ignoring_comments() -> None:
    assert qasm.version_of("// OPENQASM 3.0;\nOPENQASM 2.0;\n") == 2
    assert qasm.version_of("qubit q;") == 3


def test_inspect_reports_inputs_and_measurements() -> None:
    info = qasm.inspect(ROTATION)
    assert (info.version, info.inputs, info.num_qubits, info.measures) == (3, ("theta",), 1, True)
    assert qasm.inspect(BELL).inputs == ()


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("OPENQASM 2.0;\nqreg q[2;\n", 2, 9, "needed ']', but instead saw ;"),
        ("OPENQASM 3.0;\nqubit[1 q;\n", 2, 9, "syntax error at 'q'"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nfoo q;\n', 4, 1, "gate 'foo' is not defined."),
        ("OPENQASM 3.0;\ninput int n;\nqubit q;\n", 2, 1, "only 'float' and 'angle' inputs are supported"),
        ("OPENQASM 4.0;\n", 1, 1, "unsupported OpenQASM version 4 (use 2 or 3)"),
    ],
)
def test_parse_errors_carry_positions(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(qasm.ProgramError) as caught:
        qasm.parse(text)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)


def test_nonstandard_includes_are_listed() -> None:
    assert qasm.includes('OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "mine.inc";\n') == ["mine.inc"]


# limits: measured before qiskit builds anything ----------------------------------------------------
TOO_WIDE = "the program needs {} qubits; runner reads programs of at most 4,096"
TOO_LONG = (
    "the program expands to more than 200,000 operations (gate definitions inlined, loops unrolled, "
    "registers broadcast); runner reads programs up to that size"
)
Q2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
Q3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def nested_gates(depth: int, version: int) -> str:
    """g0 is ten x gates; each g(i) calls g(i-1) ten times: g(depth-1) expands to 10^depth operations."""
    head = Q2 + "qreg q[1];\ncreg c[1];\n" if version == 2 else Q3 + "qubit[1] q;\nbit[1] c;\n"
    lines = ["gate g0 a { " + "x a; " * 10 + "}"]
    lines += [f"gate g{i} a {{ " + f"g{i - 1} a; " * 10 + "}" for i in range(1, depth)]
    measure = "measure q -> c;" if version == 2 else "c = measure q;"
    return head + "\n".join(lines) + f"\ng{depth - 1} q[0];\n{measure}\n"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (Q2 + "qreg q[2000000000];\ncreg c[2];\n", 3, 1, TOO_WIDE.format("2,000,000,000")),
        (Q2 + "qreg a[4000];\nqreg b[97];\n", 4, 1, TOO_WIDE.format("4,097")),
        (
            Q2 + "qreg q[1];\ncreg c[99999999999999999999];\n",
            4,
            1,
            "the program needs more than 1,000,000,000,000,000 bits; runner reads programs of at most 4,096",
        ),
        (Q3 + "qubit[99999999] q;\n", 3, 1, TOO_WIDE.format("99,999,999")),
        (Q3 + "qubit[2 ** 40] q;\n", 3, 1, TOO_WIDE.format("1,099,511,627,776")),
        (Q3 + "qubit[10 ** 10 ** 8] q;\n", 3, 1, TOO_WIDE.format("more than 1,000,000,000,000,000")),
        (Q3 + "bit[1] c;\nh $99999999;\n", 4, 3, TOO_WIDE.format("100,000,000")),
        (
            Q3 + "qubit[2] q;\nbit[99999999] c;\n",
            4,
            1,
            "the program needs 99,999,999 bits; runner reads programs of at most 4,096",
        ),
        (nested_gates(10, 2), 15, 1, TOO_LONG),
        (nested_gates(10, 3), 10, 25, TOO_LONG),
        (Q3 + "qubit[2] q;\nfor int i in [0:999999999] { h q[0]; }\n", 4, 1, TOO_LONG),
        (Q3 + "qubit[2] q;\nfor int i in [0:999] { for int j in [0:999] { h q[0]; } }\n", 4, 1, TOO_LONG),
        (Q2 + "qreg q[4000];\n" + "h q;\n" * 51, 54, 1, TOO_LONG),
        (
            Q3 + "qubit[12] q;\ngate big a, b, c, d, e, f, g, h, i, j, k, l { " + "cx a, b; " * 50 + "}\n"
            "pow(2) @ big q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11];\n",
            5,
            1,
            TOO_LONG,
        ),
        (Q3 + "qubit[2] q;\nctrl(999999999) @ x q[0], q[1];\n", 4, 1, TOO_LONG),
        (
            Q3 + "qubit[2] q;\nfor int i in [0:n] { h q[0]; }\n",
            4,
            15,
            "a for loop's range must have constant whole-number bounds",
        ),
    ],
)
def test_programs_past_a_limit_are_refused_where_they_pass_it(text: str, line: int, column: int, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(qasm.ProgramError) as caught:
        qasm.parse(text)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("version", [2, 3])
def test_programs_within_the_limits_parse(version: int) -> None:
    info = qasm.inspect(nested_gates(4, version))  # 10,000 operations
    assert (info.num_qubits, info.num_clbits, info.measures) == (1, 1, True)
    loop = Q3 + "qubit[2] q;\nbit[2] c;\nfor int i in [0:9999] { h q[0]; cx q[0], q[1]; }\nc = measure q;\n"
    assert qasm.inspect(loop).num_qubits == 2
    assert qasm.inspect(Q2 + "qreg q[4096];\ncreg c[4096];\nh q;\nmeasure q -> c;\n").num_qubits == 4096


def test_gates_defined_in_an_include_count(tmp_path: Path) -> None:
    (tmp_path / "bomb.inc").write_text("\n".join(nested_gates(10, 2).splitlines()[4:-2]) + "\n")
    text = Q2 + 'include "bomb.inc";\nqreg q[1];\ng9 q[0];\n'
    with pytest.raises(qasm.ProgramError) as caught:
        qasm.parse(text, str(tmp_path))
    assert (caught.value.line, caught.value.column, caught.value.message) == (5, 1, TOO_LONG)


def test_long_openqasm3_text_is_refused_before_it_is_parsed() -> None:
    text = Q3 + "qubit[2] q;\n" + "// padding\n" * 12_000
    started = time.perf_counter()
    with pytest.raises(qasm.ProgramError) as caught:
        qasm.parse(text)
    assert time.perf_counter() - started < 0.1
    assert caught.value.message == (
        f"OpenQASM 3 text of {len(text):,} bytes is longer than runner parses (131,072 bytes: its parser is slow); "
        "split the program or write it as OpenQASM 2"
    )


def test_deep_brackets_are_refused_before_the_recursive_parser_runs() -> None:
    # 100,000 nested parentheses once took the OpenQASM 3 parser 49 s and 1 GB before it gave up
    text = Q3 + "qubit[1] q;\nrx(" + "(" * 100_000 + "1" + ")" * 100_000 + ") q[0];\n"
    started = time.perf_counter()
    with pytest.raises(qasm.ProgramError) as caught:
        qasm.parse(text[: 128 * 1024])
    assert time.perf_counter() - started < 0.5
    assert (caught.value.line, caught.value.column, caught.value.message) == (
        4,
        67,
        "brackets nested more than 64 deep; runner reads programs up to that",
    )
    assert qasm.inspect(Q3 + "qubit[1] q;\nrx(" + "(" * 60 + "1" + ")" * 60 + ") q[0];\n").num_qubits == 1


def test_an_expression_too_long_for_the_parser_is_an_error_not_a_crash() -> None:
    with pytest.raises(qasm.ProgramError) as caught:
        qasm.parse(Q3 + "qubit[1] q;\nrx(" + "+".join(["1"] * 30_000) + ") q[0];\n")
    assert caught.value.message == "an expression is too long for the parser: split it"


# the child's own peak (VmHWM): ru_maxrss would also count the test process the child was forked from
MEASURE_16_MIB = """
import re
from runner.quantum import bounds
text = 'OPENQASM 2.0;\\nqreg q[1];\\n' + 'h q[0];\\n' * 2_000_000
try:
    bounds.check_qasm2(text)
except bounds.TooLarge as exc:
    with open("/proc/self/status") as status:
        print(exc.line, int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1)) // 1024)
"""


def test_a_long_openqasm2_program_is_measured_statement_by_statement() -> None:
    # 16 MiB of gates: measured as a token list this once took 1.3 GB and 8 s
    started = time.perf_counter()
    ran = subprocess.run([sys.executable, "-c", MEASURE_16_MIB], capture_output=True, text=True, check=True)
    line, megabytes = (int(part) for part in ran.stdout.split())
    assert line == 200_003 and megabytes < 120  # the text and its comment-blanked copy, little else
    assert time.perf_counter() - started < 10.0  # about 2 s here; the bound leaves room for a busy machine


@pytest.mark.parametrize(
    "text", ["/*x" * 2_000_000, "\n" * 6_000_000 + "x", " \n" * 3_000_000, 'include "a.inc"\n' * 300_000]
)
def test_header_and_include_scans_stay_linear(text: str) -> None:
    # 60 KB of unterminated '/*x' once took 4.8 s here: each '/*' rescanned the rest of the text
    started = time.perf_counter()
    assert qasm.version_of(text) == 3
    assert qasm.includes(text) == []
    assert time.perf_counter() - started < 2.0
