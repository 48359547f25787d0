"""What apply and destroy show while they run: a line per resource for small runs, one progress line for big ones.

On a terminal the progress line (done, failed, running, rate, ETA) is redrawn in place at most
ten times a second; in a log (CI) it is a plain line every `every` seconds. Past `limit` changes
the line per resource gives way to a summary at the end (failures are still named, up to
MAX_FAILURES); `--json` gets every event, always. Events may arrive from worker threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import IO

from runner.domain.events import Event, Notice, ResourceDone, ResourceFailed, ResourceSkipped, RunFinished, RunStarted
from runner.render.colour import PLAIN, Painter
from runner.render.output import EventPrinter
from runner.render.progress import duration

MAX_FAILURES = 20
_RUNNING = {"pending", "running", "submitting"}
_FAILED = {"failed", "submit_failed", "timed_out"}
REDRAW = 0.1  # seconds between redraws of the terminal line


class Tally:
    """Counts of the changes carried out so far."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.failed, self.running = total, 0, 0, 0
        self.statuses: Counter[str] = Counter()

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.running

    def line(self, seconds: float, *, bar: bool) -> str:
        """`[####......] 400/1000 · 390 done, 2 failed, 8 running · 85/s · ETA 7s`."""
        rate = self.processed / seconds if seconds > 0 else 0.0
        left = self.total - self.processed
        eta = f" · ETA {duration(left / rate)}" if rate > 0 and left > 0 else ""
        counts = f"{self.done} done, {self.failed} failed, {self.running} running"
        speed = f"{rate:.0f}/s" if rate >= 10 else f"{rate:.1f}/s"
        shown = f"{self.processed}/{self.total} · {counts} · {speed}{eta} · {duration(seconds)}"
        if not bar:
            return shown
        filled = 10 * self.processed // self.total if self.total else 10
        return f"[{'#' * filled}{'.' * (10 - filled)}] {shown}"


class ApplyView:
    """The emit callback of apply and destroy for people (JSON lines go straight to an EventPrinter)."""

    def __init__(
        self,
        stream: IO[str],
        *,
        tty: bool,
        paint: Painter = PLAIN,
        limit: int = 50,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.tty, self.paint, self.limit, self.every, self.clock = stream, tty, paint, limit, every, clock
        self.printer = EventPrinter(stream, paint=paint)
        self.tally = Tally(0)
        self.quiet = False
        self.failures: list[str] = []
        self.started = clock()
        self._drawn_at = self._logged_at = -math.inf
        self._shown = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.tally, self.started = Tally(event.changes), self.clock()
            self.quiet = 0 < self.limit < event.changes
            self._print(event)
            return
        if isinstance(event, RunFinished):
            self._clear()
            if self.quiet:
                self._summary()
            self._print(event)
            return
        failures = len(self.failures)
        self._count(event)
        failed_now = len(self.failures) > failures
        if not self.quiet or isinstance(event, Notice) or (failed_now and len(self.failures) <= MAX_FAILURES):
            self._print(event)
        self._progress()

    def _count(self, event: Event) -> None:
        t = self.tally
        if isinstance(event, ResourceFailed):
            t.failed += 1
            self.failures.append(event.address)
        elif isinstance(event, ResourceDone):
            t.statuses[f"{event.action} {event.status}"] += 1
            if event.status in _FAILED:
                t.failed += 1
                self.failures.append(event.address)
            elif event.status in _RUNNING:
                t.running += 1
            else:
                t.done += 1
        elif isinstance(event, ResourceSkipped):
            t.done += 1
            t.statuses[f"{event.action} skipped"] += 1

    def _progress(self) -> None:
        now = self.clock()
        if self.tty and now - self._drawn_at >= REDRAW:
            line = self.tally.line(now - self.started, bar=True)
            self._write("\r" + line + " " * max(0, self._shown - len(line)))
            self._shown, self._drawn_at = len(line), now
        elif not self.tty and now - self._logged_at >= self.every and now - self.started >= self.every:
            self._write(f"apply: {self.tally.line(now - self.started, bar=False)}\n")
            self._logged_at = now

    def _summary(self) -> None:
        """What a quiet run did, in a few lines: counts per action and resulting status, the failures."""
        parts = ", ".join(f"{n} {what}" for what, n in sorted(self.tally.statuses.items(), key=lambda kv: -kv[1]))
        self._write(f"{self.tally.processed} of {self.tally.total} change(s) carried out: {parts or 'none'}\n")
        if len(self.failures) > MAX_FAILURES:
            self._write(f"  ... and {len(self.failures) - MAX_FAILURES} more failure(s): `runner status` lists them\n")
        self._write("  (one line per resource: --json)\n")

    def _print(self, event: Event) -> None:
        self._clear()
        self.printer(event)

    def _clear(self) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
