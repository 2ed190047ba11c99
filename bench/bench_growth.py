"""Reads that must stay flat as history grows: newest dates, record highs, last positive, prior record.

Run: .venv/bin/python -m bench.bench_growth [--years 1,5,10,25] [--calls N]
Stores Y years of every catalog series, every calendar day (25 years is 173,000 rows; SRF take-up is zero
on most days, as it is), through the real upsert, then times each read (median of N calls) and, side by
side, the whole-series statement it replaced. Goal: the 25-year median within 2x
of the 1-year one (O(log n)); the replaced statements grow with the table.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import sqlite_utils

from bot.core.models import Observation
from bot.core.series import CATALOG
from storage.db import open_db
from storage.observations import last_above, max_before, newest_dates, record_high, upsert_observations

GOAL = 2.0

Read = Callable[[sqlite_utils.Database], object]


def _sql(statement: str, *params: object) -> Read:
    return lambda db: db.execute(statement, params).fetchall()


READS: dict[str, Read] = {
    "newest_dates": newest_dates,
    "record_high srf": lambda db: record_high(db, "srf"),
    "record_high rrp": lambda db: record_high(db, "rrp"),
    "last_above srf": lambda db: last_above(db, "srf"),
    "max_before srf (engine)": lambda db: max_before(db, "srf", "2026-06-01"),
}
REPLACED: dict[str, Read] = {
    "newest_dates": _sql("SELECT series, MAX(date) FROM observations GROUP BY series"),
    "record_high srf": _sql(
        "SELECT date, value FROM observations WHERE series = ? ORDER BY value DESC, date LIMIT 1",
        "srf",
    ),
    "record_high rrp": _sql(
        "SELECT date, value FROM observations WHERE series = ? ORDER BY value DESC, date LIMIT 1",
        "rrp",
    ),
    "last_above srf": _sql(
        "SELECT date, value FROM observations WHERE series = ? AND value > ? ORDER BY date DESC LIMIT 1",
        "srf",
        0.0,
    ),
    "max_before srf (engine)": _sql(
        "SELECT MAX(value) FROM observations WHERE series = ? AND date < ?", "srf", "2026-06-01"
    ),
}


def build(path: Path, years: int) -> None:
    rng = random.Random(years)
    end = date(2026, 6, 30)
    days = [(end - timedelta(days=i)).isoformat() for i in range(years * 365)][::-1]
    observations = []
    for series in CATALOG:
        for day in days:
            if series in {"srf", "rrp"}:
                value = round(rng.uniform(0.5, 50.0), 3) if rng.random() < 0.03 else 0.0
            else:
                value = round(rng.uniform(1.0, 6.0), 4)
            observations.append(Observation(series, day, value, "bench"))
    db = open_db(path)
    upsert_observations(db, observations, fetched_at="2026-07-01T00:00:00Z")
    # the quiet tail: the last positive take-up well in the past, as in most of SRF history
    tail = [Observation(s, d, 0.0, "bench") for s in ("srf", "rrp") for d in days[-400:]]
    upsert_observations(db, tail, fetched_at="2026-07-01T00:00:00Z")
    db.close()


def _median_us(db: sqlite_utils.Database, read: Read, calls: int) -> float:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        read(db)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", default="1,5,10,25")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    ours: dict[str, list[float]] = {name: [] for name in READS}
    old: dict[str, list[float]] = {name: [] for name in READS}
    rows: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for y in years:
            path = Path(tmp) / f"g{y}.db"
            build(path, y)
            db = open_db(path)
            rows.append(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
            for name, read in READS.items():
                ours[name].append(_median_us(db, read, args.calls))
            db.close()
            # The replaced statements, on a copy without this indexes (as the schema was before).
            before = Path(tmp) / f"g{y}-before.db"
            shutil.copyfile(path, before)
            db = sqlite_utils.Database(sqlite3.connect(before), execute_plugins=False)
            db.execute("DROP INDEX observations_series_value")
            db.execute("DROP INDEX observations_positive")
            for name in READS:
                old[name].append(_median_us(db, REPLACED[name], max(5, args.calls // 20)))
            db.close()
    print(f"median microseconds per call; years {years}, observations {[f'{r:,}' for r in rows]}")
    print(f"goal: {years[-1]}-year median <= {GOAL}x the {years[0]}-year one")
    for name in READS:
        growth = ours[name][-1] / ours[name][0]
        old_growth = old[name][-1] / old[name][0]
        verdict = "ok" if growth <= GOAL else "OVER GOAL"
        print(
            f"  {name:<24} ours "
            + " ".join(f"{v:7.1f}" for v in ours[name])
            + f"  growth {growth:4.2f}x {verdict}"
        )
        print(f"  {'':<24} was  " + " ".join(f"{v:7.1f}" for v in old[name]) + f"  growth {old_growth:4.2f}x")


if __name__ == "__main__":
    main()
