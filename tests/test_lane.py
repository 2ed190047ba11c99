"""DbLane: database work off the event loop, on one thread per connection."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
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


async def test_writes_queued_together_commit_together_and_fail_alone(tmp_path: Path) -> None:
    """Group commit: 200 writes issued at once take a few transactions, each is stored when its await
    returns, and the one that raises undoes only its own statements."""
    path = tmp_path / "e.db"
    db = open_db(path)
    db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    lane = DbLane(db)
    commits: list[str] = []
    db.conn.commit()
    db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)

    def insert(n: int) -> Callable[[sqlite_utils.Database], int]:
        def work(d: sqlite_utils.Database) -> int:
            d.execute("INSERT INTO t (n) VALUES (?)", (n,))
            if n == 13:
                d.execute("INSERT INTO t (n) VALUES (?)", (0,))  # n=0 is written by the first: conflict
            return n

        return work

    results = await asyncio.gather(*(lane.write(insert(n)) for n in range(200)), return_exceptions=True)
    db.conn.set_trace_callback(None)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and "UNIQUE" in str(failed[0])
    assert [r for r in results if not isinstance(r, BaseException)] == [n for n in range(200) if n != 13]
    other = open_db(path, migrate=False)  # another connection sees every write that returned
    stored = [r[0] for r in other.execute("SELECT n FROM t ORDER BY n")]
    assert stored == [n for n in range(200) if n != 13]
    assert 1 <= len(commits) < 20
    other.close()
    lane.close()
