"""Deterministic money-market history in the sources' original wire units, for the fake data APIs.

Series are keyed by canonical id (plus a few wire-only extras such as `effr_p1` and `fed_target`); values are
in the units the source publishes: percent for rates, billions for NY Fed volumes, millions for FRED's H.4.1
series and the Daily Treasury Statement. Operations are dicts in the exact NY Fed JSON shape, amounts in USD.
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

Operation = dict[str, Any]

SOFR_START = date(2018, 4, 3)
EFFR_START = date(2000, 7, 3)
EFFR_DETAIL_START = date(2016, 3, 1)  # percentiles and volume exist from the FR 2420 methodology on
RANGE_START = date(2008, 12, 16)  # DFEDTARU/DFEDTARL; a single target (DFEDTAR) before
WALCL_START = date(2002, 12, 18)
TGA_START = date(2005, 10, 3)
TGA_ERA_TGA = date(2021, 10, 1)  # "Treasury General Account (TGA)" rows
TGA_ERA_FOUR_ROWS = date(2022, 4, 18)  # four rows a day, closing value in open_today_bal
RRP_START = date(2013, 9, 23)
SRF_START = date(2021, 7, 29)
IORB_START = date(2021, 7, 29)
SRF_AM_START = date(2025, 6, 26)  # morning SRP operations were added in June 2025
FULL_ALLOTMENT_START = date(2025, 12, 11)

RATE_SERIES = {
    "sofr": ("sofr", "sofr_p1", "sofr_p25", "sofr_p75", "sofr_p99", "sofr_volume"),
    "effr": ("effr", "effr_p1", "effr_p25", "effr_p75", "effr_p99", "effr_volume"),
    "bgcr": ("bgcr", "bgcr_p1", "bgcr_p25", "bgcr_p75", "bgcr_p99", "bgcr_volume"),
    "tgcr": ("tgcr", "tgcr_p1", "tgcr_p25", "tgcr_p75", "tgcr_p99", "tgcr_volume"),
}
# BGCR and TGCR on 2026-02-05 as published in rates/all/latest: (rate, p1, p25, p75, p99, volume).
_GC_REAL = {
    "bgcr": (3.63, 3.55, 3.63, 3.63, 3.69, 1318),
    "tgcr": (3.63, 3.55, 3.63, 3.63, 3.66, 1290),
}

SVE_NOTE = (
    "<p>This operation is a Small Value Exercise (SVE); the afternoon SRP operation will still take place "
    "at its regularly scheduled time, 1:30pm ET.</p>"
)
_SVE_NOTE_OLD = "<p>This operation is a Small Value Exercise (SVE).</p>"

_SESSION_TIMES = {"AM": ("08:15", "08:30"), "PM": ("13:30", "13:45"), "SVE": ("10:30", "10:45")}
_SESSION_SEQ = {"AM": 25, "PM": 27, "SVE": 28}
_RRP_SEQ = 26


# ---------------------------------------------------------------------------------------------------------
# Calendar


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@lru_cache(maxsize=256)
def us_holidays(year: int) -> frozenset[date]:
    """Federal Reserve holidays: a Sunday holiday moves to Monday, a Saturday one is not observed."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 11, 11), date(year, 12, 25)]
    if year >= 2022:
        fixed.append(date(year, 6, 19))
    days = {d + timedelta(days=1) if d.weekday() == 6 else d for d in fixed if d.weekday() != 5}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    return frozenset(days)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in us_holidays(day.year)


def next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def business_days(start: date, end: date) -> list[date]:
    return [d for d in days_between(start, end) if is_business_day(d)]


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def is_month_end(day: date) -> bool:
    """The last business day of its month."""
    return next_business_day(day).month != day.month


def _as_date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else date.fromisoformat(day).isoformat()


# ---------------------------------------------------------------------------------------------------------
# Policy rates: the real target history since 2000 (effective dates)

_TARGETS: list[tuple[str, float]] = [
    ("2000-01-01", 5.50), ("2000-02-02", 5.75), ("2000-03-21", 6.00), ("2000-05-16", 6.50),
    ("2001-01-03", 6.00), ("2001-01-31", 5.50), ("2001-03-20", 5.00), ("2001-04-18", 4.50),
    ("2001-05-15", 4.00), ("2001-06-27", 3.75), ("2001-08-21", 3.50), ("2001-09-17", 3.00),
    ("2001-10-02", 2.50), ("2001-11-06", 2.00), ("2001-12-11", 1.75), ("2002-11-06", 1.25),
    ("2003-06-25", 1.00), ("2004-06-30", 1.25), ("2004-08-10", 1.50), ("2004-09-21", 1.75),
    ("2004-11-10", 2.00), ("2004-12-14", 2.25), ("2005-02-02", 2.50), ("2005-03-22", 2.75),
    ("2005-05-03", 3.00), ("2005-06-30", 3.25), ("2005-08-09", 3.50), ("2005-09-20", 3.75),
    ("2005-11-01", 4.00), ("2005-12-13", 4.25), ("2006-01-31", 4.50), ("2006-03-28", 4.75),
    ("2006-05-10", 5.00), ("2006-06-29", 5.25), ("2007-09-18", 4.75), ("2007-10-31", 4.50),
    ("2007-12-11", 4.25), ("2008-01-22", 3.50), ("2008-01-30", 3.00), ("2008-03-18", 2.25),
    ("2008-04-30", 2.00), ("2008-10-08", 1.50), ("2008-10-29", 1.00),
]  # fmt: skip

_RANGES: list[tuple[str, float, float]] = [
    ("2008-12-16", 0.00, 0.25), ("2015-12-17", 0.25, 0.50), ("2016-12-15", 0.50, 0.75),
    ("2017-03-16", 0.75, 1.00), ("2017-06-15", 1.00, 1.25), ("2017-12-14", 1.25, 1.50),
    ("2018-03-22", 1.50, 1.75), ("2018-06-14", 1.75, 2.00), ("2018-09-27", 2.00, 2.25),
    ("2018-12-20", 2.25, 2.50), ("2019-08-01", 2.00, 2.25), ("2019-09-19", 1.75, 2.00),
    ("2019-10-31", 1.50, 1.75), ("2020-03-04", 1.00, 1.25), ("2020-03-16", 0.00, 0.25),
    ("2022-03-17", 0.25, 0.50), ("2022-05-05", 0.75, 1.00), ("2022-06-16", 1.50, 1.75),
    ("2022-07-28", 2.25, 2.50), ("2022-09-22", 3.00, 3.25), ("2022-11-03", 3.75, 4.00),
    ("2022-12-15", 4.25, 4.50), ("2023-02-02", 4.50, 4.75), ("2023-03-23", 4.75, 5.00),
    ("2023-05-04", 5.00, 5.25), ("2023-07-27", 5.25, 5.50), ("2024-09-19", 4.75, 5.00),
    ("2024-11-08", 4.50, 4.75), ("2024-12-19", 4.25, 4.50), ("2025-09-18", 4.00, 4.25),
    ("2025-10-30", 3.75, 4.00), ("2025-12-11", 3.50, 3.75),
]  # fmt: skip

_TARGET_DATES = [d for d, _ in _TARGETS]
_RANGE_DATES = [d for d, _, _ in _RANGES]


def target_range(day: date | str) -> tuple[float, float]:
    """(lower, upper) in force on a day; before the range era both are the single target."""
    iso = _iso(day)
    if iso >= _RANGE_DATES[0]:
        _, lower, upper = _RANGES[bisect.bisect_right(_RANGE_DATES, iso) - 1]
        return lower, upper
    target = _TARGETS[max(0, bisect.bisect_right(_TARGET_DATES, iso) - 1)][1]
    return target, target


def rrp_award_rate(day: date) -> float:
    """ON RRP rate: 5bp in the pre-liftoff tests, else the floor (+ 5bp between the 2021 and 2024 resets)."""
    lower, _ = target_range(day)
    if day < date(2015, 12, 17):
        return 0.05
    if date(2021, 6, 17) <= day < date(2024, 12, 19):
        return round(lower + 0.05, 2)
    return lower


# ---------------------------------------------------------------------------------------------------------
# Deterministic noise: a hash of (seed, stream, day), so overlapping windows agree whatever start is asked.

_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class _Noise:
    def __init__(self, seed: int) -> None:
        self.seed = _mix(seed & _MASK)

    def u(self, stream: int, n: int) -> float:
        """Uniform in [0, 1)."""
        return _mix(self.seed ^ _mix(stream * 1_000_003 + n)) / 2.0**64

    def z(self, stream: int, n: int) -> float:
        """Standard normal (Box-Muller)."""
        u1 = self.u(stream, 2 * n)
        u2 = self.u(stream, 2 * n + 1)
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def randint(self, stream: int, n: int, low: int, high: int) -> int:
        return low + int(self.u(stream, n) * (high - low + 1))


class _Curve:
    """Piecewise-linear interpolation over dated anchors, flat beyond the ends."""

    def __init__(self, anchors: Iterable[tuple[str, float]]) -> None:
        points = sorted((date.fromisoformat(d).toordinal(), v) for d, v in anchors)
        self.xs = [x for x, _ in points]
        self.ys = [y for _, y in points]

    def __call__(self, day: date) -> float:
        x = day.toordinal()
        i = bisect.bisect_right(self.xs, x)
        if i == 0:
            return self.ys[0]
        if i == len(self.xs):
            return self.ys[-1]
        x0, x1, y0, y1 = self.xs[i - 1], self.xs[i], self.ys[i - 1], self.ys[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


# SOFR minus the lower bound, by period (percentage points).
_SOFR_SPREAD = _Curve([
    ("2018-04-03", 0.22), ("2019-07-31", 0.17), ("2019-08-01", 0.15), ("2019-10-30", 0.12),
    ("2019-10-31", 0.08), ("2020-03-15", 0.10), ("2020-03-16", 0.04), ("2020-12-31", 0.08),
    ("2021-03-01", 0.02), ("2021-06-16", 0.01), ("2021-06-17", 0.05), ("2022-03-17", 0.04),
    ("2024-03-31", 0.06), ("2024-06-03", 0.08), ("2024-12-19", 0.05), ("2025-06-30", 0.10),
    ("2025-09-18", 0.18), ("2025-12-11", 0.15), ("2026-12-31", 0.15),
])  # fmt: skip
_SOFR_VOLUME = _Curve([
    ("2018-04-03", 750), ("2018-12-31", 1000), ("2019-09-16", 1250), ("2020-03-16", 1350),
    ("2020-12-31", 900), ("2021-12-31", 900), ("2022-12-30", 1100), ("2023-06-30", 1500),
    ("2023-12-29", 1800), ("2024-06-28", 2000), ("2024-12-31", 2300), ("2025-06-30", 2700),
    ("2025-12-31", 3100), ("2026-06-30", 3200),
])  # fmt: skip
# EFFR minus the lower bound in the range era.
_EFFR_SPREAD = _Curve([
    ("2008-12-16", 0.15), ("2010-06-30", 0.18), ("2011-06-30", 0.09), ("2012-06-29", 0.16),
    ("2013-06-28", 0.10), ("2014-06-30", 0.09), ("2015-12-16", 0.13), ("2015-12-17", 0.12),
    ("2016-12-15", 0.16), ("2018-06-13", 0.20), ("2018-06-14", 0.16), ("2019-05-01", 0.20),
    ("2019-05-02", 0.13), ("2019-08-01", 0.12), ("2019-10-30", 0.12), ("2019-10-31", 0.05),
    ("2020-03-16", 0.09), ("2020-05-29", 0.05), ("2021-03-01", 0.07), ("2021-06-17", 0.08),
    ("2025-09-17", 0.08), ("2025-09-18", 0.09), ("2025-10-30", 0.12), ("2025-12-11", 0.14),
    ("2026-12-31", 0.14),
])  # fmt: skip
_EFFR_VOLUME = _Curve([
    ("2016-03-01", 70), ("2017-06-30", 65), ("2018-06-29", 80), ("2019-06-28", 70), ("2020-06-30", 40),
    ("2021-06-30", 60), ("2022-06-30", 90), ("2023-06-30", 140), ("2024-06-28", 90), ("2025-06-30", 100),
    ("2026-02-05", 110),
])  # fmt: skip
# ON RRP take-up, billions.
_RRP_LEVEL = _Curve([
    ("2013-09-23", 12), ("2013-12-31", 100), ("2014-06-30", 150), ("2015-06-30", 150), ("2015-12-17", 150),
    ("2016-06-30", 100), ("2017-06-30", 50), ("2018-01-31", 5), ("2019-01-31", 2), ("2020-06-30", 1),
    ("2021-03-01", 5), ("2021-04-15", 150), ("2021-06-17", 750), ("2021-09-30", 1300), ("2021-12-31", 1600),
    ("2022-06-30", 2200), ("2022-12-30", 2200), ("2023-05-31", 2200), ("2023-12-29", 900),
    ("2024-06-28", 400), ("2024-12-31", 150), ("2025-06-30", 200), ("2025-09-30", 30), ("2025-12-31", 5),
    ("2026-12-31", 3),
])  # fmt: skip
# H.4.1 total assets and reserve balances, millions.
_WALCL = _Curve([
    ("2002-12-18", 719542), ("2007-08-01", 870000), ("2008-09-10", 905000), ("2008-12-17", 2250000),
    ("2009-12-30", 2230000), ("2010-11-03", 2300000), ("2011-06-29", 2870000), ("2012-12-26", 2910000),
    ("2013-12-25", 4010000), ("2014-10-29", 4480000), ("2017-10-04", 4460000), ("2019-08-28", 3760000),
    ("2019-12-25", 4170000), ("2020-03-11", 4310000), ("2020-06-10", 7170000), ("2020-12-30", 7360000),
    ("2021-12-29", 8760000), ("2022-04-13", 8960000), ("2023-03-08", 8340000), ("2023-03-22", 8730000),
    ("2024-06-26", 7220000), ("2024-12-25", 6890000), ("2025-06-25", 6660000), ("2025-12-10", 6540000),
    ("2026-02-18", 6613395), ("2026-07-29", 6738190),
])  # fmt: skip
_WRESBAL = _Curve([
    ("2000-01-05", 20000), ("2008-09-10", 10000), ("2008-10-29", 300000), ("2008-12-17", 820000),
    ("2009-12-30", 1150000), ("2010-06-30", 1050000), ("2011-06-29", 1600000), ("2012-12-26", 1500000),
    ("2014-08-27", 2800000), ("2015-12-30", 2500000), ("2017-12-27", 2200000), ("2019-09-11", 1400000),
    ("2019-12-25", 1600000), ("2020-03-11", 1700000), ("2020-06-10", 3200000), ("2021-12-15", 4200000),
    ("2022-12-28", 3000000), ("2023-03-22", 3400000), ("2023-12-27", 3500000), ("2024-12-25", 3200000),
    ("2025-10-29", 2830000), ("2026-02-18", 2949804), ("2026-06-17", 3033444),
])  # fmt: skip
# Treasury cash at the Fed, millions.
_TGA = _Curve([
    ("2005-10-03", 5000), ("2008-09-17", 5000), ("2008-10-15", 100000), ("2009-06-30", 90000),
    ("2010-06-30", 50000), ("2011-07-29", 30000), ("2012-12-31", 90000), ("2013-10-16", 30000),
    ("2014-06-30", 150000), ("2015-10-28", 60000), ("2015-12-01", 300000), ("2017-09-01", 60000),
    ("2017-12-29", 150000), ("2018-06-29", 350000), ("2019-07-31", 130000), ("2019-09-18", 380000),
    ("2020-03-11", 380000), ("2020-07-29", 1800000), ("2021-02-01", 1600000), ("2021-06-24", 733877),
    ("2021-08-02", 450000), ("2021-09-30", 173745), ("2021-10-01", 215160), ("2021-12-15", 100000),
    ("2022-01-03", 400000), ("2022-04-18", 841253), ("2022-12-30", 450000), ("2023-01-20", 500000),
    ("2023-06-01", 23000), ("2023-09-01", 650000), ("2024-04-15", 950000), ("2024-12-31", 700000),
    ("2025-06-02", 400000), ("2025-07-03", 300000), ("2025-09-02", 650000), ("2025-10-31", 1000000),
    ("2026-02-02", 850000), ("2026-06-22", 942815), ("2026-06-23", 925876), ("2026-12-31", 850000),
])  # fmt: skip

# Real days kept exactly: (rate, p1, p25, p75, p99, volume).
_SOFR_REAL: dict[str, tuple[float, float, float, float, float, float]] = {
    "2019-09-16": (2.43, 2.20, 2.30, 2.50, 2.80, 1131),
    "2019-09-17": (5.25, 2.20, 4.00, 5.75, 9.00, 1184),
    "2019-09-18": (2.55, 2.10, 2.40, 2.75, 3.50, 1166),
    "2025-10-31": (4.22, 4.05, 4.15, 4.32, 4.55, 3095),
    "2026-02-05": (3.65, 3.6, 3.63, 3.71, 3.74, 3228),
}
_EFFR_REAL: dict[str, tuple[float, float, float, float, float, float]] = {
    "2019-09-17": (2.30, 2.05, 2.25, 2.40, 2.60, 55),
    "2019-09-18": (2.30, 2.00, 2.25, 2.35, 2.55, 60),
    "2026-02-05": (3.64, 3.6, 3.63, 3.64, 3.66, 110),
}
# A real month-end squeeze: SOFR 4.22 above a 4.00 ceiling, with heavy SRF use.
_SRF_REAL: dict[str, dict[str, tuple[int, int, int]]] = {
    "2025-10-31": {"AM": (14_000, 0, 6_000), "PM": (18_350, 0, 12_000)},
}

_S_SOFR, _S_SOFR_P, _S_SOFR_VOL, _S_EFFR, _S_EFFR_P, _S_EFFR_VOL = 1, 2, 3, 4, 5, 6
_S_RRP, _S_RRP_CPTY, _S_SRF, _S_SRF_SPLIT, _S_WALCL, _S_WRESBAL, _S_TGA, _S_SECONDS, _S_SVE = range(7, 16)


# ---------------------------------------------------------------------------------------------------------
# Operations in the NY Fed shape


def operation_id(day: date, seq: int) -> str:
    return f"RP {day:%m%d%y} {seq}"


def repo_operation(
    day: date | str,
    session: str = "PM",
    *,
    treasury: int = 0,
    agency: int = 0,
    mbs: int = 0,
    minimum_bid_rate: float | None = None,
    method: str | None = None,
    settlement_type: str = "Same Day",
    note: str = "",
    seq: int | None = None,
    operation_limit: int | None = None,
    last_updated: str | None = None,
) -> Operation:
    """An overnight Repo operation (SRF session "AM"/"PM", or "SVE"); amounts in USD, all bids accepted."""
    op_day = _as_date(day)
    release, close = _SESSION_TIMES[session]
    rate = target_range(op_day)[1] if minimum_bid_rate is None else minimum_bid_rate
    if method is None:
        method = "Full Allotment" if op_day >= FULL_ALLOTMENT_START and session != "SVE" else "Multiple Price"
    settle = next_business_day(op_day) if settlement_type == "1 Day Forward" else op_day
    maturity = next_business_day(settle)
    details = []
    for security, amount in (("Treasury", treasury), ("Agency", agency), ("Mortgage-Backed", mbs)):
        detail: dict[str, Any] = {
            "securityType": security,
            "amtSubmitted": amount,
            "amtAccepted": amount,
            "minimumBidRate": rate,
        }
        if amount:
            detail |= {
                "percentHighRate": rate,
                "percentLowRate": rate,
                "percentStopOutRate": rate,
                "percentWeightedAverageRate": rate,
            }
        details.append(detail)
    total = treasury + agency + mbs
    op: Operation = {
        "operationId": operation_id(op_day, seq if seq is not None else _SESSION_SEQ[session]),
        "auctionStatus": "Results",
        "operationDate": op_day.isoformat(),
        "settlementDate": settle.isoformat(),
        "maturityDate": maturity.isoformat(),
        "operationType": "Repo",
        "operationMethod": method,
        "settlementType": settlement_type,
        "termCalenderDays": (maturity - settle).days,
        "term": "Overnight",
        "releaseTime": release,
        "closeTime": close,
        "note": note,
        "lastUpdated": last_updated or f"{op_day.isoformat()} {close}:41",
    }
    if operation_limit is not None:
        op["operationLimit"] = operation_limit
    op |= {"totalAmtSubmitted": total, "totalAmtAccepted": total, "details": details}
    return op


def reverse_repo_operation(
    day: date | str,
    accepted: int,
    *,
    rate: float | None = None,
    counterparties: int | None = None,
    submitted: int | None = None,
    seq: int = _RRP_SEQ,
    last_updated: str | None = None,
) -> Operation:
    """An overnight fixed-rate ON RRP operation; amounts in USD."""
    op_day = _as_date(day)
    award = rrp_award_rate(op_day) if rate is None else rate
    maturity = next_business_day(op_day)
    cpty = (
        counterparties
        if counterparties is not None
        else (0 if accepted == 0 else 1 + accepted // 25_000_000_000)
    )
    sub = accepted if submitted is None else submitted
    return {
        "operationId": operation_id(op_day, seq),
        "auctionStatus": "Results",
        "operationDate": op_day.isoformat(),
        "settlementDate": op_day.isoformat(),
        "maturityDate": maturity.isoformat(),
        "operationType": "Reverse Repo",
        "operationMethod": "Fixed Rate",
        "settlementType": "Same Day",
        "termCalenderDays": (maturity - op_day).days,
        "term": "Overnight",
        "releaseTime": "12:45",
        "closeTime": "13:15",
        "note": "",
        "lastUpdated": last_updated or f"{op_day.isoformat()} 13:15:41",
        "participatingCpty": cpty,
        "acceptedCpty": cpty,
        "totalAmtSubmitted": sub,
        "totalAmtAccepted": accepted,
        "details": [
            {
                "securityType": "Treasury",
                "amtSubmitted": sub,
                "amtAccepted": accepted,
                "percentOfferingRate": award,
                "percentAwardRate": award,
            }
        ],
    }


def is_sve(op: Mapping[str, Any]) -> bool:
    return "Small Value Exercise" in str(op.get("note", ""))


# ---------------------------------------------------------------------------------------------------------
# The history container


@dataclass
class History:
    """Per-series {ISO date: value} in wire units, NY Fed operations, and which values were revised."""

    series: dict[str, dict[str, float]] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    # Treasury auctions as auctions_query rows (strings, "null" for missing), oldest first.
    auctions: list[dict[str, str]] = field(default_factory=list)
    revised: dict[str, set[str]] = field(default_factory=dict)
    _versions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    # -- reading

    def values(self, series: str) -> dict[str, float]:
        return self.series.get(series, {})

    def value(self, series: str, day: date | str) -> float | None:
        return self.series.get(series, {}).get(_iso(day))

    def latest(self, series: str) -> tuple[str, float] | None:
        values = self.series.get(series)
        if not values:
            return None
        day = max(values)
        return day, values[day]

    def is_revised(self, series: str, day: date | str) -> bool:
        return _iso(day) in self.revised.get(series, set())

    def operations_on(self, day: date | str) -> list[Operation]:
        iso = _iso(day)
        return [op for op in self.operations if op["operationDate"] == iso]

    def srf_total(self, day: date | str) -> float:
        """SRF take-up in billions: the day's overnight Repo operations, Small Value Exercises excluded."""
        ops = self.operations_on(day)
        total = sum(op["totalAmtAccepted"] for op in ops if op["operationType"] == "Repo" and not is_sve(op))
        return float(total) / 1e9

    def rrp_total(self, day: date | str) -> float:
        ops = self.operations_on(day)
        return float(sum(op["totalAmtAccepted"] for op in ops if op["operationType"] == "Reverse Repo")) / 1e9

    def version(self, key: str) -> int:
        """Bumped on each change to a series (or "operations"); lets the server cache serialized bodies."""
        return self._versions.get(key, 0)

    # -- changing, as a source would publish

    def publish(self, series: str, day: date | str, value: float) -> None:
        """A new (or re-stated, unrevised) value."""
        iso = _iso(day)
        self.series.setdefault(series, {})[iso] = value
        self.revised.get(series, set()).discard(iso)
        self._bump(series)

    def publish_many(self, day: date | str, values: Mapping[str, float]) -> None:
        for series, value in values.items():
            self.publish(series, day, value)

    def revise(self, series: str, day: date | str, value: float) -> None:
        """Change a published value; NY Fed rows then carry revisionIndicator "Y"."""
        iso = _iso(day)
        if iso not in self.series.get(series, {}):
            raise KeyError(f"nothing published for {series} on {iso} to revise")
        self.series[series][iso] = value
        self.revised.setdefault(series, set()).add(iso)
        self._bump(series)

    def retract(self, series: str, day: date | str) -> None:
        self.series.get(series, {}).pop(_iso(day), None)
        self._bump(series)

    def publish_operation(self, op: Operation) -> None:
        """Add an operation, replacing one with the same operationId."""
        self.operations = [o for o in self.operations if o["operationId"] != op["operationId"]]
        self.operations.append(op)
        self._bump("operations")

    def revise_operation(self, operation_id: str, **changes: Any) -> Operation:
        """Update fields of a published operation (a new lastUpdated unless given)."""
        for index, op in enumerate(self.operations):
            if op["operationId"] == operation_id:
                revised = copy.deepcopy(op) | changes
                if "lastUpdated" not in changes:
                    revised["lastUpdated"] = f"{op['operationDate']} 17:00:00"
                self.operations[index] = revised
                self._bump("operations")
                return revised
        raise KeyError(operation_id)

    def until(self, day: date | str) -> History:
        """A copy holding only what is dated on or before day."""
        iso = _iso(day)
        return History(
            series={
                name: {d: v for d, v in values.items() if d <= iso} for name, values in self.series.items()
            },
            operations=[copy.deepcopy(op) for op in self.operations if op["operationDate"] <= iso],
            revised={name: {d for d in days if d <= iso} for name, days in self.revised.items()},
        )

    def _bump(self, key: str) -> None:
        self._versions[key] = self._versions.get(key, 0) + 1


# ---------------------------------------------------------------------------------------------------------
# Generation


def _percentiles(
    noise: _Noise, stream: int, n: int, rate: float, floor: float
) -> tuple[float, float, float, float]:
    p1 = max(floor, round(rate - 0.03 - 0.01 * noise.randint(stream, 4 * n, 0, 5), 2))
    p25 = max(p1, round(rate - 0.01 * noise.randint(stream, 4 * n + 1, 0, 2), 2))
    p75 = round(rate + 0.01 * noise.randint(stream, 4 * n + 2, 0, 5), 2)
    p99 = round(p75 + 0.02 + 0.01 * noise.randint(stream, 4 * n + 3, 0, 8), 2)
    return p1, p25, p75, p99


def _sofr_bumps(day: date) -> float:
    """Month-, quarter- and mid-month settlement pressure, strongest in the scarce-reserve periods."""
    bump = 0.0
    zero_floor = date(2020, 3, 16) <= day < date(2021, 6, 17)
    if is_month_end(day) and not zero_floor:
        bump += 0.02
        if day.month in (3, 6, 9, 12) and (day < date(2020, 1, 1) or day >= date(2024, 6, 1)):
            bump += 0.04
    if day >= date(2025, 6, 1) and day.day in (15, 16, 17) and is_business_day(day):
        bump += 0.02
    return bump


def _add_rates(history: History, noise: _Noise, start: date, end: date, stress: bool) -> None:
    s = history.series
    for name in (*RATE_SERIES["sofr"], *RATE_SERIES["effr"]):
        s.setdefault(name, {})
    for day in business_days(max(start, EFFR_START), end):
        iso, n = day.isoformat(), day.toordinal()
        lower, upper = target_range(day)
        real_effr = _EFFR_REAL.get(iso)
        if real_effr:
            effr, e1, e25, e75, e99, evol = real_effr
        else:
            if day < RANGE_START:
                sigma = 0.12 if day >= date(2007, 8, 1) else 0.04
                effr = max(0.01, round(lower + sigma * noise.z(_S_EFFR, n), 2))
            else:
                effr = round(lower + _EFFR_SPREAD(day) + round(0.004 * noise.z(_S_EFFR, n), 2), 2)
            e1, e25, e75, e99 = _percentiles(noise, _S_EFFR_P, n, effr, 0.0)
            e75 = min(e75, round(effr + 0.01, 2))
            evol = round(_EFFR_VOLUME(day) * (1 + 0.06 * noise.z(_S_EFFR_VOL, n)))
        s["effr"][iso] = effr
        if day >= EFFR_DETAIL_START:
            for name, value in zip(RATE_SERIES["effr"][1:], (e1, e25, e75, e99, evol), strict=True):
                s[name][iso] = value
        if day < SOFR_START:
            continue
        real_sofr = _SOFR_REAL.get(iso)
        if real_sofr:
            sofr, p1, p25, p75, p99, vol = real_sofr
        else:
            spread = _SOFR_SPREAD(day) + round(0.012 * noise.z(_S_SOFR, n), 2)
            if stress:
                spread += _sofr_bumps(day)
            else:
                spread = min(spread, upper - lower - 0.05)
            sofr = max(0.01, round(lower + spread, 2))
            p1, p25, p75, p99 = _percentiles(noise, _S_SOFR_P, n, sofr, 0.0)
            month_end = 1.05 if is_month_end(day) else 1.0
            vol = round(_SOFR_VOLUME(day) * month_end * (1 + 0.04 * noise.z(_S_SOFR_VOL, n)))
        for name, value in zip(RATE_SERIES["sofr"], (sofr, p1, p25, p75, p99, vol), strict=True):
            s[name][iso] = value
        _add_gc(s, iso, sofr, vol)


def _add_gc(s: dict[str, dict[str, float]], iso: str, sofr: float, volume: float) -> None:
    """BGCR and TGCR a touch under SOFR on about 41% and 40% of its volume (the 2026 shares)."""
    for kind, share in (("bgcr", 0.41), ("tgcr", 0.40)):
        rate = max(0.01, round(sofr - 0.02, 2))
        values = (
            rate,
            max(0.0, round(rate - 0.08, 2)),
            rate,
            rate,
            round(rate + 0.05, 2),
            round(volume * share),
        )
        for name, value in zip(
            RATE_SERIES[kind], _GC_REAL.get(kind, values) if iso == "2026-02-05" else values, strict=True
        ):
            s.setdefault(name, {})[iso] = value


def _add_policy(history: History, start: date, end: date) -> None:
    s = history.series
    for name in ("fed_target", "fed_upper", "fed_lower", "iorb"):
        s.setdefault(name, {})
    for day in days_between(start, end):
        iso = day.isoformat()
        lower, upper = target_range(day)
        if day < RANGE_START:
            s["fed_target"][iso] = lower
            continue
        s["fed_upper"][iso] = upper
        s["fed_lower"][iso] = lower
        if day >= IORB_START:
            s["iorb"][iso] = round(upper - 0.10, 2)


def _add_weekly(history: History, noise: _Noise, start: date, end: date) -> None:
    walcl = history.series.setdefault("fed_assets", {})
    wresbal = history.series.setdefault("reserves", {})
    custody = history.series.setdefault("custody", {})
    banks = history.series.setdefault("bank_treasuries", {})
    first_wednesday = start + timedelta(days=(2 - start.weekday()) % 7)
    day = first_wednesday
    while day <= end:
        n = day.toordinal()
        if day >= WALCL_START:
            walcl[day.isoformat()] = round(_WALCL(day) * (1 + 0.002 * noise.z(_S_WALCL, n)))
        wresbal[day.isoformat()] = round(_WRESBAL(day) * (1 + 0.015 * noise.z(_S_WRESBAL, n)))
        # Foreign official custody (millions, about $2.9T in 2026) and H.8 banks' Tsy+agency ($bn).
        custody[day.isoformat()] = round(2_900_000 * (1 + 0.004 * noise.z(_S_WALCL, n + 1)))
        banks[day.isoformat()] = round(4_300 * (1 + 0.003 * noise.z(_S_WRESBAL, n + 1)), 2)
        day += timedelta(days=7)


def _add_tga(history: History, noise: _Noise, start: date, end: date) -> None:
    tga = history.series.setdefault("tga", {})
    for day in business_days(max(start, TGA_START), end):
        level = _TGA(day) * (1 + 0.035 * noise.z(_S_TGA, day.toordinal()))
        tga[day.isoformat()] = max(1000, round(level))


def _srf_amounts(noise: _Noise, day: date, session: str, stress: bool) -> tuple[int, int, int]:
    """(treasury, agency, mbs) in $mn for one SRF operation; mostly zero, as in reality."""
    real = _SRF_REAL.get(day.isoformat())
    if real and stress:
        return real[session]
    n = day.toordinal() * 2 + (session == "PM")
    u = noise.u(_S_SRF, n)
    size = noise.u(_S_SRF, n + 7_000_000)
    total = 0
    quarter_end = is_month_end(day) and day.month in (3, 6, 9, 12)
    if day < date(2024, 7, 1):
        if u < 0.003:
            total = 1 + int(size * 50)
    elif day < SRF_AM_START:
        if stress and quarter_end and u < 0.8:
            total = 1000 + int(size * 7000)
        elif u < 0.02:
            total = 1 + int(size * 200)
    elif day < FULL_ALLOTMENT_START:
        if stress and is_month_end(day) and u < 0.7:
            total = 2000 + int(size * 13000)
        elif stress and day.day in (15, 16) and u < 0.4:
            total = 500 + int(size * 4500)
        elif u < 0.15:
            total = 1 + int(size * 500)
    elif stress and is_month_end(day) and u < 0.5:
        total = 1000 + int(size * 9000)
    elif u < 0.5:
        total = 1 + int(size * 25)
    if total == 0:
        return 0, 0, 0
    split = noise.u(_S_SRF_SPLIT, n)
    agency = int(total * 0.1) if split < 0.2 else 0
    treasury = max(1, round((total - agency) * (0.5 + 0.3 * split)))
    return treasury, agency, total - agency - treasury


def _add_operations(history: History, noise: _Noise, start: date, end: date, stress: bool) -> None:
    ops = history.operations
    for day in business_days(max(start, RRP_START), end):
        n = day.toordinal()
        seconds = 20 + noise.randint(_S_SECONDS, n, 0, 39)
        if day >= SRF_AM_START:
            t, a, m = _srf_amounts(noise, day, "AM", stress)
            ops.append(
                repo_operation(
                    day, "AM", treasury=t * 10**6, agency=a * 10**6, mbs=m * 10**6,
                    last_updated=f"{day.isoformat()} 08:30:{seconds:02d}",
                )
            )  # fmt: skip
        if (
            day >= date(2022, 1, 1)
            and day.month in (2, 5, 8, 11)
            and day == _nth_weekday(day.year, day.month, 2, 3)
        ):
            total = 20 + noise.randint(_S_SVE, n, 0, 60)
            note = SVE_NOTE if day >= SRF_AM_START else _SVE_NOTE_OLD
            ops.append(
                repo_operation(
                    day, "SVE", treasury=(total // 2) * 10**6, agency=(total // 4) * 10**6,
                    mbs=(total - total // 2 - total // 4) * 10**6, settlement_type="1 Day Forward",
                    method="Multiple Price", note=note, operation_limit=100_000_000,
                    last_updated=f"{day.isoformat()} 10:47:00",
                )
            )  # fmt: skip
        level = _RRP_LEVEL(day)
        if level < 20:
            zero = date(2018, 1, 1) <= day < date(2021, 3, 1) and noise.u(_S_RRP, n) < 0.5
            billions = 0.0 if zero else level * math.exp(0.8 * noise.z(_S_RRP, n + 1))
        else:
            billions = level * math.exp(0.05 * noise.z(_S_RRP, n + 1))
        if is_month_end(day):
            billions *= 1.6 if day.month in (3, 6, 9, 12) and day < date(2021, 1, 1) else 1.08
        accepted = round(billions * 1000) * 10**6
        cpty = 0 if accepted == 0 else min(110, 1 + int(billions / 25) + noise.randint(_S_RRP_CPTY, n, 0, 4))
        ops.append(
            reverse_repo_operation(
                day, accepted, counterparties=cpty, last_updated=f"{day.isoformat()} 13:15:{seconds:02d}"
            )
        )
        if day >= SRF_START:
            t, a, m = _srf_amounts(noise, day, "PM", stress)
            ops.append(
                repo_operation(
                    day, "PM", treasury=t * 10**6, agency=a * 10**6, mbs=m * 10**6,
                    last_updated=f"{day.isoformat()} 13:45:{(seconds + 7) % 60:02d}",
                )
            )  # fmt: skip


def _generate(start: date, end: date, seed: int, stress: bool) -> History:
    history = History()
    noise = _Noise(seed)
    _add_rates(history, noise, start, end, stress)
    _add_policy(history, start, end)
    _add_weekly(history, noise, start, end)
    _add_tga(history, noise, start, end)
    _add_operations(history, noise, start, end, stress)
    from tests.fakes.treasury import add_treasury  # the wire module builds on this one

    add_treasury(history, start, end)
    history.series = {name: values for name, values in history.series.items() if values}
    return history


def synthetic_history(start: date, end: date, seed: int = 1) -> History:
    """Realistic, deterministic history from start to end; each series only where it really exists."""
    return _generate(start, end, seed, stress=True)


def real_cases_history() -> History:
    """Feb-Jun 2026 with the real values the acceptance cases check, quiet synthetic values elsewhere."""
    history = _generate(date(2026, 2, 1), date(2026, 6, 30), seed=2026, stress=False)
    # Policy series since the December 2025 cut, so "in force since" questions have an answer.
    for day in days_between(FULL_ALLOTMENT_START, date(2026, 1, 31)):
        iso = day.isoformat()
        history.series["fed_upper"][iso] = 3.75
        history.series["fed_lower"][iso] = 3.50
        history.series["iorb"][iso] = 3.65
    history.series = {name: dict(sorted(values.items())) for name, values in history.series.items()}

    for name, value in zip(RATE_SERIES["sofr"], (3.65, 3.6, 3.63, 3.71, 3.74, 3228), strict=True):
        history.series[name]["2026-02-05"] = value
    for name, value in zip(RATE_SERIES["effr"], (3.64, 3.6, 3.63, 3.64, 3.66, 110), strict=True):
        history.series[name]["2026-02-05"] = value
    for kind, values in _GC_REAL.items():
        for name, value in zip(RATE_SERIES[kind], values, strict=True):
            history.series[name]["2026-02-05"] = value
    history.series["fed_assets"]["2026-02-18"] = 6605432
    history.series["reserves"]["2026-02-18"] = 2960000
    history.series["tga"]["2026-06-22"] = 942815
    history.series["tga"]["2026-06-23"] = 925876

    real_days = {"2026-02-17", "2026-02-18"}
    history.operations = [op for op in history.operations if op["operationDate"] not in real_days]
    history.operations += _real_operations()
    history.operations.sort(key=lambda op: (op["operationDate"], op["releaseTime"]))
    return history


def _real_operations() -> list[Operation]:
    """The NY Fed operations of 2026-02-17 and 2026-02-18 exactly as published."""
    bn = 10**9
    return [
        repo_operation(
            "2026-02-17", "AM", treasury=8 * bn, mbs=3 * bn, minimum_bid_rate=3.75,
            last_updated="2026-02-17 08:30:44",
        ),
        reverse_repo_operation(
            "2026-02-17", 441_000_000, rate=3.5, counterparties=5, last_updated="2026-02-17 13:15:48"
        ),
        repo_operation(
            "2026-02-17", "PM", treasury=10_500_000_000, mbs=9 * bn, minimum_bid_rate=3.75,
            last_updated="2026-02-17 13:45:48",
        ),
        repo_operation("2026-02-18", "AM", minimum_bid_rate=3.75, last_updated="2026-02-18 08:30:27"),
        repo_operation(
            "2026-02-18", "SVE", treasury=24_000_000, agency=13_000_000, mbs=19_000_000,
            minimum_bid_rate=3.75, method="Multiple Price", settlement_type="1 Day Forward", note=SVE_NOTE,
            operation_limit=100_000_000, last_updated="2026-02-18 10:47:00",
        ),
        reverse_repo_operation(
            "2026-02-18", 856_000_000, rate=3.5, counterparties=10, last_updated="2026-02-18 13:15:51"
        ),
        repo_operation(
            "2026-02-18", "PM", treasury=2_000_000, agency=1_000_000, mbs=1_000_000, minimum_bid_rate=3.75,
            seq=29, last_updated="2026-02-18 13:45:40",
        ),
    ]  # fmt: skip
