"""The running app: scheduler, backoff with no network, and one instance per database."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import pytest
import sqlite_utils

from bot import app as app_module
from bot.app import WATCH_SECONDS, App, retry_delay
from bot.core.config import Settings, load_settings
from bot.sources.http import RetryPolicy
from bot.sources.poller import PollerClosedError
from bot.sources.registry import SOURCES
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from storage.chats import ensure_chat
from storage.db import open_db
from storage.instance import InstanceLock, InstanceLockedError
from storage.observations import latest
from storage.outbox import add_event, enqueue
from tests.fakes.sources import FakeSources
from tests.fakes.telegram import FakeTelegram

STAMP = "2025-10-31T13:31:00Z"


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


@pytest.mark.parametrize("alias", ["symlink", "dotdot", "relative"])
def test_lock_follows_the_real_file_whatever_path_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alias: str
) -> None:
    """`ln -s two.db link.db` then DATABASE_PATH=link.db started a second bot: every alert doubled."""
    real = tmp_path / "two.db"
    open_db(real).close()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    if alias == "symlink":
        (tmp_path / "link.db").symlink_to(real)
        other = tmp_path / "link.db"
    elif alias == "dotdot":
        other = tmp_path / "sub" / ".." / "two.db"
    else:
        other = Path("../two.db")
    first = InstanceLock(real)
    first.acquire()
    try:
        with pytest.raises(InstanceLockedError, match="already running on this database"):
            InstanceLock(other).acquire()
    finally:
        first.release()


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


def _telegram_app(tmp_path: Path, tg: FakeTelegram, token: str | None = None) -> App:
    settings = _unreachable(
        tmp_path,
        POLL_INTERVAL_SECONDS="3600",
        TELEGRAM_BOT_TOKEN=token or tg.token,
        TELEGRAM_API_BASE_URL=tg.base_url,
    )
    return App(settings, console=False)


async def test_telegram_down_at_start_retries_until_it_connects_and_drains_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """It used to log "could not start" once and never try again: queued alerts never went out."""
    monkeypatch.setattr(app_module, "retry_delay", lambda attempt: 0.2)
    async with FakeTelegram() as tg:
        tg.fail_next("getMe", status=502, retry_after=None, body="<html>502 Bad Gateway</html>", count=6)
        app = _telegram_app(tmp_path, tg)
        with caplog.at_level(logging.INFO):
            await app.start()
            assert app.worker is not None and "telegram" not in app.worker.senders
            assert app.db is not None
            chat = ensure_chat(app.db, "telegram", "4242", title="", is_group=False, now=STAMP)
            add_event(
                app.db, key="k", rule="srf", kind="start", data_date="2025-10-31", audience="alerts",
                payload=reply_to_json(Reply("SRF take-up $50.35B", [Text("month-end record")])), now=STAMP,
            )  # fmt: skip
            enqueue(app.db, [chat.id], "k", STAMP)
            app.db.conn.commit()
            await tg.wait_for("sendMessage", timeout=20)
            # The chat front-end connects on a retry of its own; stopping while it still registers its
            # menus would cut a request off mid-body, which the fake logs with a traceback of its own.
            deadline = time.monotonic() + 20
            while not any(r.getMessage().startswith("telegram: polling as @") for r in caplog.records):
                assert time.monotonic() < deadline, "the Telegram front-end never finished starting"
                await asyncio.sleep(0.05)
            await app.stop()
    assert app.exit_code == 0
    assert [c.params["chat_id"] for c in tg.sent()] == [4242]
    text = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    assert any(
        m.startswith("telegram delivery: cannot connect (NetworkError: Bad Gateway (502))") for m in text
    )
    assert any(m.startswith("telegram delivery: connected after") for m in text)
    assert [r for r in caplog.records if r.exc_info] == []


async def test_a_rejected_token_stops_the_process_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeTelegram() as tg:
        app = _telegram_app(tmp_path, tg, token="123456:WRONG-token-for-the-fake")
        with caplog.at_level(logging.WARNING):
            await app.start()
            assert app.stop_event.is_set()
            await app.stop()
    assert app.exit_code == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name == "bot.app"]
    assert errors == [
        "telegram: TELEGRAM_BOT_TOKEN was rejected (Unauthorized): set the token @BotFather gave you"
    ]


def test_start_up_retry_waits_are_capped_and_jittered() -> None:
    assert [round(retry_delay(n, lambda: 0.5), 1) for n in (1, 2, 3, 8, 9, 30)] == [
        2.0, 4.0, 8.0, 256.0, 300.0, 300.0,
    ]  # fmt: skip
    assert retry_delay(30, lambda: 0.0) == 225.0 and retry_delay(30, lambda: 1.0) == 375.0


@pytest.mark.parametrize("fault", ["deleted", "replaced"])
async def test_a_database_deleted_or_replaced_under_the_bot_stops_it(
    tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(_unreachable(tmp_path, POLL_INTERVAL_SECONDS="3600"), console=False)
    await app.start()
    assert app.watch_database()
    path = tmp_path / "p.db"
    path.unlink()
    if fault == "replaced":
        open_db(tmp_path / "other.db").close()
        (tmp_path / "other.db").rename(path)
    with caplog.at_level(logging.ERROR):
        assert not app.watch_database()
    assert app.exit_code == 3 and app.stop_event.is_set()
    await app.stop()
    assert WATCH_SECONDS <= 30  # noticed well within a minute
    # One line says what happened (a poll tick failing to write to the vanished file may log its own).
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database ")]
    assert f"database {path} was {'deleted' if fault == 'deleted' else 'replaced by another file'}" in line
