"""The alert engine: run every rule over what storage holds, then record events and fan them out.

Marks, events and outbox rows are written in one transaction, so a crash either loses the whole
evaluation (it is redone, with the same event keys) or keeps all of it. A rule that has never run
takes a silent baseline: backfills and first polls never alert on history.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlite_utils

from bot.alerts.auction_alerts import weak_auction_alerts
from bot.alerts.events import alert_render
from bot.alerts.messages import alert_reply
from bot.alerts.rules import (
    Alert,
    RangeDay,
    RuleResult,
    SofrDay,
    SrfOp,
    range_change,
    sofr_breach,
    sofr_near,
    srf_positive,
)
from bot.core.clock import Clock, iso_utc, ny_today, utcnow
from bot.core.series import is_srf
from bot.market.readings import POLICY_RATE_MAX_AGE_DAYS, choose_ceiling
from bot.words.payload import reply_to_json
from storage.chats import AlertTarget, alert_parameters, alert_targets, auction_targets
from storage.marks import Mark, forget_rules, last_calm_ord, last_mark, load_marks, save_marks
from storage.observations import Point, history, max_before
from storage.operations import operations_between
from storage.outbox import add_event, enqueue

log = logging.getLogger(__name__)

# How far back each evaluation re-reads data, so revisions of recent values are noticed.
REVISION_LOOKBACK_DAYS = 40


@dataclass(slots=True)
class Evaluation:
    alerts: list[Alert] = field(default_factory=list)
    queued: int = 0
    baselined: list[str] = field(default_factory=list)


class _AsOf:
    """Latest value on or before a date, over one series loaded once."""

    def __init__(self, points: Sequence[Point]) -> None:
        self.dates = [p.date for p in points]
        self.values = [p.value for p in points]

    def at(self, day: str, max_age_days: int | None = None) -> float | None:
        i = bisect_right(self.dates, day)
        if not i:
            return None
        if max_age_days is not None:
            age = (date.fromisoformat(day) - date.fromisoformat(self.dates[i - 1])).days
            if age > max_age_days:
                return None
        return self.values[i - 1]

    def on(self, day: str) -> float | None:
        i = bisect_right(self.dates, day)
        return self.values[i - 1] if i and self.dates[i - 1] == day else None


def sofr_days(db: sqlite_utils.Database, since: str = "") -> list[SofrDay]:
    """SOFR with the ceiling in effect on each date: that day's SRF minimum bid rate, else the
    target range top as of the date (before the SRF existed, and on days without an operation)."""
    sofr = history(db, "sofr", since)
    if not sofr:
        return []
    lookback = (date.fromisoformat(sofr[0].date) - timedelta(days=14)).isoformat()
    srf_rate = _AsOf(history(db, "srf_rate", lookback))
    upper = _AsOf(history(db, "fed_upper", lookback))
    p99 = _AsOf(history(db, "sofr_p99", since))
    volume = _AsOf(history(db, "sofr_volume", since))
    days: list[SofrDay] = []
    for point in sofr:
        ceiling, _ = choose_ceiling(
            point.date,
            srf_rate.on(point.date),
            upper.at(point.date, max_age_days=POLICY_RATE_MAX_AGE_DAYS),
            srf_rate.at(point.date, max_age_days=POLICY_RATE_MAX_AGE_DAYS),
        )
        days.append(SofrDay(point.date, point.value, ceiling, p99.on(point.date), volume.on(point.date)))
    return days


def srf_ops(db: sqlite_utils.Database, since: str = "") -> list[SrfOp]:
    """Standing repo operations (SVEs excluded) from a date on, as rule inputs."""
    return [
        SrfOp(
            op.operation_id,
            op.operation_date,
            op.close_time,
            op.session,
            op.total_accepted,
            op.treasury,
            op.agency,
            op.mbs,
            op.rate,
        )
        for op in operations_between(db, since or "0000-00-00", "9999-12-31", "Repo")
        if is_srf(op)
    ]


def range_days(db: sqlite_utils.Database, since: str = "") -> list[RangeDay]:
    """The target range on each date both bounds are known."""
    lower = {p.date: p.value for p in history(db, "fed_lower", since)}
    return [
        RangeDay(p.date, lower[p.date], p.value) for p in history(db, "fed_upper", since) if p.date in lower
    ]


def prior_srf_record(db: sqlite_utils.Database, before: str) -> float:
    """The SRF take-up record before a date (0 when there was none)."""
    return max_before(db, "srf", before) or 0.0


Audience = Callable[[AlertTarget], bool]


class AlertEngine:
    """Evaluates the rule table; call evaluate() from the one writer, after each poll."""

    def __init__(self, db: sqlite_utils.Database, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock

    def _since(self, rule: str) -> tuple[str, bool]:
        """Where to start reading for a rule (far enough back for revisions and for the whole open
        episode, so an end message counts all its days), and whether it has never run (baseline)."""
        mark = last_mark(self.db, rule)
        if mark is None:
            return "", True
        day = mark.ord.split("|", 1)[0]
        since = (date.fromisoformat(day) - timedelta(days=REVISION_LOOKBACK_DAYS)).isoformat()
        calm = (last_calm_ord(self.db, rule) or "").split("|", 1)[0]
        return min(since, calm), False

    def evaluate(self, *, silent: bool = False) -> Evaluation:
        """Run every rule; record and queue what they raise unless silent (backfills, CLI polls)."""
        result = Evaluation()
        now = iso_utc(self.clock())
        thresholds, nears = alert_parameters(self.db)
        with self.db.atomic():
            self._forget_unused(thresholds, nears)
            targets = alert_targets(self.db, now)
            runs: list[tuple[str, Callable[[str, dict[str, Mark]], RuleResult], Audience]] = [
                ("sofr_breach", self._breach_run, _everyone),
                ("range_change", self._range_run, _everyone),
            ]
            runs += [(f"srf_positive@{t:g}", self._srf_run(t), _srf_audience(t)) for t in sorted(thresholds)]
            runs += [(f"sofr_near@{n:g}", self._near_run(n), _near_audience(n)) for n in sorted(nears)]
            for rule, run, audience in runs:
                since, baseline = self._since(rule)
                marks = load_marks(self.db, rule, since)
                new_marks, alerts = run(since, marks)
                save_marks(self.db, rule, new_marks)
                if baseline:
                    result.baselined.append(rule)
                    continue
                if silent:
                    continue
                for alert in alerts:
                    result.alerts.append(alert)
                    chat_ids = [t.chat_id for t in targets if audience(t)]
                    result.queued += self._publish(alert, chat_ids, now)
            self._auctions(result, now, silent)
        if result.alerts:
            log.info(
                "alerts: %s; %d deliveries queued", ", ".join(a.key for a in result.alerts), result.queued
            )
        return result

    def _auctions(self, result: Evaluation, now: str, silent: bool) -> None:
        """Weak-auction alerts go only to chats that opted in with /subscribe auctions."""
        alerts, baseline = weak_auction_alerts(self.db, ny_today(self.clock()).isoformat())
        if baseline:
            result.baselined.append("auction_weak")
            return
        if silent:
            return
        chats = auction_targets(self.db, now)
        for alert in alerts:
            result.alerts.append(alert)
            result.queued += self._publish(alert, chats, now)

    def _breach_run(self, since: str, marks: dict[str, Mark]) -> RuleResult:
        return sofr_breach(sofr_days(self.db, since), marks)

    def _range_run(self, since: str, marks: dict[str, Mark]) -> RuleResult:
        return range_change(range_days(self.db, since), marks)

    def _near_run(self, near_bp: float) -> Callable[[str, dict[str, Mark]], RuleResult]:
        def run(since: str, marks: dict[str, Mark]) -> RuleResult:
            return sofr_near(sofr_days(self.db, since), marks, near_bp)

        return run

    def _srf_run(self, threshold: float) -> Callable[[str, dict[str, Mark]], RuleResult]:
        def run(since: str, marks: dict[str, Mark]) -> RuleResult:
            ops = srf_ops(self.db, since)
            first_day = ops[0].date if ops else since
            return srf_positive(ops, marks, threshold, prior_srf_record(self.db, first_day))

        return run

    def _forget_unused(self, thresholds: set[float], nears: set[float]) -> None:
        """Drop marks of parameters no chat uses any more, so reusing one later starts a fresh baseline."""
        in_use = {f"srf_positive@{t:g}" for t in thresholds}
        in_use |= {f"sofr_near@{n:g}" for n in nears}
        forget_rules(self.db, ("srf_positive", "sofr_near"), keep=in_use)

    def _publish(self, alert: Alert, chat_ids: list[int], now: str) -> int:
        """Record the event once and queue it for each chat; the chart is the one that explains it."""
        chart = "spread 1m" if alert.rule == "sofr_breach" else ("srf 3m" if "srf" in alert.rule else None)
        payload = reply_to_json(
            alert_reply(alert), chart=chart if alert.kind == "start" else None, render=alert_render(alert)
        )
        add_event(
            self.db,
            key=alert.key,
            rule=alert.rule,
            kind=alert.kind,
            data_date=alert.date,
            audience=alert.rule,
            payload=payload,
            now=now,
        )
        return enqueue(self.db, chat_ids, alert.key, now)


def _everyone(target: AlertTarget) -> bool:
    return True


def _srf_audience(threshold: float) -> Audience:
    return lambda target: abs(target.srf_threshold - threshold) < 1e-9


def _near_audience(near_bp: float) -> Audience:
    return lambda target: target.near_bp is not None and abs(target.near_bp - near_bp) < 1e-9
