"""Command, chart and memory benchmarks.

Run: .venv/bin/python -m bench.bench_commands [--iterations N]
- handler latency of every text command on a database with 10 years of every series (goal: p99 < 5 ms);
- chart rendering per kind (goal: median < 250 ms and PNG < 200 KB);
- resident memory of `plumbline run` after warm-up with Telegram connected to the fake (goal: < 150 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bot.core.config import load_settings
from bot.render.charts import render_png
from bot.sources.http import make_client
from bot.sources.poller import Poller
from bot.words.reply import Context
from handlers.table import COMMANDS, dispatch
from storage.db import open_db
from tests.fakes.history import synthetic_history
from tests.fakes.sources import FakeSources, FakeSourcesThread
from tests.fakes.telegram import FakeTelegram

NOW = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


async def build_database(path: Path, years: int = 10) -> None:
    """Backfill `years` of every series from the fake sources, as the real poller would."""
    history = synthetic_history(date(2026 - years, 6, 30), date(2026, 6, 30), seed=3)
    async with FakeSources(history) as fake:
        settings = load_settings({**fake.env(), "DATABASE_PATH": str(path)}, env_file=None)
        db = open_db(path)
        async with make_client() as client:
            result = await Poller(settings, client, db, clock=lambda: NOW).poll(since=date(2000, 1, 1))
        assert not result.failed
        db.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_handlers(path: Path, iterations: int) -> None:
    db = open_db(path)
    rows = db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    print(f"handler latency on {rows:,} observations ({iterations} runs each; goal p99 < 5 ms):")
    ctx = Context(platform="console", chat_id="bench", user_id="bench", now=NOW, is_operator=True)
    worst = 0.0
    for name, command in COMMANDS.items():
        if command.slow:
            continue
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            dispatch(f"/{name}", ctx, db)
            times.append((time.perf_counter() - t0) * 1000)
        p99 = percentile(times, 0.99)
        worst = max(worst, p99)
        print(f"  /{name:<10} median {statistics.median(times):6.2f} ms   p99 {p99:6.2f} ms")
    print(f"  worst p99: {worst:.2f} ms")
    db.close()


def bench_charts(path: Path, iterations: int) -> None:
    db = open_db(path)
    ctx = Context(platform="console", chat_id="bench", user_id="bench", now=NOW)
    print(f"chart rendering ({iterations} runs each; goal median < 250 ms, PNG < 200 KB):")
    for kind in ("corridor", "srf", "rrp", "tga", "liquidity", "sofr"):
        for span in ("3m", "5y", "max"):
            reply = dispatch(f"/chart {kind} {span}", ctx, db)
            assert reply is not None and reply.chart is not None, (kind, span)
            times, size = [], 0
            for _ in range(iterations):
                t0 = time.perf_counter()
                size = len(render_png(reply.chart))
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"  {kind:<9} {span:<3}  median {statistics.median(times):6.1f} ms   "
                f"max {max(times):6.1f} ms   {size / 1024:6.1f} KB"
            )
    db.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def bench_memory(path: Path) -> None:
    """Start `plumbline run` with Telegram on the fake, warm it up with commands and a chart, read its RSS."""
    with FakeSourcesThread(synthetic_history(date(2016, 6, 30), date(2026, 6, 30), seed=3)) as sources:
        async with FakeTelegram() as tg:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
            env |= sources.env() | {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_PATH": str(path),
                "PYTHONPATH": str(ROOT),
                "LOG_LEVEL": "WARNING",
                "POLL_INTERVAL_SECONDS": "5",
            }
            proc = subprocess.Popen(  # noqa: ASYNC220 - started once; the bench measures it, not the loop
                [sys.executable, "-m", "bot.cli", "run"], env=env, stdin=subprocess.DEVNULL
            )
            try:
                for i, line in enumerate(
                    ["/corridor", "/srf", "/liquidity", "/chart corridor 1y", "/status"] * 4
                ):
                    tg.push_message(1000 + i % 5, line)
                await tg.wait_for("sendMessage", 16, timeout=120)
                await tg.wait_for("sendPhoto", 4, timeout=120)
                await asyncio.sleep(6)  # at least one more poll cycle
                rss = rss_mb(proc.pid)
                print(f"resident memory of `plumbline run` after warm-up: {rss:.1f} MB (goal < 150 MB)")
            finally:
                proc.terminate()
                # Wait off the loop: the fake Telegram on this loop must answer the bot's last getUpdates.
                await asyncio.to_thread(proc.wait, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description="Plumbline command, chart and memory benchmarks")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--chart-iterations", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(build_database(path))
        bench_handlers(path, args.iterations)
        bench_charts(path, args.chart_iterations)
        asyncio.run(bench_memory(path))


if __name__ == "__main__":
    main()
