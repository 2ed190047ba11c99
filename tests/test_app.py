"""The running app: scheduler, backoff with no network, and one instance per database."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import pytest
import sqlite_utils

from bot.app import App
from bot.core.config import Settings, load_settings
from bot.sources.http import RetryPolicy
from bot.sources.poller import PollerClosedError
from bot.sources.registry import SOURCES
from storage.db import open_db
from storage.instance import InstanceLock, InstanceLockedError
from storage.observations import latest
from tests.fakes.sources import FakeSources


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unreachable(tmp_path: Path, **extra: str) -> Settings:
    base = f"http://127.0.0.1:{_closed_port()}"
    env = {
        "NYFED_BASE_URL": base,
        "FRED_CSV_URL": base + "/fredgraph.csv",
        "FISCALDATA_BASE_URL": base,
        "DATABASE_PATH": str(tmp_path / "p.db"),
        "POLL_INTERVAL_SECONDS": "1",
        **extra,
    }
    return load_settings(env, env_file=None)


async def test_run_with_no_network_keeps_running_and_backs_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fast = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
    app = App(_unreachable(tmp_path), console=False, retry=fast)
    with caplog.at_level(logging.WARNING):
        await app.start()
        await asyncio.sleep(4.5)
        assert app.scheduler is not None and app.scheduler.running
        await app.stop()
    failures = [r for r in caplog.records if "poll failed" in r.getMessage()]
    per_source = {s: sum(s in r.getMessage() for r in failures) for s in ("nyfed", "fred", "fiscaldata")}
    # 1 s interval doubling per failure: attempts at ~0, 2 and (maybe) 4 s. Never one per tick, never silent.
    assert all(1 <= n <= 3 for n in per_source.values()), per_source
    db = open_db(tmp_path / "p.db")
    outcomes = db.execute("SELECT DISTINCT source, outcome FROM fetch_log").fetchall()
    assert set(outcomes) == {(name, "error") for name in SOURCES}  # nyfed, fred, fiscaldata, treasury
    db.close()


async def test_run_polls_sources_into_storage(tmp_path: Path) -> None:
    async with FakeSources() as fake:
        env = {**fake.env(), "DATABASE_PATH": str(tmp_path / "p.db"), "POLL_INTERVAL_SECONDS": "1"}
        app = App(load_settings(env, env_file=None), console=False)
        await app.start()
        for _ in range(100):
            await asyncio.sleep(0.05)
            assert app.db is not None
            if latest(app.db, "tga") and latest(app.db, "sofr") and latest(app.db, "fed_assets"):
                break
        await app.stop()
    db = open_db(tmp_path / "p.db")
    assert latest(db, "sofr") is not None and latest(db, "tga") is not None
    db.close()


def test_second_instance_on_same_database_is_refused(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path / "p.db")
    first.acquire()
    try:
        with pytest.raises(InstanceLockedError, match="already running on this database"):
            InstanceLock(tmp_path / "p.db").acquire()
        InstanceLock(tmp_path / "other.db").acquire()  # another database is fine
    finally:
        first.release()
    again = InstanceLock(tmp_path / "p.db")
    again.acquire()
    again.release()


async def test_stop_waits_for_a_write_in_flight(tmp_path: Path) -> None:
    """Closing the connection under a running write crashed the interpreter; stop() must wait for it."""
    app = App(_unreachable(tmp_path, POLL_INTERVAL_SECONDS="3600"), console=False)
    await app.start()
    assert app.driver is not None
    poller = app.driver.poller
    finished: list[int] = []

    def slow_write(db: sqlite_utils.Database) -> None:
        time.sleep(0.5)
        finished.append(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])

    write = asyncio.create_task(poller.write(slow_write))
    await asyncio.sleep(0.1)
    await app.stop()
    assert finished == [0]  # the write completed before the database was closed
    assert write.done() and write.exception() is None
    with pytest.raises(PollerClosedError):
        await poller.write(slow_write)
