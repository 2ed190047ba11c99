"""Data you can trust: a corrupt payload rejects the whole fetch, degrades the source, then recovers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.config import Settings, load_settings
from bot.core.models import Observation, Operation, SourceBatch, SourceError
from bot.sources.http import RetryPolicy, make_client
from bot.sources.poller import Poller, PollResult
from bot.sources.registry import SOURCES
from bot.sources.validate import validate_batch
from bot.words.reply import Context
from handlers.table import dispatch
from storage.db import open_db
from storage.fetchlog import last_fetches
from storage.observations import latest
from tests.fakes.history import History, real_cases_history
from tests.fakes.sources import FakeSources

NOW = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
TODAY = date(2026, 7, 1)
SINCE = date(2026, 2, 1)


def obs(series: str, day: str, value: float, source: str = "nyfed") -> Observation:
    return Observation(series, day, value, source)


def op(op_id: str, day: str, accepted: float) -> Operation:
    return Operation(
        op_id, day, "Repo", "Full Allotment", "Same Day", "Overnight", "PM", False, "13:45", accepted,
        accepted, 3.75, accepted, 0.0, 0.0, f"{day} 14:00:00",
    )  # fmt: skip


SOFR_DAY = [
    obs("sofr", "2026-02-19", 3.66),
    obs("sofr_p1", "2026-02-19", 3.60),
    obs("sofr_p25", "2026-02-19", 3.63),
    obs("sofr_p75", "2026-02-19", 3.68),
    obs("sofr_p99", "2026-02-19", 3.74),
]


def check(batch: SourceBatch) -> SourceBatch:
    # a window of two days holds no fully published business day, so emptiness is not judged here
    return validate_batch(batch, start=date(2026, 6, 30), end=date(2026, 7, 2), today=TODAY)


@pytest.mark.parametrize(
    ("source", "observations", "operations", "reason"),
    [
        (
            "nyfed",
            [obs("sofr", "2019-09-17", 9999.0)],
            [],
            "SOFR on 2019-09-17 is 9999%, outside the plausible",
        ),
        ("nyfed", [obs("sofr", "2026-02-19", -4.16)], [], "outside the plausible -1% to 25%"),
        ("nyfed", [obs("srf", "2025-10-31", -50.35)], [], "SRF take-up on 2025-10-31 is $-50.35bn"),
        ("fred", [obs("iorb", "2026-02-19", -9999.0, "fred")], [], "IORB on 2026-02-19 is -9999%"),
        ("fred", [obs("fed_assets", "2026-02-18", -9.999, "fred")], [], "Fed total assets on 2026-02-18"),
        ("fiscaldata", [obs("tga", "2026-02-19", -123.0, "fiscaldata")], [], "TGA closing balance"),
        ("fiscaldata", [obs("tga", "2026-02-19", 1e9, "fiscaldata")], [], "outside the plausible $0bn"),
        ("nyfed", [obs("sofr", "2030-01-02", 3.66)], [], "dated 2030-01-02, in the future"),
        (
            "fred",
            [obs("reserves", "2026-07-06", 3000.0, "fred")],
            [],
            "in the future (nothing after 2026-07-02",
        ),
        ("nyfed", [obs("sofr", "2017-01-03", 0.5)], [], "before the series began on 2018-04-02"),
        ("nyfed", [obs("srf", "2021-07-28", 0.0)], [], "before the series began on 2021-07-29"),
        (
            "nyfed",
            [obs("sofr", "2026-02-19", 3.66), obs("sofr", "2026-02-19", 4.16)],
            [],
            "SOFR on 2026-02-19 arrived twice with different values (3.66% and 4.16%)",
        ),
        (
            "nyfed",
            [obs("srf", "2026-02-18", 0.0), obs("srf", "2026-02-18", 14.0)],
            [],
            "SRF take-up on 2026-02-18 arrived twice with different values ($0bn and $14bn)",
        ),
        (
            "nyfed",
            [],
            [op("RP 260218 1", "2026-02-18", 0.0), op("RP 260218 1", "2026-02-18", 14.0)],
            "operation RP 260218 1 on 2026-02-18 arrived twice with different contents",
        ),
        ("nyfed", [], [op("RP 260218 2", "2026-02-18", -1.0)], "accepted $-1bn is not a plausible amount"),
        ("nyfed", [], [op("RP 300102 1", "2030-01-02", 1.0)], "dated 2030-01-02, in the future"),
        (
            "nyfed",
            [*SOFR_DAY[:2], obs("sofr_p25", "2026-02-19", 3.70), *SOFR_DAY[3:]],
            [],
            "SOFR percentiles on 2026-02-19 are out of order: SOFR p25 3.7% above SOFR p75 3.68%",
        ),
        (
            "nyfed",
            [obs("sofr", "2026-02-19", 3.80), *SOFR_DAY[1:]],
            [],
            "SOFR on 2026-02-19 is 3.8%, outside its own 1st-99th percentiles 3.6%-3.74%",
        ),
    ],
)
def test_implausible_batches_are_rejected_whole(
    source: str, observations: list[Observation], operations: list[Operation], reason: str
) -> None:
    good = [] if any(o.date == "2026-02-19" for o in observations) else SOFR_DAY
    batch = SourceBatch(source, [*good, *observations] if source == "nyfed" else observations, operations)
    with pytest.raises(SourceError) as raised:
        check(batch)
    assert raised.value.source == source
    assert reason in raised.value.problem


def test_identical_duplicates_collapse_and_real_cases_pass() -> None:
    batch = SourceBatch(
        "nyfed",
        [
            *SOFR_DAY,
            *SOFR_DAY,
            obs("sofr", "2019-09-17", 5.25),  # the repo spike is extreme but real
            obs("srf", "2025-10-31", 50.35),  # the month-end SRF record
            obs("srf", "2026-02-18", 0.004),
            obs("sofr", "2026-07-02", 3.65),  # the next business day is the latest date allowed
        ],
        [op("RP 260218 1", "2026-02-18", 0.004), op("RP 260218 1", "2026-02-18", 0.004)],
    )
    checked = check(batch)
    assert len(checked.observations) == len(SOFR_DAY) + 4
    assert len(checked.operations) == 1


def test_an_empty_window_without_published_days_is_fine() -> None:
    # Saturday 2026-07-04 (Independence Day) to Monday: no business day whose values are surely out.
    empty = SourceBatch("nyfed")
    assert (
        validate_batch(empty, start=date(2026, 7, 3), end=date(2026, 7, 7), today=date(2026, 7, 6)) == empty
    )
    with pytest.raises(SourceError, match=r"no SOFR values for 2026-06-01..2026-06-29"):
        validate_batch(empty, start=date(2026, 6, 1), end=date(2026, 7, 2), today=TODAY)


# -- the same through the poller, against the loopback fakes


FAST_RETRIES = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSources]:
    async with FakeSources(real_cases_history()) as server:
        yield server


def settings_for(fake: FakeSources, tmp_path: Path) -> Settings:
    env = {**fake.env(), "DATABASE_PATH": str(tmp_path / "p.db"), "HTTP_TIMEOUT_SECONDS": "1"}
    return load_settings(env, env_file=None)


async def poll_once(settings: Settings, db: sqlite_utils.Database, since: date | None = None) -> PollResult:
    async with make_client(settings.http_timeout_seconds, FAST_RETRIES) as client:
        return await Poller(settings, client, db, clock=lambda: NOW).poll(since=since)


def rows(db: sqlite_utils.Database) -> set[tuple[str, str, float]]:
    return set(db.execute("SELECT series, date, value FROM observations").fetchall())


Corrupt = Callable[[History], Callable[[History], None]]


def _bad_value(series: str, day: str, bad: float) -> Corrupt:
    def corrupt(history: History) -> Callable[[History], None]:
        good = history.value(series, day)
        if good is None:
            history.publish(series, day, bad)
            return lambda h: h.retract(series, day)
        history.revise(series, day, bad)
        return lambda h: h.revise(series, day, good)

    return corrupt


def _bad_operation(day: str, accepted: float) -> Corrupt:
    def corrupt(history: History) -> Callable[[History], None]:
        target = next(o for o in history.operations_on(day) if o["operationType"] == "Repo")
        good = target["totalAmtAccepted"]
        history.revise_operation(target["operationId"], totalAmtAccepted=accepted)
        return lambda h: h.revise_operation(target["operationId"], totalAmtAccepted=good)

    return corrupt


def _fault(fault: str) -> Corrupt:
    def corrupt(history: History) -> Callable[[History], None]:
        return lambda h: None

    corrupt.fault = fault  # type: ignore[attr-defined]
    return corrupt


CORRUPT_PAYLOADS = [
    ("nyfed", "out of range", _bad_value("sofr", "2026-06-26", 9999.0), "outside the plausible"),
    ("nyfed", "negative", _bad_value("sofr", "2026-06-26", -4.0), "outside the plausible"),
    ("nyfed", "negative operation", _bad_operation("2026-06-26", -5e9), "totalAmtAccepted is negative"),
    ("nyfed", "renamed field", _fault("renamed_field"), "percentRate is missing"),
    ("nyfed", "wrong type", _fault("wrong_type"), "not a number"),
    ("nyfed", "empty", _fault("empty"), "business days were published"),
    ("fred", "out of range", _bad_value("iorb", "2026-06-26", -9999.0), "IORB on 2026-06-26 is -9999%"),
    ("fred", "negative", _bad_value("fed_assets", "2026-06-24", -9999.0), "Fed total assets on 2026-06-24"),
    ("fred", "future date", _bad_value("iorb", "2030-01-02", 3.65), "in the future"),
    ("fred", "renamed field", _fault("renamed_field"), "unexpected CSV header"),
    ("fred", "wrong type", _fault("wrong_type"), "non-numeric value"),
    ("fred", "empty", _fault("empty"), "business days were published"),
    (
        "fiscaldata",
        "negative",
        _bad_value("tga", "2026-06-23", -123_000.0),
        "TGA closing balance on 2026-06-23",
    ),
    ("fiscaldata", "out of range", _bad_value("tga", "2026-06-23", 9e12), "outside the plausible"),
    ("fiscaldata", "future date", _bad_value("tga", "2030-01-02", 900_000.0), "in the future"),
    ("fiscaldata", "renamed field", _fault("renamed_field"), "no 'data' list"),
    ("fiscaldata", "wrong type", _fault("wrong_type"), "expected a string"),
    ("fiscaldata", "empty", _fault("empty"), "business days were published"),
]


@pytest.mark.parametrize(
    ("source", "case", "corrupt", "reason"),
    CORRUPT_PAYLOADS,
    ids=[f"{source}-{case}" for source, case, _, _ in CORRUPT_PAYLOADS],
)
async def test_a_corrupt_payload_stores_nothing_degrades_and_recovers(
    fake: FakeSources, tmp_path: Path, source: str, case: str, corrupt: Corrupt, reason: str
) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db, since=SINCE)
    before = rows(db)
    repair = corrupt(fake.history)
    fault = getattr(corrupt, "fault", None)
    if fault is not None:
        fake.set_fault(source, fault)
    result = await poll_once(settings, db)
    failed = result.outcomes[source]
    assert not failed.ok and failed.error is not None and reason in failed.error, failed.error
    assert {r for r in before if _source_of(r[0]) == source} <= rows(db)  # nothing stored was lost
    assert not [r for r in rows(db) - before if _source_of(r[0]) == source]  # nothing of the batch written
    status = dispatch("/status", Context("telegram", "1", "1", NOW), db)
    assert status is not None and status.level == "warning"
    assert f"{SOURCES[source].label}: \u26a0 failing since" in status.plain_text()
    operator = dispatch("/status", Context("telegram", "1", "1", NOW, is_operator=True), db)
    assert operator is not None and reason in operator.plain_text()
    assert last_fetches(db)[source].outcome == "error"
    # the source is fixed: the next fetch recovers by itself, and the window never moved past today
    repair(fake.history)
    fake.clear_faults()
    again = await poll_once(settings, db)
    assert again.outcomes[source].ok, again.outcomes[source].error
    assert last_fetches(db)[source].outcome == "ok"
    start, _ = again.outcomes[source].window or (None, None)
    assert start is not None and start <= TODAY
    newest = max(r[1] for r in rows(db) if _source_of(r[0]) == source)
    assert newest <= "2026-07-02"
    db.close()


async def test_a_stored_future_date_cannot_hold_the_window(fake: FakeSources, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db, since=SINCE)
    # a row written before validation existed
    db.execute("INSERT INTO observations (series, date, value, source, fetched_at) VALUES (?, ?, ?, ?, ?)",
               ("tga", "2030-01-02", 900.0, "fiscaldata", "2026-01-01T00:00:00Z"))  # fmt: skip
    fake.history.publish("tga", "2026-07-01", 930_000.0)
    result = await poll_once(settings, db)
    start, _ = result.outcomes["fiscaldata"].window or (None, None)
    assert start is not None and start < TODAY
    point = latest(db, "tga", on_or_before="2026-07-01")
    assert point is not None and point.date == "2026-07-01"
    db.close()


def _source_of(series: str) -> str:
    from bot.core.series import CATALOG

    return CATALOG[series].source


def test_renamed_fiscaldata_amount_fields_are_a_parse_error() -> None:
    from bot.sources.fiscaldata import CLOSING_ROW, parse_operating_cash_balance

    row = {"record_date": "2026-06-23", "account_type": CLOSING_ROW, "open_today_balance": "925876"}
    with pytest.raises(SourceError, match=r"the Treasury General Account .* row has no balance fields"):
        parse_operating_cash_balance({"data": [row]})


async def test_once_a_week_an_incremental_poll_looks_back_90_days(fake: FakeSources, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db, since=SINCE)  # a backfill covers the deep look-back for a week

    async def window_at(moment: datetime) -> tuple[date, date]:
        async with make_client(settings.http_timeout_seconds, FAST_RETRIES) as client:
            result = await Poller(settings, client, db, clock=lambda: moment).poll(["nyfed"])
        assert result.outcomes["nyfed"].ok, result.outcomes["nyfed"].error
        window = result.outcomes["nyfed"].window
        assert window is not None
        return window

    short, _ = await window_at(NOW)
    assert (TODAY - short).days <= 15
    later = NOW.replace(day=9)  # eight days on: this poll reaches 90 days back
    deep, _ = await window_at(later)
    newest = latest(db, "sofr")
    assert newest is not None and (date.fromisoformat(newest.date) - deep).days == 90
    again, _ = await window_at(later)  # and the next one is short again
    assert (date.fromisoformat(newest.date) - again).days == 10
    db.close()
