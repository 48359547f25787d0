"""wait's progress: a redrawn bar on a terminal, sparse plain lines in a log."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fake_provider
import pytest

from runner import providers
from runner.domain.events import Event, Notice
from runner.domain.model import Attrs, Target
from runner.domain.remote import Observation
from runner.domain.resources import Desired
from runner.domain.vocabulary import Status
from runner.operate.poll import Cycle, Poller, wait
from runner.providers.pool import ProviderPool
from runner.render.progress import Tally, WaitProgress, bar_line, duration, log_line
from runner.state import Store, open_store


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cycle(*statuses: str) -> Cycle:
    return Cycle(statuses={f"job.j{i}": s for i, s in enumerate(statuses)})


def test_tally_counts_failures_among_the_finished() -> None:
    tally = Tally.of(cycle("succeeded", "failed", "cancelled", "timed_out", "running", "pending", "unknown").statuses)
    assert tally == Tally(total=7, finished=4, failed=3, running=2, unknown=1)
    assert [duration(s) for s in (0.4, 42.9, 185, 3725)] == ["0s", "42s", "3m05s", "1h02m"]


def test_lines_for_a_terminal_and_for_a_log() -> None:
    t = Tally(total=40, finished=12, failed=3, running=25, unknown=0)
    assert bar_line(t, 42) == "[###.......] 12/40 finished, 3 failed, 25 running · 42s"
    assert log_line(t, 42) == "wait: 12/40 finished (3 failed), 25 running, 42s elapsed"
    odd = Tally(total=2, finished=0, failed=0, running=1, unknown=1)
    assert bar_line(odd, 0).endswith("1 running, 1 unknown · 0s")
    assert bar_line(Tally(0, 0, 0, 0, 0), 0).startswith("[##########] 0/0 finished")


def test_a_log_gets_a_line_per_change_and_otherwise_one_every_ten_seconds() -> None:
    out, clock = io.StringIO(), Clock()
    progress = WaitProgress(out, clock=clock, every=10)
    for advance, statuses in [
        (1, ("running", "running")),  # first: printed
        (4, ("running", "running")),  # same, 5s since the last line: quiet
        (6, ("running", "running")),  # same, 11s: a heartbeat
        (1, ("succeeded", "running")),  # changed: printed at once
        (1, ("succeeded", "failed")),
    ]:
        clock.now += advance
        progress(cycle(*statuses))
    progress.close()  # nothing to end in a log
    assert out.getvalue().splitlines() == [
        "wait: 0/2 finished (0 failed), 2 running, 1s elapsed",
        "wait: 0/2 finished (0 failed), 2 running, 11s elapsed",
        "wait: 1/2 finished (0 failed), 1 running, 12s elapsed",
        "wait: 2/2 finished (1 failed), 0 running, 13s elapsed",
    ]


def test_a_terminal_gets_one_line_redrawn_and_cleared_for_events() -> None:
    out, clock = Terminal(), Clock()
    progress = WaitProgress(out, clock=clock)
    printed: list[Event] = []
    emit = progress.wrap(printed.append)
    progress(cycle(*["running"] * 12))
    first = "[..........] 0/12 finished, 0 failed, 12 running · 0s"
    assert out.getvalue() == "\r" + first
    emit(Notice("hello"))  # an event line must not land on the bar: wipe it first
    assert out.getvalue() == "\r" + first + "\r" + " " * len(first) + "\r" and printed == [Notice("hello")]
    clock.now += 65
    progress(cycle(*["succeeded"] * 12))
    last = "[##########] 12/12 finished, 0 failed, 0 running · 1m05s"
    progress.close()  # the last bar stays as a summary, its line ended
    assert out.getvalue().endswith(" " * len(first) + "\r" + "\r" + last + "\n")
    assert "\n" not in out.getvalue()[:-1]


def test_a_shorter_bar_covers_the_longer_one() -> None:
    out = Terminal()
    progress = WaitProgress(out, clock=Clock())
    progress(cycle("running", "unknown"))
    long = len(out.getvalue()) - 1
    progress(cycle("running", "running"))
    assert len(out.getvalue().rsplit("\r", 1)[1]) == long
    emit = progress.wrap(lambda e: None)
    emit(Notice("x"))
    progress.close()  # wiped by an event: drawn once more so the summary stays
    assert out.getvalue().endswith("\r" + bar_line(Tally(2, 0, 0, 2, 0), 0) + "\n")


# wait() itself, over the scripted provider ------------------------------------------------------
@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(providers.REGISTRY, "fake", "fake_provider")
    fake_provider.SCRIPT.clear()
    yield


def seeded(path: Path, statuses: dict[str, Status]) -> Store:
    st = open_store(str(path), create=True)
    with st.transaction() as txn:
        txn.save_targets({"t": Target("t", "fake", "fake", {}, {})}, str(path.parent))
        for i, (addr, status) in enumerate(sorted(statuses.items())):
            d = Desired(addr, "job", addr, "t", "fake", None, {"i": i}, Attrs(), f"{i:064d}")
            txn.succeed(addr, 1, Observation(f"r{i}", status), txn.start(d, 1, f"tok{i}", None))
    return st


def test_wait_reports_every_cycle_to_progress(fake: None, tmp_path: Path) -> None:
    st = seeded(tmp_path / "s.db", {"job.a": "pending", "job.b": "running", "job.c": "succeeded"})
    fake_provider.SCRIPT.update({"r0": ["running", "succeeded"], "r1": ["running", "running", "failed"]})
    out, clock = io.StringIO(), Clock()
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock.now += s

    progress = WaitProgress(out, clock=clock)
    poller = Poller(st, ProviderPool(st.targets(), {}), emit=progress.wrap(lambda e: None))
    wait(poller, [], 60, clock=clock, sleep=sleep, progress=progress)
    assert [line.split(", ")[0] for line in out.getvalue().splitlines()] == [
        "wait: 1/3 finished (0 failed)",
        "wait: 2/3 finished (0 failed)",
        "wait: 3/3 finished (1 failed)",
    ]
    assert len(slept) == 2


def test_cli_wait_logs_progress_on_stderr(fake: None, tmp_path: Path, cli: Callable[..., Any]) -> None:
    seeded(tmp_path / "s.db", {"job.a": "running"}).close()
    fake_provider.SCRIPT["r0"] = ["succeeded"]
    done = cli("wait", "--state", str(tmp_path / "s.db"))
    assert (done.code, done.out.splitlines()[-1]) == (0, "All selected resources have finished.")
    assert done.out.splitlines()[0] == "  * job.a: running -> succeeded"
    assert done.err.startswith("wait: 1/1 finished (0 failed), 0 running, ") and done.err.endswith("s elapsed\n")
