"""Versioned schema migrations; they run at every startup and are no-ops once applied."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("plumbline")


@MIGRATIONS(name="0001_core")
def _core(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE observations (
            series TEXT NOT NULL,
            date TEXT NOT NULL,
            value REAL NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (series, date)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            series TEXT NOT NULL,
            date TEXT NOT NULL,
            old_value REAL NOT NULL,
            new_value REAL NOT NULL,
            source TEXT NOT NULL,
            revised_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX revisions_series_date ON revisions (series, date)")
    db.execute(
        """
        CREATE TABLE operations (
            operation_id TEXT PRIMARY KEY,
            operation_date TEXT NOT NULL,
            operation_type TEXT NOT NULL,
            method TEXT NOT NULL,
            settlement_type TEXT NOT NULL,
            term TEXT NOT NULL,
            session TEXT NOT NULL,
            is_sve INTEGER NOT NULL,
            close_time TEXT NOT NULL,
            total_submitted REAL NOT NULL,
            total_accepted REAL NOT NULL,
            rate REAL,
            treasury REAL NOT NULL,
            agency REAL NOT NULL,
            mbs REAL NOT NULL,
            last_updated TEXT NOT NULL,
            note TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX operations_date ON operations (operation_date, operation_type)")
    db.execute(
        """
        CREATE TABLE fetch_log (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            rows_changed INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX fetch_log_source ON fetch_log (source, id)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
