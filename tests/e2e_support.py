"""Helpers for tests that run `plumbline run` as a subprocess against the fakes."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

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


async def wait_until(check: Callable[[], object], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
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
