"""Derived series: net liquidity = Fed total assets - TGA - ON RRP, as-of joined."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date

from bot.core.models import Observation
from storage.observations import Point

SOURCE = "derived"

# The oldest input value a date may use, in calendar days: a weekly H.4.1 figure stays current for a
# week plus a late release; the daily TGA and ON RRP never skip more than a long holiday weekend.
MAX_INPUT_AGE_DAYS: tuple[int, int, int] = (13, 7, 7)


def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


def net_liquidity(
    fed_assets: Sequence[Point], tga: Sequence[Point], rrp: Sequence[Point], since: str = ""
) -> list[Observation]:
    """For each date any input has a value (on or after since), the latest of each input on or before it.

    A date whose input is older than MAX_INPUT_AGE_DAYS (a feed that stopped) gets no value at all.
    """
    inputs = (fed_assets, tga, rrp)
    keys = [[p.date for p in s] for s in inputs]
    if not all(keys):
        return []
    # No date before every input has begun can have a value (ON RRP's began in 2013, the rest earlier).
    since = max(since, *(k[0] for k in keys))
    # Each date read once (25 years are 9,000 of them), not once per input and per day.
    ordinals = [[_ordinal(d) for d in k] for k in keys]
    days = sorted({d for k in keys for d in k if d >= since})
    out: list[Observation] = []
    for day in days:
        today = _ordinal(day)
        values: list[float] = []
        for points, dates, when, max_age in zip(inputs, keys, ordinals, MAX_INPUT_AGE_DAYS, strict=True):
            i = bisect_right(dates, day)
            if not i or today - when[i - 1] > max_age:
                break
            values.append(points[i - 1].value)
        else:
            assets, cash, repo = values
            out.append(Observation("net_liquidity", day, round(assets - cash - repo, 6), SOURCE))
    return out


def dvp_proxy(
    sofr_volume: Sequence[Point], bgcr_volume: Sequence[Point], since: str = ""
) -> list[Observation]:
    """SOFR volume - BGCR volume on the dates both exist: SOFR is BGCR plus filtered FICC DVP repo, so the
    difference approximates the DVP segment where relative-value funds finance their Treasury longs."""
    bgcr = {p.date: p.value for p in bgcr_volume}
    return [
        Observation("dvp_volume", p.date, round(p.value - bgcr[p.date], 6), SOURCE)
        for p in sofr_volume
        if p.date >= since and p.date in bgcr and p.value >= bgcr[p.date]
    ]
