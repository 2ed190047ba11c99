"""SIGKILL at random points of backfill, poll and delivery, 20 seeds.

After every restart the database passes integrity_check; at the end no observation is lost (the stored
rows equal those of an uninterrupted run) and no chat ever gets an alert twice. Each alert reaches each
chat once, unless the kill landed inside a send: then the row says 'uncertain' (the message may or may
not have arrived, so it is not resent), which is the one thing no sender can know across a crash.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e_support import (
    CHATS,
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

SEEDS = range(int(os.environ.get("KILL_SEEDS", "20")))  # fewer for a quick local run
BREACH = "SOFR above the ceiling"
RESOLVED = "back inside"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def observations(db_path: Path) -> set[tuple[str, str, float]]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return set(conn.execute("SELECT series, date, value FROM observations").fetchall())


def outbox(db_path: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        rows = conn.execute(
            "SELECT c.address, o.event_key, o.status FROM outbox o JOIN chats c ON c.id = o.chat_id"
        ).fetchall()
    return {(address, key): status for address, key, status in rows}


async def kill_after(bot: Bot, seconds: float, db_path: Path) -> None:
    await asyncio.sleep(seconds)
    await bot.stop(signal.SIGKILL)
    assert integrity(db_path) == "ok"
    await bot.start()


async def settle(db_path: Path, expected_rows: int) -> None:
    """Wait until every queued delivery has a final status."""
    await wait_until(
        lambda: (
            count(db_path, "SELECT COUNT(*) FROM outbox WHERE status NOT IN ('pending', 'sending')")
            >= expected_rows
        ),
        60,
        f"{expected_rows} deliveries to finish",
    )


async def run_seed(seed: int, tg: FakeTelegram, workdir: Path) -> tuple[set[tuple[str, str, float]], int]:
    """One life of the bot with three random kills; returns its observations and uncertain sends."""
    rng = random.Random(seed)
    workdir.mkdir()  # noqa: ASYNC240 - a test set-up step, not the loop under test
    db_path = workdir / "bot.db"
    seed_chats(db_path)
    before = len(tg.sent())
    with FakeSourcesThread(calm_history()) as fake:
        bot = Bot(bot_env(fake, tg, db_path), workdir)
        await bot.start()
        # 1. During start-up and the first (backfill) poll.
        await kill_after(bot, rng.uniform(0.3, 3.0), db_path)
        await wait_until(
            lambda: count(db_path, "SELECT COUNT(*) FROM alert_marks WHERE rule = 'sofr_breach'") > 0,
            60,
            "the baseline evaluation",
        )
        # 2. During the poll, evaluation and delivery of a breach.
        publish_breach(fake.history)
        await kill_after(bot, rng.uniform(0.0, 2.5), db_path)
        await wait_until(lambda: len(outbox(db_path)) >= len(CHATS), 60, "the breach in the outbox")
        await settle(db_path, len(CHATS))
        # 3. During the poll, evaluation and delivery of the resolution.
        fake.history.publish("sofr", "2025-11-03", 3.96)
        await kill_after(bot, rng.uniform(0.0, 2.5), db_path)
        await wait_until(lambda: len(outbox(db_path)) >= 2 * len(CHATS), 60, "the resolution in the outbox")
        await settle(db_path, 2 * len(CHATS))
        await bot.stop()
    assert integrity(db_path) == "ok"
    sent = tg.sent()[before:]
    messages = [(c.params["chat_id"], str(c.params.get("text") or c.params.get("caption"))) for c in sent]
    assert len(messages) == len(set(messages)), f"seed {seed}: a chat got the same alert twice"
    rows = outbox(db_path)
    uncertain = 0
    for title, kind in ((BREACH, "start"), (RESOLVED, "end")):
        delivered = {str(chat) for chat, text in messages if title in text}
        for chat in CHATS:
            status = next(
                s for (address, key), s in rows.items() if address == str(chat) and f":{kind}:" in key
            )
            if status == "uncertain":
                uncertain += 1
                continue
            assert status == "sent", f"seed {seed}: {kind} to {chat} ended {status}"
            assert str(chat) in delivered, f"seed {seed}: {kind} to {chat} marked sent but never arrived"
    return observations(db_path), uncertain


@pytest.mark.slow
async def test_random_sigkills_lose_nothing_and_never_double(tg: FakeTelegram, tmp_path: Path) -> None:
    reference, uncertain_total = await run_seed(-1, tg, tmp_path / "reference")
    for seed in SEEDS:
        stored, uncertain = await run_seed(seed, tg, tmp_path / f"seed{seed}")
        assert stored == reference, f"seed {seed}: observations differ from the other runs"
        uncertain_total += uncertain
    print(f"random kills: {uncertain_total} uncertain sends over {len(SEEDS) + 1} runs")
    # A kill inside a send is rare: the test would not be measuring much if it happened every time.
    assert uncertain_total <= (len(SEEDS) + 1) * 2 * len(CHATS) // 4
    assert alerts_sent(tg, BREACH)
