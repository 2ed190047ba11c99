"""Checks a fetched batch before anything is written: one implausible value rejects the whole fetch.

Pure: takes a batch, the fetch window and today's New York date; returns the batch with identical duplicates
collapsed, or raises SourceError with the reason in plain words.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from bot.core.models import Observation, Operation, SourceBatch, SourceError
from bot.core.series import CATALOG
from bot.sources.schedule import add_business_days, is_business_day

_EPSILON = 1e-9
# Operation amounts in $bn: the largest ever accepted (ON RRP, end of 2022) was about $2,554bn.
_OPERATION_CAP = 10_000.0
_PERCENTILES = ("sofr_p1", "sofr_p25", "sofr_p75", "sofr_p99")


@dataclass(frozen=True, slots=True)
class Expectation:
    """Series a source must return when its window holds enough published business days."""

    series: tuple[str, ...]
    min_business_days: int


# A window of at least this many past business days always holds values of these series.
EXPECTED: dict[str, tuple[Expectation, ...]] = {
    "nyfed": (Expectation(("sofr", "effr", "srf"), 3),),
    "fred": (Expectation(("iorb", "fed_upper", "fed_lower"), 5), Expectation(("reserves", "fed_assets"), 15)),
    "fiscaldata": (Expectation(("tga",), 3),),
}


def latest_allowed(today: date) -> date:
    """No value may be dated after the next business day in New York."""
    return add_business_days(today, 1)


def validate_batch(batch: SourceBatch, *, start: date, end: date, today: date) -> SourceBatch:
    """The batch with identical duplicates collapsed; SourceError naming the first problem otherwise."""
    observations = _unique_observations(batch.source, batch.observations)
    operations = _unique_operations(batch.source, batch.operations)
    newest = latest_allowed(today)
    _check_observations(batch.source, observations, newest)
    for op in operations:
        _check_operation(batch.source, op, newest)
    _check_percentiles(batch.source, observations)
    if not batch.errors:
        _check_expected(batch.source, observations, start, end, today)
    return replace(batch, observations=observations, operations=operations)


def _unique_observations(source: str, observations: Iterable[Observation]) -> list[Observation]:
    seen: dict[tuple[str, str], Observation] = {}
    for obs in observations:
        first = seen.setdefault((obs.series, obs.date), obs)
        if first is not obs and abs(first.value - obs.value) > _EPSILON:
            name = CATALOG[obs.series].name if obs.series in CATALOG else obs.series
            raise SourceError(
                source,
                f"{name} on {obs.date} arrived twice with different values "
                f"({_show(obs.series, first.value)} and {_show(obs.series, obs.value)})",
            )
    return list(seen.values())


def _unique_operations(source: str, operations: Iterable[Operation]) -> list[Operation]:
    seen: dict[str, Operation] = {}
    for op in operations:
        first = seen.setdefault(op.operation_id, op)
        if first is not op and first != op:
            raise SourceError(
                source,
                f"operation {op.operation_id} on {op.operation_date} arrived twice with different contents "
                f"(accepted ${first.total_accepted:g}bn and ${op.total_accepted:g}bn)",
            )
    return list(seen.values())


def _check_observations(source: str, observations: list[Observation], newest: date) -> None:
    """Every value in its series' range and dated within it; the first that is not is named."""
    # A backfill checks 100,000 values: one inlined test each, and the slow path only to word the problem.
    catalog, last = CATALOG, newest.isoformat()
    for obs in observations:
        info = catalog.get(obs.series)
        if info is None or not info.low <= obs.value <= info.high or not info.began <= obs.date <= last:
            _check_observation(source, obs, newest)


def _check_observation(source: str, obs: Observation, newest: date) -> None:
    info = CATALOG.get(obs.series)
    if info is None:
        raise SourceError(source, f"unknown series {obs.series!r} on {obs.date}")
    if not info.low <= obs.value <= info.high:
        raise SourceError(
            source,
            f"{info.name} on {obs.date} is {_show(obs.series, obs.value)}, outside the plausible "
            f"{_show(obs.series, info.low)} to {_show(obs.series, info.high)}",
        )
    _check_date(source, info.name, obs.date, info.began, newest)


def _check_operation(source: str, op: Operation, newest: date) -> None:
    what = f"operation {op.operation_id}"
    _check_date(source, what, op.operation_date, "2000-01-01", newest)
    for label, amount in (("accepted", op.total_accepted), ("submitted", op.total_submitted)):
        if not 0.0 <= amount <= _OPERATION_CAP:
            raise SourceError(
                source, f"{what} on {op.operation_date}: {label} ${amount:g}bn is not a plausible amount"
            )
    if op.rate is not None and not -1.0 <= op.rate <= 25.0:
        raise SourceError(source, f"{what} on {op.operation_date}: rate {op.rate:g}% is not plausible")


def _check_date(source: str, what: str, day: str, began: str, newest: date) -> None:
    if day > newest.isoformat():
        raise SourceError(
            source, f"{what} is dated {day}, in the future (nothing after {newest} is possible)"
        )
    if day < began:
        raise SourceError(source, f"{what} is dated {day}, before the series began on {began}")


def _check_percentiles(source: str, observations: list[Observation]) -> None:
    by_date: dict[str, dict[str, float]] = {}
    for obs in observations:
        if obs.series == "sofr" or obs.series in _PERCENTILES:
            by_date.setdefault(obs.date, {})[obs.series] = obs.value
    for day, row in by_date.items():
        present = [(name, row[name]) for name in _PERCENTILES if name in row]
        for (low_name, low), (high_name, high) in itertools.pairwise(present):
            if low > high + _EPSILON:
                raise SourceError(
                    source,
                    f"SOFR percentiles on {day} are out of order: {CATALOG[low_name].short} {low:g}% "
                    f"above {CATALOG[high_name].short} {high:g}%",
                )
        sofr = row.get("sofr")
        p1, p99 = row.get("sofr_p1"), row.get("sofr_p99")
        if (
            sofr is not None
            and p1 is not None
            and p99 is not None
            and not p1 - _EPSILON <= sofr <= p99 + _EPSILON
        ):
            raise SourceError(
                source, f"SOFR on {day} is {sofr:g}%, outside its own 1st-99th percentiles {p1:g}%-{p99:g}%"
            )


def _check_expected(
    source: str, observations: list[Observation], start: date, end: date, today: date
) -> None:
    """An empty answer where published values must exist is a failure, never "0 rows, ok"."""
    present = {obs.series for obs in observations}
    # Only days whose values are surely out: up to two business days before today.
    last_published = min(end, add_business_days(today, -2))
    for expectation in EXPECTED.get(source, ()):
        for series in expectation.series:
            if series in present:
                continue  # no need to count a backfill's 6,000 business days
            began = date.fromisoformat(CATALOG[series].began)
            low = max(start, began)
            days = _business_days(low, last_published)
            if days >= expectation.min_business_days:
                raise SourceError(
                    source,
                    f"no {CATALOG[series].name} values for {low}..{last_published}, "
                    f"where {days} business days were published",
                )


def _business_days(start: date, end: date) -> int:
    count = 0
    day = start
    while day <= end:
        count += is_business_day(day)
        day += timedelta(days=1)
    return count


def _show(series: str, value: float) -> str:
    info = CATALOG.get(series)
    if info is not None and info.unit == "%":
        return f"{value:g}%"
    return f"${value:g}bn"
