"""The delivery worker: drains the outbox within each platform's limits, and never sends twice.

A row is marked 'sending' (committed) before the network call and 'sent' after it. A timeout, or a
crash in between, leaves the row 'uncertain': the message may have arrived, so it is not resent. A send that
provably never reached the platform (connection refused, pool busy, request not written) is retried, and a
429 waits its retry_after without counting as an attempt. Each send runs as its own task with a bounded
timeout, so a hung send delays only itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Protocol

import httpx
import sqlite_utils

from bot.alerts.events import event_reply
from bot.core.clock import Clock, iso_utc, ny_today, utcnow
from bot.render.chart_process import render_png_async
from bot.words.payload import render_of, reply_from_json
from bot.words.reply import Reply
from handlers.chart_command import chart_for, parse_chart_args
from storage.chats import deactivate_chat, migrate_chat
from storage.lane import DbLane
from storage.observations import data_version
from storage.outbox import (
    Delivery,
    drop_for_chat,
    due,
    mark_final,
    mark_retry,
    mark_sending,
    mark_sent,
    next_due_at,
    recover_in_flight,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A send still unanswered after this long is abandoned as uncertain, so one stuck chat never holds the rest.
SEND_TIMEOUT = 60.0


class SendStatus(Enum):
    SENT = "sent"
    RETRY = "retry"  # transient: try again later (5xx, never reached the platform); counts as an attempt
    THROTTLED = "throttled"  # 429: wait retry_after; never counts as an attempt
    GONE = "gone"  # blocked, kicked, deleted: deactivate the chat
    MIGRATED = "migrated"  # the chat has a new address: move it and resend
    UNCERTAIN = "uncertain"  # may have arrived (timeout): never resend blindly
    FAILED = "failed"  # permanent for this message (bad request)


@dataclass(frozen=True, slots=True)
class SendResult:
    status: SendStatus
    retry_after: float | None = None
    new_address: str | None = None
    error: str = ""


class NotSent(Exception):
    """A transport's proof that a request never reached the platform; its __cause__ says what failed."""


# Errors raised before a whole request reached the platform: always safe to resend.
_NEVER_SENT: tuple[type[BaseException], ...] = (
    NotSent,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    # The request was not fully written: the platform cannot act on half a request.
    httpx.WriteError,
    httpx.WriteTimeout,
    ConnectionRefusedError,
)


def never_sent(exc: BaseException) -> bool:
    """True when exc (or what caused it) proves the request never reached the platform."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, _NEVER_SENT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class FailureLog:
    """One log line per failure class per window, with a count of what it held back, not one per send."""

    def __init__(self, window: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._since: dict[str, tuple[float, int]] = {}

    def note(self, level: int, key: str, text: str) -> bool:
        """Log text unless key was logged within the window; True when a line was written."""
        now = self.clock()
        first, held = self._since.get(key, (-self.window - 1.0, 0))
        if now - first < self.window:
            self._since[key] = (first, held + 1)
            return False
        more = f" (and {held} more like it in the last {self.window / 60:.0f} min)" if held else ""
        log.log(level, "%s%s", text, more)
        self._since[key] = (now, 0)
        if len(self._since) > 1000:
            self._since = {k: v for k, v in self._since.items() if now - v[0] < self.window}
        return True


@dataclass(frozen=True, slots=True)
class OutMessage:
    reply: Reply
    png: bytes | None = None
    event_key: str = ""  # which event this is (e.g. "daily:..." for a summary), for senders that care


class Sender(Protocol):
    """One platform's way of delivering a message to an address."""

    platform: str

    async def send(self, address: str, message: OutMessage) -> SendResult: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """A platform's send limits: overall rate, and minimum spacing per chat."""

    per_second: float
    private_interval: float
    group_interval: float
    # After a late wake-up, slots missed within this many seconds are still used (see RateGate.global_slot).
    catch_up: float = 0.0


TELEGRAM_LIMITS = Limits(per_second=28.5, private_interval=1.05, group_interval=3.05)
# Paid broadcasts (allow_paid_broadcast) lift the overall limit to 1000 msg/s; the per-chat limits stay.
# At 1 ms a slot, timer wake-ups run late; 20 ms of catch-up keeps the pace instead of losing a quarter of it.
TELEGRAM_PAID_LIMITS = Limits(per_second=1000.0, private_interval=1.05, group_interval=3.05, catch_up=0.02)


def telegram_limits(paid_broadcast: bool) -> Limits:
    """The pace for Telegram: the free ~30 msg/s, or 1000 msg/s when paid broadcasts are on."""
    return TELEGRAM_PAID_LIMITS if paid_broadcast else TELEGRAM_LIMITS


# Sends in flight at once. At 1000 msg/s a send must come back within (in flight)/1000 s to keep the pace:
# 128 allows a 128 ms round trip to Telegram; the free ~30 msg/s needs few.
CONCURRENCY = 16
PAID_CONCURRENCY = 128


def delivery_concurrency(paid_broadcast: bool) -> int:
    """How many sends the worker keeps in flight: enough for the pace over a real network's round trip."""
    return PAID_CONCURRENCY if paid_broadcast else CONCURRENCY


class RateGate:
    """Paces sends to stay under a platform's limits instead of running into its 429s."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._next_global = 0.0
        self._next_chat: dict[str, float] = {}

    def chat_ready_in(self, address: str) -> float:
        return max(0.0, self._next_chat.get(address, 0.0) - self.clock())

    def reserve_chat(self, address: str, is_group: bool) -> None:
        interval = self.limits.group_interval if is_group else self.limits.private_interval
        self._next_chat[address] = self.clock() + interval
        if len(self._next_chat) > 50_000:
            now = self.clock()
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}

    def pause_chat(self, address: str, seconds: float) -> None:
        self._next_chat[address] = max(self._next_chat.get(address, 0.0), self.clock() + seconds)

    async def global_slot(self) -> None:
        """Wait for the next overall slot (slots are spaced 1/per_second apart)."""
        now = self.clock()
        slot = max(now - self.limits.catch_up, self._next_global)
        self._next_global = slot + 1.0 / self.limits.per_second
        if slot > now:
            await asyncio.sleep(slot - now)


class DeliveryWorker:
    """Drains the outbox; owns its own database connection so it never waits on the poller's."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        senders: dict[str, Sender],
        *,
        limits: dict[str, Limits] | None = None,
        clock: Clock = utcnow,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.db = db
        self.senders = senders
        self.clock = clock
        self.limits = dict(limits or {})
        self.gates = {name: RateGate(self.limits.get(name, TELEGRAM_LIMITS)) for name in senders}
        self.concurrency = concurrency
        self.wake = asyncio.Event()
        # Drawings in progress or done, shared by every delivery of the same chart of the same data.
        self._charts: OrderedDict[tuple[str, str, str, str, int], asyncio.Task[bytes | None]] = OrderedDict()
        # Every read and write of the outbox runs on this one thread, so a commit that waits on SQLite's
        # lock or a WAL checkpoint never stalls the event loop.
        self.lane = DbLane(db)
        self._in_flight: set[int] = set()
        self._busy_chats: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._limiter = asyncio.Semaphore(concurrency)
        self.failures = FailureLog()

    def attach(self, sender: Sender) -> None:
        """A platform connected (perhaps after an outage at start-up): drain its queue from now on."""
        self.senders[sender.platform] = sender
        self.gates.setdefault(sender.platform, RateGate(self.limits.get(sender.platform, TELEGRAM_LIMITS)))
        self.wake.set()

    def close(self) -> None:
        """Stop the storage thread once run() has returned."""
        self.lane.close()

    def recover(self) -> int:
        """Call once at startup: sends cut off by a crash become 'uncertain'."""
        count = recover_in_flight(self.db)
        if count:
            log.warning(
                "delivery: %d send(s) were in flight when the process stopped; marked uncertain", count
            )
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set; woken at once when new rows are queued.

        The next batch is read while the last one's sends are still in flight, so a fan-out keeps its
        pace across batches; on stop, the sends in flight get a few seconds, then count as uncertain.
        """
        while not stop.is_set():
            try:
                sent = await self._launch()
            except Exception:
                log.exception("delivery: drain failed")
                sent = 0
            if sent:
                await asyncio.sleep(0)
                continue
            if self._tasks:
                # Wait for any one send to finish (what it records may be due at once), or for new
                # rows: never for all of them, so one hung send delays only itself.
                self.wake.clear()
                waiters = {asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())}
                await asyncio.wait(
                    {*self._tasks, *waiters},
                    timeout=await self._idle_timeout(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in waiters:
                    waiter.cancel()
                continue
            self.wake.clear()
            timeout = await self._idle_timeout()
            waits = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
        await self.finish_in_flight()

    async def finish_in_flight(self, grace: float = 5.0) -> None:
        """At shutdown: let the sends in flight finish for a moment; any still out are marked uncertain."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _idle_timeout(self) -> float:
        upcoming = await self.lane.run(next_due_at)
        if upcoming is None:
            return 30.0
        now = iso_utc(self.clock())
        return 0.2 if upcoming <= now else 1.0

    async def drain(self) -> int:
        """Send every delivery that is due and whose chat is ready, and wait for the answers; returns how
        many were attempted."""
        launched = await self._launch()
        await self._settle()
        return launched

    async def _settle(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def _launch(self) -> int:
        """Start the sends of one batch (at most `concurrency` at a time); returns how many started."""
        now = iso_utc(self.clock())
        pending = await self.lane.run(lambda db: due(db, now, limit=1000))
        rows = [r for r in pending if r.id not in self._in_flight]
        launched = 0
        for row in rows:
            sender = self.senders.get(row.platform)
            if sender is None:
                continue
            gate = self.gates[row.platform]
            chat_key = f"{row.platform}:{row.address}"
            if chat_key in self._busy_chats or gate.chat_ready_in(row.address) > 0:
                continue  # one message per chat at a time, and only when its spacing allows
            self._busy_chats.add(chat_key)
            gate.reserve_chat(row.address, row.is_group)
            await self._limiter.acquire()
            await gate.global_slot()
            self._in_flight.add(row.id)
            task = asyncio.create_task(self._deliver(row, sender, gate, chat_key))
            self._tasks.add(task)
            task.add_done_callback(self._done)
            launched += 1
        return launched

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.wake.set()  # the chat it held may have its next message due

    async def _deliver(self, row: Delivery, sender: Sender, gate: RateGate, chat_key: str) -> None:
        try:
            message = await self._message(row)
            await self.lane.write(lambda db: mark_sending(db, row.id))
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    result = await sender.send(row.address, message)
            except TimeoutError:
                result = SendResult(SendStatus.UNCERTAIN, error=f"no answer within {SEND_TIMEOUT:.0f} s")
            except asyncio.CancelledError:
                # Shutdown cut the send off in flight: it may have arrived, so it is never resent blindly.
                await asyncio.shield(
                    self.lane.run(lambda db: mark_final(db, row.id, "uncertain", "stopped during the send"))
                )
                raise
            except Exception as exc:  # a sender bug must not lose the row or kill the worker
                if never_sent(exc):
                    result = SendResult(SendStatus.RETRY, error=f"not sent ({type(exc).__name__})")
                else:
                    log.exception("delivery: %s sender crashed", row.platform)
                    result = SendResult(SendStatus.UNCERTAIN, error=f"sender error ({type(exc).__name__})")
            loop = asyncio.get_running_loop()
            await self.lane.write(lambda db: self._record(db, row, result, gate, loop))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery: could not record the outcome of delivery %d", row.id)
        finally:
            self._in_flight.discard(row.id)
            self._busy_chats.discard(chat_key)
            self._limiter.release()

    def _record(
        self,
        db: sqlite_utils.Database,
        row: Delivery,
        result: SendResult,
        gate: RateGate,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Store a send's outcome (on the storage thread); the rate gate is only touched on the loop."""
        now = self.clock()
        where = f"{row.platform} chat {row.address}"
        error = result.error or result.status.value
        if result.status is SendStatus.SENT:
            mark_sent(db, row.id, iso_utc(now))
        elif result.status is SendStatus.THROTTLED:
            wait = max(1.0, result.retry_after if result.retry_after is not None else 5.0)
            loop.call_soon_threadsafe(gate.pause_chat, row.address, wait)
            mark_retry(db, row.id, iso_utc(now + timedelta(seconds=wait)), error, count=False)
            self.failures.note(
                logging.INFO, f"{row.platform}:429", f"delivery: {row.platform}: {error}; waiting as told"
            )
        elif result.status is SendStatus.RETRY and row.attempts + 1 < MAX_ATTEMPTS:
            wait = (
                result.retry_after
                if result.retry_after is not None
                else min(600.0, 2.0 ** (row.attempts + 1))
            )
            loop.call_soon_threadsafe(gate.pause_chat, row.address, wait)
            mark_retry(db, row.id, iso_utc(now + timedelta(seconds=wait)), error)
            self.failures.note(
                logging.WARNING, f"{row.platform}:{error}", f"delivery: {row.platform}: {error}; retrying"
            )
        elif result.status is SendStatus.RETRY or result.status is SendStatus.FAILED:
            mark_final(db, row.id, "failed", error)
            log.warning("delivery: %s: giving up on %s: %s", where, row.event_key, error)
        elif result.status is SendStatus.GONE:
            mark_final(db, row.id, "dropped", error)
            deactivate_chat(db, row.chat_id, error)
            dropped = drop_for_chat(db, row.chat_id, error)
            log.warning(
                "delivery: %s is gone (%s); subscriptions paused, %d queued dropped", where, error, dropped
            )
        elif result.status is SendStatus.MIGRATED and result.new_address:
            migrate_chat(db, row.chat_id, result.new_address)
            mark_retry(db, row.id, iso_utc(now), f"moved to {result.new_address}", count=False)
            log.info("delivery: %s moved to %s; subscriptions follow, resending", where, result.new_address)
        else:
            mark_final(db, row.id, "uncertain", error)
            log.warning("delivery: %s: outcome unknown (%s); not resending", where, error)

    async def _message(self, row: Delivery) -> OutMessage:
        reply, chart = reply_from_json(row.payload)
        render = render_of(row.payload)
        if render is not None:  # an alert or summary: in this chat's language, from the stored facts
            reply = event_reply(render, row.lang) or reply
        if chart is None:
            return OutMessage(reply, event_key=row.event_key)
        key = await self._chart_key(chart, row.lang)
        if key is None:
            return OutMessage(reply, await self._render(chart, row.lang), event_key=row.event_key)
        drawing = self._charts.get(key)
        if drawing is None:
            # The first delivery starts the drawing; the ones that arrive meanwhile wait for the same one.
            drawing = self._charts[key] = asyncio.ensure_future(self._render(chart, row.lang))
            while len(self._charts) > 16:
                self._charts.popitem(last=False)
        else:
            self._charts.move_to_end(key)
        return OutMessage(reply, await asyncio.shield(drawing), event_key=row.event_key)

    async def _chart_key(self, chart: str, lang: str) -> tuple[str, str, str, str, int] | None:
        """What a chart is drawn from: its kind, range and language, the day (ranges count back from it
        when a series is empty) and the stored data's version. Every event and summary group asking for
        the same chart of the same data shares one drawing; new or revised data draws it again."""
        try:
            kind, span = parse_chart_args(chart.split())
        except Exception:
            return None  # _render logs it
        return kind, span, lang, ny_today(self.clock()).isoformat(), await self.lane.run(data_version)

    async def _render(self, chart: str, lang: str = "en") -> bytes | None:
        """Draw a chart in a language; _message caches it, so a fan-out to 10,000 chats draws it once."""
        try:
            now = self.clock()
            data = await self.lane.run(lambda db: chart_for(db, chart.split(), lang, now))
            return None if data is None else await render_png_async(data)
        except Exception:
            log.exception("delivery: could not draw chart %r; sending text only", chart)
            return None
