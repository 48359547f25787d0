"""One error hierarchy: every user-facing failure is a RunnerError carrying its exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README and docs/exit-codes.md."""

    OK = 0
    ERROR = 1
    CHANGES = 2  # only with `plan --detailed-exitcode`
    STALE_PLAN = 3
    LOCK_CONFLICT = 4
    OVER_BUDGET = 5
    TIMED_OUT = 6  # a command's --timeout passed (wait); what finished by then is recorded
    JOBS_FAILED = 7  # `wait --fail-on-failed`: everything finished, and some of it failed
    NO_MATCH = 8  # `cancel --where`, `rerun --where`: the filter matched nothing, so nothing was sent
    USAGE = 64  # click's default 2 would collide with CHANGES
    INTERNAL = 70  # a bug in runner (sysexits' EX_SOFTWARE): the message says how to see the traceback
    INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One located validation problem."""

    location: Location
    message: str

    def __str__(self) -> str:
        # control characters from the manifest would break the one-line-per-problem contract
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.message)
        return f"{self.location}: {shown}"

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.message)


class RunnerError(Exception):
    """Base of every error runner reports to a user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def lines(self) -> list[str]:
        """The lines printed on stderr for this error."""
        return [f"error: {self.message}"]


class ManifestError(RunnerError):
    """The manifest has one or more located problems."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        ordered = sorted(set(problems), key=Problem.sort_key)
        super().__init__(f"{len(ordered)} problem(s) in the manifest")
        self.problems = ordered

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(RunnerError):
    """The command line itself is wrong."""

    exit_code = ExitCode.USAGE


class StateError(RunnerError):
    """The state file is missing, corrupt, foreign or from a newer runner."""


class PlanError(RunnerError):
    """The plan cannot be made or executed as asked (protected resources, bad plan file)."""


class StalePlanError(RunnerError):
    """A saved plan no longer matches the state it was made against."""

    exit_code = ExitCode.STALE_PLAN


class LockConflictError(RunnerError):
    """Another process holds the state lock."""

    exit_code = ExitCode.LOCK_CONFLICT


class LeaseLostError(LockConflictError):
    """This process can no longer prove it holds the state's lease: it must not send anything more."""


class TimedOutError(RunnerError):
    """A command ran past its deadline (wait --timeout)."""

    exit_code = ExitCode.TIMED_OUT


class JobsFailedError(RunnerError):
    """What was waited for finished, and some of it failed (wait --fail-on-failed)."""

    exit_code = ExitCode.JOBS_FAILED


class NoMatchError(RunnerError):
    """A filtered operation's filter matched nothing: nothing was sent."""

    exit_code = ExitCode.NO_MATCH


class BudgetExceededError(RunnerError):
    """The plan's estimated cost exceeds the manifest's budget."""

    exit_code = ExitCode.OVER_BUDGET


class InterruptedRunError(RunnerError):
    """The run was interrupted (Ctrl-C); what was in flight has been recorded."""

    exit_code = ExitCode.INTERRUPTED


class ProviderError(RunnerError):
    """A provider call failed; subclasses say whether retrying can help."""


class TransientError(ProviderError):
    """Timeouts, dropped connections, 429 and 5xx: retrying later may succeed.

    `unsent`: the request provably never reached the server. `refused`: the server answered that
    it did not act on it (429). Either makes repeating even a create safe.
    """

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        unsent: bool = False,
        refused: bool = False,
        unreachable: bool = False,
        deadline: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unsent = unsent
        self.refused = refused
        self.unreachable = unreachable  # no connection could be made at all (refused, no route): nothing sent
        self.deadline = deadline  # the command's deadline cut it short

    @property
    def acted_on_maybe(self) -> bool:
        """True when the server may have carried out the request."""
        return not (self.unsent or self.refused)


class AuthError(ProviderError):
    """Credentials missing, wrong or not allowed."""


class RejectedError(ProviderError):
    """The provider refused the request as given; retrying the same call will not help."""


class NotFoundError(RejectedError):
    """The provider says the remote object does not exist."""
