"""A loopback aiohttp fake of Discord's REST API and gateway, for driving the real discord.py in tests.

One server answers both halves. REST lives under `/api/v10` (also `/api` and `/api/v9`), with Discord's
error bodies (`{"message": ..., "code": ...}`, `50035 Invalid Form Body` with nested `errors`), its
rate-limit headers on every answer, and the `Via` header discord.py insists on before it trusts a 429.
The gateway lives at `/gateway`: HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, RESUME with replay of
missed events, INVALID_SESSION, the real close codes, and zlib-stream transport compression (one
compressobj per connection, every message flushed with Z_SYNC_FLUSH).

discord.py reads `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY`; `FakeDiscord.patch_discord()` sets
both for a block, or the app's own settings do (DISCORD_API_BASE_URL, DISCORD_GATEWAY_URL).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import secrets
import struct
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal

import yarl
from aiohttp import BodyPartReader, WSMsgType, web

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "FAKE.discord.token-not-real"
DEFAULT_APPLICATION_ID = 900000000000000001
DEFAULT_USER_ID = 700000000000000001
DISCORD_EPOCH_MS = 1_420_070_400_000
API_VERSIONS = frozenset({"9", "10"})

# Permission bits, as in Discord's docs.
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1  # what Discord reports for owners and administrators
EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Gateway intents Discord makes an application switch on in the developer portal.
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
ALL_INTENTS = (1 << 26) - 1

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
_PREFIX_RE = re.compile(r"^(?:/discord\.com)?/api(?:/v(?P<v>\d+))?(?P<path>/.*)$")
_MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"
_HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
)
_HTML_502 += "</center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"


def _zstd_stream() -> Callable[[bytes], bytes] | None:
    """One zstd frame for the connection, flushed per message, from whichever module discord.py would use."""
    try:
        import zstandard  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        try:
            from compression import zstd  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return None
        stdlib = zstd.ZstdCompressor()
        return lambda raw: bytes(stdlib.compress(raw, mode=zstd.ZstdCompressor.FLUSH_BLOCK))
    stream = zstandard.ZstdCompressor().compressobj()
    return lambda raw: bytes(stream.compress(raw) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))


class _Limited(Exception):
    """A route's own limit is used up (crossposts: 10 an hour per channel); answered as a 429."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class ApiError(Exception):
    """An error answer of the REST API, raised by route handlers and rendered by the dispatcher."""

    def __init__(self, status: int, message: str, code: int = 0, errors: JSONDict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: JSONDict = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def _form_error(errors: JSONDict) -> ApiError:
    return ApiError(400, "Invalid Form Body", 50035, errors)


def _field_error(path: tuple[str | int, ...], code: str, message: str) -> ApiError:
    node: JSONDict = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        node = {str(key): node}
    return _form_error(node)


@dataclass
class Request:
    """One REST request the fake received, with the body decoded (JSON or multipart `payload_json`)."""

    method: str
    path: str  # without the /api/v10 prefix, e.g. "/channels/1/messages"
    query: dict[str, str]
    json: Any
    files: dict[str, bytes]
    at: float  # time.monotonic() on arrival
    authorization: str | None = None
    status: int = 0
    response: Any = None
    dropped: bool = False


@dataclass
class StoredMessage:
    """A message the fake created: what was sent (`payload`, `files`) and what it answered (`data`)."""

    id: int
    channel_id: int
    source: Literal["channel", "webhook", "interaction", "followup"]
    payload: JSONDict
    files: dict[str, bytes]
    data: JSONDict
    at: float

    @property
    def content(self) -> str:
        return str(self.data.get("content", ""))

    @property
    def embeds(self) -> list[JSONDict]:
        return list(self.data.get("embeds", []))

    @property
    def flags(self) -> int:
        return int(self.data.get("flags", 0))


@dataclass
class InteractionReply:
    """One answer to an interaction: the callback, a followup POST or a PATCH of the original response."""

    kind: Literal["callback", "followup"]
    method: str
    path: str
    body: JSONDict  # callback: {"type": 4, "data": {...}}; followups: the message payload
    files: dict[str, bytes]
    at: float
    message: StoredMessage | None = None

    @property
    def type(self) -> int | None:
        """The callback type (4 message, 5 deferred); None for followups."""
        value = self.body.get("type") if self.kind == "callback" else None
        return int(value) if value is not None else None

    @property
    def data(self) -> JSONDict:
        """The message part: a callback's `data`, or a followup's whole body."""
        if self.kind == "callback":
            return dict(self.body.get("data") or {})
        return self.body


@dataclass
class SentInteraction:
    """An INTERACTION_CREATE the fake dispatched."""

    id: int
    token: str
    payload: JSONDict


@dataclass
class _Interaction:
    sent: SentInteraction
    channel_id: int
    guild_id: int | None
    user: JSONDict
    delivered_at: float | None = None
    callback_type: int | None = None
    original: StoredMessage | None = None
    replies: list[InteractionReply] = field(default_factory=list)
    message: StoredMessage | None = None  # the message a component (button) interaction came from


@dataclass
class _Fault:
    needle: str
    count: int
    status: int = 0
    retry_after: float = 1.0
    code: int | None = None
    message: str | None = None
    global_limit: bool = False
    drop: Literal["before", "after"] | None = None
    delay: float = 0.0


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, str]
    roles: list[JSONDict]
    members: dict[int, JSONDict]
    bot_role_id: int
    bot_permissions: int
    joined_at: str
    present: bool = True
    news: set[int] = field(default_factory=set)  # announcement channels (type 5)


@dataclass
class _Bucket:
    limit: int
    window: float
    count: int = 0
    reset_at: float = 0.0  # time.monotonic()


class _Connection:
    """One gateway websocket; sends are serialised so the zlib stream stays in order."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compress: str | None) -> None:
        self.ws = ws
        self.transport = request.transport
        self.query = dict(request.query)
        self.compress = compress
        self.session: _Session | None = None
        self.heartbeats = 0
        self.closed_by_server = False
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd = _zstd_stream() if compress == "zstd-stream" else None

    async def send(self, payload: JSONDict) -> bool:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        async with self._lock:
            if self.ws.closed:
                return False
            try:
                if self._zlib is not None:
                    await self.ws.send_bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
                elif self._zstd is not None:
                    await self.ws.send_bytes(self._zstd(raw))
                else:
                    await self.ws.send_str(raw.decode())
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_by_server = True
        await self.ws.close(code=code, message=reason.encode())


@dataclass
class _Session:
    id: str
    shard: list[int] | None
    intents: int
    seq: int = 0
    events: list[JSONDict] = field(default_factory=list)
    conn: _Connection | None = None


Reply = tuple[int, Any]
Handler = Callable[["Request", dict[str, str]], Awaitable[Reply]]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    auth: bool = True


class FakeDiscord:
    """Discord on 127.0.0.1: `async with FakeDiscord() as dc:`, then point discord.py at it."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_user_id: int = DEFAULT_APPLICATION_ID,
        *,
        heartbeat_interval_ms: int = 41250,
        enforce_channel_limit: bool = False,
        channel_limit: int = 5,
        channel_window: float = 2.0,
        interaction_deadline: float | None = 3.0,
        privileged_intents: int = 0,
        bot_username: str = "Plumbline Test",
    ) -> None:
        self._token = token
        self._application_id = application_id
        self.bot_user_id = bot_user_id
        self.bot_username = bot_username
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.enforce_channel_limit = enforce_channel_limit
        self.channel_limit = channel_limit
        self.channel_window = channel_window
        self.interaction_deadline = interaction_deadline
        self.privileged_intents = privileged_intents
        self.ack_heartbeats = True

        self.requests: list[Request] = []
        self.messages: list[StoredMessage] = []
        self.command_puts: list[list[JSONDict]] = []
        self.identifies: list[JSONDict] = []  # IDENTIFY payloads, token removed
        self.presence_updates: list[JSONDict] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.rate_limited_count = 0

        self.webhook_id = 1_300_000_000_000_000_001
        self.webhook_token = secrets.token_urlsafe(51)
        self.webhook_channel_id = 1_300_000_000_000_000_002
        self.webhook_name = "Plumbline alerts"

        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._ready = asyncio.Event()
        self._increment = itertools.count()
        self._guilds: dict[int, _Guild] = {}
        self._deleted_channels: set[int] = set()
        self._commands: dict[int | None, list[JSONDict]] = {}
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._crossposts: dict[int, list[float]] = {}
        self.crosspost_limit = 10  # per channel per hour, as Discord documents for announcement channels
        self._faults: list[_Fault] = []
        self._buckets: dict[str, _Bucket] = {}
        self._connections: set[_Connection] = set()
        self._sessions: dict[str, _Session] = {}
        self._latest_session: _Session | None = None
        self._routes = self._build_routes()

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_route("*", "/{tail:.*}", self._handle_rest)
        self._closing.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing.set()
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.close(1001, "Going away")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST routes and gateway here for the block; restore them afterwards."""
        import discord.gateway
        import discord.http

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # -- properties -----------------------------------------------------------------------------------------

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def webhook_url(self) -> str:
        """An execute URL served here that `discord.Webhook.from_url` also accepts.

        from_url only takes URLs matching `discord.com/api/webhooks/<id>/<token>`, and sends to
        `Route.BASE + /webhooks/<id>/<token>` whatever host the URL names; so the path carries the
        `discord.com/api` part, and this server answers it too for clients that post to the URL itself.
        """
        return (
            f"http://127.0.0.1:{self._port}/discord.com/api/webhooks/{self.webhook_id}/{self.webhook_token}"
        )

    @property
    def token(self) -> str:
        return self._token

    @property
    def application_id(self) -> int:
        return self._application_id

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": str(self.bot_user_id),
            "username": self.bot_username,
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
            "bio": "",
        }

    @property
    def commands(self) -> list[JSONDict]:
        """The global commands as last registered."""
        return list(self._commands.get(None, []))

    def guild_commands(self, guild_id: int) -> list[JSONDict]:
        return list(self._commands.get(guild_id, []))

    # -- setup ----------------------------------------------------------------------------------------------

    def add_guild(
        self,
        guild_id: int,
        name: str,
        channels: list[tuple[int, str]],
        owner_id: int = 800000000000000001,
        *,
        bot_permissions: int = EVERYONE_PERMISSIONS,
    ) -> None:
        """A guild the bot is in: in READY as unavailable, then sent as GUILD_CREATE after IDENTIFY."""
        everyone = self._role(guild_id, "@everyone", EVERYONE_PERMISSIONS, position=0)
        bot_role_id = self._snowflake()
        bot_role = self._role(bot_role_id, self.bot_username, bot_permissions, position=1, managed=True)
        bot_role["tags"] = {"bot_id": str(self.bot_user_id)}
        self._guilds[guild_id] = _Guild(
            id=guild_id,
            name=name,
            owner_id=owner_id,
            channels=dict(channels),
            roles=[everyone, bot_role],
            members={},
            bot_role_id=bot_role_id,
            bot_permissions=bot_permissions,
            joined_at=_iso(time.time()),
        )

    async def make_announcement_channel(self, channel_id: int) -> None:
        """Turn a guild text channel into an announcement (news, type 5) channel other servers can follow;
        a connected client is told with CHANNEL_UPDATE, as Discord does."""
        guild = self._channel_guild(channel_id)
        if guild is None:
            raise ValueError(f"channel {channel_id} is in no guild")
        guild.news.add(channel_id)
        await self._dispatch_live("CHANNEL_UPDATE", self._channel(guild, channel_id, with_guild=True))

    def crossposted(self, channel_id: int) -> list[StoredMessage]:
        """The channel's messages that were published to following servers."""
        return [m for m in self.channel_messages(channel_id) if int(m.data.get("flags", 0)) & 1]

    def add_member(self, guild_id: int, user_id: int, permissions: int = 0, *, username: str = "") -> None:
        """A member whose role carries `permissions` (on top of @everyone's)."""
        guild = self._guild(guild_id)
        role_id = self._snowflake()
        guild.roles.append(self._role(role_id, f"role-{user_id}", permissions, position=len(guild.roles)))
        guild.members[user_id] = {
            "user": self._user(user_id, username or f"user{user_id % 10000}"),
            "roles": [str(role_id)],
            "permissions_value": permissions,
            "joined_at": _iso(time.time() - 86400),
        }

    def set_bot_permissions(self, guild_id: int, permissions: int) -> None:
        guild = self._guild(guild_id)
        guild.bot_permissions = permissions
        for role in guild.roles:
            if int(role["id"]) == guild.bot_role_id:
                role["permissions"] = str(permissions)

    async def remove_guild(self, guild_id: int) -> None:
        """The bot was removed: GUILD_DELETE goes out, and the guild's channels answer 403 Missing Access."""
        self._guild(guild_id).present = False
        await self._dispatch_live("GUILD_DELETE", {"id": str(guild_id)})

    async def delete_channel(self, channel_id: int) -> None:
        """The channel is gone: CHANNEL_DELETE goes out, and it answers 404 Unknown Channel."""
        guild = self._channel_guild(channel_id)
        self._deleted_channels.add(channel_id)
        if guild is not None:
            data = self._channel(guild, channel_id, with_guild=True)
            await self._dispatch_live("CHANNEL_DELETE", data)

    # -- faults ---------------------------------------------------------------------------------------------

    def fail_next(
        self,
        route_substring: str,
        status: int = 429,
        retry_after: float = 1.0,
        count: int = 1,
        code: int | None = None,
        message: str | None = None,
        *,
        global_limit: bool = False,
    ) -> None:
        """Answer the next `count` REST calls whose "METHOD /path" contains the substring with an error."""
        self._faults.append(
            _Fault(route_substring, count, status, retry_after, code, message, global_limit=global_limit)
        )

    def drop_next(self, route_substring: str, count: int = 1, *, after: bool = False) -> None:
        """Close the connection instead of answering; with after=True the call takes effect first."""
        self._faults.append(_Fault(route_substring, count, drop="after" if after else "before"))

    def delay_next(self, route_substring: str, seconds: float, count: int = 1) -> None:
        """Sleep before handling the next `count` matching calls."""
        self._faults.append(_Fault(route_substring, count, delay=seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- reading what the bot did ---------------------------------------------------------------------------

    def channel_messages(self, channel_id: int) -> list[StoredMessage]:
        """Messages the bot posted with POST /channels/{id}/messages."""
        return [m for m in self.messages if m.source == "channel" and m.channel_id == channel_id]

    def webhook_messages(self) -> list[StoredMessage]:
        """Messages executed through the incoming webhook at `webhook_url`."""
        return [m for m in self.messages if m.source == "webhook"]

    def interaction_responses(self, interaction_id: int) -> list[InteractionReply]:
        return list(self._interaction(interaction_id).replies)

    def requests_to(self, route_substring: str) -> list[Request]:
        return [r for r in self.requests if route_substring in f"{r.method} {r.path}"]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` holds; it is re-checked whenever the fake records something."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"FakeDiscord: condition not met within {timeout}s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.5))

    async def wait_ready(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until a client has identified and been sent READY and every GUILD_CREATE."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def wait_for_response(
        self,
        interaction_id: int,
        kind: Literal["callback", "followup"] = "callback",
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> InteractionReply:
        """The first answer of that kind to the interaction, once it arrives."""
        record = self._interaction(interaction_id)
        await self.wait_until(lambda: any(r.kind == kind for r in record.replies), timeout)
        return next(r for r in record.replies if r.kind == kind)

    async def wait_for_channel_messages(
        self,
        channel_id: int,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[StoredMessage]:
        await self.wait_until(lambda: len(self.channel_messages(channel_id)) >= count, timeout)
        return self.channel_messages(channel_id)

    async def wait_for_webhook_messages(
        self,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[StoredMessage]:
        await self.wait_until(lambda: len(self.webhook_messages()) >= count, timeout)
        return self.webhook_messages()

    # -- gateway control ------------------------------------------------------------------------------------

    @property
    def connected(self) -> int:
        """Open gateway connections that have identified or resumed."""
        return sum(1 for c in self._connections if c.session is not None and not c.ws.closed)

    async def close_gateway(
        self, code: int = 1000, reason: str = "", *, invalidate: bool | None = None
    ) -> None:
        """Close every gateway connection with `code`; 4007 and 4009 also forget the session, as Discord does.

        discord.py resumes after any close but 1000-from-itself, 4004 and 4010-4014.
        """
        if invalidate is None:
            invalidate = code in (4007, 4009)
        for conn in list(self._connections):
            if invalidate and conn.session is not None:
                self._forget(conn.session)
            await conn.close(code, reason)

    def disconnect_clients(self) -> None:
        """Drop every gateway connection's TCP stream with no close frame, as a network failure would."""
        for conn in list(self._connections):
            conn.closed_by_server = True
            if conn.transport is not None:
                conn.transport.abort()

    async def send_reconnect(self) -> None:
        """Op 7 RECONNECT: the client should close and RESUME."""
        for conn in list(self._connections):
            await conn.send({"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Op 9 INVALID_SESSION; when not resumable the session is forgotten and the client must IDENTIFY."""
        for conn in list(self._connections):
            if not resumable and conn.session is not None:
                self._forget(conn.session)
            await conn.send({"op": 9, "d": resumable, "s": None, "t": None})

    # -- interactions ---------------------------------------------------------------------------------------

    async def dispatch_interaction(
        self,
        name: str,
        options: dict[str, str | int | float | bool] | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int = DEFAULT_USER_ID,
        username: str = "trader",
        dm: bool = False,
        locale: str = "en-US",
        subcommand: str | None = None,
        focused: str | None = None,
        interaction_type: int = 2,
        component: tuple[StoredMessage, str] | None = None,
    ) -> SentInteraction:
        """Send a slash command (type 2) as INTERACTION_CREATE; a guild's first channel unless told otherwise.

        `subcommand` nests the options under it (/subscribe daily ...); `focused` names the option being
        typed, which makes it an autocomplete interaction (type 4) whose values are partial strings.
        `component` (message, custom_id) makes it a button press (type 3) on that message.
        Sent to the latest session; if no client is connected it waits in the session for a RESUME.
        """
        if focused is not None:
            interaction_type = 4
        if component is not None:
            interaction_type = 3
        session = self._latest_session
        if session is None:
            raise RuntimeError("FakeDiscord: no live gateway session; await dc.wait_ready() first")
        interaction_id = self._snowflake()
        secret = f"interaction:{interaction_id}:{secrets.token_urlsafe(96)}"
        token = base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")
        payload: JSONDict = {
            "id": str(interaction_id),
            "application_id": str(self._application_id),
            "type": interaction_type,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        user = self._user(user_id, username)
        if dm:
            channel_id = channel_id or self._dm_channel_id(user_id)
            payload.update(
                {
                    "channel_id": str(channel_id),
                    "channel": {
                        "id": str(channel_id),
                        "type": 1,
                        "last_message_id": None,
                        "flags": 0,
                        "recipients": [user],
                    },
                    "user": user,
                    "context": 1,
                    "authorizing_integration_owners": {"0": str(user_id)},
                    "app_permissions": str(EVERYONE_PERMISSIONS),
                }
            )
            record = _Interaction(SentInteraction(interaction_id, token, payload), channel_id, None, user)
        else:
            guild = self._guild(guild_id) if guild_id is not None else self._first_guild()
            if channel_id is None:
                channel_id = next(iter(guild.channels))
            elif channel_id not in guild.channels:
                raise ValueError(f"channel {channel_id} is not in guild {guild.id}")
            member = self._member_payload(guild, user_id, username)
            channel = self._channel(guild, channel_id, with_guild=True)
            channel["permissions"] = member["permissions"]
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "channel_id": str(channel_id),
                    "channel": channel,
                    "member": member,
                    "context": 0,
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "app_permissions": str(self._bot_permissions(guild)),
                }
            )
            record = _Interaction(SentInteraction(interaction_id, token, payload), channel_id, guild.id, user)
        if component is not None:
            message, custom_id = component
            payload["message"] = message.data
            payload["data"] = {"custom_id": custom_id, "component_type": 2}
            record.message = message
        else:
            payload["data"] = self._command_data(name, options or {}, record.guild_id, subcommand, focused)
        self._interactions[interaction_id] = record
        await self._dispatch(session, "INTERACTION_CREATE", payload)
        return record.sent

    # -- internals: ids, objects ----------------------------------------------------------------------------

    def _snowflake(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | (next(self._increment) & 0xFFF)

    def _forget(self, session: _Session) -> None:
        """The session can no longer be resumed; until a client identifies again nothing is ready."""
        self._sessions.pop(session.id, None)
        if self._latest_session is session:
            self._latest_session = None
            self._ready.clear()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _guild(self, guild_id: int) -> _Guild:
        try:
            return self._guilds[guild_id]
        except KeyError:
            raise ValueError(f"FakeDiscord: no guild {guild_id}; call add_guild first") from None

    def _first_guild(self) -> _Guild:
        if not self._guilds:
            raise ValueError("FakeDiscord: no guilds; call add_guild first or pass dm=True")
        return next(iter(self._guilds.values()))

    def _interaction(self, interaction_id: int) -> _Interaction:
        try:
            return self._interactions[interaction_id]
        except KeyError:
            raise ValueError(f"FakeDiscord: no interaction {interaction_id} was dispatched") from None

    def _channel_guild(self, channel_id: int) -> _Guild | None:
        return next((g for g in self._guilds.values() if channel_id in g.channels), None)

    @staticmethod
    def _dm_channel_id(user_id: int) -> int:
        return user_id + 1

    @staticmethod
    def _user(user_id: int, username: str) -> JSONDict:
        return {
            "id": str(user_id),
            "username": username,
            "global_name": username.title(),
            "discriminator": "0",
            "avatar": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "clan": None,
            "primary_guild": None,
        }

    @staticmethod
    def _role(role_id: int, name: str, permissions: int, *, position: int, managed: bool = False) -> JSONDict:
        return {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
            "description": None,
        }

    def _channel(self, guild: _Guild, channel_id: int, *, with_guild: bool) -> JSONDict:
        data: JSONDict = {
            "id": str(channel_id),
            "type": 5 if channel_id in guild.news else 0,
            "name": guild.channels[channel_id],
            "position": list(guild.channels).index(channel_id),
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }
        if with_guild:
            data["guild_id"] = str(guild.id)
        return data

    def _member_permissions(self, guild: _Guild, user_id: int) -> int:
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        value = EVERYONE_PERMISSIONS | (int(member["permissions_value"]) if member else 0)
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def _bot_permissions(self, guild: _Guild) -> int:
        value = EVERYONE_PERMISSIONS | guild.bot_permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def _member_payload(self, guild: _Guild, user_id: int, username: str) -> JSONDict:
        if user_id not in guild.members and user_id != guild.owner_id:
            guild.members[user_id] = {
                "user": self._user(user_id, username),
                "roles": [],
                "permissions_value": 0,
                "joined_at": _iso(time.time() - 86400),
            }
        stored = guild.members.get(user_id) or {
            "user": self._user(user_id, username),
            "roles": [],
            "joined_at": guild.joined_at,
        }
        return {
            "user": stored["user"],
            "roles": list(stored["roles"]),
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": stored["joined_at"],
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
            "permissions": str(self._member_permissions(guild, user_id)),
        }

    def _bot_member(self, guild: _Guild) -> JSONDict:
        return {
            "user": self.bot_user,
            "roles": [str(guild.bot_role_id)],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": guild.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def _guild_create(self, guild: _Guild) -> JSONDict:
        members = [self._bot_member(guild)]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": guild.roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(next(iter(guild.channels))) if guild.channels else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 25000000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw": False,
            "nsfw_level": 0,
            "hub_type": None,
            "incidents_data": None,
            "latest_onboarding_question_id": None,
            "joined_at": guild.joined_at,
            "large": False,
            "lazy": True,
            "unavailable": False,
            "member_count": 1 + len(guild.members),
            "members": members,
            "voice_states": [],
            "presences": [],
            "channels": [self._channel(guild, cid, with_guild=False) for cid in guild.channels],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }

    def _application(self) -> JSONDict:
        flags = (1 << 23) | (0 if self.privileged_intents & (1 << 15) else 1 << 19)
        return {
            "id": str(self._application_id),
            "name": self.bot_username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(str(self._application_id).encode()).hexdigest(),
            "flags": flags,
            "owner": self._user(800000000000000001, "owner"),
            "team": None,
            "bot": self.bot_user,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {"0": {}, "1": {}},
            "approximate_guild_count": len(self._guilds),
            "approximate_user_install_count": 0,
            "event_webhooks_status": 1,
        }

    def _command_data(
        self,
        name: str,
        options: dict[str, Any],
        guild_id: int | None,
        subcommand: str | None = None,
        focused: str | None = None,
    ) -> JSONDict:
        registered = next(
            (c for c in self._commands.get(guild_id, []) + self._commands.get(None, []) if c["name"] == name),
            None,
        )
        declared = (registered or {}).get("options", [])
        if subcommand is not None:
            sub = next((o for o in declared if o["name"] == subcommand and o.get("type") == 1), None)
            declared = (sub or {}).get("options", [])
        known = {o["name"]: o for o in declared}
        built = []
        for key, value in options.items():
            if key in known:
                kind = int(known[key].get("type", 3))
            else:
                kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 10
                kind = 3 if isinstance(value, str) else kind
            if key == focused:  # what the user has typed so far: always a string, as Discord sends it
                built.append({"name": key, "type": kind, "value": str(value), "focused": True})
                continue
            if kind == 10 and isinstance(value, int | float) and not isinstance(value, bool):
                value = float(value) if not float(value).is_integer() else int(value)
            built.append({"name": key, "type": kind, "value": value})
        command_id = registered["id"] if registered else str(self._command_id(guild_id, name))
        data: JSONDict = {"id": command_id, "name": name, "type": 1}
        if subcommand is not None:
            data["options"] = [{"name": subcommand, "type": 1, "options": built}]
        elif built:
            data["options"] = built
        if guild_id is not None and registered is not None and registered.get("guild_id"):
            data["guild_id"] = str(guild_id)
        return data

    def _command_id(self, guild_id: int | None, name: str) -> int:
        key = (guild_id, name)
        if key not in self._command_ids:
            self._command_ids[key] = self._snowflake()
        return self._command_ids[key]

    # -- internals: gateway ---------------------------------------------------------------------------------

    async def _dispatch(self, session: _Session, event: str, data: JSONDict) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        del session.events[:-1000]
        if session.conn is not None:
            await self._send_event(session.conn, payload)

    async def _dispatch_live(self, event: str, data: JSONDict) -> None:
        if self._latest_session is not None:
            await self._dispatch(self._latest_session, event, data)

    async def _send_event(self, conn: _Connection, payload: JSONDict) -> None:
        if await conn.send(payload) and payload.get("t") == "INTERACTION_CREATE":
            record = self._interactions.get(int(payload["d"]["id"]))
            if record is not None and record.delivered_at is None:
                record.delivered_at = time.monotonic()
        self._notify()

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.gateway_queries.append(query)
        encoding = query.get("encoding", "json")
        compress = query.get("compress")
        if encoding != "json":
            return web.Response(status=400, text=f"FakeDiscord speaks encoding=json only, not {encoding!r}")
        if compress not in (None, "zlib-stream", "zstd-stream"):
            return web.Response(status=400, text=f"unknown compress value {compress!r}")
        if compress == "zstd-stream" and _zstd_stream() is None:
            return web.Response(status=400, text="compress=zstd-stream needs zstandard or compression.zstd")
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        conn = _Connection(ws, request, compress)
        self._connections.add(conn)
        self._notify()
        try:
            if query.get("v") not in API_VERSIONS:
                await conn.close(4012, "Invalid API version")
                return ws
            hello = {
                "heartbeat_interval": self.heartbeat_interval_ms,
                "_trace": ['["gateway-prd-fake-1",{}]'],
            }
            await conn.send({"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_gateway_message(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await conn.close(4002, "Error while decoding payload.")
        finally:
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client that closes with 1000/1001 ends its session; any other close can be resumed.
                if not conn.closed_by_server and ws.close_code in (1000, 1001):
                    self._forget(session)
            self._notify()
        return ws

    async def _on_gateway_message(self, conn: _Connection, text: str) -> None:
        try:
            message = json.loads(text)
            op = message["op"]
            data = message.get("d")
        except (ValueError, KeyError, TypeError):
            await conn.close(4002, "Error while decoding payload.")
            return
        if op == 1:
            conn.heartbeats += 1
            self.heartbeat_count += 1
            if self.ack_heartbeats:
                await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data)
        elif op == 6:
            await self._resume(conn, data)
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == 3:
            self.presence_updates.append(data)
        elif op == 8:
            await self._request_members(conn.session, data)
        elif op == 4:
            pass  # voice state: not modelled
        else:
            await conn.close(4001, "Unknown opcode.")
        self._notify()

    async def _identify(self, conn: _Connection, data: Any) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if not isinstance(data, dict) or data.get("token") != self._token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            await conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        self.identifies.append({k: v for k, v in data.items() if k != "token"})
        self.identify_count += 1
        session = _Session(id=secrets.token_hex(16), shard=data.get("shard"), intents=intents, conn=conn)
        self._sessions[session.id] = session
        self._latest_session = session
        conn.session = session
        present = [g for g in self._guilds.values() if g.present]
        ready: JSONDict = {
            "v": 10,
            "user": self.bot_user,
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in present],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central", "us-south", "atlanta", "us-west"],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self._application_id), "flags": self._application()["flags"]},
            "auth": {},
            "_trace": ['["gateway-prd-fake-1",{"micros":1000}]'],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        await self._dispatch(session, "READY", ready)
        for guild in present:
            await self._dispatch(session, "GUILD_CREATE", self._guild_create(guild))
        self._ready.set()

    async def _resume(self, conn: _Connection, data: Any) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        data = data if isinstance(data, dict) else {}
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self._token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        seq = data.get("seq")
        if not isinstance(seq, int) or seq > session.seq:
            await conn.close(4007, "Invalid seq.")
            return
        if session.conn is not None and session.conn is not conn:
            old = session.conn
            session.conn = None
            old.session = None
            await old.close(4000, "Session resumed elsewhere")
        session.conn = conn
        conn.session = session
        self.resume_count += 1
        for payload in [e for e in session.events if e["s"] > seq]:
            await self._send_event(conn, payload)
        await self._dispatch(session, "RESUMED", {"_trace": ['["gateway-prd-fake-1",{}]']})

    async def _request_members(self, session: _Session, data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        guild = self._guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        members = [self._bot_member(guild)]
        members += [self._member_payload(guild, uid, "") for uid in guild.members]
        for member in members:
            member.pop("permissions", None)
        chunk: JSONDict = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- internals: REST ------------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", "/applications/{application_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._put_commands, True),
            ("POST", "/applications/{application_id}/commands", self._post_command, True),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands, True),
            ("GET", "/channels/{channel_id}", self._get_channel, True),
            ("POST", "/channels/{channel_id}/messages", self._post_channel_message, True),
            ("POST", "/channels/{channel_id}/typing", self._post_typing, True),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/crosspost",
                self._post_crosspost,
                True,
            ),
            (
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._post_callback,
                False,
            ),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}", self._get_webhook, False),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._post_webhook, False),
            (
                "GET",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._get_wh_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._patch_wh_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._delete_wh_message,
                False,
            ),
        ]
        routes = []
        for method, template, handler, auth in table:
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            routes.append(_Route(method, re.compile(f"^{regex}$"), f"{method} {template}", handler, auth))
        return routes

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        match = _PREFIX_RE.match(request.path)
        path = match.group("path") if match else request.path
        record = Request(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=None,
            files={},
            at=time.monotonic(),
            authorization=request.headers.get("Authorization"),
        )
        not_found = {"message": "404: Not Found", "code": 0}
        try:
            record.json, record.files = await self._read_body(request)
        except ApiError as error:
            return self._finish(record, error.status, error.body, {})
        if match is None or (match.group("v") and match.group("v") not in API_VERSIONS):
            return self._finish(record, 404, not_found, {})
        found = [(r, m) for r in self._routes if (m := r.pattern.match(path)) is not None]
        if not found:
            return self._finish(record, 404, not_found, {})
        route_match = next(((r, m) for r, m in found if r.method == request.method), None)
        if route_match is None:
            return self._finish(record, 405, {"message": "405: Method Not Allowed", "code": 0}, {})
        route, m = route_match
        params = m.groupdict()
        if route.auth and record.authorization != f"Bot {self._token}":
            return self._finish(record, 401, {"message": "401: Unauthorized", "code": 0}, {})

        bucket = self._bucket(route, params)
        fault = self._take_fault(f"{record.method} {path}")
        if fault is not None and fault.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.delay)
            fault = None
        if fault is not None and fault.drop == "before":
            return self._drop(request, record)
        if fault is not None and fault.drop is None:
            return self._fault_response(record, route, bucket, fault)
        if self.enforce_channel_limit and route.template == _MESSAGES_ROUTE and bucket.count >= bucket.limit:
            retry_after = round(max(0.001, bucket.reset_at - time.monotonic()), 3)
            return self._rate_limited(record, route, bucket, retry_after, global_limit=False)
        try:
            status, body = await route.handler(record, params)
        except _Limited as limited:
            return self._rate_limited(record, route, bucket, limited.retry_after, global_limit=False)
        except ApiError as error:
            return self._finish(record, error.status, error.body, self._ratelimit_headers(route, bucket))
        bucket.count += 1
        if fault is not None and fault.drop == "after":
            record.status, record.response = status, body
            return self._drop(request, record)
        return self._finish(record, status, body, self._ratelimit_headers(route, bucket))

    async def _read_body(self, request: web.Request) -> tuple[Any, dict[str, bytes]]:
        if not request.body_exists:
            return None, {}
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: dict[str, bytes] = {}
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = _loads(await part.text())
                elif part.filename:
                    files[part.filename] = bytes(await part.read(decode=False))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, {}
        return _loads(raw.decode()), {}

    def _take_fault(self, route: str) -> _Fault | None:
        for fault in self._faults:
            if fault.needle in route:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _bucket(self, route: _Route, params: dict[str, str]) -> _Bucket:
        major = "+".join(
            params[k] for k in ("channel_id", "guild_id", "webhook_id", "webhook_token") if k in params
        )
        key = f"{route.template}:{major}"
        if key not in self._buckets:
            if route.template == _MESSAGES_ROUTE:
                limit, window = self.channel_limit, self.channel_window
            elif route.template == "POST /webhooks/{webhook_id}/{webhook_token}":
                limit, window = 5, 2.0
            else:
                limit, window = 50, 1.0
            self._buckets[key] = _Bucket(limit, window)
        bucket = self._buckets[key]
        if time.monotonic() >= bucket.reset_at:
            bucket.count = 0
            bucket.reset_at = time.monotonic() + bucket.window
        return bucket

    @staticmethod
    def _ratelimit_headers(route: _Route, bucket: _Bucket) -> dict[str, str]:
        reset_after = max(0.0, bucket.reset_at - time.monotonic())
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.count)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.md5(route.template.encode(), usedforsecurity=False).hexdigest(),
        }

    def _rate_limited(
        self, record: Request, route: _Route, bucket: _Bucket, retry_after: float, *, global_limit: bool
    ) -> web.Response:
        self.rate_limited_count += 1
        body: JSONDict = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = global_limit
        headers = self._ratelimit_headers(route, bucket)
        headers.update(
            {
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Scope": "global" if global_limit else "user",
            }
        )
        if global_limit:
            headers["X-RateLimit-Global"] = "true"
            body["code"] = 0
        return self._finish(record, 429, body, headers)

    def _fault_response(self, record: Request, route: _Route, bucket: _Bucket, fault: _Fault) -> web.Response:
        status = fault.status
        if status == 429:
            return self._rate_limited(
                record, route, bucket, fault.retry_after, global_limit=fault.global_limit
            )
        if status in (502, 504):
            record.status, record.response = status, _HTML_502
            self._record(record)
            response = web.Response(status=status, text=_HTML_502, content_type="text/html")
            response.headers["Via"] = "1.1 google"
            return response
        defaults = {
            401: ("401: Unauthorized", 0),
            403: ("Missing Access", 50001),
            404: ("Unknown Channel", 10003),
            500: ("500: Internal Server Error", 0),
        }
        default_message, default_code = defaults.get(status, (f"{status}: {HTTPStatus(status).phrase}", 0))
        code = default_code if fault.code is None else fault.code
        body = {"message": fault.message or default_message, "code": code}
        return self._finish(record, status, body, self._ratelimit_headers(route, bucket))

    def _finish(self, record: Request, status: int, body: Any, headers: dict[str, str]) -> web.Response:
        record.status = status
        record.response = body
        self._record(record)
        if status == 204 or body is None:
            response = web.Response(status=status)
        else:
            # Exactly "application/json": discord.py compares the header verbatim, so a charset would make
            # it treat every answer as text.
            raw = json.dumps(body, separators=(",", ":")).encode()
            response = web.Response(status=status, body=raw, content_type="application/json")
        response.headers.update(headers)
        response.headers["Via"] = "1.1 google"
        return response

    def _drop(self, request: web.Request, record: Request) -> web.Response:
        record.dropped = True
        self._record(record)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    def _record(self, record: Request) -> None:
        self.requests.append(record)
        self._notify()

    # -- REST handlers --------------------------------------------------------------------------------------

    async def _get_me(self, record: Request, params: dict[str, str]) -> Reply:
        return (200, self.bot_user)

    async def _get_gateway(self, record: Request, params: dict[str, str]) -> Reply:
        return (200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, record: Request, params: dict[str, str]) -> Reply:
        limit = {"total": 1000, "remaining": 1000 - self.identify_count, "reset_after": 86_400_000}
        limit["max_concurrency"] = 1
        return (200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_application(self, record: Request, params: dict[str, str]) -> Reply:
        return (200, self._application())

    def _check_application(self, params: dict[str, str]) -> int | None:
        if params["application_id"] != str(self._application_id):
            raise ApiError(403, "Missing Access", 50001)
        guild_id = params.get("guild_id")
        if guild_id is None:
            return None
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None or not guild.present:
            raise ApiError(403, "Missing Access", 50001)
        return guild.id

    async def _get_commands(self, record: Request, params: dict[str, str]) -> Reply:
        scope = self._check_application(params)
        return (200, self._commands.get(scope, []))

    async def _put_commands(self, record: Request, params: dict[str, str]) -> Reply:
        scope = self._check_application(params)
        payload = record.json
        if not isinstance(payload, list):
            raise _field_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        _validate_commands(payload)
        if scope is None:
            self.command_puts.append(payload)
        self._commands[scope] = [self._command(c, scope) for c in payload]
        return (200, self._commands[scope])

    async def _post_command(self, record: Request, params: dict[str, str]) -> Reply:
        scope = self._check_application(params)
        if not isinstance(record.json, dict):
            raise _field_error((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        _validate_commands([record.json])
        command = self._command(record.json, scope)
        existing = [c for c in self._commands.get(scope, []) if c["name"] != command["name"]]
        self._commands[scope] = [*existing, command]
        return (201, command)

    def _command(self, payload: JSONDict, scope: int | None) -> JSONDict:
        command: JSONDict = {
            "id": str(self._command_id(scope, payload["name"])),
            "application_id": str(self._application_id),
            "version": str(self._snowflake()),
            "default_member_permissions": payload.get("default_member_permissions"),
            "type": payload.get("type", 1),
            "name": payload["name"],
            "name_localizations": payload.get("name_localizations"),
            "description": payload.get("description", ""),
            "description_localizations": payload.get("description_localizations"),
            "dm_permission": payload.get("dm_permission", True),
            "contexts": payload.get("contexts"),
            "integration_types": payload.get("integration_types", [0]),
            "nsfw": payload.get("nsfw", False),
        }
        if payload.get("options"):
            command["options"] = payload["options"]
        if scope is not None:
            command["guild_id"] = str(scope)
        return command

    def _writable_channel(self, channel_id: str, *, files: bool = False) -> _Guild:
        cid = int(channel_id) if channel_id.isdigit() else 0
        guild = self._channel_guild(cid)
        if guild is None or cid in self._deleted_channels:
            raise ApiError(404, "Unknown Channel", 10003)
        permissions = self._bot_permissions(guild)
        if not guild.present or not permissions & VIEW_CHANNEL:
            raise ApiError(403, "Missing Access", 50001)
        if not permissions & SEND_MESSAGES or (files and not permissions & ATTACH_FILES):
            raise ApiError(403, "Missing Permissions", 50013)
        return guild

    async def _get_channel(self, record: Request, params: dict[str, str]) -> Reply:
        cid = int(params["channel_id"]) if params["channel_id"].isdigit() else 0
        guild = self._channel_guild(cid)
        if guild is None or cid in self._deleted_channels:
            raise ApiError(404, "Unknown Channel", 10003)
        if not guild.present:
            raise ApiError(403, "Missing Access", 50001)
        return (200, self._channel(guild, cid, with_guild=True))

    async def _post_typing(self, record: Request, params: dict[str, str]) -> Reply:
        self._writable_channel(params["channel_id"])
        return (204, None)

    async def _post_channel_message(self, record: Request, params: dict[str, str]) -> Reply:
        guild = self._writable_channel(params["channel_id"], files=bool(record.files))
        payload = _validate_message(record.json, record.files)
        if not self._bot_permissions(guild) & EMBED_LINKS:
            payload = {**payload, "embeds": []}  # Discord drops embeds silently without Embed Links
        stored = self._store(
            int(params["channel_id"]), "channel", payload, record.files, author=self.bot_user
        )
        return (200, stored.data)

    async def _post_crosspost(self, record: Request, params: dict[str, str]) -> Reply:
        """Publish a message of an announcement channel to the servers following it: 10 an hour per
        channel (Discord's limit), the message must be in that channel, and only once."""
        guild = self._writable_channel(params["channel_id"])
        cid = int(params["channel_id"])
        if cid not in guild.news:
            raise ApiError(400, "Cannot execute action on this channel type", 50024)
        message = next(
            (m for m in self.messages if str(m.id) == params["message_id"] and m.channel_id == cid), None
        )
        if message is None:
            raise ApiError(404, "Unknown Message", 10008)
        if int(message.data.get("flags", 0)) & 1:
            raise ApiError(400, "This message has already been crossposted.", 40033)
        now = time.monotonic()
        recent = [at for at in self._crossposts.get(cid, []) if now - at < 3600]
        if len(recent) >= self.crosspost_limit:
            raise _Limited(3600 - (now - recent[0]))
        self._crossposts[cid] = [*recent, now]
        message.data["flags"] = int(message.data.get("flags", 0)) | 1
        return (200, message.data)

    async def _post_callback(self, record: Request, params: dict[str, str]) -> Reply:
        interaction = self._live_interaction(params["interaction_id"], params["interaction_token"])
        if interaction.callback_type is not None:
            raise ApiError(400, "Interaction has already been acknowledged.", 40060)
        body = record.json if isinstance(record.json, dict) else {}
        kind = body.get("type")
        data = body.get("data") or {}
        interaction_type = int(interaction.sent.payload["type"])
        if interaction_type == 4:  # autocomplete: only a result (8) is accepted, and no message is made
            if kind != 8:
                raise ApiError(400, "Interaction has already been acknowledged.", 40060)
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise _field_error(
                    ("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for number, choice in enumerate(choices):
                if not 1 <= len(str(choice.get("name", ""))) <= 100:
                    message = "Must be between 1 and 100 in length."
                    raise _field_error(("data", "choices", number, "name"), "BASE_TYPE_BAD_LENGTH", message)
            interaction.callback_type = 8
            interaction.replies.append(
                InteractionReply("callback", record.method, record.path, body, record.files, record.at, None)
            )
            self._notify()
            return self._callback_answer(record, interaction, 8, None)
        if kind in (6, 7) and interaction_type == 3 and interaction.message is not None:
            # a button press answered by editing the message the button is on (7), or deferring it (6)
            interaction.callback_type = int(kind)
            message = interaction.message
            if kind == 7:
                edit = _validate_message(data, record.files, edit=True)
                if "embeds" in edit:
                    message.data["embeds"] = _normalise_embeds(
                        edit["embeds"] or [], message.data["attachments"]
                    )
                if "content" in edit:
                    message.data["content"] = edit["content"] or ""
                if "components" in edit:
                    message.data["components"] = edit["components"] or []
                message.payload = {**message.payload, **edit}
                message.data["edited_timestamp"] = _iso(time.time())
            interaction.replies.append(
                InteractionReply(
                    "callback", record.method, record.path, body, record.files, record.at, message
                )
            )
            self._notify()
            return self._callback_answer(record, interaction, int(kind), message)
        if kind == 4:
            payload = _validate_message(data, record.files)
            message_type = 20
        elif kind == 5:
            payload = {"content": "", "flags": 128 | (int(data.get("flags", 0)) & 64)}
            message_type = 20
        else:
            allowed = "{4, 5, 6, 7}" if interaction_type == 3 else "{4, 5}"
            raise _field_error(
                ("type",), "BASE_TYPE_CHOICES", f"Value must be one of {allowed} here, not {kind}."
            )
        interaction.callback_type = int(kind)
        original = self._store(
            interaction.channel_id,
            "interaction",
            payload,
            record.files,
            author=self.bot_user,
            message_type=message_type,
            interaction=interaction,
        )
        interaction.original = original
        reply = InteractionReply(
            "callback", record.method, record.path, body, record.files, record.at, original
        )
        interaction.replies.append(reply)
        if record.query.get("with_response") not in ("1", "true", "True"):
            return (204, None)
        callback = {
            "interaction": {
                "id": str(interaction.sent.id),
                "type": int(interaction.sent.payload["type"]),
                "response_message_id": str(original.id),
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(original.flags & 64),
            },
            "resource": {"type": kind, "message": original.data},
        }
        return (200, callback)

    @staticmethod
    def _callback_answer(
        record: Request, interaction: _Interaction, kind: int, message: StoredMessage | None
    ) -> Reply:
        """204, or with ?with_response=true the interaction callback response Discord returns."""
        if record.query.get("with_response") not in ("1", "true", "True"):
            return (204, None)
        answer: JSONDict = {"id": str(interaction.sent.id), "type": int(interaction.sent.payload["type"])}
        resource: JSONDict = {"type": kind}
        if message is not None:
            answer["response_message_id"] = str(message.id)
            answer["response_message_loading"] = False
            answer["response_message_ephemeral"] = bool(message.flags & 64)
            if kind == 7:
                resource["message"] = message.data
        return (200, {"interaction": answer, "resource": resource})

    def _live_interaction(self, interaction_id: str, token: str) -> _Interaction:
        record = self._interactions.get(int(interaction_id)) if interaction_id.isdigit() else None
        if record is None or record.sent.token != token:
            raise ApiError(404, "Unknown interaction", 10062)
        if (
            self.interaction_deadline is not None
            and record.callback_type is None
            and record.delivered_at is not None
            and time.monotonic() - record.delivered_at > self.interaction_deadline
        ):
            raise ApiError(404, "Unknown interaction", 10062)
        return record

    def _interaction_by_token(self, webhook_id: str, token: str) -> _Interaction | None:
        if webhook_id != str(self._application_id):
            return None
        return next((i for i in self._interactions.values() if i.sent.token == token), None)

    async def _get_webhook(self, record: Request, params: dict[str, str]) -> Reply:
        self._check_incoming_webhook(params)
        return (200, self._webhook_object())

    def _check_incoming_webhook(self, params: dict[str, str]) -> None:
        if params["webhook_id"] != str(self.webhook_id):
            raise ApiError(404, "Unknown Webhook", 10015)
        if params["webhook_token"] != self.webhook_token:
            raise ApiError(401, "Invalid Webhook Token", 50027)

    def _webhook_object(self) -> JSONDict:
        return {
            "application_id": None,
            "avatar": None,
            "channel_id": str(self.webhook_channel_id),
            "guild_id": None,
            "id": str(self.webhook_id),
            "name": self.webhook_name,
            "type": 1,
            "token": self.webhook_token,
        }

    async def _post_webhook(self, record: Request, params: dict[str, str]) -> Reply:
        wait = record.query.get("wait", "false").lower() in ("1", "true")
        interaction = self._interaction_by_token(params["webhook_id"], params["webhook_token"])
        if interaction is not None:
            if interaction.callback_type is None:
                raise ApiError(404, "Unknown Webhook", 10015)
            payload = _validate_message(record.json, record.files)
            stored = self._store(
                interaction.channel_id,
                "followup",
                payload,
                record.files,
                author=self.bot_user,
                interaction=interaction,
            )
            reply = InteractionReply(
                "followup", record.method, record.path, payload, record.files, record.at, stored
            )
            interaction.replies.append(reply)
            return (200, stored.data) if wait else (204, None)
        self._check_incoming_webhook(params)
        payload = _validate_message(record.json, record.files)
        author = {
            "id": str(self.webhook_id),
            "username": str(payload.get("username") or self.webhook_name),
            "avatar": None,
            "discriminator": "0000",
            "public_flags": 0,
            "flags": 0,
            "bot": True,
            "global_name": None,
            "clan": None,
            "primary_guild": None,
        }
        stored = self._store(self.webhook_channel_id, "webhook", payload, record.files, author=author)
        stored.data["webhook_id"] = str(self.webhook_id)
        return (200, stored.data) if wait else (204, None)

    def _webhook_message(self, params: dict[str, str]) -> tuple[_Interaction | None, StoredMessage]:
        interaction = self._interaction_by_token(params["webhook_id"], params["webhook_token"])
        if interaction is None:
            self._check_incoming_webhook(params)
        mid = params["message_id"]
        if interaction is not None and mid == "@original":
            if interaction.original is None:
                raise ApiError(404, "Unknown Webhook", 10015)
            return interaction, interaction.original
        source = "webhook" if interaction is None else None
        for message in self.messages:
            if str(message.id) == mid and (source is None or message.source == source):
                return interaction, message
        raise ApiError(404, "Unknown Message", 10008)

    async def _get_wh_message(self, record: Request, params: dict[str, str]) -> Reply:
        _, message = self._webhook_message(params)
        return (200, message.data)

    async def _patch_wh_message(self, record: Request, params: dict[str, str]) -> Reply:
        interaction, message = self._webhook_message(params)
        body = record.json if isinstance(record.json, dict) else {}
        _validate_message(body, record.files, edit=True)
        keep_ids = {str(a.get("id")) for a in body.get("attachments", []) if isinstance(a, dict)}
        attachments = message.data["attachments"]
        if "attachments" in body:
            attachments = [a for a in attachments if a["id"] in keep_ids]
        attachments = attachments + self._attachments(message.channel_id, body, record.files)
        message.payload = {**message.payload, **body}
        message.files = {**message.files, **record.files}
        data = message.data
        if "content" in body:
            data["content"] = body["content"] or ""
        if "embeds" in body:
            data["embeds"] = _normalise_embeds(body["embeds"] or [], attachments)
        data["attachments"] = attachments
        data["flags"] = int(data.get("flags", 0)) & ~128
        data["edited_timestamp"] = _iso(time.time())
        if interaction is not None:
            interaction.replies.append(
                InteractionReply(
                    "followup", record.method, record.path, body, record.files, record.at, message
                )
            )
        return (200, data)

    async def _delete_wh_message(self, record: Request, params: dict[str, str]) -> Reply:
        _, message = self._webhook_message(params)
        self.messages.remove(message)
        return (204, None)

    # -- messages -------------------------------------------------------------------------------------------

    def _attachments(self, channel_id: int, payload: JSONDict, files: dict[str, bytes]) -> list[JSONDict]:
        described = {
            a.get("filename"): a
            for a in payload.get("attachments", []) or []
            if isinstance(a, dict) and "id" in a
        }
        out = []
        for filename, content in files.items():
            attachment_id = self._snowflake()
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
            item: JSONDict = {
                "id": str(attachment_id),
                "filename": filename,
                "size": len(content),
                "url": f"{url}?ex=0&is=0&hm=0&",
                "proxy_url": f"{url.replace('cdn.discordapp.com', 'media.discordapp.net')}?ex=0&is=0&hm=0&",
                "content_type": _content_type(filename, content),
            }
            size = _png_size(content)
            if size is not None:
                item["width"], item["height"] = size
                item["placeholder"] = "fake"
                item["placeholder_version"] = 1
            description = described.get(filename, {}).get("description")
            if description:
                item["description"] = description
            out.append(item)
        return out

    def _store(
        self,
        channel_id: int,
        source: Literal["channel", "webhook", "interaction", "followup"],
        payload: JSONDict,
        files: dict[str, bytes],
        *,
        author: JSONDict,
        message_type: int = 0,
        interaction: _Interaction | None = None,
    ) -> StoredMessage:
        message_id = self._snowflake()
        attachments = self._attachments(channel_id, payload, files)
        data: JSONDict = {
            "id": str(message_id),
            "type": message_type,
            "channel_id": str(channel_id),
            "author": author,
            "content": payload.get("content") or "",
            "embeds": _normalise_embeds(payload.get("embeds") or [], attachments),
            "attachments": attachments,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(payload.get("tts", False)),
            "timestamp": _iso(time.time()),
            "edited_timestamp": None,
            "flags": int(payload.get("flags") or 0),
            "components": payload.get("components") or [],
        }
        if payload.get("nonce") is not None:
            data["nonce"] = payload["nonce"]
        if interaction is not None:
            data["application_id"] = str(self._application_id)
            data["webhook_id"] = str(self._application_id)
            metadata: JSONDict = {
                "id": str(interaction.sent.id),
                "type": int(interaction.sent.payload["type"]),
                "user": interaction.user,
                "authorizing_integration_owners": interaction.sent.payload["authorizing_integration_owners"],
                "name": interaction.sent.payload["data"].get("name", ""),
                "command_type": 1,
            }
            if source == "followup" and interaction.original is not None:
                metadata["original_response_message_id"] = str(interaction.original.id)
            data["interaction_metadata"] = metadata
            data["interaction"] = {
                "id": str(interaction.sent.id),
                "type": int(interaction.sent.payload["type"]),
                "name": interaction.sent.payload["data"].get("name", ""),
                "user": interaction.user,
            }
        stored = StoredMessage(message_id, channel_id, source, payload, dict(files), data, time.monotonic())
        self.messages.append(stored)
        self._notify()
        return stored


# -- module helpers -----------------------------------------------------------------------------------------


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(400, "The request body contains invalid JSON.", 50109) from None


def _png_size(content: bytes) -> tuple[int, int] | None:
    if content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", content[16:24])
    return int(width), int(height)


def _content_type(filename: str, content: bytes) -> str:
    if _png_size(content) is not None:
        return "image/png"
    if filename.endswith(".txt"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def _normalise_embeds(embeds: list[JSONDict], attachments: list[JSONDict]) -> list[JSONDict]:
    """Embeds as Discord echoes them: typed "rich", and `attachment://` images resolved to the upload."""
    by_name = {a["filename"]: a for a in attachments}
    out = []
    for embed in embeds:
        item = json.loads(json.dumps(embed))
        item.setdefault("type", "rich")
        for field_ in item.get("fields", []):
            field_.setdefault("inline", False)
        for key in ("image", "thumbnail"):
            url = str((item.get(key) or {}).get("url", ""))
            if url.startswith("attachment://") and url[len("attachment://") :] in by_name:
                attachment = by_name[url[len("attachment://") :]]
                item[key] = {
                    "url": attachment["url"],
                    "proxy_url": attachment["proxy_url"],
                    "width": attachment.get("width", 0),
                    "height": attachment.get("height", 0),
                    "content_type": attachment["content_type"],
                    "flags": 0,
                }
        out.append(item)
    return out


def _validate_message(payload: Any, files: dict[str, bytes], *, edit: bool = False) -> JSONDict:
    """Discord's checks on a message body: lengths, embed limits, emptiness, upload size."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise _field_error((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    for filename, blob in files.items():
        if len(blob) > ATTACHMENT_SIZE_LIMIT:
            raise ApiError(413, "Request entity too large", 40005)
        if not filename:
            raise _field_error(("files",), "BASE_TYPE_REQUIRED", "This field is required")
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        raise _field_error(("content",), "BASE_TYPE_STRING", "Must be a string.")
    if content and len(content) > 2000:
        raise _field_error(("content",), "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        raise _field_error(("embeds",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    limits = {"title": 256, "description": 4096}
    for index, embed in enumerate(embeds):
        for key, limit in limits.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                message = f"Must be {limit} or fewer in length."
                raise _field_error(("embeds", index, key), "BASE_TYPE_MAX_LENGTH", message)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise _field_error(
                ("embeds", index, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for number, item in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                text = str(item.get(key) or "")
                total += len(text)
                if not text:
                    raise _field_error(
                        ("embeds", index, "fields", number, key),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                if len(text) > limit:
                    raise _field_error(
                        ("embeds", index, "fields", number, key),
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
        footer = str((embed.get("footer") or {}).get("text") or "")
        author = str((embed.get("author") or {}).get("name") or "")
        total += len(footer) + len(author)
        if len(footer) > 2048:
            message = "Must be 2048 or fewer in length."
            raise _field_error(("embeds", index, "footer", "text"), "BASE_TYPE_MAX_LENGTH", message)
    if total > 6000:
        raise _field_error(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    has_body = content or embeds or files or payload.get("sticker_ids") or payload.get("poll")
    if not edit and not has_body and not payload.get("components"):
        raise ApiError(400, "Cannot send an empty message", 50006)
    return payload


def _validate_commands(payload: list[Any]) -> None:
    """The checks Discord makes on a bulk overwrite of application commands."""
    if len(payload) > 100:
        raise _field_error((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(payload):
        if not isinstance(command, dict):
            raise _field_error((index,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        kind = int(command.get("type", 1))
        name = str(command.get("name", ""))
        if not _NAME_RE.match(name) or (kind == 1 and name != name.lower()):
            raise _field_error((index, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if (kind, name) in seen:
            message = "Application command names must be unique"
            raise _field_error((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", message)
        seen.add((kind, name))
        if kind == 1:
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 100:
                message = "Must be between 1 and 100 in length."
                raise _field_error((index, "description"), "BASE_TYPE_BAD_LENGTH", message)
        options = command.get("options") or []
        if len(options) > 25:
            raise _field_error((index, "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        optional_seen = False
        for number, option in enumerate(options):
            where: tuple[str | int, ...] = (index, "options", number)
            if not _NAME_RE.match(str(option.get("name", ""))):
                raise _field_error(
                    (*where, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            if not 1 <= len(str(option.get("description", ""))) <= 100:
                message = "Must be between 1 and 100 in length."
                raise _field_error((*where, "description"), "BASE_TYPE_BAD_LENGTH", message)
            if option.get("required") and optional_seen:
                raise _field_error(
                    (*where, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
            optional_seen = optional_seen or not option.get("required")
            if len(option.get("choices") or []) > 25:
                message = "Must be 25 or fewer in length."
                raise _field_error((*where, "choices"), "BASE_TYPE_MAX_LENGTH", message)
