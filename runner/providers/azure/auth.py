"""Where an Azure Quantum target lives and how requests to it prove who sends them.

Four credential kinds: a workspace API key (header `x-ms-quantum-api-key`), a connection
string (which carries the workspace, the key and the endpoint), Microsoft Entra client
credentials exchanged for a bearer token that is cached until shortly before it expires, or
a credential azure-identity finds (runner.providers.azure.identity: az login, a managed
identity, workload identity federation).
Secrets come only from environment variables or files (runner.providers.credentials) and never
appear in a message.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from runner.domain.model import Target
from runner.errors import AuthError, RejectedError
from runner.providers import credentials as creds
from runner.providers.azure import identity
from runner.providers.azure.wire import answer, describe
from runner.providers.http import HttpClient

DEFAULT_SCOPE = "https://quantum.microsoft.com/.default"
DEFAULT_TOKEN_ENDPOINT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
CONNECTION_KEYS = ("SubscriptionId", "ResourceGroupName", "WorkspaceName", "ApiKey", "QuantumEndpoint")
_ENDPOINT = re.compile(r"^https://(?P<location>[a-z0-9]+)(-v2)?\.quantum(-test)?\.azure\.com/?$")
REFRESH_MARGIN_S = 300.0


@dataclass(frozen=True)
class Workspace:
    """The four names that locate a workspace."""

    subscription_id: str
    resource_group: str
    name: str
    location: str

    @property
    def prefix(self) -> str:
        """The path every data-plane call starts with."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Quantum/workspaces/{self.name}"
        )


def parse_connection_string(text: str, where: str) -> dict[str, str]:
    """`Key=Value;` pairs; `where` names the source in errors (the text itself holds a key)."""
    pairs: dict[str, str] = {}
    for part in text.strip().split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise AuthError(f"{where}: the connection string is not a list of Key=Value; pairs")
        pairs[key.strip()] = value.strip()
    missing = [k for k in CONNECTION_KEYS if not pairs.get(k)]
    if missing:
        raise AuthError(f"{where}: the connection string lacks {', '.join(missing)}")
    return pairs


def _source(credentials: Mapping[str, Any], name: str) -> str:
    """How to name where a credential comes from, for messages."""
    if f"{name}_env" in credentials:
        return f"environment variable {credentials[f'{name}_env']}"
    return f"file {credentials.get(f'{name}_file')}"


class Tokens(Protocol):
    """Where bearer tokens come from (closed with the connection)."""

    source: str
    fetches: int  # tokens obtained so far: each one a request to the token endpoint or a credential

    def close(self) -> None: ...


@dataclass
class Connection:
    """Resolved settings: workspace, base URL and the auth headers to send."""

    workspace: Workspace
    base_url: str
    source: str  # where the credential came from, for messages
    headers: Callable[[], Mapping[str, str]]
    tokens: Tokens | None = None


def connect(
    target: Target,
    env: Mapping[str, str],
    base_dir: str,
    *,
    transport: Any = None,
    clock: Callable[[], float] = time.monotonic,
) -> Connection:
    """Read credentials and settings for a target (no request is sent yet)."""
    config = target.config
    cred: Mapping[str, Any] = config.get("credentials") or {}
    where = f"targets.{target.name}"
    api_key = creds.secret(target.name, cred, env, base_dir, "api_key")
    conn_text = None if api_key else creds.secret(target.name, cred, env, base_dir, "connection_string")
    pairs = parse_connection_string(conn_text, f"{where}: {_source(cred, 'connection_string')}") if conn_text else {}
    workspace = _workspace(target, pairs)
    base_url = str(
        config.get("endpoint") or pairs.get("QuantumEndpoint") or f"https://{workspace.location}.quantum.azure.com"
    ).rstrip("/")
    key = api_key or pairs.get("ApiKey")
    if key:
        kind = "api_key" if api_key else "connection_string"
        return Connection(workspace, base_url, _source(cred, kind), lambda: {"x-ms-quantum-api-key": key})
    if "azure_identity" in cred:
        identity.https_only(base_url, where)
        kind = str(cred["azure_identity"])
        scope = str(config.get("token_scope") or DEFAULT_SCOPE)
        made = identity.credential(kind, where)
        found = identity.IdentityTokens(made, scope, where, f"azure-identity {identity.CREDENTIALS[kind]}")
        return Connection(workspace, base_url, found.source, found.header, found)
    if "client_id_env" in cred:
        tokens = _token_source(target, env, base_dir, transport, clock)
        return Connection(workspace, base_url, tokens.source, tokens.header, tokens)
    raise AuthError(
        f"{where}: credentials need api_key_env, api_key_file, connection_string_env, "
        "connection_string_file, client_id_env with client_secret_env/client_secret_file "
        "and tenant_id_env, or azure_identity"
    )


def _workspace(target: Target, pairs: Mapping[str, str]) -> Workspace:
    block = target.config.get("workspace")
    if block:
        return Workspace(
            str(block["subscription_id"]), str(block["resource_group"]), str(block["name"]), str(block["location"])
        )
    if pairs:
        match = _ENDPOINT.match(pairs["QuantumEndpoint"])
        location = match.group("location") if match else ""
        return Workspace(pairs["SubscriptionId"], pairs["ResourceGroupName"], pairs["WorkspaceName"], location)
    raise RejectedError(
        f"targets.{target.name}: azure targets need a workspace block "
        "(subscription_id, resource_group, name, location) unless credentials give a connection string"
    )


def _token_source(
    target: Target, env: Mapping[str, str], base_dir: str, transport: Any, clock: Callable[[], float]
) -> TokenSource:
    cred: Mapping[str, Any] = target.config.get("credentials") or {}
    client_id = creds.required(target.name, cred, env, base_dir, "client_id")
    secret = creds.required(target.name, cred, env, base_dir, "client_secret")
    tenant = creds.required(target.name, cred, env, base_dir, "tenant_id")
    url = str(target.config.get("token_endpoint") or DEFAULT_TOKEN_ENDPOINT).replace("{tenant}", tenant)
    scope = str(target.config.get("token_scope") or DEFAULT_SCOPE)
    http = HttpClient(url, provider=f"targets.{target.name}: token endpoint", transport=transport, describe=describe)
    source = f"client credentials ({_source(cred, 'client_id')}, {_source(cred, 'client_secret')})"
    return TokenSource(
        http,
        url,
        {"client_id": client_id, "client_secret": secret, "scope": scope},
        f"targets.{target.name}",
        source,
        clock,
    )


class TokenRefusedError(AuthError):
    """The token endpoint said no; already names the target and the credential source."""


class TokenSource:
    """Client-credentials bearer tokens, fetched once and reused until shortly before they expire."""

    def __init__(
        self, http: HttpClient, url: str, form: Mapping[str, str], where: str, source: str, clock: Callable[[], float]
    ) -> None:
        self.http, self.url, self.where, self.source, self.clock = http, url, where, source, clock
        self._form = {"grant_type": "client_credentials", **form}
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def header(self) -> dict[str, str]:
        """The Authorization header, fetching a token when there is none or it is about to expire."""
        with self._lock:  # one fetch at a time; the other threads then reuse its token
            if self._token is None or self.clock() >= self._renew_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def _fetch(self) -> None:
        body = urlencode(self._form).encode()
        try:
            response = self.http.request(
                "POST",
                self.url,
                content=body,
                safe=True,
                auth=False,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except AuthError as exc:
            raise TokenRefusedError(
                f"{self.where}: the token endpoint refused the {self.source}: {answer(exc.message)}"
            ) from None
        granted = response.json()
        lifetime = float(granted.get("expires_in") or 3600)
        self._token = str(granted["access_token"])
        self._renew_at = self.clock() + lifetime - min(REFRESH_MARGIN_S, lifetime / 10)
        self.fetches += 1

    def close(self) -> None:
        self.http.close()
