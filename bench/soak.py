"""Soak: the whole bot for a set time against the fakes, with users, publications and 1,000 subscribers.

Run: .venv/bin/python -m bench.soak [--minutes 10] [--subscribers 1000] [--rate 4]
`plumbline run` runs as a subprocess with Telegram and Discord both connected to fakes. The sources
publish a new business day every few seconds (an accelerated clock), alternating calm days and SOFR
breaches, so alerts fan out to every subscriber. A stream of commands comes from Telegram chats and
Discord slash commands. Reports commands answered, p50/p99 reply latency, alerts expected/delivered/
duplicated, errors, and resident memory at the start and the end (goal: growth under 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from storage.chats import ensure_chat, subscribe
from storage.db import open_db
from tests.e2e_support import calm_history
from tests.fakes.discord import FakeDiscord
from tests.fakes.sources import FakeSourcesThread
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["/corridor", "/srf", "/sofr", "/rrp", "/tga", "/liquidity", "/status", "/chart corridor 1m"]
DISCORD_GUILD, DISCORD_CHANNEL = 700000000000000001, 700000000000000002
STAMP = "2025-10-30T00:00:00Z"


RSS_GOAL_MB = 120.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """The bot's child processes (the drawing process, while it runs)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def children_rss_mb(pid: int) -> float:
    total = 0.0
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += rss_mb(child)
    return total


async def sample_rss(pid: int, samples: list[float], drawing: list[float]) -> None:
    """Every 5 s: the bot process's resident memory, and its drawing process's (0 while it sleeps)."""
    while True:
        await asyncio.sleep(5)
        samples.append(rss_mb(pid))
        drawing.append(children_rss_mb(pid))


def business_days(start: date) -> Iterator[date]:
    day = start
    while True:
        day += timedelta(days=1)
        if day.weekday() < 5:
            yield day


async def run(minutes: float, subscribers: int, rate: float) -> None:
    history = calm_history()
    with tempfile.TemporaryDirectory() as tmp, FakeSourcesThread(history) as sources:
        db_path = Path(tmp) / "soak.db"
        db = open_db(db_path)
        with db.atomic():
            for n in range(subscribers):
                chat = ensure_chat(db, "telegram", str(20_000_000 + n), title="", is_group=False, now=STAMP)
                subscribe(db, chat.id, "alerts", now=STAMP)
        db.close()
        async with FakeTelegram() as tg, FakeDiscord() as dc:
            dc.add_guild(DISCORD_GUILD, "Macro", [(DISCORD_CHANNEL, "macro")], owner_id=1)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
            env |= sources.env() | {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DISCORD_BOT_TOKEN": dc.token,
                "DISCORD_API_BASE_URL": dc.api_base_url,
                "DISCORD_GATEWAY_URL": dc.gateway_url,
                "DATABASE_PATH": str(db_path),
                "POLL_INTERVAL_SECONDS": "2",
                "PYTHONPATH": str(ROOT),
                "LOG_LEVEL": "WARNING",
            }
            errors_path = Path(tmp) / "stderr.log"
            with errors_path.open("w") as errors:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot.cli", "run", env=env, stdin=asyncio.subprocess.DEVNULL,
                    stderr=errors,
                )  # fmt: skip
                try:
                    await dc.wait_ready(timeout=60)
                    await asyncio.sleep(8)  # first poll, baseline
                    days = business_days(date(2025, 10, 30))
                    await warm_up(tg, dc, sources, days, subscribers)
                    start_rss = rss_mb(proc.pid)
                    samples: list[float] = []
                    drawing: list[float] = []
                    sampler = asyncio.create_task(sample_rss(proc.pid, samples, drawing))
                    report = await drive(tg, dc, sources, days, minutes, rate, subscribers)
                    sampler.cancel()
                    end_rss = rss_mb(proc.pid)
                finally:
                    proc.terminate()
                    await proc.wait()
            logged = errors_path.read_text()
            error_lines = [line for line in logged.splitlines() if " ERROR " in line or "Traceback" in line]
            first = logged.find("Traceback")
            first_traceback = logged[first : logged.find("\n20", first)] if first >= 0 else ""
    growth = (end_rss - start_rss) / start_rss * 100
    print(report)
    print(f"errors logged: {len(error_lines)}")
    for line in error_lines[:5]:
        print("  " + line[:160])
    if first_traceback:
        print("first traceback:\n" + first_traceback)
    print(
        f"resident memory: {start_rss:.1f} MB at start, {end_rss:.1f} MB at end ({growth:+.1f}%; goal < +10%)"
    )
    peak = max([start_rss, end_rss, *samples])
    print(f"resident memory peak over the soak: {peak:.1f} MB (goal < {RSS_GOAL_MB:.0f} MB)")
    together = max((bot + child for bot, child in zip(samples, drawing, strict=True)), default=peak)
    print(
        f"drawing process (charts, a child that exits when idle): peak {max(drawing, default=0.0):.1f} MB; "
        f"bot and drawing process together: peak {together:.1f} MB"
    )


def publish_day(sources: FakeSourcesThread, day: date, breach: bool) -> None:
    """One business day of the accelerated clock: SOFR, plus FRED's range and IORB (a current ceiling)."""
    sources.history.publish_many(
        day.isoformat(),
        {"sofr": 4.22 if breach else 3.95, "fed_upper": 4.00, "fed_lower": 3.75, "iorb": 3.90},
    )


async def warm_up(
    tg: FakeTelegram, dc: FakeDiscord, sources: FakeSourcesThread, days: Iterator[date], subscribers: int
) -> None:
    """Every code path once (commands and charts on both platforms, a breach and its end fanned out), so
    the memory measured at the start is the bot's working size, not its first-use imports and caches."""
    rng = random.Random(1)
    for command in COMMANDS:
        await ask_telegram(tg, rng, command)
        await ask_discord(dc, rng, command)
    for breach in (True, False):
        publish_day(sources, next(days), breach)
        await asyncio.sleep(subscribers / 28.5 + 5)


async def drive(
    tg: FakeTelegram,
    dc: FakeDiscord,
    sources: FakeSourcesThread,
    days: Iterator[date],
    minutes: float,
    rate: float,
    subscribers: int,
) -> str:
    rng = random.Random(7)
    baseline = len(alert_texts(tg))
    deadline = time.monotonic() + minutes * 60
    latencies: list[float] = []
    asked = answered = 0
    alerts_expected = 0
    breach = False
    next_publication = time.monotonic()
    pending: list[asyncio.Task[float | None]] = []
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_publication:
            day = next(days)
            breach = not breach
            publish_day(sources, day, breach)
            alerts_expected += subscribers  # a breach start, then its end: one alert each
            # Leave the delivery worker time to fan out to every subscriber (28.5 msg/s).
            next_publication = now + max(6.0, subscribers / 28.5 + 4)
        if rng.random() < 0.5:
            pending.append(asyncio.create_task(ask_telegram(tg, rng)))
        else:
            pending.append(asyncio.create_task(ask_discord(dc, rng)))
        asked += 1
        await asyncio.sleep(1 / rate)
    for result in await asyncio.gather(*pending):
        if result is not None:
            answered += 1
            latencies.append(result)
    await asyncio.sleep(subscribers / 28.5 + 5)  # let the last fan-out finish
    delivered = len(alert_texts(tg)) - baseline
    duplicates = len([d for d in tg.duplicates() if int(d[0]) >= 20_000_000])
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    return (
        f"soak: {minutes:g} min, {subscribers:,} subscribers\n"
        f"commands: {asked} asked, {answered} answered; reply latency p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms\n"
        f"alerts: expected {alerts_expected:,}, delivered {delivered:,}, duplicates {duplicates}"
    )


def alert_texts(tg: FakeTelegram) -> list[str]:
    texts = (
        str(c.params.get("text") or c.params.get("caption") or "")
        for c in tg.sent()
        if int(str(c.params["chat_id"])) >= 20_000_000
    )
    return [text for text in texts if "SOFR above the ceiling" in text or "back inside" in text]


_user_ids = itertools.count(5000)
_chats = itertools.count(1_000)


async def ask_telegram(tg: FakeTelegram, rng: random.Random, command: str | None = None) -> float | None:
    chat = next(_chats)  # one chat per question, so every reply is matched to its command
    before = len(tg.sent(chat))
    started = time.monotonic()
    tg.push_message(chat, command or rng.choice(COMMANDS), user_id=next(_user_ids))
    while time.monotonic() - started < 30:
        if len(tg.sent(chat)) > before:
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    return None


async def ask_discord(dc: FakeDiscord, rng: random.Random, command: str | None = None) -> float | None:
    name, *args = (command or rng.choice(COMMANDS))[1:].split()
    options: dict[str, str | int | float | bool] = (
        {"series": args[0], "range": args[1]} if name == "chart" else {}
    )
    started = time.monotonic()
    sent = await dc.dispatch_interaction(
        name, options, guild_id=DISCORD_GUILD, channel_id=DISCORD_CHANNEL, user_id=next(_user_ids)
    )
    try:
        first = await dc.wait_for_response(sent.id, "callback", timeout=30)
        if first.type == 5:  # deferred: the chart follows
            await dc.wait_for_response(sent.id, "followup", timeout=30)
    except TimeoutError:
        return None
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="Plumbline soak test")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument(
        "--rate", type=float, default=4.0, help="commands per second, both platforms together"
    )
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.subscribers, args.rate))


if __name__ == "__main__":
    main()
