"""HTTP access shared by every source: one client, timeouts, retries with backoff, clear errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from bot.core.config import Settings
from bot.core.models import SourceError
from bot.core.offload import off_loop

log = logging.getLogger(__name__)
T = TypeVar("T")

USER_AGENT = "Plumbline/1.0 (+money-market alert bot)"
_MAX_RETRY_AFTER = 60.0
# Bodies larger than this are decoded on a worker thread: a backfill window of several hundred KB took
# tens of milliseconds to decode, a stall for every chat on the event loop.
_DECODE_ON_LOOP_MAX = 64 * 1024
_HTML_SNIFF = 1024  # a page's first characters are enough to tell HTML from JSON
PACE_SECONDS = 0.0015  # between request starts: about what one start costs on the loop (see Pacer)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; a server's Retry-After wins when it is longer."""
        backoff = min(self.max_delay, self.base_delay * (2**attempt))
        jittered = random.uniform(backoff / 2, backoff)
        if retry_after is not None:
            return max(jittered, min(retry_after, _MAX_RETRY_AFTER))
        return jittered


class Pacer:
    """Request starts one at a time, each at least `spacing` after the last and in a turn of the event loop
    of its own.

    Starting a request costs httpx about a millisecond of CPU on the loop (building it, choosing a pooled
    connection, writing it). A poll starts some twenty at once, and in one turn of the loop they held it
    10-14 ms (bench/bench_loop.py). Paced, twenty requests go out within 30 ms instead of at once, which
    no source notices. Each start arms the timer that releases the next, so however late the loop is,
    two starts never share a turn and never come closer than `spacing`."""

    def __init__(self, spacing: float = PACE_SECONDS) -> None:
        self.spacing = spacing
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._busy = False  # a start happened less than `spacing` ago, or one is released and due

    async def turn(self) -> float:
        """Wait for this request's turn: at once when no start happened within the last `spacing`.

        Returns the loop time the start was granted at, the time the next start is spaced from."""
        loop = asyncio.get_running_loop()
        if self._busy:
            slot: asyncio.Future[None] = loop.create_future()
            self._waiting.append(slot)
            try:
                await slot
            except asyncio.CancelledError:
                if slot.done() and not slot.cancelled():  # released, then cancelled: the next one goes
                    self._release()
                raise
        self._busy = True
        granted = loop.time()
        loop.call_at(granted + self.spacing, self._release)
        return granted

    def _release(self) -> None:
        while self._waiting:
            slot = self._waiting.popleft()
            if not slot.done():  # a request cancelled while waiting gives its turn to the next
                slot.set_result(None)
                return
        self._busy = False


class SourceClient(httpx.AsyncClient):
    """The one shared client, carrying the retry policy the settings chose, so no global holds it."""

    def __init__(self, *, retry: RetryPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry = retry
        self.pacer = Pacer()


def make_client(timeout: float = 15.0, retry: RetryPolicy | None = None) -> SourceClient:
    """The one shared client: explicit timeouts, pooled connections, the retry policy for every source."""
    return SourceClient(
        retry=retry or RetryPolicy(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json, text/csv;q=0.9, */*;q=0.1"},
        # A backfill has 8 NY Fed, 7 FRED and 8 Fiscal Data requests in flight at once: room for all of
        # them, kept alive, so no request waits for a connection or opens a new one.
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        follow_redirects=True,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy the settings ask for."""
    return RetryPolicy(attempts=settings.http_retry_attempts)


def _policy_of(client: httpx.AsyncClient) -> RetryPolicy:
    return client.retry if isinstance(client, SourceClient) else RetryPolicy()


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or unreachable"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection dropped mid-response"
    return type(exc).__name__


async def get_text(
    client: httpx.AsyncClient,
    source: str,
    url: str,
    params: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
) -> str:
    """GET a URL, retrying timeouts, network errors, 429 and 5xx; raise SourceError when it gives up."""
    policy = policy or _policy_of(client)
    last_problem = "no attempt made"
    for attempt in range(policy.attempts):
        retry_after: float | None = None
        try:
            if isinstance(client, SourceClient):
                await client.pacer.turn()
            response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            last_problem = _describe(exc)
        else:
            status = response.status_code
            if status == 200:
                return response.text
            if status == 429 or status >= 500:
                last_problem = f"HTTP {status}"
                retry_after = _retry_after(response)
            else:
                raise SourceError(source, f"HTTP {status} {_short_body(response)}".rstrip())
        if attempt + 1 < policy.attempts:
            delay = policy.delay(attempt, retry_after)
            # One line per failed poll is logged by the poller; each retry step is detail.
            log.debug(
                "%s: %s; retry %d/%d in %.1fs", source, last_problem, attempt + 1, policy.attempts - 1, delay
            )
            await asyncio.sleep(delay)
    raise SourceError(source, f"{last_problem} after {policy.attempts} attempts", transient=True)


async def get_json(
    client: httpx.AsyncClient,
    source: str,
    url: str,
    params: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
) -> object:
    """GET and decode JSON; an HTML page or a truncated body is a SourceError, not a crash."""
    text = await get_text(client, source, url, params, policy)
    if len(text) > _DECODE_ON_LOOP_MAX:
        return await off_loop(decode_json, source, text)
    return decode_json(source, text)


async def get_parsed(
    client: httpx.AsyncClient,
    source: str,
    url: str,
    params: Mapping[str, str] | None,
    parse: Callable[[object], T],
    policy: RetryPolicy | None = None,
    gate: asyncio.Semaphore | None = None,
) -> T:
    """GET JSON and hand it to parse, decoding and parsing in one job on the CPU thread: a backfill
    window is hundreds of KB, and one hop instead of two wakes the event loop once, not twice.

    `gate`, a source's budget of requests in flight, is held for the request alone (its retries
    included): the next request goes out while this body is still being decoded and parsed."""
    async with gate or contextlib.nullcontext():
        text = await get_text(client, source, url, params, policy)
    return await off_loop(lambda: parse(decode_json(source, text)))


def decode_json(source: str, text: str) -> object:
    if text[:_HTML_SNIFF].lstrip().startswith("<"):
        raise SourceError(source, "expected JSON but got an HTML page")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(source, f"invalid JSON ({exc.msg} at char {exc.pos})") from None


def _short_body(response: httpx.Response) -> str:
    """A short, safe summary of an error body (JSON error message only; never raw HTML)."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    if isinstance(payload, dict):
        message = payload.get("error_message") or payload.get("message") or payload.get("error")
        if isinstance(message, str):
            return f"({message[:200]})"
    return ""
