"""Events and the per-chat outbox: written before any send, drained by the delivery worker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    chat_id: int
    platform: str
    address: str
    is_group: bool
    event_key: str
    payload: str
    attempts: int
    lang: str = "en"  # the chat's language: alerts and summaries are put into it at send time


def add_event(
    db: sqlite_utils.Database,
    *,
    key: str,
    rule: str,
    kind: str,
    data_date: str,
    audience: str,
    payload: str,
    now: str,
) -> bool:
    """Record an event once; False when the key already exists (a restart or replay of the same data)."""
    cursor = db.execute(
        "INSERT INTO events (key, rule, kind, data_date, audience, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (key, rule, kind, data_date, audience, payload, now),
    )
    return cursor.rowcount == 1


def event_exists(db: sqlite_utils.Database, key: str) -> bool:
    return db.execute("SELECT 1 FROM events WHERE key = ?", (key,)).fetchone() is not None


def enqueue(db: sqlite_utils.Database, chat_ids: Iterable[int], event_key: str, now: str) -> int:
    """Queue an event for chats; a (chat, event) pair is queued at most once, ever."""
    cursor = db.conn.executemany(
        "INSERT INTO outbox (chat_id, event_key, next_attempt_at, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (chat_id, event_key) DO NOTHING",
        [(cid, event_key, now, now) for cid in chat_ids],
    )
    return int(cursor.rowcount)


def due(db: sqlite_utils.Database, now: str, limit: int = 500) -> list[Delivery]:
    """Pending deliveries whose time has come, oldest first, for active chats.

    Read in queue order from the pending rows' own index, so a batch costs the same with 100 or 100,000
    queued (left to itself SQLite sorts every pending row for each batch)."""
    rows = db.execute(
        "SELECT o.id, o.chat_id, c.platform, c.address, c.is_group, o.event_key, e.payload, o.attempts, "
        "c.lang "
        "FROM outbox o INDEXED BY outbox_pending JOIN chats c ON c.id = o.chat_id "
        "JOIN events e ON e.key = o.event_key "
        "WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND c.active = 1 ORDER BY o.id LIMIT ?",
        (now, limit),
    ).fetchall()
    return [Delivery(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], r[8]) for r in rows]


def next_due_at(db: sqlite_utils.Database) -> str | None:
    """When the next pending delivery becomes due."""
    row = db.execute(
        "SELECT MIN(o.next_attempt_at) FROM outbox o JOIN chats c ON c.id = o.chat_id "
        "WHERE o.status = 'pending' AND c.active = 1"
    ).fetchone()
    return row[0] if row and row[0] else None


def mark_sending(db: sqlite_utils.Database, delivery_id: int) -> None:
    """Committed before the network call: a crash now leaves 'sending', which is never blindly resent."""
    db.execute("UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?", (delivery_id,))


def mark_sent(db: sqlite_utils.Database, delivery_id: int, now: str) -> None:
    db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?", (now, delivery_id)
    )


def mark_retry(
    db: sqlite_utils.Database, delivery_id: int, next_at: str, error: str, *, count: bool = True
) -> None:
    """Back to pending; count=False takes back the attempt mark_sending added (a 429, a moved chat)."""
    db.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, "
        "attempts = MAX(0, attempts - ?) WHERE id = ?",
        (next_at, error[:300], 0 if count else 1, delivery_id),
    )


def mark_final(db: sqlite_utils.Database, delivery_id: int, status: str, error: str) -> None:
    """uncertain (may have arrived: never resent), failed (gave up) or dropped (chat gone)."""
    db.execute(
        "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error[:300], delivery_id)
    )


def drop_for_chat(db: sqlite_utils.Database, chat_id: int, reason: str) -> int:
    """Drop every pending delivery to a chat that can no longer be reached."""
    cursor = db.execute(
        "UPDATE outbox SET status = 'dropped', last_error = ? WHERE chat_id = ? AND status = 'pending'",
        (reason[:300], chat_id),
    )
    return int(cursor.rowcount)


def recover_in_flight(db: sqlite_utils.Database) -> int:
    """At startup: sends cut off by a crash may or may not have arrived; record them as uncertain."""
    cursor = db.execute(
        "UPDATE outbox SET status = 'uncertain', last_error = 'process stopped during the send' "
        "WHERE status = 'sending'"
    )
    return int(cursor.rowcount)


def outbox_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Deliveries by status, for operators."""
    return dict(db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())


@dataclass(frozen=True, slots=True)
class UncertainSend:
    id: int
    platform: str
    address: str
    title: str
    event_key: str
    created_at: str
    error: str


def uncertain_sends(db: sqlite_utils.Database, limit: int = 50) -> list[UncertainSend]:
    """Sends cut off in flight (they may or may not have arrived), newest first, for operators."""
    rows = db.execute(
        "SELECT o.id, c.platform, c.address, COALESCE(c.title, ''), o.event_key, o.created_at, "
        "COALESCE(o.last_error, '') FROM outbox o JOIN chats c ON c.id = o.chat_id "
        "WHERE o.status = 'uncertain' ORDER BY o.id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [UncertainSend(*r) for r in rows]


def recent_problems(db: sqlite_utils.Database, limit: int = 5) -> list[tuple[str, str, str, str | None]]:
    """The latest deliveries that did not go out cleanly, as (status, platform, address, last_error)."""
    rows = db.execute(
        "SELECT o.status, c.platform, c.address, o.last_error FROM outbox o JOIN chats c ON c.id = o.chat_id "
        "WHERE o.status IN ('uncertain', 'failed', 'dropped') ORDER BY o.id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [(str(s), str(p), str(a), e) for s, p, a, e in rows]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A recorded alert as the public page shows it: no chat, no audience, no delivery state."""

    rule: str
    kind: str
    data_date: str
    created_at: str
    payload: str


def latest_alert_events(db: sqlite_utils.Database, limit: int = 20) -> list[EventRecord]:
    """The newest alert events (daily summaries left out), newest first."""
    rows = db.execute(
        "SELECT rule, kind, data_date, created_at, payload FROM events "
        "WHERE rule IN ('sofr_breach', 'range_change', 'auction_weak') OR rule LIKE 'srf_positive@%' "
        "OR rule LIKE 'sofr_near@%' ORDER BY created_at DESC, data_date DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [EventRecord(*row) for row in rows]


def last_event_at(db: sqlite_utils.Database) -> str:
    """When the newest event was recorded ('' before the first)."""
    row = db.execute("SELECT COALESCE(MAX(created_at), '') FROM events").fetchone()
    return str(row[0])
