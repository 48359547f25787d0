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
