"""The market commands: /corridor, /srf, /sofr, /rrp, /tga, /reserves, /liquidity."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlite_utils

from bot.core.clock import NEW_YORK
from bot.core.models import Operation
from bot.market.levels import TGA_TARGET_BN
from bot.market.readings import (
    Corridor,
    changes,
    corridor_on,
    srf_day,
    sve_between,
)
from bot.market.thesis import MATERIAL_SRF_BN
from bot.words.fmt import bp, ljust, pct, rjust, usd_bn, usd_bn_delta, weekday_date, width
from bot.words.messages import t
from bot.words.reply import Button, Context, Mono, Reply, Text
from handlers.common import no_data, with_staleness
from storage.observations import Point, last_above, latest, record_high, total_between, value_on

_WEEK_MONTH = {"1w": 7, "1m": 30}


def _chart_button(ctx: Context, kind: str) -> list[list[Button]]:
    return [[Button(t("button.chart", ctx.lang), f"/chart {kind} 3m")]]


def _open(
    db: sqlite_utils.Database, ctx: Context, series: str, title_key: str, *, weekday: bool = True
) -> tuple[Point | None, Reply]:
    """The latest point of a series and a reply titled with its date, or (None, the no-data reply)."""
    point = latest(db, series)
    if point is None:
        return None, no_data(db, ctx, series, t(title_key, ctx.lang, date="?"))
    shown = weekday_date(point.date, lang=ctx.lang) if weekday else point.date
    return point, Reply(title=t(title_key, ctx.lang, date=shown), as_of=t("as_of", ctx.lang, date=point.date))


def ladder(c: Corridor, ctx: Context) -> Mono:
    """A text ladder of the corridor levels, highest first, with SOFR placed among them."""
    rungs: list[tuple[float, str, str]] = []
    if c.ceiling is not None:
        rungs.append((c.ceiling, "\u252c", t("ladder.ceiling", ctx.lang, label=t(c.ceiling_label, ctx.lang))))
    if c.iorb is not None:
        rungs.append((c.iorb, "\u2502", "IORB"))
    if c.effr is not None:
        rungs.append((c.effr, "\u2502", "EFFR"))
    if c.floor is not None:
        rungs.append((c.floor, "\u2534", t("ladder.floor", ctx.lang, label=t(c.floor_label, ctx.lang))))
    marker = "\u25cf"
    note = f"  {t('ladder.above', ctx.lang)}" if c.ceiling is not None and c.sofr > c.ceiling else ""
    rungs.append((c.sofr, marker, "SOFR" + note))
    # SOFR sorts above an equal level so a print at the ceiling shows on top of it.
    rungs.sort(key=lambda r: (r[0], r[1] == marker), reverse=True)
    return Mono(tuple(f"{level:5.2f} {mark} {label}" for level, mark, label in rungs))


def corridor(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Where SOFR sits in the fed funds corridor on the latest date, with spreads and a verdict."""
    c = corridor_on(db)
    if c is None:
        return no_data(db, ctx, "sofr", t("corridor.title", ctx.lang, date="?"))
    reply = Reply(
        title=t("corridor.title", ctx.lang, date=weekday_date(c.date, lang=ctx.lang)),
        as_of=t("as_of", ctx.lang, date=c.date),
    )
    reply.fields = [
        (t("corridor.ceiling", ctx.lang, label=t(c.ceiling_label, ctx.lang)), pct(c.ceiling, lang=ctx.lang)),
        (t("corridor.sofr", ctx.lang), pct(c.sofr, lang=ctx.lang)),
        (t("corridor.sofr_p99", ctx.lang), pct(c.sofr_p99, lang=ctx.lang)),
        (t("corridor.iorb", ctx.lang), pct(c.iorb, lang=ctx.lang)),
        (t("corridor.effr", ctx.lang), pct(c.effr, lang=ctx.lang)),
        (t("corridor.floor", ctx.lang, label=t(c.floor_label, ctx.lang)), pct(c.floor, lang=ctx.lang)),
        (t("corridor.spread.sofr_ceiling", ctx.lang), bp(c.spread_bp(c.sofr, c.ceiling), lang=ctx.lang)),
        (t("corridor.spread.sofr_iorb", ctx.lang), bp(c.spread_bp(c.sofr, c.iorb), lang=ctx.lang)),
        (t("corridor.spread.effr_iorb", ctx.lang), bp(c.spread_bp(c.effr, c.iorb), lang=ctx.lang)),
    ]
    if c.ceiling is None:
        reply.blocks.append(Text(t("corridor.no_ceiling", ctx.lang, date=c.date)))
    else:
        verdict = c.verdict(ctx.tight_bp)
        gap = bp(abs(c.sofr - c.ceiling) * 100, lang=ctx.lang).lstrip("+\u2212")
        reply.blocks.append(
            Text(
                t(
                    f"corridor.verdict.{verdict}",
                    ctx.lang,
                    gap=gap,
                    tight=bp(ctx.tight_bp, lang=ctx.lang).lstrip("+"),
                )
            )
        )
        reply.level = verdict
    reply.blocks.append(ladder(c, ctx))
    if c.effr is not None and c.ceiling is not None and c.effr > c.ceiling + 1e-9:
        reply.blocks.append(
            Text(
                t(
                    "corridor.effr_above",
                    ctx.lang,
                    effr=pct(c.effr, lang=ctx.lang),
                    ceiling=pct(c.ceiling, lang=ctx.lang),
                )
            )
        )
    if c.effr_date is not None and c.effr_date != c.date:
        reply.blocks.append(Text(t("corridor.effr_lag", ctx.lang, date=c.effr_date)))
    reply.buttons = _chart_button(ctx, "corridor")
    return with_staleness(db, ctx, reply, [("sofr", Point(c.date, c.sofr))])


def _op_window(release_time: str, close_time: str) -> str:
    return f"{release_time}\u2013{close_time}" if release_time else close_time


def _afternoon_pending(ctx: Context, day: str, operations: tuple[Operation, ...]) -> bool:
    """True on the morning of an operation day, before the afternoon operation's result is out."""
    local = ctx.now.astimezone(NEW_YORK)
    if local.date().isoformat() != day or local.time() >= time(13, 50):
        return False
    return not any(op.session == "PM" for op in operations)


def srf(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """The latest day's Standing Repo Facility take-up, AM and PM, by collateral, in context."""
    point, reply = _open(db, ctx, "srf", "srf.title")
    if point is None:
        return reply
    day = srf_day(db, point.date)
    rows = [
        (
            t(
                "srf.op",
                ctx.lang,
                session=(
                    t(f"session.label.{op.session}", ctx.lang)
                    if op.session in ("AM", "PM")
                    else op.session or "\u2014"
                ),
                window=_op_window(op.release_time, op.close_time),
            ),
            usd_bn(op.total_accepted, 3, lang=ctx.lang),
            t(
                "srf.split",
                ctx.lang,
                treasury=f"{op.treasury:.3f}",
                agency=f"{op.agency:.3f}",
                mbs=f"{op.mbs:.3f}",
            ),
        )
        for op in day.operations
    ]
    rows.append((t("srf.total", ctx.lang), usd_bn(point.value, 3, lang=ctx.lang), ""))
    column = max(width(r[0]) for r in rows)
    reply.blocks.append(Mono(tuple(f"{ljust(a, column)}  {rjust(b, 9)}  {c}".rstrip() for a, b, c in rows)))
    if point.value >= MATERIAL_SRF_BN:
        reply.level = "breach"
        reply.blocks.append(Text(t("srf.positive", ctx.lang, amount=usd_bn(point.value, 3, lang=ctx.lang))))
    elif point.value > 0:
        reply.level = "tight"
        reply.blocks.append(Text(t("srf.token", ctx.lang, amount=usd_bn(point.value, 3, lang=ctx.lang))))
    if point.value > 0 and day.operations:
        tsy = sum(op.treasury for op in day.operations)
        agy = sum(op.agency for op in day.operations)
        mbs = sum(op.mbs for op in day.operations)
        reply.blocks.append(
            Text(
                t(
                    "srf.collateral",
                    ctx.lang,
                    treasury=usd_bn(tsy, 3, lang=ctx.lang),
                    agency=usd_bn(agy, 3, lang=ctx.lang),
                    mbs=usd_bn(mbs, 3, lang=ctx.lang),
                )
            )
        )
    else:
        reply.level = "calm"
        reply.blocks.append(Text(t("srf.none_today", ctx.lang, date=point.date)))
    if _afternoon_pending(ctx, point.date, day.operations):
        reply.blocks.append(Text(t("srf.pm_pending", ctx.lang)))
    rate = value_on(db, "srf_rate", point.date)
    if rate is not None:
        reply.blocks.append(Text(t("srf.rate", ctx.lang, rate=pct(rate, lang=ctx.lang))))
    context_lines: list[str] = []
    last = last_above(db, "srf")
    if last is None:
        context_lines.append(t("srf.never_positive", ctx.lang))
    elif last.date != point.date:
        context_lines.append(
            t("srf.last_positive", ctx.lang, date=last.date, amount=usd_bn(last.value, lang=ctx.lang))
        )
    since = (date.fromisoformat(point.date) - timedelta(days=29)).isoformat()
    total, days = total_between(db, "srf", since, point.date)
    context_lines.append(t("srf.total_30d", ctx.lang, amount=usd_bn(total, lang=ctx.lang), days=days))
    record = record_high(db, "srf")
    if record is not None and record.value > 0:
        context_lines.append(
            t("srf.record", ctx.lang, date=record.date, amount=usd_bn(record.value, lang=ctx.lang))
        )
    reply.blocks.append(Text("\n".join(context_lines)))
    week_ago = (date.fromisoformat(point.date) - timedelta(days=7)).isoformat()
    for sve in sve_between(db, week_ago, point.date):
        reply.blocks.append(
            Text(
                t(
                    "srf.sve_excluded",
                    ctx.lang,
                    date=sve.operation_date,
                    amount=usd_bn(sve.total_accepted, 3, lang=ctx.lang),
                )
            )
        )
    reply.buttons = _chart_button(ctx, "srf")
    return with_staleness(db, ctx, reply, [("srf", point)])


def _change_fields(
    ctx: Context, db: sqlite_utils.Database, series: str, point: Point, key: str, *, rate: bool
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for ch in changes(db, series, point, _WEEK_MONTH):
        shown = bp(ch.delta * 100, lang=ctx.lang) if rate else usd_bn_delta(ch.delta, lang=ctx.lang)
        out.append(
            (
                t(key, ctx.lang, ago=t(f"ago.{ch.ago}", ctx.lang)),
                t("change.vs", ctx.lang, change=shown, date=ch.base_date),
            )
        )
    return out


def sofr(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """SOFR with its percentiles, volume, and 1-week and 1-month changes."""
    point, reply = _open(db, ctx, "sofr", "sofr.title")
    if point is None:
        return reply
    d = point.date
    reply.fields = [(t("sofr.level", ctx.lang), pct(point.value, lang=ctx.lang))]
    for key, series in (
        ("sofr.p1", "sofr_p1"),
        ("sofr.p25", "sofr_p25"),
        ("sofr.p75", "sofr_p75"),
        ("sofr.p99", "sofr_p99"),
    ):
        reply.fields.append((t(key, ctx.lang), pct(value_on(db, series, d), lang=ctx.lang)))
    volume = value_on(db, "sofr_volume", d)
    reply.fields.append((t("sofr.volume", ctx.lang), usd_bn(volume, lang=ctx.lang)))
    reply.fields += _change_fields(ctx, db, "sofr", point, "sofr.change", rate=True)
    if volume is not None:
        for ch in changes(db, "sofr_volume", Point(d, volume), _WEEK_MONTH):
            reply.fields.append(
                (
                    t("sofr.volume_change", ctx.lang, ago=t(f"ago.{ch.ago}", ctx.lang)),
                    usd_bn_delta(ch.delta, lang=ctx.lang),
                )
            )
    c = corridor_on(db, d)
    if c is not None and c.ceiling is not None:
        reply.level = c.verdict(ctx.tight_bp)
    reply.blocks.append(Text(t("sofr.volume_note", ctx.lang)))
    reply.buttons = _chart_button(ctx, "sofr")
    return with_staleness(db, ctx, reply, [("sofr", point)])


def rrp(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """ON RRP take-up: money-market funds' spare cash at the Fed."""
    point, reply = _open(db, ctx, "rrp", "rrp.title")
    if point is None:
        return reply
    reply.fields = [
        (t("rrp.level", ctx.lang), usd_bn(point.value, lang=ctx.lang)),
        (t("rrp.rate", ctx.lang), pct(value_on(db, "rrp_rate", point.date), lang=ctx.lang)),
    ]
    reply.fields += _change_fields(ctx, db, "rrp", point, "rrp.change", rate=False)
    peak = record_high(db, "rrp")
    if peak is not None:
        reply.fields.append(
            (
                t("rrp.peak", ctx.lang),
                t("value.on", ctx.lang, value=usd_bn(peak.value, lang=ctx.lang), date=peak.date),
            )
        )
    reply.blocks.append(Text(t("rrp.note", ctx.lang)))
    reply.buttons = _chart_button(ctx, "rrp")
    return with_staleness(db, ctx, reply, [("rrp", point)])


def tga(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """The Treasury's cash at the Fed against its ~$850B target; a rising TGA drains liquidity."""
    point, reply = _open(db, ctx, "tga", "tga.title")
    if point is None:
        return reply
    reply.fields = [
        (t("tga.level", ctx.lang), usd_bn(point.value, lang=ctx.lang)),
        (t("tga.target", ctx.lang), usd_bn(TGA_TARGET_BN, lang=ctx.lang)),
        (t("tga.vs_target", ctx.lang), usd_bn_delta(point.value - TGA_TARGET_BN, lang=ctx.lang)),
    ]
    reply.fields += _change_fields(ctx, db, "tga", point, "tga.change", rate=False)
    week = changes(db, "tga", point, {"1w": 7})
    if week and abs(week[0].delta) >= 0.5:
        key = "tga.rising" if week[0].delta > 0 else "tga.falling"
        reply.blocks.append(Text(t(key, ctx.lang, amount=usd_bn(abs(week[0].delta), lang=ctx.lang))))
    reply.buttons = _chart_button(ctx, "tga")
    return with_staleness(db, ctx, reply, [("tga", point)])


def reserves(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Bank reserve balances at the Fed, weekly."""
    point, reply = _open(db, ctx, "reserves", "reserves.title", weekday=False)
    if point is None:
        return reply
    reply.fields = [(t("reserves.level", ctx.lang), usd_bn(point.value, lang=ctx.lang))]
    for ch in changes(db, "reserves", point, {"1w": 7, "1m": 28, "1y": 364}):
        shown = t("change.vs", ctx.lang, change=usd_bn_delta(ch.delta, lang=ctx.lang), date=ch.base_date)
        reply.fields.append((t("reserves.change", ctx.lang, ago=t(f"ago.{ch.ago}", ctx.lang)), shown))
    return with_staleness(db, ctx, reply, [("reserves", point)])


def liquidity(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """Net liquidity = Fed assets - TGA - ON RRP, its components and the weekly change."""
    point, reply = _open(db, ctx, "net_liquidity", "liquidity.title")
    if point is None:
        return reply
    d = point.date
    assets = latest(db, "fed_assets", on_or_before=d)
    cash = latest(db, "tga", on_or_before=d)
    repo = latest(db, "rrp", on_or_before=d)
    reply.fields = [
        (t("liquidity.assets", ctx.lang), usd_bn(assets.value if assets else None, lang=ctx.lang)),
        (t("liquidity.tga", ctx.lang), usd_bn(cash.value if cash else None, lang=ctx.lang)),
        (t("liquidity.rrp", ctx.lang), usd_bn(repo.value if repo else None, lang=ctx.lang)),
        (t("liquidity.level", ctx.lang), usd_bn(point.value, lang=ctx.lang)),
    ]
    reply.fields += _change_fields(ctx, db, "net_liquidity", point, "liquidity.change", rate=False)
    reply.blocks.append(
        Text(
            t(
                "liquidity.inputs",
                ctx.lang,
                assets=assets.date if assets else t("na", ctx.lang),
                tga=cash.date if cash else t("na", ctx.lang),
                rrp=repo.date if repo else t("na", ctx.lang),
            )
        )
    )
    reply.blocks.append(Text(t("liquidity.tga_note", ctx.lang)))
    reply.buttons = _chart_button(ctx, "liquidity")
    return with_staleness(
        db, ctx, reply, [("net_liquidity", point), ("fed_assets", assets), ("tga", cash), ("rrp", repo)]
    )
