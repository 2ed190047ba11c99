"""Backtest: run the alert rules over stored history and list every episode they would have fired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from bot.alerts.engine import prior_srf_record, range_days, sofr_days, srf_ops
from bot.alerts.rules import Alert, range_change, sofr_breach, srf_positive
from storage.marks import Mark


@dataclass(frozen=True, slots=True)
class Episode:
    rule: str
    start: str
    end: str | None  # None: still open
    days: int
    peak: str  # human-readable peak
    alerts: int


def _runs(marks: Sequence[Mark]) -> list[list[Mark]]:
    """Consecutive flagged marks, in order."""
    runs: list[list[Mark]] = []
    current: list[Mark] = []
    for mark in sorted(marks, key=lambda m: m.ord):
        if mark.flag:
            current.append(mark)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _day(mark: Mark) -> str:
    return mark.ord.split("|", 1)[0]


def _breach_alerts(alerts: Sequence[Alert], start: str, end: str | None) -> int:
    """The start alert of the episode and its end alert, if it ended."""
    return sum(
        1 for a in alerts if (a.kind == "start" and a.date == start) or (a.kind == "end" and a.date == end)
    )


def _srf_alerts(alerts: Sequence[Alert], run: Sequence[Mark]) -> int:
    """Alerts raised by the episode's own operations."""
    items = {m.item for m in run}
    return sum(1 for a in alerts if a.facts.get("operation_id") in items)


def replay(db: sqlite_utils.Database, since: str, srf_threshold: float = 0.0) -> list[Episode]:
    """Episodes of SOFR above the ceiling, SRF take-up above the threshold, and range changes."""
    episodes: list[Episode] = []
    marks, alerts = sofr_breach(sofr_days(db, since), {})
    all_marks = sorted(marks, key=lambda m: m.ord)
    for run in _runs(marks):
        last = run[-1]
        following = [m for m in all_marks if m.ord > last.ord]
        end = following[0].item if following else None
        peak = max(run, key=lambda m: m.value - (m.ref or 0.0))
        spread = round((peak.value - (peak.ref or 0.0)) * 100)
        episodes.append(
            Episode(
                "sofr_breach",
                run[0].item,
                end,
                len(run),
                f"SOFR {peak.value:.2f}% vs ceiling {peak.ref:.2f}% (+{spread} bp) on {peak.item}",
                _breach_alerts(alerts, run[0].item, end),
            )
        )
    ops = srf_ops(db, since)
    marks, alerts = srf_positive(ops, {}, srf_threshold, prior_srf_record(db, ops[0].date if ops else since))
    all_marks = sorted(marks, key=lambda m: m.ord)
    for run in _runs(marks):
        totals: dict[str, float] = {}
        for mark in run:
            totals[_day(mark)] = totals.get(_day(mark), 0.0) + mark.value
        peak_day = max(totals, key=lambda d: totals[d])
        following = [m for m in all_marks if m.ord > run[-1].ord]
        end = _day(following[0]) if following else None
        episodes.append(
            Episode(
                f"srf_positive@{srf_threshold:g}",
                _day(run[0]),
                end,
                len(totals),
                f"${totals[peak_day]:,.3f}B on {peak_day}",
                _srf_alerts(alerts, run),
            )
        )
    _, changes = range_change(range_days(db, since), {})
    for alert in changes:
        f = alert.facts
        episodes.append(
            Episode(
                "range_change",
                alert.date,
                alert.date,
                1,
                f"{f['old_lower']:.2f}-{f['old_upper']:.2f}% -> {f['lower']:.2f}-{f['upper']:.2f}% "
                f"({f['move_bp']:+d} bp)",
                1,
            )
        )
    return sorted(episodes, key=lambda e: (e.start, e.rule))


def format_episodes(episodes: Sequence[Episode]) -> str:
    if not episodes:
        return "No episodes in the stored history."
    lines = [f"{'rule':<18}{'start':<12}{'end':<12}{'days':>5}  {'alerts':>6}  peak"]
    for e in episodes:
        lines.append(f"{e.rule:<18}{e.start:<12}{e.end or 'open':<12}{e.days:>5}  {e.alerts:>6}  {e.peak}")
    counts: dict[str, int] = {}
    for e in episodes:
        counts[e.rule] = counts.get(e.rule, 0) + 1
    lines.append("")
    lines.append(", ".join(f"{n} {rule}" for rule, n in sorted(counts.items())))
    return "\n".join(lines)
