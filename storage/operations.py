"""Raw NY Fed repo and reverse repo operations, one row per operation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from bot.core.models import Operation

_SELECT = (
    "SELECT operation_id, operation_date, operation_type, method, settlement_type, term, session, is_sve, "
    "close_time, total_submitted, total_accepted, rate, treasury, agency, mbs, last_updated, note, "
    "release_time FROM operations "
)
_UPSERT = (
    "INSERT INTO operations (operation_id, operation_date, operation_type, method, settlement_type, term, "
    "session, is_sve, close_time, total_submitted, total_accepted, rate, treasury, agency, mbs, "
    "last_updated, note, release_time, fetched_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (operation_id) DO UPDATE SET operation_date = excluded.operation_date, "
    "operation_type = excluded.operation_type, method = excluded.method, "
    "settlement_type = excluded.settlement_type, term = excluded.term, session = excluded.session, "
    "is_sve = excluded.is_sve, close_time = excluded.close_time, "
    "total_submitted = excluded.total_submitted, "
    "total_accepted = excluded.total_accepted, rate = excluded.rate, treasury = excluded.treasury, "
    "agency = excluded.agency, mbs = excluded.mbs, last_updated = excluded.last_updated, "
    "note = excluded.note, release_time = excluded.release_time, "
    "fetched_at = excluded.fetched_at"
)


def _row(op: Operation) -> tuple[object, ...]:
    return (
        op.operation_id,
        op.operation_date,
        op.operation_type,
        op.method,
        op.settlement_type,
        op.term,
        op.session,
        int(op.is_sve),
        op.close_time,
        op.total_submitted,
        op.total_accepted,
        op.rate,
        op.treasury,
        op.agency,
        op.mbs,
        op.last_updated,
        op.note,
        op.release_time,
    )


def _from_row(row: tuple[Any, ...]) -> Operation:
    """A row of _SELECT, whose columns are in Operation's field order."""
    values = list(row)
    values[7] = bool(values[7])
    return Operation(*values)


def upsert_operations(
    db: sqlite_utils.Database, ops: Iterable[Operation], *, fetched_at: str
) -> list[Operation]:
    """Store operations; returns those that are new or whose published figures changed."""
    incoming = {op.operation_id: op for op in ops}
    if not incoming:
        return []
    days = [op.operation_date for op in incoming.values()]
    rows = db.execute(_SELECT + "WHERE operation_date BETWEEN ? AND ?", (min(days), max(days))).fetchall()
    stored = {row[0]: _from_row(tuple(row)) for row in rows}
    changed = [op for oid, op in incoming.items() if stored.get(oid) != op]
    if changed:
        with db.atomic():
            db.conn.executemany(_UPSERT, [(*_row(op), fetched_at) for op in changed])
    return changed


def operations_between(
    db: sqlite_utils.Database, since: str, until: str, operation_type: str | None = None
) -> list[Operation]:
    """Operations in a date range, oldest first, optionally of one type."""
    rows = db.execute(
        _SELECT + "WHERE operation_date BETWEEN ? AND ? AND (? IS NULL OR operation_type = ?) "
        "ORDER BY operation_date, close_time, operation_id",
        (since, until, operation_type, operation_type),
    ).fetchall()
    return [_from_row(tuple(r)) for r in rows]


def latest_operation_date(db: sqlite_utils.Database, operation_type: str) -> str | None:
    """The newest date with an operation of that type."""
    row = db.execute(
        "SELECT MAX(operation_date) FROM operations WHERE operation_type = ?", (operation_type,)
    ).fetchone()
    return row[0] if row and row[0] else None
