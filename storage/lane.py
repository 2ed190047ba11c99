"""Worker threads for database work: handlers and outbox writes run off the event loop.

A /chart reads and thins years of points (100-200 ms with 25 years stored) and a write may wait on SQLite's
lock or a WAL checkpoint; on the loop either would stall every chat, the poller and deliveries. Handlers
are pure functions of (args, context, db), so running them on a thread changes nothing else.

A lane built on one connection has one thread, so that connection is used by one thread at a time, in
arrival order. A lane built with `connect` and several workers gives each thread its own connection, so
a slow chart never holds up the quick commands behind it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import sqlite_utils

T = TypeVar("T")


class DbLane:
    def __init__(
        self,
        db: sqlite_utils.Database | None = None,
        *,
        connect: Callable[[], sqlite_utils.Database] | None = None,
        workers: int = 1,
    ) -> None:
        if (db is None) == (connect is None):
            raise ValueError("DbLane needs either one connection or a way to open them")
        if db is not None and workers != 1:
            raise ValueError("one shared connection allows one worker thread")
        self.db = db
        self._connect = connect
        self._workers = workers
        self._local = threading.local()
        self._opened: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _db(self) -> sqlite_utils.Database:
        if self.db is not None:
            return self.db
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            assert self._connect is not None
            db = self._local.db = self._connect()
            with self._lock:
                self._opened.append(db)
        return db

    async def run(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """work(db) on one of the lane's threads; the loop keeps serving while it runs."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="db-lane")
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: work(self._db()))

    def close(self) -> None:
        """Wait for the work in flight, stop the threads and close the connections the lane opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lock:
            for db in self._opened:
                db.close()
            self._opened.clear()
