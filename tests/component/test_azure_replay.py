"""runner's Azure client against the real service's recorded answers (tests/fixtures/recordings/azure).

Each test drives the provider the way apply, refresh and results do, while a replay of one
recording answers (see tests/azure_recordings.py): the session failure policies, paging through
real nextLinks, a Quantinuum submission with its cost events, and a refused key.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from azure_recordings import ENDPOINT, WORKSPACE, Replay, load, route

from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.domain.remote import Observation, RemoteRef
from runner.domain.vocabulary import FAILED, PENDING, RUNNING, SUCCEEDED, TIMED_OUT, Kind
from runner.errors import AuthError, RejectedError
from runner.planning import cost
from runner.providers.azure.provider import AzureProvider
from runner.providers.azure.wire import observation
from runner.providers.base import Context, Submission

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
ENDED = "Session is already in a terminal state. This may have been due to failures in prior jobs in the session."
UNTRANSLATABLE = (
    "The output returned by 'microsoft.test.firstparty' cannot be translated as specified by 'outputDataFormat'. "
    "Please ensure that 'outputDataFormat' is correct."
)


def provider(replay: Replay, target: str = "quantinuum.sim.h2-1e", credentials: dict[str, str] | None = None) -> Any:
    config = {"workspace": WORKSPACE, "endpoint": ENDPOINT, "credentials": credentials or {"api_key_env": "KEY"}}
    env = {"KEY": "PLACEHOLDER", "CONN": CONNECTION}
    return AzureProvider(Target("az", "azure", target, {}, config), Context(env, "."), transport=replay.transport())


CONNECTION = (
    f"SubscriptionId={WORKSPACE['subscription_id']};ResourceGroupName=myresourcegroup;WorkspaceName=myworkspace;"
    "ApiKey=PLACEHOLDER;QuantumEndpoint=https://eastus.quantum.azure.com/;"
)


def submission(kind: Kind = "job", *, parent: str | None = None, policy: str = "abort", shots: int = 100) -> Submission:
    token = uuid.uuid4().hex
    spec: dict[str, Any] = {"kind": kind, "shots": shots, "params": {}, "options": {}}
    if kind == "session":
        spec = {"kind": kind, "job_failure_policy": policy}
    programs = (Program("bell.qasm", BELL, "qasm2", digest(BELL)),) if kind == "job" else ()
    ref = RemoteRef("session", parent) if parent else None
    return Submission(f"{kind}.r{token[:6]}", kind, 1, token, digest(spec), spec, Attrs(), programs, ref)


def settled(az: AzureProvider, ref: RemoteRef, polls: int = 30) -> Observation:
    """Observe until terminal; the replay steps through the recorded answers, one per poll."""
    for _ in range(polls):
        (seen,) = az.observe([ref])
        if seen.terminal:
            return seen
    raise AssertionError(f"{ref.remote_id} never finished: {seen.raw_status}")


# sessions --------------------------------------------------------------------------------------
def test_abort_session_fails_with_its_job_and_the_next_job_gets_the_recorded_400() -> None:
    replay = Replay(load("test_session_job_failure_policies_echo_quantinuum"))
    az = provider(replay)
    session = az.create(submission("session", policy="abort"))
    assert (session.status, session.raw_status) == (PENDING, "Waiting")
    (opened,) = replay.requests("PUT /sessions/{id}")
    assert json.loads(opened.content)["jobFailurePolicy"] == "Abort"
    bad = az.create(submission(parent=session.remote_id))
    failed = settled(az, RemoteRef("job", bad.remote_id, session.remote_id))
    assert (failed.status, failed.detail["error"]) == (FAILED, UNTRANSLATABLE)
    (ended,) = az.observe([RemoteRef("session", session.remote_id)])
    assert (ended.status, ended.raw_status) == (FAILED, "Failed")
    refused = submission(parent=session.remote_id)
    with pytest.raises(RejectedError) as caught:
        az.create(refused)
    assert caught.value.message == f"{refused.address}: 400: (InvalidJobDefinition) {ENDED}"


def test_continue_session_stays_open_after_a_failure_takes_the_next_job_and_ends_failed_when_closed() -> None:
    replay = Replay(load("test_session_job_failure_policies_echo_quantinuum"))
    az = provider(replay)
    abort = az.create(submission("session", policy="abort"))  # the recording's first half, as above
    settled(az, RemoteRef("job", az.create(submission(parent=abort.remote_id)).remote_id))
    with pytest.raises(RejectedError):
        az.create(submission(parent=abort.remote_id))

    session = az.create(submission("session", policy="continue"))
    ref = RemoteRef("session", session.remote_id)
    good = az.create(submission(parent=session.remote_id))
    assert settled(az, RemoteRef("job", good.remote_id)).status == SUCCEEDED
    assert az.observe([ref])[0].raw_status == "Executing"
    bad = az.create(submission(parent=session.remote_id))
    assert settled(az, RemoteRef("job", bad.remote_id)).status == FAILED
    (partial,) = az.observe([ref])
    # the session is still open: runner neither opens a new one nor leaves this one unclosed
    assert (partial.status, partial.raw_status, partial.detail) == (RUNNING, "Failure(s)", {"failures": True})
    third = az.create(submission(parent=session.remote_id))
    assert (third.status, third.raw_status) == (PENDING, "Waiting")
    assert settled(az, RemoteRef("job", third.remote_id)).status == SUCCEEDED
    assert az.observe([ref])[0].raw_status == "Failure(s)"
    closed = az.close(ref)
    assert (closed.status, closed.raw_status, closed.detail) == (FAILED, "Failed", {})


def test_sessions_are_never_read_for_tags_and_their_cost_stays_apart() -> None:
    replay = Replay(load("test_list_session_jobs"))
    az = provider(replay)
    sessions = next(e for e in replay.exchanges if e.route == "GET /sessions").json()["value"]
    seen = az.observe([RemoteRef("session", s["id"]) for s in sessions])
    assert len(replay.seen) == 1  # one recorded page holds all 31
    by_status: dict[str, int] = {}
    for obs in seen:
        by_status[obs.status] = by_status.get(obs.status, 0) + 1
        assert "tags" not in obs.detail and "cost" not in obs.detail
    assert by_status == {SUCCEEDED: 28, FAILED: 2, TIMED_OUT: 1}
    priced = [o.detail["session_cost"] for o in seen if "session_cost" in o.detail]
    assert priced and all(c == {"currency": "USD", "amount": 0.0} for c in priced)
    assert cost.actuals([{"detail": o.detail} for o in seen]) == {}


# paging ----------------------------------------------------------------------------------------
def test_paging_follows_the_recorded_next_links_with_their_own_query() -> None:
    replay = Replay(load("test_list_jobs_filtered_by_target"))
    az = provider(replay)
    wanted = "(Target eq 'microsoft.estimator' or Target eq 'microsoft.dft')"
    items = [item for page in az.api.pages("/jobs", {"filter": wanted}) for item in page]
    assert len(items) == 348 and len({i["id"] for i in items}) == 348
    asked = [dict(r.url.params) for r in replay.seen]
    assert [(q["skip"], q["top"], q["filter"], q["api-version"]) for q in asked] == [
        (str(skip), "100", wanted, "2026-01-15-preview") for skip in (0, 100, 200, 300)
    ]


def test_observing_jobs_spread_over_four_recorded_pages() -> None:
    replay = Replay(load("test_list_jobs_filtered_by_target"))
    pages = [e.json()["value"] for e in replay.exchanges if e.route == "GET /jobs"]
    chosen = [pages[0][0], pages[1][5], pages[2][0], pages[3][-1]]  # the middle two failed on the service
    az = provider(replay)
    seen = az.observe([RemoteRef("job", j["id"]) for j in chosen])
    assert len(replay.seen) == 4
    assert [o.remote_id for o in seen] == [j["id"] for j in chosen]
    assert [o.status for o in seen] == [SUCCEEDED, FAILED, FAILED, SUCCEEDED]
    assert seen[2].detail["error"] == "The error budget must be between 0.0 and 1.0, provided input was `2`"


# a Quantinuum job, its cost and its results ----------------------------------------------------
def test_a_quantinuum_submission_creates_its_container_and_records_hqc_as_its_cost() -> None:
    replay = Replay(load("test_job_submit_quantinuum_h2_1e"))
    az = provider(replay)
    assert az.describe()["currentAvailability"] == "Available"
    made = az.create(submission(shots=1))
    order = [route(r.method, str(r.url)) for r in replay.seen[1:]]
    container = "job-00000000-0000-0000-0000-000000000001"  # the recorded SAS answer names it
    assert order == [
        ("POST /storage/sasUri", None),
        ("PUT container", container),
        ("PUT blob", f"{container}/inputData"),
        ("PUT /jobs/{id}", replay.seen[-1].url.path.rsplit("/", 1)[-1]),
    ]
    (created,) = replay.requests("PUT container")
    assert created.url.params["restype"] == "container"
    body = json.loads(replay.requests("PUT /jobs/{id}")[0].content)
    assert (body["inputParams"]["shots"], body["inputParams"]["count"]) == (1, 1)
    assert body["inputDataUri"] == f"https://mystorage.blob.core.windows.net/{container}/inputData"
    done = settled(az, RemoteRef("job", made.remote_id))
    assert (done.status, done.detail["cost"]) == (SUCCEEDED, {"currency": "EHQC", "amount": 5.01})
    assert done.detail["usage"] == [
        {"dimension": "EHQC", "unit": "hqc", "billed": 5.01, "consumed": 5.01, "unit_price": 0.0}
    ]
    assert cost.actuals([{"detail": done.detail}]) == {"EHQC": Decimal("5.01")}  # not 5.01 USD, not 0 USD
    result = az.result(RemoteRef("job", made.remote_id))
    assert result is not None
    assert (result.counts, result.shots) == (({"1 0 0": 1},), 1)  # registers c0, c1, c2, as qiskit prints them


def test_the_recorded_hqc_event_is_a_quantity_not_money() -> None:
    (final,) = [e for e in load("test_job_submit_quantinuum_h2_1e") if e.route == "GET /jobs/{id}"][-1:]
    body = final.json()
    assert body["costEstimate"]["currencyCode"] == "USD" and body["costEstimate"]["estimatedTotal"] == 0.0
    detail = observation(body).detail
    assert detail["cost"] == {"currency": "EHQC", "amount": 5.01}
    assert cost.actuals([{"detail": detail}]) == {"EHQC": Decimal("5.01")}


def test_a_session_own_cost_is_never_added_to_its_jobs() -> None:
    recorded = [e.json() for e in load("test_session_job_qiskit_circuit_ionq") if e.route == "GET /sessions/{id}"]
    priced = [b for b in recorded if b["costEstimate"]]
    assert priced  # {"currencyCode": "USD", "events": [], "estimatedTotal": 0.0}
    for body in priced:
        detail = observation(body).detail
        assert "cost" not in detail
        assert detail["session_cost"] == {"currency": "USD", "amount": 0.0}


def test_a_job_finishing_is_running_and_the_ionq_session_closes_succeeded() -> None:
    replay = Replay(load("test_session_job_qiskit_circuit_ionq"))
    az = provider(replay, target="ionq.simulator")
    az.describe()
    session = az.create(submission("session"))
    jobs = [az.create(submission(parent=session.remote_id)) for _ in range(2)]
    (finishing,) = az.observe([RemoteRef("job", jobs[0].remote_id)])
    assert (finishing.status, finishing.raw_status) == (RUNNING, "Finishing")
    assert settled(az, RemoteRef("job", jobs[0].remote_id)).detail["cost"] == {"currency": "USD", "amount": 0.0}
    (running,) = az.observe([RemoteRef("session", session.remote_id)])
    assert (running.status, running.raw_status) == (RUNNING, "Executing")
    closed = az.close(RemoteRef("session", session.remote_id))
    assert (closed.status, closed.raw_status) == (SUCCEEDED, "Succeeded")


# a refused key ---------------------------------------------------------------------------------
def test_a_refused_key_gets_the_recorded_bodiless_401_and_says_where_the_key_came_from() -> None:
    replay = Replay(load("test_workspace_auth_connection_string_api_key"))
    az = provider(replay, credentials={"connection_string_env": "CONN"})
    listed = next(e for e in replay.exchanges if e.route == "GET /jobs" and e.status == 200).json()["value"]
    refs = [RemoteRef("job", j["id"]) for j in listed[:5]]
    assert all(o.status != "unknown" for o in az.observe(refs))
    with pytest.raises(AuthError) as caught:
        az.observe(refs)
    assert caught.value.message == (
        "targets.az: Azure Quantum refused the credentials from environment variable CONN (401: Unauthorized "
        "(invalid_token))"
    )
    assert "PLACEHOLDER" not in caught.value.message
