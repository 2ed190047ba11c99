"""Alerts an announcement channel could not publish (Discord's 10 an hour), kept for its daily summary."""

from __future__ import annotations

import json

import sqlite_utils

from storage.meta import get_meta, set_meta

_KEEP = 20  # a summary lists at most this many titles; older ones are dropped first


def _key(address: str) -> str:
    return f"discord_unpublished:{address}"


def unpublished(db: sqlite_utils.Database, address: str) -> list[str]:
    """The titles not yet published in this channel, oldest first."""
    raw = get_meta(db, _key(address))
    if not raw:
        return []
    try:
        titles = json.loads(raw)
    except ValueError:
        return []
    return [str(title) for title in titles] if isinstance(titles, list) else []


def note_unpublished(db: sqlite_utils.Database, address: str, title: str) -> None:
    """Keep one more title that went out unpublished."""
    titles = [*unpublished(db, address), title][-_KEEP:]
    set_meta(db, _key(address), json.dumps(titles, ensure_ascii=False))


def forget_unpublished(db: sqlite_utils.Database, address: str) -> None:
    """The daily summary listed them: start again."""
    set_meta(db, _key(address), "[]")
