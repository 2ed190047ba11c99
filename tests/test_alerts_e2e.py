"""Alerts end to end: `plumbline run` in a subprocess, fake data sources and a fake Telegram on loopback.

A source publishes SOFR 4.22 for 2025-10-31 against a 3.75-4.00 range: every subscribed chat gets one
breach alert within a poll interval; a restart sends nothing more; a print back inside the corridor
sends one resolution. Killed (SIGKILL) with alerts queued but unsent, a restart delivers each once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from storage.chats import ensure_chat, subscribe
from storage.db import open_db
from tests.fakes.history import History, synthetic_history
from tests.fakes.sources import FakeSourcesThread
from tests.fakes.telegram import Call, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
CHATS = (111, 222, -100333)
POLL_SECONDS = 1


def calm_history() -> History:
    """Real-shaped history to 2025-10-30 with SOFR inside the corridor (range 3.75-4.00 from 10-30)."""
    history = synthetic_history(date(2025, 8, 1), date(2025, 10, 30), seed=11)
    for day in sorted(history.values("sofr")):
        if day >= "2025-10-20":
            history.revise("sofr", day, 3.95 if day >= "2025-10-30" else 4.18)
    return history


def seed_chats(db_path: Path) -> None:
    db = open_db(db_path)
    for address in CHATS:
        chat = ensure_chat(
            db, "telegram", str(address), title="", is_group=address < 0, now="2025-10-30T00:00:00Z"
        )
        subscribe(db, chat.id, "alerts", now="2025-10-30T00:00:00Z")
    db.close()


def count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path, timeout=5) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def wait_until(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Bot:
    """`plumbline run` as a subprocess, started and stopped like an operator would."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=self.env, cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            await asyncio.wait_for(self.proc.wait(), timeout=30)
        self.proc = None


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def alerts_sent(tg: FakeTelegram, title: str) -> list[Call]:
    return [c for c in tg.sent() if title in str(c.params.get("text") or c.params.get("caption") or "")]


def bot_env(fake: FakeSourcesThread, tg: FakeTelegram, db_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    return (
        env
        | fake.env()
        | {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_PATH": str(db_path),
            "POLL_INTERVAL_SECONDS": str(POLL_SECONDS),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
        }
    )


def publish_breach(history: History) -> None:
    history.publish_many("2025-10-31", {"sofr": 4.22, "sofr_p1": 4.05, "sofr_p25": 4.15, "sofr_p75": 4.30,
                                        "sofr_p99": 4.45, "sofr_volume": 3116})  # fmt: skip


@pytest.mark.slow
async def test_breach_alerts_once_survives_restart_and_resolves(tg: FakeTelegram, tmp_path: Path) -> None:
    db_path = tmp_path / "bot.db"
    seed_chats(db_path)
    history = calm_history()
    with FakeSourcesThread(history) as fake:
        bot = Bot(bot_env(fake, tg, db_path), tmp_path)
        await bot.start()
        try:
            # The first poll stores history and takes a silent baseline: nothing is sent for it.
            await wait_until(
                lambda: count(db_path, "SELECT COUNT(*) FROM alert_marks WHERE rule = 'sofr_breach'") > 0,
                60,
                "the baseline evaluation",
            )
            await asyncio.sleep(1.5)
            assert tg.sent() == []
            publish_breach(fake.history)
            published = time.monotonic()
            await wait_until(
                lambda: len(alerts_sent(tg, "SOFR above the ceiling")) >= len(CHATS), 30, "alerts"
            )
            latency = time.monotonic() - published
            breach = alerts_sent(tg, "SOFR above the ceiling")
            assert {c.params["chat_id"] for c in breach} == set(CHATS)
            caption = str(breach[0].params.get("caption") or breach[0].params.get("text"))
            assert "4.22%" in caption and "22 bp" in caption and "4.00%" in caption
            # one poll interval, plus time to fetch, evaluate and send
            assert latency < POLL_SECONDS + 2 + 3, latency

            await bot.stop()
            await bot.start()
            await asyncio.sleep(POLL_SECONDS * 4)
            assert len(alerts_sent(tg, "SOFR above the ceiling")) == len(CHATS)  # a restart re-fires nothing

            fake.history.publish("sofr", "2025-11-03", 3.96)
            await wait_until(lambda: len(alerts_sent(tg, "back inside")) >= len(CHATS), 30, "resolution")
            await asyncio.sleep(POLL_SECONDS * 2)
            ends = alerts_sent(tg, "back inside")
            assert sorted(c.params["chat_id"] for c in ends) == sorted(CHATS)
            assert "after 1 day(s) above it" in str(ends[0].params["text"])
            assert tg.duplicates() == []
        finally:
            await bot.stop()


@pytest.mark.slow
async def test_sigkill_after_queueing_before_sending_delivers_each_alert_once(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    db_path = tmp_path / "bot.db"
    seed_chats(db_path)
    with FakeSourcesThread(calm_history()) as fake:
        bot = Bot(bot_env(fake, tg, db_path), tmp_path)
        await bot.start()
        try:
            await wait_until(
                lambda: count(db_path, "SELECT COUNT(*) FROM alert_marks WHERE rule = 'sofr_breach'") > 0,
                60,
                "the baseline evaluation",
            )
            for method in ("sendPhoto", "sendMessage"):  # Telegram is down: alerts stay queued
                tg.fail_next(method, status=502, retry_after=None, description="Bad Gateway", count=10_000)
            publish_breach(fake.history)
            await wait_until(
                lambda: count(db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'") == len(CHATS),
                30,
                "alerts written to the outbox",
            )
            await bot.stop(signal.SIGKILL)
            assert count(db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 0
            tg.clear_faults()
            await bot.start()
            await wait_until(
                lambda: len(alerts_sent(tg, "SOFR above the ceiling")) >= len(CHATS), 60, "redelivery"
            )
            await asyncio.sleep(POLL_SECONDS * 3)
        finally:
            await bot.stop()
    delivered = alerts_sent(tg, "SOFR above the ceiling")
    assert sorted(c.params["chat_id"] for c in delivered) == sorted(CHATS)
    assert tg.duplicates() == []
    assert count(db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == len(CHATS)
