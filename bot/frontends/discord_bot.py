"""Discord front-end: slash commands from the shared table, embeds, chart attachments, channel alerts."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import time
from collections import OrderedDict
from typing import Any

import discord
import httpx
import sqlite_utils
import yarl
from discord.http import Route

from bot.core.clock import Clock, utcnow
from bot.core.config import Settings
from bot.delivery.worker import OutMessage, SendResult, SendStatus
from bot.frontends.gate import Gate, Gated
from bot.frontends.ratelimit import ChatRateLimiter
from bot.render.charts import render_png_async
from bot.render.text import to_markdown
from bot.words.reply import Context, Reply
from handlers.lang_command import chat_lang
from handlers.table import COMMANDS, Command, run_command
from storage.lane import DbLane
from storage.meta import get_meta, set_meta

log = logging.getLogger(__name__)

_COLORS = {
    "calm": 0x2ECC71,
    "tight": 0xF1C40F,
    "breach": 0xE74C3C,
    "warning": 0xE67E22,
    "error": 0x95A5A6,
    "info": 0x3498DB,
}
_COMMANDS_HASH_KEY = "discord_commands_hash"
_URL_CACHE = 32
_STRING_OPTION = 3
# Commands that change a channel's subscriptions are hidden from members without Manage Channels
# (server admins can still grant them per role in Server Settings > Integrations).
_ADMIN_PERMISSIONS = str(discord.Permissions(manage_channels=True).value)


def point_at(settings: Settings) -> None:
    """Send discord.py's REST calls and gateway connection where the configuration says."""
    Route.BASE = settings.discord_api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def command_payload() -> list[dict[str, Any]]:
    """The slash command definitions, straight from the command table."""
    payload: list[dict[str, Any]] = []
    for command in COMMANDS.values():
        if command.hidden:
            continue
        options = []
        for param in command.params:
            option: dict[str, Any] = {
                "type": _STRING_OPTION,
                "name": param.name,
                "description": param.description[:100],
                "required": param.required,
            }
            if param.choices:
                option["choices"] = [{"name": c, "value": c} for c in param.choices[:25]]
            options.append(option)
        entry: dict[str, Any] = {
            "type": 1,
            "name": command.name,
            "description": command.help[:100],
            "options": options,
        }
        if command.changes_subscriptions:
            entry["default_member_permissions"] = _ADMIN_PERMISSIONS
        payload.append(entry)
    return payload


def payload_hash(payload: list[dict[str, Any]], application_id: int) -> str:
    """What was registered, and for which bot: a database moved to another bot registers again."""
    keyed = {"application_id": application_id, "commands": payload}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()


def to_embed(reply: Reply) -> discord.Embed:
    """An embed: title, levels and spreads as fields, free text as the description, date in the footer."""
    embed = discord.Embed(
        title=reply.title[:256],
        description=to_markdown(reply.blocks)[:4000] or None,
        colour=_COLORS.get(reply.level, _COLORS["info"]),
    )
    for name, value in reply.fields[:25]:
        embed.add_field(name=name[:256], value=f"`{value}`"[:1024], inline=True)
    if reply.as_of:
        embed.set_footer(text=reply.as_of[:2048])
    return embed


def arguments(command: Command, options: list[dict[str, Any]]) -> list[str]:
    """Slash options back to the positional arguments the shared handlers take."""
    given = {str(o.get("name")): str(o.get("value", "")) for o in options if isinstance(o, dict)}
    args: list[str] = []
    for param in command.params:
        value = given.get(param.name, "").strip()
        if value:
            args.extend(value.split())
    return args


class PlumblineClient(discord.Client):
    """A discord.py client that answers interactions itself, from the shared command table."""

    def __init__(self, frontend: DiscordFrontend) -> None:
        # guild_ready_timeout: no member lists to wait for; be ready soon after the last GUILD_CREATE.
        super().__init__(intents=discord.Intents(guilds=True), guild_ready_timeout=0.5)
        self.frontend = frontend

    async def setup_hook(self) -> None:
        await self.frontend.sync_commands(self)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.frontend.on_interaction(interaction)


class DiscordFrontend(Gated):
    """Owns the discord.py client; started in the background so a failed login never blocks the bot."""

    def __init__(
        self,
        settings: Settings,
        db: sqlite_utils.Database,
        *,
        clock: Clock = utcnow,
        limiter: ChatRateLimiter | None = None,
        lane: DbLane | None = None,
    ) -> None:
        if not settings.discord_bot_token:
            raise ValueError("DiscordFrontend needs DISCORD_BOT_TOKEN")
        point_at(settings)
        self.settings = settings
        self.db = db
        self.lane = lane or DbLane(db)
        self._owns_lane = lane is None
        self.clock = clock
        self.gate = Gate(settings, limiter)
        self.client = PlumblineClient(self)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in (REST) now, so a bad token fails loudly here; then run the gateway in the background."""
        assert self.settings.discord_bot_token
        await self.client.login(self.settings.discord_bot_token)
        self._task = asyncio.create_task(self._connect(), name="discord-gateway")

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("discord: gateway connection ended: %s; Telegram and the poller keep running", exc)

    async def wait_ready(self, within: float = 30.0) -> None:
        await asyncio.wait_for(self.client.wait_until_ready(), within)

    async def stop(self) -> None:
        await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._owns_lane:
            self.lane.close()

    async def sync_commands(self, client: discord.Client) -> None:
        """Register the slash commands only when the table changed since the last sync; never in on_ready."""
        if client.application_id is None:
            return
        payload = command_payload()
        digest = payload_hash(payload, client.application_id)
        if get_meta(self.db, _COMMANDS_HASH_KEY) == digest:
            return
        await client.http.bulk_upsert_global_commands(client.application_id, payload)
        set_meta(self.db, _COMMANDS_HASH_KEY, digest)
        log.info("discord: %d slash commands registered", len(payload))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A slash command: run it through the table and answer with an embed (and a chart file)."""
        if interaction.type is not discord.InteractionType.application_command or not interaction.data:
            return
        data: dict[str, Any] = dict(interaction.data)
        command = COMMANDS.get(str(data.get("name", "")))
        if command is None:
            log.info("discord: ignoring unknown command %r", data.get("name"))
            return
        channel_id = interaction.channel_id or 0
        lang = chat_lang(
            self.db,
            "discord",
            str(channel_id),
            _locale(interaction.locale),
            _locale(interaction.guild_locale),
        )
        refusal = self.gate.check(
            "discord", str(channel_id), interaction.channel_id, interaction.guild_id, lang=lang
        )
        if refusal is not None:
            await interaction.response.send_message(refusal.text, ephemeral=True)
            return
        in_guild = interaction.guild_id is not None
        ctx = Context(
            platform="discord",
            chat_id=str(channel_id),
            user_id=str(interaction.user.id),
            now=self.clock(),
            is_group=in_guild,
            is_chat_admin=(not in_guild) or interaction.permissions.manage_channels,
            is_operator=self.gate.is_operator(interaction.user.id),
            lang=lang,
            tight_bp=self.settings.tight_bp,
            chat_title=getattr(interaction.channel, "name", "") or "",
        )
        args = arguments(command, list(data.get("options") or []))
        if command.slow:
            await interaction.response.defer(thinking=True)
            reply = await self.lane.run(lambda db: run_command(command, args, ctx, db))
            png = await render_png_async(reply.chart) if reply.chart is not None else None
            await interaction.followup.send(embed=self._embed(reply, png), **_file_kwargs(png))
            return
        reply = await self.lane.run(lambda db: run_command(command, args, ctx, db))
        await interaction.response.send_message(
            embed=self._embed(reply, None), ephemeral=reply.level == "error"
        )

    @staticmethod
    def _embed(reply: Reply, png: bytes | None) -> discord.Embed:
        embed = to_embed(reply)
        if png is not None:
            embed.set_image(url="attachment://chart.png")
        return embed


def _locale(locale: discord.Locale | None) -> str | None:
    """A Discord locale ("zh-TW", "en-US") as a plain tag."""
    return None if locale is None else str(getattr(locale, "value", locale))


def _file_kwargs(png: bytes | None) -> dict[str, Any]:
    return {"file": discord.File(io.BytesIO(png), filename="chart.png")} if png is not None else {}


def _result_for(exc: discord.HTTPException) -> SendResult:
    """Map a Discord error to what the delivery worker should do."""
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return SendResult(SendStatus.GONE, error=f"{exc.status} {exc.text or ''} (code {exc.code})".strip())
    if exc.status == 429:
        return SendResult(SendStatus.RETRY, retry_after=5.0, error="429 rate limited")
    if exc.status >= 500:
        return SendResult(SendStatus.RETRY, error=f"{exc.status} Discord server error")
    return SendResult(SendStatus.FAILED, error=f"{exc.status} {exc.text or ''}".strip())


class DiscordChannelSender:
    """Posts alerts and summaries to subscribed channels through the bot's REST client.

    A chart is uploaded once per fan-out: the first post attaches the PNG, and later posts of the same
    picture point their embed at the attachment's CDN URL. Discord signs those URLs for about a day,
    so one is reused for an hour at most.
    """

    platform = "discord"

    def __init__(self, frontend: DiscordFrontend, *, reuse_for: float = 3600.0) -> None:
        self.frontend = frontend
        self.reuse_for = reuse_for
        self.uploads = 0
        self._urls: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._uploading: dict[str, asyncio.Lock] = {}

    def _cached(self, digest: str) -> str | None:
        found = self._urls.get(digest)
        if found is None or time.monotonic() - found[1] > self.reuse_for:
            return None
        return found[0]

    async def send(self, address: str, message: OutMessage) -> SendResult:
        channel = self.frontend.client.get_partial_messageable(int(address))
        try:
            if message.png is None:
                await channel.send(embed=DiscordFrontend._embed(message.reply, None))
            else:
                await self._send_chart(channel, message.reply, message.png)
        except discord.HTTPException as exc:
            return _result_for(exc)
        except TimeoutError:
            return SendResult(SendStatus.UNCERTAIN, error="timed out waiting for Discord")
        except OSError as exc:
            return SendResult(SendStatus.RETRY, error=f"network: {type(exc).__name__}")
        return SendResult(SendStatus.SENT)

    async def _send_chart(self, channel: discord.PartialMessageable, reply: Reply, png: bytes) -> None:
        digest = hashlib.sha256(png).hexdigest()
        if await self._reuse(channel, reply, digest):
            return
        lock = self._uploading.setdefault(digest, asyncio.Lock())
        async with lock:  # one upload at a time per picture; the others wait, then reuse its URL
            if await self._reuse(channel, reply, digest):
                return
            sent = await channel.send(embed=DiscordFrontend._embed(reply, png), **_file_kwargs(png))
            self.uploads += 1
            if sent.attachments:
                self._urls[digest] = (sent.attachments[0].url, time.monotonic())
                while len(self._urls) > _URL_CACHE:
                    self._urls.popitem(last=False)
                self._uploading.pop(digest, None)

    async def _reuse(self, channel: discord.PartialMessageable, reply: Reply, digest: str) -> bool:
        url = self._cached(digest)
        if url is None:
            return False
        embed = to_embed(reply)
        embed.set_image(url=url)
        await channel.send(embed=embed)
        return True


class DiscordWebhookSender:
    """Webhook-only mode: alerts and summaries go to one channel's webhook URL, with no bot at all.

    Posted with httpx to the URL as configured (discord.py's Webhook would send to its own API base)."""

    platform = "discord_webhook"

    def __init__(self, settings: Settings, client: httpx.AsyncClient, timeout: float = 30.0) -> None:
        assert settings.discord_webhook_url
        self.url = settings.discord_webhook_url
        self.timeout = httpx.Timeout(timeout, connect=10.0)
        self._client = client  # the app's shared client, opened and closed by the app

    async def start(self) -> None:
        """Nothing to open: the shared client is the app's."""

    async def stop(self) -> None:
        """Nothing to close: the shared client is the app's."""

    async def send(self, address: str, message: OutMessage) -> SendResult:
        embed = DiscordFrontend._embed(message.reply, message.png).to_dict()
        payload = json.dumps({"embeds": [embed], "allowed_mentions": {"parse": []}})
        try:
            if message.png is not None:
                files = {"files[0]": ("chart.png", message.png, "image/png")}
                response = await self._client.post(
                    self.url,
                    params={"wait": "true"},
                    data={"payload_json": payload},
                    files=files,
                    timeout=self.timeout,
                )
            else:
                response = await self._client.post(
                    self.url,
                    params={"wait": "true"},
                    content=payload,
                    headers={"Content-Type": "application/json"},
                    timeout=self.timeout,
                )
        except httpx.TimeoutException:
            return SendResult(SendStatus.UNCERTAIN, error="timed out waiting for Discord")
        except httpx.HTTPError as exc:
            return SendResult(SendStatus.RETRY, error=f"network: {type(exc).__name__}")
        return _webhook_result(response)


def _webhook_result(response: httpx.Response) -> SendResult:
    status = response.status_code
    if status < 300:
        return SendResult(SendStatus.SENT)
    if status == 429:
        retry_after = _retry_after(response)
        return SendResult(SendStatus.RETRY, retry_after=retry_after, error="429 rate limited")
    if status in (401, 403, 404):
        return SendResult(SendStatus.GONE, error=f"{status}: the webhook was deleted or is invalid")
    if status >= 500:
        return SendResult(SendStatus.RETRY, error=f"{status} Discord server error")
    return SendResult(SendStatus.FAILED, error=f"{status} {response.text[:120]}")


def _retry_after(response: httpx.Response) -> float:
    try:
        body = response.json()
        return float(body.get("retry_after", 1.0))
    except (ValueError, AttributeError, TypeError):
        header = response.headers.get("Retry-After", "1")
        try:
            return float(header)
        except ValueError:
            return 1.0
