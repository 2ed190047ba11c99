from __future__ import annotations

import pytest

from bot.sources.derived import net_liquidity
from storage.observations import Point


def pts(*pairs: tuple[str, float]) -> list[Point]:
    return [Point(d, v) for d, v in pairs]


def test_as_of_join_uses_latest_input_on_or_before_each_date() -> None:
    # Weekly Wednesday assets, daily TGA and RRP.
    assets = pts(("2026-02-11", 6600.0), ("2026-02-18", 6610.0))
    tga = pts(("2026-02-12", 900.0), ("2026-02-13", 905.0), ("2026-02-18", 880.0), ("2026-02-19", 870.0))
    rrp = pts(("2026-02-12", 2.844), ("2026-02-13", 0.377), ("2026-02-17", 0.441), ("2026-02-19", 0.632))
    out = {o.date: o.value for o in net_liquidity(assets, tga, rrp)}
    assert "2026-02-11" not in out  # no TGA or RRP yet
    assert out["2026-02-12"] == pytest.approx(6600 - 900 - 2.844)
    assert out["2026-02-13"] == pytest.approx(6600 - 905 - 0.377)
    assert out["2026-02-17"] == pytest.approx(6600 - 905 - 0.441)
    assert out["2026-02-18"] == pytest.approx(6610 - 880 - 0.441)
    assert out["2026-02-19"] == pytest.approx(6610 - 870 - 0.632)


def test_since_limits_output_but_not_lookback() -> None:
    assets = pts(("2026-02-11", 6600.0))
    tga = pts(("2026-02-12", 900.0), ("2026-02-19", 870.0))
    rrp = pts(("2026-02-12", 1.0))
    out = net_liquidity(assets, tga, rrp, since="2026-02-19")
    assert [(o.date, o.value) for o in out] == [("2026-02-19", 6600 - 870 - 1.0)]


def test_missing_input_is_never_treated_as_zero() -> None:
    assert net_liquidity(pts(("2026-02-11", 6600.0)), pts(("2026-02-12", 900.0)), []) == []


def test_a_stopped_input_feed_ends_net_liquidity_instead_of_ageing_silently() -> None:
    # The TGA feed stops after 2026-01-16; ON RRP and assets go on. The Thanksgiving-style 4-day gap is fine,
    # but a TGA more than a week old is never used (the issue saw 26 rows on a TGA up to 38 days old).
    assets = pts(("2026-01-14", 6600.0), ("2026-01-21", 6610.0), ("2026-01-28", 6620.0))
    tga = pts(("2026-01-14", 900.0), ("2026-01-16", 905.0))
    rrp = pts(*((f"2026-01-{d:02d}", 1.0) for d in (14, 16, 20, 21, 22, 23, 26, 27)))
    out = {o.date: o.value for o in net_liquidity(assets, tga, rrp)}
    assert out["2026-01-20"] == pytest.approx(6600 - 905 - 1.0)  # Tuesday after the MLK weekend: 4 days
    assert out["2026-01-23"] == pytest.approx(6610 - 905 - 1.0)  # 7 days: still inside the allowance
    assert "2026-01-26" not in out and "2026-01-27" not in out and "2026-01-28" not in out
