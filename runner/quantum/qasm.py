"""OpenQASM 2 and 3 programs: version detection, parsing into qiskit circuits, inspection.

Every parse is bounded first (runner.quantum.bounds): declared qubits and bits, the operations a
program expands to, and the length of OpenQASM 3 text, whose parser is slow; a program past a
limit of runner.manifest.limits is a located ProgramError before qiskit allocates anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from runner.manifest.limits import MAX_NESTING, MAX_QASM3_BYTES

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

# Linear on any text: an unterminated /* runs to the end (instead of being rescanned from every later
# /*), and a line's leading blanks never reach into the next line (`^\s*` rescanned runs of newlines).
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.S)
_HEADER = re.compile(r"^[ \t]*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.M)
_INCLUDE = re.compile(r'^[ \t]*include\s+"([^"]+)"\s*;', re.M)
_STANDARD_INCLUDES = {"qelib1.inc", "stdgates.inc"}
_LINE_COL = re.compile(r"(\d+),(\d+):\s*(.*)", re.S)


class ProgramError(Exception):
    """A program that does not parse; line and column are 1-based within the program text."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True)
class ProgramInfo:
    """What validation and expansion need to know about a parsed program."""

    version: int
    inputs: tuple[str, ...]
    num_qubits: int
    num_clbits: int
    measures: bool


def version_of(text: str) -> int:
    """2 or 3 from the OPENQASM header; a program without one is OpenQASM 3 (the header is optional)."""
    match = _HEADER.search(_COMMENTS.sub("", text))
    return int(match.group(1)) if match else 3


def includes(text: str) -> list[str]:
    """Include files named by the program, besides the standard gate libraries."""
    names = _INCLUDE.findall(_COMMENTS.sub("", text))
    return [n for n in names if n not in _STANDARD_INCLUDES]


def parse(text: str, include_dir: str | None = None) -> QuantumCircuit:
    """Parse with the loader the header asks for; errors become ProgramError with a position.

    A program built by Python or read from a `.qpy` file is QPY text (runner.quantum.qpy), which
    cannot be mistaken for OpenQASM: every consumer of program text (the simulator, the providers'
    conversions, cost estimates) gets a circuit from here either way.
    """
    from runner.quantum import qpy

    if qpy.is_qpy_text(text):
        try:
            return qpy.load(text)
        except qpy.QpyError as exc:
            raise ProgramError(str(exc)) from None
    if not _COMMENTS.sub("", text).strip():
        raise ProgramError("the program is empty")
    version = version_of(text)
    if version == 2:
        return _parse2(text, include_dir)
    if version == 3:
        return _parse3(text)
    raise ProgramError(f"unsupported OpenQASM version {version} (use 2 or 3)")


def _bounded(check: Any, *args: Any) -> None:
    from runner.quantum.bounds import TooLarge

    try:
        check(*args)
    except TooLarge as exc:
        raise ProgramError(exc.message, exc.line, exc.column) from None


def _parse2(text: str, include_dir: str | None) -> QuantumCircuit:
    import qiskit.qasm2

    from runner.quantum.bounds import check_qasm2

    _bounded(check_qasm2, text, include_dir)
    paths = (include_dir,) if include_dir else ()
    try:
        return qiskit.qasm2.loads(
            text,
            include_path=paths,
            custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
        )
    except qiskit.qasm2.QASM2ParseError as exc:
        raise _positioned(str(exc).strip().strip('"').replace("<input>:", "", 1)) from None


def _parse3(text: str) -> QuantumCircuit:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_QASM3_BYTES:
        raise ProgramError(
            f"OpenQASM 3 text of {size:,} bytes is longer than runner parses ({MAX_QASM3_BYTES:,} bytes: "
            "its parser is slow); split the program or write it as OpenQASM 2"
        )
    _shallow(text)
    import qiskit_qasm3_import

    from runner.quantum.bounds import check_qasm3

    # what qiskit.qasm3.loads does, in two steps, so the syntax tree is measured before it is built
    tree = _syntax_tree(text)
    _bounded(check_qasm3, tree)
    try:
        circuit: QuantumCircuit = qiskit_qasm3_import.convert(tree)
    except Exception as exc:  # the importer raises several unrelated types
        raise _qasm3_error(exc) from None
    return circuit


def _shallow(text: str) -> None:
    """Refuse brackets nested deeper than MAX_NESTING, found by a scan before the (recursive) parser runs."""
    depth, line, column = 0, 1, 0
    for char in _COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text):
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                message = f"brackets nested more than {MAX_NESTING} deep; runner reads programs up to that"
                raise ProgramError(message, line, column)
        elif char in ")]}":
            depth = max(0, depth - 1)


def _syntax_tree(text: str) -> Any:
    """openqasm3.parse, minus ANTLR's console listeners: they print some syntax errors to stderr.

    Built from the parser module's own lexer and parser classes; an openqasm3 without them gets
    openqasm3.parse itself (correct, only noisier on stderr).
    """
    import openqasm3.parser as reference

    lexer_class, parser_class = getattr(reference, "qasm3Lexer", None), getattr(reference, "qasm3Parser", None)
    try:
        if lexer_class is None or parser_class is None:
            return reference.parse(text)
        from antlr4 import CommonTokenStream, InputStream, RecognitionException
        from antlr4.error.Errors import ParseCancellationException
        from antlr4.error.ErrorStrategy import BailErrorStrategy

        lexer = lexer_class(InputStream(text))
        parser = parser_class(CommonTokenStream(lexer))
        for recognizer in (lexer, parser):
            recognizer.removeErrorListeners()
            recognizer.addErrorListener(_RaisingListener())
        parser._errHandler = BailErrorStrategy()  # stop at the first error instead of guessing past it
        try:
            program = parser.program()
        except ParseCancellationException as exc:  # the bail strategy wraps the recognition error
            raise _at_token(exc.args[0] if exc.args else None) from None
        except RecognitionException as exc:
            raise _at_token(exc) from None
        build: Any = reference.QASMNodeVisitor  # untyped in openqasm3
        return build().visitProgram(program)
    except ProgramError:
        raise
    except RecursionError:  # a long flat expression (1+1+...+1) recurses once per term
        raise ProgramError("an expression is too long for the parser: split it") from None
    except Exception as exc:  # the tree builder raises several unrelated types
        raise _qasm3_error(exc) from None


def _at_token(recognition: Any) -> ProgramError:
    token = getattr(recognition, "offendingToken", None)
    if token is None:
        return ProgramError("syntax error")
    return ProgramError(f"syntax error at '{token.text}'", token.line, token.column + 1)


class _RaisingListener:
    """An ANTLR error listener that turns the first syntax error into a located ProgramError."""

    def syntaxError(self, recognizer: Any, symbol: Any, line: int, column: int, message: str, exc: Any) -> None:
        text = getattr(symbol, "text", None)
        raise ProgramError(f"syntax error at '{text}'" if text else f"syntax error: {message}", line, column + 1)

    def reportAmbiguity(self, *args: Any) -> None:
        return None

    def reportAttemptingFullContext(self, *args: Any) -> None:
        return None

    def reportContextSensitivity(self, *args: Any) -> None:
        return None


def _qasm3_error(exc: BaseException) -> ProgramError:
    message = str(exc).strip().strip('"')
    if message:
        return _positioned(message)
    cause: Any = exc.__cause__
    recognition = cause.args[0] if cause is not None and cause.args else None
    token = getattr(recognition, "offendingToken", None)
    if token is not None:
        return ProgramError(f"syntax error at '{token.text}'", token.line, token.column + 1)
    return ProgramError("syntax error")


def _positioned(message: str) -> ProgramError:
    match = _LINE_COL.match(message.strip())
    if not match:
        return ProgramError(message)
    line, col, rest = match.groups()
    return ProgramError(rest.strip(), int(line), int(col) + 1)


@lru_cache(maxsize=256)
def inspect(text: str, include_dir: str | None = None) -> ProgramInfo:
    """Parse and summarise a program (cached by text: sweeps share one program)."""
    circuit = parse(text, include_dir)
    measures = any(inst.operation.name == "measure" for inst in circuit.data)
    return ProgramInfo(
        version=version_of(text),
        inputs=tuple(sorted(p.name for p in circuit.parameters)),
        num_qubits=circuit.num_qubits,
        num_clbits=circuit.num_clbits,
        measures=measures,
    )
