"""NY Fed Markets API: SOFR, EFFR and repo / reverse repo operations; fetch apart from pure parsing."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import date, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Literal, TypeVar

from bot.core.clock import is_iso_date
from bot.core.models import Observation, Operation, SourceBatch, SourceError
from bot.core.offload import off_loop
from bot.core.series import CATALOG, is_srf

if TYPE_CHECKING:
    import asyncio

    # The parsers and is_srf users never need HTTP: httpx loads on the first fetch.
    import httpx

    from bot.sources.http import RetryPolicy

SOURCE = "nyfed"

_T = TypeVar("_T")

RateKind = Literal["sofr", "effr", "bgcr", "tgcr"]
# The tri-party general collateral rates: fetched apart, so their failure never costs SOFR or EFFR.
GC_KINDS: tuple[RateKind, ...] = ("bgcr", "tgcr")

# A backfill from 2003 in one request would be one huge body; windows keep each response small.
RATES_WINDOW_DAYS = 3 * 365
OPERATIONS_WINDOW_DAYS = 365

_RATE_PATHS: dict[RateKind, str] = {
    "sofr": "/api/rates/secured/sofr/search.json",
    "effr": "/api/rates/unsecured/effr/search.json",
    "bgcr": "/api/rates/secured/bgcr/search.json",
    "tgcr": "/api/rates/secured/tgcr/search.json",
}
_OPERATIONS_PATH = "/api/rp/results/search.json"

_RATE_TYPES: dict[RateKind, str] = {"sofr": "SOFR", "effr": "EFFR", "bgcr": "BGCR", "tgcr": "TGCR"}
# (series, field) pairs a row may lack: old EFFR rows have no percentiles or volume.
_OPTIONAL_RATE_FIELDS: dict[RateKind, tuple[tuple[str, str], ...]] = {
    "sofr": (
        ("sofr_p1", "percentPercentile1"),
        ("sofr_p25", "percentPercentile25"),
        ("sofr_p75", "percentPercentile75"),
        ("sofr_p99", "percentPercentile99"),
        ("sofr_volume", "volumeInBillions"),
    ),
    "effr": (
        ("effr_volume", "volumeInBillions"),
        ("fed_lower", "targetRateFrom"),
        ("fed_upper", "targetRateTo"),
    ),
    "bgcr": (("bgcr_volume", "volumeInBillions"),),
    "tgcr": (("tgcr_volume", "volumeInBillions"),),
}
# Bounds outside which a value is a broken feed, not a market move: stored never, reported always.
_UNBOUNDED = (-math.inf, math.inf)
_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "bgcr": (-1.0, 25.0),
    "tgcr": (-1.0, 25.0),
    "bgcr_volume": (1.0, 10_000.0),
    "tgcr_volume": (1.0, 10_000.0),
}

_COLLATERAL = {"Treasury": "treasury", "Agency": "agency", "Mortgage-Backed": "mbs"}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_TAG = re.compile(r"<[^>]*>")
_SVE_WORDS = re.compile(r"small\s+value\s+exercise|\bsves?\b", re.IGNORECASE)


def parse_rates(payload: object, kind: RateKind) -> list[Observation]:
    """SOFR or EFFR observations from a `{"refRates": [...]}` body, in body order; other types skipped."""
    wanted = _RATE_TYPES[kind]
    optional = _OPTIONAL_RATE_FIELDS[kind]
    observations: list[Observation] = []
    append = observations.append
    # A backfill window is thousands of rows: the checks are inlined and each problem is only worded (by
    # _iso_date and _number, the same words) when there is one.
    for index, item in enumerate(_ref_rows(payload)):
        row, row_type = _typed_row(item, index)
        if row_type != wanted:
            continue
        day = row.get("effectiveDate")
        if not isinstance(day, str) or not is_iso_date(day):
            day = _iso_date(day, f"{wanted} refRates[{index}]: effectiveDate")  # raises
        rate = row.get("percentRate")
        if rate is None:
            where = f"{wanted} {day}"
            raise _fail(f"{where}: percentRate is {'null' if 'percentRate' in row else 'missing'}")
        number = _plain_number(rate)
        if number is None:
            number = _number(rate, f"{wanted} {day}: percentRate")
        append(Observation(kind, day, number, SOURCE))
        for series, field in optional:
            value = row.get(field)
            if value is None or value == "":
                continue
            number = _plain_number(value)
            if number is None:
                number = _number(value, f"{wanted} {day}: {field}")
            append(Observation(series, day, number, SOURCE))
    for obs in observations:
        low, high = _PLAUSIBLE.get(obs.series, _UNBOUNDED)
        if not low <= obs.value <= high:
            raise _fail(
                f"{obs.series} {obs.date}: implausible value {obs.value:g} (expected {low:g}..{high:g})"
            )
    return observations


def revised_dates(payload: object, kind: RateKind | None = None) -> set[str]:
    """Dates whose revisionIndicator is non-empty (only rows of `kind` when given)."""
    wanted = _RATE_TYPES[kind] if kind is not None else None
    dates: set[str] = set()
    for index, item in enumerate(_ref_rows(payload)):
        row, row_type = _typed_row(item, index)
        if wanted is not None and row_type != wanted:
            continue
        flag = row.get("revisionIndicator")
        if isinstance(flag, str) and flag.strip():
            dates.add(_iso_date(row.get("effectiveDate"), f"{row_type} refRates[{index}]: effectiveDate"))
    return dates


def parse_operations(payload: object) -> list[Operation]:
    """Every completed operation in a `{"repo": {"operations": [...]}}` body, all types, amounts in $bn."""
    repo = payload.get("repo") if isinstance(payload, dict) else None
    rows = repo.get("operations") if isinstance(repo, dict) else None
    if not isinstance(rows, list):
        raise _fail(f"changed schema: no repo.operations list (got {_describe(payload)})")
    operations: list[Operation] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _fail(f"operations[{index}] is {_describe(row)}, not an object")
        operation = _parse_operation(row, index)
        if operation is not None:
            operations.append(operation)
    return operations


def daily_series(ops: Sequence[Operation]) -> list[Observation]:
    """Per date: srf, srf_rate from non-SVE overnight Repo ops; rrp, rrp_rate from overnight Reverse Repo."""
    # The same operation can arrive twice when callers merge responses; count it once.
    unique = {op.operation_id: op for op in ops}
    srf: dict[str, float] = {}
    srf_rates: dict[str, list[float]] = {}
    rrp: dict[str, float] = {}
    rrp_rates: dict[str, list[float]] = {}
    for op in unique.values():
        if op.term.strip().lower() != "overnight":
            continue
        if op.operation_type == "Repo":
            if not is_srf(op):
                continue
            totals, rates = srf, srf_rates
        elif op.operation_type == "Reverse Repo":
            totals, rates = rrp, rrp_rates
        else:
            continue
        totals[op.operation_date] = totals.get(op.operation_date, 0.0) + op.total_accepted
        if op.rate is not None:
            rates.setdefault(op.operation_date, []).append(op.rate)
    observations: list[Observation] = []
    for day in sorted(srf.keys() | rrp.keys()):
        for series, totals, rates in (("srf", srf, srf_rates), ("rrp", rrp, rrp_rates)):
            if day in totals:
                observations.append(Observation(series, day, round(totals[day], 6), SOURCE))
            if day in rates:
                observations.append(Observation(f"{series}_rate", day, min(rates[day]), SOURCE))
    return observations


def rates_url(base_url: str, kind: RateKind) -> str:
    """The search endpoint for one reference rate."""
    return base_url.rstrip("/") + _RATE_PATHS[kind]


def operations_url(base_url: str) -> str:
    """The repo / reverse repo results search endpoint (it ignores operationTypes)."""
    return base_url.rstrip("/") + _OPERATIONS_PATH


def date_windows(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Consecutive inclusive windows of at most max_days days covering start..end, oldest first."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    windows: list[tuple[date, date]] = []
    low = start
    while low <= end:
        high = min(low + timedelta(days=max_days - 1), end)
        windows.append((low, high))
        low = high + timedelta(days=1)
    return windows


def search_params(start: date, end: date) -> dict[str, str]:
    """Query parameters of the NY Fed search endpoints."""
    return {"startDate": start.isoformat(), "endDate": end.isoformat()}


# Window requests in flight to the NY Fed at once, across SOFR, EFFR, BGCR, TGCR and operations. The
# Markets API publishes no rate limit; eight stays polite (a browser opens six a host) while a 26-year
# history of 45 windows arrives in six round trips instead of 27 one after another.
CONCURRENCY = 8


async def _each_window(
    windows: Sequence[tuple[date, date]],
    fetch_one: Callable[[date, date, asyncio.Semaphore], Coroutine[object, object, list[_T]]],
    limit: asyncio.Semaphore | None,
) -> list[_T]:
    """Every window's rows, the windows fetched in parallel (at most `limit` requests at once: fetch_one
    holds the gate it is given while its request is out); the first failure cancels the rest and is
    raised."""
    import asyncio

    gate = limit or asyncio.Semaphore(CONCURRENCY)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch_one(low, high, gate)) for low, high in windows]
    except* SourceError as failed:
        raise failed.exceptions[0] from None
    return [row for task in tasks for row in task.result()]


async def fetch_rates(
    client: httpx.AsyncClient,
    base_url: str,
    kind: RateKind,
    start: date,
    end: date,
    *,
    policy: RetryPolicy | None = None,
    limit: asyncio.Semaphore | None = None,
    flagged: set[tuple[str, str]] | None = None,
) -> list[Observation]:
    """Observations of one reference rate for start..end, oldest date first, in windows of at most three
    years. Dates the NY Fed marks as revised are added to `flagged` as (series, date)."""
    # Nothing is published before the rate began (a value dated earlier would reject the batch): a
    # backfill from 2000 asks for SOFR, BGCR and TGCR from 2018 on, 18 requests fewer.
    start = max(start, date.fromisoformat(CATALOG[kind].began))
    from bot.sources.http import get_parsed

    url = rates_url(base_url, kind)

    def parse(payload: object) -> list[Observation]:
        observations = parse_rates(payload, kind)
        if flagged is not None:
            flagged.update((kind, day) for day in revised_dates(payload, kind))
        return observations

    async def window(low: date, high: date, gate: asyncio.Semaphore) -> list[Observation]:
        # Years of rows: decoded and parsed off the event loop, once the request's slot is free again.
        return await get_parsed(client, SOURCE, url, search_params(low, high), parse, policy, gate)

    observations = await _each_window(date_windows(start, end, RATES_WINDOW_DAYS), window, limit)
    return sorted(observations, key=attrgetter("date"))


async def fetch_operations(
    client: httpx.AsyncClient,
    base_url: str,
    start: date,
    end: date,
    *,
    policy: RetryPolicy | None = None,
    limit: asyncio.Semaphore | None = None,
) -> list[Operation]:
    """Completed operations for start..end, oldest date first, one request per year-long window."""
    from bot.sources.http import get_parsed

    url = operations_url(base_url)

    async def window(low: date, high: date, gate: asyncio.Semaphore) -> list[Operation]:
        params = search_params(low, high)
        return await get_parsed(client, SOURCE, url, params, parse_operations, policy, gate)

    operations = await _each_window(date_windows(start, end, OPERATIONS_WINDOW_DAYS), window, limit)
    return sorted(operations, key=attrgetter("operation_date"))


async def fetch(
    client: httpx.AsyncClient,
    base_url: str,
    start: date,
    end: date,
    *,
    policy: RetryPolicy | None = None,
) -> SourceBatch:
    """SOFR, EFFR and operations fetched concurrently; the first failure cancels the rest and is raised.

    BGCR and TGCR ride along but apart: when they fail, the batch carries the error and the rest is stored.
    """
    import asyncio

    limit = asyncio.Semaphore(CONCURRENCY)  # one budget for the whole source
    flagged: set[tuple[str, str]] = set()
    gc = asyncio.gather(
        *(
            fetch_rates(client, base_url, kind, start, end, policy=policy, limit=limit, flagged=flagged)
            for kind in GC_KINDS
        ),
        return_exceptions=True,
    )
    try:
        async with asyncio.TaskGroup() as group:
            sofr = group.create_task(
                fetch_rates(client, base_url, "sofr", start, end, policy=policy, limit=limit, flagged=flagged)
            )
            effr = group.create_task(
                fetch_rates(client, base_url, "effr", start, end, policy=policy, limit=limit, flagged=flagged)
            )
            ops = group.create_task(
                fetch_operations(client, base_url, start, end, policy=policy, limit=limit)
            )
    except* SourceError as failed:
        gc.cancel()
        await asyncio.gather(gc, return_exceptions=True)
        raise failed.exceptions[0] from None
    operations = ops.result()
    observations = [*sofr.result(), *effr.result(), *await off_loop(daily_series, operations)]
    batch = SourceBatch(source=SOURCE, observations=observations, operations=operations, revised=flagged)
    for kind, result in zip(GC_KINDS, await gc, strict=True):
        if isinstance(result, SourceError):
            batch.errors.append(f"{kind.upper()}: {result.problem}")
        elif isinstance(result, BaseException):
            raise result
        else:
            batch.observations.extend(result)
    return batch


def _parse_operation(row: Mapping[str, object], index: int) -> Operation | None:
    op_id = row.get("operationId")
    if not isinstance(op_id, str) or not op_id.strip():
        raise _fail(f"operations[{index}]: operationId is {_describe(op_id)}, not an id")
    where = f"operation {op_id}"
    status = row.get("auctionStatus")
    if status is not None and status != "Results":
        return None  # announced or in progress: no amounts yet
    op_type = _text(row, "operationType", where, required=True)
    method = _text(row, "operationMethod", where, required=True)
    settlement = _text(row, "settlementType", where, required=True)
    note = _text(row, "note", where)
    close_time = _text(row, "closeTime", where)
    limit = _optional_number(row, "operationLimit", where)
    is_sve = _is_sve(note, limit, method, settlement)
    collateral, rate = _details(row, op_type, where)
    return Operation(
        operation_id=op_id,
        operation_date=_iso_date(row.get("operationDate"), f"{where}: operationDate"),
        operation_type=op_type,
        method=method,
        settlement_type=settlement,
        term=_text(row, "term", where, required=True),
        session=_session(close_time) if op_type == "Repo" and not is_sve else "",
        is_sve=is_sve,
        close_time=close_time,
        total_submitted=_dollars_bn(row, "totalAmtSubmitted", where),
        total_accepted=_dollars_bn(row, "totalAmtAccepted", where),
        rate=rate,
        treasury=collateral["treasury"],
        agency=collateral["agency"],
        mbs=collateral["mbs"],
        last_updated=_text(row, "lastUpdated", where),
        note=note,
        release_time=_text(row, "releaseTime", where),
    )


def _details(row: Mapping[str, object], op_type: str, where: str) -> tuple[dict[str, float], float | None]:
    details = row.get("details")
    if details is None:
        details = []
    if not isinstance(details, list):
        raise _fail(f"{where}: details is {_describe(details)}, not a list")
    collateral = dict.fromkeys(_COLLATERAL.values(), 0.0)
    bid: float | None = None
    award: float | None = None
    offering: float | None = None
    for position, detail in enumerate(details):
        here = f"{where}: details[{position}]"
        if not isinstance(detail, dict):
            raise _fail(f"{here} is {_describe(detail)}, not an object")
        security = detail.get("securityType")
        key = _COLLATERAL.get(security) if isinstance(security, str) else None
        if key is not None and detail.get("amtAccepted") is not None:
            collateral[key] = round(collateral[key] + _dollars_bn(detail, "amtAccepted", here), 9)
        bid = bid if bid is not None else _optional_number(detail, "minimumBidRate", here)
        award = award if award is not None else _optional_number(detail, "percentAwardRate", here)
        offering = offering if offering is not None else _optional_number(detail, "percentOfferingRate", here)
    if op_type == "Repo":
        return collateral, bid
    if op_type == "Reverse Repo":
        return collateral, award if award is not None else offering
    return collateral, None


def _is_sve(note: str, limit: float | None, method: str, settlement: str) -> bool:
    if note.strip():
        text = html.unescape(_TAG.sub(" ", note))
        return _SVE_WORDS.search(text) is not None
    # Without a note an SVE still shows its shape: capped, auctioned and settling forward.
    return limit is not None and limit > 0 and method == "Multiple Price" and settlement != "Same Day"


def _session(close_time: str) -> str:
    match = _CLOCK.fullmatch(close_time.strip())
    if match is None:
        return ""
    return "AM" if int(match.group(1)) < 12 else "PM"


def _ref_rows(payload: object) -> list[object]:
    rows = payload.get("refRates") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        raise _fail(f"changed schema: no refRates list (got {_describe(payload)})")
    return rows


def _typed_row(item: object, index: int) -> tuple[Mapping[str, object], str]:
    if not isinstance(item, dict):
        raise _fail(f"refRates[{index}] is {_describe(item)}, not an object")
    row_type = item.get("type")
    if not isinstance(row_type, str):
        raise _fail(f"refRates[{index}]: type is {_describe(row_type)}, not text")
    return item, row_type


def _text(row: Mapping[str, object], field: str, where: str, *, required: bool = False) -> str:
    value = row.get(field)
    if value is None:
        if required:
            raise _fail(f"{where}: {field} is missing")
        return ""
    if not isinstance(value, str):
        raise _fail(f"{where}: {field} is {_describe(value)}, not text")
    return value


def _iso_date(value: object, what: str) -> str:
    if value is None:
        raise _fail(f"{what} is missing")
    if isinstance(value, str) and is_iso_date(value):
        return value
    raise _fail(f"{what} is {_describe(value)}, not a YYYY-MM-DD date")


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(f"{what} is {_describe(value)}, not a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise _fail(f"{what} is {_describe(value)}, not a number") from None
    if not math.isfinite(number):
        raise _fail(f"{what} is {_describe(value)}, not a finite number")
    return number


def _plain_number(value: object) -> float | None:
    """A finite JSON number as float, else None (then _number words the problem, or reads a string)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _optional_number(row: Mapping[str, object], field: str, where: str) -> float | None:
    value = row.get(field)
    if value is None or value == "":
        return None
    number = _plain_number(value)
    return number if number is not None else _number(value, f"{where}: {field}")


def _dollars_bn(row: Mapping[str, object], field: str, where: str) -> float:
    value = row.get(field)
    if value is None:
        raise _fail(f"{where}: {field} is missing")
    dollars = _plain_number(value)
    if dollars is None:
        dollars = _number(value, f"{where}: {field}")
    if dollars < 0:
        raise _fail(f"{where}: {field} is negative ({dollars:.0f})")
    return dollars / 1e9


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        if value.lstrip().startswith("<"):
            return "an HTML string"
        shown = value if len(value) <= 30 else value[:27] + "..."
        return repr(shown)
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(k) for k in value)[:5])
        return f"an object with keys [{keys}]" if keys else "an empty object"
    return type(value).__name__


def _fail(problem: str) -> SourceError:
    return SourceError(SOURCE, problem)
