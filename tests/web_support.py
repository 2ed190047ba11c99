"""The dashboard on a real loopback port over a seeded database file, for HTTP and browser tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlite_utils

from bot.alerts.engine import AlertEngine
from bot.core.clock import iso_utc
from bot.web.server import Dashboard, WebServer
from storage.chats import ensure_chat, subscribe
from storage.db import open_readonly
from tests.seed import SCENARIOS, ny, seeded, store

# The chat that gets the 2019 breach alert: its address must never reach the page.
SECRET_CHAT = "-1009876543210"


def seed_breach_with_alert(path: Path) -> sqlite_utils.Database:
    """The 2019-09-17 repo spike, lived through: the rules see the calm days first, then SOFR 2.43 and 5.25
    arrive with a chat subscribed, so a real breach alert is recorded and the episode is open."""
    db = seeded("repo_spike_2019", path)
    db.execute("DELETE FROM observations WHERE series = 'sofr' AND date >= '2019-09-16'")
    db.conn.commit()
    AlertEngine(db, clock=lambda: ny(2019, 9, 16, 9, 0)).evaluate(silent=True)
    chat = ensure_chat(db, "telegram", SECRET_CHAT, title="desk", is_group=True, now=iso_utc(ny(2019, 9, 1)))
    subscribe(db, chat.id, "alerts", now=iso_utc(ny(2019, 9, 1)))
    store(db, "sofr", {"2019-09-16": 2.43, "2019-09-17": 5.25}, "nyfed", ny(2019, 9, 18, 8, 5))
    AlertEngine(db, clock=lambda: ny(2019, 9, 18, 8, 6)).evaluate()
    return db


class ServedDashboard:
    """A WebServer on its own loop in a thread, so blocking clients (selenium, urllib) can talk to it."""

    def __init__(self, path: Path, now: datetime, refresh_seconds: float = 15.0) -> None:
        self.path = path
        self.now = now
        self.refresh_seconds = refresh_seconds
        self.loop = asyncio.new_event_loop()
        self.server: WebServer | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def start(self) -> None:
        self._thread.start()
        db = open_readonly(self.path)
        self._db = db
        server = WebServer(
            Dashboard(db, clock=lambda: self.now, refresh_seconds=self.refresh_seconds), "127.0.0.1", 0
        )
        asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(timeout=10)
        self.server = server

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
        self._db.close()


@contextmanager
def served(path: Path, scenario: str, refresh_seconds: float = 15.0) -> Iterator[ServedDashboard]:
    """Serve an already seeded database file with the scenario's clock."""
    dash = ServedDashboard(path, SCENARIOS[scenario].now, refresh_seconds)
    dash.start()
    try:
        yield dash
    finally:
        dash.stop()
