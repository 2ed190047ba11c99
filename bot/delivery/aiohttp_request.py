"""python-telegram-bot's HTTP layer on aiohttp, for the delivery worker's sends.

PTB's default HTTPXRequest spent about 1 ms of CPU on every request here, most of it httpx's connection pool
checking every pooled connection on each request: a paid broadcast topped out near 250 messages/s on this
machine. aiohttp's client does the same request in about a tenth of that.

Errors are mapped the way HTTPXRequest maps them, so TelegramSender classifies both alike: a timeout is
TimedOut, any other transport failure NetworkError (PTB itself turns HTTP statuses into RetryAfter,
Forbidden, BadRequest and ChatMigrated). When the request provably never reached the server (pool busy,
connect failed or timed out, the body not fully written), the error's cause is a NotSent, which
`never_sent` recognises; a failure after the whole request went out may have been delivered.
"""

from __future__ import annotations

import asyncio
import io
import json

import aiohttp
from aiohttp.payload import BytesPayload, Payload
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.delivery.worker import NotSent

_POOL_TIMEOUT = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent to "
    "Telegram. Consider adjusting the connection pool size or the pool timeout."
)


def _timeout(value: object, default: float | None) -> float | None:
    """A timeout PTB passed (seconds or None), or the default when it passed DEFAULT_NONE."""
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    return default  # BaseRequest.DEFAULT_NONE: not given


def _body(request_data: RequestData | None) -> Payload:
    """JSON, or multipart like HTTPXRequest's when the request uploads a file.

    The Bot API takes JSON bodies for every method that uploads nothing; one json.dumps of the
    parameters costs a fraction of form-encoding each of them."""
    if request_data is None:
        return BytesPayload(b"{}", content_type="application/json")
    files = request_data.multipart_data
    if not files:
        return BytesPayload(json.dumps(request_data.parameters).encode(), content_type="application/json")
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mimetype) in files.items():
        # aiohttp warns about (and pytest fails on) raw bytes over 1 MB; a BytesIO streams the same bytes.
        stream = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, stream, filename=filename, content_type=mimetype)
    return form()


def _fully_written(tracker: aiohttp.UploadTracker) -> bool:
    """True once the whole request was handed to the kernel: from then on it may have arrived."""
    done = tracker.upload_complete
    return done.done() and not done.cancelled() and done.exception() is None


def _not_sent(exc: BaseException) -> NotSent:
    marker = NotSent(f"{type(exc).__name__}: {exc}")
    marker.__cause__ = exc
    return marker


class AiohttpRequest(BaseRequest):
    """A BaseRequest on one aiohttp ClientSession with at most `connection_pool_size` connections.

    Timeouts mean what they mean for HTTPXRequest: pool (waiting for a free connection), connect, write
    (until the request is written; `media_write_timeout` when it uploads a file) and read (waiting for
    the answer, between chunks)."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 32,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # Our own pool gate, so a wait for a free connection is told apart from a slow connect.
        self._slots = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:  # like HTTPXRequest, usable before initialize(); not after shutdown()
            await self.initialize()
        session = self._session
        assert session is not None
        if session.closed:
            raise RuntimeError("This AiohttpRequest is shut down") from NotSent("no session")
        body = _body(request_data)
        uploads = request_data is not None and request_data.contains_files
        write = _timeout(write_timeout, self._media_write if uploads else self._write)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_timeout(connect_timeout, self._connect),
            sock_read=_timeout(read_timeout, self._read),
        )
        if self._slots.locked():
            try:
                async with asyncio.timeout(_timeout(pool_timeout, self._pool)):
                    await self._slots.acquire()
            except TimeoutError as exc:
                raise TimedOut(_POOL_TIMEOUT) from _not_sent(exc)
        else:
            await self._slots.acquire()
        try:
            return await self._send(session, url, method, body, timeout, write)
        finally:
            self._slots.release()

    async def _send(
        self,
        session: aiohttp.ClientSession,
        url: str,
        method: str,
        body: Payload,
        limits: aiohttp.ClientTimeout,
        write: float | None,
    ) -> tuple[int, bytes]:
        tracker = aiohttp.UploadTracker()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(None) as deadline:
                size = body.size
                check = (
                    None
                    if write is None or size is None
                    else loop.call_later(write, _write_deadline, deadline, tracker, size)
                )
                try:
                    async with session.request(
                        method, url, data=body, timeout=limits, upload_tracker=tracker
                    ) as response:
                        return response.status, await response.read()
                finally:
                    if check is not None:
                        check.cancel()
        except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors too
            if not _fully_written(tracker):
                raise TimedOut("Timed out before the request was sent") from _not_sent(exc)
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            error = NetworkError(f"aiohttp.{type(exc).__name__}: {exc}")
            if not _fully_written(tracker):
                raise error from _not_sent(exc)
            raise error from exc


def _write_deadline(deadline: asyncio.Timeout, tracker: aiohttp.UploadTracker, size: int) -> None:
    """At the write timeout: cut the request off unless all of it went out (then the read timeout rules)."""
    if tracker.bytes_written < size:
        deadline.reschedule(asyncio.get_running_loop().time())
