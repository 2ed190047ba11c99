"""What each chart draws and where (the ChartData /chart reads, and the figure bot.render.charts builds
from it), on seeded real market days, on empty and one-day databases, and on 25 years of every series."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import cache

import numpy as np
import pytest
import sqlite_utils
from matplotlib.collections import PolyCollection

from bot.core.models import Operation
from bot.render.charts import build_figure, render_png, tick_labels
from bot.words.reply import ChartData, ChartPanel, ChartSeries
from handlers.chart_command import CHART_KINDS, RANGES, _thin, chart_data, chart_window, srf_bars
from storage.db import open_db
from storage.observations import Point, history
from tests.seed import (
    TARGET_RANGES,
    derive_net_liquidity,
    ny,
    require_real_sofr_history,
    rrp_op,
    seed_chain,
    seeded,
    srf_op,
    store,
    store_operations,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 200 * 1024
WIDTH, HEIGHT = 1280, 720  # 8 x 4.5 in at 160 dpi


def _size(png: bytes) -> tuple[int, int]:
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _check_png(png: bytes) -> None:
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < MAX_BYTES
    assert _size(png) == (WIDTH, HEIGHT)
    assert png.endswith(b"IEND\xaeB`\x82")


def _since(until: str, span: str) -> str:
    days = RANGES[span]
    return "0000-00-00" if days is None else (date.fromisoformat(until) - timedelta(days=days)).isoformat()


def _x(day: str) -> float:
    return float((np.datetime64(day, "D") - np.datetime64("1970-01-01", "D")).astype(float))


def _series(data: ChartData, label: str, panel: int = 0) -> ChartSeries:
    matches = [s for s in data.panels[panel].series if s.label == label]
    assert len(matches) == 1, [s.label for s in data.panels[panel].series]
    return matches[0]


def _by_role(data: ChartData, role: str, style: str | None = None, panel: int = 0) -> ChartSeries:
    (match,) = [
        s for s in data.panels[panel].series if s.role == role and (style is None or s.style == style)
    ]
    return match


def _band_fill(data: ChartData) -> PolyCollection:
    fig = build_figure(data)
    (fill,) = [c for c in fig.axes[0].collections if c.get_gid() == "band:band"]
    assert isinstance(fill, PolyCollection)
    return fill


def _inside(fill: PolyCollection, day: str, rate: float) -> bool:
    return any(path.contains_point((_x(day), rate)) for path in fill.get_paths())


# ---------------------------------------------------------------------------------------------------------
# The house style
# ---------------------------------------------------------------------------------------------------------

KIND_SCENARIO = {
    "corridor": ("month_end_2025", "2025-10-31"),
    "spread": ("month_end_2025", "2025-10-31"),
    "ladder": ("month_end_2025", "2025-10-31"),
    "srf": ("srf_feb_2026", "2026-02-18"),
    "sofr": ("calm_2024", "2024-06-06"),
    "rrp": ("calm_2024", "2024-06-07"),
    "tga": ("june_2026", "2026-06-23"),
    "liquidity": ("june_2026", "2026-06-24"),
    "debt": ("month_end_2025", "2025-10-31"),
    "buyers": ("month_end_2025", "2025-10-31"),
}
SOURCES = {
    "corridor": "NY Fed, FRED",
    "spread": "NY Fed, FRED",
    "ladder": "NY Fed, FRED",
    "srf": "NY Fed",
    "sofr": "NY Fed",
    "rrp": "NY Fed",
    "tga": "U.S. Treasury",
    "liquidity": "FRED, U.S. Treasury, NY Fed",
    "debt": "U.S. Treasury, NY Fed",
    "buyers": "NY Fed, FRED",
}


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_kind_is_stamped_dated_and_labelled(kind: str) -> None:
    scenario, until = KIND_SCENARIO[kind]
    db = seeded(scenario)
    if kind in ("debt", "buyers"):
        seed_chain(db)
    data = chart_data(db, kind, _since(until, "3m"), until, "en")
    assert data is not None
    assert data.until == until
    assert data.subtitle.startswith(f"{data.since} to {until}")
    assert data.stamp == f"As of {until} \u00b7 Source: {SOURCES[kind]} \u00b7 Plumbline"
    assert any(s.latest for s in data.series)
    fig = build_figure(data)
    words = [image.get_gid() for image in fig.images]  # drawn as cached pixels, named by their text
    assert data.title in words and data.subtitle in words and data.stamp in words
    tags = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "latest"]
    assert tags, "the latest value is labelled at the right edge"
    _check_png(render_png(data))


def test_debt_chart_draws_growth_beside_repo_volume() -> None:
    """Public debt grew $400B over October 2025 while SOFR volume grew $62B (3,054 -> 3,116)."""
    db = seeded("month_end_2025")
    seed_chain(db)
    data = chart_data(db, "debt", "2025-09-30", "2025-10-31", "en")
    assert data is not None
    debt, volume = data.series
    assert (debt.dates, debt.values) == (("2025-09-30", "2025-10-31"), (0.0, 400.0))
    assert (volume.dates, volume.values) == (("2025-10-30", "2025-10-31"), (0.0, 62.0))


def test_buyers_chart_has_dvp_custody_and_banks() -> None:
    db = seeded("month_end_2025")
    seed_chain(db)
    data = chart_data(db, "buyers", "2025-09-01", "2025-10-31", "en")
    assert data is not None
    assert [s.label for s in data.series] == [
        "DVP repo (SOFR \u2212 BGCR volume)",
        "Foreign official custody holdings",
        "Banks' Treasury and agency securities",
    ]
    assert data.series[1].values == (2910.0, 2895.0)


def test_the_latest_tags_show_the_last_values() -> None:
    data = chart_data(seeded("month_end_2025"), "corridor", "2025-09-30", "2025-10-31", "en")
    assert data is not None
    fig = build_figure(data)
    tags = sorted(t.get_text() for t in fig.axes[0].texts if t.get_gid() == "latest")
    assert tags == ["3.87%", "4.22%"]  # EFFR and SOFR on 2025-10-31
    spread = chart_data(seeded("month_end_2025"), "spread", "2025-09-30", "2025-10-31", "en")
    assert spread is not None
    assert [t.get_text() for t in build_figure(spread).axes[0].texts if t.get_gid() == "latest"] == ["+22 bp"]


TICK_CASES = [
    # every tick a new year: years alone
    ([date(2020, 1, 1), date(2022, 1, 1), date(2024, 1, 1)], ["2020", "2022", "2024"]),
    # months: the first tick and January carry the year
    ([date(2025, 9, 1), date(2025, 11, 1), date(2026, 1, 1)], ["Sep\n2025", "Nov", "Jan\n2026"]),
    # days: the first tick carries the year, so the 1m chart's first tick is never bare
    ([date(2025, 10, 6), date(2025, 10, 13), date(2025, 10, 20)], ["Oct 6\n2025", "Oct 13", "Oct 20"]),
    ([date(2025, 12, 22), date(2025, 12, 29), date(2026, 1, 5)], ["Dec 22\n2025", "Dec 29", "Jan 5\n2026"]),
    ([], []),
]


@pytest.mark.parametrize(("days", "labels"), TICK_CASES)
def test_ticks_always_say_the_year(days: list[date], labels: list[str]) -> None:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    assert tick_labels(days, months, "{month} {day}") == labels


# ---------------------------------------------------------------------------------------------------------
# The corridor: the band in effect each day, breaches marked
# ---------------------------------------------------------------------------------------------------------


def test_the_band_on_the_day_a_new_range_takes_effect_is_that_range() -> None:
    # 2025-10-30: the cut to 3.75-4.00 takes effect and SOFR prints 4.04, a breach /corridor reports.
    data = chart_data(seeded("month_end_2025"), "corridor", "2025-09-30", "2025-10-30", "en")
    assert data is not None and data.band is not None
    floor, ceiling = data.band
    assert dict(zip(ceiling.dates, ceiling.values, strict=True))["2025-10-30"] == 4.00
    assert dict(zip(floor.dates, floor.values, strict=True))["2025-10-30"] == 3.75
    fill = _band_fill(data)
    assert _inside(fill, "2025-10-30", 3.80) and _inside(fill, "2025-10-30", 3.99)
    assert not _inside(
        fill, "2025-10-30", 4.02
    )  # SOFR's 4.04 is drawn above the band, not inside the old one
    assert _inside(fill, "2025-10-29", 4.20) and not _inside(fill, "2025-10-29", 3.80)
    breach = _by_role(data, "breach", "points")
    assert breach.dates[-1] == "2025-10-30" and breach.values[-1] == 4.04


def test_the_2019_09_19_cut_steps_the_band_on_its_day() -> None:
    db = seeded("long_history")
    data = chart_data(db, "corridor", "2019-08-19", "2019-10-18", "en")
    assert data is not None
    fill = _band_fill(data)
    assert _inside(fill, "2019-09-18", 2.20) and not _inside(fill, "2019-09-18", 1.80)
    assert _inside(fill, "2019-09-19", 1.80) and not _inside(fill, "2019-09-19", 2.05)
    assert _inside(fill, "2019-09-20", 1.95)


BREACH_CASES = [
    # scenario, since, until, breach days, ceiling under each
    ("repo_spike_2019", "2019-08-01", "2019-09-17", ("2019-09-16", "2019-09-17"), (2.25, 2.25)),
    (
        "month_end_2025",
        "2025-09-30",
        "2025-10-31",
        ("2025-10-27", "2025-10-28", "2025-10-29", "2025-10-30", "2025-10-31"),
        (4.25, 4.25, 4.25, 4.00, 4.00),
    ),
    ("calm_2024", "2024-05-06", "2024-06-06", (), ()),
    ("srf_feb_2026", "2026-01-12", "2026-02-18", (), ()),  # 3.73 stays under the 3.75 ceiling
]


@pytest.mark.parametrize(("scenario", "since", "until", "days", "ceilings"), BREACH_CASES)
def test_breaches_are_marked_with_their_gap(
    scenario: str, since: str, until: str, days: tuple[str, ...], ceilings: tuple[float, ...]
) -> None:
    data = chart_data(seeded(scenario), "corridor", since, until, "en")
    assert data is not None
    marks = [s for s in data.series if s.role == "breach"]
    if not days:
        assert marks == []
        return
    points = _by_role(data, "breach", "points")
    gap = _by_role(data, "breach", "gap")
    assert points.dates == gap.dates == days
    assert gap.base == ceilings
    sofr = dict(zip(data.series[0].dates, data.series[0].values, strict=True))
    assert points.values == tuple(sofr[d] for d in days)
    fig = build_figure(data)
    assert next(c for c in fig.axes[0].collections if c.get_gid() == "breach").get_offsets().shape == (
        len(days),
        2,
    )
    assert [c for c in fig.axes[0].collections if c.get_gid() == "gap"]


def test_corridor_draws_the_percentile_range_iorb_dashed_and_effr() -> None:
    data = chart_data(seeded("month_end_2025"), "corridor", "2025-09-30", "2025-10-31", "en")
    assert data is not None
    (pct,) = [b for b in data.panels[0].bands if b.role == "percentile"]
    assert pct.label == "1st\u201399th pct"
    assert pct.lower.values == (3.95, 4.05) and pct.upper.values == (4.25, 4.45)
    assert _series(data, "IORB").style == "dashed"
    assert _series(data, "EFFR").values == (3.87,)


def test_thinning_keeps_the_spikes_above_the_ceiling() -> None:
    require_real_sofr_history()
    db = seeded("long_history")
    upper = {p.date: p.value for p in history(db, "fed_upper")}
    spikes = sorted(((p.value - upper[p.date], p.date) for p in history(db, "sofr")), reverse=True)[:6]
    assert [d for _, d in spikes][:3] == ["2019-09-17", "2019-01-02", "2018-12-31"]
    data = chart_data(db, "corridor", "0000-00-00", "2026-07-30", "en")
    assert data is not None
    kept = set(_by_role(data, "breach", "points").dates)
    assert [d for _, d in spikes if d not in kept] == []


def test_long_lines_are_thinned_keeping_every_bucket_extreme() -> None:
    start = date(2000, 1, 3)
    points = [Point((start + timedelta(days=i)).isoformat(), 2.0 + np.sin(i / 50)) for i in range(9000)]
    points[4321] = Point(points[4321].date, 9.0)
    points[4322] = Point(points[4322].date, 8.5)
    thinned = _thin(points)
    assert len(thinned) <= 2501
    kept = {p.date for p in thinned}
    assert points[4321].date in kept and points[0].date in kept and points[-1].date in kept
    assert [p.date for p in thinned] == sorted(kept)
    assert max(p.value for p in thinned) == 9.0
    assert min(p.value for p in thinned) == min(p.value for p in points)


# ---------------------------------------------------------------------------------------------------------
# Spread and ladder
# ---------------------------------------------------------------------------------------------------------


def test_spread_is_sofr_minus_the_ceiling_over_srf_bars_on_the_same_dates() -> None:
    data = chart_data(seeded("month_end_2025"), "spread", "2025-09-30", "2025-10-31", "en")
    assert data is not None
    top, below = data.panels
    assert top.zero_line and top.unit == "SOFR \u2212 ceiling, bp"
    spread = dict(zip(top.series[0].dates, top.series[0].values, strict=True))
    assert spread["2025-10-29"] == 2.0 and spread["2025-10-30"] == 4.0 and spread["2025-10-31"] == 22.0
    assert spread["2025-10-24"] == -1.0
    (above,) = top.bands
    assert dict(zip(above.upper.dates, above.upper.values, strict=True))["2025-10-24"] == 0.0
    assert set(above.lower.values) == {0.0}
    am, pm = below.series
    assert am.dates == pm.dates == ("2025-10-31",)
    assert (am.values, pm.values, pm.base) == ((21.0,), (29.35,), (21.0,))
    fig = build_figure(data)
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()


def test_ladder_lines_are_the_rate_hierarchy() -> None:
    data = chart_data(seeded("month_end_2025"), "ladder", "2025-09-30", "2025-10-31", "en")
    assert data is not None
    labels = [s.label for s in data.series]
    assert labels == ["Ceiling (SRF rate)", "Floor (ON RRP rate)", "IORB", "SOFR", "EFFR"]
    assert all(s.latest for s in data.series)
    ceiling = dict(
        zip(
            _series(data, "Ceiling (SRF rate)").dates, _series(data, "Ceiling (SRF rate)").values, strict=True
        )
    )
    floor = dict(
        zip(
            _series(data, "Floor (ON RRP rate)").dates,
            _series(data, "Floor (ON RRP rate)").values,
            strict=True,
        )
    )
    assert ceiling["2025-10-29"] == 4.25 and ceiling["2025-10-30"] == 4.00
    assert floor["2025-10-29"] == 4.00 and floor["2025-10-30"] == 3.75  # the ON RRP award rate
    tags = sorted(t.get_text() for t in build_figure(data).axes[0].texts if t.get_gid() == "latest")
    assert tags == ["3.75%", "3.87%", "3.90%", "4.00%", "4.22%"]


# ---------------------------------------------------------------------------------------------------------
# SRF: AM/PM stacks, SVEs excluded, sums for long ranges
# ---------------------------------------------------------------------------------------------------------


def test_srf_bars_stack_am_under_pm_and_leave_out_the_sve() -> None:
    data = chart_data(seeded("srf_feb_2026"), "srf", "2026-01-19", "2026-02-18", "en")
    assert data is not None
    am, pm = data.series
    assert (am.style, pm.style, am.label, pm.label) == ("bars", "bars", "SRF morning", "SRF afternoon")
    totals = {d: round(a + p, 6) for d, a, p in zip(am.dates, am.values, pm.values, strict=True)}
    assert totals == {
        "2026-02-10": 0.1,
        "2026-02-11": 0.008,
        "2026-02-12": 0.0,
        "2026-02-13": 0.0,
        "2026-02-17": 30.5,
        "2026-02-18": 0.004,  # the 0.056 Small Value Exercise is not take-up
    }
    i = am.dates.index("2026-02-17")
    assert (am.values[i], pm.values[i], pm.base[i]) == (11.0, 19.5, 11.0)
    assert [pm.dates[n] for n in pm.notes] == ["2026-02-17"]  # $0.1B beside $30.5B is not tagged
    notes = [t.get_text() for t in build_figure(data).axes[0].texts if t.get_gid() != "latest"]
    assert "$30.50B" in notes
    assert data.subtitle == "2026-02-10 to 2026-02-18"


def test_the_month_end_record_is_labelled() -> None:
    data = chart_data(seeded("month_end_2025"), "srf", "0000-00-00", "2025-10-31", "en")
    assert data is not None
    am, pm = data.series
    assert am.dates == ("2025-10-31",) and am.values == (21.0,) and pm.values == (29.35,)
    assert pm.notes == () and pm.tag == "$50.35B"  # the last bar's amount is its latest-value tag
    assert "$50.35B" in [t.get_text() for t in build_figure(data).axes[0].texts]
    _check_png(render_png(data))


# ---------------------------------------------------------------------------------------------------------
# 25 years of every series, one day of every series, and nothing at all
# ---------------------------------------------------------------------------------------------------------

LONG_START, LONG_END = date(2001, 7, 2), date(2026, 6, 30)
LONG_NOW = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def _range_on(iso: str) -> tuple[float, float]:
    before = [r for r in TARGET_RANGES if r[0] <= iso]
    if not before:  # before 2018: a synthetic 2.00-2.25 range stepping once a year
        year = int(iso[:4])
        low = 0.25 * ((year * 7) % 20)
        return low, low + 0.25
    return before[-1][1], before[-1][2]


@cache
def _long_ops() -> tuple[Operation, ...]:
    ops: list[Operation] = []
    day = date(2021, 7, 29)
    n = 0
    while day <= LONG_END:
        if day.weekday() < 5:
            iso = day.isoformat()
            n += 1
            low, high = _range_on(iso)
            amount = 50.35 if day.month == 10 and day.day == 31 else (1.5 if n % 23 == 0 else 0.0)
            tag = day.strftime("%m%d%y")
            if iso >= "2025-06-26":
                ops.append(
                    srf_op(
                        f"RP {tag} 25",
                        iso,
                        "AM",
                        "08:30",
                        amount * 0.4,
                        amount * 0.4,
                        0,
                        0,
                        high,
                        "Multiple Price",
                        f"{iso} 08:31:00",
                    )
                )
            ops.append(
                srf_op(
                    f"RP {tag} 27",
                    iso,
                    "PM",
                    "13:45",
                    amount * 0.6,
                    amount * 0.6,
                    0,
                    0,
                    high,
                    "Multiple Price",
                    f"{iso} 13:46:00",
                )
            )
            if n % 97 == 0:
                ops.append(
                    srf_op(
                        f"RP {tag} 28",
                        iso,
                        "",
                        "10:45",
                        0.05,
                        0.05,
                        0,
                        0,
                        high,
                        "Multiple Price",
                        f"{iso} 10:47:00",
                        is_sve=True,
                    )
                )
            ops.append(rrp_op(iso, 100.0 + n % 400, low, 26))
        day += timedelta(days=1)
    return tuple(ops)


def _long_db() -> sqlite_utils.Database:
    """25 years of every series a chart draws (synthetic levels, real target ranges since 2018)."""
    db = open_db(":memory:")
    at = ny(2026, 7, 1, 9, 0)
    days = [LONG_START + timedelta(days=i) for i in range((LONG_END - LONG_START).days + 1)]
    isos = [d.isoformat() for d in days]
    business = [d.isoformat() for d in days if d.weekday() < 5]
    ranges = {d: _range_on(d) for d in isos}
    store(db, "fed_lower", {d: r[0] for d, r in ranges.items()}, "fred", at)
    store(db, "fed_upper", {d: r[1] for d, r in ranges.items()}, "fred", at)
    store(db, "iorb", {d: r[1] - 0.10 for d, r in ranges.items() if d >= "2021-07-29"}, "fred", at)
    wave = {d: 0.12 * np.sin(i / 9) for i, d in enumerate(business)}
    sofr = {d: round(ranges[d][0] + 0.15 + wave[d], 2) for d in business}
    sofr["2019-09-17"] = 5.25
    store(db, "sofr", sofr, "nyfed", at)
    store(db, "effr", {d: round(ranges[d][0] + 0.08, 2) for d in business}, "nyfed", at)
    for name, offset in (("sofr_p1", -0.10), ("sofr_p25", -0.02), ("sofr_p75", 0.02), ("sofr_p99", 0.20)):
        store(db, name, {d: round(v + offset, 2) for d, v in sofr.items() if d >= "2018-04-03"}, "nyfed", at)
    store(
        db,
        "sofr_volume",
        {d: 1000.0 + i % 2500 for i, d in enumerate(business) if d >= "2018-04-03"},
        "nyfed",
        at,
    )
    store(
        db,
        "tga",
        {d: 300.0 + (i * 7) % 700 for i, d in enumerate(business) if d >= "2005-10-03"},
        "fiscaldata",
        at,
    )
    wednesdays = [d.isoformat() for d in days if d.weekday() == 2]
    store(db, "fed_assets", {d: 900.0 + i * 2.2 for i, d in enumerate(wednesdays)}, "fred", at)
    # The chain's links: debt daily since 2005, the DVP proxy with SOFR's volume, weekly custody and banks.
    store(
        db,
        "public_debt",
        {d: 7900.0 + i * 5.0 for i, d in enumerate(business) if d >= "2005-10-03"},
        "treasury",
        at,
    )
    store(
        db,
        "dvp_volume",
        {d: 600.0 + i % 1500 for i, d in enumerate(business) if d >= "2018-04-03"},
        "derived",
        at,
    )
    store(db, "custody", {d: 1800.0 + (i % 400) for i, d in enumerate(wednesdays)}, "fred", at)
    store(db, "bank_treasuries", {d: 1500.0 + i * 2.0 for i, d in enumerate(wednesdays)}, "fred", at)
    store_operations(db, _long_ops(), at)
    derive_net_liquidity(db, at)
    return db


@cache
def _long_db_cached() -> sqlite_utils.Database:
    return _long_db()


def _one_day_db() -> sqlite_utils.Database:
    db = open_db(":memory:")
    at = ny(2025, 11, 3, 9, 5)
    day = "2025-10-31"
    for series, value, source in (
        ("sofr", 4.22, "nyfed"),
        ("sofr_p1", 4.05, "nyfed"),
        ("sofr_p99", 4.45, "nyfed"),
        ("sofr_volume", 3116.0, "nyfed"),
        ("effr", 3.87, "nyfed"),
        ("fed_lower", 3.75, "fred"),
        ("fed_upper", 4.00, "fred"),
        ("iorb", 3.90, "fred"),
        ("tga", 1000.632, "fiscaldata"),
        ("fed_assets", 6587.034, "fred"),
        ("public_debt", 38040.0, "treasury"),
        ("dvp_volume", 1850.0, "derived"),
    ):
        store(db, series, {day: value}, source, at)
    store_operations(
        db,
        [
            srf_op(
                "RP 103125 25",
                day,
                "AM",
                "08:30",
                21.0,
                14.0,
                0.0,
                7.0,
                4.00,
                "Multiple Price",
                f"{day} 08:31:00",
            ),
            srf_op(
                "RP 103125 27",
                day,
                "PM",
                "13:45",
                29.35,
                20.0,
                0.0,
                9.35,
                4.00,
                "Multiple Price",
                f"{day} 13:46:00",
            ),
            rrp_op(day, 51.795, 3.75),
        ],
        at,
    )
    derive_net_liquidity(db, at)
    return db


def _check_model(data: ChartData, since: str, until: str) -> None:
    assert data.until == until and since <= data.since <= until
    for panel in data.panels:
        for s in panel.series:
            assert len(s.dates) == len(s.values)
            assert not s.base or len(s.base) == len(s.values)
            assert list(s.dates) == sorted(s.dates)
            assert all(since <= d <= until for d in s.dates)
            assert all(np.isfinite(s.values))
            assert len(s.dates) <= 2501
        for band in panel.bands:
            assert band.lower.dates == band.upper.dates


@pytest.mark.parametrize("span", list(RANGES))
@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_kind_at_every_range_on_25_years(kind: str, span: str) -> None:
    db = _long_db_cached()
    since, until = chart_window(db, kind, span, LONG_NOW)
    data = chart_data(db, kind, since, until, "en")
    assert data is not None
    _check_model(data, since, until)
    if kind in ("srf", "spread"):
        panel = data.panels[-1]
        width = panel.series[0].width
        assert width == {"1m": 1.0, "3m": 1.0, "1y": 7.0, "5y": 30.0, "max": 30.0}[span]
        assert len(panel.series[0].dates) <= 200  # a bar is always several pixels wide
    _check_png(render_png(data))


@pytest.mark.parametrize("span", list(RANGES))
@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_kind_at_every_range_on_one_day(kind: str, span: str) -> None:
    db = _one_day_db()
    since, until = chart_window(db, kind, span, LONG_NOW)
    data = chart_data(db, kind, since, until, "en")
    assert data is not None
    _check_model(data, since, until)
    assert data.since == data.until
    _check_png(render_png(data))


@pytest.mark.parametrize("span", list(RANGES))
@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_kind_at_every_range_on_nothing(kind: str, span: str) -> None:
    db = seeded("empty")
    since, until = chart_window(db, kind, span, LONG_NOW)
    assert chart_data(db, kind, since, until, "en") is None


AGGREGATION_CASES = [
    ("2026-05-01", "2026-06-30", 1.0),  # 2 months: every day
    ("2025-07-01", "2026-06-30", 7.0),  # a year: weekly sums from Monday
    ("2021-07-29", "2026-06-30", 30.0),  # the facility's life: monthly sums
]


@pytest.mark.parametrize(("since", "until", "width"), AGGREGATION_CASES)
def test_srf_sums_keep_every_dollar_and_no_sve(since: str, until: str, width: float) -> None:
    db = _long_db_cached()
    span = (date.fromisoformat(until) - date.fromisoformat(since)).days + 1
    am, pm, note = srf_bars(db, since, until, span, "en")
    assert am.width == pm.width == width
    assert note == {1.0: "", 7.0: "weekly sums", 30.0: "monthly sums"}[width]
    expected = sum(
        op.total_accepted
        for op in _long_ops()
        if op.operation_type == "Repo" and not op.is_sve and since <= op.operation_date <= until
    )
    assert sum(am.values) + sum(pm.values) == pytest.approx(expected)
    for d in am.dates:
        start = date.fromisoformat(d)
        assert width != 7.0 or start.weekday() == 0
        assert width != 30.0 or start.day == 1
    positive = [i for i, (a, p) in enumerate(zip(am.values, pm.values, strict=True)) if a + p > 0]
    totals = [am.values[i] + pm.values[i] for i in range(len(am.values))]
    assert len(pm.notes) <= 3 and set(pm.notes) <= set(positive)
    assert totals.index(max(totals)) in (*pm.notes, len(totals) - 1)
    assert pm.tag == f"${totals[-1]:,.2f}B"


def test_rendering_in_worker_threads() -> None:
    data = chart_data(seeded("long_history"), "corridor", "0000-00-00", "2026-07-30", "en")
    assert data is not None
    with ThreadPoolExecutor(max_workers=4) as pool:
        pngs = list(pool.map(render_png, [data] * 4))
    for png in pngs:
        _check_png(png)


def test_a_panel_of_no_bars_still_draws() -> None:
    # /chart spread before the SRF existed (2019): the take-up panel is there, empty, on the same dates.
    data = chart_data(seeded("repo_spike_2019"), "spread", "2019-08-01", "2019-09-17", "en")
    assert data is not None
    assert data.panels[1].series[0].dates == ()
    _check_png(render_png(data))
    empty = ChartData("t", (ChartPanel("%", (ChartSeries("x", (), ()),)),))
    _check_png(render_png(empty))


def test_tga_target_line_spans_the_chart() -> None:
    data = chart_data(seeded("june_2026"), "tga", "2026-03-23", "2026-06-23", "en")
    assert data is not None
    tga, target = data.series
    assert tga.values[-1] == 925.876
    assert target.style == "dashed" and target.values == (850.0, 850.0)
    assert (target.dates[0], target.dates[-1]) == (tga.dates[0], tga.dates[-1])


def test_liquidity_shows_its_three_components() -> None:
    data = chart_data(seeded("june_2026"), "liquidity", "0000-00-00", "2026-06-24", "en")
    assert data is not None
    assert [s.label for s in data.panels[0].series] == ["Net liquidity", "Fed total assets"]
    assert [s.label for s in data.panels[1].series] == ["TGA", "ON RRP"]
    assert data.panels[1].unit == "Subtracted, $bn"


def test_every_chart_word_comes_from_the_catalog() -> None:
    from bot.words.messages import EN

    data = chart_data(seeded("month_end_2025"), "spread", "2025-09-30", "2025-10-31", "en")
    assert data is not None
    words = {data.title, *(p.unit for p in data.panels), *(s.label for p in data.panels for s in p.series)}
    words |= {b.label for p in data.panels for b in p.bands}
    catalog = set(EN.values())
    assert words <= catalog, words - catalog
