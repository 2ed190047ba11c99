"""/revisions [series]: recent changes to published values, newest first."""

from __future__ import annotations

from datetime import timedelta

import sqlite_utils

from bot.core.clock import NEW_YORK, iso_utc, parse_iso_utc
from bot.core.series import CATALOG, UNTRACKED_SERIES
from bot.words.fmt import pct, usd_bn
from bot.words.messages import t
from bot.words.reply import Context, Mono, Reply, Text, UsageError
from storage.observations import revisions as stored_revisions

# Every tracked series id works too (sofr_p99, srf_rate, ...); these are the ones people ask for.
REVISIONS_USAGE = "/revisions [sofr|effr|iorb|range|rrp|tga|reserves|assets]"
# How far back /revisions looks, and how many it lists.
REVISIONS_DAYS = 90
REVISIONS_SHOWN = 15
_ALIASES = {"assets": "fed_assets", "upper": "fed_upper", "lower": "fed_lower", "range": "fed_upper"}
REVISABLE: tuple[str, ...] = tuple(s for s in CATALOG if s not in UNTRACKED_SERIES)


def value_text(series: str, value: float, lang: str) -> str:
    """A value in its series' unit, as replies show it."""
    return pct(value, lang=lang) if CATALOG[series].unit == "%" else usd_bn(value, 3, lang=lang)


def revised_on(stamp: str) -> str:
    """The New York date a revision was recorded."""
    return parse_iso_utc(stamp).astimezone(NEW_YORK).date().isoformat()


def revisions_command(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """The values revised in the last 90 days, for every series or one."""
    if len(args) > 1:
        raise UsageError(REVISIONS_USAGE)
    series: str | None = None
    if args:
        name = args[0].lower()
        series = _ALIASES.get(name, name)
        if series not in REVISABLE:
            raise UsageError(REVISIONS_USAGE)
    since = iso_utc(ctx.now - timedelta(days=REVISIONS_DAYS))
    found = stored_revisions(db, series, since)
    label = t(f"series.{series}", ctx.lang) if series else t("revisions.all", ctx.lang)
    reply = Reply(title=t("revisions.title", ctx.lang, series=label))
    if not found:
        reply.blocks.append(Text(t("revisions.none", ctx.lang, days=REVISIONS_DAYS)))
        return reply
    lines = [
        t(
            "revisions.line",
            ctx.lang,
            short=t(f"short.{name}", ctx.lang),
            date=day,
            old=value_text(name, old, ctx.lang),
            new=value_text(name, new, ctx.lang),
            when=revised_on(at),
        )
        for name, day, old, new, at in found[:REVISIONS_SHOWN]
    ]
    reply.blocks.append(Mono(tuple(lines)))
    more = len(found) - REVISIONS_SHOWN
    reply.blocks.append(Text(t("revisions.count", ctx.lang, count=len(found), days=REVISIONS_DAYS)))
    if more > 0:
        reply.blocks.append(Text(t("revisions.more", ctx.lang, more=more)))
    return reply
