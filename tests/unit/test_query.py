"""Queries, selections and windows over pages: the pure parts of remote listing and filtered operations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from runner.domain.query import Query, Selection, parse_when, parse_where, raw_for
from runner.errors import UsageError
from runner.providers.azure.listing import clauses, local_checks, quoted
from runner.providers.azure.wire import JOB_STATUS, SESSION_STATUS
from runner.providers.paging import Chunk, first_size, take
from runner.providers.pasqal.listing import filters
from runner.providers.pasqal.wire import BATCH_STATUS
from runner.providers.superstaq.listing import job_query

UTC = dt.timezone.utc


def test_where_clauses_become_a_selection_with_pasqals_filter_names() -> None:
    sel = parse_where(["status=error,done", "min_runs=10", "since=2025-01-31"], max_runs=500)
    assert sel == Selection(
        statuses=("ERROR", "DONE"),
        min_runs=10,
        max_runs=500,
        since=dt.datetime(2025, 1, 31, tzinfo=UTC),
    )
    assert sel.as_filters() == {
        "status": ["ERROR", "DONE"],
        "min_runs": 10,
        "max_runs": 500,
        "start_date": dt.datetime(2025, 1, 31, tzinfo=UTC),
    }
    assert sel.text() == "status=ERROR,DONE min_runs=10 max_runs=500 since=2025-01-31T00:00:00+00:00"


@pytest.mark.parametrize(
    ("clauses", "message"),
    [
        (
            ["status"],
            "--where takes KEY=VALUE[,VALUE...] (got 'status'); keys: id, status, min_runs, max_runs, since, until",
        ),
        (["colour=red"], "--where: unknown key 'colour'; use one of id, status, min_runs, max_runs, since, until"),
        (["status=DONE", "status=ERROR"], "--where gives status twice: list its values once, separated by commas"),
        (["min_runs=ten"], "--where min_runs must be a whole number (got 'ten')"),
        (["max_runs=-1"], "--where max_runs must be 0 or more (got -1)"),
        (["until=yesterday"], "--until takes a date like 2025-01-31 or 2025-01-31T12:00:00Z (got 'yesterday')"),
    ],
)
def test_bad_where_clauses_say_what_is_wrong(clauses: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_where(clauses)
    assert caught.value.message == message


def test_min_runs_given_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="give min_runs once"):
        parse_where(["min_runs=3"], min_runs=4)


def test_a_bare_date_as_upper_bound_means_the_end_of_that_day() -> None:
    assert parse_when("2025-01-31", "until", end=True) == dt.datetime(2025, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_when("2025-01-31T12:00:00Z", "until", end=True) == dt.datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert parse_when("2025-01-31T12:00:00+02:00", "since") == dt.datetime(2025, 1, 31, 10, tzinfo=UTC)


def test_statuses_in_runners_words_expand_to_the_services_own() -> None:
    assert raw_for(["failed"], BATCH_STATUS) == ("ERROR",)
    assert raw_for(["running"], SESSION_STATUS) == ("Executing", "Failure(s)")
    assert raw_for(["succeeded", "failure(s)"], SESSION_STATUS) == ("Succeeded", "Failure(s)")
    assert raw_for(["Done"], BATCH_STATUS) == ("DONE",)
    with pytest.raises(UsageError, match="unknown status 'finished' here; use one of: CANCELED, CANCELING"):
        raw_for(["finished"], BATCH_STATUS)


def test_a_query_refuses_windows_that_cannot_be() -> None:
    with pytest.raises(UsageError, match="--limit must be 1 or more"):
        Query("jobs", limit=0)
    with pytest.raises(UsageError, match="--offset must be 0 or more"):
        Query("jobs", offset=-1)
    with pytest.raises(UsageError, match="is after --until"):
        Query("jobs", since=dt.datetime(2025, 2, 1, tzinfo=UTC), until=dt.datetime(2025, 1, 1, tzinfo=UTC))


def pages(sizes: list[int], total: int | None = None) -> Iterator[Chunk[int]]:
    start = 0
    for i, size in enumerate(sizes):
        yield Chunk(list(range(start, start + size)), i + 1 < len(sizes), total)
        start += size


def test_take_reads_only_the_pages_the_window_needs() -> None:
    read: list[int] = []

    def counted() -> Iterator[Chunk[int]]:
        for chunk in pages([100, 100, 100, 40], 340):
            read.append(len(chunk.items))
            yield chunk

    items, more, total = take(counted(), Query("jobs", limit=150))
    assert (len(items), more, total, read) == (150, True, 340, [100, 100])
    read.clear()
    items, more, total = take(counted(), Query("jobs", limit=None))
    assert (len(items), more, total, len(read)) == (340, False, 340, 4)


def test_take_with_a_local_filter_skips_the_offset_after_filtering() -> None:
    even = lambda n: n % 2 == 0  # noqa: E731
    items, more, total = take(pages([100, 100]), Query("jobs", offset=10, limit=5), even)
    assert (items, more, total) == ([20, 22, 24, 26, 28], True, None)
    items, more, _ = take(pages([100, 100]), Query("jobs", offset=95, limit=10), even)
    assert (items, more) == ([190, 192, 194, 196, 198], False)


def test_the_first_page_asks_for_no_more_than_the_window() -> None:
    assert first_size(Query("jobs", limit=20), local=False) == 20
    assert first_size(Query("jobs", limit=250), local=False) == 100
    assert first_size(Query("jobs", limit=20), local=True) == 100  # filtering here: whole pages
    assert first_size(Query("jobs", limit=None), local=False) == 100


def test_azure_filter_clauses_are_the_sdks() -> None:
    query = Query(
        "jobs",
        statuses=("failed", "Cancelled"),
        name="job.o'k",
        since=dt.datetime(2025, 1, 31, tzinfo=UTC),
        until=parse_when("2025-02-02", "until", end=True),
    )
    assert clauses(query, "ionq.simulator") == [
        "(Target eq 'ionq.simulator')",
        "(State eq 'Failed' or State eq 'Cancelled')",
        "startswith(Name, 'job.o''k')",
        "CreationTime ge 2025-01-31",
        "CreationTime le 2025-02-02",
    ]
    assert local_checks(query) == ([], None)  # whole days: the service's filter is exact
    assert quoted("it's") == "'it''s'"
    assert sorted(JOB_STATUS)[:2] == ["Cancellation" + "Requested", "Cancelled"]


def test_azure_checks_here_what_its_filter_cannot_say() -> None:
    at_noon = Query("jobs", tags=("a",), since=dt.datetime(2025, 1, 31, 12, tzinfo=UTC))
    names, keep = local_checks(at_noon)
    assert names == ["tag", "since (time of day)"] and keep is not None
    assert keep({"tags": ["a", "b"], "creationTime": "2025-01-31T12:00:00.1234567Z"})
    assert not keep({"tags": ["a"], "creationTime": "2025-01-31T11:59:59.9999999Z"})
    assert not keep({"tags": ["b"], "creationTime": "2025-02-01T00:00:00Z"})


def test_pasqal_filters_are_batchfilters_and_jobfilters() -> None:
    batches = Query("batches", statuses=("succeeded",), tags=("a", "b"), since=dt.datetime(2025, 1, 1, tzinfo=UTC))
    assert filters(batches, "proj", "EMU_FREE") == {
        "project_id": "proj",
        "start_date": dt.datetime(2025, 1, 1, tzinfo=UTC),
        "device_type": "EMU_FREE",
        "status": ["DONE"],
        "tag": "a",
    }
    jobs = Query("jobs", parent="b1", statuses=("ERROR",), min_runs=10)
    assert filters(jobs, "proj", "EMU_FREE") == {
        "project_id": "proj",
        "batch_id": "b1",
        "status": ["ERROR"],
        "min_runs": 10,
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Query("sessions"), "Pasqal Cloud has no sessions: list batches (runner remote batches) or their jobs"),
        (Query("batches", name="x"), "Pasqal batches have no name to filter by: use --tag, --status or dates"),
        (
            Query("jobs", tags=("x",)),
            "Pasqal jobs carry no tags: list the batches with --tag, then their jobs with --in BATCH",
        ),
    ],
)
def test_pasqal_refuses_what_it_has_no_notion_of(query: Query, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        filters(query, "p", "EMU_FREE")
    assert caught.value.message == message


def test_superstaq_job_query_fields() -> None:
    query = Query("jobs", statuses=("failed", "Done"), tags=("t",), since=dt.datetime(2025, 1, 1, 1, tzinfo=UTC))
    assert job_query(query, "ss_unconstrained_simulator") == {
        "target_name": ["ss_unconstrained_simulator"],
        "status": ["failed", "unrecognized", "completed"],
        "tags": ["t"],
        "submitted_after": "2025-01-01T01:00:00+00:00",
    }
    with pytest.raises(UsageError, match="Superstaq has no sessions"):
        job_query(Query("sessions"), "ss_unconstrained_simulator")
