"""bot.render.charts.render_png on the ChartData /chart reads from seeded databases of real market days."""

from __future__ import annotations

import io
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import matplotlib.image
import numpy as np
import pytest

from bot.render.charts import render_png
from bot.words.reply import ChartData, ChartSeries
from handlers.chart_command import CHART_KINDS, RANGES, _thin, chart_data
from storage.observations import Point, history
from tests.seed import require_real_sofr_history, seed_chain, seeded

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 200 * 1024
WIDTH, HEIGHT = 880, 495  # 8 x 4.5 in at 110 dpi

# Which seeded day has data for each chart kind, and the chart's last date.
KIND_SCENARIO = {
    "corridor": ("month_end_2025", "2025-10-31"),
    "srf": ("srf_feb_2026", "2026-02-18"),
    "rrp": ("calm_2024", "2024-06-07"),
    "tga": ("june_2026", "2026-06-23"),
    "liquidity": ("june_2026", "2026-06-24"),
    "sofr": ("calm_2024", "2024-06-06"),
    "debt": ("month_end_2025", "2025-10-31"),
    "buyers": ("month_end_2025", "2025-10-31"),
}


def _size(png: bytes) -> tuple[int, int]:
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _check_png(png: bytes) -> None:
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < MAX_BYTES
    assert _size(png) == (WIDTH, HEIGHT)
    assert png.endswith(b"IEND\xaeB`\x82")


def _band_pixels(png: bytes) -> int:
    """Pixels of the corridor band colour (#a9cce3 at 45 % over white)."""
    image = matplotlib.image.imread(io.BytesIO(png), format="png")[:, :, :3] * 255
    target = 255 - 0.45 * (255 - np.array([0xA9, 0xCC, 0xE3]))
    return int((np.abs(image - target).max(axis=2) < 6).sum())


def _since(until: str, span: str) -> str:
    days = RANGES[span]
    return "0000-00-00" if days is None else (date.fromisoformat(until) - timedelta(days=days)).isoformat()


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_kind_renders(kind: str) -> None:
    scenario, until = KIND_SCENARIO[kind]
    db = seeded(scenario)
    if kind in ("debt", "buyers"):
        seed_chain(db)
    data = chart_data(db, kind, _since(until, "3m"), until, "en")
    assert data is not None
    assert data.series[0].dates[-1] == until
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


@pytest.mark.parametrize("span", list(RANGES))
def test_every_range_of_the_long_corridor_renders(span: str) -> None:
    db = seeded("long_history")
    data = chart_data(db, "corridor", _since("2026-07-30", span), "2026-07-30", "en")
    assert data is not None and data.band is not None
    _check_png(render_png(data))


def test_corridor_band_is_drawn() -> None:
    db = seeded("month_end_2025")
    data = chart_data(db, "corridor", "2025-07-31", "2025-10-31", "en")
    assert data is not None and data.band is not None
    with_band = render_png(data)
    without_band = render_png(ChartData(data.title, data.unit, data.series))
    assert _band_pixels(with_band) > 5000
    assert _band_pixels(without_band) == 0


def test_sofr_percentile_band_is_drawn() -> None:
    data = chart_data(seeded("calm_2024"), "sofr", "2024-05-06", "2024-06-06", "en")
    assert data is not None and data.band is not None
    assert data.subtitle == "1st\u201399th pct"
    assert _band_pixels(render_png(data)) > 500


def test_long_lines_are_thinned_keeping_every_bucket_extreme() -> None:
    start = date(2000, 1, 3)
    points = [Point((start + timedelta(days=i)).isoformat(), 2.0 + np.sin(i / 50)) for i in range(9000)]
    points[4321] = Point(points[4321].date, 9.0)  # a one-day spike
    points[4322] = Point(points[4322].date, 8.5)  # and its neighbour
    thinned = _thin(points)
    assert len(thinned) <= 2501
    kept = {p.date for p in thinned}
    assert points[4321].date in kept and points[0].date in kept and points[-1].date in kept
    assert [p.date for p in thinned] == sorted(kept)
    assert max(p.value for p in thinned) == 9.0 and min(p.value for p in thinned) == min(
        p.value for p in points
    )


def test_the_max_corridor_chart_draws_every_print_and_renders() -> None:
    db = seeded("long_history")
    data = chart_data(db, "corridor", "0000-00-00", "2026-07-30", "en")
    assert data is not None and data.band is not None
    sofr = data.series[0]
    assert sofr.label == "SOFR"
    assert len(sofr.dates) == len(history(db, "sofr"))  # 2,079 prints: under the thinning limit
    assert sofr.dates[0] == "2018-04-03" and sofr.dates[-1] == "2026-07-30"
    assert list(sofr.dates) == sorted(sofr.dates)
    floor, ceiling = data.band
    assert len(floor.dates) <= 2501 and len(ceiling.dates) <= 2501
    assert ceiling.dates[-1] == "2026-07-30" and ceiling.values[-1] == 3.75
    png = render_png(data)
    _check_png(png)
    assert _band_pixels(png) > 5000


def test_thinning_keeps_the_spikes_above_the_ceiling() -> None:
    require_real_sofr_history()
    # The 'max' corridor chart has 2,079 SOFR prints, thinned to 1,500 by taking every n-th point. The days
    # SOFR broke through the ceiling are what the chart is for: they must survive thinning.
    db = seeded("long_history")
    upper = {p.date: p.value for p in history(db, "fed_upper")}
    spikes = sorted(((p.value - upper[p.date], p.date) for p in history(db, "sofr")), reverse=True)[:6]
    assert [d for _, d in spikes][:3] == ["2019-09-17", "2019-01-02", "2018-12-31"]
    data = chart_data(db, "corridor", "0000-00-00", "2026-07-30", "en")
    assert data is not None
    kept = dict(zip(data.series[0].dates, data.series[0].values, strict=True))
    assert [d for _, d in spikes if d not in kept] == []


def test_unthinned_series_of_2500_points_still_render_small() -> None:
    start = date(2016, 1, 4)
    days = tuple((start + timedelta(days=i)).isoformat() for i in range(2500))
    wave = tuple(2.0 + np.sin(i / 40) for i in range(2500))
    data = ChartData(
        "SOFR",
        "%",
        (ChartSeries("SOFR", days, wave), ChartSeries("EFFR", days, tuple(v - 0.05 for v in wave))),
        band=(
            ChartSeries("floor", days, tuple(1.0 for _ in days), "step"),
            ChartSeries("ceiling", days, tuple(3.5 for _ in days), "step"),
        ),
    )
    _check_png(render_png(data))


def test_two_thousand_srf_bars_render_small() -> None:
    start = date(2021, 7, 29)
    days = tuple((start + timedelta(days=i)).isoformat() for i in range(2000))
    values = tuple(50.35 if i % 97 == 0 else 0.0 for i in range(2000))
    _check_png(
        render_png(
            ChartData("Standing Repo Facility take-up", "$bn", (ChartSeries("SRF", days, values, "bars"),))
        )
    )


def test_a_single_srf_day_renders() -> None:
    # 2025-10-31 is the only SRF day stored in the month-end scenario: one bar, one date on the axis.
    data = chart_data(seeded("month_end_2025"), "srf", "0000-00-00", "2025-10-31", "en")
    assert data is not None
    assert data.series[0].dates == ("2025-10-31",) and data.series[0].values == (50.35,)
    _check_png(render_png(data))


def test_tga_target_line_spans_the_chart() -> None:
    data = chart_data(seeded("june_2026"), "tga", "2026-03-23", "2026-06-23", "en")
    assert data is not None
    tga, target = data.series
    assert tga.values[-1] == 925.876
    assert target.style == "dashed" and target.values == (850.0, 850.0)
    assert (target.dates[0], target.dates[-1]) == (tga.dates[0], tga.dates[-1])
    _check_png(render_png(data))


def test_rendering_in_worker_threads() -> None:
    db = seeded("long_history")
    data = chart_data(db, "corridor", "0000-00-00", "2026-07-30", "en")
    assert data is not None
    with ThreadPoolExecutor(max_workers=4) as pool:
        pngs = list(pool.map(render_png, [data] * 4))
    for png in pngs:
        _check_png(png)
