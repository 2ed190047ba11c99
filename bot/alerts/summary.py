"""Daily summaries: what each subscriber gets at their local time, queued once per chat and local day."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.core.clock import iso_utc, parse_iso_utc
from bot.market.episodes import open_episodes as open_episode_starts
from bot.market.levels import TGA_TARGET_BN
from bot.market.snapshot import Snapshot, read_snapshot
from bot.market.thesis import read_thesis
from bot.words.fmt import bp, pct, usd_bn, usd_bn_delta, weekday_date
from bot.words.messages import t
from bot.words.payload import reply_to_json
from bot.words.reply import Block, Reply, Text
from handlers.thesis_command import calendar_text, calendar_window, settlements_by_day, verdict_text
from storage.auctions import auctions_between
from storage.chats import Chat, Subscription, daily_due, set_next_daily
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
    return [
        t(_EPISODE_WORDS[rule], lang, since=since) for rule, since in starts.items() if rule in _EPISODE_WORDS
    ]


def _point(point: Point | None) -> dict[str, Any] | None:
    return None if point is None else {"value": point.value, "date": point.date}


def snapshot_facts(snap: Snapshot, today: date, tight_bp: float = 5.0) -> dict[str, Any]:
    """Everything the morning briefing says, as numbers and dates (JSON-ready): stored once with the
    event and put into words per chat language when it is sent."""
    facts: dict[str, Any] = {"day": today.isoformat(), "level": "info"}
    c = snap.corridor
    if c is not None and c.ceiling is not None:
        verdict = c.verdict(tight_bp)
        facts["corridor"] = {
            "date": c.date,
            "sofr": c.sofr,
            "ceiling": c.ceiling,
            "spread_bp": c.spread_bp(c.sofr, c.ceiling),
            "verdict": verdict,
        }
        facts["level"] = verdict
    if snap.srf is not None:
        facts["srf"] = {"value": snap.srf.value, "date": snap.srf.date, "mtd": snap.srf_month_to_date}
    facts["rrp"], facts["tga"], facts["reserves"] = _point(snap.rrp), _point(snap.tga), _point(snap.reserves)
    if snap.net_liquidity is not None:
        net = snap.net_liquidity
        delta = snap.net_liquidity_week_change
        facts["net_liquidity"] = {"value": net.value, "date": net.date, "delta": delta}
    facts["episodes"] = [[rule, since] for rule, since in snap.open_episodes.items()]
    return facts


def daily_summary(
    db: sqlite_utils.Database, now: datetime, lang: str = "en", tight_bp: float = 5.0, day: date | None = None
) -> Reply:
    """The morning briefing: corridor, SRF, ON RRP, TGA, reserves, net liquidity and open episodes.

    day is the subscriber's local date (the title's date); New York's by default."""
    today = day or now.astimezone(ZoneInfo("America/New_York")).date()
    return summary_reply(read_snapshot(db), today, lang, tight_bp, chain_facts(db, today))


def summary_reply(
    snap: Snapshot,
    today: date,
    lang: str = "en",
    tight_bp: float = 5.0,
    chain: dict[str, Any] | None = None,
) -> Reply:
    """The briefing in words, from one snapshot of the gauges (and the day's chain facts)."""
    facts = snapshot_facts(snap, today, tight_bp)
    if chain is not None:
        facts["chain"] = chain
    return daily_reply(facts, lang)


def daily_reply(facts: dict[str, Any], lang: str = "en") -> Reply:
    """The morning briefing in one language, from snapshot_facts()."""
    lines: list[str] = []
    c = facts.get("corridor")
    if c:
        lines.append(
            t(
                "daily.corridor",
                lang,
                date=c["date"],
                sofr=pct(c["sofr"], lang=lang),
                ceiling=pct(c["ceiling"], lang=lang),
                spread=bp(c["spread_bp"], lang=lang),
                verdict=t(f"verdict.{c['verdict']}", lang),
            )
        )
    else:
        lines.append(t("daily.missing", lang, name=t("series.sofr", lang)))
    srf = facts.get("srf")
    if srf:
        yesterday = usd_bn(srf["value"], 3, lang=lang)
        mtd = usd_bn(srf["mtd"], 3, lang=lang)
        lines.append(t("daily.srf", lang, yesterday=yesterday, date=srf["date"], mtd=mtd))
    else:
        lines.append(t("daily.missing", lang, name=t("series.srf", lang)))
    lines.append(_amount_line(facts, "rrp", "daily.rrp", lang))
    tga = facts.get("tga")
    if tga:
        vs = usd_bn_delta(tga["value"] - TGA_TARGET_BN, lang=lang)
        lines.append(t("daily.tga", lang, amount=usd_bn(tga["value"], lang=lang), vs=vs, date=tga["date"]))
    else:
        lines.append(t("daily.missing", lang, name=t("series.tga", lang)))
    lines.append(_amount_line(facts, "reserves", "daily.reserves", lang))
    net = facts.get("net_liquidity")
    if net:
        delta = net.get("delta")
        change = usd_bn_delta(delta, lang=lang) if delta is not None else t("na", lang)
        amount = usd_bn(net["value"], lang=lang)
        lines.append(t("daily.liquidity", lang, amount=amount, change=change, date=net["date"]))
    else:
        lines.append(t("daily.missing", lang, name=t("series.net_liquidity", lang)))
    episodes = _episode_words(dict(facts.get("episodes", [])), lang)
    if episodes:
        lines.append(t("daily.open", lang, episodes=t("list.semi", lang).join(episodes)))
    else:
        lines.append(t("daily.none_open", lang))
    blocks: list[Block] = [Text("\n".join(lines))]
    chain = _chain_lines(facts.get("chain"), date.fromisoformat(facts["day"]), lang)
    if chain:
        blocks.append(Text("\n".join(chain)))
    return Reply(
        title=t("daily.title", lang, date=weekday_date(facts["day"], lang=lang)),
        blocks=blocks,
        level=facts.get("level", "info"),
    )


def chain_facts(db: sqlite_utils.Database, today: date) -> dict[str, Any]:
    """The thesis verdict and the auction calendar for one local day, as JSON-ready facts."""
    iso = today.isoformat()
    thesis = read_thesis(db)
    return {
        "srf_days": thesis.srf_days,
        "held": [[a.security_term, a.security_type] for a in auctions_between(db, iso, iso)],
        "settlements": settlements_by_day(db, *calendar_window(today)),
    }


def _chain_lines(chain: dict[str, Any] | None, today: date, lang: str) -> list[str]:
    """The thesis verdict, the day's auctions and settlements, and what kind of day it is."""
    if not chain:
        return []
    lines: list[str] = []
    verdict = verdict_text(chain.get("srf_days"), lang)
    if verdict is not None:
        lines.append(t("daily.thesis", lang, verdict=verdict))
    held = [f"{term} {kind}" for term, kind in chain.get("held", [])]
    if held:
        lines.append(t("daily.auctions_today", lang, list=", ".join(held)))
    settlements: dict[str, float] = chain.get("settlements", {})
    settling = settlements.get(today.isoformat())
    if settling:
        lines.append(t("daily.settlements_today", lang, amount=usd_bn(settling, lang=lang)))
    text = calendar_text(today, settlements, lang)
    if text is not None:
        lines.append(t("daily.calendar", lang, text=text))
    return lines


def _amount_line(facts: dict[str, Any], series: str, key: str, lang: str) -> str:
    point = facts.get(series)
    if not point:
        return t("daily.missing", lang, name=t(f"series.{series}", lang))
    return t(key, lang, amount=usd_bn(point["value"], lang=lang), date=point["date"])


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


def due_at(subscription: Subscription, day: date) -> datetime:
    """The first instant (UTC) at which due_date says `day`'s summary is due: the local wall-clock time,
    the first of the two on an autumn repeat, the end of the gap when a spring change skips it."""
    zone = ZoneInfo(subscription.tz or "America/New_York")
    hour, minute = (int(x) for x in (subscription.daily_time or "08:30").split(":"))
    wall = datetime(day.year, day.month, day.day, hour, minute)
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    moment = min(first, wall.replace(tzinfo=zone, fold=1).astimezone(UTC))
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return moment


def next_look(subscription: Subscription, now: datetime, after_day: date | None = None) -> datetime:
    """When the scheduler next needs to look at a subscription: the next local day's summary time that is
    still ahead (after `after_day` when that day's summary is done)."""
    zone = ZoneInfo(subscription.tz or "America/New_York")
    today = now.astimezone(zone).date()
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if after_day is not None and day <= after_day:
            continue
        if day.weekday() >= 5 and not subscription.weekends:
            continue
        moment = due_at(subscription, day)
        if moment > now:
            return moment
    raise AssertionError("a daily summary is due within nine days")  # pragma: no cover


def _next_after(subscription: Subscription, chat: Chat, now: datetime, queued: date | None) -> datetime:
    """The next look after this minute's: tomorrow's time once today's is queued; the end of a mute that
    ends within the late limit; once a minute if the clock and due_date ever disagree inside the window."""
    day = due_date(subscription, now)
    if day is None:
        zone = ZoneInfo(subscription.tz or "America/New_York")
        today = now.astimezone(zone).date()
        start = due_at(subscription, today)
        weekday_ok = today.weekday() < 5 or subscription.weekends
        if weekday_ok and start <= now < start + LATE_LIMIT:
            return now + timedelta(minutes=1)
        return next_look(subscription, now)
    if queued is None and chat.muted_until is not None:
        until = parse_iso_utc(chat.muted_until)
        if until <= due_at(subscription, day) + LATE_LIMIT:
            return until
    return next_look(subscription, now, after_day=day)


def enqueue_summaries(db: sqlite_utils.Database, now: datetime) -> int:
    """Queue every summary that is due. Chats sharing a schedule share one event, whatever their languages
    (each chat's copy is put into its words at send time); the outbox's unique (chat, event) key means each
    chat gets it once however often this runs.

    One indexed read a minute: only subscriptions whose next look has come are read (each stores when
    that is), so a minute with nothing due costs the same at ten subscribers or ten thousand."""
    stamp = iso_utc(now)
    groups: dict[tuple[str, str, str], list[int]] = {}
    looks: list[tuple[int, str]] = []
    for chat, subscription in daily_due(db, stamp):
        day = due_date(subscription, now)
        queued = None
        if day is not None and not chat.muted(stamp):
            schedule = (day.isoformat(), subscription.tz or "", subscription.daily_time or "")
            groups.setdefault(schedule, []).append(chat.id)
            queued = day
        looks.append((chat.id, iso_utc(_next_after(subscription, chat, now, queued))))
    queued_count = 0
    if not looks:
        return 0  # a quiet minute: the one read above, and no transaction
    snap: Snapshot | None = None  # read once, and only if some summary is new
    chains: dict[str, dict[str, Any]] = {}  # per local day: the calendar depends on it
    with db.atomic():
        for (local_day, zone, at), chat_ids in groups.items():
            key = f"daily:{local_day}:{zone}:{at}"
            if not event_exists(db, key):
                snap = snap or read_snapshot(db)
                day = date.fromisoformat(local_day)
                facts = snapshot_facts(snap, day)
                if local_day not in chains:
                    chains[local_day] = chain_facts(db, day)
                facts["chain"] = chains[local_day]
                payload = reply_to_json(
                    daily_reply(facts), chart="spread 1m", render={"kind": "daily", "facts": facts}
                )
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
            queued_count += enqueue(db, chat_ids, key, stamp)
        set_next_daily(db, looks)
    if queued_count:
        log.info("daily: %d summaries queued", queued_count)
    return queued_count
