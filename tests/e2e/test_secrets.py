"""A credential's value never reaches any output, the state, a plan or a report: through every credential kind
of every provider, on the path that works and on every error path (refused by the service, malformed when
read, unreadable file, service unreachable). The bugs: a key with a newline was printed inside httpx's
"Illegal header value" message, a non-ASCII key ended apply as "interrupted", a non-UTF-8 file a traceback."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import EXAMPLES, Ran

from runner import emulators
from runner.emulators.azure.app import KEY_ENV
from runner.emulators.server import EmulatorServer

pytestmark = pytest.mark.slow  # 12 credential kinds x 5 paths x every command: ~70 s
Cli = Callable[..., Ran]
SECRET = "XyZzy-s3cr3t-7781"  # recognisable anywhere: in text, in JSON, in SQLite pages
WORKSPACE = (
    "workspace: {subscription_id: 00000000-0000-0000-0000-000000000001, resource_group: rg, name: ws, location: eastus}"
)
CONNECTION = (
    "SubscriptionId=00000000-0000-0000-0000-000000000001;ResourceGroupName=rg;WorkspaceName=ws;"
    "ApiKey={secret};QuantumEndpoint=https://eastus.quantum.azure.com/;"
)


@dataclass(frozen=True)
class Kind:
    """One way a manifest names a credential: how the target refers to it, and where its value goes."""

    provider: str
    credentials: str  # the target's `credentials:` mapping, YAML
    env: tuple[tuple[str, str], ...] = ()  # variable -> value template ({secret})
    files: tuple[tuple[str, str], ...] = ()  # file name -> content template
    extra: str = ""  # more target settings

    @property
    def id(self) -> str:
        return f"{self.provider}-{'+'.join(k for k, _ in self.env) or '+'.join(f for f, _ in self.files)}"


KINDS = [
    Kind("azure", "{api_key_env: AZ_KEY}", env=(("AZ_KEY", "{secret}"),), extra=WORKSPACE),
    Kind("azure", "{api_key_file: az.key}", files=(("az.key", "{secret}"),), extra=WORKSPACE),
    Kind("azure", "{connection_string_env: AZ_CONN}", env=(("AZ_CONN", CONNECTION),)),
    Kind("azure", "{connection_string_file: az.conn}", files=(("az.conn", CONNECTION),)),
    Kind(
        "azure",
        "{client_id_env: AZ_ID, client_secret_env: AZ_SECRET, tenant_id_env: AZ_TENANT}",
        env=(("AZ_ID", "client-1"), ("AZ_SECRET", "{secret}"), ("AZ_TENANT", "tenant-1")),
        extra=WORKSPACE + ", token_endpoint: '{url}/{tenant}/oauth2/v2.0/token'",
    ),
    Kind(
        "azure",
        "{client_id_env: AZ_ID, client_secret_file: az.secret, tenant_id_env: AZ_TENANT}",
        env=(("AZ_ID", "client-1"), ("AZ_TENANT", "tenant-1")),
        files=(("az.secret", "{secret}"),),
        extra=WORKSPACE + ", token_endpoint: '{url}/{tenant}/oauth2/v2.0/token'",
    ),
    Kind("superstaq", "{api_key_env: SS_KEY}", env=(("SS_KEY", "{secret}"),)),
    Kind("superstaq", "{api_key_file: ss.key}", files=(("ss.key", "{secret}"),)),
    Kind("pasqal", "{token_env: PQ_TOKEN}", env=(("PQ_TOKEN", "{secret}"),), extra="project_id: p-1"),
    Kind("pasqal", "{token_file: pq.token}", files=(("pq.token", "{secret}"),), extra="project_id: p-1"),
    Kind(
        "pasqal",
        "{username_env: PQ_USER, password_env: PQ_PASSWORD}",
        env=(("PQ_USER", "someone@example.org"), ("PQ_PASSWORD", "{secret}")),
        extra="project_id: p-1, account_endpoint: '{url}/account', token_endpoint: '{url}/oauth/token'",
    ),
    Kind(
        "pasqal",
        "{username_env: PQ_USER, password_file: pq.password}",
        env=(("PQ_USER", "someone@example.org"),),
        files=(("pq.password", "{secret}"),),
        extra="project_id: p-1, account_endpoint: '{url}/account', token_endpoint: '{url}/oauth/token'",
    ),
]
TARGETS = {"azure": "ionq.simulator", "superstaq": "ss_unconstrained_simulator", "pasqal": "EMU_FREE"}
# how the value is spoilt: what the service refuses, what reading refuses, what cannot be read at all
SPOILT = {
    "refused": lambda s: s + "-not-the-key",
    "newline": lambda s: s + "\nX-Injected: 1",
    "control": lambda s: s + "\x07X",
    "non-ascii": lambda s: s + "-é",
}


@pytest.fixture
def servers() -> Iterator[Callable[[str], EmulatorServer]]:
    started: dict[str, EmulatorServer] = {}
    os.environ[KEY_ENV] = SECRET  # the Azure emulator takes the secret as its key (and as its client secret)

    def start(provider: str) -> EmulatorServer:
        if provider not in started:
            started[provider] = EmulatorServer(_emulator(provider), 0).start()
        return started[provider]

    try:
        yield start
    finally:
        os.environ.pop(KEY_ENV, None)
        for server in started.values():
            server.stop()


def _emulator(provider: str) -> emulators.Emulator:
    """Each emulator accepting exactly the secret (as key, client secret, token or password)."""
    from runner.emulators.pasqal.app import PasqalEmulator
    from runner.emulators.superstaq.app import SuperstaqEmulator

    if provider == "superstaq":
        return SuperstaqEmulator(api_key=SECRET)
    if provider == "pasqal":
        return PasqalEmulator(users={"someone@example.org": SECRET}, tokens={SECRET})
    return emulators.make(provider)


def project(folder: Path, kind: Kind, url: str, value: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "circuits", folder / "circuits", dirs_exist_ok=True)
    shutil.copy(EXAMPLES / "pasqal" / "sequences" / "one_atom.json", folder / "one_atom.json")
    for name, template in kind.env:
        monkeypatch.setenv(name, template.format(secret=value))
    for name, template in kind.files:
        (folder / name).write_text(template.format(secret=value), encoding="utf-8", errors="surrogateescape")
    endpoint = f"{url}/core" if kind.provider == "pasqal" else url
    settings = f"provider: {kind.provider}, target: {TARGETS[kind.provider]}, endpoint: '{endpoint}'"
    if kind.extra:
        settings += ", " + kind.extra.replace("{url}", url)
    if kind.provider == "pasqal":
        job = "[{runs: 10, variables: {omega: 1.0}}]"
        work = f"batches:\n  b:\n    target: t\n    sequence: one_atom.json\n    jobs: {job}\n"
    else:
        work = "jobs:\n  j: {target: t, program: circuits/bell.qasm, shots: 10}\n"
    m = folder / "m.yaml"
    m.write_text(
        f"version: 1\nproject: secrets\ntargets:\n  t: {{{settings}, credentials: {kind.credentials}}}\n{work}"
    )
    return m


def every_output(cli: Cli, folder: Path, m: Path) -> list[str]:
    """What a user and a CI log see from every command, plus the files runner writes."""
    seen = []
    for args in (
        ("validate", str(m)),
        ("plan", str(m)),
        ("plan", str(m), "--json", "--out", str(folder / "plan.json")),
        ("apply", str(m), "--yes"),
        ("status", "-m", str(m), "--json"),
        ("refresh", "-m", str(m), "--json"),
        ("wait", "-m", str(m), "--timeout", "30"),
        ("show", "job.j" if "jobs:" in m.read_text() else "batch.b", "-m", str(m), "--json"),
        ("results", "-m", str(m), "--json"),
        ("history", "-m", str(m), "--json"),
        ("report", "-m", str(m), "--out", str(folder / "report.html")),
        ("--debug", "apply", str(m), "--yes"),
    ):
        ran = cli(*args)
        seen += [ran.out, ran.err]
    for written in (folder / "plan.json", folder / "report.html", *(folder / ".runner").glob("state.db*")):
        if written.exists():
            seen.append(written.read_bytes().decode("latin-1"))
    return seen


def assert_secret_absent(outputs: list[str], secret: str) -> None:
    for text in outputs:
        for needle in (secret, secret.split("\n")[0], SECRET):
            assert needle not in text, text[max(0, text.find(needle) - 300) : text.find(needle) + 100]


@pytest.mark.parametrize("kind", KINDS, ids=[k.id for k in KINDS])
def test_the_secret_stays_out_of_everything_when_it_works(
    kind: Kind, servers: Callable[[str], EmulatorServer], tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = project(tmp_path, kind, servers(kind.provider).url, SECRET, monkeypatch)
    assert cli("apply", str(m), "--yes").code == 0  # the credential really works
    assert_secret_absent(every_output(cli, tmp_path, m), SECRET)


@pytest.mark.parametrize("spoil", sorted(SPOILT))
@pytest.mark.parametrize("kind", KINDS, ids=[k.id for k in KINDS])
def test_the_secret_stays_out_of_every_error(
    kind: Kind,
    spoil: str,
    servers: Callable[[str], EmulatorServer],
    tmp_path: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if spoil == "newline" and kind.files:
        pytest.skip("a secret file's first line is its secret: a newline ends the value, it does not corrupt it")
    value = SPOILT[spoil](SECRET)
    m = project(tmp_path, kind, servers(kind.provider).url, value, monkeypatch)
    applied = cli("apply", str(m), "--yes")
    assert applied.code == 1, applied.out + applied.err
    assert "Traceback" not in applied.err and "internal error" not in applied.err
    assert_secret_absent(every_output(cli, tmp_path, m), value)


@pytest.mark.parametrize("kind", [k for k in KINDS if k.files], ids=[k.id for k in KINDS if k.files])
def test_an_unreadable_or_non_utf8_secret_file_is_one_line(
    kind: Kind, servers: Callable[[str], EmulatorServer], tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = project(tmp_path, kind, servers(kind.provider).url, SECRET, monkeypatch)
    name = kind.files[0][0]
    (tmp_path / name).write_bytes(SECRET.encode() + b"\xff\xfe")
    ran = cli("apply", str(m), "--yes")
    assert ran.code == 1 and "Traceback" not in ran.err
    assert name in ran.out + ran.err  # names the file, never its contents
    assert_secret_absent([ran.out, ran.err], SECRET)


def test_an_unreachable_service_says_so_without_the_secret(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for kind in KINDS:
        folder = tmp_path / kind.id
        folder.mkdir()
        m = project(folder, kind, f"http://127.0.0.1:{port}", SECRET, monkeypatch)
        ran = cli("apply", str(m), "--yes")
        assert ran.code == 1, (kind.id, ran.out, ran.err)
        assert "not reachable" in ran.out + ran.err, (kind.id, ran.out, ran.err)
        assert_secret_absent([ran.out, ran.err], SECRET)
