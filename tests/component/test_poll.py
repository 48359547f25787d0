"""refresh, wait and cancel over a scripted provider: requests, statuses, bounds."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import fake_provider
import pytest

from runner import providers
from runner.domain.events import Event, Notice, StatusChanged
from runner.domain.model import Attrs, Target
from runner.domain.remote import Observation, RemoteRef, Result
from runner.domain.resources import Desired
from runner.domain.vocabulary import Status
from runner.errors import RunnerError, TransientError
from runner.operate.poll import Backoff, Poller, cancel, wait
from runner.providers import http
from runner.providers.pool import ProviderPool
from runner.state import Store, open_store


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(providers.REGISTRY, "fake", "fake_provider")
    fake_provider.SCRIPT.clear()
    fake_provider.CALLS.clear()
    yield


def seed_state(path: Path, statuses: dict[str, Status], protect: Collection[str] = frozenset()) -> Store:
    st = open_store(str(path), create=True)
    with st.transaction() as txn:
        txn.save_targets({"t": Target("t", "fake", "fake", {}, {})}, str(path.parent))
        for i, (addr, status) in enumerate(sorted(statuses.items())):
            d = Desired(addr, "job", addr, "t", "fake", None, {"i": i}, Attrs(), f"{i:064d}", protect=addr in protect)
            intent = txn.start(d, 1, f"tok{i}", None)
            txn.succeed(addr, 1, Observation(f"r{i}", status), intent)
    return st


def collect() -> tuple[list[Event], Callable[[Event], None]]:
    events: list[Event] = []
    return events, events.append


def test_refresh_of_finished_jobs_makes_no_request(tmp_path: Path) -> None:
    st = seed_state(tmp_path / "s.db", {f"job.j{i}": "succeeded" for i in range(10_000)})
    _events, emit = collect()
    with st.transaction() as txn:  # results already fetched: nothing left to ask for
        for i in range(10_000):
            txn.record_result(f"job.j{i}", 1, fake_provider.FakeProvider().result(None))  # type: ignore[arg-type]
    fake_provider.CALLS.clear()
    cycle = Poller(st, ProviderPool(st.targets(), {}), emit=emit).cycle()
    assert (cycle.observed, cycle.requests, fake_provider.CALLS) == (0, 0, [])


def test_cycle_records_changes_and_fetches_results(tmp_path: Path) -> None:
    st = seed_state(tmp_path / "s.db", {"job.a": "pending", "job.b": "running"})
    fake_provider.SCRIPT.update({"r0": ["running"], "r1": ["succeeded"]})
    events, emit = collect()
    cycle = Poller(st, ProviderPool(st.targets(), {}), emit=emit).cycle()
    assert (cycle.changed, cycle.pending) == (["job.a", "job.b"], ["job.a"])
    assert fake_provider.CALLS == ["observe", "result"]  # one observe call for both jobs
    assert [(e.address, e.before, e.after) for e in events if isinstance(e, StatusChanged)] == [
        ("job.a", "pending", "running"),
        ("job.b", "running", "succeeded"),
    ]
    assert st.results("job.b")[0]["counts"] == [{"0": 7}]


def test_wait_backs_off_and_is_bounded(tmp_path: Path) -> None:
    st = seed_state(tmp_path / "s.db", {"job.a": "pending"})
    fake_provider.SCRIPT["r0"] = ["pending"]
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    _events, emit = collect()
    with pytest.raises(RunnerError) as caught:
        wait(
            Poller(st, ProviderPool(st.targets(), {}), emit=emit),
            [],
            10,
            backoff=Backoff(first=1, factor=2, cap=4),
            clock=lambda: now[0],
            sleep=sleep,
            rng=random.Random(1),
        )
    assert caught.value.message == "timed out after 10s with 1 still running: job.a"
    assert sum(sleeps) == pytest.approx(10)
    assert 0.8 <= sleeps[0] <= 1.2 and sleeps[2] > sleeps[1] > sleeps[0]


def test_wait_finishes_and_surfaces_unknown_statuses(tmp_path: Path) -> None:
    st = seed_state(tmp_path / "s.db", {"job.a": "pending", "job.b": "pending"})
    fake_provider.SCRIPT.update({"r0": ["running", "succeeded"], "r1": ["unknown"]})
    events, emit = collect()
    cycle = wait(Poller(st, ProviderPool(st.targets(), {}), emit=emit), [], 60, sleep=lambda s: None)
    assert (cycle.pending, cycle.unknown) == ([], ["job.b"])
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices == ["job.b: the provider reports a status runner does not know; not waiting for it"]


def test_cancel_skips_finished_and_refuses_protected(tmp_path: Path) -> None:
    st = seed_state(tmp_path / "s.db", {"job.a": "pending", "job.b": "succeeded", "job.p": "running"}, {"job.p"})
    _events, emit = collect()
    poller = Poller(st, ProviderPool(st.targets(), {}), emit=emit)
    with pytest.raises(RunnerError, match=r"refusing to cancel protected job.p: name them with --allow-protected"):
        cancel(poller, ["job.*"])
    done = cancel(poller, ["job.a", "job.b"])
    assert [(a, o.status) for a, o in done] == [("job.a", "cancelled")]
    rec = st.resource("job.a")
    assert rec is not None and rec.status == "cancelled"
    assert cancel(poller, ["job.p"], allow_protected=True)[0][0] == "job.p"


def test_results_are_fetched_in_parallel_within_the_per_target_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = seed_state(tmp_path / "s.db", {f"job.j{i:02d}": "succeeded" for i in range(40)})
    running, peak, lock = [0], [0], threading.Lock()
    deadlines: list[float | None] = []
    threads: list[str] = []

    def slow_result(self: fake_provider.FakeProvider, ref: RemoteRef) -> Result | None:
        threads.append(threading.current_thread().name)
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            deadlines.append(http.remaining())
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        if ref.remote_id == "r3":
            raise TransientError("fake: GET /r3 -> 503: busy")
        return Result(({"1": int(ref.remote_id[1:])},), 7)

    monkeypatch.setattr(fake_provider.FakeProvider, "result", slow_result)
    poller = Poller(st, ProviderPool(st.targets(), {}), emit=collect()[1], parallelism=8, per_target=4)
    with http.deadline(30):
        cycle = poller.cycle()
    assert peak[0] == 4  # bounded per target, and more than one at a time
    # the first on this thread (what reading results imports is never first imported on a worker), then workers
    assert threads[0] == "MainThread" and all(t.startswith("runner-results") for t in threads[1:40])
    assert all(d is not None and 0 < d <= 30 for d in deadlines)  # the workers ran under wait's deadline
    assert cycle.errors == ["job.j03: results: fake: GET /r3 -> 503: busy"]
    assert st.results("job.j17")[0]["counts"] == [{"1": 17}]
    fetched = len(deadlines)
    poller.cycle()  # only the one that failed is asked for again: the others are kept in the state
    assert (fetched, len(deadlines)) == (40, 41)


LIGHT = """
import sys
from runner.domain.model import Target
from runner.providers import make
from runner.providers.base import Context
import runner.app.inspect, runner.app.operate, runner.operate.poll  # what refresh, wait and status load
ws = {"subscription_id": "00000000-0000-0000-0000-000000000001", "resource_group": "rg", "name": "ws",
      "location": "eastus"}
env = {"AZURE_QUANTUM_API_KEY": "k", "SUPERSTAQ_API_KEY": "k", "PASQAL_TOKEN": "t"}
targets = [
    Target("az", "azure", "ionq.simulator", {}, {"endpoint": "http://127.0.0.1:9", "workspace": ws,
           "credentials": {"api_key_env": "AZURE_QUANTUM_API_KEY"}}),
    Target("ss", "superstaq", "ss_unconstrained_simulator", {}, {"endpoint": "http://127.0.0.1:9",
           "credentials": {"api_key_env": "SUPERSTAQ_API_KEY"}}),
    Target("pq", "pasqal", "EMU_FREE", {}, {"endpoint": "http://127.0.0.1:9/core",
           "project_id": "00000000-0000-0000-0000-0000000000aa", "credentials": {"token_env": "PASQAL_TOKEN"}}),
]
for target in targets:
    make(target, Context(env, ".")).shutdown()
print(sorted({m.split(".")[0] for m in sys.modules} & {"qiskit", "qiskit_aer", "numpy", "pulser"}))
"""


def test_building_a_rest_provider_imports_no_simulator() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", LIGHT], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
