"""Subscriptions and alert settings: /subscribe, /unsubscribe, /settings, /threshold, /mute."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from zoneinfo import available_timezones

import sqlite_utils

from bot.core.clock import iso_utc
from bot.words.fmt import bp_plain, usd_bn
from bot.words.messages import t
from bot.words.reply import Button, Context, Reply, Text, UsageError
from storage.chats import (
    Chat,
    ensure_chat,
    set_muted_until,
    set_near_bp,
    set_srf_threshold,
    subscribe,
    subscriptions_of,
    unsubscribe,
)

SUBSCRIBE_USAGE = (
    "/subscribe alerts | /subscribe auctions | /subscribe daily [HH:MM] [Area/City] [weekdays|weekends]"
)
UNSUBSCRIBE_USAGE = "/unsubscribe [alerts|auctions|daily|all]"
THRESHOLD_USAGE = "/threshold srf <amount, e.g. 5B> | /threshold near <bp, e.g. 3bp | off>"
MUTE_USAGE = "/mute <30m|6h|2d|off>"

DEFAULT_DAILY_TIME = "08:30"
DEFAULT_ZONE = "America/New_York"
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
_ODD_ZONES = {"localtime", "Factory"}
# Abbreviations people type for a region's clock: a fixed offset that never follows daylight saving (EST,
# MST, HST), or a legacy rule zone (EST5EDT), or no zone at all (PST, ET). Each names the IANA zone to use.
_REGION_ZONES = {
    "EST": "America/New_York", "EDT": "America/New_York", "ET": "America/New_York",
    "EST5EDT": "America/New_York", "CST": "America/Chicago", "CDT": "America/Chicago",
    "CT": "America/Chicago", "CST6CDT": "America/Chicago", "MST": "America/Denver",
    "MDT": "America/Denver", "MT": "America/Denver", "MST7MDT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "PST8PDT": "America/Los_Angeles", "HST": "Pacific/Honolulu", "BST": "Europe/London",
    "CET": "Europe/Paris", "CEST": "Europe/Paris", "HKT": "Asia/Hong_Kong", "JST": "Asia/Tokyo",
}  # fmt: skip
_AMOUNT = re.compile(r"^(\d{1,4}(?:\.\d{1,3})?)\s*([bm]?)$", re.IGNORECASE)
_BP = re.compile(r"^(\d{1,3}(?:\.\d)?)\s*(bp|bps)?$", re.IGNORECASE)
_DURATION = re.compile(r"^(\d{1,4})\s*([mhd])$", re.IGNORECASE)
_MAX_MUTE = timedelta(days=30)


def _refuse(ctx: Context) -> Reply | None:
    """In a group, only its administrators may change what the chat receives."""
    if ctx.is_group and not ctx.is_chat_admin:
        key = "sub.need_admin_discord" if ctx.platform == "discord" else "sub.need_admin"
        return Reply(title=t(key, ctx.lang), level="error")
    return None


def _chat(ctx: Context, db: sqlite_utils.Database) -> Chat:
    return ensure_chat(
        db,
        ctx.platform,
        ctx.chat_id,
        title=ctx.chat_title,
        is_group=ctx.is_group,
        now=iso_utc(ctx.now),
        lang=ctx.lang,
    )


def threshold_text(billions: float, lang: str = "en") -> str:
    """'zero', '$5.0B', or '$0.050B' below a billion, so small thresholds read as set."""
    if billions == 0:
        return t("sub.zero", lang)
    return usd_bn(billions, 1 if billions >= 1 else 3, lang=lang)


def parse_time(value: str, lang: str = "en") -> str:
    match = _TIME.match(value.strip())
    if not match:
        raise UsageError(t("sub.bad_time", lang, value=value[:40]))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    """IANA zone names users may pick (not folders, not the server's 'localtime', not posix/ or right/)."""
    return frozenset(
        z for z in available_timezones() if not z.startswith(("posix", "right/")) and z not in _ODD_ZONES
    )


def parse_zone(value: str, lang: str = "en") -> str:
    name = value.strip()
    region = _REGION_ZONES.get(name.upper())
    if region is not None and name not in _zones():
        raise UsageError(t("sub.bad_zone_abbreviation", lang, value=name[:40], zone=region))
    if len(name) > 64 or name not in _zones():
        raise UsageError(t("sub.bad_zone", lang, value=name[:40]))
    return name


def zone_warning(zone: str, lang: str = "en") -> str | None:
    """For a zone that exists but is only an abbreviation (EST never follows daylight saving): what to use."""
    region = _REGION_ZONES.get(zone.upper())
    return None if region is None else t("sub.zone_abbreviation", lang, value=zone, zone=region)


def subscribe_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Subscribe this chat to alerts, or to a daily summary at a local time."""
    if not args or args[0].lower() not in ("alerts", "auctions", "daily"):
        raise UsageError(SUBSCRIBE_USAGE)
    refused = _refuse(ctx)
    if refused:
        return refused
    kind = args[0].lower()
    chat = _chat(ctx, db)
    now = iso_utc(ctx.now)
    if kind == "alerts":
        if len(args) > 1:
            raise UsageError(SUBSCRIBE_USAGE)
        subscribe(db, chat.id, "alerts", now=now)
        text = t("sub.alerts_on", ctx.lang, threshold=threshold_text(chat.srf_threshold, ctx.lang))
        return Reply(title=text, level="calm")
    if kind == "auctions":
        if len(args) > 1:
            raise UsageError(SUBSCRIBE_USAGE)
        subscribe(db, chat.id, "auctions", now=now)
        return Reply(title=t("sub.auctions_on", ctx.lang), level="calm")
    daily_time, zone, weekends = DEFAULT_DAILY_TIME, DEFAULT_ZONE, False
    rest = args[1:]
    if len(rest) > 3:
        raise UsageError(SUBSCRIBE_USAGE)
    seen: set[str] = set()
    for word in rest:
        lowered = word.lower()
        if lowered in ("weekends", "weekdays"):
            part = "weekends"
        else:
            part = "time" if ":" in word or word[:1].isdigit() else "zone"
        if part in seen:
            raise UsageError(SUBSCRIBE_USAGE)
        seen.add(part)
        if part == "weekends":
            weekends = lowered == "weekends"
        elif part == "time":
            daily_time = parse_time(word, ctx.lang)
        else:
            zone = parse_zone(word, ctx.lang)
    subscribe(db, chat.id, "daily", now=now, daily_time=daily_time, tz=zone, weekends=weekends)
    suffix = "" if weekends else t("sub.weekdays_only", ctx.lang)
    reply = Reply(title=t("sub.daily_on", ctx.lang, time=daily_time, tz=zone, weekends=suffix), level="calm")
    warning = zone_warning(zone, ctx.lang)
    if warning is not None:
        reply.blocks.append(Text(warning))
        reply.level = "warning"
    return reply


def unsubscribe_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Stop alerts, the daily summary, or both."""
    if len(args) > 1 or (args and args[0].lower() not in ("alerts", "auctions", "daily", "all")):
        raise UsageError(UNSUBSCRIBE_USAGE)
    refused = _refuse(ctx)
    if refused:
        return refused
    what = args[0].lower() if args else "all"
    chat = _chat(ctx, db)
    removed = unsubscribe(db, chat.id, None if what == "all" else what)
    key = "sub.off" if removed else "sub.nothing"
    return Reply(title=t(key, ctx.lang, what=t(f"what.{what}", ctx.lang)), level="info")


def threshold_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Set the SRF take-up alert threshold, or the near-ceiling alert distance."""
    if len(args) != 2 or args[0].lower() not in ("srf", "near"):
        raise UsageError(THRESHOLD_USAGE)
    refused = _refuse(ctx)
    if refused:
        return refused
    chat = _chat(ctx, db)
    which, value = args[0].lower(), args[1].strip()
    if which == "srf":
        match = _AMOUNT.match(value)
        if not match:
            raise UsageError(t("sub.bad_amount", ctx.lang, value=value[:40]))
        amount = float(match.group(1)) / (1000.0 if match.group(2).lower() == "m" else 1.0)
        set_srf_threshold(db, chat.id, amount)
        return Reply(
            title=t("sub.threshold_srf", ctx.lang, threshold=threshold_text(amount, ctx.lang)), level="calm"
        )
    if value.lower() == "off":
        set_near_bp(db, chat.id, None)
        return Reply(title=t("sub.threshold_near_off", ctx.lang), level="calm")
    match = _BP.match(value)
    if not match or not 0 < float(match.group(1)) <= 100:
        raise UsageError(t("sub.bad_bp", ctx.lang, value=value[:40]))
    distance = float(match.group(1))
    set_near_bp(db, chat.id, distance)
    return Reply(title=t("sub.threshold_near", ctx.lang, bp=bp_plain(distance, ctx.lang)), level="calm")


def mute_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Pause alerts and summaries for a while (at most 30 days), or resume them."""
    if len(args) != 1:
        raise UsageError(MUTE_USAGE)
    refused = _refuse(ctx)
    if refused:
        return refused
    chat = _chat(ctx, db)
    if args[0].lower() == "off":
        set_muted_until(db, chat.id, None)
        return Reply(title=t("sub.unmuted", ctx.lang), level="calm")
    match = _DURATION.match(args[0].strip())
    if not match:
        raise UsageError(t("sub.bad_duration", ctx.lang, value=args[0][:40]))
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2).lower()]
    span = timedelta(**{unit: int(match.group(1))})
    if span <= timedelta(0) or span > _MAX_MUTE:
        raise UsageError(t("sub.bad_duration", ctx.lang, value=args[0][:40]))
    until = ctx.now + span
    set_muted_until(db, chat.id, iso_utc(until))
    return Reply(title=t("sub.muted", ctx.lang, until=until.strftime("%Y-%m-%d %H:%M")), level="calm")


def settings_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """This chat's subscriptions and alert settings, with buttons to change them."""
    if args:
        raise UsageError("/settings")
    chat = _chat(ctx, db)
    subs = {s.kind: s for s in subscriptions_of(db, chat.id)}
    on, off = t("settings.on", ctx.lang), t("settings.off", ctx.lang)
    daily = subs.get("daily")
    daily_text = off
    if daily is not None:
        suffix = "" if daily.weekends else t("sub.weekdays_only", ctx.lang)
        daily_text = f"{daily.daily_time} {daily.tz}{suffix}"
    muted = chat.muted_until if chat.muted(iso_utc(ctx.now)) else None
    lines = [
        t("settings.alerts", ctx.lang, state=on if "alerts" in subs else off),
        t("settings.daily", ctx.lang, state=daily_text),
        t("settings.srf", ctx.lang, threshold=threshold_text(chat.srf_threshold, ctx.lang)),
        t(
            "settings.near",
            ctx.lang,
            near=bp_plain(chat.near_bp, ctx.lang) if chat.near_bp is not None else off,
        ),
        t("settings.auctions", ctx.lang, state=on if "auctions" in subs else off),
    ]
    if muted:
        lines.append(t("settings.muted", ctx.lang, until=muted.replace("T", " ").removesuffix("Z") + " UTC"))
    alerts_button = (
        Button(t("button.alerts_off", ctx.lang), "/unsubscribe alerts")
        if "alerts" in subs
        else Button(t("button.alerts_on", ctx.lang), "/subscribe alerts")
    )
    daily_button = (
        Button(t("button.daily_off", ctx.lang), "/unsubscribe daily")
        if daily
        else Button(t("button.daily_on", ctx.lang), "/subscribe daily 08:30 America/New_York")
    )
    mute_button = (
        Button(t("button.unmute", ctx.lang), "/mute off")
        if muted
        else Button(t("button.mute", ctx.lang), "/mute 6h")
    )
    return Reply(
        title=t("settings.title", ctx.lang),
        blocks=[Text("\n".join(lines))],
        buttons=[[alerts_button, daily_button], [mute_button]],
    )
