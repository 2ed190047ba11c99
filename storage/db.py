"""Opening the SQLite file: WAL, sane pragmas, migrations, and clear errors when the file is unusable."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from storage.errors import StorageError
from storage.migrations import MIGRATIONS

__all__ = ["StorageError"]  # re-exported: storage.db is where callers have always found it


class Database(sqlite_utils.Database):
    """sqlite-utils' Database whose transactions take the write lock when they begin (BEGIN IMMEDIATE).

    Several connections write to one WAL file (the poller, delivery, the command lane). A deferred
    transaction that reads first and then writes cannot upgrade once another connection has committed in
    between, and SQLite then fails at once with "database is locked" instead of waiting its busy timeout.
    Taking the lock at BEGIN makes every writer wait its turn instead."""

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite_utils.Database]:
        if self.conn.in_transaction:
            with super().atomic() as db:  # a nested block: sqlite-utils' savepoint
                yield db
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.rollback()
            raise
        else:
            self.conn.commit()


def open_db(path: Path | str, *, migrate: bool = True, check: bool = False) -> sqlite_utils.Database:
    """Open (creating if needed) the database at path, with WAL and every migration applied.

    check runs PRAGMA quick_check first (the bot does at start): a damaged file is refused, not used."""
    memory = str(path) == ":memory:"
    if not memory:
        target = Path(path)
        if not target.parent.exists():
            raise StorageError(f"database folder {target.parent} does not exist (DATABASE_PATH={target})")
        if target.is_dir():
            raise StorageError(f"DATABASE_PATH {target} is a folder, not a file")
    try:
        # One connection may be handed between the event loop and a worker thread; callers serialise use.
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        # No sqlite-utils plugins: the bot uses none, a stray installed one must not change its connection,
        # and scanning every installed package's entry points was a tenth of a cold `plumbline ask`.
        db = Database(conn, execute_plugins=False)
        if not memory:
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        if check and not memory:
            problem = quick_check(db)
            if problem is not None:
                conn.close()
                raise StorageError(_damaged(path, problem))
        if migrate:
            MIGRATIONS.apply(db)
        _probe_write(db)
    except sqlite3.DatabaseError as exc:
        raise StorageError(_explain(path, exc)) from None
    return db


def _probe_write(db: sqlite_utils.Database) -> None:
    """Fail now, with a clear message, if the file cannot be written (read-only, disk full)."""
    with db.atomic():
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('opened_at', datetime('now')) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )


def _damaged(path: Path | str, problem: str) -> str:
    return (
        f"database {path} is damaged ({problem[:120]}); refusing to use it. Stop the bot, keep the damaged "
        f"file for inspection, and restore your latest backup: cp backups/<latest>.db {path}"
    )


def quick_check(db: sqlite_utils.Database) -> str | None:
    """None when PRAGMA quick_check finds the file sound, else its first complaint."""
    try:
        row = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc).lower():
            return str(exc)
        raise  # disk full, I/O, read-only: named as such by the caller, not called damage
    if row and row[0] == "ok":
        return None
    return str(row[0]) if row else "no answer from quick_check"


def explain(path: Path | str, exc: sqlite3.Error) -> str:
    """One line for an operator: what went wrong with the database file and what to do about it."""
    return _explain(path, exc)


def file_identity(path: Path | str) -> tuple[int, int] | None:
    """(device, inode) of the file at path now, or None when it is gone: a change means it was replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _explain(path: Path | str, exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return f"database {path} is read-only: give the bot write access to the file and its folder"
    if "disk is full" in text or "database or disk is full" in text:
        return f"disk is full: free space for {path}"
    if "disk i/o error" in text:
        return f"cannot write {path} (disk I/O error): check that the disk is not full or failing"
    if "unable to open" in text:
        return f"cannot open database {path}: check the path and permissions"
    if "malformed" in text:
        return _damaged(path, str(exc))
    if "not a database" in text:
        return (
            f"{path} is not a valid Plumbline database (corrupt or another file): check DATABASE_PATH, "
            f"or restore your latest backup: cp backups/<latest>.db {path}"
        )
    return f"database {path} failed: {exc}"


def integrity_ok(db: sqlite_utils.Database) -> bool:
    """True when PRAGMA integrity_check reports ok."""
    row = db.execute("PRAGMA integrity_check").fetchone()
    return bool(row) and row[0] == "ok"


def backup_to(path: Path | str, target: Path) -> bool:
    """VACUUM INTO a new file (a consistent snapshot even while the bot writes); True if it checks ok."""
    db = open_db(path)
    try:
        db.execute("VACUUM INTO ?", (str(target),))
    finally:
        db.close()
    with sqlite3.connect(target) as check:
        return bool(check.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def open_readonly(path: Path | str) -> sqlite_utils.Database:
    """Open an existing database for reading only (the web page): SQLite itself refuses every write."""
    target = Path(path)
    if not target.is_file():
        raise StorageError(
            f"database {target} does not exist yet: run `plumbline run` or `plumbline backfill`"
        )
    try:
        conn = sqlite3.connect(
            f"{target.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0, check_same_thread=False
        )
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        db = sqlite_utils.Database(conn)
        db.execute("SELECT COUNT(*) FROM observations").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StorageError(_explain(path, exc)) from None
    return db
