"""Discord front-end: slash commands from the shared table, embeds, chart attachments, channel alerts."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import discord
import httpx
import sqlite_utils
import yarl
from discord.http import Route

from bot.core.clock import Clock, utcnow
from bot.core.config import Settings
from bot.delivery.worker import OutMessage, SendResult, SendStatus, never_sent
from bot.frontends.discord_tree import CatalogTranslator, build_tree, tree_payload
from bot.frontends.gate import Gate, Gated, Refusal
from bot.frontends.ratelimit import ChatRateLimiter
from bot.render.chart_process import with_chart
from bot.render.text import to_markdown
from bot.words.messages import t
from bot.words.reply import Context, Reply, Text
from handlers.lang_command import chat_lang
from handlers.table import COMMANDS, Command, parse_command, run_command
from storage.crossposts import forget_unpublished, note_unpublished, unpublished
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
_BUTTON_PREFIX = "plumbline:"


def point_at(settings: Settings) -> None:
    """Send discord.py's REST calls and gateway connection where the configuration says."""
    Route.BASE = settings.discord_api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


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


class CommandButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"plumbline:(?P<line>/.{1,90})",
):
    """A reply's button: its custom id carries the command line it runs, so it works after a restart."""

    def __init__(self, label: str, line: str) -> None:
        super().__init__(discord.ui.Button(label=label[:80], custom_id=f"{_BUTTON_PREFIX}{line}"))
        self.line = line

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CommandButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(label or "", match["line"])

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if isinstance(client, PlumblineClient):
            await client.frontend.on_button(interaction, self.line)


def to_view(reply: Reply) -> discord.ui.View | None:
    """The reply's buttons as a View (rows kept), or None when it has none."""
    rows = [row for row in reply.buttons if row][:5]
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(rows):
        for button in row[:5]:
            if len(button.command) <= 90:
                item = CommandButton(button.label, button.command)
                item.item.row = number
                view.add_item(item)
    return view


class PlumblineClient(discord.Client):
    """A discord.py client that answers interactions itself, from the shared command table."""

    def __init__(self, frontend: DiscordFrontend) -> None:
        # guild_ready_timeout: no member lists to wait for; be ready soon after the last GUILD_CREATE.
        # max_ratelimit_timeout: a limit of minutes (e.g. crossposts, 10 an hour) raises instead of sleeping.
        super().__init__(
            intents=discord.Intents(guilds=True), guild_ready_timeout=0.5, max_ratelimit_timeout=60.0
        )
        self.frontend = frontend
        self.tree = build_tree(self, frontend.invoke)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CommandButton)
        await self.tree.set_translator(CatalogTranslator())
        await self.frontend.sync_commands(self)


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

    async def sync_commands(self, client: PlumblineClient) -> None:
        """Register the slash commands only when the tree or the bot changed since the last sync; never in
        on_ready. The hash covers exactly what tree.sync() sends, translations included."""
        if client.application_id is None:
            return
        payload = await tree_payload(client.tree)
        digest = payload_hash(payload, client.application_id)
        if get_meta(self.db, _COMMANDS_HASH_KEY) == digest:
            return
        await client.tree.sync()
        set_meta(self.db, _COMMANDS_HASH_KEY, digest)
        log.info("discord: %d slash commands registered", len(payload))

    def _context(self, interaction: discord.Interaction, lang: str) -> Context:
        in_guild = interaction.guild_id is not None
        return Context(
            platform="discord",
            chat_id=str(interaction.channel_id or 0),
            user_id=str(interaction.user.id),
            now=self.clock(),
            is_group=in_guild,
            is_chat_admin=(not in_guild) or interaction.permissions.manage_channels,
            is_operator=self.gate.is_operator(interaction.user.id),
            lang=lang,
            tight_bp=self.settings.tight_bp,
            chat_title=getattr(interaction.channel, "name", "") or "",
        )

    def _admit(self, interaction: discord.Interaction) -> tuple[str, Refusal | None]:
        """The chat's language, and the gate's refusal (None: the command may run)."""
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
        return lang, refusal

    async def invoke(self, interaction: discord.Interaction, command: Command, args: list[str]) -> None:
        """A slash command from the tree: through the gate, then the table; answered with an embed."""
        lang, refusal = self._admit(interaction)
        if refusal is not None:
            # Always answered, privately: an interaction left unanswered shows "interaction failed".
            await interaction.response.send_message(refusal.text, ephemeral=True)
            return
        ctx = self._context(interaction, lang)
        if command.slow:
            await interaction.response.defer(thinking=True)
            reply, png = await with_chart(await self.lane.run(lambda db: run_command(command, args, ctx, db)))
            await interaction.followup.send(embed=self._embed(reply, png), **_file_kwargs(png))
            return
        reply = await self.lane.run(lambda db: run_command(command, args, ctx, db))
        await interaction.response.send_message(
            embed=self._embed(reply, None), ephemeral=reply.level == "error", **_view_kwargs(reply)
        )

    async def on_button(self, interaction: discord.Interaction, line: str) -> None:
        """A button: its command runs through the gate and the table. A settings button edits its own
        message into the new settings; a refusal is shown to the clicker alone; others answer anew."""
        lang, refusal = self._admit(interaction)
        if refusal is not None:
            # Always answered, privately: an interaction left unanswered shows "interaction failed".
            await interaction.response.send_message(refusal.text, ephemeral=True)
            return
        ctx = self._context(interaction, lang)
        parsed = parse_command(line)
        command = COMMANDS.get(parsed.name) if parsed is not None else None
        if parsed is None or command is None:
            return
        reply = await self.lane.run(lambda db: run_command(command, parsed.args, ctx, db))
        if reply.level == "error":
            await interaction.response.send_message(embed=self._embed(reply, None), ephemeral=True)
            return
        if command.changes_subscriptions:
            settings = await self.lane.run(lambda db: run_command(COMMANDS["settings"], [], ctx, db))
            embed = self._embed(settings, None)
            embed.description = f"**{reply.title}**\n\n{embed.description or ''}".strip()[:4000]
            await interaction.response.edit_message(embed=embed, view=to_view(settings))
            return
        if command.slow:
            await interaction.response.defer(thinking=True)
            reply, png = await with_chart(reply)
            await interaction.followup.send(embed=self._embed(reply, png), **_file_kwargs(png))
            return
        await interaction.response.send_message(embed=self._embed(reply, None), **_view_kwargs(reply))

    @staticmethod
    def _embed(reply: Reply, png: bytes | None) -> discord.Embed:
        embed = to_embed(reply)
        if png is not None:
            embed.set_image(url="attachment://chart.png")
        return embed


def _locale(locale: discord.Locale | None) -> str | None:
    """A Discord locale ("zh-TW", "en-US") as a plain tag."""
    return None if locale is None else str(getattr(locale, "value", locale))


def _view_kwargs(reply: Reply) -> dict[str, Any]:
    view = to_view(reply)
    return {"view": view} if view is not None else {}


def _file_kwargs(png: bytes | None) -> dict[str, Any]:
    return {"file": discord.File(io.BytesIO(png), filename="chart.png")} if png is not None else {}


def _result_for(exc: discord.HTTPException) -> SendResult:
    """Map a Discord error to what the delivery worker should do."""
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return SendResult(SendStatus.GONE, error=f"{exc.status} {exc.text or ''} (code {exc.code})".strip())
    if exc.status == 429:
        return SendResult(SendStatus.THROTTLED, retry_after=5.0, error="429 rate limited")
    if exc.status >= 500:
        return SendResult(SendStatus.RETRY, error=f"{exc.status} Discord server error")
    return SendResult(SendStatus.FAILED, error=f"{exc.status} {exc.text or ''}".strip())


class DiscordChannelSender:
    """Posts alerts and summaries to subscribed channels through the bot's REST client.

    A chart is uploaded once per fan-out: the first post attaches the PNG, and later posts of the same
    picture point their embed at the attachment's CDN URL. Discord signs those URLs for about a day,
    so one is reused for an hour at most.

    In an announcement channel (type 5) each post is also published (crossposted) to the servers that
    follow it, at most `publish_limit` an hour per channel as Discord allows. Posts beyond that stay in
    the channel unpublished; their titles are kept and listed in that channel's next daily summary,
    which is published itself when the hour's budget allows.
    """

    platform = "discord"

    def __init__(
        self,
        frontend: DiscordFrontend,
        *,
        reuse_for: float = 3600.0,
        publish_limit: int = 10,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.frontend = frontend
        self.reuse_for = reuse_for
        self.publish_limit = publish_limit
        self.uploads = 0
        self.published = 0
        self._monotonic = monotonic
        self._urls: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._uploading: dict[str, asyncio.Lock] = {}
        self._publishes: dict[int, deque[float]] = {}

    def _cached(self, digest: str) -> str | None:
        found = self._urls.get(digest)
        if found is None or time.monotonic() - found[1] > self.reuse_for:
            return None
        return found[0]

    def _is_announcement(self, channel_id: int) -> bool:
        channel = self.frontend.client.get_channel(channel_id)
        return isinstance(channel, discord.TextChannel) and channel.is_news()

    async def send(self, address: str, message: OutMessage) -> SendResult:
        channel_id = int(address)
        channel = self.frontend.client.get_partial_messageable(channel_id)
        announcement = self._is_announcement(channel_id)
        reply = message.reply
        if announcement and message.event_key.startswith("daily:"):
            reply = await self._with_unpublished(address, reply)
        try:
            if message.png is None:
                sent = await channel.send(embed=DiscordFrontend._embed(reply, None))
            else:
                sent = await self._send_chart(channel, reply, message.png)
        except discord.HTTPException as exc:
            return _result_for(exc)
        except TimeoutError:
            return SendResult(SendStatus.UNCERTAIN, error="timed out waiting for Discord")
        except OSError as exc:
            return SendResult(SendStatus.RETRY, error=f"network: {type(exc).__name__}")
        if announcement:
            if reply is not message.reply:
                await self.frontend.lane.run(lambda db: forget_unpublished(db, address))
            await self._publish(address, sent, message.reply.title)
        return SendResult(SendStatus.SENT)

    async def _with_unpublished(self, address: str, reply: Reply) -> Reply:
        titles = await self.frontend.lane.run(lambda db: unpublished(db, address))
        if not titles:
            return reply
        lang = await self.frontend.lane.run(lambda db: chat_lang(db, "discord", address, None, None))
        note = Text(t("discord.unpublished", lang, titles="; ".join(titles)))
        return dataclasses.replace(reply, blocks=[*reply.blocks, note])

    async def _publish(self, address: str, sent: discord.Message, title: str) -> None:
        """Crosspost within the hourly budget; past it (or when Discord says so) keep the title instead.
        The post itself is delivered either way, so nothing here fails the delivery."""
        now = self._monotonic()
        recent = self._publishes.setdefault(sent.channel.id, deque())
        while recent and now - recent[0] >= 3600.0:
            recent.popleft()
        if len(recent) >= self.publish_limit:
            await self._note(address, title)
            return
        try:
            await sent.publish()
        except discord.RateLimited:
            await self._note(address, title)
            return
        except discord.HTTPException as exc:
            if exc.status == 429:
                await self._note(address, title)
            else:
                log.warning("discord: could not publish in channel %s: %s", address, exc)
            return
        recent.append(now)
        self.published += 1

    async def _note(self, address: str, title: str) -> None:
        await self.frontend.lane.run(lambda db: note_unpublished(db, address, title))

    async def _send_chart(
        self, channel: discord.PartialMessageable, reply: Reply, png: bytes
    ) -> discord.Message:
        digest = hashlib.sha256(png).hexdigest()
        reused = await self._reuse(channel, reply, digest)
        if reused is not None:
            return reused
        lock = self._uploading.setdefault(digest, asyncio.Lock())
        async with lock:  # one upload at a time per picture; the others wait, then reuse its URL
            reused = await self._reuse(channel, reply, digest)
            if reused is not None:
                return reused
            sent = await channel.send(embed=DiscordFrontend._embed(reply, png), **_file_kwargs(png))
            self.uploads += 1
            if sent.attachments:
                self._urls[digest] = (sent.attachments[0].url, time.monotonic())
                while len(self._urls) > _URL_CACHE:
                    self._urls.popitem(last=False)
                self._uploading.pop(digest, None)
            return sent

    async def _reuse(
        self, channel: discord.PartialMessageable, reply: Reply, digest: str
    ) -> discord.Message | None:
        url = self._cached(digest)
        if url is None:
            return None
        embed = to_embed(reply)
        embed.set_image(url=url)
        return await channel.send(embed=embed)


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
        except httpx.HTTPError as exc:
            if never_sent(exc):
                return SendResult(SendStatus.RETRY, error=f"not sent: {type(exc).__name__}")
            # Read timeout or connection lost after the request went out: the post may have landed.
            return SendResult(SendStatus.UNCERTAIN, error=f"no answer from Discord ({type(exc).__name__})")
        return _webhook_result(response)


def _webhook_result(response: httpx.Response) -> SendResult:
    status = response.status_code
    if status < 300:
        return SendResult(SendStatus.SENT)
    if status == 429:
        retry_after = _retry_after(response)
        return SendResult(SendStatus.THROTTLED, retry_after=retry_after, error="429 rate limited")
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
