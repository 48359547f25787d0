"""What apply shows while it runs: lines per resource when few, one progress line and a summary when many."""

from __future__ import annotations

import io

from runner.domain.events import Notice, ResourceDone, ResourceFailed, RunFinished, RunStarted
from runner.render import colour
from runner.render.apply_view import MAX_FAILURES, ApplyView, Tally
from runner.render.colour import Painter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(view: ApplyView, clock: Clock, jobs: int, *, fail_every: int = 0, step: float = 0.01) -> None:
    view(RunStarted("apply", jobs, "s.db"))
    for i in range(jobs):
        clock.now += step
        if fail_every and i % fail_every == 0:
            view(ResourceFailed(f"job.x[i={i}]", "create", "rejected: bad circuit"))
        else:
            view(ResourceDone(f"job.x[i={i}]", "create", "succeeded", f"r{i}"))
    view(RunFinished("apply", "failed" if fail_every else "ok", {"create": jobs}, jobs * step))


def test_a_small_apply_prints_a_line_per_resource() -> None:
    out, clock = io.StringIO(), Clock()
    run(ApplyView(out, tty=False, limit=5, clock=clock), clock, 3)
    assert out.getvalue().splitlines() == [
        "apply: 3 change(s) against s.db",
        "  + job.x[i=0]: created (r0, succeeded)",
        "  + job.x[i=1]: created (r1, succeeded)",
        "  + job.x[i=2]: created (r2, succeeded)",
        "Apply complete: 3 created, 0 updated, 0 replaced, 0 deleted, 0 failed (0.0s).",
    ]


def test_past_the_limit_a_log_gets_periodic_lines_and_a_summary_naming_failures() -> None:
    out, clock = io.StringIO(), Clock()
    step = 1 / 128  # exact in binary: the clock lands on whole seconds
    run(ApplyView(out, tty=False, limit=50, every=10, clock=clock), clock, 10_000, fail_every=400, step=step)
    lines = out.getvalue().splitlines()
    failures = [line for line in lines if line.startswith("  ! ")]
    periodic = [line for line in lines if line.startswith("apply: ") and "/10000" in line]
    assert len(failures) == MAX_FAILURES == 20  # of 25
    assert failures[0] == "  ! job.x[i=0]: create failed: rejected: bad circuit"
    assert len(periodic) == 7  # 78 s of work, a line every 10 s
    assert periodic[0] == "apply: 1280/10000 · 1276 done, 4 failed, 0 running · 128/s · ETA 1m08s · 10s"
    assert "10000 of 10000 change(s) carried out: 9975 create succeeded" in lines
    assert "  ... and 5 more failure(s): `runner status` lists them" in lines
    assert len(lines) < 40  # not 10,000


def test_a_terminal_gets_one_redrawn_progress_line() -> None:
    out, clock = Terminal(), Clock()
    run(ApplyView(out, tty=True, limit=10, clock=clock), clock, 100, step=1 / 16)
    text = out.getvalue()
    between = text.split("apply: 100 change(s) against s.db\n")[1].split("100 of 100 change(s) carried out")[0]
    assert "\n" not in between  # the line is redrawn with carriage returns, never scrolled
    drawn = [part for part in between.split("\r") if part.startswith("[")]
    assert len(drawn) == 50  # at most ten times a second over six seconds
    assert drawn[-1].startswith("[#########.] 99/100 · 99 done, 0 failed, 0 running · 16/s · ETA 0s · 6s")
    assert text.endswith(
        "\n  (one line per resource: --json)\n"
        "Apply complete: 100 created, 0 updated, 0 replaced, 0 deleted, 0 failed (6.2s).\n"
    )


def test_notices_always_show() -> None:
    out, clock = io.StringIO(), Clock()
    view = ApplyView(out, tty=False, limit=1, clock=clock)
    view(RunStarted("apply", 5, "s.db"))
    view(Notice("session.s failed: closing it", "error"))
    assert out.getvalue().splitlines()[-1] == "error: session.s failed: closing it"


def test_running_jobs_and_the_rate() -> None:
    t = Tally(10)
    t.done, t.failed, t.running = 3, 1, 2
    assert t.line(2.0, bar=False) == "6/10 · 3 done, 1 failed, 2 running · 3.0/s · ETA 1s · 2s"
    assert t.line(0.0, bar=True) == "[######....] 6/10 · 3 done, 1 failed, 2 running · 0.0/s · 0s"


def test_colour_only_where_it_is_wanted() -> None:
    tty, pipe = Terminal(), io.StringIO()
    assert colour.enabled(tty, {}) and not colour.enabled(pipe, {})
    assert not colour.enabled(tty, {"NO_COLOR": "1"}) and not colour.enabled(tty, {}, no_color=True)
    assert not colour.enabled(tty, {"TERM": "dumb"}) and colour.enabled(pipe, {"FORCE_COLOR": "1"})
    assert not colour.enabled(pipe, {"FORCE_COLOR": "1", "NO_COLOR": "x"})
    on = Painter(True)
    assert [on.symbol(s) for s in ("+", "~", "-", "-/+")] == [
        "  \x1b[32m+\x1b[0m",
        "  \x1b[33m~\x1b[0m",
        "  \x1b[31m-\x1b[0m",
        "\x1b[31m-\x1b[0m/\x1b[32m+\x1b[0m",
    ]
    assert Painter(False).symbol("-/+") == "-/+" and Painter(False)("x", "red") == "x"
