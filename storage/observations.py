"""Observations and their revision history: idempotent upserts and the reads handlers need."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sqlite_utils

from bot.core.collector import collector_paused
from bot.core.models import Observation

_EPSILON = 1e-9


_UPSERT = (
    "INSERT INTO observations (series, date, value, source, fetched_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (series, date) DO UPDATE SET value = excluded.value, source = excluded.source, "
    "fetched_at = excluded.fetched_at"
)


# Bumped in the same transaction as every change to observations: what a cached chart was drawn from.
_BUMP_VERSION = (
    "INSERT INTO meta (key, value) VALUES ('observations_version', '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)


def data_version(db: sqlite_utils.Database) -> int:
    """A number that changes whenever a stored observation appears or changes (0 before the first)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'observations_version'").fetchone()
    return int(row[0]) if row else 0


class Change(NamedTuple):
    """A stored value that appeared (old is None) or changed."""

    series: str
    date: str
    old: float | None
    new: float
    source: str


@dataclass(frozen=True, slots=True)
class Point:
    date: str
    value: float


def upsert_observations(
    db: sqlite_utils.Database,
    observations: Iterable[Observation],
    *,
    fetched_at: str,
    untracked: frozenset[str] = frozenset(),
) -> list[Change]:
    """Store observations; unchanged values are not rewritten and changed ones are kept as revisions."""
    # Collector passes over a backfill's tens of thousands of rows cost more than the inserts.
    with collector_paused():
        by_series: dict[str, dict[str, Observation]] = {}
        for obs in observations:
            rows = by_series.get(obs.series)
            if rows is None:
                rows = by_series[obs.series] = {}
            rows[obs.date] = obs
        changes: list[Change] = []
        for series, rows in by_series.items():
            stored: dict[str, float] = dict(
                db.execute(
                    "SELECT date, value FROM observations WHERE series = ? AND date BETWEEN ? AND ?",
                    (series, min(rows), max(rows)),
                ).fetchall()
            )
            if not stored:  # a range stored for the first time (a backfill): every value is new
                changes.extend(Change(series, day, None, obs.value, obs.source) for day, obs in rows.items())
                continue
            for day, obs in rows.items():
                old = stored.get(day)
                if old is None or abs(old - obs.value) > _EPSILON:
                    changes.append(Change(series, day, old, obs.value, obs.source))
        if changes:
            _write(db, changes, fetched_at, untracked)
    return changes


def _write(
    db: sqlite_utils.Database, changes: list[Change], fetched_at: str, untracked: frozenset[str]
) -> None:
    revised = [
        (c.series, c.date, c.old, c.new, c.source, fetched_at)
        for c in changes
        if c.old is not None and c.series not in untracked
    ]
    with db.atomic():
        db.conn.executemany(_UPSERT, ((c.series, c.date, c.new, c.source, fetched_at) for c in changes))
        db.execute(_BUMP_VERSION)
        if revised:
            db.conn.executemany(
                "INSERT INTO revisions (series, date, old_value, new_value, source, revised_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                revised,
            )


def latest(db: sqlite_utils.Database, series: str, on_or_before: str | None = None) -> Point | None:
    """The newest value of a series, optionally as of a date."""
    if on_or_before is None:
        row = db.execute(
            "SELECT date, value FROM observations WHERE series = ? ORDER BY date DESC LIMIT 1", (series,)
        ).fetchone()
    else:
        row = db.execute(
            "SELECT date, value FROM observations WHERE series = ? AND date <= ? ORDER BY date DESC LIMIT 1",
            (series, on_or_before),
        ).fetchone()
    return Point(row[0], row[1]) if row else None


def value_on(db: sqlite_utils.Database, series: str, date: str) -> float | None:
    """The value published for exactly that date, if any."""
    row = db.execute(
        "SELECT value FROM observations WHERE series = ? AND date = ?", (series, date)
    ).fetchone()
    return float(row[0]) if row else None


def history(
    db: sqlite_utils.Database, series: str, since: str | None = None, until: str | None = None
) -> list[Point]:
    """A series between two dates (inclusive), oldest first."""
    rows = db.execute(
        "SELECT date, value FROM observations WHERE series = ? AND date >= ? AND date <= ? ORDER BY date",
        (series, since or "0000-00-00", until or "9999-99-99"),
    ).fetchall()
    return [Point(d, v) for d, v in rows]


# Skip from one series to the next on the primary key, then take each one's MAX(date) from the same key:
# a few index seeks per series, where GROUP BY read every row (223 ms per poll at 454k rows).
_NEWEST_DATES = """
WITH RECURSIVE names(series) AS (
    SELECT MIN(series) FROM observations
    UNION ALL
    SELECT (SELECT MIN(series) FROM observations WHERE series > names.series) FROM names
    WHERE names.series IS NOT NULL
)
SELECT series, (SELECT MAX(date) FROM observations AS o WHERE o.series = names.series)
FROM names WHERE series IS NOT NULL
"""


def newest_dates(db: sqlite_utils.Database) -> dict[str, str]:
    """The newest stored date of every series."""
    return dict(db.execute(_NEWEST_DATES).fetchall())


def revisions(
    db: sqlite_utils.Database, series: str | None = None, since: str | None = None
) -> list[tuple[str, str, float, float, str]]:
    """Recorded revisions as (series, date, old, new, revised_at), newest first."""
    rows = db.execute(
        "SELECT series, date, old_value, new_value, revised_at FROM revisions "
        "WHERE (? IS NULL OR series = ?) AND revised_at >= ? ORDER BY id DESC",
        (series, series, since or ""),
    ).fetchall()
    return [tuple(r) for r in rows]


def first_published(
    db: sqlite_utils.Database, series: str, dates: Sequence[str]
) -> dict[str, tuple[float, str]]:
    """For each date of a series that was ever revised: the value first stored and when it last changed."""
    found: dict[str, tuple[float, str]] = {}
    for day in dates:
        row = db.execute(
            "SELECT (SELECT old_value FROM revisions WHERE series = ? AND date = ? ORDER BY id LIMIT 1), "
            "MAX(revised_at) FROM revisions WHERE series = ? AND date = ?",
            (series, day, series, day),
        ).fetchone()
        if row and row[1] is not None:
            found[day] = (float(row[0]), str(row[1]))
    return found


def series_summary(db: sqlite_utils.Database, names: Sequence[str]) -> dict[str, Point]:
    """The latest point of each named series that has data."""
    found: dict[str, Point] = {}
    for name in names:
        point = latest(db, name)
        if point is not None:
            found[name] = point
    return found


def max_before(db: sqlite_utils.Database, series: str, before: str) -> float | None:
    """The largest value of a series on dates before one (None when there is none)."""
    # Down the (series, value DESC) index to the first row dated before: only rows newer than `before`
    # that are larger are stepped over, a handful for the engine's recheck window.
    row = db.execute(
        "SELECT value FROM observations INDEXED BY observations_series_value "
        "WHERE series = ? AND date < ? ORDER BY value DESC LIMIT 1",
        (series, before),
    ).fetchone()
    return float(row[0]) if row else None


_LAST_ABOVE_POSITIVE = (
    "SELECT date, value FROM observations INDEXED BY observations_positive "
    "WHERE series = ? AND value > 0 AND value > ? ORDER BY date DESC LIMIT 1"
)
_LAST_ABOVE_ANY = (
    "SELECT date, value FROM observations WHERE series = ? AND value > ? ORDER BY date DESC LIMIT 1"
)


def last_above(db: sqlite_utils.Database, series: str, threshold: float = 0.0) -> Point | None:
    """The most recent date the series was above a threshold."""
    # The partial index holds only positive values: its newest row above the threshold is the answer.
    if threshold >= 0:
        row = db.execute(_LAST_ABOVE_POSITIVE, (series, threshold)).fetchone()
    else:
        row = db.execute(_LAST_ABOVE_ANY, (series, threshold)).fetchone()
    return Point(row[0], row[1]) if row else None


def record_high(db: sqlite_utils.Database, series: str) -> Point | None:
    """The largest stored value of a series (earliest date on ties)."""
    row = db.execute(
        "SELECT date, value FROM observations INDEXED BY observations_series_value "
        "WHERE series = ? ORDER BY value DESC, date LIMIT 1",
        (series,),
    ).fetchone()
    return Point(row[0], row[1]) if row else None


def total_between(db: sqlite_utils.Database, series: str, since: str, until: str) -> tuple[float, int]:
    """Sum of a series over a date range, and how many days had a value above zero."""
    row = db.execute(
        "SELECT COALESCE(SUM(value), 0), COALESCE(SUM(value > 0), 0) FROM observations "
        "WHERE series = ? AND date BETWEEN ? AND ?",
        (series, since, until),
    ).fetchone()
    return float(row[0]), int(row[1])


def last_stored_at(db: sqlite_utils.Database) -> str:
    """When any observation was last written, with how many there are: changes whenever new data lands."""
    row = db.execute("SELECT COALESCE(MAX(fetched_at), ''), COUNT(*) FROM observations").fetchone()
    return f"{row[0]}#{row[1]}"


def flag_source_revisions(
    db: sqlite_utils.Database, keys: Iterable[tuple[str, str]], flagged_at: str
) -> None:
    """Record (series, date) values the source marks as revised; the first sighting is kept."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO source_revisions (series, date, flagged_at) VALUES (?, ?, ?)",
        [(series, day, flagged_at) for series, day in keys],
    )


def source_revised(db: sqlite_utils.Database, series: str, dates: Sequence[str]) -> set[str]:
    """Which of these dates of a series the source marked as revised."""
    if not dates:
        return set()
    rows = db.execute(
        "SELECT date FROM source_revisions WHERE series = ? AND date IN (SELECT value FROM json_each(?))",
        (series, json.dumps(list(dates))),
    ).fetchall()
    return {str(r[0]) for r in rows}
