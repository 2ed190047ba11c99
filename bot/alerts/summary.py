"""Daily summaries: what each subscriber gets at their local time, queued once per chat and local day."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.core.clock import iso_utc
from bot.core.series import CATALOG
from bot.market.episodes import open_episodes as open_episode_starts
from bot.market.levels import TGA_TARGET_BN
from bot.market.snapshot import Snapshot, read_snapshot
from bot.words.fmt import bp, pct, usd_bn, usd_bn_delta, weekday_date
from bot.words.messages import t
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from storage.chats import Subscription, daily_subscribers
from storage.observations import Point
from storage.outbox import add_event, enqueue, event_exists

log = logging.getLogger(__name__)

# A summary more than this late (the bot was down at the time) is skipped rather than sent at night.
LATE_LIMIT = timedelta(hours=3)


_EPISODE_WORDS = {"sofr_breach": "episode.sofr_breach", "srf_positive@0": "episode.srf"}


def open_episodes(db: sqlite_utils.Database, lang: str = "en") -> list[str]:
    """Episodes still open, in words."""
    return _episode_words(open_episode_starts(db), lang)


def _episode_words(starts: dict[str, str], lang: str) -> list[str]:
    return [t(_EPISODE_WORDS[rule], lang, since=since) for rule, since in starts.items()]


def daily_summary(
    db: sqlite_utils.Database, now: datetime, lang: str = "en", tight_bp: float = 5.0, day: date | None = None
) -> Reply:
    """The morning briefing: corridor, SRF, ON RRP, TGA, reserves, net liquidity and open episodes.

    day is the subscriber's local date (the title's date); New York's by default."""
    today = day or now.astimezone(ZoneInfo("America/New_York")).date()
    return summary_reply(read_snapshot(db), today, lang, tight_bp)


def summary_reply(snap: Snapshot, today: date, lang: str = "en", tight_bp: float = 5.0) -> Reply:
    """The briefing in words, from one snapshot of the gauges."""
    lines: list[str] = []
    c = snap.corridor
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
    if snap.srf is not None:
        lines.append(
            t(
                "daily.srf",
                lang,
                yesterday=usd_bn(snap.srf.value, 3),
                date=snap.srf.date,
                mtd=usd_bn(snap.srf_month_to_date, 3),
            )
        )
    else:
        lines.append(t("daily.missing", lang, name=CATALOG["srf"].name))
    lines.append(_amount_line(snap.rrp, "rrp", "daily.rrp", lang))
    if snap.tga is not None:
        vs = usd_bn_delta(snap.tga.value - TGA_TARGET_BN)
        lines.append(t("daily.tga", lang, amount=usd_bn(snap.tga.value), vs=vs, date=snap.tga.date))
    else:
        lines.append(t("daily.missing", lang, name=CATALOG["tga"].name))
    lines.append(_amount_line(snap.reserves, "reserves", "daily.reserves", lang))
    net = snap.net_liquidity
    if net is not None:
        week = snap.net_liquidity_week_change
        change = usd_bn_delta(week) if week is not None else "n/a"
        lines.append(t("daily.liquidity", lang, amount=usd_bn(net.value), change=change, date=net.date))
    else:
        lines.append(t("daily.missing", lang, name=CATALOG["net_liquidity"].name))
    episodes = _episode_words(snap.open_episodes, lang)
    lines.append(
        t("daily.open", lang, episodes="; ".join(episodes)) if episodes else t("daily.none_open", lang)
    )
    level = c.verdict(tight_bp) if c is not None and c.ceiling is not None else "info"
    return Reply(
        title=t("daily.title", lang, date=weekday_date(today.isoformat())),
        blocks=[Text("\n".join(lines))],
        level=level,
    )


def _amount_line(point: Point | None, series: str, key: str, lang: str) -> str:
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
    snap: Snapshot | None = None  # read once, and only if some summary is new
    for (local_day, zone, at, lang), chat_ids in groups.items():
        key = f"daily:{local_day}:{zone}:{at}:{lang}"
        with db.atomic():
            if not event_exists(db, key):
                snap = snap or read_snapshot(db)
                summary = summary_reply(snap, date.fromisoformat(local_day), lang)
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
