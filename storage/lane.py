"""One worker thread per front-end database connection: command handlers run in order, off the event loop.

A /chart reads and thins years of points (100-200 ms with 25 years stored) and a subscription command may
wait on SQLite's lock; on the loop either would stall every chat, the poller and deliveries. Handlers are
pure functions of (args, context, db), so running them on a thread changes nothing else; one thread keeps
the connection used by one thread at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import sqlite_utils

T = TypeVar("T")


class DbLane:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """work(db) on the lane's thread; the loop keeps serving while it runs."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commands")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, self.db)

    def close(self) -> None:
        """Wait for the command in flight, then stop the thread (the connection stays open)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
