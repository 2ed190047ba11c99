"""/chart: read the series a chart needs; rendering happens later, off the event loop."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlite_utils

from bot.core.clock import ny_today
from bot.core.series import CATALOG
from bot.words.messages import t
from bot.words.reply import ChartData, ChartSeries, Context, Reply, Text, UsageError
from handlers.common import next_poll_text
from storage.observations import Point, history, latest

CHART_KINDS: tuple[str, ...] = ("corridor", "srf", "rrp", "tga", "liquidity", "sofr")
RANGES: dict[str, int | None] = {"1m": 31, "3m": 92, "1y": 366, "5y": 5 * 366, "max": None}
DEFAULT_RANGE = "3m"
CHART_USAGE = "/chart <corridor|srf|rrp|tga|liquidity|sofr> [1m|3m|1y|5y|max]"

# Lines with more points than this are thinned for drawing (each bucket keeps its low and high, so
# spikes survive); below it every print is drawn. SOFR since 2018 (~2,100 prints) is never thinned.
_MAX_POINTS = 2500

_MAIN_SERIES = {
    "corridor": "sofr",
    "srf": "srf",
    "rrp": "rrp",
    "tga": "tga",
    "liquidity": "net_liquidity",
    "sofr": "sofr",
}


def parse_chart_args(args: list[str]) -> tuple[str, str]:
    """(kind, range) from the arguments, in either order; anything unknown is a usage error."""
    kind: str | None = None
    span: str | None = None
    for raw in args:
        word = raw.strip().lower()
        if word in CHART_KINDS and kind is None:
            kind = word
        elif word in RANGES and span is None:
            span = word
        else:
            raise UsageError(CHART_USAGE)
    if kind is None:
        raise UsageError(CHART_USAGE)
    return kind, span or DEFAULT_RANGE


def _thin(points: list[Point]) -> list[Point]:
    """Keep each bucket's lowest and highest point, in date order, so spikes survive the thinning."""
    if len(points) <= _MAX_POINTS:
        return points
    buckets = _MAX_POINTS // 2
    size = len(points) / buckets
    kept: list[Point] = []
    for b in range(buckets):
        bucket = points[int(b * size) : int((b + 1) * size)]
        if not bucket:
            continue
        low = min(bucket, key=lambda p: p.value)
        high = max(bucket, key=lambda p: p.value)
        kept.extend(sorted({low.date: low, high.date: high}.values(), key=lambda p: p.date))
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def _series(label: str, points: list[Point], style: str = "line") -> ChartSeries:
    thinned = points if style == "bars" else _thin(points)
    return ChartSeries(
        label,
        tuple(p.date for p in thinned),
        tuple(p.value for p in thinned),
        style,  # type: ignore[arg-type]
    )


def _step_to(points: list[Point], until: str) -> list[Point]:
    """Extend a step series (a policy rate) to the chart's last date so the band reaches the edge."""
    if points and points[-1].date < until:
        return [*points, Point(until, points[-1].value)]
    return points


def chart_data(db: sqlite_utils.Database, kind: str, since: str, until: str, lang: str) -> ChartData | None:
    """The data for one chart kind over a date range, or None when the main series is empty there."""
    main = history(db, _MAIN_SERIES[kind], since, until)
    if not main:
        return None
    title = t(f"chart.title.{kind}", lang)
    pct_unit, bn_unit = t("chart.unit.pct", lang), t("chart.unit.bn", lang)
    if kind == "corridor":
        lower = _step_to(history(db, "fed_lower", since, until), main[-1].date)
        upper = _step_to(history(db, "fed_upper", since, until), main[-1].date)
        band = (
            (
                _series(t("chart.series.floor", lang), lower, "step"),
                _series(t("chart.series.ceiling", lang), upper, "step"),
            )
            if lower and upper
            else None
        )
        lines = [_series("SOFR", main), _series("EFFR", history(db, "effr", since, until))]
        iorb = history(db, "iorb", since, until)
        if iorb:
            lines.append(_series("IORB", iorb, "dashed"))
        return ChartData(
            title, pct_unit, tuple(lines), band=band, subtitle=t("chart.band.default", lang), lang=lang
        )
    if kind == "sofr":
        p1 = history(db, "sofr_p1", since, until)
        p99 = history(db, "sofr_p99", since, until)
        band = (_series("p1", p1), _series("p99", p99)) if p1 and p99 else None
        return ChartData(
            title,
            pct_unit,
            (_series("SOFR", main),),
            band=band,
            subtitle=t("chart.label.p1_p99", lang),
            lang=lang,
        )
    if kind == "srf":
        return ChartData(title, bn_unit, (_series("SRF", main, "bars"),), lang=lang)
    if kind == "tga":
        target = [Point(main[0].date, 850.0), Point(main[-1].date, 850.0)]
        return ChartData(
            title,
            bn_unit,
            (_series("TGA", main), _series(t("chart.target", lang), target, "dashed")),
            lang=lang,
        )
    label = t(f"series.{_MAIN_SERIES[kind]}", lang)
    return ChartData(title, bn_unit, (_series(label, main),), lang=lang)


def chart_window(db: sqlite_utils.Database, kind: str, span: str, now: datetime) -> tuple[str, str]:
    """(since, until) for a chart: the range back from the newest stored date of its main series."""
    newest = latest(db, _MAIN_SERIES[kind])
    until = newest.date if newest else ny_today(now).isoformat()
    days = RANGES[span]
    since = "0000-00-00" if days is None else (date.fromisoformat(until) - timedelta(days=days)).isoformat()
    return since, until


def chart_for(db: sqlite_utils.Database, args: list[str], lang: str, now: datetime) -> ChartData | None:
    """The chart for /chart-style arguments (e.g. ["corridor", "1m"]), or None when there is no data."""
    kind, span = parse_chart_args(args)
    since, until = chart_window(db, kind, span, now)
    return chart_data(db, kind, since, until, lang)


def chart(args: list[str], ctx: Context, db: sqlite_utils.Database) -> Reply:
    """A PNG chart of a series over 1m, 3m, 1y, 5y or the whole stored history."""
    kind, span = parse_chart_args(args)
    main = _MAIN_SERIES[kind]
    since, until = chart_window(db, kind, span, ctx.now)
    data = chart_data(db, kind, since, until, ctx.lang)
    title = t(f"chart.title.{kind}", ctx.lang)
    if data is None:
        info = CATALOG[main]
        text = t(
            "chart.empty",
            ctx.lang,
            name=t(f"series.{main}", ctx.lang),
            range=span,
            next_poll=next_poll_text(db, ctx, info.source),
        )
        return Reply(title=title, blocks=[Text(text)], level="warning")
    first = data.series[0].dates[0]
    caption = t("chart.caption", ctx.lang, title=title, since=first, until=until)
    return Reply(title=title, blocks=[Text(caption)], as_of=t("as_of", ctx.lang, date=until), chart=data)
