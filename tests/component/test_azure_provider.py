"""The Azure provider's edge cases: auth modes, error mapping, statuses, formats, batching, sessions."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from runner import emulators
from runner.domain import token
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.domain.remote import Observation, RemoteRef
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TIMED_OUT, UNKNOWN, Kind
from runner.emulators.azure import execute as azure_exec
from runner.emulators.server import EmulatorServer
from runner.errors import AuthError, ProviderError, RejectedError
from runner.providers.azure import formats
from runner.providers.azure.provider import AzureProvider, check_target
from runner.providers.azure.wire import observation
from runner.providers.base import AddsJobs, Context, Submission

SUB_ID = "00000000-0000-0000-0000-000000000001"
WORKSPACE = {"subscription_id": SUB_ID, "resource_group": "rg", "name": "ws", "location": "eastus"}
PREFIX = f"/subscriptions/{SUB_ID}/resourceGroups/rg/providers/Microsoft.Quantum/workspaces/ws"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
WIDE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[30];\ncreg c[30];\nh q[0];\nmeasure q -> c;\n'
Handler = Callable[[httpx.Request], httpx.Response]


def target(config: dict[str, Any] | None = None, name: str = "ionq.simulator") -> Target:
    base = {"workspace": WORKSPACE, "endpoint": "http://azure.test", "credentials": {"api_key_env": "KEY"}}
    return Target("az", "azure", name, {}, {**base, **(config or {})})


def mocked(
    handler: Handler,
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    clock: Callable[[], float] | None = None,
) -> AzureProvider:
    context = Context(env or {"KEY": "s3cret-key"}, ".")
    return AzureProvider(target(config), context, transport=httpx.MockTransport(handler), clock=clock)


def job_body(job_id: str, status: str = "Waiting", **extra: Any) -> dict[str, Any]:
    return {"id": job_id, "itemType": "Job", "status": status, "target": "ionq.simulator", **extra}


def submission(
    text: str = BELL,
    *,
    shots: int = 100,
    parent: RemoteRef | None = None,
    kind: Kind = "job",
    spec: dict[str, Any] | None = None,
) -> Submission:
    tok = uuid.uuid4().hex
    program = Program("c.qasm", text, "qasm2", digest(text))
    full = {"kind": kind, "shots": shots, "params": {}, "options": {}, **(spec or {})}
    programs = (program,) if kind == "job" else ()
    return Submission(f"{kind}.t{tok[:6]}", kind, 1, tok, digest(full), full, Attrs(("t",)), programs, parent)


# auth ------------------------------------------------------------------------------------------
def test_api_key_goes_in_its_header_with_the_api_version_on_every_call() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=job_body(request.url.path.rsplit("/", 1)[-1]))

    provider = mocked(handler)
    provider.observe([RemoteRef("job", "j1")])
    (request,) = seen
    assert request.headers["x-ms-quantum-api-key"] == "s3cret-key"
    assert str(request.url) == f"http://azure.test{PREFIX}/jobs/j1?api-version=2026-01-15-preview"


def test_connection_string_gives_workspace_and_key_and_the_endpoint_overrides_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": {"code": "JobNotFound", "message": "no"}})

    conn = (
        f"SubscriptionId={SUB_ID};ResourceGroupName=cs-rg;WorkspaceName=cs-ws;ApiKey=cs-key;"
        "QuantumEndpoint=https://westus.quantum.azure.com/;"
    )
    config = {"workspace": None, "credentials": {"connection_string_env": "CONN"}}
    provider = mocked(handler, config, env={"CONN": conn})
    assert provider.find(submission()) == []
    assert seen[0].url.host == "azure.test"
    assert seen[0].url.path.startswith(
        f"/subscriptions/{SUB_ID}/resourceGroups/cs-rg/providers/Microsoft.Quantum/workspaces/cs-ws/jobs/"
    )
    assert seen[0].headers["x-ms-quantum-api-key"] == "cs-key"
    without_endpoint = mocked(handler, {**config, "endpoint": None}, env={"CONN": conn})
    assert without_endpoint.api.http.base_url == "https://westus.quantum.azure.com"


def test_a_broken_connection_string_is_reported_without_its_contents() -> None:
    config = {"workspace": None, "credentials": {"connection_string_env": "CONN"}}
    with pytest.raises(AuthError) as caught:
        mocked(lambda r: httpx.Response(200), config, env={"CONN": "ApiKey=leaked;WorkspaceName=w"})
    assert caught.value.message == (
        "targets.az: environment variable CONN: the connection string lacks SubscriptionId, ResourceGroupName, "
        "QuantumEndpoint"
    )


def client_credentials_handler(tokens: list[dict[str, list[str]]], lifetime: int = 3600) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/v2.0/token"):
            from urllib.parse import parse_qs

            tokens.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={"access_token": f"tok{len(tokens)}", "expires_in": lifetime})
        assert "x-ms-quantum-api-key" not in request.headers
        return httpx.Response(200, json=job_body("j1", auth=request.headers["authorization"]))

    return handler


CLIENT_CONFIG = {
    "credentials": {"client_id_env": "CID", "client_secret_env": "CSECRET", "tenant_id_env": "TENANT"},
    "token_endpoint": "http://login.test/{tenant}/oauth2/v2.0/token",
}
CLIENT_ENV = {"CID": "app-id", "CSECRET": "very-secret", "TENANT": "tenant-1"}


def test_client_credentials_fetch_a_token_once_and_renew_it_before_it_expires() -> None:
    tokens: list[dict[str, list[str]]] = []
    now = [1000.0]
    provider = mocked(client_credentials_handler(tokens), CLIENT_CONFIG, CLIENT_ENV, clock=lambda: now[0])
    for _ in range(3):
        provider.find(submission())
    assert tokens == [
        {
            "grant_type": ["client_credentials"],
            "client_id": ["app-id"],
            "client_secret": ["very-secret"],
            "scope": ["https://quantum.microsoft.com/.default"],
        }
    ]
    now[0] += 3600 - 300  # five minutes before expiry: renew
    assert provider.api.conn.headers() == {"Authorization": "Bearer tok2"}
    assert len(tokens) == 2


def test_a_refused_client_secret_names_where_it_came_from_but_not_the_secret() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace",
            },
        )

    provider = mocked(handler, CLIENT_CONFIG, CLIENT_ENV)
    with pytest.raises(AuthError) as caught:
        provider.find(submission())
    assert caught.value.message == (
        "targets.az: the token endpoint refused the client credentials (environment variable CID, environment "
        "variable CSECRET): 401: (invalid_client) AADSTS7000215: Invalid client secret provided."
    )


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    started = emulators.start("azure")
    yield started
    started.stop()


def live(
    server: EmulatorServer,
    name: str = "ionq.simulator",
    key: str = "emulator-key",
    config: dict[str, Any] | None = None,
) -> AzureProvider:
    return AzureProvider(target({"endpoint": server.url, **(config or {})}, name), Context({"KEY": key}, "."))


def test_client_credentials_against_the_emulator(server: EmulatorServer) -> None:
    config = {**CLIENT_CONFIG, "token_endpoint": f"{server.url}/{{tenant}}/oauth2/v2.0/token"}
    provider = AzureProvider(
        target({"endpoint": server.url, **config}), Context({**CLIENT_ENV, "CSECRET": "emulator-key"}, ".")
    )
    created = provider.create(submission())
    assert created.status == PENDING
    assert provider.api.conn.tokens is not None and provider.api.conn.tokens.fetches == 1


def test_401_names_the_target_and_the_credential_source_but_never_the_key(server: EmulatorServer) -> None:
    provider = live(server, key="wrong-key-123")
    with pytest.raises(AuthError) as caught:
        provider.create(submission())
    assert caught.value.message == (
        "targets.az: Azure Quantum refused the credentials from environment variable KEY "
        "(401: Unauthorized (invalid_token))"
    )


# error mapping ---------------------------------------------------------------------------------
def test_429_waits_as_long_as_retry_after_says(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("runner.providers.http.time.sleep", pauses.append)
    answers = iter(
        [
            httpx.Response(
                429, headers={"Retry-After": "7"}, json={"error": {"code": "TooManyRequests", "message": "slow down"}}
            ),
            httpx.Response(200, json=job_body("j1", "Executing")),
        ]
    )
    provider = mocked(lambda request: next(answers))
    (seen,) = provider.observe([RemoteRef("job", "j1")])
    assert seen.status == RUNNING
    assert pauses and pauses[0] >= 7


def test_a_repeated_put_that_meets_409_adopts_the_existing_job() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path.rsplit('/', 1)[-1]}")
        if request.url.path.endswith("/storage/sasUri"):
            return httpx.Response(200, json={"sasUri": "http://blob.test/acct/job-x?se=2099-01-01&sig=s"})
        if request.url.host == "blob.test":
            return httpx.Response(201)
        if request.method == "PUT":
            return httpx.Response(409, json={"error": {"code": "Conflict", "message": "exists"}})
        return httpx.Response(200, json=job_body(request.url.path.rsplit("/", 1)[-1], "Executing"))

    sub = submission()
    created = mocked(handler).create(sub)
    job_id = token.as_uuid(sub.token)
    assert (created.remote_id, created.status) == (job_id, RUNNING)
    assert calls == ["POST sasUri", "PUT job-x", "PUT inputData", f"PUT {job_id}", f"GET {job_id}"]


def test_the_same_submission_twice_makes_one_job(server: EmulatorServer) -> None:
    provider = live(server)
    sub = submission()
    first, second = provider.create(sub), provider.create(sub)
    assert first.remote_id == second.remote_id == token.as_uuid(sub.token)
    state = server.emulator.state()
    assert [j["id"] for j in state["jobs"]] == [first.remote_id]
    # the container was created before the upload (PUT ?restype=container: 201, then 409 the second time)
    assert state["containers"] == [f"job-{first.remote_id}"]


def test_a_tag_update_the_job_does_not_show_afterwards_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            return httpx.Response(200, json={"name": "j1", "tags": ["new"]})
        return httpx.Response(200, json=job_body("j1", name="j1", tags=["old"]))  # the service kept the old tags

    with pytest.raises(ProviderError) as caught:
        mocked(handler).update(RemoteRef("job", "j1"), Attrs(("new",)))
    assert (
        caught.value.message == "job j1: the update was accepted but the job reads back {'tags': ['old'], 'name': 'j1'}"
    )


def test_the_shot_count_goes_as_shots_and_count() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/storage/sasUri"):
            return httpx.Response(200, json={"sasUri": "http://blob.test/acct/job-x?se=2099-01-01&sig=s"})
        if request.url.host == "blob.test":
            return httpx.Response(201)
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=job_body(request.url.path.rsplit("/", 1)[-1]))

    mocked(handler).create(submission(shots=250))
    assert bodies[0]["inputParams"] == {"shots": 250, "count": 250}  # as the SDK sent them in the recordings


# statuses --------------------------------------------------------------------------------------
def test_job_statuses_map_onto_runners_and_keep_the_raw_text() -> None:
    waiting, running = ["Waiting", "Queued"], ["Executing", "Finishing", "CancellationRequested", "Cancelling"]
    raws = [*waiting, *running, "Succeeded", "Completed", "Failed", "Cancelled", "Paused"]
    seen = [observation(job_body("j", raw)) for raw in raws]
    assert [o.raw_status for o in seen] == raws
    assert [o.status for o in seen] == [PENDING] * 2 + [RUNNING] * 4 + [SUCCEEDED] * 2 + [FAILED, CANCELLED, UNKNOWN]


def test_session_statuses_map_onto_runners_and_keep_the_raw_text() -> None:
    raws = ["Waiting", "Executing", "Succeeded", "Failed", "Failure(s)", "TimedOut", "Hibernating"]
    seen = [observation({"id": "s", "itemType": "Session", "status": raw}) for raw in raws]
    assert [o.raw_status for o in seen] == raws
    # Failure(s): a Continue session after a failed job, still open and taking jobs (recorded)
    assert [o.status for o in seen] == [PENDING, RUNNING, SUCCEEDED, FAILED, RUNNING, TIMED_OUT, UNKNOWN]


def test_failure_details_are_kept() -> None:
    failed = observation(job_body("j", "Failed", errorData={"code": "InvalidInputData", "message": "too wide"}))
    assert failed.detail == {"error": "too wide"}
    partial = observation({"id": "s", "itemType": "Session", "status": "Failure(s)"})
    assert partial.detail == {"failures": True}


def test_an_answer_of_the_wrong_shape_is_one_line_naming_the_field() -> None:
    provider = mocked(lambda request: httpx.Response(200, json=job_body("j1", tags="not-a-list")))
    with pytest.raises(ProviderError) as caught:
        provider.observe([RemoteRef("job", "j1")])
    assert (
        caught.value.message == "azure: the service sent a job runner cannot read: tags: Input should be a valid list"
    )
    paged = mocked(lambda request: httpx.Response(200, json={"value": {"id": "j1"}, "nextLink": None}))
    with pytest.raises(ProviderError) as caught:
        list(paged.api.pages("/jobs", {}))
    assert caught.value.message == (
        "azure: the service sent a list page runner cannot read: value: Input should be a valid list"
    )


# formats ---------------------------------------------------------------------------------------
REGISTERS = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[2];\ncreg d[1];\nx q[0];\nx q[2];\n'
    "measure q[0] -> c[1];\nmeasure q[1] -> c[0];\nmeasure q[2] -> d[0];\n"
)
PARTIAL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nx q[1];\nmeasure q[1] -> c[0];\n'
ROTATION = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\nqubit[1] q;\nbit[1] c;\nrx(theta) q[0];\n'
    "c[0] = measure q[0];\n"
)
GATES = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nu3(0.3,0.2,0.1) q[0];\nccx q[0],q[1],q[2];\n'
    "sdg q[1];\nswap q[0],q[2];\nt q[2];\ncz q[1],q[0];\nmeasure q -> c;\n"
)


def through_azure(text: str, name: str, params: dict[str, float], shots: int) -> dict[str, int]:
    """Convert as the client does, run as the emulator does, read back as the client does."""
    from runner.quantum.circuits import bound

    payload = formats.payload(name, bound(Program("p", text, "qasm2", "d"), params))
    work = azure_exec.prepare(name, payload.input_format, {"shots": shots}, payload.data)
    raw = azure_exec.execute(work, seed=3)
    layout = json.loads(json.dumps(payload.layout))  # as it comes back from the job's metadata
    return formats.read(payload.output_format, raw, layout, shots).counts


def locally(text: str, params: dict[str, float], shots: int) -> dict[str, int]:
    from runner.quantum.simulator import SimJob, run

    counts: dict[str, int] = run(SimJob(text, shots, 3, params))["counts"]
    return counts


@pytest.mark.parametrize("name", ["ionq.simulator", "quantinuum.sim.h1-1e"])
@pytest.mark.parametrize(("text", "params"), [(REGISTERS, {}), (PARTIAL, {}), (ROTATION, {"theta": math.pi})])
def test_deterministic_circuits_give_the_same_counts_as_the_local_simulator(
    name: str, text: str, params: dict[str, float]
) -> None:
    assert through_azure(text, name, params, 50) == locally(text, params, 50)


@pytest.mark.parametrize("name", ["ionq.simulator", "quantinuum.sim.h1-1e"])
@pytest.mark.parametrize("text", [BELL, GATES])
def test_random_circuits_give_the_same_outcomes_as_the_local_simulator(name: str, text: str) -> None:
    counts = through_azure(text, name, {}, 2000)
    assert sum(counts.values()) == 2000
    assert set(counts) == set(locally(text, {}, 2000))


def test_ionq_cannot_act_on_a_qubit_after_measuring_it() -> None:
    from runner.quantum.circuits import bound

    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\nx q[0];\n'
    with pytest.raises(formats.FormatError) as caught:
        formats.payload("ionq.simulator", bound(Program("p", text, "qasm2", "d"), {}))
    assert (
        str(caught.value) == "ionq.circuit.v1 measures every qubit once, at the end: 'x' acts on qubit 0 after it "
        "was measured"
    )


def test_probabilities_become_counts_that_add_up_to_the_shots() -> None:
    assert formats.integer_counts({"0": 1 / 3, "1": 1 / 3, "2": 1 / 3}, 100) == {"0": 34, "1": 33, "2": 33}
    assert formats.counts_key(["1", "0", "1"], [2, 1]) == "1 01"


# observe batching ------------------------------------------------------------------------------
def test_observing_many_jobs_costs_one_list_page_not_one_request_each(server: EmulatorServer) -> None:
    creator = live(server)
    made = [creator.create(submission(shots=5)) for _ in range(12)]
    provider = live(server)
    refs = [RemoteRef("job", m.remote_id) for m in made] + [RemoteRef("job", str(uuid.uuid4()))]
    seen = provider.observe(refs)
    assert provider.requests() == 2  # one list page for all twelve, one GET for the id no page had
    assert [o.remote_id for o in seen] == [r.remote_id for r in refs]
    assert seen[-1].status == UNKNOWN and seen[-1].detail == {"missing": True}


def test_jobs_in_a_session_are_read_from_the_session_listing(server: EmulatorServer) -> None:
    provider = live(server)
    session = provider.create(submission(kind="session", spec={"job_failure_policy": "continue"}))
    parent = RemoteRef("session", session.remote_id)
    made = [provider.create(submission(shots=5, parent=parent)) for _ in range(5)]
    reader = live(server)
    seen = reader.observe([RemoteRef("job", m.remote_id, session.remote_id) for m in made])
    assert reader.requests() == 1
    assert all(o.status != UNKNOWN for o in seen)


def test_a_few_jobs_are_read_one_get_each(server: EmulatorServer) -> None:
    creator = live(server)
    made = [creator.create(submission(shots=5)) for _ in range(2)]
    provider = live(server)
    provider.observe([RemoteRef("job", m.remote_id) for m in made])
    assert provider.requests() == 2


# results ---------------------------------------------------------------------------------------
def test_results_ask_for_a_sas_when_the_output_uri_has_none() -> None:
    layout = {"cregs": [["c", 2]], "clbits": 2, "qubits": 2, "measure": [[0, 0], [1, 1]]}
    asked: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/storage/sasUri"):
            asked.append(json.loads(request.content))
            return httpx.Response(
                200, json={"sasUri": "https://acct.blob.core.windows.net/job-j/rawOutputData?se=x&sig=y"}
            )
        if request.url.host == "acct.blob.core.windows.net":
            assert "x-ms-quantum-api-key" not in request.headers
            return httpx.Response(200, json={"histogram": {"0": 0.25, "3": 0.75}})
        return httpx.Response(
            200,
            json=job_body(
                "j",
                "Succeeded",
                outputDataUri="https://acct.blob.core.windows.net/job-j/rawOutputData",
                outputDataFormat="ionq.quantum-results.v1",
                inputParams={"shots": 8},
                metadata={"runner.layout": json.dumps(layout)},
            ),
        )

    result = mocked(handler).result(RemoteRef("job", "j"))
    assert asked == [{"containerName": "job-j", "blobName": "rawOutputData"}]
    assert result is not None
    assert (result.counts, result.shots) == (({"00": 2, "11": 6},), 8)
    assert result.data["format"] == "ionq.quantum-results.v1"


# sessions --------------------------------------------------------------------------------------
def finished(provider: AzureProvider, ref: RemoteRef, timeout: float = 20.0) -> Observation:
    """Observe until the resource is terminal."""
    deadline = time.monotonic() + timeout
    (seen,) = provider.observe([ref])
    while not seen.terminal and time.monotonic() < deadline:
        time.sleep(0.02)
        (seen,) = provider.observe([ref])
    return seen


def test_abort_session_fails_with_its_job_and_refuses_the_next(server: EmulatorServer) -> None:
    provider = live(server)
    session = provider.create(submission(kind="session", spec={"job_failure_policy": "abort"}))
    parent = RemoteRef("session", session.remote_id)
    sub = submission(WIDE, parent=parent)
    wide = provider.create(sub)
    assert (wide.status, wide.detail) == (
        FAILED,
        {"error": "The circuit uses 30 qubits but target 'ionq.simulator' has 29.", "tags": ["t"], "name": sub.address},
    )
    (seen,) = provider.observe([parent])
    assert (seen.status, seen.raw_status) == (FAILED, "Failed")
    nxt = submission(parent=parent)
    with pytest.raises(RejectedError) as caught:
        provider.create(nxt)
    assert caught.value.message == (
        f"{nxt.address}: 400: (InvalidJobDefinition) Session is already in a terminal state. This may have been "
        "due to failures in prior jobs in the session."
    )


def test_continue_session_says_failures_stays_open_and_ends_failed_when_closed(server: EmulatorServer) -> None:
    provider = live(server)
    session = provider.create(submission(kind="session", spec={"job_failure_policy": "continue"}))
    parent = RemoteRef("session", session.remote_id)
    assert provider.create(submission(WIDE, parent=parent)).status == FAILED
    (open_with_failures,) = provider.observe([parent])
    assert (open_with_failures.status, open_with_failures.raw_status, open_with_failures.detail) == (
        RUNNING,
        "Failure(s)",
        {"failures": True},
    )
    good = provider.create(submission(parent=parent))
    assert good.status == PENDING  # still takes jobs
    assert finished(provider, RemoteRef("job", good.remote_id)).status == SUCCEEDED
    (still,) = provider.observe([parent])
    assert still.raw_status == "Failure(s)"  # a later success does not clear it (recorded)
    closed = provider.close(parent)
    # its own costEstimate (the sum of its jobs') is kept apart from the jobs' costs
    assert (closed.status, closed.raw_status) == (FAILED, "Failed")
    assert closed.detail == {"session_cost": {"currency": "USD", "amount": 0.0}}
    with pytest.raises(RejectedError):
        provider.create(submission(parent=parent))


def test_sessions_cannot_be_changed_and_have_no_batches(server: EmulatorServer) -> None:
    provider = live(server)
    with pytest.raises(RejectedError) as caught:
        provider.update(RemoteRef("session", "s"), Attrs(("x",)))
    assert caught.value.message == (
        "session s: Azure Quantum cannot change a session after it is opened (no update call, and sessions come "
        "back without tags); its tags and name stay as created"
    )
    assert provider.requests() == 0
    assert not isinstance(provider, AddsJobs)  # no batches: apply never offers it jobs to add


# configuration ---------------------------------------------------------------------------------
def test_check_target_names_each_problem() -> None:
    bad = Target(
        "az",
        "azure",
        "rigetti.sim.qvm",
        {},
        {"workspace": {"subscription_id": "abc", "resource_group": "rg", "name": "w", "location": "East US"}},
    )
    assert check_target(bad) == [
        (("target",), "azure targets runner can submit to start with ionq. or quantinuum. (got 'rigetti.sim.qvm')"),
        (
            ("workspace", "subscription_id"),
            "workspace subscription_id must be a GUID like 00000000-0000-0000-0000-000000000000 (got 'abc')",
        ),
        (
            ("workspace", "name"),
            "workspace name must be 2-50 letters, digits, '-' or '_', starting with a letter (got 'w')",
        ),
        (
            ("workspace", "location"),
            "workspace location must be an Azure region name in lower case without spaces, like eastus (got 'East US')",
        ),
    ]
    bare = Target("az", "azure", "quantinuum.sim.h1-1e", {}, {"credentials": {"api_key_env": "K"}})
    assert check_target(bare) == [((), "azure targets need 'workspace' unless credentials name a connection string")]
    assert (
        check_target(Target("az", "azure", "ionq.simulator", {}, {"credentials": {"connection_string_env": "C"}})) == []
    )


@pytest.mark.parametrize("example", ["azure/azure.yaml", "superstaq/superstaq.yaml"])
def test_validate_and_help_load_no_pydantic(example: str) -> None:
    """The wire models are for parsing answers: commands that send nothing must not pay for pydantic."""
    import subprocess
    import sys

    from conftest import EXAMPLES

    code = (
        "import runpy, sys\n"
        "for argv in (['runner', 'validate', sys.argv[1]], ['runner', '--help']):\n"
        "    sys.argv = argv\n"
        "    try:\n"
        "        runpy.run_module('runner', run_name='__main__')\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / example)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_next_links_keep_their_own_query_so_paging_advances() -> None:
    """Regression: httpx replaces a URL's query with `params`; a nextLink must not restart at page 1."""
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        seen.append(query)
        skip = int(query.get("skip", 0))
        base = str(request.url.copy_with(query=None))
        following = f"{base}?skip={skip + 2}&top=2&filter=x" if skip < 4 else None
        return httpx.Response(200, json={"value": [{"id": str(skip)}, {"id": str(skip + 1)}], "nextLink": following})

    api = mocked(handler).api
    ids = [item["id"] for page in api.pages("/jobs", {"filter": "x"}) for item in page]
    assert ids == ["0", "1", "2", "3", "4", "5"]
    assert [(q.get("skip"), q.get("filter"), q.get("api-version")) for q in seen] == [
        ("0", "x", "2026-01-15-preview"),
        ("2", "x", "2026-01-15-preview"),
        ("4", "x", "2026-01-15-preview"),
    ]
