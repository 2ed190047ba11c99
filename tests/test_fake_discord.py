"""The Discord fake, driven by the real discord.py over loopback HTTP and a zlib-stream gateway."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
import warnings
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.discord import MANAGE_CHANNELS, FakeDiscord

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop (deprecated in 3.11) for voice, which nothing here uses.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord

GUILD = 111111111111111111
ALERTS = 222222222222222222
GENERAL = 222222222222222223
ADMIN = 333333333333333333
# A PNG signature and IHDR chunk for a 16x8 image: enough for Discord's width/height echo.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (16).to_bytes(4) + (8).to_bytes(4) + b"\x08\x02" + b"\x00" * 35


class Recorder(discord.Client):
    """A bare client that hands every interaction to a queue."""

    def __init__(self) -> None:
        # A short guild_ready_timeout: discord.py otherwise waits 2 s after the last GUILD_CREATE.
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.interactions: asyncio.Queue[discord.Interaction] = asyncio.Queue()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.interactions.put(interaction)


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, "Plumbing desk", [(ALERTS, "alerts"), (GENERAL, "general")], owner_id=ADMIN)
        fake.add_member(GUILD, 444, permissions=MANAGE_CHANNELS)
        with fake.patch_discord():
            yield fake


@pytest.fixture
async def client(dc: FakeDiscord) -> AsyncIterator[Recorder]:
    bot = Recorder()
    task: asyncio.Task[None] | None = None
    try:
        await bot.login(dc.token)
        task = asyncio.create_task(bot.connect())
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield bot
    finally:
        await bot.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_login_and_gateway_see_the_guild(dc: FakeDiscord, client: Recorder) -> None:
    assert client.user is not None and client.user.id == 900000000000000001
    assert client.application_id == dc.application_id
    guild = client.get_guild(GUILD)
    assert guild is not None and guild.name == "Plumbing desk"
    assert [c.name for c in guild.text_channels] == ["alerts", "general"]
    assert dc.gateway_queries[0] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert dc.identifies[0]["intents"] == discord.Intents.default().value
    assert dc.requests_to("GET /users/@me")[0].authorization == f"Bot {dc.token}"


async def test_bad_token_fails_login(dc: FakeDiscord) -> None:
    bot = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()
    assert dc.requests[-1].status == 401


async def test_slash_command_answered_with_an_embed(dc: FakeDiscord, client: Recorder) -> None:
    sent = await dc.dispatch_interaction("sofr", {"window": "90d"}, user_id=444)
    interaction = await asyncio.wait_for(client.interactions.get(), 5)
    assert interaction.id == sent.id and interaction.channel_id == ALERTS
    assert interaction.permissions.manage_channels and not interaction.permissions.administrator
    options = dict(interaction.data or {}).get("options")
    assert options == [{"name": "window", "type": 3, "value": "90d"}]

    await interaction.response.send_message(embed=discord.Embed(title="SOFR", description="5.31%"))
    reply = await dc.wait_for_response(sent.id, "callback")
    assert reply.type == 4
    assert reply.data["embeds"][0]["title"] == "SOFR"
    assert reply.message is not None and reply.message.embeds[0]["type"] == "rich"


async def test_defer_then_followup_with_a_chart(dc: FakeDiscord, client: Recorder) -> None:
    sent = await dc.dispatch_interaction("chart", {"series": "rrp"})
    interaction = await asyncio.wait_for(client.interactions.get(), 5)
    await interaction.response.defer(thinking=True)
    embed = discord.Embed(title="ON RRP").set_image(url="attachment://chart.png")
    chart = discord.File(io.BytesIO(PNG), "chart.png")
    message = await interaction.followup.send(embed=embed, file=chart, wait=True)

    assert (await dc.wait_for_response(sent.id, "callback")).type == 5
    followup = await dc.wait_for_response(sent.id, "followup")
    assert followup.files == {"chart.png": PNG}
    assert followup.data["attachments"] == [{"id": 0, "filename": "chart.png"}]
    assert message.attachments[0].width == 16 and message.embeds[0].image.height == 8

    # discord.py refuses a second response itself; the server would too.
    callback = f"{dc.api_base_url}/interactions/{sent.id}/{sent.token}/callback"
    async with aiohttp.ClientSession() as session, session.post(callback, json={"type": 5}) as resp:
        assert resp.status == 400 and (await resp.json())["code"] == 40060


async def test_command_sync_is_stored_and_counted(dc: FakeDiscord, client: Recorder) -> None:
    assert client.application_id is not None
    payload = [{"type": 1, "name": "sofr", "description": "SOFR vs the corridor", "options": []}]
    stored = await client.http.bulk_upsert_global_commands(client.application_id, payload)
    assert [c["name"] for c in stored] == ["sofr"] and len(dc.command_puts) == 1

    bad = [{"type": 1, "name": "sofr", "description": "x" * 101}]
    with pytest.raises(discord.HTTPException) as caught:
        await client.http.bulk_upsert_global_commands(client.application_id, bad)
    assert caught.value.code == 50035 and len(dc.command_puts) == 1
    assert dc.commands[0]["description"] == "SOFR vs the corridor"


async def test_channel_send_retries_a_429_then_stores_once(dc: FakeDiscord, client: Recorder) -> None:
    dc.fail_next("POST /channels", status=429, retry_after=0.3)
    started = time.monotonic()
    await client.get_partial_messageable(ALERTS).send(content="SOFR printed above IORB")
    assert time.monotonic() - started >= 0.3
    assert [m.content for m in dc.channel_messages(ALERTS)] == ["SOFR printed above IORB"]
    assert [r.status for r in dc.requests_to(f"/channels/{ALERTS}/messages")] == [429, 200]


async def test_forbidden_surfaces_with_discords_code(dc: FakeDiscord, client: Recorder) -> None:
    dc.fail_next(f"/channels/{GENERAL}/messages", status=403)
    with pytest.raises(discord.Forbidden) as caught:
        await client.get_partial_messageable(GENERAL).send(content="hello")
    assert caught.value.code == 50001 and dc.channel_messages(GENERAL) == []

    with pytest.raises(discord.NotFound) as missing:
        await client.get_partial_messageable(999).send(content="hello")
    assert missing.value.code == 10003


async def test_incoming_webhook_send(dc: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.from_url(dc.webhook_url, session=session)
        message = await webhook.send(content="Reserves fell below $3T", wait=True)
    assert message.content == "Reserves fell below $3T" and message.webhook_id == dc.webhook_id
    assert [m.content for m in dc.webhook_messages()] == ["Reserves fell below $3T"]


async def test_gateway_close_resumes_and_replays_missed_events(dc: FakeDiscord, client: Recorder) -> None:
    dc.disconnect_clients()
    sent = await dc.dispatch_interaction("status")  # queued in the session while nobody is connected
    interaction = await asyncio.wait_for(client.interactions.get(), 10)
    assert interaction.id == sent.id
    assert dc.resume_count == 1 and dc.identify_count == 1

    # Session timed out: RESUME gets INVALID_SESSION; discord.py identifies again after its own 5 s pause.
    await dc.close_gateway(4009)
    await dc.wait_ready(timeout=15)
    assert dc.identify_count == 2
    sent = await dc.dispatch_interaction("status")
    assert (await asyncio.wait_for(client.interactions.get(), 5)).id == sent.id


async def test_crossposting_follows_discords_rules(dc: FakeDiscord, client: Recorder) -> None:
    """Only in an announcement channel, once per message, and 10 an hour per channel (then a 429)."""
    await dc.make_announcement_channel(ALERTS)
    await dc.wait_until(lambda: client.get_channel(ALERTS).is_news(), 5)  # type: ignore[union-attr]
    channel = client.get_channel(ALERTS)
    assert isinstance(channel, discord.TextChannel) and channel.is_news()
    plain = await client.get_partial_messageable(GENERAL).send("not news")
    with pytest.raises(discord.HTTPException) as wrong_type:
        await plain.publish()
    assert wrong_type.value.code == 50024
    news = client.get_partial_messageable(ALERTS)
    first = await news.send("SOFR above the ceiling")
    await first.publish()
    with pytest.raises(discord.HTTPException) as twice:
        await first.publish()
    assert twice.value.code == 40033
    for n in range(9):
        await (await news.send(f"alert {n}")).publish()
    assert len(dc.crossposted(ALERTS)) == 10
    client.http.max_ratelimit_timeout = 5.0  # an hour's wait raises instead of sleeping
    eleventh = await news.send("alert 10")
    with pytest.raises(discord.RateLimited) as limited:
        await eleventh.publish()
    assert limited.value.retry_after > 3500
    assert len(dc.crossposted(ALERTS)) == 10 and dc.requests_to("/crosspost")[-1].status == 429
