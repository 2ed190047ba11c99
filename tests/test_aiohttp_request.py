"""AiohttpRequest against a scripted loopback server: every way a send can end, and what the sender makes
of it. A request cut off before the server had all of it is provably not sent (retried); one cut off
after may have arrived (uncertain, never resent)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.core.config import load_settings
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.telegram_sender import TelegramSender
from bot.delivery.worker import OutMessage, SendStatus, never_sent
from bot.words.reply import Reply, Text
from tests.fakes.telegram import DEFAULT_TOKEN

MESSAGE = {
    "message_id": 7,
    "from": {
        "id": 123456,
        "is_bot": True,
        "first_name": "Plumbline (test)",
        "username": "plumbline_test_bot",
    },
    "chat": {"id": 42, "type": "private", "first_name": "Trader"},
    "date": 1761912300,
    "text": "SOFR above the ceiling",
    "entities": [{"type": "bold", "offset": 0, "length": 22}],
}
PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


def _json(status: int, body: object) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


ANSWERS = {
    "ok": _json(200, {"ok": True, "result": MESSAGE}),
    "429": _json(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
    ),
    "403": _json(
        403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    ),
    "400": _json(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
    "migrate": _json(
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1004242},
        },
    ),
    "500": _json(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    "502": (
        f"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {len(PAGE)}\r\n\r\n".encode()
        + PAGE
    ),
}


@dataclass
class Scripted:
    """An HTTP/1.1 server on 127.0.0.1 that does what `mode` says with each request it reads."""

    mode: str = "ok"
    delay: float = 0.0
    received: list[bytes] = field(default_factory=list)  # bodies of the requests read in full
    port: int = 0
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                if self.mode == "no read":  # accept, then never read: the client's writes back up
                    await self.closing.wait()
                    return
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.received.append(await reader.readexactly(length))
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.mode == "silent":  # the request arrived; the answer never comes
                    await self.closing.wait()
                    return
                if self.mode == "close":  # hang up without answering
                    return
                if self.mode == "reset":  # RST instead of an answer
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    writer.transport.abort()
                    return
                if self.mode == "half answer":  # headers and the start of the body, then gone
                    writer.write(ANSWERS["ok"][:-20])
                    await writer.drain()
                    return
                writer.write(ANSWERS[self.mode])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    scripted = Scripted()
    listener = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = listener.sockets[0].getsockname()[1]
    yield scripted
    scripted.closing.set()
    listener.close()
    await listener.wait_closed()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listener never accepts and whose backlog is full: a connect there hangs (no SYN-ACK)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(4):  # Linux admits backlog + 1 connections; the rest wait for a SYN-ACK
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def sender_at(port: int, tmp_path: Path, **request: float) -> TelegramSender:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
            "DATABASE_PATH": str(tmp_path / "d.db"),
        },
        env_file=None,
    )
    read_timeout = request.pop("read_timeout", 1.0)
    if not request:
        return TelegramSender(settings, read_timeout=read_timeout)
    # Timeouts the sender does not take: short ones, on its own kind of request.
    return TelegramSender(settings, request=AiohttpRequest(read_timeout=read_timeout, **request))  # type: ignore[arg-type]


ALERT = OutMessage(Reply("SOFR above the ceiling", [Text("4.22%, 22 bp above 4.00%.")]))


@pytest.mark.parametrize(
    ("mode", "status", "error", "arrived"),
    [
        ("ok", SendStatus.SENT, "", True),
        ("429", SendStatus.THROTTLED, "429 flood control", True),
        ("403", SendStatus.GONE, "403 Forbidden: bot was blocked by the user", True),
        ("400", SendStatus.GONE, "400 Chat not found", True),
        ("migrate", SendStatus.MIGRATED, "migrated", True),
        ("500", SendStatus.RETRY, "Internal Server Error", True),
        ("502", SendStatus.RETRY, "Bad Gateway (502)", True),
        # The whole request went out and then the answer failed: it may have arrived, so it is never resent.
        ("silent", SendStatus.UNCERTAIN, "timed out waiting for Telegram", True),
        ("close", SendStatus.UNCERTAIN, "connection lost mid-send: aiohttp.ServerDisconnectedError", True),
        ("reset", SendStatus.UNCERTAIN, "connection lost mid-send: aiohttp.", True),
        ("half answer", SendStatus.UNCERTAIN, "connection lost mid-send: aiohttp.ClientPayloadError", True),
    ],
)
async def test_each_answer_maps_like_httpx_request(
    server: Scripted, tmp_path: Path, mode: str, status: SendStatus, error: str, arrived: bool
) -> None:
    server.mode = mode
    sender = sender_at(server.port, tmp_path, read_timeout=0.5)
    result = await sender.send("42", ALERT)
    await sender.stop()
    assert result.status is status
    assert result.error.startswith(error), result.error
    assert bool(server.received) is arrived
    if status is SendStatus.THROTTLED:
        assert result.retry_after == 3.0


async def test_not_sent_before_the_request_left(server: Scripted, full_backlog: int, tmp_path: Path) -> None:
    """Refused, connect timeout, pool busy, write timeout: the server never had a whole request: retried."""
    refused = sender_at(_closed_port(), tmp_path)
    assert (result := await refused.send("42", ALERT)).status is SendStatus.RETRY
    assert result.error == "not sent: ClientConnectorError"
    await refused.stop()

    hanging = sender_at(full_backlog, tmp_path, connect_timeout=0.3)
    assert (result := await hanging.send("42", ALERT)).status is SendStatus.RETRY
    assert result.error == "not sent (connection pool busy or connect timeout)"
    await hanging.stop()

    server.mode = "silent"
    busy = sender_at(server.port, tmp_path, connection_pool_size=1, read_timeout=1.0, pool_timeout=0.2)
    first = asyncio.create_task(busy.send("42", ALERT))
    await asyncio.sleep(0.1)
    second = await busy.send("43", ALERT)  # waits for the one connection, in vain
    assert second.status is SendStatus.RETRY and "pool busy" in second.error
    assert (await first).status is SendStatus.UNCERTAIN  # that one did reach the server
    await busy.stop()
    assert len(server.received) == 1

    server.mode, server.received = "no read", []
    stuck = sender_at(server.port, tmp_path, write_timeout=0.3, media_write_timeout=0.3)
    big = OutMessage(ALERT.reply, b"\x89PNG\r\n\x1a\n" + bytes(48 << 20))  # more than the socket buffers hold
    assert (result := await stuck.send("42", big)).status is SendStatus.RETRY
    assert result.error == "not sent (connection pool busy or connect timeout)"
    await stuck.stop()


async def test_a_slow_answer_to_a_whole_upload_is_waited_for(server: Scripted, tmp_path: Path) -> None:
    """The write timeout covers writing only: an upload written in full waits out the read timeout."""
    server.delay = 0.6
    sender = sender_at(server.port, tmp_path, write_timeout=0.2, media_write_timeout=0.2, read_timeout=2.0)
    png = b"\x89PNG\r\n\x1a\n" + bytes(2 << 20)
    assert (await sender.send("42", OutMessage(ALERT.reply, png))).status is SendStatus.SENT
    await sender.stop()
    assert len(server.received) == 1 and png in server.received[0]  # multipart, the picture whole


@pytest.mark.parametrize(
    ("mode", "raised", "not_sent"),
    [
        ("429", RetryAfter, False),
        ("403", Forbidden, False),
        ("400", BadRequest, False),
        ("500", NetworkError, False),
        ("silent", TimedOut, False),
        ("close", NetworkError, False),
    ],
)
async def test_ptb_sees_the_errors_httpx_request_raises(
    server: Scripted, mode: str, raised: type[Exception], not_sent: bool
) -> None:
    server.mode = mode
    request = AiohttpRequest(read_timeout=0.5)
    bot = Bot(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{server.port}/bot", request=request)
    with pytest.raises(raised) as caught:
        await bot.send_message(42, "<b>SOFR above the ceiling</b>", parse_mode="HTML")
    assert type(caught.value) is raised
    assert never_sent(caught.value) is not_sent
    await request.shutdown()


async def test_the_body_is_json_and_the_answer_a_message(server: Scripted) -> None:
    request = AiohttpRequest()
    bot = Bot(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{server.port}/bot", request=request)
    sent = await bot.send_message(
        42, "<b>SOFR above the ceiling</b>", parse_mode="HTML", allow_paid_broadcast=True
    )
    await request.shutdown()
    assert sent.message_id == 7 and sent.text == "SOFR above the ceiling" and sent.chat.id == 42
    body = json.loads(server.received[0])
    assert body == {
        "chat_id": 42,
        "text": "<b>SOFR above the ceiling</b>",
        "parse_mode": "HTML",
        "allow_paid_broadcast": True,
    }
