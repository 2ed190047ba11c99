"""Alert delivery benchmarks.

Run: .venv/bin/python -m bench.bench_alerts [--chats N] [--publications N] [--interval S]
- fan-out of one alert to N subscribed chats (default 10,000) against a fake Bot API that enforces
  30 messages/s with 429s (goal: >= 27 msg/s, i.e. 90% of the limit; 0 lost; 0 duplicated);
- latency from publication at a fake source to the send, with `plumbline run` polling every S seconds
  (goal: at most one poll interval + 2 s); prints the median and the maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.core.config import load_settings
from bot.delivery.telegram_sender import TelegramSender
from bot.delivery.worker import DeliveryWorker
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from storage.chats import ensure_chat, subscribe
from storage.db import open_db
from storage.outbox import add_event, enqueue, outbox_counts
from tests.e2e_support import calm_history
from tests.fakes.sources import FakeSourcesThread
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
STAMP = "2025-10-31T12:05:00Z"


async def fan_out(chats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "fanout.db")
        ids = []
        with db.atomic():
            for n in range(chats):
                chat = ensure_chat(db, "telegram", str(10_000_000 + n), title="", is_group=False, now=STAMP)
                subscribe(db, chat.id, "alerts", now=STAMP)
                ids.append(chat.id)
            reply = Reply(
                "SOFR above the ceiling \u2014 2025-10-31", [Text("SOFR printed 4.22%, 22 bp above 4.00%.")]
            )
            add_event(
                db, key="bench", rule="sofr_breach", kind="start", data_date="2025-10-31", audience="all",
                payload=reply_to_json(reply), now=STAMP,
            )  # fmt: skip
            enqueue(db, ids, "bench", STAMP)
        async with FakeTelegram(enforce_limits=True) as tg:
            settings = load_settings(
                {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url}, env_file=None
            )
            sender = TelegramSender(settings)
            await sender.start()
            worker = DeliveryWorker(db, {"telegram": sender})
            stop = asyncio.Event()
            started = time.monotonic()
            task = asyncio.create_task(worker.run(stop))
            while outbox_counts(db).get("pending") or outbox_counts(db).get("sending"):
                await asyncio.sleep(0.2)
            elapsed = time.monotonic() - started
            stop.set()
            await task
            await sender.stop()
            delivered = {c.params["chat_id"] for c in tg.sent()}
            rate = len(tg.sent()) / elapsed
            print(
                f"fan-out to {chats:,} chats: {elapsed:.1f} s, {rate:.1f} msg/s = {rate / 30:.2f} "
                f"of the 30 msg/s limit (goal >= 0.90); lost {chats - len(delivered)}, "
                f"duplicated {len(tg.duplicates())}, "
                f"429s received {tg.rejected_429}; outbox {outbox_counts(db)}"
            )
        db.close()


async def latency(publications: int, interval: int) -> None:
    history = calm_history()
    with tempfile.TemporaryDirectory() as tmp, FakeSourcesThread(history) as fake:
        db_path = Path(tmp) / "latency.db"
        db = open_db(db_path)
        chat = ensure_chat(db, "telegram", "424242", title="", is_group=False, now=STAMP)
        subscribe(db, chat.id, "alerts", now=STAMP)
        db.close()
        async with FakeTelegram() as tg:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
            env |= fake.env() | {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_PATH": str(db_path),
                "POLL_INTERVAL_SECONDS": str(interval),
                "PYTHONPATH": str(ROOT),
                "LOG_LEVEL": "WARNING",
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", env=env, stdin=asyncio.subprocess.DEVNULL
            )
            try:
                await asyncio.sleep(interval + 8)  # first poll and baseline
                samples: list[float] = []
                days = ["2025-10-31", "2025-11-03", "2025-11-04", "2025-11-05", "2025-11-06", "2025-11-07"]
                for i in range(publications):
                    day = days[i % len(days)] if i < len(days) else f"2025-11-{10 + i:02d}"
                    before = len(tg.sent())
                    # alternate breach and back-inside prints: each one is an alert
                    fake.history.publish("sofr", day, 4.22 if i % 2 == 0 else 3.95)
                    published = time.monotonic()
                    while len(tg.sent()) == before:
                        await asyncio.sleep(0.01)
                    samples.append(time.monotonic() - published)
                    await asyncio.sleep(interval * 0.37)  # publish at varied phases of the poll cycle
                print(
                    f"alert latency over {len(samples)} publications, poll interval {interval} s: "
                    f"median {statistics.median(samples):.2f} s, max {max(samples):.2f} s "
                    f"(goal <= {interval + 2} s)"
                )
            finally:
                proc.terminate()
                await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Plumbline alert delivery benchmarks")
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--publications", type=int, default=6)
    parser.add_argument("--interval", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(latency(args.publications, args.interval))
    asyncio.run(fan_out(args.chats))


if __name__ == "__main__":
    main()
