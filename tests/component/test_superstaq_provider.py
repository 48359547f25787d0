"""The Superstaq provider's edge cases: statuses, counts, errors, request counts, find, cancel."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

from runner import emulators
from runner.domain.fingerprint import digest
from runner.domain.model import Attrs, Program, Target
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, UNKNOWN
from runner.emulators.server import EmulatorServer
from runner.emulators.superstaq.app import SuperstaqEmulator
from runner.emulators.superstaq.store import Store
from runner.errors import AuthError, ProviderError, RejectedError
from runner.providers.base import Closes, Context, Submission, Updates
from runner.providers.superstaq import v2 as superstaq_v2
from runner.providers.superstaq import v3 as superstaq_v3
from runner.providers.superstaq.provider import SuperstaqProvider, base_url, check_target
from runner.providers.superstaq.wire import (
    V2_STATUSES,
    V3_STATUSES,
    JobRequest,
    Layout,
    aggregate,
    circuit_layout,
    runner_counts,
)
from runner.quantum.simulator import SimJob, run

KEY = "emulator-key"
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
FLIP = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\nmeasure q -> c;\n'
# two registers, deterministic outcome: qiskit prints it as "10 1" (register b, then a)
REGISTERS = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[1];\ncreg b[2];\nx q[0];\nx q[2];\n'
    "measure q[0] -> a[0];\nmeasure q[1] -> b[0];\nmeasure q[2] -> b[1];\n"
)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = emulators.start("superstaq", seed=3)
    try:
        yield running
    finally:
        running.stop()


def store(server: EmulatorServer) -> Store:
    assert isinstance(server.emulator, SuperstaqEmulator)
    return server.emulator.store


def provider(
    url: str, version: str = "v0.2.0", key: str = KEY, transport: httpx.BaseTransport | None = None
) -> SuperstaqProvider:
    config = {"endpoint": url, "credentials": {"api_key_env": "SUPERSTAQ_API_KEY"}, "api_version": version}
    target = Target("ss", "superstaq", "ss_unconstrained_simulator", {}, config)
    return SuperstaqProvider(target, Context({"SUPERSTAQ_API_KEY": key}, "."), transport=transport)


def submission(*texts: str, token: str | None = None, tags: tuple[str, ...] = (), shots: int = 20) -> Submission:
    programs = tuple(Program(f"p{i}.qasm", t, "qasm2", digest(t)) for i, t in enumerate(texts))
    spec = {"kind": "job", "shots": shots, "params": {}, "options": {"verbatim": True}, "priority": None}
    token = token or uuid.uuid4().hex
    return Submission("job.x", "job", 1, token, digest(spec), spec, Attrs(tags, {"study": "t"}), programs)


def settle(p: SuperstaqProvider, obs: Observation) -> Observation:
    deadline = time.monotonic() + 20
    while not obs.terminal and time.monotonic() < deadline:
        time.sleep(0.05)
        (obs,) = p.observe([RemoteRef("job", obs.remote_id)])
    return obs


# statuses ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["completed", "running"], ("running", RUNNING)),
        (["pending", "running"], ("running", RUNNING)),  # running comes first in the priority order
        (["completed", "awaiting_simulation"], ("awaiting_simulation", PENDING)),
        (["completed", "cancelled", "failed"], ("failed", FAILED)),
        (["completed", "cancelled"], ("cancelled", CANCELLED)),
        (["completed", "unrecognized"], ("unrecognized", FAILED)),
        (["deleted", "completed"], ("completed", SUCCEEDED)),
        (["completed", "paused"], ("paused", UNKNOWN)),
        (["simulating", "paused"], ("simulating", RUNNING)),
        ([], ("", UNKNOWN)),
    ],
)
def test_v3_aggregation_follows_the_priority_order(statuses: list[str], expected: tuple[str, str]) -> None:
    assert aggregate(statuses, V3_STATUSES) == expected


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["Done", "Queued"], ("Queued", PENDING)),
        (["Queued", "Running"], ("Running", RUNNING)),
        (["Done", "Canceled", "Failed"], ("Failed", FAILED)),
        (["Done", "Canceled"], ("Canceled", CANCELLED)),
        (["Done", "Cancelled"], ("Cancelled", CANCELLED)),
        (["Deleted", "Done"], ("Done", SUCCEEDED)),
        (["Done", "Paused"], ("Paused", UNKNOWN)),
        (["Submitted", "Paused"], ("Submitted", PENDING)),
    ],
)
def test_v2_aggregation_uses_the_same_order_and_both_spellings(statuses: list[str], expected: tuple[str, str]) -> None:
    assert aggregate(statuses, V2_STATUSES) == expected


def fetch_answer(jobs: Mapping[str, Mapping[str, Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)["job_ids"]
        return httpx.Response(200, json={i: jobs[i] for i in asked if i in jobs})

    return httpx.MockTransport(handle)


def test_unknown_status_is_kept_raw_and_failures_carry_their_text() -> None:
    jobs: dict[str, dict[str, Any]] = {
        "a": {"status": "Paused", "target": "ss_unconstrained_simulator"},
        "b1": {"status": "Done", "samples": {"00": 1}},
        "b2": {"status": "Failed", "failure": {"error": "calibration expired"}},
    }
    p = provider("http://127.0.0.1:9", transport=fetch_answer(jobs))
    unknown, failed = p.observe([RemoteRef("job", "a"), RemoteRef("job", "b1,b2")])
    assert unknown == Observation("a", UNKNOWN, "Paused", {"statuses": ["Paused"]})
    # the circuit that completed keeps its counts: a partial result comes with the failed job
    partial = Result(
        ({"00": 1}, {}),
        1,
        {
            "provider": "superstaq",
            "api_version": "v0.2.0",
            "target": "",
            "partial": True,
            "statuses": ["Done", "Failed"],
        },
    )
    assert failed == Observation(
        "b1,b2",
        FAILED,
        "Failed",
        {"statuses": ["Done", "Failed"], "error": "circuit 1: calibration expired"},
        result=partial,
    )


def test_job_data_of_the_wrong_shape_is_one_line_naming_the_field() -> None:
    answer = {"j": {"statuses": ["completed"], "counts": "00:10", "target": "t"}}
    p = provider(
        "http://127.0.0.1:9", "v0.3.0", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer))
    )
    with pytest.raises(ProviderError) as info:
        p.observe([RemoteRef("job", "j")])
    assert (
        info.value.message
        == "superstaq: the service sent a job runner cannot read: counts: Input should be a valid list"
    )


def test_v2_fetch_refused_for_an_unknown_id_falls_back_to_one_id_per_request() -> None:
    seen: list[list[str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)["job_ids"]
        seen.append(asked)
        if asked == ["a"]:
            return httpx.Response(200, json={"a": {"status": "Running"}})
        return httpx.Response(404, json={"message": "job not found"})

    p = provider("http://127.0.0.1:9", transport=httpx.MockTransport(handle))
    observed = p.observe([RemoteRef("job", "a"), RemoteRef("job", "gone")])
    assert [(o.status, dict(o.detail)) for o in observed] == [
        (RUNNING, {"statuses": ["Running"]}),
        (UNKNOWN, {"missing": True}),
    ]
    assert seen == [["a", "gone"], ["a"], ["gone"]]


# counts ------------------------------------------------------------------------------------------
def test_big_endian_samples_become_qiskit_keys() -> None:
    assert runner_counts({"10": 7, "01": 3}, Layout(2, (0, 1), (2,))) == {"01": 7, "10": 3}
    assert runner_counts({"101": 4.0}, Layout(3, (0, 1, 2), (1, 2))) == {"10 1": 4}
    assert runner_counts({"1 01": 2}, None) == {"101": 2}  # no input circuit came back: only reversed


def official_vectors() -> list[tuple[QuantumCircuit, dict[str, int], dict[str, int]]]:
    """qiskit-superstaq's test_counts_arranged: (circuit, the service's samples, the official client's counts)."""
    qc1 = QuantumCircuit(QuantumRegister(4), ClassicalRegister(4))
    qc1.measure([2, 3], [2, 3])
    qc2 = QuantumCircuit(QuantumRegister(5), ClassicalRegister(5))
    qc2.measure([0, 1, 2, 4], [0, 1, 2, 4])
    qc3 = QuantumCircuit(QuantumRegister(8), ClassicalRegister(5))
    qc3.x(0)
    qc3.h(1)
    qc3.measure(1, 1)
    qc3.h(1)
    qc3.cx(1, 2)
    qc3.measure([6, 2, 0], [3, 0, 4])
    qc4 = QuantumCircuit(QuantumRegister(3), ClassicalRegister(5))
    qc4.h(1)
    qc4.x(2)
    qc4.measure([0, 1, 2], [2, 4, 1])
    return [
        (qc1, {"00": 70, "11": 30}, {"0000": 70, "1100": 30}),
        (qc2, {"1101": 40, "0001": 60}, {"10011": 40, "10000": 60}),
        (qc3, {"1101": 26, "0001": 36, "1001": 19, "0101": 19}, {"10011": 26, "10010": 19, "10001": 19, "10000": 36}),
        (qc4, {"100": 50, "101": 50}, {"00010": 50, "10010": 50}),
    ]


def test_keys_of_the_measured_bits_are_widened_like_the_official_client_does() -> None:
    from runner.quantum.circuits import qpy_b64

    for circuit, samples, expected in official_vectors():
        assert runner_counts(samples, circuit_layout(qpy_b64([circuit]))) == expected


@pytest.mark.parametrize("version", ["v0.2.0", "v0.3.0"])
def test_results_of_the_services_keys_through_the_provider(version: str) -> None:
    """The service's answer for the official vectors, as each API version carries it, read by the provider."""
    from runner.quantum.circuits import qpy_b64

    vectors = official_vectors()
    circuits = [qpy_b64([c]) for c, _, _ in vectors]
    samples = [s for _, s, _ in vectors]

    def handle(request: httpx.Request) -> httpx.Response:
        if version == "v0.2.0":
            jobs = {
                f"c{i}": {"status": "Done", "samples": s, "shots": 100, "input_circuit": q, "target": "t"}
                for i, (s, q) in enumerate(zip(samples, circuits, strict=True))
            }
            return httpx.Response(200, json=jobs)
        data = {"statuses": ["completed"] * 4, "counts": samples, "shots": [100] * 4, "input_circuits": circuits}
        return httpx.Response(200, json={"j": {**data, "num_circuits": 4, "target": "t"}})

    p = provider("http://127.0.0.1:9", version, transport=httpx.MockTransport(handle))
    result = p.result(RemoteRef("job", "c0,c1,c2,c3" if version == "v0.2.0" else "j"))
    assert result is not None and list(result.counts) == [expected for _, _, expected in vectors]


# some bits of a register measured, others not, over two registers: deterministic, qiskit prints "01 101"
UNMEASURED = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\ncreg a[3];\ncreg b[2];\nx q[0];\nx q[1];\nx q[3];\n'
    "measure q[0] -> a[2];\nmeasure q[1] -> b[0];\nmeasure q[3] -> a[0];\n"
)


@pytest.mark.parametrize("version", ["v0.2.0", "v0.3.0"])
def test_the_emulator_keys_only_measured_bits_and_the_client_widens_them_back(
    server: EmulatorServer, version: str
) -> None:
    p = provider(server.url, version)
    final = settle(p, p.create(submission(UNMEASURED, REGISTERS, shots=30)))
    assert final.status == SUCCEEDED
    (job,) = store(server).jobs.values()
    # the service's answer: a[0], a[2], b[0] measured (classical bits 0, 2, 3), lowest first
    assert [c.counts for c in job.circuits] == [{"111": 30}, {"101": 30}]
    result = p.result(RemoteRef("job", final.remote_id))
    local = [run(SimJob(text, 30, 1))["counts"] for text in (UNMEASURED, REGISTERS)]
    assert result is not None and list(result.counts) == local == [{"01 101": 30}, {"10 1": 30}]


def test_circuits_go_out_in_the_qpy_version_the_official_client_writes(server: EmulatorServer) -> None:
    import base64

    sent: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(base64.b64decode(json.loads(request.content)["qiskit_circuits"]))
        return httpx.Response(200, json={"job_ids": ["j_0"], "status": "Queued"})

    provider("http://127.0.0.1:9", transport=httpx.MockTransport(handle)).create(submission(BELL))
    # a QPY file starts with b"QISKIT" and its format version; qiskit-superstaq pins 13 (serialization.py)
    assert (sent[0][:6], sent[0][6]) == (b"QISKIT", 13)


@pytest.mark.parametrize("version", ["v0.2.0", "v0.3.0"])
def test_the_same_circuit_gives_the_same_keys_as_the_local_target(server: EmulatorServer, version: str) -> None:
    p = provider(server.url, version)
    final = settle(p, p.create(submission(FLIP, REGISTERS, shots=30)))
    assert final.status == SUCCEEDED
    result = p.result(RemoteRef("job", final.remote_id))
    local = [run(SimJob(text, 30, 1))["counts"] for text in (FLIP, REGISTERS)]
    assert result is not None and list(result.counts) == local == [{"01": 30}, {"10 1": 30}]
    assert (result.shots, dict(result.data)) == (
        30,
        {"provider": "superstaq", "api_version": version, "target": "ss_unconstrained_simulator"},
    )


# errors ------------------------------------------------------------------------------------------
def test_wrong_key_names_the_target_and_where_the_key_comes_from_not_the_key(server: EmulatorServer) -> None:
    p = provider(server.url, key="not-the-key-123")
    with pytest.raises(AuthError) as info:
        p.create(submission(BELL))
    assert info.value.message == (
        "superstaq targets.ss: POST /jobs -> 401: Not authorized: the API key is missing or not valid; "
        "check the API key in environment variable SUPERSTAQ_API_KEY"
    )


def test_a_program_that_cannot_become_a_circuit_is_rejected(server: EmulatorServer) -> None:
    with pytest.raises(RejectedError) as info:
        provider(server.url).create(submission("OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n"))
    assert info.value.message.startswith("job.x: cannot build p0.qasm: ")


def test_target_names_are_checked_like_the_client_does() -> None:
    def check(name: str) -> list[tuple[tuple[str | int, ...], str]]:
        return check_target(Target("ss", "superstaq", name, {}, {}))

    assert check("ibmq_fez_qpu") == []
    assert check("ss.simulator") == [
        (
            ("target",),
            "'ss.simulator' is not a Superstaq target name: expected <provider>_<device>_<qpu|simulator>, "
            "e.g. ss_unconstrained_simulator",
        )
    ]
    assert check("ss_unconstrained_emulator") == [
        (("target",), "'ss_unconstrained_emulator' ends in '_emulator'; Superstaq targets end in _qpu or _simulator")
    ]


def test_base_url_keeps_scheme_and_host_and_swaps_the_default_v3_host() -> None:
    assert base_url("http://127.0.0.1:8767/anything", "v0.2.0") == "http://127.0.0.1:8767/v0.2.0"
    assert base_url(None, "v0.2.0") == "https://superstaq.infleqtion.com/v0.2.0"
    assert base_url(None, "v0.3.0") == "https://superstaq-prod.infleqtion.com/v0.3.0"
    assert base_url("https://superstaq.infleqtion.com", "v0.3.0") == "https://superstaq-prod.infleqtion.com/v0.3.0"


# bodies ------------------------------------------------------------------------------------------
def test_job_bodies_per_version() -> None:
    req = JobRequest(
        "QPY",
        "ss_unconstrained_simulator",
        10,
        {"method": "noise-sim", "verbatim": True, "x": 1},
        "high",
        ("a",),
        {"k": "v"},
        "tok",
    )
    assert superstaq_v2.body(req) == {
        "qiskit_circuits": "QPY",
        "target": "ss_unconstrained_simulator",
        "shots": 10,
        "method": "noise-sim",
        "options": '{"verbatim": true, "x": 1}',
    }
    assert superstaq_v3.body(req) == {
        "job_type": "simulate",
        "target": "ss_unconstrained_simulator",
        "circuits": "QPY",
        "circuit_type": "qiskit",
        "verbatim": True,
        "shots": 10,
        "dry_run": False,
        "sim_method": "noise-sim",
        "priority": 1,
        "options_dict": {"x": 1},
        "tags": ["a", "runner-token:tok"],
        "metadata": {"k": "v", "runner_token": "tok"},
    }


# requests ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "chunk", "requests"), [("v0.2.0", 3, 4), ("v0.3.0", 2, 3)])
def test_observe_many_jobs_in_few_requests(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, version: str, chunk: int, requests: int
) -> None:
    # v0.2.0 chunks circuit ids (5 jobs x 2 circuits = 10 ids), v0.3.0 job ids (5)
    monkeypatch.setattr(superstaq_v2 if version == "v0.2.0" else superstaq_v3, "FETCH_CHUNK", chunk)
    p = provider(server.url, version)
    made = [p.create(submission(BELL, FLIP)).remote_id for _ in range(5)]
    gone = "0f0f0f0f-0000-4000-8000-000000000000" + ("_0" if version == "v0.2.0" else "")
    refs = [RemoteRef("job", r) for r in [*made[:2], gone, *made[2:]]]
    before = p.requests()
    observed = p.observe(refs)
    assert p.requests() - before == requests
    assert [o.remote_id for o in observed] == [r.remote_id for r in refs]
    assert observed[2] == Observation(gone, UNKNOWN, "", {"missing": True})


def test_jobs_cannot_be_updated_or_closed(server: EmulatorServer) -> None:
    p = provider(server.url)
    assert not isinstance(p, Updates)  # Superstaq has no call that changes a job's tags or metadata
    assert not isinstance(p, Closes)  # nor sessions or batches to close


# find --------------------------------------------------------------------------------------------
def test_v2_find_matches_the_token_inside_the_circuits(server: EmulatorServer) -> None:
    p = provider(server.url)
    sub = submission(BELL, FLIP)
    made = p.create(sub)
    p.create(submission(BELL))  # another submission on the same target and time window
    assert [o.remote_id for o in p.find(sub, since=time.time() - 5)] == [made.remote_id]
    assert p.find(submission(BELL), since=time.time() - 5) == []
    assert p.find(sub, since=time.time() + 3600) == []  # outside the submission window


def test_v3_find_queries_by_tag_and_sends_tags_and_metadata(server: EmulatorServer) -> None:
    p = provider(server.url, "v0.3.0")
    sub = submission(BELL, tags=("study:x",))
    made = p.create(sub)
    p.create(submission(BELL))
    assert [o.remote_id for o in p.find(sub)] == [made.remote_id]
    stored = store(server).jobs[made.remote_id]
    assert (stored.tags, stored.metadata) == (
        ["study:x", f"runner-token:{sub.token}"],
        {"study": "t", "runner_token": sub.token},
    )


class DropFirstCreate(httpx.BaseTransport):
    """Lets the first create reach the server, then loses the answer (a dropped connection)."""

    def __init__(self, path: str) -> None:
        self.inner, self.path, self.dropped = httpx.HTTPTransport(), path, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith(self.path) and not self.dropped:
            self.dropped += 1
            response.close()
            raise httpx.RemoteProtocolError("server disconnected without sending a response")
        return response


@pytest.mark.parametrize(("version", "path"), [("v0.2.0", "/jobs"), ("v0.3.0", "/client/job")])
def test_create_adopts_a_job_whose_answer_was_lost(server: EmulatorServer, version: str, path: str) -> None:
    transport = DropFirstCreate(path)
    made = provider(server.url, version, transport=transport).create(submission(BELL))
    assert transport.dropped == 1
    (job_id,) = store(server).jobs  # exactly one job exists, and create adopted it
    assert made.remote_id == (superstaq_v2.circuit_ids(job_id, 1) if version == "v0.2.0" else job_id)


# cancel ------------------------------------------------------------------------------------------
def test_v2_cancel_one_index_then_the_whole_job(server: EmulatorServer) -> None:
    server.emulator.faults.queue_delay = 30
    p = provider(server.url)
    ref = RemoteRef("job", p.create(submission(BELL, FLIP)).remote_id)
    one = p.cancel_index(ref, 1)
    assert (one.status, one.raw_status, dict(one.detail)) == (PENDING, "Queued", {"statuses": ["Queued", "Cancelled"]})
    with pytest.raises(RejectedError) as info:
        p.cancel_index(ref, 2)
    assert info.value.message == f"job {ref.remote_id} has 2 circuit(s); index 2 is out of range"
    whole = p.cancel(ref)
    assert (whole.status, dict(whole.detail)) == (CANCELLED, {"statuses": ["Cancelled", "Cancelled"]})


def test_after_one_circuit_is_cancelled_the_others_results_are_kept(server: EmulatorServer) -> None:
    server.emulator.faults.queue_delay = 0.5
    p = provider(server.url)
    ref = RemoteRef("job", p.create(submission(FLIP, BELL, REGISTERS, shots=30)).remote_id)
    assert p.cancel_index(ref, 1).status == PENDING  # the other two still queued
    final = settle(p, p.observe([ref])[0])
    assert (final.status, final.raw_status, final.detail["statuses"]) == (
        CANCELLED,
        "Cancelled",
        ["Done", "Cancelled", "Done"],
    )
    data = {"provider": "superstaq", "api_version": "v0.2.0", "target": "ss_unconstrained_simulator"}
    partial = Result(
        ({"01": 30}, {}, {"10 1": 30}), 30, {**data, "partial": True, "statuses": final.detail["statuses"]}
    )
    assert final.result == partial  # observed with the counts that exist, so refresh and wait record them
    assert p.result(ref) == partial


def test_v3_refuses_one_index_and_cancels_the_whole_job(server: EmulatorServer) -> None:
    server.emulator.faults.queue_delay = 30
    p = provider(server.url, "v0.3.0")
    ref = RemoteRef("job", p.create(submission(BELL, FLIP)).remote_id)
    with pytest.raises(RejectedError) as info:
        p.cancel_index(ref, 1)
    assert info.value.message == (
        f"Superstaq API v0.3.0 cannot cancel one circuit of job {ref.remote_id} (the official client's "
        "JobV3.cancel(index=...) cancels the whole job); cancel without an index, or use api_version v0.2.0"
    )
    whole = p.cancel(ref)
    assert (whole.status, whole.raw_status) == (CANCELLED, "cancelled")


def test_a_job_failed_at_submission_is_reported_failed_by_create(server: EmulatorServer) -> None:
    wide = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[21];\ncreg c[21];\nmeasure q -> c;\n'
    token = "ab" * 16
    made = provider(server.url).create(submission(wide, token=token))
    assert (made.status, made.raw_status) == (FAILED, "Failed")
    assert made.detail["error"] == f"circuit 'runner-{token}-0' uses 21 qubits; ss_unconstrained_simulator has 20"
