"""How big a program is before it is built: declared qubits and bits, and operations once expanded.

A few bytes of OpenQASM can ask for billions of qubits (`qreg q[2000000000];`), a gate nested
ten deep in definitions of ten calls each, or a loop of 10^9 iterations. qiskit builds such
programs faithfully, so they are measured here first, on the text (OpenQASM 2, whose grammar is
small) or on the syntax tree (OpenQASM 3), with arithmetic instead of expansion: a gate's size is
computed once, when it is defined, from the sizes of the gates it calls. Passing a limit of
runner.manifest.limits raises ProgramError at the statement that passes it.

The operation count is an upper bound of what qiskit will hold or simulate: a call costs its
gate's expanded size times its broadcast width (a register argument applies it to each qubit);
a `for` loop costs its body times its iterations; `pow(k) @ g` costs g's size times 4^n for a
gate on n qubits (qiskit builds its matrix); `ctrl(k) @ g` costs g's size times (k + 1)^2. A
`while` loop's body is counted once: how often it runs is only known when it runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from runner.manifest.limits import MAX_CLBITS, MAX_OPERATIONS, MAX_PROGRAM_BYTES, MAX_QUBITS

RULES = "1"  # bump when what is counted changes: cached verdicts made under other rules are dropped
_STANDARD_INCLUDES = {"qelib1.inc", "stdgates.inc"}
_BIG = 10**15  # any count past this is as good as infinite; capping keeps the arithmetic cheap
_MAX_INCLUDE_DEPTH = 8


class TooLarge(Exception):
    """A program past one of the limits: message plus 1-based line and column in its text."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class _Tally:
    """Running totals of one program, raising TooLarge where a limit is passed."""

    def __init__(self) -> None:
        self.qubits = self.clbits = self.operations = 0

    def add_qubits(self, count: int, where: tuple[int, int]) -> None:
        self.qubits = min(_BIG, self.qubits + count)
        if self.qubits > MAX_QUBITS:
            message = f"the program needs {_n(self.qubits)} qubits; runner reads programs of at most {MAX_QUBITS:,}"
            raise TooLarge(message, *where)

    def add_clbits(self, count: int, where: tuple[int, int]) -> None:
        self.clbits = min(_BIG, self.clbits + count)
        if self.clbits > MAX_CLBITS:
            message = f"the program needs {_n(self.clbits)} bits; runner reads programs of at most {MAX_CLBITS:,}"
            raise TooLarge(message, *where)

    def add_operations(self, count: int, where: tuple[int, int]) -> None:
        self.operations = min(_BIG, self.operations + count)
        self.within(self.operations, where)

    def within(self, operations: int, where: tuple[int, int]) -> None:
        """Raise if this many operations (a whole program's or one block's) is past the limit."""
        if operations > MAX_OPERATIONS:
            raise TooLarge(
                f"the program expands to more than {MAX_OPERATIONS:,} operations (gate definitions inlined, "
                "loops unrolled, registers broadcast); runner reads programs up to that size",
                *where,
            )


def _n(count: int) -> str:
    return f"more than {_BIG:,}" if count >= _BIG else f"{count:,}"


def _times(*factors: int) -> int:
    out = 1
    for factor in factors:
        out = min(_BIG, out * max(0, factor))
    return out


# OpenQASM 2: statements, read lazily -------------------------------------------------------------
# One statement at a time, each looked at with regular expressions, never a list of all tokens: a
# 16 MiB program once cost 1.3 GB and 8 s as a token list. Comments are blanked first (newlines
# kept, so positions stay right). A gate definition is one statement: its body has no braces.
_COMMENT = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.S)
# a statement starts after a ';' or a brace and its spaces; every alternative consumes what it starts on
# and never fails part-way, so the scan stays linear
_STATEMENT = re.compile(r"\s*(?:gate\b[^{;]*\{[^}]*\}?|[^;{}]+;?|[;{}])", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CALL = re.compile(r"[^;}]+")
_ARGUMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\[)?")
_REGISTER = re.compile(r"(qreg|creg)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(\d+)\s*\])?")
_INCLUDE = re.compile(r'include\s*"([^"]*)"')


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group())


class _Qasm2:
    """Walks OpenQASM 2 statements, counting registers and expanded operations."""

    def __init__(self, include_dir: str | None) -> None:
        self.include_dir = include_dir
        self.tally = _Tally()
        self.registers: dict[str, int] = {}
        self.gates: dict[str, int] = {}  # expanded size of each defined gate

    def run(self, text: str, depth: int = 0, outer: tuple[int, int] | None = None) -> None:
        clean = _COMMENT.sub(_blank, text)
        line, seen = 1, 0
        for match in _STATEMENT.finditer(clean):
            body = match.group()
            lead = len(body) - len(body.lstrip())
            if not body.strip():
                continue
            start = match.start() + lead
            line += clean.count("\n", seen, start)
            seen = start
            column = start - (clean.rfind("\n", 0, start) + 1) + 1
            self._statement(body.strip(), outer or (line, column), depth)

    def _statement(self, body: str, where: tuple[int, int], depth: int) -> None:
        head = _WORD.match(body)
        word = head.group() if head else ""
        if word == "include":
            found = _INCLUDE.match(body)
            self._include(found.group(1) if found else "", where, depth)
        elif word in ("qreg", "creg"):
            found = _REGISTER.match(body)
            if found:
                size = _integer(found.group(3)) if found.group(3) else 1
                self.registers[found.group(2)] = size
                (self.tally.add_qubits if word == "qreg" else self.tally.add_clbits)(size, where)
        elif word == "gate":
            self._gate(body)
        elif word == "if":
            closed = body.find(")")
            if closed >= 0:  # the guarded operation counts as a statement of its own
                self._statement(body[closed + 1 :].strip(), where, depth)
        elif head is not None and word not in ("OPENQASM", "opaque"):
            self.tally.add_operations(_times(self.gates.get(word, 1), self._width(body, head)), where)

    def _gate(self, body: str) -> None:
        named = _WORD.search(body, len("gate"))
        size = 0
        for call in _CALL.finditer(body, body.find("{") + 1):
            word = _WORD.match(call.group().strip())
            if word and word.group() != "barrier":
                size = min(_BIG, size + self.gates.get(word.group(), 1))
            if size > MAX_OPERATIONS:  # any call of it is refused: no need to read the rest of it
                break
        if named is not None:
            self.gates[named.group()] = size

    def _width(self, body: str, head: re.Match[str]) -> int:
        """How many times a statement applies: the size of its widest whole-register argument."""
        start = head.end()
        if body[start:].lstrip().startswith("("):  # parameters: skip to their closing parenthesis
            depth, i = 0, body.index("(", start)
            while i < len(body):
                depth += {"(": 1, ")": -1}.get(body[i], 0)
                i += 1
                if depth == 0:
                    break
            start = i
        width = 1
        for argument in _ARGUMENT.finditer(body, start):
            name, indexed = argument.groups()
            if name in self.registers and not indexed:
                width = max(width, self.registers[name])
        return width

    def _include(self, name: str, where: tuple[int, int], depth: int) -> None:
        if name in _STANDARD_INCLUDES or self.include_dir is None or depth >= _MAX_INCLUDE_DEPTH:
            return
        from runner.manifest.files import FileRefused, read_regular

        try:
            data = read_regular(os.path.join(self.include_dir, name), MAX_PROGRAM_BYTES)
        except FileRefused:
            return  # the parser reports an include it cannot read
        self.run(data.decode("utf-8", "replace"), depth + 1, where)


def _integer(word: str) -> int:
    if not word.isdigit():
        return 1  # not a size: the parser will say what is wrong
    return _BIG if len(word) > 15 else int(word)


def check_qasm2(text: str, include_dir: str | None = None) -> None:
    """Raise TooLarge if an OpenQASM 2 program passes a limit."""
    _Qasm2(include_dir).run(text)


# OpenQASM 3: the syntax tree ---------------------------------------------------------------------
class _Qasm3:
    """Walks an openqasm3 syntax tree, counting registers and expanded operations."""

    def __init__(self) -> None:
        from openqasm3 import ast

        self.ast = ast
        self.tally = _Tally()
        self.registers: dict[str, int] = {}
        self.constants: dict[str, int | float] = {}
        self.gates: dict[str, int] = {}
        self.physical = -1

    def where(self, node: Any) -> tuple[int, int]:
        span = getattr(node, "span", None)
        return (span.start_line, span.start_column + 1) if span is not None else (1, 1)

    def run(self, statements: list[Any]) -> None:
        for statement in statements:
            self.tally.add_operations(self.cost(statement, in_gate=False), self.where(statement))

    def cost(self, node: Any, in_gate: bool) -> int:
        """Operations one statement expands to; declarations are counted as they are met."""
        ast = self.ast
        if isinstance(node, ast.QubitDeclaration):
            self.registers[node.qubit.name] = self._size(node.size, node)
            self.tally.add_qubits(self.registers[node.qubit.name], self.where(node))
            return 0
        if isinstance(node, ast.ClassicalDeclaration):
            return self._classical(node)
        if isinstance(node, ast.ConstantDeclaration):
            value = self.value(node.init_expression)
            if value is not None:
                self.constants[node.identifier.name] = value
            return 0
        if isinstance(node, ast.QuantumGateDefinition):
            # the importer copies each called gate's definition into this one as it reads it: the
            # definition costs its whole expanded size even if it is never called
            self.gates[node.name.name] = self._block(node.body, in_gate=True)
            return self.gates[node.name.name]
        if isinstance(node, ast.QuantumGate):
            return self._call(node, in_gate)
        if isinstance(node, (ast.QuantumMeasurementStatement, ast.QuantumReset, ast.QuantumPhase)):
            qubits = [node.measure.qubit] if isinstance(node, ast.QuantumMeasurementStatement) else node.qubits
            return self._width(qubits if isinstance(qubits, list) else [qubits], in_gate)
        return self._compound(node, in_gate)

    def _compound(self, node: Any, in_gate: bool) -> int:
        ast = self.ast
        if isinstance(node, ast.ForInLoop):
            return _times(self._iterations(node.set_declaration), self._block(node.block, in_gate))
        if isinstance(node, ast.WhileLoop):
            return self._block(node.block, in_gate)
        if isinstance(node, ast.BranchingStatement):
            return min(_BIG, self._block(node.if_block, in_gate) + self._block(node.else_block, in_gate))
        if isinstance(node, ast.Box):
            return self._block(node.body, in_gate)
        if isinstance(node, ast.CompoundStatement):
            return self._block(node.statements, in_gate)
        if isinstance(node, ast.SwitchStatement):
            blocks = [block for _, block in node.cases] + ([node.default] if node.default else [])
            return min(_BIG, sum(self._block(b.statements, in_gate) for b in blocks))
        if isinstance(node, ast.QuantumBarrier):
            return 1
        return 1 if isinstance(node, ast.Statement) and not isinstance(node, ast.Include) else 0

    def _block(self, statements: list[Any], in_gate: bool) -> int:
        total = 0
        for statement in statements:
            total = min(_BIG, total + self.cost(statement, in_gate))
            self.tally.within(total, self.where(statement))  # stop inside a block, not after all of it
        return total

    def _call(self, node: Any, in_gate: bool) -> int:
        size = self.gates.get(node.name.name, 1)
        for modifier in node.modifiers:
            name = modifier.modifier.name
            if name == "pow":
                size = _times(size, 4 ** min(32, len(node.qubits)))
            elif name in ("ctrl", "negctrl"):
                controls = 1 if modifier.argument is None else self.value(modifier.argument)
                small = isinstance(controls, int) and 0 <= controls < 10**6
                size = _times(size, (int(controls) + 1) ** 2 if small else _BIG)  # type: ignore[arg-type]
        return _times(size, self._width(node.qubits, in_gate))

    def _width(self, qubits: list[Any], in_gate: bool) -> int:
        ast, width = self.ast, 1
        for qubit in qubits:
            name = getattr(qubit, "name", None)
            if isinstance(name, ast.Identifier):  # an indexed identifier
                ranged = any(isinstance(i, (ast.RangeDefinition, ast.DiscreteSet)) for i in _flat(qubit.indices))
                width = max(width, self.registers.get(name.name, 1) if ranged and not in_gate else 1)
            elif isinstance(name, str) and name.startswith("$"):
                self._physical(name, qubit)
            elif isinstance(name, str) and not in_gate:
                width = max(width, self.registers.get(name, 1))
        return width

    def _physical(self, name: str, node: Any) -> None:
        index = _integer(name[1:])
        if index > self.physical:
            self.tally.add_qubits(index - self.physical, self.where(node))  # qiskit makes qubits 0..index
            self.physical = index

    def _classical(self, node: Any) -> int:
        if isinstance(node.type, self.ast.BitType):
            self.tally.add_clbits(self._size(node.type.size, node), self.where(node))
        return 1 if node.init_expression is not None else 0

    def _size(self, size: Any, node: Any) -> int:
        if size is None:
            return 1
        value = self.value(size)
        if not isinstance(value, int):
            raise TooLarge("a register size must be a constant whole number", *self.where(node))
        return max(0, value)

    def _iterations(self, spec: Any) -> int:
        ast = self.ast
        if isinstance(spec, ast.DiscreteSet):
            return len(spec.values)
        if isinstance(spec, ast.RangeDefinition):
            start, end = self.value(spec.start), self.value(spec.end)
            step = 1 if spec.step is None else self.value(spec.step)
            if not (isinstance(start, int) and isinstance(end, int) and isinstance(step, int)) or step == 0:
                raise TooLarge("a for loop's range must have constant whole-number bounds", *self.where(spec))
            return len(range(start, end + (1 if step > 0 else -1), step))  # OpenQASM ranges include the end
        return 1  # an array or other expression: the importer refuses those

    def value(self, node: Any) -> int | float | None:
        """A constant expression's value, or None; results past 10^15 come back as 10^15 + 1."""
        ast = self.ast
        if isinstance(node, (ast.IntegerLiteral, ast.FloatLiteral)):
            return _capped(node.value)
        if isinstance(node, ast.Identifier):
            return self.constants.get(node.name)
        if isinstance(node, ast.UnaryExpression) and node.op.name == "-":
            inner = self.value(node.expression)
            return None if inner is None else -inner
        if isinstance(node, ast.BinaryExpression):
            return _binary(node.op.name, self.value(node.lhs), self.value(node.rhs))
        return None


def _binary(op: str, a: int | float | None, b: int | float | None) -> int | float | None:
    if a is None or b is None:
        return None
    if (op == "**" and abs(a) > 1 and b > 64) or (op == "<<" and b > 64):
        return _BIG + 1  # past any limit; computing it could take minutes (10**10**8)
    operations: dict[str, Callable[[], Any]] = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a // b if isinstance(a, int) and isinstance(b, int) else a / b,
        "%": lambda: a % b,
        "**": lambda: a**b,
        "<<": lambda: int(a) << int(b),
        ">>": lambda: int(a) >> int(b),
    }
    if op not in operations:
        return None
    try:
        return _capped(operations[op]())
    except (ArithmeticError, ValueError, TypeError):
        return None


def _capped(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if abs(value) > _BIG:
        return _BIG + 1 if value > 0 else -(_BIG + 1)
    return value


def _flat(items: Any) -> Iterator[Any]:
    for item in items:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def check_qasm3(tree: Any) -> None:
    """Raise TooLarge if a parsed OpenQASM 3 program (openqasm3.ast.Program) passes a limit."""
    _Qasm3().run(list(tree.statements))
