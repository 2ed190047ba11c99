"""/chart: read what each chart kind draws and where; rendering happens later, off the event loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

import sqlite_utils

from bot.core.clock import ny_today
from bot.core.series import CATALOG, is_srf
from bot.market.levels import TGA_TARGET_BN, gap_bp, is_breach
from bot.market.readings import POLICY_RATE_MAX_AGE_DAYS, choose_ceiling
from bot.words import fmt
from bot.words.messages import t
from bot.words.reply import (
    ChartBand,
    ChartData,
    ChartPanel,
    ChartSeries,
    ChartStyle,
    Context,
    Reply,
    Text,
    UsageError,
)
from handlers.common import next_poll_text
from storage.observations import Point, history, latest
from storage.operations import operations_between

CHART_KINDS: tuple[str, ...] = (
    "corridor",
    "spread",
    "ladder",
    "srf",
    "sofr",
    "rrp",
    "tga",
    "liquidity",
    "debt",
    "buyers",
)
RANGES: dict[str, int | None] = {"1m": 31, "3m": 92, "1y": 366, "5y": 5 * 366, "max": None}
DEFAULT_RANGE = "3m"
CHART_USAGE = f"/chart <{'|'.join(CHART_KINDS)}> [{'|'.join(RANGES)}]"

# Lines with more points than this are thinned for drawing (each bucket keeps its low and high, so
# spikes survive); below it every print is drawn. SOFR since 2018 (~2,100 prints) is never thinned.
_MAX_POINTS = 2500
# SRF bars: daily up to this many days, weekly sums up to _WEEKLY_DAYS, monthly sums beyond, so a bar is
# always a few pixels wide and `max` draws about as many bars as `1y`.
_DAILY_DAYS = 190
_WEEKLY_DAYS = 3 * 366
_LABELLED_BARS = 3  # at most this many of the largest SRF bars carry their amount

_MAIN_SERIES = {
    "corridor": "sofr",
    "spread": "sofr",
    "ladder": "sofr",
    "srf": "srf",
    "sofr": "sofr",
    "rrp": "rrp",
    "tga": "tga",
    "liquidity": "net_liquidity",
    "debt": "public_debt",
    "buyers": "dvp_volume",
}
_SOURCES = {
    "corridor": ("nyfed", "fred"),
    "spread": ("nyfed", "fred"),
    "ladder": ("nyfed", "fred"),
    "srf": ("nyfed",),
    "sofr": ("nyfed",),
    "rrp": ("nyfed",),
    "tga": ("fiscaldata",),
    "liquidity": ("fred", "fiscaldata", "nyfed"),
    "debt": ("fiscaldata", "nyfed"),
    "buyers": ("nyfed", "fred"),
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


def _series(
    label: str,
    points: list[Point],
    style: ChartStyle = "line",
    role: str = "",
    *,
    latest: bool = False,
    fmt: Callable[[float], str] | None = None,
) -> ChartSeries:
    thinned = _thin(points) if style in ("line", "dashed", "step", "area") else points
    return ChartSeries(
        label,
        tuple(p.date for p in thinned),
        tuple(p.value for p in thinned),
        style,
        role,
        tag=fmt(points[-1].value) if latest and fmt is not None and points else "",
    )


def _asof(points: list[Point], days: Sequence[str], max_age: int | None = None) -> list[float | None]:
    """The value in effect on each day (the latest on or before it), None when older than max_age days."""
    out: list[float | None] = []
    j = -1
    for d in days:
        while j + 1 < len(points) and points[j + 1].date <= d:
            j += 1
        if j < 0 or (
            max_age is not None
            and (date.fromisoformat(d) - date.fromisoformat(points[j].date)).days > max_age
        ):
            out.append(None)
        else:
            out.append(points[j].value)
    return out


def _since_inclusive(db: sqlite_utils.Database, series: str, since: str, until: str) -> list[Point]:
    """A step series over the range plus the value already in effect on `since`."""
    before = latest(db, series, on_or_before=since)
    points = history(db, series, since, until)
    if before is not None and (not points or points[0].date > before.date):
        points.insert(0, before)
    return points


def corridor_days(
    db: sqlite_utils.Database, days: Sequence[str], since: str, until: str
) -> tuple[list[float | None], list[float | None]]:
    """The (floor, ceiling) in effect on each SOFR date, by the rule /corridor and the alerts use."""
    age = POLICY_RATE_MAX_AGE_DAYS
    srf_points = _since_inclusive(db, "srf_rate", since, until)
    exact = {p.date: p.value for p in srf_points}
    recent_srf = _asof(srf_points, days, age)
    upper = _asof(_since_inclusive(db, "fed_upper", since, until), days, age)
    rrp_rate = _asof(_since_inclusive(db, "rrp_rate", since, until), days, age)
    lower = _asof(_since_inclusive(db, "fed_lower", since, until), days, age)
    ceilings = [
        choose_ceiling(d, exact.get(d), u, r)[0] for d, u, r in zip(days, upper, recent_srf, strict=True)
    ]
    floors = [r if r is not None else low for r, low in zip(rrp_rate, lower, strict=True)]
    return floors, ceilings


def _runs(
    days: Sequence[str], lows: Sequence[float], highs: Sequence[float]
) -> tuple[list[Point], list[Point]]:
    """Keep only the days the (low, high) pair changes: a stepped band needs nothing else."""
    low_out: list[Point] = []
    high_out: list[Point] = []
    for d, lo, hi in zip(days, lows, highs, strict=True):
        if not low_out or (lo, hi) != (low_out[-1].value, high_out[-1].value):
            low_out.append(Point(d, lo))
            high_out.append(Point(d, hi))
    return low_out, high_out


def _stamp(kind: str, until: str, lang: str) -> str:
    sources = t("chart.source_sep", lang).join(t(f"chart.source.{s}", lang) for s in _SOURCES[kind])
    return t("chart.stamp", lang, date=until, sources=sources)


def _fmt(name: str, lang: str) -> Callable[[float], str]:
    """A value as the chart writes it, in the reader's language: 4.22%, +22 bp, $50.35B (503.5億美元)."""
    if name == "pct":
        return lambda value: fmt.pct(value, 2, lang)
    if name == "bp":
        return lambda value: fmt.bp(value, lang)
    digits = 2 if name == "bn2" else None
    return lambda value: fmt.usd_bn(value, digits, lang)


def _corridor_panel(
    db: sqlite_utils.Database, main: list[Point], since: str, until: str, lang: str
) -> ChartPanel:
    days = [p.date for p in main]
    floors, ceilings = corridor_days(db, days, since, until)
    bands: list[ChartBand] = []
    known = [
        (d, f, c) for d, f, c in zip(days, floors, ceilings, strict=True) if f is not None and c is not None
    ]
    if known:
        lows, highs = _runs([k[0] for k in known], [k[1] for k in known], [k[2] for k in known])
        bands.append(
            ChartBand(
                t("chart.band", lang),
                _series("floor", lows, "step"),
                _series("ceiling", highs, "step"),
                role="band",
                stepped=True,
                until=known[-1][0],
            )
        )
    p1 = history(db, "sofr_p1", since, until)
    p99 = {p.date: p.value for p in history(db, "sofr_p99", since, until)}
    pairs = [(p, Point(p.date, p99[p.date])) for p in p1 if p.date in p99]
    if pairs:
        bands.append(
            ChartBand(
                t("chart.label.p1_p99", lang),
                _series("p1", [a for a, _ in pairs]),
                _series("p99", [b for _, b in pairs]),
                role="percentile",
            )
        )
    breaches = [
        (p, c) for p, c in zip(main, ceilings, strict=True) if c is not None and is_breach(p.value, c)
    ]
    pct = _fmt("pct", lang)
    lines: list[ChartSeries] = [
        _series(t("chart.legend.sofr", lang), main, role="sofr", latest=True, fmt=pct)
    ]
    if breaches:
        label = t("chart.legend.breach", lang)
        lines.append(
            ChartSeries(
                label,
                tuple(p.date for p, _ in breaches),
                tuple(p.value for p, _ in breaches),
                "gap",
                "breach",
                base=tuple(c for _, c in breaches),
            )
        )
        lines.append(_series(label, [p for p, _ in breaches], "points", "breach"))
    effr = history(db, "effr", since, until)
    if effr:
        lines.append(_series(t("chart.legend.effr", lang), effr, role="effr", latest=True, fmt=pct))
    iorb = history(db, "iorb", since, until)
    if iorb:
        lines.append(_series(t("chart.legend.iorb", lang), iorb, "dashed", "iorb"))
    return ChartPanel(t("chart.unit.pct", lang), tuple(lines), tuple(bands))


def _srf_bucket(day: str, span_days: int) -> tuple[str, float]:
    """The first day of the bar a day belongs to, and the bar's width in days."""
    d = date.fromisoformat(day)
    if span_days <= _DAILY_DAYS:
        return day, 1.0
    if span_days <= _WEEKLY_DAYS:
        return (d - timedelta(days=d.weekday())).isoformat(), 7.0
    return d.replace(day=1).isoformat(), 30.0


def srf_bars(
    db: sqlite_utils.Database, since: str, until: str, span_days: int, lang: str
) -> tuple[ChartSeries, ChartSeries, str]:
    """AM and PM take-up as stacked bars (PM on top), daily or summed by week or month; Small Value
    Exercises are never counted. Returns (am, pm, the aggregation note)."""
    am: dict[str, float] = {}
    pm: dict[str, float] = {}
    width = 1.0
    for op in operations_between(db, since, until, "Repo"):
        if not is_srf(op):
            continue
        bucket, width = _srf_bucket(op.operation_date, span_days)
        morning = op.session == "AM" or (op.session != "PM" and op.close_time < "12:00")
        target = am if morning else pm
        target[bucket] = target.get(bucket, 0.0) + op.total_accepted
        (pm if morning else am).setdefault(bucket, 0.0)
    days = tuple(sorted(am))
    am_values = tuple(round(am[d], 6) for d in days)
    pm_values = tuple(round(pm[d], 6) for d in days)
    totals = [a + b for a, b in zip(am_values, pm_values, strict=True)]
    # A tag on a $0.01B day beside a $30B one is clutter: only bars of a tenth of the tallest or more.
    tallest = max(totals, default=0.0)
    largest = sorted(
        (i for i, v in enumerate(totals) if v > 0 and v >= tallest / 10), key=lambda i: (-totals[i], days[i])
    )
    # Tags side by side would overlap, and the last bar already carries the latest-value tag.
    min_gap = max(span_days / 12, width * 2)
    picked: list[int] = []
    for i in largest:
        near = any(
            abs((date.fromisoformat(days[i]) - date.fromisoformat(days[j])).days) < min_gap for j in picked
        )
        if i != len(days) - 1 and not near:
            picked.append(i)
        if len(picked) == _LABELLED_BARS:
            break
    notes = tuple(sorted(picked))
    fmt = _fmt("bn2", lang)
    am_bars = ChartSeries(t("chart.legend.am", lang), days, am_values, "bars", "am", width=width)
    pm_bars = ChartSeries(
        t("chart.legend.pm", lang),
        days,
        pm_values,
        "bars",
        "pm",
        base=am_values,
        width=width,
        notes=notes,
        note_texts=tuple(fmt(totals[i]) for i in notes),
        tag=fmt(totals[-1]) if totals else "",
    )
    note = "" if width == 1.0 else t("chart.weekly" if width == 7.0 else "chart.monthly", lang)
    return am_bars, pm_bars, note


def _span_days(since: str, until: str, first: str) -> int:
    start = max(since, first)
    return (date.fromisoformat(until) - date.fromisoformat(start)).days + 1


def chart_data(db: sqlite_utils.Database, kind: str, since: str, until: str, lang: str) -> ChartData | None:
    """What one chart kind draws over a date range, or None when its main series is empty there."""
    main = history(db, _MAIN_SERIES[kind], since, until)
    if not main:
        return None
    first, last = main[0].date, main[-1].date
    title = t(f"chart.title.{kind}", lang)
    stamp = _stamp(kind, last, lang)
    pct, bn, bp = _fmt("pct", lang), _fmt("bn", lang), _fmt("bp", lang)
    panels: list[ChartPanel]
    subtitle = ""
    if kind == "corridor":
        panels = [_corridor_panel(db, main, since, until, lang)]
    elif kind == "spread":
        days = [p.date for p in main]
        _, ceilings = corridor_days(db, days, since, until)
        spread = [
            Point(p.date, round(-gap_bp(p.value, c), 1))
            for p, c in zip(main, ceilings, strict=True)
            if c is not None
        ]
        top: list[ChartSeries] = []
        bands: list[ChartBand] = []
        if spread:
            line = _series(t("chart.legend.spread", lang), spread, role="spread", latest=True, fmt=bp)
            top.append(line)
            zeros = ChartSeries("zero", line.dates, tuple(0.0 for _ in line.dates))
            above = ChartSeries("above", line.dates, tuple(max(v, 0.0) for v in line.values))
            bands.append(ChartBand(t("chart.legend.breach", lang), zeros, above, role="breach"))
        am, pm, subtitle = srf_bars(db, first, last, _span_days(since, until, first), lang)
        panels = [
            ChartPanel(t("chart.unit.bp", lang), tuple(top), tuple(bands), zero_line=True),
            ChartPanel(t("chart.unit.srf", lang), (am, pm), weight=1.6),
        ]
    elif kind == "ladder":
        days = [p.date for p in main]
        floors, ceilings = corridor_days(db, days, since, until)
        lines: list[ChartSeries] = []
        for label, role, values in (
            (t("chart.legend.ceiling", lang), "ceiling", ceilings),
            (t("chart.legend.floor", lang), "floor", floors),
        ):
            points = [Point(d, v) for d, v in zip(days, values, strict=True) if v is not None]
            if points:
                lines.append(_series(label, points, "step", role, latest=True, fmt=pct))
        iorb = history(db, "iorb", since, until)
        if iorb:
            lines.append(_series(t("chart.legend.iorb", lang), iorb, "dashed", "iorb", latest=True, fmt=pct))
        lines.append(_series(t("chart.legend.sofr", lang), main, role="sofr", latest=True, fmt=pct))
        effr = history(db, "effr", since, until)
        if effr:
            lines.append(_series(t("chart.legend.effr", lang), effr, role="effr", latest=True, fmt=pct))
        panels = [ChartPanel(t("chart.unit.pct", lang), tuple(lines))]
    elif kind == "srf":
        am, pm, subtitle = srf_bars(db, since, until, _span_days(since, until, first), lang)
        panels = [ChartPanel(t("chart.unit.srf", lang), (am, pm))]
    elif kind == "sofr":
        bands = []
        for low, high, key, role in (
            ("sofr_p1", "sofr_p99", "chart.label.p1_p99", "percentile"),
            ("sofr_p25", "sofr_p75", "chart.label.p25_p75", "quartile"),
        ):
            lows = history(db, low, since, until)
            highs = {p.date: p.value for p in history(db, high, since, until)}
            pairs = [(p, Point(p.date, highs[p.date])) for p in lows if p.date in highs]
            if pairs:
                bands.append(
                    ChartBand(
                        t(key, lang),
                        _series(low, [a for a, _ in pairs]),
                        _series(high, [b for _, b in pairs]),
                        role,
                    )
                )
        panels = [
            ChartPanel(
                t("chart.unit.pct", lang),
                (_series(t("chart.legend.sofr", lang), main, role="sofr", latest=True, fmt=pct),),
                tuple(bands),
            )
        ]
        volume = history(db, "sofr_volume", since, until)
        if volume:
            style: ChartStyle = "bars" if len(volume) <= 250 else "area"
            panels.append(
                ChartPanel(
                    t("chart.unit.volume", lang),
                    (_series(t("chart.legend.volume", lang), volume, style, "volume", latest=True, fmt=bn),),
                    weight=1.4,
                )
            )
    elif kind == "tga":
        target = [Point(first, TGA_TARGET_BN), Point(last, TGA_TARGET_BN)]
        panels = [
            ChartPanel(
                t("chart.unit.bn", lang),
                (
                    _series(t("chart.legend.tga", lang), main, role="tga", latest=True, fmt=bn),
                    _series(t("chart.target", lang), target, "dashed", "target"),
                ),
            )
        ]
    elif kind == "rrp":
        panels = [
            ChartPanel(
                t("chart.unit.bn", lang),
                (_series(t("chart.legend.rrp", lang), main, role="rrp", latest=True, fmt=bn),),
            )
        ]
    elif kind == "debt":
        # Debt ($38T) and repo volume ($3T) share one axis as growth since the window's first date.
        lines = [_series(t("series.public_debt", lang), _growth(main), role="debt", latest=True, fmt=bn)]
        volume = history(db, "sofr_volume", since, until)
        if volume:
            lines.append(
                _series(t("series.sofr_volume", lang), _growth(volume), role="volume", latest=True, fmt=bn)
            )
        subtitle = t("chart.growth_since", lang, date=first)
        panels = [ChartPanel(t("chart.unit.bn", lang), tuple(lines), zero_line=True)]
    elif kind == "buyers":
        lines = [_series(t("series.dvp_volume", lang), main, role="dvp", latest=True, fmt=bn)]
        for series in ("custody", "bank_treasuries"):
            points = history(db, series, since, until)
            if points:
                lines.append(
                    _series(t(f"series.{series}", lang), points, "step", series, latest=True, fmt=bn)
                )
        panels = [ChartPanel(t("chart.unit.bn", lang), tuple(lines))]
    else:  # liquidity: the level beside Fed assets, and the two amounts subtracted below
        top = [_series(t("chart.legend.net_liquidity", lang), main, role="liquidity", latest=True, fmt=bn)]
        assets = history(db, "fed_assets", since, until)
        if assets:
            top.append(_series(t("chart.legend.assets", lang), assets, "step", "assets", latest=True, fmt=bn))
        below = [
            _series(t(f"chart.legend.{name}", lang), points, role=name, latest=True, fmt=bn)
            for name in ("tga", "rrp")
            if (points := history(db, name, since, until))
        ]
        panels = [ChartPanel(t("chart.unit.bn", lang), tuple(top))]
        if below:
            panels.append(ChartPanel(t("chart.unit.subtracted", lang), tuple(below), weight=1.8))
    range_text = t("chart.range", lang, since=first, until=last)
    return ChartData(
        title,
        tuple(panels),
        since=first,
        until=last,
        stamp=stamp,
        subtitle=t("chart.range_sep", lang).join(x for x in (range_text, subtitle) if x),
        months=tuple(t("chart.months", lang).split()),
        day_tick=t("chart.day_tick", lang),
        year_tick=t("chart.year_tick", lang),
        lang=lang,
    )


def _growth(points: list[Point]) -> list[Point]:
    """Each value minus the first: growth over the window in the series' own units."""
    base = points[0].value
    return [Point(p.date, round(p.value - base, 6)) for p in points]


def chart_window(db: sqlite_utils.Database, kind: str, span: str, now: datetime) -> tuple[str, str]:
    """(since, until) for a chart: the range back from the newest stored date of its main series."""
    newest = latest(db, _MAIN_SERIES[kind])
    until = newest.date if newest else ny_today(now).isoformat()
    days = RANGES[span]
    since = "0000-00-00" if days is None else (date.fromisoformat(until) - timedelta(days=days)).isoformat()
    return since, until


def chart_for(db: sqlite_utils.Database, args: list[str], lang: str, now: datetime) -> ChartData | None:
    """The chart for /chart-style arguments (e.g. ["spread", "1m"]), or None when there is no data."""
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
    caption = t("chart.caption", ctx.lang, title=title, since=data.since, until=until)
    return Reply(title=title, blocks=[Text(caption)], as_of=t("as_of", ctx.lang, date=until), chart=data)
