"""One contract, every provider: local, and each REST client against its emulator."""

from __future__ import annotations

import time
import uuid

import pytest

from runner.domain.model import Attrs
from runner.domain.query import Query
from runner.domain.remote import Observation, RemoteRef
from runner.domain.vocabulary import CANCELLED, FAILED, SUCCEEDED, TERMINAL, Kind
from runner.errors import ProviderError
from runner.providers.base import Closes, Lists, Updates

from .conftest import NAMES
from .harness import Harness


def token() -> str:
    return uuid.uuid4().hex


def settle(harness: Harness, obs: Observation, kind: Kind, timeout: float = 60) -> Observation:
    """Observe until terminal, bounded."""
    provider = harness.provider()
    deadline = time.monotonic() + timeout
    current = obs
    while not current.terminal and time.monotonic() < deadline:
        time.sleep(0.05)
        (current,) = provider.observe([RemoteRef(kind, obs.remote_id)])
    return current


def test_create_observe_and_result(harness: Harness) -> None:
    provider = harness.provider()
    sub = harness.unit(token(), shots=200)
    created = provider.create(sub)
    assert created.remote_id
    final = settle(harness, created, sub.kind)
    assert final.status == SUCCEEDED, final
    result = provider.result(RemoteRef(sub.kind, created.remote_id))
    assert result is not None and result.shots == 200
    assert sum(result.counts[0].values()) == 200
    assert set(result.counts[0]) <= harness.expected_outcomes()


def test_observe_many_keeps_order_and_marks_unknown_ids(harness: Harness) -> None:
    provider = harness.provider()
    subs = [harness.unit(token(), shots=10) for _ in range(3)]
    made = [provider.create(s) for s in subs]
    refs = [RemoteRef(s.kind, m.remote_id) for s, m in zip(subs, made, strict=True)]
    seen = provider.observe(refs)
    assert [o.remote_id for o in seen] == [m.remote_id for m in made]


def test_failed_unit_reports_failure(harness: Harness) -> None:
    provider = harness.provider()
    sub = harness.unit(token(), fail=True)
    final = settle(harness, provider.create(sub), sub.kind)
    assert final.status == FAILED
    assert final.detail.get("error")


def test_find_by_token(harness: Harness) -> None:
    if not harness.supports_find:
        pytest.skip(f"{harness.name}: nothing outlives the process, so there is nothing to find")
    provider = harness.provider()
    sub = harness.unit(token())
    created = provider.create(sub)
    found = provider.find(sub, since=time.time() - 60)
    assert [o.remote_id for o in found] == [created.remote_id]
    assert provider.find(harness.unit(token()), since=time.time() - 60) == []


def test_cancel_a_queued_unit(harness: Harness) -> None:
    if not harness.supports_cancel:
        pytest.skip(f"{harness.name}: jobs finish inside create, so none is ever queued")
    harness.faults(queue_delay=30)
    provider = harness.provider()
    sub = harness.unit(token())
    created = provider.create(sub)
    cancelled = provider.cancel(RemoteRef(sub.kind, created.remote_id))
    final = settle(harness, cancelled, sub.kind, timeout=10)
    assert final.status == CANCELLED
    assert final.status in TERMINAL


def test_update_tags_in_place_and_read_them_back(harness: Harness) -> None:
    provider = harness.provider()
    if not isinstance(provider, Updates):
        pytest.skip(f"{harness.name}: the provider cannot change a {harness.unit(token()).kind}'s tags")
    sub = harness.unit(token(), tags=("a",))
    created = provider.create(sub)
    ref = RemoteRef(sub.kind, created.remote_id)
    provider.update(ref, Attrs(("a", "b")))
    (seen,) = provider.observe([ref])
    assert seen.detail.get("tags") == ["a", "b"]


def test_what_it_creates_its_listing_shows_and_reads_back(harness: Harness) -> None:
    provider = harness.provider()
    if not isinstance(provider, Lists):
        pytest.skip(f"{harness.name}: nothing outlives the process, so there is nothing to list")
    sub = harness.unit(token(), tags=("listed",))
    created = provider.create(sub)
    found = provider.list_remote(Query("batches" if sub.kind == "batch" else "jobs", limit=None))
    assert created.remote_id in [i.remote_id for i in found.items]
    assert found.requests >= 1
    item = provider.get_remote(RemoteRef(sub.kind, created.remote_id))
    assert item is not None and item.remote_id == created.remote_id and item.kind == sub.kind
    assert provider.get_remote(RemoteRef(sub.kind, str(uuid.uuid4()))) is None


# Azure's run takes over 10 s alone (more requests per create, each one a chance for an injected fault).
@pytest.mark.parametrize(
    "harness", [pytest.param(n, marks=pytest.mark.slow) if n == "azure" else n for n in NAMES], indirect=True
)
def test_creates_are_exactly_once_under_faults(harness: Harness) -> None:
    if not harness.supports_find:
        pytest.skip(f"{harness.name}: in-process, no request can be lost or repeated")
    harness.faults(error_rate=0.2, drop_rate=0.1, retry_after=0.01)
    provider = harness.provider()
    before = set(harness.remote_units())
    made = set()
    for _ in range(20):
        sub = harness.unit(token(), shots=5)
        for _attempt in range(20):
            try:
                # what reconciliation does after an ambiguous failure: look for the token first
                found = provider.find(sub, since=time.time() - 60) if _attempt else []
                made.add(found[0].remote_id if found else provider.create(sub).remote_id)
                break
            except ProviderError:
                continue
    harness.faults(error_rate=0, drop_rate=0)
    after = set(harness.remote_units()) - before
    assert len(made) == 20
    assert after == made


def test_close_a_session_or_batch_and_read_it_back(harness: Harness) -> None:
    from runner.applying.maintain import closed

    provider = harness.provider()
    sub = harness.container(token())
    if sub is None or not isinstance(provider, Closes):
        pytest.skip(f"{harness.name}: no session or batch to close")
    made = provider.create(sub)
    ref = RemoteRef(sub.kind, made.remote_id)
    (before,) = provider.observe([ref])
    assert not closed(before)  # open until closed
    provider.close(ref)
    (seen,) = provider.observe([ref])
    assert closed(seen), seen  # read back: the service shows it closed
