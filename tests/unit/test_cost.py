"""Cost estimates and the budget guard, with literal data: every rule, hand-computed numbers, exact messages."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from runner.domain.model import Attrs, Batch, BatchJob, Budget, Job, Manifest, Matrix, Program, Target
from runner.domain.resources import Recorded
from runner.errors import BudgetExceededError, ExitCode
from runner.expand.expansion import expand
from runner.planning import cost, gates, pricing
from runner.planning.changes import Change, Plan
from runner.planning.pricing import Estimate, Gates, Line, Work

D = Decimal
BELL = Program(
    "bell.qasm",
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nbarrier q;\nmeasure q -> c;\n",
    "qasm2",
    "b" * 64,
)
ROTATION = Program(
    "rot.qasm",
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\nqubit[2] q;\nbit[2] c;\n'
    "rx(theta) q[0];\ncz q[0], q[1];\nc = measure q;\n",
    "qasm3",
    "r" * 64,
)
SEQ = Program("s.json", "{}", "pulser", "e" * 64)
TABLE = {"currency": "USD", "per_job": 0.3, "per_shot": 0.00035, "per_1q_gate_shot": 0.0001, "per_2q_gate_shot": 0.001}


def target(name: str, provider: str, device: str, price: dict[str, Any] | None = None) -> Target:
    return Target(name, provider, device, {}, {}, price=price or {})


TARGETS = {
    "local": target("local", "local", "local.aer"),
    "aria": target("aria", "azure", "ionq.qpu.aria-1"),
    "ionqsim": target("ionqsim", "azure", "ionq.simulator"),
    "h1": target("h1", "azure", "quantinuum.qpu.h1-1"),
    "h1e": target("h1e", "azure", "quantinuum.sim.h1-1e"),
    "ss": target("ss", "superstaq", "ss_unconstrained_simulator"),
    "ssp": target("ssp", "superstaq", "ibmq_brisbane_qpu", TABLE),
    "fresnel": target("fresnel", "pasqal", "FRESNEL"),
    "fresnelp": target("fresnelp", "pasqal", "FRESNEL", {"currency": "credits", "per_job": 2, "per_shot": 0.01}),
}


def job(name: str, on: str, program: Program = BELL, shots: int = 1000, **kw: Any) -> Job:
    fields: dict[str, Any] = dict(
        name=name,
        target=on,
        session=None,
        programs=(program,),
        shots=shots,
        params={},
        matrix=None,
        options={},
        priority=None,
        attrs=Attrs(),
        protect=False,
        path=("jobs", name),
    )
    fields.update(kw)
    return Job(**fields)


def manifest(
    *jobs: Job, batches: dict[str, Batch] | None = None, budget: Budget | None = None, targets: Any = None
) -> Manifest:
    jobs_by_name = {j.name: j for j in jobs}
    return Manifest(
        "m.yaml", "/p", "f" * 64, "p", 10_000, targets or TARGETS, {}, jobs_by_name, batches or {}, {}, budget
    )


def by_address(estimates: list[Estimate]) -> dict[str, Estimate]:
    return {e.address: e for e in estimates}


# price tables ----------------------------------------------------------------------------------
def test_price_table_is_exact_decimal_arithmetic_per_job_shot_and_gate_shot() -> None:
    e = pricing.table("job.a", "ssp", TABLE, Work(shots=1000, gates=Gates(one_q=3, two_q=1, multi=(3,))))
    assert e == Estimate(
        "job.a",
        "USD",
        D("2.95"),
        "exact",
        (
            Line("job", "job", D(1), D("0.3"), D("0.3")),
            Line("shot", "shot", D(1000), D("0.00035"), D("0.35000")),
            Line("1q_gate_shot", "gate-shot", D(3000), D("0.0001"), D("0.3000")),
            Line("2q_gate_shot", "gate-shot", D(2000), D("0.001"), D("2.000")),
        ),
        "targets.ssp.price",
    )


def test_price_table_minimum_tops_a_job_up_and_a_currency_alone_means_free() -> None:
    topped = pricing.table("job.a", "t", {"currency": "credits", "per_shot": 0.01, "minimum": 5}, Work(shots=100))
    assert (topped.amount, topped.lines[-1]) == (D(5), Line("minimum", "job", D(1), D("4.00"), D("4.00")))
    over = pricing.table("job.a", "t", {"currency": "credits", "per_shot": 0.01, "minimum": 5}, Work(shots=600))
    assert (over.amount, [line.dimension for line in over.lines]) == (D(6), ["shot"])
    free = pricing.table("job.a", "t", {"currency": "USD"}, Work(shots=100))
    assert (free.currency, free.amount, free.basis, free.lines) == ("USD", D(0), "exact", ())


def test_shots_of_every_circuit_of_a_multi_circuit_job_are_priced() -> None:
    e = pricing.table("job.a", "t", {"currency": "USD", "per_shot": 0.001}, Work(shots=100, circuits=3))
    assert e.amount == D("0.300")


def test_a_price_table_overrides_the_azure_formula() -> None:
    priced = target("aria", "azure", "ionq.qpu.aria-1", {"currency": "USD", "per_job": 120})
    e = pricing.price("job.a", priced, Work(shots=100, gates=Gates(1, 1)))
    assert (e.amount, e.basis, e.source) == (D(120), "exact", "targets.aria.price")


# Azure formulas --------------------------------------------------------------------------------
def test_ionq_formula_above_the_minimum() -> None:
    # (0.0002205 x 200 + 0.00098 x 100) x 10000 = 441 + 980 = 1421
    e = pricing.azure("job.a", "ionq.qpu.aria-1", Work(shots=10_000, gates=Gates(one_q=200, two_q=100)))
    assert (e.currency, e.amount, e.basis) == ("USD", D(1421), "formula")
    assert [(line.dimension, line.quantity, line.amount) for line in e.lines] == [
        ("1q_gate_shot", D(2_000_000), D("441.0000000")),
        ("2q_gate_shot", D(1_000_000), D("980.00000")),
    ]


def test_ionq_formula_below_the_minimum_charges_the_minimum() -> None:
    # (0.0002205 x 10 + 0.00098 x 5) x 100 = 0.7105, below 97.50
    e = pricing.azure("job.a", "ionq.qpu.forte-1", Work(shots=100, gates=Gates(one_q=10, two_q=5)))
    assert e.amount == D("97.50")
    assert e.lines[-1] == Line("minimum", "job", D(1), D("96.7895"), D("96.7895"))


def test_ionq_bills_a_gate_on_n_qubits_as_6_x_n_minus_2_two_qubit_gates() -> None:
    assert Gates(two_q=1, multi=(4, 3)).ionq_2q == 1 + 12 + 6
    e = pricing.azure("job.a", "ionq.qpu", Work(shots=100_000, gates=Gates(multi=(4,))))
    assert e.lines[1] == Line("2q_gate_shot", "gate-shot", D(1_200_000), D("0.00098"), D("1176.00000"))


def test_ionq_simulator_is_free() -> None:
    e = pricing.azure("job.a", "ionq.simulator", Work(shots=100, gates=Gates(5, 5)))
    assert e == Estimate("job.a", "USD", D(0), "formula", (), "ionq.simulator is free")


def test_quantinuum_hqc_formula() -> None:
    # 5 + 100 x (10 + 10 x 4 + 5 x 2) / 5000 = 5 + 1.2 = 6.2
    e = pricing.azure("job.a", "quantinuum.qpu.h1-1", Work(shots=100, gates=Gates(one_q=10, two_q=4, spam=2)))
    assert (e.currency, e.amount, e.basis) == ("HQC", D("6.2"), "formula")
    assert [(line.dimension, line.quantity, line.unit_price) for line in e.lines] == [
        ("job", D(1), D(5)),
        ("1q_gate_shot", D(1000), D("0.0002")),
        ("2q_gate_shot", D(400), D("0.002")),
        ("spam_shot", D(200), D("0.001")),
    ]


@pytest.mark.parametrize(
    ("device", "currency", "amount"),
    [
        ("quantinuum.qpu.h2-1", "HQC", D("6.2")),
        ("quantinuum.sim.h1-1e", "EHQC", D("6.2")),
        ("quantinuum.sim.h2-1e", "EHQC", D("6.2")),
        ("quantinuum.hqs-lt-s1-sim", "EHQC", D("6.2")),
        ("quantinuum.sim.h1-1sc", "HQC", D(0)),
        ("quantinuum.hqs-lt-s1-apival", "HQC", D(0)),
    ],
)
def test_quantinuum_emulators_cost_ehqc_and_syntax_checkers_nothing(device: str, currency: str, amount: D) -> None:
    e = pricing.azure("job.a", device, Work(shots=100, gates=Gates(one_q=10, two_q=4, spam=2)))
    assert (e.currency, e.amount, e.basis) == (currency, amount, "formula")


# local and unknown -----------------------------------------------------------------------------
def test_local_jobs_are_exactly_free() -> None:
    e = pricing.price("job.a", TARGETS["local"], Work(shots=100))
    assert e == Estimate("job.a", "USD", D(0), "exact", (), "local simulator: free")


def test_targets_without_a_known_price_stay_unknown_never_zero() -> None:
    e = pricing.price("job.a", TARGETS["ss"], Work(shots=100))
    assert e == Estimate(
        "job.a",
        None,
        D(0),
        "unknown",
        (),
        "no price known for superstaq target ss_unconstrained_simulator: add a price table to targets.ss",
    )
    assert cost.totals([e]) == {}


@pytest.mark.parametrize(
    ("name", "currency"),
    [("local", "USD"), ("aria", "USD"), ("h1", "HQC"), ("h1e", "EHQC"), ("ss", None), ("ssp", "USD")],
)
def test_currency_of_each_target(name: str, currency: str | None) -> None:
    assert pricing.currency_of(TARGETS[name]) == currency


# estimating an expansion -----------------------------------------------------------------------
def test_estimate_counts_gates_of_the_circuit_as_submitted() -> None:
    jobs = (job("a", "aria"), job("h", "h1"), job("l", "local"), job("s", "ss"), job("p", "ssp", shots=10))
    found = by_address(cost.estimate(expand(manifest(*jobs))))
    assert list(found) == ["job.a", "job.h", "job.l", "job.p", "job.s"]
    # bell: 1 one-qubit gate, 1 two-qubit gate, 2 measurements; the barrier is free
    assert [line.quantity for line in found["job.a"].lines] == [D(1000), D(1000), D(1)]
    assert found["job.a"].amount == D("97.50")
    assert found["job.h"].amount == D("9.2")  # 5 + 1000 x (1 + 10 + 10) / 5000
    assert found["job.p"].amount == D("0.3") + D("0.0035") + D("0.001") + D("0.01")
    assert (found["job.l"].amount, found["job.s"].basis) == (D(0), "unknown")


def test_batch_jobs_are_priced_per_run_and_unknown_without_a_table() -> None:
    def batch(name: str, on: str) -> Batch:
        runs = (BatchJob("a", 100, {}, ()), BatchJob("b", 300, {}, ()))
        return Batch(name, on, SEQ, False, 100, runs, None, {}, None, Attrs(), False, ())

    batches = {"q": batch("q", "fresnelp"), "u": batch("u", "fresnel")}
    found = by_address(cost.estimate(expand(manifest(batches=batches))))
    assert {a: (e.currency, e.amount) for a, e in found.items()} == {
        "batch.q.job.a": ("credits", D("3.00")),
        "batch.q.job.b": ("credits", D("5.00")),
        "batch.u.job.a": (None, D(0)),
        "batch.u.job.b": (None, D(0)),
    }


def test_a_sweep_counts_its_program_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = gates.lowered

    def counted(circuit: Any, style: str) -> Any:
        calls.append(style)
        return real(circuit, style)

    monkeypatch.setattr(gates, "lowered", counted)
    sweep = job("s", "h1", ROTATION, shots=100, matrix=Matrix({"theta": (0.0, 0.5, 1.0, 3.0)}))
    found = cost.estimate(expand(manifest(sweep)))
    # 5 + 100 x (1 + 10 x 1 + 5 x 2) / 5000 for every point, whatever theta is
    assert ([e.amount for e in found], calls) == ([D("5.42")] * 4, ["qasm2"])


def test_a_program_that_cannot_be_counted_is_unknown() -> None:
    broken = Program("bad.qasm", "OPENQASM 2.0;\nqreg q[1];\nnot_a_gate q[0];\n", "qasm2", "x" * 64)
    (e,) = cost.estimate(expand(manifest(job("a", "aria", broken))))
    assert (e.basis, e.currency, e.source.split(":")[0]) == ("unknown", None, "cannot count the gates of bad.qasm")


def test_for_plan_prices_only_jobs_it_would_create_or_replace() -> None:
    expansion = expand(manifest(job("a", "local"), job("b", "local"), job("c", "local"), job("d", "local")))
    desired = expansion.by_address()
    plan = Plan(
        (
            Change("job.a", "job", "create", "not in state", desired["job.a"]),
            Change("job.b", "job", "replace", "shots 1 -> 1000", desired["job.b"]),
            Change("job.c", "job", "update", "tags +x", desired["job.c"]),
            Change("job.d", "job", "noop", "unchanged", desired["job.d"]),
            Change("job.gone", "job", "delete", "not in the manifest"),
        )
    )
    assert [e.address for e in cost.for_plan(plan, expansion)] == ["job.a", "job.b"]


# totals and the budget -------------------------------------------------------------------------
def known(address: str, currency: str, amount: str) -> Estimate:
    return Estimate(address, currency, D(amount), "formula")


ESTIMATES = [
    known("job.a", "USD", "97.50"),
    known("job.b", "USD", "214.9"),
    known("job.c", "HQC", "30.125"),
    known("job.d", "EHQC", "12"),
]


def test_totals_are_per_currency_never_mixed() -> None:
    unknown = pricing.unknown("job.x", "no price")
    assert cost.totals([*ESTIMATES, unknown]) == {"EHQC": D(12), "HQC": D("30.125"), "USD": D("312.40")}


def test_within_budget_passes_and_a_limit_may_be_met_exactly() -> None:
    cost.check_budget(ESTIMATES, {"USD": D("312.40"), "HQC": D(40)}, allow_unknown=False)
    cost.check_budget(ESTIMATES, {}, allow_unknown=False)


def test_over_budget_names_each_exceeded_currency_with_total_and_limit() -> None:
    with pytest.raises(BudgetExceededError) as caught:
        cost.check_budget(ESTIMATES, {"USD": D(250), "HQC": D(30), "EHQC": D(100)}, allow_unknown=True)
    assert caught.value.message == "over budget: HQC 30.13 planned, budget 30; USD 312.40 planned, budget 250"
    assert caught.value.exit_code == ExitCode.OVER_BUDGET
    assert int(ExitCode.OVER_BUDGET) == 5


def test_a_total_just_over_its_limit_does_not_look_equal_to_it() -> None:
    with pytest.raises(BudgetExceededError) as caught:
        cost.check_budget(
            [known("job.a", "USD", "250.004"), known("job.b", "HQC", "0.004")],
            {"USD": D(250), "HQC": D("0.001")},
            False,
        )
    assert caught.value.message == "over budget: HQC 0.004 planned, budget 0.001; USD 250.004 planned, budget 250"


def test_unknown_costs_are_refused_under_a_budget_unless_allowed() -> None:
    unknowns = [pricing.unknown(f"job.u{i}", "no price") for i in range(4)]
    with pytest.raises(BudgetExceededError) as caught:
        cost.check_budget([*ESTIMATES, *unknowns], {"USD": D(1000)}, allow_unknown=False)
    assert caught.value.message == (
        "the cost of 4 planned job(s) is unknown (job.u0, job.u1, job.u2 and 1 more): add a price table to their "
        "targets, or set budget.allow_unknown: true to accept them"
    )
    cost.check_budget([*ESTIMATES, *unknowns], {"USD": D(1000)}, allow_unknown=True)


def test_over_budget_and_unknown_are_reported_together() -> None:
    with pytest.raises(BudgetExceededError) as caught:
        cost.check_budget([*ESTIMATES, pricing.unknown("job.u", "no price")], {"USD": D(1)}, allow_unknown=False)
    assert caught.value.message == (
        "over budget: USD 312.40 planned, budget 1; the cost of 1 planned job(s) is unknown (job.u): add a price "
        "table to their targets, or set budget.allow_unknown: true to accept them"
    )


def test_amounts_are_rounded_for_display_only() -> None:
    assert [cost.money(D(x)) for x in ("312.4", "0.004", "0", "2.675", "1421.0000000")] == [
        "312.40",
        "<0.01",
        "0.00",
        "2.68",
        "1421.00",
    ]
    assert [cost.plain(D(x)) for x in ("250", "0.0002205", "0.000", "1E+3")] == ["250", "0.0002205", "0", "1000"]


# plan output -----------------------------------------------------------------------------------
def test_section_json_holds_estimates_totals_and_the_budget_verdict() -> None:
    e = pricing.table("job.a", "t", {"currency": "USD", "per_shot": 0.25}, Work(shots=1000))
    section = cost.section_json([e, pricing.unknown("job.u", "no price")], Budget({"USD": D(200)}, True))
    assert section == {
        "estimates": [
            {
                "address": "job.a",
                "currency": "USD",
                "amount": "250",
                "basis": "exact",
                "source": "targets.t.price",
                "lines": [
                    {"dimension": "shot", "unit": "shot", "quantity": "1000", "unit_price": "0.25", "amount": "250"}
                ],
            },
            {
                "address": "job.u",
                "currency": None,
                "amount": "0",
                "basis": "unknown",
                "source": "no price",
                "lines": [],
            },
        ],
        "totals": {"USD": "250"},
        "unknown": 1,
        "budget": {
            "limits": {"USD": "200"},
            "allow_unknown": True,
            "exceeded": ["USD"],
            "ok": False,
            "problem": "over budget: USD 250.00 planned, budget 200",
        },
    }
    assert json.loads(json.dumps(section)) == section
    assert cost.section_json([], None) == {"estimates": [], "totals": {}, "unknown": 0, "budget": None}


def test_section_text_shows_totals_unknowns_and_budget_status() -> None:
    unknown = pricing.unknown("job.u", "no price")
    budget = Budget({"USD": D(250), "HQC": D(40), "EHQC": D(5)}, allow_unknown=False)
    assert cost.section_text([*ESTIMATES, unknown], budget) == [
        "Estimated cost: EHQC 12.00, HQC 30.13, USD 312.40 for 4 job(s)",
        "Unknown cost: 1 job(s) (job.u): no price known; add a price table to their targets",
        "Budget: EHQC 12.00 of 5 (over), HQC 30.13 of 40 (ok), USD 312.40 of 250 (over)",
        "Budget: jobs of unknown cost are refused (set budget.allow_unknown: true to accept them)",
    ]


def test_section_text_is_silent_when_nothing_costs_and_no_budget_is_set() -> None:
    free = pricing.price("job.a", TARGETS["local"], Work(shots=10))
    assert cost.section_text([free], None) == []
    assert cost.section_text([], Budget({"USD": D(5)})) == [
        "Estimated cost: no priced jobs to submit",
        "Budget: USD 0.00 of 5 (ok)",
    ]


def test_text_lines_show_each_priced_line() -> None:
    e = pricing.azure("job.a", "quantinuum.qpu.h1-1", Work(shots=100, gates=Gates(one_q=10, two_q=4, spam=2)))
    assert cost.text_lines(e) == [
        f"job.a: HQC 6.20 (formula: {pricing.HQC_SOURCE})",
        "  job: 1 job x 5 = 5",
        "  1q_gate_shot: 1000 gate-shot x 0.0002 = 0.2",
        "  2q_gate_shot: 400 gate-shot x 0.002 = 0.8",
        "  spam_shot: 200 operation-shot x 0.001 = 0.2",
    ]
    assert cost.text_lines(pricing.unknown("job.u", "no price")) == ["job.u: cost unknown (no price)"]


# budget from the manifest, and actual costs ----------------------------------------------------
def test_budget_of_reads_the_manifest() -> None:
    budget = Budget({"USD": D(250)}, allow_unknown=True)
    assert cost.budget_of(manifest(budget=budget)) is budget
    assert cost.budget_of(manifest()) is None


def recorded(address: str, detail: dict[str, Any]) -> Recorded:
    return Recorded(address, "job", "t", "azure", None, 1, "f", {}, Attrs(), "succeeded", "r", detail=detail)


def test_actuals_sum_reported_costs_per_currency() -> None:
    rows: list[Recorded | dict[str, Any]] = [
        recorded("job.a", {"cost": {"currency": "USD", "amount": 97.5, "events": []}}),
        recorded("job.b", {"cost": {"currency": "USD", "amount": "0.1"}}),
        {"address": "job.c", "detail": {"cost": {"currency": "HQC", "amount": 6.2}}},
        {"address": "job.d", "detail": {"error": "failed"}},
        recorded("job.e", {"cost": {"currency": "HQC", "amount": None}}),
        recorded("job.f", {"cost": {"currency": "HQC", "amount": "n/a"}}),
        recorded("job.g", {"cost": {"currency": "HQC", "amount": float("nan")}}),
        recorded("job.h", {"cost": [{"currency": "EHQC", "amount": 1}, {"currency": "EHQC", "amount": 2.5}]}),
    ]
    assert cost.actuals(rows) == {"EHQC": D("3.5"), "HQC": D("6.2"), "USD": D("97.6")}


# actual costs from Azure -----------------------------------------------------------------------
@pytest.mark.parametrize("device", ["ionq.qpu.aria-1", "quantinuum.qpu.h1-1", "quantinuum.sim.h1-1e"])
def test_the_emulator_reports_what_the_plan_estimated(device: str) -> None:
    from runner.emulators.azure import execute as azure_exec
    from runner.providers.azure import formats as azure_formats
    from runner.providers.azure.wire import observation
    from runner.quantum.circuits import bound

    one = job("s", "t", ROTATION, shots=100, params={"theta": 0.5})
    planned = cost.estimate(expand(manifest(one, targets={"t": target("t", "azure", device)})))
    payload = azure_formats.payload(device, bound(ROTATION, {"theta": 0.5}))
    work = azure_exec.prepare(device, payload.input_format, {"shots": 100}, payload.data)
    reported = azure_exec.cost_estimate(device, work)
    assert reported is not None
    detail = observation({"id": "j", "status": "Succeeded", "costEstimate": reported}).detail  # as the client reads it
    assert cost.actuals([{"detail": detail}]) == {str(planned[0].currency): planned[0].amount}


def test_the_emulator_reports_nothing_billed_on_the_ionq_simulator() -> None:
    from runner.emulators.azure import execute as azure_exec
    from runner.quantum.circuits import bound

    work = azure_exec.Work("ionq", bound(BELL, {}), 100)
    reported = azure_exec.cost_estimate("ionq.simulator", work)
    assert reported is not None and reported["estimatedTotal"] == 0.0


def test_an_azure_cost_estimate_becomes_detail_cost_and_usage() -> None:
    from runner.providers.azure.wire import observation

    item = {
        "id": "j1",
        "status": "Succeeded",
        "costEstimate": {
            "currencyCode": "USD",
            "estimatedTotal": 97.5,
            "events": [
                {
                    "dimensionId": "gs1q",
                    "dimensionName": "1Q Gate Shot",
                    "measureUnit": "1q gate shot",
                    "amountBilled": 1000,
                    "amountConsumed": 1000,
                    "unitPrice": 0.0002205,
                }
            ],
        },
    }
    assert observation(item).detail == {
        "cost": {"currency": "USD", "amount": 97.5},
        "usage": [
            {
                "dimension": "1Q Gate Shot",
                "unit": "1q gate shot",
                "billed": 1000,
                "consumed": 1000,
                "unit_price": 0.0002205,
            }
        ],
    }
    assert "cost" not in observation({"id": "j2", "status": "Succeeded", "costEstimate": None}).detail


def test_a_job_finished_on_the_azure_emulator_records_its_reported_cost() -> None:
    import time
    import uuid

    from runner import emulators
    from runner.domain.remote import RemoteRef
    from runner.providers.azure.provider import AzureProvider
    from runner.providers.base import Context, Submission

    server = emulators.start("azure")
    workspace = {"subscription_id": "00000000-0000-0000-0000-000000000001", "resource_group": "rg", "name": "ws"}
    config = {
        "workspace": {**workspace, "location": "eastus"},
        "endpoint": server.url,
        "credentials": {"api_key_env": "KEY"},
    }
    provider = AzureProvider(
        Target("h1", "azure", "quantinuum.qpu.h1-1", {}, config), Context({"KEY": "emulator-key"}, ".")
    )
    try:
        spec = {"kind": "job", "shots": 100, "params": {}, "options": {}}
        made = provider.create(Submission("job.a", "job", 1, uuid.uuid4().hex, "f", spec, Attrs(), (BELL,), None))
        seen, deadline = made, time.monotonic() + 20
        while not seen.terminal and time.monotonic() < deadline:
            time.sleep(0.05)
            (seen,) = provider.observe([RemoteRef("job", made.remote_id)])
    finally:
        provider.shutdown()
        server.stop()
    (planned,) = cost.estimate(expand(manifest(job("a", "h1", shots=100))))
    assert (seen.raw_status, seen.detail["cost"]) == ("Succeeded", {"currency": "HQC", "amount": 5.42})
    assert cost.actuals([{"detail": seen.detail}]) == {"HQC": planned.amount} == {"HQC": D("5.42")}
    assert [(e["dimension"], e["unit"]) for e in seen.detail["usage"]] == [("HQC", "hqc")]
