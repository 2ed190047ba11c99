"""Backfill and poll benchmarks against the local fake sources.

Run: .venv/bin/python -m bench.bench_backfill [--repeat N] [--latency SECONDS]
Prints: backfill rows/s with requests in parallel within each source's limit, side by side (alternating runs)
with the windows fetched one after another as before (goal: >= 3x at the realistic latency), with no added
latency and with `--latency` per response (default 0.1 s, a typical round trip to the real services), each
median beside its runs; the ratio of raw sqlite3 executemany time to storage upsert time on the same rows
(goal >= 0.5, i.e. our upsert at most 2x the raw insert); and the median wall time of a poll cycle when
nothing changed (goal < 300 ms). The fakes run in spawned processes, one a real host, so the figures are
the bot's and not theirs; the CPU they used is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar

import httpx

from bot.core.config import load_settings
from bot.core.models import Observation
from bot.sources import fiscaldata, fred, nyfed, treasury
from bot.sources.http import get_json, make_client
from bot.sources.poller import Poller
from storage.db import open_db
from storage.observations import upsert_observations
from tests.fakes.history import synthetic_history
from tests.fakes.sources import FakeSources

T = TypeVar("T")
NOW = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
HISTORY_START, HISTORY_END = date(2000, 1, 1), date(2026, 6, 30)


@contextlib.contextmanager
def _one_window_at_a_time() -> Iterator[None]:
    """The fetch as it was before: SOFR, EFFR, BGCR, TGCR and operations side by side, each of them one
    window after another (a window's request, then its parsing, then the next request); Fiscal Data's
    pages one after another (the four Treasury endpoints side by side, as they were); FRED 3 series at a
    time. Parsing, validation and storage are today's, so the ratio is what the parallel requests alone
    are worth."""
    saved = (nyfed._each_window, fiscaldata.CONCURRENCY, fred.CONCURRENCY, treasury._all_rows)

    async def in_turn(
        windows: Sequence[tuple[date, date]],
        fetch_one: Callable[[date, date, asyncio.Semaphore], Coroutine[object, object, list[T]]],
        limit: object,
    ) -> list[T]:
        rows: list[T] = []
        for low, high in windows:
            rows.extend(await fetch_one(low, high, asyncio.Semaphore(1)))
        return rows

    async def pages_in_turn(
        client: httpx.AsyncClient, base_url: str, path: str, params: dict[str, str], gate: object
    ) -> dict[str, object]:
        url = f"{base_url.rstrip('/')}{path}"
        rows: list[object] = []
        page = pages = 1
        while page <= pages:
            query = {**params, "page[size]": str(treasury._PAGE_SIZE), "page[number]": str(page)}
            payload = await get_json(client, treasury.SOURCE, url, query)
            chunk = treasury._rows(payload, path.rsplit("/", 1)[-1])
            if page == 1:
                pages = fiscaldata.total_pages(payload, treasury.SOURCE)
            if not chunk:
                break
            rows.extend(chunk)
            page += 1
        return {"data": rows}

    nyfed._each_window, fiscaldata.CONCURRENCY, fred.CONCURRENCY = in_turn, 1, 3
    treasury._all_rows = pages_in_turn
    try:
        yield
    finally:
        nyfed._each_window, fiscaldata.CONCURRENCY, fred.CONCURRENCY, treasury._all_rows = saved


def _serve(latency: float, pipe: Connection) -> None:
    """The fake sources in a child process: sends their addresses, answers "cpu" with the CPU seconds it
    has used, serves until told to stop."""

    async def run() -> None:
        history = synthetic_history(HISTORY_START, HISTORY_END, seed=1)
        async with FakeSources(history, latency=latency) as fake:
            pipe.send(fake.env())
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, pipe.recv) == "cpu":
                pipe.send(time.process_time())

    asyncio.run(run())


# The variables each real host's fake answers: the NY Fed, FRED (CSV and API), Fiscal Data (TGA and the
# Treasury tables share one host).
_HOSTS = (
    ("NYFED_BASE_URL",),
    ("FRED_CSV_URL", "FRED_API_URL"),
    ("FISCALDATA_BASE_URL",),
)


class _Fake:
    """The fake sources, one child process for each real host, and a way to read their CPU time."""

    def __init__(self, pipes: list[Connection]) -> None:
        self.pipes = pipes
        self.env: dict[str, str] = {}
        for pipe, names in zip(pipes, _HOSTS, strict=True):
            served = pipe.recv()
            self.env.update({name: served[name] for name in names})

    def cpu(self) -> float:
        """CPU seconds the fakes have used, all processes together."""
        for pipe in self.pipes:
            pipe.send("cpu")
        return sum(float(pipe.recv()) for pipe in self.pipes)


@contextlib.contextmanager
def _fake_sources(latency: float) -> Iterator[_Fake]:
    """FakeSources in their own processes (spawned), one a host as the real services are, so the bench
    times the bot and not the fake: one fake process for all three serialised their answers."""
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    servers = []
    try:
        for _ in _HOSTS:
            parent, child = context.Pipe()
            server = context.Process(target=_serve, args=(latency, child), daemon=True)
            server.start()
            pipes.append(parent)
            servers.append(server)
        yield _Fake(pipes)
    finally:
        for pipe in pipes:
            pipe.send("stop")
        for server in servers:
            server.join(10)
            if server.is_alive():
                server.terminate()


async def _backfill(env: dict[str, str], path: Path) -> tuple[float, int]:
    settings = load_settings({**env, "DATABASE_PATH": str(path)}, env_file=None)
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


async def _poll_cycles(env: dict[str, str], path: Path, repeat: int) -> list[float]:
    settings = load_settings({**env, "DATABASE_PATH": str(path)}, env_file=None)
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


async def _side_by_side(workdir: Path, repeat: int, latency: float) -> None:
    before: list[tuple[float, int]] = []
    after: list[tuple[float, int]] = []
    with _fake_sources(latency) as fake:
        await _backfill(fake.env, workdir / f"warm-{latency}.db")  # the fake's first answers, our imports
        fake_cpu = -fake.cpu()
        for i in range(repeat):
            with _one_window_at_a_time():
                before.append(await _backfill(fake.env, workdir / f"before-{latency}-{i}.db"))
            after.append(await _backfill(fake.env, workdir / f"after-{latency}-{i}.db"))
        fake_cpu = (fake_cpu + fake.cpu()) / (2 * repeat)
    rows = after[0][1]
    assert all(b[1] == rows for b in before + after), (before, after)
    was, now = statistics.median(b[0] for b in before), statistics.median(a[0] for a in after)
    ratio = was / now
    print(
        f"backfill since 2000, {latency * 1000:.0f} ms per response: {rows:,} rows; one window at a time "
        f"{was:.2f} s = {rows / was:,.0f} rows/s; parallel {now:.2f} s = {rows / now:,.0f} rows/s; "
        f"{ratio:.2f}x (goal >= 3x: {'met' if ratio >= 3 else 'NOT met'}; median of {repeat}, "
        f"the fakes, in their own processes, used {fake_cpu:.2f} s CPU a backfill)",
        flush=True,
    )
    print(
        f"  runs (s): one window at a time {' '.join(f'{b[0]:.2f}' for b in before)}; "
        f"parallel {' '.join(f'{a[0]:.2f}' for a in after)}",
        flush=True,
    )


async def main(repeat: int, latency: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for delay in (0.0, latency):
            await _side_by_side(workdir, repeat, delay)
        with _fake_sources(0.0) as fake:
            await _backfill(fake.env, workdir / "backfill0.db")
            cycles = await _poll_cycles(fake.env, workdir / "backfill0.db", max(10, repeat * 4))
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
