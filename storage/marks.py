"""Alert marks: what each rule has already evaluated, so restarts never re-fire and revisions are seen."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from bot.alerts.rules import Mark


def load_marks(db: sqlite_utils.Database, rule: str, since_ord: str = "") -> dict[str, Mark]:
    """Marks of a rule whose order key is at or after since_ord."""
    rows = db.execute(
        "SELECT item, ord, value, ref, flag FROM alert_marks WHERE rule = ? AND ord >= ?", (rule, since_ord)
    ).fetchall()
    return {r[0]: Mark(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows}


def last_mark(db: sqlite_utils.Database, rule: str) -> Mark | None:
    """The latest mark of a rule, or None for a rule never evaluated."""
    row = db.execute(
        "SELECT item, ord, value, ref, flag FROM alert_marks WHERE rule = ? ORDER BY ord DESC LIMIT 1",
        (rule,),
    ).fetchone()
    return Mark(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


def save_marks(db: sqlite_utils.Database, rule: str, marks: Iterable[Mark]) -> None:
    db.conn.executemany(
        "INSERT INTO alert_marks (rule, item, ord, value, ref, flag) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (rule, item) DO UPDATE SET ord = excluded.ord, value = excluded.value, "
        "ref = excluded.ref, flag = excluded.flag",
        [(rule, m.item, m.ord, m.value, m.ref, int(m.flag)) for m in marks],
    )
