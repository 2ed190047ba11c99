"""The daily-summary minute job at 10 and 10,000 subscribers.

Run: .venv/bin/python -m bench.bench_scheduler [--minutes N]
Subscribers spread over New York, London and Taipei at 07:00-09:59 local. Times the real
enqueue_summaries once a minute over a quiet stretch and over the late window after a send (median ms
and statements per minute), beside the way it worked before (every subscriber read and checked each
minute, one query per subscriber). Goal: one statement a quiet minute, flat from 10 to 10,000.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from bot.alerts.summary import due_date, enqueue_summaries
from storage.chats import chat_by_id, daily_subscribers, ensure_chat, subscribe
from storage.db import open_db

ZONES = ("America/New_York", "Europe/London", "Asia/Taipei")
STAMP = "2026-01-01T00:00:00Z"


def build(path: Path, subscribers: int) -> sqlite_utils.Database:
    db = open_db(path)
    with db.atomic():
        for n in range(subscribers):
            chat = ensure_chat(db, "telegram", str(n), title="", is_group=False, now=STAMP)
            at = f"{7 + n % 3:02d}:{(n * 7) % 60:02d}"
            subscribe(db, chat.id, "daily", now=STAMP, daily_time=at, tz=ZONES[n % 3])
    return db


def before(db: sqlite_utils.Database, now: datetime) -> int:
    """The read side of the old job: every subscriber, then one chat read each, checked every minute."""
    due = 0
    for chat, subscription in daily_subscribers(db):
        chat_by_id(db, chat.id)
        due += due_date(subscription, now) is not None
    return due


def _per_minute(db: sqlite_utils.Database, start: datetime, minutes: int, job: object) -> tuple[float, float]:
    times: list[float] = []
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    for m in range(minutes):
        t0 = time.perf_counter()
        job(db, start + timedelta(minutes=m))  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    db.conn.set_trace_callback(None)
    return statistics.median(times) * 1000, len(statements) / minutes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=30)
    args = parser.parse_args()
    quiet = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 23:00 New York, 03:00 London, 11:00 Taipei
    print("daily-summary minute job: median ms and SQL statements per minute")
    with tempfile.TemporaryDirectory() as tmp:
        for subscribers in (10, 10_000):
            db = build(Path(tmp) / f"s{subscribers}.db", subscribers)
            enqueue_summaries(db, quiet - timedelta(minutes=1))  # first look stores each next time
            ours = _per_minute(db, quiet, args.minutes, enqueue_summaries)
            old = _per_minute(db, quiet, max(3, args.minutes // 10), before)
            print(
                f"  {subscribers:>6,} subscribers, quiet minute: now {ours[0]:7.2f} ms, "
                f"{ours[1]:5.1f} statements   before {old[0]:8.2f} ms, {old[1]:7.1f} statements"
                "   (goal: 1 statement)"
            )
            db.close()


if __name__ == "__main__":
    main()
