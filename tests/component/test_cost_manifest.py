"""`price:` on targets and the top-level `budget:`: loaded into the model, checked with located messages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.model import Budget, Manifest
from runner.errors import ManifestError
from runner.expand.expansion import expand
from runner.manifest import loader as manifest

AZURE = (
    "  h1:\n"
    "    provider: azure\n"
    "    target: quantinuum.qpu.h1-1\n"
    "    credentials: {api_key_env: K}\n"
    "    workspace: {subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg, name: ws,"
    " location: eastus}\n"
)
JOB = "jobs:\n  a: {target: ss, program: {qasm: 'OPENQASM 2.0; qreg q[1]; creg c[1]; measure q -> c;'}}\n"


def load(tmp_path: Path, text: str) -> Manifest:
    (tmp_path / "m.yaml").write_text("version: 1\nproject: p\n" + text)
    return manifest.load("m.yaml")  # the working directory is tmp_path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, text)
    return [str(p) for p in caught.value.problems]


def test_price_and_budget_load_into_the_model(tmp_path: Path) -> None:
    m = load(
        tmp_path,
        "budget: {USD: 250, HQC: 40.5}\n"
        "targets:\n"
        "  ss:\n"
        "    provider: superstaq\n"
        "    target: ibmq_brisbane_qpu\n"
        "    credentials: {api_key_env: K}\n"
        "    price: {currency: USD, per_job: 0.3, per_shot: 0.00035, minimum: 1}\n" + AZURE + JOB,
    )
    assert m.targets["ss"].price == {"currency": "USD", "per_job": 0.3, "per_shot": 0.00035, "minimum": 1}
    assert "price" not in m.targets["ss"].config
    assert m.budget == Budget({"USD": Decimal(250), "HQC": Decimal("40.5")}, allow_unknown=False)
    assert load(tmp_path, "budget: {USD: 1, allow_unknown: true}\n").budget == Budget({"USD": Decimal(1)}, True)
    assert load(tmp_path, "").budget is None


def test_a_price_is_not_part_of_what_a_job_is(tmp_path: Path) -> None:
    target = "targets:\n  ss:\n    provider: superstaq\n    credentials: {api_key_env: K}\n    price: {currency: USD"
    cheap = expand(load(tmp_path, target + ", per_shot: 0.001}\n" + JOB)).resources
    dear = expand(load(tmp_path, target + ", per_shot: 0.002}\n" + JOB)).resources
    assert [r.fingerprint for r in cheap] == [r.fingerprint for r in dear]


def test_schema_problems_in_price_and_budget_are_located(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        "budget: {USD: 0, allow_unknown: maybe, 'u s d': 3, EUR: lots}\n"
        "targets:\n"
        "  ss:\n"
        "    provider: superstaq\n"
        "    credentials: {api_key_env: K}\n"
        "    price: {per_shot: -1, per_gate: 2}\n",
    ) == [
        "m.yaml:3:15: budget.USD: must be > 0 (got 0)",
        "m.yaml:3:33: budget.allow_unknown: expected true or false, got 'maybe'",
        "m.yaml:3:40: budget: invalid name 'u s d': use letters, digits, '_' and '-', starting with a letter",
        "m.yaml:3:57: budget.EUR: expected a number, got 'lots'",
        "m.yaml:8:5: targets.ss.price: missing required key 'currency'",
        "m.yaml:8:23: targets.ss.price.per_shot: must be >= 0 (got -1)",
        "m.yaml:8:27: targets.ss.price: unknown key 'per_gate' (did you mean 'per_2q_gate_shot'?)",
    ]


def test_a_budget_currency_no_target_costs_in_is_a_located_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, "budget: {USD: 10, usd: 5, HQC: 3}\n") == [
        "m.yaml:3:19: budget: no target costs in usd (targets cost in: USD); add a price table with this currency "
        "to a target, or remove the limit",
        "m.yaml:3:27: budget: no target costs in HQC (targets cost in: USD); add a price table with this currency "
        "to a target, or remove the limit",
    ]
    assert load(tmp_path, "budget: {HQC: 3}\ntargets:\n" + AZURE).budget == Budget({"HQC": Decimal(3)})


def test_gate_prices_do_not_apply_to_targets_that_run_pulse_sequences(tmp_path: Path) -> None:
    text = (
        "targets:\n"
        "  qpu:\n"
        "    provider: pasqal\n"
        "    target: FRESNEL\n"
        "    project_id: p\n"
        "    credentials: {token_env: T}\n"
        "    price: {currency: credits, per_shot: 0.01, per_2q_gate_shot: 1}\n"
    )
    assert problems(tmp_path, text) == [
        "m.yaml:9:48: targets.qpu: pasqal targets run no gate circuits, so per_2q_gate_shot cannot apply"
    ]


def test_a_target_lost_to_a_schema_error_does_not_make_its_currency_look_unused(tmp_path: Path) -> None:
    broken = AZURE.replace("    target: quantinuum", "    targte: quantinuum")
    assert problems(tmp_path, "budget: {HQC: 3}\ntargets:\n" + broken) == [
        "m.yaml:7:5: targets.h1: unknown key 'targte' (did you mean 'target'?)"
    ]
