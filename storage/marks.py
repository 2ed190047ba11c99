"""Alert marks: what each rule has already evaluated, so restarts never re-fire and revisions are seen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True, slots=True)
class Mark:
    """What a rule saw for one item: its order key, value, reference level and verdict."""

    item: str
    ord: str
    value: float
    ref: float | None
    flag: bool


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


def last_calm_ord(db: sqlite_utils.Database, rule: str) -> str | None:
    """The order key of the latest unflagged mark of a rule (where its last episode had ended)."""
    row = db.execute("SELECT MAX(ord) FROM alert_marks WHERE rule = ? AND flag = 0", (rule,)).fetchone()
    return str(row[0]) if row and row[0] else None


def forget_rules(db: sqlite_utils.Database, prefixes: Iterable[str], keep: set[str]) -> list[str]:
    """Delete the marks of every rule named prefix@... that is not in keep; returns the rules dropped."""
    dropped: list[str] = []
    for prefix in prefixes:
        rows = db.execute(
            "SELECT DISTINCT rule FROM alert_marks WHERE rule LIKE ? ESCAPE '\\'",
            (prefix.replace("_", "\\_") + "@%",),
        ).fetchall()
        for (rule,) in rows:
            if rule not in keep:
                db.execute("DELETE FROM alert_marks WHERE rule = ?", (rule,))
                dropped.append(rule)
    return dropped
