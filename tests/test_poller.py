"""The poller against a real aiohttp fake of the three data APIs on loopback (no mocks)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from bot.core.config import Settings, load_settings
from bot.core.models import SourceBatch
from bot.core.series import CATALOG
from bot.sources.http import RetryPolicy, make_client
from bot.sources.poller import Poller, PollResult
from bot.sources.registry import SOURCES
from bot.words.reply import Context
from handlers.table import dispatch
from storage.db import open_db
from storage.fetchlog import last_fetches
from storage.meta import get_meta
from storage.observations import latest, revisions, value_on
from storage.operations import operations_between
from tests.fakes.history import real_cases_history
from tests.fakes.sources import FakeSources

NOW = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
SINCE = date(2026, 2, 1)


FAST_RETRIES = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSources]:
    async with FakeSources(real_cases_history()) as server:
        yield server


def settings_for(fake: FakeSources, tmp_path: Path, **extra: str) -> Settings:
    env = {**fake.env(), "DATABASE_PATH": str(tmp_path / "p.db"), "HTTP_TIMEOUT_SECONDS": "1", **extra}
    return load_settings(env, env_file=None)


async def poll_once(settings: Settings, db: sqlite_utils.Database, since: date | None = SINCE) -> PollResult:
    async with make_client(settings.http_timeout_seconds, FAST_RETRIES) as client:
        return await Poller(settings, client, db, clock=lambda: NOW).poll(since=since)


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("observations", "operations")}


async def test_backfill_stores_every_catalog_series_with_real_values(
    fake: FakeSources, tmp_path: Path
) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    result = await poll_once(settings, db)
    assert not result.failed, [o.error for o in result.failed]
    for series in CATALOG:
        assert latest(db, series) is not None, f"{series} missing after backfill"
    assert value_on(db, "srf", "2026-02-17") == pytest.approx(30.5)
    assert value_on(db, "srf", "2026-02-18") == pytest.approx(0.004)  # the $0.056B SVE is excluded
    assert value_on(db, "srf_rate", "2026-02-17") == 3.75
    assert value_on(db, "rrp", "2026-02-17") == pytest.approx(0.441)
    assert value_on(db, "tga", "2026-06-23") == pytest.approx(925.876)
    assert value_on(db, "sofr", "2026-02-05") == 3.65
    assert value_on(db, "sofr_p99", "2026-02-05") == 3.74
    assert value_on(db, "effr", "2026-02-05") == 3.64
    ops = operations_between(db, "2026-02-17", "2026-02-18", "Repo")
    assert [(o.operation_date, o.session, o.is_sve) for o in ops] == [
        ("2026-02-17", "AM", False),
        ("2026-02-17", "PM", False),
        ("2026-02-18", "AM", False),
        ("2026-02-18", "", True),
        ("2026-02-18", "PM", False),
    ]
    # net liquidity is derived for every date where all three inputs exist
    net = latest(db, "net_liquidity")
    assert net is not None
    assets, tga, rrp = (latest(db, s, on_or_before=net.date) for s in ("fed_assets", "tga", "rrp"))
    assert assets and tga and rrp
    assert net.value == pytest.approx(assets.value - tga.value - rrp.value)
    db.close()


async def test_polling_twice_changes_nothing(fake: FakeSources, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db)
    before = table_counts(db)
    second = await poll_once(settings, db)
    assert second.changes == [] and second.operations == []
    assert table_counts(db) == before
    assert revisions(db) == []
    db.close()


async def test_incremental_poll_fetches_a_short_window(fake: FakeSources, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db)
    result = await poll_once(settings, db, since=None)
    start, _ = result.outcomes["nyfed"].window
    newest_sofr = latest(db, "sofr")
    assert newest_sofr is not None
    assert (date.fromisoformat(newest_sofr.date) - start).days <= 12
    db.close()


async def test_revised_value_is_recorded_as_revision(fake: FakeSources, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db)
    fake.history.revise("sofr", "2026-02-05", 3.66)
    result = await poll_once(settings, db)
    assert [(c.series, c.date, c.old, c.new) for c in result.changes if c.series == "sofr"] == [
        ("sofr", "2026-02-05", 3.65, 3.66)
    ]
    assert [r[:4] for r in revisions(db, "sofr")] == [("sofr", "2026-02-05", 3.65, 3.66)]
    db.close()


async def test_an_empty_answer_where_data_was_published_degrades_the_source(
    fake: FakeSources, tmp_path: Path
) -> None:
    # Issue #10 changed this: an empty body for a window of published business days used to be "0 rows, ok".
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    await poll_once(settings, db)
    before = set(db.execute("SELECT series, date, value FROM observations").fetchall())
    for source in ("nyfed", "fred", "fiscaldata"):
        fake.set_fault(source, "empty")
    result = await poll_once(settings, db, since=None)
    assert sorted(o.source for o in result.failed) == ["fiscaldata", "fred", "nyfed"]
    assert all("business days were published" in (o.error or "") for o in result.failed)
    assert result.changes == []
    assert set(db.execute("SELECT series, date, value FROM observations").fetchall()) == before
    db.close()


@pytest.mark.parametrize("source", ["nyfed", "fred", "fiscaldata"])
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("timeout", "timed out"),
        ("429", "HTTP 429"),
        ("500", "HTTP 500"),
        ("html", "HTML"),
        ("truncated", ""),
        ("drop", ""),
        ("renamed_field", ""),
        ("wrong_type", ""),
    ],
)
async def test_a_failing_source_never_stops_the_others(
    fake: FakeSources,
    tmp_path: Path,
    source: str,
    fault: str,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_for(fake, tmp_path, HTTP_TIMEOUT_SECONDS="0.3")
    db = open_db(settings.database_path)
    await poll_once(settings, db)
    before = set(db.execute("SELECT series, date, value FROM observations").fetchall())
    fake.history.publish("sofr", "2026-07-01", 3.70)
    fake.history.publish("tga", "2026-07-01", 930_000.0)  # wire units: $mn
    fake.history.publish("fed_assets", "2026-07-01", 6_700_000.0)
    fake.set_fault(source, fault)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = await poll_once(settings, db, since=None)
    failed = result.outcomes[source]
    # one clear line for the failure at WARNING; the retry steps are DEBUG detail, never a flood
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].getMessage().startswith(f"{source}: ")
    assert len([r for r in caplog.records if r.name == "bot.sources.http"]) <= 10
    # /status names the degraded source, in words a user understands
    status = dispatch("/status", Context("telegram", "1", "1", NOW), db)
    assert status is not None and status.level == "warning"
    assert f"{SOURCES[source].label}: \u26a0 failing since" in status.plain_text()
    assert not failed.ok
    assert failed.error and expected in failed.error
    assert last_fetches(db)[source].outcome == "error"
    # the healthy sources stored their new values
    healthy = {"nyfed": "sofr", "fiscaldata": "tga", "fred": "fed_assets"}
    for other, series in healthy.items():
        if other == source:
            continue
        assert result.outcomes[other].ok, result.outcomes[other].error
        point = latest(db, series)
        assert point is not None and point.date == "2026-07-01"
    # nothing of the failed source was written, and nothing stored before was lost
    after = set(db.execute("SELECT series, date, value FROM observations").fetchall())
    assert before <= after
    failed_series = {s for s, info in CATALOG.items() if info.source == source}
    assert not {row for row in after - before if row[0] in failed_series}
    db.close()


def test_closed_port(tmp_path: Path) -> None:
    """Nothing listening: every source records a clear connection error and the call returns."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        "NYFED_BASE_URL": base,
        "FRED_CSV_URL": base + "/fred.csv",
        "FISCALDATA_BASE_URL": base,
        "DATABASE_PATH": str(tmp_path / "p.db"),
    }
    settings = load_settings(env, env_file=None)
    db = open_db(settings.database_path)
    result = asyncio.run(poll_once(settings, db))
    assert {o.source for o in result.failed} == set(SOURCES)
    for outcome in result.failed:
        assert outcome.error is not None and "connection refused" in outcome.error
    assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0
    db.close()


async def test_one_bad_window_of_a_backfill_stores_nothing_of_its_source(
    fake: FakeSources, tmp_path: Path
) -> None:
    """The NY Fed's windows arrive in parallel, but the source is still all or nothing: one implausible
    value in one window keeps every other window's rows and operations out too."""
    fake.history.publish("sofr", "2019-06-03", 99.0)
    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    result = await poll_once(settings, db, since=date(2000, 1, 1))
    nyfed = result.outcomes["nyfed"]
    assert not nyfed.ok
    assert nyfed.error == "SOFR on 2019-06-03 is 99%, outside the plausible -1% to 25%"
    sources = {row[0] for row in db.execute("SELECT DISTINCT source FROM observations")}
    assert "nyfed" not in sources and {"fred", "fiscaldata", "treasury"} <= sources
    assert db.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == 0
    db.close()


async def test_a_backfill_pauses_the_collector_and_restores_it(fake: FakeSources, tmp_path: Path) -> None:
    during: list[bool] = []
    spec = SOURCES["fiscaldata"]

    async def fetch(client: httpx.AsyncClient, settings: Settings, start: date, end: date) -> SourceBatch:
        during.append(gc.isenabled())
        return await spec.fetch(client, settings, start, end)

    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    sources = {"fiscaldata": dataclasses.replace(spec, fetch=fetch)}
    async with make_client(settings.http_timeout_seconds, FAST_RETRIES) as client:
        poller = Poller(settings, client, db, clock=lambda: NOW, sources=sources)
        assert not (await poller.poll(since=SINCE)).failed
        assert not (await poller.poll()).failed
    assert during == [False, True]  # paused for the backfill only
    assert gc.isenabled()
    db.close()


async def test_derived_series_a_killed_poll_never_derived_are_derived_by_the_next(
    fake: FakeSources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inputs were committed, then the process died before its derive step (kill -9 of the bot, or
    of the history process with it): net liquidity and the DVP proxy were missing for good."""
    reference = open_db(tmp_path / "reference.db")
    await poll_once(settings_for(fake, tmp_path, DATABASE_PATH=str(tmp_path / "reference.db")), reference)
    derived = "SELECT series, date, value FROM observations WHERE series IN ('net_liquidity', 'dvp_volume')"
    expected = set(reference.execute(derived).fetchall())
    assert {row[0] for row in expected} == {"net_liquidity", "dvp_volume"}

    settings = settings_for(fake, tmp_path)
    db = open_db(settings.database_path)
    with monkeypatch.context() as killed:
        killed.setattr(Poller, "_derive_stale", lambda self, db: [])  # died before deriving anything
        await poll_once(settings, db)
    assert set(db.execute(derived).fetchall()) == set()
    assert get_meta(db, "derived_stale_from.net_liquidity") is not None  # the mark survived

    again = await poll_once(settings, db, since=None)  # a restart: nothing new at the sources
    assert set(db.execute(derived).fetchall()) == expected
    assert {c.series for c in again.derived} == {"net_liquidity", "dvp_volume"}
    assert get_meta(db, "derived_stale_from.net_liquidity") is None
    assert get_meta(db, "derived_stale_from.dvp_volume") is None
    assert not (await poll_once(settings, db, since=None)).derived  # and nothing is derived twice
