"""The Pasqal provider's edge cases: wire details against httpx.MockTransport, behaviour against the emulator."""

from __future__ import annotations

import gzip
import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import httpx
import pytest

from runner import emulators
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.domain.remote import Observation, RemoteRef
from runner.domain.vocabulary import FAILED, SUCCEEDED
from runner.emulators.server import EmulatorServer
from runner.errors import AuthError, RejectedError
from runner.providers.base import Context, Submission
from runner.providers.pasqal import provider as pasqal
from runner.providers.pasqal.api import query
from runner.providers.pasqal.provider import PasqalProvider
from runner.providers.pasqal.wire import BATCH_STATUS, JOB_STATUS, batch_observation, job_observation, status_of

PROJECT = "00000000-0000-0000-0000-0000000000aa"
ONE_ATOM = (Path(__file__).resolve().parents[2] / "examples" / "pasqal" / "sequences" / "one_atom.json").read_text()
ENV = {"PASQAL_TOKEN": "tok-123", "PASQAL_USER": "ada@example.com", "PASQAL_PASSWORD": "hunter2"}
Handler = Callable[[httpx.Request], httpx.Response]


def envelope(data: Any, code: int | str = 200, pagination: dict[str, int] | None = None) -> dict[str, Any]:
    body = {"status": "success", "message": "OK.", "code": code, "data": data}
    return {**body, "pagination": pagination} if pagination else body


def mocked(
    handler: Handler,
    credentials: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> PasqalProvider:
    config = {
        "endpoint": "https://core.test/core-fast",
        "token_endpoint": "https://auth.test/oauth/token",
        "credentials": credentials or {"token_env": "PASQAL_TOKEN"},
        "project_id": PROJECT,
    }
    target = Target("qpu", "pasqal", "FRESNEL", {}, config)
    return PasqalProvider(target, Context(ENV, "."), transport=httpx.MockTransport(handler), clock=clock)


def batch_body(batch_id: str = "b1", status: str = "PENDING", **extra: Any) -> dict[str, Any]:
    return {
        "id": batch_id,
        "status": status,
        "open": False,
        "complete": True,
        "device_type": "FRESNEL",
        "project_id": PROJECT,
        "user_id": "u",
        "created_at": "2024-01-01",
        "updated_at": "2024-01-01",
        **extra,
    }


def job_body(job_id: str, status: str = "PENDING", **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "batch_id": "b1",
        "status": status,
        "runs": 10,
        "variables": {"omega": 1.0},
        "project_id": PROJECT,
        "created_at": "2024-01-01",
        "updated_at": "2024-01-01",
        **extra,
    }


def submission(
    token: str = "tok0",
    *,
    children: tuple[dict[str, Any], ...] = ({"runs": 10, "variables": {}},),
    text: str = ONE_ATOM,
    is_open: bool = False,
    tags: tuple[str, ...] = (),
) -> Submission:
    program = Program("one_atom.json", text, "pulser", digest(text))
    kids = tuple(
        Submission(f"batch.b.job{i}", "batch_job", 1, f"{token}-{i}", digest(c), {"kind": "batch_job", **c}, Attrs())
        for i, c in enumerate(children)
    )
    spec = {"kind": "batch", "configuration": {"dt": 10.0}, "webhook": None}
    return Submission(
        "batch.b",
        "batch",
        1,
        token,
        digest(spec),
        spec,
        Attrs(tags),
        (program,),
        children=kids,
        lifecycle={"open": is_open},
    )


# wire details ------------------------------------------------------------------------------------
def test_create_sends_a_gzipped_body_and_reads_a_string_code() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(batch_body(jobs=[job_body("j1")]), code="200"))

    obs = mocked(handler).create(submission(is_open=True, tags=("team",)))
    (request,) = seen
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["authorization"] == "Bearer tok-123"
    assert json.loads(gzip.decompress(request.content)) == {
        "sequence_builder": ONE_ATOM,
        "webhook": None,
        "jobs": [{"runs": 10, "variables": {}}],
        "open": True,
        "device_type": "FRESNEL",
        "tags": ["team", "runner-token:tok0"],
        "project_id": PROJECT,
        "configuration": {"dt": 10.0},
    }
    assert (obs.remote_id, obs.status, [c.remote_id for c in obs.children]) == ("b1", "pending", ["j1"])


def test_query_encoding_uses_python_booleans_and_repeated_keys() -> None:
    assert query(
        {"open": False, "errors": True, "status": ["DONE", "ERROR"], "tag": None, "start_date": datetime(2024, 1, 1)}
    ) == [
        ("open", "False"),
        ("errors", "True"),
        ("status", "DONE"),
        ("status", "ERROR"),
        ("start_date", "2024-01-01T00:00:00"),
    ]
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json=envelope([], pagination={"total": 0, "start": 0, "end": 0}))

    page = mocked(handler).get_batches({"open": True, "id": ["a", "b"]}, offset=100, limit=5)
    assert urls == ["https://core.test/core-fast/api/v1/batches?open=True&id=a&id=b&offset=100&limit=5"]
    assert (page.total, page.offset, page.items) == (0, 100, ())


def test_error_description_is_read_from_the_jsend_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        detail = [{"loc": ["body", "jobs", 0, "runs"], "msg": "must be at least 1", "type": "value_error"}]
        body = {"status": "fail", "message": "Unprocessable Entity", "code": "422", "data": {"description": detail}}
        return httpx.Response(422, json=body)

    with pytest.raises(RejectedError) as caught:
        mocked(handler).create(submission())
    assert (
        caught.value.message == "pasqal target 'qpu': POST /api/v1/batches -> 422: body.jobs.0.runs: must be at least 1"
    )


def test_observing_250_jobs_costs_three_requests() -> None:
    known = {f"j{i:03d}": job_body(f"j{i:03d}", "DONE") for i in range(250)}
    calls: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = parse_qs(request.url.query.decode())
        calls.append(params)
        found = [known[i] for i in params["id"] if i in known]
        return httpx.Response(
            200, json=envelope(found, pagination={"total": len(found), "start": 0, "end": len(found)})
        )

    refs = [RemoteRef("batch_job", i, "b1") for i in known] + [RemoteRef("batch_job", "gone", "b1")]
    seen = mocked(handler).observe(refs)
    assert len(calls) == 3 and [len(c["id"]) for c in calls] == [100, 100, 51]
    assert calls[0]["limit"] == ["100"] and calls[0]["offset"] == ["0"]
    assert [o.remote_id for o in seen] == [r.remote_id for r in refs]
    assert seen[0].status == SUCCEEDED
    assert seen[-1] == Observation("gone", "unknown", "", {"missing": True})


def test_password_grant_is_cached_until_a_minute_before_expiry() -> None:
    now = [1000.0]
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            assert request.headers["content-type"] == "application/x-www-form-urlencoded"
            forms.append(dict(parse_qsl(request.content.decode())))
            return httpx.Response(200, json={"access_token": f"access-{len(forms)}", "expires_in": 3600})
        assert request.headers["authorization"] == f"Bearer access-{len(forms)}"
        return httpx.Response(200, json=envelope([], pagination={"total": 0, "start": 0, "end": 0}))

    provider = mocked(handler, {"username_env": "PASQAL_USER", "password_env": "PASQAL_PASSWORD"}, lambda: now[0])
    provider.get_jobs({})
    now[0] += 3539  # 61 s before expiry: still cached
    provider.get_jobs({})
    assert len(forms) == 1
    now[0] += 2  # 59 s before expiry: refreshed
    provider.get_jobs({})
    assert len(forms) == 2
    assert forms[0] == {
        "client_id": "PeZvo7Atx7IVv3iel59asJSb4Ig7vuSB",
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "realm": "pcs-users",
        "audience": "https://apis.pasqal.cloud/account/api/v1",
        "username": "ada@example.com",
        "password": "hunter2",
    }


def test_a_401_fetches_a_new_token_once_then_names_the_credentials_not_the_secret() -> None:
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            tokens.append("t")
            return httpx.Response(200, json={"access_token": "short-lived", "expires_in": 3600})
        return httpx.Response(
            401,
            json={"status": "fail", "message": "Unauthorized", "code": 401, "data": {"description": "token expired"}},
        )

    provider = mocked(handler, {"username_env": "PASQAL_USER", "password_env": "PASQAL_PASSWORD"})
    with pytest.raises(AuthError) as caught:
        provider.observe([RemoteRef("batch", "b1")])
    assert caught.value.message == (
        "pasqal target 'qpu': GET /api/v1/batches -> 401: token expired "
        "(check credentials.password_env (PASQAL_PASSWORD), credentials.username_env (PASQAL_USER))"
    )
    assert len(tokens) == 2
    assert "hunter2" not in caught.value.message and "short-lived" not in caught.value.message


def test_a_refused_static_token_is_named_by_its_variable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "status": "fail",
                "message": "Unauthorized",
                "code": 401,
                "data": {"description": "missing bearer token"},
            },
        )

    with pytest.raises(AuthError) as caught:
        mocked(handler).observe([RemoteRef("batch_job", "j1")])
    assert caught.value.message == (
        "pasqal target 'qpu': GET /api/v2/jobs -> 401: missing bearer token "
        "(check credentials.token_env (PASQAL_TOKEN))"
    )


def test_wrong_password_names_the_variables() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": "invalid_grant", "error_description": "Wrong email or password."})

    Path("pw.txt").write_text("not-the-password\n")  # the test runs in its own folder
    provider = mocked(handler, {"username_env": "PASQAL_USER", "password_file": "pw.txt"})
    with pytest.raises(AuthError) as caught:
        provider.get_batches({})
    assert caught.value.message == (
        "pasqal target 'qpu': POST https://auth.test/oauth/token -> 403: Wrong email or password. "
        "(check credentials.password_file (pw.txt), credentials.username_env (PASQAL_USER))"
    )
    assert "not-the-password" not in caught.value.message


def test_results_come_from_the_link_without_auth_and_the_signature_stays_out_of_messages() -> None:
    seen: list[httpx.Request] = []
    status = [200]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "s3.test":
            return httpx.Response(status[0], json={"counter": {"01": 3, "10": 2}, "raw": ["01"] * 3 + ["10"] * 2})
        return httpx.Response(200, json=envelope({"results_link": "https://s3.test/r/j1?X-Amz-Signature=SIG%2F1&b=2"}))

    provider = mocked(handler)
    result = provider.result(RemoteRef("batch_job", "j1", "b1"))
    assert result is not None and result.counts == ({"01": 3, "10": 2},) and result.shots == 5
    assert result.data == {"job_id": "j1", "bit_order": "register order (leftmost = first atom)"}
    download = seen[-1]
    assert "authorization" not in download.headers
    assert parse_qs(download.url.query.decode()) == {"X-Amz-Signature": ["SIG/1"], "b": ["2"]}
    status[0] = 500
    provider.http.retry = type(provider.http.retry)(attempts=1)
    with pytest.raises(Exception) as caught:
        provider.result(RemoteRef("batch_job", "j1", "b1"))
    assert "SIG" not in str(caught.value) and "https://s3.test/r/j1 -> 500" in str(caught.value)


def test_an_ambiguous_create_is_adopted_when_the_batch_exists() -> None:
    created: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            created.append(batch_body(tags=["runner-token:tok0"], jobs=[job_body("j1")]))
            raise httpx.RemoteProtocolError("server disconnected")  # processed, answer lost
        if request.url.path.endswith("/api/v1/batches"):
            assert parse_qs(request.url.query.decode())["tag"] == ["runner-token:tok0"]
            return httpx.Response(200, json=envelope([{**created[0], "jobs": None, "job_ids": ["j1"]}]))
        return httpx.Response(200, json=envelope([job_body("j1")], pagination={"total": 1, "start": 0, "end": 1}))

    obs = mocked(handler).create(submission())
    assert len(created) == 1
    assert (obs.remote_id, [c.remote_id for c in obs.children]) == ("b1", ["j1"])


@pytest.mark.parametrize(
    ("raw", "batch", "job"),
    [
        ("PENDING", "pending", "pending"),
        ("RUNNING", "running", "running"),
        ("DONE", "succeeded", "succeeded"),
        ("ERROR", "failed", "failed"),
        ("CANCELED", "cancelled", "cancelled"),
        ("CANCELING", "running", "running"),
        ("TIMED_OUT", "timed_out", "unknown"),
        ("PAUSED", "pending", "unknown"),
        ("WARMING_UP", "unknown", "unknown"),
    ],
)
def test_status_mapping_keeps_the_raw_status(raw: str, batch: str, job: str) -> None:
    assert (status_of(raw, BATCH_STATUS), status_of(raw, JOB_STATUS)) == (batch, job)
    assert batch_observation(batch_body(status=raw)).raw_status == raw


def test_done_batch_with_failed_jobs_succeeds_with_counts_and_job_errors_are_kept() -> None:
    counts = {"DONE": 1, "ERROR": 2, "PENDING": 0}
    obs = batch_observation(batch_body(status="DONE", jobs_count_per_status=counts))
    assert (obs.status, obs.detail) == (
        "succeeded",
        {"open": False, "device_type": "FRESNEL", "jobs": {"DONE": 1, "ERROR": 2}},
    )
    failed = job_observation(job_body("j1", "ERROR", errors=["out of range", "again"]))
    assert failed.status == FAILED and failed.detail["error"] == "out of range; again"


def test_check_target_wants_a_known_device_and_a_project() -> None:
    good = Target("qpu", "pasqal", "EMU_MPS", {}, {"project_id_env": "PASQAL_PROJECT"})
    assert pasqal.check_target(good) == []
    bad = Target("qpu", "pasqal", "FRESNEL2", {}, {})
    assert pasqal.check_target(bad) == [
        (
            ("target",),
            "unknown Pasqal device type 'FRESNEL2' (one of: EMU_C, EMU_FREE, EMU_FRESNEL, EMU_MPS, "
            "EMU_SV, EMU_TN, FRESNEL, FRESNEL8, FRESNEL_CAN1, FRESNEL_RD, FRESNEL_SA1)",
        ),
        ((), "targets.qpu: pasqal targets need project_id or project_id_env"),
    ]


# against the emulator ----------------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = emulators.start("pasqal", seed=3)
    try:
        yield running
    finally:
        running.stop()


def live(server: EmulatorServer) -> PasqalProvider:
    config = {"endpoint": server.url + "/core", "credentials": {"token_env": "PASQAL_TOKEN"}, "project_id": PROJECT}
    return PasqalProvider(Target("emu", "pasqal", "EMU_FREE", {}, config), Context(ENV, "."))


def settle(provider: PasqalProvider, ref: RemoteRef, timeout: float = 30) -> Observation:
    deadline = time.monotonic() + timeout
    while True:
        (obs,) = provider.observe([ref])
        if obs.terminal or time.monotonic() > deadline:
            return obs
        time.sleep(0.05)


def child(token: str, spec: dict[str, Any], parent: RemoteRef) -> Submission:
    return Submission(
        f"batch.b.{token}", "batch_job", 1, token, digest(spec), {"kind": "batch_job", **spec}, Attrs(), parent=parent
    )


def half(runs: int = 10) -> dict[str, Any]:
    return {"runs": runs, "variables": {"omega": math.pi}}


def test_add_jobs_identifies_the_new_jobs(server: EmulatorServer) -> None:
    provider = live(server)
    server.emulator.faults.queue_delay = 30
    made = provider.create(submission(children=(half(),), is_open=True))
    ref = RemoteRef("batch", made.remote_id)
    more = [half(), {"runs": 5, "variables": {"omega": 1.0}}]
    added = provider.add_jobs(ref, [child(f"n{i}", spec, ref) for i, spec in enumerate(more)])
    listed = [
        j["id"]
        for j in provider.get_jobs(
            {"batch_id": made.remote_id, "order_by": "creation_order", "order_by_direction": "ASC"}
        ).items
    ]
    assert [o.remote_id for o in added] == listed[1:]
    assert [o.detail["runs"] for o in added] == [10, 5]


def test_find_by_token_tag_ignores_other_tokens_and_rebatches(server: EmulatorServer) -> None:
    provider = live(server)
    made = provider.create(submission("wanted", children=(half(),)))
    provider.create(submission("other", children=(half(),)))
    assert settle(provider, RemoteRef("batch", made.remote_id)).status == SUCCEEDED
    provider.rebatch(RemoteRef("batch", made.remote_id), {})  # copies the tags, token included
    (found,) = provider.find(submission("wanted"))
    assert found.remote_id == made.remote_id
    assert [c.remote_id for c in found.children] == [c.remote_id for c in made.children]
    assert provider.find(submission("missing")) == []


def test_rebatch_of_failed_jobs_records_lineage(server: EmulatorServer) -> None:
    provider = live(server)
    server.emulator.faults.job_failure_rate = 1.0
    made = provider.create(submission(children=(half(), half(20))))
    done = settle(provider, RemoteRef("batch", made.remote_id))
    assert (done.status, done.detail["jobs"]) == (SUCCEEDED, {"ERROR": 2})
    server.emulator.faults.job_failure_rate = 0.0
    again = provider.rebatch(RemoteRef("batch", made.remote_id), {"status": ["ERROR"], "min_runs": 15})
    assert again.detail["parent_id"] == made.remote_id
    assert [c.detail["parent_id"] for c in again.children] == [made.children[1].remote_id]


def test_without_pulser_simulation_jobs_fail_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_EMULATOR_NO_PULSER", "1")
    running = emulators.start("pasqal")
    try:
        provider = live(running)
        made = provider.create(submission(children=(half(),)))
        assert settle(provider, RemoteRef("batch", made.remote_id)).status == SUCCEEDED
        (job,) = provider.observe([RemoteRef("batch_job", made.children[0].remote_id)])
        assert (job.status, job.detail["error"]) == (
            FAILED,
            "pulser-simulation is not installed where the emulator runs: pip install 'runner[pasqal-sim]'",
        )
    finally:
        running.stop()


def test_undeclared_variables_fail_the_job_at_once_and_a_broken_sequence_fails_the_batch(
    server: EmulatorServer,
) -> None:
    provider = live(server)
    made = provider.create(submission(children=({"runs": 5, "variables": {"theta": 1.0}}, half())))
    assert [(c.status, c.detail.get("error")) for c in made.children] == [
        (FAILED, "variables not declared by the sequence: theta (declared: omega)"),
        ("pending", None),
    ]
    broken = provider.create(submission("broken", text='{"version": "1"}'))
    final = settle(provider, RemoteRef("batch", broken.remote_id))
    assert final.status == FAILED
    assert final.detail["error"].startswith("the sequence cannot be loaded: ")


def test_cancel_update_and_close(server: EmulatorServer) -> None:
    provider = live(server)
    server.emulator.faults.queue_delay = 30
    made = provider.create(submission(children=(half(), half()), is_open=True, tags=("a",)))
    ref = RemoteRef("batch", made.remote_id)
    provider.update(ref, Attrs(("b",)))
    assert provider.get_batches({"id": [made.remote_id]}).items[0]["tags"] == ["b", "runner-token:tok0"]
    one = provider.cancel(RemoteRef("batch_job", made.children[0].remote_id, made.remote_id))
    assert one.status == "cancelled"
    again = provider.cancel(RemoteRef("batch_job", made.children[0].remote_id, made.remote_id))
    assert again.status == "cancelled"  # already final: reported, not an error
    closed = provider.close(ref)
    assert closed.detail["open"] is False
    cancelled = provider.cancel(ref)
    assert cancelled.status == "cancelled" and [c.status for c in cancelled.children] == ["cancelled"] * 2
