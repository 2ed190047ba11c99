"""Backfill and poll benchmarks against the local fake sources.

Run: .venv/bin/python -m bench.bench_backfill [--repeat N] [--latency SECONDS]
Prints: backfill rows/s with requests in parallel within each source's limit, side by side (alternating runs)
with the windows fetched one after another as before (goal: >= 3x), with no added latency and with
`--latency` per response (default 0.1 s, a typical round trip to the real services); the ratio
of raw sqlite3 executemany time to storage upsert time on the same rows
(goal >= 0.5, i.e. our upsert at most 2x the raw insert); and the median wall time of a poll cycle when
nothing changed (goal < 300 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from bot.core.config import load_settings
from bot.core.models import Observation, SourceBatch
from bot.sources import fiscaldata, nyfed
from bot.sources.http import make_client
from bot.sources.poller import Poller
from storage.db import open_db
from storage.observations import upsert_observations
from tests.fakes.history import synthetic_history
from tests.fakes.sources import FakeSources

NOW = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)


@contextlib.contextmanager
def _one_window_at_a_time() -> Iterator[None]:
    """The fetch as it was before: SOFR, EFFR and operations side by side, each window after the last,
    Fiscal Data's pages one after another (FRED's per-series concurrency is unchanged)."""
    fetch, pages = nyfed.fetch, fiscaldata.CONCURRENCY

    async def sequential(client: object, base_url: str, start: date, end: date, **kw: object) -> SourceBatch:
        c: object = client
        sofr, effr, ops = await asyncio.gather(
            nyfed.fetch_rates(c, base_url, "sofr", start, end, limit=asyncio.Semaphore(1)),  # type: ignore[arg-type]
            nyfed.fetch_rates(c, base_url, "effr", start, end, limit=asyncio.Semaphore(1)),  # type: ignore[arg-type]
            nyfed.fetch_operations(c, base_url, start, end, limit=asyncio.Semaphore(1)),  # type: ignore[arg-type]
        )
        return SourceBatch(nyfed.SOURCE, [*sofr, *effr, *nyfed.daily_series(ops)], ops)

    nyfed.fetch, fiscaldata.CONCURRENCY = sequential, 1  # type: ignore[assignment]
    try:
        yield
    finally:
        nyfed.fetch, fiscaldata.CONCURRENCY = fetch, pages


async def _backfill(fake: FakeSources, path: Path) -> tuple[float, int]:
    settings = load_settings({**fake.env(), "DATABASE_PATH": str(path)}, env_file=None)
    db = open_db(path)
    async with make_client() as client:
        poller = Poller(settings, client, db, clock=lambda: NOW)
        t0 = time.perf_counter()
        result = await poller.poll(since=date(2000, 1, 1))
        elapsed = time.perf_counter() - t0
    assert not result.failed, [o.error for o in result.failed]
    rows = db.execute(
        "SELECT (SELECT COUNT(*) FROM observations) + (SELECT COUNT(*) FROM operations)"
    ).fetchone()
    db.close()
    return elapsed, int(rows[0])


async def _poll_cycles(fake: FakeSources, path: Path, repeat: int) -> list[float]:
    settings = load_settings({**fake.env(), "DATABASE_PATH": str(path)}, env_file=None)
    db = open_db(path)
    times: list[float] = []
    async with make_client() as client:
        poller = Poller(settings, client, db, clock=lambda: NOW)
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = await poller.poll()
            times.append(time.perf_counter() - t0)
            assert not result.changes
    db.close()
    return times


def _upsert_ratio(observations: list[Observation], workdir: Path, repeat: int) -> tuple[float, float, float]:
    ours: list[float] = []
    raw: list[float] = []
    for i in range(repeat):
        db = open_db(workdir / f"ours{i}.db")
        t0 = time.perf_counter()
        upsert_observations(db, observations, fetched_at="2026-07-01T21:00:00Z")
        ours.append(time.perf_counter() - t0)
        db.close()
        template = open_db(workdir / f"raw{i}.db")
        template.close()
        conn = sqlite3.connect(workdir / f"raw{i}.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        rows = [(o.series, o.date, o.value, o.source, "2026-07-01T21:00:00Z") for o in observations]
        t0 = time.perf_counter()
        with conn:
            conn.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?)", rows)
        raw.append(time.perf_counter() - t0)
        conn.close()
    ours_median, raw_median = statistics.median(ours), statistics.median(raw)
    return raw_median / ours_median, ours_median, raw_median


async def _side_by_side(history: object, workdir: Path, repeat: int, latency: float) -> None:
    before: list[tuple[float, int]] = []
    after: list[tuple[float, int]] = []
    async with FakeSources(history, latency=latency) as fake:  # type: ignore[arg-type]
        for i in range(repeat):
            with _one_window_at_a_time():
                before.append(await _backfill(fake, workdir / f"before-{latency}-{i}.db"))
            after.append(await _backfill(fake, workdir / f"after-{latency}-{i}.db"))
    rows = after[0][1]
    assert before[0][1] == rows, (before[0][1], rows)
    was, now = statistics.median(b[0] for b in before), statistics.median(a[0] for a in after)
    print(
        f"backfill since 2000, {latency * 1000:.0f} ms per response: {rows:,} rows; one window at a time "
        f"{was:.2f} s = {rows / was:,.0f} rows/s; parallel {now:.2f} s = {rows / now:,.0f} rows/s; "
        f"{was / now:.1f}x (goal >= 3x; median of {repeat})"
    )


async def main(repeat: int, latency: float) -> None:
    history = synthetic_history(date(2000, 1, 1), date(2026, 6, 30), seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for delay in (0.0, latency):
            await _side_by_side(history, workdir, repeat, delay)
        async with FakeSources(history) as fake:
            await _backfill(fake, workdir / "backfill0.db")
            cycles = await _poll_cycles(fake, workdir / "backfill0.db", max(10, repeat * 4))
            print(
                f"poll cycle, nothing changed: median {statistics.median(cycles) * 1000:.0f} ms, "
                f"max {max(cycles) * 1000:.0f} ms over {len(cycles)} cycles (goal: median < 300 ms)"
            )
        db = open_db(workdir / "backfill0.db")
        observations = [
            Observation(s, d, v, src)
            for s, d, v, src in db.execute("SELECT series, date, value, source FROM observations").fetchall()
        ]
        db.close()
    with tempfile.TemporaryDirectory() as tmp:
        ratio, ours, raw = _upsert_ratio(observations, Path(tmp), repeat)
        print(
            f"upsert of {len(observations):,} observations: ours {ours * 1000:.0f} ms, raw executemany "
            f"{raw * 1000:.0f} ms; ratio raw/ours = {ratio:.2f} (goal >= 0.5)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.latency))
