"""Pieces every command reply shares: as-of lines, stale warnings, no-data answers."""

from __future__ import annotations

from datetime import date

import sqlite_utils

from bot.core.clock import NEW_YORK, ny_today, parse_iso_utc
from bot.core.series import CATALOG, NET_LIQUIDITY_INPUTS, UNTRACKED_SERIES
from bot.market.freshness import is_stale
from bot.sources.registry import SOURCES
from bot.sources.schedule import RELEASES, interval_for
from bot.words.fmt import pct, usd_bn
from bot.words.messages import t
from bot.words.reply import Context, Reply, Text
from storage.fetchlog import last_fetches
from storage.observations import Point, first_published, source_revised


def age_days(ctx: Context, point: Point) -> int:
    return (ny_today(ctx.now) - date.fromisoformat(point.date)).days


def stale_note(ctx: Context, series: str, point: Point) -> Text | None:
    """A plain warning when the release calendar expected a newer value by now (derived: see inputs)."""
    if series == "net_liquidity" or not is_stale(series, point.date, ctx.now, {}):
        return None  # net liquidity is stale through its inputs (with_staleness)
    days = age_days(ctx, point)
    release = RELEASES.get(series)
    weekly = release.weekly if release is not None else CATALOG[series].stale_after_days > 7
    cadence = t("cadence.weekly" if weekly else "cadence.daily", ctx.lang)
    return Text(t("stale", ctx.lang, name=t(f"series.{series}", ctx.lang), days=days, cadence=cadence))


def next_poll_text(db: sqlite_utils.Database, ctx: Context, source: str) -> str:
    """When the poller will next try the source (for a derived series, its inputs' sources)."""
    names = sorted({CATALOG[s].source for s in NET_LIQUIDITY_INPUTS}) if source == "derived" else [source]
    fetches = last_fetches(db)
    if any(name not in fetches for name in names):
        return t("next_poll.soon", ctx.lang)
    name, at = min(
        ((n, parse_iso_utc(fetches[n].started_at) + interval_for(n, ctx.now)) for n in names),
        key=lambda x: x[1],
    )
    label = t(f"source.{name}", ctx.lang) if name in SOURCES else name
    if at < ctx.now:
        at = ctx.now
    return t("next_poll.at", ctx.lang, source=label, time=at.astimezone(NEW_YORK).strftime("%H:%M"))


def no_data(db: sqlite_utils.Database, ctx: Context, series: str, title: str) -> Reply:
    """The reply for a series with nothing stored yet: say so, and when that will change."""
    info = CATALOG[series]
    text = t(
        "no_data",
        ctx.lang,
        name=t(f"series.{series}", ctx.lang),
        next_poll=next_poll_text(db, ctx, info.source),
    )
    return Reply(title=title, blocks=[Text(text)], level="warning")


def revised_notes(
    db: sqlite_utils.Database, ctx: Context, checks: list[tuple[str, Point | None]]
) -> list[Text]:
    """ "SOFR 2026-02-19: revised from 3.66% on 2026-02-20." for each shown value that was revised."""
    notes: list[Text] = []
    for series, point in checks:
        if point is None or series in UNTRACKED_SERIES:
            continue
        first = first_published(db, series, [point.date]).get(point.date)
        name = t(f"series.{series}", ctx.lang)
        if first is None:
            if point.date in source_revised(db, series, [point.date]):
                source = t(f"source.{CATALOG[series].source}", ctx.lang)
                notes.append(
                    Text(t("revised.by_source", ctx.lang, name=name, date=point.date, source=source))
                )
            continue
        old, at = first
        old_text = pct(old, lang=ctx.lang) if CATALOG[series].unit == "%" else usd_bn(old, 3, lang=ctx.lang)
        when = parse_iso_utc(at).astimezone(NEW_YORK).date().isoformat()
        notes.append(Text(t("revised", ctx.lang, name=name, date=point.date, old=old_text, when=when)))
    return notes


def with_staleness(
    db: sqlite_utils.Database, ctx: Context, reply: Reply, checks: list[tuple[str, Point | None]]
) -> Reply:
    """Say which shown values were revised; append a stale warning for each late series, and mark the reply.

    Net liquidity is late when one of its inputs is: it is named first, with the late inputs.
    """
    reply.blocks.extend(revised_notes(db, ctx, checks))
    notes: list[tuple[str, Text]] = []
    for series, point in checks:
        if point is None:
            continue
        note = stale_note(ctx, series, point)
        if note is not None:
            notes.append((series, note))
    late_inputs = [t(f"series.{s}", ctx.lang) for s, _ in notes if s in NET_LIQUIDITY_INPUTS]
    if any(series == "net_liquidity" for series, _ in checks) and late_inputs:
        names = t("list.sep", ctx.lang).join(late_inputs)
        notes.insert(0, ("net_liquidity", Text(t("stale.derived", ctx.lang, names=names))))
    for _, note in notes:
        reply.blocks.append(note)
        if reply.level in ("info", "calm"):
            reply.level = "warning"
    return reply
