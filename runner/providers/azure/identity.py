"""Credentials people already have: Microsoft Entra tokens from azure-identity (`credentials: {azure_identity: ...}`).

`default` is azure-identity's DefaultAzureCredential, which tries in turn the environment
(AZURE_CLIENT_ID with a secret or certificate), workload identity federation (AZURE_FEDERATED_TOKEN_FILE:
Kubernetes; GitHub Actions after `azure/login` with OIDC signs the Azure CLI in, which comes next),
managed identity, and the Azure CLI (`az login`). The other names pick one of those alone. No
secret is named in the manifest at all. The package is the `azure-identity` extra, imported only
when such a target is used.

A token is asked for once and reused until shortly before it expires (the CLI credential starts
`az` on every call). It goes in the Authorization header of workspace calls only, and only over
https, as azure-core itself refuses to send a bearer token over plain http; it never appears in a
message, the state or a plan.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from runner.errors import AuthError

CREDENTIALS = {
    "default": "DefaultAzureCredential",
    "cli": "AzureCliCredential",
    "environment": "EnvironmentCredential",
    "managed_identity": "ManagedIdentityCredential",
    "workload_identity": "WorkloadIdentityCredential",
}
REFRESH_MARGIN_S = 300.0


@runtime_checkable
class _Closes(Protocol):
    def close(self) -> None: ...


def credential(kind: str, where: str) -> Any:
    """The azure-identity credential named `kind` (a TokenCredential); an AuthError when it cannot be made."""
    if kind not in CREDENTIALS:
        raise AuthError(f"{where}: azure_identity is one of {', '.join(CREDENTIALS)} (got '{kind}')")
    try:
        import azure.identity

        # it logs each failed attempt as a warning, which Python's last-resort handler would print on stderr:
        # the one-line error below says it all
        logging.getLogger("azure.identity").addHandler(logging.NullHandler())
    except ImportError:
        raise AuthError(
            f"{where}: credentials azure_identity need the azure-identity package: pip install 'runner[azure-identity]'"
        ) from None
    try:
        return getattr(azure.identity, CREDENTIALS[kind])()
    except Exception as exc:  # e.g. WorkloadIdentityCredential without its environment variables
        raise AuthError(f"{where}: azure-identity {CREDENTIALS[kind]} cannot start: {_first_line(exc)}") from None


def https_only(base_url: str, where: str) -> None:
    if not base_url.lower().startswith("https://"):
        raise AuthError(
            f"{where}: azure_identity sends a Microsoft Entra bearer token, which goes over https only (azure-core "
            f"refuses plain http too); the endpoint is {base_url}"
        )


class IdentityTokens:
    """Bearer tokens from an azure-identity credential, asked for once and reused until shortly before expiry."""

    def __init__(
        self, credential: Any, scope: str, where: str, source: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.credential, self.scope, self.where, self.source, self.clock = credential, scope, where, source, clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def header(self) -> dict[str, str]:
        """The Authorization header, asking the credential when there is no token or it is about to expire."""
        with self._lock:  # one request to the credential at a time; the other threads reuse its token
            if self._token is None or self.clock() >= self._renew_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def _fetch(self) -> None:
        from runner.providers.azure.auth import TokenRefusedError

        try:
            granted = self.credential.get_token(self.scope)
        except Exception as exc:  # azure-identity raises ClientAuthenticationError and CredentialUnavailableError
            raise TokenRefusedError(f"{self.where}: {self.source} gave no token: {_first_line(exc)}") from None
        now = self.clock()
        lifetime = max(0.0, float(granted.expires_on) - now)
        self._token = str(granted.token)
        self._renew_at = now + lifetime - min(REFRESH_MARGIN_S, lifetime / 10)
        self.fetches += 1

    def close(self) -> None:
        if isinstance(self.credential, _Closes):
            self.credential.close()


def _first_line(exc: BaseException) -> str:
    """One line from azure-identity's message: DefaultAzureCredential's lists every credential it tried, one per
    tab-indented line; each is kept as `Name: its first sentence`."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    tried = [line.strip().split(". ", 1)[0].rstrip(".") for line in lines[1:] if line.startswith("\t")]
    text = lines[0].strip().rstrip(".") + (f" (tried: {'; '.join(tried)})" if tried else "")
    return text if len(text) <= 1000 else text[:997] + "..."
