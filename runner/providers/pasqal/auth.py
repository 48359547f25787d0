"""Bearer tokens for Pasqal Cloud: a static token, or the OAuth2 password grant the official SDK uses.

The password grant posts a form (not JSON) to the token endpoint with Pasqal's public client id,
realm and audience; the answer's `expires_in` (or the JWT's `exp` claim) decides how long the token
is reused, refreshed 60 s before it expires. Secrets stay inside these objects: every message names
the environment variable or file a secret came from, never the secret.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from runner.errors import AuthError, RejectedError
from runner.providers import credentials

if TYPE_CHECKING:
    from runner.domain.model import Target
    from runner.providers.base import Context
    from runner.providers.http import HttpClient

TOKEN_ENDPOINT = "https://pasqal.eu.auth0.com/oauth/token"
# The public values the official SDK sends for the FR (Auth0) tenant; none of them is a secret.
PASSWORD_GRANT = {
    "client_id": "PeZvo7Atx7IVv3iel59asJSb4Ig7vuSB",
    "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
    "realm": "pcs-users",
    "audience": "https://apis.pasqal.cloud/account/api/v1",
}
REFRESH_MARGIN_S = 60.0


class TokenRefused(AuthError):
    """The token endpoint refused the credentials; the message already says what to check."""


class TokenSource:
    """Anything that yields the current bearer token."""

    hint = ""  # what to check when the API answers 401, in words safe to print
    refreshable = False  # whether asking again can give a different token

    def token(self) -> str:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget a cached token (after a 401)."""


class StaticToken(TokenSource):
    """A token given by the user; it is never refreshed."""

    def __init__(self, value: str, hint: str) -> None:
        self._value = value
        self.hint = hint

    def token(self) -> str:
        return self._value


class PasswordGrant(TokenSource):
    """Fetches a token with username and password, caches it until shortly before it expires."""

    refreshable = True

    def __init__(
        self,
        http: HttpClient,
        endpoint: str,
        username: str,
        password: str,
        hint: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http, self.endpoint, self.hint, self.clock = http, endpoint, hint, clock
        self._form = {**PASSWORD_GRANT, "username": username, "password": password}
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._refresh_at:
                self._token, expires_at = self._fetch()
                self._refresh_at = expires_at - REFRESH_MARGIN_S
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = self.http.request(
                "POST", self.endpoint, content=urlencode(self._form).encode(), headers=headers, safe=True, auth=False
            )
        except (RejectedError, AuthError) as exc:  # OAuth servers answer bad credentials with 400, 401 or 403
            raise TokenRefused(f"{exc.message} ({self.hint})") from None
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenRefused(f"{self.http.provider}: the token endpoint answered without an access_token")
        return token, self._expiry(body, token)

    def _expiry(self, body: Mapping[str, Any], token: str) -> float:
        expires_in = body.get("expires_in")
        if isinstance(expires_in, (int, float)):
            return self.clock() + float(expires_in)
        exp = jwt_expiry(token)
        # without any expiry the token is treated as already stale, as the SDK does
        return exp if exp is not None else self.clock()


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without checking its signature (only to schedule a refresh)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) else None


def token_source(target: Target, context: Context, http: HttpClient, clock: Callable[[], float]) -> TokenSource:
    """The token source a target's credentials describe; a 401 message will name them (never their values)."""
    creds: Mapping[str, Any] = target.config.get("credentials", {})
    hint = "check " + ", ".join(f"credentials.{k} ({v})" for k, v in sorted(creds.items()))
    if "token_env" in creds or "token_file" in creds:
        return StaticToken(credentials.required(target.name, creds, context.env, context.base_dir, "token"), hint)
    if "username_env" in creds:
        username = credentials.required(target.name, creds, context.env, context.base_dir, "username")
        password = credentials.required(target.name, creds, context.env, context.base_dir, "password")
        endpoint = str(target.config.get("token_endpoint", TOKEN_ENDPOINT))
        return PasswordGrant(http, endpoint, username, password, hint, clock)
    raise AuthError(
        f"targets.{target.name}: credentials need token_env, token_file, or username_env "
        "with password_env or password_file"
    )
