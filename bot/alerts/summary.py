"""Daily summaries: what each subscriber gets at their local time, queued once per chat and local day."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.core.clock import iso_utc
from bot.core.series import CATALOG
from bot.market.readings import changes, corridor_on, total_between
from bot.market.thesis import read_thesis
from bot.words.fmt import bp, pct, usd_bn, usd_bn_delta, weekday_date
from bot.words.messages import t
from bot.words.payload import reply_to_json
from bot.words.reply import Block, Reply, Text
from handlers.market_commands import TGA_TARGET_BN
from handlers.thesis_command import calendar_note, settlements_by_day, verdict_line
from storage.auctions import auctions_between
from storage.chats import Subscription, daily_subscribers
from storage.marks import load_marks
from storage.observations import latest
from storage.outbox import add_event, enqueue, event_exists

log = logging.getLogger(__name__)

# A summary more than this late (the bot was down at the time) is skipped rather than sent at night.
LATE_LIMIT = timedelta(hours=3)


def open_episodes(db: sqlite_utils.Database, lang: str = "en") -> list[str]:
    """Episodes still open, from the alert marks: a trailing run of flagged days or operations."""
    found: list[str] = []
    for rule, key in (("sofr_breach", "episode.sofr_breach"), ("srf_positive@0", "episode.srf")):
        marks = sorted(load_marks(db, rule).values(), key=lambda m: m.ord)
        run = []
        for mark in reversed(marks):
            if not mark.flag:
                break
            run.append(mark)
        if run:
            since = run[-1].ord.split("|", 1)[0]
            found.append(t(key, lang, since=since))
    return found


def daily_summary(
    db: sqlite_utils.Database, now: datetime, lang: str = "en", tight_bp: float = 5.0, day: date | None = None
) -> Reply:
    """The morning briefing: corridor, SRF, ON RRP, TGA, reserves, net liquidity and open episodes.

    day is the subscriber's local date (the title's date); New York's by default."""
    today = day or now.astimezone(ZoneInfo("America/New_York")).date()
    lines: list[str] = []
    c = corridor_on(db)
    if c is not None and c.ceiling is not None:
        verdict = c.verdict(tight_bp)
        lines.append(
            t(
                "daily.corridor",
                lang,
                date=c.date,
                sofr=pct(c.sofr),
                ceiling=pct(c.ceiling),
                spread=bp(c.spread_bp(c.sofr, c.ceiling)),
                verdict=t(f"verdict.{verdict}", lang),
            )
        )
    else:
        lines.append(t("daily.missing", lang, name="SOFR"))
    srf = latest(db, "srf")
    if srf is not None:
        month_start = date.fromisoformat(srf.date).replace(day=1).isoformat()
        mtd, _ = total_between(db, "srf", month_start, srf.date)
        lines.append(t("daily.srf", lang, yesterday=usd_bn(srf.value, 3), date=srf.date, mtd=usd_bn(mtd, 3)))
    else:
        lines.append(t("daily.missing", lang, name=CATALOG["srf"].name))
    lines.append(_amount_line(db, "rrp", "daily.rrp", lang))
    tga = latest(db, "tga")
    if tga is not None:
        vs = usd_bn_delta(tga.value - TGA_TARGET_BN)
        lines.append(t("daily.tga", lang, amount=usd_bn(tga.value), vs=vs, date=tga.date))
    else:
        lines.append(t("daily.missing", lang, name=CATALOG["tga"].name))
    lines.append(_amount_line(db, "reserves", "daily.reserves", lang))
    net = latest(db, "net_liquidity")
    if net is not None:
        week = changes(db, "net_liquidity", net, {"1w": 7})
        change = usd_bn_delta(week[0].delta) if week else "n/a"
        lines.append(t("daily.liquidity", lang, amount=usd_bn(net.value), change=change, date=net.date))
    else:
        lines.append(t("daily.missing", lang, name=CATALOG["net_liquidity"].name))
    episodes = open_episodes(db, lang)
    lines.append(
        t("daily.open", lang, episodes="; ".join(episodes)) if episodes else t("daily.none_open", lang)
    )
    level = c.verdict(tight_bp) if c is not None and c.ceiling is not None else "info"
    blocks: list[Block] = [Text("\n".join(lines))]
    chain = _chain_lines(db, today, lang)
    if chain:
        blocks.append(Text("\n".join(chain)))
    return Reply(
        title=t("daily.title", lang, date=weekday_date(today.isoformat())),
        blocks=blocks,
        level=level,
    )


def _chain_lines(db: sqlite_utils.Database, today: date, lang: str) -> list[str]:
    """The thesis verdict, the day's auctions and settlements, and what kind of day it is."""
    lines: list[str] = []
    verdict = verdict_line(read_thesis(db), lang)
    if verdict is not None:
        lines.append(t("daily.thesis", lang, verdict=verdict))
    iso = today.isoformat()
    held = [f"{a.security_term} {a.security_type}" for a in auctions_between(db, iso, iso)]
    if held:
        lines.append(t("daily.auctions_today", lang, list=", ".join(held)))
    settling = settlements_by_day(db, iso, iso).get(iso)
    if settling:
        lines.append(t("daily.settlements_today", lang, amount=usd_bn(settling)))
    note = calendar_note(db, today, lang)
    if note is not None:
        lines.append(t("daily.calendar", lang, text=note.text))
    return lines


def _amount_line(db: sqlite_utils.Database, series: str, key: str, lang: str) -> str:
    point = latest(db, series)
    if point is None:
        return t("daily.missing", lang, name=CATALOG[series].name)
    return t(key, lang, amount=usd_bn(point.value), date=point.date)


def due_date(subscription: Subscription, now: datetime) -> date | None:
    """The local date whose summary is due now for this subscription, or None."""
    zone = ZoneInfo(subscription.tz or "America/New_York")
    local = now.astimezone(zone)
    hour, minute = (int(x) for x in (subscription.daily_time or "08:30").split(":"))
    # Built from the local date and wall time, so the send follows DST shifts of that zone.
    scheduled = datetime(local.year, local.month, local.day, hour, minute, tzinfo=zone)
    if local < scheduled or local - scheduled > LATE_LIMIT:
        return None
    if local.weekday() >= 5 and not subscription.weekends:
        return None
    return local.date()


def enqueue_summaries(db: sqlite_utils.Database, now: datetime) -> int:
    """Queue every summary that is due. Chats sharing a schedule share one event; the outbox's unique
    (chat, event) key means each chat gets it once however often this runs."""
    stamp = iso_utc(now)
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for chat, subscription in daily_subscribers(db):
        day = due_date(subscription, now)
        if day is None or chat.muted(stamp):
            continue
        schedule = (day.isoformat(), subscription.tz or "", subscription.daily_time or "", chat.lang)
        groups.setdefault(schedule, []).append(chat.id)
    queued = 0
    for (local_day, zone, at, lang), chat_ids in groups.items():
        key = f"daily:{local_day}:{zone}:{at}:{lang}"
        with db.atomic():
            if not event_exists(db, key):
                summary = daily_summary(db, now, lang, day=date.fromisoformat(local_day))
                payload = reply_to_json(summary, chart="corridor 1m")
                add_event(
                    db,
                    key=key,
                    rule="daily",
                    kind="summary",
                    data_date=local_day,
                    audience=f"daily {zone} {at}",
                    payload=payload,
                    now=stamp,
                )
            queued += enqueue(db, chat_ids, key, stamp)
    if queued:
        log.info("daily: %d summaries queued", queued)
    return queued
