"""What `show` adds to the state's record: a session's or batch's jobs, and the object as its service reports it.

For a session or batch, `jobs` lists the jobs the state keeps under it; `remote` holds the object
as the service reports it now (`item`: status beside the service's own word, cost, usage, creator
and times where the service sends them) and, for a container, its jobs as the service lists them
(Azure `GET sessions/{id}/jobs`, Pasqal's jobs of a batch with their runs and variables), each
marked with the address that manages it. A service that cannot be asked leaves `remote.error`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.domain.query import Query
from runner.domain.remote import RemoteRef
from runner.domain.resources import Recorded
from runner.domain.vocabulary import CONTAINERS
from runner.errors import ProviderError, RunnerError, UsageError
from runner.providers import http
from runner.providers.base import Lists
from runner.providers.pool import ProviderPool
from runner.state import Store


def children(recorded: Mapping[str, Recorded], address: str) -> list[dict[str, Any]]:
    """The jobs the state records under a session or batch, by address."""
    return [
        {
            "address": r.address,
            "status": r.status,
            "raw_status": r.detail.get("raw_status"),
            "remote_id": r.remote_id,
            "generation": r.generation,
            **(
                {"runs": r.spec.get("runs"), "variables": dict(r.spec.get("variables") or {})}
                if r.kind == "batch_job"
                else {}
            ),
        }
        for r in sorted(recorded.values(), key=lambda r: r.address)
        if r.parent == address
    ]


def remote(store: Store, env: Mapping[str, str], rec: Recorded, timeout: float) -> dict[str, Any] | None:
    """The object (and a container's jobs) as its service reports them; None where the provider cannot say."""
    if rec.remote_id is None:
        return None
    managed = {r.remote_id: r.address for r in store.recorded().values() if r.remote_id}
    with ProviderPool(store.targets(), env) as pool, http.deadline(timeout):
        try:
            provider = pool.get(rec.target)
            if not isinstance(provider, Lists):
                return None
            item = provider.get_remote(RemoteRef(rec.kind, rec.remote_id))
            if item is None:
                return {"error": f"the service no longer knows {rec.remote_id}"}
            out: dict[str, Any] = {"item": item.as_json()}
            if rec.kind in CONTAINERS:
                listed = provider.list_remote(Query("jobs", parent=rec.remote_id, limit=None)).items
                out["jobs"] = [{**j.as_json(), "managed_as": managed.get(j.remote_id)} for j in reversed(listed)]
        except (ProviderError, UsageError) as exc:
            return {"error": exc.message}
        except RunnerError as exc:  # e.g. credentials this machine does not have
            return {"error": exc.message}
        return out
