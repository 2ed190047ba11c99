"""A small key-value table for process state that must survive restarts."""

from __future__ import annotations

import sqlite_utils


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    """The stored value for key, or None."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Store value under key, replacing any previous one."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def delete_meta(db: sqlite_utils.Database, key: str) -> None:
    """Forget key (nothing happens when it is not stored)."""
    db.execute("DELETE FROM meta WHERE key = ?", (key,))
