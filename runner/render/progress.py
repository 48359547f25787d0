"""wait's progress: one redrawn line on a terminal, sparse plain lines in a log (CI).

A log gets a line whenever the counts change and otherwise at most one every `every` seconds,
so a long wait shows it is alive without flooding the log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from runner.domain.events import Event
from runner.domain.vocabulary import SUCCEEDED, TERMINAL, UNKNOWN

if TYPE_CHECKING:
    from runner.operate.poll import Cycle


@dataclass(frozen=True)
class Tally:
    """How many selected resources are in which state; `finished` includes the failed ones."""

    total: int
    finished: int
    failed: int
    running: int
    unknown: int

    @classmethod
    def of(cls, statuses: Mapping[str, str]) -> Tally:
        values = list(statuses.values())
        finished = sum(s in TERMINAL for s in values)
        failed = sum(s in TERMINAL and s != SUCCEEDED for s in values)
        unknown = sum(s == UNKNOWN for s in values)
        return cls(len(values), finished, failed, len(values) - finished - unknown, unknown)


def duration(seconds: float) -> str:
    """42s, 3m05s, 1h02m."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def bar_line(t: Tally, seconds: float, width: int = 10) -> str:
    """`[###.......] 12/40 finished, 3 failed, 25 running · 42s` for a terminal."""
    done = width * t.finished // t.total if t.total else width
    unknown = f", {t.unknown} unknown" if t.unknown else ""
    return (
        f"[{'#' * done}{'.' * (width - done)}] {t.finished}/{t.total} finished, {t.failed} failed, "
        f"{t.running} running{unknown} · {duration(seconds)}"
    )


def log_line(t: Tally, seconds: float) -> str:
    """`wait: 12/40 finished (3 failed), 25 running, 42s elapsed` for a log."""
    unknown = f", {t.unknown} unknown" if t.unknown else ""
    return (
        f"wait: {t.finished}/{t.total} finished ({t.failed} failed), {t.running} running{unknown}, "
        f"{duration(seconds)} elapsed"
    )


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


class WaitProgress:
    """The `progress` callback of poll.wait; also wraps the event printer so lines never collide."""

    def __init__(self, stream: IO[str], *, clock: Callable[[], float] = time.monotonic, every: float = 10.0) -> None:
        self.stream, self.clock, self.every = stream, clock, every
        self.tty = _isatty(stream)
        self.started = clock()
        self._last: Tally | None = None
        self._logged_at = -math.inf
        self._line = ""  # the bar last drawn on the terminal
        self._shown = 0  # how many characters of it are on screen now

    def __call__(self, cycle: Cycle) -> None:
        tally, now = Tally.of(cycle.statuses), self.clock()
        if self.tty:
            self._draw(bar_line(tally, now - self.started))
        elif tally != self._last or now - self._logged_at >= self.every:
            self._write(log_line(tally, now - self.started) + "\n")
            self._logged_at = now
        self._last = tally

    def wrap(self, emit: Callable[[Event], None]) -> Callable[[Event], None]:
        """An emit that first clears the bar, so an event line does not land on top of it."""

        def forward(event: Event) -> None:
            self.clear()
            emit(event)

        return forward

    def clear(self) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def close(self) -> None:
        """Leave the last bar on screen as a summary and end its line."""
        if self.tty and self._line:
            if not self._shown:  # an event wiped it
                self._draw(self._line)
            self._write("\n")
            self._line, self._shown = "", 0

    def _draw(self, line: str) -> None:
        # pad with spaces rather than an escape code: a shorter line must cover the longer one
        self._write("\r" + line + " " * max(0, self._shown - len(line)))
        self._line, self._shown = line, len(line)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
