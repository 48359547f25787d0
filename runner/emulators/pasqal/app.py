"""An emulator of Pasqal Cloud's core and account APIs, close enough that the official SDK runs on it.

Serve it and point clients at `Endpoints(core=URL + "/core", account=URL + "/account")`; the
password grant answers at `URL + "/oauth/token"`. Everything is wrapped in JSend envelopes
(errors too, always JSON); create-batch and add-jobs bodies arrive gzipped (the server unpacks
them). Jobs run on pulser's QuTiP backend; set RUNNER_EMULATOR_NO_PULSER=1 (or simulate=False)
to see what happens where pulser-simulation is missing.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qs

from runner.emulators.pasqal import execute as pasqal_pulser
from runner.emulators.pasqal.batches import BatchRoutes
from runner.emulators.pasqal.jobs import JobRoutes
from runner.emulators.pasqal.lifecycle import Lifecycle
from runner.emulators.pasqal.store import Invalid, NotFound, fail, invalid, ok
from runner.emulators.server import Emulator, Faults, Handler, Request, Response

CORE, ID = "/core/api", "(?P<id>[^/]+)"
GRANTS = ("http://auth0.com/oauth/grant-type/password-realm", "password")


def make(faults: Faults, seed: int | None) -> PasqalEmulator:
    return PasqalEmulator(faults, seed)


class PasqalEmulator(Emulator):
    """Pasqal Cloud's REST API over an in-memory store."""

    name = "pasqal"

    def __init__(
        self,
        faults: Faults | None = None,
        seed: int | None = None,
        *,
        simulate: bool | None = None,
        users: Mapping[str, str] | None = None,
        tokens: Collection[str] | None = None,
        token_ttl: float = 3600.0,
    ) -> None:
        super().__init__(faults, seed)
        if simulate is None:
            simulate = not os.environ.get("RUNNER_EMULATOR_NO_PULSER") and pasqal_pulser.has_simulation()
        self.life = Lifecycle(self, simulate)
        self.batch_routes, self.job_routes = BatchRoutes(self, self.life), JobRoutes(self, self.life)
        self.users = dict(users) if users is not None else None  # None: any username and password
        self.tokens = set(tokens) if tokens is not None else None  # static tokens accepted; None: any token
        self.token_ttl = token_ttl
        self.issued: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._specs: dict[str, str] | None = None
        pasqal_pulser.warm_up()

    def routes(self) -> list[tuple[str, str, Handler]]:
        api, b, j = self._api, self.batch_routes, self.job_routes
        return [
            ("POST", "/oauth/token", self.token),
            ("GET", "/account/api/v1/projects", api(self.list_projects)),
            ("POST", f"{CORE}/v1/batches", api(b.create_batch)),
            ("GET", f"{CORE}/v1/batches", api(b.list_batches)),
            ("PATCH", f"{CORE}/v1/batches/cancel", api(b.cancel_batches)),
            ("GET", f"{CORE}/v2/batches/{ID}", api(b.get_batch)),
            ("GET", f"{CORE}/v1/batches/{ID}/status", api(b.batch_status)),
            ("POST", f"{CORE}/v2/batches/{ID}/jobs", api(b.add_jobs)),
            ("PATCH", f"{CORE}/v2/batches/{ID}/complete", api(b.close_batch)),
            ("PATCH", f"{CORE}/v2/batches/{ID}/cancel", api(b.cancel_batch)),
            ("PATCH", f"{CORE}/v2/batches/{ID}/cancel/jobs", api(b.cancel_jobs)),
            ("POST", f"{CORE}/v1/batches/{ID}/rebatch", api(b.rebatch)),
            ("PATCH", f"{CORE}/v1/batches/{ID}/tags", api(b.set_tags)),
            ("GET", f"{CORE}/v2/jobs", api(j.list_jobs)),
            ("GET", f"{CORE}/v2/jobs/{ID}", api(j.get_job)),
            ("GET", f"{CORE}/v1/jobs/{ID}/status", api(j.job_status)),
            ("PATCH", f"{CORE}/v2/jobs/{ID}/cancel", api(j.cancel_job)),
            ("GET", f"{CORE}/v1/jobs/{ID}/results_link", api(j.results_link)),
            ("POST", f"{CORE}/v1/workloads", api(j.create_workload)),
            ("GET", f"{CORE}/v2/workloads/{ID}", api(j.get_workload)),
            ("PUT", f"{CORE}/v1/workloads/{ID}/cancel", api(j.cancel_workload)),
            ("GET", f"{CORE}/v1/devices/specs", api(self.device_specs)),
            ("GET", f"{CORE}/v1/devices/public-specs", api(self.public_specs, auth=False)),
            ("GET", f"/results/{ID}", j.download),
            ("GET", f"/workload-results/{ID}", j.download_workload),
        ]

    def error(self, status: int, message: str) -> Response:
        return fail(status, message)

    def _api(self, handler: Handler, auth: bool = True) -> Handler:
        def guarded(request: Request) -> Response:
            problem = self._unauthorized(request) if auth else None
            if problem:
                return fail(401, problem)
            try:
                return handler(request)
            except Invalid as exc:
                return invalid(exc)
            except NotFound as exc:
                return fail(404, str(exc))

        return guarded

    def _unauthorized(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "missing bearer token"
        with self.lock:
            expiry = self.issued.get(token.strip())
        if expiry is not None and expiry < time.time():
            return "the token has expired"
        if expiry is None and self.tokens is not None and token.strip() not in self.tokens:
            return "invalid token"
        return None

    # auth and account ---------------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        """OAuth2 password grant (form-encoded), answered like Auth0: no envelope."""
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") not in GRANTS:
            return Response(400, {"error": "unsupported_grant_type", "error_description": "use the password grant"})
        user, password = form.get("username", ""), form.get("password", "")
        if not user or not password or (self.users is not None and self.users.get(user) != password):
            return Response(403, {"error": "invalid_grant", "error_description": "Wrong email or password."})
        token = f"emu-{secrets.token_hex(16)}"
        with self.lock:
            self.issued[token] = time.time() + self.token_ttl
        return Response(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl})

    def list_projects(self, request: Request) -> Response:
        with self.lock:
            ids = sorted(self.life.projects)
        return ok(
            [
                {
                    "id": p,
                    "project_id": p,
                    "name": f"emulated project {p[-4:]}",
                    "project_status": "ACTIVE",
                    "queue_priority": "FREE",
                    "allowed_device_types": ["EMU_FREE", "EMU_MPS", "FRESNEL"],
                }
                for p in ids
            ]
        )

    # batches ------------------------------------------------------------------------------------

    # devices and state -----------------------------------------------------------------------------
    def device_specs(self, request: Request) -> Response:
        return ok(self._device_specs())

    def public_specs(self, request: Request) -> Response:
        return ok([{"device_type": k, "specs": v} for k, v in self._device_specs().items()])

    def _device_specs(self) -> dict[str, str]:
        if self._specs is None:
            self._specs = pasqal_pulser.device_specs()
        return self._specs

    def state(self) -> dict[str, Any]:
        jobs = self.life.jobs
        return {
            "batches": [b.wire(jobs, embed=True) for b in self.life.batches.values()],
            "jobs": len(jobs),
            "workloads": [w.wire("") for w in self.life.workloads.values()],
        }
