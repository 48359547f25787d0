"""Every bound runner puts on what it reads, in one place, with the reason for each figure.

A few bytes of input must never cost gigabytes or hours: each limit below is checked before the
work it guards is done (a count made without expanding, a size read before allocating), and
passing one is a located one-line error, never a crash. The manifest reference (docs/manifest.md)
lists them, generated from this module; tests/e2e/test_hostile_inputs.py shows hostile inputs
refused in seconds and under 1 GB.
"""

from __future__ import annotations

# Files ------------------------------------------------------------------------------------------
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""A manifest larger than this is refused unread (the largest example is under 4 KiB)."""

MAX_PROGRAM_BYTES = 16 * 1024 * 1024
"""A program file or include (OpenQASM 2, pulser JSON) larger than this is refused unread."""

MAX_QASM3_BYTES = 128 * 1024
"""OpenQASM 3 text longer than this is refused before parsing: the reference parser (ANTLR's Python
runtime) reads about 40 KB/s here and holds about 1 KB per byte read, so this bounds a parse to
a few seconds and about 150 MB. OpenQASM 2, read by qiskit's compiled parser, is not limited so."""

MAX_NESTING = 64
"""Brackets ((, [, {) open at once in OpenQASM 3 text: ANTLR recurses per level, and 100,000 nested
parentheses took it 49 s and 1 GB before it gave up."""

MAX_SECRET_BYTES = 64 * 1024
"""A credential file larger than this is refused (keys and tokens are a few hundred bytes)."""

# YAML -------------------------------------------------------------------------------------------
MAX_YAML_NODES = 200_000
"""Values in a manifest after aliases are expanded: counted on the parsed graph before anything is
built, so nine levels of nine aliases ("billion laughs", 387 million values) is refused at once.
Each value costs about 0.5 KB once located, so this bounds a manifest to about 100 MB."""

MAX_INT_DIGITS = 100
"""Decimal digits of an integer in a manifest; longer ones are refused (Python refuses to convert
more than 4,300, and no setting needs more than a few dozen)."""

# Programs ---------------------------------------------------------------------------------------
MAX_QUBITS = 4096
"""Qubits a program may declare, whatever its target: checked in the text before any parser runs
(`qreg q[2000000000];` once made the parser allocate 23 GB). Targets have smaller limits of their
own (ProviderSpec.capacity): the local simulator's per method, a remote device's published size."""

MAX_CLBITS = 4096
"""Classical bits a program may declare, checked the same way."""

MAX_OPERATIONS = 200_000
"""Operations a program expands to: gate definitions inlined, loops unrolled, register arguments
broadcast. Counted on the program text (OpenQASM 2) or its syntax tree (OpenQASM 3) before the
circuit is built, stopping at the limit, so nested gate definitions and `for` loops of 10^9
iterations are refused in milliseconds. The OpenQASM 3 importer copies each gate's definition
into every call: 10^5 inlined operations took 0.8 s and 170 MB here, 10^6 took 13 s and 850 MB."""

BUILD_SECONDS = 60
"""A program built by a manifest's Python function (or read from a `.qpy` file) is built in a process
of its own, killed when it takes longer than this (RUNNER_BUILD_TIMEOUT sets another figure). A
three-qubit circuit builds in about 0.6 s here, nearly all of it importing qiskit; results are cached."""

BUILD_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
"""Memory a build may take beyond what importing qiskit (or pulser) took, as an address-space limit on
its process where the system has one (Linux, macOS): a runaway build fails with a message instead
of taking the machine down."""

MAX_BUILD_BYTES = 64 * 1024 * 1024
"""The serialized programs one build may return (QPY in base64, pulser JSON), all circuits together."""

# Sweeps -----------------------------------------------------------------------------------------
MAX_SWEEP_POINTS = 1_000_000
"""Points one sweep may have and the largest `max_jobs` a manifest may set; a generated axis
(linspace, range, logspace) is counted before any value is made."""

DEFAULT_PRECISION = 6
"""Significant digits generated sweep values are rounded to unless a matrix or axis says otherwise
(at most 15: more than a float holds would bring rounding noise back into addresses)."""
