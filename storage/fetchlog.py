"""The fetch log: one row per source fetch, with its outcome."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True, slots=True)
class FetchRecord:
    source: str
    started_at: str
    duration_ms: int
    outcome: str  # "ok" or "error"
    error: str | None
    rows_changed: int


def record_fetch(db: sqlite_utils.Database, record: FetchRecord, *, keep: int = 5000) -> None:
    """Append a fetch outcome, trimming the log so it cannot grow without bound."""
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO fetch_log (source, started_at, duration_ms, outcome, error, rows_changed) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.source,
                record.started_at,
                record.duration_ms,
                record.outcome,
                record.error,
                record.rows_changed,
            ),
        )
        newest = cursor.lastrowid or 0
        if newest % 500 == 0:
            db.execute("DELETE FROM fetch_log WHERE id <= ?", (newest - keep,))


def last_fetches(db: sqlite_utils.Database) -> dict[str, FetchRecord]:
    """The most recent fetch of each source."""
    rows = db.execute(
        "SELECT source, started_at, duration_ms, outcome, error, rows_changed FROM fetch_log "
        "WHERE id IN (SELECT MAX(id) FROM fetch_log GROUP BY source)"
    ).fetchall()
    return {r[0]: FetchRecord(*r) for r in rows}


def last_success(db: sqlite_utils.Database) -> dict[str, str]:
    """When each source last fetched successfully."""
    rows = db.execute(
        "SELECT source, MAX(started_at) FROM fetch_log WHERE outcome = 'ok' GROUP BY source"
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def failure_streak(db: sqlite_utils.Database, source: str) -> int:
    """How many fetches of a source have failed in a row, most recent first."""
    rows = db.execute(
        "SELECT outcome FROM fetch_log WHERE source = ? ORDER BY id DESC LIMIT 50", (source,)
    ).fetchall()
    streak = 0
    for (outcome,) in rows:
        if outcome == "ok":
            break
        streak += 1
    return streak
