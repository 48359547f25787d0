"""The Azure emulator's bill, worked by hand from the published formulas, then held against runner's planner.

The emulator counts gates in the input as it arrived (IonQ JSON, Quantinuum OpenQASM 2) with its
own formulas and reports them in the recorded service's shape; runner's planner counts its own
lowering of the program with runner's formulas, and runner's client reads the report. They share
no code, so where they disagree one of them is wrong.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from runner.domain.model import Attrs, Job, Manifest, Program, Target
from runner.emulators.azure import billing
from runner.emulators.azure import execute as azure_exec
from runner.expand.expansion import expand
from runner.planning import cost
from runner.providers.azure import formats
from runner.quantum.circuits import bound

D = Decimal
BELL_QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def ionq(*gates: dict[str, object], qubits: int = 4) -> bytes:
    return json.dumps({"qubits": qubits, "circuit": list(gates)}).encode()


def bill(target: str, data: bytes, shots: int) -> dict[str, object] | None:
    input_format = azure_exec.FORMATS[azure_exec.provider_of(target)][0]
    return azure_exec.cost_estimate(target, azure_exec.prepare(target, input_format, {"shots": shots}, data))


def charged(reported: dict[str, object]) -> dict[str, Decimal]:
    """What runner's client records as the job's cost, per currency, from the CostEstimate."""
    from runner.providers.azure.wire import observation

    return cost.actuals([{"detail": observation({"id": "j", "status": "Succeeded", "costEstimate": reported}).detail}])


# by hand ---------------------------------------------------------------------------------------
def test_a_small_ionq_job_is_topped_up_to_the_minimum_charge() -> None:
    reported = bill(
        "ionq.qpu.aria-1", ionq({"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}), 1000
    )
    # the recorded shape: amountBilled counts gate shots; the minimum shows in estimatedTotal only
    assert reported == {
        "currencyCode": "USD",
        "events": [
            {
                "dimensionId": "gs1q",
                "dimensionName": "1Q Gate Shot",
                "measureUnit": "1q gate shot",
                "amountBilled": 1000.0,
                "amountConsumed": 1000.0,
                "unitPrice": 0.0002205,
            },
            {
                "dimensionId": "gs2q",
                "dimensionName": "2Q Gate Shot",
                "measureUnit": "2q gate shot",
                "amountBilled": 1000.0,
                "amountConsumed": 1000.0,
                "unitPrice": 0.00098,
            },
        ],
        "estimatedTotal": 97.5,
    }
    assert charged(reported) == {"USD": D("97.5")}


def test_a_large_ionq_job_pays_its_gate_shots_and_no_minimum() -> None:
    gates = [{"gate": "h", "target": 0}] * 10 + [{"gate": "cnot", "control": 0, "target": 1}] * 50
    reported = bill("ionq.qpu.forte-1", ionq(*gates), 100_000)
    assert reported is not None
    # 10 x 100,000 x 0.0002205 = 220.5; 50 x 100,000 x 0.00098 = 4,900
    assert (reported["estimatedTotal"], len(reported["events"])) == (5120.5, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gate", "one_q", "two_q"),
    [
        ({"gate": "h", "targets": [0, 1, 2]}, 3, 0),  # one entry, one gate per target
        ({"gate": "cnot", "control": 0, "target": 1}, 0, 1),
        ({"gate": "swap", "targets": [0, 1]}, 0, 1),
        ({"gate": "x", "controls": [0, 1], "target": 2}, 0, 6),  # N = 3 qubits: 6 x (3 - 2)
        ({"gate": "not", "controls": [0, 1, 2], "target": 3}, 0, 12),  # the pricing page's example: 6 x (4 - 2)
        ({"gate": "swap", "controls": [0], "targets": [1, 2]}, 0, 6),
        ({"gate": "rz", "controls": [0], "targets": [1, 2], "rotation": 0.5}, 0, 2),
    ],
)
def test_ionq_gates_are_counted_as_the_azure_pricing_page_bills_them(
    gate: dict[str, object], one_q: int, two_q: int
) -> None:
    assert billing.ionq_gates([gate]) == billing.Gates(one_q, two_q)


def test_quantinuum_bills_hqc_on_hardware_and_ehqc_on_emulators() -> None:
    # 5 + 100 x (1 + 10 x 1 + 5 x 2) / 5000 = 5.42
    hardware = bill("quantinuum.qpu.h1-1", BELL_QASM.encode(), 100)
    emulated = bill("quantinuum.sim.h1-1e", BELL_QASM.encode(), 100)
    # as recorded for quantinuum.sim.h2-1e: one event counting HQCs, and 0.0 USD
    assert emulated == {
        "currencyCode": "USD",
        "events": [
            {
                "dimensionId": "ehqc",
                "dimensionName": "EHQC",
                "measureUnit": "hqc",
                "amountBilled": 5.42,
                "amountConsumed": 5.42,
                "unitPrice": 0.0,
            }
        ],
        "estimatedTotal": 0.0,
    }
    assert hardware is not None and hardware["events"] == [
        {**emulated["events"][0], "dimensionId": "hqc", "dimensionName": "HQC"}  # type: ignore[index]
    ]
    assert (charged(hardware), charged(emulated)) == ({"HQC": D("5.42")}, {"EHQC": D("5.42")})


def test_resets_are_spam_and_barriers_and_identities_are_not_billed() -> None:
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nid q[0];\nbarrier q;\nh q[0];\n'
        "reset q[1];\ncz q[0],q[1];\nmeasure q -> c;\n"
    )
    circuit = azure_exec.qasm_circuit(text.encode(), "quantinuum.qpu.h1-1")
    assert billing.circuit_gates(circuit) == billing.Gates(one_q=1, two_q=1, spam=3)


@pytest.mark.parametrize("target", ["quantinuum.sim.h1-1sc", "quantinuum.hqs-lt-s1-apival"])
def test_syntax_checkers_bill_nothing(target: str) -> None:
    assert billing.cost_estimate(target, 1000, billing.Gates(10, 10, 10)) is None


def test_the_ionq_simulator_reports_its_gate_dimensions_with_nothing_billed_as_recorded() -> None:
    reported = billing.cost_estimate("ionq.simulator", 1000, billing.Gates(10, 10, 10))
    assert reported is not None
    assert (reported["currencyCode"], reported["estimatedTotal"]) == ("USD", 0.0)
    assert [(e["dimensionId"], e["amountBilled"], e["unitPrice"]) for e in reported["events"]] == [
        ("gs1q", 0.0, 0.0),
        ("gs2q", 0.0, 0.0),
    ]
    assert charged(reported) == {"USD": D(0)}


# against runner's planner ----------------------------------------------------------------------
PROGRAMS = {
    "bell": BELL_QASM,
    "mixed": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nu3(0.3,0.2,0.1) q[0];\n'
    "ccx q[0],q[1],q[2];\nsdg q[1];\nswap q[0],q[2];\nt q[2];\ncz q[1],q[0];\nmeasure q -> c;\n",
    "no-ops": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nid q[0];\nbarrier q;\nh q;\n'
    "u1(0.2) q[1];\ncu1(0.3) q[0],q[1];\nmeasure q -> c;\n",
    "sqrt-x": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nsx q[0];\nsxdg q[1];\n'
    "ch q[0],q[1];\nmeasure q -> c;\n",
    "qasm3": 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nh q[0];\nccx q[0], q[1], q[2];\n'
    "cswap q[0], q[1], q[2];\nc = measure q;\n",
}
QUANTINUUM_ONLY = {
    "reset": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\n'
    "reset q[0];\nx q[0];\nmeasure q -> c;\n",
}
DEVICES = ("ionq.qpu.aria-1", "quantinuum.qpu.h1-1", "quantinuum.sim.h2-1e")
CASES = [(n, t, d) for n, t in PROGRAMS.items() for d in DEVICES] + [
    (n, t, d) for n, t in QUANTINUUM_ONLY.items() for d in DEVICES[1:]
]


def planned(program: Program, device: str, shots: int) -> tuple[str | None, Decimal]:
    job = Job(
        name="j",
        target="t",
        session=None,
        programs=(program,),
        shots=shots,
        params={},
        matrix=None,
        options={},
        priority=None,
        attrs=Attrs(),
        protect=False,
        path=("jobs", "j"),
    )
    targets = {"t": Target("t", "azure", device, {}, {})}
    manifest = Manifest("m.yaml", "/p", "f" * 64, "p", 10_000, targets, {}, {"j": job}, {}, {}, None)
    (estimate,) = cost.estimate(expand(manifest))
    return estimate.currency, estimate.amount


@pytest.mark.parametrize(("name", "text", "device"), CASES, ids=[f"{n}-{d}" for n, _, d in CASES])
def test_the_emulator_bills_what_runner_planned(name: str, text: str, device: str) -> None:
    program = Program(f"{name}.qasm", text, "qasm3" if "OPENQASM 3" in text else "qasm2", name.ljust(64, "0"))
    payload = formats.payload(device, bound(program, {}))  # what runner's client uploads
    reported = bill(device, payload.data, 2000)
    assert reported is not None
    currency, amount = planned(program, device, 2000)
    assert currency is not None and charged(reported) == {currency: amount}


def test_a_program_with_a_delay_reaches_quantinuum_as_parseable_openqasm_2() -> None:
    text = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nh q[0];\ndelay[100ns] q[0];\nc = measure q;\n'
    )
    program = Program("d.qasm", text, "qasm3", "d" * 64)
    payload = formats.payload("quantinuum.qpu.h1-1", bound(program, {}))
    assert b"delay" not in payload.data  # neither OpenQASM 2 nor Quantinuum's input has an idle instruction
    reported = bill("quantinuum.qpu.h1-1", payload.data, 100)
    assert reported is not None
    assert charged(reported) == {"HQC": planned(program, "quantinuum.qpu.h1-1", 100)[1]}  # priced as sent
    # what apply sends (converted once per program, then bound) is the same text
    assert formats.payload_for("quantinuum.qpu.h1-1", program, {}).data == payload.data
