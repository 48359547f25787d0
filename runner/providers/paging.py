"""Taking a window of a paged listing: as few pages as the window needs, and whether more exist.

Each provider turns its API's pagination (Pasqal offset/limit with a total, Azure skip/top and
nextLink) into an iterator of `Chunk`s; `take` reads only as many as the query's window needs,
so N matches cost ceil(N / page size) requests. When a filter has to be applied here (the
service lacks it), the service is paged from the start and the window is cut after filtering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from runner.domain.query import PAGE, Query

T = TypeVar("T")


@dataclass(frozen=True)
class Chunk(Generic[T]):
    """One page: its items, whether the service has another after it, and the total when it says."""

    items: list[T]
    has_next: bool
    total: int | None = None


def first_size(query: Query, local: bool) -> int:
    """The page size to ask for first: no more than the window needs, unless runner filters locally."""
    if local or query.limit is None:
        return PAGE
    return min(PAGE, query.limit)


def take(
    chunks: Iterator[Chunk[T]], query: Query, keep: Callable[[T], bool] | None = None
) -> tuple[list[T], bool, int | None]:
    """(the window's items, whether more matches exist, the service's total if it gave one and filtered all).

    With `keep` (a filter applied here) the chunks must start at the beginning: `query.offset` matches
    are skipped here. Without it, the chunks already start at the offset.
    """
    skip = query.offset if keep is not None else 0
    taken: list[T] = []
    total: int | None = None
    for chunk in chunks:
        total = chunk.total
        for position, item in enumerate(chunk.items):
            if keep is not None and not keep(item):
                continue
            if skip:
                skip -= 1
                continue
            if not query.wants(len(taken)):
                return taken, True, _total(total, keep)
            taken.append(item)
            if not query.wants(len(taken)) and keep is None:
                more = position + 1 < len(chunk.items) or chunk.has_next
                return taken, more, total
        if not chunk.has_next:
            return taken, False, _total(total, keep)
    return taken, False, _total(total, keep)


def _total(total: int | None, keep: Callable[[T], bool] | None) -> int | None:
    return None if keep is not None else total
