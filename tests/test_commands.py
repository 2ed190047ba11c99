"""Every command on seeded databases of real market days: the exact numbers, dates and verdicts it gives."""

from __future__ import annotations

import ast
import json
import logging
import re
import string
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.clock import iso_utc
from bot.core.models import Operation
from bot.sources.derived import net_liquidity
from bot.sources.nyfed import parse_operations
from bot.words.messages import CATALOGS, EN, t
from bot.words.reply import ChartSeries, Context, Mono, Reply, Text
from handlers.table import COMMANDS, MAX_COMMAND_LENGTH, dispatch, parse_command
from storage.observations import history, latest
from tests.seed import (
    OMO_2019_09_17,
    OPS_2025_10_31,
    OPS_2026_02,
    SCENARIOS,
    full_allotment_op,
    log_fetch,
    ny,
    rrp_op,
    seeded,
    store,
    store_operations,
)

BOT = "plumbline_test_bot"
ROOT = Path(__file__).resolve().parents[1]
MARKET_COMMANDS = ("/corridor", "/srf", "/sofr", "/rrp", "/tga", "/reserves", "/liquidity")
CORE_COMMANDS = (
    "start",
    "help",
    "corridor",
    "srf",
    "sofr",
    "rrp",
    "tga",
    "reserves",
    "liquidity",
    "status",
    "chart",
)
ALL_LINES = (*MARKET_COMMANDS, "/status", "/help", "/start", "/chart corridor", "/chart srf 1y")


TGA_NOTE = (
    "The TGA here is the Daily Treasury Statement closing balance of each business day "
    "(FRED's WTREGEN is a weekly average of it)."
)


def context(now: datetime, **kw: object) -> Context:
    values: dict[str, object] = {"chat_id": "1001", "user_id": "42", "bot_username": BOT, **kw}
    return Context("telegram", now=now, **values)  # type: ignore[arg-type]


def ask(scenario: str, line: str, *, now: datetime | None = None, **kw: object) -> Reply:
    db = seeded(scenario)
    return ask_db(db, line, now or SCENARIOS[scenario].now, **kw)


def ask_db(db: sqlite_utils.Database, line: str, now: datetime, **kw: object) -> Reply:
    reply = dispatch(line, context(now, **kw), db)
    assert reply is not None, line
    return reply


def texts(reply: Reply) -> list[str]:
    return [b.text for b in reply.blocks if isinstance(b, Text)]


def monos(reply: Reply) -> list[tuple[str, ...]]:
    return [b.lines for b in reply.blocks if isinstance(b, Mono)]


NEXT_POLL_SOON = "The first poll runs as soon as the bot starts; try again in a minute, or see /status."


# ---------------------------------------------------------------------------------------------------------
# The seed itself is what the real parsers and derivations produce
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "ops"),
    [
        ("rp_2025-10-31.json", OPS_2025_10_31),
        ("rp_2026-02-17_to_02-18.json", [op for op in OPS_2026_02 if op.operation_date >= "2026-02-17"]),
    ],
)
def test_seeded_operations_equal_the_parsed_captured_bodies(fixture: str, ops: Sequence[Operation]) -> None:
    body = json.loads((ROOT / "tests" / "fixtures" / "nyfed" / fixture).read_text(encoding="utf-8"))
    parsed = {op.operation_id: op for op in parse_operations(body)}
    assert parsed == {op.operation_id: op for op in ops}


@pytest.mark.parametrize(
    ("scenario", "series", "day", "value"),
    [
        ("month_end_2025", "srf", "2025-10-31", 50.35),
        ("month_end_2025", "srf_rate", "2025-10-31", 4.00),
        ("month_end_2025", "rrp", "2025-10-31", 51.802),
        ("month_end_2025", "rrp_rate", "2025-10-31", 3.75),
        ("month_end_2025", "rrp_rate", "2025-10-29", 4.00),
        ("srf_feb_2026", "srf", "2026-02-17", 30.5),
        ("srf_feb_2026", "srf", "2026-02-18", 0.004),  # the 0.056 SVE is not usage
        ("srf_feb_2026", "rrp", "2026-02-17", 0.441),
        ("srf_feb_2026", "rrp_rate", "2026-02-17", 3.50),
        ("calm_2024", "srf", "2024-06-06", 0.0),
        ("calm_2024", "rrp", "2024-06-06", 378.125),
        ("june_2026", "tga", "2026-06-23", 925.876),
    ],
)
def test_seeded_series_values(scenario: str, series: str, day: str, value: float) -> None:
    db = seeded(scenario)
    assert {p.date: p.value for p in history(db, series)}[day] == pytest.approx(value)


@pytest.mark.parametrize("scenario", ["month_end_2025", "srf_feb_2026", "calm_2024", "june_2026"])
def test_seeded_net_liquidity_is_assets_minus_tga_minus_rrp(scenario: str) -> None:
    db = seeded(scenario)
    inputs = [history(db, s) for s in ("fed_assets", "tga", "rrp")]
    expected = {o.date: o.value for o in net_liquidity(*inputs)}
    assert {p.date: p.value for p in history(db, "net_liquidity")} == pytest.approx(expected)
    assert len(expected) >= 6


# ---------------------------------------------------------------------------------------------------------
# Titles and as-of dates
# ---------------------------------------------------------------------------------------------------------

TITLES = [
    ("repo_spike_2019", "/corridor", "Fed funds corridor \u2014 Tue 2019-09-17", "2019-09-17"),
    ("repo_spike_2019", "/sofr", "SOFR \u2014 Tue 2019-09-17", "2019-09-17"),
    ("month_end_2025", "/corridor", "Fed funds corridor \u2014 Fri 2025-10-31", "2025-10-31"),
    ("month_end_2025", "/srf", "Standing Repo Facility \u2014 Fri 2025-10-31", "2025-10-31"),
    ("month_end_2025", "/sofr", "SOFR \u2014 Fri 2025-10-31", "2025-10-31"),
    ("month_end_2025", "/rrp", "ON RRP \u2014 Fri 2025-10-31", "2025-10-31"),
    ("month_end_2025", "/tga", "Treasury General Account \u2014 Thu 2025-10-30", "2025-10-30"),
    ("month_end_2025", "/reserves", "Bank reserves \u2014 week of 2025-10-29", "2025-10-29"),
    ("month_end_2025", "/liquidity", "Net liquidity \u2014 Fri 2025-10-31", "2025-10-31"),
    ("srf_feb_2026", "/corridor", "Fed funds corridor \u2014 Wed 2026-02-18", "2026-02-18"),
    ("srf_feb_2026", "/srf", "Standing Repo Facility \u2014 Wed 2026-02-18", "2026-02-18"),
    ("srf_feb_2026", "/rrp", "ON RRP \u2014 Wed 2026-02-18", "2026-02-18"),
    ("srf_feb_2026", "/tga", "Treasury General Account \u2014 Tue 2026-02-17", "2026-02-17"),
    ("srf_feb_2026", "/reserves", "Bank reserves \u2014 week of 2026-02-11", "2026-02-11"),
    ("srf_feb_2026", "/liquidity", "Net liquidity \u2014 Wed 2026-02-18", "2026-02-18"),
    ("calm_2024", "/corridor", "Fed funds corridor \u2014 Thu 2024-06-06", "2024-06-06"),
    ("calm_2024", "/srf", "Standing Repo Facility \u2014 Fri 2024-06-07", "2024-06-07"),
    ("calm_2024", "/rrp", "ON RRP \u2014 Fri 2024-06-07", "2024-06-07"),
    ("june_2026", "/tga", "Treasury General Account \u2014 Tue 2026-06-23", "2026-06-23"),
    ("june_2026", "/liquidity", "Net liquidity \u2014 Wed 2026-06-24", "2026-06-24"),
    ("june_2026", "/reserves", "Bank reserves \u2014 week of 2026-06-17", "2026-06-17"),
    ("june_2026", "/corridor", "Fed funds corridor \u2014 Tue 2026-06-23", "2026-06-23"),
]


@pytest.mark.parametrize(("scenario", "line", "title", "as_of"), TITLES)
def test_title_and_as_of(scenario: str, line: str, title: str, as_of: str) -> None:
    reply = ask(scenario, line)
    assert reply.title == title
    assert reply.as_of == f"As of {as_of}."
    assert reply.plain_text().endswith(f"As of {as_of}.")


# ---------------------------------------------------------------------------------------------------------
# /corridor
# ---------------------------------------------------------------------------------------------------------

CORRIDOR_VALUES = [
    # ceiling, SOFR, SOFR p99, IORB, EFFR, floor, SOFR-ceiling, SOFR-IORB, EFFR-IORB
    (
        "repo_spike_2019",
        ["2.25%", "5.25%", "9.00%", "2.10%", "2.30%", "2.00%", "+300 bp", "+315 bp", "+20 bp"],
    ),
    (
        "month_end_2025",
        ["4.00%", "4.22%", "4.45%", "3.90%", "3.87%", "3.75%", "+22 bp", "+32 bp", "\u22123 bp"],
    ),
    (
        "srf_feb_2026",
        ["3.75%", "3.73%", "n/a", "3.65%", "3.64%", "3.50%", "\u22122 bp", "+8 bp", "\u22121 bp"],
    ),
    (
        "calm_2024",
        ["5.50%", "5.33%", "5.44%", "5.40%", "5.33%", "5.30%", "\u221217 bp", "\u22127 bp", "\u22127 bp"],
    ),
    ("june_2026", ["3.75%", "3.62%", "n/a", "3.65%", "n/a", "3.50%", "\u221213 bp", "\u22123 bp", "n/a"]),
]


@pytest.mark.parametrize(("scenario", "values"), CORRIDOR_VALUES)
def test_corridor_levels_and_spreads(scenario: str, values: list[str]) -> None:
    reply = ask(scenario, "/corridor")
    names = [name for name, _ in reply.fields]
    assert names[1:] == [
        "SOFR",
        "SOFR 99th pct",
        "IORB",
        "EFFR",
        names[5],
        "SOFR \u2212 ceiling",
        "SOFR \u2212 IORB",
        "EFFR \u2212 IORB",
    ]
    assert [value for _, value in reply.fields] == values


@pytest.mark.parametrize(
    ("scenario", "ceiling", "floor"),
    [
        # SRF minimum bid rate and ON RRP award rate are stored: the bounds are those facilities' rates.
        ("month_end_2025", "Ceiling (SRF)", "Floor (ON RRP)"),
        ("srf_feb_2026", "Ceiling (SRF)", "Floor (ON RRP)"),
        ("calm_2024", "Ceiling (SRF)", "Floor (ON RRP)"),
        # 2019: there was no SRF (it began 2021-07-29) and no ON RRP rate is stored: the bounds come from the
        # target range, and the reply must say so (Corridor.ceiling_label: "SRF" or "target upper bound").
        ("repo_spike_2019", "Ceiling (target upper bound)", "Floor (target lower bound)"),
    ],
)
def test_corridor_labels_name_where_each_bound_comes_from(scenario: str, ceiling: str, floor: str) -> None:
    reply = ask(scenario, "/corridor")
    assert reply.fields[0][0] == ceiling
    assert reply.fields[5][0] == floor


VERDICTS = [
    (
        "repo_spike_2019",
        5.0,
        "breach",
        "\U0001f534 BREACH: SOFR is 300 bp above the ceiling. Repo cash is short.",
    ),
    (
        "month_end_2025",
        5.0,
        "breach",
        "\U0001f534 BREACH: SOFR is 22 bp above the ceiling. Repo cash is short.",
    ),
    (
        "month_end_2025",
        50.0,
        "breach",
        "\U0001f534 BREACH: SOFR is 22 bp above the ceiling. Repo cash is short.",
    ),
    ("srf_feb_2026", 5.0, "tight", "\U0001f7e1 Tight: SOFR is within 5 bp of the ceiling (2 bp below)."),
    ("srf_feb_2026", 2.0, "tight", "\U0001f7e1 Tight: SOFR is within 2 bp of the ceiling (2 bp below)."),
    ("srf_feb_2026", 1.0, "calm", "\U0001f7e2 Calm: SOFR is 2 bp below the ceiling."),
    ("calm_2024", 5.0, "calm", "\U0001f7e2 Calm: SOFR is 17 bp below the ceiling."),
    ("calm_2024", 16.0, "calm", "\U0001f7e2 Calm: SOFR is 17 bp below the ceiling."),
    ("calm_2024", 17.0, "tight", "\U0001f7e1 Tight: SOFR is within 17 bp of the ceiling (17 bp below)."),
    ("june_2026", 5.0, "calm", "\U0001f7e2 Calm: SOFR is 13 bp below the ceiling."),
    ("june_2026", 13.0, "tight", "\U0001f7e1 Tight: SOFR is within 13 bp of the ceiling (13 bp below)."),
]


@pytest.mark.parametrize(("scenario", "tight_bp", "level", "verdict"), VERDICTS)
def test_corridor_verdict(scenario: str, tight_bp: float, level: str, verdict: str) -> None:
    reply = ask(scenario, "/corridor", tight_bp=tight_bp)
    assert reply.level == level
    assert texts(reply)[0] == verdict
    # /sofr reaches the same verdict for the same day.
    assert ask(scenario, "/sofr", tight_bp=tight_bp).level == level


@pytest.mark.parametrize(
    ("scenario", "ladder"),
    [
        (
            "month_end_2025",
            (
                " 4.22 \u25cf SOFR  \u2190 above the ceiling",
                " 4.00 \u252c ceiling (SRF)",
                " 3.90 \u2502 IORB",
                " 3.87 \u2502 EFFR",
                " 3.75 \u2534 floor (ON RRP)",
            ),
        ),
        (
            "srf_feb_2026",
            (
                " 3.75 \u252c ceiling (SRF)",
                " 3.73 \u25cf SOFR",
                " 3.65 \u2502 IORB",
                " 3.64 \u2502 EFFR",
                " 3.50 \u2534 floor (ON RRP)",
            ),
        ),
        (
            "calm_2024",
            (
                " 5.50 \u252c ceiling (SRF)",
                " 5.40 \u2502 IORB",
                " 5.33 \u25cf SOFR",
                " 5.33 \u2502 EFFR",
                " 5.30 \u2534 floor (ON RRP)",
            ),
        ),
    ],
)
def test_corridor_ladder(scenario: str, ladder: tuple[str, ...]) -> None:
    assert monos(ask(scenario, "/corridor")) == [ladder]


def test_corridor_says_when_effr_lags_sofr() -> None:
    # 08:35 ET on 2026-02-19: SOFR for 02-18 is out (08:00), EFFR for 02-18 is not yet (about 09:00).
    reply = ask("srf_feb_2026", "/corridor")
    assert "EFFR is from 2026-02-17; the NY Fed publishes it about an hour after SOFR." in texts(reply)
    assert not any("EFFR is from" in text for text in texts(ask("month_end_2025", "/corridor")))


def test_corridor_without_a_stored_ceiling_gives_no_verdict() -> None:
    db = seeded("empty")
    store(db, "sofr", {"2026-02-18": 3.73}, "nyfed", SCENARIOS["empty"].now)
    reply = ask_db(db, "/corridor", SCENARIOS["empty"].now)
    assert reply.fields[0][1] == "n/a"
    assert "The corridor ceiling for 2026-02-18 is not stored yet, so no verdict." in texts(reply)
    assert reply.level == "info"
    assert reply.fields[6] == ("SOFR \u2212 ceiling", "n/a")


def test_corridor_offers_a_chart_button() -> None:
    reply = ask("month_end_2025", "/corridor")
    assert [[b.command for b in row] for row in reply.buttons] == [["/chart corridor 3m"]]


# ---------------------------------------------------------------------------------------------------------
# /srf
# ---------------------------------------------------------------------------------------------------------


def _srf_rows(reply: Reply) -> dict[str, str]:
    """The operation table by its first word (AM, PM, Total): the rest of the line."""
    (table,) = monos(reply)
    return {line.split()[0]: line for line in table}


def test_srf_month_end_2025_am_pm_and_collateral() -> None:
    reply = ask("month_end_2025", "/srf")
    assert reply.level == "breach"
    rows = _srf_rows(reply)
    assert list(rows) == ["AM", "PM", "Total"]
    assert rows["AM"].endswith("  $21.000B  Tsy 14.000  Agy 0.000  MBS 7.000")
    assert rows["PM"].endswith("  $29.350B  Tsy 19.350  Agy 0.000  MBS 10.000")
    assert rows["Total"].split() == ["Total", "$50.350B"]
    assert texts(reply) == [
        "\U0001f534 $50.350B taken up: the Fed created reserves to fund repo.",
        "Collateral: Treasury $33.350B, agency $0.000B, MBS $17.000B.",
        "Minimum bid rate 4.00% (the corridor ceiling).",
        "Last 30 days: $50.35B over 1 day(s) with take-up.\nLargest day stored: 2025-10-31 ($50.35B).",
    ]
    assert [[b.command for b in row] for row in reply.buttons] == [["/chart srf 3m"]]


@pytest.mark.parametrize(
    ("scenario", "windows"),
    [
        # The NY Fed body says releaseTime 08:00, closeTime 08:15 for the 2025-10-31 morning operation.
        ("month_end_2025", {"AM": "08:00\u201308:15", "PM": "13:30\u201313:45"}),
        ("srf_feb_2026", {"AM": "08:15\u201308:30", "PM": "13:30\u201313:45"}),
    ],
)
def test_srf_operation_windows(scenario: str, windows: dict[str, str]) -> None:
    rows = _srf_rows(ask(scenario, "/srf"))
    assert {session: rows[session].split()[1] for session in windows} == windows


def test_srf_2026_02_18_small_take_up_and_the_excluded_sve() -> None:
    reply = ask("srf_feb_2026", "/srf")
    rows = _srf_rows(reply)
    assert list(rows) == ["AM", "PM", "Total"]  # the 10:45 SVE is not a row
    assert rows["AM"].endswith("  $0.000B  Tsy 0.000  Agy 0.000  MBS 0.000")
    assert rows["PM"].endswith("  $0.004B  Tsy 0.002  Agy 0.001  MBS 0.001")
    assert rows["Total"].split() == ["Total", "$0.004B"]
    assert texts(reply) == [
        "\U0001f7e1 $0.004B taken up: a token amount, but the facility was used.",
        "Collateral: Treasury $0.002B, agency $0.001B, MBS $0.001B.",
        "Minimum bid rate 3.75% (the corridor ceiling).",
        # 02-10 0.1 + 02-11 0.008 + 02-17 30.5 + 02-18 0.004
        "Last 30 days: $30.61B over 4 day(s) with take-up.\nLargest day stored: 2026-02-17 ($30.50B).",
        "Small Value Exercise on 2026-02-18 ($0.056B) excluded: it is a test operation, not usage.",
    ]
    assert reply.level == "tight"  # a $4M token bid is shown, not flagged red like a real take-up


def test_srf_2026_02_17_full_allotment_day() -> None:
    db = seeded("srf_feb_2026")
    db.execute("DELETE FROM operations WHERE operation_date = '2026-02-18'")
    db.execute("DELETE FROM observations WHERE date = '2026-02-18'")
    reply = ask_db(db, "/srf", ny(2026, 2, 18, 8, 5))
    rows = _srf_rows(reply)
    assert rows["AM"].endswith("  $11.000B  Tsy 8.000  Agy 0.000  MBS 3.000")
    assert rows["PM"].endswith("  $19.500B  Tsy 10.500  Agy 0.000  MBS 9.000")
    assert rows["Total"].split() == ["Total", "$30.500B"]
    assert "Collateral: Treasury $18.500B, agency $0.000B, MBS $12.000B." in texts(reply)
    assert texts(reply)[-1] == (
        "Last 30 days: $30.61B over 3 day(s) with take-up.\nLargest day stored: 2026-02-17 ($30.50B)."
    )
    assert not any("Small Value Exercise" in text for text in texts(reply))


def test_srf_zero_day_after_take_up_points_to_the_last_positive_day() -> None:
    db = seeded("srf_feb_2026")
    at = ny(2026, 2, 19, 13, 50)
    store_operations(
        db,
        [
            full_allotment_op("RP 021926 25", "2026-02-19", "AM", 0.0, 0.0, 0.0, 0.0, "08:30:25"),
            rrp_op("2026-02-19", 0.632, 3.5, 26),
            full_allotment_op("RP 021926 27", "2026-02-19", "PM", 0.0, 0.0, 0.0, 0.0, "13:45:29"),
        ],
        at,
    )
    reply = ask_db(db, "/srf", at)
    assert reply.level == "calm"
    assert texts(reply) == [
        "No SRF take-up on 2026-02-19: dealers found repo cash in the market.",
        "Minimum bid rate 3.75% (the corridor ceiling).",
        "Last day with take-up: 2026-02-18 ($0.004B).\n"
        "Last 30 days: $30.61B over 4 day(s) with take-up.\n"
        "Largest day stored: 2026-02-17 ($30.50B).",
        "Small Value Exercise on 2026-02-18 ($0.056B) excluded: it is a test operation, not usage.",
    ]


def test_srf_calm_day() -> None:
    reply = ask("calm_2024", "/srf")
    assert reply.level == "calm"
    rows = _srf_rows(reply)
    assert list(rows) == ["PM", "Total"]  # 2024: one afternoon operation a day
    assert texts(reply) == [
        "No SRF take-up on 2024-06-07: dealers found repo cash in the market.",
        "Minimum bid rate 5.50% (the corridor ceiling).",
        "No take-up above zero in the stored history.\nLast 30 days: $0.000B over 0 day(s) with take-up.",
    ]


def test_srf_ignores_pre_srf_temporary_repo_operations() -> None:
    # 2019-09-17's $53.15B overnight repo was a temporary open market operation: the SRF only began on
    # 2021-07-29. Counting it (and the 2000-2008 and 2019-2020 daily overnight repos a backfill from 2000
    # brings) as SRF take-up would make "Largest day stored" and the 30-day totals wrong.
    db = seeded("repo_spike_2019")
    store_operations(db, [OMO_2019_09_17], SCENARIOS["repo_spike_2019"].now)
    assert latest(db, "srf") is None
    reply = ask_db(db, "/srf", SCENARIOS["repo_spike_2019"].now)
    assert reply.level == "warning"
    assert texts(reply)[0].startswith("No SRF take-up data yet.")


# ---------------------------------------------------------------------------------------------------------
# /sofr, /rrp, /tga, /reserves, /liquidity: exact fields
# ---------------------------------------------------------------------------------------------------------

FIELDS = [
    (
        "repo_spike_2019",
        "/sofr",
        [
            ("SOFR", "5.25%"),
            ("1st percentile", "2.25%"),
            ("25th percentile", "5.00%"),
            ("75th percentile", "5.85%"),
            ("99th percentile", "9.00%"),
            ("Volume", "$1.177T"),
            ("Change 1w", "+311 bp  (vs 2019-09-10)"),
            ("Change 1m", "+312 bp  (vs 2019-08-16)"),
        ],
    ),
    (
        "month_end_2025",
        "/sofr",
        [
            ("SOFR", "4.22%"),
            ("1st percentile", "4.05%"),
            ("25th percentile", "4.15%"),
            ("75th percentile", "4.30%"),
            ("99th percentile", "4.45%"),
            ("Volume", "$3.116T"),
            ("Change 1w", "\u22122 bp  (vs 2025-10-24)"),
            ("Change 1m", "+2 bp  (vs 2025-10-01)"),
        ],
    ),
    (
        "srf_feb_2026",
        "/sofr",
        [
            ("SOFR", "3.73%"),
            ("1st percentile", "n/a"),
            ("25th percentile", "n/a"),
            ("75th percentile", "n/a"),
            ("99th percentile", "n/a"),
            ("Volume", "n/a"),
            ("Change 1w", "+8 bp  (vs 2026-02-11)"),
            ("Change 1m", "+8 bp  (vs 2026-01-16)"),  # 01-19 was a holiday: the nearest earlier print
        ],
    ),
    (
        "calm_2024",
        "/sofr",
        [
            ("SOFR", "5.33%"),
            ("1st percentile", "5.29%"),
            ("25th percentile", "5.32%"),
            ("75th percentile", "5.40%"),
            ("99th percentile", "5.44%"),
            ("Volume", "$2.008T"),
            ("Change 1w", "0 bp  (vs 2024-05-30)"),
            ("Change 1m", "+2 bp  (vs 2024-05-07)"),
        ],
    ),
    (
        "month_end_2025",
        "/rrp",
        [
            ("Take-up", "$51.80B"),
            ("Award rate (floor)", "3.75%"),
            ("Change 1w", "+$49.37B  (vs 2025-10-24)"),
            ("Peak stored", "$51.80B (2025-10-31)"),
        ],
    ),
    (
        "srf_feb_2026",
        "/rrp",
        [
            ("Take-up", "$0.856B"),
            ("Award rate (floor)", "3.50%"),
            ("Change 1w", "\u2212$0.192B  (vs 2026-02-11)"),
            ("Peak stored", "$2.84B (2026-02-12)"),
        ],
    ),
    (
        "calm_2024",
        "/rrp",
        [
            ("Take-up", "$395.5B"),
            ("Award rate (floor)", "5.30%"),
            ("Change 1w", "\u2212$44.34B  (vs 2024-05-31)"),
            ("Peak stored", "$459.3B (2024-05-29)"),
        ],
    ),
    (
        "june_2026",
        "/rrp",
        [
            ("Take-up", "$4.53B"),
            ("Award rate (floor)", "3.50%"),
            ("Change 1w", "\u2212$2.29B  (vs 2026-06-17)"),
            ("Peak stored", "$10.72B (2026-06-16)"),
        ],
    ),
    (
        "june_2026",
        "/tga",
        [
            ("Closing balance", "$925.9B"),
            ("Treasury target", "$850.0B"),
            ("vs target", "+$75.88B"),
            ("Change 1w", "\u2212$55.24B  (vs 2026-06-16)"),
        ],
    ),
    (
        "month_end_2025",
        "/tga",
        [
            ("Closing balance", "$1.001T"),
            ("Treasury target", "$850.0B"),
            ("vs target", "+$150.6B"),
            ("Change 1w", "+$55.67B  (vs 2025-10-23)"),
        ],
    ),
    (
        "srf_feb_2026",
        "/tga",
        [
            ("Closing balance", "$924.7B"),
            ("Treasury target", "$850.0B"),
            ("vs target", "+$74.66B"),
            ("Change 1w", "\u2212$23.98B  (vs 2026-02-10)"),
        ],
    ),
    (
        "calm_2024",
        "/tga",
        [
            ("Closing balance", "$680.7B"),
            ("Treasury target", "$850.0B"),
            ("vs target", "\u2212$169.3B"),
            ("Change 1w", "\u2212$18.31B  (vs 2024-05-30)"),
        ],
    ),
    (
        "june_2026",
        "/reserves",
        [
            ("Reserve balances", "$3.033T"),
            ("Change 1w", "\u2212$47.28B  (vs 2026-06-10)"),
            ("Change 1m", "\u2212$96.12B  (vs 2026-05-20)"),
        ],
    ),
    (
        "month_end_2025",
        "/reserves",
        [("Reserve balances", "$2.848T"), ("Change 1w", "\u2212$85.02B  (vs 2025-10-22)")],
    ),
    (
        "calm_2024",
        "/reserves",
        [("Reserve balances", "$3.408T"), ("Change 1w", "\u2212$1.03B  (vs 2024-05-29)")],
    ),
    (
        "june_2026",
        "/liquidity",
        [
            ("Fed total assets", "$6.736T"),
            ("\u2212 TGA", "$925.9B"),
            ("\u2212 ON RRP", "$4.53B"),
            ("Net liquidity", "$5.806T"),
            ("Change 1w", "+$32.92B  (vs 2026-06-17)"),
        ],
    ),
    (
        "month_end_2025",
        "/liquidity",
        [
            ("Fed total assets", "$6.587T"),
            ("\u2212 TGA", "$1.001T"),
            ("\u2212 ON RRP", "$51.80B"),
            ("Net liquidity", "$5.535T"),
            ("Change 1w", "\u2212$110.0B  (vs 2025-10-24)"),
        ],
    ),
    (
        "srf_feb_2026",
        "/liquidity",
        [
            ("Fed total assets", "$6.622T"),
            ("\u2212 TGA", "$924.7B"),
            ("\u2212 ON RRP", "$0.856B"),
            ("Net liquidity", "$5.697T"),
            ("Change 1w", "\u2212$13.93B  (vs 2026-02-11)"),
        ],
    ),
    (
        "calm_2024",
        "/liquidity",
        [
            ("Fed total assets", "$7.256T"),
            ("\u2212 TGA", "$680.7B"),
            ("\u2212 ON RRP", "$395.5B"),
            ("Net liquidity", "$6.179T"),
            ("Change 1w", "+$53.89B  (vs 2024-05-31)"),
        ],
    ),
]


@pytest.mark.parametrize(("scenario", "line", "fields"), FIELDS)
def test_fields(scenario: str, line: str, fields: list[tuple[str, str]]) -> None:
    reply = ask(scenario, line)
    assert reply.fields == fields
    for name, value in fields:
        assert f"{name}  " in reply.plain_text() and value in reply.plain_text()


@pytest.mark.parametrize(
    ("scenario", "line", "blocks"),
    [
        (
            "june_2026",
            "/tga",
            ["The TGA fell $55.24B over the week: that adds reserves to the banking system."],
        ),
        (
            "month_end_2025",
            "/tga",
            ["The TGA rose $55.67B over the week: that drains reserves from the banking system."],
        ),
        (
            "june_2026",
            "/liquidity",
            ["Inputs: assets 2026-06-17, TGA 2026-06-23, ON RRP 2026-06-24.", TGA_NOTE],
        ),
        (
            "srf_feb_2026",
            "/liquidity",
            ["Inputs: assets 2026-02-11, TGA 2026-02-17, ON RRP 2026-02-18.", TGA_NOTE],
        ),
        (
            "calm_2024",
            "/rrp",
            ["ON RRP is money-market funds' spare cash parked at the Fed. Near zero, the buffer is gone."],
        ),
        (
            "calm_2024",
            "/sofr",
            ["Volume is the repo the market financed that day, a proxy for hedge funds' demand for cash."],
        ),
        ("june_2026", "/reserves", []),
    ],
)
def test_text_blocks(scenario: str, line: str, blocks: list[str]) -> None:
    assert texts(ask(scenario, line)) == blocks


@pytest.mark.parametrize(
    ("scenario", "line"),
    [(s, c) for s in ("month_end_2025", "srf_feb_2026", "calm_2024") for c in MARKET_COMMANDS],
)
def test_fresh_replies_have_no_stale_warning(scenario: str, line: str) -> None:
    reply = ask(scenario, line)
    assert "\u26a0" not in reply.plain_text()
    assert reply.level != "warning"


def test_liquidity_components_add_up() -> None:
    db = seeded("june_2026")
    point = latest(db, "net_liquidity")
    assert point is not None and point.value == pytest.approx(6736.424 - 925.876 - 4.534)
    week_ago = {p.date: p.value for p in history(db, "net_liquidity")}["2026-06-17"]
    assert week_ago == pytest.approx(6736.424 - 956.502 - 6.828)
    assert 5806.014 - week_ago == pytest.approx(32.92)


# ---------------------------------------------------------------------------------------------------------
# Stale data
# ---------------------------------------------------------------------------------------------------------


def _late(name: str, days: int, cadence: str = "each business day") -> str:
    return f"\u26a0 {name} is {days} days old; it is normally published {cadence}. The source may be late."


STALE = [
    ("/corridor", [_late("SOFR", 10)]),
    ("/sofr", [_late("SOFR", 10)]),
    ("/srf", [_late("SRF take-up", 9)]),
    ("/rrp", [_late("ON RRP take-up", 9)]),
    ("/tga", [_late("TGA closing balance", 10)]),
    ("/reserves", [_late("Reserve balances", 11, "weekly")]),
    (
        "/liquidity",
        [
            # issue #10: net liquidity is stale because its inputs are, and says which
            "\u26a0 Net liquidity is stale: an input is older than its release calendar allows "
            "(Fed total assets, TGA closing balance, ON RRP take-up).",
            _late("Fed total assets", 11, "weekly"),
            _late("TGA closing balance", 10),
            _late("ON RRP take-up", 9),
        ],
    ),
]


@pytest.mark.parametrize(("line", "warnings"), STALE)
def test_stale_warning_names_the_series_and_its_age(line: str, warnings: list[str]) -> None:
    reply = ask("stale_2024", line)
    assert [text for text in texts(reply) if text.startswith("\u26a0")] == warnings
    assert reply.level == "warning"  # calm or info, downgraded: the reader must not trust old data as calm


def test_stale_breach_stays_a_breach() -> None:
    reply = ask("repo_spike_2019", "/corridor", now=ny(2019, 9, 30, 9, 0))
    assert reply.level == "breach"
    assert texts(reply)[-1] == _late("SOFR", 13)


def test_four_days_is_not_stale_after_a_long_weekend() -> None:
    # Friday 2025-10-31 read on Tuesday morning 11-04 is 4 days old: normal after a Monday holiday.
    reply = ask("month_end_2025", "/corridor", now=ny(2025, 11, 4, 7, 0))
    assert "\u26a0" not in reply.plain_text()
    reply = ask("month_end_2025", "/corridor", now=ny(2025, 11, 5, 7, 0))
    assert texts(reply)[-1].startswith("\u26a0 SOFR is 5 days old")


# ---------------------------------------------------------------------------------------------------------
# /status
# ---------------------------------------------------------------------------------------------------------


def test_status_all_fresh() -> None:
    reply = ask("month_end_2025", "/status")
    assert reply.title == "Data freshness"
    assert reply.level == "calm"
    (table,) = monos(reply)
    assert table == (
        "SOFR              4.22% 2025-10-31 \u2705",
        "EFFR              3.87% 2025-10-31 \u2705",
        "IORB              3.90% 2025-11-02 \u2705",
        "Range bottom      3.75% 2025-11-02 \u2705",
        "Range top         4.00% 2025-11-02 \u2705",
        "SRF take-up     $50.35B 2025-10-31 \u2705",
        "SRF rate          4.00% 2025-10-31 \u2705",
        "ON RRP          $51.80B 2025-10-31 \u2705",
        "ON RRP rate       3.75% 2025-10-31 \u2705",
        "TGA             $1.001T 2025-10-30 \u2705",
        "Reserves        $2.848T 2025-10-29 \u2705",
        "Fed assets      $6.587T 2025-10-29 \u2705",
        "Net liquidity   $5.535T 2025-10-31 \u2705",
    )
    assert texts(reply) == [
        "Every series is up to date.",
        "NY Fed Markets API: ok, last fetch 2025-11-03 09:04 ET\n"
        "FRED: ok, last fetch 2025-11-03 08:30 ET\n"
        "Treasury Fiscal Data (DTS): ok, last fetch 2025-11-03 08:45 ET\n"
        "Treasury Fiscal Data (debt, issuance, auctions): not fetched yet",
    ]


def test_status_stale() -> None:
    reply = ask("stale_2024", "/status")
    assert reply.level == "warning"
    (table,) = monos(reply)
    assert table[0] == "SOFR              5.33% 2024-06-06 \u26a0 stale"
    # issue #10: FRED publishes IORB every business day, so a 2024-06-07 value is late on Sunday 06-16
    # (the old 9-day allowance called it fresh)
    assert table[2] == "IORB              5.40% 2024-06-07 \u26a0 stale"
    assert table[10] == "Reserves        $3.408T 2024-06-05 \u26a0 stale"
    assert texts(reply)[0] == (
        "Some series are late: SOFR, EFFR, IORB, Target range lower bound, Target range upper bound, "
        "SRF take-up, SRF minimum bid rate (ceiling), ON RRP take-up, "
        "ON RRP award rate (floor), TGA closing balance, Reserve balances, Fed total assets, Net liquidity."
    )


@pytest.mark.parametrize(
    ("operator", "line"),
    [
        (True, "FRED: last error: FRED: HTTP 503 from fred.stlouisfed.org (2 in a row)"),
        (False, "FRED: \u26a0 failing since 2026-06-24 16:00 ET"),
    ],
)
def test_status_failing_source(operator: bool, line: str) -> None:
    db = seeded("june_2026")
    for minute in (5, 35):
        log_fetch(db, "fred", ny(2026, 6, 24, 16, minute), "error", "FRED: HTTP 503 from fred.stlouisfed.org")
    reply = ask_db(db, "/status", SCENARIOS["june_2026"].now, is_operator=operator)
    assert reply.level == "warning"
    assert line in texts(reply)[-1].splitlines()
    if not operator:
        assert "503" not in reply.plain_text()  # error text is for operators only


# ---------------------------------------------------------------------------------------------------------
# Empty database: every command says there is nothing yet, what to do, and does not crash
# ---------------------------------------------------------------------------------------------------------

EMPTY = [
    ("/corridor", "Fed funds corridor \u2014 ?", "No SOFR data yet."),
    ("/srf", "Standing Repo Facility \u2014 ?", "No SRF take-up data yet."),
    ("/sofr", "SOFR \u2014 ?", "No SOFR data yet."),
    ("/rrp", "ON RRP \u2014 ?", "No ON RRP take-up data yet."),
    ("/tga", "Treasury General Account \u2014 ?", "No TGA closing balance data yet."),
    ("/reserves", "Bank reserves \u2014 week of ?", "No Reserve balances data yet."),
    ("/liquidity", "Net liquidity \u2014 ?", "No Net liquidity data yet."),
    ("/chart corridor", "SOFR in the fed funds corridor", "No SOFR data for 3m yet."),
    ("/chart srf 5y", "Standing Repo Facility take-up", "No SRF take-up data for 5y yet."),
    ("/chart rrp max", "ON RRP take-up", "No ON RRP take-up data for max yet."),
    ("/chart tga 1m", "Treasury General Account", "No TGA closing balance data for 1m yet."),
    (
        "/chart liquidity 1y",
        "Net liquidity (assets \u2212 TGA \u2212 ON RRP)",
        "No Net liquidity data for 1y yet.",
    ),
    ("/chart sofr", "SOFR and its percentiles", "No SOFR data for 3m yet."),
]


@pytest.mark.parametrize(("line", "title", "text"), EMPTY)
def test_empty_database(line: str, title: str, text: str) -> None:
    reply = ask("empty", line)
    assert reply.title == title
    assert texts(reply) == [f"{text} {NEXT_POLL_SOON}"]
    assert reply.level == "warning"
    assert reply.chart is None and reply.fields == [] and reply.as_of is None


def test_empty_database_after_a_fetch_says_when_the_next_poll_runs() -> None:
    db = seeded("empty")
    log_fetch(db, "nyfed", ny(2026, 2, 19, 8, 35))
    reply = ask_db(db, "/srf", ny(2026, 2, 19, 8, 35))
    # 08:35 ET is inside the SRF AM release window, where NY Fed is polled every minute.
    assert texts(reply) == [
        "No SRF take-up data yet. The next poll of NY Fed Markets API runs at about 08:36 ET; see /status."
    ]


def test_no_data_reply_after_polls_does_not_talk_about_the_first_poll() -> None:
    # Net liquidity is derived; once every source has been polled, "the first poll runs as soon as the bot
    # starts" is no longer true and sends the reader looking for a bot that is not running.
    db = seeded("empty")
    for source in ("nyfed", "fred", "fiscaldata"):
        log_fetch(db, source, ny(2026, 2, 19, 8, 35))
    for line in ("/liquidity", "/chart liquidity"):
        reply = ask_db(db, line, ny(2026, 2, 19, 8, 35))
        assert texts(reply)[0].startswith("No Net liquidity data")
        assert "first poll" not in reply.plain_text(), line


def test_empty_database_status_and_help() -> None:
    status = ask("empty", "/status")
    assert status.level == "warning"
    (table,) = monos(status)
    assert len(table) == 13 and all(line.endswith("no data") for line in table)
    assert texts(status)[-1] == (
        "NY Fed Markets API: not fetched yet\nFRED: not fetched yet\n"
        "Treasury Fiscal Data (DTS): not fetched yet\n"
        "Treasury Fiscal Data (debt, issuance, auctions): not fetched yet"
    )
    assert ask("empty", "/help").title == "Plumbline commands"


@pytest.mark.parametrize("line", ALL_LINES)
def test_empty_file_database_never_crashes(line: str, tmp_path: Path) -> None:
    db = seeded("empty", tmp_path / "empty.db")
    reply = ask_db(db, line, SCENARIOS["empty"].now)
    assert reply.level != "error"
    db.close()


# ---------------------------------------------------------------------------------------------------------
# /chart replies (the PNG itself is in test_charts.py)
# ---------------------------------------------------------------------------------------------------------

CHARTS = [
    ("month_end_2025", "/chart corridor", "SOFR in the fed funds corridor", "2025-09-22", "2025-10-31",
     ("SOFR", "EFFR", "IORB"), True),
    ("month_end_2025", "/chart 1m corridor", "SOFR in the fed funds corridor", "2025-09-30", "2025-10-31",
     ("SOFR", "EFFR", "IORB"), True),
    ("repo_spike_2019", "/chart corridor 1y", "SOFR in the fed funds corridor", "2019-08-12", "2019-09-17",
     ("SOFR", "EFFR", "IORB"), True),
    ("srf_feb_2026", "/chart srf", "Standing Repo Facility take-up", "2026-02-10", "2026-02-18",
     ("SRF morning", "SRF afternoon"), False),
    ("srf_feb_2026", "/chart rrp 1m", "ON RRP take-up", "2026-02-10", "2026-02-18",
     ("ON RRP",), False),
    ("june_2026", "/chart tga", "Treasury General Account", "2026-06-01", "2026-06-23",
     ("TGA", "Target $850B"), False),
    ("june_2026", "/chart liquidity max", "Net liquidity (assets \u2212 TGA \u2212 ON RRP)", "2026-06-01",
     "2026-06-24", ("Net liquidity", "Fed total assets"), False),
    ("calm_2024", "/chart sofr 1m", "SOFR and its percentiles", "2024-05-06", "2024-06-06", ("SOFR",), True),
    ("calm_2024", "/CHART RRP 1Y", "ON RRP take-up", "2024-05-29", "2024-06-07", ("ON RRP",), False),
    ("long_history", "/chart corridor max", "SOFR in the fed funds corridor", "2018-04-03", "2026-07-30",
     ("SOFR", "IORB"), True),  # no EFFR stored there: no empty EFFR line
]  # fmt: skip


@pytest.mark.parametrize(("scenario", "line", "title", "since", "until", "labels", "band"), CHARTS)
def test_chart_reply(
    scenario: str, line: str, title: str, since: str, until: str, labels: tuple[str, ...], band: bool
) -> None:
    reply = ask(scenario, line)
    assert reply.level == "info"
    assert reply.title == title
    assert texts(reply) == [f"{title}, {since} to {until}."]
    assert reply.as_of == f"As of {until}."
    assert reply.chart is not None
    # breach marks come and go with the data (test_charts.py pins them); the lines are always there
    assert tuple(s.label for s in reply.chart.series if s.role != "breach") == labels
    assert (reply.chart.band is not None) is band
    main = reply.chart.series[0]
    assert main.dates[0] == since and main.dates[-1] == until
    assert len(main.dates) == len(main.values)


def test_chart_corridor_band_is_the_target_range() -> None:
    chart = ask("month_end_2025", "/chart corridor 1m").chart
    assert chart is not None and chart.band is not None
    floor, ceiling = chart.band

    def on(series: ChartSeries, day: str) -> float:  # the band keeps only the days it changes
        return [v for d, v in zip(series.dates, series.values, strict=True) if d <= day][-1]

    assert on(ceiling, "2025-10-29") == 4.25 and on(ceiling, "2025-10-30") == 4.00
    assert on(floor, "2025-10-31") == 3.75
    assert floor.style == ceiling.style == "step"


def test_chart_srf_bars_keep_every_day() -> None:
    chart = ask("srf_feb_2026", "/chart srf").chart
    assert chart is not None
    am, pm = chart.series
    assert am.style == pm.style == "bars" and pm.base == am.values
    assert {d: round(a + p, 6) for d, a, p in zip(am.dates, am.values, pm.values, strict=True)} == {
        "2026-02-10": 0.1,
        "2026-02-11": 0.008,
        "2026-02-12": 0.0,
        "2026-02-13": 0.0,
        "2026-02-17": 30.5,
        "2026-02-18": 0.004,
    }


# ---------------------------------------------------------------------------------------------------------
# Bad input: a clear usage or unknown-command reply, never an exception
# ---------------------------------------------------------------------------------------------------------

CHART_USAGE_TITLE = (
    "Usage: /chart <corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers> [1m|3m|1y|5y|max]"
)

BAD = [
    ("/corridor extra", "Usage: /corridor"),
    ("/srf today", "Usage: /srf"),
    ("/sofr \U0001f680", "Usage: /sofr"),
    ("/status all", "Usage: /status"),
    ("/liquidity 1w", "Usage: /liquidity"),
    ("/chart", CHART_USAGE_TITLE),
    ("/chart foo", CHART_USAGE_TITLE),
    ("/chart 3m", CHART_USAGE_TITLE),
    ("/chart corridor 7y", CHART_USAGE_TITLE),
    ("/chart corridor 1y 1y", CHART_USAGE_TITLE),
    ("/chart corridor srf", CHART_USAGE_TITLE),
    ("/chart corridor 3m\u200b", CHART_USAGE_TITLE),
    ("/help nosuch", "Usage: /help [command]"),
    ("/help chart corridor", "Usage: /help [command]"),
    ("/nope", "Unknown command /nope. Send /help for the list."),
    ("/\u00c7ORRIDOR", "Unknown command /\u00e7orridor. Send /help for the list."),
    ("/" + "x" * 10_000, "That message is too long to be a command."),
    ("/corridor " + "x" * MAX_COMMAND_LENGTH, "That message is too long to be a command."),
    ("/ corridor", "Unknown command /. Send /help for the list."),
    ("/" + "y" * 100, "Unknown command /" + "y" * 32 + ". Send /help for the list."),
    ("/\x1b[31mcorridor", "Unknown command /[31mcorridor. Send /help for the list."),
]


@pytest.mark.parametrize("scenario", ["empty", "month_end_2025"])
@pytest.mark.parametrize(("line", "title"), BAD)
def test_bad_input_gets_a_clear_error(scenario: str, line: str, title: str) -> None:
    reply = ask(scenario, line)
    assert reply.level == "error"
    assert reply.title == title
    assert reply.chart is None
    assert all(ch.isprintable() or ch == "\n" for ch in reply.plain_text())


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "hello",
        "/",
        "corridor",
        "/chart@other_bot corridor",
        "/corridor@OtherBot",
        "\u200b/corridor",
    ],
)
def test_not_for_us(line: str) -> None:
    assert dispatch(line, context(SCENARIOS["month_end_2025"].now), seeded("month_end_2025")) is None


@pytest.mark.parametrize("line", ["x" * 10_000, "/chart@other_bot " + "x" * 10_000])
def test_long_text_that_is_not_our_command_is_ignored(line: str) -> None:
    # dispatch promises None for "not a command"; a long chat message or another bot's command is not ours,
    # so the bot must stay silent instead of answering "too long to be a command" in a group.
    assert dispatch(line, context(SCENARIOS["empty"].now), seeded("empty")) is None


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("/chart@plumbline_test_bot corridor", "SOFR in the fed funds corridor"),
        ("/chart@Plumbline_Test_Bot corridor 1m", "SOFR in the fed funds corridor"),
        ("/corridor@plumbline_test_bot", "Fed funds corridor \u2014 Fri 2025-10-31"),
        ("/CORRIDOR", "Fed funds corridor \u2014 Fri 2025-10-31"),
        ("  /corridor  ", "Fed funds corridor \u2014 Fri 2025-10-31"),
        ("/chart\tcorridor\n1y", "SOFR in the fed funds corridor"),
        ("/chart corridor\u00a01y", "SOFR in the fed funds corridor"),
    ],
)
def test_addressed_to_us(line: str, title: str) -> None:
    reply = ask("month_end_2025", line)
    assert reply.title == title
    assert reply.level != "error"


def test_without_a_known_username_any_mention_is_answered() -> None:
    reply = ask("month_end_2025", "/corridor@whatever_bot", bot_username="")
    assert reply.level == "breach"


@pytest.mark.parametrize("line", ["/corridor\u200b", "/srf\x00", "/\u202ecorridor"])
def test_unknown_reply_never_names_a_real_command(line: str) -> None:
    # Invisible characters glued to a real command: either run it, or show the name as typed; never claim
    # that /corridor or /srf is unknown.
    reply = ask("month_end_2025", line)
    if reply.level == "error":
        shown = reply.title.removeprefix("Unknown command /").split(".")[0]
        assert shown not in COMMANDS, reply.title


def test_start_is_a_welcome_with_three_commands_and_a_subscribe_button() -> None:
    reply = ask("month_end_2025", "/start")
    assert reply.title == "Welcome to Plumbline" and reply.level == "info"
    intro, watches, first = texts(reply)
    assert intro == EN["intro"]
    assert "Standing Repo Facility" in watches and "net liquidity" in watches
    assert [line.split(" \u2014 ")[0] for line in first.splitlines()[1:4]] == [
        "/corridor",
        "/srf",
        "/subscribe alerts",
    ]
    assert reply.buttons[0][0].command == "/subscribe alerts"
    assert [b.command for b in reply.buttons[1]] == ["/corridor", "/srf", "/settings"]


@pytest.mark.parametrize("payload", ["ref_abc123", "corridor", "a b"])
def test_start_with_an_unknown_deep_link_payload_is_the_plain_welcome(payload: str) -> None:
    # Telegram sends "/start <payload>" when someone opens t.me/<bot>?start=<payload>.
    reply = ask("empty", f"/start {payload}")
    assert reply.title == "Welcome to Plumbline" and reply.level == "info"


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        ("alerts", "Alerts: on"),
        ("ALERTS", "Alerts: on"),
        ("daily", "Daily summary: 08:30 America/New_York, weekdays only"),
    ],
)
def test_a_deep_link_subscribes_the_chat_in_one_tap(payload: str, shown: str) -> None:
    db = seeded("month_end_2025")
    now = SCENARIOS["month_end_2025"].now
    reply = ask_db(db, f"/start {payload}", now)
    assert reply.level == "calm"
    assert texts(reply)[0] == EN["start.subscribed"]
    assert all(b.command != "/subscribe alerts" for row in reply.buttons for b in row)
    settings = ask_db(db, "/settings", now)
    assert shown in settings.plain_text()


def test_a_deep_link_in_a_group_needs_an_administrator() -> None:
    db = seeded("month_end_2025")
    now = SCENARIOS["month_end_2025"].now
    refused = ask_db(db, "/start alerts", now, chat_id="-100500", is_group=True, is_chat_admin=False)
    assert refused.level == "error"
    settings = ask_db(db, "/settings", now, chat_id="-100500", is_group=True)
    assert "Alerts: off" in settings.plain_text()


def test_internal_error_is_an_apology_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    db = seeded("month_end_2025")
    db.conn.close()
    with caplog.at_level(logging.ERROR, logger="handlers.table"):
        reply = ask_db(db, "/corridor", SCENARIOS["month_end_2025"].now)
    assert reply.level == "error"
    assert reply.title == "Sorry, something went wrong on our side while answering that. It has been logged."
    assert "closed" not in reply.plain_text().lower()
    assert any("command /corridor failed" in r.getMessage() for r in caplog.records)


WEIRD_ARGS = [
    "",
    " x",
    " \u0000",
    " \u202e1y",
    " " + "\U0001f4c8" * 50,
    " 1y 3m 5y",
    " -1",
    " ../../etc",
    " <b>",
]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_command_on_every_scenario_answers(scenario: str) -> None:
    db = seeded(scenario)
    now = SCENARIOS[scenario].now
    for name in COMMANDS:
        for extra in WEIRD_ARGS:
            reply = ask_db(db, f"/{name}{extra}", now)
            text = reply.plain_text()
            assert reply.title
            assert "{" not in text and "}" not in text, text  # no unfilled message placeholder
            assert re.search(r"\bNone\b|\bnan\b", text) is None, text
            if reply.level == "error" and name in CORE_COMMANDS:
                assert reply.title.startswith(("Usage: /", "Unknown command /")), reply.title


# ---------------------------------------------------------------------------------------------------------
# /help and the command table
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help_and_usage(name: str) -> None:
    command = COMMANDS[name]
    assert command.name == name
    assert command.help.strip()
    assert command.usage.split()[0] == "/" + name
    assert command.handler.__doc__, name
    reply = ask("empty", f"/help {name}")
    assert reply.title == f"/{name}"
    assert texts(reply) == [f"{command.usage}\n{command.help}"]


def test_help_lists_every_visible_command() -> None:
    for line in ("/help", "/HELP", f"/help@{BOT}"):
        reply = ask("month_end_2025", line)
        assert reply.title == "Plumbline commands"
        intro, listing, more = texts(reply)
        assert intro == EN["intro"]
        assert more == "Send /help <command> for details, e.g. /help chart."
        lines = listing.splitlines()
        assert lines == [f"{c.usage} \u2014 {c.help}" for c in COMMANDS.values() if not c.hidden]
        assert not any(line.startswith("/start") for line in lines)


@pytest.mark.parametrize("line", ["/help /chart", "/help CHART", "/help chart"])
def test_help_for_one_command(line: str) -> None:
    reply = ask("empty", line)
    assert reply.title == "/chart"
    assert texts(reply) == [
        "/chart <corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers> [1m|3m|1y|5y|max]\n"
        "A chart of a series over 1m, 3m, 1y, 5y or max"
    ]


def test_parse_command() -> None:
    assert parse_command("/chart@plumbline_test_bot corridor 3m", BOT) == parse_command("/chart corridor 3m")
    parsed = parse_command("/Chart Corridor 3M")
    assert parsed is not None and parsed.name == "chart" and parsed.args == ["Corridor", "3M"]


# ---------------------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(EN))
def test_every_message_renders(key: str) -> None:
    t(key)  # missing values stay as {name}; never a KeyError
    names = [field for _, field, _, _ in string.Formatter().parse(EN[key]) if field]
    rendered = t(key, **{n: "X" for n in names})
    assert "{" not in rendered and "}" not in rendered
    for lang, catalog in CATALOGS.items():
        if key in catalog:
            assert t(key, lang, **{n: "X" for n in names})


def test_missing_message_key_falls_back_to_the_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.words.messages"):
        assert t("no.such.key") == "no.such.key"
    assert "no.such.key" in caplog.text
    assert t("usage", "xx", usage="/x") == "Usage: /x"  # unknown language: English


# Keys built at run time from a known set of parts.
_DYNAMIC = {
    "chart.title.{kind}": ["corridor", "srf", "rrp", "tga", "liquidity", "sofr"],
    "corridor.verdict.{verdict}": ["calm", "tight", "breach"],
}
# Keys passed to t() through a variable.
_INDIRECT = [
    "sofr.change",
    "rrp.change",
    "tga.change",
    "liquidity.change",
    "sofr.p1",
    "sofr.p25",
    "sofr.p75",
    "sofr.p99",
    "tga.rising",
    "tga.falling",
    "cadence.daily",
    "cadence.weekly",
]


def _used_keys() -> set[str]:
    keys = set(_INDIRECT)
    for folder in ("handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"
                ):
                    continue
                if not node.args:
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keys.add(first.value)
                elif isinstance(first, ast.JoinedStr):
                    pattern = "".join(
                        v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                        for v in first.values
                    )
                    prefix = pattern.split("{")[0]
                    if pattern in _DYNAMIC:
                        keys.update(prefix + part for part in _DYNAMIC[pattern])
                    else:  # a key built from parts this test does not know: some key must have its prefix
                        assert any(k.startswith(prefix) for k in EN), f"{path}: no message key like {pattern}"
    return keys


def test_every_message_key_used_in_the_code_exists() -> None:
    used = _used_keys()
    assert len(used) > 60
    assert sorted(used - set(EN)) == []


def test_fetched_at_is_recorded_in_utc() -> None:
    assert iso_utc(ny(2025, 11, 3, 9, 5)) == "2025-11-03T14:05:00Z"


@pytest.mark.parametrize("span", ["1m", "3m", "1y", "5y", "max"])
@pytest.mark.parametrize("kind", ["corridor", "srf", "rrp", "tga", "liquidity", "sofr"])
def test_chart_every_kind_and_range(kind: str, span: str) -> None:
    main = {"corridor": "sofr", "liquidity": "net_liquidity"}.get(kind, kind)
    db = seeded("srf_feb_2026")
    points = history(db, main)
    days = {"1m": 31, "3m": 92, "1y": 366, "5y": 1830, "max": 100_000}[span]
    first = next(p.date for p in points if (_day(points[-1].date) - _day(p.date)).days <= days)
    reply = ask_db(db, f"/chart {kind} {span}", SCENARIOS["srf_feb_2026"].now)
    assert reply.level == "info" and reply.chart is not None
    assert texts(reply) == [f"{reply.title}, {first} to {points[-1].date}."]
    assert reply.as_of == f"As of {points[-1].date}."
    assert reply.title == t(f"chart.title.{kind}")


def _day(iso: str) -> date:
    return date.fromisoformat(iso)


def test_srf_in_the_morning_says_the_afternoon_operation_is_still_to_come() -> None:
    db = seeded("srf_feb_2026")
    db.execute("DELETE FROM operations WHERE operation_date = '2026-02-18' AND session != 'AM'")
    db.execute("UPDATE observations SET value = 0 WHERE series = 'srf' AND date = '2026-02-18'")
    morning = ask_db(db, "/srf", ny(2026, 2, 18, 9, 0))
    assert "The afternoon operation (13:30\u201313:45 ET) is still to come" in morning.plain_text()
    evening = ask_db(db, "/srf", ny(2026, 2, 18, 18, 0))
    assert "still to come" not in evening.plain_text()


def test_effr_above_the_ceiling_is_called_out() -> None:
    # 2019-09-17: EFFR printed 2.30 against a 2.25 top of range.
    reply = ask("repo_spike_2019", "/corridor")
    assert "EFFR (2.30%) also printed above the ceiling (2.25%)" in reply.plain_text()
    assert "also printed above" not in ask("month_end_2025", "/corridor").plain_text()


def test_admin_is_for_operators_only() -> None:
    db = seeded("srf_feb_2026")
    refused = ask_db(db, "/admin", SCENARIOS["srf_feb_2026"].now, is_operator=False)
    assert refused.level == "error" and "operators" in refused.title
    shown = ask_db(db, "/admin", SCENARIOS["srf_feb_2026"].now, is_operator=True)
    assert shown.title == "Plumbline internals"
    assert texts(shown)[0].splitlines() == [
        "Chats: 0 known, 0 active",
        "Subscriptions: 0 alerts, 0 daily",
        "Outbox: empty.",
    ]
    assert "/admin" not in ask("empty", "/help").plain_text()  # not advertised


def test_operators_see_the_outbox_in_status() -> None:
    db = seeded("june_2026")
    operator = ask_db(db, "/status", SCENARIOS["june_2026"].now, is_operator=True)
    assert texts(operator)[-1].splitlines()[-1] == "Outbox: empty."
    user = ask_db(db, "/status", SCENARIOS["june_2026"].now, is_operator=False)
    assert "Outbox" not in user.plain_text()


@pytest.mark.parametrize(("lang", "label"), [("en", "Change 1y"), ("zh-TW", "近一年變化")])
def test_reserves_a_year_on_names_its_yearly_change(lang: str, label: str) -> None:
    """A year of weekly reserves: the 1y change is labelled from the catalog, never by its key."""
    from datetime import UTC, timedelta

    from bot.core.models import Observation
    from storage.db import open_db
    from storage.observations import upsert_observations

    db = open_db(":memory:")
    last = date(2025, 10, 29)  # a Wednesday, as H.4.1 dates reserves
    weeks = [last - timedelta(weeks=n) for n in range(60)]
    upsert_observations(
        db,
        [Observation("reserves", d.isoformat(), 3000.0 - n, "fred") for n, d in enumerate(weeks)],
        fetched_at="2025-10-31T00:00:00Z",
    )
    reply = dispatch("/reserves", context(datetime(2025, 10, 31, 21, tzinfo=UTC), lang=lang), db)
    assert reply is not None
    names = [name for name, _ in reply.fields]
    assert label in names, names
    assert not any("ago." in name for name in names), names
