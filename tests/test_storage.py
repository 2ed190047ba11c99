from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.collector import collector_paused
from bot.core.models import Observation, Operation
from storage.chats import ensure_chat
from storage.db import StorageError, integrity_ok, open_db
from storage.fetchlog import FetchRecord, failure_streak, last_fetches, last_success, record_fetch
from storage.meta import get_meta, set_meta
from storage.observations import (
    history,
    last_above,
    latest,
    max_before,
    newest_dates,
    record_high,
    revisions,
    upsert_observations,
    value_on,
)
from storage.operations import latest_operation_date, operations_between, upsert_operations
from storage.outbox import add_event, due, enqueue

T0 = "2026-02-18T14:00:00Z"
T1 = "2026-02-19T14:00:00Z"


def obs(series: str, day: str, value: float, source: str = "nyfed") -> Observation:
    return Observation(series, day, value, source)


def sofr_week() -> list[Observation]:
    return [
        obs("sofr", "2024-06-03", 5.35),
        obs("sofr", "2024-06-04", 5.33),
        obs("sofr", "2024-06-05", 5.33),
        obs("sofr", "2024-06-06", 5.33),
    ]


def test_migrations_create_tables_and_wal(tmp_path: Path) -> None:
    db = open_db(tmp_path / "a.db")
    expected = {"observations", "revisions", "operations", "fetch_log", "meta"}
    expected |= {"chats", "subscriptions", "alert_marks", "events", "outbox"}
    assert expected <= set(db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    again = open_db(tmp_path / "a.db")  # re-running migrations is a no-op
    assert integrity_ok(again)
    applied = [r[0] for r in again.execute("SELECT name FROM _sqlite_migrations ORDER BY id").fetchall()]
    assert applied == [
        "0001_core",
        "0002_alerts",
        "0003_operation_release_time",
        "0004_chat_lang_chosen",
        "0005_extreme_indexes",
        "0006_next_daily",
        "0007_auctions",
        "0008_auction_subscriptions",
        "0009_source_revisions",
        "0010_outbox_pending",
    ]


def test_upsert_is_idempotent(db: sqlite_utils.Database) -> None:
    first = upsert_observations(db, sofr_week(), fetched_at=T0)
    assert len(first) == 4 and all(c.old is None for c in first)
    second = upsert_observations(db, sofr_week(), fetched_at=T1)
    assert second == []
    assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 4
    assert db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0] == 0
    # an unchanged row keeps its original fetch time
    assert db.execute("SELECT DISTINCT fetched_at FROM observations").fetchall() == [(T0,)]


def test_revision_is_recorded_with_old_and_new(db: sqlite_utils.Database) -> None:
    upsert_observations(db, sofr_week(), fetched_at=T0)
    changes = upsert_observations(db, [obs("sofr", "2024-06-05", 5.34)], fetched_at=T1)
    assert [(c.date, c.old, c.new) for c in changes] == [("2024-06-05", 5.33, 5.34)]
    assert revisions(db) == [("sofr", "2024-06-05", 5.33, 5.34, T1)]
    assert value_on(db, "sofr", "2024-06-05") == 5.34


def test_untracked_series_update_without_revision(db: sqlite_utils.Database) -> None:
    # SRF is an intraday sum: the PM operation adds to the AM figure, which is not a revision.
    upsert_observations(db, [obs("srf", "2026-02-17", 11.0)], fetched_at=T0, untracked=frozenset({"srf"}))
    changes = upsert_observations(
        db, [obs("srf", "2026-02-17", 30.5)], fetched_at=T1, untracked=frozenset({"srf"})
    )
    assert [(c.old, c.new) for c in changes] == [(11.0, 30.5)]
    assert revisions(db) == []


def test_duplicates_in_one_batch_keep_the_last(db: sqlite_utils.Database) -> None:
    changes = upsert_observations(
        db, [obs("iorb", "2025-12-11", 3.90), obs("iorb", "2025-12-11", 3.65)], fetched_at=T0
    )
    assert len(changes) == 1 and value_on(db, "iorb", "2025-12-11") == 3.65


def test_reads(db: sqlite_utils.Database) -> None:
    upsert_observations(db, [*sofr_week(), obs("tga", "2026-06-23", 925.876, "fiscaldata")], fetched_at=T0)
    point = latest(db, "sofr")
    assert point is not None and (point.date, point.value) == ("2024-06-06", 5.33)
    as_of = latest(db, "sofr", on_or_before="2024-06-03")
    assert as_of is not None and as_of.value == 5.35
    assert latest(db, "sofr", on_or_before="2024-01-01") is None
    assert [p.date for p in history(db, "sofr", "2024-06-04", "2024-06-05")] == ["2024-06-04", "2024-06-05"]
    assert newest_dates(db) == {"sofr": "2024-06-06", "tga": "2026-06-23"}
    assert latest(db, "rrp") is None


# SRF take-up around the 2025-10-31 month-end record ($50.35B; $21.0B AM + $29.35B PM), zero days between.
SRF_AUTUMN_2025 = [
    ("2025-09-15", 1.5),
    ("2025-09-30", 6.0),
    ("2025-10-01", 0.0),
    ("2025-10-15", 6.0),
    ("2025-10-30", 0.0),
    ("2025-10-31", 50.35),
    ("2025-11-03", 0.0),
    ("2025-11-04", 0.0),
]


@pytest.fixture
def srf_db(db: sqlite_utils.Database) -> sqlite_utils.Database:
    upsert_observations(db, [obs("srf", d, v) for d, v in SRF_AUTUMN_2025], fetched_at=T0)
    upsert_observations(db, [*sofr_week()], fetched_at=T0)
    return db


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        ("2025-09-15", None),  # nothing stored before the first day
        ("2025-09-16", 1.5),
        ("2025-10-15", 6.0),  # the 2025-09-30 quarter-end, not the equal 2025-10-15 on the day itself
        ("2025-10-31", 6.0),  # the record day is not its own prior record
        ("2025-11-01", 50.35),
        ("2099-01-01", 50.35),
    ],
)
def test_max_before(srf_db: sqlite_utils.Database, before: str, expected: float | None) -> None:
    assert max_before(srf_db, "srf", before) == expected


def test_record_high_takes_the_earliest_of_equal_values(srf_db: sqlite_utils.Database) -> None:
    top = record_high(srf_db, "srf")
    assert top is not None and (top.date, top.value) == ("2025-10-31", 50.35)
    # SOFR printed 5.33 on three days: the record is the first of them after the 5.35 day.
    sofr = record_high(srf_db, "sofr")
    assert sofr is not None and (sofr.date, sofr.value) == ("2024-06-03", 5.35)
    upsert_observations(srf_db, [obs("sofr", "2024-06-03", 5.33)], fetched_at=T1)
    tied = record_high(srf_db, "sofr")
    assert tied is not None and (tied.date, tied.value) == ("2024-06-03", 5.33)
    assert record_high(srf_db, "rrp") is None


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0.0, ("2025-10-31", 50.35)),  # two zero days since the record
        (6.0, ("2025-10-31", 50.35)),
        (50.35, None),  # strictly above
        (5.0, ("2025-10-31", 50.35)),
        (-1.0, ("2025-11-04", 0.0)),  # a negative threshold counts zero days too
    ],
)
def test_last_above(
    srf_db: sqlite_utils.Database, threshold: float, expected: tuple[str, float] | None
) -> None:
    point = last_above(srf_db, "srf", threshold)
    assert (None if point is None else (point.date, point.value)) == expected


def test_last_above_follows_a_value_revised_to_zero(srf_db: sqlite_utils.Database) -> None:
    upsert_observations(srf_db, [obs("srf", "2025-10-31", 0.0)], fetched_at=T1)
    point = last_above(srf_db, "srf")
    assert point is not None and (point.date, point.value) == ("2025-10-15", 6.0)
    top = record_high(srf_db, "srf")
    assert top is not None and (top.date, top.value) == ("2025-09-30", 6.0)


def test_newest_dates_of_an_empty_database(db: sqlite_utils.Database) -> None:
    assert newest_dates(db) == {}


@pytest.mark.parametrize(
    "read",
    [
        lambda db: newest_dates(db),
        lambda db: max_before(db, "srf", "2025-10-31"),
        lambda db: record_high(db, "srf"),
        lambda db: last_above(db, "srf"),
        lambda db: last_above(db, "srf", 20.0),
    ],
    ids=["newest_dates", "max_before", "record_high", "last_above", "last_above_20"],
)
def test_extremes_seek_an_index_and_never_scan_or_sort(
    srf_db: sqlite_utils.Database, read: Callable[[sqlite_utils.Database], object]
) -> None:
    statements: list[str] = []
    srf_db.conn.set_trace_callback(statements.append)
    try:
        read(srf_db)
    finally:
        srf_db.conn.set_trace_callback(None)
    assert len(statements) == 1, statements
    plan = [row[-1] for row in srf_db.execute("EXPLAIN QUERY PLAN " + statements[0]).fetchall()]
    assert any(step.startswith("SEARCH") for step in plan), plan
    assert not any(step.startswith("SCAN observations") or "TEMP B-TREE" in step for step in plan), plan


def _op(oid: str, day: str, amount: float, *, session: str = "AM", sve: bool = False) -> Operation:
    return Operation(
        operation_id=oid,
        operation_date=day,
        operation_type="Repo",
        method="Full Allotment",
        settlement_type="Same Day",
        term="Overnight",
        session=session,
        is_sve=sve,
        close_time="08:30" if session == "AM" else "13:45",
        total_submitted=amount,
        total_accepted=amount,
        rate=3.75,
        treasury=amount,
        agency=0.0,
        mbs=0.0,
        last_updated=f"{day} 08:30:44",
    )


def test_operations_upsert_round_trip(db: sqlite_utils.Database) -> None:
    ops = [_op("RP 021726 25", "2026-02-17", 11.0), _op("RP 021726 30", "2026-02-17", 19.5, session="PM")]
    assert upsert_operations(db, ops, fetched_at=T0) == ops
    assert upsert_operations(db, ops, fetched_at=T1) == []
    stored = operations_between(db, "2026-02-17", "2026-02-17", "Repo")
    assert stored == ops
    assert latest_operation_date(db, "Repo") == "2026-02-17"
    assert latest_operation_date(db, "Reverse Repo") is None
    changed = _op("RP 021726 30", "2026-02-17", 19.6, session="PM")
    assert upsert_operations(db, [changed], fetched_at=T1) == [changed]


def test_fetch_log(db: sqlite_utils.Database) -> None:
    record_fetch(db, FetchRecord("nyfed", T0, 120, "ok", None, 10))
    record_fetch(db, FetchRecord("nyfed", T1, 30, "error", "HTTP 503 after 4 attempts", 0))
    record_fetch(db, FetchRecord("nyfed", T1, 30, "error", "timed out after 4 attempts", 0))
    record_fetch(db, FetchRecord("fred", T1, 50, "ok", None, 0))
    assert last_fetches(db)["nyfed"].error == "timed out after 4 attempts"
    assert last_success(db) == {"nyfed": T0, "fred": T1}
    assert failure_streak(db, "nyfed") == 2
    assert failure_streak(db, "fred") == 0


def test_meta(db: sqlite_utils.Database) -> None:
    assert get_meta(db, "x") is None
    set_meta(db, "x", "1")
    set_meta(db, "x", "2")
    assert get_meta(db, "x") == "2"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "missing-dir" / "x.db", "does not exist"),
        (lambda p: p, "is a folder"),
    ],
)
def test_unusable_paths_give_clear_errors(tmp_path: Path, setup: object, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_db(setup(tmp_path))  # type: ignore[operator]


def test_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError, match="not a valid Plumbline database"):
        open_db(bogus)


def test_parameterised_values_survive_hostile_text(db: sqlite_utils.Database) -> None:
    hostile = "x'); DROP TABLE observations; --"
    upsert_observations(db, [obs(hostile, "2026-01-01", 1.0)], fetched_at=T0)
    assert value_on(db, hostile, "2026-01-01") == 1.0
    assert "observations" in db.table_names()


STAMP = "2025-10-31T12:05:00Z"


def test_the_next_batch_of_the_outbox_is_read_in_queue_order_without_sorting(
    db: sqlite_utils.Database,
) -> None:
    """A broadcast to 100,000 chats reads its batches while it sends: each read must not sort the queue."""
    chats = [
        ensure_chat(db, "telegram", str(1000 + n), title="", is_group=False, now=STAMP).id for n in range(300)
    ]
    add_event(
        db, key="e", rule="sofr_breach", kind="start", data_date="2025-10-31", audience="all",
        payload="{}", now=STAMP,
    )  # fmt: skip
    enqueue(db, chats, "e", STAMP)
    db.execute("UPDATE outbox SET status = 'sent' WHERE id <= 100")
    db.execute("UPDATE outbox SET next_attempt_at = '2099-01-01T00:00:00Z' WHERE id % 7 = 0")  # retries later
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        batch = due(db, "2025-11-01T00:00:00Z", limit=50)
    finally:
        db.conn.set_trace_callback(None)
    expected = [i for i in range(101, 301) if i % 7][:50]
    assert [row.id for row in batch] == expected
    plan = [row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + statements[0]).fetchall()]
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_collector_pauses_overlap_and_restore_the_collector() -> None:
    """The poller's backfill and the upsert on a worker thread both pause the collector; it comes back
    when the last pause ends, in whatever order they end, and one that was off stays off."""
    assert gc.isenabled()
    backfill, upsert = collector_paused(), collector_paused()
    backfill.__enter__()
    upsert.__enter__()
    backfill.__exit__(None, None, None)
    assert not gc.isenabled()  # the upsert's pause still holds
    upsert.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
