"""The pure alert rules over real episodes: exact alert keys, kinds, dates and facts.

SOFR values are the published NY Fed rates (FRED SOFR, shared/data/fred_SOFR_fredgraph.csv); the ceiling
is the target range top in effect on each date (tests.seed.TARGET_RANGES; FOMC moves take effect the next
day). SRF operations are the real NY Fed results copied in tests.seed. Values marked "hypothetical" are made
up to exercise one behaviour (a revision, a threshold, a stored record) and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pytest

from bot.alerts.rules import (
    SRF_TIERS,
    Alert,
    Mark,
    RangeDay,
    RuleResult,
    SofrDay,
    SrfOp,
    range_change,
    sofr_breach,
    sofr_near,
    srf_positive,
)
from bot.core.models import Operation
from bot.core.series import is_srf
from tests.seed import OPS_2025_10_31, OPS_2026_02, every_day

Facts = dict[str, float | str | int | None]
Expected = tuple[str, str, str, Facts]  # key, kind, date, facts

# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def sd(
    day: str, sofr: float, ceiling: float | None, p99: float | None = None, volume: float | None = None
) -> SofrDay:
    return SofrDay(day, sofr, ceiling, p99, volume)


def observed(alerts: Iterable[Alert]) -> list[Expected]:
    return [(a.key, a.kind, a.date, dict(a.facts)) for a in alerts]


def merged(marks: dict[str, Mark], new: Iterable[Mark]) -> dict[str, Mark]:
    out = dict(marks)
    out.update({m.item: m for m in new})
    return out


def daily_feed(
    rule: Callable[[Sequence[SofrDay], dict[str, Mark]], RuleResult],
    days: Sequence[SofrDay],
    marks: dict[str, Mark] | None = None,
) -> tuple[dict[str, Mark], list[Alert]]:
    """One published day per poll, marks carried from poll to poll, as the engine does."""
    known = dict(marks or {})
    alerts: list[Alert] = []
    for day in days:
        new, fired = rule([day], known)
        known = merged(known, new)
        alerts += fired
    return known, alerts


def batch_feed(
    rule: Callable[[Sequence[SofrDay], dict[str, Mark]], RuleResult],
    days: Sequence[SofrDay],
    marks: dict[str, Mark] | None = None,
) -> tuple[dict[str, Mark], list[Alert]]:
    new, alerts = rule(days, dict(marks or {}))
    return merged(dict(marks or {}), new), alerts


FEEDS = {"one call": batch_feed, "one day per poll": daily_feed}


def breach_start(
    day: str,
    sofr: float,
    ceiling: float,
    spread: float,
    p99: float | None = None,
    volume: float | None = None,
) -> Expected:
    facts: Facts = {"sofr": sofr, "ceiling": ceiling, "spread_bp": spread, "p99": p99, "volume": volume}
    return (f"sofr_breach:start:{day}", "start", day, facts)


def breach_end(
    day: str,
    sofr: float,
    ceiling: float,
    spread: float,
    days: int,
    since: str,
    peak_sofr: float,
    peak_date: str,
    peak_bp: float,
) -> Expected:
    facts: Facts = {
        "sofr": sofr,
        "ceiling": ceiling,
        "spread_bp": spread,
        "p99": None,
        "volume": None,
        "days": days,
        "since": since,
        "peak_sofr": peak_sofr,
        "peak_date": peak_date,
        "peak_bp": peak_bp,
    }
    return (f"sofr_breach:end:{day}", "end", day, facts)


def correction(
    day: str, sofr: float, ceiling: float, old_sofr: float | None, old_ceiling: float | None, spread: float
) -> Expected:
    breach = sofr > ceiling
    state = "breach" if breach else "inside"
    facts: Facts = {
        "sofr": sofr,
        "ceiling": ceiling,
        "old_sofr": old_sofr,
        "old_ceiling": old_ceiling,
        "breach": int(breach),
        "spread_bp": spread,
    }
    return (f"sofr_breach:correction:{day}:{state}:{sofr:.4f}", "correction", day, facts)


# ---------------------------------------------------------------------------------------------------------
# sofr_breach: real episodes
# ---------------------------------------------------------------------------------------------------------

# 2019-09: the repo spike. Range 2.00-2.25 from 2019-08-01; the 2019-09-18 cut took effect 09-19 (1.75-2.00).
SEPT_2019 = [
    sd("2019-09-12", 2.20, 2.25),
    sd("2019-09-13", 2.20, 2.25),
    sd("2019-09-16", 2.43, 2.25),
    sd("2019-09-17", 5.25, 2.25, 9.00, 1177.0),
    sd("2019-09-18", 2.55, 2.25),
    sd("2019-09-19", 1.95, 2.00),
    sd("2019-09-20", 1.86, 2.00),
]

# 2018 year end: range 2.25-2.50 from 2018-12-20.
YEAR_END_2018 = [
    sd("2018-12-27", 2.44, 2.50),
    sd("2018-12-28", 2.46, 2.50),
    sd("2018-12-31", 3.00, 2.50),
    sd("2019-01-02", 3.15, 2.50),
    sd("2019-01-03", 2.70, 2.50),
    sd("2019-01-04", 2.45, 2.50),
    sd("2019-01-07", 2.41, 2.50),
]

# 2020-03: the emergency cuts. 1.00-1.25 from 03-04, 0.00-0.25 from 03-16.
MARCH_2020 = [
    sd("2020-03-12", 1.20, 1.25),
    sd("2020-03-13", 1.10, 1.25),
    sd("2020-03-16", 0.26, 0.25),
    sd("2020-03-17", 0.54, 0.25),
    sd("2020-03-18", 0.10, 0.25),
    sd("2020-03-19", 0.06, 0.25),
]

# 2025-10 mid-month (tax date, range 4.00-4.25).
MID_OCT_2025 = [
    sd("2025-10-14", 4.19, 4.25),
    sd("2025-10-15", 4.29, 4.25),
    sd("2025-10-16", 4.30, 4.25),
    sd("2025-10-17", 4.18, 4.25),
]

# 2025-10 month end across the 2025-10-29 FOMC cut (effective 10-30: 4.00-4.25 -> 3.75-4.00).
MONTH_END_OCT_2025 = [
    sd("2025-10-23", 4.24, 4.25),
    sd("2025-10-24", 4.24, 4.25),
    sd("2025-10-27", 4.27, 4.25),
    sd("2025-10-28", 4.31, 4.25),
    sd("2025-10-29", 4.27, 4.25),
    sd("2025-10-30", 4.04, 4.00, 4.25, 3054.0),
    sd("2025-10-31", 4.22, 4.00, 4.45, 3116.0),
    sd("2025-11-03", 4.13, 4.00),
    sd("2025-11-04", 4.00, 4.00),
    sd("2025-11-05", 3.91, 4.00),
]

# 2025-11 month end (range 3.75-4.00).
LATE_NOV_2025 = [
    sd("2025-11-24", 3.96, 4.00),
    sd("2025-11-25", 4.01, 4.00),
    sd("2025-11-26", 4.05, 4.00),
    sd("2025-11-28", 4.12, 4.00),
    sd("2025-12-01", 4.12, 4.00),
    sd("2025-12-02", 4.01, 4.00),
    sd("2025-12-03", 3.95, 4.00),
]

# 2025-12: the 12-10 cut (effective 12-11: 3.50-3.75), then two year-end episodes.
DEC_2025 = [
    sd("2025-12-10", 3.90, 4.00),
    sd("2025-12-11", 3.66, 3.75),
    sd("2025-12-22", 3.68, 3.75),
    sd("2025-12-23", 3.66, 3.75),
    sd("2025-12-24", 3.66, 3.75),
    sd("2025-12-26", 3.76, 3.75),
    sd("2025-12-29", 3.77, 3.75),
    sd("2025-12-30", 3.71, 3.75),
    sd("2025-12-31", 3.87, 3.75),
    sd("2026-01-02", 3.75, 3.75),
    sd("2026-01-05", 3.70, 3.75),
]

# 2024-06: calm, SOFR 15-17 bp under a 5.50 top.
CALM_JUNE_2024 = [
    sd("2024-05-31", 5.34, 5.50),
    sd("2024-06-03", 5.35, 5.50, 5.44, 1912.0),
    sd("2024-06-04", 5.33, 5.50, 5.44, 2092.0),
    sd("2024-06-05", 5.33, 5.50, 5.43, 1989.0),
    sd("2024-06-06", 5.33, 5.50, 5.44, 2008.0),
]


@dataclass(frozen=True)
class BreachCase:
    name: str
    days: list[SofrDay]
    alerts: list[Expected]
    flagged: list[str] = field(default_factory=list)  # the dates marked as breaches


BREACH_CASES = [
    BreachCase(
        "2019-09 repo spike: start 09-16 (2.43 > 2.25), peak 09-17 5.25, back inside 09-19 after the cut",
        SEPT_2019,
        [
            breach_start("2019-09-16", 2.43, 2.25, 18.0),
            breach_end("2019-09-19", 1.95, 2.00, -5.0, 3, "2019-09-16", 5.25, "2019-09-17", 300.0),
        ],
        ["2019-09-16", "2019-09-17", "2019-09-18"],
    ),
    BreachCase(
        "2019-09 as far as the seeded database goes: one start, 09-17 does not alert again",
        SEPT_2019[:4],
        [breach_start("2019-09-16", 2.43, 2.25, 18.0)],
        ["2019-09-16", "2019-09-17"],
    ),
    BreachCase(
        "2018 year end: 3.00 on 12-31 against 2.50, peak 3.15 on 01-02",
        YEAR_END_2018,
        [
            breach_start("2018-12-31", 3.00, 2.50, 50.0),
            breach_end("2019-01-04", 2.45, 2.50, -5.0, 3, "2018-12-31", 3.15, "2019-01-02", 65.0),
        ],
        ["2018-12-31", "2019-01-02", "2019-01-03"],
    ),
    BreachCase(
        "2020-03-16: the first day of the 0-0.25 range, SOFR 0.26 then 0.54",
        MARCH_2020,
        [
            breach_start("2020-03-16", 0.26, 0.25, 1.0),
            breach_end("2020-03-18", 0.10, 0.25, -15.0, 2, "2020-03-16", 0.54, "2020-03-17", 29.0),
        ],
        ["2020-03-16", "2020-03-17"],
    ),
    BreachCase(
        "2025-10-15/16 tax date: 4.29 and 4.30 over 4.25",
        MID_OCT_2025,
        [
            breach_start("2025-10-15", 4.29, 4.25, 4.0),
            breach_end("2025-10-17", 4.18, 4.25, -7.0, 2, "2025-10-15", 4.30, "2025-10-16", 5.0),
        ],
        ["2025-10-15", "2025-10-16"],
    ),
    BreachCase(
        "2025-10-27..11-03 across the cut: 4.04 and 4.22 over the new 4.00 top; 11-04 at 4.00 is inside",
        MONTH_END_OCT_2025,
        [
            breach_start("2025-10-27", 4.27, 4.25, 2.0),
            breach_end("2025-11-04", 4.00, 4.00, 0.0, 6, "2025-10-27", 4.22, "2025-10-31", 22.0),
        ],
        ["2025-10-27", "2025-10-28", "2025-10-29", "2025-10-30", "2025-10-31", "2025-11-03"],
    ),
    BreachCase(
        "2025-11-25..12-02 month end, peak 4.12 twice (the first is reported)",
        LATE_NOV_2025,
        [
            breach_start("2025-11-25", 4.01, 4.00, 1.0),
            breach_end("2025-12-03", 3.95, 4.00, -5.0, 5, "2025-11-25", 4.12, "2025-11-28", 12.0),
        ],
        ["2025-11-25", "2025-11-26", "2025-11-28", "2025-12-01", "2025-12-02"],
    ),
    BreachCase(
        "2025-12: FOMC day quiet, then 12-26/29 and 12-31 (3.87 vs 3.75) as two episodes",
        DEC_2025,
        [
            breach_start("2025-12-26", 3.76, 3.75, 1.0),
            breach_end("2025-12-30", 3.71, 3.75, -4.0, 2, "2025-12-26", 3.77, "2025-12-29", 2.0),
            breach_start("2025-12-31", 3.87, 3.75, 12.0),
            breach_end("2026-01-02", 3.75, 3.75, 0.0, 1, "2025-12-31", 3.87, "2025-12-31", 12.0),
        ],
        ["2025-12-26", "2025-12-29", "2025-12-31"],
    ),
    BreachCase("2024-06 calm: nothing", CALM_JUNE_2024, [], []),
    BreachCase(
        "a day whose ceiling is unknown is skipped (2019-09-17 without a target range)",
        [sd("2019-09-17", 5.25, None, 9.00, 1177.0)],
        [],
        [],
    ),
    BreachCase(
        "an unknown ceiling inside an episode neither ends nor restarts it",
        [SEPT_2019[1], SEPT_2019[2], sd("2019-09-17", 5.25, None), SEPT_2019[4], SEPT_2019[5]],
        [
            breach_start("2019-09-16", 2.43, 2.25, 18.0),
            breach_end("2019-09-19", 1.95, 2.00, -5.0, 2, "2019-09-16", 2.55, "2019-09-18", 30.0),
        ],
        ["2019-09-16", "2019-09-18"],
    ),
]


@pytest.mark.parametrize("feed", list(FEEDS), ids=list(FEEDS))
@pytest.mark.parametrize("case", BREACH_CASES, ids=[c.name for c in BREACH_CASES])
def test_sofr_breach_real_episodes(case: BreachCase, feed: str) -> None:
    marks, alerts = FEEDS[feed](sofr_breach, case.days)
    assert observed(alerts) == case.alerts
    assert sorted(d for d, m in marks.items() if m.flag) == case.flagged
    known = [d.date for d in case.days if d.ceiling is not None]
    assert sorted(marks) == known
    for day in case.days:
        if day.ceiling is not None:
            assert marks[day.date] == Mark(day.date, day.date, day.sofr, day.ceiling, day.sofr > day.ceiling)


@pytest.mark.parametrize("case", BREACH_CASES, ids=[c.name for c in BREACH_CASES])
def test_sofr_breach_restart_with_marks_fires_nothing(case: BreachCase) -> None:
    marks, _ = batch_feed(sofr_breach, case.days)
    assert sofr_breach(case.days, marks) == ([], [])
    # And split: the later half again, after a restart, also nothing.
    assert sofr_breach(case.days[len(case.days) // 2 :], marks) == ([], [])


@pytest.mark.parametrize(
    ("day", "breach"),
    [
        (sd("2025-10-29", 4.27, 4.25), True),  # the last day of 4.00-4.25
        (sd("2025-10-30", 4.04, 4.00), True),  # the cut took effect: the top is 4.00
        (sd("2025-10-30", 4.04, 4.25), False),  # had the old top been used, 4.04 would look calm
        (sd("2025-11-04", 4.00, 4.00), False),  # at the ceiling is not above it
        (sd("2025-12-15", 3.75, 3.75), False),
        (sd("2025-12-26", 3.76, 3.75), True),  # one basis point is enough
    ],
    ids=lambda v: f"{v.date} {v.sofr} vs {v.ceiling}" if isinstance(v, SofrDay) else str(v),
)
def test_the_ceiling_in_effect_decides(day: SofrDay, breach: bool) -> None:
    marks, alerts = sofr_breach([sd("2025-10-01", 3.00, 9.99), day], {})
    assert marks[-1] == Mark(day.date, day.date, day.sofr, day.ceiling, breach)
    assert [a.key for a in alerts] == ([f"sofr_breach:start:{day.date}"] if breach else [])


def _oct_marks() -> dict[str, Mark]:
    marks, _ = batch_feed(sofr_breach, MONTH_END_OCT_2025)
    return marks


def _dec_marks() -> dict[str, Mark]:
    marks, _ = batch_feed(sofr_breach, DEC_2025)
    return marks


@pytest.mark.parametrize(
    ("marks_of", "revised", "expected"),
    [
        (  # hypothetical: 10-31 revised from 4.22 to 3.99, under the 4.00 top
            _oct_marks,
            sd("2025-10-31", 3.99, 4.00),
            correction("2025-10-31", 3.99, 4.00, 4.22, 4.00, -1.0),
        ),
        (  # hypothetical: the episode's first day revised from 4.27 to 4.25, at the top
            _oct_marks,
            sd("2025-10-27", 4.25, 4.25),
            correction("2025-10-27", 4.25, 4.25, 4.27, 4.25, 0.0),
        ),
        (  # hypothetical: 12-31 revised from 3.87 to 3.75
            _dec_marks,
            sd("2025-12-31", 3.75, 3.75),
            correction("2025-12-31", 3.75, 3.75, 3.87, 3.75, 0.0),
        ),
        (  # hypothetical: 12-30 revised from 3.71 to 3.76: the day was a breach after all
            _dec_marks,
            sd("2025-12-30", 3.76, 3.75),
            correction("2025-12-30", 3.76, 3.75, 3.71, 3.75, 1.0),
        ),
    ],
    ids=["10-31 4.22->3.99", "10-27 4.27->4.25", "12-31 3.87->3.75", "12-30 3.71->3.76"],
)
def test_sofr_breach_revision_flipping_the_verdict_sends_one_correction(
    marks_of: Callable[[], dict[str, Mark]], revised: SofrDay, expected: Expected
) -> None:
    marks = marks_of()
    new, alerts = sofr_breach([revised], marks)
    assert observed(alerts) == [expected]
    assert new == [
        Mark(revised.date, revised.date, revised.sofr, revised.ceiling, expected[3]["breach"] == 1)
    ]
    # Re-running (the next poll, or after a restart) with the updated marks: nothing more.
    marks = merged(marks, new)
    assert sofr_breach([revised], marks) == ([], [])


def test_sofr_breach_revision_inside_an_engine_window_with_new_days() -> None:
    """The revision and the next day arrive in one poll: one correction, then the day is judged on the
    revised history (12-31 no longer a breach, so 01-02 ends nothing)."""
    marks, _ = batch_feed(sofr_breach, DEC_2025[:9])  # through 12-31, an open episode
    window = [*DEC_2025[:8], sd("2025-12-31", 3.75, 3.75), DEC_2025[9]]
    new, alerts = sofr_breach(window, marks)
    assert observed(alerts) == [correction("2025-12-31", 3.75, 3.75, 3.87, 3.75, 0.0)]
    assert [m.item for m in new] == ["2025-12-31", "2026-01-02"]


@pytest.mark.parametrize(
    ("revised", "old"),
    [
        (sd("2025-10-31", 4.21, 4.00), 4.22),  # hypothetical: still 21 bp over
        (sd("2025-11-05", 3.92, 4.00), 3.91),  # hypothetical: still inside
        (sd("2025-10-30", 4.04, 4.00, 4.26, 3054.0), 4.04),  # only the 99th percentile changed
    ],
    ids=["breach stays breach", "inside stays inside", "same rate"],
)
def test_sofr_breach_revision_keeping_the_verdict_is_silent(revised: SofrDay, old: float) -> None:
    marks = _oct_marks()
    assert marks[revised.date].value == old
    new, alerts = sofr_breach([revised], marks)
    assert alerts == []
    flag = revised.sofr > (revised.ceiling or 0.0)
    if revised.sofr == old:
        assert new == []  # the mark records the rate and ceiling, nothing else changed
    else:
        assert new == [Mark(revised.date, revised.date, revised.sofr, revised.ceiling, flag)]


def test_sofr_breach_late_first_value_for_an_old_date() -> None:
    """10-16 arrives only after 11-05 was judged: a breach nobody was told about gets a correction;
    a late value inside is recorded silently."""
    marks = _oct_marks()
    new, alerts = sofr_breach([sd("2025-10-16", 4.30, 4.25)], marks)
    assert observed(alerts) == [correction("2025-10-16", 4.30, 4.25, None, None, 5.0)]
    assert new == [Mark("2025-10-16", "2025-10-16", 4.30, 4.25, True)]
    marks = merged(marks, new)
    assert sofr_breach([sd("2025-10-16", 4.30, 4.25)], marks) == ([], [])

    new, alerts = sofr_breach([sd("2025-10-17", 4.18, 4.25)], marks)
    assert alerts == []
    assert new == [Mark("2025-10-17", "2025-10-17", 4.18, 4.25, False)]


def test_sofr_breach_episode_carries_across_polls_and_restarts() -> None:
    """Start on one poll, quiet polls in between, end on a later poll with the peak of the whole episode."""
    marks, alerts = batch_feed(sofr_breach, MONTH_END_OCT_2025[:5])  # through 10-29
    assert [a.key for a in alerts] == ["sofr_breach:start:2025-10-27"]
    marks, alerts = batch_feed(sofr_breach, MONTH_END_OCT_2025[:7], marks)  # 10-30, 10-31
    assert alerts == []
    marks, alerts = batch_feed(sofr_breach, MONTH_END_OCT_2025, marks)
    assert observed(alerts) == [
        breach_end("2025-11-04", 4.00, 4.00, 0.0, 6, "2025-10-27", 4.22, "2025-10-31", 22.0)
    ]


# ---------------------------------------------------------------------------------------------------------
# sofr_near
# ---------------------------------------------------------------------------------------------------------

NEAR_DAYS = [
    sd("2025-10-20", 4.16, 4.25),
    sd("2025-10-21", 4.23, 4.25),
    sd("2025-10-22", 4.21, 4.25),
    *MONTH_END_OCT_2025,
    sd("2025-11-06", 3.92, 4.00),
    sd("2025-11-07", 3.93, 4.00),
    sd("2025-11-10", 3.95, 4.00),
    sd("2025-11-12", 3.98, 4.00),
    sd("2025-11-13", 4.00, 4.00),
    sd("2025-11-14", 3.95, 4.00),
    sd("2025-11-17", 4.00, 4.00),
    sd("2025-11-18", 3.94, 4.00),
]


def near_start(
    near: float, day: str, sofr: float, ceiling: float, gap: float, p99: float | None = None
) -> Expected:
    facts: Facts = {"sofr": sofr, "ceiling": ceiling, "gap_bp": gap, "near_bp": near, "p99": p99}
    return (f"sofr_near@{near:g}:start:{day}", "start", day, facts)


NEAR_CASES = [
    (
        "5 bp, Oct-Nov 2025",
        5.0,
        NEAR_DAYS,
        [
            near_start(5.0, "2025-10-21", 4.23, 4.25, 2.0),
            near_start(5.0, "2025-11-04", 4.00, 4.00, 0.0),
            near_start(5.0, "2025-11-10", 3.95, 4.00, 5.0),
        ],
    ),
    (
        "3 bp, Oct-Nov 2025: each return within 3 bp is a new episode",
        3.0,
        NEAR_DAYS,
        [
            near_start(3.0, "2025-10-21", 4.23, 4.25, 2.0),
            near_start(3.0, "2025-10-23", 4.24, 4.25, 1.0),
            near_start(3.0, "2025-11-04", 4.00, 4.00, 0.0),
            near_start(3.0, "2025-11-12", 3.98, 4.00, 2.0),
            near_start(3.0, "2025-11-17", 4.00, 4.00, 0.0),
        ],
    ),
    (
        "2.5 bp, December 2025: above the ceiling is never near",
        2.5,
        DEC_2025,
        [
            near_start(2.5, "2026-01-02", 3.75, 3.75, 0.0),
        ],
    ),
    ("3 bp, calm June 2024", 3.0, CALM_JUNE_2024, []),
    ("20 bp, calm June 2024: 15-17 bp under is near", 20.0, CALM_JUNE_2024,
     [near_start(20.0, "2024-05-31", 5.34, 5.50, 16.0)]),
]  # fmt: skip


@pytest.mark.parametrize("feed", list(FEEDS), ids=list(FEEDS))
@pytest.mark.parametrize(("name", "near", "days", "expected"), NEAR_CASES, ids=[c[0] for c in NEAR_CASES])
def test_sofr_near(name: str, near: float, days: list[SofrDay], expected: list[Expected], feed: str) -> None:
    def rule(d: Sequence[SofrDay], m: dict[str, Mark]) -> RuleResult:
        return sofr_near(d, m, near)

    marks, alerts = FEEDS[feed](rule, days)
    assert observed(alerts) == expected
    assert {a.kind for a in alerts} <= {"start"}
    for day in days:
        gap = ((day.ceiling or 0.0) - day.sofr) * 100
        assert marks[day.date].flag == (-1e-9 <= gap <= near + 1e-9), day.date
        if day.sofr > (day.ceiling or 0.0):
            assert not marks[day.date].flag
    # Restart: the same days with the marks give nothing.
    assert sofr_near(days, marks, near) == ([], [])


def test_sofr_near_revisions_and_late_values_are_silent() -> None:
    marks, _ = batch_feed(lambda d, m: sofr_near(d, m, 5.0), NEAR_DAYS)
    # hypothetical revisions: 11-05 from 3.91 (9 bp) to 3.97 (3 bp); a late 10-16 4.22 (3 bp)
    new, alerts = sofr_near([sd("2025-11-05", 3.97, 4.00), sd("2025-10-16", 4.22, 4.25)], marks, 5.0)
    assert alerts == []
    assert new == [
        Mark("2025-10-16", "2025-10-16", 4.22, 4.25, True),
        Mark("2025-11-05", "2025-11-05", 3.97, 4.00, True),
    ]


# ---------------------------------------------------------------------------------------------------------
# range_change
# ---------------------------------------------------------------------------------------------------------


def rd(start: str, end: str, lower: float, upper: float) -> list[RangeDay]:
    return [RangeDay(d, lower, upper) for d in every_day(start, end, 0.0)]


def range_alert(
    day: str, lower: float, upper: float, old_lower: float, old_upper: float, move: int
) -> Expected:
    facts: Facts = {
        "lower": lower,
        "upper": upper,
        "old_lower": old_lower,
        "old_upper": old_upper,
        "move_bp": move,
    }
    return (f"range_change:{day}:{lower:g}-{upper:g}", "change", day, facts)


RANGE_CASES = [
    (
        "2019-09-19 cut",
        rd("2019-09-16", "2019-09-18", 2.00, 2.25) + rd("2019-09-19", "2019-09-22", 1.75, 2.00),
        [range_alert("2019-09-19", 1.75, 2.00, 2.00, 2.25, -25)],
        "range_change:2019-09-19:1.75-2",
    ),
    (
        "2020-03 emergency cuts",
        rd("2020-03-01", "2020-03-03", 1.50, 1.75)
        + rd("2020-03-04", "2020-03-15", 1.00, 1.25)
        + rd("2020-03-16", "2020-03-18", 0.00, 0.25),
        [
            range_alert("2020-03-04", 1.00, 1.25, 1.50, 1.75, -50),
            range_alert("2020-03-16", 0.00, 0.25, 1.00, 1.25, -100),
        ],
        "range_change:2020-03-16:0-0.25",
    ),
    (
        "2022-03-17 first hike",
        rd("2022-03-14", "2022-03-16", 0.00, 0.25) + rd("2022-03-17", "2022-03-18", 0.25, 0.50),
        [range_alert("2022-03-17", 0.25, 0.50, 0.00, 0.25, 25)],
        "range_change:2022-03-17:0.25-0.5",
    ),
    (
        "2022-06-16 +75",
        rd("2022-06-14", "2022-06-15", 0.75, 1.00) + rd("2022-06-16", "2022-06-17", 1.50, 1.75),
        [range_alert("2022-06-16", 1.50, 1.75, 0.75, 1.00, 75)],
        "range_change:2022-06-16:1.5-1.75",
    ),
    (
        "FOMC 2025-10-29, effective 10-30",
        rd("2025-10-27", "2025-10-29", 4.00, 4.25) + rd("2025-10-30", "2025-11-02", 3.75, 4.00),
        [range_alert("2025-10-30", 3.75, 4.00, 4.00, 4.25, -25)],
        "range_change:2025-10-30:3.75-4",
    ),
    (
        "FOMC 2025-12-10, effective 12-11",
        rd("2025-12-08", "2025-12-10", 3.75, 4.00) + rd("2025-12-11", "2025-12-14", 3.50, 3.75),
        [range_alert("2025-12-11", 3.50, 3.75, 3.75, 4.00, -25)],
        "range_change:2025-12-11:3.5-3.75",
    ),
    ("calm 2024", rd("2024-06-01", "2024-06-07", 5.25, 5.50), [], None),
]


@pytest.mark.parametrize("per_day", [False, True], ids=["one call", "one day per poll"])
@pytest.mark.parametrize(("name", "days", "expected", "key"), RANGE_CASES, ids=[c[0] for c in RANGE_CASES])
def test_range_change(
    name: str, days: list[RangeDay], expected: list[Expected], key: str | None, per_day: bool
) -> None:
    # The first evaluation sees one day and has no previous mark: nothing fires.
    marks, alerts = range_change(days[:1], {})
    assert alerts == []
    assert marks == [Mark(days[0].date, days[0].date, days[0].upper, days[0].lower, False)]
    known = {m.item: m for m in marks}
    fired: list[Alert] = []
    for batch in ([d] for d in days[1:]) if per_day else [days]:
        new, out = range_change(batch, known)
        known = merged(known, new)
        fired += out
    assert observed(fired) == expected
    assert (fired[-1].key if fired else None) == key
    # Restart with the marks: nothing again, and no mark rewritten.
    assert range_change(days, known) == ([], [])


def test_range_change_first_evaluation_never_fires_on_its_first_day() -> None:
    """A first evaluation starting on the cut day has nothing to compare with: silence."""
    days = rd("2025-10-30", "2025-11-02", 3.75, 4.00)
    marks, alerts = range_change(days, {})
    assert alerts == []
    assert [m.item for m in marks] == ["2025-10-30", "2025-10-31", "2025-11-01", "2025-11-02"]
    assert all(m.flag is False for m in marks)


def test_range_change_ignores_days_at_or_before_the_last_mark() -> None:
    marks, _ = range_change(rd("2025-10-30", "2025-10-31", 3.75, 4.00), {})
    known = {m.item: m for m in marks}
    # A late, different value for an already judged day is not a new FOMC move.
    assert range_change([RangeDay("2025-10-29", 4.00, 4.25)], known) == ([], [])


# ---------------------------------------------------------------------------------------------------------
# srf_positive
# ---------------------------------------------------------------------------------------------------------


def srf(ops: Iterable[Operation]) -> list[SrfOp]:
    """Rule inputs from stored operations, as AlertEngine.srf_ops builds them (SVEs and RRP dropped)."""
    return [
        SrfOp(
            o.operation_id,
            o.operation_date,
            o.close_time,
            o.session,
            o.total_accepted,
            o.treasury,
            o.agency,
            o.mbs,
            o.rate,
        )
        for o in ops
        if is_srf(o)
    ]


FEB_OPS = srf(OPS_2026_02)
FEB_BEFORE_17 = [o for o in FEB_OPS if o.date < "2026-02-17"]
FEB_17 = [o for o in FEB_OPS if o.date == "2026-02-17"]
FEB_18 = [o for o in FEB_OPS if o.date == "2026-02-18"]
OCT_31 = srf(OPS_2025_10_31)
RECORD_2025_10_31 = 50.35  # the day total stored for 2025-10-31


def srf_alert(
    kind: str,
    op: SrfOp,
    threshold: float,
    day_total: float,
    tier: float,
    prior_record: float,
    record: int = 0,
    tier_up: int = 1,
) -> Expected:
    """tier_up (tier alerts only): 1 when the alert is for a newly crossed tier, 0 when only for a record."""
    facts: Facts = {
        "amount": op.amount,
        "session": op.session,
        "day_total": day_total,
        "treasury": op.treasury,
        "agency": op.agency,
        "mbs": op.mbs,
        "rate": op.rate,
        "threshold": threshold,
        "operation_id": op.operation_id,
        "record": record,
        "prior_record": prior_record,
        "tier": tier,
    }
    if kind == "tier":
        facts["tier_up"] = tier_up
    return (f"srf_positive@{threshold:g}:{kind}:{op.operation_id}", kind, op.date, facts)


def poll_by_poll(
    history: list[SrfOp], new: list[SrfOp], threshold: float, prior: float
) -> tuple[dict[str, Mark], list[Alert]]:
    """As the engine runs: the history is a silent baseline, then one poll per new operation, each poll
    seeing the whole window (whole days) with the marks of the previous polls."""
    marks_list, _ = srf_positive(history, {}, threshold, prior)
    marks = {m.item: m for m in marks_list}
    alerts: list[Alert] = []
    for i in range(len(new)):
        fresh, fired = srf_positive([*history, *new[: i + 1]], marks, threshold, prior)
        marks = merged(marks, fresh)
        alerts += fired
    return marks, alerts


def one_call(
    history: list[SrfOp], new: list[SrfOp], threshold: float, prior: float
) -> tuple[dict[str, Mark], list[Alert]]:
    marks_list, _ = srf_positive(history, {}, threshold, prior)
    marks = {m.item: m for m in marks_list}
    fresh, alerts = srf_positive([*history, *new], marks, threshold, prior)
    return merged(marks, fresh), alerts


SRF_FEEDS = {"one call": one_call, "one poll per operation": poll_by_poll}

AM17, PM17 = FEB_17
AM18, PM18 = FEB_18
AM31, PM31 = OCT_31

SRF_CASES = [
    ("2026-02-17 at 0: AM $11.0B starts (tier 10), PM $19.5B takes the day to $30.5B (tier 25)",
     FEB_BEFORE_17, FEB_17, 0.0, RECORD_2025_10_31,
     [srf_alert("start", AM17, 0.0, 11.0, 10.0, RECORD_2025_10_31),
      srf_alert("tier", PM17, 0.0, 30.5, 25.0, RECORD_2025_10_31)]),
    ("2026-02-17 at 5B: the same two alerts for the $5B audience",
     FEB_BEFORE_17, FEB_17, 5.0, RECORD_2025_10_31,
     [srf_alert("start", AM17, 5.0, 11.0, 10.0, RECORD_2025_10_31),
      srf_alert("tier", PM17, 5.0, 30.5, 25.0, RECORD_2025_10_31)]),
    ("2026-02-17 at 15B: AM $11.0B is under, PM $19.5B starts with the day at $30.5B",
     FEB_BEFORE_17, FEB_17, 15.0, RECORD_2025_10_31,
     [srf_alert("start", PM17, 15.0, 30.5, 25.0, RECORD_2025_10_31)]),
    ("2026-02-18 at 0: AM 0 closes the episode, the SVE is not take-up, PM $0.004B starts a new one",
     FEB_BEFORE_17 + FEB_17, FEB_18, 0.0, RECORD_2025_10_31,
     [srf_alert("start", PM18, 0.0, 0.004, 0.0, RECORD_2025_10_31)]),
    ("2026-02-18 at 5B: nothing", FEB_BEFORE_17 + FEB_17, FEB_18, 5.0, RECORD_2025_10_31, []),
    ("2025-10-31 at 0, no stored record: start at AM $21.0B, tier 50 at PM ($50.35B)",
     [], OCT_31, 0.0, 0.0,
     [srf_alert("start", AM31, 0.0, 21.0, 10.0, 0.0), srf_alert("tier", PM31, 0.0, 50.35, 50.0, 0.0)]),
    ("2025-10-31 at 0, hypothetical stored record $11.1B: the AM start is the record, PM only the tier",
     [], OCT_31, 0.0, 11.1,
     [srf_alert("start", AM31, 0.0, 21.0, 10.0, 11.1, record=1),
      srf_alert("tier", PM31, 0.0, 50.35, 50.0, 11.1)]),
    ("2025-10-31 at 0, hypothetical stored record $30.5B: the PM operation sets the record",
     [], OCT_31, 0.0, 30.5,
     [srf_alert("start", AM31, 0.0, 21.0, 10.0, 30.5),
      srf_alert("tier", PM31, 0.0, 50.35, 50.0, 30.5, record=1)]),
    ("2025-10-31 at 0, hypothetical stored record $60B: no record",
     [], OCT_31, 0.0, 60.0,
     [srf_alert("start", AM31, 0.0, 21.0, 10.0, 60.0), srf_alert("tier", PM31, 0.0, 50.35, 50.0, 60.0)]),
    ("2025-10-31 at 25B: only the PM operation is above; it starts with the day at $50.35B",
     [], OCT_31, 25.0, 0.0, [srf_alert("start", PM31, 25.0, 50.35, 50.0, 0.0)]),
    ("a day with only zero operations and an SVE fires nothing",
     FEB_BEFORE_17, srf(o for o in OPS_2026_02 if o.operation_id in ("RP 021826 25", "RP 021826 28")),
     0.0, RECORD_2025_10_31, []),
]  # fmt: skip


@pytest.mark.parametrize("feed", list(SRF_FEEDS), ids=list(SRF_FEEDS))
@pytest.mark.parametrize(
    ("name", "history", "new", "threshold", "prior", "expected"), SRF_CASES, ids=[c[0] for c in SRF_CASES]
)
def test_srf_positive_real_operations(
    name: str,
    history: list[SrfOp],
    new: list[SrfOp],
    threshold: float,
    prior: float,
    expected: list[Expected],
    feed: str,
) -> None:
    marks, alerts = SRF_FEEDS[feed](history, new, threshold, prior)
    assert observed(alerts) == expected
    for op in [*history, *new]:
        assert marks[op.operation_id] == Mark(
            op.operation_id, op.ord, op.amount, threshold, op.amount > threshold
        )
    # Feeding everything again with the marks (a restart, the next poll): nothing.
    assert srf_positive([*history, *new], marks, threshold, prior) == ([], [])


def test_srf_tiers_are_10_25_50() -> None:
    assert SRF_TIERS == (10.0, 25.0, 50.0)


def test_the_sve_is_excluded_upstream_and_would_otherwise_alert() -> None:
    sve = next(o for o in OPS_2026_02 if o.operation_id == "RP 021826 28")
    assert sve.is_sve and sve.total_accepted == 0.056
    assert not is_srf(sve)
    assert [o.operation_id for o in FEB_18] == ["RP 021826 25", "RP 021826 29"]
    # Were it counted, the $0.056B test operation after a zero AM would look like a new episode.
    as_take_up = SrfOp(sve.operation_id, sve.operation_date, sve.close_time, sve.session, sve.total_accepted)
    _, alerts = srf_positive([*FEB_BEFORE_17, *FEB_17, AM18, as_take_up], {}, 0.0, RECORD_2025_10_31)
    assert "srf_positive@0:start:RP 021826 28" in [a.key for a in alerts]


def op(op_id: str, day: str, session: str, amount: float) -> SrfOp:
    """A hypothetical SRF operation on the 2026 schedule (AM closes 08:30, PM 13:45)."""
    return SrfOp(op_id, day, "08:30" if session == "AM" else "13:45", session, amount, amount, 0.0, 0.0, 3.75)


def test_srf_no_realert_within_an_episode_without_a_tier_or_record() -> None:
    ops = [
        op("RP 030226 1", "2026-03-02", "AM", 11.0),
        op("RP 030226 2", "2026-03-02", "PM", 2.0),  # day 13.0: tier 10 again
        op("RP 030326 1", "2026-03-03", "AM", 3.0),
        op("RP 030326 2", "2026-03-03", "PM", 1.0),
        op("RP 030426 1", "2026-03-04", "AM", 12.5),  # tier 10, under the stored record
    ]
    marks, alerts = poll_by_poll([], ops, 0.0, RECORD_2025_10_31)
    assert observed(alerts) == [srf_alert("start", ops[0], 0.0, 11.0, 10.0, RECORD_2025_10_31)]
    assert all(m.flag for m in marks.values())


def test_srf_zero_operation_closes_the_episode_and_the_next_positive_starts_a_new_one() -> None:
    ops = [
        op("RP 030226 1", "2026-03-02", "AM", 5.0),
        op("RP 030226 2", "2026-03-02", "PM", 0.0),
        op("RP 030326 1", "2026-03-03", "AM", 2.0),
        op("RP 030326 2", "2026-03-03", "PM", 0.5),
    ]
    _, alerts = poll_by_poll([], ops, 0.0, RECORD_2025_10_31)
    assert observed(alerts) == [
        srf_alert("start", ops[0], 0.0, 5.0, 0.0, RECORD_2025_10_31),
        srf_alert("start", ops[2], 0.0, 2.0, 0.0, RECORD_2025_10_31),
    ]


def test_srf_tier_crossed_on_a_later_day_of_the_episode() -> None:
    ops = [
        op("RP 030226 1", "2026-03-02", "AM", 11.0),  # start, tier 10
        op("RP 030226 2", "2026-03-02", "PM", 1.0),
        op("RP 030326 1", "2026-03-03", "AM", 12.0),
        op("RP 030326 2", "2026-03-03", "PM", 15.0),  # day 27.0: tier 25
    ]
    _, alerts = poll_by_poll([], ops, 0.0, RECORD_2025_10_31)
    assert observed(alerts) == [
        srf_alert("start", ops[0], 0.0, 11.0, 10.0, RECORD_2025_10_31),
        srf_alert("tier", ops[3], 0.0, 27.0, 25.0, RECORD_2025_10_31),
    ]


def test_srf_record_alert_only_once_per_day() -> None:
    """Hypothetical stored record $25B: the AM operation beats it (and reaches tier 25); the PM operation adds
    more, but the day already set the record and no new tier is crossed: no second alert."""
    ops = [
        op("RP 030226 2", "2026-03-02", "PM", 1.0),  # start
        op("RP 030326 1", "2026-03-03", "AM", 26.0),  # record, tier 25
        op("RP 030326 2", "2026-03-03", "PM", 4.0),  # day 30.0: no
    ]
    _, alerts = poll_by_poll([], ops, 0.0, 25.0)
    assert observed(alerts) == [
        srf_alert("start", ops[0], 0.0, 1.0, 0.0, 25.0),
        srf_alert("tier", ops[1], 0.0, 26.0, 25.0, 25.0, record=1),
    ]


def test_srf_record_within_a_tier_alerts_once() -> None:
    """Hypothetical stored record $5B: 6.0 on the episode's second day is a record below every tier."""
    ops = [
        op("RP 030226 2", "2026-03-02", "PM", 3.0),
        op("RP 030326 1", "2026-03-03", "AM", 6.0),
        op("RP 030326 2", "2026-03-03", "PM", 2.0),
    ]
    _, alerts = poll_by_poll([], ops, 0.0, 5.0)
    assert observed(alerts) == [
        srf_alert("start", ops[0], 0.0, 3.0, 0.0, 5.0),
        srf_alert("tier", ops[1], 0.0, 6.0, 0.0, 5.0, record=1, tier_up=0),
    ]


def test_srf_tier_already_reached_in_the_episode_is_not_alerted_again() -> None:
    """Threshold $5B. Day 1: AM 3.0 (under the threshold) + PM 8.0 = $11.0B; the start alert reports tier 10.
    Day 2 of the same episode: 6.0 + 6.0 = $12.0B, not a record ($50.35B stored): tier 10 was already
    reached in this episode, so nothing more may fire."""
    ops = [
        op("RP 030226 1", "2026-03-02", "AM", 3.0),
        op("RP 030226 2", "2026-03-02", "PM", 8.0),
        op("RP 030326 1", "2026-03-03", "AM", 6.0),
        op("RP 030326 2", "2026-03-03", "PM", 6.0),
    ]
    _, alerts = poll_by_poll([], ops, 5.0, RECORD_2025_10_31)
    assert observed(alerts) == [srf_alert("start", ops[1], 5.0, 11.0, 10.0, RECORD_2025_10_31)]


@pytest.mark.parametrize(
    ("threshold", "history", "revised", "old_amount", "session"),
    [
        # hypothetical: the 02-18 PM $0.004B revised to zero
        (
            0.0,
            FEB_BEFORE_17 + FEB_17 + FEB_18,
            SrfOp("RP 021826 29", "2026-02-18", "13:45", "PM", 0.0),
            0.004,
            "PM",
        ),
        # hypothetical: the 02-17 AM $11.0B revised to $4.0B, under a $5B threshold
        (
            5.0,
            FEB_BEFORE_17 + FEB_17,
            SrfOp("RP 021726 25", "2026-02-17", "08:30", "AM", 4.0, 4.0),
            11.0,
            "AM",
        ),
        # hypothetical: the 2025-10-31 PM $29.35B revised to $20.0B, under a $25B threshold
        (25.0, OCT_31, SrfOp("RP 103125 3", "2025-10-31", "13:45", "PM", 20.0), 29.35, "PM"),
    ],
    ids=["02-18 PM 0.004->0 at 0", "02-17 AM 11->4 at 5B", "10-31 PM 29.35->20 at 25B"],
)
def test_srf_revision_under_the_threshold_after_an_alert_sends_one_correction(
    threshold: float, history: list[SrfOp], revised: SrfOp, old_amount: float, session: str
) -> None:
    marks = {m.item: m for m in srf_positive(history, {}, threshold, 0.0)[0]}
    assert marks[revised.operation_id].flag
    ops = [revised if o.operation_id == revised.operation_id else o for o in history]
    new, alerts = srf_positive(ops, marks, threshold, 0.0)
    key = f"srf_positive@{threshold:g}:correction:{revised.operation_id}:{revised.amount:.6f}"
    facts: Facts = {
        "amount": revised.amount,
        "old_amount": old_amount,
        "session": session,
        "threshold": threshold,
    }
    assert observed(alerts) == [(key, "correction", revised.date, facts)]
    assert new == [Mark(revised.operation_id, revised.ord, revised.amount, threshold, False)]
    marks = merged(marks, new)
    assert srf_positive(ops, marks, threshold, 0.0) == ([], [])


def test_srf_revision_staying_above_the_threshold_is_silent() -> None:
    marks = {m.item: m for m in srf_positive(FEB_BEFORE_17 + FEB_17, {}, 0.0, 0.0)[0]}
    revised = SrfOp("RP 021726 25", "2026-02-17", "08:30", "AM", 12.0, 9.0, 0.0, 3.0, 3.75)  # hypothetical
    ops = [revised if o.operation_id == revised.operation_id else o for o in FEB_BEFORE_17 + FEB_17]
    new, alerts = srf_positive(ops, marks, 0.0, 0.0)
    assert alerts == []
    assert new == [Mark("RP 021726 25", revised.ord, 12.0, 0.0, True)]


# -- issue #10: SRF operations revised up across the threshold, or published late, alert too


@pytest.mark.parametrize(
    ("threshold", "history", "revised", "old_amount"),
    [
        # hypothetical: the 02-18 PM $0.004B revised to $14.0B, at a $1B threshold
        (
            1.0,
            FEB_BEFORE_17 + FEB_17 + FEB_18,
            SrfOp("RP 021826 29", "2026-02-18", "13:45", "PM", 14.0),
            0.004,
        ),
        # hypothetical: the 02-17 AM $11.0B revised to $12.0B at a $11.5B threshold
        (11.5, FEB_BEFORE_17 + FEB_17, SrfOp("RP 021726 25", "2026-02-17", "08:30", "AM", 12.0, 12.0), 11.0),
    ],
    ids=["02-18 PM 0.004->14 at 1B", "02-17 AM 11->12 at 11.5B"],
)
def test_srf_revision_above_the_threshold_alerts_once(
    threshold: float, history: list[SrfOp], revised: SrfOp, old_amount: float
) -> None:
    marks = {m.item: m for m in srf_positive(history, {}, threshold, 0.0)[0]}
    assert not marks[revised.operation_id].flag
    ops = [revised if o.operation_id == revised.operation_id else o for o in history]
    new, alerts = srf_positive(ops, marks, threshold, 0.0)
    day_total = round(sum(o.amount for o in ops if o.date == revised.date and o.ord <= revised.ord), 6)
    facts: Facts = {
        "amount": revised.amount,
        "old_amount": old_amount,
        "session": revised.session,
        "threshold": threshold,
        "day_total": day_total,
        "operation_id": revised.operation_id,
    }
    key = f"srf_positive@{threshold:g}:revised:{revised.operation_id}:{revised.amount:.6f}"
    assert observed(alerts) == [(key, "revised", revised.date, facts)]
    assert new == [Mark(revised.operation_id, revised.ord, revised.amount, threshold, True)]
    assert srf_positive(ops, merged(marks, new), threshold, 0.0) == ([], [])


def test_srf_operation_arriving_after_later_ones_alerts_as_late() -> None:
    # hypothetical: the 2025-10-31 AM operation is published only after the PM one was judged
    marks = {m.item: m for m in srf_positive([PM31], {}, 0.0, 0.0)[0]}
    new, alerts = srf_positive([AM31, PM31], marks, 0.0, 0.0)
    assert [(a.kind, a.facts["operation_id"], a.facts["old_amount"]) for a in alerts] == [
        ("revised", AM31.operation_id, None)
    ]
    assert [m.item for m in new] == [AM31.operation_id]
