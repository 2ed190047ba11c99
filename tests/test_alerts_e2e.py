"""Alerts end to end: `plumbline run` in a subprocess, fake data sources and a fake Telegram on loopback.

A source publishes SOFR 4.22 for 2025-10-31 against a 3.75-4.00 range: every subscribed chat gets one
breach alert within a poll interval; a restart sends nothing more; a print back inside the corridor
sends one resolution. Killed (SIGKILL) with alerts queued but unsent, a restart delivers each once.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e_support import (
    CHATS,
    POLL_SECONDS,
    Bot,
    alerts_sent,
    bot_env,
    calm_history,
    count,
    publish_breach,
    seed_chats,
    wait_until,
)
from tests.fakes.sources import FakeSourcesThread
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


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
