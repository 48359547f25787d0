"""The emulated workspace's surroundings: linked blob storage (path-style, SAS-signed), the Entra token
endpoint, and the static provider status and quota documents.

SAS signatures are an HMAC of the container name and expiry under the emulator's key, so a blob
call without the SAS the workspace handed out is refused like Azure Storage refuses it. The token
endpoint answers in OAuth's own error format (`{"error", "error_description"}`), as Entra does.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

from runner.emulators.azure.execute import TARGETS, JobError, provider_of
from runner.emulators.azure.store import Blob, Store
from runner.emulators.server import Handler, Request, Response

ACCOUNT = "emulatorstore"
BLOB = rf"/{ACCOUNT}/(?P<container>[^/]+)/(?P<blob>.+)"
CONTAINER_PATH = rf"/{ACCOUNT}/(?P<container>[^/]+)"
CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
SAS_VERSION = "2023-11-03"
_SAS_REFUSED = "Server failed to authenticate the request: the SAS is missing, wrong or expired."


def _signature(key: str, container: str, expiry: str) -> str:
    digest = hmac.new(key.encode(), f"{container}\n{expiry}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed(key: str, url: str) -> str:
    """The URL of a container or blob with a day-long SAS (with `se=`, so SDKs need not ask again)."""
    container = urlsplit(url).path.strip("/").split("/")[1]
    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sas = {"sv": SAS_VERSION, "sr": "c", "sp": "racwl", "se": expiry, "sig": _signature(key, container, expiry)}
    return f"{url}?{urlencode(sas)}"


def _valid(key: str, container: str, request: Request) -> bool:
    expiry, sig = request.arg("se") or "", request.arg("sig") or ""
    try:
        later = dt.datetime.fromisoformat(expiry.replace("Z", "+00:00")) > dt.datetime.now(dt.timezone.utc)
    except ValueError:
        return False
    return later and hmac.compare_digest(sig, _signature(key, container, expiry))


def _storage_error(status: int, code: str, message: str) -> Response:
    """Azure Storage's XML error (as recorded, byte order mark included) and its x-ms-error-code header."""
    body = f'\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    headers = {"Content-Type": "application/xml", "x-ms-error-code": code, "x-ms-version": SAS_VERSION}
    return Response(status, body.encode(), headers)


def container_handler(store: Store, key: str, method: str) -> Handler:
    """`?restype=container`: PUT creates a container (201, then 409), GET and HEAD say whether it exists,
    GET with `comp=list` lists its blobs (ContainerClient.list_blobs)."""

    def handle(request: Request) -> Response:
        container = request.group("container")
        if request.arg("restype") != "container":
            return _storage_error(400, "InvalidQueryParameterValue", "restype must be container.")
        if not _valid(key, container, request):
            return _storage_error(403, "AuthenticationFailed", _SAS_REFUSED)
        headers = {"x-ms-version": SAS_VERSION}
        if method == "PUT":
            if container in store.containers:
                return _storage_error(409, "ContainerAlreadyExists", "The specified container already exists.")
            store.containers.add(container)
            return Response(201, b"", headers)
        if container not in store.containers:
            return _storage_error(404, "ContainerNotFound", "The specified container does not exist.")
        if method == "GET" and request.arg("comp") == "list":
            return _list_blobs(store, container, request)
        return Response(200, b"", {**headers, "x-ms-lease-state": "available", "x-ms-lease-status": "unlocked"})

    return handle


def _list_blobs(store: Store, container: str, request: Request) -> Response:
    """Azure Storage's List Blobs answer (EnumerationResults XML), every blob in one page, by name."""
    prefix = request.arg("prefix") or ""
    names = sorted(n for c, n in store.blobs if c == container and n.startswith(prefix))
    entries = "".join(
        f"<Blob><Name>{escape(name)}</Name><Properties>"
        f"<Last-Modified>{blob.modified}</Last-Modified><Etag>{blob.etag.strip(chr(34))}</Etag>"
        f"<Content-Length>{len(blob.data)}</Content-Length><Content-Type>{escape(blob.content_type)}</Content-Type>"
        "<BlobType>BlockBlob</BlobType><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
        "</Properties></Blob>"
        for name in names
        for blob in (store.blobs[(container, name)],)
    )
    body = (
        '\ufeff<?xml version="1.0" encoding="utf-8"?>'
        f'<EnumerationResults ServiceEndpoint="{escape(request.base_url)}/" ContainerName="{escape(container)}">'
        f"<Prefix>{escape(prefix)}</Prefix><Blobs>{entries}</Blobs><NextMarker /></EnumerationResults>"
    )
    return Response(200, body.encode(), {"Content-Type": "application/xml", "x-ms-version": SAS_VERSION})


def blob_handler(store: Store, key: str, method: str) -> Handler:
    """PUT (upload), GET (download, ranged) or HEAD (properties) of one blob."""

    def handle(request: Request) -> Response:
        container, name = request.group("container"), request.group("blob")
        if not _valid(key, container, request):
            return _storage_error(403, "AuthenticationFailed", _SAS_REFUSED)
        if method == "PUT":
            return _put(store, container, name, request)
        blob = store.blobs.get((container, name))
        if blob is None:
            return _storage_error(404, "BlobNotFound", "The specified blob does not exist.")
        return _download(blob, request.headers.get("x-ms-range") or request.headers.get("range"))

    return handle


def _put(store: Store, container: str, name: str, request: Request) -> Response:
    if request.headers.get("x-ms-blob-type") != "BlockBlob":
        return _storage_error(400, "MissingRequiredHeader", "x-ms-blob-type: BlockBlob is required.")
    if request.headers.get("if-none-match") == "*" and (container, name) in store.blobs:
        return _storage_error(409, "BlobAlreadyExists", "The specified blob already exists.")
    content_type = request.headers.get("x-ms-blob-content-type") or "application/octet-stream"
    store.containers.add(container)  # lenient where nothing is recorded: see the app's docstring
    blob = _store(store, container, name, request.body, content_type)
    return Response(
        201,
        b"",
        {
            "ETag": blob.etag,
            "Last-Modified": blob.modified,
            "x-ms-request-server-encrypted": "true",
            "x-ms-version": SAS_VERSION,
        },
    )


def _store(store: Store, container: str, name: str, data: bytes, content_type: str) -> Blob:
    etag = f'"0x{hashlib.sha256(data).hexdigest()[:16].upper()}"'
    blob = Blob(data, content_type, etag, email.utils.formatdate(usegmt=True))
    store.blobs[(container, name)] = blob
    return blob


def _download(blob: Blob, ranged: str | None) -> Response:
    headers = {
        "Content-Type": blob.content_type,
        "ETag": blob.etag,
        "Last-Modified": blob.modified,
        "x-ms-blob-type": "BlockBlob",
        "Accept-Ranges": "bytes",
        "x-ms-version": SAS_VERSION,
    }
    match = re.match(r"bytes=(\d+)-(\d*)", ranged or "")
    if not match or not blob.data:
        return Response(200, blob.data, headers)
    start = int(match.group(1))
    end = min(int(match.group(2) or len(blob.data) - 1), len(blob.data) - 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{len(blob.data)}"
    return Response(206, blob.data[start : end + 1], headers)


def _locate(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri).path.strip("/").split("/", 2)
    if len(parts) < 3 or parts[0] != ACCOUNT:
        raise JobError("InvalidInputData", f"'{uri.split('?')[0]}' is not a blob in the workspace's storage.")
    return parts[1], parts[2]


def read_input(store: Store, uri: str) -> bytes:
    """A job's input blob; a job whose input is missing fails."""
    blob = store.blobs.get(_locate(uri))
    if blob is None:
        raise JobError("InvalidInputData", f"The input blob '{uri.split('?')[0]}' does not exist.")
    return blob.data


def write_output(store: Store, uri: str, data: bytes) -> None:
    container, name = _locate(uri)
    _store(store, container, name, data, "application/json")


def issue_token(store: Store, request: Request, key: str, lifetime: int) -> Response:
    """Client credentials for a bearer token; the emulator's API key is the only valid client secret."""
    form = {k: v[-1] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "AADSTS70003: only client_credentials is supported.")
    if not form.get("client_id") or not form.get("scope"):
        return _oauth_error(400, "invalid_request", "AADSTS900144: the request needs client_id and scope.")
    if not hmac.compare_digest(form.get("client_secret", "").encode(), key.encode()):
        return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    token = secrets.token_urlsafe(32)
    store.tokens[token] = time.monotonic() + lifetime
    return Response(
        200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    )


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


def provider_status() -> dict[str, Any]:
    """Every emulated target, available, grouped by provider."""
    providers: dict[str, list[dict[str, Any]]] = {}
    for target, qubits in sorted(TARGETS.items()):
        providers.setdefault(provider_of(target), []).append(
            {
                "id": target,
                "currentAvailability": "Available",
                "averageQueueTime": 0,
                "numQubits": qubits,
                "statusPage": None,
            }
        )
    value = [{"id": p, "currentAvailability": "Available", "targets": t} for p, t in sorted(providers.items())]
    return {"value": value, "nextLink": None}


def quotas() -> dict[str, Any]:
    value = [
        {
            "dimension": "qgs",
            "scope": "Subscription",
            "providerId": p,
            "utilization": 0.0,
            "holds": 0.0,
            "limit": 1_000_000.0,
            "period": "Monthly",
        }
        for p in sorted({provider_of(t) for t in TARGETS})
    ]
    return {"value": value, "nextLink": None}
