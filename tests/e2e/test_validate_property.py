"""Property: `runner validate` on any manifest and program, hostile or mangled, answers in bounded time and
memory with exit 0 or 1, located lines and never a traceback.

Each example runs in a fresh child process under an address-space limit (RLIMIT_AS, 1.5 GB) and a
deadline, so a regression shows as a failed example instead of a machine out of memory. The
default run is small and derandomized; the `slow` one explores more (VALIDATE_PROPERTY_EXAMPLES=500
for a longer search).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BELL, ROTATION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ADDRESS_SPACE = 1536 * 1024**2
EXAMPLES = int(os.environ.get("VALIDATE_PROPERTY_EXAMPLES", "60"))  # 60 take about 25 s here; explore more at will
DEADLINE = 30.0
LOCATED = re.compile(r"^[^\n:]+\.(yaml|qasm|inc):\d+:\d+: \S.*$")
SIZES = st.one_of(st.integers(1, 6), st.sampled_from([0, 31, 4096, 4097, 10**5, 99999999, 2 * 10**9, 10**30]))


@st.composite
def programs(draw: st.DrawFn) -> str:
    """OpenQASM 2 or 3: declarations of any size, nested gate definitions, loops, broadcasts, noise."""
    three = draw(st.booleans())
    lines = ['OPENQASM 3.0;\ninclude "stdgates.inc";' if three else 'OPENQASM 2.0;\ninclude "qelib1.inc";']
    qubits, bits = draw(SIZES), draw(SIZES)
    lines.append(f"qubit[{qubits}] q;\nbit[{bits}] c;" if three else f"qreg q[{qubits}];\ncreg c[{bits}];")
    depth, fanout = draw(st.integers(0, 12)), draw(st.integers(1, 12))
    if depth:
        lines.append("gate g0 a { " + "x a; " * fanout + "}")
        lines += [f"gate g{i} a {{ " + f"g{i - 1} a; " * fanout + "}" for i in range(1, depth)]
        lines.append(f"g{depth - 1} q[0];")
    calls = draw(st.lists(st.sampled_from(["h q;", "x q[0];", "cx q[0], q[1];", "barrier q;"]), max_size=6))
    if three and draw(st.booleans()):
        bound = draw(st.sampled_from([3, 10**3, 10**6, 10**9, 10**12]))
        calls.append(f"for int i in [0:{bound}] {{ h q[0]; }}")
    if three and draw(st.booleans()):
        calls.append(f"h ${draw(SIZES)};")
    lines += calls
    lines.append("c = measure q;" if three else "measure q -> c;")
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):  # mangle the text: syntax errors, truncation, odd characters
        at = draw(st.integers(0, len(text)))
        noise = ["", "[", "}", ";;", "\x00", "é", "9" * 40, "gate", "(" * 200, "rx(" + "+1" * 20_000 + ") q[0];"]
        text = text[:at] + draw(st.sampled_from(noise)) + text[at:]
    return text


def alias_bomb(depth: int, width: int) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
    return "x-bomb:\n" + "".join(f"  {line}\n" for line in lines)


NUMBERS = st.sampled_from(["1000", "1e3", ".5", ".nan", ".inf", "-.inf", "1e999", "9" * 5000, "0x10", "yes", "~"])
PATHS = st.sampled_from(["circuits/rotation.qasm", "circuits/fifo.qasm", "circuits", "circuits/nope.qasm", "../x.qasm"])
AXES = st.sampled_from(
    ["[0.1, 0.2]", "{linspace: [0, 6.2832, 21]}", "{linspace: [0, 1, 1000000000]}", "{range: [0, 1, 0]}",
     "{range: [0, 1, 0.1]}", "{logspace: [0, 400, 3]}", "{logspace: [-3, 3, 7], base: 2}", "7", "{linspace: [0, 1]}"]
)  # fmt: skip


def sometimes(draw: st.DrawFn, hostile: st.SearchStrategy[str], calm: str) -> str:
    """A hostile value one time in eight, else a valid one: about a third of the manifests stay valid."""
    return draw(hostile) if draw(st.integers(0, 7)) == 0 else calm


@st.composite
def manifests(draw: st.DrawFn) -> str:
    """A manifest with hostile parts drawn in: sizes, numbers, paths, aliases, tags, sweeps, ${VAR}."""
    program = sometimes(draw, st.one_of(PATHS, programs()), "circuits/rotation.qasm")
    if "\n" in program:
        program = "\n      qasm: |\n" + "".join(f"        {line}\n" for line in program.splitlines())
    else:
        program = f" {program}"
    endpoint = sometimes(draw, st.sampled_from(["${EMU}", "${"]), "${EMU:-http://127.0.0.1:1}")
    bomb = alias_bomb(draw(st.integers(1, 10)), draw(st.integers(1, 10))) if draw(st.integers(0, 3)) == 0 else ""
    text = (
        f"version: 1\nproject: prop\nbudget: {{USD: {sometimes(draw, NUMBERS, '25')}}}\n"
        f"targets:\n  sim: {{provider: local, price: {{currency: USD, per_shot: {sometimes(draw, NUMBERS, '.5')}}}}}\n"
        f"  emu: {{provider: superstaq, endpoint: '{endpoint}', credentials: {{api_key_env: SUPERSTAQ_API_KEY}}}}\n"
        f"{bomb}jobs:\n  j:\n    target: sim\n    shots: {sometimes(draw, NUMBERS, '1000')}\n"
        f"    tags: {sometimes(draw, st.just('!foo [a]'), '[a]')}\n"
        f"    matrix: {{theta: {sometimes(draw, AXES, '{linspace: [0, 6.2832, 5]}')}}}\n    program:{program}"
    )
    if draw(st.integers(0, 7)) == 0:  # mangle the YAML itself
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["\t", ":", "{", "]", "- ", "&a *b", "\x00", "!!binary ", "<<: "]))
            + text[at:]
        )
    return text


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("property")
    (root / "circuits").mkdir()
    (root / "circuits" / "bell.qasm").write_text(BELL)
    (root / "circuits" / "rotation.qasm").write_text(ROTATION)
    os.mkfifo(root / "circuits" / "fifo.qasm")
    return root


def check(folder: Path, text: str) -> bool:
    """Run validate on the text; True if it was valid."""
    (folder / "m.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
    ran = subprocess.run(
        [sys.executable, "-m", "runner", "validate", "m.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        preexec_fn=_limit_memory,
    )
    assert ran.returncode in (0, 1), ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout
    if ran.returncode == 1:
        lines = ran.stderr.splitlines()
        assert lines and all(LOCATED.match(line) for line in lines), ran.stderr
        return False
    assert ran.stdout.startswith("m.yaml: valid ("), ran.stdout
    return True


@pytest.mark.slow
def test_hostile_and_mangled_manifests_small(folder: Path) -> None:
    @settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(manifests())
    def run(text: str) -> None:
        check(folder, text)

    run()


@pytest.mark.slow
def test_hostile_and_mangled_manifests(folder: Path) -> None:
    seen = {True: 0, False: 0}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(manifests())
    def run(text: str) -> None:
        seen[check(folder, text)] += 1

    run()
    assert seen[True] >= EXAMPLES // 10 and seen[False] >= EXAMPLES // 3, seen  # both outcomes are reached
