"""/status: how fresh every series is; operators also see source errors and internals."""

from __future__ import annotations

import sqlite_utils

from bot.core.clock import NEW_YORK, parse_iso_utc
from bot.market.freshness import series_status, source_status
from bot.words.fmt import ljust, pct, rjust, usd_bn
from bot.words.messages import t
from bot.words.reply import Context, Mono, Reply, Text, UsageError
from storage.chats import chat_counts
from storage.outbox import outbox_counts, recent_problems, uncertain_sends


def _et(stamp: str) -> str:
    """A stored UTC timestamp as New York time, the clock the markets run on."""
    return parse_iso_utc(stamp).astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M ET")


def _short(series: str, ctx: Context) -> str:
    return t(f"short.{series}", ctx.lang)


def status(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Freshness of every series and source."""
    rows = series_status(db, ctx.now)
    lines: list[str] = []
    stale: list[str] = []
    cols = 12 if ctx.lang == "zh-TW" else 9  # 9,259億美元 is 11 columns wide
    for row in rows:
        if row.date is None or row.value is None:
            lines.append(f"{ljust(_short(row.series, ctx), 13)} {'':>{cols}} {t('status.missing', ctx.lang)}")
            stale.append(t(f"series.{row.series}", ctx.lang))
            continue
        value = pct(row.value, lang=ctx.lang) if row.unit == "%" else usd_bn(row.value, lang=ctx.lang)
        mark = t("status.stale", ctx.lang) if row.stale else t("status.fresh", ctx.lang)
        lines.append(f"{ljust(_short(row.series, ctx), 13)} {rjust(value, cols)} {row.date} {mark}")
        if row.stale:
            stale.append(t(f"series.{row.series}", ctx.lang))
    reply = Reply(title=t("status.title", ctx.lang), blocks=[Mono(tuple(lines))])
    summary = (
        t("status.some_stale", ctx.lang, names=t("list.sep", ctx.lang).join(stale))
        if stale
        else t("status.all_fresh", ctx.lang)
    )
    reply.blocks.append(Text(summary))
    reply.level = "warning" if stale else "calm"
    source_lines: list[str] = []
    for src in source_status(db):
        if src.last is None:
            source_lines.append(t("status.source_never", ctx.lang, label=t(f"source.{src.source}", ctx.lang)))
        elif not src.degraded:
            source_lines.append(
                t(
                    "status.source_ok",
                    ctx.lang,
                    label=t(f"source.{src.source}", ctx.lang),
                    when=_et(src.last.started_at),
                )
            )
        elif ctx.is_operator:
            source_lines.append(
                t(
                    "status.source_error",
                    ctx.lang,
                    label=t(f"source.{src.source}", ctx.lang),
                    error=src.last.error,
                    failures=src.failures,
                )
            )
        else:
            since = _et(src.last_ok) if src.last_ok else t("status.startup", ctx.lang)
            source_lines.append(
                t("status.source_failing", ctx.lang, label=t(f"source.{src.source}", ctx.lang), when=since)
            )
        if src.degraded:
            reply.level = "warning"
    if ctx.is_operator:
        source_lines.append(_outbox_line(db, ctx))
    reply.blocks.append(Text("\n".join(source_lines)))
    return reply


def _outbox_line(db: sqlite_utils.Database, ctx: Context) -> str:
    counts = outbox_counts(db)
    parts = [
        t("status.outbox_count", ctx.lang, count=counts[k], state=t(f"outbox.{k}", ctx.lang))
        for k in ("pending", "sending", "uncertain", "failed", "dropped", "sent")
        if counts.get(k)
    ]
    line = t("status.outbox", ctx.lang, counts=", ".join(parts) or t("status.outbox_empty", ctx.lang))
    if not counts.get("uncertain"):
        return line
    rows = [t("status.uncertain", ctx.lang, count=counts["uncertain"], command="`plumbline outbox`")]
    for u in uncertain_sends(db, limit=5):
        rows.append(
            t(
                "status.uncertain_row",
                ctx.lang,
                platform=u.platform,
                chat=u.title or u.address,
                event=u.event_key,
                when=_et(u.created_at),
                reason=u.error,
            )
        )
    return "\n".join([line, *rows])


def admin(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Operators only: chats, subscriptions, the outbox and the latest delivery problems."""
    if not ctx.is_operator:
        return Reply(title=t("admin.refused", ctx.lang), level="error")
    if args:
        raise UsageError("/admin")
    total, active, subs = chat_counts(db)
    problems = recent_problems(db)
    lines = [
        t("admin.chats", ctx.lang, total=total, active=active),
        t("admin.subscriptions", ctx.lang, alerts=subs.get("alerts", 0), daily=subs.get("daily", 0)),
        _outbox_line(db, ctx),
    ]
    blocks: list[Text | Mono] = [Text("\n".join(lines))]
    if problems:
        blocks.append(Mono(tuple(f"{s:<9} {p}:{a}  {(e or '')[:60]}" for s, p, a, e in problems)))
    return Reply(title=t("admin.title", ctx.lang), blocks=blocks)
