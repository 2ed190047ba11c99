"""AlertEngine on real seeded databases: baselines, live publications, fan-out, restarts, revisions, clocks.

Each timeline starts from a tests.seed scenario stored up to a cutoff (the history the bot already holds when
it starts), then publishes the following real values the way the sources release them: SOFR for a day the
next morning, each SRF operation a minute after it closes, FRED's target range on its effective date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from bot.alerts.engine import REVISION_LOOKBACK_DAYS, AlertEngine, Evaluation, sofr_days
from bot.alerts.replay import Episode, replay
from bot.core.clock import iso_utc
from bot.core.models import Observation, Operation
from bot.core.series import UNTRACKED_SERIES
from bot.words.payload import reply_from_json
from storage.chats import (
    deactivate_chat,
    ensure_chat,
    set_muted_until,
    set_near_bp,
    set_srf_threshold,
    subscribe,
    unsubscribe,
)
from storage.db import open_db
from storage.marks import last_mark
from storage.observations import upsert_observations
from storage.operations import operations_between
from storage.outbox import enqueue
from tests.seed import (
    OMO_2019_09_17,
    OPS_2025_10_31,
    OPS_2026_02,
    TARGET_RANGES,
    every_day,
    full_allotment_op,
    ny,
    require_real_sofr_history,
    rrp_op,
    seeded,
    store,
    store_operations,
)

ALL_RULES = ["sofr_breach", "range_change", "srf_positive@0", "srf_positive@5", "sofr_near@5"]
SRF_RULES = ["srf_positive@0", "srf_positive@5"]

# Who gets what: every active, subscribed, unmuted chat gets sofr_breach and range_change; SRF alerts go to
# the chats whose threshold they were evaluated at; sofr_near to the chats that opted in at that distance.
EVERYONE = frozenset({"alice", "bond_desk", "repo_watch", "was_muted"})
SRF0 = frozenset({"alice", "repo_watch", "was_muted"})
SRF5 = frozenset({"bond_desk"})
NEAR5 = frozenset({"repo_watch"})


def make_chats(db: sqlite_utils.Database) -> dict[str, int]:
    """Chats in every state that matters for fan-out; returns name -> chat id."""
    now = "2019-01-01T00:00:00Z"
    spec = [
        ("alice", "telegram", "1001", False),
        ("bond_desk", "telegram", "-100200", True),
        ("repo_watch", "discord", "3003", True),
        ("muted", "telegram", "1004", False),
        ("was_muted", "telegram", "1005", False),
        ("left", "telegram", "1006", False),
        ("daily_only", "telegram", "1007", False),
        ("blocked", "telegram", "1008", False),
    ]
    ids: dict[str, int] = {}
    for name, platform, address, group in spec:
        chat = ensure_chat(db, platform, address, title=name, is_group=group, now=now)
        ids[name] = chat.id
        if name == "daily_only":
            subscribe(db, chat.id, "daily", now=now, daily_time="08:00", tz="America/New_York")
        else:
            subscribe(db, chat.id, "alerts", now=now)
    set_srf_threshold(db, ids["bond_desk"], 5.0)
    set_near_bp(db, ids["repo_watch"], 5.0)
    set_muted_until(db, ids["muted"], "2099-01-01T00:00:00Z")
    set_muted_until(db, ids["was_muted"], "2000-01-01T00:00:00Z")  # expired long ago
    # A chat that left: its settings stay, but it is not subscribed, so they are not evaluated either.
    set_srf_threshold(db, ids["left"], 7.0)
    set_near_bp(db, ids["left"], 2.0)
    unsubscribe(db, ids["left"], "alerts")
    set_srf_threshold(db, ids["blocked"], 9.0)
    deactivate_chat(db, ids["blocked"], "Forbidden: bot was blocked by the user")
    return ids


def copy_history(src: sqlite_utils.Database, dst: sqlite_utils.Database, until: str, at: datetime) -> None:
    """Everything a seeded scenario holds up to a date, stored through the storage functions."""
    rows = src.execute(
        "SELECT series, date, value, source FROM observations WHERE date <= ? "
        "AND series NOT IN ('srf', 'srf_rate', 'rrp', 'rrp_rate') ORDER BY series, date",
        (until,),
    ).fetchall()
    upsert_observations(
        dst, [Observation(*r) for r in rows], fetched_at=iso_utc(at), untracked=UNTRACKED_SERIES
    )
    ops = operations_between(src, "0000-00-00", until)
    if ops:
        store_operations(dst, ops, at)


def bounds(start: str, end: str, lower: float, upper: float) -> dict[str, dict[str, float]]:
    return {"fed_lower": every_day(start, end, lower), "fed_upper": every_day(start, end, upper)}


@dataclass(frozen=True)
class Step:
    label: str
    at: datetime
    obs: dict[str, dict[str, float]] = field(default_factory=dict)
    ops: tuple[Operation, ...] = ()
    expect: dict[str, frozenset[str]] = field(default_factory=dict)  # event key -> chats, in firing order
    baselined: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timeline:
    name: str
    scenario: str
    cutoff: str
    at: datetime
    steps: tuple[Step, ...]
    extra_history: tuple[Operation, ...] = ()


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _source(series: str) -> str:
    return "nyfed" if series.startswith(("sofr", "effr")) else "fred"


def publish(db: sqlite_utils.Database, step: Step) -> None:
    for series, values in step.obs.items():
        store(db, series, values, _source(series), step.at)
    if step.ops:
        store_operations(db, step.ops, step.at)


TIMELINES = (
    Timeline(
        "2019-09 repo spike",
        "repo_spike_2019",
        "2019-09-13",
        ny(2019, 9, 16, 7, 0),
        (
            Step(
                "09-17 08:00: SOFR 09-16 2.43 over 2.25",
                ny(2019, 9, 17, 8, 0),
                {"sofr": {"2019-09-16": 2.43}, "effr": {"2019-09-16": 2.25}}
                | bounds("2019-09-14", "2019-09-17", 2.00, 2.25),
                expect={"sofr_breach:start:2019-09-16": EVERYONE},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "09-18 08:00: SOFR 09-17 5.25 (p99 9.00); the 09-17 OMO is not the SRF",
                ny(2019, 9, 18, 8, 0),
                {
                    "sofr": {"2019-09-17": 5.25},
                    "sofr_p99": {"2019-09-17": 9.00},
                    "sofr_volume": {"2019-09-17": 1177.0},
                    "effr": {"2019-09-17": 2.30},
                },
                (OMO_2019_09_17,),
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "09-19 08:00: SOFR 09-18 2.55, still over",
                ny(2019, 9, 19, 8, 0),
                {"sofr": {"2019-09-18": 2.55}} | bounds("2019-09-18", "2019-09-18", 2.00, 2.25),
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "09-19: the 09-18 FOMC cut takes effect, 1.75-2.00",
                ny(2019, 9, 19, 16, 0),
                bounds("2019-09-19", "2019-09-19", 1.75, 2.00),
                expect={"range_change:2019-09-19:1.75-2": EVERYONE},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "09-20 08:00: SOFR 09-19 1.95, back inside, 5 bp under the new top",
                ny(2019, 9, 20, 8, 0),
                {"sofr": {"2019-09-19": 1.95}},
                expect={"sofr_breach:end:2019-09-19": EVERYONE, "sofr_near@5:start:2019-09-19": NEAR5},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "09-23 08:00: SOFR 09-20 1.86",
                ny(2019, 9, 23, 8, 0),
                {"sofr": {"2019-09-20": 1.86}} | bounds("2019-09-20", "2019-09-22", 1.75, 2.00),
                baselined=tuple(SRF_RULES),
            ),
        ),
    ),
    Timeline(
        "2025-10 month end",
        "month_end_2025",
        "2025-10-29",
        ny(2025, 10, 30, 7, 0),
        (
            Step(
                "10-30: the 10-29 cut takes effect, 3.75-4.00; ON RRP at 3.75",
                ny(2025, 10, 30, 13, 20),
                bounds("2025-10-30", "2025-10-30", 3.75, 4.00) | {"iorb": {"2025-10-30": 3.90}},
                (rrp_op("2025-10-30", 19.166, 3.75),),
                expect={"range_change:2025-10-30:3.75-4": EVERYONE},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "10-31 08:16: SOFR 10-30 4.04 (episode open since 10-27); the first SRF operation stored",
                ny(2025, 10, 31, 8, 16),
                {
                    "sofr": {"2025-10-30": 4.04},
                    "sofr_p99": {"2025-10-30": 4.25},
                    "sofr_volume": {"2025-10-30": 3054.0},
                }
                | bounds("2025-10-31", "2025-11-02", 3.75, 4.00),
                OPS_2025_10_31[:1],
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "10-31 13:46: PM $29.35B takes the day to $50.35B",
                ny(2025, 10, 31, 13, 46),
                ops=OPS_2025_10_31[1:],
                expect={"srf_positive@0:tier:RP 103125 3": SRF0, "srf_positive@5:tier:RP 103125 3": SRF5},
            ),
            Step(
                "11-03 08:05: SOFR 10-31 4.22",
                ny(2025, 11, 3, 8, 5),
                {
                    "sofr": {"2025-10-31": 4.22},
                    "sofr_p99": {"2025-10-31": 4.45},
                    "sofr_volume": {"2025-10-31": 3116.0},
                    "effr": {"2025-10-31": 3.87},
                },
            ),
            Step("11-04 08:05: SOFR 11-03 4.13", ny(2025, 11, 4, 8, 5), {"sofr": {"2025-11-03": 4.13}}),
            Step(
                "11-05 08:05: SOFR 11-04 4.00, at the ceiling: back inside after 6 days",
                ny(2025, 11, 5, 8, 5),
                {"sofr": {"2025-11-04": 4.00}},
                expect={"sofr_breach:end:2025-11-04": EVERYONE, "sofr_near@5:start:2025-11-04": NEAR5},
            ),
        ),
    ),
    Timeline(
        "2026-02 SRF",
        "srf_feb_2026",
        "2026-02-13",
        ny(2026, 2, 17, 8, 0),
        (
            Step(
                "02-17 08:31: AM $11.0B",
                ny(2026, 2, 17, 8, 31),
                ops=OPS_2026_02[12:13],
                expect={"srf_positive@0:start:RP 021726 25": SRF0, "srf_positive@5:start:RP 021726 25": SRF5},
            ),
            Step("02-17 13:16: ON RRP", ny(2026, 2, 17, 13, 16), ops=OPS_2026_02[13:14]),
            Step(
                "02-17 13:46: PM $19.5B, day $30.5B",
                ny(2026, 2, 17, 13, 46),
                ops=OPS_2026_02[14:15],
                expect={"srf_positive@0:tier:RP 021726 27": SRF0, "srf_positive@5:tier:RP 021726 27": SRF5},
            ),
            Step(
                "02-18 08:05: SOFR 02-17 3.71, 4 bp under 3.75",
                ny(2026, 2, 18, 8, 5),
                {"sofr": {"2026-02-17": 3.71}, "effr": {"2026-02-17": 3.64}}
                | bounds("2026-02-14", "2026-02-18", 3.50, 3.75),
                expect={"sofr_near@5:start:2026-02-17": NEAR5},
            ),
            Step("02-18 08:31: AM zero", ny(2026, 2, 18, 8, 31), ops=OPS_2026_02[15:16]),
            Step("02-18 10:48: a Small Value Exercise", ny(2026, 2, 18, 10, 48), ops=OPS_2026_02[16:17]),
            Step(
                "02-18 13:46: PM $0.004B after a zero AM",
                ny(2026, 2, 18, 13, 46),
                ops=OPS_2026_02[17:19],
                expect={"srf_positive@0:start:RP 021826 29": SRF0},
            ),
            Step("02-19 08:35: SOFR 02-18 3.73", ny(2026, 2, 19, 8, 35), {"sofr": {"2026-02-18": 3.73}}),
        ),
        # The stored history includes the record day, so $11.0B and $30.5B are not records.
        extra_history=OPS_2025_10_31,
    ),
    Timeline(
        "2025-12 year end",
        "long_history",
        "2025-12-24",
        ny(2025, 12, 26, 7, 0),
        (
            Step(
                "12-29 08:00: SOFR 12-26 3.76",
                ny(2025, 12, 29, 8, 0),
                {"sofr": {"2025-12-26": 3.76}} | bounds("2025-12-25", "2025-12-29", 3.50, 3.75),
                expect={"sofr_breach:start:2025-12-26": EVERYONE},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "12-30 08:00: SOFR 12-29 3.77",
                ny(2025, 12, 30, 8, 0),
                {"sofr": {"2025-12-29": 3.77}} | bounds("2025-12-30", "2025-12-30", 3.50, 3.75),
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "12-31 08:00: SOFR 12-30 3.71",
                ny(2025, 12, 31, 8, 0),
                {"sofr": {"2025-12-30": 3.71}} | bounds("2025-12-31", "2025-12-31", 3.50, 3.75),
                expect={"sofr_breach:end:2025-12-30": EVERYONE, "sofr_near@5:start:2025-12-30": NEAR5},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "01-02 08:00: SOFR 12-31 3.87",
                ny(2026, 1, 2, 8, 0),
                {"sofr": {"2025-12-31": 3.87}} | bounds("2026-01-01", "2026-01-02", 3.50, 3.75),
                expect={"sofr_breach:start:2025-12-31": EVERYONE},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "01-05 08:00: SOFR 01-02 3.75",
                ny(2026, 1, 5, 8, 0),
                {"sofr": {"2026-01-02": 3.75}} | bounds("2026-01-03", "2026-01-05", 3.50, 3.75),
                expect={"sofr_breach:end:2026-01-02": EVERYONE, "sofr_near@5:start:2026-01-02": NEAR5},
                baselined=tuple(SRF_RULES),
            ),
            Step(
                "01-06 08:00: SOFR 01-05 3.70",
                ny(2026, 1, 6, 8, 0),
                {"sofr": {"2026-01-05": 3.70}} | bounds("2026-01-06", "2026-01-06", 3.50, 3.75),
                baselined=tuple(SRF_RULES),
            ),
        ),
    ),
)
TIMELINE_BY_NAME = {t.name: t for t in TIMELINES}

StepResult = tuple[str, list[str], list[str], dict[str, frozenset[str]], int]


def _names(ids: dict[str, int]) -> dict[int, str]:
    return {v: k for k, v in ids.items()}


def _max_outbox_id(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0])


def fanout_since(db: sqlite_utils.Database, ids: dict[str, int], after_id: int) -> dict[str, frozenset[str]]:
    names = _names(ids)
    out: dict[str, set[str]] = {}
    for chat_id, key in db.execute(
        "SELECT chat_id, event_key FROM outbox WHERE id > ? ORDER BY id", (after_id,)
    ).fetchall():
        out.setdefault(key, set()).add(names[chat_id])
    return {k: frozenset(v) for k, v in out.items()}


def evaluate_step(
    db: sqlite_utils.Database, engine: AlertEngine, ids: dict[str, int], label: str
) -> tuple[StepResult, Evaluation]:
    before = _max_outbox_id(db)
    result = engine.evaluate()
    fanout = fanout_since(db, ids, before)
    return (label, [a.key for a in result.alerts], result.baselined, fanout, result.queued), result


def expected_step(step: Step) -> StepResult:
    fanout = {k: v for k, v in step.expect.items() if v}
    return (
        step.label,
        list(step.expect),
        list(step.baselined),
        fanout,
        sum(len(v) for v in step.expect.values()),
    )


def start_timeline(
    timeline: Timeline, path: Path | str, clock: Callable[[], datetime]
) -> tuple[sqlite_utils.Database, AlertEngine, dict[str, int]]:
    db = open_db(path)
    ids = make_chats(db)
    copy_history(seeded(timeline.scenario), db, timeline.cutoff, timeline.at)
    if timeline.extra_history:
        store_operations(db, timeline.extra_history, timeline.at)
    return db, AlertEngine(db, clock=clock), ids


def run_timeline(
    timeline: Timeline, path: Path | str, clock: Callable[[], datetime] | None = None
) -> tuple[sqlite_utils.Database, dict[str, int], list[StepResult], list[StepResult]]:
    """Baseline on the history, then each publication followed by one evaluation (clock: the step's time)."""
    now = [timeline.at]
    db, engine, ids = start_timeline(timeline, path, clock or (lambda: now[0]))
    got = [evaluate_step(db, engine, ids, "baseline")[0]]
    want: list[StepResult] = [("baseline", [], ALL_RULES, {}, 0)]
    for step in timeline.steps:
        now[0] = step.at
        publish(db, step)
        got.append(evaluate_step(db, engine, ids, step.label)[0])
        want.append(expected_step(step))
    return db, ids, got, want


def event_keys(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT key FROM events ORDER BY rowid").fetchall()]


def count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


# ---------------------------------------------------------------------------------------------------------
# Baseline
# ---------------------------------------------------------------------------------------------------------

BASELINE_CASES = [
    # scenario, rules still without marks after the baseline, last sofr_breach mark (date, flag)
    ("empty", ALL_RULES, None),
    ("repo_spike_2019", SRF_RULES, ("2019-09-17", True)),
    ("month_end_2025", [], ("2025-10-31", True)),
    ("srf_feb_2026", [], ("2026-02-18", False)),
    ("calm_2024", [], ("2024-06-06", False)),
    ("june_2026", SRF_RULES, ("2026-06-23", False)),
    ("long_history", SRF_RULES, ("2026-07-30", False)),
]


@pytest.mark.parametrize(
    ("scenario", "unmarked", "breach_mark"), BASELINE_CASES, ids=[c[0] for c in BASELINE_CASES]
)
def test_first_evaluation_on_existing_history_is_a_silent_baseline(
    tmp_path: Path, scenario: str, unmarked: list[str], breach_mark: tuple[str, bool] | None
) -> None:
    db = seeded(scenario, tmp_path / "plumbline.db")
    make_chats(db)
    first = AlertEngine(db, clock=lambda: ny(2026, 7, 31, 9, 0)).evaluate()
    assert first.alerts == []
    assert first.queued == 0
    assert first.baselined == ALL_RULES
    assert count(db, "events") == 0
    assert count(db, "outbox") == 0
    mark = last_mark(db, "sofr_breach")
    assert (None if mark is None else (mark.ord, mark.flag)) == breach_mark
    # Only parameters some subscribed, active chat uses are evaluated (not 7 or 9, not near 2).
    rules = {r[0] for r in db.execute("SELECT DISTINCT rule FROM alert_marks").fetchall()}
    assert rules == set(ALL_RULES) - set(unmarked)
    # Nothing new: a second evaluation is quiet too; rules with no data yet still wait for their baseline.
    second = AlertEngine(db).evaluate()
    assert (second.alerts, second.queued, second.baselined) == ([], 0, unmarked)
    assert count(db, "events") == 0


def test_silent_evaluation_advances_marks_without_events(tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "plumbline.db")
    make_chats(db)
    engine = AlertEngine(db, clock=lambda: ny(2025, 11, 5, 8, 5))
    assert engine.evaluate().baselined == ALL_RULES
    store(db, "sofr", {"2025-11-03": 4.13, "2025-11-04": 4.00}, "nyfed", ny(2025, 11, 5, 8, 5))
    quiet = engine.evaluate(silent=True)
    assert (quiet.alerts, quiet.queued, quiet.baselined) == ([], 0, [])
    assert count(db, "events") == 0
    assert count(db, "outbox") == 0
    mark = last_mark(db, "sofr_breach")
    assert mark is not None
    assert (mark.ord, mark.value, mark.ref, mark.flag) == ("2025-11-04", 4.00, 4.00, False)
    near = last_mark(db, "sofr_near@5")
    assert near is not None
    assert (near.ord, near.flag) == ("2025-11-04", True)
    # The end of the episode was consumed silently: a normal evaluation does not bring it back.
    after = engine.evaluate()
    assert (after.alerts, after.queued) == ([], 0)


# ---------------------------------------------------------------------------------------------------------
# Live publications
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeline", TIMELINES, ids=[t.name for t in TIMELINES])
def test_timeline_fires_exactly_the_expected_alerts_to_the_expected_chats(
    tmp_path: Path, timeline: Timeline
) -> None:
    db, ids, got, want = run_timeline(timeline, tmp_path / "plumbline.db")
    assert got == want
    # Every event was stored once and queued once per chat.
    keys = [k for step in want for k in step[1]]
    assert event_keys(db) == keys
    dupes = db.execute(
        "SELECT chat_id, event_key, COUNT(*) FROM outbox GROUP BY chat_id, event_key HAVING COUNT(*) > 1"
    ).fetchall()
    assert dupes == []
    assert count(db, "outbox") == sum(step[4] for step in want)
    for name in ("muted", "left", "daily_only", "blocked"):
        assert count_for(db, ids[name]) == 0, name


def count_for(db: sqlite_utils.Database, chat_id: int) -> int:
    return int(db.execute("SELECT COUNT(*) FROM outbox WHERE chat_id = ?", (chat_id,)).fetchone()[0])


def test_srf_audiences_are_separate(tmp_path: Path) -> None:
    db, ids, _, _ = run_timeline(TIMELINE_BY_NAME["2026-02 SRF"], tmp_path / "plumbline.db")

    def keys_of(name: str) -> list[str]:
        rows = db.execute(
            "SELECT event_key FROM outbox WHERE chat_id = ? ORDER BY id", (ids[name],)
        ).fetchall()
        return [r[0] for r in rows]

    assert keys_of("bond_desk") == ["srf_positive@5:start:RP 021726 25", "srf_positive@5:tier:RP 021726 27"]
    assert keys_of("alice") == [
        "srf_positive@0:start:RP 021726 25",
        "srf_positive@0:tier:RP 021726 27",
        "srf_positive@0:start:RP 021826 29",
    ]
    assert keys_of("repo_watch") == [
        "srf_positive@0:start:RP 021726 25",
        "srf_positive@0:tier:RP 021726 27",
        "sofr_near@5:start:2026-02-17",
        "srf_positive@0:start:RP 021826 29",
    ]


def test_restart_on_the_same_file_queues_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "plumbline.db"
    db, ids, got, want = run_timeline(TIMELINE_BY_NAME["2025-10 month end"], path)
    assert got == want
    events, rows = event_keys(db), count(db, "outbox")
    assert rows == 13
    again = AlertEngine(db, clock=lambda: ny(2025, 11, 5, 8, 6)).evaluate()
    assert (again.alerts, again.queued, again.baselined) == ([], 0, [])
    db.close()

    reopened = open_db(path)
    for moment in (ny(2025, 11, 5, 8, 10), ny(2025, 11, 6, 9, 0)):
        result = AlertEngine(reopened, clock=fixed(moment)).evaluate()
        assert (result.alerts, result.queued, result.baselined) == ([], 0, [])
    assert event_keys(reopened) == events
    assert count(reopened, "outbox") == rows
    # The outbox refuses a second row for a (chat, event) pair.
    assert (
        enqueue(
            reopened, [ids["alice"], ids["bond_desk"]], "sofr_breach:end:2025-11-04", "2025-11-06T00:00:00Z"
        )
        == 0
    )
    assert count(reopened, "outbox") == rows
    reopened.close()


def test_revision_undoing_a_breach_sends_a_correction_to_the_same_chats(tmp_path: Path) -> None:
    db, ids, got, want = run_timeline(TIMELINE_BY_NAME["2025-12 year end"], tmp_path / "plumbline.db")
    assert got == want
    engine = AlertEngine(db, clock=lambda: ny(2026, 1, 6, 9, 0))
    before = _max_outbox_id(db)
    # hypothetical: the NY Fed revises 12-31 from 3.87 to 3.75, at the ceiling
    store(db, "sofr", {"2025-12-31": 3.75}, "nyfed", ny(2026, 1, 6, 9, 0))
    result = engine.evaluate()
    key = "sofr_breach:correction:2025-12-31:inside:3.7500"
    assert [a.key for a in result.alerts] == [key]
    assert fanout_since(db, ids, before) == {key: EVERYONE}
    start_chats = fanout_for(db, ids, "sofr_breach:start:2025-12-31")
    assert start_chats == EVERYONE
    reply, chart = reply_from_json(payload(db, key))
    assert chart is None
    assert reply.title == "\u270f\ufe0f Correction \u2014 SOFR for 2025-12-31"
    assert getattr(reply.blocks[0], "text", None) == (
        "The NY Fed revised SOFR for 2025-12-31 to 3.75%, inside the ceiling of 3.75%: "
        "that day was not a breach after all."
    )
    # Polled again, restarted: nothing more.
    assert engine.evaluate().alerts == []
    assert AlertEngine(db).evaluate().alerts == []
    assert count(db, "outbox") == sum(step[4] for step in want) + len(EVERYONE)


def test_srf_revision_under_a_threshold_corrects_only_that_audience(tmp_path: Path) -> None:
    db, ids, got, want = run_timeline(TIMELINE_BY_NAME["2025-10 month end"], tmp_path / "plumbline.db")
    assert got == want
    am, rrp, pm = OPS_2025_10_31
    # hypothetical: the PM operation revised from $29.35B to $4.0B: under $5B, still above 0.
    revised = replace(pm, total_accepted=4.0, treasury=4.0, mbs=0.0)
    before = _max_outbox_id(db)
    store_operations(db, [am, rrp, revised], ny(2025, 11, 5, 9, 0))
    result = AlertEngine(db, clock=lambda: ny(2025, 11, 5, 9, 0)).evaluate()
    key = "srf_positive@5:correction:RP 103125 3:4.000000"
    assert [a.key for a in result.alerts] == [key]
    assert fanout_since(db, ids, before) == {key: SRF5}
    reply, _ = reply_from_json(payload(db, key))
    assert reply.plain_text().split("\n\n")[1] == (
        "The NY Fed revised the take-up to $4.000B (was $29.350B), at or below your threshold of $5.0B. "
        "The alert for it is withdrawn."
    )


def test_srf_revision_above_a_threshold_alerts_only_that_audience(tmp_path: Path) -> None:
    db, ids, got, want = run_timeline(TIMELINE_BY_NAME["2025-10 month end"], tmp_path / "plumbline.db")
    assert got == want
    am, rrp, pm = OPS_2025_10_31
    # hypothetical, issue #10: the AM operation first published as $4.0B (under $5B), later revised to
    # $20.0B. Zero -> positive used to pass in silence.
    small = replace(am, total_accepted=4.0, treasury=4.0, agency=0.0, mbs=0.0)
    store_operations(db, [small, rrp, pm], ny(2025, 11, 5, 9, 0))
    AlertEngine(db, clock=lambda: ny(2025, 11, 5, 9, 0)).evaluate()
    before = _max_outbox_id(db)
    store_operations(db, [replace(am, total_accepted=20.0, treasury=20.0), rrp, pm], ny(2025, 11, 5, 10, 0))
    result = AlertEngine(db, clock=lambda: ny(2025, 11, 5, 10, 0)).evaluate()
    revised = [a for a in result.alerts if a.kind == "revised"]
    assert [a.key for a in revised] == [f"srf_positive@5:revised:{am.operation_id}:20.000000"]
    assert fanout_since(db, ids, before).get(revised[0].key) == SRF5
    reply, _ = reply_from_json(payload(db, revised[0].key))
    assert (
        "The NY Fed revised the morning operation's take-up to $20.000B (was $4.000B)" in reply.plain_text()
    )


def fanout_for(db: sqlite_utils.Database, ids: dict[str, int], key: str) -> frozenset[str]:
    names = _names(ids)
    rows = db.execute("SELECT chat_id FROM outbox WHERE event_key = ?", (key,)).fetchall()
    return frozenset(names[r[0]] for r in rows)


def payload(db: sqlite_utils.Database, key: str) -> str:
    row = db.execute("SELECT payload FROM events WHERE key = ?", (key,)).fetchone()
    assert row is not None, key
    return str(row[0])


# ---------------------------------------------------------------------------------------------------------
# The clock never decides whether something alerts
# ---------------------------------------------------------------------------------------------------------

CLOCKS = {
    "1999-01-01": datetime(1999, 1, 1, tzinfo=UTC),
    "2047-06-30": datetime(2047, 6, 30, 23, 59, tzinfo=UTC),
}


@pytest.mark.parametrize("name", ["2025-10 month end", "2026-02 SRF", "2019-09 repo spike"])
def test_alerts_depend_on_data_and_marks_not_on_the_clock(tmp_path: Path, name: str) -> None:
    timeline = TIMELINE_BY_NAME[name]
    db, _, live, want = run_timeline(timeline, tmp_path / "live.db")
    assert live == want
    live_events = db.execute("SELECT key, kind, data_date, payload FROM events ORDER BY rowid").fetchall()
    assert len(live_events) == sum(len(s.expect) for s in timeline.steps)
    for label, moment in CLOCKS.items():
        other, ids, got, _ = run_timeline(timeline, tmp_path / f"{label}.db", clock=fixed(moment))
        assert [(s[0], s[1], s[2]) for s in got] == [(s[0], s[1], s[2]) for s in live], label
        events = other.execute("SELECT key, kind, data_date, payload FROM events ORDER BY rowid").fetchall()
        assert events == live_events, label
        created = {r[0] for r in other.execute("SELECT created_at FROM events").fetchall()}
        assert created == {iso_utc(moment)}
        # Who receives does follow the clock: in 1999 the chat muted until 2000 is still muted.
        received = count_for(other, ids["was_muted"])
        assert (received == 0) == (label == "1999-01-01"), label


# ---------------------------------------------------------------------------------------------------------
# What the stored payloads say
# ---------------------------------------------------------------------------------------------------------

PAYLOAD_CASES = [
    (
        "2019-09 repo spike",
        "sofr_breach:start:2019-09-16",
        "spread 1m",
        "\U0001f6a8 SOFR above the ceiling \u2014 2019-09-16",
        [
            # before the SRF existed (2021-07-29) the ceiling is the top of the target range
            "SOFR printed 2.43%, 18 bp above the top of the target range (2.25%). Repo cash is short.",
        ],
    ),
    (
        "2019-09 repo spike",
        "sofr_breach:end:2019-09-19",
        None,
        "\u2705 SOFR back inside the corridor \u2014 2019-09-19",
        [
            "SOFR is 1.95%, 5 bp under the ceiling of 2.00%, after 3 day(s) above it (since 2019-09-16; "
            "peak 5.25% on 2019-09-17, +300 bp)."
        ],
    ),
    (
        "2019-09 repo spike",
        "range_change:2019-09-19:1.75-2",
        None,
        "\U0001f3db FOMC moved the target range, effective 2019-09-19",
        [
            "The fed funds target range is now 1.75%\u20132.00% (\u221225 bp), from 2.00%\u20132.25%. "
            "The corridor floor and ceiling move with it."
        ],
    ),
    (
        "2025-10 month end",
        "srf_positive@0:tier:RP 103125 3",
        None,
        "\U0001f6a8 SRF take-up passes $50B \u2014 2025-10-31",
        [
            "The afternoon operation added $29.350B; the day's take-up is now $50.350B.",
            "Collateral: Treasury $19.350B, agency $0.000B, MBS $10.000B. Day total so far: $50.350B.",
        ],
    ),
    (
        "2025-10 month end",
        "srf_positive@5:tier:RP 103125 3",
        None,
        "\U0001f6a8 SRF take-up passes $50B \u2014 2025-10-31",
        [
            "The afternoon operation added $29.350B; the day's take-up is now $50.350B.",
            "Collateral: Treasury $19.350B, agency $0.000B, MBS $10.000B. Day total so far: $50.350B.",
            "Your alert threshold: $5.0B.",
        ],
    ),
    (
        "2025-10 month end",
        "sofr_breach:end:2025-11-04",
        None,
        "\u2705 SOFR back inside the corridor \u2014 2025-11-04",
        [
            "SOFR is 4.00%, at the ceiling of 4.00%, after 6 day(s) above it (since 2025-10-27; "
            "peak 4.22% on 2025-10-31, +22 bp)."
        ],
    ),
    (
        "2025-10 month end",
        "sofr_near@5:start:2025-11-04",
        None,
        "\u26a0\ufe0f SOFR near the ceiling \u2014 2025-11-04",
        ["SOFR printed 4.00%, at the ceiling of 4.00% (your alert distance: 5 bp)."],
    ),
    (
        "2026-02 SRF",
        "srf_positive@0:start:RP 021726 25",
        "srf 3m",
        "\U0001f6a8 SRF take-up: $11.000B \u2014 2026-02-17 AM",
        [
            "Dealers took $11.000B from the Fed's Standing Repo Facility in the morning operation "
            "(minimum bid rate 3.75%). "
            "SRF take-up above zero means the Fed is creating reserves to fund repo.",
            "Collateral: Treasury $8.000B, agency $0.000B, MBS $3.000B. Day total so far: $11.000B.",
        ],
    ),
    (
        "2026-02 SRF",
        "srf_positive@0:tier:RP 021726 27",
        None,
        "\U0001f6a8 SRF take-up passes $25B \u2014 2026-02-17",
        [
            "The afternoon operation added $19.500B; the day's take-up is now $30.500B.",
            "Collateral: Treasury $10.500B, agency $0.000B, MBS $9.000B. Day total so far: $30.500B.",
        ],
    ),
    (
        "2026-02 SRF",
        "srf_positive@0:start:RP 021826 29",
        "srf 3m",
        "\U0001f6a8 SRF take-up: $0.004B \u2014 2026-02-18 PM",
        [
            "Dealers took $0.004B from the Fed's Standing Repo Facility in the afternoon operation "
            "(minimum bid rate 3.75%). "
            "SRF take-up above zero means the Fed is creating reserves to fund repo.",
            "Collateral: Treasury $0.002B, agency $0.001B, MBS $0.001B. Day total so far: $0.004B.",
        ],
    ),
    (
        "2025-12 year end",
        "sofr_breach:start:2025-12-31",
        "spread 1m",
        "\U0001f6a8 SOFR above the ceiling \u2014 2025-12-31",
        [
            "SOFR printed 3.87%, 12 bp above the corridor ceiling of 3.75%. "
            "Repo cash is short: expect dealers at the Standing Repo Facility.",
        ],
    ),
]

FOOTER = "Plumbline alert. /mute 6h to pause, /settings to change."


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, sqlite_utils.Database]:
    dbs: dict[str, sqlite_utils.Database] = {}
    for timeline in TIMELINES:
        path = tmp_path_factory.mktemp("played") / "plumbline.db"
        db, _, got, want = run_timeline(timeline, path)
        assert got == want
        dbs[timeline.name] = db
    return dbs


@pytest.mark.parametrize(
    ("timeline", "key", "chart", "title", "body"), PAYLOAD_CASES, ids=[c[1] for c in PAYLOAD_CASES]
)
def test_stored_payload_renders_the_real_numbers(
    played: dict[str, sqlite_utils.Database],
    timeline: str,
    key: str,
    chart: str | None,
    title: str,
    body: list[str],
) -> None:
    reply, stored_chart = reply_from_json(payload(played[timeline], key))
    assert stored_chart == chart
    assert reply.title == title
    texts = [getattr(b, "text", None) for b in reply.blocks]
    assert texts == [*body, FOOTER]


def test_breach_start_payload_gives_p99_and_volume_when_published(tmp_path: Path) -> None:
    """The 99th percentile and volume published with the rate are in the start message's detail line.
    (hypothetical: 09-16 printed 2.24, so the episode starts on 09-17 at 5.25.)"""
    timeline = Timeline(
        "2019-09-17 alone",
        "repo_spike_2019",
        "2019-09-13",
        ny(2019, 9, 16, 7, 0),
        (
            Step(
                "09-18 08:00: SOFR 09-16 (inside, hypothetically 2.24) and 09-17 5.25",
                ny(2019, 9, 18, 8, 0),
                {
                    "sofr": {"2019-09-16": 2.24, "2019-09-17": 5.25},
                    "sofr_p99": {"2019-09-17": 9.00},
                    "sofr_volume": {"2019-09-17": 1177.0},
                }
                | bounds("2019-09-14", "2019-09-17", 2.00, 2.25),
                expect={"sofr_breach:start:2019-09-17": EVERYONE},
                baselined=tuple(SRF_RULES),
            ),
        ),
    )
    db, _, got, want = run_timeline(timeline, tmp_path / "plumbline.db")
    assert got == want
    reply, _ = reply_from_json(payload(db, "sofr_breach:start:2019-09-17"))
    assert [getattr(b, "text", None) for b in reply.blocks] == [
        "SOFR printed 5.25%, 300 bp above the top of the target range (2.25%). Repo cash is short.",
        "99th percentile 9.00%; volume $1.177T.",
        FOOTER,
    ]


def test_record_only_srf_alert_does_not_claim_a_zero_tier(tmp_path: Path) -> None:
    """hypothetical: a stored record of $5B, an episode running at $3B, then $6B the next morning.
    The alert is for the record; a title saying the take-up "passes $0B" is wrong."""
    db = open_db(tmp_path / "plumbline.db")
    ids = make_chats(db)
    store(db, "srf", {"2025-06-30": 5.0}, "nyfed", ny(2026, 3, 1, 9, 0))

    def fa(op_id: str, day: str, session: str, amount: float) -> Operation:
        return full_allotment_op(op_id, day, session, amount, amount, 0.0, 0.0, "08:31:00")

    engine = AlertEngine(db, clock=lambda: ny(2026, 3, 3, 9, 0))
    store_operations(db, [fa("RP 030226 25", "2026-03-02", "AM", 0.0)], ny(2026, 3, 2, 8, 31))
    assert engine.evaluate().baselined == ALL_RULES
    store_operations(db, [fa("RP 030226 27", "2026-03-02", "PM", 3.0)], ny(2026, 3, 2, 13, 46))
    result = engine.evaluate()
    assert result.baselined == ["sofr_breach", "range_change", "sofr_near@5"]  # no SOFR stored here
    assert [a.key for a in result.alerts] == ["srf_positive@0:start:RP 030226 27"]
    store_operations(db, [fa("RP 030326 25", "2026-03-03", "AM", 6.0)], ny(2026, 3, 3, 8, 31))
    result = engine.evaluate()
    key = "srf_positive@0:tier:RP 030326 25"
    assert [a.key for a in result.alerts] == [key, "srf_positive@5:start:RP 030326 25"]
    assert result.alerts[0].facts["record"] == 1
    assert fanout_for(db, ids, key) == SRF0
    reply, _ = reply_from_json(payload(db, key))
    assert "\U0001f3c6 A record: the largest day stored was $5.000B." in [
        getattr(b, "text", None) for b in reply.blocks
    ]
    assert "$0B" not in reply.title


# ---------------------------------------------------------------------------------------------------------
# Ceilings the engine feeds the rules, and the backtest
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("repo_spike_2019", {"2019-08-12": 2.25, "2019-09-16": 2.25, "2019-09-17": 2.25}),
        # FOMC 10-29: 4.25 through 10-29, 4.00 from 10-30; 10-31 from that day's SRF minimum bid rate.
        ("month_end_2025", {"2025-09-30": None, "2025-10-29": 4.25, "2025-10-30": 4.00, "2025-10-31": 4.00}),
        ("srf_feb_2026", {"2026-01-12": 3.75, "2026-02-17": 3.75, "2026-02-18": 3.75}),
        ("calm_2024", {"2024-05-01": 5.50, "2024-06-06": 5.50}),
    ],
)
def test_engine_ceiling_is_the_one_in_effect(scenario: str, expected: dict[str, float | None]) -> None:
    days = {d.date: d for d in sofr_days(seeded(scenario))}
    assert {d: days[d].ceiling for d in expected} == expected


def test_revision_window_is_forty_days() -> None:
    assert REVISION_LOOKBACK_DAYS == 40


def weekdays(start: str, end: str) -> list[str]:
    return [d for d in every_day(start, end, 0.0) if date.fromisoformat(d).weekday() < 5]


def test_an_episode_longer_than_the_revision_window_ends_with_its_whole_length(tmp_path: Path) -> None:
    """hypothetical stress: SOFR over a 3.75 top every business day from 2026-03-09 to 05-29 (60 fixings),
    peaking at 4.25 on 03-10. The end message must count the whole episode and name its real start and peak,
    however far back it began (the engine re-reads only REVISION_LOOKBACK_DAYS of marks)."""
    db = open_db(tmp_path / "plumbline.db")
    ids = make_chats(db)
    at = ny(2026, 3, 2, 9, 0)
    store(db, "fed_lower", every_day("2026-02-01", "2026-06-30", 3.50), "fred", at)
    store(db, "fed_upper", every_day("2026-02-01", "2026-06-30", 3.75), "fred", at)
    store(db, "sofr", dict.fromkeys(weekdays("2026-02-02", "2026-03-06"), 3.65), "nyfed", at)
    engine = AlertEngine(db, clock=lambda: ny(2026, 6, 2, 8, 5))
    assert engine.evaluate().baselined == ALL_RULES
    store(db, "sofr", {"2026-03-09": 3.80}, "nyfed", ny(2026, 3, 10, 8, 0))
    assert [a.key for a in engine.evaluate().alerts] == ["sofr_breach:start:2026-03-09"]
    episode = weekdays("2026-03-09", "2026-05-29")
    assert len(episode) == 60
    # Published day by day in reality; here in three polls, each continuing the episode quietly.
    for chunk in (episode[1:20], episode[20:40], episode[40:]):
        store(db, "sofr", {d: 4.25 if d == "2026-03-10" else 3.80 for d in chunk}, "nyfed", at)
        assert engine.evaluate().alerts == []
    store(db, "sofr", {"2026-06-01": 3.70}, "nyfed", ny(2026, 6, 2, 8, 0))
    result = engine.evaluate()
    assert [a.key for a in result.alerts] == ["sofr_breach:end:2026-06-01", "sofr_near@5:start:2026-06-01"]
    assert result.alerts[0].facts == {
        "sofr": 3.70,
        "ceiling": 3.75,
        "spread_bp": -5.0,
        "p99": None,
        "volume": None,
        "days": 60,
        "since": "2026-03-09",
        "peak_sofr": 4.25,
        "peak_date": "2026-03-10",
        "peak_bp": 50.0,
    }
    assert fanout_for(db, ids, "sofr_breach:end:2026-06-01") == EVERYONE


def test_replay_month_end_2025() -> None:
    assert replay(seeded("month_end_2025"), "2018-01-01") == [
        Episode(
            "sofr_breach", "2025-10-27", None, 5, "SOFR 4.22% vs ceiling 4.00% (+22 bp) on 2025-10-31", 1
        ),
        Episode("range_change", "2025-10-30", "2025-10-30", 1, "4.00-4.25% -> 3.75-4.00% (-25 bp)", 1),
        Episode("srf_positive@0", "2025-10-31", None, 1, "$50.350B on 2025-10-31", 2),
    ]


def test_replay_repo_spike_2019() -> None:
    assert replay(seeded("repo_spike_2019"), "2018-01-01") == [
        Episode(
            "sofr_breach", "2019-09-16", None, 2, "SOFR 5.25% vs ceiling 2.25% (+300 bp) on 2019-09-17", 1
        ),
    ]


def test_replay_long_history_lists_the_real_episodes_with_their_peaks() -> None:
    require_real_sofr_history()
    episodes = replay(seeded("long_history"), "2018-01-01")
    by_start = {(e.rule, e.start): e for e in episodes}
    assert by_start[("sofr_breach", "2019-09-16")] == Episode(
        "sofr_breach", "2019-09-16", "2019-09-19", 3, "SOFR 5.25% vs ceiling 2.25% (+300 bp) on 2019-09-17", 2
    )
    assert by_start[("sofr_breach", "2025-10-27")] == Episode(
        "sofr_breach", "2025-10-27", "2025-11-04", 6, "SOFR 4.22% vs ceiling 4.00% (+22 bp) on 2025-10-31", 2
    )
    assert by_start[("sofr_breach", "2025-12-31")] == Episode(
        "sofr_breach", "2025-12-31", "2026-01-02", 1, "SOFR 3.87% vs ceiling 3.75% (+12 bp) on 2025-12-31", 2
    )
    assert by_start[("range_change", "2025-10-30")] == Episode(
        "range_change", "2025-10-30", "2025-10-30", 1, "4.00-4.25% -> 3.75-4.00% (-25 bp)", 1
    )
    # Every FOMC move since SOFR began is listed once, on its effective date.
    changes = [e.start for e in episodes if e.rule == "range_change"]
    assert changes == [r[0] for r in TARGET_RANGES if r[0] > "2018-04-03"]
    breaches = [e for e in episodes if e.rule == "sofr_breach"]
    assert len(breaches) == 32
    assert max(breaches, key=lambda e: e.days).start == "2025-10-27"


def test_replay_counts_each_srf_episodes_own_alerts() -> None:
    """02-17 (start + tier) ends at the zero AM operation of 02-18, whose PM operation starts the next
    episode: that start belongs to the 02-18 episode only."""
    assert replay(seeded("srf_feb_2026"), "2018-01-01") == [
        Episode("srf_positive@0", "2026-02-10", "2026-02-11", 2, "$0.100B on 2026-02-10", 1),
        Episode("srf_positive@0", "2026-02-17", "2026-02-18", 1, "$30.500B on 2026-02-17", 2),
        Episode("srf_positive@0", "2026-02-18", None, 1, "$0.004B on 2026-02-18", 1),
    ]


def test_replay_at_a_threshold() -> None:
    assert replay(seeded("srf_feb_2026"), "2018-01-01", srf_threshold=5.0) == [
        Episode("srf_positive@5", "2026-02-17", "2026-02-18", 1, "$30.500B on 2026-02-17", 2),
    ]
