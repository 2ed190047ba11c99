"""/thesis walks the hidden-QE chain; /auctions lists Treasury auctions; both with calendar context."""

from __future__ import annotations

from datetime import date, timedelta

import sqlite_utils

from bot.core.clock import ny_today
from bot.core.models import Auction
from bot.core.series import CATALOG
from bot.market.auctions import LOOKBACK_DAYS, MIN_HISTORY, Weakness, weakness
from bot.market.calendar import day_tags
from bot.market.levels import TGA_TARGET_BN
from bot.market.readings import Change
from bot.market.thesis import QE_ON_DAYS, QE_WINDOW_DAYS, Figure, Thesis, qe_verdict, read_thesis
from bot.words.fmt import bp, pct, usd_bn, usd_bn_delta, weekday_date
from bot.words.messages import t
from bot.words.reply import Button, Context, Level, Mono, Reply, Text
from handlers.common import next_poll_text
from storage.auctions import auctions_between, recent_results, same_tenor_results, settling_between

_AHEAD_DAYS = 7
_VERDICT_LEVEL: dict[str, Level] = {"on": "breach", "flickering": "tight", "off": "calm"}
_RECENT = 8


def settlements_by_day(db: sqlite_utils.Database, since: str, until: str) -> dict[str, float]:
    """$bn of new Treasuries issued per ISO date (offering amounts, announced or awarded)."""
    out: dict[str, float] = {}
    for auction in settling_between(db, since, until):
        if auction.issue_date is not None and auction.offering_bn is not None:
            out[auction.issue_date] = round(out.get(auction.issue_date, 0.0) + auction.offering_bn, 3)
    return out


def _tag_text(tags: list[str], lang: str, amount: float | None) -> str:
    words = [
        t(f"calendar.tag.{tag}", lang, amount=usd_bn(amount, lang=lang) if amount is not None else "")
        for tag in tags
    ]
    return t("calendar.and", lang).join(words)


def calendar_window(today: date, data_day: date | None = None) -> tuple[str, str]:
    """The dates whose settlements the calendar context needs: the data's day (or today) to a week on."""
    first = min(today, data_day) if data_day is not None else today
    return first.isoformat(), (today + timedelta(days=_AHEAD_DAYS)).isoformat()


def calendar_text(
    today: date, settlements: dict[str, float], lang: str, data_day: date | None = None
) -> str | None:
    """A line like "2025-10-31 is a month-end." for the data's day and today, then the days ahead."""
    until = today + timedelta(days=_AHEAD_DAYS)
    lines: list[str] = []
    for day in sorted({today} | ({data_day} if data_day is not None else set())):
        tags = day_tags(day, settlements)
        if tags:
            text = _tag_text(tags, lang, settlements.get(day.isoformat()))
            lines.append(t("calendar.today", lang, date=day.isoformat(), tags=text))
    ahead: list[str] = []
    day = today + timedelta(days=1)
    while day <= until:
        if tags := day_tags(day, settlements):
            text = _tag_text(tags, lang, settlements.get(day.isoformat()))
            ahead.append(t("calendar.day", lang, date=weekday_date(day.isoformat(), lang=lang), tags=text))
        day += timedelta(days=1)
    if ahead:
        lines.append(t("calendar.ahead", lang, days="; ".join(ahead)))
    return "\n".join(lines) if lines else None


def calendar_note(
    db: sqlite_utils.Database, today: date, lang: str, data_day: date | None = None
) -> Text | None:
    """The calendar context as a reply block, reading the settlements it needs."""
    settlements = settlements_by_day(db, *calendar_window(today, data_day))
    text = calendar_text(today, settlements, lang, data_day)
    return Text(text) if text is not None else None


def _delta(change: Change | None, lang: str) -> str:
    return usd_bn_delta(change.delta, lang=lang) if change is not None else t("thesis.no_change", lang)


def _figure_line(key: str, fig: Figure, lang: str) -> str:
    return t(
        key,
        lang,
        level=usd_bn(fig.point.value, lang=lang),
        date=fig.point.date,
        m1=_delta(fig.change("1m"), lang),
        m12=_delta(fig.change("12m"), lang),
        w1=_delta(fig.change("1w"), lang),
    )


def _issuance(th: Thesis, lang: str) -> list[str]:
    lines: list[str] = []
    if th.debt is not None:
        lines.append(_figure_line("thesis.debt", th.debt, lang))
    if th.net_bills_30d is not None and th.net_coupons_30d is not None and th.issuance_until is not None:
        total = th.net_bills_30d + th.net_coupons_30d
        share = f"{100 * th.net_bills_30d / total:.0f}%" if total > 0 else "n/a"
        lines.append(
            t(
                "thesis.net",
                lang,
                date=th.issuance_until,
                bills=usd_bn_delta(th.net_bills_30d, lang=lang),
                coupons=usd_bn_delta(th.net_coupons_30d, lang=lang),
                share=share,
            )
        )
        heavy = (
            "thesis.net_bills_heavy" if th.net_bills_30d > th.net_coupons_30d else "thesis.net_coupons_heavy"
        )
        lines.append(t(heavy, lang))
    return lines


def _buyers(th: Thesis, lang: str) -> list[str]:
    lines: list[str] = []
    if th.custody is not None:
        lines.append(_figure_line("thesis.custody", th.custody, lang))
        year = th.custody.change("12m")
        if year is not None:
            lines.append(t("thesis.custody_up" if year.delta > 0 else "thesis.custody_flat", lang))
    if th.banks is not None:
        lines.append(_figure_line("thesis.banks", th.banks, lang))
    if th.dvp is not None:
        lines.append(_figure_line("thesis.dvp", th.dvp, lang))
        year = th.dvp.change("12m") or th.dvp.change("1m")
        if year is not None:
            lines.append(t("thesis.dvp_up" if year.delta > 0 else "thesis.dvp_down", lang))
    return lines


def _funding(th: Thesis, lang: str) -> list[str]:
    lines: list[str] = []
    if th.sofr_volume is not None:
        lines.append(_figure_line("thesis.sofr_volume", th.sofr_volume, lang))
    if th.sofr_iorb_bp is not None:
        spread = bp(th.sofr_iorb_bp, lang)
        if th.share_above_iorb is not None:
            lines.append(t("thesis.sofr_iorb", lang, spread=spread, share=th.share_above_iorb))
        else:
            lines.append(t("thesis.sofr_iorb_short", lang, spread=spread))
        lines.append(t("thesis.repo_above" if th.sofr_iorb_bp > 0 else "thesis.repo_below", lang))
    return lines


def _backstop(th: Thesis, lang: str) -> list[str]:
    if th.srf is None:
        return []
    return [
        t(
            "thesis.srf",
            lang,
            amount=usd_bn(th.srf.value, 3, lang=lang),
            date=th.srf.date,
            d30=usd_bn(th.srf_30d, lang=lang),
            ytd=usd_bn(th.srf_ytd, lang=lang),
        )
    ]


def _liquidity(th: Thesis, lang: str) -> list[str]:
    lines: list[str] = []
    if th.tga is not None:
        lines.append(
            t(
                "thesis.tga",
                lang,
                level=usd_bn(th.tga.value, lang=lang),
                vs=usd_bn_delta(th.tga.value - TGA_TARGET_BN, lang=lang),
            )
        )
    if th.rrp is not None:
        lines.append(t("thesis.rrp", lang, level=usd_bn(th.rrp.value, lang=lang), date=th.rrp.date))
    if th.reserves is not None:
        lines.append(
            t("thesis.reserves", lang, level=usd_bn(th.reserves.value, lang=lang), date=th.reserves.date)
        )
    if th.net_liquidity is not None:
        lines.append(_figure_line("thesis.net_liquidity", th.net_liquidity, lang))
    return lines


def verdict_line(th: Thesis, lang: str) -> str | None:
    """The closing line, stating the rule it applies; None without SRF data."""
    return verdict_text(th.srf_days, lang)


def verdict_text(srf_days: int | None, lang: str) -> str | None:
    """The rule's verdict from the count of material SRF days in the window; None without SRF data."""
    verdict = qe_verdict(srf_days)
    if verdict is None:
        return None
    return t(f"thesis.rule.{verdict}", lang, days=srf_days, window=QE_WINDOW_DAYS, on=QE_ON_DAYS)


def missing_names(th: Thesis, lang: str) -> list[str]:
    """Missing series as "name (source)", in chain order."""
    return [
        f"{t(f'series.{series}', lang)} ({t(f'source.{CATALOG[series].source}', lang)})"
        for series in th.missing
    ]


def thesis(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """The chain, a line or two per link with the latest figure, its change, its date and a verdict."""
    th = read_thesis(db)
    today = ny_today(ctx.now)
    reply = Reply(title=t("thesis.title", ctx.lang, date=weekday_date(today.isoformat(), ctx.lang)))
    links = (
        ("thesis.issuance", _issuance(th, ctx.lang)),
        ("thesis.buyers", _buyers(th, ctx.lang)),
        ("thesis.funding", _funding(th, ctx.lang)),
        ("thesis.backstop", _backstop(th, ctx.lang)),
        ("thesis.liquidity", _liquidity(th, ctx.lang)),
    )
    for heading, lines in links:
        if lines:
            reply.blocks.append(Text("\n".join([t(heading, ctx.lang), *lines])))
    closing = verdict_line(th, ctx.lang)
    if closing is not None:
        reply.blocks.append(Text(closing))
        reply.level = _VERDICT_LEVEL[th.verdict or "off"]
    data_day = date.fromisoformat(th.sofr_date) if th.sofr_date is not None else None
    note = calendar_note(db, today, ctx.lang, data_day)
    if note is not None:
        reply.blocks.append(note)
    if th.missing:
        reply.blocks.append(Text(t("thesis.missing", ctx.lang, names=", ".join(missing_names(th, ctx.lang)))))
        if reply.level in ("info", "calm"):
            reply.level = "warning"
    reply.buttons = [
        [Button(t("button.chart", ctx.lang) + " " + t("choice.debt", ctx.lang), "/chart debt 1y")],
        [Button(t("button.chart", ctx.lang) + " " + t("choice.buyers", ctx.lang), "/chart buyers 1y")],
    ]
    return reply


def _size(auction: Auction, lang: str) -> str:
    return (
        usd_bn(auction.offering_bn, lang=lang)
        if auction.offering_bn is not None
        else t("auctions.size_tba", lang)
    )


def _pct_share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def weak_measures(db: sqlite_utils.Database, auction: Auction) -> list[Weakness]:
    """The weak measures of a result, against its prior year of the same security type and term."""
    since = (date.fromisoformat(auction.auction_date) - timedelta(days=LOOKBACK_DAYS)).isoformat()
    prior = same_tenor_results(db, auction.security_type, auction.security_term, since, auction.auction_date)
    return weakness(auction, prior)


def weakness_lines(w: Weakness, lang: str) -> str:
    """One sentence per weak measure, with the band it fell outside."""
    if w.measure == "btc":
        values = {"value": f"{w.value:.2f}", "mean": f"{w.mean:.2f}", "band": f"{2 * w.sd:.2f}"}
        return t("auctions.weak_btc", lang, n=w.count, **values)
    values = {"value": f"{w.value:.1f}%", "mean": f"{w.mean:.1f}%", "band": f"{2 * w.sd:.1f} pp"}
    return t("auctions.weak_dealer", lang, n=w.count, **values)


def auctions(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """The next 7 days of auctions and the latest results, weak ones flagged by the stated rule."""
    today = ny_today(ctx.now)
    until = today + timedelta(days=_AHEAD_DAYS)
    reply = Reply(title=t("auctions.title", ctx.lang, date=weekday_date(today.isoformat(), ctx.lang)))
    upcoming = [a for a in auctions_between(db, today.isoformat(), until.isoformat()) if not a.has_results]
    if upcoming:
        rows = [
            t(
                "auctions.upcoming_row",
                ctx.lang,
                auction=a.auction_date[5:],
                term=a.security_term,
                type=a.security_type,
                reopen=t("auctions.reopening", ctx.lang) if a.reopening else "",
                size=_size(a, ctx.lang),
                issue=(a.issue_date or "?")[5:],
            )
            for a in upcoming
        ]
        reply.blocks.append(Text(t("auctions.upcoming", ctx.lang)))
        reply.blocks.append(Mono(tuple(rows)))
    else:
        reply.blocks.append(Text(t("auctions.none_upcoming", ctx.lang)))
    results = recent_results(db, _RECENT, until=today.isoformat())
    if results:
        rows = []
        for a in results:
            weak = t("auctions.weak_mark", ctx.lang) if weak_measures(db, a) else ""
            rows.append(
                t(
                    "auctions.result_row",
                    ctx.lang,
                    auction=a.auction_date[5:],
                    term=a.security_term,
                    type=a.security_type,
                    size=_size(a, ctx.lang),
                    rate=pct(a.rate, 3, ctx.lang),
                    btc=f"{a.bid_to_cover:.2f}" if a.bid_to_cover is not None else "n/a",
                    indirect=_pct_share(a.share("indirect")),
                    direct=_pct_share(a.share("direct")),
                    dealer=_pct_share(a.share("dealer")),
                    weak=weak,
                )
            )
        reply.blocks.append(Text(t("auctions.results", ctx.lang)))
        reply.blocks.append(Mono(tuple(rows)))
        reply.blocks.append(Text(t("auctions.rule", ctx.lang, min=MIN_HISTORY)))
        reply.as_of = t("as_of", ctx.lang, date=results[0].auction_date)
    else:
        text = t("auctions.none_results", ctx.lang, next_poll=next_poll_text(db, ctx, "treasury"))
        reply.blocks.append(Text(text))
        reply.level = "warning"
    note = calendar_note(db, today, ctx.lang)
    if note is not None:
        reply.blocks.append(note)
    reply.blocks.append(Text(t("auctions.no_tail", ctx.lang)))
    return reply
