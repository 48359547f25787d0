"""Azure Quantum: jobs and sessions through the workspace data-plane REST API.

Every job and session id is chosen by the client from the submission token, so a PUT repeated
after a dropped connection cannot make a second one: the workspace answers 409 for an id it
has, and we adopt what is there. A job's input goes to the workspace's linked storage first
(POST storage/sasUri, create the container, PUT blob), then the job is created pointing at it,
with the shot count as both `shots` and `count` (as the SDK sent it in the recordings). Status
is read with list calls (one request per page of 100), not one GET per job.

What changes in place: a job's name and tags (PATCH, then read back); nothing of a session (the
service has no session update call and returns no tags on sessions, so runner cannot show or
change them remotely: `update` refuses). See wire.py for what the recordings taught.

Configuration: `workspace` (subscription_id, resource_group, name, location) is required unless
the credentials name a connection string, which carries the workspace itself. `endpoint`
overrides the data-plane URL (also a connection string's QuantumEndpoint), e.g. for
`runner emulate azure`. `token_endpoint` may contain `{tenant}`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner.domain import token
from runner.domain.model import Attrs, Target
from runner.domain.query import Listing, Query, RemoteItem
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.vocabulary import SUCCEEDED
from runner.errors import NotFoundError, ProviderError, RejectedError
from runner.providers.azure import formats
from runner.providers.azure.api import Item, WorkspaceApi
from runner.providers.azure.auth import connect
from runner.providers.azure.wire import JOB_STATUS, answer, list_filter, missing, observation
from runner.providers.base import Context, ProviderSpec, Submission

# Published qubit counts of the targets runner submits to (Azure Quantum's provider pages).
QUBITS = {
    "ionq.simulator": 29,
    "ionq.qpu.aria-1": 25,
    "ionq.qpu.aria-2": 25,
    "ionq.qpu.forte-1": 36,
    "ionq.qpu.forte-enterprise-1": 36,
    "quantinuum.sim.h1-1sc": 20,
    "quantinuum.sim.h1-1e": 20,
    "quantinuum.qpu.h1-1": 20,
    "quantinuum.sim.h2-1sc": 56,
    "quantinuum.sim.h2-1e": 56,
    "quantinuum.qpu.h2-1": 56,
    "quantinuum.sim.h2-2sc": 56,
    "quantinuum.sim.h2-2e": 56,
    "quantinuum.qpu.h2-2": 56,
}


def capacity(target: Target) -> int | None:
    """The target's published qubit count, when runner knows it."""
    return QUBITS.get(target.target)


SPEC = ProviderSpec(
    name="azure",
    kinds=frozenset({"job", "session"}),
    default_target=None,
    required=(),  # workspace, unless a connection string gives it: checked by check_target
    allowed=frozenset(
        {"workspace", "endpoint", "credentials", "provider_id", "token_endpoint", "token_scope", "rate_limit"}
    ),
    credentials=(
        frozenset({"api_key_env"}),
        frozenset({"api_key_file"}),
        frozenset({"connection_string_env"}),
        frozenset({"connection_string_file"}),
        frozenset({"client_id_env", "client_secret_env", "tenant_id_env"}),
        frozenset({"client_id_env", "client_secret_file", "tenant_id_env"}),
        frozenset({"azure_identity"}),
    ),
    description="Azure Quantum workspace (IonQ and Quantinuum targets)",
    mutable={"job": frozenset({"tags", "name"})},
    findable=frozenset({"job", "session"}),
    capacity=capacity,
)
FEW = 3  # up to this many ids are read one GET each; more are read from list pages
PREFIXES = ("ionq.", "quantinuum.")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-_.]{0,89}$")
_WORKSPACE = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-_]{1,49}$")
_LOCATION = re.compile(r"^[a-z0-9]+$")
Problems = list[tuple[tuple[str | int, ...], str]]


def check_target(target: Target) -> Problems:
    """Target name and workspace fields, checked without touching the network."""
    problems: Problems = []
    if not target.target.startswith(PREFIXES):
        problems.append(
            (("target",), f"azure targets runner can submit to start with ionq. or quantinuum. (got '{target.target}')")
        )
    block = target.config.get("workspace")
    cred = target.config.get("credentials") or {}
    if not block and not any(k.startswith("connection_string") for k in cred):
        problems.append(((), "azure targets need 'workspace' unless credentials name a connection string"))
    if isinstance(block, Mapping):
        problems.extend(_workspace_problems(block))
    return problems


def _workspace_problems(block: Mapping[str, Any]) -> Problems:
    rules = (
        ("subscription_id", _GUID, "a GUID like 00000000-0000-0000-0000-000000000000"),
        ("resource_group", _RESOURCE_GROUP, "1-90 letters, digits, '-', '_' or '.', starting with a letter"),
        ("name", _WORKSPACE, "2-50 letters, digits, '-' or '_', starting with a letter"),
        ("location", _LOCATION, "an Azure region name in lower case without spaces, like eastus"),
    )
    return [
        (("workspace", key), f"workspace {key} must be {rule} (got '{block[key]}')")
        for key, pattern, rule in rules
        if key in block and not pattern.match(str(block[key]))
    ]


def make(target: Target, context: Context) -> AzureProvider:
    return AzureProvider(target, context)


class AzureProvider:
    """One workspace target; safe to share between apply's worker threads."""

    spec = SPEC

    def __init__(
        self, target: Target, context: Context, *, transport: Any = None, clock: Callable[[], float] | None = None
    ) -> None:
        problems = check_target(target)
        if problems:
            raise RejectedError(f"targets.{target.name}: {problems[0][1]}")
        self.target = target
        extra = {"clock": clock} if clock else {}
        conn = connect(target, context.env, context.base_dir, transport=transport, **extra)
        rate = target.config.get("rate_limit")
        self.api = WorkspaceApi(target.name, conn, transport=transport, rate_limit=float(rate) if rate else None)
        self.provider_id = str(target.config.get("provider_id") or target.target.split(".", 1)[0])
        self._since: dt.datetime | None = None  # earliest create by this instance, to narrow listings
        self._finished: dict[str, Item] = {}  # succeeded jobs as the last listing showed them
        self._lock = threading.Lock()

    # create -----------------------------------------------------------------------------------
    def create(self, sub: Submission) -> Observation:
        if sub.kind == "session":
            return self._put(sub, "sessions", self._session_body(sub))
        if sub.kind != "job":
            raise RejectedError(f"{sub.address}: azure targets do not run {sub.kind}s")
        payload = self._payload(sub)
        container = self.api.sas({"containerName": f"job-{token.as_uuid(sub.token)}"})
        self.api.create_container(container)
        blob = self.api.upload(container, "inputData", payload.data, payload.content_type)
        return self._put(sub, "jobs", self._job_body(sub, container, blob, payload))

    def _put(self, sub: Submission, collection: str, body: Mapping[str, Any]) -> Observation:
        path = f"/{collection}/{token.as_uuid(sub.token)}"
        self._note_create()
        try:
            return observation(self.api.call("PUT", path, body=body, safe=True))
        except NotFoundError as exc:
            raise RejectedError(f"{sub.address}: {answer(exc.message)}") from None
        except RejectedError as exc:
            existing = self.api.get(path)  # 409: a repeated PUT whose first attempt got through
            if existing is None:
                raise RejectedError(f"{sub.address}: {answer(exc.message)}") from None
            return observation(existing)

    def _note_create(self) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        with self._lock:
            self._since = min(self._since or now, now)

    def _payload(self, sub: Submission) -> formats.Payload:
        from runner.quantum.qasm import ProgramError

        if len(sub.programs) != 1:
            raise RejectedError(f"{sub.address}: azure jobs take a single program")
        try:
            return _convert(sub, self.target.target)
        except (formats.FormatError, ProgramError) as exc:
            raise RejectedError(f"{sub.address}: {exc}") from None

    def _job_body(self, sub: Submission, container: str, blob: str, payload: formats.Payload) -> dict[str, Any]:
        shots = int(sub.spec["shots"])
        params = {**self.target.options, **sub.spec.get("options", {}), "shots": shots, "count": shots}
        body: dict[str, Any] = {
            "name": sub.attrs.name or sub.address,
            "providerId": self.provider_id,
            "target": self.target.target,
            "itemType": "Job",
            "containerUri": container,
            "inputDataUri": blob,
            "inputDataFormat": payload.input_format,
            "outputDataFormat": payload.output_format,
            "inputParams": params,
            # how to turn the results back into counts; SDK 2.x reads metadata as strings only
            "metadata": {"runner.address": sub.address, "runner.layout": json.dumps(payload.layout)},
            "tags": list(sub.attrs.tags),
        }
        if sub.parent is not None:
            body["sessionId"] = sub.parent.remote_id
        return _with_priority(body, sub)

    def _session_body(self, sub: Submission) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": sub.attrs.name or f"session-{token.as_uuid(sub.token)}",
            "providerId": self.provider_id,
            "target": self.target.target,
            "itemType": "Session",
            "jobFailurePolicy": str(sub.spec.get("job_failure_policy") or "abort").capitalize(),
            "tags": list(sub.attrs.tags),
        }
        return _with_priority(body, sub)

    # read -------------------------------------------------------------------------------------
    def observe(self, refs: Sequence[RemoteRef]) -> list[Observation]:
        jobs = [r for r in refs if r.kind != "session"]
        sessions = [r for r in refs if r.kind == "session"]
        found = {**self._read_jobs(jobs), **self._read_sessions(sessions)}
        done = {k: v for k, v in found.items() if JOB_STATUS.get(str(v.get("status"))) == SUCCEEDED}
        with self._lock:  # a listing carries each job's details: result() then downloads without asking again
            self._finished.update({r.remote_id: done[r.remote_id] for r in jobs if r.remote_id in done})
        return [observation(found[r.remote_id]) if r.remote_id in found else missing(r.remote_id) for r in refs]

    def _read_jobs(self, refs: Sequence[RemoteRef]) -> dict[str, Item]:
        if len(refs) <= FEW:
            return self._read_each("jobs", refs)
        found: dict[str, Item] = {}
        newest_first = {"orderby": "CreationTime desc"}
        for parent in sorted({r.parent_id for r in refs if r.parent_id}):
            ids = {r.remote_id for r in refs if r.parent_id == parent}
            found.update(self.api.scan(f"/sessions/{parent}/jobs", newest_first, ids))
        rest = {r.remote_id for r in refs} - set(found)
        if rest:
            narrowed = {**newest_first, "filter": list_filter(self.target.target, self._since)}
            found.update(self.api.scan("/jobs", narrowed, rest))
        unlisted = [r for r in refs if r.remote_id not in found]
        if 0 < len(unlisted) <= FEW:  # e.g. made before the target name changed: ask for them by id
            found.update(self._read_each("jobs", unlisted))
        return found

    def _read_sessions(self, refs: Sequence[RemoteRef]) -> dict[str, Item]:
        if len(refs) <= FEW:
            return self._read_each("sessions", refs)
        params = {"filter": list_filter(self.target.target, self._since), "orderby": "CreationTime desc"}
        return self.api.scan("/sessions", params, {r.remote_id for r in refs})

    def _read_each(self, collection: str, refs: Sequence[RemoteRef]) -> dict[str, Item]:
        items = {r.remote_id: self.api.get(f"/{collection}/{r.remote_id}") for r in refs}
        return {k: v for k, v in items.items() if v is not None}

    def describe(self) -> dict[str, Any]:
        """The target's status as the workspace reports it (availability, queue time, qubits)."""
        for page in self.api.pages("/providerStatus", {}):
            for provider in page:
                for status in provider.get("targets") or []:
                    if status.get("id") == self.target.target:
                        return {"provider_id": provider.get("id"), **status}
        return {"target": self.target.target, "note": "not listed in providerStatus"}

    def list_tagged(self, tag: str) -> list[Observation]:
        """Jobs on this target carrying a tag (the list call cannot filter tags: they are checked here)."""
        found = []
        for page in self.api.pages("/jobs", {"filter": list_filter(self.target.target, None)}):
            for item in page:
                if tag in (item.get("tags") or []):
                    obs = observation(item)
                    found.append(
                        Observation(obs.remote_id, obs.status, obs.raw_status, {**obs.detail, "name": item.get("name")})
                    )
        return found

    def list_remote(self, query: Query) -> Listing:
        """Jobs or sessions on this target (or the jobs of one session), filtered and paged by the service."""
        from runner.providers.azure import listing

        return listing.listing(self.api, query, self.target.target)

    def get_remote(self, ref: RemoteRef) -> RemoteItem | None:
        """A job or session as the workspace reports it now (cost, usage, creator, times where it sends them)."""
        from runner.providers.azure import listing

        found = self.api.get(f"/{'sessions' if ref.kind == 'session' else 'jobs'}/{ref.remote_id}")
        return listing.item(found) if found is not None else None

    def result(self, ref: RemoteRef) -> Result | None:
        from runner.providers.azure.models import JobDetails, parse

        with self._lock:
            found = self._finished.pop(ref.remote_id, None)
        found = found or self.api.get(f"/jobs/{ref.remote_id}")
        if found is None:
            return None
        job = parse(JobDetails, found, "job")
        if JOB_STATUS.get(str(job.status)) != SUCCEEDED or not job.outputDataUri:
            return None
        raw = self.api.download(job.outputDataUri)
        layout = json.loads(str((job.metadata or {}).get("runner.layout") or "{}"))
        shots = int(job.inputParams.get("shots") or job.inputParams.get("count") or 0)
        output_format = str(job.outputDataFormat)
        try:
            parsed = formats.read(output_format, raw, layout, shots)
        except formats.FormatError as exc:
            raise RejectedError(f"job {ref.remote_id}: {exc}") from None
        data = {"format": output_format, "target": job.target, "raw": parsed.summary}
        return Result(counts=(parsed.counts,), shots=parsed.shots, data=data)

    def find(self, sub: Submission, since: float | None = None) -> list[Observation]:
        collection = "sessions" if sub.kind == "session" else "jobs"
        item = self.api.get(f"/{collection}/{token.as_uuid(sub.token)}")
        return [observation(item)] if item is not None else []

    # change -----------------------------------------------------------------------------------
    def cancel(self, ref: RemoteRef) -> Observation:
        if ref.kind == "session":
            return self.close(ref)
        path = f"/jobs/{ref.remote_id}"
        try:
            self.api.call("POST", f"{path}:cancel", safe=True)  # asking twice to cancel is harmless
        except NotFoundError:
            raise
        except RejectedError:
            pass  # already finished: the GET below says how
        return observation(self.api.call("GET", path))

    def update(self, ref: RemoteRef, attrs: Attrs) -> None:
        """Rename or retag a job in place and read it back; sessions cannot be changed at all."""
        if ref.kind == "session":
            raise RejectedError(
                f"session {ref.remote_id}: Azure Quantum cannot change a session after it is opened "
                "(no update call, and sessions come back without tags); its tags and name stay as created"
            )
        patch: dict[str, Any] = {"tags": list(attrs.tags)}
        if attrs.name:
            patch["name"] = attrs.name
        merge = {"Content-Type": "application/merge-patch+json"}
        path = f"/jobs/{ref.remote_id}"
        self.api.call("PATCH", path, body=patch, safe=True, headers=merge)
        seen = self.api.get(path)
        shown = {"tags": sorted((seen or {}).get("tags") or []), "name": (seen or {}).get("name")}
        wanted = {"tags": sorted(attrs.tags), "name": attrs.name or shown["name"]}
        if shown != wanted:
            raise ProviderError(f"job {ref.remote_id}: the update was accepted but the job reads back {shown}")

    def close(self, ref: RemoteRef) -> Observation:
        return observation(self.api.call("POST", f"/sessions/{ref.remote_id}:close", safe=True))

    def requests(self) -> int:
        return self.api.http.calls

    def shutdown(self) -> None:
        self.api.close()


def _convert(sub: Submission, target: str) -> formats.Payload:
    return formats.payload_for(target, sub.programs[0], sub.spec.get("params", {}))


def _with_priority(body: dict[str, Any], sub: Submission) -> dict[str, Any]:
    if sub.spec.get("priority"):
        body["priority"] = str(sub.spec["priority"]).capitalize()
    return body
