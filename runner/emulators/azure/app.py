"""An emulator of the Azure Quantum workspace data plane, its linked blob storage and an Entra token endpoint.

Speaks what azure-quantum 3.13 and runner's client send: jobs, sessions, top-level items,
storage SAS URIs, provider status and quotas under the workspace path; path-style container and
blob URLs (`/emulatorstore/<container>[/<blob>]?<SAS>`) on the same port; `POST
/<tenant>/oauth2/v2.0/token` for client credentials (its API key is the client secret).

It answers as the recorded real service does (../shared/providers/recordings/azure): creates
answer 200; jobs and sessions carry exactly the recorded fields (jobs `jobPriority: "Basic"`,
`isCancelling`, `lastModifiedTime`, `quantumComputingData`; sessions no tags, priority or
errorData) and providerId in lower case; a job sent into a session that has ended answers 400
InvalidJobDefinition with the recorded message; a refused key gets 401 with an empty body and
`WWW-Authenticate: Bearer error="invalid_token"`. Storage errors are Azure Storage's XML.
Choices where nothing is recorded: a PUT of an existing job or session id answers 409;
cancelling a finished job is a no-op 204; closing a session whose jobs still run ends it when
the last one finishes; a blob PUT into a container nobody created is accepted (azure-quantum 3.13
no longer creates containers, while the recorded SDK did, and the service's SAS call does not).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable
from typing import Any

from runner.emulators import simulate
from runner.emulators.azure import storage
from runner.emulators.azure.execute import FORMATS, TARGETS, provider_of
from runner.emulators.azure.lifecycle import Lifecycle
from runner.emulators.azure.store import JOB_TERMINAL, SESSION_TERMINAL, Item, Store, now, page
from runner.emulators.server import Emulator, Faults, Handler, Request, Response

DEFAULT_KEY = "emulator-key"
KEY_ENV = "RUNNER_AZURE_EMULATOR_KEY"
WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Quantum/workspaces/(?P<ws>[^/]+)"
)
ID = r"(?P<id>[^/:]+)"
CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    501: "NotImplemented",
    503: "ServiceUnavailable",
}
ApiHandler = Callable[[Request, str], Response]


def make(faults: Faults, seed: int | None) -> AzureEmulator:
    return AzureEmulator(faults, seed)


SESSION_ENDED = (
    "Session is already in a terminal state. This may have been due to failures in prior jobs in the session."
)
PRIORITIES = {"High": "High"}  # what jobPriority says for a requested priority; anything else is "Basic"


def fail(status: int, code: str, message: str) -> Response:
    """Azure's error body (as recorded) and the x-ms-error-code header (which the recorder did not keep)."""
    return Response(status, {"error": {"code": code, "message": message}}, {"x-ms-error-code": code})


class AzureEmulator(Emulator):
    """One in-memory service; any workspace path is accepted and keeps its own items."""

    name = "azure"

    def __init__(
        self,
        faults: Faults | None = None,
        seed: int | None = None,
        *,
        key: str | None = None,
        token_lifetime: int = 3599,
    ) -> None:
        simulate.warm()  # handler threads are short-lived, so qiskit is imported here first
        super().__init__(faults, seed)
        self.key = key or os.environ.get(KEY_ENV) or DEFAULT_KEY
        self.token_lifetime = token_lifetime
        self.store = Store()
        self.life = Lifecycle(self.store, self.lock, self.scheduler, self.faults, self.chance)

    def routes(self) -> list[tuple[str, str, Handler]]:
        api = self._api
        return [
            ("PUT", f"{WS}/jobs/{ID}", api(self.put_job)),
            ("GET", f"{WS}/jobs/{ID}", api(self.get_job)),
            ("PATCH", f"{WS}/jobs/{ID}", api(self.patch_job)),
            ("DELETE", f"{WS}/jobs/{ID}", api(self.cancel_job)),
            ("POST", f"{WS}/jobs/{ID}:cancel", api(self.cancel_job)),
            ("GET", f"{WS}/jobs", api(self.list_jobs)),
            ("PUT", f"{WS}/sessions/{ID}", api(self.put_session)),
            ("GET", f"{WS}/sessions/{ID}", api(self.get_session)),
            ("POST", f"{WS}/sessions/{ID}:close", api(self.close_session)),
            ("GET", f"{WS}/sessions/{ID}/jobs", api(self.list_session_jobs)),
            ("GET", f"{WS}/sessions", api(self.list_sessions)),
            ("GET", f"{WS}/topLevelItems", api(self.list_top_level)),
            ("POST", f"{WS}/storage/sasUri", api(self.sas_uri)),
            ("GET", f"{WS}/providerStatus", api(lambda r, w: Response(200, storage.provider_status()))),
            ("GET", f"{WS}/quotas", api(lambda r, w: Response(200, storage.quotas()))),
            ("GET", f"{WS}/quotaUsages", api(lambda r, w: Response(200, {"value": [], "nextLink": None}))),
            *[
                (m, storage.BLOB, self._locked(storage.blob_handler(self.store, self.key, m)))
                for m in ("PUT", "GET", "HEAD")
            ],
            *[
                (m, storage.CONTAINER_PATH, self._locked(storage.container_handler(self.store, self.key, m)))
                for m in ("PUT", "GET", "HEAD")
            ],
            ("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", self._locked(self.token)),
        ]

    def error(self, status: int, message: str) -> Response:
        return fail(status, CODES.get(status, "Error"), message)

    def state(self) -> dict[str, Any]:
        return self.store.snapshot()

    # plumbing ---------------------------------------------------------------------------------
    def _locked(self, handler: Handler) -> Handler:
        def run(request: Request) -> Response:
            with self.lock:
                return handler(request)

        return run

    def _api(self, handler: ApiHandler) -> Handler:
        def run(request: Request) -> Response:
            with self.lock:
                denied = self._deny(request)
                if denied is not None:
                    return denied
                workspace = f"{request.group('sub')}/{request.group('rg')}/{request.group('ws')}"
                return handler(request, workspace)

        return run

    def _deny(self, request: Request) -> Response | None:
        key = request.headers.get("x-ms-quantum-api-key")
        bearer = request.headers.get("authorization", "")
        if key is not None:
            ok = hmac.compare_digest(key.encode(), self.key.encode())
        elif bearer.lower().startswith("bearer "):
            ok = self.store.tokens.get(bearer[7:].strip(), 0.0) > time.monotonic()
        else:
            ok = False
        # as recorded for a refused API key: no body at all, the reason only in the header
        return None if ok else Response(401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def _job(self, request: Request, workspace: str) -> Item | Response:
        item = self.store.jobs.get(request.group("id"))
        if item is None or item.workspace != workspace:
            return fail(404, "JobNotFound", f"Job '{request.group('id')}' was not found in this workspace.")
        return item

    def _session(self, request: Request, workspace: str) -> Item | Response:
        item = self.store.sessions.get(request.group("id"))
        if item is None or item.workspace != workspace:
            return fail(404, "SessionNotFound", f"Session '{request.group('id')}' was not found in this workspace.")
        return item

    # jobs -------------------------------------------------------------------------------------
    def put_job(self, request: Request, workspace: str) -> Response:
        job_id = request.group("id")
        if job_id in self.store.jobs:
            return fail(409, "Conflict", f"A job with id '{job_id}' already exists.")
        body = request.json()
        if not isinstance(body, dict):
            return fail(400, "InvalidJobDefinition", "The job definition must be a JSON object.")
        lacking = [k for k in ("containerUri", "inputDataFormat", "providerId", "target") if not body.get(k)]
        if lacking:
            return fail(400, "InvalidJobDefinition", f"The job definition lacks {', '.join(lacking)}.")
        misfit = _misfit(body)
        if misfit:
            return fail(400, "InvalidJobDefinition", misfit)
        session = self.store.sessions.get(str(body.get("sessionId"))) if body.get("sessionId") else None
        if body.get("sessionId"):
            refused = self._refuses(session, str(body["sessionId"]), workspace)
            if refused is not None:
                return refused
        item = self.store.add(self.store.jobs, job_id, self._job_details(job_id, body), workspace)
        if session is not None:
            session.jobs.append(job_id)
            self.life.started(session)
        self.life.admit(item)  # validation happens now, so a bad job is Failed in this very response
        # the recorded answer shows the container and blob URLs as sent, without their SAS
        unsigned = {k: str(item.details[k]).split("?", 1)[0] for k in ("containerUri", "inputDataUri")}
        return Response(200, {**item.details, **unsigned})

    def _refuses(self, session: Item | None, session_id: str, workspace: str) -> Response | None:
        if session is None or session.workspace != workspace:
            return fail(400, "InvalidSessionId", f"Session '{session_id}' does not exist in this workspace.")
        if session.status in SESSION_TERMINAL or session.closed:
            return fail(400, "InvalidJobDefinition", SESSION_ENDED)
        return None

    def _job_details(self, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        container = str(body["containerUri"]).split("?", 1)[0].rstrip("/")
        provider = provider_of(str(body["target"]))
        output_format = body.get("outputDataFormat") or FORMATS.get(provider, ("", ""))[1]
        created = now()
        return {  # the recorded fields, in the recorded order
            "containerUri": body["containerUri"],
            "inputDataUri": body.get("inputDataUri") or f"{container}/inputData",
            "inputDataFormat": body["inputDataFormat"],
            "inputParams": body.get("inputParams") or {},
            "metadata": body.get("metadata"),
            "sessionId": body.get("sessionId"),
            "jobPriority": PRIORITIES.get(str(body.get("priority")), "Basic"),
            "status": "Waiting",
            "jobType": body.get("jobType") or "QuantumComputing",
            "outputDataFormat": output_format,
            "outputDataUri": body.get("outputDataUri") or storage.signed(self.key, f"{container}/rawOutputData"),
            "beginExecutionTime": None,
            "cancellationTime": None,
            "lastModifiedTime": created,
            "quantumComputingData": None,
            "errorData": None,
            "isCancelling": False,
            "tags": list(body.get("tags") or []),
            "name": body.get("name") or job_id,
            "id": job_id,
            "providerId": str(body["providerId"]).lower(),
            "target": body["target"],
            "creationTime": created,
            "endExecutionTime": None,
            "costEstimate": None,
            "itemType": "Job",
        }

    def get_job(self, request: Request, workspace: str) -> Response:
        item = self._job(request, workspace)
        return item if isinstance(item, Response) else Response(200, dict(item.details))

    def patch_job(self, request: Request, workspace: str) -> Response:
        item = self._job(request, workspace)
        if isinstance(item, Response):
            return item
        body = request.json()
        if not isinstance(body, dict):
            return fail(400, "InvalidJobUpdate", "The update must be a JSON object.")
        if "name" in body:  # merge-patch: null removes
            item.details["name"] = body["name"]
        if "tags" in body:
            item.details["tags"] = list(body["tags"] or [])
        if "priority" in body:
            item.details["jobPriority"] = PRIORITIES.get(str(body["priority"]), "Basic")
        item.details["lastModifiedTime"] = now()
        return Response(
            200, {"name": item.details["name"], "priority": body.get("priority"), "tags": item.details["tags"]}
        )

    def cancel_job(self, request: Request, workspace: str) -> Response:
        item = self._job(request, workspace)
        if isinstance(item, Response):
            return item
        if item.status not in JOB_TERMINAL:
            self.life.end(item, "Cancelled")
        return Response(204)

    def list_jobs(self, request: Request, workspace: str) -> Response:
        return self._page(request, [i for i in self.store.jobs.values() if i.workspace == workspace])

    def _page(self, request: Request, items: list[Item]) -> Response:
        query = {k: request.arg(k) for k in ("api-version", "filter", "orderby", "skip", "top")}
        body = page(items, query, f"{request.base_url}{request.path}")
        body["value"] = [dict(v) for v in body["value"]]
        return Response(200, body)

    # sessions ---------------------------------------------------------------------------------
    def put_session(self, request: Request, workspace: str) -> Response:
        session_id = request.group("id")
        if session_id in self.store.sessions:
            return fail(409, "Conflict", f"A session with id '{session_id}' already exists.")
        body = request.json()
        if not isinstance(body, dict):
            return fail(400, "InvalidSessionDefinition", "The session definition must be a JSON object.")
        target = str(body.get("target") or "")
        if target not in TARGETS:
            return fail(400, "InvalidTarget", f"Target '{target}' is not available in this workspace.")
        details = {  # the recorded fields, in the recorded order: no tags, priority or errorData
            "status": "Waiting",
            "jobFailurePolicy": body.get("jobFailurePolicy") or "Abort",
            "jobPriority": "Basic",
            "name": body.get("name") or f"session-{session_id}",
            "id": session_id,
            "providerId": str(body.get("providerId") or provider_of(target)).lower(),
            "target": target,
            "creationTime": now(),
            "endExecutionTime": None,
            "costEstimate": None,
            "itemType": "Session",
        }
        return Response(200, dict(self.store.add(self.store.sessions, session_id, details, workspace).details))

    def get_session(self, request: Request, workspace: str) -> Response:
        item = self._session(request, workspace)
        return item if isinstance(item, Response) else Response(200, dict(item.details))

    def close_session(self, request: Request, workspace: str) -> Response:
        item = self._session(request, workspace)
        if isinstance(item, Response):
            return item
        item.closed = True
        self.life.settle(item)
        return Response(200, dict(item.details))

    def list_sessions(self, request: Request, workspace: str) -> Response:
        answer = self._page(request, [i for i in self.store.sessions.values() if i.workspace == workspace])
        # as recorded: a listed session lacks the jobPriority that GET of the same session shows
        for item in answer.body.get("value", []) if isinstance(answer.body, dict) else []:
            item.pop("jobPriority", None)
        return answer

    def list_session_jobs(self, request: Request, workspace: str) -> Response:
        session = self._session(request, workspace)
        if isinstance(session, Response):
            return session
        return self._page(request, [self.store.jobs[j] for j in session.jobs])

    def list_top_level(self, request: Request, workspace: str) -> Response:
        jobs = [i for i in self.store.jobs.values() if i.workspace == workspace and not i.details.get("sessionId")]
        return self._page(request, jobs + [i for i in self.store.sessions.values() if i.workspace == workspace])

    # storage and tokens -------------------------------------------------------------------------
    def sas_uri(self, request: Request, workspace: str) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return fail(400, "InvalidRequestBody", "The request body must be a JSON object with containerName.")
        container = str(body.get("containerName") or "")
        if not storage.CONTAINER.match(container):
            return fail(400, "InvalidContainerName", f"'{container}' is not a valid container name.")
        blob = body.get("blobName")
        path = f"/{storage.ACCOUNT}/{container}" + (f"/{blob}" if blob else "")
        return Response(200, {"sasUri": storage.signed(self.key, f"{request.base_url}{path}")})

    def token(self, request: Request) -> Response:
        return storage.issue_token(self.store, request, self.key, self.token_lifetime)


def _misfit(body: dict[str, Any]) -> str | None:
    """Why fields of a job definition have the wrong JSON type, if they do."""
    expected = {"inputParams": dict, "metadata": dict, "tags": list, "containerUri": str, "target": str}
    names = {dict: "object", list: "array", str: "string"}
    for key, kind in expected.items():
        if body.get(key) is not None and not isinstance(body[key], kind):
            return f"The job definition's {key} must be a JSON {names[kind]}."
    if not all(isinstance(t, str) for t in body.get("tags") or []):
        return "The job definition's tags must be strings."
    return None
