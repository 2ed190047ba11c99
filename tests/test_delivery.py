"""Outbox delivery to the fake Telegram Bot API: limits, retries, blocked chats, migrations, timeouts."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.config import load_settings
from bot.core.models import Observation
from bot.delivery.telegram_sender import TelegramSender
from bot.delivery.worker import (
    MAX_ATTEMPTS,
    DeliveryWorker,
    OutMessage,
    SendResult,
    SendStatus,
    telegram_limits,
)
from bot.render.chart_process import render_png_async
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from handlers.chart_command import chart_for
from storage.chats import chat_by_id, ensure_chat, subscribe, subscriptions_of
from storage.db import open_db
from storage.observations import data_version, upsert_observations
from storage.outbox import add_event, enqueue, outbox_counts, uncertain_sends
from tests.fakes.telegram import Call, FakeTelegram
from tests.seed import every_day, store

STAMP = "2025-11-03T13:05:00Z"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(enforce_limits=True) as fake:
        yield fake


def make_chats(db: sqlite_utils.Database, addresses: list[int]) -> list[int]:
    ids = []
    for address in addresses:
        chat = ensure_chat(db, "telegram", str(address), title="", is_group=address < 0, now=STAMP)
        subscribe(db, chat.id, "alerts", now=STAMP)
        ids.append(chat.id)
    return ids


def queue_alert(
    db: sqlite_utils.Database, chat_ids: list[int], key: str = "sofr_breach:start:2025-10-31"
) -> None:
    reply = Reply(
        "SOFR above the ceiling \u2014 2025-10-31", [Text("SOFR printed 4.22%, 22 bp above 4.00%.")]
    )
    add_event(
        db, key=key, rule="sofr_breach", kind="start", data_date="2025-10-31", audience="x",
        payload=reply_to_json(reply), now=STAMP,
    )  # fmt: skip
    enqueue(db, chat_ids, key, STAMP)


async def drain_all(worker: DeliveryWorker, within: float = 60.0) -> None:
    """Run the worker until nothing is pending (or `within` seconds pass)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    deadline = asyncio.get_running_loop().time() + within
    try:
        while asyncio.get_running_loop().time() < deadline:
            counts = outbox_counts(worker.db)
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


async def sender_for(tg: FakeTelegram, tmp_path: Path, read_timeout: float = 20.0) -> TelegramSender:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_PATH": str(tmp_path / "d.db"),
        },
        env_file=None,
    )
    sender = TelegramSender(settings, read_timeout=read_timeout)
    await sender.start()
    return sender


async def test_fan_out_within_limits_every_chat_once(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    ids = make_chats(db, [*range(1000, 1080), -100500, -100501])
    queue_alert(db, ids)
    sender = await sender_for(tg, tmp_path)
    worker = DeliveryWorker(db, {"telegram": sender})
    await drain_all(worker)
    await sender.stop()
    assert outbox_counts(db) == {"sent": 82}
    delivered = {c.params["chat_id"] for c in tg.sent()}
    assert delivered == set(range(1000, 1080)) | {-100500, -100501}
    assert tg.duplicates() == []
    assert tg.rejected_429 == 0  # paced under the limits, not bounced off them


async def test_429_is_honoured_and_the_message_arrives_once(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    ids = make_chats(db, [42, 43])
    queue_alert(db, ids)
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=42)
    sender = await sender_for(tg, tmp_path)
    await drain_all(DeliveryWorker(db, {"telegram": sender}))
    await sender.stop()
    attempts = [c for c in tg.calls_of("sendMessage") if c.params["chat_id"] == 42]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.95
    assert outbox_counts(db) == {"sent": 2}
    assert tg.duplicates() == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 500, "retry_after": None, "description": "Internal Server Error"}, "sent"),
        ({"status": 502, "retry_after": None, "description": "Bad Gateway"}, "sent"),
    ],
)
async def test_server_errors_are_retried(
    tg: FakeTelegram, tmp_path: Path, fault: dict[str, object], expected: str
) -> None:
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [42]))
    tg.fail_next("sendMessage", **fault)  # type: ignore[arg-type]
    sender = await sender_for(tg, tmp_path)
    worker = DeliveryWorker(db, {"telegram": sender})
    await worker.drain()  # the first attempt fails and is rescheduled after a 2 s backoff
    assert outbox_counts(db) == {"pending": 1}
    await drain_all(worker)
    await sender.stop()
    assert outbox_counts(db) == {expected: 1}
    assert len(tg.sent(42)) == 1


async def test_blocked_chat_is_deactivated_and_nothing_retries_forever(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "d.db")
    ids = make_chats(db, [42, 43])
    queue_alert(db, ids, "a:1")
    queue_alert(db, ids, "a:2")
    tg.blocked_chats.add(42)
    sender = await sender_for(tg, tmp_path)
    await drain_all(DeliveryWorker(db, {"telegram": sender}))
    await sender.stop()
    blocked = chat_by_id(db, ids[0])
    assert blocked is not None and not blocked.active
    assert "403" in (db.execute("SELECT deactivated_reason FROM chats WHERE id = ?", (ids[0],)).fetchone()[0])
    assert subscriptions_of(db, ids[0])  # kept, so the chat resumes if it unblocks and /subscribes again
    rows = db.execute("SELECT chat_id, status FROM outbox ORDER BY id").fetchall()
    assert sorted(rows) == sorted(
        [(ids[0], "dropped"), (ids[1], "sent"), (ids[0], "dropped"), (ids[1], "sent")]
    )
    assert (
        len([c for c in tg.calls_of("sendMessage") if c.params["chat_id"] == 42]) == 1
    )  # one 403, no retries


async def test_group_migrated_to_supergroup_moves_and_resends(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    (chat_id,) = make_chats(db, [-4242])
    queue_alert(db, [chat_id])
    tg.fail_next("sendMessage", status=400, retry_after=None, migrate_to_chat_id=-1004242, chat_id=-4242)
    sender = await sender_for(tg, tmp_path)
    await drain_all(DeliveryWorker(db, {"telegram": sender}))
    await sender.stop()
    moved = chat_by_id(db, chat_id)
    assert moved is not None and moved.address == "-1004242" and moved.active
    assert [s.kind for s in subscriptions_of(db, chat_id)] == ["alerts"]
    assert len(tg.sent(-1004242)) == 1 and tg.sent(-4242) == []
    assert outbox_counts(db) == {"sent": 1}


async def test_timeout_is_recorded_as_uncertain_not_resent(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [42]))
    tg.delay_next("sendMessage", 2.0)
    sender = await sender_for(tg, tmp_path, read_timeout=0.5)
    await drain_all(DeliveryWorker(db, {"telegram": sender}))
    await asyncio.sleep(2.0)  # the fake finishes the slow send: the message did arrive
    await sender.stop()
    row = db.execute("SELECT status, last_error FROM outbox").fetchone()
    assert row[0] == "uncertain" and "timed out" in row[1]
    assert len(tg.calls_of("sendMessage")) == 1  # never blindly resent
    assert tg.duplicates() == []


async def test_sends_cut_off_by_a_crash_become_uncertain(tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [42, 43]))
    db.execute("UPDATE outbox SET status = 'sending' WHERE id = 1")
    worker = DeliveryWorker(db, {})
    assert worker.recover() == 1
    assert outbox_counts(db) == {"uncertain": 1, "pending": 1}


async def test_throughput_against_the_limit_enforcing_fake(tg: FakeTelegram, tmp_path: Path) -> None:
    """300 chats at 30 msg/s: everything arrives once, at close to the limit (the benchmark does 10,000)."""
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, list(range(5000, 5300))))
    sender = await sender_for(tg, tmp_path)
    worker = DeliveryWorker(db, {"telegram": sender})
    loop = asyncio.get_running_loop()
    started = loop.time()
    await drain_all(worker, within=60)
    elapsed = loop.time() - started
    await sender.stop()
    assert outbox_counts(db) == {"sent": 300}
    assert len(tg.sent()) == 300 and tg.duplicates() == []
    assert 300 / elapsed > 20  # generous on a noisy machine; bench/bench_fanout.py reports the real figure


async def test_faults_during_a_fan_out_lose_nothing_and_send_nothing_twice(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """429s, 5xx, a blocked chat and a slow answer, all in one fan-out to 40 chats."""
    db = open_db(tmp_path / "d.db")
    addresses = list(range(7000, 7040))
    queue_alert(db, make_chats(db, addresses))
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=7003)
    tg.fail_next("sendMessage", status=502, retry_after=None, description="Bad Gateway", chat_id=7011)
    tg.fail_next(
        "sendMessage", status=500, retry_after=None, description="Internal Server Error", chat_id=7020
    )
    tg.blocked_chats.add(7030)
    tg.delay_next("sendMessage", 2.0, chat_id=7035)
    sender = await sender_for(tg, tmp_path, read_timeout=0.8)
    await drain_all(DeliveryWorker(db, {"telegram": sender}))
    await asyncio.sleep(2.0)  # the slow send completes on the server side
    await sender.stop()
    delivered = [c.params["chat_id"] for c in tg.sent()]
    assert sorted(delivered) == sorted(a for a in addresses if a != 7030)  # 7035 arrived despite the timeout
    assert tg.duplicates() == []
    status = dict(
        db.execute("SELECT c.address, o.status FROM outbox o JOIN chats c ON c.id = o.chat_id").fetchall()
    )
    assert status["7030"] == "dropped" and status["7035"] == "uncertain"
    assert {s for a, s in status.items() if a not in ("7030", "7035")} == {"sent"}


async def test_a_429_storm_never_uses_up_the_attempts(tg: FakeTelegram, tmp_path: Path) -> None:
    """A 50% 429 storm once left 'failed|8|429 flood control': 429s must wait, never count."""
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [42]))
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=42, count=MAX_ATTEMPTS + 2)
    sender = await sender_for(tg, tmp_path)
    worker = DeliveryWorker(db, {"telegram": sender})
    for _ in range(MAX_ATTEMPTS + 2):
        db.execute("UPDATE outbox SET next_attempt_at = ?", (STAMP,))  # skip the wait, keep the count
        worker.gates["telegram"].pause_chat("42", 0)
        worker.gates["telegram"]._next_chat.clear()
        await worker.drain()
        assert outbox_counts(db) == {"pending": 1}
        assert db.execute("SELECT attempts FROM outbox").fetchone()[0] == 0
    db.execute("UPDATE outbox SET next_attempt_at = ?", (STAMP,))
    worker.gates["telegram"]._next_chat.clear()
    await worker.drain()
    await sender.stop()
    assert outbox_counts(db) == {"sent": 1} and len(tg.sent(42)) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_resent_when_telegram_is_back(tg: FakeTelegram, tmp_path: Path) -> None:
    """Refused before a byte was written: provably never delivered, so it is retried (39 of 39 were lost)."""
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [42, 43]))
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{_closed_port()}/bot"},
        env_file=None,
    )
    down = TelegramSender(settings)
    await DeliveryWorker(db, {"telegram": down}).drain()
    await down.stop()
    assert outbox_counts(db) == {"pending": 2}
    errors = {r[0] for r in db.execute("SELECT last_error FROM outbox").fetchall()}
    assert all(e.startswith("not sent") for e in errors), errors
    db.execute("UPDATE outbox SET next_attempt_at = ?", (STAMP,))
    up = await sender_for(tg, tmp_path)
    await drain_all(DeliveryWorker(db, {"telegram": up}))
    await up.stop()
    assert outbox_counts(db) == {"sent": 2} and tg.duplicates() == []


async def test_a_hung_send_delays_only_itself(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    addresses = list(range(8000, 8030))
    queue_alert(db, make_chats(db, addresses))
    tg.delay_next("sendMessage", 4.0, chat_id=8000)
    sender = await sender_for(tg, tmp_path, read_timeout=3.0)
    worker = DeliveryWorker(db, {"telegram": sender}, concurrency=4)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(worker.run(stop))
    while outbox_counts(db).get("sent", 0) < 29 and loop.time() - started < 10:
        await asyncio.sleep(0.02)
    others_done = loop.time() - started
    assert outbox_counts(db) == {"sent": 29, "sending": 1}  # the hung one still out, the rest delivered
    assert others_done < 2.5
    while outbox_counts(db).get("sending") and loop.time() - started < 10:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await sender.stop()
    assert outbox_counts(db) == {"sent": 29, "uncertain": 1}


async def test_a_502_html_page_logs_one_line_and_no_traceback(
    tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, list(range(9000, 9020))))
    page = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    tg.fail_next("sendMessage", status=502, body=page, count=20)
    sender = await sender_for(tg, tmp_path)
    with caplog.at_level(logging.INFO):
        await DeliveryWorker(db, {"telegram": sender}).drain()
    await sender.stop()
    assert outbox_counts(db) == {"pending": 20}
    assert [r for r in caplog.records if r.exc_info] == []
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert lines == ["delivery: telegram: Bad Gateway (502); retrying"]
    assert {r[0] for r in db.execute("SELECT last_error FROM outbox")} == {"Bad Gateway (502)"}


async def test_shutdown_marks_a_send_in_flight_uncertain(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [42]))
    tg.delay_next("sendMessage", 10.0, chat_id=42)
    sender = await sender_for(tg, tmp_path)
    worker = DeliveryWorker(db, {"telegram": sender})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.5)  # the send is out, waiting on the slow server
    stop.set()
    await asyncio.wait_for(task, 10)
    await sender.stop()
    assert outbox_counts(db) == {"uncertain": 1}
    listed = uncertain_sends(db)
    assert [(u.address, u.error) for u in listed] == [("42", "stopped during the send")]


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None]] = []

    async def send(self, address: str, message: OutMessage) -> SendResult:
        self.sent.append((address, message.png))
        return SendResult(SendStatus.SENT)


class _CountingWorker(DeliveryWorker):
    """The real worker with drawing replaced by a counter: the cache is what is under test."""

    drawn: list[str]

    async def _render(self, chart: str, lang: str = "en") -> bytes | None:
        self.drawn.append(chart if lang == "en" else f"{chart} ({lang})")
        return f"png {len(self.drawn)}".encode()


def queue_summary(db: sqlite_utils.Database, chat_ids: list[int], key: str, chart: str) -> None:
    reply = Reply("\u2600\ufe0f Plumbline daily \u2014 Mon 2025-11-03", [Text("SOFR 4.22% ...")])
    add_event(
        db, key=key, rule="daily", kind="summary", data_date="2025-11-03", audience="x",
        payload=reply_to_json(reply, chart=chart), now=STAMP,
    )  # fmt: skip
    enqueue(db, chat_ids, key, STAMP)


async def test_one_chart_is_drawn_once_per_data_version_across_events(tmp_path: Path) -> None:
    db = open_db(tmp_path / "cache.db")
    chats = make_chats(db, list(range(1001, 1007)))
    # Three summary groups (zones) ask for the same chart, spelled two ways.
    queue_summary(db, chats[0:2], "daily:2025-11-03:America/New_York:08:30", "corridor 1m")
    queue_summary(db, chats[2:4], "daily:2025-11-03:Asia/Taipei:08:30", "corridor 1m")
    queue_summary(db, chats[4:5], "daily:2025-11-03:Europe/London:07:15", "1M  Corridor")
    recorder = _Recorder()
    worker = _CountingWorker(
        db, {"telegram": recorder}, clock=lambda: datetime(2025, 11, 3, 13, 5, tzinfo=UTC)
    )
    worker.drawn = []
    await drain_all(worker)
    assert len(recorder.sent) == 5 and {png for _, png in recorder.sent} == {b"png 1"}
    assert worker.drawn == ["corridor 1m"]

    # New data (a revision of one value) is a new version: the next event's chart is drawn again.
    upsert_observations(db, [Observation("sofr", "2025-10-31", 4.23, "nyfed")], fetched_at=STAMP)
    queue_summary(db, chats[5:6], "daily:2025-11-03:Asia/Tokyo:09:00", "corridor 1m")
    queue_summary(db, chats[0:1], "breach:chart", "srf 3m")
    await drain_all(worker)
    assert worker.drawn == ["corridor 1m", "corridor 1m", "srf 3m"]

    # A chat reading zh-TW gets the same chart drawn once in its language.
    db.execute("UPDATE chats SET lang = 'zh-TW' WHERE id IN (?, ?)", (chats[1], chats[2]))
    db.conn.commit()
    queue_summary(db, chats[1:3], "daily:2025-11-04:Asia/Taipei:08:30", "corridor 1m")
    await drain_all(worker)
    assert worker.drawn[3:] == ["corridor 1m (zh-TW)"]


def test_data_version_moves_only_when_observations_change(tmp_path: Path) -> None:
    db = open_db(tmp_path / "version.db")
    assert data_version(db) == 0
    week = [
        Observation("sofr", "2025-10-30", 4.04, "nyfed"),
        Observation("sofr", "2025-10-31", 4.22, "nyfed"),
    ]
    upsert_observations(db, week, fetched_at=STAMP)
    assert data_version(db) == 1
    upsert_observations(db, week, fetched_at=STAMP)  # nothing changed: same version
    assert data_version(db) == 1
    upsert_observations(db, [Observation("sofr", "2025-10-31", 4.23, "nyfed")], fetched_at=STAMP)
    assert data_version(db) == 2


def queue_chart_alert(db: sqlite_utils.Database, chat_ids: list[int]) -> None:
    """The 2025-10-31 month-end alert, with its SOFR chart drawn at send time."""
    store(db, "sofr", every_day("2025-10-01", "2025-10-31", 4.22), "nyfed", CHART_NOW)
    reply = Reply("SRF take-up $50.35B \u2014 2025-10-31", [Text("A month-end record.")])
    add_event(
        db, key="srf_record:2025-10-31", rule="srf_record", kind="start", data_date="2025-10-31",
        audience="x", payload=reply_to_json(reply, chart="sofr 1m"), now=STAMP,
    )  # fmt: skip
    enqueue(db, chat_ids, "srf_record:2025-10-31", STAMP)


CHART_NOW = datetime(2025, 11, 3, 14, 0, tzinfo=UTC)


def uploads(tg: FakeTelegram) -> list[Call]:
    """sendPhoto calls that carried the picture itself (a file_id reuse carries only a string)."""
    return [c for c in tg.calls_of("sendPhoto", ok_only=True) if c.files]


async def test_a_chart_fan_out_uploads_the_picture_once(tmp_path: Path) -> None:
    """120 chats get the chart: one upload, 119 sends by file_id, every chat once."""
    async with FakeTelegram() as tg:
        db = open_db(tmp_path / "d.db")
        addresses = list(range(9000, 9120))
        queue_chart_alert(db, make_chats(db, addresses))
        sender = await sender_for(tg, tmp_path)
        await drain_all(DeliveryWorker(db, {"telegram": sender}, clock=lambda: CHART_NOW))
        await sender.stop()
        photos = tg.calls_of("sendPhoto", ok_only=True)
        assert sorted(c.params["chat_id"] for c in photos) == addresses
        assert len(uploads(tg)) == 1 and sender.uploads == 1
        file_ids = {c.params["photo"] for c in photos if not c.files}
        assert len(file_ids) == 1 and len(photos) - len(uploads(tg)) == 119
        assert tg.duplicates() == [] and outbox_counts(db) == {"sent": 120}


async def test_a_failed_first_upload_is_retried_by_the_next_chat(tmp_path: Path) -> None:
    """The first chat has blocked the bot: its upload fails, the next chat uploads, the rest reuse."""
    async with FakeTelegram() as tg:
        db = open_db(tmp_path / "d.db")
        addresses = list(range(9200, 9230))
        tg.blocked_chats.add(9200)
        queue_chart_alert(db, make_chats(db, addresses))
        sender = await sender_for(tg, tmp_path)
        await drain_all(DeliveryWorker(db, {"telegram": sender}, clock=lambda: CHART_NOW))
        await sender.stop()
        delivered = sorted(c.params["chat_id"] for c in tg.calls_of("sendPhoto", ok_only=True))
        assert delivered == addresses[1:]
        assert len(uploads(tg)) == 1 and tg.duplicates() == []


async def test_a_file_id_telegram_no_longer_knows_is_uploaded_again(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        sender = await sender_for(tg, tmp_path)
        db = open_db(tmp_path / "d.db")
        store(db, "sofr", every_day("2025-10-01", "2025-10-31", 4.22), "nyfed", CHART_NOW)
        data = chart_for(db, ["sofr", "1m"], "en", CHART_NOW)
        assert data is not None
        message = OutMessage(Reply("SRF take-up $50.35B"), await render_png_async(data))
        assert (await sender.send("9300", message)).status is SendStatus.SENT
        tg.forget_files()
        assert (await sender.send("9301", message)).status is SendStatus.SENT
        assert (await sender.send("9302", message)).status is SendStatus.SENT
        await sender.stop()
        assert sender.uploads == 2 and len(uploads(tg)) == 2
        assert [c.params["chat_id"] for c in tg.calls_of("sendPhoto", ok_only=True)] == [9300, 9301, 9302]


async def test_paid_broadcast_sets_the_flag_and_lifts_the_pace(tmp_path: Path) -> None:
    """TELEGRAM_PAID_BROADCAST=1: every send is paid, and 600 chats go well past the free 30 msg/s."""
    assert telegram_limits(False).per_second < 30 and telegram_limits(True).per_second == 1000
    async with FakeTelegram(enforce_limits=True) as tg:
        db = open_db(tmp_path / "d.db")
        queue_alert(db, make_chats(db, list(range(10_000, 10_600))))
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": tg.token,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "TELEGRAM_PAID_BROADCAST": "1",
            },
            env_file=None,
        )
        sender = TelegramSender(settings)
        await sender.start()
        worker = DeliveryWorker(db, {"telegram": sender}, limits={"telegram": telegram_limits(True)})
        loop = asyncio.get_running_loop()
        started = loop.time()
        await drain_all(worker)
        elapsed = loop.time() - started
        await sender.stop()
        assert outbox_counts(db) == {"sent": 600} and tg.duplicates() == []
        assert tg.paid_sends == 600 and tg.rejected_429 == 0
        assert all(c.params.get("allow_paid_broadcast") is True for c in tg.sent())
        assert 600 / elapsed > 60  # twice the free limit, even on a loaded 2-core machine


async def test_without_paid_broadcast_the_flag_is_never_sent(tg: FakeTelegram, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    queue_alert(db, make_chats(db, [11, 12, 13]))
    sender = await sender_for(tg, tmp_path)
    await drain_all(DeliveryWorker(db, {"telegram": sender}))
    await sender.stop()
    assert len(tg.sent()) == 3 and tg.paid_sends == 0
    assert all("allow_paid_broadcast" not in c.params for c in tg.sent())
