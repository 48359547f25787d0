"""Superstaq (Infleqtion): multi-circuit jobs over REST, API v0.2.0 (default) or v0.3.0.

One runner job is one Superstaq job with one circuit per program, sent as base64 QPY. The
submission token travels inside every circuit (its name and metadata survive QPY in both
versions) and, in v0.3.0, also as the tag `runner-token:<token>` and metadata `runner_token`.
v0.2.0 silently drops tags and metadata, so they are not sent there.

Remote ids: v0.2.0 answers one id per circuit; runner's remote id is those ids joined with ','
(as the cirq client's virtual job). v0.3.0 answers one job uuid.

Finding a submission again (`find`): v0.3.0 queries by tag. v0.2.0 has no tags and no listing
call, so it queries the same service's v0.3.0 JobQuery by target and submission time and
matches the token inside the circuits. This relies on v0.2.0-submitted jobs being visible
through the v0.3.0 query on the same service: true in `runner emulate superstaq`, UNVERIFIED
against the real service (see superstaq_v2).

Creating is not idempotent in either version, so it is never blindly repeated: after a failure
the server may have acted on, `find` looks for the token first and adopts what it finds.

Cancelling: `cancel(ref)` cancels every circuit; `cancel_index(ref, index)` cancels one circuit
of a v0.2.0 job (that circuit's id) and is refused for v0.3.0, which has no per-circuit cancel.
A job that ends cancelled or failed with some circuits completed is observed with its partial
result attached (see wire.py), so refresh, wait and cancel record the counts that exist.
`update` changes nothing remotely: Superstaq has no call to change tags, runner keeps them in
its state. `close` and `add_jobs` are refused: Superstaq has no sessions or batches.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from runner.domain.model import Target
from runner.domain.query import Listing, Query, RemoteItem
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import FAILED, PENDING, SUCCEEDED, UNKNOWN
from runner.errors import RejectedError, TransientError
from runner.providers import credentials
from runner.providers.base import Context, ProviderSpec, Submission
from runner.providers.superstaq.v2 import V2
from runner.providers.superstaq.v3 import V3
from runner.providers.superstaq.v3 import query as v3_query
from runner.providers.superstaq.wire import Dialect, JobRequest, JobView, circuit_result, observation, result

if TYPE_CHECKING:
    import httpx
    from qiskit import QuantumCircuit

    from runner.providers.http import RetryPolicy

SPEC = ProviderSpec(
    name="superstaq",
    kinds=frozenset({"job"}),
    default_target="ss_unconstrained_simulator",
    allowed=frozenset({"endpoint", "credentials", "api_version", "rate_limit"}),
    credentials=(frozenset({"api_key_env"}), frozenset({"api_key_file"})),
    multi_program=True,
    description="Infleqtion Superstaq: multi-circuit jobs on its simulators and partners' QPUs",
    findable=frozenset({"job"}),
)
DEFAULT_VERSION = "v0.2.0"
HOSTS = {"v0.2.0": "https://superstaq.infleqtion.com", "v0.3.0": "https://superstaq-prod.infleqtion.com"}
TARGET_NAME = re.compile(r"^([A-Za-z0-9-]+)_([A-Za-z0-9-.]+)_([a-z]+)")
DEVICE_TYPES = ("qpu", "simulator")
CLIENT_NAME = "qiskit-superstaq"  # our bodies are the ones qiskit-superstaq sends (QPY circuits)
CREATE_ATTEMPTS = 4
FINISHED_CACHE = 10_000  # finished jobs kept between observe() and result(), saving one request each


def check_target(target: Target) -> list[tuple[tuple[str | int, ...], str]]:
    """The target name must have the client's shape: <provider>_<device>_<qpu|simulator>."""
    name = target.target
    match = TARGET_NAME.fullmatch(name)
    if match is None:
        return [
            (
                ("target",),
                f"'{name}' is not a Superstaq target name: expected "
                "<provider>_<device>_<qpu|simulator>, e.g. ss_unconstrained_simulator",
            )
        ]
    if match.group(3) not in DEVICE_TYPES:
        return [(("target",), f"'{name}' ends in '_{match.group(3)}'; Superstaq targets end in _qpu or _simulator")]
    return []


def make(target: Target, context: Context) -> SuperstaqProvider:
    return SuperstaqProvider(target, context)


def base_url(endpoint: str | None, version: str) -> str:
    """`{scheme}://{netloc}/{version}`: any path is dropped, like the official client does."""
    host = str(endpoint or HOSTS[DEFAULT_VERSION])
    if version == "v0.3.0" and host.rstrip("/") == HOSTS[DEFAULT_VERSION]:
        host = HOSTS["v0.3.0"]  # the client swaps in the v0.3.0 host when the default one is set
    parts = urlsplit(host)
    if not parts.scheme or not parts.netloc:
        raise RejectedError(f"superstaq endpoint '{host}' needs a scheme and a host, e.g. http://127.0.0.1:8767")
    return f"{parts.scheme}://{parts.netloc}/{version}"


class SuperstaqProvider:
    """Superstaq jobs through runner's HttpClient."""

    spec = SPEC

    def __init__(
        self,
        target: Target,
        context: Context,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        from runner.providers.http import HttpClient

        config = target.config
        creds: Mapping[str, Any] = config.get("credentials", {})
        self.target = target
        self.version = str(config.get("api_version") or DEFAULT_VERSION)
        self._key = credentials.required(target.name, creds, context.env, context.base_dir, "api_key")
        self._key_source = _key_source(creds)
        endpoint = config.get("endpoint")
        self.dialect: Dialect = V2(base_url(endpoint, "v0.3.0")) if self.version == "v0.2.0" else V3()
        rate = config.get("rate_limit")
        self.http = HttpClient(
            base_url(endpoint, self.version),
            provider=f"superstaq targets.{target.name}",
            headers=self._headers,
            rate_limit=float(rate) if rate else None,
            describe=self._describe,
            transport=transport,
            retry=retry,
        )
        self._finished: dict[str, JobView] = {}
        self._lock = threading.Lock()

    # the Provider protocol -----------------------------------------------------------------
    def create(self, sub: Submission) -> Observation:
        if sub.kind != "job":
            raise RejectedError(f"{sub.address}: Superstaq runs jobs, not {sub.kind}s")
        req = self._job_request(sub)
        started = time.time()
        error: TransientError | None = None
        for _ in range(CREATE_ATTEMPTS):
            try:
                return self._created(*self.dialect.create(self.http, req))
            except TransientError as exc:
                if not exc.acted_on_maybe:
                    raise
                error = exc
            found = self.find(sub, since=started)
            if found:
                return found[0]
        assert error is not None
        raise error

    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        if not refs:
            return []
        views = self.dialect.fetch(self.http, [r.remote_id for r in refs])
        out = []
        for ref in refs:
            view = views.get(ref.remote_id)
            if view is None:
                out.append(Observation(ref.remote_id, UNKNOWN, "", {"missing": True}))
                continue
            obs = observation(view, self.dialect.table)
            if obs.status == SUCCEEDED:
                self._keep(view)
            elif obs.terminal:  # cancelled or failed: the circuits that completed keep their counts
                partial = self._result(view)
                obs = Observation(obs.remote_id, obs.status, obs.raw_status, obs.detail, result=partial)
            out.append(obs)
        return out

    def result(self, ref: RemoteRef) -> Result | None:
        with self._lock:
            view = self._finished.pop(ref.remote_id, None)
        if view is None:
            view = self.dialect.fetch(self.http, [ref.remote_id]).get(ref.remote_id)
        if view is None:
            return None
        return self._result(view)

    def _result(self, view: JobView) -> Result | None:
        data = {"provider": "superstaq", "api_version": self.version, "target": view.target}
        return result(view, self.dialect.table, data)

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        views = self.dialect.find(self.http, sub.token, self.target.target, since)
        return [observation(v, self.dialect.table) for v in views]

    def describe(self) -> dict[str, Any]:
        """The service's target_info for this target."""
        if self.version == "v0.2.0":
            body: dict[str, Any] = {"target": self.target.target, "options": "{}"}
            response = self.http.request("POST", "/target_info", json_body=body, safe=True)
        else:
            body = {"target": self.target.target, "options_dict": {}}
            response = self.http.request("POST", "/client/retrieve_target_info", json_body=body, safe=True)
        info = response.json()
        return {"target": self.target.target, **(info.get("target_info") or {})}

    def list_tagged(self, tag: str) -> list[Observation]:
        """Jobs carrying a tag (API v0.3.0 keeps tags; v0.2.0 drops them, so nothing can be found there)."""
        if self.version == "v0.2.0":
            raise RejectedError("Superstaq API v0.2.0 keeps no tags: import these jobs by id instead")
        from runner.providers.superstaq.v3 import query, view
        from runner.quantum.circuits import from_qpy_b64

        found = []
        for job_id, data in sorted(query(self.http, {"tags": [tag]}).items()):
            seen = view(job_id, data)
            first = from_qpy_b64(seen.circuits[0].qpy)[0] if seen.circuits and seen.circuits[0].qpy else None
            name = (first.metadata or {}).get("runner_address") or first.name if first is not None else None
            obs = observation(seen, self.dialect.table)
            found.append(Observation(obs.remote_id, obs.status, obs.raw_status, {**obs.detail, "name": name}))
        return found

    def list_remote(self, query: Query) -> Listing:
        """Jobs on this target through the v0.3.0 JobQuery (a v0.2.0 target asks the same service's v0.3.0 API)."""
        from runner.providers.superstaq import listing

        v2 = isinstance(self.dialect, V2)
        base = self.dialect.v3_base if isinstance(self.dialect, V2) else ""
        return listing.listing(self.http, query, self.target.target, base=base, v2_ids=v2)

    def get_remote(self, ref: RemoteRef) -> RemoteItem | None:
        """A job as the service reports it now: overall status, and each circuit's status, message and compiled form."""
        from runner.providers.superstaq import listing

        if isinstance(self.dialect, V2):
            view = self.dialect.fetch(self.http, [ref.remote_id]).get(ref.remote_id)
            return listing.from_view(view, self.dialect.table) if view is not None else None
        found = v3_query(self.http, {"job_id": [ref.remote_id]}).get(ref.remote_id)
        return listing.item(ref.remote_id, found) if isinstance(found, dict) else None

    def circuit(self, ref: RemoteRef, index: int) -> tuple[Observation, Result | None]:
        """Circuit `index` now (the job's status in detail["job"]), and its counts once it completed."""
        view = self.dialect.fetch(self.http, [ref.remote_id]).get(ref.remote_id)
        if view is None:
            return Observation(ref.remote_id, UNKNOWN, "", {"missing": True}), None
        if not 0 <= index < len(view.circuits):
            raise RejectedError(f"job {ref.remote_id} has {len(view.circuits)} circuit(s); there is no index {index}")
        job = observation(view, self.dialect.table)
        one = observation(JobView(view.remote_id, view.target, (view.circuits[index],)), self.dialect.table)
        detail = {
            **one.detail,
            "job": {"status": job.status, "raw_status": job.raw_status},
            "statuses": job.detail["statuses"],
        }
        data = {"provider": "superstaq", "api_version": self.version, "target": view.target}
        counts = circuit_result(view, index, self.dialect.table, data)
        return Observation(ref.remote_id, one.status, one.raw_status, detail), counts

    def cancel(self, ref: RemoteRef) -> Observation:
        return self.cancel_index(ref, None)

    def cancel_index(self, ref: RemoteRef, index: int | None) -> Observation:
        """Cancel one circuit (by its position in the job) or, with index None, all of them."""
        self.dialect.cancel(self.http, ref.remote_id, index)
        (obs,) = self.observe([ref])
        return obs

    def requests(self) -> int:
        return self.http.calls

    def shutdown(self) -> None:
        self.http.close()

    # helpers -------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": self._key,
            "Content-Type": "application/json",
            "X-Client-Name": CLIENT_NAME,
            "X-Client-Version": self.version,
        }

    def _describe(self, response: httpx.Response) -> str:
        message = _message(response)
        if response.status_code in (401, 403):
            return f"{message}; check the API key in {self._key_source}"
        return message

    def _job_request(self, sub: Submission) -> JobRequest:
        from runner.quantum.circuits import qpy_b64

        options = {**self.target.options, **sub.spec.get("options", {})}
        return JobRequest(
            qpy_b64(self._circuits(sub)),
            self.target.target,
            int(sub.spec["shots"]),
            options,
            sub.spec.get("priority"),
            tuple(sub.attrs.tags),
            dict(sub.attrs.metadata),
            sub.token,
        )

    def _circuits(self, sub: Submission) -> list[QuantumCircuit]:
        from runner.quantum.circuits import bound

        params = sub.spec.get("params", {})
        circuits = []
        for i, program in enumerate(sub.programs):
            try:
                circuit = bound(program, params, name=f"runner-{sub.token}-{i}")
            except Exception as exc:  # a program that cannot become a circuit fails this job only
                raise RejectedError(f"{sub.address}: cannot build {program.label}: {exc}") from None
            circuit.metadata = {
                **(circuit.metadata or {}),
                "runner_token": sub.token,
                "runner_address": sub.address,
                "runner_index": i,
            }
            circuits.append(circuit)
        return circuits

    def _created(self, remote_id: str, raw: str | None) -> Observation:
        status = self.dialect.table.get(raw, (0, PENDING))[1] if raw else PENDING
        if status == FAILED:  # rejected at submission: fetch once more for the failure text
            return self.observe([RemoteRef("job", remote_id)])[0]
        return Observation(remote_id, status, raw or "")

    def _keep(self, view: JobView) -> None:
        with self._lock:
            if len(self._finished) >= FINISHED_CACHE:
                self._finished.pop(next(iter(self._finished)))
            self._finished[view.remote_id] = view


def _key_source(creds: Mapping[str, Any]) -> str:
    if "api_key_env" in creds:
        return f"environment variable {creds['api_key_env']}"
    return f"file {creds.get('api_key_file')}"


def _message(response: httpx.Response) -> str:
    """The service's error text: JSON `message`, else `detail`, else the body itself."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return body if isinstance(body, str) else str(body)[:200]
