"""Worker threads for database work: handlers and outbox writes run off the event loop.

A /chart reads and thins years of points (100-200 ms with 25 years stored) and a write may wait on SQLite's
lock or a WAL checkpoint; on the loop either would stall every chat, the poller and deliveries. Handlers
are pure functions of (args, context, db), so running them on a thread changes nothing else.

A lane built on one connection has one thread, so that connection is used by one thread at a time, in
arrival order. A lane built with `connect` and several workers gives each thread its own connection, so
a slow chart never holds up the quick commands behind it.

`write` groups small writes: those queued while the lane is busy commit together in one transaction (a
group commit), so a broadcast's two bookkeeping writes a message cost a share of a commit and of a thread
hand-off instead of one each; each write still returns only once it is committed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import sqlite_utils

T = TypeVar("T")

# (work, the awaiting future) queued for the next group commit; its outcome is (future, ok, value).
_Queued = tuple[Callable[[sqlite_utils.Database], Any], "asyncio.Future[Any]"]
_Outcome = tuple["asyncio.Future[Any]", bool, Any]


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
        self._queued: list[_Queued] = []
        self._flushing = False

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

    async def write(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """work(db) on the lane, committed together with the other writes queued meanwhile.

        Each write runs in its own savepoint, so one that raises undoes only itself and raises here."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._queued.append((work, done))
        if not self._flushing:
            self._flushing = True
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="db-lane")
            batch = self._pool.submit(self._commit_queued)
            batch.add_done_callback(lambda f: loop.call_soon_threadsafe(self._settle, f))
        return await done

    def _take(self) -> list[_Queued]:
        with self._lock:
            queued, self._queued = self._queued, []
            return queued

    def _commit_queued(self) -> list[_Outcome]:
        """On the lane's thread: run every queued write in one transaction (each in a savepoint)."""
        queued = self._take()
        db = self._db()
        outcomes: list[_Outcome] = []
        try:
            with db.atomic():
                for work, done in queued:
                    db.execute("SAVEPOINT lane_write")
                    try:
                        outcomes.append((done, True, work(db)))
                    except Exception as exc:
                        db.execute("ROLLBACK TO lane_write")
                        outcomes.append((done, False, exc))
                    db.execute("RELEASE lane_write")
        except Exception as exc:  # the commit itself failed: none of them is stored
            return [(done, False, exc) for _, done in queued]
        return outcomes

    def _settle(self, batch: Future[list[_Outcome]]) -> None:
        """On the loop: hand each write its outcome, then start the next group if more were queued."""
        self._flushing = False
        error = batch.exception()
        if error is not None:  # not reached in practice: _commit_queued catches what its writes raise
            outcomes: list[_Outcome] = [(done, False, error) for _, done in self._take()]
        else:
            outcomes = batch.result()
        for done, ok, value in outcomes:
            if done.cancelled():
                continue
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)
        if self._queued and self._pool is not None:
            self._flushing = True
            loop = asyncio.get_running_loop()
            nxt = self._pool.submit(self._commit_queued)
            nxt.add_done_callback(lambda f: loop.call_soon_threadsafe(self._settle, f))

    def close(self) -> None:
        """Wait for the work in flight, stop the threads and close the connections the lane opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lock:
            for db in self._opened:
                db.close()
            self._opened.clear()
