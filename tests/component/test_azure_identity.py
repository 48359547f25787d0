"""`credentials: {azure_identity: ...}`: Microsoft Entra tokens from azure-identity, sent over https only, and never
written anywhere: not in an output, the state or a plan.

The Azure emulator is served here over TLS on 127.0.0.1 with a self-signed certificate made for the test
(httpx trusts it through SSL_CERT_FILE), and a fake TokenCredential stands in for az login or a managed
identity: the one thing azure-identity would do that a test cannot is reach Microsoft Entra.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from conftest import BELL, ROTATION, Ran, write

from runner import emulators
from runner.emulators.server import EmulatorServer
from runner.errors import AuthError
from runner.providers.azure import identity

TOKEN = "entra-token-7f3a9c1e5b2d4f6081a3c5e7f9b1d3e5"
SCOPE = "https://quantum.microsoft.com/.default"
Cli = Callable[..., Ran]


class FakeCredential:
    """A TokenCredential: what DefaultAzureCredential is to runner, minus Microsoft Entra."""

    def __init__(self, token: str = TOKEN, lifetime: float = 3600.0) -> None:
        self.token, self.lifetime = token, lifetime
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time() + self.lifetime))

    def close(self) -> None:
        self.closed = True


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made now (cryptography comes with azure-identity)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TlsServer(EmulatorServer):
    """The Azure emulator behind TLS: what azure_identity needs, since a bearer token never goes over http."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(emulators.make("azure", None, 3))
        self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsServer]:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx (trust_env) verifies the server against it
    started = TlsServer(context)
    started.start()
    yield started
    started.stop()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCredential:
    made = FakeCredential()
    asked: list[str] = []

    def credential(kind: str, where: str) -> FakeCredential:
        asked.append(kind)
        return made

    monkeypatch.setattr(identity, "credential", credential)
    made.asked = asked  # type: ignore[attr-defined]
    return made


MANIFEST = """version: 1
project: identity
targets:
  ionq:
    provider: azure
    target: ionq.simulator
    endpoint: ENDPOINT
    workspace: {subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}
    credentials: {azure_identity: KIND}
jobs:
  bell: {target: ionq, program: bell.qasm, shots: 100}
  rotation:
    target: ionq
    program: rotation.qasm
    shots: 100
    matrix: {theta: [0.0, 3.1416]}
"""


def project(tmp_path: Path, endpoint: str, kind: str = "default") -> str:
    write(tmp_path, "p/bell.qasm", BELL)
    write(tmp_path, "p/rotation.qasm", ROTATION)
    write(tmp_path, "p/m.yaml", MANIFEST.replace("ENDPOINT", endpoint).replace("KIND", kind))
    return "p/m.yaml"


def test_a_token_from_azure_identity_runs_jobs_and_is_written_nowhere(
    tmp_path: Path, cli: Cli, server: TlsServer, fake: FakeCredential
) -> None:
    server.emulator.store.tokens[TOKEN] = time.monotonic() + 3600  # type: ignore[attr-defined]
    m = project(tmp_path, server.url)
    outputs = [cli("validate", m), cli("plan", m, "--json"), cli("plan", m, "--out", "plan.json")]
    applied = cli("apply", m, "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 3 created" in applied.out
    waited = cli("wait", "-m", m, "--timeout", "60")
    assert waited.code == 0, waited.out + waited.err
    counts = {r["address"]: r["counts"] for r in json.loads(cli("results", "-m", m, "--json").out)}
    assert set(counts["job.bell"]) <= {"00", "11"} and counts["job.rotation[theta=3.1416]"] == {"1": 100}
    outputs += [applied, waited, cli("status", "-m", m, "--json"), cli("show", "job.bell", "-m", m, "--json")]
    outputs += [cli("history", "-m", m, "--json"), cli("plan", m, "--json"), cli("refresh", "-m", m)]
    assert all(o.code == 0 for o in outputs), [o.err for o in outputs if o.code]

    # every command that talked to the workspace asked azure-identity once, for the Azure Quantum scope
    assert fake.asked and set(fake.asked) == {"default"}  # type: ignore[attr-defined]
    assert fake.scopes and set(fake.scopes) == {(SCOPE,)}
    assert len(fake.scopes) == len(fake.asked)  # type: ignore[attr-defined]  # one token per run, however many calls
    written = [o.out + o.err for o in outputs] + [
        p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()
    ]
    assert not [w for w in written if TOKEN in w]
    assert (tmp_path / "p" / ".runner" / "state.db").is_file() and (tmp_path / "plan.json").is_file()


def test_a_token_the_service_refuses_fails_in_one_line(
    tmp_path: Path, cli: Cli, server: TlsServer, fake: FakeCredential
) -> None:
    m = project(tmp_path, server.url)  # the emulator never issued this token
    applied = cli("apply", m, "--yes")
    assert applied.code == 1
    failures = sorted(line for line in applied.out.splitlines() if "create failed" in line)
    assert failures == [
        f"  ! {a}: create failed: targets.ionq: Azure Quantum refused the credentials from azure-identity "
        "DefaultAzureCredential (401: Unauthorized (invalid_token))"
        for a in ("job.bell", "job.rotation[theta=0.0]", "job.rotation[theta=3.1416]")
    ]
    assert TOKEN not in applied.out + applied.err


def test_a_bearer_token_never_goes_over_http(tmp_path: Path, cli: Cli, fake: FakeCredential) -> None:
    m = project(tmp_path, "http://127.0.0.1:9")
    applied = cli("apply", m, "--yes")
    assert applied.code == 1
    assert (
        "targets.ionq: azure_identity sends a Microsoft Entra bearer token, which goes over https only (azure-core "
        "refuses plain http too); the endpoint is http://127.0.0.1:9"
    ) in applied.out + applied.err
    assert fake.scopes == [] and fake.asked == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "cli",
            "azure-identity AzureCliCredential gave no token: Azure CLI not found on path",
        ),
        (
            "environment",
            "azure-identity EnvironmentCredential gave no token: EnvironmentCredential authentication unavailable",
        ),
    ],
)
def test_the_real_library_without_a_signed_in_identity_says_so_in_one_line(
    tmp_path: Path, cli: Cli, server: TlsServer, monkeypatch: pytest.MonkeyPatch, kind: str, expected: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-az"))  # whatever this machine has, no `az` is found
    m = project(tmp_path, server.url, kind)
    applied = cli("apply", m, "--yes")
    assert applied.code == 1
    lines = [line for line in (applied.out + applied.err).splitlines() if "gave no token" in line]
    assert len(lines) >= 1 and all(expected in line for line in lines), applied.out + applied.err
    assert "Traceback" not in applied.err and "Attempted credentials" not in applied.err


def test_without_the_package_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    with pytest.raises(AuthError) as caught:
        identity.credential("default", "targets.ionq")
    assert caught.value.message == (
        "targets.ionq: credentials azure_identity need the azure-identity package: pip install 'runner[azure-identity]'"
    )


def test_a_token_is_reused_until_shortly_before_it_expires() -> None:
    now = [1_000_000.0]
    made = FakeCredential(lifetime=0)  # expires_on is read from the token; the clock below decides
    tokens = identity.IdentityTokens(made, SCOPE, "targets.t", "azure-identity Fake", clock=lambda: now[0])
    made.lifetime = now[0] + 3600 - time.time()  # a token that expires an hour after the fake clock's now
    assert tokens.header() == {"Authorization": f"Bearer {TOKEN}"}
    now[0] += 3000  # within the hour, before the 5-minute margin
    tokens.header()
    assert len(made.scopes) == 1
    now[0] += 301  # inside the margin: ask again
    tokens.header()
    assert len(made.scopes) == 2
    tokens.close()
    assert made.closed
