"""An emulator of the Superstaq REST API, v0.2.0 and v0.3.0 over one job store.

What general-superstaq 0.5.70 speaks (see store for the job model): v0.2.0 under
/v0.2.0 (jobs, fetch_jobs, cancel_jobs, targets, target_info, balance, user_info) and v0.3.0
under /v0.3.0/client (job, job/{circuit_type}, cancel_jobs, targets, retrieve_target_info,
balance, user). `GET /v0.2.0` and `GET /v0.3.0` answer the version probe (header
`superstaq_version`) without a key, as the client sends none there. Every other route wants
the raw key in `Authorization`; a wrong one gets 401 with a JSON `message`, never the
terms-of-use sentence (on that the official client stops to prompt on stdin).

Only qiskit circuits (base64 QPY) run here; cirq JSON is refused with a 400 that says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from runner.emulators import simulate
from runner.emulators.server import Emulator, Faults, Handler, Request, Response
from runner.emulators.superstaq.execute import DEVICES, Invalid, device
from runner.emulators.superstaq.lifecycle import Lifecycle
from runner.emulators.superstaq.store import EMAIL, Store, v2_job, v3_job

DEFAULT_KEY = "emulator-key"
SERVICE_VERSION = "runner-emulator"
BALANCE = 1000.0
USER = {"name": "Emulator User", "email": EMAIL, "role": "user", "user_id": "00000000-0000-4000-8000-000000000001"}
FLAGS = (
    "simulator",
    "supports_submit",
    "supports_submit_qubo",
    "supports_compile",
    "available",
    "retired",
    "accessible",
)
JOB_TYPES = ("submit", "simulate", "compile", "convert")


def make(faults: Faults, seed: int | None) -> SuperstaqEmulator:
    return SuperstaqEmulator(faults, seed)


class SuperstaqEmulator(Emulator):
    """Both API versions of Superstaq, backed by the local simulator."""

    name = "superstaq"

    def __init__(self, faults: Faults | None = None, seed: int | None = None, api_key: str = DEFAULT_KEY) -> None:
        super().__init__(faults, seed)
        self.api_key = api_key
        self.store = Store(self.lock)
        self.life = Lifecycle(self, self.store)
        simulate.warm()  # handler threads are short-lived, so qiskit is imported here first

    def routes(self) -> list[tuple[str, str, Handler]]:
        v2, v3 = r"/v0\.2\.0", r"/v0\.3\.0/client"
        authed: list[tuple[str, str, Callable[[Request], Any]]] = [
            ("POST", rf"{v2}/jobs", self.v2_create),
            ("POST", rf"{v2}/fetch_jobs", self.v2_fetch),
            ("POST", rf"{v2}/cancel_jobs", self.v2_cancel),
            ("POST", rf"{v2}/targets", self.v2_targets),
            ("POST", rf"{v2}/target_info", lambda r: {"target_info": _info(_object(r).get("target"))}),
            ("GET", rf"{v2}/balance", lambda r: {"balance": BALANCE}),
            ("GET", rf"{v2}/user_info", self.v2_user_info),
            ("POST", rf"{v3}/job", self.v3_create),
            ("GET", rf"{v3}/job/(?P<circuit_type>[a-z]+)", self.v3_fetch),
            ("PUT", rf"{v3}/cancel_jobs", self.v3_cancel),
            ("GET", rf"{v3}/targets", self.v3_targets),
            ("POST", rf"{v3}/retrieve_target_info", lambda r: {"target_info": _info(_object(r).get("target"))}),
            ("GET", rf"{v3}/balance", lambda r: {"email": EMAIL, "balance": BALANCE}),
            ("GET", rf"{v3}/user", self.v3_user),
        ]
        probes: list[tuple[str, str, Handler]] = [("GET", r"/v0\.[23]\.0/?", self.probe)]
        return probes + [(method, path, self._guarded(handler)) for method, path, handler in authed]

    def _guarded(self, handler: Callable[[Request], Any]) -> Handler:
        def guarded(request: Request) -> Response:
            if request.headers.get("authorization") != self.api_key:
                return self.error(401, "Not authorized: the API key is missing or not valid")
            try:
                found = handler(request)
            except Invalid as exc:
                return self.error(400, str(exc))
            return found if isinstance(found, Response) else Response(200, found)

        return guarded

    def probe(self, request: Request) -> Response:
        return Response(200, {"superstaq_version": SERVICE_VERSION}, {"superstaq_version": SERVICE_VERSION})

    def state(self) -> dict[str, Any]:
        return {
            "jobs": {
                j.id: {
                    "target": j.target,
                    "shots": j.shots,
                    "statuses": [c.status for c in j.circuits],
                    "v2_ids": j.v2_ids(),
                    "tags": j.tags,
                }
                for j in self.store.jobs.values()
            }
        }

    # v0.2.0 ----------------------------------------------------------------------------------
    def v2_create(self, request: Request) -> dict[str, Any]:
        body = _object(request)
        if "cirq_circuits" in body:
            raise Invalid("this emulator runs qiskit circuits only: send qiskit_circuits (base64 QPY)")
        options = body.get("options") or "{}"
        method = body.get("method")
        job = self.life.submit(
            body.get("target"),
            body.get("qiskit_circuits"),
            body.get("shots"),
            options=json.loads(options) if isinstance(options, str) else dict(options),
            dry_run=method == "dry-run",
        )
        failed = all(c.status == "failed" for c in job.circuits)
        return {"job_ids": job.v2_ids(), "status": "Failed" if failed else "Queued"}

    def v2_fetch(self, request: Request) -> dict[str, Any]:
        found = {}
        with self.lock:
            for v2_id in _object(request).get("job_ids") or []:
                hit = self.store.circuit(v2_id)
                if hit is not None:  # unknown ids are left out, the others still answered
                    found[str(v2_id)] = v2_job(*hit)
        return found

    def v2_cancel(self, request: Request) -> dict[str, Any]:
        hits = [h for h in (self.store.circuit(i) for i in _object(request).get("job_ids") or []) if h]
        done = self.life.cancel(hits)
        return {"succeeded": [job.v2_ids()[i] for job, i in done], "message": f"{len(done)} job(s) cancelled"}

    def v2_targets(self, request: Request) -> dict[str, Any]:
        wanted = {k: v for k, v in _object(request).items() if k in FLAGS}
        return {"superstaq_targets": {d.name: d.flags() for d in DEVICES.values() if _matches(d.name, wanted)}}

    def v2_user_info(self, request: Request) -> dict[str, Any]:
        if not _user_matches(request, "id"):
            return {}
        return {USER["user_id"]: {k: v for k, v in USER.items() if k != "user_id"} | {"balance": BALANCE}}

    # v0.3.0 ----------------------------------------------------------------------------------
    def v3_create(self, request: Request) -> dict[str, Any]:
        body = _object(request)
        if body.get("circuit_type") != "qiskit":
            raise Invalid(f"circuit_type {body.get('circuit_type')!r} is not supported here: send 'qiskit' (QPY)")
        if body.get("job_type", "submit") not in JOB_TYPES:
            raise Invalid(f"job_type must be one of {', '.join(JOB_TYPES)}")
        tags, metadata = body.get("tags") or [], body.get("metadata") or {}
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags) or not isinstance(metadata, dict):
            raise Invalid("tags must be a list of strings and metadata an object")
        job = self.life.submit(
            body.get("target"),
            body.get("circuits"),
            body.get("shots"),
            job_type=body.get("job_type", "submit"),
            dry_run=bool(body.get("dry_run")),
            priority=int(body.get("priority") or 0),
            tags=list(tags),
            metadata=dict(metadata),
            options=dict(body.get("options_dict") or {}),
        )
        return {"job_id": job.id, "num_circuits": len(job.circuits)}

    def v3_fetch(self, request: Request) -> dict[str, Any]:
        if request.group("circuit_type") != "qiskit":
            raise Invalid("this emulator stores qiskit circuits only: use GET /client/job/qiskit")
        jobs = self.store.query(request.query)
        with self.lock:
            return {j.id: v3_job(j) for j in jobs}

    def v3_cancel(self, request: Request) -> dict[str, Any]:
        ids = set(_object(request).get("job_id") or [])
        with self.lock:
            hits = [(j, i) for j in self.store.jobs.values() if j.id in ids for i in range(len(j.circuits))]
        done = self.life.cancel(hits)
        succeeded = sorted({job.id for job, _ in done})
        return {"succeeded": succeeded, "message": f"{len(succeeded)} job(s) cancelled"}

    def v3_targets(self, request: Request) -> list[dict[str, Any]]:
        wanted = {k: request.arg(k) == "True" for k in FLAGS if request.arg(k) is not None}
        wanted.setdefault("retired", False)  # the service's filter model defaults to hiding retired targets
        return [
            {"target_name": d.name, "simulator": d.simulator, **d.flags()}
            for d in DEVICES.values()
            if _matches(d.name, wanted)
        ]

    def v3_user(self, request: Request) -> list[dict[str, Any]]:
        if not _user_matches(request, "user_id"):
            return []
        return [{**USER, "balance": BALANCE, "token": "<hidden by the emulator>"}]


def _object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    return body


def _matches(name: str, wanted: dict[str, Any]) -> bool:
    dev = DEVICES[name]
    flags = {"simulator": dev.simulator, **dev.flags()}
    return all(flags[k] == bool(v) for k, v in wanted.items())


def _user_matches(request: Request, id_field: str) -> bool:
    checks = {"name": USER["name"], "email": USER["email"], id_field: USER["user_id"]}
    return all(value in request.args(key) for key, value in checks.items() if request.args(key))


def _info(target: object) -> dict[str, Any]:
    dev = device(target)
    return {
        "target": dev.name,
        "num_qubits": dev.qubits,
        "simulator": dev.simulator,
        "native_gate_set": ["rx", "ry", "rz", "cx", "measure"],
    }
