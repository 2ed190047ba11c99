"""Alert rules: pure functions from stored readings and what was already evaluated (marks) to alerts.

Each rule sees the data and its own marks, never the clock, so a replay of history and a live day
behave the same. Marks record what a rule saw for each item (a SOFR date, an SRF operation); a mark
whose verdict flips on a later poll is a revision, and gets a correction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.market.episodes import open_episode
from bot.market.levels import gap_bp, is_breach, is_near
from storage.marks import Mark

SRF_TIERS: tuple[float, ...] = (10.0, 25.0, 50.0)


@dataclass(frozen=True, slots=True)
class Alert:
    key: str  # unique per event: the outbox deduplicates on it
    rule: str
    kind: str  # start | end | tier | correction | revised | change
    date: str
    facts: dict[str, float | str | int | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SofrDay:
    date: str
    sofr: float
    ceiling: float | None
    p99: float | None = None
    volume: float | None = None


@dataclass(frozen=True, slots=True)
class SrfOp:
    operation_id: str
    date: str
    close_time: str
    session: str
    amount: float
    treasury: float = 0.0
    agency: float = 0.0
    mbs: float = 0.0
    rate: float | None = None

    @property
    def ord(self) -> str:
        return f"{self.date}|{self.close_time}|{self.operation_id}"


@dataclass(frozen=True, slots=True)
class RangeDay:
    date: str
    lower: float
    upper: float


RuleResult = tuple[list[Mark], list[Alert]]


def sofr_breach(days: Sequence[SofrDay], marks: Mapping[str, Mark]) -> RuleResult:
    """SOFR above the ceiling: one alert when an episode starts, one when it ends; corrections on revision."""
    rule = "sofr_breach"
    known = dict(marks)
    new_marks: list[Mark] = []
    alerts: list[Alert] = []
    last = max((m.ord for m in known.values()), default="")
    for day in sorted(days, key=lambda d: d.date):
        if day.ceiling is None:
            continue
        flag = is_breach(day.sofr, day.ceiling)
        mark = Mark(day.date, day.date, day.sofr, day.ceiling, flag)
        old = known.get(day.date)
        if old is not None:
            if old.flag != flag:
                alerts.append(_breach_correction(day, old, flag))
            if old != mark:
                new_marks.append(mark)
                known[day.date] = mark
            continue
        if day.date < last:
            # A late first value for an old date: record it, correct if it is a breach nobody heard of.
            if flag:
                alerts.append(_breach_correction(day, None, flag))
            new_marks.append(mark)
            known[day.date] = mark
            continue
        episode = open_episode(known.values())
        facts: dict[str, float | str | int | None] = {
            "sofr": day.sofr,
            "ceiling": day.ceiling,
            "spread_bp": round((day.sofr - day.ceiling) * 100, 1),
            "p99": day.p99,
            "volume": day.volume,
        }
        if flag and not episode:
            alerts.append(Alert(f"{rule}:start:{day.date}", rule, "start", day.date, facts))
        elif not flag and episode:
            peak = max(episode, key=lambda m: m.value - (m.ref or 0.0))
            facts |= {
                "days": len(episode),
                "since": episode[0].item,
                "peak_sofr": peak.value,
                "peak_date": peak.item,
                "peak_bp": round((peak.value - (peak.ref or 0.0)) * 100, 1),
            }
            alerts.append(Alert(f"{rule}:end:{day.date}", rule, "end", day.date, facts))
        new_marks.append(mark)
        known[day.date] = mark
        last = day.date
    return new_marks, alerts


def _breach_correction(day: SofrDay, old: Mark | None, flag: bool) -> Alert:
    facts: dict[str, float | str | int | None] = {
        "sofr": day.sofr,
        "ceiling": day.ceiling,
        "old_sofr": old.value if old else None,
        "old_ceiling": old.ref if old else None,
        "breach": int(flag),
        "spread_bp": round((day.sofr - (day.ceiling or 0.0)) * 100, 1),
    }
    state = "breach" if flag else "inside"
    return Alert(
        f"sofr_breach:correction:{day.date}:{state}:{day.sofr:.4f}",
        "sofr_breach",
        "correction",
        day.date,
        facts,
    )


def sofr_near(days: Sequence[SofrDay], marks: Mapping[str, Mark], near_bp: float) -> RuleResult:
    """SOFR within near_bp of the ceiling (and not above it): one alert when an episode starts."""
    rule = f"sofr_near@{near_bp:g}"
    known = dict(marks)
    last = max((m.ord for m in known.values()), default="")
    new_marks: list[Mark] = []
    alerts: list[Alert] = []
    for day in sorted(days, key=lambda d: d.date):
        if day.ceiling is None:
            continue
        flag = is_near(day.sofr, day.ceiling, near_bp)
        mark = Mark(day.date, day.date, day.sofr, day.ceiling, flag)
        old = known.get(day.date)
        if old is not None or day.date < last:
            if old != mark:
                new_marks.append(mark)
                known[day.date] = mark
            continue
        episode = open_episode(known.values())
        if flag and not episode:
            facts: dict[str, float | str | int | None] = {
                "sofr": day.sofr,
                "ceiling": day.ceiling,
                "gap_bp": round(gap_bp(day.sofr, day.ceiling), 1),
                "near_bp": near_bp,
                "p99": day.p99,
            }
            alerts.append(Alert(f"{rule}:start:{day.date}", rule, "start", day.date, facts))
        new_marks.append(mark)
        known[day.date] = mark
        last = day.date
    return new_marks, alerts


def _tier(total: float) -> float:
    reached = [t for t in SRF_TIERS if total >= t - 1e-9]
    return reached[-1] if reached else 0.0


def srf_positive(
    ops: Sequence[SrfOp], marks: Mapping[str, Mark], threshold: float, prior_record: float
) -> RuleResult:
    """SRF take-up above the threshold after an operation at or below it; then only tiers and records.

    `ops` must hold whole days. prior_record is the largest daily take-up stored before the first of
    those days (0 when none: then no operation is called a record).
    """
    rule = f"srf_positive@{threshold:g}"
    known = dict(marks)
    last = max((m.ord for m in known.values()), default="")
    new_marks: list[Mark] = []
    alerts: list[Alert] = []
    record = prior_record  # the record before the current day
    day, total = "", 0.0
    for op in sorted(ops, key=lambda o: o.ord):
        if op.date != day:
            record = max(record, total)
            day, total = op.date, 0.0
        before = total
        total = round(total + op.amount, 6)
        flag = op.amount > threshold + 1e-9
        mark = Mark(op.operation_id, op.ord, op.amount, threshold, flag)
        old = known.get(op.operation_id)
        if old is not None or op.ord < last:
            if old is not None and old.flag and not flag:
                facts: dict[str, float | str | int | None] = {
                    "amount": op.amount,
                    "old_amount": old.value,
                    "session": op.session,
                    "threshold": threshold,
                }
                key = f"{rule}:correction:{op.operation_id}:{op.amount:.6f}"
                alerts.append(Alert(key, rule, "correction", op.date, facts))
            elif flag and (old is None or not old.flag):
                # Revised up across the threshold, or an operation that arrived after later ones.
                late: dict[str, float | str | int | None] = {
                    "amount": op.amount,
                    "old_amount": old.value if old is not None else None,
                    "session": op.session,
                    "threshold": threshold,
                    "day_total": total,
                    "operation_id": op.operation_id,
                }
                key = f"{rule}:revised:{op.operation_id}:{op.amount:.6f}"
                alerts.append(Alert(key, rule, "revised", op.date, late))
            if old != mark:
                new_marks.append(mark)
                known[op.operation_id] = mark
            continue
        episode = open_episode(known.values())
        is_record = record > 0 and total > record + 1e-9 and before <= record + 1e-9
        facts_new: dict[str, float | str | int | None] = {
            "amount": op.amount,
            "session": op.session,
            "day_total": total,
            "treasury": op.treasury,
            "agency": op.agency,
            "mbs": op.mbs,
            "rate": op.rate,
            "threshold": threshold,
            "operation_id": op.operation_id,
            "record": int(is_record),
            "prior_record": record,
        }
        if flag and not episode:
            facts_new["tier"] = _tier(total)
            alerts.append(Alert(f"{rule}:start:{op.operation_id}", rule, "start", op.date, facts_new))
        elif flag:
            reached = _episode_peak_day(episode, known.values())
            tier = _tier(max(total, reached))
            if tier > _tier(reached) or is_record:
                facts_new["tier"] = tier
                facts_new["tier_up"] = int(tier > _tier(reached))
                alerts.append(Alert(f"{rule}:tier:{op.operation_id}", rule, "tier", op.date, facts_new))
        new_marks.append(mark)
        known[op.operation_id] = mark
        last = op.ord
    return new_marks, alerts


def _episode_peak_day(episode: Sequence[Mark], marks: Iterable[Mark]) -> float:
    """The largest full-day take-up (every operation, not only those above the threshold) over the
    days an open episode has touched so far."""
    days = {mark.ord.split("|", 1)[0] for mark in episode}
    totals: dict[str, float] = {}
    for mark in marks:
        day = mark.ord.split("|", 1)[0]
        if day in days:
            totals[day] = totals.get(day, 0.0) + mark.value
    return max(totals.values(), default=0.0)


def range_change(days: Sequence[RangeDay], marks: Mapping[str, Mark]) -> RuleResult:
    """The FOMC moved the target range: one alert on the first day the new range is in effect."""
    rule = "range_change"
    last = max(marks.values(), key=lambda m: m.ord, default=None)
    new_marks: list[Mark] = []
    alerts: list[Alert] = []
    for day in sorted(days, key=lambda d: d.date):
        if last is not None and day.date <= last.ord:
            continue
        moved = last is not None and (
            abs(last.value - day.upper) > 1e-9 or abs((last.ref or 0.0) - day.lower) > 1e-9
        )
        if moved and last is not None:
            facts: dict[str, float | str | int | None] = {
                "lower": day.lower,
                "upper": day.upper,
                "old_lower": last.ref,
                "old_upper": last.value,
                "move_bp": round((day.upper - last.value) * 100),
            }
            alerts.append(
                Alert(f"{rule}:{day.date}:{day.lower:g}-{day.upper:g}", rule, "change", day.date, facts)
            )
        last = Mark(day.date, day.date, day.upper, day.lower, moved)
        new_marks.append(last)
    return new_marks, alerts
