"""Chats, their subscriptions and alert settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

_SELECT_CHAT = (
    "SELECT c.id, c.platform, c.address, c.title, c.is_group, c.active, c.srf_threshold, c.near_bp, "
    "c.muted_until, c.lang, c.lang_chosen FROM chats c "
)


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    platform: str
    address: str
    title: str
    is_group: bool
    active: bool
    srf_threshold: float
    near_bp: float | None
    muted_until: str | None
    lang: str
    lang_chosen: bool = False

    def muted(self, now_iso: str) -> bool:
        return self.muted_until is not None and self.muted_until > now_iso


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    kind: str  # "alerts" or "daily"
    daily_time: str | None
    tz: str | None
    weekends: bool


def _chat(row: tuple[object, ...]) -> Chat:
    cid, platform, address, title, group, active, srf, near, muted, lang, chosen = row
    return Chat(
        int(cid),  # type: ignore[call-overload]
        str(platform),
        str(address),
        str(title),
        bool(group),
        bool(active),
        float(srf),  # type: ignore[arg-type]
        None if near is None else float(near),  # type: ignore[arg-type]
        None if muted is None else str(muted),
        str(lang),
        bool(chosen),
    )


def get_chat(db: sqlite_utils.Database, platform: str, address: str) -> Chat | None:
    """The chat with that platform address, if known."""
    row = db.execute(_SELECT_CHAT + "WHERE c.platform = ? AND c.address = ?", (platform, address)).fetchone()
    return _chat(tuple(row)) if row else None


def chat_by_id(db: sqlite_utils.Database, chat_id: int) -> Chat | None:
    row = db.execute(_SELECT_CHAT + "WHERE c.id = ?", (chat_id,)).fetchone()
    return _chat(tuple(row)) if row else None


def ensure_chat(
    db: sqlite_utils.Database,
    platform: str,
    address: str,
    *,
    title: str,
    is_group: bool,
    now: str,
    lang: str | None = None,
) -> Chat:
    """Create the chat if new, reactivate it if it was deactivated, and return it.

    lang (the language the request came in) becomes the chat's language unless /lang chose one."""
    db.execute(
        "INSERT INTO chats (platform, address, title, is_group, created_at, lang) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (platform, address) DO UPDATE SET title = excluded.title, active = 1, "
        "deactivated_reason = NULL, "
        "lang = CASE WHEN chats.lang_chosen = 1 OR ? IS NULL THEN chats.lang ELSE excluded.lang END",
        (platform, address, title[:200], int(is_group), now, lang or "en", lang),
    )
    chat = get_chat(db, platform, address)
    assert chat is not None
    return chat


def subscribe(
    db: sqlite_utils.Database,
    chat_id: int,
    kind: str,
    *,
    now: str,
    daily_time: str | None = None,
    tz: str | None = None,
    weekends: bool = False,
) -> None:
    """Subscribe a chat (replacing the time and zone of an existing daily subscription)."""
    db.execute(
        "INSERT INTO subscriptions (chat_id, kind, daily_time, tz, weekends, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (chat_id, kind) DO UPDATE SET daily_time = excluded.daily_time, tz = excluded.tz, "
        "weekends = excluded.weekends, next_daily_at = ''",
        (chat_id, kind, daily_time, tz, int(weekends), now),
    )


def unsubscribe(db: sqlite_utils.Database, chat_id: int, kind: str | None = None) -> int:
    """Remove one subscription kind (or all); returns how many were removed."""
    cursor = db.execute(
        "DELETE FROM subscriptions WHERE chat_id = ? AND (? IS NULL OR kind = ?)", (chat_id, kind, kind)
    )
    return int(cursor.rowcount)


def subscriptions_of(db: sqlite_utils.Database, chat_id: int) -> list[Subscription]:
    rows = db.execute(
        "SELECT chat_id, kind, daily_time, tz, weekends FROM subscriptions WHERE chat_id = ? ORDER BY kind",
        (chat_id,),
    ).fetchall()
    return [Subscription(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


def set_srf_threshold(db: sqlite_utils.Database, chat_id: int, billions: float) -> None:
    db.execute("UPDATE chats SET srf_threshold = ? WHERE id = ?", (billions, chat_id))


def set_near_bp(db: sqlite_utils.Database, chat_id: int, bp: float | None) -> None:
    db.execute("UPDATE chats SET near_bp = ? WHERE id = ?", (bp, chat_id))


def set_lang(db: sqlite_utils.Database, chat_id: int, lang: str) -> None:
    """The language /lang chose: replies, alerts and summaries for this chat use it from now on."""
    db.execute("UPDATE chats SET lang = ?, lang_chosen = 1 WHERE id = ?", (lang, chat_id))


def chosen_lang(db: sqlite_utils.Database, platform: str, address: str) -> str | None:
    """The language /lang chose for a chat, or None (then the client's language applies)."""
    row = db.execute(
        "SELECT lang FROM chats WHERE platform = ? AND address = ? AND lang_chosen = 1", (platform, address)
    ).fetchone()
    return str(row[0]) if row else None


def set_muted_until(db: sqlite_utils.Database, chat_id: int, until: str | None) -> None:
    db.execute("UPDATE chats SET muted_until = ? WHERE id = ?", (until, chat_id))


def deactivate_chat(db: sqlite_utils.Database, chat_id: int, reason: str) -> None:
    """Stop sending to a chat that blocked or removed the bot; its settings are kept if it comes back."""
    db.execute("UPDATE chats SET active = 0, deactivated_reason = ? WHERE id = ?", (reason[:200], chat_id))


def migrate_chat(db: sqlite_utils.Database, chat_id: int, new_address: str) -> None:
    """A Telegram group became a supergroup: same chat, new address; an existing row is merged in."""
    chat = chat_by_id(db, chat_id)
    if chat is None:
        return
    with db.atomic():
        other = get_chat(db, chat.platform, new_address)
        if other is not None and other.id != chat_id:
            db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (other.id,))
            db.execute(
                "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND event_key NOT IN "
                "(SELECT event_key FROM outbox WHERE chat_id = ?)",
                (chat_id, other.id, chat_id),
            )
            db.execute("DELETE FROM outbox WHERE chat_id = ?", (other.id,))
            db.execute("DELETE FROM chats WHERE id = ?", (other.id,))
        db.execute("UPDATE chats SET address = ? WHERE id = ?", (new_address, chat_id))


@dataclass(frozen=True, slots=True)
class AlertTarget:
    chat_id: int
    srf_threshold: float
    near_bp: float | None


def alert_targets(db: sqlite_utils.Database, now: str) -> list[AlertTarget]:
    """Active, unmuted chats subscribed to alerts, with their thresholds."""
    rows = db.execute(
        "SELECT c.id, c.srf_threshold, c.near_bp FROM chats c JOIN subscriptions s ON s.chat_id = c.id "
        "WHERE s.kind = 'alerts' AND c.active = 1 AND (c.muted_until IS NULL OR c.muted_until <= ?) "
        "ORDER BY c.id",
        (now,),
    ).fetchall()
    return [AlertTarget(r[0], r[1], r[2]) for r in rows]


def auction_targets(db: sqlite_utils.Database, now: str) -> list[int]:
    """Active, unmuted chats that opted in to weak-auction alerts."""
    rows = db.execute(
        "SELECT c.id FROM chats c JOIN subscriptions s ON s.chat_id = c.id "
        "WHERE s.kind = 'auctions' AND c.active = 1 AND (c.muted_until IS NULL OR c.muted_until <= ?) "
        "ORDER BY c.id",
        (now,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def alert_parameters(db: sqlite_utils.Database) -> tuple[set[float], set[float]]:
    """Distinct SRF thresholds and near-ceiling distances in use (0 is always evaluated)."""
    rows = db.execute(
        "SELECT DISTINCT c.srf_threshold, c.near_bp FROM chats c JOIN subscriptions s ON s.chat_id = c.id "
        "WHERE s.kind = 'alerts' AND c.active = 1"
    ).fetchall()
    return {0.0} | {float(r[0]) for r in rows}, {float(r[1]) for r in rows if r[1] is not None}


_DAILY_COLUMNS = (
    "SELECT c.id, c.platform, c.address, c.title, c.is_group, c.active, c.srf_threshold, c.near_bp, "
    "c.muted_until, c.lang, c.lang_chosen, s.daily_time, s.tz, s.weekends "
)


def _daily(row: tuple[object, ...]) -> tuple[Chat, Subscription]:
    chat = _chat(row[:11])
    daily_time, tz, weekends = row[11:]
    return chat, Subscription(
        chat.id,
        "daily",
        None if daily_time is None else str(daily_time),
        None if tz is None else str(tz),
        bool(weekends),
    )


def daily_subscribers(db: sqlite_utils.Database) -> list[tuple[Chat, Subscription]]:
    """Every active chat with a daily summary subscription."""
    rows = db.execute(
        _DAILY_COLUMNS + "FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
        "WHERE s.kind = 'daily' AND c.active = 1 ORDER BY s.chat_id"
    ).fetchall()
    return [_daily(tuple(row)) for row in rows]


def daily_due(db: sqlite_utils.Database, now: str) -> list[tuple[Chat, Subscription]]:
    """The daily subscriptions whose next look is due at `now` (one indexed read, however many chats)."""
    rows = db.execute(
        _DAILY_COLUMNS + "FROM subscriptions s INDEXED BY subscriptions_next_daily "
        "JOIN chats c ON c.id = s.chat_id "
        "WHERE s.kind = 'daily' AND s.next_daily_at <= ? AND c.active = 1 ORDER BY s.chat_id",
        (now,),
    ).fetchall()
    return [_daily(tuple(row)) for row in rows]


def set_next_daily(db: sqlite_utils.Database, next_at: Iterable[tuple[int, str]]) -> None:
    """When to look at each chat's daily subscription again: (chat id, UTC time as iso_utc text)."""
    db.conn.executemany(
        "UPDATE subscriptions SET next_daily_at = ? WHERE chat_id = ? AND kind = 'daily'",
        ((at, chat_id) for chat_id, at in next_at),
    )


def chat_counts(db: sqlite_utils.Database) -> tuple[int, int, dict[str, int]]:
    """Chats known and active, and subscriptions by kind, for operators."""
    total, active = db.execute("SELECT COUNT(*), COALESCE(SUM(active), 0) FROM chats").fetchone()
    kinds = dict(db.execute("SELECT kind, COUNT(*) FROM subscriptions GROUP BY kind").fetchall())
    return int(total), int(active), kinds
