"""Broadcast at scale: how fast the delivery worker drains one alert to many Telegram chats.

Run: .venv/bin/python -m bench.bench_broadcast [--chats N] [--worker-chats N] [--limited-chats N] (0 skips;
defaults 100,000, 100,000 and 10,000), or --ratio N for the bot beside bare aiohttp posts
- the worker alone (a sender that answers at once) at the paid 1000 msg/s pace: goal the pace itself;
- 100,000 subscribers through the real send path (TelegramSender: python-telegram-bot's Bot on
  AiohttpRequest, allow_paid_broadcast set) at TELEGRAM_PAID_BROADCAST=1's 1000 msg/s pace, against a fake
  Bot API with no limits: goal >= 1000 msg/s sustained (the median count in each whole second), 0 lost,
  0 duplicated; reaching the pace itself shows neither the worker nor the sender held it back;
- 10,000 subscribers at the free pace against the fake enforcing Telegram's 30 msg/s with 429s: goal
  >= 0.90 of the limit (27 msg/s), 0 lost, 0 duplicated.

Each fake runs in its own process, so its CPU is not the bot's; both CPU times are printed. The limited run
uses tests/fakes/telegram.py's FakeTelegram, which records and checks every call. The unlimited run uses
tests/fakes/telegram_lean.py's LeanTelegram: the same answers in the same wire format (`{"ok": true,
"result": {...Message...}}` with the text parsed from HTML into entities), but it keeps only a count per chat
and the time of each send, so at 1000 msg/s the fake stays a small share of a core. Lost is chats queued
minus chats the fake received a message in; duplicated is messages beyond the first to any chat.
The alert is text only: the chart's upload-once path is covered by tests/test_delivery.py.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from bot.core.config import load_settings
from bot.delivery.telegram_sender import TelegramSender
from bot.delivery.worker import (
    DeliveryWorker,
    OutMessage,
    SendResult,
    SendStatus,
    delivery_concurrency,
    telegram_limits,
)
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from storage.chats import ensure_chat, subscribe
from storage.db import open_db
from storage.outbox import add_event, enqueue, outbox_counts
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_lean import LeanTelegram

STAMP = "2025-10-31T12:05:00Z"


def _serve(enforce_limits: bool, pipe: Connection) -> None:
    """The fake Bot API in a child process: sends its URL, serves until told to stop, sends its tally.

    With limits, the full FakeTelegram (every call recorded and checked, 429s past 30 msg/s); without,
    LeanTelegram, which answers the same way but keeps only per-chat counts and times."""

    async def limited() -> None:
        async with FakeTelegram(enforce_limits=True) as tg:
            pipe.send((tg.base_url, tg.token))
            loop = asyncio.get_running_loop()
            cpu = time.process_time()
            await loop.run_in_executor(None, pipe.recv)
            cpu = time.process_time() - cpu
            sent = tg.sent()
            pipe.send(
                {
                    "sent": len(sent),
                    "chats": len({c.params["chat_id"] for c in sent}),
                    "duplicated": len(tg.duplicates()),
                    "uploads": sum(1 for c in tg.calls_of("sendPhoto", ok_only=True) if c.files),
                    "paid": tg.paid_sends,
                    "rejected_429": tg.rejected_429,
                    "times": [c.at for c in sent],
                    "fake_cpu": cpu,
                }
            )

    async def unlimited() -> None:
        async with LeanTelegram() as tg:
            pipe.send((tg.base_url, tg.token))
            loop = asyncio.get_running_loop()
            cpu = time.process_time()
            await loop.run_in_executor(None, pipe.recv)
            cpu = time.process_time() - cpu
            pipe.send(
                {
                    "sent": len(tg.times),
                    "chats": len(tg.per_chat),
                    "duplicated": tg.duplicated(),
                    "uploads": tg.uploads,
                    "paid": tg.paid_sends,
                    "rejected_429": 0,
                    "times": tg.times,
                    "fake_cpu": cpu,
                }
            )

    asyncio.run(limited() if enforce_limits else unlimited())


def _queue(db_path: Path, chats: int, with_chart: bool) -> None:
    db = open_db(db_path)
    with db.atomic():
        ids = []
        for n in range(chats):
            chat = ensure_chat(db, "telegram", str(10_000_000 + n), title="", is_group=False, now=STAMP)
            subscribe(db, chat.id, "alerts", now=STAMP)
            ids.append(chat.id)
        reply = Reply(
            "SOFR above the ceiling \u2014 2025-10-31", [Text("SOFR printed 4.22%, 22 bp above 4.00%.")]
        )
        add_event(
            db, key="bench", rule="sofr_breach", kind="start", data_date="2025-10-31", audience="all",
            payload=reply_to_json(reply, chart="sofr 1m" if with_chart else None), now=STAMP,
        )  # fmt: skip
        enqueue(db, ids, "bench", STAMP)
    db.close()


async def broadcast(chats: int, *, paid: bool, enforce_limits: bool) -> dict[str, Any]:
    """Queue one alert to `chats` chats and drain it; returns the fake's tally and the timings."""
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(enforce_limits, child))
    server.start()
    base_url, token = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "broadcast.db"
        _queue(path, chats, with_chart=False)
        db = open_db(path)
        env = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": base_url}
        if paid:
            env["TELEGRAM_PAID_BROADCAST"] = "1"
        sender = TelegramSender(load_settings(env, env_file=None))  # its pool as the app has it
        await sender.start()
        worker = DeliveryWorker(
            db,
            {"telegram": sender},
            limits={"telegram": telegram_limits(paid)},
            concurrency=delivery_concurrency(paid),  # what the app runs with
        )
        stop = asyncio.Event()
        started, cpu = time.monotonic(), time.process_time()
        task = asyncio.create_task(worker.run(stop))
        while True:
            counts = outbox_counts(db)
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.25)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        stop.set()
        await task
        await sender.stop()
        counts = outbox_counts(db)
        db.close()
    parent.send("stop")
    tally: dict[str, Any] = parent.recv()
    server.join(10)
    tally.update(elapsed=elapsed, outbox=counts, chats_queued=chats, bot_cpu=cpu)
    return tally


class InstantSender:
    """Answers every send at once: what is left is the worker's own cost (outbox, pacing, bookkeeping)."""

    platform = "telegram"

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.times: list[float] = []

    async def send(self, address: str, message: OutMessage) -> SendResult:
        await asyncio.sleep(0)
        self.addresses.append(address)
        self.times.append(time.monotonic())
        return SendResult(SendStatus.SENT)


async def worker_alone(chats: int) -> dict[str, Any]:
    """The 1000 msg/s pace with nothing behind the sender: the worker's ceiling (goal: the pace itself)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "worker.db"
        _queue(path, chats, with_chart=False)
        db = open_db(path)
        sender = InstantSender()
        worker = DeliveryWorker(
            db,
            {"telegram": sender},
            limits={"telegram": telegram_limits(True)},
            concurrency=delivery_concurrency(True),
        )
        stop = asyncio.Event()
        started, cpu = time.monotonic(), time.process_time()
        task = asyncio.create_task(worker.run(stop))
        while True:
            counts = outbox_counts(db)
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.25)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        stop.set()
        await task
        counts = outbox_counts(db)
        db.close()
    return {
        "sent": len(sender.addresses), "chats": len(set(sender.addresses)), "chats_queued": chats,
        "duplicated": len(sender.addresses) - len(set(sender.addresses)), "rejected_429": 0, "paid": 0,
        "elapsed": elapsed, "outbox": counts, "times": sender.times, "bot_cpu": cpu,
    }  # fmt: skip


def sustained(times: list[float]) -> float:
    """The median number of sends in each whole second between the first send and the last."""
    if len(times) < 2:
        return 0.0
    start = min(times)
    buckets = Counter(int(t - start) for t in times)
    whole = [buckets[i] for i in range(int(max(times) - start))]  # the last, partial second left out
    return float(statistics.median(whole)) if whole else float(len(times))


async def raw_client(messages: int) -> dict[str, Any]:
    """The transport alone: bare aiohttp POSTs (the sender's HTTP client) of a sendMessage body to the same
    fake, as many in flight as the worker keeps, no bot and no pacing."""
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(False, child))
    server.start()
    base_url, token = parent.recv()
    body = {"text": "<b>SOFR above the ceiling</b>", "parse_mode": "HTML"}
    gate = asyncio.Semaphore(delivery_concurrency(True))
    connector = aiohttp.TCPConnector(limit=delivery_concurrency(True))
    async with aiohttp.ClientSession(connector=connector) as client:

        async def post(n: int) -> None:
            async with gate:
                url = f"{base_url}{token}/sendMessage"
                async with client.post(url, json={**body, "chat_id": 10_000_000 + n}) as response:
                    response.raise_for_status()
                    await response.read()

        started = time.monotonic()
        await asyncio.gather(*(post(n) for n in range(messages)))
        elapsed = time.monotonic() - started
    parent.send("stop")
    tally: dict[str, Any] = parent.recv()
    server.join(10)
    tally.update(elapsed=elapsed, outbox={}, chats_queued=messages)
    return tally


def report(name: str, tally: dict[str, Any], goal: float, limit: float | None) -> None:
    """One line: each figure beside its goal, then what it took."""
    rate = sustained(tally["times"])
    overall = tally["sent"] / tally["elapsed"]
    lost = tally["chats_queued"] - tally["chats"]
    ratio = f" = {rate / limit:.2f} of the {limit:.0f} msg/s limit" if limit else ""
    verdict = "ok" if rate >= goal and lost == 0 and tally["duplicated"] == 0 else "MISSED"
    cpu = f"bot CPU {tally['bot_cpu']:.1f} s ({tally['bot_cpu'] / tally['elapsed']:.0%} of a core)"
    if "fake_cpu" in tally:
        cpu += f", fake CPU {tally['fake_cpu']:.1f} s ({tally['fake_cpu'] / tally['elapsed']:.0%})"
    print(
        f"{name}: sustained {rate:,.0f} msg/s{ratio} (median per second; goal >= {goal:,.0f}); "
        f"lost {lost} (goal 0); duplicated {tally['duplicated']} (goal 0)  [{verdict}]; "
        f"{tally['sent']:,} messages in {tally['elapsed']:.1f} s ({overall:,.0f} msg/s overall), "
        f"429s {tally['rejected_429']}, paid {tally['paid']:,}, outbox {tally['outbox']}; {cpu}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Plumbline broadcast benchmark")
    parser.add_argument("--chats", type=int, default=100_000, help="paid run against the unlimited fake")
    parser.add_argument("--worker-chats", type=int, default=100_000, help="the worker alone (0: skip)")
    parser.add_argument("--limited-chats", type=int, default=10_000, help="free run at 30 msg/s (0: skip)")
    parser.add_argument("--ratio", type=int, default=0, help="N messages: bot vs bare aiohttp, side by side")
    args = parser.parse_args()
    if args.ratio:
        ours = asyncio.run(broadcast(args.ratio, paid=True, enforce_limits=False))
        bare = asyncio.run(raw_client(args.ratio))
        ours_rate, bare_rate = ours["sent"] / ours["elapsed"], bare["sent"] / bare["elapsed"]
        print(
            f"side by side, {args.ratio:,} messages to the unlimited fake: the bot {ours_rate:,.0f} msg/s "
            f"(paced at 1,000), bare aiohttp {bare_rate:,.0f} req/s (unpaced): "
            f"ratio {ours_rate / bare_rate:.2f} "
            f"(lost {args.ratio - ours['chats']}, duplicated {ours['duplicated']})"
        )
        return
    if args.worker_chats:
        tally = asyncio.run(worker_alone(args.worker_chats))
        report(f"worker alone, {args.worker_chats:,} chats at the paid pace", tally, 1000, 1000)
    if args.chats:
        tally = asyncio.run(broadcast(args.chats, paid=True, enforce_limits=False))
        report(f"paid broadcast to {args.chats:,} chats, unlimited fake", tally, 1000, None)
    if args.limited_chats:
        tally = asyncio.run(broadcast(args.limited_chats, paid=False, enforce_limits=True))
        report(f"free broadcast to {args.limited_chats:,} chats, fake enforcing 30 msg/s", tally, 27, 30)


if __name__ == "__main__":
    main()
