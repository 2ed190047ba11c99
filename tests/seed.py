"""Seeded databases for command tests: named, real market scenarios stored through the real storage functions.

Every number here is a published value: NY Fed reference rates and operation results (several copied from the
captured bodies in tests/fixtures/nyfed), FRED IORB / WALCL / WRESBAL / RRPONTSYD, and the Daily Treasury
Statement's TGA closing balance. The srf, srf_rate, rrp and rrp_rate series are derived from the stored
operations by bot.sources.nyfed.daily_series and net_liquidity by
bot.sources.derived.net_liquidity, exactly as the poller does, so a scenario is internally consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.clock import NEW_YORK, iso_utc
from bot.core.models import Auction, Observation, Operation
from bot.core.series import UNTRACKED_SERIES
from bot.sources import fred
from bot.sources.derived import net_liquidity
from bot.sources.nyfed import daily_series
from storage.auctions import upsert_auctions
from storage.db import open_db
from storage.fetchlog import FetchRecord, record_fetch
from storage.observations import history, upsert_observations
from storage.operations import operations_between, upsert_operations

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def ny(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """An instant given in New York wall-clock time, returned in UTC like the app's clock."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


# ---------------------------------------------------------------------------------------------------------
# Storage helpers
# ---------------------------------------------------------------------------------------------------------


def store(
    db: sqlite_utils.Database, series: str, values: dict[str, float], source: str, at: datetime
) -> None:
    """Upsert {date: value} for one series."""
    rows = [Observation(series, d, v, source) for d, v in values.items()]
    upsert_observations(db, rows, fetched_at=iso_utc(at), untracked=UNTRACKED_SERIES)


def every_day(start: str, end: str, value: float) -> dict[str, float]:
    """A FRED "7-day" policy rate (target range, IORB): one value on every calendar day."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return {(first + timedelta(days=i)).isoformat(): value for i in range((last - first).days + 1)}


def parse_series(text: str) -> dict[str, float]:
    """'2024-06-03 5.35  2024-06-04 5.33 ...' -> {date: value}; blank holiday rows are simply absent."""
    words = text.split()
    return {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}


def store_operations(db: sqlite_utils.Database, ops: Iterable[Operation], at: datetime) -> None:
    """Store raw operations, then derive srf, srf_rate, rrp and rrp_rate from all stored on those days."""
    ops = list(ops)
    upsert_operations(db, ops, fetched_at=iso_utc(at))
    days = sorted({op.operation_date for op in ops})
    stored = operations_between(db, days[0], days[-1])
    upsert_observations(db, daily_series(stored), fetched_at=iso_utc(at), untracked=UNTRACKED_SERIES)


def derive_net_liquidity(db: sqlite_utils.Database, at: datetime) -> None:
    """net_liquidity = fed_assets - tga - rrp, as-of joined, like the poller."""
    rows = net_liquidity(history(db, "fed_assets"), history(db, "tga"), history(db, "rrp"))
    upsert_observations(db, rows, fetched_at=iso_utc(at), untracked=UNTRACKED_SERIES)


def log_fetch(
    db: sqlite_utils.Database,
    source: str,
    at: datetime,
    outcome: str = "ok",
    error: str | None = None,
    rows_changed: int = 0,
) -> None:
    record_fetch(db, FetchRecord(source, iso_utc(at), 850, outcome, error, rows_changed))


def _mmddyy(day: str) -> str:
    d = date.fromisoformat(day)
    return d.strftime("%m%d%y")


def srf_op(
    op_id: str,
    day: str,
    session: str,
    close_time: str,
    accepted: float,
    treasury: float,
    agency: float,
    mbs: float,
    rate: float,
    method: str,
    last_updated: str,
    *,
    submitted: float | None = None,
    settlement: str = "Same Day",
    is_sve: bool = False,
    note: str = "",
    release_time: str | None = None,
) -> Operation:
    """An overnight Repo (Standing Repo Facility) operation, amounts in $bn as parse_operations gives them.

    release_time defaults to 15 minutes before close_time, the length of every SRF operation."""
    if release_time is None:
        hours, minutes = map(int, close_time.split(":"))
        opened = hours * 60 + minutes - 15
        release_time = f"{opened // 60:02d}:{opened % 60:02d}"
    return Operation(
        operation_id=op_id,
        operation_date=day,
        operation_type="Repo",
        method=method,
        settlement_type=settlement,
        term="Overnight",
        session=session,
        is_sve=is_sve,
        close_time=close_time,
        total_submitted=accepted if submitted is None else submitted,
        total_accepted=accepted,
        rate=rate,
        treasury=treasury,
        agency=agency,
        mbs=mbs,
        last_updated=last_updated,
        note=note,
        release_time=release_time,
    )


def rrp_op(
    day: str, amount: float, rate: float, seq: int = 2, op_id: str | None = None, updated: str = "13:15:40"
) -> Operation:
    """An overnight ON RRP operation (12:45-13:15 ET, Fixed Rate, Treasury collateral)."""
    return Operation(
        operation_id=op_id or f"RP {_mmddyy(day)} {seq}",
        operation_date=day,
        operation_type="Reverse Repo",
        method="Fixed Rate",
        settlement_type="Same Day",
        term="Overnight",
        session="",
        is_sve=False,
        close_time="13:15",
        total_submitted=amount,
        total_accepted=amount,
        rate=rate,
        treasury=amount,
        agency=0.0,
        mbs=0.0,
        last_updated=f"{day} {updated}",
        release_time="12:45",
    )


# ---------------------------------------------------------------------------------------------------------
# Real operations (copied field for field from the NY Fed bodies; see tests/fixtures/nyfed/rp_*.json and
# shared/data/api-samples/nyfed_rp_all_all_results_lastTwoWeeks_asof_2026-02-25.operations.json)
# ---------------------------------------------------------------------------------------------------------

# 2025-10-31, month end: record SRF use. Multiple Price (before 2025-12-11); AM ran 08:00-08:15 then.
OPS_2025_10_31: tuple[Operation, ...] = (
    srf_op("RP 103125 1", "2025-10-31", "AM", "08:15", 21.0, 14.0, 0.0, 7.0, 4.0, "Multiple Price",
           "2025-10-31 08:16:02"),
    rrp_op("2025-10-31", 51.802, 3.75, op_id="RP 103125 2"),
    srf_op("RP 103125 3", "2025-10-31", "PM", "13:45", 29.35, 19.35, 0.0, 10.0, 4.0, "Multiple Price",
           "2025-10-31 13:46:11"),
)  # fmt: skip

SVE_NOTE = (
    "<p>This operation is a Small Value Exercise (SVE); the afternoon SRP operation will still take place "
    "at its regularly scheduled time, 1:30pm ET.</p>"
)


def full_allotment_op(
    op_id: str, day: str, session: str, accepted: float, tsy: float, agy: float, mbs: float, updated: str
) -> Operation:
    """A Full Allotment SRF operation of February 2026 (minimum bid 3.75, AM 08:15-08:30, PM 13:30-13:45)."""
    close = "08:30" if session == "AM" else "13:45"
    return srf_op(
        op_id, day, session, close, accepted, tsy, agy, mbs, 3.75, "Full Allotment", f"{day} {updated}"
    )


# 2026-02-10 .. 02-18 (02-16 was Presidents Day). Full Allotment from 2025-12-11; AM 08:15-08:30.
OPS_2026_02: tuple[Operation, ...] = (
    full_allotment_op("RP 021026 25", "2026-02-10", "AM", 0.0, 0.0, 0.0, 0.0, "08:30:21"),
    rrp_op("2026-02-10", 1.447, 3.5, 26, updated="13:15:32"),
    full_allotment_op("RP 021026 27", "2026-02-10", "PM", 0.1, 0.1, 0.0, 0.0, "13:45:18"),
    full_allotment_op("RP 021126 25", "2026-02-11", "AM", 0.008, 0.004, 0.001, 0.003, "08:31:05"),
    rrp_op("2026-02-11", 1.048, 3.5, 26, updated="13:15:37"),
    full_allotment_op("RP 021126 27", "2026-02-11", "PM", 0.0, 0.0, 0.0, 0.0, "13:45:27"),
    full_allotment_op("RP 021226 25", "2026-02-12", "AM", 0.0, 0.0, 0.0, 0.0, "08:30:23"),
    rrp_op("2026-02-12", 2.844, 3.5, 26, updated="13:15:48"),
    full_allotment_op("RP 021226 27", "2026-02-12", "PM", 0.0, 0.0, 0.0, 0.0, "13:45:33"),
    full_allotment_op("RP 021326 25", "2026-02-13", "AM", 0.0, 0.0, 0.0, 0.0, "08:30:44"),
    rrp_op("2026-02-13", 0.377, 3.5, 26, updated="13:15:27"),
    full_allotment_op("RP 021326 27", "2026-02-13", "PM", 0.0, 0.0, 0.0, 0.0, "13:45:30"),
    full_allotment_op("RP 021726 25", "2026-02-17", "AM", 11.0, 8.0, 0.0, 3.0, "08:30:44"),
    rrp_op("2026-02-17", 0.441, 3.5, 26, updated="13:15:48"),
    full_allotment_op("RP 021726 27", "2026-02-17", "PM", 19.5, 10.5, 0.0, 9.0, "13:45:48"),
    full_allotment_op("RP 021826 25", "2026-02-18", "AM", 0.0, 0.0, 0.0, 0.0, "08:30:27"),
    srf_op("RP 021826 28", "2026-02-18", "", "10:45", 0.056, 0.024, 0.013, 0.019, 3.75, "Multiple Price",
           "2026-02-18 10:47:00", settlement="1 Day Forward", is_sve=True, note=SVE_NOTE),
    rrp_op("2026-02-18", 0.856, 3.5, 26, updated="13:15:51"),
    full_allotment_op("RP 021826 29", "2026-02-18", "PM", 0.004, 0.002, 0.001, 0.001, "13:45:40"),
)  # fmt: skip

# 2019-09-17: the first temporary open market repo since 2008 (not the SRF, which began 2021-07-29):
# $53.15B accepted, run 09:30-09:45 after a delay, minimum bid rate 2.10%; the collateral split is as
# reported in the press at the time, not from a captured NY Fed body.
OMO_2019_09_17 = srf_op(
    "RP 091719 1", "2019-09-17", "AM", "09:45", 53.15, 40.85, 0.05, 12.25, 2.10, "Multiple Price",
    "2019-09-17 10:00:00",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------------


def seed_repo_spike_2019(db: sqlite_utils.Database) -> None:
    """2019-09-17: SOFR 5.25 against a 2.00-2.25 range, IOER 2.10, EFFR 2.30 above the top. No SRF yet."""
    at = ny(2019, 9, 18, 9, 30)
    sofr = parse_series(
        "2019-08-12 2.12 2019-08-13 2.16 2019-08-14 2.13 2019-08-15 2.18 2019-08-16 2.13 2019-08-19 2.11 "
        "2019-08-20 2.13 2019-08-21 2.10 2019-08-22 2.09 2019-08-23 2.10 2019-08-26 2.10 2019-08-27 2.15 "
        "2019-08-28 2.12 2019-08-29 2.12 2019-08-30 2.16 2019-09-03 2.17 2019-09-04 2.21 2019-09-05 2.21 "
        "2019-09-06 2.15 2019-09-09 2.12 2019-09-10 2.14 2019-09-11 2.15 2019-09-12 2.20 2019-09-13 2.20 "
        "2019-09-16 2.43 2019-09-17 5.25"
    )
    store(db, "sofr", sofr, "nyfed", at)
    for series, value in (
        ("sofr_p1", 2.25),
        ("sofr_p25", 5.00),
        ("sofr_p75", 5.85),
        ("sofr_p99", 9.00),
        ("sofr_volume", 1177.0),
    ):
        store(db, series, {"2019-09-17": value}, "nyfed", at)
    store(db, "effr", {"2019-09-16": 2.25, "2019-09-17": 2.30}, "nyfed", at)
    # Target range 2.00-2.25 and IOER 2.10 from the 2019-07-31 cut (effective 08-01).
    store(db, "fed_lower", every_day("2019-08-01", "2019-09-17", 2.00), "fred", at)
    store(db, "fed_upper", every_day("2019-08-01", "2019-09-17", 2.25), "fred", at)
    store(db, "iorb", every_day("2019-08-01", "2019-09-17", 2.10), "fred", at)
    log_fetch(db, "nyfed", ny(2019, 9, 18, 9, 5), rows_changed=4)
    log_fetch(db, "fred", ny(2019, 9, 18, 9, 0), rows_changed=3)


def seed_month_end_2025(db: sqlite_utils.Database) -> None:
    """2025-10-31: SOFR 4.22 over a 4.00 top the day after the cut; SRF $50.35B (21.0 AM + 29.35 PM)."""
    at = ny(2025, 11, 3, 9, 5)
    sofr = parse_series(
        "2025-09-22 4.14 2025-09-23 4.12 2025-09-24 4.13 2025-09-25 4.18 2025-09-26 4.16 2025-09-29 4.13 "
        "2025-09-30 4.24 2025-10-01 4.20 2025-10-02 4.20 2025-10-03 4.18 2025-10-06 4.15 2025-10-07 4.14 "
        "2025-10-08 4.12 2025-10-09 4.13 2025-10-20 4.16 2025-10-21 4.23 2025-10-22 4.21 2025-10-23 4.24 "
        "2025-10-24 4.24 2025-10-27 4.27 2025-10-28 4.31 2025-10-29 4.27 2025-10-30 4.04 2025-10-31 4.22"
    )
    store(db, "sofr", sofr, "nyfed", at)
    percentiles = {
        "sofr_p1": {"2025-10-30": 3.95, "2025-10-31": 4.05},
        "sofr_p25": {"2025-10-30": 4.00, "2025-10-31": 4.15},
        "sofr_p75": {"2025-10-30": 4.10, "2025-10-31": 4.30},
        "sofr_p99": {"2025-10-30": 4.25, "2025-10-31": 4.45},
        "sofr_volume": {"2025-10-30": 3054.0, "2025-10-31": 3116.0},
    }
    for series, values in percentiles.items():
        store(db, series, values, "nyfed", at)
    store(db, "effr", {"2025-10-31": 3.87}, "nyfed", at)
    # The 2025-10-29 FOMC cut, effective 10-30: 4.00-4.25 -> 3.75-4.00, IORB 4.15 -> 3.90.
    for series, before, after in (("fed_lower", 4.00, 3.75), ("fed_upper", 4.25, 4.00), ("iorb", 4.15, 3.90)):
        steps = {
            **every_day("2025-10-01", "2025-10-29", before),
            **every_day("2025-10-30", "2025-11-02", after),
        }
        store(db, series, steps, "fred", at)
    # ON RRP take-up (FRED RRPONTSYD); award rate 4.00 before the cut, 3.75 from 10-30.
    rrp = parse_series(
        "2025-10-20 5.931 2025-10-21 4.699 2025-10-22 4.005 2025-10-23 6.941 2025-10-24 2.435 "
        "2025-10-27 10.642 2025-10-28 14.096 2025-10-29 19.504 2025-10-30 19.166"
    )
    ops = [rrp_op(d, v, 4.00 if d < "2025-10-30" else 3.75) for d, v in rrp.items()]
    store_operations(db, [*ops, *OPS_2025_10_31], at)
    tga = parse_series(
        "2025-10-20 905.754 2025-10-21 929.315 2025-10-22 905.074 2025-10-23 944.965 2025-10-24 942.495 "
        "2025-10-27 964.762 2025-10-28 984.857 2025-10-29 983.859 2025-10-30 1000.632"
    )
    store(db, "tga", tga, "fiscaldata", at)
    store(db, "fed_assets", {"2025-10-22": 6589.533, "2025-10-29": 6587.034}, "fred", at)
    store(db, "reserves", {"2025-10-22": 2933.037, "2025-10-29": 2848.021}, "fred", at)
    derive_net_liquidity(db, at)
    log_fetch(db, "nyfed", ny(2025, 11, 3, 9, 4), rows_changed=3)
    log_fetch(db, "fred", ny(2025, 11, 3, 8, 30))
    log_fetch(db, "fiscaldata", ny(2025, 11, 3, 8, 45))


# ---------------------------------------------------------------------------------------------------------
# The thesis chain around the 2025-10-31 month-end (added on top of month_end_2025 where a test needs it)

_CHAIN_AT = ny(2025, 11, 3, 9, 5)


def ten_year(day: str, btc: float, dealer: float, *, issue: str | None = None) -> Auction:
    """A 10-year note result of $42B; dealer is the dealers' share of the public's awards."""
    return Auction(
        auction_date=day,
        security_type="Note",
        security_term="10-Year",
        cusip="91282CNT4",
        issue_date=issue,
        offering_bn=42.0,
        total_tendered_bn=round(42 * btc, 3),
        total_accepted_bn=42.0,
        dealer_bn=round(42 * dealer, 3),
        direct_bn=round(42 * 0.17, 3),
        indirect_bn=round(42 * (0.83 - dealer), 3),
        soma_bn=0.0,
        bid_to_cover=btc,
        high_yield=4.1,
    )


# The 2025 ten-year auction days (illustrative results around a 2.5 bid-to-cover and 12-14% dealers).
TEN_YEAR_DAYS = ("01-15", "02-12", "03-12", "04-09", "05-14", "06-11", "07-09", "08-13", "09-10", "10-08")
PRIOR_TEN_YEAR = [
    ten_year(f"2025-{day}", 2.5 + 0.04 * ((n % 3) - 1), 0.12 + 0.01 * (n % 3))
    for n, day in enumerate(TEN_YEAR_DAYS)
]


def seed_chain(db: sqlite_utils.Database) -> None:
    """The thesis chain's other links around the real 2025-10-31 month-end: debt, issuance, buyers."""
    store(
        db,
        "public_debt",
        {"2024-10-31": 35950.0, "2025-09-30": 37640.0, "2025-10-31": 38040.0},
        "treasury",
        _CHAIN_AT,
    )
    store(db, "net_bills", {"2025-10-15": 12.0, "2025-10-31": 13.989}, "treasury", _CHAIN_AT)
    store(db, "net_coupons", {"2025-10-15": 48.0, "2025-10-31": 51.785}, "treasury", _CHAIN_AT)
    store(
        db, "custody", {"2024-10-23": 2990.0, "2025-09-24": 2910.0, "2025-10-29": 2895.0}, "fred", _CHAIN_AT
    )
    store(db, "bank_treasuries", {"2025-09-24": 4270.0, "2025-10-29": 4290.0}, "fred", _CHAIN_AT)
    store(db, "dvp_volume", {"2025-10-01": 1700.0, "2025-10-31": 1850.0}, "derived", _CHAIN_AT)
    upsert_auctions(
        db, [*PRIOR_TEN_YEAR, ten_year("2025-11-12", 2.29, 0.19, issue="2025-11-17")], fetched_at="x"
    )


def seed_srf_feb_2026(db: sqlite_utils.Database) -> None:
    """2026-02-17/18: SRF 30.5 (11.0 AM + 19.5 PM), then 0.004 beside an excluded 0.056 SVE; SOFR 3.73."""
    at = ny(2026, 2, 19, 8, 35)
    sofr = parse_series(
        "2026-01-12 3.64 2026-01-13 3.65 2026-01-14 3.64 2026-01-15 3.66 2026-01-16 3.65 2026-01-20 3.64 "
        "2026-01-21 3.63 2026-01-22 3.64 2026-01-23 3.65 2026-01-26 3.66 2026-01-27 3.66 2026-01-28 3.64 "
        "2026-01-29 3.65 2026-01-30 3.68 2026-02-02 3.69 2026-02-03 3.69 2026-02-04 3.65 2026-02-05 3.65 "
        "2026-02-06 3.64 2026-02-09 3.63 2026-02-10 3.65 2026-02-11 3.65 2026-02-12 3.65 2026-02-13 3.66 "
        "2026-02-17 3.71 2026-02-18 3.73"
    )
    store(db, "sofr", sofr, "nyfed", at)
    store(db, "sofr_p1", {"2026-02-05": 3.60}, "nyfed", at)
    store(db, "sofr_p99", {"2026-02-05": 3.74}, "nyfed", at)
    store(db, "sofr_volume", {"2026-02-05": 3228.0}, "nyfed", at)
    # EFFR printed 3.64 from the December 2025 cut through February (02-05 is in the captured latest.json).
    # EFFR for 02-18 is not out yet at 08:35 ET (it publishes about 09:00).
    store(db, "effr", {d: 3.64 for d in ("2026-02-05", "2026-02-13", "2026-02-17")}, "nyfed", at)
    store(db, "fed_lower", every_day("2026-01-12", "2026-02-18", 3.50), "fred", at)
    store(db, "fed_upper", every_day("2026-01-12", "2026-02-18", 3.75), "fred", at)
    store(db, "iorb", every_day("2026-01-12", "2026-02-18", 3.65), "fred", at)
    store_operations(db, OPS_2026_02, at)
    tga = parse_series(
        "2026-02-10 948.634 2026-02-11 910.533 2026-02-12 920.999 2026-02-13 913.645 2026-02-17 924.659"
    )
    store(db, "tga", tga, "fiscaldata", at)
    store(db, "fed_assets", {"2026-02-04": 6605.909, "2026-02-11": 6622.382}, "fred", at)
    store(db, "reserves", {"2026-02-04": 2925.170, "2026-02-11": 2939.557}, "fred", at)
    derive_net_liquidity(db, at)
    log_fetch(db, "nyfed", ny(2026, 2, 19, 8, 34), rows_changed=1)
    log_fetch(db, "fred", ny(2026, 2, 19, 8, 0))
    log_fetch(db, "fiscaldata", ny(2026, 2, 18, 16, 10), rows_changed=4)


def seed_calm_2024(db: sqlite_utils.Database) -> None:
    """2024-06-06: SOFR 5.33 in a 5.25-5.50 range, IORB 5.40, ON RRP ~$378B at 5.30, no SRF use."""
    at = ny(2024, 6, 7, 17, 30)
    sofr = parse_series(
        "2024-05-01 5.32 2024-05-02 5.31 2024-05-03 5.31 2024-05-06 5.31 2024-05-07 5.31 2024-05-08 5.31 "
        "2024-05-09 5.31 2024-05-10 5.31 2024-05-13 5.31 2024-05-14 5.31 2024-05-15 5.31 2024-05-16 5.31 "
        "2024-05-17 5.31 2024-05-20 5.31 2024-05-21 5.31 2024-05-22 5.31 2024-05-23 5.31 2024-05-24 5.32 "
        "2024-05-28 5.32 2024-05-29 5.33 2024-05-30 5.33 2024-05-31 5.34 2024-06-03 5.35 2024-06-04 5.33 "
        "2024-06-05 5.33 2024-06-06 5.33"
    )
    store(db, "sofr", sofr, "nyfed", at)
    detail = {  # tests/fixtures/nyfed/sofr_2024-06-03_to_06-06.json
        "sofr_p1": "2024-06-03 5.29 2024-06-04 5.29 2024-06-05 5.30 2024-06-06 5.29",
        "sofr_p25": "2024-06-03 5.32 2024-06-04 5.32 2024-06-05 5.32 2024-06-06 5.32",
        "sofr_p75": "2024-06-03 5.40 2024-06-04 5.40 2024-06-05 5.39 2024-06-06 5.40",
        "sofr_p99": "2024-06-03 5.44 2024-06-04 5.44 2024-06-05 5.43 2024-06-06 5.44",
        "sofr_volume": "2024-06-03 1912 2024-06-04 2092 2024-06-05 1989 2024-06-06 2008",
    }
    for series, text in detail.items():
        store(db, series, parse_series(text), "nyfed", at)
    store(db, "effr", every_day("2024-06-03", "2024-06-06", 5.33), "nyfed", at)
    store(db, "fed_lower", every_day("2024-05-01", "2024-06-07", 5.25), "fred", at)
    store(db, "fed_upper", every_day("2024-05-01", "2024-06-07", 5.50), "fred", at)
    store(db, "iorb", every_day("2024-05-01", "2024-06-07", 5.40), "fred", at)
    rrp = parse_series(
        "2024-05-29 459.314 2024-05-30 452.034 2024-05-31 439.806 2024-06-03 387.069 2024-06-04 377.825 "
        "2024-06-05 371.841 2024-06-06 378.125 2024-06-07 395.462"
    )
    ops = [rrp_op(d, v, 5.30) for d, v in rrp.items()]
    # In 2024 the SRF ran once a day, 13:30-13:45, as a Multiple Price auction at the 5.50 top; nobody came.
    ops += [
        srf_op(
            f"RP {_mmddyy(d)} 1", d, "PM", "13:45", 0.0, 0.0, 0.0, 0.0, 5.5, "Multiple Price", f"{d} 13:46"
        )
        for d in rrp
    ]
    store_operations(db, ops, at)
    tga = parse_series(
        "2024-05-29 716.020 2024-05-30 699.060 2024-05-31 718.926 2024-06-03 712.359 2024-06-04 700.652 "
        "2024-06-05 703.314 2024-06-06 680.746"
    )
    store(db, "tga", tga, "fiscaldata", at)
    assets = parse_series("2024-05-22 7299.566 2024-05-29 7284.319 2024-06-05 7255.687")
    store(db, "fed_assets", assets, "fred", at)
    store(
        db, "reserves", parse_series("2024-05-22 3390.794 2024-05-29 3409.342 2024-06-05 3408.31"), "fred", at
    )
    derive_net_liquidity(db, at)
    log_fetch(db, "nyfed", ny(2024, 6, 7, 13, 50), rows_changed=2)
    log_fetch(db, "fred", ny(2024, 6, 7, 17, 0))
    log_fetch(db, "fiscaldata", ny(2024, 6, 7, 16, 5), rows_changed=4)


def seed_june_2026(db: sqlite_utils.Database) -> None:
    """2026-06-24: TGA 925.876 (06-23), Fed assets weekly, ON RRP near zero: the net liquidity inputs."""
    at = ny(2026, 6, 24, 17, 0)
    sofr = parse_series(
        "2026-06-01 3.65 2026-06-02 3.63 2026-06-03 3.61 2026-06-04 3.62 2026-06-05 3.63 2026-06-08 3.63 "
        "2026-06-09 3.60 2026-06-10 3.59 2026-06-11 3.60 2026-06-12 3.65 2026-06-15 3.69 2026-06-16 3.63 "
        "2026-06-17 3.63 2026-06-18 3.62 2026-06-22 3.61 2026-06-23 3.62"
    )
    store(db, "sofr", sofr, "nyfed", at)
    store(db, "fed_lower", every_day("2026-06-01", "2026-06-23", 3.50), "fred", at)
    store(db, "fed_upper", every_day("2026-06-01", "2026-06-23", 3.75), "fred", at)
    store(db, "iorb", every_day("2026-06-01", "2026-06-23", 3.65), "fred", at)
    rrp = parse_series(
        "2026-06-01 1.302 2026-06-02 2.502 2026-06-03 2.062 2026-06-04 1.122 2026-06-05 0.761 "
        "2026-06-08 1.832 2026-06-09 0.577 2026-06-10 0.387 2026-06-11 0.460 2026-06-12 0.454 "
        "2026-06-15 0.581 2026-06-16 10.721 2026-06-17 6.828 2026-06-18 0.251 2026-06-22 3.925 "
        "2026-06-23 6.484 2026-06-24 4.534"
    )
    store_operations(db, [rrp_op(d, v, 3.50, 26) for d, v in rrp.items()], at)
    tga = parse_series(  # DTS "Treasury General Account (TGA) Closing Balance", $mn / 1000
        "2026-06-01 856.842 2026-06-02 866.075 2026-06-03 845.722 2026-06-04 844.521 2026-06-05 825.540 "
        "2026-06-08 844.229 2026-06-09 830.399 2026-06-10 801.084 2026-06-11 799.517 2026-06-12 816.023 "
        "2026-06-15 979.791 2026-06-16 981.113 2026-06-17 956.502 2026-06-18 915.085 2026-06-22 942.815 "
        "2026-06-23 925.876"
    )
    store(db, "tga", tga, "fiscaldata", at)
    assets = parse_series(
        "2026-05-13 6728.502 2026-05-20 6713.643 2026-05-27 6704.383 2026-06-03 6711.495 "
        "2026-06-10 6725.397 2026-06-17 6736.424"
    )
    store(db, "fed_assets", assets, "fred", at)
    reserves = parse_series(
        "2026-05-13 3102.810 2026-05-20 3129.562 2026-05-27 3066.560 2026-06-03 3013.902 "
        "2026-06-10 3080.723 2026-06-17 3033.444"
    )
    store(db, "reserves", reserves, "fred", at)
    derive_net_liquidity(db, at)
    log_fetch(db, "nyfed", ny(2026, 6, 24, 13, 20), rows_changed=2)
    log_fetch(db, "fred", ny(2026, 6, 24, 16, 0))
    log_fetch(db, "fiscaldata", ny(2026, 6, 24, 16, 2), rows_changed=1)


# FOMC target range (effective date, lower, upper) since SOFR began; FRED DFEDTARL / DFEDTARU.
TARGET_RANGES: tuple[tuple[str, float, float], ...] = (
    ("2018-03-22", 1.50, 1.75),
    ("2018-06-14", 1.75, 2.00),
    ("2018-09-27", 2.00, 2.25),
    ("2018-12-20", 2.25, 2.50),
    ("2019-08-01", 2.00, 2.25),
    ("2019-09-19", 1.75, 2.00),
    ("2019-10-31", 1.50, 1.75),
    ("2020-03-04", 1.00, 1.25),
    ("2020-03-16", 0.00, 0.25),
    ("2022-03-17", 0.25, 0.50),
    ("2022-05-05", 0.75, 1.00),
    ("2022-06-16", 1.50, 1.75),
    ("2022-07-28", 2.25, 2.50),
    ("2022-09-22", 3.00, 3.25),
    ("2022-11-03", 3.75, 4.00),
    ("2022-12-15", 4.25, 4.50),
    ("2023-02-02", 4.50, 4.75),
    ("2023-03-23", 4.75, 5.00),
    ("2023-05-04", 5.00, 5.25),
    ("2023-07-27", 5.25, 5.50),
    ("2024-09-19", 4.75, 5.00),
    ("2024-11-08", 4.50, 4.75),
    ("2024-12-19", 4.25, 4.50),
    ("2025-09-18", 4.00, 4.25),
    ("2025-10-30", 3.75, 4.00),
    ("2025-12-11", 3.50, 3.75),
)


def _read_fred(name: str, fred_id: str) -> list[tuple[str, float]] | None:
    path = SHARED_DATA / name
    if not path.exists():
        return None
    return fred.parse_csv(path.read_text(encoding="utf-8"), fred_id)


def seed_long_history(db: sqlite_utils.Database) -> None:
    """SOFR since 2018-04-03 (2,000+ business days) inside the real target-range steps, plus IORB."""
    at = ny(2026, 7, 31, 9, 0)
    start, end = date(2018, 4, 3), date(2026, 7, 30)
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    day = start
    while day <= end:
        iso = day.isoformat()
        _, low, high = [r for r in TARGET_RANGES if r[0] <= iso][-1]
        lower[iso], upper[iso] = low, high
        day += timedelta(days=1)
    store(db, "fed_lower", lower, "fred", at)
    store(db, "fed_upper", upper, "fred", at)
    sofr_rows = _read_fred("fred_SOFR_fredgraph.csv", "SOFR")
    if sofr_rows is None:  # the shared copy is missing: business days at the range bottom + 8 bp
        sofr_rows = [(d, round(v + 0.08, 2)) for d, v in lower.items() if date.fromisoformat(d).weekday() < 5]
    store(db, "sofr", dict(sofr_rows), "nyfed", at)
    iorb_rows = _read_fred("fred_IORB_fredgraph.csv", "IORB")
    if iorb_rows is None:
        iorb_rows = [(d, round(v - 0.10, 2)) for d, v in upper.items() if d >= "2021-07-29"]
    store(db, "iorb", dict(iorb_rows), "fred", at)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    now: datetime
    seed: Callable[[sqlite_utils.Database], None]


def _nothing(db: sqlite_utils.Database) -> None:
    return None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("empty", ny(2026, 2, 19, 8, 35), _nothing),
        Scenario("repo_spike_2019", ny(2019, 9, 18, 10, 0), seed_repo_spike_2019),
        Scenario("month_end_2025", ny(2025, 11, 3, 9, 5), seed_month_end_2025),
        Scenario("srf_feb_2026", ny(2026, 2, 19, 8, 35), seed_srf_feb_2026),
        Scenario("calm_2024", ny(2024, 6, 7, 17, 30), seed_calm_2024),
        # The calm database read ten days later: SOFR (2024-06-06) is 10 days old.
        Scenario("stale_2024", ny(2024, 6, 16, 12, 0), seed_calm_2024),
        Scenario("june_2026", ny(2026, 6, 24, 17, 0), seed_june_2026),
        Scenario("long_history", ny(2026, 7, 31, 9, 0), seed_long_history),
    )
}


def require_real_sofr_history() -> None:
    """Skip a test that needs the real SOFR prints of shared/data (the long_history fallback is smooth)."""
    if not (SHARED_DATA / "fred_SOFR_fredgraph.csv").exists():
        pytest.skip("shared/data (the real SOFR history) is not available")


def seeded(name: str, path: Path | str = ":memory:") -> sqlite_utils.Database:
    """A fresh database holding one named scenario."""
    db = open_db(path)
    SCENARIOS[name].seed(db)
    return db
