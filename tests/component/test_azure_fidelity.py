"""The Azure emulator, held against the real service's recorded answers to the same calls.

Each recorded scenario is played against the emulator, request by request, with only what must
differ changed: the emulator's own targets stand in for the recorded ones (echo-quantinuum ->
quantinuum.sim.h1-1e, fed OpenQASM instead of QIR), and its own storage URLs for the recorded
ones. A job poll waits until the emulator reaches the recorded status (a state the emulator has
already left is not compared, a later one is never accepted). Every answer is then compared with
the recorded one: the status code, the set of fields, each field's JSON type (for the fields that
depend on the target or on timing, any type the recordings show for that call), whether the
time fields are set, the status, and error bodies exactly. Finally each job's and session's
sequence of statuses in the emulator must contain the recorded one and contradict no recorded
order. A change to the emulator that drifts from the recordings fails here.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from azure_recordings import Exchange, load

from runner import emulators
from runner.emulators.server import EmulatorServer

SCENARIOS = ("test_session_job_failure_policies_echo_quantinuum", "test_session_job_qiskit_circuit_ionq")
ALL = (*SCENARIOS, "test_job_submit_quantinuum_h2_1e", "test_list_session_jobs", "test_session_open_close")
TARGETS = {"echo-quantinuum": ("quantinuum.sim.h1-1e", "quantinuum"), "ionq.simulator": ("ionq.simulator", "ionq")}
INPUTS = {
    "quantinuum": (
        "honeywell.openqasm.v1",
        "honeywell.quantum-results.v1",
        b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n',
    ),
    "ionq": (
        "ionq.circuit.v1",
        "ionq.quantum-results.v1",
        b'{"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}',
    ),
}
JOB_ORDER = {"Waiting": 0, "Executing": 1, "Finishing": 2, "Succeeded": 3, "Failed": 3, "Cancelled": 3}
LOOSE = {"costEstimate", "quantumComputingData"}  # depend on the target and the moment: any recorded type
TIMES = ("beginExecutionTime", "endExecutionTime", "cancellationTime")
ABORT, CONTINUE = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000004"  # recorded ids
WS = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myresourcegroup"
    "/providers/Microsoft.Quantum/workspaces/myworkspace"
)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def recorded_types() -> dict[tuple[str, str], set[str]]:
    """(call, field) -> every JSON type the recordings show for it (list items count as the single-item call)."""
    types: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name in ALL:
        for exchange in load(name):
            body = exchange.json() if exchange.headers.get("content-type", "").startswith("application/json") else None
            if not isinstance(body, dict):
                continue
            items = [(call_of_item(i), i) for i in body["value"]] if "value" in body else [(exchange.route, body)]
            for call, item in items:
                for key, value in item.items():
                    types[(call, key)].add(json_type(value))
    return types


def call_of_item(item: dict[str, Any]) -> str:
    return "GET /sessions/{id}" if item.get("itemType") == "Session" else "GET /jobs/{id}"


def recorded_sequences(names: tuple[str, ...] = ALL) -> dict[str, list[str]]:
    """Each job's and session's statuses in the order the recordings saw them, repeats dropped, by id."""
    seen: dict[str, list[str]] = defaultdict(list)
    for name in names:
        for exchange in load(name):
            storage = exchange.route.endswith(("container", "blob"))
            body = exchange.json() if exchange.status < 300 and not storage else None
            items = body.get("value", [body]) if isinstance(body, dict) else []
            for item in items:
                if isinstance(item, dict) and "status" in item and "id" in item:
                    statuses = seen[item["id"] if len(names) == 1 else f"{name}/{item['id']}"]
                    if not statuses or statuses[-1] != item["status"]:
                        statuses.append(item["status"])
    return dict(seen)


@dataclass
class Player:
    """Plays one recording's requests against the emulator and compares every answer."""

    server: EmulatorServer
    http: httpx.Client
    types: dict[tuple[str, str], set[str]]
    containers: dict[str, str] = field(default_factory=dict)  # recorded container name -> emulator SAS URL
    targets: dict[str, str] = field(default_factory=dict)  # recorded session/job id -> emulator target family
    compared: list[str] = field(default_factory=list)

    def play(self, exchange: Exchange) -> None:
        kind = exchange.route
        if kind in ("GET /providerStatus", "GET blob"):
            return  # target lists and result bytes differ by nature
        if kind == "POST /sessions/{id}:close":
            self._drain(str(exchange.target_id))
        answer = self._reach(exchange) if kind == "GET /jobs/{id}" else self.send(exchange)
        if answer is not None:
            self.compare(exchange, answer)

    def send(self, exchange: Exchange) -> httpx.Response:
        parts, kind = urlsplit(exchange.url), exchange.route
        if kind in ("PUT container", "GET container", "PUT blob"):
            return self._storage(exchange)
        body = exchange.request_json()
        url = f"{self.server.url}{parts.path}?api-version=2025-12-01-preview"
        if kind == "PUT /sessions/{id}":
            body = {**body, **self._target(body, str(exchange.target_id))}
        if kind == "PUT /jobs/{id}":
            body = self._job(body, str(exchange.target_id))
        return self.http.request(exchange.method, url, json=body)

    def _target(self, body: dict[str, Any], item: str) -> dict[str, str]:
        target, provider = TARGETS[body["target"]]
        self.targets[item] = provider
        return {"target": target, "providerId": provider}

    def _job(self, body: dict[str, Any], job_id: str) -> dict[str, Any]:
        mapped = {**body, **self._target(body, job_id)}
        input_format, output_format, _ = INPUTS[mapped["providerId"]]
        container = urlsplit(body["containerUri"]).path.strip("/")
        signed = self.containers[container]
        mapped.update(
            containerUri=signed,
            inputDataUri=f"{signed.split('?')[0]}/inputData",
            inputDataFormat=input_format,
            outputDataFormat=body["outputDataFormat"]
            if body["outputDataFormat"].startswith("invalid")
            else output_format,
        )
        return mapped

    def _storage(self, exchange: Exchange) -> httpx.Response:
        container, _, blob = str(exchange.target_id).partition("/")
        signed = urlsplit(self.containers[container])
        if exchange.route == "PUT blob":
            family = list(self.targets.values())[-1]  # the scenario's session was opened first
            url = urlunsplit(signed._replace(path=f"{signed.path}/{blob}"))
            headers = {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2024-05-04"}
            return self.http.put(url, content=INPUTS[family][2], headers=headers)
        url = urlunsplit(signed._replace(query=f"restype=container&{signed.query}"))
        return self.http.request(exchange.method, url, headers={"x-ms-version": "2024-05-04"})

    def _reach(self, exchange: Exchange, timeout: float = 20.0) -> httpx.Response | None:
        """Poll the emulator until it shows the recorded status; None when it has already moved past it."""
        wanted = exchange.json()["status"]
        url = f"{self.server.url}{urlsplit(exchange.url).path}?api-version=2025-12-01-preview"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.http.get(url)
            status = answer.json()["status"]
            if status == wanted:
                return answer
            if JOB_ORDER[status] > JOB_ORDER[wanted]:
                return None
            time.sleep(0.01)
        raise AssertionError(f"the emulator never showed {wanted} for job {exchange.target_id}")

    def _drain(self, session_id: str, timeout: float = 20.0) -> None:
        """The recorded sessions were closed after their jobs had finished: wait for the emulator's too."""
        url = f"{self.server.url}{WS}/sessions/{session_id}/jobs"
        deadline = time.monotonic() + timeout
        while any(j["status"] not in ("Succeeded", "Failed", "Cancelled") for j in self.http.get(url).json()["value"]):
            assert time.monotonic() < deadline, f"the jobs of session {session_id} never finished"
            time.sleep(0.01)

    def compare(self, exchange: Exchange, answer: httpx.Response) -> None:
        where = f"{exchange.method} {exchange.route} (recorded {exchange.url.split('?')[0][-48:]})"
        assert answer.status_code == exchange.status, f"{where}: {answer.status_code} {answer.text[:300]}"
        self.compared.append(exchange.route)
        if exchange.route == "POST /storage/sasUri":
            recorded = urlsplit(exchange.json()["sasUri"]).path.strip("/")
            self.containers[recorded] = answer.json()["sasUri"]
        recorded_body = (
            exchange.json() if exchange.headers.get("content-type", "").startswith("application/json") else None
        )
        if recorded_body is None:
            return
        body = answer.json()
        if exchange.status >= 400:
            assert body == recorded_body, where  # error bodies exactly
            return
        if "value" in recorded_body:
            assert set(body) == set(recorded_body), where
            recorded_items, items = recorded_body["value"], body["value"]
            assert sorted(i["status"] for i in items) == sorted(i["status"] for i in recorded_items), where
            for item, recorded_item in zip(items, recorded_items, strict=True):
                self._item(f"{where} item", call_of_item(recorded_item), item, recorded_item)
            return
        self._item(where, exchange.route, body, recorded_body)

    def _item(self, where: str, call: str, item: dict[str, Any], recorded: dict[str, Any]) -> None:
        assert sorted(item) == sorted(recorded), f"{where}: fields differ: {sorted(set(item) ^ set(recorded))}"
        for key, value in item.items():
            if key in LOOSE:
                allowed = self.types[(call, key)] | {json_type(recorded[key])}
                assert json_type(value) in allowed, f"{where}: {key} is {json_type(value)}, recorded {allowed}"
            else:
                assert json_type(value) == json_type(recorded[key]), f"{where}: {key} {value!r} vs {recorded[key]!r}"
        if "status" in recorded:
            assert item["status"] == recorded["status"], where
        for key in TIMES:
            if key in recorded:
                assert (item[key] is None) == (recorded[key] is None), f"{where}: {key} {item[key]!r}"


@contextmanager
def started() -> Iterator[EmulatorServer]:
    server = emulators.start("azure")
    server.emulator.faults.update({"queue_delay": 0.2, "run_time": 0.1})  # states long enough to be seen
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with started() as server:
        yield server


@pytest.fixture(scope="module")
def types() -> dict[tuple[str, str], set[str]]:
    return recorded_types()


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_emulator_answers_the_recorded_calls_as_the_service_did(
    name: str, server: EmulatorServer, types: dict[tuple[str, str], set[str]]
) -> None:
    recorded = load(name)
    with httpx.Client(headers={"x-ms-quantum-api-key": "emulator-key"}, timeout=30) as http:
        player = Player(server, http, types)
        for exchange in recorded:
            player.play(exchange)
    # every kind of call in the recording was compared at least once
    assert {e.route for e in recorded} - {"GET /providerStatus", "GET blob"} <= set(player.compared)
    # the emulator went through every status sequence the recording saw, and against none of its orders
    state = server.emulator.state()
    histories = {i["id"]: i["history"] for i in (*state["jobs"], *state["sessions"])}
    for item_id, sequence in recorded_sequences((name,)).items():
        assert _contains(histories[item_id], sequence), f"{item_id}: {histories[item_id]} lacks {sequence}"
    order = _precedence(list(recorded_sequences().values()))
    for history in histories.values():
        backwards = [(a, b) for i, a in enumerate(history) for b in history[i + 1 :] if (b, a) in order]
        assert not backwards, f"{history} contradicts the recorded order {backwards}"
    if name == SCENARIOS[0]:  # the failure policies, as recorded
        assert histories[ABORT] == ["Waiting", "Executing", "Failed"]
        assert histories[CONTINUE] == ["Waiting", "Executing", "Failure(s)", "Failed"]


def _contains(history: list[str], sequence: list[str]) -> bool:
    """Whether `sequence` is a subsequence of `history`."""
    rest = iter(history)
    return all(status in rest for status in sequence)


def _precedence(sequences: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) for s in sequences for i, a in enumerate(s) for b in s[i + 1 :] if a != b}
