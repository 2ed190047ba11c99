"""DbLane: database work off the event loop, on one thread per connection."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from storage.db import open_db
from storage.lane import DbLane


async def test_the_loop_keeps_running_while_the_lane_works(tmp_path: Path) -> None:
    lane = DbLane(open_db(tmp_path / "a.db"))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await lane.run(lambda db: time.sleep(0.2))  # a slow read stands in for /chart corridor max
    ticker.cancel()
    lane.close()
    assert ticks >= 10


async def test_one_connection_is_used_by_one_thread_in_order(tmp_path: Path) -> None:
    db = open_db(tmp_path / "b.db")
    lane = DbLane(db)
    seen: list[tuple[int, str]] = []

    def work(n: int) -> None:
        time.sleep(0.01 * (3 - n))
        seen.append((n, threading.current_thread().name))

    await asyncio.gather(*(lane.run(lambda d, n=n: work(n)) for n in range(3)))
    lane.close()
    assert [n for n, _ in seen] == [0, 1, 2]
    assert len({name for _, name in seen}) == 1


async def test_a_slow_command_does_not_hold_up_a_quick_one(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    open_db(path).close()
    lane = DbLane(connect=lambda: open_db(path, migrate=False), workers=2)
    done: list[str] = []

    def slow(db: sqlite_utils.Database) -> None:
        time.sleep(0.3)
        done.append("slow")

    def quick(db: sqlite_utils.Database) -> int:
        done.append("quick")
        return int(db.execute("SELECT 1").fetchone()[0])

    slow_task = asyncio.create_task(lane.run(slow))
    await asyncio.sleep(0.02)
    assert await lane.run(quick) == 1
    await slow_task
    lane.close()
    assert done == ["quick", "slow"]


def test_a_shared_connection_allows_one_thread(tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    with pytest.raises(ValueError, match="one worker thread"):
        DbLane(db, workers=2)
    with pytest.raises(ValueError, match="either one connection"):
        DbLane()
